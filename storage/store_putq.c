/* store_putq.c - bounded pool of chunk-putting threads (store_putq.h). */
#include "store_putq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

#define MAX_THREADS 16

typedef struct putq_job {
	const uint8_t *data;
	size_t len;
	store_putq_done_fn done;
	void *ctx;
} putq_job;

struct store_putq {
	store_cas *cas;
	pthread_t threads[MAX_THREADS];
	unsigned n_threads;
	pthread_mutex_t mu;
	pthread_cond_t work;
	putq_job *ring;   /* max_jobs slots */
	size_t max_jobs;
	size_t head, queued; /* queued: waiting in the ring */
	size_t busy;         /* queued + being put */
	bool stop;
};

static void *putq_thread(void *arg)
{
	store_putq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		putq_job job;
		uint8_t hash[STORE_CAS_HASH_LEN];
		bool is_new = false;
		int rc;

		while (q->queued == 0 && !q->stop)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->queued == 0)
			break;
		job = q->ring[q->head];
		q->head = (q->head + 1) % q->max_jobs;
		q->queued--;
		pthread_mutex_unlock(&q->mu);

		rc = store_cas_put(q->cas, job.data, job.len, hash, &is_new);
		job.done(job.ctx, rc, rc < 0 ? arca_error_last() : "", hash, is_new);

		pthread_mutex_lock(&q->mu);
		q->busy--;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int store_putq_new(store_putq **out, store_cas *cas, unsigned threads, size_t max_jobs)
{
	store_putq *q;

	*out = NULL;
	if (threads == 0 || threads > MAX_THREADS || max_jobs == 0)
		return arca_error_set(ARCA_EINVAL, "put pool: %u threads (1..%d), %zu jobs (at least 1)", threads,
				      MAX_THREADS, max_jobs);
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->ring = calloc(max_jobs, sizeof(*q->ring))) == NULL) {
		free(q);
		return arca_error_set(ARCA_ENOMEM, "no memory for the put pool");
	}
	q->cas = cas;
	q->max_jobs = max_jobs;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	for (; q->n_threads < threads; q->n_threads++) {
		int err = pthread_create(&q->threads[q->n_threads], NULL, putq_thread, q);
		if (err != 0) {
			arca_error_set(ARCA_ENOMEM, "cannot start a put thread: %s", strerror(err));
			store_putq_free(q);
			return ARCA_ENOMEM;
		}
	}
	*out = q;
	return 0;
}

void store_putq_free(store_putq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->n_threads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q);
}

int store_putq_try_submit(store_putq *q, const uint8_t *data, size_t len, store_putq_done_fn done,
			  void *ctx)
{
	pthread_mutex_lock(&q->mu);
	if (q->busy >= q->max_jobs || q->stop) {
		pthread_mutex_unlock(&q->mu);
		return ARCA_ELIMIT;
	}
	q->ring[(q->head + q->queued) % q->max_jobs] = (putq_job){ data, len, done, ctx };
	q->queued++;
	q->busy++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	return 0;
}
