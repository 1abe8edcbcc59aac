/* arca_proof.h - offline-verifiable inclusion proof bundles
 * (docs/chain-format.md section 8): what `arca chain proof` writes and
 * `arca chain check-proof` verifies with nothing but the node's public key.
 *
 * A bundle is one canonical JSON object and a newline:
 *
 *   {"checkpoint":"<signed note>","entry":"<base64 entry bytes>",
 *    "format":"arca-proof-1","index":I,"proof":["<base64 hash>",...],"size":N}
 *
 * (on one line, without the spaces shown): the entry's exact bytes, its
 * leaf index, the size of the tree, the RFC 9162 inclusion proof of the
 * leaf in that tree, and the node's signed checkpoint of that size.  The
 * verifier accepts only the canonical bytes, so one changed byte anywhere
 * fails. */
#ifndef ARCA_PROOF_H
#define ARCA_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "chain_hash.h"
#include "chain_key.h"
#include "chain_merkle.h"

#define ARCA_PROOF_FORMAT "arca-proof-1"
/* A bundle holds at most an entry (64 KiB, 88 KiB in base64), a checkpoint
 * note (128 KiB, at most twice that escaped) and 65 hashes. */
#define ARCA_PROOF_MAX_LEN (1024u * 1024u)

typedef struct arca_proof {
	const char *entry;   /* the entry's canonical bytes (borrowed) */
	size_t entry_len;
	uint64_t index;      /* its leaf index */
	uint64_t size;       /* the tree size the proof and checkpoint are for */
	const uint8_t (*proof)[CHAIN_HASH_LEN];
	size_t n_proof;
	const char *checkpoint; /* the signed note (borrowed) */
	size_t checkpoint_len;
} arca_proof;

/* The bundle's bytes; *out (NUL-terminated, *len bytes) is the caller's,
 * freed with free().  ARCA_EPROTO if the note holds a control character
 * other than newline (no valid note does). */
int arca_proof_encode(const arca_proof *p, char **out, size_t *len);

/* What a verified bundle proves. */
typedef struct arca_proof_result {
	char node[65];              /* the checkpoint's origin */
	uint64_t index, size;
	char event[32];             /* "DCM:110104" */
	char study[65];             /* "" if the entry names none */
	char time[32];              /* the checkpoint's time line, "" if none */
	uint8_t root[CHAIN_HASH_LEN];
} arca_proof_result;

/* Verifies a bundle with the node's public key: canonical form; the
 * checkpoint parses, its size is the bundle's and every signature line of
 * key under the checkpoint's origin verifies (at least one); the entry is
 * canonical, carries the bundle's index and the origin as its node; and the
 * inclusion proof of SHA-256(0x00 || entry) at index leads to the
 * checkpoint's root.  0 and *res filled, or ARCA_EPROTO (malformed),
 * ARCA_ECRYPTO (a signature or the proof does not verify), ARCA_ENOTFOUND
 * (no signature of this key), each with one line saying what. */
int arca_proof_verify(const char *bytes, size_t len, const chain_key *key, arca_proof_result *res);

#endif
