/* store_cas_codec.c - a chunk's body, both ways: the plain bytes encoded
 * into what a chunk file holds (byte planes, zstd frame, AES-256-GCM seal,
 * header with its checksum), and a checked file's body decoded back
 * (docs/storage-format.md).  The file itself is written and read in
 * store_cas.c. */
#include "store_cas_priv.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

int store_cas__encode(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const uint8_t *data,
		      size_t len, store_cas_encoded *e)
{
	store_cas_header h = { 0, len, len, 0 };
	/* Keep the frame only if it saves at least 1/32 (~3%): a chunk that
	 * hardly compresses reads faster raw. */
	size_t saving = len / 32 > 0 ? len / 32 : 1;
	size_t cap = len > saving ? len - saving : 0;
	size_t zlen = 0;
	int rc;

	uint8_t *planes = NULL;

	memset(e, 0, sizeof(*e));
	e->sealed = cas->opts.encrypt;
	/* One buffer serves the frame, or the sealed copy of a raw chunk. */
	if (cap > 0 || e->sealed) {
		e->own = malloc(len > 0 ? len : 1);
		if (e->own == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory for a %zu-byte chunk", len);
	}
	/* 16-bit samples as two byte planes: on CT and MR the frame is 20%
	 * smaller and zstd faster (docs/storage-format.md section 8).  The
	 * split costs one pass over the chunk. */
	if (cap > 0 && store_cas__looks_like_samples16(data, len)) {
		planes = malloc(len);
		if (planes != NULL)
			store_cas__planes_split(data, len, planes);
	}
	if (cap > 0) {
		rc = store_cas__zstd_compress(cas->zstd, planes != NULL ? planes : data, len, e->own, cap,
					      &zlen);
		free(planes);
		if (rc < 0)
			return rc;
	}
	if (zlen > 0) {
		h.flags |= STORE_CAS_FLAG_ZSTD;
		if (planes != NULL)
			h.flags |= STORE_CAS_FLAG_PLANES16;
		h.stored_len = zlen;
		e->body = e->own;
		e->body_len = zlen;
	} else {
		e->body = data;
		e->body_len = len;
	}
	if (e->sealed)
		h.flags |= STORE_CAS_FLAG_AES256GCM;
	store_cas__header_encode(&h, e->header);
	if (e->sealed) {
		/* In place over the frame, or from the caller's data into own. */
		rc = store_cas__seal(cas->crypt, hash, e->header, e->body, e->body_len, e->own,
				     e->tag);
		if (rc < 0)
			return rc;
		e->body = e->own;
	}
	/* Last: the checksum covers the final bytes, the tag included. */
	h.crc = store_cas__checksum(e->header, e->body, e->body_len, e->tag,
				    e->sealed ? STORE_CAS_TAG_LEN : 0);
	store_cas__header_encode(&h, e->header);
	return 0;
}

int store_cas__decode(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const store_cas_header *hdr,
		      uint8_t *buf, size_t size, const char *path, uint8_t **plain_out)
{
	const store_cas_header h = *hdr;
	uint8_t *body = buf + STORE_CAS_HEADER_LEN;
	uint8_t *plain = NULL;
	int rc = 0;

	*plain_out = NULL;
	if (h.flags & STORE_CAS_FLAG_AES256GCM) {
		rc = store_cas__unseal(cas->crypt, hash, buf, body, h.stored_len,
				       body + h.stored_len, path);
		if (rc < 0)
			return rc;
	}
	if ((h.flags & STORE_CAS_FLAG_ZSTD) == 0) {
		memmove(buf, body, h.plain_len);
		*plain_out = buf;
		return 0;
	}
	plain = malloc(h.plain_len > 0 ? h.plain_len : 1);
	if (plain == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for chunk %s", path);
	rc = store_cas__zstd_decompress(cas->zstd, body, h.stored_len, plain, h.plain_len, path);
	if (rc < 0) {
		free(plain);
		return rc;
	}
	if (h.flags & STORE_CAS_FLAG_PLANES16) {
		/* the frame's buffer is free now: join into it when it fits */
		uint8_t *joined = h.plain_len <= size ? buf : malloc(h.plain_len);
		if (joined == NULL) {
			free(plain);
			return arca_error_set(ARCA_ENOMEM, "out of memory for chunk %s", path);
		}
		store_cas__planes_join(plain, h.plain_len, joined);
		free(plain);
		plain = joined;
	}
	*plain_out = plain;
	return 0;
}
