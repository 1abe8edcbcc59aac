/* fuzz_chunk.c - libFuzzer target for the chunk file reader
 * (store_cas_format.c header checks, store_cas_codec.c body decoding of
 * every form, store_cas_zstd.c frames; docs/storage-format.md section 2):
 * a chunk file is outside input, read back from a disk or a replica.
 *
 * Input: the chunk's 32-byte address, then the bytes of its file.  The
 * header is checked against the file's size and, when it passes, the body
 * decoded (unsealed with the fixed test key below under that address when
 * flag 0x02 is set, then decompressed and joined) into exactly the plain
 * length.  Besides the sanitizers, one
 * oracle: the same input taken as a chunk's plain bytes is encoded under
 * both codecs, sealed and not, and must decode back to itself. */
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_cas.h"
#include "store_cas_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs add nothing the header and frame checks do not see. */
#define FUZZ_INPUT_MAX ((size_t)1 << 20)

/* A fixed key, so that sealed seeds of the corpus (tests/corpus/chunk,
 * made with it) open, and the decoder behind the tag is reached. */
static const uint8_t test_key[32] = {
	0x61, 0x72, 0x63, 0x61, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x63, 0x68, 0x75, 0x6e, 0x6b, 0x2d,
	0x6b, 0x65, 0x79, 0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x61, 0x2d, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74,
};

static store_cas *open_store(const char *dir, const char *name, store_cas_codec codec,
			     bool encrypt)
{
	char root[256], key[300];
	store_cas_options o;
	store_cas *cas = NULL;
	int fd;

	snprintf(root, sizeof(root), "%s/%s", dir, name);
	if (mkdir(root, 0700) != 0)
		abort();
	snprintf(key, sizeof(key), "%s/%s", root, STORE_CAS_KEY_FILE);
	fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, test_key, sizeof(test_key)) != (ssize_t)sizeof(test_key) ||
	    close(fd) != 0)
		abort();
	store_cas_options_init(&o);
	o.codec = codec;
	o.encrypt = encrypt;
	o.zstd_level = 1;
	if (store_cas_open(&cas, root, &o) != 0)
		abort();
	return cas;
}

struct stores {
	char dir[32];
	store_cas *v[4];
};

/* The stores live for the whole process: a fuzz target has no setup or
 * teardown call (libFuzzer runs it millions of times), so they are opened
 * at the first input and removed at exit. */
static struct stores the_stores;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void stores_free(void)
{
	for (int i = 0; i < 4; i++)
		store_cas_free(the_stores.v[i]);
	nftw(the_stores.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct stores *stores_get(void)
{
	struct stores *s = &the_stores;

	if (s->v[0] != NULL)
		return s;
	snprintf(s->dir, sizeof(s->dir), "/tmp/arca-fuzz-chunk.XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		abort();
	s->v[0] = open_store(s->dir, "fast", STORE_CAS_CODEC_FAST, false);
	s->v[1] = open_store(s->dir, "fast-sealed", STORE_CAS_CODEC_FAST, true);
	s->v[2] = open_store(s->dir, "small", STORE_CAS_CODEC_SMALL, false);
	s->v[3] = open_store(s->dir, "small-sealed", STORE_CAS_CODEC_SMALL, true);
	atexit(stores_free);
	return s;
}

/* Header, then body, as store_cas_get reads a file (the CRC aside: a
 * fuzzer would rarely get past it, and it guards nothing the decoder
 * relies on; the SHA-256 check after decoding is the caller's). */
static void read_chunk(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const uint8_t *data,
		       size_t size)
{
	store_cas_header h;
	uint8_t *buf, *plain = NULL;

	if (store_cas__header_decode(data, size, size, "fuzz", &h) != 0)
		return;
	buf = malloc(size);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	if (store_cas__decode(cas, hash, &h, buf, size, "fuzz", &plain) == 0) {
		/* touch every byte the decoder says it produced */
		volatile uint8_t sum = 0;
		for (uint64_t i = 0; i < h.plain_len; i++)
			sum ^= plain[i];
		(void)sum;
	}
	if (plain != buf)
		free(plain);
	free(buf);
}

/* The input as plain bytes: each codec's encoding decodes back to it. */
static void round_trip(store_cas *cas, const uint8_t *data, size_t size)
{
	store_cas_encoded e;
	store_cas_header h;
	uint8_t hash[STORE_CAS_HASH_LEN], *file, *plain = NULL;
	size_t tag, fsize;

	if (store_cas_hash(data, size, hash) != 0 || store_cas__encode(cas, hash, data, size, &e) != 0)
		abort();
	tag = e.sealed ? STORE_CAS_TAG_LEN : 0;
	fsize = STORE_CAS_HEADER_LEN + e.body_len + tag;
	file = malloc(fsize);
	if (file == NULL)
		abort();
	memcpy(file, e.header, STORE_CAS_HEADER_LEN);
	if (e.body_len > 0)
		memcpy(file + STORE_CAS_HEADER_LEN, e.body, e.body_len);
	if (tag > 0)
		memcpy(file + STORE_CAS_HEADER_LEN + e.body_len, e.tag, tag);
	free(e.own);
	if (store_cas__header_decode(file, fsize, fsize, "fuzz", &h) != 0 ||
	    store_cas__checksum(file, file + STORE_CAS_HEADER_LEN, e.body_len,
				file + STORE_CAS_HEADER_LEN + e.body_len, tag) != h.crc ||
	    h.plain_len != size ||
	    store_cas__decode(cas, hash, &h, file, fsize, "fuzz", &plain) != 0 ||
	    (size > 0 && memcmp(plain, data, size) != 0))
		abort();
	if (plain != file)
		free(plain);
	free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stores *s;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	s = stores_get();
	if (size >= STORE_CAS_HASH_LEN)
		read_chunk(s->v[1], data, data + STORE_CAS_HASH_LEN, size - STORE_CAS_HASH_LEN);
	for (int i = 0; i < 4; i++)
		round_trip(s->v[i], data, size);
	return 0;
}
