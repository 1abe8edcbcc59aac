/* pacs_norm_rules.c - the rules file parser (arca-normalise(5)).
 *
 * An INI-like text: [sections], one rule (or one table entry) per line,
 * "#" or ";" comments.  A bounded parser of our own rather than libinih:
 * every error must name file:line and the table sections need quoted
 * keys and per-line checks that inih's key/value callback cannot carry
 * (its line number is only available under a build-time option the
 * distribution package does not set).  Lines go through a bounded cursor;
 * the whole text, each line, the rules and the table entries have limits
 * (pacs_norm_priv.h). */
#include "pacs_norm_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arca_err.h"
#include "pacs_cursor.h"
#include "pacs_dict.h"

#define MAX_TOKENS (NORM_MAX_VALUES + 8u)

enum section {
	SEC_NONE,
	SEC_OPTIONS,
	SEC_REQUIRED,
	SEC_VALUES,
	SEC_CHECK,
	SEC_NORMALISE,
	SEC_MAP,
	SEC_CODE,
};

typedef struct parser {
	pacs_norm_rules *rules;
	const char *name;
	unsigned line;
	enum section sec;
	enum norm_level level;
	size_t table; /* index of the rule a [map]/[code] section fills */
	char buf[NORM_MAX_LINE + 1];
	char *tok[MAX_TOKENS];
	size_t ntok;
} parser;

static int perr(const parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(const parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return arca_error_set(ARCA_EPROTO, "%s:%u: %s", p->name, p->line, msg);
}

/* ---------------------------------------------------------------- words */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Cuts an inline comment: '#' or ';' at the start or after a blank,
 * outside double quotes. */
static void cut_comment(char *s)
{
	bool quoted = false;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && (s[i] == '#' || s[i] == ';') && (i == 0 || is_blank(s[i - 1]))) {
			s[i] = '\0';
			return;
		}
	}
}

/* Splits s in place into blank-separated tokens; "double quoted" tokens
 * may hold blanks (the quotes are removed). */
static int tokenize(parser *p, char *s)
{
	p->ntok = 0;
	for (;;) {
		while (is_blank(*s))
			s++;
		if (*s == '\0')
			return 0;
		if (p->ntok == MAX_TOKENS)
			return perr(p, "more than %u words on one line", MAX_TOKENS);
		if (*s == '"') {
			char *end = strchr(s + 1, '"');
			if (end == NULL)
				return perr(p, "unterminated \"quoted\" word");
			*end = '\0';
			p->tok[p->ntok++] = s + 1;
			s = end + 1;
			if (*s != '\0' && !is_blank(*s))
				return perr(p, "a quoted word must be followed by a blank");
			continue;
		}
		p->tok[p->ntok++] = s;
		while (*s != '\0' && !is_blank(*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PACS_NORM_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static int parse_action(const parser *p, const char *s, pacs_norm_action *out)
{
	static const struct {
		const char *word;
		pacs_norm_action action;
	} words[] = {
		{"ignore", PACS_NORM_IGNORE},
		{"fix", PACS_NORM_FIX},
		{"warn", PACS_NORM_WARN},
		{"refuse", PACS_NORM_REFUSE},
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(s, words[i].word) == 0) {
			*out = words[i].action;
			return 0;
		}
	}
	return perr(p, "unknown action '%s' (expected refuse, warn, fix or ignore)", s);
}

static int parse_hex(const char *s, unsigned digits, uint32_t *out)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < digits; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/* A keyword ("PatientID") or a tag: (0010,0020), 0010,0020, 00100020. */
static int parse_tag(const parser *p, const char *s, uint32_t *out)
{
	size_t n = strlen(s);
	uint32_t g, e;

	if (n == 11 && s[0] == '(' && s[5] == ',' && s[10] == ')' && parse_hex(s + 1, 4, &g) == 0 &&
	    parse_hex(s + 6, 4, &e) == 0) {
		*out = PACS_TAG(g, e);
		return 0;
	}
	if (n == 9 && s[4] == ',' && parse_hex(s, 4, &g) == 0 && parse_hex(s + 5, 4, &e) == 0) {
		*out = PACS_TAG(g, e);
		return 0;
	}
	if (n == 8 && parse_hex(s, 8, &g) == 0) {
		*out = g;
		return 0;
	}
	*out = pacs_dict_tag_by_keyword(s);
	if (*out == 0)
		return perr(p, "unknown attribute '%s' (a keyword of the data dictionary such as "
			       "PatientID, or a tag such as (0010,0020))", s);
	return 0;
}

/* "status=A900": a C-STORE status for the rule (PS3.4 B.2.3). */
static int parse_status(const parser *p, const char *s, pacs_norm_action action, uint16_t *out)
{
	uint32_t v;

	if (strlen(s) != 4 || parse_hex(s, 4, &v) != 0)
		return perr(p, "status '%s' is not four hexadecimal digits", s);
	if (action == PACS_NORM_REFUSE && !((v & 0xF000) == 0xA000 || (v & 0xF000) == 0xC000))
		return perr(p, "status %04X of a refuse rule must be a failure (Axxx or Cxxx)", v);
	if (action == PACS_NORM_WARN && (v & 0xF000) != 0xB000)
		return perr(p, "status %04X of a warn rule must be a warning (Bxxx)", v);
	if (action != PACS_NORM_REFUSE && action != PACS_NORM_WARN)
		return perr(p, "status= applies to refuse and warn rules only");
	*out = (uint16_t)v;
	return 0;
}

/* ---------------------------------------------------------------- rules */

static int check_unique_id(const parser *p, const char *id)
{
	for (size_t i = 0; i < p->rules->n; i++)
		if (strcmp(p->rules->rules[i].id, id) == 0)
			return perr(p, "rule '%s' is already defined at line %u", id, p->rules->rules[i].line);
	return 0;
}

static int add_rule(parser *p, const char *id, enum norm_kind kind, norm_rule **out)
{
	pacs_norm_rules *rs = p->rules;
	norm_rule *r;
	int rc;

	if (!valid_id(id))
		return perr(p, "rule id '%s' must be 1 to %d letters, digits, '-', '_' or '.'", id,
			    PACS_NORM_ID_MAX);
	if ((rc = check_unique_id(p, id)) < 0)
		return rc;
	if (rs->n == NORM_MAX_RULES)
		return perr(p, "more than %u rules", NORM_MAX_RULES);
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 32;
		norm_rule *grown = realloc(rs->rules, cap * sizeof(*grown));
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory reading rules");
		rs->rules = grown;
		rs->cap = cap;
	}
	r = &rs->rules[rs->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->kind = kind;
	r->line = p->line;
	*out = r;
	return 0;
}

/* Takes "status=XXXX" (and, for options, other key=value words) out of
 * the token list; the action must be token 0. */
static int take_status(parser *p, norm_rule *r)
{
	size_t k = 0;

	for (size_t i = 0; i < p->ntok; i++) {
		if (strncmp(p->tok[i], "status=", 7) == 0) {
			int rc = parse_status(p, p->tok[i] + 7, r->action, &r->status);
			if (rc < 0)
				return rc;
			continue;
		}
		p->tok[k++] = p->tok[i];
	}
	p->ntok = k;
	return 0;
}

static int no_fix(const parser *p, const norm_rule *r)
{
	if (r->action == PACS_NORM_FIX)
		return perr(p, "rule '%s' cannot fix (use refuse, warn or ignore)", r->id);
	return 0;
}

static int entry_required(parser *p, const char *key)
{
	norm_rule *r;
	int rc;

	if ((rc = add_rule(p, key, NORM_K_REQUIRED, &r)) < 0)
		return rc;
	r->level = p->level;
	if (p->ntok < 1)
		return perr(p, "expected: ID = ACTION ATTRIBUTE");
	if ((rc = parse_action(p, p->tok[0], &r->action)) < 0 || (rc = no_fix(p, r)) < 0 ||
	    (rc = take_status(p, r)) < 0)
		return rc;
	if (p->ntok == 3 && (strcmp(p->tok[2], "type=1") == 0 || strcmp(p->tok[2], "type=2") == 0)) {
		r->type2 = p->tok[2][5] == '2';
		p->ntok = 2;
	}
	if (p->ntok != 2)
		return perr(p, "expected: ID = ACTION ATTRIBUTE [type=1|type=2] [status=XXXX]");
	return parse_tag(p, p->tok[1], &r->tag);
}

static double parse_number(const parser *p, const char *s, bool *ok)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	*ok = *end == '\0' && end != s && errno == 0;
	if (!*ok)
		perr(p, "'%s' is not a number", s);
	return v;
}

static int entry_values(parser *p, const char *key)
{
	pacs_norm_action action = PACS_NORM_IGNORE;
	enum norm_kind kind;
	norm_rule *r;
	int rc;

	if (p->ntok < 1)
		return perr(p, "expected: ID = ACTION ATTRIBUTE in VALUE... | range MIN MAX");
	if ((rc = parse_action(p, p->tok[0], &action)) < 0)
		return rc;
	if (p->ntok < 3)
		return perr(p, "expected: ID = ACTION ATTRIBUTE in VALUE... | range MIN MAX");
	if (strcmp(p->tok[2], "in") == 0)
		kind = NORM_K_IN;
	else if (strcmp(p->tok[2], "range") == 0)
		kind = NORM_K_RANGE;
	else
		return perr(p, "expected 'in' or 'range' after the attribute, not '%s'", p->tok[2]);
	if ((rc = add_rule(p, key, kind, &r)) < 0)
		return rc;
	r->action = action;
	if ((rc = no_fix(p, r)) < 0 || (rc = take_status(p, r)) < 0)
		return rc;
	if ((rc = parse_tag(p, p->tok[1], &r->tag)) < 0)
		return rc;
	if (r->kind == NORM_K_RANGE) {
		bool ok;
		if (p->ntok != 5)
			return perr(p, "expected: range MIN MAX");
		r->min = parse_number(p, p->tok[3], &ok);
		if (!ok)
			return ARCA_EPROTO;
		r->max = parse_number(p, p->tok[4], &ok);
		if (!ok)
			return ARCA_EPROTO;
		if (r->min > r->max)
			return perr(p, "range minimum %s is above the maximum %s", p->tok[3], p->tok[4]);
		return 0;
	}
	if (p->ntok < 4)
		return perr(p, "'in' needs at least one value or @table");
	for (size_t i = 3; i < p->ntok; i++) {
		const char *v = p->tok[i];
		if (v[0] == '@') {
			const norm_table *t = pacs_norm__table(v);
			if (t == NULL)
				return perr(p, "unknown table '%s' (built in: @modality, @modality-retired, "
					       "@body-part, @sex)", v);
			if (r->n_tables == sizeof(r->tables) / sizeof(r->tables[0]))
				return perr(p, "more than %zu @tables in one rule",
					    sizeof(r->tables) / sizeof(r->tables[0]));
			r->tables[r->n_tables++] = t;
			continue;
		}
		if (r->values == NULL) {
			r->values = calloc(p->ntok, sizeof(char *));
			if (r->values == NULL)
				return arca_error_set(ARCA_ENOMEM, "out of memory reading rules");
		}
		r->values[r->n_values] = strdup(v);
		if (r->values[r->n_values] == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory reading rules");
		r->n_values++;
	}
	return 0;
}

static const struct {
	const char *name;
	enum norm_kind kind;
} check_names[] = {
	{"vr", NORM_K_CHECK_VR},
	{"length", NORM_K_CHECK_LENGTH},
	{"vm", NORM_K_CHECK_VM},
	{"uid", NORM_K_CHECK_UID},
	{"decode", NORM_K_CHECK_CHARSET},
}, normalise_names[] = {
	{"charset", NORM_K_CHARSET},
	{"padding", NORM_K_PADDING},
	{"date-time", NORM_K_DATE_TIME},
	{"cs-upper", NORM_K_CS_UPPER},
	{"person-name", NORM_K_PERSON_NAME},
	{"patient-sex", NORM_K_PATIENT_SEX},
};

static int entry_check(parser *p, const char *key)
{
	norm_rule *r = NULL;
	int rc;

	for (size_t i = 0; i < sizeof(check_names) / sizeof(check_names[0]); i++)
		if (strcmp(key, check_names[i].name) == 0 && (rc = add_rule(p, key, check_names[i].kind, &r)) < 0)
			return rc;
	if (r == NULL)
		return perr(p, "unknown check '%s' (expected vr, length, vm, uid or decode)", key);
	if (p->ntok < 1)
		return perr(p, "expected: %s = ACTION", key);
	if ((rc = parse_action(p, p->tok[0], &r->action)) < 0 || (rc = no_fix(p, r)) < 0 ||
	    (rc = take_status(p, r)) < 0)
		return rc;
	if (p->ntok != 1)
		return perr(p, "unexpected '%s' after the action", p->tok[1]);
	return 0;
}

static int normalise_option(parser *p, norm_rule *r, const char *opt)
{
	if (r->kind == NORM_K_PERSON_NAME && strcmp(opt, "comma") == 0) {
		r->pn_comma = true;
		return 0;
	}
	if ((r->kind == NORM_K_PERSON_NAME || r->kind == NORM_K_PADDING) && strcmp(opt, "trim") == 0) {
		r->trim = true;
		return 0;
	}
	if (r->kind == NORM_K_CHARSET && strcmp(opt, "always") == 0) {
		r->charset_always = true;
		return 0;
	}
	if (r->kind == NORM_K_PATIENT_SEX && strncmp(opt, "unknown=", 8) == 0) {
		const char *v = opt + 8;
		if (strcmp(v, "O") == 0 || strcmp(v, "empty") == 0) {
			r->sex_unknown = PACS_NORM_FIX;
			snprintf(r->sex_unknown_to, sizeof(r->sex_unknown_to), "%s", v[0] == 'O' ? "O" : "");
			return 0;
		}
		if (strcmp(v, "fix") != 0) {
			int rc = parse_action(p, v, &r->sex_unknown);
			if (rc < 0)
				return perr(p, "unknown=%s: expected O, empty, warn, refuse or ignore", v);
			return 0;
		}
		return perr(p, "unknown=%s: expected O, empty, warn, refuse or ignore", v);
	}
	return perr(p, "unknown option '%s' for '%s'", opt, r->id);
}

static int entry_normalise(parser *p, const char *key)
{
	norm_rule *r = NULL;
	int rc;

	for (size_t i = 0; i < sizeof(normalise_names) / sizeof(normalise_names[0]); i++)
		if (strcmp(key, normalise_names[i].name) == 0 &&
		    (rc = add_rule(p, key, normalise_names[i].kind, &r)) < 0)
			return rc;
	if (r == NULL)
		return perr(p, "unknown normalisation '%s' (expected charset, padding, date-time, "
			       "cs-upper, person-name or patient-sex)", key);
	if (p->ntok < 1)
		return perr(p, "expected: %s = ACTION [OPTION...]", key);
	if ((rc = parse_action(p, p->tok[0], &r->action)) < 0 || (rc = take_status(p, r)) < 0)
		return rc;
	if (r->kind == NORM_K_PATIENT_SEX) {
		/* default: leave unknown values to the [values] rules */
		r->sex_unknown = PACS_NORM_IGNORE;
		r->tag = PACS_TAG(0x0010, 0x0040);
	}
	for (size_t i = 1; i < p->ntok; i++)
		if ((rc = normalise_option(p, r, p->tok[i])) < 0)
			return rc;
	if (r->kind == NORM_K_PERSON_NAME && !r->trim && !r->pn_comma)
		return perr(p, "person-name needs what to do: trim, comma or both");
	return 0;
}

/* Section options "action=ACTION" and "status=XXXX" of [map] and [code]
 * ("id=NAME" was taken before the rule was made). */
static int table_options(parser *p, norm_rule *r, size_t first)
{
	for (size_t i = first; i < p->ntok; i++) {
		const char *t = p->tok[i];
		int rc;
		if (strncmp(t, "action=", 7) == 0) {
			if ((rc = parse_action(p, t + 7, &r->action)) < 0)
				return rc;
		} else if (strncmp(t, "status=", 7) != 0 && strncmp(t, "id=", 3) != 0) {
			return perr(p, "unknown section option '%s' (expected id=NAME, action=ACTION or "
				       "status=XXXX)", t);
		}
	}
	for (size_t i = first; i < p->ntok; i++)
		if (strncmp(p->tok[i], "status=", 7) == 0) {
			int rc = parse_status(p, p->tok[i] + 7, r->action, &r->status);
			if (rc < 0)
				return rc;
		}
	return 0;
}

static int section_table(parser *p, bool code)
{
	char id[PACS_NORM_ID_MAX + 1];
	const char *kw;
	uint32_t tag, target = 0;
	norm_rule *r;
	int rc;
	size_t need = code ? 3 : 2;

	if (p->ntok < need)
		return perr(p, code ? "expected [code SOURCE TARGET-SEQUENCE [id=NAME] [action=ACTION]]"
				    : "expected [map ATTRIBUTE [id=NAME] [action=ACTION]]");
	if ((rc = parse_tag(p, p->tok[1], &tag)) < 0)
		return rc;
	if (code) {
		const pacs_dict_entry *d;
		if ((rc = parse_tag(p, p->tok[2], &target)) < 0)
			return rc;
		d = pacs_dict_lookup(target);
		if (d == NULL || d->vr != PACS_VR_SQ)
			return perr(p, "'%s' is not a sequence attribute: codes go into a code sequence "
				       "such as ProcedureCodeSequence", p->tok[2]);
	}
	/* The default id names the attribute (map-BodyPartExamined); id=
	 * replaces it. */
	kw = pacs_dict_keyword(code ? target : tag);
	if (kw[0] != '\0')
		snprintf(id, sizeof(id), "%s-%.*s", code ? "code" : "map", PACS_NORM_ID_MAX - 5, kw);
	else
		snprintf(id, sizeof(id), "%s-%08X", code ? "code" : "map", (unsigned)(code ? target : tag));
	for (size_t i = need; i < p->ntok; i++) {
		if (strncmp(p->tok[i], "id=", 3) != 0)
			continue;
		if (strlen(p->tok[i] + 3) > PACS_NORM_ID_MAX || !valid_id(p->tok[i] + 3))
			return perr(p, "rule id '%s' must be 1 to %d letters, digits, '-', '_' or '.'",
				    p->tok[i] + 3, PACS_NORM_ID_MAX);
		snprintf(id, sizeof(id), "%s", p->tok[i] + 3);
	}
	if ((rc = add_rule(p, id, code ? NORM_K_CODE : NORM_K_MAP, &r)) < 0)
		return rc;
	r->action = PACS_NORM_FIX;
	r->tag = tag;
	r->target = target;
	if ((rc = table_options(p, r, need)) < 0)
		return rc;
	p->table = p->rules->n - 1;
	return 0;
}

static int parse_section(parser *p, char *s)
{
	size_t n = strlen(s);
	int rc;

	if (n < 2 || s[n - 1] != ']')
		return perr(p, "a section header must end with ']'");
	s[n - 1] = '\0';
	if ((rc = tokenize(p, s + 1)) < 0)
		return rc;
	if (p->ntok == 0)
		return perr(p, "empty section name");
	if (strcmp(p->tok[0], "options") == 0 && p->ntok == 1) {
		p->sec = SEC_OPTIONS;
	} else if (strcmp(p->tok[0], "required") == 0) {
		static const char *const levels[] = {"patient", "study", "series", "instance"};
		if (p->ntok != 2)
			return perr(p, "expected [required LEVEL] with LEVEL patient, study, series or instance");
		p->sec = SEC_NONE;
		for (unsigned i = 0; i < 4; i++)
			if (strcmp(p->tok[1], levels[i]) == 0) {
				p->sec = SEC_REQUIRED;
				p->level = (enum norm_level)i;
			}
		if (p->sec != SEC_REQUIRED)
			return perr(p, "unknown level '%s' (expected patient, study, series or instance)",
				    p->tok[1]);
	} else if (strcmp(p->tok[0], "values") == 0 && p->ntok == 1) {
		p->sec = SEC_VALUES;
	} else if (strcmp(p->tok[0], "check") == 0 && p->ntok == 1) {
		p->sec = SEC_CHECK;
	} else if ((strcmp(p->tok[0], "normalise") == 0 || strcmp(p->tok[0], "normalize") == 0) &&
		   p->ntok == 1) {
		p->sec = SEC_NORMALISE;
	} else if (strcmp(p->tok[0], "map") == 0) {
		p->sec = SEC_MAP;
		return section_table(p, false);
	} else if (strcmp(p->tok[0], "code") == 0) {
		p->sec = SEC_CODE;
		return section_table(p, true);
	} else {
		return perr(p, "unknown section [%s%s] (expected options, required LEVEL, values, "
			       "check, normalise, map or code)", p->tok[0], p->ntok > 1 ? " ..." : "");
	}
	return 0;
}

/* ---------------------------------------------------------------- [options] */

static int entry_option(parser *p, const char *key, char *value)
{
	pacs_norm_rules *rs = p->rules;
	int rc;

	if ((rc = tokenize(p, value)) < 0)
		return rc;
	if (strcmp(key, "modifying-system") == 0) {
		if (p->ntok != 1)
			return perr(p, "modifying-system takes one value (quote it if it has blanks)");
		if (strlen(p->tok[0]) == 0 || strlen(p->tok[0]) >= sizeof(rs->modifying_system) ||
		    strchr(p->tok[0], '\\') != NULL)
			return perr(p, "modifying-system must be 1 to 64 characters without '\\' (LO)");
		snprintf(rs->modifying_system, sizeof(rs->modifying_system), "%s", p->tok[0]);
		return 0;
	}
	if (p->ntok != 1)
		return perr(p, "option '%s' takes one value", key);
	if (strcmp(key, "reason") == 0) {
		/* PS3.3 C.12.1.1.9: Reason for the Attribute Modification */
		if (strcmp(p->tok[0], "auto") == 0)
			rs->reason[0] = '\0';
		else if (strcmp(p->tok[0], "COERCE") == 0 || strcmp(p->tok[0], "CORRECT") == 0)
			snprintf(rs->reason, sizeof(rs->reason), "%s", p->tok[0]);
		else
			return perr(p, "reason must be auto, COERCE or CORRECT, not '%s'", p->tok[0]);
		return 0;
	}
	if (strcmp(key, "fix-status") == 0) {
		uint32_t v;
		if (strlen(p->tok[0]) != 4 || parse_hex(p->tok[0], 4, &v) != 0 ||
		    !(v == 0 || (v & 0xF000) == 0xB000))
			return perr(p, "fix-status must be 0000 or a warning status Bxxx, not '%s'", p->tok[0]);
		rs->fix_status = (uint16_t)v;
		return 0;
	}
	if (strcmp(key, "instance-coercion-datetime") == 0) {
		if (strcmp(p->tok[0], "yes") == 0)
			rs->coercion_datetime = true;
		else if (strcmp(p->tok[0], "no") == 0)
			rs->coercion_datetime = false;
		else
			return perr(p, "instance-coercion-datetime must be yes or no");
		return 0;
	}
	return perr(p, "unknown option '%s' (expected modifying-system, reason, fix-status or "
		       "instance-coercion-datetime)", key);
}

/* ---------------------------------------------------------------- tables */

static bool same_term(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static int entry_table(parser *p, const char *key, char *value)
{
	norm_rule *r = &p->rules->rules[p->table];
	norm_entry *e;
	char *fields[3] = {NULL, NULL, NULL};
	int rc;

	if (key[0] == '\0')
		return perr(p, "empty local term");
	for (size_t i = 0; i < r->n_entries; i++)
		if (same_term(r->entries[i].from, key))
			return perr(p, "'%s' is already mapped at line %u", key, r->entries[i].line);
	if (r->n_entries == NORM_MAX_ENTRIES)
		return perr(p, "more than %u entries in one table", NORM_MAX_ENTRIES);
	if (r->kind == NORM_K_MAP) {
		const pacs_dict_entry *d = pacs_dict_lookup(r->tag);
		const char *why;
		if ((rc = tokenize(p, value)) < 0)
			return rc;
		if (p->ntok != 1)
			return perr(p, "expected: LOCAL TERM = STANDARD-TERM (quote terms with blanks)");
		fields[0] = p->tok[0];
		if (d != NULL && !pacs_vr_uses_charset(d->vr) && pacs_vr_is_string(d->vr) &&
		    (why = pacs_norm__vr_format(d->vr, fields[0], strlen(fields[0]))) != NULL)
			return perr(p, "'%s' cannot be a value of %s: %s", fields[0], pacs_dict_keyword(r->tag),
				    why);
	} else {
		/* CODE VALUE | SCHEME | MEANING */
		char *s = value;
		for (unsigned i = 0; i < 3; i++) {
			char *bar = strchr(s, '|');
			if ((bar == NULL) != (i == 2))
				return perr(p, "expected: LOCAL TERM = CODE VALUE | CODING SCHEME | CODE MEANING");
			if (bar != NULL)
				*bar = '\0';
			fields[i] = trim(s);
			if (fields[i][0] == '\0')
				return perr(p, "empty field %u of a code (value | scheme | meaning)", i + 1);
			if (bar != NULL)
				s = bar + 1;
		}
		/* PS3.3 8.1-8.3: Code Value and Coding Scheme Designator are SH
		 * (16 characters), Code Meaning LO (64). */
		if (pacs_norm__utf8_chars(fields[0], strlen(fields[0])) > 16 ||
		    pacs_norm__utf8_chars(fields[1], strlen(fields[1])) > 16 ||
		    pacs_norm__utf8_chars(fields[2], strlen(fields[2])) > 64)
			return perr(p, "code value and scheme are at most 16 characters, meaning 64");
		for (unsigned i = 0; i < 3; i++)
			if (strchr(fields[i], '\\') != NULL)
				return perr(p, "'\\' is the value delimiter and cannot be part of a code");
	}
	if (r->n_entries == r->cap_entries) {
		size_t cap = r->cap_entries ? r->cap_entries * 2 : 16;
		norm_entry *grown = realloc(r->entries, cap * sizeof(*grown));
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory reading rules");
		r->entries = grown;
		r->cap_entries = cap;
	}
	e = &r->entries[r->n_entries++];
	memset(e, 0, sizeof(*e));
	e->line = p->line;
	e->from = strdup(key);
	e->to = strdup(fields[0]);
	if (r->kind == NORM_K_CODE) {
		e->scheme = strdup(fields[1]);
		e->meaning = strdup(fields[2]);
	}
	if (e->from == NULL || e->to == NULL || (r->kind == NORM_K_CODE && (e->scheme == NULL || e->meaning == NULL)))
		return arca_error_set(ARCA_ENOMEM, "out of memory reading rules");
	return 0;
}

/* ---------------------------------------------------------------- lines */

/* KEY = VALUE; a "quoted key" may hold '=' and blanks. */
static int split_entry(parser *p, char *s, char **key, char **value)
{
	char *eq;

	if (s[0] == '"') {
		char *end = strchr(s + 1, '"');
		if (end == NULL)
			return perr(p, "unterminated \"quoted\" key");
		*end = '\0';
		*key = s + 1;
		s = end + 1;
		while (is_blank(*s))
			s++;
		if (*s != '=')
			return perr(p, "expected '=' after the quoted key");
		*value = trim(s + 1);
		return 0;
	}
	eq = strchr(s, '=');
	if (eq == NULL)
		return perr(p, "expected KEY = VALUE, a [section] or a comment");
	*eq = '\0';
	*key = trim(s);
	*value = trim(eq + 1);
	if ((*key)[0] == '\0')
		return perr(p, "empty key before '='");
	return 0;
}

static int parse_line(parser *p, const uint8_t *bytes, size_t len)
{
	char *s, *key = NULL, *value = NULL;
	int rc;

	if (len > 0 && bytes[len - 1] == '\r')
		len--;
	if (len > NORM_MAX_LINE)
		return perr(p, "line longer than %u bytes", NORM_MAX_LINE);
	if (memchr(bytes, '\0', len) != NULL)
		return perr(p, "NUL byte in the rules text");
	if (!pacs_norm__utf8_valid((const char *)bytes, len))
		return perr(p, "not UTF-8 text");
	memcpy(p->buf, bytes, len);
	p->buf[len] = '\0';
	cut_comment(p->buf);
	s = trim(p->buf);
	if (s[0] == '\0')
		return 0;
	if (s[0] == '[')
		return parse_section(p, s);
	if ((rc = split_entry(p, s, &key, &value)) < 0)
		return rc;
	switch (p->sec) {
	case SEC_NONE:
		return perr(p, "'%s = ...' outside a section", key);
	case SEC_OPTIONS:
		return entry_option(p, key, value);
	case SEC_MAP:
	case SEC_CODE:
		return entry_table(p, key, value);
	default:
		break;
	}
	if ((rc = tokenize(p, value)) < 0)
		return rc;
	switch (p->sec) {
	case SEC_REQUIRED:
		return entry_required(p, key);
	case SEC_VALUES:
		return entry_values(p, key);
	case SEC_CHECK:
		return entry_check(p, key);
	case SEC_NORMALISE:
		return entry_normalise(p, key);
	default:
		return perr(p, "internal: unexpected section");
	}
}

/* ---------------------------------------------------------------- API */

static void rule_free(norm_rule *r)
{
	for (size_t i = 0; i < r->n_values; i++)
		free(r->values[i]);
	free(r->values);
	for (size_t i = 0; i < r->n_entries; i++) {
		free(r->entries[i].from);
		free(r->entries[i].to);
		free(r->entries[i].scheme);
		free(r->entries[i].meaning);
	}
	free(r->entries);
}

void pacs_norm_rules_free(pacs_norm_rules *rules)
{
	if (rules == NULL)
		return;
	for (size_t i = 0; i < rules->n; i++)
		rule_free(&rules->rules[i]);
	free(rules->rules);
	free(rules->name);
	free(rules);
}

int pacs_norm_rules_parse(pacs_norm_rules **out, const char *text, size_t len, const char *name)
{
	pacs_norm_rules *rs;
	parser *p;
	pacs_cursor cur;
	int rc = 0;

	*out = NULL;
	if (name == NULL)
		name = "rules";
	if (len > NORM_MAX_FILE)
		return arca_error_set(ARCA_ELIMIT, "%s: rules text of %zu bytes is over the %u byte limit",
				      name, len, NORM_MAX_FILE);
	rs = calloc(1, sizeof(*rs));
	p = calloc(1, sizeof(*p));
	if (rs == NULL || p == NULL || (rs->name = strdup(name)) == NULL) {
		free(p);
		pacs_norm_rules_free(rs);
		return arca_error_set(ARCA_ENOMEM, "out of memory reading rules");
	}
	snprintf(rs->modifying_system, sizeof(rs->modifying_system), "ARCA");
	rs->fix_status = 0xB000; /* PS3.4 B.2.3: coercion of data elements */
	p->rules = rs;
	p->name = rs->name;
	cur = pacs_cursor_make((const uint8_t *)text, len);
	/* A UTF-8 byte order mark at the start is not part of the text. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pacs_cursor_skip(&cur, 3);
	while (rc == 0 && pacs_cursor_left(&cur) > 0) {
		const uint8_t *rest, *line = NULL;
		size_t left = pacs_cursor_rest(&cur, &rest);
		size_t n = 0;

		while (n < left && rest[n] != '\n')
			n++;
		p->line++;
		pacs_cursor_take(&cur, n, &line);
		pacs_cursor_skip(&cur, 1); /* the newline, if any */
		rc = parse_line(p, line, n);
	}
	free(p);
	if (rc < 0) {
		pacs_norm_rules_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

int pacs_norm_rules_load(pacs_norm_rules **out, const char *path)
{
	FILE *f;
	char *buf;
	size_t len = 0;
	int rc;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		return arca_error_set(ARCA_EIO, "%s: cannot open rules file: %s", path, strerror(errno));
	buf = malloc(NORM_MAX_FILE + 1);
	if (buf == NULL) {
		fclose(f);
		return arca_error_set(ARCA_ENOMEM, "out of memory reading %s", path);
	}
	for (;;) {
		size_t got = fread(&buf[len], 1, NORM_MAX_FILE + 1 - len, f);
		len += got;
		if (got == 0 || len == NORM_MAX_FILE + 1)
			break;
	}
	if (ferror(f)) {
		rc = arca_error_set(ARCA_EIO, "%s: read error: %s", path, strerror(errno));
	} else if (len > NORM_MAX_FILE) {
		rc = arca_error_set(ARCA_ELIMIT, "%s: rules file is over the %u byte limit", path, NORM_MAX_FILE);
	} else {
		rc = pacs_norm_rules_parse(out, buf, len, path);
	}
	fclose(f);
	free(buf);
	return rc;
}

size_t pacs_norm_rules_count(const pacs_norm_rules *rules)
{
	return rules->n;
}

const char *pacs_norm_rules_name(const pacs_norm_rules *rules)
{
	return rules->name;
}

const norm_rule *pacs_norm__rule_of(const pacs_norm_rules *rules, enum norm_kind kind)
{
	for (size_t i = 0; i < rules->n; i++)
		if (rules->rules[i].kind == kind)
			return &rules->rules[i];
	return NULL;
}
