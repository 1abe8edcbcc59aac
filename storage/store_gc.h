/* store_gc.h - mark and sweep of the chunk store (`arca gc`; issue 4:
 * "identical chunks are stored once (reference counts or mark-and-sweep
 * arca gc)").
 *
 * Mark: every instance row of the index - the current version of each
 * instance and every kept version (store_index.h, issue 4 item 4), also
 * rows whose parent is missing - names a manifest; the manifest and every
 * chunk it lists are live.  Sweep: every other chunk file is removed (the
 * chunks of interrupted or refused ingests, manifests that were never
 * indexed).  Nothing else under the store root is touched.
 *
 * Why gc needs the store to itself, or a grace period.  An ingest
 * deduplicates on existence (docs/storage-format.md 4): a put that finds a
 * chunk's file skips the write, and the manifest naming that chunk is
 * indexed only at the group commit, up to seconds later (minutes for a
 * large multi-frame instance).  A chunk that no row references can
 * therefore become live at any moment.  Two ways to be safe:
 *   - offline (the default): gc takes the store's lock (ROOT/cas.lock,
 *     which every process holding the store open shares) exclusively and
 *     refuses to run while arcad or an import has the store open
 *     (ARCA_EAGAIN); while gc runs, a store_cas_open elsewhere waits;
 *   - online (opts.online): gc runs beside them and removes only garbage
 *     whose file nothing touched for grace_s seconds before the mark
 *     began.  A put that finds its chunk stored refreshes the file's
 *     mtime, new chunks are young, and store_cas_remove_idle never
 *     removes a file from under a put (store_cas_idle.c); an instance
 *     whose chunks were put before the mark and indexed after it is
 *     protected as long as put-to-commit takes less than grace_s.
 * A dry run needs no lock: it reports what a real run would remove now.
 *
 * A manifest that an index row names but that cannot be read (missing or
 * damaged) stops the sweep (ARCA_ECRYPTO / ARCA_ENOTFOUND, nothing
 * removed): its chunks are unknown, and they are exactly what a repair of
 * that manifest from a replica would need.  force sweeps anyway. */
#ifndef STORE_GC_H
#define STORE_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "store_cas.h"

typedef struct store_gc_options {
	const char *index;   /* the index location (SQLite file) */
	bool dry_run;        /* count what would go, remove nothing, take no lock */
	bool force;          /* sweep even when a named manifest cannot be read */
	bool online;         /* beside running ingests: shared lock, grace_s (see above) */
	uint32_t grace_s;    /* online: garbage touched this recently stays; 0 = 3600 */
} store_gc_options;

typedef struct store_gc_stats {
	uint64_t rows;                 /* instance rows marked from (versions included) */
	uint64_t unreadable;           /* rows whose manifest could not be read */
	uint64_t live_chunks;          /* distinct live addresses, manifests included */
	uint64_t chunks;               /* chunk files seen by the sweep */
	uint64_t live_bytes;           /* stored bytes of the live chunk files */
	uint64_t removed, removed_bytes; /* garbage removed (dry run: that would be) */
	uint64_t removed_manifests;    /* of which manifests of never-indexed instances */
	uint64_t stray;                /* files under chunks/ that are not chunks (left alone) */
	uint64_t young, young_bytes;   /* online: garbage kept, touched within the grace period */
	double seconds;
} store_gc_stats;

void store_gc_options_init(store_gc_options *opts);

/* Runs gc on cas (opened by the caller, preferably in deferred sync mode:
 * the removals' directory syncs are then one batch at the end).  stats may
 * be NULL.  The first unreadable manifest's message is the error when the
 * sweep is refused. */
int store_gc_run(store_cas *cas, const store_gc_options *opts, store_gc_stats *stats);

#endif
