/* pacs_norm_charset.c - Specific Character Set (0008,0005) to ISO_IR 192.
 *
 * Every value of a VR that uses the character set (PS3.5 6.1.2.3: SH LO
 * ST LT PN UC UT), in the data set and in every item (private elements
 * included: their text follows the same (0008,0005)), is decoded under
 * the character set in force where it is (the item's own (0008,0005),
 * else its parents', PS3.5 7.5.3) and re-encoded as UTF-8; then
 * (0008,0005) becomes "ISO_IR 192".  All or nothing: if one value does
 * not decode, nothing is converted (a half-converted data set would be
 * labelled wrongly) and the charset check reports the value.
 *
 * A data set whose text is plain ASCII (or already UTF-8 under ISO_IR
 * 192) is left as it is, label included, unless the rule says "always".
 *
 * The originals are recorded with their bytes (pacs_norm_oas.c); the
 * Modified Attributes Sequence item also holds the original (0008,0005),
 * which applies to that item (PS3.5 7.5.3).  Items of an Original
 * Attributes Sequence already present are history and are not converted;
 * those without their own (0008,0005) get the original one, so that their
 * text stays decodable under the new label of the data set. */
#include "pacs_norm_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_tags.h"

static const char utf8_term[] = "ISO_IR 192";

typedef struct pending {
	pacs_ds *ds;
	uint32_t tag;
	uint32_t top; /* the top-level element it is in (for the record) */
	pacs_vr vr;
	char *text; /* UTF-8, trailing padding removed */
	size_t len;
} pending;

typedef struct conv {
	pending *p;
	size_t n, cap;
	pending *items; /* items with a (0008,0005) of their own (no text) */
	size_t n_items, cap_items;
	bool failed;
	uint32_t fail_tag;
	char fail_msg[256];
	char from[96]; /* the character sets the converted values were in */
} conv;

/* Text of the character set in force for ds: "ISO_IR 100", "(default
 * repertoire)". */
static void label_text(const pacs_ds *ds, char *buf, size_t size)
{
	uint32_t n;
	const uint8_t *v = pacs_ds_charset(ds, &n);

	while (v != NULL && n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\0'))
		n--;
	if (v == NULL || n == 0)
		snprintf(buf, size, "(default repertoire)");
	else
		pacs_norm__show(buf, size, (const char *)v, n);
}

static void note_from(conv *cv, const pacs_ds *ds)
{
	char label[64];
	size_t have = strlen(cv->from);

	label_text(ds, label, sizeof(label));
	if (strstr(cv->from, label) != NULL)
		return;
	snprintf(&cv->from[have], sizeof(cv->from) - have, "%s%s", have > 0 ? ", " : "", label);
}

static bool is_utf8_label(const uint8_t *v, uint32_t n)
{
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\0'))
		n--;
	return n == sizeof(utf8_term) - 1 && memcmp(v, utf8_term, n) == 0;
}

static int push(pending **list, size_t *n, size_t *cap, const pending *p)
{
	if (*n == *cap) {
		size_t c2 = *cap ? *cap * 2 : 16;
		pending *grown = realloc(*list, c2 * sizeof(*grown));
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory");
		*list = grown;
		*cap = c2;
	}
	(*list)[(*n)++] = *p;
	return 0;
}

static int visit_decode(norm_ctx *c, pacs_ds *ds, const pacs_elem *e, void *arg)
{
	conv *cv = arg;
	uint32_t tag = pacs_elem_tag(e);
	pacs_vr vr = pacs_elem_vr(e);
	pending p = {ds, tag, c->path.depth > 0 ? c->path.tag[0] : tag, vr, NULL, 0};
	uint32_t n;
	bool identity;
	int rc;

	if (tag == PACS_TAG_SPECIFIC_CHARSET)
		return c->path.depth > 0 ? push(&cv->items, &cv->n_items, &cv->cap_items, &p) : 0;
	if (!pacs_vr_uses_charset(vr) || pacs_elem_value(e, &n) == NULL)
		return 0;
	rc = pacs_norm__text_get(ds, e, &p.text, &p.len, &identity);
	if (rc < 0) {
		free(p.text);
		if (rc == ARCA_ENOMEM)
			return rc;
		if (!cv->failed) {
			cv->failed = true;
			cv->fail_tag = tag;
			snprintf(cv->fail_msg, sizeof(cv->fail_msg), "%s", arca_error_last());
		}
		arca_error_clear();
		return 0;
	}
	if (identity) {
		free(p.text);
		return 0;
	}
	while (p.len > 0 && (p.text[p.len - 1] == ' ' || p.text[p.len - 1] == '\0'))
		p.len--;
	if ((rc = push(&cv->p, &cv->n, &cv->cap, &p)) < 0)
		free(p.text);
	else
		note_from(cv, ds);
	return rc;
}

static void conv_free(conv *cv)
{
	for (size_t i = 0; i < cv->n; i++)
		free(cv->p[i].text);
	free(cv->p);
	free(cv->items);
}

/* Existing Original Attributes Sequence items keep decoding under the
 * original character set. */
static int pin_history(pacs_ds *root, const uint8_t *orig, uint32_t orig_len)
{
	pacs_elem *oas = pacs_ds_find_mut(root, PACS_TAG_OriginalAttributesSequence);

	if (oas == NULL || !pacs_elem_is_sequence(oas))
		return 0;
	for (size_t k = 0; k < pacs_elem_item_count(oas); k++) {
		pacs_ds *item = pacs_elem_item_mut(oas, k);
		int rc;
		if (pacs_ds_find(item, PACS_TAG_SPECIFIC_CHARSET) != NULL)
			continue;
		if ((rc = pacs_ds_set(item, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS,
				      orig != NULL ? orig : (const uint8_t *)"", orig != NULL ? orig_len : 0)) < 0)
			return rc;
	}
	return 0;
}

static int apply(norm_ctx *c, const norm_rule *r, conv *cv, const char *was)
{
	pacs_ds *root = c->root;
	const pacs_elem *cse = pacs_ds_find(root, PACS_TAG_SPECIFIC_CHARSET);
	uint8_t *orig = NULL;
	uint32_t orig_len = 0;
	int rc = 0;

	if (cse != NULL) {
		const uint8_t *v = pacs_elem_value(cse, &orig_len);
		if (v != NULL) {
			orig = malloc(orig_len > 0 ? orig_len : 1);
			if (orig == NULL)
				return arca_error_set(ARCA_ENOMEM, "out of memory");
			memcpy(orig, v, orig_len);
		}
	}
	/* every converted value, with its top-level element recorded first */
	for (size_t i = 0; i < cv->n && rc == 0; i++) {
		pending *p = &cv->p[i];
		uint8_t *bytes = NULL;
		size_t n;
		if ((rc = pacs_norm__record(c->rec, root, p->top)) < 0)
			break;
		if ((rc = pacs_norm__text_encode(p->ds, p->vr, true, p->text, p->len, &bytes, &n)) < 0)
			break;
		rc = pacs_ds_set(p->ds, p->tag, p->vr, bytes, (uint32_t)n);
		free(bytes);
	}
	/* items that carried their own character set now hold UTF-8 too */
	for (size_t i = 0; i < cv->n_items && rc == 0; i++) {
		pacs_ds *item = cv->items[i].ds;
		const pacs_elem *ie = pacs_ds_find(item, PACS_TAG_SPECIFIC_CHARSET);
		uint32_t n;
		const uint8_t *v = ie != NULL ? pacs_elem_value(ie, &n) : NULL;
		if (v != NULL && is_utf8_label(v, n))
			continue;
		if ((rc = pacs_norm__record(c->rec, root, cv->items[i].top)) < 0)
			break;
		rc = pacs_ds_set_string(item, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, utf8_term);
	}
	if (rc == 0 && !(orig != NULL && is_utf8_label(orig, orig_len))) {
		if ((rc = pin_history(root, orig, orig_len)) == 0 &&
		    (rc = pacs_norm__record(c->rec, root, PACS_TAG_SPECIFIC_CHARSET)) == 0)
			rc = pacs_ds_set_string(root, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, utf8_term);
	}
	free(orig);
	if (rc < 0)
		return rc;
	c->changed = true;
	c->path.depth = 0;
	if (cv->from[0] != '\0')
		was = cv->from;
	return pacs_norm__hit(c, r, PACS_NORM_FIX, PACS_TAG_SPECIFIC_CHARSET, was, strlen(was), utf8_term,
			      sizeof(utf8_term) - 1, "converted",
			      "%zu text values re-encoded from %s to UTF-8 (ISO_IR 192)", cv->n, was);
}

int pacs_norm__charset(norm_ctx *c)
{
	const norm_rule *r = pacs_norm__rule_of(c->rules, NORM_K_CHARSET);
	const norm_rule *check = pacs_norm__rule_of(c->rules, NORM_K_CHECK_CHARSET);
	conv cv;
	char was[80];
	uint32_t n;
	const uint8_t *label;
	bool relabel;
	int rc;

	if (r != NULL && r->action == PACS_NORM_IGNORE)
		r = NULL;
	if (check != NULL && check->action == PACS_NORM_IGNORE)
		check = NULL;
	if (r == NULL && check == NULL)
		return 0;
	memset(&cv, 0, sizeof(cv));
	c->path.depth = 0;
	rc = pacs_norm__walk(c, c->root, NORM_WALK_PRIVATE | NORM_WALK_CHARSET, visit_decode, &cv);
	if (rc < 0)
		goto out;
	label_text(c->root, was, sizeof(was));
	if (cv.failed) {
		/* Nothing is converted; the check (or, without one, the
		 * conversion rule, which cannot fix this) reports it. */
		const norm_rule *by = check != NULL ? check : r;
		pacs_norm_action act = by->action == PACS_NORM_FIX ? PACS_NORM_WARN : by->action;
		rc = pacs_norm__hit(c, by, act, cv.fail_tag, NULL, 0, NULL, 0, "text does not decode",
				    "(%04X,%04X) %s: text does not decode under %s: %s",
				    PACS_TAG_GROUP(cv.fail_tag), PACS_TAG_ELEMENT(cv.fail_tag),
				    pacs_dict_keyword(cv.fail_tag), was, cv.fail_msg);
		goto out;
	}
	if (r == NULL)
		goto out;
	label = pacs_ds_charset(c->root, &n);
	relabel = cv.n > 0 || (r->charset_always && !(label != NULL && is_utf8_label(label, n)));
	if (!relabel)
		goto out;
	if (r->action == PACS_NORM_FIX) {
		rc = apply(c, r, &cv, was);
	} else {
		rc = pacs_norm__hit(c, r, r->action, PACS_TAG_SPECIFIC_CHARSET, was, strlen(was), NULL, 0,
				    "not UTF-8", "text in %s is not UTF-8 (%zu values to convert)", was, cv.n);
	}
out:
	conv_free(&cv);
	return rc;
}
