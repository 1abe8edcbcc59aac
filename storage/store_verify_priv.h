/* store_verify_priv.h - what store_verify.c and store_gc.c share: the
 * index read row by row, below store_index.h (store_verify_index.c).
 * Not a public header. */
#ifndef STORE_VERIFY_PRIV_H
#define STORE_VERIFY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_cas.h"

/* One version of one instance as the index holds it. */
typedef struct store_verify__row {
	char *study;  /* NULL when the row's series or study is missing */
	char *series; /* NULL when the row's series is missing */
	char *sop;    /* NULL for a kept version whose instance row is missing */
	int64_t pk;   /* the instance row's key: the order the index received them */
	unsigned version;
	bool current;                     /* in instances (true) or instance_versions */
	bool hash_ok, manifest_ok;        /* the blobs are 32 bytes */
	uint8_t hash[STORE_CAS_HASH_LEN];
	uint8_t manifest[STORE_CAS_HASH_LEN];
	uint64_t size;
	char ts[65];
} store_verify__row;

typedef struct store_verify__index store_verify__index;

/* Opens the SQLite index at path read-only (no schema change, no write
 * lock) and checks its schema version.  *out is the caller's. */
int store_verify__index_open(store_verify__index **out, const char *path);
void store_verify__index_free(store_verify__index *ix);

/* Instance rows (current and kept versions) and the sum of their sizes,
 * of the whole index or of one study (study not NULL). */
int store_verify__index_totals(store_verify__index *ix, const char *study, uint64_t *rows, uint64_t *bytes);

/* Studies pending a store event in the chain outbox (schema version 4;
 * 0 for an older index). */
int store_verify__index_pending(store_verify__index *ix, uint64_t *n);

/* The index as a whole: SQLite's quick_check, the counts kept on
 * patients, studies and series against the rows below them, parents
 * left without children, studies without their patient.  fn gets one
 * line per fault. */
typedef void (*store_verify__message_fn)(void *ctx, const char *message);
int store_verify__index_check(store_verify__index *ix, store_verify__message_fn fn, void *ctx);

/* Studies in key order: the first with a key above after.  1 with *pk and
 * *uid (malloc'ed, the caller's) set, 0 after the last. */
int store_verify__index_next_study(store_verify__index *ix, int64_t after, int64_t *pk, char **uid);

/* The key of the study uid: 1 found, 0 not in the index. */
int store_verify__index_find_study(store_verify__index *ix, const char *uid, int64_t *pk);

/* Every row of study pk (named uid), read in one transaction, ordered by
 * instance key, the current version of each instance first.  *rows is the
 * caller's (store_verify__rows_free). */
int store_verify__index_study_rows(store_verify__index *ix, int64_t pk, const char *uid,
				   store_verify__row **rows, size_t *n);

/* Rows that no study reaches: an instance whose series (or the series'
 * study) is missing, a kept version whose instance is missing. */
int store_verify__index_dangling_rows(store_verify__index *ix, store_verify__row **rows, size_t *n);

void store_verify__rows_free(store_verify__row *rows, size_t n);

/* Sorted set of chunk addresses (the referenced ones): append, then sort
 * and drop duplicates once, then look up. */
typedef struct store_verify__set {
	uint8_t (*h)[STORE_CAS_HASH_LEN];
	size_t n, cap;
} store_verify__set;

int store_verify__set_add(store_verify__set *s, const uint8_t hash[STORE_CAS_HASH_LEN]);
/* Moves every address of from into s (from is emptied). */
int store_verify__set_merge(store_verify__set *s, store_verify__set *from);
void store_verify__set_sort(store_verify__set *s);
bool store_verify__set_has(const store_verify__set *s, const uint8_t hash[STORE_CAS_HASH_LEN]);
void store_verify__set_free(store_verify__set *s);

#endif
