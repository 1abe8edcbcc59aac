/* arca_cmd_verify.c - placeholder until its work package lands. */
#include <stdio.h>

#include "arca_cmd.h"

int arca_cmd_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "arca verify: not implemented yet\n");
	return ARCA_EXIT_USAGE;
}
