/* store_index_sqlite.c - the SQLite backend of the index: opening the
 * database (WAL, synchronous=FULL, foreign keys), the writer and the pool
 * of read connections, the per-connection statement cache, and the one
 * place SQLite's errors become ARCA_EDB.  Puts are in store_index_put.c,
 * queries in store_index_query.c, the schema in store_index_schema.c. */
#include "store_index_sqlite_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

/* ---- errors ---- */

int store_index__db_error(sqlite3 *db, int rc, const char *context)
{
	return arca_error_set(ARCA_EDB, "index: %s: %s (%s)", context,
			      db != NULL ? sqlite3_errmsg(db) : "no connection", sqlite3_errstr(rc));
}

int store_index__stmt_error(sqlite3_stmt *stmt, int rc, const char *what)
{
	char ctx[200];
	const char *sql = sqlite3_sql(stmt);

	snprintf(ctx, sizeof(ctx), "%s: %.120s%s", what, sql != NULL ? sql : "?",
		 sql != NULL && strlen(sql) > 120 ? "..." : "");
	return store_index__db_error(sqlite3_db_handle(stmt), rc, ctx);
}

int store_index__exec(sqlite3 *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_index__db_error(db, rc, what);
}

int store_index__bind_text(sqlite3_stmt *st, int i, const char *s)
{
	int rc = s != NULL ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);

	return rc == SQLITE_OK ? 0 : store_index__stmt_error(st, rc, "bind");
}

/* ---- statement cache ---- */

int store_index__stmt(struct store_index__conn *conn, const char *sql, sqlite3_stmt **out)
{
	struct store_index__cached *victim = &conn->cache[0];
	sqlite3_stmt *st;
	char *copy;
	int rc;

	*out = NULL;
	for (size_t i = 0; i < STORE_INDEX__CACHE_SIZE; i++) {
		struct store_index__cached *c = &conn->cache[i];

		if (c->sql != NULL && strcmp(c->sql, sql) == 0) {
			c->used = ++conn->tick;
			sqlite3_reset(c->stmt);
			sqlite3_clear_bindings(c->stmt);
			*out = c->stmt;
			return 0;
		}
		if (c->sql == NULL || c->used < victim->used)
			victim = c;
		if (c->sql == NULL)
			break;
	}
	/* PERSISTENT: these statements are kept for the connection's life. */
	rc = sqlite3_prepare_v3(conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		char ctx[200];

		snprintf(ctx, sizeof(ctx), "prepare %.150s", sql);
		return store_index__db_error(conn->db, rc, ctx);
	}
	copy = strdup(sql);
	if (copy == NULL) {
		sqlite3_finalize(st);
		return arca_error_set(ARCA_ENOMEM, "index: statement cache: out of memory");
	}
	sqlite3_finalize(victim->stmt);
	free(victim->sql);
	victim->sql = copy;
	victim->stmt = st;
	victim->used = ++conn->tick;
	*out = st;
	return 0;
}

/* ---- connections ---- */

static void conn_close(struct store_index__conn *conn)
{
	for (size_t i = 0; i < STORE_INDEX__CACHE_SIZE; i++) {
		sqlite3_finalize(conn->cache[i].stmt);
		free(conn->cache[i].sql);
	}
	memset(conn->cache, 0, sizeof(conn->cache));
	sqlite3_close(conn->db);
	conn->db = NULL;
}

static int conn_open(struct store_index__conn *conn, const char *path, unsigned busy_ms, bool writer)
{
	/* NOMUTEX: a connection is only ever used by one thread at a time
	 * (see the header), so SQLite's per-connection mutex is not needed. */
	int rc = sqlite3_open_v2(path, &conn->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	char pragmas[320];

	if (rc != SQLITE_OK) {
		char ctx[300];

		snprintf(ctx, sizeof(ctx), "open %.250s", path);
		rc = store_index__db_error(conn->db, rc, ctx);
		sqlite3_close(conn->db);
		conn->db = NULL;
		return rc;
	}
	sqlite3_extended_result_codes(conn->db, 1);
	sqlite3_busy_timeout(conn->db, (int)busy_ms);
	/* design.md 3.1 step 5: a committed put survives power loss, so the
	 * WAL is synced at every commit (synchronous=FULL).  Readers only
	 * read (query_only) and get a larger cache and memory-mapped I/O. */
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;"
		 "PRAGMA cache_size=%d; PRAGMA mmap_size=%lld; %s",
		 writer ? -32768 : -16384, writer ? 0LL : 1LL << 30,
		 writer ? "PRAGMA journal_mode=WAL;" : "PRAGMA query_only=1;");
	rc = store_index__exec(conn->db, pragmas, "connection setup");
	if (rc < 0)
		conn_close(conn);
	return rc;
}

int store_index__reader_acquire(struct store_index__sqlite *ix, struct store_index__conn **out)
{
	unsigned n = ix->base.opts.readers, i;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&ix->pool_lock);
	for (;;) {
		for (i = 0; i < n && ix->reader_busy[i]; i++)
			;
		if (i < n)
			break;
		pthread_cond_wait(&ix->pool_free, &ix->pool_lock);
	}
	ix->reader_busy[i] = true;
	pthread_mutex_unlock(&ix->pool_lock);
	/* Opened on first use, outside the pool lock: the slot is ours. */
	if (ix->readers[i].db == NULL)
		rc = conn_open(&ix->readers[i], ix->path, ix->base.opts.busy_timeout_ms, false);
	if (rc < 0) {
		pthread_mutex_lock(&ix->pool_lock);
		ix->reader_busy[i] = false;
		pthread_cond_signal(&ix->pool_free);
		pthread_mutex_unlock(&ix->pool_lock);
		return rc;
	}
	*out = &ix->readers[i];
	return 0;
}

void store_index__reader_release(struct store_index__sqlite *ix, struct store_index__conn *conn)
{
	size_t i = (size_t)(conn - ix->readers);

	pthread_mutex_lock(&ix->pool_lock);
	ix->reader_busy[i] = false;
	pthread_cond_signal(&ix->pool_free);
	pthread_mutex_unlock(&ix->pool_lock);
}

/* ---- operations ---- */

static int pending_flush_locked(struct store_index__sqlite *ix, bool full);

static void sqlite_free(store_index *idx)
{
	struct store_index__sqlite *ix = (struct store_index__sqlite *)idx;

	/* the marks whose events are durable, before the statements go (best
	 * effort: a mark left costs one redundant event at the next start) */
	(void)pending_flush_locked(ix, true);
	free(ix->done);

	for (unsigned i = 0; ix->readers != NULL && i < ix->base.opts.readers; i++)
		conn_close(&ix->readers[i]);
	for (size_t i = 0; i < STORE_INDEX__PUT_STMTS; i++)
		sqlite3_finalize(ix->put_stmts[i]);
	/* Statistics for the query planner where they are missing or stale,
	 * bounded in time (SQLite's advice for long-lived connections).  The
	 * writer closes last: the last connection to close checkpoints the
	 * WAL into the database file. */
	if (ix->writer.db != NULL)
		sqlite3_exec(ix->writer.db, "PRAGMA analysis_limit=1000; PRAGMA optimize;", NULL, NULL, NULL);
	conn_close(&ix->writer);
	pthread_mutex_destroy(&ix->write_lock);
	pthread_mutex_destroy(&ix->pool_lock);
	pthread_cond_destroy(&ix->pool_free);
	free(ix->readers);
	free(ix->reader_busy);
	free(ix->path);
	free(ix);
}

static int sqlite_schema_version(store_index *idx, int *out)
{
	struct store_index__sqlite *ix = (struct store_index__sqlite *)idx;
	struct store_index__conn *conn;
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	rc = store_index__reader_acquire(ix, &conn);
	if (rc < 0)
		return rc;
	rc = store_index__stmt(conn, "PRAGMA user_version", &st);
	if (rc == 0) {
		int step = sqlite3_step(st);

		if (step == SQLITE_ROW)
			*out = sqlite3_column_int(st, 0);
		else
			rc = store_index__stmt_error(st, step, "schema version");
		sqlite3_reset(st);
	}
	store_index__reader_release(ix, conn);
	return rc;
}

void store_index__read_storage(sqlite3_stmt *st, int first, store_index_storage *out)
{
	const unsigned char *ts = sqlite3_column_text(st, first);
	const unsigned char *ae = sqlite3_column_text(st, first + 5);
	const void *hash = sqlite3_column_blob(st, first + 2);
	const void *manifest = sqlite3_column_blob(st, first + 3);

	snprintf(out->transfer_syntax, sizeof(out->transfer_syntax), "%s", ts != NULL ? (const char *)ts : "");
	out->size = (uint64_t)sqlite3_column_int64(st, first + 1);
	if (hash != NULL && sqlite3_column_bytes(st, first + 2) == STORE_INDEX_HASH_LEN)
		memcpy(out->instance_hash, hash, STORE_INDEX_HASH_LEN);
	if (manifest != NULL && sqlite3_column_bytes(st, first + 3) == STORE_INDEX_HASH_LEN)
		memcpy(out->manifest, manifest, STORE_INDEX_HASH_LEN);
	out->received = sqlite3_column_int64(st, first + 4);
	snprintf(out->calling_ae, sizeof(out->calling_ae), "%s", ae != NULL ? (const char *)ae : "");
	out->version = (unsigned)sqlite3_column_int(st, first + 6);
}

int store_index__sqlite_get(store_index *idx, const char *sop_uid, unsigned version,
			    store_index_storage *out)
{
	/* The current version lives in instances, the others in
	 * instance_versions (store_index_schema.c). */
	static const char sql[] =
		"SELECT transfer_syntax, size, hash, manifest, received, calling_ae, version, 1"
		" FROM instances WHERE sop_uid = ?1 AND (?2 = 0 OR version = ?2)"
		" UNION ALL "
		"SELECT v.transfer_syntax, v.size, v.hash, v.manifest, v.received, v.calling_ae, v.version, 0"
		" FROM instance_versions v JOIN instances i ON i.pk = v.instance_pk"
		" WHERE i.sop_uid = ?1 AND ?2 <> 0 AND v.version = ?2";
	struct store_index__sqlite *ix = (struct store_index__sqlite *)idx;
	struct store_index__conn *conn;
	sqlite3_stmt *st;
	int rc, step;

	rc = store_index__reader_acquire(ix, &conn);
	if (rc < 0)
		return rc;
	rc = store_index__stmt(conn, sql, &st);
	if (rc == 0)
		rc = store_index__bind_text(st, 1, sop_uid);
	if (rc == 0 && (step = sqlite3_bind_int64(st, 2, version)) != SQLITE_OK)
		rc = store_index__stmt_error(st, step, "index get");
	if (rc == 0) {
		step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			store_index__read_storage(st, 0, out);
			out->current = sqlite3_column_int(st, 7) != 0;
		} else if (step == SQLITE_DONE) {
			rc = version == 0
				     ? arca_error_set(ARCA_ENOTFOUND, "index: no instance %.64s", sop_uid)
				     : arca_error_set(ARCA_ENOTFOUND, "index: instance %.64s has no version %u",
						      sop_uid, version);
		} else {
			rc = store_index__stmt_error(st, step, "index get");
		}
		sqlite3_reset(st);
	}
	store_index__reader_release(ix, conn);
	return rc;
}

/* ---- the chain outbox (store_index.h) ---- */

/* The outbox is SQLite's for now, reached below the backend-neutral
 * operations as store_quality.c does. */
static struct store_index__sqlite *outbox_of(store_index *idx)
{
	return strcmp(idx->ops->name, "sqlite") == 0 ? (struct store_index__sqlite *)idx : NULL;
}

void store_index_pending_track(store_index *idx, bool on)
{
	struct store_index__sqlite *ix = outbox_of(idx);

	if (ix == NULL)
		return;
	pthread_mutex_lock(&ix->write_lock);
	ix->track_pending = on;
	pthread_mutex_unlock(&ix->write_lock);
}

/* Runs a read-only statement on a reader; fn reads each row; what names
 * it in errors. */
static int reader_walk(store_index *idx, const char *what, const char *sql, const char *bind,
		       int (*fn)(sqlite3_stmt *st, void *ctx), void *ctx)
{
	struct store_index__sqlite *ix = outbox_of(idx);
	struct store_index__conn *conn;
	sqlite3_stmt *st = NULL;
	int rc, step = SQLITE_DONE;

	if (ix == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s: index backend %s", what, idx->ops->name);
	if ((rc = store_index__reader_acquire(ix, &conn)) < 0)
		return rc;
	rc = store_index__stmt(conn, sql, &st);
	if (rc == 0 && bind != NULL)
		rc = store_index__bind_text(st, 1, bind);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(st, ctx);
	if (rc == 0 && step != SQLITE_DONE)
		rc = store_index__stmt_error(st, step, what);
	if (st != NULL)
		sqlite3_reset(st);
	store_index__reader_release(ix, conn);
	return rc;
}

static int read_int(sqlite3_stmt *st, void *ctx)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 0;
}

int store_index_pending_gen(store_index *idx, const char *study_uid, int64_t *gen)
{
	*gen = 0;
	return reader_walk(idx, "chain outbox", "SELECT gen FROM chain_pending WHERE study_uid = ?1", study_uid, read_int, gen);
}

int store_index_pending_count(store_index *idx, uint64_t *n)
{
	int64_t v = 0;
	int rc = reader_walk(idx, "chain outbox", "SELECT count(*) FROM chain_pending", NULL, read_int, &v);

	*n = rc == 0 && v > 0 ? (uint64_t)v : 0;
	return rc;
}

int store_index_change_mark(store_index *idx, uint64_t *mark)
{
	struct store_index__sqlite *ix = outbox_of(idx);
	sqlite3_stmt *st = NULL;
	int rc, step;

	*mark = 0;
	if (ix == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "index change mark: index backend %s", idx->ops->name);
	/* data_version on the writer's connection moves when any OTHER
	 * connection commits (sqlite.org/pragma.html#pragma_data_version) */
	pthread_mutex_lock(&ix->write_lock);
	rc = store_index__stmt(&ix->writer, "PRAGMA data_version", &st);
	if (rc == 0) {
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			*mark = (uint64_t)sqlite3_column_int64(st, 0);
		else
			rc = store_index__stmt_error(st, step, "index change mark");
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&ix->write_lock);
	return rc;
}

typedef struct leaf_walk {
	store_index_leaf_fn fn;
	void *ctx;
	const char *study_uid;
} leaf_walk;

static int read_leaf(sqlite3_stmt *st, void *ctx)
{
	leaf_walk *w = ctx;
	const unsigned char *uid = sqlite3_column_text(st, 0);
	const void *hash = sqlite3_column_blob(st, 1);

	if (uid == NULL || hash == NULL || sqlite3_column_bytes(st, 1) != 32)
		return arca_error_set(ARCA_EPROTO, "study %s: an instance row without SOP Instance UID or with a "
				      "hash of %d bytes", w->study_uid, sqlite3_column_bytes(st, 1));
	return w->fn(w->ctx, (const char *)uid, hash);
}

int store_index_study_leaves(store_index *idx, const char *study_uid, store_index_leaf_fn fn, void *ctx)
{
	leaf_walk w = { fn, ctx, study_uid };

	/* BINARY collation orders as strcmp, the order of the study hash */
	return reader_walk(idx, "the instances of a study",
			   "SELECT i.sop_uid, i.hash FROM studies t JOIN series s ON s.study_pk = t.pk"
			   " JOIN instances i ON i.series_pk = s.pk WHERE t.study_uid = ?1"
			   " ORDER BY i.sop_uid COLLATE BINARY",
			   study_uid, read_leaf, &w);
}

typedef struct pending_rows {
	store_index_pending *v;
	size_t n, cap;
} pending_rows;

static int read_pending(sqlite3_stmt *st, void *ctx)
{
	pending_rows *r = ctx;
	const unsigned char *uid = sqlite3_column_text(st, 0);

	if (uid == NULL || strlen((const char *)uid) > STORE_INDEX_UID_MAX)
		return arca_error_set(ARCA_EPROTO, "chain outbox: a study UID of %zu bytes (at most %d)",
				      uid != NULL ? strlen((const char *)uid) : 0, STORE_INDEX_UID_MAX);
	if (r->n == r->cap) {
		size_t cap = r->cap != 0 ? 2 * r->cap : 32;
		store_index_pending *g = realloc(r->v, cap * sizeof(*g));

		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "chain outbox: out of memory");
		r->v = g;
		r->cap = cap;
	}
	snprintf(r->v[r->n].study_uid, sizeof(r->v[r->n].study_uid), "%s", (const char *)uid);
	r->v[r->n].gen = sqlite3_column_int64(st, 1);
	r->n++;
	return 0;
}

int store_index_pending_list(store_index *idx, store_index_pending **out, size_t *n)
{
	pending_rows r = {NULL, 0, 0};
	int rc = reader_walk(idx, "chain outbox", "SELECT study_uid, gen FROM chain_pending ORDER BY study_uid", NULL, read_pending, &r);

	*out = NULL;
	*n = 0;
	if (rc < 0) {
		free(r.v);
		return rc;
	}
	*out = r.v;
	*n = r.n;
	return 0;
}

int store_index_pending_done(store_index *idx, const char *study_uid, int64_t gen)
{
	struct store_index__sqlite *ix = outbox_of(idx);
	int rc = 0;

	if (ix == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "chain outbox: index backend %s", idx->ops->name);
	if (study_uid == NULL || strlen(study_uid) > STORE_INDEX_UID_MAX)
		return arca_error_set(ARCA_EINVAL, "chain outbox: no study UID, or longer than %d", STORE_INDEX_UID_MAX);
	if (gen <= 0)
		return 0; /* no mark was read: nothing to clear */
	pthread_mutex_lock(&ix->write_lock);
	if (ix->n_done == ix->cap_done) {
		size_t cap = ix->cap_done != 0 ? 2 * ix->cap_done : 16;
		struct store_index__done *g = realloc(ix->done, cap * sizeof(*g));

		if (g == NULL)
			rc = arca_error_set(ARCA_ENOMEM, "chain outbox: out of memory");
		else {
			ix->done = g;
			ix->cap_done = cap;
		}
	}
	if (rc == 0) {
		snprintf(ix->done[ix->n_done].study_uid, sizeof(ix->done[ix->n_done].study_uid), "%s", study_uid);
		ix->done[ix->n_done].gen = gen;
		ix->n_done++;
	}
	pthread_mutex_unlock(&ix->write_lock);
	return rc;
}

/* Under write_lock: the queued deletes in their own transaction; full
 * says whether it is synced (at close) or left to the next commit. */
static int pending_flush_locked(struct store_index__sqlite *ix, bool full)
{
	sqlite3 *db = ix->writer.db;
	int rc;

	if (ix->n_done == 0 || db == NULL)
		return 0;
	rc = full ? 0 : store_index__exec(db, "PRAGMA synchronous=NORMAL", "chain outbox: synchronous");
	if (rc == 0)
		rc = store_index__exec(db, "BEGIN IMMEDIATE", "chain outbox: begin");
	if (rc == 0)
		rc = store_index__pending_flush_locked(ix);
	if (rc == 0)
		rc = store_index__exec(db, "COMMIT", "chain outbox: commit");
	if (rc < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	ix->n_done = 0;
	/* the instance puts on this connection stay FULL whatever happened */
	if (!full && sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK && rc == 0)
		rc = store_index__db_error(db, SQLITE_ERROR, "chain outbox: synchronous=FULL");
	return rc;
}

int store_index_pending_flush(store_index *idx)
{
	struct store_index__sqlite *ix = outbox_of(idx);
	int rc;

	if (ix == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "chain outbox: index backend %s", idx->ops->name);
	pthread_mutex_lock(&ix->write_lock);
	rc = pending_flush_locked(ix, false);
	pthread_mutex_unlock(&ix->write_lock);
	return rc;
}

static const struct store_index_ops sqlite_ops = {
	.name = "sqlite",
	.free = sqlite_free,
	.schema_version = sqlite_schema_version,
	.put = store_index__sqlite_put,
	.get = store_index__sqlite_get,
	.query_open = store_index__sqlite_query_open,
	.query_next = store_index__sqlite_query_next,
	.query_storage = store_index__sqlite_query_storage,
	.query_free = store_index__sqlite_query_free,
};

int store_index__sqlite_open(store_index **out, const char *path, const store_index_options *opts)
{
	struct store_index__sqlite *ix;
	int rc;

	*out = NULL;
	if (sqlite3_threadsafe() == 0)
		return arca_error_set(ARCA_EUNSUPPORTED,
				      "index: this SQLite was built without thread support (SQLITE_THREADSAFE=0)");
	ix = calloc(1, sizeof(*ix));
	if (ix == NULL)
		return arca_error_set(ARCA_ENOMEM, "index: out of memory");
	ix->base.ops = &sqlite_ops;
	ix->base.opts = *opts;
	ix->path = strdup(path);
	ix->readers = calloc(opts->readers, sizeof(*ix->readers));
	ix->reader_busy = calloc(opts->readers, sizeof(*ix->reader_busy));
	pthread_mutex_init(&ix->write_lock, NULL);
	pthread_mutex_init(&ix->pool_lock, NULL);
	pthread_cond_init(&ix->pool_free, NULL);
	if (ix->path == NULL || ix->readers == NULL || ix->reader_busy == NULL) {
		sqlite_free(&ix->base);
		return arca_error_set(ARCA_ENOMEM, "index: out of memory");
	}
	rc = conn_open(&ix->writer, path, opts->busy_timeout_ms, true);
	if (rc == 0)
		rc = store_index__schema_apply(ix->writer.db);
	if (rc < 0) {
		arca_error_prefix(rc, "index %.200s", path);
		sqlite_free(&ix->base);
		return rc;
	}
	*out = &ix->base;
	return 0;
}
