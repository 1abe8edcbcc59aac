/* pacs_pixel.h - the pixel description of a data set (PS3.3 C.7.6.3 Image
 * Pixel Module) and the frame-level codec interface behind transfer
 * syntax conversion (PS3.5 8 and Annex A.4).
 *
 * A "native frame" here is always little endian, one sample of
 * bits_allocated / 8 bytes each (bits_allocated 8, 16 or 32), laid out as
 * planar_configuration says (0 color-by-pixel, 1 color-by-plane), rows *
 * columns * samples_per_pixel samples: exactly one frame of native Pixel
 * Data as PS3.5 8.1.1 encodes it, without the pad byte of an odd length.
 *
 * Decoding turns one compressed frame (the fragments of the frame,
 * concatenated) into a native frame of the description that
 * pacs_pixel_decoded_desc() announces before any frame is decoded, so that
 * a converter can write the new Image Pixel Module attributes before the
 * pixel data (streaming).  What changes, per codec:
 *   RLE Lossless (PS3.5 G)          photometric unchanged; planar
 *                                   configuration 0 (DCMTK's dcmdrle does
 *                                   the same).
 *   JPEG 2000 (PS3.5 8.2.4, A.4.4)  YBR_RCT and YBR_ICT become RGB (the
 *   and HTJ2K                       decoder applies the inverse multiple
 *                                   component transform); others unchanged;
 *                                   planar configuration 0.
 *   JPEG (.50 .51 .57 .70) through  YBR_FULL, YBR_FULL_422 and
 *   DCMTK's dcmjpeg                 YBR_PARTIAL_422 become RGB (DCMTK's
 *                                   default color conversion, as dcmdjpeg);
 *                                   others unchanged; planar configuration 0;
 *                                   8-bit samples in a 16-bit cell are
 *                                   widened to the cell.
 *   JPEG-LS (.80 .81) through       photometric unchanged; planar
 *   DCMTK's dcmjpls                 configuration 0.
 * A frame whose codestream contradicts the announced description (other
 * size, other color model) fails with ARCA_EPROTO rather than being
 * mislabelled.
 *
 * Encoding (lossless only) turns a native frame into one compressed frame:
 *   RLE Lossless     planar configuration becomes 1 for more than one
 *                    sample (PS3.5 G.2 Note: the segments are planes);
 *                    bits allocated 8, 16 or 32, at most 15 segments.
 *   JPEG 2000 (.90, and reversibly .91)
 *                    reversible 5/3 wavelet, one quality layer, no
 *                    quantization; RGB is coded with the reversible color
 *                    transform and becomes YBR_RCT (PS3.5 8.2.4), other
 *                    photometric interpretations without a component
 *                    transform; planar configuration 0; bits stored up to
 *                    16 and high bit = bits stored - 1.
 * Nothing here ever encodes lossily. */
#ifndef PACS_PIXEL_H
#define PACS_PIXEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"

/* Image Pixel Module attributes that decide the layout of pixel data. */
typedef struct pacs_pixel_desc {
	uint32_t rows;                 /* (0028,0010) */
	uint32_t columns;              /* (0028,0011) */
	uint32_t frames;               /* (0028,0008) Number of Frames, 1 when absent */
	uint16_t samples_per_pixel;    /* (0028,0002) */
	uint16_t bits_allocated;       /* (0028,0100) */
	uint16_t bits_stored;          /* (0028,0101) */
	uint16_t high_bit;             /* (0028,0102) */
	uint16_t pixel_representation; /* (0028,0103): 0 unsigned, 1 two's complement */
	uint16_t planar_configuration; /* (0028,0006): 0 by pixel, 1 by plane (0 if absent) */
	char photometric[17];          /* (0028,0004), trimmed, at most 16 characters */
} pacs_pixel_desc;

/* Reads the description from the top level of ds (or an item, for icons).
 * ARCA_ENOTFOUND when Rows, Columns or Bits Allocated is missing (not an
 * image); ARCA_EPROTO for values out of range (zero rows, samples not 1..4,
 * bits stored above bits allocated, ...). */
int pacs_pixel_desc_from_ds(pacs_pixel_desc *out, const pacs_ds *ds);

/* Writes the attributes that conversion may change (Photometric
 * Interpretation, Planar Configuration when samples > 1, Bits Allocated,
 * Bits Stored, High Bit) into ds. */
int pacs_pixel_desc_to_ds(pacs_ds *ds, const pacs_pixel_desc *d);

/* Bytes of one native frame.  ARCA_EUNSUPPORTED for layouts that are not
 * whole bytes per sample (bits allocated 1, subsampled YBR_*_422 native
 * data) and ARCA_ELIMIT above 4 GiB. */
int pacs_pixel_frame_size(const pacs_pixel_desc *d, uint64_t *out);

/* ---- frame codecs ---- */

/* What a transfer syntax's frames can go through here. */
bool pacs_pixel_can_decode(const char *ts_uid);
bool pacs_pixel_can_encode(const char *ts_uid);

/* The description of the native frames that decoding frames of ts_uid
 * described by in gives (see the table above).  ARCA_EUNSUPPORTED (naming
 * the transfer syntax) when there is no decoder, or the description is one
 * the decoder cannot produce. */
int pacs_pixel_decoded_desc(const char *ts_uid, const pacs_pixel_desc *in, pacs_pixel_desc *out);

/* Decodes one compressed frame (src, len: its fragments concatenated) of
 * ts_uid described by in into dst, which holds dst_len bytes, exactly the
 * frame size of pacs_pixel_decoded_desc(ts_uid, in).  ARCA_EPROTO for a
 * corrupt or truncated codestream, ARCA_EUNSUPPORTED for a valid one this
 * decoder cannot handle. */
int pacs_pixel_decode(const char *ts_uid, const pacs_pixel_desc *in, const uint8_t *src, size_t len,
		      uint8_t *dst, size_t dst_len);

/* The description of frames encoded into ts_uid from native frames
 * described by in.  ARCA_EUNSUPPORTED when ts_uid has no (lossless)
 * encoder here or in does not fit it (bit depth, samples, layout). */
int pacs_pixel_encoded_desc(const char *ts_uid, const pacs_pixel_desc *in, pacs_pixel_desc *out);

/* Encodes one native frame (src: len bytes, the frame size of in) into a
 * new buffer *out (the caller's, free()) of *out_len bytes.  The length is
 * padded to even as a fragment must be (PS3.5 A.4). */
int pacs_pixel_encode(const char *ts_uid, const pacs_pixel_desc *in, const uint8_t *src, size_t len,
		      uint8_t **out, size_t *out_len);

/* The value of Lossy Image Compression Method (0028,2114) for a lossy
 * transfer syntax ("ISO_10918_1", "ISO_14495_1", "ISO_15444_1",
 * "ISO_15444_15"), or NULL.  Borrowed, static. */
const char *pacs_pixel_lossy_method(const char *ts_uid);

#endif
