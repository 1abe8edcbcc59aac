/* chain_fixture.h - the temporary repository shared by the chain unit
 * tests: a fresh directory (under $TMPDIR, else /tmp) that holds the log's
 * bare repository, two signing keys from fixed seeds (so that a log's
 * bytes can be computed again), a log opened with a configuration, and the
 * cleanup.  Test code only. */
#ifndef ARCA_TESTS_CHAIN_FIXTURE_H
#define ARCA_TESTS_CHAIN_FIXTURE_H

#include <stdint.h>

#include "chain_key.h"
#include "chain_log.h"

typedef struct chain_fixture {
	char dir[256];       /* the test's directory, removed by chain_fixture_fini */
	char repo[300];      /* dir/<repo_sub>: where the log's repository goes */
	chain_key *key;      /* the node's key: seed byte i = i * seed_step */
	chain_key *other_key; /* a foreign signer: the same seed with byte 0 = 0xff */
} chain_fixture;

/* Makes $TMPDIR/<name>.XXXXXX and the keys.  0, or -1 when it cannot
 * (a cmocka setup's failure). */
int chain_fixture_init(chain_fixture *f, const char *name, const char *repo_sub, uint8_t seed_step);
/* Removes the directory and everything below it, frees the keys. */
void chain_fixture_fini(chain_fixture *f);

/* chain_log_open(c); fails the test, with the error, when it does not open. */
chain_log *chain_fixture_open_log(const chain_log_config *c);

#endif
