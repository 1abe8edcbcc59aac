/* pacs_transcode.c - planning a transfer syntax conversion and driving the
 * writer (pacs_write.h) through it.
 *
 * The plan decides, from the source and target syntaxes and the Image
 * Pixel Module, whether the pixel data is copied, decoded, encoded or
 * both, and refuses what cannot be done before anything is written.  The
 * transcoder then prepares a copy of the data set with the attributes the
 * conversion changes and its Pixel Data turned into a bulk element, whose
 * value the writer pulls from tc_bulk(): the frame pipeline
 * (pacs_transcode_frames.c) for converted pixel data, a pass-through of
 * the caller's source for every other bulk value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_tags.h"
#include "pacs_transcode_priv.h"
#include "pacs_ts.h"

#define TAG_FMT "(%04X,%04X)"
#define TAG_ARGS(t) PACS_TAG_GROUP(t), PACS_TAG_ELEMENT(t)

void pacs_transcode_opts_init(pacs_transcode_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
}

/* ---- planning ---- */

static const char *ts_label(const char *uid)
{
	const pacs_ts_info *ts = pacs_ts_lookup(uid);

	return ts != NULL ? ts->name : uid[0] ? "unknown transfer syntax" : "unknown (no meta information)";
}

/* An encapsulated value inside a sequence item (an icon, PS3.3 F.7)
 * would have to be converted too; arca converts top-level pixel data only. */
static int find_nested_encapsulated(const pacs_ds *ds, unsigned depth, uint32_t *tag)
{
	for (size_t i = 0; i < pacs_ds_count(ds); i++) {
		const pacs_elem *e = pacs_ds_at(ds, i);
		if (depth > 0 && (pacs_elem_flags(e) & PACS_ELEM_ENCAPSULATED)) {
			*tag = pacs_elem_tag(e);
			return 1;
		}
		for (size_t k = 0; k < pacs_elem_item_count(e); k++)
			if (find_nested_encapsulated(pacs_elem_item(e, k), depth + 1, tag))
				return 1;
	}
	return 0;
}

/* PS3.5 A.4: Extended Offset Table, 64-bit offsets, one per frame,
 * ascending from 0; kept only when it can be right. */
static void plan_eot(pacs_transcoder *t, const pacs_ds *ds)
{
	const pacs_elem *e = pacs_ds_find(ds, PACS_TAG_ExtendedOffsetTable);
	const uint8_t *v;
	uint32_t len;

	t->eot = NULL;
	t->eot_len = 0;
	if (e == NULL || (v = pacs_elem_value(e, &len)) == NULL || len != 8u * (uint64_t)t->in_desc.frames)
		return;
	for (uint32_t i = 0; i < t->in_desc.frames; i++) {
		uint64_t cur = 0, prev = 0;
		for (unsigned b = 0; b < 8; b++) {
			cur |= (uint64_t)v[8 * i + b] << (8 * b);
			if (i > 0)
				prev |= (uint64_t)v[8 * (i - 1) + b] << (8 * b);
		}
		if ((i == 0 && cur != 0) || (i > 0 && cur <= prev))
			return;
	}
	t->eot = v;
	t->eot_len = len;
}

static int plan_pixels(pacs_transcoder *t, const pacs_ds *ds)
{
	int rc = pacs_pixel_desc_from_ds(&t->in_desc, ds);
	uint64_t total;

	if (rc == ARCA_ENOTFOUND)
		return arca_error_set(ARCA_EPROTO, "Pixel Data without the Image Pixel Module (%s)",
				      arca_error_last());
	if (rc < 0)
		return rc;
	switch (t->mode) {
	case PACS_TC_DECODE:
		rc = pacs_pixel_decoded_desc(t->source, &t->in_desc, &t->native_desc);
		t->out_desc = t->native_desc;
		break;
	case PACS_TC_ENCODE:
		t->native_desc = t->in_desc;
		rc = pacs_pixel_encoded_desc(t->target, &t->native_desc, &t->out_desc);
		break;
	default:
		rc = pacs_pixel_decoded_desc(t->source, &t->in_desc, &t->native_desc);
		if (rc == 0)
			rc = pacs_pixel_encoded_desc(t->target, &t->native_desc, &t->out_desc);
		break;
	}
	if (rc == 0)
		rc = pacs_pixel_frame_size(&t->native_desc, &t->frame_size);
	if (rc < 0)
		return arca_error_prefix(rc, "%s to %s", ts_label(t->source), ts_label(t->target));
	total = t->frame_size * t->in_desc.frames;
	if (t->mode == PACS_TC_DECODE && total + (total & 1u) > 0xFFFFFFFEu)
		return arca_error_set(ARCA_ELIMIT, "%u decoded frames of %llu bytes exceed the 32-bit length of "
				      "native Pixel Data", t->in_desc.frames, (unsigned long long)t->frame_size);
	if (t->mode == PACS_TC_ENCODE && pacs_elem_length(t->pixels_in) < total)
		return arca_error_set(ARCA_EPROTO, "Pixel Data holds %u bytes; %u frames of %llu bytes need %llu",
				      pacs_elem_length(t->pixels_in), t->in_desc.frames,
				      (unsigned long long)t->frame_size, (unsigned long long)total);
	/* A compressed frame is rarely larger than its decoded form; the cap
	 * guards memory against a broken offset table or fragment length. */
	t->max_compressed = 2 * t->frame_size + 1024u * 1024u;
	if (t->mode != PACS_TC_ENCODE)
		plan_eot(t, ds);
	return 0;
}

static int plan(pacs_transcoder *t, const pacs_ds *ds, const char *ts_uid)
{
	const pacs_ts_info *tgt, *src;
	bool src_encapsulated, tgt_encapsulated;
	uint32_t nested;

	if (ts_uid == NULL || ts_uid[0] == '\0' || strlen(ts_uid) > 64)
		return arca_error_set(ARCA_EINVAL, "target transfer syntax is empty or longer than 64 characters");
	src = pacs_ts_lookup(pacs_ds_source_ts(ds));
	snprintf(t->source, sizeof(t->source), "%s", src != NULL ? src->uid : pacs_ds_source_ts(ds));
	tgt = pacs_ts_lookup(ts_uid);
	if (tgt == NULL && strcmp(ts_uid, t->source) != 0)
		return arca_error_set(ARCA_EUNSUPPORTED, "unknown transfer syntax %s: arca cannot convert to it",
				      ts_uid);
	snprintf(t->target, sizeof(t->target), "%s", tgt != NULL ? tgt->uid : ts_uid);
	t->in = ds;
	t->pixels_in = pacs_ds_find(ds, PACS_TAG_PIXEL_DATA);
	src_encapsulated = t->pixels_in != NULL && (pacs_elem_flags(t->pixels_in) & PACS_ELEM_ENCAPSULATED);
	tgt_encapsulated = tgt == NULL || tgt->encapsulated;
	if (tgt_encapsulated && (pacs_ds_find(ds, PACS_TAG(0x7FE0, 0x0008)) != NULL ||
				 pacs_ds_find(ds, PACS_TAG(0x7FE0, 0x0009)) != NULL))
		return arca_error_set(ARCA_EUNSUPPORTED, "Float and Double Float Pixel Data have no encapsulated "
				      "form; %s (%s) cannot hold them", ts_label(t->target), t->target);
	if (strcmp(t->source, t->target) != 0 && find_nested_encapsulated(ds, 0, &nested))
		return arca_error_set(ARCA_EUNSUPPORTED, "encapsulated " TAG_FMT " inside a sequence item "
				      "cannot be converted from %s", TAG_ARGS(nested), ts_label(t->source));
	if (t->pixels_in == NULL || (!src_encapsulated && !tgt_encapsulated) ||
	    (src_encapsulated && strcmp(t->source, t->target) == 0)) {
		t->mode = PACS_TC_COPY;
		return 0;
	}
	if (src_encapsulated && src == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "encapsulated pixel data in %s \"%s\" cannot be "
				      "decoded", ts_label(t->source), t->source);
	t->mode = !src_encapsulated ? PACS_TC_ENCODE : tgt_encapsulated ? PACS_TC_RECODE : PACS_TC_DECODE;
	return plan_pixels(t, ds);
}

int pacs_transcode_check(const pacs_ds *ds, const char *ts_uid)
{
	pacs_transcoder t;

	memset(&t, 0, sizeof(t));
	return plan(&t, ds, ts_uid);
}

/* ---- the data set to write ---- */

static int remove_if_present(pacs_ds *ds, uint32_t tag)
{
	int rc = pacs_ds_remove(ds, tag);

	return rc == ARCA_ENOTFOUND ? 0 : rc;
}

/* PS3.3 C.7.6.1.1.5: Lossy Image Compression, "01" once lossy, never
 * reset.  Decoding a lossy syntax sets "01" (and the method, when none is
 * recorded) unless the data set states "00" for a syntax that can also
 * code reversibly (JPEG-LS near-lossless, JPEG 2000, HTJ2K): its creator
 * knows; the DCT processes of JPEG (.50 .51) are always lossy, as DCMTK's
 * decoder also rules.  Encoding reversibly into such a syntax records
 * "00" when nothing is recorded, so that a later decoder keeps it. */
static int mark_lossy(pacs_transcoder *t)
{
	const pacs_ts_info *src = pacs_ts_lookup(t->source), *tgt = pacs_ts_lookup(t->target);
	const char *method = pacs_pixel_lossy_method(t->source);
	char held[8] = "";
	bool dct;
	int rc;

	rc = pacs_ds_get_string(t->out, PACS_TAG_LossyImageCompression, 0, held, sizeof(held));
	if (rc < 0 && rc != ARCA_ENOTFOUND)
		held[0] = '\0';
	if (t->mode == PACS_TC_ENCODE || src == NULL || !src->lossy) {
		if (tgt != NULL && tgt->lossy && t->mode != PACS_TC_COPY && held[0] == '\0')
			return pacs_ds_set_string(t->out, PACS_TAG_LossyImageCompression, PACS_VR_CS, "00");
		return 0;
	}
	dct = strcmp(src->uid, PACS_TS_JPEG_BASELINE) == 0 || strcmp(src->uid, PACS_TS_JPEG_EXTENDED) == 0;
	if (strcmp(held, "01") == 0 || (strcmp(held, "00") == 0 && !dct))
		return 0;
	rc = pacs_ds_set_string(t->out, PACS_TAG_LossyImageCompression, PACS_VR_CS, "01");
	if (rc == 0 && method != NULL && pacs_ds_find(t->out, PACS_TAG_LossyImageCompressionMethod) == NULL)
		rc = pacs_ds_set_string(t->out, PACS_TAG_LossyImageCompressionMethod, PACS_VR_CS, method);
	return rc;
}

static int prepare_out(pacs_transcoder *t)
{
	const pacs_ts_info *src = pacs_ts_lookup(t->source);
	bool encapsulated = t->mode == PACS_TC_ENCODE || t->mode == PACS_TC_RECODE;
	int rc;

	if (encapsulated) {
		rc = pacs_ds_set_bulk(t->out, PACS_TAG_PIXEL_DATA, PACS_VR_OB, PACS_UNDEFINED_LENGTH,
				      PACS_ELEM_ENCAPSULATED | PACS_ELEM_UNDEF_LENGTH);
		/* The writer passes encapsulated values only in their own syntax;
		 * the data set now holds the target's.  A source read in Implicit
		 * VR stays marked as not explicit ("" = unknown) so that its
		 * sequences are not taken for explicit VR UN ones. */
		if (rc == 0)
			rc = pacs_ds_set_source_ts(t->out, src != NULL && src->explicit_vr ? t->target : "");
		/* (7FE0,0000) would need the encoded size before encoding. */
		if (rc == 0)
			rc = remove_if_present(t->out, PACS_TAG(0x7FE0, 0x0000));
	} else {
		uint64_t total = t->frame_size * t->in_desc.frames;
		rc = pacs_ds_set_bulk(t->out, PACS_TAG_PIXEL_DATA, t->out_desc.bits_allocated > 8 ? PACS_VR_OW : PACS_VR_OB,
				      (uint32_t)(total + (total & 1u)), 0);
	}
	if (rc == 0)
		rc = pacs_pixel_desc_to_ds(t->out, &t->out_desc);
	/* The offset tables describe the old fragments. */
	if (rc == 0)
		rc = remove_if_present(t->out, PACS_TAG_ExtendedOffsetTable);
	if (rc == 0)
		rc = remove_if_present(t->out, PACS_TAG_ExtendedOffsetTableLengths);
	if (rc == 0)
		rc = mark_lossy(t);
	return rc;
}

/* ---- the writer's bulk source ---- */

static int pass_event(void *ctx, const pacs_bulk_event *ev)
{
	pacs_write_ctx *w = ctx;

	switch (ev->kind) {
	case PACS_BULK_FRAGMENT:
		return pacs_write_fragment(w, NULL, ev->fragment_length);
	case PACS_BULK_DATA:
		return pacs_write_bytes(w, ev->data, ev->data_len);
	default:
		return 0;
	}
}

static int tc_bulk(void *ctx, pacs_write_ctx *w, const pacs_ds *parent, const pacs_elem *e)
{
	pacs_transcoder *t = ctx;

	if (parent == t->out && pacs_elem_tag(e) == PACS_TAG_PIXEL_DATA && t->mode != PACS_TC_COPY)
		return pacs_transcode__pixels(t, w);
	if (t->opts.source_fn == NULL)
		return arca_error_set(ARCA_EINVAL, TAG_FMT " is not held in the data set and no source was given "
				      "(opts.source_fn)", TAG_ARGS(pacs_elem_tag(e)));
	return t->opts.source_fn(t->opts.source_ctx, parent, e, pass_event, w);
}

static int count_event(void *ctx, const pacs_bulk_event *ev)
{
	uint64_t *size = ctx;

	if (ev->kind == PACS_BULK_FRAGMENT)
		*size += 8u + (uint64_t)ev->fragment_length;
	return 0;
}

/* Encoded size of an encapsulated value passed through (items and the
 * sequence delimiter), for a group length that covers it. */
static int tc_bulk_size(void *ctx, const pacs_ds *parent, const pacs_elem *e, uint64_t *size)
{
	pacs_transcoder *t = ctx;
	int rc;

	*size = 8; /* sequence delimitation item */
	if (t->opts.source_fn == NULL || (parent == t->out && pacs_elem_tag(e) == PACS_TAG_PIXEL_DATA &&
					  t->mode != PACS_TC_COPY))
		return arca_error_set(ARCA_EUNSUPPORTED, "the encoded size of " TAG_FMT " is not known before "
				      "it is written", TAG_ARGS(pacs_elem_tag(e)));
	rc = t->opts.source_fn(t->opts.source_ctx, parent, e, count_event, size);
	return rc;
}

/* ---- life cycle ---- */

int pacs_transcoder_new(pacs_transcoder **out, const pacs_ds *ds, const pacs_transcode_opts *opts)
{
	pacs_transcoder *t;
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a transcoder");
	rc = plan(t, ds, opts->ts_uid);
	if (rc == 0)
		rc = pacs_ds_clone(&t->out, ds);
	if (rc == 0 && t->mode != PACS_TC_COPY)
		rc = prepare_out(t);
	if (rc < 0) {
		pacs_transcoder_free(t);
		return rc;
	}
	t->opts = *opts;
	t->opts.ts_uid = t->target;
	*out = t;
	return 0;
}

void pacs_transcoder_free(pacs_transcoder *t)
{
	if (t == NULL)
		return;
	pacs_ds_free(t->out);
	free(t);
}

const pacs_ds *pacs_transcoder_ds(const pacs_transcoder *t)
{
	return t->out;
}

void pacs_transcoder_write_opts(const pacs_transcoder *t, pacs_write_opts *out)
{
	pacs_write_opts_init(out);
	out->ts_uid = t->target;
	out->flags = t->opts.write_flags;
	out->deflate_level = t->opts.deflate_level;
	out->bulk_fn = tc_bulk;
	out->bulk_size_fn = tc_bulk_size;
	/* The writer's callbacks take a non-const context; the transcoder is
	 * the caller's and lives for the write. */
	out->bulk_ctx = (void *)t;
}

static int run(const pacs_ds *ds, const pacs_transcode_opts *opts, pacs_sink_fn sink, void *ctx, bool part10)
{
	pacs_transcoder *t;
	pacs_write_opts w;
	int rc = pacs_transcoder_new(&t, ds, opts);

	if (rc < 0)
		return rc;
	pacs_transcoder_write_opts(t, &w);
	rc = part10 ? pacs_write_part10(t->out, &w, sink, ctx) : pacs_write_dataset(t->out, &w, sink, ctx);
	pacs_transcoder_free(t);
	return rc;
}

int pacs_transcode_part10(const pacs_ds *ds, const pacs_transcode_opts *opts, pacs_sink_fn sink, void *ctx)
{
	return run(ds, opts, sink, ctx, true);
}

int pacs_transcode_dataset(const pacs_ds *ds, const pacs_transcode_opts *opts, pacs_sink_fn sink, void *ctx)
{
	return run(ds, opts, sink, ctx, false);
}
