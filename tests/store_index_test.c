/* store_index_test.c - the index through its public interface
 * (store_index.h): put and get, idempotency and versions under both
 * policies, counts and per-study sets, every matching type of PS3.4
 * C.2.2.2 at every level with the expected rows asserted exactly, cursors
 * and limits, reopening, a writer killed after commits, keys read from
 * data sets, readers running while a writer commits, and the chain
 * outbox (marks in the put's transaction, generations, clearing, the
 * migration from schema version 3).  Each test has its own mkdtemp
 * directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "arca_err.h"
#include "pacs_ds.h"
#include "pacs_tags.h"
#include "store_index.h"

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define MR_CLASS "1.2.840.10008.5.1.4.1.1.4"
#define SR_CLASS "1.2.840.10008.5.1.4.1.1.88.11"
#define CR_CLASS "1.2.840.10008.5.1.4.1.1.1"
#define ELE "1.2.840.10008.1.2.1"
/* Batches of the concurrency and kill tests. */
#define RACE_BATCHES 60
#define RACE_BATCH 10

struct fixture {
	char dir[64];
	char path[128];
	store_index *idx;
};

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int open_index(struct fixture *f, store_index_policy policy, bool pn_case_sensitive)
{
	store_index_options o;

	store_index_options_init(&o);
	o.on_new_version = policy;
	o.pn_case_sensitive = pn_case_sensitive;
	return store_index_open(&f->idx, f->path, &o);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/store_index_test.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/index.db", f->dir);
	if (open_index(f, STORE_INDEX_KEEP_FIRST, false) < 0) {
		fprintf(stderr, "open: %s\n", arca_error_last());
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_index_free(f->idx);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* One instance, described by its keys (NULL = absent). */
struct spec {
	const char *pid, *issuer, *pname, *birth, *sex;
	const char *study, *sdate, *stime, *acc, *desc, *ref;
	const char *series, *modality, *snum;
	const char *sop, *sop_class, *inum;
	uint8_t hash; /* instance hash = 32 x this byte; manifest = its complement */
};

static void set(store_index_instance *inst, uint32_t tag, const char *v)
{
	assert_int_equal(store_index_instance_set(inst, tag, v), 0);
}

static store_index_instance *make(const struct spec *s)
{
	store_index_instance *inst;
	store_index_storage *st;

	assert_int_equal(store_index_instance_new(&inst), 0);
	set(inst, PACS_TAG_PatientID, s->pid);
	set(inst, PACS_TAG_IssuerOfPatientID, s->issuer);
	set(inst, PACS_TAG_PatientName, s->pname);
	set(inst, PACS_TAG_PatientBirthDate, s->birth);
	set(inst, PACS_TAG_PatientSex, s->sex);
	set(inst, PACS_TAG_StudyInstanceUID, s->study);
	set(inst, PACS_TAG_StudyDate, s->sdate);
	set(inst, PACS_TAG_StudyTime, s->stime);
	set(inst, PACS_TAG_AccessionNumber, s->acc);
	set(inst, PACS_TAG_StudyDescription, s->desc);
	set(inst, PACS_TAG_ReferringPhysicianName, s->ref);
	set(inst, PACS_TAG_SeriesInstanceUID, s->series);
	set(inst, PACS_TAG_Modality, s->modality);
	set(inst, PACS_TAG_SeriesNumber, s->snum);
	set(inst, PACS_TAG_SOPInstanceUID, s->sop);
	set(inst, PACS_TAG_SOPClassUID, s->sop_class != NULL ? s->sop_class : CT_CLASS);
	set(inst, PACS_TAG_InstanceNumber, s->inum);
	set(inst, PACS_TAG_Rows, "512");
	set(inst, PACS_TAG_Columns, "512");
	st = store_index_instance_storage(inst);
	snprintf(st->transfer_syntax, sizeof(st->transfer_syntax), "%s", ELE);
	st->size = 1000u + s->hash;
	memset(st->instance_hash, s->hash, sizeof(st->instance_hash));
	memset(st->manifest, (uint8_t)~s->hash, sizeof(st->manifest));
	st->received = 1767225600; /* 2026-01-01T00:00:00Z */
	snprintf(st->calling_ae, sizeof(st->calling_ae), "MODALITY1");
	return inst;
}

/* Puts specs[0..n) in one batch; every result must be `expect`. */
static void put_all(store_index *idx, const struct spec *specs, size_t n, store_index_outcome expect)
{
	store_index_instance **batch = calloc(n, sizeof(*batch));
	store_index_put_result *res = calloc(n, sizeof(*res));

	assert_non_null(batch);
	assert_non_null(res);
	for (size_t i = 0; i < n; i++)
		batch[i] = make(&specs[i]);
	if (store_index_put(idx, (const store_index_instance *const *)batch, n, res) < 0)
		fail_msg("put: %s", arca_error_last());
	for (size_t i = 0; i < n; i++) {
		if (res[i].err != 0)
			fail_msg("put %s: %s", specs[i].sop, res[i].message);
		assert_int_equal(res[i].outcome, expect);
		store_index_instance_free(batch[i]);
	}
	free(batch);
	free(res);
}

static store_index_outcome put_one(store_index *idx, const struct spec *s, unsigned *version)
{
	store_index_instance *inst = make(s);
	const store_index_instance *b[1] = {inst};
	store_index_put_result r;

	if (store_index_put(idx, b, 1, &r) < 0)
		fail_msg("put: %s", arca_error_last());
	if (r.err != 0)
		fail_msg("put %s: %s", s->sop, r.message);
	store_index_instance_free(inst);
	if (version != NULL)
		*version = r.version;
	return r.outcome;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs find and returns its rows, one line each ("v1|v2|..." over the
 * columns in order), sorted, joined by newlines; the caller frees. */
static char *rows_of(store_index *idx, store_index_find *find)
{
	store_index_query *q;
	char **lines = NULL, *out;
	size_t n = 0, total = 1;
	bool row;

	if (store_index_query_open(&q, idx, find) < 0)
		fail_msg("query: %s", arca_error_last());
	for (;;) {
		char line[2048] = "";

		if (store_index_query_next(q, &row) < 0)
			fail_msg("next: %s", arca_error_last());
		if (!row)
			break;
		for (size_t i = 0; i < store_index_query_columns(q); i++) {
			uint32_t tag;
			const char *v;

			assert_int_equal(store_index_query_column(q, i, &tag, &v), 0);
			strncat(line, i > 0 ? "|" : "", sizeof(line) - strlen(line) - 1);
			strncat(line, v, sizeof(line) - strlen(line) - 1);
		}
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		assert_non_null(lines);
		lines[n] = strdup(line);
		total += strlen(line) + 1;
		n++;
	}
	store_index_query_free(q);
	if (n > 0)
		qsort(lines, n, sizeof(*lines), cmp_str);
	out = calloc(1, total);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, "\n");
		strcat(out, lines[i]);
		free(lines[i]);
	}
	free(lines);
	return out;
}

/* Builds a find from "Keyword=value" pairs (tags given directly). */
struct kv {
	uint32_t tag;
	const char *value;
};

static void expect_rows(store_index *idx, store_index_model model, store_index_level level,
			const struct kv *keys, size_t n, bool combined, const char *expected)
{
	store_index_find *find;
	char *got;

	assert_int_equal(store_index_find_new(&find, model, level), 0);
	for (size_t i = 0; i < n; i++)
		if (store_index_find_add(find, keys[i].tag, keys[i].value) < 0)
			fail_msg("find_add %08X=%s: %s", keys[i].tag, keys[i].value, arca_error_last());
	store_index_find_set_combined_datetime(find, combined);
	got = rows_of(idx, find);
	if (strcmp(got, expected) != 0)
		fail_msg("rows differ\n--- expected\n%s\n--- got\n%s", expected, got);
	free(got);
	store_index_find_free(find);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define STUDY_Q(expected, ...)                                                                     \
	do {                                                                                        \
		const struct kv k_[] = {__VA_ARGS__};                                               \
		expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY, k_, N(k_), false, expected); \
	} while (0)

/* ---- the test archive ---- */

/* P1 Smith^John: S1 (CT series of 3 + SR series of 1) and S2 (MR, 2);
 * P2 SMITHERS^Anna: S3; P3 Müller^Jürgen: S4; P4 "100%^Pure": S5;
 * P5 (issuer HOSP_A) and P6 (same ID, issuer HOSP_B): S6, S7;
 * P7 O[Brien]^X: S8; P1 again: S9. */
static const struct spec archive[] = {
	{"PID1", NULL, "Smith^John", "19700101", "M", "1.2.1", "20260105", "083000", "ACC1", "CT CHEST",
	 "House^Gregory", "1.2.1.1", "CT", "1", "1.2.1.1.1", CT_CLASS, "1", 0x11},
	{"PID1", NULL, "Smith^John", "19700101", "M", "1.2.1", "20260105", "083000", "ACC1", "CT CHEST",
	 "House^Gregory", "1.2.1.1", "CT", "1", "1.2.1.1.2", CT_CLASS, "2", 0x12},
	{"PID1", NULL, "Smith^John", "19700101", "M", "1.2.1", "20260105", "083000", "ACC1", "CT CHEST",
	 "House^Gregory", "1.2.1.1", "CT", "1", "1.2.1.1.3", CT_CLASS, "3", 0x13},
	{"PID1", NULL, "Smith^John", "19700101", "M", "1.2.1", "20260105", "083000", "ACC1", "CT CHEST",
	 "House^Gregory", "1.2.1.2", "SR", "99", "1.2.1.2.1", SR_CLASS, "1", 0x14},
	{"PID1", NULL, "Smith^John", "19700101", "M", "1.2.2", "20260110", "231500", "ACC2", "MR HEAD",
	 NULL, "1.2.2.1", "MR", "1", "1.2.2.1.1", MR_CLASS, "1", 0x21},
	{"PID1", NULL, "Smith^John", "19700101", "M", "1.2.2", "20260110", "231500", "ACC2", "MR HEAD",
	 NULL, "1.2.2.1", "MR", "1", "1.2.2.1.2", MR_CLASS, "2", 0x22},
	{"PID2", NULL, "SMITHERS^Anna", "19800202", "F", "1.2.3", "20251231", "120000.5", "ACC3", NULL,
	 "house^greg", "1.2.3.1", "CR", "1", "1.2.3.1.1", CR_CLASS, "1", 0x31},
	{"PID3", NULL, "Müller^Jürgen", NULL, "M", "1.2.4", "20260111", "0015", "ACC4", NULL, NULL,
	 "1.2.4.1", "US", "1", "1.2.4.1.1", CT_CLASS, "1", 0x41},
	{"PID4", NULL, "100%^Pure", NULL, "O", "1.2.5", "20260201", NULL, "100%", NULL, NULL,
	 "1.2.5.1", "DX", "1", "1.2.5.1.1", CR_CLASS, "1", 0x51},
	{"PID5", "HOSP_A", "Doe^Jane", NULL, "F", "1.2.6", "20260105", NULL, "ACC_6", NULL, NULL,
	 "1.2.6.1", "CT", "1", "1.2.6.1.1", CT_CLASS, "1", 0x61},
	{"PID5", "HOSP_B", "Doe^John", NULL, "M", "1.2.7", NULL, NULL, "ACCX6", NULL, NULL,
	 "1.2.7.1", "MR", "1", "1.2.7.1.1", MR_CLASS, "1", 0x71},
	{"PID7", NULL, "O[Brien]^X", NULL, NULL, "1.2.8", "20260301", "1400", "A[1]", NULL, NULL,
	 "1.2.8.1", "CT", "1", "1.2.8.1.1", CT_CLASS, "1", 0x81},
	{"PID1", NULL, "Smith^John", "19700101", "M", "1.2.9", "20260107", "100000", "ACC9", NULL, NULL,
	 "1.2.9.1", "CT", "1", "1.2.9.1.1", CT_CLASS, "1", 0x91},
};

static void load_archive(struct fixture *f)
{
	put_all(f->idx, archive, N(archive), STORE_INDEX_NEW);
}

/* ---- the key catalogue ---- */

static void test_key_catalogue(void **state)
{
	store_index_key_info k, again;
	size_t n = 0, unique = 0;

	(void)state;
	assert_int_equal(store_index_key_lookup(PACS_TAG_PatientName, &k), 0);
	assert_string_equal(k.keyword, "PatientName");
	assert_int_equal(k.level, STORE_INDEX_PATIENT);
	assert_int_equal(k.match, STORE_INDEX_MATCH_PN);
	assert_false(k.unique);
	assert_int_equal(store_index_key_lookup(PACS_TAG_SeriesInstanceUID, &k), 0);
	assert_int_equal(k.level, STORE_INDEX_SERIES);
	assert_true(k.unique);
	assert_int_equal(store_index_key_lookup(PACS_TAG_ModalitiesInStudy, &k), 0);
	assert_true(k.computed);
	assert_int_equal(store_index_key_lookup(PACS_TAG_StudyTime, &k), 0);
	assert_int_equal(k.match, STORE_INDEX_MATCH_TIME);
	assert_int_equal(store_index_key_lookup(PACS_TAG_PixelData, &k), ARCA_ENOTFOUND);
	while (store_index_key_at(n, &k) == 0) {
		assert_int_equal(store_index_key_lookup(k.tag, &again), 0);
		assert_string_equal(again.keyword, k.keyword);
		unique += k.unique;
		n++;
	}
	assert_int_equal(unique, 4); /* one per level */
	assert_int_equal(n, 42);
	assert_int_equal(store_index_key_lookup(PACS_TAG_ProcedureCodeSequence, &k), 0);
	assert_int_equal(k.level, STORE_INDEX_STUDY);
	assert_int_equal(k.match, STORE_INDEX_MATCH_CODE_SEQ);
	assert_int_equal(store_index_key_lookup(PACS_TAG_AnatomicRegionSequence, &k), 0);
	assert_int_equal(k.level, STORE_INDEX_SERIES);
}

/* ---- put, get, versions ---- */

static void test_put_get(void **state)
{
	struct fixture *f = *state;
	store_index_storage s;
	uint8_t h[32], m[32];
	int version;

	load_archive(f);
	assert_int_equal(store_index_get(f->idx, "1.2.1.1.2", 0, &s), 0);
	memset(h, 0x12, sizeof(h));
	memset(m, (uint8_t)~0x12, sizeof(m));
	assert_memory_equal(s.instance_hash, h, 32);
	assert_memory_equal(s.manifest, m, 32);
	assert_string_equal(s.transfer_syntax, ELE);
	assert_int_equal(s.size, 1000 + 0x12);
	assert_int_equal(s.received, 1767225600);
	assert_string_equal(s.calling_ae, "MODALITY1");
	assert_int_equal(s.version, 1);
	assert_true(s.current);
	assert_int_equal(store_index_get(f->idx, "1.2.1.1.2", 1, &s), 0);
	assert_int_equal(store_index_get(f->idx, "1.2.1.1.2", 2, &s), ARCA_ENOTFOUND);
	assert_int_equal(store_index_get(f->idx, "9.9.9", 0, &s), ARCA_ENOTFOUND);
	assert_int_equal(store_index_schema_version(f->idx, &version), 0);
	assert_int_equal(version, 4);
}

static void test_idempotent_and_versions(void **state)
{
	struct fixture *f = *state;
	struct spec again = archive[1], other = archive[1];
	store_index_storage s;
	unsigned v;

	load_archive(f);
	/* Same UID, same hash: a duplicate, nothing changes. */
	assert_int_equal(put_one(f->idx, &again, &v), STORE_INDEX_DUPLICATE);
	assert_int_equal(v, 1);
	/* Same UID, another hash: kept as version 2, the first stays current. */
	other.hash = 0xA2;
	other.desc = "CHANGED";
	assert_int_equal(put_one(f->idx, &other, &v), STORE_INDEX_VERSION_KEPT);
	assert_int_equal(v, 2);
	assert_int_equal(store_index_get(f->idx, "1.2.1.1.2", 0, &s), 0);
	assert_int_equal(s.instance_hash[0], 0x12);
	assert_int_equal(s.version, 1);
	assert_int_equal(store_index_get(f->idx, "1.2.1.1.2", 2, &s), 0);
	assert_int_equal(s.instance_hash[0], 0xA2);
	assert_false(s.current);
	/* Either version again: a duplicate of that version. */
	assert_int_equal(put_one(f->idx, &other, &v), STORE_INDEX_DUPLICATE);
	assert_int_equal(v, 2);
	assert_int_equal(put_one(f->idx, &again, &v), STORE_INDEX_DUPLICATE);
	assert_int_equal(v, 1);
	/* A third hash is version 3. */
	other.hash = 0xA3;
	assert_int_equal(put_one(f->idx, &other, &v), STORE_INDEX_VERSION_KEPT);
	assert_int_equal(v, 3);
	/* Counts and attributes untouched by the versions. */
	STUDY_Q("1.2.1|2|4|CT CHEST", {PACS_TAG_StudyInstanceUID, "1.2.1"},
		{PACS_TAG_NumberOfStudyRelatedSeries, NULL}, {PACS_TAG_NumberOfStudyRelatedInstances, NULL},
		{PACS_TAG_StudyDescription, NULL});
}

static void test_replace_policy(void **state)
{
	struct fixture *f = *state;
	struct spec moved = archive[3]; /* the SR, alone in series 1.2.1.2 */
	store_index_storage s;
	unsigned v;

	store_index_free(f->idx);
	assert_int_equal(open_index(f, STORE_INDEX_REPLACE, false), 0);
	load_archive(f);
	moved.hash = 0xB4;
	moved.series = "1.2.1.3";
	moved.modality = "KO";
	moved.desc = "CT CHEST AND ABDOMEN";
	assert_int_equal(put_one(f->idx, &moved, &v), STORE_INDEX_VERSION_REPLACED);
	assert_int_equal(v, 2);
	assert_int_equal(store_index_get(f->idx, "1.2.1.2.1", 0, &s), 0);
	assert_int_equal(s.instance_hash[0], 0xB4);
	assert_int_equal(s.version, 2);
	assert_true(s.current);
	assert_int_equal(store_index_get(f->idx, "1.2.1.2.1", 1, &s), 0);
	assert_int_equal(s.instance_hash[0], 0x14);
	assert_false(s.current);
	/* The old series lost its only instance and is gone; SR left the
	 * study's modalities, KO came in; the description was overwritten. */
	STUDY_Q("1.2.1|2|4|CT\\KO|CT CHEST AND ABDOMEN", {PACS_TAG_StudyInstanceUID, "1.2.1"},
		{PACS_TAG_NumberOfStudyRelatedSeries, NULL}, {PACS_TAG_NumberOfStudyRelatedInstances, NULL},
		{PACS_TAG_ModalitiesInStudy, NULL}, {PACS_TAG_StudyDescription, NULL});
	{
		const struct kv k[] = {{PACS_TAG_StudyInstanceUID, "1.2.1"}, {PACS_TAG_SeriesInstanceUID, NULL},
				       {PACS_TAG_Modality, NULL}, {PACS_TAG_NumberOfSeriesRelatedInstances, NULL}};

		expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_SERIES, k, N(k), false,
			    "1.2.1|1.2.1.1|CT|3\n1.2.1|1.2.1.3|KO|1");
	}
	/* Moving the only instance of a study to another study removes it. */
	moved = archive[7];
	moved.hash = 0xC1;
	moved.study = "1.2.40";
	moved.series = "1.2.40.1";
	assert_int_equal(put_one(f->idx, &moved, &v), STORE_INDEX_VERSION_REPLACED);
	STUDY_Q("1.2.40|PID3", {PACS_TAG_StudyInstanceUID, "1.2.4\\1.2.40"}, {PACS_TAG_PatientID, NULL});
}

static void test_batch_with_a_bad_instance(void **state)
{
	struct fixture *f = *state;
	store_index_instance *a = make(&archive[0]), *b = make(&archive[1]), *c = make(&archive[2]);
	const store_index_instance *batch[3] = {a, b, c};
	store_index_put_result r[3];

	set(b, PACS_TAG_SeriesInstanceUID, NULL);
	assert_int_equal(store_index_put(f->idx, batch, 3, r), 0);
	assert_int_equal(r[0].err, 0);
	assert_int_equal(r[1].err, ARCA_EINVAL);
	assert_non_null(strstr(r[1].message, "SeriesInstanceUID"));
	assert_int_equal(r[2].err, 0);
	STUDY_Q("1.2.1|2", {PACS_TAG_StudyInstanceUID, NULL}, {PACS_TAG_NumberOfStudyRelatedInstances, NULL});
	store_index_instance_free(a);
	store_index_instance_free(b);
	store_index_instance_free(c);
}

/* ---- counts and computed keys ---- */

static void test_counts(void **state)
{
	struct fixture *f = *state;

	load_archive(f);
	STUDY_Q("PID1|1.2.1|2|4|CT\\SR|" CT_CLASS "\\" SR_CLASS "\n"
		"PID1|1.2.2|1|2|MR|" MR_CLASS "\n"
		"PID1|1.2.9|1|1|CT|" CT_CLASS,
		{PACS_TAG_PatientID, "PID1"}, {PACS_TAG_StudyInstanceUID, NULL},
		{PACS_TAG_NumberOfStudyRelatedSeries, NULL}, {PACS_TAG_NumberOfStudyRelatedInstances, NULL},
		{PACS_TAG_ModalitiesInStudy, NULL}, {PACS_TAG_SOPClassesInStudy, NULL});
	{
		const struct kv k[] = {{PACS_TAG_PatientID, NULL}, {PACS_TAG_IssuerOfPatientID, NULL},
				       {PACS_TAG_NumberOfPatientRelatedStudies, NULL},
				       {PACS_TAG_NumberOfPatientRelatedSeries, NULL},
				       {PACS_TAG_NumberOfPatientRelatedInstances, NULL}};

		expect_rows(f->idx, STORE_INDEX_PATIENT_ROOT, STORE_INDEX_PATIENT, k, N(k), false,
			    "PID1||3|4|7\nPID2||1|1|1\nPID3||1|1|1\nPID4||1|1|1\n"
			    "PID5|HOSP_A|1|1|1\nPID5|HOSP_B|1|1|1\nPID7||1|1|1");
	}
}

/* ---- matching, study level (Study Root) ---- */

#define SMITH_ROWS "Smith^John|1.2.1\nSmith^John|1.2.2\nSmith^John|1.2.9"
#define SMI_ROWS "SMITHERS^Anna|1.2.3\n" SMITH_ROWS

static void test_match_person_names(void **state)
{
	struct fixture *f = *state;

	load_archive(f);
	/* Case-insensitive by default; trailing empty components ignored. */
	STUDY_Q("Smith^John|1.2.1\nSmith^John|1.2.2\nSmith^John|1.2.9", {PACS_TAG_PatientName, "smith^john^^"});
	STUDY_Q(SMI_ROWS, {PACS_TAG_PatientName, "SMI*"});
	STUDY_Q(SMI_ROWS, {PACS_TAG_PatientName, "smi*"});
	STUDY_Q(SMITH_ROWS, {PACS_TAG_PatientName, "S?ITH^*"});
	STUDY_Q("Müller^Jürgen|1.2.4", {PACS_TAG_PatientName, "MÜLLER*"});
	STUDY_Q("Müller^Jürgen|1.2.4", {PACS_TAG_PatientName, "müller^jürgen"});
	STUDY_Q("Doe^Jane|PID5|1.2.6\nDoe^John|PID5|1.2.7", {PACS_TAG_PatientName, "*^J*"}, {PACS_TAG_PatientID, "PID5"});
	/* Component-wise: "SMITH" is the family name, and the empty given name
	 * matches any (PS3.4 C.2.2.2.1); SMITHERS is another family name. */
	STUDY_Q("Smith^John|1.2.1\nSmith^John|1.2.2\nSmith^John|1.2.9", {PACS_TAG_PatientName, "SMITH"});
	/* ReferringPhysicianName is a PN too. */
	STUDY_Q("House^Gregory|1.2.1\nhouse^greg|1.2.3", {PACS_TAG_ReferringPhysicianName, "HOUSE^GREG*"});
	/* Universal matching returns the value; a lone "*" is universal too. */
	STUDY_Q("1.2.8|O[Brien]^X", {PACS_TAG_StudyInstanceUID, "1.2.8"}, {PACS_TAG_PatientName, "*"});
}

/* Names with every component and all three component groups. */
static const struct spec pn_archive[] = {
	{"PN1", NULL, "Yamada^Tarou=\u5C71\u7530^\u592A\u90CE=\u3084\u307E\u3060^\u305F\u308D\u3046", NULL, "M",
	 "3.1", NULL, NULL, NULL, NULL, NULL, "3.1.1", "CT", "1", "3.1.1.1", CT_CLASS, "1", 0xA1},
	{"PN2", NULL, "Smith^John^Paul^Dr^Jr", NULL, "M", "3.2", NULL, NULL, NULL, NULL, "Watson^John^H", "3.2.1",
	 "CT", "1", "3.2.1.1", CT_CLASS, "1", 0xA2},
	{"PN3", NULL, "Smithson^Johanna", NULL, "F", "3.3", NULL, NULL, NULL, NULL, NULL, "3.3.1", "CT", "1",
	 "3.3.1.1", CT_CLASS, "1", 0xA3},
	{"PN4", NULL, "Jones^John", NULL, "M", "3.4", NULL, NULL, NULL, NULL, NULL, "3.4.1", "CT", "1", "3.4.1.1",
	 CT_CLASS, "1", 0xA4},
	{"PN5", NULL, "de la Cruz^Mar\u00EDa Jos\u00E9", NULL, "F", "3.5", NULL, NULL, NULL, NULL, NULL, "3.5.1",
	 "CT", "1", "3.5.1.1", CT_CLASS, "1", 0xA5},
};

#define PN_Q(expected_studies, pattern)                                                             \
	STUDY_Q(expected_studies, {PACS_TAG_StudyInstanceUID, NULL}, {PACS_TAG_PatientName, pattern})

/* PS3.4 C.2.2.2.1 and C.2.2.2.4, component by component: each component
 * of each group has its own single value or wildcard match; components
 * and groups the query leaves empty match anything. */
static void test_match_person_names_componentwise(void **state)
{
	struct fixture *f = *state;
	const char *yamada = "Yamada^Tarou=\u5C71\u7530^\u592A\u90CE=\u3084\u307E\u3060^\u305F\u308D\u3046";
	char exp[256];

	put_all(f->idx, pn_archive, N(pn_archive), STORE_INDEX_NEW);
	PN_Q("3.2|Smith^John^Paul^Dr^Jr", "SMITH");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr\n3.3|Smithson^Johanna", "smith*");
	/* '*' stays inside its component: "S*N" is a family name ending in N */
	PN_Q("3.3|Smithson^Johanna", "S*N");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr\n3.4|Jones^John", "^JOHN");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr\n3.3|Smithson^Johanna\n3.4|Jones^John", "^joh*");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr\n3.4|Jones^John", "^J?HN");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr", "?MITH^JOHN");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr", "*^*^PAUL");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr", "^^^DR");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr", "^^^^jr");
	PN_Q("", "Jones^John^X");
	PN_Q("", "SMITH^JOHN^PAUL^DR^SR");
	/* ideographic and phonetic groups (PS3.5 6.2.1.2) */
	snprintf(exp, sizeof(exp), "3.1|%s", yamada);
	PN_Q(exp, "=\u5C71\u7530^\u592A\u90CE");
	PN_Q(exp, "==\u3084\u307E*");
	PN_Q(exp, "YAMADA=\u5C71*");
	PN_Q(exp, "yamada^tarou");
	PN_Q("", "YAMADA=\u5DDD*");
	/* case folding beyond ASCII; a space inside a component is literal */
	PN_Q("3.5|de la Cruz^Mar\u00EDa Jos\u00E9", "DE LA CRUZ^MAR\u00CDA*");
	PN_Q("3.5|de la Cruz^Mar\u00EDa Jos\u00E9", "de la*^* JOS\u00C9");
	PN_Q("", "DE LA CRUZ^MARIA*");
	/* more than one PN key: each is matched on its own */
	STUDY_Q("3.2|Smith^John^Paul^Dr^Jr|Watson^John^H", {PACS_TAG_StudyInstanceUID, NULL},
		{PACS_TAG_PatientName, "^JOHN"}, {PACS_TAG_ReferringPhysicianName, "WATSON"});
}

static void test_pn_case_sensitive_componentwise(void **state)
{
	struct fixture *f = *state;

	store_index_free(f->idx);
	assert_int_equal(open_index(f, STORE_INDEX_KEEP_FIRST, true), 0);
	put_all(f->idx, pn_archive, N(pn_archive), STORE_INDEX_NEW);
	PN_Q("", "SMITH");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr", "Smith");
	PN_Q("3.2|Smith^John^Paul^Dr^Jr\n3.4|Jones^John", "^John");
	PN_Q("", "^john");
}

static void test_pn_case_sensitive_option(void **state)
{
	struct fixture *f = *state;

	store_index_free(f->idx);
	assert_int_equal(open_index(f, STORE_INDEX_KEEP_FIRST, true), 0);
	load_archive(f);
	STUDY_Q("", {PACS_TAG_PatientName, "smi*"});
	STUDY_Q(SMITH_ROWS, {PACS_TAG_PatientName, "Smi*"});
	STUDY_Q("SMITHERS^Anna|1.2.3", {PACS_TAG_PatientName, "SMI*"});
}

static void test_match_wildcard_escaping(void **state)
{
	struct fixture *f = *state;

	load_archive(f);
	/* % and _ are ordinary characters; [ and ] too. */
	STUDY_Q("100%|1.2.5", {PACS_TAG_AccessionNumber, "100%"});
	STUDY_Q("100%|1.2.5", {PACS_TAG_AccessionNumber, "10*%"});
	STUDY_Q("", {PACS_TAG_AccessionNumber, "10%"});
	STUDY_Q("ACC_6|1.2.6", {PACS_TAG_AccessionNumber, "ACC_6"});
	STUDY_Q("ACCX6|1.2.7\nACC_6|1.2.6", {PACS_TAG_AccessionNumber, "ACC?6"});
	STUDY_Q("A[1]|1.2.8", {PACS_TAG_AccessionNumber, "A[1]"});
	STUDY_Q("A[1]|1.2.8", {PACS_TAG_AccessionNumber, "A[*"});
	STUDY_Q("", {PACS_TAG_AccessionNumber, "A1*"});
	STUDY_Q("100%^Pure|1.2.5", {PACS_TAG_PatientName, "100%*"});
	STUDY_Q("", {PACS_TAG_PatientName, "1_0*"});
	STUDY_Q("O[Brien]^X|1.2.8", {PACS_TAG_PatientName, "O[B*"});
	/* Text matching other than PN is case-sensitive (PS3.4 C.2.2.2.1). */
	STUDY_Q("", {PACS_TAG_AccessionNumber, "acc1"});
	STUDY_Q("ACC1|1.2.1", {PACS_TAG_AccessionNumber, "ACC1"});
}

static void test_match_dates(void **state)
{
	struct fixture *f = *state;

	load_archive(f);
	STUDY_Q("20260105|1.2.1\n20260105|1.2.6", {PACS_TAG_StudyDate, "20260105"});
	STUDY_Q("20260105|1.2.1\n20260105|1.2.6\n20260107|1.2.9\n20260110|1.2.2",
		{PACS_TAG_StudyDate, "20260105-20260110"});
	STUDY_Q("20260201|1.2.5\n20260301|1.2.8", {PACS_TAG_StudyDate, "20260201-"});
	/* An open lower end does not reach the study without a date (1.2.7). */
	STUDY_Q("20251231|1.2.3", {PACS_TAG_StudyDate, "-20251231"});
	STUDY_Q("", {PACS_TAG_StudyDate, "20260110-20260105"});
	/* Universal matching includes the study without a date. */
	STUDY_Q("PID5|HOSP_B||1.2.7", {PACS_TAG_PatientID, "PID5"}, {PACS_TAG_IssuerOfPatientID, "HOSP_B"},
		{PACS_TAG_StudyDate, NULL});
	/* Patient-level date at the study level. */
	STUDY_Q("19800202|1.2.3", {PACS_TAG_PatientBirthDate, "19750101-19851231"});
}

static void test_match_times(void **state)
{
	struct fixture *f = *state;

	load_archive(f);
	/* 120000.5 is inside "-1200" (12:00:00-12:00:59.999999). */
	STUDY_Q("083000|1.2.1\n100000|1.2.9\n120000.5|1.2.3", {PACS_TAG_StudyTime, "0800-1200"});
	STUDY_Q("0015|1.2.4", {PACS_TAG_StudyTime, "-0759"});
	STUDY_Q("1400|1.2.8\n231500|1.2.2", {PACS_TAG_StudyTime, "1300-"});
	/* A single time is the span it names. */
	STUDY_Q("083000|1.2.1", {PACS_TAG_StudyTime, "0830"});
	STUDY_Q("120000.5|1.2.3", {PACS_TAG_StudyTime, "120000.5"});
	STUDY_Q("", {PACS_TAG_StudyTime, "120000.6"});
}

static void test_match_combined_datetime(void **state)
{
	struct fixture *f = *state;
	const struct kv window[] = {{PACS_TAG_StudyDate, "20260105-20260110"}, {PACS_TAG_StudyTime, "2000-0900"}};
	const struct kv from[] = {{PACS_TAG_StudyDate, "20260105-"}, {PACS_TAG_StudyTime, "0900-"}};

	load_archive(f);
	/* PS3.4 C.2.2.2.5.1: 2026-01-05 20:00 to 2026-01-10 09:00:59 as one
	 * range; separately, "2000-0900" is an empty time range. */
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY, window, N(window), true,
		    "20260107|100000|1.2.9");
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY, window, N(window), false, "");
	/* From 2026-01-05 09:00 on: a study on a later day matches whatever
	 * its time (or without one); separately, the time must be >= 09:00. */
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY, from, N(from), true,
		    "20260107|100000|1.2.9\n20260110|231500|1.2.2\n20260111|0015|1.2.4\n"
		    "20260201||1.2.5\n20260301|1400|1.2.8");
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY, from, N(from), false,
		    "20260107|100000|1.2.9\n20260110|231500|1.2.2\n20260301|1400|1.2.8");
}

static void test_match_uid_lists_and_sets(void **state)
{
	struct fixture *f = *state;

	load_archive(f);
	STUDY_Q("1.2.2\n1.2.5\n1.2.9", {PACS_TAG_StudyInstanceUID, "1.2.2\\1.2.9\\1.2.5\\9.9"});
	STUDY_Q("1.2.4|ACC4", {PACS_TAG_StudyInstanceUID, "1.2.4"}, {PACS_TAG_AccessionNumber, NULL});
	/* Modalities in Study: any of the listed modalities. */
	STUDY_Q("CT\\SR|1.2.1", {PACS_TAG_ModalitiesInStudy, "SR"});
	STUDY_Q("MR|1.2.2\nMR|1.2.7\nUS|1.2.4", {PACS_TAG_ModalitiesInStudy, "MR\\US"});
	STUDY_Q("DX|1.2.5", {PACS_TAG_ModalitiesInStudy, "D?"});
	/* With another condition to drive the query (checked per study). */
	STUDY_Q("CT\\SR|20260105|1.2.1\nCT|20260105|1.2.6", {PACS_TAG_ModalitiesInStudy, "CT"},
		{PACS_TAG_StudyDate, "20260105"});
	STUDY_Q("MR|PID1|1.2.2", {PACS_TAG_ModalitiesInStudy, "MR\\XA"}, {PACS_TAG_PatientID, "PID1"});
	STUDY_Q("PID1|" CT_CLASS "\\" SR_CLASS "|1.2.1", {PACS_TAG_PatientID, "PID1"}, {PACS_TAG_SOPClassesInStudy, SR_CLASS "\\1.2.3"});
	STUDY_Q(CT_CLASS "\\" SR_CLASS "|1.2.1", {PACS_TAG_SOPClassesInStudy, SR_CLASS});
	/* CS list: PatientSex "F\O". */
	STUDY_Q("F|1.2.3\nF|1.2.6\nO|1.2.5", {PACS_TAG_PatientSex, "F\\O"});
	/* Issuer tells the two PID5 patients apart. */
	STUDY_Q("PID5|HOSP_B|Doe^John|1.2.7", {PACS_TAG_PatientID, "PID5"}, {PACS_TAG_IssuerOfPatientID, "HOSP_B"},
		{PACS_TAG_PatientName, NULL});
}

/* ---- other levels ---- */

static void test_match_series_level(void **state)
{
	struct fixture *f = *state;
	const struct kv by_study[] = {{PACS_TAG_StudyInstanceUID, "1.2.1"}, {PACS_TAG_SeriesInstanceUID, NULL},
				      {PACS_TAG_Modality, NULL}, {PACS_TAG_SeriesNumber, NULL},
				      {PACS_TAG_NumberOfSeriesRelatedInstances, NULL}};
	const struct kv ct[] = {{PACS_TAG_Modality, "C*"}, {PACS_TAG_SeriesNumber, "1"}};
	const struct kv num[] = {{PACS_TAG_StudyInstanceUID, "1.2.1"}, {PACS_TAG_SeriesNumber, "99"}};
	const struct kv list[] = {{PACS_TAG_Modality, "MR\\DX"}};

	load_archive(f);
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_SERIES, by_study, N(by_study), false,
		    "1.2.1|1.2.1.1|CT|1|3\n1.2.1|1.2.1.2|SR|99|1");
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_SERIES, ct, N(ct), false,
		    "CR|1|1.2.3.1\nCT|1|1.2.1.1\nCT|1|1.2.6.1\nCT|1|1.2.8.1\nCT|1|1.2.9.1");
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_SERIES, num, N(num), false, "1.2.1|99|1.2.1.2");
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_SERIES, list, N(list), false,
		    "DX|1.2.5.1\nMR|1.2.2.1\nMR|1.2.7.1");
}

static void test_match_image_level(void **state)
{
	struct fixture *f = *state;
	const struct kv k[] = {{PACS_TAG_PatientID, "PID1"}, {PACS_TAG_StudyInstanceUID, "1.2.1"},
			       {PACS_TAG_SeriesInstanceUID, "1.2.1.1"}, {PACS_TAG_SOPInstanceUID, NULL},
			       {PACS_TAG_InstanceNumber, NULL}, {PACS_TAG_Rows, NULL},
			       {PACS_TAG_AvailableTransferSyntaxUID, NULL}};
	const struct kv list[] = {{PACS_TAG_StudyInstanceUID, "1.2.1"}, {PACS_TAG_SeriesInstanceUID, "1.2.1.1"},
				  {PACS_TAG_SOPInstanceUID, "1.2.1.1.3\\1.2.1.1.1"}, {PACS_TAG_SOPClassUID, NULL}};
	const struct kv num[] = {{PACS_TAG_StudyInstanceUID, "1.2.1"}, {PACS_TAG_SeriesInstanceUID, "1.2.1.1"},
				 {PACS_TAG_InstanceNumber, "2"}};
	store_index_find *find;
	store_index_query *q;
	store_index_storage s;
	bool row;

	load_archive(f);
	expect_rows(f->idx, STORE_INDEX_PATIENT_ROOT, STORE_INDEX_IMAGE, k, N(k), false,
		    "PID1|1.2.1|1.2.1.1|1.2.1.1.1|1|512|" ELE "\n"
		    "PID1|1.2.1|1.2.1.1|1.2.1.1.2|2|512|" ELE "\n"
		    "PID1|1.2.1|1.2.1.1|1.2.1.1.3|3|512|" ELE);
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_IMAGE, list, N(list), false,
		    "1.2.1|1.2.1.1|1.2.1.1.1|" CT_CLASS "\n"
		    "1.2.1|1.2.1.1|1.2.1.1.3|" CT_CLASS);
	expect_rows(f->idx, STORE_INDEX_STUDY_ROOT, STORE_INDEX_IMAGE, num, N(num), false,
		    "1.2.1|1.2.1.1|2|1.2.1.1.2");
	/* Storage data through the cursor (C-MOVE lists a study this way). */
	assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_IMAGE), 0);
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyInstanceUID, "1.2.2"), 0);
	assert_int_equal(store_index_find_add(find, PACS_TAG_InstanceNumber, "2"), 0);
	assert_int_equal(store_index_query_open(&q, f->idx, find), 0);
	store_index_find_free(find);
	assert_int_equal(store_index_query_next(q, &row), 0);
	assert_true(row);
	assert_string_equal(store_index_query_value(q, PACS_TAG_SOPInstanceUID), "1.2.2.1.2");
	assert_null(store_index_query_value(q, PACS_TAG_PatientName));
	assert_int_equal(store_index_query_storage(q, &s), 0);
	assert_int_equal(s.instance_hash[31], 0x22);
	assert_int_equal(s.manifest[0], (uint8_t)~0x22);
	assert_int_equal(s.size, 1000 + 0x22);
	assert_int_equal(store_index_query_next(q, &row), 0);
	assert_false(row);
	store_index_query_free(q);
}

static void test_patient_root(void **state)
{
	struct fixture *f = *state;
	const struct kv pat[] = {{PACS_TAG_PatientName, "smith*"}, {PACS_TAG_PatientSex, NULL}};
	const struct kv study[] = {{PACS_TAG_PatientID, "PID1"}, {PACS_TAG_StudyDate, "-20260106"}};

	load_archive(f);
	/* The unique key (PatientID) comes with every row. */
	expect_rows(f->idx, STORE_INDEX_PATIENT_ROOT, STORE_INDEX_PATIENT, pat, N(pat), false,
		    "SMITHERS^Anna|F|PID2\nSmith^John|M|PID1");
	expect_rows(f->idx, STORE_INDEX_PATIENT_ROOT, STORE_INDEX_STUDY, study, N(study), false,
		    "PID1|20260105|1.2.1");
}

static void test_find_errors(void **state)
{
	struct fixture *f = *state;
	store_index_find *find;

	assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_PATIENT), ARCA_EINVAL);
	assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY), 0);
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyDate, "2026-01-01"), ARCA_EINVAL);
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyDate, "20260101-20260"), ARCA_EINVAL);
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyDate, "-"), ARCA_EINVAL);
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyTime, "2500"), ARCA_EINVAL);
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyTime, "12345"), ARCA_EINVAL);
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyInstanceUID, "1.2.*"), ARCA_EINVAL);
	assert_int_equal(store_index_find_add(find, PACS_TAG_NumberOfStudyRelatedSeries, "x"), ARCA_EINVAL);
	assert_int_equal(store_index_find_add(find, PACS_TAG_Modality, "CT"), ARCA_EINVAL);
	assert_non_null(strstr(arca_error_last(), "below the STUDY level"));
	assert_int_equal(store_index_find_add(find, PACS_TAG_PatientComments, "x"), ARCA_ENOTFOUND);
	/* The find is still usable after refused keys. */
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyDate, "20260101-"), 0);
	store_index_find_free(find);
	(void)f;
}

/* ---- cursors ---- */

static void put_many_studies(store_index *idx, int n)
{
	char study[32], series[32], sop[32];

	for (int i = 0; i < n; i++) {
		struct spec s = {"MANY", NULL, "Many^Studies", NULL, NULL, study, "20250101", NULL, NULL, NULL, NULL,
				 series, "CT", "1", sop, CT_CLASS, "1", (uint8_t)i};

		snprintf(study, sizeof(study), "2.25.%d", i);
		snprintf(series, sizeof(series), "2.25.%d.1", i);
		snprintf(sop, sizeof(sop), "2.25.%d.1.1", i);
		assert_int_equal(put_one(idx, &s, NULL), STORE_INDEX_NEW);
	}
}

static int count_rows(store_index *idx, uint64_t limit, int *rows)
{
	store_index_find *find;
	store_index_query *q;
	bool row = true;
	int rc = 0;

	*rows = 0;
	assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY), 0);
	assert_int_equal(store_index_find_add(find, PACS_TAG_PatientID, "MANY"), 0);
	store_index_find_set_limit(find, limit);
	assert_int_equal(store_index_query_open(&q, idx, find), 0);
	store_index_find_free(find);
	while (rc == 0 && row) {
		rc = store_index_query_next(q, &row);
		if (rc == 0 && row)
			(*rows)++;
	}
	/* After the end (or the limit), next keeps saying "no row". */
	assert_int_equal(store_index_query_next(q, &row), 0);
	assert_false(row);
	store_index_query_free(q);
	return rc;
}

static void test_cursor_limit(void **state)
{
	struct fixture *f = *state;
	store_index_find *find;
	store_index_query *q[6];
	int rows;
	bool row;

	put_many_studies(f->idx, 30);
	assert_int_equal(count_rows(f->idx, 10, &rows), ARCA_ELIMIT);
	assert_int_equal(rows, 10);
	assert_int_equal(count_rows(f->idx, 30, &rows), 0);
	assert_int_equal(rows, 30);
	assert_int_equal(count_rows(f->idx, 0, &rows), 0);
	assert_int_equal(rows, 30);
	/* As many cursors as pooled readers (4), stepped in turn, freed
	 * before their end. */
	assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY), 0);
	assert_int_equal(store_index_find_add(find, PACS_TAG_StudyInstanceUID, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_index_query_open(&q[i], f->idx, find), 0);
	for (int step = 0; step < 5; step++)
		for (int i = 0; i < 4; i++) {
			assert_int_equal(store_index_query_next(q[i], &row), 0);
			assert_true(row);
			assert_non_null(strstr(store_index_query_value(q[i], PACS_TAG_StudyInstanceUID), "2.25."));
		}
	for (int i = 0; i < 4; i++)
		store_index_query_free(q[i]);
	/* The readers are back in the pool. */
	assert_int_equal(store_index_query_open(&q[5], f->idx, find), 0);
	store_index_query_free(q[5]);
	store_index_find_free(find);
}

/* ---- durability ---- */

static void test_reopen(void **state)
{
	struct fixture *f = *state;
	store_index_storage s;

	load_archive(f);
	store_index_free(f->idx);
	f->idx = NULL;
	assert_int_equal(open_index(f, STORE_INDEX_KEEP_FIRST, false), 0);
	assert_int_equal(store_index_get(f->idx, "1.2.9.1.1", 0, &s), 0);
	assert_int_equal(s.instance_hash[0], 0x91);
	STUDY_Q("PID1|1|1|1.2.9\nPID1|1|2|1.2.2\nPID1|2|4|1.2.1", {PACS_TAG_PatientID, "PID1"},
		{PACS_TAG_NumberOfStudyRelatedSeries, NULL}, {PACS_TAG_NumberOfStudyRelatedInstances, NULL});
	/* A newer schema is refused. */
	store_index_free(f->idx);
	f->idx = NULL;
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version=99' 2>/dev/null", f->path);
		if (system(cmd) == 0) {
			assert_int_equal(open_index(f, STORE_INDEX_KEEP_FIRST, false), ARCA_EUNSUPPORTED);
			snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version=4'", f->path);
			assert_int_equal(system(cmd), 0);
		}
	}
	assert_int_equal(open_index(f, STORE_INDEX_KEEP_FIRST, false), 0);
	assert_int_equal(store_index_open(&(store_index *){NULL}, "postgresql://db/arca", NULL), ARCA_EUNSUPPORTED);
}

/* A writer killed (SIGKILL) right after put returned: every batch it was
 * told is committed is there after reopening, and no half batch. */
static void test_kill_after_commit(void **state)
{
	struct fixture *f = *state;
	int fds[2], acked = 0, status;
	char line[16];
	FILE *in;
	pid_t pid;

	store_index_free(f->idx);
	f->idx = NULL;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store_index *idx;

		close(fds[0]);
		if (store_index_open(&idx, f->path, NULL) < 0)
			_exit(3);
		for (int b = 0;; b++) {
			char sop[RACE_BATCH][32];
			store_index_instance *batch[RACE_BATCH];
			store_index_put_result res[RACE_BATCH];
			struct spec s = {"KILL", NULL, "Kill^Nine", NULL, NULL, "4.1", NULL, NULL, NULL, NULL, NULL,
					 "4.1.1", "CT", "1", NULL, CT_CLASS, NULL, 0};

			for (int i = 0; i < RACE_BATCH; i++) {
				snprintf(sop[i], sizeof(sop[i]), "4.1.1.%d", b * RACE_BATCH + i);
				s.sop = sop[i];
				batch[i] = make(&s);
			}
			if (store_index_put(idx, (const store_index_instance *const *)batch, RACE_BATCH, res) < 0)
				_exit(4);
			for (int i = 0; i < RACE_BATCH; i++)
				store_index_instance_free(batch[i]);
			dprintf(fds[1], "%d\n", b + 1);
		}
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	assert_non_null(in);
	while (acked < 5 && fgets(line, sizeof(line), in) != NULL)
		acked = atoi(line);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* Batches acknowledged after the last line read count too. */
	while (fgets(line, sizeof(line), in) != NULL)
		acked = atoi(line);
	fclose(in);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(acked >= 5, 1);
	assert_int_equal(open_index(f, STORE_INDEX_KEEP_FIRST, false), 0);
	{
		store_index_find *find;
		store_index_query *q;
		bool row = false;
		long n;

		assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY), 0);
		assert_int_equal(store_index_find_add(find, PACS_TAG_StudyInstanceUID, "4.1"), 0);
		assert_int_equal(store_index_find_add(find, PACS_TAG_NumberOfStudyRelatedInstances, NULL), 0);
		assert_int_equal(store_index_query_open(&q, f->idx, find), 0);
		assert_int_equal(store_index_query_next(q, &row), 0);
		assert_true(row);
		n = atol(store_index_query_value(q, PACS_TAG_NumberOfStudyRelatedInstances));
		store_index_query_free(q);
		store_index_find_free(find);
		assert_true(n >= (long)acked * RACE_BATCH);
		assert_int_equal(n % RACE_BATCH, 0);
	}
}

/* ---- data sets ---- */

static void test_keys_from_ds(void **state)
{
	struct fixture *f = *state;
	/* ISO_IR 100 (Latin-1): "Müller^Jürgen" with ü = 0xFC. */
	static const char latin1_name[] = "M\xFCller^J\xFCrgen";
	store_index_instance *inst;
	store_index_find *find;
	pacs_ds *ds, *id;
	char *got;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SpecificCharacterSet, PACS_VR_CS, "ISO_IR 100"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_PatientName, PACS_VR_PN, latin1_name), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_PatientID, PACS_VR_LO, " X1 "), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_StudyInstanceUID, PACS_VR_UI, "1.3.1"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SeriesInstanceUID, PACS_VR_UI, "1.3.1.1"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SOPInstanceUID, PACS_VR_UI, "1.3.1.1.1"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SOPClassUID, PACS_VR_UI, MR_CLASS), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SeriesNumber, PACS_VR_IS, " 7"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_StudyDescription, PACS_VR_LO, ""), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG_Rows, 384), 0);
	assert_int_equal(store_index_instance_new(&inst), 0);
	set(inst, PACS_TAG_StudyDescription, "left over");
	assert_int_equal(store_index_instance_from_ds(inst, ds), 0);
	assert_string_equal(store_index_instance_get(inst, PACS_TAG_PatientName), "Müller^Jürgen");
	assert_string_equal(store_index_instance_get(inst, PACS_TAG_PatientID), "X1");
	assert_string_equal(store_index_instance_get(inst, PACS_TAG_SeriesNumber), "7");
	assert_string_equal(store_index_instance_get(inst, PACS_TAG_Rows), "384");
	assert_null(store_index_instance_get(inst, PACS_TAG_StudyDescription));
	assert_null(store_index_instance_get(inst, PACS_TAG_Modality));
	assert_int_equal(store_index_instance_set(inst, PACS_TAG_NumberOfStudyRelatedSeries, "1"), ARCA_ENOTFOUND);
	snprintf(store_index_instance_storage(inst)->transfer_syntax, STORE_INDEX_UID_MAX + 1, "%s", ELE);
	{
		const store_index_instance *b[1] = {inst};
		store_index_put_result r;

		assert_int_equal(store_index_put(f->idx, b, 1, &r), 0);
		assert_int_equal(r.err, 0);
	}
	/* An identifier in Latin-1 finds it; an empty code sequence key is
	 * universal (its column comes back empty: none stored), unknown keys
	 * are left to the caller. */
	assert_int_equal(pacs_ds_new(&id), 0);
	assert_int_equal(pacs_ds_set_string(id, PACS_TAG_SpecificCharacterSet, PACS_VR_CS, "ISO_IR 100"), 0);
	assert_int_equal(pacs_ds_set_string(id, PACS_TAG_QueryRetrieveLevel, PACS_VR_CS, "STUDY"), 0);
	assert_int_equal(pacs_ds_set_string(id, PACS_TAG_PatientName, PACS_VR_PN, "m\xFCller*"), 0);
	assert_int_equal(pacs_ds_set_string(id, PACS_TAG_StudyInstanceUID, PACS_VR_UI, ""), 0);
	assert_int_equal(pacs_ds_set_string(id, PACS_TAG_PatientComments, PACS_VR_LT, ""), 0);
	assert_int_equal(pacs_ds_set_string(id, PACS_TAG_Modality, PACS_VR_CS, "MR"), 0);
	assert_int_equal(pacs_ds_set_sequence(id, PACS_TAG_ProcedureCodeSequence, NULL), 0);
	assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY), 0);
	assert_int_equal(store_index_find_from_ds(find, id), 0);
	got = rows_of(f->idx, find);
	assert_string_equal(got, "|Müller^Jürgen|1.3.1");
	free(got);
	store_index_find_free(find);
	store_index_instance_free(inst);
	pacs_ds_free(ds);
	pacs_ds_free(id);
}

/* ---- sequence matching (PS3.4 C.2.2.2.6) ---- */

struct code {
	const char *value, *scheme, *meaning;
};

/* An instance of study "5.<n>" with Procedure Code Sequence items, read
 * from a data set as ingest does. */
static void put_coded(store_index *idx, int n, const struct code *codes, size_t n_codes, const char *region)
{
	char uid[32];
	store_index_instance *inst;
	pacs_ds *ds, *item;
	store_index_put_result r;

	assert_int_equal(pacs_ds_new(&ds), 0);
	snprintf(uid, sizeof(uid), "CODED%d", n);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_PatientID, PACS_VR_LO, uid), 0);
	snprintf(uid, sizeof(uid), "5.%d", n);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_StudyInstanceUID, PACS_VR_UI, uid), 0);
	snprintf(uid, sizeof(uid), "5.%d.1", n);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SeriesInstanceUID, PACS_VR_UI, uid), 0);
	snprintf(uid, sizeof(uid), "5.%d.1.1", n);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SOPInstanceUID, PACS_VR_UI, uid), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SOPClassUID, PACS_VR_UI, CT_CLASS), 0);
	assert_int_equal(pacs_ds_set_sequence(ds, PACS_TAG_ProcedureCodeSequence, NULL), 0);
	for (size_t i = 0; i < n_codes; i++) {
		assert_int_equal(pacs_ds_add_item(ds, PACS_TAG_ProcedureCodeSequence, &item), 0);
		assert_int_equal(pacs_ds_set_string(item, PACS_TAG_CodeValue, PACS_VR_SH, codes[i].value), 0);
		assert_int_equal(pacs_ds_set_string(item, PACS_TAG_CodingSchemeDesignator, PACS_VR_SH, codes[i].scheme), 0);
		assert_int_equal(pacs_ds_set_string(item, PACS_TAG_CodeMeaning, PACS_VR_LO, codes[i].meaning), 0);
	}
	if (region != NULL) {
		assert_int_equal(pacs_ds_add_item(ds, PACS_TAG_AnatomicRegionSequence, &item), 0);
		assert_int_equal(pacs_ds_set_string(item, PACS_TAG_CodeValue, PACS_VR_SH, region), 0);
		assert_int_equal(pacs_ds_set_string(item, PACS_TAG_CodingSchemeDesignator, PACS_VR_SH, "SCT"), 0);
	}
	assert_int_equal(store_index_instance_new(&inst), 0);
	assert_int_equal(store_index_instance_from_ds(inst, ds), 0);
	snprintf(store_index_instance_storage(inst)->transfer_syntax, STORE_INDEX_UID_MAX + 1, "%s", ELE);
	{
		const store_index_instance *b[1] = {inst};
		assert_int_equal(store_index_put(idx, b, 1, &r), 0);
		assert_int_equal(r.err, 0);
	}
	store_index_instance_free(inst);
	pacs_ds_free(ds);
}

/* Study UIDs matching an identifier with one Procedure Code Sequence item
 * of the given keys (NULL: absent, "": a return key), sorted, space-
 * separated; with answer, the sequence returned for the first match is
 * dumped as "value/scheme/meaning;..." into answer. */
static char *coded_query(store_index *idx, uint32_t seq, const char *value, const char *scheme, const char *meaning,
			 bool no_item, char *answer, size_t answer_size)
{
	store_index_find *find;
	store_index_query *q;
	pacs_ds *id, *item = NULL;
	char *out = calloc(1, 512);
	bool row;

	assert_non_null(out);
	assert_int_equal(pacs_ds_new(&id), 0);
	assert_int_equal(pacs_ds_set_string(id, PACS_TAG_StudyInstanceUID, PACS_VR_UI, ""), 0);
	assert_int_equal(pacs_ds_set_sequence(id, seq, NULL), 0);
	if (!no_item) {
		assert_int_equal(pacs_ds_add_item(id, seq, &item), 0);
		if (value != NULL)
			assert_int_equal(pacs_ds_set(item, PACS_TAG_CodeValue, PACS_VR_SH, value, (uint32_t)strlen(value)), 0);
		if (scheme != NULL)
			assert_int_equal(pacs_ds_set(item, PACS_TAG_CodingSchemeDesignator, PACS_VR_SH, scheme,
						     (uint32_t)strlen(scheme)), 0);
		if (meaning != NULL)
			assert_int_equal(pacs_ds_set(item, PACS_TAG_CodeMeaning, PACS_VR_LO, meaning, (uint32_t)strlen(meaning)), 0);
	}
	assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT,
					      seq == PACS_TAG_AnatomicRegionSequence ? STORE_INDEX_SERIES : STORE_INDEX_STUDY), 0);
	if (seq == PACS_TAG_AnatomicRegionSequence)
		assert_int_equal(store_index_find_add(find, PACS_TAG_SeriesInstanceUID, NULL), 0);
	if (store_index_find_from_ds(find, id) < 0)
		fail_msg("find_from_ds: %s", arca_error_last());
	assert_int_equal(store_index_query_open(&q, idx, find), 0);
	if (answer != NULL)
		answer[0] = '\0';
	while (store_index_query_next(q, &row) == 0 && row) {
		strcat(out, out[0] != '\0' ? " " : "");
		strcat(out, store_index_query_value(q, PACS_TAG_StudyInstanceUID));
		if (answer != NULL && answer[0] == '\0') {
			pacs_ds *rsp;
			const pacs_elem *e;

			assert_int_equal(pacs_ds_new(&rsp), 0);
			assert_int_equal(store_index_code_answer(rsp, seq, store_index_query_value(q, seq),
								 item != NULL && pacs_ds_count(item) > 0 ? item : NULL), 0);
			e = pacs_ds_find(rsp, seq);
			assert_non_null(e);
			for (size_t i = 0; i < pacs_elem_item_count(e); i++) {
				const pacs_ds *it = pacs_elem_item(e, i);
				char v[3][80];
				const uint32_t tags[3] = {PACS_TAG_CodeValue, PACS_TAG_CodingSchemeDesignator, PACS_TAG_CodeMeaning};

				for (int t = 0; t < 3; t++)
					if (pacs_ds_find(it, tags[t]) == NULL)
						snprintf(v[t], sizeof(v[t]), "-");
					else if (pacs_ds_get_string(it, tags[t], 0, v[t], sizeof(v[t])) < 0)
						v[t][0] = '\0';
				snprintf(answer + strlen(answer), answer_size - strlen(answer), "%s/%s/%s;", v[0], v[1], v[2]);
			}
			if (answer[0] == '\0')
				snprintf(answer, answer_size, "(none)");
			pacs_ds_free(rsp);
		}
	}
	store_index_query_free(q);
	store_index_find_free(find);
	pacs_ds_free(id);
	/* sort the space-separated list (at most a few UIDs) */
	{
		char *parts[16], *save = NULL, *tok, *copy = strdup(out);
		size_t n = 0;

		assert_non_null(copy);
		for (tok = strtok_r(copy, " ", &save); tok != NULL && n < 16; tok = strtok_r(NULL, " ", &save))
			parts[n++] = tok;
		qsort(parts, n, sizeof(*parts), cmp_str);
		out[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			strcat(out, i > 0 ? " " : "");
			strcat(out, parts[i]);
		}
		free(copy);
	}
	return out;
}

#define CODED_Q(expected, ...)                                                                   \
	do {                                                                                      \
		char *got_ = coded_query(f->idx, PACS_TAG_ProcedureCodeSequence, __VA_ARGS__, false, NULL, 0); \
		if (strcmp(got_, expected) != 0)                                                  \
			fail_msg("coded query: got '%s', expected '%s'", got_, expected);        \
		free(got_);                                                                       \
	} while (0)

static void test_match_code_sequences(void **state)
{
	struct fixture *f = *state;
	const struct code chest[] = {{"RPID16", "RADLEX", "CT CHEST"}};
	const struct code two[] = {{"24627-2", "LN", "Chest CT"}, {"RPID22", "RADLEX", "CT HEAD"}};
	const struct code head[] = {{"RPID22", "RADLEX", "CT HEAD"}};
	char answer[512], *got;

	put_coded(f->idx, 1, chest, 1, "51185008");
	put_coded(f->idx, 2, two, 2, NULL);
	put_coded(f->idx, 3, head, 1, "69536005");
	put_coded(f->idx, 4, NULL, 0, NULL); /* no codes at all */
	/* one key; two keys of one item; keys that only different items have */
	CODED_Q("5.1", "RPID16", NULL, NULL);
	CODED_Q("5.2 5.3", "RPID22", "RADLEX", NULL);
	CODED_Q("", "RPID22", "LN", NULL);
	CODED_Q("5.2", "24627-2", "", NULL);
	/* wildcards within a key; literal matching is case-sensitive */
	CODED_Q("5.1", NULL, NULL, "C* CH*");
	CODED_Q("5.2", NULL, NULL, "Ch*");
	CODED_Q("5.2 5.3", "RPID2?", NULL, NULL);
	CODED_Q("", "rpid22", NULL, NULL);
	/* an item of return keys only, or no item, is universal */
	CODED_Q("5.1 5.2 5.3 5.4", "", "", "");
	got = coded_query(f->idx, PACS_TAG_ProcedureCodeSequence, NULL, NULL, NULL, true, NULL, 0);
	assert_string_equal(got, "5.1 5.2 5.3 5.4");
	free(got);
	/* returned: the matching items with the requested keys only ... */
	got = coded_query(f->idx, PACS_TAG_ProcedureCodeSequence, "RPID22", NULL, "", false, answer, sizeof(answer));
	assert_string_equal(got, "5.2 5.3");
	assert_true(strcmp(answer, "RPID22/-/CT HEAD;") == 0);
	free(got);
	/* ... and every stored item when the key is universal */
	got = coded_query(f->idx, PACS_TAG_ProcedureCodeSequence, "", "", "", false, answer, sizeof(answer));
	free(got);
	got = coded_query(f->idx, PACS_TAG_ProcedureCodeSequence, "24627-2", NULL, NULL, false, answer, sizeof(answer));
	assert_string_equal(answer, "24627-2/-/-;");
	free(got);
	{
		pacs_ds *rsp;
		const pacs_elem *e;
		char v[64];

		assert_int_equal(pacs_ds_new(&rsp), 0);
		assert_int_equal(store_index_code_answer(rsp, PACS_TAG_ProcedureCodeSequence,
							 "24627-2\x1fLN\x1f\x1f" "Chest CT\x1f\x1f\x1e" "RPID22\x1fRADLEX\x1f\x1f" "CT HEAD\x1f\x1f",
							 NULL), 0);
		e = pacs_ds_find(rsp, PACS_TAG_ProcedureCodeSequence);
		assert_int_equal(pacs_elem_item_count(e), 2);
		assert_int_equal(pacs_ds_get_string(pacs_elem_item(e, 1), PACS_TAG_CodeMeaning, 0, v, sizeof(v)), 0);
		assert_string_equal(v, "CT HEAD");
		assert_null(pacs_ds_find(pacs_elem_item(e, 0), PACS_TAG_CodingSchemeVersion));
		/* nothing stored: an empty sequence */
		assert_int_equal(store_index_code_answer(rsp, PACS_TAG_ProcedureCodeSequence, NULL, NULL), 0);
		assert_int_equal(pacs_elem_item_count(pacs_ds_find(rsp, PACS_TAG_ProcedureCodeSequence)), 0);
		pacs_ds_free(rsp);
	}
	/* series level: Anatomic Region Sequence */
	got = coded_query(f->idx, PACS_TAG_AnatomicRegionSequence, "69536005", "SCT", NULL, false, NULL, 0);
	assert_string_equal(got, "5.3");
	free(got);
	/* two items in a matching key are refused */
	{
		store_index_find *find;

		assert_int_equal(store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY), 0);
		assert_int_equal(store_index_find_add(find, PACS_TAG_ProcedureCodeSequence, "A\x1f\x1e" "B"), ARCA_EINVAL);
		store_index_find_free(find);
	}
}

/* ---- readers during writes ---- */

struct race {
	store_index *idx;
	volatile int done;
	int bad;
	int reads;
};


static void *race_writer(void *arg)
{
	struct race *r = arg;
	char sop[RACE_BATCH][32];
	struct spec s = {"RACE", NULL, "Race^Writer", NULL, NULL, "3.1", "20260102", NULL, NULL, NULL, NULL,
			 "3.1.1", "CT", "1", NULL, CT_CLASS, NULL, 0};

	for (int b = 0; b < RACE_BATCHES; b++) {
		store_index_instance *batch[RACE_BATCH];
		store_index_put_result res[RACE_BATCH];

		for (int i = 0; i < RACE_BATCH; i++) {
			snprintf(sop[i], sizeof(sop[i]), "3.1.1.%d", b * RACE_BATCH + i);
			s.sop = sop[i];
			s.hash = (uint8_t)i;
			batch[i] = make(&s);
		}
		if (store_index_put(r->idx, (const store_index_instance *const *)batch, RACE_BATCH, res) < 0)
			r->bad++;
		for (int i = 0; i < RACE_BATCH; i++) {
			r->bad += res[i].err != 0;
			store_index_instance_free(batch[i]);
		}
	}
	r->done = 1;
	return NULL;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	long last = 0;

	while (!r->done) {
		store_index_find *find;
		store_index_query *q;
		bool row = false;
		long n = 0, images = 0;

		/* A batch is one transaction: a reader sees all of it or none,
		 * so the count is always a whole number of batches and never
		 * goes back. */
		if (store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY) < 0 ||
		    store_index_find_add(find, PACS_TAG_StudyInstanceUID, "3.1") < 0 ||
		    store_index_find_add(find, PACS_TAG_NumberOfStudyRelatedInstances, NULL) < 0 ||
		    store_index_query_open(&q, r->idx, find) < 0) {
			r->bad++;
			return NULL;
		}
		store_index_find_free(find);
		if (store_index_query_next(q, &row) < 0)
			r->bad++;
		if (row)
			n = atol(store_index_query_value(q, PACS_TAG_NumberOfStudyRelatedInstances));
		store_index_query_free(q);
		if (n % RACE_BATCH != 0 || n < last)
			r->bad++;
		last = n;
		/* IMAGE rows of one snapshot: at least what the count said. */
		if (store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_IMAGE) < 0 ||
		    store_index_find_add(find, PACS_TAG_StudyInstanceUID, "3.1") < 0 ||
		    store_index_query_open(&q, r->idx, find) < 0) {
			r->bad++;
			return NULL;
		}
		store_index_find_free(find);
		while (store_index_query_next(q, &row) == 0 && row)
			images++;
		store_index_query_free(q);
		if (images < n || images % RACE_BATCH != 0)
			r->bad++;
		__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_readers_during_writes(void **state)
{
	struct fixture *f = *state;
	struct race r = {.idx = f->idx};
	pthread_t w, rd[3];

	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&rd[i], NULL, race_reader, &r), 0);
	assert_int_equal(pthread_create(&w, NULL, race_writer, &r), 0);
	pthread_join(w, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(rd[i], NULL);
	assert_int_equal(r.bad, 0);
	assert_true(r.reads > 0);
	STUDY_Q("3.1|600|1", {PACS_TAG_StudyInstanceUID, "3.1"}, {PACS_TAG_NumberOfStudyRelatedInstances, NULL},
		{PACS_TAG_NumberOfStudyRelatedSeries, NULL});
}

/* ---- the chain outbox ---- */

/* The pending studies as "uid:gen uid:gen ...", caller frees. */
static char *pending_text(store_index *idx)
{
	store_index_pending *p = NULL;
	size_t n = 0, len = 1;
	char *out;

	if (store_index_pending_list(idx, &p, &n) < 0)
		fail_msg("pending list: %s", arca_error_last());
	out = calloc(1, n * (STORE_INDEX_UID_MAX + 24) + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len - 1, "%s%s:%lld", i > 0 ? " " : "", p[i].study_uid, (long long)p[i].gen);
	free(p);
	return out;
}

#define EXPECT_PENDING(idx, text)                        \
	do {                                             \
		char *got_ = pending_text(idx);          \
		assert_string_equal(got_, text);         \
		free(got_);                              \
	} while (0)

static uint64_t pending_count(store_index *idx)
{
	uint64_t n = 99;

	assert_int_equal(store_index_pending_count(idx, &n), 0);
	return n;
}

static void test_pending_outbox(void **state)
{
	struct fixture *f = *state;
	struct spec more = archive[5], version = archive[0];
	int64_t gen = -1;

	/* off by default: a put marks nothing */
	put_all(f->idx, &archive[12], 1, STORE_INDEX_NEW);
	assert_int_equal(pending_count(f->idx), 0);
	store_index_pending_track(f->idx, true);
	/* one batch: every study it added to, its mark raised per instance */
	put_all(f->idx, archive, 12, STORE_INDEX_NEW);
	EXPECT_PENDING(f->idx, "1.2.1:4 1.2.2:2 1.2.3:1 1.2.4:1 1.2.5:1 1.2.6:1 1.2.7:1 1.2.8:1");
	assert_int_equal(pending_count(f->idx), 8);
	assert_int_equal(store_index_pending_gen(f->idx, "1.2.1", &gen), 0);
	assert_int_equal(gen, 4);
	assert_int_equal(store_index_pending_gen(f->idx, "1.2.9", &gen), 0);
	assert_int_equal(gen, 0);
	/* duplicates change no study: no mark raised */
	put_all(f->idx, archive, 3, STORE_INDEX_DUPLICATE);
	assert_int_equal(store_index_pending_gen(f->idx, "1.2.1", &gen), 0);
	assert_int_equal(gen, 4);
	/* done is queued, not written: the rows stay until the next put */
	assert_int_equal(store_index_pending_done(f->idx, "1.2.1", 4), 0);
	assert_int_equal(store_index_pending_done(f->idx, "1.2.3", 1), 0);
	/* the study's event covered generation 2: the put below deletes
	 * that mark before it marks the study again */
	assert_int_equal(store_index_pending_done(f->idx, "1.2.2", 2), 0);
	assert_int_equal(pending_count(f->idx), 8);
	more.sop = "1.2.2.1.3";
	more.hash = 0x23;
	put_all(f->idx, &more, 1, STORE_INDEX_NEW);
	EXPECT_PENDING(f->idx, "1.2.2:1 1.2.4:1 1.2.5:1 1.2.6:1 1.2.7:1 1.2.8:1");
	/* an event computed before the study changed again (generation read
	 * as 1, raised to 2 by a later put) clears nothing */
	assert_int_equal(store_index_pending_gen(f->idx, "1.2.2", &gen), 0);
	assert_int_equal(gen, 1);
	more.sop = "1.2.2.1.5";
	more.hash = 0x25;
	put_all(f->idx, &more, 1, STORE_INDEX_NEW);
	assert_int_equal(store_index_pending_done(f->idx, "1.2.2", gen), 0);
	assert_int_equal(store_index_pending_flush(f->idx), 0);
	EXPECT_PENDING(f->idx, "1.2.2:2 1.2.4:1 1.2.5:1 1.2.6:1 1.2.7:1 1.2.8:1");
	/* a kept version is a change the chain is told of */
	version.hash = 0xA1;
	put_all(f->idx, &version, 1, STORE_INDEX_VERSION_KEPT);
	EXPECT_PENDING(f->idx, "1.2.1:1 1.2.2:2 1.2.4:1 1.2.5:1 1.2.6:1 1.2.7:1 1.2.8:1");
	/* flush writes the queue without a put; done with generation 0 (no
	 * mark read) is a no-op; bad arguments are refused */
	assert_int_equal(store_index_pending_done(f->idx, "1.2.1", 1), 0);
	assert_int_equal(store_index_pending_done(f->idx, "1.2.4", 0), 0);
	assert_int_equal(store_index_pending_done(f->idx, NULL, 1), ARCA_EINVAL);
	assert_int_equal(store_index_pending_flush(f->idx), 0);
	assert_int_equal(store_index_pending_flush(f->idx), 0);
	EXPECT_PENDING(f->idx, "1.2.2:2 1.2.4:1 1.2.5:1 1.2.6:1 1.2.7:1 1.2.8:1");
	/* marks survive a close, and what was done before it is written */
	assert_int_equal(store_index_pending_done(f->idx, "1.2.2", 2), 0);
	store_index_free(f->idx);
	f->idx = NULL;
	assert_int_equal(open_index(f, STORE_INDEX_KEEP_FIRST, false), 0);
	EXPECT_PENDING(f->idx, "1.2.4:1 1.2.5:1 1.2.6:1 1.2.7:1 1.2.8:1");
	/* tracking is per open index: off again, a new study is not marked */
	put_all(f->idx, &archive[12], 1, STORE_INDEX_DUPLICATE);
	more.sop = "1.2.2.1.4";
	more.hash = 0x24;
	put_all(f->idx, &more, 1, STORE_INDEX_NEW);
	assert_int_equal(pending_count(f->idx), 5);
}

/* Under REPLACE, a version that moves an instance to another study marks
 * both studies, the one it left even when it is left empty and removed. */
static void test_pending_replace_moves(void **state)
{
	struct fixture *f = *state;
	struct spec moved = archive[7];

	store_index_free(f->idx);
	assert_int_equal(open_index(f, STORE_INDEX_REPLACE, false), 0);
	load_archive(f);
	store_index_pending_track(f->idx, true);
	moved.hash = 0xC1;
	moved.study = "1.2.40";
	moved.series = "1.2.40.1";
	assert_int_equal(put_one(f->idx, &moved, NULL), STORE_INDEX_VERSION_REPLACED);
	EXPECT_PENDING(f->idx, "1.2.4:1 1.2.40:1");
	/* within one study: that study only */
	moved = archive[0];
	moved.hash = 0xA2;
	assert_int_equal(put_one(f->idx, &moved, NULL), STORE_INDEX_VERSION_REPLACED);
	EXPECT_PENDING(f->idx, "1.2.1:1 1.2.4:1 1.2.40:1");
}

/* An index of schema version 3 (no outbox) is migrated on open: version
 * 4, an empty outbox that works; verify-style readers see the table. */
static void test_pending_migration_from_v3(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;
	int version = 0;

	load_archive(f);
	store_index_free(f->idx);
	f->idx = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE chain_pending; PRAGMA user_version = 3;", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(open_index(f, STORE_INDEX_KEEP_FIRST, false), 0);
	assert_int_equal(store_index_schema_version(f->idx, &version), 0);
	assert_int_equal(version, 4);
	/* nothing is owed for what was indexed before: the chain verify
	 * compares those studies as before */
	assert_int_equal(pending_count(f->idx), 0);
	STUDY_Q("1.2.1|4", {PACS_TAG_StudyInstanceUID, "1.2.1"}, {PACS_TAG_NumberOfStudyRelatedInstances, NULL});
	store_index_pending_track(f->idx, true);
	{
		struct spec s = archive[0];
		s.sop = "1.2.1.1.9";
		s.hash = 0x19;
		put_all(f->idx, &s, 1, STORE_INDEX_NEW);
	}
	EXPECT_PENDING(f->idx, "1.2.1:1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_catalogue),
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotent_and_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_with_a_bad_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_person_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pn_case_sensitive_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_person_names_componentwise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pn_case_sensitive_componentwise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_code_sequences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_wildcard_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_combined_datetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_uid_lists_and_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_series_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_image_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patient_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_from_ds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readers_during_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_replace_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_migration_from_v3, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
