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
 * for a bounded time. */
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

/* With the writer lock: what the spool holds, then e; durable on 0. */
static int append_direct(const arca_conf *conf, chain_log *log, chain_entry *e)
{
	uint64_t index = 0;
	int rc;

	if ((rc = arca_spool_drain_sync(conf->root, conf->node, log, say_rejected, NULL, NULL)) < 0)
		return rc;
	if ((rc = chain_log_append(log, e, NULL, NULL, &index)) < 0 || (rc = chain_log_flush(log)) < 0)
		return rc;
	e->index = index;
	return 0;
}

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
 * or arcad has stopped (then drain it ourselves), or the time is up. */
static int wait_spooled(const arca_conf *conf, const char *repo, const chain_key *key, const char *name,
			bool *durable)
{
	int64_t deadline = now_ms(CLOCK_MONOTONIC) + EVENT_WAIT_MS;
	chain_log *log = NULL;
	int rc;

	for (;;) {
		if (!arca_spool_exists(conf->root, name)) {
			if (arca_spool_was_rejected(conf->root, name))
				return arca_error_set(ARCA_EPROTO, "arcad refused the spooled event %s (see its log)",
						      name);
			*durable = true;
			return 0;
		}
		if (!arca_spool_arcad_running(conf->root)) {
			rc = open_log(&log, conf, repo, key);
			if (rc == 0) {
				rc = arca_spool_drain_sync(conf->root, conf->node, log, say_rejected, NULL, NULL);
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

static int record(const arca_conf *conf, chain_entry *e, const char *repo, const chain_key *key, bool *durable,
		  uint64_t *index)
{
	int64_t deadline = now_ms(CLOCK_MONOTONIC) + EVENT_WAIT_MS;
	char name[ARCA_SPOOL_NAME_MAX];
	chain_log *log = NULL;
	int rc;

	for (;;) {
		rc = open_log(&log, conf, repo, key);
		if (rc == 0) {
			rc = append_direct(conf, log, e);
			int crc = chain_log_close(log);
			if (rc == 0)
				rc = crc;
			if (rc == 0) {
				*durable = true;
				*index = e->index;
			}
			return rc;
		}
		if (rc != ARCA_EEXISTS)
			return rc;
		if (arca_spool_arcad_running(conf->root))
			break;
		/* another command holds the log for a moment (or arcad is
		 * starting: it takes the spool's lock right after the log's) */
		if (now_ms(CLOCK_MONOTONIC) >= deadline)
			return arca_error_set(ARCA_EEXISTS,
					      "the provenance log of %s stayed locked for %d s by another process that is not arcad",
					      conf->node, EVENT_WAIT_MS / 1000);
		sleep_ms(EVENT_POLL_MS);
	}
	if ((rc = arca_spool_write(conf->root, e, name)) < 0)
		return rc;
	return wait_spooled(conf, repo, key, name, durable);
}

int arca_event_record(const arca_conf *conf, chain_entry *e, const char *patient_id, const char *issuer,
		      bool *durable)
{
	return arca_event_record_index(conf, e, patient_id, issuer, durable, NULL);
}

int arca_event_record_index(const arca_conf *conf, chain_entry *e, const char *patient_id, const char *issuer,
			    bool *durable, uint64_t *index)
{
	uint64_t at = ARCA_EVENT_SPOOLED;
	char key_path[PATH_MAX], ps_path[PATH_MAX], repo[PATH_MAX], user[CHAIN_ENTRY_TEXT_MAX + 1];
	chain_pseudonym_key *ps = NULL;
	chain_key *key = NULL;
	bool done = false;
	int rc;

	if (durable != NULL)
		*durable = false;
	if (index != NULL)
		*index = ARCA_EVENT_SPOOLED;
	if ((rc = arca_node_path(key_path, sizeof(key_path), conf->root, ARCA_NODE_KEY_FILE)) < 0 ||
	    (rc = arca_node_path(ps_path, sizeof(ps_path), conf->root, ARCA_NODE_CONSORTIUM_FILE)) < 0 ||
	    (rc = arca_node_path(repo, sizeof(repo), conf->root, ARCA_NODE_LOG_REPO)) < 0)
		return rc;
	/* an archive without a node key has no log: nothing to record */
	if (access(key_path, F_OK) != 0)
		return 0;
	e->index = 0;
	e->node = conf->node;
	if (e->time_ms == 0)
		e->time_ms = now_ms(CLOCK_REALTIME);
	/* a key change is `arca node rotate-key`'s alone: it switches keys */
	if (e->event == CHAIN_EVENT_KEY_CHANGE)
		return arca_error_set(ARCA_EINVAL, "a key change is recorded by arca node rotate-key only");
	if (e->actor_ae == NULL && e->actor_user == NULL) {
		arca_event_user(user, sizeof(user));
		e->actor_user = user;
	}
	/* the patient only as the keyed pseudonym (docs/chain-format.md
	 * 6.5); an archive without a consortium key names no patient */
	if (patient_id != NULL && patient_id[0] != '\0' && access(ps_path, F_OK) == 0) {
		if ((rc = chain_pseudonym_key_load(&ps, ps_path)) < 0 ||
		    (rc = chain_pseudonym(ps, issuer, patient_id, e->patient)) < 0)
			goto out;
		e->has_patient = true;
	}
	if ((rc = chain_entry_check(e)) < 0 || (rc = chain_key_load(&key, key_path)) < 0)
		goto out;
	rc = record(conf, e, repo, key, &done, &at);
	if (rc == 0 && durable != NULL)
		*durable = done;
	if (rc == 0 && index != NULL)
		*index = at;
out:
	if (e->actor_user == user)
		e->actor_user = NULL;
	chain_key_free(key);
	chain_pseudonym_key_free(ps);
	return rc;
}
