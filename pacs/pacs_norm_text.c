/* pacs_norm_text.c - the text of values as the normalisations see it:
 * decoded to UTF-8 when the character set needs it (PS3.5 6.1), split into
 * values on '\' (PS3.5 6.4) except for the single-valued text VRs, padding
 * and insignificant spaces (PS3.5 6.2, Table 6.2-1) trimmed. */
#include "pacs_norm_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_utf8.h"

/* No single element text is larger than what the reader holds (64 MiB by
 * default); twice that covers its UTF-8 form. */
#define NORM_STR_MAX (128u * 1024u * 1024u)

void pacs_norm__str_init(norm_str *b)
{
	memset(b, 0, sizeof(*b));
}

void pacs_norm__str_free(norm_str *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

static bool str_reserve(norm_str *b, size_t more)
{
	size_t cap;
	char *grown;

	if (b->failed)
		return false;
	if (more > NORM_STR_MAX - b->len) {
		b->failed = true;
		return false;
	}
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < b->len + more + 1)
		cap *= 2;
	grown = realloc(b->s, cap);
	if (grown == NULL) {
		b->failed = true;
		return false;
	}
	b->s = grown;
	b->cap = cap;
	return true;
}

void pacs_norm__str_add(norm_str *b, const char *s, size_t len)
{
	if (!str_reserve(b, len))
		return;
	if (len > 0)
		memcpy(&b->s[b->len], s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

void pacs_norm__str_addc(norm_str *b, char c)
{
	pacs_norm__str_add(b, &c, 1);
}

void pacs_norm__str_addf(norm_str *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		pacs_norm__str_add(b, small, (size_t)n);
		return;
	}
	if (!str_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(&b->s[b->len], (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

bool pacs_norm__vr_single(pacs_vr vr)
{
	return vr == PACS_VR_LT || vr == PACS_VR_ST || vr == PACS_VR_UT || vr == PACS_VR_UR;
}

/* PS3.5 Table 6.2-1: leading spaces are insignificant in these VRs. */
static bool vr_lead_insignificant(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_AE: case PACS_VR_CS: case PACS_VR_DS: case PACS_VR_IS:
	case PACS_VR_LO: case PACS_VR_SH:
		return true;
	default:
		return false;
	}
}

/* Whether the raw value needs decoding: bytes outside ASCII or ESC
 * (ISO 2022 designations), under a character set other than UTF-8. */
static int needs_decoding(const pacs_ds *ds, const uint8_t *v, uint32_t n, bool *needs)
{
	const uint8_t *csv;
	uint32_t cslen;
	pacs_charset *cs = NULL;
	bool plain = true;
	int rc;

	*needs = false;
	for (uint32_t i = 0; i < n && plain; i++)
		plain = v[i] < 0x80 && v[i] != 0x1B;
	if (plain)
		return 0;
	csv = pacs_ds_charset(ds, &cslen);
	if ((rc = pacs_charset_open(&cs, csv, csv != NULL ? cslen : 0)) < 0)
		return rc;
	*needs = !(pacs_charset_term_count(cs) == 1 && strcmp(pacs_charset_term(cs, 0), "ISO_IR 192") == 0);
	pacs_charset_free(cs);
	return 0;
}

int pacs_norm__text_get(const pacs_ds *ds, const pacs_elem *e, char **out, size_t *len, bool *identity)
{
	pacs_vr vr = pacs_elem_vr(e);
	uint32_t n;
	const uint8_t *v = pacs_elem_value(e, &n);
	bool decode = false;
	int rc;

	*out = NULL;
	*len = 0;
	*identity = true;
	if (v == NULL)
		return arca_error_set(ARCA_EINVAL, "(%04X,%04X) has no value held",
				      PACS_TAG_GROUP(pacs_elem_tag(e)), PACS_TAG_ELEMENT(pacs_elem_tag(e)));
	if (pacs_vr_uses_charset(vr) && (rc = needs_decoding(ds, v, n, &decode)) < 0)
		return rc;
	if (decode) {
		pacs_charset *cs = NULL;
		const uint8_t *csv;
		uint32_t cslen;

		csv = pacs_ds_charset(ds, &cslen);
		if ((rc = pacs_charset_open(&cs, csv, csv != NULL ? cslen : 0)) < 0)
			return rc;
		rc = pacs_charset_to_utf8(cs, vr, v, n, out, len);
		pacs_charset_free(cs);
		*identity = false;
		return rc;
	}
	/* under ISO_IR 192 the bytes are the text only if they are UTF-8 */
	if (pacs_vr_uses_charset(vr) && !pacs_norm__utf8_valid((const char *)v, n))
		return arca_error_set(ARCA_ECHARSET, "(%04X,%04X): bytes that are not UTF-8 under ISO_IR 192",
				      PACS_TAG_GROUP(pacs_elem_tag(e)), PACS_TAG_ELEMENT(pacs_elem_tag(e)));
	*out = malloc((size_t)n + 1);
	if (*out == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	if (n > 0)
		memcpy(*out, v, n);
	(*out)[n] = '\0';
	*len = n;
	return 0;
}

int pacs_norm__text_encode(const pacs_ds *ds, pacs_vr vr, bool identity, const char *text, size_t len,
			   uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (!identity && pacs_vr_uses_charset(vr)) {
		pacs_charset *cs = NULL;
		const uint8_t *csv;
		uint32_t cslen;
		uint8_t *enc = NULL;

		csv = pacs_ds_charset(ds, &cslen);
		if ((rc = pacs_charset_open(&cs, csv, csv != NULL ? cslen : 0)) < 0)
			return rc;
		rc = pacs_charset_from_utf8(cs, vr, text, len, &enc, &n);
		pacs_charset_free(cs);
		if (rc < 0)
			return rc;
		buf = realloc(enc, n + 2);
		if (buf == NULL) {
			free(enc);
			return arca_error_set(ARCA_ENOMEM, "out of memory");
		}
	} else {
		buf = malloc(len + 2);
		if (buf == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory");
		if (len > 0)
			memcpy(buf, text, len);
		n = len;
	}
	/* PS3.5 7.1.1: values have even length, padded with the VR's byte. */
	if (n % 2 != 0)
		buf[n++] = pacs_vr_pad_byte(vr);
	if (n > UINT32_MAX - 2) {
		free(buf);
		return arca_error_set(ARCA_ELIMIT, "value too long");
	}
	*out = buf;
	*out_len = n;
	return 0;
}

size_t pacs_norm__value_count(pacs_vr vr, const char *text, size_t len)
{
	size_t n = 1;

	if (pacs_norm__vr_single(vr))
		return 1;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\\';
	return n;
}

void pacs_norm__value_at(pacs_vr vr, const char *text, size_t len, size_t index, bool trim_lead,
			 const char **start, size_t *vlen)
{
	size_t a = 0, b = len, k = 0;

	if (!pacs_norm__vr_single(vr)) {
		for (size_t i = 0; i < len; i++) {
			if (text[i] != '\\')
				continue;
			if (k == index) {
				b = i;
				break;
			}
			k++;
			a = i + 1;
		}
		if (k < index) {
			a = len;
			b = len;
		}
	}
	while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\0'))
		b--;
	if (trim_lead && vr_lead_insignificant(vr))
		while (a < b && text[a] == ' ')
			a++;
	*start = &text[a];
	*vlen = b - a;
}

size_t pacs_norm__utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

bool pacs_norm__utf8_valid(const char *s, size_t len)
{
	return pacs_utf8_valid((const uint8_t *)s, len);
}

void pacs_norm__show(char *buf, size_t size, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k = 0, i = 0;

	if (size == 0)
		return;
	while (i < len) {
		size_t n = pacs_utf8_seq_len(&u[i], len - i);
		if (n <= 1) {
			if (k + 1 >= size)
				break;
			buf[k++] = (n == 1 && u[i] >= 0x20 && u[i] != 0x7F) ? (char)u[i] : '?';
			i++;
			continue;
		}
		if (k + n >= size)
			break;
		memcpy(&buf[k], &u[i], n);
		k += n;
		i += n;
	}
	buf[k] = '\0';
}
