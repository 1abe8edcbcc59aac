/* pacs_norm_test.c - validation and normalisation at ingest (pacs_norm.h)
 * and UIDs (pacs_uid.h): the rules parser (good files and each kind of
 * error with file:line), every normalisation with its Original Attributes
 * Sequence item checked element by element and byte by byte, character
 * set conversion of a Latin-1 and an ISO 2022 Japanese data set with the
 * originals kept decodable, refusals and warnings with their status and
 * comment, a conformant instance left unchanged, and every file of
 * $ARCA_SAMPLES through samples/normalise.conf (outcome counts printed). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_err.h"
#include "pacs_ds.h"
#include "pacs_norm.h"
#include "pacs_read.h"
#include "pacs_tags.h"
#include "pacs_uid.h"
#include "pacs_write.h"

#ifndef ARCA_TEST_SRCDIR
#define ARCA_TEST_SRCDIR "."
#endif

#define NOW "20260102030405.000000+0000"
#define S(x) (x), (sizeof(x) - 1)

/* ---------------------------------------------------------------- helpers */

static const char *srcdir(void)
{
	const char *d = getenv("ARCA_SRCDIR");
	return d != NULL ? d : ARCA_TEST_SRCDIR;
}

static pacs_norm_rules *parse(const char *text)
{
	pacs_norm_rules *r = NULL;
	int rc = pacs_norm_rules_parse(&r, text, strlen(text), "t.conf");

	if (rc != 0)
		fail_msg("rules did not parse: %d %s", rc, arca_error_last());
	return r;
}

static pacs_norm_rules *sample_rules(void)
{
	char path[4096];
	pacs_norm_rules *r = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/samples/normalise.conf", srcdir());
	rc = pacs_norm_rules_load(&r, path);
	if (rc != 0)
		fail_msg("%s: %d %s", path, rc, arca_error_last());
	return r;
}

static void set(pacs_ds *ds, uint32_t tag, pacs_vr vr, const char *bytes, size_t len)
{
	assert_int_equal(pacs_ds_set(ds, tag, vr, bytes, (uint32_t)len), 0);
}

static void set_str(pacs_ds *ds, uint32_t tag, pacs_vr vr, const char *s)
{
	assert_int_equal(pacs_ds_set_string(ds, tag, vr, s), 0);
}

/* A conformant CT instance in the default repertoire. */
static pacs_ds *base_ds(void)
{
	pacs_ds *ds = NULL;

	assert_int_equal(pacs_ds_new(&ds), 0);
	set_str(ds, PACS_TAG_ImageType, PACS_VR_CS, "ORIGINAL\\PRIMARY\\AXIAL");
	set_str(ds, PACS_TAG_SOPClassUID, PACS_VR_UI, "1.2.840.10008.5.1.4.1.1.2");
	set_str(ds, PACS_TAG_SOPInstanceUID, PACS_VR_UI, "1.2.826.0.1.3680043.2.1125.1.3");
	set_str(ds, PACS_TAG_StudyDate, PACS_VR_DA, "20260102");
	set_str(ds, PACS_TAG_StudyTime, PACS_VR_TM, "101500");
	set_str(ds, PACS_TAG_AccessionNumber, PACS_VR_SH, "A123");
	set_str(ds, PACS_TAG_Modality, PACS_VR_CS, "CT");
	set_str(ds, PACS_TAG_InstitutionName, PACS_VR_LO, "General Hospital");
	set_str(ds, PACS_TAG_StudyDescription, PACS_VR_LO, "CT CHEST");
	set_str(ds, PACS_TAG_PatientName, PACS_VR_PN, "DOE^JOHN");
	set_str(ds, PACS_TAG_PatientID, PACS_VR_LO, "P0001");
	set_str(ds, PACS_TAG_PatientBirthDate, PACS_VR_DA, "19700101");
	set_str(ds, PACS_TAG_PatientSex, PACS_VR_CS, "M");
	set_str(ds, PACS_TAG_PatientAge, PACS_VR_AS, "056Y");
	set_str(ds, PACS_TAG_BodyPartExamined, PACS_VR_CS, "CHEST");
	set_str(ds, PACS_TAG_SliceThickness, PACS_VR_DS, "1.25");
	set_str(ds, PACS_TAG_StudyInstanceUID, PACS_VR_UI, "1.2.826.0.1.3680043.2.1125.1.1");
	set_str(ds, PACS_TAG_SeriesInstanceUID, PACS_VR_UI, "1.2.826.0.1.3680043.2.1125.1.2");
	set_str(ds, PACS_TAG_SeriesNumber, PACS_VR_IS, "2");
	set_str(ds, PACS_TAG_InstanceNumber, PACS_VR_IS, "17");
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_Rows, 512), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_Columns, 512), 0);
	return ds;
}

static pacs_norm_result *run(const pacs_norm_rules *rules, pacs_ds *ds)
{
	pacs_norm_opts o = {NOW, "MODALITY_AE"};
	pacs_norm_result *res = NULL;
	int rc = pacs_norm_run(rules, ds, &o, &res);

	if (rc != 0)
		fail_msg("pacs_norm_run: %d %s", rc, arca_error_last());
	assert_non_null(res);
	return res;
}

static uint8_t *write_ds(const pacs_ds *ds, size_t *len)
{
	pacs_write_opts o;
	uint8_t *out = NULL;
	int rc;

	pacs_write_opts_init(&o);
	o.ts_uid = "1.2.840.10008.1.2.1";
	rc = pacs_write_buffer(ds, &o, &out, len);
	if (rc != 0)
		fail_msg("write: %d %s", rc, arca_error_last());
	return out;
}

/* Written (Part 10, ts) and read back. */
static pacs_ds *reread(const pacs_ds *ds, const char *ts)
{
	pacs_write_opts wo;
	pacs_read_opts ro;
	pacs_ds *back = NULL;
	uint8_t *bytes = NULL;
	size_t n;

	pacs_write_opts_init(&wo);
	wo.ts_uid = ts;
	if (pacs_write_buffer(ds, &wo, &bytes, &n) != 0)
		fail_msg("write in %s: %s", ts, arca_error_last());
	pacs_read_opts_init(&ro);
	if (pacs_read_buffer(&back, bytes, n, &ro) != 0)
		fail_msg("read back from %s: %s", ts, arca_error_last());
	free(bytes);
	return back;
}

static void expect_bytes(const pacs_ds *ds, uint32_t tag, const char *bytes, size_t len)
{
	const pacs_elem *e = pacs_ds_find(ds, tag);
	const uint8_t *v;
	uint32_t n;

	if (e == NULL)
		fail_msg("(%04X,%04X) absent", PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
	v = pacs_elem_value(e, &n);
	assert_non_null(v);
	if (n != len || (len > 0 && memcmp(v, bytes, len) != 0))
		fail_msg("(%04X,%04X): %u bytes '%.*s', expected %zu bytes '%.*s'", PACS_TAG_GROUP(tag),
			 PACS_TAG_ELEMENT(tag), n, (int)n, (const char *)v, len, (int)len, bytes);
}

static pacs_vr vr_of(const pacs_ds *ds, uint32_t tag)
{
	const pacs_elem *e = pacs_ds_find(ds, tag);
	assert_non_null(e);
	return pacs_elem_vr(e);
}

/* The last Original Attributes Sequence item, its fixed part checked. */
static const pacs_ds *oas_item(const pacs_ds *ds, size_t expect_items, const char *reason)
{
	const pacs_elem *oas = pacs_ds_find(ds, PACS_TAG_OriginalAttributesSequence);
	const pacs_ds *item;

	assert_non_null(oas);
	assert_true(pacs_elem_is_sequence(oas));
	assert_int_equal(pacs_elem_item_count(oas), expect_items);
	item = pacs_elem_item(oas, expect_items - 1);
	expect_bytes(item, PACS_TAG_AttributeModificationDateTime, S(NOW));
	assert_int_equal(vr_of(item, PACS_TAG_AttributeModificationDateTime), PACS_VR_DT);
	expect_bytes(item, PACS_TAG_ModifyingSystem, S("ARCA"));
	assert_int_equal(vr_of(item, PACS_TAG_ModifyingSystem), PACS_VR_LO);
	expect_bytes(item, PACS_TAG_SourceOfPreviousValues, S("MODALITY_AE "));
	{
		char padded[16];
		size_t n = strlen(reason);
		memcpy(padded, reason, n);
		if (n % 2 != 0)
			padded[n++] = ' ';
		expect_bytes(item, PACS_TAG_ReasonForTheAttributeModification, padded, n);
	}
	assert_int_equal(vr_of(item, PACS_TAG_ReasonForTheAttributeModification), PACS_VR_CS);
	return item;
}

/* The single item of the Modified Attributes Sequence. */
static const pacs_ds *mas_item(const pacs_ds *oas)
{
	const pacs_elem *mas = pacs_ds_find(oas, PACS_TAG_ModifiedAttributesSequence);

	assert_non_null(mas);
	assert_int_equal(pacs_elem_item_count(mas), 1);
	return pacs_elem_item(mas, 0);
}

/* Nonconforming Modified Attributes Sequence item i: selector and bytes. */
static void expect_nonconf(const pacs_ds *oas, size_t i, uint32_t tag, const char *bytes, size_t len)
{
	const pacs_elem *seq = pacs_ds_find(oas, PACS_TAG_NonconformingModifiedAttributesSequence);
	const pacs_ds *item;
	uint8_t at[4] = {(uint8_t)(tag >> 16), (uint8_t)(tag >> 24), (uint8_t)tag, (uint8_t)(tag >> 8)};

	assert_non_null(seq);
	assert_true(i < pacs_elem_item_count(seq));
	item = pacs_elem_item(seq, i);
	expect_bytes(item, PACS_TAG_SelectorAttribute, (const char *)at, 4);
	assert_int_equal(vr_of(item, PACS_TAG_SelectorAttribute), PACS_VR_AT);
	expect_bytes(item, PACS_TAG_SelectorValueNumber, "\0\0", 2);
	expect_bytes(item, PACS_TAG_NonconformingDataElementValue, bytes, len);
	assert_int_equal(vr_of(item, PACS_TAG_NonconformingDataElementValue), PACS_VR_OB);
}

static const pacs_norm_hit *find_hit(const pacs_norm_result *res, const char *rule, uint32_t tag)
{
	for (size_t i = 0; i < res->n_hits; i++)
		if (strcmp(res->hits[i].rule, rule) == 0 && res->hits[i].tag == tag)
			return &res->hits[i];
	return NULL;
}

/* ---------------------------------------------------------------- UIDs */

static void test_uid_check(void **state)
{
	static const char *const good[] = {
		"1.2", "1.2.840.10008.1.2.1", "0.0", "2.25.329800735698586629295641978511506172918",
		"1.2.840.10008.1.2.1.12345678901234567890.12345678901234567890123", /* 64 characters */
	};
	static const struct {
		const char *uid;
		const char *why;
	} bad[] = {
		{"", "is empty"},
		{"1", "single component"},
		{"1..2", "empty component"},
		{"1.2.", "empty component"},
		{".1.2", "empty component"},
		{"1.02.3", "leading zero (component 2, offset 2"},
		{"1.2.3a", "other than a digit or '.' (component 3, offset 5"},
		{"1.2 .3", "other than a digit"},
		{"1.2.840.10008.1.2.1.12345678901234567890.123456789012345678901234", "longer than 64"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(strlen(good[i]) <= 64);
		if (pacs_uid_check(good[i], strlen(good[i])) != 0)
			fail_msg("'%s' refused: %s", good[i], arca_error_last());
		assert_true(pacs_uid_is_valid(good[i], strlen(good[i])));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(pacs_uid_is_valid(bad[i].uid, strlen(bad[i].uid)));
		assert_int_equal(pacs_uid_check(bad[i].uid, strlen(bad[i].uid)), ARCA_EPROTO);
		if (strstr(arca_error_last(), bad[i].why) == NULL)
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].uid, arca_error_last(), bad[i].why);
	}
}

static void test_uid_generate(void **state)
{
	/* ITU-T X.667 / PS3.5 B.2: the UUID f81d4fae-7dec-11d0-a765-00a0c91e6bf6 */
	static const uint8_t uuid[16] = {0xf8, 0x1d, 0x4f, 0xae, 0x7d, 0xec, 0x11, 0xd0,
					 0xa7, 0x65, 0x00, 0xa0, 0xc9, 0x1e, 0x6b, 0xf6};
	static const uint8_t zero[16] = {0};
	static const uint8_t ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	char a[PACS_UID_MAX + 1], b[PACS_UID_MAX + 1];

	(void)state;
	pacs_uid_from_uuid(a, uuid);
	assert_string_equal(a, "2.25.329800735698586629295641978511506172918");
	pacs_uid_from_uuid(a, zero);
	assert_string_equal(a, "2.25.0");
	pacs_uid_from_uuid(a, ones);
	assert_string_equal(a, "2.25.340282366920938463463374607431768211455");
	assert_int_equal(pacs_uid_generate(a), 0);
	assert_int_equal(pacs_uid_generate(b), 0);
	assert_true(strncmp(a, "2.25.", 5) == 0);
	assert_true(pacs_uid_is_valid(a, strlen(a)));
	assert_true(pacs_uid_is_valid(b, strlen(b)));
	assert_true(strcmp(a, b) != 0);
}

/* ---------------------------------------------------------------- rules */

static void test_rules_good(void **state)
{
	pacs_norm_rules *r;

	(void)state;
	r = parse("# a comment\n"
		  "; another\n"
		  "\n"
		  "[options]\n"
		  "modifying-system = \"ARCA node 1\"   # inline comment\n"
		  "reason = CORRECT\n"
		  "fix-status = 0000\n"
		  "instance-coercion-datetime = no\n"
		  "[required patient]\n"
		  "pid = refuse PatientID type=2\n"
		  "pname = warn (0010,0010) status=B006\n"
		  "[required instance]\n"
		  "sop = refuse 00080018 status=C001\n"
		  "[values]\n"
		  "sex = warn PatientSex in M F O\n"
		  "mod = refuse Modality in @modality CUSTOM \"TWO WORDS\"\n"
		  "w = warn PatientWeight range 0 700\n"
		  "[check]\n"
		  "uid = refuse\n"
		  "vr = warn\n"
		  "length = ignore\n"
		  "vm = warn\n"
		  "decode = refuse status=C000\n"
		  "[normalize]\n"
		  "charset = fix always\n"
		  "person-name = fix comma trim\n"
		  "padding = fix trim\n"
		  "patient-sex = fix unknown=refuse\n"
		  "[map Modality]\n"
		  "MRI = MR\n"
		  "\"N M R\" = MR\n"
		  "[map BodyPartExamined id=bp action=warn]\n"
		  "Thorax = CHEST\r\n"
		  "[code StudyDescription ProcedureCodeSequence]\n"
		  "CT THORAX = CT1 | 99LOCAL | CT of the chest\n");
	assert_int_equal(pacs_norm_rules_count(r), 18);
	assert_string_equal(pacs_norm_rules_name(r), "t.conf");
	pacs_norm_rules_free(r);

	/* empty text: no rules, nothing to do */
	r = parse("");
	assert_int_equal(pacs_norm_rules_count(r), 0);
	pacs_norm_rules_free(r);
	pacs_norm_rules_free(NULL);

	/* the documented default loads */
	r = sample_rules();
	assert_true(pacs_norm_rules_count(r) >= 20);
	pacs_norm_rules_free(r);
}

static void test_rules_errors(void **state)
{
	static const struct {
		const char *text;
		const char *message; /* begins the error message */
	} cases[] = {
		{"x = y\n", "t.conf:1: 'x = ...' outside a section"},
		{"[values]\n\n[bogus]\n", "t.conf:3: unknown section [bogus]"},
		{"[required ward]\n", "t.conf:1: unknown level 'ward'"},
		{"[required]\n", "t.conf:1: expected [required LEVEL]"},
		{"[check\n", "t.conf:1: a section header must end with ']'"},
		{"[check]\nuid refuse\n", "t.conf:2: expected KEY = VALUE"},
		{"[check]\nuid = fixx\n", "t.conf:2: unknown action 'fixx'"},
		{"[check]\nuid = fix\n", "t.conf:2: rule 'uid' cannot fix"},
		{"[check]\nspelling = warn\n", "t.conf:2: unknown check 'spelling'"},
		{"[check]\nuid = warn loudly\n", "t.conf:2: unexpected 'loudly'"},
		{"[check]\nuid = warn\nuid = refuse\n", "t.conf:3: rule 'uid' is already defined at line 2"},
		{"[check]\nuid = refuse status=B000\n", "t.conf:2: status B000 of a refuse rule must be a failure"},
		{"[check]\nuid = warn status=A900\n", "t.conf:2: status A900 of a warn rule must be a warning"},
		{"[check]\nuid = warn status=12\n", "t.conf:2: status '12' is not four hexadecimal digits"},
		{"[normalise]\ntidy = fix\n", "t.conf:2: unknown normalisation 'tidy'"},
		{"[normalise]\nperson-name = fix commas\n", "t.conf:2: unknown option 'commas'"},
		{"[normalise]\nperson-name = fix\n", "t.conf:2: person-name needs what to do"},
		{"[required patient]\npid = refuse PatientID type=3\n", "t.conf:2: expected: ID = ACTION ATTRIBUTE"},
		{"[normalise]\npatient-sex = fix unknown=X\n", "t.conf:2: unknown=X: expected O, empty"},
		{"[required study]\nbad id! = refuse StudyInstanceUID\n", "t.conf:2: rule id 'bad id!'"},
		{"[required study]\nsuid = refuse StudyInstanceUUID\n", "t.conf:2: unknown attribute 'StudyInstanceUUID'"},
		{"[required study]\nsuid = refuse\n", "t.conf:2: expected: ID = ACTION ATTRIBUTE"},
		{"[values]\nsex = warn PatientSex M F\n", "t.conf:2: expected 'in' or 'range'"},
		{"[values]\nsex = warn PatientSex in\n", "t.conf:2: 'in' needs at least one value"},
		{"[values]\nsex = warn PatientSex in @colours\n", "t.conf:2: unknown table '@colours'"},
		{"[values]\nw = warn PatientWeight range 10 1\n", "t.conf:2: range minimum 10 is above the maximum 1"},
		{"[values]\nw = warn PatientWeight range ten 20\n", "t.conf:2: 'ten' is not a number"},
		{"[values]\nw = fix PatientWeight range 1 2\n", "t.conf:2: rule 'w' cannot fix"},
		{"[values]\nm = warn Modality in \"CT\n", "t.conf:2: unterminated \"quoted\" word"},
		{"[options]\nreason = BECAUSE\n", "t.conf:2: reason must be auto, COERCE or CORRECT"},
		{"[options]\nfix-status = A900\n", "t.conf:2: fix-status must be 0000 or a warning"},
		{"[options]\ncolour = blue\n", "t.conf:2: unknown option 'colour'"},
		{"[map]\n", "t.conf:1: expected [map ATTRIBUTE"},
		{"[map Modality]\nMRI = mr\n", "t.conf:2: 'mr' cannot be a value of Modality: not a CS"},
		{"[map Modality]\nMRI = MR\nmri = MR\n", "t.conf:3: 'mri' is already mapped at line 2"},
		{"[map Modality]\nMRI = MR CT\n", "t.conf:2: expected: LOCAL TERM = STANDARD-TERM"},
		{"[map Modality colour=red]\n", "t.conf:1: unknown section option 'colour=red'"},
		{"[code StudyDescription PatientID]\n", "t.conf:1: 'PatientID' is not a sequence attribute"},
		{"[code StudyDescription ProcedureCodeSequence]\nX = 1 | 99L\n", "t.conf:2: expected: LOCAL TERM = CODE"},
		{"[code StudyDescription ProcedureCodeSequence]\nX = 1 | | M\n", "t.conf:2: empty field 2"},
		{"[code StudyDescription ProcedureCodeSequence]\nX = 12345678901234567 | 99L | M\n",
		 "t.conf:2: code value and scheme are at most 16"},
		{"[check]\n\xff = warn\n", "t.conf:2: not UTF-8 text"},
		{"[check]\nuid = warn\n\n\n= warn\n", "t.conf:5: empty key before '='"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pacs_norm_rules *r = (pacs_norm_rules *)1;
		int rc = pacs_norm_rules_parse(&r, cases[i].text, strlen(cases[i].text), "t.conf");
		if (rc != ARCA_EPROTO)
			fail_msg("case %zu: rc %d (%s)", i, rc, arca_error_last());
		assert_null(r);
		if (strncmp(arca_error_last(), cases[i].message, strlen(cases[i].message)) != 0)
			fail_msg("case %zu: '%s' does not begin with '%s'", i, arca_error_last(), cases[i].message);
	}
	/* a NUL byte and an over-long line */
	{
		pacs_norm_rules *r = NULL;
		char *big = malloc(5000);
		assert_int_equal(pacs_norm_rules_parse(&r, "[check]\nuid\0 = warn\n", 20, "t.conf"), ARCA_EPROTO);
		assert_string_equal(arca_error_last(), "t.conf:2: NUL byte in the rules text");
		assert_non_null(big);
		memset(big, 'x', 5000);
		memcpy(big, "[check]\n", 8);
		assert_int_equal(pacs_norm_rules_parse(&r, big, 5000, "t.conf"), ARCA_EPROTO);
		assert_string_equal(arca_error_last(), "t.conf:2: line longer than 4096 bytes");
		free(big);
	}
}

static void test_rules_load(void **state)
{
	pacs_norm_rules *r = NULL;
	char path[] = "/tmp/pacs_norm_test_XXXXXX";
	int fd;
	FILE *f;

	(void)state;
	assert_int_equal(pacs_norm_rules_load(&r, "/nonexistent/normalise.conf"), ARCA_EIO);
	assert_non_null(strstr(arca_error_last(), "/nonexistent/normalise.conf: cannot open"));
	/* errors in a loaded file name the file */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("[check]\nuid = maybe\n", f);
	fclose(f);
	assert_int_equal(pacs_norm_rules_load(&r, path), ARCA_EPROTO);
	assert_true(strncmp(arca_error_last(), path, strlen(path)) == 0);
	assert_non_null(strstr(arca_error_last(), ":2: unknown action 'maybe'"));
	/* over the size limit */
	f = fopen(path, "w");
	for (int i = 0; i < 40000; i++)
		fputs("# padding line to go over one mebibyte\n", f);
	fclose(f);
	assert_int_equal(pacs_norm_rules_load(&r, path), ARCA_ELIMIT);
	remove(path);
	assert_null(r);
}

/* ---------------------------------------------------------------- runs */

static void test_conformant_unchanged(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	uint8_t *before, *after;
	size_t nb, na;

	(void)state;
	/* conformant, though not in the shortest form: kept as sent */
	set(ds, PACS_TAG_InstitutionName, PACS_VR_LO, S("General Hospital  "));
	set_str(ds, PACS_TAG_ReferringPhysicianName, PACS_VR_PN, "^^^^");
	set_str(ds, PACS_TAG_PerformingPhysicianName, PACS_VR_PN, "SMITH^JANE^^^=");
	set(ds, PACS_TAG_ImageType, PACS_VR_CS, S("ORIGINAL \\PRIMARY "));
	set(ds, PACS_TAG_PatientID, PACS_VR_LO, "", 0); /* Type 2: may be empty */
	before = write_ds(ds, &nb);
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_ACCEPTED);
	assert_int_equal(res->status, 0x0000);
	assert_string_equal(res->comment, "");
	assert_string_equal(res->explanation, "");
	assert_int_equal(res->n_hits, 0);
	assert_false(res->oas_added);
	assert_null(pacs_ds_find(ds, PACS_TAG_OriginalAttributesSequence));
	after = write_ds(ds, &na);
	assert_int_equal(na, nb);
	assert_memory_equal(after, before, nb);
	free(before);
	free(after);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_required_refuse(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	const pacs_norm_hit *h;

	(void)state;
	assert_int_equal(pacs_ds_remove(ds, PACS_TAG_PatientID), 0);
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_REFUSED);
	assert_int_equal(res->status, 0xA900);
	assert_string_equal(res->comment, "patient-id: PatientID (0010,0020) missing");
	assert_true(strlen(res->comment) <= 64);
	assert_int_equal(res->n_refused, 1);
	h = find_hit(res, "patient-id", PACS_TAG_PatientID);
	assert_non_null(h);
	assert_string_equal(h->kind, "required");
	assert_int_equal(h->action, PACS_NORM_REFUSE);
	assert_int_equal(h->status, 0xA900);
	assert_string_equal(h->path, "(0010,0020)");
	assert_null(h->old_value);
	assert_null(h->new_value);
	assert_non_null(strstr(h->message, "required at patient level"));
	assert_non_null(strstr(res->explanation, "normalise.conf:"));
	assert_non_null(strstr(res->explanation, " patient-id refuse (0010,0020) PatientID is missing (required at patient level)\n"));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);

	/* a Type 1 UID must be a UID */
	ds = base_ds();
	set_str(ds, PACS_TAG_StudyInstanceUID, PACS_VR_UI, "1.2.03");
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_REFUSED);
	assert_int_equal(res->status, 0xA900);
	assert_string_equal(res->comment, "study-uid: StudyInstanceUID (0020,000D) not a UID (PS3.5 9.1)");
	h = find_hit(res, "study-uid", PACS_TAG_StudyInstanceUID);
	assert_non_null(h);
	assert_string_equal(h->old_value, "1.2.03");
	pacs_norm_result_free(res);
	pacs_ds_free(ds);

	/* empty counts as missing; a rule's own status */
	pacs_norm_rules_free(rules);
	rules = parse("[required study]\nstudy-uid = refuse StudyInstanceUID status=C002\n");
	ds = base_ds();
	set(ds, PACS_TAG_StudyInstanceUID, PACS_VR_UI, "", 0);
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_REFUSED);
	assert_int_equal(res->status, 0xC002);
	assert_string_equal(res->comment, "study-uid: StudyInstanceUID (0020,000D) empty");
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_warn_status(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	const pacs_norm_hit *h;

	(void)state;
	set_str(ds, PACS_TAG_Modality, PACS_VR_CS, "XYZ");
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB007);
	assert_string_equal(res->comment, "modality-terms: Modality (0008,0060) not allowed");
	assert_int_equal(res->n_warned, 1);
	assert_int_equal(res->n_fixed, 0);
	h = find_hit(res, "modality-terms", PACS_TAG_Modality);
	assert_non_null(h);
	assert_string_equal(h->kind, "values");
	assert_string_equal(h->old_value, "XYZ");
	assert_null(h->new_value);
	assert_false(res->oas_added);
	expect_bytes(ds, PACS_TAG_Modality, S("XYZ "));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);

	/* range and VR format warnings */
	ds = base_ds();
	set_str(ds, PACS_TAG_PatientWeight, PACS_VR_DS, "1200");
	set_str(ds, PACS_TAG_SliceThickness, PACS_VR_DS, "1,25");
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB007);
	assert_non_null(find_hit(res, "weight-range", PACS_TAG_PatientWeight));
	h = find_hit(res, "vr", PACS_TAG_SliceThickness);
	assert_non_null(h);
	assert_non_null(strstr(h->message, "not a DS"));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_date_time(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	const pacs_ds *oas, *mas;
	const pacs_norm_hit *h;

	(void)state;
	set_str(ds, PACS_TAG_StudyDate, PACS_VR_DA, "2026.11.28");
	set_str(ds, PACS_TAG_StudyTime, PACS_VR_TM, "10:15:00");
	set_str(ds, PACS_TAG_AcquisitionDateTime, PACS_VR_DT, "2026-11-28T10:15:00.5+01:00");
	set_str(ds, PACS_TAG_SeriesDate, PACS_VR_DA, "2026-11-28");
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB000);
	assert_int_equal(res->n_fixed, 4);
	assert_string_equal(res->comment, "date-time: StudyDate (0008,0020) date/time form (+3)");
	expect_bytes(ds, PACS_TAG_StudyDate, S("20261128"));
	expect_bytes(ds, PACS_TAG_SeriesDate, S("20261128"));
	expect_bytes(ds, PACS_TAG_StudyTime, S("101500"));
	expect_bytes(ds, PACS_TAG_AcquisitionDateTime, S("20261128101500.5+0100 "));
	expect_bytes(ds, PACS_TAG_InstanceCoercionDateTime, S(NOW));
	h = find_hit(res, "date-time", PACS_TAG_StudyDate);
	assert_non_null(h);
	assert_string_equal(h->old_value, "2026.11.28");
	assert_string_equal(h->new_value, "20261128");
	assert_int_equal(h->status, 0xB000);

	oas = oas_item(ds, 1, "CORRECT");
	mas = mas_item(oas);
	/* PS3.3 C.12.1.1.9: values nonconforming to their VR are zero length
	 * here, their bytes in the Nonconforming Modified Attributes Sequence */
	expect_bytes(mas, PACS_TAG_StudyDate, "", 0);
	assert_int_equal(vr_of(mas, PACS_TAG_StudyDate), PACS_VR_DA);
	expect_bytes(mas, PACS_TAG_SeriesDate, "", 0);
	expect_bytes(mas, PACS_TAG_StudyTime, "", 0);
	expect_bytes(mas, PACS_TAG_AcquisitionDateTime, "", 0);
	/* absent before: zero length */
	expect_bytes(mas, PACS_TAG_InstanceCoercionDateTime, "", 0);
	assert_int_equal(pacs_ds_count(mas), 5);
	/* in tag order: StudyDate, SeriesDate, AcquisitionDateTime, StudyTime */
	expect_nonconf(oas, 0, PACS_TAG_StudyDate, S("2026.11.28"));
	expect_nonconf(oas, 1, PACS_TAG_SeriesDate, S("2026-11-28"));
	expect_nonconf(oas, 2, PACS_TAG_AcquisitionDateTime, S("2026-11-28T10:15:00.5+01:00 "));
	expect_nonconf(oas, 3, PACS_TAG_StudyTime, S("10:15:00"));
	pacs_norm_result_free(res);

	/* the item survives writing in every byte order */
	{
		static const char *const ts[] = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"};
		for (size_t i = 0; i < 3; i++) {
			pacs_ds *back = reread(ds, ts[i]);
			const pacs_ds *o2 = oas_item(back, 1, "CORRECT");
			expect_bytes(mas_item(o2), PACS_TAG_StudyDate, "", 0);
			expect_nonconf(o2, 0, PACS_TAG_StudyDate, S("2026.11.28"));
			expect_nonconf(o2, 3, PACS_TAG_StudyTime, S("10:15:00"));
			pacs_ds_free(back);
		}
	}

	/* a second run finds nothing more to do */
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_ACCEPTED);
	assert_int_equal(res->n_hits, 0);
	assert_int_equal(pacs_elem_item_count(pacs_ds_find(ds, PACS_TAG_OriginalAttributesSequence)), 1);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_person_name(void **state)
{
	pacs_norm_rules *rules = parse("[normalise]\nperson-name = fix comma trim\n");
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	const pacs_ds *oas, *mas;

	(void)state;
	set_str(ds, PACS_TAG_PatientName, PACS_VR_PN, "DOE, JOHN");
	set_str(ds, PACS_TAG_ReferringPhysicianName, PACS_VR_PN, "SMITH^JANE^^^");
	set_str(ds, PACS_TAG_PerformingPhysicianName, PACS_VR_PN, "Yamada^Tarou^^=^=\\WHO^^");
	set_str(ds, PACS_TAG_OperatorsName, PACS_VR_PN, "OK^ALREADY");
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB000);
	assert_int_equal(res->n_fixed, 3);
	expect_bytes(ds, PACS_TAG_PatientName, S("DOE^JOHN"));
	expect_bytes(ds, PACS_TAG_ReferringPhysicianName, S("SMITH^JANE"));
	expect_bytes(ds, PACS_TAG_PerformingPhysicianName, S("Yamada^Tarou\\WHO"));
	expect_bytes(ds, PACS_TAG_OperatorsName, S("OK^ALREADY"));
	oas = oas_item(ds, 1, "CORRECT");
	mas = mas_item(oas);
	/* PN values conform to their VR: the originals, byte for byte */
	expect_bytes(mas, PACS_TAG_PatientName, S("DOE, JOHN "));
	expect_bytes(mas, PACS_TAG_ReferringPhysicianName, S("SMITH^JANE^^^ "));
	expect_bytes(mas, PACS_TAG_PerformingPhysicianName, S("Yamada^Tarou^^=^=\\WHO^^ "));
	assert_int_equal(vr_of(mas, PACS_TAG_PatientName), PACS_VR_PN);
	assert_int_equal(pacs_ds_count(mas), 3);
	assert_null(pacs_ds_find(oas, PACS_TAG_NonconformingModifiedAttributesSequence));
	assert_null(pacs_ds_find(ds, PACS_TAG_InstanceCoercionDateTime)); /* option off */
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);

	/* without "comma" a comma stays, without "trim" the carets */
	rules = parse("[normalise]\nperson-name = fix trim\n");
	ds = base_ds();
	set_str(ds, PACS_TAG_PatientName, PACS_VR_PN, "DOE, JOHN");
	res = run(rules, ds);
	assert_int_equal(res->n_hits, 0);
	expect_bytes(ds, PACS_TAG_PatientName, S("DOE, JOHN "));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
	rules = parse("[normalise]\nperson-name = fix comma\n");
	ds = base_ds();
	set_str(ds, PACS_TAG_PatientName, PACS_VR_PN, "DOE,JOHN");
	set_str(ds, PACS_TAG_ReferringPhysicianName, PACS_VR_PN, "SMITH^JANE^^^");
	res = run(rules, ds);
	assert_int_equal(res->n_fixed, 1);
	expect_bytes(ds, PACS_TAG_PatientName, S("DOE^JOHN"));
	expect_bytes(ds, PACS_TAG_ReferringPhysicianName, S("SMITH^JANE^^^ "));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_padding_and_case(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	const pacs_ds *oas, *mas;

	(void)state;
	/* conforming padding stays; what does not conform is fixed */
	set(ds, PACS_TAG_InstitutionName, PACS_VR_LO, S("General Hospital      "));
	set(ds, PACS_TAG_StudyDescription, PACS_VR_LO, S("CT CHEST\0\0"));
	set(ds, PACS_TAG_AccessionNumber, PACS_VR_SH, S("A12"));
	set(ds, PACS_TAG_SeriesInstanceUID, PACS_VR_UI, S("1.2.826.0.1.3680043.2.1125.1.23 "));
	set(ds, PACS_TAG_ImageType, PACS_VR_CS, S("ORIGINAL  \\PRIMARY"));
	set(ds, PACS_TAG_Modality, PACS_VR_CS, S("mr"));
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB000);
	assert_int_equal(res->n_fixed, 4);
	expect_bytes(ds, PACS_TAG_InstitutionName, S("General Hospital      "));
	expect_bytes(ds, PACS_TAG_ImageType, S("ORIGINAL  \\PRIMARY"));
	expect_bytes(ds, PACS_TAG_StudyDescription, S("CT CHEST"));
	expect_bytes(ds, PACS_TAG_AccessionNumber, S("A12 "));
	expect_bytes(ds, PACS_TAG_SeriesInstanceUID, S("1.2.826.0.1.3680043.2.1125.1.23\0"));
	expect_bytes(ds, PACS_TAG_Modality, S("MR"));
	assert_non_null(find_hit(res, "padding", PACS_TAG_StudyDescription));
	assert_non_null(find_hit(res, "padding", PACS_TAG_AccessionNumber));
	assert_non_null(find_hit(res, "cs-upper", PACS_TAG_Modality));
	oas = oas_item(ds, 1, "CORRECT");
	mas = mas_item(oas);
	expect_bytes(mas, PACS_TAG_StudyDescription, S("CT CHEST\0\0"));
	expect_bytes(mas, PACS_TAG_AccessionNumber, S("A12"));
	/* a UID padded with a space and a lower-case CS do not conform */
	expect_bytes(mas, PACS_TAG_SeriesInstanceUID, "", 0);
	expect_bytes(mas, PACS_TAG_Modality, "", 0);
	expect_nonconf(oas, 0, PACS_TAG_Modality, S("mr"));
	expect_nonconf(oas, 1, PACS_TAG_SeriesInstanceUID, S("1.2.826.0.1.3680043.2.1125.1.23 "));
	assert_int_equal(pacs_ds_count(mas), 5); /* + InstanceCoercionDateTime */
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);

	/* with trim, insignificant trailing spaces go too */
	rules = parse("[normalise]\npadding = fix trim\n");
	ds = base_ds();
	set(ds, PACS_TAG_InstitutionName, PACS_VR_LO, S("General Hospital      "));
	set(ds, PACS_TAG_ImageType, PACS_VR_CS, S("ORIGINAL  \\PRIMARY"));
	res = run(rules, ds);
	assert_int_equal(res->n_fixed, 2);
	expect_bytes(ds, PACS_TAG_InstitutionName, S("General Hospital"));
	expect_bytes(ds, PACS_TAG_ImageType, S("ORIGINAL\\PRIMARY"));
	mas = mas_item(oas_item(ds, 1, "CORRECT"));
	expect_bytes(mas, PACS_TAG_InstitutionName, S("General Hospital      "));
	expect_bytes(mas, PACS_TAG_ImageType, S("ORIGINAL  \\PRIMARY"));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_patient_sex(void **state)
{
	static const struct {
		const char *sent;
		const char *stored;  /* NULL: unchanged */
		bool conforming;     /* the sent value is a valid CS */
	} cases[] = {
		{"male", "M ", false}, {"MALE", "M ", true}, {"m", "M ", false}, {"Female", "F ", false},
		{"W", "F ", true},     {"U", "", true},      {"UNKNOWN", "", true}, {"X", "O ", true},
		{"F", NULL, true},     {"O", NULL, true},
	};
	pacs_norm_rules *rules = parse("[normalise]\npatient-sex = fix unknown=O\n"
				       "[values]\nsex = refuse PatientSex in @sex\n");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pacs_ds *ds = base_ds();
		pacs_norm_result *res;
		set_str(ds, PACS_TAG_PatientSex, PACS_VR_CS, cases[i].sent);
		res = run(rules, ds);
		if (cases[i].stored == NULL) {
			assert_int_equal(res->n_hits, 0);
			assert_false(res->oas_added);
		} else {
			const pacs_ds *oas, *mas;
			char sent[16];
			size_t n = strlen(cases[i].sent);
			memcpy(sent, cases[i].sent, n);
			if (n % 2)
				sent[n++] = ' ';
			assert_int_equal(res->outcome, PACS_NORM_WARNED);
			assert_int_equal(res->n_fixed, 1);
			expect_bytes(ds, PACS_TAG_PatientSex, cases[i].stored, strlen(cases[i].stored));
			oas = oas_item(ds, 1, "CORRECT");
			mas = mas_item(oas);
			if (cases[i].conforming) {
				expect_bytes(mas, PACS_TAG_PatientSex, sent, n);
			} else {
				expect_bytes(mas, PACS_TAG_PatientSex, "", 0);
				expect_nonconf(oas, 0, PACS_TAG_PatientSex, sent, n);
			}
		}
		pacs_norm_result_free(res);
		pacs_ds_free(ds);
	}
	pacs_norm_rules_free(rules);

	/* unknown=refuse */
	rules = parse("[normalise]\npatient-sex = fix unknown=refuse\n");
	{
		pacs_ds *ds = base_ds();
		pacs_norm_result *res;
		set_str(ds, PACS_TAG_PatientSex, PACS_VR_CS, "X");
		res = run(rules, ds);
		assert_int_equal(res->outcome, PACS_NORM_REFUSED);
		assert_int_equal(res->status, 0xA900);
		assert_string_equal(res->comment, "patient-sex: PatientSex (0010,0040) unknown sex");
		pacs_norm_result_free(res);
		pacs_ds_free(ds);
	}
	pacs_norm_rules_free(rules);
}

static void test_maps_and_codes(void **state)
{
	pacs_norm_rules *rules = parse("[map Modality]\nMRI = MR\n"
				       "[map BodyPartExamined]\n\"C SPINE\" = CSPINE\nthorax = CHEST\n"
				       "[code StudyDescription ProcedureCodeSequence]\n"
				       "\"ct thorax\" = CT1 | 99LOCAL | CT of the chest\n"
				       "[values]\nbp = warn BodyPartExamined in @body-part\n");
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	const pacs_ds *oas, *mas, *code;
	const pacs_elem *pcs;
	const pacs_norm_hit *h;

	(void)state;
	set_str(ds, PACS_TAG_Modality, PACS_VR_CS, "MRI");
	set_str(ds, PACS_TAG_BodyPartExamined, PACS_VR_CS, "THORAX");
	set_str(ds, PACS_TAG_StudyDescription, PACS_VR_LO, "CT Thorax");
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB000);
	assert_int_equal(res->n_fixed, 3);
	assert_int_equal(res->n_warned, 0);
	expect_bytes(ds, PACS_TAG_Modality, S("MR"));
	expect_bytes(ds, PACS_TAG_BodyPartExamined, S("CHEST "));
	h = find_hit(res, "map-Modality", PACS_TAG_Modality);
	assert_non_null(h);
	assert_string_equal(h->kind, "map");
	assert_string_equal(h->old_value, "MRI");
	assert_string_equal(h->new_value, "MR");
	pcs = pacs_ds_find(ds, PACS_TAG_ProcedureCodeSequence);
	assert_non_null(pcs);
	assert_int_equal(pacs_elem_item_count(pcs), 1);
	code = pacs_elem_item(pcs, 0);
	expect_bytes(code, PACS_TAG_CodeValue, S("CT1 "));
	expect_bytes(code, PACS_TAG_CodingSchemeDesignator, S("99LOCAL "));
	expect_bytes(code, PACS_TAG_CodeMeaning, S("CT of the chest "));
	assert_non_null(find_hit(res, "code-ProcedureCodeSequence", PACS_TAG_ProcedureCodeSequence));
	oas = oas_item(ds, 1, "COERCE");
	mas = mas_item(oas);
	expect_bytes(mas, PACS_TAG_Modality, S("MRI "));
	expect_bytes(mas, PACS_TAG_BodyPartExamined, S("THORAX"));
	/* absent before: an empty sequence */
	pcs = pacs_ds_find(mas, PACS_TAG_ProcedureCodeSequence);
	assert_non_null(pcs);
	assert_true(pacs_elem_is_sequence(pcs));
	assert_int_equal(pacs_elem_item_count(pcs), 0);
	assert_int_equal(pacs_ds_count(mas), 3);
	pacs_norm_result_free(res);
	/* the sender's own code is never replaced */
	res = run(rules, ds);
	assert_int_equal(res->n_hits, 0);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);

	/* a map that warns leaves the value */
	rules = parse("[map Modality action=warn id=modality-synonyms]\nMRI = MR\n");
	ds = base_ds();
	set_str(ds, PACS_TAG_Modality, PACS_VR_CS, "MRI");
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB007);
	assert_string_equal(res->comment, "modality-synonyms: Modality (0008,0060) local term");
	expect_bytes(ds, PACS_TAG_Modality, S("MRI "));
	assert_false(res->oas_added);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

/* Latin-1: "Müller^Hans", "Hôpital Général", a nested code meaning. */
#define MUELLER_L1 "M\xfcller^Hans"
#define MUELLER_U8 "M\xc3\xbcller^Hans"
#define HOPITAL_L1 "H\xf4pital G\xe9n\xe9ral"
#define HOPITAL_U8 "H\xc3\xb4pital G\xc3\xa9n\xc3\xa9ral"

static void test_charset_latin1(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds(), *item;
	pacs_norm_result *res;
	const pacs_ds *oas, *mas, *orig_item;
	const pacs_norm_hit *h;
	char *u = NULL;

	(void)state;
	set_str(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 100");
	set_str(ds, PACS_TAG_PatientName, PACS_VR_PN, MUELLER_L1);
	set_str(ds, PACS_TAG_InstitutionName, PACS_VR_LO, HOPITAL_L1);
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG_ProcedureCodeSequence, &item), 0);
	set_str(item, PACS_TAG_CodeValue, PACS_VR_SH, "X1");
	set_str(item, PACS_TAG_CodingSchemeDesignator, PACS_VR_SH, "99LOCAL");
	set_str(item, PACS_TAG_CodeMeaning, PACS_VR_LO, "R\xf6ntgen Thorax");
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB000);
	assert_int_equal(res->n_fixed, 1);
	assert_string_equal(res->comment, "charset: SpecificCharacterSet (0008,0005) converted");
	h = find_hit(res, "charset", PACS_TAG_SpecificCharacterSet);
	assert_non_null(h);
	assert_string_equal(h->old_value, "ISO_IR 100");
	assert_string_equal(h->new_value, "ISO_IR 192");
	assert_non_null(strstr(h->message, "3 text values re-encoded from ISO_IR 100"));
	expect_bytes(ds, PACS_TAG_SpecificCharacterSet, S("ISO_IR 192"));
	expect_bytes(ds, PACS_TAG_PatientName, S(MUELLER_U8));
	expect_bytes(ds, PACS_TAG_InstitutionName, S(HOPITAL_U8));
	expect_bytes(pacs_elem_item(pacs_ds_find(ds, PACS_TAG_ProcedureCodeSequence), 0), PACS_TAG_CodeMeaning,
		     S("R\xc3\xb6ntgen Thorax "));
	/* untouched ASCII values keep their bytes */
	expect_bytes(ds, PACS_TAG_PatientID, S("P0001 "));

	oas = oas_item(ds, 1, "COERCE");
	mas = mas_item(oas);
	/* the originals byte for byte, and the original character set */
	expect_bytes(mas, PACS_TAG_SpecificCharacterSet, S("ISO_IR 100"));
	expect_bytes(mas, PACS_TAG_PatientName, S(MUELLER_L1 " "));
	expect_bytes(mas, PACS_TAG_InstitutionName, S(HOPITAL_L1 " "));
	orig_item = pacs_elem_item(pacs_ds_find(mas, PACS_TAG_ProcedureCodeSequence), 0);
	expect_bytes(orig_item, PACS_TAG_CodeMeaning, S("R\xf6ntgen Thorax"));
	expect_bytes(orig_item, PACS_TAG_CodeValue, S("X1"));
	assert_int_equal(pacs_ds_count(mas), 5); /* + InstanceCoercionDateTime */
	/* PS3.5 7.5.3: the item's own (0008,0005) decodes them */
	assert_int_equal(pacs_ds_get_utf8(mas, PACS_TAG_PatientName, &u), 0);
	assert_string_equal(u, MUELLER_U8);
	free(u);
	assert_int_equal(pacs_ds_get_utf8(orig_item, PACS_TAG_CodeMeaning, &u), 0);
	assert_string_equal(u, "R\xc3\xb6ntgen Thorax");
	free(u);
	/* and the data set decodes as UTF-8 */
	assert_int_equal(pacs_ds_get_utf8(ds, PACS_TAG_InstitutionName, &u), 0);
	assert_string_equal(u, HOPITAL_U8);
	free(u);
	pacs_norm_result_free(res);

	/* written and read back, everything is still there */
	{
		size_t n;
		uint8_t *bytes = write_ds(ds, &n);
		pacs_read_opts o;
		pacs_ds *back = NULL;
		const pacs_ds *m2;
		pacs_read_opts_init(&o);
		if (pacs_read_buffer(&back, bytes, n, &o) != 0)
			fail_msg("read back: %s", arca_error_last());
		m2 = mas_item(pacs_elem_item(pacs_ds_find(back, PACS_TAG_OriginalAttributesSequence), 0));
		assert_int_equal(pacs_ds_get_utf8(m2, PACS_TAG_PatientName, &u), 0);
		assert_string_equal(u, MUELLER_U8);
		free(u);
		free(bytes);
		pacs_ds_free(back);
	}
	pacs_ds_free(ds);

	/* no (0008,0005) but Latin-1 bytes (read leniently): converted, the
	 * original label recorded as absent (zero length) */
	ds = base_ds();
	set_str(ds, PACS_TAG_PatientName, PACS_VR_PN, MUELLER_L1);
	res = run(rules, ds);
	assert_int_equal(res->n_fixed, 1);
	expect_bytes(ds, PACS_TAG_SpecificCharacterSet, S("ISO_IR 192"));
	mas = mas_item(oas_item(ds, 1, "COERCE"));
	expect_bytes(mas, PACS_TAG_SpecificCharacterSet, "", 0);
	expect_bytes(mas, PACS_TAG_PatientName, S(MUELLER_L1 " "));
	assert_int_equal(pacs_ds_get_utf8(mas, PACS_TAG_PatientName, &u), 0);
	assert_string_equal(u, MUELLER_U8);
	free(u);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);

	/* ISO_IR 100 with ASCII text only: left alone, label included */
	ds = base_ds();
	set_str(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 100");
	res = run(rules, ds);
	assert_int_equal(res->n_hits, 0);
	expect_bytes(ds, PACS_TAG_SpecificCharacterSet, S("ISO_IR 100"));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

/* PS3.5 H.3.1: Yamada^Tarou=山田^太郎=やまだ^たろう in ISO 2022 IR 87. */
#define YAMADA_JIS "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B"
#define YAMADA_U8 "Yamada^Tarou=\xe5\xb1\xb1\xe7\x94\xb0^\xe5\xa4\xaa\xe9\x83\x8e=" \
	"\xe3\x82\x84\xe3\x81\xbe\xe3\x81\xa0^\xe3\x81\x9f\xe3\x82\x8d\xe3\x81\x86"

static void test_charset_iso2022_japanese(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	const pacs_ds *mas;
	char *u = NULL;

	(void)state;
	set_str(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "\\ISO 2022 IR 87");
	set(ds, PACS_TAG_PatientName, PACS_VR_PN, S(YAMADA_JIS));
	res = run(rules, ds);
	assert_int_equal(res->n_fixed, 1);
	assert_int_equal(res->n_warned + res->n_refused, 0);
	expect_bytes(ds, PACS_TAG_SpecificCharacterSet, S("ISO_IR 192"));
	expect_bytes(ds, PACS_TAG_PatientName, S(YAMADA_U8));
	mas = mas_item(oas_item(ds, 1, "COERCE"));
	expect_bytes(mas, PACS_TAG_SpecificCharacterSet, S("\\ISO 2022 IR 87 "));
	expect_bytes(mas, PACS_TAG_PatientName, S(YAMADA_JIS));
	assert_int_equal(pacs_ds_get_utf8(mas, PACS_TAG_PatientName, &u), 0);
	assert_string_equal(u, YAMADA_U8);
	free(u);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_charset_refused(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;
	const pacs_norm_hit *h;

	(void)state;
	/* not UTF-8 under ISO_IR 192: cannot understand; nothing converted */
	set_str(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 192");
	set(ds, PACS_TAG_PatientName, PACS_VR_PN, S("M\xfcller^Hans"));
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_REFUSED);
	assert_int_equal(res->status, 0xC000);
	assert_string_equal(res->comment, "decode: PatientName (0010,0010) text does not decode");
	h = find_hit(res, "decode", PACS_TAG_PatientName);
	assert_non_null(h);
	assert_string_equal(h->kind, "check");
	expect_bytes(ds, PACS_TAG_PatientName, S("M\xfcller^Hans"));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);

	/* an unknown term */
	ds = base_ds();
	set_str(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 999");
	set(ds, PACS_TAG_PatientName, PACS_VR_PN, S("M\xfcller^Hans"));
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_REFUSED);
	assert_int_equal(res->status, 0xC000);
	expect_bytes(ds, PACS_TAG_SpecificCharacterSet, S("ISO_IR 999"));
	assert_false(res->oas_added);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);

	/* conversion as a warning only */
	rules = parse("[normalise]\ncharset = warn\n");
	ds = base_ds();
	set_str(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 100");
	set_str(ds, PACS_TAG_PatientName, PACS_VR_PN, MUELLER_L1);
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->status, 0xB007);
	expect_bytes(ds, PACS_TAG_PatientName, S(MUELLER_L1 " "));
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_existing_oas_kept(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *ds = base_ds(), *old, *old_mas;
	pacs_norm_result *res;
	const pacs_elem *oas;
	const pacs_ds *first;
	char *u = NULL;

	(void)state;
	set_str(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 100");
	set_str(ds, PACS_TAG_PatientName, PACS_VR_PN, MUELLER_L1);
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG_OriginalAttributesSequence, &old), 0);
	assert_int_equal(pacs_ds_add_item(old, PACS_TAG_ModifiedAttributesSequence, &old_mas), 0);
	set_str(old_mas, PACS_TAG_PatientName, PACS_VR_PN, "M\xfcller^H");
	set_str(old, PACS_TAG_ModifyingSystem, PACS_VR_LO, "RIS");
	set_str(old, PACS_TAG_ReasonForTheAttributeModification, PACS_VR_CS, "COERCE");
	res = run(rules, ds);
	assert_int_equal(res->n_fixed, 1);
	oas = pacs_ds_find(ds, PACS_TAG_OriginalAttributesSequence);
	assert_int_equal(pacs_elem_item_count(oas), 2);
	first = pacs_elem_item(oas, 0);
	/* history kept byte for byte, pinned to its character set */
	expect_bytes(first, PACS_TAG_SpecificCharacterSet, S("ISO_IR 100"));
	expect_bytes(first, PACS_TAG_ModifyingSystem, S("RIS "));
	expect_bytes(mas_item(first), PACS_TAG_PatientName, S("M\xfcller^H"));
	assert_int_equal(pacs_ds_get_utf8(mas_item(first), PACS_TAG_PatientName, &u), 0);
	assert_string_equal(u, "M\xc3\xbcller^H");
	free(u);
	oas_item(ds, 2, "COERCE");
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_checks(void **state)
{
	pacs_norm_rules *rules = parse("[check]\nuid = refuse\nvr = warn\nlength = warn\nvm = warn\n");
	pacs_ds *ds = base_ds(), *item;
	pacs_norm_result *res;
	const pacs_norm_hit *h;

	(void)state;
	set_str(ds, PACS_TAG_StudyID, PACS_VR_SH, "12345678901234567");         /* SH > 16 */
	set_str(ds, PACS_TAG_PatientSex, PACS_VR_CS, "M\\F");                   /* VM 1 */
	set_str(ds, PACS_TAG_PatientBirthDate, PACS_VR_DA, "19701301");         /* month 13 */
	set(ds, PACS_TAG_Rows, PACS_VR_US, "\x01\x02\x03", 3);                 /* odd US */
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG_ReferencedStudySequence, &item), 0);
	set_str(item, PACS_TAG_ReferencedSOPInstanceUID, PACS_VR_UI, "1.2.03.4"); /* leading zero */
	set_str(item, PACS_TAG_ReferencedSOPClassUID, PACS_VR_LO, "1.2.3");      /* VR differs */
	res = run(rules, ds);
	assert_int_equal(res->outcome, PACS_NORM_REFUSED);
	assert_int_equal(res->status, 0xA900);
	h = find_hit(res, "uid", PACS_TAG_ReferencedSOPInstanceUID);
	assert_non_null(h);
	assert_string_equal(h->path, "(0008,1110)[0](0008,1155)");
	assert_non_null(strstr(h->message, "leading zero"));
	assert_string_equal(res->comment, "uid: ReferencedSOPInstanceUID (0008,1155) bad UID");
	h = find_hit(res, "length", PACS_TAG_StudyID);
	assert_non_null(h);
	assert_non_null(strstr(h->message, "17 characters, more than the 16 of VR SH"));
	h = find_hit(res, "vm", PACS_TAG_PatientSex);
	assert_non_null(h);
	assert_non_null(strstr(h->message, "2 values, the dictionary says VM 1"));
	h = find_hit(res, "vr", PACS_TAG_PatientBirthDate);
	assert_non_null(h);
	assert_non_null(strstr(h->message, "not a DA"));
	h = find_hit(res, "vr", PACS_TAG_Rows);
	assert_non_null(h);
	assert_non_null(strstr(h->message, "length 3 is not a multiple of 2"));
	h = find_hit(res, "vr", PACS_TAG_ReferencedSOPClassUID);
	assert_non_null(h);
	assert_non_null(strstr(h->message, "has VR LO, the dictionary says UI"));
	assert_int_equal(res->n_refused, 1);
	assert_int_equal(res->n_warned, 5);
	assert_false(res->oas_added);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_many_hits(void **state)
{
	pacs_norm_rules *rules = parse("[check]\nvr = warn\n");
	pacs_ds *ds = base_ds();
	pacs_norm_result *res;

	(void)state;
	for (int i = 0; i < 300; i++) {
		pacs_ds *item;
		assert_int_equal(pacs_ds_add_item(ds, PACS_TAG_ReferencedImageSequence, &item), 0);
		set_str(item, PACS_TAG_ReferencedSOPClassUID, PACS_VR_UI, "1.2.3");
		set_str(item, PACS_TAG_ReferencedSOPInstanceUID, PACS_VR_UI, "1.2.3.4");
		set_str(item, PACS_TAG_ReferencedFrameNumber, PACS_VR_IS, "one");
	}
	res = run(rules, ds);
	assert_int_equal(res->n_warned, 300);
	assert_int_equal(res->n_hits, 256);
	assert_int_equal(res->n_hits_dropped, 44);
	assert_non_null(strstr(res->explanation, "(44 more hits not listed)"));
	assert_string_equal(res->hits[255].path, "(0008,1140)[255](0008,1160)");
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(rules);
}

static void test_deterministic(void **state)
{
	pacs_norm_rules *rules = sample_rules();
	pacs_ds *a = base_ds(), *b;
	pacs_norm_result *ra, *rb;
	uint8_t *wa, *wb;
	size_t na, nb;

	(void)state;
	set_str(a, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 100");
	set_str(a, PACS_TAG_PatientName, PACS_VR_PN, MUELLER_L1);
	set_str(a, PACS_TAG_StudyDate, PACS_VR_DA, "2026.11.28");
	set_str(a, PACS_TAG_PatientSex, PACS_VR_CS, "female");
	assert_int_equal(pacs_ds_clone(&b, a), 0);
	ra = run(rules, a);
	rb = run(rules, b);
	wa = write_ds(a, &na);
	wb = write_ds(b, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(wa, wb, na);
	assert_string_equal(ra->explanation, rb->explanation);
	assert_int_equal(ra->n_fixed, 4);
	free(wa);
	free(wb);
	pacs_norm_result_free(ra);
	pacs_norm_result_free(rb);
	pacs_ds_free(a);
	pacs_ds_free(b);

	/* without opts the time is now, in DT form */
	{
		pacs_ds *c = base_ds();
		pacs_norm_result *rc = NULL;
		const pacs_elem *e;
		set_str(c, PACS_TAG_Modality, PACS_VR_CS, "ct");
		assert_int_equal(pacs_norm_run(rules, c, NULL, &rc), 0);
		e = pacs_ds_find(pacs_elem_item(pacs_ds_find(c, PACS_TAG_OriginalAttributesSequence), 0),
				 PACS_TAG_AttributeModificationDateTime);
		assert_non_null(e);
		assert_int_equal(pacs_elem_length(e), 26);
		/* Source of Previous Values is Type 2: present, empty */
		expect_bytes(pacs_elem_item(pacs_ds_find(c, PACS_TAG_OriginalAttributesSequence), 0),
			     PACS_TAG_SourceOfPreviousValues, "", 0);
		pacs_norm_result_free(rc);
		pacs_ds_free(c);
	}
	pacs_norm_rules_free(rules);
}

/* ---------------------------------------------------------------- samples */

typedef struct file_list {
	char **paths;
	size_t n, cap;
} file_list;

static void walk(file_list *l, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(l, path);
		} else if (S_ISREG(st.st_mode) && strcmp(de->d_name, "README.md") != 0) {
			if (l->n == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 64;
				l->paths = realloc(l->paths, l->cap * sizeof(char *));
				assert_non_null(l->paths);
			}
			l->paths[l->n++] = strdup(path);
		}
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_samples(void **state)
{
	const char *dir = getenv("ARCA_SAMPLES");
	pacs_norm_rules *rules;
	file_list l = {0};
	size_t counts[3] = {0, 0, 0}, unread = 0, with_oas = 0, fixed = 0, warned = 0, refused = 0;
	struct stat st;

	(void)state;
	if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		print_message("ARCA_SAMPLES not available: sample part skipped\n");
		skip();
	}
	rules = sample_rules();
	walk(&l, dir);
	qsort(l.paths, l.n, sizeof(char *), cmp_str);
	assert_true(l.n > 0);
	for (size_t i = 0; i < l.n; i++) {
		pacs_read_opts o;
		pacs_ds *ds = NULL;
		pacs_norm_result *res, *again;
		pacs_write_opts wo;
		uint8_t *bytes = NULL;
		size_t n;
		bool writes;

		pacs_read_opts_init(&o);
		if (pacs_read_file(&ds, l.paths[i], &o) != 0) {
			unread++;
			arca_error_clear();
			continue;
		}
		/* in its own transfer syntax, as storage keeps it */
		pacs_write_opts_init(&wo);
		writes = pacs_write_buffer(ds, &wo, &bytes, &n) == 0;
		free(bytes);
		bytes = NULL;
		res = run(rules, ds);
		counts[res->outcome]++;
		fixed += res->n_fixed;
		warned += res->n_warned;
		refused += res->n_refused;
		with_oas += res->oas_added;
		if (res->n_hits == 0)
			assert_false(res->oas_added);
		assert_true(strlen(res->comment) <= 64);
		if (res->outcome == PACS_NORM_REFUSED)
			assert_true((res->status & 0xF000) == 0xA000 || (res->status & 0xF000) == 0xC000);
		/* what was normalised stays normal: a second run fixes nothing */
		again = run(rules, ds);
		if (again->n_fixed != 0)
			fail_msg("%s: second run fixed %u values:\n%s", l.paths[i], again->n_fixed, again->explanation);
		/* what could be written before still can */
		if (writes && pacs_write_buffer(ds, &wo, &bytes, &n) != 0)
			fail_msg("%s: normalised data set does not write: %s", l.paths[i], arca_error_last());
		free(bytes);
		pacs_norm_result_free(again);
		pacs_norm_result_free(res);
		pacs_ds_free(ds);
	}
	print_message("samples through samples/normalise.conf: %zu files, %zu accepted, %zu warned, "
		      "%zu refused, %zu not readable; %zu with an Original Attributes Sequence item; "
		      "hits: %zu fixed, %zu warned, %zu refused\n",
		      l.n, counts[PACS_NORM_ACCEPTED], counts[PACS_NORM_WARNED], counts[PACS_NORM_REFUSED], unread,
		      with_oas, fixed, warned, refused);
	for (size_t i = 0; i < l.n; i++)
		free(l.paths[i]);
	free(l.paths);
	pacs_norm_rules_free(rules);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pacs_norm_action_name(PACS_NORM_IGNORE), "ignore");
	assert_string_equal(pacs_norm_action_name(PACS_NORM_FIX), "fix");
	assert_string_equal(pacs_norm_action_name(PACS_NORM_WARN), "warn");
	assert_string_equal(pacs_norm_action_name(PACS_NORM_REFUSE), "refuse");
	assert_string_equal(pacs_norm_outcome_name(PACS_NORM_ACCEPTED), "accepted");
	assert_string_equal(pacs_norm_outcome_name(PACS_NORM_WARNED), "warned");
	assert_string_equal(pacs_norm_outcome_name(PACS_NORM_REFUSED), "refused");
	pacs_norm_result_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uid_check),
		cmocka_unit_test(test_uid_generate),
		cmocka_unit_test(test_rules_good),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_rules_load),
		cmocka_unit_test(test_conformant_unchanged),
		cmocka_unit_test(test_required_refuse),
		cmocka_unit_test(test_warn_status),
		cmocka_unit_test(test_date_time),
		cmocka_unit_test(test_person_name),
		cmocka_unit_test(test_padding_and_case),
		cmocka_unit_test(test_patient_sex),
		cmocka_unit_test(test_maps_and_codes),
		cmocka_unit_test(test_charset_latin1),
		cmocka_unit_test(test_charset_iso2022_japanese),
		cmocka_unit_test(test_charset_refused),
		cmocka_unit_test(test_existing_oas_kept),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_many_hits),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
