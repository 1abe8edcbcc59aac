/* chain_merkle_test.c - the RFC 9162 Merkle tree against vectors from an
 * independent implementation, proof verification both ways, and the
 * figures of a 1,000,000-leaf tree.
 *
 * The vectors in tests/data/merkle_vectors.txt come from
 * tests/merkle_ref.py, a transcription of RFC 9162's recursive definitions
 * that shares nothing with chain/.  To regenerate them:
 *     python3 tests/merkle_ref.py > tests/data/merkle_vectors.txt */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"
#include "chain_hash.h"
#include "chain_merkle.h"

#define VEC_MAX 70
#define BIG_SIZE 1000000

/* ---- the vectors file ---- */

struct vectors {
	uint8_t node[VEC_MAX + 1][VEC_MAX + 1][CHAIN_HASH_LEN]; /* MTH(D[lo:hi]) */
	int has_node[VEC_MAX + 1][VEC_MAX + 1];
	uint8_t root[VEC_MAX + 1][CHAIN_HASH_LEN];
	char *incl[VEC_MAX + 1][VEC_MAX + 1]; /* [n][m]: "lo:hi lo:hi ..." or "-" */
	char *cons[VEC_MAX + 1][VEC_MAX + 1]; /* [m][n] */
};

static void hex_to_bytes(const char *hex, uint8_t out[CHAIN_HASH_LEN])
{
	size_t i;

	assert_int_equal(strlen(hex), 2 * CHAIN_HASH_LEN);
	for (i = 0; i < CHAIN_HASH_LEN; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static FILE *open_vectors(void)
{
	const char *srcdir = getenv("ARCA_SRCDIR");
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/merkle_vectors.txt",
		 srcdir != NULL ? srcdir : ARCA_TEST_SRCDIR);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (run from make check, or set ARCA_SRCDIR)", path);
	return f;
}

static struct vectors *load_vectors(void)
{
	struct vectors *v = calloc(1, sizeof(*v));
	char line[2048], hex[80], rest[1900];
	unsigned a, b, roots = 0, incls = 0, conses = 0;
	FILE *f = open_vectors();

	assert_non_null(v);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (sscanf(line, "node %u %u %79s", &a, &b, hex) == 3) {
			assert_true(a < b && b <= VEC_MAX);
			hex_to_bytes(hex, v->node[a][b]);
			v->has_node[a][b] = 1;
		} else if (sscanf(line, "root %u %79s", &a, hex) == 2) {
			assert_true(a <= VEC_MAX);
			hex_to_bytes(hex, v->root[a]);
			roots++;
		} else if (sscanf(line, "incl %u %u %1899[^\n]", &a, &b, rest) == 3) {
			assert_true(b < a && a <= VEC_MAX);
			v->incl[a][b] = strdup(rest);
			incls++;
		} else if (sscanf(line, "cons %u %u %1899[^\n]", &a, &b, rest) == 3) {
			assert_true(a <= b && b <= VEC_MAX);
			v->cons[a][b] = strdup(rest);
			conses++;
		} else {
			fail_msg("unreadable vector line: %s", line);
		}
	}
	fclose(f);
	/* sizes 0..70; every (n, m < n) for n = 1..70; every 1 <= m <= n <= 70 */
	assert_int_equal(roots, VEC_MAX + 1);
	assert_int_equal(incls, VEC_MAX * (VEC_MAX + 1) / 2);
	assert_int_equal(conses, VEC_MAX * (VEC_MAX + 1) / 2);
	return v;
}

static void free_vectors(struct vectors *v)
{
	unsigned a, b;

	for (a = 0; a <= VEC_MAX; a++)
		for (b = 0; b <= VEC_MAX; b++) {
			free(v->incl[a][b]);
			free(v->cons[a][b]);
		}
	free(v);
}

/* Resolves "lo:hi lo:hi ..." to hashes via the node table. */
static size_t expected_proof(const struct vectors *v, const char *spec,
			     uint8_t out[][CHAIN_HASH_LEN])
{
	const char *p = spec;
	size_t n = 0;

	if (strcmp(spec, "-") == 0)
		return 0;
	while (*p != '\0') {
		unsigned lo, hi;
		int used;
		assert_int_equal(sscanf(p, "%u:%u%n", &lo, &hi, &used), 2);
		assert_true(lo < hi && hi <= VEC_MAX && v->has_node[lo][hi]);
		assert_true(n < CHAIN_MERKLE_MAX_PROOF);
		memcpy(out[n++], v->node[lo][hi], CHAIN_HASH_LEN);
		p += used;
		while (*p == ' ')
			p++;
	}
	return n;
}

static chain_merkle *build(uint64_t n)
{
	chain_merkle *t;
	char entry[32];
	uint64_t i;

	assert_int_equal(chain_merkle_new(&t), 0);
	for (i = 0; i < n; i++) {
		int len = snprintf(entry, sizeof(entry), "entry-%llu", (unsigned long long)i);
		assert_int_equal(chain_merkle_append_leaf(t, entry, (size_t)len), 0);
	}
	return t;
}

/* ---- vectors ---- */

static void test_roots_match_reference(void **state)
{
	struct vectors *v = load_vectors();
	chain_merkle *full = build(VEC_MAX), *grow;
	uint8_t root[CHAIN_HASH_LEN], leaf[CHAIN_HASH_LEN];
	unsigned n, i;
	(void)state;

	/* Earlier sizes of the full tree (the range path) ... */
	for (n = 0; n <= VEC_MAX; n++) {
		assert_int_equal(chain_merkle_root(full, n, root), 0);
		assert_memory_equal(root, v->root[n], CHAIN_HASH_LEN);
	}
	/* ... and the current size while growing (the compact range path). */
	grow = build(0);
	assert_int_equal(chain_merkle_root(grow, 0, root), 0);
	assert_memory_equal(root, v->root[0], CHAIN_HASH_LEN);
	for (n = 1; n <= VEC_MAX; n++) {
		char entry[16];
		int len = snprintf(entry, sizeof(entry), "entry-%u", n - 1);
		assert_int_equal(chain_merkle_append_leaf(grow, entry, (size_t)len), 0);
		assert_int_equal(chain_merkle_size(grow), n);
		assert_int_equal(chain_merkle_root(grow, n, root), 0);
		assert_memory_equal(root, v->root[n], CHAIN_HASH_LEN);
		/* twice: the cached root */
		assert_int_equal(chain_merkle_root(grow, n, root), 0);
		assert_memory_equal(root, v->root[n], CHAIN_HASH_LEN);
	}
	for (i = 0; i < VEC_MAX; i++) {
		assert_int_equal(chain_merkle_leaf_hash(full, i, leaf), 0);
		assert_memory_equal(leaf, v->node[i][i + 1], CHAIN_HASH_LEN);
	}
	chain_merkle_free(grow);
	chain_merkle_free(full);
	free_vectors(v);
}

static void test_inclusion_proofs_match_reference(void **state)
{
	struct vectors *v = load_vectors();
	chain_merkle *t = build(VEC_MAX);
	uint8_t proof[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	uint8_t want[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	uint8_t leaf[CHAIN_HASH_LEN];
	unsigned n, m, checked = 0;
	size_t np, nw;
	(void)state;

	for (n = 1; n <= VEC_MAX; n++) {
		for (m = 0; m < n; m++) {
			nw = expected_proof(v, v->incl[n][m], want);
			assert_int_equal(chain_merkle_inclusion_proof(t, m, n, proof, CHAIN_MERKLE_MAX_PROOF, &np), 0);
			assert_int_equal(np, nw);
			if (np > 0)
				assert_memory_equal(proof, want, np * CHAIN_HASH_LEN);
			assert_int_equal(chain_merkle_leaf_hash(t, m, leaf), 0);
			assert_int_equal(chain_merkle_verify_inclusion(leaf, m, n, proof, np, v->root[n]), 0);
			checked++;
		}
	}
	assert_int_equal(checked, VEC_MAX * (VEC_MAX + 1) / 2);
	chain_merkle_free(t);
	free_vectors(v);
}

static void test_consistency_proofs_match_reference(void **state)
{
	struct vectors *v = load_vectors();
	chain_merkle *t = build(VEC_MAX);
	uint8_t proof[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	uint8_t want[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	unsigned n, m, checked = 0;
	size_t np, nw;
	(void)state;

	for (n = 1; n <= VEC_MAX; n++) {
		for (m = 1; m <= n; m++) {
			nw = expected_proof(v, v->cons[m][n], want);
			assert_int_equal(chain_merkle_consistency_proof(t, m, n, proof, CHAIN_MERKLE_MAX_PROOF, &np), 0);
			assert_int_equal(np, nw);
			if (np > 0)
				assert_memory_equal(proof, want, np * CHAIN_HASH_LEN);
			assert_int_equal(chain_merkle_verify_consistency(m, n, v->root[m], v->root[n], proof, np), 0);
			checked++;
		}
	}
	assert_int_equal(checked, VEC_MAX * (VEC_MAX + 1) / 2);
	/* From the empty tree: empty proof, the empty root. */
	assert_int_equal(chain_merkle_consistency_proof(t, 0, 5, proof, CHAIN_MERKLE_MAX_PROOF, &np), 0);
	assert_int_equal(np, 0);
	assert_int_equal(chain_merkle_verify_consistency(0, 5, v->root[0], v->root[5], proof, 0), 0);
	assert_int_equal(chain_merkle_verify_consistency(0, 5, v->root[1], v->root[5], proof, 0), ARCA_ECRYPTO);
	chain_merkle_free(t);
	free_vectors(v);
}

/* ---- tampering ---- */

static int verify_incl(const uint8_t leaf[CHAIN_HASH_LEN], uint64_t index, uint64_t size,
		       uint8_t proof[][CHAIN_HASH_LEN], size_t n, const uint8_t root[CHAIN_HASH_LEN])
{
	int rc = chain_merkle_verify_inclusion(leaf, index, size, proof, n, root);
	if (rc != 0)
		assert_int_equal(rc, ARCA_ECRYPTO);
	return rc;
}

static void test_tampered_inclusion_proofs_fail(void **state)
{
	chain_merkle *t = build(VEC_MAX);
	uint8_t roots[VEC_MAX + 2][CHAIN_HASH_LEN];
	uint8_t proof[CHAIN_MERKLE_MAX_PROOF + 1][CHAIN_HASH_LEN];
	uint8_t leaf[CHAIN_HASH_LEN], other[CHAIN_HASH_LEN];
	unsigned n, m, i, rejected = 0;
	size_t np;
	(void)state;

	for (n = 0; n <= VEC_MAX; n++)
		assert_int_equal(chain_merkle_root(t, n, roots[n]), 0);
	for (n = 1; n <= VEC_MAX; n++) {
		for (m = 0; m < n; m++) {
			assert_int_equal(chain_merkle_inclusion_proof(t, m, n, proof, CHAIN_MERKLE_MAX_PROOF, &np), 0);
			assert_int_equal(chain_merkle_leaf_hash(t, m, leaf), 0);
			assert_int_equal(verify_incl(leaf, m, n, proof, np, roots[n]), 0);
			/* one flipped bit in each hash of the proof */
			for (i = 0; i < np; i++) {
				uint8_t bit = (uint8_t)(1u << ((m + i) % 8));
				proof[i][(n + i) % CHAIN_HASH_LEN] ^= bit;
				assert_int_not_equal(verify_incl(leaf, m, n, proof, np, roots[n]), 0);
				proof[i][(n + i) % CHAIN_HASH_LEN] ^= bit;
				rejected++;
			}
			/* one flipped bit in the leaf hash and in the root */
			memcpy(other, leaf, CHAIN_HASH_LEN);
			other[m % CHAIN_HASH_LEN] ^= 0x80;
			assert_int_not_equal(verify_incl(other, m, n, proof, np, roots[n]), 0);
			memcpy(other, roots[n], CHAIN_HASH_LEN);
			other[n % CHAIN_HASH_LEN] ^= 0x01;
			assert_int_not_equal(verify_incl(leaf, m, n, proof, np, other), 0);
			/* wrong index: every other leaf position of the same tree */
			for (i = 0; i <= n; i++) {
				if (i != m)
					assert_int_not_equal(verify_incl(leaf, i, n, proof, np, roots[n]), 0);
			}
			/* wrong size, with that size's genuine root */
			for (i = 1; i <= VEC_MAX; i++) {
				if (i != n)
					assert_int_not_equal(verify_incl(leaf, m, i, proof, np, roots[i]), 0);
			}
			/* truncated, extended (by a copy of its last hash, or the root) */
			if (np > 0)
				assert_int_not_equal(verify_incl(leaf, m, n, proof, np - 1, roots[n]), 0);
			memcpy(proof[np], np > 0 ? proof[np - 1] : roots[n], CHAIN_HASH_LEN);
			assert_int_not_equal(verify_incl(leaf, m, n, proof, np + 1, roots[n]), 0);
			memcpy(proof[np], roots[n], CHAIN_HASH_LEN);
			assert_int_not_equal(verify_incl(leaf, m, n, proof, np + 1, roots[n]), 0);
			rejected += 4;
		}
	}
	/* index beyond the tree, size 0, absurd length */
	assert_int_equal(chain_merkle_leaf_hash(t, 0, leaf), 0);
	assert_int_equal(verify_incl(leaf, 5, 5, proof, 3, roots[5]), ARCA_ECRYPTO);
	assert_int_equal(verify_incl(leaf, 0, 0, proof, 0, roots[0]), ARCA_ECRYPTO);
	assert_int_equal(verify_incl(leaf, 0, 8, proof, CHAIN_MERKLE_MAX_PROOF + 1, roots[8]), ARCA_ECRYPTO);
	print_message("inclusion: %u tampered proofs rejected (plus wrong indexes and sizes)\n", rejected);
	chain_merkle_free(t);
}

static int verify_cons(uint64_t m, uint64_t n, const uint8_t r1[CHAIN_HASH_LEN],
		       const uint8_t r2[CHAIN_HASH_LEN], uint8_t proof[][CHAIN_HASH_LEN], size_t np)
{
	int rc = chain_merkle_verify_consistency(m, n, r1, r2, proof, np);
	if (rc != 0)
		assert_int_equal(rc, ARCA_ECRYPTO);
	return rc;
}

static void test_tampered_consistency_proofs_fail(void **state)
{
	chain_merkle *t = build(VEC_MAX);
	uint8_t roots[VEC_MAX + 1][CHAIN_HASH_LEN];
	uint8_t proof[CHAIN_MERKLE_MAX_PROOF + 1][CHAIN_HASH_LEN];
	uint8_t other[CHAIN_HASH_LEN];
	unsigned n, m, i, rejected = 0;
	size_t np;
	(void)state;

	for (n = 0; n <= VEC_MAX; n++)
		assert_int_equal(chain_merkle_root(t, n, roots[n]), 0);
	for (n = 1; n <= VEC_MAX; n++) {
		for (m = 1; m <= n; m++) {
			assert_int_equal(chain_merkle_consistency_proof(t, m, n, proof, CHAIN_MERKLE_MAX_PROOF, &np), 0);
			assert_int_equal(verify_cons(m, n, roots[m], roots[n], proof, np), 0);
			for (i = 0; i < np; i++) {
				uint8_t bit = (uint8_t)(1u << ((m + n + i) % 8));
				proof[i][(m + i) % CHAIN_HASH_LEN] ^= bit;
				assert_int_not_equal(verify_cons(m, n, roots[m], roots[n], proof, np), 0);
				proof[i][(m + i) % CHAIN_HASH_LEN] ^= bit;
				rejected++;
			}
			/* either root off by one bit */
			memcpy(other, roots[m], CHAIN_HASH_LEN);
			other[0] ^= 0x01;
			assert_int_not_equal(verify_cons(m, n, other, roots[n], proof, np), 0);
			memcpy(other, roots[n], CHAIN_HASH_LEN);
			other[31] ^= 0x80;
			assert_int_not_equal(verify_cons(m, n, roots[m], other, proof, np), 0);
			/* wrong sizes, with their genuine roots */
			for (i = 1; i <= VEC_MAX; i++) {
				if (i != m && i <= n)
					assert_int_not_equal(verify_cons(i, n, roots[i], roots[n], proof, np), 0);
				if (i != n && i >= m)
					assert_int_not_equal(verify_cons(m, i, roots[m], roots[i], proof, np), 0);
			}
			/* swapped sizes and roots */
			if (m != n)
				assert_int_not_equal(verify_cons(n, m, roots[n], roots[m], proof, np), 0);
			/* truncated and extended */
			if (np > 0)
				assert_int_not_equal(verify_cons(m, n, roots[m], roots[n], proof, np - 1), 0);
			memcpy(proof[np], np > 0 ? proof[np - 1] : roots[m], CHAIN_HASH_LEN);
			assert_int_not_equal(verify_cons(m, n, roots[m], roots[n], proof, np + 1), 0);
			rejected += 5;
		}
	}
	print_message("consistency: %u tampered proofs rejected (plus wrong sizes)\n", rejected);
	chain_merkle_free(t);
}

/* ---- the API's edges ---- */

static void test_bad_arguments(void **state)
{
	chain_merkle *t = build(10);
	uint8_t proof[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	uint8_t h[CHAIN_HASH_LEN];
	size_t np = 99;
	(void)state;

	assert_int_equal(chain_merkle_root(t, 11, h), ARCA_EINVAL);
	assert_int_equal(chain_merkle_leaf_hash(t, 10, h), ARCA_EINVAL);
	assert_int_equal(chain_merkle_inclusion_proof(t, 10, 10, proof, CHAIN_MERKLE_MAX_PROOF, &np), ARCA_EINVAL);
	assert_int_equal(np, 0);
	assert_int_equal(chain_merkle_inclusion_proof(t, 0, 11, proof, CHAIN_MERKLE_MAX_PROOF, &np), ARCA_EINVAL);
	assert_int_equal(chain_merkle_consistency_proof(t, 4, 3, proof, CHAIN_MERKLE_MAX_PROOF, &np), ARCA_EINVAL);
	assert_int_equal(chain_merkle_consistency_proof(t, 4, 11, proof, CHAIN_MERKLE_MAX_PROOF, &np), ARCA_EINVAL);
	/* a buffer too small: the proof of leaf 0 in 10 leaves has 4 hashes */
	assert_int_equal(chain_merkle_inclusion_proof(t, 0, 10, proof, 3, &np), ARCA_ELIMIT);
	assert_int_equal(chain_merkle_inclusion_proof(t, 0, 10, proof, 4, &np), 0);
	assert_int_equal(np, 4);
	/* one size, two roots */
	assert_int_equal(chain_merkle_root(t, 5, h), 0);
	assert_int_equal(chain_merkle_verify_consistency(5, 5, h, h, proof, 0), 0);
	assert_int_equal(chain_merkle_verify_consistency(5, 5, h, proof[0], proof, 0), ARCA_ECRYPTO);
	assert_int_equal(chain_merkle_verify_consistency(5, 5, h, h, proof, 1), ARCA_ECRYPTO);
	assert_int_equal(chain_merkle_verify_consistency(3, 5, h, h, proof, 0), ARCA_ECRYPTO);
	chain_merkle_free(t);
}

static void test_append_leaf_hash_rebuilds_the_same_tree(void **state)
{
	chain_merkle *a = build(37), *b;
	uint8_t leaf[CHAIN_HASH_LEN], ra[CHAIN_HASH_LEN], rb[CHAIN_HASH_LEN];
	uint64_t i;
	(void)state;

	assert_int_equal(chain_merkle_new(&b), 0);
	for (i = 0; i < 37; i++) {
		assert_int_equal(chain_merkle_leaf_hash(a, i, leaf), 0);
		assert_int_equal(chain_merkle_append_leaf_hash(b, leaf), 0);
		assert_int_equal(chain_merkle_root(a, i + 1, ra), 0);
		assert_int_equal(chain_merkle_root(b, i + 1, rb), 0);
		assert_memory_equal(ra, rb, CHAIN_HASH_LEN);
	}
	chain_merkle_free(a);
	chain_merkle_free(b);
}

/* ---- a million leaves ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A plain recursive MTH over the leaf hashes, RFC 9162 2.1.1 as written. */
static void naive_mth(chain_hasher *h, const uint8_t (*leaves)[CHAIN_HASH_LEN], uint64_t n,
		      uint8_t out[CHAIN_HASH_LEN])
{
	uint8_t l[CHAIN_HASH_LEN], r[CHAIN_HASH_LEN];
	uint64_t k = 1;

	if (n == 1) {
		memcpy(out, leaves[0], CHAIN_HASH_LEN);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	naive_mth(h, leaves, k, l);
	naive_mth(h, leaves + k, n - k, r);
	assert_int_equal(chain_hash_node(h, out, l, r), 0);
}

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64: reproducible positions, no libc state */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_million_leaves(void **state)
{
	enum { PROOFS = 2000, ROOTS = 2000 };
	uint8_t proof[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	uint8_t root[CHAIN_HASH_LEN], root2[CHAIN_HASH_LEN], naive[CHAIN_HASH_LEN];
	uint8_t leaf[CHAIN_HASH_LEN];
	uint8_t (*leaves)[CHAIN_HASH_LEN];
	uint8_t (*roots)[CHAIN_HASH_LEN];
	uint64_t *index, *size, seed = 0x9e3779b97f4a7c15ULL;
	size_t np, max_np = 0, total_np = 0;
	chain_merkle *t;
	chain_hasher *h;
	double t0, build_s, now_root_s, root_s, gen_s, ver_s, cgen_s, cver_s, naive_s;
	char hex[2 * CHAIN_HASH_LEN + 1];
	uint64_t i;
	(void)state;

	t0 = now_s();
	t = build(BIG_SIZE);
	build_s = now_s() - t0;
	assert_int_equal(chain_merkle_size(t), BIG_SIZE);

	t0 = now_s();
	assert_int_equal(chain_merkle_root(t, BIG_SIZE, root), 0);
	now_root_s = now_s() - t0;

	/* The root against a plain recursive computation over the leaves. */
	leaves = malloc((size_t)BIG_SIZE * CHAIN_HASH_LEN);
	assert_non_null(leaves);
	for (i = 0; i < BIG_SIZE; i++)
		assert_int_equal(chain_merkle_leaf_hash(t, i, leaves[i]), 0);
	assert_int_equal(chain_hasher_new(&h), 0);
	t0 = now_s();
	naive_mth(h, (const uint8_t (*)[CHAIN_HASH_LEN])leaves, BIG_SIZE, naive);
	naive_s = now_s() - t0;
	assert_memory_equal(root, naive, CHAIN_HASH_LEN);
	chain_hasher_free(h);
	free(leaves);

	index = calloc(PROOFS, sizeof(*index));
	size = calloc(ROOTS, sizeof(*size));
	roots = calloc(ROOTS, CHAIN_HASH_LEN);
	assert_non_null(index);
	assert_non_null(size);
	assert_non_null(roots);
	for (i = 0; i < PROOFS; i++)
		index[i] = next_rand(&seed) % BIG_SIZE;
	for (i = 0; i < ROOTS; i++)
		size[i] = 1 + next_rand(&seed) % BIG_SIZE;

	/* Roots at earlier sizes. */
	t0 = now_s();
	for (i = 0; i < ROOTS; i++)
		assert_int_equal(chain_merkle_root(t, size[i], roots[i]), 0);
	root_s = (now_s() - t0) / ROOTS;

	/* Inclusion proofs: generation, then verification. */
	gen_s = 0;
	ver_s = 0;
	for (i = 0; i < PROOFS; i++) {
		double a, b, c;
		a = now_s();
		assert_int_equal(chain_merkle_inclusion_proof(t, index[i], BIG_SIZE, proof,
							      CHAIN_MERKLE_MAX_PROOF, &np), 0);
		b = now_s();
		assert_int_equal(chain_merkle_leaf_hash(t, index[i], leaf), 0);
		assert_int_equal(chain_merkle_verify_inclusion(leaf, index[i], BIG_SIZE, proof, np, root), 0);
		c = now_s();
		gen_s += b - a;
		ver_s += c - b;
		total_np += np;
		if (np > max_np)
			max_np = np;
	}
	gen_s /= PROOFS;
	ver_s /= PROOFS;
	/* log2(10^6) < 20: at most 20 hashes, 640 bytes. */
	assert_true(max_np <= 20);
	assert_true(max_np * CHAIN_HASH_LEN < 1024);
	assert_true(ver_s < 1e-3);
	assert_true(gen_s < 1e-3);

	/* Consistency proofs from each earlier size to the full tree. */
	cgen_s = 0;
	cver_s = 0;
	for (i = 0; i < ROOTS; i++) {
		double a, b, c;
		a = now_s();
		assert_int_equal(chain_merkle_consistency_proof(t, size[i], BIG_SIZE, proof,
								CHAIN_MERKLE_MAX_PROOF, &np), 0);
		b = now_s();
		assert_int_equal(chain_merkle_verify_consistency(size[i], BIG_SIZE, roots[i], root, proof, np), 0);
		c = now_s();
		cgen_s += b - a;
		cver_s += c - b;
	}
	cgen_s /= ROOTS;
	cver_s /= ROOTS;
	assert_true(cver_s < 1e-3);

	/* The cached current root stays right after more appends. */
	assert_int_equal(chain_merkle_append_leaf(t, "one more", 8), 0);
	assert_int_equal(chain_merkle_root(t, BIG_SIZE, root2), 0);
	assert_memory_equal(root, root2, CHAIN_HASH_LEN);
	assert_int_equal(chain_merkle_root(t, BIG_SIZE + 1, root2), 0);
	assert_memory_not_equal(root, root2, CHAIN_HASH_LEN);

	chain_hash_hex(hex, root, CHAIN_HASH_LEN);
	print_message("1,000,000 leaves: built in %.3f s (%.0f leaves/s), root %s\n",
		      build_s, BIG_SIZE / build_s, hex);
	print_message("  current root (fold of the compact range, then cached): %.1f us\n",
		      now_root_s * 1e6);
	print_message("  plain recursive MTH of the same leaves: %.3f s\n", naive_s);
	print_message("  root at an earlier size: %.1f us average over %d sizes\n", root_s * 1e6, ROOTS);
	print_message("  inclusion proof: %zu hashes max (%zu bytes), %.1f average; generation %.1f us, verification %.1f us average over %d\n",
		      max_np, max_np * CHAIN_HASH_LEN, (double)total_np / PROOFS, gen_s * 1e6,
		      ver_s * 1e6, PROOFS);
	print_message("  consistency proof to the full tree: generation %.1f us, verification %.1f us average over %d\n",
		      cgen_s * 1e6, cver_s * 1e6, ROOTS);
	free(index);
	free(size);
	free(roots);
	chain_merkle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roots_match_reference),
		cmocka_unit_test(test_inclusion_proofs_match_reference),
		cmocka_unit_test(test_consistency_proofs_match_reference),
		cmocka_unit_test(test_tampered_inclusion_proofs_fail),
		cmocka_unit_test(test_tampered_consistency_proofs_fail),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_append_leaf_hash_rebuilds_the_same_tree),
		cmocka_unit_test(test_million_leaves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
