/* chain_merkle.c - the RFC 9162 Merkle tree of a log, built by appending.
 *
 * What is kept, and why:
 *
 *   - every leaf hash (level 0), because proofs for any earlier size need
 *     them;
 *   - the hashes of the perfect subtrees of 2^CACHE_LEVEL leaves and more,
 *     one array per level (level L holds the roots of leaves
 *     [i * 2^L, (i + 1) * 2^L) for every such range already complete).
 *     They add 1/8 of the leaf array, and turn any subtree hash into a
 *     lookup; perfect subtrees below CACHE_LEVEL (at most 8 leaves) are
 *     rehashed from the leaves, 7 node hashes at most;
 *   - the compact range of the current size: the roots of the perfect
 *     subtrees that tile [0, size), one per set bit of size, largest
 *     first.  Appending merges equal-height roots at its end, like a
 *     binary counter's carry, so an append costs 2 hashes on average, and
 *     the current root is a fold of at most log2(size) roots.
 *
 * Every subtree that RFC 9162's recursive definitions (MTH, PATH,
 * SUBPROOF) visit is a range [lo, hi) whose start is a multiple of the
 * smallest power of two >= hi - lo.  Such a range is the sequence of
 * perfect subtrees given by the set bits of hi - lo, largest first, and its
 * MTH folds their roots from the right: that is range_hash() below, which
 * serves the roots at earlier sizes and every hash a proof contains. */
#include "chain_merkle.h"

#include "arca_err.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Perfect subtrees of 2^CACHE_LEVEL (16) leaves and more are stored. */
#define CACHE_LEVEL 4
/* Levels 0 .. 40: CHAIN_MERKLE_MAX_SIZE is 2^40. */
#define LEVELS 41

struct hash_array {
	uint8_t (*h)[CHAIN_HASH_LEN];
	uint64_t n;
	uint64_t cap;
};

struct chain_merkle {
	chain_hasher *hasher;
	/* level[0] holds the leaf hashes; levels 1 .. CACHE_LEVEL - 1 stay empty. */
	struct hash_array level[LEVELS];
	/* The compact range of the current size, largest subtree first. */
	uint8_t range[LEVELS][CHAIN_HASH_LEN];
	unsigned range_height[LEVELS];
	unsigned range_n;
	/* The current size's root, valid until the next append. */
	uint8_t root[CHAIN_HASH_LEN];
	bool root_valid;
};

static int array_reserve(struct hash_array *a, uint64_t want)
{
	uint64_t cap;
	void *p;

	if (want <= a->cap)
		return 0;
	cap = a->cap ? a->cap : 64;
	while (cap < want)
		cap *= 2;
	if (cap > SIZE_MAX / CHAIN_HASH_LEN)
		return arca_error_set(ARCA_ENOMEM, "Merkle tree of %llu leaves does not fit in memory",
				      (unsigned long long)want);
	p = realloc(a->h, (size_t)cap * CHAIN_HASH_LEN);
	if (p == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory growing a Merkle tree to %llu leaves",
				      (unsigned long long)want);
	a->h = p;
	a->cap = cap;
	return 0;
}

int chain_merkle_new(chain_merkle **out)
{
	chain_merkle *t;
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a Merkle tree");
	rc = chain_hasher_new(&t->hasher);
	if (rc < 0) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void chain_merkle_free(chain_merkle *tree)
{
	unsigned i;

	if (tree == NULL)
		return;
	for (i = 0; i < LEVELS; i++)
		free(tree->level[i].h);
	chain_hasher_free(tree->hasher);
	free(tree);
}

uint64_t chain_merkle_size(const chain_merkle *tree)
{
	return tree->level[0].n;
}

int chain_merkle_append_leaf_hash(chain_merkle *tree, const uint8_t leaf_hash[CHAIN_HASH_LEN])
{
	uint8_t merged[LEVELS][CHAIN_HASH_LEN];
	uint8_t cur[CHAIN_HASH_LEN];
	uint64_t n = tree->level[0].n;
	unsigned height = 0, top = tree->range_n, h;
	int rc;

	if (n >= CHAIN_MERKLE_MAX_SIZE)
		return arca_error_set(ARCA_ELIMIT, "Merkle tree is full at %llu leaves",
				      (unsigned long long)n);
	/* Reserve everything first, so that a failure leaves the tree as it was. */
	rc = array_reserve(&tree->level[0], n + 1);
	for (h = CACHE_LEVEL; rc == 0 && h < LEVELS; h++) {
		if (((n + 1) & (((uint64_t)1 << h) - 1)) == 0)
			rc = array_reserve(&tree->level[h], (n + 1) >> h);
	}
	if (rc < 0)
		return rc;

	/* Carry: the new leaf completes a perfect subtree of height h + 1
	 * whenever the compact range ends with one of height h. */
	memcpy(cur, leaf_hash, CHAIN_HASH_LEN);
	while (top > 0 && tree->range_height[top - 1] == height) {
		rc = chain_hash_node(tree->hasher, cur, tree->range[top - 1], cur);
		if (rc < 0)
			return rc;
		top--;
		height++;
		memcpy(merged[height], cur, CHAIN_HASH_LEN);
	}

	memcpy(tree->level[0].h[n], leaf_hash, CHAIN_HASH_LEN);
	tree->level[0].n = n + 1;
	for (h = CACHE_LEVEL; h <= height; h++) {
		struct hash_array *a = &tree->level[h];
		memcpy(a->h[a->n], merged[h], CHAIN_HASH_LEN);
		a->n++;
	}
	memcpy(tree->range[top], cur, CHAIN_HASH_LEN);
	tree->range_height[top] = height;
	tree->range_n = top + 1;
	tree->root_valid = false;
	return 0;
}

int chain_merkle_append_leaf(chain_merkle *tree, const void *entry, size_t len)
{
	uint8_t leaf[CHAIN_HASH_LEN];
	int rc;

	rc = chain_hash_leaf(tree->hasher, leaf, entry, len);
	if (rc < 0)
		return rc;
	return chain_merkle_append_leaf_hash(tree, leaf);
}

int chain_merkle_leaf_hash(const chain_merkle *tree, uint64_t index, uint8_t out[CHAIN_HASH_LEN])
{
	if (index >= tree->level[0].n)
		return arca_error_set(ARCA_EINVAL, "leaf %llu is beyond the tree's %llu leaves",
				      (unsigned long long)index, (unsigned long long)tree->level[0].n);
	memcpy(out, tree->level[0].h[index], CHAIN_HASH_LEN);
	return 0;
}

/* The root of the perfect subtree of height h over leaves
 * [idx * 2^h, (idx + 1) * 2^h), which the caller knows to be complete. */
static int perfect_hash(chain_merkle *tree, unsigned h, uint64_t idx, uint8_t out[CHAIN_HASH_LEN])
{
	uint8_t buf[1u << (CACHE_LEVEL - 1)][CHAIN_HASH_LEN];
	uint64_t first;
	unsigned width, i;
	int rc;

	if (h == 0 || h >= CACHE_LEVEL) {
		memcpy(out, tree->level[h].h[idx], CHAIN_HASH_LEN);
		return 0;
	}
	/* Below CACHE_LEVEL: rehash the (at most 8) leaves pairwise. */
	first = idx << h;
	width = 1u << h;
	memcpy(buf, tree->level[0].h[first], (size_t)width * CHAIN_HASH_LEN);
	while (width > 1) {
		for (i = 0; i < width / 2; i++) {
			rc = chain_hash_node(tree->hasher, buf[i], buf[2 * i], buf[2 * i + 1]);
			if (rc < 0)
				return rc;
		}
		width /= 2;
	}
	memcpy(out, buf[0], CHAIN_HASH_LEN);
	return 0;
}

/* MTH(D[lo:hi]) for a non-empty range of the shape RFC 9162's recursion
 * visits (see the top of this file): its perfect subtrees, largest first,
 * folded from the right. */
static int range_hash(chain_merkle *tree, uint64_t lo, uint64_t hi, uint8_t out[CHAIN_HASH_LEN])
{
	uint8_t parts[LEVELS][CHAIN_HASH_LEN];
	uint64_t len = hi - lo, pos = lo;
	unsigned nparts = 0;
	int h, rc;

	for (h = LEVELS - 1; h >= 0; h--) {
		uint64_t width = (uint64_t)1 << h;
		if ((len & width) == 0)
			continue;
		rc = perfect_hash(tree, (unsigned)h, pos >> h, parts[nparts]);
		if (rc < 0)
			return rc;
		nparts++;
		pos += width;
	}
	while (nparts > 1) {
		rc = chain_hash_node(tree->hasher, parts[nparts - 2], parts[nparts - 2],
				     parts[nparts - 1]);
		if (rc < 0)
			return rc;
		nparts--;
	}
	memcpy(out, parts[0], CHAIN_HASH_LEN);
	return 0;
}

static int check_size(const chain_merkle *tree, uint64_t size, const char *what)
{
	if (size > tree->level[0].n)
		return arca_error_set(ARCA_EINVAL, "%s: size %llu is beyond the tree's %llu leaves",
				      what, (unsigned long long)size,
				      (unsigned long long)tree->level[0].n);
	return 0;
}

int chain_merkle_root(chain_merkle *tree, uint64_t size, uint8_t out[CHAIN_HASH_LEN])
{
	int rc;
	unsigned i;

	rc = check_size(tree, size, "Merkle root");
	if (rc < 0)
		return rc;
	/* RFC 9162 2.1.1: MTH({}) = HASH(). */
	if (size == 0)
		return chain_hash_sha256(tree->hasher, out, "", 0);
	if (size < tree->level[0].n)
		return range_hash(tree, 0, size, out);
	if (!tree->root_valid) {
		/* Fold the cached compact range from the right. */
		memcpy(tree->root, tree->range[tree->range_n - 1], CHAIN_HASH_LEN);
		for (i = tree->range_n - 1; i > 0; i--) {
			rc = chain_hash_node(tree->hasher, tree->root, tree->range[i - 1], tree->root);
			if (rc < 0)
				return rc;
		}
		tree->root_valid = true;
	}
	memcpy(out, tree->root, CHAIN_HASH_LEN);
	return 0;
}

/* The largest power of two smaller than n, for n >= 2 (RFC 9162 2.1.1's k). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* Proofs are collected root-side first while descending; the RFC lists
 * them leaf-side first. */
static int emit_reversed(uint8_t tmp[][CHAIN_HASH_LEN], size_t count,
			 uint8_t out[][CHAIN_HASH_LEN], size_t cap, size_t *n, const char *what)
{
	size_t i;

	if (count > cap)
		return arca_error_set(ARCA_ELIMIT, "%s needs %zu hashes, the buffer holds %zu",
				      what, count, cap);
	for (i = 0; i < count; i++)
		memcpy(out[i], tmp[count - 1 - i], CHAIN_HASH_LEN);
	*n = count;
	return 0;
}

int chain_merkle_inclusion_proof(chain_merkle *tree, uint64_t index, uint64_t size,
				 uint8_t out[][CHAIN_HASH_LEN], size_t cap, size_t *n)
{
	uint8_t tmp[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	uint64_t lo = 0, hi = size;
	size_t count = 0;
	int rc;

	*n = 0;
	rc = check_size(tree, size, "inclusion proof");
	if (rc < 0)
		return rc;
	if (index >= size)
		return arca_error_set(ARCA_EINVAL, "inclusion proof: leaf %llu is not in a tree of %llu leaves",
				      (unsigned long long)index, (unsigned long long)size);
	/* RFC 9162 2.1.3.1: PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n]) if
	 * m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]); PATH(0, {d(0)}) = {}. */
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);
		if (index < lo + k) {
			rc = range_hash(tree, lo + k, hi, tmp[count]);
			hi = lo + k;
		} else {
			rc = range_hash(tree, lo, lo + k, tmp[count]);
			lo += k;
		}
		if (rc < 0)
			return rc;
		count++;
	}
	return emit_reversed(tmp, count, out, cap, n, "inclusion proof");
}

int chain_merkle_consistency_proof(chain_merkle *tree, uint64_t size1, uint64_t size2,
				   uint8_t out[][CHAIN_HASH_LEN], size_t cap, size_t *n)
{
	uint8_t tmp[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	uint64_t lo = 0, hi = size2, m = size1;
	bool whole = true;
	size_t count = 0;
	int rc;

	*n = 0;
	rc = check_size(tree, size2, "consistency proof");
	if (rc < 0)
		return rc;
	if (size1 > size2)
		return arca_error_set(ARCA_EINVAL, "consistency proof: size %llu is larger than size %llu",
				      (unsigned long long)size1, (unsigned long long)size2);
	if (size1 == 0 || size1 == size2)
		return emit_reversed(tmp, 0, out, cap, n, "consistency proof");
	/* RFC 9162 2.1.4.1: PROOF(m, D_n) = SUBPROOF(m, D_n, true);
	 * SUBPROOF(m, D_m, true) = {}, SUBPROOF(m, D_m, false) = {MTH(D_m)};
	 * for m < n: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) if m <= k, else
	 * SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).  `whole` is b: whether
	 * the subtree in hand is the old tree itself, whose root the verifier
	 * already has. */
	for (;;) {
		uint64_t k;

		if (m == hi - lo) {
			if (!whole) {
				rc = range_hash(tree, lo, hi, tmp[count]);
				if (rc < 0)
					return rc;
				count++;
			}
			break;
		}
		k = split_point(hi - lo);
		if (m <= k) {
			rc = range_hash(tree, lo + k, hi, tmp[count]);
			hi = lo + k;
		} else {
			rc = range_hash(tree, lo, lo + k, tmp[count]);
			lo += k;
			m -= k;
			whole = false;
		}
		if (rc < 0)
			return rc;
		count++;
	}
	return emit_reversed(tmp, count, out, cap, n, "consistency proof");
}
