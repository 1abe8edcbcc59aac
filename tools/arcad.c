/* arcad.c - the arca DICOM server.
 *
 * The network server (Upper Layer and DIMSE on libev, C-ECHO and C-STORE)
 * is the next piece of work; until it lands, arcad parses its options,
 * says plainly that it does not serve yet, and exits 2 so that nothing
 * mistakes it for a running archive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *root = getenv("ARCA_ROOT");
	const char *port = "11112";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			port = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: arcad [--root DIR] [--port N]\n");
			return 0;
		} else {
			fprintf(stderr, "arcad: unknown option '%s'; see arcad(8)\n", argv[i]);
			return 2;
		}
	}
	if (root == NULL)
		root = "./arca-data";
	fprintf(stderr,
		"arcad: root %s, AE ARCA, port %s: the DICOM network server is not built yet "
		"(see issue \"The DICOM network server\"); nothing is listening\n",
		root, port);
	return 2;
}
