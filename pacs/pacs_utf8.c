/* pacs_utf8.c - UTF-8 validation (RFC 3629 section 4 grammar). */
#include "pacs_utf8.h"

size_t pacs_utf8_seq_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t need;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
		cp = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		cp = c & 0x0Fu;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		cp = c & 0x07u;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if (need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
		return 0;
	if (need == 4 && (cp < 0x10000 || cp > 0x10FFFF))
		return 0;
	return need;
}

bool pacs_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k = pacs_utf8_seq_len(s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}
