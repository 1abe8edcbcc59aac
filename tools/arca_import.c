/* arca_import.c - the import session (see arca_import.h): the ingest
 * opened as arcad opens it, the commit workers, and what the ingest's
 * batch hook says about each instance (new, duplicate, new version). */
#include "arca_import_priv.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "arca_node.h"
#include "pacs_dimse.h"

#define TAG_PATIENT_ID PACS_TAG(0x0010, 0x0020)
#define TAG_ISSUER PACS_TAG(0x0010, 0x0021)
#define TAG_STUDY_UID PACS_TAG(0x0020, 0x000D)
#define TAG_SOP_UID PACS_TAG(0x0008, 0x0018)

#define DEFAULT_WORKERS 8u
#define MAX_WORKERS 64u

double arca_import__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* ------------------------------------------------------------ counting */

static void add_problem(arca_import *im, import_kind kind, const char *name, const char *reason)
{
	import_problem *p;

	if (im->n_problems == im->cap_problems) {
		size_t cap = im->cap_problems != 0 ? 2 * im->cap_problems : 16;
		import_problem *g = realloc(im->problems, cap * sizeof(*g));
		if (g == NULL)
			return; /* counted, not named */
		im->problems = g;
		im->cap_problems = cap;
	}
	p = &im->problems[im->n_problems];
	p->kind = kind;
	p->name = strdup(name != NULL ? name : "?");
	p->reason = strdup(reason != NULL ? reason : "");
	if (p->name == NULL || p->reason == NULL) {
		free(p->name);
		free(p->reason);
		return;
	}
	im->n_problems++;
}

void arca_import__count(arca_import *im, import_kind kind, const char *name, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	reason[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_lock(&im->mu);
	im->counts[kind]++;
	if (kind >= IMPORT_QUARANTINED && kind != IMPORT_DICOMDIR)
		add_problem(im, kind, name, reason);
	pthread_mutex_unlock(&im->mu);
}

/* Under im->mu: the study gained one instance. */
static void study_added(arca_import *im, const import_outcome *o, const char *peer)
{
	import_study *s = NULL;

	for (size_t i = 0; i < im->n_studies && s == NULL; i++)
		if (strcmp(im->studies[i].uid, o->study) == 0)
			s = &im->studies[i];
	if (s == NULL) {
		if (im->n_studies == im->cap_studies) {
			size_t cap = im->cap_studies != 0 ? 2 * im->cap_studies : 16;
			import_study *g = realloc(im->studies, cap * sizeof(*g));
			if (g == NULL)
				return;
			im->studies = g;
			im->cap_studies = cap;
		}
		s = &im->studies[im->n_studies++];
		memset(s, 0, sizeof(*s));
		snprintf(s->uid, sizeof(s->uid), "%s", o->study);
		s->patient_id = dup_or_null(o->patient_id);
		s->issuer = dup_or_null(o->issuer);
		s->peer = dup_or_null(peer);
	}
	s->added++;
}

/* ------------------------------------------------------------ the batch hook */

/* Committer thread, after the index transaction of a batch: what each
 * record became, for the worker whose commit it is. */
static int on_batch(void *ctx, store_index *idx, store_index_instance *const *batch,
		    const store_index_put_result *results, size_t n)
{
	arca_import *im = ctx;

	(void)idx;
	pthread_mutex_lock(&im->mu);
	for (size_t i = 0; i < n; i++) {
		import_outcome *o;
		const char *sop = store_index_instance_get(batch[i], TAG_SOP_UID);
		const char *study = store_index_instance_get(batch[i], TAG_STUDY_UID);
		if (im->n_outs == im->cap_outs) {
			size_t cap = im->cap_outs != 0 ? 2 * im->cap_outs : 64;
			import_outcome *g = realloc(im->outs, cap * sizeof(*g));
			if (g == NULL) {
				pthread_mutex_unlock(&im->mu);
				return arca_error_set(ARCA_ENOMEM, "no memory for the import's outcomes");
			}
			im->outs = g;
			im->cap_outs = cap;
		}
		o = &im->outs[im->n_outs++];
		memset(o, 0, sizeof(*o));
		snprintf(o->sop, sizeof(o->sop), "%s", sop != NULL ? sop : "");
		snprintf(o->study, sizeof(o->study), "%s", study != NULL ? study : "");
		o->patient_id = dup_or_null(store_index_instance_get(batch[i], TAG_PATIENT_ID));
		o->issuer = dup_or_null(store_index_instance_get(batch[i], TAG_ISSUER));
		o->outcome = results[i].outcome;
		o->err = results[i].err;
	}
	pthread_mutex_unlock(&im->mu);
	return 0;
}

/* Under im->mu: takes the outcome the hook recorded for sop. */
static bool take_outcome(arca_import *im, const char *sop, import_outcome *out)
{
	for (size_t i = 0; i < im->n_outs; i++) {
		if (strcmp(im->outs[i].sop, sop) == 0) {
			*out = im->outs[i];
			im->outs[i] = im->outs[--im->n_outs];
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ workers */

static void finish_job(arca_import *im, import_job *job, int rc, const pacs_ingest_result *res, const char *msg)
{
	enum pacs_dimse_status_category cat = pacs_dimse_status_category(res->status);
	import_outcome o;
	bool have;

	if (rc < 0) {
		arca_import__count(im, IMPORT_UNREADABLE, job->name, "not stored: %s", msg);
		return;
	}
	if (cat == PACS_DIMSE_STATUS_FAILURE) {
		/* the ingest kept it in ROOT/quarantine with the reason */
		arca_import__count(im, IMPORT_QUARANTINED, job->name, "0x%04X %s", res->status,
				   res->comment[0] != '\0' ? res->comment : pacs_dimse_status_name(res->status));
		return;
	}
	pthread_mutex_lock(&im->mu);
	have = take_outcome(im, job->sop, &o);
	if (!have) {
		/* committed, but the hook did not name it: count it as stored */
		memset(&o, 0, sizeof(o));
		o.outcome = STORE_INDEX_NEW;
	}
	if (cat == PACS_DIMSE_STATUS_WARNING)
		im->warnings++;
	im->bytes_stored += job->bytes;
	switch (o.outcome) {
	case STORE_INDEX_DUPLICATE:
		im->counts[IMPORT_DUPLICATE]++;
		break;
	case STORE_INDEX_VERSION_KEPT:
	case STORE_INDEX_VERSION_REPLACED:
		im->counts[IMPORT_VERSION]++;
		if (have)
			study_added(im, &o, job->peer);
		break;
	default:
		im->counts[IMPORT_NEW]++;
		if (have)
			study_added(im, &o, job->peer);
		break;
	}
	pthread_mutex_unlock(&im->mu);
	free(o.patient_id);
	free(o.issuer);
}

static void job_free(import_job *job)
{
	if (job == NULL)
		return;
	pacs_ds_free(job->ds);
	free(job->name);
	free(job->peer);
	free(job);
}

static void *worker(void *arg)
{
	arca_import *im = arg;

	for (;;) {
		import_job *job;
		pacs_ingest_result res;
		char msg[512];
		int rc;

		pthread_mutex_lock(&im->mu);
		while (im->head == NULL && !im->stop)
			pthread_cond_wait(&im->work, &im->mu);
		if (im->head == NULL) {
			pthread_mutex_unlock(&im->mu);
			return NULL;
		}
		job = im->head;
		im->head = job->next;
		if (im->head == NULL)
			im->tail = NULL;
		im->queued--;
		im->busy++;
		pthread_cond_signal(&im->space);
		pthread_mutex_unlock(&im->mu);

		memset(&res, 0, sizeof(res));
		/* the commit owns the data set and ends the transaction */
		rc = im->ingest.ops->commit(job->txn, job->ds, &res);
		job->ds = NULL;
		job->txn = NULL;
		msg[0] = '\0';
		if (rc < 0)
			snprintf(msg, sizeof(msg), "%s", arca_error_last());
		finish_job(im, job, rc, &res, msg);
		job_free(job);

		pthread_mutex_lock(&im->mu);
		im->busy--;
		if (im->head == NULL && im->busy == 0)
			pthread_cond_broadcast(&im->idle);
		pthread_mutex_unlock(&im->mu);
	}
}

int arca_import__submit(arca_import *im, import_job *job)
{
	pthread_mutex_lock(&im->mu);
	while (im->queued >= im->max_queued)
		pthread_cond_wait(&im->space, &im->mu);
	job->next = NULL;
	if (im->tail != NULL)
		im->tail->next = job;
	else
		im->head = job;
	im->tail = job;
	im->queued++;
	pthread_cond_signal(&im->work);
	pthread_mutex_unlock(&im->mu);
	return 0;
}

void arca_import__drain(arca_import *im)
{
	pthread_mutex_lock(&im->mu);
	while (im->head != NULL || im->busy > 0)
		pthread_cond_wait(&im->idle, &im->mu);
	pthread_mutex_unlock(&im->mu);
}

/* ------------------------------------------------------------ session */

int arca_import_open(arca_import **out, const arca_conf *conf, const arca_import_opts *opts)
{
	store_ingest_cas_options co;
	arca_import *im;
	unsigned workers = opts != NULL && opts->workers != 0 ? opts->workers : DEFAULT_WORKERS;
	int rc;

	*out = NULL;
	if (strcmp(conf->storage_backend, "cas") != 0)
		return arca_error_set(ARCA_EUNSUPPORTED,
				      "[storage] backend = %s: arca import needs the content-addressed store (backend = cas)",
				      conf->storage_backend);
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	im = calloc(1, sizeof(*im));
	if (im == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for an import");
	im->conf = conf;
	snprintf(im->ae, sizeof(im->ae), "%s", opts != NULL && opts->ae != NULL ? opts->ae : ARCA_IMPORT_DEFAULT_AE);
	im->progress = opts != NULL && opts->progress;
	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->work, NULL);
	pthread_cond_init(&im->space, NULL);
	pthread_cond_init(&im->idle, NULL);
	im->max_queued = 2 * (size_t)workers;
	im->t0 = arca_import__now();

	/* the ingest exactly as arcad opens it (tools/arcad.c) */
	store_ingest_cas_options_init(&co);
	co.zstd_level = conf->zstd_level;
	co.codec = conf->codec;
	co.encrypt = conf->encrypt;
	co.rules = conf->storage_rules;
	co.index = conf->index_path;
	if ((rc = store_ingest_cas_open(&im->cas, conf->storage_path, &co)) < 0) {
		arca_import_free(im);
		return rc;
	}
	store_ingest_cas_ingest(im->cas, &im->ingest);
	store_ingest_cas_set_batch_hook(im->cas, on_batch, im);
	/* the chain outbox (store_index.h): with a node key, each study the
	 * import changes stays marked until its Import event is durable, so
	 * that an interrupted import is told to the chain by the next arcad
	 * start (arcad_chain_resolve_pending) */
	{
		char key[PATH_MAX];
		if (arca_node_path(key, sizeof(key), conf->root, ARCA_NODE_KEY_FILE) == 0 && access(key, F_OK) == 0)
			store_index_pending_track(store_ingest_cas_index(im->cas), true);
	}

	im->threads = calloc(workers, sizeof(*im->threads));
	if (im->threads == NULL) {
		arca_import_free(im);
		return arca_error_set(ARCA_ENOMEM, "no memory for the import's workers");
	}
	for (unsigned i = 0; i < workers; i++) {
		if (pthread_create(&im->threads[i], NULL, worker, im) != 0) {
			arca_import_free(im);
			return arca_error_set(ARCA_EGENERIC, "cannot start the import's commit workers");
		}
		im->n_threads++;
	}
	*out = im;
	return 0;
}

int arca_import_finish(arca_import *im)
{
	arca_import__drain(im);
	im->elapsed = arca_import__now() - im->t0;
	arca_import__progress(im, true);
	return arca_import__events(im);
}

int arca_import_exit_status(const arca_import *im)
{
	return im->counts[IMPORT_QUARANTINED] + im->counts[IMPORT_REFUSED] + im->counts[IMPORT_UNREADABLE] > 0 ? 1 : 0;
}

void arca_import_free(arca_import *im)
{
	if (im == NULL)
		return;
	pthread_mutex_lock(&im->mu);
	im->stop = true;
	pthread_cond_broadcast(&im->work);
	pthread_mutex_unlock(&im->mu);
	for (unsigned i = 0; i < im->n_threads; i++)
		pthread_join(im->threads[i], NULL);
	free(im->threads);
	/* jobs never committed (an interrupted import) are aborted */
	while (im->head != NULL) {
		import_job *job = im->head;
		im->head = job->next;
		if (job->txn != NULL)
			im->ingest.ops->abort(job->txn);
		job_free(job);
	}
	store_ingest_cas_free(im->cas);
	for (size_t i = 0; i < im->n_outs; i++) {
		free(im->outs[i].patient_id);
		free(im->outs[i].issuer);
	}
	free(im->outs);
	for (size_t i = 0; i < im->n_problems; i++) {
		free(im->problems[i].name);
		free(im->problems[i].reason);
	}
	free(im->problems);
	for (size_t i = 0; i < im->n_studies; i++) {
		free(im->studies[i].patient_id);
		free(im->studies[i].issuer);
		free(im->studies[i].peer);
	}
	free(im->studies);
	free(im->dirs_dev);
	free(im->dirs_ino);
	pthread_mutex_destroy(&im->mu);
	pthread_cond_destroy(&im->work);
	pthread_cond_destroy(&im->space);
	pthread_cond_destroy(&im->idle);
	free(im);
}
