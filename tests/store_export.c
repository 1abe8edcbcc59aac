/* store_export.c - a test helper: rebuilds every instance an archive's
 * index lists (the cas backend: index, manifests, chunks) into a folder,
 * one OUTDIR/<SOP Instance UID>.dcm each, and prints one line per instance:
 *
 *     <SOP Instance UID> <instance hash, hex> <bytes>
 *
 * Each rebuild re-checks every chunk and the instance hash
 * (store_instance_write).  Exit 0 when every instance rebuilt, 1 when one
 * did not (named on stderr), 2 on bad usage or an archive that cannot be
 * opened.  Used by tests/net_ingest.sh until `arca export` exists.
 *
 *     store_export ROOT OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_err.h"
#include "store_cas.h"
#include "store_index.h"
#include "store_instance.h"

#define TAG_SOP_INSTANCE PACS_TAG(0x0008, 0x0018)

static int to_file(void *ctx, const uint8_t *data, size_t len)
{
	return fwrite(data, 1, len, ctx) == len ? 0 : arca_error_set(ARCA_EIO, "short write");
}

static int export_one(store_cas *cas, const char *outdir, const char *sop, const store_index_storage *st)
{
	char path[4096], hex[STORE_CAS_HEX_LEN + 1];
	uint8_t hash[STORE_CAS_HASH_LEN];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.dcm", outdir, sop);
	f = fopen(path, "wb");
	if (f == NULL) {
		fprintf(stderr, "store_export: cannot create %s\n", path);
		return 1;
	}
	rc = store_instance_write(cas, st->manifest, to_file, f, hash);
	if (fclose(f) != 0 && rc == 0)
		rc = ARCA_EIO;
	if (rc == 0 && memcmp(hash, st->instance_hash, STORE_CAS_HASH_LEN) != 0)
		rc = arca_error_set(ARCA_ECRYPTO, "the index's instance hash is not the manifest's");
	if (rc < 0) {
		fprintf(stderr, "store_export: %s: %s\n", sop, arca_error_last());
		remove(path);
		return 1;
	}
	store_cas_hash_to_hex(hash, hex);
	printf("%s %s %llu\n", sop, hex, (unsigned long long)st->size);
	return 0;
}

int main(int argc, char **argv)
{
	char index_path[4096];
	store_cas_options co;
	store_cas *cas = NULL;
	store_index *idx = NULL;
	store_index_find *find = NULL;
	store_index_query *q = NULL;
	bool has_row = false;
	int bad = 0, rc;

	if (argc != 3) {
		fprintf(stderr, "usage: store_export ROOT OUTDIR\n");
		return 2;
	}
	snprintf(index_path, sizeof(index_path), "%s/index.db", argv[1]);
	(void)mkdir(argv[2], 0750);
	store_cas_options_init(&co);
	if (store_cas_open(&cas, argv[1], &co) < 0 || store_index_open(&idx, index_path, NULL) < 0 ||
	    store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_IMAGE) < 0 ||
	    store_index_find_add(find, TAG_SOP_INSTANCE, NULL) < 0 || store_index_query_open(&q, idx, find) < 0) {
		fprintf(stderr, "store_export: %s\n", arca_error_last());
		store_index_find_free(find);
		store_index_free(idx);
		store_cas_free(cas);
		return 2;
	}
	while ((rc = store_index_query_next(q, &has_row)) == 0 && has_row) {
		store_index_storage st;
		const char *sop = store_index_query_value(q, TAG_SOP_INSTANCE);
		if (sop == NULL || store_index_query_storage(q, &st) < 0) {
			fprintf(stderr, "store_export: %s\n", arca_error_last());
			bad = 1;
			continue;
		}
		bad |= export_one(cas, argv[2], sop, &st);
	}
	if (rc < 0) {
		fprintf(stderr, "store_export: %s\n", arca_error_last());
		bad = 1;
	}
	store_index_query_free(q);
	store_index_find_free(find);
	store_index_free(idx);
	store_cas_free(cas);
	return bad;
}
