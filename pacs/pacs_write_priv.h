/* pacs_write_priv.h - writer internals shared by pacs_write*.c.  Not a
 * public header.
 *
 * The writer is three layers:
 *   pacs_write_out.c   buffered output in front of the caller's sink, with
 *                      an optional raw-deflate stage (PS3.5 A.5);
 *   pacs_write_ds.c    the data set encoder (PS3.5 7.1-7.5) and the size
 *                      pass that computes defined lengths and group lengths;
 *   pacs_write_meta.c  the File Meta Information group (PS3.10 7.1);
 *   pacs_write_bulk.c  the protocol with bulk sources (pacs_write_bytes,
 *                      pacs_write_fragment);
 * and pacs_write.c holds the public entry points. */
#ifndef PACS_WRITE_PRIV_H
#define PACS_WRITE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ds_priv.h"
#include "pacs_ts.h"
#include "pacs_write.h"

/* Size of the output buffer in front of the sink: large enough that the
 * sink sees few calls, small enough that memory stays bounded. */
#define PACS_WRITE_BUF_SIZE (64u * 1024u)

/* How one data set (or item) is encoded. */
typedef struct pacs_write_enc {
	bool explicit_vr;
	bool big_endian;
} pacs_write_enc;

typedef struct pacs_write_zs pacs_write_zs; /* deflate stage, pacs_write_out.c */

/* State while a bulk source runs (pacs_write_bulk.c). */
typedef struct pacs_write_bulk {
	bool active;
	bool encapsulated;
	uint32_t tag;
	uint64_t remaining;     /* native: value bytes still expected */
	unsigned swap;          /* native: byte-swap unit (0/1 = none) */
	uint8_t carry[8];       /* native: partial swap unit between calls */
	unsigned ncarry;
	uint32_t frag_remaining; /* encapsulated: bytes of the open fragment */
	uint32_t nfrags;
} pacs_write_bulk;

struct pacs_write_ctx {
	const pacs_write_opts *opts;
	const char *ts_uid;      /* target transfer syntax, borrowed */
	pacs_write_enc enc;      /* encoding of the data set */
	bool deflated;
	bool source_explicit;    /* the data set was read in an explicit VR syntax */
	/* output */
	pacs_sink_fn sink;
	void *sink_ctx;
	uint8_t *buf;            /* PACS_WRITE_BUF_SIZE bytes */
	size_t used;
	pacs_write_zs *z;        /* non-NULL while deflating */
	pacs_write_bulk bulk;
};

/* ---- pacs_write_out.c ---- */
int pacs_write__out_init(pacs_write_ctx *w, pacs_sink_fn sink, void *ctx);
/* Frees the buffer and any deflate state; safe after a failure. */
void pacs_write__out_release(pacs_write_ctx *w);
int pacs_write__put(pacs_write_ctx *w, const uint8_t *data, size_t len);
/* Copies data reversing the bytes of each `unit`-byte word (unit 2, 4 or 8;
 * 0 or 1 copies as is); a trailing partial word is copied unchanged. */
int pacs_write__put_swapped(pacs_write_ctx *w, const uint8_t *data, size_t len, unsigned unit);
/* Everything put after this is raw-deflated (PS3.5 A.5). level 0 = default. */
int pacs_write__deflate_begin(pacs_write_ctx *w, int level);
/* Flushes the buffer and ends the deflate stream, if any. */
int pacs_write__out_finish(pacs_write_ctx *w);

/* ---- pacs_write_ds.c ---- */
/* Writes the elements of ds in held order.  skip_meta: leave out group
 * 0002 (the top level of a data set, whose meta group is written apart). */
int pacs_write__ds(pacs_write_ctx *w, const pacs_ds *ds, pacs_write_enc enc, bool skip_meta);
/* Writes element `index` of ds. */
int pacs_write__elem(pacs_write_ctx *w, const pacs_ds *ds, uint32_t index, pacs_write_enc enc,
		     bool skip_meta);
/* Encoded size of what pacs_write__ds would write. */
int pacs_write__ds_size(const pacs_write_ctx *w, const pacs_ds *ds, pacs_write_enc enc,
			bool skip_meta, uint64_t *size);
/* Item and delimitation headers (PS3.5 7.5): tag and 32-bit length in the
 * byte order of enc, never a VR. */
int pacs_write__item_header(pacs_write_ctx *w, pacs_write_enc enc, uint32_t tag, uint32_t len);

/* ---- pacs_write_meta.c ---- */
/* Preamble, "DICM" and the File Meta Information group of ds. */
int pacs_write__meta(pacs_write_ctx *w, const pacs_ds *ds);

/* ---- pacs_write_bulk.c ---- */
/* Runs opts->bulk_fn for e after its header has been written; checks that
 * it produced exactly the value (native) or at least one fragment. */
int pacs_write__bulk(pacs_write_ctx *w, const pacs_ds *parent, const pacs_elem *e,
		     unsigned swap, bool encapsulated);

#endif
