/* pacs_dicomdir_write.c - writing a DICOMDIR (see pacs_dicomdir.h): the
 * Basic Directory IOD (PS3.3 A.1, F.3) with PATIENT, STUDY, SERIES and
 * IMAGE records and the keys PS3.3 F.5.1-F.5.4 and the General Purpose
 * profiles of PS3.11 Annex D ask for. */
#include "pacs_dicomdir.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "pacs_ts.h"
#include "pacs_uid.h"
#include "pacs_vr.h"
#include "pacs_write.h"

#define T(g, e) PACS_TAG(0x##g, 0x##e)

/* One directory record, in sequence order. */
typedef struct record {
	pacs_ds *item;
	size_t next;  /* record index of the next record at this level, 0: none */
	size_t lower; /* record index of the first record one level down, 0: none */
} record;

typedef struct builder {
	const pacs_dicomdir_entry *entries;
	size_t n;
	record *recs;
	size_t n_recs;
	pacs_ds *ds;
} builder;

static const char *val(const char *s)
{
	return s != NULL ? s : "";
}

static bool same(const char *a, const char *b)
{
	return strcmp(val(a), val(b)) == 0;
}

static bool ascii(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The set of strings of one record: a Specific Character Set (0008,0005)
 * ISO_IR 192 when one of them is not ASCII (PS3.3 F.5: Type 1C). */
static int put_charset(pacs_ds *item, const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ascii(texts[i]))
			return pacs_ds_set_string(item, T(0008, 0005), PACS_VR_CS, "ISO_IR 192");
	return 0;
}

/* PS3.3 F.3.2.2: every record starts with the offsets and its type (the
 * Record In-use Flag (0004,1410) is retired: not written). */
static int new_record(builder *b, const char *type, pacs_ds **out)
{
	pacs_ds *item;
	int rc;

	if ((rc = pacs_ds_add_item(b->ds, T(0004, 1220), &item)) < 0)
		return rc;
	if ((rc = pacs_ds_set_u32(item, T(0004, 1400), 0)) < 0 ||
	    (rc = pacs_ds_set_u32(item, T(0004, 1420), 0)) < 0 ||
	    (rc = pacs_ds_set_string(item, T(0004, 1430), PACS_VR_CS, type)) < 0)
		return rc;
	b->recs[b->n_recs].item = item;
	b->recs[b->n_recs].next = 0;
	b->recs[b->n_recs].lower = 0;
	b->n_recs++;
	*out = item;
	return 0;
}

/* PS3.3 F.5.1 PATIENT: Patient's Name (2), Patient ID (1), and Issuer of
 * Patient ID when there is one (a patient is its ID within its issuer). */
static int patient_record(builder *b, const pacs_dicomdir_entry *e)
{
	const char *texts[] = { e->patient_name, e->patient_id, e->issuer };
	pacs_ds *it;
	int rc;

	if ((rc = new_record(b, "PATIENT", &it)) < 0 || (rc = put_charset(it, texts, 3)) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0010, 0010), PACS_VR_PN, val(e->patient_name))) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0010, 0020), PACS_VR_LO, val(e->patient_id))) < 0)
		return rc;
	return e->issuer != NULL && e->issuer[0] != '\0' ? pacs_ds_set_string(it, T(0010, 0021), PACS_VR_LO, e->issuer) : 0;
}

static bool same_patient(const pacs_dicomdir_entry *a, const pacs_dicomdir_entry *b)
{
	return same(a->patient_id, b->patient_id) && same(a->issuer, b->issuer);
}

/* PS3.3 F.5.2 STUDY: Study Date (1), Study Time (1), Study Description (2),
 * Study Instance UID (1C, required by PS3.11 D.3.3), Study ID (1),
 * Accession Number (2). */
static int study_record(builder *b, const pacs_dicomdir_entry *e)
{
	const char *texts[] = { e->study_description, e->study_id, e->accession };
	pacs_ds *it;
	int rc;

	if ((rc = new_record(b, "STUDY", &it)) < 0 || (rc = put_charset(it, texts, 3)) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0008, 0020), PACS_VR_DA, val(e->study_date))) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0008, 0030), PACS_VR_TM, val(e->study_time))) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0008, 0050), PACS_VR_SH, val(e->accession))) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0008, 1030), PACS_VR_LO, val(e->study_description))) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0020, 000D), PACS_VR_UI, e->study_uid)) < 0)
		return rc;
	return pacs_ds_set_string(it, T(0020, 0010), PACS_VR_SH, val(e->study_id));
}

/* PS3.3 F.5.3 SERIES: Modality (1), Series Instance UID (1), Series
 * Number (1). */
static int series_record(builder *b, const pacs_dicomdir_entry *e)
{
	pacs_ds *it;
	int rc;

	if ((rc = new_record(b, "SERIES", &it)) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0008, 0060), PACS_VR_CS, val(e->modality))) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0020, 000E), PACS_VR_UI, e->series_uid)) < 0)
		return rc;
	return pacs_ds_set_string(it, T(0020, 0011), PACS_VR_IS, val(e->series_number));
}

/* The File ID "A/B/C" as the CS value "A\B\C" (PS3.3 F.3.2.2). */
static int set_file_id(pacs_ds *it, const char *path)
{
	char v[PACS_DICOMDIR_PATH_MAX + 1];
	size_t i;

	for (i = 0; path[i] != '\0' && i < sizeof(v) - 1; i++)
		v[i] = path[i] == '/' ? '\\' : path[i];
	v[i] = '\0';
	return pacs_ds_set_string(it, T(0004, 1500), PACS_VR_CS, v);
}

/* PS3.3 F.5.4 IMAGE: the referenced file, its SOP Class, SOP Instance
 * and Transfer Syntax UIDs (F.3.2.2), Instance Number (1). */
static int image_record(builder *b, const pacs_dicomdir_entry *e)
{
	pacs_ds *it;
	int rc;

	if ((rc = new_record(b, "IMAGE", &it)) < 0 || (rc = set_file_id(it, e->file_id)) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0004, 1510), PACS_VR_UI, e->sop_class)) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0004, 1511), PACS_VR_UI, e->sop_instance)) < 0 ||
	    (rc = pacs_ds_set_string(it, T(0004, 1512), PACS_VR_UI,
				     e->transfer_syntax != NULL && e->transfer_syntax[0] != '\0' ? e->transfer_syntax
												 : PACS_TS_EXPLICIT_LE)) < 0)
		return rc;
	return pacs_ds_set_string(it, T(0020, 0013), PACS_VR_IS, val(e->instance_number));
}

static int check_entry(const pacs_dicomdir_entry *e, size_t i)
{
	if (e->study_uid == NULL || e->study_uid[0] == '\0' || e->series_uid == NULL || e->series_uid[0] == '\0' ||
	    e->sop_class == NULL || e->sop_class[0] == '\0' || e->sop_instance == NULL || e->sop_instance[0] == '\0')
		return arca_error_set(ARCA_EINVAL, "DICOMDIR entry %zu: a Study, Series, SOP Class or SOP Instance UID is missing",
				      i);
	if (pacs_dicomdir_check_path(e->file_id) < 0)
		return arca_error_prefix(ARCA_EINVAL, "DICOMDIR entry %zu (%s)", i, e->sop_instance);
	return 0;
}

/* Records in depth-first order: each patient (first appearance order),
 * its studies, their series, their images; next/lower link the records
 * as PS3.3 F.3.2.1 describes. */
static int make_records(builder *b)
{
	bool *done = calloc(b->n, sizeof(*done));
	size_t prev_patient = 0;
	int rc = 0;

	if (done == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a DICOMDIR");
	for (size_t p = 0; p < b->n && rc == 0; p++) {
		size_t prec, prev_study = 0;
		if (done[p])
			continue;
		prec = b->n_recs;
		if ((rc = patient_record(b, &b->entries[p])) < 0)
			break;
		if (prev_patient != 0 || prec != 0)
			b->recs[prev_patient].next = prec;
		prev_patient = prec;
		for (size_t s = p; s < b->n && rc == 0; s++) {
			size_t srec, prev_series = 0;
			/* the first entry of a study not yet written (the entries
			 * of a study already written are all done) */
			if (done[s] || !same_patient(&b->entries[s], &b->entries[p]))
				continue;
			srec = b->n_recs;
			if ((rc = study_record(b, &b->entries[s])) < 0)
				break;
			if (prev_study != 0)
				b->recs[prev_study].next = srec;
			else
				b->recs[prec].lower = srec;
			prev_study = srec;
			for (size_t r = s; r < b->n && rc == 0; r++) {
				size_t rrec, prev_image = 0;
				if (done[r] || !same_patient(&b->entries[r], &b->entries[p]) ||
				    !same(b->entries[r].study_uid, b->entries[s].study_uid))
					continue;
				rrec = b->n_recs;
				if ((rc = series_record(b, &b->entries[r])) < 0)
					break;
				if (prev_series != 0)
					b->recs[prev_series].next = rrec;
				else
					b->recs[srec].lower = rrec;
				prev_series = rrec;
				for (size_t i = r; i < b->n; i++) {
					size_t irec;
					if (done[i] || !same_patient(&b->entries[i], &b->entries[p]) ||
					    !same(b->entries[i].study_uid, b->entries[s].study_uid) ||
					    !same(b->entries[i].series_uid, b->entries[r].series_uid))
						continue;
					irec = b->n_recs;
					if ((rc = image_record(b, &b->entries[i])) < 0)
						break;
					if (prev_image != 0)
						b->recs[prev_image].next = irec;
					else
						b->recs[rrec].lower = irec;
					prev_image = irec;
					done[i] = true;
				}
			}
		}
	}
	free(done);
	return rc;
}

/* The first write has every offset 0; the offsets are fixed-size (UL), so
 * the second write, with the offsets read back from the first, has the
 * same layout. */
static int fill_offsets(builder *b, const uint8_t *bytes, size_t len)
{
	pacs_read_opts ro;
	pacs_ds *back = NULL;
	const pacs_elem *seq;
	uint32_t *off = NULL;
	size_t last_root = 0;
	int rc;

	pacs_read_opts_init(&ro);
	if ((rc = pacs_read_buffer(&back, bytes, len, &ro)) < 0)
		return arca_error_prefix(rc, "DICOMDIR read back");
	seq = pacs_ds_find(back, T(0004, 1220));
	if (seq == NULL || pacs_elem_item_count(seq) != b->n_recs) {
		rc = arca_error_set(ARCA_EPROTO, "DICOMDIR read back: the records are not the ones written");
		goto out;
	}
	off = calloc(b->n_recs + 1, sizeof(*off));
	if (off == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "no memory for a DICOMDIR");
		goto out;
	}
	for (size_t i = 0; i < b->n_recs; i++) {
		uint64_t o = pacs_ds_offset(pacs_elem_item(seq, i));
		if (o > UINT32_MAX) {
			rc = arca_error_set(ARCA_ELIMIT, "DICOMDIR larger than 4 GiB: offsets do not fit (PS3.3 F.3.2.1)");
			goto out;
		}
		off[i] = (uint32_t)o;
	}
	for (size_t i = 0; i < b->n_recs; i++) {
		if ((rc = pacs_ds_set_u32(b->recs[i].item, T(0004, 1400), b->recs[i].next != 0 ? off[b->recs[i].next] : 0)) < 0 ||
		    (rc = pacs_ds_set_u32(b->recs[i].item, T(0004, 1420), b->recs[i].lower != 0 ? off[b->recs[i].lower] : 0)) < 0)
			goto out;
	}
	/* the root records are the patients: the last is the one with no next
	 * in the chain that starts at record 0 */
	if (b->n_recs > 0) {
		size_t r = 0;
		while (b->recs[r].next != 0)
			r = b->recs[r].next;
		last_root = r;
		if ((rc = pacs_ds_set_u32(b->ds, T(0004, 1200), off[0])) < 0 ||
		    (rc = pacs_ds_set_u32(b->ds, T(0004, 1202), off[last_root])) < 0)
			goto out;
	}
out:
	free(off);
	pacs_ds_free(back);
	return rc;
}

int pacs_dicomdir_build(uint8_t **out, size_t *len, const char *fileset_id, const pacs_dicomdir_entry *entries,
			size_t n)
{
	static const uint8_t version[2] = { 0x00, 0x01 };
	char uid[PACS_UID_MAX + 1];
	builder b;
	pacs_write_opts wo;
	uint8_t *first = NULL;
	size_t first_len = 0;
	pacs_elem *seq;
	int rc;

	*out = NULL;
	*len = 0;
	memset(&b, 0, sizeof(b));
	b.entries = entries;
	b.n = n;
	for (size_t i = 0; i < n; i++)
		if ((rc = check_entry(&entries[i], i)) < 0)
			return rc;
	/* at most 4 records per instance */
	if (n > SIZE_MAX / (4 * sizeof(record)) - 1)
		return arca_error_set(ARCA_ELIMIT, "too many instances for one DICOMDIR");
	b.recs = calloc(4 * n + 1, sizeof(*b.recs));
	if (b.recs == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a DICOMDIR");
	if ((rc = pacs_ds_new(&b.ds)) < 0)
		goto out;
	/* PS3.10 7.1 File Meta Information: Media Storage Directory Storage */
	if ((rc = pacs_uid_generate(uid)) < 0 ||
	    (rc = pacs_ds_set(b.ds, T(0002, 0001), PACS_VR_OB, version, 2)) < 0 ||
	    (rc = pacs_ds_set_string(b.ds, T(0002, 0002), PACS_VR_UI, PACS_DICOMDIR_SOP_CLASS)) < 0 ||
	    (rc = pacs_ds_set_string(b.ds, T(0002, 0003), PACS_VR_UI, uid)) < 0 ||
	    (rc = pacs_ds_set_string(b.ds, T(0002, 0010), PACS_VR_UI, PACS_TS_EXPLICIT_LE)) < 0)
		goto out;
	/* PS3.3 F.3.2.1 File-set Identification and Directory Information */
	if ((rc = pacs_ds_set_string(b.ds, T(0004, 1130), PACS_VR_CS, fileset_id != NULL ? fileset_id : "")) < 0 ||
	    (rc = pacs_ds_set_u32(b.ds, T(0004, 1200), 0)) < 0 || (rc = pacs_ds_set_u32(b.ds, T(0004, 1202), 0)) < 0 ||
	    (rc = pacs_ds_set_u16(b.ds, T(0004, 1212), 0x0000)) < 0 ||
	    (rc = pacs_ds_set_sequence(b.ds, T(0004, 1220), &seq)) < 0)
		goto out;
	if ((rc = make_records(&b)) < 0)
		goto out;
	pacs_write_opts_init(&wo);
	wo.ts_uid = PACS_TS_EXPLICIT_LE;
	if ((rc = pacs_write_buffer(b.ds, &wo, &first, &first_len)) < 0)
		goto out;
	if ((rc = fill_offsets(&b, first, first_len)) < 0)
		goto out;
	if ((rc = pacs_write_buffer(b.ds, &wo, out, len)) < 0)
		goto out;
	if (*len != first_len) {
		rc = arca_error_set(ARCA_EPROTO, "DICOMDIR: the second pass changed the layout (%zu != %zu bytes)", *len,
				    first_len);
		free(*out);
		*out = NULL;
		*len = 0;
	}
out:
	free(first);
	free(b.recs);
	pacs_ds_free(b.ds);
	return rc;
}
