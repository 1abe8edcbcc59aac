/* pacs_uid.c - UID syntax (PS3.5 9.1) and UIDs derived from UUIDs under
 * 2.25 (PS3.5 B.2). */
#include "pacs_uid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "arca_err.h"

/* Walks the UID once; on failure *why and *at say what and where. */
static bool uid_scan(const char *s, size_t len, const char **why, size_t *at, unsigned *component)
{
	size_t start = 0;
	unsigned n = 1;

	*component = 1;
	*at = 0;
	if (len == 0) {
		*why = "is empty";
		return false;
	}
	if (len > PACS_UID_MAX) {
		*why = "is longer than 64 characters";
		*at = PACS_UID_MAX;
		return false;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			*component = n;
			*at = i;
			if (i == start) {
				*why = "has an empty component";
				return false;
			}
			/* PS3.5 9.1: "the first digit of each component shall
			 * not be zero unless the component is a single digit" */
			if (s[start] == '0' && i - start > 1) {
				*why = "has a component with a leading zero";
				*at = start;
				return false;
			}
			start = i + 1;
			n++;
			continue;
		}
		if (s[i] < '0' || s[i] > '9') {
			*component = n;
			*at = i;
			*why = "has a character other than a digit or '.'";
			return false;
		}
	}
	if (n - 1 < 2) {
		/* <org root>.<suffix>: one component cannot be both. */
		*component = 1;
		*at = 0;
		*why = "has a single component (a UID is <org root>.<suffix>)";
		return false;
	}
	return true;
}

bool pacs_uid_is_valid(const char *s, size_t len)
{
	const char *why;
	size_t at;
	unsigned comp;

	return uid_scan(s, len, &why, &at, &comp);
}

int pacs_uid_check(const char *s, size_t len)
{
	const char *why;
	size_t at;
	unsigned comp;

	if (uid_scan(s, len, &why, &at, &comp))
		return 0;
	return arca_error_set(ARCA_EPROTO, "UID %s (component %u, offset %zu; PS3.5 9.1)", why, comp, at);
}

void pacs_uid_from_uuid(char out[PACS_UID_MAX + 1], const uint8_t uuid[16])
{
	/* The UUID as four 32-bit limbs, most significant first, divided by
	 * ten until zero: at most 39 digits for 2^128 - 1. */
	uint32_t limb[4];
	char digits[40];
	size_t nd = 0, k = 0;
	static const char prefix[] = "2.25.";

	for (unsigned i = 0; i < 4; i++)
		limb[i] = (uint32_t)uuid[4 * i] << 24 | (uint32_t)uuid[4 * i + 1] << 16 |
			  (uint32_t)uuid[4 * i + 2] << 8 | uuid[4 * i + 3];
	do {
		uint64_t rem = 0;
		bool zero = true;
		for (unsigned i = 0; i < 4; i++) {
			uint64_t cur = rem << 32 | limb[i];
			limb[i] = (uint32_t)(cur / 10);
			rem = cur % 10;
			zero = zero && limb[i] == 0;
		}
		digits[nd++] = (char)('0' + rem);
		if (zero)
			break;
	} while (nd < sizeof(digits));
	memcpy(out, prefix, sizeof(prefix) - 1);
	k = sizeof(prefix) - 1;
	while (nd > 0)
		out[k++] = digits[--nd];
	out[k] = '\0';
}

int pacs_uid_generate(char out[PACS_UID_MAX + 1])
{
	uint8_t uuid[16];
	size_t got = 0;

	while (got < sizeof(uuid)) {
		ssize_t n = getrandom(&uuid[got], sizeof(uuid) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return arca_error_set(ARCA_EIO, "getrandom for a new UID: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	/* RFC 9562 5.4: version 4 in the high nibble of octet 6, variant
	 * 10xx in the high bits of octet 8. */
	uuid[6] = (uint8_t)((uuid[6] & 0x0F) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3F) | 0x80);
	pacs_uid_from_uuid(out, uuid);
	return 0;
}
