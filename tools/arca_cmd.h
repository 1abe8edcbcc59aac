/* arca_cmd.h - the subcommands of the `arca` tool.  Each returns the exit
 * status: 0 success, 1 the thing checked is wrong, 2 bad usage or input. */
#ifndef ARCA_CMD_H
#define ARCA_CMD_H

enum arca_exit {
	ARCA_EXIT_OK = 0,
	ARCA_EXIT_FAULT = 1,
	ARCA_EXIT_USAGE = 2,
};

int arca_cmd_dump(int argc, char **argv);
int arca_cmd_init(int argc, char **argv);
int arca_cmd_node(int argc, char **argv);
int arca_cmd_chain(int argc, char **argv);
int arca_cmd_echo(int argc, char **argv);
int arca_cmd_send(int argc, char **argv);
int arca_cmd_transcode(int argc, char **argv);
int arca_cmd_find(int argc, char **argv);
int arca_cmd_move(int argc, char **argv);
int arca_cmd_get(int argc, char **argv);
int arca_cmd_import(int argc, char **argv);
int arca_cmd_export(int argc, char **argv);
int arca_cmd_ls(int argc, char **argv);
int arca_cmd_verify(int argc, char **argv);
int arca_cmd_gc(int argc, char **argv);
int arca_cmd_quarantine(int argc, char **argv);
int arca_cmd_quality(int argc, char **argv);

#endif
