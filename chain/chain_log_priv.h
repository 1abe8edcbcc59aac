/* chain_log_priv.h - shared between the files of the log (chain_log*.c)
 * and its libgit2 adapter (chain_git.c); not public. */
#ifndef CHAIN_LOG_PRIV_H
#define CHAIN_LOG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "chain_entry.h"
#include "chain_key.h"
#include "chain_merkle.h"

/* ---- chain_git.c: the one place libgit2 errors become arca errors ---- */

/* Formats "<what>: <libgit2's message>" and returns the arca code for
 * git_rc: GIT_ENOTFOUND -> ARCA_ENOTFOUND, GIT_EEXISTS -> ARCA_EEXISTS,
 * GIT_EMODIFIED and GIT_ELOCKED -> ARCA_EEXISTS (someone else moved or
 * holds the ref), GIT_EINVALID... -> ARCA_EPROTO, anything else ARCA_EIO. */
int chain__git_error(int git_rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* libgit2's process-wide setup, counted: fsync of every file it writes in
 * a git directory (packs, their indexes, refs, and their directories) and
 * a cap on open pack files.  Pair each successful call with
 * chain__git_shutdown(). */
int chain__git_init(void);
void chain__git_shutdown(void);

/* Opens the bare repository at path; with create, makes it first if it
 * does not exist (and fsyncs its directories). */
int chain__git_open(git_repository **out, const char *path, bool create);

/* fsync of a directory (so that names created in it are durable). */
int chain__git_fsync_dir(const char *path);

/* ---- the layout (docs/chain-format.md 7) ---- */

#define CHAIN_LOG_REF_PREFIX "refs/arca/log/"
/* "refs/arca/log/" + node + NUL */
#define CHAIN_LOG_REF_MAX (sizeof(CHAIN_LOG_REF_PREFIX) + CHAIN_ENTRY_NODE_MAX)
/* A batch file name: 12 digits, '-', 12 digits, NUL. */
#define CHAIN_LOG_BATCH_NAME_LEN 26

/* The directories of the batch whose first index is first:
 * entries/<first / 10^6, 6 digits>/<first / 10^4 % 100>/<first / 100 % 100>. */
void chain_log__batch_dirs(uint64_t first, char d1[7], char d2[3], char d3[3]);
void chain_log__batch_name(uint64_t first, uint64_t last, char name[CHAIN_LOG_BATCH_NAME_LEN]);
/* 0 and the range if name is a batch file name; ARCA_EPROTO if not. */
int chain_log__parse_batch_name(const char *name, uint64_t *first, uint64_t *last);
/* The commit message of a batch: "entries <first>-<last>\n" (decimal). */
void chain_log__commit_message(uint64_t first, uint64_t last, char *out, size_t size);

/* A batch file is its entries, each followed by one newline.  Steps *pos
 * through data[0..len): 1 and the next line (without its newline) as
 * offsets, 0 at the end, ARCA_EPROTO if the data does not end in a
 * newline or a line is empty. */
int chain_log__next_line(const uint8_t *data, size_t len, size_t *pos, size_t *start,
			 size_t *line_len);

/* ---- chain_log_git.c: writing one batch ---- */

/* A pack file's name: the 40 hex digits of "pack-<hex>.pack". */
#define CHAIN_LOG_PACK_NAME_LEN 41
/* Packs this writer may still merge (chain_log_pack.c): at most 7 per level. */
#define CHAIN_LOG_MAX_PACKS 40

typedef struct chain_log__pack {
	char name[CHAIN_LOG_PACK_NAME_LEN];
	uint32_t batches;
	uint64_t bytes;
} chain_log__pack;

typedef struct chain_log__store {
	git_repository *repo;
	git_odb_backend *mempack;     /* owned by the repository's odb */
	char ref[CHAIN_LOG_REF_MAX];
	const char *node;
	bool has_tip;
	git_oid tip;
	bool created_ref_dirs;        /* the ref's directories were fsynced */
	chain_log__pack packs[CHAIN_LOG_MAX_PACKS]; /* this session's mergeable packs, oldest first */
	size_t npacks;
} chain_log__store;

/* Attaches the in-memory object backend to store->repo. */
int chain_log__store_init(chain_log__store *st);

/* Writes one commit on top of st->tip (none: a root commit) holding the
 * batch blob at its path and the checkpoint note, as one fsynced pack,
 * then moves the ref (compare-and-swap against st->tip) and sets st->tip.
 * Nothing is visible on the ref until it all is durable. */
int chain_log__store_batch(chain_log__store *st, uint64_t first, uint64_t last,
			   const void *blob, size_t blob_len, const char *note, size_t note_len,
			   int64_t time_s);

/* ---- chain_log_pack.c: merging this writer's packs ---- */

/* Records the pack a batch was just written to. */
int chain_log__store_packed(chain_log__store *st, const char *name);

/* Merges packs as chain_log_pack.c describes, one step at a time while
 * busy(arg) (may be NULL) says nothing waits; opens st->repo again if it
 * merged.  Returns an error only if the repository cannot be reopened (a
 * failed merge leaves the packs as they were). */
int chain_log__store_maintain(chain_log__store *st, bool (*busy)(void *arg), void *arg);

/* ---- chain_log_keys.c: the key in force at each size ---- */

typedef struct chain_log__key_change {
	uint64_t index;               /* the arca:key-change entry */
	uint8_t old_public[32], new_public[32];
	chain_key *old_key, *new_key; /* verify-only, owned */
} chain_log__key_change;

typedef struct chain_log__keys {
	const chain_key *given;       /* the caller's key, borrowed */
	uint8_t given_pub[32];
	chain_log__key_change *changes; /* in index order */
	size_t n, cap;
} chain_log__keys;

int chain_log__keys_init(chain_log__keys *k, const chain_key *given);
void chain_log__keys_release(chain_log__keys *k);
/* Records e if it is a key change (ARCA_ECRYPTO if its old key is not the
 * key in force before it). */
int chain_log__keys_note_entry(chain_log__keys *k, const chain_entry *e);
/* The same from an entry's bytes at index; only key changes are parsed. */
int chain_log__keys_note(chain_log__keys *k, uint64_t index, const uint8_t *line, size_t len);
/* The key that signs the checkpoint of a tree of size entries (borrowed). */
const chain_key *chain_log__keys_at(const chain_log__keys *k, uint64_t size);
/* 0 if the caller's key is the key in force after the last entry noted;
 * ARCA_ECRYPTO naming both keys if not. */
int chain_log__keys_check_current(const chain_log__keys *k);

/* ---- chain_log_load.c: reading the tree at the tip ---- */

/* Told of each batch file as it is read: its range and blob id. */
typedef int (*chain_log__batch_fn)(void *arg, uint64_t first, uint64_t last, const git_oid *blob);

/* Reads the ref (absent: an empty log), every batch file of the tip's
 * tree in order, appends each entry's leaf to tree, and checks the tip's
 * checkpoint (origin, signature by the key in force at its size, size,
 * root) against it; key must be the key in force after the last entry
 * (chain_log_keys.c).  Sets
 * *has_tip / tip.  fn (may be NULL) is called once per batch. */
int chain_log__load(git_repository *repo, const char *ref, const char *node, const chain_key *key,
		    chain_merkle *tree, bool *has_tip, git_oid *tip, chain_log__batch_fn fn, void *arg);

/* Only the key changes of the tip's tree, into keys (initialised by the
 * caller with its key): what chain_log_verify_repo needs before it walks
 * the history, since a checkpoint's key may be named by a later entry.
 * On a structural error the changes read so far stay in keys. */
int chain_log__load_keys(git_repository *repo, const char *ref, chain_log__keys *keys);

/* ---- chain_log_journal.c: the journal (docs/chain-format.md 7.6) ---- */

typedef struct chain_log__journal {
	int fd;          /* -1 until the first reset */
	char *path;      /* <repo>/arca-journal-<node, '/' as '+'> */
	uint64_t first;  /* the tree size when the file was made (its header) */
	uint64_t pos;    /* where the next record goes */
	uint64_t alloc;  /* bytes of the file written (zeros past pos) */
} chain_log__journal;

typedef struct chain_log__jrec {
	const char *bytes; /* an entry's canonical bytes */
	size_t len;
} chain_log__jrec;

int chain_log__journal_path(const char *repo, const char *node, char **out);
/* Replaces the file by an empty journal starting at entry first (written,
 * synced, renamed over, directory synced) and opens it for appending. */
int chain_log__journal_reset(chain_log__journal *j, const char *repo, uint64_t first);
/* Appends n records written by the flush whose first entry is flush_first
 * and syncs them (fdatasync): durable when it returns 0. */
int chain_log__journal_append(chain_log__journal *j, const chain_log__jrec *recs, size_t n,
			      uint64_t flush_first);
void chain_log__journal_close(chain_log__journal *j);

/* Called with each journaled entry not on the ref (index tree_size,
 * tree_size + 1, ...); a non-zero return stops the reading. */
typedef int (*chain_log__journal_fn)(void *arg, uint64_t index, const char *bytes, size_t len);
/* Reads the journal at path (absent: nothing pending): skips entries
 * below tree_size, cuts a torn tail, fails (ARCA_EPROTO, naming the
 * journal and the index) on a gap, a foreign entry or a damaged record
 * that later flushes follow.  *pending: the entries passed to fn. */
int chain_log__journal_read(const char *path, const char *node, uint64_t tree_size,
			    chain_log__journal_fn fn, void *arg, uint64_t *pending);

/* The size of the checkpoint the ref points at now (0: no ref). */
int chain_log__ref_size(git_repository *repo, const char *ref, uint64_t *size);
/* <repo>/arca-writer-<node, '/' as '+'>.lock */
int chain_log__lock_path(const char *repo, const char *node, char **out);

/* How long a reader waits for a live writer's checkpoint. */
#define CHAIN_LOG_SETTLE_MS 5000
/* Read-your-writes for readers (views, verification): while the journal
 * holds entries the ref does not and a writer is alive (holds the writer
 * lock), waits (polling, at most CHAIN_LOG_SETTLE_MS) for it to commit
 * the entries journaled before the call (not later ones, which under
 * load never stop), so that a reader sees every entry reported durable
 * before it started.  *pending: the journaled entries not on the ref
 * when it returns. */
void chain_log__settle(git_repository *repo, const char *repo_path, const char *node,
		       uint64_t *pending);

#endif
