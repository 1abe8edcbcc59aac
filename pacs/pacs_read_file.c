/* pacs_read_file.c - whole-file and whole-buffer reading on top of the
 * incremental reader.  The file is read in 256 KiB blocks (the first
 * read 4 KiB, then 16 KiB); bytes the
 * reader would discard unseen (bulk values with bulk_fn NULL) are skipped
 * with lseek, so metadata-only reading of a large image touches little
 * more than its header. */
#include "pacs_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"

#define READ_BLOCK (256u * 1024u)
#define FIRST_BLOCK (16u * 1024u)
#define SMALL_READ (4u * 1024u)
#define MIN_SKIP (16u * 1024u)

int pacs_read_buffer(pacs_ds **out, const uint8_t *data, size_t len, const pacs_read_opts *opts)
{
	pacs_reader *r = NULL;
	int rc;

	*out = NULL;
	if ((rc = pacs_reader_new(&r, opts)) < 0)
		return rc;
	rc = pacs_reader_feed(r, data, len);
	if (rc == 0)
		rc = pacs_reader_finish(r, out);
	pacs_reader_free(r);
	return rc;
}

/* Skips what the reader allows, but never past the end of the file (lseek
 * would happily go there), so a value cut short by the end of the file is
 * still reported as truncated. */
static int skip_ahead(pacs_reader *r, int fd, uint64_t *pos, uint64_t size)
{
	uint64_t n = pacs_reader_skippable(r);

	/* A short skip costs more as a system call than as a copy. */
	if (n < MIN_SKIP)
		return 0;
	if (n > size - *pos)
		n = size - *pos;
	if (n == 0)
		return 0;
	/* A skip to the end of the file needs no seek: nothing is read after it. */
	if (n < size - *pos && lseek(fd, (off_t)n, SEEK_CUR) < 0)
		return arca_error_set(ARCA_EIO, "lseek: %s", strerror(errno));
	*pos += n;
	return pacs_reader_skip(r, n);
}

int pacs_read_file(pacs_ds **out, const char *path, const pacs_read_opts *opts)
{
	pacs_reader *r = NULL;
	uint8_t first[FIRST_BLOCK];
	uint8_t *block = NULL, *buf = first;
	size_t cap = sizeof(first);
	uint64_t pos = 0, size;
	size_t next_read = SMALL_READ;
	struct stat st;
	int fd, rc;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_set(errno == ENOENT ? ARCA_ENOTFOUND : ARCA_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = arca_error_set(ARCA_EIO, "fstat: %s", strerror(errno));
		goto cleanup;
	}
	size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	if ((rc = pacs_reader_new(&r, opts)) < 0)
		goto cleanup;
	while (!pacs_reader_done(r)) {
		uint64_t before = pos;
		size_t want;
		ssize_t got;

		if ((rc = skip_ahead(r, fd, &pos, size)) < 0)
			goto cleanup;
		if (pos >= size)
			break; /* nothing left (size as of open) */
		/* The first buffer is small and on the stack: the header of
		 * most instances fits, and the pixel data is then skipped. */
		if (pos != before)
			next_read = SMALL_READ;
		if (buf == first && next_read > sizeof(first) && size - pos > sizeof(first)) {
			block = malloc(READ_BLOCK);
			if (block == NULL) {
				rc = arca_error_set(ARCA_ENOMEM, "out of memory");
				goto cleanup;
			}
			buf = block;
			cap = READ_BLOCK;
		}
		/* At the start, and right after a skip, expect little before
		 * the next skip (the header of a typical instance; the item
		 * header between two fragments): read 4 KiB, then 16, 64 and
		 * 256 KiB while no skip comes, since copying bytes that will be
		 * skipped costs more than another read(). */
		want = next_read < cap ? next_read : cap;
		got = read(fd, buf, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = arca_error_set(ARCA_EIO, "read: %s", strerror(errno));
			goto cleanup;
		}
		if (got == 0)
			break;
		pos += (uint64_t)got;
		if (next_read < READ_BLOCK)
			next_read *= 4; /* a long header: read more at a time */
		if (pos > size)
			size = pos; /* the file grew while being read */
		if ((rc = pacs_reader_feed(r, buf, (size_t)got)) < 0)
			goto cleanup;
	}
	rc = pacs_reader_finish(r, out);
cleanup:
	if (rc < 0)
		arca_error_prefix(rc, "%s", path);
	pacs_reader_free(r);
	free(block);
	close(fd);
	return rc;
}
