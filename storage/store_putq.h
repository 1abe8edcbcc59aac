/* store_putq.h - a small pool of threads that put chunks into the chunk
 * store for the ingest, so that hashing and compressing pixel data (about
 * 1-2 ms of CPU per 0.5 MB: SHA-256 and zstd) runs beside the event loop
 * instead of on it.
 *
 * The pool is bounded: store_putq_try_submit refuses (ARCA_ELIMIT, no
 * job queued) when max_jobs chunks are queued or being put, and the caller
 * then puts the chunk itself.  That is the back-pressure: work never
 * piles up in memory, and nobody waits on the loop thread.
 *
 * A job's data is borrowed: the caller keeps it unchanged until done()
 * runs.  done() runs on a pool thread, after the put, with its outcome;
 * the message (when rc < 0) is borrowed for the call. */
#ifndef STORE_PUTQ_H
#define STORE_PUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_cas.h"

typedef struct store_putq store_putq;

typedef void (*store_putq_done_fn)(void *ctx, int rc, const char *message,
				   const uint8_t hash[STORE_CAS_HASH_LEN], bool is_new);

/* threads 1..16, max_jobs >= 1.  cas is borrowed (must outlive the pool).
 * *out is the caller's (store_putq_free). */
int store_putq_new(store_putq **out, store_cas *cas, unsigned threads, size_t max_jobs);

/* Finishes every queued job (their done() runs), joins the threads, frees.
 * Accepts NULL. */
void store_putq_free(store_putq *q);

/* Queues a put of data[0..len).  0: done(ctx, ...) will run exactly once;
 * ARCA_ELIMIT: the pool is full, nothing queued, done() will not run (no
 * message set: this is not an error for the caller). */
int store_putq_try_submit(store_putq *q, const uint8_t *data, size_t len, store_putq_done_fn done,
			  void *ctx);

#endif
