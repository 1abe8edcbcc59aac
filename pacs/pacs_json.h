/* pacs_json.h - the DICOM JSON Model (PS3.18 Annex F.2).
 *
 * Encoding: one object keyed by the eight upper-case hex digits of each tag,
 * in ascending tag order, each {"vr": "..", "Value": [...]} (F.2.2).
 *  - Text is converted to UTF-8 with the Specific Character Set in force;
 *    multi-valued text is split on backslash, each value trimmed of padding.
 *    Bytes that cannot be converted are written as U+FFFD.
 *  - PN values are {"Alphabetic", "Ideographic", "Phonetic"} objects from
 *    the '='-separated component groups, empty groups left out.
 *  - US SS UL SL FL FD are Numbers (printed with the fewest digits that read
 *    back as the same binary value); SV and UV are Numbers up to 2^53 and
 *    Strings beyond (F.2.3 note).  IS and DS are Numbers when the value
 *    parses as one, otherwise the text is kept as a String (F.2.3 allows
 *    "Number or String").  FL/FD NaN and infinities become the Strings
 *    "NaN", "Infinity", "-Infinity".  AT is "GGGGEEEE".
 *  - SQ: an array of objects, one per item; no "Value" for zero items.
 *  - Empty values: {"vr": ".."} with no "Value"; an empty value among
 *    several is null (F.2.5).  Group lengths (gggg,0000) are left out.
 *  - OB OD OF OL OV OW UN: "InlineBinary" base64 of the little-endian value
 *    only with PACS_JSON_INCLUDE_BULK, otherwise "vr" alone.  Encapsulated
 *    pixel data is inlined as its item sequence (PS3.5 A.4).  Elements whose
 *    value is not held (bulk) always get "vr" alone.
 *  - Group 0002 only with PACS_JSON_INCLUDE_META.
 *
 * Decoding accepts that model (and a one-element array of it, as DICOMweb
 * returns), with Numbers or Strings for the numeric VRs. */
#ifndef PACS_JSON_H
#define PACS_JSON_H

#include <stddef.h>

#include "pacs_ds.h"

enum pacs_json_flag {
	PACS_JSON_INCLUDE_META = 1u << 0, /* also emit group 0002 */
	PACS_JSON_INCLUDE_BULK = 1u << 1, /* InlineBinary for OB/OW/UN... values (default: "vr" only) */
	PACS_JSON_PRETTY = 1u << 2,       /* newlines and two-space indentation */
};

/* Encodes ds as a DICOM JSON object.  *out is the caller's (free()),
 * NUL-terminated UTF-8; out_len may be NULL. */
int pacs_json_encode(const pacs_ds *ds, unsigned flags, char **out, size_t *out_len);

/* Parses a DICOM JSON object into a new root data set.  *out is the
 * caller's (pacs_ds_free).  Text is stored as UTF-8: when any value holds
 * non-ASCII text, every (0008,0005) is set to ISO_IR 192 (F.2.2 note 3).
 * IS/DS Numbers are formatted back into strings (DS in at most 16 bytes);
 * BulkDataURI attributes become bulk placeholders (pacs_ds_set_bulk with
 * length 0), since their value is elsewhere.  ARCA_EPROTO names the
 * attribute that is not valid. */
int pacs_json_decode(pacs_ds **out, const char *json, size_t len);

#endif
