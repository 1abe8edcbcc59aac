/* store_index_priv.h - what the files of the index share: the key
 * catalogue, instance records, parsed C-FIND conditions, and the operations
 * table each backend (SQLite now, PostgreSQL later: design.md 3.4) fills.
 * Not a public header: tools/ and pacs/ use store_index.h only. */
#ifndef STORE_INDEX_PRIV_H
#define STORE_INDEX_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_index.h"

/* ---- key catalogue (store_index_attr.c) ---- */

/* Slots of an instance record: one per key carried by an instance. */
enum store_index__slot {
	/* patient */
	STORE_INDEX__PATIENT_NAME, STORE_INDEX__PATIENT_ID, STORE_INDEX__ISSUER,
	STORE_INDEX__BIRTH_DATE, STORE_INDEX__SEX,
	/* study */
	STORE_INDEX__STUDY_UID, STORE_INDEX__STUDY_DATE, STORE_INDEX__STUDY_TIME,
	STORE_INDEX__ACCESSION, STORE_INDEX__STUDY_ID, STORE_INDEX__REFERRING,
	STORE_INDEX__STUDY_DESC, STORE_INDEX__PROCEDURE_CODES,
	/* series */
	STORE_INDEX__SERIES_UID, STORE_INDEX__MODALITY, STORE_INDEX__SERIES_NUMBER,
	STORE_INDEX__SERIES_DESC, STORE_INDEX__BODY_PART, STORE_INDEX__SERIES_DATE,
	STORE_INDEX__SERIES_TIME, STORE_INDEX__PPS_DATE, STORE_INDEX__PPS_TIME,
	STORE_INDEX__INSTITUTION, STORE_INDEX__STATION, STORE_INDEX__ANATOMIC_REGIONS,
	/* instance */
	STORE_INDEX__SOP_UID, STORE_INDEX__SOP_CLASS, STORE_INDEX__INSTANCE_NUMBER,
	STORE_INDEX__CONTENT_DATE, STORE_INDEX__CONTENT_TIME, STORE_INDEX__FRAMES,
	STORE_INDEX__ROWS, STORE_INDEX__COLUMNS,
	STORE_INDEX__SLOT_COUNT
};

enum store_index__key_flag {
	STORE_INDEX__UNIQUE = 1u << 0,   /* unique key of its level */
	STORE_INDEX__COMPUTED = 1u << 1, /* maintained by the index, not from an instance */
	STORE_INDEX__MULTI = 1u << 2,     /* backslash-separated values are a list (UI, CS) */
	STORE_INDEX__SIDE = 1u << 3      /* matched through a side table (per-study sets) */
};

struct store_index__key {
	uint32_t tag;
	const char *keyword;
	uint8_t level;       /* store_index_level of the entity */
	uint8_t match;       /* store_index_match_kind */
	uint8_t flags;       /* store_index__key_flag */
	int8_t slot;         /* store_index__slot, or -1 for computed keys */
	const char *column;  /* SQL column with its table alias: "p.patient_name" */
	const char *folded;  /* PN: the case-folded column, else NULL */
	const char *side;    /* SIDE keys: "table column" of the per-study set */
};

/* Borrowed, static; NULL if tag is not a key. */
const struct store_index__key *store_index__key_find(uint32_t tag);
/* The key of a slot (never NULL for a valid slot). */
const struct store_index__key *store_index__key_of_slot(enum store_index__slot slot);
/* The unique key of a level (PatientID, StudyInstanceUID, ...). */
const struct store_index__key *store_index__key_unique(store_index_level level);

/* ---- instance records (store_index.c) ---- */

struct store_index_instance {
	char *values[STORE_INDEX__SLOT_COUNT]; /* NULL = absent; never "" */
	store_index_storage storage;
};

/* ---- matching (store_index_match.c): C-FIND values parsed, backend-neutral ---- */

typedef enum store_index__cond_kind {
	STORE_INDEX__UNIVERSAL = 0, /* return only */
	STORE_INDEX__EQUAL,         /* values[0] */
	STORE_INDEX__LIST,          /* any of values[0..n) */
	STORE_INDEX__WILDCARD,      /* values[0] holds * or ? (DICOM syntax, unescaped) */
	STORE_INDEX__RANGE          /* lo..hi inclusive, either may be NULL (open) */
} store_index__cond_kind;

/* One key of a find.  For DATE keys lo/hi are YYYYMMDD.  For TIME keys a
 * single value is turned into the range it stands for, and lo/hi are
 * 12-digit HHMMSSFFFFFF bounds (store_index__time_bound).  For NUMBER keys
 * values[0] is the decimal value as given and number the parsed one. */
struct store_index__cond {
	const struct store_index__key *key;
	store_index__cond_kind kind;
	char **values; /* owned, each owned */
	size_t n;
	char *lo, *hi; /* owned */
	int64_t number;
};

struct store_index_find {
	store_index_model model;
	store_index_level level;
	uint64_t limit;
	bool combined_datetime;
	struct store_index__cond *conds;
	size_t n, cap;
};

/* Parses value (UTF-8, non-empty) for key into *cond (zeroed by the caller;
 * cond->key set here).  ARCA_EINVAL with the reason when the value cannot
 * match this key. */
int store_index__cond_parse(struct store_index__cond *cond, const struct store_index__key *key,
			    const char *value);
void store_index__cond_clear(struct store_index__cond *cond);

/* Whether s holds a DICOM wildcard (* or ?, PS3.4 C.2.2.2.4). */
bool store_index__has_wildcard(const char *s);

/* TM bounds (PS3.5 6.2 TM, PS3.4 C.2.2.2.5): a time "HH", "HHMM", "HHMMSS"
 * or "HHMMSS.F{1,6}" as 12 digits HHMMSSFFFFFF, the missing part filled with
 * zeros (upper = false) or with the latest value it can stand for (upper =
 * true: "1200" -> 120059999999).  ARCA_EINVAL if tm is not such a time. */
int store_index__time_bound(const char *tm, bool upper, char out[13]);

/* PS3.5 6.2 DA: exactly 8 digits. */
bool store_index__is_date(const char *s);

/* The case-folded form of a person name used for case-insensitive
 * matching: simple upper-casing of Latin (ASCII, Latin-1, Latin
 * Extended-A), Greek, Cyrillic and full-width Latin letters, other bytes
 * unchanged, and empty trailing components removed from each component
 * group ("Smith^John^^^" -> "SMITH^JOHN").  Wildcards pass through.
 * *out is malloc'ed, the caller's. */
int store_index__pn_fold(const char *pn, char **out);
/* The same into buf, which holds at least strlen(pn) + 1 bytes. */
void store_index__pn_fold_into(const char *pn, char *buf);

/* Component-wise person name matching (PS3.4 C.2.2.2.1, C.2.2.2.4): value
 * matches pattern when, for every component (family, given, middle,
 * prefix, suffix) of every component group (alphabetic, ideographic,
 * phonetic) that is not empty (or a lone "*") in pattern, the same
 * component of value matches it, with * and ? as wildcards within the
 * component ('?' one UTF-8 character).  Empty pattern components match
 * anything: "SMITH" matches "SMITH^JOHN".  Both are compared as given (fold
 * them first for case-insensitive matching). */
bool store_index__pn_match(const char *pattern, const char *value);

/* The literal start of the family name component of the alphabetic group
 * of pattern, up to its first wildcard: every matching value starts with
 * it (an index range can narrow the candidates).  *out NULL when empty;
 * else malloc'ed, the caller's. */
int store_index__pn_family_prefix(const char *pattern, char **out);

/* ---- code sequences (store_index_keys.c, store_index_match.c) ---- */

/* A code sequence (PS3.3 8.8 Code Sequence Macro) as the index keeps it:
 * its items separated by ITEM_SEP, each item's fields by FIELD_SEP, in
 * the order Code Value, Coding Scheme Designator, Coding Scheme Version,
 * Code Meaning, Long Code Value, URN Code Value (empty when absent).  A
 * sequence matching pattern is one item in the same form, an empty field
 * being universal for that attribute.  Control characters cannot occur
 * in these VRs (SH, LO, UC, UR), so the separators are unambiguous. */
#define STORE_INDEX__ITEM_SEP '\x1e'
#define STORE_INDEX__FIELD_SEP '\x1f'
#define STORE_INDEX__CODE_FIELDS 6

/* PS3.4 C.2.2.2.6: true when some item of stored matches every non-empty
 * field of pattern (single value or wildcard matching, case-sensitive). */
bool store_index__code_match(const char *pattern, const char *stored);

/* Whether one field of a stored item matches a pattern field; also used
 * to choose the items returned. */
bool store_index__field_match(const char *pattern, size_t pn, const char *value, size_t vn);

/* ---- backends ---- */

struct store_index_ops {
	const char *name;
	void (*free)(store_index *idx);
	int (*schema_version)(store_index *idx, int *out);
	int (*put)(store_index *idx, const store_index_instance *const *batch, size_t n,
		   store_index_put_result *results);
	int (*get)(store_index *idx, const char *sop_uid, unsigned version, store_index_storage *out);
	int (*query_open)(store_index_query **out, store_index *idx, const store_index_find *find);
	int (*query_next)(store_index_query *q, bool *has_row);
	int (*query_storage)(const store_index_query *q, store_index_storage *out);
	void (*query_free)(store_index_query *q);
};

/* The first member of every backend's index object. */
struct store_index {
	const struct store_index_ops *ops;
	store_index_options opts;
};

/* The first member of every backend's query object.  The backend's
 * query_next points values[i] at column i of the current row ("" when
 * empty); the generic accessors read them. */
struct store_index_query {
	const struct store_index_ops *ops;
	store_index_level level;
	size_t ncols;
	uint32_t *tags;
	const char **values;
	uint64_t limit; /* 0 = none */
	uint64_t rows;  /* delivered so far */
};

/* SQLite backend (store_index_sqlite.c). */
int store_index__sqlite_open(store_index **out, const char *path, const store_index_options *opts);

#endif
