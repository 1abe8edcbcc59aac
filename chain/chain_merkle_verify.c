/* chain_merkle_verify.c - RFC 9162 proof verification.
 *
 * Deliberately a separate code path from chain_merkle.c: a verifier holds
 * only a leaf hash or two roots, the sizes and the proof, and recomputes
 * the roots by the RFC's bit-walking algorithms (2.1.3.2 and 2.1.4.2),
 * transcribed step by step with the RFC's names (fn, sn, r, fr, sr).  Were
 * it to share the tree's recursion, a bug there would be reproduced here
 * and proofs would verify against themselves. */
#include "chain_merkle.h"

#include "arca_err.h"

#include <stdbool.h>
#include <string.h>

/* Constant time, like every comparison of secrets and of values an
 * attacker chose. */
static bool hash_equal(const uint8_t a[CHAIN_HASH_LEN], const uint8_t b[CHAIN_HASH_LEN])
{
	uint8_t diff = 0;
	size_t i;

	for (i = 0; i < CHAIN_HASH_LEN; i++)
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

static bool lsb(uint64_t v)
{
	return (v & 1) != 0;
}

int chain_merkle_verify_inclusion(const uint8_t leaf_hash[CHAIN_HASH_LEN], uint64_t index,
				  uint64_t size, const uint8_t proof[][CHAIN_HASH_LEN], size_t n,
				  const uint8_t root[CHAIN_HASH_LEN])
{
	uint8_t r[CHAIN_HASH_LEN];
	chain_hasher *hasher = NULL;
	uint64_t fn, sn;
	size_t i;
	int rc;

	if (n > CHAIN_MERKLE_MAX_PROOF)
		return arca_error_set(ARCA_ECRYPTO, "inclusion proof of %zu hashes is longer than any tree needs",
				      n);
	/* 1. If leaf_index >= tree_size, fail. */
	if (index >= size)
		return arca_error_set(ARCA_ECRYPTO, "inclusion proof: leaf %llu is outside a tree of %llu leaves",
				      (unsigned long long)index, (unsigned long long)size);
	rc = chain_hasher_new(&hasher);
	if (rc < 0)
		return rc;
	/* 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash. */
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, CHAIN_HASH_LEN);
	/* 4. For each value p in the inclusion_path array: */
	for (i = 0; i < n; i++) {
		/* a. If sn is 0, fail. */
		if (sn == 0) {
			rc = arca_error_set(ARCA_ECRYPTO, "inclusion proof is longer than a tree of %llu leaves needs",
					    (unsigned long long)size);
			goto out;
		}
		/* b. If LSB(fn) is set, or fn == sn: */
		if (lsb(fn) || fn == sn) {
			/* i. r = HASH(0x01 || p || r) */
			rc = chain_hash_node(hasher, r, proof[i], r);
			if (rc < 0)
				goto out;
			/* ii. If LSB(fn) is not set, right-shift fn and sn until
			 * LSB(fn) is set or fn is 0. */
			if (!lsb(fn)) {
				while (!lsb(fn) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			/* Otherwise: i. r = HASH(0x01 || r || p) */
			rc = chain_hash_node(hasher, r, r, proof[i]);
			if (rc < 0)
				goto out;
		}
		/* c. Right-shift fn and sn once. */
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. Verified iff sn is 0 and r equals root_hash. */
	if (sn != 0)
		rc = arca_error_set(ARCA_ECRYPTO, "inclusion proof is shorter than a tree of %llu leaves needs",
				    (unsigned long long)size);
	else if (!hash_equal(r, root))
		rc = arca_error_set(ARCA_ECRYPTO, "inclusion proof of leaf %llu does not lead to the root of the tree of %llu leaves",
				    (unsigned long long)index, (unsigned long long)size);
	else
		rc = 0;
out:
	chain_hasher_free(hasher);
	return rc;
}

/* The two cases RFC 9162's algorithm (0 < first < second) leaves out. */
static int verify_trivial_consistency(uint64_t size1, uint64_t size2,
				      const uint8_t root1[CHAIN_HASH_LEN],
				      const uint8_t root2[CHAIN_HASH_LEN], size_t n)
{
	uint8_t empty[CHAIN_HASH_LEN];
	int rc;

	if (n != 0)
		return arca_error_set(ARCA_ECRYPTO, "consistency proof from size %llu to %llu must be empty, has %zu hashes",
				      (unsigned long long)size1, (unsigned long long)size2, n);
	if (size1 == size2) {
		if (!hash_equal(root1, root2))
			return arca_error_set(ARCA_ECRYPTO, "two different roots for one tree size %llu",
					      (unsigned long long)size1);
		return 0;
	}
	/* size1 == 0: MTH({}) = SHA-256(""). */
	rc = chain_hash_sha256_once(empty, "", 0);
	if (rc < 0)
		return rc;
	if (!hash_equal(root1, empty))
		return arca_error_set(ARCA_ECRYPTO, "root given for the empty tree is not SHA-256(\"\")");
	return 0;
}

int chain_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				    const uint8_t root1[CHAIN_HASH_LEN],
				    const uint8_t root2[CHAIN_HASH_LEN],
				    const uint8_t proof[][CHAIN_HASH_LEN], size_t n)
{
	uint8_t path[CHAIN_MERKLE_MAX_PROOF + 1][CHAIN_HASH_LEN];
	uint8_t fr[CHAIN_HASH_LEN], sr[CHAIN_HASH_LEN];
	chain_hasher *hasher = NULL;
	uint64_t fn, sn;
	size_t npath = 0, i;
	int rc;

	if (size1 > size2)
		return arca_error_set(ARCA_ECRYPTO, "consistency proof: size %llu is larger than size %llu",
				      (unsigned long long)size1, (unsigned long long)size2);
	if (size1 == 0 || size1 == size2)
		return verify_trivial_consistency(size1, size2, root1, root2, n);
	if (n > CHAIN_MERKLE_MAX_PROOF)
		return arca_error_set(ARCA_ECRYPTO, "consistency proof of %zu hashes is longer than any tree needs",
				      n);
	/* 1. If consistency_path is empty, fail. */
	if (n == 0)
		return arca_error_set(ARCA_ECRYPTO, "consistency proof from size %llu to %llu is empty",
				      (unsigned long long)size1, (unsigned long long)size2);
	/* 2. If first is an exact power of 2, prepend first_hash. */
	if ((size1 & (size1 - 1)) == 0)
		memcpy(path[npath++], root1, CHAIN_HASH_LEN);
	for (i = 0; i < n; i++)
		memcpy(path[npath++], proof[i], CHAIN_HASH_LEN);

	rc = chain_hasher_new(&hasher);
	if (rc < 0)
		return rc;
	/* 3. fn = first - 1, sn = second - 1. */
	fn = size1 - 1;
	sn = size2 - 1;
	/* 4. While LSB(fn) is set, right-shift fn and sn. */
	while (lsb(fn)) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. fr = sr = the first value of consistency_path. */
	memcpy(fr, path[0], CHAIN_HASH_LEN);
	memcpy(sr, path[0], CHAIN_HASH_LEN);
	/* 6. For each subsequent value c in consistency_path: */
	for (i = 1; i < npath; i++) {
		/* a. If sn is 0, fail. */
		if (sn == 0) {
			rc = arca_error_set(ARCA_ECRYPTO, "consistency proof is longer than sizes %llu and %llu need",
					    (unsigned long long)size1, (unsigned long long)size2);
			goto out;
		}
		/* b. If LSB(fn) is set, or fn == sn: */
		if (lsb(fn) || fn == sn) {
			/* i. fr = HASH(0x01 || c || fr), ii. sr = HASH(0x01 || c || sr) */
			rc = chain_hash_node(hasher, fr, path[i], fr);
			if (rc == 0)
				rc = chain_hash_node(hasher, sr, path[i], sr);
			if (rc < 0)
				goto out;
			/* iii. If LSB(fn) is not set, right-shift fn and sn until
			 * LSB(fn) is set or fn is 0. */
			if (!lsb(fn)) {
				while (!lsb(fn) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			/* Otherwise: i. sr = HASH(0x01 || sr || c) */
			rc = chain_hash_node(hasher, sr, sr, path[i]);
			if (rc < 0)
				goto out;
		}
		/* c. Right-shift fn and sn once. */
		fn >>= 1;
		sn >>= 1;
	}
	/* 7. Verified iff fr == first_hash, sr == second_hash and sn == 0. */
	if (sn != 0)
		rc = arca_error_set(ARCA_ECRYPTO, "consistency proof is shorter than sizes %llu and %llu need",
				    (unsigned long long)size1, (unsigned long long)size2);
	else if (!hash_equal(fr, root1))
		rc = arca_error_set(ARCA_ECRYPTO, "consistency proof does not lead to the root of size %llu",
				    (unsigned long long)size1);
	else if (!hash_equal(sr, root2))
		rc = arca_error_set(ARCA_ECRYPTO, "consistency proof does not lead to the root of size %llu",
				    (unsigned long long)size2);
	else
		rc = 0;
out:
	chain_hasher_free(hasher);
	return rc;
}
