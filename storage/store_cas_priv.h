/* store_cas_priv.h - internals shared by the store_cas_*.c files. */
#ifndef STORE_CAS_PRIV_H
#define STORE_CAS_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_cas.h"

/* ---- chunk file format (store_cas_format.c; docs/storage-format.md) ---- */

#define STORE_CAS_MAGIC "ARCH"
#define STORE_CAS_VERSION 1
#define STORE_CAS_HEADER_LEN 32
/* The header bytes fixed before sealing (all but the checksum and the
 * reserved word after it): part of the AES-GCM AAD. */
#define STORE_CAS_HEADER_AAD_LEN 24
#define STORE_CAS_TAG_LEN 16          /* AES-256-GCM tag after the body */
#define STORE_CAS_FLAG_ZSTD 0x01u      /* body is one zstd frame */
#define STORE_CAS_FLAG_AES256GCM 0x02u /* body is sealed, tag follows */
/* With ZSTD: the frame holds the chunk as two byte planes (bytes 0, 2,
 * 4, ... then 1, 3, 5, ...): 16-bit samples compress better and faster
 * that way (docs/storage-format.md section 2). */
#define STORE_CAS_FLAG_PLANES16 0x04u
/* Without ZSTD and PLANES16: the body holds the chunk's two byte planes
 * apart, a u32le length of the low-plane part, the low-plane part, then
 * the high-plane part; each part is the plane itself (exactly P/2 bytes)
 * or a zstd frame of it (shorter), so that the noisy low plane can stay
 * raw while the high plane is compressed (docs/storage-format.md
 * section 2). */
#define STORE_CAS_FLAG_SPLIT 0x08u
#define STORE_CAS_SPLIT_PREFIX_LEN 4
#define STORE_CAS_FLAGS_KNOWN                                                                  \
	(STORE_CAS_FLAG_ZSTD | STORE_CAS_FLAG_AES256GCM | STORE_CAS_FLAG_PLANES16 |            \
	 STORE_CAS_FLAG_SPLIT)
/* The flags under which the body is compressed in some form. */
#define STORE_CAS_FLAGS_COMPRESSED (STORE_CAS_FLAG_ZSTD | STORE_CAS_FLAG_SPLIT)

typedef struct store_cas_header {
	uint8_t flags;
	uint64_t plain_len;
	uint64_t stored_len; /* body bytes, the tag excluded */
	uint32_t crc;        /* CRC-32 of the file, this field skipped */
} store_cas_header;

void store_cas__header_encode(const store_cas_header *h, uint8_t out[STORE_CAS_HEADER_LEN]);

/* Parses and checks a header against the file size and STORE_CAS_CHUNK_MAX
 * (ARCA_EPROTO naming path on any fault). */
int store_cas__header_decode(const uint8_t *buf, size_t len, uint64_t file_size,
			     const char *path, store_cas_header *out);

/* CRC-32 of a chunk file (header, body, tag) with the checksum field
 * skipped. */
uint32_t store_cas__checksum(const uint8_t header[STORE_CAS_HEADER_LEN], const uint8_t *body,
			     size_t body_len, const uint8_t *tag, size_t tag_len);

/* Byte planes of 16-bit samples (store_cas_format.c): split writes the
 * half even-offset bytes of src (2 * half bytes) to lo and the odd ones to
 * hi; join does the reverse.  No buffer overlaps another.  SSE2 where the
 * target has it, the scalar loops elsewhere and for the tail; the _scalar
 * versions are the reference (the tests compare them). */
void store_cas__planes_split(const uint8_t *src, size_t half, uint8_t *lo, uint8_t *hi);
void store_cas__planes_join(const uint8_t *lo, const uint8_t *hi, size_t half, uint8_t *dst);
void store_cas__planes_split_scalar(const uint8_t *src, size_t half, uint8_t *lo, uint8_t *hi);
void store_cas__planes_join_scalar(const uint8_t *lo, const uint8_t *hi, size_t half, uint8_t *dst);

/* Whether data looks like 16-bit samples whose high bytes vary much less
 * than their low bytes (CT, MR, most 12- to 16-bit images): a sampled
 * count of distinct values at even and odd offsets; cheap, and only a
 * hint (a wrong guess costs compression ratio, never correctness). */
bool store_cas__looks_like_samples16(const uint8_t *data, size_t len);

/* ---- layout (store_cas_path.c; docs/storage-format.md section 1) ---- */

/* Longest root accepted, so that every path below it fits PATH_MAX. */
#define STORE_CAS_ROOT_MAX (PATH_MAX - 128)

/* The file at the store root that names the layout (one line). */
#define STORE_CAS_LAYOUT_FILE "cas.layout"

typedef enum store_cas_layout {
	/* Stores made before cas.layout existed (no such file):
	 * root/chunks/ab/cd/<hex>, directories made on first use. */
	STORE_CAS_LAYOUT_NESTED = 1,
	/* "arca-chunks 2 flat256": root/chunks/ab/<hex>, the 256 fan-out
	 * directories all made with the store, none at put time. */
	STORE_CAS_LAYOUT_FLAT256 = 2
} store_cas_layout;

/* Decides cas->layout from root/cas.layout, or from what chunks/ holds
 * when there is no such file: nothing but tmp/ (a new store, or one whose
 * creation a crash interrupted) makes the flat layout with its 256
 * directories and the file; anything else is a store of the nested
 * layout.  cas->chunks and cas->tmp_dir exist.  ARCA_EPROTO naming the
 * file for a layout line this code does not know. */
int store_cas__layout_open(store_cas *cas);

/* The chunk file root/chunks/ab[/cd]/<hex>; the directory that holds it
 * (leaf); the first-level directory root/chunks/ab (fan). */
void store_cas__chunk_path(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			   char out[PATH_MAX]);
void store_cas__leaf_dir(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			 char out[PATH_MAX]);
void store_cas__fan_dir(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			char out[PATH_MAX]);

/* Nested layout: creates the ab and ab/cd directories of hash if missing;
 * directories it created are reported through dir_created(ctx, parent) so
 * that the parent's new entry is made durable (now or at the next sync).
 * Flat layout: creates nothing, returns 0. */
int store_cas__make_dirs(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			 int (*dir_created)(store_cas *cas, const char *parent));

/* Turns a failed rename of a chunk into its final name (rc, the error of
 * store_cas_fsync_rename_noreplace, message set) into the message a
 * damaged flat-layout store deserves when the fan-out directory is gone;
 * returns rc. */
int store_cas__rename_failed(const store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int rc);

/* Crash leftovers in root/chunks/tmp (store_cas_sync.c): a temp file
 * named after its address (tmp-<hex>-XXXXXX) whose content checks out is
 * synced and renamed into place; every other temp file is removed.  Only
 * called by an opener that is alone (cas.lock held exclusively). */
int store_cas__recover_tmp(store_cas *cas);

/* ---- crypto (store_cas_crypt.c): SHA-256, the key file, sealing ---- */

typedef struct store_cas_crypt store_cas_crypt;

int store_cas__crypt_new(store_cas_crypt **out);
void store_cas__crypt_free(store_cas_crypt *c);

/* Loads root/cas.key if it exists; creates it first when create is true. */
int store_cas__crypt_load_key(store_cas_crypt *c, const char *root, const char *tmp_dir,
			      bool create);
bool store_cas__crypt_has_key(const store_cas_crypt *c);

int store_cas__sha256(const store_cas_crypt *c, const void *data, size_t len,
		      uint8_t out[STORE_CAS_HASH_LEN]);

/* Seals len bytes from in to out (may be the same buffer) and writes the
 * tag; the AAD is the header's first STORE_CAS_HEADER_AAD_LEN bytes and the
 * chunk hash, which also selects the key (docs/storage-format.md). */
int store_cas__seal(const store_cas_crypt *c, const uint8_t hash[STORE_CAS_HASH_LEN],
		    const uint8_t header[STORE_CAS_HEADER_LEN], const uint8_t *in, size_t len,
		    uint8_t *out, uint8_t tag[STORE_CAS_TAG_LEN]);

/* Opens in place; ARCA_ECRYPTO naming path when authentication fails. */
int store_cas__unseal(const store_cas_crypt *c, const uint8_t hash[STORE_CAS_HASH_LEN],
		      const uint8_t header[STORE_CAS_HEADER_LEN], uint8_t *buf, size_t len,
		      const uint8_t tag[STORE_CAS_TAG_LEN], const char *path);

/* ---- zstd (store_cas_zstd.c): a pool of contexts, the frame ---- */

typedef struct store_cas_zstd store_cas_zstd;

int store_cas__zstd_new(store_cas_zstd **out, int level);
void store_cas__zstd_free(store_cas_zstd *z);

/* Compresses into dst (cap bytes): *out_len is the frame size, or 0 when
 * the frame would not fit in cap (the caller then stores raw). */
int store_cas__zstd_compress(store_cas_zstd *z, const uint8_t *src, size_t len, uint8_t *dst,
			     size_t cap, size_t *out_len);

/* The same at an explicit level (clamped to what the library accepts)
 * instead of the pool's. */
int store_cas__zstd_compress_at(store_cas_zstd *z, int level, const uint8_t *src, size_t len,
				uint8_t *dst, size_t cap, size_t *out_len);

/* Decompresses exactly plain_len bytes into dst; ARCA_EPROTO naming path
 * for a frame that does not hold exactly that. */
int store_cas__zstd_decompress(store_cas_zstd *z, const uint8_t *src, size_t len, uint8_t *dst,
			       size_t plain_len, const char *path);
/* The same, what naming the frame in messages ("low-plane frame"). */
int store_cas__zstd_decompress_part(store_cas_zstd *z, const uint8_t *src, size_t len,
				    uint8_t *dst, size_t plain_len, const char *path,
				    const char *what);

/* Reads the chunk file open at fd (its name path, for messages) and checks
 * it as store_cas_get does: CRC, authentication, length, SHA-256 = hash.
 * *data is malloc'ed (the caller's).  Does not close fd. */
/* A chunk file's bytes, ready to write: header, body (the caller's data
 * when stored raw and unsealed, else own), tag when sealed
 * (store_cas_codec.c).  The caller frees own. */
typedef struct store_cas_encoded {
	uint8_t header[STORE_CAS_HEADER_LEN];
	const uint8_t *body;
	size_t body_len;
	uint8_t tag[STORE_CAS_TAG_LEN];
	bool sealed;
	uint8_t *own;
} store_cas_encoded;

int store_cas__encode(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const uint8_t *data,
		      size_t len, store_cas_encoded *e);

/* The plain bytes of a chunk file read whole into buf (size bytes, header
 * h already decoded and its checksum checked): unsealed, decompressed,
 * joined.  *plain_out is buf itself or a new allocation (the caller then
 * frees both); the hash of the result is the caller's to check. */
int store_cas__decode(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], const store_cas_header *h,
		      uint8_t *buf, size_t size, const char *path, uint8_t **plain_out);

/* present() for a put: a chunk found under its final name has its mtime
 * refreshed first, then is looked up again (store_cas_idle.c). */
int store_cas__present_touch(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], bool *out);

int store_cas__read_fd(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int fd,
		       const char *path, uint8_t **data, size_t *len);

/* Starts the write-back of fd's dirty pages without waiting
 * (sync_file_range(SYNC_FILE_RANGE_WRITE) where there is one). */
void store_cas__writeback_start(int fd);

/* ---- the store object (store_cas.c, store_cas_sync.c) ---- */

/* One chunk written to a temp file and not yet synced (deferred mode). */
typedef struct store_cas_pending {
	uint8_t hash[STORE_CAS_HASH_LEN];
	int fd;     /* open until the sync has fsync'ed it */
	char *tmp;  /* the temp file's path (malloc'ed) */
} store_cas_pending;

typedef struct store_cas_pending_list {
	store_cas_pending *v;
	size_t n, cap;
} store_cas_pending_list;

typedef struct store_cas_dir_list {
	char **v;
	size_t n, cap;
} store_cas_dir_list;

struct store_cas {
	char root[PATH_MAX];
	char chunks[PATH_MAX];
	char tmp_dir[PATH_MAX];
	store_cas_options opts;
	int lock_fd;
	store_cas_layout layout; /* set at open, never changes */
	store_cas_crypt *crypt;
	store_cas_zstd *zstd;

	/* Deferred mode.  mu guards pending, syncing and dirs; sync_mu makes
	 * store_cas_sync calls run one at a time, so that a sync returns only
	 * when every chunk put before it (also those taken by a concurrent
	 * sync) is durable. */
	pthread_mutex_t mu;
	pthread_mutex_t sync_mu;
	store_cas_pending_list pending;  /* written, waiting for a sync */
	store_cas_pending_list syncing;  /* taken by the running sync */
	store_cas_dir_list dirs;         /* directories to fsync at the next sync */
	/* Syncs whose renames are done: a put that found its chunk absent
	 * before a sync finished looks at the final name again before
	 * calling its copy new (store_cas__pending_add). */
	uint64_t synced;
	/* After a failed sync nobody can tell which chunks of other callers
	 * were lost (the batch was shared), and a second fsync may lie
	 * (errors are reported once): deferred puts and syncs keep failing
	 * with this code and message until the store is reopened. */
	int failed;
	char failed_msg[256];
};

/* Deferred mode (store_cas_sync.c). */
bool store_cas__pending_find(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN],
			     char tmp_out[PATH_MAX]);
/* cas->synced, read before a put looks for its chunk. */
uint64_t store_cas__synced(store_cas *cas);
/* Takes over fd and the temp file: ARCA_EEXISTS (temp removed) when the
 * same chunk is already pending, or is under its final name after a sync
 * that finished since seen_synced; *want_sync when max_pending is
 * reached. */
int store_cas__pending_add(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN], int fd,
			   const char *tmp, uint64_t seen_synced, bool *want_sync);
/* Drops a pending chunk (remove of an unsynced chunk); true if it was. */
bool store_cas__pending_drop(store_cas *cas, const uint8_t hash[STORE_CAS_HASH_LEN]);
/* Queues dir for fsync at the next sync. */
int store_cas__dir_dirty(store_cas *cas, const char *dir);
void store_cas__pending_release(store_cas *cas);
/* ARCA_EIO with the recorded reason once a sync has failed, else 0. */
int store_cas__check_failed(store_cas *cas);

#endif
