/* pacs_workq_test.c - worker pool: every job's work runs off the loop
 * thread, every done() runs on it, in full, and shutdown drains. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>

#include "arca_err.h"
#include "pacs_workq.h"

#define NJOBS 2000

struct job_state {
	pthread_t loop_thread;
	atomic_int worked_off_loop;
	int done_count;
	int done_on_loop;
	long result_sum;
	int results[NJOBS];
};

struct job {
	struct job_state *st;
	int n;
};

static int job_work(void *arg)
{
	struct job *j = arg;

	if (!pthread_equal(pthread_self(), j->st->loop_thread))
		atomic_fetch_add(&j->st->worked_off_loop, 1);
	return j->n * 2;
}

static void job_done(void *arg, int result)
{
	struct job *j = arg;

	j->st->done_count++;
	if (pthread_equal(pthread_self(), j->st->loop_thread))
		j->st->done_on_loop++;
	j->st->results[j->n] = result;
	j->st->result_sum += result;
}

static void idle_check(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct job_state *st = w->data;
	(void)revents;
	if (st->done_count == NJOBS)
		ev_break(loop, EVBREAK_ALL);
}

static void test_jobs_complete_on_loop(void **state)
{
	static struct job jobs[NJOBS];
	static struct job_state st;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	pacs_workq *q = NULL;
	ev_idle idle;
	(void)state;

	st.loop_thread = pthread_self();
	assert_int_equal(pacs_workq_new(&q, loop, 3), 0);
	for (int i = 0; i < NJOBS; i++) {
		jobs[i].st = &st;
		jobs[i].n = i;
		assert_int_equal(pacs_workq_submit(q, job_work, job_done, &jobs[i]), 0);
	}
	ev_idle_init(&idle, idle_check);
	idle.data = &st;
	ev_idle_start(loop, &idle);
	ev_run(loop, 0);
	ev_idle_stop(loop, &idle);
	assert_int_equal(st.done_count, NJOBS);
	assert_int_equal(st.done_on_loop, NJOBS);
	assert_int_equal(atomic_load(&st.worked_off_loop), NJOBS);
	assert_int_equal(st.result_sum, (long)NJOBS * (NJOBS - 1));
	assert_int_equal(st.results[1234], 2468);
	assert_int_equal(pacs_workq_pending(q), 0);
	pacs_workq_free(q);
	ev_loop_destroy(loop);
}

static void test_backpressure_and_drain_on_free(void **state)
{
	static struct job jobs[8];
	static struct job_state st;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	pacs_workq *q = NULL;
	(void)state;

	st.loop_thread = pthread_self();
	assert_int_equal(pacs_workq_new(&q, loop, 1), 0);
	pacs_workq_set_max_pending(q, 4);
	for (int i = 0; i < 4; i++) {
		jobs[i].st = &st;
		jobs[i].n = i;
		assert_int_equal(pacs_workq_submit(q, job_work, job_done, &jobs[i]), 0);
	}
	assert_int_equal(pacs_workq_submit(q, job_work, job_done, &jobs[5]), ARCA_ELIMIT);
	/* free without running the loop: every queued job still completes */
	pacs_workq_free(q);
	assert_int_equal(st.done_count, 4);
	assert_int_equal(pacs_workq_new(&q, loop, 0), ARCA_EINVAL);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_complete_on_loop),
		cmocka_unit_test(test_backpressure_and_drain_on_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
