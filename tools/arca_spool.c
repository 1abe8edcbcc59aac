/* arca_spool.c - the chain event spool (see arca_spool.h and
 * docs/chain-format.md 9). */
#include "arca_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"

int arca_spool_path(char *buf, size_t size, const char *root, const char *name)
{
	int n = name != NULL ? snprintf(buf, size, "%s/" ARCA_SPOOL_DIR "/%s", root, name)
			     : snprintf(buf, size, "%s/" ARCA_SPOOL_DIR, root);

	if (n < 0 || (size_t)n >= size)
		return arca_error_set(ARCA_EINVAL, "%s: path of the chain spool too long", root);
	return 0;
}

static int sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return arca_error_set(ARCA_EIO, "%s: %s", path, strerror(errno));
	if (fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "fsync %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static int make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return arca_error_set(ARCA_EIO, "cannot create %s: %s", path, strerror(errno));
}

int arca_spool_mkdir(const char *root)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = arca_spool_path(path, sizeof(path), root, NULL)) < 0 || (rc = make_dir(path)) < 0 ||
	    (rc = arca_spool_path(path, sizeof(path), root, ARCA_SPOOL_REJECTED)) < 0 || (rc = make_dir(path)) < 0)
		return rc;
	return 0;
}

int arca_spool_lock(const char *root, int *fd)
{
	char path[PATH_MAX];
	int rc;

	*fd = -1;
	if ((rc = arca_spool_mkdir(root)) < 0 || (rc = arca_spool_path(path, sizeof(path), root, ARCA_SPOOL_LOCK)) < 0)
		return rc;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open %s: %s", path, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(*fd);
		*fd = -1;
		if (e == EWOULDBLOCK)
			return arca_error_set(ARCA_EEXISTS, "%s is held: another arcad serves this archive", path);
		return arca_error_set(ARCA_EIO, "flock %s: %s", path, strerror(e));
	}
	return 0;
}

bool arca_spool_arcad_running(const char *root)
{
	char path[PATH_MAX];
	bool held = false;
	int fd;

	if (arca_spool_path(path, sizeof(path), root, ARCA_SPOOL_LOCK) < 0)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* a shared lock conflicts with arcad's exclusive one only */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0)
		held = errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int arca_spool_write(const char *root, const chain_entry *e, char name[ARCA_SPOOL_NAME_MAX])
{
	char dir[PATH_MAX], tmp[PATH_MAX + ARCA_SPOOL_NAME_MAX], final[PATH_MAX + ARCA_SPOOL_NAME_MAX];
	char *bytes = NULL;
	uint64_t rnd = 0;
	size_t len = 0;
	int fd = -1, rc;

	if ((rc = arca_spool_mkdir(root)) < 0 || (rc = arca_spool_path(dir, sizeof(dir), root, NULL)) < 0)
		return rc;
	if ((rc = chain_entry_encode_unindexed(e, &bytes, &len)) < 0)
		return rc;
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		rc = arca_error_set(ARCA_EIO, "getrandom: %s", strerror(errno));
		goto out;
	}
	/* the time first, so that name order is time order */
	snprintf(name, ARCA_SPOOL_NAME_MAX, "%013" PRId64 "-%ld-%016" PRIx64 ".ev", e->time_ms, (long)getpid(), rnd);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, name);
	snprintf(final, sizeof(final), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = arca_error_set(ARCA_EIO, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, ARCA_SPOOL_MAGIC, sizeof(ARCA_SPOOL_MAGIC) - 1) < 0 || write_all(fd, bytes, len) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) != 0) {
		rc = arca_error_set(ARCA_EIO, "writing %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, final) != 0) {
		rc = arca_error_set(ARCA_EIO, "rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = sync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(bytes);
	return rc;
}

bool arca_spool_exists(const char *root, const char *name)
{
	char path[PATH_MAX];

	return arca_spool_path(path, sizeof(path), root, name) == 0 && access(path, F_OK) == 0;
}

bool arca_spool_was_rejected(const char *root, const char *name)
{
	char rel[ARCA_SPOOL_NAME_MAX + 16];

	snprintf(rel, sizeof(rel), ARCA_SPOOL_REJECTED "/%s", name);
	return arca_spool_exists(root, rel);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void arca_spool_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int arca_spool_list(const char *root, char ***names, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *d;
	char **v = NULL;
	size_t cap = 0;
	DIR *dir;
	int rc;

	*names = NULL;
	*n = 0;
	if ((rc = arca_spool_path(path, sizeof(path), root, NULL)) < 0)
		return rc;
	dir = opendir(path);
	if (dir == NULL) {
		if (errno == ENOENT)
			return 0;
		return arca_error_set(ARCA_EIO, "cannot read %s: %s", path, strerror(errno));
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || strcmp(d->d_name, ARCA_SPOOL_REJECTED) == 0)
			continue;
		if (*n == cap) {
			size_t ncap = cap != 0 ? 2 * cap : 16;
			char **g = realloc(v, ncap * sizeof(*g));
			if (g == NULL) {
				rc = arca_error_set(ARCA_ENOMEM, "no memory to list the chain spool");
				goto fail;
			}
			v = g;
			cap = ncap;
		}
		v[*n] = strdup(d->d_name);
		if (v[*n] == NULL) {
			rc = arca_error_set(ARCA_ENOMEM, "no memory to list the chain spool");
			goto fail;
		}
		(*n)++;
	}
	closedir(dir);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), cmp_names);
	/* the oldest first; the rest wait for the next drain */
	while (*n > ARCA_SPOOL_DRAIN_MAX)
		free(v[--*n]);
	*names = v;
	return 0;
fail:
	closedir(dir);
	arca_spool_names_free(v, *n);
	*n = 0;
	return rc;
}

/* <digits>-<digits>-<16 lower-case hex>.ev: the names arca_spool_write
 * makes.  Others are not ours. */
static bool name_valid(const char *s)
{
	size_t i = 0, k;

	for (int part = 0; part < 2; part++) {
		for (k = 0; s[i] >= '0' && s[i] <= '9'; i++, k++)
			;
		if (k == 0 || k > 20 || s[i] != '-')
			return false;
		i++;
	}
	for (k = 0; (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'); i++, k++)
		;
	return k == 16 && strcmp(s + i, ".ev") == 0;
}

int arca_spool_read(chain_entry **out, const char *root, const char *name, const char *node)
{
	const size_t magic = sizeof(ARCA_SPOOL_MAGIC) - 1;
	char path[PATH_MAX];
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc;

	*out = NULL;
	if (!name_valid(name))
		return arca_error_set(ARCA_EPROTO, "not a spool file name (<ms>-<pid>-<16 hex>.ev)");
	if ((rc = arca_spool_path(path, sizeof(path), root, name)) < 0)
		return rc;
	/* outside input: no symbolic link, a regular file, bounded */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return arca_error_set(ARCA_ENOTFOUND, "%s is gone", path);
		return arca_error_set(ARCA_EPROTO, "cannot open: %s", strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = arca_error_set(ARCA_EPROTO, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > ARCA_SPOOL_FILE_MAX) {
		rc = arca_error_set(ARCA_ELIMIT, "%lld bytes, more than a spool file holds (%zu)",
				    (long long)st.st_size, (size_t)ARCA_SPOOL_FILE_MAX);
		goto out;
	}
	buf = malloc(ARCA_SPOOL_FILE_MAX + 1);
	if (buf == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "no memory to read a spool file");
		goto out;
	}
	/* read to the end, one byte past the limit at most (the file may
	 * have grown since fstat) */
	for (;;) {
		ssize_t r = read(fd, buf + got, ARCA_SPOOL_FILE_MAX + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = arca_error_set(ARCA_EPROTO, "read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > ARCA_SPOOL_FILE_MAX) {
			rc = arca_error_set(ARCA_ELIMIT, "more than a spool file holds (%zu bytes)",
					    (size_t)ARCA_SPOOL_FILE_MAX);
			goto out;
		}
	}
	if (got < magic || memcmp(buf, ARCA_SPOOL_MAGIC, magic) != 0) {
		rc = arca_error_set(ARCA_EPROTO, "does not start with the line \"arca-spool 1\"");
		goto out;
	}
	if (got < magic + 2 || buf[got - 1] != '\n' || memchr(buf + magic, '\n', got - magic - 1) != NULL) {
		rc = arca_error_set(ARCA_EPROTO, "is not one entry line ended by a newline after the first line");
		goto out;
	}
	if ((rc = chain_entry_parse_unindexed(out, buf + magic, got - magic - 1)) < 0)
		goto out;
	if ((*out)->event == CHAIN_EVENT_KEY_CHANGE) {
		/* only `arca node rotate-key` records one, and it switches the
		 * key the log is signed with: never through arcad */
		rc = arca_error_set(ARCA_EPROTO, "a key change, which only arca node rotate-key records");
		chain_entry_free(*out);
		*out = NULL;
	} else if (strcmp((*out)->node, node) != 0) {
		rc = arca_error_set(ARCA_EPROTO, "an event of node \"%s\", not of this node \"%s\"", (*out)->node,
				    node);
		chain_entry_free(*out);
		*out = NULL;
	}
out:
	close(fd);
	free(buf);
	return rc;
}

int arca_spool_reject(const char *root, const char *name)
{
	char from[PATH_MAX], to[PATH_MAX], rel[ARCA_SPOOL_NAME_MAX + 16], dir[PATH_MAX];
	int rc;

	if (strlen(name) >= ARCA_SPOOL_NAME_MAX || strchr(name, '/') != NULL)
		return arca_error_set(ARCA_EINVAL, "spool file name too long");
	snprintf(rel, sizeof(rel), ARCA_SPOOL_REJECTED "/%s", name);
	if ((rc = arca_spool_mkdir(root)) < 0 || (rc = arca_spool_path(from, sizeof(from), root, name)) < 0 ||
	    (rc = arca_spool_path(to, sizeof(to), root, rel)) < 0 ||
	    (rc = arca_spool_path(dir, sizeof(dir), root, NULL)) < 0)
		return rc;
	if (rename(from, to) != 0)
		return arca_error_set(ARCA_EIO, "cannot move %s to %s: %s", from, to, strerror(errno));
	return sync_dir(dir);
}

int arca_spool_clean(const char *root, unsigned max_age, size_t *removed)
{
	char path[PATH_MAX];
	time_t now = time(NULL);
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int rc, dfd;

	*removed = 0;
	if ((rc = arca_spool_path(path, sizeof(path), root, NULL)) < 0)
		return rc;
	dir = opendir(path);
	if (dir == NULL)
		return errno == ENOENT ? 0 : arca_error_set(ARCA_EIO, "cannot read %s: %s", path, strerror(errno));
	dfd = dirfd(dir);
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, ".tmp-", 5) != 0 || fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		/* a command still writing one is at most seconds old */
		if (now - st.st_mtime > (time_t)max_age && unlinkat(dfd, d->d_name, 0) == 0)
			(*removed)++;
	}
	closedir(dir);
	return *removed > 0 ? sync_dir(path) : 0;
}

int arca_spool_remove(const char *root, const char *name, bool sync)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int rc;

	if ((rc = arca_spool_path(path, sizeof(path), root, name)) < 0 ||
	    (rc = arca_spool_path(dir, sizeof(dir), root, NULL)) < 0)
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return arca_error_set(ARCA_EIO, "cannot remove %s: %s", path, strerror(errno));
	return sync ? sync_dir(dir) : 0;
}

int arca_spool_sync(const char *root)
{
	char dir[PATH_MAX];
	int rc = arca_spool_path(dir, sizeof(dir), root, NULL);

	return rc < 0 ? rc : sync_dir(dir);
}

int arca_spool_drain_sync(const char *root, const char *node, chain_log *log, arca_spool_reject_fn fn,
			  void *arg, size_t *appended)
{
	char **names = NULL;
	bool *taken = NULL;
	size_t n = 0, count = 0;
	int rc;

	if (appended != NULL)
		*appended = 0;
	if ((rc = arca_spool_list(root, &names, &n)) < 0 || n == 0)
		return rc;
	taken = calloc(n, sizeof(*taken));
	if (taken == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "no memory to drain the chain spool");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		chain_entry *e = NULL;
		int r = arca_spool_read(&e, root, names[i], node);

		if (r == ARCA_ENOTFOUND)
			continue;
		if (r == ARCA_EPROTO || r == ARCA_ELIMIT) {
			char why[512];
			snprintf(why, sizeof(why), "%s", arca_error_last());
			if ((rc = arca_spool_reject(root, names[i])) < 0)
				break;
			if (fn != NULL)
				fn(arg, names[i], why);
			continue;
		}
		if (r == 0) {
			r = chain_log_append(log, e, NULL, NULL, NULL);
			chain_entry_free(e);
		}
		if (r < 0) {
			rc = r;
			break; /* what was appended is still flushed and removed */
		}
		taken[i] = true;
		count++;
	}
	if (count > 0) {
		int frc = chain_log_flush(log);
		if (frc < 0) {
			rc = frc;
			goto out;
		}
		/* durable: only now may the files go */
		for (size_t i = 0; i < n; i++) {
			int rrc = taken[i] ? arca_spool_remove(root, names[i], false) : 0;
			if (rrc < 0 && rc == 0)
				rc = rrc;
		}
		/* one directory sync for all of them */
		int src = arca_spool_sync(root);
		if (src < 0 && rc == 0)
			rc = src;
	}
	if (appended != NULL)
		*appended = count;
out:
	free(taken);
	arca_spool_names_free(names, n);
	return rc;
}
