/* store_quality_test.c - the quality records (store_quality.h): records
 * built from a real normalisation run (patient identity never copied),
 * written and aggregated by source, modality, source and modality, and
 * rule with exact counts, example UIDs and time ranges; an index of schema
 * version 1 migrated. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_norm.h"
#include "pacs_tags.h"
#include "store_index.h"
#include "store_quality.h"

struct fixture {
	char dir[64];
	char path[96];
	store_index *idx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/store_quality_test.XXXXXX");
	if (f == NULL || mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/index.db", f->dir);
	if (store_index_open(&f->idx, f->path, NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	store_index_free(f->idx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void hit(store_quality_record *r, const char *rule, pacs_norm_action action)
{
	store_quality_hit h;

	memset(&h, 0, sizeof(h));
	snprintf(h.rule, sizeof(h.rule), "%s", rule);
	snprintf(h.kind, sizeof(h.kind), "check");
	h.action = action;
	h.tag = PACS_TAG_Modality;
	assert_true(store_quality_record_add_hit(r, &h));
	if (action == PACS_NORM_FIX)
		r->n_fixed++;
	else if (action == PACS_NORM_WARN)
		r->n_warned++;
	else if (action == PACS_NORM_REFUSE)
		r->n_refused++;
}

static void rec(store_quality_record *r, int64_t t, const char *ae, const char *mod, const char *uid,
		store_quality_origin origin, store_quality_outcome outcome)
{
	store_quality_record_init(r);
	r->time_ms = t;
	snprintf(r->calling_ae, sizeof(r->calling_ae), "%s", ae);
	snprintf(r->modality, sizeof(r->modality), "%s", mod);
	snprintf(r->sop_uid, sizeof(r->sop_uid), "%s", uid);
	snprintf(r->study_uid, sizeof(r->study_uid), "1.2.3");
	snprintf(r->sop_class, sizeof(r->sop_class), "1.2.840.10008.5.1.4.1.1.2");
	r->origin = origin;
	r->outcome = outcome;
}

/* Seven records: CT1/CT stored+fixed, CT1/CT quarantined (modality refuse,
 * twice: the same rule on two elements), CT1/CT released, CT1/CT dropped,
 * MR1/MR warned, MR1/MR duplicate, MR1/CT stored clean. */
static void load(store_index *idx)
{
	store_quality_record r[7];
	const store_quality_record *p[7];

	rec(&r[0], 1000, "CT1", "CT", "1.1", STORE_QUALITY_DIMSE, STORE_QUALITY_STORED);
	hit(&r[0], "cs-upper", PACS_NORM_FIX);
	rec(&r[1], 2000, "CT1", "CT", "1.2", STORE_QUALITY_DIMSE, STORE_QUALITY_QUARANTINED);
	hit(&r[1], "modality", PACS_NORM_REFUSE);
	hit(&r[1], "modality", PACS_NORM_REFUSE);
	r[1].status = 0xA900;
	rec(&r[2], 3000, "CT1", "CT", "1.2", STORE_QUALITY_RELEASE, STORE_QUALITY_STORED);
	rec(&r[3], 4000, "CT1", "CT", "1.3", STORE_QUALITY_QUARANTINE, STORE_QUALITY_DROPPED);
	rec(&r[4], 5000, "MR1", "MR", "2.1", STORE_QUALITY_DIMSE, STORE_QUALITY_STORED);
	hit(&r[4], "sex-values", PACS_NORM_WARN);
	hit(&r[4], "cs-upper", PACS_NORM_FIX);
	rec(&r[5], 6000, "MR1", "MR", "2.1", STORE_QUALITY_IMPORT, STORE_QUALITY_DUPLICATE);
	rec(&r[6], 7000, "MR1", "CT", "2.2", STORE_QUALITY_DIMSE, STORE_QUALITY_STORED);
	for (size_t i = 0; i < 7; i++)
		p[i] = &r[i];
	assert_int_equal(store_quality_put(idx, p, 7), 0);
}

static store_quality_report *report(store_index *idx, store_quality_by by, int64_t since, int64_t until)
{
	store_quality_filter f = { since, until, by, 5 };
	store_quality_report *r = NULL;

	assert_int_equal(store_quality_report_get(idx, &f, &r), 0);
	return r;
}

static void test_by_source_modality(void **state)
{
	struct fixture *f = *state;
	store_quality_report *r;
	const store_quality_group *g;

	load(f->idx);
	r = report(f->idx, STORE_QUALITY_BY_SOURCE_MODALITY, 0, 0);
	assert_int_equal(r->n_groups, 3);
	g = &r->groups[0];
	assert_string_equal(g->source, "CT1");
	assert_string_equal(g->modality, "CT");
	assert_int_equal(g->received, 2);
	assert_int_equal(g->stored, 1);
	assert_int_equal(g->refused, 1);
	assert_int_equal(g->quarantined, 1);
	assert_int_equal(g->normalised, 1);
	assert_int_equal(g->warned, 0);
	assert_int_equal(g->released, 1);
	assert_int_equal(g->dropped, 1);
	/* examples: latest first, only instances with something to see */
	assert_int_equal(g->n_examples, 2);
	assert_string_equal(g->examples[0], "1.2");
	assert_string_equal(g->examples[1], "1.1");
	/* rules: instances, not hits (modality fired twice on 1.2) */
	assert_int_equal(g->n_rules, 2);
	assert_string_equal(g->rules[0].rule, "cs-upper");
	assert_int_equal(g->rules[0].instances, 1);
	assert_string_equal(g->rules[1].rule, "modality");
	assert_int_equal(g->rules[1].action, PACS_NORM_REFUSE);
	assert_int_equal(g->rules[1].instances, 1);
	g = &r->groups[1];
	assert_string_equal(g->source, "MR1");
	assert_string_equal(g->modality, "CT");
	assert_int_equal(g->received, 1);
	assert_int_equal(g->stored, 1);
	assert_int_equal(g->n_examples, 0);
	g = &r->groups[2];
	assert_string_equal(g->modality, "MR");
	assert_int_equal(g->received, 2);
	assert_int_equal(g->stored, 1);
	assert_int_equal(g->duplicates, 1);
	assert_int_equal(g->warned, 1);
	assert_int_equal(g->normalised, 1);
	assert_int_equal(g->n_examples, 1);
	assert_string_equal(g->examples[0], "2.1");
	/* the total */
	assert_int_equal(r->total.received, 5);
	assert_int_equal(r->total.quarantined, 1);
	assert_int_equal(r->total.released, 1);
	assert_int_equal(r->total.dropped, 1);
	store_quality_report_free(r);
}

static void test_by_source_and_by_modality(void **state)
{
	struct fixture *f = *state;
	store_quality_report *r;

	load(f->idx);
	r = report(f->idx, STORE_QUALITY_BY_SOURCE, 0, 0);
	assert_int_equal(r->n_groups, 2);
	assert_string_equal(r->groups[0].source, "CT1");
	assert_string_equal(r->groups[0].modality, "");
	assert_int_equal(r->groups[0].received, 2);
	assert_string_equal(r->groups[1].source, "MR1");
	assert_int_equal(r->groups[1].received, 3);
	assert_int_equal(r->groups[1].stored, 2);
	store_quality_report_free(r);
	r = report(f->idx, STORE_QUALITY_BY_MODALITY, 0, 0);
	assert_int_equal(r->n_groups, 2);
	assert_string_equal(r->groups[0].modality, "CT");
	assert_int_equal(r->groups[0].received, 3);
	assert_string_equal(r->groups[1].modality, "MR");
	assert_int_equal(r->groups[1].received, 2);
	store_quality_report_free(r);
}

static void test_by_rule_and_range(void **state)
{
	struct fixture *f = *state;
	store_quality_report *r;

	load(f->idx);
	r = report(f->idx, STORE_QUALITY_BY_RULE, 0, 0);
	assert_int_equal(r->n_groups, 3);
	assert_string_equal(r->groups[0].rule, "cs-upper");
	assert_int_equal(r->groups[0].action, PACS_NORM_FIX);
	assert_int_equal(r->groups[0].received, 2);
	assert_int_equal(r->groups[0].normalised, 2);
	assert_int_equal(r->groups[0].n_examples, 2);
	assert_string_equal(r->groups[0].examples[0], "2.1");
	assert_string_equal(r->groups[0].examples[1], "1.1");
	assert_string_equal(r->groups[1].rule, "modality");
	assert_int_equal(r->groups[1].received, 1);
	assert_int_equal(r->groups[1].quarantined, 1);
	assert_int_equal(r->groups[1].normalised, 0);
	assert_string_equal(r->groups[2].rule, "sex-values");
	assert_int_equal(r->groups[2].warned, 1);
	store_quality_report_free(r);
	/* [since, until): 2000 up to 5000 excluded */
	r = report(f->idx, STORE_QUALITY_BY_SOURCE_MODALITY, 2000, 5000);
	assert_int_equal(r->n_groups, 1);
	assert_int_equal(r->groups[0].received, 1);
	assert_int_equal(r->groups[0].quarantined, 1);
	assert_int_equal(r->groups[0].stored, 0);
	assert_int_equal(r->groups[0].released, 1);
	assert_int_equal(r->groups[0].dropped, 1);
	store_quality_report_free(r);
	r = report(f->idx, STORE_QUALITY_BY_RULE, 8000, 0);
	assert_int_equal(r->n_groups, 0);
	assert_int_equal(r->total.received, 0);
	store_quality_report_free(r);
}

static void test_summary_keeps_no_identity(void **state)
{
	char out[STORE_QUALITY_SUMMARY_MAX + 1], big[200];

	(void)state;
	store_quality_summary(PACS_TAG_PatientName, "DOE^JOHN", out);
	assert_string_equal(out, "<8 characters>");
	store_quality_summary(PACS_TAG_PatientID, "12345", out);
	assert_string_equal(out, "<5 characters>");
	store_quality_summary(PACS_TAG_ReferringPhysicianName, "SMITH", out);
	assert_string_equal(out, "<5 characters>");
	store_quality_summary(PACS_TAG_Modality, "mri", out);
	assert_string_equal(out, "mri");
	store_quality_summary(PACS_TAG_Modality, NULL, out);
	assert_string_equal(out, "");
	/* cut on a character boundary: 60 bytes of 'a' then two-byte letters */
	memset(big, 'a', 60);
	strcpy(big + 60, "\xC3\xA9\xC3\xA9\xC3\xA9");
	store_quality_summary(PACS_TAG_StudyDescription, big, out);
	assert_int_equal(strlen(out), 60 + 3);
	assert_string_equal(out + 60, "...");
	memset(big, 'a', 59);
	strcpy(big + 59, "\xC3\xA9\xC3\xA9\xC3\xA9");
	store_quality_summary(PACS_TAG_StudyDescription, big, out);
	/* 61 bytes fit before "...": the letter at 59..60 is whole */
	assert_int_equal(strlen(out), 61 + 3);
	assert_memory_equal(out + 59, "\xC3\xA9...", 5);
}

static void test_from_a_real_run(void **state)
{
	static const char rules[] = "[required series]\n"
				    "modality = refuse Modality\n"
				    "[normalise]\n"
				    "person-name = fix comma\n"
				    "cs-upper = fix\n";
	struct fixture *f = *state;
	pacs_norm_rules *nr = NULL;
	pacs_norm_result *res = NULL;
	store_quality_record *r = malloc(sizeof(*r));
	store_quality_report *rep;
	const char *waive[] = { "modality" };
	pacs_norm_opts o = { "20260101000000", "CT1" };
	pacs_ds *ds = NULL;

	assert_non_null(r);
	assert_int_equal(pacs_norm_rules_parse(&nr, rules, strlen(rules), "t.conf"), 0);
	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_PatientName, PACS_VR_PN, "DOE, JOHN"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SOPInstanceUID, PACS_VR_UI, "9.9.1"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_StudyInstanceUID, PACS_VR_UI, "9.9"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_BodyPartExamined, PACS_VR_CS, "chest"), 0);
	assert_int_equal(pacs_norm_run(nr, ds, &o, &res), 0);
	assert_int_equal(res->outcome, PACS_NORM_REFUSED);
	store_quality_record_init(r);
	store_quality_record_add_norm(r, res);
	store_quality_record_from_ds(r, ds);
	assert_string_equal(r->sop_uid, "9.9.1");
	assert_string_equal(r->study_uid, "9.9");
	assert_string_equal(r->modality, "");
	assert_int_equal(r->n_refused, 1);
	assert_int_equal(r->n_fixed, 2);
	assert_int_equal(r->n_hits, 3);
	for (size_t i = 0; i < r->n_hits; i++) {
		/* the name is never copied, in any field */
		assert_null(strstr(r->hits[i].before, "DOE"));
		assert_null(strstr(r->hits[i].after, "DOE"));
		assert_null(strstr(r->hits[i].message, "DOE"));
		if (r->hits[i].tag == PACS_TAG_PatientName) {
			assert_string_equal(r->hits[i].before, "<9 characters>");
			assert_string_equal(r->hits[i].after, "<8 characters>");
		}
		if (r->hits[i].tag == PACS_TAG_BodyPartExamined) {
			assert_string_equal(r->hits[i].before, "chest");
			assert_string_equal(r->hits[i].after, "CHEST");
		}
	}
	r->outcome = STORE_QUALITY_QUARANTINED;
	assert_int_equal(store_quality_put(f->idx, (const store_quality_record *const *)&r, 1), 0);
	pacs_norm_result_free(res);
	pacs_ds_free(ds);

	/* the same instance with the refusing rule waived: a warning, and
	 * the element it concerns is in the Original Attributes Sequence */
	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SOPInstanceUID, PACS_VR_UI, "9.9.1"), 0);
	assert_int_equal(pacs_norm_run_waived(nr, ds, &o, waive, 1, &res), 0);
	assert_int_equal(res->outcome, PACS_NORM_WARNED);
	assert_int_equal(res->n_waived, 1);
	assert_int_equal(res->n_refused, 0);
	assert_int_equal(res->n_hits, 1);
	assert_true(res->hits[0].waived);
	assert_int_equal(res->hits[0].action, PACS_NORM_WARN);
	assert_true(res->oas_added);
	assert_non_null(pacs_ds_find(ds, PACS_TAG(0x0400, 0x0561)));
	assert_non_null(strstr(res->explanation, "modality waived"));
	store_quality_record_init(r);
	store_quality_record_add_norm(r, res);
	assert_string_equal(r->hits[0].kind, "waived");
	pacs_norm_result_free(res);
	pacs_ds_free(ds);
	pacs_norm_rules_free(nr);

	rep = report(f->idx, STORE_QUALITY_BY_RULE, 0, 0);
	assert_int_equal(rep->n_groups, 3);
	assert_string_equal(rep->groups[1].rule, "modality");
	assert_int_equal(rep->groups[1].quarantined, 1);
	assert_string_equal(rep->groups[1].examples[0], "9.9.1");
	store_quality_report_free(rep);
	free(r);
}

/* An index made before the quality tables (schema version 1) is migrated
 * when opened, and keeps what it held. */
static void test_migrates_version_1(void **state)
{
	static const char *const later[][2] = { { "studies", "procedure_codes" }, { "series", "anatomic_regions" } };
	struct fixture *f = *state;
	sqlite3 *db;
	sqlite3_stmt *st;
	int version = 0, current;
	store_quality_report *r;

	load(f->idx);
	assert_int_equal(store_index_schema_version(f->idx, &version), 0);
	current = version;
	assert_true(current >= 2);
	store_index_free(f->idx);
	f->idx = NULL;
	/* back to version 1: without the quality tables, and without what
	 * later versions added (columns of version 3) */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE quality_hits; DROP TABLE quality;", NULL, NULL, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		char sql[160];
		snprintf(sql, sizeof(sql), "SELECT 1 FROM pragma_table_info('%s') WHERE name = '%s'", later[i][0],
			 later[i][1]);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
			sqlite3_finalize(st);
			snprintf(sql, sizeof(sql), "ALTER TABLE %s DROP COLUMN %s", later[i][0], later[i][1]);
			assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		} else {
			sqlite3_finalize(st);
		}
	}
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_index_open(&f->idx, f->path, NULL), 0);
	assert_int_equal(store_index_schema_version(f->idx, &version), 0);
	assert_int_equal(version, current);
	r = report(f->idx, STORE_QUALITY_BY_SOURCE, 0, 0);
	assert_int_equal(r->n_groups, 0);
	store_quality_report_free(r);
	load(f->idx);
	r = report(f->idx, STORE_QUALITY_BY_SOURCE, 0, 0);
	assert_int_equal(r->n_groups, 2);
	store_quality_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_by_source_modality, setup, teardown),
		cmocka_unit_test_setup_teardown(test_by_source_and_by_modality, setup, teardown),
		cmocka_unit_test_setup_teardown(test_by_rule_and_range, setup, teardown),
		cmocka_unit_test(test_summary_keeps_no_identity),
		cmocka_unit_test_setup_teardown(test_from_a_real_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_version_1, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
