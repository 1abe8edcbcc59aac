/* chain_keyfile.c - the secret key files of a node (its Ed25519 key, the
 * consortium pseudonym key): created once, 0600 from the first moment,
 * durable, and refused when others can read them.  One copy of that care
 * for every key file chain/ keeps (see chain_priv.h). */
#include "chain_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"

/* The new directory entry is durable only once the directory is synced. */
static int fsync_parent(const char *path, const char *what)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = 0;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "syncing directory %s of %s %s: %s", dir, what, path,
				    strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int chain__keyfile_create(const char *path, const char *what, const char *exists_hint,
			  const uint8_t *data, size_t len)
{
	size_t done = 0;
	int fd, rc = 0;

	/* O_EXCL: a key is never replaced by accident; mode 0600 from the
	 * start, so it is never readable by others, not even for a moment. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return arca_error_set(errno == EEXIST ? ARCA_EEXISTS : ARCA_EIO,
				      "cannot create %s %s: %s%s", what, path, strerror(errno),
				      errno == EEXIST ? exists_hint : "");
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = arca_error_set(ARCA_EIO, "writing %s %s: %s", what, path,
					    w < 0 ? strerror(errno) : "no progress");
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "syncing %s %s: %s", what, path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = arca_error_set(ARCA_EIO, "closing %s %s: %s", what, path, strerror(errno));
	if (rc == 0)
		rc = fsync_parent(path, what);
	if (rc < 0)
		unlink(path);
	return rc;
}

int chain__keyfile_read(const char *path, const char *what, uint8_t *buf, size_t cap, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_set(errno == ENOENT ? ARCA_ENOTFOUND : ARCA_EIO,
				      "cannot open %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = arca_error_set(ARCA_EIO, "cannot stat %s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = arca_error_set(ARCA_EINVAL, "%s %s is not a regular file", what, path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		rc = arca_error_set(ARCA_EINVAL, "%s %s is accessible by others (mode %03o); chmod 600 it",
				    what, path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > cap) {
		rc = arca_error_set(ARCA_ELIMIT, "%s %s is %lld bytes, more than %zu", what, path,
				    (long long)st.st_size, cap);
		goto out;
	}
	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = arca_error_set(ARCA_EIO, "reading %s %s: %s", what, path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got == cap) {
		uint8_t more;
		if (read(fd, &more, 1) > 0) {
			rc = arca_error_set(ARCA_ELIMIT, "%s %s grew past %zu bytes while read", what, path, cap);
			goto out;
		}
	}
	*len = got;
out:
	close(fd);
	return rc;
}
