/* arca_cmd_chain.h - the `arca chain` subcommands (arca_cmd_chain*.c) and
 * what they share: the archive's node name, log repository and public key. */
#ifndef ARCA_CMD_CHAIN_H
#define ARCA_CMD_CHAIN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "arca_conf.h"
#include "chain_key.h"
#include "chain_log.h"

typedef struct arca_chain_ctx {
	const char *root;
	arca_conf conf;            /* conf.node names the log */
	char repo[PATH_MAX];       /* ROOT/chain/log.git */
	chain_key *key;            /* public (verify) key, or the private one for append */
} arca_chain_ctx;

/* Loads ROOT/arca.conf and the key: key_arg (--key: a file or base64) if
 * not NULL, else ROOT/keys/node.pub; with private, ROOT/keys/node.key.
 * Prints the error (prefixed with cmd) and returns the exit status on
 * failure, 0 on success.  Release with arca_chain_ctx_release. */
int arca_chain_ctx_open(arca_chain_ctx *ctx, const char *cmd, const char *root, const char *key_arg,
			bool private);
void arca_chain_ctx_release(arca_chain_ctx *ctx);

/* Where the log stands before it is read. */
typedef enum arca_chain_state {
	ARCA_CHAIN_PRESENT,       /* the node's ref exists */
	ARCA_CHAIN_EMPTY,         /* no ref and no object: nothing appended yet */
	ARCA_CHAIN_REF_MISSING,   /* no ref, but the repository holds objects */
	ARCA_CHAIN_NO_REPO        /* ROOT/chain/log.git is not there */
} arca_chain_state;

/* Looks at the repository's files (refs/arca/log/<node>, packed-refs,
 * objects/): a log's ref is only ever created with its first batch, so
 * objects without the ref mean the ref was removed. */
arca_chain_state arca_chain_state_of(const arca_chain_ctx *ctx);

/* Opens the read-only view of the log for cmd; *v is NULL for an empty
 * log.  On failure prints one line and returns the exit status (1 when the
 * log is damaged: "run arca chain verify"), else 0. */
int arca_chain_open_view(arca_chain_ctx *ctx, const char *cmd, chain_log_view **v);

/* "missing value after" / "unknown option" / stray argument: prints the
 * one-line usage error for cmd and returns ARCA_EXIT_USAGE. */
int arca_chain_bad_arg(const char *cmd, int argc, char **argv, int i);

/* Parses --since: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or
 * YYYY-MM-DDTHH:MM:SS.mmmZ (UTC) into ms since the epoch. */
bool arca_chain_parse_time(const char *s, int64_t *ms);

int arca_cmd_chain_log(int argc, char **argv);
int arca_cmd_chain_verify(int argc, char **argv);
int arca_cmd_chain_proof(int argc, char **argv);
int arca_cmd_chain_check_proof(int argc, char **argv);
int arca_cmd_chain_append(int argc, char **argv);

#endif
