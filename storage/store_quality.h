/* store_quality.h - the data quality records of ingest (issue 4: "which
 * modality sends bad data"), and the report `arca quality` prints.
 *
 * What is recorded.  Every instance that goes through the ingest (C-STORE,
 * `arca import`, `arca quarantine release`) leaves one record: when, the
 * calling AE, Modality, SOP Class, SOP Instance and Study Instance UIDs,
 * where it came from (dimse, import, release), the outcome (stored,
 * duplicate, version, quarantined, refused), the status answered with its
 * Error Comment, how many rules fixed, warned and refused, and each rule
 * hit (rule id, kind, action, tag and path, a before/after summary, the
 * message).  `arca quarantine drop` adds a record with outcome dropped.
 * Summaries never hold a patient's identity: values of Patient module
 * elements (group 0010) and of every PN element are replaced by their
 * length ("<12 characters>"); the report itself shows counts and UIDs only.
 *
 * Where.  Two tables of the index database (store_index_schema.c, schema
 * version 2): quality (one row per record) and quality_hits.  They are
 * written on the index's writer connection in their own transaction with
 * synchronous=NORMAL: no fsync of their own.  In WAL mode their frames
 * become durable with the next FULL commit of an instance batch (the WAL is
 * one file: its fsync covers every frame before it) or at the next
 * checkpoint.  So the ingest path pays no extra fsync, per instance or per
 * batch; what a power cut can lose is the quality records of the last batch
 * (never an instance, never an index row).  The committer writes the
 * records of a batch right after the batch's index transaction (the outcome
 * new / duplicate / version comes from it); a refusal writes its record
 * from the worker when the instance is in quarantine.
 *
 * Reading.  store_quality_report() aggregates the records of a time range
 * by sending AE and modality, by AE, by modality or by rule, with the most
 * recent example SOP Instance UIDs of each group, on a read connection. */
#ifndef STORE_QUALITY_H
#define STORE_QUALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"
#include "pacs_norm.h"
#include "store_index.h"

/* Hits kept per record (further hits are counted in n_fixed/n_warned/
 * n_refused only). */
#define STORE_QUALITY_MAX_HITS 32
#define STORE_QUALITY_SUMMARY_MAX 64
/* Most examples per group in a report. */
#define STORE_QUALITY_EXAMPLES_MAX 100

typedef enum store_quality_outcome {
	STORE_QUALITY_STORED = 0,   /* new instance */
	STORE_QUALITY_DUPLICATE,    /* the same bytes again: nothing changed */
	STORE_QUALITY_VERSION,      /* same UID, other bytes: kept as a version */
	STORE_QUALITY_QUARANTINED,  /* refused and kept in ROOT/quarantine */
	STORE_QUALITY_REFUSED,      /* refused and not kept (quarantine failed) */
	STORE_QUALITY_DROPPED,      /* removed from quarantine (arca quarantine drop) */
	STORE_QUALITY_OUTCOME_COUNT
} store_quality_outcome;

/* Where an ingested instance came from. */
typedef enum store_quality_origin {
	STORE_QUALITY_DIMSE = 0,    /* C-STORE */
	STORE_QUALITY_IMPORT,       /* arca import */
	STORE_QUALITY_RELEASE,      /* arca quarantine release */
	STORE_QUALITY_QUARANTINE,   /* a quarantine action (drop) */
	STORE_QUALITY_ORIGIN_COUNT
} store_quality_origin;

typedef struct store_quality_hit {
	char rule[PACS_NORM_ID_MAX + 1];
	char kind[16];                               /* required, values, check, normalise, map, code, waived */
	pacs_norm_action action;
	uint32_t tag;
	char path[96];
	char before[STORE_QUALITY_SUMMARY_MAX + 1];  /* summary; "" when absent */
	char after[STORE_QUALITY_SUMMARY_MAX + 1];
	char message[160];
} store_quality_hit;

typedef struct store_quality_record {
	int64_t time_ms;                             /* 0: now, at put */
	char calling_ae[STORE_INDEX_AE_MAX + 1];
	char modality[17];
	char sop_class[STORE_INDEX_UID_MAX + 1];
	char sop_uid[STORE_INDEX_UID_MAX + 1];
	char study_uid[STORE_INDEX_UID_MAX + 1];
	store_quality_origin origin;
	store_quality_outcome outcome;
	uint16_t status;
	char comment[PACS_NORM_COMMENT_MAX + 1];
	unsigned n_fixed, n_warned, n_refused;
	store_quality_hit hits[STORE_QUALITY_MAX_HITS];
	size_t n_hits;
} store_quality_record;

/* Empties rec (origin dimse, outcome stored). */
void store_quality_record_init(store_quality_record *rec);

/* Fills the UIDs and Modality from a data set (absent ones stay "";
 * values too long are cut). */
void store_quality_record_from_ds(store_quality_record *rec, const pacs_ds *ds);

/* Adds what the rules found: counts and the first hits, values summarised
 * (patient identity never copied, see above). */
void store_quality_record_add_norm(store_quality_record *rec, const pacs_norm_result *nr);

/* Adds one hit by hand (a waived rule on a forced release); false when
 * the record is full. */
bool store_quality_record_add_hit(store_quality_record *rec, const store_quality_hit *hit);

/* The value summary stored for tag: "" for NULL, "<N characters>" for
 * patient identity (group 0010, PN), else the value cut to
 * STORE_QUALITY_SUMMARY_MAX bytes (on a UTF-8 boundary) with "..." */
void store_quality_summary(uint32_t tag, const char *value, char out[STORE_QUALITY_SUMMARY_MAX + 1]);

/* Writes n records in one transaction without an fsync of its own (see
 * above).  0 or a negative ARCA_E* code (nothing written). */
int store_quality_put(store_index *idx, const store_quality_record *const *recs, size_t n);

/* Static names: "stored", "duplicate", "version", "quarantined",
 * "refused", "dropped"; "dimse", "import", "release", "quarantine". */
const char *store_quality_outcome_name(store_quality_outcome o);
const char *store_quality_origin_name(store_quality_origin o);

/* ---- the report ---- */

typedef enum store_quality_by {
	STORE_QUALITY_BY_SOURCE_MODALITY = 0, /* sending AE and modality */
	STORE_QUALITY_BY_SOURCE,
	STORE_QUALITY_BY_MODALITY,
	STORE_QUALITY_BY_RULE
} store_quality_by;

typedef struct store_quality_filter {
	int64_t since_ms;   /* records at or after; 0: from the first */
	int64_t until_ms;   /* records before; 0: up to now */
	store_quality_by by;
	unsigned examples;  /* example UIDs per group, at most STORE_QUALITY_EXAMPLES_MAX */
} store_quality_filter;

/* A rule that fired in a group: instances it fired on, by action. */
typedef struct store_quality_rule_count {
	char rule[PACS_NORM_ID_MAX + 1];
	pacs_norm_action action;
	uint64_t instances;
} store_quality_rule_count;

typedef struct store_quality_group {
	/* the group's key: source and/or modality, or rule and action */
	char source[STORE_INDEX_AE_MAX + 1];
	char modality[17];
	char rule[PACS_NORM_ID_MAX + 1];
	char kind[16];
	pacs_norm_action action;
	/* source/modality groups: instances received (C-STORE and import;
	 * releases and drops are not receptions) and what became of them;
	 * refused = quarantined + refused without quarantine; warned and
	 * normalised count stored instances a warn / fix rule fired on.
	 * Rule groups: received = instances the rule fired on, and the
	 * outcomes of those. */
	uint64_t received, stored, duplicates, versions, refused, quarantined, warned, normalised;
	uint64_t released, dropped;   /* quarantine actions on the group's instances */
	store_quality_rule_count *rules;  /* source/modality groups: the rules that fired */
	size_t n_rules;
	char (*examples)[STORE_INDEX_UID_MAX + 1]; /* most recent first, distinct */
	size_t n_examples;
} store_quality_group;

typedef struct store_quality_report {
	store_quality_filter filter;
	store_quality_group *groups;  /* ordered by key */
	size_t n_groups;
	store_quality_group total;    /* every record of the range (no key, no examples) */
} store_quality_report;

/* Runs the report.  *out is the caller's (store_quality_report_free). */
int store_quality_report_get(store_index *idx, const store_quality_filter *f, store_quality_report **out);
void store_quality_report_free(store_quality_report *r);

#endif
