/* store_verify.h - checking a whole archive's storage (`arca verify`,
 * issue 4): every index row, every manifest, every chunk, the instance and
 * study hashes, and what lies in the chunk store that nothing references.
 *
 * The walk, study by study (each study's rows read in one short read
 * transaction of the index, so that a verify running beside arcad neither
 * sees half a batch nor pins the SQLite WAL for hours):
 *   1. the index itself: SQLite's quick_check, the counts of PS3.4 C.6.1.1
 *      kept on patients, studies and series against the rows, rows whose
 *      parent is missing, hashes that are not 32 bytes;
 *   2. per instance row (the current version and every kept version): the
 *      manifest is read (store_cas_get re-checks its CRC, GCM tag and
 *      SHA-256) and decoded, it must name the row's SOP Instance UID,
 *      instance hash, length and transfer syntax; then the instance is
 *      rebuilt as retrieval rebuilds it (store_instance.h), every chunk
 *      read and re-hashed, and the stream's SHA-256 and length must be the
 *      manifest's.  When a chunk fails, every chunk of the manifest is then
 *      checked one by one so that each damaged or missing one is named;
 *   3. per study: its study hash (store_instance_study_hash) over the
 *      instance hashes recomputed in step 2, handed to the caller, who
 *      compares it with the provenance chain (storage never sees the chain);
 *   4. the chunk store walked (store_cas_iter): a chunk that no manifest
 *      and no index row references is garbage for `arca gc` (a manifest
 *      among them is an instance that was never indexed: an ingest that
 *      was interrupted or refused); it is re-hashed too, since the store
 *      deduplicates on existence and a damaged unreferenced chunk would
 *      damage the next instance that contains the same bytes; anything
 *      that is not a chunk is named; temp files in chunks/tmp are counted.
 *
 * Verify only reads: the index through its own read-only connection, the
 * chunk store through the caller's store_cas (store_cas_open removes
 * crash temp files when no other process has the store open: that is the
 * store's rule, not verify's).  It may run while arcad ingests: a row is
 * read only once its chunks and manifest are durable (durability order,
 * docs/storage-format.md 8), and chunks put after the walk of the store
 * began may or may not be seen.
 *
 * The index is read with SQLite directly (store_verify_index.c), below
 * store_index.h's interface, because verify checks what that interface
 * hides (kept versions, counts, dangling rows); it reads the tables of
 * index schema version 1, which later versions only add to, and refuses
 * an index newer than the index code (ARCA_EUNSUPPORTED).
 *
 * Threads: the rebuilds run on `threads` workers.  The callbacks are
 * serialised (never two at once) but may come from any of them.
 *
 * Errors: the functions return 0 when the walk completed, whatever it
 * found (the faults went to the callbacks and the stats); a negative
 * ARCA_E* code when it could not (index unreadable, out of memory). */
#ifndef STORE_VERIFY_H
#define STORE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_cas.h"

/* What a fault is about. */
typedef enum store_verify_what {
	STORE_VERIFY_CHUNK_DAMAGED = 1,     /* a referenced chunk fails its CRC, tag, format or SHA-256 */
	STORE_VERIFY_CHUNK_MISSING,         /* a referenced chunk is not in the store */
	STORE_VERIFY_MANIFEST_DAMAGED,      /* the manifest chunk fails its checks or does not decode */
	STORE_VERIFY_MANIFEST_MISSING,      /* the index row's manifest is not in the store */
	STORE_VERIFY_MANIFEST_MISMATCH,     /* the manifest and its index row disagree */
	STORE_VERIFY_INSTANCE_MISMATCH,     /* rebuilt stream: SHA-256 or length is not the manifest's */
	STORE_VERIFY_INDEX_ROW,             /* an instance row that is malformed or dangling */
	STORE_VERIFY_INDEX,                 /* the index as a whole: integrity check, counts */
	STORE_VERIFY_UNREFERENCED_DAMAGED,  /* a chunk nothing references is damaged (poisons dedup) */
	STORE_VERIFY_STRAY                  /* a file under chunks/ that is not a chunk */
} store_verify_what;

/* One fault.  Every pointer is borrowed for the callback. */
typedef struct store_verify_fault {
	store_verify_what what;
	/* The instance (NULL for faults of the index as a whole or of the
	 * store): its study, series and SOP Instance UIDs as the index holds
	 * them (study or series NULL when the row's parent is missing), and
	 * which version of it (current, or a kept one). */
	const char *study, *series, *sop;
	unsigned version;
	bool current;
	bool has_chunk;                       /* chunk: the chunk or manifest concerned */
	uint8_t chunk[STORE_CAS_HASH_LEN];
	const char *path;                     /* STRAY: the file; else NULL */
	const char *message;                  /* one line: what is wrong */
} store_verify_fault;

/* One study, once every row of it was checked.  Borrowed for the callback. */
typedef struct store_verify_study store_verify_study;

/* Progress: rows and instance bytes done so far, of the totals (counted at
 * the start; rows indexed meanwhile may push done past total). */
typedef struct store_verify_progress {
	uint64_t rows_done, rows_total;
	uint64_t bytes_done, bytes_total;
	uint64_t unreferenced_done;           /* in the walk of the store (step 4) */
	bool walking_store;
} store_verify_progress;

typedef void (*store_verify_fault_fn)(void *ctx, const store_verify_fault *f);
typedef void (*store_verify_study_fn)(void *ctx, const store_verify_study *s);
typedef void (*store_verify_progress_fn)(void *ctx, const store_verify_progress *p);

typedef struct store_verify_options {
	const char *index;        /* the index location (SQLite file) */
	const char *study;        /* NULL: the whole archive; else only this study (no step 4) */
	bool skip_store_walk;     /* no step 4 (`arca chain verify` needs the studies only) */
	bool skip_index_check;    /* no step 1 */
	unsigned threads;         /* rebuild workers; 0 = online CPUs, at most 8 */
	uint64_t max_rate;        /* instance bytes per second at most (a verify beside
				   * clinical work); 0 = as fast as it goes */
	store_verify_fault_fn on_fault;
	store_verify_study_fn on_study;
	store_verify_progress_fn on_progress; /* at most ~10 times a second */
	void *ctx;                /* passed to the three callbacks */
} store_verify_options;

typedef struct store_verify_stats {
	uint64_t studies, instances, versions;   /* rows checked: current instances, kept versions */
	uint64_t damaged_instances;              /* rows (current or kept) not rebuilt intact */
	uint64_t damaged_studies;                /* studies with a damaged current instance */
	uint64_t index_faults;                   /* STORE_VERIFY_INDEX and _INDEX_ROW */
	uint64_t instance_bytes;                 /* canonical bytes rebuilt and hashed */
	uint64_t chunks_read;                    /* chunk reads (a shared chunk once per instance) */
	uint64_t chunk_bytes_read;               /* their plain bytes */
	uint64_t referenced_chunks;              /* distinct chunks referenced, manifests included */
	uint64_t referenced_stored_bytes;        /* their files' sizes (step 4) */
	uint64_t unreferenced_chunks, unreferenced_bytes; /* garbage (step 4), stored bytes */
	uint64_t unreferenced_manifests;         /* of which instance manifests never indexed */
	uint64_t unreferenced_damaged;
	uint64_t stray;                          /* files under chunks/ that are not chunks */
	uint64_t temp_files, temp_bytes;         /* in chunks/tmp when the walk began: puts in
						  * progress (see store_verify_temp_files) */
	uint64_t chain_pending;                  /* studies marked as owed a store event on the chain
						  * (store_index.h, the chain outbox; arcad appends them
						  * at start), when the walk began */
	double seconds;
} store_verify_stats;

void store_verify_options_init(store_verify_options *opts);

/* Runs the walk on the store cas (opened by the caller) and the index at
 * opts->index.  stats (may be NULL) is filled even on error. */
int store_verify_run(store_cas *cas, const store_verify_options *opts, store_verify_stats *stats);

/* Files in <store_root>/chunks/tmp and their bytes: call it before
 * store_cas_open, which removes the leftovers of a crashed writer when no
 * other process has the store open (once open, what is there belongs to
 * puts in progress).  0, or ARCA_EIO when the directory cannot be read
 * (a missing one counts nothing). */
int store_verify_temp_files(const char *store_root, uint64_t *files, uint64_t *bytes);

/* ---- a study, in the study callback ---- */

const char *store_verify_study_uid(const store_verify_study *s);
/* Current instances of the study in the index. */
size_t store_verify_study_instances(const store_verify_study *s);
/* Of them, how many could not be rebuilt intact. */
size_t store_verify_study_damaged(const store_verify_study *s);
/* The study hash over all its current instances, each hash recomputed
 * from the store; ARCA_ECRYPTO (message naming the first instance) when
 * one of them could not be rebuilt intact. */
int store_verify_study_hash(const store_verify_study *s, uint8_t out[STORE_CAS_HASH_LEN]);
/* The same over its first k current instances in the order the index
 * received them: the study as it stood when it had k instances (for a
 * study that only grew), e.g. when the chain's last store event counted
 * k.  ARCA_EINVAL when k exceeds the count. */
int store_verify_study_hash_first(const store_verify_study *s, size_t k, uint8_t out[STORE_CAS_HASH_LEN]);

/* Static: "chunk damaged", "manifest missing", ... */
const char *store_verify_what_name(store_verify_what what);

#endif
