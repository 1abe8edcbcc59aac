/* pacs_dump.c - STUB: being written. */
#include "arca_err.h"
#include "pacs_dump.h"
int pacs_dump(const pacs_ds *ds, FILE *out, unsigned flags) { (void)ds; (void)out; (void)flags; return ARCA_EUNSUPPORTED; }
