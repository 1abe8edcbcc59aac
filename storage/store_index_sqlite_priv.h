/* store_index_sqlite_priv.h - the SQLite backend's internals, shared by
 * store_index_sqlite.c (connections, statement cache, errors),
 * store_index_schema.c, store_index_put.c and store_index_query.c.
 *
 * Connections: one writer (puts, behind write_lock) and a pool of readers
 * (queries and gets), each opened with SQLITE_OPEN_NOMUTEX because arca
 * guarantees that one connection is used by one thread at a time: the
 * writer under write_lock, a reader while a thread holds it from the pool. */
#ifndef STORE_INDEX_SQLITE_PRIV_H
#define STORE_INDEX_SQLITE_PRIV_H

#include <pthread.h>
#include <sqlite3.h>

#include "store_index_priv.h"

/* Current schema version (PRAGMA user_version); see store_index_schema.c. */
#define STORE_INDEX__SCHEMA_VERSION 4

/* Prepared statements kept per connection, least recently used evicted. */
#define STORE_INDEX__CACHE_SIZE 48

struct store_index__cached {
	char *sql;
	sqlite3_stmt *stmt;
	uint64_t used;
};

struct store_index__conn {
	sqlite3 *db;
	struct store_index__cached cache[STORE_INDEX__CACHE_SIZE];
	uint64_t tick;
};

/* Statements of the insert path, prepared once on the writer (store_index_put.c). */
#define STORE_INDEX__PUT_STMTS 40

/* A study whose store event is durable: its chain_pending row goes in the
 * next write transaction (store_index_pending_done). */
struct store_index__done {
	char study_uid[STORE_INDEX_UID_MAX + 1];
	int64_t gen;
};

struct store_index__sqlite {
	struct store_index base; /* first member: the generic object */
	char *path;
	pthread_mutex_t write_lock;
	/* the chain outbox (under write_lock): puts mark studies when on;
	 * done rows wait for the next write transaction */
	bool track_pending;
	struct store_index__done *done;
	size_t n_done, cap_done;
	struct store_index__conn writer;
	sqlite3_stmt *put_stmts[STORE_INDEX__PUT_STMTS];
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_free;
	struct store_index__conn *readers; /* base.opts.readers, opened on first use */
	bool *reader_busy;
};

/* The one place SQLite result codes become arca errors: ARCA_EDB with
 * what was being done and SQLite's message ("index put: UPDATE ...: disk
 * I/O error").  Returns ARCA_EDB. */
int store_index__db_error(sqlite3 *db, int rc, const char *context);
/* As above with the statement's SQL (shortened) as the context. */
int store_index__stmt_error(sqlite3_stmt *stmt, int rc, const char *what);

/* Runs SQL without results (DDL, pragmas, BEGIN/COMMIT). */
int store_index__exec(sqlite3 *db, const char *sql, const char *what);

/* A prepared statement for sql from conn's cache (prepared on a miss),
 * reset and with its bindings cleared.  Borrowed: valid until the
 * connection runs STORE_INDEX__CACHE_SIZE other distinct statements. */
int store_index__stmt(struct store_index__conn *conn, const char *sql, sqlite3_stmt **out);

/* Binds UTF-8 text, or NULL when s is NULL. */
int store_index__bind_text(sqlite3_stmt *st, int i, const char *s);

/* A reader from the pool (waits while all are busy); release gives it back. */
int store_index__reader_acquire(struct store_index__sqlite *ix, struct store_index__conn **out);
void store_index__reader_release(struct store_index__sqlite *ix, struct store_index__conn *conn);

/* Writer, inside a transaction, under write_lock: deletes the chain_pending
 * rows store_index_pending_done queued (those whose gen did not change
 * since) and empties the queue. */
int store_index__pending_flush_locked(struct store_index__sqlite *ix);

/* Creates or migrates the schema on the writer connection. */
int store_index__schema_apply(sqlite3 *db);

/* The SQL expression that makes TM column col comparable with the 12-digit
 * bounds of store_index__time_bound ("HHMMSSFFFFFF"), written into out. */
int store_index__time_sort_expr(const char *col, char *out, size_t size);

/* Operations (store_index_put.c, store_index_query.c). */
int store_index__sqlite_put(store_index *idx, const store_index_instance *const *batch, size_t n,
			    store_index_put_result *results);
int store_index__sqlite_get(store_index *idx, const char *sop_uid, unsigned version,
			    store_index_storage *out);
int store_index__sqlite_query_open(store_index_query **out, store_index *idx, const store_index_find *find);
int store_index__sqlite_query_next(store_index_query *q, bool *has_row);
int store_index__sqlite_query_storage(const store_index_query *q, store_index_storage *out);
void store_index__sqlite_query_free(store_index_query *q);

/* Storage columns read back (get, IMAGE-level queries), starting at column
 * first of st: transfer_syntax, size, hash, manifest, received, calling_ae,
 * version. */
void store_index__read_storage(sqlite3_stmt *st, int first, store_index_storage *out);

#endif
