/* store_instance.h - a stored instance rebuilt from its manifest (the read
 * path behind export, verify and C-GET), its instance hash, and the study
 * hash (design.md 3.1 steps 4 and 6; issue 4 item 2).
 *
 * The canonical Part 10 stream of an instance is what pacs_write_part10
 * writes for the data set the manifest describes:
 *   - the data set is the metadata object read back, with each bulk
 *     element restored (PACS_ELEM_BULK, its VR and length, encapsulated or
 *     not) and its value taken, piece by piece, from the chunks and inline
 *     bytes of the manifest;
 *   - in the manifest's transfer syntax (the canonical one: the received
 *     syntax for encapsulated pixel data, else Explicit VR Little Endian),
 *     with no write flags: preamble of 128 zero bytes, the meta group
 *     rebuilt by pacs_write (its other group 0002 elements, the Source AE
 *     Title among them, as held), group lengths recomputed, sequences and
 *     items with the lengths (defined or not) they were received with.
 * The instance hash is SHA-256 of exactly those bytes: `sha256sum` of an
 * exported instance gives it.  docs/storage-format.md says the same with
 * the bytes of the manifest.
 *
 * Rebuilding re-checks every chunk (store_cas_get hashes what it reads)
 * and, at the end, the stream's SHA-256 and length against the manifest.
 *
 * Thread safety: the functions keep no state; store_cas is thread safe. */
#ifndef STORE_INSTANCE_H
#define STORE_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"
#include "pacs_write.h"
#include "store_cas.h"
#include "store_manifest.h"

/* Supplies the len bytes of the chunk at hash to the writer: call
 * pacs_write_bytes(w, ...) with them, exactly len bytes in all.  Returns 0
 * or a negative ARCA_E* code (with the message set). */
typedef int (*store_instance_chunk_fn)(void *ctx, const uint8_t hash[STORE_CAS_HASH_LEN],
				       uint32_t len, pacs_write_ctx *w);

/* The data set m describes: its metadata object read back (Part 10,
 * Explicit VR Little Endian, everything held), each bulk placeholder
 * replaced by the bulk element of the manifest, and the source transfer
 * syntax set to the canonical one.  *out is the caller's (pacs_ds_free).
 * ARCA_EPROTO when the manifest and its metadata object disagree (a path
 * that leads nowhere, a placeholder that is not empty). */
int store_instance_dataset(pacs_ds **out, const store_manifest *m);

/* Writes the canonical Part 10 stream of ds (from store_instance_dataset
 * for m) to sink, the chunks coming from chunk_fn.  out_hash and out_len
 * (either may be NULL) get the SHA-256 and the length of what was written.
 * No check against m's instance hash: see store_instance_write. */
int store_instance_write_ds(const pacs_ds *ds, const store_manifest *m, store_instance_chunk_fn chunk_fn,
			    void *chunk_ctx, pacs_sink_fn sink, void *sink_ctx,
			    uint8_t out_hash[STORE_CAS_HASH_LEN], uint64_t *out_len);

/* Reads and decodes the manifest chunk at address.  *out is the caller's. */
int store_instance_manifest(store_cas *cas, const uint8_t address[STORE_CAS_HASH_LEN],
			    store_manifest **out);

/* Rebuilds the instance whose manifest is at address, streaming it to sink
 * (sink may be NULL: verify only).  Every chunk is re-hashed as it is read;
 * at the end the stream's SHA-256 and length must be the manifest's, else
 * ARCA_ECRYPTO naming the instance.  The bytes already given to sink are
 * then wrong: a caller writing a file removes it on any error.  The
 * instance's SOP Instance UID and hash go to the optional outputs. */
int store_instance_write(store_cas *cas, const uint8_t address[STORE_CAS_HASH_LEN], pacs_sink_fn sink,
			 void *sink_ctx, uint8_t out_instance_hash[STORE_CAS_HASH_LEN]);

/* The data set of the instance whose manifest is at address, as sent in a
 * C-STORE sub-operation (no preamble, no group 0002; PS3.7 9.3.1.1), in
 * transfer syntax ts (the stored one when NULL), streamed to sink: the
 * metadata object's elements, then each bulk value straight from its
 * chunk, re-hashed by store_cas_get before any of its bytes reach sink
 * (the manifest chunk is checked the same way, so every byte sent is
 * covered by a checked SHA-256; the instance hash of the whole Part 10
 * stream is left to store_instance_write and arca verify).
 * ARCA_EUNSUPPORTED, before anything is written, when ts needs the pixel
 * data decoded or encoded (encapsulated to or from anything else): the
 * caller then rebuilds the instance and transcodes it.  Other errors may
 * come after part of the data set went to sink. */
int store_instance_send(store_cas *cas, const uint8_t address[STORE_CAS_HASH_LEN], const char *ts,
			pacs_sink_fn sink, void *sink_ctx);

/* As store_instance_write into a malloc'ed buffer (*out, the caller's:
 * free()); for tests and small instances. */
int store_instance_read(store_cas *cas, const uint8_t address[STORE_CAS_HASH_LEN], uint8_t **out,
			size_t *out_len);

/* One instance of a study, for the study hash. */
typedef struct store_instance_ref {
	const char *sop_instance_uid; /* borrowed */
	uint8_t hash[STORE_CAS_HASH_LEN];
} store_instance_ref;

/* The study hash (design.md 3.1 step 6): the RFC 9162 Merkle Tree Hash
 * (section 2.1.1) whose leaves, in ascending byte order of SOP Instance
 * UID, are the instances' hashes: leaf = SHA-256(0x00 || instance hash),
 * node = SHA-256(0x01 || left || right), empty study = SHA-256("").
 * refs is not modified (a sorted copy is made).  ARCA_EINVAL if two refs
 * have the same SOP Instance UID. */
int store_instance_study_hash(const store_instance_ref *refs, size_t n,
			      uint8_t out[STORE_CAS_HASH_LEN]);

#endif
