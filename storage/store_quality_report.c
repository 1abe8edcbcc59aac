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
/* The time range.  Over every record (no --since/--until) a table scan
 * beats the time index, which costs a row lookup per record: the unary +
 * keeps SQLite from using it. */
#define RANGE_INDEXED "q.time_ms >= ?1 AND q.time_ms < ?2"
#define RANGE_SCAN "+q.time_ms >= ?1 AND +q.time_ms < ?2"

static const char *range_sql(const store_quality_filter *f)
{
	return f->since_ms == 0 && f->until_ms == 0 ? RANGE_SCAN : RANGE_INDEXED;
}

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

/* The key columns of each grouping. */
static const char *key_cols(store_quality_by by)
{
	switch (by) {
	case STORE_QUALITY_BY_SOURCE:
		return "q.calling_ae, ''";
	case STORE_QUALITY_BY_MODALITY:
		return "'', q.modality";
	default:
		return "q.calling_ae, q.modality";
	}
}

static int step_rows(sqlite3_stmt *st, int (*row)(void *ctx, sqlite3_stmt *st), void *ctx)
{
	int rc = 0, s;

	/* row() returns < 0 to fail, > 0 to stop early */
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = row(ctx, st)) != 0)
			break;
	if (rc > 0)
		rc = 0;
	else if (rc == 0 && s != SQLITE_DONE)
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

/* Examples, in one pass over the records of the range, latest first: each
 * row goes to its group until the group has enough; the pass stops when
 * every group has.  (A query per group would scan the range once per
 * group.)  An instance received twice counts once, at its latest. */
typedef struct example_pass {
	store_quality_report *r;
	size_t full;  /* groups with all their examples */
} example_pass;

static store_quality_group *group_of_row(store_quality_report *r, sqlite3_stmt *st)
{
	const char *k1 = col_text(st, 0), *k2 = col_text(st, 1);

	for (size_t i = 0; i < r->n_groups; i++) {
		store_quality_group *g = &r->groups[i];
		bool match;
		switch (r->filter.by) {
		case STORE_QUALITY_BY_RULE:
			match = strcmp(g->rule, k1) == 0 && strcmp(pacs_norm_action_name(g->action), k2) == 0;
			break;
		case STORE_QUALITY_BY_SOURCE:
			match = strcmp(g->source, k1) == 0;
			break;
		case STORE_QUALITY_BY_MODALITY:
			match = strcmp(g->modality, k2) == 0;
			break;
		default:
			match = strcmp(g->source, k1) == 0 && strcmp(g->modality, k2) == 0;
			break;
		}
		if (match)
			return g;
	}
	return NULL;
}

static int on_example(void *ctx, sqlite3_stmt *st)
{
	example_pass *p = ctx;
	store_quality_group *g = group_of_row(p->r, st);
	const char *uid = col_text(st, 2);

	if (g == NULL || g->n_examples == p->r->filter.examples)
		return 0;
	for (size_t i = 0; i < g->n_examples; i++)
		if (strcmp(g->examples[i], uid) == 0)
			return 0;
	snprintf(g->examples[g->n_examples++], STORE_INDEX_UID_MAX + 1, "%s", uid);
	if (g->n_examples == p->r->filter.examples && ++p->full == p->r->n_groups)
		return 1; /* every group is full: stop */
	return 0;
}

static int examples_pass(struct store_index__conn *c, const char *sql, store_quality_report *r)
{
	example_pass p = { r, 0 };
	sqlite3_stmt *st;
	int rc;

	if (r->filter.examples == 0 || r->n_groups == 0)
		return 0;
	for (size_t i = 0; i < r->n_groups; i++) {
		r->groups[i].examples = calloc(r->filter.examples, sizeof(*r->groups[i].examples));
		if (r->groups[i].examples == NULL)
			return arca_error_set(ARCA_ENOMEM, "quality report: out of memory");
	}
	if ((rc = store_index__stmt(c, sql, &st)) < 0 || (rc = bind_range(st, &r->filter)) < 0)
		return rc;
	return step_rows(st, on_example, &p);
}

static int report_by_key(struct store_index__conn *c, store_quality_report *r)
{
	const store_quality_filter *f = &r->filter;
	const char *cols = key_cols(r->filter.by);
	char sql[2048];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT %s, " COUNTERS " FROM quality q WHERE %s GROUP BY 1, 2 ORDER BY 1, 2", cols,
		 range_sql(f));
	if ((rc = store_index__stmt(c, sql, &st)) < 0 || (rc = bind_range(st, f)) < 0 ||
	    (rc = step_rows(st, on_group, r)) < 0)
		return rc;
	/* the rules that fired, per group: instances (not hits) */
	snprintf(sql, sizeof(sql),
		 "SELECT %s, h.rule, h.action, COUNT(DISTINCT q.pk) FROM quality q"
		 " JOIN quality_hits h ON h.record_pk = q.pk WHERE %s AND " RECEIVED
		 " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 5 DESC, 3, 4",
		 cols, range_sql(f));
	if ((rc = store_index__stmt(c, sql, &st)) < 0 || (rc = bind_range(st, f)) < 0 ||
	    (rc = step_rows(st, on_group_rule, r)) < 0)
		return rc;
	/* examples: the latest instances refused, warned or normalised (the
	 * time index serves the order: no + here) */
	return examples_pass(c,
			     "SELECT q.calling_ae, q.modality, q.sop_uid FROM quality q WHERE " RANGE_INDEXED " AND " RECEIVED
			     " AND (q.outcome IN ('quarantined','refused') OR q.n_warned > 0 OR q.n_fixed > 0)"
			     " ORDER BY q.time_ms DESC, q.pk DESC",
			     r);
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
		" (SELECT DISTINCT r.pk, r.origin, r.outcome, r.n_warned, r.n_fixed, h.rule, h.action, h.kind"
		"  FROM quality r JOIN quality_hits h ON h.record_pk = r.pk"
		"  WHERE r.time_ms >= ?1 AND r.time_ms < ?2 AND r.origin <> 'release') q"
		" GROUP BY q.rule, q.action ORDER BY q.rule, q.action";
	static const char examples_sql[] =
		"SELECT h.rule, h.action, q.sop_uid FROM quality q JOIN quality_hits h ON h.record_pk = q.pk"
		" WHERE " RANGE_INDEXED " AND " RECEIVED " ORDER BY q.time_ms DESC, q.pk DESC";

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
	}
	return examples_pass(c, examples_sql, r);
}

static void add_counters(store_quality_group *t, const store_quality_group *g)
{
	t->received += g->received;
	t->stored += g->stored;
	t->duplicates += g->duplicates;
	t->versions += g->versions;
	t->refused += g->refused;
	t->quarantined += g->quarantined;
	t->warned += g->warned;
	t->normalised += g->normalised;
	t->released += g->released;
	t->dropped += g->dropped;
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
	if (rc == 0 && r->filter.by != STORE_QUALITY_BY_RULE) {
		/* every record is in exactly one group: the total is their sum */
		for (size_t i = 0; i < r->n_groups; i++)
			add_counters(&r->total, &r->groups[i]);
	} else if (rc == 0) {
		char sql[1024];
		snprintf(sql, sizeof(sql), "SELECT " COUNTERS " FROM quality q WHERE %s", range_sql(&r->filter));
		if ((rc = store_index__stmt(c, sql, &st)) == 0 && (rc = bind_range(st, &r->filter)) == 0)
			rc = step_rows(st, on_total, &r->total);
	}
	sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	store_index__reader_release(ix, c);
	if (rc < 0) {
		store_quality_report_free(r);
		return rc;
	}
	*out = r;
	return 0;
}
