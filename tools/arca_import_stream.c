/* arca_import_stream.c - one candidate stream of `arca import` (a file or
 * an archive entry): is it DICOM, then the same steps as the C-STORE SCP
 * (pacs_svc_store.c): ingest begin, the data set read with its bulk values
 * streamed into the ingest, the checks of PS3.4 B.2.3 / PS3.7 9.1.1 made
 * on the data set (the File Meta Information only noted when it
 * disagrees), and the
 * commit handed to a worker. */
#include "arca_import_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_cursor.h"
#include "pacs_dicomdir.h"
#include "pacs_read.h"
#include "pacs_sop.h"

/* The C-STORE SCP's limits (pacs_svc_store.c): bulk values from 64 KiB
 * stream to the ingest; the metadata held per instance is bounded. */
#define IMPORT_BULK_THRESHOLD (64u * 1024u)
#define IMPORT_MAX_VALUE (16u * 1024u * 1024u)
#define IMPORT_MAX_METADATA (32u * 1024u * 1024u)
#define IMPORT_BLOCK (256u * 1024u)

#define TAG_SOP_CLASS PACS_TAG(0x0008, 0x0016)
#define TAG_SOP_INSTANCE PACS_TAG(0x0008, 0x0018)
#define TAG_MEDIA_CLASS PACS_TAG(0x0002, 0x0002)
#define TAG_MEDIA_INSTANCE PACS_TAG(0x0002, 0x0003)

/* Whether the bytes at offset at of p[0..n) are sig[0..len). */
static bool has_at(const uint8_t *p, size_t n, size_t at, const void *sig, size_t len)
{
	pacs_cursor c = pacs_cursor_make(p, n);
	const uint8_t *got;

	return pacs_cursor_skip(&c, at) && pacs_cursor_take(&c, len, &got) && memcmp(got, sig, len) == 0;
}

/* An element header whose group is one a data set starts with and whose
 * element number is low, in one byte order, with room for its VR or
 * length after it. */
static bool header_plausible(pacs_cursor c, bool big_endian)
{
	uint16_t group, element;

	return pacs_cursor_u16(&c, big_endian, &group) && pacs_cursor_u16(&c, big_endian, &element) &&
	       group >= 0x0002 && group <= 0x0008 && element <= 0x0100 && pacs_cursor_left(&c) >= 4;
}

/* A bare data set (PS3.5 7.1) starts with an element of a low group: the
 * File Meta group 0002 without preamble, or the identifying groups 0008
 * (and rarely 0004, 0005 ...): in either byte order, at offset 0 or 1
 * (writers that strip the meta group sometimes leave a stray byte, as
 * pacs_read_probe.c tolerates).  The element number of a first element is
 * small (group length 0000, or a low element). */
static bool bare_plausible(const uint8_t *p, size_t n)
{
	for (size_t skip = 0; skip <= 1; skip++) {
		pacs_cursor c = pacs_cursor_make(p, n);
		if (!pacs_cursor_skip(&c, skip))
			return false;
		if (header_plausible(c, false) || header_plausible(c, true))
			return true;
	}
	return false;
}

bool arca_import__looks_dicom(const uint8_t *p, size_t n)
{
	/* PS3.10 7.1: 128-byte preamble, then "DICM" */
	return has_at(p, n, 128, "DICM", 4) || bare_plausible(p, n);
}

bool arca_import__looks_archive(const uint8_t *p, size_t n)
{
	static const uint8_t gzip[] = { 0x1F, 0x8B };
	static const uint8_t xz[] = { 0xFD, '7', 'z', 'X', 'Z', 0x00 };
	static const uint8_t zstd[] = { 0x28, 0xB5, 0x2F, 0xFD };
	static const uint8_t zip_local[] = { 'P', 'K', 3, 4 }, zip_empty[] = { 'P', 'K', 5, 6 };

	return has_at(p, n, 0, zip_local, 4) || has_at(p, n, 0, zip_empty, 4) || /* zip */
	       has_at(p, n, 0, gzip, 2) || has_at(p, n, 0, "BZh", 3) || has_at(p, n, 0, xz, sizeof(xz)) ||
	       has_at(p, n, 0, zstd, sizeof(zstd)) ||
	       has_at(p, n, 257, "ustar", 5); /* POSIX tar (ustar or pax) */
}

typedef struct stream {
	arca_import *im;
	void *txn;
} stream;

static int to_ingest(void *ctx, const pacs_bulk_event *ev)
{
	stream *s = ctx;

	return s->im->ingest.ops->bulk(s->txn, ev);
}

/* PS3.10 7.1: the File Meta group describes the file, not the instance;
 * C-STORE never carries it (PS3.7 9.3.1.1), so neither does an import. */
static int drop_meta(pacs_ds *ds)
{
	static const uint8_t zeros[128];
	int rc;

	for (size_t i = pacs_ds_count(ds); i > 0; i--) {
		uint32_t tag = pacs_elem_tag(pacs_ds_at(ds, i - 1));
		if (PACS_TAG_GROUP(tag) == 0x0002 && (rc = pacs_ds_remove(ds, tag)) < 0)
			return rc;
	}
	/* the canonical stream has a zero preamble, as after a C-STORE */
	return pacs_ds_preamble(ds) != NULL ? pacs_ds_set_preamble(ds, zeros) : 0;
}

static void text_of(const pacs_ds *ds, uint32_t tag, char *buf, size_t size)
{
	size_t n;

	if (pacs_ds_get_string(ds, tag, 0, buf, size) < 0) {
		buf[0] = '\0';
		return;
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
		buf[--n] = '\0';
}

/* The checks the C-STORE SCP makes (PS3.4 B.2.3, PS3.7 9.1.1): a Storage
 * SOP Class and both UIDs present in the data set.
 * Returns IMPORT_KINDS when the instance may be committed. */
static import_kind check(arca_import *im, const char *name, const pacs_ds *ds, char *sop, size_t sop_size)
{
	char cls[80], media_cls[80], media_inst[80];

	text_of(ds, TAG_SOP_CLASS, cls, sizeof(cls));
	text_of(ds, TAG_SOP_INSTANCE, sop, sop_size);
	text_of(ds, TAG_MEDIA_CLASS, media_cls, sizeof(media_cls));
	text_of(ds, TAG_MEDIA_INSTANCE, media_inst, sizeof(media_inst));
	if (strcmp(media_cls, PACS_DICOMDIR_SOP_CLASS) == 0 || strcmp(cls, PACS_DICOMDIR_SOP_CLASS) == 0 ||
	    (cls[0] == '\0' && pacs_ds_find(ds, PACS_TAG(0x0004, 0x1220)) != NULL))
		return IMPORT_DICOMDIR;
	if (cls[0] == '\0') {
		arca_import__count(im, IMPORT_REFUSED, name, "SOP Class UID (0008,0016) missing");
		return IMPORT_REFUSED;
	}
	if (sop[0] == '\0') {
		arca_import__count(im, IMPORT_REFUSED, name, "SOP Instance UID (0008,0018) missing");
		return IMPORT_REFUSED;
	}
	if (!pacs_sop_is_storage(cls)) {
		arca_import__count(im, IMPORT_REFUSED, name, "SOP Class %s is not a Storage SOP Class", cls);
		return IMPORT_REFUSED;
	}
	/* The meta group is about the file; the data set is the instance
	 * (PS3.10 7.1).  Files whose meta disagrees exist (edited or
	 * de-identified data sets whose meta was not rewritten): the data
	 * set's UIDs are stored, and the summary says so. */
	if (media_cls[0] != '\0' && strcmp(media_cls, cls) != 0)
		arca_import__count(im, IMPORT_NOTE, name,
				   "Media Storage SOP Class UID (0002,0002) %s is not the data set's %s: stored as %s",
				   media_cls, cls, cls);
	else if (media_inst[0] != '\0' && strcmp(media_inst, sop) != 0)
		arca_import__count(im, IMPORT_NOTE, name,
				   "Media Storage SOP Instance UID (0002,0003) %s is not the data set's %s: stored as %s",
				   media_inst, sop, sop);
	/* PS3.3 F.3.2.2: the record's Referenced SOP Instance UID in File */
	if (im->expect_sop != NULL && im->expect_sop[0] != '\0' && strcmp(im->expect_sop, sop) != 0)
		arca_import__count(im, IMPORT_NOTE, name,
				   "the DICOMDIR record names SOP Instance UID %s, the file holds %s: stored as %s",
				   im->expect_sop, sop, sop);
	return IMPORT_KINDS;
}

import_kind arca_import__stream(arca_import *im, const char *name, const uint8_t *head, size_t head_len,
				import_read_fn read_fn, void *ctx)
{
	pacs_ingest_info info;
	pacs_read_opts ro;
	pacs_reader *r = NULL;
	pacs_ds *ds = NULL;
	import_job *job = NULL;
	stream s = { im, NULL };
	uint8_t *buf = NULL;
	uint64_t bytes = head_len;
	import_kind kind;
	char sop[ARCA_IMPORT_UID_MAX + 2];
	int rc;

	memset(&info, 0, sizeof(info));
	info.calling_ae = im->ae;
	info.called_ae = im->conf->ae;
	info.peer_address = "import";
	/* the transfer syntax is the file's: the ingest takes the one the
	 * reader found (pacs_ds_source_ts) */
	if ((rc = im->ingest.ops->begin(im->ingest.ctx, &info, &s.txn)) < 0) {
		arca_import__count(im, IMPORT_UNREADABLE, name, "the ingest cannot begin: %s", arca_error_last());
		return IMPORT_UNREADABLE;
	}
	pacs_read_opts_init(&ro);
	ro.input = PACS_INPUT_AUTO;
	ro.bulk_threshold = IMPORT_BULK_THRESHOLD;
	ro.bulk_fn = to_ingest;
	ro.bulk_ctx = &s;
	ro.max_value_length = IMPORT_MAX_VALUE;
	ro.max_total = IMPORT_MAX_METADATA;
	if ((rc = pacs_reader_new(&r, &ro)) < 0)
		goto unreadable;
	if (head_len > 0 && (rc = pacs_reader_feed(r, head, head_len)) < 0)
		goto unreadable;
	buf = malloc(IMPORT_BLOCK);
	if (buf == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "no memory to read %s", name);
		goto unreadable;
	}
	for (;;) {
		long got = read_fn(ctx, buf, IMPORT_BLOCK);
		if (got < 0) {
			rc = ARCA_EIO;
			goto unreadable;
		}
		if (got == 0)
			break;
		bytes += (uint64_t)got;
		im->done_bytes += (uint64_t)got;
		if ((rc = pacs_reader_feed(r, buf, (size_t)got)) < 0)
			goto unreadable;
		arca_import__progress(im, false);
	}
	if ((rc = pacs_reader_finish(r, &ds)) < 0)
		goto unreadable;
	pacs_reader_free(r);
	r = NULL;
	free(buf);
	buf = NULL;

	kind = check(im, name, ds, sop, sizeof(sop));
	if (kind != IMPORT_KINDS) {
		im->ingest.ops->abort(s.txn);
		pacs_ds_free(ds);
		return kind;
	}
	if ((rc = drop_meta(ds)) < 0)
		goto unreadable;
	job = calloc(1, sizeof(*job));
	if (job == NULL || (job->name = strdup(name)) == NULL ||
	    (im->peer != NULL && (job->peer = strdup(im->peer)) == NULL)) {
		rc = arca_error_set(ARCA_ENOMEM, "no memory to import %s", name);
		goto unreadable;
	}
	job->txn = s.txn;
	job->ds = ds;
	job->bytes = bytes;
	snprintf(job->sop, sizeof(job->sop), "%s", sop);
	(void)arca_import__submit(im, job);
	return IMPORT_KINDS;

unreadable:
	arca_import__count(im, IMPORT_UNREADABLE, name, "%s", arca_error_last());
	if (job != NULL) {
		free(job->name);
		free(job->peer);
		free(job);
	}
	free(buf);
	pacs_reader_free(r);
	pacs_ds_free(ds);
	im->ingest.ops->abort(s.txn);
	return IMPORT_UNREADABLE;
}
