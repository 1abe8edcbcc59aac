/* chain_merkle.h - the provenance log's RFC 9162 Merkle tree.
 *
 * A chain_merkle is an append-only tree over the log's entries, held in
 * memory: it keeps every leaf hash (32 bytes a leaf, 32 MB for a million
 * entries), so that it can answer for any size it has had:
 *
 *   - the root (Merkle Tree Hash, RFC 9162 2.1.1) at that size,
 *   - inclusion proofs (2.1.3.1) of a leaf in the tree of that size,
 *   - consistency proofs (2.1.4.1) between two sizes.
 *
 * Hashing (RFC 9162 2.1.1): leaf = SHA-256(0x00 || entry), node =
 * SHA-256(0x01 || left || right), and the empty tree's root is SHA-256("").
 *
 * The verifiers at the end of this header are a separate code path that
 * follows the RFC's verification algorithms (2.1.3.2, 2.1.4.2) step by step
 * and never calls the tree: they are what a peer runs on a proof it was
 * sent, with only the hashes in hand.
 *
 * A tree is used by one thread at a time (it keeps a hashing context). */
#ifndef CHAIN_MERKLE_H
#define CHAIN_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "chain_hash.h"

/* The longest proof any tree of up to 2^63 leaves needs: an inclusion proof
 * has at most ceil(log2(size)) hashes, a consistency proof at most one
 * more.  Size proof buffers with it; the verifiers refuse longer proofs. */
#define CHAIN_MERKLE_MAX_PROOF 65

/* Trees are capped at 2^40 leaves (32 TB of leaf hashes): far above any
 * node's log, low enough that no size arithmetic can overflow. */
#define CHAIN_MERKLE_MAX_SIZE ((uint64_t)1 << 40)

typedef struct chain_merkle chain_merkle;

/* An empty tree.  *out is the caller's, freed with chain_merkle_free(). */
int chain_merkle_new(chain_merkle **out);
void chain_merkle_free(chain_merkle *tree);

/* Number of leaves. */
uint64_t chain_merkle_size(const chain_merkle *tree);

/* Appends a leaf for entry (hashed as SHA-256(0x00 || entry)).
 * ARCA_ELIMIT at CHAIN_MERKLE_MAX_SIZE, ARCA_ENOMEM; the tree is unchanged
 * on error. */
int chain_merkle_append_leaf(chain_merkle *tree, const void *entry, size_t len);

/* Appends a leaf whose leaf hash is already known (a log reloaded from
 * storage, where the leaf hashes were recorded). */
int chain_merkle_append_leaf_hash(chain_merkle *tree, const uint8_t leaf_hash[CHAIN_HASH_LEN]);

/* The leaf hash of leaf index; ARCA_EINVAL if index >= size. */
int chain_merkle_leaf_hash(const chain_merkle *tree, uint64_t index, uint8_t out[CHAIN_HASH_LEN]);

/* The root of the tree of the first `size` leaves, for any size from 0 to
 * the current size (ARCA_EINVAL beyond it).  The current size's root is
 * cached; any other costs O(log size) hashes. */
int chain_merkle_root(chain_merkle *tree, uint64_t size, uint8_t out[CHAIN_HASH_LEN]);

/* RFC 9162 2.1.3.1: the inclusion proof of leaf index in the tree of the
 * first `size` leaves, leaf-side hash first.  out has room for cap hashes
 * (CHAIN_MERKLE_MAX_PROOF is always enough); *n is set to the number
 * written.  ARCA_EINVAL if index >= size or size > the current size,
 * ARCA_ELIMIT if cap is too small. */
int chain_merkle_inclusion_proof(chain_merkle *tree, uint64_t index, uint64_t size,
				 uint8_t out[][CHAIN_HASH_LEN], size_t cap, size_t *n);

/* RFC 9162 2.1.4.1: the consistency proof between the trees of the first
 * size1 and size2 leaves, 0 <= size1 <= size2 <= the current size.  The
 * proof is empty when size1 is 0 or equal to size2 (nothing to prove; see
 * chain_merkle_verify_consistency).  Same out/cap/n rules as above. */
int chain_merkle_consistency_proof(chain_merkle *tree, uint64_t size1, uint64_t size2,
				   uint8_t out[][CHAIN_HASH_LEN], size_t cap, size_t *n);

/* ---- verification: independent of the tree above ---- */

/* RFC 9162 2.1.3.2: 0 if proof shows that leaf_hash is leaf `index` of the
 * tree of `size` leaves whose root is root.  ARCA_ECRYPTO (message says
 * which step failed) for any proof that does not verify, including an
 * index outside the tree and a proof too long or too short for the size. */
int chain_merkle_verify_inclusion(const uint8_t leaf_hash[CHAIN_HASH_LEN], uint64_t index,
				  uint64_t size, const uint8_t proof[][CHAIN_HASH_LEN], size_t n,
				  const uint8_t root[CHAIN_HASH_LEN]);

/* RFC 9162 2.1.4.2: 0 if proof shows that the tree of size2 leaves with
 * root2 extends the tree of size1 leaves with root1.  The RFC's algorithm
 * covers 0 < size1 < size2; the two trivial cases outside it are decided
 * here too, with an empty proof only: size1 == size2 verifies iff
 * root1 == root2, and size1 == 0 verifies iff root1 is the empty tree's
 * root (every tree extends the empty one).  ARCA_ECRYPTO otherwise,
 * including size1 > size2. */
int chain_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				    const uint8_t root1[CHAIN_HASH_LEN],
				    const uint8_t root2[CHAIN_HASH_LEN],
				    const uint8_t proof[][CHAIN_HASH_LEN], size_t n);

#endif
