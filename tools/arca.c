/* arca.c - the `arca` command-line tool: dispatches `arca <command>`. */
#include <stdio.h>
#include <string.h>

#include "arca_cmd.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

struct arca_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct arca_command commands[] = {
	{ "dump", arca_cmd_dump, "print DICOM files (dcmdump-like listing or DICOM JSON)" },
	{ "init", arca_cmd_init, "create an archive: DIR/arca.conf, its folders, keys and log" },
	{ "node", arca_cmd_node, "show this node's identity: name, AE, public key, fingerprint" },
	{ "chain", arca_cmd_chain, "the provenance log: log, verify, proof, check-proof" },
	{ "echo", arca_cmd_echo, "C-ECHO a DICOM peer (AE@host:port)" },
	{ "send", arca_cmd_send, "send DICOM files and folders to a peer (C-STORE)" },
	{ "transcode", arca_cmd_transcode, "convert a DICOM file to another transfer syntax" },
	{ "find", arca_cmd_find, "query a peer (C-FIND): one line per match" },
	{ "move", arca_cmd_move, "ask a peer to send matching instances somewhere (C-MOVE)" },
	{ "get", arca_cmd_get, "fetch matching instances from a peer (C-GET)" },
	{ "import", arca_cmd_import, "import files, folders, archives and DICOMDIR media" },
	{ "export", arca_cmd_export, "write a study out as a folder, .tar or .zip" },
	{ "ls", arca_cmd_ls, "list the archive's patients, studies and series" },
	{ "verify", arca_cmd_verify, "re-hash every chunk and manifest, check the index and chain" },
	{ "gc", arca_cmd_gc, "remove chunks no manifest references" },
	{ "quarantine", arca_cmd_quarantine, "refused instances: list, show, release, drop" },
	{ "quality", arca_cmd_quality, "data quality report: refusals, warnings, normalisations" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: arca <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`arca <command> --help` describes a command; see also arca(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return ARCA_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return ARCA_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("arca %s\n", PACKAGE_VERSION);
		return ARCA_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "arca: unknown command '%s'; run `arca --help` for the list\n", argv[1]);
	return ARCA_EXIT_USAGE;
}
