/* pacs_read_priv.h - the incremental reader's state, shared by its files
 * (internal to pacs/):
 *   pacs_read.c        life cycle, the input phases (preamble, meta group,
 *                      probe, inflate), feed/finish/skip
 *   pacs_read_parse.c  the element/item state machine over a byte stream
 *   pacs_read_probe.c  guessing the encoding of a bare data set
 *   pacs_inflate.c     the deflate stage (PS3.5 A.5)
 *   pacs_read_file.c   pacs_read_file / pacs_read_buffer
 *
 * Offsets: `pos` counts the bytes of the logical stream the parser sees:
 * the raw input up to the end of the meta group, then (deflated transfer
 * syntax) the inflated bytes.  Element, item and error offsets are in this
 * logical stream; for every non-deflated input it equals the file offset. */
#ifndef PACS_READ_PRIV_H
#define PACS_READ_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ds_priv.h"
#include "pacs_read.h"
#include "pacs_ts.h"

/* Byte encoding of a data set (PS3.5 7.1 and Section 10). */
enum pacs_read__enc {
	PACS_READ__IMPLICIT_LE,
	PACS_READ__EXPLICIT_LE,
	PACS_READ__EXPLICIT_BE,
};

enum pacs_read__phase {
	PACS_READ__START,    /* collecting the first bytes: preamble? meta? */
	PACS_READ__META,     /* parsing the File Meta group 0002 */
	PACS_READ__PROBE,    /* collecting the first data set bytes to guess the encoding */
	PACS_READ__DATASET,  /* parsing the data set from the raw input */
	PACS_READ__INFLATE,  /* parsing the data set from inflated input */
	PACS_READ__DONE,     /* stop_at_pixel_data reached, input ignored */
	PACS_READ__FAILED,   /* an error happened; only free is allowed */
	PACS_READ__FINISHED, /* the data set went to the caller */
};

/* What the parser expects next. */
enum pacs_read__state {
	PACS_READ__HEADER, /* an element, item or delimiter header */
	PACS_READ__VALUE,  /* bytes of a held value (or fragment) */
	PACS_READ__BULK,   /* bytes of a value going to bulk_fn */
	PACS_READ__SKIP,   /* bytes of a value being discarded */
};

enum pacs_read__frame_kind {
	PACS_READ__F_DATASET, /* the root data set */
	PACS_READ__F_ITEM,    /* a sequence item */
	PACS_READ__F_SEQ,     /* a sequence: expects items */
	PACS_READ__F_ENCAP,   /* encapsulated pixel data: expects fragments */
};

#define PACS_READ__NO_END UINT64_MAX

/* One open container.  Nesting is kept in an array of these, never on the
 * C stack, so a deep stream cannot overflow it. */
typedef struct pacs_read__frame {
	uint8_t kind;      /* enum pacs_read__frame_kind */
	uint8_t enc;       /* enum pacs_read__enc of the contents */
	bool bulk;         /* F_ENCAP: fragments go to bulk_fn or are skipped */
	uint32_t tag;      /* F_SEQ/F_ENCAP: the element's tag (messages, events) */
	uint32_t elem;     /* F_SEQ/F_ENCAP: index of the element in ds */
	uint32_t nfrag;    /* F_ENCAP: items seen (0 = basic offset table) */
	uint64_t end;      /* offset just past a defined length, or NO_END */
	uint64_t limit;    /* nearest defined end of this or an enclosing frame */
	uint64_t start;    /* offset of the element or item tag */
	pacs_ds *ds;       /* F_DATASET/F_ITEM: data set filled; else its holder */
} pacs_read__frame;

/* The value being received. */
typedef struct pacs_read__value {
	uint32_t tag;
	pacs_vr vr;
	uint32_t len;
	uint32_t got;        /* bytes received so far */
	uint64_t offset;     /* of the element (or fragment item) tag */
	uint8_t *dst;        /* PACS_READ__VALUE: arena bytes */
	unsigned swap_unit;  /* >1: Explicit VR Big Endian value to swap */
	bool fragment;       /* an item of encapsulated pixel data */
	uint32_t fragment_index;
} pacs_read__value;

typedef struct pacs_read__inflate pacs_read__inflate;

#define PACS_READ__STAGE_MAX 12  /* longest element header (PS3.5 Table 7.1-1) */
#define PACS_READ__START_NEED 140 /* preamble, "DICM", first meta tag and VR */
#define PACS_READ__PROBE_NEED 64  /* data set bytes used to guess the encoding */
#define PACS_READ__SWAP_CHUNK (64u * 1024u)

struct pacs_reader {
	pacs_read_opts opts;       /* defaults resolved */
	char opts_ts[65];          /* copy of opts.ts_uid */
	enum pacs_read__phase phase;
	int err;                   /* PACS_READ__FAILED: the code to repeat */
	char errmsg[256];

	pacs_ds *root;
	pacs_arena *arena;         /* the root's arena (values, elements, items) */
	uint64_t raw_offset;       /* input bytes consumed */
	uint64_t pos;              /* logical offset of the next parser byte */

	/* START and PROBE: bytes collected before a decision. */
	uint8_t probe[PACS_READ__START_NEED];
	size_t probe_len;
	bool probe_prefer_explicit;
	int probe_declared;        /* PROBE after a meta group: the encoding its
				    * transfer syntax names, or -1 */

	/* File Meta Information (PS3.10 7.1). */
	bool meta;                 /* the parser is in group 0002 */
	uint64_t meta_end;         /* from (0002,0000), 0 if unknown */

	/* Parser. */
	enum pacs_read__state st;
	pacs_read__frame *frames;
	uint32_t nframes, cap_frames;
	uint32_t depth;            /* open sequences */
	uint8_t stage[PACS_READ__STAGE_MAX];
	size_t stage_len;
	uint8_t replay[PACS_READ__STAGE_MAX]; /* staged bytes handed back at the end of the meta group */
	size_t replay_len;
	pacs_read__value v;
	uint8_t *empty_value;      /* shared non-NULL pointer for zero-length values */

	/* Bulk delivery. */
	pacs_bulk_event ev;        /* template of the current bulk value */
	uint64_t delivered;        /* DATA bytes handed out for the current value */
	uint8_t carry[8];          /* Big Endian: bytes of an incomplete unit */
	size_t carry_len;
	uint8_t *swapbuf;          /* PACS_READ__SWAP_CHUNK bytes, allocated on first use */

	pacs_read__inflate *inflate;
};

/* ---- pacs_read_parse.c ---- */

/* Result of pacs_read__parse besides errors: the parser stopped early. */
enum {
	PACS_READ__CONTINUE = 0,
	PACS_READ__META_END = 1,  /* group 0002 ended; r->replay holds staged bytes */
	PACS_READ__STOPPED = 2,   /* stop_at_pixel_data reached */
};

/* Sets up the root frame. */
int pacs_read__parse_init(pacs_reader *r, enum pacs_read__enc enc);
void pacs_read__parse_set_enc(pacs_reader *r, enum pacs_read__enc enc);
/* Parses up to len bytes; *used is set to the bytes consumed.  Returns a
 * negative error, or one of the values above (all input consumed unless
 * META_END or STOPPED). */
int pacs_read__parse(pacs_reader *r, const uint8_t *data, size_t len, size_t *used);
/* End of input: 0 if the parser stands between top-level elements. */
int pacs_read__parse_finish(pacs_reader *r);
/* Bytes of the current value that may be skipped without looking. */
uint64_t pacs_read__parse_skippable(const pacs_reader *r);
int pacs_read__parse_skip(pacs_reader *r, uint64_t n);
void pacs_read__parse_free(pacs_reader *r);

/* ---- pacs_read_probe.c ---- */

/* Guesses the encoding of a data set from its first n bytes (PS3.5 7.1):
 * sets *enc and *skip (bytes of junk before the first element: 0 or 1).
 * ARCA_ENOTFOUND (no message) when no encoding is plausible. */
int pacs_read__probe(const uint8_t *p, size_t n, bool prefer_explicit_le,
		     enum pacs_read__enc *enc, size_t *skip);
/* The encoding a transfer syntax declared, unless the first bytes clearly
 * say otherwise (two plausible headers in another encoding, fewer in the
 * declared one): writers that label an Implicit VR data set Explicit VR
 * (or the reverse) exist. */
enum pacs_read__enc pacs_read__probe_declared(const uint8_t *p, size_t n, enum pacs_read__enc declared);
/* PS3.5 Table 6.2-1: the VR of two upper-case letters, indexed by
 * (c0 - 'A') * 26 + (c1 - 'A'); PACS_VR_NONE (0) where there is none. */
extern const uint8_t pacs_read__vr_by_letters[26 * 26];

/* The VR for two explicit VR characters, PACS_VR_NONE if not a VR.
 * Inline: the explicit VR path calls it for every element. */
static inline pacs_vr pacs_read__vr_from_chars(uint8_t c0, uint8_t c1)
{
	unsigned a = (unsigned)c0 - 'A', b = (unsigned)c1 - 'A';

	if (a >= 26 || b >= 26)
		return PACS_VR_NONE;
	return (pacs_vr)pacs_read__vr_by_letters[a * 26 + b];
}

/* ---- pacs_inflate.c ---- */

int pacs_read__inflate_begin(pacs_reader *r);
/* Inflates len raw bytes and parses the output.  Returns a negative error,
 * 0, or PACS_READ__STOPPED. */
int pacs_read__inflate_feed(pacs_reader *r, const uint8_t *data, size_t len);
/* 0 if the deflate stream ended, else ARCA_ETRUNCATED. */
int pacs_read__inflate_finish(pacs_reader *r);
void pacs_read__inflate_free(pacs_reader *r);

#endif
