/* store_cas_sync.c - deferred durability (group commit) and crash
 * recovery.
 *
 * In STORE_CAS_SYNC_DEFERRED mode a put writes the chunk to a temp file
 * chunks/tmp/tmp-<address>-XXXXXX, starts its write-back, and records it
 * here with its descriptor still open.  store_cas_sync then, for the whole
 * batch (every instance of every association that committed meanwhile):
 *
 *   1. one data barrier: fdatasync of every file, issued from a few
 *      threads at once so that the file system merges them into a few
 *      journal commits (or a single syncfs, options.barrier);
 *   2. with it, in the same round, one fsync of chunks/tmp: the temp
 *      names are durable, so every chunk of the batch is now durable
 *      under a name that says its address;
 *   3. the renames into chunks/ab/ (chunks/ab/cd/ in a store of the nested
 *      layout), without directory fsyncs.
 *
 * After 3 the store is complete in memory and the caller may index the
 * batch.  A rename not yet committed by the file system when the power
 * fails is redone by the next store_cas_open (store_cas__recover_tmp):
 * the temp file is still there, complete, named after its address (a
 * rename is atomic in a journaling file system: the file is under one name
 * or the other).  So a batch costs one parallel round of fdatasyncs and
 * one directory fsync, instead of a fsync per file and per directory one
 * after another.
 *
 * Renaming only after the data barrier keeps the store's invariant: a file
 * under a chunk's final name always holds the complete chunk, even after a
 * power loss, so deduplication can trust a name's existence. */
#include "store_cas_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "store_cas_fsync.h"

static bool list_find(const store_cas_pending_list *l, const uint8_t hash[STORE_CAS_HASH_LEN],
		      size_t *at)
{
	for (size_t i = 0; i < l->n; i++) {
		if (memcmp(l->v[i].hash, hash, STORE_CAS_HASH_LEN) == 0) {
			if (at != NULL)
				*at = i;
			return true;
		}
	}
	return false;
}

static void list_release(store_cas_pending_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].fd >= 0)
			close(l->v[i].fd);
		free(l->v[i].tmp);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void dirs_release(store_cas_dir_list *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Adds dir unless present (the lists stay small: one batch's directories). */
static int dirs_add(store_cas_dir_list *d, const char *dir)
{
	char *copy;

	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i], dir) == 0)
			return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		char **v = realloc(d->v, cap * sizeof(*v));
		if (v == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory for the sync list");
		d->v = v;
		d->cap = cap;
	}
	copy = strdup(dir);
	if (copy == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for the sync list");
	d->v[d->n++] = copy;
	return 0;
}

bool store_cas__pending_find(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			     char tmp_out[PATH_MAX])
{
	size_t at;
	bool found;

	pthread_mutex_lock(&cas->mu);
	found = list_find(&cas->pending, hash, &at);
	if (found && tmp_out != NULL)
		snprintf(tmp_out, PATH_MAX, "%s", cas->pending.v[at].tmp);
	if (!found) {
		found = list_find(&cas->syncing, hash, &at);
		if (found && tmp_out != NULL)
			snprintf(tmp_out, PATH_MAX, "%s", cas->syncing.v[at].tmp);
	}
	pthread_mutex_unlock(&cas->mu);
	return found;
}

uint64_t store_cas__synced(store_cas *cas)
{
	uint64_t n;

	pthread_mutex_lock(&cas->mu);
	n = cas->synced;
	pthread_mutex_unlock(&cas->mu);
	return n;
}

/* Is hash under its final name?  Asked under mu, so that no sync can
 * finish between the answer and the add. */
static bool renamed_since(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], uint64_t seen_synced)
{
	char final[PATH_MAX];
	struct stat st;

	if (cas->synced == seen_synced)
		return false;
	store_cas__chunk_path(cas, hash, final);
	return stat(final, &st) == 0;
}

int store_cas__pending_add(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int fd,
			   const char *tmp, uint64_t seen_synced, bool *want_sync)
{
	store_cas_pending_list *l = &cas->pending;
	char *copy = strdup(tmp);
	int rc = 0;

	*want_sync = false;
	pthread_mutex_lock(&cas->mu);
	if (copy == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory for the pending list");
	} else if (list_find(&cas->pending, hash, NULL) || list_find(&cas->syncing, hash, NULL) ||
		   renamed_since(cas, hash, seen_synced)) {
		/* another thread put the same chunk meanwhile (and, for the
		 * last test, its sync renamed it after this put looked) */
		rc = ARCA_EEXISTS;
	} else {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			store_cas_pending *v = realloc(l->v, cap * sizeof(*v));
			if (v == NULL)
				rc = arca_error_set(ARCA_ENOMEM, "out of memory for the pending list");
			else {
				l->v = v;
				l->cap = cap;
			}
		}
		if (rc == 0) {
			memcpy(l->v[l->n].hash, hash, STORE_CAS_HASH_LEN);
			l->v[l->n].fd = fd;
			l->v[l->n].tmp = copy;
			l->n++;
			*want_sync = l->n >= cas->opts.max_pending;
		}
	}
	pthread_mutex_unlock(&cas->mu);
	if (rc < 0) {
		close(fd);
		unlink(tmp);
		free(copy);
	}
	return rc;
}

bool store_cas__pending_drop(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN])
{
	store_cas_pending_list *l = &cas->pending;
	store_cas_pending gone;
	size_t at;
	bool found;

	pthread_mutex_lock(&cas->mu);
	found = list_find(l, hash, &at);
	if (found) {
		gone = l->v[at];
		l->v[at] = l->v[--l->n];
	}
	pthread_mutex_unlock(&cas->mu);
	if (found) {
		close(gone.fd);
		unlink(gone.tmp);
		free(gone.tmp);
	}
	return found;
}

int store_cas__dir_dirty(store_cas *cas, const char *dir)
{
	int rc;

	pthread_mutex_lock(&cas->mu);
	rc = dirs_add(&cas->dirs, dir);
	pthread_mutex_unlock(&cas->mu);
	return rc;
}

void store_cas__pending_release(store_cas *cas)
{
	/* Only reached after a final sync: anything left failed to commit. */
	for (size_t i = 0; i < cas->pending.n; i++)
		unlink(cas->pending.v[i].tmp);
	list_release(&cas->pending);
	list_release(&cas->syncing);
	dirs_release(&cas->dirs);
}

/* ---- the data barrier ---- */

/* Threads issuing fdatasync at once, the caller's included: enough for the
 * device to see several requests and the journal to merge their commits. */
#define SYNC_THREADS 4

typedef struct sync_round {
	store_cas_pending *v;
	size_t n;
	int dir_fd;          /* chunks/tmp: job number n */
	const char *dir;
	size_t next;
	pthread_mutex_t mu;
	int rc;
	char msg[256];
} sync_round;

static void *sync_worker(void *arg)
{
	sync_round *r = arg;

	for (;;) {
		size_t i;
		pthread_mutex_lock(&r->mu);
		i = r->next++;
		pthread_mutex_unlock(&r->mu);
		if (i > r->n)
			break;
		/* fdatasync: the data and what is needed to read it back (size,
		 * blocks); the names are made durable by the fsync of chunks/tmp,
		 * the last job, which runs beside the others: nothing orders a
		 * temp file's name against its bytes, since recovery checks the
		 * content (and until the round is over nothing is renamed or
		 * acknowledged).  No retry: after a failure the kernel may have
		 * dropped the pages. */
		if ((i < r->n ? fdatasync(r->v[i].fd) : fsync(r->dir_fd)) != 0) {
			int err = errno;
			pthread_mutex_lock(&r->mu);
			if (r->rc == 0) {
				r->rc = ARCA_EIO;
				snprintf(r->msg, sizeof(r->msg), "cannot %s %s: %s", i < r->n ? "fdatasync" : "fsync",
					 i < r->n ? r->v[i].tmp : r->dir, strerror(err));
			}
			pthread_mutex_unlock(&r->mu);
		}
	}
	return NULL;
}

/* fdatasync of every file and fsync of chunks/tmp, n + 1 jobs over up to
 * SYNC_THREADS threads. */
static int barrier_fdatasync(const store_cas *cas, store_cas_pending_list *batch)
{
	pthread_t t[SYNC_THREADS - 1];
	size_t started = 0, want;
	sync_round r;

	memset(&r, 0, sizeof(r));
	r.v = batch->v;
	r.n = batch->n;
	r.dir = cas->tmp_dir;
	r.dir_fd = open(cas->tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r.dir_fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open directory %s to fsync it: %s", cas->tmp_dir,
				      strerror(errno));
	pthread_mutex_init(&r.mu, NULL);
	want = batch->n + 1 < SYNC_THREADS ? batch->n + 1 : SYNC_THREADS;
	/* A helper that cannot be started only makes the round slower. */
	for (; started + 1 < want; started++)
		if (pthread_create(&t[started], NULL, sync_worker, &r) != 0)
			break;
	sync_worker(&r);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&r.mu);
	close(r.dir_fd);
	if (r.rc < 0)
		return arca_error_set(r.rc, "%s", r.msg);
	return 0;
}

static int barrier_syncfs(const store_cas *cas)
{
	int fd = open(cas->tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open %s: %s", cas->tmp_dir, strerror(errno));
	if (syncfs(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot syncfs the file system of %s: %s", cas->tmp_dir,
				    strerror(errno));
	close(fd);
	return rc;
}

void store_cas__writeback_start(int fd)
{
#ifdef SYNC_FILE_RANGE_WRITE
	/* Advisory: an error here shows again at the fdatasync. */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
	(void)fd;
#endif
}

static int commit_batch(store_cas *cas, store_cas_pending_list *batch, store_cas_dir_list *dirs)
{
	char final[PATH_MAX];
	size_t renamed = 0;
	int rc = 0;

	/* 1. Every file's bytes reach the disk before any name appears;
	 * 2. and their temp names, which recovery renames from. */
	if (batch->n > 0) {
		if (cas->opts.barrier == STORE_CAS_BARRIER_SYNCFS) {
			rc = barrier_syncfs(cas);
		} else {
			rc = barrier_fdatasync(cas, batch);
		}
	}
	for (size_t i = 0; i < batch->n; i++) {
		close(batch->v[i].fd);
		batch->v[i].fd = -1;
	}
	/* 3. Names.  EEXIST: the same chunk arrived meanwhile (another
	 * process, or a put in sync-each mode); ours is a duplicate. */
	for (; rc == 0 && renamed < batch->n; renamed++) {
		store_cas_pending *p = &batch->v[renamed];
		int r;

		store_cas__chunk_path(cas, p->hash, final);
		r = store_cas_fsync_rename_noreplace(p->tmp, final);
		if (r == ARCA_EEXISTS)
			unlink(p->tmp);
		else if (r < 0) {
			rc = store_cas__rename_failed(cas, p->hash, r);
			break;
		}
	}
	/* A failed batch is not stored: drop what was not renamed. */
	for (size_t i = renamed; i < batch->n; i++)
		unlink(batch->v[i].tmp);
	/* Directories of removals (store_cas_remove), also after a failure. */
	for (size_t i = 0; i < dirs->n; i++) {
		int r = store_cas_fsync_dir(dirs->v[i]);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

/* ---- crash recovery ---- */

/* The address in a temp file name tmp-<64 lower-case hex>-XXXXXX. */
static bool tmp_address(const char *name, uint8_t hash[STORE_CAS_HASH_LEN])
{
	static const size_t prefix_len = sizeof(STORE_CAS_TMP_PREFIX) - 1;
	char hex[STORE_CAS_HEX_LEN + 1];

	if (strlen(name) != prefix_len + STORE_CAS_HEX_LEN + 7 || name[prefix_len + STORE_CAS_HEX_LEN] != '-')
		return false;
	memcpy(hex, name + prefix_len, STORE_CAS_HEX_LEN);
	hex[STORE_CAS_HEX_LEN] = '\0';
	for (size_t i = 0; i < STORE_CAS_HEX_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return false;
	return store_cas_hash_from_hex(hex, hash) == 0;
}

static int dir_created_now(store_cas *cas, const char *parent)
{
	(void)cas;
	return store_cas_fsync_dir(parent);
}

/* Does the header at fd say the chunk is sealed while no key is loaded?
 * Such a file cannot be checked; it is left alone, never removed. */
static bool sealed_without_key(const store_cas *cas, int fd)
{
	uint8_t h[STORE_CAS_HEADER_LEN];
	ssize_t n = pread(fd, h, sizeof(h), 0);

	return n == (ssize_t)sizeof(h) && (h[5] & STORE_CAS_FLAG_AES256GCM) != 0 &&
	       !store_cas__crypt_has_key(cas->crypt);
}

/* One leftover with an address in its name: what the crashed sync had made
 * durable (or had not) is told by its content, never by its name alone.
 * It goes where the store's layout puts it (store_cas__chunk_path); in the
 * flat layout no directory is made, and a missing one fails the open,
 * naming it, with the temp file kept: it may be the only copy of an
 * acknowledged chunk. */
static int recover_one(store_cas *cas, const char *path, const uint8_t hash[STORE_CAS_HASH_LEN])
{
	char final[PATH_MAX], leaf[PATH_MAX];
	uint8_t *data = NULL;
	struct stat st;
	size_t len = 0;
	int fd, rc;

	store_cas__chunk_path(cas, hash, final);
	if (stat(final, &st) == 0) {
		unlink(path); /* renamed by link + unlink, or a duplicate */
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : arca_error_set(ARCA_EIO, "cannot open %s: %s", path, strerror(errno));
	if (sealed_without_key(cas, fd)) {
		close(fd);
		return 0;
	}
	rc = store_cas__read_fd(cas, hash, fd, path, &data, &len);
	free(data);
	if (rc == ARCA_EPROTO || rc == ARCA_ECRYPTO) {
		/* Torn or empty: its sync never finished, so no instance that
		 * uses it was acknowledged. */
		close(fd);
		unlink(path);
		return 0;
	}
	if (rc == 0)
		rc = store_cas_fsync_fd(fd, path);
	close(fd);
	if (rc == 0)
		rc = store_cas__make_dirs(cas, hash, dir_created_now);
	if (rc == 0) {
		rc = store_cas_fsync_rename_noreplace(path, final);
		if (rc == ARCA_EEXISTS) {
			unlink(path);
			return 0;
		}
		if (rc < 0)
			rc = store_cas__rename_failed(cas, hash, rc);
	}
	if (rc == 0) {
		store_cas__leaf_dir(cas, hash, leaf);
		rc = store_cas_fsync_dir(leaf);
	}
	return rc;
}

int store_cas__recover_tmp(store_cas *cas)
{
	static const size_t prefix_len = sizeof(STORE_CAS_TMP_PREFIX) - 1;
	DIR *d = opendir(cas->tmp_dir);
	struct dirent *e;
	char path[PATH_MAX];
	uint8_t hash[STORE_CAS_HASH_LEN];
	int rc = 0;

	if (d == NULL)
		return arca_error_set(ARCA_EIO, "cannot read %s: %s", cas->tmp_dir, strerror(errno));
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, STORE_CAS_TMP_PREFIX, prefix_len) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cas->tmp_dir, e->d_name);
		if (tmp_address(e->d_name, hash)) {
			rc = recover_one(cas, path, hash);
		} else if (unlink(path) != 0 && errno != ENOENT) {
			/* a put's or a key's temp file of the old kind */
			rc = arca_error_set(ARCA_EIO, "cannot remove stale temp file %s: %s", path,
					    strerror(errno));
		}
	}
	closedir(d);
	return rc;
}

int store_cas__check_failed(store_cas *cas)
{
	char msg[sizeof(cas->failed_msg)];
	int failed;

	pthread_mutex_lock(&cas->mu);
	failed = cas->failed;
	if (failed)
		memcpy(msg, cas->failed_msg, sizeof(msg));
	pthread_mutex_unlock(&cas->mu);
	if (!failed)
		return 0;
	return arca_error_set(ARCA_EIO,
			      "chunk store %s: an earlier sync failed (%s); check the disk and "
			      "reopen the store", cas->root, msg);
}

int store_cas_sync(store_cas *cas)
{
	store_cas_pending_list batch;
	store_cas_dir_list dirs;
	int rc;

	if (cas->opts.sync != STORE_CAS_SYNC_DEFERRED)
		return 0;
	pthread_mutex_lock(&cas->sync_mu);
	rc = store_cas__check_failed(cas);
	if (rc < 0) {
		pthread_mutex_unlock(&cas->sync_mu);
		return rc;
	}
	pthread_mutex_lock(&cas->mu);
	batch = cas->pending;
	memset(&cas->pending, 0, sizeof(cas->pending));
	dirs = cas->dirs;
	memset(&cas->dirs, 0, sizeof(cas->dirs));
	/* Still visible to exists/get while the batch commits. */
	cas->syncing = batch;
	pthread_mutex_unlock(&cas->mu);

	rc = commit_batch(cas, &batch, &dirs);

	pthread_mutex_lock(&cas->mu);
	memset(&cas->syncing, 0, sizeof(cas->syncing));
	cas->synced++;
	if (rc < 0) {
		cas->failed = rc;
		snprintf(cas->failed_msg, sizeof(cas->failed_msg), "%s", arca_error_last());
	}
	pthread_mutex_unlock(&cas->mu);
	pthread_mutex_unlock(&cas->sync_mu);
	list_release(&batch);
	dirs_release(&dirs);
	return rc;
}
