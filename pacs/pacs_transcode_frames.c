/* pacs_transcode_frames.c - the frame pipeline of a transcoder.
 *
 * Input arrives as bulk events (pacs_read.h), from the reader, a storage
 * source or a held value replayed.  Native input is cut into frames of
 * the native frame size (PS3.5 8.1.1); encapsulated input (PS3.5 A.4) is
 * assembled fragment by fragment into frames: a fragment starts a new
 * frame where the Basic Offset Table (or the Extended Offset Table) puts
 * one, else (no usable table) every fragment for RLE (A.4.2: one fragment
 * per frame), else every fragment that opens with the codec's start
 * marker.  Each complete frame is decoded if it was compressed, encoded if
 * the target is, and written; only the current frame, its decoded form
 * and one encoded frame are in memory.
 *
 * Native output is written as frames come.  Encapsulated output starts
 * with the Basic Offset Table item: empty for a single frame, whose one
 * fragment follows directly; for several frames the table needs every
 * encoded size, so encoded frames go to an unlinked spool file and are
 * copied out after the table once the last one is done. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_transcode_priv.h"
#include "pacs_ts.h"

#define COPY_CHUNK (64u * 1024u)

typedef enum start_rule {
	START_EACH, /* every non-empty fragment starts a frame */
	START_JPEG, /* SOI: FF D8 FF (ISO 10918-1 B.2.1, ISO 14495-1) */
	START_J2K,  /* SOC+SIZ: FF 4F FF 51, or a JP2 signature box */
} start_rule;

typedef struct tc_pipe {
	pacs_transcoder *t;
	pacs_write_ctx *w;
	bool encapsulated;   /* input */
	start_rule rule;
	bool ended;
	/* the input frame being assembled */
	uint8_t *buf;
	size_t len, cap;
	size_t frag_start;   /* where the current fragment begins in buf */
	uint32_t frag_left;  /* bytes of the current item still to come */
	bool in_bot;         /* the current item is the Basic Offset Table */
	uint64_t item_pos;   /* offset of the next item from the first fragment's item */
	uint64_t frag_pos;   /* offset of the current fragment's item */
	/* Basic Offset Table (PS3.5 A.4, Table A.4-1) */
	uint8_t *bot;
	uint32_t bot_len, bot_got;
	bool bot_ok;
	/* frames */
	uint32_t frames_in;  /* frames taken from the input */
	uint8_t *native;     /* one decoded frame */
	/* multi-frame encapsulated output */
	int spool_fd;
	uint64_t spool_len;
	uint32_t *enc_len;
	uint32_t enc_n, enc_cap;
} tc_pipe;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool output_encapsulated(const tc_pipe *p)
{
	return p->t->mode == PACS_TC_ENCODE || p->t->mode == PACS_TC_RECODE;
}

/* ---- output ---- */

static int spool_open(tc_pipe *p)
{
	const char *dir = p->t->opts.spool_dir;
	char path[4096];
	int n;

	if (dir == NULL)
		dir = getenv("TMPDIR");
	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	n = snprintf(path, sizeof(path), "%s/arca-transcode.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return arca_error_set(ARCA_EINVAL, "spool directory path too long: %.100s", dir);
	p->spool_fd = mkostemp(path, O_CLOEXEC);
	if (p->spool_fd < 0)
		return arca_error_set(ARCA_EIO, "cannot create a spool file in %s: %s (set TMPDIR or "
				      "opts.spool_dir)", dir, strerror(errno));
	/* Unlinked at once: the spool holds patient data and must not
	 * outlive the process. */
	unlink(path);
	return 0;
}

static int spool_frame(tc_pipe *p, const uint8_t *data, size_t len)
{
	size_t done = 0;

	if (p->enc_n == p->enc_cap) {
		uint32_t ncap = p->enc_cap ? p->enc_cap * 2 : 64;
		uint32_t *grown = ncap > p->enc_cap ? realloc(p->enc_len, (size_t)ncap * sizeof(*grown)) : NULL;
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory for the frame table");
		p->enc_len = grown;
		p->enc_cap = ncap;
	}
	while (done < len) {
		ssize_t n = pwrite(p->spool_fd, data + done, len - done, (off_t)(p->spool_len + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return arca_error_set(ARCA_EIO, "writing the transcode spool file: %s",
					      n < 0 ? strerror(errno) : "no space");
		done += (size_t)n;
	}
	p->spool_len += len;
	p->enc_len[p->enc_n++] = (uint32_t)len;
	return 0;
}

/* Writes the Basic Offset Table and the spooled fragments. */
static int spool_flush(tc_pipe *p)
{
	uint8_t *table = NULL, *chunk = NULL;
	uint64_t offset = 0, at = 0;
	uint32_t table_len = 0;
	int rc = 0;

	/* PS3.5 A.4: the table holds the 32-bit offset of each frame's first
	 * item from the first fragment's item; if the last one does not fit
	 * in 32 bits the table stays empty. */
	for (uint32_t i = 0; i + 1 < p->enc_n; i++)
		offset += 8u + p->enc_len[i];
	if (offset <= 0xFFFFFFFFu && (uint64_t)p->enc_n * 4u <= 0xFFFFFFFEu)
		table_len = p->enc_n * 4u;
	if (table_len > 0 && (table = malloc(table_len)) == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for the Basic Offset Table");
	offset = 0;
	for (uint32_t i = 0; table != NULL && i < p->enc_n; i++) {
		for (unsigned b = 0; b < 4; b++)
			table[4 * i + b] = (uint8_t)(offset >> (8 * b));
		offset += 8u + p->enc_len[i];
	}
	rc = pacs_write_fragment(p->w, table_len ? table : NULL, table_len);
	free(table);
	if (rc < 0)
		return rc;
	chunk = malloc(COPY_CHUNK);
	if (chunk == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory copying the spool");
	for (uint32_t i = 0; rc == 0 && i < p->enc_n; i++) {
		uint32_t left = p->enc_len[i];
		rc = pacs_write_fragment(p->w, NULL, left);
		while (rc == 0 && left > 0) {
			size_t want = left < COPY_CHUNK ? left : COPY_CHUNK;
			ssize_t n = pread(p->spool_fd, chunk, want, (off_t)at);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = arca_error_set(ARCA_EIO, "reading the transcode spool file: %s",
						    n < 0 ? strerror(errno) : "short file");
				break;
			}
			rc = pacs_write_bytes(p->w, chunk, (size_t)n);
			at += (uint64_t)n;
			left -= (uint32_t)n;
		}
	}
	free(chunk);
	return rc;
}

static int output_frame(tc_pipe *p, const uint8_t *native)
{
	pacs_transcoder *t = p->t;
	uint8_t *enc = NULL;
	size_t enc_len = 0;
	int rc;

	if (!output_encapsulated(p))
		return pacs_write_bytes(p->w, native, (size_t)t->frame_size);
	rc = pacs_pixel_encode(t->target, &t->native_desc, native, (size_t)t->frame_size, &enc, &enc_len);
	if (rc < 0)
		return arca_error_prefix(rc, "frame %u", p->frames_in);
	if (enc_len > 0xFFFFFFFEu)
		rc = arca_error_set(ARCA_ELIMIT, "encoded frame %u exceeds a fragment's 32-bit length",
				    p->frames_in);
	else if (t->in_desc.frames == 1)
		rc = pacs_write_fragment(p->w, enc, (uint32_t)enc_len);
	else
		rc = spool_frame(p, enc, enc_len);
	free(enc);
	return rc;
}

/* ---- frames ---- */

static int frame_done(tc_pipe *p, const uint8_t *data, size_t len)
{
	pacs_transcoder *t = p->t;
	int rc;

	if (p->frames_in >= t->in_desc.frames)
		return arca_error_set(ARCA_EPROTO, "pixel data holds more frames than Number of Frames "
				      "(0028,0008) = %u", t->in_desc.frames);
	if (p->encapsulated) {
		rc = pacs_pixel_decode(t->source, &t->in_desc, data, len, p->native, (size_t)t->frame_size);
		if (rc < 0)
			return arca_error_prefix(rc, "frame %u", p->frames_in);
		data = p->native;
	}
	rc = output_frame(p, data);
	p->frames_in++;
	return rc;
}

static bool starts_with_marker(const tc_pipe *p, const uint8_t *d, size_t n)
{
	static const uint8_t jp2[4] = { 0x00, 0x00, 0x00, 0x0C };

	switch (p->rule) {
	case START_JPEG:
		return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF;
	case START_J2K:
		return (n >= 4 && d[0] == 0xFF && d[1] == 0x4F && d[2] == 0xFF && d[3] == 0x51) ||
		       (n >= 8 && memcmp(d, jp2, 4) == 0 && d[4] == 0x6A && d[5] == 0x50);
	default:
		return true;
	}
}

/* Whether the fragment just completed (at p->frag_start, n bytes) starts
 * the next frame rather than continuing the open one. */
static bool starts_next_frame(const tc_pipe *p, size_t n)
{
	const pacs_transcoder *t = p->t;
	uint32_t next = p->frames_in + 1; /* index of the frame it would start */

	if (n == 0 || t->in_desc.frames == 1)
		return false;
	if (p->bot_ok)
		return next < t->in_desc.frames && p->frag_pos == le32(p->bot + 4u * next);
	if (t->eot != NULL)
		return next < t->in_desc.frames && p->frag_pos == le64(t->eot + 8u * next);
	return starts_with_marker(p, p->buf + p->frag_start, n);
}

static int fragment_done(tc_pipe *p)
{
	size_t n = p->len - p->frag_start;
	int rc;

	if (p->frag_start > 0 && starts_next_frame(p, n)) {
		rc = frame_done(p, p->buf, p->frag_start);
		if (rc < 0)
			return rc;
		memmove(p->buf, p->buf + p->frag_start, n);
		p->len = n;
	}
	p->frag_start = p->len;
	return 0;
}

/* PS3.5 A.4: offsets ascending from 0, one per frame. */
static void bot_check(tc_pipe *p)
{
	uint32_t frames = p->t->in_desc.frames;

	p->bot_ok = p->bot != NULL && p->bot_len == 4u * frames && le32(p->bot) == 0;
	for (uint32_t i = 1; p->bot_ok && i < frames; i++)
		if (le32(p->bot + 4u * i) <= le32(p->bot + 4u * (i - 1)))
			p->bot_ok = false;
}

static int reserve(tc_pipe *p, uint64_t need)
{
	uint8_t *grown;
	size_t cap;

	if (need > p->t->max_compressed)
		return arca_error_set(ARCA_ELIMIT, "compressed frame %u exceeds %llu bytes (twice its "
				      "decoded size and 1 MiB)", p->frames_in,
				      (unsigned long long)p->t->max_compressed);
	if (need <= p->cap)
		return 0;
	cap = p->cap ? p->cap : 64u * 1024u;
	while (cap < need)
		cap *= 2;
	if (cap > p->t->max_compressed)
		cap = (size_t)p->t->max_compressed;
	grown = realloc(p->buf, cap);
	if (grown == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a %zu-byte compressed frame", cap);
	p->buf = grown;
	p->cap = cap;
	return 0;
}

static int on_fragment(tc_pipe *p, const pacs_bulk_event *ev)
{
	uint32_t n = ev->fragment_length;
	int rc;

	if (p->frag_left != 0)
		return arca_error_set(ARCA_EPROTO, "fragment %u started before the previous one ended",
				      ev->fragment_index);
	if (ev->fragment_index == 0) {
		p->in_bot = true;
		p->frag_left = n;
		/* Keep the table only if it can be right: one entry per frame. */
		if (n > 0 && n == 4u * (uint64_t)p->t->in_desc.frames) {
			p->bot = malloc(n);
			if (p->bot == NULL)
				return arca_error_set(ARCA_ENOMEM, "out of memory for the Basic Offset Table");
			p->bot_len = n;
		}
		if (n == 0)
			p->in_bot = false;
		return 0;
	}
	p->in_bot = false;
	if ((rc = reserve(p, (uint64_t)p->len + n)) < 0)
		return rc;
	p->frag_start = p->len;
	p->frag_pos = p->item_pos;
	p->item_pos += 8u + (uint64_t)n;
	p->frag_left = n;
	return n == 0 ? fragment_done(p) : 0;
}

static int on_data(tc_pipe *p, const uint8_t *data, size_t n)
{
	if (!p->encapsulated) {
		/* Native: cut into frames; bytes after the last frame (the pad
		 * of an odd length) are dropped. */
		while (n > 0 && p->frames_in < p->t->in_desc.frames) {
			size_t take = (size_t)p->t->frame_size - p->len;
			int rc;
			if (take > n)
				take = n;
			memcpy(p->buf + p->len, data, take);
			p->len += take;
			data += take;
			n -= take;
			if (p->len == p->t->frame_size) {
				p->len = 0;
				if ((rc = frame_done(p, p->buf, (size_t)p->t->frame_size)) < 0)
					return rc;
			}
		}
		return 0;
	}
	if (n > p->frag_left)
		return arca_error_set(ARCA_EPROTO, "fragment data runs past its item length");
	p->frag_left -= (uint32_t)n;
	if (p->in_bot) {
		if (p->bot != NULL)
			memcpy(p->bot + p->bot_got, data, n);
		p->bot_got += (uint32_t)n;
		if (p->frag_left == 0) {
			p->in_bot = false;
			bot_check(p);
		}
		return 0;
	}
	memcpy(p->buf + p->len, data, n);
	p->len += n;
	return p->frag_left == 0 ? fragment_done(p) : 0;
}

static int on_end(tc_pipe *p)
{
	pacs_transcoder *t = p->t;
	int rc;

	if (p->frag_left != 0)
		return arca_error_set(ARCA_ETRUNCATED, "pixel data ends inside a fragment");
	if (p->encapsulated && p->len > 0 && (rc = frame_done(p, p->buf, p->len)) < 0)
		return rc;
	if (p->frames_in != t->in_desc.frames)
		return arca_error_set(ARCA_EPROTO, "pixel data holds %u frames; Number of Frames (0028,0008) "
				      "says %u", p->frames_in, t->in_desc.frames);
	p->ended = true;
	if (output_encapsulated(p)) {
		if (t->in_desc.frames > 1)
			return spool_flush(p);
		return 0;
	}
	/* PS3.5 8.1.1: native Pixel Data of odd length gets one pad byte. */
	if ((t->frame_size * t->in_desc.frames) & 1u) {
		static const uint8_t zero = 0;
		return pacs_write_bytes(p->w, &zero, 1);
	}
	return 0;
}

static int on_event(void *ctx, const pacs_bulk_event *ev)
{
	tc_pipe *p = ctx;

	if (p->ended)
		return arca_error_set(ARCA_EPROTO, "pixel data source went on after its end");
	switch (ev->kind) {
	case PACS_BULK_BEGIN:
		return 0;
	case PACS_BULK_FRAGMENT:
		if (!p->encapsulated)
			return arca_error_set(ARCA_EPROTO, "fragment in native pixel data");
		return on_fragment(p, ev);
	case PACS_BULK_DATA:
		return on_data(p, ev->data, ev->data_len);
	case PACS_BULK_END:
		return on_end(p);
	}
	return arca_error_set(ARCA_EINVAL, "unknown bulk event %d", (int)ev->kind);
}

static start_rule rule_for(const char *ts_uid)
{
	const pacs_ts_info *ts = pacs_ts_lookup(ts_uid);

	if (ts == NULL || strcmp(ts->uid, PACS_TS_RLE) == 0)
		return START_EACH;
	if (strncmp(ts->uid, "1.2.840.10008.1.2.4.5", 21) == 0 || strcmp(ts->uid, PACS_TS_JPEG_LOSSLESS_SV1) == 0 ||
	    strncmp(ts->uid, "1.2.840.10008.1.2.4.8", 21) == 0)
		return START_JPEG;
	if (strncmp(ts->uid, "1.2.840.10008.1.2.4.9", 21) == 0 || strncmp(ts->uid, "1.2.840.10008.1.2.4.20", 22) == 0)
		return START_J2K;
	return START_EACH;
}

int pacs_transcode__pixels(pacs_transcoder *t, pacs_write_ctx *w)
{
	tc_pipe p;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	p.t = t;
	p.w = w;
	p.spool_fd = -1;
	p.encapsulated = t->mode == PACS_TC_DECODE || t->mode == PACS_TC_RECODE;
	p.rule = rule_for(t->source);
	if (!p.encapsulated) {
		p.buf = malloc((size_t)t->frame_size);
		if (p.buf == NULL)
			rc = arca_error_set(ARCA_ENOMEM, "out of memory for a %llu-byte frame",
					    (unsigned long long)t->frame_size);
		p.cap = (size_t)t->frame_size;
	} else {
		p.native = malloc((size_t)t->frame_size);
		if (p.native == NULL)
			rc = arca_error_set(ARCA_ENOMEM, "out of memory for a %llu-byte frame",
					    (unsigned long long)t->frame_size);
	}
	if (rc == 0 && output_encapsulated(&p)) {
		if (t->in_desc.frames > 1)
			rc = spool_open(&p);
		else /* PS3.5 A.4: an empty Basic Offset Table for one frame */
			rc = pacs_write_fragment(w, NULL, 0);
	}
	if (rc == 0) {
		if (!(pacs_elem_flags(t->pixels_in) & PACS_ELEM_BULK))
			rc = pacs_transcode__replay_held(t->in, t->pixels_in, on_event, &p);
		else if (t->opts.source_fn == NULL)
			rc = arca_error_set(ARCA_EINVAL, "pixel data is not held in the data set and no source "
					    "was given (opts.source_fn)");
		else
			rc = t->opts.source_fn(t->opts.source_ctx, t->in, t->pixels_in, on_event, &p);
	}
	if (rc == 0 && !p.ended)
		rc = arca_error_set(ARCA_ETRUNCATED, "pixel data source stopped before the end of the value "
				    "(%u of %u frames)", p.frames_in, t->in_desc.frames);
	if (p.spool_fd >= 0)
		close(p.spool_fd);
	free(p.enc_len);
	free(p.bot);
	free(p.native);
	free(p.buf);
	return rc;
}

int pacs_transcode__replay_held(const pacs_ds *parent, const pacs_elem *e, pacs_bulk_fn emit, void *ctx)
{
	pacs_bulk_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.tag = pacs_elem_tag(e);
	ev.vr = pacs_elem_vr(e);
	ev.length = pacs_elem_length(e);
	ev.parent = parent;
	ev.stream_offset = pacs_elem_offset(e);
	ev.kind = PACS_BULK_BEGIN;
	if ((rc = emit(ctx, &ev)) < 0)
		return rc;
	if (pacs_elem_flags(e) & PACS_ELEM_ENCAPSULATED) {
		for (size_t i = 0; i < pacs_elem_fragment_count(e); i++) {
			uint32_t len;
			const uint8_t *data = pacs_elem_fragment(e, i, &len);
			ev.kind = PACS_BULK_FRAGMENT;
			ev.fragment_index = (uint32_t)i;
			ev.fragment_length = len;
			ev.value_offset = 0;
			ev.data = NULL;
			ev.data_len = 0;
			if ((rc = emit(ctx, &ev)) < 0)
				return rc;
			if (len > 0) {
				ev.kind = PACS_BULK_DATA;
				ev.data = data;
				ev.data_len = len;
				if ((rc = emit(ctx, &ev)) < 0)
					return rc;
			}
		}
	} else {
		uint32_t len;
		const uint8_t *data = pacs_elem_value(e, &len);
		if (data != NULL && len > 0) {
			ev.kind = PACS_BULK_DATA;
			ev.data = data;
			ev.data_len = len;
			if ((rc = emit(ctx, &ev)) < 0)
				return rc;
		}
	}
	ev.kind = PACS_BULK_END;
	ev.data = NULL;
	ev.data_len = 0;
	return emit(ctx, &ev);
}
