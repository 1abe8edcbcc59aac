/* arca_import_report.c - what `arca import` tells: the progress bar on a
 * terminal, the summary (text or JSON), and the provenance events (one
 * DCM 110107 Import per study that gained instances, PS3.15 A.5.3.5). */
#include "arca_import_priv.h"

#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "arca_event.h"
#include "store_study.h"
#include "pacs_utf8.h"
#include "store_instance.h"

#define TAG_SOP_INSTANCE PACS_TAG(0x0008, 0x0018)
#define TAG_STUDY_INSTANCE PACS_TAG(0x0020, 0x000D)

static const char *const kind_names[IMPORT_KINDS] = {
	[IMPORT_NEW] = "imported",
	[IMPORT_DUPLICATE] = "duplicates",
	[IMPORT_VERSION] = "new_versions",
	[IMPORT_QUARANTINED] = "quarantined",
	[IMPORT_REFUSED] = "refused",
	[IMPORT_NOT_DICOM] = "not_dicom",
	[IMPORT_DICOMDIR] = "dicomdir_skipped",
	[IMPORT_UNREADABLE] = "unreadable",
	[IMPORT_NOTE] = "notes",
};

/* ------------------------------------------------------------ progress */

void arca_import__progress(arca_import *im, bool final)
{
	enum { WIDTH = 30 };
	double now, rate;
	uint64_t stored;
	char bar[WIDTH + 1];
	int fill;

	if (!im->progress)
		return;
	now = arca_import__now();
	if (!final && now - im->last_draw < 0.1)
		return;
	im->last_draw = now;
	if (final && im->done_bytes < im->plan_bytes)
		im->done_bytes = im->plan_bytes; /* what was not read was skipped */
	pthread_mutex_lock(&im->mu);
	stored = im->counts[IMPORT_NEW] + im->counts[IMPORT_DUPLICATE] + im->counts[IMPORT_VERSION];
	pthread_mutex_unlock(&im->mu);
	rate = now > im->t0 ? (double)stored / (now - im->t0) : 0.0;
	fill = im->plan_bytes > 0 ? (int)((double)im->done_bytes * WIDTH / (double)im->plan_bytes) : 0;
	if (fill > WIDTH)
		fill = WIDTH;
	for (int i = 0; i < WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[WIDTH] = '\0';
	fprintf(stderr, "\r[%s] %3d%%  %llu files  %.1f/%.1f MB  %llu stored  %.0f/s ", bar,
		im->plan_bytes > 0 ? (int)((double)im->done_bytes * 100.0 / (double)im->plan_bytes) : 0,
		(unsigned long long)im->done_files, (double)im->done_bytes / 1e6, (double)im->plan_bytes / 1e6,
		(unsigned long long)stored, rate);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ------------------------------------------------------------ events */

int arca_import__events(arca_import *im)
{
	store_index *idx = store_ingest_cas_index(im->cas);
	struct passwd *pw = getpwuid(geteuid());
	char user[CHAIN_ENTRY_TEXT_MAX + 1];

	/* who ran the import, beside the AE title the records carry */
	snprintf(user, sizeof(user), "%s", pw != NULL && pw->pw_name != NULL ? pw->pw_name : "unknown");
	for (size_t i = 0; i < im->n_studies; i++) {
		import_study *s = &im->studies[i];
		chain_entry e;
		int64_t gen = 0;
		bool durable = false;
		int rc;

		memset(&e, 0, sizeof(e));
		/* the outbox mark as it stands before the hash is computed
		 * (store_index_pending_gen); 0 when the import keeps none */
		if ((rc = store_index_pending_gen(idx, s->uid, &gen)) < 0) {
			snprintf(im->event_error, sizeof(im->event_error), "study %s: %s", s->uid, arca_error_last());
			return rc;
		}
		/* PS3.15 A.5.3.5 Import: the instances came in from media or
		 * files (action Create), with the study hash over all of the
		 * study's current instances, as arcad's store events have it */
		e.event = CHAIN_EVENT_IMPORT;
		e.action = CHAIN_ACTION_CREATE;
		e.outcome = CHAIN_OUTCOME_SUCCESS;
		e.actor_ae = im->ae;
		e.actor_user = user;
		e.study_uid = s->uid;
		if ((rc = store_study_hash(idx, s->uid, e.study_hash, &e.instances)) < 0) {
			snprintf(im->event_error, sizeof(im->event_error), "study %s: %s", s->uid, arca_error_last());
			return rc;
		}
		e.has_study_hash = true;
		e.peer = s->peer != NULL && s->peer[0] != '\0' ? s->peer : "media";
		if ((rc = arca_event_record(im->conf, &e,
					    s->patient_id != NULL && s->patient_id[0] != '\0' ? s->patient_id : NULL,
					    s->issuer, &durable)) < 0) {
			snprintf(im->event_error, sizeof(im->event_error), "study %s: %s", s->uid, arca_error_last());
			return rc;
		}
		im->events++;
		/* on the log: the mark goes (written when the index closes); left
		 * in arcad's spool, it stays, and costs at most a redundant store
		 * event at arcad's next start */
		if (durable)
			(void)store_index_pending_done(idx, s->uid, gen);
	}
	return 0;
}

/* ------------------------------------------------------------ summary */

/* A JSON string of s: file names need not be UTF-8 (JSON text must be), so
 * bytes that are not valid UTF-8 become '?'. */
static json_t *json_text(const char *s)
{
	size_t len = strlen(s), at = 0;
	json_t *j;
	char *copy;

	if (pacs_utf8_valid((const uint8_t *)s, len))
		return json_string(s);
	copy = malloc(len + 1);
	if (copy == NULL)
		return json_string("?");
	for (size_t i = 0; i < len;) {
		size_t n = pacs_utf8_seq_len((const uint8_t *)s + i, len - i);
		if (n == 0) {
			copy[at++] = '?';
			i++;
		} else {
			memcpy(copy + at, s + i, n);
			at += n;
			i += n;
		}
	}
	copy[at] = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

static void report_json(const arca_import *im, FILE *out)
{
	json_t *root = json_object(), *problems = json_array();
	char *text;

	for (int k = 0; k < IMPORT_KINDS; k++)
		json_object_set_new(root, kind_names[k], json_integer((json_int_t)im->counts[k]));
	json_object_set_new(root, "warnings", json_integer((json_int_t)im->warnings));
	json_object_set_new(root, "bytes", json_integer((json_int_t)im->bytes_stored));
	json_object_set_new(root, "seconds", json_real(im->elapsed));
	json_object_set_new(root, "studies", json_integer((json_int_t)im->n_studies));
	json_object_set_new(root, "events", json_integer((json_int_t)im->events));
	if (im->event_error[0] != '\0')
		json_object_set_new(root, "event_error", json_text(im->event_error));
	for (size_t i = 0; i < im->n_problems; i++) {
		json_t *p = json_object();
		json_object_set_new(p, "kind", json_string(kind_names[im->problems[i].kind]));
		json_object_set_new(p, "path", json_text(im->problems[i].name));
		json_object_set_new(p, "reason", json_text(im->problems[i].reason));
		json_array_append_new(problems, p);
	}
	json_object_set_new(root, "problems", problems);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (text != NULL) {
		fprintf(out, "%s\n", text);
		free(text);
	}
	json_decref(root);
}

/* Lines listed per kind (or per reason) in the text summary; the JSON
 * summary has them all. */
#define REPORT_MAX_LINES 50

/* The problems of one kind, those with the same reason grouped under it
 * (quarantine reasons), or one line each (file and its error). */
static void report_kind(const arca_import *im, FILE *out, import_kind kind, bool grouped)
{
	bool *done = calloc(im->n_problems + 1, sizeof(*done));
	size_t shown = 0, hidden = 0;

	if (done == NULL)
		return;
	for (size_t i = 0; i < im->n_problems; i++) {
		const import_problem *p = &im->problems[i];
		size_t same = 0, listed = 0;
		if (p->kind != kind || done[i])
			continue;
		if (!grouped) {
			if (shown++ < REPORT_MAX_LINES)
				fprintf(out, "  %s: %s\n", p->name, p->reason);
			else
				hidden++;
			continue;
		}
		for (size_t j = i; j < im->n_problems; j++)
			if (im->problems[j].kind == kind && !done[j] && strcmp(im->problems[j].reason, p->reason) == 0)
				same++;
		fprintf(out, "  %s: %zu\n", p->reason, same);
		for (size_t j = i; j < im->n_problems; j++) {
			if (im->problems[j].kind == kind && !done[j] && strcmp(im->problems[j].reason, p->reason) == 0) {
				if (listed++ < REPORT_MAX_LINES)
					fprintf(out, "    %s\n", im->problems[j].name);
				done[j] = true;
			}
		}
		if (listed > REPORT_MAX_LINES)
			fprintf(out, "    ... and %zu more (--json lists them all)\n", listed - REPORT_MAX_LINES);
	}
	if (hidden > 0)
		fprintf(out, "  ... and %zu more (--json lists them all)\n", hidden);
	free(done);
}

void arca_import_report(const arca_import *im, FILE *out, bool json)
{
	const uint64_t *c = im->counts;
	double secs = im->elapsed > 0 ? im->elapsed : 1e-9;
	uint64_t stored = c[IMPORT_NEW] + c[IMPORT_DUPLICATE] + c[IMPORT_VERSION];

	if (json) {
		report_json(im, out);
		return;
	}
	fprintf(out, "imported: %llu instances (%zu studies)\n", (unsigned long long)c[IMPORT_NEW], im->n_studies);
	fprintf(out, "already present (duplicates): %llu\n", (unsigned long long)c[IMPORT_DUPLICATE]);
	fprintf(out, "new versions: %llu\n", (unsigned long long)c[IMPORT_VERSION]);
	if (im->warnings > 0)
		fprintf(out, "stored with warnings (values coerced by the rules): %llu\n", (unsigned long long)im->warnings);
	fprintf(out, "quarantined: %llu\n", (unsigned long long)c[IMPORT_QUARANTINED]);
	report_kind(im, out, IMPORT_QUARANTINED, true);
	fprintf(out, "refused: %llu\n", (unsigned long long)c[IMPORT_REFUSED]);
	report_kind(im, out, IMPORT_REFUSED, false);
	fprintf(out, "unreadable: %llu\n", (unsigned long long)c[IMPORT_UNREADABLE]);
	report_kind(im, out, IMPORT_UNREADABLE, false);
	if (c[IMPORT_NOT_DICOM] > 0) {
		fprintf(out, "skipped, not DICOM: %llu\n", (unsigned long long)c[IMPORT_NOT_DICOM]);
		report_kind(im, out, IMPORT_NOT_DICOM, false);
	}
	if (c[IMPORT_NOTE] > 0) {
		fprintf(out, "notes: %llu\n", (unsigned long long)c[IMPORT_NOTE]);
		report_kind(im, out, IMPORT_NOTE, false);
	}
	if (c[IMPORT_DICOMDIR] > 0)
		fprintf(out, "skipped DICOMDIR files (their instances are read from the folder): %llu\n",
			(unsigned long long)c[IMPORT_DICOMDIR]);
	fprintf(out, "%llu instances, %.1f MB in %.2f s: %.0f instances/s, %.1f MB/s\n", (unsigned long long)stored,
		(double)im->bytes_stored / 1e6, im->elapsed, (double)stored / secs, (double)im->bytes_stored / 1e6 / secs);
	if (im->event_error[0] != '\0')
		fprintf(out, "provenance events not recorded: %s\n", im->event_error);
}
