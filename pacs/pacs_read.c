/* pacs_read.c - the incremental reader: life cycle and input phases.
 *
 * The input goes through phases (pacs_read_priv.h):
 *   START    the first 140 bytes decide: "DICM" at 128 (PS3.10 7.1: a
 *            128-byte preamble, the prefix, then the File Meta group), a
 *            meta group at offset 0 (no preamble), or a bare data set;
 *   META     group 0002, always Explicit VR Little Endian (PS3.10 7.1);
 *   PROBE    the first 64 data set bytes decide the encoding when no
 *            transfer syntax is known, or confirm the meta group's
 *            (pacs_read_probe.c);
 *   DATASET  the element parser on the raw input (pacs_read_parse.c);
 *   INFLATE  the element parser behind zlib (pacs_inflate.c);
 *   DONE     stop_at_pixel_data reached.
 * Bytes gathered to take a decision are replayed into the next phase, so
 * the result never depends on how the input was split. */
#include "pacs_read_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_cursor.h"

#define DEFAULT_MAX_VALUE_LENGTH (64u * 1024u * 1024u)
#define DEFAULT_MAX_DEPTH 64u
#define DEFAULT_MAX_INFLATED (4ull * 1024u * 1024u * 1024u)
#define DEFAULT_MAX_TOTAL (1024ull * 1024u * 1024u)

static int feed(pacs_reader *r, const uint8_t *data, size_t len);

void pacs_read_opts_init(pacs_read_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->input = PACS_INPUT_AUTO;
	opts->max_value_length = DEFAULT_MAX_VALUE_LENGTH;
	opts->max_depth = DEFAULT_MAX_DEPTH;
	opts->max_inflated = DEFAULT_MAX_INFLATED;
	opts->max_total = DEFAULT_MAX_TOTAL;
}

static const char *enc_uid(enum pacs_read__enc enc)
{
	switch (enc) {
	case PACS_READ__IMPLICIT_LE: return PACS_TS_IMPLICIT_LE;
	case PACS_READ__EXPLICIT_BE: return PACS_TS_EXPLICIT_BE;
	default: return PACS_TS_EXPLICIT_LE;
	}
}

/* Sets the root's source transfer syntax from an unterminated UID value
 * (trailing NUL/space padding removed); a UID too long to be one is not
 * recorded. */
static void set_source_ts(pacs_reader *r, const uint8_t *uid, size_t len)
{
	char buf[65];

	while (len > 0 && (uid[len - 1] == '\0' || uid[len - 1] == ' '))
		len--;
	if (len >= sizeof(buf))
		return;
	memcpy(buf, uid, len);
	buf[len] = '\0';
	pacs_ds_set_source_ts(r->root, buf);
}

/* The data set encoding of a transfer syntax UID (PS3.5 Section 10, A). */
static int start_with_ts(pacs_reader *r, const uint8_t *uid, size_t len)
{
	const pacs_ts_info *ts = pacs_ts_lookup_n((const char *)uid, (unsigned)len);
	enum pacs_read__enc enc;
	int rc;

	set_source_ts(r, uid, len);
	if (ts == NULL) {
		/* PS3.5 A.4: a transfer syntax we do not know is a compressed
		 * one, so Explicit VR Little Endian with encapsulated pixel
		 * data; the probe checks that the bytes agree. */
		r->phase = PACS_READ__PROBE;
		r->probe_prefer_explicit = true;
		return 0;
	}
	if (ts->deflated) {
		pacs_read__parse_set_enc(r, PACS_READ__EXPLICIT_LE);
		if ((rc = pacs_read__inflate_begin(r)) < 0)
			return rc;
		r->phase = PACS_READ__INFLATE;
		return 0;
	}
	enc = !ts->explicit_vr ? PACS_READ__IMPLICIT_LE
	      : ts->big_endian ? PACS_READ__EXPLICIT_BE : PACS_READ__EXPLICIT_LE;
	pacs_read__parse_set_enc(r, enc);
	if (r->opts.input == PACS_INPUT_DATASET) {
		r->phase = PACS_READ__DATASET; /* negotiated: trusted */
		return 0;
	}
	r->phase = PACS_READ__PROBE;
	r->probe_declared = (int)enc;
	return 0;
}

int pacs_reader_new(pacs_reader **out, const pacs_read_opts *opts)
{
	pacs_reader *r;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory creating a reader");
	if (opts != NULL)
		r->opts = *opts;
	else
		pacs_read_opts_init(&r->opts);
	if (r->opts.max_value_length == 0)
		r->opts.max_value_length = DEFAULT_MAX_VALUE_LENGTH;
	if (r->opts.max_depth == 0)
		r->opts.max_depth = DEFAULT_MAX_DEPTH;
	if (r->opts.max_inflated == 0)
		r->opts.max_inflated = DEFAULT_MAX_INFLATED;
	if (r->opts.max_total == 0)
		r->opts.max_total = DEFAULT_MAX_TOTAL;
	if (r->opts.ts_uid != NULL) {
		size_t n = strlen(r->opts.ts_uid);
		if (n >= sizeof(r->opts_ts)) {
			free(r);
			return arca_error_set(ARCA_EINVAL, "transfer syntax UID longer than 64 characters");
		}
		memcpy(r->opts_ts, r->opts.ts_uid, n + 1);
		r->opts.ts_uid = r->opts_ts;
	}
	if ((rc = pacs_ds_new(&r->root)) < 0)
		goto fail;
	r->arena = pacs_ds__arena(r->root);
	r->probe_declared = -1;
	if ((rc = pacs_read__parse_init(r, PACS_READ__EXPLICIT_LE)) < 0)
		goto fail;
	r->phase = PACS_READ__START;
	if (r->opts.input == PACS_INPUT_DATASET) {
		r->phase = PACS_READ__PROBE;
		if (r->opts.ts_uid != NULL &&
		    (rc = start_with_ts(r, (const uint8_t *)r->opts_ts, strlen(r->opts_ts))) < 0)
			goto fail;
	}
	*out = r;
	return 0;
fail:
	pacs_reader_free(r);
	return rc;
}

void pacs_reader_free(pacs_reader *r)
{
	if (r == NULL)
		return;
	pacs_read__inflate_free(r);
	pacs_read__parse_free(r);
	pacs_ds_free(r->root);
	free(r);
}

/* ---- phase changes ---- */

static int begin_probe(pacs_reader *r, const uint8_t *data, size_t len, bool prefer_explicit)
{
	r->phase = PACS_READ__PROBE;
	r->probe_prefer_explicit = prefer_explicit;
	return feed(r, data, len);
}

static int begin_meta(pacs_reader *r, const uint8_t *data, size_t len)
{
	pacs_cursor c = pacs_cursor_make(data, len);
	uint8_t v0, v1;

	r->meta = true;
	r->phase = PACS_READ__META;
	/* PS3.10 7.1 wants Explicit VR Little Endian; some old writers used
	 * Implicit VR, recognisable by the bytes where the VR should be. */
	if (pacs_cursor_peek_u8(&c, 4, &v0) && pacs_cursor_peek_u8(&c, 5, &v1) &&
	    pacs_read__vr_from_chars(v0, v1) == PACS_VR_NONE)
		pacs_read__parse_set_enc(r, PACS_READ__IMPLICIT_LE);
	return feed(r, data, len);
}

static int decide_start(pacs_reader *r)
{
	uint8_t buf[PACS_READ__START_NEED];
	size_t n = r->probe_len;
	pacs_cursor c = pacs_cursor_make(buf, n);
	const uint8_t *pre = NULL, *prefix = NULL, *rest = NULL;
	uint8_t g0 = 0, g1 = 0;

	memcpy(buf, r->probe, n);
	r->probe_len = 0;
	if (pacs_cursor_take(&c, 128, &pre) && pacs_cursor_take(&c, 4, &prefix) &&
	    memcmp(prefix, "DICM", 4) == 0) {
		pacs_ds_set_preamble(r->root, pre);
		r->pos = 132;
		n = pacs_cursor_rest(&c, &rest);
		return begin_meta(r, rest, n);
	}
	c = pacs_cursor_make(buf, n);
	if (pacs_cursor_peek_u8(&c, 0, &g0) && pacs_cursor_peek_u8(&c, 1, &g1) && g0 == 0x02 && g1 == 0x00)
		return begin_meta(r, buf, n);
	if (r->opts.input == PACS_INPUT_PART10)
		return arca_error_set(ARCA_EPROTO,
				      "offset 128: not a DICOM Part 10 file (no \"DICM\" prefix and no File Meta group)");
	return begin_probe(r, buf, n, false);
}

static int decide_probe(pacs_reader *r)
{
	uint8_t buf[PACS_READ__PROBE_NEED];
	size_t n = r->probe_len, skip = 0;
	enum pacs_read__enc enc = PACS_READ__EXPLICIT_LE;
	pacs_cursor c = pacs_cursor_make(buf, n);
	const uint8_t *rest = NULL;

	memcpy(buf, r->probe, n);
	r->probe_len = 0;
	if (r->probe_declared >= 0) {
		enc = pacs_read__probe_declared(buf, n, (enum pacs_read__enc)r->probe_declared);
		if (enc != (enum pacs_read__enc)r->probe_declared)
			pacs_ds_set_source_ts(r->root, enc_uid(enc)); /* what it really is */
		r->probe_declared = -1;
	} else if (n > 0 && pacs_read__probe(buf, n, r->probe_prefer_explicit, &enc, &skip) < 0) {
		if (!r->probe_prefer_explicit && pacs_ds_count(r->root) == 0)
			return arca_error_set(ARCA_EPROTO,
					      "offset %" PRIu64 ": not DICOM: no File Meta group and the first bytes "
					      "are not a data element in any encoding", r->pos);
		if (!r->probe_prefer_explicit)
			return arca_error_set(ARCA_EPROTO,
					      "offset %" PRIu64 ": the File Meta group names no transfer syntax and "
					      "the data set is in no encoding the reader knows", r->pos);
		enc = PACS_READ__EXPLICIT_LE;
		skip = 0;
	}
	if (pacs_ds_source_ts(r->root)[0] == '\0')
		pacs_ds_set_source_ts(r->root, enc_uid(enc));
	pacs_read__parse_set_enc(r, enc);
	r->phase = PACS_READ__DATASET;
	r->pos += skip;
	pacs_cursor_skip(&c, skip);
	n = pacs_cursor_rest(&c, &rest);
	return feed(r, rest, n);
}

/* Group 0002 has ended: the transfer syntax it names decides what follows. */
static int after_meta(pacs_reader *r)
{
	uint8_t buf[PACS_READ__STAGE_MAX];
	size_t n = r->replay_len;
	const pacs_elem *e = pacs_ds_find(r->root, PACS_TAG_TRANSFER_SYNTAX);
	const uint8_t *uid;
	uint32_t len;
	int rc;

	memcpy(buf, r->replay, n);
	r->replay_len = 0;
	r->meta = false;
	pacs_read__parse_set_enc(r, PACS_READ__EXPLICIT_LE);
	if (e != NULL && (uid = pacs_elem_value(e, &len)) != NULL && len > 0) {
		if ((rc = start_with_ts(r, uid, len)) < 0)
			return rc;
	} else {
		r->phase = PACS_READ__PROBE;
		r->probe_prefer_explicit = false;
	}
	return feed(r, buf, n);
}

/* ---- input ---- */

static int collect(pacs_reader *r, pacs_cursor *c, size_t need)
{
	size_t k = need - r->probe_len;
	const uint8_t *b = NULL;

	if (k > pacs_cursor_left(c))
		k = pacs_cursor_left(c);
	pacs_cursor_take(c, k, &b);
	memcpy(r->probe + r->probe_len, b, k);
	r->probe_len += k;
	if (r->probe_len < need)
		return 0;
	return r->phase == PACS_READ__START ? decide_start(r) : decide_probe(r);
}

static int feed(pacs_reader *r, const uint8_t *data, size_t len)
{
	pacs_cursor c = pacs_cursor_make(data, len);
	const uint8_t *b = NULL;
	size_t n, used;
	int rc = 0;

	while (rc >= 0 && pacs_cursor_left(&c) > 0) {
		switch (r->phase) {
		case PACS_READ__START:
			rc = collect(r, &c, PACS_READ__START_NEED);
			break;
		case PACS_READ__PROBE:
			rc = collect(r, &c, PACS_READ__PROBE_NEED);
			break;
		case PACS_READ__META:
		case PACS_READ__DATASET:
			n = pacs_cursor_rest(&c, &b);
			rc = pacs_read__parse(r, b, n, &used);
			pacs_cursor_skip(&c, used);
			if (rc == PACS_READ__META_END)
				rc = after_meta(r);
			break;
		case PACS_READ__INFLATE:
			n = pacs_cursor_rest(&c, &b);
			rc = pacs_read__inflate_feed(r, b, n);
			pacs_cursor_skip(&c, n);
			break;
		case PACS_READ__DONE:
			return 0;
		default:
			return arca_error_set(ARCA_EINVAL, "reader used after finish or failure");
		}
		if (rc == PACS_READ__STOPPED) {
			r->phase = PACS_READ__DONE;
			return 0;
		}
	}
	return rc < 0 ? rc : 0;
}

static int failed(pacs_reader *r, int rc)
{
	r->phase = PACS_READ__FAILED;
	r->err = rc;
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", arca_error_last());
	return rc;
}

static int refuse(const pacs_reader *r)
{
	if (r->phase == PACS_READ__FAILED)
		return arca_error_set(r->err, "%s", r->errmsg);
	return arca_error_set(ARCA_EINVAL, "reader already finished");
}

int pacs_reader_feed(pacs_reader *r, const uint8_t *data, size_t len)
{
	bool was_done = r->phase == PACS_READ__DONE;
	int rc;

	if (r->phase == PACS_READ__FAILED || r->phase == PACS_READ__FINISHED)
		return refuse(r);
	if (was_done || len == 0)
		return 0;
	rc = feed(r, data, len);
	if (rc < 0)
		return failed(r, rc);
	if (r->phase == PACS_READ__DONE && r->inflate == NULL)
		r->raw_offset = r->pos; /* the pixel data header was not consumed */
	else
		r->raw_offset += len;
	return 0;
}

uint64_t pacs_reader_skippable(const pacs_reader *r)
{
	if (r->phase != PACS_READ__DATASET && r->phase != PACS_READ__META)
		return 0;
	return pacs_read__parse_skippable(r);
}

int pacs_reader_skip(pacs_reader *r, uint64_t n)
{
	int rc;

	if (r->phase == PACS_READ__FAILED || r->phase == PACS_READ__FINISHED)
		return refuse(r);
	if (n > pacs_reader_skippable(r))
		return arca_error_set(ARCA_EINVAL, "pacs_reader_skip: %" PRIu64 " bytes asked, %" PRIu64 " skippable",
				      n, pacs_reader_skippable(r));
	rc = pacs_read__parse_skip(r, n);
	if (rc < 0)
		return failed(r, rc);
	r->raw_offset += n;
	return 0;
}

int pacs_reader_done(const pacs_reader *r)
{
	return r->phase == PACS_READ__DONE;
}

uint64_t pacs_reader_offset(const pacs_reader *r)
{
	return r->raw_offset;
}

/* Runs the pending decisions with the bytes there are, then checks that
 * the parser stands between top-level elements. */
static int finish_phases(pacs_reader *r)
{
	int rc;

	for (;;) {
		switch (r->phase) {
		case PACS_READ__START:
			if (r->probe_len == 0)
				return arca_error_set(ARCA_ETRUNCATED, "offset 0: empty input");
			if ((rc = decide_start(r)) < 0)
				return rc;
			break;
		case PACS_READ__PROBE:
			if (r->probe_len == 0) {
				r->phase = PACS_READ__DATASET; /* an empty data set */
				break;
			}
			if ((rc = decide_probe(r)) < 0)
				return rc;
			break;
		case PACS_READ__META:
			/* The input is the meta group alone. */
			if (r->stage_len == 0 && r->st == PACS_READ__HEADER && r->nframes == 1) {
				if ((rc = after_meta(r)) < 0)
					return rc;
				break;
			}
			return pacs_read__parse_finish(r);
		case PACS_READ__INFLATE:
			if ((rc = pacs_read__parse_finish(r)) < 0)
				return rc;
			return pacs_read__inflate_finish(r);
		case PACS_READ__DATASET:
			return pacs_read__parse_finish(r);
		case PACS_READ__DONE:
			return 0;
		default:
			return arca_error_set(ARCA_EINVAL, "reader already finished");
		}
		if (r->phase == PACS_READ__DONE)
			return 0;
	}
}

int pacs_reader_finish(pacs_reader *r, pacs_ds **out)
{
	int rc;

	*out = NULL;
	if (r->phase == PACS_READ__FAILED || r->phase == PACS_READ__FINISHED)
		return refuse(r);
	rc = finish_phases(r);
	if (rc < 0)
		return failed(r, rc);
	*out = r->root;
	r->root = NULL;
	r->phase = PACS_READ__FINISHED;
	return 0;
}
