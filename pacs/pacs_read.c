/* pacs_read.c - STUB: being written. */
#include "arca_err.h"
#include "pacs_read.h"
void pacs_read_opts_init(pacs_read_opts *opts) { (void)opts; }
