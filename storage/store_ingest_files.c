/* store_ingest_files.c - the interim ingest: Part 10 files under the
 * archive root, written durably (see store_ingest.h). */
#include "store_ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_dimse.h"
#include "pacs_write.h"
#include "store_cas_fsync.h"

#define SPOOL_PREFIX "spool-"
#define PART10_PREFIX "part10-"
/* Bulk values come back from the spool in pieces of this size. */
#define SPOOL_CHUNK (256u * 1024u)
/* Old versions kept beside an instance stored again with other bytes. */
#define MAX_PREVIOUS 1000

#define TAG_SOURCE_AE PACS_TAG(0x0002, 0x0016)
#define TAG_SOP_INSTANCE PACS_TAG(0x0008, 0x0018)
#define TAG_STUDY_INSTANCE PACS_TAG(0x0020, 0x000D)
#define TAG_SERIES_INSTANCE PACS_TAG(0x0020, 0x000E)

struct store_ingest_files {
	char root[PATH_MAX];
	char instances[PATH_MAX];
	char tmp[PATH_MAX];
	/* the check-and-rename of a final name: two associations may store the
	 * same SOP Instance UID at once on two workers */
	pthread_mutex_t place_lock;
};

typedef struct spool_frag {
	uint64_t off;
	uint32_t len;
} spool_frag;

/* One bulk value in the spool: native bytes [off, off + length), or the
 * fragments of encapsulated pixel data (Basic Offset Table first). */
typedef struct spool_elem {
	uint64_t stream_offset;  /* identifies the element (pacs_elem_offset) */
	uint64_t off;
	uint64_t received;
	uint32_t length;
	bool encapsulated;
	spool_frag *frags;
	size_t n_frags, cap_frags;
} spool_elem;

typedef struct files_txn {
	store_ingest_files *s;
	char calling_ae[PACS_DIMSE_AE_MAX + 1];
	char ts[PACS_DIMSE_UID_MAX + 1];
	int spool_fd;
	char spool_path[PATH_MAX];
	uint64_t spool_size;
	spool_elem *elems;
	size_t n_elems, cap_elems;
} files_txn;

/* ------------------------------------------------------------ UIDs */

/* PS3.5 9.1 also forbids leading zeros in a component, but real systems
 * emit them (Varian's 1.2.246.352.91.0000217...) and refusing such a study
 * would lose it; a leading zero cannot make a path escape, which is what
 * this check protects, so it is tolerated. */
int store_ingest_uid_check(const char *uid, const char *what)
{
	size_t n = uid != NULL ? strlen(uid) : 0, i, comp_start = 0;

	if (n == 0)
		return arca_error_set(ARCA_EPROTO, "%s is empty", what);
	if (n > PACS_DIMSE_UID_MAX)
		return arca_error_set(ARCA_EPROTO, "%s is %zu characters long (at most 64, PS3.5 9.1)", what, n);
	for (i = 0; i <= n; i++) {
		char ch = uid[i];
		if (ch == '.' || ch == '\0') {
			if (i == comp_start)
				return arca_error_set(ARCA_EPROTO, "%s \"%.64s\" has an empty component (PS3.5 9.1)",
						      what, uid);
			comp_start = i + 1;
		} else if (ch < '0' || ch > '9') {
			return arca_error_set(ARCA_EPROTO, "%s has a character other than digits and dots (PS3.5 9.1)",
					      what);
		}
	}
	return 0;
}

int store_ingest_files_path(const store_ingest_files *s, const char *study, const char *series,
			    const char *sop, char *buf, size_t size)
{
	int rc, n;

	if ((rc = store_ingest_uid_check(study, "Study Instance UID (0020,000D)")) < 0 ||
	    (rc = store_ingest_uid_check(series, "Series Instance UID (0020,000E)")) < 0 ||
	    (rc = store_ingest_uid_check(sop, "SOP Instance UID (0008,0018)")) < 0)
		return rc;
	n = snprintf(buf, size, "%s/%s/%s/%s.dcm", s->instances, study, series, sop);
	if (n < 0 || (size_t)n >= size)
		return arca_error_set(ARCA_ELIMIT, "path of instance %s is too long", sop);
	return 0;
}

/* ------------------------------------------------------------ open */

static int files_mkdir(const char *path)
{
	return store_cas_fsync_mkdir(path, 0750, NULL);
}

/* Leftovers of an instance that was being received or written when the
 * previous run stopped: never acknowledged, so never anyone's data. */
static void files_clean_tmp(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *de;
	char path[PATH_MAX];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) != 0 &&
		    strncmp(de->d_name, PART10_PREFIX, strlen(PART10_PREFIX)) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", tmp, de->d_name) < (int)sizeof(path))
			(void)unlink(path);
	}
	closedir(d);
}

int store_ingest_files_open(store_ingest_files **out, const char *root)
{
	store_ingest_files *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the instance store");
	if (snprintf(s->root, sizeof(s->root), "%s", root) >= (int)sizeof(s->root) ||
	    snprintf(s->instances, sizeof(s->instances), "%s/instances", root) >= (int)sizeof(s->instances) ||
	    snprintf(s->tmp, sizeof(s->tmp), "%s/tmp", root) >= (int)sizeof(s->tmp)) {
		free(s);
		return arca_error_set(ARCA_ELIMIT, "archive root path %s is too long", root);
	}
	if ((rc = files_mkdir(s->root)) < 0 || (rc = files_mkdir(s->instances)) < 0 ||
	    (rc = files_mkdir(s->tmp)) < 0) {
		free(s);
		return rc;
	}
	files_clean_tmp(s->tmp);
	pthread_mutex_init(&s->place_lock, NULL);
	*out = s;
	return 0;
}

void store_ingest_files_free(store_ingest_files *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->place_lock);
	free(s);
}

/* ------------------------------------------------------------ errors */

/* The cause first, so that the 64 characters of an Error Comment keep it. */
static int io_error(int err, const char *doing, const char *path)
{
	return arca_error_set(ARCA_EIO, "%s: %s %s", strerror(err), doing, path);
}

/* ------------------------------------------------------------ transaction */

static void txn_free(files_txn *t)
{
	if (t == NULL)
		return;
	if (t->spool_fd >= 0) {
		close(t->spool_fd);
		unlink(t->spool_path);
	}
	for (size_t i = 0; i < t->n_elems; i++)
		free(t->elems[i].frags);
	free(t->elems);
	free(t);
}

static int files_begin(void *ctx, const pacs_ingest_info *info, void **txn)
{
	files_txn *t = calloc(1, sizeof(*t));

	*txn = NULL;
	if (t == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for an instance");
	t->s = ctx;
	t->spool_fd = -1;
	snprintf(t->calling_ae, sizeof(t->calling_ae), "%s", info->calling_ae != NULL ? info->calling_ae : "");
	snprintf(t->ts, sizeof(t->ts), "%s", info->transfer_syntax != NULL ? info->transfer_syntax : "");
	*txn = t;
	return 0;
}

static int spool_open(files_txn *t)
{
	int n = snprintf(t->spool_path, sizeof(t->spool_path), "%s/" SPOOL_PREFIX "XXXXXX", t->s->tmp);

	if (n < 0 || (size_t)n >= sizeof(t->spool_path))
		return arca_error_set(ARCA_ELIMIT, "spool path under %s is too long", t->s->tmp);
	t->spool_fd = mkostemp(t->spool_path, O_CLOEXEC);
	if (t->spool_fd < 0)
		return io_error(errno, "creating a spool file in", t->s->tmp);
	return 0;
}

static int spool_write(files_txn *t, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(t->spool_fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return io_error(errno, "writing", t->spool_path);
		}
		data += w;
		len -= (size_t)w;
		t->spool_size += (uint64_t)w;
	}
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap != 0 ? *cap : 8;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (q == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the spool index");
	*p = q;
	*cap = n;
	return 0;
}

/* Loop thread: a piece of a bulk value, in stream order. */
static int files_bulk(void *txn, const pacs_bulk_event *ev)
{
	files_txn *t = txn;
	spool_elem *e;
	int rc;

	switch (ev->kind) {
	case PACS_BULK_BEGIN:
		if (t->spool_fd < 0 && (rc = spool_open(t)) < 0)
			return rc;
		if ((rc = grow((void **)&t->elems, &t->cap_elems, t->n_elems + 1, sizeof(*t->elems))) < 0)
			return rc;
		e = &t->elems[t->n_elems++];
		memset(e, 0, sizeof(*e));
		e->stream_offset = ev->stream_offset;
		e->off = t->spool_size;
		e->length = ev->length;
		e->encapsulated = ev->length == PACS_UNDEFINED_LENGTH;
		return 0;
	case PACS_BULK_FRAGMENT:
		if (t->n_elems == 0)
			return arca_error_set(ARCA_EINVAL, "bulk fragment before its element");
		e = &t->elems[t->n_elems - 1];
		if ((rc = grow((void **)&e->frags, &e->cap_frags, e->n_frags + 1, sizeof(*e->frags))) < 0)
			return rc;
		e->frags[e->n_frags].off = t->spool_size;
		e->frags[e->n_frags].len = ev->fragment_length;
		e->n_frags++;
		return 0;
	case PACS_BULK_DATA:
		if (t->n_elems == 0)
			return arca_error_set(ARCA_EINVAL, "bulk data before its element");
		t->elems[t->n_elems - 1].received += ev->data_len;
		return spool_write(t, ev->data, ev->data_len);
	case PACS_BULK_END:
		return 0;
	}
	return 0;
}

static void files_abort(void *txn)
{
	txn_free(txn);
}

/* ------------------------------------------------------------ commit */

/* Elements were spooled in stream order: binary search by offset. */
static const spool_elem *spool_find(const files_txn *t, uint64_t stream_offset)
{
	size_t lo = 0, hi = t->n_elems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->elems[mid].stream_offset == stream_offset)
			return &t->elems[mid];
		if (t->elems[mid].stream_offset < stream_offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int spool_copy(const files_txn *t, pacs_write_ctx *w, uint8_t *buf, uint64_t off, uint64_t len)
{
	while (len > 0) {
		size_t want = len < SPOOL_CHUNK ? (size_t)len : SPOOL_CHUNK;
		ssize_t r = pread(t->spool_fd, buf, want, (off_t)off);
		int rc;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return io_error(errno, "reading", t->spool_path);
		if (r == 0)
			return arca_error_set(ARCA_EIO, "spool %s ends early", t->spool_path);
		if ((rc = pacs_write_bytes(w, buf, (size_t)r)) < 0)
			return rc;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* pacs_write pulls each bulk value back from the spool. */
static int files_bulk_source(void *ctx, pacs_write_ctx *w, const pacs_ds *parent, const pacs_elem *e)
{
	const files_txn *t = ctx;
	const spool_elem *se = spool_find(t, pacs_elem_offset(e));
	uint8_t *buf;
	int rc = 0;

	(void)parent;
	if (se == NULL)
		return arca_error_set(ARCA_EINVAL, "bulk value (%04X,%04X) at offset %llu was not received",
				      PACS_TAG_GROUP(pacs_elem_tag(e)), PACS_TAG_ELEMENT(pacs_elem_tag(e)),
				      (unsigned long long)pacs_elem_offset(e));
	if (!se->encapsulated && se->received != se->length)
		return arca_error_set(ARCA_EIO, "bulk value (%04X,%04X): %llu of %u bytes received",
				      PACS_TAG_GROUP(pacs_elem_tag(e)), PACS_TAG_ELEMENT(pacs_elem_tag(e)),
				      (unsigned long long)se->received, se->length);
	buf = malloc(SPOOL_CHUNK);
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory to copy a bulk value");
	if (!se->encapsulated) {
		rc = spool_copy(t, w, buf, se->off, se->length);
	} else {
		for (size_t i = 0; i < se->n_frags && rc == 0; i++) {
			rc = pacs_write_fragment(w, NULL, se->frags[i].len);
			if (rc == 0)
				rc = spool_copy(t, w, buf, se->frags[i].off, se->frags[i].len);
		}
	}
	free(buf);
	return rc;
}

typedef struct file_sink {
	int fd;
	const char *path;
} file_sink;

static int files_sink(void *ctx, const uint8_t *data, size_t len)
{
	file_sink *fs = ctx;

	while (len > 0) {
		ssize_t w = write(fs->fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return io_error(errno, "writing", fs->path);
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

static int files_identical(const char *a, const char *b, bool *same)
{
	struct stat sa, sb;
	int fa = -1, fb = -1, rc = 0;
	uint8_t *ba = NULL, *bb = NULL;

	*same = false;
	if (stat(a, &sa) != 0)
		return io_error(errno, "reading", a);
	if (stat(b, &sb) != 0)
		return io_error(errno, "reading", b);
	if (sa.st_size != sb.st_size)
		return 0;
	fa = open(a, O_RDONLY | O_CLOEXEC);
	fb = open(b, O_RDONLY | O_CLOEXEC);
	ba = malloc(SPOOL_CHUNK);
	bb = malloc(SPOOL_CHUNK);
	if (fa < 0 || fb < 0 || ba == NULL || bb == NULL) {
		rc = fa < 0 || fb < 0 ? io_error(errno, "opening", fa < 0 ? a : b)
				      : arca_error_set(ARCA_ENOMEM, "no memory to compare files");
		goto out;
	}
	*same = true;
	for (;;) {
		ssize_t na = read(fa, ba, SPOOL_CHUNK), nb;
		if (na < 0) {
			rc = io_error(errno, "reading", a);
			break;
		}
		if (na == 0)
			break;
		for (nb = 0; nb < na;) {
			ssize_t r = read(fb, bb + nb, (size_t)(na - nb));
			if (r <= 0) {
				rc = r < 0 ? io_error(errno, "reading", b) : arca_error_set(ARCA_EIO, "%s shrank", b);
				goto out;
			}
			nb += r;
		}
		if (memcmp(ba, bb, (size_t)na) != 0) {
			*same = false;
			break;
		}
	}
out:
	if (rc < 0)
		*same = false;
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(ba);
	free(bb);
	return rc;
}

/* Puts the written temp file under its final name (under place_lock). */
static int files_place(const char *tmp, const char *final, bool *was_identical)
{
	char aside[PATH_MAX + 32];
	bool same;
	int rc, i;

	*was_identical = false;
	rc = store_cas_fsync_rename_noreplace(tmp, final);
	if (rc != ARCA_EEXISTS)
		return rc;
	if ((rc = files_identical(tmp, final, &same)) < 0)
		return rc;
	if (same) {
		*was_identical = true;
		unlink(tmp);
		return 0;
	}
	/* Another version of the instance: the new one takes the name, the old
	 * one is kept beside it (the storage issue decides versions). */
	for (i = 1; i <= MAX_PREVIOUS; i++) {
		snprintf(aside, sizeof(aside), "%s.prev-%d", final, i);
		rc = store_cas_fsync_rename_noreplace(final, aside);
		if (rc != ARCA_EEXISTS)
			break;
	}
	if (rc == ARCA_EEXISTS)
		return arca_error_set(ARCA_ELIMIT, "%s has %d earlier versions already", final, MAX_PREVIOUS);
	if (rc < 0)
		return rc;
	rc = store_cas_fsync_rename_noreplace(tmp, final);
	if (rc == ARCA_EEXISTS)
		rc = arca_error_set(ARCA_EIO, "%s appeared while it was being replaced", final);
	return rc;
}

/* Creates dir if missing; a new entry in parent is made durable. */
static int files_mkdir_durable(const char *dir, const char *parent)
{
	bool created;
	int rc = store_cas_fsync_mkdir(dir, 0750, &created);

	if (rc == 0 && created)
		rc = store_cas_fsync_dir(parent);
	return rc;
}

static int files_get_uid(const pacs_ds *ds, uint32_t tag, char *buf, size_t size)
{
	int rc = pacs_ds_get_string(ds, tag, 0, buf, size);

	if (rc == ARCA_ELIMIT) {
		/* too long to be a UID: let the check say so */
		snprintf(buf, size, "%0*d", (int)size - 1, 1);
		return 0;
	}
	return rc;
}

static int files_commit_ds(files_txn *t, pacs_ds *ds, pacs_ingest_result *res)
{
	store_ingest_files *s = t->s;
	char study[PACS_DIMSE_UID_MAX + 2], series[PACS_DIMSE_UID_MAX + 2], sop[PACS_DIMSE_UID_MAX + 2];
	char final[PATH_MAX], study_dir[PATH_MAX], series_dir[PATH_MAX], tmp[PATH_MAX];
	const struct { uint32_t tag; char *buf; const char *name; } uids[] = {
		{ TAG_STUDY_INSTANCE, study, "Study Instance UID (0020,000D)" },
		{ TAG_SERIES_INSTANCE, series, "Series Instance UID (0020,000E)" },
		{ TAG_SOP_INSTANCE, sop, "SOP Instance UID (0008,0018)" },
	};
	pacs_write_opts wo;
	file_sink fs = { -1, tmp };
	bool identical = false;
	int rc, n;

	/* PS3.3 C.7.2.1, C.7.3.1, C.12.1: Type 1 in every composite IOD */
	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
		if (files_get_uid(ds, uids[i].tag, uids[i].buf, sizeof(study)) < 0 || uids[i].buf[0] == '\0') {
			res->status = PACS_DIMSE_DATA_SET_MISMATCH;
			snprintf(res->comment, sizeof(res->comment), "%s missing", uids[i].name);
			return 0;
		}
		if (store_ingest_uid_check(uids[i].buf, uids[i].name) < 0) {
			res->status = PACS_DIMSE_DATA_SET_MISMATCH;
			pacs_ingest_set_comment(res, arca_error_last());
			return 0;
		}
	}
	if ((rc = store_ingest_files_path(s, study, series, sop, final, sizeof(final))) < 0)
		return rc;
	snprintf(study_dir, sizeof(study_dir), "%s/%s", s->instances, study);
	snprintf(series_dir, sizeof(series_dir), "%s/%s/%s", s->instances, study, series);

	/* PS3.10 7.1: Source AE Title of the meta group */
	if (t->calling_ae[0] != '\0' && (rc = pacs_ds_set_string(ds, TAG_SOURCE_AE, PACS_VR_AE, t->calling_ae)) < 0)
		return rc;
	n = snprintf(tmp, sizeof(tmp), "%s/" PART10_PREFIX "XXXXXX", s->tmp);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return arca_error_set(ARCA_ELIMIT, "temp path under %s is too long", s->tmp);
	fs.fd = mkostemp(tmp, O_CLOEXEC);
	if (fs.fd < 0)
		return io_error(errno, "creating a file in", s->tmp);
	pacs_write_opts_init(&wo);
	wo.ts_uid = t->ts[0] != '\0' ? t->ts : NULL;
	wo.bulk_fn = files_bulk_source;
	wo.bulk_ctx = t;
	rc = pacs_write_part10(ds, &wo, files_sink, &fs);
	if (rc == 0 && fchmod(fs.fd, 0640) != 0)
		rc = io_error(errno, "setting the mode of", tmp);
	if (rc == 0)
		rc = store_cas_fsync_fd(fs.fd, tmp);
	close(fs.fd);
	if (rc == 0)
		rc = files_mkdir_durable(study_dir, s->instances);
	if (rc == 0)
		rc = files_mkdir_durable(series_dir, study_dir);
	if (rc == 0) {
		pthread_mutex_lock(&s->place_lock);
		rc = files_place(tmp, final, &identical);
		pthread_mutex_unlock(&s->place_lock);
	}
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	/* the new name in the series directory is what makes it durable */
	if (!identical)
		rc = store_cas_fsync_dir(series_dir);
	return rc;
}

/* Worker thread. */
static int files_commit(void *txn, pacs_ds *metadata, pacs_ingest_result *res)
{
	files_txn *t = txn;
	int rc;

	res->status = PACS_DIMSE_SUCCESS;
	res->comment[0] = '\0';
	rc = files_commit_ds(t, metadata, res);
	pacs_ds_free(metadata);
	txn_free(t);
	return rc;
}

static const pacs_ingest_ops files_ops = {
	.begin = files_begin,
	.bulk = files_bulk,
	.commit = files_commit,
	.abort = files_abort,
};

void store_ingest_files_ingest(store_ingest_files *s, pacs_ingest *out)
{
	out->ops = &files_ops;
	out->ctx = s;
}
