/* pacs_write_ds.c - the data set encoder (PS3.5 7.1 data elements, 7.2
 * group length, 7.3 byte order, 7.5 nesting of data sets, A.4 encapsulated
 * pixel data) and the size pass behind every defined length it writes.
 *
 * Each element is first planned (what it becomes in the target encoding:
 * which VR, defined or undefined length, swapped or not), and both the
 * size pass and the writer follow the plan, so the lengths written always
 * match the bytes written. */
#include "pacs_write_priv.h"

#include "arca_err.h"
#include "pacs_dict.h"

typedef enum plan_kind {
	PLAN_SKIP,         /* not written (meta group, dropped group length) */
	PLAN_VALUE,        /* value held in the data set */
	PLAN_GROUP_LENGTH, /* (gggg,0000) recomputed for the target encoding */
	PLAN_SEQ,          /* sequence of items */
	PLAN_ENCAP,        /* encapsulated fragments held in the data set */
	PLAN_BULK,         /* native value from the bulk source */
	PLAN_BULK_ENCAP,   /* encapsulated value from the bulk source */
} plan_kind;

typedef struct elem_plan {
	plan_kind kind;
	pacs_vr vr;        /* VR written (explicit VR) */
	unsigned swap;     /* byte-swap unit of the value for big endian, else 0 */
	bool undefined;    /* sequence written with undefined length */
	bool un_sequence;  /* sequence written as UN, items in Implicit VR LE */
} elem_plan;

/* Largest defined length: 0xFFFFFFFF means undefined (PS3.5 7.1.1). */
#define MAX_DEFINED_LENGTH 0xFFFFFFFEu
/* Largest value a 16-bit length field can carry with an even length. */
#define MAX_SHORT_LENGTH 0xFFFEu

static const pacs_write_enc implicit_le = { false, false };

#define TAG_FMT "(%04X,%04X)"
#define TAG_ARGS(t) PACS_TAG_GROUP(t), PACS_TAG_ELEMENT(t)

/* ---- VR decisions ---- */

/* The value of a US element in ds or the data sets around it, or dflt.
 * Pixel module attributes that decide a pseudo VR sit at the level of the
 * element, or for nested pixel data (icons) in the same item. */
static uint64_t context_uint(const pacs_ds *ds, uint32_t tag, uint64_t dflt)
{
	for (; ds != NULL; ds = ds->parent) {
		const pacs_elem *e = pacs_ds_find(ds, tag);
		uint64_t v;
		if (e != NULL && pacs_elem_uint(e, 0, &v) == 0)
			return v;
	}
	return dflt;
}

/* The VR to write for e in explicit VR.  Pseudo VRs (elements read in
 * Implicit VR, VR from the dictionary) are resolved from context:
 * xs by Pixel Representation (0028,0103) (PS3.3 C.7.6.3.1.4: 1 = signed),
 * Pixel Data px/ox by Bits Allocated (0028,0100) (PS3.5 8.2: OB allowed
 * only up to 8 bits), the rest by pacs_vr_resolve_default.  An element
 * without a known VR is written as UN. */
static pacs_vr resolve_vr(const pacs_ds *ds, const pacs_elem *e)
{
	pacs_vr vr = (pacs_vr)e->vr;

	switch (vr) {
	case PACS_VR_NONE:
		return PACS_VR_UN;
	case PACS_VR_xs:
		return context_uint(ds, PACS_TAG(0x0028, 0x0103), 0) == 1 ? PACS_VR_SS : PACS_VR_US;
	case PACS_VR_ox:
	case PACS_VR_px:
		if (e->tag == PACS_TAG_PIXEL_DATA)
			return context_uint(ds, PACS_TAG(0x0028, 0x0100), 16) <= 8 ? PACS_VR_OB : PACS_VR_OW;
		return pacs_vr_resolve_default(vr);
	default:
		return (unsigned)vr < PACS_VR_COUNT ? pacs_vr_resolve_default(vr) : PACS_VR_UN;
	}
}

/* Whether every element of every item of seq was read without an
 * explicit VR (and there is at least one). */
static bool items_all_implicit(const pacs_elem *seq)
{
	bool any = false;

	for (uint32_t i = 0; i < seq->u.seq.n; i++) {
		const pacs_ds *item = seq->u.seq.items[i];
		for (uint32_t k = 0; k < item->n; k++) {
			if (!(item->elems[k].flags & PACS_ELEM_IMPLICIT_VR))
				return false;
			any = true;
		}
	}
	return any;
}

/* A sequence that came in as VR UN with undefined length and was parsed
 * as Implicit VR Little Endian items (PS3.5 6.2.2 Note, CP-246).  The
 * reader records it as an SQ whose items' elements all carry
 * PACS_ELEM_IMPLICIT_VR although the data set is explicit VR (or flags the
 * SQ itself).  Writing it back as UN with Implicit VR LE items keeps the
 * bytes; a sequence whose items are all empty cannot be recognised and is
 * written as SQ, with the same values. */
static bool is_un_sequence(const pacs_write_ctx *w, const pacs_elem *e, pacs_write_enc enc)
{
	if (!enc.explicit_vr || !w->source_explicit || e->vr != PACS_VR_SQ)
		return false;
	return (e->flags & PACS_ELEM_IMPLICIT_VR) || items_all_implicit(e);
}

/* Whether a reader of Implicit VR would know tag in ds as a sequence from
 * the data dictionary (private tags through their creator, PS3.5 7.8.1). */
static bool dictionary_sequence(const pacs_ds *ds, uint32_t tag)
{
	const pacs_dict_entry *de;

	if (PACS_TAG_IS_PRIVATE(tag)) {
		const pacs_elem *creator;
		const uint8_t *v;
		uint32_t len;
		if (PACS_TAG_ELEMENT(tag) < 0x1000)
			return false;
		creator = pacs_ds_find(ds, PACS_TAG(PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag) >> 8));
		if (creator == NULL || (v = pacs_elem_value(creator, &len)) == NULL)
			return false;
		de = pacs_dict_lookup_private(tag, (const char *)v, len);
	} else {
		de = pacs_dict_lookup(tag);
	}
	return de != NULL && de->vr == PACS_VR_SQ;
}

static bool held_undefined(const pacs_elem *e)
{
	return (e->flags & PACS_ELEM_UNDEF_LENGTH) || e->length == PACS_UNDEFINED_LENGTH;
}

static int plan_elem(const pacs_write_ctx *w, const pacs_ds *ds, const pacs_elem *e,
		     pacs_write_enc enc, bool skip_meta, elem_plan *p)
{
	uint16_t group = PACS_TAG_GROUP(e->tag);
	unsigned flags = w->opts->flags;

	p->kind = PLAN_VALUE;
	p->vr = PACS_VR_UN;
	p->swap = 0;
	p->undefined = false;
	p->un_sequence = false;
	if (skip_meta && group == 0x0002) {
		p->kind = PLAN_SKIP;
		return 0;
	}
	/* PS3.5 7.2: group length elements are optional outside group 0002;
	 * their value depends on the encoding, so they are recomputed. */
	if (PACS_TAG_ELEMENT(e->tag) == 0x0000 && group != 0x0002) {
		p->kind = (flags & PACS_WRITE_NO_GROUP_LENGTHS) ? PLAN_SKIP : PLAN_GROUP_LENGTH;
		p->vr = PACS_VR_UL;
		p->swap = enc.big_endian ? 4 : 0;
		return 0;
	}
	if (e->vr == PACS_VR_SQ) {
		p->kind = PLAN_SEQ;
		p->un_sequence = is_un_sequence(w, e, enc);
		p->vr = p->un_sequence ? PACS_VR_UN : PACS_VR_SQ;
		/* A UN sequence keeps its undefined length: with a defined
		 * length a reader would take its items for an opaque value. */
		if (flags & PACS_WRITE_DEFINED_LENGTHS)
			p->undefined = p->un_sequence;
		else
			p->undefined = p->un_sequence || held_undefined(e) ||
				       /* PS3.5 7.5, 6.2.2: in Implicit VR only an
					* undefined length tells a reader without a
					* dictionary entry that this is a sequence. */
				       (!enc.explicit_vr && !dictionary_sequence(ds, e->tag));
		return 0;
	}
	p->vr = resolve_vr(ds, e);
	if (e->flags & PACS_ELEM_ENCAPSULATED) {
		/* PS3.5 A.4: encapsulated pixel data is OB; a VR held (OW, as
		 * some writers send it) is kept, an unknown one becomes OB. */
		if (e->vr == PACS_VR_NONE || e->vr >= PACS_VR_COUNT_REAL)
			p->vr = PACS_VR_OB;
		p->kind = (e->flags & PACS_ELEM_BULK) ? PLAN_BULK_ENCAP : PLAN_ENCAP;
		p->undefined = true;
		return 0;
	}
	if (e->length == PACS_UNDEFINED_LENGTH)
		return arca_error_set(ARCA_EINVAL, TAG_FMT " has undefined length but is neither a sequence "
				      "nor encapsulated", TAG_ARGS(e->tag));
	/* PS3.5 6.2.2 and 7.1.2: a value too long for the 16-bit length field
	 * of its VR is written with VR UN (32-bit length).  The value bytes
	 * stay as they are; a reader gets the VR back from its dictionary. */
	if (enc.explicit_vr && !pacs_vr_has_long_length(p->vr) && e->length > MAX_SHORT_LENGTH)
		p->vr = PACS_VR_UN;
	p->kind = (e->flags & PACS_ELEM_BULK) ? PLAN_BULK : PLAN_VALUE;
	if (enc.big_endian) {
		unsigned unit = pacs_vr_swap_unit(p->vr);
		p->swap = unit > 1 ? unit : 0;
	}
	return 0;
}

/* ---- size pass ---- */

static unsigned header_size(pacs_write_enc enc, pacs_vr vr)
{
	/* PS3.5 7.1.1-7.1.3: implicit 8; explicit 8, or 12 for the VRs with a
	 * 32-bit length field. */
	if (!enc.explicit_vr)
		return 8;
	return pacs_vr_has_long_length(vr) ? 12 : 8;
}

static bool item_undefined(const pacs_write_ctx *w, const pacs_ds *item)
{
	return item->item_length == PACS_UNDEFINED_LENGTH &&
	       !(w->opts->flags & PACS_WRITE_DEFINED_LENGTHS);
}

static int elem_size(const pacs_write_ctx *w, const pacs_ds *ds, const pacs_elem *e,
		     pacs_write_enc enc, bool skip_meta, uint64_t *size);

/* Bytes of the items of a sequence (item headers, contents, item
 * delimiters), without the element header and sequence delimiter. */
static int items_size(const pacs_write_ctx *w, const pacs_elem *e, pacs_write_enc item_enc,
		      uint64_t *size)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < e->u.seq.n; i++) {
		const pacs_ds *item = e->u.seq.items[i];
		uint64_t content;
		int rc = pacs_write__ds_size(w, item, item_enc, false, &content);
		if (rc < 0)
			return rc;
		total += 8 + content + (item_undefined(w, item) ? 8 : 0);
	}
	*size = total;
	return 0;
}

static int fragments_size(const pacs_write_ctx *w, const pacs_ds *ds, const pacs_elem *e,
			  const elem_plan *p, uint64_t *size)
{
	uint64_t total = 0;

	if (p->kind == PLAN_BULK_ENCAP) {
		if (w->opts->bulk_size_fn == NULL)
			return arca_error_set(ARCA_EUNSUPPORTED, TAG_FMT " is encapsulated and held outside "
					      "the data set, and its size is needed for a group or item length: "
					      "set opts.bulk_size_fn, or write with PACS_WRITE_NO_GROUP_LENGTHS "
					      "and undefined lengths", TAG_ARGS(e->tag));
		return w->opts->bulk_size_fn(w->opts->bulk_ctx, ds, e, size);
	}
	for (uint32_t i = 0; i < e->u.enc.n; i++)
		total += 8 + (uint64_t)e->u.enc.frags[i].len;
	*size = total + 8; /* sequence delimiter */
	return 0;
}

static int elem_size(const pacs_write_ctx *w, const pacs_ds *ds, const pacs_elem *e,
		     pacs_write_enc enc, bool skip_meta, uint64_t *size)
{
	elem_plan p;
	uint64_t body = 0;
	int rc = plan_elem(w, ds, e, enc, skip_meta, &p);

	*size = 0;
	if (rc < 0)
		return rc;
	switch (p.kind) {
	case PLAN_SKIP:
		return 0;
	case PLAN_GROUP_LENGTH:
		*size = 12;
		return 0;
	case PLAN_VALUE:
	case PLAN_BULK:
		body = e->length;
		break;
	case PLAN_SEQ:
		rc = items_size(w, e, p.un_sequence ? implicit_le : enc, &body);
		if (rc < 0)
			return rc;
		if (p.undefined)
			body += 8;
		break;
	case PLAN_ENCAP:
	case PLAN_BULK_ENCAP:
		rc = fragments_size(w, ds, e, &p, &body);
		if (rc < 0)
			return rc;
		break;
	}
	*size = header_size(enc, p.vr) + body;
	return 0;
}

int pacs_write__ds_size(const pacs_write_ctx *w, const pacs_ds *ds, pacs_write_enc enc,
			bool skip_meta, uint64_t *size)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < ds->n; i++) {
		uint64_t s;
		int rc = elem_size(w, ds, &ds->elems[i], enc, skip_meta, &s);
		if (rc < 0)
			return rc;
		total += s;
	}
	*size = total;
	return 0;
}

/* PS3.5 7.2: the value of (gggg,0000) is the number of bytes following it
 * up to and including the last element of group gggg. */
static int group_length(const pacs_write_ctx *w, const pacs_ds *ds, uint32_t index,
			pacs_write_enc enc, bool skip_meta, uint32_t *out)
{
	uint16_t group = PACS_TAG_GROUP(ds->elems[index].tag);
	uint64_t total = 0;

	for (uint32_t i = index + 1; i < ds->n && PACS_TAG_GROUP(ds->elems[i].tag) == group; i++) {
		uint64_t s;
		int rc = elem_size(w, ds, &ds->elems[i], enc, skip_meta, &s);
		if (rc < 0)
			return rc;
		total += s;
	}
	if (total > UINT32_MAX)
		return arca_error_set(ARCA_ELIMIT, "group %04X encodes to %llu bytes, more than its group "
				      "length (%04X,0000) can hold; write with PACS_WRITE_NO_GROUP_LENGTHS",
				      group, (unsigned long long)total, group);
	*out = (uint32_t)total;
	return 0;
}

/* ---- writing ---- */

static void store16(uint8_t *p, uint16_t v, bool be)
{
	p[be ? 1 : 0] = (uint8_t)v;
	p[be ? 0 : 1] = (uint8_t)(v >> 8);
}

static void store32(uint8_t *p, uint32_t v, bool be)
{
	for (unsigned i = 0; i < 4; i++)
		p[be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

int pacs_write__item_header(pacs_write_ctx *w, pacs_write_enc enc, uint32_t tag, uint32_t len)
{
	uint8_t h[8];

	store16(h, PACS_TAG_GROUP(tag), enc.big_endian);
	store16(h + 2, PACS_TAG_ELEMENT(tag), enc.big_endian);
	store32(h + 4, len, enc.big_endian);
	return pacs_write__put(w, h, sizeof(h));
}

/* PS3.5 7.1.1-7.1.3, Tables 7.1-1 to 7.1-3. */
static int elem_header(pacs_write_ctx *w, pacs_write_enc enc, uint32_t tag, pacs_vr vr, uint32_t len)
{
	uint8_t h[12];
	size_t n;
	const char *name;

	store16(h, PACS_TAG_GROUP(tag), enc.big_endian);
	store16(h + 2, PACS_TAG_ELEMENT(tag), enc.big_endian);
	if (!enc.explicit_vr) {
		store32(h + 4, len, false);
		n = 8;
	} else {
		name = pacs_vr_name(vr);
		h[4] = (uint8_t)name[0];
		h[5] = (uint8_t)name[1];
		if (pacs_vr_has_long_length(vr)) {
			h[6] = 0;
			h[7] = 0;
			store32(h + 8, len, enc.big_endian);
			n = 12;
		} else {
			if (len > 0xFFFFu)
				return arca_error_set(ARCA_ELIMIT, TAG_FMT " length %u does not fit VR %s",
						      TAG_ARGS(tag), len, name);
			store16(h + 6, (uint16_t)len, enc.big_endian);
			n = 8;
		}
	}
	return pacs_write__put(w, h, n);
}

static int check_defined(uint32_t tag, uint64_t size, const char *what, uint32_t *out)
{
	if (size > MAX_DEFINED_LENGTH)
		return arca_error_set(ARCA_ELIMIT, TAG_FMT " %s encodes to %llu bytes, more than a defined "
				      "length can hold; write it with undefined length", TAG_ARGS(tag), what,
				      (unsigned long long)size);
	*out = (uint32_t)size;
	return 0;
}

static int write_sequence(pacs_write_ctx *w, const pacs_elem *e, const elem_plan *p, pacs_write_enc enc)
{
	pacs_write_enc item_enc = p->un_sequence ? implicit_le : enc;
	uint32_t len = PACS_UNDEFINED_LENGTH;
	int rc;

	if (!p->undefined) {
		uint64_t body;
		rc = items_size(w, e, item_enc, &body);
		if (rc < 0 || (rc = check_defined(e->tag, body, "sequence", &len)) < 0)
			return rc;
	}
	rc = elem_header(w, enc, e->tag, p->vr, len);
	for (uint32_t i = 0; rc == 0 && i < e->u.seq.n; i++) {
		const pacs_ds *item = e->u.seq.items[i];
		bool undef = item_undefined(w, item);
		uint32_t ilen = PACS_UNDEFINED_LENGTH;
		if (!undef) {
			uint64_t content;
			rc = pacs_write__ds_size(w, item, item_enc, false, &content);
			if (rc < 0 || (rc = check_defined(e->tag, content, "item", &ilen)) < 0)
				return rc;
		}
		/* PS3.5 7.5.1, 7.5.2: item, contents, item delimitation. */
		rc = pacs_write__item_header(w, item_enc, PACS_TAG_ITEM, ilen);
		if (rc == 0)
			rc = pacs_write__ds(w, item, item_enc, false);
		if (rc == 0 && undef)
			rc = pacs_write__item_header(w, item_enc, PACS_TAG_ITEM_DELIM, 0);
	}
	if (rc == 0 && p->undefined)
		rc = pacs_write__item_header(w, item_enc, PACS_TAG_SEQ_DELIM, 0);
	return rc;
}

/* PS3.5 A.4: undefined length, one item per fragment (the first is the
 * Basic Offset Table), then the sequence delimiter. */
static int write_encapsulated(pacs_write_ctx *w, const pacs_ds *ds, const pacs_elem *e,
			      const elem_plan *p, pacs_write_enc enc)
{
	int rc = elem_header(w, enc, e->tag, p->vr, PACS_UNDEFINED_LENGTH);

	if (p->kind == PLAN_BULK_ENCAP) {
		if (rc == 0)
			rc = pacs_write__bulk(w, ds, e, 0, true);
	} else {
		for (uint32_t i = 0; rc == 0 && i < e->u.enc.n; i++) {
			const pacs_fragment *f = &e->u.enc.frags[i];
			rc = pacs_write__item_header(w, enc, PACS_TAG_ITEM, f->len);
			if (rc == 0)
				rc = pacs_write__put(w, f->data, f->len);
		}
	}
	if (rc == 0)
		rc = pacs_write__item_header(w, enc, PACS_TAG_SEQ_DELIM, 0);
	return rc;
}

int pacs_write__elem(pacs_write_ctx *w, const pacs_ds *ds, uint32_t index, pacs_write_enc enc,
		     bool skip_meta)
{
	const pacs_elem *e = &ds->elems[index];
	elem_plan p;
	uint32_t glen = 0;
	uint8_t v[4];
	int rc = plan_elem(w, ds, e, enc, skip_meta, &p);

	if (rc < 0)
		return rc;
	switch (p.kind) {
	case PLAN_SKIP:
		return 0;
	case PLAN_GROUP_LENGTH:
		rc = group_length(w, ds, index, enc, skip_meta, &glen);
		if (rc == 0)
			rc = elem_header(w, enc, e->tag, PACS_VR_UL, 4);
		if (rc < 0)
			return rc;
		store32(v, glen, enc.big_endian);
		return pacs_write__put(w, v, 4);
	case PLAN_VALUE:
		rc = elem_header(w, enc, e->tag, p.vr, e->length);
		/* PS3.5 7.3: values are held little endian; big endian output
		 * swaps each number of the VR's width. */
		return rc < 0 ? rc : pacs_write__put_swapped(w, e->u.value, e->length, p.swap);
	case PLAN_BULK:
		rc = elem_header(w, enc, e->tag, p.vr, e->length);
		return rc < 0 ? rc : pacs_write__bulk(w, ds, e, p.swap, false);
	case PLAN_SEQ:
		return write_sequence(w, e, &p, enc);
	case PLAN_ENCAP:
	case PLAN_BULK_ENCAP:
		return write_encapsulated(w, ds, e, &p, enc);
	}
	return 0;
}

int pacs_write__ds(pacs_write_ctx *w, const pacs_ds *ds, pacs_write_enc enc, bool skip_meta)
{
	for (uint32_t i = 0; i < ds->n; i++) {
		int rc = pacs_write__elem(w, ds, i, enc, skip_meta);
		if (rc < 0)
			return rc;
	}
	return 0;
}
