/* pacs_dict.c - STUB: being written. */
#include "arca_err.h"
#include "pacs_dict.h"
const pacs_dict_entry *pacs_dict_lookup(uint32_t tag) { (void)tag; return 0; }
pacs_vr pacs_dict_vr(uint32_t tag) { (void)tag; return PACS_VR_UN; }
