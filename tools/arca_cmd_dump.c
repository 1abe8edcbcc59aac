/* arca_cmd_dump.c - `arca dump`: print DICOM files as a dcmdump-like
 * listing (pacs_dump) or as DICOM JSON (pacs_json), see arca(1).
 *
 * Each file is read with the metadata held in full; values of bulk VRs
 * (OB, OW, UN ...) from 64 KiB up and encapsulated pixel data are skipped
 * unless --full, so that dumping a large image stays cheap. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_cmd.h"
#include "arca_err.h"
#include "pacs_dump.h"
#include "pacs_json.h"
#include "pacs_read.h"

/* Bulk values at least this long are not loaded without --full. */
#define DUMP_BULK_THRESHOLD (64u * 1024u)

struct dump_opts {
	bool full;
	bool json;
	bool no_meta;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca dump [--full] [--json] [--no-meta] FILE...\n"
		"\n"
		"Prints each DICOM file as a dcmdump-like listing, or as DICOM JSON\n"
		"(PS3.18 F.2) with --json.\n"
		"\n"
		"  --full     load and print every value in full (pixel data too);\n"
		"             with --json, include OB/OW/UN... values as InlineBinary\n"
		"  --json     print the DICOM JSON Model (an array when several files)\n"
		"  --no-meta  leave out the File Meta Information (group 0002)\n"
		"  --help     print this help and exit\n"
		"\n"
		"Exit status: 0 all files printed, 1 the output could not be written,\n"
		"2 bad usage or a file that could not be read (one line on stderr each).\n");
}

/* The reader's message already names the file ("FILE: offset N: ...");
 * add it when it does not, and keep the report on one line. */
static void report_read_error(const char *path)
{
	const char *msg = arca_error_last();
	size_t plen = strlen(path);
	char *line;

	if (msg[0] == '\0')
		msg = "could not be read";
	if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
		line = strdup(msg);
	else if (asprintf(&line, "%s: %s", path, msg) < 0)
		line = NULL;
	if (line == NULL) {
		fprintf(stderr, "arca dump: %s: could not be read\n", path);
		return;
	}
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "arca dump: %s\n", line);
	free(line);
}

static int read_one(const char *path, const struct dump_opts *o, pacs_ds **out)
{
	pacs_read_opts ropts;

	pacs_read_opts_init(&ropts);
	/* No bulk callback: values at or above the threshold are skipped,
	 * and kept as placeholders that print "(not loaded)". */
	ropts.bulk_threshold = o->full ? 0 : DUMP_BULK_THRESHOLD;
	ropts.bulk_fn = NULL;
	arca_error_clear();
	return pacs_read_file(out, path, &ropts);
}

/* Returns 0, or ARCA_EIO when stdout failed. */
static int print_listing(const pacs_ds *ds, const char *path, bool header, const struct dump_opts *o)
{
	unsigned flags = (o->full ? PACS_DUMP_FULL : 0) | (o->no_meta ? PACS_DUMP_NO_META : 0);
	int rc;

	if (header)
		printf("# %s\n", path);
	rc = pacs_dump(ds, stdout, flags);
	if (rc < 0)
		fprintf(stderr, "arca dump: %s: %s\n", path, arca_error_last());
	return rc;
}

static int print_json(const pacs_ds *ds, const char *path, bool in_array, bool first, const struct dump_opts *o)
{
	unsigned flags = PACS_JSON_PRETTY | (o->no_meta ? 0 : PACS_JSON_INCLUDE_META) |
			 (o->full ? PACS_JSON_INCLUDE_BULK : 0);
	char *text = NULL;
	size_t len = 0;
	int rc = pacs_json_encode(ds, flags, &text, &len);

	if (rc < 0) {
		fprintf(stderr, "arca dump: %s: %s\n", path, arca_error_last());
		return rc;
	}
	if (in_array) {
		/* drop the trailing newline; the array adds its own separators */
		while (len > 0 && text[len - 1] == '\n')
			len--;
		fputs(first ? "[\n" : ",\n", stdout);
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

int arca_cmd_dump(int argc, char **argv)
{
	struct dump_opts o = { false, false, false };
	int first_file = argc;
	int nfiles, status = ARCA_EXIT_OK;
	bool printed_any = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			first_file = i + 1;
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			first_file = i;
			break;
		}
		if (strcmp(a, "--full") == 0) {
			o.full = true;
		} else if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--no-meta") == 0) {
			o.no_meta = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else {
			fprintf(stderr, "arca dump: unknown option '%s'; see `arca dump --help`\n", a);
			return ARCA_EXIT_USAGE;
		}
	}
	nfiles = argc - first_file;
	if (nfiles <= 0) {
		fprintf(stderr, "arca dump: no FILE given; see `arca dump --help`\n");
		return ARCA_EXIT_USAGE;
	}
	for (int i = first_file; i < argc; i++) {
		const char *path = argv[i];
		pacs_ds *ds = NULL;
		int rc = read_one(path, &o, &ds);

		if (rc < 0) {
			report_read_error(path);
			status = ARCA_EXIT_USAGE;
			continue;
		}
		if (o.json)
			rc = print_json(ds, path, nfiles > 1, !printed_any, &o);
		else
			rc = print_listing(ds, path, nfiles > 1, &o);
		pacs_ds_free(ds);
		if (rc == ARCA_EIO) {
			status = ARCA_EXIT_FAULT;
			break;
		}
		if (rc < 0)
			status = ARCA_EXIT_USAGE;
		else
			printed_any = true;
	}
	if (o.json && nfiles > 1)
		fputs(printed_any ? "\n]\n" : "[]\n", stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "arca dump: writing the output failed\n");
		status = ARCA_EXIT_FAULT;
	}
	return status;
}
