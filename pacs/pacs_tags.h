/* pacs_tags.h - standard tags by keyword: PACS_TAG_PatientName is
 * 0x00100010u.  One #define per single-tag, non-retired attribute of the
 * data dictionary (PS3.6 Section 6), generated at build time by
 * gen_dict.awk from the same dicom.dic as pacs_dict.h's tables; repeating
 * groups such as (60xx,3000) and retired attributes are reached through
 * pacs_dict_tag_by_keyword() instead. */
#ifndef PACS_TAGS_H
#define PACS_TAGS_H

#include "pacs_tags_gen.h"

#endif
