/* pacs_dump.h - human-readable listing of a data set, in the manner of
 * DCMTK's dcmdump: one line per element with tag, VR, value, length, VM
 * and keyword; sequences and items indented. */
#ifndef PACS_DUMP_H
#define PACS_DUMP_H

#include <stdio.h>

#include "pacs_ds.h"

enum pacs_dump_flag {
	PACS_DUMP_FULL = 1u << 0,  /* do not shorten long values */
	PACS_DUMP_NO_META = 1u << 1, /* leave out group 0002 */
};

/* Writes the listing of ds to out.  Values are shown in UTF-8 (converted
 * from the Specific Character Set in force). */
int pacs_dump(const pacs_ds *ds, FILE *out, unsigned flags);

#endif
