/* store_cas_codec.c - a chunk's body, both ways: the plain bytes encoded
 * into what a chunk file holds (byte planes, zstd frames, AES-256-GCM
 * seal, header with its checksum), and a checked file's body decoded back
 * (docs/storage-format.md section 2).  The file itself is written and read
 * in store_cas.c. */
#include "store_cas_priv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_cursor.h"

/* Level of the low-plane pass of the fast codec.  A strongly negative
 * zstd level skips ahead ever faster while it finds no match and codes no
 * literal with Huffman: on noisy CT low bytes it gives up at almost no
 * cost (+0.025 ms per 0.5 MB over not trying, and the plane is stored
 * raw), while runs of background or padding are still found (the real
 * samples: 0.45 of raw against 0.52 with the plane always raw).
 * docs/storage-format.md section 2 has the measurements. */
#define LOW_PLANE_LEVEL (-1000)

/* A frame is kept only if it saves at least 1/32 (~3%) of what it codes:
 * a chunk or a plane that hardly compresses reads faster raw. */
static size_t keep_cap(size_t len)
{
	size_t saving = len / 32 > 0 ? len / 32 : 1;

	return len > saving ? len - saving : 0;
}

static void put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The fast codec (flag 0x08) into out (room for cap bytes, cap < len):
 * *out_len is the body's size, or 0 when it would not fit in cap (the
 * chunk is then stored raw).  The low plane is split straight into its
 * place in out, so that a plane kept raw costs no copy. */
static int encode_split(store_cas *cas, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
			size_t *out_len)
{
	size_t half = len / 2, lo_len = 0, hi_len = 0, room;
	uint8_t *lo = out + STORE_CAS_SPLIT_PREFIX_LEN;
	/* the high plane, then the low plane's frame while it is tried */
	uint8_t *scratch;
	int rc;

	*out_len = 0;
	if (cap < STORE_CAS_SPLIT_PREFIX_LEN + half)
		return 0; /* never for the >= 8 KiB chunks this is used on */
	scratch = malloc(len);
	if (scratch == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a %zu-byte chunk", len);
	store_cas__planes_split(data, half, lo, scratch);
	rc = store_cas__zstd_compress_at(cas->zstd, LOW_PLANE_LEVEL, lo, half, scratch + half,
					 keep_cap(half), &lo_len);
	if (rc < 0)
		goto done;
	if (lo_len > 0)
		memcpy(lo, scratch + half, lo_len);
	else
		lo_len = half;
	room = cap - STORE_CAS_SPLIT_PREFIX_LEN - lo_len;
	rc = store_cas__zstd_compress(cas->zstd, scratch, half, lo + lo_len,
				      keep_cap(half) < room ? keep_cap(half) : room, &hi_len);
	if (rc < 0)
		goto done;
	if (hi_len == 0) {
		if (half > room)
			goto done; /* neither plane pays: raw chunk */
		memcpy(lo + lo_len, scratch, half);
		hi_len = half;
	}
	put_u32le(out, (uint32_t)lo_len);
	*out_len = STORE_CAS_SPLIT_PREFIX_LEN + lo_len + hi_len;
done:
	free(scratch);
	return rc;
}

/* One zstd frame of the chunk, as two byte planes when it looks like
 * 16-bit samples (flags 0x01, 0x01|0x04): *out_len 0 when it would not
 * fit in cap. */
static int encode_frame(store_cas *cas, const uint8_t *data, size_t len, bool planes16,
			uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t *planes = NULL;
	int rc;

	if (planes16) {
		planes = malloc(len);
		if (planes == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory for a %zu-byte chunk", len);
		store_cas__planes_split(data, len / 2, planes, planes + len / 2);
	}
	rc = store_cas__zstd_compress(cas->zstd, planes != NULL ? planes : data, len, out, cap,
				      out_len);
	free(planes);
	return rc;
}

int store_cas__encode(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const uint8_t *data,
		      size_t len, store_cas_encoded *e)
{
	store_cas_header h = { 0, len, len, 0 };
	size_t cap = keep_cap(len);
	size_t zlen = 0;
	/* 16-bit samples as two byte planes: on CT and MR both planes in one
	 * frame are 20% smaller and zstd faster; apart, the high plane alone
	 * gives most of the saving for a quarter of the CPU (section 2). */
	bool planes16 = cap > 0 && store_cas__looks_like_samples16(data, len);
	bool split = planes16 && cas->opts.codec == STORE_CAS_CODEC_FAST;
	int rc;

	memset(e, 0, sizeof(*e));
	e->sealed = cas->opts.encrypt;
	/* One buffer serves the body, or the sealed copy of a raw chunk. */
	if (cap > 0 || e->sealed) {
		e->own = malloc(len > 0 ? len : 1);
		if (e->own == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory for a %zu-byte chunk", len);
	}
	if (split)
		rc = encode_split(cas, data, len, e->own, cap, &zlen);
	else if (cap > 0)
		rc = encode_frame(cas, data, len, planes16, e->own, cap, &zlen);
	else
		rc = 0;
	if (rc < 0)
		return rc;
	if (zlen > 0) {
		h.flags |= split ? STORE_CAS_FLAG_SPLIT
				 : STORE_CAS_FLAG_ZSTD | (planes16 ? STORE_CAS_FLAG_PLANES16 : 0);
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
		/* In place over the body, or from the caller's data into own. */
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

/* A split-planes body (flag 0x08) of h.stored_len bytes at body into
 * plain (h.plain_len bytes).  Every length comes from the file: each is
 * checked against the header before it is used. */
static int decode_split(store_cas *cas, const store_cas_header *h, const uint8_t *body,
			const char *path, uint8_t *plain)
{
	pacs_cursor c = pacs_cursor_make(body, (size_t)h->stored_len);
	size_t half = (size_t)h->plain_len / 2;
	const uint8_t *lo_part, *hi_part, *lo, *hi;
	uint32_t lo_len;
	size_t hi_len;
	uint8_t *scratch = NULL;
	int rc = 0;

	if (!pacs_cursor_u32le(&c, &lo_len))
		return arca_error_set(ARCA_EPROTO, "chunk file %s: split planes body too short", path);
	if (lo_len == 0 || lo_len > half || !pacs_cursor_take(&c, lo_len, &lo_part))
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: low-plane part of %" PRIu32 " bytes does not fit the "
				      "%zu-byte plane and the %llu-byte body", path, lo_len, half,
				      (unsigned long long)h->stored_len);
	hi_len = pacs_cursor_left(&c);
	if (hi_len == 0 || hi_len > half || !pacs_cursor_take(&c, hi_len, &hi_part))
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: high-plane part of %zu bytes where the plane "
				      "has %zu", path, hi_len, half);
	/* A part of exactly the plane's size is the plane, read where it is;
	 * shorter, a frame, decoded into scratch (a plane for each). */
	size_t frames = (lo_len < half) + (hi_len < half);
	scratch = malloc(frames * half);
	if (scratch == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for chunk %s", path);
	lo = lo_part;
	hi = hi_part;
	if (lo_len < half) {
		rc = store_cas__zstd_decompress_part(cas->zstd, lo_part, lo_len, scratch, half, path,
						     "low-plane frame");
		lo = scratch;
	}
	if (rc == 0 && hi_len < half) {
		uint8_t *dst = scratch + (frames - 1) * half;
		rc = store_cas__zstd_decompress_part(cas->zstd, hi_part, hi_len, dst, half, path,
						     "high-plane frame");
		hi = dst;
	}
	if (rc == 0)
		store_cas__planes_join(lo, hi, half, plain);
	free(scratch);
	return rc;
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
	if ((h.flags & STORE_CAS_FLAGS_COMPRESSED) == 0) {
		memmove(buf, body, h.plain_len);
		*plain_out = buf;
		return 0;
	}
	plain = malloc(h.plain_len > 0 ? h.plain_len : 1);
	if (plain == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for chunk %s", path);
	if (h.flags & STORE_CAS_FLAG_SPLIT) {
		rc = decode_split(cas, &h, body, path, plain);
		if (rc < 0) {
			free(plain);
			return rc;
		}
		*plain_out = plain;
		return 0;
	}
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
		store_cas__planes_join(plain, plain + h.plain_len / 2, h.plain_len / 2, joined);
		free(plain);
		plain = joined;
	}
	*plain_out = plain;
	return 0;
}
