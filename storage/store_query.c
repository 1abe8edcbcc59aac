/* store_query.c - pacs_query.h on the index: C-FIND cursors that turn index
 * rows into response identifiers, and the instance lists of C-GET and
 * C-MOVE (see store_query.h). */
#include "store_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_tags.h"
#include "store_query_priv.h"

typedef struct find_cursor {
	store_query *sq;
	store_index_query *q;
	pacs_ds *ident;                 /* a copy of the query identifier */
	enum pacs_query_level level;
} find_cursor;

typedef struct list_cursor {
	store_index_query *q;
} list_cursor;

/* ---------------------------------------------------------------- finding */

static int find_build(store_index_find **out, store_query *sq, enum pacs_query_model model,
		      enum pacs_query_level level, const pacs_ds *identifier)
{
	store_index_model m = model == PACS_QUERY_PATIENT_ROOT ? STORE_INDEX_PATIENT_ROOT : STORE_INDEX_STUDY_ROOT;
	int rc;

	(void)sq;
	rc = store_index_find_new(out, m, (store_index_level)level);
	if (rc < 0)
		return rc;
	rc = store_index_find_from_ds(*out, identifier);
	if (rc < 0) {
		store_index_find_free(*out);
		*out = NULL;
	}
	return rc;
}

static void find_close(void *cursor)
{
	find_cursor *fc = cursor;

	if (fc == NULL)
		return;
	store_index_query_free(fc->q);
	pacs_ds_free(fc->ident);
	free(fc);
}

static int find_open(void *ctx, enum pacs_query_model model, enum pacs_query_level level,
		     const pacs_ds *identifier, uint64_t limit, void **cursor)
{
	store_query *sq = ctx;
	store_index_find *find = NULL;
	find_cursor *fc;
	int rc;

	*cursor = NULL;
	fc = calloc(1, sizeof(*fc));
	if (fc == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a C-FIND cursor");
	fc->sq = sq;
	fc->level = level;
	rc = pacs_ds_clone(&fc->ident, identifier);
	if (rc == 0)
		rc = find_build(&find, sq, model, level, identifier);
	if (rc == 0) {
		store_index_find_set_limit(find, limit);
		rc = store_index_query_open(&fc->q, sq->idx, find);
	}
	store_index_find_free(find);
	if (rc < 0) {
		find_close(fc);
		return rc;
	}
	*cursor = fc;
	return 0;
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* One value of a response: binary integer VRs from their decimal text,
 * everything else as text (UTF-8).  NULL or "": empty. */
static int set_value(pacs_ds *out, uint32_t tag, pacs_vr vr, const char *v)
{
	unsigned long n;
	char *end;

	if (v == NULL || v[0] == '\0')
		return pacs_ds_set(out, tag, vr, NULL, 0);
	if (vr == PACS_VR_US || vr == PACS_VR_UL) {
		n = strtoul(v, &end, 10);
		if (*end != '\0')
			return pacs_ds_set(out, tag, vr, NULL, 0);
		return vr == PACS_VR_US ? pacs_ds_set_u16(out, tag, (uint16_t)n) : pacs_ds_set_u32(out, tag, (uint32_t)n);
	}
	return pacs_ds_set_string(out, tag, vr, v);
}

/* Keys the response always carries, set after the requested ones. */
static bool is_added_key(uint32_t tag)
{
	return tag == PACS_TAG_SpecificCharacterSet || tag == PACS_TAG_QueryRetrieveLevel ||
	       tag == PACS_TAG_RetrieveAETitle || tag == PACS_TAG_InstanceAvailability;
}

static int find_response(find_cursor *fc, pacs_ds *out)
{
	size_t n = pacs_ds_count(fc->ident);
	bool utf8 = false;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const pacs_elem *e = pacs_ds_at(fc->ident, i);
		uint32_t tag = pacs_elem_tag(e);
		pacs_vr vr = pacs_elem_vr(e);
		store_index_key_info k;
		const char *v = NULL;

		if (PACS_TAG_GROUP(tag) <= 0x0002 || is_added_key(tag))
			continue;
		if (pacs_elem_is_sequence(e)) {
			/* PS3.4 C.2.2.2.6: a code sequence the index keeps is
			 * returned (its matching items, the requested keys);
			 * any other sequence key is returned empty */
			const char *sv = NULL;

			if (store_index_key_lookup(tag, &k) == 0 && k.match == STORE_INDEX_MATCH_CODE_SEQ &&
			    (int)k.level <= (int)fc->level)
				sv = store_index_query_value(fc->q, tag);
			if (sv != NULL && !is_ascii(sv))
				utf8 = true;
			rc = store_index_code_answer(out, tag, sv,
						     pacs_elem_item_count(e) > 0 ? pacs_elem_item(e, 0) : NULL);
			continue;
		}
		if (store_index_key_lookup(tag, &k) == 0 && (int)k.level <= (int)fc->level)
			v = store_index_query_value(fc->q, tag);
		if (v != NULL && !is_ascii(v))
			utf8 = true;
		if (vr == PACS_VR_UN) {
			pacs_vr dv = pacs_dict_vr(tag);
			if (dv != PACS_VR_UN && dv != 0)
				vr = dv;
		}
		rc = set_value(out, tag, vr, v);
	}
	/* PS3.4 C.4.1.1.3.2: the character set of the values returned */
	if (rc == 0 && (utf8 || pacs_ds_find(fc->ident, PACS_TAG_SpecificCharacterSet) != NULL))
		rc = pacs_ds_set_string(out, PACS_TAG_SpecificCharacterSet, PACS_VR_CS, utf8 ? "ISO_IR 192" : "");
	if (rc == 0)
		rc = pacs_ds_set_string(out, PACS_TAG_QueryRetrieveLevel, PACS_VR_CS,
					pacs_query_level_name(fc->level));
	/* PS3.4 C.4.1.2.3 / C.6.1.1.1: where the matches can be retrieved */
	if (rc == 0)
		rc = pacs_ds_set_string(out, PACS_TAG_RetrieveAETitle, PACS_VR_AE, fc->sq->ae_title);
	if (rc == 0)
		rc = pacs_ds_set_string(out, PACS_TAG_InstanceAvailability, PACS_VR_CS, "ONLINE");
	return rc;
}

static int find_next(void *cursor, pacs_ds **result)
{
	find_cursor *fc = cursor;
	pacs_ds *out = NULL;
	bool row = false;
	int rc;

	*result = NULL;
	rc = store_index_query_next(fc->q, &row);
	if (rc < 0 || !row)
		return rc;
	rc = pacs_ds_new(&out);
	if (rc == 0)
		rc = find_response(fc, out);
	if (rc < 0) {
		pacs_ds_free(out);
		return rc;
	}
	*result = out;
	return 0;
}

/* ---------------------------------------------------------------- listing */

static void list_close(void *cursor)
{
	list_cursor *lc = cursor;

	if (lc == NULL)
		return;
	store_index_query_free(lc->q);
	free(lc);
}

/* PS3.4 C.4.2.2.1, C.4.3.2.1: the identifier's unique keys select the
 * instances; matched at IMAGE level so that every instance below the
 * retrieve level comes out. */
static int list_open(void *ctx, enum pacs_query_model model, enum pacs_query_level level,
		     const pacs_ds *identifier, void **cursor)
{
	store_query *sq = ctx;
	store_index_find *find = NULL;
	list_cursor *lc;
	int rc;

	(void)level;
	*cursor = NULL;
	lc = calloc(1, sizeof(*lc));
	if (lc == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a retrieve cursor");
	rc = find_build(&find, sq, model, PACS_QUERY_IMAGE, identifier);
	if (rc == 0 && pacs_ds_find(identifier, PACS_TAG_SOPClassUID) == NULL)
		rc = store_index_find_add(find, PACS_TAG_SOPClassUID, NULL);
	/* the files backend finds an instance by its three UIDs */
	if (rc == 0 && pacs_ds_find(identifier, PACS_TAG_StudyInstanceUID) == NULL)
		rc = store_index_find_add(find, PACS_TAG_StudyInstanceUID, NULL);
	if (rc == 0 && pacs_ds_find(identifier, PACS_TAG_SeriesInstanceUID) == NULL)
		rc = store_index_find_add(find, PACS_TAG_SeriesInstanceUID, NULL);
	if (rc == 0)
		rc = store_index_query_open(&lc->q, sq->idx, find);
	store_index_find_free(find);
	if (rc < 0) {
		list_close(lc);
		return rc;
	}
	*cursor = lc;
	return 0;
}

static int list_next(void *cursor, pacs_query_item *item, bool *has)
{
	list_cursor *lc = cursor;
	store_index_storage st;
	const char *v;
	int rc;

	memset(item, 0, sizeof(*item));
	rc = store_index_query_next(lc->q, has);
	if (rc < 0 || !*has)
		return rc;
	rc = store_index_query_storage(lc->q, &st);
	if (rc < 0)
		return rc;
	v = store_index_query_value(lc->q, PACS_TAG_SOPClassUID);
	snprintf(item->sop_class_uid, sizeof(item->sop_class_uid), "%s", v != NULL ? v : "");
	v = store_index_query_value(lc->q, PACS_TAG_SOPInstanceUID);
	snprintf(item->sop_instance_uid, sizeof(item->sop_instance_uid), "%s", v != NULL ? v : "");
	snprintf(item->transfer_syntax, sizeof(item->transfer_syntax), "%s", st.transfer_syntax);
	v = store_index_query_value(lc->q, PACS_TAG_StudyInstanceUID);
	snprintf(item->study_instance_uid, sizeof(item->study_instance_uid), "%s", v != NULL ? v : "");
	v = store_index_query_value(lc->q, PACS_TAG_SeriesInstanceUID);
	snprintf(item->series_instance_uid, sizeof(item->series_instance_uid), "%s", v != NULL ? v : "");
	item->size = st.size;
	memcpy(item->manifest, st.manifest, sizeof(item->manifest));
	return 0;
}

/* ---------------------------------------------------------------- object */

static const pacs_query_ops find_only_ops = {
	.open = find_open,
	.next = find_next,
	.close = find_close,
	.list_open = list_open,
	.list_next = list_next,
	.list_close = list_close,
	.write_instance = store_query__write_instance,
};

int store_query_new(store_query **out, store_index *idx, store_cas *cas, const char *ae_title)
{
	store_query *sq;

	*out = NULL;
	if (idx == NULL || ae_title == NULL || ae_title[0] == '\0' || strlen(ae_title) > 16)
		return arca_error_set(ARCA_EINVAL, "store_query_new: an index and an AE title of 1-16 characters");
	sq = calloc(1, sizeof(*sq));
	if (sq == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the query interface");
	sq->idx = idx;
	sq->cas = cas;
	snprintf(sq->ae_title, sizeof(sq->ae_title), "%s", ae_title);
	*out = sq;
	return 0;
}

int store_query_set_files_root(store_query *sq, const char *instances)
{
	if (instances == NULL || instances[0] == '\0' || strlen(instances) >= sizeof(sq->files_root))
		return arca_error_set(ARCA_EINVAL, "store_query_set_files_root: a path below %zu bytes",
				      sizeof(sq->files_root));
	snprintf(sq->files_root, sizeof(sq->files_root), "%s", instances);
	return 0;
}

void store_query_free(store_query *sq)
{
	free(sq);
}

void store_query_interface(store_query *sq, pacs_query *out)
{
	out->ops = &find_only_ops;
	out->ctx = sq;
}
