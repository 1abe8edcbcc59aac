/* store_ingest_cas.c - the content-addressed ingest (store_ingest.h): the
 * archive's opening, and the loop thread's half of a transaction: begin,
 * bulk values cut into chunks and put, abort.  The commit is in
 * store_ingest_cas_commit.c. */
#include "store_ingest_cas_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_tags.h"
#include "store_cas_fsync.h"
#include "store_manifest.h"

#define TAG_FLOAT_PIXEL_DATA PACS_TAG(0x7FE0, 0x0008)
#define TAG_DOUBLE_PIXEL_DATA PACS_TAG(0x7FE0, 0x0009)

/* ------------------------------------------------------------ open */

void store_ingest_cas_options_init(store_ingest_cas_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->put_threads = -1;
}

int store_ingest_cas_open(store_ingest_cas **out, const char *root, const store_ingest_cas_options *opts)
{
	store_ingest_cas_options defaults;
	store_commit_options cmo;
	store_cas_options co;
	store_ingest_cas *s;
	char index_path[PATH_MAX];
	int rc, threads;

	*out = NULL;
	if (opts == NULL) {
		store_ingest_cas_options_init(&defaults);
		opts = &defaults;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the instance store");
	pthread_mutex_init(&s->stats_mu, NULL);
	if (snprintf(s->root, sizeof(s->root), "%s", root) >= (int)sizeof(s->root) ||
	    snprintf(s->quarantine, sizeof(s->quarantine), "%s/quarantine", root) >= (int)sizeof(s->quarantine) ||
	    snprintf(index_path, sizeof(index_path), "%s/index.db", root) >= (int)sizeof(index_path)) {
		rc = arca_error_set(ARCA_ELIMIT, "archive root path %s is too long", root);
		goto fail;
	}
	s->chunk_max = opts->chunk_max != 0 ? opts->chunk_max : STORE_CAS_CHUNK_DEFAULT;
	s->wait_puts_first = opts->wait_puts_first;
	if (s->chunk_max > STORE_CAS_CHUNK_MAX || s->chunk_max < STORE_MANIFEST_INLINE_MAX) {
		rc = arca_error_set(ARCA_EINVAL, "chunk size %zu outside %u..%zu", s->chunk_max,
				    STORE_MANIFEST_INLINE_MAX, STORE_CAS_CHUNK_MAX);
		goto fail;
	}
	if ((rc = store_cas_fsync_mkdir(s->root, 0750, NULL)) < 0 ||
	    (rc = store_cas_fsync_mkdir(s->quarantine, 0750, NULL)) < 0)
		goto fail;

	store_cas_options_init(&co);
	co.zstd_level = opts->zstd_level != 0 ? opts->zstd_level : 1;
	co.codec = opts->codec != STORE_CAS_CODEC_DEFAULT ? opts->codec : STORE_CAS_CODEC_FAST;
	co.encrypt = opts->encrypt;
	co.sync = STORE_CAS_SYNC_DEFERRED;
	/* pieces of bulk values are cut at s->chunk_max here; the store's own
	 * limit only has to let manifests through (a manifest of a long
	 * multi-frame instance, or with a large metadata object, can pass
	 * the piece size) */
	co.chunk_max = STORE_CAS_CHUNK_MAX;
	/* the committer syncs at every batch, and every STORE_INGEST_KICK
	 * chunks of a large instance: this only bounds open files */
	co.max_pending = STORE_INGEST_MAX_PENDING;
	if ((rc = store_cas_open(&s->cas, root, &co)) < 0)
		goto fail;
	if ((rc = store_index_open(&s->index, opts->index != NULL && opts->index[0] != '\0' ? opts->index : index_path,
				   NULL)) < 0)
		goto fail;
	if (opts->rules != NULL && opts->rules[0] != '\0' && (rc = pacs_norm_rules_load(&s->rules, opts->rules)) < 0)
		goto fail;

	s->max_batch = opts->max_batch != 0 ? opts->max_batch : 256;
	s->batch = calloc(s->max_batch, sizeof(*s->batch));
	s->results = calloc(s->max_batch, sizeof(*s->results));
	s->hook_batch = calloc(s->max_batch, sizeof(*s->hook_batch));
	if (s->batch == NULL || s->results == NULL || s->hook_batch == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "no memory for the instance store");
		goto fail;
	}
	threads = opts->put_threads < 0 ? STORE_INGEST_PUT_THREADS : opts->put_threads;
	if (threads > 0 && (rc = store_putq_new(&s->putq, s->cas, (unsigned)threads, STORE_INGEST_PUT_JOBS)) < 0)
		goto fail;
	memset(&cmo, 0, sizeof(cmo));
	cmo.max_batch = s->max_batch;
	if ((rc = store_commit_new(&s->committer, s->cas, store_ingest_cas__record, s, &cmo)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	store_ingest_cas_free(s);
	return rc;
}

void store_ingest_cas_free(store_ingest_cas *s)
{
	if (s == NULL)
		return;
	/* puts first (their chunks become pending), then the last batch */
	store_putq_free(s->putq);
	store_commit_free(s->committer);
	pacs_norm_rules_free(s->rules);
	store_index_free(s->index);
	store_cas_free(s->cas);
	free(s->batch);
	free(s->results);
	free(s->hook_batch);
	pthread_mutex_destroy(&s->stats_mu);
	free(s);
}

store_cas *store_ingest_cas_store(store_ingest_cas *s)
{
	return s->cas;
}

struct store_index *store_ingest_cas_index(store_ingest_cas *s)
{
	return s->index;
}

/* ------------------------------------------------------------ statistics */

void store_ingest_cas__count(store_ingest_cas *s, const store_ingest_cas_stats *d)
{
	pthread_mutex_lock(&s->stats_mu);
	s->stats.instances += d->instances;
	s->stats.refused += d->refused;
	s->stats.chunks_new += d->chunks_new;
	s->stats.chunks_dedup += d->chunks_dedup;
	s->stats.bytes_new += d->bytes_new;
	s->stats.bytes_dedup += d->bytes_dedup;
	s->stats.puts_inline += d->puts_inline;
	s->stats.puts_pool += d->puts_pool;
	s->stats.rehashed += d->rehashed;
	s->stats.timed += d->timed;
	s->stats.lat_handoff += d->lat_handoff;
	s->stats.lat_prepare += d->lat_prepare;
	s->stats.lat_hash += d->lat_hash;
	s->stats.lat_puts += d->lat_puts;
	s->stats.lat_manifest += d->lat_manifest;
	s->stats.lat_queue += d->lat_queue;
	s->stats.lat_sync += d->lat_sync;
	s->stats.lat_synced += d->lat_synced;
	s->stats.lat_index += d->lat_index;
	s->stats.lat_hook += d->lat_hook;
	s->stats.lat_release += d->lat_release;
	s->stats.lat_total += d->lat_total;
	pthread_mutex_unlock(&s->stats_mu);
}

void store_ingest_cas_stats_get(store_ingest_cas *s, store_ingest_cas_stats *out)
{
	store_commit_stats cs;

	pthread_mutex_lock(&s->stats_mu);
	*out = s->stats;
	pthread_mutex_unlock(&s->stats_mu);
	store_commit_stats_get(s->committer, &cs);
	out->batches = cs.batches;
	out->batch_items = cs.items;
	out->largest_batch = cs.largest;
	out->sync_only = cs.sync_only;
}

/* "latency per instance (ms, mean of 1000): ..." into buf; "" when no
 * instance was timed. */
static void latency_format(const store_ingest_cas_stats *st, char *buf, size_t size)
{
	double n = (double)st->timed / 1e3; /* seconds summed -> mean ms */

	if (st->timed == 0) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, size,
		 "; latency per instance (ms, mean of %llu): to commit %.3f, rules+metadata %.3f, hash %.3f, wait puts %.3f, manifest %.3f, queue %.3f, sync %.3f, to index %.3f, index %.3f, hook %.3f, release %.3f; total %.3f",
		 (unsigned long long)st->timed, st->lat_handoff / n, st->lat_prepare / n, st->lat_hash / n,
		 st->lat_puts / n, st->lat_manifest / n, st->lat_queue / n, st->lat_sync / n, st->lat_synced / n,
		 st->lat_index / n, st->lat_hook / n, st->lat_release / n, st->lat_total / n);
}

void store_ingest_cas_stats_format(store_ingest_cas *s, char *buf, size_t size)
{
	store_ingest_cas_stats st;
	store_commit_stats cs;
	char commits[512], latency[512];

	store_ingest_cas_stats_get(s, &st);
	store_commit_stats_get(s->committer, &cs);
	store_commit_stats_format(&cs, commits, sizeof(commits));
	latency_format(&st, latency, sizeof(latency));
	snprintf(buf, size,
		 "%llu instances stored, %llu refused; chunks %llu new (%.1f MB), %llu already stored (%.1f MB); puts %llu on the loop, %llu in the pool; %llu hashed by reading back; group commit: %s%s",
		 (unsigned long long)st.instances, (unsigned long long)st.refused,
		 (unsigned long long)st.chunks_new, (double)st.bytes_new / 1e6,
		 (unsigned long long)st.chunks_dedup, (double)st.bytes_dedup / 1e6,
		 (unsigned long long)st.puts_inline, (unsigned long long)st.puts_pool,
		 (unsigned long long)st.rehashed, commits, latency);
}

/* ------------------------------------------------------------ transaction */

static void txn_destroy(cas_txn *t)
{
	for (size_t i = 0; i < t->n_pieces; i++)
		free(t->pieces[i].buf);
	free(t->pieces);
	free(t->frags);
	free(t->bulks);
	free(t->cur);
	pthread_cond_destroy(&t->idle);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

void store_ingest_cas__txn_release(cas_txn *t)
{
	bool last;

	pthread_mutex_lock(&t->mu);
	last = --t->refs == 0;
	pthread_mutex_unlock(&t->mu);
	if (last)
		txn_destroy(t);
}

void store_ingest_cas__txn_wait(cas_txn *t)
{
	pthread_mutex_lock(&t->mu);
	while (t->in_flight > 0)
		pthread_cond_wait(&t->idle, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

static int cas_begin(void *ctx, const pacs_ingest_info *info, void **txn)
{
	cas_txn *t = calloc(1, sizeof(*t));

	*txn = NULL;
	if (t == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for an instance");
	t->s = ctx;
	t->refs = 1;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->idle, NULL);
	snprintf(t->calling_ae, sizeof(t->calling_ae), "%s", info->calling_ae != NULL ? info->calling_ae : "");
	snprintf(t->ts, sizeof(t->ts), "%s", info->transfer_syntax != NULL ? info->transfer_syntax : "");
	/* where it came from, for the quality record (store_quality.h) */
	snprintf(t->peer, sizeof(t->peer), "%s", info->peer_address != NULL ? info->peer_address : "");
	*txn = t;
	return 0;
}

static void cas_abort(void *txn)
{
	cas_txn *t = txn;

	/* Chunks already put stay in the store, unreferenced (gc's business):
	 * another instance may share them.  Puts in flight finish on their
	 * own and the last reference frees. */
	store_ingest_cas__txn_release(t);
}

/* ------------------------------------------------------------ putting */

static int grow(void **v, size_t n, size_t *cap, size_t elem)
{
	size_t c = *cap != 0 ? *cap * 2 : 4;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*v, c * elem);
	if (p == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the chunks of an instance");
	*v = p;
	*cap = c;
	return 0;
}

typedef struct put_job {
	cas_txn *t;
	size_t piece;
} put_job;

/* Retained chunks whose put is over are dropped once the instance passes
 * the retention cap (the commit then reads all its chunks back). */
static void retain_stop(cas_txn *t)
{
	t->retain_off = true;
	for (size_t i = 0; i < t->n_pieces; i++) {
		cas_piece *p = &t->pieces[i];
		if (p->is_inline || !p->retained)
			continue;
		p->retained = false;
		if (!p->in_flight) {
			free(p->buf);
			p->buf = NULL;
		}
	}
	t->retained_bytes = 0;
}

/* Records a put's outcome in its piece (under t->mu). */
static void piece_stored(cas_txn *t, cas_piece *p, int rc, const char *msg,
			 const uint8_t hash[STORE_CAS_HASH_LEN], bool is_new, store_ingest_cas_stats *d)
{
	if (rc == 0) {
		memcpy(p->hash, hash, STORE_CAS_HASH_LEN);
		p->stored = true;
		if (is_new) {
			d->chunks_new++;
			d->bytes_new += p->len;
		} else {
			d->chunks_dedup++;
			d->bytes_dedup += p->len;
		}
	} else if (t->put_rc == 0) {
		t->put_rc = rc;
		snprintf(t->put_msg, sizeof(t->put_msg), "%s", msg);
	}
	/* a retained buffer stays even when its put failed: the commit may be
	 * hashing the instance from it right now (store_ingest_cas_commit.c);
	 * the transaction frees it */
	if (!p->retained) {
		free(p->buf);
		p->buf = NULL;
	}
}

/* Put pool thread. */
static void put_done(void *ctx, int rc, const char *msg, const uint8_t hash[STORE_CAS_HASH_LEN], bool is_new)
{
	put_job *job = ctx;
	cas_txn *t = job->t;
	store_ingest_cas *s = t->s;
	store_ingest_cas_stats d = { 0 };
	bool last;

	d.puts_pool = 1;
	pthread_mutex_lock(&t->mu);
	t->pieces[job->piece].in_flight = false;
	piece_stored(t, &t->pieces[job->piece], rc, msg, hash, is_new, &d);
	t->in_flight--;
	last = --t->refs == 0;
	pthread_cond_broadcast(&t->idle);
	pthread_mutex_unlock(&t->mu);
	store_ingest_cas__count(s, &d);
	free(job);
	if (last)
		txn_destroy(t);
}

/* The piece being filled is complete: keep it inline, or put it (pool or
 * here).  The buffer passes to the piece. */
static int piece_complete(cas_txn *t)
{
	store_ingest_cas *s = t->s;
	cas_piece *p;
	put_job *job = NULL;
	int rc;

	pthread_mutex_lock(&t->mu);
	rc = grow((void **)&t->pieces, t->n_pieces, &t->cap_pieces, sizeof(*t->pieces));
	if (rc < 0) {
		pthread_mutex_unlock(&t->mu);
		return rc;
	}
	p = &t->pieces[t->n_pieces];
	memset(p, 0, sizeof(*p));
	p->len = t->cur_len;
	p->buf = t->cur;
	p->is_inline = t->cur_inline;
	t->cur = NULL;
	t->cur_len = t->cur_target = 0;
	t->n_pieces++;
	t->frags[t->n_frags - 1].n_pieces++;
	if (p->is_inline) {
		pthread_mutex_unlock(&t->mu);
		return 0;
	}
	/* a large instance: its chunks are synced by the committer as they
	 * come, not by a put on this thread reaching max_pending */
	if (++t->chunks_put % STORE_INGEST_KICK == 0)
		store_commit_kick(s->committer);
	if (!t->retain_off && t->retained_bytes + p->len <= s->chunk_max) {
		p->retained = true;
		t->retained_bytes += p->len;
	} else if (!t->retain_off) {
		retain_stop(t);
	}
	if (s->putq != NULL && t->in_flight < STORE_INGEST_MAX_INFLIGHT && (job = malloc(sizeof(*job))) != NULL) {
		job->t = t;
		job->piece = t->n_pieces - 1;
		if (store_putq_try_submit(s->putq, p->buf, p->len, put_done, job) == 0) {
			p->in_flight = true;
			t->in_flight++;
			t->refs++;
			pthread_mutex_unlock(&t->mu);
			return 0;
		}
		free(job);
	}
	pthread_mutex_unlock(&t->mu);

	/* here, on the calling thread: the pool is full, busy with this
	 * instance, or absent */
	{
		uint8_t hash[STORE_CAS_HASH_LEN];
		bool is_new = false;
		store_ingest_cas_stats d = { 0 };
		size_t idx = t->n_pieces - 1;
		const uint8_t *data;
		uint32_t len;

		/* only this thread appends pieces: the buffer cannot move */
		pthread_mutex_lock(&t->mu);
		data = t->pieces[idx].buf;
		len = t->pieces[idx].len;
		pthread_mutex_unlock(&t->mu);
		rc = store_cas_put(s->cas, data, len, hash, &is_new);
		d.puts_inline = 1;
		pthread_mutex_lock(&t->mu);
		piece_stored(t, &t->pieces[idx], rc, rc < 0 ? arca_error_last() : "", hash, is_new, &d);
		pthread_mutex_unlock(&t->mu);
		store_ingest_cas__count(s, &d);
	}
	return rc;
}

/* ------------------------------------------------------------ chunking */

/* PS3.3 C.7.6.3: bytes per frame of native pixel data, from the Image
 * Pixel Module attributes the reader has seen before Pixel Data (group
 * 0028 precedes 7FE0); 0 when unknown or not whole bytes (1-bit data). */
static uint64_t frame_bytes(const pacs_ds *ds, uint32_t length)
{
	uint64_t rows, cols, spp = 1, bits, frames = 1;

	if (pacs_ds_get_uint(ds, PACS_TAG(0x0028, 0x0010), 0, &rows) < 0 ||
	    pacs_ds_get_uint(ds, PACS_TAG(0x0028, 0x0011), 0, &cols) < 0 ||
	    pacs_ds_get_uint(ds, PACS_TAG(0x0028, 0x0100), 0, &bits) < 0)
		return 0;
	(void)pacs_ds_get_uint(ds, PACS_TAG(0x0028, 0x0002), 0, &spp);
	(void)pacs_ds_get_uint(ds, PACS_TAG(0x0028, 0x0008), 0, &frames);
	if (rows == 0 || cols == 0 || spp == 0 || bits == 0 || bits % 8 != 0 || rows > 65535 || cols > 65535 ||
	    spp > 4 || bits > 64 || frames == 0)
		return 0;
	uint64_t f = rows * cols * spp * (bits / 8);
	/* a frame layout that does not fit the value (YBR_FULL_422, a wrong
	 * Number of Frames) is not trusted: fixed pieces instead */
	if (frames > length / f)
		return 0;
	return f;
}

/* Size of the next piece of the current fragment. */
static uint32_t next_piece_size(const cas_txn *t, const cas_bulk *b, const cas_frag *f)
{
	uint64_t max = t->s->chunk_max, left = (uint64_t)f->length - f->received, off = f->received, n;

	if (f->length <= STORE_MANIFEST_INLINE_MAX)
		return (uint32_t)left; /* the whole fragment, inline */
	if (b->encapsulated || b->frame_size == 0) {
		n = left < max ? left : max;
	} else if (b->frame_size > max) {
		/* a large frame: pieces of max, the last one the frame's rest */
		uint64_t in_frame = b->frame_size - off % b->frame_size;
		n = in_frame < max ? in_frame : max;
	} else {
		/* whole frames, grouped up to STORE_INGEST_MIN_CHUNK */
		uint64_t per = 1, unit;
		if (b->frame_size < STORE_INGEST_MIN_CHUNK)
			per = STORE_INGEST_MIN_CHUNK / b->frame_size;
		while (per > 1 && per * b->frame_size > max)
			per--;
		unit = per * b->frame_size;
		n = unit - off % unit;
	}
	if (n > left)
		n = left;
	return (uint32_t)n;
}

static int add_frag(cas_txn *t, uint32_t length)
{
	cas_frag *f;
	int rc;

	pthread_mutex_lock(&t->mu);
	rc = grow((void **)&t->frags, t->n_frags, &t->cap_frags, sizeof(*t->frags));
	if (rc == 0) {
		f = &t->frags[t->n_frags++];
		memset(f, 0, sizeof(*f));
		f->length = length;
		f->first_piece = t->n_pieces;
		t->bulks[t->n_bulks - 1].n_frags++;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int on_begin(cas_txn *t, const pacs_bulk_event *ev)
{
	cas_bulk *b = NULL;
	int rc;

	if (t->cur != NULL)
		return arca_error_set(ARCA_EINVAL, "bulk element (%04X,%04X) begins inside another",
				      PACS_TAG_GROUP(ev->tag), PACS_TAG_ELEMENT(ev->tag));
	pthread_mutex_lock(&t->mu);
	rc = grow((void **)&t->bulks, t->n_bulks, &t->cap_bulks, sizeof(*t->bulks));
	if (rc == 0) {
		b = &t->bulks[t->n_bulks++];
		memset(b, 0, sizeof(*b));
		b->stream_offset = ev->stream_offset;
		b->tag = ev->tag;
		b->length = ev->length;
		b->encapsulated = ev->length == PACS_UNDEFINED_LENGTH;
		b->first_frag = t->n_frags;
		if (!b->encapsulated && pacs_ds_parent(ev->parent) == NULL &&
		    (ev->tag == PACS_TAG_PIXEL_DATA || ev->tag == TAG_FLOAT_PIXEL_DATA ||
		     ev->tag == TAG_DOUBLE_PIXEL_DATA))
			b->frame_size = frame_bytes(ev->parent, ev->length);
	}
	pthread_mutex_unlock(&t->mu);
	if (rc < 0 || b == NULL)
		return rc;
	/* a native value is one fragment of its length */
	return b->encapsulated ? 0 : add_frag(t, ev->length);
}

static int on_data(cas_txn *t, const pacs_bulk_event *ev)
{
	cas_bulk *b = &t->bulks[t->n_bulks - 1];
	const uint8_t *data = ev->data;
	size_t left = ev->data_len;
	int rc;

	if (t->n_frags == 0 || b->n_frags == 0)
		return arca_error_set(ARCA_EINVAL, "bulk data of (%04X,%04X) before its fragment",
				      PACS_TAG_GROUP(ev->tag), PACS_TAG_ELEMENT(ev->tag));
	while (left > 0) {
		cas_frag *f = &t->frags[t->n_frags - 1];
		uint32_t take;
		if (t->cur == NULL) {
			if (f->received >= f->length)
				return arca_error_set(ARCA_EPROTO, "bulk element (%04X,%04X): more data than its length",
						      PACS_TAG_GROUP(ev->tag), PACS_TAG_ELEMENT(ev->tag));
			t->cur_target = next_piece_size(t, b, f);
			t->cur_inline = f->length <= STORE_MANIFEST_INLINE_MAX;
			t->cur = malloc(t->cur_target);
			if (t->cur == NULL)
				return arca_error_set(ARCA_ENOMEM, "no memory for a chunk of %u bytes", t->cur_target);
			t->cur_len = 0;
		}
		take = t->cur_target - t->cur_len;
		if (take > left)
			take = (uint32_t)left;
		memcpy(t->cur + t->cur_len, data, take);
		t->cur_len += take;
		f->received += take;
		b->received += take;
		data += take;
		left -= take;
		if (t->cur_len == t->cur_target && (rc = piece_complete(t)) < 0)
			return rc;
	}
	return 0;
}

/* Loop thread: a piece of a bulk value, in stream order. */
static int cas_bulk_event(void *txn, const pacs_bulk_event *ev)
{
	cas_txn *t = txn;
	int put_rc;

	pthread_mutex_lock(&t->mu);
	put_rc = t->put_rc;
	pthread_mutex_unlock(&t->mu);
	if (put_rc < 0)
		return arca_error_set(put_rc, "%s", t->put_msg);
	switch (ev->kind) {
	case PACS_BULK_BEGIN:
		return on_begin(t, ev);
	case PACS_BULK_FRAGMENT:
		if (t->n_bulks == 0 || !t->bulks[t->n_bulks - 1].encapsulated || t->cur != NULL)
			return arca_error_set(ARCA_EINVAL, "bulk fragment outside an encapsulated element");
		return add_frag(t, ev->fragment_length);
	case PACS_BULK_DATA:
		if (t->n_bulks == 0)
			return arca_error_set(ARCA_EINVAL, "bulk data before its element");
		return on_data(t, ev);
	case PACS_BULK_END:
		if (t->n_bulks == 0)
			return arca_error_set(ARCA_EINVAL, "bulk end before its element");
		/* the reader delivers every byte of a value before its end */
		if (t->cur != NULL)
			return arca_error_set(ARCA_EPROTO, "bulk element (%04X,%04X) ended %u bytes into a piece",
					      PACS_TAG_GROUP(ev->tag), PACS_TAG_ELEMENT(ev->tag), t->cur_len);
		t->bulks[t->n_bulks - 1].ended = true;
		t->t_last_bulk = store_commit_now();
		return 0;
	}
	return 0;
}

static const pacs_ingest_ops cas_ops = {
	.begin = cas_begin,
	.bulk = cas_bulk_event,
	.commit = store_ingest_cas__commit,
	.abort = cas_abort,
};

void store_ingest_cas_ingest(store_ingest_cas *s, pacs_ingest *out)
{
	out->ops = &cas_ops;
	out->ctx = s;
}

void store_ingest_cas_set_batch_hook(store_ingest_cas *s, store_ingest_cas_batch_fn fn, void *ctx)
{
	s->hook = fn;
	s->hook_ctx = ctx;
}
