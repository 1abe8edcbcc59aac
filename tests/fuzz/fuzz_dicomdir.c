/* fuzz_dicomdir.c - libFuzzer target for the DICOMDIR reader of
 * pacs_dicomdir.h (media given to `arca import` are outside input).
 *
 * The input is a DICOMDIR file.  When it reads, every record that
 * references a file must have either a path that pacs_dicomdir_check_path
 * accepts (so that it cannot name anything outside the File-set's folder:
 * no "..", no '/', no empty component) or an error, never both; and the
 * counts must be consistent.  When it does not read, nothing is left. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_dicomdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pacs_dicomdir *d = NULL;

	if (pacs_dicomdir_read(&d, data, size) != 0) {
		if (d != NULL)
			abort();
		return 0;
	}
	if (pacs_dicomdir_count(d) > pacs_dicomdir_records(d) || strlen(pacs_dicomdir_fileset_id(d)) > 16)
		abort();
	for (size_t i = 0; i < pacs_dicomdir_count(d); i++) {
		const pacs_dicomdir_ref *r = pacs_dicomdir_at(d, i);
		if (r == NULL || (r->path == NULL) == (r->error == NULL))
			abort();
		if (r->path != NULL &&
		    (pacs_dicomdir_check_path(r->path) != 0 || strstr(r->path, "..") != NULL || r->path[0] == '/' ||
		     strlen(r->path) > PACS_DICOMDIR_PATH_MAX))
			abort();
	}
	if (pacs_dicomdir_at(d, pacs_dicomdir_count(d)) != NULL)
		abort();
	pacs_dicomdir_free(d);
	return 0;
}
