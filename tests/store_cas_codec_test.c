/* store_cas_codec_test.c - the chunk body codec (storage/store_cas_codec.c,
 * store_cas_format.c, store_cas_zstd.c; docs/storage-format.md section 2):
 * every body form round trips, plain and sealed, for lengths 0, 1, 2, odd,
 * 64 KiB and 0.5 MiB of CT-like and random data; the SSE2 byte-plane split
 * and join equal the scalar loops for every length and alignment; damaged
 * split-planes bodies and inconsistent flags are refused with a message
 * naming the fault; a store written with the old codec reads back under
 * the new default; the real 16-bit samples of $ARCA_SAMPLES round trip and
 * stay at most 0.6 of raw under the fast codec.
 * Every test runs in its own mkdtemp directory, removed afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "store_cas.h"
#include "store_cas_priv.h"

_Static_assert(ARCA_CONF_CODEC_FAST == STORE_CAS_CODEC_FAST, "arca_conf.h codec values");
_Static_assert(ARCA_CONF_CODEC_SMALL == STORE_CAS_CODEC_SMALL, "arca_conf.h codec values");

#define KiB ((size_t)1 << 10)

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (test_tmpdir_make(f->dir, sizeof(f->dir), "store_cas_codec_test") < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	test_tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* xorshift64*: reproducible data without rand()'s global state. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(next_rand(&s) >> 56);
}

/* 12-bit CT-like samples, little endian: air outside an ellipse (stored
 * 24 +- a little noise), soft tissue around 1064 with noise inside, so
 * that the high bytes take a handful of values and the low bytes all. */
static void fill_ct(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 3;
	size_t samples = n / 2, w = 256;

	for (size_t i = 0; i < samples; i++) {
		long x = (long)(i % w) - 128, y = (long)((i / w) % w) - 128;
		unsigned noise = (unsigned)(next_rand(&s) >> 58);
		unsigned v = x * x * 4 + y * y * 9 < 110L * 110L * 4 ? 1040u + noise + (unsigned)(x & 15)
								 : 22u + (noise & 3);
		p[2 * i] = (uint8_t)v;
		p[2 * i + 1] = (uint8_t)(v >> 8);
	}
	if (n % 2 != 0)
		p[n - 1] = 0x5A;
}

static store_cas *open_store(const char *root, store_cas_codec codec, bool encrypt, int level)
{
	store_cas_options o;
	store_cas *cas = NULL;

	store_cas_options_init(&o);
	o.codec = codec;
	o.encrypt = encrypt;
	o.zstd_level = level;
	if (store_cas_open(&cas, root, &o) != 0)
		fail_msg("open %s: %s", root, arca_error_last());
	return cas;
}

/* The chunk file's bytes as store_cas would write them, through the
 * encoder itself: header, body, tag. */
static uint8_t *encode_file(store_cas *cas, const uint8_t *data, size_t len, size_t *size,
			    uint8_t hash[STORE_CAS_HASH_LEN])
{
	store_cas_encoded e;
	uint8_t *file;
	size_t tag = 0;

	assert_int_equal(store_cas_hash(data, len, hash), 0);
	if (store_cas__encode(cas, hash, data, len, &e) != 0)
		fail_msg("encode: %s", arca_error_last());
	if (e.sealed)
		tag = STORE_CAS_TAG_LEN;
	*size = STORE_CAS_HEADER_LEN + e.body_len + tag;
	file = malloc(*size);
	assert_non_null(file);
	memcpy(file, e.header, STORE_CAS_HEADER_LEN);
	if (e.body_len > 0)
		memcpy(file + STORE_CAS_HEADER_LEN, e.body, e.body_len);
	if (tag > 0)
		memcpy(file + STORE_CAS_HEADER_LEN + e.body_len, e.tag, tag);
	free(e.own);
	return file;
}

/* Reads a file image back as store_cas_get does (header, decode, hash):
 * 0 with *out (len bytes) or the error code, message in arca_error_last. */
static int decode_file(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], uint8_t *file,
		       size_t size, uint8_t **out, size_t *len)
{
	store_cas_header h;
	uint8_t *plain = NULL, got[STORE_CAS_HASH_LEN];
	int rc;

	*out = NULL;
	rc = store_cas__header_decode(file, size, size, "test-chunk", &h);
	if (rc < 0)
		return rc;
	rc = store_cas__decode(cas, hash, &h, file, size, "test-chunk", &plain);
	if (rc < 0)
		return rc;
	assert_int_equal(store_cas_hash(plain, (size_t)h.plain_len, got), 0);
	if (memcmp(got, hash, sizeof(got)) != 0) {
		if (plain != file)
			free(plain);
		return arca_error_set(ARCA_ECRYPTO, "test-chunk: hash mismatch");
	}
	*out = malloc(h.plain_len > 0 ? (size_t)h.plain_len : 1);
	assert_non_null(*out);
	if (h.plain_len > 0)
		memcpy(*out, plain, (size_t)h.plain_len);
	*len = (size_t)h.plain_len;
	if (plain != file)
		free(plain);
	return 0;
}

/* Sets a header field and keeps the CRC right, as a damaged file whose
 * damage the CRC does not see (or a forged one) would be. */
static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void expect_refused(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], uint8_t *file,
			   size_t size, int code, const char *needle)
{
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = decode_file(cas, hash, file, size, &out, &len);

	free(out);
	if (rc != code)
		fail_msg("expected %d (%s), got %d: %s", code, needle, rc,
			 rc < 0 ? arca_error_last() : "accepted");
	if (strstr(arca_error_last(), needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", arca_error_last(), needle);
	if (strstr(arca_error_last(), "test-chunk") == NULL && code == ARCA_EPROTO)
		fail_msg("message \"%s\" does not name the chunk", arca_error_last());
}

/* ---- the byte planes ---- */

/* SSE2 split and join equal the scalar loops for every length up to a few
 * vectors and every alignment of source and destinations, and join undoes
 * split; also for a 0.5 MiB chunk. */
static void test_planes_vs_scalar(void **state)
{
	(void)state;
	enum { MAXH = 300, BIG = 256 * 1024 };
	uint8_t *src = malloc(2 * BIG + 64), *a = malloc(2 * BIG + 64), *b = malloc(2 * BIG + 64);
	uint8_t *j1 = malloc(2 * BIG + 64), *j2 = malloc(2 * BIG + 64);

	assert_non_null(src);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(j1);
	assert_non_null(j2);
	fill_random(src, 2 * BIG + 64, 5);
	for (size_t half = 0; half <= MAXH; half++) {
		for (size_t off = 0; off < 16; off += (half < 40 ? 1 : 5)) {
			size_t doff = (off * 7) % 16;
			memset(a, 0xEE, 2 * MAXH + 64);
			memset(b, 0xEE, 2 * MAXH + 64);
			store_cas__planes_split(src + off, half, a + doff, a + doff + half + 3);
			store_cas__planes_split_scalar(src + off, half, b + doff, b + doff + half + 3);
			/* the bytes around the planes untouched, too */
			assert_memory_equal(a, b, 2 * MAXH + 64);
			memset(j1, 0xEE, 2 * MAXH + 64);
			memset(j2, 0xEE, 2 * MAXH + 64);
			store_cas__planes_join(a + doff, a + doff + half + 3, half, j1 + off);
			store_cas__planes_join_scalar(a + doff, a + doff + half + 3, half, j2 + off);
			assert_memory_equal(j1, j2, 2 * MAXH + 64);
			if (half > 0)
				assert_memory_equal(j1 + off, src + off, 2 * half);
		}
	}
	store_cas__planes_split(src + 1, BIG, a, a + BIG);
	store_cas__planes_split_scalar(src + 1, BIG, b, b + BIG);
	assert_memory_equal(a, b, 2 * BIG);
	for (size_t i = 0; i < BIG; i += 4099) {
		assert_int_equal(a[i], src[1 + 2 * i]);
		assert_int_equal(a[BIG + i], src[2 + 2 * i]);
	}
	store_cas__planes_join(a, a + BIG, BIG, j1 + 3);
	assert_memory_equal(j1 + 3, src + 1, 2 * BIG);
	free(src);
	free(a);
	free(b);
	free(j1);
	free(j2);
}

/* ---- round trips ---- */

struct form_case {
	store_cas_codec codec;
	bool sealed;
};

/* The flags each codec must give: CT-like chunks of >= 8 KiB and even
 * length as planes (apart under FAST, in one frame under SMALL), other
 * compressible data one frame, random data raw. */
static unsigned want_flags(store_cas_codec codec, bool sealed, bool ct, size_t len)
{
	unsigned f = sealed ? STORE_CAS_FLAG_AES256GCM : 0;

	if (len < 64)
		return f; /* too short to save 1/32 with a frame */
	if (ct && len >= 8 * KiB && len % 2 == 0)
		return f | (codec == STORE_CAS_CODEC_FAST ? STORE_CAS_FLAG_SPLIT
							  : STORE_CAS_FLAG_ZSTD | STORE_CAS_FLAG_PLANES16);
	return f | (ct ? STORE_CAS_FLAG_ZSTD : 0);
}

static void test_round_trips(void **state)
{
	struct fixture *f = *state;
	static const size_t lens[] = { 0, 1, 2, 3, 33, 8191, 8192, 64 * 1024 + 1, 64 * 1024,
				       512 * 1024, 512 * 1024 + 1 };
	static const struct form_case cases[] = {
		{ STORE_CAS_CODEC_FAST, false }, { STORE_CAS_CODEC_FAST, true },
		{ STORE_CAS_CODEC_SMALL, false }, { STORE_CAS_CODEC_SMALL, true },
		{ STORE_CAS_CODEC_DEFAULT, false },
	};
	uint8_t *data = malloc(512 * 1024 + 1);

	assert_non_null(data);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char root[PATH_MAX];
		snprintf(root, sizeof(root), "%s/rt%zu", f->dir, c);
		store_cas *cas = open_store(root, cases[c].codec, cases[c].sealed, 1);
		store_cas_codec eff = cases[c].codec == STORE_CAS_CODEC_DEFAULT ? STORE_CAS_CODEC_SMALL
										: cases[c].codec;
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			for (int ct = 0; ct <= 1; ct++) {
				size_t len = lens[l], size, got_len;
				uint8_t h[STORE_CAS_HASH_LEN], *file, *got = NULL;
				bool is_new;

				if (ct)
					fill_ct(data, len, len + c);
				else
					fill_random(data, len, len + c);
				file = encode_file(cas, data, len, &size, h);
				if (file[5] != want_flags(eff, cases[c].sealed, ct != 0, len))
					fail_msg("codec %d sealed %d %s %zu bytes: flags 0x%02x, want 0x%02x",
						 (int)cases[c].codec, (int)cases[c].sealed,
						 ct ? "CT" : "random", len, file[5],
						 want_flags(eff, cases[c].sealed, ct != 0, len));
				if (decode_file(cas, h, file, size, &got, &got_len) != 0)
					fail_msg("decode %zu bytes: %s", len, arca_error_last());
				assert_int_equal(got_len, len);
				if (len > 0)
					assert_memory_equal(got, data, len);
				free(got);
				free(file);
				/* and through the store's files */
				if (store_cas_put(cas, data, len, h, &is_new) != 0)
					fail_msg("put: %s", arca_error_last());
				if (store_cas_get(cas, h, &got, &got_len) != 0)
					fail_msg("get: %s", arca_error_last());
				assert_int_equal(got_len, len);
				if (len > 0)
					assert_memory_equal(got, data, len);
				free(got);
				assert_int_equal(store_cas_verify(cas, h), 0);
			}
		}
		store_cas_free(cas);
	}
	free(data);
}

/* The fast codec's gain on CT-like data: the high plane is a frame, the
 * noisy low plane raw, and the whole at most 0.6 of raw; a chunk whose
 * low plane is mostly one value gets a low-plane frame too. */
static void test_fast_body_layout(void **state)
{
	struct fixture *f = *state;
	const size_t len = 512 * 1024, half = len / 2;
	uint8_t *data = malloc(len), *file, h[STORE_CAS_HASH_LEN];
	size_t size;
	uint32_t lo_len;

	assert_non_null(data);
	store_cas *cas = open_store(f->dir, STORE_CAS_CODEC_FAST, false, 1);
	fill_ct(data, len, 9);
	file = encode_file(cas, data, len, &size, h);
	assert_int_equal(file[5], STORE_CAS_FLAG_SPLIT);
	lo_len = (uint32_t)file[32] | (uint32_t)file[33] << 8 | (uint32_t)file[34] << 16 |
		 (uint32_t)file[35] << 24;
	assert_int_equal(lo_len, half); /* the noisy low plane stays raw */
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(file[36 + i], data[2 * i]);
	/* the high plane's frame follows: zstd magic 28 B5 2F FD (RFC 8878) */
	assert_int_equal(file[36 + half], 0x28);
	assert_int_equal(file[36 + half + 3], 0xFD);
	assert_true(size - STORE_CAS_HEADER_LEN < len * 6 / 10);
	free(file);

	/* low bytes that repeat (a ramp): a frame for the low plane as well */
	for (size_t i = 0; i < len; i += 2)
		data[i] = (uint8_t)(i / 2);
	file = encode_file(cas, data, len, &size, h);
	assert_int_equal(file[5], STORE_CAS_FLAG_SPLIT);
	lo_len = (uint32_t)file[32] | (uint32_t)file[33] << 8 | (uint32_t)file[34] << 16 |
		 (uint32_t)file[35] << 24;
	assert_true(lo_len < half / 4);
	assert_int_equal(file[36], 0x28);
	assert_true(size - STORE_CAS_HEADER_LEN < len / 4);
	free(file);
	store_cas_free(cas);
	free(data);
}

/* ---- damage ---- */

static void test_damaged_split(void **state)
{
	struct fixture *f = *state;
	const size_t len = 64 * 1024, half = len / 2;
	uint8_t *data = malloc(len), *file, *bad, h[STORE_CAS_HASH_LEN];
	size_t size;

	assert_non_null(data);
	store_cas *cas = open_store(f->dir, STORE_CAS_CODEC_FAST, false, 1);
	fill_ct(data, len, 21);
	file = encode_file(cas, data, len, &size, h);
	assert_int_equal(file[5], STORE_CAS_FLAG_SPLIT);
	bad = malloc(size + 64);
	assert_non_null(bad);
	size_t body = size - STORE_CAS_HEADER_LEN;

	/* the high-plane frame truncated: the header says a shorter body */
	memcpy(bad, file, size);
	put_u64(bad + 16, body - 9);
	expect_refused(cas, h, bad, size - 9, ARCA_EPROTO, "high-plane frame");

	/* the low-part length pointing past the body */
	memcpy(bad, file, size);
	bad[32] = 0xFF;
	bad[33] = 0xFF;
	bad[34] = 0x00;
	bad[35] = 0x00;
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "low-plane part of 65535 bytes");
	memcpy(bad, file, size);
	memset(bad + 32, 0xFF, 4);
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "low-plane part");
	memcpy(bad, file, size);
	memset(bad + 32, 0, 4);
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "low-plane part of 0 bytes");

	/* a low part shorter than the plane: read as a frame, which it is not */
	memcpy(bad, file, size);
	bad[32] = 0x10;
	bad[33] = 0x00;
	bad[34] = 0x00;
	bad[35] = 0x00;
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "high-plane part");

	/* low part one byte short of the plane: a frame that is not one */
	memcpy(bad, file, size);
	bad[32] = (uint8_t)(half - 1);
	bad[33] = (uint8_t)((half - 1) >> 8);
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "low-plane frame");

	/* a wrong plain length: the frame declares half the old length */
	memcpy(bad, file, size);
	put_u64(bad + 8, len + 2);
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "does not declare");

	/* a damaged byte inside the high-plane frame */
	memcpy(bad, file, size);
	bad[36 + half + 6] ^= 0x55;
	{
		uint8_t *out = NULL;
		size_t got = 0;
		int rc = decode_file(cas, h, bad, size, &out, &got);
		free(out);
		assert_true(rc == ARCA_EPROTO || rc == ARCA_ECRYPTO);
	}

	/* inconsistent flags */
	memcpy(bad, file, size);
	bad[5] = STORE_CAS_FLAG_SPLIT | STORE_CAS_FLAG_ZSTD;
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "flags 0x09 combine split planes");
	bad[5] = STORE_CAS_FLAG_SPLIT | STORE_CAS_FLAG_PLANES16;
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "flags 0x0c combine split planes");
	bad[5] = STORE_CAS_FLAG_SPLIT | STORE_CAS_FLAG_PLANES16 | STORE_CAS_FLAG_ZSTD;
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "combine split planes");
	bad[5] = 0x10;
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "unknown flags 0x10");
	memcpy(bad, file, size);
	put_u64(bad + 8, len + 1);
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "split planes flag on a chunk of 65537");
	/* a split body as long as the chunk: not compressed, refused */
	memcpy(bad, file, size);
	put_u64(bad + 8, body - body % 2);
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "is not below the plain length");
	/* no room for the length prefix and two parts */
	memcpy(bad, file, size);
	put_u64(bad + 16, 4);
	expect_refused(cas, h, bad, STORE_CAS_HEADER_LEN + 4, ARCA_EPROTO, "has no room");
	put_u64(bad + 8, 0);
	expect_refused(cas, h, bad, STORE_CAS_HEADER_LEN + 4, ARCA_EPROTO,
		       "split planes flag on a chunk of 0");
	/* the planes flag without a frame stays refused */
	memcpy(bad, file, size);
	bad[5] = STORE_CAS_FLAG_PLANES16;
	expect_refused(cas, h, bad, size, ARCA_EPROTO, "byte planes flag");

	free(bad);
	free(file);
	store_cas_free(cas);
	free(data);
}

/* A sealed split chunk: a flipped body byte fails authentication, an
 * edited flags byte too (it is in the AAD). */
static void test_sealed_split(void **state)
{
	struct fixture *f = *state;
	const size_t len = 128 * 1024;
	uint8_t *data = malloc(len), *file, *got = NULL, h[STORE_CAS_HASH_LEN];
	size_t size, got_len;

	assert_non_null(data);
	store_cas *cas = open_store(f->dir, STORE_CAS_CODEC_FAST, true, 1);
	fill_ct(data, len, 33);
	file = encode_file(cas, data, len, &size, h);
	assert_int_equal(file[5], STORE_CAS_FLAG_SPLIT | STORE_CAS_FLAG_AES256GCM);
	/* sealed: the raw low plane is not visible in the file */
	assert_true(memcmp(file + 36, data, 16) != 0 || file[36] != data[0]);
	assert_int_equal(decode_file(cas, h, file, size, &got, &got_len), 0);
	assert_memory_equal(got, data, len);
	free(got);
	file[40] ^= 1;
	expect_refused(cas, h, file, size, ARCA_ECRYPTO, "test-chunk");
	file[40] ^= 1;
	file[5] = STORE_CAS_FLAG_AES256GCM | STORE_CAS_FLAG_ZSTD;
	{
		uint8_t *out = NULL;
		size_t n = 0;
		assert_int_not_equal(decode_file(cas, h, file, size, &out, &n), 0);
		free(out);
	}
	free(file);
	store_cas_free(cas);
	free(data);
}

/* ---- compatibility ---- */

/* A store written before the fast codec (one frame of both planes, one
 * frame of other data, raw chunks; sealed and not) reads back under the
 * new default, and new chunks there take the new form. */
static void test_old_store_new_default(void **state)
{
	struct fixture *f = *state;
	const size_t len = 256 * 1024;
	uint8_t *ct = malloc(len), *text = malloc(len), *rnd = malloc(len), *ct2 = malloc(len);
	uint8_t h[4][STORE_CAS_HASH_LEN], *got = NULL;
	size_t got_len;
	char root[PATH_MAX];
	store_cas_info info;

	assert_non_null(ct);
	assert_non_null(text);
	assert_non_null(rnd);
	assert_non_null(ct2);
	fill_ct(ct, len, 1);
	fill_ct(ct2, len, 2);
	for (size_t i = 0; i < len; i++)
		text[i] = (uint8_t)"the quick brown fox "[i % 20];
	fill_random(rnd, len, 3);
	for (int sealed = 0; sealed <= 1; sealed++) {
		snprintf(root, sizeof(root), "%s/old%d", f->dir, sealed);
		store_cas *cas = open_store(root, STORE_CAS_CODEC_SMALL, sealed != 0, 3);
		assert_int_equal(store_cas_put(cas, ct, len, h[0], NULL), 0);
		assert_int_equal(store_cas_put(cas, text, len, h[1], NULL), 0);
		assert_int_equal(store_cas_put(cas, rnd, len, h[2], NULL), 0);
		store_cas_free(cas);

		/* reopened as the ingest opens it now */
		cas = open_store(root, STORE_CAS_CODEC_FAST, sealed != 0, 1);
		const uint8_t *want[3] = { ct, text, rnd };
		for (int i = 0; i < 3; i++) {
			if (store_cas_get(cas, h[i], &got, &got_len) != 0)
				fail_msg("old chunk %d: %s", i, arca_error_last());
			assert_int_equal(got_len, len);
			assert_memory_equal(got, want[i], len);
			free(got);
			assert_int_equal(store_cas_verify(cas, h[i]), 0);
		}
		assert_int_equal(store_cas_put(cas, ct2, len, h[3], NULL), 0);
		assert_int_equal(store_cas_get(cas, h[3], &got, &got_len), 0);
		assert_memory_equal(got, ct2, len);
		free(got);
		assert_int_equal(store_cas_stat(cas, h[3], &info), 0);
		assert_true(info.stored_size < len * 6 / 10);
		store_cas_free(cas);
	}
	free(ct);
	free(ct2);
	free(text);
	free(rnd);
}

/* ---- real samples ---- */

static uint8_t *read_all(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *p;
	long sz;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return NULL;
	}
	p = malloc((size_t)sz + 1);
	if (p != NULL && fread(p, 1, (size_t)sz, fp) != (size_t)sz) {
		free(p);
		p = NULL;
	}
	fclose(fp);
	*n = (size_t)sz;
	return p;
}

/* Uncompressed 16-bit CT and MR files of the sample set (README.md): the
 * last rows x columns x 2 bytes are the pixel data.  Each round trips
 * under both codecs; the fast codec keeps the set at most 0.6 of raw. */
static void test_real_samples(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		size_t pixels;
	} files[] = {
		{ "octave-dicom/CT-MONO2-16-ankle.dcm", 524288 }, { "wg04/CT2_UNC", 524288 },
		{ "wg04/MR2_UNC", 2097152 },                      { "fo-dicom/GH1308.dcm", 524288 },
		{ "dicom3tools/0051.dcm", 259200 },               { "nibabel/0.dcm", 131072 },
		{ "pydicom-data/emri_small.dcm", 81920 },         { "pydicom/CT_small.dcm", 32768 },
	};
	const char *dir = getenv("ARCA_SAMPLES");
	char path[PATH_MAX];
	uint64_t raw = 0, stored[2] = { 0, 0 };
	int found = 0;

	if (dir == NULL || access(dir, R_OK) != 0) {
		printf("# ARCA_SAMPLES not set or absent: real samples skipped\n");
		return;
	}
	for (int k = 0; k < 2; k++) {
		char root[PATH_MAX];
		snprintf(root, sizeof(root), "%s/real%d", f->dir, k);
		store_cas *cas = open_store(root, k == 0 ? STORE_CAS_CODEC_FAST : STORE_CAS_CODEC_SMALL,
					    false, 1);
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			size_t n = 0, got_len;
			uint8_t *bytes, *got = NULL, h[STORE_CAS_HASH_LEN];
			store_cas_info info;

			snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
			bytes = read_all(path, &n);
			if (bytes == NULL || n < files[i].pixels) {
				free(bytes);
				continue;
			}
			const uint8_t *px = bytes + n - files[i].pixels;
			assert_int_equal(store_cas_put(cas, px, files[i].pixels, h, NULL), 0);
			assert_int_equal(store_cas_get(cas, h, &got, &got_len), 0);
			assert_int_equal(got_len, files[i].pixels);
			assert_memory_equal(got, px, got_len);
			free(got);
			assert_int_equal(store_cas_stat(cas, h, &info), 0);
			stored[k] += info.stored_size;
			if (k == 0) {
				raw += files[i].pixels;
				found++;
			}
			free(bytes);
		}
		store_cas_free(cas);
	}
	if (found == 0) {
		printf("# no 16-bit sample found under %s: skipped\n", dir);
		return;
	}
	printf("# %d real 16-bit samples: stored/raw fast %.3f, small %.3f\n", found,
	       (double)stored[0] / (double)raw, (double)stored[1] / (double)raw);
	assert_true(stored[0] * 10 <= raw * 6);
	assert_true(stored[1] <= stored[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_planes_vs_scalar),
		cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_body_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_store_new_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_samples, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
