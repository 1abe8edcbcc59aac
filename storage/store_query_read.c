/* store_query_read.c - pacs_query_ops.write_instance: one stored instance
 * as the data set of a C-STORE sub-operation (C-GET, C-MOVE; PS3.4 C.4.2,
 * C.4.3), in the transfer syntax the receiver accepted.
 *
 * Read path, content-addressed store: when the writer alone gives the
 * target syntax (the stored one, or native to native), the data set
 * streams from the manifest (store_instance_send): the metadata object's
 * elements, then each bulk value straight from its chunk, every chunk
 * re-hashed before its bytes go out; nothing is held whole and nothing is
 * hashed twice.  Otherwise (pixel data to decode or encode) the instance
 * is rebuilt (store_instance_write, every chunk re-hashed, the instance
 * hash checked), read back and transcoded.  The interim files backend
 * ([storage] backend = files) keeps each instance as a Part 10 file at
 * INSTANCES/<study>/<series>/<sop>.dcm (store_ingest_files_path), read
 * whole.
 *
 * Conversion: the data set is written as stored when the target is the
 * stored transfer syntax; otherwise pacs_transcode converts it (between
 * uncompressed syntaxes by the writer; decoding and lossless encoding of
 * pixel data frame by frame, pacs_transcode.h).  What it cannot convert
 * fails with ARCA_EUNSUPPORTED before any byte is written, so the
 * sub-operation fails with that reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "pacs_transcode.h"
#include "pacs_ts.h"
#include "pacs_write.h"
#include "store_instance.h"
#include "store_query_priv.h"

/* A UID used as a path component: digits and dots only (PS3.5 9.1), so
 * no component can climb out of the root. */
static bool uid_ok(const char *uid)
{
	if (uid[0] == '\0' || uid[0] == '.')
		return false;
	for (const char *p = uid; *p != '\0'; p++)
		if ((*p < '0' || *p > '9') && *p != '.')
			return false;
	return true;
}

typedef struct mem_buf {
	uint8_t *data;
	size_t len, cap;
} mem_buf;

static int mem_sink(void *ctx, const uint8_t *data, size_t len)
{
	mem_buf *b = ctx;

	if (len > SIZE_MAX / 2 - b->len)
		return arca_error_set(ARCA_ELIMIT, "an instance too large to read into memory");
	if (b->len + len > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 64 * 1024;
		uint8_t *p;
		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for an instance of %zu bytes", b->len + len);
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

/* The instance as a data set, from whichever backend holds it. */
static int read_instance(store_query *sq, const pacs_query_item *item, pacs_ds **out)
{
	char path[sizeof(sq->files_root) + 3 * (PACS_DIMSE_UID_MAX + 1) + 8];
	pacs_read_opts ro;
	mem_buf b = {0};
	int rc, n;

	pacs_read_opts_init(&ro);
	if (sq->cas != NULL) {
		rc = store_instance_write(sq->cas, item->manifest, mem_sink, &b, NULL);
		if (rc == 0)
			rc = pacs_read_buffer(out, b.data, b.len, &ro);
		free(b.data);
		return rc;
	}
	if (sq->files_root[0] == '\0')
		return arca_error_set(ARCA_EUNSUPPORTED,
				      "instance %s: this storage backend cannot read instances back",
				      item->sop_instance_uid);
	if (!uid_ok(item->study_instance_uid) || !uid_ok(item->series_instance_uid) ||
	    !uid_ok(item->sop_instance_uid))
		return arca_error_set(ARCA_EPROTO, "instance \"%s\": the index holds a malformed UID",
				      item->sop_instance_uid);
	n = snprintf(path, sizeof(path), "%s/%s/%s/%s.dcm", sq->files_root, item->study_instance_uid,
		     item->series_instance_uid, item->sop_instance_uid);
	if (n < 0 || (size_t)n >= sizeof(path))
		return arca_error_set(ARCA_ELIMIT, "path of instance %s is too long", item->sop_instance_uid);
	return pacs_read_file(out, path, &ro);
}

int store_query__write_instance(void *ctx, const pacs_query_item *item, const char *ts, pacs_sink_fn sink,
				void *sink_ctx)
{
	store_query *sq = ctx;
	const char *target = ts != NULL ? ts : item->transfer_syntax;
	const char *source;
	pacs_ds *ds = NULL;
	int rc;

	if (sq->cas != NULL) {
		rc = store_instance_send(sq->cas, item->manifest, target, sink, sink_ctx);
		/* ARCA_EUNSUPPORTED comes before any byte: transcode instead */
		if (rc != ARCA_EUNSUPPORTED)
			return rc;
	}
	rc = read_instance(sq, item, &ds);
	if (rc < 0)
		return rc;
	source = pacs_ds_source_ts(ds);
	if (source == NULL || strcmp(source, target) == 0) {
		/* as stored */
		pacs_write_opts wo;
		pacs_write_opts_init(&wo);
		wo.ts_uid = target;
		rc = pacs_write_dataset(ds, &wo, sink, sink_ctx);
	} else {
		pacs_transcode_opts to;
		pacs_transcode_opts_init(&to);
		to.ts_uid = target;
		rc = pacs_transcode_dataset(ds, &to, sink, sink_ctx);
	}
	pacs_ds_free(ds);
	return rc;
}
