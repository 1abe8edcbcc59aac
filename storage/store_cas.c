/* store_cas.c - the chunk store: open, put, get and the small queries
 * (see store_cas.h; the file format is in store_cas_format.c, the layout in
 * store_cas_path.c, sealing in store_cas_crypt.c, compression in
 * store_cas_zstd.c, a chunk's body encoded and decoded in store_cas_codec.c,
 * deferred durability in store_cas_sync.c). */
#include "store_cas_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "arca_err.h"
#include "store_cas_fsync.h"

#define DEFAULT_ZSTD_LEVEL 3
#define DEFAULT_MAX_PENDING 256
#define LOCK_FILE "cas.lock"

void store_cas_options_init(store_cas_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->zstd_level = DEFAULT_ZSTD_LEVEL;
	opts->sync = STORE_CAS_SYNC_EACH;
	opts->chunk_max = STORE_CAS_CHUNK_DEFAULT;
	opts->max_pending = DEFAULT_MAX_PENDING;
}

static int options_check(store_cas_options *o)
{
	if (o->zstd_level == 0)
		o->zstd_level = DEFAULT_ZSTD_LEVEL;
	if (o->chunk_max == 0)
		o->chunk_max = STORE_CAS_CHUNK_DEFAULT;
	if (o->max_pending == 0)
		o->max_pending = DEFAULT_MAX_PENDING;
	if (o->chunk_max > STORE_CAS_CHUNK_MAX)
		return arca_error_set(ARCA_EINVAL, "chunk limit %zu exceeds the cap of %zu bytes",
				      o->chunk_max, STORE_CAS_CHUNK_MAX);
	if (o->sync != STORE_CAS_SYNC_EACH && o->sync != STORE_CAS_SYNC_DEFERRED)
		return arca_error_set(ARCA_EINVAL, "unknown sync mode %d", (int)o->sync);
	if (o->barrier != STORE_CAS_BARRIER_FDATASYNC && o->barrier != STORE_CAS_BARRIER_SYNCFS)
		return arca_error_set(ARCA_EINVAL, "unknown sync barrier %d", (int)o->barrier);
	return 0;
}

/* Creates dir if missing and makes its entry in parent durable. */
static int make_layout_dir(const char *dir, const char *parent)
{
	bool created;
	int rc = store_cas_fsync_mkdir(dir, 0750, &created);

	if (rc == 0 && created)
		rc = store_cas_fsync_dir(parent);
	return rc;
}

/* Temp files in chunks/tmp belong to whoever has the store open; they are
 * only stale when nobody has.  Every opener holds a shared flock on
 * root/cas.lock; one that can take it exclusively is alone.  The lock is
 * taken before the layout is decided and the key loaded, since both may
 * write through a temp file in chunks/tmp, which an opener alone would
 * otherwise take for a crashed writer's leftover. */
static int lock_store(store_cas *cas, bool *alone)
{
	char path[PATH_MAX];

	*alone = false;
	snprintf(path, sizeof(path), "%s/%s", cas->root, LOCK_FILE);
	cas->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (cas->lock_fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open lock file %s: %s", path, strerror(errno));
	if (flock(cas->lock_fd, LOCK_EX | LOCK_NB) == 0) {
		*alone = true;
		return 0;
	}
	if (errno != EWOULDBLOCK)
		return arca_error_set(ARCA_EIO, "cannot lock %s: %s", path, strerror(errno));
	while (flock(cas->lock_fd, LOCK_SH) != 0) {
		if (errno != EINTR)
			return arca_error_set(ARCA_EIO, "cannot lock %s: %s", path, strerror(errno));
	}
	return 0;
}

/* An opener alone finishes or removes the leftovers of crashed writers
 * (store_cas__recover_tmp), then goes back to shared like everyone else. */
static int clean_and_share(store_cas *cas)
{
	int rc = store_cas__recover_tmp(cas);

	while (rc == 0 && flock(cas->lock_fd, LOCK_SH) != 0) {
		if (errno != EINTR)
			rc = arca_error_set(ARCA_EIO, "cannot lock %s/%s: %s", cas->root, LOCK_FILE,
					    strerror(errno));
	}
	return rc;
}

int store_cas_open(store_cas **out, const char *root, const store_cas_options *opts)
{
	store_cas *cas;
	bool alone = false;
	int rc;

	*out = NULL;
	if (root == NULL || root[0] == '\0')
		return arca_error_set(ARCA_EINVAL, "chunk store: no root directory given");
	cas = calloc(1, sizeof(*cas));
	if (cas == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for the chunk store");
	cas->lock_fd = -1;
	pthread_mutex_init(&cas->mu, NULL);
	pthread_mutex_init(&cas->sync_mu, NULL);
	if (opts != NULL)
		cas->opts = *opts;
	else
		store_cas_options_init(&cas->opts);
	rc = options_check(&cas->opts);
	if (rc == 0)
		rc = store_cas_fsync_mkdir(root, 0750, NULL);
	if (rc == 0 && realpath(root, cas->root) == NULL)
		rc = arca_error_set(ARCA_EIO, "cannot resolve store root %s: %s", root,
				    strerror(errno));
	if (rc == 0 && strlen(cas->root) > STORE_CAS_ROOT_MAX)
		rc = arca_error_set(ARCA_ELIMIT, "store root %s is longer than %d bytes", cas->root,
				    STORE_CAS_ROOT_MAX);
	if (rc == 0) {
		snprintf(cas->chunks, sizeof(cas->chunks), "%s/chunks", cas->root);
		snprintf(cas->tmp_dir, sizeof(cas->tmp_dir), "%s/tmp", cas->chunks);
		rc = make_layout_dir(cas->chunks, cas->root);
	}
	if (rc == 0)
		rc = make_layout_dir(cas->tmp_dir, cas->chunks);
	if (rc == 0)
		rc = lock_store(cas, &alone);
	if (rc == 0)
		rc = store_cas__layout_open(cas);
	/* The key and zstd before recovery: it reads a crashed writer's temp
	 * files as chunks. */
	if (rc == 0)
		rc = store_cas__crypt_new(&cas->crypt);
	if (rc == 0)
		rc = store_cas__crypt_load_key(cas->crypt, cas->root, cas->tmp_dir, cas->opts.encrypt);
	if (rc == 0)
		rc = store_cas__zstd_new(&cas->zstd, cas->opts.zstd_level);
	if (rc == 0 && alone)
		rc = clean_and_share(cas);
	if (rc < 0) {
		store_cas_free(cas);
		return rc;
	}
	*out = cas;
	return 0;
}

void store_cas_free(store_cas *cas)
{
	if (cas == NULL)
		return;
	if (cas->crypt != NULL)
		(void)store_cas_sync(cas);
	store_cas__pending_release(cas);
	store_cas__zstd_free(cas->zstd);
	store_cas__crypt_free(cas->crypt);
	if (cas->lock_fd >= 0)
		close(cas->lock_fd); /* releases the flock */
	pthread_mutex_destroy(&cas->mu);
	pthread_mutex_destroy(&cas->sync_mu);
	free(cas);
}

const char *store_cas_root(const store_cas *cas)
{
	return cas->root;
}

/* ---- put ---- */

static int present(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], bool *out)
{
	char path[PATH_MAX];
	struct stat st;

	/* Pending first: a sync drops a chunk from its lists only after the
	 * rename, so this order cannot miss a chunk that is moving. */
	if (cas->opts.sync == STORE_CAS_SYNC_DEFERRED && store_cas__pending_find(cas, hash, NULL)) {
		*out = true;
		return 0;
	}
	store_cas__chunk_path(cas, hash, path);
	if (stat(path, &st) == 0) {
		*out = true;
		return 0;
	}
	if (errno != ENOENT)
		return arca_error_set(ARCA_EIO, "cannot stat chunk file %s: %s", path, strerror(errno));
	*out = false;
	return 0;
}

static int dir_created_each(store_cas *cas, const char *parent)
{
	(void)cas;
	return store_cas_fsync_dir(parent);
}

/* Deferred mode needs no directory fsync for a new ab/ or ab/cd/ (nested
 * layout; the flat one makes none): the chunk's durable copy until the
 * file system commits the rename is its temp file in chunks/tmp, and
 * recovery recreates the directories. */
static int dir_created_deferred(store_cas *cas, const char *parent)
{
	(void)cas;
	(void)parent;
	return 0;
}

/* chunks/tmp/tmp-<address>-XXXXXX: the address in the name lets recovery
 * finish the rename after a crash (store_cas__recover_tmp). */
static int tmp_create_named(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], char tmp[PATH_MAX],
			    int *fd_out)
{
	char hex[STORE_CAS_HEX_LEN + 1];
	int fd;

	store_cas_hash_to_hex(hash, hex);
	snprintf(tmp, PATH_MAX, "%s/" STORE_CAS_TMP_PREFIX "%s-XXXXXX", cas->tmp_dir, hex);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot create a temp file in %s: %s", cas->tmp_dir,
				      strerror(errno));
	*fd_out = fd;
	return 0;
}

static int write_chunk(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const store_cas_encoded *e,
		       uint64_t seen_synced, bool *out_new)
{
	bool deferred = cas->opts.sync == STORE_CAS_SYNC_DEFERRED;
	char tmp[PATH_MAX], final[PATH_MAX], leaf[PATH_MAX];
	struct iovec iov[3] = {
		{ (void *)e->header, STORE_CAS_HEADER_LEN },
		{ (void *)e->body, e->body_len },
		{ (void *)e->tag, e->sealed ? STORE_CAS_TAG_LEN : 0 },
	};
	bool want_sync = false;
	int fd = -1;
	int rc;

	rc = store_cas__make_dirs(cas, hash, deferred ? dir_created_deferred : dir_created_each);
	if (rc < 0)
		return rc;
	rc = deferred ? tmp_create_named(cas, hash, tmp, &fd)
		      : store_cas_fsync_tmp_create(cas->tmp_dir, tmp, sizeof(tmp), &fd);
	if (rc < 0)
		return rc;
	rc = store_cas_fsync_write_all(fd, iov, 3, tmp);
	if (rc < 0)
		goto fail;
	if (deferred) {
		/* Start the write-back now (asynchronous), so that the sync's
		 * fdatasync finds the pages on their way to the disk while the
		 * rest of the instance is still being processed. */
		if (cas->opts.barrier == STORE_CAS_BARRIER_FDATASYNC)
			store_cas__writeback_start(fd);
		rc = store_cas__pending_add(cas, hash, fd, tmp, seen_synced, &want_sync);
		if (rc == ARCA_EEXISTS)
			return 0; /* a concurrent put of the same chunk is pending */
		if (rc < 0)
			return rc;
		*out_new = true;
		return want_sync ? store_cas_sync(cas) : 0;
	}
	rc = store_cas_fsync_fd(fd, tmp);
	if (rc < 0)
		goto fail;
	close(fd);
	fd = -1;
	store_cas__chunk_path(cas, hash, final);
	rc = store_cas_fsync_rename_noreplace(tmp, final);
	if (rc == ARCA_EEXISTS) {
		/* Lost a race with a put of the same chunk: its file is ours. */
		unlink(tmp);
		return 0;
	}
	if (rc < 0) {
		rc = store_cas__rename_failed(cas, hash, rc);
		goto fail;
	}
	store_cas__leaf_dir(cas, hash, leaf);
	rc = store_cas_fsync_dir(leaf);
	if (rc == 0)
		*out_new = true;
	return rc;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int store_cas_put(store_cas *cas, const void *data, size_t len,
		  uint8_t out_hash[STORE_CAS_HASH_LEN], bool *out_new)
{
	uint8_t hash[STORE_CAS_HASH_LEN];
	bool unused, have;
	store_cas_encoded e = { 0 };
	uint64_t seen_synced = 0;
	int rc;

	if (out_new == NULL)
		out_new = &unused;
	*out_new = false;
	if (data == NULL && len > 0)
		return arca_error_set(ARCA_EINVAL, "store_cas_put: no data");
	if (len > cas->opts.chunk_max)
		return arca_error_set(ARCA_ELIMIT,
				      "chunk of %zu bytes exceeds the limit of %zu; split it",
				      len, cas->opts.chunk_max);
	if (len == 0)
		data = "";
	if (cas->opts.sync == STORE_CAS_SYNC_DEFERRED) {
		rc = store_cas__check_failed(cas);
		if (rc < 0)
			return rc;
	}
	rc = store_cas__sha256(cas->crypt, data, len, hash);
	if (rc < 0)
		return rc;
	memcpy(out_hash, hash, STORE_CAS_HASH_LEN);
	/* Before looking: a sync that renames the same chunk (another
	 * thread's) after the look is seen by pending_add. */
	if (cas->opts.sync == STORE_CAS_SYNC_DEFERRED)
		seen_synced = store_cas__synced(cas);
	/* a chunk found is touched: gc beside this put sees it in use */
	rc = store_cas__present_touch(cas, hash, &have);
	if (rc < 0 || have)
		return rc;
	rc = store_cas__encode(cas, hash, data, len, &e);
	if (rc == 0)
		rc = write_chunk(cas, hash, &e, seen_synced, out_new);
	free(e.own);
	return rc;
}

/* ---- get and friends ---- */

/* Opens hash's file: its final name, else (deferred) its pending temp
 * file, else its final name again in case a sync renamed it meanwhile.
 * path gets the final name, which messages use. */
static int open_chunk(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
		      char path[PATH_MAX], int *fd_out)
{
	char tmp[PATH_MAX];
	int fd;

	store_cas__chunk_path(cas, hash, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && cas->opts.sync == STORE_CAS_SYNC_DEFERRED &&
	    store_cas__pending_find(cas, hash, tmp)) {
		fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return arca_error_set(ARCA_ENOTFOUND, "chunk %s not found", path);
		return arca_error_set(ARCA_EIO, "cannot open chunk file %s: %s", path,
				      strerror(errno));
	}
	*fd_out = fd;
	return 0;
}

static int read_full(int fd, uint8_t *buf, size_t len, const char *path)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return arca_error_set(ARCA_EIO, "cannot read chunk file %s: %s", path,
					      strerror(errno));
		if (n == 0)
			return arca_error_set(ARCA_EPROTO,
					      "chunk file %s: truncated while reading (%zu of %zu bytes)",
					      path, got, len);
		got += (size_t)n;
	}
	return 0;
}

int store_cas__read_fd(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int fd,
		       const char *path, uint8_t **data, size_t *len)
{
	uint8_t check[STORE_CAS_HASH_LEN];
	uint8_t *buf = NULL, *plain = NULL;
	store_cas_header h;
	struct stat st;
	size_t size;
	int rc;

	*data = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0) {
		rc = arca_error_set(ARCA_EIO, "cannot stat chunk file %s: %s", path, strerror(errno));
		goto out;
	}
	/* Cap before allocating: no valid chunk file is larger than this. */
	if (st.st_size < 0 ||
	    (uint64_t)st.st_size > STORE_CAS_HEADER_LEN + STORE_CAS_CHUNK_MAX + STORE_CAS_TAG_LEN) {
		rc = arca_error_set(ARCA_EPROTO, "chunk file %s: %lld bytes, larger than any chunk",
				    path, (long long)st.st_size);
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size > 0 ? size : 1);
	if (buf == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory reading chunk file %s", path);
		goto out;
	}
	rc = read_full(fd, buf, size, path);
	if (rc == 0)
		rc = store_cas__header_decode(buf, size, size, path, &h);
	if (rc < 0)
		goto out;
	/* header_decode checked size == header + stored_len (+ tag), so the
	 * body and the tag below lie inside buf. */
	uint8_t *body = buf + STORE_CAS_HEADER_LEN;
	size_t tag_len = (h.flags & STORE_CAS_FLAG_AES256GCM) ? STORE_CAS_TAG_LEN : 0;
	if (store_cas__checksum(buf, body, h.stored_len, body + h.stored_len, tag_len) != h.crc) {
		rc = arca_error_set(ARCA_EPROTO,
				    "chunk file %s: checksum mismatch, the file changed on disk; "
				    "restore it from a replica", path);
		goto out;
	}
	/* buf passes to the decoder: plain is the chunk's bytes, buf may
	 * have become plain */
	rc = store_cas__decode(cas, hash, &h, buf, size, path, &plain);
	if (plain == buf)
		buf = NULL;
	if (rc < 0)
		goto out;
	rc = store_cas__sha256(cas->crypt, plain, h.plain_len, check);
	if (rc == 0 && memcmp(check, hash, STORE_CAS_HASH_LEN) != 0)
		rc = arca_error_set(ARCA_ECRYPTO,
				    "chunk file %s: content does not hash to its address (damaged); "
				    "restore it from a replica", path);
	if (rc == 0) {
		*data = plain;
		*len = h.plain_len;
		plain = NULL;
	}
out:
	free(buf);
	free(plain);
	return rc;
}

int store_cas_get(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
		  uint8_t **data, size_t *len)
{
	char path[PATH_MAX];
	int fd = -1;
	int rc;

	*data = NULL;
	*len = 0;
	rc = open_chunk(cas, hash, path, &fd);
	if (rc < 0)
		return rc;
	rc = store_cas__read_fd(cas, hash, fd, path, data, len);
	close(fd);
	return rc;
}

int store_cas_verify(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN])
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = store_cas_get(cas, hash, &data, &len);

	free(data);
	return rc;
}

int store_cas_exists(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], bool *exists)
{
	*exists = false;
	return present(cas, hash, exists);
}

int store_cas_stat(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], store_cas_info *out)
{
	char path[PATH_MAX];
	uint8_t hbuf[STORE_CAS_HEADER_LEN];
	store_cas_header h;
	struct stat st;
	ssize_t n;
	int fd = -1;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = open_chunk(cas, hash, path, &fd);
	if (rc < 0)
		return rc;
	if (fstat(fd, &st) != 0) {
		rc = arca_error_set(ARCA_EIO, "cannot stat chunk file %s: %s", path, strerror(errno));
	} else {
		do
			n = pread(fd, hbuf, sizeof(hbuf), 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			rc = arca_error_set(ARCA_EIO, "cannot read chunk file %s: %s", path,
					    strerror(errno));
		else
			rc = store_cas__header_decode(hbuf, (size_t)n, (uint64_t)st.st_size, path, &h);
	}
	close(fd);
	if (rc < 0)
		return rc;
	out->plain_size = h.plain_len;
	out->stored_size = (uint64_t)st.st_size;
	out->compressed = (h.flags & STORE_CAS_FLAGS_COMPRESSED) != 0;
	out->encrypted = (h.flags & STORE_CAS_FLAG_AES256GCM) != 0;
	return 0;
}

int store_cas_remove(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN])
{
	char path[PATH_MAX], leaf[PATH_MAX];

	if (cas->opts.sync == STORE_CAS_SYNC_DEFERRED && store_cas__pending_drop(cas, hash))
		return 0;
	store_cas__chunk_path(cas, hash, path);
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return arca_error_set(ARCA_ENOTFOUND, "chunk %s not found", path);
		return arca_error_set(ARCA_EIO, "cannot remove chunk file %s: %s", path,
				      strerror(errno));
	}
	store_cas__leaf_dir(cas, hash, leaf);
	if (cas->opts.sync == STORE_CAS_SYNC_DEFERRED)
		return store_cas__dir_dirty(cas, leaf);
	return store_cas_fsync_dir(leaf);
}
