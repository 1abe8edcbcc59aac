/* store_cas_fsync.c - durable file writing: temp + fsync + rename +
 * directory fsync (see store_cas_fsync.h). */
#include "store_cas_fsync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"

int store_cas_fsync_tmp_create(const char *dir, char *path_out, size_t cap, int *fd_out)
{
	int n = snprintf(path_out, cap, "%s/" STORE_CAS_TMP_PREFIX "XXXXXX", dir);
	int fd;

	if (n < 0 || (size_t)n >= cap)
		return arca_error_set(ARCA_ELIMIT, "temp file path under %s is too long", dir);
	/* mkostemp: O_EXCL with a fresh random name, mode 0600. */
	fd = mkostemp(path_out, O_CLOEXEC);
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot create a temp file in %s: %s", dir,
				      strerror(errno));
	*fd_out = fd;
	return 0;
}

int store_cas_fsync_write_all(int fd, const struct iovec *iov, int iovcnt, const char *path)
{
	struct iovec v[8];
	int n = 0;

	if (iovcnt < 0 || iovcnt > (int)(sizeof(v) / sizeof(v[0])))
		return arca_error_set(ARCA_EINVAL, "write of %s: %d buffers, at most 8", path, iovcnt);
	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_len > 0)
			v[n++] = iov[i];
	/* writev may write less than asked (signals, quotas near full): advance
	 * through the vector and go on until everything is out. */
	int first = 0;
	while (first < n) {
		ssize_t w = writev(fd, &v[first], n - first);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return arca_error_set(ARCA_EIO, "cannot write %s: %s", path, strerror(errno));
		}
		size_t done = (size_t)w;
		while (first < n && done >= v[first].iov_len) {
			done -= v[first].iov_len;
			first++;
		}
		if (first < n && done > 0) {
			v[first].iov_base = (char *)v[first].iov_base + done;
			v[first].iov_len -= done;
		}
	}
	return 0;
}

int store_cas_fsync_fd(int fd, const char *path)
{
	/* No retry on error: after a failed fsync the kernel may have dropped
	 * the dirty pages, and a second fsync can report success falsely. */
	if (fsync(fd) != 0)
		return arca_error_set(ARCA_EIO, "cannot fsync %s: %s", path, strerror(errno));
	return 0;
}

int store_cas_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open directory %s to fsync it: %s", dir,
				      strerror(errno));
	rc = store_cas_fsync_fd(fd, dir);
	close(fd);
	return rc;
}

int store_cas_fsync_rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		return ARCA_EEXISTS;
	if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
		/* The file system lacks RENAME_NOREPLACE: link(2) never
		 * replaces either; then drop the temp name. */
		if (link(from, to) == 0) {
			unlink(from);
			return 0;
		}
		if (errno == EEXIST)
			return ARCA_EEXISTS;
	}
	return arca_error_set(ARCA_EIO, "cannot rename %s to %s: %s", from, to, strerror(errno));
}

int store_cas_fsync_mkdir(const char *path, mode_t mode, bool *created)
{
	struct stat st;

	if (created != NULL)
		*created = false;
	if (mkdir(path, mode) == 0) {
		if (created != NULL)
			*created = true;
		return 0;
	}
	if (errno != EEXIST)
		return arca_error_set(ARCA_EIO, "cannot create directory %s: %s", path,
				      strerror(errno));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return arca_error_set(ARCA_EIO, "%s exists and is not a directory; move it away",
				      path);
	return 0;
}

int store_cas_fsync_dirname(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		if (cap < 2)
			return arca_error_set(ARCA_ELIMIT, "directory of %s: buffer too small", path);
		strcpy(out, ".");
		return 0;
	}
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/name" lives in "/" */
	if (n >= cap)
		return arca_error_set(ARCA_ELIMIT, "directory of %s: path too long", path);
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

int store_cas_fsync_write_file(const char *tmp_dir, const char *path, const void *data,
			       size_t len, mode_t mode, bool replace)
{
	char tmp[PATH_MAX];
	char dir[PATH_MAX];
	struct iovec iov = { (void *)data, len };
	int fd = -1;
	int rc;

	rc = store_cas_fsync_dirname(path, dir, sizeof(dir));
	if (rc < 0)
		return rc;
	rc = store_cas_fsync_tmp_create(tmp_dir, tmp, sizeof(tmp), &fd);
	if (rc < 0)
		return rc;
	rc = store_cas_fsync_write_all(fd, &iov, 1, tmp);
	if (rc == 0 && fchmod(fd, mode) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot chmod %s: %s", tmp, strerror(errno));
	if (rc == 0)
		rc = store_cas_fsync_fd(fd, tmp);
	close(fd);
	if (rc == 0) {
		if (replace) {
			if (rename(tmp, path) != 0)
				rc = arca_error_set(ARCA_EIO, "cannot rename %s to %s: %s", tmp, path,
						    strerror(errno));
		} else {
			rc = store_cas_fsync_rename_noreplace(tmp, path);
			if (rc == ARCA_EEXISTS)
				rc = arca_error_set(ARCA_EEXISTS, "%s already exists", path);
		}
	}
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	return store_cas_fsync_dir(dir);
}
