/* store_index_put.c - indexing a batch of instances (SQLite backend).
 *
 * One transaction per batch (group commit), one savepoint per instance so
 * that an instance that cannot be indexed is skipped without undoing the
 * others.  For each instance: is it known (same hash: duplicate; other
 * hash: a new version, issue 4 item 4), find or create its patient, study
 * and series, insert it, then bring the counts, the per-study sets and
 * the parents' attributes up to date.  Under STORE_INDEX_REPLACE a new
 * version moves the instance: the old version's storage data goes to
 * instance_versions, the row takes the new keys, the counts follow, and a
 * parent left without instances is removed.
 *
 * The chain outbox (schema version 4, store_index_pending_track): when on,
 * every study an instance changes is marked in chain_pending inside the
 * instance's savepoint, so that the mark commits (or rolls back) with the
 * instance rows, at no cost of its own; the marks cleared since the last
 * put are deleted first, in the same transaction. */
#include "store_index_sqlite_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"

enum wstmt {
	W_FIND_INSTANCE, W_FIND_VERSION_HASH, W_MAX_VERSION, W_INSERT_VERSION, W_SAVE_CURRENT,
	W_FIND_SERIES, W_FIND_STUDY, W_FIND_PATIENT,
	W_INSERT_PATIENT, W_INSERT_STUDY, W_INSERT_SERIES, W_INSERT_INSTANCE, W_REPLACE_INSTANCE,
	W_UPDATE_PATIENT, W_UPDATE_STUDY, W_UPDATE_SERIES,
	W_SERIES_PARENT, W_SERIES_DEC, W_SERIES_DEL, W_STUDY_DEC, W_STUDY_DEL, W_PATIENT_DEC, W_PATIENT_DEL,
	W_MOD_ADD, W_MOD_DEL, W_MOD_REFRESH, W_SOP_ADD, W_SOP_DEL, W_SOP_REFRESH,
	W_PENDING_MARK, W_PENDING_MARK_PK, W_PENDING_CLEAR,
	W_COUNT
};

_Static_assert(W_COUNT <= STORE_INDEX__PUT_STMTS, "raise STORE_INDEX__PUT_STMTS");

/* An attribute of a parent: filled when empty, or overwritten when ?1 (a
 * replacing version) brings a value.  Empty values never erase. */
#define FILL(col, n) " " col " = COALESCE(IIF(?1, ?" #n ", NULL), " col ", ?" #n ")"
#define STORAGE_COLS "transfer_syntax, size, hash, manifest, received, calling_ae"

static const char *const wsql[W_COUNT] = {
	[W_FIND_INSTANCE] = "SELECT pk, series_pk, hash, version, sop_class FROM instances WHERE sop_uid = ?1",
	[W_FIND_VERSION_HASH] = "SELECT version FROM instance_versions WHERE instance_pk = ?1 AND hash = ?2",
	[W_MAX_VERSION] = "SELECT max(v) FROM (SELECT version AS v FROM instances WHERE pk = ?1"
			  " UNION ALL SELECT version FROM instance_versions WHERE instance_pk = ?1)",
	[W_INSERT_VERSION] = "INSERT INTO instance_versions (instance_pk, version, " STORAGE_COLS ")"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[W_SAVE_CURRENT] = "INSERT INTO instance_versions (instance_pk, version, " STORAGE_COLS ")"
			   " SELECT pk, version, " STORAGE_COLS " FROM instances WHERE pk = ?1",
	[W_FIND_SERIES] = "SELECT se.pk, se.study_pk, st.patient_pk, se.modality FROM series se"
			  " JOIN studies st ON st.pk = se.study_pk WHERE se.series_uid = ?1",
	[W_FIND_STUDY] = "SELECT pk, patient_pk FROM studies WHERE study_uid = ?1",
	[W_FIND_PATIENT] = "SELECT pk FROM patients WHERE patient_id = ?1 AND issuer = ?2",
	[W_INSERT_PATIENT] = "INSERT INTO patients (patient_id, issuer) VALUES (?1, ?2)",
	[W_INSERT_STUDY] = "INSERT INTO studies (patient_pk, study_uid) VALUES (?1, ?2)",
	[W_INSERT_SERIES] = "INSERT INTO series (study_pk, series_uid) VALUES (?1, ?2)",
	[W_INSERT_INSTANCE] = "INSERT INTO instances (series_pk, sop_uid, sop_class, instance_number,"
			      " content_date, content_time, frames, rows, columns, " STORAGE_COLS ", version)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
	[W_REPLACE_INSTANCE] = "UPDATE instances SET series_pk = ?1, sop_uid = ?2, sop_class = ?3,"
			       " instance_number = ?4, content_date = ?5, content_time = ?6, frames = ?7,"
			       " rows = ?8, columns = ?9, transfer_syntax = ?10, size = ?11, hash = ?12,"
			       " manifest = ?13, received = ?14, calling_ae = ?15, version = ?16 WHERE pk = ?17",
	[W_UPDATE_PATIENT] = "UPDATE patients SET" FILL("patient_name", 3) "," FILL("patient_name_folded", 4) ","
			     FILL("birth_date", 5) "," FILL("sex", 6) ","
			     " n_studies = n_studies + ?7, n_series = n_series + ?8,"
			     " n_instances = n_instances + ?9 WHERE pk = ?2",
	[W_UPDATE_STUDY] = "UPDATE studies SET" FILL("study_date", 3) "," FILL("study_time", 4) ","
			   FILL("accession", 5) "," FILL("study_id", 6) "," FILL("referring", 7) ","
			   FILL("referring_folded", 8) "," FILL("description", 9) "," FILL("procedure_codes", 12) ","
			   " n_series = n_series + ?10, n_instances = n_instances + ?11 WHERE pk = ?2",
	[W_UPDATE_SERIES] = "UPDATE series SET" FILL("modality", 3) "," FILL("series_number", 4) ","
			    FILL("description", 5) "," FILL("body_part", 6) "," FILL("series_date", 7) ","
			    FILL("series_time", 8) "," FILL("pps_date", 9) "," FILL("pps_time", 10) ","
			    FILL("institution", 11) "," FILL("station", 12) "," FILL("anatomic_regions", 14) ","
			    " n_instances = n_instances + ?13 WHERE pk = ?2 RETURNING modality",
	[W_SERIES_PARENT] = "SELECT se.study_pk, st.patient_pk, se.modality FROM series se"
			    " JOIN studies st ON st.pk = se.study_pk WHERE se.pk = ?1",
	[W_SERIES_DEC] = "UPDATE series SET n_instances = n_instances - 1 WHERE pk = ?1 RETURNING n_instances",
	[W_SERIES_DEL] = "DELETE FROM series WHERE pk = ?1",
	[W_STUDY_DEC] = "UPDATE studies SET n_instances = n_instances - 1, n_series = n_series - ?2"
			" WHERE pk = ?1 RETURNING n_instances",
	[W_STUDY_DEL] = "DELETE FROM studies WHERE pk = ?1",
	[W_PATIENT_DEC] = "UPDATE patients SET n_instances = n_instances - 1, n_series = n_series - ?2,"
			  " n_studies = n_studies - ?3 WHERE pk = ?1 RETURNING n_instances",
	[W_PATIENT_DEL] = "DELETE FROM patients WHERE pk = ?1",
	[W_MOD_ADD] = "INSERT INTO study_modalities (study_pk, modality, n_series) VALUES (?1, ?2, ?3)"
		      " ON CONFLICT (study_pk, modality) DO UPDATE SET n_series = n_series + excluded.n_series"
		      " RETURNING n_series",
	[W_MOD_DEL] = "DELETE FROM study_modalities WHERE study_pk = ?1 AND modality = ?2",
	[W_MOD_REFRESH] = "UPDATE studies SET modalities = (SELECT group_concat(modality, '\\') FROM"
			  " (SELECT modality FROM study_modalities WHERE study_pk = ?1 ORDER BY modality))"
			  " WHERE pk = ?1",
	[W_SOP_ADD] = "INSERT INTO study_sop_classes (study_pk, sop_class, n_instances) VALUES (?1, ?2, ?3)"
		      " ON CONFLICT (study_pk, sop_class) DO UPDATE SET n_instances = n_instances + excluded.n_instances"
		      " RETURNING n_instances",
	[W_SOP_DEL] = "DELETE FROM study_sop_classes WHERE study_pk = ?1 AND sop_class = ?2",
	[W_SOP_REFRESH] = "UPDATE studies SET sop_classes = (SELECT group_concat(sop_class, '\\') FROM"
			  " (SELECT sop_class FROM study_sop_classes WHERE study_pk = ?1 ORDER BY sop_class))"
			  " WHERE pk = ?1",
	[W_PENDING_MARK] = "INSERT INTO chain_pending (study_uid, gen) VALUES (?1, 1)"
			   " ON CONFLICT (study_uid) DO UPDATE SET gen = gen + 1",
	/* WHERE before ON CONFLICT: an upsert of a SELECT needs one (SQLite's
	 * parsing ambiguity) */
	[W_PENDING_MARK_PK] = "INSERT INTO chain_pending (study_uid, gen) SELECT study_uid, 1 FROM studies"
			      " WHERE pk = ?1 ON CONFLICT (study_uid) DO UPDATE SET gen = gen + 1",
	[W_PENDING_CLEAR] = "DELETE FROM chain_pending WHERE study_uid = ?1 AND gen = ?2",
};

/* Where an instance goes, and what changes on the way. */
struct place {
	sqlite3_int64 patient, study, series;
	int new_study, new_series;
	char *prev_modality; /* the series' modality before this instance (NULL: none) */
};

/* One instance being indexed: its record and the derived values. */
struct item {
	const store_index_instance *inst;
	char *patient_folded, *referring_folded;
	int64_t received;
};

/* ---- statement helpers ---- */

static int wstmt(struct store_index__sqlite *ix, enum wstmt id, sqlite3_stmt **out)
{
	sqlite3_stmt **slot = &ix->put_stmts[id];
	int rc;

	if (*slot == NULL) {
		rc = sqlite3_prepare_v3(ix->writer.db, wsql[id], -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
		if (rc != SQLITE_OK) {
			*slot = NULL;
			return store_index__db_error(ix->writer.db, rc, wsql[id]);
		}
	} else {
		sqlite3_reset(*slot);
		sqlite3_clear_bindings(*slot);
	}
	*out = *slot;
	return 0;
}

static int bind_int(sqlite3_stmt *st, int i, sqlite3_int64 v)
{
	int rc = sqlite3_bind_int64(st, i, v);

	return rc == SQLITE_OK ? 0 : store_index__stmt_error(st, rc, "bind");
}

static int bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, int len)
{
	int rc = sqlite3_bind_blob(st, i, p, len, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : store_index__stmt_error(st, rc, "bind");
}

/* Steps once; *row says whether a row came.  The statement is left for the
 * caller to read and is reset on its next use. */
static int step(sqlite3_stmt *st, bool *row)
{
	int rc = sqlite3_step(st);

	*row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	rc = store_index__stmt_error(st, rc, "index put");
	sqlite3_reset(st);
	return rc;
}

static int run(sqlite3_stmt *st)
{
	bool row = false;
	int rc = step(st, &row);

	sqlite3_reset(st);
	return rc;
}

/* Runs st and reads column 0 of its one row as an integer (*out 0 if none). */
static int run_int(sqlite3_stmt *st, sqlite3_int64 *out)
{
	bool row = false;
	int rc = step(st, &row);

	*out = rc == 0 && row ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc;
}

static const char *val(const struct item *it, enum store_index__slot slot)
{
	return it->inst->values[slot];
}

static int bind_vals(sqlite3_stmt *st, const struct item *it, int first, const enum store_index__slot *slots,
		     size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = store_index__bind_text(st, first + (int)i, val(it, slots[i]));
	return rc;
}

/* ---- the per-study sets: ModalitiesInStudy, SOPClassesInStudy ---- */

/* Adds delta to the count of value in study's set; when the set gains or
 * loses a value, rebuilds the joined column on studies. */
static int set_change(struct store_index__sqlite *ix, bool modality, sqlite3_int64 study, const char *value,
		      int delta)
{
	sqlite3_stmt *st;
	sqlite3_int64 count = 0;
	int rc;

	if (value == NULL)
		return 0;
	rc = wstmt(ix, modality ? W_MOD_ADD : W_SOP_ADD, &st);
	if (rc == 0)
		rc = bind_int(st, 1, study);
	if (rc == 0)
		rc = store_index__bind_text(st, 2, value);
	if (rc == 0)
		rc = bind_int(st, 3, delta);
	if (rc == 0)
		rc = run_int(st, &count);
	if (rc < 0 || (count > 0 && count != delta))
		return rc; /* the set itself did not change */
	if (count <= 0) {
		rc = wstmt(ix, modality ? W_MOD_DEL : W_SOP_DEL, &st);
		if (rc == 0)
			rc = bind_int(st, 1, study);
		if (rc == 0)
			rc = store_index__bind_text(st, 2, value);
		if (rc == 0)
			rc = run(st);
	}
	if (rc == 0)
		rc = wstmt(ix, modality ? W_MOD_REFRESH : W_SOP_REFRESH, &st);
	if (rc == 0)
		rc = bind_int(st, 1, study);
	return rc == 0 ? run(st) : rc;
}

/* ---- the chain outbox ---- */

/* The study (by UID, or by pk when uid is NULL) changed: its store event
 * is owed to the chain. */
static int pending_mark(struct store_index__sqlite *ix, const char *uid, sqlite3_int64 study_pk)
{
	sqlite3_stmt *st;
	int rc;

	if (!ix->track_pending)
		return 0;
	rc = wstmt(ix, uid != NULL ? W_PENDING_MARK : W_PENDING_MARK_PK, &st);
	if (rc == 0)
		rc = uid != NULL ? store_index__bind_text(st, 1, uid) : bind_int(st, 1, study_pk);
	return rc == 0 ? run(st) : rc;
}

int store_index__pending_flush_locked(struct store_index__sqlite *ix)
{
	sqlite3_stmt *st;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < ix->n_done; i++) {
		rc = wstmt(ix, W_PENDING_CLEAR, &st);
		if (rc == 0)
			rc = store_index__bind_text(st, 1, ix->done[i].study_uid);
		if (rc == 0)
			rc = bind_int(st, 2, ix->done[i].gen);
		if (rc == 0)
			rc = run(st);
	}
	/* on failure the transaction rolls back and the rows stay: at worst
	 * one redundant store event later, which describes the same state */
	ix->n_done = 0;
	return rc;
}

/* ---- finding or creating the parents ---- */

static int insert_row(struct store_index__sqlite *ix, enum wstmt id, sqlite3_int64 parent, const char *a,
		      const char *b, sqlite3_int64 *pk)
{
	sqlite3_stmt *st;
	int rc = wstmt(ix, id, &st);

	if (rc == 0)
		rc = id == W_INSERT_PATIENT ? store_index__bind_text(st, 1, a) : bind_int(st, 1, parent);
	if (rc == 0)
		rc = store_index__bind_text(st, 2, b);
	if (rc == 0)
		rc = run(st);
	*pk = sqlite3_last_insert_rowid(ix->writer.db);
	return rc;
}

/* A series, once indexed, stays in its study and that study with its
 * patient: the deepest known level decides where an instance goes. */
static int place_find(struct store_index__sqlite *ix, const struct item *it, struct place *pl)
{
	sqlite3_stmt *st;
	bool row = false;
	int rc;

	memset(pl, 0, sizeof(*pl));
	rc = wstmt(ix, W_FIND_SERIES, &st);
	if (rc == 0)
		rc = store_index__bind_text(st, 1, val(it, STORE_INDEX__SERIES_UID));
	if (rc == 0)
		rc = step(st, &row);
	if (rc < 0)
		return rc;
	if (row) {
		const unsigned char *m = sqlite3_column_text(st, 3);

		pl->series = sqlite3_column_int64(st, 0);
		pl->study = sqlite3_column_int64(st, 1);
		pl->patient = sqlite3_column_int64(st, 2);
		if (m != NULL && (pl->prev_modality = strdup((const char *)m)) == NULL)
			rc = arca_error_set(ARCA_ENOMEM, "index put: out of memory");
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	rc = wstmt(ix, W_FIND_STUDY, &st);
	if (rc == 0)
		rc = store_index__bind_text(st, 1, val(it, STORE_INDEX__STUDY_UID));
	if (rc == 0)
		rc = step(st, &row);
	if (rc < 0)
		return rc;
	if (row) {
		pl->study = sqlite3_column_int64(st, 0);
		pl->patient = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
	} else {
		/* Patient ID is type 2: empty is a value ("" groups the
		 * instances that came without one), as is an absent issuer. */
		const char *pid = val(it, STORE_INDEX__PATIENT_ID), *issuer = val(it, STORE_INDEX__ISSUER);

		sqlite3_reset(st);
		pid = pid != NULL ? pid : "";
		issuer = issuer != NULL ? issuer : "";
		rc = wstmt(ix, W_FIND_PATIENT, &st);
		if (rc == 0)
			rc = store_index__bind_text(st, 1, pid);
		if (rc == 0)
			rc = store_index__bind_text(st, 2, issuer);
		if (rc == 0)
			rc = run_int(st, &pl->patient);
		if (rc == 0 && pl->patient == 0)
			rc = insert_row(ix, W_INSERT_PATIENT, 0, pid, issuer, &pl->patient);
		if (rc == 0)
			rc = insert_row(ix, W_INSERT_STUDY, pl->patient, NULL, val(it, STORE_INDEX__STUDY_UID),
					&pl->study);
		pl->new_study = 1;
	}
	if (rc == 0)
		rc = insert_row(ix, W_INSERT_SERIES, pl->study, NULL, val(it, STORE_INDEX__SERIES_UID), &pl->series);
	pl->new_series = 1;
	return rc;
}

/* ---- counts and attributes ---- */

static bool same_text(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The instance joins pl: counts up, empty attributes filled (overwritten
 * when overwrite), sets updated. */
static int place_add(struct store_index__sqlite *ix, const struct item *it, const struct place *pl, bool overwrite)
{
	static const enum store_index__slot series_slots[] = {
		STORE_INDEX__MODALITY, STORE_INDEX__SERIES_NUMBER, STORE_INDEX__SERIES_DESC,
		STORE_INDEX__BODY_PART, STORE_INDEX__SERIES_DATE, STORE_INDEX__SERIES_TIME,
		STORE_INDEX__PPS_DATE, STORE_INDEX__PPS_TIME, STORE_INDEX__INSTITUTION, STORE_INDEX__STATION};
	static const enum store_index__slot study_slots[] = {
		STORE_INDEX__STUDY_DATE, STORE_INDEX__STUDY_TIME, STORE_INDEX__ACCESSION, STORE_INDEX__STUDY_ID,
		STORE_INDEX__REFERRING};
	sqlite3_stmt *st;
	char *modality = NULL;
	bool row = false;
	int rc;

	rc = wstmt(ix, W_UPDATE_SERIES, &st);
	if (rc == 0)
		rc = bind_int(st, 1, overwrite);
	if (rc == 0)
		rc = bind_int(st, 2, pl->series);
	if (rc == 0)
		rc = bind_vals(st, it, 3, series_slots, 10);
	if (rc == 0)
		rc = bind_int(st, 13, 1);
	if (rc == 0)
		rc = store_index__bind_text(st, 14, val(it, STORE_INDEX__ANATOMIC_REGIONS));
	if (rc == 0)
		rc = step(st, &row);
	if (rc < 0)
		return rc;
	if (row && sqlite3_column_text(st, 0) != NULL &&
	    (modality = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
		rc = arca_error_set(ARCA_ENOMEM, "index put: out of memory");
	sqlite3_reset(st);
	/* Modalities in Study is the set of its series' modalities; a series
	 * counts once, under its current modality (NULL before this instance
	 * for a new series). */
	if (rc == 0 && !same_text(pl->prev_modality, modality)) {
		rc = set_change(ix, true, pl->study, pl->prev_modality, -1);
		if (rc == 0)
			rc = set_change(ix, true, pl->study, modality, 1);
	}
	free(modality);

	if (rc == 0)
		rc = wstmt(ix, W_UPDATE_STUDY, &st);
	if (rc == 0)
		rc = bind_int(st, 1, overwrite);
	if (rc == 0)
		rc = bind_int(st, 2, pl->study);
	if (rc == 0)
		rc = bind_vals(st, it, 3, study_slots, 5);
	if (rc == 0)
		rc = store_index__bind_text(st, 8, it->referring_folded);
	if (rc == 0)
		rc = store_index__bind_text(st, 9, val(it, STORE_INDEX__STUDY_DESC));
	if (rc == 0)
		rc = bind_int(st, 10, pl->new_series);
	if (rc == 0)
		rc = bind_int(st, 11, 1);
	if (rc == 0)
		rc = store_index__bind_text(st, 12, val(it, STORE_INDEX__PROCEDURE_CODES));
	if (rc == 0)
		rc = run(st);

	if (rc == 0)
		rc = wstmt(ix, W_UPDATE_PATIENT, &st);
	if (rc == 0)
		rc = bind_int(st, 1, overwrite);
	if (rc == 0)
		rc = bind_int(st, 2, pl->patient);
	if (rc == 0)
		rc = store_index__bind_text(st, 3, val(it, STORE_INDEX__PATIENT_NAME));
	if (rc == 0)
		rc = store_index__bind_text(st, 4, it->patient_folded);
	if (rc == 0)
		rc = store_index__bind_text(st, 5, val(it, STORE_INDEX__BIRTH_DATE));
	if (rc == 0)
		rc = store_index__bind_text(st, 6, val(it, STORE_INDEX__SEX));
	if (rc == 0)
		rc = bind_int(st, 7, pl->new_study);
	if (rc == 0)
		rc = bind_int(st, 8, pl->new_series);
	if (rc == 0)
		rc = bind_int(st, 9, 1);
	if (rc == 0)
		rc = run(st);
	if (rc == 0)
		rc = set_change(ix, false, pl->study, val(it, STORE_INDEX__SOP_CLASS), 1);
	return rc;
}

/* An instance left series_pk (a replacing version moved it): counts down,
 * and a series, study or patient left empty is removed. */
static int place_remove(struct store_index__sqlite *ix, sqlite3_int64 series_pk, const char *sop_class)
{
	sqlite3_int64 study = 0, patient = 0, left = 0;
	int series_gone = 0, study_gone = 0;
	char *modality = NULL;
	sqlite3_stmt *st;
	bool row = false;
	int rc;

	rc = wstmt(ix, W_SERIES_PARENT, &st);
	if (rc == 0)
		rc = bind_int(st, 1, series_pk);
	if (rc == 0)
		rc = step(st, &row);
	if (rc < 0)
		return rc;
	if (row) {
		study = sqlite3_column_int64(st, 0);
		patient = sqlite3_column_int64(st, 1);
		if (sqlite3_column_text(st, 2) != NULL)
			modality = strdup((const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_reset(st);
	if (!row)
		return arca_error_set(ARCA_EDB, "index put: series %lld of a replaced instance is missing",
				      (long long)series_pk);

	rc = wstmt(ix, W_SERIES_DEC, &st);
	if (rc == 0)
		rc = bind_int(st, 1, series_pk);
	if (rc == 0)
		rc = run_int(st, &left);
	if (rc == 0 && left <= 0) {
		series_gone = 1;
		rc = wstmt(ix, W_SERIES_DEL, &st);
		if (rc == 0)
			rc = bind_int(st, 1, series_pk);
		if (rc == 0)
			rc = run(st);
		if (rc == 0)
			rc = set_change(ix, true, study, modality, -1);
	}
	free(modality);
	if (rc == 0)
		rc = set_change(ix, false, study, sop_class, -1);
	if (rc == 0)
		rc = wstmt(ix, W_STUDY_DEC, &st);
	if (rc == 0)
		rc = bind_int(st, 1, study);
	if (rc == 0)
		rc = bind_int(st, 2, series_gone);
	if (rc == 0)
		rc = run_int(st, &left);
	if (rc == 0 && left <= 0) {
		study_gone = 1;
		rc = wstmt(ix, W_STUDY_DEL, &st);
		if (rc == 0)
			rc = bind_int(st, 1, study);
		if (rc == 0)
			rc = run(st);
	}
	if (rc == 0)
		rc = wstmt(ix, W_PATIENT_DEC, &st);
	if (rc == 0)
		rc = bind_int(st, 1, patient);
	if (rc == 0)
		rc = bind_int(st, 2, series_gone);
	if (rc == 0)
		rc = bind_int(st, 3, study_gone);
	if (rc == 0)
		rc = run_int(st, &left);
	if (rc == 0 && left <= 0) {
		rc = wstmt(ix, W_PATIENT_DEL, &st);
		if (rc == 0)
			rc = bind_int(st, 1, patient);
		if (rc == 0)
			rc = run(st);
	}
	return rc;
}

/* ---- instances ---- */

/* Binds ?1..?16 of W_INSERT_INSTANCE / W_REPLACE_INSTANCE. */
static int bind_instance(sqlite3_stmt *st, const struct item *it, sqlite3_int64 series, unsigned version)
{
	static const enum store_index__slot slots[] = {
		STORE_INDEX__SOP_UID, STORE_INDEX__SOP_CLASS, STORE_INDEX__INSTANCE_NUMBER,
		STORE_INDEX__CONTENT_DATE, STORE_INDEX__CONTENT_TIME, STORE_INDEX__FRAMES,
		STORE_INDEX__ROWS, STORE_INDEX__COLUMNS};
	const store_index_storage *s = &it->inst->storage;
	int rc = bind_int(st, 1, series);

	if (rc == 0)
		rc = bind_vals(st, it, 2, slots, 8);
	if (rc == 0)
		rc = store_index__bind_text(st, 10, s->transfer_syntax);
	if (rc == 0)
		rc = bind_int(st, 11, (sqlite3_int64)s->size);
	if (rc == 0)
		rc = bind_blob(st, 12, s->instance_hash, STORE_INDEX_HASH_LEN);
	if (rc == 0)
		rc = bind_blob(st, 13, s->manifest, STORE_INDEX_HASH_LEN);
	if (rc == 0)
		rc = bind_int(st, 14, it->received);
	if (rc == 0)
		rc = store_index__bind_text(st, 15, s->calling_ae);
	if (rc == 0)
		rc = bind_int(st, 16, version);
	return rc;
}

static int validate(const store_index_instance *inst)
{
	/* The unique keys of every level (PS3.4 C.6.1.1) and the SOP class. */
	static const enum store_index__slot required[] = {
		STORE_INDEX__SOP_UID, STORE_INDEX__SOP_CLASS, STORE_INDEX__SERIES_UID, STORE_INDEX__STUDY_UID};

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (inst->values[required[i]] == NULL)
			return arca_error_set(ARCA_EINVAL, "index put: %s is missing",
					      store_index__key_of_slot(required[i])->keyword);
	if (inst->storage.transfer_syntax[0] == '\0')
		return arca_error_set(ARCA_EINVAL, "index put: instance %.64s has no transfer syntax",
				      inst->values[STORE_INDEX__SOP_UID]);
	return 0;
}

/* A replacing version left old_series: when that series is in another
 * study than new_study, that study is marked too. */
static int pending_mark_old_study(struct store_index__sqlite *ix, sqlite3_int64 old_series, sqlite3_int64 new_study)
{
	sqlite3_int64 study = 0;
	sqlite3_stmt *st;
	int rc;

	if (!ix->track_pending)
		return 0;
	rc = wstmt(ix, W_SERIES_PARENT, &st);
	if (rc == 0)
		rc = bind_int(st, 1, old_series);
	if (rc == 0)
		rc = run_int(st, &study);
	if (rc < 0 || study == 0 || study == new_study)
		return rc;
	return pending_mark(ix, NULL, study);
}

/* A known SOP Instance UID with another hash: a new version (or one seen before). */
static int put_version(struct store_index__sqlite *ix, const struct item *it, sqlite3_stmt *found,
		       store_index_put_result *res)
{
	sqlite3_int64 pk = sqlite3_column_int64(found, 0), old_series = sqlite3_column_int64(found, 1);
	const store_index_storage *s = &it->inst->storage;
	char *old_class = strdup((const char *)sqlite3_column_text(found, 4));
	sqlite3_int64 seen = 0, newest = 0;
	struct place pl = {0};
	sqlite3_stmt *st;
	int rc;

	sqlite3_reset(found);
	if (old_class == NULL)
		return arca_error_set(ARCA_ENOMEM, "index put: out of memory");
	rc = wstmt(ix, W_FIND_VERSION_HASH, &st);
	if (rc == 0)
		rc = bind_int(st, 1, pk);
	if (rc == 0)
		rc = bind_blob(st, 2, s->instance_hash, STORE_INDEX_HASH_LEN);
	if (rc == 0)
		rc = run_int(st, &seen);
	if (rc == 0 && seen > 0) {
		res->outcome = STORE_INDEX_DUPLICATE;
		res->version = (unsigned)seen;
		goto out;
	}
	if (rc == 0)
		rc = wstmt(ix, W_MAX_VERSION, &st);
	if (rc == 0)
		rc = bind_int(st, 1, pk);
	if (rc == 0)
		rc = run_int(st, &newest);
	res->version = (unsigned)newest + 1;
	if (rc < 0)
		goto out;
	if (ix->base.opts.on_new_version == STORE_INDEX_KEEP_FIRST) {
		res->outcome = STORE_INDEX_VERSION_KEPT;
		rc = wstmt(ix, W_INSERT_VERSION, &st);
		if (rc == 0)
			rc = bind_int(st, 1, pk);
		if (rc == 0)
			rc = bind_int(st, 2, res->version);
		if (rc == 0)
			rc = store_index__bind_text(st, 3, s->transfer_syntax);
		if (rc == 0)
			rc = bind_int(st, 4, (sqlite3_int64)s->size);
		if (rc == 0)
			rc = bind_blob(st, 5, s->instance_hash, STORE_INDEX_HASH_LEN);
		if (rc == 0)
			rc = bind_blob(st, 6, s->manifest, STORE_INDEX_HASH_LEN);
		if (rc == 0)
			rc = bind_int(st, 7, it->received);
		if (rc == 0)
			rc = store_index__bind_text(st, 8, s->calling_ae);
		if (rc == 0)
			rc = run(st);
		/* the current instance is unchanged, but the version is a change
		 * of the study the chain is told of (arcad_chain.c) */
		if (rc == 0)
			rc = pending_mark(ix, val(it, STORE_INDEX__STUDY_UID), 0);
		goto out;
	}
	/* STORE_INDEX_REPLACE: keep the current version's storage data, then
	 * the row becomes the new version, wherever its keys place it. */
	res->outcome = STORE_INDEX_VERSION_REPLACED;
	rc = place_find(ix, it, &pl);
	if (rc == 0)
		rc = wstmt(ix, W_SAVE_CURRENT, &st);
	if (rc == 0)
		rc = bind_int(st, 1, pk);
	if (rc == 0)
		rc = run(st);
	if (rc == 0)
		rc = wstmt(ix, W_REPLACE_INSTANCE, &st);
	if (rc == 0)
		rc = bind_instance(st, it, pl.series, res->version);
	if (rc == 0)
		rc = bind_int(st, 17, pk);
	if (rc == 0)
		rc = run(st);
	if (rc == 0)
		rc = place_add(ix, it, &pl, true);
	/* the study it left changed too (marked while its row exists) */
	if (rc == 0)
		rc = pending_mark_old_study(ix, old_series, pl.study);
	if (rc == 0)
		rc = place_remove(ix, old_series, old_class);
	if (rc == 0)
		rc = pending_mark(ix, val(it, STORE_INDEX__STUDY_UID), 0);
out:
	free(pl.prev_modality);
	free(old_class);
	return rc;
}

static int put_one(struct store_index__sqlite *ix, const struct item *it, store_index_put_result *res)
{
	const store_index_storage *s = &it->inst->storage;
	struct place pl = {0};
	sqlite3_stmt *st;
	bool row = false;
	int rc;

	rc = wstmt(ix, W_FIND_INSTANCE, &st);
	if (rc == 0)
		rc = store_index__bind_text(st, 1, val(it, STORE_INDEX__SOP_UID));
	if (rc == 0)
		rc = step(st, &row);
	if (rc < 0)
		return rc;
	if (row) {
		const void *hash = sqlite3_column_blob(st, 2);

		if (hash != NULL && sqlite3_column_bytes(st, 2) == STORE_INDEX_HASH_LEN &&
		    memcmp(hash, s->instance_hash, STORE_INDEX_HASH_LEN) == 0) {
			res->outcome = STORE_INDEX_DUPLICATE;
			res->version = (unsigned)sqlite3_column_int(st, 3);
			sqlite3_reset(st);
			return 0;
		}
		return put_version(ix, it, st, res);
	}
	sqlite3_reset(st);
	res->outcome = STORE_INDEX_NEW;
	res->version = 1;
	rc = place_find(ix, it, &pl);
	if (rc == 0)
		rc = wstmt(ix, W_INSERT_INSTANCE, &st);
	if (rc == 0)
		rc = bind_instance(st, it, pl.series, 1);
	if (rc == 0)
		rc = run(st);
	if (rc == 0)
		rc = place_add(ix, it, &pl, false);
	if (rc == 0)
		rc = pending_mark(ix, val(it, STORE_INDEX__STUDY_UID), 0);
	free(pl.prev_modality);
	return rc;
}

static int item_prepare(struct item *it, const store_index_instance *inst)
{
	const char *pn = inst->values[STORE_INDEX__PATIENT_NAME];
	const char *ref = inst->values[STORE_INDEX__REFERRING];
	int rc = 0;

	memset(it, 0, sizeof(*it));
	it->inst = inst;
	it->received = inst->storage.received != 0 ? inst->storage.received : (int64_t)time(NULL);
	if (pn != NULL)
		rc = store_index__pn_fold(pn, &it->patient_folded);
	if (rc == 0 && ref != NULL)
		rc = store_index__pn_fold(ref, &it->referring_folded);
	return rc;
}

static void item_release(struct item *it)
{
	free(it->patient_folded);
	free(it->referring_folded);
}

/* Whether err for one instance must stop the whole batch: SQLite gave up
 * the transaction (I/O error, disk full) or memory ran out. */
static bool batch_fatal(sqlite3 *db, int err)
{
	return err == ARCA_ENOMEM || sqlite3_get_autocommit(db);
}

int store_index__sqlite_put(store_index *idx, const store_index_instance *const *batch, size_t n,
			    store_index_put_result *results)
{
	struct store_index__sqlite *ix = (struct store_index__sqlite *)idx;
	sqlite3 *db = ix->writer.db;
	int rc;

	pthread_mutex_lock(&ix->write_lock);
	/* IMMEDIATE: take the write lock now, so a busy database is waited
	 * for (busy timeout) before any work rather than failing midway. */
	rc = store_index__exec(db, "BEGIN IMMEDIATE", "index put: begin");
	/* first the marks cleared since the last put, so that this batch's
	 * marks of the same studies stay */
	if (rc == 0 && ix->n_done > 0)
		rc = store_index__pending_flush_locked(ix);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct item it;
		int err = validate(batch[i]);

		if (err == 0)
			err = item_prepare(&it, batch[i]);
		else
			memset(&it, 0, sizeof(it));
		if (err == 0)
			err = store_index__exec(db, "SAVEPOINT one", "index put: savepoint");
		if (err == 0) {
			err = put_one(ix, &it, &results[i]);
			if (err < 0 && !sqlite3_get_autocommit(db))
				sqlite3_exec(db, "ROLLBACK TO one", NULL, NULL, NULL);
			if (!sqlite3_get_autocommit(db))
				sqlite3_exec(db, "RELEASE one", NULL, NULL, NULL);
		}
		item_release(&it);
		if (err < 0) {
			results[i].err = err;
			snprintf(results[i].message, sizeof(results[i].message), "%s", arca_error_last());
			if (batch_fatal(db, err))
				rc = err;
		}
	}
	if (rc == 0)
		rc = store_index__exec(db, "COMMIT", "index put: commit");
	if (rc < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&ix->write_lock);
	return rc;
}
