/* pacs_read_parse.c - the reader's element state machine: element headers
 * (PS3.5 7.1), sequences and items (7.5), encapsulated pixel data (A.4),
 * over a byte stream that arrives in pieces of any size.
 *
 * Speed matters here (the archive parses every instance it receives), so:
 * a header that lies whole inside the current input piece is decoded in
 * place, and only a header cut by a piece boundary is copied to the small
 * `stage` buffer; a held value is allocated once in the data set's arena
 * at its final size (after the limit checks) and filled as bytes arrive;
 * the explicit VR path never consults the dictionary.
 *
 * Nesting lives in r->frames (an array capped by max_depth), never on the
 * C stack. */
#include "pacs_read_priv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_cursor.h"
#include "pacs_dict.h"

#define TAG_PIXEL_REPRESENTATION PACS_TAG(0x0028, 0x0103)
#define TAG_META_GROUP_LENGTH PACS_TAG(0x0002, 0x0000)

/* One decoded header. */
typedef struct hdr {
	uint32_t tag;
	uint32_t len;
	pacs_vr vr;       /* Explicit VR as read; NONE in Implicit VR or for items */
	uint8_t size;     /* bytes of the header: 8 or 12 */
	bool unknown_vr;  /* Explicit VR letters that name no VR */
} hdr;

/* PS3.5 7.1.2: VRs whose Explicit VR header has 2 reserved bytes and a
 * 32-bit length. */
/* pacs_vr_is_bulk as a table, for the per-element path. */
static const bool bulk_vr[PACS_VR_COUNT] = {
	[PACS_VR_OB] = true, [PACS_VR_OD] = true, [PACS_VR_OF] = true,
	[PACS_VR_OL] = true, [PACS_VR_OV] = true, [PACS_VR_OW] = true,
	[PACS_VR_UN] = true, [PACS_VR_ox] = true, [PACS_VR_px] = true,
};

static const bool long_length[PACS_VR_COUNT] = {
	[PACS_VR_OB] = true, [PACS_VR_OD] = true, [PACS_VR_OF] = true,
	[PACS_VR_OL] = true, [PACS_VR_OV] = true, [PACS_VR_OW] = true,
	[PACS_VR_SQ] = true, [PACS_VR_SV] = true, [PACS_VR_UC] = true,
	[PACS_VR_UN] = true, [PACS_VR_UR] = true, [PACS_VR_UT] = true,
	[PACS_VR_UV] = true,
};

__attribute__((format(printf, 5, 6)))
static int fail(pacs_reader *r, int code, uint64_t offset, uint32_t tag, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	(void)r;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return arca_error_set(code, "offset %" PRIu64 ": (%04X,%04X): %s", offset,
			      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), what);
}

static pacs_read__frame *top(pacs_reader *r)
{
	return &r->frames[r->nframes - 1];
}

static int push(pacs_reader *r, const pacs_read__frame *nf)
{
	if (r->nframes == r->cap_frames) {
		uint32_t ncap = r->cap_frames ? r->cap_frames * 2 : 16;
		pacs_read__frame *grown = realloc(r->frames, (size_t)ncap * sizeof(*grown));
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory for sequence nesting");
		r->frames = grown;
		r->cap_frames = ncap;
	}
	r->frames[r->nframes++] = *nf;
	return 0;
}

int pacs_read__parse_init(pacs_reader *r, enum pacs_read__enc enc)
{
	pacs_read__frame f = {
		.kind = PACS_READ__F_DATASET, .enc = (uint8_t)enc, .end = PACS_READ__NO_END,
		.limit = PACS_READ__NO_END, .ds = r->root,
	};

	r->st = PACS_READ__HEADER;
	r->nframes = 0;
	return push(r, &f);
}

void pacs_read__parse_set_enc(pacs_reader *r, enum pacs_read__enc enc)
{
	r->frames[0].enc = (uint8_t)enc;
}

void pacs_read__parse_free(pacs_reader *r)
{
	free(r->frames);
	r->frames = NULL;
	free(r->swapbuf);
	r->swapbuf = NULL;
}

/* Pops the frames whose defined length has been read completely (an
 * item, then perhaps its sequence, then perhaps the enclosing item ...). */
static inline void close_frames(pacs_reader *r)
{
	while (r->nframes > 1) {
		pacs_read__frame *f = top(r);
		if (f->end == PACS_READ__NO_END || r->pos < f->end)
			break;
		if (f->kind == PACS_READ__F_SEQ)
			r->depth--;
		r->nframes--;
	}
}

/* Appends an element, charging the data set's bookkeeping to max_total so
 * a flood of empty elements cannot grow memory without bound. */
static pacs_elem *append(pacs_reader *r, pacs_ds *ds, uint32_t tag, pacs_vr vr, int *rc)
{
	pacs_elem *e;

	if (r->arena->used_total > r->opts.max_total) {
		*rc = fail(r, ARCA_ELIMIT, r->pos, tag,
			   "data set exceeds %" PRIu64 " bytes in memory (max_total)", r->opts.max_total);
		return NULL;
	}
	e = pacs_ds__append(ds, tag, vr);
	if (e == NULL) {
		*rc = fail(r, ARCA_ENOMEM, r->pos, tag, "out of memory");
		return NULL;
	}
	e->offset = r->pos;
	return e;
}

/* ---- header decoding ---- */

/* Decodes the header at the cursor.  False when more bytes are needed:
 * h->size is then the number of bytes known to be needed (8 or 12). */
static bool decode_header(enum pacs_read__enc enc, pacs_cursor c, hdr *h)
{
	bool be = enc == PACS_READ__EXPLICIT_BE;
	uint16_t g, e, l16;
	uint8_t v0, v1, r0, r1;

	h->size = 8;
	h->vr = PACS_VR_NONE;
	h->unknown_vr = false;
	if (!pacs_cursor_u16(&c, be, &g) || !pacs_cursor_u16(&c, be, &e))
		return false;
	h->tag = PACS_TAG(g, e);
	/* PS3.5 7.5: items and delimiters have no VR in any encoding. */
	if (g == 0xFFFE || enc == PACS_READ__IMPLICIT_LE)
		return pacs_cursor_u32(&c, be, &h->len);
	if (!pacs_cursor_u8(&c, &v0) || !pacs_cursor_u8(&c, &v1))
		return false;
	h->vr = pacs_read__vr_from_chars(v0, v1);
	if (h->vr == PACS_VR_NONE) {
		/* Letters that name no VR (GH179A writes "  "): a 32-bit
		 * length if the two reserved bytes are zero, else the short
		 * form, which is what such writers meant. */
		h->unknown_vr = true;
		if (!pacs_cursor_peek_u8(&c, 0, &r0) || !pacs_cursor_peek_u8(&c, 1, &r1))
			return false;
		if ((r0 | r1) != 0) {
			if (!pacs_cursor_u16(&c, be, &l16))
				return false;
			h->len = l16;
			return true;
		}
	} else if (!long_length[h->vr]) {
		if (!pacs_cursor_u16(&c, be, &l16))
			return false;
		h->len = l16;
		return true;
	}
	h->size = 12;
	return pacs_cursor_skip(&c, 2) && pacs_cursor_u32(&c, be, &h->len);
}

/* ---- Implicit VR (PS3.5 7.1.3, Annex A.1) ---- */

/* Binary search over the elements read so far.  A stream out of tag order
 * may hide an element from it; that only costs a dictionary VR (UN), and
 * unlike pacs_ds_find it never falls back to a linear scan, which a flood
 * of private elements without creator would turn quadratic. */
static const pacs_elem *find_sorted(const pacs_ds *ds, uint32_t tag)
{
	uint32_t lo = 0, hi = ds->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ds->elems[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ds->n && ds->elems[lo].tag == tag ? &ds->elems[lo] : NULL;
}

static const pacs_elem *find_up(const pacs_ds *ds, uint32_t tag)
{
	for (; ds != NULL; ds = pacs_ds_parent(ds)) {
		const pacs_elem *e = find_sorted(ds, tag);
		if (e != NULL)
			return e;
	}
	return NULL;
}

/* xs: US or SS by the Pixel Representation in force (PS3.3 C.7.6.3.1.x,
 * 0 unsigned, 1 two's complement); US when none has been read. */
static pacs_vr resolve_xs(const pacs_ds *ds)
{
	const pacs_elem *e = find_up(ds, TAG_PIXEL_REPRESENTATION);
	uint32_t len;
	const uint8_t *v;

	if (e == NULL || (v = pacs_elem_value(e, &len)) == NULL || len < 2)
		return PACS_VR_US;
	return (v[0] | v[1] << 8) == 1 ? PACS_VR_SS : PACS_VR_US;
}

static pacs_vr resolve_pseudo(pacs_vr vr, const pacs_ds *ds)
{
	switch (vr) {
	case PACS_VR_xs:
		return resolve_xs(ds);
	case PACS_VR_ox: case PACS_VR_px: case PACS_VR_lt:
		/* PS3.5 A.1: in Implicit VR, pixel data (and by extension
		 * the OB-or-OW and LUT data elements) is OW. */
		return PACS_VR_OW;
	case PACS_VR_up:
		return PACS_VR_UL;
	case PACS_VR_na: case PACS_VR_NONE:
		return PACS_VR_UN;
	default:
		return vr;
	}
}

static pacs_vr private_vr(const pacs_ds *ds, uint32_t tag)
{
	uint16_t g = PACS_TAG_GROUP(tag), el = PACS_TAG_ELEMENT(tag);
	const pacs_dict_entry *de;
	const pacs_elem *ce;
	const uint8_t *cv;
	uint32_t clen;

	if (el == 0x0000)
		return PACS_VR_UL; /* group length (PS3.5 7.2) */
	if (el < 0x0010)
		return PACS_VR_UN;
	if (el <= 0x00FF)
		return PACS_VR_LO; /* private creator (PS3.5 7.8.1) */
	ce = find_sorted(ds, PACS_TAG(g, el >> 8));
	if (ce == NULL || (cv = pacs_elem_value(ce, &clen)) == NULL)
		return PACS_VR_UN;
	while (clen > 0 && (cv[clen - 1] == ' ' || cv[clen - 1] == '\0'))
		clen--;
	de = pacs_dict_lookup_private(tag, (const char *)cv, clen);
	return de != NULL ? resolve_pseudo(de->vr, ds) : PACS_VR_UN;
}

static pacs_vr implicit_vr(const pacs_ds *ds, uint32_t tag)
{
	const pacs_dict_entry *de;

	if (PACS_TAG_IS_PRIVATE(tag))
		return private_vr(ds, tag);
	if (PACS_TAG_ELEMENT(tag) == 0x0000)
		return PACS_VR_UL;
	de = pacs_dict_lookup(tag);
	return de != NULL ? resolve_pseudo(de->vr, ds) : PACS_VR_UN;
}

/* ---- bulk delivery ---- */

static int emit(pacs_reader *r, enum pacs_bulk_kind kind, const uint8_t *data, size_t n)
{
	int rc;

	r->ev.kind = kind;
	r->ev.data = data;
	r->ev.data_len = n;
	r->ev.value_offset = r->delivered;
	rc = r->opts.bulk_fn(r->opts.bulk_ctx, &r->ev);
	if (rc < 0)
		return arca_error_prefix(rc, "offset %" PRIu64 ": (%04X,%04X): bulk callback",
					 r->ev.stream_offset, PACS_TAG_GROUP(r->ev.tag),
					 PACS_TAG_ELEMENT(r->ev.tag));
	if (kind == PACS_BULK_DATA)
		r->delivered += n;
	return 0;
}

static void swap_units(uint8_t *p, size_t n, unsigned unit)
{
	for (size_t i = 0; i + unit <= n; i += unit) {
		for (unsigned a = 0, b = unit - 1; a < b; a++, b--) {
			uint8_t t = p[i + a];
			p[i + a] = p[i + b];
			p[i + b] = t;
		}
	}
}

/* Hands a piece of a native value to bulk_fn; Big Endian values are
 * swapped unit by unit first, an incomplete unit carried to the next
 * piece. */
static int deliver(pacs_reader *r, const uint8_t *data, size_t n)
{
	unsigned unit = r->v.swap_unit;
	pacs_cursor c = pacs_cursor_make(data, n);
	const uint8_t *b = NULL;
	int rc;

	if (unit <= 1)
		return emit(r, PACS_BULK_DATA, data, n);
	if (r->swapbuf == NULL) {
		r->swapbuf = malloc(PACS_READ__SWAP_CHUNK);
		if (r->swapbuf == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory for byte swapping");
	}
	while (pacs_cursor_left(&c) > 0) {
		size_t out = 0, whole, left;

		if (r->carry_len > 0) {
			size_t k = unit - r->carry_len;
			if (k > pacs_cursor_left(&c))
				k = pacs_cursor_left(&c);
			pacs_cursor_take(&c, k, &b);
			memcpy(r->carry + r->carry_len, b, k);
			r->carry_len += k;
			if (r->carry_len < unit)
				break;
			memcpy(r->swapbuf, r->carry, unit);
			out = unit;
			r->carry_len = 0;
		}
		left = pacs_cursor_left(&c);
		whole = (left < PACS_READ__SWAP_CHUNK - out ? left : PACS_READ__SWAP_CHUNK - out);
		whole -= whole % unit;
		if (whole > 0) {
			pacs_cursor_take(&c, whole, &b);
			memcpy(r->swapbuf + out, b, whole);
			out += whole;
		}
		if (out == 0) {
			left = pacs_cursor_left(&c);
			pacs_cursor_take(&c, left, &b);
			memcpy(r->carry, b, left);
			r->carry_len = left;
			break;
		}
		swap_units(r->swapbuf, out, unit);
		rc = emit(r, PACS_BULK_DATA, r->swapbuf, out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void bulk_template(pacs_reader *r, const pacs_ds *parent, uint32_t tag, pacs_vr vr,
			  uint32_t length, uint64_t offset)
{
	memset(&r->ev, 0, sizeof(r->ev));
	r->ev.tag = tag;
	r->ev.vr = vr;
	r->ev.length = length;
	r->ev.parent = parent;
	r->ev.stream_offset = offset;
	r->delivered = 0;
	r->carry_len = 0;
}

/* ---- values ---- */

static int value_done(pacs_reader *r)
{
	int rc;

	if (r->st == PACS_READ__VALUE && !r->v.fragment) {
		if (r->v.swap_unit > 1)
			swap_units(r->v.dst, r->v.len, r->v.swap_unit);
		if (r->meta && r->v.tag == TAG_META_GROUP_LENGTH && r->v.len == 4) {
			const uint8_t *d = r->v.dst;
			/* PS3.10 7.1: the group length counts the bytes
			 * after its own element. */
			r->meta_end = r->pos + ((uint32_t)d[0] | (uint32_t)d[1] << 8 |
						(uint32_t)d[2] << 16 | (uint32_t)d[3] << 24);
		}
	} else if (r->st == PACS_READ__BULK && !r->v.fragment) {
		if (r->carry_len > 0) {
			/* A length that is not a multiple of the unit: the
			 * odd tail bytes go out as read. */
			size_t n = r->carry_len;
			r->carry_len = 0;
			if ((rc = emit(r, PACS_BULK_DATA, r->carry, n)) < 0)
				return rc;
		}
		if ((rc = emit(r, PACS_BULK_END, NULL, 0)) < 0)
			return rc;
	}
	r->st = PACS_READ__HEADER;
	close_frames(r);
	return 0;
}

static int check_held(pacs_reader *r, uint32_t tag, uint32_t len)
{
	uint64_t used = r->arena->used_total;

	if (len > r->opts.max_value_length)
		return fail(r, ARCA_ELIMIT, r->pos, tag,
			    "value length %" PRIu32 " exceeds the limit of %" PRIu32 " bytes (max_value_length)",
			    len, r->opts.max_value_length);
	if (used + len > r->opts.max_total)
		return fail(r, ARCA_ELIMIT, r->pos, tag,
			    "held values would exceed %" PRIu64 " bytes (max_total)", r->opts.max_total);
	return 0;
}

static uint8_t *value_buffer(pacs_reader *r, uint32_t len)
{
	if (len > 0)
		return pacs_arena__alloc(r->arena, len);
	if (r->empty_value == NULL)
		r->empty_value = pacs_arena__alloc(r->arena, 1);
	return r->empty_value;
}

static int begin_value(pacs_reader *r, pacs_read__frame *f, const hdr *h, pacs_vr vr, unsigned flags)
{
	uint32_t len = h->len;
	bool bulk = r->opts.bulk_threshold > 0 && len >= r->opts.bulk_threshold &&
		    (unsigned)vr < PACS_VR_COUNT && bulk_vr[vr];
	pacs_elem *e;
	int rc = 0;

	if (!bulk && (rc = check_held(r, h->tag, len)) < 0)
		return rc;
	if ((e = append(r, f->ds, h->tag, vr, &rc)) == NULL)
		return rc;
	e->length = len;
	e->flags = (uint8_t)flags;
	memset(&r->v, 0, sizeof(r->v));
	r->v.tag = h->tag;
	r->v.vr = vr;
	r->v.len = len;
	r->v.offset = r->pos;
	if (f->enc == PACS_READ__EXPLICIT_BE)
		r->v.swap_unit = pacs_vr_swap_unit(vr);
	if (bulk) {
		e->flags |= PACS_ELEM_BULK;
		if (r->opts.bulk_fn != NULL) {
			bulk_template(r, f->ds, h->tag, vr, len, r->pos);
			r->pos += h->size;
			r->st = PACS_READ__BULK;
			return emit(r, PACS_BULK_BEGIN, NULL, 0);
		}
		r->pos += h->size;
		r->st = PACS_READ__SKIP;
		return 0;
	}
	r->v.dst = value_buffer(r, len);
	if (r->v.dst == NULL)
		return fail(r, ARCA_ENOMEM, r->pos, h->tag, "out of memory for a value of %" PRIu32 " bytes", len);
	e->u.value = r->v.dst;
	r->pos += h->size;
	r->st = PACS_READ__VALUE;
	if (len == 0)
		return value_done(r);
	return 0;
}

/* ---- containers ---- */

/* A sequence or item whose defined length runs past the end of what
 * encloses it ends there instead.  Writers that delete elements from an
 * item without fixing its length produce this (pydicom's
 * DICOMDIR-nooffset: the last directory record claims 24 bytes more than
 * its sequence holds); the elements themselves are still checked against
 * the end, so nothing is read from outside the container. */
static uint64_t clamp_end(uint64_t end, uint64_t limit)
{
	return end > limit ? limit : end;
}

static int begin_sequence(pacs_reader *r, pacs_read__frame *f, const hdr *h, unsigned flags,
			  enum pacs_read__enc enc)
{
	pacs_read__frame nf = { .kind = PACS_READ__F_SEQ, .enc = (uint8_t)enc, .tag = h->tag };
	pacs_elem *e;
	int rc = 0;

	if (r->depth >= r->opts.max_depth)
		return fail(r, ARCA_ELIMIT, r->pos, h->tag,
			    "sequences nested deeper than %" PRIu32 " levels (max_depth)", r->opts.max_depth);
	if ((e = append(r, f->ds, h->tag, PACS_VR_SQ, &rc)) == NULL)
		return rc;
	e->length = h->len;
	e->flags = (uint8_t)flags;
	nf.ds = f->ds;
	nf.elem = f->ds->n - 1;
	nf.start = r->pos;
	if (h->len == PACS_UNDEFINED_LENGTH) {
		e->flags |= PACS_ELEM_UNDEF_LENGTH;
		nf.end = PACS_READ__NO_END;
		nf.limit = f->limit;
	} else {
		nf.end = clamp_end(r->pos + h->size + h->len, f->limit);
		nf.limit = nf.end;
	}
	if ((rc = push(r, &nf)) < 0) /* f is invalid from here */
		return rc;
	r->depth++;
	r->pos += h->size;
	close_frames(r);
	return 0;
}

static int begin_encapsulated(pacs_reader *r, pacs_read__frame *f, const hdr *h, pacs_vr vr,
			      unsigned flags)
{
	pacs_read__frame nf = { .kind = PACS_READ__F_ENCAP, .enc = f->enc, .tag = h->tag,
				.end = PACS_READ__NO_END, .limit = f->limit };
	pacs_ds *ds = f->ds;
	pacs_elem *e;
	int rc = 0;

	nf.bulk = r->opts.bulk_threshold > 0;
	if ((e = append(r, ds, h->tag, vr, &rc)) == NULL)
		return rc;
	e->length = PACS_UNDEFINED_LENGTH;
	e->flags = (uint8_t)(flags | PACS_ELEM_ENCAPSULATED | PACS_ELEM_UNDEF_LENGTH |
			     (nf.bulk ? PACS_ELEM_BULK : 0));
	nf.ds = ds;
	nf.elem = ds->n - 1;
	nf.start = r->pos;
	if ((rc = push(r, &nf)) < 0)
		return rc;
	if (nf.bulk && r->opts.bulk_fn != NULL) {
		bulk_template(r, ds, h->tag, vr, PACS_UNDEFINED_LENGTH, r->pos);
		if ((rc = emit(r, PACS_BULK_BEGIN, NULL, 0)) < 0)
			return rc;
	}
	r->pos += h->size;
	return 0;
}

static bool is_pixel_data(uint32_t tag)
{
	/* (7FE0,0008) Float, (7FE0,0009) Double Float, (7FE0,0010) Pixel Data. */
	return tag == PACS_TAG_PIXEL_DATA || tag == PACS_TAG(0x7FE0, 0x0008) ||
	       tag == PACS_TAG(0x7FE0, 0x0009);
}

static int on_delimiter_in_item(pacs_reader *r, pacs_read__frame *f, const hdr *h)
{
	if (h->tag == PACS_TAG_ITEM_DELIM) {
		if (f->kind == PACS_READ__F_ITEM && f->end == PACS_READ__NO_END) {
			/* PS3.5 7.5.2: closes an item of undefined length. */
			r->pos += h->size;
			r->nframes--;
			close_frames(r);
			return 0;
		}
		return fail(r, ARCA_EPROTO, r->pos, h->tag,
			    "item delimitation item outside an item of undefined length");
	}
	if (h->tag == PACS_TAG_SEQ_DELIM)
		return fail(r, ARCA_EPROTO, r->pos, h->tag,
			    "sequence delimitation item where a data element should be");
	if (h->tag == PACS_TAG_ITEM)
		return fail(r, ARCA_EPROTO, r->pos, h->tag, "item tag where a data element should be");
	return fail(r, ARCA_EPROTO, r->pos, h->tag, "group FFFE is reserved for items and delimiters");
}

static int on_element(pacs_reader *r, pacs_read__frame *f, const hdr *h)
{
	pacs_vr vr;
	unsigned flags = 0;

	if (PACS_TAG_GROUP(h->tag) == 0xFFFE)
		return on_delimiter_in_item(r, f, h);
	if (f->enc == PACS_READ__IMPLICIT_LE) {
		vr = implicit_vr(f->ds, h->tag);
		flags = PACS_ELEM_IMPLICIT_VR;
	} else if (!h->unknown_vr) {
		vr = h->vr;
	} else if (h->size == 8) {
		/* Unknown letters with a 16-bit length: the dictionary's VR
		 * (never SQ: a sequence cannot have a 16-bit length). */
		vr = implicit_vr(f->ds, h->tag);
		if (vr == PACS_VR_SQ)
			vr = PACS_VR_UN;
		flags = PACS_ELEM_IMPLICIT_VR;
	} else {
		vr = PACS_VR_UN;
	}
	if (r->nframes == 1 && r->opts.stop_at_pixel_data && !r->meta && is_pixel_data(h->tag))
		return PACS_READ__STOPPED;

	if (h->len == PACS_UNDEFINED_LENGTH) {
		if (vr == PACS_VR_SQ)
			return begin_sequence(r, f, h, flags, (enum pacs_read__enc)f->enc);
		/* PS3.5 A.4: pixel data of undefined length is encapsulated. */
		if (h->tag == PACS_TAG_PIXEL_DATA ||
		    (f->enc != PACS_READ__IMPLICIT_LE && (vr == PACS_VR_OB || vr == PACS_VR_OW)))
			return begin_encapsulated(r, f, h,
						  f->enc == PACS_READ__IMPLICIT_LE || vr == PACS_VR_UN
							  ? PACS_VR_OB : vr, flags);
		/* PS3.5 6.2.2 note: UN of undefined length is a sequence in
		 * Implicit VR Little Endian; in Implicit VR any element of
		 * undefined length (other than pixel data) is a sequence. */
		if (vr == PACS_VR_UN || f->enc == PACS_READ__IMPLICIT_LE)
			return begin_sequence(r, f, h, flags, PACS_READ__IMPLICIT_LE);
		return fail(r, ARCA_EPROTO, r->pos, h->tag, "undefined length is not allowed for VR %s",
			    pacs_vr_name(vr));
	}
	if (vr == PACS_VR_SQ)
		return begin_sequence(r, f, h, flags, (enum pacs_read__enc)f->enc);
	if (f->limit != PACS_READ__NO_END && (uint64_t)h->len > f->limit - r->pos - h->size)
		return fail(r, ARCA_EPROTO, r->pos, h->tag,
			    "value of length %" PRIu32 " crosses the end of the enclosing item at offset %" PRIu64,
			    h->len, f->limit);
	return begin_value(r, f, h, vr, flags);
}

static int on_seq_header(pacs_reader *r, pacs_read__frame *f, const hdr *h)
{
	if (h->tag == PACS_TAG_ITEM) {
		pacs_read__frame nf = { .kind = PACS_READ__F_ITEM, .enc = f->enc, .start = r->pos };
		pacs_ds *item;
		int rc;

		if (h->len == PACS_UNDEFINED_LENGTH) {
			nf.end = PACS_READ__NO_END;
			nf.limit = f->limit;
		} else {
			nf.end = clamp_end(r->pos + h->size + h->len, f->limit);
			nf.limit = nf.end;
		}
		if (r->arena->used_total > r->opts.max_total)
			return fail(r, ARCA_ELIMIT, r->pos, f->tag,
				    "data set exceeds %" PRIu64 " bytes in memory (max_total)", r->opts.max_total);
		item = pacs_ds__new_item(f->ds, &f->ds->elems[f->elem]);
		if (item == NULL)
			return fail(r, ARCA_ENOMEM, r->pos, f->tag, "out of memory for an item");
		item->offset = r->pos;
		pacs_ds_set_item_length(item, h->len);
		nf.ds = item;
		r->pos += h->size;
		if ((rc = push(r, &nf)) < 0)
			return rc;
		close_frames(r);
		return 0;
	}
	if (h->tag == PACS_TAG_SEQ_DELIM && f->end == PACS_READ__NO_END) {
		/* PS3.5 7.5.2: closes a sequence of undefined length. */
		r->pos += h->size;
		r->nframes--;
		r->depth--;
		close_frames(r);
		return 0;
	}
	if (h->tag == PACS_TAG_SEQ_DELIM)
		return fail(r, ARCA_EPROTO, r->pos, f->tag,
			    "sequence delimitation item in a sequence of defined length");
	return fail(r, ARCA_EPROTO, r->pos, f->tag, "found (%04X,%04X) where an item should be",
		    PACS_TAG_GROUP(h->tag), PACS_TAG_ELEMENT(h->tag));
}

/* PS3.5 A.4: encapsulated pixel data is a sequence of items without VR,
 * each of defined length: first the Basic Offset Table, then fragments,
 * ended by a sequence delimitation item. */
static int on_encap_header(pacs_reader *r, pacs_read__frame *f, const hdr *h)
{
	pacs_elem *e = &f->ds->elems[f->elem];
	int rc;

	if (h->tag == PACS_TAG_SEQ_DELIM) {
		r->pos += h->size;
		if (f->bulk && r->opts.bulk_fn != NULL && (rc = emit(r, PACS_BULK_END, NULL, 0)) < 0)
			return rc;
		r->nframes--;
		close_frames(r);
		return 0;
	}
	if (h->tag != PACS_TAG_ITEM)
		return fail(r, ARCA_EPROTO, r->pos, f->tag,
			    "found (%04X,%04X) where an item of encapsulated pixel data should be",
			    PACS_TAG_GROUP(h->tag), PACS_TAG_ELEMENT(h->tag));
	if (h->len == PACS_UNDEFINED_LENGTH)
		return fail(r, ARCA_EPROTO, r->pos, f->tag, "pixel data fragment of undefined length");
	if (f->limit != PACS_READ__NO_END && (uint64_t)h->len > f->limit - r->pos - h->size)
		return fail(r, ARCA_EPROTO, r->pos, f->tag,
			    "fragment of length %" PRIu32 " crosses the end of the enclosing item at offset %" PRIu64,
			    h->len, f->limit);
	memset(&r->v, 0, sizeof(r->v));
	r->v.tag = f->tag;
	r->v.vr = e->vr;
	r->v.len = h->len;
	r->v.offset = r->pos;
	r->v.fragment = true;
	r->v.fragment_index = f->nfrag++;
	if (f->bulk) {
		r->pos += h->size;
		if (r->opts.bulk_fn == NULL) {
			r->st = PACS_READ__SKIP;
		} else {
			r->st = PACS_READ__BULK;
			r->delivered = 0;
			r->ev.fragment_index = r->v.fragment_index;
			r->ev.fragment_length = h->len;
			if ((rc = emit(r, PACS_BULK_FRAGMENT, NULL, 0)) < 0)
				return rc;
		}
	} else {
		if ((rc = check_held(r, f->tag, h->len)) < 0)
			return rc;
		r->v.dst = value_buffer(r, h->len);
		if (r->v.dst == NULL)
			return fail(r, ARCA_ENOMEM, r->pos, f->tag, "out of memory for a fragment");
		if ((rc = pacs_ds__add_fragment_ref(f->ds, e, r->v.dst, h->len, r->pos)) < 0)
			return rc;
		r->pos += h->size;
		r->st = PACS_READ__VALUE;
	}
	if (h->len == 0)
		return value_done(r);
	return 0;
}

static int on_header(pacs_reader *r, const hdr *h)
{
	pacs_read__frame *f = top(r);

	if (f->limit != PACS_READ__NO_END && h->size > f->limit - r->pos)
		return fail(r, ARCA_EPROTO, r->pos, h->tag,
			    "header crosses the end of the enclosing item at offset %" PRIu64, f->limit);
	switch (f->kind) {
	case PACS_READ__F_SEQ:
		return on_seq_header(r, f, h);
	case PACS_READ__F_ENCAP:
		return on_encap_header(r, f, h);
	default:
		return on_element(r, f, h);
	}
}

/* ---- the byte loop ---- */

static bool meta_ts_deflated(const pacs_reader *r)
{
	const pacs_elem *e = pacs_ds_find(r->root, PACS_TAG_TRANSFER_SYNTAX);
	const pacs_ts_info *ts;
	const uint8_t *v;
	uint32_t len;

	if (e == NULL || (v = pacs_elem_value(e, &len)) == NULL)
		return false;
	ts = pacs_ts_lookup_n((const char *)v, len);
	return ts != NULL && ts->deflated;
}

/* PS3.10 7.1: the meta group ends where group 0002 ends.  Its group length
 * is trusted only where the group number cannot be looked at (a deflated
 * data set follows); elsewhere a missing or wrong length is tolerated. */
static bool meta_ends_here(const pacs_reader *r, pacs_cursor hc)
{
	uint16_t g;

	if (r->meta_end != 0 && r->pos == r->meta_end && meta_ts_deflated(r))
		return true;
	/* Fewer than 2 bytes: not known yet. */
	return pacs_cursor_u16le(&hc, &g) && g != 0x0002;
}

static int step_header(pacs_reader *r, pacs_cursor *c)
{
	enum pacs_read__enc enc = (enum pacs_read__enc)top(r)->enc;
	bool in_meta = r->meta && r->nframes == 1;
	const uint8_t *b = NULL;
	hdr h;

	for (;;) {
		pacs_cursor hc = r->stage_len > 0 ? pacs_cursor_make(r->stage, r->stage_len) : *c;
		size_t need, k;

		if (in_meta && meta_ends_here(r, hc)) {
			memcpy(r->replay, r->stage, r->stage_len);
			r->replay_len = r->stage_len;
			r->stage_len = 0;
			return PACS_READ__META_END;
		}
		if (decode_header(enc, hc, &h))
			break;
		/* Cut by the end of this piece: stage what there is, and
		 * look again as soon as the stage holds the bytes asked for
		 * (in the meta group, the 2 bytes of the group number first). */
		need = h.size;
		if (in_meta && r->stage_len < 2)
			need = 2;
		k = need - r->stage_len;
		if (k > pacs_cursor_left(c))
			k = pacs_cursor_left(c);
		pacs_cursor_take(c, k, &b);
		memcpy(r->stage + r->stage_len, b, k);
		r->stage_len += k;
		if (r->stage_len < need)
			return 0;
	}
	if (r->stage_len > 0)
		r->stage_len = 0;
	else
		pacs_cursor_skip(c, h.size);
	return on_header(r, &h);
}

static int step_value(pacs_reader *r, pacs_cursor *c)
{
	size_t k = r->v.len - r->v.got;
	const uint8_t *b = NULL;

	if (k > pacs_cursor_left(c))
		k = pacs_cursor_left(c);
	pacs_cursor_take(c, k, &b);
	memcpy(r->v.dst + r->v.got, b, k);
	r->v.got += (uint32_t)k;
	r->pos += k;
	return r->v.got == r->v.len ? value_done(r) : 0;
}

static int step_bulk(pacs_reader *r, pacs_cursor *c)
{
	size_t k = r->v.len - r->v.got;
	const uint8_t *b = NULL;
	int rc;

	if (k > pacs_cursor_left(c))
		k = pacs_cursor_left(c);
	pacs_cursor_take(c, k, &b);
	r->v.got += (uint32_t)k;
	r->pos += k;
	if ((rc = deliver(r, b, k)) < 0)
		return rc;
	return r->v.got == r->v.len ? value_done(r) : 0;
}

static int step_skip(pacs_reader *r, pacs_cursor *c)
{
	size_t k = r->v.len - r->v.got;

	if (k > pacs_cursor_left(c))
		k = pacs_cursor_left(c);
	pacs_cursor_skip(c, k);
	r->v.got += (uint32_t)k;
	r->pos += k;
	return r->v.got == r->v.len ? value_done(r) : 0;
}

int pacs_read__parse(pacs_reader *r, const uint8_t *data, size_t len, size_t *used)
{
	pacs_cursor c = pacs_cursor_make(data, len);
	int rc = 0;

	while (rc == 0 && pacs_cursor_left(&c) > 0) {
		switch (r->st) {
		case PACS_READ__HEADER:
			rc = step_header(r, &c);
			break;
		case PACS_READ__VALUE:
			rc = step_value(r, &c);
			break;
		case PACS_READ__BULK:
			rc = step_bulk(r, &c);
			break;
		case PACS_READ__SKIP:
			rc = step_skip(r, &c);
			break;
		}
	}
	*used = len - pacs_cursor_left(&c);
	return rc;
}

static const char *frame_name(const pacs_read__frame *f)
{
	switch (f->kind) {
	case PACS_READ__F_SEQ: return "sequence";
	case PACS_READ__F_ITEM: return "item";
	case PACS_READ__F_ENCAP: return "encapsulated pixel data";
	default: return "data set";
	}
}

int pacs_read__parse_finish(pacs_reader *r)
{
	pacs_read__frame *f;
	int rc;

	if (r->stage_len > 0)
		return arca_error_set(ARCA_ETRUNCATED,
				      "offset %" PRIu64 ": input ends inside an element header (%zu bytes of it read)",
				      r->pos, r->stage_len);
	if (r->st != PACS_READ__HEADER)
		return fail(r, ARCA_ETRUNCATED, r->v.offset, r->v.tag,
			    "input ends inside a %s of %" PRIu32 " bytes (%" PRIu32 " read)",
			    r->v.fragment ? "pixel data fragment" : "value", r->v.len, r->v.got);
	if (r->nframes == 2 && top(r)->kind == PACS_READ__F_ENCAP) {
		/* The sequence delimitation item (PS3.5 A.4) is missing
		 * after the last whole fragment of top-level pixel data at the
		 * end of the input.  Writers do this (fo-dicom GH1339) and
		 * nothing is lost, so it is accepted. */
		f = top(r);
		if (f->bulk && r->opts.bulk_fn != NULL && (rc = emit(r, PACS_BULK_END, NULL, 0)) < 0)
			return rc;
		r->nframes--;
	}
	if (r->nframes > 1) {
		f = top(r);
		if (f->kind == PACS_READ__F_ITEM)
			return arca_error_set(ARCA_ETRUNCATED,
					      "offset %" PRIu64 ": input ends inside the %s that starts at offset %" PRIu64,
					      r->pos, frame_name(f), f->start);
		return fail(r, ARCA_ETRUNCATED, f->start, f->tag, "input ends inside this %s (at offset %" PRIu64 ")",
			    frame_name(f), r->pos);
	}
	return 0;
}

uint64_t pacs_read__parse_skippable(const pacs_reader *r)
{
	return r->st == PACS_READ__SKIP ? (uint64_t)(r->v.len - r->v.got) : 0;
}

int pacs_read__parse_skip(pacs_reader *r, uint64_t n)
{
	if (n > pacs_read__parse_skippable(r))
		return arca_error_set(ARCA_EINVAL, "pacs_reader_skip: %" PRIu64 " bytes asked, %" PRIu64 " skippable",
				      n, pacs_read__parse_skippable(r));
	if (n == 0)
		return 0;
	r->v.got += (uint32_t)n;
	r->pos += n;
	return r->v.got == r->v.len ? value_done(r) : 0;
}
