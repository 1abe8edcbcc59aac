/* pacs_dicomdir.h - the DICOMDIR of a File-set (PS3.10 7.2 and 8, PS3.3
 * Annex F): reading the files its directory records reference, for
 * `arca import` of media, and writing one for `arca export --dicomdir`
 * (the STD-GEN-CD / STD-GEN-USB style of PS3.11 Annex D: PATIENT, STUDY,
 * SERIES and IMAGE records).
 *
 * Reading.  A DICOMDIR is outside input (a CD, a USB stick, an archive
 * someone sent).  The Directory Record Sequence (0004,1220) is walked in
 * item order: every record with a Referenced File ID (0004,1500) names one
 * file.  The offsets that link the records (0004,1400/1420) are not
 * followed: many writers get them wrong, and every record of the
 * File-set is an item of the sequence anyway.  Records flagged inactive
 * (Record In-use Flag (0004,1410) = 0000H, PS3.3 F.3.2.2) are skipped.
 * A File ID must be 1 to 8 components of 1 to 8 characters of A-Z, 0-9
 * and _ (PS3.10 8.2, 8.5; lower case is tolerated, as real media have it):
 * nothing else can name a path outside the File-set's folder.  A record
 * whose File ID breaks that rule is kept with its error (path NULL) so
 * that the caller can name it.
 *
 * Writing.  pacs_dicomdir_build() makes the DICOMDIR bytes (Part 10,
 * Explicit VR Little Endian, PS3.10 8.6) for a list of instances: one
 * PATIENT record per Patient ID and issuer, one STUDY per Study Instance UID, one
 * SERIES per Series Instance UID, one IMAGE per instance, in the order
 * the instances come first, with the record offsets (PS3.3 F.3.2.1) and
 * the root record offsets (0004,1200/1202) counted in bytes from the
 * first byte of the file (the preamble). */
#ifndef PACS_DICOMDIR_H
#define PACS_DICOMDIR_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"

/* Media Storage Directory Storage (PS3.4 Annex I, PS3.6 A). */
#define PACS_DICOMDIR_SOP_CLASS "1.2.840.10008.1.3.10"
/* PS3.10 8.5: at most 8 components of at most 8 characters. */
#define PACS_DICOMDIR_COMPONENTS_MAX 8
#define PACS_DICOMDIR_COMPONENT_MAX 8
/* Longest path a File ID becomes ("A/B/...", without the NUL). */
#define PACS_DICOMDIR_PATH_MAX (PACS_DICOMDIR_COMPONENTS_MAX * (PACS_DICOMDIR_COMPONENT_MAX + 1))
/* Most records read from one DICOMDIR. */
#define PACS_DICOMDIR_RECORDS_MAX 1000000u

typedef struct pacs_dicomdir pacs_dicomdir;

/* One record that references a file.  Strings are borrowed from the
 * pacs_dicomdir; "" when the record does not have the element. */
typedef struct pacs_dicomdir_ref {
	const char *type;            /* Directory Record Type (0004,1430): "IMAGE", ... */
	const char *path;            /* the File ID as a relative path, '/' between
				      * components; NULL when it is not valid */
	const char *error;           /* why path is NULL, else NULL */
	const char *sop_class;       /* Referenced SOP Class UID in File (0004,1510) */
	const char *sop_instance;    /* Referenced SOP Instance UID in File (0004,1511) */
	const char *transfer_syntax; /* Referenced Transfer Syntax UID in File (0004,1512) */
} pacs_dicomdir_ref;

/* Reads the records of a DICOMDIR data set (as pacs_read gives it).
 * ARCA_EPROTO when ds is not a Media Storage Directory (its (0002,0002),
 * when present, is not PACS_DICOMDIR_SOP_CLASS) or has no Directory
 * Record Sequence; ARCA_ELIMIT past PACS_DICOMDIR_RECORDS_MAX records.
 * *out is the caller's (pacs_dicomdir_free); ds may be freed afterwards. */
int pacs_dicomdir_parse(pacs_dicomdir **out, const pacs_ds *ds);

/* pacs_read_buffer with bounded limits (every value held: a DICOMDIR has
 * no bulk data), then pacs_dicomdir_parse. */
int pacs_dicomdir_read(pacs_dicomdir **out, const uint8_t *data, size_t len);

/* Accepts NULL. */
void pacs_dicomdir_free(pacs_dicomdir *d);

/* The File-set ID (0004,1130), "" when absent; borrowed. */
const char *pacs_dicomdir_fileset_id(const pacs_dicomdir *d);
/* Records read (every record, referencing a file or not). */
size_t pacs_dicomdir_records(const pacs_dicomdir *d);
/* The records that reference a file, in sequence order. */
size_t pacs_dicomdir_count(const pacs_dicomdir *d);
const pacs_dicomdir_ref *pacs_dicomdir_at(const pacs_dicomdir *d, size_t i);

/* Checks one File ID component list given as a path with '/' between
 * components (the form pacs_dicomdir_ref.path has): 0 or ARCA_EINVAL
 * saying what is wrong. */
int pacs_dicomdir_check_path(const char *path);

/* ---- writing ---- */

/* One instance of the File-set.  UTF-8 text as the index holds it (the
 * records then carry Specific Character Set ISO_IR 192 when a value is not
 * ASCII); NULL or "" for an empty value.  The four UIDs and file_id are
 * required. */
typedef struct pacs_dicomdir_entry {
	const char *file_id;            /* "DICOM/P0000001/S0000001/..." ('/' separated,
					 * checked with pacs_dicomdir_check_path) */
	const char *patient_id, *patient_name;
	const char *study_uid, *study_date, *study_time, *study_description, *study_id, *accession;
	const char *series_uid, *modality, *series_number;
	const char *sop_class, *sop_instance, *transfer_syntax, *instance_number;
	const char *issuer;             /* Issuer of Patient ID: a patient is ID + issuer */
} pacs_dicomdir_entry;

/* The DICOMDIR for entries[0..n): *out (malloc'ed, the caller's: free())
 * holds *len bytes.  fileset_id is the File-set ID (CS, at most 16
 * characters of A-Z 0-9 _ and space; may be NULL).  ARCA_EINVAL naming
 * the entry when a required value is missing or a File ID is not valid. */
int pacs_dicomdir_build(uint8_t **out, size_t *len, const char *fileset_id, const pacs_dicomdir_entry *entries,
			size_t n);

#endif
