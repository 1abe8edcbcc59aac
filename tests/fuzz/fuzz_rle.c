/* fuzz_rle.c - libFuzzer target for the RLE Lossless codec (pacs_rle.c,
 * PS3.5 Annex G), a decoder of outside input.
 *
 * Input: 3 bytes choosing the frame description (rows 1..256, columns
 * 1..256, then samples 1 or 3, bits allocated 8/16/32 and planar
 * configuration from the bits of the third byte), then the RLE frame.
 * Besides the sanitizers, two oracles: a frame that decodes re-encodes and
 * decodes to the same bytes; and the payload taken as a native frame
 * encodes and decodes back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_pixel_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const pacs_pixel_desc *d, const uint8_t *native, size_t len)
{
	uint8_t *enc = NULL, *back;
	size_t enc_len = 0;

	if (pacs_rle__encode(d, native, len, &enc, &enc_len) != 0)
		abort(); /* every well-sized native frame encodes */
	back = malloc(len);
	if (back == NULL)
		abort();
	if (pacs_rle__decode(d, enc, enc_len, back, len) != 0 || memcmp(back, native, len) != 0)
		abort();
	free(back);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pacs_pixel_desc d;
	size_t frame;
	uint8_t *out;

	if (size < 3)
		return 0;
	memset(&d, 0, sizeof(d));
	d.rows = (uint32_t)data[0] + 1;
	d.columns = (uint32_t)data[1] + 1;
	d.samples_per_pixel = (data[2] & 1u) ? 3 : 1;
	d.bits_allocated = (data[2] & 2u) ? 16 : (data[2] & 4u) ? 32 : 8;
	d.bits_stored = d.bits_allocated;
	d.high_bit = (uint16_t)(d.bits_allocated - 1);
	d.planar_configuration = (data[2] & 8u) ? 1 : 0;
	d.frames = 1;
	frame = (size_t)d.rows * d.columns * d.samples_per_pixel * (d.bits_allocated / 8u);
	out = malloc(frame);
	if (out == NULL)
		return 0;
	if (pacs_rle__decode(&d, data + 3, size - 3, out, frame) == 0)
		roundtrip(&d, out, frame);
	if (size - 3 >= frame)
		roundtrip(&d, data + 3, frame);
	free(out);
	return 0;
}
