/* pacs_scu_file.c - C-STORE of a DICOM file (see pacs_scu_store_file()
 * in pacs_scu.h).
 *
 * The file is read once for its metadata (bulk values skipped with lseek,
 * so a truncated file is refused before anything is sent), then its data
 * set is streamed to pacs_scu_store():
 *   - as is, straight from the file, when the peer accepted the file's
 *     transfer syntax: the bytes after the File Meta Information are the
 *     data set a Part 10 file carries (PS3.10 7.1), in that syntax;
 *   - re-encoded by pacs_write when only another uncompressed syntax was
 *     accepted; each bulk value is then read again from the file while the
 *     writer needs it (a second reader pass that forwards just that value),
 *     so memory stays bounded by the bulk threshold. */
#include "pacs_scu_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "pacs_ts.h"
#include "pacs_write.h"

/* Values of bulk VRs at least this long are not held in memory. */
#define SCU_BULK_THRESHOLD (64u * 1024u)
#define SCU_FILE_BLOCK (256u * 1024u)

#define TAG_SOP_CLASS PACS_TAG(0x0008, 0x0016)
#define TAG_SOP_INSTANCE PACS_TAG(0x0008, 0x0018)
#define TAG_MEDIA_SOP_CLASS PACS_TAG(0x0002, 0x0002)
#define TAG_MEDIA_SOP_INSTANCE PACS_TAG(0x0002, 0x0003)

static void read_opts(pacs_read_opts *o, bool stop_at_pixels)
{
	pacs_read_opts_init(o);
	o->input = PACS_INPUT_AUTO;
	o->bulk_threshold = SCU_BULK_THRESHOLD;
	o->bulk_fn = NULL; /* skipped, re-read when sent */
	o->stop_at_pixel_data = stop_at_pixels ? 1 : 0;
}

/* (0008,xxxx), else the File Meta's (0002,xxxx) copy. */
static int get_uid(const pacs_ds *ds, uint32_t tag, uint32_t meta_tag, char *buf, size_t size)
{
	int rc = pacs_ds_get_string(ds, tag, 0, buf, size);

	if (rc == ARCA_ENOTFOUND || (rc == 0 && buf[0] == '\0'))
		rc = pacs_ds_get_string(ds, meta_tag, 0, buf, size);
	if (rc == 0 && buf[0] == '\0')
		rc = ARCA_ENOTFOUND;
	return rc;
}

static int file_info(pacs_scu_file_info *out, const pacs_ds *ds, const char *path)
{
	const char *ts = pacs_ds_source_ts(ds);

	memset(out, 0, sizeof(*out));
	if (get_uid(ds, TAG_SOP_CLASS, TAG_MEDIA_SOP_CLASS, out->sop_class_uid, sizeof(out->sop_class_uid)) < 0)
		return arca_error_set(ARCA_EPROTO, "%s: no SOP Class UID (0008,0016) of at most 64 characters", path);
	if (get_uid(ds, TAG_SOP_INSTANCE, TAG_MEDIA_SOP_INSTANCE, out->sop_instance_uid,
		    sizeof(out->sop_instance_uid)) < 0)
		return arca_error_set(ARCA_EPROTO, "%s: no SOP Instance UID (0008,0018) of at most 64 characters", path);
	if (ts == NULL || ts[0] == '\0' || strlen(ts) >= sizeof(out->transfer_syntax))
		return arca_error_set(ARCA_EPROTO, "%s: the transfer syntax of the data set is not known", path);
	snprintf(out->transfer_syntax, sizeof(out->transfer_syntax), "%s", ts);
	return 0;
}

int pacs_scu_probe_file(pacs_scu_file_info *out, const char *path)
{
	pacs_read_opts o;
	pacs_ds *ds = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	read_opts(&o, true);
	if ((rc = pacs_read_file(&ds, path, &o)) < 0)
		return rc;
	rc = file_info(out, ds, path);
	pacs_ds_free(ds);
	return rc;
}

/* ------------------------------------------------------------ as is */

/* Where the data set starts in the file: after group 0002 (PS3.10 7.1).
 * For an uncompressed file that is the first other element's offset (past
 * a stray byte before a bare data set too).  For a deflated one the
 * offsets past the meta group count inflated bytes, so the end of the
 * meta group is computed from its last element, which is always Explicit
 * VR Little Endian (PS3.10 7.1). */
static uint64_t data_set_start(const pacs_ds *ds, bool deflated)
{
	uint64_t meta_end = 0;

	for (size_t i = 0; i < pacs_ds_count(ds); i++) {
		const pacs_elem *e = pacs_ds_at(ds, i);
		uint32_t tag = pacs_elem_tag(e);

		if (PACS_TAG_GROUP(tag) != 0x0002) {
			if (!deflated)
				return pacs_elem_offset(e);
			break;
		}
		uint64_t end = pacs_elem_offset(e) + (pacs_vr_has_long_length(pacs_elem_vr(e)) ? 12u : 8u) +
			       pacs_elem_length(e);
		if (end > meta_end)
			meta_end = end;
	}
	return meta_end;
}

typedef struct raw_src {
	const char *path;
	uint64_t start;
	bool deflated;
} raw_src;

static int raw_write(void *ctx, pacs_sink_fn sink, void *sink_ctx)
{
	const raw_src *src = ctx;
	uint8_t *block = NULL;
	int fd, rc = 0;

	fd = open(src->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "%s: %s", src->path, strerror(errno));
	if (lseek(fd, (off_t)src->start, SEEK_SET) < 0) {
		rc = arca_error_set(ARCA_EIO, "%s: lseek: %s", src->path, strerror(errno));
		goto cleanup;
	}
	block = malloc(SCU_FILE_BLOCK);
	if (block == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory");
		goto cleanup;
	}
	uint64_t total = 0;
	for (;;) {
		ssize_t got = read(fd, block, SCU_FILE_BLOCK);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = arca_error_set(ARCA_EIO, "%s: read: %s", src->path, strerror(errno));
			break;
		}
		if (got == 0) {
			/* PS3.5 A.5: a deflated stream of odd length is padded
			 * with one trailing NUL byte; files that left it out
			 * get it here (DCMTK refuses an odd last fragment).  An
			 * odd uncompressed data set (an odd fragment, PS3.5 A.4
			 * violated) is sent as it is: a pad would follow the
			 * last element and be read as the start of another. */
			if (src->deflated && (total & 1u) != 0) {
				static const uint8_t pad = 0;
				rc = sink(sink_ctx, &pad, 1);
			}
			break;
		}
		total += (uint64_t)got;
		if ((rc = sink(sink_ctx, block, (size_t)got)) < 0)
			break;
	}
cleanup:
	free(block);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ converted */

typedef struct reread {
	const char *path;
	uint64_t offset;    /* the element's tag offset, from the first pass */
	uint32_t tag;
	pacs_write_ctx *w;
	bool active;
	bool done;
	int err;
} reread;

/* Bulk events of the second pass: forwards the one element's value to the
 * writer, then stops the pass. */
static int reread_event(void *ctx, const pacs_bulk_event *ev)
{
	reread *r = ctx;
	int rc = 0;

	if (!r->active) {
		if (ev->kind == PACS_BULK_BEGIN && ev->stream_offset == r->offset && ev->tag == r->tag)
			r->active = true;
		return 0;
	}
	switch (ev->kind) {
	case PACS_BULK_FRAGMENT:
		rc = pacs_write_fragment(r->w, NULL, ev->fragment_length);
		break;
	case PACS_BULK_DATA:
		rc = pacs_write_bytes(r->w, ev->data, ev->data_len);
		break;
	case PACS_BULK_END:
		r->done = true;
		return ARCA_ECANCELLED; /* nothing more is needed from this pass */
	case PACS_BULK_BEGIN:
		break;
	}
	if (rc < 0)
		r->err = rc;
	return rc;
}

typedef struct convert_src {
	const char *path;
	const pacs_ds *ds;
	const char *ts;
} convert_src;

static int reread_bulk(void *ctx, pacs_write_ctx *w, const pacs_ds *parent, const pacs_elem *e)
{
	const convert_src *src = ctx;
	reread r = { .path = src->path, .offset = pacs_elem_offset(e), .tag = pacs_elem_tag(e), .w = w };
	pacs_read_opts o;
	pacs_ds *ds = NULL;
	int rc;

	(void)parent;
	read_opts(&o, false);
	o.bulk_fn = reread_event;
	o.bulk_ctx = &r;
	rc = pacs_read_file(&ds, src->path, &o);
	pacs_ds_free(ds);
	if (r.done)
		return 0;
	if (r.err < 0)
		return r.err;
	if (rc < 0)
		return rc;
	return arca_error_set(ARCA_EIO, "%s: the value of (%04X,%04X) at offset %llu was not found on reading the file again (did it change?)",
			      src->path, PACS_TAG_GROUP(r.tag), PACS_TAG_ELEMENT(r.tag), (unsigned long long)r.offset);
}

static int convert_write(void *ctx, pacs_sink_fn sink, void *sink_ctx)
{
	const convert_src *src = ctx;
	pacs_write_opts o;

	pacs_write_opts_init(&o);
	o.ts_uid = src->ts;
	o.bulk_fn = reread_bulk;
	o.bulk_ctx = (void *)src;
	return pacs_write_dataset(src->ds, &o, sink, sink_ctx);
}

/* An uncompressed syntax arca's writer produces. */
static bool ts_native(const char *uid)
{
	const pacs_ts_info *t = pacs_ts_lookup(uid);

	return t != NULL && !t->encapsulated;
}

int pacs_scu_store_file(pacs_scu *scu, const char *path, pacs_dimse_cmd *rsp)
{
	pacs_scu_file_info info;
	pacs_scu_store_rq rq;
	pacs_read_opts o;
	pacs_ds *ds = NULL;
	int rc;

	if (scu == NULL || path == NULL || rsp == NULL)
		return arca_error_set(ARCA_EINVAL, "scu: store_file needs a client, a path and a response");
	if (!pacs_scu_established(scu))
		return arca_error_set(ARCA_EINVAL, "scu: C-STORE of %s: no association (it has ended or was never made)", path);
	read_opts(&o, false);
	if ((rc = pacs_read_file(&ds, path, &o)) < 0)
		return rc;
	if ((rc = file_info(&info, ds, path)) < 0)
		goto cleanup;

	memset(&rq, 0, sizeof(rq));
	rq.sop_class_uid = info.sop_class_uid;
	rq.sop_instance_uid = info.sop_instance_uid;
	rq.priority = PACS_DIMSE_PRIORITY_MEDIUM;

	if (pacs_scu__ctx_for(scu, info.sop_class_uid, info.transfer_syntax) != NULL) {
		const pacs_ts_info *t = pacs_ts_lookup(info.transfer_syntax);
		bool deflated = t != NULL && t->deflated;
		raw_src src = { .path = path, .start = data_set_start(ds, deflated), .deflated = deflated };

		rq.transfer_syntax = info.transfer_syntax;
		rq.write = raw_write;
		rq.write_ctx = &src;
		rc = pacs_scu_store(scu, &rq, rsp);
		goto cleanup;
	}
	if (ts_native(info.transfer_syntax)) {
		for (size_t i = 0; i < scu->n_ctx; i++) {
			const scu_ctx *c = &scu->ctx[i];

			if (c->info.transfer_syntax == NULL || strcmp(c->abstract, info.sop_class_uid) != 0 ||
			    !ts_native(c->accepted_ts))
				continue;
			convert_src src = { .path = path, .ds = ds, .ts = c->accepted_ts };
			rq.transfer_syntax = c->accepted_ts;
			rq.write = convert_write;
			rq.write_ctx = &src;
			rc = pacs_scu_store(scu, &rq, rsp);
			goto cleanup;
		}
	}
	rc = arca_error_set(ARCA_EUNSUPPORTED, "%s: %s accepted no presentation context for SOP class %s in transfer syntax %s%s",
			    path, scu->called_ae, info.sop_class_uid, info.transfer_syntax,
			    ts_native(info.transfer_syntax) ? " or another uncompressed one" : "");
cleanup:
	if (rc < 0 && rc != ARCA_EUNSUPPORTED && strncmp(arca_error_last(), path, strlen(path)) != 0)
		arca_error_prefix(rc, "%s", path);
	pacs_ds_free(ds);
	return rc;
}
