/* pacs_json.h - the DICOM JSON Model (PS3.18 Annex F.2). */
#ifndef PACS_JSON_H
#define PACS_JSON_H

#include <stddef.h>

#include "pacs_ds.h"

enum pacs_json_flag {
	PACS_JSON_INCLUDE_META = 1u << 0, /* also emit group 0002 */
	PACS_JSON_INCLUDE_BULK = 1u << 1, /* InlineBinary for bulk-capable values (default: omitted
					   * as BulkDataURI-less empty objects with "vr" only) */
	PACS_JSON_PRETTY = 1u << 2,
};

/* Encodes ds as a DICOM JSON object.  *out is the caller's (free()),
 * NUL-terminated UTF-8. */
int pacs_json_encode(const pacs_ds *ds, unsigned flags, char **out, size_t *out_len);

/* Parses a DICOM JSON object into a new root data set (values encoded
 * in UTF-8 with Specific Character Set ISO_IR 192).  *out is the caller's. */
int pacs_json_decode(pacs_ds **out, const char *json, size_t len);

#endif
