/* pacs_ds.c - data set model: navigation, decoded values, modification
 * (PS3.5 Section 6.2 for value encodings, Section 7 for data sets). */
#include "pacs_ds_priv.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_charset.h"

/* ---- internal helpers ---- */

pacs_arena *pacs_ds__arena(pacs_ds *ds)
{
	return &ds->root->arena;
}

static int ds_reserve(pacs_ds *ds, uint32_t want)
{
	uint32_t ncap;
	pacs_elem *grown;

	if (want <= ds->cap)
		return 0;
	ncap = ds->cap ? ds->cap * 2 : 16;
	while (ncap < want)
		ncap *= 2;
	grown = pacs_arena__grow(&ds->root->arena, ds->elems,
				 (size_t)ds->n * sizeof(pacs_elem), (size_t)ncap * sizeof(pacs_elem));
	if (grown == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory growing a data set");
	ds->elems = grown;
	ds->cap = ncap;
	return 0;
}

pacs_elem *pacs_ds__append(pacs_ds *ds, uint32_t tag, pacs_vr vr)
{
	pacs_elem *e;

	if (ds_reserve(ds, ds->n + 1) < 0)
		return NULL;
	if (ds->n > 0 && ds->elems[ds->n - 1].tag >= tag)
		ds->unsorted = true;
	e = &ds->elems[ds->n++];
	memset(e, 0, sizeof(*e));
	e->tag = tag;
	e->vr = (uint8_t)vr;
	return e;
}

pacs_ds *pacs_ds__new_item(pacs_ds *parent, pacs_elem *seq)
{
	pacs_root *root = parent->root;
	pacs_ds *item;

	if (seq->u.seq.n == seq->u.seq.cap) {
		uint32_t ncap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 4;
		pacs_ds **grown = pacs_arena__grow(&root->arena, seq->u.seq.items,
						   seq->u.seq.n * sizeof(pacs_ds *),
						   ncap * sizeof(pacs_ds *));
		if (grown == NULL)
			return NULL;
		seq->u.seq.items = grown;
		seq->u.seq.cap = ncap;
	}
	item = pacs_arena__alloc(&root->arena, sizeof(*item));
	if (item == NULL)
		return NULL;
	memset(item, 0, sizeof(*item));
	item->root = root;
	item->parent = parent;
	item->item_length = PACS_UNDEFINED_LENGTH;
	seq->u.seq.items[seq->u.seq.n++] = item;
	return item;
}

int pacs_ds__add_fragment_ref(pacs_ds *ds, pacs_elem *e, uint8_t *data, uint32_t len, uint64_t offset)
{
	if (e->u.enc.n == e->u.enc.cap) {
		uint32_t ncap = e->u.enc.cap ? e->u.enc.cap * 2 : 8;
		pacs_fragment *grown = pacs_arena__grow(&ds->root->arena, e->u.enc.frags,
							e->u.enc.n * sizeof(pacs_fragment),
							ncap * sizeof(pacs_fragment));
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory adding a fragment");
		e->u.enc.frags = grown;
		e->u.enc.cap = ncap;
	}
	e->u.enc.frags[e->u.enc.n].data = data;
	e->u.enc.frags[e->u.enc.n].len = len;
	e->u.enc.frags[e->u.enc.n].offset = offset;
	e->u.enc.n++;
	return 0;
}

/* ---- life cycle ---- */

int pacs_ds_new(pacs_ds **out)
{
	pacs_root *root;
	pacs_ds *ds;

	*out = NULL;
	root = calloc(1, sizeof(*root));
	if (root == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory creating a data set");
	pacs_arena__init(&root->arena);
	ds = pacs_arena__alloc(&root->arena, sizeof(*ds));
	if (ds == NULL) {
		free(root);
		return arca_error_set(ARCA_ENOMEM, "out of memory creating a data set");
	}
	memset(ds, 0, sizeof(*ds));
	ds->root = root;
	*out = ds;
	return 0;
}

void pacs_ds_free(pacs_ds *ds)
{
	pacs_root *root;

	if (ds == NULL)
		return;
	root = ds->root;
	pacs_arena__release(&root->arena);
	free(root);
}

static int clone_into(pacs_ds *dst, const pacs_ds *src);

static int clone_elem(pacs_ds *dst, const pacs_elem *se)
{
	pacs_elem *de = pacs_ds__append(dst, se->tag, (pacs_vr)se->vr);

	if (de == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory cloning a data set");
	de->length = se->length;
	de->flags = se->flags;
	de->offset = se->offset;
	if (se->vr == PACS_VR_SQ) {
		for (uint32_t i = 0; i < se->u.seq.n; i++) {
			pacs_ds *item = pacs_ds__new_item(dst, de);
			int rc;
			if (item == NULL)
				return arca_error_set(ARCA_ENOMEM, "out of memory cloning a data set");
			item->item_length = se->u.seq.items[i]->item_length;
			item->offset = se->u.seq.items[i]->offset;
			rc = clone_into(item, se->u.seq.items[i]);
			if (rc < 0)
				return rc;
		}
	} else if (se->flags & PACS_ELEM_ENCAPSULATED) {
		for (uint32_t i = 0; i < se->u.enc.n; i++) {
			const pacs_fragment *f = &se->u.enc.frags[i];
			uint8_t *copy = pacs_arena__memdup(&dst->root->arena, f->data, f->len);
			if (copy == NULL)
				return arca_error_set(ARCA_ENOMEM, "out of memory cloning a data set");
			int rc = pacs_ds__add_fragment_ref(dst, de, copy, f->len, f->offset);
			if (rc < 0)
				return rc;
		}
	} else if (!(se->flags & PACS_ELEM_BULK)) {
		de->u.value = pacs_arena__memdup(&dst->root->arena, se->u.value, se->length);
		if (de->u.value == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory cloning a data set");
	}
	return 0;
}

static int clone_into(pacs_ds *dst, const pacs_ds *src)
{
	int rc = ds_reserve(dst, src->n);

	for (uint32_t i = 0; rc == 0 && i < src->n; i++)
		rc = clone_elem(dst, &src->elems[i]);
	return rc;
}

int pacs_ds_clone(pacs_ds **out, const pacs_ds *ds)
{
	pacs_ds *copy = NULL;
	int rc = pacs_ds_new(&copy);

	*out = NULL;
	if (rc < 0)
		return rc;
	if (ds->parent == NULL) {
		copy->root->has_preamble = ds->root->has_preamble;
		memcpy(copy->root->preamble, ds->root->preamble, sizeof(copy->root->preamble));
		memcpy(copy->root->source_ts, ds->root->source_ts, sizeof(copy->root->source_ts));
	}
	rc = clone_into(copy, ds);
	if (rc < 0) {
		pacs_ds_free(copy);
		return rc;
	}
	*out = copy;
	return 0;
}

/* ---- navigation ---- */

size_t pacs_ds_count(const pacs_ds *ds)
{
	return ds->n;
}

const pacs_elem *pacs_ds_at(const pacs_ds *ds, size_t index)
{
	return index < ds->n ? &ds->elems[index] : NULL;
}

/* Index of tag, or of where it would be inserted (*found false).  Elements
 * are normally in ascending order (PS3.5 7.1); a stream that broke the
 * order falls back to a linear search. */
static uint32_t ds_locate(const pacs_ds *ds, uint32_t tag, bool *found)
{
	uint32_t lo = 0, hi = ds->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ds->elems[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < ds->n && ds->elems[lo].tag == tag;
	if (!*found && ds->unsorted) {
		for (uint32_t i = 0; i < ds->n; i++) {
			if (ds->elems[i].tag == tag) {
				*found = true;
				return i;
			}
		}
	}
	return lo;
}

const pacs_elem *pacs_ds_find(const pacs_ds *ds, uint32_t tag)
{
	bool found;
	uint32_t i = ds_locate(ds, tag, &found);

	return found ? &ds->elems[i] : NULL;
}

pacs_elem *pacs_ds_find_mut(pacs_ds *ds, uint32_t tag)
{
	bool found;
	uint32_t i = ds_locate(ds, tag, &found);

	return found ? &ds->elems[i] : NULL;
}

const pacs_ds *pacs_ds_parent(const pacs_ds *ds)
{
	return ds->parent;
}

uint32_t pacs_ds_item_length(const pacs_ds *ds)
{
	return ds->item_length;
}

void pacs_ds_set_item_length(pacs_ds *ds, uint32_t length)
{
	ds->item_length = length;
}

uint64_t pacs_ds_offset(const pacs_ds *ds)
{
	return ds->offset;
}

/* ---- root properties ---- */

const char *pacs_ds_source_ts(const pacs_ds *ds)
{
	return ds->root->source_ts;
}

int pacs_ds_set_source_ts(pacs_ds *ds, const char *uid)
{
	size_t n = strlen(uid);

	if (n >= sizeof(ds->root->source_ts))
		return arca_error_set(ARCA_EINVAL, "transfer syntax UID longer than 64 characters");
	memcpy(ds->root->source_ts, uid, n + 1);
	return 0;
}

const uint8_t *pacs_ds_preamble(const pacs_ds *ds)
{
	return ds->root->has_preamble ? ds->root->preamble : NULL;
}

int pacs_ds_set_preamble(pacs_ds *ds, const uint8_t preamble[128])
{
	if (preamble == NULL) {
		ds->root->has_preamble = false;
		return 0;
	}
	memcpy(ds->root->preamble, preamble, 128);
	ds->root->has_preamble = true;
	return 0;
}

/* ---- element properties ---- */

uint32_t pacs_elem_tag(const pacs_elem *e) { return e->tag; }
pacs_vr pacs_elem_vr(const pacs_elem *e) { return (pacs_vr)e->vr; }
unsigned pacs_elem_flags(const pacs_elem *e) { return e->flags; }
uint32_t pacs_elem_length(const pacs_elem *e) { return e->length; }
uint64_t pacs_elem_offset(const pacs_elem *e) { return e->offset; }

bool pacs_elem_is_sequence(const pacs_elem *e)
{
	return e->vr == PACS_VR_SQ;
}

const uint8_t *pacs_elem_value(const pacs_elem *e, uint32_t *len)
{
	if (e->vr == PACS_VR_SQ || (e->flags & (PACS_ELEM_BULK | PACS_ELEM_ENCAPSULATED))) {
		*len = 0;
		return NULL;
	}
	*len = e->length;
	return e->u.value;
}

size_t pacs_elem_item_count(const pacs_elem *e)
{
	return e->vr == PACS_VR_SQ ? e->u.seq.n : 0;
}

const pacs_ds *pacs_elem_item(const pacs_elem *e, size_t index)
{
	if (e->vr != PACS_VR_SQ || index >= e->u.seq.n)
		return NULL;
	return e->u.seq.items[index];
}

pacs_ds *pacs_elem_item_mut(pacs_elem *e, size_t index)
{
	if (e->vr != PACS_VR_SQ || index >= e->u.seq.n)
		return NULL;
	return e->u.seq.items[index];
}

size_t pacs_elem_fragment_count(const pacs_elem *e)
{
	return (e->flags & PACS_ELEM_ENCAPSULATED) && !(e->flags & PACS_ELEM_BULK) ? e->u.enc.n : 0;
}

const uint8_t *pacs_elem_fragment(const pacs_elem *e, size_t index, uint32_t *len)
{
	if (index >= pacs_elem_fragment_count(e)) {
		*len = 0;
		return NULL;
	}
	*len = e->u.enc.frags[index].len;
	return e->u.enc.frags[index].data;
}

/* ---- decoded values ---- */

/* Text VRs hold one value; backslash is an ordinary character there
 * (PS3.5 6.2: LT, ST, UT, UR). */
static bool vr_single_text(pacs_vr vr)
{
	return vr == PACS_VR_LT || vr == PACS_VR_ST || vr == PACS_VR_UT || vr == PACS_VR_UR;
}

unsigned pacs_elem_vm(const pacs_elem *e)
{
	pacs_vr vr = (pacs_vr)e->vr;
	unsigned size;

	if (vr == PACS_VR_SQ)
		return e->u.seq.n;
	if (e->flags & (PACS_ELEM_ENCAPSULATED | PACS_ELEM_BULK))
		return 1;
	if (e->length == 0)
		return 0;
	if (pacs_vr_is_string(vr)) {
		unsigned vm = 1;
		if (vr_single_text(vr))
			return 1;
		for (uint32_t i = 0; i < e->length; i++)
			vm += e->u.value[i] == '\\';
		return vm;
	}
	size = pacs_vr_value_size(vr);
	if (size == 0)
		return 1;
	return e->length / size;
}

int pacs_elem_string(const pacs_elem *e, unsigned index, const char **start, size_t *len)
{
	pacs_vr vr = (pacs_vr)e->vr;
	const char *p, *end;
	unsigned k = 0;

	if (!pacs_vr_is_string(vr) && vr != PACS_VR_UN && vr != PACS_VR_OB)
		return arca_error_set(ARCA_EINVAL, "element (%04X,%04X) with VR %s is not a string",
				      PACS_TAG_GROUP(e->tag), PACS_TAG_ELEMENT(e->tag), pacs_vr_name(vr));
	if (e->flags & (PACS_ELEM_ENCAPSULATED | PACS_ELEM_BULK) || e->length == 0)
		return arca_error_set(ARCA_ENOTFOUND, "element has no value");
	p = (const char *)e->u.value;
	end = p + e->length;
	if (!vr_single_text(vr)) {
		while (k < index) {
			const char *bs = memchr(p, '\\', (size_t)(end - p));
			if (bs == NULL)
				return arca_error_set(ARCA_ENOTFOUND, "value %u out of range", index);
			p = bs + 1;
			k++;
		}
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		if (bs != NULL)
			end = bs;
	} else if (index > 0) {
		return arca_error_set(ARCA_ENOTFOUND, "value %u out of range", index);
	}
	/* PS3.5 6.2: leading spaces are insignificant except in the text VRs;
	 * trailing spaces (NUL for UI) are padding. */
	if (!vr_single_text(vr))
		while (p < end && *p == ' ')
			p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\0'))
		end--;
	*start = p;
	*len = (size_t)(end - p);
	return 0;
}

int pacs_ds_get_string(const pacs_ds *ds, uint32_t tag, unsigned index, char *buf, size_t size)
{
	const pacs_elem *e = pacs_ds_find(ds, tag);
	const char *s;
	size_t n;
	int rc;

	if (size > 0)
		buf[0] = '\0';
	if (e == NULL)
		return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) not present",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	rc = pacs_elem_string(e, index, &s, &n);
	if (rc < 0)
		return rc;
	if (n >= size)
		return arca_error_set(ARCA_ELIMIT, "(%04X,%04X) value longer than %zu bytes",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), size - 1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int string_to_number(const pacs_elem *e, unsigned index, char *buf, size_t size)
{
	const char *s;
	size_t n;
	int rc = pacs_elem_string(e, index, &s, &n);

	if (rc < 0)
		return rc;
	if (n == 0 || n >= size)
		return arca_error_set(ARCA_EPROTO, "(%04X,%04X) value %u is not a number",
				      PACS_TAG_GROUP(e->tag), PACS_TAG_ELEMENT(e->tag), index);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int binary_slot(const pacs_elem *e, unsigned index, unsigned size, const uint8_t **p)
{
	if (e->flags & (PACS_ELEM_BULK | PACS_ELEM_ENCAPSULATED))
		return arca_error_set(ARCA_ENOTFOUND, "element value not held");
	if ((uint64_t)(index + 1) * size > e->length)
		return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) value %u out of range",
				      PACS_TAG_GROUP(e->tag), PACS_TAG_ELEMENT(e->tag), index);
	*p = e->u.value + (size_t)index * size;
	return 0;
}

static uint64_t load_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = size; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

int pacs_elem_int(const pacs_elem *e, unsigned index, int64_t *out)
{
	const uint8_t *p;
	char buf[64];
	int rc;

	switch ((pacs_vr)e->vr) {
	case PACS_VR_SS: case PACS_VR_xs:
		if ((rc = binary_slot(e, index, 2, &p)) < 0) return rc;
		*out = (int16_t)load_le(p, 2);
		return 0;
	case PACS_VR_SL:
		if ((rc = binary_slot(e, index, 4, &p)) < 0) return rc;
		*out = (int32_t)load_le(p, 4);
		return 0;
	case PACS_VR_SV:
		if ((rc = binary_slot(e, index, 8, &p)) < 0) return rc;
		*out = (int64_t)load_le(p, 8);
		return 0;
	case PACS_VR_US: case PACS_VR_UL: case PACS_VR_UV: {
		uint64_t u;
		if ((rc = pacs_elem_uint(e, index, &u)) < 0) return rc;
		if (u > INT64_MAX)
			return arca_error_set(ARCA_ELIMIT, "value does not fit a signed integer");
		*out = (int64_t)u;
		return 0;
	}
	case PACS_VR_IS: {
		char *end;
		if ((rc = string_to_number(e, index, buf, sizeof(buf))) < 0) return rc;
		errno = 0;
		long long v = strtoll(buf, &end, 10);
		if (*end != '\0' || errno != 0)
			return arca_error_set(ARCA_EPROTO, "(%04X,%04X) \"%s\" is not an integer string",
					      PACS_TAG_GROUP(e->tag), PACS_TAG_ELEMENT(e->tag), buf);
		*out = v;
		return 0;
	}
	default:
		return arca_error_set(ARCA_EINVAL, "VR %s is not an integer VR", pacs_vr_name((pacs_vr)e->vr));
	}
}

int pacs_elem_uint(const pacs_elem *e, unsigned index, uint64_t *out)
{
	const uint8_t *p;
	int rc;

	switch ((pacs_vr)e->vr) {
	case PACS_VR_US:
		if ((rc = binary_slot(e, index, 2, &p)) < 0) return rc;
		*out = load_le(p, 2);
		return 0;
	case PACS_VR_UL: case PACS_VR_up:
		if ((rc = binary_slot(e, index, 4, &p)) < 0) return rc;
		*out = load_le(p, 4);
		return 0;
	case PACS_VR_UV:
		if ((rc = binary_slot(e, index, 8, &p)) < 0) return rc;
		*out = load_le(p, 8);
		return 0;
	default: {
		int64_t v;
		if ((rc = pacs_elem_int(e, index, &v)) < 0) return rc;
		if (v < 0)
			return arca_error_set(ARCA_ELIMIT, "negative value where unsigned expected");
		*out = (uint64_t)v;
		return 0;
	}
	}
}

int pacs_elem_double(const pacs_elem *e, unsigned index, double *out)
{
	const uint8_t *p;
	char buf[64];
	int rc;

	switch ((pacs_vr)e->vr) {
	case PACS_VR_FL: {
		uint32_t bits;
		float f;
		if ((rc = binary_slot(e, index, 4, &p)) < 0) return rc;
		bits = (uint32_t)load_le(p, 4);
		memcpy(&f, &bits, sizeof(f));
		*out = f;
		return 0;
	}
	case PACS_VR_FD: {
		uint64_t bits;
		if ((rc = binary_slot(e, index, 8, &p)) < 0) return rc;
		bits = load_le(p, 8);
		memcpy(out, &bits, sizeof(*out));
		return 0;
	}
	case PACS_VR_DS: {
		char *end;
		if ((rc = string_to_number(e, index, buf, sizeof(buf))) < 0) return rc;
		errno = 0;
		double v = strtod(buf, &end);
		if (*end != '\0' || errno != 0 || !isfinite(v))
			return arca_error_set(ARCA_EPROTO, "(%04X,%04X) \"%s\" is not a decimal string",
					      PACS_TAG_GROUP(e->tag), PACS_TAG_ELEMENT(e->tag), buf);
		*out = v;
		return 0;
	}
	default: {
		int64_t v;
		if ((rc = pacs_elem_int(e, index, &v)) < 0) return rc;
		*out = (double)v;
		return 0;
	}
	}
}

#define DS_GET_NUMBER(fn, type, elemfn)                                              \
	int fn(const pacs_ds *ds, uint32_t tag, unsigned index, type *out)              \
	{                                                                                \
		const pacs_elem *e = pacs_ds_find(ds, tag);                              \
		if (e == NULL)                                                           \
			return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) not present",   \
					      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag)); \
		return elemfn(e, index, out);                                            \
	}
DS_GET_NUMBER(pacs_ds_get_uint, uint64_t, pacs_elem_uint)
DS_GET_NUMBER(pacs_ds_get_int, int64_t, pacs_elem_int)
DS_GET_NUMBER(pacs_ds_get_double, double, pacs_elem_double)

const uint8_t *pacs_ds_charset(const pacs_ds *ds, uint32_t *len)
{
	for (; ds != NULL; ds = ds->parent) {
		const pacs_elem *e = pacs_ds_find(ds, PACS_TAG_SPECIFIC_CHARSET);
		if (e != NULL && !(e->flags & PACS_ELEM_BULK) && e->vr != PACS_VR_SQ) {
			*len = e->length;
			return e->u.value;
		}
	}
	*len = 0;
	return NULL;
}

int pacs_elem_utf8(const pacs_ds *ds, const pacs_elem *e, char **out)
{
	pacs_charset *cs = NULL;
	const uint8_t *csv, *v;
	uint32_t cslen, len;
	size_t outlen;
	int rc;

	*out = NULL;
	v = pacs_elem_value(e, &len);
	if (v == NULL)
		return arca_error_set(ARCA_EINVAL, "(%04X,%04X) has no text value",
				      PACS_TAG_GROUP(e->tag), PACS_TAG_ELEMENT(e->tag));
	/* Trailing padding is not part of the value (PS3.5 6.2). */
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\0'))
		len--;
	csv = pacs_elem_vr(e) == PACS_VR_UN || pacs_vr_uses_charset(pacs_elem_vr(e))
		      ? pacs_ds_charset(ds, &cslen) : NULL;
	if (csv == NULL)
		cslen = 0;
	rc = pacs_charset_open(&cs, csv, cslen);
	if (rc < 0)
		return rc;
	rc = pacs_charset_to_utf8(cs, pacs_elem_vr(e), v, len, out, &outlen);
	pacs_charset_free(cs);
	return rc;
}

int pacs_ds_get_utf8(const pacs_ds *ds, uint32_t tag, char **out)
{
	const pacs_elem *e = pacs_ds_find(ds, tag);

	*out = NULL;
	if (e == NULL)
		return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) not present",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	return pacs_elem_utf8(ds, e, out);
}

/* ---- modification ---- */

/* Finds tag or inserts a fresh zeroed element for it in tag order. */
static pacs_elem *ds_slot(pacs_ds *ds, uint32_t tag, pacs_vr vr)
{
	bool found;
	uint32_t i = ds_locate(ds, tag, &found);
	pacs_elem *e;

	if (!found) {
		if (ds_reserve(ds, ds->n + 1) < 0)
			return NULL;
		memmove(&ds->elems[i + 1], &ds->elems[i], (ds->n - i) * sizeof(pacs_elem));
		ds->n++;
	}
	e = &ds->elems[i];
	memset(e, 0, sizeof(*e));
	e->tag = tag;
	e->vr = (uint8_t)vr;
	return e;
}

int pacs_ds_set(pacs_ds *ds, uint32_t tag, pacs_vr vr, const void *value, uint32_t len)
{
	uint8_t *copy;
	pacs_elem *e;

	if (len == PACS_UNDEFINED_LENGTH)
		return arca_error_set(ARCA_EINVAL, "value length 0xFFFFFFFF is reserved");
	copy = pacs_arena__memdup(&ds->root->arena, value, len);
	if (copy == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory setting (%04X,%04X)",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	e = ds_slot(ds, tag, vr);
	if (e == NULL)
		return arca_error_last_code();
	e->length = len;
	e->u.value = copy;
	return 0;
}

int pacs_ds_set_string(pacs_ds *ds, uint32_t tag, pacs_vr vr, const char *s)
{
	size_t n = strlen(s);
	uint8_t *buf;
	int rc;

	if (n >= UINT32_MAX - 1)
		return arca_error_set(ARCA_ELIMIT, "string value too long");
	buf = malloc(n + 1);
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	memcpy(buf, s, n);
	if (n % 2 != 0)
		buf[n++] = pacs_vr_pad_byte(vr);
	rc = pacs_ds_set(ds, tag, vr, buf, (uint32_t)n);
	free(buf);
	return rc;
}

int pacs_ds_set_u16(pacs_ds *ds, uint32_t tag, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return pacs_ds_set(ds, tag, PACS_VR_US, b, 2);
}

int pacs_ds_set_u32(pacs_ds *ds, uint32_t tag, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	return pacs_ds_set(ds, tag, PACS_VR_UL, b, 4);
}

int pacs_ds_remove(pacs_ds *ds, uint32_t tag)
{
	bool found;
	uint32_t i = ds_locate(ds, tag, &found);

	if (!found)
		return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) not present",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	memmove(&ds->elems[i], &ds->elems[i + 1], (ds->n - i - 1) * sizeof(pacs_elem));
	ds->n--;
	return 0;
}

int pacs_ds_set_sequence(pacs_ds *ds, uint32_t tag, pacs_elem **out)
{
	pacs_elem *e = ds_slot(ds, tag, PACS_VR_SQ);

	if (e == NULL)
		return arca_error_last_code();
	e->length = PACS_UNDEFINED_LENGTH;
	e->flags = PACS_ELEM_UNDEF_LENGTH;
	if (out != NULL)
		*out = e;
	return 0;
}

int pacs_ds_add_item(pacs_ds *ds, uint32_t seq_tag, pacs_ds **out)
{
	pacs_elem *seq = pacs_ds_find_mut(ds, seq_tag);
	pacs_ds *item;
	int rc;

	if (seq == NULL) {
		rc = pacs_ds_set_sequence(ds, seq_tag, &seq);
		if (rc < 0)
			return rc;
	}
	if (seq->vr != PACS_VR_SQ)
		return arca_error_set(ARCA_EINVAL, "(%04X,%04X) is not a sequence",
				      PACS_TAG_GROUP(seq_tag), PACS_TAG_ELEMENT(seq_tag));
	item = pacs_ds__new_item(ds, seq);
	if (item == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory adding an item");
	if (out != NULL)
		*out = item;
	return 0;
}

int pacs_ds_set_encapsulated(pacs_ds *ds, uint32_t tag, pacs_vr vr, pacs_elem **out)
{
	pacs_elem *e = ds_slot(ds, tag, vr);

	if (e == NULL)
		return arca_error_last_code();
	e->length = PACS_UNDEFINED_LENGTH;
	e->flags = PACS_ELEM_ENCAPSULATED | PACS_ELEM_UNDEF_LENGTH;
	if (out != NULL)
		*out = e;
	return 0;
}

int pacs_ds_add_fragment(pacs_ds *ds, uint32_t tag, const void *data, uint32_t len)
{
	pacs_elem *e = pacs_ds_find_mut(ds, tag);
	uint8_t *copy;

	if (e == NULL || !(e->flags & PACS_ELEM_ENCAPSULATED) || (e->flags & PACS_ELEM_BULK))
		return arca_error_set(ARCA_EINVAL, "(%04X,%04X) is not an encapsulated value",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	copy = pacs_arena__memdup(&ds->root->arena, data, len);
	if (copy == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory adding a fragment");
	return pacs_ds__add_fragment_ref(ds, e, copy, len, 0);
}

int pacs_ds_set_bulk(pacs_ds *ds, uint32_t tag, pacs_vr vr, uint32_t length, unsigned flags)
{
	pacs_elem *e = ds_slot(ds, tag, vr);

	if (e == NULL)
		return arca_error_last_code();
	e->length = length;
	e->flags = (uint8_t)(flags | PACS_ELEM_BULK);
	return 0;
}
