/* arca_rules.c - writing the default rules into a new archive
 * (arca_rules.h). */
#include "arca_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"

static int write_all(int fd, const char *text, size_t len, const char *path)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return arca_error_set(ARCA_EIO, "cannot write %s: %s", path, strerror(errno));
		off += (size_t)w;
	}
	return 0;
}

int arca_rules_write_default(const char *root)
{
	char path[PATH_MAX];
	int fd, dfd, rc;

	if (snprintf(path, sizeof(path), "%s/" ARCA_RULES_FILE, root) >= (int)sizeof(path))
		return arca_error_set(ARCA_EINVAL, "archive root path too long");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "cannot create %s: %s", path, strerror(errno));
	rc = write_all(fd, arca_rules_sample_text, strlen(arca_rules_sample_text), path);
	if (rc == 0 && fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot fsync %s: %s", path, strerror(errno));
	close(fd);
	if (rc < 0) {
		unlink(path);
		return rc;
	}
	/* the new name durable too: arca.conf, written after, names this file */
	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return arca_error_set(ARCA_EIO, "cannot open %s: %s", root, strerror(errno));
	rc = fsync(dfd) == 0 ? 0 : arca_error_set(ARCA_EIO, "cannot fsync %s: %s", root, strerror(errno));
	close(dfd);
	return rc;
}
