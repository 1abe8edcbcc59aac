/* pacs_dicomdir_test.c - the DICOMDIR reader and writer (pacs_dicomdir.h):
 * File ID rules (PS3.10 8.2, 8.5), records read in sequence order with
 * inactive ones skipped, bad File IDs kept with their error, non-DICOMDIR
 * input refused; a written DICOMDIR read back: meta group, File-set ID,
 * record types in depth-first order, the keys of each record, Specific
 * Character Set for non-ASCII text, and every offset (PS3.3 F.3.2.1)
 * pointing at the record it should; the sample DICOMDIRs when present. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_dicomdir.h"
#include "pacs_read.h"
#include "pacs_ts.h"
#include "pacs_write.h"

#define T(g, e) PACS_TAG(0x##g, 0x##e)

static void test_check_path(void **state)
{
	(void)state;
	assert_int_equal(pacs_dicomdir_check_path("DICOM/IM000001"), 0);
	assert_int_equal(pacs_dicomdir_check_path("A"), 0);
	assert_int_equal(pacs_dicomdir_check_path("A/B/C/D/E/F/G/H"), 0);
	assert_int_equal(pacs_dicomdir_check_path("dicom/im_1"), 0); /* lower case tolerated */
	assert_int_equal(pacs_dicomdir_check_path("A/B/C/D/E/F/G/H/I"), ARCA_EINVAL); /* 9 components */
	assert_int_equal(pacs_dicomdir_check_path("ABCDEFGHI"), ARCA_EINVAL);          /* 9 characters */
	assert_int_equal(pacs_dicomdir_check_path("../ETC"), ARCA_EINVAL);
	assert_int_equal(pacs_dicomdir_check_path("A//B"), ARCA_EINVAL);
	assert_int_equal(pacs_dicomdir_check_path("/A"), ARCA_EINVAL);
	assert_int_equal(pacs_dicomdir_check_path("A/"), ARCA_EINVAL);
	assert_int_equal(pacs_dicomdir_check_path("IM.DCM"), ARCA_EINVAL);
	assert_int_equal(pacs_dicomdir_check_path(""), ARCA_EINVAL);
	assert_int_equal(pacs_dicomdir_check_path(NULL), ARCA_EINVAL);
}

/* A DICOMDIR data set built by hand: records with the given File IDs
 * (NULL: no (0004,1500)), one of them inactive. */
static pacs_ds *hand_dicomdir(const char *const *ids, const uint16_t *in_use, size_t n)
{
	pacs_ds *ds = NULL, *item;
	pacs_elem *seq;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0002, 0002), PACS_VR_UI, PACS_DICOMDIR_SOP_CLASS), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0004, 1130), PACS_VR_CS, "HAND"), 0);
	assert_int_equal(pacs_ds_set_sequence(ds, T(0004, 1220), &seq), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(pacs_ds_add_item(ds, T(0004, 1220), &item), 0);
		assert_int_equal(pacs_ds_set_string(item, T(0004, 1430), PACS_VR_CS, ids[i] != NULL ? "IMAGE" : "STUDY"), 0);
		if (in_use != NULL)
			assert_int_equal(pacs_ds_set_u16(item, T(0004, 1410), in_use[i]), 0);
		if (ids[i] != NULL) {
			assert_int_equal(pacs_ds_set_string(item, T(0004, 1500), PACS_VR_CS, ids[i]), 0);
			assert_int_equal(pacs_ds_set_string(item, T(0004, 1511), PACS_VR_UI, "1.2.3"), 0);
		}
	}
	return ds;
}

static void test_parse_records(void **state)
{
	static const char *const ids[] = {
		NULL,                        /* a STUDY record: no file */
		"DICOM\\IM000001",           /* fine */
		"DICOM \\IM000002 ",         /* padded components */
		"..\\..\\ETC\\PASSWD",       /* climbs out: refused */
		"DICOM\\VERYLONGNAME",       /* 12 characters: refused */
		"DICOM\\IM000003",           /* inactive: skipped */
		"A\\B\\C\\D\\E\\F\\G\\H\\I", /* 9 components: refused */
		"dicom\\im4",                /* lower case tolerated */
	};
	static const uint16_t in_use[] = { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0x0000, 0xFFFF, 0xFFFF };
	pacs_ds *ds = hand_dicomdir(ids, in_use, 8);
	pacs_dicomdir *d = NULL;
	const pacs_dicomdir_ref *r;

	(void)state;
	assert_int_equal(pacs_dicomdir_parse(&d, ds), 0);
	assert_string_equal(pacs_dicomdir_fileset_id(d), "HAND");
	assert_int_equal(pacs_dicomdir_records(d), 8);
	assert_int_equal(pacs_dicomdir_count(d), 6);
	r = pacs_dicomdir_at(d, 0);
	assert_string_equal(r->path, "DICOM/IM000001");
	assert_null(r->error);
	assert_string_equal(r->type, "IMAGE");
	assert_string_equal(r->sop_instance, "1.2.3");
	assert_string_equal(r->sop_class, "");
	assert_string_equal(pacs_dicomdir_at(d, 1)->path, "DICOM/IM000002");
	r = pacs_dicomdir_at(d, 2);
	assert_null(r->path);
	assert_non_null(strstr(r->error, "0x2E"));
	r = pacs_dicomdir_at(d, 3);
	assert_null(r->path);
	assert_non_null(strstr(r->error, "12 characters"));
	r = pacs_dicomdir_at(d, 4);
	assert_null(r->path);
	assert_non_null(strstr(r->error, "9 components"));
	assert_string_equal(pacs_dicomdir_at(d, 5)->path, "dicom/im4");
	assert_null(pacs_dicomdir_at(d, 6));
	pacs_dicomdir_free(d);
	pacs_ds_free(ds);
}

static void test_not_a_dicomdir(void **state)
{
	pacs_ds *ds = NULL;
	pacs_dicomdir *d = NULL;
	static const uint8_t junk[] = "not DICOM at all, not even close";

	(void)state;
	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0002, 0002), PACS_VR_UI, "1.2.840.10008.5.1.4.1.1.2"), 0);
	assert_int_equal(pacs_dicomdir_parse(&d, ds), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "not a DICOMDIR"));
	assert_null(d);
	assert_int_equal(pacs_ds_remove(ds, T(0002, 0002)), 0);
	assert_int_equal(pacs_dicomdir_parse(&d, ds), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "(0004,1220)"));
	pacs_ds_free(ds);
	assert_true(pacs_dicomdir_read(&d, junk, sizeof(junk)) < 0);
	assert_null(d);
	pacs_dicomdir_free(NULL);
}

/* ---- writing ---- */

static const pacs_dicomdir_entry entries[] = {
	{ "DICOM/P1/S1/R1/I1", "PID1", "M\xc3\xbcller^Hans", "1.2.3.1", "20260102", "101500", "CT CHEST", "77",
	  "ACC1", "1.2.3.1.1", "CT", "3", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.1.1.1", PACS_TS_EXPLICIT_LE, "1", "HOSP" },
	{ "DICOM/P2/S2/R2/I1", "PID2", "Doe^Jane", "1.2.3.2", "20260103", "090000", NULL, "1", NULL, "1.2.3.2.1",
	  "MR", "1", "1.2.840.10008.5.1.4.1.1.4", "1.2.3.2.1.1", NULL, "1", NULL },
	{ "DICOM/P1/S1/R1/I2", "PID1", "M\xc3\xbcller^Hans", "1.2.3.1", "20260102", "101500", "CT CHEST", "77",
	  "ACC1", "1.2.3.1.1", "CT", "3", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.1.1.2", PACS_TS_EXPLICIT_LE, "2", "HOSP" },
	{ "DICOM/P1/S1/R2/I1", "PID1", "M\xc3\xbcller^Hans", "1.2.3.1", "20260102", "101500", "CT CHEST", "77",
	  "ACC1", "1.2.3.1.2", "CT", "4", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.1.2.1", PACS_TS_EXPLICIT_LE, "1", "HOSP" },
};

static void text(const pacs_ds *ds, uint32_t tag, char *buf, size_t size)
{
	if (pacs_ds_get_string(ds, tag, 0, buf, size) < 0)
		buf[0] = '\0';
	for (size_t n = strlen(buf); n > 0 && buf[n - 1] == ' '; n--)
		buf[n - 1] = '\0';
}

/* The record at byte offset off, by its item offset. */
static const pacs_ds *record_at(const pacs_elem *seq, uint64_t off)
{
	for (size_t i = 0; i < pacs_elem_item_count(seq); i++)
		if (pacs_ds_offset(pacs_elem_item(seq, i)) == off)
			return pacs_elem_item(seq, i);
	return NULL;
}

static void type_of(const pacs_ds *rec, char *buf, size_t size)
{
	text(rec, T(0004, 1430), buf, size);
}

static void test_build_read_back(void **state)
{
	static const char *const order[] = { "PATIENT", "STUDY", "SERIES", "IMAGE", "IMAGE", "SERIES", "IMAGE",
					     "PATIENT", "STUDY", "SERIES", "IMAGE" };
	uint8_t *bytes = NULL;
	size_t len = 0;
	pacs_ds *ds = NULL;
	pacs_read_opts ro;
	const pacs_elem *seq;
	pacs_dicomdir *d = NULL;
	char buf[128];
	uint64_t v;

	(void)state;
	assert_int_equal(pacs_dicomdir_build(&bytes, &len, "ARCA", entries, 4), 0);
	assert_true(len > 132);
	assert_memory_equal(bytes + 128, "DICM", 4);
	pacs_read_opts_init(&ro);
	assert_int_equal(pacs_read_buffer(&ds, bytes, len, &ro), 0);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_EXPLICIT_LE);
	text(ds, T(0002, 0002), buf, sizeof(buf));
	assert_string_equal(buf, PACS_DICOMDIR_SOP_CLASS);
	text(ds, T(0004, 1130), buf, sizeof(buf));
	assert_string_equal(buf, "ARCA");
	assert_int_equal(pacs_ds_get_uint(ds, T(0004, 1212), 0, &v), 0);
	assert_int_equal(v, 0);
	seq = pacs_ds_find(ds, T(0004, 1220));
	assert_non_null(seq);
	assert_int_equal(pacs_elem_item_count(seq), 11);
	for (size_t i = 0; i < 11; i++) {
		type_of(pacs_elem_item(seq, i), buf, sizeof(buf));
		assert_string_equal(buf, order[i]);
	}
	/* root offsets: the two PATIENT records */
	assert_int_equal(pacs_ds_get_uint(ds, T(0004, 1200), 0, &v), 0);
	assert_int_equal(v, pacs_ds_offset(pacs_elem_item(seq, 0)));
	assert_int_equal(pacs_ds_get_uint(ds, T(0004, 1202), 0, &v), 0);
	assert_int_equal(v, pacs_ds_offset(pacs_elem_item(seq, 7)));
	/* every link: next at the same level, lower one level down, 0 at the ends */
	for (size_t i = 0; i < 11; i++) {
		const pacs_ds *rec = pacs_elem_item(seq, i);
		char t[16], u[16];
		uint64_t next, lower;
		type_of(rec, t, sizeof(t));
		assert_int_equal(pacs_ds_get_uint(rec, T(0004, 1400), 0, &next), 0);
		assert_int_equal(pacs_ds_get_uint(rec, T(0004, 1420), 0, &lower), 0);
		if (next != 0) {
			assert_non_null(record_at(seq, next));
			type_of(record_at(seq, next), u, sizeof(u));
			assert_string_equal(t, u);
		}
		if (strcmp(t, "IMAGE") == 0) {
			assert_int_equal(lower, 0);
		} else {
			static const char *const below[][2] = { { "PATIENT", "STUDY" }, { "STUDY", "SERIES" }, { "SERIES", "IMAGE" } };
			assert_true(lower != 0);
			assert_non_null(record_at(seq, lower));
			type_of(record_at(seq, lower), u, sizeof(u));
			for (size_t k = 0; k < 3; k++)
				if (strcmp(below[k][0], t) == 0)
					assert_string_equal(u, below[k][1]);
		}
	}
	/* the first patient: ISO_IR 192 for its name, 2 series under its study */
	text(pacs_elem_item(seq, 0), T(0008, 0005), buf, sizeof(buf));
	assert_string_equal(buf, "ISO_IR 192");
	text(pacs_elem_item(seq, 0), T(0010, 0010), buf, sizeof(buf));
	assert_string_equal(buf, "M\xc3\xbcller^Hans");
	text(pacs_elem_item(seq, 0), T(0010, 0021), buf, sizeof(buf));
	assert_string_equal(buf, "HOSP");
	text(pacs_elem_item(seq, 7), T(0008, 0005), buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_null(pacs_ds_find(pacs_elem_item(seq, 7), T(0010, 0021)));
	text(pacs_elem_item(seq, 1), T(0020, 000D), buf, sizeof(buf));
	assert_string_equal(buf, "1.2.3.1");
	text(pacs_elem_item(seq, 1), T(0008, 0030), buf, sizeof(buf));
	assert_string_equal(buf, "101500");
	text(pacs_elem_item(seq, 5), T(0020, 0011), buf, sizeof(buf));
	assert_string_equal(buf, "4");
	{
		/* the whole CS value, all five components */
		uint32_t vlen = 0;
		const uint8_t *fid = pacs_elem_value(pacs_ds_find(pacs_elem_item(seq, 4), T(0004, 1500)), &vlen);
		assert_non_null(fid);
		assert_int_equal(vlen, 18); /* 17 characters and the padding space (PS3.5 6.2) */
		assert_memory_equal(fid, "DICOM\\P1\\S1\\R1\\I2 ", 18);
	}
	text(pacs_elem_item(seq, 10), T(0004, 1512), buf, sizeof(buf));
	assert_string_equal(buf, PACS_TS_EXPLICIT_LE); /* default when the entry has none */
	text(pacs_elem_item(seq, 10), T(0004, 1510), buf, sizeof(buf));
	assert_string_equal(buf, "1.2.840.10008.5.1.4.1.1.4");
	pacs_ds_free(ds);

	/* and the reader gets the four files back, in record order */
	assert_int_equal(pacs_dicomdir_read(&d, bytes, len), 0);
	assert_int_equal(pacs_dicomdir_count(d), 4);
	assert_string_equal(pacs_dicomdir_at(d, 0)->path, "DICOM/P1/S1/R1/I1");
	assert_string_equal(pacs_dicomdir_at(d, 1)->path, "DICOM/P1/S1/R1/I2");
	assert_string_equal(pacs_dicomdir_at(d, 2)->path, "DICOM/P1/S1/R2/I1");
	assert_string_equal(pacs_dicomdir_at(d, 3)->path, "DICOM/P2/S2/R2/I1");
	assert_string_equal(pacs_dicomdir_at(d, 3)->sop_instance, "1.2.3.2.1.1");
	pacs_dicomdir_free(d);
	free(bytes);
}

/* One Patient ID under two issuers is two patients (two PATIENT records). */
static void test_build_issuers(void **state)
{
	pacs_dicomdir_entry e[2] = { entries[0], entries[0] };
	uint8_t *bytes = NULL;
	size_t len = 0, patients = 0;
	pacs_ds *ds = NULL;
	pacs_read_opts ro;
	const pacs_elem *seq;
	char buf[32];

	(void)state;
	e[1].issuer = "OTHER";
	e[1].study_uid = "1.2.3.9";
	e[1].series_uid = "1.2.3.9.1";
	e[1].sop_instance = "1.2.3.9.1.1";
	e[1].file_id = "DICOM/P2/S1/R1/I1";
	assert_int_equal(pacs_dicomdir_build(&bytes, &len, "ARCA", e, 2), 0);
	pacs_read_opts_init(&ro);
	assert_int_equal(pacs_read_buffer(&ds, bytes, len, &ro), 0);
	seq = pacs_ds_find(ds, T(0004, 1220));
	assert_int_equal(pacs_elem_item_count(seq), 8);
	for (size_t i = 0; i < 8; i++) {
		type_of(pacs_elem_item(seq, i), buf, sizeof(buf));
		patients += strcmp(buf, "PATIENT") == 0;
	}
	assert_int_equal(patients, 2);
	pacs_ds_free(ds);
	free(bytes);
}

static void test_build_refuses(void **state)
{
	pacs_dicomdir_entry e = entries[0];
	uint8_t *bytes = NULL;
	size_t len = 0;

	(void)state;
	e.file_id = "DICOM/../ETC";
	assert_int_equal(pacs_dicomdir_build(&bytes, &len, "X", &e, 1), ARCA_EINVAL);
	assert_null(bytes);
	e = entries[0];
	e.sop_instance = "";
	assert_int_equal(pacs_dicomdir_build(&bytes, &len, "X", &e, 1), ARCA_EINVAL);
	/* an empty File-set is a valid DICOMDIR with no records */
	assert_int_equal(pacs_dicomdir_build(&bytes, &len, NULL, entries, 0), 0);
	{
		pacs_dicomdir *d = NULL;
		assert_int_equal(pacs_dicomdir_read(&d, bytes, len), 0);
		assert_int_equal(pacs_dicomdir_records(d), 0);
		pacs_dicomdir_free(d);
	}
	free(bytes);
}

/* ---- the samples ---- */

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_samples(void **state)
{
	static const char *const names[] = { "DICOMDIR", "DICOMDIR-bigEnd", "DICOMDIR-implicit", "DICOMDIR-nooffset",
					     "DICOMDIR-reordered", "DICOMDIR-nopatient" };
	const char *dir = getenv("ARCA_SAMPLES");
	char path[4096];

	(void)state;
	if (dir == NULL || dir[0] == '\0') {
		skip();
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pacs_dicomdir *d = NULL;
		uint8_t *data;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/dicomdir/%s", dir, names[i]);
		data = slurp(path, &len);
		if (data == NULL) {
			skip();
			return;
		}
		assert_int_equal(pacs_dicomdir_read(&d, data, len), 0);
		/* 31 referenced instances (samples README) */
		assert_int_equal(pacs_dicomdir_count(d), 31);
		for (size_t k = 0; k < 31; k++) {
			assert_non_null(pacs_dicomdir_at(d, k)->path);
			assert_int_equal(pacs_dicomdir_check_path(pacs_dicomdir_at(d, k)->path), 0);
		}
		pacs_dicomdir_free(d);
		free(data);
	}
	{
		pacs_dicomdir *d = NULL;
		uint8_t *data;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/dicomdir/DICOMDIR-empty.dcm", dir);
		data = slurp(path, &len);
		if (data != NULL) {
			assert_int_equal(pacs_dicomdir_read(&d, data, len), 0);
			assert_int_equal(pacs_dicomdir_count(d), 0);
			pacs_dicomdir_free(d);
			free(data);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_path),
		cmocka_unit_test(test_parse_records),
		cmocka_unit_test(test_not_a_dicomdir),
		cmocka_unit_test(test_build_read_back),
		cmocka_unit_test(test_build_issuers),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
