/* store_query_read.c - pacs_query_ops.write_instance: one stored instance
 * as the data set of a C-STORE sub-operation (C-GET, C-MOVE; PS3.4 C.4.2,
 * C.4.3), in the transfer syntax the receiver accepted.
 *
 * Read path: the interim files backend ([storage] backend = files) keeps
 * each instance as a Part 10 file at INSTANCES/<study>/<series>/<sop>.dcm
 * (store_ingest_files_path); the content-addressed store's read path
 * (store_instance.h) is wired in when it lands.
 *
 * Conversion: the data set is written as stored when the target is the
 * stored transfer syntax, and re-encoded by pacs_write between the
 * uncompressed syntaxes (implicit/explicit VR little endian, explicit big
 * endian, deflated).  Encapsulated pixel data is never converted here:
 * ARCA_EUNSUPPORTED before any byte is written, so the sub-operation
 * fails with that reason. */
#include <stdio.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "pacs_ts.h"
#include "pacs_write.h"
#include "store_query_priv.h"

/* A UID used as a path component: digits and dots only (PS3.5 9.1), so
 * no component can climb out of the root. */
static bool uid_ok(const char *uid)
{
	if (uid[0] == '\0' || uid[0] == '.')
		return false;
	for (const char *p = uid; *p != '\0'; p++)
		if ((*p < '0' || *p > '9') && *p != '.')
			return false;
	return true;
}

int store_query__write_instance(void *ctx, const pacs_query_item *item, const char *ts, pacs_sink_fn sink,
				void *sink_ctx)
{
	store_query *sq = ctx;
	const char *target = ts != NULL ? ts : item->transfer_syntax;
	const char *source;
	pacs_read_opts ro;
	pacs_write_opts wo;
	pacs_ds *ds = NULL;
	char path[sizeof(sq->files_root) + 3 * (PACS_DIMSE_UID_MAX + 1) + 8];
	int rc, n;

	if (sq->files_root[0] == '\0')
		return arca_error_set(ARCA_EUNSUPPORTED,
				      "instance %s: this storage backend cannot read instances back yet",
				      item->sop_instance_uid);
	if (!uid_ok(item->study_instance_uid) || !uid_ok(item->series_instance_uid) ||
	    !uid_ok(item->sop_instance_uid))
		return arca_error_set(ARCA_EPROTO, "instance \"%s\": the index holds a malformed UID",
				      item->sop_instance_uid);
	n = snprintf(path, sizeof(path), "%s/%s/%s/%s.dcm", sq->files_root, item->study_instance_uid,
		     item->series_instance_uid, item->sop_instance_uid);
	if (n < 0 || (size_t)n >= sizeof(path))
		return arca_error_set(ARCA_ELIMIT, "path of instance %s is too long", item->sop_instance_uid);
	pacs_read_opts_init(&ro);
	rc = pacs_read_file(&ds, path, &ro);
	if (rc < 0)
		return rc;
	source = pacs_ds_source_ts(ds);
	if (source == NULL)
		source = item->transfer_syntax;
	if (strcmp(source, target) != 0 && (pacs_ts_is_encapsulated(source) || pacs_ts_is_encapsulated(target))) {
		const pacs_ts_info *si = pacs_ts_lookup(source), *ti = pacs_ts_lookup(target);
		rc = arca_error_set(ARCA_EUNSUPPORTED, "instance %s is stored in %s and cannot be converted to %s",
				    item->sop_instance_uid, si != NULL ? si->name : source,
				    ti != NULL ? ti->name : target);
		pacs_ds_free(ds);
		return rc;
	}
	pacs_write_opts_init(&wo);
	wo.ts_uid = target;
	rc = pacs_write_dataset(ds, &wo, sink, sink_ctx);
	pacs_ds_free(ds);
	return rc;
}
