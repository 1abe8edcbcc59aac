/* arca_event.c - provenance events recorded by `arca` commands (see
 * arca_event.h).
 *
 * The log has one writer at a time (chain_log.h: an flock in the
 * repository).  A command takes it when it is free: it opens the log,
 * appends what an earlier command left in the spool (arca_spool.h) and
 * its own entry, flushes and closes, so the event is durable when this
 * returns.  While arcad runs it holds the lock for its whole life (and
 * the spool's lock, by which a command tells it from another command
 * holding the log for a moment): the command then writes its entry to
 * the spool and waits, bounded, for arcad to append it and remove the
 * file.  Two commands at once serialise on the lock: the second retries
 * for a bounded time.  A command with many events (an import) records
 * them as one batch: the log is opened, or arcad found, once. */
#include "arca_event.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "arca_node.h"
#include "arca_spool.h"
#include "chain_key.h"
#include "chain_log.h"
#include "chain_pseudonym.h"

/* How long a command waits for the log's lock held by another command,
 * and for arcad to append its spooled event. */
#define EVENT_WAIT_MS 10000
#define EVENT_POLL_MS 10
/* A batch appending directly flushes every so many entries (the log's
 * queue holds 65536). */
#define EVENT_FLUSH_EVERY 4096

static int64_t now_ms(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void arca_event_user(char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (getlogin_r(buf, size) == 0 && buf[0] != '\0')
		return;
	if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL && res->pw_name[0] != '\0')
		snprintf(buf, size, "%s", res->pw_name);
	else
		snprintf(buf, size, "uid %lu", (unsigned long)geteuid());
}

static void say_rejected(void *arg, const char *name, const char *why)
{
	(void)arg;
	fprintf(stderr, "arca: chain spool: %s set aside in " ARCA_SPOOL_DIR "/" ARCA_SPOOL_REJECTED ": %s\n", name,
		why);
}

struct arca_event_batch {
	const arca_conf *conf;
	char repo[PATH_MAX];
	chain_key *key;                 /* NULL: no node key, nothing is recorded */
	chain_pseudonym_key *ps;        /* NULL: events name no patient */
	chain_log *log;                 /* the writer lock is ours: appended directly */
	char (*spooled)[ARCA_SPOOL_NAME_MAX]; /* else: handed to arcad */
	size_t n_spooled, cap_spooled;
	size_t n_direct;
	char user[CHAIN_ENTRY_TEXT_MAX + 1];
};

/* chain_log_open, ARCA_EEXISTS when someone holds the lock. */
static int open_log(chain_log **log, const arca_conf *conf, const char *repo, const chain_key *key)
{
	chain_log_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.repo_path = repo;
	cfg.node = conf->node;
	cfg.key = key;
	cfg.background = false;
	return chain_log_open(log, &cfg);
}

/* Spooled as name: wait until arcad has appended it (the file is gone),
 * or arcad has stopped (then drain it ourselves), or the deadline. */
static int wait_spooled(const arca_event_batch *b, const char *name, int64_t deadline, bool *durable)
{
	chain_log *log = NULL;
	int rc;

	*durable = false;
	for (;;) {
		if (!arca_spool_exists(b->conf->root, name)) {
			if (arca_spool_was_rejected(b->conf->root, name))
				return arca_error_set(ARCA_EPROTO, "arcad refused the spooled event %s (see its log)",
						      name);
			*durable = true;
			return 0;
		}
		if (!arca_spool_arcad_running(b->conf->root)) {
			rc = open_log(&log, b->conf, b->repo, b->key);
			if (rc == 0) {
				rc = arca_spool_drain_sync(b->conf->root, b->conf->node, log, say_rejected, NULL, NULL);
				int crc = chain_log_close(log);
				if (rc == 0)
					rc = crc;
				if (rc < 0)
					return rc;
				continue;
			}
			if (rc != ARCA_EEXISTS)
				return rc;
		}
		if (now_ms(CLOCK_MONOTONIC) >= deadline)
			return 0; /* left for arcad: *durable stays false */
		sleep_ms(EVENT_POLL_MS);
	}
}

/* The writer lock, or arcad running; another command holding the lock is
 * waited for. */
static int take_log(arca_event_batch *b)
{
	int64_t deadline = now_ms(CLOCK_MONOTONIC) + EVENT_WAIT_MS;
	int rc;

	for (;;) {
		rc = open_log(&b->log, b->conf, b->repo, b->key);
		if (rc == 0) {
			/* what earlier commands left while no arcad ran goes first */
			rc = arca_spool_drain_sync(b->conf->root, b->conf->node, b->log, say_rejected, NULL, NULL);
			if (rc < 0) {
				chain_log_close(b->log);
				b->log = NULL;
			}
			return rc;
		}
		if (rc != ARCA_EEXISTS)
			return rc;
		if (arca_spool_arcad_running(b->conf->root))
			return 0; /* through the spool */
		/* another command holds the log for a moment (or arcad is
		 * starting: it takes the spool's lock right after the log's) */
		if (now_ms(CLOCK_MONOTONIC) >= deadline)
			return arca_error_set(ARCA_EEXISTS,
					      "the provenance log of %s stayed locked for %d s by another process that is not arcad",
					      b->conf->node, EVENT_WAIT_MS / 1000);
		sleep_ms(EVENT_POLL_MS);
	}
}

static void batch_free(arca_event_batch *b)
{
	if (b == NULL)
		return;
	chain_log_close(b->log);
	chain_key_free(b->key);
	chain_pseudonym_key_free(b->ps);
	free(b->spooled);
	free(b);
}

int arca_event_batch_open(arca_event_batch **out, const arca_conf *conf)
{
	char key_path[PATH_MAX], ps_path[PATH_MAX];
	arca_event_batch *b;
	int rc;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for chain events");
	b->conf = conf;
	if ((rc = arca_node_path(key_path, sizeof(key_path), conf->root, ARCA_NODE_KEY_FILE)) < 0 ||
	    (rc = arca_node_path(ps_path, sizeof(ps_path), conf->root, ARCA_NODE_CONSORTIUM_FILE)) < 0 ||
	    (rc = arca_node_path(b->repo, sizeof(b->repo), conf->root, ARCA_NODE_LOG_REPO)) < 0)
		goto fail;
	/* an archive without a node key has no log: nothing to record */
	if (access(key_path, F_OK) != 0) {
		*out = b;
		return 0;
	}
	if ((rc = chain_key_load(&b->key, key_path)) < 0)
		goto fail;
	/* the patient only as the keyed pseudonym (docs/chain-format.md
	 * 6.5); an archive without a consortium key names no patient */
	if (access(ps_path, F_OK) == 0 && (rc = chain_pseudonym_key_load(&b->ps, ps_path)) < 0)
		goto fail;
	if ((rc = take_log(b)) < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	batch_free(b);
	return rc;
}

int arca_event_batch_add(arca_event_batch *b, chain_entry *e, const char *patient_id, const char *issuer,
			 uint64_t *index)
{
	bool own_user = false;
	int rc;

	if (index != NULL)
		*index = ARCA_EVENT_SPOOLED;
	if (b->key == NULL)
		return 0;
	/* a key change is `arca node rotate-key`'s alone: it switches keys */
	if (e->event == CHAIN_EVENT_KEY_CHANGE)
		return arca_error_set(ARCA_EINVAL, "a key change is recorded by arca node rotate-key only");
	e->index = 0;
	e->node = b->conf->node;
	if (e->time_ms == 0)
		e->time_ms = now_ms(CLOCK_REALTIME);
	if (e->actor_ae == NULL && e->actor_user == NULL) {
		if (b->user[0] == '\0')
			arca_event_user(b->user, sizeof(b->user));
		e->actor_user = b->user;
		own_user = true;
	}
	if (patient_id != NULL && patient_id[0] != '\0' && b->ps != NULL) {
		if ((rc = chain_pseudonym(b->ps, issuer, patient_id, e->patient)) < 0)
			goto out;
		e->has_patient = true;
	}
	if ((rc = chain_entry_check(e)) < 0)
		goto out;
	if (b->log != NULL) {
		uint64_t at = 0;
		if ((rc = chain_log_append(b->log, e, NULL, NULL, &at)) < 0)
			goto out;
		e->index = at;
		if (index != NULL)
			*index = at;
		/* the log's queue is bounded: a long batch is written as it goes */
		if (++b->n_direct % EVENT_FLUSH_EVERY == 0)
			rc = chain_log_flush(b->log);
		goto out;
	}
	if (b->n_spooled == b->cap_spooled) {
		size_t cap = b->cap_spooled != 0 ? 2 * b->cap_spooled : 8;
		char (*g)[ARCA_SPOOL_NAME_MAX] = realloc(b->spooled, cap * sizeof(*g));
		if (g == NULL) {
			rc = arca_error_set(ARCA_ENOMEM, "no memory for chain events");
			goto out;
		}
		b->spooled = g;
		b->cap_spooled = cap;
	}
	if ((rc = arca_spool_write(b->conf->root, e, b->spooled[b->n_spooled])) == 0)
		b->n_spooled++;
out:
	/* e stays the caller's: no pointer into the batch left in it */
	if (own_user)
		e->actor_user = NULL;
	return rc;
}

int arca_event_batch_close(arca_event_batch *b, bool *durable)
{
	int64_t deadline;
	bool all = true;
	int rc = 0;

	if (durable != NULL)
		*durable = false;
	if (b == NULL)
		return 0;
	if (b->key == NULL) {
		batch_free(b);
		return 0;
	}
	if (b->log != NULL) {
		rc = chain_log_flush(b->log);
		int crc = chain_log_close(b->log);
		b->log = NULL;
		if (rc == 0)
			rc = crc;
		all = rc == 0;
	}
	deadline = now_ms(CLOCK_MONOTONIC) + EVENT_WAIT_MS;
	for (size_t i = 0; i < b->n_spooled && rc == 0; i++) {
		bool done = false;
		rc = wait_spooled(b, b->spooled[i], deadline, &done);
		all = all && done;
	}
	if (rc == 0 && durable != NULL)
		*durable = all;
	batch_free(b);
	return rc;
}

int arca_event_record(const arca_conf *conf, chain_entry *e, const char *patient_id, const char *issuer,
		      bool *durable)
{
	return arca_event_record_index(conf, e, patient_id, issuer, durable, NULL);
}

int arca_event_record_index(const arca_conf *conf, chain_entry *e, const char *patient_id, const char *issuer,
			    bool *durable, uint64_t *index)
{
	arca_event_batch *b = NULL;
	int rc;

	if (durable != NULL)
		*durable = false;
	if (index != NULL)
		*index = ARCA_EVENT_SPOOLED;
	if ((rc = arca_event_batch_open(&b, conf)) < 0)
		return rc;
	if ((rc = arca_event_batch_add(b, e, patient_id, issuer, index)) < 0) {
		arca_event_batch_close(b, NULL);
		return rc;
	}
	return arca_event_batch_close(b, durable);
}
