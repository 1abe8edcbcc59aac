/* pacs_sop_priv.h - the generated SOP class table (pacs_sop_gen.c, written
 * by gen_sop.awk), shared with pacs_sop.c only. */
#ifndef PACS_SOP_PRIV_H
#define PACS_SOP_PRIV_H

#include <stddef.h>

#include "pacs_sop.h"

/* Storage classes occupy [0, pacs_sop__storage_count); the rest follow. */
extern const pacs_sop_info pacs_sop__table[];
extern const size_t pacs_sop__count;
extern const size_t pacs_sop__storage_count;

#endif
