/* pacs_write.c - STUB: being written. */
#include "arca_err.h"
#include "pacs_write.h"
void pacs_write_opts_init(pacs_write_opts *opts) { (void)opts; }
