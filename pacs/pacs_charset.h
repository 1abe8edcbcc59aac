/* pacs_charset.h - Specific Character Set (0008,0005) to and from UTF-8.
 *
 * PS3.3 C.12.1.1.2 defines the terms; PS3.5 6.1 and Annexes H, I, J, K
 * describe ISO 2022 code extension with escape sequences.  Single-byte sets
 * without extensions (ISO_IR 100 ...), ISO 2022 sets with escapes
 * (ISO 2022 IR 6/13/87/159/149/58/100.../166), ISO_IR 192 (UTF-8), GB18030
 * and GBK are supported.  For PN values each component group (split on
 * '=') starts again in the first character set, as PS3.5 6.1.2.5.3 says,
 * and for all multi-valued text each value (split on '\') does too.
 * Conversion goes through glibc iconv.
 *
 * Leniency (values from real archives): bytes above 0x7F where no G1 set
 * is designated (default repertoire, or ISO 2022 with value 1 empty) read
 * as ISO 8859-1; term spellings such as "ISO-IR 100", "ISO_IR100",
 * "iso_ir 100" and the aliases "ISO-8859-n", "UTF-8" are accepted; a
 * multi-byte ISO 2022 term as value 1 (e.g. "ISO 2022 IR 87" alone) means
 * ISO-IR 6 as the initial set; ESC ( B, ESC ( J and ESC ) I are honoured
 * in any ISO 2022 value.  Encoding is strict: only listed sets are used.
 *
 * A pacs_charset is immutable once opened, so one may be shared by
 * threads; each conversion opens the iconv descriptors it needs. */
#ifndef PACS_CHARSET_H
#define PACS_CHARSET_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_vr.h"

typedef struct pacs_charset pacs_charset;

/* Parses a raw (0008,0005) value (backslash-separated defined terms, may
 * be NULL/empty for the default repertoire).  *out is the caller's
 * (pacs_charset_free).  ARCA_EUNSUPPORTED names an unknown term (and a
 * Table C.12-5 term after value 1); ARCA_ELIMIT above 16 values. */
int pacs_charset_open(pacs_charset **out, const uint8_t *value, size_t len);
void pacs_charset_free(pacs_charset *cs);

/* Decodes a raw value of the given VR to UTF-8.  *out is the caller's
 * (free()), NUL-terminated, *out_len excludes the NUL.  Bytes that cannot be
 * decoded fail with ARCA_ECHARSET naming the offset.  The VR decides the
 * delimiters that reset ISO 2022 state: '\' except for LT ST UT UR, '^'
 * and '=' for PN, control characters always. */
int pacs_charset_to_utf8(const pacs_charset *cs, pacs_vr vr, const uint8_t *in, size_t len,
			 char **out, size_t *out_len);

/* Encodes UTF-8 text into this character set (with the escape sequences
 * ISO 2022 needs, returning to the initial set at each value and PN
 * component delimiter).  ARCA_ECHARSET when a character has no encoding
 * (naming it and its offset) or the input is not valid UTF-8.  Each
 * character goes into the first listed set (in value order) that has it.
 * *out is the caller's (free()), NUL-terminated (not counted in *out_len). */
int pacs_charset_from_utf8(const pacs_charset *cs, pacs_vr vr, const char *in, size_t len,
			   uint8_t **out, size_t *out_len);

/* True when the set is the default repertoire or ISO_IR 192 (no conversion needed
 * for valid UTF-8/ASCII text). */
int pacs_charset_is_utf8_compatible(const pacs_charset *cs);

/* Borrowed: the canonical defined term of value `index` ("ISO_IR 100", ""),
 * NULL if index >= pacs_charset_term_count().  An absent or empty
 * (0008,0005) counts as one empty term. */
const char *pacs_charset_term(const pacs_charset *cs, unsigned index);
unsigned pacs_charset_term_count(const pacs_charset *cs);

#endif
