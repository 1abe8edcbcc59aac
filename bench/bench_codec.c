/* bench_codec.c - the chunk codecs on real pixel data: stored/raw and CPU
 * time per 0.5 MB of the encoder (store_cas__encode, as a put runs it:
 * the samples test, the byte-plane split, the zstd frames) and of the
 * decoder (frames, join), for each codec of docs/storage-format.md
 * section 2 at zstd level 1; and the byte-plane split and join alone, SSE2
 * against the scalar loop.  One thread; times are the thread's CPU time,
 * so other load on the machine disturbs them little.
 *
 *   bench_codec [-t TAIL] [-n PASSES] FILE...
 *
 * TAIL: use the last TAIL bytes of each file (the pixel data of the
 * bench's generated CT: 524288); default the whole file.  Files are cut
 * into chunks of at most 4 MiB as the ingest cuts pixel data. */
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "store_cas.h"
#include "store_cas_priv.h"

#define HALF_MB 524288.0

struct input {
	uint8_t *p;
	size_t n;
};

static double cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int load(const char *path, size_t tail, struct input *in)
{
	FILE *f = fopen(path, "rb");
	long sz;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0) {
		fprintf(stderr, "bench_codec: cannot read %s\n", path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	in->n = tail > 0 && tail < (size_t)sz ? tail : (size_t)sz;
	in->p = malloc(in->n > 0 ? in->n : 1);
	if (in->p == NULL || fseek(f, sz - (long)in->n, SEEK_SET) != 0 ||
	    fread(in->p, 1, in->n, f) != in->n) {
		fprintf(stderr, "bench_codec: cannot read %s\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* Encodes and decodes every chunk of every input `passes` times under one
 * codec; prints the figures. */
static int run_codec(const char *dir, const char *name, store_cas_codec codec, struct input *in,
		     size_t n_in, int passes)
{
	char root[512];
	store_cas_options o;
	store_cas *cas = NULL;
	double enc = 0, dec = 0;
	uint64_t raw = 0, stored = 0;

	snprintf(root, sizeof(root), "%s/%s", dir, name);
	store_cas_options_init(&o);
	o.codec = codec;
	o.zstd_level = 1;
	if (store_cas_open(&cas, root, &o) != 0) {
		fprintf(stderr, "bench_codec: %s\n", arca_error_last());
		return -1;
	}
	for (int pass = 0; pass < passes; pass++) {
		for (size_t i = 0; i < n_in; i++) {
			for (size_t at = 0; at < in[i].n || (at == 0 && in[i].n == 0);
			     at += STORE_CAS_CHUNK_DEFAULT) {
				size_t len = in[i].n - at < STORE_CAS_CHUNK_DEFAULT ? in[i].n - at
										  : STORE_CAS_CHUNK_DEFAULT;
				uint8_t hash[STORE_CAS_HASH_LEN], *file, *plain = NULL;
				store_cas_encoded e;
				store_cas_header h;
				size_t size;
				double t0, t1, t2;

				if (store_cas_hash(in[i].p + at, len, hash) != 0)
					return -1;
				t0 = cpu_ms();
				if (store_cas__encode(cas, hash, in[i].p + at, len, &e) != 0) {
					fprintf(stderr, "bench_codec: %s\n", arca_error_last());
					return -1;
				}
				t1 = cpu_ms();
				size = STORE_CAS_HEADER_LEN + e.body_len;
				file = malloc(size);
				if (file == NULL)
					return -1;
				memcpy(file, e.header, STORE_CAS_HEADER_LEN);
				memcpy(file + STORE_CAS_HEADER_LEN, e.body, e.body_len);
				free(e.own);
				t2 = cpu_ms();
				if (store_cas__header_decode(file, size, size, "bench", &h) != 0 ||
				    store_cas__decode(cas, hash, &h, file, size, "bench", &plain) != 0) {
					fprintf(stderr, "bench_codec: %s\n", arca_error_last());
					return -1;
				}
				dec += cpu_ms() - t2;
				enc += t1 - t0;
				if (memcmp(plain, in[i].p + at, len) != 0) {
					fprintf(stderr, "bench_codec: %s: chunk does not decode back\n", name);
					return -1;
				}
				if (plain != file)
					free(plain);
				free(file);
				if (pass == 0) {
					raw += len;
					stored += size;
				}
				if (in[i].n == 0)
					break;
			}
		}
	}
	double units = (double)raw * passes / HALF_MB;
	printf("codec %-5s stored/raw %.3f  encode %.3f ms  decode %.3f ms per 0.5 MB\n", name,
	       raw > 0 ? (double)stored / (double)raw : 0.0, units > 0 ? enc / units : 0.0,
	       units > 0 ? dec / units : 0.0);
	store_cas_free(cas);
	return 0;
}

static void run_planes(struct input *in, size_t n_in, int passes)
{
	double t[4] = { 0, 0, 0, 0 };
	uint64_t bytes = 0;

	for (size_t i = 0; i < n_in; i++) {
		size_t half = in[i].n / 2;
		uint8_t *planes = malloc(2 * half + 1), *back = malloc(2 * half + 1);
		double t0;

		if (planes == NULL || back == NULL)
			abort();
		for (int pass = 0; pass < passes; pass++) {
			t0 = cpu_ms();
			store_cas__planes_split_scalar(in[i].p, half, planes, planes + half);
			t[0] += cpu_ms() - t0;
			t0 = cpu_ms();
			store_cas__planes_split(in[i].p, half, planes, planes + half);
			t[1] += cpu_ms() - t0;
			t0 = cpu_ms();
			store_cas__planes_join_scalar(planes, planes + half, half, back);
			t[2] += cpu_ms() - t0;
			t0 = cpu_ms();
			store_cas__planes_join(planes, planes + half, half, back);
			t[3] += cpu_ms() - t0;
		}
		bytes += 2 * half;
		free(planes);
		free(back);
	}
	double units = (double)bytes * passes / HALF_MB;
	if (units > 0)
		printf("planes split scalar %.3f ms, %s %.3f ms; join scalar %.3f ms, %s %.3f ms "
		       "per 0.5 MB\n", t[0] / units,
#if defined(__SSE2__)
		       "SSE2",
#else
		       "built",
#endif
		       t[1] / units, t[2] / units,
#if defined(__SSE2__)
		       "SSE2",
#else
		       "built",
#endif
		       t[3] / units);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	size_t tail = 0, n_in = 0;
	int passes = 3, opt, rc = 0;
	struct input *in;
	char dir[] = "/tmp/bench_codec.XXXXXX";

	while ((opt = getopt(argc, argv, "t:n:")) != -1) {
		if (opt == 't')
			tail = strtoul(optarg, NULL, 10);
		else if (opt == 'n' && atoi(optarg) > 0)
			passes = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench_codec [-t TAIL] [-n PASSES] FILE...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: bench_codec [-t TAIL] [-n PASSES] FILE...\n");
		return 2;
	}
	in = calloc((size_t)(argc - optind), sizeof(*in));
	if (in == NULL)
		return 1;
	uint64_t total = 0;
	for (int i = optind; i < argc; i++) {
		if (load(argv[i], tail, &in[n_in]) != 0)
			return 2;
		total += in[n_in++].n;
	}
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench_codec: cannot make %s\n", dir);
		return 1;
	}
	printf("# %zu inputs, %llu bytes, %d passes, zstd level 1, one thread\n", n_in,
	       (unsigned long long)total, passes);
	if (run_codec(dir, "fast", STORE_CAS_CODEC_FAST, in, n_in, passes) != 0 ||
	    run_codec(dir, "small", STORE_CAS_CODEC_SMALL, in, n_in, passes) != 0)
		rc = 1;
	run_planes(in, n_in, passes);
	for (size_t i = 0; i < n_in; i++)
		free(in[i].p);
	free(in);
	/* the stores hold no chunk (nothing was put): only their skeletons */
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		rc = 1;
	return rc;
}
