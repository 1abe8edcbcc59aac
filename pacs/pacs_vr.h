/* pacs_vr.h - DICOM Value Representations (PS3.5 6.2, Table 6.2-1). */
#ifndef PACS_VR_H
#define PACS_VR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 34 VRs of the current standard, then the dictionary's pseudo VRs
 * (DCMTK notation) that stand for "one of several, decided by context". */
typedef enum pacs_vr {
	PACS_VR_NONE = 0,
	PACS_VR_AE, PACS_VR_AS, PACS_VR_AT, PACS_VR_CS, PACS_VR_DA, PACS_VR_DS,
	PACS_VR_DT, PACS_VR_FD, PACS_VR_FL, PACS_VR_IS, PACS_VR_LO, PACS_VR_LT,
	PACS_VR_OB, PACS_VR_OD, PACS_VR_OF, PACS_VR_OL, PACS_VR_OV, PACS_VR_OW,
	PACS_VR_PN, PACS_VR_SH, PACS_VR_SL, PACS_VR_SQ, PACS_VR_SS, PACS_VR_ST,
	PACS_VR_SV, PACS_VR_TM, PACS_VR_UC, PACS_VR_UI, PACS_VR_UL, PACS_VR_UN,
	PACS_VR_UR, PACS_VR_US, PACS_VR_UT, PACS_VR_UV,
	PACS_VR_COUNT_REAL,
	/* pseudo VRs, dictionary only */
	PACS_VR_xs = PACS_VR_COUNT_REAL, /* US or SS */
	PACS_VR_ox,                      /* OB or OW */
	PACS_VR_px,                      /* pixel data: OB or OW */
	PACS_VR_lt,                      /* US, SS or OW (LUT data) */
	PACS_VR_up,                      /* UL used as an offset (DICOMDIR) */
	PACS_VR_na,                      /* item and delimitation tags */
	PACS_VR_COUNT
} pacs_vr;

/* PACS_VR_NONE if the two characters are not a VR of the standard. */
pacs_vr pacs_vr_from_chars(char c0, char c1);

/* Borrowed, static: "PN", "xs", ... or "??" for an unknown value. */
const char *pacs_vr_name(pacs_vr vr);

/* Explicit VR encoding uses the 12-byte header with a 32-bit length
 * (PS3.5 7.1.2, Table 7.1-1) for these VRs. */
bool pacs_vr_has_long_length(pacs_vr vr);

/* Character string VRs whose values are text (padded with space). */
bool pacs_vr_is_string(pacs_vr vr);

/* String VRs whose value is subject to Specific Character Set (PS3.5 6.1.2.3):
 * SH LO ST LT PN UC UT. */
bool pacs_vr_uses_charset(pacs_vr vr);

/* VRs whose values are binary numbers of a fixed width; returns that width
 * (2, 4 or 8) used for byte swapping, or 1 for bytes (OB, UN), 0 otherwise.
 * AT swaps as two 16-bit words. */
unsigned pacs_vr_swap_unit(pacs_vr vr);

/* Bulk-capable VRs: values that may be large and are streamed rather
 * than held (OB OD OF OL OV OW UN, and the pseudo VRs ox px). */
bool pacs_vr_is_bulk(pacs_vr vr);

/* Padding byte for an odd-length value: '\0' for UI and binary, ' ' for text. */
uint8_t pacs_vr_pad_byte(pacs_vr vr);

/* Fixed value length of one value for binary numeric VRs (US=2, UL=4, FD=8,
 * AT=4 ...), 0 for variable-length VRs. */
unsigned pacs_vr_value_size(pacs_vr vr);

/* Maps a dictionary pseudo VR to the VR used when it cannot be resolved
 * from context (xs -> US, ox/px/lt -> OW, up -> UL, na -> UN). */
pacs_vr pacs_vr_resolve_default(pacs_vr vr);

#endif
