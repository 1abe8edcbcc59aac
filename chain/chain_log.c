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
	int lock_fd;

	/* Touched by batch writers only (under write_mu). */
	chain_log__store store;
	chain_merkle *tree;

	pthread_mutex_t write_mu;
	pthread_mutex_t mu;
	pthread_cond_t work_cond;       /* the flusher: something queued, or stop */
	pthread_cond_t durable_cond;    /* chain_log_wait: durable moved, or failure */
	struct pending *q;              /* queue: q[head..tail) */
	size_t head, tail, cap;
	uint64_t next_index;            /* index of the next append */
	uint64_t durable;               /* entries durable on the ref */
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
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
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

static void run_callbacks(struct pending *b, size_t n, int status, const char *msg)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i].fn != NULL) {
			if (status < 0)
				arca_error_set(status, "%s", msg);
			b[i].fn(b[i].arg, b[i].index, status);
		}
		free(b[i].bytes);
	}
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

/* Takes up to BATCH_GROWTH * batch_entries entries off the queue and
 * writes them; under write_mu.  *written is the number written (0: queue
 * empty). */
static int write_one_batch(chain_log *log, size_t *written)
{
	struct pending *batch;
	size_t n;
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

	rc = store_batch(log, batch, n);

	pthread_mutex_lock(&log->mu);
	if (rc == 0) {
		log->durable = batch[n - 1].index + 1;
		pthread_cond_broadcast(&log->durable_cond);
	} else {
		arca_error_prefix(rc, "writing log entries %" PRIu64 "-%" PRIu64, batch[0].index,
				  batch[n - 1].index);
		fail_log(log, rc);
	}
	snprintf(msg, sizeof(msg), "%s", log->failed_msg);
	pthread_mutex_unlock(&log->mu);

	run_callbacks(batch, n, rc, msg);
	free(batch);
	if (rc == 0) {
		/* Between batches, after the callbacks, while nothing is
		 * queued: merging packs delays no caller already waiting. */
		rc = chain_log__store_maintain(&log->store, queue_busy, log);
		if (rc < 0) {
			pthread_mutex_lock(&log->mu);
			fail_log(log, rc);
			snprintf(msg, sizeof(msg), "%s", log->failed_msg);
			pthread_mutex_unlock(&log->mu);
		}
	}
	if (rc < 0) {
		/* Nothing queued can be written any more: tell its callers. */
		struct pending *rest;
		size_t m;

		pthread_mutex_lock(&log->mu);
		m = log->tail - log->head;
		rest = log->q + log->head;
		log->head = log->tail = 0;
		pthread_mutex_unlock(&log->mu);
		/* Appends fail from now on, so q is not written while read. */
		run_callbacks(rest, m, rc, msg);
		return arca_error_set(rc, "%s", msg);
	}
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
		rc = write_one_batch(log, &n);
		if (rc < 0 || n == 0)
			break;
	}
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
		size_t n;

		if (queued == 0 || log->failed != 0) {
			pthread_cond_wait(&log->work_cond, &log->mu);
			continue;
		}
		/* The timer gathers entries nobody waits for; an entry someone
		 * waits on (a C-STORE answer held for its store event) goes now:
		 * the caller batches already (the ingest's group commit). */
		if (queued < log->batch_entries && log->wanted <= log->q[log->head].index) {
			int64_t due = log->q[log->head].queued_ns + (int64_t)log->batch_ms * 1000000;
			if (now_ns(CLOCK_MONOTONIC) < due) {
				struct timespec ts = { .tv_sec = due / 1000000000, .tv_nsec = due % 1000000000 };
				pthread_cond_timedwait(&log->work_cond, &log->mu, &ts);
				continue;
			}
		}
		pthread_mutex_unlock(&log->mu);
		pthread_mutex_lock(&log->write_mu);
		(void)write_one_batch(log, &n); /* a failure is kept in the log */
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

static void log_free(chain_log *log)
{
	size_t i;

	for (i = log->head; i < log->tail; i++)
		free(log->q[i].bytes);
	free(log->q);
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
