/* arcad_chain.c - arcad's provenance chain events (see arcad_chain.h). */
#include "arcad_chain.h"

#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "arca_err.h"
#include "arca_node.h"
#include "arca_spool.h"
#include "chain_log.h"
#include "chain_pseudonym.h"
#include "pacs_svc_retrieve.h"
#include "store_study.h"
#include "store_study_cache.h"

/* PS3.6 tags read from the index records */
#define TAG_PATIENT_ID 0x00100020u
#define TAG_ISSUER_OF_PATIENT_ID 0x00100021u
#define TAG_STUDY_INSTANCE_UID 0x0020000Du
#define TAG_SOP_INSTANCE_UID 0x00080018u

/* An association's C-FINDs so far (query_events = summary). */
typedef struct query_tally {
	struct query_tally *next;
	uint64_t assoc_id;
	uint32_t requests, failed;
	uint64_t matches;
} query_tally;

struct arcad_chain {
	const arca_conf *conf;
	pacs_server_log_fn log;
	chain_key *key;
	chain_pseudonym_key *pseudonym; /* NULL: events name no patient */
	chain_log *chain;
	/* the study being received, kept between batches (record() runs
	 * one batch at a time: store_commit.h) */
	store_study_cache *studies;
	query_tally *tallies;           /* loop thread only */
	/* the spool (loop thread, but inflight and the async) */
	struct ev_loop *loop;
	int spool_fd;                   /* holds the spool's lock; -1 */
	int spool_ino;                  /* inotify on the spool directory, or -1 */
	ev_io spool_io;
	ev_timer spool_timer;
	ev_async spool_wake;            /* the last spooled entry in flight is durable */
	atomic_uint inflight;           /* spooled entries appended, not yet durable */
	atomic_bool watching;
	char spool_dir[PATH_MAX];
};

static void say(const arcad_chain *ch, enum pacs_server_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const arcad_chain *ch, enum pacs_server_log_level level, const char *fmt, ...)
{
	char line[2 * PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ch->log(NULL, level, line);
}

int arcad_chain_open(arcad_chain **out, const arca_conf *conf, pacs_server_log_fn log)
{
	char key_path[PATH_MAX], repo[PATH_MAX], ps_path[PATH_MAX];
	chain_log_config cfg;
	arcad_chain *ch;
	int rc;

	*out = NULL;
	if ((rc = arca_node_path(key_path, sizeof(key_path), conf->root, ARCA_NODE_KEY_FILE)) < 0 ||
	    (rc = arca_node_path(repo, sizeof(repo), conf->root, ARCA_NODE_LOG_REPO)) < 0 ||
	    (rc = arca_node_path(ps_path, sizeof(ps_path), conf->root, ARCA_NODE_CONSORTIUM_FILE)) < 0)
		return rc;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the provenance chain");
	ch->conf = conf;
	ch->log = log;
	ch->spool_fd = -1;
	ch->spool_ino = -1;
	if (access(key_path, F_OK) != 0) {
		say(ch, PACS_SERVER_LOG_WARNING,
		    "chain: no node key %s (made by `arca init`): running without provenance chain events", key_path);
		free(ch);
		return 0;
	}
	if ((rc = store_study_cache_new(&ch->studies)) < 0 || (rc = chain_key_load(&ch->key, key_path)) < 0)
		goto fail;
	if (access(ps_path, F_OK) != 0)
		say(ch, PACS_SERVER_LOG_WARNING, "chain: no consortium key %s: store events name no patient",
		    ps_path);
	else if ((rc = chain_pseudonym_key_load(&ch->pseudonym, ps_path)) < 0)
		goto fail;
	memset(&cfg, 0, sizeof(cfg));
	cfg.repo_path = repo;
	cfg.node = conf->node;
	cfg.key = ch->key;
	cfg.batch_entries = 1000;
	cfg.batch_ms = 20;
	cfg.background = true;
	if ((rc = chain_log_open(&ch->chain, &cfg)) < 0)
		goto fail;
	say(ch, PACS_SERVER_LOG_INFO, "chain: appending events to %s as node %s", repo, conf->node);
	*out = ch;
	return 0;
fail:
	chain_pseudonym_key_free(ch->pseudonym);
	chain_key_free(ch->key);
	store_study_cache_free(ch->studies);
	free(ch);
	return rc;
}

int arcad_chain_close(arcad_chain *ch)
{
	int rc;

	if (ch == NULL)
		return 0;
	arcad_chain_spool_stop(ch);
	/* the summaries of associations still counted (none after a normal
	 * shutdown: each ended) */
	while (ch->tallies != NULL) {
		query_tally *t = ch->tallies;
		ch->tallies = t->next;
		free(t);
	}
	rc = chain_log_close(ch->chain);
	if (ch->spool_fd >= 0)
		close(ch->spool_fd); /* after the last spooled entry is durable */
	chain_pseudonym_key_free(ch->pseudonym);
	chain_key_free(ch->key);
	store_study_cache_free(ch->studies);
	free(ch);
	return rc;
}

/* Did record i add to its study (so that the study hash changed)? */
static const char *added_study(store_index_instance *const *batch, const store_index_put_result *results,
			       size_t i)
{
	if (results[i].err != 0 || results[i].outcome == STORE_INDEX_DUPLICATE)
		return NULL;
	return store_index_instance_get(batch[i], TAG_STUDY_INSTANCE_UID);
}

/* One store event (PS3.15 A.5.3.7 DICOM Instances Transferred, action
 * Create: the archive received them) for study, carrying its hash over the
 * current instances in idx; actor_ae sent them ("" for this node), pid and
 * issuer name the patient (NULL: none).  *instances says how many the
 * event covers.  changes (n): what the batch just recorded did to the
 * study, for the study hash cache; NULL: the hash is read from the index. */
static int append_store(arcad_chain *ch, store_index *idx, const char *study, const store_study_change *changes,
			size_t n, const char *actor_ae, const char *pid, const char *issuer, uint32_t *instances,
			uint64_t *index)
{
	chain_entry e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.event = CHAIN_EVENT_INSTANCES_TRANSFERRED;
	e.action = CHAIN_ACTION_CREATE;
	e.outcome = CHAIN_OUTCOME_SUCCESS;
	e.actor_ae = actor_ae != NULL && actor_ae[0] != '\0' ? actor_ae : ch->conf->ae;
	e.study_uid = study;
	if (changes != NULL)
		rc = store_study_cache_hash(ch->studies, idx, study, changes, n, e.study_hash, &e.instances);
	else
		rc = store_study_hash(idx, study, e.study_hash, &e.instances);
	if (rc < 0)
		return rc;
	e.has_study_hash = true;
	if (instances != NULL)
		*instances = e.instances;
	if (e.instances == 0)
		return 0; /* left empty by a replacing version: nothing to describe */
	/* the patient only as the keyed pseudonym (issue 5 item 2) */
	if (ch->pseudonym != NULL && pid != NULL && pid[0] != '\0') {
		if ((rc = chain_pseudonym(ch->pseudonym, issuer, pid, e.patient)) < 0)
			return rc;
		e.has_patient = true;
	}
	return chain_log_append(ch->chain, &e, NULL, NULL, index);
}

/* What the records of study in the batch did to it, for the study hash
 * cache: changes[0..*m). */
static void study_changes(const char *study, store_index_instance *const *batch,
			  const store_index_put_result *results, size_t n, store_study_change *changes, size_t *m)
{
	*m = 0;
	for (size_t j = 0; j < n; j++) {
		const char *uid = store_index_instance_get(batch[j], TAG_STUDY_INSTANCE_UID);
		if (results[j].err != 0 || uid == NULL || strcmp(uid, study) != 0)
			continue;
		changes[*m].sop_uid = store_index_instance_get(batch[j], TAG_SOP_INSTANCE_UID);
		changes[*m].instance_hash = store_index_instance_storage(batch[j])->instance_hash;
		changes[*m].outcome = results[j].outcome;
		(*m)++;
	}
}

int arcad_chain_store_batch(void *ctx, store_index *idx, store_index_instance *const *batch,
			    const store_index_put_result *results, size_t n)
{
	arcad_chain *ch = ctx;
	store_study_change *changes;
	uint64_t last = 0;
	int64_t *gens;
	bool any = false;
	int rc = 0;

	/* gens[i]: the outbox mark of record i's study as read before its
	 * hash (store_index_pending_gen), for the studies given an event */
	gens = calloc(n != 0 ? n : 1, sizeof(*gens));
	changes = calloc(n != 0 ? n : 1, sizeof(*changes));
	if (gens == NULL || changes == NULL) {
		free(gens);
		free(changes);
		return arca_error_set(ARCA_ENOMEM, "no memory for the store events of a batch of %zu", n);
	}
	for (size_t i = 0; i < n; i++) {
		const char *study = added_study(batch, results, i);
		store_index_instance *inst = batch[i];
		uint32_t count = 0;
		bool seen = false;
		size_t m = 0;
		if (study == NULL)
			continue;
		for (size_t j = 0; j < i && !seen; j++) {
			const char *other = added_study(batch, results, j);
			seen = other != NULL && strcmp(other, study) == 0;
		}
		if (seen)
			continue;
		study_changes(study, batch, results, n, changes, &m);
		if ((rc = store_index_pending_gen(idx, study, &gens[i])) < 0 ||
		    (rc = append_store(ch, idx, study, changes, m, store_index_instance_storage(inst)->calling_ae,
				       store_index_instance_get(inst, TAG_PATIENT_ID),
				       store_index_instance_get(inst, TAG_ISSUER_OF_PATIENT_ID), &count, &last)) < 0)
			goto out;
		any = any || count > 0;
	}
	/* the C-STOREs of the batch are answered only once their events are
	 * durable (design.md 3.1 step 5) */
	if (any && (rc = chain_log_wait(ch->chain, last)) < 0)
		goto out;
	/* durable: the outbox marks go with the next index transaction; one
	 * lost costs a redundant event at the next start, never a missing one */
	for (size_t i = 0; i < n; i++)
		if (gens[i] > 0 && store_index_pending_done(idx, added_study(batch, results, i), gens[i]) < 0)
			say(ch, PACS_SERVER_LOG_WARNING, "chain: %s (the study gets its event again at the next start)",
			    arca_error_last());
out:
	/* a study of the batch not told to the cache (a failure stopped the
	 * loop) would leave it behind the index: forget it */
	if (rc < 0)
		store_study_cache_drop(ch->studies);
	free(changes);
	free(gens);
	return rc;
}

/* The patient of study as the index holds it (Patient ID and its issuer,
 * malloc'ed, NULL when absent). */
static int study_patient(store_index *idx, const char *study, char **pid, char **issuer)
{
	store_index_find *find = NULL;
	store_index_query *q = NULL;
	bool row = false;
	int rc;

	*pid = *issuer = NULL;
	if ((rc = store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY)) < 0)
		return rc;
	if ((rc = store_index_find_add(find, TAG_STUDY_INSTANCE_UID, study)) == 0 &&
	    (rc = store_index_find_add(find, TAG_PATIENT_ID, NULL)) == 0 &&
	    (rc = store_index_find_add(find, TAG_ISSUER_OF_PATIENT_ID, NULL)) == 0 &&
	    (rc = store_index_query_open(&q, idx, find)) == 0 && (rc = store_index_query_next(q, &row)) == 0 && row) {
		const char *p = store_index_query_value(q, TAG_PATIENT_ID);
		const char *i = store_index_query_value(q, TAG_ISSUER_OF_PATIENT_ID);
		if ((p != NULL && p[0] != '\0' && (*pid = strdup(p)) == NULL) ||
		    (i != NULL && i[0] != '\0' && (*issuer = strdup(i)) == NULL))
			rc = arca_error_set(ARCA_ENOMEM, "no memory for the patient of study %s", study);
	}
	store_index_query_free(q);
	store_index_find_free(find);
	return rc;
}

int arcad_chain_resolve_pending(arcad_chain *ch, store_index *idx)
{
	store_index_pending *p = NULL;
	size_t n = 0, appended = 0, failed = 0;
	uint64_t last = 0;
	bool *done;
	int rc;

	if ((rc = store_index_pending_list(idx, &p, &n)) < 0 || n == 0)
		return rc;
	if ((done = calloc(n, sizeof(*done))) == NULL) {
		free(p);
		return arca_error_set(ARCA_ENOMEM, "no memory for %zu pending studies", n);
	}
	say(ch, PACS_SERVER_LOG_INFO, "chain: %zu studies changed in the index without a durable store event "
	    "(the last run stopped in between): appending their events", n);
	for (size_t i = 0; i < n; i++) {
		char *pid = NULL, *issuer = NULL;
		uint32_t count = 0;
		/* the actor is this node: the senders of the instances were
		 * never answered, and their AEs are per instance anyway */
		if ((rc = study_patient(idx, p[i].study_uid, &pid, &issuer)) == 0)
			rc = append_store(ch, idx, p[i].study_uid, NULL, 0, NULL, pid, issuer, &count, &last);
		free(pid);
		free(issuer);
		if (rc < 0) {
			say(ch, PACS_SERVER_LOG_WARNING, "chain: study %s: %s (kept for the next start)", p[i].study_uid,
			    arca_error_last());
			failed++;
			continue;
		}
		done[i] = true;
		appended += count > 0;
	}
	rc = appended > 0 ? chain_log_wait(ch->chain, last) : 0;
	if (rc == 0) {
		for (size_t i = 0; i < n && rc == 0; i++)
			if (done[i])
				rc = store_index_pending_done(idx, p[i].study_uid, p[i].gen);
		if (rc == 0)
			rc = store_index_pending_flush(idx);
		if (rc == 0)
			say(ch, PACS_SERVER_LOG_INFO, "chain: %zu store events appended and durable, %zu studies left empty, "
			    "%zu failed", appended, n - appended - failed, failed);
	}
	free(done);
	free(p);
	return rc;
}

void arcad_chain_retrieve(void *ctx, const char *calling_ae, const struct pacs_svc_retrieve_event *ev)
{
	arcad_chain *ch = ctx;
	chain_entry e;

	memset(&e, 0, sizeof(e));
	/* PS3.15 A.5.3.7: DICOM Instances Transferred, action Read for the
	 * sender */
	e.event = CHAIN_EVENT_INSTANCES_TRANSFERRED;
	e.action = CHAIN_ACTION_READ;
	if (ev->status == 0x0000)
		e.outcome = CHAIN_OUTCOME_SUCCESS;
	else if (ev->status == 0xB000 || ev->status == 0xFE00)
		e.outcome = CHAIN_OUTCOME_MINOR_FAILURE; /* some sent: warnings, or cancelled */
	else
		e.outcome = CHAIN_OUTCOME_SERIOUS_FAILURE;
	e.actor_ae = calling_ae != NULL && calling_ae[0] != '\0' ? calling_ae : ch->conf->ae;
	if (ev->study_uid != NULL && ev->study_uid[0] != '\0') {
		e.study_uid = ev->study_uid;
		e.instances = ev->completed + ev->warning;
	}
	if (ev->destination != NULL && ev->destination[0] != '\0')
		e.peer = ev->destination;
	/* PS3.15 A.5.3.7: the requesting user is an active participant; the
	 * name the identity check accepted goes with the calling AE.  A name
	 * the entry rules refuse (control characters, not UTF-8, too long) is
	 * left out, with one log line, rather than the event lost. */
	if (ev->user != NULL && ev->user[0] != '\0') {
		e.actor_user = ev->user;
		e.node = ch->conf->node;
		e.time_ms = 1; /* for the check only: the log stamps it */
		if (chain_entry_check(&e) < 0) {
			say(ch, PACS_SERVER_LOG_WARNING,
			    "chain: the user name of \"%s\"'s %s is left out of the retrieve event: %s",
			    e.actor_ae, ev->service, arca_error_last());
			e.actor_user = NULL;
		}
		e.node = NULL;
		e.time_ms = 0;
	}
	if (chain_log_append(ch->chain, &e, NULL, NULL, NULL) < 0)
		say(ch, PACS_SERVER_LOG_WARNING, "chain: retrieve event not appended: %s", arca_error_last());
}

/* ---------------------------------------------------------- queries */

/* RFC 3881 / PS3.15 A.5.1 outcome of a C-FIND's final status. */
static uint8_t query_outcome(uint16_t status)
{
	if (status == 0x0000)
		return CHAIN_OUTCOME_SUCCESS;
	if (status == 0xFE00)
		return CHAIN_OUTCOME_MINOR_FAILURE; /* cancelled by the requestor */
	return CHAIN_OUTCOME_SERIOUS_FAILURE;
}

/* One Query event (PS3.15 A.5.3.10: DICOM Query, DCM 110112, action
 * Execute; the requestor is the actor and the peer).  The query keys are
 * never recorded: a query's identifier may hold a patient's name. */
static void append_query(arcad_chain *ch, const char *calling_ae, const char *user, uint32_t requests,
			 uint64_t matches, uint8_t outcome)
{
	chain_query q = { requests, matches };
	chain_entry e;

	memset(&e, 0, sizeof(e));
	e.event = CHAIN_EVENT_QUERY;
	e.action = CHAIN_ACTION_EXECUTE;
	e.outcome = outcome;
	e.actor_ae = calling_ae != NULL && calling_ae[0] != '\0' ? calling_ae : ch->conf->ae;
	e.peer = e.actor_ae;
	e.query = &q;
	/* the user the identity check accepted (PS3.15 A.5.3.10: the
	 * requestor's UserID); a name the entry rules refuse (control
	 * characters, not UTF-8) is left out rather than the event lost */
	if (user != NULL && user[0] != '\0') {
		e.actor_user = user;
		e.node = ch->conf->node;
		e.time_ms = 1; /* for the check only: the log stamps it */
		if (chain_entry_check(&e) < 0)
			e.actor_user = NULL;
		e.time_ms = 0;
	}
	if (chain_log_append(ch->chain, &e, NULL, NULL, NULL) < 0)
		say(ch, PACS_SERVER_LOG_WARNING, "chain: query event not appended: %s", arca_error_last());
}

void arcad_chain_query(void *ctx, const pacs_server_query_event *ev)
{
	arcad_chain *ch = ctx;
	query_tally *t;

	switch (ch->conf->query_events) {
	case ARCA_CONF_QUERY_EVENTS_OFF:
		return;
	case ARCA_CONF_QUERY_EVENTS_EVERY:
		append_query(ch, ev->calling_ae, ev->user, 1, ev->matches, query_outcome(ev->status));
		return;
	case ARCA_CONF_QUERY_EVENTS_SUMMARY:
		break;
	}
	for (t = ch->tallies; t != NULL && t->assoc_id != ev->assoc_id; t = t->next)
		;
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		if (t == NULL) {
			say(ch, PACS_SERVER_LOG_WARNING, "chain: no memory to count the queries of \"%s\"",
			    ev->calling_ae);
			return;
		}
		t->assoc_id = ev->assoc_id;
		t->next = ch->tallies;
		ch->tallies = t;
	}
	if (t->requests < UINT32_MAX)
		t->requests++;
	if (query_outcome(ev->status) != CHAIN_OUTCOME_SUCCESS)
		t->failed++;
	if (ev->matches <= CHAIN_ENTRY_MAX_NUMBER - t->matches)
		t->matches += ev->matches;
}

void arcad_chain_assoc_end(void *ctx, uint64_t assoc_id, const char *calling_ae, const char *user)
{
	arcad_chain *ch = ctx;
	query_tally **pp, *t;
	uint8_t outcome;

	for (pp = &ch->tallies; *pp != NULL && (*pp)->assoc_id != assoc_id; pp = &(*pp)->next)
		;
	if ((t = *pp) == NULL)
		return; /* it made no query */
	*pp = t->next;
	/* every query answered: success; some failed: minor; all: serious */
	outcome = t->failed == 0 ? CHAIN_OUTCOME_SUCCESS
				 : t->failed < t->requests ? CHAIN_OUTCOME_MINOR_FAILURE : CHAIN_OUTCOME_SERIOUS_FAILURE;
	append_query(ch, calling_ae, user, t->requests, t->matches, outcome);
	free(t);
}

/* ---------------------------------------------------------- the spool */

typedef struct spooled {
	arcad_chain *ch;
	char name[ARCA_SPOOL_NAME_MAX];
} spooled;

/* Flusher thread: the entry of a spool file is durable (or failed). */
static void spool_durable(void *arg, uint64_t index, int status)
{
	spooled *sp = arg;
	arcad_chain *ch = sp->ch;

	if (status < 0)
		say(ch, PACS_SERVER_LOG_WARNING, "chain: spooled event %s (entry %" PRIu64 ") not durable; kept for the next start",
		    sp->name, index);
	else if (arca_spool_remove(ch->conf->root, sp->name, false) < 0)
		say(ch, PACS_SERVER_LOG_WARNING, "chain: entry %" PRIu64 " is durable but %s", index, arca_error_last());
	free(sp);
	if (atomic_fetch_sub(&ch->inflight, 1) != 1)
		return;
	/* the last of the round: one directory sync for its removals (one
	 * lost in a crash would only append the entry again) */
	if (arca_spool_sync(ch->conf->root) < 0)
		say(ch, PACS_SERVER_LOG_WARNING, "chain: spool: %s", arca_error_last());
	if (atomic_load(&ch->watching))
		ev_async_send(ch->loop, &ch->spool_wake);
}

/* Loop thread: appends what the spool holds.  While entries of an earlier
 * drain are in flight their files are still there: the drain waits for
 * them (spool_wake) rather than append them twice. */
static void spool_drain(arcad_chain *ch)
{
	char **names = NULL;
	size_t n = 0;

	if (atomic_load(&ch->inflight) > 0)
		return;
	if (arca_spool_list(ch->conf->root, &names, &n) < 0) {
		say(ch, PACS_SERVER_LOG_WARNING, "chain: spool: %s", arca_error_last());
		return;
	}
	for (size_t i = 0; i < n; i++) {
		chain_entry *e = NULL;
		spooled *sp;
		uint64_t index = 0;
		int rc = arca_spool_read(&e, ch->conf->root, names[i], ch->conf->node);

		if (rc == ARCA_ENOTFOUND)
			continue;
		if (rc == ARCA_EPROTO || rc == ARCA_ELIMIT) {
			char why[512];
			snprintf(why, sizeof(why), "%s", arca_error_last());
			if (arca_spool_reject(ch->conf->root, names[i]) < 0)
				say(ch, PACS_SERVER_LOG_WARNING, "chain: spool file %s is malformed (%s) and %s", names[i],
				    why, arca_error_last());
			else
				say(ch, PACS_SERVER_LOG_WARNING, "chain: spool file %s set aside in %s/" ARCA_SPOOL_REJECTED ": %s",
				    names[i], ch->spool_dir, why);
			continue;
		}
		if (rc < 0) {
			say(ch, PACS_SERVER_LOG_WARNING, "chain: spool file %s: %s", names[i], arca_error_last());
			break;
		}
		sp = calloc(1, sizeof(*sp));
		if (sp == NULL) {
			chain_entry_free(e);
			say(ch, PACS_SERVER_LOG_WARNING, "chain: no memory for spooled events");
			break;
		}
		sp->ch = ch;
		snprintf(sp->name, sizeof(sp->name), "%s", names[i]);
		atomic_fetch_add(&ch->inflight, 1);
		rc = chain_log_append(ch->chain, e, spool_durable, sp, &index);
		if (rc < 0) {
			atomic_fetch_sub(&ch->inflight, 1);
			free(sp);
			say(ch, PACS_SERVER_LOG_WARNING, "chain: spool file %s not appended (left for later): %s", names[i],
			    arca_error_last());
			chain_entry_free(e);
			break;
		}
		say(ch, PACS_SERVER_LOG_INFO, "chain: entry %" PRIu64 " (%s by %s) from the spool, %s", index,
		    chain_event_code(e->event), e->actor_user != NULL ? e->actor_user : e->actor_ae, names[i]);
		chain_entry_free(e);
	}
	arca_spool_names_free(names, n);
}

/* inotify: a file was renamed into the spool (how commands write them). */
static void on_spool_io(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)loop;
	(void)revents;
	/* the events only say "look": the directory is the truth */
	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
	spool_drain(w->data);
}

static void on_spool_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	spool_drain(w->data);
}

static void on_spool_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	spool_drain(w->data);
}

int arcad_chain_spool_start(arcad_chain *ch, struct ev_loop *loop)
{
	int rc;

	if ((rc = arca_spool_path(ch->spool_dir, sizeof(ch->spool_dir), ch->conf->root, NULL)) < 0 ||
	    (rc = arca_spool_lock(ch->conf->root, &ch->spool_fd)) < 0)
		return rc;
	ch->loop = loop;
	/* inotify wakes the loop as a command renames its file in, so the
	 * command waits for one batch (20 ms) and no more; ev_stat would not
	 * do (it compares whole-second times, and misses a second file within
	 * the second).  The timer catches what inotify cannot see (a file
	 * copied in place, an inotify queue overflow): every second, or every
	 * 100 ms where inotify is unavailable. */
	ch->spool_ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ch->spool_ino >= 0 && inotify_add_watch(ch->spool_ino, ch->spool_dir, IN_MOVED_TO) < 0) {
		close(ch->spool_ino);
		ch->spool_ino = -1;
	}
	if (ch->spool_ino < 0)
		say(ch, PACS_SERVER_LOG_WARNING, "chain: no inotify on %s (%s): looking every 100 ms", ch->spool_dir,
		    strerror(errno));
	ev_timer_init(&ch->spool_timer, on_spool_timer, ch->spool_ino >= 0 ? 1. : 0.1, ch->spool_ino >= 0 ? 1. : 0.1);
	ev_async_init(&ch->spool_wake, on_spool_wake);
	ch->spool_timer.data = ch->spool_wake.data = ch;
	if (ch->spool_ino >= 0) {
		ev_io_init(&ch->spool_io, on_spool_io, ch->spool_ino, EV_READ);
		ch->spool_io.data = ch;
		ev_io_start(loop, &ch->spool_io);
	}
	ev_timer_start(loop, &ch->spool_timer);
	ev_async_start(loop, &ch->spool_wake);
	atomic_store(&ch->watching, true);
	say(ch, PACS_SERVER_LOG_INFO, "chain: taking events of arca commands from %s", ch->spool_dir);
	{
		size_t removed = 0;
		if (arca_spool_clean(ch->conf->root, 3600, &removed) < 0)
			say(ch, PACS_SERVER_LOG_WARNING, "chain: spool: %s", arca_error_last());
		else if (removed > 0)
			say(ch, PACS_SERVER_LOG_INFO, "chain: removed %zu partial spool files of commands that died", removed);
	}
	/* what commands left while no arcad ran */
	spool_drain(ch);
	return 0;
}

void arcad_chain_spool_stop(arcad_chain *ch)
{
	/* ch->loop stays set: a flusher callback may still read it (it
	 * checks watching first; the loop outlives the chain) */
	if (ch == NULL || ch->loop == NULL || !atomic_exchange(&ch->watching, false))
		return;
	if (ch->spool_ino >= 0) {
		ev_io_stop(ch->loop, &ch->spool_io);
		close(ch->spool_ino);
		ch->spool_ino = -1;
	}
	ev_timer_stop(ch->loop, &ch->spool_timer);
	ev_async_stop(ch->loop, &ch->spool_wake);
}
