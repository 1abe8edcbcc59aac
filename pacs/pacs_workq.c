/* pacs_workq.c - worker pool reporting to the libev loop (see pacs_workq.h). */
#include "pacs_workq.h"

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "arca_err.h"

typedef struct workq_job {
	struct workq_job *next;
	pacs_work_fn work;
	pacs_work_done_fn done;
	void *arg;
	int result;
} workq_job;

typedef struct workq_list {
	workq_job *head, *tail;
} workq_list;

struct pacs_workq {
	struct ev_loop *loop;
	ev_async wake;            /* workers -> loop: finished jobs are waiting */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	workq_list todo;          /* guarded by lock */
	workq_list finished;      /* guarded by lock */
	size_t pending;           /* loop thread only: submitted, done() not yet run */
	size_t max_pending;
	bool stopping;            /* guarded by lock */
	unsigned nthreads;
	pthread_t *threads;
};

static void list_push(workq_list *l, workq_job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static workq_job *list_take_all(workq_list *l)
{
	workq_job *all = l->head;

	l->head = l->tail = NULL;
	return all;
}

static workq_job *list_pop(workq_list *l)
{
	workq_job *j = l->head;

	if (j != NULL) {
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return j;
}

static void *workq_thread(void *arg)
{
	pacs_workq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		workq_job *j = list_pop(&q->todo);
		if (j == NULL) {
			if (q->stopping)
				break;
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		pthread_mutex_unlock(&q->lock);
		j->result = j->work(j->arg);
		pthread_mutex_lock(&q->lock);
		list_push(&q->finished, j);
		ev_async_send(q->loop, &q->wake);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Runs on the loop thread: hands each finished job to its done(). */
static void workq_drain(pacs_workq *q)
{
	workq_job *j;

	pthread_mutex_lock(&q->lock);
	j = list_take_all(&q->finished);
	pthread_mutex_unlock(&q->lock);
	while (j != NULL) {
		workq_job *next = j->next;
		q->pending--;
		if (j->done != NULL)
			j->done(j->arg, j->result);
		free(j);
		j = next;
	}
}

static void workq_wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	workq_drain(w->data);
}

int pacs_workq_new(pacs_workq **out, struct ev_loop *loop, unsigned nthreads)
{
	pacs_workq *q;

	*out = NULL;
	if (nthreads == 0 || nthreads > 64)
		return arca_error_set(ARCA_EINVAL, "worker pool size %u outside 1..64", nthreads);
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory creating the worker pool");
	q->threads = calloc(nthreads, sizeof(*q->threads));
	if (q->threads == NULL) {
		free(q);
		return arca_error_set(ARCA_ENOMEM, "out of memory creating the worker pool");
	}
	q->loop = loop;
	q->max_pending = 4096;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	ev_async_init(&q->wake, workq_wake_cb);
	q->wake.data = q;
	ev_async_start(loop, &q->wake);
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&q->threads[i], NULL, workq_thread, q) != 0) {
			q->nthreads = i;
			pacs_workq_free(q);
			return arca_error_set(ARCA_EIO, "cannot start worker thread %u", i);
		}
	}
	q->nthreads = nthreads;
	*out = q;
	return 0;
}

int pacs_workq_submit(pacs_workq *q, pacs_work_fn work, pacs_work_done_fn done, void *arg)
{
	workq_job *j;

	if (q->pending >= q->max_pending)
		return arca_error_set(ARCA_ELIMIT, "worker queue full (%zu jobs pending)", q->pending);
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory queueing a job");
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		pthread_mutex_unlock(&q->lock);
		free(j);
		return arca_error_set(ARCA_ECANCELLED, "worker pool is shutting down");
	}
	list_push(&q->todo, j);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	q->pending++;
	return 0;
}

size_t pacs_workq_pending(const pacs_workq *q)
{
	return q->pending;
}

void pacs_workq_set_max_pending(pacs_workq *q, size_t max_pending)
{
	q->max_pending = max_pending;
}

void pacs_workq_free(pacs_workq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	/* Workers finish what is queued before they see `stopping` with an
	 * empty queue, so every submitted job runs. */
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	workq_drain(q);
	ev_async_stop(q->loop, &q->wake);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->threads);
	free(q);
}
