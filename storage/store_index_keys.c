/* store_index_keys.c - the index's keys read from DICOM data sets: the
 * C-FIND keys of an instance (PS3.4 C.6.1, C.6.2) for store_index_put, and
 * the keys of a C-FIND identifier for store_index_find.  Values are
 * converted to UTF-8 under the data set's Specific Character Set
 * (pacs_ds_get_utf8), so the index holds one character set only. */
#include "store_index_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_tags.h"

/* The attributes of a code item the index keeps (PS3.3 Table 8.8-1), in
 * the order of store_index_priv.h's code sequence form. */
static const struct {
	uint32_t tag;
	pacs_vr vr;
} code_attr[STORE_INDEX__CODE_FIELDS] = {
	{PACS_TAG_CodeValue, PACS_VR_SH},     {PACS_TAG_CodingSchemeDesignator, PACS_VR_SH},
	{PACS_TAG_CodingSchemeVersion, PACS_VR_SH}, {PACS_TAG_CodeMeaning, PACS_VR_LO},
	{PACS_TAG_LongCodeValue, PACS_VR_UC}, {PACS_TAG_URNCodeValue, PACS_VR_UR},
};

/* A growable byte buffer for the code sequence form. */
typedef struct code_buf {
	char *data;
	size_t len, cap;
} code_buf;

static int buf_add(code_buf *b, const char *p, size_t n)
{
	if (b->len + n > STORE_INDEX_VALUE_MAX + 1)
		return arca_error_set(ARCA_ELIMIT, "code sequence longer than %u bytes", STORE_INDEX_VALUE_MAX);
	if (b->len + n > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 128;
		char *d;
		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (d == NULL)
			return arca_error_set(ARCA_ENOMEM, "index keys: out of memory");
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* Binary integer VRs: their value is written out in decimal. */
static bool is_binary_int(pacs_vr vr)
{
	return vr == PACS_VR_US || vr == PACS_VR_UL || vr == PACS_VR_SS || vr == PACS_VR_SL ||
	       vr == PACS_VR_UV || vr == PACS_VR_SV;
}

/* The element's value as UTF-8 with surrounding spaces removed (padding
 * and the leading spaces that IS, DS, SH, LO and CS allow, PS3.5 6.2); *out
 * NULL when the value is empty.  *out is the caller's. */
static int elem_text(const pacs_ds *ds, const pacs_elem *e, char **out)
{
	char *s = NULL, *start, *end;
	int rc;

	*out = NULL;
	if (is_binary_int(pacs_elem_vr(e))) {
		uint64_t v;
		char num[24];

		if (pacs_elem_vm(e) == 0)
			return 0;
		rc = pacs_elem_uint(e, 0, &v);
		if (rc < 0)
			return rc;
		snprintf(num, sizeof(num), "%" PRIu64, v);
		*out = strdup(num);
		return *out == NULL ? arca_error_set(ARCA_ENOMEM, "index keys: out of memory") : 0;
	}
	rc = pacs_elem_utf8(ds, e, &s);
	if (rc < 0)
		return rc;
	for (start = s; *start == ' '; start++)
		;
	end = start + strlen(start);
	while (end > start && end[-1] == ' ')
		end--;
	*end = '\0';
	if (*start == '\0') {
		free(s);
		return 0;
	}
	memmove(s, start, (size_t)(end - start) + 1);
	*out = s;
	return 0;
}

/* Appends the code item fields of item (its values trimmed; separators
 * that should not occur become spaces) to buf.  *empty false when a field
 * had a value. */
static int code_fields(code_buf *b, const pacs_ds *item, bool *empty)
{
	for (int f = 0; f < STORE_INDEX__CODE_FIELDS; f++) {
		const pacs_elem *e = pacs_ds_find(item, code_attr[f].tag);
		char *v = NULL;
		int rc;

		if (f > 0 && (rc = buf_add(b, &(char){STORE_INDEX__FIELD_SEP}, 1)) < 0)
			return rc;
		if (e == NULL || pacs_elem_is_sequence(e))
			continue;
		if ((rc = elem_text(item, e, &v)) < 0)
			return rc;
		if (v == NULL)
			continue;
		for (char *p = v; *p != '\0'; p++)
			if (*p == STORE_INDEX__FIELD_SEP || *p == STORE_INDEX__ITEM_SEP)
				*p = ' ';
		*empty = false;
		rc = buf_add(b, v, strlen(v));
		free(v);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A code sequence of an instance in the index's form; *out NULL when it
 * has no item with a value. */
static int encode_codes(const pacs_elem *seq, char **out)
{
	code_buf b = {0};
	bool empty = true;
	int rc = 0;

	*out = NULL;
	for (size_t i = 0; rc == 0 && i < pacs_elem_item_count(seq); i++) {
		bool item_empty = true;
		size_t mark = b.len;

		if (b.len > 0)
			rc = buf_add(&b, &(char){STORE_INDEX__ITEM_SEP}, 1);
		if (rc == 0)
			rc = code_fields(&b, pacs_elem_item(seq, i), &item_empty);
		if (item_empty)
			b.len = mark; /* an item without codes says nothing */
		empty &= item_empty;
	}
	if (rc == 0 && !empty)
		rc = buf_add(&b, "", 1);
	if (rc < 0 || empty) {
		free(b.data);
		return rc;
	}
	*out = b.data;
	return 0;
}

int store_index_instance_from_ds(store_index_instance *inst, const pacs_ds *ds)
{
	for (int slot = 0; slot < STORE_INDEX__SLOT_COUNT; slot++) {
		const struct store_index__key *k = store_index__key_of_slot((enum store_index__slot)slot);
		const pacs_elem *e = pacs_ds_find(ds, k->tag);
		char *v = NULL;
		int rc;

		if (k->match == STORE_INDEX_MATCH_CODE_SEQ) {
			/* a value that is not a sequence is not a code sequence:
			 * nothing to index */
			if (e != NULL && pacs_elem_is_sequence(e) && (rc = encode_codes(e, &v)) < 0)
				return arca_error_prefix(rc, "index keys: %s", k->keyword);
		} else if (e != NULL && pacs_elem_is_sequence(e)) {
			return arca_error_set(ARCA_EPROTO, "index keys: %s (%04X,%04X) is a sequence, not a value",
					      k->keyword, PACS_TAG_GROUP(k->tag), PACS_TAG_ELEMENT(k->tag));
		} else if (e != NULL && (rc = elem_text(ds, e, &v)) < 0) {
			return arca_error_prefix(rc, "index keys: %s", k->keyword);
		}
		if (v != NULL && strlen(v) > STORE_INDEX_VALUE_MAX) {
			free(v);
			return arca_error_set(ARCA_ELIMIT, "index keys: %s is longer than %u bytes", k->keyword,
					      STORE_INDEX_VALUE_MAX);
		}
		free(inst->values[slot]);
		inst->values[slot] = v;
	}
	return 0;
}

/* The matching keys of a query item in the code sequence form (fields
 * empty where the item has no value: universal for that attribute). */
static int code_pattern(const pacs_ds *item, char **out)
{
	code_buf b = {0};
	bool empty = true;
	int rc = code_fields(&b, item, &empty);

	*out = NULL;
	if (rc == 0)
		rc = buf_add(&b, "", 1);
	if (rc < 0) {
		free(b.data);
		return rc;
	}
	*out = b.data;
	return 0;
}

int store_index_find_from_ds(store_index_find *find, const pacs_ds *identifier)
{
	size_t n = pacs_ds_count(identifier);

	for (size_t i = 0; i < n; i++) {
		const pacs_elem *e = pacs_ds_at(identifier, i);
		const struct store_index__key *k = store_index__key_find(pacs_elem_tag(e));
		char *v = NULL;
		int rc;

		/* Not the index's: answered by the caller (PS3.4 C.4.1.1.3.2:
		 * unsupported keys are returned empty). */
		if (k == NULL || k->level > find->level)
			continue;
		if (k->match == STORE_INDEX_MATCH_CODE_SEQ) {
			if (!pacs_elem_is_sequence(e))
				continue;
			/* PS3.4 C.2.2.2.6: a single item of matching keys; no
			 * item, or an item without keys, is universal */
			if (pacs_elem_item_count(e) > 0 && (rc = code_pattern(pacs_elem_item(e, 0), &v)) < 0)
				return arca_error_prefix(rc, "%s", k->keyword);
		} else if (pacs_elem_is_sequence(e)) {
			continue;
		} else {
			rc = elem_text(identifier, e, &v);
			if (rc < 0)
				return rc;
		}
		rc = store_index_find_add(find, k->tag, v);
		free(v);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- answers ---- */

int store_index_code_answer(pacs_ds *out, uint32_t tag, const char *stored, const pacs_ds *query_item)
{
	const char *item = stored;
	char *pattern = NULL;
	bool want[STORE_INDEX__CODE_FIELDS];
	bool all = query_item == NULL || pacs_ds_count(query_item) == 0;
	int rc;

	if ((rc = pacs_ds_set_sequence(out, tag, NULL)) < 0)
		return rc;
	if (stored == NULL || stored[0] == '\0')
		return 0;
	for (int f = 0; f < STORE_INDEX__CODE_FIELDS; f++)
		want[f] = all || pacs_ds_find(query_item, code_attr[f].tag) != NULL;
	if (!all && (rc = code_pattern(query_item, &pattern)) < 0)
		return rc;
	while (rc == 0 && item != NULL && *item != '\0') {
		const char *next = strchr(item, STORE_INDEX__ITEM_SEP);
		size_t ilen = next != NULL ? (size_t)(next - item) : strlen(item);
		char *one = strndup(item, ilen);
		pacs_ds *it = NULL;

		if (one == NULL) {
			rc = arca_error_set(ARCA_ENOMEM, "index answer: out of memory");
			break;
		}
		/* PS3.4 C.2.2.2.6: the matching items, with the requested
		 * attributes only */
		if (pattern == NULL || store_index__code_match(pattern, one)) {
			rc = pacs_ds_add_item(out, tag, &it);
			for (int f = 0; rc == 0 && f < STORE_INDEX__CODE_FIELDS; f++) {
				const char *p = one;
				size_t n;

				for (int k = 0; k < f && p != NULL; k++) {
					p = strchr(p, STORE_INDEX__FIELD_SEP);
					if (p != NULL)
						p++;
				}
				n = p != NULL ? strcspn(p, "\x1f") : 0;
				if (!want[f] || (n == 0 && all))
					continue;
				if (n == 0) {
					rc = pacs_ds_set(it, code_attr[f].tag, code_attr[f].vr, NULL, 0);
				} else {
					char *v = strndup(p, n);
					rc = v != NULL ? pacs_ds_set_string(it, code_attr[f].tag, code_attr[f].vr, v)
						       : arca_error_set(ARCA_ENOMEM, "index answer: out of memory");
					free(v);
				}
			}
		}
		free(one);
		item = next != NULL ? next + 1 : NULL;
	}
	free(pattern);
	return rc;
}
