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

int store_index_instance_from_ds(store_index_instance *inst, const pacs_ds *ds)
{
	for (int slot = 0; slot < STORE_INDEX__SLOT_COUNT; slot++) {
		const struct store_index__key *k = store_index__key_of_slot((enum store_index__slot)slot);
		const pacs_elem *e = pacs_ds_find(ds, k->tag);
		char *v = NULL;
		int rc;

		if (e != NULL && pacs_elem_is_sequence(e))
			return arca_error_set(ARCA_EPROTO, "index keys: %s (%04X,%04X) is a sequence, not a value",
					      k->keyword, PACS_TAG_GROUP(k->tag), PACS_TAG_ELEMENT(k->tag));
		if (e != NULL && (rc = elem_text(ds, e, &v)) < 0)
			return arca_error_prefix(rc, "index keys: %s", k->keyword);
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
		if (k == NULL || k->level > find->level || pacs_elem_is_sequence(e))
			continue;
		rc = elem_text(identifier, e, &v);
		if (rc == 0)
			rc = store_index_find_add(find, k->tag, v);
		free(v);
		if (rc < 0)
			return rc;
	}
	return 0;
}
