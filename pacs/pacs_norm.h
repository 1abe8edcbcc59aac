/* pacs_norm.h - validation and normalisation of instances at ingest
 * (design.md 3.1 steps 2 and 3), driven by a rules file (arca-normalise(5),
 * samples/normalise.conf).
 *
 * A rules file says which attributes are required, which values are
 * allowed, which checks against the data dictionary run (VR, VM, length,
 * UID syntax, character set), which normalisations apply (Specific
 * Character Set to ISO_IR 192, person names, dates and times, padding, CS
 * case, Patient's Sex) and which local terms map to standard ones.  Each
 * rule has an action: refuse the instance, warn, fix, or ignore.
 *
 * pacs_norm_run() applies the rules to a data set in place.  Every value
 * it changes, adds or removes is recorded, as it was received, in one new
 * item of the Original Attributes Sequence (0400,0561) (PS3.3 C.12.1.1.9),
 * so nothing the sender sent is lost.  The result says whether to accept
 * (status 0x0000), accept with a warning (0xB000 coercion, 0xB007 ...) or
 * refuse (0xA900, 0xC000 ...), with an Error Comment and the list of rule
 * hits for the quality report.
 *
 * Character sets: values are bytes in the data set's Specific Character
 * Set; rules and results are UTF-8.  When the charset rule converts a data
 * set to ISO_IR 192, the originals recorded in the Modified Attributes
 * Sequence keep their original bytes, and the original (0008,0005) is
 * recorded in the same item, where (PS3.5 7.5.3) it applies to that item
 * only: the originals stay decodable.  See arca-normalise(5).
 *
 * A pacs_norm_rules is immutable once loaded: one may be shared by the
 * threads that run ingest. */
#ifndef PACS_NORM_H
#define PACS_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"

typedef struct pacs_norm_rules pacs_norm_rules;

/* What a rule does when it finds something. */
typedef enum pacs_norm_action {
	PACS_NORM_IGNORE = 0, /* the rule is off */
	PACS_NORM_FIX,        /* normalise the value, record the original */
	PACS_NORM_WARN,       /* keep the value, answer a warning status */
	PACS_NORM_REFUSE,     /* refuse the instance with a failure status */
} pacs_norm_action;

typedef enum pacs_norm_outcome {
	PACS_NORM_ACCEPTED = 0, /* status 0x0000 */
	PACS_NORM_WARNED,       /* stored with a warning status (0xBxxx) */
	PACS_NORM_REFUSED,      /* not stored: failure status (0xA9xx, 0xCxxx) */
} pacs_norm_outcome;

/* Error Comment (0000,0902) is LO: at most 64 characters. */
#define PACS_NORM_COMMENT_MAX 64
/* Rule identifiers: letters, digits, '-', '_', '.'; at most this long. */
#define PACS_NORM_ID_MAX 48

/* ---- rules ---- */

/* Reads and parses a rules file (at most 1 MiB).  *out is the caller's
 * (pacs_norm_rules_free).  Errors name the file and line
 * ("normalise.conf:12: unknown action 'fixx' ...") with ARCA_EPROTO, or
 * ARCA_EIO / ARCA_ELIMIT for the file itself. */
int pacs_norm_rules_load(pacs_norm_rules **out, const char *path);

/* Parses rules from memory; name (may be NULL: "rules") is used in error
 * messages and in the hits' origin. */
int pacs_norm_rules_parse(pacs_norm_rules **out, const char *text, size_t len, const char *name);

void pacs_norm_rules_free(pacs_norm_rules *rules);

/* Number of rules (map and code tables count as one rule each). */
size_t pacs_norm_rules_count(const pacs_norm_rules *rules);

/* Borrowed: the name given at load/parse time. */
const char *pacs_norm_rules_name(const pacs_norm_rules *rules);

/* ---- running ---- */

typedef struct pacs_norm_opts {
	/* Attribute Modification DateTime (0400,0562) and Instance Coercion
	 * DateTime (0008,0015) as a DT value; NULL: the current UTC time.
	 * Tests pass a fixed value so that the output is exact. */
	const char *now;
	/* Source of Previous Values (0400,0564), UTF-8: who sent the instance
	 * (the calling AE title, an institution); NULL: empty (Type 2). */
	const char *source;
} pacs_norm_opts;

/* One finding of one rule. */
typedef struct pacs_norm_hit {
	char rule[PACS_NORM_ID_MAX + 1]; /* rule id */
	const char *kind;                /* static: "required", "values", "check",
					  * "normalise", "map", "code" */
	unsigned line;                   /* the rule's line in the rules file */
	pacs_norm_action action;         /* what was done */
	uint16_t status;                 /* the status this hit asks for (0 for fix
					  * under a 0x0000 fix-status) */
	uint32_t tag;                    /* the element concerned (innermost) */
	char path[96];                   /* "(0008,1032)[0](0008,0100)"; cut if deeper */
	char *old_value;                 /* UTF-8, cut to 128 bytes; NULL if absent */
	char *new_value;                 /* UTF-8 as stored after a fix; NULL otherwise */
	char *message;                   /* one line: what is wrong */
	bool waived;                     /* a refusal waived (pacs_norm_run_waived):
					  * action is PACS_NORM_WARN */
} pacs_norm_hit;

typedef struct pacs_norm_result {
	pacs_norm_outcome outcome;
	uint16_t status;                 /* C-STORE status to answer (PS3.4 B.2.3) */
	/* Error Comment: names the rule and the element, default repertoire,
	 * empty when accepted without a hit. */
	char comment[PACS_NORM_COMMENT_MAX + 1];
	char *explanation;               /* every hit, one per line (logs, quarantine
					  * reason file); "" when none */
	pacs_norm_hit *hits;             /* in the order found */
	size_t n_hits;
	size_t n_hits_dropped;           /* hits beyond the first 256 are counted only */
	unsigned n_fixed, n_warned, n_refused;
	unsigned n_waived;               /* refusals waived (counted in n_warned too) */
	bool oas_added;                  /* an Original Attributes Sequence item was added */
} pacs_norm_result;

/* Validates and normalises ds (a root data set, as read; bulk elements are
 * left alone) under rules, in place.  *out (the caller's,
 * pacs_norm_result_free) says what happened.  Returns 0 whenever the rules
 * could be applied, whatever the outcome; a negative code only for
 * internal failures (ARCA_ENOMEM ...), and then ds may be half normalised.
 *
 * On a refusal ds holds the normalised attempt including its Original
 * Attributes Sequence item, so a quarantine copy shows both what was sent
 * and what would have been stored. */
int pacs_norm_run(const pacs_norm_rules *rules, pacs_ds *ds, const pacs_norm_opts *opts,
		  pacs_norm_result **out);

/* pacs_norm_run with the refusals of the rules waive[0..n_waive) waived
 * (an operator's decision: `arca quarantine release --force`): such a hit
 * is a warning with waived set, and the top-level element it concerns is
 * recorded, as received, in this run's Original Attributes Sequence item
 * (PS3.3 C.12.1.1.9; Reason for the Attribute Modification COERCE unless
 * a correction was made too), so the instance itself says it was kept
 * despite the rule.  waive is borrowed for the call. */
int pacs_norm_run_waived(const pacs_norm_rules *rules, pacs_ds *ds, const pacs_norm_opts *opts,
			 const char *const *waive, size_t n_waive, pacs_norm_result **out);

void pacs_norm_result_free(pacs_norm_result *res);

/* Borrowed, static: "ignore", "fix", "warn", "refuse". */
const char *pacs_norm_action_name(pacs_norm_action action);

/* Borrowed, static: "accepted", "warned", "refused". */
const char *pacs_norm_outcome_name(pacs_norm_outcome outcome);

#endif
