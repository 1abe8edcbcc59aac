/* pacs_transcode.h - transfer syntax conversion of a data set, pixel data
 * frame by frame (PS3.5 8, 10, Annex A).
 *
 * What converts to what:
 *   native <-> native (implicit/explicit VR LE, explicit VR BE, deflated):
 *       byte order and encoding only, done by the writer (pacs_write.h);
 *   encapsulated -> native: each frame decoded (RLE, JPEG 2000 and HTJ2K,
 *       JPEG .50 .51 .57 .70, JPEG-LS .80 .81; see pacs_pixel.h);
 *   native -> RLE Lossless or JPEG 2000 (.90, or reversibly in .91): each
 *       frame encoded losslessly;
 *   encapsulated -> another encapsulated syntax: decoded, then encoded;
 *   encapsulated -> the same syntax: fragments passed through unchanged.
 * Anything else (no decoder, no lossless encoder, a bit depth the codec
 * does not take) fails with ARCA_EUNSUPPORTED and a message naming the
 * transfer syntax, before any byte is written.
 *
 * Attributes that follow the pixel data: Photometric Interpretation,
 * Planar Configuration and the bit attributes as the codec announces them
 * (pacs_pixel.h); the Extended Offset Table (7FE0,0001/0002) is dropped
 * when the pixel data is re-encoded, and (7FE0,0000) when encapsulated
 * output is produced (its value would need the encoded size first).
 * Lossy sources are never re-encoded lossily (arca has no lossy encoder)
 * and never re-labelled lossless (PS3.3 C.7.6.1.1.5): decoding a lossy
 * transfer syntax sets Lossy Image Compression (0028,2110) to "01" and,
 * when absent, Lossy Image Compression Method (0028,2114); an "01" already
 * present is always kept; an "00" present is kept for the syntaxes that
 * can also code reversibly (JPEG-LS near-lossless, JPEG 2000, HTJ2K), not
 * for JPEG's DCT processes (.50, .51), which are always lossy.  Encoding
 * (reversibly) into a lossy-capable syntax (.91) records "00" when nothing
 * is recorded.  The SOP Instance UID is kept: a change of transfer syntax,
 * even through decompression, is the same instance.
 *
 * Streaming: pixel data is handled one frame at a time (one frame
 * assembled from its fragments, decoded, encoded, written, freed), so
 * memory holds a few frames, not the instance.  Multi-frame encapsulated
 * output gets a Basic Offset Table (PS3.5 A.4); since the table precedes
 * the fragments, encoded frames are spooled to an unlinked temporary file
 * until the last one is encoded.  Frames of encapsulated input are found
 * from the Basic Offset Table, else the Extended Offset Table, else one
 * fragment per frame for RLE (PS3.5 A.4.2), else each fragment that starts
 * with the codec's start marker (JPEG SOI, JPEG 2000 SOC) starting a frame. */
#ifndef PACS_TRANSCODE_H
#define PACS_TRANSCODE_H

#include <stdint.h>

#include "pacs_ds.h"
#include "pacs_read.h"
#include "pacs_write.h"

/* Replays the value of a bulk element (PACS_ELEM_BULK, not held in the
 * data set) as pacs_bulk_events into emit, exactly as pacs_read.h's reader
 * produces them: BEGIN, DATA..., END for a native value (little endian);
 * BEGIN, then FRAGMENT followed by its DATA pieces for each item (item 0
 * the Basic Offset Table), END for encapsulated pixel data.  e is the
 * element as it was read (tag, VR, length, flags and stream offset are the
 * read element's); parent may be a copy of the data set it was read in.
 * Returns 0, emit's error, or its own negative ARCA_E* code. */
typedef int (*pacs_transcode_source_fn)(void *ctx, const pacs_ds *parent, const pacs_elem *e,
					pacs_bulk_fn emit, void *emit_ctx);

typedef struct pacs_transcode_opts {
	const char *ts_uid;                  /* target transfer syntax (required) */
	pacs_transcode_source_fn source_fn;  /* values of bulk elements; NULL when
					      * the data set holds them all */
	void *source_ctx;
	unsigned write_flags;                /* enum pacs_write_flag for the writer */
	int deflate_level;                   /* deflated target: 1-9, 0 = zlib default */
	const char *spool_dir;               /* multi-frame encapsulated output;
					      * NULL = $TMPDIR, else /tmp */
} pacs_transcode_opts;

void pacs_transcode_opts_init(pacs_transcode_opts *opts);

/* Whether the pixel data of ds (read in pacs_ds_source_ts(ds)) can be
 * converted to ts_uid: 0, or ARCA_EUNSUPPORTED with a message naming the
 * syntax (also for an unknown ts_uid).  Reads only the data set's
 * attributes, never pixel data. */
int pacs_transcode_check(const pacs_ds *ds, const char *ts_uid);

/* ---- a transcoder in front of the writer ---- */

typedef struct pacs_transcoder pacs_transcoder;

/* Plans the conversion of ds to opts->ts_uid (everything is checked here,
 * see pacs_transcode_check) and prepares the data set to write.  ds is
 * borrowed and must outlive the transcoder, and so must the source.
 * *out is the caller's (pacs_transcoder_free). */
int pacs_transcoder_new(pacs_transcoder **out, const pacs_ds *ds, const pacs_transcode_opts *opts);
void pacs_transcoder_free(pacs_transcoder *t);

/* Borrowed: the data set to hand to the writer (ds with the converted
 * attributes; its pixel data is produced by the write options' bulk_fn),
 * valid until pacs_transcoder_free. */
const pacs_ds *pacs_transcoder_ds(const pacs_transcoder *t);
/* Writer options (target syntax, flags, bulk_fn/bulk_ctx of the
 * transcoder) for pacs_write_part10, pacs_write_dataset or pacs_write_file
 * on pacs_transcoder_ds(t).  A transcoder runs one write at a time. */
void pacs_transcoder_write_opts(const pacs_transcoder *t, pacs_write_opts *out);

/* ---- convenience ---- */

/* Part 10 file / bare data set of ds in opts->ts_uid to sink. */
int pacs_transcode_part10(const pacs_ds *ds, const pacs_transcode_opts *opts, pacs_sink_fn sink, void *ctx);
int pacs_transcode_dataset(const pacs_ds *ds, const pacs_transcode_opts *opts, pacs_sink_fn sink, void *ctx);

/* Reads in_path (metadata held, values of 64 KiB and more streamed from
 * the file again while writing) and writes out_path in opts->ts_uid as a
 * Part 10 file through pacs_write_file (temporary file, fsync, rename).
 * opts->source_fn is ignored: the file is the source.  Errors name the
 * file. */
int pacs_transcode_file(const char *in_path, const char *out_path, const pacs_transcode_opts *opts);

#endif
