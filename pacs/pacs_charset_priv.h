/* pacs_charset_priv.h - internals shared by the pacs_charset_*.c files:
 * the graphic character sets of PS3.3 C.12.1.1.2 (Tables C.12-2 to
 * C.12-5), the pacs_charset object, the output buffer and UTF-8 codec, and
 * the iconv adapter.  Not a public header.
 *
 *   pacs_charset.c          the object: parsing (0008,0005), dispatch
 *   pacs_charset_term.c     the defined terms and the sets they name
 *   pacs_charset_iso2022.c  the ISO 2022 G0/G1 state machine (PS3.5 6.1.2.5)
 *   pacs_charset_iconv.c    every call into glibc iconv
 *   pacs_charset_utf8.c     output buffer, UTF-8 validation and coding */
#ifndef PACS_CHARSET_PRIV_H
#define PACS_CHARSET_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iconv.h>

#include "pacs_charset.h"

/* ---- graphic character sets (code elements) ---- */

/* One graphic character set that can be designated to G0 or G1. */
enum pacs_cs_set {
	CS_SET_NONE = 0,
	CS_SET_ASCII,        /* ISO-IR 6, ISO 646 IRV (94, G0) */
	CS_SET_JIS_ROMAN,    /* ISO-IR 14, JIS X 0201 Romaji (94, G0) */
	CS_SET_JIS_KATAKANA, /* ISO-IR 13, JIS X 0201 Katakana (94, G1) */
	CS_SET_LATIN1,       /* ISO-IR 100 .. ISO-IR 166: 96-sets in G1 */
	CS_SET_LATIN2,
	CS_SET_LATIN3,
	CS_SET_LATIN4,
	CS_SET_CYRILLIC,
	CS_SET_ARABIC,
	CS_SET_GREEK,
	CS_SET_HEBREW,
	CS_SET_LATIN5,
	CS_SET_LATIN9,
	CS_SET_THAI,
	CS_SET_JISX0208,     /* ISO-IR 87 (94x94, G0) */
	CS_SET_JISX0212,     /* ISO-IR 159 (94x94, G0) */
	CS_SET_KSX1001,      /* ISO-IR 149 (94x94, G1) */
	CS_SET_GB2312,       /* ISO-IR 58 (94x94, G1) */
	CS_SET_COUNT
};

/* The iconv encodings arca converts through (see pacs_charset_iconv.c
 * for why these and not "ISO-2022-JP"). */
enum pacs_cs_family {
	CS_FAM_NONE = 0,
	CS_FAM_EUC_JP, /* JIS X 0208 and JIS X 0212 */
	CS_FAM_EUC_KR, /* KS X 1001 */
	CS_FAM_EUC_CN, /* GB 2312 */
	CS_FAM_GB18030,
	CS_FAM_GBK,
	CS_FAM_COUNT
};

enum pacs_cs_shape {
	CS_SHAPE_94,    /* single byte, 0x21-0x7E */
	CS_SHAPE_96,    /* single byte, 0x20-0x7F (used in GR: 0xA0-0xFF) */
	CS_SHAPE_94x94, /* two bytes, each 0x21-0x7E */
};

typedef struct pacs_cs_set_info {
	const char *name;      /* "ISO-IR 87" */
	uint8_t shape;         /* enum pacs_cs_shape */
	uint8_t g;             /* 0 or 1: the code element DICOM designates it to */
	uint8_t esc_len;       /* bytes after ESC in the designating sequence */
	char esc[3];           /* e.g. '$', ')', 'C' */
	const char *iconv_96;  /* 96-sets: iconv name used to build the table */
	uint8_t family;        /* 94x94 sets: enum pacs_cs_family */
} pacs_cs_set_info;

/* Borrowed, static; NULL for CS_SET_NONE or out of range. */
const pacs_cs_set_info *pacs_charset__set_info(unsigned set);

/* Maps an escape sequence (the bytes after ESC) to the set it designates
 * and the code element (0 or 1) it designates it to; CS_SET_NONE if the
 * sequence is not one PS3.3 Tables C.12-3/C.12-4 (or a lenient alias) know. */
unsigned pacs_charset__set_from_escape(const uint8_t *seq, size_t len, unsigned *g);

/* ---- defined terms ---- */

enum pacs_cs_kind {
	CS_KIND_ISO2022 = 0, /* default, single-byte and ISO 2022 (code extension) sets */
	CS_KIND_UTF8,        /* ISO_IR 192 */
	CS_KIND_GB18030,
	CS_KIND_GBK,
};

typedef struct pacs_cs_term {
	const char *term;   /* canonical defined term, "" for the default repertoire */
	uint8_t kind;       /* enum pacs_cs_kind */
	bool extensions;    /* an "ISO 2022 ..." term */
	bool multibyte;     /* 94x94 set: cannot be the initial set */
	uint8_t g0, g1;     /* sets it brings (CS_SET_NONE if none) */
} pacs_cs_term;

/* Looks a raw term up, tolerating case, '_' '-' ' ' variants ("ISO-IR 100",
 * "ISO_IR100") and a few aliases; NULL if unknown. */
const pacs_cs_term *pacs_charset__term_lookup(const uint8_t *s, size_t len);

/* ---- the object ---- */

#define CS_MAX_TERMS 16

struct pacs_charset {
	uint8_t kind;               /* enum pacs_cs_kind */
	bool extensions;            /* escape sequences are interpreted */
	bool ascii_only;            /* ISO-IR 6 is the only set listed */
	uint8_t init_g0, init_g1;   /* PS3.5 6.1.2.5.1: designated at the start of each value */
	bool avail[CS_SET_COUNT];   /* sets that escape sequences may designate */
	uint8_t order[CS_SET_COUNT]; /* encoder's candidate sets, in value order */
	unsigned norder;
	unsigned nterms;
	const char *terms[CS_MAX_TERMS]; /* canonical, static */
	char label[128];             /* the terms joined by '\', for messages */
	/* 96-sets: code point of GR byte 0xA0 + i, 0 if unassigned.  Built with
	 * iconv once at open so that decoding single-byte text needs no iconv
	 * call and the object stays immutable (safe to share between threads). */
	uint16_t sb96[CS_SET_COUNT][96];
};

/* ---- output buffer and UTF-8 ---- */

typedef struct pacs_cs_buf {
	uint8_t *data;
	size_t len, cap;
} pacs_cs_buf;

/* All return 0 or ARCA_ENOMEM (message set).  reserve makes room for
 * extra more bytes (and the final NUL) at data + len. */
int pacs_charset__buf_reserve(pacs_cs_buf *b, size_t extra);
int pacs_charset__buf_put(pacs_cs_buf *b, const void *p, size_t n);
int pacs_charset__buf_byte(pacs_cs_buf *b, uint8_t c);
/* Appends cp (<= 0x10FFFF, not a surrogate) as UTF-8. */
int pacs_charset__buf_cp(pacs_cs_buf *b, uint32_t cp);
/* Appends a NUL (not counted in len). */
int pacs_charset__buf_finish(pacs_cs_buf *b);
void pacs_charset__buf_free(pacs_cs_buf *b);

/* Decodes one UTF-8 sequence at s[*pos..len): strict (no overlongs,
 * surrogates or values above U+10FFFF).  Advances *pos and returns 0, or
 * returns -1 leaving *pos at the bad byte. */
int pacs_charset__utf8_next(const uint8_t *s, size_t len, size_t *pos, uint32_t *cp);
/* Writes cp as UTF-8 into out[4], returns the byte count. */
size_t pacs_charset__utf8_put(uint32_t cp, uint8_t out[4]);

/* ---- iconv adapter ---- */

/* Descriptors opened on demand during one conversion call and closed at its
 * end; [family][0] decodes to UTF-8, [family][1] encodes from UTF-8. */
typedef struct pacs_cs_conv {
	iconv_t cd[CS_FAM_COUNT][2]; /* (iconv_t)-1 until opened */
} pacs_cs_conv;

void pacs_charset__conv_init(pacs_cs_conv *cv);
void pacs_charset__conv_close(pacs_cs_conv *cv);

/* Fills table[i] with the code point of byte 0xA0 + i in the single-byte
 * iconv encoding `name` (0 where unassigned).  ARCA_EUNSUPPORTED when the
 * C library lacks the encoding. */
int pacs_charset__iconv_table96(const char *name, uint16_t table[96]);

/* Converts the few bytes of one character (EUC form) of family fam to
 * UTF-8, appended to out.  ARCA_ECHARSET without a message when the bytes
 * are not a character of the encoding; the caller names the offset. */
int pacs_charset__iconv_decode_char(pacs_cs_conv *cv, unsigned fam, const uint8_t *in,
				    size_t len, pacs_cs_buf *out);
/* Encodes one code point into family fam; *out_len bytes in out[8].
 * ARCA_ECHARSET without a message when it has no encoding. */
int pacs_charset__iconv_encode_char(pacs_cs_conv *cv, unsigned fam, uint32_t cp,
				    uint8_t out[8], size_t *out_len);
/* Converts a whole value (stateless multi-byte encodings GB18030, GBK) in
 * direction dir (0: to UTF-8, 1: from UTF-8), appending to out.  On a bad
 * sequence returns ARCA_ECHARSET without a message and *bad is its offset. */
int pacs_charset__iconv_value(pacs_cs_conv *cv, unsigned fam, int dir, const uint8_t *in,
			      size_t len, pacs_cs_buf *out, size_t *bad);

/* ---- ISO 2022 (pacs_charset_iso2022.c) ---- */

int pacs_charset__iso2022_decode(const pacs_charset *cs, pacs_vr vr, const uint8_t *in,
				 size_t len, pacs_cs_buf *out);
int pacs_charset__iso2022_encode(const pacs_charset *cs, pacs_vr vr, const uint8_t *in,
				 size_t len, pacs_cs_buf *out);

#endif
