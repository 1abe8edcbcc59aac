/* store_cas_sync.c - deferred durability (group commit).
 *
 * In STORE_CAS_SYNC_DEFERRED mode a put writes the chunk to a temp file and
 * records it here, with its descriptor still open.  store_cas_sync then
 * fsyncs every recorded file, renames each into place, and fsyncs each
 * directory touched once: a batch of N chunks costs N file fsyncs but only
 * as many directory fsyncs as distinct directories, and callers (many
 * instances, many associations) share one sync.
 *
 * Renaming only after the fsync keeps the store's invariant: a file under a
 * chunk's final name always holds the complete chunk, even after a power
 * loss, so deduplication can trust a name's existence. */
#include "store_cas_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int store_cas__pending_add(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int fd,
			   const char *tmp, bool *want_sync)
{
	store_cas_pending_list *l = &cas->pending;
	char *copy = strdup(tmp);
	int rc = 0;

	*want_sync = false;
	pthread_mutex_lock(&cas->mu);
	if (copy == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory for the pending list");
	} else if (list_find(&cas->pending, hash, NULL) || list_find(&cas->syncing, hash, NULL)) {
		rc = ARCA_EEXISTS; /* another thread put the same chunk meanwhile */
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

static int commit_batch(store_cas *cas, store_cas_pending_list *batch, store_cas_dir_list *dirs)
{
	char final[PATH_MAX], leaf[PATH_MAX];
	size_t renamed = 0;
	int rc = 0;

	/* 1. Every file's bytes reach the disk before any name appears. */
	for (size_t i = 0; i < batch->n; i++) {
		if (rc == 0)
			rc = store_cas_fsync_fd(batch->v[i].fd, batch->v[i].tmp);
		close(batch->v[i].fd);
		batch->v[i].fd = -1;
	}
	/* 2. Names.  EEXIST: the same chunk arrived meanwhile (another
	 * process, or a put in sync-each mode); ours is a duplicate. */
	for (; rc == 0 && renamed < batch->n; renamed++) {
		store_cas_pending *p = &batch->v[renamed];
		int r;

		store_cas__chunk_path(cas, p->hash, final);
		r = store_cas_fsync_rename_noreplace(p->tmp, final);
		if (r == ARCA_EEXISTS)
			unlink(p->tmp);
		else if (r < 0)
			rc = r;
		if (r < 0 && r != ARCA_EEXISTS)
			break;
		store_cas__leaf_dir(cas, p->hash, leaf);
		r = dirs_add(dirs, leaf);
		if (r < 0)
			rc = r;
	}
	/* A failed batch is not stored: drop what was not renamed. */
	for (size_t i = renamed; i < batch->n; i++)
		unlink(batch->v[i].tmp);
	/* 3. The directories, also after a failure, for what was renamed. */
	for (size_t i = 0; i < dirs->n; i++) {
		int r = store_cas_fsync_dir(dirs->v[i]);
		if (r < 0 && rc == 0)
			rc = r;
	}
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
