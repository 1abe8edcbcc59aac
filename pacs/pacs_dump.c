/* pacs_dump.c - a dcmdump-like listing of a data set.
 *
 * The layout follows DCMTK's dcmdump so that people who know it can read
 * ours at a glance: one line per element,
 *
 *   (0010,0010) PN [Yamada^Tarou]                          #  12, 1 PatientName
 *
 * with the tag in lower-case hex, the VR, the value (strings in [], numbers
 * bare, binary values as hex bytes or words), padded to a 40-column value
 * field, then the value length, the value multiplicity and the keyword.
 * Sequences, items and pixel fragments are indented two spaces per level
 * and closed with the delimitation lines dcmdump prints.  This is our own
 * implementation of that output format, written from observing dcmdump's
 * output, not from its source. */
#include "pacs_dump.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_ts.h"
#include "pacs_utf8.h"

/* The value field is padded to this width so the '#' columns line up. */
#define DUMP_VALUE_WIDTH 40
/* Values whose printed form is longer than this are shortened with "..."
 * unless PACS_DUMP_FULL (dcmdump prints 70 characters of a value). */
#define DUMP_LINE_LIMIT 70

/* ---- a small growable text buffer for one value field ---- */

typedef struct dump_buf {
	char *p;
	size_t len, cap;
	bool failed; /* an allocation failed; the text is incomplete */
} dump_buf;

static void buf_reserve(dump_buf *b, size_t extra)
{
	size_t ncap;
	char *grown;

	if (b->failed)
		return;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return;
	}
	if (b->len + extra + 1 <= b->cap)
		return;
	ncap = b->cap ? b->cap : 128;
	while (ncap < b->len + extra + 1)
		ncap *= 2;
	grown = realloc(b->p, ncap);
	if (grown == NULL) {
		b->failed = true;
		return;
	}
	b->p = grown;
	b->cap = ncap;
}

static void buf_put(dump_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_puts(dump_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_putc(dump_buf *b, char c)
{
	buf_put(b, &c, 1);
}

static void buf_reset(dump_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* ---- context ---- */

typedef struct dump_ctx {
	FILE *out;
	unsigned flags;
	dump_buf val; /* the value field of the line being printed */
} dump_ctx;

static bool dump_full(const dump_ctx *c)
{
	return (c->flags & PACS_DUMP_FULL) != 0;
}

/* ---- line layout ---- */

static void line_start(dump_ctx *c, unsigned level, uint32_t tag, const char *vr)
{
	for (unsigned i = 0; i < level; i++)
		fputs("  ", c->out);
	fprintf(c->out, "(%04x,%04x) %s ", PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), vr);
}

/* Ends a line whose value field of printed_len characters is already out:
 * pads it, then "# length, VM keyword". */
static void line_end(dump_ctx *c, size_t printed_len, bool undefined, uint32_t length, unsigned vm,
		     const char *keyword)
{
	for (size_t i = printed_len; i < DUMP_VALUE_WIDTH; i++)
		fputc(' ', c->out);
	if (undefined)
		fputs(" # u/l", c->out);
	else
		fprintf(c->out, " # %3" PRIu32, length);
	fprintf(c->out, ",%2u %s\n", vm, keyword);
}

static void line(dump_ctx *c, unsigned level, uint32_t tag, const char *vr, const char *value,
		 bool undefined, uint32_t length, unsigned vm, const char *keyword)
{
	line_start(c, level, tag, vr);
	fputs(value, c->out);
	line_end(c, strlen(value), undefined, length, vm, keyword);
}

/* ---- keywords ---- */

static void keyword_from_entry(const pacs_dict_entry *d, char *buf, size_t size)
{
	size_t k = 0;

	/* dcmdump marks retired attributes; our dictionary keeps the bare keyword. */
	snprintf(buf, size, "%s%s", d->retired ? "RETIRED_" : "", d->keyword);
	/* A few private.dic names hold spaces ("End NumberForBaseline"); a
	 * keyword is one word, as dcmdump prints it. */
	for (size_t i = 0; buf[i] != '\0'; i++)
		if (buf[i] != ' ')
			buf[k++] = buf[i];
	buf[k] = '\0';
}

/* The keyword of tag as found in ds: standard dictionary, private
 * dictionary under the creator reserved in ds (PS3.5 7.8.1), or the
 * names dcmdump uses for tags no dictionary lists. */
static void keyword_of(const pacs_ds *ds, uint32_t tag, char *buf, size_t size)
{
	uint16_t elem = PACS_TAG_ELEMENT(tag);
	const pacs_dict_entry *d;

	if (elem == 0x0000) {
		d = pacs_dict_lookup(tag);
		if (d != NULL && d->keyword != NULL && d->keyword[0] != '\0' &&
		    PACS_TAG_GROUP(d->tag) == PACS_TAG_GROUP(tag))
			keyword_from_entry(d, buf, size);
		else
			snprintf(buf, size, "%s", PACS_TAG_IS_PRIVATE(tag) ? "PrivateGroupLength" : "GenericGroupLength");
		return;
	}
	if (PACS_TAG_IS_PRIVATE(tag)) {
		if (elem >= 0x0010 && elem <= 0x00FF) {
			snprintf(buf, size, "PrivateCreator");
			return;
		}
		if (elem >= 0x1000) {
			uint32_t creator_tag = PACS_TAG(PACS_TAG_GROUP(tag), elem >> 8);
			const pacs_elem *ce = pacs_ds_find(ds, creator_tag);
			const char *creator;
			size_t n;

			/* UN when an implicit VR reader had no dictionary VR for it */
			if (ce != NULL && (pacs_vr_is_string(pacs_elem_vr(ce)) || pacs_elem_vr(ce) == PACS_VR_UN) &&
			    pacs_elem_string(ce, 0, &creator, &n) == 0) {
				d = pacs_dict_lookup_private(tag, creator, (unsigned)n);
				if (d != NULL && d->keyword != NULL && d->keyword[0] != '\0') {
					keyword_from_entry(d, buf, size);
					return;
				}
			}
		}
		snprintf(buf, size, "Unknown Tag & Data");
		return;
	}
	d = pacs_dict_lookup(tag);
	if (d != NULL && d->keyword != NULL && d->keyword[0] != '\0')
		keyword_from_entry(d, buf, size);
	else
		snprintf(buf, size, "Unknown Tag & Data");
}

/* ---- value formatting ---- */

static const char hexdig[] = "0123456789abcdef";

static void buf_hex_byte(dump_buf *b, uint8_t v)
{
	char s[4] = { '\\', 'x', hexdig[v >> 4], hexdig[v & 15] };

	buf_put(b, s, 4);
}

/* Appends text so that it stays on one line and is valid UTF-8: control
 * characters (CR, LF in LT/UT values ...) and, when raw_only_ascii or the
 * byte does not start valid UTF-8, non-ASCII bytes are written as \xNN. */
static void buf_text(dump_buf *b, const unsigned char *s, size_t n, bool raw_only_ascii)
{
	size_t i = 0;

	while (i < n) {
		unsigned char ch = s[i];
		size_t k;

		if (ch < 0x20 || ch == 0x7F) {
			buf_hex_byte(b, ch);
			i++;
			continue;
		}
		if (ch < 0x80) {
			buf_putc(b, (char)ch);
			i++;
			continue;
		}
		k = raw_only_ascii ? 0 : pacs_utf8_seq_len((const uint8_t *)s + i, n - i);
		if (k == 0) {
			buf_hex_byte(b, ch);
			i++;
			continue;
		}
		buf_put(b, (const char *)s + i, k);
		i += k;
	}
}

/* String VRs: "[value]" in UTF-8 under the Specific Character Set in force;
 * when conversion fails the raw bytes are shown with non-ASCII escaped. */
static void format_string(dump_ctx *c, const pacs_ds *ds, const pacs_elem *e)
{
	dump_buf *b = &c->val;
	char *utf8 = NULL;
	size_t start;

	buf_putc(b, '[');
	start = b->len;
	if (pacs_elem_utf8(ds, e, &utf8) == 0) {
		buf_text(b, (const unsigned char *)utf8, strlen(utf8), false);
	} else {
		uint32_t len;
		const uint8_t *v = pacs_elem_value(e, &len);

		arca_error_clear();
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\0'))
			len--;
		buf_text(b, v, len, true);
	}
	free(utf8);
	if (!dump_full(c) && b->len + 1 > DUMP_LINE_LIMIT) {
		/* dcmdump: "[" + 66 characters + "..." (no closing bracket). */
		size_t cut = start + DUMP_LINE_LIMIT - 4;

		/* do not split a UTF-8 sequence */
		while (cut > start && ((unsigned char)b->p[cut] & 0xC0) == 0x80)
			cut--;
		b->len = cut;
		b->p[cut] = '\0';
		buf_puts(b, "...");
		return;
	}
	buf_putc(b, ']');
}

static uint64_t load_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = size; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

/* One binary number of vr at p (size bytes) formatted as dcmdump does:
 * integers in decimal, FL/OF with 9 and FD/OD with 17 significant digits
 * (enough to give back the same binary value), AT as (gggg,eeee). */
static void format_number(char *out, size_t size, pacs_vr vr, const uint8_t *p)
{
	switch (vr) {
	case PACS_VR_US: case PACS_VR_xs: case PACS_VR_lt:
		snprintf(out, size, "%u", (unsigned)load_le(p, 2));
		break;
	case PACS_VR_SS:
		snprintf(out, size, "%d", (int)(int16_t)load_le(p, 2));
		break;
	case PACS_VR_UL: case PACS_VR_OL: case PACS_VR_up:
		snprintf(out, size, "%" PRIu32, (uint32_t)load_le(p, 4));
		break;
	case PACS_VR_SL:
		snprintf(out, size, "%" PRId32, (int32_t)load_le(p, 4));
		break;
	case PACS_VR_UV: case PACS_VR_OV:
		snprintf(out, size, "%" PRIu64, load_le(p, 8));
		break;
	case PACS_VR_SV:
		snprintf(out, size, "%" PRId64, (int64_t)load_le(p, 8));
		break;
	case PACS_VR_FL: case PACS_VR_OF: {
		uint32_t bits = (uint32_t)load_le(p, 4);
		float f;

		memcpy(&f, &bits, sizeof(f));
		snprintf(out, size, "%.9g", (double)f);
		break;
	}
	case PACS_VR_FD: case PACS_VR_OD: {
		uint64_t bits = load_le(p, 8);
		double d;

		memcpy(&d, &bits, sizeof(d));
		snprintf(out, size, "%.17g", d);
		break;
	}
	case PACS_VR_AT:
		snprintf(out, size, "(%04x,%04x)", (unsigned)load_le(p, 2), (unsigned)load_le(p + 2, 2));
		break;
	default:
		snprintf(out, size, "?");
		break;
	}
}

/* Width in bytes of one number of a numeric VR, 0 if vr is not one. */
static unsigned number_width(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_US: case PACS_VR_SS: case PACS_VR_xs: case PACS_VR_lt:
		return 2;
	case PACS_VR_UL: case PACS_VR_SL: case PACS_VR_FL: case PACS_VR_AT:
	case PACS_VR_OF: case PACS_VR_OL: case PACS_VR_up:
		return 4;
	case PACS_VR_FD: case PACS_VR_SV: case PACS_VR_UV: case PACS_VR_OD: case PACS_VR_OV:
		return 8;
	default:
		return 0;
	}
}

/* Numbers separated by backslashes; shortened with "..." once the next
 * value would pass the line limit. A value whose length is not a multiple
 * of the number width gets its remaining bytes shown in hex. */
static void format_numbers(dump_ctx *c, const pacs_elem *e, unsigned width)
{
	dump_buf *b = &c->val;
	uint32_t len;
	const uint8_t *v = pacs_elem_value(e, &len);
	uint32_t count = len / width;
	char num[64];

	for (uint32_t i = 0; i < count; i++) {
		format_number(num, sizeof(num), pacs_elem_vr(e), v + (size_t)i * width);
		if (!dump_full(c) && b->len + (i > 0) + strlen(num) > DUMP_LINE_LIMIT - 4) {
			buf_puts(b, "...");
			return;
		}
		if (i > 0)
			buf_putc(b, '\\');
		buf_puts(b, num);
	}
	if (len % width != 0) {
		/* a malformed length: show what is left rather than hide it */
		buf_puts(b, count > 0 ? "\\" : "");
		buf_puts(b, "(trailing bytes");
		for (uint32_t i = count * width; i < len; i++) {
			char hx[4] = { ' ', hexdig[v[i] >> 4], hexdig[v[i] & 15], '\0' };
			buf_puts(b, hx);
		}
		buf_putc(b, ')');
	}
}

/* OB/UN bytes as "00\\01", OW words as "0000\\ffff" (the little-endian
 * value as held), streamed straight to the output because pixel data
 * printed in full can be large.  Returns the number of characters printed. */
static size_t print_hex(dump_ctx *c, const uint8_t *v, uint32_t len, unsigned word)
{
	uint64_t count, shown;
	size_t printed = 0;

	if (word == 2 && len % 2 != 0)
		word = 1; /* a malformed odd-length OW: show its bytes */
	count = len / word;
	shown = count;
	if (!dump_full(c) && count * (2 * word + 1) - 1 > DUMP_LINE_LIMIT)
		shown = (DUMP_LINE_LIMIT - 3 + 1) / (2 * word + 1);
	for (uint64_t i = 0; i < shown; i++) {
		if (i > 0) {
			fputc('\\', c->out);
			printed++;
		}
		if (word == 2) {
			fprintf(c->out, "%04x", (unsigned)load_le(v + i * 2, 2));
			printed += 4;
		} else {
			fputc(hexdig[v[i] >> 4], c->out);
			fputc(hexdig[v[i] & 15], c->out);
			printed += 2;
		}
	}
	if (shown < count) {
		fputs("...", c->out);
		printed += 3;
	}
	return printed;
}

/* ---- elements ---- */

/* Which elements of a data set dump_items() prints. */
enum dump_part {
	DUMP_ALL,      /* an item: everything */
	DUMP_META,     /* the root's group 0002 */
	DUMP_DATA_SET, /* the root without group 0002 */
};

static void dump_items(dump_ctx *c, const pacs_ds *ds, unsigned level, enum dump_part part);

static void dump_sequence(dump_ctx *c, const pacs_elem *e, unsigned level, const char *keyword)
{
	size_t n = pacs_elem_item_count(e);
	bool undefined = pacs_elem_length(e) == PACS_UNDEFINED_LENGTH ||
			 (pacs_elem_flags(e) & PACS_ELEM_UNDEF_LENGTH);
	char value[80];

	snprintf(value, sizeof(value), "(Sequence with %s length #=%zu)", undefined ? "undefined" : "explicit", n);
	line(c, level, pacs_elem_tag(e), "SQ", value, undefined, pacs_elem_length(e), 1, keyword);
	for (size_t i = 0; i < n; i++) {
		const pacs_ds *item = pacs_elem_item(e, i);
		uint32_t ilen = pacs_ds_item_length(item);
		bool iundef = ilen == PACS_UNDEFINED_LENGTH;

		snprintf(value, sizeof(value), "(Item with %s length #=%zu)", iundef ? "undefined" : "explicit",
			 pacs_ds_count(item));
		line(c, level + 1, PACS_TAG_ITEM, "na", value, iundef, ilen, 1, "Item");
		dump_items(c, item, level + 2, DUMP_ALL);
		line(c, level + 1, PACS_TAG_ITEM_DELIM, "na",
		     iundef ? "(ItemDelimitationItem)" : "(ItemDelimitationItem for re-encoding)", false, 0, 0,
		     "ItemDelimitationItem");
	}
	line(c, level, PACS_TAG_SEQ_DELIM, "na",
	     undefined ? "(SequenceDelimitationItem)" : "(SequenceDelimitationItem for re-encod.)", false, 0, 0,
	     "SequenceDelimitationItem");
}

/* Encapsulated pixel data (PS3.5 A.4): the fragments as items of a pixel
 * sequence, the first being the Basic Offset Table. */
static void dump_pixel_sequence(dump_ctx *c, const pacs_elem *e, unsigned level, const char *keyword)
{
	size_t n = pacs_elem_fragment_count(e);
	char value[64];

	snprintf(value, sizeof(value), "(PixelSequence #=%zu)", n);
	line(c, level, pacs_elem_tag(e), pacs_vr_name(pacs_elem_vr(e)), value, true, 0, 1, keyword);
	for (size_t i = 0; i < n; i++) {
		uint32_t flen;
		const uint8_t *f = pacs_elem_fragment(e, i, &flen);
		size_t printed;

		line_start(c, level + 1, PACS_TAG_ITEM, "pi");
		if (flen == 0) {
			fputs("(no value available)", c->out);
			printed = strlen("(no value available)");
		} else {
			printed = print_hex(c, f, flen, 1);
		}
		line_end(c, printed, false, flen, 1, "Item");
	}
	line(c, level, PACS_TAG_SEQ_DELIM, "na", "(SequenceDelimitationItem)", false, 0, 0, "SequenceDelimitationItem");
}

static void dump_elem(dump_ctx *c, const pacs_ds *ds, const pacs_elem *e, unsigned level)
{
	uint32_t tag = pacs_elem_tag(e);
	pacs_vr vr = pacs_elem_vr(e);
	unsigned flags = pacs_elem_flags(e);
	uint32_t length = pacs_elem_length(e);
	bool undefined = length == PACS_UNDEFINED_LENGTH;
	const char *vrname = pacs_vr_name(vr);
	char keyword[128];
	uint32_t vlen;
	const uint8_t *v;
	unsigned width;

	keyword_of(ds, tag, keyword, sizeof(keyword));
	if (vr == PACS_VR_SQ) {
		dump_sequence(c, e, level, keyword);
		return;
	}
	if (flags & PACS_ELEM_BULK) {
		/* held outside the data set (read with a bulk threshold) */
		line(c, level, tag, vrname, "(not loaded)", undefined, length, 1, keyword);
		return;
	}
	if (flags & PACS_ELEM_ENCAPSULATED) {
		dump_pixel_sequence(c, e, level, keyword);
		return;
	}
	v = pacs_elem_value(e, &vlen);
	if (vlen == 0) {
		line(c, level, tag, vrname, "(no value available)", false, 0, 0, keyword);
		return;
	}
	width = number_width(vr);
	if (width == 0 && !pacs_vr_is_string(vr)) {
		/* OB, OW, UN and pseudo VRs the reader could not resolve */
		unsigned word = pacs_vr_swap_unit(vr) == 2 ? 2 : 1;
		size_t printed;

		line_start(c, level, tag, vrname);
		printed = print_hex(c, v, vlen, word);
		line_end(c, printed, false, length, 1, keyword);
		return;
	}
	buf_reset(&c->val);
	if (width != 0)
		format_numbers(c, e, width);
	else
		format_string(c, ds, e);
	line(c, level, tag, vrname, c->val.failed ? "(out of memory)" : c->val.p, false, length,
	     pacs_elem_vm(e), keyword);
}

/* The elements of ds in the order they were read. */
static void dump_items(dump_ctx *c, const pacs_ds *ds, unsigned level, enum dump_part part)
{
	size_t n = pacs_ds_count(ds);

	for (size_t i = 0; i < n; i++) {
		const pacs_elem *e = pacs_ds_at(ds, i);
		bool meta = PACS_TAG_GROUP(pacs_elem_tag(e)) == 0x0002;

		if ((part == DUMP_META && !meta) || (part == DUMP_DATA_SET && meta))
			continue;
		dump_elem(c, ds, e, level);
	}
}

static const char *ts_name(const pacs_ds *ds)
{
	const char *uid = pacs_ds_source_ts(ds);
	const pacs_ts_info *ts;

	if (uid == NULL || uid[0] == '\0')
		return "unknown";
	ts = pacs_ts_lookup(uid);
	return ts != NULL ? ts->name : uid;
}

int pacs_dump(const pacs_ds *ds, FILE *out, unsigned flags)
{
	dump_ctx c = { .out = out, .flags = flags };
	bool has_meta = false;
	int rc = 0;

	if (ds == NULL || out == NULL)
		return arca_error_set(ARCA_EINVAL, "pacs_dump: no data set or no output");
	for (size_t i = 0; i < pacs_ds_count(ds); i++)
		if (PACS_TAG_GROUP(pacs_elem_tag(pacs_ds_at(ds, i))) == 0x0002)
			has_meta = true;
	if (has_meta && !(flags & PACS_DUMP_NO_META)) {
		/* PS3.10 7.1: the File Meta Information is always explicit VR little endian. */
		fputs("\n# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n"
		      "# Used TransferSyntax: Explicit VR Little Endian\n", out);
		dump_items(&c, ds, 0, DUMP_META);
	}
	fprintf(out, "\n# Dicom-Data-Set\n# Used TransferSyntax: %s\n", ts_name(ds));
	dump_items(&c, ds, 0, DUMP_DATA_SET);
	free(c.val.p);
	if (c.val.failed)
		rc = arca_error_set(ARCA_ENOMEM, "out of memory formatting a value");
	if (fflush(out) != 0 || ferror(out))
		rc = arca_error_set(ARCA_EIO, "writing the listing failed");
	return rc;
}
