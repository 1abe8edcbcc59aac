/* store_instance.c - rebuilding an instance from its manifest, and the
 * study hash (store_instance.h). */
#include "store_instance.h"
#include "store_study_tree.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "pacs_ts.h"

#define TAG_FMT "(%04X,%04X)"
#define TAG_ARGS(t) PACS_TAG_GROUP(t), PACS_TAG_ELEMENT(t)

/* ------------------------------------------------------------ the data set */

/* The data set holding bulk element b (the last step's item), or NULL with
 * the error set. */
static pacs_ds *walk_mut(pacs_ds *root, const store_manifest_bulk *b, size_t index)
{
	pacs_ds *cur = root;

	for (size_t i = 0; i < b->depth; i++) {
		pacs_elem *seq = pacs_ds_find_mut(cur, b->path[i].tag);
		if (seq == NULL || !pacs_elem_is_sequence(seq) || b->path[i].item >= pacs_elem_item_count(seq)) {
			arca_error_set(ARCA_EPROTO,
				       "manifest bulk element %zu: no item %u of sequence " TAG_FMT " in the metadata object",
				       index, b->path[i].item, TAG_ARGS(b->path[i].tag));
			return NULL;
		}
		cur = pacs_elem_item_mut(seq, b->path[i].item);
	}
	return cur;
}

static const pacs_ds *walk(const pacs_ds *root, const store_manifest_bulk *b)
{
	const pacs_ds *cur = root;

	for (size_t i = 0; i < b->depth && cur != NULL; i++) {
		const pacs_elem *seq = pacs_ds_find(cur, b->path[i].tag);
		if (seq == NULL || !pacs_elem_is_sequence(seq) || b->path[i].item >= pacs_elem_item_count(seq))
			return NULL;
		cur = pacs_elem_item(seq, b->path[i].item);
	}
	return cur;
}

int store_instance_dataset(pacs_ds **out, const store_manifest *m)
{
	pacs_read_opts ro;
	pacs_ds *ds = NULL;
	int rc;

	*out = NULL;
	pacs_read_opts_init(&ro);
	ro.input = PACS_INPUT_PART10;
	rc = pacs_read_buffer(&ds, m->metadata, m->metadata_len, &ro);
	if (rc < 0)
		return arca_error_prefix(rc, "metadata object of %s", m->sop_instance);
	for (size_t i = 0; i < m->n_bulk; i++) {
		const store_manifest_bulk *b = &m->bulk[i];
		pacs_ds *holder = walk_mut(ds, b, i);
		const pacs_elem *e;
		unsigned flags = b->encapsulated ? PACS_ELEM_ENCAPSULATED | PACS_ELEM_UNDEF_LENGTH : 0;

		if (holder == NULL) {
			rc = ARCA_EPROTO;
			goto fail;
		}
		e = pacs_ds_find(holder, b->tag);
		if (e == NULL || pacs_elem_length(e) != 0 || pacs_elem_is_sequence(e) || pacs_elem_vr(e) != b->vr) {
			rc = arca_error_set(ARCA_EPROTO,
					    "manifest bulk element %zu " TAG_FMT ": no empty placeholder of VR %s in the metadata object of %s",
					    i, TAG_ARGS(b->tag), pacs_vr_name(b->vr), m->sop_instance);
			goto fail;
		}
		if ((rc = pacs_ds_set_bulk(holder, b->tag, b->vr, b->length, flags)) < 0)
			goto fail;
	}
	if ((rc = pacs_ds_set_source_ts(ds, m->transfer_syntax)) < 0)
		goto fail;
	*out = ds;
	return 0;
fail:
	pacs_ds_free(ds);
	return rc;
}

/* ------------------------------------------------------------ writing */

typedef struct write_state {
	const store_manifest *m;
	const pacs_elem **elems; /* elems[i]: bulk element i of m in the data set */
	size_t next;             /* the writer visits them in order: where to look first */
	store_instance_chunk_fn chunk_fn;
	void *chunk_ctx;
	pacs_sink_fn sink;
	void *sink_ctx;
	EVP_MD_CTX *sha;
	uint64_t written;
} write_state;

static const store_manifest_bulk *bulk_of(write_state *st, const pacs_elem *e)
{
	if (st->next < st->m->n_bulk && st->elems[st->next] == e)
		return &st->m->bulk[st->next++];
	for (size_t i = 0; i < st->m->n_bulk; i++) {
		if (st->elems[i] == e) {
			st->next = i + 1;
			return &st->m->bulk[i];
		}
	}
	arca_error_set(ARCA_EPROTO, "bulk element " TAG_FMT " is not in the manifest of %s", TAG_ARGS(pacs_elem_tag(e)),
		       st->m->sop_instance);
	return NULL;
}

static int emit_fragment(write_state *st, pacs_write_ctx *w, const store_manifest_fragment *f)
{
	int rc = 0;

	for (size_t k = 0; k < f->n_pieces && rc == 0; k++) {
		const store_manifest_piece *p = &f->pieces[k];
		if (p->is_inline)
			rc = p->len > 0 ? pacs_write_bytes(w, p->data, p->len) : 0;
		else
			rc = st->chunk_fn(st->chunk_ctx, p->hash, p->len, w);
	}
	return rc;
}

static int bulk_source(void *ctx, pacs_write_ctx *w, const pacs_ds *parent, const pacs_elem *e)
{
	write_state *st = ctx;
	const store_manifest_bulk *b = bulk_of(st, e);
	int rc = 0;

	(void)parent;
	if (b == NULL)
		return ARCA_EPROTO;
	if (!b->encapsulated)
		return emit_fragment(st, w, &b->frags[0]);
	for (size_t j = 0; j < b->n_frags && rc == 0; j++) {
		rc = pacs_write_fragment(w, NULL, b->frags[j].length);
		if (rc == 0)
			rc = emit_fragment(st, w, &b->frags[j]);
	}
	return rc;
}

/* PS3.5 A.4: each fragment is an item (8-byte header), then the sequence
 * delimitation item. */
static int bulk_size(void *ctx, const pacs_ds *parent, const pacs_elem *e, uint64_t *size)
{
	write_state *st = ctx;
	const store_manifest_bulk *b = NULL;

	(void)parent;
	for (size_t i = 0; i < st->m->n_bulk && b == NULL; i++)
		if (st->elems[i] == e)
			b = &st->m->bulk[i];
	if (b == NULL)
		return arca_error_set(ARCA_EPROTO, "bulk element " TAG_FMT " is not in the manifest of %s",
				      TAG_ARGS(pacs_elem_tag(e)), st->m->sop_instance);
	*size = 8;
	for (size_t j = 0; j < b->n_frags; j++)
		*size += 8 + (uint64_t)b->frags[j].length;
	return 0;
}

static int hashing_sink(void *ctx, const uint8_t *data, size_t len)
{
	write_state *st = ctx;

	if (EVP_DigestUpdate(st->sha, data, len) != 1)
		return arca_error_set(ARCA_ECRYPTO, "SHA-256 of the instance stream failed");
	st->written += len;
	return st->sink != NULL ? st->sink(st->sink_ctx, data, len) : 0;
}

/* st for writing ds (from store_instance_dataset for m): each bulk
 * element of the manifest found in ds. */
static int write_state_init(write_state *st, const pacs_ds *ds, const store_manifest *m,
			    store_instance_chunk_fn chunk_fn, void *chunk_ctx, pacs_sink_fn sink, void *sink_ctx)
{
	memset(st, 0, sizeof(*st));
	st->m = m;
	st->chunk_fn = chunk_fn;
	st->chunk_ctx = chunk_ctx;
	st->sink = sink;
	st->sink_ctx = sink_ctx;
	if (m->n_bulk > 0) {
		st->elems = calloc(m->n_bulk, sizeof(*st->elems));
		if (st->elems == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory to rebuild %s", m->sop_instance);
	}
	for (size_t i = 0; i < m->n_bulk; i++) {
		const pacs_ds *holder = walk(ds, &m->bulk[i]);
		st->elems[i] = holder != NULL ? pacs_ds_find(holder, m->bulk[i].tag) : NULL;
		if (st->elems[i] == NULL || (pacs_elem_flags(st->elems[i]) & PACS_ELEM_BULK) == 0) {
			free(st->elems);
			st->elems = NULL;
			return arca_error_set(ARCA_EPROTO,
					      "manifest bulk element %zu " TAG_FMT " is not a bulk element of the data set of %s",
					      i, TAG_ARGS(m->bulk[i].tag), m->sop_instance);
		}
	}
	return 0;
}

int store_instance_write_ds(const pacs_ds *ds, const store_manifest *m, store_instance_chunk_fn chunk_fn,
			    void *chunk_ctx, pacs_sink_fn sink, void *sink_ctx,
			    uint8_t out_hash[STORE_CAS_HASH_LEN], uint64_t *out_len)
{
	write_state st;
	pacs_write_opts wo;
	unsigned int hlen = 0;
	uint8_t digest[EVP_MAX_MD_SIZE];
	int rc = 0;

	if ((rc = write_state_init(&st, ds, m, chunk_fn, chunk_ctx, sink, sink_ctx)) < 0)
		return rc;
	st.sha = EVP_MD_CTX_new();
	if (st.sha == NULL || EVP_DigestInit_ex(st.sha, EVP_sha256(), NULL) != 1) {
		rc = arca_error_set(ARCA_ECRYPTO, "cannot start SHA-256");
		goto out;
	}
	pacs_write_opts_init(&wo);
	wo.ts_uid = m->transfer_syntax;
	wo.bulk_fn = bulk_source;
	wo.bulk_size_fn = bulk_size;
	wo.bulk_ctx = &st;
	rc = pacs_write_part10(ds, &wo, hashing_sink, &st);
	if (rc < 0)
		goto out;
	if (EVP_DigestFinal_ex(st.sha, digest, &hlen) != 1 || hlen != STORE_CAS_HASH_LEN) {
		rc = arca_error_set(ARCA_ECRYPTO, "SHA-256 of the instance stream failed");
		goto out;
	}
	if (out_hash != NULL)
		memcpy(out_hash, digest, STORE_CAS_HASH_LEN);
	if (out_len != NULL)
		*out_len = st.written;
out:
	EVP_MD_CTX_free(st.sha);
	free(st.elems);
	return rc;
}

/* ------------------------------------------------------------ from the store */

static int cas_chunk(void *ctx, const uint8_t hash[STORE_CAS_HASH_LEN], uint32_t len, pacs_write_ctx *w)
{
	store_cas *cas = ctx;
	uint8_t *data = NULL;
	size_t got = 0;
	char hex[STORE_CAS_HEX_LEN + 1];
	int rc;

	rc = store_cas_get(cas, hash, &data, &got); /* re-checks the SHA-256 */
	if (rc < 0)
		return rc;
	if (got != len) {
		store_cas_hash_to_hex(hash, hex);
		free(data);
		return arca_error_set(ARCA_EPROTO, "chunk %s holds %zu bytes, the manifest says %u", hex, got, len);
	}
	rc = pacs_write_bytes(w, data, got);
	free(data);
	return rc;
}

int store_instance_manifest(store_cas *cas, const uint8_t address[STORE_CAS_HASH_LEN], store_manifest **out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char hex[STORE_CAS_HEX_LEN + 1];
	int rc;

	*out = NULL;
	rc = store_cas_get(cas, address, &data, &len);
	if (rc < 0)
		return rc;
	rc = store_manifest_decode(out, data, len);
	free(data);
	if (rc < 0) {
		store_cas_hash_to_hex(address, hex);
		return arca_error_prefix(rc, "manifest %s", hex);
	}
	return 0;
}

int store_instance_write(store_cas *cas, const uint8_t address[STORE_CAS_HASH_LEN], pacs_sink_fn sink,
			 void *sink_ctx, uint8_t out_instance_hash[STORE_CAS_HASH_LEN])
{
	store_manifest *m = NULL;
	pacs_ds *ds = NULL;
	uint8_t hash[STORE_CAS_HASH_LEN];
	uint64_t len = 0;
	int rc;

	if ((rc = store_instance_manifest(cas, address, &m)) < 0)
		return rc;
	if ((rc = store_instance_dataset(&ds, m)) < 0)
		goto out;
	if ((rc = store_instance_write_ds(ds, m, cas_chunk, cas, sink, sink_ctx, hash, &len)) < 0) {
		arca_error_prefix(rc, "rebuilding %s", m->sop_instance);
		goto out;
	}
	if (len != m->instance_length || memcmp(hash, m->instance_hash, STORE_CAS_HASH_LEN) != 0) {
		rc = arca_error_set(ARCA_ECRYPTO,
				    "instance %s rebuilt as %llu bytes whose SHA-256 is not the manifest's instance hash (%llu bytes)",
				    m->sop_instance, (unsigned long long)len, (unsigned long long)m->instance_length);
		goto out;
	}
	if (out_instance_hash != NULL)
		memcpy(out_instance_hash, hash, STORE_CAS_HASH_LEN);
out:
	pacs_ds_free(ds);
	store_manifest_free(m);
	return rc;
}

/* Whether the writer alone turns the manifest's data set into ts: the
 * stored syntax itself, or from a native syntax to another native one
 * (PS3.5 A.1-A.3, A.5: only headers, byte order or deflate change; the
 * bulk values go through pacs_write_bytes, swapped for big endian). */
static bool writer_converts(const char *stored, const char *ts)
{
	if (strcmp(stored, ts) == 0)
		return true;
	return pacs_ts_lookup(stored) != NULL && pacs_ts_lookup(ts) != NULL && !pacs_ts_is_encapsulated(stored) &&
	       !pacs_ts_is_encapsulated(ts);
}

int store_instance_send(store_cas *cas, const uint8_t address[STORE_CAS_HASH_LEN], const char *ts,
			pacs_sink_fn sink, void *sink_ctx)
{
	store_manifest *m = NULL;
	pacs_ds *ds = NULL;
	write_state st;
	pacs_write_opts wo;
	int rc;

	memset(&st, 0, sizeof(st));
	if ((rc = store_instance_manifest(cas, address, &m)) < 0)
		return rc;
	if (ts != NULL && !writer_converts(m->transfer_syntax, ts)) {
		rc = arca_error_set(ARCA_EUNSUPPORTED, "instance %s: %s to %s needs the pixel data converted",
				    m->sop_instance, m->transfer_syntax, ts);
		goto out;
	}
	if ((rc = store_instance_dataset(&ds, m)) < 0)
		goto out;
	if ((rc = write_state_init(&st, ds, m, cas_chunk, cas, sink, sink_ctx)) < 0)
		goto out;
	pacs_write_opts_init(&wo);
	wo.ts_uid = ts != NULL ? ts : m->transfer_syntax;
	wo.bulk_fn = bulk_source;
	wo.bulk_size_fn = bulk_size;
	wo.bulk_ctx = &st;
	/* the bulk values go straight from each checked chunk to sink */
	if ((rc = pacs_write_dataset(ds, &wo, sink, sink_ctx)) < 0)
		arca_error_prefix(rc, "sending %s", m->sop_instance);
out:
	free(st.elems);
	pacs_ds_free(ds);
	store_manifest_free(m);
	return rc;
}

typedef struct mem_sink {
	uint8_t *data;
	size_t len, cap;
} mem_sink;

static int to_memory(void *ctx, const uint8_t *data, size_t len)
{
	mem_sink *ms = ctx;

	if (len > ms->cap - ms->len) {
		size_t cap = ms->cap != 0 ? ms->cap : 64 * 1024;
		uint8_t *p;
		while (len > cap - ms->len)
			cap *= 2;
		p = realloc(ms->data, cap);
		if (p == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for a rebuilt instance");
		ms->data = p;
		ms->cap = cap;
	}
	memcpy(ms->data + ms->len, data, len);
	ms->len += len;
	return 0;
}

int store_instance_read(store_cas *cas, const uint8_t address[STORE_CAS_HASH_LEN], uint8_t **out,
			size_t *out_len)
{
	mem_sink ms = { NULL, 0, 0 };
	int rc = store_instance_write(cas, address, to_memory, &ms, NULL);

	*out = NULL;
	*out_len = 0;
	if (rc < 0) {
		free(ms.data);
		return rc;
	}
	*out = ms.data;
	*out_len = ms.len;
	return 0;
}

/* ------------------------------------------------------------ study hash */

static int ref_cmp(const void *a, const void *b)
{
	const store_instance_ref *x = a, *y = b;

	return strcmp(x->sop_instance_uid, y->sop_instance_uid);
}

int store_instance_study_hash(const store_instance_ref *refs, size_t n, uint8_t out[STORE_CAS_HASH_LEN])
{
	store_instance_ref *sorted = NULL;
	store_study_tree *tree = NULL;
	int rc;

	if ((rc = store_study_tree_new(&tree)) < 0)
		return rc;
	if (n > 0 && (sorted = malloc(n * sizeof(*sorted))) == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "no memory for a study hash of %zu instances", n);
		goto out;
	}
	if (n > 0) {
		memcpy(sorted, refs, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), ref_cmp);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i > 0 && strcmp(sorted[i - 1].sop_instance_uid, sorted[i].sop_instance_uid) == 0) {
			rc = arca_error_set(ARCA_EINVAL, "study hash: SOP Instance UID %s listed twice",
					    sorted[i].sop_instance_uid);
			break;
		}
		rc = store_study_tree_add(tree, sorted[i].hash);
	}
	if (rc == 0)
		rc = store_study_tree_root(tree, out, NULL);
out:
	free(sorted);
	store_study_tree_free(tree);
	return rc;
}
