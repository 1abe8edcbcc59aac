/* store_study_cache.h - the study hash of the study being received, kept
 * between batches.
 *
 * arcad appends a store event with the study hash after every batch of a
 * study (the C-STORE success waits for it).  Recomputed from the index,
 * that is N rows and 2N SHA-256 per batch: N^2 over a study sent one
 * instance per batch, seconds per instance at the end of a 5000-slice CT.
 * The cache keeps the study's leaves in SOP Instance UID order and the
 * hashes of the perfect subtrees of the RFC 9162 tree, applies what the
 * writer's own batch changed, and recomputes only the subtrees right of
 * the first leaf inserted.  It trusts itself only while nobody else wrote
 * to the index (store_index_change_mark): any other writer (arca import,
 * quarantine release, another process), an unknown study, or an outcome it
 * does not model (a replaced version, which may move an instance between
 * studies) makes it reload from the index.  The result is always the hash
 * store_study_hash gives. */
#ifndef STORE_STUDY_CACHE_H
#define STORE_STUDY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store_index.h"

typedef struct store_study_cache store_study_cache;

/* What one put of the batch did to the study. */
typedef struct store_study_change {
	const char *sop_uid;
	const uint8_t *instance_hash; /* 32 bytes */
	store_index_outcome outcome;
} store_study_change;

int store_study_cache_new(store_study_cache **out);
void store_study_cache_free(store_study_cache *c);

/* The study hash of study_uid as idx holds it now and its instance count,
 * where changes[0..n) are every change idx's writer made to the study
 * since the previous call (the batch just committed).  Call from the
 * writer's thread, after the commit. */
int store_study_cache_hash(store_study_cache *c, store_index *idx, const char *study_uid,
			   const store_study_change *changes, size_t n, uint8_t hash[32], uint32_t *count);

/* How many times the cache read a study whole from the index (the
 * first batch of a study, or after something it could not follow). */
uint64_t store_study_cache_reloads(const store_study_cache *c);

/* Forget the study: the next call reloads it. */
void store_study_cache_drop(store_study_cache *c);

#endif
