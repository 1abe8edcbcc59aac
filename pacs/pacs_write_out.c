/* pacs_write_out.c - the writer's output stage: a fixed buffer in front of
 * the caller's sink, and the raw deflate of Deflated Explicit VR Little
 * Endian (PS3.5 A.5: the data set after the File Meta Information is
 * compressed with the Deflate algorithm of RFC 1951, no zlib header). */
#define ZLIB_CONST
#include "pacs_write_priv.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "arca_err.h"

struct pacs_write_zs {
	z_stream zs;
	uint8_t out[PACS_WRITE_BUF_SIZE];
};

/* zlib counts input in uInt; feed it at most this much per call. */
#define ZLIB_CHUNK (1u << 30)

int pacs_write__out_init(pacs_write_ctx *w, pacs_sink_fn sink, void *ctx)
{
	w->sink = sink;
	w->sink_ctx = ctx;
	w->used = 0;
	w->z = NULL;
	w->buf = malloc(PACS_WRITE_BUF_SIZE);
	if (w->buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for the output buffer");
	return 0;
}

void pacs_write__out_release(pacs_write_ctx *w)
{
	if (w->z != NULL) {
		deflateEnd(&w->z->zs);
		free(w->z);
		w->z = NULL;
	}
	free(w->buf);
	w->buf = NULL;
}

static int sink_call(pacs_write_ctx *w, const uint8_t *data, size_t len)
{
	int rc;

	if (len == 0)
		return 0;
	rc = w->sink(w->sink_ctx, data, len);
	if (rc < 0) {
		/* The sink should have said why; make sure something is said. */
		if (arca_error_last_code() != rc)
			arca_error_set(rc, "output sink failed (%s)", arca_strerror(rc));
		return rc;
	}
	return 0;
}

/* Runs deflate over data with `flush` and hands every output block to the sink. */
static int deflate_feed(pacs_write_ctx *w, const uint8_t *data, size_t len, int flush)
{
	z_stream *zs = &w->z->zs;

	do {
		size_t chunk = len > ZLIB_CHUNK ? ZLIB_CHUNK : len;
		int feed_flush = chunk == len ? flush : Z_NO_FLUSH;
		int zrc;

		zs->next_in = data;
		zs->avail_in = (uInt)chunk;
		do {
			size_t have;
			zs->next_out = w->z->out;
			zs->avail_out = sizeof(w->z->out);
			zrc = deflate(zs, feed_flush);
			if (zrc == Z_STREAM_ERROR)
				return arca_error_set(ARCA_EGENERIC, "deflate failed: %s",
						      zs->msg ? zs->msg : "stream error");
			have = sizeof(w->z->out) - zs->avail_out;
			int rc = sink_call(w, w->z->out, have);
			if (rc < 0)
				return rc;
		} while (zs->avail_out == 0 || (feed_flush == Z_FINISH && zrc != Z_STREAM_END));
		if (data != NULL)
			data += chunk;
		len -= chunk;
	} while (len > 0);
	return 0;
}

static int emit(pacs_write_ctx *w, const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (w->z != NULL)
		return deflate_feed(w, data, len, Z_NO_FLUSH);
	return sink_call(w, data, len);
}

static int flush_buffer(pacs_write_ctx *w)
{
	int rc = emit(w, w->buf, w->used);

	w->used = 0;
	return rc;
}

int pacs_write__put(pacs_write_ctx *w, const uint8_t *data, size_t len)
{
	int rc;

	if (len <= PACS_WRITE_BUF_SIZE - w->used) {
		if (len > 0)
			memcpy(w->buf + w->used, data, len);
		w->used += len;
		return 0;
	}
	rc = flush_buffer(w);
	if (rc < 0)
		return rc;
	/* A large value goes to the sink directly instead of through the
	 * buffer in pieces. */
	if (len >= PACS_WRITE_BUF_SIZE / 2)
		return emit(w, data, len);
	memcpy(w->buf, data, len);
	w->used = len;
	return 0;
}

int pacs_write__put_swapped(pacs_write_ctx *w, const uint8_t *data, size_t len, unsigned unit)
{
	size_t done = 0;

	if (unit <= 1)
		return pacs_write__put(w, data, len);
	while (len - done >= unit) {
		size_t room, n;
		if (PACS_WRITE_BUF_SIZE - w->used < unit) {
			int rc = flush_buffer(w);
			if (rc < 0)
				return rc;
		}
		room = PACS_WRITE_BUF_SIZE - w->used;
		n = len - done < room ? len - done : room;
		n -= n % unit;
		for (size_t i = 0; i < n; i += unit)
			for (unsigned k = 0; k < unit; k++)
				w->buf[w->used + i + k] = data[done + i + unit - 1 - k];
		w->used += n;
		done += n;
	}
	/* A trailing partial word (an odd length) goes out unswapped. */
	return done < len ? pacs_write__put(w, data + done, len - done) : 0;
}

int pacs_write__deflate_begin(pacs_write_ctx *w, int level)
{
	int rc = flush_buffer(w);

	if (rc < 0)
		return rc;
	if (level < -1 || level > 9)
		return arca_error_set(ARCA_EINVAL, "deflate level %d out of range (0 for the default, 1-9)", level);
	w->z = calloc(1, sizeof(*w->z));
	if (w->z == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for deflate");
	/* Negative window bits: raw deflate without zlib header or checksum,
	 * as PS3.5 A.5 requires. */
	if (deflateInit2(&w->z->zs, level == 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED,
			 -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(w->z);
		w->z = NULL;
		return arca_error_set(ARCA_ENOMEM, "deflateInit2 failed");
	}
	return 0;
}

int pacs_write__out_finish(pacs_write_ctx *w)
{
	int rc = flush_buffer(w);

	if (rc < 0 || w->z == NULL)
		return rc;
	rc = deflate_feed(w, NULL, 0, Z_FINISH);
	deflateEnd(&w->z->zs);
	free(w->z);
	w->z = NULL;
	return rc;
}
