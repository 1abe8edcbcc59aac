/* pacs_json.c - the DICOM JSON Model (PS3.18 F.2): encoding a data set and
 * decoding one back.
 *
 * Encoding writes the text itself rather than building a jansson tree:
 * jansson prints every real with 17 significant digits, so DS "0.1" would
 * come out as 0.10000000000000001; here each number is printed with the
 * fewest digits that give back the same binary value.  Decoding parses
 * with jansson (one place that translates its errors, decode_error()).
 *
 * Choices where PS3.18 leaves room (all documented in pacs_json.h):
 *  - IS, DS (F.2.3, "Number or String"): a JSON Number when the value
 *    parses completely as a (finite) number, otherwise the trimmed text as
 *    a JSON String, so that no value is lost.  SV and UV are Numbers when
 *    within +-2^53 (exact in every JSON parser), Strings beyond.
 *  - FL/FD values that are NaN or infinite (not JSON numbers) are written
 *    as the strings "NaN", "Infinity", "-Infinity".
 *  - An empty value inside a multi-valued attribute is null (F.2.5); an
 *    attribute with no value has "vr" only.  Group length elements
 *    (gggg,0000) are never written (F.2.2).
 *  - Encapsulated pixel data with PACS_JSON_INCLUDE_BULK: InlineBinary of
 *    its Value Field as encoded in little endian, i.e. the items
 *    (FFFE,E000) with the fragments and the closing (FFFE,E0DD) (PS3.5
 *    A.4); decoding recognises that form for (7FE0,0010).
 *  - Text that cannot be converted to UTF-8 with the Specific Character
 *    Set in force is written with each undecodable byte as U+FFFD. */
#include "pacs_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_utf8.h"

/* Sequence nesting accepted when decoding (as the reader's default). */
#define JSON_MAX_DEPTH 64
/* 2^53: integers up to this magnitude are exact in an IEEE double, hence
 * in every JSON implementation. */
#define JSON_EXACT_INT 9007199254740992.0

/* ==== writer ==== */

typedef struct jw {
	char *p;
	size_t len, cap;
	bool failed;
	bool pretty;
	bool first; /* nothing written yet in the innermost open object/array */
	unsigned depth;
} jw;

static void jw_put(jw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (n > SIZE_MAX / 2 - w->len) {
		w->failed = true;
		return;
	}
	if (w->len + n + 1 > w->cap) {
		size_t ncap = w->cap ? w->cap : 1024;
		char *grown;

		while (ncap < w->len + n + 1)
			ncap *= 2;
		grown = realloc(w->p, ncap);
		if (grown == NULL) {
			w->failed = true;
			return;
		}
		w->p = grown;
		w->cap = ncap;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void jw_puts(jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

static void jw_newline(jw *w)
{
	if (!w->pretty)
		return;
	jw_put(w, "\n", 1);
	for (unsigned i = 0; i < w->depth; i++)
		jw_put(w, "  ", 2);
}

/* Before a member of an object or an element of an array. */
static void jw_sep(jw *w)
{
	if (!w->first)
		jw_put(w, ",", 1);
	jw_newline(w);
	w->first = false;
}

static void jw_open(jw *w, char c)
{
	jw_put(w, &c, 1);
	w->depth++;
	w->first = true;
}

static void jw_close(jw *w, char c)
{
	w->depth--;
	if (!w->first)
		jw_newline(w);
	jw_put(w, &c, 1);
	w->first = false;
}

/* A JSON string (RFC 8259 7); bytes that are not valid UTF-8 become U+FFFD. */
static void jw_string(jw *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	jw_put(w, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];
		size_t k;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			jw_put(w, esc, 2);
			i++;
		} else if (c < 0x20) {
			char esc[8];
			switch (c) {
			case '\n': jw_puts(w, "\\n"); break;
			case '\r': jw_puts(w, "\\r"); break;
			case '\t': jw_puts(w, "\\t"); break;
			case '\b': jw_puts(w, "\\b"); break;
			case '\f': jw_puts(w, "\\f"); break;
			default:
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				jw_puts(w, esc);
			}
			i++;
		} else if ((k = pacs_utf8_seq_len((const uint8_t *)u + i, n - i)) == 0) {
			jw_puts(w, "\xEF\xBF\xBD"); /* U+FFFD */
			i++;
		} else {
			jw_put(w, s + i, k);
			i += k;
		}
	}
	jw_put(w, "\"", 1);
}

static void jw_key(jw *w, const char *key)
{
	jw_sep(w);
	jw_string(w, key, strlen(key));
	jw_puts(w, w->pretty ? ": " : ":");
}

/* ==== numbers ==== */

/* The shortest "%.Ng" that reads back as exactly d (at most 17 digits). */
static void fmt_double(char *buf, size_t size, double d)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/* The same for a binary32 value (at most 9 digits). */
static void fmt_float(char *buf, size_t size, float f)
{
	for (int prec = 1; prec <= 9; prec++) {
		snprintf(buf, size, "%.*g", prec, (double)f);
		if (strtof(buf, NULL) == f)
			return;
	}
}

/* A real as a JSON number, or as a string when JSON has no number for it. */
static void jw_real(jw *w, double d, bool single)
{
	char buf[40];

	if (isnan(d)) {
		jw_puts(w, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		jw_puts(w, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	if (d == 0 && signbit(d)) {
		/* "-0" would be read back as the integer 0 and lose its sign */
		jw_puts(w, "-0.0");
		return;
	}
	if (single)
		fmt_float(buf, sizeof(buf), (float)d);
	else
		fmt_double(buf, sizeof(buf), d);
	jw_puts(w, buf);
}

static uint64_t load_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = size; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

/* ==== encoder ==== */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 section 4 base64 of data, appended to the current string. */
static void jw_base64_part(jw *w, const uint8_t *data, size_t n, uint8_t carry[3], unsigned *ncarry)
{
	char quad[4];

	for (size_t i = 0; i < n; i++) {
		carry[(*ncarry)++] = data[i];
		if (*ncarry == 3) {
			quad[0] = b64_alphabet[carry[0] >> 2];
			quad[1] = b64_alphabet[((carry[0] & 3) << 4) | (carry[1] >> 4)];
			quad[2] = b64_alphabet[((carry[1] & 15) << 2) | (carry[2] >> 6)];
			quad[3] = b64_alphabet[carry[2] & 63];
			jw_put(w, quad, 4);
			*ncarry = 0;
		}
	}
}

static void jw_base64_end(jw *w, uint8_t carry[3], unsigned ncarry)
{
	char quad[4] = { '=', '=', '=', '=' };

	if (ncarry == 0)
		return;
	if (ncarry == 1)
		carry[1] = 0;
	quad[0] = b64_alphabet[carry[0] >> 2];
	quad[1] = b64_alphabet[((carry[0] & 3) << 4) | (carry[1] >> 4)];
	if (ncarry == 2)
		quad[2] = b64_alphabet[(carry[1] & 15) << 2];
	jw_put(w, quad, 4);
}

/* InlineBinary (F.2.7) of a native value or of an encapsulated value's
 * item sequence (PS3.5 A.4, little endian). */
static void enc_inline_binary(jw *w, const pacs_elem *e)
{
	uint8_t carry[3];
	unsigned ncarry = 0;

	jw_key(w, "InlineBinary");
	jw_put(w, "\"", 1);
	if (pacs_elem_flags(e) & PACS_ELEM_ENCAPSULATED) {
		static const uint8_t seq_delim[8] = { 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0 };
		size_t n = pacs_elem_fragment_count(e);

		for (size_t i = 0; i < n; i++) {
			uint32_t flen;
			const uint8_t *f = pacs_elem_fragment(e, i, &flen);
			uint8_t hdr[8] = { 0xFE, 0xFF, 0x00, 0xE0, (uint8_t)flen, (uint8_t)(flen >> 8),
					   (uint8_t)(flen >> 16), (uint8_t)(flen >> 24) };
			jw_base64_part(w, hdr, sizeof(hdr), carry, &ncarry);
			jw_base64_part(w, f, flen, carry, &ncarry);
		}
		jw_base64_part(w, seq_delim, sizeof(seq_delim), carry, &ncarry);
	} else {
		uint32_t len;
		const uint8_t *v = pacs_elem_value(e, &len);

		jw_base64_part(w, v, len, carry, &ncarry);
	}
	jw_base64_end(w, carry, ncarry);
	jw_put(w, "\"", 1);
}

static bool vr_single_text(pacs_vr vr)
{
	return vr == PACS_VR_LT || vr == PACS_VR_ST || vr == PACS_VR_UT || vr == PACS_VR_UR;
}

static bool vr_binary_other(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_OB: case PACS_VR_OD: case PACS_VR_OF: case PACS_VR_OL:
	case PACS_VR_OV: case PACS_VR_OW: case PACS_VR_UN:
		return true;
	default:
		return false;
	}
}

/* Number of bytes of one value of a binary numeric VR, 0 otherwise. */
static unsigned vr_number_width(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_US: case PACS_VR_SS: return 2;
	case PACS_VR_UL: case PACS_VR_SL: case PACS_VR_FL: case PACS_VR_AT: return 4;
	case PACS_VR_FD: case PACS_VR_SV: case PACS_VR_UV: return 8;
	default: return 0;
	}
}

static void enc_binary_numbers(jw *w, pacs_vr vr, const uint8_t *v, uint32_t len)
{
	unsigned width = vr_number_width(vr);
	char buf[40];

	jw_key(w, "Value");
	jw_open(w, '[');
	for (uint32_t off = 0; off + width <= len; off += width) {
		const uint8_t *p = v + off;

		jw_sep(w);
		switch (vr) {
		case PACS_VR_US:
			snprintf(buf, sizeof(buf), "%u", (unsigned)load_le(p, 2));
			jw_puts(w, buf);
			break;
		case PACS_VR_SS:
			snprintf(buf, sizeof(buf), "%d", (int)(int16_t)load_le(p, 2));
			jw_puts(w, buf);
			break;
		case PACS_VR_UL:
			snprintf(buf, sizeof(buf), "%" PRIu32, (uint32_t)load_le(p, 4));
			jw_puts(w, buf);
			break;
		case PACS_VR_SL:
			snprintf(buf, sizeof(buf), "%" PRId32, (int32_t)load_le(p, 4));
			jw_puts(w, buf);
			break;
		case PACS_VR_UV: {
			uint64_t u = load_le(p, 8);
			/* F.2.3 note: a String keeps precision beyond 2^53 */
			snprintf(buf, sizeof(buf), (double)u <= JSON_EXACT_INT ? "%" PRIu64 : "\"%" PRIu64 "\"", u);
			jw_puts(w, buf);
			break;
		}
		case PACS_VR_SV: {
			int64_t s = (int64_t)load_le(p, 8);
			snprintf(buf, sizeof(buf), fabs((double)s) <= JSON_EXACT_INT ? "%" PRId64 : "\"%" PRId64 "\"", s);
			jw_puts(w, buf);
			break;
		}
		case PACS_VR_FL: {
			uint32_t bits = (uint32_t)load_le(p, 4);
			float f;
			memcpy(&f, &bits, sizeof(f));
			jw_real(w, f, true);
			break;
		}
		case PACS_VR_FD: {
			uint64_t bits = load_le(p, 8);
			double d;
			memcpy(&d, &bits, sizeof(d));
			jw_real(w, d, false);
			break;
		}
		case PACS_VR_AT:
			/* F.2.3: eight upper-case hex digits, group then element */
			snprintf(buf, sizeof(buf), "\"%04X%04X\"", (unsigned)load_le(p, 2), (unsigned)load_le(p + 2, 2));
			jw_puts(w, buf);
			break;
		default:
			break;
		}
	}
	jw_close(w, ']');
}

/* One IS or DS value: a Number if it is one, else the text (F.2.3 note). */
static void enc_numeric_string(jw *w, pacs_vr vr, const char *s, size_t n)
{
	char tmp[72], *end;

	if (n > 0 && n < sizeof(tmp)) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		errno = 0;
		if (vr == PACS_VR_IS) {
			long long v = strtoll(tmp, &end, 10);
			if (*end == '\0' && errno == 0 && fabs((double)v) <= JSON_EXACT_INT) {
				snprintf(tmp, sizeof(tmp), "%lld", v);
				jw_puts(w, tmp);
				return;
			}
		} else {
			double d = strtod(tmp, &end);
			/* strtod also takes hex floats, "inf" and "nan": not DS (PS3.5 6.2) */
			if (*end == '\0' && errno == 0 && isfinite(d) && strpbrk(tmp, "xXnN") == NULL) {
				jw_real(w, d, false);
				return;
			}
		}
	}
	jw_string(w, s, n);
}

static bool is_pad(char c)
{
	return c == ' ' || c == '\0';
}

/* PN value (F.2.2): {"Alphabetic", "Ideographic", "Phonetic"} from the
 * component groups separated by '=' (PS3.5 6.2.1.1); empty groups left out. */
static void enc_person_name(jw *w, const char *s, size_t n)
{
	static const char *const group_names[3] = { "Alphabetic", "Ideographic", "Phonetic" };
	const char *groups[3] = { NULL, NULL, NULL };
	size_t glen[3] = { 0, 0, 0 };
	unsigned g = 0;
	bool any = false;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || (s[i] == '=' && g < 2)) {
			groups[g] = s + start;
			glen[g] = i - start;
			while (glen[g] > 0 && is_pad(groups[g][glen[g] - 1]))
				glen[g]--;
			any = any || glen[g] > 0;
			g++;
			start = i + 1;
		}
	}
	if (!any) {
		jw_puts(w, "null");
		return;
	}
	jw_open(w, '{');
	for (unsigned k = 0; k < g; k++) {
		if (glen[k] == 0)
			continue;
		jw_key(w, group_names[k]);
		jw_string(w, groups[k], glen[k]);
	}
	jw_close(w, '}');
}

/* Text converted to UTF-8, or on failure the raw bytes (invalid UTF-8
 * later written as U+FFFD).  *out is malloc'ed, trailing padding removed. */
static int text_value(const pacs_ds *ds, const pacs_elem *e, char **out, size_t *out_len)
{
	uint32_t len;
	const uint8_t *v;

	if (pacs_elem_utf8(ds, e, out) == 0) {
		*out_len = strlen(*out);
		return 0;
	}
	arca_error_clear();
	v = pacs_elem_value(e, &len);
	while (len > 0 && is_pad((char)v[len - 1]))
		len--;
	*out = malloc((size_t)len + 1);
	if (*out == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory converting a value");
	if (len > 0)
		memcpy(*out, v, len);
	(*out)[len] = '\0';
	*out_len = len;
	return 0;
}

static int enc_strings(jw *w, const pacs_ds *ds, const pacs_elem *e, pacs_vr vr)
{
	char *text = NULL;
	size_t n = 0, start = 0;
	int rc = text_value(ds, e, &text, &n);

	if (rc < 0)
		return rc;
	if (n == 0) {
		/* only padding: an empty value (F.2.5), as with a zero length */
		free(text);
		return 0;
	}
	jw_key(w, "Value");
	jw_open(w, '[');
	/* F.2.4: 0x5C separates values (converted text keeps it as '\') */
	for (size_t i = 0; i <= n; i++) {
		const char *s;
		size_t len;

		if (i < n && (text[i] != '\\' || vr_single_text(vr)))
			continue;
		s = text + start;
		len = i - start;
		start = i + 1;
		/* trailing padding is never significant; leading spaces are
		 * not for the multi-valued VRs (PS3.5 6.2) */
		while (len > 0 && is_pad(s[len - 1]))
			len--;
		if (!vr_single_text(vr))
			while (len > 0 && *s == ' ') {
				s++;
				len--;
			}
		jw_sep(w);
		if (vr == PACS_VR_PN)
			enc_person_name(w, s, len);
		else if (len == 0)
			jw_puts(w, "null"); /* F.2.5 */
		else if (vr == PACS_VR_IS || vr == PACS_VR_DS)
			enc_numeric_string(w, vr, s, len);
		else
			jw_string(w, s, len);
	}
	jw_close(w, ']');
	free(text);
	return 0;
}

static int enc_dataset(jw *w, const pacs_ds *ds, unsigned flags, bool root);

static int cmp_elem_tag(const void *a, const void *b)
{
	uint32_t ta = pacs_elem_tag(*(const pacs_elem *const *)a);
	uint32_t tb = pacs_elem_tag(*(const pacs_elem *const *)b);

	return ta < tb ? -1 : ta > tb;
}

static int enc_element(jw *w, const pacs_ds *ds, const pacs_elem *e, unsigned flags)
{
	/* The dictionary's pseudo VRs are not VRs of the model (F.2.3). */
	pacs_vr vr = pacs_vr_resolve_default(pacs_elem_vr(e));
	unsigned eflags = pacs_elem_flags(e);
	uint32_t len;
	const uint8_t *v;
	int rc = 0;

	jw_open(w, '{');
	jw_key(w, "vr");
	jw_string(w, pacs_vr_name(vr), 2);
	if (vr == PACS_VR_SQ) {
		size_t n = pacs_elem_item_count(e);

		if (n > 0) {
			jw_key(w, "Value");
			jw_open(w, '[');
			for (size_t i = 0; i < n && rc == 0; i++) {
				jw_sep(w);
				rc = enc_dataset(w, pacs_elem_item(e, i), flags, false);
			}
			jw_close(w, ']');
		}
	} else if (eflags & PACS_ELEM_BULK) {
		/* value not held: nothing to write (no BulkDataURI to give) */
	} else if (eflags & PACS_ELEM_ENCAPSULATED) {
		if (flags & PACS_JSON_INCLUDE_BULK)
			enc_inline_binary(w, e);
	} else if ((v = pacs_elem_value(e, &len)) == NULL || len == 0) {
		/* F.2.5: present but empty -> no Value */
	} else if (vr_binary_other(vr)) {
		if (flags & PACS_JSON_INCLUDE_BULK)
			enc_inline_binary(w, e);
	} else if (vr_number_width(vr) != 0) {
		enc_binary_numbers(w, vr, v, len);
	} else if (pacs_vr_is_string(vr)) {
		rc = enc_strings(w, ds, e, vr);
	}
	jw_close(w, '}');
	return rc;
}

static int enc_dataset(jw *w, const pacs_ds *ds, unsigned flags, bool root)
{
	size_t n = pacs_ds_count(ds), k = 0;
	const pacs_elem **order;
	int rc = 0;

	/* F.2.2: attributes in ascending tag order, whatever the stream had */
	order = malloc((n ? n : 1) * sizeof(*order));
	if (order == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory encoding JSON");
	for (size_t i = 0; i < n; i++) {
		const pacs_elem *e = pacs_ds_at(ds, i);
		uint32_t tag = pacs_elem_tag(e);

		if (PACS_TAG_ELEMENT(tag) == 0x0000)
			continue; /* F.2.2: no group length */
		if (PACS_TAG_GROUP(tag) == 0x0002 && !(root && (flags & PACS_JSON_INCLUDE_META)))
			continue;
		if (PACS_TAG_GROUP(tag) == 0xFFFE)
			continue; /* stray item or delimiter tags are not attributes */
		order[k++] = e;
	}
	qsort(order, k, sizeof(*order), cmp_elem_tag);
	jw_open(w, '{');
	for (size_t i = 0; i < k && rc == 0; i++) {
		char key[9];

		snprintf(key, sizeof(key), "%08" PRIX32, pacs_elem_tag(order[i]));
		jw_key(w, key);
		rc = enc_element(w, ds, order[i], flags);
	}
	jw_close(w, '}');
	free(order);
	return rc;
}

int pacs_json_encode(const pacs_ds *ds, unsigned flags, char **out, size_t *out_len)
{
	jw w = { .pretty = (flags & PACS_JSON_PRETTY) != 0, .first = true };
	int rc;

	*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (ds == NULL)
		return arca_error_set(ARCA_EINVAL, "pacs_json_encode: no data set");
	rc = enc_dataset(&w, ds, flags, true);
	if (rc == 0 && w.pretty)
		jw_put(&w, "\n", 1);
	if (rc == 0 && w.failed)
		rc = arca_error_set(ARCA_ENOMEM, "out of memory encoding JSON");
	if (rc < 0) {
		free(w.p);
		return rc;
	}
	*out = w.p;
	if (out_len != NULL)
		*out_len = w.len;
	return 0;
}

/* ==== decoder ==== */

typedef struct jd {
	bool non_ascii_text; /* some text needs ISO_IR 192 */
	char path[64];       /* the attribute being decoded, for messages */
} jd;

static int dec_dataset(jd *d, pacs_ds *ds, json_t *obj, unsigned depth);

static int dec_fail(jd *d, const char *what)
{
	return arca_error_set(ARCA_EPROTO, "DICOM JSON: attribute %s: %s", d->path, what);
}

/* A growable byte string for values being assembled. */
typedef struct jbuf {
	uint8_t *p;
	size_t len, cap;
} jbuf;

static int jbuf_put(jbuf *b, const void *s, size_t n)
{
	if (n > UINT32_MAX - 2 - b->len)
		return arca_error_set(ARCA_ELIMIT, "DICOM JSON: value longer than 4 GiB");
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 64;
		uint8_t *grown;

		while (ncap < b->len + n)
			ncap *= 2;
		grown = realloc(b->p, ncap);
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory decoding JSON");
		b->p = grown;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* RFC 4648 base64 with padding; whitespace is not allowed inside. */
static int b64_decode(jd *d, const char *s, size_t n, jbuf *out)
{
	if (n % 4 != 0)
		return dec_fail(d, "InlineBinary length is not a multiple of 4");
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		unsigned pad = 0;
		uint8_t bytes[3];

		for (unsigned k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(s[i + k])) < 0)
				return dec_fail(d, "InlineBinary is not base64");
		}
		bytes[0] = (uint8_t)((v[0] << 2) | (v[1] >> 4));
		bytes[1] = (uint8_t)(((v[1] & 15) << 4) | (v[2] >> 2));
		bytes[2] = (uint8_t)(((v[2] & 3) << 6) | v[3]);
		if (jbuf_put(out, bytes, 3 - pad) < 0)
			return arca_error_last_code();
	}
	return 0;
}

static void store_le(uint8_t *p, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A JSON number or numeric string as a double / integer. */
static int json_to_double(jd *d, json_t *v, double *out)
{
	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		*out = json_real_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		if (strcmp(s, "NaN") == 0) {
			*out = NAN;
			return 0;
		}
		if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
			*out = s[0] == '-' ? -INFINITY : INFINITY;
			return 0;
		}
		errno = 0;
		*out = strtod(s, &end);
		if (*s != '\0' && *end == '\0' && errno == 0)
			return 0;
	}
	return dec_fail(d, "value is not a number");
}

static int json_to_int(jd *d, json_t *v, bool is_unsigned, int64_t *s_out, uint64_t *u_out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (is_unsigned && i < 0)
			return dec_fail(d, "negative value for an unsigned VR");
		*s_out = i;
		*u_out = (uint64_t)i;
		return 0;
	}
	if (json_is_real(v)) {
		double r = json_real_value(v);
		if (r != floor(r) || fabs(r) > JSON_EXACT_INT || (is_unsigned && r < 0))
			return dec_fail(d, "value is not an integer in range");
		*s_out = (int64_t)r;
		*u_out = (uint64_t)*s_out;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		errno = 0;
		if (is_unsigned) {
			if (*s == '-')
				return dec_fail(d, "negative value for an unsigned VR");
			*u_out = strtoull(s, &end, 10);
			*s_out = (int64_t)*u_out;
		} else {
			*s_out = strtoll(s, &end, 10);
			*u_out = (uint64_t)*s_out;
		}
		if (*s != '\0' && *end == '\0' && errno == 0)
			return 0;
	}
	return dec_fail(d, "value is not an integer");
}

static int dec_binary_numbers(jd *d, pacs_ds *ds, uint32_t tag, pacs_vr vr, json_t *values)
{
	unsigned width = vr_number_width(vr);
	size_t n = json_array_size(values);
	jbuf b = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *v = json_array_get(values, i);
		uint8_t bytes[8];
		int64_t s = 0;
		uint64_t u = 0;

		switch (vr) {
		case PACS_VR_FL: case PACS_VR_FD: {
			double r = 0;
			if ((rc = json_to_double(d, v, &r)) < 0)
				break;
			if (vr == PACS_VR_FL) {
				float f = (float)r;
				uint32_t bits;
				memcpy(&bits, &f, sizeof(bits));
				store_le(bytes, bits, 4);
			} else {
				uint64_t bits;
				memcpy(&bits, &r, sizeof(bits));
				store_le(bytes, bits, 8);
			}
			break;
		}
		case PACS_VR_AT: {
			const char *t = json_string_value(v);
			char *end;
			unsigned long at;

			if (t == NULL || strlen(t) != 8 || (at = strtoul(t, &end, 16), *end != '\0') ||
			    strpbrk(t, "+- ") != NULL) {
				rc = dec_fail(d, "AT value is not 8 hex digits");
				break;
			}
			store_le(bytes, at >> 16, 2);
			store_le(bytes + 2, at & 0xFFFFu, 2);
			break;
		}
		case PACS_VR_US: case PACS_VR_UL: case PACS_VR_UV: {
			uint64_t max = vr == PACS_VR_US ? UINT16_MAX : vr == PACS_VR_UL ? UINT32_MAX : UINT64_MAX;
			if ((rc = json_to_int(d, v, true, &s, &u)) < 0)
				break;
			if (u > max) {
				rc = dec_fail(d, "value out of range for its VR");
				break;
			}
			store_le(bytes, u, width);
			break;
		}
		default: { /* SS SL SV */
			int64_t lim = vr == PACS_VR_SS ? INT16_MAX : vr == PACS_VR_SL ? INT32_MAX : INT64_MAX;
			if ((rc = json_to_int(d, v, false, &s, &u)) < 0)
				break;
			if (s > lim || s < -lim - 1) {
				rc = dec_fail(d, "value out of range for its VR");
				break;
			}
			store_le(bytes, (uint64_t)s, width);
			break;
		}
		}
		if (rc == 0)
			rc = jbuf_put(&b, bytes, width);
	}
	if (rc == 0)
		rc = pacs_ds_set(ds, tag, vr, b.p ? b.p : (const uint8_t *)"", (uint32_t)b.len);
	free(b.p);
	return rc;
}

/* A double as a DS value: the shortest exact form, or the closest that
 * fits the 16 bytes DS allows (PS3.5 6.2). */
static void format_ds(char *buf, size_t size, double r)
{
	fmt_double(buf, size, r);
	for (int prec = 16; strlen(buf) > 16 && prec > 0; prec--)
		snprintf(buf, size, "%.*g", prec, r);
}

static int dec_text_value(jd *d, pacs_vr vr, json_t *v, jbuf *b)
{
	char num[40];

	if (json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);

		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] >= 0x80)
				d->non_ascii_text = true;
		return jbuf_put(b, s, n);
	}
	if ((vr == PACS_VR_IS || vr == PACS_VR_DS) && json_is_number(v)) {
		if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		} else if (vr == PACS_VR_DS) {
			format_ds(num, sizeof(num), json_real_value(v));
		} else {
			double r = json_real_value(v);
			if (r != floor(r) || fabs(r) > 2147483647.0)
				return dec_fail(d, "IS value is not an integer");
			snprintf(num, sizeof(num), "%.0f", r);
		}
		return jbuf_put(b, num, strlen(num));
	}
	if (vr == PACS_VR_PN && json_is_object(v)) {
		static const char *const groups[3] = { "Alphabetic", "Ideographic", "Phonetic" };
		unsigned last = 0;
		json_t *g[3];

		for (unsigned k = 0; k < 3; k++) {
			g[k] = json_object_get(v, groups[k]);
			if (g[k] != NULL && !json_is_string(g[k]))
				return dec_fail(d, "PN component group is not a string");
			if (g[k] != NULL)
				last = k + 1;
		}
		/* trailing empty component groups are left out (PS3.5 6.2.1.1) */
		for (unsigned k = 0; k < last; k++) {
			int rc;
			if (k > 0 && (rc = jbuf_put(b, "=", 1)) < 0)
				return rc;
			if (g[k] != NULL && (rc = dec_text_value(d, vr, g[k], b)) < 0)
				return rc;
		}
		return 0;
	}
	return dec_fail(d, "value has the wrong JSON type for its VR");
}

static int dec_strings(jd *d, pacs_ds *ds, uint32_t tag, pacs_vr vr, json_t *values)
{
	size_t n = json_array_size(values);
	jbuf b = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i > 0)
			rc = jbuf_put(&b, "\\", 1);
		if (rc == 0)
			rc = dec_text_value(d, vr, json_array_get(values, i), &b);
	}
	if (rc == 0)
		rc = jbuf_put(&b, "", 1); /* NUL for pacs_ds_set_string */
	if (rc == 0) {
		if (memchr(b.p, '\0', b.len - 1) != NULL)
			rc = dec_fail(d, "text contains a NUL character");
		else
			rc = pacs_ds_set_string(ds, tag, vr, (const char *)b.p);
	}
	free(b.p);
	return rc;
}

/* Encapsulated pixel data written by enc_inline_binary: items, then the
 * sequence delimiter, exactly filling the bytes. */
static bool parse_item_sequence(const uint8_t *p, size_t n, size_t *count)
{
	size_t off = 0;

	*count = 0;
	while (n - off >= 8) {
		uint32_t tag = (uint32_t)(load_le(p + off, 2) << 16 | load_le(p + off + 2, 2));
		uint32_t len = (uint32_t)load_le(p + off + 4, 4);

		off += 8;
		if (tag == PACS_TAG_SEQ_DELIM)
			return len == 0 && off == n;
		if (tag != PACS_TAG_ITEM || len > n - off)
			return false;
		off += len;
		(*count)++;
	}
	return false;
}

static int dec_inline_binary(jd *d, pacs_ds *ds, uint32_t tag, pacs_vr vr, json_t *val)
{
	jbuf b = { 0 };
	size_t frags;
	int rc;

	if (!json_is_string(val))
		return dec_fail(d, "InlineBinary is not a string");
	rc = b64_decode(d, json_string_value(val), json_string_length(val), &b);
	if (rc == 0 && tag == PACS_TAG_PIXEL_DATA && (vr == PACS_VR_OB || vr == PACS_VR_OW) &&
	    parse_item_sequence(b.p, b.len, &frags)) {
		size_t off = 0;

		rc = pacs_ds_set_encapsulated(ds, tag, vr, NULL);
		for (size_t i = 0; i < frags && rc == 0; i++) {
			uint32_t len = (uint32_t)load_le(b.p + off + 4, 4);
			rc = pacs_ds_add_fragment(ds, tag, b.p + off + 8, len);
			off += 8 + (size_t)len;
		}
	} else if (rc == 0) {
		if (b.len % 2 != 0)
			rc = jbuf_put(&b, "", 1); /* values have even length (PS3.5 7.1.1) */
		if (rc == 0)
			rc = pacs_ds_set(ds, tag, vr, b.p ? b.p : (const uint8_t *)"", (uint32_t)b.len);
	}
	free(b.p);
	return rc;
}

static int dec_attribute(jd *d, pacs_ds *ds, uint32_t tag, json_t *attr, unsigned depth)
{
	json_t *jvr, *value, *inline_bin, *bulk_uri;
	const char *vrs;
	pacs_vr vr;

	if (!json_is_object(attr))
		return dec_fail(d, "is not an object");
	jvr = json_object_get(attr, "vr");
	vrs = json_string_value(jvr);
	if (vrs == NULL || strlen(vrs) != 2 || (vr = pacs_vr_from_chars(vrs[0], vrs[1])) == PACS_VR_NONE)
		return dec_fail(d, "\"vr\" is missing or not a VR");
	value = json_object_get(attr, "Value");
	inline_bin = json_object_get(attr, "InlineBinary");
	bulk_uri = json_object_get(attr, "BulkDataURI");
	if ((value != NULL) + (inline_bin != NULL) + (bulk_uri != NULL) > 1)
		return dec_fail(d, "more than one of Value, InlineBinary, BulkDataURI");
	if (inline_bin != NULL)
		return dec_inline_binary(d, ds, tag, vr, inline_bin);
	if (bulk_uri != NULL)
		/* the value lives elsewhere; keep the attribute as a bulk placeholder */
		return pacs_ds_set_bulk(ds, tag, vr, 0, 0);
	if (value != NULL && !json_is_array(value))
		return dec_fail(d, "\"Value\" is not an array");
	if (vr == PACS_VR_SQ) {
		int rc = pacs_ds_set_sequence(ds, tag, NULL);

		if (depth >= JSON_MAX_DEPTH)
			return arca_error_set(ARCA_ELIMIT, "DICOM JSON: sequences nested deeper than %d",
					      JSON_MAX_DEPTH);
		for (size_t i = 0; rc == 0 && i < json_array_size(value); i++) {
			json_t *item_obj = json_array_get(value, i);
			pacs_ds *item = NULL;

			if (!json_is_object(item_obj))
				return dec_fail(d, "sequence item is not an object");
			rc = pacs_ds_add_item(ds, tag, &item);
			if (rc == 0)
				rc = dec_dataset(d, item, item_obj, depth + 1);
		}
		return rc;
	}
	if (value == NULL || json_array_size(value) == 0)
		return pacs_ds_set(ds, tag, vr, "", 0);
	if (vr_number_width(vr) != 0)
		return dec_binary_numbers(d, ds, tag, vr, value);
	if (pacs_vr_is_string(vr))
		return dec_strings(d, ds, tag, vr, value);
	return dec_fail(d, "\"Value\" given for a VR that takes InlineBinary");
}

static int dec_dataset(jd *d, pacs_ds *ds, json_t *obj, unsigned depth)
{
	const char *key;
	json_t *attr;

	json_object_foreach(obj, key, attr) {
		char *end;
		unsigned long tag;
		int rc;

		snprintf(d->path, sizeof(d->path), "%s", key);
		if (strlen(key) != 8 || (tag = strtoul(key, &end, 16), *end != '\0') || strchr(key, '-') ||
		    strchr(key, '+') || strchr(key, ' '))
			return dec_fail(d, "name is not eight hex digits");
		if (PACS_TAG_GROUP(tag) == 0xFFFE)
			return dec_fail(d, "item and delimitation tags are not attributes");
		rc = dec_attribute(d, ds, (uint32_t)tag, attr, depth);
		if (rc < 0) {
			if (arca_error_last_code() != rc)
				arca_error_set(rc, "DICOM JSON: attribute %s: could not be stored", key);
			return rc;
		}
	}
	return 0;
}

/* Every (0008,0005) in the tree becomes ISO_IR 192 (values are UTF-8 now). */
static int set_utf8_everywhere(pacs_ds *ds, bool root)
{
	size_t n;
	int rc = 0;

	if (root || pacs_ds_find(ds, PACS_TAG_SPECIFIC_CHARSET) != NULL)
		rc = pacs_ds_set_string(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 192");
	n = pacs_ds_count(ds);
	for (size_t i = 0; i < n && rc == 0; i++) {
		pacs_elem *e = pacs_ds_find_mut(ds, pacs_elem_tag(pacs_ds_at(ds, i)));

		for (size_t k = 0; e != NULL && k < pacs_elem_item_count(e) && rc == 0; k++)
			rc = set_utf8_everywhere(pacs_elem_item_mut(e, k), false);
	}
	return rc;
}

int pacs_json_decode(pacs_ds **out, const char *json, size_t len)
{
	json_error_t jerr;
	json_t *root;
	pacs_ds *ds = NULL;
	jd d = { 0 };
	int rc;

	*out = NULL;
	root = json_loadb(json, len, 0, &jerr);
	if (root == NULL)
		return arca_error_set(ARCA_EPROTO, "DICOM JSON: line %d column %d: %s", jerr.line, jerr.column,
				      jerr.text);
	/* A DICOMweb response is an array of objects; take a lone one too. */
	if (json_is_array(root) && json_array_size(root) == 1 && json_is_object(json_array_get(root, 0))) {
		json_t *only = json_incref(json_array_get(root, 0));
		json_decref(root);
		root = only;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return arca_error_set(ARCA_EPROTO, "DICOM JSON: the top level is not an object");
	}
	rc = pacs_ds_new(&ds);
	if (rc == 0)
		rc = dec_dataset(&d, ds, root, 0);
	json_decref(root);
	/* F.2.2 note 3: JSON text is UTF-8, whatever (0008,0005) said */
	if (rc == 0 && d.non_ascii_text)
		rc = set_utf8_everywhere(ds, true);
	if (rc < 0) {
		pacs_ds_free(ds);
		return rc;
	}
	*out = ds;
	return 0;
}
