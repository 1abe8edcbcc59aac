/* test_dicom.h - a small builder of DICOM byte streams for tests, and a
 * canonical text form of a data set tree for comparing two trees.
 *
 * The builder appends to a growing buffer: a preamble and File Meta group
 * (PS3.10 7.1), element headers and values in Implicit VR Little Endian,
 * Explicit VR Little Endian or Explicit VR Big Endian (PS3.5 7.1), items
 * and delimiters (PS3.5 7.5).  It writes exactly what it is told, so
 * tests can also build broken streams.  Allocation failure aborts (test
 * code only). */
#ifndef TEST_DICOM_H
#define TEST_DICOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"

typedef enum td_enc {
	TD_IMPLICIT_LE,
	TD_EXPLICIT_LE,
	TD_EXPLICIT_BE,
} td_enc;

typedef struct td {
	uint8_t *buf;
	size_t len, cap;
	td_enc enc; /* encoding of what td_header & co. write next */
} td;

/* A length to patch later (sequences and items of defined length), or a
 * delimiter to write (undefined length). */
typedef struct td_mark {
	size_t len_at;  /* offset of the 32-bit length field */
	size_t start;   /* offset of the first content byte */
	bool undefined;
	td_enc enc;
} td_mark;

void td_init(td *b, td_enc enc);
void td_free(td *b);
void td_set_enc(td *b, td_enc enc);

void td_raw(td *b, const void *data, size_t n);
void td_zeros(td *b, size_t n);
/* Numbers in the byte order of b->enc. */
void td_u16(td *b, uint16_t v);
void td_u32(td *b, uint32_t v);

/* 128 bytes of `fill` and "DICM". */
void td_preamble(td *b, uint8_t fill);
/* A File Meta group in Explicit VR Little Endian whatever b->enc:
 * (0002,0000) group length, (0002,0001) version, (0002,0002) and
 * (0002,0003) SOP class/instance, (0002,0010) transfer syntax (omitted
 * when ts_uid is NULL), (0002,0012) implementation class. */
void td_meta(td *b, const char *ts_uid);

/* An element header in b->enc; vr is ignored in Implicit VR.  The length
 * field is 16 or 32 bits as PS3.5 Table 7.1-1 says for vr (any two
 * letters not of the long-length set get the 16-bit form). */
void td_header(td *b, uint32_t tag, const char *vr, uint32_t len);
/* Header and value; value bytes are written as given. */
void td_elem(td *b, uint32_t tag, const char *vr, const void *value, uint32_t len);
/* A string value, padded to even length (NUL for UI, else space; vr may
 * be NULL in Implicit VR). */
void td_str(td *b, uint32_t tag, const char *vr, const char *s);
/* US/UL/SS... values in b->enc's byte order. */
void td_us(td *b, uint32_t tag, uint16_t v);
void td_ul(td *b, uint32_t tag, uint32_t v);

/* Item (FFFE,E000) with a length; delimiters (FFFE,E00D), (FFFE,E0DD). */
void td_item(td *b, uint32_t len);
void td_item_delim(td *b);
void td_seq_delim(td *b);

/* A sequence header (VR SQ, or `vr` for UN sequences) whose length is
 * patched by td_end (defined) or closed by a delimiter (undefined). */
td_mark td_seq_begin(td *b, uint32_t tag, bool undefined);
td_mark td_seq_begin_vr(td *b, uint32_t tag, const char *vr, bool undefined);
td_mark td_item_begin(td *b, bool undefined);
/* Closes what td_seq_begin/td_item_begin opened: patches the length or
 * writes the matching delimiter (the mark knows which one). */
void td_seq_end(td *b, td_mark m);
void td_item_end(td *b, td_mark m);

/* A canonical, complete text form of a tree: every element's tag, VR,
 * flags, length, offset and value (hex up to 64 bytes, else a hash),
 * items with their lengths and offsets, fragments; plus the root's source
 * transfer syntax and preamble.  Caller frees. */
char *td_canon(const pacs_ds *ds);

#endif
