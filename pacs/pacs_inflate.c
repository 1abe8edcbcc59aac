/* pacs_inflate.c - the reader's deflate stage (PS3.5 A.5 Deflated
 * Explicit VR Little Endian).
 *
 * PS3.5 A.5: everything after the File Meta group is compressed with the
 * Deflate algorithm of RFC 1951, without the zlib header and trailer
 * (hence inflateInit2 with -15 window bits).  Inflated bytes are parsed as
 * they come out; their total is capped by max_inflated, so a small
 * "deflate bomb" cannot make the reader parse gigabytes of zeros. */
#include "pacs_read_priv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <zlib.h>

#include "arca_err.h"
#include "pacs_cursor.h"

#define INFLATE_CHUNK (64u * 1024u)

struct pacs_read__inflate {
	z_stream zs;
	bool ended;      /* Z_STREAM_END seen; later input is ignored */
	uint64_t total;  /* bytes inflated */
	uint8_t out[INFLATE_CHUNK];
};

int pacs_read__inflate_begin(pacs_reader *r)
{
	pacs_read__inflate *z = calloc(1, sizeof(*z));

	if (z == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for the deflate stage");
	if (inflateInit2(&z->zs, -15) != Z_OK) {
		free(z);
		return arca_error_set(ARCA_ENOMEM, "zlib: cannot initialise inflate");
	}
	r->inflate = z;
	return 0;
}

void pacs_read__inflate_free(pacs_reader *r)
{
	if (r->inflate == NULL)
		return;
	inflateEnd(&r->inflate->zs);
	free(r->inflate);
	r->inflate = NULL;
}

int pacs_read__inflate_feed(pacs_reader *r, const uint8_t *data, size_t len)
{
	pacs_read__inflate *z = r->inflate;
	pacs_cursor in = pacs_cursor_make(data, len);

	while (!z->ended) {
		const uint8_t *b = NULL;
		size_t n = pacs_cursor_rest(&in, &b), produced, consumed, used;
		uInt give = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
		int zrc, rc;

		z->zs.next_in = (Bytef *)(uintptr_t)b;
		z->zs.avail_in = give;
		z->zs.next_out = z->out;
		z->zs.avail_out = INFLATE_CHUNK;
		zrc = inflate(&z->zs, Z_NO_FLUSH);
		consumed = give - z->zs.avail_in;
		pacs_cursor_skip(&in, consumed);
		if (zrc == Z_STREAM_END)
			z->ended = true;
		produced = INFLATE_CHUNK - z->zs.avail_out;
		if (produced > r->opts.max_inflated - z->total)
			return arca_error_set(ARCA_ELIMIT,
					      "offset %" PRIu64 ": deflated data set inflates beyond %" PRIu64
					      " bytes (max_inflated): deflate bomb?", r->pos, r->opts.max_inflated);
		z->total += produced;
		/* What came out before a corrupt spot is parsed first, so
		 * the outcome does not depend on how the input was split. */
		rc = pacs_read__parse(r, z->out, produced, &used);
		if (rc < 0 || rc == PACS_READ__STOPPED)
			return rc;
		if (zrc != Z_OK && zrc != Z_BUF_ERROR && zrc != Z_STREAM_END)
			return arca_error_set(ARCA_EPROTO, "offset %" PRIu64 ": deflated data set: %s",
					      r->pos, z->zs.msg != NULL ? z->zs.msg : "corrupt deflate stream");
		/* Done when the input is used up and zlib had room to spare
		 * (a full output buffer may hide more output). */
		if (z->zs.avail_out != 0 && pacs_cursor_left(&in) == 0)
			break;
		if (produced == 0 && consumed == 0)
			break;
	}
	return 0;
}

int pacs_read__inflate_finish(pacs_reader *r)
{
	pacs_read__inflate *z = r->inflate;

	if (z != NULL && !z->ended)
		return arca_error_set(ARCA_ETRUNCATED,
				      "offset %" PRIu64 ": input ends inside the deflated data set", r->pos);
	return 0;
}
