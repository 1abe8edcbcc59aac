/* arca_peer.c - parsing of the peer address and timeouts of the network
 * commands (see arca_peer.h). */
#include "arca_peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool arca_peer_parse(arca_peer *out, const char *text, char *why, size_t why_size)
{
	const char *at = strrchr(text, '@');
	const char *host, *host_end, *colon;
	size_t ae_len, host_len;
	char *end;
	unsigned long port;

	memset(out, 0, sizeof(*out));
	if (at == NULL) {
		snprintf(why, why_size, "'%s' is not AE@host:port", text);
		return false;
	}
	ae_len = (size_t)(at - text);
	if (ae_len == 0 || ae_len > PACS_PDU_AE_MAX) {
		snprintf(why, why_size, "'%s': the AE title before '@' must have 1 to 16 characters", text);
		return false;
	}
	memcpy(out->ae, text, ae_len);
	host = at + 1;
	if (host[0] == '[') {
		host_end = strchr(host, ']');
		if (host_end == NULL || host_end[1] != ':') {
			snprintf(why, why_size, "'%s': an IPv6 address is written [address]:port", text);
			return false;
		}
		host++;
		colon = host_end + 1;
	} else {
		colon = strrchr(host, ':');
		if (colon == NULL) {
			snprintf(why, why_size, "'%s' has no port (AE@host:port)", text);
			return false;
		}
		host_end = colon;
	}
	host_len = (size_t)(host_end - host);
	if (host_len == 0 || host_len >= sizeof(out->host)) {
		snprintf(why, why_size, "'%s': no host, or a host name too long", text);
		return false;
	}
	memcpy(out->host, host, host_len);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535) {
		snprintf(why, why_size, "'%s': the port must be a number from 1 to 65535", text);
		return false;
	}
	out->port = (uint16_t)port;
	return true;
}

bool arca_peer_parse_timeout(unsigned *ms, const char *text)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(text, &end);
	if (text[0] == '\0' || *end != '\0' || errno != 0 || !(s > 0) || s > 86400)
		return false;
	*ms = (unsigned)(s * 1000.0 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return true;
}
