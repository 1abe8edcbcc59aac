/* store_index_query.c - C-FIND requests as SQL, and the cursor that
 * streams their rows (SQLite backend).
 *
 * A find's parsed conditions (store_index_match.c) become one SELECT over
 * the tables from the query level up to patients, every value a bound
 * parameter: "=" for single values, IN for lists, a range for "PREFIX*",
 * GLOB for other wildcards (its only metacharacters besides * and ? are [
 * and ], escaped here; % and _ are plain characters to GLOB, so "100%"
 * matches itself), >= / <= for ranges.  Rows are read with sqlite3_step as the caller asks for them and
 * nothing is sorted, so no result set is ever built in memory. */
#include "store_index_sqlite_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_buf.h"
#include "pacs_tags.h"

/* Longest SQL a find may become (1000 UIDs in a list fit easily). */
#define SQL_MAX (256u * 1024u)

struct bind {
	bool is_int;
	sqlite3_int64 number;
	char *text; /* owned */
};

struct builder {
	pacs_buf sql;
	struct bind *binds;
	size_t nbinds, cap;
	int rc; /* first error; later appends are no-ops */
};

/* A condition checked on each row in C, after SQL narrowed the rows:
 * component-wise person names (store_index__pn_match) and code sequence
 * items (store_index__code_match). */
struct row_filter {
	size_t col;     /* the column holding the value */
	char *pattern;  /* owned; case-folded when fold */
	bool fold;
	bool code;      /* a code sequence, else a person name */
};

/* Most PN and code sequence keys in one find. */
#define ROW_FILTERS_MAX 8

struct sqlite_query {
	struct store_index_query base; /* first member: the generic cursor */
	struct store_index__sqlite *ix;
	struct store_index__conn *conn;
	sqlite3_stmt *st;
	int storage_first; /* IMAGE level: first storage column */
	bool done;
	struct row_filter filters[ROW_FILTERS_MAX];
	size_t n_filters;
	char *fold_buf; /* the row's person name case-folded (row_passes) */
	size_t fold_cap;
};

/* ---- building SQL ---- */

static void add(struct builder *b, const char *s)
{
	if (b->rc == 0)
		b->rc = pacs_buf_add(&b->sql, s, strlen(s));
}

static void addf(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void addf(struct builder *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (b->rc == 0 && (n < 0 || (size_t)n >= sizeof(tmp)))
		b->rc = arca_error_set(ARCA_ELIMIT, "query: SQL fragment too long");
	add(b, tmp);
}

/* Appends a "?" placeholder bound to text (taken: freed by the builder). */
static void param_take(struct builder *b, char *text)
{
	if (b->rc == 0 && text == NULL)
		b->rc = arca_error_set(ARCA_ENOMEM, "query: out of memory");
	if (b->rc == 0 && b->nbinds == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct bind *n = realloc(b->binds, cap * sizeof(*n));

		if (n == NULL)
			b->rc = arca_error_set(ARCA_ENOMEM, "query: out of memory");
		else {
			b->binds = n;
			b->cap = cap;
		}
	}
	if (b->rc != 0) {
		free(text);
		return;
	}
	b->binds[b->nbinds++] = (struct bind){.text = text};
	add(b, "?");
}

static void param_text(struct builder *b, const char *text)
{
	param_take(b, strdup(text));
}

static void param_int(struct builder *b, sqlite3_int64 v)
{
	param_take(b, strdup(""));
	if (b->rc == 0) {
		b->binds[b->nbinds - 1].is_int = true;
		b->binds[b->nbinds - 1].number = v;
	}
}

/* A DICOM wildcard value (PS3.4 C.2.2.2.4) as a GLOB pattern: * and ?
 * keep their meaning; [ opens a character class in GLOB, so it is written
 * as the class "[[]"; ] alone is literal. */
static char *glob_pattern(const char *v)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = v; *p != '\0'; p++)
		n += *p == '[' ? 3 : 1;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	for (o = out; *v != '\0'; v++) {
		if (*v == '[') {
			memcpy(o, "[[]", 3);
			o += 3;
		} else {
			*o++ = *v;
		}
	}
	*o = '\0';
	return out;
}

/* The value as it is compared: case-folded for case-insensitive PN. */
static char *match_value(const char *v, bool fold)
{
	char *out = NULL;

	if (!fold)
		return strdup(v);
	return store_index__pn_fold(v, &out) == 0 ? out : NULL;
}

/* For "PREFIX*" (the commonest wildcard query), the first string after
 * every string that starts with PREFIX: PREFIX with its last byte + 1
 * (byte order is the BINARY collation of the indexes; a UTF-8 byte is
 * never 0xFF).  NULL when v is not of that form. */
static char *prefix_end(const char *v)
{
	size_t n = strlen(v);
	char *end;

	if (n < 2 || v[n - 1] != '*' || strpbrk(v, "*?") != v + n - 1 || (unsigned char)v[n - 2] == 0xFF)
		return NULL;
	end = strndup(v, n - 1);
	if (end != NULL)
		end[n - 2] = (char)((unsigned char)end[n - 2] + 1);
	return end;
}

/* "col = ?", a prefix range, or "col GLOB ?" for one text value. */
static void text_cond(struct builder *b, const char *col, const char *v, bool fold)
{
	char *m = match_value(v, fold);
	char *end = m != NULL ? prefix_end(m) : NULL;

	if (end != NULL) {
		/* A range instead of GLOB: same rows, same index, and the
		 * statement is not recompiled for each new pattern as a bound
		 * GLOB pattern makes SQLite do. */
		m[strlen(m) - 1] = '\0';
		addf(b, "(%s >= ", col);
		param_take(b, m);
		addf(b, " AND %s < ", col);
		param_take(b, end);
		add(b, ")");
		return;
	}
	if (m != NULL && store_index__has_wildcard(m)) {
		char *g = glob_pattern(m);

		free(m);
		addf(b, "%s GLOB ", col);
		param_take(b, g);
	} else {
		addf(b, "%s = ", col);
		param_take(b, m);
	}
}

/* Single value, list or wildcard condition on column col. */
static void value_cond(struct builder *b, const struct store_index__cond *c, const char *col, bool fold)
{
	bool wild = false;

	if (c->kind == STORE_INDEX__EQUAL || c->kind == STORE_INDEX__WILDCARD) {
		if (c->key->match == STORE_INDEX_MATCH_NUMBER) {
			addf(b, "%s = ", col);
			param_int(b, c->number);
		} else {
			text_cond(b, col, c->values[0], fold);
		}
		return;
	}
	/* PS3.4 C.2.2.2.2 list: any element matches. */
	for (size_t i = 0; i < c->n; i++)
		wild |= store_index__has_wildcard(c->values[i]);
	if (!wild) {
		addf(b, "%s IN (", col);
		for (size_t i = 0; i < c->n; i++) {
			if (i > 0)
				add(b, ", ");
			param_take(b, match_value(c->values[i], fold));
		}
		add(b, ")");
		return;
	}
	add(b, "(");
	for (size_t i = 0; i < c->n; i++) {
		if (i > 0)
			add(b, " OR ");
		text_cond(b, col, c->values[i], fold);
	}
	add(b, ")");
}

static void range_cond(struct builder *b, const char *expr, const char *lo, const char *hi)
{
	/* PS3.4 C.2.2.2.5: inclusive at both ends; an open end is no bound,
	 * and an empty value (NULL) matches no range. */
	if (lo != NULL && hi != NULL)
		addf(b, "%s BETWEEN ", expr);
	else
		addf(b, "%s %s ", expr, lo != NULL ? ">=" : "<=");
	param_text(b, lo != NULL ? lo : hi);
	if (lo != NULL && hi != NULL) {
		add(b, " AND ");
		param_text(b, hi);
	}
}

/* PS3.4 C.2.2.2.1, C.2.2.2.4: a person name is matched component by
 * component, each with its own wildcards (store_index__pn_match), on the
 * rows in C.  SQL narrows them first when the family name starts with
 * literal characters: every match starts with them, so a range on the
 * (folded) column, which its index serves. */
static void pn_cond(struct builder *b, struct sqlite_query *q, size_t col, const struct store_index__cond *c,
		    bool fold)
{
	const struct store_index__key *k = c->key;
	char *pattern = match_value(c->values[0], fold), *prefix = NULL, *star = NULL, *end = NULL;
	struct row_filter *rf;

	if (b->rc != 0) {
		free(pattern);
		return;
	}
	if (pattern == NULL || q->n_filters == ROW_FILTERS_MAX) {
		free(pattern);
		b->rc = pattern == NULL ? arca_error_set(ARCA_ENOMEM, "query: out of memory")
					: arca_error_set(ARCA_ELIMIT, "query: more than %u person name keys", ROW_FILTERS_MAX);
		return;
	}
	rf = &q->filters[q->n_filters++];
	rf->col = col;
	rf->pattern = pattern;
	rf->fold = fold;
	rf->code = false;
	if ((b->rc = store_index__pn_family_prefix(pattern, &prefix)) < 0)
		return;
	if (prefix != NULL && (star = malloc(strlen(prefix) + 2)) != NULL) {
		strcpy(star, prefix);
		strcat(star, "*");
		end = prefix_end(star);
	}
	if (end == NULL) {
		add(b, "1"); /* nothing to narrow on: every row is checked */
		free(prefix);
	} else {
		const char *column = fold ? k->folded : k->column;

		addf(b, "(%s >= ", column);
		param_take(b, prefix);
		addf(b, " AND %s < ", column);
		param_take(b, end);
		add(b, ")");
	}
	free(star);
}

/* PS3.4 C.2.2.2.6: a code sequence key with matching keys selects the
 * entities with an item that matches them all; checked per row in C on
 * the rows that have the sequence at all. */
static void code_cond(struct builder *b, struct sqlite_query *q, size_t col, const struct store_index__cond *c)
{
	char *pattern = strdup(c->values[0]);
	struct row_filter *rf;

	if (b->rc != 0 || pattern == NULL || q->n_filters == ROW_FILTERS_MAX) {
		free(pattern);
		if (b->rc == 0)
			b->rc = arca_error_set(pattern == NULL ? ARCA_ENOMEM : ARCA_ELIMIT,
					       "query: out of memory or more than %u sequence keys", ROW_FILTERS_MAX);
		return;
	}
	rf = &q->filters[q->n_filters++];
	rf->col = col;
	rf->pattern = pattern;
	rf->fold = false;
	rf->code = true;
	addf(b, "%s IS NOT NULL", c->key->column);
}

/* side_filter: the query has other conditions to drive it, so a per-study
 * set is checked per candidate study (EXISTS, one primary-key probe)
 * rather than listed in full (IN, which drives the query from the set's
 * index when nothing else narrows it). */
static void cond_sql(struct builder *b, const struct store_index__cond *c, bool pn_fold, bool side_filter)
{
	const struct store_index__key *k = c->key;
	bool fold = pn_fold && k->folded != NULL;
	const char *col = fold ? k->folded : k->column;

	if (k->flags & STORE_INDEX__SIDE) {
		/* Modalities / SOP Classes in Study: through the per-study set,
		 * as a study-key lookup so that its index on the value is used. */
		char table[64], column[32];

		if (sscanf(k->side, "%63s %31s", table, column) != 2) {
			b->rc = arca_error_set(ARCA_EINVAL, "query: bad side table for %s", k->keyword);
			return;
		}
		if (side_filter)
			addf(b, "EXISTS (SELECT 1 FROM %s x WHERE x.study_pk = st.pk AND ", table);
		else
			addf(b, "st.pk IN (SELECT study_pk FROM %s WHERE ", table);
		value_cond(b, c, column, false);
		add(b, ")");
		return;
	}
	if (c->kind == STORE_INDEX__RANGE && k->match == STORE_INDEX_MATCH_TIME) {
		char expr[512];

		if (b->rc == 0)
			b->rc = store_index__time_sort_expr(k->column, expr, sizeof(expr));
		if (b->rc == 0)
			range_cond(b, expr, c->lo, c->hi);
		return;
	}
	if (c->kind == STORE_INDEX__RANGE) {
		range_cond(b, col, c->lo, c->hi);
		return;
	}
	value_cond(b, c, col, fold);
}

/* PS3.4 C.2.2.2.5.1: StudyDate and StudyTime as one date-time range on
 * studies.study_dt (YYYYMMDD + HHMMSSFFFFFF). */
static void combined_cond(struct builder *b, const struct store_index__cond *date,
			  const struct store_index__cond *time)
{
	const char *dlo = date->kind == STORE_INDEX__EQUAL ? date->values[0] : date->lo;
	const char *dhi = date->kind == STORE_INDEX__EQUAL ? date->values[0] : date->hi;
	char lo[32], hi[32];

	snprintf(lo, sizeof(lo), "%s%s", dlo != NULL ? dlo : "", time->lo != NULL ? time->lo : "000000000000");
	snprintf(hi, sizeof(hi), "%s%s", dhi != NULL ? dhi : "", time->hi != NULL ? time->hi : "235959999999");
	range_cond(b, "st.study_dt", dlo != NULL ? lo : NULL, dhi != NULL ? hi : NULL);
}

static const char *const from_sql[] = {
	[STORE_INDEX_PATIENT] = "patients p",
	[STORE_INDEX_STUDY] = "studies st JOIN patients p ON p.pk = st.patient_pk",
	[STORE_INDEX_SERIES] = "series se JOIN studies st ON st.pk = se.study_pk"
			       " JOIN patients p ON p.pk = st.patient_pk",
	[STORE_INDEX_IMAGE] = "instances i JOIN series se ON se.pk = i.series_pk"
			      " JOIN studies st ON st.pk = se.study_pk JOIN patients p ON p.pk = st.patient_pk",
};

static const struct store_index__cond *find_cond(const store_index_find *f, uint32_t tag)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->conds[i].key->tag == tag)
			return &f->conds[i];
	return NULL;
}

static bool is_pn_filter(const struct store_index__cond *c)
{
	return c->key->match == STORE_INDEX_MATCH_PN &&
	       (c->kind == STORE_INDEX__EQUAL || c->kind == STORE_INDEX__WILDCARD);
}

static void build(struct builder *b, struct sqlite_query *q, const store_index_find *f, bool pn_fold)
{
	const struct store_index__cond *date = find_cond(f, PACS_TAG_StudyDate);
	const struct store_index__cond *time = find_cond(f, PACS_TAG_StudyTime);
	bool combined = f->combined_datetime && date != NULL && time != NULL &&
			date->kind != STORE_INDEX__UNIVERSAL && time->kind != STORE_INDEX__UNIVERSAL;
	const char *sep = " WHERE ";
	bool side_filter = combined;

	for (size_t i = 0; i < f->n; i++)
		if (f->conds[i].kind != STORE_INDEX__UNIVERSAL && !(f->conds[i].key->flags & STORE_INDEX__SIDE))
			side_filter = true;

	add(b, "SELECT ");
	for (size_t i = 0; i < q->base.ncols; i++)
		addf(b, "%s%s", i > 0 ? ", " : "", store_index__key_find(q->base.tags[i])->column);
	if (f->level == STORE_INDEX_IMAGE) {
		q->storage_first = (int)q->base.ncols;
		add(b, ", i.transfer_syntax, i.size, i.hash, i.manifest, i.received, i.calling_ae, i.version");
	}
	addf(b, " FROM %s", from_sql[f->level]);
	for (size_t i = 0; i < f->n; i++) {
		const struct store_index__cond *c = &f->conds[i];

		if (c->kind == STORE_INDEX__UNIVERSAL || (combined && (c == date || c == time)))
			continue;
		add(b, sep);
		if (c->key->match == STORE_INDEX_MATCH_CODE_SEQ)
			code_cond(b, q, i, c);
		else if (is_pn_filter(c))
			pn_cond(b, q, i, c, pn_fold && c->key->folded != NULL);
		else
			cond_sql(b, c, pn_fold, side_filter);
		sep = " AND ";
	}
	if (combined) {
		add(b, sep);
		combined_cond(b, date, time);
	}
	/* rows filtered in C: SQL cannot count the matches */
	if (f->limit > 0 && q->n_filters == 0) {
		/* One row past the limit tells "more would match" (ARCA_ELIMIT). */
		add(b, " LIMIT ");
		param_int(b, f->limit < INT64_MAX ? (sqlite3_int64)f->limit + 1 : INT64_MAX);
	}
}

/* ---- the cursor ---- */

static int set_columns(struct sqlite_query *q, const store_index_find *f)
{
	const struct store_index__key *unique = store_index__key_unique(f->level);
	size_t n = f->n + (find_cond(f, unique->tag) == NULL ? 1 : 0);

	q->base.tags = calloc(n, sizeof(*q->base.tags));
	q->base.values = calloc(n, sizeof(*q->base.values));
	if (q->base.tags == NULL || q->base.values == NULL)
		return arca_error_set(ARCA_ENOMEM, "query: out of memory");
	for (size_t i = 0; i < f->n; i++)
		q->base.tags[i] = f->conds[i].key->tag;
	if (n > f->n)
		q->base.tags[f->n] = unique->tag;
	q->base.ncols = n;
	return 0;
}

static int bind_all(sqlite3_stmt *st, const struct builder *b)
{
	for (size_t i = 0; i < b->nbinds; i++) {
		const struct bind *x = &b->binds[i];
		int rc = x->is_int ? sqlite3_bind_int64(st, (int)i + 1, x->number)
				   : sqlite3_bind_text(st, (int)i + 1, x->text, -1, SQLITE_TRANSIENT);

		if (rc != SQLITE_OK)
			return store_index__stmt_error(st, rc, "query bind");
	}
	return 0;
}

static void builder_free(struct builder *b)
{
	for (size_t i = 0; i < b->nbinds; i++)
		free(b->binds[i].text);
	free(b->binds);
	pacs_buf_free(&b->sql);
}

int store_index__sqlite_query_open(store_index_query **out, store_index *idx, const store_index_find *find)
{
	struct store_index__sqlite *ix = (struct store_index__sqlite *)idx;
	struct builder b = {0};
	struct sqlite_query *q = calloc(1, sizeof(*q));
	int rc;

	if (q == NULL)
		return arca_error_set(ARCA_ENOMEM, "query: out of memory");
	q->base.ops = idx->ops;
	q->base.level = find->level;
	q->base.limit = find->limit;
	q->ix = ix;
	pacs_buf_init(&b.sql, SQL_MAX);
	rc = set_columns(q, find);
	if (rc == 0) {
		build(&b, q, find, !ix->base.opts.pn_case_sensitive);
		rc = b.rc == 0 ? pacs_buf_add_u8(&b.sql, 0) : b.rc;
	}
	if (rc == ARCA_ELIMIT)
		rc = arca_error_set(ARCA_ELIMIT, "query: the request needs more than %u bytes of SQL", SQL_MAX);
	if (rc == 0)
		rc = store_index__reader_acquire(ix, &q->conn);
	if (rc == 0)
		rc = store_index__stmt(q->conn, (const char *)pacs_buf_data(&b.sql), &q->st);
	if (rc == 0)
		rc = bind_all(q->st, &b);
	builder_free(&b);
	if (rc < 0) {
		store_index__sqlite_query_free(&q->base);
		return rc;
	}
	*out = &q->base;
	return 0;
}

/* 1 when the current row passes every filter, 0 when not. */
static int row_passes(struct sqlite_query *q)
{
	for (size_t i = 0; i < q->n_filters; i++) {
		const struct row_filter *rf = &q->filters[i];
		const char *v = q->base.values[rf->col];

		if (rf->code) {
			if (!store_index__code_match(rf->pattern, v))
				return 0;
			continue;
		}
		if (rf->fold) {
			size_t n = strlen(v) + 1;

			if (n > q->fold_cap) {
				char *b = realloc(q->fold_buf, n);
				if (b == NULL)
					return arca_error_set(ARCA_ENOMEM, "query: out of memory");
				q->fold_buf = b;
				q->fold_cap = n;
			}
			store_index__pn_fold_into(v, q->fold_buf);
			v = q->fold_buf;
		}
		if (!store_index__pn_match(rf->pattern, v))
			return 0;
	}
	return 1;
}

int store_index__sqlite_query_next(store_index_query *base, bool *has_row)
{
	struct sqlite_query *q = (struct sqlite_query *)base;
	int rc;

	if (q->done)
		return 0;
	for (;;) {
		rc = sqlite3_step(q->st);
		if (rc == SQLITE_DONE) {
			q->done = true;
			sqlite3_reset(q->st); /* ends the read transaction now */
			return 0;
		}
		if (rc != SQLITE_ROW) {
			q->done = true;
			rc = store_index__stmt_error(q->st, rc, "query");
			sqlite3_reset(q->st);
			return rc;
		}
		for (size_t i = 0; i < q->base.ncols; i++) {
			const unsigned char *v = sqlite3_column_text(q->st, (int)i);

			q->base.values[i] = v != NULL ? (const char *)v : "";
		}
		if ((rc = row_passes(q)) < 0) {
			q->done = true;
			sqlite3_reset(q->st);
			return rc;
		}
		if (rc == 1)
			break;
	}
	if (q->base.limit > 0 && q->base.rows == q->base.limit) {
		q->done = true;
		sqlite3_reset(q->st);
		return arca_error_set(ARCA_ELIMIT, "query: more than %llu matches (the configured limit)",
				      (unsigned long long)q->base.limit);
	}
	q->base.rows++;
	*has_row = true;
	return 0;
}

int store_index__sqlite_query_storage(const store_index_query *base, store_index_storage *out)
{
	const struct sqlite_query *q = (const struct sqlite_query *)base;

	if (q->done || q->base.rows == 0)
		return arca_error_set(ARCA_EINVAL, "query: no current row");
	store_index__read_storage(q->st, q->storage_first, out);
	out->current = true;
	return 0;
}

void store_index__sqlite_query_free(store_index_query *base)
{
	struct sqlite_query *q = (struct sqlite_query *)base;

	if (q == NULL)
		return;
	if (q->st != NULL)
		sqlite3_reset(q->st);
	if (q->conn != NULL)
		store_index__reader_release(q->ix, q->conn);
	for (size_t i = 0; i < q->n_filters; i++)
		free(q->filters[i].pattern);
	free(q->fold_buf);
	free(q->base.tags);
	free(q->base.values);
	free(q);
}
