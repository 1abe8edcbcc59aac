/* pacs_dcmtk_codec.h - C interface of the DCMTK adapter (pacs_dcmtk_codec.cc),
 * the only C++ in arca and the only file that includes a DCMTK header.
 *
 * It decodes single frames of JPEG (PS3.5 8.2.1: .50 baseline, .51
 * extended, .57 lossless, .70 lossless SV1) through DCMTK's dcmjpeg, and of
 * JPEG-LS (PS3.5 8.2.3: .80 lossless, .81 near-lossless) through dcmjpls,
 * so that the results are those of DCMTK's dcmdjpeg and dcmdjpls.
 * Internal to pacs/ (pacs_pixel.c is its only caller); no C++ exception
 * crosses this interface, and DCMTK's logging is switched off so that the
 * library never prints. */
#ifndef PACS_DCMTK_CODEC_H
#define PACS_DCMTK_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_pixel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether ts_uid is one of the JPEG or JPEG-LS syntaxes above. */
bool pacs_dcmtk_can_decode(const char *ts_uid);

/* Decodes one frame (src, len: its fragments concatenated) of ts_uid
 * described by d (rows, columns, samples, bits, pixel representation and
 * photometric interpretation are used; planar configuration is ignored).
 * dst receives exactly dst_len bytes: rows * columns * samples samples,
 * color-by-pixel, each 1 byte (codestream precision up to 8 bits) or 2
 * bytes little endian (9 to 16 bits); dst_len must be that size.
 * photometric receives the color model of the decoded samples as DCMTK
 * reports it (e.g. "RGB" for a YBR_FULL_422 baseline frame).
 * ARCA_EPROTO for a corrupt codestream or one that does not match d,
 * ARCA_ENOMEM, ARCA_EUNSUPPORTED for a syntax DCMTK does not decode. */
int pacs_dcmtk_decode_frame(const char *ts_uid, const pacs_pixel_desc *d, const uint8_t *src, size_t len,
			    uint8_t *dst, size_t dst_len, char photometric[17]);

#ifdef __cplusplus
}
#endif

#endif
