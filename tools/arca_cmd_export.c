/* arca_cmd_export.c - placeholder until its work package lands. */
#include <stdio.h>

#include "arca_cmd.h"

int arca_cmd_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "arca export: not implemented yet\n");
	return ARCA_EXIT_USAGE;
}
