/* store_ingest.h - the implementations of the ingest interface
 * (pacs/pacs_ingest.h): the content-addressed store (store_ingest_cas_*,
 * at the end of this header), arcad's default, and the files ingest, kept
 * for comparison ([storage] backend = files).
 *
 * The files ingest: every instance received becomes one Part 10 file
 *
 *     ROOT/instances/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm
 *
 * written durably (temp file in ROOT/tmp, fsync, rename, directory fsync)
 * before the C-STORE is acknowledged (no index, no normalisation).
 *
 * - bulk values stream to a spool file ROOT/tmp/spool-XXXXXX as they
 *   arrive (loop thread, no fsync); the commit (worker thread) writes the
 *   Part 10 file from the metadata, pulling bulk values back from the
 *   spool, and removes the spool;
 * - the file's meta group is rebuilt (PS3.10 7.1): Source AE Title
 *   (0002,0016) is the calling AE; the data set is written in the transfer
 *   syntax it was received in, so compressed pixel data is kept as sent;
 * - the three UIDs are checked (PS3.5 9.1: digits and dots, at most 64
 *   characters, no empty component) before they name a path, so that no
 *   UID can escape ROOT (refused with 0xA900);
 * - an instance stored again with identical bytes is a success and changes
 *   nothing; with different bytes the new file takes the name and the old
 *   one is kept beside it as <SOPInstanceUID>.dcm.prev-N;
 * - I/O failures answer 0xA700 (out of resources), with the cause first in
 *   the Error Comment ("No space left on device: ...");
 * - at open, files left in ROOT/tmp by an earlier run that stopped
 *   mid-instance are removed. */
#ifndef STORE_INGEST_H
#define STORE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ingest.h"
#include "store_cas.h"

struct store_index;

typedef struct store_ingest_files store_ingest_files;

/* Opens (creating them if needed) ROOT/instances and ROOT/tmp and removes
 * leftover spool-* and part10-* files from ROOT/tmp.  *out is the caller's:
 * store_ingest_files_free(), after the server that uses it is freed. */
int store_ingest_files_open(store_ingest_files **out, const char *root);
/* Accepts NULL. */
void store_ingest_files_free(store_ingest_files *s);

/* Fills *out with the operations and s as their context (borrowed). */
void store_ingest_files_ingest(store_ingest_files *s, pacs_ingest *out);

/* The file of an instance: ROOT/instances/study/series/sop.dcm.  ARCA_EPROTO
 * when a UID is not valid, ARCA_ELIMIT when buf is too small. */
int store_ingest_files_path(const store_ingest_files *s, const char *study, const char *series,
			    const char *sop, char *buf, size_t size);

/* A UID that is safe as a file name (PS3.5 9.1): 1 to 64 characters;
 * components of digits separated by single dots, none empty.  Leading
 * zeros in a component, which PS3.5 9.1 forbids, are tolerated: real
 * systems send them and they cannot escape a directory.  0 or ARCA_EPROTO
 * with a message naming what ("Study Instance UID ..."). */
int store_ingest_uid_check(const char *uid, const char *what);

/* ---- the content-addressed ingest (arcad's default) ----
 *
 * The pipeline of design.md 3.1 behind the same interface
 * (store_ingest_cas.c, docs/storage-format.md "Ingest"):
 *
 * - bulk (loop thread): pixel data and other bulk values are cut into
 *   chunks as they stream in: one per frame of native multi-frame pixel
 *   data (frames under 64 KiB grouped, frames over chunk_max split), one
 *   per fragment of encapsulated pixel data (fragments of at most 4 KiB,
 *   such as the Basic Offset Table, are kept inline in the manifest), fixed
 *   pieces of at most chunk_max otherwise.  A completed chunk is put into
 *   the chunk store (SHA-256, zstd, optional AES-256-GCM; deferred sync) by
 *   a small put pool, or on the calling thread when the pool is full or
 *   has no threads.  At most one chunk is being filled per instance, at
 *   most two are being put, and at most chunk_max bytes of completed
 *   chunks are kept until the commit (to hash the instance without reading
 *   them back);
 * - commit (worker thread): the normalisation rules, if any (a refusal
 *   keeps the instance in ROOT/quarantine/<SOP Instance UID>/ with
 *   instance.dcm and reason.txt, and answers the rules' status); the
 *   metadata object and the manifest (store_manifest.h) with the instance
 *   hash (store_instance.h), taken from the kept chunks while their puts
 *   still run; once the puts are over, the manifest put as a chunk; then the group
 *   committer (store_commit.h): one chunk store sync and one index
 *   transaction for every commit waiting, and only then the answer;
 * - at open: the chunk store removes its crash leftovers, the index is
 *   opened (created) and the rules file loaded. */
typedef struct store_ingest_cas store_ingest_cas;

typedef struct store_ingest_cas_options {
	int zstd_level;        /* 0 = 1 (fast; level 3 saves about 10% more) */
	store_cas_codec codec; /* chunks of 16-bit samples; DEFAULT = FAST */
	bool encrypt;          /* AES-256-GCM at rest, key ROOT/cas.key */
	size_t chunk_max;      /* largest chunk; 0 = STORE_CAS_CHUNK_DEFAULT (4 MiB) */
	const char *rules;     /* normalisation rules file; NULL or "": none */
	const char *index;     /* index location; NULL: ROOT/index.db */
	int put_threads;       /* put pool threads; 0: put on the calling (loop)
				* thread; negative: the default, 2 */
	size_t max_batch;      /* most commits per durability round; 0 = 256 */
	bool wait_puts_first;  /* the commit waits for every chunk put before
				* the rules and the instance hash (the order of
				* arca before 2026-11; same results, longer
				* latency): for tests and comparisons */
} store_ingest_cas_options;

void store_ingest_cas_options_init(store_ingest_cas_options *opts);

/* Opens (creating what is missing) the chunk store at ROOT, the index, the
 * rules, ROOT/quarantine and the put pool and committer threads.  opts NULL
 * = defaults.  *out is the caller's: store_ingest_cas_free(), after the
 * server that uses it is freed. */
int store_ingest_cas_open(store_ingest_cas **out, const char *root, const store_ingest_cas_options *opts);
/* Finishes what is in flight and frees.  Accepts NULL. */
void store_ingest_cas_free(store_ingest_cas *s);

/* Fills *out with the operations and s as their context (borrowed). */
void store_ingest_cas_ingest(store_ingest_cas *s, pacs_ingest *out);

/* Borrowed: the chunk store and the index, for the read path. */
store_cas *store_ingest_cas_store(store_ingest_cas *s);
struct store_index *store_ingest_cas_index(store_ingest_cas *s);

typedef struct store_ingest_cas_stats {
	uint64_t instances;      /* committed (new, duplicate or new version) */
	uint64_t refused;        /* refused by the rules (quarantined) */
	uint64_t chunks_new, chunks_dedup;         /* chunks put: written / already stored */
	uint64_t bytes_new, bytes_dedup;           /* their plain bytes */
	uint64_t puts_inline, puts_pool;           /* where chunks were put */
	uint64_t rehashed;       /* instances hashed by reading chunks back */
	/* the group commit (store_commit_stats) */
	uint64_t batches, batch_items, largest_batch;
	uint64_t sync_only;      /* syncs asked for by large instances */
	/* Latency of the stored instances (refusals and failures left out):
	 * seconds summed over `timed` instances, stage by stage, from the end
	 * of the instance's last bulk value to its answer (docs/storage-format.md
	 * section 8).  Stages that overlap others (the puts run beside the
	 * commit) count only the time the commit waited for them. */
	uint64_t timed;
	double lat_handoff;  /* end of the last bulk value -> the commit starts (worker) */
	double lat_prepare;  /* rules, UID checks, metadata object, data set rebuilt */
	double lat_hash;     /* instance hash over the canonical stream */
	double lat_puts;     /* then waiting for chunk puts still running */
	double lat_manifest; /* manifest encoded and put */
	double lat_queue;    /* queued for the committer -> its sync round starts */
	double lat_sync;     /* the sync round (chunks, manifest, directory) */
	double lat_synced;   /* synced -> its record step starts */
	double lat_index;    /* the index transaction */
	double lat_hook;     /* the batch hook (arcad: the chain's store event) */
	double lat_release;  /* quality records, release, the worker running again */
	double lat_total;    /* end of the last bulk value -> the answer */
} store_ingest_cas_stats;

void store_ingest_cas_stats_get(store_ingest_cas *s, store_ingest_cas_stats *out);

/* Called on the committer thread after the index transaction of each
 * batch and before any of its commits is released (design.md 3.1 step 5:
 * index, then fsync, then the chain event, then success): batch[i] and
 * results[i] are the n records and what store_index_put did with them,
 * borrowed for the call.  idx is the ingest's index (borrowed), to read
 * what the batch changed.  A negative return fails every commit of the
 * batch that had not failed, with the message set (their records stay in
 * the index). */
struct store_index_instance;
struct store_index_put_result;
typedef int (*store_ingest_cas_batch_fn)(void *ctx, struct store_index *idx,
					  struct store_index_instance *const *batch,
					  const struct store_index_put_result *results, size_t n);

/* Sets the batch hook (fn NULL: none).  Call before the first commit. */
void store_ingest_cas_set_batch_hook(store_ingest_cas *s, store_ingest_cas_batch_fn fn, void *ctx);

/* The peer_address (pacs_ingest_info) with which `arca quarantine release`
 * begins the re-ingest of a quarantined instance: its quality record says
 * "release" (store_quality.h). */
#define STORE_INGEST_RELEASE_PEER "quarantine-release"

/* For the transaction txn of a store_ingest_cas (after begin, before
 * commit): refusals by the rules ids[0..n) are waived (pacs_norm_run_waived:
 * an operator's `arca quarantine release --force`).  ids is borrowed until
 * the commit returns. */
void store_ingest_cas_waive(void *txn, const char *const *ids, size_t n);

/* One line for the log: instances, chunks, dedup, the group commit's
 * batch sizes (store_commit_stats_format) and the mean latency of an
 * instance stage by stage. */
void store_ingest_cas_stats_format(store_ingest_cas *s, char *buf, size_t size);

#endif
