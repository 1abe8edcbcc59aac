/* pacs_write.c - the writer's entry points: choosing the target encoding,
 * refusing what cannot be written before any byte goes out, and the file
 * and memory sinks.  The encoding itself is in pacs_write_ds.c, the meta
 * group in pacs_write_meta.c, output buffering and deflate in
 * pacs_write_out.c. */
#include "pacs_write_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"

void pacs_write_opts_init(pacs_write_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
}

/* ---- what can be written ---- */

static bool same_uid(const char *a, const char *b)
{
	const pacs_ts_info *ta = pacs_ts_lookup(a), *tb = pacs_ts_lookup(b);

	if (ta != NULL || tb != NULL)
		return ta == tb;
	return strcmp(a, b) == 0;
}

static const char *ts_label(const char *uid, char *buf, size_t size)
{
	const pacs_ts_info *ts = pacs_ts_lookup(uid);

	if (ts == NULL)
		snprintf(buf, size, "%s", uid);
	else
		snprintf(buf, size, "%s (%s)", ts->uid, ts->name);
	return buf;
}

typedef struct tree_facts {
	bool has_encapsulated;
	uint32_t encapsulated_tag;
} tree_facts;

static int survey(const pacs_write_ctx *w, const pacs_ds *ds, tree_facts *f)
{
	for (uint32_t i = 0; i < ds->n; i++) {
		const pacs_elem *e = &ds->elems[i];
		if ((e->flags & PACS_ELEM_BULK) && w->opts->bulk_fn == NULL)
			return arca_error_set(ARCA_EINVAL, "(%04X,%04X) is held outside the data set (bulk) "
					      "and opts.bulk_fn is NULL", PACS_TAG_GROUP(e->tag),
					      PACS_TAG_ELEMENT(e->tag));
		if ((e->flags & PACS_ELEM_ENCAPSULATED) && !f->has_encapsulated) {
			f->has_encapsulated = true;
			f->encapsulated_tag = e->tag;
		}
		if (e->vr == PACS_VR_SQ) {
			for (uint32_t k = 0; k < e->u.seq.n; k++) {
				int rc = survey(w, e->u.seq.items[k], f);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

static int transcoding_error(const char *from, const char *to)
{
	char a[160], b[160];

	return arca_error_set(ARCA_EUNSUPPORTED, "transcoding pixel data from %s to %s is not supported "
			      "here; see `arca transcode`", from[0] ? ts_label(from, a, sizeof(a))
			      : "native (uncompressed)", ts_label(to, b, sizeof(b)));
}

/* Picks the target and its encoding, and refuses pixel data that would
 * need transcoding (PS3.5 A.4: encapsulated values exist only in the
 * syntax they were compressed for). */
static int ctx_setup(pacs_write_ctx *w, const pacs_ds *ds, const pacs_write_opts *opts)
{
	const char *source = pacs_ds_source_ts(ds);
	const pacs_ts_info *ts, *src;
	const pacs_elem *pixels;
	tree_facts facts = { false, 0 };
	bool target_encapsulated;
	int rc;

	memset(w, 0, sizeof(*w));
	w->opts = opts;
	w->ts_uid = opts->ts_uid != NULL ? opts->ts_uid : source[0] ? source : PACS_TS_EXPLICIT_LE;
	if (w->ts_uid[0] == '\0' || strlen(w->ts_uid) > 64)
		return arca_error_set(ARCA_EINVAL, "transfer syntax UID \"%.70s\" is empty or longer than 64 "
				      "characters", w->ts_uid);
	ts = pacs_ts_lookup(w->ts_uid);
	if (ts == NULL && !same_uid(w->ts_uid, source))
		return arca_error_set(ARCA_EUNSUPPORTED, "unknown transfer syntax %s: only a data set "
				      "read in it can be written in it", w->ts_uid);
	/* Every encapsulated syntax, known or not, is Explicit VR Little
	 * Endian (PS3.5 A.4). */
	w->enc.explicit_vr = ts == NULL || ts->explicit_vr;
	w->enc.big_endian = ts != NULL && ts->big_endian;
	w->deflated = ts != NULL && ts->deflated;
	src = pacs_ts_lookup(source);
	w->source_explicit = src != NULL && src->explicit_vr;
	target_encapsulated = ts == NULL || ts->encapsulated;

	rc = survey(w, ds, &facts);
	if (rc < 0)
		return rc;
	if (facts.has_encapsulated &&
	    (!target_encapsulated || (source[0] != '\0' && !same_uid(source, w->ts_uid))))
		return transcoding_error(source, w->ts_uid);
	pixels = pacs_ds_find(ds, PACS_TAG_PIXEL_DATA);
	if (target_encapsulated && pixels != NULL && !(pixels->flags & PACS_ELEM_ENCAPSULATED))
		return transcoding_error(source[0] != '\0' && !pacs_ts_is_encapsulated(source) ? source : "",
					 w->ts_uid);
	return 0;
}

static int run(const pacs_ds *ds, const pacs_write_opts *opts, pacs_sink_fn sink, void *ctx, bool part10)
{
	pacs_write_opts defaults;
	pacs_write_ctx w;
	int rc;

	if (opts == NULL) {
		pacs_write_opts_init(&defaults);
		opts = &defaults;
	}
	rc = ctx_setup(&w, ds, opts);
	if (rc < 0)
		return rc;
	rc = pacs_write__out_init(&w, sink, ctx);
	if (rc == 0 && part10)
		rc = pacs_write__meta(&w, ds);
	/* PS3.5 A.5: only the data set is deflated, never the meta group. */
	if (rc == 0 && w.deflated)
		rc = pacs_write__deflate_begin(&w, opts->deflate_level);
	if (rc == 0)
		rc = pacs_write__ds(&w, ds, w.enc, true);
	if (rc == 0)
		rc = pacs_write__out_finish(&w);
	pacs_write__out_release(&w);
	return rc;
}

int pacs_write_part10(const pacs_ds *ds, const pacs_write_opts *opts, pacs_sink_fn sink, void *ctx)
{
	return run(ds, opts, sink, ctx, true);
}

int pacs_write_dataset(const pacs_ds *ds, const pacs_write_opts *opts, pacs_sink_fn sink, void *ctx)
{
	return run(ds, opts, sink, ctx, false);
}

/* ---- memory ---- */

typedef struct mem_sink {
	uint8_t *data;
	size_t len, cap;
} mem_sink;

static int mem_write(void *ctx, const uint8_t *data, size_t len)
{
	mem_sink *m = ctx;

	if (len > m->cap - m->len) {
		size_t ncap = m->cap ? m->cap : 64 * 1024;
		uint8_t *grown;
		while (ncap - m->len < len) {
			if (ncap > SIZE_MAX / 2)
				return arca_error_set(ARCA_ENOMEM, "encoding too large for memory");
			ncap *= 2;
		}
		grown = realloc(m->data, ncap);
		if (grown == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory for a %zu-byte encoding", ncap);
		m->data = grown;
		m->cap = ncap;
	}
	memcpy(m->data + m->len, data, len);
	m->len += len;
	return 0;
}

int pacs_write_buffer(const pacs_ds *ds, const pacs_write_opts *opts, uint8_t **out, size_t *out_len)
{
	mem_sink m = { NULL, 0, 0 };
	int rc = pacs_write_part10(ds, opts, mem_write, &m);

	*out = NULL;
	*out_len = 0;
	if (rc < 0) {
		free(m.data);
		return rc;
	}
	*out = m.data;
	*out_len = m.len;
	return 0;
}

/* ---- file ---- */

typedef struct fd_sink {
	int fd;
} fd_sink;

static int fd_write(void *ctx, const uint8_t *data, size_t len)
{
	fd_sink *s = ctx;

	while (len > 0) {
		ssize_t n = write(s->fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return arca_error_set(ARCA_EIO, "write failed: %s", strerror(errno));
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is durable only once the directory entry is on disk. */
static int fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = 0;

	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = arca_error_set(ARCA_EIO, "cannot sync directory %s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int pacs_write_file(const pacs_ds *ds, const char *path, const pacs_write_opts *opts)
{
	static const char suffix[] = ".tmp.XXXXXX";
	size_t n = strlen(path);
	char *tmp = malloc(n + sizeof(suffix));
	fd_sink s;
	int rc;

	if (tmp == NULL)
		return arca_error_set(ARCA_ENOMEM, "%s: out of memory", path);
	memcpy(tmp, path, n);
	memcpy(tmp + n, suffix, sizeof(suffix));
	s.fd = mkostemp(tmp, O_CLOEXEC);
	if (s.fd < 0) {
		rc = arca_error_set(ARCA_EIO, "%s: cannot create temporary file %s: %s", path, tmp,
				    strerror(errno));
		free(tmp);
		return rc;
	}
	rc = pacs_write_part10(ds, opts, fd_write, &s);
	if (rc == 0 && fsync(s.fd) < 0)
		rc = arca_error_set(ARCA_EIO, "fsync failed: %s", strerror(errno));
	if (close(s.fd) < 0 && rc == 0)
		rc = arca_error_set(ARCA_EIO, "close failed: %s", strerror(errno));
	if (rc == 0 && rename(tmp, path) < 0)
		rc = arca_error_set(ARCA_EIO, "cannot rename %s: %s", tmp, strerror(errno));
	if (rc == 0)
		rc = fsync_parent(path);
	else
		unlink(tmp);
	free(tmp);
	return rc < 0 ? arca_error_prefix(rc, "%s", path) : 0;
}
