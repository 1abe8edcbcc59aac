/* store_index_schema.c - the index's tables and their versions.
 *
 * patients -> studies -> series -> instances, one row each, with the keys
 * of store_index_attr.c as columns (absent values are NULL, so that range
 * conditions never match them) and the counts of PS3.4 C.6.1.1 kept up to
 * date by store_index_put.c.  Modalities in Study and SOP Classes in Study
 * are per-study sets (study_modalities, study_sop_classes, with how many
 * series/instances bring each value) plus a ready-made backslash-joined
 * column on studies for answers.  Person names have a case-folded twin
 * column (*_folded, store_index__pn_fold) for case-insensitive matching.
 * studies.study_dt is StudyDate and StudyTime as one sortable string for
 * combined date-time matching (PS3.4 C.2.2.2.5.1).  instances holds the
 * current version of each instance; earlier or later versions with another
 * instance hash are in instance_versions.
 *
 * Versions: PRAGMA user_version is the schema version.  migrations[v] takes
 * a database from version v to v + 1 inside one transaction; opening runs
 * the missing ones, and refuses a database newer than this code. */
#include "store_index_sqlite_priv.h"

#include <stdio.h>
#include <string.h>

#include "arca_err.h"

/* A TM column as HHMMSSFFFFFF, missing digits as zeros: the shape of
 * store_index__time_bound's bounds, so that TM ranges compare as strings.
 * col is a string literal; the one definition serves the stored study_dt
 * column below and the time ranges of store_index_query.c (col "%1$s"). */
#define TIME_SORT(col)                                                                           \
	"(CASE WHEN instr(" col ", '.') > 0 THEN substr(substr(" col ", 1, instr(" col ", '.') - 1) || " \
	"'000000', 1, 6) || substr(substr(" col ", instr(" col ", '.') + 1) || '000000', 1, 6) "          \
	"ELSE substr(" col " || '000000', 1, 6) || '000000' END)"

int store_index__time_sort_expr(const char *col, char *out, size_t size)
{
	int n = snprintf(out, size, TIME_SORT("%1$s"), col);

	return n < 0 || (size_t)n >= size ? arca_error_set(ARCA_ELIMIT, "index: column name too long") : 0;
}

static const char schema_v1[] =
	"CREATE TABLE patients ("
	" pk INTEGER PRIMARY KEY,"
	" patient_id TEXT NOT NULL,"
	" issuer TEXT NOT NULL,"
	" patient_name TEXT, patient_name_folded TEXT,"
	" birth_date TEXT, sex TEXT,"
	" n_studies INTEGER NOT NULL DEFAULT 0,"
	" n_series INTEGER NOT NULL DEFAULT 0,"
	" n_instances INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (patient_id, issuer));"
	"CREATE INDEX patients_name_folded ON patients (patient_name_folded);"
	"CREATE INDEX patients_name ON patients (patient_name);"

	"CREATE TABLE studies ("
	" pk INTEGER PRIMARY KEY,"
	" patient_pk INTEGER NOT NULL REFERENCES patients (pk),"
	" study_uid TEXT NOT NULL UNIQUE,"
	" study_date TEXT, study_time TEXT,"
	" study_dt TEXT GENERATED ALWAYS AS (study_date || COALESCE(" TIME_SORT("study_time")
	", '000000000000')) STORED,"
	" accession TEXT, study_id TEXT,"
	" referring TEXT, referring_folded TEXT,"
	" description TEXT,"
	" modalities TEXT, sop_classes TEXT,"
	" n_series INTEGER NOT NULL DEFAULT 0,"
	" n_instances INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX studies_patient ON studies (patient_pk);"
	"CREATE INDEX studies_date ON studies (study_date);"
	"CREATE INDEX studies_dt ON studies (study_dt);"
	"CREATE INDEX studies_accession ON studies (accession);"
	"CREATE INDEX studies_referring_folded ON studies (referring_folded);"

	"CREATE TABLE study_modalities ("
	" study_pk INTEGER NOT NULL REFERENCES studies (pk),"
	" modality TEXT NOT NULL,"
	" n_series INTEGER NOT NULL,"
	" PRIMARY KEY (study_pk, modality)) WITHOUT ROWID;"
	"CREATE INDEX study_modalities_modality ON study_modalities (modality, study_pk);"
	"CREATE TABLE study_sop_classes ("
	" study_pk INTEGER NOT NULL REFERENCES studies (pk),"
	" sop_class TEXT NOT NULL,"
	" n_instances INTEGER NOT NULL,"
	" PRIMARY KEY (study_pk, sop_class)) WITHOUT ROWID;"
	"CREATE INDEX study_sop_classes_class ON study_sop_classes (sop_class, study_pk);"

	"CREATE TABLE series ("
	" pk INTEGER PRIMARY KEY,"
	" study_pk INTEGER NOT NULL REFERENCES studies (pk),"
	" series_uid TEXT NOT NULL UNIQUE,"
	" modality TEXT, series_number INTEGER, description TEXT, body_part TEXT,"
	" series_date TEXT, series_time TEXT, pps_date TEXT, pps_time TEXT,"
	" institution TEXT, station TEXT,"
	" n_instances INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX series_study ON series (study_pk);"
	"CREATE INDEX series_modality ON series (modality);"

	"CREATE TABLE instances ("
	" pk INTEGER PRIMARY KEY,"
	" series_pk INTEGER NOT NULL REFERENCES series (pk),"
	" sop_uid TEXT NOT NULL UNIQUE,"
	" sop_class TEXT NOT NULL, instance_number INTEGER,"
	" content_date TEXT, content_time TEXT,"
	" frames INTEGER, rows INTEGER, columns INTEGER,"
	" transfer_syntax TEXT NOT NULL, size INTEGER NOT NULL,"
	" hash BLOB NOT NULL, manifest BLOB NOT NULL,"
	" received INTEGER NOT NULL, calling_ae TEXT NOT NULL,"
	" version INTEGER NOT NULL);"
	"CREATE INDEX instances_series ON instances (series_pk);"

	"CREATE TABLE instance_versions ("
	" pk INTEGER PRIMARY KEY,"
	" instance_pk INTEGER NOT NULL REFERENCES instances (pk),"
	" version INTEGER NOT NULL,"
	" transfer_syntax TEXT NOT NULL, size INTEGER NOT NULL,"
	" hash BLOB NOT NULL, manifest BLOB NOT NULL,"
	" received INTEGER NOT NULL, calling_ae TEXT NOT NULL,"
	" UNIQUE (instance_pk, version));"
	"CREATE INDEX instance_versions_hash ON instance_versions (instance_pk, hash);";

/* Version 2: the data quality records of ingest (store_quality.h): one
 * row per instance that went through ingest or a quarantine action, and
 * the rule hits of each. */
static const char schema_v2[] =
	"CREATE TABLE quality ("
	" pk INTEGER PRIMARY KEY,"
	" time_ms INTEGER NOT NULL,"
	" calling_ae TEXT NOT NULL, modality TEXT NOT NULL, sop_class TEXT NOT NULL,"
	" sop_uid TEXT NOT NULL, study_uid TEXT NOT NULL,"
	" origin TEXT NOT NULL, outcome TEXT NOT NULL,"
	" status INTEGER NOT NULL, comment TEXT NOT NULL,"
	" n_fixed INTEGER NOT NULL, n_warned INTEGER NOT NULL, n_refused INTEGER NOT NULL);"
	"CREATE INDEX quality_time ON quality (time_ms);"
	"CREATE INDEX quality_sop ON quality (sop_uid);"
	"CREATE TABLE quality_hits ("
	" record_pk INTEGER NOT NULL REFERENCES quality (pk),"
	" seq INTEGER NOT NULL,"
	" rule TEXT NOT NULL, kind TEXT NOT NULL, action TEXT NOT NULL,"
	" tag INTEGER NOT NULL, path TEXT NOT NULL,"
	" before TEXT NOT NULL, after TEXT NOT NULL, message TEXT NOT NULL,"
	" PRIMARY KEY (record_pk, seq)) WITHOUT ROWID;"
	"CREATE INDEX quality_hits_rule ON quality_hits (rule, action);";

/* Version 3: code sequences kept for sequence matching (PS3.4 C.2.2.2.6),
 * each as its items in one text value (store_index_keys.c). */
static const char schema_v3[] =
	"ALTER TABLE studies ADD COLUMN procedure_codes TEXT;"
	"ALTER TABLE series ADD COLUMN anatomic_regions TEXT;";

/* Version 4: the chain outbox.  A study whose instances changed (a new
 * instance, or a new version) gets a row in the same transaction as the
 * instance rows, and keeps it until the store event that describes the
 * study's new state is durable on the provenance chain; gen counts the
 * changes, so that an event computed before a later change clears
 * nothing (store_index_pending_done).  A crash between the index commit
 * and the durable event leaves the row, and arcad appends the event at
 * its next start.  IF NOT EXISTS: a database brought back to an earlier
 * version by hand (tests) keeps this table. */
static const char schema_v4[] =
	"CREATE TABLE IF NOT EXISTS chain_pending ("
	" study_uid TEXT PRIMARY KEY,"
	" gen INTEGER NOT NULL) WITHOUT ROWID;";

struct migration {
	const char *what;
	const char *sql;
};

/* migrations[v]: version v -> v + 1.  Append; never edit a shipped one. */
static const struct migration migrations[STORE_INDEX__SCHEMA_VERSION] = {
	{"create the schema", schema_v1},
	{"add the quality records", schema_v2},
	{"add the code sequences", schema_v3},
	{"add the chain outbox", schema_v4},
};

int store_index__schema_apply(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int version = 0, rc, step;
	char sql[64];

	/* IMMEDIATE: two processes opening a new index at once migrate one
	 * after the other, and the second sees the first's work. */
	rc = store_index__exec(db, "BEGIN IMMEDIATE", "schema: begin");
	if (rc < 0)
		return rc;
	step = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (step == SQLITE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		version = sqlite3_column_int(st, 0);
		step = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_OK)
		rc = store_index__db_error(db, step, "schema: read user_version");
	else if (version > STORE_INDEX__SCHEMA_VERSION || version < 0)
		rc = arca_error_set(ARCA_EUNSUPPORTED,
				    "index schema version %d is newer than this arca's (%d): upgrade arca",
				    version, STORE_INDEX__SCHEMA_VERSION);
	for (; rc == 0 && version < STORE_INDEX__SCHEMA_VERSION; version++) {
		rc = store_index__exec(db, migrations[version].sql, migrations[version].what);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if (rc == 0)
			rc = store_index__exec(db, sql, "schema: set user_version");
	}
	if (rc < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return store_index__exec(db, "COMMIT", "schema: commit");
}
