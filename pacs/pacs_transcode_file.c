/* pacs_transcode_file.c - file to file conversion (`arca transcode`): the
 * input is read once for its metadata, with values of 64 KiB and more
 * (pixel data above all) skipped, and those values are read from the file
 * again, element by element, while the output is written.  So a file of
 * any size converts with a few frames in memory.
 *
 * Re-reading an element: in an uncompressed file the element starts at
 * the offset the first pass recorded, so a reader for a bare data set in
 * the file's syntax is started there and stopped at the element's end.
 * Offsets of a deflated file count inflated bytes (pacs_read.h), so there
 * the file is read again from its start and the element is picked out by
 * its offset. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_transcode.h"
#include "pacs_ts.h"

#define FILE_BULK_THRESHOLD (64u * 1024u)
#define FILE_READ_CHUNK (256u * 1024u)

typedef struct file_source {
	const char *path;
	int fd;
	char ts[65];
	bool deflated;
	int err_rc;      /* the pipeline's error while the file was re-read */
	char err[400];   /* and its message, before anyone prefixed it */
} file_source;

typedef struct file_filter {
	uint32_t tag;
	uint64_t offset;     /* stream offset of the element's tag */
	pacs_bulk_fn emit;
	void *emit_ctx;
	bool active, done;
	file_source *src;
} file_filter;

/* Forwards the events of one element and stops the reader after its end. */
static int filter_event(void *ctx, const pacs_bulk_event *ev)
{
	file_filter *f = ctx;
	int rc;

	if (f->done)
		return ARCA_ECANCELLED;
	if (!f->active) {
		if (ev->kind != PACS_BULK_BEGIN || ev->tag != f->tag || ev->stream_offset != f->offset)
			return 0;
		f->active = true;
	}
	rc = f->emit(f->emit_ctx, ev);
	if (rc < 0) {
		/* Kept as said: the reader's prefix would name an offset
		 * inside the re-read, which means nothing to the user. */
		f->src->err_rc = rc;
		snprintf(f->src->err, sizeof(f->src->err), "%s", arca_error_last());
		return rc;
	}
	if (ev->kind == PACS_BULK_END) {
		f->done = true;
		/* Stop the reader: the rest of the file is not needed. */
		return ARCA_ECANCELLED;
	}
	return 0;
}

static int file_source_fn(void *ctx, const pacs_ds *parent, const pacs_elem *e, pacs_bulk_fn emit, void *emit_ctx)
{
	file_source *s = ctx;
	file_filter f = { pacs_elem_tag(e), 0, emit, emit_ctx, false, false, s };
	pacs_read_opts ro;
	pacs_reader *r = NULL;
	pacs_ds *rest = NULL;
	uint8_t *buf = NULL;
	uint64_t at;
	int rc;

	(void)parent;
	pacs_read_opts_init(&ro);
	ro.bulk_fn = filter_event;
	ro.bulk_ctx = &f;
	if (s->deflated) {
		ro.bulk_threshold = FILE_BULK_THRESHOLD; /* the same elements as the first pass */
		f.offset = pacs_elem_offset(e);
		at = 0;
	} else {
		ro.input = PACS_INPUT_DATASET;
		/* An element the first pass read without an explicit VR in an
		 * explicit syntax sits in a sequence sent as UN, whose items are
		 * Implicit VR Little Endian (PS3.5 6.2.2). */
		ro.ts_uid = (pacs_elem_flags(e) & PACS_ELEM_IMPLICIT_VR) ? PACS_TS_IMPLICIT_LE : s->ts;
		ro.bulk_threshold = 1;
		f.offset = 0;
		at = pacs_elem_offset(e);
	}
	buf = malloc(FILE_READ_CHUNK);
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory reading %s", s->path);
	rc = pacs_reader_new(&r, &ro);
	while (rc == 0 && !f.done) {
		ssize_t n = pread(s->fd, buf, FILE_READ_CHUNK, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = arca_error_set(ARCA_EIO, "%s: read failed at offset %llu: %s", s->path,
					    (unsigned long long)at, strerror(errno));
			break;
		}
		if (n == 0) {
			rc = pacs_reader_finish(r, &rest);
			pacs_ds_free(rest);
			if (rc == 0 && !f.done)
				rc = arca_error_set(ARCA_ETRUNCATED, "%s: (%04X,%04X) at offset %llu is no longer "
						    "in the file", s->path, PACS_TAG_GROUP(f.tag),
						    PACS_TAG_ELEMENT(f.tag), (unsigned long long)pacs_elem_offset(e));
			break;
		}
		at += (uint64_t)n;
		rc = pacs_reader_feed(r, buf, (size_t)n);
	}
	if (f.done && rc == ARCA_ECANCELLED) {
		arca_error_clear();
		rc = 0;
	} else if (rc < 0 && s->err_rc == rc) {
		arca_error_set(rc, "%s", s->err);
	}
	pacs_reader_free(r);
	free(buf);
	return rc;
}

int pacs_transcode_file(const char *in_path, const char *out_path, const pacs_transcode_opts *opts)
{
	file_source src = { in_path, -1, "", false, 0, "" };
	pacs_transcode_opts topts = *opts;
	pacs_transcoder *t = NULL;
	pacs_write_opts wopts;
	pacs_read_opts ro;
	pacs_ds *ds = NULL;
	const pacs_ts_info *ts;
	int rc;

	pacs_read_opts_init(&ro);
	/* No callback: bulk values are skipped (seeked over) in this pass. */
	ro.bulk_threshold = FILE_BULK_THRESHOLD;
	rc = pacs_read_file(&ds, in_path, &ro);
	if (rc < 0)
		return rc;
	snprintf(src.ts, sizeof(src.ts), "%s", pacs_ds_source_ts(ds));
	ts = pacs_ts_lookup(src.ts);
	src.deflated = ts != NULL && ts->deflated;
	src.fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (src.fd < 0) {
		rc = arca_error_set(ARCA_EIO, "%s: cannot open: %s", in_path, strerror(errno));
		goto cleanup;
	}
	topts.source_fn = file_source_fn;
	topts.source_ctx = &src;
	rc = pacs_transcoder_new(&t, ds, &topts);
	if (rc < 0) {
		arca_error_prefix(rc, "%s", in_path);
		goto cleanup;
	}
	pacs_transcoder_write_opts(t, &wopts);
	rc = pacs_write_file(pacs_transcoder_ds(t), out_path, &wopts);
	/* A frame that failed is the input's fault: name the input. */
	if (rc < 0 && rc == src.err_rc)
		arca_error_set(rc, "%s: %s", in_path, src.err);
cleanup:
	pacs_transcoder_free(t);
	if (src.fd >= 0)
		close(src.fd);
	pacs_ds_free(ds);
	return rc;
}
