/* pacs_transcode_test.c - pixel codecs (pacs_pixel.h) and transfer syntax
 * conversion (pacs_transcode.h).
 *
 * RLE Lossless: hand-made streams decoded to known bytes and known input
 * encoded to known bytes (PS3.5 Annex G), encode/decode round trips on
 * generated 8-, 16- and 32-bit, signed, RGB by pixel and by plane, odd and
 * one-pixel frames, and corrupt streams refused.  JPEG 2000: lossless round
 * trips (RGB through the reversible color transform), corrupt codestreams
 * refused.  JPEG through the DCMTK adapter: corrupt streams refused.
 * Conversion of whole data sets: multi-frame native to RLE and J2K and
 * back, with the Basic Offset Table checked; pixel data streamed by a
 * source in small pieces; encapsulated input split over several fragments
 * per frame, with and without an offset table; frame count mismatches;
 * refusals naming the transfer syntax.  Then the sample files (skipped
 * without $ARCA_SAMPLES): compressed versions equal their uncompressed
 * originals pixel for pixel, lossy sources are marked lossy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_ds.h"
#include "pacs_pixel.h"
#include "pacs_read.h"
#include "pacs_tags.h"
#include "pacs_transcode.h"
#include "pacs_ts.h"
#include "pacs_write.h"

/* ---- helpers ---- */

static pacs_pixel_desc make_desc(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t ba, uint16_t bs,
				 uint16_t pr, uint16_t pc, const char *pi)
{
	pacs_pixel_desc d;

	memset(&d, 0, sizeof(d));
	d.rows = rows;
	d.columns = cols;
	d.frames = 1;
	d.samples_per_pixel = spp;
	d.bits_allocated = ba;
	d.bits_stored = bs;
	d.high_bit = (uint16_t)(bs - 1);
	d.pixel_representation = pr;
	d.planar_configuration = pc;
	snprintf(d.photometric, sizeof(d.photometric), "%s", pi);
	return d;
}

static size_t frame_bytes(const pacs_pixel_desc *d)
{
	uint64_t n = 0;
	assert_int_equal(pacs_pixel_frame_size(d, &n), 0);
	return (size_t)n;
}

/* Deterministic pixel values: runs, ramps and noise, within bits stored
 * (sign-extended in the cell for two's complement). */
static void fill_frame(const pacs_pixel_desc *d, uint8_t *buf, size_t len, uint32_t seed)
{
	unsigned bps = d->bits_allocated / 8u;
	uint32_t x = seed * 2654435761u + 1u;
	size_t n = len / bps;

	for (size_t i = 0; i < n; i++) {
		uint32_t v;
		x = x * 1103515245u + 12345u;
		if ((i / 37) % 3 == 0)
			v = (uint32_t)(i / 37) * 5u;          /* runs */
		else if ((i / 37) % 3 == 1)
			v = (uint32_t)i * 3u;                 /* ramp */
		else
			v = x >> 7;                           /* noise */
		if (d->bits_stored < 32) {
			v &= (1u << d->bits_stored) - 1u;
			if (d->pixel_representation == 1 && (v >> (d->bits_stored - 1)) & 1u)
				v |= ~((1u << d->bits_stored) - 1u);
		}
		for (unsigned b = 0; b < bps; b++)
			buf[i * bps + b] = (uint8_t)(v >> (8 * b));
	}
}

/* A copy of a native frame in color-by-pixel order. */
static uint8_t *to_by_pixel(const pacs_pixel_desc *d, const uint8_t *src, size_t len)
{
	unsigned bps = d->bits_allocated / 8u, spp = d->samples_per_pixel;
	size_t pixels = (size_t)d->rows * d->columns;
	uint8_t *out = malloc(len);

	assert_non_null(out);
	if (d->planar_configuration == 0 || spp == 1) {
		memcpy(out, src, len);
		return out;
	}
	for (size_t p = 0; p < pixels; p++)
		for (unsigned s = 0; s < spp; s++)
			memcpy(out + (p * spp + s) * bps, src + ((size_t)s * pixels + p) * bps, bps);
	return out;
}

/* encode with ts, decode, compare with the input (by pixel). */
static void codec_roundtrip(const char *ts, const pacs_pixel_desc *d, uint32_t seed)
{
	pacs_pixel_desc enc_desc, dec_desc;
	size_t len = frame_bytes(d), enc_len = 0;
	uint8_t *src = malloc(len), *enc = NULL, *back = malloc(len), *expect;

	assert_non_null(src);
	assert_non_null(back);
	fill_frame(d, src, len, seed);
	assert_int_equal(pacs_pixel_encoded_desc(ts, d, &enc_desc), 0);
	assert_int_equal(pacs_pixel_encode(ts, d, src, len, &enc, &enc_len), 0);
	assert_int_equal(enc_len % 2, 0); /* PS3.5 A.4: even fragments */
	assert_int_equal(pacs_pixel_decoded_desc(ts, &enc_desc, &dec_desc), 0);
	assert_int_equal(dec_desc.planar_configuration, 0);
	assert_int_equal(frame_bytes(&dec_desc), len);
	assert_int_equal(pacs_pixel_decode(ts, &enc_desc, enc, enc_len, back, len), 0);
	expect = to_by_pixel(d, src, len);
	assert_memory_equal(back, expect, len);
	free(expect);
	free(enc);
	free(back);
	free(src);
}

typedef struct out_buf {
	uint8_t *data;
	size_t len, cap;
} out_buf;

static int out_sink(void *ctx, const uint8_t *data, size_t len)
{
	out_buf *o = ctx;

	if (o->len + len > o->cap) {
		size_t ncap = o->cap ? o->cap : 4096;
		while (ncap < o->len + len)
			ncap *= 2;
		o->data = realloc(o->data, ncap);
		assert_non_null(o->data);
		o->cap = ncap;
	}
	memcpy(o->data + o->len, data, len);
	o->len += len;
	return 0;
}

/* A native image data set (Secondary Capture) holding frames. */
static pacs_ds *native_ds(const pacs_pixel_desc *d, const uint8_t *pixels, size_t len)
{
	pacs_ds *ds = NULL;
	char frames[16];

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SOPClassUID, PACS_VR_UI, "1.2.840.10008.5.1.4.1.1.7"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SOPInstanceUID, PACS_VR_UI, "1.2.3.4.5"), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_SamplesPerPixel, d->samples_per_pixel), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_PhotometricInterpretation, PACS_VR_CS, d->photometric), 0);
	if (d->samples_per_pixel > 1)
		assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_PlanarConfiguration, d->planar_configuration), 0);
	snprintf(frames, sizeof(frames), "%u", d->frames);
	if (d->frames > 1)
		assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_NumberOfFrames, PACS_VR_IS, frames), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_Rows, (uint16_t)d->rows), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_Columns, (uint16_t)d->columns), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_BitsAllocated, d->bits_allocated), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_BitsStored, d->bits_stored), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_HighBit, d->high_bit), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_PixelRepresentation, d->pixel_representation), 0);
	if (pixels != NULL)
		assert_int_equal(pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, d->bits_allocated > 8 ? PACS_VR_OW : PACS_VR_OB,
					     pixels, (uint32_t)len), 0);
	assert_int_equal(pacs_ds_set_source_ts(ds, PACS_TS_EXPLICIT_LE), 0);
	return ds;
}

/* Converts ds to ts (Part 10 in memory) and reads the result back with
 * everything held; returns the code, *out the data set. */
static int convert(const pacs_ds *ds, const char *ts, const pacs_transcode_opts *base, pacs_ds **out)
{
	pacs_transcode_opts opts;
	pacs_read_opts ro;
	out_buf o = { NULL, 0, 0 };
	int rc;

	if (base != NULL)
		opts = *base;
	else
		pacs_transcode_opts_init(&opts);
	opts.ts_uid = ts;
	*out = NULL;
	rc = pacs_transcode_part10(ds, &opts, out_sink, &o);
	if (rc == 0) {
		pacs_read_opts_init(&ro);
		rc = pacs_read_buffer(out, o.data, o.len, &ro);
		assert_int_equal(rc, 0);
		assert_string_equal(pacs_ds_source_ts(*out), ts);
	}
	free(o.data);
	return rc;
}

static void assert_native_pixels(const pacs_ds *ds, const uint8_t *expect, size_t len)
{
	uint32_t got = 0;
	const uint8_t *v = pacs_elem_value(pacs_ds_find(ds, PACS_TAG_PIXEL_DATA), &got);

	assert_non_null(v);
	assert_int_equal(got, len + (len & 1u));
	assert_memory_equal(v, expect, len);
}

static uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void assert_string_attr(const pacs_ds *ds, uint32_t tag, const char *want)
{
	char buf[64];
	assert_int_equal(pacs_ds_get_string(ds, tag, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void assert_uint_attr(const pacs_ds *ds, uint32_t tag, uint64_t want)
{
	uint64_t v = 0;
	assert_int_equal(pacs_ds_get_uint(ds, tag, 0, &v), 0);
	assert_int_equal(v, want);
}

/* ---- RLE Lossless, PS3.5 Annex G ---- */

static void put_u32le(uint8_t *p, uint32_t v)
{
	for (unsigned b = 0; b < 4; b++)
		p[b] = (uint8_t)(v >> (8 * b));
}

static void test_rle_known_stream(void **state)
{
	/* 4x2 8-bit: literal "abc", replicate 'x' four times, a no-op (-128),
	 * literal "z"  (G.3.1). */
	static const uint8_t seg[] = { 0x02, 'a', 'b', 'c', 0xFD, 'x', 0x80, 0x00, 'z', 0x00 };
	pacs_pixel_desc d = make_desc(2, 4, 1, 8, 8, 0, 0, "MONOCHROME2");
	uint8_t frame[64 + sizeof(seg)], out[8];

	(void)state;
	memset(frame, 0, 64);
	put_u32le(frame, 1);
	put_u32le(frame + 4, 64);
	memcpy(frame + 64, seg, sizeof(seg));
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, sizeof(frame), out, sizeof(out)), 0);
	assert_memory_equal(out, "abcxxxxz", 8);
}

static void test_rle_known_encoding(void **state)
{
	/* 7x1 "aaaabcd": a replicate run of four (-3), then a literal of
	 * three (2); one segment at offset 64, its length even. */
	static const uint8_t expect_seg[] = { 0xFD, 'a', 0x02, 'b', 'c', 'd' };
	pacs_pixel_desc d = make_desc(1, 7, 1, 8, 8, 0, 0, "MONOCHROME2");
	uint8_t *enc = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(pacs_pixel_encode(PACS_TS_RLE, &d, (const uint8_t *)"aaaabcd", 7, &enc, &len), 0);
	assert_int_equal(len, 64 + sizeof(expect_seg));
	assert_int_equal(get_u32le(enc), 1);
	assert_int_equal(get_u32le(enc + 4), 64);
	for (unsigned i = 2; i < 16; i++)
		assert_int_equal(get_u32le(enc + 4 * i), 0);
	assert_memory_equal(enc + 64, expect_seg, sizeof(expect_seg));
	free(enc);
}

static void test_rle_segment_order(void **state)
{
	/* G.2: the most significant byte of a sample is its first segment;
	 * each one-byte segment (a literal of one: 00 xx) is already even. */
	static const uint8_t px[2] = { 0x34, 0x12 }; /* 0x1234 little endian */
	pacs_pixel_desc d = make_desc(1, 1, 1, 16, 16, 0, 0, "MONOCHROME2");
	uint8_t *enc = NULL, back[2];
	size_t len = 0;

	(void)state;
	assert_int_equal(pacs_pixel_encode(PACS_TS_RLE, &d, px, 2, &enc, &len), 0);
	assert_int_equal(len, 68);
	assert_int_equal(get_u32le(enc), 2);
	assert_int_equal(get_u32le(enc + 4), 64);
	assert_int_equal(get_u32le(enc + 8), 66);
	assert_int_equal(enc[64], 0x00);
	assert_int_equal(enc[65], 0x12);
	assert_int_equal(enc[66], 0x00);
	assert_int_equal(enc[67], 0x34);
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, enc, len, back, 2), 0);
	assert_memory_equal(back, px, 2);
	free(enc);
}

static void test_rle_roundtrips(void **state)
{
	static const struct {
		uint32_t rows, cols;
		uint16_t spp, ba, bs, pr, pc;
		const char *pi;
	} cases[] = {
		{ 1, 1, 1, 8, 8, 0, 0, "MONOCHROME2" },
		{ 5, 7, 1, 8, 8, 0, 0, "MONOCHROME2" },     /* odd width and height */
		{ 3, 300, 1, 8, 8, 0, 0, "MONOCHROME1" },   /* runs longer than 128 */
		{ 17, 13, 1, 16, 12, 0, 0, "MONOCHROME2" },
		{ 9, 11, 1, 16, 16, 1, 0, "MONOCHROME2" },  /* signed */
		{ 6, 5, 3, 8, 8, 0, 0, "RGB" },
		{ 6, 5, 3, 8, 8, 0, 1, "RGB" },             /* by plane */
		{ 4, 3, 3, 16, 16, 0, 0, "RGB" },
		{ 3, 5, 1, 32, 32, 0, 0, "MONOCHROME2" },
		{ 2, 3, 3, 32, 32, 0, 0, "RGB" },           /* 12 segments */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pacs_pixel_desc d = make_desc(cases[i].rows, cases[i].cols, cases[i].spp, cases[i].ba, cases[i].bs,
					      cases[i].pr, cases[i].pc, cases[i].pi);
		codec_roundtrip(PACS_TS_RLE, &d, i);
	}
}

static void test_rle_corrupt(void **state)
{
	pacs_pixel_desc d = make_desc(2, 4, 1, 8, 8, 0, 0, "MONOCHROME2");
	uint8_t frame[80], out[8];

	(void)state;
	memset(frame, 0, sizeof(frame));
	put_u32le(frame, 1);
	put_u32le(frame + 4, 64);
	frame[64] = 0x07; /* literal of 8 ... */
	memcpy(frame + 65, "abcdefgh", 8);
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, 73, out, 8), 0);
	assert_memory_equal(out, "abcdefgh", 8);
	/* ... cut short */
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, 70, out, 8), ARCA_EPROTO);
	/* header cut short */
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, 40, out, 8), ARCA_EPROTO);
	/* segment count that does not fit the description */
	put_u32le(frame, 2);
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, 73, out, 8), ARCA_EPROTO);
	put_u32le(frame, 1);
	/* segment offset past the end, or inside the header */
	put_u32le(frame + 4, 200);
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, 73, out, 8), ARCA_EPROTO);
	put_u32le(frame + 4, 12);
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, 73, out, 8), ARCA_EPROTO);
	put_u32le(frame + 4, 64);
	/* a run past the frame's pixels */
	frame[64] = 0xF0; /* replicate 17 */
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, 73, out, 8), ARCA_EPROTO);
	frame[64] = 0x09; /* literal 10 */
	assert_int_equal(pacs_pixel_decode(PACS_TS_RLE, &d, frame, 76, out, 8), ARCA_EPROTO);
	assert_true(strstr(arca_error_last(), "RLE") != NULL);
}

/* ---- JPEG 2000 ---- */

static void test_j2k_roundtrips(void **state)
{
	static const struct {
		uint32_t rows, cols;
		uint16_t spp, ba, bs, pr, pc;
		const char *pi;
	} cases[] = {
		{ 1, 1, 1, 8, 8, 0, 0, "MONOCHROME2" },
		{ 13, 17, 1, 8, 8, 0, 0, "MONOCHROME2" },
		{ 40, 33, 1, 16, 12, 1, 0, "MONOCHROME2" }, /* signed 12 bits in 16 */
		{ 20, 21, 1, 16, 16, 0, 0, "MONOCHROME2" },
		{ 19, 23, 3, 8, 8, 0, 0, "RGB" },           /* reversible color transform */
		{ 19, 23, 3, 8, 8, 0, 1, "RGB" },           /* by plane in */
		{ 8, 9, 3, 8, 8, 0, 0, "YBR_FULL" },        /* no transform */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pacs_pixel_desc d = make_desc(cases[i].rows, cases[i].cols, cases[i].spp, cases[i].ba, cases[i].bs,
					      cases[i].pr, cases[i].pc, cases[i].pi);
		pacs_pixel_desc enc;
		codec_roundtrip(PACS_TS_J2K_LOSSLESS, &d, 100 + i);
		assert_int_equal(pacs_pixel_encoded_desc(PACS_TS_J2K_LOSSLESS, &d, &enc), 0);
		/* PS3.5 8.2.4: RGB through the reversible transform is YBR_RCT. */
		assert_string_equal(enc.photometric, strcmp(cases[i].pi, "RGB") == 0 ? "YBR_RCT" : cases[i].pi);
	}
}

static void test_j2k_corrupt(void **state)
{
	pacs_pixel_desc d = make_desc(16, 16, 1, 16, 16, 0, 0, "MONOCHROME2");
	pacs_pixel_desc wrong = make_desc(16, 15, 1, 16, 16, 0, 0, "MONOCHROME2");
	size_t len = frame_bytes(&d), enc_len = 0;
	uint8_t *src = malloc(len), *out = malloc(len), *enc = NULL;
	static const uint8_t garbage[] = "definitely not a codestream";

	(void)state;
	fill_frame(&d, src, len, 7);
	assert_int_equal(pacs_pixel_encode(PACS_TS_J2K_LOSSLESS, &d, src, len, &enc, &enc_len), 0);
	assert_int_equal(enc[0], 0xFF); /* SOC: a raw codestream, PS3.5 A.4.4 */
	assert_int_equal(enc[1], 0x4F);
	assert_int_equal(pacs_pixel_decode(PACS_TS_J2K_LOSSLESS, &d, enc, enc_len / 2, out, len), ARCA_EPROTO);
	assert_int_equal(pacs_pixel_decode(PACS_TS_J2K_LOSSLESS, &d, enc, 20, out, len), ARCA_EPROTO);
	assert_int_equal(pacs_pixel_decode(PACS_TS_J2K_LOSSLESS, &d, garbage, sizeof(garbage), out, len),
			 ARCA_EPROTO);
	assert_int_equal(pacs_pixel_decode(PACS_TS_J2K_LOSSLESS, &wrong, enc, enc_len, out, frame_bytes(&wrong)),
			 ARCA_EPROTO);
	assert_true(strstr(arca_error_last(), "JPEG 2000") != NULL);
	/* Flipped bytes in the body: an error or a frame, never a crash. */
	for (size_t i = 60; i < enc_len; i += 7) {
		enc[i] ^= 0x5A;
		(void)pacs_pixel_decode(PACS_TS_J2K_LOSSLESS, &d, enc, enc_len, out, len);
	}
	free(enc);
	free(out);
	free(src);
}

static void test_jpeg_corrupt(void **state)
{
	pacs_pixel_desc d = make_desc(8, 8, 1, 8, 8, 0, 0, "MONOCHROME2");
	static const uint8_t no_sof[] = { 0xFF, 0xD8, 0xFF, 0xD9 };
	/* SOI, SOF0 8x8 one component, then nothing. */
	static const uint8_t cut[] = { 0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08,
				       0x01, 0x01, 0x11, 0x00, 0xFF, 0xDA };
	static const uint8_t other_size[] = { 0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00,
					      0x08, 0x01, 0x01, 0x11, 0x00 };
	uint8_t out[64];

	(void)state;
	assert_int_equal(pacs_pixel_decode(PACS_TS_JPEG_BASELINE, &d, (const uint8_t *)"xy", 2, out, 64),
			 ARCA_EPROTO);
	assert_int_equal(pacs_pixel_decode(PACS_TS_JPEG_BASELINE, &d, no_sof, sizeof(no_sof), out, 64),
			 ARCA_EPROTO);
	assert_int_equal(pacs_pixel_decode(PACS_TS_JPEG_BASELINE, &d, other_size, sizeof(other_size), out, 64),
			 ARCA_EPROTO);
	/* Through DCMTK: the stream ends before its scan. */
	assert_int_equal(pacs_pixel_decode(PACS_TS_JPEG_BASELINE, &d, cut, sizeof(cut), out, 64), ARCA_EPROTO);
	assert_int_equal(pacs_pixel_decode(PACS_TS_JPEGLS_LOSSLESS, &d, cut, sizeof(cut), out, 64), ARCA_EPROTO);
}

static void test_codec_refusals(void **state)
{
	pacs_pixel_desc d = make_desc(4, 4, 1, 16, 16, 0, 0, "MONOCHROME2"), out;
	pacs_pixel_desc one_bit = make_desc(4, 4, 1, 1, 1, 0, 0, "MONOCHROME2");
	pacs_pixel_desc deep = make_desc(4, 4, 1, 32, 32, 0, 0, "MONOCHROME2");
	pacs_pixel_desc wide = make_desc(4, 4, 4, 32, 32, 0, 0, "ARGB");
	uint64_t size;

	(void)state;
	assert_false(pacs_pixel_can_encode(PACS_TS_JPEG_BASELINE));
	assert_true(pacs_pixel_can_decode(PACS_TS_JPEG_BASELINE));
	assert_true(pacs_pixel_can_decode("1.2.840.10008.1.2.4.201")); /* HTJ2K through OpenJPEG */
	assert_false(pacs_pixel_can_decode("1.2.840.10008.1.2.4.100"));
	assert_int_equal(pacs_pixel_encoded_desc(PACS_TS_JPEG_BASELINE, &d, &out), ARCA_EUNSUPPORTED);
	assert_true(strstr(arca_error_last(), "JPEG Baseline") != NULL);
	assert_int_equal(pacs_pixel_decoded_desc("1.2.840.10008.1.2.4.100", &d, &out), ARCA_EUNSUPPORTED);
	assert_true(strstr(arca_error_last(), "MPEG2") != NULL);
	assert_int_equal(pacs_pixel_frame_size(&one_bit, &size), ARCA_EUNSUPPORTED);
	assert_int_equal(pacs_pixel_encoded_desc(PACS_TS_J2K_LOSSLESS, &deep, &out), ARCA_EUNSUPPORTED);
	assert_int_equal(pacs_pixel_encoded_desc(PACS_TS_RLE, &wide, &out), ARCA_EUNSUPPORTED);
	assert_true(strstr(arca_error_last(), "15 segments") != NULL);
	assert_string_equal(pacs_pixel_lossy_method(PACS_TS_JPEG_BASELINE), "ISO_10918_1");
	assert_string_equal(pacs_pixel_lossy_method(PACS_TS_J2K), "ISO_15444_1");
	assert_null(pacs_pixel_lossy_method(PACS_TS_J2K_LOSSLESS));
}

/* ---- whole data sets ---- */

static void check_bot(const pacs_elem *px, uint32_t frames)
{
	uint32_t len = 0, off = 0;
	const uint8_t *bot = pacs_elem_fragment(px, 0, &len);

	assert_int_equal(pacs_elem_fragment_count(px), frames + 1);
	if (frames == 1) {
		assert_int_equal(len, 0);
		return;
	}
	/* PS3.5 A.4: offset of each frame's item from the first fragment's. */
	assert_int_equal(len, 4 * frames);
	for (uint32_t i = 0; i < frames; i++) {
		uint32_t flen = 0;
		assert_int_equal(get_u32le(bot + 4 * i), off);
		(void)pacs_elem_fragment(px, i + 1, &flen);
		assert_int_equal(flen % 2, 0);
		off += 8 + flen;
	}
}

static void multiframe_roundtrip(const char *ts, pacs_pixel_desc d, const char *encoded_pi)
{
	size_t frame = frame_bytes(&d), len = frame * d.frames;
	uint8_t *pixels = malloc(len), *expect;
	pacs_ds *ds, *enc = NULL, *back = NULL;
	pacs_pixel_desc dd;

	assert_non_null(pixels);
	for (uint32_t f = 0; f < d.frames; f++)
		fill_frame(&d, pixels + f * frame, frame, 1000 + f);
	ds = native_ds(&d, pixels, len);
	assert_int_equal(convert(ds, ts, NULL, &enc), 0);
	check_bot(pacs_ds_find(enc, PACS_TAG_PIXEL_DATA), d.frames);
	assert_int_equal(pacs_pixel_desc_from_ds(&dd, enc), 0);
	assert_string_equal(dd.photometric, encoded_pi);
	assert_int_equal(convert(enc, PACS_TS_EXPLICIT_LE, NULL, &back), 0);
	assert_int_equal(pacs_pixel_desc_from_ds(&dd, back), 0);
	assert_int_equal(dd.planar_configuration, 0);
	assert_string_equal(dd.photometric, d.photometric);
	/* Converted frames come back color-by-pixel. */
	expect = malloc(len);
	for (uint32_t f = 0; f < d.frames; f++) {
		uint8_t *p = to_by_pixel(&d, pixels + f * frame, frame);
		memcpy(expect + f * frame, p, frame);
		free(p);
	}
	assert_native_pixels(back, expect, len);
	if (strcmp(ts, PACS_TS_J2K) == 0) {
		/* Reversible coding in a lossy-capable syntax says so, and the
		 * decoder keeps it (PS3.3 C.7.6.1.1.5). */
		assert_string_attr(enc, PACS_TAG_LossyImageCompression, "00");
		assert_string_attr(back, PACS_TAG_LossyImageCompression, "00");
	} else {
		assert_null(pacs_ds_find(back, PACS_TAG_LossyImageCompression));
	}
	free(expect);
	pacs_ds_free(back);
	pacs_ds_free(enc);
	pacs_ds_free(ds);
	free(pixels);
}

static void test_multiframe_rle(void **state)
{
	pacs_pixel_desc d = make_desc(9, 7, 1, 16, 16, 1, 0, "MONOCHROME2");
	pacs_pixel_desc rgb = make_desc(5, 3, 3, 8, 8, 0, 0, "RGB");

	(void)state;
	d.frames = 4;
	multiframe_roundtrip(PACS_TS_RLE, d, "MONOCHROME2");
	rgb.frames = 3;
	multiframe_roundtrip(PACS_TS_RLE, rgb, "RGB");
	d.frames = 1;
	multiframe_roundtrip(PACS_TS_RLE, d, "MONOCHROME2");
}

static void test_multiframe_j2k(void **state)
{
	pacs_pixel_desc d = make_desc(12, 10, 1, 16, 12, 0, 0, "MONOCHROME2");
	pacs_pixel_desc rgb = make_desc(6, 7, 3, 8, 8, 0, 1, "RGB");

	(void)state;
	d.frames = 3;
	multiframe_roundtrip(PACS_TS_J2K_LOSSLESS, d, "MONOCHROME2");
	rgb.frames = 2;
	multiframe_roundtrip(PACS_TS_J2K_LOSSLESS, rgb, "YBR_RCT");
	multiframe_roundtrip(PACS_TS_J2K, d, "MONOCHROME2"); /* .91, coded reversibly */
}

static void test_planar_configuration_rle(void **state)
{
	/* PS3.5 G.2 Note: color RLE is labelled by plane. */
	pacs_pixel_desc rgb = make_desc(2, 2, 3, 8, 8, 0, 0, "RGB");
	uint8_t px[12];
	pacs_ds *ds, *enc = NULL;

	(void)state;
	fill_frame(&rgb, px, sizeof(px), 3);
	ds = native_ds(&rgb, px, sizeof(px));
	assert_int_equal(convert(ds, PACS_TS_RLE, NULL, &enc), 0);
	assert_uint_attr(enc, PACS_TAG_PlanarConfiguration, 1);
	pacs_ds_free(enc);
	pacs_ds_free(ds);
}

/* A source that replays a value in small pieces, from memory. */
typedef struct piece_source {
	const uint8_t *data;          /* native value */
	size_t len;
	uint8_t **frags;              /* or fragments (item 0 = offset table) */
	uint32_t *frag_len;
	uint32_t nfrags;
	size_t piece;
	unsigned calls;
} piece_source;

static int piece_source_fn(void *ctx, const pacs_ds *parent, const pacs_elem *e, pacs_bulk_fn emit,
			   void *emit_ctx)
{
	piece_source *s = ctx;
	pacs_bulk_event ev;
	int rc;

	s->calls++;
	memset(&ev, 0, sizeof(ev));
	ev.tag = pacs_elem_tag(e);
	ev.parent = parent;
	ev.kind = PACS_BULK_BEGIN;
	if ((rc = emit(emit_ctx, &ev)) < 0)
		return rc;
	if (s->frags == NULL) {
		for (size_t at = 0; at < s->len; at += s->piece) {
			ev.kind = PACS_BULK_DATA;
			ev.data = s->data + at;
			ev.data_len = s->len - at < s->piece ? s->len - at : s->piece;
			if ((rc = emit(emit_ctx, &ev)) < 0)
				return rc;
		}
	} else {
		for (uint32_t i = 0; i < s->nfrags; i++) {
			ev.kind = PACS_BULK_FRAGMENT;
			ev.fragment_index = i;
			ev.fragment_length = s->frag_len[i];
			ev.data = NULL;
			ev.data_len = 0;
			if ((rc = emit(emit_ctx, &ev)) < 0)
				return rc;
			for (size_t at = 0; at < s->frag_len[i]; at += s->piece) {
				ev.kind = PACS_BULK_DATA;
				ev.data = s->frags[i] + at;
				ev.data_len = s->frag_len[i] - at < s->piece ? s->frag_len[i] - at : s->piece;
				if ((rc = emit(emit_ctx, &ev)) < 0)
					return rc;
			}
		}
	}
	ev.kind = PACS_BULK_END;
	ev.data = NULL;
	ev.data_len = 0;
	return emit(emit_ctx, &ev);
}

static void test_streamed_native_source(void **state)
{
	pacs_pixel_desc d = make_desc(7, 5, 1, 16, 16, 0, 0, "MONOCHROME2");
	size_t frame = frame_bytes(&d), len;
	uint8_t *pixels;
	pacs_ds *ds, *enc = NULL, *back = NULL;
	pacs_transcode_opts opts;
	piece_source src;

	(void)state;
	d.frames = 3;
	len = frame * 3;
	pixels = malloc(len);
	for (uint32_t f = 0; f < 3; f++)
		fill_frame(&d, pixels + f * frame, frame, 50 + f);
	ds = native_ds(&d, NULL, 0);
	assert_int_equal(pacs_ds_set_bulk(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, (uint32_t)len, 0), 0);
	memset(&src, 0, sizeof(src));
	src.data = pixels;
	src.len = len;
	src.piece = 7; /* pieces that straddle samples and frames */
	pacs_transcode_opts_init(&opts);
	opts.source_fn = piece_source_fn;
	opts.source_ctx = &src;
	assert_int_equal(convert(ds, PACS_TS_RLE, &opts, &enc), 0);
	assert_int_equal(src.calls, 1);
	check_bot(pacs_ds_find(enc, PACS_TAG_PIXEL_DATA), 3);
	assert_int_equal(convert(enc, PACS_TS_EXPLICIT_LE, NULL, &back), 0);
	assert_native_pixels(back, pixels, len);
	/* Without a source the bulk value cannot be produced. */
	pacs_ds_free(back);
	assert_int_equal(convert(ds, PACS_TS_RLE, NULL, &back), ARCA_EINVAL);
	/* A source that ends a frame early: the writer (native to native)
	 * and the frame pipeline both refuse the short value. */
	src.len = len - frame;
	assert_true(convert(ds, PACS_TS_EXPLICIT_BE, &opts, &back) < 0);
	assert_int_equal(convert(ds, PACS_TS_RLE, &opts, &back), ARCA_EPROTO);
	assert_true(strstr(arca_error_last(), "2 frames") != NULL);
	pacs_ds_free(enc);
	pacs_ds_free(ds);
	free(pixels);
}

/* Encapsulated input: J2K frames split over `split` fragments each, with
 * a Basic Offset Table (right or of the wrong size), an Extended Offset
 * Table, or neither. */
static void split_fragments_case(uint32_t split, int with_bot, int wrong_bot, int with_eot)
{
	pacs_pixel_desc d = make_desc(11, 9, 1, 8, 8, 0, 0, "MONOCHROME2");
	const uint32_t frames = 3;
	size_t frame = frame_bytes(&d);
	uint8_t *pixels = malloc(frame * frames), *enc[3];
	size_t enc_len[3];
	uint8_t *frags[1 + 3 * 4];
	uint32_t frag_len[1 + 3 * 4], nfrags = 1, off = 0;
	uint8_t bot[16], eot[24];
	piece_source src;
	pacs_transcode_opts opts;
	pacs_ds *ds, *back = NULL;

	d.frames = frames;
	for (uint32_t f = 0; f < frames; f++) {
		fill_frame(&d, pixels + f * frame, frame, 70 + f);
		assert_int_equal(pacs_pixel_encode(PACS_TS_J2K_LOSSLESS, &d, pixels + f * frame, frame, &enc[f],
						   &enc_len[f]), 0);
	}
	frags[0] = bot;
	frag_len[0] = with_bot ? 4 * (wrong_bot ? 2 : frames) : 0;
	for (uint32_t f = 0; f < frames; f++) {
		size_t part = (enc_len[f] / split) & ~(size_t)1, at = 0;
		put_u32le(bot + 4 * f, off);
		put_u32le(eot + 8 * f, off);
		put_u32le(eot + 8 * f + 4, 0);
		for (uint32_t k = 0; k < split; k++) {
			size_t n = k + 1 == split ? enc_len[f] - at : part;
			frags[nfrags] = enc[f] + at;
			frag_len[nfrags] = (uint32_t)n;
			off += 8 + (uint32_t)n;
			at += n;
			nfrags++;
		}
	}
	ds = native_ds(&d, NULL, 0);
	assert_int_equal(pacs_ds_set_bulk(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, PACS_UNDEFINED_LENGTH,
					  PACS_ELEM_ENCAPSULATED | PACS_ELEM_UNDEF_LENGTH), 0);
	assert_int_equal(pacs_ds_set_source_ts(ds, PACS_TS_J2K_LOSSLESS), 0);
	/* PS3.5 A.4: (7FE0,0001) OV, 64-bit offsets like the table's. */
	if (with_eot == 2) /* frame 1 said to start at frame 0's second fragment */
		put_u32le(eot + 8, 8 + frag_len[1]);
	if (with_eot)
		assert_int_equal(pacs_ds_set(ds, PACS_TAG_ExtendedOffsetTable, PACS_VR_OV, eot, sizeof(eot)), 0);
	memset(&src, 0, sizeof(src));
	src.frags = frags;
	src.frag_len = frag_len;
	src.nfrags = nfrags;
	src.piece = 5;
	pacs_transcode_opts_init(&opts);
	opts.source_fn = piece_source_fn;
	opts.source_ctx = &src;
	if (with_eot == 2) {
		/* The table is followed, not the start markers: a wrong one
		 * cuts frames in the wrong place, and decoding says so. */
		assert_int_equal(convert(ds, PACS_TS_EXPLICIT_LE, &opts, &back), ARCA_EPROTO);
		goto done;
	}
	assert_int_equal(convert(ds, PACS_TS_EXPLICIT_LE, &opts, &back), 0);
	assert_native_pixels(back, pixels, frame * frames);
	pacs_ds_free(back);
	back = NULL;
	/* Re-encoded to RLE: one fragment per frame, table rebuilt. */
	assert_int_equal(convert(ds, PACS_TS_RLE, &opts, &back), 0);
	check_bot(pacs_ds_find(back, PACS_TAG_PIXEL_DATA), frames);
	assert_null(pacs_ds_find(back, PACS_TAG_ExtendedOffsetTable)); /* it described the old fragments */
	pacs_ds_free(back);
	back = NULL;
	/* Number of Frames that disagrees with the fragments. */
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_NumberOfFrames, PACS_VR_IS, "4"), 0);
	assert_int_equal(convert(ds, PACS_TS_EXPLICIT_LE, &opts, &back), ARCA_EPROTO);
	assert_true(strstr(arca_error_last(), "frames") != NULL);
done:
	pacs_ds_free(ds);
	for (uint32_t f = 0; f < frames; f++)
		free(enc[f]);
	free(pixels);
}

static void test_split_fragments(void **state)
{
	(void)state;
	split_fragments_case(1, 0, 0, 0); /* one fragment per frame, no table */
	split_fragments_case(3, 1, 0, 0); /* three per frame, with the table */
	split_fragments_case(3, 0, 0, 0); /* three per frame, by start marker */
	split_fragments_case(2, 1, 1, 0); /* a table of the wrong size is ignored */
	split_fragments_case(3, 0, 0, 1); /* the Extended Offset Table */
	split_fragments_case(3, 0, 0, 2); /* ... which is followed */
}

static void test_too_many_frames(void **state)
{
	/* Two RLE fragments for a single-frame image. */
	pacs_pixel_desc d = make_desc(2, 2, 1, 8, 8, 0, 0, "MONOCHROME2");
	uint8_t px[4] = { 1, 2, 3, 4 }, *enc = NULL;
	size_t enc_len = 0;
	pacs_ds *ds, *back = NULL;
	pacs_elem *e = NULL;

	(void)state;
	assert_int_equal(pacs_pixel_encode(PACS_TS_RLE, &d, px, 4, &enc, &enc_len), 0);
	ds = native_ds(&d, NULL, 0);
	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, &e), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, "", 0), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, enc, (uint32_t)enc_len), 0);
	assert_int_equal(pacs_ds_set_source_ts(ds, PACS_TS_RLE), 0);
	assert_int_equal(convert(ds, PACS_TS_EXPLICIT_LE, NULL, &back), 0);
	assert_native_pixels(back, px, 4);
	pacs_ds_free(back);
	back = NULL;
	/* Same frame twice: the held value is decoded frame by frame too. */
	d.frames = 1;
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, enc, (uint32_t)enc_len), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_NumberOfFrames, PACS_VR_IS, "1"), 0);
	assert_int_equal(convert(ds, PACS_TS_EXPLICIT_LE, NULL, &back), 0); /* one frame: all fragments */
	pacs_ds_free(back);
	back = NULL;
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_NumberOfFrames, PACS_VR_IS, "3"), 0);
	assert_int_equal(convert(ds, PACS_TS_EXPLICIT_LE, NULL, &back), ARCA_EPROTO);
	pacs_ds_free(ds);
	/* A corrupt second frame: an error naming the frame, no crash. */
	ds = native_ds(&d, NULL, 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_NumberOfFrames, PACS_VR_IS, "2"), 0);
	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, &e), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, "", 0), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, enc, (uint32_t)enc_len), 0);
	enc[0] = 9; /* nine segments for one 8-bit sample */
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, enc, (uint32_t)enc_len), 0);
	assert_int_equal(pacs_ds_set_source_ts(ds, PACS_TS_RLE), 0);
	assert_int_equal(convert(ds, PACS_TS_EXPLICIT_LE, NULL, &back), ARCA_EPROTO);
	assert_true(strstr(arca_error_last(), "frame 1") != NULL);
	free(enc);
	pacs_ds_free(ds);
}

static void test_plan_refusals(void **state)
{
	pacs_pixel_desc d = make_desc(4, 4, 1, 16, 16, 0, 0, "MONOCHROME2");
	uint8_t px[32] = { 0 };
	pacs_ds *ds = native_ds(&d, px, sizeof(px)), *back = NULL;
	pacs_ds *bits = NULL;
	pacs_pixel_desc one = make_desc(8, 8, 1, 1, 1, 0, 0, "MONOCHROME2");

	(void)state;
	assert_int_equal(pacs_transcode_check(ds, PACS_TS_RLE), 0);
	assert_int_equal(pacs_transcode_check(ds, PACS_TS_EXPLICIT_BE), 0);
	assert_int_equal(pacs_transcode_check(ds, PACS_TS_JPEG_BASELINE), ARCA_EUNSUPPORTED);
	assert_true(strstr(arca_error_last(), "JPEG Baseline") != NULL);
	assert_int_equal(pacs_transcode_check(ds, "1.2.840.10008.1.2.4.100"), ARCA_EUNSUPPORTED);
	assert_true(strstr(arca_error_last(), "1.2.840.10008.1.2.4.100") != NULL);
	assert_int_equal(pacs_transcode_check(ds, "1.2.3.4"), ARCA_EUNSUPPORTED);
	assert_int_equal(convert(ds, PACS_TS_JPEG_BASELINE, NULL, &back), ARCA_EUNSUPPORTED);
	/* Native to native and to deflate: the writer's byte order only. */
	assert_int_equal(convert(ds, PACS_TS_DEFLATED_LE, NULL, &back), 0);
	assert_native_pixels(back, px, sizeof(px));
	pacs_ds_free(back);
	/* Pixel data too short for its frames. */
	assert_int_equal(pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, px, 16), 0);
	assert_int_equal(pacs_transcode_check(ds, PACS_TS_RLE), ARCA_EPROTO);
	/* 1-bit pixels have no frame of whole bytes. */
	bits = native_ds(&one, px, 8);
	assert_int_equal(pacs_transcode_check(bits, PACS_TS_RLE), ARCA_EUNSUPPORTED);
	assert_int_equal(pacs_transcode_check(bits, PACS_TS_IMPLICIT_LE), 0);
	pacs_ds_free(bits);
	pacs_ds_free(ds);
}

/* ---- the sample files ---- */

static const char *samples_dir(void)
{
	const char *dir = getenv("ARCA_SAMPLES");
	char probe[4096];

	if (dir == NULL)
		return NULL;
	snprintf(probe, sizeof(probe), "%s/pydicom/MR_small.dcm", dir);
	return access(probe, R_OK) == 0 ? dir : NULL;
}

/* Converts sample `name` to explicit VR LE through a temporary file and
 * reads it back held; NULL (skip) when the sample is absent. */
static pacs_ds *sample_to_explicit(const char *dir, const char *name)
{
	char in[4096], out[] = "/tmp/arca-transcode-test-XXXXXX";
	pacs_transcode_opts opts;
	pacs_read_opts ro;
	pacs_ds *ds = NULL;
	int fd;

	snprintf(in, sizeof(in), "%s/%s", dir, name);
	if (access(in, R_OK) != 0)
		return NULL;
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	pacs_transcode_opts_init(&opts);
	opts.ts_uid = PACS_TS_EXPLICIT_LE;
	if (pacs_transcode_file(in, out, &opts) != 0)
		fail_msg("%s: %s", name, arca_error_last());
	pacs_read_opts_init(&ro);
	assert_int_equal(pacs_read_file(&ds, out, &ro), 0);
	unlink(out);
	return ds;
}

static void assert_same_pixels(const char *dir, const char *compressed, const char *original)
{
	pacs_ds *a = sample_to_explicit(dir, compressed), *b = sample_to_explicit(dir, original);
	uint32_t la = 0, lb = 0;
	const uint8_t *va, *vb;

	if (a == NULL || b == NULL) {
		print_message("skipped %s: sample absent\n", compressed);
		pacs_ds_free(a);
		pacs_ds_free(b);
		return;
	}
	va = pacs_elem_value(pacs_ds_find(a, PACS_TAG_PIXEL_DATA), &la);
	vb = pacs_elem_value(pacs_ds_find(b, PACS_TAG_PIXEL_DATA), &lb);
	assert_non_null(va);
	assert_non_null(vb);
	if (la != lb || memcmp(va, vb, la) != 0)
		fail_msg("%s and %s differ in their pixels", compressed, original);
	pacs_ds_free(a);
	pacs_ds_free(b);
}

static void test_samples_lossless(void **state)
{
	const char *dir = samples_dir();
	static const char *const pairs[][2] = {
		{ "pydicom/MR_small_RLE.dcm", "pydicom/MR_small.dcm" },
		{ "pydicom/MR_small_jp2klossless.dcm", "pydicom/MR_small.dcm" },
		{ "pydicom/MR_small_jpeg_ls_lossless.dcm", "pydicom/MR_small.dcm" },
		{ "pydicom/MR_small_bigendian.dcm", "pydicom/MR_small.dcm" },
		{ "wg04/CT2_RLE", "wg04/CT2_UNC" },
		{ "wg04/CT2_J2KR", "wg04/CT2_UNC" },
		{ "wg04/CT2_JLSL", "wg04/CT2_UNC" },
		{ "wg04/CT2_JPLL", "wg04/CT2_UNC" },
		{ "wg04/MR2_J2KR", "wg04/MR2_UNC" },
		{ "wg04/VL2_RLE", "wg04/VL2_UNC" },
	};

	(void)state;
	if (dir == NULL) {
		print_message("skipped: $ARCA_SAMPLES absent\n");
		return;
	}
	for (unsigned i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		assert_same_pixels(dir, pairs[i][0], pairs[i][1]);
}

static void test_samples_lossy_marked(void **state)
{
	const char *dir = samples_dir();
	pacs_ds *ds;

	(void)state;
	if (dir == NULL) {
		print_message("skipped: $ARCA_SAMPLES absent\n");
		return;
	}
	/* PS3.3 C.7.6.1.1.5: a decoded lossy image stays marked lossy. */
	ds = sample_to_explicit(dir, "pydicom/SC_rgb_jpeg_dcmtk.dcm");
	if (ds != NULL) {
		assert_string_attr(ds, PACS_TAG_LossyImageCompression, "01");
		assert_string_attr(ds, PACS_TAG_LossyImageCompressionMethod, "ISO_10918_1");
		assert_string_attr(ds, PACS_TAG_PhotometricInterpretation, "RGB"); /* was YBR_FULL */
		assert_uint_attr(ds, PACS_TAG_PlanarConfiguration, 0);
		pacs_ds_free(ds);
	}
	ds = sample_to_explicit(dir, "wg04/VL2_J2KI");
	if (ds != NULL) {
		assert_string_attr(ds, PACS_TAG_LossyImageCompression, "01");
		assert_string_attr(ds, PACS_TAG_PhotometricInterpretation, "RGB"); /* was YBR_ICT */
		pacs_ds_free(ds);
	}
	/* A lossless source is not marked. */
	ds = sample_to_explicit(dir, "wg04/CT2_JPLL");
	if (ds != NULL) {
		assert_null(pacs_ds_find(ds, PACS_TAG_LossyImageCompressionMethod));
		pacs_ds_free(ds);
	}
}

static void test_sample_corrupt_codestream(void **state)
{
	const char *dir = samples_dir();
	char path[4096];
	pacs_read_opts ro;
	pacs_ds *ds = NULL, *cut = NULL, *back = NULL;
	const pacs_elem *px;
	uint32_t len = 0;
	const uint8_t *frag;
	pacs_elem *e = NULL;

	(void)state;
	if (dir == NULL) {
		print_message("skipped: $ARCA_SAMPLES absent\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/pydicom/MR_small_jp2klossless.dcm", dir);
	pacs_read_opts_init(&ro);
	assert_int_equal(pacs_read_file(&ds, path, &ro), 0);
	px = pacs_ds_find(ds, PACS_TAG_PIXEL_DATA);
	frag = pacs_elem_fragment(px, 1, &len);
	assert_non_null(frag);
	/* The same data set with its codestream cut in half. */
	assert_int_equal(pacs_ds_clone(&cut, ds), 0);
	assert_int_equal(pacs_ds_set_encapsulated(cut, PACS_TAG_PIXEL_DATA, PACS_VR_OB, &e), 0);
	assert_int_equal(pacs_ds_add_fragment(cut, PACS_TAG_PIXEL_DATA, "", 0), 0);
	assert_int_equal(pacs_ds_add_fragment(cut, PACS_TAG_PIXEL_DATA, frag, (len / 2) & ~1u), 0);
	assert_int_equal(convert(cut, PACS_TS_EXPLICIT_LE, NULL, &back), ARCA_EPROTO);
	assert_int_equal(convert(cut, PACS_TS_RLE, NULL, &back), ARCA_EPROTO);
	pacs_ds_free(cut);
	pacs_ds_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rle_known_stream),
		cmocka_unit_test(test_rle_known_encoding),
		cmocka_unit_test(test_rle_segment_order),
		cmocka_unit_test(test_rle_roundtrips),
		cmocka_unit_test(test_rle_corrupt),
		cmocka_unit_test(test_j2k_roundtrips),
		cmocka_unit_test(test_j2k_corrupt),
		cmocka_unit_test(test_jpeg_corrupt),
		cmocka_unit_test(test_codec_refusals),
		cmocka_unit_test(test_multiframe_rle),
		cmocka_unit_test(test_multiframe_j2k),
		cmocka_unit_test(test_planar_configuration_rle),
		cmocka_unit_test(test_streamed_native_source),
		cmocka_unit_test(test_split_fragments),
		cmocka_unit_test(test_too_many_frames),
		cmocka_unit_test(test_plan_refusals),
		cmocka_unit_test(test_samples_lossless),
		cmocka_unit_test(test_samples_lossy_marked),
		cmocka_unit_test(test_sample_corrupt_codestream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
