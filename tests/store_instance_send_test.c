/* store_instance_send_test.c - the retrieve read path (store_instance_send,
 * behind C-GET and C-MOVE): instances stored through the content-addressed
 * ingest exactly as the C-STORE SCP stores them, then sent in every native
 * transfer syntax, must give byte for byte what the full path gives (the
 * instance rebuilt as Part 10 with its instance hash checked, read back,
 * and written as a data set), encapsulated pixel data must be refused
 * ARCA_EUNSUPPORTED before any byte when it would need a codec, and a
 * damaged chunk must fail the send before any of its bytes reach the
 * sink.  The real samples ($ARCA_SAMPLES) go through the same comparison
 * when the folder is there. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
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
#include "store_fixture.h"

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define STUDY_UID "2.25.200"
#define SERIES_UID "2.25.200.1"

static const char *const native_ts[] = {
	PACS_TS_EXPLICIT_LE,
	PACS_TS_IMPLICIT_LE,
	PACS_TS_EXPLICIT_BE, /* retired, still spoken */
	PACS_TS_DEFLATED_LE,
};

/* store_fixture.h: a temp archive, the ingest opened as arcad opens it */
typedef store_fixture fixture;
typedef store_fixture_mem mem;

static int setup(void **state)
{
	*state = store_fixture_new("send");
	return 0;
}

/* ------------------------------------------------------------ data */

static const store_fixture_study study = { "P-0002", STUDY_UID, SERIES_UID, NULL };

static pacs_ds *image(const char *sop, unsigned rows, unsigned cols, unsigned frames)
{
	return store_fixture_image(&study, CT_CLASS, sop, rows, cols, frames);
}

/* Native 16-bit pixel data of rows x cols x frames. */
static pacs_ds *native(const char *sop, unsigned rows, unsigned cols, unsigned frames, unsigned seed)
{
	pacs_ds *ds = image(sop, rows, cols, frames);
	size_t n = (size_t)rows * cols * 2 * frames;
	uint8_t *px = malloc(n);

	store_fixture_fill_pixels(px, n, seed);
	assert_int_equal(pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, px, (uint32_t)n), 0);
	free(px);
	return ds;
}

/* ------------------------------------------------------------ storing */

/* The data set encoded in ts as a peer sends it, in PDV-sized slices into
 * the ingest, committed.  false when the reader or the ingest refused it
 * (samples only). */
static bool try_store_ds(fixture *f, const pacs_ds *ds, const char *ts)
{
	store_fixture_send how = { "MODALITY", ts, 16384, 0, 0 };
	pacs_ingest_result res;

	return store_fixture_store(&f->ingest, ds, &how, &res) == 0 && res.status == PACS_DIMSE_SUCCESS;
}

static void store_ds(fixture *f, const pacs_ds *ds, const char *ts)
{
	store_fixture_send how = { "MODALITY", ts, 16384, 0, 0 };

	store_fixture_store_ok(&f->ingest, ds, &how);
}

/* ------------------------------------------------------------ the check */

/* The full path: rebuilt (instance hash checked), read back, written. */
static mem full_path(store_cas *cas, const uint8_t manifest[STORE_CAS_HASH_LEN], const char *ts)
{
	uint8_t *p10 = NULL;
	size_t len = 0;
	pacs_read_opts ro;
	pacs_write_opts wo;
	pacs_ds *ds = NULL;
	mem m = { 0 };

	if (store_instance_read(cas, manifest, &p10, &len) != 0)
		fail_msg("rebuild: %s", arca_error_last());
	pacs_read_opts_init(&ro);
	assert_int_equal(pacs_read_buffer(&ds, p10, len, &ro), 0);
	free(p10);
	pacs_write_opts_init(&wo);
	wo.ts_uid = ts;
	if (pacs_write_dataset(ds, &wo, store_fixture_mem_sink, &m) != 0)
		fail_msg("write in %s: %s", ts, arca_error_last());
	pacs_ds_free(ds);
	return m;
}

/* store_instance_send in each native syntax (and NULL, the stored one)
 * gives the full path's bytes. */
static void assert_sends_like_full(store_cas *cas, const uint8_t manifest[STORE_CAS_HASH_LEN],
				   const char *stored_ts)
{
	for (size_t i = 0; i <= sizeof(native_ts) / sizeof(native_ts[0]); i++) {
		const char *ts = i < sizeof(native_ts) / sizeof(native_ts[0]) ? native_ts[i] : NULL;
		mem want = full_path(cas, manifest, ts != NULL ? ts : stored_ts);
		mem got = { 0 };
		int rc = store_instance_send(cas, manifest, ts, store_fixture_mem_sink, &got);
		if (rc != 0)
			fail_msg("send in %s: %s", ts != NULL ? ts : "(stored)", arca_error_last());
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.data, want.data, want.len);
		free(got.data);
		free(want.data);
	}
}

static void test_native_in_every_syntax(void **state)
{
	fixture *f = *state;
	uint8_t man[STORE_CAS_HASH_LEN];
	store_cas *cas = store_ingest_cas_store(f->s);
	pacs_ds *one = native("2.25.201", 512, 512, 1, 1);
	pacs_ds *multi = native("2.25.202", 128, 128, 7, 2); /* frames: several chunks */
	pacs_ds *small = native("2.25.203", 16, 16, 1, 3);   /* pixel data inline */

	store_ds(f, one, PACS_TS_EXPLICIT_LE);
	store_ds(f, multi, PACS_TS_IMPLICIT_LE);
	store_ds(f, small, PACS_TS_EXPLICIT_LE);
	store_fixture_manifest_of(f, "2.25.201", man);
	assert_sends_like_full(cas, man, PACS_TS_EXPLICIT_LE);
	store_fixture_manifest_of(f, "2.25.202", man);
	assert_sends_like_full(cas, man, PACS_TS_EXPLICIT_LE);
	store_fixture_manifest_of(f, "2.25.203", man);
	assert_sends_like_full(cas, man, PACS_TS_EXPLICIT_LE);
	pacs_ds_free(one);
	pacs_ds_free(multi);
	pacs_ds_free(small);
}

/* Large values go from the chunk to the sink in one call: no copy into a
 * 64 KiB staging buffer (the sink count stays small). */
static void test_pixel_data_in_one_piece(void **state)
{
	fixture *f = *state;
	uint8_t man[STORE_CAS_HASH_LEN];
	pacs_ds *ds = native("2.25.204", 512, 512, 1, 4);
	mem got = { 0 };

	store_ds(f, ds, PACS_TS_EXPLICIT_LE);
	store_fixture_manifest_of(f, "2.25.204", man);
	assert_int_equal(store_instance_send(store_ingest_cas_store(f->s), man, PACS_TS_EXPLICIT_LE, store_fixture_mem_sink, &got), 0);
	assert_true(got.len > 512u * 512u * 2u);
	assert_true(got.calls <= 4);
	free(got.data);
	pacs_ds_free(ds);
}

static void test_encapsulated(void **state)
{
	fixture *f = *state;
	uint8_t man[STORE_CAS_HASH_LEN];
	store_cas *cas = store_ingest_cas_store(f->s);
	pacs_ds *ds = image("2.25.205", 256, 256, 2);
	uint8_t bot[8] = { 0 }, *frag;
	pacs_elem *e;
	mem want, got = { 0 };

	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, &e), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, bot, sizeof(bot)), 0);
	for (unsigned i = 0; i < 2; i++) {
		frag = malloc(90000);
		store_fixture_fill_pixels(frag, 90000, 60 + i);
		assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, frag, 90000), 0);
		free(frag);
	}
	assert_int_equal(pacs_ds_set_source_ts(ds, PACS_TS_J2K_LOSSLESS), 0);
	store_ds(f, ds, PACS_TS_J2K_LOSSLESS);
	store_fixture_manifest_of(f, "2.25.205", man);
	/* as stored: the fragments pass through */
	want = full_path(cas, man, PACS_TS_J2K_LOSSLESS);
	assert_int_equal(store_instance_send(cas, man, NULL, store_fixture_mem_sink, &got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	free(got.data);
	free(want.data);
	/* to a native syntax or another codec: a codec's work, refused
	 * before anything is written (the caller transcodes) */
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_instance_send(cas, man, PACS_TS_EXPLICIT_LE, store_fixture_mem_sink, &got), ARCA_EUNSUPPORTED);
	assert_int_equal(store_instance_send(cas, man, PACS_TS_RLE, store_fixture_mem_sink, &got), ARCA_EUNSUPPORTED);
	assert_int_equal(got.len, 0);
	assert_int_equal(got.calls, 0);
	pacs_ds_free(ds);
}

/* A chunk whose bytes changed on disk: the send fails, and none of the
 * pixel data reached the sink (arca's promise: every chunk is checked
 * before its bytes go out).  A damaged manifest: nothing at all. */
static void test_damaged_chunk(void **state)
{
	fixture *f = *state;
	uint8_t man[STORE_CAS_HASH_LEN];
	store_cas *cas = store_ingest_cas_store(f->s);
	pacs_ds *ds = native("2.25.206", 256, 256, 1, 5);
	mem got = { 0 };
	size_t px = 256u * 256u * 2u;

	store_ds(f, ds, PACS_TS_EXPLICIT_LE);
	store_fixture_manifest_of(f, "2.25.206", man);
	store_fixture_damage_chunk(f, man);
	assert_true(store_instance_send(cas, man, PACS_TS_EXPLICIT_LE, store_fixture_mem_sink, &got) < 0);
	assert_non_null(strstr(arca_error_last(), "2.25.206"));
	assert_true(got.len < px); /* the attributes at most, no pixel */
	free(got.data);
	pacs_ds_free(ds);
}

/* One sample file: stored as it comes (its own transfer syntax), sent as
 * stored and, when native, in every native syntax.  Files the reader or
 * the ingest refuses are skipped (other tests cover them). */
static void sample_one(fixture *f, const char *path, size_t *n)
{
	store_cas *cas = store_ingest_cas_store(f->s);
	char sop[65], ts[65];
	uint8_t man[STORE_CAS_HASH_LEN];
	store_index_storage st;
	pacs_read_opts ro;
	pacs_ds *ds = NULL;
	const char *src;

	pacs_read_opts_init(&ro);
	if (pacs_read_file(&ds, path, &ro) != 0)
		return;
	src = pacs_ds_source_ts(ds);
	if (src == NULL || strcmp(src, PACS_TS_DEFLATED_LE) == 0 ||
	    pacs_ds_get_string(ds, PACS_TAG(0x0008, 0x0018), 0, sop, sizeof(sop)) != 0 ||
	    store_index_get(store_ingest_cas_index(f->s), sop, 0, &st) == 0) {
		pacs_ds_free(ds);
		return;
	}
	snprintf(ts, sizeof(ts), "%s", src);
	if (!try_store_ds(f, ds, ts)) {
		pacs_ds_free(ds);
		return;
	}
	store_fixture_manifest_of(f, sop, man);
	if (pacs_ts_is_encapsulated(ts)) {
		mem want = full_path(cas, man, ts), got = { 0 };
		if (store_instance_send(cas, man, NULL, store_fixture_mem_sink, &got) != 0)
			fail_msg("%s: %s", path, arca_error_last());
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.data, want.data, want.len);
		free(got.data);
		free(want.data);
	} else {
		assert_sends_like_full(cas, man, PACS_TS_EXPLICIT_LE);
	}
	pacs_ds_free(ds);
	(*n)++;
}

static void sample_walk(fixture *f, const char *dir, unsigned depth, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && *n < 80) {
		char path[4096];
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode) && depth < 4)
			sample_walk(f, path, depth + 1, n);
		else if (S_ISREG(sb.st_mode) && sb.st_size < 8 * 1024 * 1024)
			sample_one(f, path, n);
	}
	closedir(d);
}

static void test_samples(void **state)
{
	fixture *f = *state;
	const char *dir = getenv("ARCA_SAMPLES");
	struct stat sb;
	size_t n = 0;

	if (dir == NULL || stat(dir, &sb) != 0) {
		print_message("# ARCA_SAMPLES not set or absent: samples skipped\n");
		return;
	}
	sample_walk(f, dir, 0, &n);
	assert_true(n > 0);
	print_message("# %zu samples sent like the full path\n", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_native_in_every_syntax, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_pixel_data_in_one_piece, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_encapsulated, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_chunk, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_samples, setup, store_fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
