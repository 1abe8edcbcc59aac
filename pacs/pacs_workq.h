/* pacs_workq.h - a small pool of worker threads for blocking work (fsync,
 * database commits, compression, libgit2 network) whose results come back
 * to the libev loop thread through ev_async, so that no association ever
 * blocks the loop or another association (design.md 3).
 *
 * A job has two halves: work() runs on a worker thread and must not touch
 * loop-owned state; done() runs later on the loop thread with the work()'s
 * return value.  Jobs of one "lane" (e.g. one association) can be
 * serialised by the caller; the pool itself runs jobs in submission order
 * per worker but gives no ordering across workers. */
#ifndef PACS_WORKQ_H
#define PACS_WORKQ_H

#include <stddef.h>

struct ev_loop;

typedef struct pacs_workq pacs_workq;

typedef int (*pacs_work_fn)(void *arg);
typedef void (*pacs_work_done_fn)(void *arg, int result);

/* Starts nthreads workers (1..64) reporting to loop.  *out is the caller's
 * (pacs_workq_free, called on the loop thread). */
int pacs_workq_new(pacs_workq **out, struct ev_loop *loop, unsigned nthreads);

/* Queues a job.  done may be NULL.  ARCA_ELIMIT when max_pending jobs are
 * already queued (back-pressure: the caller answers "out of resources" or
 * stops reading from its peer), ARCA_ECANCELLED after shutdown began. */
int pacs_workq_submit(pacs_workq *q, pacs_work_fn work, pacs_work_done_fn done, void *arg);

/* Jobs queued or running whose done() has not yet run. */
size_t pacs_workq_pending(const pacs_workq *q);

/* Largest number of queued jobs accepted (default 4096). */
void pacs_workq_set_max_pending(pacs_workq *q, size_t max_pending);

/* Finishes every queued job (their done() callbacks run from this call),
 * joins the threads and frees the pool.  Accepts NULL. */
void pacs_workq_free(pacs_workq *q);

#endif
