/* fuzz_j2k.c - libFuzzer target for the JPEG 2000 decoder (pacs_j2k.c over
 * OpenJPEG), a decoder of outside input.
 *
 * Input: 3 bytes choosing the frame description (rows 1..256, columns
 * 1..256, then samples 1 or 3, bits allocated 8 or 16 and pixel
 * representation from the bits of the third byte), then the codestream.
 * Besides the sanitizers, the oracle is losslessness: a decoded frame
 * re-encodes (reversibly) and decodes to the same samples. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_pixel_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pacs_pixel_desc d;
	size_t frame;
	uint8_t *out, *enc = NULL, *back;
	size_t enc_len = 0;
	int mct = 0;

	if (size < 3)
		return 0;
	memset(&d, 0, sizeof(d));
	d.rows = (uint32_t)data[0] + 1;
	d.columns = (uint32_t)data[1] + 1;
	d.samples_per_pixel = (data[2] & 1u) ? 3 : 1;
	d.bits_allocated = (data[2] & 2u) ? 16 : 8;
	d.bits_stored = d.bits_allocated;
	d.high_bit = (uint16_t)(d.bits_allocated - 1);
	d.pixel_representation = (data[2] & 4u) ? 1 : 0;
	d.frames = 1;
	frame = (size_t)d.rows * d.columns * d.samples_per_pixel * (d.bits_allocated / 8u);
	out = malloc(frame);
	back = malloc(frame);
	if (out == NULL || back == NULL)
		abort();
	if (pacs_j2k__decode(&d, data + 3, size - 3, out, frame, &mct) == 0) {
		/* The decoded cells hold values of the codestream's precision;
		 * compare them as bits_allocated-bit values. */
		if (pacs_j2k__encode(&d, out, frame, 0, &enc, &enc_len) == 0) {
			if (pacs_j2k__decode(&d, enc, enc_len, back, frame, &mct) != 0 ||
			    memcmp(back, out, frame) != 0)
				abort();
		}
		free(enc);
	}
	free(back);
	free(out);
	return 0;
}
