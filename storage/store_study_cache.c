/* store_study_cache.c - the study hash of the study being received, kept
 * between batches (store_study_cache.h).
 *
 * RFC 9162 2.1.1 splits n leaves at the largest power of two below n, so
 * the tree is a row of perfect subtrees, each aligned on a multiple of its
 * size: one per binary digit of n, joined from the right.  sub[j][i] is the
 * perfect subtree over leaves [i 2^j, (i + 1) 2^j); inserting a leaf at p
 * changes every sub[j][i] with i >= p >> j and no other. */
#include "store_study_cache.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "store_study.h"
#include "store_study_tree.h"

#define HASH_LEN 32
#define LEVELS 64
/* past this many instances the leaves are not kept (about 100 bytes each) */
#define CACHE_MAX_LEAVES 1000000u

typedef struct leaf {
	char *uid;
	uint8_t hash[HASH_LEN]; /* the leaf hash, SHA-256(0x00 || instance hash) */
} leaf;

struct store_study_cache {
	store_study_tree *hasher; /* its context hashes the nodes; never fed leaves */
	bool valid;
	char study[STORE_INDEX_UID_MAX + 1];
	uint64_t mark;
	uint64_t reloads;
	leaf *v;
	size_t n, cap;
	/* sub[j] for j >= 1 (sub[0] is v[].hash): n >> j entries, the first
	 * fresh[j] of them up to date */
	uint8_t (*sub[LEVELS])[HASH_LEN];
	size_t sub_cap[LEVELS];
	size_t fresh[LEVELS];
};

int store_study_cache_new(store_study_cache **out)
{
	store_study_cache *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the study hash cache");
	if ((rc = store_study_tree_new(&c->hasher)) < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

uint64_t store_study_cache_reloads(const store_study_cache *c)
{
	return c->reloads;
}

void store_study_cache_drop(store_study_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].uid);
	c->n = 0;
	c->valid = false;
	c->study[0] = '\0';
	memset(c->fresh, 0, sizeof(c->fresh));
}

void store_study_cache_free(store_study_cache *c)
{
	if (c == NULL)
		return;
	store_study_cache_drop(c);
	free(c->v);
	for (size_t j = 0; j < LEVELS; j++)
		free(c->sub[j]);
	store_study_tree_free(c->hasher);
	free(c);
}

static int node(store_study_cache *c, uint8_t prefix, const uint8_t *a, const uint8_t *b, uint8_t out[HASH_LEN])
{
	return store_study_tree_node(c->hasher, prefix, a, b, out);
}

/* First index whose uid is not below uid; *found when equal. */
static size_t search(const store_study_cache *c, const char *uid, bool *found)
{
	size_t lo = 0, hi = c->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(c->v[mid].uid, uid);
		if (d == 0) {
			*found = true;
			return mid;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void stale_from(store_study_cache *c, size_t p)
{
	for (size_t j = 1; j < LEVELS; j++)
		if (c->fresh[j] > p >> j)
			c->fresh[j] = p >> j;
}

/* Inserts at p (the caller searched): leaves are strdup'ed. */
static int insert(store_study_cache *c, size_t p, const char *uid, const uint8_t instance_hash[HASH_LEN])
{
	leaf l;
	int rc;

	if (c->n >= CACHE_MAX_LEAVES)
		return arca_error_set(ARCA_ELIMIT, "study hash cache: more than %u instances", CACHE_MAX_LEAVES);
	if (c->n == c->cap) {
		size_t cap = c->cap != 0 ? 2 * c->cap : 256;
		leaf *g = realloc(c->v, cap * sizeof(*g));
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the study hash cache");
		c->v = g;
		c->cap = cap;
	}
	if ((rc = node(c, 0x00, instance_hash, NULL, l.hash)) < 0)
		return rc;
	if ((l.uid = strdup(uid)) == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the study hash cache");
	memmove(&c->v[p + 1], &c->v[p], (c->n - p) * sizeof(*c->v));
	c->v[p] = l;
	c->n++;
	stale_from(c, p);
	return 0;
}

/* Reading from the index: leaves come in UID order, so each goes last. */
static int load_leaf(void *ctx, const char *sop_uid, const uint8_t hash[32])
{
	store_study_cache *c = ctx;

	if (c->n > 0 && strcmp(c->v[c->n - 1].uid, sop_uid) >= 0)
		return arca_error_set(ARCA_EPROTO, "study hash cache: the index gave %s after %s", sop_uid,
				      c->v[c->n - 1].uid);
	return insert(c, c->n, sop_uid, hash);
}

static const uint8_t *sub_at(const store_study_cache *c, size_t j, size_t i)
{
	return j == 0 ? c->v[i].hash : c->sub[j][i];
}

/* Brings every level's complete subtrees up to date. */
static int refresh(store_study_cache *c)
{
	int rc;

	for (size_t j = 1; j < LEVELS && (c->n >> j) > 0; j++) {
		size_t count = c->n >> j;
		if (count > c->sub_cap[j]) {
			size_t cap = count * 2;
			void *g = realloc(c->sub[j], cap * HASH_LEN);
			if (g == NULL)
				return arca_error_set(ARCA_ENOMEM, "no memory for the study hash cache");
			c->sub[j] = g;
			c->sub_cap[j] = cap;
		}
		for (size_t i = c->fresh[j]; i < count; i++)
			if ((rc = node(c, 0x01, sub_at(c, j - 1, 2 * i), sub_at(c, j - 1, 2 * i + 1), c->sub[j][i])) < 0)
				return rc;
		c->fresh[j] = count;
	}
	return 0;
}

static int root(store_study_cache *c, uint8_t out[HASH_LEN])
{
	uint8_t acc[HASH_LEN];
	size_t level[LEVELS], at[LEVELS], np = 0, offset = 0;
	int rc;

	if (c->n == 0) /* the hasher was never fed: its root is the empty tree's */
		return store_study_tree_root(c->hasher, out, NULL);
	if ((rc = refresh(c)) < 0)
		return rc;
	/* the perfect subtrees left to right (largest first), each at an
	 * offset that is a multiple of its size */
	for (size_t j = LEVELS; j-- > 0;) {
		if (((c->n >> j) & 1) == 0)
			continue;
		level[np] = j;
		at[np] = offset >> j;
		offset += (size_t)1 << j;
		np++;
	}
	/* joined from the right: MTH(D[k:n]) is the right child */
	memcpy(acc, sub_at(c, level[np - 1], at[np - 1]), HASH_LEN);
	for (size_t k = np - 1; k-- > 0;)
		if ((rc = node(c, 0x01, sub_at(c, level[k], at[k]), acc, acc)) < 0)
			return rc;
	memcpy(out, acc, HASH_LEN);
	return 0;
}

static int reload(store_study_cache *c, store_index *idx, const char *study_uid, uint64_t mark)
{
	int rc;

	store_study_cache_drop(c);
	if (strlen(study_uid) > STORE_INDEX_UID_MAX)
		return arca_error_set(ARCA_EINVAL, "study UID longer than %d characters", STORE_INDEX_UID_MAX);
	if ((rc = store_index_study_leaves(idx, study_uid, load_leaf, c)) < 0) {
		store_study_cache_drop(c);
		return rc;
	}
	snprintf(c->study, sizeof(c->study), "%s", study_uid);
	c->mark = mark;
	c->reloads++;
	c->valid = true;
	return 0;
}

/* Applies the batch; false when it holds something the cache does not
 * model (the caller reloads). */
static int apply(store_study_cache *c, const store_study_change *changes, size_t n, bool *ok)
{
	int rc;

	*ok = true;
	for (size_t i = 0; i < n; i++) {
		bool found;
		size_t p;
		switch (changes[i].outcome) {
		case STORE_INDEX_DUPLICATE:
		case STORE_INDEX_VERSION_KEPT:
			continue; /* the current version is unchanged */
		case STORE_INDEX_NEW:
			p = search(c, changes[i].sop_uid, &found);
			if (found) {
				*ok = false; /* "new" yet known: not ours to explain */
				return 0;
			}
			if ((rc = insert(c, p, changes[i].sop_uid, changes[i].instance_hash)) < 0)
				return rc;
			continue;
		case STORE_INDEX_VERSION_REPLACED:
		default:
			*ok = false;
			return 0;
		}
	}
	return 0;
}

int store_study_cache_hash(store_study_cache *c, store_index *idx, const char *study_uid,
			   const store_study_change *changes, size_t n, uint8_t hash[32], uint32_t *count)
{
	uint64_t mark = 0;
	bool ok = false;
	int rc = store_index_change_mark(idx, &mark);

	if (rc == ARCA_EUNSUPPORTED)
		return store_study_hash(idx, study_uid, hash, count);
	if (rc < 0)
		return rc;
	if (c->valid && c->mark == mark && strcmp(c->study, study_uid) == 0) {
		if ((rc = apply(c, changes, n, &ok)) < 0) {
			store_study_cache_drop(c);
			if (rc == ARCA_ELIMIT) /* grew too large to keep: the index's way */
				return store_study_hash(idx, study_uid, hash, count);
			return rc;
		}
	}
	if (!ok && (rc = reload(c, idx, study_uid, mark)) < 0) {
		if (rc == ARCA_ELIMIT) /* a study too large to keep: the index's way */
			return store_study_hash(idx, study_uid, hash, count);
		return rc;
	}
	if (c->n > UINT32_MAX) {
		store_study_cache_drop(c);
		return arca_error_set(ARCA_ELIMIT, "study %s has more than 2^32 instances", study_uid);
	}
	if ((rc = root(c, hash)) < 0) {
		store_study_cache_drop(c);
		return rc;
	}
	*count = (uint32_t)c->n;
	return 0;
}
