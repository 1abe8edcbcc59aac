/* arca_spool.h - the chain event spool (docs/chain-format.md 9): how an
 * `arca` command hands a provenance event to the running arcad, which
 * holds the log's one writer lock for its whole life (chain_log.h).
 *
 *   ROOT/chain/spool/                  mode 0700
 *   ROOT/chain/spool/.arcad.lock       flock'ed by arcad while it runs: a
 *                                      command that finds it held spools
 *   ROOT/chain/spool/<ms>-<pid>-<rand>.ev   one event each
 *   ROOT/chain/spool/.tmp-<name>       a file being written (ignored; arcad
 *                                      removes those over an hour old)
 *   ROOT/chain/spool/rejected/<name>   a malformed file set aside
 *
 * A spool file is "arca-spool 1\n", then the entry's canonical bytes
 * without its index (chain_entry_encode_unindexed) and "\n": nothing
 * else.  It is written under a temporary name, fsynced, renamed and the
 * directory fsynced, so that it appears whole or not at all.  Whoever
 * holds the writer lock (arcad, or a command when arcad is not running)
 * drains the spool in name order (time order): each file is parsed
 * strictly, appended (the log gives it its index), and removed only once
 * its entry is durable; a file that does not parse, or names another
 * node, is moved to rejected/.  A crash between the entry becoming
 * durable and the file's removal appends it again at the next drain (at
 * least once, never lost). */
#ifndef ARCA_SPOOL_H
#define ARCA_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "chain_entry.h"
#include "chain_log.h"

#define ARCA_SPOOL_DIR "chain/spool"
#define ARCA_SPOOL_REJECTED "rejected"
#define ARCA_SPOOL_LOCK ".arcad.lock"
#define ARCA_SPOOL_MAGIC "arca-spool 1\n"
/* The largest spool file read: the magic line, an entry, a newline. */
#define ARCA_SPOOL_FILE_MAX (sizeof(ARCA_SPOOL_MAGIC) - 1 + CHAIN_ENTRY_MAX_LEN + 1)
/* File names: "<ms>-<pid>-<16 hex>.ev" fits in this with its NUL. */
#define ARCA_SPOOL_NAME_MAX 64
/* Files taken by one drain (the rest wait for the next). */
#define ARCA_SPOOL_DRAIN_MAX 1024

/* ROOT/chain/spool (and ROOT/chain/spool/NAME when name is not NULL) into
 * buf; ARCA_EINVAL if it does not fit. */
int arca_spool_path(char *buf, size_t size, const char *root, const char *name);

/* Creates ROOT/chain/spool (0700) and rejected/ if absent. */
int arca_spool_mkdir(const char *root);

/* arcad: takes the spool's lock for as long as *fd stays open (close it
 * to release; the kernel releases it when the process dies).
 * ARCA_EEXISTS if another process holds it. */
int arca_spool_lock(const char *root, int *fd);

/* A command: does a running arcad hold the spool's lock? */
bool arca_spool_arcad_running(const char *root);

/* Writes e (node and time set; the index is not written) as a new spool
 * file, durably; its file name into name. */
int arca_spool_write(const char *root, const chain_entry *e, char name[ARCA_SPOOL_NAME_MAX]);

/* Does spool file name still exist, and was it set aside? */
bool arca_spool_exists(const char *root, const char *name);
bool arca_spool_was_rejected(const char *root, const char *name);

/* The spool files waiting (names of the form above, and any other name
 * not starting with '.' that is not rejected/: such a file is malformed
 * and the drain sets it aside), sorted, at most ARCA_SPOOL_DRAIN_MAX.
 * *names is the caller's: arca_spool_names_free(). */
int arca_spool_list(const char *root, char ***names, size_t *n);
void arca_spool_names_free(char **names, size_t n);

/* Reads spool file name strictly (a regular file of at most
 * ARCA_SPOOL_FILE_MAX bytes, the magic line, one canonical unindexed
 * entry of node, the final newline).  ARCA_EPROTO or ARCA_ELIMIT, saying
 * what is wrong, for a malformed file; ARCA_ENOTFOUND if it is gone.
 * *out: chain_entry_free(). */
int arca_spool_read(chain_entry **out, const char *root, const char *name, const char *node);

/* Moves name to rejected/ (replacing one of the same name there). */
int arca_spool_reject(const char *root, const char *name);

/* Removes the temporary files (.tmp-*) of commands that died while
 * writing them, if older than max_age seconds; *removed counts them. */
int arca_spool_clean(const char *root, unsigned max_age, size_t *removed);

/* Removes name once its entry is durable; with sync, syncs the directory
 * too (else arca_spool_sync does, once for several: a removal lost in a
 * crash only appends the entry again). */
int arca_spool_remove(const char *root, const char *name, bool sync);
int arca_spool_sync(const char *root);

/* Called for each file set aside, with the reason (borrowed). */
typedef void (*arca_spool_reject_fn)(void *arg, const char *name, const char *why);

/* A command holding the writer lock (log opened with background =
 * false): appends every waiting spool file, flushes, then removes them.
 * *appended (may be NULL) counts the entries appended. */
int arca_spool_drain_sync(const char *root, const char *node, chain_log *log, arca_spool_reject_fn fn,
			  void *arg, size_t *appended);

#endif
