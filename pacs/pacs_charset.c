/* pacs_charset.c - the pacs_charset object: parsing a Specific Character
 * Set (0008,0005) value (PS3.3 C.12.1.1.2, PS3.5 6.1.2.5.1) and choosing
 * the conversion for each value.  The ISO 2022 machinery is in
 * pacs_charset_iso2022.c, the calls into iconv in pacs_charset_iconv.c. */
#include "pacs_charset_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

static bool is_pad(uint8_t c)
{
	return c == ' ' || c == '\0';
}

/* Prints a raw term for a message: printable ASCII only, at most 40 bytes. */
static void show_term(const uint8_t *s, size_t len, char *buf, size_t size)
{
	size_t k = 0;

	for (size_t i = 0; i < len && k + 1 < size && i < 40; i++)
		buf[k++] = (s[i] >= 0x20 && s[i] < 0x7F) ? (char)s[i] : '?';
	buf[k] = '\0';
}

static void add_order(pacs_charset *cs, unsigned set)
{
	if (set == CS_SET_NONE)
		return;
	for (unsigned i = 0; i < cs->norder; i++)
		if (cs->order[i] == set)
			return;
	cs->order[cs->norder++] = (uint8_t)set;
}

static int build_tables(pacs_charset *cs)
{
	for (unsigned s = CS_SET_NONE + 1; s < CS_SET_COUNT; s++) {
		const pacs_cs_set_info *info = pacs_charset__set_info(s);
		int rc;

		if (!cs->avail[s] || info->shape != CS_SHAPE_96)
			continue;
		if (s == CS_SET_LATIN1) {
			/* ISO 8859-1 is U+00A0-U+00FF by definition; the most
			 * common set opens without iconv. */
			for (unsigned i = 0; i < 96; i++)
				cs->sb96[s][i] = (uint16_t)(0xA0 + i);
			continue;
		}
		rc = pacs_charset__iconv_table96(info->iconv_96, cs->sb96[s]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Fills cs from the looked-up terms.  PS3.5 6.1.2.5.1: value 1 gives the
 * sets designated at the start of every value (ISO-IR 6 when it is empty);
 * with more than one value, every listed set may be designated. */
static int setup(pacs_charset *cs, const pacs_cs_term *const *t, unsigned n)
{
	const pacs_cs_term *first = t[0];

	if (first->kind != CS_KIND_ISO2022) {
		/* Table C.12-5 sets admit no code extensions; values after a
		 * first ISO_IR 192/GB18030/GBK are ignored (they cannot mean
		 * anything), one of them after value 1 is refused below. */
		cs->kind = first->kind;
		return 0;
	}
	for (unsigned i = 1; i < n; i++)
		if (t[i]->kind != CS_KIND_ISO2022)
			return arca_error_set(ARCA_EUNSUPPORTED,
					      "Specific Character Set (0008,0005) value %u '%s' cannot "
					      "be combined with ISO 2022 code extensions (PS3.3 "
					      "C.12.1.1.2)", i + 1, t[i]->term);
	cs->kind = CS_KIND_ISO2022;
	/* A single "ISO 2022 ..." term still means code extensions; a
	 * multi-byte set as value 1 (seen in the wild) cannot be the initial
	 * set, so ISO-IR 6 is, as for an empty value 1. */
	cs->extensions = n > 1 || first->extensions;
	if (first->multibyte) {
		cs->init_g0 = CS_SET_ASCII;
		cs->init_g1 = CS_SET_NONE;
	} else {
		cs->init_g0 = first->g0;
		cs->init_g1 = first->g1;
	}
	add_order(cs, cs->init_g0);
	add_order(cs, cs->init_g1);
	cs->avail[cs->init_g0] = true;
	cs->avail[cs->init_g1] = cs->init_g1 != CS_SET_NONE;
	if (cs->extensions) {
		cs->avail[CS_SET_ASCII] = true;
		cs->avail[CS_SET_JIS_ROMAN] = true;
		cs->avail[CS_SET_JIS_KATAKANA] = true;
		for (unsigned i = 0; i < n; i++) {
			add_order(cs, t[i]->g0);
			add_order(cs, t[i]->g1);
			cs->avail[t[i]->g0] = true;
			cs->avail[t[i]->g1] = true;
		}
		cs->avail[CS_SET_NONE] = false;
	}
	cs->ascii_only = cs->norder == 1 && cs->order[0] == CS_SET_ASCII;
	return build_tables(cs);
}

int pacs_charset_open(pacs_charset **out, const uint8_t *value, size_t len)
{
	const pacs_cs_term *t[CS_MAX_TERMS];
	pacs_charset *cs;
	size_t pos = 0, lablen = 0;
	unsigned n = 0;
	int rc;

	*out = NULL;
	if (value == NULL && len > 0)
		return arca_error_set(ARCA_EINVAL, "pacs_charset_open: NULL value of length %zu", len);
	cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory opening a character set");
	/* Values are separated by '\' (PS3.5 6.2, CS); leading and trailing
	 * spaces are padding.  An absent or empty value is one empty term. */
	do {
		size_t start = pos, end;
		const pacs_cs_term *term;

		while (pos < len && value[pos] != '\\')
			pos++;
		end = pos;
		while (start < end && is_pad(value[start]))
			start++;
		while (end > start && is_pad(value[end - 1]))
			end--;
		if (n == CS_MAX_TERMS) {
			rc = arca_error_set(ARCA_ELIMIT,
					    "Specific Character Set (0008,0005) has more than %d values",
					    CS_MAX_TERMS);
			goto fail;
		}
		term = pacs_charset__term_lookup(value == NULL ? NULL : value + start, end - start);
		if (term == NULL) {
			char shown[48];

			show_term(value + start, end - start, shown, sizeof(shown));
			rc = arca_error_set(ARCA_EUNSUPPORTED,
					    "Specific Character Set (0008,0005) value %u '%s' is not a "
					    "defined term of PS3.3 C.12.1.1.2", n + 1, shown);
			goto fail;
		}
		t[n] = term;
		cs->terms[n] = term->term;
		n++;
		lablen += (size_t)snprintf(cs->label + lablen,
					   lablen < sizeof(cs->label) ? sizeof(cs->label) - lablen : 0,
					   "%s%s", n > 1 ? "\\" : "", term->term);
		if (lablen >= sizeof(cs->label))
			lablen = sizeof(cs->label) - 1;
	} while (pos++ < len);
	cs->nterms = n;
	rc = setup(cs, t, n);
	if (rc < 0)
		goto fail;
	*out = cs;
	return 0;
fail:
	free(cs);
	return rc;
}

void pacs_charset_free(pacs_charset *cs)
{
	free(cs);
}

/* ISO_IR 192: the value is already UTF-8; check it is. */
static int utf8_validate(const uint8_t *in, size_t len, const char *what)
{
	size_t pos = 0;
	uint32_t cp;

	while (pos < len) {
		if (pacs_charset__utf8_next(in, len, &pos, &cp) < 0)
			return arca_error_set(ARCA_ECHARSET, "invalid UTF-8 byte 0x%02X at offset %zu%s",
					      in[pos], pos, what);
	}
	return 0;
}

static unsigned kind_family(unsigned kind)
{
	return kind == CS_KIND_GB18030 ? CS_FAM_GB18030 : CS_FAM_GBK;
}

static int convert(const pacs_charset *cs, pacs_vr vr, const uint8_t *in, size_t len, int dir,
		   pacs_cs_buf *buf)
{
	pacs_cs_conv cv;
	size_t bad = 0;
	int rc;

	if (dir == 1 || cs->kind == CS_KIND_UTF8) {
		rc = utf8_validate(in, len, cs->kind == CS_KIND_UTF8 && dir == 0
					    ? " in a value declared ISO_IR 192" : "");
		if (rc < 0)
			return rc;
	}
	switch (cs->kind) {
	case CS_KIND_UTF8:
		return pacs_charset__buf_put(buf, in, len);
	case CS_KIND_GB18030:
	case CS_KIND_GBK:
		pacs_charset__conv_init(&cv);
		rc = pacs_charset__iconv_value(&cv, kind_family(cs->kind), dir, in, len, buf, &bad);
		pacs_charset__conv_close(&cv);
		if (rc == ARCA_ECHARSET && dir == 0)
			return arca_error_set(ARCA_ECHARSET,
					      "byte 0x%02X at offset %zu does not start a %s character",
					      in[bad], bad, cs->terms[0]);
		if (rc == ARCA_ECHARSET) {
			size_t p = bad;
			uint32_t cp = 0;

			pacs_charset__utf8_next(in, len, &p, &cp);
			return arca_error_set(ARCA_ECHARSET,
					      "character U+%04X at offset %zu has no encoding in %s",
					      (unsigned)cp, bad, cs->terms[0]);
		}
		return rc;
	default:
		return dir == 0 ? pacs_charset__iso2022_decode(cs, vr, in, len, buf)
				: pacs_charset__iso2022_encode(cs, vr, in, len, buf);
	}
}

int pacs_charset_to_utf8(const pacs_charset *cs, pacs_vr vr, const uint8_t *in, size_t len,
			 char **out, size_t *out_len)
{
	pacs_cs_buf buf = { NULL, 0, 0 };
	int rc;

	*out = NULL;
	*out_len = 0;
	if (cs == NULL || (in == NULL && len > 0))
		return arca_error_set(ARCA_EINVAL, "pacs_charset_to_utf8: NULL argument");
	rc = convert(cs, vr, in, len, 0, &buf);
	if (rc == 0)
		rc = pacs_charset__buf_finish(&buf);
	if (rc < 0) {
		pacs_charset__buf_free(&buf);
		return rc;
	}
	*out = (char *)buf.data;
	*out_len = buf.len;
	return 0;
}

int pacs_charset_from_utf8(const pacs_charset *cs, pacs_vr vr, const char *in, size_t len,
			   uint8_t **out, size_t *out_len)
{
	pacs_cs_buf buf = { NULL, 0, 0 };
	int rc;

	*out = NULL;
	*out_len = 0;
	if (cs == NULL || (in == NULL && len > 0))
		return arca_error_set(ARCA_EINVAL, "pacs_charset_from_utf8: NULL argument");
	rc = convert(cs, vr, (const uint8_t *)in, len, 1, &buf);
	if (rc == 0)
		rc = pacs_charset__buf_finish(&buf);
	if (rc < 0) {
		pacs_charset__buf_free(&buf);
		return rc;
	}
	*out = buf.data;
	*out_len = buf.len;
	return 0;
}

int pacs_charset_is_utf8_compatible(const pacs_charset *cs)
{
	return cs != NULL && (cs->kind == CS_KIND_UTF8 ||
			      (cs->kind == CS_KIND_ISO2022 && cs->ascii_only));
}

const char *pacs_charset_term(const pacs_charset *cs, unsigned index)
{
	if (cs == NULL || index >= cs->nterms)
		return NULL;
	return cs->terms[index];
}

unsigned pacs_charset_term_count(const pacs_charset *cs)
{
	return cs != NULL ? cs->nterms : 0;
}
