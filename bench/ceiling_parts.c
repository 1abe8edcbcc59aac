/* ceiling_parts.c - the irreducible costs of a durable, content-addressed
 * ingest, measured on this machine (bench/ceiling.sh turns them into an
 * upper bound on arcad's C-STORE rate).  Every figure comes from this run:
 *
 *   - SHA-256 (store_cas_hash, the chunk-address hash) of the pixel data of
 *     the bench's CT instances, and of the whole Part 10 file (the instance
 *     hash runs over the canonical Part 10 stream, so the pixel bytes are
 *     hashed twice);
 *   - the chunk codec (store_cas__encode: byte planes, zstd, header and
 *     checksum, the code store_cas_put runs) on that pixel data, with both
 *     codecs of 16-bit samples (fast, the ingest's default, and small), and
 *     the stored size; store_cas_put on a deferred-sync store as a
 *     cross-check (hash + codec + temp file in the page cache, no fdatasync);
 *   - write + fdatasync of a new file in a fresh directory: of the chunk as
 *     each codec encodes it, of the raw pixel data, of 4 KB (a manifest);
 *   - a 4 KB overwrite + fdatasync inside a preallocated, already written
 *     file: the best case of an index WAL commit or a chain journal append;
 *   - durable bandwidth: batches of new files written, then fdatasync'ed in
 *     parallel from a few threads with the directory's fsync, as
 *     store_cas_sync's group commit does;
 *   - memcpy of the pixel data (about what the kernel's receive copy costs).
 *
 * CPU work (hash, codec, memcpy) is timed with the thread's CPU clock, so
 * that time other programs hold the core is not counted; the
 * durable writes are timed on the wall clock (they are waits).
 *
 *   ceiling_parts --input FILE|DIR [--dir DIR] [--count N] [--zstd-level L]
 *                 [--batch B] [--threads T] [--json]
 *
 *   --input        a Part 10 file or a directory of them (the first 16 *.dcm
 *                  in name order): native pixel data (7FE0,0010) needed
 *   --dir          where the durable writes go (a fresh subdirectory, removed
 *                  afterwards); default: the current directory
 *   --count        repetitions of every measurement; default 200
 *   --zstd-level   default 1 (arcad's default, arca.conf [storage] zstd_level)
 *   --batch        files per group-commit batch; default 16
 *   --threads      threads issuing the batch's fdatasyncs; default 4
 *   --json         one flat JSON object, one key per line
 *
 * Exit status: 0, or 2 for bad usage or input (one line on stderr naming
 * what is wrong) and for a failed system call. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "store_cas.h"
#include "store_cas_priv.h"

#define MAX_INPUTS 16
#define TAG_PIXEL_DATA 0x7FE00010u
#define MANIFEST_BYTES 4096

typedef struct options {
	const char *input;
	const char *dir;
	long count;
	int zstd_level;
	long batch;
	long threads;
	bool json;
} options;

/* One CT instance of the bench set: the whole file, its pixel data, and
 * the pixel data as the codec encodes it (header + body + tag). */
typedef struct input {
	uint8_t *file;
	size_t file_len;
	uint8_t *pixel;
	size_t pixel_len;
	uint8_t *encoded[2]; /* by codec_slot */
	size_t encoded_len[2];
} input;

/* The two codecs of chunks of 16-bit samples (store_cas.h): FAST is the
 * ingest's default (arca.conf [storage] codec), SMALL the store's. */
enum codec_slot { SLOT_FAST = 0, SLOT_SMALL = 1 };
static const store_cas_codec slot_codec[2] = { STORE_CAS_CODEC_FAST, STORE_CAS_CODEC_SMALL };
static const char *const slot_name[2] = { "fast", "small" };

typedef struct inputs {
	input v[MAX_INPUTS];
	size_t n;
} inputs;

/* Median and 90th percentile (nearest rank) of a series, in ms. */
typedef struct stat2 {
	double median;
	double p90;
} stat2;

static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("ceiling_parts: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
		fail("out of memory for %zu bytes", n);
	return p;
}

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double wall_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
static double cpu_ms(void) { return clock_ms(CLOCK_THREAD_CPUTIME_ID); }

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static stat2 stats(double *v, size_t n)
{
	stat2 s = { 0, 0 };
	size_t r;

	if (n == 0)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	r = (n * 9 + 9) / 10; /* nearest rank: ceil(0.9 n) */
	s.p90 = v[r - 1];
	return s;
}

static long parse_long(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		fail("%s '%s' is not a number in %ld..%ld", opt, s, lo, hi);
	return v;
}

static void usage(void)
{
	fputs("usage: ceiling_parts --input FILE|DIR [--dir DIR] [--count N] [--zstd-level L]\n"
	      "                     [--batch B] [--threads T] [--json]\n",
	      stderr);
	exit(2);
}

static void parse_args(int argc, char **argv, options *o)
{
	int i;

	o->input = NULL;
	o->dir = ".";
	o->count = 200;
	o->zstd_level = 1;
	o->batch = 16;
	o->threads = 4;
	o->json = false;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;

		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage();
		if (strncmp(a, "--", 2) != 0)
			fail("unexpected argument '%s' (see --help)", a);
		if (!has_value)
			fail("%s needs a value", a);
		if (strcmp(a, "--input") == 0)
			o->input = argv[++i];
		else if (strcmp(a, "--dir") == 0)
			o->dir = argv[++i];
		else if (strcmp(a, "--count") == 0)
			o->count = parse_long(a, argv[++i], 5, 1000000);
		else if (strcmp(a, "--zstd-level") == 0)
			o->zstd_level = (int)parse_long(a, argv[++i], 1, 19);
		else if (strcmp(a, "--batch") == 0)
			o->batch = parse_long(a, argv[++i], 1, 256);
		else if (strcmp(a, "--threads") == 0)
			o->threads = parse_long(a, argv[++i], 1, 64);
		else
			fail("unknown option '%s' (see --help)", a);
	}
	if (o->input == NULL)
		fail("--input FILE|DIR is required (the bench's CT instances)");
}

/* ---------------------------------------------------------------- input */

typedef struct pixel_sink {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool seen;
	bool encapsulated;
} pixel_sink;

/* Collects the native top-level Pixel Data (7FE0,0010) value
 * (PS3.5 7.5 / 8.2: native, little endian after the reader). */
static int pixel_cb(void *ctx, const pacs_bulk_event *ev)
{
	pixel_sink *s = ctx;

	if (ev->tag != TAG_PIXEL_DATA)
		return 0;
	switch (ev->kind) {
	case PACS_BULK_BEGIN:
		if (ev->length == PACS_UNDEFINED_LENGTH) {
			s->encapsulated = true;
			return 0;
		}
		free(s->buf);
		s->buf = xmalloc(ev->length);
		s->cap = ev->length;
		s->len = 0;
		s->seen = true;
		return 0;
	case PACS_BULK_DATA:
		if (s->encapsulated)
			return 0; /* fragments: reported as "no native pixel data" */
		if (!s->seen || ev->data_len > s->cap - s->len)
			return arca_error_set(ARCA_EPROTO, "pixel data longer than its element length");
		memcpy(s->buf + s->len, ev->data, ev->data_len);
		s->len += ev->data_len;
		return 0;
	default:
		return 0;
	}
}

static void read_whole(const char *path, uint8_t **out, size_t *out_len)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) != 0)
		fail("cannot read %s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode) || sb.st_size <= 0 || sb.st_size > (off_t)1 << 30)
		fail("%s: not a regular file of 1 byte to 1 GiB", path);
	buf = xmalloc((size_t)sb.st_size);
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("cannot read %s: %s", path, r < 0 ? strerror(errno) : "short read");
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*out_len = got;
}

static void load_one(const char *path, input *in)
{
	pacs_read_opts ro;
	pixel_sink sink = { 0 };
	pacs_ds *ds = NULL;
	int rc;

	read_whole(path, &in->file, &in->file_len);
	pacs_read_opts_init(&ro);
	ro.input = PACS_INPUT_PART10;
	ro.bulk_threshold = 4096;
	ro.bulk_fn = pixel_cb;
	ro.bulk_ctx = &sink;
	rc = pacs_read_buffer(&ds, in->file, in->file_len, &ro);
	pacs_ds_free(ds);
	if (rc < 0) {
		free(sink.buf);
		fail("%s: %s", path, arca_error_last());
	}
	if (sink.encapsulated || !sink.seen || sink.len != sink.cap || sink.len < 2) {
		free(sink.buf);
		fail("%s: no native Pixel Data (7FE0,0010); the bench needs uncompressed CT (gen_ct)",
		     path);
	}
	in->pixel = sink.buf;
	in->pixel_len = sink.len;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_inputs(const char *path, inputs *ins)
{
	struct stat sb;
	char *names[MAX_INPUTS];
	size_t n = 0, i;
	DIR *d;
	struct dirent *de;

	if (stat(path, &sb) != 0)
		fail("--input %s: %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode)) {
		load_one(path, &ins->v[0]);
		ins->n = 1;
		return;
	}
	d = opendir(path);
	if (d == NULL)
		fail("--input %s: %s", path, strerror(errno));
	/* The first MAX_INPUTS names in order: keep the smallest names seen. */
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char *name;

		if (len < 5 || strcmp(de->d_name + len - 4, ".dcm") != 0)
			continue;
		name = xmalloc(strlen(path) + len + 2);
		sprintf(name, "%s/%s", path, de->d_name);
		if (n < MAX_INPUTS) {
			names[n++] = name;
			qsort(names, n, sizeof(*names), cmp_str);
		} else if (strcmp(name, names[n - 1]) < 0) {
			free(names[n - 1]);
			names[n - 1] = name;
			qsort(names, n, sizeof(*names), cmp_str);
		} else {
			free(name);
		}
	}
	closedir(d);
	if (n == 0)
		fail("--input %s: no *.dcm files in it", path);
	for (i = 0; i < n; i++) {
		load_one(names[i], &ins->v[i]);
		free(names[i]);
	}
	ins->n = n;
}

/* ---------------------------------------------------------------- CPU work */

typedef struct hash_fig {
	stat2 pixel;      /* ms, CPU, bytes just copied into a buffer (hot) */
	stat2 pixel_cold; /* ms, CPU, bytes not touched since the last round */
	stat2 instance;   /* ms, CPU, hot */
} hash_fig;

/* A buffer as large as the largest file: the bytes "just received". */
static uint8_t *work_buffer(const inputs *ins)
{
	size_t cap = 0, k;
	uint8_t *w;

	for (k = 0; k < ins->n; k++)
		if (ins->v[k].file_len > cap)
			cap = ins->v[k].file_len;
	w = xmalloc(cap);
	memset(w, 0, cap);
	return w;
}

/* The ingest hashes bytes it has just copied out of the socket, so the
 * figure used is the hash of a buffer just written (in the cache, as after
 * the receive copy); the hash of bytes not touched for a while (the inputs
 * cycle through more than the L2 cache) is shown beside it. */
static hash_fig measure_sha256(const inputs *ins, long count)
{
	double *a = xmalloc(sizeof(double) * (size_t)count);
	double *b = xmalloc(sizeof(double) * (size_t)count);
	double *c = xmalloc(sizeof(double) * (size_t)count);
	uint8_t *work = work_buffer(ins);
	uint8_t h[STORE_CAS_HASH_LEN];
	hash_fig f;
	long i;

	for (i = 0; i < count; i++) {
		const input *in = &ins->v[(size_t)i % ins->n];
		double t0 = cpu_ms();
		if (store_cas_hash(in->pixel, in->pixel_len, h) < 0)
			fail("SHA-256: %s", arca_error_last());
		c[i] = cpu_ms() - t0;
		memcpy(work, in->pixel, in->pixel_len);
		t0 = cpu_ms();
		if (store_cas_hash(work, in->pixel_len, h) < 0)
			fail("SHA-256: %s", arca_error_last());
		a[i] = cpu_ms() - t0;
		memcpy(work, in->file, in->file_len);
		t0 = cpu_ms();
		if (store_cas_hash(work, in->file_len, h) < 0)
			fail("SHA-256: %s", arca_error_last());
		b[i] = cpu_ms() - t0;
	}
	f.pixel = stats(a, (size_t)count);
	f.instance = stats(b, (size_t)count);
	f.pixel_cold = stats(c, (size_t)count);
	free(work);
	free(a);
	free(b);
	free(c);
	return f;
}

static void rm_tree_quiet(const char *path);

static store_cas *open_store(const char *dir, int level, store_cas_codec codec, char *root_out,
			     size_t cap)
{
	store_cas_options co;
	store_cas *cas = NULL;

	snprintf(root_out, cap, "%s/ceiling-cas-XXXXXX", dir);
	if (mkdtemp(root_out) == NULL)
		fail("cannot make a directory in %s: %s", dir, strerror(errno));
	store_cas_options_init(&co);
	co.zstd_level = level;
	co.codec = codec;
	co.sync = STORE_CAS_SYNC_DEFERRED;
	if (store_cas_open(&cas, root_out, &co) < 0)
		fail("store_cas_open %s: %s", root_out, arca_error_last());
	return cas;
}

typedef struct codec_fig {
	stat2 ms;          /* CPU per chunk */
	double stored;     /* mean stored bytes per chunk (file: header, body, tag) */
	double raw;        /* mean plain bytes per chunk */
	stat2 put_ms;      /* store_cas_put, deferred: wall per chunk */
} codec_fig;

/* store_cas__encode is the codec store_cas_put runs on a new chunk
 * (docs/storage-format.md section 2); the encoded bytes of each input are
 * kept for the durable writes below. */
static codec_fig measure_codec(const options *o, inputs *ins, enum codec_slot slot)
{
	char root[PATH_MAX];
	store_cas *cas = open_store(o->dir, o->zstd_level, slot_codec[slot], root, sizeof(root));
	double *t = xmalloc(sizeof(double) * (size_t)o->count);
	double stored = 0, raw = 0;
	uint8_t *scratch = NULL;
	size_t scratch_cap = 0;
	uint8_t *work = work_buffer(ins);
	codec_fig f;
	long i;

	for (i = 0; i < o->count; i++) {
		input *in = &ins->v[(size_t)i % ins->n];
		uint8_t h[STORE_CAS_HASH_LEN];
		store_cas_encoded e;
		size_t len;

		if (store_cas_hash(in->pixel, in->pixel_len, h) < 0)
			fail("SHA-256: %s", arca_error_last());
		/* Just received, as for the hash. */
		memcpy(work, in->pixel, in->pixel_len);
		double t0 = cpu_ms();
		if (store_cas__encode(cas, h, work, in->pixel_len, &e) < 0)
			fail("encode: %s", arca_error_last());
		t[i] = cpu_ms() - t0;
		len = STORE_CAS_HEADER_LEN + e.body_len + (e.sealed ? STORE_CAS_TAG_LEN : 0);
		stored += (double)len;
		raw += (double)in->pixel_len;
		if ((size_t)i < ins->n) {
			uint8_t *enc = xmalloc(len);

			memcpy(enc, e.header, STORE_CAS_HEADER_LEN);
			memcpy(enc + STORE_CAS_HEADER_LEN, e.body, e.body_len);
			if (e.sealed)
				memcpy(enc + STORE_CAS_HEADER_LEN + e.body_len, e.tag, STORE_CAS_TAG_LEN);
			in->encoded[slot] = enc;
			in->encoded_len[slot] = len;
		}
		free(e.own);
	}
	f.ms = stats(t, (size_t)o->count);
	f.stored = stored / (double)o->count;
	f.raw = raw / (double)o->count;

	/* The public put path on distinct chunks (a counter in the first 8
	 * bytes, so no put is deduplicated): hash + codec + the temp file
	 * written into the page cache.  The group commit's sync runs every 32
	 * puts, outside the timing. */
	for (i = 0; i < o->count; i++) {
		const input *in = &ins->v[(size_t)i % ins->n];
		uint8_t h[STORE_CAS_HASH_LEN];
		uint64_t tag = (uint64_t)i ^ 0xA5C3E1F0D2B49687ull;

		if (scratch_cap < in->pixel_len) {
			free(scratch);
			scratch = xmalloc(in->pixel_len);
			scratch_cap = in->pixel_len;
		}
		memcpy(scratch, in->pixel, in->pixel_len);
		memcpy(scratch, &tag, in->pixel_len < sizeof(tag) ? in->pixel_len : sizeof(tag));
		double t0 = wall_ms();
		if (store_cas_put(cas, scratch, in->pixel_len, h, NULL) < 0)
			fail("store_cas_put: %s", arca_error_last());
		t[i] = wall_ms() - t0;
		if (i % 32 == 31 && store_cas_sync(cas) < 0)
			fail("store_cas_sync: %s", arca_error_last());
	}
	f.put_ms = stats(t, (size_t)o->count);
	if (store_cas_sync(cas) < 0)
		fail("store_cas_sync: %s", arca_error_last());
	store_cas_free(cas);
	rm_tree_quiet(root);
	free(scratch);
	free(work);
	free(t);
	return f;
}

/* memcpy of the pixel data into a buffer already touched (no page faults
 * in the timing). */
static stat2 measure_memcpy(const inputs *ins, long count, double *gbps)
{
	size_t cap = 0, k;
	uint8_t *dst;
	double *t = xmalloc(sizeof(double) * (size_t)count);
	volatile uint8_t sink = 0;
	stat2 s;
	long i;

	for (k = 0; k < ins->n; k++)
		if (ins->v[k].pixel_len > cap)
			cap = ins->v[k].pixel_len;
	dst = xmalloc(cap);
	memset(dst, 1, cap);
	for (i = 0; i < count; i++) {
		const input *in = &ins->v[(size_t)i % ins->n];
		double t0 = cpu_ms();
		memcpy(dst, in->pixel, in->pixel_len);
		sink ^= dst[(size_t)i % in->pixel_len];
		t[i] = cpu_ms() - t0;
	}
	(void)sink;
	s = stats(t, (size_t)count);
	*gbps = s.median > 0 ? (double)ins->v[0].pixel_len / (s.median / 1e3) / 1e9 : 0;
	free(dst);
	free(t);
	return s;
}

/* ---------------------------------------------------------------- durable writes */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree_quiet(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_all(int fd, const uint8_t *p, size_t len, const char *what)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail("write %s: %s", what, w < 0 ? strerror(errno) : "no progress");
		p += w;
		len -= (size_t)w;
	}
}

static void fresh_dir(const char *dir, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/ceiling-%s-XXXXXX", dir, name);
	if (mkdtemp(out) == NULL)
		fail("cannot make a directory in %s: %s", dir, strerror(errno));
}

/* What one chunk's durability costs alone: open a new file in a fresh
 * directory, write it whole, fdatasync (data and the size needed to read
 * it back), close.  No directory fsync: the store fsyncs its temp
 * directory once per group commit, not per chunk. */
typedef const uint8_t *(*data_fn)(const inputs *ins, size_t i, size_t *len);

static const uint8_t *data_fast(const inputs *ins, size_t i, size_t *len)
{
	*len = ins->v[i % ins->n].encoded_len[SLOT_FAST];
	return ins->v[i % ins->n].encoded[SLOT_FAST];
}

static const uint8_t *data_small(const inputs *ins, size_t i, size_t *len)
{
	*len = ins->v[i % ins->n].encoded_len[SLOT_SMALL];
	return ins->v[i % ins->n].encoded[SLOT_SMALL];
}

static const uint8_t *data_raw(const inputs *ins, size_t i, size_t *len)
{
	*len = ins->v[i % ins->n].pixel_len;
	return ins->v[i % ins->n].pixel;
}

static const uint8_t *data_manifest(const inputs *ins, size_t i, size_t *len)
{
	/* 4 KB of the file's metadata end: bytes as varied as a manifest's. */
	*len = MANIFEST_BYTES;
	return ins->v[i % ins->n].file;
}

static stat2 measure_new_files(const options *o, const inputs *ins, data_fn data, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	double *t = xmalloc(sizeof(double) * (size_t)o->count);
	stat2 s;
	long i;

	fresh_dir(o->dir, name, dir, sizeof(dir));
	for (i = 0; i < o->count; i++) {
		size_t len;
		const uint8_t *p = data(ins, (size_t)i, &len);
		int fd;

		snprintf(path, sizeof(path), "%s/f%07ld", dir, i);
		double t0 = wall_ms();
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			fail("cannot create %s: %s", path, strerror(errno));
		write_all(fd, p, len, path);
		if (fdatasync(fd) != 0)
			fail("fdatasync %s: %s", path, strerror(errno));
		close(fd);
		t[i] = wall_ms() - t0;
	}
	s = stats(t, (size_t)o->count);
	rm_tree_quiet(dir);
	free(t);
	return s;
}

/* The best case of an index commit (SQLite WAL, reused) or a chain journal
 * append: 4 KB written over blocks that already exist in a file that was
 * written and fsync'ed beforehand, then fdatasync; no block allocation, no
 * size change, so only the data block goes to the disk. */
static stat2 measure_prealloc(const options *o)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	double *t = xmalloc(sizeof(double) * (size_t)o->count);
	uint8_t block[MANIFEST_BYTES];
	stat2 s;
	long i;
	int fd;

	fresh_dir(o->dir, "journal", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/journal", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("cannot create %s: %s", path, strerror(errno));
	memset(block, 0, sizeof(block));
	for (i = 0; i < o->count; i++)
		write_all(fd, block, sizeof(block), path);
	if (fsync(fd) != 0)
		fail("fsync %s: %s", path, strerror(errno));
	for (i = 0; i < o->count; i++) {
		memset(block, (int)(i & 0xff) + 1, sizeof(block));
		double t0 = wall_ms();
		if (pwrite(fd, block, sizeof(block), (off_t)i * (off_t)sizeof(block)) !=
		    (ssize_t)sizeof(block))
			fail("pwrite %s: %s", path, strerror(errno));
		if (fdatasync(fd) != 0)
			fail("fdatasync %s: %s", path, strerror(errno));
		t[i] = wall_ms() - t0;
	}
	close(fd);
	s = stats(t, (size_t)o->count);
	rm_tree_quiet(dir);
	free(t);
	return s;
}

/* Group commit: a batch of new files written, then made durable by
 * fdatasync of each from a few threads at once plus one fsync of their
 * directory (store_cas_sync's data barrier), so that the file system can
 * merge them into few journal commits. */
typedef struct batch_job {
	const int *fds;
	int dir_fd;
	size_t n;
	atomic_size_t next;
	atomic_int failed;
} batch_job;

static void *batch_worker(void *arg)
{
	batch_job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) <= j->n) {
		int rc = i < j->n ? fdatasync(j->fds[i]) : fsync(j->dir_fd);
		if (rc != 0)
			atomic_store(&j->failed, errno);
	}
	return NULL;
}

typedef struct batch_fig {
	double mbps;     /* median over rounds, MB (1e6) per second */
	double ms;       /* median batch time */
	double files_ps; /* files made durable per second (median batch) */
	long rounds;
} batch_fig;

static batch_fig measure_batch(const options *o, const inputs *ins, data_fn data, const char *name)
{
	size_t nb = (size_t)o->batch;
	long rounds = o->count / o->batch > 5 ? o->count / o->batch : 5;
	double *t = xmalloc(sizeof(double) * (size_t)rounds);
	double *rate = xmalloc(sizeof(double) * (size_t)rounds);
	int *fds = xmalloc(sizeof(int) * nb);
	pthread_t *th = xmalloc(sizeof(pthread_t) * (size_t)o->threads);
	char dir[PATH_MAX], path[PATH_MAX + 32];
	batch_fig f;
	long r;

	for (r = 0; r < rounds; r++) {
		batch_job j;
		size_t k, bytes = 0;
		long w;
		int dir_fd;

		fresh_dir(o->dir, name, dir, sizeof(dir));
		dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd < 0)
			fail("cannot open %s: %s", dir, strerror(errno));
		double t0 = wall_ms();
		for (k = 0; k < nb; k++) {
			size_t len;
			const uint8_t *p = data(ins, (size_t)r * nb + k, &len);

			snprintf(path, sizeof(path), "%s/f%05zu", dir, k);
			fds[k] = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fds[k] < 0)
				fail("cannot create %s: %s", path, strerror(errno));
			write_all(fds[k], p, len, path);
			bytes += len;
		}
		j.fds = fds;
		j.dir_fd = dir_fd;
		j.n = nb;
		atomic_init(&j.next, 0);
		atomic_init(&j.failed, 0);
		for (w = 1; w < o->threads; w++)
			if (pthread_create(&th[w], NULL, batch_worker, &j) != 0)
				fail("cannot start a thread");
		batch_worker(&j);
		for (w = 1; w < o->threads; w++)
			pthread_join(th[w], NULL);
		t[r] = wall_ms() - t0;
		if (atomic_load(&j.failed) != 0)
			fail("fdatasync in %s: %s", dir, strerror(atomic_load(&j.failed)));
		rate[r] = (double)bytes / (t[r] / 1e3) / 1e6;
		for (k = 0; k < nb; k++)
			close(fds[k]);
		close(dir_fd);
		rm_tree_quiet(dir);
	}
	f.rounds = rounds;
	f.ms = stats(t, (size_t)rounds).median;
	f.mbps = stats(rate, (size_t)rounds).median;
	f.files_ps = f.ms > 0 ? (double)nb / (f.ms / 1e3) : 0;
	free(t);
	free(rate);
	free(fds);
	free(th);
	return f;
}

/* ---------------------------------------------------------------- report */

static void json_stat(const char *key, stat2 v, bool last)
{
	printf("  \"%s_ms\": %.4f,\n  \"%s_p90_ms\": %.4f%s\n", key, v.median, key, v.p90, last ? "" : ",");
}

static void text_row(const char *label, stat2 v, const char *note)
{
	printf("%-58s %10.3f %10.3f  %s\n", label, v.median, v.p90, note);
}

int main(int argc, char **argv)
{
	options o;
	inputs ins = { .n = 0 };
	hash_fig sha;
	codec_fig codec[2];
	stat2 dur_enc[2], dur_raw, dur_4k, pre_4k, mcpy;
	batch_fig b_enc[2], b_raw;
	double mcpy_gbps, pixel_mean = 0, file_mean = 0;
	struct stat sb;
	size_t k;
	int c;

	parse_args(argc, argv, &o);
	if (stat(o.dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		fail("--dir %s: not a directory", o.dir);
	load_inputs(o.input, &ins);
	for (k = 0; k < ins.n; k++) {
		pixel_mean += (double)ins.v[k].pixel_len;
		file_mean += (double)ins.v[k].file_len;
		if (ins.v[k].file_len < MANIFEST_BYTES)
			fail("%s: instances of at least %d bytes needed", o.input, MANIFEST_BYTES);
	}
	pixel_mean /= (double)ins.n;
	file_mean /= (double)ins.n;

	sha = measure_sha256(&ins, o.count);
	for (c = 0; c < 2; c++)
		codec[c] = measure_codec(&o, &ins, (enum codec_slot)c);
	mcpy = measure_memcpy(&ins, o.count, &mcpy_gbps);
	dur_enc[SLOT_FAST] = measure_new_files(&o, &ins, data_fast, "fast");
	dur_enc[SLOT_SMALL] = measure_new_files(&o, &ins, data_small, "small");
	dur_raw = measure_new_files(&o, &ins, data_raw, "raw");
	dur_4k = measure_new_files(&o, &ins, data_manifest, "manifest");
	pre_4k = measure_prealloc(&o);
	b_enc[SLOT_FAST] = measure_batch(&o, &ins, data_fast, "batchfast");
	b_enc[SLOT_SMALL] = measure_batch(&o, &ins, data_small, "batchsmall");
	b_raw = measure_batch(&o, &ins, data_raw, "batchraw");

	double sha_gbps = sha.pixel.median > 0 ? pixel_mean / (sha.pixel.median / 1e3) / 1e9 : 0;
	double sha_cold_gbps =
		sha.pixel_cold.median > 0 ? pixel_mean / (sha.pixel_cold.median / 1e3) / 1e9 : 0;
	if (o.json) {
		char key[64];

		printf("{\n");
		printf("  \"count\": %ld,\n  \"inputs\": %zu,\n", o.count, ins.n);
		printf("  \"pixel_bytes\": %.0f,\n  \"instance_bytes\": %.0f,\n", pixel_mean, file_mean);
		printf("  \"zstd_level\": %d,\n", o.zstd_level);
		json_stat("sha256_pixel", sha.pixel, false);
		printf("  \"sha256_gbps\": %.3f,\n", sha_gbps);
		json_stat("sha256_pixel_cold", sha.pixel_cold, false);
		printf("  \"sha256_cold_gbps\": %.3f,\n", sha_cold_gbps);
		json_stat("sha256_instance", sha.instance, false);
		for (c = 0; c < 2; c++) {
			snprintf(key, sizeof(key), "codec_%s", slot_name[c]);
			json_stat(key, codec[c].ms, false);
			printf("  \"stored_%s_bytes\": %.0f,\n  \"stored_%s_ratio\": %.4f,\n", slot_name[c],
			       codec[c].stored, slot_name[c], codec[c].stored / codec[c].raw);
			snprintf(key, sizeof(key), "put_%s", slot_name[c]);
			json_stat(key, codec[c].put_ms, false);
			snprintf(key, sizeof(key), "durable_%s", slot_name[c]);
			json_stat(key, dur_enc[c], false);
			printf("  \"batch_%s_mbps\": %.1f,\n  \"batch_%s_ms\": %.3f,\n", slot_name[c], b_enc[c].mbps,
			       slot_name[c], b_enc[c].ms);
		}
		json_stat("memcpy", mcpy, false);
		printf("  \"memcpy_gbps\": %.3f,\n", mcpy_gbps);
		json_stat("durable_raw", dur_raw, false);
		json_stat("durable_4k", dur_4k, false);
		json_stat("prealloc_4k", pre_4k, false);
		printf("  \"batch_files\": %ld,\n  \"batch_threads\": %ld,\n  \"batch_rounds\": %ld,\n", o.batch,
		       o.threads, b_raw.rounds);
		printf("  \"batch_raw_mbps\": %.1f,\n  \"batch_raw_ms\": %.3f\n", b_raw.mbps, b_raw.ms);
		printf("}\n");
	} else {
		char label[96], note[96];

		printf("inputs: %zu instances, %.0f bytes each (pixel data %.0f bytes); %ld repetitions; "
		       "durable writes in %s\n",
		       ins.n, file_mean, pixel_mean, o.count, o.dir);
		printf("%-58s %10s %10s\n", "", "median", "p90");
		snprintf(note, sizeof(note), "(%.2f GB/s)", sha_gbps);
		text_row("SHA-256 of the pixel data just received, CPU ms", sha.pixel, note);
		snprintf(note, sizeof(note), "(%.2f GB/s)", sha_cold_gbps);
		text_row("SHA-256 of the pixel data, not in cache, CPU ms", sha.pixel_cold, note);
		text_row("SHA-256 of the whole instance, CPU ms", sha.instance, "");
		for (c = 0; c < 2; c++) {
			snprintf(label, sizeof(label), "codec %s (zstd level %d), CPU ms", slot_name[c],
				 o.zstd_level);
			snprintf(note, sizeof(note), "(stored %.0f bytes, %.3f of raw)", codec[c].stored,
				 codec[c].stored / codec[c].raw);
			text_row(label, codec[c].ms, note);
			snprintf(label, sizeof(label), "store_cas_put deferred, codec %s, wall ms", slot_name[c]);
			text_row(label, codec[c].put_ms, "");
		}
		snprintf(note, sizeof(note), "(%.2f GB/s)", mcpy_gbps);
		text_row("memcpy of the pixel data, CPU ms", mcpy, note);
		for (c = 0; c < 2; c++) {
			snprintf(label, sizeof(label), "new file + fdatasync, chunk coded %s, wall ms",
				 slot_name[c]);
			text_row(label, dur_enc[c], "");
		}
		text_row("new file + fdatasync, raw pixel data, wall ms", dur_raw, "");
		text_row("new file + fdatasync, 4 KB (manifest), wall ms", dur_4k, "");
		text_row("4 KB overwrite + fdatasync, preallocated file, wall ms", pre_4k, "");
		printf("group commit, %ld files x %ld threads (median of %ld batches):\n", o.batch, o.threads,
		       b_raw.rounds);
		for (c = 0; c < 2; c++)
			printf("  chunks coded %-5s %7.1f MB/s durable, %5.0f files/s, %.2f ms a batch\n",
			       slot_name[c], b_enc[c].mbps, b_enc[c].files_ps, b_enc[c].ms);
		printf("  raw chunks         %7.1f MB/s durable, %5.0f files/s, %.2f ms a batch\n", b_raw.mbps,
		       b_raw.files_ps, b_raw.ms);
	}
	for (k = 0; k < ins.n; k++) {
		free(ins.v[k].file);
		free(ins.v[k].pixel);
		free(ins.v[k].encoded[0]);
		free(ins.v[k].encoded[1]);
	}
	return 0;
}
