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

/* Receives encoded bytes; returns 0 or a negative ARCA_E* code (and sets
 * the message).  The writer hands it at most a 64 KiB buffer at a time,
 * except for large values, which it passes through in one call. */
typedef int (*pacs_sink_fn)(void *ctx, const uint8_t *data, size_t len);

/* Produces the value of a bulk element (PACS_ELEM_BULK), called while the
 * element is written, after its header:
 * - native value: call pacs_write_bytes() any number of times with the
 *   little-endian value bytes, exactly pacs_elem_length(e) in all (the
 *   writer swaps them for big endian);
 * - encapsulated value: call pacs_write_fragment() once per fragment,
 *   Basic Offset Table item first (possibly empty); the writer adds the
 *   sequence delimiter.
 * Returns 0 or a negative ARCA_E* code, which the writer returns. */
typedef struct pacs_write_ctx pacs_write_ctx;
typedef int (*pacs_bulk_source_fn)(void *ctx, pacs_write_ctx *w, const pacs_ds *parent,
				   const pacs_elem *e);

/* Optional: the encoded size of an encapsulated bulk element's value (its
 * items with their 8-byte headers, and the 8-byte sequence delimiter).
 * Needed only when that size is part of a length the writer must compute
 * first: a group length (7FE0,0000) or a defined-length item or sequence
 * around the element. */
typedef int (*pacs_bulk_size_fn)(void *ctx, const pacs_ds *parent, const pacs_elem *e,
				 uint64_t *size);

enum pacs_write_flag {
	/* Part 10: write the preamble and group 0002 exactly as held (for a
	 * byte-identical rewrite; a data set without a preamble gets 128 zero
	 * bytes).  Applies only when the held (0002,0010) is the target
	 * transfer syntax and the data set holds group 0002; otherwise the
	 * meta group is rebuilt as without this flag.
	 * Without it: the preamble is 128 zero bytes (a held preamble is not
	 * copied into a new file: it is application-defined and may carry
	 * anything) and the meta group is rebuilt: (0002,0000) group length,
	 * (0002,0001) 00\01, (0002,0002)/(0002,0003) from (0008,0016)/(0008,0018)
	 * (else the held ones), (0002,0010) the target transfer syntax,
	 * (0002,0012)/(0002,0013) arca's implementation class UID and version
	 * name, then every other held group 0002 element (Source AE Title,
	 * private information ...) as held. */
	PACS_WRITE_KEEP_META = 1u << 0,
	/* Write every sequence and item with defined length (default: as held,
	 * but see the Implicit VR rule below; a data set built in memory has
	 * undefined lengths).  Defined lengths are computed by a size pass,
	 * never taken from what was read. */
	PACS_WRITE_DEFINED_LENGTHS = 1u << 1,
	/* Drop group length elements (gggg,0000) outside group 0002
	 * (default: kept and recomputed for the target encoding, PS3.5 7.2). */
	PACS_WRITE_NO_GROUP_LENGTHS = 1u << 2,
};

typedef struct pacs_write_opts {
	const char *ts_uid;            /* target transfer syntax; NULL = source TS
					* (pacs_ds_source_ts), or Explicit VR Little
					* Endian if that is unknown */
	unsigned flags;                /* enum pacs_write_flag */
	pacs_bulk_source_fn bulk_fn;   /* needed if the data set has bulk elements */
	void *bulk_ctx;                /* passed to bulk_fn and bulk_size_fn */
	int deflate_level;             /* for deflated TS: 1-9; 0 = zlib default */
	pacs_bulk_size_fn bulk_size_fn; /* optional, see pacs_bulk_size_fn */
} pacs_write_opts;

/* Encoding rules the writer applies (PS3.5 7.1-7.6, A.4, A.5):
 * - Values are held little endian; Explicit VR Big Endian output swaps each
 *   value by the width of its VR (pacs_vr_swap_unit; AT as two 16-bit
 *   words; OB and UN values, bytes, never), and writes tags and lengths big
 *   endian.
 * - Explicit VR: the element's VR; pseudo VRs from the dictionary are
 *   resolved (xs by Pixel Representation, Pixel Data ox/px by Bits
 *   Allocated: OB up to 8 bits, else OW; others pacs_vr_resolve_default).
 *   A value longer than 65534 bytes in a VR with a 16-bit length field is
 *   written with VR UN (PS3.5 6.2.2, 7.1.2); reading it back gives VR UN
 *   (Explicit VR) or the dictionary VR (Implicit VR).
 * - A sequence read as VR UN with undefined length (PS3.5 6.2.2, parsed as
 *   Implicit VR LE items: in a data set read in an explicit VR syntax, an
 *   SQ flagged PACS_ELEM_IMPLICIT_VR or whose items' elements all are) is
 *   written back as UN with undefined length and Implicit VR LE items in
 *   any explicit VR syntax, and as a plain sequence in Implicit VR.
 * - In Implicit VR, a sequence that the data dictionary does not name as
 *   one (mostly private sequences of unknown creators) is written with
 *   undefined length unless PACS_WRITE_DEFINED_LENGTHS is set: the undefined
 *   length is all that tells a reader it is a sequence and not a UN value.
 * - Group lengths (gggg,0000) outside group 0002 are recomputed; defined
 *   sequence and item lengths are computed, never copied.
 * - Encapsulated values are written only in their own transfer syntax:
 *   the target must be pacs_ds_source_ts(ds) (or the source must be unknown
 *   and the target encapsulated); native Pixel Data cannot be written in an
 *   encapsulated syntax.  Both fail with ARCA_EUNSUPPORTED before any byte
 *   is written.  Bulk elements without opts.bulk_fn fail with ARCA_EINVAL.
 * - Deflated Explicit VR LE: the data set (after the meta group, or all of
 *   it for pacs_write_dataset) is raw-deflated, streamed in 64 KiB blocks.
 * - Elements are written in the order held; odd lengths are kept.
 * opts may be NULL for the defaults of pacs_write_opts_init. */

void pacs_write_opts_init(pacs_write_opts *opts);

/* Part 10 file: preamble, "DICM", meta group, data set.  ARCA_EINVAL when
 * the meta group would lack its Type 1 SOP Class or Instance UID (neither
 * (0008,0016)/(0008,0018) nor a held (0002,0002)/(0002,0003)). */
int pacs_write_part10(const pacs_ds *ds, const pacs_write_opts *opts, pacs_sink_fn sink, void *ctx);
/* Bare data set (no preamble, no group 0002), as sent over the network. */
int pacs_write_dataset(const pacs_ds *ds, const pacs_write_opts *opts, pacs_sink_fn sink, void *ctx);
/* Part 10 to a file: written to PATH.tmp.XXXXXX in the same directory
 * (mode 0600: the file holds patient data), fsync'ed, renamed to path, and
 * the directory fsync'ed; on failure the temporary file is removed and
 * path is untouched.  Errors name the path. */
int pacs_write_file(const pacs_ds *ds, const char *path, const pacs_write_opts *opts);
/* Part 10 into a malloc'ed buffer; *out is the caller's (free()). */
int pacs_write_buffer(const pacs_ds *ds, const pacs_write_opts *opts, uint8_t **out, size_t *out_len);

/* For bulk sources: emit value bytes (little endian).  In an encapsulated
 * element they continue the fragment opened by pacs_write_fragment(w,
 * NULL, len). */
int pacs_write_bytes(pacs_write_ctx *w, const uint8_t *data, size_t len);
/* For bulk sources of encapsulated elements: one fragment of len bytes.
 * With data NULL only the item header is written and the len bytes must
 * follow through pacs_write_bytes (for fragments streamed in pieces). */
int pacs_write_fragment(pacs_write_ctx *w, const uint8_t *data, uint32_t len);

/* arca's Implementation Class UID and Version Name (PS3.7 D.3.3.2).
 * The class UID is a UUID-derived UID (PS3.5 B.2) that identifies arca. */
#define PACS_IMPLEMENTATION_CLASS_UID "2.25.16592368143887627526056543918364687110"
#define PACS_IMPLEMENTATION_VERSION "ARCA_010"

#endif
