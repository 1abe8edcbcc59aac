/* pacs_ds.h - the DICOM data set model (PS3.5 Section 7).
 *
 * A pacs_ds is a data set or a sequence item: an ordered list of data
 * elements.  Values are held as the raw bytes of the value field in
 * little-endian byte order (the reader swaps Explicit VR Big Endian on the
 * way in, the writer on the way out) and are decoded lazily by the
 * accessors below.  Strings stay in the character set they were encoded
 * in; pacs_ds_get_utf8() converts on demand.
 *
 * Ownership: a root data set (from pacs_ds_new() or a reader) owns every
 * item, element and value below it; pacs_ds_free() on the root frees all.
 * Pointers returned by accessors are borrowed and stay valid until the data
 * set they came from is modified or freed. */
#ifndef PACS_DS_H
#define PACS_DS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_vr.h"

#define PACS_TAG(g, e) ((((uint32_t)(g)) << 16) | ((uint32_t)(e) & 0xFFFFu))
#define PACS_TAG_GROUP(t) ((uint16_t)((t) >> 16))
#define PACS_TAG_ELEMENT(t) ((uint16_t)((t) & 0xFFFFu))
#define PACS_TAG_IS_PRIVATE(t) ((PACS_TAG_GROUP(t) & 1u) != 0)

/* PS3.5 7.1.1: 0xFFFFFFFF is the undefined length. */
#define PACS_UNDEFINED_LENGTH 0xFFFFFFFFu

/* Item and delimitation tags (PS3.5 7.5). */
#define PACS_TAG_ITEM PACS_TAG(0xFFFE, 0xE000)
#define PACS_TAG_ITEM_DELIM PACS_TAG(0xFFFE, 0xE00D)
#define PACS_TAG_SEQ_DELIM PACS_TAG(0xFFFE, 0xE0DD)
#define PACS_TAG_PIXEL_DATA PACS_TAG(0x7FE0, 0x0010)
#define PACS_TAG_SPECIFIC_CHARSET PACS_TAG(0x0008, 0x0005)
#define PACS_TAG_TRANSFER_SYNTAX PACS_TAG(0x0002, 0x0010)

typedef struct pacs_ds pacs_ds;
typedef struct pacs_elem pacs_elem;

/* Element flags, as read or as to be written. */
enum pacs_elem_flag {
	PACS_ELEM_UNDEF_LENGTH = 1u << 0, /* SQ or encapsulated value had undefined length */
	PACS_ELEM_BULK = 1u << 1,         /* value went to a bulk callback and is not held */
	PACS_ELEM_ENCAPSULATED = 1u << 2, /* value is a list of fragments (PS3.5 A.4) */
	PACS_ELEM_IMPLICIT_VR = 1u << 3,  /* VR came from the dictionary, not the stream */
};

/* ---- life cycle ---- */

/* Creates an empty root data set; *out is the caller's (pacs_ds_free). */
int pacs_ds_new(pacs_ds **out);

/* Frees a root data set and everything it owns. Accepts NULL. Must not be
 * called on a sequence item. */
void pacs_ds_free(pacs_ds *ds);

/* Deep copy of ds (root or item) into a new root; *out is the caller's.
 * Bulk elements stay bulk (no value). */
int pacs_ds_clone(pacs_ds **out, const pacs_ds *ds);

/* ---- navigation ---- */

size_t pacs_ds_count(const pacs_ds *ds);
const pacs_elem *pacs_ds_at(const pacs_ds *ds, size_t index);
/* NULL when absent. */
const pacs_elem *pacs_ds_find(const pacs_ds *ds, uint32_t tag);
pacs_elem *pacs_ds_find_mut(pacs_ds *ds, uint32_t tag);
/* The data set holding the sequence this item is in; NULL for a root. */
const pacs_ds *pacs_ds_parent(const pacs_ds *ds);
/* For an item: the length it was encoded with (PACS_UNDEFINED_LENGTH if
 * undefined); for a root: 0. */
uint32_t pacs_ds_item_length(const pacs_ds *ds);
void pacs_ds_set_item_length(pacs_ds *ds, uint32_t length);
/* Byte offset of the item (or first byte of the root) in the stream read. */
uint64_t pacs_ds_offset(const pacs_ds *ds);

/* ---- root properties ---- */

/* The transfer syntax the root data set was read in ("" if unknown). */
const char *pacs_ds_source_ts(const pacs_ds *ds);
int pacs_ds_set_source_ts(pacs_ds *ds, const char *uid);
/* The 128-byte Part 10 preamble as read, or NULL if there was none. */
const uint8_t *pacs_ds_preamble(const pacs_ds *ds);
int pacs_ds_set_preamble(pacs_ds *ds, const uint8_t preamble[128]);

/* ---- element properties ---- */

uint32_t pacs_elem_tag(const pacs_elem *e);
pacs_vr pacs_elem_vr(const pacs_elem *e);
unsigned pacs_elem_flags(const pacs_elem *e);
/* Value length as encoded (PACS_UNDEFINED_LENGTH for undefined). */
uint32_t pacs_elem_length(const pacs_elem *e);
/* Byte offset of the element's tag in the stream read (0 if built). */
uint64_t pacs_elem_offset(const pacs_elem *e);
/* Borrowed value bytes (little endian), *len set; NULL (and *len 0) for
 * sequences, encapsulated and bulk elements.  An empty value gives a
 * non-NULL pointer and *len 0. */
const uint8_t *pacs_elem_value(const pacs_elem *e, uint32_t *len);

bool pacs_elem_is_sequence(const pacs_elem *e);
size_t pacs_elem_item_count(const pacs_elem *e);
const pacs_ds *pacs_elem_item(const pacs_elem *e, size_t index);
pacs_ds *pacs_elem_item_mut(pacs_elem *e, size_t index);

/* Encapsulated pixel data: fragment 0 is the Basic Offset Table item
 * (possibly empty), 1.. the fragments, as on the wire. */
size_t pacs_elem_fragment_count(const pacs_elem *e);
const uint8_t *pacs_elem_fragment(const pacs_elem *e, size_t index, uint32_t *len);

/* ---- decoded values ---- */

/* Value multiplicity: number of backslash-separated values for strings
 * (1 for the text VRs LT ST UT UR), length / size for binary numbers,
 * 1 for OB/OW-like values, item count for SQ, 0 for an empty value. */
unsigned pacs_elem_vm(const pacs_elem *e);

/* Borrowed slice of string value `index` (0-based) with leading (except
 * for text VRs) and trailing spaces and trailing NULs removed. No charset
 * conversion. ARCA_ENOTFOUND if index >= VM. */
int pacs_elem_string(const pacs_elem *e, unsigned index, const char **start, size_t *len);

/* Copies string value `index` of tag into buf (NUL-terminated, trimmed).
 * ARCA_ENOTFOUND if absent, ARCA_ELIMIT if buf is too small. */
int pacs_ds_get_string(const pacs_ds *ds, uint32_t tag, unsigned index, char *buf, size_t size);

/* Numeric value `index`: integers from US UL UV SS SL SV (and IS strings),
 * reals from FL FD (and DS strings). ARCA_EPROTO if the value does not parse. */
int pacs_elem_uint(const pacs_elem *e, unsigned index, uint64_t *out);
int pacs_elem_int(const pacs_elem *e, unsigned index, int64_t *out);
int pacs_elem_double(const pacs_elem *e, unsigned index, double *out);
int pacs_ds_get_uint(const pacs_ds *ds, uint32_t tag, unsigned index, uint64_t *out);
int pacs_ds_get_int(const pacs_ds *ds, uint32_t tag, unsigned index, int64_t *out);
int pacs_ds_get_double(const pacs_ds *ds, uint32_t tag, unsigned index, double *out);

/* The element's whole value converted to UTF-8 under the Specific Character
 * Set in force for ds (its own (0008,0005), else its parents').  *out is the
 * caller's (free()), NUL-terminated; trailing padding removed. */
int pacs_ds_get_utf8(const pacs_ds *ds, uint32_t tag, char **out);
int pacs_elem_utf8(const pacs_ds *ds, const pacs_elem *e, char **out);

/* The raw Specific Character Set value in force for ds, borrowed, or NULL
 * (default repertoire). */
const uint8_t *pacs_ds_charset(const pacs_ds *ds, uint32_t *len);

/* ---- modification ---- */

/* Inserts (in tag order) or replaces tag with a copy of value[0..len). */
int pacs_ds_set(pacs_ds *ds, uint32_t tag, pacs_vr vr, const void *value, uint32_t len);
/* Sets a string value, padded to even length with the VR's pad byte. */
int pacs_ds_set_string(pacs_ds *ds, uint32_t tag, pacs_vr vr, const char *s);
int pacs_ds_set_u16(pacs_ds *ds, uint32_t tag, uint16_t v);
int pacs_ds_set_u32(pacs_ds *ds, uint32_t tag, uint32_t v);
/* ARCA_ENOTFOUND if absent. */
int pacs_ds_remove(pacs_ds *ds, uint32_t tag);
/* Inserts or replaces tag with an empty sequence; *out borrowed. */
int pacs_ds_set_sequence(pacs_ds *ds, uint32_t tag, pacs_elem **out);
/* Appends an empty item to the sequence seq_tag of ds (created if absent);
 * *out borrowed (owned by the root). */
int pacs_ds_add_item(pacs_ds *ds, uint32_t seq_tag, pacs_ds **out);
/* Inserts or replaces tag with an empty encapsulated value. */
int pacs_ds_set_encapsulated(pacs_ds *ds, uint32_t tag, pacs_vr vr, pacs_elem **out);
/* Appends a copy of a fragment to the encapsulated element tag of ds (the
 * first one is the Basic Offset Table). */
int pacs_ds_add_fragment(pacs_ds *ds, uint32_t tag, const void *data, uint32_t len);
/* Inserts or replaces tag with a bulk element: its value (length bytes, or
 * undefined with fragments elsewhere) is held outside the data set. */
int pacs_ds_set_bulk(pacs_ds *ds, uint32_t tag, pacs_vr vr, uint32_t length, unsigned flags);

#endif
