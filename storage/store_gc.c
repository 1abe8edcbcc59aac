/* store_gc.c - mark and sweep of the chunk store (store_gc.h). */
#include "store_gc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "arca_err.h"
#include "store_cas_priv.h"
#include "store_instance.h"
#include "store_manifest.h"
#include "store_verify_priv.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void store_gc_options_init(store_gc_options *opts)
{
	memset(opts, 0, sizeof(*opts));
}

/* The store's shared lock (store_cas.c: every opener holds ROOT/cas.lock
 * shared) turned exclusive: granted only when no other process has the
 * store open.  Linux converts a flock by dropping the old lock first, so a
 * refused conversion is followed by taking the shared lock again. */
static int lock_exclusive(store_cas *cas)
{
	if (flock(cas->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return arca_error_set(ARCA_EIO, "cannot lock %s/cas.lock: %s", cas->root, strerror(errno));
	while (flock(cas->lock_fd, LOCK_SH) != 0 && errno == EINTR)
		;
	return arca_error_set(ARCA_EAGAIN,
			      "the chunk store %s is open in another process (arcad, arca import ...): gc needs it "
			      "to itself, since an ingest may be reusing an unreferenced chunk; stop arcad and retry",
			      cas->root);
}

static void lock_shared(store_cas *cas)
{
	while (flock(cas->lock_fd, LOCK_SH) != 0 && errno == EINTR)
		;
}

typedef struct marker {
	store_cas *cas;
	store_verify__set live;
	store_gc_stats *stats;
	int refused;          /* the first unreadable manifest's code */
	char refused_msg[512];
} marker;

static int mark_row(marker *mk, const store_verify__row *r)
{
	store_manifest *m = NULL;
	uint8_t (*list)[STORE_CAS_HASH_LEN] = NULL;
	char hex[STORE_CAS_HEX_LEN + 1];
	size_t n = 0;
	int rc;

	mk->stats->rows++;
	if (!r->manifest_ok)
		return 0; /* names nothing in the store */
	if ((rc = store_verify__set_add(&mk->live, r->manifest)) < 0)
		return rc;
	rc = store_instance_manifest(mk->cas, r->manifest, &m);
	if (rc == ARCA_ENOMEM)
		return rc;
	if (rc < 0) {
		mk->stats->unreadable++;
		if (mk->refused == 0) {
			store_cas_hash_to_hex(r->manifest, hex);
			mk->refused = rc;
			snprintf(mk->refused_msg, sizeof(mk->refused_msg),
				 "manifest %s of instance %s cannot be read (%s): its chunks cannot be marked; repair it "
				 "(arca verify names it) or run gc with --force",
				 hex, r->sop != NULL ? r->sop : "?", arca_error_last());
		}
		return 0;
	}
	rc = store_manifest_chunks(m, &list, &n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = store_verify__set_add(&mk->live, list[i]);
	free(list);
	store_manifest_free(m);
	return rc;
}

static int mark_rows(marker *mk, store_verify__row *rows, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = mark_row(mk, &rows[i]);
	store_verify__rows_free(rows, n);
	return rc;
}

static int mark(marker *mk, const char *index)
{
	store_verify__index *ix = NULL;
	store_verify__row *rows;
	int64_t pk = 0, next;
	size_t n;
	char *uid;
	int rc;

	if ((rc = store_verify__index_open(&ix, index)) < 0)
		return rc;
	while ((rc = store_verify__index_next_study(ix, pk, &next, &uid)) == 1) {
		pk = next;
		rc = store_verify__index_study_rows(ix, pk, uid, &rows, &n);
		free(uid);
		if (rc < 0 || (rc = mark_rows(mk, rows, n)) < 0)
			break;
	}
	if (rc == 0 && (rc = store_verify__index_dangling_rows(ix, &rows, &n)) == 0)
		rc = mark_rows(mk, rows, n);
	store_verify__index_free(ix);
	return rc;
}

/* Online: what the sweep may remove (store_cas_remove_idle), the chunks
 * untouched since cutoff_ns; 0 offline (anything unreferenced goes). */
static int remove_garbage(marker *mk, const uint8_t hash[STORE_CAS_HASH_LEN], int64_t cutoff_ns, bool *removed)
{
	int rc;

	if (cutoff_ns == 0) {
		rc = store_cas_remove(mk->cas, hash);
		*removed = rc == 0;
		return rc;
	}
	return store_cas_remove_idle(mk->cas, hash, cutoff_ns, removed);
}

static int sweep(marker *mk, bool dry_run, int64_t cutoff_ns)
{
	store_gc_stats *stats = mk->stats;
	store_cas_iter *it = NULL;
	store_cas_entry e;
	int rc;

	if ((rc = store_cas_iter_new(&it, mk->cas)) < 0)
		return rc;
	while ((rc = store_cas_iter_next(it, &e)) == 1) {
		struct stat st;
		uint64_t size;
		bool manifest = false;

		if (e.bad != 0) {
			stats->stray++; /* not ours to remove: arca verify names it */
			continue;
		}
		memset(&st, 0, sizeof(st)); /* a file gone meanwhile: size and age 0 */
		size = stat(e.path, &st) == 0 ? (uint64_t)st.st_size : 0;
		stats->chunks++;
		if (store_verify__set_has(&mk->live, e.hash)) {
			stats->live_bytes += size;
			continue;
		}
		{
			/* a manifest that was never indexed: counted apart, as
			 * the trace of an interrupted or refused ingest */
			store_manifest *m = NULL;
			if (store_instance_manifest(mk->cas, e.hash, &m) == 0)
				manifest = true;
			store_manifest_free(m);
		}
		if (cutoff_ns != 0 && (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec >= cutoff_ns) {
			stats->young++; /* put or reused too recently to judge */
			stats->young_bytes += size;
			continue;
		}
		if (!dry_run) {
			bool removed = false;
			rc = remove_garbage(mk, e.hash, cutoff_ns, &removed);
			if (rc == ARCA_ENOTFOUND)
				continue;
			if (rc < 0)
				break;
			if (!removed) {
				stats->young++; /* reused while gc looked */
				stats->young_bytes += size;
				continue;
			}
		}
		stats->removed++;
		stats->removed_bytes += size;
		stats->removed_manifests += manifest;
	}
	store_cas_iter_free(it);
	if (rc < 0)
		return rc;
	/* deferred mode: the removals' directory entries made durable at once */
	return dry_run ? 0 : store_cas_sync(mk->cas);
}

int store_gc_run(store_cas *cas, const store_gc_options *opts, store_gc_stats *stats)
{
	store_gc_stats unused;
	marker mk;
	double t0 = now_s();
	bool locked = false;
	int64_t cutoff_ns = 0;
	int rc;

	if (stats == NULL)
		stats = &unused;
	memset(stats, 0, sizeof(*stats));
	if (opts == NULL || opts->index == NULL)
		return arca_error_set(ARCA_EINVAL, "gc: no index location given");
	memset(&mk, 0, sizeof(mk));
	mk.cas = cas;
	mk.stats = stats;
	if (opts->online) {
		/* before the mark: a chunk touched after this is never removed */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		cutoff_ns = ((int64_t)ts.tv_sec - (opts->grace_s != 0 ? opts->grace_s : 3600)) * 1000000000 + ts.tv_nsec;
	} else if (!opts->dry_run) {
		if ((rc = lock_exclusive(cas)) < 0)
			return rc;
		locked = true;
	}
	rc = mark(&mk, opts->index);
	if (rc == 0) {
		store_verify__set_sort(&mk.live);
		stats->live_chunks = mk.live.n;
		if (mk.refused != 0 && !opts->force && !opts->dry_run)
			rc = arca_error_set(mk.refused, "%s", mk.refused_msg);
		else
			rc = sweep(&mk, opts->dry_run, cutoff_ns);
	}
	if (rc == 0 && mk.refused != 0 && opts->dry_run && !opts->force)
		rc = arca_error_set(mk.refused, "%s", mk.refused_msg);
	if (locked)
		lock_shared(cas);
	store_verify__set_free(&mk.live);
	stats->seconds = now_s() - t0;
	return rc;
}
