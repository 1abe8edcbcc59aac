/* store_commit_test.c - the ingest's group committer (store_commit.h)
 * through its public API, on a real chunk store in deferred mode: the
 * order of durability (every chunk of a batch durable under its name
 * before record() sees the batch), batching across concurrent commits,
 * per-item and whole-batch failures, sync-only kicks, lone commits run
 * on their own thread, and shutdown with work queued. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "arca_err.h"
#include "store_cas.h"
#include "store_commit.h"

#define THREADS 8
#define PER_THREAD 25

struct fixture {
	char dir[64];
	store_cas *cas;
};

/* What record() sees, checked on the recorder thread. */
struct recorder {
	store_cas *cas;
	pthread_mutex_t mu;
	size_t calls, items;
	size_t not_durable;   /* records whose chunk had no final name yet */
	size_t concurrent, in_record;
	int fail_whole;       /* record() returns this for every batch when < 0 */
	bool fail_odd;        /* items whose value is odd fail on their own */
	unsigned slow_us;     /* record() takes at least this long */
};

/* One commit's record: its chunk's address and a value. */
struct rec {
	uint8_t hash[STORE_CAS_HASH_LEN];
	unsigned value;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	store_cas_options o;

	if (f == NULL)
		return -1;
	if (test_tmpdir_make(f->dir, sizeof(f->dir), "store_commit_test") < 0) {
		free(f);
		return -1;
	}
	store_cas_options_init(&o);
	o.sync = STORE_CAS_SYNC_DEFERRED;
	if (store_cas_open(&f->cas, f->dir, &o) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_cas_free(f->cas);
	test_tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static bool chunk_named(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN])
{
	char hex[STORE_CAS_HEX_LEN + 1], path[PATH_MAX];
	struct stat st;

	store_cas_hash_to_hex(hash, hex);
	/* either layout (docs/storage-format.md section 1): chunks/ab/<hex>,
	 * or chunks/ab/cd/<hex> of the stores made before cas.layout */
	snprintf(path, sizeof(path), "%s/chunks/%.2s/%s", store_cas_root(cas), hex, hex);
	if (stat(path, &st) == 0)
		return true;
	snprintf(path, sizeof(path), "%s/chunks/%.2s/%s", store_cas_root(cas), hex, hex); /* docs/storage-format.md 1 */
	return stat(path, &st) == 0;
}

static int record(void *ctx, store_commit_item *const *items, size_t n)
{
	struct recorder *r = ctx;

	pthread_mutex_lock(&r->mu);
	if (r->in_record++ > 0)
		r->concurrent++;
	r->calls++;
	r->items += n;
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < n; i++) {
		struct rec *rec = items[i]->record;
		/* design.md 3.1 step 5: the data before the row that names it */
		if (!chunk_named(r->cas, rec->hash)) {
			pthread_mutex_lock(&r->mu);
			r->not_durable++;
			pthread_mutex_unlock(&r->mu);
		}
		if (r->fail_odd && rec->value % 2 == 1) {
			items[i]->rc = ARCA_EEXISTS;
			snprintf(items[i]->message, sizeof(items[i]->message), "item %u refused", rec->value);
		}
	}
	if (r->slow_us > 0)
		usleep(r->slow_us);
	pthread_mutex_lock(&r->mu);
	r->in_record--;
	pthread_mutex_unlock(&r->mu);
	if (r->fail_whole < 0)
		return arca_error_set(r->fail_whole, "index transaction failed (test)");
	return 0;
}

struct submitter {
	store_cas *cas;
	store_commit *c;
	unsigned id;
	unsigned ok, failed;
	char last[256];
};

/* A commit as the ingest does it: put a chunk (deferred), then wait for
 * the group commit. */
static void *submit_main(void *arg)
{
	struct submitter *s = arg;

	for (unsigned k = 0; k < PER_THREAD; k++) {
		uint8_t data[3000];
		store_commit_item item;
		struct rec rec;

		memset(data, (int)(s->id * 31 + k), sizeof(data));
		snprintf((char *)data, 64, "thread %u item %u", s->id, k);
		rec.value = s->id * PER_THREAD + k;
		if (store_cas_put(s->cas, data, sizeof(data), rec.hash, NULL) != 0) {
			s->failed++;
			snprintf(s->last, sizeof(s->last), "put: %s", arca_error_last());
			continue;
		}
		memset(&item, 0, sizeof(item));
		item.record = &rec;
		if (store_commit_run(s->c, &item) == 0) {
			s->ok++;
		} else {
			s->failed++;
			snprintf(s->last, sizeof(s->last), "%s", arca_error_last());
			/* the message travels with the item */
			if (strcmp(s->last, item.message) != 0)
				snprintf(s->last, sizeof(s->last), "message mismatch: %s / %s",
					 arca_error_last(), item.message);
		}
	}
	return NULL;
}

static void run_submitters(store_cas *cas, store_commit *c, struct submitter *s)
{
	pthread_t t[THREADS];

	for (unsigned i = 0; i < THREADS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].cas = cas;
		s[i].c = c;
		s[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, submit_main, &s[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

static void recorder_init(struct recorder *r, store_cas *cas)
{
	memset(r, 0, sizeof(*r));
	r->cas = cas;
	pthread_mutex_init(&r->mu, NULL);
}

/* Many concurrent commits: every one succeeds, each batch's chunks are
 * under their names before record() runs, record() never runs twice at
 * once, and batches hold more than one commit. */
static void test_concurrent_commits(void **state)
{
	struct fixture *f = *state;
	struct submitter s[THREADS];
	struct recorder r;
	store_commit *c = NULL;
	store_commit_stats st;
	char line[512];

	recorder_init(&r, f->cas);
	assert_int_equal(store_commit_new(&c, f->cas, record, &r, NULL), 0);
	run_submitters(f->cas, c, s);
	for (unsigned i = 0; i < THREADS; i++) {
		if (s[i].failed != 0)
			fail_msg("thread %u: %u failed, last: %s", i, s[i].failed, s[i].last);
		assert_int_equal(s[i].ok, PER_THREAD);
	}
	assert_int_equal(r.items, THREADS * PER_THREAD);
	assert_int_equal(r.not_durable, 0);
	assert_int_equal(r.concurrent, 0);
	store_commit_stats_get(c, &st);
	assert_int_equal(st.items, THREADS * PER_THREAD);
	assert_int_equal(st.batches, r.calls);
	assert_true(st.largest >= 1 && st.largest <= THREADS);
	assert_true(st.alone <= st.batches);
	assert_true(st.sync_rounds >= 1);
	store_commit_stats_format(&st, line, sizeof(line));
	assert_non_null(strstr(line, "instances 200"));
	print_message("# %s\n", line);
	store_commit_free(c);
	pthread_mutex_destroy(&r.mu);
}

/* An item's own failure reaches only that item; a failed transaction
 * reaches every item of its batch, with the message. */
static void test_failures(void **state)
{
	struct fixture *f = *state;
	struct submitter s[THREADS];
	struct recorder r;
	store_commit *c = NULL;
	unsigned ok = 0, failed = 0;

	recorder_init(&r, f->cas);
	r.fail_odd = true;
	assert_int_equal(store_commit_new(&c, f->cas, record, &r, NULL), 0);
	run_submitters(f->cas, c, s);
	for (unsigned i = 0; i < THREADS; i++) {
		ok += s[i].ok;
		failed += s[i].failed;
		if (s[i].failed > 0 && strstr(s[i].last, "refused") == NULL)
			fail_msg("thread %u: %s", i, s[i].last);
	}
	assert_int_equal(ok, THREADS * PER_THREAD / 2);
	assert_int_equal(failed, THREADS * PER_THREAD / 2);
	store_commit_free(c);

	r.fail_odd = false;
	r.fail_whole = ARCA_EDB;
	assert_int_equal(store_commit_new(&c, f->cas, record, &r, NULL), 0);
	run_submitters(f->cas, c, s);
	for (unsigned i = 0; i < THREADS; i++) {
		assert_int_equal(s[i].ok, 0);
		assert_int_equal(s[i].failed, PER_THREAD);
		assert_non_null(strstr(s[i].last, "index transaction failed"));
	}
	store_commit_free(c);
	pthread_mutex_destroy(&r.mu);
}

/* One commit at a time (one association): each runs its round on its own
 * thread, sync then record, the chunk durable before record() sees it,
 * the timestamps in that order; its failures reach it as in a batch. */
static void test_lone_commits(void **state)
{
	struct fixture *f = *state;
	struct recorder r;
	store_commit *c = NULL;
	store_commit_stats st;
	char line[512];

	recorder_init(&r, f->cas);
	r.fail_odd = true;
	assert_int_equal(store_commit_new(&c, f->cas, record, &r, NULL), 0);
	for (unsigned k = 0; k < 20; k++) {
		uint8_t data[2000];
		store_commit_item item;
		struct rec rec;
		int rc;

		memset(data, (int)k, sizeof(data));
		rec.value = k;
		assert_int_equal(store_cas_put(f->cas, data, sizeof(data), rec.hash, NULL), 0);
		memset(&item, 0, sizeof(item));
		item.record = &rec;
		rc = store_commit_run(c, &item);
		if (k % 2 == 1) {
			char want[32];
			snprintf(want, sizeof(want), "item %u refused", k);
			assert_int_equal(rc, ARCA_EEXISTS);
			assert_string_equal(arca_error_last(), want);
			assert_string_equal(item.message, want);
		} else {
			assert_int_equal(rc, 0);
		}
		assert_true(chunk_named(f->cas, rec.hash));
		assert_true(item.t_sync_start > 0);
		assert_true(item.t_sync_start <= item.t_sync_end);
		assert_true(item.t_sync_end <= item.t_record_start);
		assert_true(item.t_record_start <= item.t_record_end);
		assert_true(item.t_record_end <= store_commit_now());
	}
	assert_int_equal(r.items, 20);
	assert_int_equal(r.not_durable, 0);
	store_commit_stats_get(c, &st);
	assert_true(st.alone == 20);
	assert_true(st.batches == 20 && st.items == 20 && st.largest == 1);
	assert_true(st.sync_rounds == 20);
	store_commit_stats_format(&st, line, sizeof(line));
	assert_non_null(strstr(line, "; 20 batches of one run by their own thread"));
	store_commit_free(c);

	/* a failed transaction, alone */
	r.fail_odd = false;
	r.fail_whole = ARCA_EDB;
	assert_int_equal(store_commit_new(&c, f->cas, record, &r, NULL), 0);
	{
		store_commit_item item;
		struct rec rec;
		uint8_t data[100];
		memset(data, 0x5A, sizeof(data));
		rec.value = 0;
		assert_int_equal(store_cas_put(f->cas, data, sizeof(data), rec.hash, NULL), 0);
		memset(&item, 0, sizeof(item));
		item.record = &rec;
		assert_int_equal(store_commit_run(c, &item), ARCA_EDB);
		assert_string_equal(arca_error_last(), "index transaction failed (test)");
	}
	store_commit_free(c);
	pthread_mutex_destroy(&r.mu);
}

/* A commit that arrives while a lone one is in record() goes through the
 * pipeline: its chunk is synced by the syncer meanwhile, and record()
 * still never runs twice at once. */
struct one_commit {
	store_cas *cas;
	store_commit *c;
	uint8_t fill;
	int rc;
	struct rec rec;
};

static void *one_commit_main(void *arg)
{
	struct one_commit *o = arg;
	uint8_t data[4000];
	store_commit_item item;

	memset(data, o->fill, sizeof(data));
	o->rec.value = o->fill;
	o->rc = store_cas_put(o->cas, data, sizeof(data), o->rec.hash, NULL);
	if (o->rc == 0) {
		memset(&item, 0, sizeof(item));
		item.record = &o->rec;
		o->rc = store_commit_run(o->c, &item);
	}
	return NULL;
}

static void test_lone_then_queued(void **state)
{
	struct fixture *f = *state;
	struct recorder r;
	store_commit *c = NULL;
	store_commit_stats st;
	struct one_commit a = { f->cas, NULL, 0x11, -1, { { 0 }, 0 } }, b = { f->cas, NULL, 0x22, -1, { { 0 }, 0 } };
	pthread_t ta, tb;
	size_t in;

	recorder_init(&r, f->cas);
	r.slow_us = 100000;
	assert_int_equal(store_commit_new(&c, f->cas, record, &r, NULL), 0);
	a.c = b.c = c;
	assert_int_equal(pthread_create(&ta, NULL, one_commit_main, &a), 0);
	/* a is alone, in its (slow) record(): then b comes */
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&r.mu);
		in = r.in_record;
		pthread_mutex_unlock(&r.mu);
		if (in > 0)
			break;
		usleep(500);
	}
	assert_int_equal(in, 1);
	assert_int_equal(pthread_create(&tb, NULL, one_commit_main, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_int_equal(r.items, 2);
	assert_int_equal(r.concurrent, 0);
	assert_int_equal(r.not_durable, 0);
	store_commit_stats_get(c, &st);
	assert_true(st.batches == 2);
	assert_true(st.alone == 1);
	store_commit_free(c);
	pthread_mutex_destroy(&r.mu);
}

/* No record function: chunks only.  A kick syncs what is pending without
 * any commit; free after a kick is clean. */
static void test_kick_and_chunks_only(void **state)
{
	struct fixture *f = *state;
	store_commit *c = NULL;
	store_commit_stats st;
	store_commit_item item;
	uint8_t data[5000], hash[STORE_CAS_HASH_LEN];

	assert_int_equal(store_commit_new(&c, f->cas, NULL, NULL, NULL), 0);
	memset(data, 7, sizeof(data));
	assert_int_equal(store_cas_put(f->cas, data, sizeof(data), hash, NULL), 0);
	assert_false(chunk_named(f->cas, hash));
	store_commit_kick(c);
	/* the kick is asynchronous: poll for the rename, bounded */
	for (int i = 0; i < 500 && !chunk_named(f->cas, hash); i++)
		usleep(2000);
	assert_true(chunk_named(f->cas, hash));
	store_commit_stats_get(c, &st);
	assert_true(st.sync_only >= 1);

	data[0] = 8;
	assert_int_equal(store_cas_put(f->cas, data, sizeof(data), hash, NULL), 0);
	memset(&item, 0, sizeof(item));
	assert_int_equal(store_commit_run(c, &item), 0);
	assert_true(chunk_named(f->cas, hash));
	store_commit_stats_get(c, &st);
	assert_int_equal(st.items, 1);
	assert_int_equal(st.batches, 1);
	store_commit_free(c);
	store_commit_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_concurrent_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_and_chunks_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lone_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lone_then_queued, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
