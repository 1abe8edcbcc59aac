/* pacs_svc_find.c - the Query/Retrieve Service Class, C-FIND as SCP
 * (PS3.4 C.4.1) for the Patient Root and Study Root information models
 * (C.6.1, C.6.2) at PATIENT, STUDY, SERIES and IMAGE level.
 *
 * The identifier is read (in the context's transfer syntax), checked
 * (Query/Retrieve Level, and the hierarchical rule of C.4.1.2.1: above the
 * query level, each level's unique key with a single value; unless
 * relational queries were negotiated for the context's SOP class, PS3.4
 * C.4.1.2.2 and C.5.1.1: then keys of any level at or above the query
 * level match as given, and the unique keys above may be absent), then matched
 * by the query interface (pacs_query.h) on the worker pool in slices: each
 * job reads up to FIND_BATCH matches from the cursor and encodes them; its
 * done sends them as pending responses (0xFF00, PS3.4 C.4.1.1.4) and
 * submits the next job, or, when the peer does not read fast enough and
 * the write queue is full, waits until it drains.  So the loop never
 * blocks on the index and no result set is ever held whole.
 *
 * Statuses (PS3.4 C.4.1.1.4, Table C.4-1):
 *   0xFF00  pending, one per match, with its identifier
 *   0x0000  all matches sent
 *   0xFE00  C-CANCEL-RQ received: matching stopped
 *   0x0122  the SOP class is not a C-FIND model we perform
 *   0xA900  the identifier does not match the SOP class: no or a wrong
 *           Query/Retrieve Level, or (hierarchical queries) a unique key
 *           above the level missing or not a single value; the Error
 *           Comment says which
 *   0xC000  unable to process: the identifier does not parse, or a value
 *           cannot be matched (a malformed date range ...)
 *   0xA700  out of resources: more than [server] max_find_results matches
 *           (after the first max_find_results were sent as pending
 *           responses: the SCU learns the answer is incomplete), the
 *           worker pool is full, or the index failed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_buf.h"
#include "pacs_conn_priv.h"
#include "pacs_query.h"
#include "pacs_read.h"
#include "pacs_sop.h"
#include "pacs_svc.h"
#include "pacs_tags.h"
#include "pacs_write.h"

/* PS3.4 C.6.1.3, C.6.2.3 (PS3.6 Annex A): the FIND SOP classes. */
#define PATIENT_ROOT_FIND "1.2.840.10008.5.1.4.1.2.1.1"
#define STUDY_ROOT_FIND "1.2.840.10008.5.1.4.1.2.2.1"

/* Matches read and encoded per worker job, and at most this many bytes. */
#define FIND_BATCH 32u
#define FIND_BATCH_BYTES (128u * 1024u)
/* One encoded match at most (a limit on what the index can make us send). */
#define FIND_ANSWER_MAX (FIND_BATCH_BYTES * 64u)

typedef struct find_op {
	pacs_svc_qr qr;                  /* identifier, failure to answer at once */
	enum pacs_query_model model;
	enum pacs_query_level level;
	bool level_known;                /* level parsed from the identifier */
	void *cursor;
	/* the last job's output */
	pacs_buf batch[FIND_BATCH];      /* each capped at FIND_ANSWER_MAX */
	size_t n_batch;
	bool end;
	int job_rc;
	char job_msg[256];
	uint64_t sent;
} find_op;

static find_op *find_of(pacs_op *op)
{
	return op->svc_data;
}

static const pacs_query *query_of(pacs_op *op)
{
	return op->conn->srv->opts.query;
}

static void find_fail(pacs_op *op, uint16_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void find_fail(pacs_op *op, uint16_t status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pacs_svc__qr_vfail(&find_of(op)->qr, status, fmt, ap);
	va_end(ap);
}

static void batch_clear(find_op *fo)
{
	for (size_t i = 0; i < fo->n_batch; i++)
		pacs_buf_free(&fo->batch[i]);
	fo->n_batch = 0;
}

static void find_close_cursor(pacs_op *op)
{
	find_op *fo = find_of(op);

	if (fo->cursor != NULL) {
		query_of(op)->ops->close(fo->cursor);
		fo->cursor = NULL;
	}
}

static int find_start(pacs_op *op)
{
	const char *cls = op->rq.affected_sop_class;
	find_op *fo;

	fo = calloc(1, sizeof(*fo));
	if (fo == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a C-FIND");
	op->svc_data = fo;
	for (size_t i = 0; i < FIND_BATCH; i++)
		pacs_buf_init(&fo->batch[i], FIND_ANSWER_MAX);
	if (strcmp(cls, PATIENT_ROOT_FIND) == 0) {
		fo->model = PACS_QUERY_PATIENT_ROOT;
	} else if (strcmp(cls, STUDY_ROOT_FIND) == 0) {
		fo->model = PACS_QUERY_STUDY_ROOT;
	} else {
		const pacs_sop_info *sop = pacs_sop_lookup(cls);
		find_fail(op, PACS_DIMSE_SOP_CLASS_NOT_SUPPORTED, "C-FIND of %s is not performed here",
			  sop != NULL ? sop->name : cls);
		return 0;
	}
	pacs_svc__qr_begin(&fo->qr, op, "C-FIND", PACS_DIMSE_OUT_OF_RESOURCES);
	return 0;
}

static int find_data(pacs_op *op, const uint8_t *bytes, size_t len, bool last)
{
	pacs_svc__qr_data(&find_of(op)->qr, bytes, len, last);
	return 0;
}

/* PS3.4 C.4.1.2.1: single value matching of a unique key (no wildcard, no
 * list, not empty). */
static bool single_value(const char *v)
{
	return v[0] != '\0' && strpbrk(v, "*?\\") == NULL;
}

/* The unique keys of each level (PS3.4 C.6.1.1, C.6.2.1). */
static const struct {
	uint32_t tag;
	const char *name;
} unique_keys[] = {
	{PACS_TAG_PatientID, "Patient ID (0010,0020)"},
	{PACS_TAG_StudyInstanceUID, "Study Instance UID (0020,000D)"},
	{PACS_TAG_SeriesInstanceUID, "Series Instance UID (0020,000E)"},
	{PACS_TAG_SOPInstanceUID, "SOP Instance UID (0008,0018)"},
};

/* Query/Retrieve Level and the hierarchical rule; 0 or the failure set. */
static int find_check(pacs_op *op)
{
	find_op *fo = find_of(op);
	char v[PACS_DIMSE_UID_MAX + 2];
	unsigned top;

	if (pacs_ds_get_string(fo->qr.ident, PACS_TAG_QueryRetrieveLevel, 0, v, sizeof(v)) < 0 || v[0] == '\0') {
		find_fail(op, PACS_DIMSE_DATA_SET_MISMATCH, "Query/Retrieve Level (0008,0052) missing");
		return -1;
	}
	if (pacs_query_level_parse(v, &fo->level) < 0) {
		find_fail(op, PACS_DIMSE_DATA_SET_MISMATCH, "%s", arca_error_last());
		return -1;
	}
	fo->level_known = true;
	if (fo->model == PACS_QUERY_STUDY_ROOT && fo->level == PACS_QUERY_PATIENT) {
		find_fail(op, PACS_DIMSE_DATA_SET_MISMATCH, "Study Root has no PATIENT level (PS3.4 C.6.2)");
		return -1;
	}
	/* PS3.4 C.4.1.2.2.1: a relational query needs no unique key above the
	 * level; the keys it gives (at or above the level) are matched by
	 * the index, which joins the levels above (store_index_query.c) */
	if (op->pctx->relational)
		return 0;
	top = fo->model == PACS_QUERY_STUDY_ROOT ? 1 : 0;
	for (unsigned l = top; l < (unsigned)fo->level; l++) {
		char *u = NULL;
		bool ok = pacs_ds_get_utf8(fo->qr.ident, unique_keys[l].tag, &u) == 0 && u != NULL && single_value(u);
		free(u);
		if (!ok) {
			/* PS3.4 C.4.1.2.1; the Error Comment is LO (64
			 * characters, PS3.7 C.4): the key first, so it is
			 * never cut off */
			find_fail(op, PACS_DIMSE_DATA_SET_MISMATCH, "%s missing or not a single value",
				  unique_keys[l].name);
			return -1;
		}
	}
	return 0;
}

/* Worker thread: opens the cursor on the first job, then reads and
 * encodes the next slice of matches. */
static int find_work(pacs_op *op)
{
	find_op *fo = find_of(op);
	const pacs_query *q = query_of(op);
	pacs_write_opts wo;
	size_t bytes = 0;
	int rc = 0;

	fo->job_rc = 0;
	fo->job_msg[0] = '\0';
	if (fo->cursor == NULL)
		rc = q->ops->open(q->ctx, fo->model, fo->level, fo->qr.ident, op->conn->srv->opts.max_find_results,
				  &fo->cursor);
	pacs_write_opts_init(&wo);
	wo.ts_uid = op->pctx->transfer_syntax;
	while (rc == 0 && fo->n_batch < FIND_BATCH && bytes < FIND_BATCH_BYTES) {
		pacs_ds *res = NULL;
		pacs_buf *b = &fo->batch[fo->n_batch];

		rc = q->ops->next(fo->cursor, &res);
		if (rc < 0)
			break;
		if (res == NULL) {
			fo->end = true;
			break;
		}
		rc = pacs_write_dataset(res, &wo, pacs_buf_sink, b);
		pacs_ds_free(res);
		if (rc < 0) {
			pacs_buf_free(b);
			break;
		}
		bytes += pacs_buf_len(b);
		fo->n_batch++;
	}
	if (rc < 0) {
		/* the message is this thread's: keep it for the loop thread */
		fo->job_rc = rc;
		snprintf(fo->job_msg, sizeof(fo->job_msg), "%s", arca_error_last());
	}
	return rc;
}

static void find_done(pacs_op *op, int result);

static void find_log(pacs_op *op, uint16_t status, const char *comment)
{
	find_op *fo = find_of(op);

	pacs_conn__log(op->conn,
		       pacs_dimse_status_category(status) == PACS_DIMSE_STATUS_FAILURE ? PACS_SERVER_LOG_WARNING
											: PACS_SERVER_LOG_DEBUG,
		       "C-FIND %s %s%s message %u: %llu matches sent, 0x%04X %s%s%s",
		       fo->model == PACS_QUERY_STUDY_ROOT ? "Study Root" : "Patient Root",
		       pacs_query_level_name(fo->level), op->pctx != NULL && op->pctx->relational ? " (relational)" : "",
		       op->rq.message_id, (unsigned long long)fo->sent, status,
		       pacs_dimse_status_name(status), comment[0] != '\0' ? ": " : "", comment);
}

/* The provenance chain's Query event (pacs_server.h query_audit): who,
 * how many matches, the outcome; never the identifier's keys. */
static void find_audit(pacs_op *op, uint16_t status)
{
	const pacs_server_opts *o = &op->conn->srv->opts;
	find_op *fo = find_of(op);
	pacs_server_query_event ev;

	if (o->query_audit == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.assoc_id = op->conn->id;
	ev.calling_ae = op->conn->calling_ae;
	ev.user = op->conn->user;
	ev.level = fo->level_known ? pacs_query_level_name(fo->level) : "";
	ev.study_root = fo->model == PACS_QUERY_STUDY_ROOT;
	ev.matches = fo->sent;
	ev.status = status;
	o->query_audit(o->audit_ctx, &ev);
}

static void find_finish(pacs_op *op, uint16_t status, const char *comment)
{
	find_op *fo = find_of(op);

	find_close_cursor(op);
	batch_clear(fo);
	find_log(op, status, comment);
	find_audit(op, status);
	(void)pacs_conn__respond(op, status, comment);
}

/* Loop thread: the next slice, or wait for the write queue to drain. */
static void find_continue(pacs_op *op)
{
	int rc;

	if (op->cancel_requested) {
		find_finish(op, PACS_DIMSE_CANCEL, "");
		return;
	}
	if (!pacs_conn__has_room(op->conn)) {
		op->waiting = true;
		return;
	}
	rc = pacs_conn__submit(op, find_work, find_done);
	if (rc < 0) {
		char why[160];
		snprintf(why, sizeof(why), "server busy: %s", arca_error_last());
		find_finish(op, PACS_DIMSE_OUT_OF_RESOURCES, why);
	}
}

static void find_done(pacs_op *op, int result)
{
	find_op *fo = find_of(op);
	char why[300];

	(void)result;
	if (!pacs_conn__alive(op->conn)) {
		batch_clear(fo);
		find_close_cursor(op);
		op->answered = true;
		return;
	}
	if (op->cancel_requested) {
		/* PS3.4 C.4.1.3.1.2 (C-CANCEL): no more pending responses */
		find_finish(op, PACS_DIMSE_CANCEL, "");
		return;
	}
	for (size_t i = 0; i < fo->n_batch; i++) {
		pacs_dimse_cmd rsp;

		if (pacs_dimse_cmd_response(&rsp, &op->rq, PACS_DIMSE_PENDING) < 0 ||
		    pacs_conn__send_response(op, &rsp, pacs_buf_data(&fo->batch[i]), pacs_buf_len(&fo->batch[i]), false) < 0) {
			batch_clear(fo);
			find_close_cursor(op);
			op->answered = true;
			return;
		}
		fo->sent++;
	}
	batch_clear(fo);
	if (fo->job_rc == ARCA_ELIMIT && fo->cursor != NULL) {
		snprintf(why, sizeof(why), "more than %llu matches: refine the query (max_find_results)",
			 (unsigned long long)op->conn->srv->opts.max_find_results);
		find_finish(op, PACS_DIMSE_OUT_OF_RESOURCES, why);
	} else if (fo->job_rc == ARCA_EINVAL || fo->job_rc == ARCA_EPROTO || fo->job_rc == ARCA_ENOTFOUND) {
		find_finish(op, PACS_DIMSE_CANNOT_UNDERSTAND, fo->job_msg);
	} else if (fo->job_rc < 0) {
		find_finish(op, PACS_DIMSE_OUT_OF_RESOURCES, fo->job_msg);
	} else if (fo->end) {
		find_finish(op, PACS_DIMSE_SUCCESS, "");
	} else {
		find_continue(op);
	}
}

static void find_run(pacs_op *op)
{
	find_op *fo = find_of(op);

	if (!fo->qr.failed && fo->qr.ident == NULL)
		find_fail(op, PACS_DIMSE_CANNOT_UNDERSTAND, "C-FIND-RQ without an identifier");
	if (!fo->qr.failed && find_check(op) == 0) {
		op->streaming = true;
		find_continue(op);
		return;
	}
	find_finish(op, fo->qr.status, fo->qr.comment);
}

static void find_resume(pacs_op *op)
{
	find_continue(op);
}

static void find_release(pacs_op *op)
{
	find_op *fo = find_of(op);

	if (fo == NULL)
		return;
	find_close_cursor(op);
	batch_clear(fo);
	pacs_svc__qr_release(&fo->qr);
	free(fo);
	op->svc_data = NULL;
}

const pacs_svc pacs_svc__find = {
	.name = "C-FIND",
	.start = find_start,
	.data = find_data,
	.run = find_run,
	.release = find_release,
	.resume = find_resume,
};
