/* store_quality_report.c - the quality report (store_quality.h): the
 * records of a time range aggregated by sending AE and modality, by AE, by
 * modality or by rule, with example SOP Instance UIDs, on a read
 * connection of the index (a WAL snapshot: consistent while ingest goes
 * on). */
#include "store_quality.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"
#include "store_index_sqlite_priv.h"

/* Instances received: C-STORE and import (a release or a drop is not a
 * reception). */
#define RECEIVED "q.origin IN ('dimse','import')"
#define KEPT "q.outcome IN ('stored','duplicate','version')"
#define RANGE "q.time_ms >= ?1 AND q.time_ms < ?2"

/* The counters of a group, columns first..first+9 of a row. */
#define COUNTERS                                                                               \
	"SUM(" RECEIVED "), SUM(" RECEIVED " AND q.outcome = 'stored'),"                           \
	" SUM(" RECEIVED " AND q.outcome = 'duplicate'), SUM(" RECEIVED " AND q.outcome = 'version'),"  \
	" SUM(" RECEIVED " AND q.outcome IN ('quarantined','refused')),"                           \
	" SUM(" RECEIVED " AND q.outcome = 'quarantined'),"                                        \
	" SUM(" RECEIVED " AND " KEPT " AND q.n_warned > 0),"                                      \
	" SUM(" RECEIVED " AND " KEPT " AND q.n_fixed > 0),"                                       \
	" SUM(q.origin = 'release' AND " KEPT "), SUM(q.outcome = 'dropped')"

static pacs_norm_action action_of(const char *name)
{
	static const pacs_norm_action all[] = { PACS_NORM_IGNORE, PACS_NORM_FIX, PACS_NORM_WARN, PACS_NORM_REFUSE };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(pacs_norm_action_name(all[i]), name) == 0)
			return all[i];
	return PACS_NORM_IGNORE;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

static void read_counters(sqlite3_stmt *st, int first, store_quality_group *g)
{
	uint64_t *v[] = { &g->received, &g->stored, &g->duplicates, &g->versions, &g->refused,
			  &g->quarantined, &g->warned, &g->normalised, &g->released, &g->dropped };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		*v[i] = (uint64_t)sqlite3_column_int64(st, first + (int)i);
}

static int bind_range(sqlite3_stmt *st, const store_quality_filter *f)
{
	int64_t until = f->until_ms != 0 ? f->until_ms : INT64_MAX;
	int rc = sqlite3_bind_int64(st, 1, f->since_ms);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, until);
	return rc == SQLITE_OK ? 0 : store_index__stmt_error(st, rc, "quality report: bind");
}

static void group_clear(store_quality_group *g)
{
	free(g->rules);
	free(g->examples);
}

void store_quality_report_free(store_quality_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_groups; i++)
		group_clear(&r->groups[i]);
	free(r->groups);
	free(r);
}

static int add_group(store_quality_report *r, store_quality_group **out)
{
	store_quality_group *v = realloc(r->groups, (r->n_groups + 1) * sizeof(*v));

	if (v == NULL)
		return arca_error_set(ARCA_ENOMEM, "quality report: out of memory");
	r->groups = v;
	*out = &v[r->n_groups++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* The key columns and the per-group condition of each grouping. */
static void key_sql(store_quality_by by, const char **cols, const char **cond)
{
	switch (by) {
	case STORE_QUALITY_BY_SOURCE:
		*cols = "q.calling_ae, ''";
		*cond = "q.calling_ae = ?3";
		break;
	case STORE_QUALITY_BY_MODALITY:
		*cols = "'', q.modality";
		*cond = "q.modality = ?4";
		break;
	default:
		*cols = "q.calling_ae, q.modality";
		*cond = "q.calling_ae = ?3 AND q.modality = ?4";
		break;
	}
}

static int step_rows(sqlite3_stmt *st, int (*row)(void *ctx, sqlite3_stmt *st), void *ctx)
{
	int rc = 0, s;

	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = row(ctx, st)) < 0)
			break;
	if (rc == 0 && s != SQLITE_DONE)
		rc = store_index__stmt_error(st, s, "quality report");
	sqlite3_reset(st);
	return rc;
}

/* ---- source / modality groups ---- */

static int on_group(void *ctx, sqlite3_stmt *st)
{
	store_quality_report *r = ctx;
	store_quality_group *g;
	int rc = add_group(r, &g);

	if (rc < 0)
		return rc;
	snprintf(g->source, sizeof(g->source), "%s", col_text(st, 0));
	snprintf(g->modality, sizeof(g->modality), "%s", col_text(st, 1));
	read_counters(st, 2, g);
	return 0;
}

static store_quality_group *find_group(store_quality_report *r, const char *source, const char *modality)
{
	for (size_t i = 0; i < r->n_groups; i++)
		if (strcmp(r->groups[i].source, source) == 0 && strcmp(r->groups[i].modality, modality) == 0)
			return &r->groups[i];
	return NULL;
}

static int on_group_rule(void *ctx, sqlite3_stmt *st)
{
	store_quality_report *r = ctx;
	store_quality_group *g = find_group(r, col_text(st, 0), col_text(st, 1));
	store_quality_rule_count *v;

	if (g == NULL)
		return 0;
	v = realloc(g->rules, (g->n_rules + 1) * sizeof(*v));
	if (v == NULL)
		return arca_error_set(ARCA_ENOMEM, "quality report: out of memory");
	g->rules = v;
	v = &v[g->n_rules++];
	memset(v, 0, sizeof(*v));
	snprintf(v->rule, sizeof(v->rule), "%s", col_text(st, 2));
	v->action = action_of(col_text(st, 3));
	v->instances = (uint64_t)sqlite3_column_int64(st, 4);
	return 0;
}

static int on_example(void *ctx, sqlite3_stmt *st)
{
	store_quality_group *g = ctx;

	snprintf(g->examples[g->n_examples++], STORE_INDEX_UID_MAX + 1, "%s", col_text(st, 0));
	return 0;
}

static int examples_of(struct store_index__conn *c, const char *sql, const store_quality_filter *f,
		       store_quality_group *g, const char *k1, const char *k2, int64_t k3)
{
	sqlite3_stmt *st;
	int rc;

	if (f->examples == 0)
		return 0;
	g->examples = calloc(f->examples, sizeof(*g->examples));
	if (g->examples == NULL)
		return arca_error_set(ARCA_ENOMEM, "quality report: out of memory");
	if ((rc = store_index__stmt(c, sql, &st)) < 0 || (rc = bind_range(st, f)) < 0)
		return rc;
	if ((rc = store_index__bind_text(st, 3, k1)) < 0 || (rc = store_index__bind_text(st, 4, k2)) < 0)
		return rc;
	if (k3 >= 0 && sqlite3_bind_int64(st, 5, k3) != SQLITE_OK)
		return store_index__stmt_error(st, SQLITE_ERROR, "quality report: bind");
	if (sqlite3_bind_int64(st, 6, f->examples) != SQLITE_OK)
		return store_index__stmt_error(st, SQLITE_ERROR, "quality report: bind");
	return step_rows(st, on_example, g);
}

static int report_by_key(struct store_index__conn *c, store_quality_report *r)
{
	const store_quality_filter *f = &r->filter;
	const char *cols, *cond;
	char sql[2048];
	sqlite3_stmt *st;
	int rc;

	key_sql(f->by, &cols, &cond);
	snprintf(sql, sizeof(sql), "SELECT %s, " COUNTERS " FROM quality q WHERE " RANGE " GROUP BY 1, 2 ORDER BY 1, 2",
		 cols);
	if ((rc = store_index__stmt(c, sql, &st)) < 0 || (rc = bind_range(st, f)) < 0 ||
	    (rc = step_rows(st, on_group, r)) < 0)
		return rc;
	/* the rules that fired, per group: instances (not hits) */
	snprintf(sql, sizeof(sql),
		 "SELECT %s, h.rule, h.action, COUNT(DISTINCT q.pk) FROM quality q"
		 " JOIN quality_hits h ON h.record_pk = q.pk WHERE " RANGE " AND " RECEIVED
		 " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 5 DESC, 3, 4",
		 cols);
	if ((rc = store_index__stmt(c, sql, &st)) < 0 || (rc = bind_range(st, f)) < 0 ||
	    (rc = step_rows(st, on_group_rule, r)) < 0)
		return rc;
	/* examples: the latest instances refused, warned or normalised */
	snprintf(sql, sizeof(sql),
		 "SELECT q.sop_uid FROM quality q WHERE " RANGE " AND " RECEIVED " AND %s"
		 " AND (q.outcome IN ('quarantined','refused') OR q.n_warned > 0 OR q.n_fixed > 0)"
		 " AND ?5 IS NULL GROUP BY q.sop_uid ORDER BY MAX(q.time_ms) DESC, q.sop_uid LIMIT ?6",
		 cond);
	for (size_t i = 0; i < r->n_groups; i++)
		if ((rc = examples_of(c, sql, f, &r->groups[i], r->groups[i].source, r->groups[i].modality, -1)) < 0)
			return rc;
	return 0;
}

/* ---- rule groups ---- */

static int on_rule(void *ctx, sqlite3_stmt *st)
{
	store_quality_report *r = ctx;
	store_quality_group *g;
	int rc = add_group(r, &g);

	if (rc < 0)
		return rc;
	snprintf(g->rule, sizeof(g->rule), "%s", col_text(st, 0));
	g->action = action_of(col_text(st, 1));
	snprintf(g->kind, sizeof(g->kind), "%s", col_text(st, 2));
	read_counters(st, 3, g);
	return 0;
}

static int report_by_rule(struct store_index__conn *c, store_quality_report *r)
{
	const store_quality_filter *f = &r->filter;
	sqlite3_stmt *st;
	int rc;
	/* one row per (record, rule, action): a rule that fired on several
	 * elements of one instance counts the instance once */
	static const char groups_sql[] =
		"SELECT q.rule, q.action, MIN(q.kind), " COUNTERS " FROM"
		" (SELECT DISTINCT r.pk, r.time_ms, r.origin, r.outcome, r.n_warned, r.n_fixed, h.rule, h.action, h.kind"
		"  FROM quality r JOIN quality_hits h ON h.record_pk = r.pk) q"
		" WHERE " RANGE " AND q.origin <> 'release'"
		" GROUP BY q.rule, q.action ORDER BY q.rule, q.action";
	static const char examples_sql[] =
		"SELECT q.sop_uid FROM quality q JOIN quality_hits h ON h.record_pk = q.pk"
		" WHERE " RANGE " AND " RECEIVED " AND h.rule = ?3 AND h.action = ?4 AND ?5 IS NULL"
		" GROUP BY q.sop_uid ORDER BY MAX(q.time_ms) DESC, q.sop_uid LIMIT ?6";

	if ((rc = store_index__stmt(c, groups_sql, &st)) < 0 || (rc = bind_range(st, f)) < 0 ||
	    (rc = step_rows(st, on_rule, r)) < 0)
		return rc;
	for (size_t i = 0; i < r->n_groups; i++) {
		store_quality_group *g = &r->groups[i];
		/* by rule, "warned" and "normalised" are what the rule did */
		if (g->action != PACS_NORM_WARN)
			g->warned = 0;
		if (g->action != PACS_NORM_FIX)
			g->normalised = 0;
		if ((rc = examples_of(c, examples_sql, f, g, g->rule, pacs_norm_action_name(g->action), -1)) < 0)
			return rc;
	}
	return 0;
}

static int on_total(void *ctx, sqlite3_stmt *st)
{
	read_counters(st, 0, ctx);
	return 0;
}

int store_quality_report_get(store_index *idx, const store_quality_filter *f, store_quality_report **out)
{
	struct store_index__sqlite *ix = (struct store_index__sqlite *)idx;
	struct store_index__conn *c;
	store_quality_report *r;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if (strcmp(idx->ops->name, "sqlite") != 0)
		return arca_error_set(ARCA_EUNSUPPORTED, "quality report: index backend %s", idx->ops->name);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return arca_error_set(ARCA_ENOMEM, "quality report: out of memory");
	r->filter = *f;
	if (r->filter.examples > STORE_QUALITY_EXAMPLES_MAX)
		r->filter.examples = STORE_QUALITY_EXAMPLES_MAX;
	if ((rc = store_index__reader_acquire(ix, &c)) < 0) {
		free(r);
		return rc;
	}
	/* one snapshot for every statement below */
	rc = store_index__exec(c->db, "BEGIN", "quality report: begin");
	if (rc == 0)
		rc = r->filter.by == STORE_QUALITY_BY_RULE ? report_by_rule(c, r) : report_by_key(c, r);
	if (rc == 0 && (rc = store_index__stmt(c, "SELECT " COUNTERS " FROM quality q WHERE " RANGE, &st)) == 0 &&
	    (rc = bind_range(st, &r->filter)) == 0)
		rc = step_rows(st, on_total, &r->total);
	sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	store_index__reader_release(ix, c);
	if (rc < 0) {
		store_quality_report_free(r);
		return rc;
	}
	*out = r;
	return 0;
}
