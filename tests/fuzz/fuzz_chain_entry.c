/* fuzz_chain_entry.c - libFuzzer target for the log entries chain/ reads
 * from peers (chain_entry_parse) and the pieces of them parsed on their
 * own (times, node names).
 *
 * Properties checked on every input:
 *   - the parser refuses cleanly or accepts, never reading out of bounds;
 *   - an accepted entry encodes back to exactly the input bytes (one byte
 *     sequence per entry), and its value passes chain_entry_check;
 *   - the same for the spool's unindexed form (chain_entry_parse_unindexed,
 *     docs/chain-format.md 9), and no input parses both ways (one has the
 *     index, the other must not);
 *   - chain_time_parse accepts only what chain_time_format gives back;
 *   - chain_node_name_check never crashes on any NUL-terminated string.
 * Build and run (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE \
 *     -Ipacs -Ichain tests/fuzz/fuzz_chain_entry.c chain/chain_entry.c \
 *     chain/chain_entry_parse.c chain/chain_hash.c pacs/arca_err.c -ljansson -lcrypto \
 *     -o fuzz/fuzz_chain_entry && fuzz/fuzz_chain_entry tests/corpus/chain_entry
 * `make check` replays tests/corpus/chain_entry through it
 * (tests/fuzz_chain_entry_replay.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chain_entry *e = NULL;
	char *again = NULL, *s;
	size_t len = 0;
	int64_t ms;

	if (chain_entry_parse(&e, data, size) == 0) {
		if (chain_entry_check(e) != 0)
			abort();
		if (chain_entry_encode(e, &again, &len) != 0)
			abort();
		if (len != size || memcmp(again, data, size) != 0)
			abort();
		free(again);
		chain_entry_free(e);
	} else if (e != NULL) {
		abort();
	}
	e = NULL;
	if (chain_entry_parse_unindexed(&e, data, size) == 0) {
		chain_entry *indexed = NULL;
		if (e->index != 0 || chain_entry_check(e) != 0)
			abort();
		if (chain_entry_encode_unindexed(e, &again, &len) != 0)
			abort();
		if (len != size || memcmp(again, data, size) != 0)
			abort();
		free(again);
		chain_entry_free(e);
		if (chain_entry_parse(&indexed, data, size) == 0)
			abort();
	} else if (e != NULL) {
		abort();
	}
	if (chain_time_parse((const char *)data, size, &ms) == 0) {
		char t[CHAIN_TIME_LEN];
		if (chain_time_format(ms, t) != 0 || size != CHAIN_TIME_LEN - 1 || memcmp(t, data, size) != 0)
			abort();
	}
	s = malloc(size + 1);
	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		(void)chain_node_name_check(s);
		free(s);
	}
	return 0;
}
