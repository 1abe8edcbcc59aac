/* arca_peer.h - what `arca echo` and `arca send` share: the peer address
 * AE@host:port and the options common to network commands. */
#ifndef ARCA_PEER_H
#define ARCA_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "pacs_pdu.h"

typedef struct arca_peer {
	char ae[PACS_PDU_AE_MAX + 1];
	char host[256];
	uint16_t port;
} arca_peer;

/* Parses "AE@host:port" (an IPv6 address in brackets: AE@[::1]:11112).
 * The AE title is what precedes the last '@'.  Returns false, with a
 * one-line reason in why, when the text is not of that form. */
bool arca_peer_parse(arca_peer *out, const char *text, char *why, size_t why_size);

/* Parses a timeout in seconds (a positive decimal, fractions allowed, at
 * most a day) into milliseconds.  False when it is not one. */
bool arca_peer_parse_timeout(unsigned *ms, const char *text);

#endif
