/* pacs_dict.h - the DICOM data dictionary (PS3.6 Section 6), generated at
 * build time from DCMTK's dicom.dic (and private.dic for private tags). */
#ifndef PACS_DICT_H
#define PACS_DICT_H

#include <stdbool.h>
#include <stdint.h>

#include "pacs_vr.h"

typedef struct pacs_dict_entry {
	uint32_t tag;         /* lowest tag of the range */
	uint16_t group_last;  /* repeating groups: last group of the range (50xx, 60xx, 7Fxx) */
	uint16_t elem_last;   /* repeating elements: last element of the range */
	uint8_t group_step;   /* 1, or 2 for "o" (odd/even) ranges */
	pacs_vr vr;           /* may be a pseudo VR: xs ox px lt up na */
	uint8_t vm_min;
	uint8_t vm_max;       /* 0 = n */
	uint8_t vm_step;      /* 1, or 2/3 for 2-2n, 3-3n */
	bool retired;
	const char *keyword;  /* "PatientName"; retired ones without the RETIRED_ prefix */
} pacs_dict_entry;

/* Borrowed, static: the entry for a standard tag (including repeating
 * groups such as (60xx,3000) and private creator (gggg,0010-00FF) and
 * group length (gggg,0000) ranges), or NULL. */
const pacs_dict_entry *pacs_dict_lookup(uint32_t tag);

/* A private tag (gggg,xxee) under creator string (the value of
 * (gggg,00xx)): the entry from DCMTK's private dictionary, or NULL. */
const pacs_dict_entry *pacs_dict_lookup_private(uint32_t tag, const char *creator, unsigned creator_len);

/* Standard tag by keyword ("PatientName"); 0 when unknown. */
uint32_t pacs_dict_tag_by_keyword(const char *keyword);

/* Borrowed keyword, or "" for unknown tags. */
const char *pacs_dict_keyword(uint32_t tag);

/* The VR to use for tag in Implicit VR: the dictionary's (pseudo VRs
 * resolved with pacs_vr_resolve_default), UN for unknown and private. */
pacs_vr pacs_dict_vr(uint32_t tag);

/* Number of entries in the standard dictionary. */
unsigned pacs_dict_size(void);

#endif
