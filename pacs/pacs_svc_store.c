/* pacs_svc_store.c - the Storage Service Class as SCP (PS3.4 Annex B): a
 * C-STORE-RQ's data set streams from the socket into a pacs_reader and its
 * bulk values on into the ingest interface (pacs_ingest.h) as the PDVs
 * arrive, so that no instance is ever held whole; once the data set is
 * complete and checked, the ingest's commit runs on the worker pool and
 * the C-STORE-RSP is sent from its done, i.e. only once the instance is
 * durable (design.md 3.1).
 *
 * Statuses (PS3.4 B.2.3, PS3.7 C):
 *   0x0122  the Affected SOP Class is not a Storage SOP class
 *   0xA900  it is not the presentation context's abstract syntax; the SOP
 *           Class or Instance UID of the data set is missing or differs
 *           from the command's
 *   0xC000  the data set does not parse (the reader's message, with the
 *           byte offset and the tag, is the Error Comment)
 *   0xA700  out of resources: the metadata passes the memory limit, the
 *           ingest cannot begin or take bulk data, the worker pool is full
 *   otherwise what the ingest's commit says.
 * A refused data set is still read to its end (the peer sends it anyway)
 * and dropped; the association goes on. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_conn_priv.h"
#include "pacs_read.h"
#include "pacs_sop.h"
#include "pacs_svc.h"

/* Values of bulk VRs from this size on, and all encapsulated pixel data, go
 * to the ingest as they stream; smaller ones stay in the metadata. */
#define STORE_BULK_THRESHOLD (64u * 1024u)
/* Metadata held per instance (PS3.5 values the reader keeps, and its
 * bookkeeping): far above real headers, far below a server's memory. */
#define STORE_MAX_VALUE (16u * 1024u * 1024u)
#define STORE_MAX_METADATA (32u * 1024u * 1024u)

typedef struct store_op {
	pacs_reader *reader;
	void *txn;                 /* the ingest transaction until commit or abort */
	pacs_ds *ds;               /* the metadata, once read */
	bool failed;               /* decided on the loop thread: answer status/comment */
	bool bulk_failed;          /* the ingest refused bulk data */
	uint16_t status;
	char comment[256];
	pacs_ingest_result res;    /* the commit's answer */
} store_op;

void pacs_ingest_set_comment(pacs_ingest_result *res, const char *text)
{
	size_t i;

	/* PS3.5 6.2 LO: 64 characters of the default repertoire, no backslash
	 * (the value delimiter) and no control characters */
	for (i = 0; i < PACS_DIMSE_COMMENT_MAX && text != NULL && text[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)text[i];
		res->comment[i] = ch < 0x20 || ch > 0x7E || ch == '\\' ? '?' : (char)ch;
	}
	res->comment[i] = '\0';
}

static store_op *store_of(pacs_op *op)
{
	return op->svc_data;
}

static const pacs_ingest *ingest_of(pacs_op *op)
{
	return &op->conn->srv->ingest;
}

static void store_abort_txn(pacs_op *op, store_op *so)
{
	if (so->txn != NULL) {
		ingest_of(op)->ops->abort(so->txn);
		so->txn = NULL;
	}
}

/* Refuses the instance; the rest of its data set is drained. */
static void store_fail(pacs_op *op, uint16_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void store_fail(pacs_op *op, uint16_t status, const char *fmt, ...)
{
	store_op *so = store_of(op);
	va_list ap;

	if (so->failed)
		return;
	so->failed = true;
	so->status = status;
	va_start(ap, fmt);
	vsnprintf(so->comment, sizeof(so->comment), fmt, ap);
	va_end(ap);
	pacs_reader_free(so->reader);
	so->reader = NULL;
	pacs_ds_free(so->ds);
	so->ds = NULL;
	store_abort_txn(op, so);
}

static int store_bulk(void *ctx, const pacs_bulk_event *ev)
{
	pacs_op *op = ctx;
	store_op *so = store_of(op);
	int rc;

	if (so->txn == NULL)
		return 0;
	rc = ingest_of(op)->ops->bulk(so->txn, ev);
	if (rc < 0)
		so->bulk_failed = true;
	return rc;
}

static void store_fill_info(pacs_op *op, pacs_ingest_info *info)
{
	pacs_conn *c = op->conn;

	memset(info, 0, sizeof(*info));
	info->calling_ae = c->calling_ae;
	info->called_ae = c->called_ae;
	info->peer_address = c->peer;
	info->sop_class_uid = op->rq.affected_sop_class;
	info->sop_instance_uid = op->rq.affected_sop_instance;
	info->transfer_syntax = op->pctx->transfer_syntax;
	info->message_id = op->rq.message_id;
	if ((op->rq.present & PACS_DIMSE_F_MOVE_ORIGINATOR_AE) != 0) {
		info->move_originator_ae = op->rq.move_originator_ae;
		info->move_originator_id = op->rq.move_originator_id;
	}
	info->association_id = c->id;
}

static int store_start(pacs_op *op)
{
	const char *cls = op->rq.affected_sop_class;
	pacs_ingest_info info;
	pacs_read_opts ro;
	store_op *so;
	int rc;

	so = calloc(1, sizeof(*so));
	if (so == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a C-STORE");
	op->svc_data = so;
	if (!pacs_sop_is_storage(cls)) {
		store_fail(op, PACS_DIMSE_SOP_CLASS_NOT_SUPPORTED, "%s is not a Storage SOP Class", cls);
		return 0;
	}
	if (op->pctx == NULL || strcmp(cls, op->pctx->abstract_syntax) != 0) {
		store_fail(op, PACS_DIMSE_DATA_SET_MISMATCH,
			   "SOP Class %s sent on a presentation context for %s", cls,
			   op->pctx != NULL ? op->pctx->abstract_syntax : "?");
		return 0;
	}
	if (!op->conn->srv->has_ingest) {
		store_fail(op, PACS_DIMSE_OUT_OF_RESOURCES, "this server stores nothing (no ingest)");
		return 0;
	}
	store_fill_info(op, &info);
	rc = ingest_of(op)->ops->begin(ingest_of(op)->ctx, &info, &so->txn);
	if (rc < 0) {
		so->txn = NULL; /* a failing begin leaves nothing to abort */
		store_fail(op, PACS_DIMSE_OUT_OF_RESOURCES, "%s", arca_error_last());
		return 0;
	}
	pacs_read_opts_init(&ro);
	ro.input = PACS_INPUT_DATASET;
	ro.ts_uid = op->pctx->transfer_syntax;
	ro.bulk_threshold = STORE_BULK_THRESHOLD;
	ro.bulk_fn = store_bulk;
	ro.bulk_ctx = op;
	ro.max_value_length = STORE_MAX_VALUE;
	ro.max_total = STORE_MAX_METADATA;
	rc = pacs_reader_new(&so->reader, &ro);
	if (rc < 0)
		store_fail(op, PACS_DIMSE_OUT_OF_RESOURCES, "%s", arca_error_last());
	return 0;
}

/* A reader error: the ingest's refusal, a limit, or a data set that does
 * not parse. */
static void store_read_failed(pacs_op *op, int rc)
{
	store_op *so = store_of(op);

	if (so->bulk_failed || rc == ARCA_ELIMIT || rc == ARCA_ENOMEM)
		store_fail(op, PACS_DIMSE_OUT_OF_RESOURCES, "%s", arca_error_last());
	else
		store_fail(op, PACS_DIMSE_CANNOT_UNDERSTAND, "%s", arca_error_last());
}

/* PS3.4 B.2.3, PS3.7 9.1.1: the data set must be the instance the command
 * names (SOP Common Module, PS3.3 C.12.1: both UIDs are Type 1). */
static void store_check(pacs_op *op)
{
	store_op *so = store_of(op);
	char uid[PACS_DIMSE_UID_MAX + 2];

	if (pacs_ds_get_string(so->ds, PACS_TAG(0x0008, 0x0018), 0, uid, sizeof(uid)) < 0 || uid[0] == '\0') {
		store_fail(op, PACS_DIMSE_DATA_SET_MISMATCH, "SOP Instance UID (0008,0018) missing");
		return;
	}
	if (strcmp(uid, op->rq.affected_sop_instance) != 0) {
		store_fail(op, PACS_DIMSE_DATA_SET_MISMATCH,
			   "SOP Instance UID (0008,0018) %s is not the command's %s", uid,
			   op->rq.affected_sop_instance);
		return;
	}
	if (pacs_ds_get_string(so->ds, PACS_TAG(0x0008, 0x0016), 0, uid, sizeof(uid)) < 0 || uid[0] == '\0') {
		store_fail(op, PACS_DIMSE_DATA_SET_MISMATCH, "SOP Class UID (0008,0016) missing");
		return;
	}
	if (strcmp(uid, op->rq.affected_sop_class) != 0)
		store_fail(op, PACS_DIMSE_DATA_SET_MISMATCH, "SOP Class UID (0008,0016) %s is not the command's %s",
			   uid, op->rq.affected_sop_class);
}

static int store_data(pacs_op *op, const uint8_t *bytes, size_t len, bool last)
{
	store_op *so = store_of(op);
	int rc;

	if (so->failed)
		return 0; /* drained */
	if (len > 0) {
		rc = pacs_reader_feed(so->reader, bytes, len);
		if (rc < 0) {
			store_read_failed(op, rc);
			return 0;
		}
	}
	if (!last)
		return 0;
	rc = pacs_reader_finish(so->reader, &so->ds);
	pacs_reader_free(so->reader);
	so->reader = NULL;
	if (rc < 0) {
		store_read_failed(op, rc);
		return 0;
	}
	store_check(op);
	return 0;
}

/* Worker thread: the ingest makes the instance durable. */
static int store_work(pacs_op *op)
{
	store_op *so = store_of(op);
	const pacs_ingest *in = ingest_of(op);
	pacs_ds *ds = so->ds;
	void *txn = so->txn;
	int rc;

	so->ds = NULL;
	so->txn = NULL;
	so->res.status = PACS_DIMSE_SUCCESS;
	so->res.comment[0] = '\0';
	rc = in->ops->commit(txn, ds, &so->res);
	if (rc < 0) {
		/* the message is this thread's: keep it for the loop thread */
		so->res.status = PACS_DIMSE_OUT_OF_RESOURCES;
		snprintf(so->comment, sizeof(so->comment), "%s", arca_error_last());
		pacs_ingest_set_comment(&so->res, so->comment);
	} else {
		snprintf(so->comment, sizeof(so->comment), "%s", so->res.comment);
	}
	return rc;
}

static void store_log_result(pacs_op *op, uint16_t status, const char *comment)
{
	enum pacs_dimse_status_category cat = pacs_dimse_status_category(status);
	const pacs_sop_info *sop = pacs_sop_lookup(op->rq.affected_sop_class);

	pacs_conn__log(op->conn,
		       cat == PACS_DIMSE_STATUS_SUCCESS ? PACS_SERVER_LOG_DEBUG : PACS_SERVER_LOG_WARNING,
		       "C-STORE %s (%s), %llu bytes: 0x%04X %s%s%s", op->rq.affected_sop_instance,
		       sop != NULL ? sop->name : op->rq.affected_sop_class,
		       (unsigned long long)op->data_bytes, status, pacs_dimse_status_name(status),
		       comment[0] != '\0' ? ": " : "", comment);
}

static void store_done(pacs_op *op, int result)
{
	store_op *so = store_of(op);

	(void)result;
	pacs_conn__count_store(op->conn, so->res.status);
	store_log_result(op, so->res.status, so->comment);
	if (!pacs_conn__alive(op->conn) &&
	    pacs_dimse_status_category(so->res.status) != PACS_DIMSE_STATUS_FAILURE)
		pacs_conn__log(op->conn, PACS_SERVER_LOG_WARNING,
			       "%s is stored, but the association ended before the C-STORE-RSP",
			       op->rq.affected_sop_instance);
	(void)pacs_conn__respond(op, so->res.status, so->res.comment);
}

static void store_run(pacs_op *op)
{
	store_op *so = store_of(op);
	int rc;

	if (!so->failed) {
		rc = pacs_conn__submit(op, store_work, store_done);
		if (rc < 0)
			store_fail(op, PACS_DIMSE_OUT_OF_RESOURCES, "server busy: %s", arca_error_last());
		else
			return;
	}
	pacs_conn__count_store(op->conn, so->status);
	store_log_result(op, so->status, so->comment);
	(void)pacs_conn__respond(op, so->status, so->comment);
}

static void store_release(pacs_op *op)
{
	store_op *so = store_of(op);

	if (so == NULL)
		return;
	pacs_reader_free(so->reader);
	store_abort_txn(op, so);
	pacs_ds_free(so->ds);
	free(so);
	op->svc_data = NULL;
}

const pacs_svc pacs_svc__store = {
	.name = "C-STORE",
	.start = store_start,
	.data = store_data,
	.run = store_run,
	.release = store_release,
};
