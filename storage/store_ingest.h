/* store_ingest.h - the interim implementation of the ingest interface
 * (pacs/pacs_ingest.h): every instance received becomes one Part 10 file
 *
 *     ROOT/instances/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm
 *
 * written durably (temp file in ROOT/tmp, fsync, rename, directory fsync)
 * before the C-STORE is acknowledged.  The content-addressed store and
 * the index (design.md 3.1 steps 4-5) replace it behind the same
 * interface.
 *
 * - bulk values stream to a spool file ROOT/tmp/spool-XXXXXX as they
 *   arrive (loop thread, no fsync); the commit (worker thread) writes the
 *   Part 10 file from the metadata, pulling bulk values back from the
 *   spool, and removes the spool;
 * - the file's meta group is rebuilt (PS3.10 7.1): Source AE Title
 *   (0002,0016) is the calling AE; the data set is written in the transfer
 *   syntax it was received in, so compressed pixel data is kept as sent;
 * - the three UIDs are checked (PS3.5 9.1: digits and dots, at most 64
 *   characters, no empty component) before they name a path, so that no
 *   UID can escape ROOT (refused with 0xA900);
 * - an instance stored again with identical bytes is a success and changes
 *   nothing; with different bytes the new file takes the name and the old
 *   one is kept beside it as <SOPInstanceUID>.dcm.prev-N;
 * - I/O failures answer 0xA700 (out of resources), with the cause first in
 *   the Error Comment ("No space left on device: ...");
 * - at open, files left in ROOT/tmp by an earlier run that stopped
 *   mid-instance are removed. */
#ifndef STORE_INGEST_H
#define STORE_INGEST_H

#include <stddef.h>

#include "pacs_ingest.h"

typedef struct store_ingest_files store_ingest_files;

/* Opens (creating them if needed) ROOT/instances and ROOT/tmp and removes
 * leftover spool-* and part10-* files from ROOT/tmp.  *out is the caller's:
 * store_ingest_files_free(), after the server that uses it is freed. */
int store_ingest_files_open(store_ingest_files **out, const char *root);
/* Accepts NULL. */
void store_ingest_files_free(store_ingest_files *s);

/* Fills *out with the operations and s as their context (borrowed). */
void store_ingest_files_ingest(store_ingest_files *s, pacs_ingest *out);

/* The file of an instance: ROOT/instances/study/series/sop.dcm.  ARCA_EPROTO
 * when a UID is not valid, ARCA_ELIMIT when buf is too small. */
int store_ingest_files_path(const store_ingest_files *s, const char *study, const char *series,
			    const char *sop, char *buf, size_t size);

/* A UID that is safe as a file name (PS3.5 9.1): 1 to 64 characters;
 * components of digits separated by single dots, none empty.  Leading
 * zeros in a component, which PS3.5 9.1 forbids, are tolerated: real
 * systems send them and they cannot escape a directory.  0 or ARCA_EPROTO
 * with a message naming what ("Study Instance UID ..."). */
int store_ingest_uid_check(const char *uid, const char *what);

#endif
