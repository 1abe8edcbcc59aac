/* bench_chain.c - the provenance log's figures (design 5: at least 10,000
 * durable events/s on one core, a 1,000,000-entry log verified in under a
 * minute), through the public chain_log.h only.  Every batch is really
 * written: pack, index, ref, each fsynced.
 *
 *   bench_chain rate DIR [EVENTS] [BATCH] [BATCH_MS] [RATE]
 *       Appends EVENTS store events as fast as the bounded queue takes them
 *       (background flusher, batches of BATCH or BATCH_MS) and prints the
 *       durable events/s; then offers RATE events/s for 3 s and prints the
 *       append-to-durable latency (p50, p99, max).
 *   bench_chain waiters DIR [THREADS] [SECONDS]
 *       THREADS threads each append one event and wait until it is durable
 *       (chain_log_wait), again and again for SECONDS, as arcad's
 *       associations do for their C-STORE answers; prints the durable
 *       events/s and the append-to-durable latency (p50, p99, max).
 *   bench_chain build DIR [ENTRIES] [BATCH]
 *       Builds a log of ENTRIES entries, then times chain_log_verify_repo
 *       over it, reopening it, and prints the repository's bytes per event.
 *
 * Run it through bench/chain.sh (one core with taskset). */
#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "chain_entry.h"
#include "chain_hash.h"
#include "chain_key.h"
#include "chain_log.h"

#define NODE "bench-node"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_chain: %s: %s (%d)\n", what, arca_error_last(), rc);
	exit(2);
}

/* A store event as an ingest writes it: study, its hash, instance count,
 * patient pseudonym, purpose. */
static void store_event(chain_entry *e, uint64_t i, uint8_t hash[32], uint8_t patient[32],
			char uid[CHAIN_ENTRY_UID_MAX + 1])
{
	memset(e, 0, sizeof(*e));
	snprintf(uid, CHAIN_ENTRY_UID_MAX + 1, "1.2.826.0.1.3680043.10.543.%" PRIu64 ".%" PRIu64,
		 i / 100 + 1, i % 100 + 1);
	{
		/* hashes as incompressible as real ones */
		char in[48];
		int n = snprintf(in, sizeof(in), "study %" PRIu64, i);
		chain_hash_sha256_once(hash, in, (size_t)n);
		n = snprintf(in, sizeof(in), "patient %" PRIu64, i / 100);
		chain_hash_sha256_once(patient, in, (size_t)n);
	}
	e->event = CHAIN_EVENT_INSTANCES_TRANSFERRED;
	e->action = CHAIN_ACTION_CREATE;
	e->outcome = CHAIN_OUTCOME_SUCCESS;
	e->actor_ae = "CT_SCANNER_04";
	e->study_uid = uid;
	e->has_study_hash = true;
	memcpy(e->study_hash, hash, 32);
	e->instances = (uint32_t)(i % 400 + 1);
	e->has_patient = true;
	memcpy(e->patient, patient, 32);
	e->purpose = "TREAT";
	e->peer = "ARCA";
}

static chain_key *bench_key(void)
{
	uint8_t seed[CHAIN_KEY_SEED_LEN];
	chain_key *k;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i * 13 + 1);
	if ((rc = chain_key_from_seed(&k, seed)) < 0)
		die("key", rc);
	return k;
}

/* ---- rate and latency ---- */

struct timing {
	double *appended;     /* per index */
	double *durable;
	uint64_t base;
	atomic_uint_fast64_t done;
};

static void on_durable(void *arg, uint64_t index, int status)
{
	struct timing *t = arg;

	if (status < 0) {
		fprintf(stderr, "bench_chain: entry %" PRIu64 " failed: %s\n", index, arca_error_last());
		exit(2);
	}
	t->durable[index - t->base] = now_s();
	t->done++;
}

static void wait_done(struct timing *t, uint64_t n)
{
	while (t->done < n)
		usleep(200);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Appends n events from index base on, at `rate` per second (0: as fast
 * as the queue takes them). */
static void run(chain_log *log, struct timing *t, uint64_t n, double rate)
{
	chain_entry e;
	uint8_t hash[32], patient[32];
	char uid[CHAIN_ENTRY_UID_MAX + 1];
	double start = now_s();
	uint64_t i, idx;
	int rc;

	for (i = 0; i < n; i++) {
		store_event(&e, t->base + i, hash, patient, uid);
		if (rate > 0) {
			/* sleep, not spin: on one core the flusher needs the CPU */
			double due = start + (double)i / rate;
			if (now_s() < due) {
				struct timespec ts = { (time_t)due, (long)((due - (double)(time_t)due) * 1e9) };
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			}
		}
		t->appended[i] = now_s();
		while ((rc = chain_log_append(log, &e, on_durable, t, &idx)) == ARCA_ELIMIT)
			usleep(100); /* the queue is full: the disk sets the pace */
		if (rc < 0)
			die("append", rc);
	}
}

static int bench_rate(const char *dir, uint64_t n, uint32_t batch, uint32_t ms, double rate)
{
	chain_key *key = bench_key();
	chain_log *log;
	chain_log_config c = { .repo_path = dir, .node = NODE, .key = key, .batch_entries = batch,
			       .batch_ms = ms, .queue_max = 16 * batch, .background = true };
	struct timing t;
	uint64_t lat_n;
	double *lat, elapsed, first, last = 0;
	uint64_t i;
	int rc;

	if ((rc = chain_log_open(&log, &c)) < 0)
		die("open", rc);
	memset(&t, 0, sizeof(t));
	t.base = chain_log_size(log);
	t.appended = calloc(n, sizeof(double));
	t.durable = calloc(n, sizeof(double));
	if (t.appended == NULL || t.durable == NULL)
		die("memory", ARCA_ENOMEM);

	/* saturation: durable events per second */
	run(log, &t, n, 0);
	wait_done(&t, n);
	first = t.appended[0];
	for (i = 0; i < n; i++)
		if (t.durable[i] > last)
			last = t.durable[i];
	elapsed = last - first;
	printf("rate: %" PRIu64 " events, batches of %u or %u ms: %.0f durable events/s (%.2f s)\n", n, batch,
	       ms, (double)n / elapsed, elapsed);

	/* latency at an offered rate below saturation */
	lat_n = (uint64_t)(rate * 3);
	if (lat_n > n)
		lat_n = n;
	t.base = chain_log_size(log);
	t.done = 0;
	run(log, &t, lat_n, rate);
	wait_done(&t, lat_n);
	lat = malloc(lat_n * sizeof(double));
	for (i = 0; i < lat_n; i++)
		lat[i] = (t.durable[i] - t.appended[i]) * 1000;
	qsort(lat, lat_n, sizeof(double), cmp_double);
	printf("latency at %.0f events/s offered (%" PRIu64 " events): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       rate, lat_n, lat[lat_n / 2], lat[lat_n * 99 / 100], lat[lat_n - 1]);
	free(lat);
	if ((rc = chain_log_close(log)) < 0)
		die("close", rc);
	free(t.appended);
	free(t.durable);
	chain_key_free(key);
	return 0;
}

/* ---- waiters: the ingest's pattern ---- */

#define WAITER_MAX_SAMPLES 200000

struct waiter {
	chain_log *log;
	double until;
	unsigned id;
	double *lat;          /* ms, one per event */
	size_t n;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	chain_entry e;
	uint8_t hash[32], patient[32];
	char uid[CHAIN_ENTRY_UID_MAX + 1];
	uint64_t idx;
	int rc;

	while (now_s() < w->until && w->n < WAITER_MAX_SAMPLES) {
		double t0 = now_s();
		store_event(&e, (uint64_t)w->id * 1000000 + w->n, hash, patient, uid);
		if ((rc = chain_log_append(w->log, &e, NULL, NULL, &idx)) < 0)
			die("append", rc);
		if ((rc = chain_log_wait(w->log, idx)) < 0)
			die("wait", rc);
		w->lat[w->n++] = (now_s() - t0) * 1000;
	}
	return NULL;
}

static int bench_waiters(const char *dir, unsigned threads, double seconds)
{
	chain_key *key = bench_key();
	chain_log *log;
	chain_log_config c = { .repo_path = dir, .node = NODE, .key = key, .background = true };
	struct waiter *w = calloc(threads, sizeof(*w));
	pthread_t *th = calloc(threads, sizeof(*th));
	double *all, t0, t1;
	size_t total = 0, k = 0;
	unsigned i;
	int rc;

	if (w == NULL || th == NULL)
		die("memory", ARCA_ENOMEM);
	if ((rc = chain_log_open(&log, &c)) < 0)
		die("open", rc);
	t0 = now_s();
	for (i = 0; i < threads; i++) {
		w[i] = (struct waiter){ log, t0 + seconds, i, malloc(WAITER_MAX_SAMPLES * sizeof(double)), 0 };
		if (w[i].lat == NULL || pthread_create(&th[i], NULL, waiter_main, &w[i]) != 0)
			die("thread", ARCA_ENOMEM);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += w[i].n;
	}
	t1 = now_s();
	all = malloc((total > 0 ? total : 1) * sizeof(double));
	for (i = 0; i < threads; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(double));
		k += w[i].n;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(double), cmp_double);
	if (total > 0)
		printf("waiters: %u threads appending and waiting, %.1f s: %zu events, %.0f durable events/s, "
		       "append-to-durable p50 %.2f ms, p99 %.2f ms, max %.1f ms\n",
		       threads, t1 - t0, total, (double)total / (t1 - t0), all[total / 2],
		       all[total * 99 / 100], all[total - 1]);
	free(all);
	if ((rc = chain_log_close(log)) < 0)
		die("close", rc);
	free(w);
	free(th);
	chain_key_free(key);
	return 0;
}

/* ---- a big log: build, verify, reopen, size ---- */

static uint64_t tree_bytes, tree_files, pack_files;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	size_t l = strlen(path);

	(void)ftw;
	if (flag == FTW_F) {
		tree_bytes += (uint64_t)st->st_size;
		tree_files++;
		if (l > 5 && strcmp(path + l - 5, ".pack") == 0)
			pack_files++;
	}
	return 0;
}

static int bench_build(const char *dir, uint64_t n, uint32_t batch)
{
	chain_key *key = bench_key();
	chain_log *log;
	chain_log_config c = { .repo_path = dir, .node = NODE, .key = key, .batch_entries = batch,
			       .queue_max = 2 * batch };
	chain_log_stats st;
	chain_entry e;
	uint8_t hash[32], patient[32];
	char uid[CHAIN_ENTRY_UID_MAX + 1];
	double t0, t1;
	uint64_t i, base;
	int rc;

	if ((rc = chain_log_open(&log, &c)) < 0)
		die("open", rc);
	base = chain_log_size(log);
	t0 = now_s();
	for (i = base; i < n; i++) {
		store_event(&e, i, hash, patient, uid);
		if ((rc = chain_log_append(log, &e, NULL, NULL, NULL)) < 0)
			die("append", rc);
		if ((i + 1) % batch == 0 && (rc = chain_log_flush(log)) < 0)
			die("flush", rc);
	}
	if ((rc = chain_log_close(log)) < 0)
		die("close", rc);
	t1 = now_s();
	if (n > base)
		printf("build: %" PRIu64 " entries in batches of %u: %.1f s (%.0f durable entries/s)\n", n - base,
		       batch, t1 - t0, (double)(n - base) / (t1 - t0));

	t0 = now_s();
	rc = chain_log_verify_repo(dir, NODE, key, NULL, NULL, &st);
	t1 = now_s();
	if (rc < 0)
		die("verify", rc);
	printf("verify: %" PRIu64 " entries, %" PRIu64 " commits, every entry parsed, every checkpoint checked: %.1f s\n",
	       st.entries, st.batches, t1 - t0);

	t0 = now_s();
	if ((rc = chain_log_open(&log, &c)) < 0)
		die("reopen", rc);
	t1 = now_s();
	printf("reopen (rebuild the tree, check the latest checkpoint): %.2f s\n", t1 - t0);
	chain_log_close(log);

	tree_bytes = tree_files = pack_files = 0;
	nftw(dir, add_size, 32, FTW_PHYS);
	printf("repository: %" PRIu64 " bytes in %" PRIu64 " files (%" PRIu64 " packs): %.1f bytes/event\n",
	       tree_bytes, tree_files, pack_files, (double)tree_bytes / (double)st.entries);
	chain_key_free(key);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "rate") == 0)
		return bench_rate(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) : 200000,
				  argc > 4 ? (uint32_t)atoi(argv[4]) : 1000,
				  argc > 5 ? (uint32_t)atoi(argv[5]) : 50, argc > 6 ? atof(argv[6]) : 10000);
	if (argc >= 3 && strcmp(argv[1], "waiters") == 0)
		return bench_waiters(argv[2], argc > 3 ? (unsigned)atoi(argv[3]) : 8,
				     argc > 4 ? atof(argv[4]) : 5);
	if (argc >= 3 && strcmp(argv[1], "build") == 0)
		return bench_build(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000,
				   argc > 4 ? (uint32_t)atoi(argv[4]) : 1000);
	fprintf(stderr, "usage: bench_chain rate DIR [EVENTS] [BATCH] [BATCH_MS] [RATE]\n"
			"       bench_chain waiters DIR [THREADS] [SECONDS]\n"
			"       bench_chain build DIR [ENTRIES] [BATCH]\n");
	return 2;
}
