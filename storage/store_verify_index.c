/* store_verify_index.c - the index read for verify and gc, row by row,
 * with SQLite directly (store_verify_priv.h).
 *
 * Why below store_index.h: that interface answers C-FIND and gets one
 * instance, which is what the archive needs; verify must also see what it
 * hides on purpose - kept versions (instance_versions), the stored counts
 * of PS3.4 C.6.1.1, rows whose parent is missing - and gc must mark every
 * manifest any row names.  This file knows schema version 1
 * (store_index_schema.c) and every later one, which only add to it.
 *
 * The connection is read-only (SQLITE_OPEN_READONLY): no schema change,
 * no write lock, so it runs beside arcad; each statement reads one WAL
 * snapshot, and a study's rows come from one statement. */
#include "store_verify_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "arca_err.h"
#include "store_index_sqlite_priv.h" /* STORE_INDEX__SCHEMA_VERSION only */

/* The tables and columns read here are those of schema version 1; later
 * migrations only add (store_index_schema.c: "append; never edit a
 * shipped one"), so every version up to the index code's own is read. */
#define FIRST_SCHEMA 1
/* Lines per kind of index fault before "... and N more". */
#define MAX_MESSAGES 20

struct store_verify__index {
	sqlite3 *db; /* NULL: no index file yet (an archive that never stored) */
	char *path;
	int version; /* its schema version */
};

static int db_error(store_verify__index *ix, const char *what)
{
	return arca_error_set(ARCA_EDB, "index %s: %s: %s", ix->path, what, sqlite3_errmsg(ix->db));
}

static int prepare(store_verify__index *ix, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(ix->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_error(ix, "prepare");
	return 0;
}

int store_verify__index_open(store_verify__index **out, const char *path)
{
	store_verify__index *ix;
	sqlite3_stmt *st = NULL;
	int rc = 0, version = -1;

	*out = NULL;
	ix = calloc(1, sizeof(*ix));
	if (ix == NULL || (ix->path = strdup(path)) == NULL) {
		free(ix);
		return arca_error_set(ARCA_ENOMEM, "no memory to open the index");
	}
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		*out = ix; /* nothing indexed yet: every walk is empty */
		return 0;
	}
	if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = arca_error_set(ARCA_EDB, "cannot open the index %s read-only: %s", path,
				    ix->db != NULL ? sqlite3_errmsg(ix->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(ix->db, 10000);
	if ((rc = prepare(ix, "PRAGMA user_version", &st)) < 0)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	else
		rc = db_error(ix, "read the schema version");
	sqlite3_finalize(st);
	if (rc == 0 && (version < FIRST_SCHEMA || version > STORE_INDEX__SCHEMA_VERSION))
		rc = arca_error_set(ARCA_EUNSUPPORTED,
				    "index %s has schema version %d; this verify reads versions %d to %d", path, version,
				    FIRST_SCHEMA, STORE_INDEX__SCHEMA_VERSION);
	if (rc < 0)
		goto fail;
	ix->version = version;
	*out = ix;
	return 0;
fail:
	store_verify__index_free(ix);
	return rc;
}

/* The chain outbox came with schema version 4 (store_index_schema.c). */
#define OUTBOX_SCHEMA 4

int store_verify__index_pending(store_verify__index *ix, uint64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	if (ix->db == NULL || ix->version < OUTBOX_SCHEMA)
		return 0;
	if ((rc = prepare(ix, "SELECT count(*) FROM chain_pending", &st)) < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(st, 0);
	else
		rc = db_error(ix, "count the chain outbox");
	sqlite3_finalize(st);
	return rc;
}

void store_verify__index_free(store_verify__index *ix)
{
	if (ix == NULL)
		return;
	sqlite3_close_v2(ix->db);
	free(ix->path);
	free(ix);
}

int store_verify__index_totals(store_verify__index *ix, const char *study, uint64_t *rows, uint64_t *bytes)
{
	static const char all[] =
		"SELECT count(*), coalesce(sum(size), 0) FROM"
		" (SELECT size FROM instances UNION ALL SELECT size FROM instance_versions)";
	static const char one[] =
		"SELECT count(*), coalesce(sum(size), 0) FROM"
		" (SELECT i.size AS size FROM studies st JOIN series se ON se.study_pk = st.pk"
		"  JOIN instances i ON i.series_pk = se.pk WHERE st.study_uid = ?1"
		"  UNION ALL SELECT v.size FROM studies st JOIN series se ON se.study_pk = st.pk"
		"  JOIN instances i ON i.series_pk = se.pk JOIN instance_versions v ON v.instance_pk = i.pk"
		"  WHERE st.study_uid = ?1)";
	sqlite3_stmt *st = NULL;
	int rc;

	*rows = *bytes = 0;
	if (ix->db == NULL)
		return 0;
	if ((rc = prepare(ix, study != NULL ? one : all, &st)) < 0)
		return rc;
	if (study != NULL)
		sqlite3_bind_text(st, 1, study, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*rows = (uint64_t)sqlite3_column_int64(st, 0);
		*bytes = (uint64_t)sqlite3_column_int64(st, 1);
	} else {
		rc = db_error(ix, "count the instances");
	}
	sqlite3_finalize(st);
	return rc;
}

/* ------------------------------------------------------------ index checks */

struct check {
	const char *sql;    /* each row is one fault */
	const char *fmt;    /* the message: $1 .. $9 stand for the row's columns, as text */
};

/* The counts of PS3.4 C.6.1.1 that store_index_put.c maintains, and the
 * parent links, recomputed from the rows.  Patients are named by their
 * row key, never by Patient ID: the output of a verify may be pasted into
 * a ticket. */
static const struct check checks[] = {
	{ "SELECT se.series_uid, se.n_instances, (SELECT count(*) FROM instances i WHERE i.series_pk = se.pk) AS c"
	  " FROM series se WHERE se.n_instances <> c",
	  "series $1: Number of Series Related Instances is $2, the index holds $3 instances" },
	{ "SELECT se.series_uid FROM series se WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.series_pk = se.pk)",
	  "series $1 has no instance left (an empty series is removed with its last instance)" },
	{ "SELECT se.series_uid, se.study_pk FROM series se"
	  " WHERE NOT EXISTS (SELECT 1 FROM studies st WHERE st.pk = se.study_pk)",
	  "series $1 belongs to study row $2, which is not in the index" },
	{ "SELECT st.study_uid, st.n_series, (SELECT count(*) FROM series se WHERE se.study_pk = st.pk) AS c"
	  " FROM studies st WHERE st.n_series <> c",
	  "study $1: Number of Study Related Series is $2, the index holds $3 series" },
	{ "SELECT st.study_uid, st.n_instances, (SELECT count(*) FROM series se JOIN instances i"
	  " ON i.series_pk = se.pk WHERE se.study_pk = st.pk) AS c FROM studies st WHERE st.n_instances <> c",
	  "study $1: Number of Study Related Instances is $2, the index holds $3 instances" },
	{ "SELECT st.study_uid, st.patient_pk FROM studies st"
	  " WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.pk = st.patient_pk)",
	  "study $1 belongs to patient row $2, which is not in the index" },
	{ "SELECT p.pk, p.n_studies, (SELECT count(*) FROM studies st WHERE st.patient_pk = p.pk) AS c"
	  " FROM patients p WHERE p.n_studies <> c",
	  "patient row $1: Number of Patient Related Studies is $2, the index holds $3 studies" },
	{ "SELECT p.pk, p.n_series, (SELECT count(*) FROM studies st JOIN series se ON se.study_pk = st.pk"
	  " WHERE st.patient_pk = p.pk) AS c FROM patients p WHERE p.n_series <> c",
	  "patient row $1: Number of Patient Related Series is $2, the index holds $3 series" },
	{ "SELECT p.pk, p.n_instances, (SELECT count(*) FROM studies st JOIN series se ON se.study_pk = st.pk"
	  " JOIN instances i ON i.series_pk = se.pk WHERE st.patient_pk = p.pk) AS c"
	  " FROM patients p WHERE p.n_instances <> c",
	  "patient row $1: Number of Patient Related Instances is $2, the index holds $3 instances" },
	{ "SELECT st.study_uid, sc.sop_class, sc.n_instances, (SELECT count(*) FROM series se JOIN instances i"
	  " ON i.series_pk = se.pk WHERE se.study_pk = st.pk AND i.sop_class = sc.sop_class) AS c"
	  " FROM study_sop_classes sc JOIN studies st ON st.pk = sc.study_pk WHERE sc.n_instances <> c",
	  "study $1: SOP Classes in Study counts $3 instances of $2, the index holds $4" },
};

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "(null)";
}

/* c->fmt with each $N replaced by column N - 1 of the row. */
static void expand(char *out, size_t size, const char *fmt, sqlite3_stmt *st)
{
	size_t k = 0;

	for (const char *p = fmt; *p != '\0' && k + 1 < size; p++) {
		if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			int n = snprintf(out + k, size - k, "%s", col(st, p[1] - '1'));
			k = n < 0 ? k : (size_t)n >= size - k ? size - 1 : k + (size_t)n;
			p++;
		} else {
			out[k++] = *p;
		}
	}
	out[k] = '\0';
}

static int run_check(store_verify__index *ix, const struct check *c, store_verify__message_fn fn, void *ctx)
{
	char line[512];
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;
	int rc, step;

	if ((rc = prepare(ix, c->sql, &st)) < 0)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > MAX_MESSAGES)
			continue;
		expand(line, sizeof(line), c->fmt, st);
		fn(ctx, line);
	}
	if (step != SQLITE_DONE)
		rc = db_error(ix, "check the counts");
	else if (n > MAX_MESSAGES) {
		snprintf(line, sizeof(line), "... and %llu more faults of that kind",
			 (unsigned long long)(n - MAX_MESSAGES));
		fn(ctx, line);
	}
	sqlite3_finalize(st);
	return rc;
}

int store_verify__index_check(store_verify__index *ix, store_verify__message_fn fn, void *ctx)
{
	char line[512];
	sqlite3_stmt *st = NULL;
	int rc, step, n = 0;

	if (ix->db == NULL)
		return 0;
	/* SQLite's own structure: b-trees, free lists, index entries */
	if ((rc = prepare(ix, "PRAGMA quick_check", &st)) < 0)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *r = col(st, 0);
		if (strcmp(r, "ok") != 0 && n++ < MAX_MESSAGES) {
			snprintf(line, sizeof(line), "SQLite quick_check of %s: %s", ix->path, r);
			fn(ctx, line);
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(ix, "quick_check");
	sqlite3_finalize(st);
	for (size_t i = 0; rc == 0 && i < sizeof(checks) / sizeof(checks[0]); i++)
		rc = run_check(ix, &checks[i], fn, ctx);
	return rc;
}

/* ------------------------------------------------------------ rows */

/* Every row query returns the same ten columns, in this order: study_uid,
 * series_uid, sop_uid, ipk, version, cur, hash, manifest, size, ts. */

static char *dup_col(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	char *s;

	if (t == NULL)
		return NULL;
	s = strdup((const char *)t);
	if (s == NULL)
		*oom = true;
	return s;
}

static bool blob32(sqlite3_stmt *st, int i, uint8_t out[STORE_CAS_HASH_LEN])
{
	const void *b = sqlite3_column_blob(st, i);

	if (b == NULL || sqlite3_column_bytes(st, i) != STORE_CAS_HASH_LEN) {
		memset(out, 0, STORE_CAS_HASH_LEN);
		return false;
	}
	memcpy(out, b, STORE_CAS_HASH_LEN);
	return true;
}

static int read_rows(store_verify__index *ix, sqlite3_stmt *st, store_verify__row **rows, size_t *n)
{
	store_verify__row *v = NULL;
	size_t cap = 0, k = 0;
	bool oom = false;
	int step, rc = 0;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		store_verify__row *r;
		const unsigned char *ts;
		if (k == cap) {
			size_t ncap = cap != 0 ? 2 * cap : 64;
			store_verify__row *g = realloc(v, ncap * sizeof(*g));
			if (g == NULL) {
				oom = true;
				break;
			}
			v = g;
			cap = ncap;
		}
		r = &v[k++];
		memset(r, 0, sizeof(*r));
		r->study = dup_col(st, 0, &oom);
		r->series = dup_col(st, 1, &oom);
		r->sop = dup_col(st, 2, &oom);
		r->pk = sqlite3_column_int64(st, 3);
		r->version = (unsigned)sqlite3_column_int(st, 4);
		r->current = sqlite3_column_int(st, 5) != 0;
		r->hash_ok = blob32(st, 6, r->hash);
		r->manifest_ok = blob32(st, 7, r->manifest);
		r->size = (uint64_t)sqlite3_column_int64(st, 8);
		ts = sqlite3_column_text(st, 9);
		snprintf(r->ts, sizeof(r->ts), "%s", ts != NULL ? (const char *)ts : "");
		if (oom)
			break;
	}
	if (oom)
		rc = arca_error_set(ARCA_ENOMEM, "no memory for the index rows");
	else if (step != SQLITE_DONE)
		rc = db_error(ix, "read the instance rows");
	if (rc < 0) {
		store_verify__rows_free(v, k);
		return rc;
	}
	*rows = v;
	*n = k;
	return 0;
}

int store_verify__index_next_study(store_verify__index *ix, int64_t after, int64_t *pk, char **uid)
{
	sqlite3_stmt *st = NULL;
	bool oom = false;
	int rc, step;

	*uid = NULL;
	if (ix->db == NULL)
		return 0;
	if ((rc = prepare(ix, "SELECT pk, study_uid FROM studies WHERE pk > ?1 ORDER BY pk LIMIT 1", &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, after);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*pk = sqlite3_column_int64(st, 0);
		*uid = dup_col(st, 1, &oom);
		rc = oom || *uid == NULL ? arca_error_set(ARCA_ENOMEM, "no memory for a study UID") : 1;
	} else if (step != SQLITE_DONE) {
		rc = db_error(ix, "list the studies");
	}
	sqlite3_finalize(st);
	return rc;
}

int store_verify__index_find_study(store_verify__index *ix, const char *uid, int64_t *pk)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	if (ix->db == NULL)
		return 0;
	if ((rc = prepare(ix, "SELECT pk FROM studies WHERE study_uid = ?1", &st)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*pk = sqlite3_column_int64(st, 0);
		rc = 1;
	} else if (step != SQLITE_DONE) {
		rc = db_error(ix, "find the study");
	}
	sqlite3_finalize(st);
	return rc;
}

int store_verify__index_study_rows(store_verify__index *ix, int64_t pk, const char *uid,
				   store_verify__row **rows, size_t *n)
{
	static const char sql[] =
		"SELECT st.study_uid AS study_uid, se.series_uid AS series_uid, i.sop_uid AS sop_uid, i.pk AS ipk,"
		" i.version AS version, 1 AS cur, i.hash AS hash, i.manifest AS manifest, i.size AS size,"
		" i.transfer_syntax AS ts"
		" FROM studies st JOIN series se ON se.study_pk = st.pk JOIN instances i ON i.series_pk = se.pk"
		" WHERE st.pk = ?1"
		" UNION ALL "
		"SELECT st.study_uid, se.series_uid, i.sop_uid, i.pk, v.version, 0, v.hash, v.manifest, v.size,"
		" v.transfer_syntax"
		" FROM studies st JOIN series se ON se.study_pk = st.pk JOIN instances i ON i.series_pk = se.pk"
		" JOIN instance_versions v ON v.instance_pk = i.pk WHERE st.pk = ?1"
		" ORDER BY ipk, cur DESC, version";
	sqlite3_stmt *st = NULL;
	int rc;

	(void)uid;
	*rows = NULL;
	*n = 0;
	if (ix->db == NULL)
		return 0;
	if ((rc = prepare(ix, sql, &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, pk);
	rc = read_rows(ix, st, rows, n);
	sqlite3_finalize(st);
	return rc;
}

int store_verify__index_dangling_rows(store_verify__index *ix, store_verify__row **rows, size_t *n)
{
	static const char sql[] =
		"SELECT st.study_uid AS study_uid, se.series_uid AS series_uid, i.sop_uid AS sop_uid, i.pk AS ipk,"
		" i.version AS version, 1 AS cur, i.hash AS hash, i.manifest AS manifest, i.size AS size,"
		" i.transfer_syntax AS ts"
		" FROM instances i LEFT JOIN series se ON se.pk = i.series_pk"
		" LEFT JOIN studies st ON st.pk = se.study_pk WHERE st.pk IS NULL"
		" UNION ALL "
		"SELECT st.study_uid, se.series_uid, i.sop_uid, v.instance_pk, v.version, 0, v.hash, v.manifest,"
		" v.size, v.transfer_syntax"
		" FROM instance_versions v LEFT JOIN instances i ON i.pk = v.instance_pk"
		" LEFT JOIN series se ON se.pk = i.series_pk LEFT JOIN studies st ON st.pk = se.study_pk"
		" WHERE st.pk IS NULL"
		" ORDER BY ipk, cur DESC, version";
	sqlite3_stmt *st = NULL;
	int rc;

	*rows = NULL;
	*n = 0;
	if (ix->db == NULL)
		return 0;
	if ((rc = prepare(ix, sql, &st)) < 0)
		return rc;
	rc = read_rows(ix, st, rows, n);
	sqlite3_finalize(st);
	return rc;
}

void store_verify__rows_free(store_verify__row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].study);
		free(rows[i].series);
		free(rows[i].sop);
	}
	free(rows);
}

/* ------------------------------------------------------------ address sets */

int store_verify__set_add(store_verify__set *s, const uint8_t hash[STORE_CAS_HASH_LEN])
{
	if (s->n == s->cap) {
		size_t cap = s->cap != 0 ? 2 * s->cap : 1024;
		uint8_t (*g)[STORE_CAS_HASH_LEN] = realloc(s->h, cap * sizeof(*g));
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for %zu chunk addresses", cap);
		s->h = g;
		s->cap = cap;
	}
	memcpy(s->h[s->n++], hash, STORE_CAS_HASH_LEN);
	return 0;
}

int store_verify__set_merge(store_verify__set *s, store_verify__set *from)
{
	int rc = 0;

	for (size_t i = 0; i < from->n && rc == 0; i++)
		rc = store_verify__set_add(s, from->h[i]);
	from->n = 0;
	return rc;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, STORE_CAS_HASH_LEN);
}

void store_verify__set_sort(store_verify__set *s)
{
	size_t k = 0;

	if (s->n == 0)
		return;
	qsort(s->h, s->n, STORE_CAS_HASH_LEN, hash_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (memcmp(s->h[i], s->h[k], STORE_CAS_HASH_LEN) != 0)
			memcpy(s->h[++k], s->h[i], STORE_CAS_HASH_LEN);
	s->n = k + 1;
}

bool store_verify__set_has(const store_verify__set *s, const uint8_t hash[STORE_CAS_HASH_LEN])
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(s->h[mid], hash, STORE_CAS_HASH_LEN);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void store_verify__set_free(store_verify__set *s)
{
	free(s->h);
	s->h = NULL;
	s->n = s->cap = 0;
}
