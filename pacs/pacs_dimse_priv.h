/* pacs_dimse_priv.h - shared between the pacs_dimse_*.c files only. */
#ifndef PACS_DIMSE_PRIV_H
#define PACS_DIMSE_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_dimse.h"

/* Parses a command set into *out (zeroed first) without checking which
 * fields the command requires: ARCA_EPROTO only for a structure that
 * cannot be read (see pacs_dimse_cmd_decode).  The assembler uses it to
 * tell an unreadable stream from a readable but invalid command. */
int pacs_dimse__cmd_parse(pacs_dimse_cmd *out, const uint8_t *data, size_t len);

#endif
