/* store_verify_test.c - the verify walk (store_verify.h) and gc
 * (store_gc.h) on archives filled through the content-addressed ingest's
 * pacs_ingest operations, as the C-STORE SCP fills them, then damaged on
 * purpose: every fault must be found, named (instance, study, chunk) and
 * counted, and nothing that is not a fault reported as one; gc must remove
 * exactly the unreferenced chunks, keep what any row (kept versions
 * included) references, and refuse while another opener has the store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_dimse.h"
#include "pacs_ingest.h"
#include "pacs_read.h"
#include "pacs_ts.h"
#include "pacs_write.h"
#include "store_cas.h"
#include "store_gc.h"
#include "store_index.h"
#include "store_ingest.h"
#include "store_instance.h"
#include "store_verify.h"
#include "store_fixture.h"

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define ROWS 200 /* 80,000 bytes of pixels: one chunk of their own */
#define PX_LEN ((size_t)ROWS * ROWS * 2)

/* store_fixture.h: a temp archive, the ingest opened as arcad opens it;
 * f->index is its index database */
typedef store_fixture fixture;

static int setup(void **state)
{
	*state = store_fixture_new("verify");
	return 0;
}

/* ------------------------------------------------------------ storing */

static void fill_pixels(uint8_t *p, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < PX_LEN; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static pacs_ds *ct(const char *study, const char *sop, unsigned seed)
{
	uint8_t *px = malloc(PX_LEN);
	char series[80];
	pacs_ds *ds;

	snprintf(series, sizeof(series), "%s.1", study);
	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0016), PACS_VR_UI, CT_CLASS), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0018), PACS_VR_UI, sop), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0060), PACS_VR_CS, "CT"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0010, 0x0020), PACS_VR_LO, "P-1"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x000D), PACS_VR_UI, study), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x000E), PACS_VR_UI, series), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0002), 1), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0028, 0x0004), PACS_VR_CS, "MONOCHROME2"), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0010), ROWS), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0011), ROWS), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0100), 16), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0101), 16), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0102), 15), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0103), 0), 0);
	fill_pixels(px, seed);
	assert_int_equal(pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, px, (uint32_t)PX_LEN), 0);
	free(px);
	return ds;
}

/* The address of the pixel chunk of seed: SHA-256 of the pixel bytes. */
static void pixel_chunk(unsigned seed, uint8_t hash[STORE_CAS_HASH_LEN])
{
	uint8_t *px = malloc(PX_LEN);

	fill_pixels(px, seed);
	assert_int_equal(store_cas_hash(px, PX_LEN, hash), 0);
	free(px);
}

/* As the C-STORE SCP does: begin, the data set through a reader whose
 * bulk events go to the ingest, commit; asserts Success. */
static void store(fixture *f, const char *study, const char *sop, unsigned seed)
{
	store_fixture_send how = { "TEST", PACS_TS_EXPLICIT_LE, 0, 0, 0 };
	pacs_ds *ds = ct(study, sop, seed);

	store_fixture_store_ok(&f->ingest, ds, &how);
	pacs_ds_free(ds);
}

static void chunk_file(fixture *f, const uint8_t hash[STORE_CAS_HASH_LEN], char *path, size_t size)
{
	char hex[STORE_CAS_HEX_LEN + 1];

	store_cas_hash_to_hex(hash, hex);
	snprintf(path, size, "%s/chunks/%.2s/%s", f->root, hex, hex); /* docs/storage-format.md 1 */
}

/* ------------------------------------------------------------ the walk */

#define MAX_FAULTS 32

typedef struct seen {
	size_t n_faults;
	store_verify_what what[MAX_FAULTS];
	char sop[MAX_FAULTS][65], study[MAX_FAULTS][65];
	uint8_t chunk[MAX_FAULTS][STORE_CAS_HASH_LEN];
	char message[MAX_FAULTS][512];
	size_t n_studies;
	char study_uid[8][65];
	size_t instances[8], damaged[8];
	int hash_rc[8];
	uint8_t hash[8][STORE_CAS_HASH_LEN], first2[8][STORE_CAS_HASH_LEN];
	bool progress;
} seen;

static void on_fault(void *ctx, const store_verify_fault *fl)
{
	seen *s = ctx;
	size_t i = s->n_faults++;

	assert_true(i < MAX_FAULTS);
	s->what[i] = fl->what;
	snprintf(s->sop[i], 65, "%s", fl->sop != NULL ? fl->sop : "");
	snprintf(s->study[i], 65, "%s", fl->study != NULL ? fl->study : "");
	if (fl->has_chunk)
		memcpy(s->chunk[i], fl->chunk, STORE_CAS_HASH_LEN);
	snprintf(s->message[i], 512, "%s", fl->message);
}

static void on_study(void *ctx, const store_verify_study *st)
{
	seen *s = ctx;
	size_t i = s->n_studies++;

	assert_true(i < 8);
	snprintf(s->study_uid[i], 65, "%s", store_verify_study_uid(st));
	s->instances[i] = store_verify_study_instances(st);
	s->damaged[i] = store_verify_study_damaged(st);
	s->hash_rc[i] = store_verify_study_hash(st, s->hash[i]);
	if (s->instances[i] >= 2 && s->damaged[i] == 0)
		assert_int_equal(store_verify_study_hash_first(st, 2, s->first2[i]), 0);
	assert_int_equal(store_verify_study_hash_first(st, s->instances[i] + 1, s->first2[7]), ARCA_EINVAL);
}

static void on_progress(void *ctx, const store_verify_progress *p)
{
	seen *s = ctx;

	assert_true(p->rows_total >= p->rows_done || p->walking_store);
	s->progress = true;
}

static void run(fixture *f, seen *s, store_verify_stats *vs, const char *study)
{
	store_verify_options vo;

	memset(s, 0, sizeof(*s));
	store_verify_options_init(&vo);
	vo.index = f->index;
	vo.study = study;
	vo.threads = 2;
	vo.on_fault = on_fault;
	vo.on_study = on_study;
	vo.on_progress = on_progress;
	vo.ctx = s;
	if (store_verify_run(store_ingest_cas_store(f->s), &vo, vs) != 0)
		fail_msg("store_verify_run: %s", arca_error_last());
}

static size_t study_index(const seen *s, const char *uid)
{
	for (size_t i = 0; i < s->n_studies; i++)
		if (strcmp(s->study_uid[i], uid) == 0)
			return i;
	fail_msg("study %s not reported", uid);
	return 0;
}

/* Study A: 3 instances, two of them with the same pixels (one chunk);
 * study B: 1 instance. */
static void fill(fixture *f)
{
	store(f, "2.25.1", "2.25.1.1.1", 1);
	store(f, "2.25.1", "2.25.1.1.2", 2);
	store(f, "2.25.1", "2.25.1.1.3", 1); /* same pixels as 2.25.1.1.1 */
	store(f, "2.25.2", "2.25.2.1.1", 3);
}

static void test_clean(void **state)
{
	fixture *f = *state;
	store_verify_stats vs;
	store_instance_ref refs[3];
	uint8_t want[STORE_CAS_HASH_LEN];
	store_index_storage st[3];
	const char *sops[3] = { "2.25.1.1.1", "2.25.1.1.2", "2.25.1.1.3" };
	seen s;
	size_t a;

	fill(f);
	run(f, &s, &vs, NULL);
	assert_int_equal(s.n_faults, 0);
	assert_int_equal(vs.studies, 2);
	assert_int_equal(vs.instances, 4);
	assert_int_equal(vs.versions, 0);
	assert_int_equal(vs.damaged_instances, 0);
	assert_int_equal(vs.index_faults, 0);
	assert_int_equal(vs.referenced_chunks, 4 + 3); /* 4 manifests, 3 distinct pixel chunks */
	assert_int_equal(vs.unreferenced_chunks, 0);
	assert_int_equal(vs.chunks_read, 4);
	assert_true(vs.instance_bytes > 4 * PX_LEN);
	assert_true(vs.referenced_stored_bytes > 0);
	assert_true(s.progress);
	/* the study hash: recomputed from the store, equal to the one over
	 * the index's instance hashes */
	a = study_index(&s, "2.25.1");
	assert_int_equal(s.instances[a], 3);
	assert_int_equal(s.hash_rc[a], 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_index_get(store_ingest_cas_index(f->s), sops[i], 0, &st[i]), 0);
		refs[i].sop_instance_uid = sops[i];
		memcpy(refs[i].hash, st[i].instance_hash, STORE_CAS_HASH_LEN);
	}
	assert_int_equal(store_instance_study_hash(refs, 3, want), 0);
	assert_memory_equal(s.hash[a], want, STORE_CAS_HASH_LEN);
	/* the first two the index received: the study as it was then */
	assert_int_equal(store_instance_study_hash(refs, 2, want), 0);
	assert_memory_equal(s.first2[a], want, STORE_CAS_HASH_LEN);

	/* one study only: no walk of the store */
	run(f, &s, &vs, "2.25.2");
	assert_int_equal(s.n_faults, 0);
	assert_int_equal(s.n_studies, 1);
	assert_int_equal(vs.instances, 1);
	assert_int_equal(vs.unreferenced_chunks, 0);
}

static void test_flipped_shared_chunk(void **state)
{
	fixture *f = *state;
	uint8_t px[STORE_CAS_HASH_LEN];
	char path[256];
	store_verify_stats vs;
	seen s;
	size_t a, b, named = 0;

	fill(f);
	pixel_chunk(1, px);
	chunk_file(f, px, path, sizeof(path));
	store_fixture_flip_byte(path);
	run(f, &s, &vs, NULL);
	/* both instances that share the chunk are named, with the chunk */
	assert_int_equal(vs.damaged_instances, 2);
	assert_int_equal(vs.damaged_studies, 1);
	for (size_t i = 0; i < s.n_faults; i++) {
		assert_int_equal(s.what[i], STORE_VERIFY_CHUNK_DAMAGED);
		assert_string_equal(s.study[i], "2.25.1");
		assert_memory_equal(s.chunk[i], px, STORE_CAS_HASH_LEN);
		assert_non_null(strstr(s.message[i], "content mismatch"));
		named += strcmp(s.sop[i], "2.25.1.1.1") == 0 || strcmp(s.sop[i], "2.25.1.1.3") == 0;
	}
	assert_int_equal(s.n_faults, 2);
	assert_int_equal(named, 2);
	a = study_index(&s, "2.25.1");
	b = study_index(&s, "2.25.2");
	assert_int_equal(s.damaged[a], 2);
	assert_int_equal(s.hash_rc[a], ARCA_ECRYPTO);
	assert_int_equal(s.damaged[b], 0);
	assert_int_equal(s.hash_rc[b], 0);
}

static void test_missing_chunk_and_manifest(void **state)
{
	fixture *f = *state;
	uint8_t px[STORE_CAS_HASH_LEN], man[STORE_CAS_HASH_LEN];
	char path[256];
	store_verify_stats vs;
	seen s;

	fill(f);
	pixel_chunk(2, px);
	chunk_file(f, px, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	store_fixture_manifest_of(f, "2.25.2.1.1", man);
	chunk_file(f, man, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	run(f, &s, &vs, NULL);
	assert_int_equal(s.n_faults, 2);
	assert_int_equal(vs.damaged_instances, 2);
	for (size_t i = 0; i < 2; i++) {
		if (s.what[i] == STORE_VERIFY_CHUNK_MISSING) {
			assert_string_equal(s.sop[i], "2.25.1.1.2");
			assert_memory_equal(s.chunk[i], px, STORE_CAS_HASH_LEN);
		} else {
			assert_int_equal(s.what[i], STORE_VERIFY_MANIFEST_MISSING);
			assert_string_equal(s.sop[i], "2.25.2.1.1");
			assert_string_equal(s.study[i], "2.25.2");
			assert_memory_equal(s.chunk[i], man, STORE_CAS_HASH_LEN);
		}
	}
	/* the pixel chunk of the instance whose manifest is gone is garbage now */
	assert_int_equal(vs.unreferenced_chunks, 1);
}

static void test_garbage_stray_and_index(void **state)
{
	fixture *f = *state;
	uint8_t junk[3000], h[STORE_CAS_HASH_LEN];
	char path[256];
	store_verify_stats vs;
	sqlite3 *db;
	seen s;
	FILE *fp;

	fill(f);
	memset(junk, 0x5A, sizeof(junk));
	assert_int_equal(store_cas_put(store_ingest_cas_store(f->s), junk, sizeof(junk), h, NULL), 0);
	assert_int_equal(store_cas_sync(store_ingest_cas_store(f->s)), 0);
	run(f, &s, &vs, NULL);
	assert_int_equal(s.n_faults, 0); /* garbage is not damage */
	assert_int_equal(vs.unreferenced_chunks, 1);
	assert_int_equal(vs.unreferenced_manifests, 0);
	assert_int_equal(vs.unreferenced_damaged, 0);

	/* damaged garbage is a fault: a later put of the same bytes would dedup on it */
	chunk_file(f, h, path, sizeof(path));
	store_fixture_flip_byte(path);
	snprintf(path, sizeof(path), "%s/chunks/zz", f->root);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	/* a count the index keeps, made wrong */
	assert_int_equal(sqlite3_open(f->index, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE series SET n_instances = 7 WHERE series_uid = '2.25.2.1'", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	run(f, &s, &vs, NULL);
	assert_int_equal(vs.unreferenced_damaged, 1);
	assert_int_equal(vs.stray, 1);
	assert_true(vs.index_faults >= 1);
	{
		bool unref = false, stray = false, index = false;
		for (size_t i = 0; i < s.n_faults; i++) {
			unref |= s.what[i] == STORE_VERIFY_UNREFERENCED_DAMAGED && memcmp(s.chunk[i], h, 32) == 0;
			stray |= s.what[i] == STORE_VERIFY_STRAY && strstr(s.message[i], "chunks/zz") != NULL;
			index |= s.what[i] == STORE_VERIFY_INDEX &&
				 strstr(s.message[i], "series 2.25.2.1: Number of Series Related Instances is 7") != NULL;
		}
		assert_true(unref);
		assert_true(stray);
		assert_true(index);
	}
	assert_int_equal(vs.damaged_instances, 0);
}

static void test_manifest_mismatch(void **state)
{
	fixture *f = *state;
	store_verify_stats vs;
	sqlite3 *db;
	seen s;

	fill(f);
	assert_int_equal(sqlite3_open(f->index, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE instances SET size = size + 1 WHERE sop_uid = '2.25.1.1.2'", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	run(f, &s, &vs, NULL);
	assert_int_equal(s.n_faults, 1);
	assert_int_equal(s.what[0], STORE_VERIFY_MANIFEST_MISMATCH);
	assert_string_equal(s.sop[0], "2.25.1.1.2");
	assert_int_equal(vs.damaged_instances, 1);

	/* a series filed under another UID than its instances' data sets say */
	assert_int_equal(sqlite3_open(f->index, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE instances SET size = size - 1 WHERE sop_uid = '2.25.1.1.2';"
				      "UPDATE series SET series_uid = '2.25.2.9' WHERE series_uid = '2.25.2.1'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	run(f, &s, &vs, NULL);
	assert_int_equal(s.n_faults, 1);
	assert_int_equal(s.what[0], STORE_VERIFY_MANIFEST_MISMATCH);
	assert_string_equal(s.sop[0], "2.25.2.1.1");
	assert_non_null(strstr(s.message[0], "Series Instance UID is 2.25.2.1, the index files it under 2.25.2.9"));
}

/* Sealed chunks (AES-256-GCM at rest): read with the store's key, and a
 * flipped byte fails the tag; without the key every chunk is unreadable,
 * named as such, never as intact. */
static void test_encrypted(void **state)
{
	fixture *f = *state;
	store_ingest_cas_options o;
	store_verify_stats vs;
	uint8_t px[STORE_CAS_HASH_LEN];
	store_cas_info info;
	char path[256], key[128], aside[160];
	seen s;

	store_ingest_cas_free(f->s);
	store_ingest_cas_options_init(&o);
	o.encrypt = true;
	assert_int_equal(store_ingest_cas_open(&f->s, f->root, &o), 0);
	store_ingest_cas_ingest(f->s, &f->ingest);
	fill(f);
	pixel_chunk(2, px);
	assert_int_equal(store_cas_stat(store_ingest_cas_store(f->s), px, &info), 0);
	assert_true(info.encrypted);
	run(f, &s, &vs, NULL);
	assert_int_equal(s.n_faults, 0);
	assert_int_equal(vs.instances, 4);

	chunk_file(f, px, path, sizeof(path));
	store_fixture_flip_byte(path);
	run(f, &s, &vs, NULL);
	assert_int_equal(s.n_faults, 1);
	assert_int_equal(s.what[0], STORE_VERIFY_CHUNK_DAMAGED);
	assert_string_equal(s.sop[0], "2.25.1.1.2");
	assert_memory_equal(s.chunk[0], px, STORE_CAS_HASH_LEN);
	store_fixture_flip_byte(path); /* back as it was */

	/* a store opened without its key file reads none of its chunks */
	store_ingest_cas_free(f->s);
	snprintf(key, sizeof(key), "%s/" STORE_CAS_KEY_FILE, f->root);
	snprintf(aside, sizeof(aside), "%s.aside", key);
	assert_int_equal(rename(key, aside), 0);
	assert_int_equal(store_ingest_cas_open(&f->s, f->root, NULL), 0);
	store_ingest_cas_ingest(f->s, &f->ingest);
	run(f, &s, &vs, NULL);
	assert_int_equal(vs.damaged_instances, 4);
	assert_int_equal(vs.damaged_studies, 2);
}

/* ------------------------------------------------------------ gc */

static void reopen_plain(fixture *f, store_cas **cas)
{
	store_cas_options co;

	store_ingest_cas_free(f->s);
	f->s = NULL;
	store_cas_options_init(&co);
	co.sync = STORE_CAS_SYNC_DEFERRED;
	assert_int_equal(store_cas_open(cas, f->root, &co), 0);
}

static void test_gc(void **state)
{
	fixture *f = *state;
	uint8_t junk[3000], h[STORE_CAS_HASH_LEN], px[STORE_CAS_HASH_LEN];
	store_gc_options go;
	store_gc_stats gs;
	store_cas *cas = NULL, *other = NULL;
	bool exists;

	fill(f);
	/* a second version of 2.25.2.1.1 (other pixels): kept beside the first */
	store(f, "2.25.2", "2.25.2.1.1", 4);
	memset(junk, 0x33, sizeof(junk));
	assert_int_equal(store_cas_put(store_ingest_cas_store(f->s), junk, sizeof(junk), h, NULL), 0);
	reopen_plain(f, &cas);
	store_gc_options_init(&go);
	go.index = f->index;

	/* another opener: refused, nothing removed */
	assert_int_equal(store_cas_open(&other, f->root, NULL), 0);
	assert_int_equal(store_gc_run(cas, &go, &gs), ARCA_EAGAIN);
	assert_non_null(strstr(arca_error_last(), "open in another process"));
	/* a dry run is fine beside it */
	go.dry_run = true;
	assert_int_equal(store_gc_run(cas, &go, &gs), 0);
	assert_int_equal(gs.removed, 1);
	assert_int_equal(store_cas_exists(cas, h, &exists), 0);
	assert_true(exists);
	store_cas_free(other);

	go.dry_run = false;
	assert_int_equal(store_gc_run(cas, &go, &gs), 0);
	assert_int_equal(gs.rows, 5); /* 4 current + 1 kept version */
	assert_int_equal(gs.removed, 1);
	assert_int_equal(gs.removed_manifests, 0);
	assert_int_equal(gs.live_chunks, 5 + 4); /* 5 manifests, pixels 1 2 3 4 */
	assert_int_equal(store_cas_exists(cas, h, &exists), 0);
	assert_false(exists);
	/* the kept version's pixels (seed 3) and the shared chunk survive */
	pixel_chunk(3, px);
	assert_int_equal(store_cas_verify(cas, px), 0);
	pixel_chunk(1, px);
	assert_int_equal(store_cas_verify(cas, px), 0);
	/* a second run finds nothing */
	assert_int_equal(store_gc_run(cas, &go, &gs), 0);
	assert_int_equal(gs.removed, 0);
	store_cas_free(cas);
}

/* A chunk file's age set back. */
static void age(fixture *f, const uint8_t h[STORE_CAS_HASH_LEN], long seconds)
{
	struct timespec ts[2];
	char path[PATH_MAX];

	chunk_file(f, h, path, sizeof(path));
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= seconds;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* gc --online beside another opener (arcad): only garbage untouched for
 * the grace period goes; a put that finds an old unreferenced chunk makes
 * it young again; what goes can be put again; a crash in the middle of a
 * removal (the file under gc's temp name) gives the chunk back at the
 * next open. */
static void test_gc_online(void **state)
{
	fixture *f = *state;
	uint8_t junk[3000], junk2[3000], junk3[3000], h1[STORE_CAS_HASH_LEN], h2[STORE_CAS_HASH_LEN],
		h3[STORE_CAS_HASH_LEN], px[STORE_CAS_HASH_LEN], again[STORE_CAS_HASH_LEN];
	char path[PATH_MAX], tmp[PATH_MAX], hex[STORE_CAS_HEX_LEN + 1];
	store_gc_options go;
	store_gc_stats gs;
	store_cas *cas = NULL, *other = NULL;
	bool exists, is_new = false;

	fill(f);
	memset(junk, 0x11, sizeof(junk));
	memset(junk2, 0x22, sizeof(junk2));
	memset(junk3, 0x44, sizeof(junk3));
	assert_int_equal(store_cas_put(store_ingest_cas_store(f->s), junk, sizeof(junk), h1, NULL), 0);
	assert_int_equal(store_cas_put(store_ingest_cas_store(f->s), junk2, sizeof(junk2), h2, NULL), 0);
	assert_int_equal(store_cas_put(store_ingest_cas_store(f->s), junk3, sizeof(junk3), h3, NULL), 0);
	reopen_plain(f, &cas);
	/* the running server's opener */
	assert_int_equal(store_cas_open(&other, f->root, NULL), 0);
	store_gc_options_init(&go);
	go.index = f->index;
	go.online = true;
	go.grace_s = 3600;

	/* everything young: nothing goes, three stay */
	assert_int_equal(store_gc_run(cas, &go, &gs), 0);
	assert_int_equal(gs.removed, 0);
	assert_int_equal(gs.young, 3);

	/* h1 and h2 two hours old; h2 then found again by a put (dedup): it
	 * is young again and stays, h1 goes, h3 stays */
	age(f, h1, 7200);
	age(f, h2, 7200);
	pixel_chunk(1, px);
	age(f, px, 7200); /* referenced: old or not, never removed */
	assert_int_equal(store_cas_put(other, junk2, sizeof(junk2), again, &is_new), 0);
	assert_false(is_new);
	go.dry_run = true;
	assert_int_equal(store_gc_run(cas, &go, &gs), 0);
	assert_int_equal(gs.removed, 1);
	assert_int_equal(gs.young, 2);
	assert_int_equal(store_cas_exists(cas, h1, &exists), 0);
	assert_true(exists);
	go.dry_run = false;
	assert_int_equal(store_gc_run(cas, &go, &gs), 0);
	assert_int_equal(gs.removed, 1);
	assert_int_equal(gs.young, 2);
	assert_int_equal(store_cas_exists(cas, h1, &exists), 0);
	assert_false(exists);
	assert_int_equal(store_cas_verify(cas, h2), 0);
	assert_int_equal(store_cas_verify(cas, h3), 0);
	assert_int_equal(store_cas_verify(cas, px), 0);
	/* removed, then put again: stored anew */
	assert_int_equal(store_cas_put(other, junk, sizeof(junk), again, &is_new), 0);
	assert_true(is_new);
	assert_int_equal(store_cas_sync(other), 0);
	assert_int_equal(store_cas_verify(cas, h1), 0);

	/* a young chunk is never moved: remove_idle with a cutoff before it */
	{
		bool removed = true;
		assert_int_equal(store_cas_remove_idle(cas, h3, 1, &removed), 0);
		assert_false(removed);
		assert_int_equal(store_cas_verify(cas, h3), 0);
	}
	store_cas_free(other);
	store_cas_free(cas);

	/* a crash between gc's rename and its decision: the chunk under
	 * gc's temp name is put back by the next open */
	chunk_file(f, h3, path, sizeof(path));
	store_cas_hash_to_hex(h3, hex);
	snprintf(tmp, sizeof(tmp), "%s/chunks/tmp/tmp-%s-gc0001", f->root, hex);
	assert_int_equal(rename(path, tmp), 0);
	reopen_plain(f, &cas);
	assert_int_equal(store_cas_verify(cas, h3), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	store_cas_free(cas);
}

static void test_gc_refuses_unreadable_manifest(void **state)
{
	fixture *f = *state;
	uint8_t man[STORE_CAS_HASH_LEN], px[STORE_CAS_HASH_LEN];
	char path[256];
	store_gc_options go;
	store_gc_stats gs;
	store_cas *cas = NULL;

	fill(f);
	store_fixture_manifest_of(f, "2.25.2.1.1", man);
	reopen_plain(f, &cas);
	chunk_file(f, man, path, sizeof(path));
	store_fixture_flip_byte(path);
	store_gc_options_init(&go);
	go.index = f->index;
	/* its pixel chunk (seed 3) looks unreferenced, but must not go */
	pixel_chunk(3, px);
	assert_true(store_gc_run(cas, &go, &gs) < 0);
	assert_non_null(strstr(arca_error_last(), "cannot be read"));
	assert_int_equal(gs.removed, 0);
	assert_int_equal(store_cas_verify(cas, px), 0);
	go.force = true;
	assert_int_equal(store_gc_run(cas, &go, &gs), 0);
	assert_int_equal(gs.removed, 1);
	store_cas_free(cas);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flipped_shared_chunk, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_missing_chunk_and_manifest, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_stray_and_index, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_manifest_mismatch, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_encrypted, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_gc, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_gc_online, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_gc_refuses_unreadable_manifest, setup, store_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
