/* store_manifest.h - the instance manifest (design.md 3.1 step 4; issue 4
 * item 2): everything needed to rebuild one stored instance, byte for
 * byte, from the chunk store.
 *
 * A manifest holds
 *   - the instance hash: SHA-256 of the canonical Part 10 stream (what
 *     retrieval rebuilds, see store_instance.h) and that stream's length;
 *   - the canonical transfer syntax and the SOP Class / Instance UIDs;
 *   - the metadata object: the data set without its bulk values, as a
 *     Part 10 stream in Explicit VR Little Endian in which each bulk
 *     element is an empty placeholder (same tag and VR, length 0);
 *   - per bulk element, in the order the writer visits them (data set
 *     order, depth first into sequences): its place (the sequences and
 *     items leading to it, then its tag), VR, value length or the
 *     encapsulated flag, and its value as fragments of pieces, each piece a
 *     chunk address and length, or a few bytes inline.
 *
 * The manifest is itself stored as a chunk: its address is what the index
 * records.  The binary encoding (canonical: one data structure, one
 * encoding) is in docs/storage-format.md, "The instance manifest".  The
 * decoder is a bounded parser that checks every count and length against
 * the limits below and against the bytes left before allocating.
 *
 * The struct is transparent: the ingest builds one field by field with the
 * _add helpers, the read path gets one from store_manifest_decode.  Every
 * array and inline value is owned by the manifest (store_manifest_free). */
#ifndef STORE_MANIFEST_H
#define STORE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_vr.h"
#include "store_cas.h"

#define STORE_MANIFEST_VERSION 1
/* Longest UID (PS3.5 9.1). */
#define STORE_MANIFEST_UID_MAX 64
/* Deepest nesting of a bulk element: sequences above it (pacs_read's
 * default depth limit). */
#define STORE_MANIFEST_MAX_DEPTH 64
/* Pieces this short (encapsulated fragments: Basic Offset Tables, tiny
 * frames) are kept inline rather than as chunks of their own: a chunk is a
 * file, and a file costs an fsync. */
#define STORE_MANIFEST_INLINE_MAX 4096u
/* Largest metadata object (the reader's metadata cap at ingest is 32 MiB). */
#define STORE_MANIFEST_METADATA_MAX ((size_t)32 << 20)
/* Bounds checked by the decoder before allocating. */
#define STORE_MANIFEST_MAX_BULK 65536u
#define STORE_MANIFEST_MAX_FRAGMENTS (1u << 24)
#define STORE_MANIFEST_MAX_PIECES (1u << 24)

typedef struct store_manifest_piece {
	uint32_t len;
	bool is_inline;
	uint8_t hash[STORE_CAS_HASH_LEN]; /* the chunk's address (not inline) */
	uint8_t *data;                    /* inline: len bytes, owned; NULL when len is 0 */
} store_manifest_piece;

/* A native value is one fragment (length = the value length); an
 * encapsulated value has one per item, the Basic Offset Table first. */
typedef struct store_manifest_fragment {
	uint32_t length; /* sum of the pieces' lengths */
	store_manifest_piece *pieces;
	size_t n_pieces, cap_pieces;
} store_manifest_fragment;

/* One step down to a nested bulk element: the sequence (its tag) and the
 * item (0-based) in it. */
typedef struct store_manifest_step {
	uint32_t tag;
	uint32_t item;
} store_manifest_step;

typedef struct store_manifest_bulk {
	store_manifest_step path[STORE_MANIFEST_MAX_DEPTH];
	size_t depth;          /* steps in path; 0 for an element of the root data set */
	uint32_t tag;
	pacs_vr vr;
	bool encapsulated;     /* PS3.5 A.4: fragments, undefined length */
	uint32_t length;       /* native: the value length; encapsulated: PACS_UNDEFINED_LENGTH */
	store_manifest_fragment *frags;
	size_t n_frags, cap_frags;
} store_manifest_bulk;

typedef struct store_manifest {
	uint8_t instance_hash[STORE_CAS_HASH_LEN];
	uint64_t instance_length;
	char transfer_syntax[STORE_MANIFEST_UID_MAX + 1];
	char sop_class[STORE_MANIFEST_UID_MAX + 1];
	char sop_instance[STORE_MANIFEST_UID_MAX + 1];
	uint8_t *metadata; /* owned */
	size_t metadata_len;
	store_manifest_bulk *bulk;
	size_t n_bulk, cap_bulk;
} store_manifest;

/* An empty manifest; *out is the caller's (store_manifest_free). */
int store_manifest_new(store_manifest **out);
/* Accepts NULL. */
void store_manifest_free(store_manifest *m);

/* Appenders for building: each returns a zeroed new entry, borrowed (valid
 * until the next append to the same array). */
int store_manifest_add_bulk(store_manifest *m, store_manifest_bulk **out);
int store_manifest_add_fragment(store_manifest_bulk *b, store_manifest_fragment **out);
/* A chunk piece: len bytes at address hash. */
int store_manifest_add_chunk(store_manifest_fragment *f, const uint8_t hash[STORE_CAS_HASH_LEN],
			     uint32_t len);
/* An inline piece: a copy of data[0..len), len <= STORE_MANIFEST_INLINE_MAX. */
int store_manifest_add_inline(store_manifest_fragment *f, const uint8_t *data, uint32_t len);
/* Takes a copy of the metadata object (<= STORE_MANIFEST_METADATA_MAX). */
int store_manifest_set_metadata(store_manifest *m, const uint8_t *data, size_t len);

/* Total value bytes of b (sum of its fragments' lengths). */
uint64_t store_manifest_bulk_bytes(const store_manifest_bulk *b);

/* Encodes m; *out (malloc'ed, the caller's: free()) holds *out_len bytes.
 * ARCA_EINVAL if m is inconsistent (a fragment's length is not the sum of
 * its pieces, a native value that is not one fragment of its length ...),
 * ARCA_ELIMIT past the limits above or STORE_CAS_CHUNK_MAX in all. */
int store_manifest_encode(const store_manifest *m, uint8_t **out, size_t *out_len);

/* Decodes and checks a manifest (as encode checks it, plus the format);
 * *out is the caller's.  ARCA_EPROTO naming what and the byte offset for a
 * malformed manifest, ARCA_EUNSUPPORTED for a newer format version. */
int store_manifest_decode(store_manifest **out, const uint8_t *data, size_t len);

/* Every distinct chunk address the manifest refers to, in ascending
 * order: *out (malloc'ed, the caller's) holds *n addresses (NULL when 0). */
int store_manifest_chunks(const store_manifest *m, uint8_t (**out)[STORE_CAS_HASH_LEN], size_t *n);

#endif
