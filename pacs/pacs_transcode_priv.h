/* pacs_transcode_priv.h - transcoder internals shared by pacs_transcode*.c.
 * Not a public header.
 *
 *   pacs_transcode.c         planning (which conversion, which attributes
 *                            change), the writer's bulk source, pass-through;
 *   pacs_transcode_frames.c  the frame pipeline: bulk events in, frames
 *                            assembled, decoded, encoded, written (or spooled);
 *   pacs_transcode_file.c    pacs_transcode_file and its file source. */
#ifndef PACS_TRANSCODE_PRIV_H
#define PACS_TRANSCODE_PRIV_H

#include <stdint.h>

#include "pacs_pixel.h"
#include "pacs_transcode.h"

typedef enum pacs_tc_mode {
	PACS_TC_COPY,   /* pixel data written as it is (or there is none) */
	PACS_TC_DECODE, /* encapsulated -> native */
	PACS_TC_ENCODE, /* native -> encapsulated */
	PACS_TC_RECODE, /* encapsulated -> other encapsulated: decode, then encode */
} pacs_tc_mode;

struct pacs_transcoder {
	pacs_transcode_opts opts;   /* opts.ts_uid points at target */
	char target[65];            /* target UID as the table spells it */
	char source[65];            /* pacs_ds_source_ts of the input, "" if unknown */
	const pacs_ds *in;          /* borrowed */
	const pacs_elem *pixels_in; /* top-level (7FE0,0010) of in, or NULL */
	pacs_ds *out;               /* what the writer writes (owned) */
	pacs_tc_mode mode;
	pacs_pixel_desc in_desc;     /* as the data set describes its pixel data */
	pacs_pixel_desc native_desc; /* native frames between decoding and encoding */
	pacs_pixel_desc out_desc;    /* as written */
	uint64_t frame_size;         /* bytes of one native frame (native_desc) */
	uint64_t max_compressed;     /* cap on one compressed input frame */
	const uint8_t *eot;          /* Extended Offset Table (7FE0,0001) of in, or NULL */
	uint32_t eot_len;
};

/* Produces the value of t->out's Pixel Data through w from t->pixels_in
 * (held, or replayed by the source), one frame at a time. */
int pacs_transcode__pixels(pacs_transcoder *t, pacs_write_ctx *w);

/* Replays the value of a held element as bulk events (what the reader
 * would have produced had it been bulk), so that held and streamed input
 * take one path. */
int pacs_transcode__replay_held(const pacs_ds *parent, const pacs_elem *e, pacs_bulk_fn emit, void *ctx);

#endif
