/* qr_load.c - test fixture for the Query/Retrieve tests: indexes DICOM
 * files into an index the way the ingest does (store_index_instance_from_ds,
 * one batch), so that C-FIND can be tested against known data whatever
 * ingest arcad runs.  The storage data is made up (hash = the file's index
 * in the batch); C-FIND never reads it.
 *
 *   qr_load INDEX FILE...     exit 0 when every file was indexed */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "store_index.h"

int main(int argc, char **argv)
{
	store_index_instance **batch;
	store_index_put_result *res;
	store_index *idx = NULL;
	int n = argc - 2, rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: qr_load INDEX FILE...\n");
		return 2;
	}
	batch = calloc((size_t)n, sizeof(*batch));
	res = calloc((size_t)n, sizeof(*res));
	if (batch == NULL || res == NULL || store_index_open(&idx, argv[1], NULL) < 0) {
		fprintf(stderr, "qr_load: %s: %s\n", argv[1], arca_error_last());
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const char *path = argv[i + 2];
		store_index_storage *st;
		pacs_read_opts ro;
		pacs_ds *ds = NULL;
		struct stat sb;

		pacs_read_opts_init(&ro);
		ro.stop_at_pixel_data = 1;
		if (pacs_read_file(&ds, path, &ro) < 0 || store_index_instance_new(&batch[i]) < 0 ||
		    store_index_instance_from_ds(batch[i], ds) < 0) {
			fprintf(stderr, "qr_load: %s: %s\n", path, arca_error_last());
			pacs_ds_free(ds);
			goto out;
		}
		st = store_index_instance_storage(batch[i]);
		snprintf(st->transfer_syntax, sizeof(st->transfer_syntax), "%s",
			 pacs_ds_source_ts(ds) != NULL ? pacs_ds_source_ts(ds) : "1.2.840.10008.1.2.1");
		st->size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
		memset(st->instance_hash, i & 0xFF, sizeof(st->instance_hash));
		st->instance_hash[0] = (uint8_t)(i >> 8);
		memset(st->manifest, 0xA5, sizeof(st->manifest));
		pacs_ds_free(ds);
	}
	if (store_index_put(idx, (const store_index_instance *const *)batch, (size_t)n, res) < 0) {
		fprintf(stderr, "qr_load: put: %s\n", arca_error_last());
		goto out;
	}
	rc = 0;
	for (int i = 0; i < n; i++) {
		if (res[i].err != 0) {
			fprintf(stderr, "qr_load: %s: %s\n", argv[i + 2], res[i].message);
			rc = 1;
		}
	}
out:
	for (int i = 0; i < n && batch != NULL; i++)
		store_index_instance_free(batch[i]);
	free(batch);
	free(res);
	store_index_free(idx);
	return rc;
}
