/* pacs_norm_validate.c - the checks of a rules file: required attributes,
 * allowed values and ranges, and the checks against the data dictionary
 * and PS3.5 Table 6.2-1 (VR format, value length, VM, UID syntax).
 * Checks never change the data set; they run after the normalisations, so
 * a value that was fixed is checked in its fixed form. */
#include "pacs_norm_priv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_uid.h"

/* ---------------------------------------------------------------- formats */

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static unsigned num(const char *s, size_t n)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* PS3.5 Table 6.2-1 DA: YYYYMMDD. */
static bool is_da(const char *v, size_t len)
{
	unsigned m, d;

	if (len != 8 || !digits(v, 8))
		return false;
	m = num(v + 4, 2);
	d = num(v + 6, 2);
	return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(num(v, 4), m);
}

/* HH[MM[SS[.F{1,6}]]] with HH 00-23, MM 00-59, SS 00-60 (leap second). */
static bool is_time(const char *v, size_t len)
{
	size_t i = 0;

	if (len < 2 || !digits(v, 2) || num(v, 2) > 23)
		return false;
	i = 2;
	if (i == len)
		return true;
	if (len - i < 2 || !digits(v + i, 2) || num(v + i, 2) > 59)
		return false;
	i += 2;
	if (i == len)
		return true;
	if (len - i < 2 || !digits(v + i, 2) || num(v + i, 2) > 60)
		return false;
	i += 2;
	if (i == len)
		return true;
	if (v[i] != '.' || len - i - 1 < 1 || len - i - 1 > 6 || !digits(v + i + 1, len - i - 1))
		return false;
	return true;
}

/* PS3.5 Table 6.2-1 DT: YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]. */
static bool is_dt(const char *v, size_t len)
{
	size_t n = len;

	if (len >= 5 && (v[len - 5] == '+' || v[len - 5] == '-')) {
		const char *z = v + len - 4;
		unsigned hh, mm;
		if (!digits(z, 4))
			return false;
		hh = num(z, 2);
		mm = num(z + 2, 2);
		if (mm > 59 || (v[len - 5] == '-' && hh * 100 + mm > 1200) ||
		    (v[len - 5] == '+' && hh * 100 + mm > 1400))
			return false;
		n = len - 5;
	}
	if (n < 4 || !digits(v, 4))
		return false;
	if (n == 4)
		return true;
	if (n < 6 || !digits(v + 4, 2) || num(v + 4, 2) < 1 || num(v + 4, 2) > 12)
		return false;
	if (n == 6)
		return true;
	if (n < 8 || !digits(v + 6, 2) || num(v + 6, 2) < 1 ||
	    num(v + 6, 2) > days_in_month(num(v, 4), num(v + 4, 2)))
		return false;
	if (n == 8)
		return true;
	return is_time(v + 8, n - 8);
}

/* PS3.5 Table 6.2-1 DS: a fixed point or floating point number. */
static bool is_ds(const char *v, size_t len)
{
	size_t i = 0, d = 0;

	if (i < len && (v[i] == '+' || v[i] == '-'))
		i++;
	while (i < len && v[i] >= '0' && v[i] <= '9')
		i++, d++;
	if (i < len && v[i] == '.') {
		i++;
		while (i < len && v[i] >= '0' && v[i] <= '9')
			i++, d++;
	}
	if (d == 0)
		return false;
	if (i < len && (v[i] == 'e' || v[i] == 'E')) {
		size_t e = 0;
		i++;
		if (i < len && (v[i] == '+' || v[i] == '-'))
			i++;
		while (i < len && v[i] >= '0' && v[i] <= '9')
			i++, e++;
		if (e == 0)
			return false;
	}
	return i == len;
}

/* PS3.5 Table 6.2-1 IS: -2^31 .. 2^31-1. */
static bool is_is(const char *v, size_t len)
{
	size_t i = 0;
	long long x = 0;
	bool neg = false;

	if (i < len && (v[i] == '+' || v[i] == '-'))
		neg = v[i++] == '-';
	if (i == len || len - i > 11 || !digits(v + i, len - i))
		return false;
	for (; i < len; i++)
		x = x * 10 + (v[i] - '0');
	return neg ? x <= 2147483648LL : x <= 2147483647LL;
}

const char *pacs_norm__vr_format(pacs_vr vr, const char *v, size_t len)
{
	switch (vr) {
	case PACS_VR_AE:
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7E)
				return "not an AE (printable ASCII)";
		return NULL;
	case PACS_VR_AS:
		if (len != 4 || !digits(v, 3) || strchr("DWMY", v[3]) == NULL || v[3] == '\0')
			return "not an AS (nnnD, nnnW, nnnM or nnnY)";
		return NULL;
	case PACS_VR_CS:
		/* uppercase letters, digits, space and underscore */
		for (size_t i = 0; i < len; i++) {
			char c = v[i];
			if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_'))
				return "not a CS (A-Z, 0-9, space, _)";
		}
		return NULL;
	case PACS_VR_DA:
		return is_da(v, len) ? NULL : "not a DA (YYYYMMDD)";
	case PACS_VR_DS:
		return is_ds(v, len) ? NULL : "not a DS (decimal number)";
	case PACS_VR_DT:
		return is_dt(v, len) ? NULL : "not a DT (YYYYMMDDHHMMSS.FFFFFF&ZZXX)";
	case PACS_VR_IS:
		return is_is(v, len) ? NULL : "not an IS (32-bit integer)";
	case PACS_VR_TM:
		return is_time(v, len) ? NULL : "not a TM (HHMMSS.FFFFFF)";
	case PACS_VR_UI:
		return pacs_uid_is_valid(v, len) ? NULL : "not a UID (PS3.5 9.1)";
	case PACS_VR_UR:
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] > 0x7E)
				return "not a UR (URI characters)";
		return NULL;
	default:
		return NULL;
	}
}

/* Width of one value of a binary VR, for the length check. */
static unsigned binary_unit(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_OW:
		return 2;
	case PACS_VR_OF: case PACS_VR_OL:
		return 4;
	case PACS_VR_OD: case PACS_VR_OV:
		return 8;
	default:
		return pacs_vr_value_size(vr);
	}
}

bool pacs_norm__elem_conforms(const pacs_elem *e)
{
	pacs_vr vr = pacs_elem_vr(e);
	uint32_t n;
	const uint8_t *v = pacs_elem_value(e, &n);

	if (v == NULL || pacs_vr_uses_charset(vr))
		return true;
	if (pacs_vr_is_string(vr)) {
		const char *text = (const char *)v;
		size_t count = pacs_norm__value_count(vr, text, n);
		/* PS3.5 Table 6.2-1: UIDs are padded with NUL, never space */
		if (vr == PACS_VR_UI && memchr(text, ' ', n) != NULL)
			return false;
		for (size_t i = 0; i < count; i++) {
			const char *s;
			size_t len;
			pacs_norm__value_at(vr, text, n, i, true, &s, &len);
			if (len > 0 && pacs_norm__vr_format(vr, s, len) != NULL)
				return false;
		}
		return true;
	}
	{
		unsigned unit = binary_unit(vr);
		return unit <= 1 || n % unit == 0;
	}
}

/* PS3.5 Table 6.2-1: the maximum length of one value, in characters for
 * the text VRs; 0 when unlimited. */
static size_t max_length(pacs_vr vr)
{
	switch (vr) {
	case PACS_VR_AE: return 16;
	case PACS_VR_AS: return 4;
	case PACS_VR_CS: return 16;
	case PACS_VR_DA: return 8;
	case PACS_VR_DS: return 16;
	case PACS_VR_DT: return 26;
	case PACS_VR_IS: return 12;
	case PACS_VR_LO: return 64;
	case PACS_VR_LT: return 10240;
	case PACS_VR_PN: return 64; /* per component group */
	case PACS_VR_SH: return 16;
	case PACS_VR_ST: return 1024;
	/* 14 in the current edition (16 in older ones); the longest valid
	 * value, HHMMSS.FFFFFF, has 13. */
	case PACS_VR_TM: return 14;
	case PACS_VR_UI: return 64;
	default: return 0;
	}
}

/* ---------------------------------------------------------------- per element */

struct check_set {
	const norm_rule *vr, *length, *vm, *uid;
};

static const char *kw(uint32_t tag)
{
	const char *k = pacs_dict_keyword(tag);
	return k[0] != '\0' ? k : "private or unknown";
}

/* PS3.6 VM: min, max (0 = n) and step (2-2n, 3-3n). */
static bool vm_ok(const pacs_dict_entry *d, size_t vm)
{
	return vm >= d->vm_min && (d->vm_max == 0 || vm <= d->vm_max) && (d->vm_step <= 1 || vm % d->vm_step == 0);
}

static void vm_text(const pacs_dict_entry *d, char *buf, size_t size)
{
	if (d->vm_max == d->vm_min)
		snprintf(buf, size, "%u", d->vm_min);
	else if (d->vm_max == 0 && d->vm_step > 1)
		snprintf(buf, size, "%u-%un", d->vm_min, d->vm_step);
	else if (d->vm_max == 0)
		snprintf(buf, size, "%u-n", d->vm_min);
	else
		snprintf(buf, size, "%u-%u", d->vm_min, d->vm_max);
}

/* The dictionary allows this VR (pseudo VRs stand for several). */
static bool vr_matches_dict(pacs_vr have, pacs_vr dict)
{
	switch (dict) {
	case PACS_VR_xs:
		return have == PACS_VR_US || have == PACS_VR_SS;
	case PACS_VR_ox:
	case PACS_VR_px:
		return have == PACS_VR_OB || have == PACS_VR_OW;
	case PACS_VR_lt:
		return have == PACS_VR_US || have == PACS_VR_SS || have == PACS_VR_OW;
	case PACS_VR_up:
		return have == PACS_VR_UL;
	case PACS_VR_na:
		return true;
	default:
		return have == dict;
	}
}

static int check_string_values(norm_ctx *c, const struct check_set *cs, pacs_ds *ds, const pacs_elem *e)
{
	pacs_vr vr = pacs_elem_vr(e);
	uint32_t tag = pacs_elem_tag(e);
	char *text = NULL;
	size_t len, count;
	bool identity;
	int rc;

	if (pacs_norm__text_get(ds, e, &text, &len, &identity) < 0) {
		arca_error_clear(); /* undecodable text is the charset check's finding */
		return 0;
	}
	count = pacs_norm__value_count(vr, text, len);
	for (size_t i = 0; i < count; i++) {
		const char *v;
		size_t n;
		const char *why;

		pacs_norm__value_at(vr, text, len, i, true, &v, &n);
		if (n == 0)
			continue;
		if (cs->uid != NULL && vr == PACS_VR_UI && !pacs_uid_is_valid(v, n)) {
			char reason[160];
			pacs_uid_check(v, n); /* for its message: what is wrong, where */
			snprintf(reason, sizeof(reason), "%s", arca_error_last());
			arca_error_clear();
			if ((rc = pacs_norm__hit(c, cs->uid, cs->uid->action, tag, v, n, NULL, 0, "bad UID",
						 "(%04X,%04X) %s value %zu: %s", PACS_TAG_GROUP(tag),
						 PACS_TAG_ELEMENT(tag), kw(tag), i + 1, reason)) < 0)
				goto out;
		}
		if (cs->vr != NULL && vr != PACS_VR_UI && !pacs_vr_uses_charset(vr) &&
		    (why = pacs_norm__vr_format(vr, v, n)) != NULL) {
			if ((rc = pacs_norm__hit(c, cs->vr, cs->vr->action, tag, v, n, NULL, 0, why,
						 "(%04X,%04X) %s value %zu is %s", PACS_TAG_GROUP(tag),
						 PACS_TAG_ELEMENT(tag), kw(tag), i + 1, why)) < 0)
				goto out;
		}
		if (cs->length != NULL && max_length(vr) > 0) {
			size_t limit = max_length(vr), longest = 0;
			if (vr == PACS_VR_PN) {
				/* PS3.5 6.2: 64 characters per component group */
				size_t a = 0;
				for (size_t k = 0; k <= n; k++) {
					if (k == n || v[k] == '=') {
						size_t chars = pacs_norm__utf8_chars(v + a, k - a);
						longest = chars > longest ? chars : longest;
						a = k + 1;
					}
				}
			} else {
				longest = pacs_vr_uses_charset(vr) ? pacs_norm__utf8_chars(v, n) : n;
			}
			if (longest > limit &&
			    (rc = pacs_norm__hit(c, cs->length, cs->length->action, tag, v, n, NULL, 0, "too long",
						 "(%04X,%04X) %s value %zu has %zu characters, more than the "
						 "%zu of VR %s", PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag),
						 kw(tag), i + 1, longest, limit, pacs_vr_name(vr))) < 0)
				goto out;
		}
	}
	if (cs->vm != NULL && !pacs_norm__vr_single(vr)) {
		const pacs_dict_entry *d = pacs_dict_lookup(tag);
		size_t vm = count;
		bool blank = true;

		/* PS3.5 6.4: empty values between delimiters count; a value
		 * that is only padding has VM 0. */
		for (size_t k = 0; k < len && blank; k++)
			blank = text[k] == ' ' || text[k] == '\0';
		if (blank)
			vm = 0;
		if (d != NULL && vm > 0 && !vm_ok(d, vm)) {
			char want[32];
			vm_text(d, want, sizeof(want));
			if ((rc = pacs_norm__hit(c, cs->vm, cs->vm->action, tag, text, len, NULL, 0, "bad VM",
						 "(%04X,%04X) %s has %zu values, the dictionary says VM %s",
						 PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), kw(tag), vm, want)) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(text);
	return rc;
}

static int visit_check(norm_ctx *c, pacs_ds *ds, const pacs_elem *e, void *arg)
{
	const struct check_set *cs = arg;
	pacs_vr vr = pacs_elem_vr(e);
	uint32_t tag = pacs_elem_tag(e);
	uint32_t n;
	const pacs_dict_entry *d = pacs_dict_lookup(tag);
	int rc;

	if (vr == PACS_VR_UN || (pacs_elem_flags(e) & (PACS_ELEM_BULK | PACS_ELEM_ENCAPSULATED)))
		return 0;
	if (cs->vr != NULL && d != NULL && !vr_matches_dict(vr, d->vr) &&
	    (rc = pacs_norm__hit(c, cs->vr, cs->vr->action, tag, NULL, 0, NULL, 0, "VR differs",
				 "(%04X,%04X) %s has VR %s, the dictionary says %s", PACS_TAG_GROUP(tag),
				 PACS_TAG_ELEMENT(tag), kw(tag), pacs_vr_name(vr), pacs_vr_name(d->vr))) < 0)
		return rc;
	if (pacs_elem_value(e, &n) == NULL)
		return 0;
	if (pacs_vr_is_string(vr))
		return check_string_values(c, cs, ds, e);
	if (cs->vr != NULL) {
		unsigned unit = binary_unit(vr);
		if (unit > 1 && n % unit != 0 &&
		    (rc = pacs_norm__hit(c, cs->vr, cs->vr->action, tag, NULL, 0, NULL, 0, "bad length",
					 "(%04X,%04X) %s: length %u is not a multiple of %u (VR %s)",
					 PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), kw(tag), n, unit,
					 pacs_vr_name(vr))) < 0)
			return rc;
	}
	if (cs->vm != NULL && d != NULL && pacs_vr_value_size(vr) > 0 && n > 0) {
		size_t vm = n / pacs_vr_value_size(vr);
		char want[32];
		vm_text(d, want, sizeof(want));
		if (!vm_ok(d, vm) &&
		    (rc = pacs_norm__hit(c, cs->vm, cs->vm->action, tag, NULL, 0, NULL, 0, "bad VM",
					 "(%04X,%04X) %s has %zu values, the dictionary says VM %s",
					 PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), kw(tag), vm, want)) < 0)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- top level */

static const char *const level_names[] = {"patient", "study", "series", "instance"};

/* PS3.5 7.4: a Type 1 attribute is present with a value that is valid
 * for its VR (a string with at least one non-empty value, a sequence with
 * an item); Type 2 is present, and when it has a value the value is valid.
 * Returns NULL when the element passes, else what is wrong. */
static const char *required_problem(const pacs_ds *ds, const pacs_elem *e, bool type2, char *bad, size_t size)
{
	pacs_vr vr = pacs_elem_vr(e);
	uint32_t n;
	const uint8_t *v;
	bool empty = true;

	bad[0] = '\0';
	if (pacs_elem_is_sequence(e))
		return pacs_elem_item_count(e) > 0 || type2 ? NULL : "empty";
	if (pacs_elem_flags(e) & (PACS_ELEM_BULK | PACS_ELEM_ENCAPSULATED))
		return NULL;
	v = pacs_elem_value(e, &n);
	if (v == NULL || n == 0)
		return type2 ? NULL : "empty";
	if (!pacs_vr_is_string(vr))
		return NULL;
	(void)ds;
	{
		const char *text = (const char *)v;
		size_t count = pacs_norm__value_count(vr, text, n);
		for (size_t i = 0; i < count; i++) {
			const char *s;
			size_t len;
			const char *why;
			pacs_norm__value_at(vr, text, n, i, true, &s, &len);
			if (len == 0)
				continue;
			empty = false;
			if (!pacs_vr_uses_charset(vr) && (why = pacs_norm__vr_format(vr, s, len)) != NULL) {
				pacs_norm__show(bad, size, s, len);
				return why;
			}
		}
	}
	return empty && !type2 ? "empty" : NULL;
}

static int check_required(norm_ctx *c, const norm_rule *r)
{
	const pacs_elem *e = pacs_ds_find(c->root, r->tag);
	const char *why;
	char bad[80];

	if (e == NULL)
		return pacs_norm__hit(c, r, r->action, r->tag, NULL, 0, NULL, 0, "missing",
				      "(%04X,%04X) %s is missing (required at %s level)", PACS_TAG_GROUP(r->tag),
				      PACS_TAG_ELEMENT(r->tag), kw(r->tag), level_names[r->level]);
	why = required_problem(c->root, e, r->type2, bad, sizeof(bad));
	if (why == NULL)
		return 0;
	if (bad[0] == '\0')
		return pacs_norm__hit(c, r, r->action, r->tag, NULL, 0, NULL, 0, why,
				      "(%04X,%04X) %s is %s (required with a value at %s level)",
				      PACS_TAG_GROUP(r->tag), PACS_TAG_ELEMENT(r->tag), kw(r->tag), why,
				      level_names[r->level]);
	return pacs_norm__hit(c, r, r->action, r->tag, bad, strlen(bad), NULL, 0, why,
			      "(%04X,%04X) %s '%s' is %s (required at %s level)", PACS_TAG_GROUP(r->tag),
			      PACS_TAG_ELEMENT(r->tag), kw(r->tag), bad, why, level_names[r->level]);
}

static bool in_list(const norm_rule *r, const char *v, size_t n)
{
	for (size_t i = 0; i < r->n_values; i++)
		if (strlen(r->values[i]) == n && memcmp(r->values[i], v, n) == 0)
			return true;
	for (size_t t = 0; t < r->n_tables; t++)
		for (size_t i = 0; i < r->tables[t]->count; i++)
			if (strlen(r->tables[t]->values[i]) == n && memcmp(r->tables[t]->values[i], v, n) == 0)
				return true;
	return false;
}

/* A value as a number: decimal text, or an Age String in years. */
static bool value_number(pacs_vr vr, const char *v, size_t n, double *out)
{
	char buf[64];
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (vr == PACS_VR_AS && pacs_norm__vr_format(vr, v, n) == NULL) {
		static const struct {
			char unit;
			double per_year;
		} units[] = {{'D', 365.25}, {'W', 365.25 / 7}, {'M', 12}, {'Y', 1}};
		double x = (double)((v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0'));
		for (size_t i = 0; i < 4; i++)
			if (v[3] == units[i].unit)
				*out = x / units[i].per_year;
		return true;
	}
	errno = 0;
	*out = strtod(buf, &end);
	while (*end == ' ')
		end++;
	return end != buf && *end == '\0' && errno == 0 && isfinite(*out);
}

static int check_values(norm_ctx *c, const norm_rule *r)
{
	const pacs_elem *e = pacs_ds_find(c->root, r->tag);
	uint32_t tag = r->tag;
	char *text = NULL;
	size_t len, count;
	bool identity;
	int rc = 0;

	if (e == NULL || pacs_elem_is_sequence(e) || pacs_elem_value(e, &(uint32_t){0}) == NULL)
		return 0;
	if (!pacs_vr_is_string(pacs_elem_vr(e))) {
		/* binary numbers: range only */
		uint32_t n;
		unsigned size = pacs_vr_value_size(pacs_elem_vr(e));
		pacs_elem_value(e, &n);
		if (r->kind != NORM_K_RANGE || size == 0 || pacs_elem_vr(e) == PACS_VR_AT)
			return 0;
		for (uint32_t i = 0; i < n / size; i++) {
			double x;
			if (pacs_elem_double(e, i, &x) < 0) {
				arca_error_clear();
				continue;
			}
			if ((x < r->min || x > r->max) &&
			    (rc = pacs_norm__hit(c, r, r->action, tag, NULL, 0, NULL, 0, "out of range",
						 "(%04X,%04X) %s value %u = %g is outside %g..%g",
						 PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), kw(tag), i + 1, x, r->min,
						 r->max)) < 0)
				return rc;
		}
		return 0;
	}
	if (pacs_norm__text_get(c->root, e, &text, &len, &identity) < 0) {
		arca_error_clear();
		return 0;
	}
	count = pacs_norm__value_count(pacs_elem_vr(e), text, len);
	for (size_t i = 0; i < count && rc == 0; i++) {
		const char *v;
		size_t n;
		double x = 0;

		pacs_norm__value_at(pacs_elem_vr(e), text, len, i, true, &v, &n);
		if (n == 0)
			continue;
		if (r->kind == NORM_K_IN && !in_list(r, v, n)) {
			char shown[80];
			pacs_norm__show(shown, sizeof(shown), v, n);
			rc = pacs_norm__hit(c, r, r->action, tag, v, n, NULL, 0, "not allowed",
					    "(%04X,%04X) %s value '%s' is not one of the allowed values",
					    PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag), kw(tag), shown);
		} else if (r->kind == NORM_K_RANGE) {
			char shown[80];
			pacs_norm__show(shown, sizeof(shown), v, n);
			if (!value_number(pacs_elem_vr(e), v, n, &x))
				rc = pacs_norm__hit(c, r, r->action, tag, v, n, NULL, 0, "not a number",
						    "(%04X,%04X) %s value '%s' is not a number", PACS_TAG_GROUP(tag),
						    PACS_TAG_ELEMENT(tag), kw(tag), shown);
			else if (x < r->min || x > r->max)
				rc = pacs_norm__hit(c, r, r->action, tag, v, n, NULL, 0, "out of range",
						    "(%04X,%04X) %s value '%s' is outside %g..%g", PACS_TAG_GROUP(tag),
						    PACS_TAG_ELEMENT(tag), kw(tag), shown, r->min, r->max);
		}
	}
	free(text);
	return rc;
}

int pacs_norm__validate(norm_ctx *c)
{
	const pacs_norm_rules *rs = c->rules;
	struct check_set cs = {0};
	int rc;

	for (size_t i = 0; i < rs->n; i++) {
		const norm_rule *r = &rs->rules[i];
		if (r->action == PACS_NORM_IGNORE)
			continue;
		switch (r->kind) {
		case NORM_K_REQUIRED:
			rc = check_required(c, r);
			break;
		case NORM_K_IN:
		case NORM_K_RANGE:
			rc = check_values(c, r);
			break;
		case NORM_K_CHECK_VR:
			cs.vr = r;
			rc = 0;
			break;
		case NORM_K_CHECK_LENGTH:
			cs.length = r;
			rc = 0;
			break;
		case NORM_K_CHECK_VM:
			cs.vm = r;
			rc = 0;
			break;
		case NORM_K_CHECK_UID:
			cs.uid = r;
			rc = 0;
			break;
		default:
			rc = 0;
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (cs.vr == NULL && cs.length == NULL && cs.vm == NULL && cs.uid == NULL)
		return 0;
	return pacs_norm__walk(c, c->root, 0, visit_check, &cs);
}
