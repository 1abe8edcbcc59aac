/* store_commit.h - the group committer of the ingest (design.md 3.1 step
 * 5): the commits of every association share one durability round.
 *
 * A commit (on a server worker thread) has put its chunks and its manifest
 * in deferred mode (store_cas.h) and prepared its index record; it then
 * calls store_commit_run, which queues it and waits.  Two threads work in
 * a pipeline:
 *
 *   1. the syncer takes everything queued at once (up to max_batch) and
 *      runs store_cas_sync: every chunk and manifest of the batch (and
 *      anything else pending) becomes durable (one parallel round of
 *      fdatasyncs and one directory fsync, store_cas.h);
 *   2. the recorder takes what is synced (up to max_batch) and calls
 *      record(): the batch's records are written durably in one go (one
 *      index transaction, and whatever the hook adds: arcad waits there
 *      for the chain's store event);
 *   3. every waiting commit of that batch is released with its outcome;
 *      only then does the server answer its C-STORE.
 *
 * So chunks and manifests are durable before the index row that points at
 * them, and the index row before the C-STORE success.  While the recorder
 * writes one batch, the syncer syncs the next, and the next batch after
 * that gathers in the queue: with many associations a batch costs one
 * round of syncs whatever its size and the two rounds overlap; with one
 * association there is no added wait: a lone commit (nothing queued,
 * synced or being recorded) runs both stages itself, on its own thread,
 * in the same order, without waking the two threads (no timer anywhere).  The batch size is at most the number of threads
 * committing at once: the server's worker count.
 *
 * The queue is bounded (max_queue): store_commit_run waits for room. */
#ifndef STORE_COMMIT_H
#define STORE_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_cas.h"

typedef struct store_commit store_commit;

/* One commit, owned by the caller (typically on its stack) until
 * store_commit_run returns.  record is the caller's; the committer fills
 * rc and message. */
typedef struct store_commit_item {
	void *record;       /* what record() needs for this instance */
	int rc;             /* 0, or this item's ARCA_E* code */
	char message[256];  /* its message when rc != 0 */
	/* the committer's */
	struct store_commit_item *next;
	bool done;
	/* set by the committer for the latency breakdown (CLOCK_MONOTONIC
	 * seconds, store_commit_now): when this item's sync round began and
	 * ended, and when its record step began and ended (0 for a step the
	 * item did not reach) */
	double t_sync_start, t_sync_end, t_record_start, t_record_end;
} store_commit_item;

/* Writes the records of a batch durably (one transaction), after the chunk
 * store was synced.  Called on the recorder thread, or on the thread of a
 * lone commit in store_commit_run; never two calls at once.  Returns 0 when the
 * batch was written (items may still carry their own failures in rc and
 * message), or a negative code when none of it was (every item then fails
 * with that code and message). */
typedef int (*store_commit_record_fn)(void *ctx, store_commit_item *const *items, size_t n);

typedef struct store_commit_options {
	size_t max_batch; /* most items per round; 0 = 256 */
	size_t max_queue; /* most items queued; 0 = 4096 */
} store_commit_options;

/* Batch statistics since the start. */
#define STORE_COMMIT_HIST 8
typedef struct store_commit_stats {
	uint64_t batches;
	uint64_t items;
	uint64_t largest;       /* largest batch */
	/* batches of size 1, 2, 3-4, 5-8, 9-16, 17-32, 33-64, more */
	uint64_t hist[STORE_COMMIT_HIST];
	uint64_t sync_only;     /* rounds that only synced (store_commit_kick) */
	uint64_t sync_rounds;   /* store_cas_sync rounds for commits */
	double sync_seconds;    /* in store_cas_sync */
	double record_seconds;  /* in record() */
	uint64_t alone;         /* rounds of one commit run on its own thread
				 * (store_commit_run: the committer was idle) */
} store_commit_stats;

/* Starts the committer threads.  cas is borrowed (must outlive c); record
 * may be NULL (chunks only).  opts NULL = defaults.  *out is the caller's. */
int store_commit_new(store_commit **out, store_cas *cas, store_commit_record_fn record, void *ctx,
		     const store_commit_options *opts);

/* Commits what is queued, stops the threads, frees.  No store_commit_run may
 * be running.  Accepts NULL. */
void store_commit_free(store_commit *c);

/* Queues item and waits until its batch is durable (or failed); when the
 * committer is idle, runs the batch of this one item itself (same order:
 * sync, record).  Returns item->rc; on failure this thread's error message
 * is item->message. */
int store_commit_run(store_commit *c, store_commit_item *item);

/* Asks for a round that only syncs the chunk store (no wait, any thread,
 * also the event loop's): a large instance streaming in calls it every few
 * hundred chunks, so that its chunks are synced by the syncer thread and
 * not by the put that reaches store_cas_options.max_pending, which may be
 * on the loop thread. */
void store_commit_kick(store_commit *c);

void store_commit_stats_get(store_commit *c, store_commit_stats *out);

/* CLOCK_MONOTONIC in seconds: the clock of the item timestamps. */
double store_commit_now(void);

/* "batches 120, instances 950, mean 7.9, largest 8; sizes 1:3 2:1 3-4:2
 * 5-8:114 ..." into buf. */
void store_commit_stats_format(const store_commit_stats *st, char *buf, size_t size);

#endif
