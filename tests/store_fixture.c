/* store_fixture.c - the temporary archive shared by the storage unit tests
 * (store_fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_dimse.h"
#include "pacs_read.h"
#include "pacs_write.h"
#include "store_fixture.h"
#include "store_index.h"

store_fixture *store_fixture_new(const char *name)
{
	store_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/arca-%s-test-XXXXXX", name);
	assert_non_null(mkdtemp(f->root));
	snprintf(f->index, sizeof(f->index), "%s/index.db", f->root);
	store_fixture_open(f, NULL);
	return f;
}

void store_fixture_open(store_fixture *f, const store_ingest_cas_options *o)
{
	if (store_ingest_cas_open(&f->s, f->root, o) != 0)
		fail_msg("store_ingest_cas_open: %s", arca_error_last());
	store_ingest_cas_ingest(f->s, &f->ingest);
}

void store_fixture_free(store_fixture *f)
{
	char cmd[128];

	if (f == NULL)
		return;
	store_ingest_cas_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
}

void store_fixture_manifest_of(store_fixture *f, const char *sop, uint8_t out[STORE_CAS_HASH_LEN])
{
	store_index_storage st;

	assert_int_equal(store_index_get(store_ingest_cas_index(f->s), sop, 0, &st), 0);
	memcpy(out, st.manifest, STORE_CAS_HASH_LEN);
}

void store_fixture_flip_byte(const char *path)
{
	struct stat sb;
	uint8_t b;
	int fd;

	assert_int_equal(stat(path, &sb), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, sb.st_size / 2), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, sb.st_size / 2), 1);
	close(fd);
}

void store_fixture_damage_chunk(store_fixture *f, const uint8_t manifest[STORE_CAS_HASH_LEN])
{
	store_cas_iter *it;
	store_cas_entry e;
	bool flipped = false;

	assert_int_equal(store_cas_iter_new(&it, store_ingest_cas_store(f->s)), 0);
	while (!flipped && store_cas_iter_next(it, &e) == 1) {
		if (memcmp(e.hash, manifest, STORE_CAS_HASH_LEN) == 0)
			continue;
		/* a byte in the middle of the chunk's body */
		store_fixture_flip_byte(e.path);
		flipped = true;
	}
	store_cas_iter_free(it);
	assert_true(flipped);
}

/* PS3.3 C.7.6.3 Image Pixel Module: the attributes a reader needs to size
 * the pixel data; the identifiers are PS3.3 C.7.1.1, C.7.2.1, C.7.3.1. */
pacs_ds *store_fixture_image(const store_fixture_study *st, const char *cls, const char *sop, unsigned rows,
			     unsigned cols, unsigned frames)
{
	pacs_ds *ds;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0016), PACS_VR_UI, cls), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0018), PACS_VR_UI, sop), 0);
	if (st->study_date != NULL)
		assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0020), PACS_VR_DA, st->study_date), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0060), PACS_VR_CS, "CT"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0010, 0x0010), PACS_VR_PN, "DOE^JANE"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0010, 0x0020), PACS_VR_LO, st->patient_id), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x000D), PACS_VR_UI, st->study_uid), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x000E), PACS_VR_UI, st->series_uid), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0002), 1), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0028, 0x0004), PACS_VR_CS, "MONOCHROME2"), 0);
	if (frames > 1) {
		char n[16];
		snprintf(n, sizeof(n), "%u", frames);
		assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0028, 0x0008), PACS_VR_IS, n), 0);
	}
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0010), (uint16_t)rows), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0011), (uint16_t)cols), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0100), 16), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0101), 12), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0102), 11), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0103), 0), 0);
	return ds;
}

int store_fixture_teardown(void **state)
{
	store_fixture_free(*state);
	return 0;
}

int store_fixture_mem_sink(void *ctx, const uint8_t *data, size_t len)
{
	store_fixture_mem *m = ctx;

	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->data = realloc(m->data, m->cap);
		assert_non_null(m->data);
	}
	memcpy(m->data + m->len, data, len);
	m->len += len;
	m->calls++;
	return 0;
}

void store_fixture_fill_pixels(uint8_t *p, size_t bytes, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i + 1 < bytes; i += 2) {
		uint16_t v;
		x = x * 1103515245u + 12345u;
		v = (uint16_t)(1000 + (i / 2) % 512 + ((x >> 16) & 0x1F));
		p[i] = (uint8_t)v;
		p[i + 1] = (uint8_t)(v >> 8);
	}
}

typedef struct feed_ctx {
	const pacs_ingest *in;
	void *txn;
} feed_ctx;

static int to_ingest(void *ctx, const pacs_bulk_event *ev)
{
	feed_ctx *fc = ctx;

	return fc->in->ops->bulk(fc->txn, ev);
}

int store_fixture_stream(const pacs_ingest *in, const uint8_t *data, size_t len, const char *sop, const char *cls,
			 const store_fixture_send *how, pacs_ingest_result *res)
{
	pacs_ingest_info info;
	pacs_read_opts ro;
	pacs_reader *r = NULL;
	pacs_ds *meta = NULL;
	feed_ctx fc = { in, NULL };
	size_t at = 0, step = how->slice != 0 ? how->slice : len;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(&info, 0, sizeof(info));
	info.calling_ae = how->calling != NULL ? how->calling : "MODALITY";
	info.called_ae = "ARCA";
	info.peer_address = "127.0.0.1:1";
	info.sop_class_uid = cls;
	info.sop_instance_uid = sop;
	info.transfer_syntax = how->ts;
	assert_int_equal(in->ops->begin(in->ctx, &info, &fc.txn), 0);
	/* PS3.7 9.3.1.1, PS3.8 9.3.1: the SCP sees the data set as a series
	 * of P-DATA-TF fragments; the reader must not care where they cut. */
	pacs_read_opts_init(&ro);
	ro.input = PACS_INPUT_DATASET;
	ro.ts_uid = how->ts;
	ro.bulk_threshold = STORE_FIXTURE_BULK_THRESHOLD;
	ro.bulk_fn = to_ingest;
	ro.bulk_ctx = &fc;
	assert_int_equal(pacs_reader_new(&r, &ro), 0);
	while (at < len && rc == 0) {
		size_t n = len - at < step ? len - at : step;
		if (how->stop_after != 0 && at >= how->stop_after) {
			pacs_reader_free(r);
			in->ops->abort(fc.txn);
			return 0;
		}
		rc = pacs_reader_feed(r, data + at, n);
		at += n;
		if (how->slice_alt != 0)
			step = step == how->slice ? how->slice_alt : how->slice;
	}
	if (rc == 0)
		rc = pacs_reader_finish(r, &meta);
	pacs_reader_free(r);
	if (rc != 0) {
		in->ops->abort(fc.txn);
		pacs_ds_free(meta);
		return rc;
	}
	/* commit takes the metadata (pacs_ingest.h) */
	return in->ops->commit(fc.txn, meta, res);
}

int store_fixture_store(const pacs_ingest *in, const pacs_ds *ds, const store_fixture_send *how,
			pacs_ingest_result *res)
{
	char sop[65], cls[65];
	pacs_write_opts wo;
	store_fixture_mem m = { 0 };
	int rc;

	memset(res, 0, sizeof(*res));
	if (pacs_ds_get_string(ds, PACS_TAG(0x0008, 0x0018), 0, sop, sizeof(sop)) != 0 ||
	    pacs_ds_get_string(ds, PACS_TAG(0x0008, 0x0016), 0, cls, sizeof(cls)) != 0)
		return arca_error_set(ARCA_EINVAL, "store_fixture: the data set has no SOP Class or Instance UID");
	pacs_write_opts_init(&wo);
	wo.ts_uid = how->ts;
	rc = pacs_write_dataset(ds, &wo, store_fixture_mem_sink, &m);
	if (rc == 0)
		rc = store_fixture_stream(in, m.data, m.len, sop, cls, how, res);
	free(m.data);
	return rc;
}

void store_fixture_store_ok(const pacs_ingest *in, const pacs_ds *ds, const store_fixture_send *how)
{
	pacs_ingest_result res;

	if (store_fixture_store(in, ds, how, &res) != 0)
		fail_msg("storing in %s: %s", how->ts, arca_error_last());
	if (res.status != PACS_DIMSE_SUCCESS)
		fail_msg("status 0x%04X: %s", res.status, res.comment);
}
