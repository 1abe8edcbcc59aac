/* pacs_svc_retrieve_read.c - instances of a C-GET or C-MOVE read ahead on
 * the worker pool, in parallel with the op's own job (see
 * pacs_svc_retrieve.h, pacs_retr_reader).
 *
 * Why: producing an instance (chunks read, zstd decoded, SHA-256 checked,
 * the data set written) is the retrieve's main CPU cost, about 1 ms per
 * 0.5 MB CT slice; the op's one job (pacs_conn__submit) keeps one core
 * busy at most.  The reader's jobs go straight to the pool
 * (pacs_workq_submit) so that the next instance is produced on another
 * core while the op's job produces or sends this one.
 *
 * Lifetime: the reader is shared by the op and its queued jobs, counted
 * (refs, under the mutex); the op lets go with pacs_svc__reader_release
 * (queued reads are dropped, a running one finishes), and the last job's
 * done frees it.  A job's done runs on the loop thread, also when the pool
 * shuts down (pacs_workq_free runs them), and never touches the op.
 *
 * A slot copies its item (the op's list may be freed before the job
 * runs).  A job claims the oldest queued slot; a taker that finds its slot
 * still queued claims it and reads it itself, so nothing waits for a job
 * that has not started (no deadlock with a busy pool). */
#include "pacs_svc_retrieve.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

enum slot_state { SLOT_EMPTY, SLOT_QUEUED, SLOT_RUNNING, SLOT_READY };

typedef struct reader_slot {
	enum slot_state state;
	size_t index;                        /* in the op's instance list */
	pacs_query_item item;                /* copied */
	char ts[PACS_DIMSE_UID_MAX + 1];
	pacs_buf data;
	int rc;
	char msg[256];
} reader_slot;

struct pacs_retr_reader {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	unsigned refs;                       /* the op (until release) + jobs not done */
	bool released;
	pacs_workq *wq;                      /* borrowed; submit on the loop thread */
	const pacs_query *q;                 /* borrowed; outlives the server */
	reader_slot slots[PACS_RETR_READ_AHEAD];
};

static int reader_sink(void *ctx, const uint8_t *data, size_t len)
{
	return pacs_buf_add(ctx, data, len);
}

/* Any thread, slot claimed (RUNNING) by the caller: the read itself. */
static void slot_read(const pacs_query *q, reader_slot *s)
{
	pacs_buf_reset(&s->data);
	s->msg[0] = '\0';
	s->rc = q->ops->write_instance(q->ctx, &s->item, s->ts, reader_sink, &s->data);
	if (s->rc < 0)
		snprintf(s->msg, sizeof(s->msg), "%s", arca_error_last());
}

int pacs_svc__reader_new(pacs_retr_reader **out, pacs_workq *wq, const pacs_query *q)
{
	pacs_retr_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a retrieve's read-ahead");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->ready, NULL);
	r->refs = 1;
	r->wq = wq;
	r->q = q;
	for (size_t i = 0; i < PACS_RETR_READ_AHEAD; i++)
		pacs_buf_init(&r->slots[i].data, (size_t)PACS_RETR_READ_AHEAD_MAX + 1);
	*out = r;
	return 0;
}

static void reader_unref(pacs_retr_reader *r)
{
	bool last;

	pthread_mutex_lock(&r->lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	if (!last)
		return;
	for (size_t i = 0; i < PACS_RETR_READ_AHEAD; i++)
		pacs_buf_free(&r->slots[i].data);
	pthread_cond_destroy(&r->ready);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Worker thread: the oldest queued slot, if any is still queued. */
static int reader_work(void *arg)
{
	pacs_retr_reader *r = arg;
	reader_slot *s = NULL;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < PACS_RETR_READ_AHEAD && !r->released; i++)
		if (r->slots[i].state == SLOT_QUEUED && (s == NULL || r->slots[i].index < s->index))
			s = &r->slots[i];
	if (s != NULL)
		s->state = SLOT_RUNNING;
	pthread_mutex_unlock(&r->lock);
	if (s == NULL)
		return 0;
	slot_read(r->q, s);
	pthread_mutex_lock(&r->lock);
	s->state = SLOT_READY;
	pthread_cond_broadcast(&r->ready);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void reader_done(void *arg, int result)
{
	(void)result;
	reader_unref(arg);
}

bool pacs_svc__reader_request(pacs_retr_reader *r, size_t index, const pacs_query_item *item, const char *ts)
{
	reader_slot *s = NULL;

	if (r == NULL || item->size > PACS_RETR_READ_AHEAD_MAX)
		return false;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < PACS_RETR_READ_AHEAD; i++) {
		if (r->slots[i].state != SLOT_EMPTY && r->slots[i].index == index) {
			pthread_mutex_unlock(&r->lock);
			return true; /* already asked for */
		}
		if (s == NULL && r->slots[i].state == SLOT_EMPTY)
			s = &r->slots[i];
	}
	if (s == NULL || r->released) {
		pthread_mutex_unlock(&r->lock);
		return false;
	}
	s->state = SLOT_QUEUED;
	s->index = index;
	s->item = *item;
	snprintf(s->ts, sizeof(s->ts), "%s", ts);
	r->refs++;
	pthread_mutex_unlock(&r->lock);
	if (pacs_workq_submit(r->wq, reader_work, reader_done, r) == 0)
		return true;
	/* not queued: the slot goes back (no job will look for it) */
	pthread_mutex_lock(&r->lock);
	if (s->state == SLOT_QUEUED)
		s->state = SLOT_EMPTY;
	r->refs--;
	pthread_mutex_unlock(&r->lock);
	return false;
}

int pacs_svc__reader_take(pacs_retr_reader *r, size_t index, const pacs_query_item *item, const char *ts,
			  pacs_buf *data, char *msg, size_t msg_size)
{
	reader_slot *s = NULL;
	pacs_buf tmp;
	int rc;

	bool claimed = false;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < PACS_RETR_READ_AHEAD && s == NULL; i++)
		if (r->slots[i].state != SLOT_EMPTY && r->slots[i].index == index)
			s = &r->slots[i];
	if (s != NULL && s->state == SLOT_QUEUED) {
		s->state = SLOT_RUNNING; /* no job has started it: read it here */
		claimed = true;
	} else if (s != NULL) {
		while (s->state != SLOT_READY)
			pthread_cond_wait(&r->ready, &r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	if (claimed) {
		slot_read(r->q, s);
		pthread_mutex_lock(&r->lock);
		s->state = SLOT_READY;
		pthread_mutex_unlock(&r->lock);
	}
	if (s != NULL && strcmp(s->ts, ts) == 0) {
		/* the slot's buffer becomes the caller's, the caller's old one
		 * the slot's (kept for the next read) */
		pthread_mutex_lock(&r->lock);
		tmp = *data;
		*data = s->data;
		s->data = tmp;
		pacs_buf_reset(&s->data);
		rc = s->rc;
		snprintf(msg, msg_size, "%s", s->msg);
		s->state = SLOT_EMPTY;
		pthread_mutex_unlock(&r->lock);
		if (rc < 0)
			arca_error_set(rc, "%s", msg);
		return rc;
	}
	if (s != NULL) {
		/* read for another syntax (the destination's association
		 * changed): dropped */
		pthread_mutex_lock(&r->lock);
		s->state = SLOT_EMPTY;
		pthread_mutex_unlock(&r->lock);
	}
	pacs_buf_reset(data);
	msg[0] = '\0';
	rc = r->q->ops->write_instance(r->q->ctx, item, ts, reader_sink, data);
	if (rc < 0)
		snprintf(msg, msg_size, "%s", arca_error_last());
	return rc;
}

void pacs_svc__reader_release(pacs_retr_reader *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->released = true;
	for (size_t i = 0; i < PACS_RETR_READ_AHEAD; i++)
		if (r->slots[i].state == SLOT_QUEUED || r->slots[i].state == SLOT_READY)
			r->slots[i].state = SLOT_EMPTY; /* dropped, never sent */
	pthread_mutex_unlock(&r->lock);
	reader_unref(r);
}
