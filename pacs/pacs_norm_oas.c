/* pacs_norm_oas.c - recording what a normalisation run changed, as PS3.3
 * C.12.1.1.9 prescribes for the Original Attributes Sequence (0400,0561):
 *
 *   one new item per run, holding
 *   (0400,0550) Modified Attributes Sequence, one item: every top-level
 *               attribute that was changed, added or removed, with its
 *               value as received.  A change inside a sequence records
 *               the whole top-level sequence as it was.  An attribute that
 *               was absent and got a value is recorded with a zero length
 *               value.  An attribute whose value did not conform to its VR
 *               is recorded with a zero length value too, and its original
 *               bytes go to
 *   (0400,0551) Nonconforming Modified Attributes Sequence: per attribute
 *               Selector Attribute (0072,0026), Selector Value Number
 *               (0072,0028) = 0 (all values) and Nonconforming Data
 *               Element Value (0400,0552), the bytes as received (OB).
 *   (0400,0562) Attribute Modification DateTime
 *   (0400,0563) Modifying System
 *   (0400,0564) Source of Previous Values (Type 2: empty when unknown)
 *   (0400,0565) Reason for the Attribute Modification: COERCE or CORRECT
 *
 * Character sets: the originals keep their bytes.  When the run converted
 * the data set to ISO_IR 192, (0008,0005) itself is among the modified
 * attributes, so the Modified Attributes Sequence item holds the original
 * Specific Character Set, and by PS3.5 7.5.3 a Specific Character Set in
 * an item applies to that item: the originals decode as they were sent. */
#include "pacs_norm_priv.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_tags.h"

typedef struct nonconf {
	uint32_t tag;
	uint8_t *bytes;
	uint32_t len;
} nonconf;

struct norm_rec {
	pacs_ds *pending; /* originals, a root of its own until the end */
	uint32_t *done;
	size_t n_done, cap_done;
	nonconf *nc;
	size_t n_nc, cap_nc;
};

int pacs_norm__rec_new(norm_rec **out)
{
	norm_rec *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (r == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	if ((rc = pacs_ds_new(&r->pending)) < 0) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void pacs_norm__rec_free(norm_rec *r)
{
	if (r == NULL)
		return;
	pacs_ds_free(r->pending);
	for (size_t i = 0; i < r->n_nc; i++)
		free(r->nc[i].bytes);
	free(r->nc);
	free(r->done);
	free(r);
}

bool pacs_norm__rec_empty(const norm_rec *r)
{
	return r->n_done == 0;
}

int pacs_norm__copy_elem(pacs_ds *dst, const pacs_elem *e)
{
	uint32_t tag = pacs_elem_tag(e);
	pacs_vr vr = pacs_elem_vr(e);
	unsigned flags = pacs_elem_flags(e);
	const uint8_t *v;
	uint32_t n;
	int rc;

	if (pacs_elem_is_sequence(e)) {
		if ((rc = pacs_ds_set_sequence(dst, tag, NULL)) < 0)
			return rc;
		for (size_t i = 0; i < pacs_elem_item_count(e); i++) {
			const pacs_ds *src = pacs_elem_item(e, i);
			pacs_ds *item;
			if ((rc = pacs_ds_add_item(dst, tag, &item)) < 0)
				return rc;
			for (size_t k = 0; k < pacs_ds_count(src); k++)
				if ((rc = pacs_norm__copy_elem(item, pacs_ds_at(src, k))) < 0)
					return rc;
		}
		return 0;
	}
	if ((flags & PACS_ELEM_ENCAPSULATED) && !(flags & PACS_ELEM_BULK)) {
		if ((rc = pacs_ds_set_encapsulated(dst, tag, vr, NULL)) < 0)
			return rc;
		for (size_t i = 0; i < pacs_elem_fragment_count(e); i++) {
			const uint8_t *f = pacs_elem_fragment(e, i, &n);
			if ((rc = pacs_ds_add_fragment(dst, tag, f != NULL ? f : (const uint8_t *)"", n)) < 0)
				return rc;
		}
		return 0;
	}
	v = pacs_elem_value(e, &n);
	if (v == NULL) /* a bulk value is not held: it was not changed either */
		return pacs_ds_set(dst, tag, vr, "", 0);
	return pacs_ds_set(dst, tag, vr, v, n);
}

static bool was_done(const norm_rec *r, uint32_t tag)
{
	for (size_t i = 0; i < r->n_done; i++)
		if (r->done[i] == tag)
			return true;
	return false;
}

static int mark_done(norm_rec *r, uint32_t tag)
{
	if (r->n_done == r->cap_done) {
		size_t cap = r->cap_done ? r->cap_done * 2 : 16;
		uint32_t *grown = realloc(r->done, cap * sizeof(*grown));
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory");
		r->done = grown;
		r->cap_done = cap;
	}
	r->done[r->n_done++] = tag;
	return 0;
}

static int add_nonconf(norm_rec *r, uint32_t tag, const uint8_t *v, uint32_t n)
{
	nonconf *x;

	if (r->n_nc == r->cap_nc) {
		size_t cap = r->cap_nc ? r->cap_nc * 2 : 8;
		nonconf *grown = realloc(r->nc, cap * sizeof(*grown));
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory");
		r->nc = grown;
		r->cap_nc = cap;
	}
	x = &r->nc[r->n_nc];
	x->tag = tag;
	x->len = n;
	x->bytes = malloc(n > 0 ? n : 1);
	if (x->bytes == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	if (n > 0)
		memcpy(x->bytes, v, n);
	r->n_nc++;
	return 0;
}

int pacs_norm__record(norm_rec *r, const pacs_ds *root, uint32_t top)
{
	const pacs_elem *e;
	int rc;

	if (was_done(r, top))
		return 0;
	if ((rc = mark_done(r, top)) < 0)
		return rc;
	e = pacs_ds_find(root, top);
	if (e == NULL) {
		/* PS3.3 C.12.1.1.9: absent, now with a value: zero length. */
		pacs_vr vr = pacs_dict_vr(top);
		if (vr == PACS_VR_SQ)
			return pacs_ds_set_sequence(r->pending, top, NULL);
		return pacs_ds_set(r->pending, top, vr, "", 0);
	}
	if (!pacs_elem_is_sequence(e) && !PACS_TAG_IS_PRIVATE(top) && !pacs_norm__elem_conforms(e)) {
		/* PS3.3 C.12.1.1.9: nonconforming to its VR: zero length here,
		 * the bytes in the Nonconforming Modified Attributes Sequence. */
		uint32_t n;
		const uint8_t *v = pacs_elem_value(e, &n);
		if ((rc = pacs_ds_set(r->pending, top, pacs_elem_vr(e), "", 0)) < 0)
			return rc;
		return add_nonconf(r, top, v, n);
	}
	if ((rc = pacs_norm__copy_elem(r->pending, e)) < 0)
		return rc;
	if (PACS_TAG_IS_PRIVATE(top) && PACS_TAG_ELEMENT(top) >= 0x1000) {
		/* PS3.3 C.12.1.1.9: private elements come with their Private
		 * Creator (gggg,00xx), xx the block of the element (PS3.5 7.8.1). */
		uint32_t creator = PACS_TAG(PACS_TAG_GROUP(top), PACS_TAG_ELEMENT(top) >> 8);
		const pacs_elem *ce = pacs_ds_find(root, creator);
		if (ce != NULL && pacs_ds_find(r->pending, creator) == NULL)
			return pacs_norm__copy_elem(r->pending, ce);
	}
	return 0;
}

static int cmp_nonconf(const void *a, const void *b)
{
	uint32_t x = ((const nonconf *)a)->tag, y = ((const nonconf *)b)->tag;
	return x < y ? -1 : x > y;
}

/* Text for the LO values of the new item, in the data set's character set
 * (the item has none of its own).  Backslash (the value delimiter) and
 * control characters, and characters that set cannot hold, become '?':
 * these are labels, not data the sender gave. */
static int set_lo(pacs_ds *item, uint32_t tag, const char *utf8)
{
	size_t len = strlen(utf8);
	char *copy = strdup(utf8);
	uint8_t *bytes = NULL;
	size_t n;
	bool ascii = true;
	int rc;

	if (copy == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		if (copy[i] == '\\' || (unsigned char)copy[i] < 0x20 || copy[i] == 0x7F)
			copy[i] = '?';
		ascii = ascii && (unsigned char)copy[i] < 0x80;
	}
	if (!ascii) {
		rc = pacs_norm__text_encode(item, PACS_VR_LO, false, copy, len, &bytes, &n);
		if (rc == 0) {
			rc = pacs_ds_set(item, tag, PACS_VR_LO, bytes, (uint32_t)n);
			free(bytes);
			free(copy);
			return rc;
		}
		arca_error_clear();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)copy[i] >= 0x80)
				copy[i] = '?';
	}
	rc = pacs_ds_set_string(item, tag, PACS_VR_LO, copy);
	free(copy);
	return rc;
}

int pacs_norm__rec_finish(norm_rec *r, pacs_ds *root, const char *now, const char *system,
			  const char *source, const char *reason)
{
	const pacs_elem *old = pacs_ds_find(root, PACS_TAG_OriginalAttributesSequence);
	pacs_ds *item, *mas;
	int rc;

	if (old != NULL && !pacs_elem_is_sequence(old)) {
		/* A (0400,0561) that is not a sequence (e.g. sent as UN) is
		 * replaced; its bytes are kept among the originals. */
		if ((rc = pacs_norm__record(r, root, PACS_TAG_OriginalAttributesSequence)) < 0 ||
		    (rc = pacs_ds_remove(root, PACS_TAG_OriginalAttributesSequence)) < 0)
			return rc;
	}
	/* PS3.3 C.12.1.1.9: existing items are kept, ours is appended. */
	if ((rc = pacs_ds_add_item(root, PACS_TAG_OriginalAttributesSequence, &item)) < 0 ||
	    (rc = pacs_ds_add_item(item, PACS_TAG_ModifiedAttributesSequence, &mas)) < 0)
		return rc;
	for (size_t i = 0; i < pacs_ds_count(r->pending); i++)
		if ((rc = pacs_norm__copy_elem(mas, pacs_ds_at(r->pending, i))) < 0)
			return rc;
	/* in tag order, like everything else in a data set */
	if (r->n_nc > 1)
		qsort(r->nc, r->n_nc, sizeof(r->nc[0]), cmp_nonconf);
	for (size_t i = 0; i < r->n_nc; i++) {
		const nonconf *x = &r->nc[i];
		uint8_t at[4] = {(uint8_t)(x->tag >> 16), (uint8_t)(x->tag >> 24), (uint8_t)x->tag,
				 (uint8_t)(x->tag >> 8)};
		pacs_ds *nci;
		uint8_t *ob = malloc((size_t)x->len + 1);

		if (ob == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory");
		if (x->len > 0)
			memcpy(ob, x->bytes, x->len);
		/* OB values have even length (PS3.5 7.1.1): a NUL pads an odd one */
		if (x->len % 2 != 0)
			ob[x->len] = 0;
		rc = pacs_ds_add_item(item, PACS_TAG_NonconformingModifiedAttributesSequence, &nci);
		if (rc == 0)
			rc = pacs_ds_set(nci, PACS_TAG_SelectorAttribute, PACS_VR_AT, at, 4);
		if (rc == 0) {
			/* PS3.3 10.17: Selector Value Number 0 is any value: the
			 * whole attribute was replaced. */
			uint8_t zero[2] = {0, 0};
			rc = pacs_ds_set(nci, PACS_TAG_SelectorValueNumber, PACS_VR_US, zero, 2);
		}
		if (rc == 0)
			rc = pacs_ds_set(nci, PACS_TAG_NonconformingDataElementValue, PACS_VR_OB, ob,
					 x->len + (x->len % 2));
		free(ob);
		if (rc < 0)
			return rc;
	}
	if ((rc = pacs_ds_set_string(item, PACS_TAG_AttributeModificationDateTime, PACS_VR_DT, now)) < 0 ||
	    (rc = set_lo(item, PACS_TAG_ModifyingSystem, system)) < 0 ||
	    (rc = set_lo(item, PACS_TAG_SourceOfPreviousValues, source != NULL ? source : "")) < 0 ||
	    (rc = pacs_ds_set_string(item, PACS_TAG_ReasonForTheAttributeModification, PACS_VR_CS, reason)) < 0)
		return rc;
	return 0;
}
