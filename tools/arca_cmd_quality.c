/* arca_cmd_quality.c - placeholder until its work package lands. */
#include <stdio.h>

#include "arca_cmd.h"

int arca_cmd_quality(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "arca quality: not implemented yet\n");
	return ARCA_EXIT_USAGE;
}
