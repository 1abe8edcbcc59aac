/* test_dicom.c - DICOM byte stream builder and canonical tree dump for
 * tests (see test_dicom.h). */
#include "test_dicom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
	fprintf(stderr, "test_dicom: %s\n", what);
	abort();
}

void td_init(td *b, td_enc enc)
{
	memset(b, 0, sizeof(*b));
	b->enc = enc;
}

void td_free(td *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void td_set_enc(td *b, td_enc enc)
{
	b->enc = enc;
}

void td_raw(td *b, const void *data, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n)
			ncap *= 2;
		b->buf = realloc(b->buf, ncap);
		if (b->buf == NULL)
			die("out of memory");
		b->cap = ncap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
}

void td_zeros(td *b, size_t n)
{
	static const uint8_t z[64];

	while (n > 0) {
		size_t k = n < sizeof(z) ? n : sizeof(z);
		td_raw(b, z, k);
		n -= k;
	}
}

static void put16(uint8_t *p, uint16_t v, bool be)
{
	p[be ? 1 : 0] = (uint8_t)v;
	p[be ? 0 : 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v, bool be)
{
	for (int i = 0; i < 4; i++)
		p[be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

void td_u16(td *b, uint16_t v)
{
	uint8_t p[2];

	put16(p, v, b->enc == TD_EXPLICIT_BE);
	td_raw(b, p, 2);
}

void td_u32(td *b, uint32_t v)
{
	uint8_t p[4];

	put32(p, v, b->enc == TD_EXPLICIT_BE);
	td_raw(b, p, 4);
}

void td_preamble(td *b, uint8_t fill)
{
	uint8_t pre[128];

	memset(pre, fill, sizeof(pre));
	td_raw(b, pre, sizeof(pre));
	td_raw(b, "DICM", 4);
}

static bool long_vr(const char *vr)
{
	static const char *const longs[] = { "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV",
					     "UC", "UN", "UR", "UT", "UV" };

	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
		if (memcmp(vr, longs[i], 2) == 0)
			return true;
	return false;
}

void td_header(td *b, uint32_t tag, const char *vr, uint32_t len)
{
	td_u16(b, (uint16_t)(tag >> 16));
	td_u16(b, (uint16_t)tag);
	if (b->enc == TD_IMPLICIT_LE) {
		td_u32(b, len);
		return;
	}
	td_raw(b, vr, 2);
	if (long_vr(vr)) {
		td_zeros(b, 2);
		td_u32(b, len);
	} else {
		td_u16(b, (uint16_t)len);
	}
}

void td_elem(td *b, uint32_t tag, const char *vr, const void *value, uint32_t len)
{
	td_header(b, tag, vr, len);
	td_raw(b, value, len);
}

void td_str(td *b, uint32_t tag, const char *vr, const char *s)
{
	size_t n = strlen(s);
	uint8_t pad = vr != NULL && memcmp(vr, "UI", 2) == 0 ? 0 : ' ';

	td_header(b, tag, vr, (uint32_t)(n + (n & 1)));
	td_raw(b, s, n);
	if (n & 1)
		td_raw(b, &pad, 1);
}

void td_us(td *b, uint32_t tag, uint16_t v)
{
	td_header(b, tag, "US", 2);
	td_u16(b, v);
}

void td_ul(td *b, uint32_t tag, uint32_t v)
{
	td_header(b, tag, "UL", 4);
	td_u32(b, v);
}

void td_meta(td *b, const char *ts_uid)
{
	td_enc saved = b->enc;
	size_t len_at, start;
	static const uint8_t version[2] = { 0x00, 0x01 };

	b->enc = TD_EXPLICIT_LE;
	td_header(b, 0x00020000, "UL", 4);
	len_at = b->len;
	td_u32(b, 0);
	start = b->len;
	td_elem(b, 0x00020001, "OB", version, 2);
	td_str(b, 0x00020002, "UI", "1.2.840.10008.5.1.4.1.1.7");
	td_str(b, 0x00020003, "UI", "1.2.826.0.1.3680043.2.1143.1");
	if (ts_uid != NULL)
		td_str(b, 0x00020010, "UI", ts_uid);
	td_str(b, 0x00020012, "UI", "1.2.826.0.1.3680043.2.1143.107");
	put32(b->buf + len_at, (uint32_t)(b->len - start), false);
	b->enc = saved;
}

void td_item(td *b, uint32_t len)
{
	td_u16(b, 0xFFFE);
	td_u16(b, 0xE000);
	td_u32(b, len);
}

void td_item_delim(td *b)
{
	td_u16(b, 0xFFFE);
	td_u16(b, 0xE00D);
	td_u32(b, 0);
}

void td_seq_delim(td *b)
{
	td_u16(b, 0xFFFE);
	td_u16(b, 0xE0DD);
	td_u32(b, 0);
}

td_mark td_seq_begin_vr(td *b, uint32_t tag, const char *vr, bool undefined)
{
	td_mark m = { 0, 0, undefined, b->enc };

	td_header(b, tag, vr, undefined ? 0xFFFFFFFFu : 0);
	m.len_at = b->len - 4;
	m.start = b->len;
	return m;
}

td_mark td_seq_begin(td *b, uint32_t tag, bool undefined)
{
	return td_seq_begin_vr(b, tag, "SQ", undefined);
}

td_mark td_item_begin(td *b, bool undefined)
{
	td_mark m = { 0, 0, undefined, b->enc };

	td_item(b, undefined ? 0xFFFFFFFFu : 0);
	m.len_at = b->len - 4;
	m.start = b->len;
	return m;
}

static void patch(td *b, td_mark m)
{
	put32(b->buf + m.len_at, (uint32_t)(b->len - m.start), m.enc == TD_EXPLICIT_BE);
}

void td_seq_end(td *b, td_mark m)
{
	td_enc saved = b->enc;

	if (!m.undefined) {
		patch(b, m);
		return;
	}
	b->enc = m.enc;
	td_seq_delim(b);
	b->enc = saved;
}

void td_item_end(td *b, td_mark m)
{
	td_enc saved = b->enc;

	if (!m.undefined) {
		patch(b, m);
		return;
	}
	b->enc = m.enc;
	td_item_delim(b);
	b->enc = saved;
}

/* ---- canonical dump ---- */

typedef struct sbuf {
	char *s;
	size_t len, cap;
} sbuf;

__attribute__((format(printf, 2, 3)))
static void sb_printf(sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf");
	if (sb->len + (size_t)n + 1 > sb->cap) {
		size_t ncap = sb->cap ? sb->cap : 1024;
		while (ncap < sb->len + (size_t)n + 1)
			ncap *= 2;
		sb->s = realloc(sb->s, ncap);
		if (sb->s == NULL)
			die("out of memory");
		sb->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

static void sb_bytes(sbuf *sb, const uint8_t *p, uint32_t n)
{
	if (p == NULL) {
		sb_printf(sb, " (null)");
		return;
	}
	if (n <= 64) {
		sb_printf(sb, " ");
		for (uint32_t i = 0; i < n; i++)
			sb_printf(sb, "%02x", p[i]);
		return;
	}
	/* FNV-1a 64 */
	uint64_t h = 0xcbf29ce484222325ull;
	for (uint32_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	sb_printf(sb, " #%016llx", (unsigned long long)h);
}

static void canon_ds(sbuf *sb, const pacs_ds *ds, int depth)
{
	for (size_t i = 0; i < pacs_ds_count(ds); i++) {
		const pacs_elem *e = pacs_ds_at(ds, i);
		uint32_t tag = pacs_elem_tag(e), len;

		sb_printf(sb, "%*s(%04X,%04X) %s f%u l%u @%llu", depth * 2, "", tag >> 16, tag & 0xFFFF,
			  pacs_vr_name(pacs_elem_vr(e)), pacs_elem_flags(e), pacs_elem_length(e),
			  (unsigned long long)pacs_elem_offset(e));
		if (pacs_elem_is_sequence(e)) {
			sb_printf(sb, " items=%zu\n", pacs_elem_item_count(e));
			for (size_t k = 0; k < pacs_elem_item_count(e); k++) {
				const pacs_ds *item = pacs_elem_item(e, k);
				sb_printf(sb, "%*s item %zu l%u @%llu\n", depth * 2, "", k,
					  pacs_ds_item_length(item), (unsigned long long)pacs_ds_offset(item));
				canon_ds(sb, item, depth + 1);
			}
		} else if (pacs_elem_flags(e) & PACS_ELEM_BULK) {
			sb_printf(sb, " bulk\n");
		} else if (pacs_elem_flags(e) & PACS_ELEM_ENCAPSULATED) {
			sb_printf(sb, " frags=%zu\n", pacs_elem_fragment_count(e));
			for (size_t k = 0; k < pacs_elem_fragment_count(e); k++) {
				const uint8_t *f = pacs_elem_fragment(e, k, &len);
				sb_printf(sb, "%*s frag %zu l%u", depth * 2, "", k, len);
				sb_bytes(sb, f, len);
				sb_printf(sb, "\n");
			}
		} else {
			const uint8_t *v = pacs_elem_value(e, &len);
			sb_bytes(sb, v, len);
			sb_printf(sb, "\n");
		}
	}
}

char *td_canon(const pacs_ds *ds)
{
	sbuf sb = { 0 };
	const uint8_t *pre = pacs_ds_preamble(ds);

	sb_printf(&sb, "ts=%s preamble=", pacs_ds_source_ts(ds));
	if (pre != NULL)
		sb_bytes(&sb, pre, 128);
	else
		sb_printf(&sb, "none");
	sb_printf(&sb, "\n");
	canon_ds(&sb, ds, 0);
	return sb.s;
}
