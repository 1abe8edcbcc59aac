/* chain_base64.c - strict RFC 4648 section 4 base64 (see chain_base64.h). */
#include "chain_base64.h"

#include "arca_err.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t chain_base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void chain_base64_encode(char *out, const uint8_t *in, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* The 6-bit value of c, -1 if c is not in the alphabet ('=' is not). */
static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int chain_base64_decode(uint8_t *out, size_t cap, size_t *n, const char *in, size_t len)
{
	size_t i, o = 0, pad = 0;

	*n = 0;
	if (len == 0 || len % 4 != 0)
		return arca_error_set(ARCA_EPROTO, "base64 of %zu characters, not a non-zero multiple of 4",
				      len);
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	if (len / 4 * 3 - pad > cap)
		return arca_error_set(ARCA_ELIMIT, "base64 decodes to %zu bytes, more than %zu",
				      len / 4 * 3 - pad, cap);
	for (i = 0; i < len; i += 4) {
		int v[4], k, last = i + 4 == len;
		uint32_t w;

		for (k = 0; k < 4; k++) {
			v[k] = sextet(in[i + (size_t)k]);
			/* '=' only as the last one or two characters. */
			if (v[k] < 0 && !(last && in[i + (size_t)k] == '=' && (size_t)k >= 4 - pad))
				return arca_error_set(ARCA_EPROTO, "character %zu of base64 is not valid",
						      i + (size_t)k + 1);
			if (v[k] < 0)
				v[k] = 0;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Canonical: the bits that padding leaves over must be zero. */
		if (last && ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0)))
			return arca_error_set(ARCA_EPROTO, "base64 is not canonical (unused bits set)");
		out[o++] = (uint8_t)(w >> 16);
		if (!last || pad < 2)
			out[o++] = (uint8_t)(w >> 8);
		if (!last || pad < 1)
			out[o++] = (uint8_t)w;
	}
	*n = o;
	return 0;
}
