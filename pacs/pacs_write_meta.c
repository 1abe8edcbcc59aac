/* pacs_write_meta.c - the Part 10 header: 128-byte preamble, "DICM", and
 * the File Meta Information group 0002, always Explicit VR Little Endian
 * (PS3.10 7.1, Table 7.1-1). */
#include "pacs_write_priv.h"

#include <string.h>

#include "arca_err.h"

static const pacs_write_enc meta_enc = { true, false };

#define META(e) PACS_TAG(0x0002, (e))

static bool has_meta(const pacs_ds *ds)
{
	for (uint32_t i = 0; i < ds->n; i++)
		if (PACS_TAG_GROUP(ds->elems[i].tag) == 0x0002)
			return true;
	return false;
}

/* Whether the held (0002,0010) names the target transfer syntax. */
static bool held_ts_is(const pacs_ds *ds, const char *uid)
{
	const pacs_elem *e = pacs_ds_find(ds, PACS_TAG_TRANSFER_SYNTAX);
	const char *s;
	size_t n;

	if (e == NULL || pacs_elem_string(e, 0, &s, &n) != 0)
		return false;
	return strlen(uid) == n && memcmp(uid, s, n) == 0;
}

static int write_preamble(pacs_write_ctx *w, const uint8_t *preamble)
{
	static const uint8_t zeros[128];
	int rc = pacs_write__put(w, preamble != NULL ? preamble : zeros, 128);

	return rc < 0 ? rc : pacs_write__put(w, (const uint8_t *)"DICM", 4);
}

/* Sets a UI element of meta to the trimmed value of tag from ds, or of
 * fallback; ARCA_ENOTFOUND if neither holds a value. */
static int copy_uid(pacs_ds *meta, const pacs_ds *ds, uint32_t dst, uint32_t tag, uint32_t fallback)
{
	const uint32_t from[2] = { tag, fallback };
	char uid[80];

	for (unsigned i = 0; i < 2; i++) {
		const pacs_elem *e = pacs_ds_find(ds, from[i]);
		const char *s;
		size_t n;
		if (e == NULL || pacs_elem_string(e, 0, &s, &n) != 0 || n == 0 || n >= sizeof(uid))
			continue;
		memcpy(uid, s, n);
		uid[n] = '\0';
		/* PS3.5 9.1: UIDs are padded to even length with NUL. */
		return pacs_ds_set_string(meta, dst, PACS_VR_UI, uid);
	}
	return ARCA_ENOTFOUND;
}

/* The rebuilt meta group, as a data set of its own so that the element
 * writer and the size pass serve it too. */
static int build_meta(pacs_ds *meta, const pacs_ds *ds, const char *ts_uid)
{
	static const uint8_t version[2] = { 0x00, 0x01 };
	int rc;

	/* PS3.10 7.1: version 00\01 is the only one defined. */
	rc = pacs_ds_set(meta, META(0x0001), PACS_VR_OB, version, 2);
	if (rc < 0)
		return rc;
	rc = copy_uid(meta, ds, META(0x0002), PACS_TAG(0x0008, 0x0016), META(0x0002));
	if (rc == ARCA_ENOTFOUND)
		return arca_error_set(ARCA_EINVAL, "cannot write a Part 10 file without SOP Class UID: "
				      "(0008,0016) and (0002,0002) are both absent");
	if (rc < 0)
		return rc;
	rc = copy_uid(meta, ds, META(0x0003), PACS_TAG(0x0008, 0x0018), META(0x0003));
	if (rc == ARCA_ENOTFOUND)
		return arca_error_set(ARCA_EINVAL, "cannot write a Part 10 file without SOP Instance UID: "
				      "(0008,0018) and (0002,0003) are both absent");
	if (rc < 0)
		return rc;
	if ((rc = pacs_ds_set_string(meta, META(0x0010), PACS_VR_UI, ts_uid)) < 0 ||
	    (rc = pacs_ds_set_string(meta, META(0x0012), PACS_VR_UI, PACS_IMPLEMENTATION_CLASS_UID)) < 0 ||
	    (rc = pacs_ds_set_string(meta, META(0x0013), PACS_VR_SH, PACS_IMPLEMENTATION_VERSION)) < 0)
		return rc;
	/* Everything else held in group 0002 is kept: Source/Sending/Receiving
	 * AE Titles, Private Information Creator UID and Private Information
	 * (0002,0100)/(0002,0102) ... */
	for (uint32_t i = 0; i < ds->n; i++) {
		const pacs_elem *e = &ds->elems[i];
		const uint8_t *v;
		uint32_t len;
		if (PACS_TAG_GROUP(e->tag) != 0x0002 || pacs_ds_find(meta, e->tag) != NULL ||
		    e->tag == META(0x0000))
			continue;
		v = pacs_elem_value(e, &len);
		if (v == NULL)
			continue; /* a sequence or bulk value has no place in the meta group */
		rc = pacs_ds_set(meta, e->tag, (pacs_vr)e->vr, v, len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pacs_write__meta(pacs_write_ctx *w, const pacs_ds *ds)
{
	pacs_ds *meta = NULL;
	uint64_t size;
	int rc;

	if ((w->opts->flags & PACS_WRITE_KEEP_META) && has_meta(ds) && held_ts_is(ds, w->ts_uid)) {
		rc = write_preamble(w, pacs_ds_preamble(ds));
		for (uint32_t i = 0; rc == 0 && i < ds->n; i++) {
			if (PACS_TAG_GROUP(ds->elems[i].tag) != 0x0002)
				continue;
			/* Group 0002 is never recomputed here: written as held. */
			rc = pacs_write__elem(w, ds, i, meta_enc, false);
		}
		return rc;
	}
	rc = pacs_ds_new(&meta);
	if (rc < 0)
		return rc;
	rc = build_meta(meta, ds, w->ts_uid);
	/* PS3.10 7.1: (0002,0000) counts the bytes after its own value up to
	 * the end of the group. */
	if (rc == 0)
		rc = pacs_write__ds_size(w, meta, meta_enc, false, &size);
	if (rc == 0 && size > UINT32_MAX)
		rc = arca_error_set(ARCA_ELIMIT, "meta group too large");
	if (rc == 0)
		rc = pacs_ds_set_u32(meta, META(0x0000), (uint32_t)size);
	if (rc == 0)
		rc = write_preamble(w, NULL);
	if (rc == 0)
		rc = pacs_write__ds(w, meta, meta_enc, false);
	pacs_ds_free(meta);
	return rc;
}
