/* fuzz_charset.c - libFuzzer target for Specific Character Set decoding
 * and encoding (pacs_charset.h), which reads text from outside input.
 *
 * Input layout: byte 0 selects the VR (PN, LO, LT, SH, UT, ...); the rest is
 * split at the first 0x00 byte into a (0008,0005) value and the text to
 * decode (no 0x00 byte: the first 24 bytes are the value).  Whatever
 * decodes must re-encode into the same set and decode to the same UTF-8
 * (when the encoder accepts it: lenient decoding can read bytes a strict
 * encoder will not produce). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_charset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const pacs_vr fuzz_vrs[] = {
	PACS_VR_PN, PACS_VR_LO, PACS_VR_SH, PACS_VR_LT, PACS_VR_ST, PACS_VR_UT, PACS_VR_UC, PACS_VR_CS,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cs_value, *text, *zero;
	size_t cs_len, text_len;
	pacs_charset *cs = NULL;
	char *utf8 = NULL, *again = NULL;
	uint8_t *encoded = NULL;
	size_t utf8_len = 0, again_len = 0, encoded_len = 0;
	pacs_vr vr;

	if (size < 1)
		return 0;
	vr = fuzz_vrs[data[0] % (sizeof(fuzz_vrs) / sizeof(fuzz_vrs[0]))];
	data++;
	size--;
	zero = memchr(data, 0, size);
	if (zero != NULL) {
		cs_value = data;
		cs_len = (size_t)(zero - data);
		text = zero + 1;
		text_len = size - cs_len - 1;
	} else {
		cs_len = size < 24 ? size : 24;
		cs_value = data;
		text = data + cs_len;
		text_len = size - cs_len;
	}
	if (pacs_charset_open(&cs, cs_value, cs_len) != 0)
		return 0;
	if (pacs_charset_to_utf8(cs, vr, text, text_len, &utf8, &utf8_len) == 0) {
		if (strlen(utf8) > utf8_len)
			abort(); /* the length reported must cover the string */
		if (pacs_charset_from_utf8(cs, vr, utf8, utf8_len, &encoded, &encoded_len) == 0) {
			if (pacs_charset_to_utf8(cs, vr, encoded, encoded_len, &again, &again_len) != 0)
				abort(); /* what we encode, we must decode */
			if (again_len != utf8_len || memcmp(again, utf8, utf8_len) != 0)
				abort(); /* and get the same text back */
		}
	}
	free(utf8);
	free(again);
	free(encoded);
	pacs_charset_free(cs);
	return 0;
}
