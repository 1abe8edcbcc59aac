/* arca_import_priv.h - what the files of `arca import` share (see
 * arca_import.h):
 *   arca_import.c         the session: ingest, commit workers, outcomes
 *   arca_import_stream.c  one candidate stream: detect, read, begin/bulk, hand to commit
 *   arca_import_walk.c    command-line paths: files, folders, archives, DICOMDIR
 *   arca_import_report.c  progress bar, summary, import events */
#ifndef ARCA_IMPORT_PRIV_H
#define ARCA_IMPORT_PRIV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arca_import.h"
#include "pacs_ds.h"
#include "pacs_ingest.h"
#include "store_index.h"
#include "store_ingest.h"

#define ARCA_IMPORT_DEFAULT_AE "IMPORT"
#define ARCA_IMPORT_UID_MAX 64

/* How one stream ended, for the summary. */
typedef enum import_kind {
	IMPORT_NEW = 0,    /* a new instance */
	IMPORT_DUPLICATE,  /* already stored, same bytes */
	IMPORT_VERSION,    /* a new version of a stored instance */
	IMPORT_QUARANTINED,/* refused by the rules: in ROOT/quarantine */
	IMPORT_REFUSED,    /* not stored, not quarantined: not a storage instance, UIDs disagree */
	IMPORT_NOT_DICOM,  /* found in a folder or archive, not DICOM: skipped */
	IMPORT_DICOMDIR,   /* a DICOMDIR met in a folder or archive: skipped */
	IMPORT_UNREADABLE, /* cannot be read or parsed, or the ingest failed on it */
	IMPORT_NOTE,       /* not an outcome: something worth telling (imported all the same) */
	IMPORT_KINDS
} import_kind;

/* One problem, named in the summary. */
typedef struct import_problem {
	import_kind kind;
	char *name;   /* the file, or ARCHIVE:ENTRY */
	char *reason;
} import_problem;

/* A study that gained instances, for its import event. */
typedef struct import_study {
	char uid[ARCA_IMPORT_UID_MAX + 1];
	char *patient_id, *issuer; /* as indexed (normalised) */
	char *peer;                /* source basename or "media" */
	uint32_t added;
} import_study;

/* What the ingest's batch hook saw for one instance. */
typedef struct import_outcome {
	char sop[ARCA_IMPORT_UID_MAX + 1];
	char study[ARCA_IMPORT_UID_MAX + 1];
	char *patient_id, *issuer;
	store_index_outcome outcome;
	int err;
} import_outcome;

/* A commit waiting for a worker. */
typedef struct import_job {
	struct import_job *next;
	void *txn;
	pacs_ds *ds;
	char *name;
	char *peer;
	char sop[ARCA_IMPORT_UID_MAX + 1];
	uint64_t bytes;
} import_job;

struct arca_import {
	const arca_conf *conf;
	char ae[ARCA_CONF_AE_MAX + 1];
	bool progress;
	store_ingest_cas *cas;
	pacs_ingest ingest;

	pthread_mutex_t mu;
	pthread_cond_t work, space, idle;
	import_job *head, *tail;
	size_t queued, busy, max_queued;
	bool stop;
	pthread_t *threads;
	unsigned n_threads;

	/* filled by the batch hook (committer thread), taken by the workers */
	import_outcome *outs;
	size_t n_outs, cap_outs;

	/* the summary */
	uint64_t counts[IMPORT_KINDS];
	uint64_t warnings;          /* stored with a warning status (coercion ...) */
	uint64_t bytes_stored;      /* bytes of the instances read that were committed */
	import_problem *problems;
	size_t n_problems, cap_problems;
	import_study *studies;
	size_t n_studies, cap_studies;
	uint64_t events;            /* import events recorded */
	char event_error[256];      /* why events were not recorded, or "" */

	/* the progress bar (main thread) */
	uint64_t plan_bytes, plan_files;
	uint64_t done_bytes, done_files;
	double t0, last_draw;
	double elapsed;

	/* the walk (main thread) */
	dev_t *dirs_dev;
	ino_t *dirs_ino;
	size_t n_dirs, cap_dirs;
	const char *peer;           /* of the PATH being imported */
	const char *expect_sop;     /* the SOP Instance UID a DICOMDIR record names for
				     * the file being read, or NULL */
};

/* Source of a stream's bytes: returns bytes read (0 at the end) or -1 with
 * the message set. */
typedef long (*import_read_fn)(void *ctx, uint8_t *buf, size_t size);

/* arca_import.c */
double arca_import__now(void);
/* Counts one stream's end (and names it when it is a problem).  Locks. */
void arca_import__count(arca_import *im, import_kind kind, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Queues a commit (blocks while the queue is full).  Takes job. */
int arca_import__submit(arca_import *im, import_job *job);
/* Waits until every queued commit is done. */
void arca_import__drain(arca_import *im);

/* arca_import_stream.c */
/* Whether the first n bytes look like DICOM (Part 10 or a bare data set). */
bool arca_import__looks_dicom(const uint8_t *p, size_t n);
/* Whether they start an archive libarchive reads (zip, tar, gzip ...). */
bool arca_import__looks_archive(const uint8_t *p, size_t n);
/* Reads one stream through the ingest.  head/head_len are its first bytes
 * (already read), read_fn the rest.  Returns IMPORT_KINDS when the
 * instance went to a commit worker, IMPORT_DICOMDIR for a DICOMDIR
 * (nothing counted: the caller decides), else the kind it counted. */
import_kind arca_import__stream(arca_import *im, const char *name, const uint8_t *head, size_t head_len,
				import_read_fn read_fn, void *ctx);

/* arca_import_report.c */
void arca_import__progress(arca_import *im, bool final);
int arca_import__events(arca_import *im);

#endif
