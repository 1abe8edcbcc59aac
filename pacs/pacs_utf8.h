/* pacs_utf8.h - UTF-8 validation (RFC 3629), the one copy that the dump,
 * the DICOM JSON writer, the normalisation engine and the character set
 * code share. */
#ifndef PACS_UTF8_H
#define PACS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid UTF-8 sequence that starts s[0..n), or 0 if
 * none does: no overlong forms, no surrogates, nothing past U+10FFFF.
 * n must be at least 1. */
size_t pacs_utf8_seq_len(const uint8_t *s, size_t n);

/* True when all of s[0..n) is valid UTF-8. */
bool pacs_utf8_valid(const uint8_t *s, size_t n);

#endif
