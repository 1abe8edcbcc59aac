/* store_ingest_cas_commit.c - the worker thread's half of the
 * content-addressed ingest (store_ingest.h): rules, manifest, instance
 * hash, quarantine, the wait for the group commit, and the quality record
 * of every instance (store_quality.h): written with the batch by the
 * committer, or by the worker for a refusal once it is in quarantine. */
#include "store_ingest_cas_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_ts.h"
#include "pacs_write.h"
#include "store_cas_fsync.h"
#include "store_instance.h"
#include "store_manifest.h"
#include "store_quality.h"

#define TAG_SOURCE_AE PACS_TAG(0x0002, 0x0016)
#define TAG_SOP_CLASS PACS_TAG(0x0008, 0x0016)
#define TAG_SOP_INSTANCE PACS_TAG(0x0008, 0x0018)
#define TAG_STUDY_INSTANCE PACS_TAG(0x0020, 0x000D)
#define TAG_SERIES_INSTANCE PACS_TAG(0x0020, 0x000E)
#define TAG_BITS_ALLOCATED PACS_TAG(0x0028, 0x0100)

#define TAG_FMT "(%04X,%04X)"
#define TAG_ARGS(t) PACS_TAG_GROUP(t), PACS_TAG_ELEMENT(t)

/* What the commit of one instance works with. */
typedef struct commit_ctx {
	cas_txn *t;
	store_manifest *m;
	pacs_ds *rebuilt;         /* the data set as retrieval will see it */
	/* replaying the instance's chunks for its hash */
	size_t cursor;
	bool read_back;
	/* the manifest's chunk entries hold placeholders (piece indexes), not
	 * addresses: the hash is taken before the puts are over */
	bool by_position;
	bool early;               /* hashed before the puts were over */
	/* the latency breakdown (store_commit_now() seconds) */
	double t_start, t_prepared, t_hashed, t_put_wait;
	/* the answer */
	bool refused;
	uint16_t status;
	char comment[PACS_DIMSE_COMMENT_MAX + 1];
	char *reason;             /* refusals: the quarantine's reason text */
	store_quality_record *q;  /* NULL when there was no memory for it */
} commit_ctx;

/* One instance's index record, as the committer sees it. */
typedef struct cas_record {
	store_index_instance *inst;
	store_index_put_result result;
	store_quality_record *quality; /* the committer sets its outcome and writes it */
	double t_indexed, t_hooked;    /* the committer's timestamps */
} cas_record;

/* ------------------------------------------------------------ placeholders */

/* While the commit hashes the instance before the puts are over, a chunk
 * entry of the manifest holds its piece index (big-endian in the first
 * eight bytes, the rest zero) instead of the chunk's address, which only
 * the put knows.  Placeholders never leave the commit: fill_addresses
 * replaces every one before the manifest is encoded or quarantined. */
static void placeholder_of(size_t piece, uint8_t out[STORE_CAS_HASH_LEN])
{
	uint64_t v = (uint64_t)piece;

	memset(out, 0, STORE_CAS_HASH_LEN);
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xFF);
		v >>= 8;
	}
}

static uint64_t placeholder_index(const uint8_t hash[STORE_CAS_HASH_LEN])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | hash[i];
	return v;
}

/* ------------------------------------------------------------ bulk elements */

/* A bulk element of the metadata, where the writer will meet it. */
typedef struct found_bulk {
	store_manifest_step path[STORE_MANIFEST_MAX_DEPTH];
	size_t depth;
	uint32_t tag;
	uint64_t offset;
	pacs_vr vr;
	bool encapsulated;
} found_bulk;

typedef struct found_list {
	found_bulk *v;
	size_t n, cap;
} found_list;

/* Bits Allocated in force for a nested or top-level pixel data element. */
static uint64_t bits_allocated(const pacs_ds *ds)
{
	uint64_t v;

	for (; ds != NULL; ds = pacs_ds_parent(ds))
		if (pacs_ds_get_uint(ds, TAG_BITS_ALLOCATED, 0, &v) == 0)
			return v;
	return 16;
}

/* The VR the writer gives e in Explicit VR (pacs_write.h): a dictionary
 * pseudo VR (an element read in Implicit VR) resolved from its context,
 * so that the manifest names the VR the metadata object's placeholder
 * reads back with. */
static pacs_vr explicit_vr(const pacs_ds *holder, const pacs_elem *e)
{
	pacs_vr vr = pacs_elem_vr(e);

	if (vr == PACS_VR_NONE || (unsigned)vr >= PACS_VR_COUNT)
		return PACS_VR_UN;
	if (vr < PACS_VR_COUNT_REAL)
		return vr;
	if ((vr == PACS_VR_ox || vr == PACS_VR_px) && pacs_elem_tag(e) == PACS_TAG_PIXEL_DATA)
		return bits_allocated(holder) <= 8 ? PACS_VR_OB : PACS_VR_OW;
	return pacs_vr_resolve_default(vr);
}

/* Depth first, in data set order: the order pacs_write visits them. */
static int find_bulk(const pacs_ds *ds, store_manifest_step *path, size_t depth, found_list *out)
{
	int rc;

	for (size_t i = 0; i < pacs_ds_count(ds); i++) {
		const pacs_elem *e = pacs_ds_at(ds, i);
		if ((pacs_elem_flags(e) & PACS_ELEM_BULK) != 0) {
			found_bulk *f;
			if (out->n == out->cap) {
				size_t cap = out->cap != 0 ? out->cap * 2 : 4;
				found_bulk *v = realloc(out->v, cap * sizeof(*v));
				if (v == NULL)
					return arca_error_set(ARCA_ENOMEM, "no memory for the bulk elements");
				out->v = v;
				out->cap = cap;
			}
			f = &out->v[out->n++];
			memcpy(f->path, path, depth * sizeof(*path));
			f->depth = depth;
			f->tag = pacs_elem_tag(e);
			f->offset = pacs_elem_offset(e);
			f->encapsulated = (pacs_elem_flags(e) & PACS_ELEM_ENCAPSULATED) != 0 ||
					  pacs_elem_length(e) == PACS_UNDEFINED_LENGTH;
			f->vr = explicit_vr(ds, e);
		} else if (pacs_elem_is_sequence(e)) {
			size_t n = pacs_elem_item_count(e);
			if (n > 0 && depth == STORE_MANIFEST_MAX_DEPTH)
				return arca_error_set(ARCA_ELIMIT, "sequences nested deeper than %d",
						      STORE_MANIFEST_MAX_DEPTH);
			for (size_t j = 0; j < n; j++) {
				path[depth].tag = pacs_elem_tag(e);
				path[depth].item = (uint32_t)j;
				if ((rc = find_bulk(pacs_elem_item(e, j), path, depth + 1, out)) < 0)
					return rc;
			}
		}
	}
	return 0;
}

static pacs_ds *holder_of(pacs_ds *root, const found_bulk *f)
{
	pacs_ds *cur = root;

	for (size_t i = 0; i < f->depth && cur != NULL; i++) {
		pacs_elem *seq = pacs_ds_find_mut(cur, f->path[i].tag);
		cur = seq != NULL && f->path[i].item < pacs_elem_item_count(seq) ? pacs_elem_item_mut(seq, f->path[i].item)
										 : NULL;
	}
	return cur;
}

/* The received bulk value at a stream offset (bulks[] is in stream order). */
static const cas_bulk *received_at(const cas_txn *t, uint64_t offset)
{
	size_t lo = 0, hi = t->n_bulks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->bulks[mid].stream_offset == offset)
			return &t->bulks[mid];
		if (t->bulks[mid].stream_offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The manifest entry of one bulk element, from what was received. */
static int add_manifest_bulk(commit_ctx *c, const found_bulk *f)
{
	const cas_txn *t = c->t;
	const cas_bulk *b = received_at(t, f->offset);
	store_manifest_bulk *mb;
	int rc;

	if (b == NULL || !b->ended)
		return arca_error_set(ARCA_EINVAL, "bulk element " TAG_FMT " at offset %llu was not received whole",
				      TAG_ARGS(f->tag), (unsigned long long)f->offset);
	if (b->encapsulated != f->encapsulated || (!b->encapsulated && b->received != b->length))
		return arca_error_set(ARCA_EIO, "bulk element " TAG_FMT ": %llu of %u bytes received", TAG_ARGS(f->tag),
				      (unsigned long long)b->received, b->length);
	if ((rc = store_manifest_add_bulk(c->m, &mb)) < 0)
		return rc;
	memcpy(mb->path, f->path, f->depth * sizeof(*f->path));
	mb->depth = f->depth;
	mb->tag = f->tag;
	mb->vr = f->vr;
	mb->encapsulated = b->encapsulated;
	mb->length = b->length;
	for (size_t j = 0; j < b->n_frags; j++) {
		const cas_frag *fr = &t->frags[b->first_frag + j];
		store_manifest_fragment *mf;
		if (fr->received != fr->length)
			return arca_error_set(ARCA_EIO, "bulk element " TAG_FMT " fragment %zu: %u of %u bytes received",
					      TAG_ARGS(f->tag), j, fr->received, fr->length);
		if ((rc = store_manifest_add_fragment(mb, &mf)) < 0)
			return rc;
		for (size_t k = 0; k < fr->n_pieces; k++) {
			const cas_piece *p = &t->pieces[fr->first_piece + k];
			if (p->is_inline) {
				rc = store_manifest_add_inline(mf, p->buf, p->len);
			} else if (c->by_position) {
				uint8_t ph[STORE_CAS_HASH_LEN];
				placeholder_of(fr->first_piece + k, ph);
				rc = store_manifest_add_chunk(mf, ph, p->len);
			} else if (!p->stored) {
				rc = arca_error_set(ARCA_EIO, "a chunk of " TAG_FMT " was not stored", TAG_ARGS(f->tag));
			} else {
				rc = store_manifest_add_chunk(mf, p->hash, p->len);
			}
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ manifest */

/* The canonical transfer syntax (docs/storage-format.md): encapsulated
 * pixel data stays in the syntax it came in (it cannot be rewritten
 * without decoding it); everything else is Explicit VR Little Endian, so
 * that one instance sent in two native syntaxes has one hash. */
static const char *canonical_ts(const cas_txn *t, const pacs_ds *ds)
{
	const char *ts = t->ts[0] != '\0' ? t->ts : pacs_ds_source_ts(ds);

	return ts[0] != '\0' && pacs_ts_is_encapsulated(ts) ? ts : PACS_TS_EXPLICIT_LE;
}

static int copy_uid(const pacs_ds *ds, uint32_t tag, char *out, size_t size)
{
	int rc = pacs_ds_get_string(ds, tag, 0, out, size);

	if (rc == ARCA_ENOTFOUND) {
		out[0] = '\0';
		return 0;
	}
	return rc == ARCA_ELIMIT ? arca_error_set(ARCA_EPROTO, "UID " TAG_FMT " longer than 64 characters", TAG_ARGS(tag)) : rc;
}

/* Chunks of this instance for its hash: from memory while they are
 * retained, else read back from the store. */
static int replay_chunk(void *ctx, const uint8_t hash[STORE_CAS_HASH_LEN], uint32_t len, pacs_write_ctx *w)
{
	commit_ctx *c = ctx;
	const cas_txn *t = c->t;
	uint8_t *data = NULL;
	size_t got = 0;
	int rc;

	if (c->by_position) {
		/* a placeholder: the piece by its index, retained (the commit
		 * takes this path only when every chunk is) */
		uint64_t i = placeholder_index(hash);
		const cas_piece *p = i < t->n_pieces ? &t->pieces[i] : NULL;
		if (p == NULL || p->is_inline || p->buf == NULL || p->len != len)
			return arca_error_set(ARCA_EIO, "chunk %llu of %zu of the instance is not held for its hash",
					      (unsigned long long)i, t->n_pieces);
		return pacs_write_bytes(w, p->buf, len);
	}
	for (size_t k = 0; k < t->n_pieces; k++) {
		const cas_piece *p = &t->pieces[(c->cursor + k) % t->n_pieces];
		if (!p->is_inline && p->buf != NULL && p->len == len && memcmp(p->hash, hash, STORE_CAS_HASH_LEN) == 0) {
			c->cursor = (c->cursor + k + 1) % t->n_pieces;
			return pacs_write_bytes(w, p->buf, len);
		}
	}
	c->read_back = true;
	if ((rc = store_cas_get(t->s->cas, hash, &data, &got)) < 0)
		return rc;
	rc = got == len ? pacs_write_bytes(w, data, len)
			: arca_error_set(ARCA_EIO, "a chunk read back holds %zu bytes instead of %u", got, len);
	free(data);
	return rc;
}

/* Builds c->m and c->rebuilt from the metadata ds (consumed: its bulk
 * elements become placeholders): the bulk list, the metadata object, the
 * data set read back from it, and the instance hash over the canonical
 * stream of that data set.  Hashing the read-back data set (and not ds)
 * makes commit and retrieval run the same code on the same input.  With
 * c->by_position the chunk entries are placeholders (fill_addresses). */
static int build_manifest(commit_ctx *c, pacs_ds *ds)
{
	store_manifest_step path[STORE_MANIFEST_MAX_DEPTH];
	found_list found = { NULL, 0, 0 };
	pacs_write_opts wo;
	uint8_t *meta = NULL;
	size_t meta_len = 0;
	int rc;

	if ((rc = store_manifest_new(&c->m)) < 0)
		return rc;
	snprintf(c->m->transfer_syntax, sizeof(c->m->transfer_syntax), "%s", canonical_ts(c->t, ds));
	if ((rc = copy_uid(ds, TAG_SOP_CLASS, c->m->sop_class, sizeof(c->m->sop_class))) < 0 ||
	    (rc = copy_uid(ds, TAG_SOP_INSTANCE, c->m->sop_instance, sizeof(c->m->sop_instance))) < 0)
		return rc;
	if ((rc = find_bulk(ds, path, 0, &found)) < 0)
		goto out;
	for (size_t i = 0; i < found.n; i++)
		if ((rc = add_manifest_bulk(c, &found.v[i])) < 0)
			goto out;
	/* the placeholders: same tag and VR, empty */
	for (size_t i = 0; i < found.n; i++) {
		pacs_ds *holder = holder_of(ds, &found.v[i]);
		if (holder == NULL) {
			rc = arca_error_set(ARCA_EINVAL, "bulk element " TAG_FMT " cannot be found again", TAG_ARGS(found.v[i].tag));
			goto out;
		}
		if ((rc = pacs_ds_set(holder, found.v[i].tag, found.v[i].vr, "", 0)) < 0)
			goto out;
	}
	pacs_write_opts_init(&wo);
	wo.ts_uid = PACS_TS_EXPLICIT_LE;
	if ((rc = pacs_write_buffer(ds, &wo, &meta, &meta_len)) < 0) {
		arca_error_prefix(rc, "metadata object");
		goto out;
	}
	if ((rc = store_manifest_set_metadata(c->m, meta, meta_len)) < 0)
		goto out;
	if ((rc = store_instance_dataset(&c->rebuilt, c->m)) < 0)
		goto out;
	c->t_prepared = store_commit_now();
	rc = store_instance_write_ds(c->rebuilt, c->m, replay_chunk, c, NULL, NULL, c->m->instance_hash,
				     &c->m->instance_length);
	c->t_hashed = store_commit_now();
out:
	free(meta);
	free(found.v);
	return rc;
}

/* After the puts: each placeholder of the manifest replaced by the address
 * its piece was stored at.  The manifest then holds what a commit that
 * waited for the puts first would have built: same entries, same order. */
static int fill_addresses(commit_ctx *c)
{
	const cas_txn *t = c->t;
	store_manifest *m = c->m;

	for (size_t i = 0; i < m->n_bulk; i++) {
		for (size_t j = 0; j < m->bulk[i].n_frags; j++) {
			store_manifest_fragment *f = &m->bulk[i].frags[j];
			for (size_t k = 0; k < f->n_pieces; k++) {
				store_manifest_piece *mp = &f->pieces[k];
				uint64_t idx;
				if (mp->is_inline)
					continue;
				idx = placeholder_index(mp->hash);
				if (idx >= t->n_pieces || t->pieces[idx].is_inline)
					return arca_error_set(ARCA_EINVAL, "manifest chunk entry %llu names no chunk",
							      (unsigned long long)idx);
				if (!t->pieces[idx].stored)
					return arca_error_set(ARCA_EIO, "a chunk of " TAG_FMT " was not stored",
							      TAG_ARGS(m->bulk[i].tag));
				memcpy(mp->hash, t->pieces[idx].hash, STORE_CAS_HASH_LEN);
			}
		}
	}
	c->by_position = false;
	return 0;
}

/* Waits for the puts of the instance; the first failure fails it, with
 * the put's message. */
static int wait_puts(commit_ctx *c)
{
	cas_txn *t = c->t;
	double t0 = store_commit_now();
	int rc;

	store_ingest_cas__txn_wait(t);
	c->t_put_wait += store_commit_now() - t0;
	pthread_mutex_lock(&t->mu);
	rc = t->put_rc;
	pthread_mutex_unlock(&t->mu);
	return rc < 0 ? arca_error_set(rc, "%s", t->put_msg) : 0;
}

/* ------------------------------------------------------------ quarantine */

typedef struct fd_sink {
	int fd;
	const char *path;
} fd_sink;

static int to_fd(void *ctx, const uint8_t *data, size_t len)
{
	fd_sink *fs = ctx;
	struct iovec iov = { (void *)(uintptr_t)data, len };

	return store_cas_fsync_write_all(fs->fd, &iov, 1, fs->path);
}

/* ROOT/quarantine/<SOP Instance UID>/ holds instance.dcm (the canonical
 * stream of what would have been stored, Original Attributes Sequence
 * included) and reason.txt; a second refusal of one UID replaces both.
 * A UID that is not safe as a file name is replaced by its hash. */
static int quarantine(commit_ctx *c)
{
	store_ingest_cas *s = c->t->s;
	char name[80], dir[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX], hex[STORE_CAS_HEX_LEN + 1], when[32];
	uint8_t uid_hash[STORE_CAS_HASH_LEN];
	const char *uid = c->m->sop_instance;
	fd_sink fs = { -1, tmp };
	char *text = NULL;
	bool created = false;
	time_t now = time(NULL);
	struct tm tm;
	int rc, n;

	if (store_ingest_uid_check(uid, "SOP Instance UID") == 0) {
		snprintf(name, sizeof(name), "%s", uid);
	} else {
		(void)store_cas_hash(uid, strlen(uid), uid_hash);
		store_cas_hash_to_hex(uid_hash, hex);
		snprintf(name, sizeof(name), "invalid-uid-%.16s", hex);
	}
	if (snprintf(dir, sizeof(dir), "%s/%s", s->quarantine, name) >= (int)sizeof(dir) ||
	    snprintf(path, sizeof(path), "%s/instance.dcm", dir) >= (int)sizeof(path))
		return arca_error_set(ARCA_ELIMIT, "quarantine path of %s is too long", name);
	if ((rc = store_cas_fsync_mkdir(dir, 0750, &created)) < 0)
		return rc;
	if (created && (rc = store_cas_fsync_dir(s->quarantine)) < 0)
		return rc;

	if ((rc = store_cas_fsync_tmp_create(dir, tmp, sizeof(tmp), &fs.fd)) < 0)
		return rc;
	c->cursor = 0;
	/* the temp file is 0600, as every file holding patient data */
	rc = store_instance_write_ds(c->rebuilt, c->m, replay_chunk, c, to_fd, &fs, NULL, NULL);
	if (rc == 0)
		rc = store_cas_fsync_fd(fs.fd, tmp);
	close(fs.fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = arca_error_set(ARCA_EIO, "%s: renaming %s", strerror(errno), tmp);
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	store_cas_hash_to_hex(c->m->instance_hash, hex);
	n = snprintf(NULL, 0, "refused: 0x%04X %s\nreceived: %s\ncalling AE: %s\ntransfer syntax: %s\ninstance hash: %s\n\n%s\n",
		     c->status, c->comment, when, c->t->calling_ae, c->m->transfer_syntax, hex,
		     c->reason != NULL ? c->reason : "");
	text = malloc((size_t)n + 1);
	if (text == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a quarantine reason");
	snprintf(text, (size_t)n + 1, "refused: 0x%04X %s\nreceived: %s\ncalling AE: %s\ntransfer syntax: %s\ninstance hash: %s\n\n%s\n",
		 c->status, c->comment, when, c->t->calling_ae, c->m->transfer_syntax, hex,
		 c->reason != NULL ? c->reason : "");
	snprintf(path, sizeof(path), "%s/reason.txt", dir);
	rc = store_cas_fsync_write_file(dir, path, text, (size_t)n, 0600, true);
	free(text);
	return rc;
}

/* ------------------------------------------------------------ rules, UIDs */

static int refuse(commit_ctx *c, uint16_t status, const char *comment, const char *reason)
{
	c->refused = true;
	c->status = status;
	snprintf(c->comment, sizeof(c->comment), "%s", comment);
	free(c->reason);
	c->reason = strdup(reason != NULL ? reason : comment);
	return c->reason != NULL ? 0 : arca_error_set(ARCA_ENOMEM, "no memory for a refusal");
}

static int apply_rules(commit_ctx *c, pacs_ds *ds)
{
	const cas_txn *t = c->t;
	pacs_norm_opts no = { NULL, t->calling_ae[0] != '\0' ? t->calling_ae : NULL };
	pacs_norm_result *nr = NULL;
	int rc;

	rc = pacs_norm_run_waived(t->s->rules, ds, &no, t->waive, t->n_waive, &nr);
	if (rc < 0)
		return rc;
	if (c->q != NULL)
		store_quality_record_add_norm(c->q, nr);
	if (nr->outcome == PACS_NORM_REFUSED) {
		rc = refuse(c, nr->status, nr->comment, nr->explanation);
	} else {
		c->status = nr->status;
		snprintf(c->comment, sizeof(c->comment), "%s", nr->comment);
	}
	pacs_norm_result_free(nr);
	return rc;
}

/* PS3.3 C.7.2.1, C.7.3.1, C.12.1: the three UIDs are Type 1 in every
 * composite IOD, and the index files the instance under them. */
static int check_uids(commit_ctx *c, const pacs_ds *ds)
{
	static const struct { uint32_t tag; const char *name; } uids[] = {
		{ TAG_STUDY_INSTANCE, "Study Instance UID (0020,000D)" },
		{ TAG_SERIES_INSTANCE, "Series Instance UID (0020,000E)" },
		{ TAG_SOP_INSTANCE, "SOP Instance UID (0008,0018)" },
	};
	char uid[PACS_DIMSE_UID_MAX + 2], text[160];

	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
		int rc = pacs_ds_get_string(ds, uids[i].tag, 0, uid, sizeof(uid));
		if (rc == ARCA_ELIMIT)
			snprintf(text, sizeof(text), "%s is longer than 64 characters", uids[i].name);
		else if (rc < 0 || uid[0] == '\0')
			snprintf(text, sizeof(text), "%s missing", uids[i].name);
		else if (store_ingest_uid_check(uid, uids[i].name) < 0)
			snprintf(text, sizeof(text), "%s", arca_error_last());
		else
			continue;
		if (c->q != NULL) {
			/* not a rule of the rules file: the ingest's own check */
			store_quality_hit h;
			memset(&h, 0, sizeof(h));
			snprintf(h.rule, sizeof(h.rule), "instance-uids");
			snprintf(h.kind, sizeof(h.kind), "required");
			h.action = PACS_NORM_REFUSE;
			h.tag = uids[i].tag;
			snprintf(h.path, sizeof(h.path), TAG_FMT, TAG_ARGS(uids[i].tag));
			snprintf(h.message, sizeof(h.message), "%s", text);
			c->q->n_refused++;
			(void)store_quality_record_add_hit(c->q, &h);
		}
		return refuse(c, PACS_DIMSE_DATA_SET_MISMATCH, text, text);
	}
	return 0;
}

/* ------------------------------------------------------------ quality */

void store_ingest_cas_waive(void *txn, const char *const *ids, size_t n)
{
	cas_txn *t = txn;

	t->waive = ids;
	t->n_waive = n;
}

static store_quality_origin origin_of(const cas_txn *t)
{
	if (strcmp(t->peer, "import") == 0)
		return STORE_QUALITY_IMPORT;
	if (strcmp(t->peer, STORE_INGEST_RELEASE_PEER) == 0)
		return STORE_QUALITY_RELEASE;
	return STORE_QUALITY_DIMSE;
}

static store_quality_outcome outcome_of(store_index_outcome o)
{
	switch (o) {
	case STORE_INDEX_NEW:
		return STORE_QUALITY_STORED;
	case STORE_INDEX_DUPLICATE:
		return STORE_QUALITY_DUPLICATE;
	default:
		return STORE_QUALITY_VERSION;
	}
}

/* A refusal's record, once the instance is in quarantine (or is not).  A
 * quality record is a report, not the instance: failing to write it
 * never changes the answer. */
static void record_refusal(commit_ctx *c, bool quarantined)
{
	if (c->q == NULL)
		return;
	c->q->outcome = quarantined ? STORE_QUALITY_QUARANTINED : STORE_QUALITY_REFUSED;
	c->q->status = c->status;
	snprintf(c->q->comment, sizeof(c->q->comment), "%s", c->comment);
	(void)store_quality_put(c->t->s->index, (const store_quality_record *const *)&c->q, 1);
}

/* ------------------------------------------------------------ the commit */

static int index_record(commit_ctx *c, const uint8_t manifest[STORE_CAS_HASH_LEN], cas_record *rec)
{
	store_index_storage *st;
	int rc;

	if ((rc = store_index_instance_new(&rec->inst)) < 0)
		return rc;
	if ((rc = store_index_instance_from_ds(rec->inst, c->rebuilt)) < 0)
		return rc;
	st = store_index_instance_storage(rec->inst);
	snprintf(st->transfer_syntax, sizeof(st->transfer_syntax), "%s", c->m->transfer_syntax);
	st->size = c->m->instance_length;
	memcpy(st->instance_hash, c->m->instance_hash, STORE_INDEX_HASH_LEN);
	memcpy(st->manifest, manifest, STORE_INDEX_HASH_LEN);
	st->received = (int64_t)time(NULL);
	snprintf(st->calling_ae, sizeof(st->calling_ae), "%s", c->t->calling_ae);
	return 0;
}

/* A stored instance's stages into d (store_ingest_cas_stats): from the
 * end of its last bulk value (or the commit's start when it had none) to
 * now, when the worker has the committer's answer. */
static void count_latency(const commit_ctx *c, const store_commit_item *item, const cas_record *rec,
			  double t_manifest, store_ingest_cas_stats *d)
{
	double now = store_commit_now();
	double t0 = c->t->t_last_bulk > 0 && c->t->t_last_bulk <= c->t_start ? c->t->t_last_bulk : c->t_start;

	d->timed = 1;
	d->lat_handoff = c->t_start - t0;
	/* before the hash: rules, metadata object and data set, less any wait
	 * for the puts that came first (an instance past the retention cap) */
	d->lat_prepare = c->t_prepared - c->t_start - (c->early ? 0 : c->t_put_wait);
	d->lat_hash = c->t_hashed - c->t_prepared;
	d->lat_puts = c->t_put_wait;
	d->lat_manifest = t_manifest - c->t_hashed - (c->early ? c->t_put_wait : 0);
	d->lat_queue = item->t_sync_start - t_manifest;
	d->lat_sync = item->t_sync_end - item->t_sync_start;
	d->lat_synced = item->t_record_start - item->t_sync_end;
	d->lat_index = rec->t_indexed - item->t_record_start;
	d->lat_hook = rec->t_hooked - rec->t_indexed;
	d->lat_release = now - rec->t_hooked;
	d->lat_total = now - t0;
}

static int commit_ds(commit_ctx *c, pacs_ds *ds, pacs_ingest_result *res)
{
	cas_txn *t = c->t;
	store_ingest_cas *s = t->s;
	store_ingest_cas_stats d = { 0 };
	store_commit_item item;
	cas_record rec;
	uint8_t *bytes = NULL, address[STORE_CAS_HASH_LEN];
	size_t len = 0;
	double t_manifest;
	int rc;

	memset(&rec, 0, sizeof(rec));
	/* The chunk puts run on the put pool while this thread applies the
	 * rules, builds the metadata object and hashes the instance from the
	 * retained chunk buffers, by position: only the manifest's chunk
	 * addresses need the puts to be over.  An instance past the
	 * retention cap is hashed by reading its chunks back, by address:
	 * its puts come first. */
	pthread_mutex_lock(&t->mu);
	c->by_position = c->early = !t->retain_off && !s->wait_puts_first;
	rc = t->put_rc;
	pthread_mutex_unlock(&t->mu);
	if (rc < 0)
		return arca_error_set(rc, "%s", t->put_msg);
	if (!c->by_position && (rc = wait_puts(c)) < 0)
		return rc;
	/* design.md 3.1 steps 2-3 */
	if (s->rules != NULL && (rc = apply_rules(c, ds)) < 0)
		return rc;
	if (!c->refused && (rc = check_uids(c, ds)) < 0)
		return rc;
	if (c->q != NULL)
		store_quality_record_from_ds(c->q, ds);
	/* PS3.10 7.1: Source AE Title of the meta group */
	if (t->calling_ae[0] != '\0' && (rc = pacs_ds_set_string(ds, TAG_SOURCE_AE, PACS_VR_AE, t->calling_ae)) < 0)
		return rc;
	/* step 4 */
	if ((rc = build_manifest(c, ds)) < 0)
		return rc;
	/* the puts end here: a failed one fails the instance, refused or
	 * not (as when the commit waited first), and the manifest needs
	 * their addresses */
	if (c->by_position && ((rc = wait_puts(c)) < 0 || (rc = fill_addresses(c)) < 0))
		return rc;
	d.rehashed = c->read_back ? 1 : 0;
	if (c->refused) {
		if ((rc = quarantine(c)) < 0) {
			record_refusal(c, false);
			return arca_error_prefix(rc, "refused (0x%04X %s) and not quarantined", c->status, c->comment);
		}
		record_refusal(c, true);
		d.refused = 1;
		store_ingest_cas__count(s, &d);
		res->status = c->status;
		pacs_ingest_set_comment(res, c->comment);
		return 0;
	}
	if ((rc = store_manifest_encode(c->m, &bytes, &len)) < 0)
		return rc;
	rc = store_cas_put(s->cas, bytes, len, address, NULL);
	free(bytes);
	if (rc < 0)
		return rc;
	t_manifest = store_commit_now();
	/* step 5: durable chunks, manifest and index row, then the answer */
	if ((rc = index_record(c, address, &rec)) == 0) {
		memset(&item, 0, sizeof(item));
		item.record = &rec;
		rec.quality = c->q;
		if (c->q != NULL) {
			c->q->status = c->status;
			snprintf(c->q->comment, sizeof(c->q->comment), "%s", c->comment);
		}
		rc = store_commit_run(s->committer, &item);
	}
	store_index_instance_free(rec.inst);
	if (rc < 0)
		return rc;
	count_latency(c, &item, &rec, t_manifest, &d);
	d.instances = 1;
	store_ingest_cas__count(s, &d);
	res->status = c->status;
	pacs_ingest_set_comment(res, c->comment);
	return 0;
}

/* Worker thread. */
int store_ingest_cas__commit(void *txn, pacs_ds *metadata, pacs_ingest_result *res)
{
	commit_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.t = txn;
	c.q = malloc(sizeof(*c.q));
	if (c.q != NULL) {
		store_quality_record_init(c.q);
		snprintf(c.q->calling_ae, sizeof(c.q->calling_ae), "%s", c.t->calling_ae);
		c.q->origin = origin_of(c.t);
	}
	res->status = PACS_DIMSE_SUCCESS;
	res->comment[0] = '\0';
	c.t_start = store_commit_now();
	rc = commit_ds(&c, metadata, res);
	pacs_ds_free(metadata);
	pacs_ds_free(c.rebuilt);
	store_manifest_free(c.m);
	free(c.reason);
	free(c.q);
	store_ingest_cas__txn_release(c.t);
	return rc;
}

/* The batch's quality records, outcomes from the index transaction, in a
 * transaction without an fsync of its own (store_quality.h): the next
 * batch's commit makes them durable.  Best effort, as record_refusal. */
static void record_batch(store_ingest_cas *s, store_commit_item *const *items, size_t n)
{
	const store_quality_record **qs = malloc(n * sizeof(*qs));
	size_t nq = 0;

	if (qs == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		cas_record *r = items[i]->record;
		if (r->quality == NULL || items[i]->rc != 0)
			continue;
		r->quality->outcome = outcome_of(s->results[i].outcome);
		qs[nq++] = r->quality;
	}
	(void)store_quality_put(s->index, qs, nq);
	free(qs);
}

/* Committer thread: one index transaction for the batch. */
int store_ingest_cas__record(void *ctx, store_commit_item *const *items, size_t n)
{
	store_ingest_cas *s = ctx;
	double t;
	int rc;

	for (size_t i = 0; i < n; i++)
		s->batch[i] = ((cas_record *)items[i]->record)->inst;
	rc = store_index_put(s->index, s->batch, n, s->results);
	if (rc < 0)
		return rc;
	t = store_commit_now();
	for (size_t i = 0; i < n; i++)
		((cas_record *)items[i]->record)->t_indexed = ((cas_record *)items[i]->record)->t_hooked = t;
	for (size_t i = 0; i < n; i++) {
		((cas_record *)items[i]->record)->result = s->results[i];
		if (s->results[i].err != 0) {
			items[i]->rc = s->results[i].err;
			snprintf(items[i]->message, sizeof(items[i]->message), "%s", s->results[i].message);
		}
	}
	if (s->hook != NULL) {
		for (size_t i = 0; i < n; i++)
			s->hook_batch[i] = ((cas_record *)items[i]->record)->inst;
		rc = s->hook(s->hook_ctx, s->index, s->hook_batch, s->results, n);
		if (rc < 0) {
			/* indexed but not told to the chain: the SCU must not see a
			 * success for it */
			for (size_t i = 0; i < n; i++) {
				if (items[i]->rc == 0) {
					items[i]->rc = rc;
					snprintf(items[i]->message, sizeof(items[i]->message), "%s", arca_error_last());
				}
			}
		}
		t = store_commit_now();
		for (size_t i = 0; i < n; i++)
			((cas_record *)items[i]->record)->t_hooked = t;
	}
	record_batch(s, items, n);
	return 0;
}
