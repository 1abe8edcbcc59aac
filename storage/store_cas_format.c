/* store_cas_format.c - the chunk file header (docs/storage-format.md):
 *
 *   0  4  magic "ARCH"
 *   4  1  version (1)
 *   5  1  flags: 0x01 body is a zstd frame, 0x02 body is AES-256-GCM sealed,
 *           0x04 (with 0x01) the frame holds the two byte planes,
 *           0x08 (without 0x01/0x04) the body holds the two byte planes
 *           apart: u32le low-part length, low part, high part, each part
 *           the plane raw or its own zstd frame
 *   6  2  reserved, zero
 *   8  8  plain length, little endian
 *  16  8  stored (body) length, little endian
 *  24  4  CRC-32 (zlib's, ISO-HDLC) of the whole file, these 4 bytes skipped
 *  28  4  reserved, zero
 *  32     body, then the 16-byte GCM tag when sealed
 *
 * Every field is checked against the others and against the file size
 * before anything is allocated, so a damaged header fails here, not in an
 * allocation of a nonsense size.  The CRC catches a changed byte anywhere,
 * also where the SHA-256 of the content cannot: a zstd frame has slack
 * bits whose flip decodes to the same bytes, and a changed file is a
 * warning about the medium even when the content survived. */
#include "store_cas_priv.h"

#include <inttypes.h>
#include <string.h>
#include <zlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "arca_err.h"
#include "pacs_cursor.h"

static void put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void store_cas__header_encode(const store_cas_header *h, uint8_t out[STORE_CAS_HEADER_LEN])
{
	memcpy(out, STORE_CAS_MAGIC, 4);
	out[4] = STORE_CAS_VERSION;
	out[5] = h->flags;
	out[6] = 0;
	out[7] = 0;
	put_u64le(out + 8, h->plain_len);
	put_u64le(out + 16, h->stored_len);
	for (int i = 0; i < 4; i++)
		out[24 + i] = (uint8_t)(h->crc >> (8 * i));
	memset(out + 28, 0, 4);
}

static uint32_t crc_more(uint32_t crc, const uint8_t *p, size_t n)
{
	return n > 0 ? (uint32_t)crc32_z(crc, p, n) : crc;
}

uint32_t store_cas__checksum(const uint8_t header[STORE_CAS_HEADER_LEN], const uint8_t *body,
			     size_t body_len, const uint8_t *tag, size_t tag_len)
{
	uint32_t crc = (uint32_t)crc32_z(0, NULL, 0);

	crc = crc_more(crc, header, 24);
	crc = crc_more(crc, header + 28, STORE_CAS_HEADER_LEN - 28);
	crc = crc_more(crc, body, body_len);
	return crc_more(crc, tag, tag_len);
}

static bool cursor_u64le(pacs_cursor *c, uint64_t *v)
{
	uint32_t lo, hi;

	if (!pacs_cursor_u32le(c, &lo) || !pacs_cursor_u32le(c, &hi))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

int store_cas__header_decode(const uint8_t *buf, size_t len, uint64_t file_size,
			     const char *path, store_cas_header *out)
{
	pacs_cursor c = pacs_cursor_make(buf, len);
	const uint8_t *magic;
	uint8_t version, flags;
	uint16_t reserved;
	uint32_t crc, reserved2;
	uint64_t plain_len, stored_len, want;

	if (!pacs_cursor_take(&c, 4, &magic) || !pacs_cursor_u8(&c, &version) ||
	    !pacs_cursor_u8(&c, &flags) || !pacs_cursor_u16le(&c, &reserved) ||
	    !cursor_u64le(&c, &plain_len) || !cursor_u64le(&c, &stored_len) ||
	    !pacs_cursor_u32le(&c, &crc) || !pacs_cursor_u32le(&c, &reserved2))
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: truncated, %" PRIu64 " bytes is shorter than "
				      "the %d-byte header", path, file_size, STORE_CAS_HEADER_LEN);
	if (memcmp(magic, STORE_CAS_MAGIC, 4) != 0)
		return arca_error_set(ARCA_EPROTO, "chunk file %s: bad magic, not an arca chunk",
				      path);
	if (version != STORE_CAS_VERSION)
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: format version %u, this build reads %u",
				      path, version, STORE_CAS_VERSION);
	if ((flags & ~STORE_CAS_FLAGS_KNOWN) != 0 || reserved != 0 || reserved2 != 0)
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: unknown flags 0x%02x or reserved bits set",
				      path, flags);
	if (plain_len > STORE_CAS_CHUNK_MAX)
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: plain length %" PRIu64 " exceeds the cap %zu",
				      path, plain_len, STORE_CAS_CHUNK_MAX);
	if ((flags & STORE_CAS_FLAG_SPLIT) != 0 &&
	    (flags & (STORE_CAS_FLAG_ZSTD | STORE_CAS_FLAG_PLANES16)) != 0)
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: flags 0x%02x combine split planes (0x08) with the "
				      "one-frame flags (0x01, 0x04)", path, flags);
	if ((flags & STORE_CAS_FLAG_PLANES16) != 0 &&
	    ((flags & STORE_CAS_FLAG_ZSTD) == 0 || plain_len % 2 != 0))
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: byte planes flag on a %s chunk of %" PRIu64 " bytes",
				      path, (flags & STORE_CAS_FLAG_ZSTD) ? "compressed" : "raw", plain_len);
	if ((flags & STORE_CAS_FLAG_SPLIT) != 0 && (plain_len == 0 || plain_len % 2 != 0))
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: split planes flag on a chunk of %" PRIu64
				      " bytes (needs an even, non-zero length)", path, plain_len);
	if (flags & (STORE_CAS_FLAG_ZSTD | STORE_CAS_FLAG_SPLIT)) {
		/* Compression is only kept when it shrinks the chunk. */
		if (stored_len == 0 || stored_len >= plain_len)
			return arca_error_set(ARCA_EPROTO,
					      "chunk file %s: compressed length %" PRIu64
					      " is not below the plain length %" PRIu64,
					      path, stored_len, plain_len);
		if ((flags & STORE_CAS_FLAG_SPLIT) != 0 && stored_len <= STORE_CAS_SPLIT_PREFIX_LEN)
			return arca_error_set(ARCA_EPROTO,
					      "chunk file %s: split planes body of %" PRIu64
					      " bytes has no room for its parts", path, stored_len);
	} else if (stored_len != plain_len) {
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: raw chunk with stored length %" PRIu64
				      " != plain length %" PRIu64, path, stored_len, plain_len);
	}
	want = STORE_CAS_HEADER_LEN + stored_len +
	       ((flags & STORE_CAS_FLAG_AES256GCM) ? STORE_CAS_TAG_LEN : 0);
	if (file_size != want)
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: %s, %" PRIu64 " bytes where the header says %"
				      PRIu64, path, file_size < want ? "truncated" : "trailing bytes",
				      file_size, want);
	out->flags = flags;
	out->plain_len = plain_len;
	out->stored_len = stored_len;
	out->crc = crc;
	return 0;
}

/* The scalar loops: the reference the vector ones must equal byte for
 * byte, and their tails. */
void store_cas__planes_split_scalar(const uint8_t *src, size_t half, uint8_t *lo, uint8_t *hi)
{
	for (size_t i = 0; i < half; i++) {
		lo[i] = src[2 * i];
		hi[i] = src[2 * i + 1];
	}
}

void store_cas__planes_join_scalar(const uint8_t *lo, const uint8_t *hi, size_t half, uint8_t *dst)
{
	for (size_t i = 0; i < half; i++) {
		dst[2 * i] = lo[i];
		dst[2 * i + 1] = hi[i];
	}
}

#if defined(__SSE2__)
/* SSE2 is part of x86-64, so no run-time check.  16 samples per step:
 * the low bytes are masked and the high bytes shifted down in each 16-bit
 * lane, then packed with unsigned saturation, which cannot saturate since
 * every lane is <= 0xFF.  Unaligned loads and stores: the buffers are
 * wherever malloc and the callers put them. */
void store_cas__planes_split(const uint8_t *src, size_t half, uint8_t *lo, uint8_t *hi)
{
	const __m128i mask = _mm_set1_epi16(0x00FF);
	size_t i = 0;

	for (; i + 16 <= half; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i + 16));
		__m128i l = _mm_packus_epi16(_mm_and_si128(a, mask), _mm_and_si128(b, mask));
		__m128i h = _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8));

		_mm_storeu_si128((__m128i *)(void *)(lo + i), l);
		_mm_storeu_si128((__m128i *)(void *)(hi + i), h);
	}
	store_cas__planes_split_scalar(src + 2 * i, half - i, lo + i, hi + i);
}

void store_cas__planes_join(const uint8_t *lo, const uint8_t *hi, size_t half, uint8_t *dst)
{
	size_t i = 0;

	for (; i + 16 <= half; i += 16) {
		__m128i l = _mm_loadu_si128((const __m128i *)(const void *)(lo + i));
		__m128i h = _mm_loadu_si128((const __m128i *)(const void *)(hi + i));

		_mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), _mm_unpacklo_epi8(l, h));
		_mm_storeu_si128((__m128i *)(void *)(dst + 2 * i + 16), _mm_unpackhi_epi8(l, h));
	}
	store_cas__planes_join_scalar(lo + i, hi + i, half - i, dst + 2 * i);
}
#else
void store_cas__planes_split(const uint8_t *src, size_t half, uint8_t *lo, uint8_t *hi)
{
	store_cas__planes_split_scalar(src, half, lo, hi);
}

void store_cas__planes_join(const uint8_t *lo, const uint8_t *hi, size_t half, uint8_t *dst)
{
	store_cas__planes_join_scalar(lo, hi, half, dst);
}
#endif

bool store_cas__looks_like_samples16(const uint8_t *data, size_t len)
{
	/* 32 runs of 128 bytes spread over the chunk: 2048 samples. */
	enum { RUNS = 32, RUN = 128 };
	bool seen_lo[256] = { false }, seen_hi[256] = { false };
	unsigned n_lo = 0, n_hi = 0;

	if (len < 2 * RUNS * RUN || len % 2 != 0)
		return false;
	for (size_t r = 0; r < RUNS; r++) {
		size_t at = (len / RUNS) * r & ~(size_t)1;
		for (size_t i = at; i + 1 < at + RUN && i + 1 < len; i += 2) {
			if (!seen_lo[data[i]]) {
				seen_lo[data[i]] = true;
				n_lo++;
			}
			if (!seen_hi[data[i + 1]]) {
				seen_hi[data[i + 1]] = true;
				n_hi++;
			}
		}
	}
	/* 12-bit CT: high bytes 0-15 (or 0xFF/0x00 around zero), low bytes
	 * anything; interleaved 8-bit data has no such asymmetry. */
	return n_hi * 4 <= n_lo && n_hi <= 64;
}
