/* store_ingest_latency_test.c - the commit of the content-addressed ingest
 * that hashes an instance while its chunk puts still run
 * (store_ingest_cas_commit.c, docs/storage-format.md section 8), driven
 * as the C-STORE SCP drives it (tests/store_fixture.h):
 *   - the same instances stored into two archives, one committing in the
 *     new order and one waiting for the puts first (wait_puts_first), give
 *     the same manifest address and the same instance hash, and that hash
 *     is SHA-256 of the exported bytes, computed here;
 *   - an instance above the retention cap is hashed by reading back;
 *   - a refusal is quarantined with the same bytes in both orders;
 *   - a put that fails while the commit hashes fails the instance with the
 *     put's message, stores nothing, and the archive stores afterwards;
 *   - concurrent instances of one study;
 *   - the latency breakdown adds up to the total. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_dimse.h"
#include "pacs_ingest.h"
#include "pacs_read.h"
#include "pacs_ts.h"
#include "pacs_write.h"
#include "store_cas.h"
#include "store_index.h"
#include "store_ingest.h"
#include "store_instance.h"
#include "store_manifest.h"
#include "store_fixture.h"

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define SC_MF_CLASS "1.2.840.10008.5.1.4.1.1.7.3" /* Multi-frame Grayscale Word SC */
#define CALLING "MODALITY"

typedef store_fixture fixture;
typedef store_fixture_mem mem;

static const store_fixture_study study = { "P-LAT", "2.25.900", "2.25.900.1", "20261129" };

/* Two archives: a commits in the new order (the default), b waits for
 * the puts first (store_ingest_cas_options.wait_puts_first). */
typedef struct pair {
	fixture *a, *b;
} pair;

static int setup_pair(void **state)
{
	pair *p = calloc(1, sizeof(*p));
	store_ingest_cas_options o;

	assert_non_null(p);
	p->a = store_fixture_new("latency-a");
	p->b = store_fixture_new("latency-b");
	store_ingest_cas_free(p->b->s);
	store_ingest_cas_options_init(&o);
	o.wait_puts_first = true;
	store_fixture_open(p->b, &o);
	*state = p;
	return 0;
}

static int teardown_pair(void **state)
{
	pair *p = *state;

	store_fixture_free(p->a);
	store_fixture_free(p->b);
	free(p);
	return 0;
}

static int setup(void **state)
{
	*state = store_fixture_new("latency");
	return 0;
}

/* rows x cols x frames of 16-bit pixels from seed, class cls */
static pacs_ds *image(const char *cls, const char *sop, unsigned rows, unsigned cols, unsigned frames, unsigned seed)
{
	pacs_ds *ds = store_fixture_image(&study, cls, sop, rows, cols, frames);
	size_t fb = (size_t)rows * cols * 2, n = fb * frames;
	uint8_t *px = malloc(n);

	assert_non_null(px);
	for (unsigned i = 0; i < frames; i++)
		store_fixture_fill_pixels(px + i * fb, fb, seed + i);
	assert_int_equal(pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, px, (uint32_t)n), 0);
	free(px);
	return ds;
}

/* Encapsulated pixel data (PS3.5 A.4): an empty Basic Offset Table item
 * and one fragment per size, random bytes (not a real codestream: the
 * ingest does not decode it). */
static pacs_ds *encapsulated(const char *sop, const uint32_t *sizes, size_t n, unsigned seed)
{
	pacs_ds *ds = store_fixture_image(&study, SC_MF_CLASS, sop, 512, 512, (unsigned)n);
	pacs_elem *e = NULL;
	uint8_t bot[4] = { 0 };

	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, &e), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, bot, 0), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t *frag = malloc(sizes[i]);
		assert_non_null(frag);
		store_fixture_fill_pixels(frag, sizes[i], seed + (unsigned)i);
		assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, frag, sizes[i]), 0);
		free(frag);
	}
	assert_int_equal(pacs_ds_set_source_ts(ds, PACS_TS_J2K_LOSSLESS), 0);
	return ds;
}

static void store_ok(fixture *f, const pacs_ds *ds, const char *ts)
{
	store_fixture_send how = { CALLING, ts, 16381, 4093, 0 };

	store_fixture_store_ok(&f->ingest, ds, &how);
}

/* The index row of sop, and the instance exported from the store: its
 * SHA-256 computed here must be the row's instance hash. */
static void assert_exported_hash(fixture *f, const char *sop, store_index_storage *st)
{
	uint8_t *data = NULL, digest[SHA256_DIGEST_LENGTH];
	size_t len = 0;

	assert_int_equal(store_index_get(store_ingest_cas_index(f->s), sop, 0, st), 0);
	if (store_instance_read(store_ingest_cas_store(f->s), st->manifest, &data, &len) != 0)
		fail_msg("export %s: %s", sop, arca_error_last());
	SHA256(data, len, digest);
	assert_memory_equal(digest, st->instance_hash, SHA256_DIGEST_LENGTH);
	assert_true(st->size == len);
	/* Part 10 (PS3.10 7.1): 128-byte preamble, then "DICM" */
	assert_true(len > 132);
	assert_memory_equal(data + 128, "DICM", 4);
	free(data);
}

/* sop stored into both archives of p gives the same manifest address and
 * instance hash, each the SHA-256 of the exported bytes. */
static void assert_same_in_both(pair *p, const char *sop)
{
	store_index_storage sa, sb;

	assert_exported_hash(p->a, sop, &sa);
	assert_exported_hash(p->b, sop, &sb);
	assert_memory_equal(sa.manifest, sb.manifest, 32);
	assert_memory_equal(sa.instance_hash, sb.instance_hash, 32);
	assert_true(sa.size == sb.size);
}

/* ------------------------------------------------------------ tests */

/* Single frames, multi-frame under the retention cap, tiny frames grouped,
 * encapsulated fragments with inline ones between chunks, and two native
 * syntaxes: the new order builds byte-identical manifests. */
static void test_same_results(void **state)
{
	pair *p = *state;
	static const uint32_t frags[] = { 300000, 40, 70000, 200, 131072 };
	struct {
		pacs_ds *ds;
		const char *ts;
		const char *sop;
	} cases[] = {
		{ image(CT_CLASS, "2.25.901", 512, 512, 1, 1), PACS_TS_EXPLICIT_LE, "2.25.901" },
		{ image(CT_CLASS, "2.25.902", 512, 512, 1, 2), PACS_TS_IMPLICIT_LE, "2.25.902" },
		{ image(SC_MF_CLASS, "2.25.903", 256, 256, 6, 3), PACS_TS_EXPLICIT_LE, "2.25.903" },
		{ image(SC_MF_CLASS, "2.25.904", 64, 64, 37, 4), PACS_TS_EXPLICIT_LE, "2.25.904" },
		{ encapsulated("2.25.905", frags, sizeof(frags) / sizeof(frags[0]), 5), PACS_TS_J2K_LOSSLESS, "2.25.905" },
		{ image(CT_CLASS, "2.25.906", 16, 16, 1, 6), PACS_TS_EXPLICIT_LE, "2.25.906" }, /* all inline */
	};
	store_ingest_cas_stats sa, sb;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		store_ok(p->a, cases[i].ds, cases[i].ts);
		store_ok(p->b, cases[i].ds, cases[i].ts);
		assert_same_in_both(p, cases[i].sop);
		pacs_ds_free(cases[i].ds);
	}
	store_ingest_cas_stats_get(p->a->s, &sa);
	store_ingest_cas_stats_get(p->b->s, &sb);
	assert_true(sa.instances == 6 && sb.instances == 6);
	assert_true(sa.chunks_new == sb.chunks_new);
	assert_true(sa.bytes_new == sb.bytes_new);
	/* all under the 4 MiB cap: hashed from memory in both orders */
	assert_true(sa.rehashed == 0 && sb.rehashed == 0);
}

/* The whole of a small file (quarantine). */
static mem read_all(const char *path)
{
	mem m = { 0 };
	FILE *fp = fopen(path, "rb");
	uint8_t buf[65536];
	size_t n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		assert_int_equal(store_fixture_mem_sink(&m, buf, n), 0);
	fclose(fp);
	return m;
}

/* A refusal (no Study Instance UID: PS3.3 C.7.2.1, Type 1) is quarantined
 * after the puts, in both orders: the same status, the same instance.dcm
 * bytes, whose SHA-256 is the instance hash reason.txt gives. */
static void test_quarantine_same(void **state)
{
	pair *p = *state;
	pacs_ds *ds = image(CT_CLASS, "2.25.915", 512, 512, 1, 15);
	store_fixture_send how = { CALLING, PACS_TS_EXPLICIT_LE, 16381, 4093, 0 };
	pacs_ingest_result ra, rb;
	store_index_storage st;
	char path[256], hex[65];
	uint8_t digest[SHA256_DIGEST_LENGTH];
	mem qa, qb, reason;

	assert_int_equal(pacs_ds_remove(ds, PACS_TAG(0x0020, 0x000D)), 0);
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	assert_int_equal(store_fixture_store(&p->a->ingest, ds, &how, &ra), 0);
	assert_int_equal(store_fixture_store(&p->b->ingest, ds, &how, &rb), 0);
	assert_int_equal(ra.status, PACS_DIMSE_DATA_SET_MISMATCH);
	assert_int_equal(rb.status, ra.status);
	assert_string_equal(ra.comment, rb.comment);
	assert_int_equal(store_index_get(store_ingest_cas_index(p->a->s), "2.25.915", 0, &st), ARCA_ENOTFOUND);

	snprintf(path, sizeof(path), "%s/quarantine/2.25.915/instance.dcm", p->a->root);
	qa = read_all(path);
	snprintf(path, sizeof(path), "%s/quarantine/2.25.915/instance.dcm", p->b->root);
	qb = read_all(path);
	assert_true(qa.len > 512 * 512 * 2);
	assert_int_equal(qa.len, qb.len);
	assert_memory_equal(qa.data, qb.data, qa.len);
	SHA256(qa.data, qa.len, digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	snprintf(path, sizeof(path), "%s/quarantine/2.25.915/reason.txt", p->a->root);
	reason = read_all(path);
	assert_int_equal(store_fixture_mem_sink(&reason, (const uint8_t *)"", 1), 0);
	if (strstr((const char *)reason.data, hex) == NULL)
		fail_msg("reason.txt does not give the SHA-256 of instance.dcm (%s):\n%s", hex, (const char *)reason.data);
	free(qa.data);
	free(qb.data);
	free(reason.data);
	pacs_ds_free(ds);
}

/* Above the retention cap (chunk_max 256 KiB, 1 MiB of frames): the
 * commit waits for the puts and reads the chunks back, in both archives,
 * with the same result; below it the same archive hashes from memory. */
static void test_above_cap(void **state)
{
	pair *p = *state;
	store_ingest_cas_options o;
	store_ingest_cas_stats sa, sb;
	pacs_ds *big = image(SC_MF_CLASS, "2.25.911", 256, 256, 8, 11); /* 8 x 128 KiB */
	pacs_ds *small = image(SC_MF_CLASS, "2.25.912", 256, 256, 2, 21); /* 2 x 128 KiB = the cap */
	pacs_ds *split = image(SC_MF_CLASS, "2.25.913", 512, 400, 2, 31); /* 400 KiB frames, split */

	store_ingest_cas_free(p->a->s);
	store_ingest_cas_free(p->b->s);
	store_ingest_cas_options_init(&o);
	o.chunk_max = 256 * 1024;
	store_fixture_open(p->a, &o);
	o.wait_puts_first = true;
	store_fixture_open(p->b, &o);

	store_ok(p->a, big, PACS_TS_EXPLICIT_LE);
	store_ok(p->b, big, PACS_TS_EXPLICIT_LE);
	assert_same_in_both(p, "2.25.911");
	store_ingest_cas_stats_get(p->a->s, &sa);
	assert_true(sa.rehashed == 1);

	store_ok(p->a, small, PACS_TS_EXPLICIT_LE);
	store_ok(p->b, small, PACS_TS_EXPLICIT_LE);
	assert_same_in_both(p, "2.25.912");
	store_ingest_cas_stats_get(p->a->s, &sa);
	assert_true(sa.rehashed == 1);

	store_ok(p->a, split, PACS_TS_EXPLICIT_LE);
	store_ok(p->b, split, PACS_TS_EXPLICIT_LE);
	assert_same_in_both(p, "2.25.913");
	store_ingest_cas_stats_get(p->a->s, &sa);
	store_ingest_cas_stats_get(p->b->s, &sb);
	assert_true(sa.rehashed == 2 && sb.rehashed == 2);
	assert_true(sa.instances == 3 && sb.instances == 3);
	pacs_ds_free(big);
	pacs_ds_free(small);
	pacs_ds_free(split);
}

/* chunks/tmp replaced by a file: every new chunk's put fails (mkostemp:
 * ENOTDIR, even for root).  The put of a single-frame instance runs on the
 * pool while the commit hashes it; whichever ends first, the instance
 * fails with the put's message and nothing is indexed.  With the
 * directory back the archive stores again. */
static void test_put_fails(void **state)
{
	fixture *f = *state;
	char tmp[160], aside[170];
	pacs_ingest_result res;
	store_index_storage st;
	store_ingest_cas_stats stats;
	store_fixture_send how = { CALLING, PACS_TS_EXPLICIT_LE, 16381, 4093, 0 };
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s/chunks/tmp", f->root);
	snprintf(aside, sizeof(aside), "%s/chunks/tmp.aside", f->root);
	assert_int_equal(rename(tmp, aside), 0);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	fclose(fp);
	for (unsigned i = 0; i < 12; i++) {
		char sop[32];
		pacs_ds *ds;
		int rc;
		snprintf(sop, sizeof(sop), "2.25.92%u", i);
		ds = image(CT_CLASS, sop, 512, 512, 1, 100 + i);
		memset(&res, 0, sizeof(res));
		rc = store_fixture_store(&f->ingest, ds, &how, &res);
		assert_true(rc < 0);
		if (strstr(arca_error_last(), "temp file") == NULL)
			fail_msg("instance %u failed with \"%s\", not the put's message", i, arca_error_last());
		assert_int_equal(store_index_get(store_ingest_cas_index(f->s), sop, 0, &st), ARCA_ENOTFOUND);
		pacs_ds_free(ds);
	}
	store_ingest_cas_stats_get(f->s, &stats);
	assert_true(stats.instances == 0);
	assert_true(stats.timed == 0);

	assert_int_equal(unlink(tmp), 0);
	assert_int_equal(rename(aside, tmp), 0);
	{
		pacs_ds *ds = image(CT_CLASS, "2.25.929", 512, 512, 1, 100);
		store_ok(f, ds, PACS_TS_EXPLICIT_LE);
		assert_exported_hash(f, "2.25.929", &st);
		pacs_ds_free(ds);
	}
}

/* An association aborted in the middle of a multi-frame instance whose
 * puts are on the pool: nothing indexed, everything freed (ASan), and the
 * same instance stores afterwards. */
static void test_abort_in_flight(void **state)
{
	fixture *f = *state;
	pacs_ds *ds = image(SC_MF_CLASS, "2.25.931", 512, 512, 6, 40);
	mem m = { 0 };
	pacs_write_opts wo;
	pacs_ingest_result res;
	store_index_storage st;
	store_fixture_send how = { CALLING, PACS_TS_EXPLICIT_LE, 16381, 4093, 0 };

	pacs_write_opts_init(&wo);
	wo.ts_uid = PACS_TS_EXPLICIT_LE;
	assert_int_equal(pacs_write_dataset(ds, &wo, store_fixture_mem_sink, &m), 0);
	for (unsigned k = 1; k <= 4; k++) {
		how.stop_after = m.len * k / 5;
		assert_int_equal(store_fixture_stream(&f->ingest, m.data, m.len, "2.25.931", SC_MF_CLASS, &how, &res), 0);
		assert_int_equal(store_index_get(store_ingest_cas_index(f->s), "2.25.931", 0, &st), ARCA_ENOTFOUND);
	}
	store_ok(f, ds, PACS_TS_EXPLICIT_LE);
	assert_exported_hash(f, "2.25.931", &st);
	free(m.data);
	pacs_ds_free(ds);
}

/* Associations storing instances of one study at once (the C-STORE SCP's
 * workers): each one's hash is the SHA-256 of its exported bytes. */
typedef struct worker_arg {
	fixture *f;
	unsigned id;
} worker_arg;

enum { THREADS = 4, EACH = 6 };

static void *worker(void *arg)
{
	worker_arg *w = arg;

	for (unsigned i = 0; i < EACH; i++) {
		char sop[32];
		pacs_ds *ds;
		snprintf(sop, sizeof(sop), "2.25.94%u.%u", w->id, i);
		/* every third one a multi-frame: several puts in flight */
		ds = i % 3 == 2 ? image(SC_MF_CLASS, sop, 256, 256, 5, w->id * 50 + i)
				: image(CT_CLASS, sop, 512, 512, 1, w->id * 50 + i);
		store_ok(w->f, ds, PACS_TS_EXPLICIT_LE);
		pacs_ds_free(ds);
	}
	return NULL;
}

static void test_concurrent_study(void **state)
{
	fixture *f = *state;
	pthread_t th[THREADS];
	worker_arg args[THREADS];
	store_ingest_cas_stats stats;
	store_index_storage st;

	for (unsigned i = 0; i < THREADS; i++) {
		args[i] = (worker_arg){ f, i };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	store_ingest_cas_stats_get(f->s, &stats);
	assert_true(stats.instances == THREADS * EACH);
	assert_true(stats.rehashed == 0);
	for (unsigned i = 0; i < THREADS; i++) {
		for (unsigned j = 0; j < EACH; j++) {
			char sop[32];
			snprintf(sop, sizeof(sop), "2.25.94%u.%u", i, j);
			assert_exported_hash(f, sop, &st);
			assert_string_equal(st.calling_ae, CALLING);
		}
	}
}

/* The breakdown: one timed instance per stored one, no stage negative,
 * the stages adding up to the total (they follow one another), and the
 * log line naming them. */
static void test_breakdown(void **state)
{
	fixture *f = *state;
	store_ingest_cas_stats st;
	char line[2048];
	double sum;

	for (unsigned i = 0; i < 5; i++) {
		char sop[32];
		pacs_ds *ds;
		snprintf(sop, sizeof(sop), "2.25.95%u", i);
		ds = image(CT_CLASS, sop, 512, 512, 1, 500 + i);
		store_ok(f, ds, PACS_TS_EXPLICIT_LE);
		pacs_ds_free(ds);
	}
	store_ingest_cas_stats_get(f->s, &st);
	assert_true(st.timed == 5);
	assert_true(st.lat_handoff >= 0 && st.lat_prepare >= 0 && st.lat_hash > 0 && st.lat_puts >= 0 &&
		    st.lat_manifest > 0 && st.lat_queue >= 0 && st.lat_sync > 0 && st.lat_synced >= 0 &&
		    st.lat_index > 0 && st.lat_hook >= 0 && st.lat_release >= 0);
	sum = st.lat_handoff + st.lat_prepare + st.lat_hash + st.lat_puts + st.lat_manifest + st.lat_queue +
	      st.lat_sync + st.lat_synced + st.lat_index + st.lat_hook + st.lat_release;
	assert_true(st.lat_total > 0);
	assert_true(sum > st.lat_total * 0.999 && sum < st.lat_total * 1.001);
	store_ingest_cas_stats_format(f->s, line, sizeof(line));
	print_message("# %s\n", line);
	assert_non_null(strstr(line, "latency per instance (ms, mean of 5): to commit "));
	assert_non_null(strstr(line, ", hash "));
	assert_non_null(strstr(line, ", sync "));
	assert_non_null(strstr(line, "; total "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_results, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_above_cap, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_quarantine_same, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_put_fails, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_abort_in_flight, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_study, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_breakdown, setup, store_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
