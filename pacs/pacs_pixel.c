/* pacs_pixel.c - the pixel description of a data set (PS3.3 C.7.6.3) and
 * the dispatch of frames to the codecs (RLE: pacs_rle.c, JPEG 2000:
 * pacs_j2k.c, JPEG and JPEG-LS: the DCMTK adapter).  Every description is
 * checked here, before a codec sees it, so that the codecs can trust the
 * sizes they are given; and every decoded frame is checked against the
 * description announced before decoding (see pacs_pixel.h). */
#include "pacs_pixel.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_cursor.h"
#include "pacs_dcmtk_codec.h"
#include "pacs_pixel_priv.h"
#include "pacs_tags.h"
#include "pacs_ts.h"

/* Largest native frame handled: frames are held in memory one at a time. */
#define MAX_FRAME_BYTES 0xFFFFFFFEull

typedef enum codec_kind {
	CODEC_NONE,
	CODEC_RLE,
	CODEC_J2K,   /* JPEG 2000 Part 1 (.90, .91) */
	CODEC_HTJ2K, /* High-Throughput JPEG 2000 (.201, .202, .203): decode only */
	CODEC_DCMTK, /* JPEG and JPEG-LS through DCMTK: decode only */
} codec_kind;

static codec_kind codec_of(const char *ts_uid)
{
	const pacs_ts_info *ts = pacs_ts_lookup(ts_uid);

	if (ts == NULL)
		return CODEC_NONE;
	if (strcmp(ts->uid, PACS_TS_RLE) == 0)
		return CODEC_RLE;
	if (strcmp(ts->uid, PACS_TS_J2K_LOSSLESS) == 0 || strcmp(ts->uid, PACS_TS_J2K) == 0)
		return CODEC_J2K;
	if (strcmp(ts->uid, "1.2.840.10008.1.2.4.201") == 0 || strcmp(ts->uid, "1.2.840.10008.1.2.4.202") == 0 ||
	    strcmp(ts->uid, "1.2.840.10008.1.2.4.203") == 0)
		return CODEC_HTJ2K;
	if (pacs_dcmtk_can_decode(ts->uid))
		return CODEC_DCMTK;
	return CODEC_NONE;
}

static const char *ts_name(const char *ts_uid)
{
	const pacs_ts_info *ts = pacs_ts_lookup(ts_uid);

	return ts != NULL ? ts->name : "unknown transfer syntax";
}

static bool pi_is(const pacs_pixel_desc *d, const char *pi)
{
	return strcmp(d->photometric, pi) == 0;
}

/* PS3.3 C.7.6.3.1.2: the subsampled YBR models, two luminance samples per
 * chrominance pair in native data. */
static bool pi_subsampled(const pacs_pixel_desc *d)
{
	return pi_is(d, "YBR_FULL_422") || pi_is(d, "YBR_PARTIAL_422") || pi_is(d, "YBR_PARTIAL_420");
}

/* ---- description ---- */

static int get_us(const pacs_ds *ds, uint32_t tag, bool required, uint16_t dflt, uint16_t *out)
{
	uint64_t v;
	int rc = pacs_ds_get_uint(ds, tag, 0, &v);

	if (rc == ARCA_ENOTFOUND && !required) {
		*out = dflt;
		return 0;
	}
	if (rc == ARCA_ENOTFOUND)
		return arca_error_set(ARCA_ENOTFOUND, "(%04X,%04X) is missing: not an image", PACS_TAG_GROUP(tag),
				      PACS_TAG_ELEMENT(tag));
	if (rc < 0)
		return rc;
	if (v > 0xFFFFu)
		return arca_error_set(ARCA_EPROTO, "(%04X,%04X) value %llu is out of range for US",
				      PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), (unsigned long long)v);
	*out = (uint16_t)v;
	return 0;
}

int pacs_pixel_desc_from_ds(pacs_pixel_desc *out, const pacs_ds *ds)
{
	pacs_pixel_desc d;
	uint16_t rows, columns;
	uint64_t frames;
	int rc;

	memset(&d, 0, sizeof(d));
	memset(out, 0, sizeof(*out));
	if ((rc = get_us(ds, PACS_TAG_Rows, true, 0, &rows)) < 0 ||
	    (rc = get_us(ds, PACS_TAG_Columns, true, 0, &columns)) < 0 ||
	    (rc = get_us(ds, PACS_TAG_BitsAllocated, true, 0, &d.bits_allocated)) < 0 ||
	    (rc = get_us(ds, PACS_TAG_SamplesPerPixel, false, 1, &d.samples_per_pixel)) < 0 ||
	    (rc = get_us(ds, PACS_TAG_BitsStored, false, d.bits_allocated, &d.bits_stored)) < 0 ||
	    (rc = get_us(ds, PACS_TAG_HighBit, false, (uint16_t)(d.bits_stored ? d.bits_stored - 1 : 0),
			 &d.high_bit)) < 0 ||
	    (rc = get_us(ds, PACS_TAG_PixelRepresentation, false, 0, &d.pixel_representation)) < 0 ||
	    (rc = get_us(ds, PACS_TAG_PlanarConfiguration, false, 0, &d.planar_configuration)) < 0)
		return rc;
	d.rows = rows;
	d.columns = columns;
	/* PS3.3 C.7.6.6: Number of Frames is absent for single-frame images;
	 * a zero is read as one, as DCMTK does. */
	rc = pacs_ds_get_uint(ds, PACS_TAG_NumberOfFrames, 0, &frames);
	if (rc == ARCA_ENOTFOUND)
		frames = 1;
	else if (rc < 0)
		return arca_error_prefix(rc, "Number of Frames (0028,0008)");
	if (frames == 0)
		frames = 1;
	if (frames > 0xFFFFFFFFu)
		return arca_error_set(ARCA_EPROTO, "Number of Frames (0028,0008) %llu is out of range",
				      (unsigned long long)frames);
	d.frames = (uint32_t)frames;
	rc = pacs_ds_get_string(ds, PACS_TAG_PhotometricInterpretation, 0, d.photometric, sizeof(d.photometric));
	if (rc == ARCA_ELIMIT)
		return arca_error_set(ARCA_EPROTO, "Photometric Interpretation (0028,0004) is longer than 16 "
				      "characters");
	if (rc < 0 && rc != ARCA_ENOTFOUND)
		return rc;
	if (d.rows == 0 || d.columns == 0)
		return arca_error_set(ARCA_EPROTO, "image of %u rows and %u columns", d.rows, d.columns);
	if (d.samples_per_pixel < 1 || d.samples_per_pixel > 4)
		return arca_error_set(ARCA_EPROTO, "Samples per Pixel (0028,0002) is %u; 1 to 4 expected",
				      d.samples_per_pixel);
	if (d.bits_allocated == 0 || d.bits_stored == 0 || d.bits_stored > d.bits_allocated ||
	    d.high_bit >= d.bits_allocated)
		return arca_error_set(ARCA_EPROTO, "inconsistent bits: allocated %u, stored %u, high bit %u "
				      "(PS3.5 8.1.1)", d.bits_allocated, d.bits_stored, d.high_bit);
	if (d.pixel_representation > 1 || d.planar_configuration > 1)
		return arca_error_set(ARCA_EPROTO, "Pixel Representation %u or Planar Configuration %u is "
				      "neither 0 nor 1", d.pixel_representation, d.planar_configuration);
	*out = d;
	return 0;
}

int pacs_pixel_desc_to_ds(pacs_ds *ds, const pacs_pixel_desc *d)
{
	int rc = pacs_ds_set_string(ds, PACS_TAG_PhotometricInterpretation, PACS_VR_CS, d->photometric);

	if (rc == 0 && d->samples_per_pixel > 1)
		rc = pacs_ds_set_u16(ds, PACS_TAG_PlanarConfiguration, d->planar_configuration);
	if (rc == 0)
		rc = pacs_ds_set_u16(ds, PACS_TAG_BitsAllocated, d->bits_allocated);
	if (rc == 0)
		rc = pacs_ds_set_u16(ds, PACS_TAG_BitsStored, d->bits_stored);
	if (rc == 0)
		rc = pacs_ds_set_u16(ds, PACS_TAG_HighBit, d->high_bit);
	return rc;
}

int pacs_pixel_frame_size(const pacs_pixel_desc *d, uint64_t *out)
{
	uint64_t n;

	*out = 0;
	if (d->bits_allocated != 8 && d->bits_allocated != 16 && d->bits_allocated != 32)
		return arca_error_set(ARCA_EUNSUPPORTED, "frames of %u bits allocated are not whole bytes per "
				      "sample; only 8, 16 and 32 are converted", d->bits_allocated);
	if (d->samples_per_pixel > 1 && pi_subsampled(d))
		return arca_error_set(ARCA_EUNSUPPORTED, "native %s (subsampled) frames are not converted",
				      d->photometric);
	n = (uint64_t)d->rows * d->columns * d->samples_per_pixel * (d->bits_allocated / 8u);
	if (n > MAX_FRAME_BYTES)
		return arca_error_set(ARCA_ELIMIT, "a frame of %llu bytes exceeds 4 GiB", (unsigned long long)n);
	*out = n;
	return 0;
}

/* ---- codecs: what each produces ---- */

bool pacs_pixel_can_decode(const char *ts_uid)
{
	return codec_of(ts_uid) != CODEC_NONE;
}

bool pacs_pixel_can_encode(const char *ts_uid)
{
	codec_kind k = codec_of(ts_uid);

	return k == CODEC_RLE || k == CODEC_J2K;
}

static int check_codec_desc(const char *ts_uid, const pacs_pixel_desc *d)
{
	if (d->bits_allocated != 8 && d->bits_allocated != 16 && d->bits_allocated != 32)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s (%s) frames with %u bits allocated are not "
				      "supported", ts_name(ts_uid), ts_uid, d->bits_allocated);
	return 0;
}

int pacs_pixel_decoded_desc(const char *ts_uid, const pacs_pixel_desc *in, pacs_pixel_desc *out)
{
	codec_kind k = codec_of(ts_uid);
	int rc;

	*out = *in;
	if (k == CODEC_NONE)
		return arca_error_set(ARCA_EUNSUPPORTED, "no decoder for %s (%s)", ts_name(ts_uid), ts_uid);
	if ((rc = check_codec_desc(ts_uid, in)) < 0)
		return rc;
	out->planar_configuration = 0;
	switch (k) {
	case CODEC_J2K:
	case CODEC_HTJ2K:
		/* PS3.5 8.2.4: YBR_RCT / YBR_ICT name the component transform
		 * that the decoder undoes. */
		if (pi_is(in, "YBR_RCT") || pi_is(in, "YBR_ICT"))
			strcpy(out->photometric, "RGB");
		break;
	case CODEC_DCMTK:
		if (in->bits_allocated == 32)
			return arca_error_set(ARCA_EUNSUPPORTED, "%s frames with 32 bits allocated are not "
					      "supported", ts_name(ts_uid));
		/* DCMTK's default conversion (as dcmdjpeg): JPEG YCbCr to RGB
		 * when the DICOM model says YCbCr; JPEG-LS is left alone. */
		if (strcmp(ts_uid, PACS_TS_JPEGLS_LOSSLESS) != 0 && strcmp(ts_uid, PACS_TS_JPEGLS_NEAR) != 0 &&
		    in->samples_per_pixel == 3 && (pi_is(in, "YBR_FULL") || pi_subsampled(in)))
			strcpy(out->photometric, "RGB");
		break;
	default:
		break;
	}
	if (in->samples_per_pixel > 1 && pi_subsampled(out))
		return arca_error_set(ARCA_EUNSUPPORTED, "%s frames in %s are not decoded here",
				      in->photometric, ts_name(ts_uid));
	return 0;
}

int pacs_pixel_encoded_desc(const char *ts_uid, const pacs_pixel_desc *in, pacs_pixel_desc *out)
{
	codec_kind k = codec_of(ts_uid);
	uint64_t size;
	int rc;

	*out = *in;
	if (k != CODEC_RLE && k != CODEC_J2K)
		return arca_error_set(ARCA_EUNSUPPORTED, "no lossless encoder for %s (%s); arca encodes RLE "
				      "Lossless and JPEG 2000 (reversible)", ts_name(ts_uid), ts_uid);
	if ((rc = pacs_pixel_frame_size(in, &size)) < 0)
		return rc;
	if (pi_is(in, "YBR_RCT") || pi_is(in, "YBR_ICT"))
		return arca_error_set(ARCA_EUNSUPPORTED, "native frames labelled %s cannot be encoded "
				      "(that model exists only inside JPEG 2000)", in->photometric);
	if (k == CODEC_RLE) {
		unsigned segments = in->samples_per_pixel * (in->bits_allocated / 8u);
		if (segments > PACS_RLE_MAX_SEGMENTS)
			return arca_error_set(ARCA_EUNSUPPORTED, "RLE Lossless holds at most 15 segments per "
					      "frame; %u samples of %u bits need %u (PS3.5 G.5)",
					      in->samples_per_pixel, in->bits_allocated, segments);
		/* PS3.5 G.2 Note: RLE segments are color planes. */
		out->planar_configuration = in->samples_per_pixel > 1 ? 1 : 0;
		return 0;
	}
	if (in->samples_per_pixel != 1 && in->samples_per_pixel != 3)
		return arca_error_set(ARCA_EUNSUPPORTED, "JPEG 2000 encoding takes 1 or 3 samples per pixel, "
				      "not %u", in->samples_per_pixel);
	if (in->bits_stored > 16 || in->high_bit != in->bits_stored - 1)
		return arca_error_set(ARCA_EUNSUPPORTED, "JPEG 2000 lossless encoding takes up to 16 bits "
				      "stored with high bit = bits stored - 1 (here %u stored, high bit %u)",
				      in->bits_stored, in->high_bit);
	out->planar_configuration = 0;
	/* PS3.5 8.2.4: with the reversible multiple component transform the
	 * photometric interpretation is YBR_RCT. */
	if (in->samples_per_pixel == 3 && pi_is(in, "RGB"))
		strcpy(out->photometric, "YBR_RCT");
	return 0;
}

/* ---- JPEG frame header (ISO 10918-1 B.2.2, ISO 14495-1 C.2.2) ---- */

typedef struct jpeg_frame_info {
	unsigned precision, rows, columns, components;
} jpeg_frame_info;

static bool is_sof(uint8_t m)
{
	/* SOF0-3, 5-7, 9-11, 13-15 (not DHT C4, JPG C8, DAC CC); JPEG-LS SOF55 F7. */
	return (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) || m == 0xF7;
}

static int jpeg_scan_frame(const uint8_t *src, size_t len, jpeg_frame_info *info)
{
	pacs_cursor c = pacs_cursor_make(src, len);
	uint8_t b0, b1;

	if (!pacs_cursor_u8(&c, &b0) || !pacs_cursor_u8(&c, &b1) || b0 != 0xFF || b1 != 0xD8)
		return arca_error_set(ARCA_EPROTO, "JPEG frame does not start with SOI (FFD8)");
	for (;;) {
		uint8_t marker;
		uint16_t seglen, y, x;
		uint8_t p, nf;

		if (!pacs_cursor_u8(&c, &b0))
			break;
		if (b0 != 0xFF)
			return arca_error_set(ARCA_EPROTO, "JPEG frame: marker expected at byte %zu",
					      len - pacs_cursor_left(&c) - 1);
		do {
			if (!pacs_cursor_u8(&c, &marker))
				goto truncated;
		} while (marker == 0xFF); /* fill bytes (B.1.1.2) */
		if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
			continue;
		if (marker == 0xD9 || marker == 0xDA)
			return arca_error_set(ARCA_EPROTO, "JPEG frame has no frame header (SOF) before %s",
					      marker == 0xDA ? "the scan" : "its end");
		if (!pacs_cursor_u16be(&c, &seglen) || seglen < 2)
			goto truncated;
		if (!is_sof(marker)) {
			if (!pacs_cursor_skip(&c, seglen - 2u))
				goto truncated;
			continue;
		}
		if (seglen < 8 || !pacs_cursor_u8(&c, &p) || !pacs_cursor_u16be(&c, &y) ||
		    !pacs_cursor_u16be(&c, &x) || !pacs_cursor_u8(&c, &nf))
			goto truncated;
		info->precision = p;
		info->rows = y;
		info->columns = x;
		info->components = nf;
		return 0;
	}
truncated:
	return arca_error_set(ARCA_EPROTO, "JPEG frame ends inside its headers (%zu bytes)", len);
}

/* ---- decode ---- */

static int decode_dcmtk(const char *ts_uid, const pacs_pixel_desc *in, const pacs_pixel_desc *out,
			const uint8_t *src, size_t len, uint8_t *dst, size_t dst_len)
{
	jpeg_frame_info info = { 0, 0, 0, 0 };
	char model[17];
	size_t samples = (size_t)in->rows * in->columns * in->samples_per_pixel;
	unsigned bytes;
	int rc = jpeg_scan_frame(src, len, &info);

	if (rc < 0)
		return rc;
	if (info.rows != in->rows || info.columns != in->columns || info.components != in->samples_per_pixel)
		return arca_error_set(ARCA_EPROTO, "JPEG frame is %ux%u with %u components; the data set says "
				      "%ux%u with %u samples", info.columns, info.rows, info.components,
				      in->columns, in->rows, in->samples_per_pixel);
	if (info.precision < 2 || info.precision > 16)
		return arca_error_set(ARCA_EPROTO, "JPEG frame precision %u is outside 2..16", info.precision);
	bytes = info.precision > 8 ? 2 : 1;
	if (bytes * 8u > in->bits_allocated)
		return arca_error_set(ARCA_EPROTO, "JPEG frame of %u-bit precision in %u-bit cells",
				      info.precision, in->bits_allocated);
	rc = pacs_dcmtk_decode_frame(ts_uid, in, src, len, dst, samples * bytes, model);
	if (rc < 0)
		return rc;
	if (strcmp(model, out->photometric) != 0)
		return arca_error_set(ARCA_EPROTO, "decoded frame has color model %s where %s was announced "
				      "(Photometric Interpretation %s)", model, out->photometric, in->photometric);
	if (bytes * 8u < in->bits_allocated) {
		/* 8-bit samples in 16-bit cells: widen from the end backwards so
		 * that nothing is overwritten before it is read. */
		for (size_t i = samples; i-- > 0;) {
			unsigned v = dst[i];
			if (in->pixel_representation == 1 && (v & 0x80u))
				v |= 0xFF00u;
			dst[2 * i] = (uint8_t)v;
			dst[2 * i + 1] = (uint8_t)(v >> 8);
		}
	}
	(void)dst_len;
	return 0;
}

int pacs_pixel_decode(const char *ts_uid, const pacs_pixel_desc *in, const uint8_t *src, size_t len,
		      uint8_t *dst, size_t dst_len)
{
	pacs_pixel_desc out;
	uint64_t size;
	int had_mct = 0;
	int rc;

	if ((rc = pacs_pixel_decoded_desc(ts_uid, in, &out)) < 0 || (rc = pacs_pixel_frame_size(&out, &size)) < 0)
		return rc;
	if (dst_len != size)
		return arca_error_set(ARCA_EINVAL, "decode buffer of %zu bytes for a frame of %llu", dst_len,
				      (unsigned long long)size);
	if (len == 0)
		return arca_error_set(ARCA_EPROTO, "empty %s frame", ts_name(ts_uid));
	switch (codec_of(ts_uid)) {
	case CODEC_RLE:
		return pacs_rle__decode(&out, src, len, dst, dst_len);
	case CODEC_J2K:
	case CODEC_HTJ2K:
		rc = pacs_j2k__decode(&out, src, len, dst, dst_len, &had_mct);
		if (rc < 0)
			return rc;
		/* PS3.5 8.2.4: the transform in the codestream and the
		 * photometric interpretation go together. */
		if (in->samples_per_pixel == 3 && had_mct != (pi_is(in, "YBR_RCT") || pi_is(in, "YBR_ICT")) &&
		    !(had_mct && pi_is(in, "RGB")))
			return arca_error_set(ARCA_EPROTO, "JPEG 2000 frame %s a component transform but "
					      "Photometric Interpretation is %s (PS3.5 8.2.4)",
					      had_mct ? "uses" : "does not use", in->photometric);
		return 0;
	case CODEC_DCMTK:
		return decode_dcmtk(ts_uid, in, &out, src, len, dst, dst_len);
	default:
		return arca_error_set(ARCA_EUNSUPPORTED, "no decoder for %s (%s)", ts_name(ts_uid), ts_uid);
	}
}

/* ---- encode ---- */

int pacs_pixel_encode(const char *ts_uid, const pacs_pixel_desc *in, const uint8_t *src, size_t len,
		      uint8_t **out, size_t *out_len)
{
	pacs_pixel_desc enc;
	uint64_t size;
	int rc;

	*out = NULL;
	*out_len = 0;
	if ((rc = pacs_pixel_encoded_desc(ts_uid, in, &enc)) < 0 || (rc = pacs_pixel_frame_size(in, &size)) < 0)
		return rc;
	if (len != size)
		return arca_error_set(ARCA_EINVAL, "native frame of %zu bytes where %llu were expected", len,
				      (unsigned long long)size);
	if (codec_of(ts_uid) == CODEC_RLE)
		return pacs_rle__encode(in, src, len, out, out_len);
	return pacs_j2k__encode(in, src, len, strcmp(enc.photometric, "YBR_RCT") == 0, out, out_len);
}

const char *pacs_pixel_lossy_method(const char *ts_uid)
{
	const pacs_ts_info *ts = pacs_ts_lookup(ts_uid);

	/* PS3.3 C.7.6.1.1.5.1, Lossy Image Compression Method defined terms. */
	if (ts == NULL || !ts->lossy)
		return NULL;
	if (strncmp(ts->uid, "1.2.840.10008.1.2.4.5", 21) == 0)
		return "ISO_10918_1";
	if (strcmp(ts->uid, PACS_TS_JPEGLS_NEAR) == 0)
		return "ISO_14495_1";
	if (strcmp(ts->uid, PACS_TS_J2K) == 0 || strcmp(ts->uid, "1.2.840.10008.1.2.4.93") == 0)
		return "ISO_15444_1";
	if (strcmp(ts->uid, "1.2.840.10008.1.2.4.203") == 0)
		return "ISO_15444_15";
	return NULL;
}
