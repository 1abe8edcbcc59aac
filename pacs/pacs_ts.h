/* pacs_ts.h - Transfer Syntaxes (PS3.5 Section 10 and Annex A; UIDs from PS3.6 Annex A). */
#ifndef PACS_TS_H
#define PACS_TS_H

#include <stdbool.h>

#define PACS_TS_IMPLICIT_LE   "1.2.840.10008.1.2"
#define PACS_TS_EXPLICIT_LE   "1.2.840.10008.1.2.1"
#define PACS_TS_DEFLATED_LE   "1.2.840.10008.1.2.1.99"
#define PACS_TS_EXPLICIT_BE   "1.2.840.10008.1.2.2"
#define PACS_TS_JPEG_BASELINE "1.2.840.10008.1.2.4.50"
#define PACS_TS_JPEG_EXTENDED "1.2.840.10008.1.2.4.51"
#define PACS_TS_JPEG_LOSSLESS_SV1 "1.2.840.10008.1.2.4.70"
#define PACS_TS_JPEG_LOSSLESS "1.2.840.10008.1.2.4.57"
#define PACS_TS_JPEGLS_LOSSLESS "1.2.840.10008.1.2.4.80"
#define PACS_TS_JPEGLS_NEAR   "1.2.840.10008.1.2.4.81"
#define PACS_TS_J2K_LOSSLESS  "1.2.840.10008.1.2.4.90"
#define PACS_TS_J2K           "1.2.840.10008.1.2.4.91"
#define PACS_TS_RLE           "1.2.840.10008.1.2.5"

typedef struct pacs_ts_info {
	const char *uid;
	const char *name;
	bool explicit_vr;
	bool big_endian;
	bool deflated;
	bool encapsulated; /* pixel data in fragments (PS3.5 A.4) */
	bool lossy;
	bool retired;
} pacs_ts_info;

/* Borrowed, static: the properties of a transfer syntax, or NULL when the
 * UID is not one we know. Trailing NUL/space padding of uid is ignored. */
const pacs_ts_info *pacs_ts_lookup(const char *uid);

/* As pacs_ts_lookup, for an unterminated value of len bytes. */
const pacs_ts_info *pacs_ts_lookup_n(const char *uid, unsigned len);

/* Borrowed, static: the table of all known transfer syntaxes, count in *n. */
const pacs_ts_info *pacs_ts_all(unsigned *n);

/* Every transfer syntax not in the table is encapsulated (PS3.5 A.4: all
 * compressed syntaxes use encapsulated pixel data); this answers for any UID. */
bool pacs_ts_is_encapsulated(const char *uid);

#endif
