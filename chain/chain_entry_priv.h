/* chain_entry_priv.h - shared between chain_entry.c and
 * chain_entry_parse.c, not public. */
#ifndef CHAIN_ENTRY_PRIV_H
#define CHAIN_ENTRY_PRIV_H

#include <stddef.h>

#include "chain_entry.h"

/* The event whose written code ("DCM:110104", "arca:verify") is the len
 * bytes at code; ARCA_ENOTFOUND (no message) if none. */
int chain_entry__event_from_code(const char *code, size_t len, chain_event *out);

#endif
