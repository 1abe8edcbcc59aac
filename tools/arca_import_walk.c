/* arca_import_walk.c - the paths of `arca import`: files, folders
 * (recursively, symbolic links followed, each directory once so that a
 * link loop ends), archives through libarchive (streaming, entry by
 * entry), and DICOMDIR media (PS3.10 8, PS3.3 F.3: the files its records
 * reference, relative to the DICOMDIR's folder). */
#include "arca_import_priv.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "chain_entry.h"
#include "pacs_dicomdir.h"
#include "pacs_utf8.h"

/* Bytes read to decide what a stream is: tar's "ustar" is at 257. */
#define HEAD_SIZE 4096
/* Largest DICOMDIR read (it is read whole). */
#define DICOMDIR_MAX_FILE ((off_t)256 << 20)
/* Deepest folder nesting followed. */
#define MAX_DEPTH 64

/* Where a file was found: decides what "not DICOM" means. */
typedef enum origin {
	FROM_ARGUMENT, /* named on the command line: must be DICOM, an archive or a DICOMDIR */
	FROM_WALK,     /* found in a folder: anything else is skipped */
	FROM_DICOMDIR  /* referenced by a DICOMDIR: must be DICOM */
} origin;

static int import_file(arca_import *im, const char *path, origin from);

/* ------------------------------------------------------------ sources */

typedef struct fd_source {
	int fd;
	const char *path;
} fd_source;

static long read_fd(void *ctx, uint8_t *buf, size_t size)
{
	fd_source *s = ctx;

	for (;;) {
		ssize_t n = read(s->fd, buf, size);
		if (n >= 0)
			return (long)n;
		if (errno != EINTR) {
			arca_error_set(ARCA_EIO, "%s: %s", s->path, strerror(errno));
			return -1;
		}
	}
}

/* Reads up to size bytes (fewer only at the end of the stream). */
static long read_full(import_read_fn fn, void *ctx, uint8_t *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		long n = fn(ctx, buf + got, size - got);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (long)got;
}

typedef struct archive_source {
	struct archive *a;
	const char *name;
} archive_source;

static long read_archive(void *ctx, uint8_t *buf, size_t size)
{
	archive_source *s = ctx;
	la_ssize_t n = archive_read_data(s->a, buf, size);

	if (n < 0) {
		arca_error_set(ARCA_EIO, "%s: %s", s->name, archive_error_string(s->a));
		return -1;
	}
	return (long)n;
}

/* ------------------------------------------------------------ archives */

/* Every format and filter libarchive reads (zip, tar in all its forms,
 * gzip, bzip2, xz, zstd ...), entry by entry without extracting. */
static int import_archive(arca_import *im, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *entry;
	uint8_t head[HEAD_SIZE];
	uint64_t base = im->done_bytes;
	int r;

	if (a == NULL) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "no memory for libarchive");
		return 0;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, 256 * 1024) != ARCHIVE_OK) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "%s", archive_error_string(a));
		archive_read_free(a);
		return 0;
	}
	for (;;) {
		char name[PATH_MAX + 256];
		archive_source src = { a, name };
		long n;

		r = archive_read_next_header(a, &entry);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			arca_import__count(im, IMPORT_UNREADABLE, path, "%s", archive_error_string(a));
			break;
		}
		if (archive_entry_filetype(entry) != AE_IFREG)
			continue;
		snprintf(name, sizeof(name), "%s:%s", path,
			 archive_entry_pathname(entry) != NULL ? archive_entry_pathname(entry) : "?");
		n = read_full(read_archive, &src, head, sizeof(head));
		if (n < 0) {
			arca_import__count(im, IMPORT_UNREADABLE, name, "%s", arca_error_last());
			continue;
		}
		im->done_files++;
		if (arca_import__looks_dicom(head, (size_t)n)) {
			if (arca_import__stream(im, name, head, (size_t)n, read_archive, &src) == IMPORT_DICOMDIR)
				arca_import__count(im, IMPORT_DICOMDIR, name, NULL);
		} else if (arca_import__looks_archive(head, (size_t)n)) {
			arca_import__count(im, IMPORT_UNREADABLE, name,
					   "an archive inside an archive is not read: extract it and import that");
		} else {
			arca_import__count(im, IMPORT_NOT_DICOM, name, "not DICOM");
		}
		im->done_bytes = base + (uint64_t)archive_filter_bytes(a, -1);
		arca_import__progress(im, false);
	}
	archive_read_free(a);
	return 0;
}

/* ------------------------------------------------------------ DICOMDIR */

/* dir/rel, each component of rel matched without regard to case when the
 * exact name does not exist (media written on one system are read on
 * others; PS3.10 8.2 names are upper case).  0, or ARCA_ENOTFOUND. */
static int resolve(const char *dir, const char *rel, char *out, size_t size)
{
	char cur[PATH_MAX], comp[PACS_DICOMDIR_COMPONENT_MAX + 1];
	const char *p = rel;
	struct stat st;

	if (snprintf(out, size, "%s/%s", dir, rel) >= (int)size)
		return arca_error_set(ARCA_ELIMIT, "path too long: %s/%s", dir, rel);
	if (stat(out, &st) == 0)
		return 0;
	snprintf(cur, sizeof(cur), "%s", dir);
	while (*p != '\0') {
		size_t len = strcspn(p, "/");
		DIR *d;
		struct dirent *de;
		bool found = false;

		if (len >= sizeof(comp))
			return arca_error_set(ARCA_ENOTFOUND, "%s/%s does not exist", dir, rel);
		memcpy(comp, p, len);
		comp[len] = '\0';
		d = opendir(cur);
		if (d == NULL)
			return arca_error_set(ARCA_ENOTFOUND, "%s/%s does not exist", dir, rel);
		while (!found && (de = readdir(d)) != NULL) {
			if (strcasecmp(de->d_name, comp) == 0) {
				size_t used = strlen(cur);
				if (used + 1 + strlen(de->d_name) + 1 > sizeof(cur)) {
					closedir(d);
					return arca_error_set(ARCA_ELIMIT, "path too long under %s", dir);
				}
				snprintf(cur + used, sizeof(cur) - used, "/%s", de->d_name);
				found = true;
			}
		}
		closedir(d);
		if (!found)
			return arca_error_set(ARCA_ENOTFOUND, "%s/%s does not exist", dir, rel);
		p += len;
		if (*p == '/')
			p++;
	}
	if (snprintf(out, size, "%s", cur) >= (int)size)
		return arca_error_set(ARCA_ELIMIT, "path too long: %s", cur);
	return 0;
}

static int import_dicomdir(arca_import *im, const char *path)
{
	char dir[PATH_MAX], file[PATH_MAX];
	const char *old_peer = im->peer;
	pacs_dicomdir *dd = NULL;
	uint8_t *data = NULL;
	struct stat st;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (st.st_size > DICOMDIR_MAX_FILE) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "DICOMDIR of %lld bytes (at most %lld read)",
				   (long long)st.st_size, (long long)DICOMDIR_MAX_FILE);
		close(fd);
		return 0;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		close(fd);
		arca_import__count(im, IMPORT_UNREADABLE, path, "no memory to read the DICOMDIR");
		return 0;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	rc = pacs_dicomdir_read(&dd, data, got);
	free(data);
	if (rc < 0) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "%s", arca_error_last());
		return 0;
	}
	/* PS3.10 8.3: File IDs are relative to the folder holding the DICOMDIR */
	snprintf(dir, sizeof(dir), "%s", path);
	{
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	im->peer = "media";
	for (size_t i = 0; i < pacs_dicomdir_count(dd); i++) {
		const pacs_dicomdir_ref *ref = pacs_dicomdir_at(dd, i);
		char label[PATH_MAX + 64];
		if (ref->path == NULL) {
			snprintf(label, sizeof(label), "%s record %zu", path, i + 1);
			arca_import__count(im, IMPORT_UNREADABLE, label, "%s", ref->error);
			continue;
		}
		if (resolve(dir, ref->path, file, sizeof(file)) < 0) {
			snprintf(label, sizeof(label), "%s/%s", dir, ref->path);
			arca_import__count(im, IMPORT_UNREADABLE, label, "referenced by %s but missing", path);
			continue;
		}
		im->expect_sop = ref->sop_instance;
		rc = import_file(im, file, FROM_DICOMDIR);
		im->expect_sop = NULL;
		if (rc < 0)
			break;
	}
	im->peer = old_peer;
	pacs_dicomdir_free(dd);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------ files, folders */

static int import_file(arca_import *im, const char *path, origin from)
{
	uint8_t head[HEAD_SIZE];
	fd_source src;
	import_kind kind;
	long n;

	src.path = path;
	src.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src.fd < 0) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "%s", strerror(errno));
		return 0;
	}
	n = read_full(read_fd, &src, head, sizeof(head));
	if (n < 0) {
		close(src.fd);
		arca_import__count(im, IMPORT_UNREADABLE, path, "%s", arca_error_last());
		return 0;
	}
	im->done_bytes += (uint64_t)n;
	if (arca_import__looks_archive(head, (size_t)n) && from != FROM_DICOMDIR) {
		uint64_t before = im->done_bytes - (uint64_t)n;
		close(src.fd);
		im->done_bytes = before;
		return import_archive(im, path);
	}
	im->done_files++;
	if (!arca_import__looks_dicom(head, (size_t)n)) {
		close(src.fd);
		if (from == FROM_WALK)
			arca_import__count(im, IMPORT_NOT_DICOM, path, "not DICOM");
		else
			arca_import__count(im, IMPORT_UNREADABLE, path, "not a DICOM file, an archive or a DICOMDIR");
		return 0;
	}
	kind = arca_import__stream(im, path, head, (size_t)n, read_fd, &src);
	close(src.fd);
	if (kind != IMPORT_DICOMDIR)
		return 0;
	if (from == FROM_ARGUMENT)
		return import_dicomdir(im, path);
	if (from == FROM_DICOMDIR)
		arca_import__count(im, IMPORT_REFUSED, path, "a DICOMDIR referenced by a DICOMDIR is not followed");
	else
		arca_import__count(im, IMPORT_DICOMDIR, path, NULL);
	return 0;
}

/* Whether the directory was met already (a link loop, or two links to
 * it); records it if not. */
static bool seen_dir(arca_import *im, const struct stat *st)
{
	for (size_t i = 0; i < im->n_dirs; i++)
		if (im->dirs_dev[i] == st->st_dev && im->dirs_ino[i] == st->st_ino)
			return true;
	if (im->n_dirs == im->cap_dirs) {
		size_t cap = im->cap_dirs != 0 ? 2 * im->cap_dirs : 64;
		dev_t *d = realloc(im->dirs_dev, cap * sizeof(*d));
		ino_t *n;
		if (d == NULL)
			return false;
		im->dirs_dev = d;
		n = realloc(im->dirs_ino, cap * sizeof(*n));
		if (n == NULL)
			return false;
		im->dirs_ino = n;
		im->cap_dirs = cap;
	}
	im->dirs_dev[im->n_dirs] = st->st_dev;
	im->dirs_ino[im->n_dirs] = st->st_ino;
	im->n_dirs++;
	return false;
}

static int import_dir(arca_import *im, const char *path, const struct stat *dst, int depth)
{
	struct dirent **names = NULL;
	int n, rc = 0;

	if (seen_dir(im, dst))
		return 0;
	if (depth > MAX_DEPTH) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "folders nested deeper than %d levels", MAX_DEPTH);
		return 0;
	}
	/* sorted, so that an import is reproducible */
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "%s", strerror(errno));
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char child[PATH_MAX];
		struct stat st;
		const char *nm = names[i]->d_name;

		if (rc < 0 || strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			goto next;
		if (snprintf(child, sizeof(child), "%s/%s", path, nm) >= (int)sizeof(child)) {
			arca_import__count(im, IMPORT_UNREADABLE, path, "a name in it makes a path too long: %s", nm);
			goto next;
		}
		if (stat(child, &st) != 0) {
			/* a dangling link */
			arca_import__count(im, IMPORT_UNREADABLE, child, "%s", strerror(errno));
			goto next;
		}
		if (S_ISDIR(st.st_mode))
			rc = import_dir(im, child, &st, depth + 1);
		else if (S_ISREG(st.st_mode))
			rc = import_file(im, child, FROM_WALK);
next:
		free(names[i]);
	}
	free(names);
	return rc;
}

void arca_import_peer_name(char *out, size_t size, const char *path)
{
	size_t len = strlen(path), at = 0, i;
	const char *base = path;

	if (size == 0)
		return;
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (i = 0; i < len; i++)
		if (path[i] == '/' && i + 1 < len)
			base = path + i + 1;
	len -= (size_t)(base - path);
	/* chain entries hold UTF-8 without control characters (chain_entry.h) */
	for (i = 0; i < len && at + 1 < size;) {
		const uint8_t *b = (const uint8_t *)base + i;
		size_t n = pacs_utf8_seq_len(b, len - i);
		if (n == 0 || b[0] < 0x20 || b[0] == 0x7F) {
			out[at++] = '?';
			i++;
		} else if (at + n < size) {
			memcpy(out + at, b, n);
			at += n;
			i += n;
		} else {
			break;
		}
	}
	out[at] = '\0';
}

int arca_import_path(arca_import *im, const char *path)
{
	char peer[CHAIN_ENTRY_TEXT_MAX + 1];
	struct stat st;

	/* the event's peer: the name of what was imported */
	arca_import_peer_name(peer, sizeof(peer), path);
	im->peer = peer;
	if (stat(path, &st) != 0) {
		arca_import__count(im, IMPORT_UNREADABLE, path, "%s", strerror(errno));
		im->peer = NULL;
		return 0;
	}
	int rc = S_ISDIR(st.st_mode) ? import_dir(im, path, &st, 0) : import_file(im, path, FROM_ARGUMENT);
	/* the jobs copied the peer: it may go */
	im->peer = NULL;
	return rc;
}

/* ------------------------------------------------------------ planning */

static void plan_dir(arca_import *im, const char *path, int depth, dev_t *devs, ino_t *inos, size_t *n_seen,
		     size_t cap)
{
	struct dirent **names = NULL;
	struct stat st;
	int n;

	if (depth > MAX_DEPTH || stat(path, &st) != 0)
		return;
	for (size_t i = 0; i < *n_seen; i++)
		if (devs[i] == st.st_dev && inos[i] == st.st_ino)
			return;
	if (*n_seen < cap) {
		devs[*n_seen] = st.st_dev;
		inos[*n_seen] = st.st_ino;
		(*n_seen)++;
	}
	n = scandir(path, &names, NULL, NULL);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		char child[PATH_MAX];
		struct stat cst;
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0 &&
		    snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name) < (int)sizeof(child) &&
		    stat(child, &cst) == 0) {
			if (S_ISDIR(cst.st_mode)) {
				plan_dir(im, child, depth + 1, devs, inos, n_seen, cap);
			} else if (S_ISREG(cst.st_mode)) {
				im->plan_bytes += (uint64_t)cst.st_size;
				im->plan_files++;
			}
		}
		free(names[i]);
	}
	free(names);
}

void arca_import_plan(arca_import *im, const char *path)
{
	enum { SEEN_MAX = 4096 };
	struct stat st;

	if (stat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		dev_t *devs = calloc(SEEN_MAX, sizeof(*devs));
		ino_t *inos = calloc(SEEN_MAX, sizeof(*inos));
		size_t n_seen = 0;
		if (devs != NULL && inos != NULL)
			plan_dir(im, path, 0, devs, inos, &n_seen, SEEN_MAX);
		free(devs);
		free(inos);
	} else if (S_ISREG(st.st_mode)) {
		im->plan_bytes += (uint64_t)st.st_size;
		im->plan_files++;
	}
}
