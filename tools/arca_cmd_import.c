/* arca_cmd_import.c - placeholder until its work package lands. */
#include <stdio.h>

#include "arca_cmd.h"

int arca_cmd_import(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "arca import: not implemented yet\n");
	return ARCA_EXIT_USAGE;
}
