/* store_cas_test.c - the content-addressed chunk store through its public
 * API: round trips, dedup, sealing at rest, damage detection (every byte of
 * small files flipped), crash leftovers, concurrent puts, deferred sync,
 * the iterator, the directory layout (flat for new stores, nested for
 * stores made before cas.layout) and its file; and put rates for CT-like
 * data (printed, not asserted).
 * Every test runs in its own mkdtemp directory, removed afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "arca_err.h"
#include "store_cas.h"

#define MiB ((size_t)1 << 20)

struct fixture {
	char dir[64];
	char root[128];
};

/* ---- helpers ---- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (test_tmpdir_make(f->dir, sizeof(f->dir), "store_cas_test") < 0) {
		free(f);
		return -1;
	}
	snprintf(f->root, sizeof(f->root), "%s/store", f->dir);
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

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: reproducible test data without libc's global rand. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static uint8_t *random_bytes(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len > 0 ? len : 1);
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(rng_next(&s) >> 56);
	return p;
}

static store_cas *open_store(const char *root, bool encrypt, store_cas_sync_mode sync)
{
	store_cas_options o;
	store_cas *cas = NULL;

	store_cas_options_init(&o);
	o.encrypt = encrypt;
	o.sync = sync;
	if (store_cas_open(&cas, root, &o) != 0)
		fail_msg("store_cas_open: %s", arca_error_last());
	return cas;
}

/* Where a chunk lives in a store made now (docs/storage-format.md
 * section 1): root/chunks/ab/<hex>. */
static void chunk_path_flat(const char *root, const uint8_t hash[STORE_CAS_HASH_LEN], char path[PATH_MAX])
{
	char hex[STORE_CAS_HEX_LEN + 1];

	store_cas_hash_to_hex(hash, hex);
	snprintf(path, PATH_MAX, "%s/chunks/%.2s/%s", root, hex, hex);
}

/* And in a store of the nested layout: root/chunks/ab/cd/<hex>. */
static void chunk_path_nested(const char *root, const uint8_t hash[STORE_CAS_HASH_LEN], char path[PATH_MAX])
{
	char hex[STORE_CAS_HEX_LEN + 1];

	store_cas_hash_to_hex(hash, hex);
	snprintf(path, PATH_MAX, "%s/chunks/%.2s/%.2s/%s", root, hex, hex + 2, hex);
}

static void chunk_file(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
		       char path[PATH_MAX])
{
	chunk_path_flat(store_cas_root(cas), hash, path);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	*len = (size_t)st.st_size;
	p = malloc(*len > 0 ? *len : 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, *len, fp), *len);
	fclose(fp);
	return p;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Files (type 'f') or directories ('d', dir itself included) under dir. */
static size_t count_type(const char *dir, char type)
{
	char cmd[PATH_MAX + 64];
	size_t n = 0;
	FILE *p;
	int ch;

	snprintf(cmd, sizeof(cmd), "find '%s' -type %c | wc -l", dir, type);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((ch = fgetc(p)) != EOF)
		if (ch >= '0' && ch <= '9')
			n = n * 10 + (size_t)(ch - '0');
	pclose(p);
	return n;
}

static size_t count_dir(const char *dir)
{
	return count_type(dir, 'f');
}

static void put_ok(store_cas *cas, const void *data, size_t len, uint8_t hash[STORE_CAS_HASH_LEN],
		   bool want_new)
{
	bool is_new = !want_new;
	int rc = store_cas_put(cas, data, len, hash, &is_new);

	if (rc != 0)
		fail_msg("store_cas_put(%zu bytes): %s", len, arca_error_last());
	assert_int_equal(is_new, want_new);
}

static void get_equals(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const void *data,
		       size_t len)
{
	uint8_t *got = NULL;
	size_t got_len = 0;
	int rc = store_cas_get(cas, hash, &got, &got_len);

	if (rc != 0)
		fail_msg("store_cas_get: %s", arca_error_last());
	assert_non_null(got);
	assert_int_equal(got_len, len);
	if (len > 0)
		assert_memory_equal(got, data, len);
	free(got);
}

/* get and verify must both fail as damage, naming the chunk. */
static void expect_damaged(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const char *what)
{
	char hex[STORE_CAS_HEX_LEN + 1];
	uint8_t *got = NULL;
	size_t got_len = 0;
	int rc;

	store_cas_hash_to_hex(hash, hex);
	rc = store_cas_get(cas, hash, &got, &got_len);
	if (rc != ARCA_ECRYPTO && rc != ARCA_EPROTO)
		fail_msg("%s: get returned %d (%s), want ECRYPTO or EPROTO", what, rc,
			 arca_error_last());
	assert_null(got);
	if (strstr(arca_error_last(), hex) == NULL)
		fail_msg("%s: message does not name the chunk: %s", what, arca_error_last());
	rc = store_cas_verify(cas, hash);
	if (rc != ARCA_ECRYPTO && rc != ARCA_EPROTO)
		fail_msg("%s: verify returned %d", what, rc);
	assert_non_null(strstr(arca_error_last(), hex));
}

/* ---- round trips ---- */

static void round_trip_sizes(const char *root, bool encrypt)
{
	store_cas *cas = open_store(root, encrypt, STORE_CAS_SYNC_EACH);
	size_t sizes[] = { 0, 1, 4095, MiB };
	uint8_t hash[STORE_CAS_HASH_LEN], again[STORE_CAS_HASH_LEN];
	store_cas_info info;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *data = random_bytes(sizes[i], 100 + i + (encrypt ? 50 : 0));
		put_ok(cas, data, sizes[i], hash, true);
		assert_int_equal(store_cas_hash(data, sizes[i], again), 0);
		assert_memory_equal(hash, again, STORE_CAS_HASH_LEN);
		get_equals(cas, hash, data, sizes[i]);
		assert_int_equal(store_cas_verify(cas, hash), 0);
		assert_int_equal(store_cas_stat(cas, hash, &info), 0);
		assert_int_equal(info.plain_size, sizes[i]);
		/* Random bytes do not compress: stored raw, header (+ tag) only. */
		assert_false(info.compressed);
		assert_int_equal(info.encrypted, encrypt);
		assert_int_equal(info.stored_size, sizes[i] + 32 + (encrypt ? 16 : 0));
		free(data);
	}

	uint8_t *zeros = calloc(1, MiB);
	assert_non_null(zeros);
	put_ok(cas, zeros, MiB, hash, true);
	get_equals(cas, hash, zeros, MiB);
	assert_int_equal(store_cas_stat(cas, hash, &info), 0);
	assert_true(info.compressed);
	assert_true(info.stored_size < MiB / 100);
	free(zeros);

	/* The empty chunk's address is SHA-256(""). */
	assert_int_equal(store_cas_hash_from_hex(
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", again), 0);
	assert_int_equal(store_cas_hash("", 0, hash), 0);
	assert_memory_equal(hash, again, STORE_CAS_HASH_LEN);
	store_cas_free(cas);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	char root2[160];

	round_trip_sizes(f->root, false);
	snprintf(root2, sizeof(root2), "%s/sealed", f->dir);
	round_trip_sizes(root2, true);
}

static void test_dedup(void **state)
{
	struct fixture *f = *state;
	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	uint8_t h1[STORE_CAS_HASH_LEN], h2[STORE_CAS_HASH_LEN];
	uint8_t *data = random_bytes(70000, 7);
	char chunks[PATH_MAX];
	bool exists = false;

	put_ok(cas, data, 70000, h1, true);
	put_ok(cas, data, 70000, h2, false);
	assert_memory_equal(h1, h2, STORE_CAS_HASH_LEN);
	assert_int_equal(store_cas_exists(cas, h1, &exists), 0);
	assert_true(exists);
	snprintf(chunks, sizeof(chunks), "%s/chunks", store_cas_root(cas));
	assert_int_equal(count_dir(chunks), 1);
	/* Another store object on the same root dedups too. */
	store_cas *other = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	put_ok(other, data, 70000, h2, false);
	store_cas_free(other);
	assert_int_equal(count_dir(chunks), 1);
	free(data);
	store_cas_free(cas);
}

static void test_limits_and_hex(void **state)
{
	struct fixture *f = *state;
	store_cas_options o;
	store_cas *cas = NULL;
	uint8_t hash[STORE_CAS_HASH_LEN], back[STORE_CAS_HASH_LEN];
	char hex[STORE_CAS_HEX_LEN + 1];
	bool exists = true;

	store_cas_options_init(&o);
	assert_int_equal(o.chunk_max, STORE_CAS_CHUNK_DEFAULT);
	assert_int_equal(o.zstd_level, 3);
	o.chunk_max = STORE_CAS_CHUNK_MAX + 1;
	assert_int_equal(store_cas_open(&cas, f->root, &o), ARCA_EINVAL);
	assert_null(cas);
	o.chunk_max = 1000;
	assert_int_equal(store_cas_open(&cas, f->root, &o), 0);
	uint8_t *big = random_bytes(1001, 3);
	assert_int_equal(store_cas_put(cas, big, 1001, hash, NULL), ARCA_ELIMIT);
	assert_int_equal(store_cas_put(cas, big, 1000, hash, NULL), 0);
	free(big);

	store_cas_hash_to_hex(hash, hex);
	assert_int_equal(strlen(hex), STORE_CAS_HEX_LEN);
	assert_int_equal(store_cas_hash_from_hex(hex, back), 0);
	assert_memory_equal(hash, back, STORE_CAS_HASH_LEN);
	assert_int_equal(store_cas_hash_from_hex("abc", back), ARCA_EINVAL);
	hex[10] = 'g';
	assert_int_equal(store_cas_hash_from_hex(hex, back), ARCA_EINVAL);

	memset(hash, 0x5a, sizeof(hash));
	assert_int_equal(store_cas_exists(cas, hash, &exists), 0);
	assert_false(exists);
	uint8_t *got = NULL;
	size_t len = 0;
	assert_int_equal(store_cas_get(cas, hash, &got, &len), ARCA_ENOTFOUND);
	assert_int_equal(store_cas_remove(cas, hash), ARCA_ENOTFOUND);
	store_cas_free(cas);
}

/* ---- encryption ---- */

static void test_encryption(void **state)
{
	struct fixture *f = *state;
	store_cas *cas = open_store(f->root, true, STORE_CAS_SYNC_EACH);
	uint8_t ha[STORE_CAS_HASH_LEN], hb[STORE_CAS_HASH_LEN], hc[STORE_CAS_HASH_LEN];
	char key_path[PATH_MAX], pa[PATH_MAX], pb[PATH_MAX], pc[PATH_MAX];
	struct stat st;
	size_t flen;

	/* Key file: 32 bytes, owner-only. */
	snprintf(key_path, sizeof(key_path), "%s/%s", store_cas_root(cas), STORE_CAS_KEY_FILE);
	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Compressible text and incompressible bytes: neither appears. */
	char text[8192];
	for (size_t i = 0; i < sizeof(text); i += 32)
		memcpy(text + i, "DOE^JOHN^PATIENT^NAME^1234567890", 32);
	uint8_t *noise = random_bytes(8192, 11);
	put_ok(cas, text, sizeof(text), ha, true);
	put_ok(cas, noise, 8192, hb, true);
	chunk_file(cas, ha, pa);
	chunk_file(cas, hb, pb);
	uint8_t *fa = read_file(pa, &flen);
	assert_null(memmem(fa, flen, "PATIENT", 7));
	assert_null(memmem(fa, flen, "DOE^", 4));
	free(fa);
	uint8_t *fb = read_file(pb, &flen);
	for (size_t off = 0; off + 16 <= 8192; off += 512)
		assert_null(memmem(fb, flen, noise + off, 16));
	get_equals(cas, ha, text, sizeof(text));
	get_equals(cas, hb, noise, 8192);

	/* Deterministic: the same chunk in a fresh store under the same key
	 * seals to the same bytes (what dedup across replicas relies on). */
	assert_int_equal(store_cas_remove(cas, hb), 0);
	put_ok(cas, noise, 8192, hb, true);
	size_t flen2;
	uint8_t *fb2 = read_file(pb, &flen2);
	assert_int_equal(flen, flen2);
	assert_memory_equal(fb, fb2, flen);
	free(fb2);

	/* A chunk file copied to another address fails authentication:
	 * over an existing chunk, and at an address not stored before. */
	write_file(pb, fb, flen, 0600);
	size_t la;
	fa = read_file(pa, &la);
	write_file(pb, fa, la, 0600);
	uint8_t *got = NULL;
	size_t glen;
	assert_int_equal(store_cas_get(cas, hb, &got, &glen), ARCA_ECRYPTO);
	assert_null(got);
	memset(hc, 0xc3, sizeof(hc));
	chunk_file(cas, hc, pc); /* chunks/c3 exists: the store made all 256 */
	write_file(pc, fa, la, 0600);
	expect_damaged(cas, hc, "chunk moved to another address");
	write_file(pb, fb, flen, 0600);
	get_equals(cas, hb, noise, 8192);
	free(fa);
	free(fb);
	store_cas_free(cas);

	/* Reopened without encryption: existing sealed chunks still read. */
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	get_equals(cas, ha, text, sizeof(text));
	store_cas_free(cas);

	/* Wrong key. */
	uint8_t other_key[32];
	memset(other_key, 0x42, sizeof(other_key));
	size_t klen;
	uint8_t *saved_key = read_file(key_path, &klen);
	write_file(key_path, other_key, sizeof(other_key), 0600);
	cas = open_store(f->root, true, STORE_CAS_SYNC_EACH);
	assert_int_equal(store_cas_get(cas, ha, &got, &glen), ARCA_ECRYPTO);
	assert_non_null(strstr(arca_error_last(), "authentication"));
	assert_int_equal(store_cas_verify(cas, hb), ARCA_ECRYPTO);
	store_cas_free(cas);

	/* A key file others can read is refused. */
	write_file(key_path, saved_key, klen, 0644);
	store_cas *refused = NULL;
	store_cas_options o;
	store_cas_options_init(&o);
	o.encrypt = true;
	assert_int_equal(store_cas_open(&refused, f->root, &o), ARCA_ECRYPTO);
	assert_null(refused);
	assert_non_null(strstr(arca_error_last(), "chmod 600"));
	free(saved_key);

	/* No key file at all: a sealed chunk says so. */
	assert_int_equal(unlink(key_path), 0);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	assert_int_equal(store_cas_get(cas, ha, &got, &glen), ARCA_ECRYPTO);
	assert_non_null(strstr(arca_error_last(), "no key"));
	store_cas_free(cas);
	free(noise);
}

/* ---- damage ---- */

static void flip_each_byte(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			   const void *data, size_t len)
{
	char path[PATH_MAX], what[64];
	size_t flen;

	chunk_file(cas, hash, path);
	uint8_t *orig = read_file(path, &flen);
	uint8_t *bad = malloc(flen);
	assert_non_null(bad);
	for (size_t off = 0; off < flen; off++) {
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(bad, orig, flen);
			bad[off] ^= (uint8_t)(1u << bit);
			write_file(path, bad, flen, 0600);
			snprintf(what, sizeof(what), "byte %zu bit %d of %zu", off, bit, flen);
			expect_damaged(cas, hash, what);
		}
	}
	write_file(path, orig, flen, 0600);
	get_equals(cas, hash, data, len);
	free(bad);
	free(orig);
}

static void test_corruption(void **state)
{
	struct fixture *f = *state;

	for (int sealed = 0; sealed <= 1; sealed++) {
		char root[160];
		snprintf(root, sizeof(root), "%s/s%d", f->dir, sealed);
		store_cas *cas = open_store(root, sealed, STORE_CAS_SYNC_EACH);
		uint8_t h[STORE_CAS_HASH_LEN];

		/* Small raw and small compressed chunks: every byte, two bits. */
		uint8_t *noise = random_bytes(300, 21);
		put_ok(cas, noise, 300, h, true);
		flip_each_byte(cas, h, noise, 300);
		free(noise);
		char text[900];
		for (size_t i = 0; i < sizeof(text); i++)
			text[i] = (char)('a' + (i * 7 % 13));
		put_ok(cas, text, sizeof(text), h, true);
		store_cas_info info;
		assert_int_equal(store_cas_stat(cas, h, &info), 0);
		assert_true(info.compressed);
		flip_each_byte(cas, h, text, sizeof(text));

		/* A 1 MiB chunk: header, first body byte, middle, last (tag). */
		uint8_t *big = random_bytes(MiB, 22);
		for (size_t i = 0; i < MiB; i += 2)
			big[i] = 0; /* compressible, not trivially */
		put_ok(cas, big, MiB, h, true);
		char path[PATH_MAX];
		size_t flen;
		chunk_file(cas, h, path);
		uint8_t *orig = read_file(path, &flen);
		size_t offsets[] = { 0, 5, 9, 17, 25, 30, 32, flen / 2, flen - 17, flen - 1 };
		for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
			orig[offsets[i]] ^= 0x10;
			write_file(path, orig, flen, 0600);
			expect_damaged(cas, h, "1 MiB chunk");
			orig[offsets[i]] ^= 0x10;
		}
		/* Truncated, emptied, extended. */
		size_t cuts[] = { flen - 1, flen / 2, 40, 32, 31, 10, 0 };
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			write_file(path, orig, cuts[i], 0600);
			expect_damaged(cas, h, "truncated");
		}
		uint8_t *longer = malloc(flen + 1);
		assert_non_null(longer);
		memcpy(longer, orig, flen);
		longer[flen] = 0;
		write_file(path, longer, flen + 1, 0600);
		expect_damaged(cas, h, "trailing byte");
		free(longer);
		write_file(path, orig, flen, 0600);
		get_equals(cas, h, big, MiB);
		free(orig);
		free(big);
		store_cas_free(cas);
	}
}

/* ---- crash leftovers ---- */

static void test_stale_tmp(void **state)
{
	struct fixture *f = *state;
	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	char tmp1[PATH_MAX], tmp2[PATH_MAX], live[PATH_MAX], other[PATH_MAX];

	snprintf(tmp1, sizeof(tmp1), "%s/chunks/tmp/tmp-Ab12Cd", store_cas_root(cas));
	snprintf(tmp2, sizeof(tmp2), "%s/chunks/tmp/tmp-zzzzzz", store_cas_root(cas));
	snprintf(other, sizeof(other), "%s/chunks/tmp/README", store_cas_root(cas));
	store_cas_free(cas);
	/* What a kill -9 during a put leaves behind. */
	write_file(tmp1, "half a chunk", 12, 0600);
	write_file(tmp2, "", 0, 0600);
	write_file(other, "not ours", 8, 0644);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	assert_false(file_exists(tmp1));
	assert_false(file_exists(tmp2));
	assert_true(file_exists(other));

	/* While a store is open, a second opener must not touch its temps. */
	snprintf(live, sizeof(live), "%s/chunks/tmp/tmp-live00", store_cas_root(cas));
	write_file(live, "in flight", 9, 0600);
	store_cas *second = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	assert_true(file_exists(live));
	store_cas_free(second);
	store_cas_free(cas);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	assert_false(file_exists(live));
	store_cas_free(cas);
}

/* ---- concurrency ---- */

#define NTHREADS 4
#define PER_THREAD 48
#define SHARED 16

struct worker {
	store_cas *cas;
	int id;
	int failures;
	int shared_new;
	int own_new;
	char msg[256];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t h[STORE_CAS_HASH_LEN];
	bool is_new;

	for (int i = 0; i < PER_THREAD + SHARED; i++) {
		/* Interleave own and shared chunks so the threads collide. */
		bool shared = i % 4 == 0 && i / 4 < SHARED;
		uint64_t seed = shared ? 1000 + (uint64_t)i : 5000 + (uint64_t)w->id * 1000 + (uint64_t)i;
		size_t len = 2000 + (size_t)(seed % 5) * 10000;
		uint8_t *data = random_bytes(len, seed);
		if (i % 2 == 0)
			memset(data, 0, len / 2); /* some compress */
		if (store_cas_put(w->cas, data, len, h, &is_new) != 0) {
			w->failures++;
			snprintf(w->msg, sizeof(w->msg), "%s", arca_error_last());
		} else if (is_new) {
			if (shared)
				w->shared_new++;
			else
				w->own_new++;
		}
		free(data);
	}
	if (store_cas_sync(w->cas) != 0) {
		w->failures++;
		snprintf(w->msg, sizeof(w->msg), "%s", arca_error_last());
	}
	return NULL;
}

static size_t count_chunks(store_cas *cas, size_t *bad)
{
	store_cas_iter *it = NULL;
	store_cas_entry e;
	size_t n = 0;
	int rc;

	*bad = 0;
	assert_int_equal(store_cas_iter_new(&it, cas), 0);
	while ((rc = store_cas_iter_next(it, &e)) == 1) {
		if (e.bad)
			(*bad)++;
		else
			n++;
	}
	assert_int_equal(rc, 0);
	store_cas_iter_free(it);
	return n;
}

/* A real crash: a child puts chunks (deferred, small batches) until it is
 * killed with SIGKILL mid-stream.  Afterwards open leaves no temp file, and
 * every chunk under its name is whole. */
static void test_kill9(void **state)
{
	struct fixture *f = *state;
	char tmp_dir[PATH_MAX];
	pid_t pid;

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/chunks/tmp", f->root);
	store_cas_free(open_store(f->root, false, STORE_CAS_SYNC_EACH));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store_cas_options o;
		store_cas *cas = NULL;
		uint8_t h[STORE_CAS_HASH_LEN];
		store_cas_options_init(&o);
		o.sync = STORE_CAS_SYNC_DEFERRED;
		o.max_pending = 4;
		if (store_cas_open(&cas, f->root, &o) != 0)
			_exit(2);
		for (uint64_t i = 0;; i++) {
			uint8_t *d = random_bytes(200000, 9000 + i);
			if (store_cas_put(cas, d, 200000, h, NULL) != 0)
				_exit(3);
			free(d);
		}
	}
	/* Poll until the child has synced some chunks and has temp files
	 * in flight, then kill it. */
	size_t bad = 0, synced = 0, temps = 0;
	for (int tries = 0; tries < 2000; tries++) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		temps = count_dir(tmp_dir);
		char chunks[PATH_MAX];
		snprintf(chunks, sizeof(chunks), "%s/chunks", f->root);
		synced = count_dir(chunks) - temps;
		if (synced >= 8 && temps >= 1)
			break;
		nanosleep(&ts, NULL);
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_true(synced >= 8);

	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	assert_int_equal(count_dir(tmp_dir), 0);
	size_t n = count_chunks(cas, &bad);
	assert_int_equal(bad, 0);
	assert_true(n >= 8);
	store_cas_iter *it = NULL;
	store_cas_entry e;
	assert_int_equal(store_cas_iter_new(&it, cas), 0);
	while (store_cas_iter_next(it, &e) == 1)
		if (store_cas_verify(cas, e.hash) != 0)
			fail_msg("after kill -9: %s", arca_error_last());
	store_cas_iter_free(it);
	store_cas_free(cas);
}

static void run_concurrent(const char *root, store_cas_sync_mode mode, size_t max_pending)
{
	store_cas_options o;
	store_cas *cas = NULL;
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS];
	int shared_new = 0, own_new = 0;
	char tmp_dir[PATH_MAX];
	size_t bad;

	store_cas_options_init(&o);
	o.sync = mode;
	o.max_pending = max_pending;
	o.encrypt = true;
	assert_int_equal(store_cas_open(&cas, root, &o), 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < NTHREADS; i++) {
		w[i].cas = cas;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].failures != 0)
			fail_msg("thread %d: %d failures, last: %s", i, w[i].failures, w[i].msg);
		shared_new += w[i].shared_new;
		own_new += w[i].own_new;
	}
	/* Every chunk stored exactly once: one put of each shared chunk
	 * reported it new, the others found it. */
	assert_int_equal(shared_new, SHARED);
	assert_int_equal(own_new, NTHREADS * PER_THREAD);
	assert_int_equal(count_chunks(cas, &bad), NTHREADS * PER_THREAD + SHARED);
	assert_int_equal(bad, 0);
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/chunks/tmp", store_cas_root(cas));
	assert_int_equal(count_dir(tmp_dir), 0);

	/* And each reads back. */
	store_cas_iter *it = NULL;
	store_cas_entry e;
	assert_int_equal(store_cas_iter_new(&it, cas), 0);
	while (store_cas_iter_next(it, &e) == 1)
		if (store_cas_verify(cas, e.hash) != 0)
			fail_msg("verify %s: %s", e.path, arca_error_last());
	store_cas_iter_free(it);
	store_cas_free(cas);
}

static void test_concurrent_puts(void **state)
{
	struct fixture *f = *state;
	char root[160];

	snprintf(root, sizeof(root), "%s/each", f->dir);
	run_concurrent(root, STORE_CAS_SYNC_EACH, 0);
	snprintf(root, sizeof(root), "%s/deferred", f->dir);
	run_concurrent(root, STORE_CAS_SYNC_DEFERRED, 0);
	/* A tiny pending limit: puts trigger syncs while others put. */
	snprintf(root, sizeof(root), "%s/autosync", f->dir);
	run_concurrent(root, STORE_CAS_SYNC_DEFERRED, 5);
}

/* ---- deferred sync ---- */

static void test_deferred_sync(void **state)
{
	struct fixture *f = *state;
	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_DEFERRED);
	uint8_t h[10][STORE_CAS_HASH_LEN];
	uint8_t *data[10];
	char path[PATH_MAX], tmp_dir[PATH_MAX];
	bool exists;
	size_t bad;

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/chunks/tmp", store_cas_root(cas));
	for (int i = 0; i < 10; i++) {
		data[i] = random_bytes(10000 + (size_t)i, 300 + (uint64_t)i);
		put_ok(cas, data[i], 10000 + (size_t)i, h[i], true);
	}
	/* Pending: not under their names yet, but found and readable. */
	put_ok(cas, data[3], 10003, h[3], false);
	assert_int_equal(count_dir(tmp_dir), 10);
	chunk_file(cas, h[0], path);
	assert_false(file_exists(path));
	assert_int_equal(store_cas_exists(cas, h[0], &exists), 0);
	assert_true(exists);
	get_equals(cas, h[5], data[5], 10005);
	assert_int_equal(count_chunks(cas, &bad), 0);

	/* Removing a pending chunk drops it. */
	assert_int_equal(store_cas_remove(cas, h[9]), 0);
	assert_int_equal(store_cas_exists(cas, h[9], &exists), 0);
	assert_false(exists);

	assert_int_equal(store_cas_sync(cas), 0);
	for (int i = 0; i < 9; i++) {
		chunk_file(cas, h[i], path);
		assert_true(file_exists(path));
		get_equals(cas, h[i], data[i], 10000 + (size_t)i);
	}
	chunk_file(cas, h[9], path);
	assert_false(file_exists(path));
	assert_int_equal(count_dir(tmp_dir), 0);
	assert_int_equal(count_chunks(cas, &bad), 9);
	assert_int_equal(store_cas_sync(cas), 0); /* nothing pending: no-op */

	/* free commits what is still pending. */
	put_ok(cas, data[9], 10009, h[9], true);
	store_cas_free(cas);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	get_equals(cas, h[9], data[9], 10009);
	/* Removal in sync-each mode. */
	assert_int_equal(store_cas_remove(cas, h[9]), 0);
	assert_int_equal(store_cas_exists(cas, h[9], &exists), 0);
	assert_false(exists);
	assert_int_equal(store_cas_remove(cas, h[9]), ARCA_ENOTFOUND);
	store_cas_free(cas);
	for (int i = 0; i < 10; i++)
		free(data[i]);
}


/* ---- recovery of a crashed group commit ---- */

/* What a power loss after a sync's data barrier but before the file
 * system committed its renames leaves: complete chunks in chunks/tmp under
 * tmp-<address>-XXXXXX.  The next open finishes them; a torn or mislabelled
 * temp file (its sync never finished: nothing using it was acknowledged)
 * is removed, never renamed. */
static void test_recover_tmp(void **state)
{
	struct fixture *f = *state;
	char src_root[PATH_MAX], hex[STORE_CAS_HEX_LEN + 1];
	char good[PATH_MAX], torn[PATH_MAX], liar[PATH_MAX], dup[PATH_MAX], tmp_dir[PATH_MAX];
	uint8_t h[4][STORE_CAS_HASH_LEN];
	uint8_t *data[4], *bytes;
	size_t len, bad;
	bool exists;
	store_cas *cas;

	/* Real chunk files, made by a store elsewhere. */
	snprintf(src_root, sizeof(src_root), "%s/source", f->dir);
	cas = open_store(src_root, false, STORE_CAS_SYNC_EACH);
	for (int i = 0; i < 4; i++) {
		data[i] = random_bytes(30000 + (size_t)i, 700 + (uint64_t)i);
		memset(data[i], 0, 10000); /* compressible: a zstd body */
		put_ok(cas, data[i], 30000 + (size_t)i, h[i], true);
	}
	store_cas_free(cas);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	put_ok(cas, data[3], 30003, h[3], true); /* already in place */
	store_cas_free(cas);

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/chunks/tmp", f->root);
	/* 0: complete, its rename lost */
	{
		char src[PATH_MAX];
		store_cas_hash_to_hex(h[0], hex);
		chunk_path_flat(src_root, h[0], src);
		bytes = read_file(src, &len);
		snprintf(good, sizeof(good), "%s/tmp-%s-AbC123", tmp_dir, hex);
		write_file(good, bytes, len, 0600);
		/* 1: torn, half written */
		free(bytes);
		store_cas_hash_to_hex(h[1], hex);
		chunk_path_flat(src_root, h[1], src);
		bytes = read_file(src, &len);
		snprintf(torn, sizeof(torn), "%s/tmp-%s-xYz789", tmp_dir, hex);
		write_file(torn, bytes, len / 2, 0600);
		/* 2: named after chunk 2 but holding chunk 1 */
		store_cas_hash_to_hex(h[2], hex);
		snprintf(liar, sizeof(liar), "%s/tmp-%s-qqqqqq", tmp_dir, hex);
		write_file(liar, bytes, len, 0600);
		free(bytes);
		/* 3: its final name exists already */
		store_cas_hash_to_hex(h[3], hex);
		chunk_path_flat(src_root, h[3], src);
		bytes = read_file(src, &len);
		snprintf(dup, sizeof(dup), "%s/tmp-%s-dup000", tmp_dir, hex);
		write_file(dup, bytes, len, 0600);
		free(bytes);
	}
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	assert_int_equal(count_dir(tmp_dir), 0);
	assert_int_equal(store_cas_exists(cas, h[0], &exists), 0);
	assert_true(exists);
	get_equals(cas, h[0], data[0], 30000);
	get_equals(cas, h[3], data[3], 30003);
	/* Renamed into the flat layout's place. */
	{
		char at[PATH_MAX];
		chunk_path_flat(f->root, h[0], at);
		assert_true(file_exists(at));
		assert_int_equal(count_type(f->root, 'd'), 1 + 1 + 256 + 1); /* root, chunks, fans, tmp */
	}
	assert_int_equal(store_cas_exists(cas, h[1], &exists), 0);
	assert_false(exists);
	assert_int_equal(store_cas_exists(cas, h[2], &exists), 0);
	assert_false(exists);
	assert_int_equal(count_chunks(cas, &bad), 2);
	assert_int_equal(bad, 0);
	store_cas_free(cas);
	for (int i = 0; i < 4; i++)
		free(data[i]);
}

/* Deferred puts name their temp files after the address, and both
 * barriers commit a batch whole. */
static void deferred_round(const char *root, store_cas_barrier barrier)
{
	store_cas_options o;
	store_cas *cas = NULL;
	uint8_t h[12][STORE_CAS_HASH_LEN];
	uint8_t *data[12];
	char tmp_dir[PATH_MAX], cmd[PATH_MAX + 64], hex[STORE_CAS_HEX_LEN + 1], path[PATH_MAX];
	size_t bad;

	store_cas_options_init(&o);
	o.sync = STORE_CAS_SYNC_DEFERRED;
	o.barrier = barrier;
	if (store_cas_open(&cas, root, &o) != 0)
		fail_msg("store_cas_open: %s", arca_error_last());
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/chunks/tmp", store_cas_root(cas));
	for (int i = 0; i < 12; i++) {
		data[i] = random_bytes(70000, 900 + (uint64_t)i + 20 * (uint64_t)barrier);
		put_ok(cas, data[i], 70000, h[i], true);
	}
	store_cas_hash_to_hex(h[5], hex);
	snprintf(cmd, sizeof(cmd), "%s/tmp-%s-*", tmp_dir, hex);
	{
		char sh[PATH_MAX + 128];
		snprintf(sh, sizeof(sh), "ls %s >/dev/null 2>&1", cmd);
		assert_int_equal(system(sh), 0);
	}
	assert_int_equal(count_dir(tmp_dir), 12);
	assert_int_equal(store_cas_sync(cas), 0);
	assert_int_equal(count_dir(tmp_dir), 0);
	assert_int_equal(count_chunks(cas, &bad), 12);
	assert_int_equal(bad, 0);
	for (int i = 0; i < 12; i++) {
		chunk_file(cas, h[i], path);
		assert_true(file_exists(path));
		get_equals(cas, h[i], data[i], 70000);
		free(data[i]);
	}
	store_cas_free(cas);
}

static void test_barriers(void **state)
{
	struct fixture *f = *state;
	char root[PATH_MAX];
	store_cas_options o;
	store_cas *cas = NULL;

	snprintf(root, sizeof(root), "%s/fdatasync", f->dir);
	deferred_round(root, STORE_CAS_BARRIER_FDATASYNC);
	snprintf(root, sizeof(root), "%s/syncfs", f->dir);
	deferred_round(root, STORE_CAS_BARRIER_SYNCFS);
	store_cas_options_init(&o);
	o.barrier = (store_cas_barrier)7;
	assert_int_equal(store_cas_open(&cas, root, &o), ARCA_EINVAL);
	assert_null(cas);
	assert_non_null(strstr(arca_error_last(), "barrier"));
}

/* ---- iterator ---- */

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, STORE_CAS_HASH_LEN);
}

static void test_iterator(void **state)
{
	struct fixture *f = *state;
	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	enum { N = 60 };
	uint8_t h[N][STORE_CAS_HASH_LEN];
	uint8_t seen[N][STORE_CAS_HASH_LEN];
	char path[PATH_MAX], wrong[PATH_MAX], hex[STORE_CAS_HEX_LEN + 1];
	size_t n = 0, nbad = 0;
	bool saw_junk = false, saw_misplaced = false, saw_baddir = false;

	for (int i = 0; i < N; i++) {
		uint8_t *d = random_bytes(100 + (size_t)i, 700 + (uint64_t)i);
		put_ok(cas, d, 100 + (size_t)i, h[i], true);
		free(d);
	}
	/* Faults a checker must name: a stray file, a chunk under the wrong
	 * directory, a directory that is not a fan-out name. */
	chunk_file(cas, h[0], path);
	store_cas_hash_to_hex(h[0], hex);
	char leafdir[PATH_MAX];
	snprintf(leafdir, sizeof(leafdir), "%.*s", (int)(strrchr(path, '/') - path), path);
	snprintf(wrong, sizeof(wrong), "%s/junk.txt", leafdir);
	write_file(wrong, "x", 1, 0600);
	char misdir[PATH_MAX];
	snprintf(misdir, sizeof(misdir), "%s/chunks/%c%c", store_cas_root(cas),
		 hex[0] == '0' ? '1' : '0', hex[1]);
	snprintf(wrong, sizeof(wrong), "%s/%s", misdir, hex);
	write_file(wrong, "y", 1, 0600);
	snprintf(wrong, sizeof(wrong), "%s/chunks/XY", store_cas_root(cas));
	mkdir(wrong, 0750);

	store_cas_iter *it = NULL;
	store_cas_entry e;
	int rc;
	assert_int_equal(store_cas_iter_new(&it, cas), 0);
	while ((rc = store_cas_iter_next(it, &e)) == 1) {
		if (e.bad) {
			nbad++;
			assert_int_equal(e.bad, ARCA_EPROTO);
			assert_true(strlen(e.reason) > 0);
			if (strstr(e.path, "junk.txt") != NULL)
				saw_junk = true;
			else if (strstr(e.path, "/XY") != NULL)
				saw_baddir = true;
			else if (strstr(e.path, hex) != NULL &&
				 strstr(e.reason, "wrong directory") != NULL)
				saw_misplaced = true;
			continue;
		}
		assert_true(n < N);
		if (n > 0) /* ascending address order */
			assert_true(memcmp(seen[n - 1], e.hash, STORE_CAS_HASH_LEN) < 0);
		char p2[PATH_MAX];
		chunk_file(cas, e.hash, p2);
		assert_string_equal(p2, e.path);
		memcpy(seen[n++], e.hash, STORE_CAS_HASH_LEN);
	}
	assert_int_equal(rc, 0);
	store_cas_iter_free(it);
	assert_int_equal(n, N);
	assert_int_equal(nbad, 3);
	assert_true(saw_junk && saw_misplaced && saw_baddir);
	qsort(h, N, STORE_CAS_HASH_LEN, cmp_hash);
	assert_memory_equal(h, seen, sizeof(seen));
	store_cas_free(cas);
}

/* ---- the directory layout (docs/storage-format.md section 1) ---- */

static void layout_file(const char *root, char path[PATH_MAX])
{
	snprintf(path, PATH_MAX, "%s/cas.layout", root);
}

/* Data whose address starts with the byte first (a few hundred tries). */
static uint8_t *data_in_fan(uint8_t first, size_t len, uint64_t seed, uint8_t hash[STORE_CAS_HASH_LEN])
{
	for (uint64_t i = 0;; i++) {
		uint8_t *d = random_bytes(len, seed + i);
		assert_int_equal(store_cas_hash(d, len, hash), 0);
		if (hash[0] == first)
			return d;
		free(d);
	}
}

/* A new store: cas.layout says flat256, chunks/ holds tmp/ and exactly the
 * 256 fan-out directories, and puts (both sync modes, also after a reopen)
 * land in chunks/ab/<hex> without making a single directory. */
static void test_layout_new(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], chunks[PATH_MAX], dir[PATH_MAX];
	uint8_t h[STORE_CAS_HASH_LEN];
	struct stat st;
	size_t len;

	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	layout_file(f->root, path);
	uint8_t *text = read_file(path, &len);
	assert_int_equal(len, strlen("arca-chunks 2 flat256\n"));
	assert_memory_equal(text, "arca-chunks 2 flat256\n", len);
	free(text);
	/* Beside cas.lock, not under chunks/ (which holds no file at all). */
	snprintf(chunks, sizeof(chunks), "%s/chunks", f->root);
	assert_int_equal(count_dir(chunks), 0);
	assert_int_equal(count_type(chunks, 'd'), 1 + 1 + 256);
	for (unsigned i = 0; i < 256; i++) {
		snprintf(dir, sizeof(dir), "%s/%02x", chunks, i);
		assert_int_equal(stat(dir, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0750);
	}

	/* 600 puts: every one lands at chunks/ab/<hex>, and the directory
	 * count never moves (no mkdir at put). */
	enum { N = 300 };
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			store_cas_free(cas);
			cas = open_store(f->root, false, STORE_CAS_SYNC_DEFERRED);
		}
		for (int i = 0; i < N; i++) {
			uint8_t *d = random_bytes(64 + (size_t)i, 5000 + (uint64_t)(round * N + i));
			put_ok(cas, d, 64 + (size_t)i, h, true);
			free(d);
			if (round == 1 && i % 50 == 49)
				assert_int_equal(store_cas_sync(cas), 0);
			if (round == 0 || i % 50 == 49) {
				chunk_path_flat(f->root, h, path);
				assert_true(file_exists(path));
			}
		}
		assert_int_equal(store_cas_sync(cas), 0);
		assert_int_equal(count_type(chunks, 'd'), 1 + 1 + 256);
		assert_int_equal(count_dir(chunks), (size_t)(round + 1) * N);
	}
	size_t bad;
	assert_int_equal(count_chunks(cas, &bad), 2 * N);
	assert_int_equal(bad, 0);
	store_cas_free(cas);
	/* Reopening changes nothing: the file is read, not rewritten. */
	layout_file(f->root, path);
	assert_int_equal(stat(path, &st), 0);
	struct timespec before = st.st_mtim;
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, before.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, before.tv_nsec);
	assert_int_equal(count_type(chunks, 'd'), 1 + 1 + 256);
	store_cas_free(cas);
}

/* A crash while the store was being made (some fan-out directories, no
 * cas.layout): the next open finishes the job. */
static void test_layout_interrupted_creation(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], chunks[PATH_MAX];
	uint8_t h[STORE_CAS_HASH_LEN];

	snprintf(chunks, sizeof(chunks), "%s/chunks", f->root);
	assert_int_equal(mkdir(f->root, 0750), 0);
	assert_int_equal(mkdir(chunks, 0750), 0);
	snprintf(path, sizeof(path), "%s/tmp", chunks);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(path, sizeof(path), "%s/00", chunks);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(path, sizeof(path), "%s/7f", chunks);
	assert_int_equal(mkdir(path, 0750), 0);
	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	layout_file(f->root, path);
	assert_true(file_exists(path));
	assert_int_equal(count_type(chunks, 'd'), 1 + 1 + 256);
	uint8_t *d = random_bytes(1000, 77);
	put_ok(cas, d, 1000, h, true);
	chunk_path_flat(f->root, h, path);
	assert_true(file_exists(path));
	free(d);
	store_cas_free(cas);
}

/* A store made before cas.layout: chunks/ab/cd/<hex>, no layout file.  It
 * opens, reads, puts (both modes) into the nested layout, iterates, gets
 * its temp files recovered into the nested layout, and never gains a
 * cas.layout or the 256 directories. */
static void test_layout_legacy(void **state)
{
	struct fixture *f = *state;
	char src_root[PATH_MAX], src[PATH_MAX], at[PATH_MAX], dir[PATH_MAX], chunks[PATH_MAX];
	char tmp[PATH_MAX], hex[STORE_CAS_HEX_LEN + 1];
	enum { OLD = 5 };
	uint8_t h_old[OLD][STORE_CAS_HASH_LEN], h[STORE_CAS_HASH_LEN], h_tmp[STORE_CAS_HASH_LEN];
	uint8_t *old[OLD], *bytes;
	size_t len, bad;
	bool exists;

	/* Chunk files (their format does not depend on the layout), made by
	 * a store elsewhere and moved by hand into nested places. */
	snprintf(src_root, sizeof(src_root), "%s/source", f->dir);
	store_cas *cas = open_store(src_root, false, STORE_CAS_SYNC_EACH);
	for (int i = 0; i < OLD; i++) {
		old[i] = random_bytes(5000 + (size_t)i, 8100 + (uint64_t)i);
		memset(old[i], 0, 1000);
		put_ok(cas, old[i], 5000 + (size_t)i, h_old[i], true);
	}
	uint8_t *pending = random_bytes(7000, 8200);
	put_ok(cas, pending, 7000, h_tmp, true);
	store_cas_free(cas);

	snprintf(chunks, sizeof(chunks), "%s/chunks", f->root);
	assert_int_equal(mkdir(f->root, 0750), 0);
	assert_int_equal(mkdir(chunks, 0750), 0);
	snprintf(tmp, sizeof(tmp), "%s/tmp", chunks);
	assert_int_equal(mkdir(tmp, 0750), 0);
	for (int i = 0; i < OLD; i++) {
		store_cas_hash_to_hex(h_old[i], hex);
		snprintf(dir, sizeof(dir), "%s/%.2s", chunks, hex);
		mkdir(dir, 0750);
		snprintf(dir, sizeof(dir), "%s/%.2s/%.2s", chunks, hex, hex + 2);
		mkdir(dir, 0750);
		chunk_path_flat(src_root, h_old[i], src);
		chunk_path_nested(f->root, h_old[i], at);
		assert_int_equal(rename(src, at), 0);
	}
	/* A crashed deferred sync's leftover, named after its address. */
	store_cas_hash_to_hex(h_tmp, hex);
	chunk_path_flat(src_root, h_tmp, src);
	bytes = read_file(src, &len);
	snprintf(at, sizeof(at), "%s/tmp-%s-Lg0001", tmp, hex);
	write_file(at, bytes, len, 0600);
	free(bytes);
	size_t dirs_before = count_type(chunks, 'd');

	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	layout_file(f->root, at);
	assert_false(file_exists(at));
	/* recovered into ab/cd (its two directories made for it) */
	assert_int_equal(count_dir(tmp), 0);
	chunk_path_nested(f->root, h_tmp, at);
	assert_true(file_exists(at));
	get_equals(cas, h_tmp, pending, 7000);
	for (int i = 0; i < OLD; i++) {
		get_equals(cas, h_old[i], old[i], 5000 + (size_t)i);
		assert_int_equal(store_cas_exists(cas, h_old[i], &exists), 0);
		assert_true(exists);
		put_ok(cas, old[i], 5000 + (size_t)i, h, false); /* dedup */
	}
	/* new puts go to ab/cd, directories made on first use */
	uint8_t *d = random_bytes(3000, 8300);
	put_ok(cas, d, 3000, h, true);
	chunk_path_nested(f->root, h, at);
	assert_true(file_exists(at));
	chunk_path_flat(f->root, h, at);
	assert_false(file_exists(at));
	get_equals(cas, h, d, 3000);
	store_cas_free(cas);

	cas = open_store(f->root, false, STORE_CAS_SYNC_DEFERRED);
	uint8_t *d2 = random_bytes(3000, 8301);
	put_ok(cas, d2, 3000, h, true);
	assert_int_equal(store_cas_sync(cas), 0);
	chunk_path_nested(f->root, h, at);
	assert_true(file_exists(at));
	/* the walk: every chunk, in order, at its nested path, none bad */
	store_cas_iter *it = NULL;
	store_cas_entry e;
	uint8_t prev[STORE_CAS_HASH_LEN];
	size_t n = 0;
	int rc;
	assert_int_equal(store_cas_iter_new(&it, cas), 0);
	while ((rc = store_cas_iter_next(it, &e)) == 1) {
		assert_int_equal(e.bad, 0);
		chunk_path_nested(f->root, e.hash, at);
		assert_string_equal(e.path, at);
		if (n > 0)
			assert_true(memcmp(prev, e.hash, STORE_CAS_HASH_LEN) < 0);
		memcpy(prev, e.hash, STORE_CAS_HASH_LEN);
		n++;
	}
	assert_int_equal(rc, 0);
	store_cas_iter_free(it);
	assert_int_equal(n, OLD + 3);
	/* removal (gc) of a nested chunk */
	assert_int_equal(store_cas_remove(cas, h_old[0]), 0);
	assert_int_equal(store_cas_sync(cas), 0);
	chunk_path_nested(f->root, h_old[0], at);
	assert_false(file_exists(at));
	assert_int_equal(count_chunks(cas, &bad), OLD + 2);
	assert_int_equal(bad, 0);
	store_cas_free(cas);
	/* no layout file, and only the directories its chunks needed */
	layout_file(f->root, at);
	assert_false(file_exists(at));
	assert_true(count_type(chunks, 'd') <= dirs_before + 6);
	assert_true(count_type(chunks, 'd') < 256);

	/* The same layout named explicitly in cas.layout reads the same. */
	write_file(at, "arca-chunks 1 nested\n", 21, 0640);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	get_equals(cas, h_old[1], old[1], 5001);
	assert_int_equal(count_chunks(cas, &bad), OLD + 2);
	store_cas_free(cas);

	for (int i = 0; i < OLD; i++)
		free(old[i]);
	free(pending);
	free(d);
	free(d2);
}

static void expect_open_fails(const char *root, int code, const char *needle)
{
	store_cas *cas = NULL;
	char file[PATH_MAX];
	int rc = store_cas_open(&cas, root, NULL);

	layout_file(root, file);
	if (rc != code)
		fail_msg("open with a bad cas.layout: %d (%s), want %d", rc, arca_error_last(), code);
	assert_null(cas);
	if (strstr(arca_error_last(), file) == NULL || strstr(arca_error_last(), needle) == NULL)
		fail_msg("message does not name %s and \"%s\": %s", file, needle, arca_error_last());
	assert_null(strchr(arca_error_last(), '\n'));
}

/* A cas.layout this code does not know is refused, naming the file: it
 * must never be guessed, since a wrong guess puts chunks where the store's
 * own arca will not look. */
static void test_layout_damaged(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	uint8_t h[STORE_CAS_HASH_LEN];

	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	uint8_t *d = random_bytes(100, 1);
	put_ok(cas, d, 100, h, true);
	store_cas_free(cas);
	layout_file(f->root, path);

	write_file(path, "", 0, 0640);
	expect_open_fails(f->root, ARCA_EPROTO, "empty");
	write_file(path, "arca-chunks 2 flat256\njunk\n", 27, 0640);
	expect_open_fails(f->root, ARCA_EPROTO, "not a layout line");
	write_file(path, "\x01\x02garbage", 9, 0640);
	expect_open_fails(f->root, ARCA_EPROTO, "??garbage");
	write_file(path, "arca-chunks 2 flat257\n", 22, 0640);
	expect_open_fails(f->root, ARCA_EUNSUPPORTED, "arca-chunks 2 flat257");
	write_file(path, "arca-chunks 3 sharded-4096\n", 27, 0640);
	expect_open_fails(f->root, ARCA_EUNSUPPORTED, "unknown");
	/* a directory where the file should be */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0750), 0);
	expect_open_fails(f->root, ARCA_EIO, "cas.layout");
	assert_int_equal(rmdir(path), 0);

	/* Without its newline (a hand edit) the line still reads. */
	write_file(path, "arca-chunks 2 flat256", 21, 0640);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	get_equals(cas, h, d, 100);
	store_cas_free(cas);
	free(d);
}

/* A flat store whose fan-out directory was removed: puts into it fail
 * naming it (sync each at the put, deferred at the sync), the walk names
 * it, nothing recreates it; once it is back, puts work again. */
static void test_layout_missing_dir(void **state)
{
	struct fixture *f = *state;
	char fan[PATH_MAX], at[PATH_MAX];
	uint8_t h[STORE_CAS_HASH_LEN], hd[STORE_CAS_HASH_LEN];
	store_cas_iter *it = NULL;
	store_cas_entry e;
	bool named = false;
	size_t nbad = 0;
	int rc;

	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	uint8_t *d = data_in_fan(0xa7, 4000, 60000, h);
	snprintf(fan, sizeof(fan), "%s/chunks/a7", f->root);
	assert_int_equal(rmdir(fan), 0);
	assert_int_equal(store_cas_put(cas, d, 4000, hd, NULL), ARCA_EIO);
	assert_non_null(strstr(arca_error_last(), fan));
	assert_non_null(strstr(arca_error_last(), "missing"));
	assert_false(file_exists(fan));

	assert_int_equal(store_cas_iter_new(&it, cas), 0);
	while ((rc = store_cas_iter_next(it, &e)) == 1) {
		nbad += e.bad != 0;
		named |= e.bad != 0 && strcmp(e.path, fan) == 0 && strstr(e.reason, "missing") != NULL;
	}
	assert_int_equal(rc, 0);
	store_cas_iter_free(it);
	assert_int_equal(nbad, 1);
	assert_true(named);
	store_cas_free(cas);

	/* Deferred: the put is pending, the sync fails, and the store says
	 * so until reopened. */
	cas = open_store(f->root, false, STORE_CAS_SYNC_DEFERRED);
	put_ok(cas, d, 4000, hd, true);
	assert_int_equal(store_cas_sync(cas), ARCA_EIO);
	assert_non_null(strstr(arca_error_last(), fan));
	assert_int_equal(store_cas_put(cas, d, 4000, hd, NULL), ARCA_EIO);
	store_cas_free(cas);
	assert_false(file_exists(fan));

	assert_int_equal(mkdir(fan, 0750), 0);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	put_ok(cas, d, 4000, hd, true);
	chunk_path_flat(f->root, h, at);
	assert_true(file_exists(at));
	get_equals(cas, h, d, 4000);
	store_cas_free(cas);
	free(d);
}

/* A crash leftover whose fan-out directory is gone: the open fails naming
 * the directory and keeps the temp file (it may be the only copy of an
 * acknowledged chunk); once the directory is back, the open finishes it. */
static void test_layout_recover_missing_dir(void **state)
{
	struct fixture *f = *state;
	char fan[PATH_MAX], src_root[PATH_MAX], src[PATH_MAX], tmp[PATH_MAX], hex[STORE_CAS_HEX_LEN + 1];
	uint8_t h[STORE_CAS_HASH_LEN];
	store_cas *cas = NULL;
	size_t len;

	snprintf(src_root, sizeof(src_root), "%s/source", f->dir);
	cas = open_store(src_root, false, STORE_CAS_SYNC_EACH);
	uint8_t *d = data_in_fan(0x3c, 4000, 70000, h);
	put_ok(cas, d, 4000, h, true);
	store_cas_free(cas);
	store_cas_free(open_store(f->root, false, STORE_CAS_SYNC_EACH));

	chunk_path_flat(src_root, h, src);
	uint8_t *bytes = read_file(src, &len);
	store_cas_hash_to_hex(h, hex);
	snprintf(tmp, sizeof(tmp), "%s/chunks/tmp/tmp-%s-Rm0001", f->root, hex);
	write_file(tmp, bytes, len, 0600);
	free(bytes);
	snprintf(fan, sizeof(fan), "%s/chunks/3c", f->root);
	assert_int_equal(rmdir(fan), 0);
	assert_int_equal(store_cas_open(&cas, f->root, NULL), ARCA_EIO);
	assert_null(cas);
	assert_non_null(strstr(arca_error_last(), fan));
	assert_true(file_exists(tmp));

	assert_int_equal(mkdir(fan, 0750), 0);
	cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	assert_false(file_exists(tmp));
	get_equals(cas, h, d, 4000);
	store_cas_free(cas);
	free(d);
}

/* ---- figures (printed, not asserted) ---- */

/* A smooth 512x512 16-bit CT-like slice (stored values = HU + 1024):
 * air around an elliptic body, a fat rim, two lungs, a spine, smooth
 * shading, and noise of about 12 HU in tissue, so compression sees what a
 * real slice offers rather than flat regions. */
static void make_ct_slice(uint8_t *out, int w, int h, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
	double cx = w / 2.0 + (double)(seed % 7) - 3, cy = h / 2.0 + (double)(seed % 5) - 2;

	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			double dx = (x - cx) / (0.42 * w), dy = (y - cy) / (0.32 * h);
			double r = dx * dx + dy * dy;
			double hu, sigma;
			if (r > 1.0) {
				hu = -1000;
				sigma = 3;
			} else if (r > 0.85) {
				hu = -90;
				sigma = 10;
			} else {
				hu = 40 + 15 * (dx + dy) + 8 * (double)((x / 40 + y / 40) % 2);
				sigma = 12;
				double lx = (dx < 0 ? -dx : dx) - 0.45, ly = dy + 0.05;
				if (lx * lx / 0.08 + ly * ly / 0.35 < 1.0) {
					hu = -820 + 60 * ly;
					sigma = 15;
				}
				double sx = dx, sy = dy - 0.62;
				if (sx * sx + sy * sy < 0.012)
					hu = 700 + 300 * (0.012 - (sx * sx + sy * sy)) / 0.012;
			}
			/* Sum of four uniforms: close enough to Gaussian. */
			double n = 0;
			for (int k = 0; k < 4; k++)
				n += (double)(rng_next(&s) >> 11) / 9007199254740992.0 - 0.5;
			double v = hu + 1024 + n * sigma * 1.7;
			if (v < 0)
				v = 0;
			if (v > 4095)
				v = 4095;
			uint16_t pv = (uint16_t)(v + 0.5);
			out[2 * (y * w + x)] = (uint8_t)pv;
			out[2 * (y * w + x) + 1] = (uint8_t)(pv >> 8);
		}
	}
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints two rates: CPU (this thread's CPU time for the puts: hash,
 * compress, seal, write; what a worker core sustains, whatever else the
 * machine runs) and wall (puts plus the fsyncs, on this machine's disk). */
static void measure(const char *root, int level, bool encrypt, store_cas_sync_mode mode,
		    uint8_t **slices, int n, size_t len)
{
	store_cas_options o;
	store_cas *cas = NULL;
	uint64_t stored = 0;
	uint8_t h[STORE_CAS_HASH_LEN];
	store_cas_info info;
	double mb = (double)n * (double)len / 1e6;

	store_cas_options_init(&o);
	o.zstd_level = level;
	o.encrypt = encrypt;
	o.sync = mode;
	assert_int_equal(store_cas_open(&cas, root, &o), 0);
	double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	for (int i = 0; i < n; i++)
		put_ok(cas, slices[i], len, h, true);
	double c1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	assert_int_equal(store_cas_sync(cas), 0);
	double w1 = clock_s(CLOCK_MONOTONIC);
	for (int i = 0; i < n; i++) {
		assert_int_equal(store_cas_hash(slices[i], len, h), 0);
		assert_int_equal(store_cas_stat(cas, h, &info), 0);
		stored += info.stored_size;
	}
	printf("# put %d x %zu KiB CT-like, zstd %d%s, %s: CPU %.0f MB/s, wall %.0f MB/s, "
	       "stored/raw %.3f\n", n, len / 1024, level, encrypt ? " + AES-256-GCM" : "",
	       mode == STORE_CAS_SYNC_EACH ? "fsync each" : "one group sync", mb / (c1 - c0),
	       mb / (w1 - w0), (double)stored / ((double)n * (double)len));
	store_cas_free(cas);
}

/* 16-bit samples are compressed as two byte planes (flag 0x04): smaller,
 * and read back byte for byte, sealed or not; 8-bit-like data is not
 * split; a planes flag on a raw chunk, or on an odd length, is refused. */
static void test_planes16(void **state)
{
	struct fixture *f = *state;
	const size_t len = (size_t)512 * 512 * 2;
	uint8_t *slice = malloc(len), *bytes;
	uint8_t h[STORE_CAS_HASH_LEN], h8[STORE_CAS_HASH_LEN], hr[STORE_CAS_HASH_LEN];
	char path[PATH_MAX];
	store_cas_info info;
	size_t n;

	assert_non_null(slice);
	make_ct_slice(slice, 512, 512, 77);
	for (int sealed = 0; sealed <= 1; sealed++) {
		char root[PATH_MAX];
		snprintf(root, sizeof(root), "%s/planes%d", f->dir, sealed);
		store_cas *cas = open_store(root, sealed != 0, STORE_CAS_SYNC_EACH);
		put_ok(cas, slice, len, h, true);
		get_equals(cas, h, slice, len);
		assert_int_equal(store_cas_stat(cas, h, &info), 0);
		assert_true(info.compressed);
		assert_true(info.stored_size < len * 6 / 10);
		chunk_file(cas, h, path);
		bytes = read_file(path, &n);
		assert_int_equal(bytes[5] & 0x04, 0x04);
		free(bytes);
		store_cas_free(cas);
	}

	/* Bytes that look like interleaved 8-bit data: no planes. */
	store_cas *cas = open_store(f->root, false, STORE_CAS_SYNC_EACH);
	uint8_t *gray = malloc(len);
	assert_non_null(gray);
	for (size_t i = 0; i < len; i++)
		gray[i] = (uint8_t)((i / 2) % 251);
	put_ok(cas, gray, len, h8, true);
	chunk_file(cas, h8, path);
	bytes = read_file(path, &n);
	assert_int_equal(bytes[5] & 0x04, 0);
	free(bytes);
	get_equals(cas, h8, gray, len);

	/* The flag where it cannot be: a raw chunk (random bytes). */
	uint8_t *rnd = random_bytes(20000, 4242);
	put_ok(cas, rnd, 20000, hr, true);
	chunk_file(cas, hr, path);
	bytes = read_file(path, &n);
	assert_int_equal(bytes[5], 0);
	bytes[5] = 0x04;
	assert_int_equal(unlink(path), 0);
	write_file(path, bytes, n, 0600);
	free(bytes);
	assert_int_equal(store_cas_verify(cas, hr), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "byte planes"));
	store_cas_free(cas);
	free(rnd);
	free(gray);
	free(slice);
}

static void test_put_rate(void **state)
{
	struct fixture *f = *state;
	enum { N = 24 };
	const size_t len = 512 * 512 * 2;
	uint8_t *slices[N];
	char root[160];

	for (int i = 0; i < N; i++) {
		slices[i] = malloc(len);
		assert_non_null(slices[i]);
		make_ct_slice(slices[i], 512, 512, 40 + (uint64_t)i);
	}
	snprintf(root, sizeof(root), "%s/l1", f->dir);
	measure(root, 1, false, STORE_CAS_SYNC_DEFERRED, slices, N, len);
	snprintf(root, sizeof(root), "%s/l3", f->dir);
	measure(root, 3, false, STORE_CAS_SYNC_DEFERRED, slices, N, len);
	snprintf(root, sizeof(root), "%s/l3e", f->dir);
	measure(root, 3, true, STORE_CAS_SYNC_DEFERRED, slices, N, len);
	snprintf(root, sizeof(root), "%s/l3each", f->dir);
	measure(root, 3, false, STORE_CAS_SYNC_EACH, slices, N, len);
	for (int i = 0; i < N; i++)
		free(slices[i]);

	/* Real CT when the samples are there: the last 512 KiB of each file,
	 * which is its 512x512 16-bit Pixel Data. */
	const char *samples = getenv("ARCA_SAMPLES");
	const char *files[] = { "wg04/CT2_UNC", "octave-dicom/CT-MONO2-16-ankle.dcm",
				"fo-dicom/GH1308.dcm" };
	if (samples == NULL) {
		printf("# real CT ratios skipped: ARCA_SAMPLES not set\n");
		return;
	}
	snprintf(root, sizeof(root), "%s/real", f->dir);
	store_cas *cas = open_store(root, false, STORE_CAS_SYNC_EACH);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[PATH_MAX];
		size_t flen;
		uint8_t h[STORE_CAS_HASH_LEN];
		store_cas_info info;
		snprintf(path, sizeof(path), "%s/%s", samples, files[i]);
		if (!file_exists(path)) {
			printf("# %s: absent, skipped\n", files[i]);
			continue;
		}
		uint8_t *whole = read_file(path, &flen);
		if (flen >= len) {
			bool is_new;
			assert_int_equal(store_cas_put(cas, whole + flen - len, len, h, &is_new), 0);
			assert_int_equal(store_cas_stat(cas, h, &info), 0);
			printf("# real CT %s pixel data, zstd 3: stored/raw %.3f\n", files[i],
			       (double)info.stored_size / (double)len);
		}
		free(whole);
	}
	store_cas_free(cas);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_hex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encryption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_puts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_barriers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iterator, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_interrupted_creation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_recover_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planes16, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_rate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
