/* store_study.c - a study's hash as the index holds it now (store_study.h). */
#include "store_study.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_tags.h"
#include "store_instance.h"
#include "store_study_tree.h"

typedef struct refs {
	store_instance_ref *v;
	size_t n, cap;
} refs;

static void refs_free(refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free((char *)r->v[i].sop_instance_uid);
	free(r->v);
}

static int refs_add(refs *r, const char *study, const char *sop, const uint8_t hash[32])
{
	if (r->n == r->cap) {
		size_t cap = r->cap != 0 ? 2 * r->cap : 64;
		store_instance_ref *g = realloc(r->v, cap * sizeof(*g));
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the instances of study %s", study);
		r->v = g;
		r->cap = cap;
	}
	if ((r->v[r->n].sop_instance_uid = strdup(sop)) == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the instances of study %s", study);
	memcpy(r->v[r->n].hash, hash, sizeof(r->v[r->n].hash));
	r->n++;
	return 0;
}

/* Through a C-FIND of the study's instances: any backend. */
static int hash_by_find(store_index *idx, const char *study_uid, uint8_t hash[32], uint32_t *count)
{
	store_index_find *find = NULL;
	store_index_query *q = NULL;
	store_index_storage st;
	refs r = { NULL, 0, 0 };
	bool row;
	int rc;

	if ((rc = store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_IMAGE)) < 0)
		return rc;
	if ((rc = store_index_find_add(find, PACS_TAG_StudyInstanceUID, study_uid)) < 0 ||
	    (rc = store_index_find_add(find, PACS_TAG_SOPInstanceUID, NULL)) < 0 ||
	    (rc = store_index_query_open(&q, idx, find)) < 0)
		goto out;
	while ((rc = store_index_query_next(q, &row)) == 0 && row) {
		const char *sop = store_index_query_value(q, PACS_TAG_SOPInstanceUID);
		if (sop == NULL) {
			rc = arca_error_set(ARCA_EPROTO, "study %s: an instance row has no SOP Instance UID", study_uid);
			goto out;
		}
		if ((rc = store_index_query_storage(q, &st)) < 0 || (rc = refs_add(&r, study_uid, sop, st.instance_hash)) < 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	if (r.n > UINT32_MAX) {
		rc = arca_error_set(ARCA_ELIMIT, "study %s has more than 2^32 instances", study_uid);
		goto out;
	}
	*count = (uint32_t)r.n;
	rc = store_instance_study_hash(r.v, r.n, hash);
out:
	store_index_query_free(q);
	store_index_find_free(find);
	refs_free(&r);
	return rc;
}

static int add_leaf(void *ctx, const char *sop_uid, const uint8_t hash[32])
{
	(void)sop_uid;
	return store_study_tree_add(ctx, hash);
}

int store_study_hash(store_index *idx, const char *study_uid, uint8_t hash[32], uint32_t *count)
{
	store_study_tree *tree = NULL;
	uint64_t n = 0;
	int rc;

	/* The leaves in order from one statement into a tree that keeps one
	 * hash per level: arcad computes this for every batch of a study
	 * being received, so a study of N instances costs N leaf reads per
	 * batch, not a C-FIND, a sort and a copy of every UID. */
	if ((rc = store_study_tree_new(&tree)) < 0)
		return rc;
	rc = store_index_study_leaves(idx, study_uid, add_leaf, tree);
	if (rc == ARCA_EUNSUPPORTED) {
		store_study_tree_free(tree);
		return hash_by_find(idx, study_uid, hash, count);
	}
	if (rc == 0)
		rc = store_study_tree_root(tree, hash, &n);
	if (rc == 0 && n > UINT32_MAX)
		rc = arca_error_set(ARCA_ELIMIT, "study %s has more than 2^32 instances", study_uid);
	if (rc == 0)
		*count = (uint32_t)n;
	store_study_tree_free(tree);
	return rc;
}
