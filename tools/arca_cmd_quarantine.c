/* arca_cmd_quarantine.c - placeholder until its work package lands. */
#include <stdio.h>

#include "arca_cmd.h"

int arca_cmd_quarantine(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "arca quarantine: not implemented yet\n");
	return ARCA_EXIT_USAGE;
}
