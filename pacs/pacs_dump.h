/* pacs_dump.h - human-readable listing of a data set, in the manner of
 * DCMTK's dcmdump: one line per element with tag, VR, value, length, VM
 * and keyword; sequences, items and pixel fragments indented two spaces
 * per level.  See arca(1), "arca dump", for the layout. */
#ifndef PACS_DUMP_H
#define PACS_DUMP_H

#include <stdio.h>

#include "pacs_ds.h"

enum pacs_dump_flag {
	PACS_DUMP_FULL = 1u << 0,    /* do not shorten long values */
	PACS_DUMP_NO_META = 1u << 1, /* leave out group 0002 */
};

/* Writes the listing of ds (a root or an item) to out.  Text values are
 * shown in UTF-8, converted from the Specific Character Set in force;
 * control characters and bytes that cannot be converted are written as
 * \xNN, so that every element takes one line.  Elements whose value is not
 * held (bulk) print "(not loaded)".  ARCA_EIO when writing to out failed. */
int pacs_dump(const pacs_ds *ds, FILE *out, unsigned flags);

#endif
