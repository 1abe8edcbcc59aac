/* pacs_dicomdir.c - reading a DICOMDIR's directory records (see
 * pacs_dicomdir.h; PS3.3 F.3, PS3.10 8). */
#include "pacs_dicomdir.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "pacs_tags.h"

/* Bounds for reading a DICOMDIR held in memory: it has no bulk data, but
 * a File-set of a million records is a few hundred MB. */
#define DICOMDIR_MAX_VALUE (1u << 20)
#define DICOMDIR_MAX_TOTAL ((uint64_t)512 << 20)

typedef struct ref_slot {
	pacs_dicomdir_ref ref;
	char *strings; /* one allocation holding every string of ref */
} ref_slot;

struct pacs_dicomdir {
	char fileset_id[17];
	size_t records;
	ref_slot *refs;
	size_t n, cap;
};

void pacs_dicomdir_free(pacs_dicomdir *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->refs[i].strings);
	free(d->refs);
	free(d);
}

const char *pacs_dicomdir_fileset_id(const pacs_dicomdir *d)
{
	return d->fileset_id;
}

size_t pacs_dicomdir_records(const pacs_dicomdir *d)
{
	return d->records;
}

size_t pacs_dicomdir_count(const pacs_dicomdir *d)
{
	return d->n;
}

const pacs_dicomdir_ref *pacs_dicomdir_at(const pacs_dicomdir *d, size_t i)
{
	return i < d->n ? &d->refs[i].ref : NULL;
}

/* PS3.10 8.2: File ID components use upper-case letters, digits and
 * underscore (lower case tolerated); '.', '/', '\\' and every other
 * character are refused, so a component cannot climb out of the
 * File-set's folder. */
static bool component_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

int pacs_dicomdir_check_path(const char *path)
{
	size_t comps = 0, len = 0;

	if (path == NULL || path[0] == '\0')
		return arca_error_set(ARCA_EINVAL, "empty File ID");
	for (const char *p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			if (len == 0)
				return arca_error_set(ARCA_EINVAL, "File ID %s has an empty component", path);
			if (++comps > PACS_DICOMDIR_COMPONENTS_MAX)
				return arca_error_set(ARCA_EINVAL, "File ID %s has more than 8 components (PS3.10 8.5)",
						      path);
			len = 0;
			if (*p == '\0')
				return 0;
			continue;
		}
		if (!component_char(*p))
			return arca_error_set(ARCA_EINVAL,
					      "File ID %s: character 0x%02X is not allowed (A-Z, 0-9, _; PS3.10 8.2)",
					      path, (unsigned)(unsigned char)*p);
		if (++len > PACS_DICOMDIR_COMPONENT_MAX)
			return arca_error_set(ARCA_EINVAL, "File ID %s has a component longer than 8 characters (PS3.10 8.5)",
					      path);
	}
}

/* A string value of ds (first value, spaces trimmed) into buf; "" when
 * absent or not a string. */
static void get_text(const pacs_ds *ds, uint32_t tag, char *buf, size_t size)
{
	size_t n, start = 0;

	if (pacs_ds_get_string(ds, tag, 0, buf, size) < 0) {
		buf[0] = '\0';
		return;
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
		buf[--n] = '\0';
	while (buf[start] == ' ')
		start++;
	memmove(buf, buf + start, n - start + 1);
}

/* The Referenced File ID (CS, VM 1-8, PS3.3 F.5) as "A/B/C" into path; 0,
 * or ARCA_EINVAL with the reason in err. */
static int file_id_path(const pacs_elem *e, char *path, size_t size, char *err, size_t err_size)
{
	unsigned vm = pacs_elem_vm(e);
	size_t at = 0;

	path[0] = '\0';
	if (vm == 0 || vm > PACS_DICOMDIR_COMPONENTS_MAX) {
		snprintf(err, err_size, "Referenced File ID (0004,1500) has %u components (1 to 8, PS3.10 8.5)", vm);
		return ARCA_EINVAL;
	}
	for (unsigned i = 0; i < vm; i++) {
		const char *s;
		size_t len;

		if (pacs_elem_string(e, i, &s, &len) < 0) {
			snprintf(err, err_size, "Referenced File ID (0004,1500) component %u cannot be read", i + 1);
			return ARCA_EINVAL;
		}
		/* CS values may carry leading and trailing spaces (PS3.5 6.2) */
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0'))
			len--;
		while (len > 0 && s[0] == ' ') {
			s++;
			len--;
		}
		if (len == 0 || len > PACS_DICOMDIR_COMPONENT_MAX || at + len + 2 > size) {
			snprintf(err, err_size, "Referenced File ID (0004,1500) component %u has %zu characters (1 to 8, PS3.10 8.5)",
				 i + 1, len);
			return ARCA_EINVAL;
		}
		if (i > 0)
			path[at++] = '/';
		for (size_t k = 0; k < len; k++) {
			if (!component_char(s[k])) {
				snprintf(err, err_size,
					 "Referenced File ID (0004,1500) component %u: character 0x%02X is not allowed (PS3.10 8.2)",
					 i + 1, (unsigned)(unsigned char)s[k]);
				path[0] = '\0';
				return ARCA_EINVAL;
			}
			path[at++] = s[k];
		}
		path[at] = '\0';
	}
	return 0;
}

static int add_ref(pacs_dicomdir *d, const char *type, const char *path, const char *error, const char *cls,
		   const char *inst, const char *ts)
{
	const char *src[6] = { type, path != NULL ? path : "", error != NULL ? error : "", cls, inst, ts };
	size_t total = 0, lens[6];
	ref_slot *slot;
	char *p;

	if (d->n == d->cap) {
		size_t cap = d->cap != 0 ? 2 * d->cap : 16;
		ref_slot *g = realloc(d->refs, cap * sizeof(*g));
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the records of a DICOMDIR");
		d->refs = g;
		d->cap = cap;
	}
	for (int i = 0; i < 6; i++) {
		lens[i] = strlen(src[i]);
		total += lens[i] + 1;
	}
	slot = &d->refs[d->n];
	slot->strings = malloc(total);
	if (slot->strings == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the records of a DICOMDIR");
	p = slot->strings;
	const char *dst[6];
	for (int i = 0; i < 6; i++) {
		memcpy(p, src[i], lens[i] + 1);
		dst[i] = p;
		p += lens[i] + 1;
	}
	slot->ref.type = dst[0];
	slot->ref.path = path != NULL ? dst[1] : NULL;
	slot->ref.error = error != NULL ? dst[2] : NULL;
	slot->ref.sop_class = dst[3];
	slot->ref.sop_instance = dst[4];
	slot->ref.transfer_syntax = dst[5];
	d->n++;
	return 0;
}

/* One item of the Directory Record Sequence (PS3.3 F.3.2.2). */
static int parse_record(pacs_dicomdir *d, const pacs_ds *rec)
{
	char type[20], cls[72], inst[72], ts[72], path[PACS_DICOMDIR_PATH_MAX + 1], err[160];
	const pacs_elem *fid;
	uint64_t in_use;

	/* Record In-use Flag (retired): 0000H marks an inactive record */
	if (pacs_ds_get_uint(rec, PACS_TAG(0x0004, 0x1410), 0, &in_use) == 0 && in_use == 0)
		return 0;
	fid = pacs_ds_find(rec, PACS_TAG(0x0004, 0x1500));
	if (fid == NULL || pacs_elem_vm(fid) == 0)
		return 0;
	get_text(rec, PACS_TAG(0x0004, 0x1430), type, sizeof(type));
	get_text(rec, PACS_TAG(0x0004, 0x1510), cls, sizeof(cls));
	get_text(rec, PACS_TAG(0x0004, 0x1511), inst, sizeof(inst));
	get_text(rec, PACS_TAG(0x0004, 0x1512), ts, sizeof(ts));
	if (file_id_path(fid, path, sizeof(path), err, sizeof(err)) < 0)
		return add_ref(d, type, NULL, err, cls, inst, ts);
	return add_ref(d, type, path, NULL, cls, inst, ts);
}

int pacs_dicomdir_parse(pacs_dicomdir **out, const pacs_ds *ds)
{
	char cls[72];
	const pacs_elem *seq;
	pacs_dicomdir *d;
	size_t n;
	int rc;

	*out = NULL;
	get_text(ds, PACS_TAG(0x0002, 0x0002), cls, sizeof(cls));
	if (cls[0] != '\0' && strcmp(cls, PACS_DICOMDIR_SOP_CLASS) != 0)
		return arca_error_set(ARCA_EPROTO, "not a DICOMDIR: Media Storage SOP Class UID (0002,0002) is %s, not %s",
				      cls, PACS_DICOMDIR_SOP_CLASS);
	seq = pacs_ds_find(ds, PACS_TAG(0x0004, 0x1220));
	if (seq == NULL || !pacs_elem_is_sequence(seq))
		return arca_error_set(ARCA_EPROTO, "not a DICOMDIR: no Directory Record Sequence (0004,1220)");
	n = pacs_elem_item_count(seq);
	if (n > PACS_DICOMDIR_RECORDS_MAX)
		return arca_error_set(ARCA_ELIMIT, "DICOMDIR has %zu directory records (at most %u)", n,
				      PACS_DICOMDIR_RECORDS_MAX);
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a DICOMDIR");
	get_text(ds, PACS_TAG(0x0004, 0x1130), d->fileset_id, sizeof(d->fileset_id));
	d->records = n;
	for (size_t i = 0; i < n; i++) {
		const pacs_ds *rec = pacs_elem_item(seq, i);
		if (rec != NULL && (rc = parse_record(d, rec)) < 0) {
			pacs_dicomdir_free(d);
			return rc;
		}
	}
	*out = d;
	return 0;
}

int pacs_dicomdir_read(pacs_dicomdir **out, const uint8_t *data, size_t len)
{
	pacs_read_opts ro;
	pacs_ds *ds = NULL;
	int rc;

	*out = NULL;
	pacs_read_opts_init(&ro);
	ro.max_value_length = DICOMDIR_MAX_VALUE;
	ro.max_total = DICOMDIR_MAX_TOTAL;
	ro.max_depth = 8;
	if ((rc = pacs_read_buffer(&ds, data, len, &ro)) < 0)
		return rc;
	rc = pacs_dicomdir_parse(out, ds);
	pacs_ds_free(ds);
	return rc;
}
