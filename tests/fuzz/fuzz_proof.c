/* fuzz_proof.c - libFuzzer target for the proof bundles `arca chain
 * check-proof` reads from anyone (tools/arca_proof.c, docs/chain-format.md
 * section 8).
 *
 * Each input is verified with a fixed node key (the Ed25519 key whose seed
 * is the bytes 00 01 .. 1f).  Properties checked on every input:
 *   - the verifier refuses cleanly or accepts, never reading out of bounds;
 *   - an accepted bundle ends with its newline and names an index below
 *     its size (the verifier itself insists on the canonical bytes).
 * The corpus (tests/corpus/proof) starts from bundles signed with that key
 * (made by `arca chain proof` on an archive whose keys/node.key and
 * node.pub were replaced by the fixed key before its first event; see
 * tests/corpus/proof/README), so that mutations reach the entry and
 * inclusion checks behind the signature.
 * Build and run (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE \
 *     -Ipacs -Ichain -Itools tests/fuzz/fuzz_proof.c tools/arca_proof.c chain/chain_[a-z_]*.c \
 *     pacs/arca_err.c -ljansson -lcrypto -lgit2 -o fuzz/fuzz_proof && \
 *     fuzz/fuzz_proof tests/corpus/proof
 * `make check` replays tests/corpus/proof through it
 * (tests/fuzz_proof_replay.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arca_proof.h"
#include "chain_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t seed[CHAIN_KEY_SEED_LEN], pub[CHAIN_KEY_PUBLIC_LEN];
	chain_key *priv = NULL, *key = NULL;
	arca_proof_result res;

	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)i;
	/* Verify with a public-only key, as check-proof does. */
	if (chain_key_from_seed(&priv, seed) != 0 || chain_key_public(priv, pub) != 0 ||
	    chain_key_from_public(&key, pub) != 0)
		abort();
	if (arca_proof_verify((const char *)data, size, key, &res) == 0) {
		/* Accepted: canonical by construction, and the index is inside. */
		if (res.index >= res.size || size == 0 || data[size - 1] != '\n')
			abort();
	}
	chain_key_free(key);
	chain_key_free(priv);
	return 0;
}
