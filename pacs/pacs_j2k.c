/* pacs_j2k.c - JPEG 2000 frames through OpenJPEG (design decision: the
 * reference implementation), decode and lossless encode, with in-memory
 * streams.
 *
 * Decoding takes a raw codestream (PS3.5 A.4.4 requires one, starting
 * with SOC FF4F) or, as some writers wrongly store it, a JP2 file; both
 * JPEG 2000 Part 1 and High-Throughput (Part 15) codestreams go through
 * OpenJPEG, which undoes the multiple component transform itself.
 * Encoding is reversible only: the 5/3 wavelet, one quality layer without
 * rate limit, no quantization, the reversible color transform for RGB
 * (PS3.5 8.2.4, A.4.4).
 *
 * OpenJPEG reports problems through message callbacks; they are collected
 * in a j2k_log and turned into one arca error in j2k_fail(), the one place
 * where OpenJPEG's errors are translated. */
#include <openjpeg.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_pixel_priv.h"

/* OpenJPEG's internal stream buffer. */
#define J2K_STREAM_CHUNK (64u * 1024u)

typedef struct j2k_log {
	char error[200]; /* first error message */
} j2k_log;

static void on_error(const char *msg, void *client_data)
{
	j2k_log *log = client_data;
	size_t n;

	if (log->error[0] != '\0')
		return;
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	if (n >= sizeof(log->error))
		n = sizeof(log->error) - 1;
	memcpy(log->error, msg, n);
	log->error[n] = '\0';
}

static void on_quiet(const char *msg, void *client_data)
{
	(void)msg;
	(void)client_data;
}

static void set_handlers(opj_codec_t *codec, j2k_log *log)
{
	opj_set_error_handler(codec, on_error, log);
	opj_set_warning_handler(codec, on_quiet, log);
	opj_set_info_handler(codec, on_quiet, log);
}

/* The one translation of OpenJPEG failures into arca errors. */
static int j2k_fail(int code, const j2k_log *log, const char *what)
{
	if (log != NULL && log->error[0] != '\0')
		return arca_error_set(code, "JPEG 2000 %s: %s", what, log->error);
	return arca_error_set(code, "JPEG 2000 %s failed", what);
}

/* ---- in-memory streams ---- */

typedef struct mem_in {
	const uint8_t *data;
	size_t len, pos;
} mem_in;

static OPJ_SIZE_T in_read(void *buf, OPJ_SIZE_T n, void *user)
{
	mem_in *m = user;
	size_t left = m->len - m->pos;

	if (left == 0)
		return (OPJ_SIZE_T)-1; /* end of stream, as OpenJPEG expects */
	if (n > left)
		n = left;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return n;
}

static OPJ_OFF_T in_skip(OPJ_OFF_T n, void *user)
{
	mem_in *m = user;

	if (n < 0) {
		if ((size_t)-n > m->pos)
			return -1;
		m->pos -= (size_t)-n;
		return n;
	}
	if ((uint64_t)n > m->len - m->pos)
		n = (OPJ_OFF_T)(m->len - m->pos);
	m->pos += (size_t)n;
	return n;
}

static OPJ_BOOL in_seek(OPJ_OFF_T n, void *user)
{
	mem_in *m = user;

	if (n < 0 || (uint64_t)n > m->len)
		return OPJ_FALSE;
	m->pos = (size_t)n;
	return OPJ_TRUE;
}

typedef struct mem_out {
	uint8_t *data;
	size_t len, cap, pos;
	int failed;
} mem_out;

static int out_reserve(mem_out *m, size_t need)
{
	size_t cap = m->cap ? m->cap : 64u * 1024u;
	uint8_t *grown;

	if (need <= m->cap)
		return 0;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	grown = realloc(m->data, cap);
	if (grown == NULL)
		return -1;
	m->data = grown;
	m->cap = cap;
	return 0;
}

static OPJ_SIZE_T out_write(void *buf, OPJ_SIZE_T n, void *user)
{
	mem_out *m = user;

	if (n > SIZE_MAX - m->pos || out_reserve(m, m->pos + n) < 0) {
		m->failed = 1;
		return (OPJ_SIZE_T)-1;
	}
	if (m->pos > m->len)
		memset(m->data + m->len, 0, m->pos - m->len);
	memcpy(m->data + m->pos, buf, n);
	m->pos += n;
	if (m->pos > m->len)
		m->len = m->pos;
	return n;
}

static OPJ_OFF_T out_skip(OPJ_OFF_T n, void *user)
{
	mem_out *m = user;

	if (n < 0 && (size_t)-n > m->pos)
		return -1;
	m->pos = n < 0 ? m->pos - (size_t)-n : m->pos + (size_t)n;
	return n;
}

static OPJ_BOOL out_seek(OPJ_OFF_T n, void *user)
{
	mem_out *m = user;

	if (n < 0)
		return OPJ_FALSE;
	m->pos = (size_t)n;
	return OPJ_TRUE;
}

/* ---- decode ---- */

static const uint8_t jp2_signature[12] = { 0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A };

static int codec_format(const uint8_t *src, size_t len, OPJ_CODEC_FORMAT *fmt)
{
	/* ISO 15444-1 A.4.1: SOC (FF4F) then SIZ (FF51). */
	if (len >= 4 && src[0] == 0xFF && src[1] == 0x4F && src[2] == 0xFF && src[3] == 0x51) {
		*fmt = OPJ_CODEC_J2K;
		return 0;
	}
	if (len >= sizeof(jp2_signature) && memcmp(src, jp2_signature, sizeof(jp2_signature)) == 0) {
		*fmt = OPJ_CODEC_JP2;
		return 0;
	}
	return arca_error_set(ARCA_EPROTO, "frame is not a JPEG 2000 codestream (no SOC/SIZ marker at its "
			      "start, PS3.5 A.4.4)");
}

static int check_image(const pacs_pixel_desc *d, const opj_image_t *img)
{
	if (img->numcomps != d->samples_per_pixel)
		return arca_error_set(ARCA_EPROTO, "JPEG 2000 frame has %u components; the data set says %u "
				      "samples", img->numcomps, d->samples_per_pixel);
	if (img->x1 <= img->x0 || img->y1 <= img->y0 || img->x1 - img->x0 != d->columns ||
	    img->y1 - img->y0 != d->rows)
		return arca_error_set(ARCA_EPROTO, "JPEG 2000 frame is %ux%u; the data set says %ux%u",
				      img->x1 - img->x0, img->y1 - img->y0, d->columns, d->rows);
	for (unsigned c = 0; c < img->numcomps; c++) {
		const opj_image_comp_t *comp = &img->comps[c];
		if (comp->dx != 1 || comp->dy != 1)
			return arca_error_set(ARCA_EUNSUPPORTED, "JPEG 2000 component %u is subsampled (%ux%u)",
					      c, comp->dx, comp->dy);
		if (comp->prec == 0 || comp->prec > d->bits_allocated)
			return arca_error_set(ARCA_EPROTO, "JPEG 2000 component %u has %u-bit precision in "
					      "%u-bit cells", c, comp->prec, d->bits_allocated);
	}
	return 0;
}

/* Stores decoded components into a native frame, color-by-pixel. */
static int store_image(const pacs_pixel_desc *d, const opj_image_t *img, uint8_t *dst, size_t dst_len)
{
	size_t pixels = (size_t)d->rows * d->columns;
	unsigned bps = d->bits_allocated / 8u, spp = d->samples_per_pixel;

	for (unsigned c = 0; c < spp; c++) {
		const opj_image_comp_t *comp = &img->comps[c];
		if (comp->data == NULL || comp->w != d->columns || comp->h != d->rows)
			return arca_error_set(ARCA_EPROTO, "JPEG 2000 component %u was not decoded in full", c);
		for (size_t i = 0; i < pixels; i++) {
			uint32_t v = (uint32_t)comp->data[i];
			size_t at = (i * spp + c) * bps;
			for (unsigned b = 0; b < bps; b++)
				dst[at + b] = (uint8_t)(v >> (8 * b));
		}
	}
	(void)dst_len;
	return 0;
}

int pacs_j2k__decode(const pacs_pixel_desc *d, const uint8_t *src, size_t len, uint8_t *dst, size_t dst_len,
		     int *had_mct)
{
	OPJ_CODEC_FORMAT fmt = OPJ_CODEC_J2K;
	opj_dparameters_t params;
	opj_codec_t *codec = NULL;
	opj_stream_t *stream = NULL;
	opj_image_t *img = NULL;
	opj_codestream_info_v2_t *info = NULL;
	j2k_log log = { "" };
	mem_in in = { src, len, 0 };
	int rc;

	*had_mct = 0;
	if ((rc = codec_format(src, len, &fmt)) < 0)
		return rc;
	codec = opj_create_decompress(fmt);
	stream = opj_stream_create(J2K_STREAM_CHUNK, OPJ_TRUE);
	if (codec == NULL || stream == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory for a JPEG 2000 decoder");
		goto cleanup;
	}
	set_handlers(codec, &log);
	opj_set_default_decoder_parameters(&params);
	opj_stream_set_user_data(stream, &in, NULL);
	opj_stream_set_user_data_length(stream, len);
	opj_stream_set_read_function(stream, in_read);
	opj_stream_set_skip_function(stream, in_skip);
	opj_stream_set_seek_function(stream, in_seek);
	if (!opj_setup_decoder(codec, &params)) {
		rc = j2k_fail(ARCA_EGENERIC, &log, "decoder setup");
		goto cleanup;
	}
	if (!opj_read_header(stream, codec, &img)) {
		rc = j2k_fail(ARCA_EPROTO, &log, "header");
		goto cleanup;
	}
	/* The sizes are checked before any sample buffer is allocated. */
	if ((rc = check_image(d, img)) < 0)
		goto cleanup;
	if (!opj_decode(codec, stream, img) || !opj_end_decompress(codec, stream)) {
		rc = j2k_fail(ARCA_EPROTO, &log, "decoding");
		goto cleanup;
	}
	info = opj_get_cstr_info(codec);
	if (info != NULL)
		*had_mct = info->m_default_tile_info.mct != 0;
	rc = store_image(d, img, dst, dst_len);
cleanup:
	if (info != NULL)
		opj_destroy_cstr_info(&info);
	if (img != NULL)
		opj_image_destroy(img);
	if (stream != NULL)
		opj_stream_destroy(stream);
	if (codec != NULL)
		opj_destroy_codec(codec);
	return rc;
}

/* ---- encode ---- */

/* Sample `index` of a native frame as the bits_stored-bit value it holds
 * (sign-extended for two's complement): lossless coding keeps the pixel
 * values, not bits above bits stored. */
static int32_t load_sample(const pacs_pixel_desc *d, const uint8_t *src, size_t index)
{
	unsigned bps = d->bits_allocated / 8u;
	uint32_t v = 0, mask;

	for (unsigned b = 0; b < bps; b++)
		v |= (uint32_t)src[index * bps + b] << (8 * b);
	mask = d->bits_stored >= 32 ? 0xFFFFFFFFu : (1u << d->bits_stored) - 1u;
	v &= mask;
	if (d->pixel_representation == 1 && d->bits_stored < 32 && (v >> (d->bits_stored - 1)) & 1u)
		v |= ~mask;
	return (int32_t)v;
}

static unsigned resolutions_for(const pacs_pixel_desc *d)
{
	uint32_t side = d->rows < d->columns ? d->rows : d->columns;
	unsigned n = 1;

	/* The smallest resolution must keep at least one sample: 2^(n-1) <= side. */
	while (n < 6 && (side >> n) >= 1)
		n++;
	return n;
}

int pacs_j2k__encode(const pacs_pixel_desc *d, const uint8_t *src, size_t len, int mct, uint8_t **out,
		     size_t *out_len)
{
	opj_cparameters_t params;
	opj_image_cmptparm_t comps[4];
	opj_codec_t *codec = NULL;
	opj_stream_t *stream = NULL;
	opj_image_t *img = NULL;
	j2k_log log = { "" };
	mem_out m = { NULL, 0, 0, 0, 0 };
	size_t pixels = (size_t)d->rows * d->columns;
	unsigned spp = d->samples_per_pixel;
	int rc = 0;

	*out = NULL;
	*out_len = 0;
	(void)len;
	memset(comps, 0, sizeof(comps));
	for (unsigned c = 0; c < spp; c++) {
		comps[c].dx = 1;
		comps[c].dy = 1;
		comps[c].w = d->columns;
		comps[c].h = d->rows;
		comps[c].prec = d->bits_stored;
		comps[c].sgnd = d->pixel_representation;
	}
	img = opj_image_create(spp, comps, spp == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
	if (img == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a JPEG 2000 image");
	img->x0 = 0;
	img->y0 = 0;
	img->x1 = d->columns;
	img->y1 = d->rows;
	for (unsigned c = 0; c < spp; c++) {
		OPJ_INT32 *data = img->comps[c].data;
		for (size_t i = 0; i < pixels; i++) {
			size_t index = d->planar_configuration == 1 ? (size_t)c * pixels + i : i * spp + c;
			data[i] = load_sample(d, src, index);
		}
	}

	opj_set_default_encoder_parameters(&params);
	params.tcp_numlayers = 1;
	params.tcp_rates[0] = 0; /* no rate limit: every bit plane is kept */
	params.cp_disto_alloc = 1;
	params.irreversible = 0; /* 5/3 reversible wavelet */
	params.tcp_mct = mct ? 1 : 0;
	params.numresolution = (int)resolutions_for(d);

	codec = opj_create_compress(OPJ_CODEC_J2K);
	stream = opj_stream_create(J2K_STREAM_CHUNK, OPJ_FALSE);
	if (codec == NULL || stream == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory for a JPEG 2000 encoder");
		goto cleanup;
	}
	set_handlers(codec, &log);
	opj_stream_set_user_data(stream, &m, NULL);
	opj_stream_set_write_function(stream, out_write);
	opj_stream_set_skip_function(stream, out_skip);
	opj_stream_set_seek_function(stream, out_seek);
	if (!opj_setup_encoder(codec, &params, img)) {
		rc = j2k_fail(ARCA_EUNSUPPORTED, &log, "encoder setup");
		goto cleanup;
	}
	if (!opj_start_compress(codec, img, stream) || !opj_encode(codec, stream) ||
	    !opj_end_compress(codec, stream)) {
		rc = m.failed ? arca_error_set(ARCA_ENOMEM, "out of memory for a JPEG 2000 codestream")
			      : j2k_fail(ARCA_EGENERIC, &log, "encoding");
		goto cleanup;
	}
	/* PS3.5 A.4: fragments have an even length; a zero after EOC is the
	 * customary pad. */
	if ((m.len & 1u) && out_reserve(&m, m.len + 1) == 0)
		m.data[m.len++] = 0;
	else if (m.len & 1u)
		rc = arca_error_set(ARCA_ENOMEM, "out of memory for a JPEG 2000 codestream");
cleanup:
	if (stream != NULL)
		opj_stream_destroy(stream);
	if (codec != NULL)
		opj_destroy_codec(codec);
	opj_image_destroy(img);
	if (rc < 0) {
		free(m.data);
		return rc;
	}
	*out = m.data;
	*out_len = m.len;
	return 0;
}
