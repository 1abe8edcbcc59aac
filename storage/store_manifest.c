/* store_manifest.c - encoding, decoding and building of instance manifests
 * (store_manifest.h; the bytes are in docs/storage-format.md, "The
 * instance manifest"). */
#include "store_manifest.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_buf.h"
#include "pacs_cursor.h"
#include "pacs_ds.h"

#define MANIFEST_MAGIC "ARMF"
#define MANIFEST_FLAG_ENCAPSULATED 0x01u
#define PIECE_CHUNK 0u
#define PIECE_INLINE 1u

/* ------------------------------------------------------------ building */

int store_manifest_new(store_manifest **out)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for an instance manifest");
	return 0;
}

static void fragment_release(store_manifest_fragment *f)
{
	for (size_t i = 0; i < f->n_pieces; i++)
		free(f->pieces[i].data);
	free(f->pieces);
}

void store_manifest_free(store_manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_bulk; i++) {
		for (size_t j = 0; j < m->bulk[i].n_frags; j++)
			fragment_release(&m->bulk[i].frags[j]);
		free(m->bulk[i].frags);
	}
	free(m->bulk);
	free(m->metadata);
	free(m);
}

/* Makes room for one more element of size elem in *v (n used, *cap held). */
static int grow(void **v, size_t n, size_t *cap, size_t elem)
{
	size_t c = *cap != 0 ? *cap * 2 : 4;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*v, c * elem);
	if (p == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for an instance manifest");
	*v = p;
	*cap = c;
	return 0;
}

int store_manifest_add_bulk(store_manifest *m, store_manifest_bulk **out)
{
	int rc = grow((void **)&m->bulk, m->n_bulk, &m->cap_bulk, sizeof(*m->bulk));

	if (rc < 0)
		return rc;
	*out = &m->bulk[m->n_bulk++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

int store_manifest_add_fragment(store_manifest_bulk *b, store_manifest_fragment **out)
{
	int rc = grow((void **)&b->frags, b->n_frags, &b->cap_frags, sizeof(*b->frags));

	if (rc < 0)
		return rc;
	*out = &b->frags[b->n_frags++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

static int add_piece(store_manifest_fragment *f, uint32_t len, store_manifest_piece **out)
{
	int rc;

	if ((uint64_t)f->length + len > UINT32_MAX - 1)
		return arca_error_set(ARCA_ELIMIT, "manifest fragment longer than 4 GiB");
	rc = grow((void **)&f->pieces, f->n_pieces, &f->cap_pieces, sizeof(*f->pieces));
	if (rc < 0)
		return rc;
	*out = &f->pieces[f->n_pieces++];
	memset(*out, 0, sizeof(**out));
	(*out)->len = len;
	f->length += len;
	return 0;
}

int store_manifest_add_chunk(store_manifest_fragment *f, const uint8_t hash[STORE_CAS_HASH_LEN],
			     uint32_t len)
{
	store_manifest_piece *p;
	int rc;

	if (len == 0 || len > STORE_CAS_CHUNK_MAX)
		return arca_error_set(ARCA_EINVAL, "manifest chunk piece of %u bytes (1..%zu)", len,
				      STORE_CAS_CHUNK_MAX);
	if ((rc = add_piece(f, len, &p)) < 0)
		return rc;
	memcpy(p->hash, hash, STORE_CAS_HASH_LEN);
	return 0;
}

int store_manifest_add_inline(store_manifest_fragment *f, const uint8_t *data, uint32_t len)
{
	store_manifest_piece *p;
	uint8_t *copy = NULL;
	int rc;

	if (len > STORE_MANIFEST_INLINE_MAX)
		return arca_error_set(ARCA_EINVAL, "inline manifest piece of %u bytes (at most %u)", len,
				      STORE_MANIFEST_INLINE_MAX);
	if (len > 0) {
		copy = malloc(len);
		if (copy == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for an instance manifest");
		memcpy(copy, data, len);
	}
	if ((rc = add_piece(f, len, &p)) < 0) {
		free(copy);
		return rc;
	}
	p->is_inline = true;
	p->data = copy;
	return 0;
}

int store_manifest_set_metadata(store_manifest *m, const uint8_t *data, size_t len)
{
	uint8_t *copy;

	if (len > STORE_MANIFEST_METADATA_MAX)
		return arca_error_set(ARCA_ELIMIT, "metadata object of %zu bytes (at most %zu)", len,
				      STORE_MANIFEST_METADATA_MAX);
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a metadata object");
	if (len > 0)
		memcpy(copy, data, len);
	free(m->metadata);
	m->metadata = copy;
	m->metadata_len = len;
	return 0;
}

uint64_t store_manifest_bulk_bytes(const store_manifest_bulk *b)
{
	uint64_t n = 0;

	for (size_t i = 0; i < b->n_frags; i++)
		n += b->frags[i].length;
	return n;
}

/* ------------------------------------------------------------ checks */

static bool uid_ok(const char *s)
{
	size_t n = strnlen(s, STORE_MANIFEST_UID_MAX + 1);

	return n <= STORE_MANIFEST_UID_MAX;
}

/* The rules encode and decode share (docs/storage-format.md). */
static int check_bulk(const store_manifest_bulk *b, size_t index)
{
	if (b->depth > STORE_MANIFEST_MAX_DEPTH)
		return arca_error_set(ARCA_ELIMIT, "manifest bulk element %zu is %zu sequences deep (at most %d)",
				      index, b->depth, STORE_MANIFEST_MAX_DEPTH);
	if (b->encapsulated) {
		if (b->length != PACS_UNDEFINED_LENGTH || b->n_frags == 0)
			return arca_error_set(ARCA_EINVAL,
					      "manifest bulk element %zu (%04X,%04X): encapsulated value needs undefined length and a Basic Offset Table item",
					      index, PACS_TAG_GROUP(b->tag), PACS_TAG_ELEMENT(b->tag));
	} else if (b->n_frags != 1 || b->frags[0].length != b->length || b->length == PACS_UNDEFINED_LENGTH) {
		return arca_error_set(ARCA_EINVAL,
				      "manifest bulk element %zu (%04X,%04X): a native value is one run of its %u bytes",
				      index, PACS_TAG_GROUP(b->tag), PACS_TAG_ELEMENT(b->tag), b->length);
	}
	if (b->n_frags > STORE_MANIFEST_MAX_FRAGMENTS)
		return arca_error_set(ARCA_ELIMIT, "manifest bulk element %zu has %zu fragments", index, b->n_frags);
	for (size_t j = 0; j < b->n_frags; j++) {
		const store_manifest_fragment *f = &b->frags[j];
		uint64_t sum = 0;
		if (f->n_pieces > STORE_MANIFEST_MAX_PIECES)
			return arca_error_set(ARCA_ELIMIT, "manifest fragment has %zu pieces", f->n_pieces);
		for (size_t k = 0; k < f->n_pieces; k++)
			sum += f->pieces[k].len;
		if (sum != f->length)
			return arca_error_set(ARCA_EINVAL,
					      "manifest bulk element %zu fragment %zu: %u bytes but its pieces hold %llu",
					      index, j, f->length, (unsigned long long)sum);
	}
	return 0;
}

/* ------------------------------------------------------------ encoding */

static int put_u8(pacs_buf *b, uint8_t v)
{
	return pacs_buf_add_u8(b, v);
}

static int put_u16le(pacs_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	return pacs_buf_add(b, x, sizeof(x));
}

static int put_u32le(pacs_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	return pacs_buf_add(b, x, sizeof(x));
}

static int put_u64le(pacs_buf *b, uint64_t v)
{
	int rc = put_u32le(b, (uint32_t)v);
	return rc < 0 ? rc : put_u32le(b, (uint32_t)(v >> 32));
}

static int put_uid(pacs_buf *b, const char *s)
{
	size_t n = strlen(s);
	int rc = put_u8(b, (uint8_t)n);
	return rc < 0 ? rc : pacs_buf_add(b, s, n);
}

static int encode_bulk(pacs_buf *b, const store_manifest_bulk *k)
{
	const char *vr = pacs_vr_name(k->vr);
	int rc = 0;

	if (vr == NULL || strlen(vr) != 2)
		return arca_error_set(ARCA_EINVAL, "manifest bulk element (%04X,%04X) has no VR",
				      PACS_TAG_GROUP(k->tag), PACS_TAG_ELEMENT(k->tag));
	rc = put_u8(b, (uint8_t)k->depth);
	for (size_t i = 0; rc == 0 && i < k->depth; i++) {
		rc = put_u32le(b, k->path[i].tag);
		if (rc == 0)
			rc = put_u32le(b, k->path[i].item);
	}
	if (rc == 0)
		rc = put_u32le(b, k->tag);
	if (rc == 0)
		rc = pacs_buf_add(b, vr, 2);
	if (rc == 0)
		rc = put_u8(b, k->encapsulated ? MANIFEST_FLAG_ENCAPSULATED : 0);
	if (rc == 0)
		rc = put_u32le(b, k->length);
	if (rc == 0)
		rc = put_u32le(b, (uint32_t)k->n_frags);
	for (size_t j = 0; rc == 0 && j < k->n_frags; j++) {
		const store_manifest_fragment *f = &k->frags[j];
		rc = put_u32le(b, f->length);
		if (rc == 0)
			rc = put_u32le(b, (uint32_t)f->n_pieces);
		for (size_t p = 0; rc == 0 && p < f->n_pieces; p++) {
			const store_manifest_piece *pc = &f->pieces[p];
			rc = put_u8(b, pc->is_inline ? PIECE_INLINE : PIECE_CHUNK);
			if (rc == 0)
				rc = put_u32le(b, pc->len);
			if (rc == 0 && pc->is_inline && pc->len > 0)
				rc = pacs_buf_add(b, pc->data, pc->len);
			else if (rc == 0 && !pc->is_inline)
				rc = pacs_buf_add(b, pc->hash, STORE_CAS_HASH_LEN);
		}
	}
	return rc;
}

int store_manifest_encode(const store_manifest *m, uint8_t **out, size_t *out_len)
{
	pacs_buf b;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (!uid_ok(m->transfer_syntax) || !uid_ok(m->sop_class) || !uid_ok(m->sop_instance) ||
	    m->transfer_syntax[0] == '\0')
		return arca_error_set(ARCA_EINVAL, "manifest: a UID is empty or longer than 64 characters");
	if (m->metadata_len > STORE_MANIFEST_METADATA_MAX)
		return arca_error_set(ARCA_ELIMIT, "manifest: metadata object of %zu bytes", m->metadata_len);
	if (m->n_bulk > STORE_MANIFEST_MAX_BULK)
		return arca_error_set(ARCA_ELIMIT, "manifest: %zu bulk elements (at most %u)", m->n_bulk,
				      STORE_MANIFEST_MAX_BULK);
	for (size_t i = 0; i < m->n_bulk; i++)
		if ((rc = check_bulk(&m->bulk[i], i)) < 0)
			return rc;

	pacs_buf_init(&b, STORE_CAS_CHUNK_MAX);
	rc = pacs_buf_add(&b, MANIFEST_MAGIC, 4);
	if (rc == 0)
		rc = put_u8(&b, STORE_MANIFEST_VERSION);
	if (rc == 0)
		rc = put_u8(&b, 0);
	if (rc == 0)
		rc = put_u16le(&b, 0);
	if (rc == 0)
		rc = pacs_buf_add(&b, m->instance_hash, STORE_CAS_HASH_LEN);
	if (rc == 0)
		rc = put_u64le(&b, m->instance_length);
	if (rc == 0)
		rc = put_uid(&b, m->transfer_syntax);
	if (rc == 0)
		rc = put_uid(&b, m->sop_class);
	if (rc == 0)
		rc = put_uid(&b, m->sop_instance);
	if (rc == 0)
		rc = put_u32le(&b, (uint32_t)m->metadata_len);
	if (rc == 0 && m->metadata_len > 0)
		rc = pacs_buf_add(&b, m->metadata, m->metadata_len);
	if (rc == 0)
		rc = put_u32le(&b, (uint32_t)m->n_bulk);
	for (size_t i = 0; rc == 0 && i < m->n_bulk; i++)
		rc = encode_bulk(&b, &m->bulk[i]);
	if (rc == ARCA_ELIMIT)
		rc = arca_error_set(ARCA_ELIMIT, "manifest of %s is larger than a chunk (%zu bytes)",
				    m->sop_instance, STORE_CAS_CHUNK_MAX);
	if (rc < 0) {
		pacs_buf_free(&b);
		return rc;
	}
	/* hand the buffer over: pacs_buf's memory is plain malloc */
	*out_len = pacs_buf_len(&b);
	*out = malloc(*out_len);
	if (*out == NULL) {
		pacs_buf_free(&b);
		return arca_error_set(ARCA_ENOMEM, "no memory for an encoded manifest");
	}
	memcpy(*out, pacs_buf_data(&b), *out_len);
	pacs_buf_free(&b);
	return 0;
}

/* ------------------------------------------------------------ decoding */

typedef struct dec {
	pacs_cursor c;
	size_t total;
} dec;

static size_t dec_at(const dec *d)
{
	return d->total - pacs_cursor_left(&d->c);
}

static int dec_fail(const dec *d, const char *what)
{
	return arca_error_set(ARCA_EPROTO, "instance manifest: %s at byte %zu", what, dec_at(d));
}

static int dec_uid(dec *d, char out[STORE_MANIFEST_UID_MAX + 1], const char *what)
{
	const uint8_t *s;
	uint8_t n;

	if (!pacs_cursor_u8(&d->c, &n) || n > STORE_MANIFEST_UID_MAX || !pacs_cursor_take(&d->c, n, &s))
		return dec_fail(d, what);
	memcpy(out, s, n);
	out[n] = '\0';
	if (strlen(out) != n)
		return dec_fail(d, what);
	return 0;
}

/* A count of items of at least min_bytes each: never more than the bytes
 * left could hold, so a forged count cannot make us allocate. */
static int dec_count(dec *d, uint32_t max, size_t min_bytes, uint32_t *n, const char *what)
{
	if (!pacs_cursor_u32le(&d->c, n) || *n > max || (size_t)*n > pacs_cursor_left(&d->c) / min_bytes)
		return dec_fail(d, what);
	return 0;
}

static int dec_piece(dec *d, store_manifest_fragment *f)
{
	const uint8_t *p;
	uint8_t kind;
	uint32_t len;

	if (!pacs_cursor_u8(&d->c, &kind) || !pacs_cursor_u32le(&d->c, &len))
		return dec_fail(d, "truncated piece");
	if (kind == PIECE_CHUNK) {
		if (len == 0 || len > STORE_CAS_CHUNK_MAX || !pacs_cursor_take(&d->c, STORE_CAS_HASH_LEN, &p))
			return dec_fail(d, "bad chunk piece");
		return store_manifest_add_chunk(f, p, len);
	}
	if (kind != PIECE_INLINE || len > STORE_MANIFEST_INLINE_MAX || !pacs_cursor_take(&d->c, len, &p))
		return dec_fail(d, "bad inline piece");
	return store_manifest_add_inline(f, p, len);
}

static int dec_bulk(dec *d, store_manifest *m)
{
	store_manifest_bulk *b;
	uint8_t depth, flags;
	uint32_t n_frags;
	const uint8_t *vr;
	int rc;

	if ((rc = store_manifest_add_bulk(m, &b)) < 0)
		return rc;
	if (!pacs_cursor_u8(&d->c, &depth) || depth > STORE_MANIFEST_MAX_DEPTH)
		return dec_fail(d, "bad bulk element depth");
	b->depth = depth;
	for (size_t i = 0; i < depth; i++)
		if (!pacs_cursor_u32le(&d->c, &b->path[i].tag) || !pacs_cursor_u32le(&d->c, &b->path[i].item))
			return dec_fail(d, "truncated bulk element path");
	if (!pacs_cursor_u32le(&d->c, &b->tag) || !pacs_cursor_take(&d->c, 2, &vr) ||
	    !pacs_cursor_u8(&d->c, &flags) || !pacs_cursor_u32le(&d->c, &b->length))
		return dec_fail(d, "truncated bulk element");
	b->vr = pacs_vr_from_chars((char)vr[0], (char)vr[1]);
	if (b->vr == PACS_VR_NONE || (flags & ~MANIFEST_FLAG_ENCAPSULATED) != 0)
		return dec_fail(d, "bad bulk element VR or flags");
	b->encapsulated = (flags & MANIFEST_FLAG_ENCAPSULATED) != 0;
	/* a fragment is at least its length and piece count */
	if ((rc = dec_count(d, STORE_MANIFEST_MAX_FRAGMENTS, 8, &n_frags, "bad fragment count")) < 0)
		return rc;
	for (uint32_t j = 0; j < n_frags; j++) {
		store_manifest_fragment *f;
		uint32_t length, n_pieces;
		if (!pacs_cursor_u32le(&d->c, &length))
			return dec_fail(d, "truncated fragment");
		/* a piece is at least its kind and length */
		if ((rc = dec_count(d, STORE_MANIFEST_MAX_PIECES, 5, &n_pieces, "bad piece count")) < 0)
			return rc;
		if ((rc = store_manifest_add_fragment(b, &f)) < 0)
			return rc;
		for (uint32_t k = 0; k < n_pieces; k++)
			if ((rc = dec_piece(d, f)) < 0)
				return rc;
		if (f->length != length)
			return dec_fail(d, "fragment length is not the sum of its pieces");
	}
	return check_bulk(b, m->n_bulk - 1) < 0 ? dec_fail(d, "inconsistent bulk element") : 0;
}

int store_manifest_decode(store_manifest **out, const uint8_t *data, size_t len)
{
	store_manifest *m = NULL;
	dec d = { pacs_cursor_make(data, len), len };
	const uint8_t *p;
	uint8_t version, flags;
	uint16_t reserved;
	uint32_t lo, hi, meta_len, n_bulk;
	int rc;

	*out = NULL;
	if ((rc = store_manifest_new(&m)) < 0)
		return rc;
	if (!pacs_cursor_take(&d.c, 4, &p) || memcmp(p, MANIFEST_MAGIC, 4) != 0) {
		rc = dec_fail(&d, "not a manifest (magic)");
		goto fail;
	}
	if (!pacs_cursor_u8(&d.c, &version) || !pacs_cursor_u8(&d.c, &flags) ||
	    !pacs_cursor_u16le(&d.c, &reserved)) {
		rc = dec_fail(&d, "truncated header");
		goto fail;
	}
	if (version > STORE_MANIFEST_VERSION) {
		rc = arca_error_set(ARCA_EUNSUPPORTED, "instance manifest format %u is newer than this arca's (%d)",
				    version, STORE_MANIFEST_VERSION);
		goto fail;
	}
	if (version == 0 || flags != 0 || reserved != 0) {
		rc = dec_fail(&d, "bad version, flags or reserved field");
		goto fail;
	}
	if (!pacs_cursor_take(&d.c, STORE_CAS_HASH_LEN, &p) || !pacs_cursor_u32le(&d.c, &lo) ||
	    !pacs_cursor_u32le(&d.c, &hi)) {
		rc = dec_fail(&d, "truncated header");
		goto fail;
	}
	memcpy(m->instance_hash, p, STORE_CAS_HASH_LEN);
	m->instance_length = (uint64_t)hi << 32 | lo;
	if ((rc = dec_uid(&d, m->transfer_syntax, "bad transfer syntax")) < 0 ||
	    (rc = dec_uid(&d, m->sop_class, "bad SOP Class UID")) < 0 ||
	    (rc = dec_uid(&d, m->sop_instance, "bad SOP Instance UID")) < 0)
		goto fail;
	if (m->transfer_syntax[0] == '\0') {
		rc = dec_fail(&d, "empty transfer syntax");
		goto fail;
	}
	if (!pacs_cursor_u32le(&d.c, &meta_len) || meta_len > STORE_MANIFEST_METADATA_MAX ||
	    !pacs_cursor_take(&d.c, meta_len, &p)) {
		rc = dec_fail(&d, "bad metadata object length");
		goto fail;
	}
	if ((rc = store_manifest_set_metadata(m, p, meta_len)) < 0)
		goto fail;
	/* a bulk element is at least 20 bytes */
	if ((rc = dec_count(&d, STORE_MANIFEST_MAX_BULK, 20, &n_bulk, "bad bulk element count")) < 0)
		goto fail;
	for (uint32_t i = 0; i < n_bulk; i++)
		if ((rc = dec_bulk(&d, m)) < 0)
			goto fail;
	if (pacs_cursor_left(&d.c) != 0) {
		rc = dec_fail(&d, "trailing bytes");
		goto fail;
	}
	*out = m;
	return 0;
fail:
	store_manifest_free(m);
	return rc;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, STORE_CAS_HASH_LEN);
}

int store_manifest_chunks(const store_manifest *m, uint8_t (**out)[STORE_CAS_HASH_LEN], size_t *n)
{
	uint8_t (*v)[STORE_CAS_HASH_LEN] = NULL;
	size_t used = 0, cap = 0, uniq = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < m->n_bulk; i++) {
		const store_manifest_bulk *b = &m->bulk[i];
		for (size_t j = 0; j < b->n_frags; j++) {
			for (size_t k = 0; k < b->frags[j].n_pieces; k++) {
				const store_manifest_piece *p = &b->frags[j].pieces[k];
				if (p->is_inline)
					continue;
				if (grow((void **)&v, used, &cap, sizeof(*v)) < 0) {
					free(v);
					return ARCA_ENOMEM;
				}
				memcpy(v[used++], p->hash, STORE_CAS_HASH_LEN);
			}
		}
	}
	if (used > 1)
		qsort(v, used, sizeof(*v), hash_cmp);
	for (size_t i = 0; i < used; i++)
		if (uniq == 0 || memcmp(v[uniq - 1], v[i], STORE_CAS_HASH_LEN) != 0)
			memmove(v[uniq++], v[i], STORE_CAS_HASH_LEN);
	*out = v;
	*n = uniq;
	return 0;
}
