/* store_index_match.c - C-FIND matching values parsed into conditions
 * (PS3.4 C.2.2.2), independent of any database: which kind of matching a
 * value asks for, its parts (list elements, range bounds), and the
 * canonical forms that make TM ranges and person names comparable.  The
 * backends turn the conditions into their own SQL. */
#include "store_index_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

bool store_index__has_wildcard(const char *s)
{
	return strpbrk(s, "*?") != NULL;
}

bool store_index__is_date(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return i == 8;
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int store_index__time_bound(const char *tm, bool upper, char out[13])
{
	/* PS3.5 6.2 TM: HH, HHMM, HHMMSS, HHMMSS.F{1,6}.  A query value stands
	 * for every time it is a prefix of, so an upper bound is filled with
	 * the latest digits (PS3.4 C.2.2.2.5: "1200" reaches 12:00:59.999999). */
	static const char hi[] = "235959999999";
	const char *dot = strchr(tm, '.');
	size_t whole = dot != NULL ? (size_t)(dot - tm) : strlen(tm);
	size_t frac = dot != NULL ? strlen(dot + 1) : 0;

	if ((whole != 2 && whole != 4 && whole != 6) || !is_digits(tm, whole) ||
	    (dot != NULL && (whole != 6 || frac < 1 || frac > 6 || !is_digits(dot + 1, frac))))
		return arca_error_set(ARCA_EINVAL, "time '%s' is not HH, HHMM, HHMMSS or HHMMSS.FFFFFF (PS3.5 6.2 TM)", tm);
	if ((tm[0] - '0') * 10 + (tm[1] - '0') > 23 ||
	    (whole >= 4 && (tm[2] - '0') * 10 + (tm[3] - '0') > 59) ||
	    (whole >= 6 && (tm[4] - '0') * 10 + (tm[5] - '0') > 60))
		return arca_error_set(ARCA_EINVAL, "time '%s' is out of range (PS3.5 6.2 TM)", tm);
	memcpy(out, tm, whole);
	if (dot != NULL)
		memcpy(out + 6, dot + 1, frac);
	for (size_t i = dot != NULL ? 6 + frac : whole; i < 12; i++)
		out[i] = upper ? hi[i] : '0';
	out[12] = '\0';
	return 0;
}

/* Splits value at every backslash into cond->values (empty parts dropped). */
static int split_list(struct store_index__cond *cond, const char *value)
{
	size_t parts = 1;
	const char *p, *start;

	for (p = value; *p != '\0'; p++)
		if (*p == '\\')
			parts++;
	if (parts > STORE_INDEX_LIST_MAX)
		return arca_error_set(ARCA_ELIMIT, "%s: %zu values in the list, at most %u",
				      cond->key->keyword, parts, STORE_INDEX_LIST_MAX);
	cond->values = calloc(parts, sizeof(char *));
	if (cond->values == NULL)
		return arca_error_set(ARCA_ENOMEM, "%s: out of memory", cond->key->keyword);
	for (start = p = value;; p++) {
		if (*p != '\\' && *p != '\0')
			continue;
		if (p > start) {
			cond->values[cond->n] = dup_n(start, (size_t)(p - start));
			if (cond->values[cond->n] == NULL)
				return arca_error_set(ARCA_ENOMEM, "%s: out of memory", cond->key->keyword);
			cond->n++;
		}
		if (*p == '\0')
			break;
		start = p + 1;
	}
	return 0;
}

/* cond->values = { copy of value }. */
static int set_single(struct store_index__cond *cond, const char *value)
{
	cond->values = calloc(1, sizeof(char *));
	if (cond->values != NULL)
		cond->values[0] = strdup(value);
	if (cond->values == NULL || cond->values[0] == NULL)
		return arca_error_set(ARCA_ENOMEM, "%s: out of memory", cond->key->keyword);
	cond->n = 1;
	return 0;
}

static int parse_uid_list(struct store_index__cond *cond, const char *value)
{
	/* PS3.4 C.2.2.2.2 List of UID Matching; UIDs never take wildcards
	 * (C.2.2.2.4 lists the VRs that do, UI is not one). */
	int rc = split_list(cond, value);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < cond->n; i++) {
		const char *u = cond->values[i];
		size_t len = strlen(u);

		if (len > STORE_INDEX_UID_MAX || strspn(u, "0123456789.") != len)
			return arca_error_set(ARCA_EINVAL, "%s: '%.70s' is not a UID (PS3.5 9.1; no wildcards in UIDs)",
					      cond->key->keyword, u);
	}
	cond->kind = cond->n == 1 ? STORE_INDEX__EQUAL : STORE_INDEX__LIST;
	return cond->n == 0 ? arca_error_set(ARCA_EINVAL, "%s: empty list of UIDs", cond->key->keyword) : 0;
}

static int parse_range_parts(const char *value, char **lo, char **hi)
{
	const char *dash = strchr(value, '-');

	*lo = dup_n(value, (size_t)(dash - value));
	*hi = strdup(dash + 1);
	return *lo == NULL || *hi == NULL ? arca_error_set(ARCA_ENOMEM, "range: out of memory") : 0;
}

static int parse_date(struct store_index__cond *cond, const char *value)
{
	/* PS3.4 C.2.2.2.5 Range Matching: "D1-D2", "D1-", "-D2". */
	char *lo = NULL, *hi = NULL;
	int rc;

	if (strchr(value, '-') == NULL) {
		if (!store_index__is_date(value))
			return arca_error_set(ARCA_EINVAL, "%s: '%.40s' is not a date YYYYMMDD or a range (PS3.4 C.2.2.2.5)",
					      cond->key->keyword, value);
		cond->kind = STORE_INDEX__EQUAL;
		return set_single(cond, value);
	}
	if (strchr(value, '-') != strrchr(value, '-'))
		return arca_error_set(ARCA_EINVAL, "%s: '%.40s' has more than one '-'", cond->key->keyword, value);
	rc = parse_range_parts(value, &lo, &hi);
	if (rc == 0 && ((lo[0] == '\0' && hi[0] == '\0') || (lo[0] != '\0' && !store_index__is_date(lo)) ||
			(hi[0] != '\0' && !store_index__is_date(hi))))
		rc = arca_error_set(ARCA_EINVAL, "%s: '%.40s' is not a date range YYYYMMDD-YYYYMMDD (PS3.4 C.2.2.2.5)",
				    cond->key->keyword, value);
	if (rc < 0) {
		free(lo);
		free(hi);
		return rc;
	}
	cond->kind = STORE_INDEX__RANGE;
	if (lo[0] != '\0')
		cond->lo = lo;
	else
		free(lo);
	if (hi[0] != '\0')
		cond->hi = hi;
	else
		free(hi);
	return 0;
}

static int parse_time(struct store_index__cond *cond, const char *value)
{
	/* A single time stands for the interval it names ("1030" is 10:30:00
	 * to 10:30:59.999999), so every TM condition becomes a range of
	 * 12-digit bounds. */
	char lo[13], hi[13], *a = NULL, *b = NULL;
	int rc = 0;

	if (strchr(value, '-') == NULL) {
		rc = store_index__time_bound(value, false, lo);
		if (rc == 0)
			rc = store_index__time_bound(value, true, hi);
	} else if (strchr(value, '-') != strrchr(value, '-') || strcmp(value, "-") == 0) {
		rc = arca_error_set(ARCA_EINVAL, "%s: '%.40s' is not a time range (PS3.4 C.2.2.2.5)",
				    cond->key->keyword, value);
	} else {
		rc = parse_range_parts(value, &a, &b);
		lo[0] = hi[0] = '\0';
		if (rc == 0 && a[0] != '\0')
			rc = store_index__time_bound(a, false, lo);
		if (rc == 0 && b[0] != '\0')
			rc = store_index__time_bound(b, true, hi);
		free(a);
		free(b);
	}
	if (rc < 0)
		return arca_error_prefix(rc, "%s", cond->key->keyword);
	cond->kind = STORE_INDEX__RANGE;
	if (lo[0] != '\0' && (cond->lo = strdup(lo)) == NULL)
		return arca_error_set(ARCA_ENOMEM, "time range: out of memory");
	if (hi[0] != '\0' && (cond->hi = strdup(hi)) == NULL)
		return arca_error_set(ARCA_ENOMEM, "time range: out of memory");
	return 0;
}

static int parse_number(struct store_index__cond *cond, const char *value)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0')
		return arca_error_set(ARCA_EINVAL, "%s: '%.40s' is not an integer (IS)", cond->key->keyword, value);
	cond->number = v;
	cond->kind = STORE_INDEX__EQUAL;
	return set_single(cond, value);
}

static int parse_text(struct store_index__cond *cond, const char *value)
{
	/* PS3.4 C.2.2.2.1 single value, C.2.2.2.4 wildcards.  A backslash in a
	 * CS key (Modality "CT\MR") is taken as a list, as SCUs send it. */
	bool list = (cond->key->flags & STORE_INDEX__MULTI) && strchr(value, '\\') != NULL;
	int rc = list ? split_list(cond, value) : 0;

	if (rc < 0)
		return rc;
	if (list) {
		cond->kind = cond->n > 0 ? STORE_INDEX__LIST : STORE_INDEX__UNIVERSAL;
		return 0;
	}
	rc = set_single(cond, value);
	if (rc < 0)
		return rc;
	cond->kind = store_index__has_wildcard(value) ? STORE_INDEX__WILDCARD : STORE_INDEX__EQUAL;
	return 0;
}

/* PS3.4 C.2.2.2.6: one item of matching keys (store_index_priv.h form);
 * an item whose keys are all empty is universal matching. */
static int parse_code(struct store_index__cond *cond, const char *value)
{
	size_t fields = 1;
	bool any = false;

	for (const char *p = value; *p != '\0'; p++) {
		if (*p == STORE_INDEX__ITEM_SEP)
			return arca_error_set(ARCA_EINVAL, "%s: a matching key holds one item (PS3.4 C.2.2.2.6)",
					      cond->key->keyword);
		if (*p == STORE_INDEX__FIELD_SEP)
			fields++;
		else if (*p != '*')
			any = true;
	}
	if (fields > STORE_INDEX__CODE_FIELDS)
		return arca_error_set(ARCA_EINVAL, "%s: %zu item keys, at most %u", cond->key->keyword, fields,
				      STORE_INDEX__CODE_FIELDS);
	if (!any)
		return 0; /* universal: every entity matches, the items are returned */
	cond->kind = STORE_INDEX__EQUAL;
	return set_single(cond, value);
}

int store_index__cond_parse(struct store_index__cond *cond, const struct store_index__key *key,
			    const char *value)
{
	int rc;

	cond->key = key;
	cond->kind = STORE_INDEX__UNIVERSAL;
	if (value == NULL || value[0] == '\0' || strspn(value, "*") == strlen(value))
		return 0; /* C.2.2.2.3 universal; a value of only "*" is the same */
	if (strlen(value) > STORE_INDEX_VALUE_MAX)
		return arca_error_set(ARCA_ELIMIT, "%s: value of %zu bytes, at most %u",
				      key->keyword, strlen(value), STORE_INDEX_VALUE_MAX);
	switch ((store_index_match_kind)key->match) {
	case STORE_INDEX_MATCH_UID:
		rc = parse_uid_list(cond, value);
		break;
	case STORE_INDEX_MATCH_DATE:
		rc = parse_date(cond, value);
		break;
	case STORE_INDEX_MATCH_TIME:
		rc = parse_time(cond, value);
		break;
	case STORE_INDEX_MATCH_NUMBER:
		rc = parse_number(cond, value);
		break;
	case STORE_INDEX_MATCH_CODE_SEQ:
		rc = parse_code(cond, value);
		break;
	case STORE_INDEX_MATCH_TEXT:
	case STORE_INDEX_MATCH_PN:
	default:
		rc = parse_text(cond, value);
		break;
	}
	if (rc < 0)
		store_index__cond_clear(cond);
	return rc;
}

void store_index__cond_clear(struct store_index__cond *cond)
{
	const struct store_index__key *key = cond->key;

	for (size_t i = 0; i < cond->n; i++)
		free(cond->values[i]);
	free(cond->values);
	free(cond->lo);
	free(cond->hi);
	memset(cond, 0, sizeof(*cond));
	cond->key = key;
}

/* ---- person names ---- */

/* Simple upper-case mapping of one code point: the scripts person names
 * in DICOM are commonly written in with case (PS3.5 6.2 PN, Annex H-K). */
static uint32_t fold_cp(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 0x20;
	if (c < 0x80)
		return c;
	if ((c >= 0xE0 && c <= 0xFE && c != 0xF7))
		return c - 0x20; /* Latin-1 */
	if (c == 0xFF)
		return 0x178;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
		return c & ~1u; /* Latin Extended-A: upper even, lower odd */
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1u) ? c : c - 1; /* upper odd, lower even */
	if (c == 0x3C2)
		return 0x3A3; /* final sigma */
	if (c >= 0x3B1 && c <= 0x3C9)
		return c - 0x20; /* Greek */
	if (c >= 0x430 && c <= 0x44F)
		return c - 0x20; /* Cyrillic */
	if (c >= 0x450 && c <= 0x45F)
		return c - 0x50;
	if (c >= 0xFF41 && c <= 0xFF5A)
		return c - 0x20; /* full-width Latin */
	return c;
}

/* Decodes one UTF-8 sequence at s (n bytes left); *len its length.  An
 * invalid byte decodes as itself, length 1 (and is copied unchanged). */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
	uint32_t c = s[0];
	size_t need = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;

	*len = 1;
	if (c < 0x80 || need == 0 || need >= n)
		return c < 0x80 ? c : 0xFFFFFFFFu;
	c &= 0x3Fu >> need;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0xFFFFFFFFu;
		c = (c << 6) | (s[i] & 0x3Fu);
	}
	*len = need + 1;
	return c;
}

static size_t utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

int store_index__pn_fold(const char *pn, char **out)
{
	/* Every mapping in fold_cp keeps the UTF-8 length of the code point
	 * (U+00FF and U+0178 are both 2 bytes), so the result fits in n. */
	char *buf = malloc(strlen(pn) + 1);

	*out = NULL;
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "person name: out of memory");
	store_index__pn_fold_into(pn, buf);
	*out = buf;
	return 0;
}

void store_index__pn_fold_into(const char *pn, char *buf)
{
	const unsigned char *s = (const unsigned char *)pn;
	size_t n = strlen(pn), i = 0, o = 0, group_start = 0;

	while (i < n) {
		size_t len;
		uint32_t c = utf8_next(s + i, n - i, &len);

		if (c == 0xFFFFFFFFu) {
			buf[o++] = (char)s[i];
		} else if (c == '=') {
			/* PS3.5 6.2.1.1: trailing empty components of a group are
			 * not significant. */
			while (o > group_start && buf[o - 1] == '^')
				o--;
			buf[o++] = '=';
			group_start = o;
		} else {
			o += utf8_put(fold_cp(c), buf + o);
		}
		i += len;
	}
	while (o > group_start && buf[o - 1] == '^')
		o--;
	/* Trailing empty groups, then the last group's separators again. */
	while (o > 0 && (buf[o - 1] == '=' || buf[o - 1] == '^'))
		o--;
	buf[o] = '\0';
}

/* ---- component-wise person names (PS3.4 C.2.2.2.1, C.2.2.2.4) ---- */

/* Component c (0-4: family, given, middle, prefix, suffix) of component
 * group g (0-2: alphabetic, ideographic, phonetic) of a PN value (PS3.5
 * 6.2.1: groups separated by '=', components by '^'): *start and *len; an
 * absent component is empty. */
static void pn_component(const char *pn, int g, int c, const char **start, size_t *len)
{
	const char *p = pn;

	for (int i = 0; i < g; i++) {
		p = strchr(p, '=');
		if (p == NULL) {
			*start = "";
			*len = 0;
			return;
		}
		p++;
	}
	for (int i = 0; i < c; i++) {
		size_t n = strcspn(p, "^=");
		if (p[n] != '^') {
			*start = "";
			*len = 0;
			return;
		}
		p += n + 1;
	}
	*start = p;
	*len = strcspn(p, "^=");
}

/* One UTF-8 character's length at s (n > 0 bytes left); a byte that does
 * not start a valid sequence counts as one character. */
static size_t char_len(const char *s, size_t n)
{
	size_t len;

	(void)utf8_next((const unsigned char *)s, n, &len);
	return len;
}

/* PS3.4 C.2.2.2.4: '*' matches any sequence of characters (none
 * included), '?' exactly one character; every other character itself.
 * Greedy with one backtrack point (the last '*'), linear in practice. */
static bool wild_match(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star_p = ++pi;
			star_s = si;
		} else if (pi < pn && p[pi] == '?') {
			pi++;
			si += char_len(s + si, sn - si);
		} else if (pi < pn && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star_p != SIZE_MAX) {
			/* the last '*' takes one more character */
			star_s += char_len(s + star_s, sn - star_s);
			si = star_s;
			pi = star_p;
		} else {
			return false;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

bool store_index__pn_match(const char *pattern, const char *value)
{
	for (int g = 0; g < 3; g++)
		for (int c = 0; c < 5; c++) {
			const char *ps, *vs;
			size_t pl, vl;

			pn_component(pattern, g, c, &ps, &pl);
			/* an empty component of the query is universal for that
			 * component */
			if (pl == 0 || (pl == 1 && ps[0] == '*'))
				continue;
			pn_component(value, g, c, &vs, &vl);
			if (!wild_match(ps, pl, vs, vl))
				return false;
		}
	return true;
}

int store_index__pn_family_prefix(const char *pattern, char **out)
{
	const char *s;
	size_t n, lit;

	*out = NULL;
	pn_component(pattern, 0, 0, &s, &n);
	lit = strcspn(s, "*?^=");
	if (lit > n)
		lit = n;
	if (lit == 0)
		return 0;
	*out = dup_n(s, lit);
	return *out == NULL ? arca_error_set(ARCA_ENOMEM, "person name: out of memory") : 0;
}

/* ---- sequence matching of code items (PS3.4 C.2.2.2.6) ---- */

/* Field i of an item (fields separated by FIELD_SEP, the item ending at
 * ITEM_SEP or NUL): *start and *len, empty when absent. */
static void item_field(const char *item, int i, const char **start, size_t *len)
{
	const char *p = item;

	for (int k = 0; k < i; k++) {
		size_t n = strcspn(p, "\x1e\x1f");
		if (p[n] != STORE_INDEX__FIELD_SEP) {
			*start = "";
			*len = 0;
			return;
		}
		p += n + 1;
	}
	*start = p;
	*len = strcspn(p, "\x1e\x1f");
}

bool store_index__field_match(const char *pattern, size_t pn, const char *value, size_t vn)
{
	/* PS3.4 C.2.2.2.1 single value (case-sensitive for SH, LO, UC, UR),
	 * C.2.2.2.4 wildcards */
	return pn == 0 || (pn == 1 && pattern[0] == '*') || wild_match(pattern, pn, value, vn);
}

bool store_index__code_match(const char *pattern, const char *stored)
{
	const char *item = stored;

	while (item != NULL && *item != '\0') {
		bool all = true;

		for (int f = 0; f < STORE_INDEX__CODE_FIELDS && all; f++) {
			const char *ps, *vs;
			size_t pl, vl;

			item_field(pattern, f, &ps, &pl);
			item_field(item, f, &vs, &vl);
			all = store_index__field_match(ps, pl, vs, vl);
		}
		if (all)
			return true;
		item = strchr(item, STORE_INDEX__ITEM_SEP);
		if (item != NULL)
			item++;
	}
	return false;
}
