/* pacs_charset.h - Specific Character Set (0008,0005) to and from UTF-8.
 *
 * PS3.3 C.12.1.1.2 defines the terms; PS3.5 6.1 and Annexes H, I, J, K
 * describe ISO 2022 code extension with escape sequences.  Single-byte sets
 * without extensions (ISO_IR 100 ...), ISO 2022 sets with escapes
 * (ISO 2022 IR 6/13/87/159/149/58/100.../166), ISO_IR 192 (UTF-8), GB18030
 * and GBK are supported.  For PN values each component group (split on
 * '=') starts again in the first character set, as PS3.5 6.1.2.5.3 says,
 * and for all multi-valued text each value (split on '\') does too.
 * Conversion goes through glibc iconv. */
#ifndef PACS_CHARSET_H
#define PACS_CHARSET_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_vr.h"

typedef struct pacs_charset pacs_charset;

/* Parses a raw (0008,0005) value (backslash-separated defined terms, may
 * be NULL/empty for the default repertoire).  *out is the caller's
 * (pacs_charset_free).  ARCA_EUNSUPPORTED names an unknown term. */
int pacs_charset_open(pacs_charset **out, const uint8_t *value, size_t len);
void pacs_charset_free(pacs_charset *cs);

/* Decodes a raw value of the given VR to UTF-8.  *out is the caller's
 * (free()), NUL-terminated, *out_len excludes the NUL.  Bytes that cannot be
 * decoded fail with ARCA_ECHARSET naming the offset. */
int pacs_charset_to_utf8(const pacs_charset *cs, pacs_vr vr, const uint8_t *in, size_t len,
			 char **out, size_t *out_len);

/* Encodes UTF-8 text into this character set (with the escape sequences
 * ISO 2022 needs, returning to the initial set at each value and PN
 * component delimiter).  ARCA_ECHARSET when a character has no encoding. */
int pacs_charset_from_utf8(const pacs_charset *cs, pacs_vr vr, const char *in, size_t len,
			   uint8_t **out, size_t *out_len);

/* True when the set is the default repertoire or ISO_IR 192 (no conversion needed
 * for valid UTF-8/ASCII text). */
int pacs_charset_is_utf8_compatible(const pacs_charset *cs);

/* Borrowed: the canonical defined term of value `index` ("ISO_IR 100", ""). */
const char *pacs_charset_term(const pacs_charset *cs, unsigned index);
unsigned pacs_charset_term_count(const pacs_charset *cs);

#endif
