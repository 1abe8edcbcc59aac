/* arca_cmd_gc.c - placeholder until its work package lands. */
#include <stdio.h>

#include "arca_cmd.h"

int arca_cmd_gc(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "arca gc: not implemented yet\n");
	return ARCA_EXIT_USAGE;
}
