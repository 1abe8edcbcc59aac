/* pacs_rle.c - RLE Lossless (PS3.5 Annex G), decode and encode, arca's
 * own code.
 *
 * A frame is one fragment (PS3.5 A.4.2): a 64-byte header (G.5: the
 * number of segments, then 15 segment offsets from the start of the
 * header, unused ones zero) followed by the segments.  Each segment holds
 * one byte of one sample for every pixel of the frame, in pixel order
 * (G.2: the "Composite Pixel Code" split into bytes, most significant byte
 * first, sample by sample), compressed with the PackBits-style scheme of
 * G.3.1: a header byte n, 0..127 = n+1 literal bytes follow, -1..-127 =
 * the next byte repeated 1-n times, -128 = no operation. */
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_cursor.h"
#include "pacs_pixel_priv.h"

#define RLE_HEADER_SIZE 64u

/* Where byte `byte` (0 = least significant) of sample `sample` of pixel 0
 * lies in a native frame, and the distance between pixels. */
typedef struct plane_map {
	size_t first;
	size_t stride;
} plane_map;

static plane_map map_segment(const pacs_pixel_desc *d, unsigned segment, size_t pixels)
{
	unsigned bps = d->bits_allocated / 8u;
	unsigned sample = segment / bps;
	/* G.2: segment 0 of a sample is its most significant byte; native
	 * data is little endian. */
	unsigned byte = bps - 1u - segment % bps;
	plane_map m;

	if (d->planar_configuration == 1) {
		m.first = ((size_t)sample * pixels) * bps + byte;
		m.stride = bps;
	} else {
		m.first = (size_t)sample * bps + byte;
		m.stride = (size_t)d->samples_per_pixel * bps;
	}
	return m;
}

/* ---- decode ---- */

static int decode_segment(const uint8_t *seg, size_t seg_len, unsigned index, uint8_t *dst, plane_map m,
			  size_t pixels)
{
	pacs_cursor c = pacs_cursor_make(seg, seg_len);
	size_t n = 0, at = m.first;

	while (n < pixels) {
		uint8_t h, v;
		const uint8_t *lit;
		size_t count;

		if (!pacs_cursor_u8(&c, &h))
			return arca_error_set(ARCA_EPROTO, "RLE segment %u ends after %zu of %zu bytes (PS3.5 G.3)",
					      index, n, pixels);
		if (h == 0x80) /* -128: no operation */
			continue;
		if (h < 0x80) {
			count = (size_t)h + 1;
			if (count > pixels - n)
				return arca_error_set(ARCA_EPROTO, "RLE segment %u: a literal run passes the end "
						      "of the frame", index);
			if (!pacs_cursor_take(&c, count, &lit))
				return arca_error_set(ARCA_EPROTO, "RLE segment %u: a literal run of %zu bytes is "
						      "cut short by the end of the segment", index, count);
			for (size_t k = 0; k < count; k++, at += m.stride)
				dst[at] = lit[k];
		} else {
			count = 257u - h;
			if (count > pixels - n)
				return arca_error_set(ARCA_EPROTO, "RLE segment %u: a replicate run passes the end "
						      "of the frame", index);
			if (!pacs_cursor_u8(&c, &v))
				return arca_error_set(ARCA_EPROTO, "RLE segment %u ends inside a replicate run",
						      index);
			for (size_t k = 0; k < count; k++, at += m.stride)
				dst[at] = v;
		}
		n += count;
	}
	/* Bytes after the frame's last pixel (padding to even) are ignored. */
	return 0;
}

int pacs_rle__decode(const pacs_pixel_desc *d, const uint8_t *src, size_t len, uint8_t *dst, size_t dst_len)
{
	pacs_cursor c = pacs_cursor_make(src, len);
	uint32_t nseg, offsets[PACS_RLE_MAX_SEGMENTS];
	unsigned expected = d->samples_per_pixel * (d->bits_allocated / 8u);
	size_t pixels = (size_t)d->rows * d->columns;
	int rc;

	if (!pacs_cursor_u32le(&c, &nseg))
		return arca_error_set(ARCA_EPROTO, "RLE frame of %zu bytes is shorter than its 64-byte header "
				      "(PS3.5 G.5)", len);
	for (unsigned i = 0; i < PACS_RLE_MAX_SEGMENTS; i++)
		if (!pacs_cursor_u32le(&c, &offsets[i]))
			return arca_error_set(ARCA_EPROTO, "RLE frame of %zu bytes is shorter than its 64-byte "
					      "header (PS3.5 G.5)", len);
	if (nseg != expected)
		return arca_error_set(ARCA_EPROTO, "RLE header declares %u segments; %u samples of %u bits "
				      "need %u (PS3.5 G.2)", nseg, d->samples_per_pixel, d->bits_allocated,
				      expected);
	if (dst_len != pixels * expected)
		return arca_error_set(ARCA_EINVAL, "RLE decode buffer of %zu bytes for a frame of %zu", dst_len,
				      pixels * expected);
	for (unsigned i = 0; i < nseg; i++) {
		size_t start = offsets[i];
		size_t end = i + 1 < nseg ? offsets[i + 1] : len;
		pacs_cursor seg = pacs_cursor_make(src, len);
		const uint8_t *p;

		if (start < RLE_HEADER_SIZE || end < start || end > len)
			return arca_error_set(ARCA_EPROTO, "RLE segment %u spans bytes %zu..%zu of a %zu-byte "
					      "frame (PS3.5 G.5)", i, start, end, len);
		if (!pacs_cursor_skip(&seg, start) || !pacs_cursor_take(&seg, end - start, &p))
			return arca_error_set(ARCA_EPROTO, "RLE segment %u is out of bounds", i);
		rc = decode_segment(p, end - start, i, dst, map_segment(d, i, pixels), pixels);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- encode ---- */

/* Appends the PackBits coding of one row (count bytes read with stride)
 * at out, returns the number of bytes written.  Runs never cross a row
 * (G.3.1 encodes each row separately); a replicate run is used from three
 * equal bytes, shorter repeats stay in literal runs. */
static size_t encode_row(const uint8_t *src, size_t stride, size_t count, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < count) {
		size_t run = 1;
		while (i + run < count && run < 128 && src[(i + run) * stride] == src[i * stride])
			run++;
		if (run >= 3) {
			out[o++] = (uint8_t)(257u - run); /* -(run - 1) */
			out[o++] = src[i * stride];
			i += run;
			continue;
		}
		/* Literal run: up to 128 bytes, ending before three equal ones. */
		size_t start = i, lit = 0;
		while (i < count && lit < 128) {
			if (i + 2 < count && src[i * stride] == src[(i + 1) * stride] &&
			    src[i * stride] == src[(i + 2) * stride])
				break;
			i++;
			lit++;
		}
		out[o++] = (uint8_t)(lit - 1);
		for (size_t k = 0; k < lit; k++)
			out[o++] = src[(start + k) * stride];
	}
	return o;
}

int pacs_rle__encode(const pacs_pixel_desc *d, const uint8_t *src, size_t len, uint8_t **out, size_t *out_len)
{
	unsigned nseg = d->samples_per_pixel * (d->bits_allocated / 8u);
	size_t pixels = (size_t)d->rows * d->columns;
	/* Worst case per row: one header byte per 128 literal bytes. */
	size_t row_bound = d->columns + (d->columns + 127u) / 128u;
	size_t seg_bound = row_bound * d->rows + 1u;
	size_t cap, used = RLE_HEADER_SIZE;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (nseg == 0 || nseg > PACS_RLE_MAX_SEGMENTS)
		return arca_error_set(ARCA_EUNSUPPORTED, "RLE Lossless takes 1 to 15 segments, not %u", nseg);
	if (len != pixels * nseg)
		return arca_error_set(ARCA_EINVAL, "RLE encode input of %zu bytes for a frame of %zu", len,
				      pixels * nseg);
	cap = RLE_HEADER_SIZE + seg_bound * nseg;
	buf = malloc(cap);
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a %zu-byte RLE frame", cap);
	memset(buf, 0, RLE_HEADER_SIZE);
	buf[0] = (uint8_t)nseg;
	for (unsigned s = 0; s < nseg; s++) {
		plane_map m = map_segment(d, s, pixels);
		if (used > 0xFFFFFFFFu) {
			free(buf);
			return arca_error_set(ARCA_ELIMIT, "RLE frame exceeds the 32-bit segment offsets of "
					      "PS3.5 G.5");
		}
		/* G.5: offsets are 32-bit little endian from the header start. */
		for (unsigned b = 0; b < 4; b++)
			buf[4 + 4 * s + b] = (uint8_t)(used >> (8 * b));
		for (uint32_t r = 0; r < d->rows; r++)
			used += encode_row(src + m.first + (size_t)r * d->columns * m.stride, m.stride, d->columns,
					   buf + used);
		/* G.3.1: each segment has an even length. */
		if (used & 1u)
			buf[used++] = 0;
	}
	*out = buf;
	*out_len = used;
	return 0;
}
