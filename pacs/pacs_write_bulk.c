/* pacs_write_bulk.c - values that are not held in the data set
 * (PACS_ELEM_BULK) are pulled from the caller's bulk source while the
 * element is written: native values through pacs_write_bytes, encapsulated
 * ones (PS3.5 A.4) one fragment at a time through pacs_write_fragment. */
#include "pacs_write_priv.h"

#include <string.h>

#include "arca_err.h"

#define TAG_FMT "(%04X,%04X)"
#define TAG_ARGS(t) PACS_TAG_GROUP(t), PACS_TAG_ELEMENT(t)

static const pacs_write_enc encapsulated_enc = { true, false };

int pacs_write__bulk(pacs_write_ctx *w, const pacs_ds *parent, const pacs_elem *e,
		     unsigned swap, bool encapsulated)
{
	pacs_write_bulk *b = &w->bulk;
	int rc;

	memset(b, 0, sizeof(*b));
	b->active = true;
	b->encapsulated = encapsulated;
	b->tag = e->tag;
	b->remaining = encapsulated ? 0 : e->length;
	b->swap = swap;
	rc = w->opts->bulk_fn(w->opts->bulk_ctx, w, parent, e);
	b->active = false;
	if (rc < 0) {
		if (arca_error_last_code() != rc)
			arca_error_set(rc, "bulk source failed for " TAG_FMT " (%s)", TAG_ARGS(e->tag),
				       arca_strerror(rc));
		return rc;
	}
	if (!encapsulated && b->remaining != 0)
		return arca_error_set(ARCA_EPROTO, "bulk source for " TAG_FMT " stopped %llu bytes short "
				      "of the element length %u", TAG_ARGS(e->tag),
				      (unsigned long long)b->remaining, e->length);
	if (encapsulated && b->frag_remaining != 0)
		return arca_error_set(ARCA_EPROTO, "bulk source for " TAG_FMT " stopped %u bytes short "
				      "of the end of fragment %u", TAG_ARGS(e->tag), b->frag_remaining,
				      b->nfrags - 1);
	if (encapsulated && b->nfrags == 0)
		return arca_error_set(ARCA_EPROTO, "bulk source for " TAG_FMT " produced no fragment; the "
				      "Basic Offset Table item comes first, even if empty (PS3.5 A.4)",
				      TAG_ARGS(e->tag));
	return 0;
}

/* Native value: swap whole words, keeping a partial word for the next call. */
static int put_native(pacs_write_ctx *w, const uint8_t *data, size_t len)
{
	pacs_write_bulk *b = &w->bulk;
	size_t done = 0, whole;
	int rc;

	if (b->swap <= 1)
		return pacs_write__put(w, data, len);
	while (b->ncarry > 0 && done < len) {
		b->carry[b->ncarry++] = data[done++];
		if (b->ncarry == b->swap) {
			rc = pacs_write__put_swapped(w, b->carry, b->swap, b->swap);
			if (rc < 0)
				return rc;
			b->ncarry = 0;
		}
	}
	whole = (len - done) - (len - done) % b->swap;
	rc = pacs_write__put_swapped(w, data + done, whole, b->swap);
	if (rc < 0)
		return rc;
	done += whole;
	memcpy(b->carry + b->ncarry, data + done, len - done);
	b->ncarry += (unsigned)(len - done);
	/* A value whose length is not a multiple of the word ends with its
	 * odd bytes unswapped, as pacs_write__put_swapped does. */
	if (b->remaining == 0 && b->ncarry > 0) {
		rc = pacs_write__put(w, b->carry, b->ncarry);
		b->ncarry = 0;
	}
	return rc;
}

int pacs_write_bytes(pacs_write_ctx *w, const uint8_t *data, size_t len)
{
	pacs_write_bulk *b = &w->bulk;

	if (!b->active)
		return arca_error_set(ARCA_EINVAL, "pacs_write_bytes called outside a bulk source");
	if (len == 0)
		return 0;
	if (b->encapsulated) {
		if (len > b->frag_remaining)
			return arca_error_set(ARCA_EPROTO, "bulk source for " TAG_FMT " wrote %zu bytes where "
					      "fragment %u has %u left (start each fragment with "
					      "pacs_write_fragment)", TAG_ARGS(b->tag), len,
					      b->nfrags ? b->nfrags - 1 : 0, b->frag_remaining);
		b->frag_remaining -= (uint32_t)len;
		return pacs_write__put(w, data, len);
	}
	if (len > b->remaining)
		return arca_error_set(ARCA_EPROTO, "bulk source for " TAG_FMT " wrote more than the element "
				      "length", TAG_ARGS(b->tag));
	b->remaining -= len;
	return put_native(w, data, len);
}

int pacs_write_fragment(pacs_write_ctx *w, const uint8_t *data, uint32_t len)
{
	pacs_write_bulk *b = &w->bulk;
	int rc;

	if (!b->active || !b->encapsulated)
		return arca_error_set(ARCA_EINVAL, "pacs_write_fragment called outside the bulk source "
				      "of an encapsulated element");
	if (b->frag_remaining != 0)
		return arca_error_set(ARCA_EPROTO, "bulk source for " TAG_FMT " started a fragment with %u "
				      "bytes of fragment %u still to write", TAG_ARGS(b->tag),
				      b->frag_remaining, b->nfrags - 1);
	if (len == PACS_UNDEFINED_LENGTH)
		return arca_error_set(ARCA_EINVAL, "fragment length 0xFFFFFFFF is reserved (PS3.5 A.4)");
	/* PS3.5 A.4: each fragment is an item with a defined length. */
	rc = pacs_write__item_header(w, encapsulated_enc, PACS_TAG_ITEM, len);
	if (rc < 0)
		return rc;
	b->nfrags++;
	if (data == NULL) {
		b->frag_remaining = len;
		return 0;
	}
	return pacs_write__put(w, data, len);
}
