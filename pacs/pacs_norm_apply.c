/* pacs_norm_apply.c - the normalisations of values:
 *
 *   padding      values padded to even length with the VR's byte (PS3.5
 *                6.2, 7.1.1): a UID padded with NUL not space, text with
 *                space not NUL, an odd length padded; with "trim", the
 *                insignificant trailing spaces of each value removed too
 *                ("CT  " -> "CT")
 *   date-time    DA, TM, DT to their PS3.5 Table 6.2-1 form: ACR-NEMA and
 *                ISO 8601 spellings "2026.11.28", "2026-11-28" ->
 *                "20261128", "10:15:00" -> "101500",
 *                "2026-11-28T10:15:00+01:00" -> "20261128101500+0100"
 *   cs-upper     CS values in upper case ("mr" -> "MR")
 *   person-name  PN in component form (PS3.5 6.2.1): with "comma",
 *                "DOE, JOHN" -> "DOE^JOHN"; with "trim", trailing empty
 *                components and groups dropped ("DOE^JOHN^^^" -> "DOE^JOHN")
 *
 * at every level of the data set, and at the top level the local-term
 * maps, Patient's Sex and the code tables.  A value is rewritten only when
 * a fix rule changed its text; warn and refuse rules only report.  The
 * original goes to the record first (pacs_norm__replace). */
#include "pacs_norm_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_tags.h"

typedef void (*value_fn)(const norm_rule *r, pacs_vr vr, const char *v, size_t n, norm_str *out);

/* ---------------------------------------------------------------- value forms */

static bool valid(pacs_vr vr, const char *v, size_t n)
{
	return pacs_norm__vr_format(vr, v, n) == NULL;
}

static void only_digits_of(const char *v, size_t n, const char *seps, norm_str *out)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(seps, v[i]) == NULL || v[i] == '\0')
			pacs_norm__str_addc(out, v[i]);
}

/* PS3.5 Table 6.2-1 DA/TM/DT from the spellings modalities and old
 * ACR-NEMA systems send.  A value that does not become valid is left as
 * it is (the vr check reports it). */
static void fix_datetime(const norm_rule *r, pacs_vr vr, const char *v, size_t n, norm_str *out)
{
	norm_str t;
	size_t a = 0, b = n;

	(void)r;
	while (a < b && v[a] == ' ')
		a++;
	while (b > a && v[b - 1] == ' ')
		b--;
	if (valid(vr, v + a, b - a) || b == a) {
		pacs_norm__str_add(out, v, n);
		return;
	}
	pacs_norm__str_init(&t);
	if (vr == PACS_VR_DA) {
		/* YYYY.MM.DD (ACR-NEMA), YYYY-MM-DD, YYYY/MM/DD */
		if (b - a == 10 && v[a + 4] == v[a + 7] && strchr(".-/", v[a + 4]) != NULL)
			only_digits_of(v + a, b - a, ".-/", &t);
	} else if (vr == PACS_VR_TM) {
		/* HH:MM[:SS[.F]] (ACR-NEMA); a decimal comma */
		for (size_t i = a; i < b; i++)
			if (v[i] != ':')
				pacs_norm__str_addc(&t, v[i] == ',' ? '.' : v[i]);
	} else {
		/* YYYY-MM-DD[T ]HH:MM:SS[.F][Z|+HH:MM] */
		size_t i = a;
		for (; i < b; i++) {
			char ch = v[i];
			bool in_time = t.len >= 8;
			if (ch == '-' && !in_time)
				continue;
			if (ch == '.' && t.len < 8)
				continue;
			if ((ch == 'T' || ch == ' ') && t.len == 8)
				continue;
			if (ch == ':' && t.len < 14)
				continue;
			if (ch == 'Z' && i + 1 == b) {
				pacs_norm__str_add(&t, "+0000", 5);
				continue;
			}
			if ((ch == '+' || ch == '-') && in_time) {
				/* offset: +HH:MM or +HHMM */
				pacs_norm__str_addc(&t, ch);
				for (i++; i < b; i++)
					if (v[i] != ':')
						pacs_norm__str_addc(&t, v[i]);
				break;
			}
			pacs_norm__str_addc(&t, ch == ',' ? '.' : ch);
		}
	}
	if (!t.failed && t.len > 0 && valid(vr, t.s, t.len))
		pacs_norm__str_add(out, t.s, t.len);
	else
		pacs_norm__str_add(out, v, n);
	pacs_norm__str_free(&t);
}

static void fix_upper(const norm_rule *r, pacs_vr vr, const char *v, size_t n, norm_str *out)
{
	(void)r;
	(void)vr;
	for (size_t i = 0; i < n; i++)
		pacs_norm__str_addc(out, (v[i] >= 'a' && v[i] <= 'z') ? (char)(v[i] - 'a' + 'A') : v[i]);
}

static void trim_span(const char **v, size_t *n)
{
	while (*n > 0 && ((*v)[0] == ' ' || (*v)[0] == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n > 0 && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

/* PS3.5 6.2.1.1: five components separated by '^', up to three groups
 * separated by '='; trailing empty components and groups may be left out,
 * and arca leaves them out. */
static void fix_person_name(const norm_rule *r, pacs_vr vr, const char *v, size_t n, norm_str *out)
{
	norm_str t;
	size_t end;

	(void)vr;
	pacs_norm__str_init(&t);
	if (r->pn_comma && memchr(v, '^', n) == NULL && memchr(v, '=', n) == NULL) {
		const char *comma = memchr(v, ',', n);
		if (comma != NULL && memchr(comma + 1, ',', n - (size_t)(comma - v) - 1) == NULL) {
			const char *fam = v, *giv = comma + 1;
			size_t nf = (size_t)(comma - v), ng = n - nf - 1;
			trim_span(&fam, &nf);
			trim_span(&giv, &ng);
			pacs_norm__str_add(&t, fam, nf);
			pacs_norm__str_addc(&t, '^');
			pacs_norm__str_add(&t, giv, ng);
		}
	}
	if (t.len == 0 && !t.failed)
		pacs_norm__str_add(&t, v, n);
	if (t.failed || !r->trim) {
		if (t.failed)
			pacs_norm__str_add(out, v, n);
		else
			pacs_norm__str_add(out, t.s, t.len);
		pacs_norm__str_free(&t);
		return;
	}
	/* trim: each group without trailing '^', then no trailing empty groups */
	{
		norm_str u;
		size_t start = 0;
		pacs_norm__str_init(&u);
		for (size_t i = 0; i <= t.len; i++) {
			size_t e;
			if (i < t.len && t.s[i] != '=')
				continue;
			e = i;
			while (e > start && t.s[e - 1] == '^')
				e--;
			if (start > 0)
				pacs_norm__str_addc(&u, '=');
			pacs_norm__str_add(&u, &t.s[start], e - start);
			start = i + 1;
		}
		end = u.len;
		while (end > 0 && u.s[end - 1] == '=')
			end--;
		if (!u.failed)
			pacs_norm__str_add(out, u.s != NULL ? u.s : "", end);
		else
			pacs_norm__str_add(out, v, n);
		pacs_norm__str_free(&u);
	}
	pacs_norm__str_free(&t);
}

/* ---------------------------------------------------------------- steps */

/* Joins the values of text (trailing padding of each removed). */
static void canonical(pacs_vr vr, const char *text, size_t len, norm_str *out)
{
	size_t count = pacs_norm__value_count(vr, text, len);

	for (size_t i = 0; i < count; i++) {
		const char *v;
		size_t n;
		pacs_norm__value_at(vr, text, len, i, false, &v, &n);
		if (i > 0)
			pacs_norm__str_addc(out, '\\');
		pacs_norm__str_add(out, v, n);
	}
	/* an all-empty multi-value ("\\") stays what it was, less padding */
}

struct value_state {
	pacs_ds *ds;
	const pacs_elem *e;
	uint32_t tag;
	pacs_vr vr;
	char *text; /* current text */
	size_t len;
	bool changed;
};

static int apply_step(norm_ctx *c, const norm_rule *r, struct value_state *s, value_fn fn, const char *what)
{
	norm_str before, after;
	size_t count = pacs_norm__value_count(s->vr, s->text, s->len);
	int rc = 0;

	pacs_norm__str_init(&before);
	pacs_norm__str_init(&after);
	canonical(s->vr, s->text, s->len, &before);
	for (size_t i = 0; i < count; i++) {
		const char *v;
		size_t n;
		pacs_norm__value_at(s->vr, s->text, s->len, i, false, &v, &n);
		if (i > 0)
			pacs_norm__str_addc(&after, '\\');
		fn(r, s->vr, v, n, &after);
	}
	if (before.failed || after.failed) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory normalising a value");
	} else if (before.len != after.len || (before.len > 0 && memcmp(before.s, after.s, before.len) != 0)) {
		const char *kw = pacs_dict_keyword(s->tag);
		rc = pacs_norm__hit(c, r, r->action, s->tag, before.s, before.len, after.s, after.len, what,
				    "(%04X,%04X) %s: %s", PACS_TAG_GROUP(s->tag), PACS_TAG_ELEMENT(s->tag), kw, what);
		if (rc == 0 && r->action == PACS_NORM_FIX) {
			free(s->text);
			s->text = after.s;
			s->len = after.len;
			after.s = NULL;
			s->changed = true;
		}
	}
	pacs_norm__str_free(&before);
	pacs_norm__str_free(&after);
	return rc;
}

/* Without trim: only what does not conform goes.  Trailing NULs of a text
 * value (its pad byte is space), trailing spaces of a UID (its pad byte is
 * NUL); the encoder then pads an odd length with the right byte. */
static void conforming_padding(pacs_vr vr, const char *text, size_t len, norm_str *out)
{
	size_t n = len;

	while (n > 0 && (text[n - 1] == '\0' || (vr == PACS_VR_UI && text[n - 1] == ' ')))
		n--;
	pacs_norm__str_add(out, text, n);
}

/* The padding step compares bytes: the canonical bytes (padded once to
 * even length) against the bytes received. */
static int padding_step(norm_ctx *c, const norm_rule *r, struct value_state *s, bool identity)
{
	norm_str canon;
	uint32_t rawlen;
	const uint8_t *raw = pacs_elem_value(s->e, &rawlen);
	bool differs;
	int rc = 0;

	pacs_norm__str_init(&canon);
	if (r->trim)
		canonical(s->vr, s->text, s->len, &canon);
	else
		conforming_padding(s->vr, s->text, s->len, &canon);
	if (canon.failed) {
		pacs_norm__str_free(&canon);
		return arca_error_set(ARCA_ENOMEM, "out of memory normalising a value");
	}
	if (identity) {
		size_t want = canon.len + canon.len % 2;
		differs = want != rawlen || (canon.len > 0 && memcmp(canon.s, raw, canon.len) != 0) ||
			  (canon.len % 2 != 0 && raw[canon.len] != pacs_vr_pad_byte(s->vr));
	} else if (r->trim) {
		size_t n = s->len;
		while (n > 0 && (s->text[n - 1] == ' ' || s->text[n - 1] == '\0'))
			n--;
		differs = n != canon.len || (n > 0 && memcmp(s->text, canon.s, n) != 0);
	} else {
		differs = s->len != canon.len;
	}
	if (differs) {
		const char *kw = pacs_dict_keyword(s->tag);
		rc = pacs_norm__hit(c, r, r->action, s->tag, (const char *)raw, rawlen, canon.s ? canon.s : "",
				    canon.len, "padding", "(%04X,%04X) %s: padding not canonical",
				    PACS_TAG_GROUP(s->tag), PACS_TAG_ELEMENT(s->tag), kw);
		if (rc == 0 && r->action == PACS_NORM_FIX) {
			free(s->text);
			s->text = canon.s != NULL ? canon.s : strdup("");
			s->len = canon.len;
			canon.s = NULL;
			s->changed = true;
			if (s->text == NULL)
				rc = arca_error_set(ARCA_ENOMEM, "out of memory");
		}
	}
	pacs_norm__str_free(&canon);
	return rc;
}

struct value_rules {
	const norm_rule *padding, *datetime, *upper, *pn;
};

static const norm_rule *active(const norm_rule *r)
{
	return r != NULL && r->action != PACS_NORM_IGNORE ? r : NULL;
}

static int visit_values(norm_ctx *c, pacs_ds *ds, const pacs_elem *e, void *arg)
{
	const struct value_rules *vr_rules = arg;
	struct value_state s = {ds, e, pacs_elem_tag(e), pacs_elem_vr(e), NULL, 0, false};
	bool identity, dt, cs, pn;
	uint32_t n;
	int rc;

	if (!pacs_vr_is_string(s.vr) || pacs_elem_value(e, &n) == NULL)
		return 0;
	dt = vr_rules->datetime != NULL && (s.vr == PACS_VR_DA || s.vr == PACS_VR_TM || s.vr == PACS_VR_DT);
	cs = vr_rules->upper != NULL && s.vr == PACS_VR_CS;
	pn = vr_rules->pn != NULL && s.vr == PACS_VR_PN;
	if (vr_rules->padding == NULL && !dt && !cs && !pn)
		return 0;
	if (pacs_norm__text_get(ds, e, &s.text, &s.len, &identity) < 0) {
		arca_error_clear(); /* the charset check reports undecodable text */
		return 0;
	}
	rc = 0;
	if (vr_rules->padding != NULL)
		rc = padding_step(c, vr_rules->padding, &s, identity);
	if (rc == 0 && dt)
		rc = apply_step(c, vr_rules->datetime, &s, fix_datetime, "date/time form");
	if (rc == 0 && cs)
		rc = apply_step(c, vr_rules->upper, &s, fix_upper, "CS in lower case");
	if (rc == 0 && pn)
		rc = apply_step(c, vr_rules->pn, &s, fix_person_name, "person name form");
	if (rc == 0 && s.changed) {
		uint8_t *bytes = NULL;
		size_t len;
		rc = pacs_norm__text_encode(ds, s.vr, identity, s.text, s.len, &bytes, &len);
		if (rc == 0)
			rc = pacs_norm__replace(c, ds, s.tag, s.vr, bytes, len);
		free(bytes);
	}
	free(s.text);
	return rc;
}

int pacs_norm__normalise_values(norm_ctx *c)
{
	struct value_rules vr = {
		active(pacs_norm__rule_of(c->rules, NORM_K_PADDING)),
		active(pacs_norm__rule_of(c->rules, NORM_K_DATE_TIME)),
		active(pacs_norm__rule_of(c->rules, NORM_K_CS_UPPER)),
		active(pacs_norm__rule_of(c->rules, NORM_K_PERSON_NAME)),
	};

	if (vr.padding == NULL && vr.datetime == NULL && vr.upper == NULL && vr.pn == NULL)
		return 0;
	c->path.depth = 0;
	return pacs_norm__walk(c, c->root, 0, visit_values, &vr);
}

/* ---------------------------------------------------------------- top level */

/* Text to store under the root's character set: as is when it is ASCII or
 * the data set is UTF-8, else encoded. */
static int encode_for_root(const pacs_ds *root, pacs_vr vr, const char *utf8, size_t len, uint8_t **out,
			   size_t *out_len)
{
	bool ascii = true;
	const uint8_t *csv;
	uint32_t cslen;

	for (size_t i = 0; i < len; i++)
		ascii = ascii && (unsigned char)utf8[i] < 0x80;
	csv = pacs_ds_charset(root, &cslen);
	while (csv != NULL && cslen > 0 && (csv[cslen - 1] == ' ' || csv[cslen - 1] == '\0'))
		cslen--;
	if (ascii || (csv != NULL && cslen == 10 && memcmp(csv, "ISO_IR 192", 10) == 0))
		return pacs_norm__text_encode(root, vr, true, utf8, len, out, out_len);
	return pacs_norm__text_encode(root, vr, false, utf8, len, out, out_len);
}

static const norm_entry *lookup(const norm_rule *r, const char *v, size_t n)
{
	for (size_t i = 0; i < r->n_entries; i++)
		if (strlen(r->entries[i].from) == n && strncasecmp(r->entries[i].from, v, n) == 0)
			return &r->entries[i];
	return NULL;
}

/* [map KEYWORD]: each value that is a local term becomes the standard one. */
static int apply_map(norm_ctx *c, const norm_rule *r)
{
	const pacs_elem *e = pacs_ds_find(c->root, r->tag);
	norm_str before, after;
	char *text = NULL;
	size_t len, count;
	bool identity, mapped = false;
	pacs_vr vr;
	int rc = 0;

	if (e == NULL || !pacs_vr_is_string(pacs_elem_vr(e)) || pacs_elem_value(e, &(uint32_t){0}) == NULL)
		return 0;
	vr = pacs_elem_vr(e);
	if (pacs_norm__text_get(c->root, e, &text, &len, &identity) < 0) {
		arca_error_clear();
		return 0;
	}
	pacs_norm__str_init(&before);
	pacs_norm__str_init(&after);
	count = pacs_norm__value_count(vr, text, len);
	for (size_t i = 0; i < count; i++) {
		const char *v;
		size_t n;
		const norm_entry *m;
		pacs_norm__value_at(vr, text, len, i, true, &v, &n);
		if (i > 0) {
			pacs_norm__str_addc(&before, '\\');
			pacs_norm__str_addc(&after, '\\');
		}
		pacs_norm__str_add(&before, v, n);
		m = n > 0 ? lookup(r, v, n) : NULL;
		if (m != NULL && !(strlen(m->to) == n && memcmp(m->to, v, n) == 0)) {
			pacs_norm__str_add(&after, m->to, strlen(m->to));
			mapped = true;
		} else {
			pacs_norm__str_add(&after, v, n);
		}
	}
	if (before.failed || after.failed) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory mapping a value");
	} else if (mapped) {
		rc = pacs_norm__hit(c, r, r->action, r->tag, before.s, before.len, after.s, after.len, "local term",
				    "(%04X,%04X) %s: local term mapped to the standard one",
				    PACS_TAG_GROUP(r->tag), PACS_TAG_ELEMENT(r->tag), pacs_dict_keyword(r->tag));
		if (rc == 0 && r->action == PACS_NORM_FIX) {
			uint8_t *bytes = NULL;
			size_t n;
			rc = pacs_norm__text_encode(c->root, vr, identity, after.s, after.len, &bytes, &n);
			if (rc == 0)
				rc = pacs_norm__replace(c, c->root, r->tag, vr, bytes, n);
			free(bytes);
		}
	}
	pacs_norm__str_free(&before);
	pacs_norm__str_free(&after);
	free(text);
	return rc;
}

/* Patient's Sex (0010,0040) to M, F, O or empty (PS3.3 C.7.1.1). */
static int apply_sex(norm_ctx *c, const norm_rule *r)
{
	const pacs_elem *e = pacs_ds_find(c->root, r->tag);
	const char *v, *to;
	size_t n;
	pacs_norm_action act;
	char *text = NULL;
	size_t len;
	bool identity;
	int rc = 0;

	if (e == NULL || pacs_elem_is_sequence(e) || !pacs_vr_is_string(pacs_elem_vr(e)) ||
	    pacs_elem_value(e, &(uint32_t){0}) == NULL)
		return 0;
	if (pacs_norm__text_get(c->root, e, &text, &len, &identity) < 0) {
		arca_error_clear();
		return 0;
	}
	v = text;
	n = len;
	trim_span(&v, &n);
	while (n > 0 && v[n - 1] == '\0')
		n--;
	if (n == 0)
		goto out;
	to = pacs_norm__sex_synonym(v, n);
	act = r->action;
	if (to == NULL) {
		/* not a known spelling */
		act = r->sex_unknown;
		if (act == PACS_NORM_FIX && r->action != PACS_NORM_FIX)
			act = r->action; /* a rule that does not fix does not fix unknowns either */
		to = r->sex_unknown_to;
		if (act == PACS_NORM_IGNORE)
			goto out;
		if (act != PACS_NORM_FIX) {
			rc = pacs_norm__hit(c, r, act, r->tag, v, n, NULL, 0, "unknown sex",
					    "(0010,0040) PatientSex '%.*s' is not M, F or O", (int)(n > 40 ? 40 : n), v);
			goto out;
		}
	} else if (strlen(to) == n && memcmp(to, v, n) == 0) {
		goto out; /* already standard (padding is the padding rule's) */
	}
	rc = pacs_norm__hit(c, r, act, r->tag, v, n, to, strlen(to), "sex spelling",
			    "(0010,0040) PatientSex: '%.*s' -> '%s'", (int)(n > 40 ? 40 : n), v, to);
	if (rc == 0 && act == PACS_NORM_FIX) {
		uint8_t *bytes = NULL;
		size_t blen;
		rc = pacs_norm__text_encode(c->root, PACS_VR_CS, true, to, strlen(to), &bytes, &blen);
		if (rc == 0)
			rc = pacs_norm__replace(c, c->root, r->tag, pacs_elem_vr(e), bytes, blen);
		free(bytes);
	}
out:
	free(text);
	return rc;
}

/* Fills the code sequence r->target with one item for m: all three
 * values are encoded first, so that nothing changes if one cannot be
 * (then a warning is added and 1 returned). */
static int add_code(norm_ctx *c, const norm_rule *r, const norm_entry *m)
{
	static const struct {
		uint32_t tag;
		pacs_vr vr;
	} fields[3] = {
		{PACS_TAG_CodeValue, PACS_VR_SH},
		{PACS_TAG_CodingSchemeDesignator, PACS_VR_SH},
		{PACS_TAG_CodeMeaning, PACS_VR_LO},
	};
	const char *text[3] = {m->to, m->scheme, m->meaning};
	uint8_t *bytes[3] = {NULL, NULL, NULL};
	size_t len[3];
	pacs_ds *item;
	int rc = 0;

	for (unsigned i = 0; i < 3 && rc == 0; i++)
		rc = encode_for_root(c->root, fields[i].vr, text[i], strlen(text[i]), &bytes[i], &len[i]);
	if (rc == ARCA_ECHARSET) {
		/* the term has characters the data set's set lacks */
		arca_error_clear();
		rc = pacs_norm__hit(c, r, PACS_NORM_WARN, r->target, NULL, 0, NULL, 0, "code not encodable",
				    "code for '%s' cannot be written in the data set's character set", m->from);
		if (rc == 0)
			rc = 1; /* nothing added */
		goto out;
	}
	if (rc < 0)
		goto out;
	if ((rc = pacs_norm__record(c->rec, c->root, r->target)) < 0 ||
	    (rc = pacs_ds_set_sequence(c->root, r->target, NULL)) < 0 ||
	    (rc = pacs_ds_add_item(c->root, r->target, &item)) < 0)
		goto out;
	for (unsigned i = 0; i < 3 && rc == 0; i++)
		rc = pacs_ds_set(item, fields[i].tag, fields[i].vr, bytes[i], (uint32_t)len[i]);
	c->changed = true;
out:
	for (unsigned i = 0; i < 3; i++)
		free(bytes[i]);
	return rc;
}

/* [code SOURCE TARGET]: a local term in SOURCE gives the code to put in
 * the empty or absent TARGET sequence (PS3.3 8.8, Table 8.8-1: Code Value,
 * Coding Scheme Designator, Code Meaning). */
static int apply_code(norm_ctx *c, const norm_rule *r)
{
	const pacs_elem *src = pacs_ds_find(c->root, r->tag);
	const pacs_elem *dst = pacs_ds_find(c->root, r->target);
	const norm_entry *m = NULL;
	char *text = NULL;
	size_t len, count;
	bool identity;
	int rc = 0;

	if (src == NULL || !pacs_vr_is_string(pacs_elem_vr(src)) || pacs_elem_value(src, &(uint32_t){0}) == NULL)
		return 0;
	if (dst != NULL && (!pacs_elem_is_sequence(dst) || pacs_elem_item_count(dst) > 0))
		return 0; /* the sender's own codes stay */
	if (pacs_norm__text_get(c->root, src, &text, &len, &identity) < 0) {
		arca_error_clear();
		return 0;
	}
	count = pacs_norm__value_count(pacs_elem_vr(src), text, len);
	for (size_t i = 0; i < count && m == NULL; i++) {
		const char *v;
		size_t n;
		pacs_norm__value_at(pacs_elem_vr(src), text, len, i, true, &v, &n);
		if (n > 0)
			m = lookup(r, v, n);
	}
	if (m != NULL) {
		char shown[160];
		snprintf(shown, sizeof(shown), "(%s, %s, \"%s\")", m->to, m->scheme, m->meaning);
		if (r->action == PACS_NORM_FIX && (rc = add_code(c, r, m)) != 0) {
			free(text);
			return rc < 0 ? rc : 0;
		}
		rc = pacs_norm__hit(c, r, r->action, r->target, NULL, 0, shown, strlen(shown), "code added",
				    "(%04X,%04X) %s from %s '%s'", PACS_TAG_GROUP(r->target),
				    PACS_TAG_ELEMENT(r->target), pacs_dict_keyword(r->target),
				    pacs_dict_keyword(r->tag), m->from);
	}
	free(text);
	return rc;
}

int pacs_norm__maps(norm_ctx *c)
{
	int rc = 0;

	c->path.depth = 0;
	for (size_t i = 0; i < c->rules->n && rc == 0; i++) {
		const norm_rule *r = &c->rules->rules[i];
		if (r->action == PACS_NORM_IGNORE)
			continue;
		if (r->kind == NORM_K_MAP)
			rc = apply_map(c, r);
	}
	for (size_t i = 0; i < c->rules->n && rc == 0; i++) {
		const norm_rule *r = &c->rules->rules[i];
		if (r->action != PACS_NORM_IGNORE && r->kind == NORM_K_PATIENT_SEX)
			rc = apply_sex(c, r);
	}
	for (size_t i = 0; i < c->rules->n && rc == 0; i++) {
		const norm_rule *r = &c->rules->rules[i];
		if (r->action != PACS_NORM_IGNORE && r->kind == NORM_K_CODE)
			rc = apply_code(c, r);
	}
	return rc;
}
