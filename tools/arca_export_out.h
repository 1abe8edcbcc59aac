/* arca_export_out.h - where `arca export` writes: a folder, or a .tar,
 * .tar.gz/.tgz or .zip archive written through libarchive, chosen by the
 * --out name.
 *
 * Nothing half-written is left under the final name: an archive is
 * written to OUT.part-XXXXXX and renamed when complete (after fsync); a
 * file in a folder is written to NAME.part-XXXXXX beside it, fsync'ed and
 * renamed.  arca_export_out_abort removes what was written. */
#ifndef ARCA_EXPORT_OUT_H
#define ARCA_EXPORT_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct arca_export_out arca_export_out;

typedef enum arca_export_kind {
	ARCA_EXPORT_DIR = 0,
	ARCA_EXPORT_TAR,
	ARCA_EXPORT_TGZ,
	ARCA_EXPORT_ZIP
} arca_export_kind;

/* The kind --out names: .tar, .tar.gz or .tgz, .zip, else a folder. */
arca_export_kind arca_export_out_kind(const char *target);

/* Opens target.  A folder is created if missing (an existing one must
 * not hold a file that would be overwritten: ARCA_EEXISTS at that file);
 * an archive must not exist yet (ARCA_EEXISTS).  *out is the caller's:
 * arca_export_out_close or arca_export_out_abort frees it. */
int arca_export_out_open(arca_export_out **out, const char *target);

/* One file of size bytes at relative path rel ('/' separated). */
int arca_export_out_begin(arca_export_out *o, const char *rel, uint64_t size);
/* pacs_sink_fn: bytes of the current file. */
int arca_export_out_write(void *ctx, const uint8_t *data, size_t len);
/* Ends the current file: ARCA_EPROTO if not exactly size bytes came. */
int arca_export_out_end(arca_export_out *o);

/* Completes the output (archive trailer, fsync, rename) and frees. */
int arca_export_out_close(arca_export_out *o);
/* Removes what was written and frees.  Accepts NULL. */
void arca_export_out_abort(arca_export_out *o);

#endif
