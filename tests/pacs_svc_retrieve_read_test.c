/* pacs_svc_retrieve_read_test.c - the read-ahead of C-GET and C-MOVE
 * (pacs_svc_retrieve_read.c) on a real worker pool and libev loop, with a
 * query whose write_instance writes bytes derived from the instance and
 * the transfer syntax, and can be held back or made to fail:
 *   - instances asked for are taken with their bytes, in any order;
 *   - one never asked for, or asked for in another syntax, is read at
 *     take time, in the syntax of the take;
 *   - a take of a read that no worker has started claims it and reads it
 *     itself (a pool whose only worker is busy does not deadlock it);
 *   - a take of a running read gets that read's bytes (no second read);
 *   - errors come back with their message;
 *   - no more than PACS_RETR_READ_AHEAD slots, nothing above the size cap;
 *   - released with reads queued, running and finished: nothing leaks
 *     (LeakSanitizer), the queued ones are never read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ev.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_svc_retrieve.h"
#include "pacs_workq.h"

#define TS_A "1.2.840.10008.1.2.1"
#define TS_B "1.2.840.10008.1.2"

typedef struct fake {
	atomic_int reads;          /* write_instance calls */
	atomic_int gate_closed;    /* while set, write_instance of "2.25.9" waits */
	atomic_int in_gate;        /* a read is waiting at the gate */
} fake;

/* The bytes of an instance: its SOP Instance UID, '|', the syntax, then
 * 100000 bytes of a pattern seeded by the UID's last character. */
static int fake_write(void *ctx, const pacs_query_item *item, const char *ts, pacs_sink_fn sink, void *sink_ctx)
{
	fake *f = ctx;
	uint8_t block[1000];
	size_t n = strlen(item->sop_instance_uid);
	int rc;

	atomic_fetch_add(&f->reads, 1);
	if (strcmp(item->sop_instance_uid, "2.25.9") == 0) {
		atomic_store(&f->in_gate, 1);
		while (atomic_load(&f->gate_closed))
			sched_yield();
	}
	if (strcmp(item->sop_instance_uid, "2.25.666") == 0)
		return arca_error_set(ARCA_ECRYPTO, "chunk of %s does not hash to its address", item->sop_instance_uid);
	if ((rc = sink(sink_ctx, (const uint8_t *)item->sop_instance_uid, n)) < 0 ||
	    (rc = sink(sink_ctx, (const uint8_t *)"|", 1)) < 0 ||
	    (rc = sink(sink_ctx, (const uint8_t *)ts, strlen(ts))) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (uint8_t)(item->sop_instance_uid[n - 1] + i);
	for (int k = 0; k < 100; k++)
		if ((rc = sink(sink_ctx, block, sizeof(block))) < 0)
			return rc;
	return 0;
}

static const pacs_query_ops fake_ops = { .write_instance = fake_write };

typedef struct fixture {
	struct ev_loop *loop;
	pacs_workq *wq;
	fake f;
	pacs_query q;
	pacs_query_item items[8];
} fixture;

static int setup_n(void **state, unsigned threads)
{
	fixture *x = calloc(1, sizeof(*x));

	x->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(x->loop);
	assert_int_equal(pacs_workq_new(&x->wq, x->loop, threads), 0);
	x->q.ops = &fake_ops;
	x->q.ctx = &x->f;
	for (size_t i = 0; i < 8; i++) {
		snprintf(x->items[i].sop_instance_uid, sizeof(x->items[i].sop_instance_uid), "2.25.%zu", i);
		x->items[i].size = 100000;
	}
	*state = x;
	return 0;
}

static int setup2(void **state)
{
	return setup_n(state, 2);
}

static int setup1(void **state)
{
	return setup_n(state, 1);
}

static int teardown(void **state)
{
	fixture *x = *state;

	pacs_workq_free(x->wq); /* runs the last done callbacks: frees the reader */
	ev_loop_destroy(x->loop);
	free(x);
	return 0;
}

/* Runs the loop until every job's done has run. */
static void drain(fixture *x)
{
	while (pacs_workq_pending(x->wq) > 0)
		ev_run(x->loop, EVRUN_ONCE);
}

static void assert_bytes(const pacs_buf *b, const char *uid, const char *ts)
{
	char head[128];
	size_t n;

	n = (size_t)snprintf(head, sizeof(head), "%s|%s", uid, ts);
	assert_int_equal(pacs_buf_len(b), n + 100000);
	assert_memory_equal(pacs_buf_data(b), head, n);
	assert_int_equal(pacs_buf_data(b)[n + 5], (uint8_t)(uid[strlen(uid) - 1] + 5));
}

static void test_read_ahead_and_take(void **state)
{
	fixture *x = *state;
	pacs_retr_reader *r = NULL;
	pacs_buf b;
	char msg[256];

	pacs_buf_init(&b, 1u << 20);
	assert_int_equal(pacs_svc__reader_new(&r, x->wq, &x->q), 0);
	assert_true(pacs_svc__reader_request(r, 1, &x->items[1], TS_A));
	assert_true(pacs_svc__reader_request(r, 2, &x->items[2], TS_B));
	assert_true(pacs_svc__reader_request(r, 2, &x->items[2], TS_B)); /* already there */
	/* both slots taken: a third is refused */
	assert_false(pacs_svc__reader_request(r, 3, &x->items[3], TS_A));
	drain(x);
	assert_int_equal(atomic_load(&x->f.reads), 2);
	/* taken out of order, each with its own bytes and syntax */
	assert_int_equal(pacs_svc__reader_take(r, 2, &x->items[2], TS_B, &b, msg, sizeof(msg)), 0);
	assert_bytes(&b, "2.25.2", TS_B);
	assert_int_equal(pacs_svc__reader_take(r, 1, &x->items[1], TS_A, &b, msg, sizeof(msg)), 0);
	assert_bytes(&b, "2.25.1", TS_A);
	assert_int_equal(atomic_load(&x->f.reads), 2);
	/* the slots are free again */
	assert_true(pacs_svc__reader_request(r, 3, &x->items[3], TS_A));
	drain(x);
	assert_int_equal(pacs_svc__reader_take(r, 3, &x->items[3], TS_A, &b, msg, sizeof(msg)), 0);
	assert_bytes(&b, "2.25.3", TS_A);
	pacs_svc__reader_release(r);
	pacs_buf_free(&b);
}

static void test_take_unrequested_or_other_syntax(void **state)
{
	fixture *x = *state;
	pacs_retr_reader *r = NULL;
	pacs_buf b;
	char msg[256];

	pacs_buf_init(&b, 1u << 20);
	assert_int_equal(pacs_svc__reader_new(&r, x->wq, &x->q), 0);
	/* never asked for: read now */
	assert_int_equal(pacs_svc__reader_take(r, 4, &x->items[4], TS_A, &b, msg, sizeof(msg)), 0);
	assert_bytes(&b, "2.25.4", TS_A);
	/* read ahead in A, the association now takes B: read again in B */
	assert_true(pacs_svc__reader_request(r, 5, &x->items[5], TS_A));
	drain(x);
	assert_int_equal(pacs_svc__reader_take(r, 5, &x->items[5], TS_B, &b, msg, sizeof(msg)), 0);
	assert_bytes(&b, "2.25.5", TS_B);
	assert_int_equal(atomic_load(&x->f.reads), 3);
	pacs_svc__reader_release(r);
	pacs_buf_free(&b);
}

static void test_errors_and_limits(void **state)
{
	fixture *x = *state;
	pacs_retr_reader *r = NULL;
	pacs_query_item bad = x->items[0], big = x->items[0];
	pacs_buf b;
	char msg[256];

	pacs_buf_init(&b, 1u << 20);
	snprintf(bad.sop_instance_uid, sizeof(bad.sop_instance_uid), "2.25.666");
	big.size = PACS_RETR_READ_AHEAD_MAX + 1;
	assert_int_equal(pacs_svc__reader_new(&r, x->wq, &x->q), 0);
	assert_false(pacs_svc__reader_request(r, 7, &big, TS_A));
	assert_true(pacs_svc__reader_request(r, 6, &bad, TS_A));
	drain(x);
	assert_int_equal(pacs_svc__reader_take(r, 6, &bad, TS_A, &b, msg, sizeof(msg)), ARCA_ECRYPTO);
	assert_non_null(strstr(msg, "does not hash"));
	assert_non_null(strstr(arca_error_last(), "2.25.666"));
	/* read at take time too */
	assert_int_equal(pacs_svc__reader_take(r, 6, &bad, TS_A, &b, msg, sizeof(msg)), ARCA_ECRYPTO);
	assert_non_null(strstr(msg, "2.25.666"));
	pacs_svc__reader_release(r);
	pacs_buf_free(&b);
}

/* A take on another thread (as the op's job runs on a worker). */
typedef struct taker {
	fixture *x;
	pacs_retr_reader *r;
	size_t index;
	pacs_buf b;
	int rc;
} taker;

static void *take_thread(void *arg)
{
	taker *t = arg;
	char msg[256];

	t->rc = pacs_svc__reader_take(t->r, t->index, &t->x->items[t->index], TS_A, &t->b, msg, sizeof(msg));
	return NULL;
}

/* One worker, held at the gate by the read of item 9: the read of item 1
 * queued behind it is claimed by its taker, which does not wait for the
 * busy pool. */
static void test_take_claims_a_queued_read(void **state)
{
	fixture *x = *state;
	pacs_retr_reader *r = NULL;
	pacs_query_item gated = x->items[0];
	pacs_buf b;
	char msg[256];

	pacs_buf_init(&b, 1u << 20);
	snprintf(gated.sop_instance_uid, sizeof(gated.sop_instance_uid), "2.25.9");
	atomic_store(&x->f.gate_closed, 1);
	assert_int_equal(pacs_svc__reader_new(&r, x->wq, &x->q), 0);
	assert_true(pacs_svc__reader_request(r, 9, &gated, TS_A));
	while (!atomic_load(&x->f.in_gate))
		sched_yield();
	assert_true(pacs_svc__reader_request(r, 1, &x->items[1], TS_A));
	/* the only worker is at the gate: the take reads item 1 itself */
	assert_int_equal(pacs_svc__reader_take(r, 1, &x->items[1], TS_A, &b, msg, sizeof(msg)), 0);
	assert_bytes(&b, "2.25.1", TS_A);
	/* then the gate opens: the take of 9 gets the worker's read */
	atomic_store(&x->f.gate_closed, 0);
	assert_int_equal(pacs_svc__reader_take(r, 9, &gated, TS_A, &b, msg, sizeof(msg)), 0);
	assert_bytes(&b, "2.25.9", TS_A);
	drain(x);
	/* 9 once by the worker, 1 by the take: no read twice */
	assert_int_equal(atomic_load(&x->f.reads), 2);
	pacs_svc__reader_release(r);
	pacs_buf_free(&b);
}

/* A take from another thread while the read runs (the gate opens as the
 * thread starts, so it may come before or after the end) gets the
 * worker's bytes, never a second read. */
static void test_take_waits_for_a_running_read(void **state)
{
	fixture *x = *state;
	pacs_retr_reader *r = NULL;
	taker t;
	pthread_t th;

	snprintf(x->items[3].sop_instance_uid, sizeof(x->items[3].sop_instance_uid), "2.25.9");
	atomic_store(&x->f.gate_closed, 1);
	assert_int_equal(pacs_svc__reader_new(&r, x->wq, &x->q), 0);
	assert_true(pacs_svc__reader_request(r, 3, &x->items[3], TS_A));
	while (!atomic_load(&x->f.in_gate))
		sched_yield();
	memset(&t, 0, sizeof(t));
	t.x = x;
	t.r = r;
	t.index = 3;
	t.rc = 1;
	pacs_buf_init(&t.b, 1u << 20);
	assert_int_equal(pthread_create(&th, NULL, take_thread, &t), 0);
	atomic_store(&x->f.gate_closed, 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(t.rc, 0);
	assert_bytes(&t.b, "2.25.9", TS_A);
	assert_int_equal(atomic_load(&x->f.reads), 1);
	drain(x);
	pacs_svc__reader_release(r);
	pacs_buf_free(&t.b);
}

/* Released while one read runs and one waits behind it: the waiting one
 * is never read, and the reader is freed by the last done (LeakSanitizer
 * checks the rest). */
static void test_release_with_reads_in_flight(void **state)
{
	fixture *x = *state;
	pacs_retr_reader *r = NULL;
	pacs_query_item gated = x->items[0];

	snprintf(gated.sop_instance_uid, sizeof(gated.sop_instance_uid), "2.25.9");
	atomic_store(&x->f.gate_closed, 1);
	assert_int_equal(pacs_svc__reader_new(&r, x->wq, &x->q), 0);
	assert_true(pacs_svc__reader_request(r, 9, &gated, TS_A));
	while (!atomic_load(&x->f.in_gate))
		sched_yield();
	assert_true(pacs_svc__reader_request(r, 1, &x->items[1], TS_A));
	pacs_svc__reader_release(r);
	atomic_store(&x->f.gate_closed, 0);
	drain(x);
	assert_int_equal(atomic_load(&x->f.reads), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_ahead_and_take, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_take_unrequested_or_other_syntax, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_errors_and_limits, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_take_claims_a_queued_read, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_take_waits_for_a_running_read, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_release_with_reads_in_flight, setup1, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
