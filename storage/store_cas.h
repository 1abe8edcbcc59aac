/* store_cas.h - arca's content-addressed chunk store (design.md 3.1 step 4).
 *
 * A chunk is an opaque run of bytes (a frame, a fragment, a piece of a
 * large frame); the store never looks inside it.  Its address is the
 * SHA-256 of its plain bytes, so identical chunks are stored once.  Each
 * chunk is one file under <root>/chunks/ab/abcd...(64 hex) (chunks/ab/cd/
 * in stores made before <root>/cas.layout existed), compressed with zstd
 * when that pays and optionally sealed with AES-256-GCM.  The file format,
 * the layout and the nonce scheme are in docs/storage-format.md.
 *
 * Durability: a put either returns with the chunk durable (STORE_CAS_SYNC_EACH)
 * or leaves it pending until store_cas_sync() (STORE_CAS_SYNC_DEFERRED, group
 * commit).  A chunk file only ever appears under its final name after its
 * bytes were made durable, so a crash or power loss never leaves a torn chunk
 * at an address.  In deferred mode a synced chunk is durable in its temp file
 * (named after its address, in a directory that was fsync'ed) before it is
 * renamed; the rename itself is made durable by the file system's next
 * commit, or redone from the temp file by the next store_cas_open after a
 * crash (docs/storage-format.md section 4).
 *
 * Thread safety: one store_cas may be used by many threads at once for
 * put, get, exists, stat, verify, remove and sync; two puts of the same
 * chunk at once both succeed and leave one file.  An iterator belongs to one
 * thread at a time.  store_cas_open and store_cas_free must not race with
 * anything on the same object.  Several processes may open one store;
 * deferred (unsynced) chunks are private to the process that put them.
 * The caller (gc, under the index's lock) must not remove a chunk while
 * another thread puts or reads the same chunk.
 *
 * Errors: 0 or a negative ARCA_E* code with a one-line message (arca_err.h)
 * naming the chunk file.  A damaged chunk fails with ARCA_ECRYPTO (hash or
 * authentication mismatch) or ARCA_EPROTO (format, length or compression
 * error). */
#ifndef STORE_CAS_H
#define STORE_CAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A chunk address: SHA-256 of the plain bytes. */
#define STORE_CAS_HASH_LEN 32
/* Lower-case hex of an address, without the terminating NUL. */
#define STORE_CAS_HEX_LEN 64

/* Default largest chunk: callers split frames larger than this. */
#define STORE_CAS_CHUNK_DEFAULT ((size_t)4 << 20)
/* Hard cap on a chunk's plain size, for puts (chunk_max may not exceed it)
 * and for reads (checked against the header before allocating). */
#define STORE_CAS_CHUNK_MAX ((size_t)64 << 20)

/* Name of the encryption key file under the store root (32 raw bytes, mode 0600). */
#define STORE_CAS_KEY_FILE "cas.key"

typedef struct store_cas store_cas;

typedef enum store_cas_sync_mode {
	/* Each put fsyncs the chunk file and its directory before returning. */
	STORE_CAS_SYNC_EACH = 0,
	/* Puts write temp files; store_cas_sync() fsyncs them, renames them
	 * into place and fsyncs the directories: one group commit for all the
	 * chunks of an instance, or of many associations. */
	STORE_CAS_SYNC_DEFERRED = 1
} store_cas_sync_mode;

/* How store_cas_sync makes the files of a batch durable (deferred mode). */
typedef enum store_cas_barrier {
	/* fdatasync(2) of every file of the batch, issued in parallel from a
	 * few threads so that the file system merges them into few journal
	 * commits; only the store's own files are flushed. */
	STORE_CAS_BARRIER_FDATASYNC = 0,
	/* One syncfs(2) of the store's file system: cheapest when the store
	 * has its file system to itself, but it also waits for every other
	 * program's dirty data on that file system. */
	STORE_CAS_BARRIER_SYNCFS = 1
} store_cas_barrier;

/* How new chunks that look like 16-bit samples are compressed
 * (docs/storage-format.md section 2); other chunks are one zstd frame at
 * zstd_level either way, and every form is readable under either. */
typedef enum store_cas_codec {
	/* Whatever the opener's default is: SMALL for the store itself (as
	 * its level 3), FAST for the ingest (store_ingest.h, as its level 1). */
	STORE_CAS_CODEC_DEFAULT = 0,
	/* The byte planes apart (flag 0x08): the high plane as a zstd frame
	 * at zstd_level, the noisy low plane raw unless a very fast pass
	 * finds runs in it; about a quarter of the CPU of SMALL on CT, for
	 * about 0.52 of raw instead of 0.37. */
	STORE_CAS_CODEC_FAST = 1,
	/* Both planes in one zstd frame at zstd_level (flags 0x01|0x04). */
	STORE_CAS_CODEC_SMALL = 2
} store_cas_codec;

typedef struct store_cas_options {
	/* zstd level for new chunks, ZSTD_minCLevel()..ZSTD_maxCLevel(); 0 = 3. */
	int zstd_level;
	/* Codec of new chunks of 16-bit samples; DEFAULT (0) = SMALL. */
	store_cas_codec codec;
	/* Seal new chunks with AES-256-GCM under <root>/cas.key (created 0600 on
	 * first use).  Existing encrypted chunks are readable either way as
	 * long as the key file is there. */
	bool encrypt;
	store_cas_sync_mode sync;
	/* Largest chunk store_cas_put accepts (ARCA_ELIMIT beyond);
	 * 0 = STORE_CAS_CHUNK_DEFAULT, at most STORE_CAS_CHUNK_MAX. */
	size_t chunk_max;
	/* Deferred mode: when this many chunks are pending, the put that
	 * reaches it runs store_cas_sync() itself (bounds open files);
	 * 0 = 256. */
	size_t max_pending;
	/* Deferred mode: the data barrier of store_cas_sync. */
	store_cas_barrier barrier;
} store_cas_options;

/* Plain and stored size of one chunk. */
typedef struct store_cas_info {
	uint64_t plain_size;  /* bytes get returns */
	uint64_t stored_size; /* bytes of the chunk file on disk, header included */
	bool compressed;      /* a zstd frame in the body (either codec) */
	bool encrypted;
} store_cas_info;

/* Fills opts with the defaults (level 3, no encryption, sync each, 4 MiB). */
void store_cas_options_init(store_cas_options *opts);

/* Opens (creating if needed: root itself, root/chunks, root/chunks/tmp, and
 * for a new store its 256 chunk directories and root/cas.layout) the store
 * at root; opts NULL means the defaults.  A cas.layout this code does not
 * know fails the open (ARCA_EUNSUPPORTED or ARCA_EPROTO, naming it).  When
 * no other process has the store open, finishes what a crashed writer left
 * in root/chunks/tmp:
 * a temp file named after its address whose content checks out (CRC,
 * authentication, SHA-256) is renamed into place, as the sync that wrote
 * it would have; anything else there is removed.  *out is the caller's
 * (store_cas_free). */
int store_cas_open(store_cas **out, const char *root, const store_cas_options *opts);

/* Makes pending chunks durable (as store_cas_sync, errors ignored: call
 * store_cas_sync first to know), closes and frees.  Accepts NULL. */
void store_cas_free(store_cas *cas);

/* Borrowed: the absolute store root. */
const char *store_cas_root(const store_cas *cas);

/* SHA-256 of data: the address the chunk would have. */
int store_cas_hash(const void *data, size_t len, uint8_t out_hash[STORE_CAS_HASH_LEN]);

/* Stores data (len <= chunk_max) and sets out_hash to its address.  If the
 * chunk is already stored (or pending in this process) nothing is written
 * and *out_new (may be NULL) is false; otherwise true. */
int store_cas_put(store_cas *cas, const void *data, size_t len,
		  uint8_t out_hash[STORE_CAS_HASH_LEN], bool *out_new);

/* Makes every chunk put (in deferred mode) before this call durable: one
 * data barrier for all the temp files (fdatasync of each in parallel, or
 * syncfs: options.barrier), one fsync of the temp directory, then renames
 * them into place (docs/storage-format.md section 4).  On
 * failure the chunks of the failed batch are not stored (their temp files
 * are removed) and the caller must not acknowledge them.  A no-op in
 * STORE_CAS_SYNC_EACH mode. */
int store_cas_sync(store_cas *cas);

/* Reads a chunk: decrypts, decompresses and re-checks its SHA-256.
 * *data (malloc'ed, the caller's: free()) holds *len bytes; never NULL on
 * success, even for an empty chunk.  ARCA_ENOTFOUND if absent. */
int store_cas_get(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
		  uint8_t **data, size_t *len);

/* *exists = whether the chunk is stored (or pending in this process). */
int store_cas_exists(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], bool *exists);

/* Reads the chunk file's header only (no decryption, no hash check). */
int store_cas_stat(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], store_cas_info *out);

/* Full read and re-hash of one chunk (as store_cas_get, data discarded). */
int store_cas_verify(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN]);

/* Deletes a chunk (for gc).  ARCA_ENOTFOUND if absent.  The directory entry
 * removal is made durable now (sync each) or at the next store_cas_sync. */
int store_cas_remove(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN]);

/* gc's removal beside running puts (store_cas_idle.c): hash's chunk file
 * goes only when its mtime (refreshed by every put that finds the chunk
 * already stored) is before cutoff_ns (nanoseconds since the epoch), and
 * never from under such a put.  *removed says whether it went; a chunk
 * pending in this store counts as touched.  ARCA_ENOTFOUND when there is
 * no such chunk. */
int store_cas_remove_idle(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int64_t cutoff_ns,
			  bool *removed);

/* Hex helpers: hex gets STORE_CAS_HEX_LEN lower-case digits and a NUL;
 * from_hex accepts exactly 64 hex digits (either case), ARCA_EINVAL else. */
void store_cas_hash_to_hex(const uint8_t hash[STORE_CAS_HASH_LEN], char hex[STORE_CAS_HEX_LEN + 1]);
int store_cas_hash_from_hex(const char *hex, uint8_t hash[STORE_CAS_HASH_LEN]);

/* ---- iteration over every stored chunk (arca verify, gc) ----
 *
 * Walks root/chunks in ascending address order and yields each file once.
 * Files or directories that do not belong (a name that is not a lower-case
 * address, a chunk under the wrong directory, something that is not a
 * regular file, a fan-out directory missing from a store that made all
 * 256) are yielded too, with bad != 0 and the reason, so that a checker
 * can name them; the walk goes on past them.  The contents are not
 * read: call store_cas_verify on each good entry for that.  Chunks put
 * while the walk runs may or may not be seen; pending (unsynced) chunks are
 * not. */
typedef struct store_cas_iter store_cas_iter;

typedef struct store_cas_entry {
	uint8_t hash[STORE_CAS_HASH_LEN]; /* valid when bad == 0 */
	const char *path;   /* borrowed until the next call: the file's full path */
	int bad;            /* 0, or ARCA_EPROTO for a misplaced or misnamed entry */
	const char *reason; /* borrowed: why it is bad, "" when good */
} store_cas_entry;

/* *out is the caller's (store_cas_iter_free); cas must outlive it. */
int store_cas_iter_new(store_cas_iter **out, store_cas *cas);

/* 1 with *entry filled, 0 at the end, negative when the walk cannot go on
 * (a directory cannot be read). */
int store_cas_iter_next(store_cas_iter *it, store_cas_entry *entry);

void store_cas_iter_free(store_cas_iter *it);

#endif
