/* pacs_write.h - DICOM writer (PS3.10 7.1 file meta information, PS3.5 7
 * data set encoding, A.4 encapsulation, A.5 deflate).
 *
 * Writes a data set to any uncompressed transfer syntax (implicit VR LE,
 * explicit VR LE, explicit VR BE, deflated explicit VR LE), and passes
 * encapsulated pixel data through unchanged when writing to the transfer
 * syntax it was read in.  Output goes to a sink callback so that nothing
 * needs the whole encoding in memory; bulk elements (not held in the data
 * set) are pulled from a source callback. */
#ifndef PACS_WRITE_H
#define PACS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"

/* Receives encoded bytes; returns 0 or a negative ARCA_E* code. */
typedef int (*pacs_sink_fn)(void *ctx, const uint8_t *data, size_t len);

/* Produces the value of a bulk element (PACS_ELEM_BULK): calls sink with
 * the little-endian value bytes (native) or, for an encapsulated element,
 * must call pacs_write_fragment() once per fragment (offset table first). */
typedef struct pacs_write_ctx pacs_write_ctx;
typedef int (*pacs_bulk_source_fn)(void *ctx, pacs_write_ctx *w, const pacs_ds *parent,
				   const pacs_elem *e);

enum pacs_write_flag {
	/* Part 10: write group 0002 and the preamble exactly as held (for a
	 * byte-identical rewrite); otherwise the meta group is rebuilt:
	 * group length, version 00\01, SOP class/instance from the data set,
	 * the target transfer syntax, arca's implementation class UID and
	 * version name (Source AE kept if present). */
	PACS_WRITE_KEEP_META = 1u << 0,
	/* Write every sequence and item with defined length (default: as read). */
	PACS_WRITE_DEFINED_LENGTHS = 1u << 1,
	/* Drop group length elements (gggg,0000) outside group 0002
	 * (default: kept and recomputed). */
	PACS_WRITE_NO_GROUP_LENGTHS = 1u << 2,
};

typedef struct pacs_write_opts {
	const char *ts_uid;            /* target transfer syntax; NULL = source TS */
	unsigned flags;                /* enum pacs_write_flag */
	pacs_bulk_source_fn bulk_fn;   /* needed if the data set has bulk elements */
	void *bulk_ctx;
	int deflate_level;             /* for deflated TS; 0 = zlib default */
} pacs_write_opts;

void pacs_write_opts_init(pacs_write_opts *opts);

/* Part 10 file: preamble, "DICM", meta group, data set. */
int pacs_write_part10(const pacs_ds *ds, const pacs_write_opts *opts, pacs_sink_fn sink, void *ctx);
/* Bare data set (no preamble, no group 0002), as sent over the network. */
int pacs_write_dataset(const pacs_ds *ds, const pacs_write_opts *opts, pacs_sink_fn sink, void *ctx);
/* Part 10 to a file, written to PATH.tmp, fsync'ed and renamed. */
int pacs_write_file(const pacs_ds *ds, const char *path, const pacs_write_opts *opts);
/* Part 10 into a malloc'ed buffer; *out is the caller's (free()). */
int pacs_write_buffer(const pacs_ds *ds, const pacs_write_opts *opts, uint8_t **out, size_t *out_len);

/* For bulk sources: emit value bytes / one encapsulated fragment. */
int pacs_write_bytes(pacs_write_ctx *w, const uint8_t *data, size_t len);
int pacs_write_fragment(pacs_write_ctx *w, const uint8_t *data, uint32_t len);

/* arca's Implementation Class UID and Version Name (PS3.7 D.3.3.2).
 * The class UID is a UUID-derived UID (PS3.5 B.2) that identifies arca. */
#define PACS_IMPLEMENTATION_CLASS_UID "2.25.16592368143887627526056543918364687110"
#define PACS_IMPLEMENTATION_VERSION "ARCA_010"

#endif
