/* fuzz_chain.c - libFuzzer target for what chain/ reads from peers:
 * signed checkpoints and Merkle proofs.
 *
 * The first byte picks the input kind:
 *   0x00-0x7f  the rest is a signed checkpoint note: it must parse or be
 *              refused cleanly; one that parses must encode back to exactly
 *              the same bytes (the grammar has one spelling of each value)
 *              and verification against a fixed key must not crash;
 *   0x80-0xff  the rest is sizes, an index and hashes fed to the RFC 9162
 *              verifiers, which must refuse or accept without reading out
 *              of bounds.
 * Build and run (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE \
 *     -Ipacs -Ichain tests/fuzz/fuzz_chain.c chain/chain_*.c pacs/arca_err.c -lcrypto \
 *     -o fuzz/fuzz_chain && fuzz/fuzz_chain tests/corpus/chain
 * `make check` replays tests/corpus/chain through it (tests/fuzz_chain_replay.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain_checkpoint.h"
#include "chain_key.h"
#include "chain_merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_note(const uint8_t *data, size_t size)
{
	static const uint8_t seed[CHAIN_KEY_SEED_LEN] = { 0 };
	chain_checkpoint *cp;
	chain_key *key;
	char *text;
	size_t len;

	if (chain_checkpoint_parse(&cp, (const char *)data, size) != 0)
		return;
	if (chain_checkpoint_encode(cp, &text, &len) != 0)
		abort();
	if (len != size || memcmp(text, data, size) != 0)
		abort();
	free(text);
	if (chain_key_from_seed(&key, seed) == 0) {
		(void)chain_checkpoint_verify(cp, key, chain_checkpoint_origin(cp));
		chain_key_free(key);
	}
	chain_checkpoint_free(cp);
}

static uint64_t take_u64(const uint8_t **p, size_t *left)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < 8 && *left > 0; i++) {
		v = v << 8 | **p;
		(*p)++;
		(*left)--;
	}
	return v;
}

static void fuzz_proof(const uint8_t *data, size_t size, int consistency)
{
	uint8_t a[CHAIN_HASH_LEN] = { 0 }, b[CHAIN_HASH_LEN] = { 0 };
	uint8_t (*proof)[CHAIN_HASH_LEN];
	uint64_t x, y;
	size_t n;

	/* Small sizes most of the time, so that proofs can verify. */
	x = take_u64(&data, &size) % 4096;
	y = take_u64(&data, &size);
	y = (y & 0x8000000000000000ULL) ? y : y % 4096;
	if (size >= 2 * CHAIN_HASH_LEN) {
		memcpy(a, data, CHAIN_HASH_LEN);
		memcpy(b, data + CHAIN_HASH_LEN, CHAIN_HASH_LEN);
		data += 2 * CHAIN_HASH_LEN;
		size -= 2 * CHAIN_HASH_LEN;
	}
	n = size / CHAIN_HASH_LEN;
	/* An exact-size copy, so that reading past the proof trips ASan. */
	proof = malloc(n > 0 ? n * CHAIN_HASH_LEN : 1);
	if (proof == NULL)
		return;
	if (n > 0)
		memcpy(proof, data, n * CHAIN_HASH_LEN);
	if (consistency)
		(void)chain_merkle_verify_consistency(x, y, a, b, (const uint8_t (*)[CHAIN_HASH_LEN])proof, n);
	else
		(void)chain_merkle_verify_inclusion(a, x, y, (const uint8_t (*)[CHAIN_HASH_LEN])proof, n, b);
	free(proof);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] < 0x80)
		fuzz_note(data + 1, size - 1);
	else
		fuzz_proof(data + 1, size - 1, data[0] & 1);
	return 0;
}
