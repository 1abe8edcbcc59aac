/* arca_cmd_transcode.c - `arca transcode IN OUT --ts UID|NAME`: convert a
 * DICOM file to another transfer syntax with the code retrieval uses
 * (pacs_transcode.h), see arca(1). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arca_cmd.h"
#include "arca_err.h"
#include "pacs_transcode.h"
#include "pacs_ts.h"

/* Short names for the syntaxes arca can produce. */
static const struct ts_name {
	const char *name;
	const char *uid;
} ts_names[] = {
	{ "implicit", PACS_TS_IMPLICIT_LE },
	{ "explicit", PACS_TS_EXPLICIT_LE },
	{ "big", PACS_TS_EXPLICIT_BE },
	{ "deflate", PACS_TS_DEFLATED_LE },
	{ "rle", PACS_TS_RLE },
	{ "j2k-lossless", PACS_TS_J2K_LOSSLESS },
	{ "j2k", PACS_TS_J2K },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca transcode IN OUT --ts UID|NAME\n"
		"\n"
		"Writes the DICOM file IN to OUT in another transfer syntax, pixel data\n"
		"frame by frame.  NAME is one of:\n"
		"  implicit      1.2.840.10008.1.2       Implicit VR Little Endian\n"
		"  explicit      1.2.840.10008.1.2.1     Explicit VR Little Endian\n"
		"  big           1.2.840.10008.1.2.2     Explicit VR Big Endian\n"
		"  deflate       1.2.840.10008.1.2.1.99  Deflated Explicit VR Little Endian\n"
		"  rle           1.2.840.10008.1.2.5     RLE Lossless\n"
		"  j2k-lossless  1.2.840.10008.1.2.4.90  JPEG 2000 (Lossless Only)\n"
		"  j2k           1.2.840.10008.1.2.4.91  JPEG 2000 (encoded reversibly)\n"
		"Compressed input (RLE, JPEG, JPEG-LS, JPEG 2000) is decoded; nothing is\n"
		"ever encoded lossily.\n"
		"\n"
		"  --ts UID|NAME  target transfer syntax (required)\n"
		"  --help         print this help and exit\n"
		"\n"
		"Exit status: 0 written, 2 bad usage, or an input that cannot be read or\n"
		"converted (one line on stderr; OUT is then left untouched).\n");
}

static const char *resolve_ts(const char *arg)
{
	for (size_t i = 0; i < sizeof(ts_names) / sizeof(ts_names[0]); i++)
		if (strcmp(arg, ts_names[i].name) == 0)
			return ts_names[i].uid;
	return arg;
}

/* One line on stderr, whatever the message holds; a conversion arca does
 * not do is said so up front. */
static void report(int rc, const char *msg)
{
	fputs(rc == ARCA_EUNSUPPORTED ? "arca transcode: not supported: " : "arca transcode: ", stderr);
	for (; *msg != '\0'; msg++)
		fputc(*msg == '\n' || *msg == '\r' ? ' ' : *msg, stderr);
	fputc('\n', stderr);
}

int arca_cmd_transcode(int argc, char **argv)
{
	const char *paths[2] = { NULL, NULL };
	const char *ts = NULL;
	unsigned npaths = 0;
	pacs_transcode_opts opts;
	bool options_done = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!options_done && strcmp(a, "--") == 0) {
			options_done = true;
		} else if (!options_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (!options_done && strcmp(a, "--ts") == 0) {
			if (++i >= argc) {
				fprintf(stderr, "arca transcode: --ts needs a UID or a name; see `arca transcode "
					"--help`\n");
				return ARCA_EXIT_USAGE;
			}
			ts = resolve_ts(argv[i]);
		} else if (!options_done && strncmp(a, "--ts=", 5) == 0) {
			ts = resolve_ts(a + 5);
		} else if (!options_done && a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "arca transcode: unknown option '%s'; see `arca transcode --help`\n", a);
			return ARCA_EXIT_USAGE;
		} else if (npaths < 2) {
			paths[npaths++] = a;
		} else {
			fprintf(stderr, "arca transcode: more than two files given; usage: arca transcode IN OUT "
				"--ts UID|NAME\n");
			return ARCA_EXIT_USAGE;
		}
	}
	if (npaths != 2 || ts == NULL) {
		fprintf(stderr, "arca transcode: %s; usage: arca transcode IN OUT --ts UID|NAME\n",
			ts == NULL ? "--ts is required" : "IN and OUT are required");
		return ARCA_EXIT_USAGE;
	}
	if (pacs_ts_lookup(ts) == NULL) {
		fprintf(stderr, "arca transcode: unknown transfer syntax '%s'; give a UID or one of implicit, "
			"explicit, big, deflate, rle, j2k-lossless, j2k\n", ts);
		return ARCA_EXIT_USAGE;
	}
	pacs_transcode_opts_init(&opts);
	opts.ts_uid = ts;
	arca_error_clear();
	rc = pacs_transcode_file(paths[0], paths[1], &opts);
	if (rc < 0) {
		report(rc, arca_error_last()[0] ? arca_error_last() : arca_strerror(rc));
		return ARCA_EXIT_USAGE;
	}
	return ARCA_EXIT_OK;
}
