/* pacs_read.h - incremental DICOM reader (PS3.10 7 file format, PS3.5 7
 * data set encoding, PS3.5 A.4 encapsulation, PS3.5 A.5 deflate).
 *
 * The reader is push-based: feed it any number of bytes at a time (the
 * network layer feeds PDV fragments, the file reader feeds read() blocks)
 * and it resumes where it stopped.  It buffers at most one element header
 * and one non-bulk value; bulk values (pixel data, large OB/OW/UN ...) are
 * handed to a callback in pieces, or skipped, so memory stays bounded
 * whatever the size of the instance.
 *
 * Every length is checked against the limits in pacs_read_opts before any
 * allocation; errors name the byte offset in the stream.
 *
 * Offsets (elements, items, fragments, errors) count bytes of the stream
 * as read; for a deflated transfer syntax, past the File Meta group they
 * count inflated bytes.  The root data set holds the meta group elements
 * too, in stream order.
 *
 * Tolerated deviations, all seen in real files: a wrong or missing
 * (0002,0000) group length (the meta group ends where group 0002 does);
 * one stray byte before a bare data set; explicit VR letters that name no
 * VR (16-bit length and the dictionary's VR if the reserved bytes are not
 * zero, else UN with a 32-bit length); a sequence or item whose defined
 * length runs past its container's end (it ends there; elements must
 * still fit); top-level encapsulated pixel data whose sequence
 * delimitation item is missing at the end of the input.  Anything else
 * malformed is an error. */
#ifndef PACS_READ_H
#define PACS_READ_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"

typedef struct pacs_reader pacs_reader;

/* How the input starts. */
enum pacs_read_input {
	PACS_INPUT_AUTO = 0,   /* Part 10 file if "DICM" at 128 (or meta group
				* at 0), else a bare data set whose encoding is
				* probed from its first bytes */
	PACS_INPUT_PART10,     /* must be a Part 10 file */
	PACS_INPUT_DATASET,    /* bare data set in opts.ts_uid (network) */
};

/* A piece of a bulk value.  For a native value: BEGIN, DATA..., END.  For
 * encapsulated pixel data: BEGIN, then per item FRAGMENT (data_len =
 * fragment length, index) followed by its DATA pieces, then END. */
enum pacs_bulk_kind {
	PACS_BULK_BEGIN,
	PACS_BULK_FRAGMENT,
	PACS_BULK_DATA,
	PACS_BULK_END,
};

typedef struct pacs_bulk_event {
	enum pacs_bulk_kind kind;
	uint32_t tag;
	pacs_vr vr;
	uint32_t length;          /* element length (PACS_UNDEFINED_LENGTH if encapsulated) */
	uint32_t fragment_index;  /* FRAGMENT/DATA of encapsulated: 0 = offset table */
	uint32_t fragment_length; /* FRAGMENT/DATA of encapsulated */
	uint64_t value_offset;    /* DATA: offset of data[0] in the value (or fragment) */
	const uint8_t *data;      /* DATA: little-endian bytes, borrowed for the call */
	size_t data_len;
	const pacs_ds *parent;    /* data set holding the element */
	uint64_t stream_offset;   /* offset of the element tag in the stream */
} pacs_bulk_event;

/* Returns 0 to continue or a negative ARCA_E* code to stop reading (the
 * code is returned by pacs_reader_feed). */
typedef int (*pacs_bulk_fn)(void *ctx, const pacs_bulk_event *ev);

typedef struct pacs_read_opts {
	enum pacs_read_input input;
	const char *ts_uid;        /* PACS_INPUT_DATASET: encoding of the data set */
	/* Values of bulk-capable VRs (pacs_vr_is_bulk) whose length is >=
	 * bulk_threshold, and all encapsulated pixel data, go to bulk_fn; with
	 * bulk_fn NULL they are skipped (metadata-only reading).  0 means
	 * "hold everything". */
	uint32_t bulk_threshold;
	pacs_bulk_fn bulk_fn;
	void *bulk_ctx;
	uint32_t max_value_length; /* largest value held in memory; 0 = 64 MiB */
	uint32_t max_depth;        /* sequence nesting; 0 = 64 */
	uint64_t max_inflated;     /* deflated TS: cap on inflated bytes; 0 = 4 GiB */
	uint64_t max_total;        /* cap on bytes of held values (and of the data
				    * set's own bookkeeping); 0 = 1 GiB */
	int stop_at_pixel_data;    /* nonzero: stop before top-level (7FE0,0010)
				    * (or Float/Double Float Pixel Data
				    * (7FE0,0008/0009)) and report done */
} pacs_read_opts;

/* Fills opts with the defaults above (input AUTO, hold everything). */
void pacs_read_opts_init(pacs_read_opts *opts);

/* *out is the caller's (pacs_reader_free). opts is copied. */
int pacs_reader_new(pacs_reader **out, const pacs_read_opts *opts);
void pacs_reader_free(pacs_reader *r);

/* Consumes len bytes.  Returns 0 (all consumed, possibly waiting for more),
 * or a negative error; after an error the reader only frees. */
int pacs_reader_feed(pacs_reader *r, const uint8_t *data, size_t len);

/* Number of upcoming input bytes the reader will discard without looking
 * (a skipped bulk value); a caller that can seek may skip them with
 * pacs_reader_skip instead of reading them. 0 when nothing can be skipped. */
uint64_t pacs_reader_skippable(const pacs_reader *r);
int pacs_reader_skip(pacs_reader *r, uint64_t n);

/* Nonzero once stop_at_pixel_data has been reached (further input ignored). */
int pacs_reader_done(const pacs_reader *r);

/* Signals the end of input.  On success *out is the root data set (the
 * caller's); ARCA_ETRUNCATED if the input ended inside an element. */
int pacs_reader_finish(pacs_reader *r, pacs_ds **out);

/* Bytes of input consumed so far (including skipped).  Once
 * stop_at_pixel_data is reached this is the offset of the pixel data
 * element's tag (not for a deflated transfer syntax). */
uint64_t pacs_reader_offset(const pacs_reader *r);

/* Convenience: read a whole file (skipping skippable bytes with lseek) or
 * buffer.  Errors are prefixed with the path. */
int pacs_read_file(pacs_ds **out, const char *path, const pacs_read_opts *opts);
int pacs_read_buffer(pacs_ds **out, const uint8_t *data, size_t len, const pacs_read_opts *opts);

#endif
