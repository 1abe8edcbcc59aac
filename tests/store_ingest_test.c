/* store_ingest_test.c - the content-addressed ingest (store_ingest.h)
 * driven through its pacs_ingest operations exactly as the C-STORE SCP
 * drives them: the data set is encoded as a peer would send it, fed to a
 * pacs_reader in PDV-sized slices whose bulk events go to the ingest's
 * bulk(), and the metadata the reader returns goes to commit().  Then the
 * instance is rebuilt from the index and the chunk store
 * (store_instance.h) and compared byte for byte with what pacs_write makes
 * of the same data set. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
#define STUDY_UID "2.25.100"
#define SERIES_UID "2.25.100.1"
#define CALLING "MODALITY"

/* ------------------------------------------------------------ fixtures */

/* store_fixture.h: a temp archive, the ingest opened as arcad opens it */
typedef store_fixture fixture;
typedef store_fixture_mem mem;

static int setup(void **state)
{
	*state = store_fixture_new("ingest");
	return 0;
}

/* ------------------------------------------------------------ data sets */

static const store_fixture_study study = { "P-0001", STUDY_UID, SERIES_UID, "20261128" };

static pacs_ds *image(const char *cls, const char *sop, unsigned rows, unsigned cols, unsigned frames)
{
	return store_fixture_image(&study, cls, sop, rows, cols, frames);
}

/* A CT slice of rows x cols, 16 bits, pixel data from seed. */
static pacs_ds *ct(const char *sop, unsigned rows, unsigned cols, unsigned seed)
{
	pacs_ds *ds = image(CT_CLASS, sop, rows, cols, 1);
	size_t n = (size_t)rows * cols * 2;
	uint8_t *px = malloc(n);

	store_fixture_fill_pixels(px, n, seed);
	assert_int_equal(pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, px, (uint32_t)n), 0);
	free(px);
	return ds;
}

/* ------------------------------------------------------------ the SCP's part */

/* The data set as a peer sends it (no meta group). */
static mem encode(const pacs_ds *ds, const char *ts)
{
	mem m = { 0 };
	pacs_write_opts wo;

	pacs_write_opts_init(&wo);
	wo.ts_uid = ts;
	assert_int_equal(pacs_write_dataset(ds, &wo, store_fixture_mem_sink, &m), 0);
	return m;
}

/* What the archive must give back: the data set as it was received (the
 * peer's encoding read back, everything held), written as Part 10 in the
 * canonical syntax with the calling AE as Source AE Title (design.md:
 * byte-identical to what pacs_write produces for the data set as stored). */
static mem expected_part10(const pacs_ds *ds, const char *sent_ts, const char *canonical_ts)
{
	mem sent = encode(ds, sent_ts), m = { 0 };
	pacs_read_opts ro;
	pacs_ds *copy = NULL;
	pacs_write_opts wo;

	pacs_read_opts_init(&ro);
	ro.input = PACS_INPUT_DATASET;
	ro.ts_uid = sent_ts;
	assert_int_equal(pacs_read_buffer(&copy, sent.data, sent.len, &ro), 0);
	free(sent.data);
	assert_int_equal(pacs_ds_set_string(copy, PACS_TAG(0x0002, 0x0016), PACS_VR_AE, CALLING), 0);
	pacs_write_opts_init(&wo);
	wo.ts_uid = canonical_ts;
	assert_int_equal(pacs_write_part10(copy, &wo, store_fixture_mem_sink, &m), 0);
	pacs_ds_free(copy);
	return m;
}

/* begin, the stream through a reader in PDVs of varying size (bulk events
 * to the ingest), then commit, or abort after stop_after bytes when it is
 * not 0.  Returns commit's value; res gets its answer. */
static int store_stream(const pacs_ingest *in, const uint8_t *data, size_t len, const char *ts, const char *sop,
			const char *cls, size_t stop_after, pacs_ingest_result *res)
{
	store_fixture_send how = { CALLING, ts, 16381, 4093, stop_after };

	return store_fixture_stream(in, data, len, sop, cls, &how, res);
}

/* Encodes ds in ts and stores it; asserts success status. */
static void store_ds(fixture *f, const pacs_ds *ds, const char *ts)
{
	store_fixture_send how = { CALLING, ts, 16381, 4093, 0 };

	store_fixture_store_ok(&f->ingest, ds, &how);
}

/* The stored instance, rebuilt; its index row in *st. */
static mem rebuild(fixture *f, const char *sop, store_index_storage *st)
{
	mem m = { 0 };
	int rc;

	assert_int_equal(store_index_get(store_ingest_cas_index(f->s), sop, 0, st), 0);
	rc = store_instance_read(store_ingest_cas_store(f->s), st->manifest, &m.data, &m.len);
	if (rc != 0)
		fail_msg("rebuild %s: %s", sop, arca_error_last());
	return m;
}

static void assert_rebuilt(fixture *f, const pacs_ds *ds, const char *sent_ts, const char *canonical_ts)
{
	char sop[65];
	store_index_storage st;
	mem want = expected_part10(ds, sent_ts, canonical_ts), got;
	uint8_t digest[SHA256_DIGEST_LENGTH];

	assert_int_equal(pacs_ds_get_string(ds, PACS_TAG(0x0008, 0x0018), 0, sop, sizeof(sop)), 0);
	got = rebuild(f, sop, &st);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	SHA256(want.data, want.len, digest);
	assert_memory_equal(st.instance_hash, digest, 32);
	assert_true(st.size == want.len);
	assert_string_equal(st.transfer_syntax, canonical_ts);
	free(want.data);
	free(got.data);
}

static store_manifest *manifest_of(fixture *f, const char *sop)
{
	store_index_storage st;
	store_manifest *m = NULL;

	assert_int_equal(store_index_get(store_ingest_cas_index(f->s), sop, 0, &st), 0);
	assert_int_equal(store_instance_manifest(store_ingest_cas_store(f->s), st.manifest, &m), 0);
	return m;
}

/* Chunk files in the store (manifests included). */
static size_t count_chunks(fixture *f, size_t *manifests)
{
	store_cas_iter *it;
	store_cas_entry e;
	size_t n = 0;

	*manifests = 0;
	assert_int_equal(store_cas_iter_new(&it, store_ingest_cas_store(f->s)), 0);
	while (store_cas_iter_next(it, &e) == 1) {
		uint8_t *data;
		size_t len;
		assert_int_equal(e.bad, 0);
		n++;
		assert_int_equal(store_cas_get(store_ingest_cas_store(f->s), e.hash, &data, &len), 0);
		if (len >= 4 && memcmp(data, "ARMF", 4) == 0)
			(*manifests)++;
		free(data);
	}
	store_cas_iter_free(it);
	return n;
}

/* ------------------------------------------------------------ tests */

/* A CT slice in every native syntax a peer may send: stored, rebuilt as
 * Explicit VR Little Endian byte for byte, hash = SHA-256 of the bytes;
 * the same instance again (in another syntax) is a duplicate with the
 * same hash. */
static void test_ct_round_trip(void **state)
{
	fixture *f = *state;
	pacs_ds *ds = ct("2.25.1", 256, 256, 1);
	store_index_storage st1, st2;
	store_ingest_cas_stats stats;
	mem a, b;

	store_ds(f, ds, PACS_TS_IMPLICIT_LE);
	assert_rebuilt(f, ds, PACS_TS_IMPLICIT_LE, PACS_TS_EXPLICIT_LE);
	a = rebuild(f, "2.25.1", &st1);
	store_ds(f, ds, PACS_TS_EXPLICIT_BE);
	store_ds(f, ds, PACS_TS_DEFLATED_LE);
	store_ds(f, ds, PACS_TS_EXPLICIT_LE);
	b = rebuild(f, "2.25.1", &st2);
	assert_memory_equal(st1.instance_hash, st2.instance_hash, 32);
	assert_memory_equal(st1.manifest, st2.manifest, 32);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_int_equal(st2.version, 1);
	store_ingest_cas_stats_get(f->s, &stats);
	assert_true(stats.instances == 4);
	assert_true(stats.rehashed == 0); /* one chunk: hashed from memory */
	free(a.data);
	free(b.data);
	pacs_ds_free(ds);
}

/* Two instances with the same pixel data: the pixel chunk is stored once. */
static void test_dedup(void **state)
{
	fixture *f = *state;
	pacs_ds *a = ct("2.25.11", 256, 256, 7), *b = ct("2.25.12", 256, 256, 7);
	store_ingest_cas_stats stats;
	size_t manifests, chunks;

	store_ds(f, a, PACS_TS_EXPLICIT_LE);
	store_ds(f, b, PACS_TS_EXPLICIT_LE);
	assert_rebuilt(f, a, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	assert_rebuilt(f, b, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	chunks = count_chunks(f, &manifests);
	assert_int_equal(manifests, 2);
	assert_int_equal(chunks, 3);
	store_ingest_cas_stats_get(f->s, &stats);
	assert_true(stats.chunks_new == 1 && stats.chunks_dedup == 1);
	assert_true(stats.bytes_dedup == 256 * 256 * 2);
	pacs_ds_free(a);
	pacs_ds_free(b);
}

static pacs_ds *multiframe(const char *sop, unsigned rows, unsigned cols, unsigned frames, unsigned seed)
{
	pacs_ds *ds = image(SC_MF_CLASS, sop, rows, cols, frames);
	size_t fb = (size_t)rows * cols * 2, n = fb * frames;
	uint8_t *px = malloc(n);

	for (unsigned i = 0; i < frames; i++)
		store_fixture_fill_pixels(px + i * fb, fb, seed + i);
	assert_int_equal(pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, px, (uint32_t)n), 0);
	free(px);
	return ds;
}

/* Native multi-frame: one chunk per frame; frames under 64 KiB grouped
 * two by two. */
static void test_multiframe(void **state)
{
	fixture *f = *state;
	pacs_ds *big = multiframe("2.25.21", 256, 256, 6, 100), *small = multiframe("2.25.22", 128, 128, 7, 200);
	store_manifest *m;

	store_ds(f, big, PACS_TS_EXPLICIT_LE);
	store_ds(f, small, PACS_TS_IMPLICIT_LE);
	assert_rebuilt(f, big, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	assert_rebuilt(f, small, PACS_TS_IMPLICIT_LE, PACS_TS_EXPLICIT_LE);

	m = manifest_of(f, "2.25.21");
	assert_int_equal(m->n_bulk, 1);
	assert_int_equal(m->bulk[0].tag, PACS_TAG_PIXEL_DATA);
	assert_int_equal(m->bulk[0].n_frags, 1);
	assert_int_equal(m->bulk[0].frags[0].n_pieces, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(m->bulk[0].frags[0].pieces[i].len, 256 * 256 * 2);
		assert_false(m->bulk[0].frags[0].pieces[i].is_inline);
	}
	store_manifest_free(m);

	/* 7 frames of 32 KiB: 64 KiB chunks of two frames, the last one alone */
	m = manifest_of(f, "2.25.22");
	assert_int_equal(m->bulk[0].vr, PACS_VR_OW);
	assert_int_equal(m->bulk[0].frags[0].n_pieces, 4);
	assert_int_equal(m->bulk[0].frags[0].pieces[0].len, 2 * 128 * 128 * 2);
	assert_int_equal(m->bulk[0].frags[0].pieces[3].len, 128 * 128 * 2);
	store_manifest_free(m);
	pacs_ds_free(big);
	pacs_ds_free(small);
}

/* Frames larger than the chunk limit are split; an instance larger than
 * the retention cap is hashed by reading its chunks back. */
static void test_large_frames(void **state)
{
	fixture *f = *state;
	store_ingest_cas_options o;
	store_ingest_cas_stats stats;
	pacs_ds *ds = multiframe("2.25.31", 256, 320, 3, 300); /* 160 KiB frames */
	store_manifest *m;

	store_ingest_cas_free(f->s);
	store_ingest_cas_options_init(&o);
	o.chunk_max = 64 * 1024;
	store_fixture_open(f, &o);
	store_ds(f, ds, PACS_TS_EXPLICIT_LE);
	assert_rebuilt(f, ds, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	m = manifest_of(f, "2.25.31");
	/* 163840 = 65536 + 65536 + 32768, three times */
	assert_int_equal(m->bulk[0].frags[0].n_pieces, 9);
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(m->bulk[0].frags[0].pieces[i].len, i % 3 == 2 ? 32768 : 65536);
	store_manifest_free(m);
	store_ingest_cas_stats_get(f->s, &stats);
	assert_true(stats.rehashed == 1);
	pacs_ds_free(ds);

	/* 80 frames of 8 KiB in chunks of 4 KiB: 160 chunks, and the instance
	 * asked the committer for a sync on the way (every 128 chunks) */
	store_ingest_cas_free(f->s);
	o.chunk_max = 4096;
	store_fixture_open(f, &o);
	ds = multiframe("2.25.32", 64, 64, 80, 400);
	store_ds(f, ds, PACS_TS_EXPLICIT_LE);
	assert_rebuilt(f, ds, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	m = manifest_of(f, "2.25.32");
	assert_int_equal(m->bulk[0].frags[0].n_pieces, 160);
	store_manifest_free(m);
	store_ingest_cas_stats_get(f->s, &stats);
	assert_true(stats.sync_only >= 1);
	pacs_ds_free(ds);
}

/* Encapsulated pixel data (JPEG 2000): one chunk per fragment, small
 * fragments and the offset table inline; kept in its syntax. */
static void test_encapsulated(void **state)
{
	fixture *f = *state;
	pacs_ds *ds = image(CT_CLASS, "2.25.41", 256, 256, 3);
	static const uint32_t sizes[] = { 70000, 100, 9000 };
	uint8_t bot[12] = { 0 }, *frag;
	pacs_elem *e;
	store_manifest *m;

	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, &e), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, bot, sizeof(bot)), 0);
	for (unsigned i = 0; i < 3; i++) {
		frag = malloc(sizes[i]);
		store_fixture_fill_pixels(frag, sizes[i], 50 + i);
		assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, frag, sizes[i]), 0);
		free(frag);
	}
	assert_int_equal(pacs_ds_set_source_ts(ds, PACS_TS_J2K_LOSSLESS), 0);
	store_ds(f, ds, PACS_TS_J2K_LOSSLESS);
	assert_rebuilt(f, ds, PACS_TS_J2K_LOSSLESS, PACS_TS_J2K_LOSSLESS);
	m = manifest_of(f, "2.25.41");
	assert_string_equal(m->transfer_syntax, PACS_TS_J2K_LOSSLESS);
	assert_int_equal(m->n_bulk, 1);
	assert_true(m->bulk[0].encapsulated);
	assert_int_equal(m->bulk[0].n_frags, 4);
	assert_true(m->bulk[0].frags[0].pieces[0].is_inline);  /* offset table */
	assert_false(m->bulk[0].frags[1].pieces[0].is_inline); /* 70000 */
	assert_true(m->bulk[0].frags[2].pieces[0].is_inline);  /* 100 */
	assert_false(m->bulk[0].frags[3].pieces[0].is_inline); /* 9000 */
	store_manifest_free(m);
	pacs_ds_free(ds);
}

/* Bulk values below the top level (an icon's pixel data in a sequence
 * item, a private OB) come back in place. */
static void test_nested_bulk(void **state)
{
	fixture *f = *state;
	pacs_ds *ds = ct("2.25.51", 256, 256, 9), *item;
	size_t n = 96 * 1024;
	uint8_t *v = malloc(n);
	store_manifest *m;

	store_fixture_fill_pixels(v, n, 77);
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG(0x0088, 0x0200), &item), 0);
	assert_int_equal(pacs_ds_set_u16(item, PACS_TAG(0x0028, 0x0010), 96), 0);
	assert_int_equal(pacs_ds_set_u16(item, PACS_TAG(0x0028, 0x0011), 512), 0);
	assert_int_equal(pacs_ds_set_u16(item, PACS_TAG(0x0028, 0x0100), 8), 0);
	assert_int_equal(pacs_ds_set(item, PACS_TAG_PIXEL_DATA, PACS_VR_OB, v, (uint32_t)(96 * 512)), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0029, 0x0010), PACS_VR_LO, "ARCA TEST"), 0);
	assert_int_equal(pacs_ds_set(ds, PACS_TAG(0x0029, 0x1001), PACS_VR_OB, v, (uint32_t)n), 0);
	store_ds(f, ds, PACS_TS_EXPLICIT_LE);
	assert_rebuilt(f, ds, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	m = manifest_of(f, "2.25.51");
	assert_int_equal(m->n_bulk, 2); /* the icon (48 KiB) is under the threshold */
	assert_int_equal(m->bulk[0].tag, PACS_TAG(0x0029, 0x1001));
	assert_int_equal(m->bulk[1].tag, PACS_TAG_PIXEL_DATA);
	store_manifest_free(m);
	/* the icon over the threshold too, sent in Implicit VR: the reader
	 * gives Pixel Data VR OW whatever Bits Allocated says (PS3.5 A.1),
	 * and that is what is stored and rebuilt */
	pacs_ds_free(ds);
	ds = ct("2.25.52", 256, 256, 9);
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG(0x0088, 0x0200), &item), 0);
	assert_int_equal(pacs_ds_set_u16(item, PACS_TAG(0x0028, 0x0100), 8), 0);
	assert_int_equal(pacs_ds_set(item, PACS_TAG_PIXEL_DATA, PACS_VR_OB, v, (uint32_t)n), 0);
	store_ds(f, ds, PACS_TS_IMPLICIT_LE);
	assert_rebuilt(f, ds, PACS_TS_IMPLICIT_LE, PACS_TS_EXPLICIT_LE);
	m = manifest_of(f, "2.25.52");
	assert_int_equal(m->n_bulk, 2);
	assert_int_equal(m->bulk[0].depth, 1);
	assert_int_equal(m->bulk[0].path[0].tag, PACS_TAG(0x0088, 0x0200));
	assert_int_equal(m->bulk[0].vr, PACS_VR_OW);
	assert_int_equal(m->bulk[1].vr, PACS_VR_OW);
	store_manifest_free(m);
	free(v);
	pacs_ds_free(ds);
}

/* 8 threads committing at once: every instance durable and indexed, and
 * the committer batched them. */
typedef struct worker_arg {
	fixture *f;
	unsigned id;
	unsigned count;
} worker_arg;

static void *ingest_worker(void *arg)
{
	worker_arg *w = arg;
	char sop[64];

	for (unsigned i = 0; i < w->count; i++) {
		pacs_ds *ds;
		snprintf(sop, sizeof(sop), "2.25.6%u.%u", w->id, i);
		ds = ct(sop, 128, 256, w->id * 100 + i);
		store_ds(w->f, ds, PACS_TS_EXPLICIT_LE);
		pacs_ds_free(ds);
	}
	return NULL;
}

static void test_group_commit(void **state)
{
	enum { THREADS = 8, EACH = 6 };
	fixture *f = *state;
	pthread_t th[THREADS];
	worker_arg args[THREADS];
	store_ingest_cas_stats stats;
	char line[1024], sop[64];

	for (unsigned i = 0; i < THREADS; i++) {
		args[i] = (worker_arg){ f, i, EACH };
		assert_int_equal(pthread_create(&th[i], NULL, ingest_worker, &args[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	store_ingest_cas_stats_get(f->s, &stats);
	store_ingest_cas_stats_format(f->s, line, sizeof(line));
	print_message("# 8 threads: %s\n", line);
	assert_true(stats.instances == THREADS * EACH);
	assert_true(stats.batch_items == THREADS * EACH);
	assert_true(stats.largest_batch > 1);
	assert_true(stats.batches < THREADS * EACH);
	/* reopened: every one is there and intact */
	store_ingest_cas_free(f->s);
	store_fixture_open(f, NULL);
	for (unsigned i = 0; i < THREADS; i++) {
		for (unsigned j = 0; j < EACH; j++) {
			pacs_ds *ds;
			snprintf(sop, sizeof(sop), "2.25.6%u.%u", i, j);
			ds = ct(sop, 128, 256, i * 100 + j);
			assert_rebuilt(f, ds, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
			pacs_ds_free(ds);
		}
	}
}

/* An instance aborted in the middle of its pixel data leaves no manifest
 * and no index row. */
static void test_abort(void **state)
{
	fixture *f = *state;
	pacs_ds *ds = multiframe("2.25.71", 256, 256, 4, 5);
	mem m = encode(ds, PACS_TS_EXPLICIT_LE);
	pacs_ingest_result res;
	store_index_storage st;
	size_t manifests;

	assert_int_equal(store_stream(&f->ingest, m.data, m.len, PACS_TS_EXPLICIT_LE, "2.25.71", SC_MF_CLASS,
				      m.len / 2, &res), 0);
	/* reopen: whatever was put is synced or dropped */
	store_ingest_cas_free(f->s);
	store_fixture_open(f, NULL);
	assert_int_equal(store_index_get(store_ingest_cas_index(f->s), "2.25.71", 0, &st), ARCA_ENOTFOUND);
	(void)count_chunks(f, &manifests);
	assert_int_equal(manifests, 0);
	/* and the same instance stores afterwards */
	store_ds(f, ds, PACS_TS_EXPLICIT_LE);
	assert_rebuilt(f, ds, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	free(m.data);
	pacs_ds_free(ds);
}

/* A flipped byte in a chunk file is found when the instance is rebuilt. */
static void test_damage(void **state)
{
	fixture *f = *state;
	pacs_ds *ds = ct("2.25.81", 256, 256, 3);
	store_index_storage st;
	uint8_t *out = NULL;
	size_t len = 0;

	store_ds(f, ds, PACS_TS_EXPLICIT_LE);
	assert_int_equal(store_index_get(store_ingest_cas_index(f->s), "2.25.81", 0, &st), 0);
	assert_int_equal(store_instance_write(store_ingest_cas_store(f->s), st.manifest, NULL, NULL, NULL), 0);
	/* the pixel chunk: a byte flipped in the middle of its body */
	store_fixture_damage_chunk(f, st.manifest);
	assert_true(store_instance_read(store_ingest_cas_store(f->s), st.manifest, &out, &len) < 0);
	assert_null(out);
	assert_true(store_instance_write(store_ingest_cas_store(f->s), st.manifest, NULL, NULL, NULL) < 0);
	pacs_ds_free(ds);
}

static bool file_exists(const char *dir, const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

/* Under samples/normalise.conf: a fixable value is fixed (0xB000, the
 * original in Original Attributes Sequence); a missing Modality is
 * refused (0xA900) and the instance quarantined with its reason, not
 * indexed. */
static void test_rules_and_quarantine(void **state)
{
	fixture *f = *state;
	store_ingest_cas_options o;
	char rules[512], qdir[256], sex[8];
	pacs_ds *ds, *back = NULL;
	pacs_ingest_result res;
	store_index_storage st;
	store_ingest_cas_stats stats;
	mem m, got;
	pacs_read_opts ro;

	snprintf(rules, sizeof(rules), "%s/samples/normalise.conf", ARCA_TEST_SRCDIR);
	store_ingest_cas_free(f->s);
	store_ingest_cas_options_init(&o);
	o.rules = rules;
	store_fixture_open(f, &o);

	/* fixed */
	ds = ct("2.25.91", 128, 128, 1);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0010, 0x0040), PACS_VR_CS, "male"), 0);
	m = encode(ds, PACS_TS_EXPLICIT_LE);
	assert_int_equal(store_stream(&f->ingest, m.data, m.len, PACS_TS_EXPLICIT_LE, "2.25.91", CT_CLASS, 0, &res), 0);
	assert_int_equal(res.status, 0xB000);
	free(m.data);
	got = rebuild(f, "2.25.91", &st);
	pacs_read_opts_init(&ro);
	assert_int_equal(pacs_read_buffer(&back, got.data, got.len, &ro), 0);
	assert_int_equal(pacs_ds_get_string(back, PACS_TAG(0x0010, 0x0040), 0, sex, sizeof(sex)), 0);
	assert_string_equal(sex, "M");
	assert_non_null(pacs_ds_find(back, PACS_TAG(0x0400, 0x0561)));
	pacs_ds_free(back);
	free(got.data);
	pacs_ds_free(ds);

	/* refused */
	ds = ct("2.25.92", 128, 128, 2);
	assert_int_equal(pacs_ds_remove(ds, PACS_TAG(0x0008, 0x0060)), 0);
	m = encode(ds, PACS_TS_EXPLICIT_LE);
	assert_int_equal(store_stream(&f->ingest, m.data, m.len, PACS_TS_EXPLICIT_LE, "2.25.92", CT_CLASS, 0, &res), 0);
	assert_int_equal(res.status, PACS_DIMSE_DATA_SET_MISMATCH);
	assert_non_null(strstr(res.comment, "Modality"));
	free(m.data);
	assert_int_equal(store_index_get(store_ingest_cas_index(f->s), "2.25.92", 0, &st), ARCA_ENOTFOUND);
	snprintf(qdir, sizeof(qdir), "%s/quarantine/2.25.92", f->root);
	assert_true(file_exists(qdir, "instance.dcm"));
	assert_true(file_exists(qdir, "reason.txt"));
	{
		char path[512];
		snprintf(path, sizeof(path), "%s/instance.dcm", qdir);
		assert_int_equal(pacs_read_file(&back, path, &ro), 0);
		assert_non_null(pacs_ds_find(back, PACS_TAG_PIXEL_DATA));
		pacs_ds_free(back);
	}
	store_ingest_cas_stats_get(f->s, &stats);
	assert_true(stats.refused == 1 && stats.instances == 1);
	pacs_ds_free(ds);

	/* without rules a missing Study Instance UID is still refused */
	store_ingest_cas_free(f->s);
	store_fixture_open(f, NULL);
	ds = ct("2.25.93", 128, 128, 2);
	assert_int_equal(pacs_ds_remove(ds, PACS_TAG(0x0020, 0x000D)), 0);
	m = encode(ds, PACS_TS_EXPLICIT_LE);
	assert_int_equal(store_stream(&f->ingest, m.data, m.len, PACS_TS_EXPLICIT_LE, "2.25.93", CT_CLASS, 0, &res), 0);
	assert_int_equal(res.status, PACS_DIMSE_DATA_SET_MISMATCH);
	assert_non_null(strstr(res.comment, "Study Instance UID"));
	snprintf(qdir, sizeof(qdir), "%s/quarantine/2.25.93", f->root);
	assert_true(file_exists(qdir, "reason.txt"));
	free(m.data);
	pacs_ds_free(ds);
}

/* kill -9 at a random moment of a busy ingest: every instance whose commit
 * had returned success is present and intact afterwards. */
static void test_kill9(void **state)
{
	fixture *f = *state;
	int fds[2];
	pid_t pid;
	char buf[8192], sop[64];
	size_t have = 0, acked = 0;
	char (*uids)[64] = calloc(4096, 64);

	store_ingest_cas_free(f->s);
	f->s = NULL;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fixture child = *f;
		close(fds[0]);
		store_fixture_open(&child, NULL);
		for (unsigned i = 0;; i++) {
			pacs_ds *ds;
			int n;
			snprintf(sop, sizeof(sop), "2.25.99.%u", i);
			ds = ct(sop, 128, 128, i);
			store_ds(&child, ds, PACS_TS_EXPLICIT_LE);
			pacs_ds_free(ds);
			/* acknowledged: only now may the sender count on it */
			n = snprintf(buf, sizeof(buf), "%s\n", sop);
			if (write(fds[1], buf, (size_t)n) != n)
				_exit(1);
		}
	}
	close(fds[1]);
	/* let it run a while, then kill it mid-flight */
	while (acked < 12) {
		ssize_t r = read(fds[0], buf + have, sizeof(buf) - have - 1);
		assert_true(r > 0);
		have += (size_t)r;
		buf[have] = '\0';
		acked = 0;
		for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
			acked++;
	}
	usleep((useconds_t)(rand() % 20000));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (;;) {
		ssize_t r = read(fds[0], buf + have, sizeof(buf) - have - 1);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	buf[have] = '\0';
	close(fds[0]);
	acked = 0;
	for (char *p = buf, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		snprintf(uids[acked++], 64, "%s", p);
	}
	assert_true(acked >= 12);
	store_fixture_open(f, NULL);
	for (size_t i = 0; i < acked; i++) {
		unsigned n = 0;
		pacs_ds *ds;
		assert_int_equal(sscanf(uids[i], "2.25.99.%u", &n), 1);
		ds = ct(uids[i], 128, 128, n);
		assert_rebuilt(f, ds, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
		pacs_ds_free(ds);
	}
	print_message("# kill -9 after %zu acknowledged instances: all present and intact\n", acked);
	free(uids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ct_round_trip, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_dedup, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_multiframe, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_large_frames, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_encapsulated, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_nested_bulk, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_damage, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_rules_and_quarantine, setup, store_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, store_fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
