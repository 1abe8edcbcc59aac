/* pacs_norm_priv.h - internals shared by the files of the normalisation
 * engine (pacs_norm_*.c).  Not a public header.
 *
 *   pacs_norm_rules.c     the rules file parser
 *   pacs_norm_tables.c    built-in code tables (modality, body part, sex)
 *   pacs_norm_text.c      value text helpers: split, trim, decode, encode
 *   pacs_norm_validate.c  required attributes, value tables, VR/VM/length/UID
 *   pacs_norm_charset.c   Specific Character Set to ISO_IR 192
 *   pacs_norm_apply.c     the value normalisations, maps and code tables
 *   pacs_norm_oas.c       recording originals: Original Attributes Sequence
 *   pacs_norm_run.c       pacs_norm_run(): order of the steps, hits, result */
#ifndef PACS_NORM_PRIV_H
#define PACS_NORM_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_charset.h"
#include "pacs_ds.h"
#include "pacs_norm.h"

/* Limits of the rules file (arca-normalise(5), LIMITS). */
#define NORM_MAX_FILE (1024u * 1024u)
#define NORM_MAX_LINE 4096u
#define NORM_MAX_RULES 4096u
#define NORM_MAX_ENTRIES 10000u /* per map or code table */
#define NORM_MAX_VALUES 256u    /* per "in" list */
/* Hits kept in a result; more are only counted. */
#define NORM_MAX_HITS 256u
/* Deepest sequence nesting walked (deeper items are left alone). */
#define NORM_MAX_DEPTH 64u

enum norm_kind {
	NORM_K_REQUIRED,      /* [required LEVEL] */
	NORM_K_IN,            /* [values] ... in ... */
	NORM_K_RANGE,         /* [values] ... range ... */
	NORM_K_CHECK_VR,      /* [check] vr */
	NORM_K_CHECK_LENGTH,  /* [check] length */
	NORM_K_CHECK_VM,      /* [check] vm */
	NORM_K_CHECK_UID,     /* [check] uid */
	NORM_K_CHECK_CHARSET, /* [check] decode */
	NORM_K_CHARSET,       /* [normalise] charset */
	NORM_K_PADDING,       /* [normalise] padding */
	NORM_K_DATE_TIME,     /* [normalise] date-time */
	NORM_K_CS_UPPER,      /* [normalise] cs-upper */
	NORM_K_PERSON_NAME,   /* [normalise] person-name */
	NORM_K_PATIENT_SEX,   /* [normalise] patient-sex */
	NORM_K_MAP,           /* [map KEYWORD] */
	NORM_K_CODE,          /* [code SOURCE TARGET] */
	NORM_K_COUNT
};

enum norm_level {
	NORM_LEVEL_PATIENT,
	NORM_LEVEL_STUDY,
	NORM_LEVEL_SERIES,
	NORM_LEVEL_INSTANCE,
};

/* A line of a map or code table. */
typedef struct norm_entry {
	char *from;    /* the local term, UTF-8 */
	char *to;      /* map: the standard term; code: Code Value */
	char *scheme;  /* code: Coding Scheme Designator */
	char *meaning; /* code: Code Meaning */
	unsigned line;
} norm_entry;

/* A built-in table of allowed values (pacs_norm_tables.c). */
typedef struct norm_table {
	const char *name;           /* "@modality" */
	const char *const *values;
	size_t count;
} norm_table;

typedef struct norm_rule {
	char id[PACS_NORM_ID_MAX + 1];
	enum norm_kind kind;
	pacs_norm_action action;
	uint16_t status; /* 0: the default for the kind and action */
	unsigned line;
	enum norm_level level;  /* required */
	uint32_t tag;           /* required, in, range, map, code (source) */
	uint32_t target;        /* code: the code sequence filled */
	/* in: literal values and built-in tables */
	char **values;
	size_t n_values;
	const norm_table *tables[4];
	size_t n_tables;
	/* range */
	double min, max;
	/* map and code tables */
	norm_entry *entries;
	size_t n_entries, cap_entries;
	/* options */
	bool pn_comma;                /* person-name: "FAMILY, GIVEN" -> "FAMILY^GIVEN" */
	bool trim;                    /* person-name: drop trailing empty components;
				       * padding: drop insignificant trailing spaces */
	bool type2;                   /* required: present, may be empty (Type 2) */
	bool charset_always;          /* charset: relabel even all-ASCII data sets */
	pacs_norm_action sex_unknown; /* patient-sex: an unknown value is fixed/warned/refused */
	char sex_unknown_to[2];       /* fixed to "O" or "" */
} norm_rule;

struct pacs_norm_rules {
	char *name;
	norm_rule *rules;
	size_t n, cap;
	/* [options] */
	char modifying_system[65];
	char reason[8];       /* "" (by the rules that fired), "COERCE", "CORRECT" */
	uint16_t fix_status;  /* status of an instance whose only hits are fixes */
	bool coercion_datetime;
};

/* ---- tables (pacs_norm_tables.c) ---- */

const norm_table *pacs_norm__table(const char *name);
/* Patient's Sex synonyms: "M", "F", "O", "" (unknown: empty), or NULL
 * when the value is not a known spelling.  Case-insensitive. */
const char *pacs_norm__sex_synonym(const char *value, size_t len);
/* Default status for the action of a rule kind. */
uint16_t pacs_norm__default_status(enum norm_kind kind, pacs_norm_action action);
/* Static: the section a kind is written in ("required", "normalise" ...). */
const char *pacs_norm__kind_section(enum norm_kind kind);
/* True for the kinds whose fixes correct nonconforming values (Reason
 * CORRECT) rather than coerce to local conventions (COERCE). */
bool pacs_norm__kind_corrects(enum norm_kind kind);

/* ---- text helpers (pacs_norm_text.c) ---- */

/* A growable string with a cap (text of one value tree). */
typedef struct norm_str {
	char *s;
	size_t len, cap;
	bool failed; /* an append failed: ENOMEM or over the cap */
} norm_str;

void pacs_norm__str_init(norm_str *b);
void pacs_norm__str_free(norm_str *b);
void pacs_norm__str_add(norm_str *b, const char *s, size_t len);
void pacs_norm__str_addc(norm_str *b, char c);
void pacs_norm__str_addf(norm_str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text VRs hold one value (backslash is text): LT ST UT UR. */
bool pacs_norm__vr_single(pacs_vr vr);

/* The text of e to work on: UTF-8 for the charset VRs (decoded under the
 * charset in force for ds when the bytes are not plain ASCII or UTF-8),
 * the raw bytes otherwise, padding included.  *identity tells whether the
 * bytes are the text (no decoding was needed).  *out is the caller's
 * (free), NUL-terminated.  ARCA_ECHARSET when the value does not decode. */
int pacs_norm__text_get(const pacs_ds *ds, const pacs_elem *e, char **out, size_t *len, bool *identity);

/* The value bytes for text: encoded under ds's charset unless identity,
 * padded to even length with the VR's pad byte.  *out the caller's. */
int pacs_norm__text_encode(const pacs_ds *ds, pacs_vr vr, bool identity, const char *text, size_t len,
			   uint8_t **out, size_t *out_len);

/* Value i of a multi-valued text (the whole text for single VRs): start
 * and length of the slice, trailing spaces and NULs trimmed (and leading
 * spaces for the VRs where PS3.5 Table 6.2-1 calls them insignificant,
 * when trim_lead).  Returns the number of values. */
size_t pacs_norm__value_count(pacs_vr vr, const char *text, size_t len);
void pacs_norm__value_at(pacs_vr vr, const char *text, size_t len, size_t i, bool trim_lead,
			 const char **start, size_t *vlen);

/* Copies at most size-1 bytes of s for messages: printable ASCII and UTF-8
 * kept, control characters as '?'. */
void pacs_norm__show(char *buf, size_t size, const char *s, size_t len);

/* Whether s[0..len) is well-formed UTF-8 (RFC 3629). */
bool pacs_norm__utf8_valid(const char *s, size_t len);

/* Number of characters (UTF-8 code points) of s. */
size_t pacs_norm__utf8_chars(const char *s, size_t len);

/* ---- a run (pacs_norm_run.c) ---- */

typedef struct norm_rec norm_rec;

typedef struct norm_path {
	uint32_t tag[NORM_MAX_DEPTH + 1];
	uint32_t item[NORM_MAX_DEPTH + 1];
	unsigned depth; /* number of enclosing sequences */
} norm_path;

/* The first hit of one action: what the response's comment is made of. */
typedef struct norm_first {
	bool set;
	uint16_t status;
	char comment[PACS_NORM_COMMENT_MAX + 1];
} norm_first;

typedef struct norm_ctx {
	const pacs_norm_rules *rules;
	pacs_ds *root;
	pacs_norm_result *res;
	norm_rec *rec;
	norm_path path;
	char now[27];
	const char *source;
	const char *const *waive; /* pacs_norm_run_waived */
	size_t n_waive;
	bool changed;  /* a value of ds was changed */
	bool correct;  /* a change corrected a nonconforming value */
	norm_first refuse, warn, fix;
	norm_str expl; /* the explanation, one line per hit */
	size_t expl_lines;
	size_t hits_cap; /* of res->hits */
} norm_ctx;

/* Adds a hit of rule r on element tag (at the current path) with the
 * values before and after (UTF-8 text, NULL when absent/unchanged).
 * `what` is the short reason used in the Error Comment ("missing", "not
 * a DA"), fmt the full message. */
int pacs_norm__hit(norm_ctx *c, const norm_rule *r, pacs_norm_action action, uint32_t tag,
		   const char *old_value, size_t old_len, const char *new_value, size_t new_len,
		   const char *what, const char *fmt, ...) __attribute__((format(printf, 10, 11)));

/* The first rule of a kind, or NULL (check and normalise rules are unique). */
const norm_rule *pacs_norm__rule_of(const pacs_norm_rules *rules, enum norm_kind kind);

/* Elements the walkers leave alone: group 0002 at the top (File Meta),
 * group lengths, the Original Attributes Sequence at the top (history),
 * Specific Character Set (its own rule) and private ones unless flags
 * (NORM_WALK_*) ask for them. */
bool pacs_norm__skip(const norm_ctx *c, uint32_t tag, unsigned flags);

/* Visits every element of ds and its items (depth first, in order) that
 * the flags do not skip (pacs_norm__skip), keeping c->path current;
 * sequences are entered, not visited.  fn may replace the value of the
 * element it is given (not insert or remove elements). */
enum {
	NORM_WALK_PRIVATE = 1u << 0, /* private elements too */
	NORM_WALK_CHARSET = 1u << 1, /* Specific Character Set elements too */
};
typedef int (*norm_visit_fn)(norm_ctx *c, pacs_ds *ds, const pacs_elem *e, void *arg);
int pacs_norm__walk(norm_ctx *c, pacs_ds *ds, unsigned flags, norm_visit_fn fn, void *arg);

/* Replaces the value of tag in ds (an item at the current path, or the
 * root) with bytes, recording the original first. */
int pacs_norm__replace(norm_ctx *c, pacs_ds *ds, uint32_t tag, pacs_vr vr, const uint8_t *bytes, size_t len);

/* ---- the steps ---- */

int pacs_norm__validate(norm_ctx *c);                  /* pacs_norm_validate.c */
int pacs_norm__charset(norm_ctx *c);                   /* pacs_norm_charset.c */
int pacs_norm__normalise_values(norm_ctx *c);          /* pacs_norm_apply.c */
int pacs_norm__maps(norm_ctx *c);                      /* pacs_norm_apply.c */

/* Format checks of one value of a non-charset string VR (AE AS CS DA DS DT
 * IS TM UI UR): NULL when it conforms to PS3.5 Table 6.2-1, else a short
 * reason ("not a DA (YYYYMMDD)"). */
const char *pacs_norm__vr_format(pacs_vr vr, const char *v, size_t len);
/* Whether a whole element value conforms to its VR's format (non-charset
 * string VRs and binary lengths; charset VRs count as conforming): used
 * to choose how an original is recorded. */
bool pacs_norm__elem_conforms(const pacs_elem *e);

/* ---- recording originals (pacs_norm_oas.c) ---- */

int pacs_norm__rec_new(norm_rec **out);
void pacs_norm__rec_free(norm_rec *r);
/* Records the top-level element `top` of root as it is now (or as absent),
 * once per run: call before the first change to it or to anything inside
 * it. */
int pacs_norm__record(norm_rec *r, const pacs_ds *root, uint32_t top);
bool pacs_norm__rec_empty(const norm_rec *r);
/* Appends the Original Attributes Sequence item to root (PS3.3
 * C.12.1.1.9) from what was recorded. */
int pacs_norm__rec_finish(norm_rec *r, pacs_ds *root, const char *now, const char *system,
			  const char *source, const char *reason);
/* Deep copy of element e into ds (tag order).  Bulk values are copied
 * as empty values (they are not held). */
int pacs_norm__copy_elem(pacs_ds *dst, const pacs_elem *e);

#endif
