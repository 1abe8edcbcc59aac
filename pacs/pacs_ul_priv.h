/* pacs_ul_priv.h - Upper Layer machine internals for tests (not a public
 * header): put a machine straight into a state, so that every cell of
 * PS3.8 Table 9-10 can be checked without driving a whole exchange. */
#ifndef PACS_UL_PRIV_H
#define PACS_UL_PRIV_H

#include <stdbool.h>

#include "pacs_ul.h"

/* Sets the state and the requestor flag; no callback is made and nothing
 * else changes (the framer keeps its bytes).  ARCA_EINVAL if state is out
 * of range. */
int pacs_ul__force_state(pacs_ul *ul, enum pacs_ul_state state, bool requestor);

#endif
