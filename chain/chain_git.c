/* chain_git.c - the libgit2 adapter of chain/: the one place where
 * libgit2's errors become arca's, libgit2's process-wide options, and
 * opening the log's bare repository durably. */
#include "chain_log_priv.h"

#include "arca_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int chain__git_error(int git_rc, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	char what[256];
	va_list ap;
	int code;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	switch (git_rc) {
	case GIT_ENOTFOUND:
		code = ARCA_ENOTFOUND;
		break;
	case GIT_EEXISTS:
	case GIT_EMODIFIED:
	case GIT_ELOCKED:
		code = ARCA_EEXISTS;
		break;
	case GIT_EINVALIDSPEC:
	case GIT_EINVALID:
	case GIT_EMISMATCH:
		code = ARCA_EPROTO;
		break;
	default:
		code = ARCA_EIO;
		break;
	}
	return arca_error_set(code, "%s: %s", what,
			      ge != NULL && ge->message != NULL ? ge->message : "libgit2 gave no reason");
}

int chain__git_init(void)
{
	int rc = git_libgit2_init();

	if (rc < 0)
		return chain__git_error(rc, "cannot initialise libgit2");
	/* Every file libgit2 writes into a git directory (pack, pack index,
	 * ref) is fsynced, and so is the directory that names it: a batch is
	 * reported durable only after the ref update returns. */
	rc = git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	/* One pack per batch until packs are merged: keep the number of
	 * pack files held open bounded (libgit2 closes the least recently
	 * used ones). */
	if (rc == 0)
		rc = git_libgit2_opts(GIT_OPT_SET_MWINDOW_FILE_LIMIT, (size_t)256);
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot set libgit2 options");
		git_libgit2_shutdown();
		return rc;
	}
	return 0;
}

void chain__git_shutdown(void)
{
	git_libgit2_shutdown();
}

int chain__git_fsync_dir(const char *path)
{
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot open directory %s to sync it: %s", path,
				      strerror(errno));
	if (fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "syncing directory %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* The parent directory of path ("." if it has none). */
static int fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc;

	if (slash == NULL)
		return chain__git_fsync_dir(".");
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	rc = chain__git_fsync_dir(dir);
	free(dir);
	return rc;
}

/* A fresh repository's skeleton must survive a crash before anything in
 * it is reported durable. */
static int fsync_new_repo(const char *path)
{
	static const char *const dirs[] = { "objects/pack", "objects", "refs", "" };
	char sub[4096];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, dirs[i]);
		if ((rc = chain__git_fsync_dir(sub)) < 0)
			return rc;
	}
	return fsync_parent(path);
}

int chain__git_open(git_repository **out, const char *path, bool create)
{
	struct stat st;
	int rc;

	*out = NULL;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT || !create)
			return arca_error_set(errno == ENOENT ? ARCA_ENOTFOUND : ARCA_EIO,
					      "log repository %s: %s", path, strerror(errno));
		rc = git_repository_init(out, path, 1);
		if (rc < 0)
			return chain__git_error(rc, "cannot create the log repository %s", path);
		rc = fsync_new_repo(path);
		if (rc < 0) {
			git_repository_free(*out);
			*out = NULL;
		}
		return rc;
	}
	rc = git_repository_open_bare(out, path);
	if (rc < 0)
		return chain__git_error(rc, "cannot open the log repository %s", path);
	return 0;
}
