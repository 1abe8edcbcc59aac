/* store_ingest_cas_priv.h - internals shared by store_ingest_cas.c (open,
 * begin, bulk, abort: the loop thread's half) and store_ingest_cas_commit.c
 * (commit: the worker thread's half).  Not a public header. */
#ifndef STORE_INGEST_CAS_PRIV_H
#define STORE_INGEST_CAS_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_dimse.h"
#include "pacs_norm.h"
#include "store_cas.h"
#include "store_commit.h"
#include "store_index.h"
#include "store_ingest.h"
#include "store_putq.h"

/* Frames of native pixel data smaller than this share a chunk (whole
 * frames only): a chunk is a file and an fsync, and tiny frames gain
 * nothing from being addressed one by one. */
#define STORE_INGEST_MIN_CHUNK ((size_t)64 << 10)
/* Chunks of one instance being put by the pool at once; beyond, the loop
 * thread puts the next one itself. */
#define STORE_INGEST_MAX_INFLIGHT 2u
/* Put pool: default threads, and jobs queued or running over all
 * instances. */
#define STORE_INGEST_PUT_THREADS 2
#define STORE_INGEST_PUT_JOBS 16u
/* Chunks left pending (unsynced, each with an open file) at most: the
 * store syncs by itself past this; and an instance asks the committer for
 * a sync every STORE_INGEST_KICK chunks, long before that. */
#define STORE_INGEST_MAX_PENDING 512u
#define STORE_INGEST_KICK 128u

struct store_ingest_cas {
	char root[PATH_MAX];
	char quarantine[PATH_MAX];
	size_t chunk_max;
	bool wait_puts_first;     /* store_ingest_cas_options */
	store_cas *cas;
	store_index *index;
	pacs_norm_rules *rules;   /* NULL: no validation or normalisation */
	store_putq *putq;         /* NULL: puts on the calling thread */
	store_commit *committer;
	/* committer thread only: the batch handed to store_index_put */
	const store_index_instance **batch;
	store_index_put_result *results;
	store_index_instance **hook_batch; /* the same records, for the hook */
	size_t max_batch;
	store_ingest_cas_batch_fn hook;    /* NULL: none */
	void *hook_ctx;

	pthread_mutex_t stats_mu;
	store_ingest_cas_stats stats;
};

/* One piece of a bulk value: a chunk, or bytes kept inline in the
 * manifest. */
typedef struct cas_piece {
	uint32_t len;
	bool is_inline;
	bool stored;      /* chunk: put, hash valid */
	bool retained;    /* chunk: buf kept after the put, for the commit's hash */
	bool in_flight;   /* chunk: with the put pool */
	uint8_t hash[STORE_CAS_HASH_LEN];
	uint8_t *buf;     /* the bytes while held */
} cas_piece;

/* A fragment of encapsulated pixel data, or the whole of a native value. */
typedef struct cas_frag {
	uint32_t length;
	uint32_t received;
	size_t first_piece, n_pieces;
} cas_frag;

typedef struct cas_bulk {
	uint64_t stream_offset;  /* identifies the element: pacs_elem_offset() */
	uint32_t tag;
	uint32_t length;         /* PACS_UNDEFINED_LENGTH if encapsulated */
	bool encapsulated;
	bool ended;
	uint64_t received;       /* value bytes (native) */
	uint64_t frame_size;     /* native pixel data: bytes per frame; 0 unknown */
	size_t first_frag, n_frags;
} cas_bulk;

/* One instance in flight.  The loop thread (begin, bulk, abort) and the
 * worker (commit) never run at once for one transaction; put pool threads
 * touch pieces[] and the counters under mu.  refs: the owner (until commit
 * or abort) plus one per put in flight; the last one frees. */
typedef struct cas_txn {
	store_ingest_cas *s;
	char calling_ae[PACS_DIMSE_AE_MAX + 1];
	char ts[PACS_DIMSE_UID_MAX + 1];
	/* pacs_ingest_info.peer_address ("import" for arca import,
	 * STORE_INGEST_RELEASE_PEER for a quarantine release) and the rules
	 * waived for this instance (store_ingest_cas_waive): quality records */
	char peer[64];
	const char *const *waive;
	size_t n_waive;

	pthread_mutex_t mu;
	pthread_cond_t idle;      /* in_flight reached 0 */
	unsigned refs;
	unsigned in_flight;
	int put_rc;               /* first failed put */
	char put_msg[256];

	cas_piece *pieces;
	size_t n_pieces, cap_pieces;
	cas_frag *frags;
	size_t n_frags, cap_frags;
	cas_bulk *bulks;
	size_t n_bulks, cap_bulks;

	size_t chunks_put;        /* chunk pieces completed (loop thread) */

	/* the piece being filled (loop thread) */
	uint8_t *cur;
	uint32_t cur_len, cur_target;
	bool cur_inline;

	/* completed chunks kept for the commit's hash, up to chunk_max bytes */
	size_t retained_bytes;
	bool retain_off;          /* passed the cap: the commit reads chunks back */

	/* store_commit_now() when the last bulk value ended (loop thread);
	 * 0: none yet.  Where the latency breakdown starts. */
	double t_last_bulk;
} cas_txn;

/* The commit (store_ingest_cas_commit.c). */
int store_ingest_cas__commit(void *txn, pacs_ds *metadata, pacs_ingest_result *res);
/* The group committer's record step: one index transaction for a batch. */
int store_ingest_cas__record(void *ctx, store_commit_item *const *items, size_t n);

/* Drops the owner's reference (commit's end, abort). */
void store_ingest_cas__txn_release(cas_txn *t);
/* Waits until no put of t is in flight. */
void store_ingest_cas__txn_wait(cas_txn *t);


void store_ingest_cas__count(store_ingest_cas *s, const store_ingest_cas_stats *delta);

#endif
