/* arca_cmd_retrieve.c - placeholder until its work package lands. */
#include <stdio.h>

#include "arca_cmd.h"

int arca_cmd_move(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "arca move: not implemented yet\n");
	return ARCA_EXIT_USAGE;
}

int arca_cmd_get(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "arca get: not implemented yet\n");
	return ARCA_EXIT_USAGE;
}
