/* chain_base64.h - strict standard base64 (RFC 4648 section 4), as the
 * signed-note and checkpoint formats use it for hashes and signatures.
 *
 * Strict because these bytes are signed and compared: the decoder accepts
 * exactly one spelling of each byte string (padding required, no
 * whitespace, no URL-safe alphabet, unused bits of the last character
 * zero), so two notes that differ in text never carry the same values. */
#ifndef CHAIN_BASE64_H
#define CHAIN_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes, without the NUL. */
size_t chain_base64_encoded_len(size_t n);

/* Writes chain_base64_encoded_len(n) characters and a NUL to out. */
void chain_base64_encode(char *out, const uint8_t *in, size_t n);

/* Decodes len characters into out (room for cap bytes); *n is set to the
 * byte count.  ARCA_EPROTO for anything but canonical padded base64 (the
 * message says what, without a prefix; callers add where), ARCA_ELIMIT if
 * the bytes do not fit in cap. */
int chain_base64_decode(uint8_t *out, size_t cap, size_t *n, const char *in, size_t len);

#endif
