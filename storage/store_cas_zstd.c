/* store_cas_zstd.c - the zstd frame of a compressed chunk, and a pool of
 * zstd contexts so that worker threads compressing chunks in parallel do
 * not allocate a context (a few MB of tables at level 3) per chunk; the one
 * place zstd errors are translated.
 *
 * A chunk body is one zstd frame (or, split planes, one per compressed
 * plane) with its content size recorded and no zstd checksum (the chunk's
 * SHA-256 is checked on every read).  zstd's frame format is RFC 8878. */
#include "store_cas_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "arca_err.h"

/* Contexts kept for reuse; more may exist while many threads compress at
 * once, the extra ones are freed when returned. */
#define POOL_MAX 16

struct store_cas_zstd {
	pthread_mutex_t mu;
	int level;
	ZSTD_CCtx *cctx[POOL_MAX];
	size_t ncctx;
	ZSTD_DCtx *dctx[POOL_MAX];
	size_t ndctx;
};

/* Every zstd failure goes through here. */
static int zstd_error(int code, size_t r, const char *what, const char *path)
{
	if (path != NULL)
		return arca_error_set(code, "chunk file %s: %s: %s", path, what, ZSTD_getErrorName(r));
	return arca_error_set(code, "%s: %s", what, ZSTD_getErrorName(r));
}

int store_cas__zstd_new(store_cas_zstd **out, int level)
{
	store_cas_zstd *z;

	*out = NULL;
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return arca_error_set(ARCA_EINVAL, "zstd level %d outside %d..%d", level,
				      ZSTD_minCLevel(), ZSTD_maxCLevel());
	z = calloc(1, sizeof(*z));
	if (z == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for the zstd pool");
	pthread_mutex_init(&z->mu, NULL);
	z->level = level;
	*out = z;
	return 0;
}

void store_cas__zstd_free(store_cas_zstd *z)
{
	if (z == NULL)
		return;
	for (size_t i = 0; i < z->ncctx; i++)
		ZSTD_freeCCtx(z->cctx[i]);
	for (size_t i = 0; i < z->ndctx; i++)
		ZSTD_freeDCtx(z->dctx[i]);
	pthread_mutex_destroy(&z->mu);
	free(z);
}

static ZSTD_CCtx *cctx_take(store_cas_zstd *z)
{
	ZSTD_CCtx *c = NULL;

	pthread_mutex_lock(&z->mu);
	if (z->ncctx > 0)
		c = z->cctx[--z->ncctx];
	pthread_mutex_unlock(&z->mu);
	if (c != NULL)
		return c;
	c = ZSTD_createCCtx();
	if (c == NULL)
		return NULL;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, z->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0))) {
		ZSTD_freeCCtx(c);
		return NULL;
	}
	return c;
}

static void cctx_give(store_cas_zstd *z, ZSTD_CCtx *c)
{
	pthread_mutex_lock(&z->mu);
	if (z->ncctx < POOL_MAX) {
		z->cctx[z->ncctx++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&z->mu);
	ZSTD_freeCCtx(c);
}

static ZSTD_DCtx *dctx_take(store_cas_zstd *z)
{
	ZSTD_DCtx *d = NULL;

	pthread_mutex_lock(&z->mu);
	if (z->ndctx > 0)
		d = z->dctx[--z->ndctx];
	pthread_mutex_unlock(&z->mu);
	return d != NULL ? d : ZSTD_createDCtx();
}

static void dctx_give(store_cas_zstd *z, ZSTD_DCtx *d)
{
	pthread_mutex_lock(&z->mu);
	if (z->ndctx < POOL_MAX) {
		z->dctx[z->ndctx++] = d;
		d = NULL;
	}
	pthread_mutex_unlock(&z->mu);
	ZSTD_freeDCtx(d);
}

static int compress_with(store_cas_zstd *z, int level, const uint8_t *src, size_t len, uint8_t *dst,
			 size_t cap, size_t *out_len)
{
	ZSTD_CCtx *c;
	size_t r;

	*out_len = 0;
	if (cap == 0)
		return 0;
	c = cctx_take(z);
	if (c == NULL)
		return arca_error_set(ARCA_ENOMEM, "cannot create a zstd compression context");
	/* Pooled contexts are shared by every level: set it each time (only
	 * a parameter; the context's tables are reused when they fit). */
	r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(c, dst, cap, src, len);
	if (ZSTD_isError(r)) {
		/* After an error the context may hold a half-done frame. */
		ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
		cctx_give(z, c);
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return 0; /* does not shrink enough: the caller stores raw */
		return zstd_error(ARCA_EGENERIC, r, "zstd compression failed", NULL);
	}
	cctx_give(z, c);
	*out_len = r;
	return 0;
}

int store_cas__zstd_compress(store_cas_zstd *z, const uint8_t *src, size_t len, uint8_t *dst,
			     size_t cap, size_t *out_len)
{
	return compress_with(z, z->level, src, len, dst, cap, out_len);
}

int store_cas__zstd_compress_at(store_cas_zstd *z, int level, const uint8_t *src, size_t len,
				uint8_t *dst, size_t cap, size_t *out_len)
{
	if (level < ZSTD_minCLevel())
		level = ZSTD_minCLevel();
	if (level > ZSTD_maxCLevel())
		level = ZSTD_maxCLevel();
	return compress_with(z, level, src, len, dst, cap, out_len);
}

int store_cas__zstd_decompress_part(store_cas_zstd *z, const uint8_t *src, size_t len,
				    uint8_t *dst, size_t plain_len, const char *path,
				    const char *what)
{
	unsigned long long fcs = ZSTD_getFrameContentSize(src, len);
	ZSTD_DCtx *d;
	size_t r;

	/* The frame must state the size the header promised: the destination
	 * was sized from the header, never from the frame. */
	if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN ||
	    fcs != (unsigned long long)plain_len)
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: %s does not declare the %zu bytes of "
				      "the header", path, what, plain_len);
	d = dctx_take(z);
	if (d == NULL)
		return arca_error_set(ARCA_ENOMEM, "cannot create a zstd decompression context");
	/* One frame exactly: ZSTD_decompressDCtx would go on into a second
	 * frame after the first, and the part's length is the frame's. */
	r = ZSTD_findFrameCompressedSize(src, len);
	if (!ZSTD_isError(r) && r != len) {
		dctx_give(z, d);
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: %s ends at byte %zu of its %zu", path, what,
				      r, len);
	}
	if (!ZSTD_isError(r))
		r = ZSTD_decompressDCtx(d, dst, plain_len, src, len);
	ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
	dctx_give(z, d);
	if (ZSTD_isError(r)) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s is damaged", what);
		return zstd_error(ARCA_EPROTO, r, msg, path);
	}
	if (r != plain_len)
		return arca_error_set(ARCA_EPROTO,
				      "chunk file %s: %s holds %zu bytes, header says %zu",
				      path, what, r, plain_len);
	return 0;
}

int store_cas__zstd_decompress(store_cas_zstd *z, const uint8_t *src, size_t len, uint8_t *dst,
			       size_t plain_len, const char *path)
{
	return store_cas__zstd_decompress_part(z, src, len, dst, plain_len, path, "zstd frame");
}
