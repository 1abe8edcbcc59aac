/* store_cas_idle.c - what lets gc run beside an ingest (store_gc.h):
 * a put that finds its chunk already stored refreshes the file's mtime,
 * and gc removes only chunk files that nothing touched since its cutoff,
 * without ever removing one from under such a put.
 *
 * The race, and why it cannot lose a chunk.  A put that deduplicates
 * (P1) touches the final name, then (P2) checks that the name still
 * exists; only then does it count the chunk as stored.  gc (G1) renames
 * an old file to an address-named temp file in chunks/tmp, then (G2)
 * reads that file's mtime and renames it back when it is younger than the
 * cutoff.  If P2 came before G1, the touch (P1) is visible at G2 and the
 * file goes back under its name.  If G1 came before P2, P2 finds no file
 * and the put writes the chunk again.  A crash between G1 and the end
 * leaves an address-named temp file, which the next store_cas_open puts
 * back in place (store_cas__recover_tmp): garbage resurrected, never a
 * chunk lost. */
#include "store_cas_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "store_cas_fsync.h"

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int store_cas__present_touch(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], bool *out)
{
	char path[PATH_MAX];
	struct stat st;

	*out = false;
	/* pending first, as present() in store_cas.c */
	if (cas->opts.sync == STORE_CAS_SYNC_DEFERRED && store_cas__pending_find(cas, hash, NULL)) {
		*out = true;
		return 0;
	}
	store_cas__chunk_path(cas, hash, path);
	/* P1: a file we may not touch (another user's, read-only media) is
	 * only looked at: gc's grace cannot protect it then */
	if (utimensat(AT_FDCWD, path, NULL, 0) != 0 && errno != EACCES && errno != EPERM && errno != EROFS) {
		if (errno == ENOENT)
			return 0;
		return arca_error_set(ARCA_EIO, "cannot touch chunk file %s: %s", path, strerror(errno));
	}
	/* P2 */
	if (stat(path, &st) == 0) {
		*out = true;
		return 0;
	}
	if (errno != ENOENT)
		return arca_error_set(ARCA_EIO, "cannot stat chunk file %s: %s", path, strerror(errno));
	return 0;
}

/* The removed file's directory, and chunks/tmp, made durable: now, or
 * with the next sync in deferred mode. */
static int dirs_changed(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], bool now)
{
	char leaf[PATH_MAX];
	int rc;

	store_cas__leaf_dir(cas, hash, leaf);
	if (!now && cas->opts.sync == STORE_CAS_SYNC_DEFERRED) {
		if ((rc = store_cas__dir_dirty(cas, leaf)) < 0)
			return rc;
		return store_cas__dir_dirty(cas, cas->tmp_dir);
	}
	if ((rc = store_cas_fsync_dir(leaf)) < 0)
		return rc;
	return store_cas_fsync_dir(cas->tmp_dir);
}

int store_cas_remove_idle(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int64_t cutoff_ns,
			  bool *removed)
{
	char path[PATH_MAX], tmp[PATH_MAX], hex[STORE_CAS_HEX_LEN + 1];
	struct stat st;
	int rc = ARCA_EEXISTS;

	*removed = false;
	if (cas->opts.sync == STORE_CAS_SYNC_DEFERRED && store_cas__pending_find(cas, hash, NULL))
		return 0; /* being written */
	store_cas__chunk_path(cas, hash, path);
	if (stat(path, &st) != 0)
		return errno == ENOENT ? arca_error_set(ARCA_ENOTFOUND, "chunk %s not found", path)
				       : arca_error_set(ARCA_EIO, "cannot stat chunk file %s: %s", path, strerror(errno));
	if (mtime_ns(&st) >= cutoff_ns)
		return 0;
	/* G1: under an address-named temp name (tmp-<address>-gcNNNN, the
	 * shape store_cas__recover_tmp puts back) */
	store_cas_hash_to_hex(hash, hex);
	for (unsigned k = 0; k < 64 && rc == ARCA_EEXISTS; k++) {
		snprintf(tmp, sizeof(tmp), "%s/" STORE_CAS_TMP_PREFIX "%s-gc%04x", cas->tmp_dir, hex,
			 ((unsigned)getpid() + k) & 0xFFFFu);
		rc = store_cas_fsync_rename_noreplace(path, tmp);
	}
	if (rc == ARCA_EEXISTS)
		return arca_error_set(ARCA_EIO, "chunk %s: no free temp name in %s", hex, cas->tmp_dir);
	if (rc < 0) {
		/* gone meanwhile (another gc): nothing to remove */
		if (access(path, F_OK) != 0 && errno == ENOENT)
			return arca_error_set(ARCA_ENOTFOUND, "chunk %s not found", path);
		return rc;
	}
	/* G2 */
	if (stat(tmp, &st) != 0)
		return arca_error_set(ARCA_EIO, "cannot stat %s (it becomes chunk %s again at the next start): %s",
				      tmp, hex, strerror(errno));
	if (mtime_ns(&st) >= cutoff_ns) {
		/* a put reused it before the rename: back under its name, at
		 * once durable (that put's instance may be answered soon) */
		rc = store_cas_fsync_rename_noreplace(tmp, path);
		if (rc == ARCA_EEXISTS) {
			unlink(tmp); /* written again meanwhile: that copy stands */
			rc = 0;
		}
		return rc < 0 ? rc : dirs_changed(cas, hash, true);
	}
	if (unlink(tmp) != 0 && errno != ENOENT)
		return arca_error_set(ARCA_EIO, "cannot remove %s: %s", tmp, strerror(errno));
	*removed = true;
	return dirs_changed(cas, hash, false);
}
