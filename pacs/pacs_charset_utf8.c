/* pacs_charset_utf8.c - the growable output buffer of the character set
 * conversions and a strict UTF-8 codec (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
#include "pacs_charset_priv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

int pacs_charset__buf_reserve(pacs_cs_buf *b, size_t extra)
{
	size_t want, ncap;
	uint8_t *grown;

	/* +1 keeps room for the NUL that buf_finish adds. */
	if (extra > SIZE_MAX - 1 - b->len)
		return arca_error_set(ARCA_ENOMEM, "character set conversion: output too large");
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	grown = realloc(b->data, ncap);
	if (grown == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory converting a character string");
	b->data = grown;
	b->cap = ncap;
	return 0;
}

int pacs_charset__buf_put(pacs_cs_buf *b, const void *p, size_t n)
{
	int rc = pacs_charset__buf_reserve(b, n);

	if (rc < 0)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int pacs_charset__buf_byte(pacs_cs_buf *b, uint8_t c)
{
	return pacs_charset__buf_put(b, &c, 1);
}

int pacs_charset__buf_cp(pacs_cs_buf *b, uint32_t cp)
{
	uint8_t u[4];

	return pacs_charset__buf_put(b, u, pacs_charset__utf8_put(cp, u));
}

int pacs_charset__buf_finish(pacs_cs_buf *b)
{
	int rc = pacs_charset__buf_reserve(b, 0);

	if (rc < 0)
		return rc;
	b->data[b->len] = '\0';
	return 0;
}

void pacs_charset__buf_free(pacs_cs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

size_t pacs_charset__utf8_put(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

int pacs_charset__utf8_next(const uint8_t *s, size_t len, size_t *pos, uint32_t *cp)
{
	size_t i = *pos, n;
	uint32_t c, min;

	if (i >= len)
		return -1;
	c = s[i];
	if (c < 0x80) {
		*cp = c;
		*pos = i + 1;
		return 0;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (len - i - 1 < n)
		return -1;
	for (size_t k = 1; k <= n; k++) {
		uint8_t t = s[i + k];

		if ((t & 0xC0) != 0x80)
			return -1;
		c = (c << 6) | (t & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*cp = c;
	*pos = i + 1 + n;
	return 0;
}
