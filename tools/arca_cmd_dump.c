/* arca_cmd_dump.c - STUB: `arca dump` being written. */
#include <stdio.h>
#include "arca_cmd.h"
int arca_cmd_dump(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "arca dump: not yet built\n"); return ARCA_EXIT_USAGE; }
