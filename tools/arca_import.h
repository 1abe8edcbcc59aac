/* arca_import.h - `arca import`: files, folders, .zip/.tar/.tar.gz archives
 * and DICOMDIR media into the archive, through the same ingest as C-STORE
 * (design.md 3.1; pacs_ingest.h, store_ingest.h).
 *
 * Every instance found goes through store_ingest_cas exactly as a C-STORE
 * does: begin, its bulk values streamed to the ingest as the reader meets
 * them (the file is never held whole), then commit on a worker thread.
 * Several commits are in flight at once (arca_import_opts.workers) so that
 * the ingest's group committer makes one chunk-store sync and one index
 * transaction for many instances.  The data set handed to commit is what
 * the network would have delivered: the File Meta group (0002) and the
 * preamble are dropped (the ingest rebuilds the meta group, with the
 * calling AE as Source AE Title), so one file sent by C-STORE and the
 * same file imported with the same AE title are one instance.
 *
 * What is DICOM is decided by content (PS3.10 7.1 "DICM" at offset 128,
 * or a data set whose first element header is plausible), not by name.
 * Archives are recognised by their signature and read through libarchive
 * entry by entry, streaming (no extraction to disk).  A DICOMDIR named on
 * the command line imports the files its records reference (PS3.10 8,
 * PS3.3 F.3); met inside a folder or an archive it is skipped (the walk
 * finds its files anyway).
 *
 * Not thread safe: one thread drives an arca_import; the worker threads
 * are its own. */
#ifndef ARCA_IMPORT_H
#define ARCA_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arca_conf.h"

typedef struct arca_import arca_import;

typedef struct arca_import_opts {
	const char *ae;     /* calling AE of the records and Source AE Title; NULL: "IMPORT" */
	unsigned workers;   /* commits in flight; 0: 8 */
	bool progress;      /* draw a progress bar on stderr */
} arca_import_opts;

/* Opens the archive's ingest (chunk store, index, rules) as arcad does
 * from conf (borrowed: must outlive the import).  ARCA_EUNSUPPORTED for
 * [storage] backend = files. */
int arca_import_open(arca_import **out, const arca_conf *conf, const arca_import_opts *opts);

/* Adds the sizes of what path holds to the progress bar's total. */
void arca_import_plan(arca_import *im, const char *path);

/* Imports one command-line PATH: a file (DICOM, archive or DICOMDIR) or a
 * folder (recursively; symbolic links followed, each directory once).
 * Problems with what it holds are counted, not returned; a negative code
 * means the import cannot go on (the ingest failed). */
int arca_import_path(arca_import *im, const char *path);

/* Waits for every commit, then records one import event per study that
 * gained instances (PS3.15 A.5.3.9: DCM 110107 Import, action Create). */
int arca_import_finish(arca_import *im);

/* The summary: imported, duplicates, new versions, quarantined (reasons
 * grouped), refused, not DICOM, unreadable (named).  Text or JSON. */
void arca_import_report(const arca_import *im, FILE *out, bool json);

/* 0 when every instance was imported or was already there, 1 when one was
 * quarantined, refused or unreadable. */
int arca_import_exit_status(const arca_import *im);

/* The name an event gives a path (its peer): the last component of path
 * (trailing '/' ignored), as UTF-8 without control characters, at most
 * size - 1 bytes: bytes that are not valid UTF-8 and control characters
 * become '?', and a cut never splits a character. */
void arca_import_peer_name(char *out, size_t size, const char *path);

/* Stops the workers (after arca_import_finish, nothing is left) and frees.
 * Accepts NULL. */
void arca_import_free(arca_import *im);

#endif
