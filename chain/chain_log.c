/* chain_log.c - the log's queue, its flusher and its life cycle (see
 * chain_log.h for the contract).
 *
 * Locks: `mu` guards the queue, the counters and the failure state and is
 * only held for short, non-blocking work (never across disk I/O);
 * `write_mu` is held by whoever writes batches (the flusher thread or a
 * chain_log_flush caller) from taking a batch off the queue until its
 * callbacks have run, so batches reach the disk, and callbacks run, in
 * index order.  Order: write_mu before mu. */
#include "chain_log.h"
#include "chain_log_priv.h"

#include "arca_err.h"
#include "chain_checkpoint.h"
#include "chain_merkle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BATCH_ENTRIES 1000
#define DEFAULT_BATCH_MS 50
#define DEFAULT_QUEUE_MAX 65536
#define DEFAULT_CHECKPOINT_ENTRIES 8192
#define DEFAULT_CHECKPOINT_MS 1000

struct pending {
	char *bytes;            /* the canonical entry, malloc'd */
	size_t len;
	uint64_t index;
	int64_t queued_ns;      /* CLOCK_MONOTONIC */
	chain_log_durable_fn fn;
	void *arg;
};

struct chain_log {
	char *repo_path;
	char *node;
	const chain_key *key;
	uint32_t batch_entries, batch_ms, queue_max;
	uint32_t checkpoint_entries, checkpoint_ms;
	int lock_fd;

	/* Touched by batch writers only (under write_mu). */
	chain_log__store store;
	chain_merkle *tree;
	chain_log__journal journal;
	struct pending *jq;             /* journaled, not yet on the ref: jq[0..jn) */
	size_t jn, jcap;

	pthread_mutex_t write_mu;
	pthread_mutex_t mu;
	pthread_cond_t work_cond;       /* the flusher: something queued, or stop */
	pthread_cond_t durable_cond;    /* chain_log_wait: durable moved, or failure */
	struct pending *q;              /* queue: q[head..tail) */
	size_t head, tail, cap;
	uint64_t next_index;            /* index of the next append */
	uint64_t durable;               /* entries durable (journaled or on the ref) */
	size_t jcount;                  /* jn, for the flusher's timer */
	int64_t joldest_ns;             /* when jq[0] was journaled (CLOCK_MONOTONIC) */
	uint64_t wanted;                /* chain_log_wait is waiting for entries below this */
	int failed;                     /* 0, or the error that failed the log */
	char failed_msg[256];
	bool stop;
	bool has_thread;
	pthread_t thread;
};

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the writer lock ---- */

/* <repo>/arca-writer-<node>.lock, with '/' in the node name as '+' (which
 * node names cannot hold, so the mapping is one to one).  flock: held
 * while the log is open, released by the kernel if the process dies. */
static int take_writer_lock(chain_log *log)
{
	char path[4096];
	size_t n, i;
	int fd;

	n = (size_t)snprintf(path, sizeof(path), "%s/arca-writer-", log->repo_path);
	for (i = 0; log->node[i] != '\0' && n + 1 < sizeof(path); i++)
		path[n++] = log->node[i] == '/' ? '+' : log->node[i];
	path[n] = '\0';
	if (n + 6 >= sizeof(path))
		return arca_error_set(ARCA_ELIMIT, "log repository path too long");
	strcat(path, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open the log's writer lock %s: %s", path,
				      strerror(errno));
	/* A reader holds the lock shared for a moment to see whether a
	 * writer is alive (chain_log__settle): retry for up to 50 ms. */
	for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; tries++) {
		int e = errno;
		if (e == EWOULDBLOCK && tries < 25) {
			struct timespec d = { 0, 2000000 };
			nanosleep(&d, NULL);
			continue;
		}
		close(fd);
		if (e == EWOULDBLOCK)
			return arca_error_set(ARCA_EEXISTS,
					      "log %s of node %s is open for writing elsewhere (lock %s is held)",
					      log->repo_path, log->node, path);
		return arca_error_set(ARCA_EIO, "cannot lock %s: %s", path, strerror(e));
	}
	log->lock_fd = fd;
	return 0;
}

/* libgit2 moves a ref through <ref>.lock (written, fsynced, renamed); a
 * writer killed in between leaves it behind and every later move fails.
 * Only the holder of the writer lock moves this ref, so a lock file found
 * while holding it is a dead writer's: removed (and the removal synced). */
static int remove_stale_ref_lock(chain_log *log)
{
	char path[4096], *slash;
	int n = snprintf(path, sizeof(path), "%s/%s.lock", log->repo_path, log->store.ref);

	if (n < 0 || (size_t)n >= sizeof(path))
		return arca_error_set(ARCA_ELIMIT, "log repository path too long");
	if (unlink(path) != 0)
		return errno == ENOENT ? 0
				       : arca_error_set(ARCA_EIO, "cannot remove the stale ref lock %s: %s",
							path, strerror(errno));
	slash = strrchr(path, '/');
	*slash = '\0';
	return chain__git_fsync_dir(path);
}

/* ---- writing batches ---- */

static void fail_log(chain_log *log, int rc)
{
	/* Under mu. */
	if (log->failed == 0) {
		log->failed = rc;
		snprintf(log->failed_msg, sizeof(log->failed_msg), "%s", arca_error_last());
	}
	pthread_cond_broadcast(&log->durable_cond);
}

static void run_callbacks_keep(struct pending *b, size_t n, int status, const char *msg,
			       bool keep)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i].fn != NULL) {
			if (status < 0)
				arca_error_set(status, "%s", msg);
			b[i].fn(b[i].arg, b[i].index, status);
		}
		if (!keep) {
			free(b[i].bytes);
			b[i].bytes = NULL;
		}
	}
}

static void run_callbacks(struct pending *b, size_t n, int status, const char *msg)
{
	run_callbacks_keep(b, n, status, msg, false);
}

/* Signs and stores one batch; under write_mu. */
static int store_batch(chain_log *log, struct pending *b, size_t n)
{
	char *blob = NULL, *note = NULL;
	size_t blob_len = 0, note_len = 0, i;
	chain_checkpoint *cp = NULL;
	uint8_t root[CHAIN_HASH_LEN];
	int64_t t = now_ns(CLOCK_REALTIME) / 1000000000;
	uint64_t size;
	int rc = 0;

	for (i = 0; i < n; i++)
		blob_len += b[i].len + 1;
	blob = malloc(blob_len > 0 ? blob_len : 1);
	if (blob == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a batch of %zu entries", n);
	blob_len = 0;
	for (i = 0; i < n && rc == 0; i++) {
		memcpy(blob + blob_len, b[i].bytes, b[i].len);
		blob_len += b[i].len;
		blob[blob_len++] = '\n';
		rc = chain_merkle_append_leaf(log->tree, b[i].bytes, b[i].len);
	}
	size = chain_merkle_size(log->tree);
	if (rc == 0)
		rc = chain_merkle_root(log->tree, size, root);
	if (rc == 0)
		rc = chain_checkpoint_new(&cp, log->node, size, root, t);
	if (rc == 0)
		rc = chain_checkpoint_sign(cp, log->key, log->node);
	if (rc == 0)
		rc = chain_checkpoint_encode(cp, &note, &note_len);
	if (rc == 0)
		rc = chain_log__store_batch(&log->store, b[0].index, b[n - 1].index, blob, blob_len,
					    note, note_len, t);
	chain_checkpoint_free(cp);
	free(note);
	free(blob);
	return rc;
}

/* Whether entries wait in the queue (then pack merging waits). */
static bool queue_busy(void *arg)
{
	chain_log *log = arg;
	bool busy;

	pthread_mutex_lock(&log->mu);
	busy = log->tail > log->head;
	pthread_mutex_unlock(&log->mu);
	return busy;
}

/* A batch takes what is queued, up to this many times batch_entries: when
 * the disk falls behind, batches grow (group commit) instead of the queue,
 * so the durable rate is not capped at batch_entries per fsync round. */
#define BATCH_GROWTH 16

/* After a failure: every entry still queued gets the error (appends fail
 * from now on, so q is not written while it is read).  Under write_mu. */
static int fail_queued(chain_log *log, int rc)
{
	struct pending *rest;
	char msg[256];
	size_t m;

	pthread_mutex_lock(&log->mu);
	fail_log(log, rc);
	snprintf(msg, sizeof(msg), "%s", log->failed_msg);
	m = log->tail - log->head;
	rest = log->q + log->head;
	log->head = log->tail = 0;
	pthread_mutex_unlock(&log->mu);
	run_callbacks(rest, m, rc, msg);
	return arca_error_set(rc, "%s", msg);
}

/* Commits every journaled entry to git (one batch, one checkpoint), then
 * starts a new, empty journal.  Under write_mu. */
static int commit_journaled(chain_log *log)
{
	uint64_t first, last;
	size_t i;
	int rc;

	if (log->jn == 0)
		return 0;
	first = log->jq[0].index;
	last = log->jq[log->jn - 1].index;
	rc = store_batch(log, log->jq, log->jn);
	if (rc == 0)
		rc = chain_log__journal_reset(&log->journal, log->repo_path, last + 1);
	if (rc < 0) {
		arca_error_prefix(rc, "checkpointing journaled log entries %" PRIu64 "-%" PRIu64, first,
				  last);
		return fail_queued(log, rc);
	}
	for (i = 0; i < log->jn; i++)
		free(log->jq[i].bytes);
	log->jn = 0;
	pthread_mutex_lock(&log->mu);
	log->jcount = 0;
	pthread_mutex_unlock(&log->mu);
	/* Between batches, while nothing is queued: merging packs delays no
	 * caller already waiting. */
	rc = chain_log__store_maintain(&log->store, queue_busy, log);
	return rc < 0 ? fail_queued(log, rc) : 0;
}

/* Appends the journaled batch b[0..n) to jq (the bytes move). */
static int keep_journaled(chain_log *log, struct pending *b, size_t n)
{
	if (log->jn + n > log->jcap) {
		size_t cap = log->jcap * 2 > log->jn + n ? log->jcap * 2 : log->jn + n + 1024;
		struct pending *nq = realloc(log->jq, cap * sizeof(*nq));
		if (nq == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory keeping journaled entries");
		log->jq = nq;
		log->jcap = cap;
	}
	memcpy(log->jq + log->jn, b, n * sizeof(*b));
	log->jn += n;
	return 0;
}

/* Takes up to BATCH_GROWTH * batch_entries entries off the queue and makes
 * them durable: appended to the journal and synced, or, with direct and
 * nothing journaled before them, committed to git at once (what a flush
 * does: the journal would only be written to be reset).  Under write_mu.
 * *written is the number written (0: queue empty). */
static int write_one_batch(chain_log *log, size_t *written, bool direct)
{
	struct pending *batch;
	chain_log__jrec *recs = NULL;
	size_t n, i;
	char msg[256];
	int rc;

	*written = 0;
	pthread_mutex_lock(&log->mu);
	if (log->failed != 0) {
		rc = log->failed;
		pthread_mutex_unlock(&log->mu);
		return arca_error_set(rc, "%s", log->failed_msg);
	}
	n = log->tail - log->head;
	if (n > (size_t)log->batch_entries * BATCH_GROWTH)
		n = (size_t)log->batch_entries * BATCH_GROWTH;
	if (n == 0) {
		pthread_mutex_unlock(&log->mu);
		return 0;
	}
	batch = malloc(n * sizeof(*batch));
	if (batch == NULL) {
		pthread_mutex_unlock(&log->mu);
		return arca_error_set(ARCA_ENOMEM, "out of memory taking a batch");
	}
	memcpy(batch, log->q + log->head, n * sizeof(*batch));
	log->head += n;
	if (log->head == log->tail)
		log->head = log->tail = 0;
	pthread_mutex_unlock(&log->mu);

	/* The first batch of a new log goes to git at once: the ref then
	 * exists, and readers that find none take the log for empty. */
	direct = (direct || !log->store.has_tip) && log->jn == 0;
	if (direct) {
		rc = store_batch(log, batch, n);
	} else {
		recs = malloc(n * sizeof(*recs));
		rc = recs == NULL ? arca_error_set(ARCA_ENOMEM, "out of memory for a journal batch") : 0;
		for (i = 0; rc == 0 && i < n; i++)
			recs[i] = (chain_log__jrec){ batch[i].bytes, batch[i].len };
		if (rc == 0)
			rc = chain_log__journal_append(&log->journal, recs, n, batch[0].index);
		free(recs);
	}

	pthread_mutex_lock(&log->mu);
	if (rc == 0) {
		log->durable = batch[n - 1].index + 1;
		if (!direct && log->jcount == 0)
			log->joldest_ns = now_ns(CLOCK_MONOTONIC);
		if (!direct)
			log->jcount += n;
		pthread_cond_broadcast(&log->durable_cond);
	} else {
		arca_error_prefix(rc, "writing log entries %" PRIu64 "-%" PRIu64, batch[0].index,
				  batch[n - 1].index);
		fail_log(log, rc);
	}
	snprintf(msg, sizeof(msg), "%s", log->failed_msg);
	pthread_mutex_unlock(&log->mu);

	run_callbacks_keep(batch, n, rc, msg, rc == 0 && !direct);
	if (rc == 0 && !direct && (rc = keep_journaled(log, batch, n)) < 0) {
		for (i = 0; i < n; i++)
			free(batch[i].bytes);
	}
	free(batch);
	if (rc == 0 && direct)
		rc = chain_log__store_maintain(&log->store, queue_busy, log);
	if (rc < 0)
		return fail_queued(log, rc);
	*written = n;
	return 0;
}

int chain_log_flush(chain_log *log)
{
	uint64_t target;
	size_t n;
	int rc = 0;

	pthread_mutex_lock(&log->write_mu);
	pthread_mutex_lock(&log->mu);
	target = log->next_index;
	pthread_mutex_unlock(&log->mu);
	for (;;) {
		pthread_mutex_lock(&log->mu);
		if (log->durable >= target || log->failed != 0) {
			rc = log->failed != 0 ? arca_error_set(log->failed, "%s", log->failed_msg) : 0;
			pthread_mutex_unlock(&log->mu);
			break;
		}
		pthread_mutex_unlock(&log->mu);
		rc = write_one_batch(log, &n, true);
		if (rc < 0 || n == 0)
			break;
	}
	/* A flush leaves everything on the ref (a checkpoint). */
	if (rc == 0)
		rc = commit_journaled(log);
	pthread_mutex_unlock(&log->write_mu);
	return rc;
}

/* ---- the flusher thread ---- */

static void *flusher_main(void *arg)
{
	chain_log *log = arg;

	pthread_mutex_lock(&log->mu);
	while (!log->stop) {
		size_t queued = log->tail - log->head;
		int64_t now = now_ns(CLOCK_MONOTONIC), qdue = INT64_MAX, jdue = INT64_MAX;
		bool qready, jready;
		size_t n;

		if (log->failed != 0) {
			pthread_cond_wait(&log->work_cond, &log->mu);
			continue;
		}
		/* The timer gathers entries nobody waits for; an entry someone
		 * waits on (a C-STORE answer held for its store event) goes now:
		 * the caller batches already (the ingest's group commit). */
		if (queued > 0)
			qdue = queued >= log->batch_entries || log->wanted > log->q[log->head].index
				       ? now
				       : log->q[log->head].queued_ns + (int64_t)log->batch_ms * 1000000;
		/* Journaled entries go to git in large batches: at
		 * checkpoint_entries or checkpoint_ms after the oldest. */
		if (log->jcount > 0)
			jdue = log->jcount >= log->checkpoint_entries
				       ? now
				       : log->joldest_ns + (int64_t)log->checkpoint_ms * 1000000;
		qready = qdue <= now;
		jready = jdue <= now;
		if (!qready && !jready) {
			int64_t due = qdue < jdue ? qdue : jdue;
			if (due == INT64_MAX) {
				pthread_cond_wait(&log->work_cond, &log->mu);
			} else {
				struct timespec ts = { .tv_sec = due / 1000000000, .tv_nsec = due % 1000000000 };
				pthread_cond_timedwait(&log->work_cond, &log->mu, &ts);
			}
			continue;
		}
		pthread_mutex_unlock(&log->mu);
		pthread_mutex_lock(&log->write_mu);
		/* Failures are kept in the log.  A journal write first (callers
		 * wait on it), then the git commit if it is due, so that a busy
		 * queue cannot starve the checkpoints. */
		if (qready)
			(void)write_one_batch(log, &n, false);
		pthread_mutex_lock(&log->mu);
		jready = log->failed == 0 && log->jcount > 0 &&
			 (log->jcount >= log->checkpoint_entries ||
			  now_ns(CLOCK_MONOTONIC) >= log->joldest_ns + (int64_t)log->checkpoint_ms * 1000000);
		pthread_mutex_unlock(&log->mu);
		if (jready)
			(void)commit_journaled(log);
		pthread_mutex_unlock(&log->write_mu);
		pthread_mutex_lock(&log->mu);
	}
	pthread_mutex_unlock(&log->mu);
	return NULL;
}

/* ---- appending ---- */

int chain_log_append(chain_log *log, const chain_entry *e, chain_log_durable_fn fn, void *arg,
		     uint64_t *index)
{
	chain_entry copy = *e;
	char *bytes = NULL;
	size_t len = 0;
	int rc;

	if (e->node != NULL && strcmp(e->node, log->node) != 0)
		return arca_error_set(ARCA_EINVAL, "entry of node %s appended to the log of %s", e->node,
				      log->node);
	copy.node = log->node;
	if (copy.time_ms == 0)
		copy.time_ms = now_ns(CLOCK_REALTIME) / 1000000;

	pthread_mutex_lock(&log->mu);
	if (log->failed != 0) {
		rc = arca_error_set(ARCA_EIO, "the log failed earlier (%s); close and reopen it",
				    log->failed_msg);
		goto out;
	}
	if (log->tail - log->head >= log->queue_max) {
		rc = arca_error_set(ARCA_ELIMIT, "log queue full (%" PRIu32 " entries waiting for the disk)",
				    log->queue_max);
		goto out;
	}
	if (log->next_index > CHAIN_ENTRY_MAX_INDEX) {
		rc = arca_error_set(ARCA_ELIMIT, "log is full (%" PRIu64 " entries)", log->next_index);
		goto out;
	}
	/* The index is part of the bytes, so it is given and encoded under
	 * the lock that orders the queue (a couple of microseconds). */
	copy.index = log->next_index;
	rc = chain_entry_encode(&copy, &bytes, &len);
	if (rc < 0)
		goto out;
	if (log->tail == log->cap) {
		if (log->head > 0) {
			memmove(log->q, log->q + log->head, (log->tail - log->head) * sizeof(*log->q));
			log->tail -= log->head;
			log->head = 0;
		} else {
			size_t cap = log->cap * 2;
			struct pending *nq = realloc(log->q, cap * sizeof(*nq));
			if (nq == NULL) {
				rc = arca_error_set(ARCA_ENOMEM, "out of memory growing the log queue");
				goto out;
			}
			log->q = nq;
			log->cap = cap;
		}
	}
	log->q[log->tail++] = (struct pending){ bytes, len, copy.index, now_ns(CLOCK_MONOTONIC), fn, arg };
	bytes = NULL;
	log->next_index++;
	if (index != NULL)
		*index = copy.index;
	/* Wake the flusher when its timer starts or a batch is full. */
	if (log->tail - log->head == 1 || log->tail - log->head >= log->batch_entries)
		pthread_cond_signal(&log->work_cond);
out:
	pthread_mutex_unlock(&log->mu);
	free(bytes);
	return rc;
}

int chain_log_wait(chain_log *log, uint64_t index)
{
	int rc = 0;

	pthread_mutex_lock(&log->mu);
	if (index >= log->next_index) {
		rc = arca_error_set(ARCA_EINVAL, "log entry %" PRIu64 " was never appended", index);
	} else {
		if (log->durable <= index && index + 1 > log->wanted) {
			log->wanted = index + 1;
			pthread_cond_signal(&log->work_cond);
		}
		while (log->durable <= index && log->failed == 0)
			pthread_cond_wait(&log->durable_cond, &log->mu);
		if (log->durable <= index)
			rc = arca_error_set(log->failed, "%s", log->failed_msg);
	}
	pthread_mutex_unlock(&log->mu);
	return rc;
}

uint64_t chain_log_size(chain_log *log)
{
	uint64_t n;

	pthread_mutex_lock(&log->mu);
	n = log->durable;
	pthread_mutex_unlock(&log->mu);
	return n;
}

int chain_log_checkpoint(chain_log *log, uint64_t *size, uint8_t root[CHAIN_HASH_LEN],
			 char **note, size_t *note_len)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	chain_checkpoint *cp = NULL;
	int rc;

	if (note != NULL)
		*note = NULL;
	pthread_mutex_lock(&log->write_mu);
	if (!log->store.has_tip) {
		rc = arca_error_set(ARCA_ENOTFOUND, "log of %s is empty: no checkpoint yet", log->node);
		goto out;
	}
	rc = git_commit_lookup(&c, log->store.repo, &log->store.tip);
	if (rc == 0)
		rc = git_commit_tree(&t, c);
	if (rc == 0)
		rc = git_tree_entry_bypath(&te, t, "checkpoint");
	if (rc == 0)
		rc = git_blob_lookup(&blob, log->store.repo, git_tree_entry_id(te));
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot read the log's checkpoint");
		goto out;
	}
	rc = chain_checkpoint_parse(&cp, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	if (rc < 0)
		goto out;
	*size = chain_checkpoint_size(cp);
	memcpy(root, chain_checkpoint_root(cp), CHAIN_HASH_LEN);
	if (note != NULL)
		rc = chain_checkpoint_encode(cp, note, note_len);
out:
	chain_checkpoint_free(cp);
	git_blob_free(blob);
	git_tree_entry_free(te);
	git_tree_free(t);
	git_commit_free(c);
	pthread_mutex_unlock(&log->write_mu);
	return rc;
}

int chain_log_verify(chain_log *log, chain_log_report_fn fn, void *arg)
{
	git_reference *r = NULL;
	int rc, first = 0;

	/* No batch is written while the ref is compared. */
	pthread_mutex_lock(&log->write_mu);
	rc = git_reference_lookup(&r, log->store.repo, log->store.ref);
	if (rc < 0 && rc != GIT_ENOTFOUND) {
		first = chain__git_error(rc, "cannot read %s", log->store.ref);
	} else if ((rc == GIT_ENOTFOUND) != !log->store.has_tip ||
		   (r != NULL && (git_reference_type(r) != GIT_REFERENCE_DIRECT ||
				  !git_oid_equal(git_reference_target(r), &log->store.tip)))) {
		char want[GIT_OID_HEXSZ + 1] = "none", got[GIT_OID_HEXSZ + 1] = "none";
		chain_log_fault f = { .code = ARCA_ECRYPTO, .index = CHAIN_LOG_NO_INDEX };

		if (log->store.has_tip)
			git_oid_tostr(want, sizeof(want), &log->store.tip);
		if (r != NULL && git_reference_type(r) == GIT_REFERENCE_DIRECT)
			git_oid_tostr(got, sizeof(got), git_reference_target(r));
		first = arca_error_set(ARCA_ECRYPTO, "%s was moved from %s (this writer's last commit) to %s "
				       "by someone else", log->store.ref, want, got);
		snprintf(f.commit, sizeof(f.commit), "%s", got);
		f.reason = arca_error_last();
		if (fn != NULL)
			fn(arg, &f);
	}
	git_reference_free(r);
	pthread_mutex_unlock(&log->write_mu);
	if (first != 0 && first != ARCA_ECRYPTO)
		return first;
	if (!log->store.has_tip && first == 0)
		return 0;
	{
		char keep[512];
		snprintf(keep, sizeof(keep), "%s", first != 0 ? arca_error_last() : "");
		rc = chain_log_verify_repo(log->repo_path, log->node, log->key, fn, arg, NULL);
		if (first != 0) {
			/* The moved ref is the first fault; keep its message. */
			arca_error_set(first, "%s", keep);
			return first;
		}
	}
	return rc;
}

/* ---- life cycle ---- */

/* chain_log__journal_fn: a journaled entry not on the ref, kept to be
 * committed before the log opens. */
static int replay_one(void *arg, uint64_t index, const char *bytes, size_t len)
{
	chain_log *log = arg;
	struct pending p = { .bytes = malloc(len), .len = len, .index = index };
	int rc;

	if (p.bytes == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory replaying the journal");
	memcpy(p.bytes, bytes, len);
	if ((rc = keep_journaled(log, &p, 1)) < 0)
		free(p.bytes);
	return rc;
}

/* Entries journaled by an earlier writer that did not live to commit them
 * (durable, so reported so) go on the ref before anything else; then the
 * journal starts empty. */
static int replay_journal(chain_log *log)
{
	uint64_t size = chain_merkle_size(log->tree), pending = 0;
	int rc;

	rc = chain_log__journal_path(log->repo_path, log->node, &log->journal.path);
	if (rc == 0)
		rc = chain_log__journal_read(log->journal.path, log->node, size, replay_one, log, &pending);
	if (rc == 0 && log->jn > 0)
		return commit_journaled(log);
	if (rc == 0)
		rc = chain_log__journal_reset(&log->journal, log->repo_path, size);
	return rc;
}

static void log_free(chain_log *log)
{
	size_t i;

	for (i = log->head; i < log->tail; i++)
		free(log->q[i].bytes);
	free(log->q);
	for (i = 0; i < log->jn; i++)
		free(log->jq[i].bytes);
	free(log->jq);
	chain_log__journal_close(&log->journal);
	chain_merkle_free(log->tree);
	git_repository_free(log->store.repo); /* frees the mempack backend too */
	if (log->lock_fd >= 0)
		close(log->lock_fd); /* releases the flock */
	pthread_cond_destroy(&log->durable_cond);
	pthread_cond_destroy(&log->work_cond);
	pthread_mutex_destroy(&log->mu);
	pthread_mutex_destroy(&log->write_mu);
	free(log->repo_path);
	free(log->node);
	free(log);
	chain__git_shutdown();
}

int chain_log_open(chain_log **out, const chain_log_config *cfg)
{
	pthread_condattr_t ca;
	chain_log *log;
	int rc;

	*out = NULL;
	if (cfg->repo_path == NULL || cfg->node == NULL || cfg->key == NULL)
		return arca_error_set(ARCA_EINVAL, "chain log: repo_path, node and key are required");
	if ((rc = chain_node_name_check(cfg->node)) < 0)
		return rc;
	if (!chain_key_has_private(cfg->key))
		return arca_error_set(ARCA_EINVAL, "chain log of %s: the node key has no private part",
				      cfg->node);
	if ((rc = chain__git_init()) < 0)
		return rc;
	log = calloc(1, sizeof(*log));
	if (log == NULL) {
		chain__git_shutdown();
		return arca_error_set(ARCA_ENOMEM, "out of memory for a log");
	}
	log->lock_fd = -1;
	log->journal.fd = -1;
	pthread_mutex_init(&log->write_mu, NULL);
	pthread_mutex_init(&log->mu, NULL);
	/* The flusher's timer runs on the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&log->work_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&log->durable_cond, NULL);
	log->repo_path = strdup(cfg->repo_path);
	log->node = strdup(cfg->node);
	log->key = cfg->key;
	log->batch_entries = cfg->batch_entries != 0 ? cfg->batch_entries : DEFAULT_BATCH_ENTRIES;
	log->batch_ms = cfg->batch_ms != 0 ? cfg->batch_ms : DEFAULT_BATCH_MS;
	log->queue_max = cfg->queue_max != 0 ? cfg->queue_max : DEFAULT_QUEUE_MAX;
	log->checkpoint_entries =
		cfg->checkpoint_entries != 0 ? cfg->checkpoint_entries : DEFAULT_CHECKPOINT_ENTRIES;
	log->checkpoint_ms = cfg->checkpoint_ms != 0 ? cfg->checkpoint_ms : DEFAULT_CHECKPOINT_MS;
	log->cap = 1024;
	log->q = malloc(log->cap * sizeof(*log->q));
	if (log->repo_path == NULL || log->node == NULL || log->q == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory for a log");
		goto fail;
	}
	rc = chain__git_open(&log->store.repo, log->repo_path, true);
	if (rc < 0)
		goto fail;
	rc = take_writer_lock(log);
	if (rc < 0)
		goto fail;
	snprintf(log->store.ref, sizeof(log->store.ref), "%s%s", CHAIN_LOG_REF_PREFIX, log->node);
	log->store.node = log->node;
	rc = remove_stale_ref_lock(log);
	if (rc < 0)
		goto fail;
	rc = chain_merkle_new(&log->tree);
	if (rc < 0)
		goto fail;
	rc = chain_log__load(log->store.repo, log->store.ref, log->node, log->key, log->tree,
			     &log->store.has_tip, &log->store.tip, NULL, NULL);
	if (rc < 0) {
		arca_error_prefix(rc, "opening the log of %s in %s", log->node, log->repo_path);
		goto fail;
	}
	log->store.created_ref_dirs = log->store.has_tip;
	rc = chain_log__store_init(&log->store);
	if (rc < 0)
		goto fail;
	rc = replay_journal(log);
	if (rc < 0) {
		arca_error_prefix(rc, "opening the log of %s in %s", log->node, log->repo_path);
		goto fail;
	}
	log->next_index = log->durable = chain_merkle_size(log->tree);
	if (cfg->background) {
		if (pthread_create(&log->thread, NULL, flusher_main, log) != 0) {
			rc = arca_error_set(ARCA_EIO, "cannot start the log's flusher thread");
			goto fail;
		}
		log->has_thread = true;
	}
	*out = log;
	return 0;
fail:
	log_free(log);
	return rc;
}

int chain_log_close(chain_log *log)
{
	int rc;

	if (log == NULL)
		return 0;
	if (log->has_thread) {
		pthread_mutex_lock(&log->mu);
		log->stop = true;
		pthread_cond_signal(&log->work_cond);
		pthread_mutex_unlock(&log->mu);
		pthread_join(log->thread, NULL);
	}
	rc = chain_log_flush(log);
	log_free(log);
	return rc;
}
