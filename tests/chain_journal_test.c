/* chain_journal_test.c - the chain log's journal (docs/chain-format.md
 * 7.6): an entry reported durable survives kill -9 with its bytes and
 * index; a torn tail is cut; a damaged record that later flushes follow,
 * a gap or a foreign entry stops the open with the journal and index
 * named; the git commits follow at checkpoint_entries / checkpoint_ms; a
 * close leaves everything on the ref.
 *
 * Every test works in its own temporary directory, removed afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "arca_err.h"
#include "chain_entry.h"
#include "chain_key.h"
#include "chain_log.h"
#include "chain_log_priv.h"
#include "chain_fixture.h"

#define NODE "hospital-a/ct"
#define T0 INT64_C(1735787045000)

/* chain_fixture.h: a temp directory with the repository, the node's key */
struct fx {
	chain_fixture c;
	char journal[400];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (chain_fixture_init(&f->c, "chain_journal_test", "log.git", 7) != 0) {
		chain_fixture_fini(&f->c);
		free(f);
		return -1;
	}
	/* '/' in the node name is '+' in the file name */
	snprintf(f->journal, sizeof(f->journal), "%s/arca-journal-hospital-a+ct", f->c.repo);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	chain_fixture_fini(&f->c);
	free(f);
	return 0;
}

/* Entry i: fixed content, so that its bytes can be computed again. */
static void make_entry(chain_entry *e, uint64_t i)
{
	memset(e, 0, sizeof(*e));
	e->time_ms = T0 + (int64_t)i;
	e->event = CHAIN_EVENT_INSTANCES_TRANSFERRED;
	e->action = CHAIN_ACTION_CREATE;
	e->actor_ae = "MODALITY1";
	e->study_uid = "1.2.826.0.1.3680043.10.543.1";
	e->instances = (uint32_t)(i % 7 + 1);
}

/* The canonical bytes entry i has in the log. */
static char *entry_bytes(uint64_t i, size_t *len)
{
	chain_entry e;
	char *b = NULL;

	make_entry(&e, i);
	e.index = i;
	e.node = NODE;
	assert_int_equal(chain_entry_encode(&e, &b, len), 0);
	return b;
}

static chain_log *open_log(struct fx *f, bool background, uint32_t batch, uint32_t ck_entries,
			   uint32_t ck_ms)
{
	chain_log_config c = { .repo_path = f->c.repo, .node = NODE, .key = f->c.key,
			       .batch_entries = batch, .batch_ms = 2, .background = background,
			       .checkpoint_entries = ck_entries, .checkpoint_ms = ck_ms };

	return chain_fixture_open_log(&c);
}

static void append_one(chain_log *log, uint64_t i, chain_log_durable_fn fn, void *arg)
{
	chain_entry e;
	uint64_t idx;

	make_entry(&e, i);
	assert_int_equal(chain_log_append(log, &e, fn, arg, &idx), 0);
	assert_int_equal(idx, i);
}

/* The size of the checkpoint on the ref now, read with libgit2 (a view
 * would wait for a live writer's checkpoint); 0 if there is no ref. */
static uint64_t ref_size(struct fx *f)
{
	git_repository *repo = NULL;
	uint64_t n = 0;

	if (git_repository_open_bare(&repo, f->c.repo) == 0)
		assert_int_equal(chain_log__ref_size(repo, "refs/arca/log/" NODE, &n), 0);
	git_repository_free(repo);
	return n;
}

/* Every entry [0, n) on the ref has the bytes entry_bytes gives. */
static void check_ref_entries(struct fx *f, uint64_t n)
{
	chain_log_view *v = NULL;
	uint64_t i;

	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.key), 0);
	assert_true(chain_log_view_size(v) >= n);
	for (i = 0; i < n; i++) {
		size_t len, want_len;
		char *got, *want = entry_bytes(i, &want_len);
		assert_int_equal(chain_log_view_entry(v, i, &got, &len), 0);
		assert_int_equal(len, want_len);
		assert_memory_equal(got, want, len);
		free(got);
		free(want);
	}
	chain_log_view_free(v);
}

static uint64_t journal_pending(struct fx *f)
{
	uint64_t pending = 0;

	assert_int_equal(chain_log__journal_read(f->journal, NODE, ref_size(f), NULL, NULL, &pending), 0);
	return pending;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls (5 ms steps, up to limit_ms) until the ref holds at least n. */
static bool wait_ref(struct fx *f, uint64_t n, int64_t limit_ms)
{
	int64_t end = now_ms() + limit_ms;
	struct timespec d = { 0, 5000000 };

	while (ref_size(f) < n) {
		if (now_ms() > end)
			return false;
		nanosleep(&d, NULL);
	}
	return true;
}

/* A log of n entries on the ref: the first batch of a new log goes to
 * git at once (chain_log.c), later ones to the journal. */
static void seed_log(struct fx *f, uint64_t n)
{
	chain_log *log = open_log(f, false, 100, 0, 0);
	uint64_t i;

	for (i = 0; i < n; i++)
		append_one(log, i, NULL, NULL);
	assert_int_equal(chain_log_close(log), 0);
	assert_int_equal(ref_size(f), n);
}

/* A child that journals entries [from, to) in flushes of `step` (waiting
 * for each) and dies without closing: the entries are durable in the
 * journal only (checkpoints far away). */
static void journal_and_die(struct fx *f, uint64_t from, uint64_t to, uint64_t step)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		chain_log *log = open_log(f, true, 1000, 1000000, 600000);
		uint64_t i;

		for (i = from; i < to; i++) {
			append_one(log, i, NULL, NULL);
			if ((i + 1 - from) % step == 0 || i + 1 == to)
				if (chain_log_wait(log, i) != 0)
					_exit(3);
		}
		_exit(0); /* no close: as if killed */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The file offset of journal record k (0-based) and its length. */
static void record_at(struct fx *f, size_t k, off_t *off, uint32_t *len)
{
	uint8_t h[16];
	off_t o = 64;
	int fd = open(f->journal, O_RDONLY);
	size_t i;

	assert_true(fd >= 0);
	for (i = 0;; i++) {
		assert_int_equal(pread(fd, h, sizeof(h), o), (ssize_t)sizeof(h));
		assert_memory_equal(h, "AJR1", 4);
		*len = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
		if (i == k)
			break;
		o += 16 + (off_t)*len + 32;
	}
	*off = o;
	close(fd);
}

static void flip_byte(struct fx *f, off_t off)
{
	int fd = open(f->journal, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

/* ---- durability: kill -9 at random moments ---- */

struct reporter {
	int fd;
};

static void report_durable(void *arg, uint64_t index, int status)
{
	struct reporter *r = arg;

	if (status == 0 && write(r->fd, &index, sizeof(index)) != (ssize_t)sizeof(index))
		_exit(4);
}

static void test_kill9_keeps_durable(void **state)
{
	struct fx *f = *state;
	int64_t end = now_ms() + 15000;
	unsigned seed = (unsigned)getpid();
	uint64_t reported_max = 0, rounds = 0;
	bool any = false;

	while (rounds < 40 && now_ms() < end) {
		uint64_t base, idx;
		int p[2], status;
		pid_t pid;
		ssize_t n;
		struct timespec d;
		chain_log *log;

		/* the next round starts where the log is now */
		log = open_log(f, false, 100, 0, 0);
		base = chain_log_size(log);
		assert_int_equal(chain_log_close(log), 0);
		if (any)
			assert_true(base > reported_max);
		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct reporter r = { p[1] };
			uint64_t i;

			close(p[0]);
			/* small journal flushes, frequent checkpoints: kills
			 * land in journal writes, git writes and resets */
			log = open_log(f, true, 20, 150, 30);
			for (i = base;; i++) {
				chain_entry e;
				make_entry(&e, i);
				while (chain_log_append(log, &e, report_durable, &r, NULL) == ARCA_ELIMIT)
					;
				if (i % 10 == 0)
					(void)chain_log_wait(log, i);
			}
		}
		close(p[1]);
		/* read what is reported for 5..120 ms, then kill -9 */
		d.tv_sec = 0;
		d.tv_nsec = (long)(5 + rand_r(&seed) % 116) * 1000000L;
		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		while ((n = read(p[0], &idx, sizeof(idx))) == (ssize_t)sizeof(idx)) {
			assert_true(idx >= base);
			if (!any || idx > reported_max)
				reported_max = idx;
			any = true;
		}
		close(p[0]);
		rounds++;
		/* reopening replays the journal: everything reported durable
		 * is on the ref with its bytes */
		log = open_log(f, false, 100, 0, 0);
		if (any)
			assert_true(chain_log_size(log) > reported_max);
		assert_int_equal(chain_log_size(log), ref_size(f));
		assert_int_equal(chain_log_close(log), 0);
	}
	print_message("kill -9: %" PRIu64 " rounds, %" PRIu64 " entries reported durable\n", rounds,
		      any ? reported_max + 1 : 0);
	assert_true(rounds >= 5);
	assert_true(any);
	check_ref_entries(f, reported_max + 1);
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, f->c.key, NULL, NULL, NULL), 0);
}

/* ---- reading the journal back ---- */

static void test_replay_after_crash(void **state)
{
	struct fx *f = *state;
	chain_log *log;

	seed_log(f, 1);
	journal_and_die(f, 1, 121, 40);
	assert_int_equal(ref_size(f), 1);
	assert_int_equal(journal_pending(f), 120);
	log = open_log(f, false, 100, 0, 0);
	assert_int_equal(chain_log_size(log), 121);
	/* replayed at open: on the ref already, the journal empty */
	assert_int_equal(ref_size(f), 121);
	assert_int_equal(journal_pending(f), 0);
	append_one(log, 121, NULL, NULL);
	assert_int_equal(chain_log_close(log), 0);
	check_ref_entries(f, 122);
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, f->c.key, NULL, NULL, NULL), 0);
}

static void test_torn_tail_cut(void **state)
{
	struct fx *f = *state;
	chain_log *log;
	off_t off;
	uint32_t len;

	seed_log(f, 1);
	journal_and_die(f, 1, 31, 10);
	/* the last record's bytes damaged: the tail of a flush never synced */
	record_at(f, 29, &off, &len);
	flip_byte(f, off + 16 + len / 2);
	log = open_log(f, false, 100, 0, 0);
	assert_int_equal(chain_log_size(log), 30);
	append_one(log, 30, NULL, NULL);
	assert_int_equal(chain_log_close(log), 0);
	check_ref_entries(f, 31);

	/* a record cut short by the end of the file */
	journal_and_die(f, 31, 41, 5);
	record_at(f, 9, &off, &len);
	assert_int_equal(truncate(f->journal, off + 16 + len - 3), 0);
	log = open_log(f, false, 100, 0, 0);
	assert_int_equal(chain_log_size(log), 40);
	assert_int_equal(chain_log_close(log), 0);
	check_ref_entries(f, 40);
}

static void test_damaged_middle_refused(void **state)
{
	struct fx *f = *state;
	chain_log *log = NULL;
	chain_log_config c = { .repo_path = f->c.repo, .node = NODE, .key = f->c.key };

	/* flushes of 10: record 3 (entry 4) is in the first, which later
	 * flushes follow */
	seed_log(f, 1);
	journal_and_die(f, 1, 41, 10);
	{
		off_t off;
		uint32_t len;
		record_at(f, 3, &off, &len);
		flip_byte(f, off + 20);
	}
	assert_int_equal(chain_log_open(&log, &c), ARCA_EPROTO);
	assert_null(log);
	assert_non_null(strstr(arca_error_last(), f->journal));
	assert_non_null(strstr(arca_error_last(), "entry 4 "));
	/* nothing was dropped: the ref is untouched */
	assert_int_equal(ref_size(f), 1);
}

/* Writes a journal by hand: entries idx[0..n) of node, starting at first. */
static void craft_journal(struct fx *f, const char *node, uint64_t first, const uint64_t *idx,
			  size_t n)
{
	chain_log__journal j = { .fd = -1 };
	size_t i;

	j.path = strdup(f->journal);
	assert_int_equal(chain_log__journal_reset(&j, f->c.repo, first), 0);
	for (i = 0; i < n; i++) {
		chain_entry e;
		chain_log__jrec r;
		char *b;
		make_entry(&e, idx[i]);
		e.index = idx[i];
		e.node = node;
		assert_int_equal(chain_entry_encode(&e, &b, &r.len), 0);
		r.bytes = b;
		assert_int_equal(chain_log__journal_append(&j, &r, 1, idx[i]), 0);
		free(b);
	}
	chain_log__journal_close(&j);
}

static void test_gap_and_foreign_refused(void **state)
{
	struct fx *f = *state;
	chain_log_config c = { .repo_path = f->c.repo, .node = NODE, .key = f->c.key };
	chain_log *log = NULL;
	static const uint64_t gap[] = { 10, 11, 13 };
	static const uint64_t early[] = { 10, 11, 12 };
	static const uint64_t over[] = { 5, 6, 7, 8, 9, 10, 11 };

	log = open_log(f, false, 10, 0, 0);
	for (uint64_t i = 0; i < 10; i++)
		append_one(log, i, NULL, NULL);
	assert_int_equal(chain_log_close(log), 0);

	craft_journal(f, NODE, 10, gap, 3);
	assert_int_equal(chain_log_open(&log, &c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), f->journal));
	assert_non_null(strstr(arca_error_last(), "entry 13 "));
	assert_non_null(strstr(arca_error_last(), "entry 12 was expected"));

	craft_journal(f, "hospital-b", 10, early, 3);
	assert_int_equal(chain_log_open(&log, &c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "hospital-b"));

	/* entry 12 where 10 is expected: the ref lost entries */
	craft_journal(f, NODE, 10, early + 2, 1);
	assert_int_equal(chain_log_open(&log, &c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "entry 12 "));
	assert_int_equal(ref_size(f), 10);

	/* entries already on the ref (a reset that did not happen) are skipped */
	craft_journal(f, NODE, 5, over, 7);
	log = open_log(f, false, 10, 0, 0);
	assert_int_equal(chain_log_size(log), 12);
	assert_int_equal(chain_log_close(log), 0);
	check_ref_entries(f, 12);

	/* a damaged header is refused, not taken for an empty journal */
	flip_byte(f, 3);
	assert_int_equal(chain_log_open(&log, &c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "bad header"));
}

/* ---- when the git commits happen ---- */

static void test_checkpoint_cadence(void **state)
{
	struct fx *f = *state;
	chain_log *log;
	uint64_t i;

	/* K = 100 entries, T2 far away: commits at 100 journaled entries */
	log = open_log(f, true, 10, 100, 600000);
	for (i = 0; i < 250; i++) {
		append_one(log, i, NULL, NULL);
		if (i % 10 == 9)
			assert_int_equal(chain_log_wait(log, i), 0);
	}
	assert_int_equal(chain_log_size(log), 250);
	assert_true(wait_ref(f, 200, 5000));
	assert_true(ref_size(f) < 250);
	assert_true(journal_pending(f) >= 1);
	assert_int_equal(ref_size(f) + journal_pending(f), 250);
	/* a close commits the rest and leaves the journal empty */
	assert_int_equal(chain_log_close(log), 0);
	assert_int_equal(ref_size(f), 250);
	assert_int_equal(journal_pending(f), 0);
	check_ref_entries(f, 250);

	/* T2 = 300 ms: a few entries reach git on the timer */
	log = open_log(f, true, 10, 100000, 300);
	{
		int64_t t0 = now_ms();
		for (i = 250; i < 255; i++)
			append_one(log, i, NULL, NULL);
		assert_int_equal(chain_log_wait(log, 254), 0);
		if (now_ms() - t0 < 250)
			assert_int_equal(ref_size(f), 250);
		assert_true(wait_ref(f, 255, 5000));
		assert_true(now_ms() - t0 >= 250);
	}
	assert_int_equal(journal_pending(f), 0);
	assert_int_equal(chain_log_close(log), 0);
	check_ref_entries(f, 255);

	/* chain_log_flush leaves everything on the ref */
	log = open_log(f, true, 10, 100000, 600000);
	for (i = 255; i < 300; i++)
		append_one(log, i, NULL, NULL);
	assert_int_equal(chain_log_wait(log, 299), 0);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(ref_size(f), 300);
	assert_int_equal(chain_log_close(log), 0);
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, f->c.key, NULL, NULL, NULL), 0);
}

struct busy_writer {
	chain_log *log;
	atomic_uint_fast64_t next;
	atomic_bool stop;
};

/* Appends and waits for each entry until told to stop: a steady load. */
static void *busy_main(void *arg)
{
	struct busy_writer *b = arg;

	while (!atomic_load(&b->stop)) {
		chain_entry e;
		uint64_t idx;
		make_entry(&e, atomic_load(&b->next));
		if (chain_log_append(b->log, &e, NULL, NULL, &idx) != 0 || chain_log_wait(b->log, idx) != 0)
			break;
		atomic_fetch_add(&b->next, 1);
	}
	return NULL;
}

/* Readers see every entry reported durable before they opened: a view
 * waits for a live writer's checkpoint; without a writer, verification
 * counts what the journal holds beyond the ref as pending. */
static void test_readers(void **state)
{
	struct fx *f = *state;
	chain_log_stats st;
	chain_log_view *v = NULL;
	chain_log *log;
	uint64_t i, n;
	int64_t t0;

	seed_log(f, 1);
	log = open_log(f, true, 10, 100000, 400);
	for (i = 1; i < 5; i++)
		append_one(log, i, NULL, NULL);
	assert_int_equal(chain_log_wait(log, 4), 0);
	t0 = now_ms();
	assert_int_equal(ref_size(f), 1);
	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.key), 0);
	assert_int_equal(chain_log_view_size(v), 5);
	assert_true(now_ms() - t0 < CHAIN_LOG_SETTLE_MS);
	chain_log_view_free(v);

	/* under a steady load the journal is never empty: a view waits for
	 * what was journaled before it opened, not for the load to stop */
	{
		struct busy_writer b = { .log = log, .next = 5 };
		struct timespec d = { 0, 100000000 };
		uint64_t before;
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, busy_main, &b), 0);
		nanosleep(&d, NULL);
		before = atomic_load(&b.next);
		t0 = now_ms();
		assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.key), 0);
		assert_true(now_ms() - t0 < 2500);
		assert_true(chain_log_view_size(v) >= before);
		chain_log_view_free(v);
		atomic_store(&b.stop, true);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(chain_log_close(log), 0);
		n = atomic_load(&b.next);
	}
	log = open_log(f, false, 10, 0, 0);
	assert_int_equal(chain_log_size(log), n);
	assert_int_equal(chain_log_close(log), 0);
	check_ref_entries(f, n);

	journal_and_die(f, n, n + 7, 3);
	t0 = now_ms();
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, f->c.key, NULL, NULL, &st), 0);
	assert_true(now_ms() - t0 < 1000); /* no writer alive: no wait */
	assert_int_equal(st.entries, n);
	assert_int_equal(st.pending, 7);
	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.key), 0);
	assert_int_equal(chain_log_view_size(v), n);
	chain_log_view_free(v);
	/* the next writer replays them */
	log = open_log(f, false, 10, 0, 0);
	assert_int_equal(chain_log_close(log), 0);
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, f->c.key, NULL, NULL, &st), 0);
	assert_int_equal(st.entries, n + 7);
	assert_int_equal(st.pending, 0);
	check_ref_entries(f, n + 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay_after_crash, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_cut, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_middle_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_gap_and_foreign_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_cadence, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_readers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_kill9_keeps_durable, fx_setup, fx_teardown),
	};

	int rc;

	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
