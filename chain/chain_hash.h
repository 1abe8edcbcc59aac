/* chain_hash.h - SHA-256 for the provenance chain, through OpenSSL EVP.
 *
 * The chain's security rests on SHA-256 (design 3.3): the RFC 9162 Merkle
 * tree hashes leaves as SHA-256(0x00 || entry) and interior nodes as
 * SHA-256(0x01 || left || right), and key ids and fingerprints are SHA-256
 * prefixes.  A chain_hasher keeps one OpenSSL digest context and the
 * fetched SHA-256 implementation, so hashing millions of small inputs does
 * not allocate or look the algorithm up each time.  A hasher is used by one
 * thread at a time. */
#ifndef CHAIN_HASH_H
#define CHAIN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CHAIN_HASH_LEN 32

typedef struct chain_hasher chain_hasher;

/* *out is the caller's, freed with chain_hasher_free().  ARCA_ECRYPTO if
 * OpenSSL has no SHA-256, ARCA_ENOMEM. */
int chain_hasher_new(chain_hasher **out);
void chain_hasher_free(chain_hasher *h);

/* SHA-256 of len bytes. */
int chain_hash_sha256(chain_hasher *h, uint8_t out[CHAIN_HASH_LEN], const void *data, size_t len);

/* RFC 9162 2.1.1: the hash of a leaf, SHA-256(0x00 || entry). */
int chain_hash_leaf(chain_hasher *h, uint8_t out[CHAIN_HASH_LEN], const void *entry, size_t len);

/* RFC 9162 2.1.1: the hash of an interior node, SHA-256(0x01 || left || right).
 * out may be the same buffer as left or right. */
int chain_hash_node(chain_hasher *h, uint8_t out[CHAIN_HASH_LEN],
		    const uint8_t left[CHAIN_HASH_LEN], const uint8_t right[CHAIN_HASH_LEN]);

/* SHA-256 with a temporary hasher, for one-off hashes (fingerprints, key
 * ids) where keeping a hasher around is not worth it. */
int chain_hash_sha256_once(uint8_t out[CHAIN_HASH_LEN], const void *data, size_t len);

/* Lower-case hex of len bytes into out, which holds 2 * len + 1 chars. */
void chain_hash_hex(char *out, const uint8_t *bytes, size_t len);

#endif
