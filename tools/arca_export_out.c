/* arca_export_out.c - `arca export` output: a folder or an archive (see
 * arca_export_out.h).  libarchive's errors become ARCA_EIO here, once. */
#include "arca_export_out.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"

/* Paths written into a folder: every created directory is remembered so
 * that an abort can remove what it made (files first, then the
 * directories, deepest first). */
typedef struct made {
	char **v;
	size_t n, cap;
} made;

struct arca_export_out {
	arca_export_kind kind;
	char target[PATH_MAX];
	/* archive */
	struct archive *a;
	char part[PATH_MAX];
	int part_fd;
	/* folder: the current file */
	int fd;
	char tmp[PATH_MAX], final[PATH_MAX];
	made files, dirs;
	bool target_made;
	/* the current file */
	uint64_t size, written;
	bool open;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

arca_export_kind arca_export_out_kind(const char *target)
{
	if (ends_with(target, ".tar"))
		return ARCA_EXPORT_TAR;
	if (ends_with(target, ".tar.gz") || ends_with(target, ".tgz"))
		return ARCA_EXPORT_TGZ;
	if (ends_with(target, ".zip"))
		return ARCA_EXPORT_ZIP;
	return ARCA_EXPORT_DIR;
}

static int remember(made *m, const char *path)
{
	char *copy;

	if (m->n == m->cap) {
		size_t cap = m->cap != 0 ? 2 * m->cap : 32;
		char **g = realloc(m->v, cap * sizeof(*g));
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the export");
		m->v = g;
		m->cap = cap;
	}
	copy = strdup(path);
	if (copy == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the export");
	m->v[m->n++] = copy;
	return 0;
}

static void made_free(made *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
}

static int la_error(struct archive *a, const char *what)
{
	return arca_error_set(ARCA_EIO, "%s: %s", what,
			      archive_error_string(a) != NULL ? archive_error_string(a) : "libarchive error");
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "fsync %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

int arca_export_out_open(arca_export_out **out, const char *target)
{
	arca_export_out *o;
	struct stat st;
	int rc;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the export");
	o->fd = -1;
	o->part_fd = -1;
	o->kind = arca_export_out_kind(target);
	if (snprintf(o->target, sizeof(o->target), "%s", target) >= (int)sizeof(o->target)) {
		free(o);
		return arca_error_set(ARCA_ELIMIT, "--out path too long");
	}
	if (o->kind == ARCA_EXPORT_DIR) {
		if (stat(target, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				free(o);
				return arca_error_set(ARCA_EEXISTS, "%s exists and is not a folder", target);
			}
		} else if (mkdir(target, 0750) != 0) {
			rc = arca_error_set(ARCA_EIO, "cannot create %s: %s", target, strerror(errno));
			free(o);
			return rc;
		} else {
			o->target_made = true;
		}
		*out = o;
		return 0;
	}
	if (stat(target, &st) == 0) {
		free(o);
		return arca_error_set(ARCA_EEXISTS, "%s exists: not overwritten", target);
	}
	snprintf(o->part, sizeof(o->part), "%s.part-XXXXXX", target);
	o->part_fd = mkstemp(o->part);
	if (o->part_fd < 0) {
		rc = arca_error_set(ARCA_EIO, "cannot create %s: %s", o->part, strerror(errno));
		free(o);
		return rc;
	}
	o->a = archive_write_new();
	if (o->a == NULL) {
		arca_export_out_abort(o);
		return arca_error_set(ARCA_ENOMEM, "no memory for libarchive");
	}
	if (o->kind == ARCA_EXPORT_ZIP) {
		rc = archive_write_set_format_zip(o->a);
	} else {
		/* POSIX pax: long names, large files */
		rc = archive_write_set_format_pax_restricted(o->a);
		if (rc == ARCHIVE_OK && o->kind == ARCA_EXPORT_TGZ)
			rc = archive_write_add_filter_gzip(o->a);
	}
	if (rc != ARCHIVE_OK || archive_write_open_fd(o->a, o->part_fd) != ARCHIVE_OK) {
		rc = la_error(o->a, target);
		arca_export_out_abort(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* mkdir -p of the folders of rel under the target. */
static int make_parents(arca_export_out *o, const char *rel)
{
	char path[PATH_MAX];
	size_t base = strlen(o->target);

	if (snprintf(path, sizeof(path), "%s/%s", o->target, rel) >= (int)sizeof(path))
		return arca_error_set(ARCA_ELIMIT, "path too long: %s/%s", o->target, rel);
	for (char *p = path + base + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) == 0) {
			int rc = remember(&o->dirs, path);
			if (rc < 0)
				return rc;
		} else if (errno != EEXIST) {
			return arca_error_set(ARCA_EIO, "cannot create %s: %s", path, strerror(errno));
		}
		*p = '/';
	}
	return 0;
}

int arca_export_out_begin(arca_export_out *o, const char *rel, uint64_t size)
{
	struct stat st;
	int rc;

	o->size = size;
	o->written = 0;
	if (o->kind != ARCA_EXPORT_DIR) {
		struct archive_entry *e = archive_entry_new();
		if (e == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for libarchive");
		archive_entry_set_pathname(e, rel);
		archive_entry_set_size(e, (la_int64_t)size);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0640);
		archive_entry_set_mtime(e, time(NULL), 0);
		rc = archive_write_header(o->a, e) != ARCHIVE_OK ? la_error(o->a, rel) : 0;
		archive_entry_free(e);
		o->open = rc == 0;
		return rc;
	}
	if ((rc = make_parents(o, rel)) < 0)
		return rc;
	snprintf(o->final, sizeof(o->final), "%s/%s", o->target, rel);
	if (lstat(o->final, &st) == 0)
		return arca_error_set(ARCA_EEXISTS, "%s exists: not overwritten", o->final);
	if (snprintf(o->tmp, sizeof(o->tmp), "%s.part-XXXXXX", o->final) >= (int)sizeof(o->tmp))
		return arca_error_set(ARCA_ELIMIT, "path too long: %s", o->final);
	o->fd = mkstemp(o->tmp);
	if (o->fd < 0)
		return arca_error_set(ARCA_EIO, "cannot create %s: %s", o->tmp, strerror(errno));
	(void)fchmod(o->fd, 0640);
	o->open = true;
	return 0;
}

int arca_export_out_write(void *ctx, const uint8_t *data, size_t len)
{
	arca_export_out *o = ctx;

	if (o->written + len > o->size)
		return arca_error_set(ARCA_EPROTO, "an exported instance is longer than its %llu bytes",
				      (unsigned long long)o->size);
	if (o->kind != ARCA_EXPORT_DIR) {
		while (len > 0) {
			la_ssize_t n = archive_write_data(o->a, data, len);
			if (n <= 0)
				return la_error(o->a, o->target);
			data += n;
			len -= (size_t)n;
			o->written += (uint64_t)n;
		}
		return 0;
	}
	while (len > 0) {
		ssize_t n = write(o->fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return arca_error_set(ARCA_EIO, "writing %s: %s", o->final, strerror(errno));
		data += n;
		len -= (size_t)n;
		o->written += (uint64_t)n;
	}
	return 0;
}

int arca_export_out_end(arca_export_out *o)
{
	int rc = 0;

	if (!o->open)
		return 0;
	o->open = false;
	if (o->written != o->size)
		rc = arca_error_set(ARCA_EPROTO, "an exported instance has %llu bytes instead of %llu",
				    (unsigned long long)o->written, (unsigned long long)o->size);
	if (o->kind != ARCA_EXPORT_DIR)
		return rc;
	if (rc == 0 && fsync(o->fd) != 0)
		rc = arca_error_set(ARCA_EIO, "fsync %s: %s", o->tmp, strerror(errno));
	close(o->fd);
	o->fd = -1;
	/* link() does not replace: a file that appeared meanwhile is kept */
	if (rc == 0 && link(o->tmp, o->final) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot create %s: %s", o->final, strerror(errno));
	unlink(o->tmp);
	if (rc == 0)
		rc = remember(&o->files, o->final);
	return rc;
}

static void out_free(arca_export_out *o)
{
	made_free(&o->files);
	made_free(&o->dirs);
	free(o);
}

int arca_export_out_close(arca_export_out *o)
{
	int rc = 0;

	if (o->kind == ARCA_EXPORT_DIR) {
		/* the files are fsync'ed; their directories now */
		char last[PATH_MAX] = "";
		for (size_t i = 0; i < o->files.n && rc == 0; i++) {
			const char *slash = strrchr(o->files.v[i], '/');
			size_t dlen = slash != NULL ? (size_t)(slash - o->files.v[i]) : 0;
			if (strlen(last) == dlen && strncmp(last, o->files.v[i], dlen) == 0)
				continue;
			snprintf(last, sizeof(last), "%.*s", (int)dlen, o->files.v[i]);
			rc = fsync_dir_of(o->files.v[i]);
		}
		for (size_t i = 0; i < o->dirs.n && rc == 0; i++)
			rc = fsync_dir_of(o->dirs.v[i]);
		if (rc == 0 && o->target_made)
			rc = fsync_dir_of(o->target);
		if (rc < 0) {
			arca_export_out_abort(o);
			return rc;
		}
		out_free(o);
		return 0;
	}
	if (archive_write_close(o->a) != ARCHIVE_OK)
		rc = la_error(o->a, o->target);
	archive_write_free(o->a);
	o->a = NULL;
	if (rc == 0 && fsync(o->part_fd) != 0)
		rc = arca_error_set(ARCA_EIO, "fsync %s: %s", o->part, strerror(errno));
	close(o->part_fd);
	o->part_fd = -1;
	if (rc == 0 && link(o->part, o->target) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot create %s: %s", o->target, strerror(errno));
	unlink(o->part);
	if (rc == 0)
		rc = fsync_dir_of(o->target);
	out_free(o);
	return rc;
}

void arca_export_out_abort(arca_export_out *o)
{
	if (o == NULL)
		return;
	if (o->a != NULL) {
		archive_write_fail(o->a);
		archive_write_free(o->a);
	}
	if (o->part_fd >= 0) {
		close(o->part_fd);
		unlink(o->part);
	}
	if (o->fd >= 0) {
		close(o->fd);
		unlink(o->tmp);
	}
	for (size_t i = o->files.n; i > 0; i--)
		unlink(o->files.v[i - 1]);
	for (size_t i = o->dirs.n; i > 0; i--)
		rmdir(o->dirs.v[i - 1]);
	if (o->target_made)
		rmdir(o->target);
	out_free(o);
}
