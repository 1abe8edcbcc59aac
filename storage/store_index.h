/* store_index.h - the archive's index: patients, studies, series and
 * instances with the C-FIND keys of PS3.4 C.6 (design.md 3.1 step 5, 3.2).
 *
 * What it holds.  One row per patient, study, series and instance with the
 * Patient Root and Study Root keys of PS3.4 C.6.1 and C.6.2 as UTF-8 text,
 * the counts of C.6.1.1 (Number of Patient/Study/Series Related ...)
 * maintained on insert, Modalities in Study and SOP Classes in Study, and
 * per instance its storage data: transfer syntax, size, instance hash,
 * manifest address, time received and calling AE title.  The keys are
 * listed by store_index_key_at(); anything else is not the index's business.
 *
 * Backends.  The interface is backend-neutral (design.md 3.4): SQLite is
 * the embedded default ("path/to/index.db"); a PostgreSQL backend
 * ("postgresql://...") implements the same operations later and must pass
 * the same tests (tests/store_index_test.c).
 *
 * Writing.  store_index_put() indexes a batch of instances in one
 * transaction (group commit across associations: design 3.1 step 5 waits
 * for this commit before answering C-STORE success).  When it returns 0 the
 * batch is durable (SQLite: WAL, synchronous=FULL).  Re-sending an instance
 * is idempotent: the same SOP Instance UID with the same instance hash is a
 * duplicate and changes nothing; a different hash is a new version, kept
 * beside the first, and store_index_options.on_new_version says which one
 * is current (issue 4, item 4).  Patient, study and series rows are created
 * by their first instance; a later instance fills attributes that were
 * empty (under STORE_INDEX_REPLACE a new version overwrites them).  A
 * patient is identified by Patient ID + Issuer of Patient ID; a study or
 * series stays under the parent it was first indexed under.
 *
 * Querying.  store_index_find describes a C-FIND identifier (level, keys,
 * values); store_index_query_open() runs it and store_index_query_next()
 * streams the matches one row at a time: the result set is never held in
 * memory.  Matching follows PS3.4 C.2.2.2: universal (empty value or a lone
 * "*"), single value, list of UIDs (backslash-separated; also accepted for
 * CS keys), wildcards * and ? (not for UI, dates, times or numbers), ranges
 * for DA and TM ("A-B", "A-", "-B") and, when asked, combined StudyDate +
 * StudyTime range matching (C.2.2.2.5.1).  Person names are matched on a
 * case-folded form unless pn_case_sensitive is set; the whole value is
 * matched component by component (family, given, middle, prefix, suffix of
 * the alphabetic, ideographic and phonetic groups, each with its own
 * wildcards; empty components of the query match anything).  Code
 * sequences (Procedure Code Sequence, Anatomic Region Sequence) take
 * sequence matching (PS3.4 C.2.2.2.6): one item of matching keys (Code
 * Value, Coding Scheme Designator and Version, Code Meaning, Long and URN
 * Code Value), matched when any stored item matches all of them; see
 * store_index_code_answer for what is returned.
 *
 * Thread safety.  A store_index may be shared by any number of threads:
 * puts are serialised on the single writer connection (a put waits for the
 * one before it), queries run on a pool of read connections and see the
 * last committed state when they start (WAL snapshot), concurrently with a
 * put.  A store_index_query belongs to one thread at a time and holds one
 * read connection until it is freed; when all are busy, query_open waits
 * for one.  Keep cursors short-lived: an open one pins its snapshot, and
 * SQLite cannot checkpoint the WAL past it.  store_index_open/_free must not race with anything on the same
 * object.  Several processes may open one index file (SQLite locking);
 * their writes are serialised by SQLite's busy timeout.
 *
 * Errors: 0 or a negative ARCA_E* code with a one-line message (arca_err.h).
 * Database failures are ARCA_EDB with the SQL context in the message. */
#ifndef STORE_INDEX_H
#define STORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"

/* Instance hash and manifest address: SHA-256 (issue 4, items 1-2). */
#define STORE_INDEX_HASH_LEN 32
/* Longest UID (PS3.5 9.1) and AE title (PS3.5 6.2), without the NUL. */
#define STORE_INDEX_UID_MAX 64
#define STORE_INDEX_AE_MAX 16
/* Longest single key value accepted in a record or a find (a list of UIDs
 * included); longer is ARCA_ELIMIT. */
#define STORE_INDEX_VALUE_MAX (64u * 1024u)
/* Most values in one list-of-UIDs key. */
#define STORE_INDEX_LIST_MAX 1000u

typedef struct store_index store_index;
typedef struct store_index_instance store_index_instance;
typedef struct store_index_find store_index_find;
typedef struct store_index_query store_index_query;

/* Query/Retrieve levels, top down (PS3.4 C.6). */
typedef enum store_index_level {
	STORE_INDEX_PATIENT = 0,
	STORE_INDEX_STUDY = 1,
	STORE_INDEX_SERIES = 2,
	STORE_INDEX_IMAGE = 3
} store_index_level;

/* Information models (PS3.4 C.6.1, C.6.2).  In Study Root there is no
 * PATIENT level and the patient keys are keys of the STUDY level. */
typedef enum store_index_model {
	STORE_INDEX_PATIENT_ROOT = 0,
	STORE_INDEX_STUDY_ROOT = 1
} store_index_model;

/* Which version of an instance is current when a different one arrives. */
typedef enum store_index_policy {
	STORE_INDEX_KEEP_FIRST = 0, /* the first stays current; later ones are kept as versions */
	STORE_INDEX_REPLACE = 1     /* the newest becomes current; earlier ones are kept */
} store_index_policy;

typedef struct store_index_options {
	store_index_policy on_new_version;
	/* Person names (PN) match case-sensitively, on the value as stored;
	 * default false: case-insensitive on the folded form. */
	bool pn_case_sensitive;
	/* Read connections in the pool (concurrent queries); 0 = 4. */
	unsigned readers;
	/* How long a connection waits for another process's lock, ms; 0 = 10000. */
	unsigned busy_timeout_ms;
} store_index_options;

/* Storage data of one version of an instance. */
typedef struct store_index_storage {
	char transfer_syntax[STORE_INDEX_UID_MAX + 1];
	uint64_t size;                               /* bytes of the stored Part 10 instance */
	uint8_t instance_hash[STORE_INDEX_HASH_LEN]; /* SHA-256 of the canonical Part 10 stream */
	uint8_t manifest[STORE_INDEX_HASH_LEN];      /* address of the instance manifest */
	int64_t received;                            /* Unix time (UTC, seconds) it arrived */
	char calling_ae[STORE_INDEX_AE_MAX + 1];     /* who sent it ("" for arca import) */
	/* Set by store_index_get and store_index_query_storage; ignored by put. */
	unsigned version; /* 1 = the first one received */
	bool current;
} store_index_storage;

/* ---- opening ---- */

/* Defaults: keep first, case-insensitive PN, 4 readers, 10 s busy timeout. */
void store_index_options_init(store_index_options *opts);

/* Opens (creating if needed) the index at location: a file path for SQLite;
 * "postgresql://..." is ARCA_EUNSUPPORTED until that backend exists.  The
 * schema is created or migrated to the current version (an index written
 * by a newer arca is ARCA_EUNSUPPORTED).  opts NULL = defaults.  *out is the
 * caller's (store_index_free). */
int store_index_open(store_index **out, const char *location, const store_index_options *opts);

/* Closes every connection and frees.  No query may be open.  Accepts NULL. */
void store_index_free(store_index *idx);

/* Schema version of the open index (SQLite: PRAGMA user_version). */
int store_index_schema_version(store_index *idx, int *out);

/* ---- the keys the index knows ---- */

typedef enum store_index_match_kind {
	STORE_INDEX_MATCH_TEXT = 0, /* single value, wildcard, list for CS */
	STORE_INDEX_MATCH_PN,       /* as TEXT, case-folded unless pn_case_sensitive */
	STORE_INDEX_MATCH_UID,      /* single value or list of UIDs */
	STORE_INDEX_MATCH_DATE,     /* DA: single value or range */
	STORE_INDEX_MATCH_TIME,     /* TM: single value or range */
	STORE_INDEX_MATCH_NUMBER,   /* IS/US and the counts: single value */
	STORE_INDEX_MATCH_CODE_SEQ  /* a sequence of code items (PS3.3 8.8): sequence
				       matching, store_index_code_* */
} store_index_match_kind;

typedef struct store_index_key_info {
	uint32_t tag;
	const char *keyword;          /* PS3.6 keyword, static */
	store_index_level level;      /* the entity it describes (patient keys: PATIENT) */
	store_index_match_kind match;
	bool unique;                  /* the unique key of its level (PS3.4 C.6.1.1) */
	bool computed;                /* maintained by the index (counts, ModalitiesInStudy, ...):
					 not set from an instance */
} store_index_key_info;

/* Fills *out for tag; ARCA_ENOTFOUND if the index does not hold it. */
int store_index_key_lookup(uint32_t tag, store_index_key_info *out);

/* The i-th known key (0..), for listings; ARCA_ENOTFOUND past the end. */
int store_index_key_at(size_t i, store_index_key_info *out);

/* ---- instance records (what put takes) ---- */

/* An empty record; *out is the caller's (store_index_instance_free). */
int store_index_instance_new(store_index_instance **out);
void store_index_instance_free(store_index_instance *inst);
/* Clears every value and the storage data, keeping the memory (bulk loads). */
void store_index_instance_clear(store_index_instance *inst);

/* Sets key tag to a copy of the UTF-8 value; NULL or "" makes it absent.
 * ARCA_ENOTFOUND if tag is not a key the index holds from instances (the
 * computed keys included), ARCA_ELIMIT past STORE_INDEX_VALUE_MAX. */
int store_index_instance_set(store_index_instance *inst, uint32_t tag, const char *utf8);

/* Borrowed value of tag, NULL if absent or not a key. */
const char *store_index_instance_get(const store_index_instance *inst, uint32_t tag);

/* Borrowed: the record's storage data, for the caller to fill. */
store_index_storage *store_index_instance_storage(store_index_instance *inst);

/* Fills the keys of inst from a data set (every value converted to UTF-8
 * under its Specific Character Set with pacs_ds_get_utf8; US values written
 * as decimal).  Absent elements leave the key absent.  The storage data is
 * not touched.  Keys already set are overwritten or cleared. */
int store_index_instance_from_ds(store_index_instance *inst, const pacs_ds *ds);

/* ---- writing ---- */

typedef enum store_index_outcome {
	STORE_INDEX_NEW = 0,         /* first time this SOP Instance UID is indexed */
	STORE_INDEX_DUPLICATE,       /* same UID and instance hash as a known version: no change */
	STORE_INDEX_VERSION_KEPT,    /* new version recorded; the first stays current (KEEP_FIRST) */
	STORE_INDEX_VERSION_REPLACED /* new version recorded and made current (REPLACE) */
} store_index_outcome;

typedef struct store_index_put_result {
	int err;                    /* 0, or this instance's ARCA_E* code (others unaffected) */
	char message[160];          /* its one-line message when err != 0 */
	store_index_outcome outcome;
	unsigned version;           /* the version this instance is (1 = first) */
} store_index_put_result;

/* Indexes n instances in one transaction.  Each instance needs SOP Instance
 * UID, SOP Class UID, Series and Study Instance UID and a transfer syntax
 * (else its result gets ARCA_EINVAL and it is skipped; the rest of the
 * batch goes on).  An instance met twice in one batch is a duplicate the
 * second time.  Returns 0
 * when the transaction committed: results[i] (n entries, the caller's) say
 * what happened to each; a negative code when the batch as a whole failed
 * and nothing of it was stored. */
int store_index_put(store_index *idx, const store_index_instance *const *batch, size_t n,
		    store_index_put_result *results);

/* Storage data of an instance: version 0 = the current one, else 1..n.
 * ARCA_ENOTFOUND if there is no such instance or version. */
int store_index_get(store_index *idx, const char *sop_uid, unsigned version,
		    store_index_storage *out);

/* ---- finding ---- */

/* A C-FIND request at level in model (Study Root has no PATIENT level:
 * ARCA_EINVAL).  *out is the caller's (store_index_find_free). */
int store_index_find_new(store_index_find **out, store_index_model model, store_index_level level);
void store_index_find_free(store_index_find *find);

/* Adds key tag with its UTF-8 matching value (NULL or "" = universal
 * matching: return it).  The value is parsed here: ARCA_EINVAL for a value
 * that cannot match this key (a malformed date range, a wildcard in a UID),
 * with the reason.  ARCA_ENOTFOUND if the index does not hold tag and
 * ARCA_EINVAL if tag belongs to a level below the find's (the SCP returns
 * such keys empty).  Keys of the levels above are matched too: their
 * unique keys as PS3.4 C.4.1.2.1 requires, the others as a relational
 * query would.  Adding a tag twice replaces its value (the column keeps
 * its first place). */
int store_index_find_add(store_index_find *find, uint32_t tag, const char *utf8);

/* Adds every element of a C-FIND identifier that the index holds, values
 * converted to UTF-8 under its Specific Character Set; other elements
 * (QueryRetrieveLevel, SpecificCharacterSet, sequences, unknown or
 * lower-level keys) are skipped, and are for the caller to answer. */
int store_index_find_from_ds(store_index_find *find, const pacs_ds *identifier);

/* The answer to a code sequence key (STORE_INDEX_MATCH_CODE_SEQ) of a
 * C-FIND: sets tag in out to a sequence of the items of stored (the
 * column's value in the current row, store_index_query_value; NULL or ""
 * for none).  query_item is the identifier's item (NULL when it has none):
 * with keys, only the stored items that match them are returned, each
 * with the requested attributes only (PS3.4 C.2.2.2.6); without keys,
 * every item with the attributes it has (Code Value, Coding Scheme
 * Designator and Version, Code Meaning, Long and URN Code Value). */
int store_index_code_answer(pacs_ds *out, uint32_t tag, const char *stored, const pacs_ds *query_item);

/* At most limit rows; the query's next call after the limit-th row returns
 * ARCA_ELIMIT if more would match.  0 = no limit (the default). */
void store_index_find_set_limit(store_index_find *find, uint64_t limit);

/* PS3.4 C.2.2.2.5.1: StudyDate and StudyTime matched as one date-time range
 * (set when the SCU negotiated combined date-time matching).  Default off:
 * each is matched on its own. */
void store_index_find_set_combined_datetime(store_index_find *find, bool on);

/* ---- query cursors ---- */

/* Starts the query; *out is the caller's (store_index_query_free).  The
 * find may be freed or reused once this returns. */
int store_index_query_open(store_index_query **out, store_index *idx, const store_index_find *find);

/* Steps to the next match: *has_row true and the row's values readable,
 * or false at the end.  ARCA_ELIMIT when the find's limit was reached and
 * another row matches (the rows before were all delivered). */
int store_index_query_next(store_index_query *q, bool *has_row);

/* Columns of each row: the find's keys in the order added, then the unique
 * key of the query level if it was not asked for. */
size_t store_index_query_columns(const store_index_query *q);

/* Tag and value (borrowed UTF-8, "" when empty; valid until the next
 * step or free) of column i of the current row. */
int store_index_query_column(const store_index_query *q, size_t i, uint32_t *tag, const char **value);

/* Value of tag in the current row, borrowed as above; NULL when tag is not
 * a column of this query. */
const char *store_index_query_value(const store_index_query *q, uint32_t tag);

/* IMAGE level only: the current row's current storage data (ARCA_EINVAL at
 * other levels). */
int store_index_query_storage(const store_index_query *q, store_index_storage *out);

/* Ends the query and returns its read connection.  Accepts NULL. */
void store_index_query_free(store_index_query *q);

/* ---- the chain outbox ----
 *
 * A study whose instances a put changed owes the provenance chain a store
 * event describing its new state (design.md 3.3).  The event is appended
 * after the index transaction, so a crash between the two would leave the
 * chain behind the index for good (re-sent instances are duplicates and
 * record nothing).  The outbox closes that gap: a put marks each study it
 * changes (new instance, new version, or the study a replacing version
 * left) in the same transaction as the instance rows; the mark goes once
 * the event is durable; whoever opens the index next with the chain at
 * hand (arcad at start) appends the events still owed.  A mark that
 * outlives its event costs one redundant event later, harmless because a
 * store event describes the study's current state. */

/* A study pending a store event, and the generation of its mark (each put
 * that changes the study again raises it). */
typedef struct store_index_pending {
	char study_uid[STORE_INDEX_UID_MAX + 1];
	int64_t gen;
} store_index_pending;

/* Puts through idx mark the studies they change (default off: only a
 * writer that appends the events, arcad, turns it on).  Call before the
 * first put. */
void store_index_pending_track(store_index *idx, bool on);

/* The generation of study_uid's mark, 0 when it has none.  Read it
 * before computing the study hash that the event carries: a change after
 * the read raises the generation, and store_index_pending_done with the
 * older one then clears nothing. */
int store_index_pending_gen(store_index *idx, const char *study_uid, int64_t *gen);

/* Every study pending, in study UID order; *out (n entries) is the
 * caller's, free() it.  *out NULL and *n 0 when none. */
int store_index_pending_list(store_index *idx, store_index_pending **out, size_t *n);

/* How many studies are pending. */
int store_index_pending_count(store_index *idx, uint64_t *n);

/* The current instances of study_uid as (SOP Instance UID, instance
 * hash), in SOP Instance UID order (bytewise, as strcmp), one call of fn
 * each; fn's pointers are valid during the call only and a negative
 * return stops the walk with that code.  What the study hash is computed
 * over (store_study.c), read with one statement instead of a C-FIND.
 * ARCA_EUNSUPPORTED on a backend without it. */
/* A number that changes whenever a writer other than idx's own commits
 * to the index (another process, another store_index): what lets a cache
 * of idx's own writes know it is still whole.  ARCA_EUNSUPPORTED on a
 * backend without it. */
int store_index_change_mark(store_index *idx, uint64_t *mark);

typedef int (*store_index_leaf_fn)(void *ctx, const char *sop_uid, const uint8_t hash[32]);
int store_index_study_leaves(store_index *idx, const char *study_uid, store_index_leaf_fn fn, void *ctx);

/* The store event describing study_uid as of mark generation gen is
 * durable: the mark goes, unless a later put raised its generation.  Not
 * written now: the next put deletes it in its own transaction (no commit
 * of its own), or store_index_pending_flush / store_index_free. */
int store_index_pending_done(store_index *idx, const char *study_uid, int64_t gen);

/* Deletes the marks pending_done queued, in a transaction without an
 * fsync of its own (synchronous=NORMAL: the next full commit, or the
 * checkpoint at close, makes it durable; lost, it costs a redundant
 * event). */
int store_index_pending_flush(store_index *idx);

/* Name of an outcome ("new", "duplicate", ...), static. */
const char *store_index_outcome_name(store_index_outcome outcome);

#endif
