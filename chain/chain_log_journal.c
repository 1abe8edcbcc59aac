/* chain_log_journal.c - the log's append-only journal: what makes an entry
 * durable with one fdatasync, before its git commit (docs/chain-format.md
 * 7.6).
 *
 * File <repo>/arca-journal-<node with '/' as '+'>:
 *
 *   header, 64 bytes: "ARCAJNL\n", u32 version (1), u32 0, u64 first (the
 *     tree size when the file was made: every entry below it is on the
 *     ref), 8 zero bytes, SHA-256 of the 32 bytes before it;
 *   records, each: "AJR1", u32 length, u64 flush (the index of the first
 *     entry of the flush that wrote it), the entry's canonical bytes,
 *     SHA-256 of everything before it in the record.
 *   All integers little-endian.  Four zero bytes where a record would
 *   start (the file is preallocated with zeros) or the end of the file
 *   end the journal.
 *
 * A flush writes its records after the last one and syncs the file once.
 * The file is never rewritten in place: a reset (after the git commit of
 * what it holds) writes a new file and renames it over, so no record of an
 * older generation can sit behind the end.  A record that is cut or does
 * not match its hash is the tail of a flush that never finished (never
 * reported durable): reading stops there, unless a valid record of a later
 * flush follows it, which proves that the flush holding the bad record had
 * been synced: then the journal is corrupt and reading fails. */
#include "chain_log_priv.h"

#include "arca_err.h"
#include "chain_checkpoint.h"
#include "chain_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEADER_LEN 64
#define REC_HEAD 16 /* magic, length, flush */
#define REC_LEN(n) ((uint64_t)REC_HEAD + (n) + CHAIN_HASH_LEN)
/* Zeros are written ahead of the records in steps this large, so that a
 * flush overwrites allocated blocks and its fdatasync need not commit a new
 * file size (docs/chain-format.md 7.6 measures it). */
#ifndef CHAIN_LOG_JOURNAL_PREALLOC /* a power of 2 */
#define CHAIN_LOG_JOURNAL_PREALLOC (1u << 20)
#endif
#define PREALLOC_STEP CHAIN_LOG_JOURNAL_PREALLOC
/* A journal larger than this is refused when read (it holds at most a few
 * checkpoints' worth of entries). */
#define JOURNAL_MAX ((uint64_t)1 << 30)

static const char header_magic[8] = { 'A', 'R', 'C', 'A', 'J', 'N', 'L', '\n' };
static const char rec_magic[4] = { 'A', 'J', 'R', '1' };

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

int chain_log__journal_path(const char *repo, const char *node, char **out)
{
	size_t n = strlen(repo) + sizeof("/arca-journal-") + strlen(node);
	char *p = malloc(n), *q;

	*out = NULL;
	if (p == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	snprintf(p, n, "%s/arca-journal-%s", repo, node);
	/* '/' cannot be in a file name; node names cannot hold '+'. */
	for (q = p + strlen(repo) + 1; *q != '\0'; q++)
		if (*q == '/')
			*q = '+';
	*out = p;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off, const char *path)
{
	const uint8_t *b = buf;

	while (len > 0) {
		ssize_t w = pwrite(fd, b, len, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return arca_error_set(ARCA_EIO, "writing journal %s at byte %" PRIu64 ": %s", path,
					      off, strerror(errno));
		}
		b += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int make_header(uint8_t h[HEADER_LEN], uint64_t first)
{
	memset(h, 0, HEADER_LEN);
	memcpy(h, header_magic, 8);
	put_u32(h + 8, 1);
	put_u64(h + 16, first);
	return chain_hash_sha256_once(h + 32, h, 32);
}

int chain_log__journal_reset(chain_log__journal *j, const char *repo, uint64_t first)
{
	uint8_t h[HEADER_LEN];
	size_t n = strlen(j->path) + 5;
	char *tmp = malloc(n);
	int fd, rc;

	if (tmp == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	snprintf(tmp, n, "%s.new", j->path);
	rc = make_header(h, first);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (rc == 0 && fd < 0)
		rc = arca_error_set(ARCA_EIO, "cannot create journal %s: %s", tmp, strerror(errno));
	if (rc == 0)
		rc = write_all(fd, h, sizeof(h), 0, tmp);
	if (rc == 0 && fsync(fd) != 0)
		rc = arca_error_set(ARCA_EIO, "syncing journal %s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, j->path) != 0)
		rc = arca_error_set(ARCA_EIO, "renaming %s to %s: %s", tmp, j->path, strerror(errno));
	if (rc == 0)
		rc = chain__git_fsync_dir(repo);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		return rc;
	}
	free(tmp);
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->first = first;
	j->pos = j->alloc = HEADER_LEN;
	return 0;
}

void chain_log__journal_close(chain_log__journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	free(j->path);
	j->path = NULL;
}

/* Zeros from j->alloc on, so that [j->pos, j->pos + need) is allocated. */
static int preallocate(chain_log__journal *j, uint64_t need)
{
	static const uint8_t zeros[65536];
	uint64_t end = j->pos + need;
	int rc;

	if (PREALLOC_STEP == 0 || end <= j->alloc)
		return 0; /* (0: no preallocation, for measuring it) */
	end = (end | (PREALLOC_STEP - 1)) + 1; /* the next step boundary (a power of 2) */
	while (j->alloc < end) {
		size_t n = end - j->alloc < sizeof(zeros) ? (size_t)(end - j->alloc) : sizeof(zeros);
		if ((rc = write_all(j->fd, zeros, n, j->alloc, j->path)) < 0)
			return rc;
		j->alloc += n;
	}
	return 0;
}

int chain_log__journal_append(chain_log__journal *j, const chain_log__jrec *recs, size_t n,
			      uint64_t flush_first)
{
	uint64_t total = 0, off = 0;
	uint8_t *buf;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		total += REC_LEN(recs[i].len);
	if ((rc = preallocate(j, total)) < 0)
		return rc;
	buf = malloc(total > 0 ? (size_t)total : 1);
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for %zu journal records", n);
	for (i = 0; i < n && rc == 0; i++) {
		uint8_t *r = buf + off;
		memcpy(r, rec_magic, 4);
		put_u32(r + 4, (uint32_t)recs[i].len);
		put_u64(r + 8, flush_first);
		memcpy(r + REC_HEAD, recs[i].bytes, recs[i].len);
		rc = chain_hash_sha256_once(r + REC_HEAD + recs[i].len, r, REC_HEAD + recs[i].len);
		off += REC_LEN(recs[i].len);
	}
	if (rc == 0)
		rc = write_all(j->fd, buf, (size_t)total, j->pos, j->path);
	free(buf);
	/* The one sync that makes the flush durable. */
	if (rc == 0 && fdatasync(j->fd) != 0)
		rc = arca_error_set(ARCA_EIO, "syncing journal %s: %s", j->path, strerror(errno));
	if (rc == 0)
		j->pos += total;
	return rc;
}

/* 0 and the record's length if a valid record starts at off. */
static bool valid_record(const uint8_t *d, uint64_t size, uint64_t off, uint32_t *len)
{
	uint8_t h[CHAIN_HASH_LEN];

	if (size - off < REC_HEAD || memcmp(d + off, rec_magic, 4) != 0)
		return false;
	*len = get_u32(d + off + 4);
	if (*len == 0 || *len > CHAIN_ENTRY_MAX_LEN || size - off < REC_LEN(*len))
		return false;
	if (chain_hash_sha256_once(h, d + off, REC_HEAD + *len) < 0)
		return false;
	return memcmp(h, d + off + REC_HEAD + *len, CHAIN_HASH_LEN) == 0;
}

/* Whether a valid record written by a flush that began after entry
 * `expect` lies after off: then the record at off was synced, not torn. */
static bool later_flush_follows(const uint8_t *d, uint64_t size, uint64_t off, uint64_t expect)
{
	uint64_t p;
	uint32_t len;

	for (p = off + 1; p + REC_HEAD <= size; p++) {
		const void *m = memchr(d + p, rec_magic[0], (size_t)(size - p));
		if (m == NULL)
			return false;
		p = (uint64_t)((const uint8_t *)m - d);
		if (valid_record(d, size, p, &len) && get_u64(d + p + 8) > expect)
			return true;
	}
	return false;
}

static int read_file(const char *path, uint8_t **data, uint64_t *size)
{
	struct stat st;
	uint64_t got = 0;
	int fd;

	*data = NULL;
	*size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return ARCA_ENOTFOUND;
		return arca_error_set(ARCA_EIO, "cannot open journal %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > JOURNAL_MAX) {
		close(fd);
		return arca_error_set(ARCA_ELIMIT, "journal %s: unreadable or larger than %" PRIu64 " bytes",
				      path, JOURNAL_MAX);
	}
	*data = malloc((size_t)st.st_size + 1);
	if (*data == NULL) {
		close(fd);
		return arca_error_set(ARCA_ENOMEM, "out of memory reading journal %s", path);
	}
	while (got < (uint64_t)st.st_size) {
		ssize_t r = read(fd, *data + got, (size_t)((uint64_t)st.st_size - got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (uint64_t)r;
	}
	close(fd);
	*size = got;
	return 0;
}

int chain_log__journal_read(const char *path, const char *node, uint64_t tree_size,
			    chain_log__journal_fn fn, void *arg, uint64_t *pending)
{
	uint8_t *d;
	uint8_t h[CHAIN_HASH_LEN];
	uint64_t size, off, expect = tree_size;
	int rc;

	*pending = 0;
	rc = read_file(path, &d, &size);
	if (rc == ARCA_ENOTFOUND)
		return 0; /* no journal: nothing was ever journaled */
	if (rc < 0)
		return rc;
	if (size < HEADER_LEN || memcmp(d, header_magic, 8) != 0 || get_u32(d + 8) != 1 ||
	    chain_hash_sha256_once(h, d, 32) < 0 || memcmp(h, d + 32, CHAIN_HASH_LEN) != 0) {
		/* A new header is synced before its file is renamed in. */
		free(d);
		return arca_error_set(ARCA_EPROTO, "journal %s: bad header (not an arca journal, or "
				      "damaged); move it aside only if the log's ref holds everything",
				      path);
	}
	/* The header's first index is informational: an empty journal says
	 * nothing about the ref, and a record that does not follow the ref
	 * is refused below. */
	for (off = HEADER_LEN; rc == 0;) {
		chain_entry *e = NULL;
		uint32_t len;

		if (size - off < 4 || memcmp(d + off, "\0\0\0\0", 4) == 0)
			break; /* the end */
		if (!valid_record(d, size, off, &len)) {
			if (later_flush_follows(d, size, off, expect))
				rc = arca_error_set(ARCA_EPROTO, "journal %s: the record of entry %" PRIu64
						    " at byte %" PRIu64 " is damaged and later flushes "
						    "follow it", path, expect, off);
			break; /* else the torn tail of a flush never reported durable */
		}
		rc = chain_entry_parse(&e, d + off + REC_HEAD, len);
		if (rc < 0) {
			arca_error_prefix(rc, "journal %s: record at byte %" PRIu64, path, off);
			break;
		}
		if (strcmp(e->node, node) != 0) {
			rc = arca_error_set(ARCA_EPROTO, "journal %s: entry %" PRIu64 " at byte %" PRIu64
					    " is of node %s, not %s", path, e->index, off, e->node, node);
		} else if (e->index < tree_size && expect == tree_size) {
			/* already on the ref (the reset after its commit did not happen) */
		} else if (e->index != expect) {
			rc = arca_error_set(ARCA_EPROTO, "journal %s: entry %" PRIu64 " at byte %" PRIu64
					    " where entry %" PRIu64 " was expected (a gap)", path,
					    e->index, off, expect);
		} else {
			rc = fn != NULL ? fn(arg, e->index, (const char *)d + off + REC_HEAD, len) : 0;
			expect++;
		}
		chain_entry_free(e);
		off += REC_LEN(len);
	}
	free(d);
	if (rc == 0)
		*pending = expect - tree_size;
	return rc;
}

/* ---- readers: waiting for a live writer's checkpoint ---- */

int chain_log__ref_size(git_repository *repo, const char *ref, uint64_t *size)
{
	git_reference *r = NULL;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *te = NULL;
	git_blob *b = NULL;
	chain_checkpoint *cp = NULL;
	int rc;

	*size = 0;
	rc = git_reference_lookup(&r, repo, ref);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc == 0 && git_reference_type(r) != GIT_REFERENCE_DIRECT)
		rc = GIT_EINVALID;
	if (rc == 0)
		rc = git_commit_lookup(&c, repo, git_reference_target(r));
	if (rc == 0)
		rc = git_commit_tree(&t, c);
	if (rc == 0)
		rc = git_tree_entry_bypath(&te, t, "checkpoint");
	if (rc == 0)
		rc = git_blob_lookup(&b, repo, git_tree_entry_id(te));
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot read the checkpoint of %s", ref);
	} else {
		rc = chain_checkpoint_parse(&cp, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
		if (rc == 0)
			*size = chain_checkpoint_size(cp);
	}
	chain_checkpoint_free(cp);
	git_blob_free(b);
	git_tree_entry_free(te);
	git_tree_free(t);
	git_commit_free(c);
	git_reference_free(r);
	return rc;
}

int chain_log__lock_path(const char *repo, const char *node, char **out)
{
	size_t n = strlen(repo) + sizeof("/arca-writer-.lock") + strlen(node);
	char *p = malloc(n), *q;

	*out = NULL;
	if (p == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	snprintf(p, n, "%s/arca-writer-%s", repo, node);
	for (q = p + strlen(repo) + 1; *q != '\0'; q++)
		if (*q == '/')
			*q = '+';
	strcat(p, ".lock");
	*out = p;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void chain_log__settle(git_repository *repo, const char *repo_path, const char *node,
		       uint64_t *pending)
{
	char ref[CHAIN_LOG_REF_MAX], *lock = NULL, *journal = NULL;
	int64_t end = mono_ms() + CHAIN_LOG_SETTLE_MS;
	uint64_t size, target;
	int fd = -1;

	*pending = 0;
	snprintf(ref, sizeof(ref), "%s%s", CHAIN_LOG_REF_PREFIX, node);
	if (chain_log__lock_path(repo_path, node, &lock) < 0 ||
	    chain_log__journal_path(repo_path, node, &journal) < 0)
		goto out;
	fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (chain_log__ref_size(repo, ref, &size) < 0 ||
	    chain_log__journal_read(journal, node, size, NULL, NULL, pending) < 0) {
		*pending = 0; /* the reader reports what is wrong, not this */
		goto out;
	}
	/* Only what was journaled before now: under a steady load the
	 * journal is never empty, and the reader must not wait for that. */
	target = size + *pending;
	while (size < target) {
		struct timespec d = { 0, 10000000 };
		bool writer = false;

		/* A writer holds the lock exclusively; a shared lock taken
		 * (and dropped at once) means none is alive to commit them:
		 * the next writer will, when it opens. */
		if (fd >= 0) {
			if (flock(fd, LOCK_SH | LOCK_NB) == 0)
				flock(fd, LOCK_UN);
			else
				writer = errno == EWOULDBLOCK;
		}
		if (!writer || mono_ms() > end)
			break;
		nanosleep(&d, NULL);
		if (chain_log__ref_size(repo, ref, &size) < 0)
			break;
	}
	/* what is still only in the journal now */
	if (chain_log__journal_read(journal, node, size, NULL, NULL, pending) < 0)
		*pending = 0;
out:
	if (fd >= 0)
		close(fd);
	free(lock);
	free(journal);
}
