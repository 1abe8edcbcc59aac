/* store_verify.c - the verify walk (store_verify.h): the index study by
 * study, each row's manifest and rebuilt instance on a few worker threads,
 * each study's hash once its last row is done, then the chunk store for
 * what nothing references.
 *
 * Threads.  The calling thread reads a study's rows (one statement, one
 * snapshot) and queues one job per row; workers take jobs, rebuild, and
 * the one that finishes a study's last row hands the study to the
 * caller's callback.  Every callback, the progress and the shared counts
 * go under one mutex (report_mu); a rebuild itself shares nothing but the
 * store, which is thread safe.  Each worker keeps its own set of the
 * addresses it met, merged once at the end for the walk of the store. */
#include "store_verify.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "store_instance.h"
#include "store_manifest.h"
#include "store_verify_priv.h"

#define QUEUE_CAP 256
#define MAX_THREADS 8
#define PROGRESS_EVERY_S 0.1

struct store_verify_study {
	char *uid;                 /* NULL: the rows no study reaches */
	store_verify__row *rows;
	size_t n;
	uint8_t (*computed)[STORE_CAS_HASH_LEN]; /* per row: the rebuilt instance hash */
	bool *intact;              /* per row */
	size_t pending;            /* rows not done yet (under report_mu) */
	size_t n_current, damaged_current, damaged_rows;
};

typedef struct job {
	struct store_verify_study *study;
	size_t row;
} job;

typedef struct verifier verifier;

typedef struct worker {
	verifier *v;
	pthread_t thread;
	bool started;
	store_verify__set seen;    /* addresses met: manifests and chunks */
	uint64_t chunks_read, chunk_bytes, instance_bytes;
	int error;                 /* a failure that stops the walk (no memory) */
	char error_msg[256];
} worker;

struct verifier {
	store_cas *cas;
	const store_verify_options *opts;
	store_verify_stats *stats;

	pthread_mutex_t mu;        /* the queue */
	pthread_cond_t not_empty, not_full, idle;
	job queue[QUEUE_CAP];
	size_t head, count, busy;
	bool done;

	pthread_mutex_t report_mu; /* callbacks, stats, progress */
	store_verify_progress progress;
	double last_progress;
	double t0;                 /* for max_rate */

	worker workers[MAX_THREADS];
	unsigned n_workers;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void store_verify_options_init(store_verify_options *opts)
{
	memset(opts, 0, sizeof(*opts));
}

const char *store_verify_what_name(store_verify_what what)
{
	switch (what) {
	case STORE_VERIFY_CHUNK_DAMAGED: return "chunk damaged";
	case STORE_VERIFY_CHUNK_MISSING: return "chunk missing";
	case STORE_VERIFY_MANIFEST_DAMAGED: return "manifest damaged";
	case STORE_VERIFY_MANIFEST_MISSING: return "manifest missing";
	case STORE_VERIFY_MANIFEST_MISMATCH: return "manifest disagrees with the index";
	case STORE_VERIFY_INSTANCE_MISMATCH: return "instance hash mismatch";
	case STORE_VERIFY_INDEX_ROW: return "index row";
	case STORE_VERIFY_INDEX: return "index";
	case STORE_VERIFY_UNREFERENCED_DAMAGED: return "unreferenced chunk damaged";
	case STORE_VERIFY_STRAY: return "stray file";
	}
	return "fault";
}

/* ------------------------------------------------------------ reporting */

/* Caller holds report_mu. */
static void progress_locked(verifier *v, bool force)
{
	double t;

	if (v->opts->on_progress == NULL)
		return;
	t = now_s();
	if (!force && t - v->last_progress < PROGRESS_EVERY_S)
		return;
	v->last_progress = t;
	v->opts->on_progress(v->opts->ctx, &v->progress);
}

static void fault_locked(verifier *v, const store_verify_fault *f)
{
	if (f->what == STORE_VERIFY_INDEX || f->what == STORE_VERIFY_INDEX_ROW)
		v->stats->index_faults++;
	if (v->opts->on_fault != NULL)
		v->opts->on_fault(v->opts->ctx, f);
}

static void row_fault(verifier *v, const store_verify__row *r, store_verify_what what,
		      const uint8_t *chunk, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void row_fault(verifier *v, const store_verify__row *r, store_verify_what what,
		      const uint8_t *chunk, const char *fmt, ...)
{
	store_verify_fault f;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&f, 0, sizeof(f));
	f.what = what;
	f.study = r->study;
	f.series = r->series;
	f.sop = r->sop;
	f.version = r->version;
	f.current = r->current;
	if (chunk != NULL) {
		f.has_chunk = true;
		memcpy(f.chunk, chunk, STORE_CAS_HASH_LEN);
	}
	f.message = msg;
	pthread_mutex_lock(&v->report_mu);
	fault_locked(v, &f);
	pthread_mutex_unlock(&v->report_mu);
}

static void store_fault(verifier *v, store_verify_what what, const uint8_t *chunk, const char *path,
			const char *message)
{
	store_verify_fault f;

	memset(&f, 0, sizeof(f));
	f.what = what;
	if (chunk != NULL) {
		f.has_chunk = true;
		memcpy(f.chunk, chunk, STORE_CAS_HASH_LEN);
	}
	f.path = path;
	f.message = message;
	pthread_mutex_lock(&v->report_mu);
	fault_locked(v, &f);
	pthread_mutex_unlock(&v->report_mu);
}

static void index_message(void *ctx, const char *message)
{
	store_fault(ctx, STORE_VERIFY_INDEX, NULL, NULL, message);
}

/* ------------------------------------------------------------ one row */

typedef struct chunk_ctx {
	worker *w;
	bool failed;
	int code;
	uint8_t hash[STORE_CAS_HASH_LEN];
} chunk_ctx;

/* store_instance_chunk_fn: every chunk read through store_cas_get, which
 * checks the file's CRC, the GCM tag when sealed, the zstd frame and the
 * SHA-256 of the plain bytes against the address. */
static int chunk_from_store(void *ctx, const uint8_t hash[STORE_CAS_HASH_LEN], uint32_t len, pacs_write_ctx *w)
{
	chunk_ctx *c = ctx;
	uint8_t *data = NULL;
	size_t got = 0;
	char hex[STORE_CAS_HEX_LEN + 1];
	int rc;

	rc = store_cas_get(c->w->v->cas, hash, &data, &got);
	if (rc == 0 && got != len) {
		store_cas_hash_to_hex(hash, hex);
		rc = arca_error_set(ARCA_EPROTO, "chunk %s holds %zu bytes, the manifest says %u", hex, got, len);
	}
	if (rc < 0) {
		free(data);
		c->failed = true;
		c->code = rc;
		memcpy(c->hash, hash, STORE_CAS_HASH_LEN);
		return rc;
	}
	c->w->chunks_read++;
	c->w->chunk_bytes += got;
	rc = pacs_write_bytes(w, data, got);
	free(data);
	return rc;
}

/* After a failed rebuild: each chunk of the manifest on its own, so that
 * every damaged or missing one is named, not only the first. */
static void name_bad_chunks(verifier *v, const store_verify__row *r, const store_manifest *m)
{
	uint8_t (*list)[STORE_CAS_HASH_LEN] = NULL;
	char hex[STORE_CAS_HEX_LEN + 1];
	size_t n = 0;

	if (store_manifest_chunks(m, &list, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int rc = store_cas_verify(v->cas, list[i]);
		store_cas_hash_to_hex(list[i], hex);
		if (rc == ARCA_ENOTFOUND)
			row_fault(v, r, STORE_VERIFY_CHUNK_MISSING, list[i], "chunk %s is missing", hex);
		else if (rc == ARCA_ECRYPTO || rc == ARCA_EPROTO)
			row_fault(v, r, STORE_VERIFY_CHUNK_DAMAGED, list[i], "chunk %s content mismatch: %s", hex,
				  arca_error_last());
		else if (rc < 0) /* EIO (permissions, the medium), ENOMEM */
			row_fault(v, r, STORE_VERIFY_CHUNK_DAMAGED, list[i], "chunk %s cannot be read: %s", hex,
				  arca_error_last());
	}
	free(list);
}

static int remember_chunks(worker *w, const store_manifest *m)
{
	uint8_t (*list)[STORE_CAS_HASH_LEN] = NULL;
	size_t n = 0;
	int rc = store_manifest_chunks(m, &list, &n);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = store_verify__set_add(&w->seen, list[i]);
	free(list);
	return rc;
}

#define TAG_SERIES_UID 0x0020000Eu /* PS3.6: Series Instance UID */

/* The row's series is the one its data set names.  (Not the study: the
 * index keeps a series under the study it was first indexed under, so an
 * instance whose data set puts a known series in another study - a
 * sender's error, PS3.3 C.7.3.1 - is filed there on purpose.) */
static bool series_matches(verifier *v, const store_verify__row *r, const pacs_ds *ds, const char *hex)
{
	char uid[STORE_MANIFEST_UID_MAX + 2] = "";

	if (r->series == NULL)
		return true; /* a dangling row, named as such */
	if (pacs_ds_get_string(ds, TAG_SERIES_UID, 0, uid, sizeof(uid)) == 0 && strcmp(uid, r->series) == 0)
		return true;
	row_fault(v, r, STORE_VERIFY_MANIFEST_MISMATCH, r->manifest,
		  "manifest %s: the data set's Series Instance UID is %s, the index files it under %s", hex,
		  uid[0] != '\0' ? uid : "(none)", r->series);
	return false;
}

/* Verifies one row; true when it is intact.  A negative *fatal stops the
 * walk (no memory for the address set). */
static bool verify_row(worker *w, const store_verify__row *r, uint8_t computed[STORE_CAS_HASH_LEN], int *fatal)
{
	verifier *v = w->v;
	store_manifest *m = NULL;
	pacs_ds *ds = NULL;
	chunk_ctx cc;
	char hex[STORE_CAS_HEX_LEN + 1], want[STORE_CAS_HEX_LEN + 1];
	uint64_t len = 0;
	bool intact = true;
	int rc;

	if (!r->manifest_ok || !r->hash_ok) {
		row_fault(v, r, STORE_VERIFY_INDEX_ROW, NULL, "the index row's %s is not a 32-byte SHA-256",
			  !r->manifest_ok ? "manifest address" : "instance hash");
		if (!r->manifest_ok)
			return false;
		intact = false;
	}
	if ((*fatal = store_verify__set_add(&w->seen, r->manifest)) < 0)
		return false;
	store_cas_hash_to_hex(r->manifest, hex);
	rc = store_instance_manifest(v->cas, r->manifest, &m);
	if (rc == ARCA_ENOTFOUND) {
		row_fault(v, r, STORE_VERIFY_MANIFEST_MISSING, r->manifest, "manifest %s is missing", hex);
		return false;
	}
	if (rc < 0) {
		row_fault(v, r, STORE_VERIFY_MANIFEST_DAMAGED, r->manifest, "manifest %s: %s", hex, arca_error_last());
		return false;
	}
	if ((*fatal = remember_chunks(w, m)) < 0)
		goto out;
	/* The manifest must describe the instance the row names. */
	if (r->sop == NULL || strcmp(m->sop_instance, r->sop) != 0) {
		row_fault(v, r, STORE_VERIFY_MANIFEST_MISMATCH, r->manifest, "manifest %s is of SOP Instance UID %s",
			  hex, m->sop_instance);
		intact = false;
	}
	if (r->hash_ok && memcmp(m->instance_hash, r->hash, STORE_CAS_HASH_LEN) != 0) {
		store_cas_hash_to_hex(m->instance_hash, want);
		row_fault(v, r, STORE_VERIFY_MANIFEST_MISMATCH, r->manifest,
			  "manifest %s holds instance hash %s, not the index row's", hex, want);
		intact = false;
	}
	if (m->instance_length != r->size || strcmp(m->transfer_syntax, r->ts) != 0) {
		row_fault(v, r, STORE_VERIFY_MANIFEST_MISMATCH, r->manifest,
			  "manifest %s: %llu bytes in %s, the index row says %llu bytes in %s", hex,
			  (unsigned long long)m->instance_length, m->transfer_syntax, (unsigned long long)r->size, r->ts);
		intact = false;
	}
	/* The rebuild retrieval does, with every chunk re-hashed. */
	if ((rc = store_instance_dataset(&ds, m)) < 0) {
		row_fault(v, r, STORE_VERIFY_MANIFEST_DAMAGED, r->manifest, "manifest %s: %s", hex, arca_error_last());
		intact = false;
		goto out;
	}
	/* The current row must sit under the series its data set names (a
	 * kept version may predate a move to another series). */
	if (r->current && !series_matches(v, r, ds, hex))
		intact = false;
	memset(&cc, 0, sizeof(cc));
	cc.w = w;
	rc = store_instance_write_ds(ds, m, chunk_from_store, &cc, NULL, NULL, computed, &len);
	if (rc < 0 && cc.failed) {
		name_bad_chunks(v, r, m);
		intact = false;
		goto out;
	}
	if (rc < 0) {
		row_fault(v, r, STORE_VERIFY_INSTANCE_MISMATCH, r->manifest, "cannot rebuild from manifest %s: %s", hex,
			  arca_error_last());
		intact = false;
		goto out;
	}
	w->instance_bytes += len;
	if (len != m->instance_length || memcmp(computed, m->instance_hash, STORE_CAS_HASH_LEN) != 0) {
		store_cas_hash_to_hex(computed, want);
		row_fault(v, r, STORE_VERIFY_INSTANCE_MISMATCH, r->manifest,
			  "rebuilt from manifest %s as %llu bytes with SHA-256 %s, not the instance hash it records",
			  hex, (unsigned long long)len, want);
		intact = false;
	}
out:
	pacs_ds_free(ds);
	store_manifest_free(m);
	return intact;
}

/* ------------------------------------------------------------ studies */

static void study_free(struct store_verify_study *s)
{
	if (s == NULL)
		return;
	store_verify__rows_free(s->rows, s->n);
	free(s->computed);
	free(s->intact);
	free(s->uid);
	free(s);
}

static struct store_verify_study *study_new(char *uid, store_verify__row *rows, size_t n)
{
	struct store_verify_study *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->uid = uid;
	s->rows = rows;
	s->n = n;
	s->pending = n;
	s->computed = calloc(n != 0 ? n : 1, sizeof(*s->computed));
	s->intact = calloc(n != 0 ? n : 1, sizeof(*s->intact));
	for (size_t i = 0; i < n; i++)
		s->n_current += rows[i].current;
	if (s->computed == NULL || s->intact == NULL) {
		s->uid = NULL;
		s->rows = NULL;
		s->n = 0;
		study_free(s);
		return NULL;
	}
	return s;
}

/* Caller holds report_mu: the study's last row is done. */
static void study_done_locked(verifier *v, struct store_verify_study *s)
{
	if (s->uid != NULL) {
		v->stats->studies++;
		if (s->damaged_rows > 0)
			v->stats->damaged_studies++;
		if (v->opts->on_study != NULL)
			v->opts->on_study(v->opts->ctx, s);
	}
	study_free(s);
}

/* max_rate: how long to wait so that the bytes done so far were not done
 * faster than the rate.  Caller holds report_mu. */
static double throttle_locked(const verifier *v)
{
	double due;

	if (v->opts->max_rate == 0)
		return 0;
	due = (double)v->progress.bytes_done / (double)v->opts->max_rate;
	return due - (now_s() - v->t0);
}

static void row_done(worker *w, struct store_verify_study *s, size_t i, bool intact)
{
	verifier *v = w->v;
	const store_verify__row *r = &s->rows[i];
	double wait;

	pthread_mutex_lock(&v->report_mu);
	s->intact[i] = intact;
	if (!intact) {
		s->damaged_rows++;
		v->stats->damaged_instances++;
		if (r->current)
			s->damaged_current++;
	}
	if (r->current)
		v->stats->instances++;
	else
		v->stats->versions++;
	v->progress.rows_done++;
	v->progress.bytes_done += r->size;
	progress_locked(v, false);
	if (--s->pending == 0)
		study_done_locked(v, s);
	wait = throttle_locked(v);
	pthread_mutex_unlock(&v->report_mu);
	if (wait > 0) {
		struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

const char *store_verify_study_uid(const store_verify_study *s)
{
	return s->uid;
}

size_t store_verify_study_instances(const store_verify_study *s)
{
	return s->n_current;
}

size_t store_verify_study_damaged(const store_verify_study *s)
{
	return s->damaged_current;
}

int store_verify_study_hash_first(const store_verify_study *s, size_t k, uint8_t out[STORE_CAS_HASH_LEN])
{
	store_instance_ref *refs;
	size_t n = 0;
	int rc;

	if (k > s->n_current)
		return arca_error_set(ARCA_EINVAL, "study %s has %zu instances, not %zu", s->uid, s->n_current, k);
	refs = calloc(k != 0 ? k : 1, sizeof(*refs));
	if (refs == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the study hash of %s", s->uid);
	/* rows are in the order the index received the instances */
	for (size_t i = 0; i < s->n && n < k; i++) {
		if (!s->rows[i].current)
			continue;
		if (!s->intact[i]) {
			free(refs);
			return arca_error_set(ARCA_ECRYPTO, "instance %s of study %s cannot be rebuilt intact",
					      s->rows[i].sop != NULL ? s->rows[i].sop : "?", s->uid);
		}
		refs[n].sop_instance_uid = s->rows[i].sop;
		memcpy(refs[n].hash, s->computed[i], STORE_CAS_HASH_LEN);
		n++;
	}
	rc = store_instance_study_hash(refs, n, out);
	free(refs);
	return rc;
}

int store_verify_study_hash(const store_verify_study *s, uint8_t out[STORE_CAS_HASH_LEN])
{
	return store_verify_study_hash_first(s, s->n_current, out);
}

/* ------------------------------------------------------------ the pool */

static void *worker_main(void *arg)
{
	worker *w = arg;
	verifier *v = w->v;

	for (;;) {
		job j;
		bool intact;
		int fatal = 0;

		pthread_mutex_lock(&v->mu);
		while (v->count == 0 && !v->done)
			pthread_cond_wait(&v->not_empty, &v->mu);
		if (v->count == 0) {
			pthread_mutex_unlock(&v->mu);
			break;
		}
		j = v->queue[v->head];
		v->head = (v->head + 1) % QUEUE_CAP;
		v->count--;
		v->busy++;
		pthread_cond_signal(&v->not_full);
		pthread_mutex_unlock(&v->mu);

		intact = verify_row(w, &j.study->rows[j.row], j.study->computed[j.row], &fatal);
		if (fatal < 0 && w->error == 0) {
			w->error = fatal;
			snprintf(w->error_msg, sizeof(w->error_msg), "%s", arca_error_last());
		}
		row_done(w, j.study, j.row, intact);

		pthread_mutex_lock(&v->mu);
		v->busy--;
		if (v->count == 0 && v->busy == 0)
			pthread_cond_broadcast(&v->idle);
		pthread_mutex_unlock(&v->mu);
	}
	return NULL;
}

static void enqueue(verifier *v, struct store_verify_study *s, size_t row)
{
	pthread_mutex_lock(&v->mu);
	while (v->count == QUEUE_CAP)
		pthread_cond_wait(&v->not_full, &v->mu);
	v->queue[(v->head + v->count) % QUEUE_CAP] = (job){ s, row };
	v->count++;
	pthread_cond_signal(&v->not_empty);
	pthread_mutex_unlock(&v->mu);
}

/* Hands a study's rows to the pool (the study is then the pool's). */
static int dispatch(verifier *v, char *uid, store_verify__row *rows, size_t n)
{
	struct store_verify_study *s;

	if (n == 0) {
		/* A study row without instances: reported by the index check. */
		s = study_new(uid, rows, 0);
		if (s == NULL)
			goto oom;
		pthread_mutex_lock(&v->report_mu);
		study_done_locked(v, s);
		pthread_mutex_unlock(&v->report_mu);
		return 0;
	}
	s = study_new(uid, rows, n);
	if (s == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		enqueue(v, s, i);
	return 0;
oom:
	free(uid);
	store_verify__rows_free(rows, n);
	return arca_error_set(ARCA_ENOMEM, "no memory for a study of %zu instances", n);
}

static void wait_idle(verifier *v)
{
	pthread_mutex_lock(&v->mu);
	while (v->count > 0 || v->busy > 0)
		pthread_cond_wait(&v->idle, &v->mu);
	pthread_mutex_unlock(&v->mu);
}

static unsigned thread_count(const store_verify_options *opts)
{
	long n = opts->threads != 0 ? (long)opts->threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

/* ------------------------------------------------------------ the index walk */

static int walk_index(verifier *v, store_verify__index *ix)
{
	store_verify__row *rows = NULL;
	int64_t pk = 0;
	size_t n = 0;
	char *uid = NULL;
	int rc;

	if (v->opts->study != NULL) {
		rc = store_verify__index_find_study(ix, v->opts->study, &pk);
		if (rc == 0)
			return arca_error_set(ARCA_ENOTFOUND, "study %s is not in the index", v->opts->study);
		if (rc < 0)
			return rc;
		if ((rc = store_verify__index_study_rows(ix, pk, v->opts->study, &rows, &n)) < 0)
			return rc;
		if ((uid = strdup(v->opts->study)) == NULL) {
			store_verify__rows_free(rows, n);
			return arca_error_set(ARCA_ENOMEM, "no memory");
		}
		return dispatch(v, uid, rows, n);
	}
	for (;;) {
		int64_t next;
		rc = store_verify__index_next_study(ix, pk, &next, &uid);
		if (rc <= 0)
			break;
		pk = next;
		if ((rc = store_verify__index_study_rows(ix, pk, uid, &rows, &n)) < 0) {
			free(uid);
			return rc;
		}
		if ((rc = dispatch(v, uid, rows, n)) < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	/* rows no study reaches: named, and their data checked all the same */
	if ((rc = store_verify__index_dangling_rows(ix, &rows, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const store_verify__row *r = &rows[i];
		if (!r->current)
			row_fault(v, r, STORE_VERIFY_INDEX_ROW, NULL,
				  "kept version %u belongs to instance row %lld, which is not in the index", r->version,
				  (long long)r->pk);
		else if (r->series == NULL)
			row_fault(v, r, STORE_VERIFY_INDEX_ROW, NULL, "instance row %lld has no series in the index",
				  (long long)r->pk);
		else
			row_fault(v, r, STORE_VERIFY_INDEX_ROW, NULL, "series %s of instance row %lld has no study in the index",
				  r->series, (long long)r->pk);
	}
	return dispatch(v, NULL, rows, n);
}

/* ------------------------------------------------------------ the store walk */

int store_verify_temp_files(const char *store_root, uint64_t *files, uint64_t *bytes)
{
	char dir[PATH_MAX], path[2 * PATH_MAX];
	struct dirent *d;
	struct stat st;
	DIR *dp;

	*files = *bytes = 0;
	snprintf(dir, sizeof(dir), "%s/chunks/tmp", store_root);
	dp = opendir(dir);
	if (dp == NULL)
		return errno == ENOENT ? 0 : arca_error_set(ARCA_EIO, "cannot read %s: %s", dir, strerror(errno));
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		(*files)++;
		if (lstat(path, &st) == 0)
			*bytes += (uint64_t)st.st_size;
	}
	closedir(dp);
	return 0;
}

static bool is_manifest(const uint8_t *data, size_t len)
{
	store_manifest *m = NULL;
	bool yes = len >= 4 && memcmp(data, "ARMF", 4) == 0 && store_manifest_decode(&m, data, len) == 0;

	store_manifest_free(m);
	return yes;
}

static int walk_store(verifier *v, const store_verify__set *seen)
{
	store_cas_iter *it = NULL;
	store_cas_entry e;
	char hex[STORE_CAS_HEX_LEN + 1], msg[PATH_MAX + 256];
	int rc;

	if ((rc = store_cas_iter_new(&it, v->cas)) < 0)
		return rc;
	pthread_mutex_lock(&v->report_mu);
	v->progress.walking_store = true;
	progress_locked(v, true);
	pthread_mutex_unlock(&v->report_mu);
	while ((rc = store_cas_iter_next(it, &e)) == 1) {
		struct stat st;
		uint8_t *data = NULL;
		size_t len = 0;
		uint64_t size = stat(e.path, &st) == 0 ? (uint64_t)st.st_size : 0;

		if (e.bad != 0) {
			v->stats->stray++;
			snprintf(msg, sizeof(msg), "%s: %s", e.path, e.reason);
			store_fault(v, STORE_VERIFY_STRAY, NULL, e.path, msg);
			continue;
		}
		if (store_verify__set_has(seen, e.hash)) {
			v->stats->referenced_stored_bytes += size;
			continue;
		}
		/* garbage: re-hashed all the same (dedup trusts existence) */
		rc = store_cas_get(v->cas, e.hash, &data, &len);
		store_cas_hash_to_hex(e.hash, hex);
		if (rc == ARCA_ENOTFOUND) {
			continue; /* removed since the listing (a concurrent gc) */
		} else if (rc < 0) {
			v->stats->unreferenced_damaged++;
			snprintf(msg, sizeof(msg), "unreferenced chunk %s is damaged (remove it with arca gc): %s", hex,
				 arca_error_last());
			store_fault(v, STORE_VERIFY_UNREFERENCED_DAMAGED, e.hash, e.path, msg);
		} else if (is_manifest(data, len)) {
			v->stats->unreferenced_manifests++;
		}
		free(data);
		v->stats->unreferenced_chunks++;
		v->stats->unreferenced_bytes += size;
		pthread_mutex_lock(&v->report_mu);
		v->progress.unreferenced_done++;
		progress_locked(v, false);
		pthread_mutex_unlock(&v->report_mu);
	}
	store_cas_iter_free(it);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------ run */

int store_verify_run(store_cas *cas, const store_verify_options *opts, store_verify_stats *stats)
{
	store_verify_stats unused;
	store_verify__index *ix = NULL;
	store_verify__set seen = { 0 };
	verifier *v;
	double t0 = now_s();
	int rc, err = 0;

	if (stats == NULL)
		stats = &unused;
	memset(stats, 0, sizeof(*stats));
	if (opts == NULL || opts->index == NULL)
		return arca_error_set(ARCA_EINVAL, "verify: no index location given");
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory to verify");
	v->cas = cas;
	v->opts = opts;
	v->stats = stats;
	pthread_mutex_init(&v->mu, NULL);
	pthread_mutex_init(&v->report_mu, NULL);
	pthread_cond_init(&v->not_empty, NULL);
	pthread_cond_init(&v->not_full, NULL);
	pthread_cond_init(&v->idle, NULL);

	if (opts->study == NULL)
		(void)store_verify_temp_files(store_cas_root(cas), &stats->temp_files, &stats->temp_bytes);
	if ((rc = store_verify__index_open(&ix, opts->index)) < 0)
		goto out;
	if ((rc = store_verify__index_totals(ix, opts->study, &v->progress.rows_total, &v->progress.bytes_total)) < 0)
		goto out;
	if (opts->study == NULL && (rc = store_verify__index_pending(ix, &stats->chain_pending)) < 0)
		goto out;
	if (!opts->skip_index_check && opts->study == NULL &&
	    (rc = store_verify__index_check(ix, index_message, v)) < 0)
		goto out;

	v->n_workers = thread_count(opts);
	v->t0 = now_s();
	for (unsigned i = 0; i < v->n_workers; i++) {
		v->workers[i].v = v;
		if (pthread_create(&v->workers[i].thread, NULL, worker_main, &v->workers[i]) != 0) {
			rc = arca_error_set(ARCA_ENOMEM, "cannot start verify thread %u", i + 1);
			break;
		}
		v->workers[i].started = true;
	}
	if (rc == 0 && !v->workers[0].started)
		rc = arca_error_set(ARCA_ENOMEM, "no verify thread");
	if (rc == 0)
		rc = walk_index(v, ix);
	wait_idle(v);
	pthread_mutex_lock(&v->mu);
	v->done = true;
	pthread_cond_broadcast(&v->not_empty);
	pthread_mutex_unlock(&v->mu);
	for (unsigned i = 0; i < v->n_workers; i++)
		if (v->workers[i].started)
			pthread_join(v->workers[i].thread, NULL);
	for (unsigned i = 0; i < v->n_workers; i++) {
		worker *w = &v->workers[i];
		stats->chunks_read += w->chunks_read;
		stats->chunk_bytes_read += w->chunk_bytes;
		stats->instance_bytes += w->instance_bytes;
		if (w->error < 0 && err == 0) {
			err = w->error;
			arca_error_set(err, "%s", w->error_msg);
		}
		if (err == 0 && (err = store_verify__set_merge(&seen, &w->seen)) < 0)
			break;
	}
	if (rc == 0)
		rc = err;
	if (rc < 0)
		goto out;
	store_verify__set_sort(&seen);
	stats->referenced_chunks = seen.n;
	if (!opts->skip_store_walk && opts->study == NULL)
		rc = walk_store(v, &seen);
	pthread_mutex_lock(&v->report_mu);
	progress_locked(v, true);
	pthread_mutex_unlock(&v->report_mu);
out:
	for (unsigned i = 0; i < MAX_THREADS; i++)
		store_verify__set_free(&v->workers[i].seen);
	store_verify__set_free(&seen);
	store_verify__index_free(ix);
	pthread_cond_destroy(&v->idle);
	pthread_cond_destroy(&v->not_full);
	pthread_cond_destroy(&v->not_empty);
	pthread_mutex_destroy(&v->report_mu);
	pthread_mutex_destroy(&v->mu);
	free(v);
	stats->seconds = now_s() - t0;
	return rc;
}
