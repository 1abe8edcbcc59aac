/* chain_log.h - a node's provenance log: append-only, batched, stored in
 * git objects through libgit2 (design 3.3, docs/chain-format.md 7).
 *
 * Appending: chain_log_append() gives the entry the next log index, encodes
 * it (chain_entry.h) and queues it; it never touches the disk and is safe
 * to call from any thread (the server calls it from the libev loop and
 * from workers).  A flusher writes the queue in batches, every
 * batch_entries entries or batch_ms milliseconds after the oldest queued
 * entry, whichever comes first; a batch takes everything queued by then,
 * up to 16 x batch_entries, so that batches grow when the disk falls
 * behind (group commit) rather than the queue:
 *
 *   1. the entries' leaves go into the RFC 9162 tree (chain_merkle.h);
 *   2. a checkpoint of the new tree is signed with the node key
 *      (chain_checkpoint.h);
 *   3. one commit is written on refs/arca/log/<node> in the bare
 *      repository: the batch as a new file entries/.../<first>-<last>
 *      (one entry per line) and the latest checkpoint as `checkpoint`;
 *      its objects go to one pack file, written and fsynced with its index
 *      and directory (no loose objects);
 *   4. the ref is moved to the commit (compare-and-swap on the old one),
 *      fsynced;
 *   5. only then each entry's durable callback runs with status 0.
 *
 * The flusher is either a thread the log owns (config.background = true:
 * the callbacks then run on that thread, and a server hands them back to
 * its loop, e.g. with ev_async) or the owner's calls to chain_log_flush()
 * (background = false: the callbacks run inside chain_log_flush, e.g. from
 * a timer).  chain_log_flush works in both modes.
 *
 * The journal (docs/chain-format.md 7.6).  The flusher thread does not
 * write each batch to git: it appends the batch's entries to the journal
 * file <repo>/arca-journal-<node> with one fdatasync, and then they are
 * durable (callbacks, chain_log_wait).  Steps 1-4 follow for everything
 * journaled, as one batch, when the journal holds checkpoint_entries
 * entries or its oldest is checkpoint_ms old, then the journal starts
 * empty.  chain_log_flush and chain_log_close put everything on the ref
 * before they return (a flush with nothing journaled writes straight to
 * git, steps 1-5), and so does the first batch of a new log.  Durable
 * still means: survives kill -9 and power loss, and reaches the ref with
 * the index it was given - chain_log_open commits what an earlier writer
 * journaled (and cuts a torn tail never reported durable) before anything
 * else; it fails (ARCA_EPROTO, naming the journal and the index) on a
 * damaged record that later flushes follow, a gap or a foreign entry.
 * Views and verification see checkpointed entries only; they wait (up to
 * 5 s) for a live writer to checkpoint what it journaled before they
 * opened.
 *
 * One writer per log: chain_log_open takes an exclusive lock (flock) on a
 * file in the repository for as long as the log is open; a second writer,
 * in this process or another, gets ARCA_EEXISTS.  The lock dies with its
 * process, so a crash never leaves a stale lock behind.
 *
 * A failed batch write (disk full, I/O error) fails the log: that batch's
 * and every queued entry's callbacks get the error, and every later append
 * returns ARCA_EIO until the log is closed and opened again.  Nothing that
 * was not reported durable is on the ref, so reopening is always safe. */
#ifndef CHAIN_LOG_H
#define CHAIN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain_entry.h"
#include "chain_hash.h"
#include "chain_key.h"

typedef struct chain_log chain_log;

/* Called once per appended entry, after its batch is durable (status 0)
 * or has failed (status < 0, message on the calling thread).  Runs on the
 * flusher's thread with no lock of the log held: it may append, but must
 * not call chain_log_flush or chain_log_close. */
typedef void (*chain_log_durable_fn)(void *arg, uint64_t index, int status);

typedef struct chain_log_config {
	const char *repo_path;  /* the bare repository (e.g. ROOT/chain/log.git), created if absent */
	const char *node;       /* node name (chain_node_name_check): ref, checkpoint origin, key name */
	const chain_key *key;   /* the node's private key; borrowed, must outlive the log */
	uint32_t batch_entries; /* N: flush at this many queued entries; 0: 1000 */
	uint32_t batch_ms;      /* T: flush this long after the oldest queued entry; 0: 50 */
	uint32_t queue_max;     /* appends beyond this many queued fail (ARCA_ELIMIT); 0: 65536 */
	uint32_t checkpoint_entries; /* K: commit the journal to git at this many; 0: 8192 */
	uint32_t checkpoint_ms;      /* T2: or this long after its oldest entry; 0: 1000 */
	bool background;        /* run the flusher thread (see above) */
} chain_log_config;

/* Opens (or creates) the log: takes the writer lock, reads the ref, reads
 * every batch of the current tree, rebuilds the Merkle tree and checks the
 * latest checkpoint's signature and root against it (ARCA_ECRYPTO if they
 * disagree: run chain_log_verify to find where).  *out is the caller's,
 * released with chain_log_close(). */
int chain_log_open(chain_log **out, const chain_log_config *config);

/* Flushes what is queued, stops the flusher, releases the lock and frees
 * the log (also when the flush fails; its error is returned).  NULL is
 * fine. */
int chain_log_close(chain_log *log);

/* Queues e with the next index (written to *index if not NULL).  The log
 * fills e's index and node (node must be NULL or the log's own), and its
 * time if time_ms is 0.  fn (may be NULL) is called with arg when the
 * entry is durable.  ARCA_EINVAL for an entry out of its rules,
 * ARCA_ELIMIT when the queue is full, ARCA_EIO after a failed batch. */
int chain_log_append(chain_log *log, const chain_entry *e, chain_log_durable_fn fn, void *arg,
		     uint64_t *index);

/* Writes everything queued when it is called, in batches, and returns
 * when it is durable and on the ref, journaled entries included (or the
 * first error). */
int chain_log_flush(chain_log *log);

/* Blocks until entry index is durable (0) or its batch failed (< 0).  With
 * background = false someone must be calling chain_log_flush. */
int chain_log_wait(chain_log *log, uint64_t index);

/* Durable entries: on the ref or in the journal (after chain_log_flush,
 * the size of the tree on the ref). */
uint64_t chain_log_size(chain_log *log);

/* The latest checkpoint on the ref: its tree size, its root and the signed
 * note (*note the caller's, freed with free(); pass NULL if not wanted).
 * ARCA_ENOTFOUND for an empty log. */
int chain_log_checkpoint(chain_log *log, uint64_t *size, uint8_t root[CHAIN_HASH_LEN],
			 char **note, size_t *note_len);

/* ---- reading a log without writing it ---- */

/* A read-only view of a log as it was at the tip of its ref when opened:
 * what `arca chain log` lists and `arca chain proof` proves.  It takes no
 * lock, so it can be opened while a writer appends (it does not see later
 * batches).  Opening checks what chain_log_open checks (the tip's
 * checkpoint against the rebuilt tree).  One thread at a time. */
typedef struct chain_log_view chain_log_view;

/* ARCA_ENOTFOUND if the repository or the ref does not exist, ARCA_ECRYPTO
 * if the entries do not match the signed checkpoint.  *out is the
 * caller's, freed with chain_log_view_free(). */
int chain_log_view_open(chain_log_view **out, const char *repo_path, const char *node,
			const chain_key *key);
void chain_log_view_free(chain_log_view *v);

/* Entries in the view (the checkpoint's tree size). */
uint64_t chain_log_view_size(const chain_log_view *v);

/* The tip's signed checkpoint note, borrowed (valid while v lives), and
 * the root it signs. */
const char *chain_log_view_checkpoint(const chain_log_view *v, size_t *len);
void chain_log_view_root(const chain_log_view *v, uint8_t root[CHAIN_HASH_LEN]);

/* Called with each entry's canonical bytes (len bytes, not NUL-terminated,
 * borrowed for the call); a non-zero return stops the walk and is
 * returned. */
typedef int (*chain_log_entry_fn)(void *arg, uint64_t index, const char *bytes, size_t len);

/* Calls fn for the entries from index `from` to the end, in order. */
int chain_log_view_foreach(chain_log_view *v, uint64_t from, chain_log_entry_fn fn, void *arg);

/* The bytes of entry index; *bytes (NUL-terminated) is the caller's, freed
 * with free().  ARCA_EINVAL past the end. */
int chain_log_view_entry(chain_log_view *v, uint64_t index, char **bytes, size_t *len);

/* RFC 9162 inclusion proof of entry index in the view's tree (the size the
 * checkpoint signs), as chain_merkle_inclusion_proof. */
int chain_log_view_inclusion_proof(chain_log_view *v, uint64_t index,
				   uint8_t out[][CHAIN_HASH_LEN], size_t cap, size_t *n);

/* ---- verification ---- */

/* Index value of a fault that concerns no single entry. */
#define CHAIN_LOG_NO_INDEX UINT64_MAX

typedef struct chain_log_fault {
	int code;            /* ARCA_ECRYPTO, ARCA_EPROTO, ARCA_ENOTFOUND, ... */
	uint64_t index;      /* the first bad entry's log index, or CHAIN_LOG_NO_INDEX */
	char commit[41];     /* hex id of the commit at fault, or "" */
	const char *reason;  /* one line; borrowed for the call */
} chain_log_fault;

typedef void (*chain_log_report_fn)(void *arg, const chain_log_fault *fault);

typedef struct chain_log_stats {
	uint64_t entries;    /* entries verified */
	uint64_t batches;    /* commits verified */
	uint8_t root[CHAIN_HASH_LEN];
	uint64_t pending;    /* journaled entries not yet on the ref (not a fault) */
} chain_log_stats;

/* Verifies the whole history of refs/arca/log/<node> in the repository at
 * repo_path, with the node's public key: the commits form one line from a
 * root commit; each adds exactly one batch file, whose first index follows
 * the previous batch's last, and changes `checkpoint`, nothing else; every
 * entry parses canonically and carries its index and node; every
 * checkpoint parses, names the node, is signed by key and holds the size
 * and root of the tree at that commit.  Stops at the first bad batch,
 * reports it through fn (may be NULL) and returns its code (0 if all is
 * well); the message names the entry index or commit and the reason.
 * stats (may be NULL) is filled with what was verified. */
int chain_log_verify_repo(const char *repo_path, const char *node, const chain_key *key,
			  chain_log_report_fn fn, void *arg, chain_log_stats *stats);

/* chain_log_verify_repo on the log's own repository, with one more check:
 * the ref still points at the commit this writer wrote last (a ref moved
 * by anyone else is a fault, reported first). */
int chain_log_verify(chain_log *log, chain_log_report_fn fn, void *arg);

#endif
