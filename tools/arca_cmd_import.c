/* arca_cmd_import.c - `arca import [--root DIR] [--ae AE] [--quiet]
 * [--json] PATH...` (see arca_import.h and arca-import(1)).
 *
 * Exit status: 0 every instance found was imported or was already there;
 * 1 something was quarantined, refused or unreadable (named in the
 * summary), or the provenance events could not be recorded; 2 bad usage,
 * a PATH that does not exist, or an archive that cannot be opened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_cmd.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "arca_import.h"
#include "arca_node.h"

#define CMD "arca import"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca import [--root DIR] [--ae AE] [--quiet] [--json] PATH...\n"
		"  Imports DICOM files, folders (recursively), .zip/.tar/.tar.gz/.tgz archives and\n"
		"  DICOMDIR media through the same validation and normalisation as C-STORE.\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --ae AE      calling AE title recorded for the instances (default IMPORT)\n"
		"  --quiet      no progress bar, and no summary unless something went wrong\n"
		"  --json       the summary as JSON on stdout\n"
		"exit: 0 all imported or already present, 1 something quarantined, refused or\n"
		"unreadable (named in the summary), 2 bad usage.\n");
}

int arca_cmd_import(int argc, char **argv)
{
	const char *root = NULL, *ae = NULL;
	bool quiet = false, json = false;
	arca_import_opts o;
	arca_import *im = NULL;
	arca_conf conf;
	const char **paths;
	size_t n_paths = 0;
	bool only_paths = false;
	int status, rc = 0;

	/* options may come before or after the paths; "--" ends them */
	paths = calloc((size_t)argc, sizeof(*paths));
	if (paths == NULL) {
		fprintf(stderr, CMD ": no memory\n");
		return ARCA_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_paths || a[0] != '-' || a[1] == '\0') {
			paths[n_paths++] = a;
		} else if (strcmp(a, "--") == 0) {
			only_paths = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			free(paths);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--ae") == 0 && i + 1 < argc) {
			ae = argv[++i];
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			quiet = true;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else {
			fprintf(stderr, CMD ": unknown option or missing value: %s (see arca import --help)\n", a);
			free(paths);
			return ARCA_EXIT_USAGE;
		}
	}
	if (n_paths == 0) {
		fprintf(stderr, CMD ": no PATH to import (see arca import --help)\n");
		free(paths);
		return ARCA_EXIT_USAGE;
	}
	if (ae != NULL && !arca_conf_ae_valid(ae)) {
		fprintf(stderr, CMD ": --ae %s is not an AE title (1-16 characters, no backslash)\n", ae);
		free(paths);
		return ARCA_EXIT_USAGE;
	}
	for (size_t i = 0; i < n_paths; i++) {
		struct stat st;
		if (stat(paths[i], &st) != 0) {
			fprintf(stderr, CMD ": %s: no such file or folder\n", paths[i]);
			free(paths);
			return ARCA_EXIT_USAGE;
		}
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (arca_node_load_conf(&conf, root) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		free(paths);
		return ARCA_EXIT_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.ae = ae;
	o.progress = !quiet && !json && isatty(STDERR_FILENO);
	if (arca_import_open(&im, &conf, &o) < 0) {
		fprintf(stderr, CMD ": cannot open the archive %s: %s\n", root, arca_error_last());
		arca_conf_release(&conf);
		free(paths);
		return ARCA_EXIT_USAGE;
	}
	if (o.progress)
		for (size_t i = 0; i < n_paths; i++)
			arca_import_plan(im, paths[i]);
	for (size_t i = 0; i < n_paths && rc == 0; i++)
		rc = arca_import_path(im, paths[i]);
	if (rc < 0)
		fprintf(stderr, CMD ": stopped: %s\n", arca_error_last());
	if (arca_import_finish(im) < 0) {
		fprintf(stderr, CMD ": provenance events: %s\n", arca_error_last());
		rc = rc < 0 ? rc : ARCA_EGENERIC;
	}
	status = rc < 0 ? ARCA_EXIT_FAULT : arca_import_exit_status(im);
	if (json || !quiet || status != ARCA_EXIT_OK)
		arca_import_report(im, stdout, json);
	arca_import_free(im);
	arca_conf_release(&conf);
	free(paths);
	return status;
}
