/* pacs_pixel_priv.h - the frame codecs behind pacs_pixel.h, shared inside
 * pacs/.  Not a public header.
 *
 *   pacs_rle.c   RLE Lossless (PS3.5 Annex G), arca's own code;
 *   pacs_j2k.c   JPEG 2000 and HTJ2K through OpenJPEG (the one place that
 *                translates OpenJPEG's errors);
 *   pacs_dcmtk_codec.cc (pacs_dcmtk_codec.h)  JPEG and JPEG-LS through
 *                DCMTK, the only C++ in arca.
 * pacs_pixel.c checks descriptions and sizes before it calls them, so each
 * codec may assume: bits_allocated is 8, 16 or 32, samples_per_pixel 1..4,
 * rows and columns non-zero, and the destination buffer is exactly one
 * native frame of the description it is given (planar configuration
 * included). */
#ifndef PACS_PIXEL_PRIV_H
#define PACS_PIXEL_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_pixel.h"

/* PS3.5 G.5: at most 15 segments in one RLE frame. */
#define PACS_RLE_MAX_SEGMENTS 15u

/* Decodes an RLE frame into dst laid out as d says (d->planar_configuration
 * decides whether samples are interleaved or planes). */
int pacs_rle__decode(const pacs_pixel_desc *d, const uint8_t *src, size_t len, uint8_t *dst,
		     size_t dst_len);
/* Encodes a native frame laid out as d says; *out is the caller's. */
int pacs_rle__encode(const pacs_pixel_desc *d, const uint8_t *src, size_t len, uint8_t **out,
		     size_t *out_len);

/* Decodes a JPEG 2000 codestream (or JP2 file) into dst laid out as d says;
 * *had_mct is set when the codestream applied a multiple component
 * transform (so that the caller can check the photometric interpretation). */
int pacs_j2k__decode(const pacs_pixel_desc *d, const uint8_t *src, size_t len, uint8_t *dst,
		     size_t dst_len, int *had_mct);
/* Encodes a native frame losslessly into a J2K codestream; mct selects the
 * reversible color transform (three samples only). */
int pacs_j2k__encode(const pacs_pixel_desc *d, const uint8_t *src, size_t len, int mct, uint8_t **out,
		     size_t *out_len);

#endif
