/* store_quality.c - the quality records: building them from what the
 * rules found, and writing them into the index database without an fsync
 * of their own (store_quality.h).  The report is store_quality_report.c. */
#include "store_quality.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_tags.h"
#include "store_index_sqlite_priv.h"

static const char *const outcome_names[STORE_QUALITY_OUTCOME_COUNT] = {
	"stored", "duplicate", "version", "quarantined", "refused", "dropped",
};
static const char *const origin_names[STORE_QUALITY_ORIGIN_COUNT] = {
	"dimse", "import", "release", "quarantine",
};

const char *store_quality_outcome_name(store_quality_outcome o)
{
	return (unsigned)o < STORE_QUALITY_OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

const char *store_quality_origin_name(store_quality_origin o)
{
	return (unsigned)o < STORE_QUALITY_ORIGIN_COUNT ? origin_names[o] : "unknown";
}

void store_quality_record_init(store_quality_record *rec)
{
	memset(rec, 0, sizeof(*rec));
}

static void get_text(const pacs_ds *ds, uint32_t tag, char *out, size_t size)
{
	char buf[256];
	size_t n;

	out[0] = '\0';
	if (pacs_ds_get_string(ds, tag, 0, buf, sizeof(buf)) != 0)
		return;
	/* trailing padding is not part of a value (PS3.5 6.2) */
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
		buf[--n] = '\0';
	snprintf(out, size, "%.*s", (int)(size - 1), buf);
}

void store_quality_record_from_ds(store_quality_record *rec, const pacs_ds *ds)
{
	get_text(ds, PACS_TAG_SOPClassUID, rec->sop_class, sizeof(rec->sop_class));
	get_text(ds, PACS_TAG_SOPInstanceUID, rec->sop_uid, sizeof(rec->sop_uid));
	get_text(ds, PACS_TAG_StudyInstanceUID, rec->study_uid, sizeof(rec->study_uid));
	get_text(ds, PACS_TAG_Modality, rec->modality, sizeof(rec->modality));
}

/* Patient identity: the Patient module's group, and any person name. */
static bool identifying(uint32_t tag)
{
	return PACS_TAG_GROUP(tag) == 0x0010 || pacs_dict_vr(tag) == PACS_VR_PN;
}

void store_quality_summary(uint32_t tag, const char *value, char out[STORE_QUALITY_SUMMARY_MAX + 1])
{
	size_t n;

	out[0] = '\0';
	if (value == NULL)
		return;
	n = strlen(value);
	if (identifying(tag)) {
		snprintf(out, STORE_QUALITY_SUMMARY_MAX + 1, "<%zu characters>", n);
		return;
	}
	if (n <= STORE_QUALITY_SUMMARY_MAX) {
		memcpy(out, value, n + 1);
		return;
	}
	/* cut on a UTF-8 character boundary, room for "..." */
	n = STORE_QUALITY_SUMMARY_MAX - 3;
	while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80)
		n--;
	memcpy(out, value, n);
	memcpy(out + n, "...", 4);
}

bool store_quality_record_add_hit(store_quality_record *rec, const store_quality_hit *hit)
{
	if (rec->n_hits == STORE_QUALITY_MAX_HITS)
		return false;
	rec->hits[rec->n_hits++] = *hit;
	return true;
}

void store_quality_record_add_norm(store_quality_record *rec, const pacs_norm_result *nr)
{
	if (nr == NULL)
		return;
	rec->n_fixed += nr->n_fixed;
	rec->n_warned += nr->n_warned;
	rec->n_refused += nr->n_refused;
	for (size_t i = 0; i < nr->n_hits && rec->n_hits < STORE_QUALITY_MAX_HITS; i++) {
		const pacs_norm_hit *h = &nr->hits[i];
		store_quality_hit *q = &rec->hits[rec->n_hits++];

		memset(q, 0, sizeof(*q));
		snprintf(q->rule, sizeof(q->rule), "%s", h->rule);
		snprintf(q->kind, sizeof(q->kind), "%s", h->waived ? "waived" : h->kind != NULL ? h->kind : "");
		q->action = h->action;
		q->tag = h->tag;
		snprintf(q->path, sizeof(q->path), "%s", h->path);
		store_quality_summary(h->tag, h->old_value, q->before);
		store_quality_summary(h->tag, h->new_value, q->after);
		/* the message may quote the value: never for patient identity */
		if (identifying(h->tag))
			snprintf(q->message, sizeof(q->message), "%s %s", h->kind != NULL ? h->kind : "", h->path);
		else
			snprintf(q->message, sizeof(q->message), "%s", h->message != NULL ? h->message : "");
	}
}

/* ------------------------------------------------------------ writing */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
	int rc = sqlite3_bind_int64(st, i, v);

	return rc == SQLITE_OK ? 0 : store_index__stmt_error(st, rc, "quality: bind");
}

static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_index__stmt_error(st, rc, "quality");
}

static int put_one(struct store_index__conn *w, const store_quality_record *r, int64_t when)
{
	static const char rec_sql[] =
		"INSERT INTO quality (time_ms, calling_ae, modality, sop_class, sop_uid, study_uid, origin,"
		" outcome, status, comment, n_fixed, n_warned, n_refused)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	static const char hit_sql[] =
		"INSERT INTO quality_hits (record_pk, seq, rule, kind, action, tag, path, before, after, message)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
	sqlite3_stmt *st;
	int64_t pk;
	int rc;

	if ((rc = store_index__stmt(w, rec_sql, &st)) < 0)
		return rc;
	if ((rc = bind_i64(st, 1, r->time_ms != 0 ? r->time_ms : when)) < 0 ||
	    (rc = store_index__bind_text(st, 2, r->calling_ae)) < 0 ||
	    (rc = store_index__bind_text(st, 3, r->modality)) < 0 ||
	    (rc = store_index__bind_text(st, 4, r->sop_class)) < 0 ||
	    (rc = store_index__bind_text(st, 5, r->sop_uid)) < 0 ||
	    (rc = store_index__bind_text(st, 6, r->study_uid)) < 0 ||
	    (rc = store_index__bind_text(st, 7, store_quality_origin_name(r->origin))) < 0 ||
	    (rc = store_index__bind_text(st, 8, store_quality_outcome_name(r->outcome))) < 0 ||
	    (rc = bind_i64(st, 9, r->status)) < 0 || (rc = store_index__bind_text(st, 10, r->comment)) < 0 ||
	    (rc = bind_i64(st, 11, r->n_fixed)) < 0 || (rc = bind_i64(st, 12, r->n_warned)) < 0 ||
	    (rc = bind_i64(st, 13, r->n_refused)) < 0 || (rc = run(st)) < 0)
		return rc;
	pk = sqlite3_last_insert_rowid(w->db);
	for (size_t i = 0; i < r->n_hits; i++) {
		const store_quality_hit *h = &r->hits[i];

		if ((rc = store_index__stmt(w, hit_sql, &st)) < 0)
			return rc;
		if ((rc = bind_i64(st, 1, pk)) < 0 || (rc = bind_i64(st, 2, (int64_t)i)) < 0 ||
		    (rc = store_index__bind_text(st, 3, h->rule)) < 0 ||
		    (rc = store_index__bind_text(st, 4, h->kind)) < 0 ||
		    (rc = store_index__bind_text(st, 5, pacs_norm_action_name(h->action))) < 0 ||
		    (rc = bind_i64(st, 6, h->tag)) < 0 || (rc = store_index__bind_text(st, 7, h->path)) < 0 ||
		    (rc = store_index__bind_text(st, 8, h->before)) < 0 ||
		    (rc = store_index__bind_text(st, 9, h->after)) < 0 ||
		    (rc = store_index__bind_text(st, 10, h->message)) < 0 || (rc = run(st)) < 0)
			return rc;
	}
	return 0;
}

int store_quality_put(store_index *idx, const store_quality_record *const *recs, size_t n)
{
	struct store_index__sqlite *ix = (struct store_index__sqlite *)idx;
	sqlite3 *db;
	int64_t when = now_ms();
	int rc;

	if (n == 0)
		return 0;
	if (strcmp(idx->ops->name, "sqlite") != 0)
		return arca_error_set(ARCA_EUNSUPPORTED, "quality records: index backend %s", idx->ops->name);
	db = ix->writer.db;
	pthread_mutex_lock(&ix->write_lock);
	/* No fsync of our own: synchronous=NORMAL commits into the WAL without
	 * syncing it; the next FULL commit of an instance batch (or a
	 * checkpoint) syncs these frames with its own (store_quality.h). */
	rc = store_index__exec(db, "PRAGMA synchronous=NORMAL", "quality: synchronous");
	if (rc == 0)
		rc = store_index__exec(db, "BEGIN IMMEDIATE", "quality: begin");
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = put_one(&ix->writer, recs[i], when);
	if (rc == 0)
		rc = store_index__exec(db, "COMMIT", "quality: commit");
	if (rc < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	/* the instance puts on this connection stay FULL whatever happened */
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK && rc == 0)
		rc = store_index__db_error(db, SQLITE_ERROR, "quality: synchronous=FULL");
	pthread_mutex_unlock(&ix->write_lock);
	return rc;
}
