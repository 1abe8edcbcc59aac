/* store_commit.c - the group committer: a syncer thread and a recorder
 * thread in a pipeline, batches of commits, one durability round per batch
 * (store_commit.h). */
#include "store_commit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"

#define DEFAULT_MAX_BATCH 256
#define DEFAULT_MAX_QUEUE 4096

struct store_commit {
	store_cas *cas;
	store_commit_record_fn record;
	void *ctx;
	size_t max_batch, max_queue;

	pthread_t syncer, recorder;
	pthread_mutex_t mu;
	pthread_cond_t work;    /* syncer: something queued, a kick, or stop */
	pthread_cond_t synced;  /* recorder: something synced, or the syncer ended */
	pthread_cond_t done;    /* waiters: items released, or room in the queue */
	/* submitted, chunks not yet synced */
	store_commit_item *head, *tail;
	size_t queued;
	/* chunks durable, waiting for the index transaction */
	store_commit_item *s_head, *s_tail;
	bool kicked;            /* a sync-only round was asked for */
	/* a sync round / a record step is running (syncer, recorder, or a
	 * lone commit running its own round: store_commit_run) */
	bool syncing, recording;
	bool stop;
	bool syncer_ended;
	store_commit_stats stats;
	store_commit_item **sync_batch;   /* max_batch slots, syncer only */
	store_commit_item **record_batch; /* max_batch slots, recorder only */
};

double store_commit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned hist_slot(size_t n)
{
	unsigned slot = 0;
	size_t top = 1;

	while (slot + 1 < STORE_COMMIT_HIST && n > top) {
		top *= 2;
		slot++;
	}
	return slot;
}

/* Every item of the batch that has no outcome of its own gets rc and the
 * current message of this thread. */
static void fail_batch(store_commit_item *const *items, size_t n, int rc)
{
	for (size_t i = 0; i < n; i++) {
		if (items[i]->rc != 0)
			continue;
		items[i]->rc = rc;
		snprintf(items[i]->message, sizeof(items[i]->message), "%s", arca_error_last());
	}
}

/* Under c->mu: a batch of n recorded in seconds. */
static void count_batch(store_commit *c, size_t n, double seconds)
{
	c->stats.batches++;
	c->stats.items += n;
	if (n > c->stats.largest)
		c->stats.largest = n;
	c->stats.hist[hist_slot(n)]++;
	c->stats.record_seconds += seconds;
}

/* Under c->mu: the waiters of items[0..n) may go. */
static void release(store_commit *c, store_commit_item *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		items[i]->done = true;
	pthread_cond_broadcast(&c->done);
}

/* Stage 1 (the syncer thread): everything submitted is taken at once and
 * its chunks and manifests made durable with one store_cas_sync, then
 * handed to the recorder.  While the recorder runs the index transaction
 * (and the chain's wait) of one batch, the syncer already syncs the next:
 * with many associations the two rounds overlap instead of adding up. */
static void *syncer_main(void *arg)
{
	store_commit *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		size_t n = 0;
		double t0, t1;
		int rc;

		while ((c->head == NULL && !c->kicked && !c->stop) || c->syncing)
			pthread_cond_wait(&c->work, &c->mu);
		if (c->head == NULL && !c->kicked)
			break; /* stopping and nothing left */
		c->syncing = true;
		c->kicked = false; /* this round syncs everything anyway */
		while (c->head != NULL && n < c->max_batch) {
			store_commit_item *it = c->head;
			c->head = it->next;
			it->next = NULL;
			c->sync_batch[n++] = it;
		}
		if (c->head == NULL)
			c->tail = NULL;
		c->queued -= n;
		/* room in the queue for those waiting to submit */
		pthread_cond_broadcast(&c->done);
		pthread_mutex_unlock(&c->mu);

		t0 = store_commit_now();
		/* a failure is sticky in the store: a sync-only round's error
		 * reaches the next commit through its own sync */
		rc = store_cas_sync(c->cas);
		t1 = store_commit_now();
		if (rc < 0)
			fail_batch(c->sync_batch, n, rc);
		for (size_t i = 0; i < n; i++) {
			c->sync_batch[i]->t_sync_start = t0;
			c->sync_batch[i]->t_sync_end = t1;
		}

		pthread_mutex_lock(&c->mu);
		c->syncing = false;
		c->stats.sync_seconds += t1 - t0;
		if (n == 0)
			c->stats.sync_only++;
		else
			c->stats.sync_rounds++;
		if (rc < 0) {
			release(c, c->sync_batch, n);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (c->s_tail != NULL)
				c->s_tail->next = c->sync_batch[i];
			else
				c->s_head = c->sync_batch[i];
			c->s_tail = c->sync_batch[i];
		}
		if (n > 0)
			pthread_cond_signal(&c->synced);
	}
	c->syncer_ended = true;
	pthread_cond_signal(&c->synced);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Stage 2 (the recorder thread): the records of what is synced, up to
 * max_batch, in one index transaction; then the waiters go.  Only this
 * thread calls record(), so the callback keeps its one-writer contract. */
static void *recorder_main(void *arg)
{
	store_commit *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		size_t n = 0;
		double t0, t1;
		int rc = 0;

		while ((c->s_head == NULL && !c->syncer_ended) || c->recording)
			pthread_cond_wait(&c->synced, &c->mu);
		if (c->s_head == NULL)
			break;
		c->recording = true;
		while (c->s_head != NULL && n < c->max_batch) {
			store_commit_item *it = c->s_head;
			c->s_head = it->next;
			it->next = NULL;
			c->record_batch[n++] = it;
		}
		if (c->s_head == NULL)
			c->s_tail = NULL;
		pthread_mutex_unlock(&c->mu);

		t0 = store_commit_now();
		if (c->record != NULL && (rc = c->record(c->ctx, c->record_batch, n)) < 0)
			fail_batch(c->record_batch, n, rc);
		t1 = store_commit_now();
		for (size_t i = 0; i < n; i++) {
			c->record_batch[i]->t_record_start = t0;
			c->record_batch[i]->t_record_end = t1;
		}

		pthread_mutex_lock(&c->mu);
		c->recording = false;
		count_batch(c, n, t1 - t0);
		release(c, c->record_batch, n);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int store_commit_new(store_commit **out, store_cas *cas, store_commit_record_fn record, void *ctx,
		     const store_commit_options *opts)
{
	store_commit *c;
	int err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the group committer");
	c->cas = cas;
	c->record = record;
	c->ctx = ctx;
	c->max_batch = opts != NULL && opts->max_batch > 0 ? opts->max_batch : DEFAULT_MAX_BATCH;
	c->max_queue = opts != NULL && opts->max_queue > 0 ? opts->max_queue : DEFAULT_MAX_QUEUE;
	c->sync_batch = calloc(c->max_batch, sizeof(*c->sync_batch));
	c->record_batch = calloc(c->max_batch, sizeof(*c->record_batch));
	if (c->sync_batch == NULL || c->record_batch == NULL) {
		free(c->sync_batch);
		free(c->record_batch);
		free(c);
		return arca_error_set(ARCA_ENOMEM, "no memory for the group committer");
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->synced, NULL);
	pthread_cond_init(&c->done, NULL);
	err = pthread_create(&c->recorder, NULL, recorder_main, c);
	if (err == 0) {
		err = pthread_create(&c->syncer, NULL, syncer_main, c);
		if (err != 0) {
			pthread_mutex_lock(&c->mu);
			c->syncer_ended = true;
			pthread_cond_signal(&c->synced);
			pthread_mutex_unlock(&c->mu);
			pthread_join(c->recorder, NULL);
		}
	}
	if (err != 0) {
		pthread_cond_destroy(&c->done);
		pthread_cond_destroy(&c->synced);
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->mu);
		free(c->sync_batch);
		free(c->record_batch);
		free(c);
		return arca_error_set(ARCA_ENOMEM, "cannot start the committer threads: %s", strerror(err));
	}
	*out = c;
	return 0;
}

void store_commit_free(store_commit *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->mu);
	/* the syncer drains the queue, then the recorder what it synced */
	pthread_join(c->syncer, NULL);
	pthread_join(c->recorder, NULL);
	pthread_cond_destroy(&c->done);
	pthread_cond_destroy(&c->synced);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->mu);
	free(c->sync_batch);
	free(c->record_batch);
	free(c);
}

/* A lone commit (nothing queued, synced or running: one association, or
 * a quiet moment) runs its round on its own thread, in the same order as
 * the two stages: sync, then record, then return.  That spares the three
 * thread hand-offs of the pipeline (to the syncer, to the recorder, back
 * to the waiter), each a wake-up of tens of microseconds, more on a busy
 * machine.  Called with c->mu held and both stages idle; returns with it
 * held.  The flags keep the stages' contracts: no other sync round while
 * this one runs (a commit queued meanwhile waits for the syncer, whose
 * round then covers its chunks), no other record() call at the same time;
 * the syncer may sync the next batch while this one records. */
static void run_alone(store_commit *c, store_commit_item *item)
{
	double t0, t1, t2;
	int rc;

	c->syncing = c->recording = true;
	pthread_mutex_unlock(&c->mu);
	t0 = store_commit_now();
	rc = store_cas_sync(c->cas);
	t1 = store_commit_now();
	item->t_sync_start = t0;
	item->t_sync_end = item->t_record_start = t1;
	if (rc < 0)
		fail_batch(&item, 1, rc);
	pthread_mutex_lock(&c->mu);
	c->syncing = false;
	c->stats.sync_seconds += t1 - t0;
	c->stats.sync_rounds++;
	c->stats.alone++;
	pthread_cond_signal(&c->work); /* commits queued meanwhile */
	if (rc < 0) {
		c->recording = false;
		pthread_cond_signal(&c->synced);
		return;
	}
	pthread_mutex_unlock(&c->mu);
	if (c->record != NULL && (rc = c->record(c->ctx, &item, 1)) < 0)
		fail_batch(&item, 1, rc);
	t2 = store_commit_now();
	item->t_record_end = t2;
	pthread_mutex_lock(&c->mu);
	c->recording = false;
	count_batch(c, 1, t2 - t1);
	pthread_cond_signal(&c->synced); /* batches synced meanwhile */
}

int store_commit_run(store_commit *c, store_commit_item *item)
{
	item->rc = 0;
	item->message[0] = '\0';
	item->next = NULL;
	item->done = false;
	item->t_sync_start = item->t_sync_end = item->t_record_start = item->t_record_end = 0;
	pthread_mutex_lock(&c->mu);
	while (c->queued >= c->max_queue && !c->stop)
		pthread_cond_wait(&c->done, &c->mu);
	if (c->stop) {
		pthread_mutex_unlock(&c->mu);
		return arca_error_set(ARCA_ECANCELLED, "the group committer is stopping");
	}
	if (c->head == NULL && c->s_head == NULL && !c->syncing && !c->recording && !c->kicked) {
		run_alone(c, item);
		pthread_mutex_unlock(&c->mu);
		return item->rc < 0 ? arca_error_set(item->rc, "%s", item->message) : 0;
	}
	if (c->tail != NULL)
		c->tail->next = item;
	else
		c->head = item;
	c->tail = item;
	c->queued++;
	pthread_cond_signal(&c->work);
	while (!item->done)
		pthread_cond_wait(&c->done, &c->mu);
	pthread_mutex_unlock(&c->mu);
	if (item->rc < 0)
		return arca_error_set(item->rc, "%s", item->message);
	return 0;
}

void store_commit_kick(store_commit *c)
{
	pthread_mutex_lock(&c->mu);
	c->kicked = true;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->mu);
}

void store_commit_stats_get(store_commit *c, store_commit_stats *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->stats;
	pthread_mutex_unlock(&c->mu);
}

void store_commit_stats_format(const store_commit_stats *st, char *buf, size_t size)
{
	static const char *const names[STORE_COMMIT_HIST] = { "1", "2", "3-4", "5-8", "9-16", "17-32",
							     "33-64", ">64" };
	size_t n;

	n = (size_t)snprintf(buf, size, "batches %llu, instances %llu, mean %.1f, largest %llu; sizes",
			     (unsigned long long)st->batches, (unsigned long long)st->items,
			     st->batches > 0 ? (double)st->items / (double)st->batches : 0.0,
			     (unsigned long long)st->largest);
	for (unsigned i = 0; i < STORE_COMMIT_HIST && n < size; i++)
		if (st->hist[i] > 0)
			n += (size_t)snprintf(buf + n, size - n, " %s:%llu", names[i],
					      (unsigned long long)st->hist[i]);
	if (n < size)
		snprintf(buf + n, size - n, "; %llu sync rounds %.2f s, index %.2f s; %llu batches of one run by their own thread",
			 (unsigned long long)st->sync_rounds, st->sync_seconds, st->record_seconds,
			 (unsigned long long)st->alone);
}
