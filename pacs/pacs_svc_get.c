/* pacs_svc_get.c - the Query/Retrieve Service Class, C-GET as SCP (PS3.4
 * C.4.3) for the Patient Root and Study Root models at PATIENT, STUDY,
 * SERIES and IMAGE level.
 *
 * The instances the identifier selects are listed on the worker pool
 * (pacs_svc_retrieve.c).  Then, for each one, a C-STORE sub-operation on
 * THIS association (PS3.4 C.4.3.3): on an accepted presentation context
 * for its SOP class where role selection made the requestor the SCP (PS3.7
 * D.3.3.4; pacs_assoc_pctx.peer_scp), preferring one whose transfer
 * syntax is the stored one (sent as stored), then a native one (converted
 * by the writer, or decoded by pacs_transcode), then RLE or JPEG 2000
 * (encoded losslessly).  No such context, or a conversion that the codecs
 * refuse for this instance: the
 * sub-operation fails (counted, its UID in the Failed SOP Instance UID
 * List) and the next one goes on.
 *
 * The loop never blocks: a worker job produces the instance's data set
 * (pacs_query_ops.write_instance) into memory (one instance at a time); the
 * loop sends the C-STORE-RQ and feeds the data set to the write queue only
 * while it has room (pacs_conn__has_room), resuming as it drains; then
 * waits for the C-STORE-RSP, which the connection routes here
 * (svc->response).  After each sub-operation a pending C-GET-RSP (0xFF00)
 * with the counts.
 *
 * Statuses (PS3.4 C.4.3.1.4, Table C.4-3):
 *   0xFF00  pending, after each sub-operation but the last
 *   0x0000  every sub-operation completed (also when nothing matched:
 *           zero sub-operations, nothing failed, as dcmqrscp answers)
 *   0xB000  some failed or warned: Failed SOP Instance UID List (0008,0058)
 *   0xA702  every sub-operation failed: the list too
 *   0xFE00  C-CANCEL-RQ: no sub-operation is started after it; counts
 *           and remaining
 *   0xA701  more than 65535 instances selected (the counts are US)
 *   0xA900  identifier: level or unique keys (C.4.3.2.1)
 *   0xC000  the identifier does not parse or cannot be matched */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_buf.h"
#include "pacs_conn_priv.h"
#include "pacs_svc_retrieve.h"
#include "pacs_ts.h"

/* Bytes of data set handed to the write queue at a time. */
#define GET_SEND_PIECE (64u * 1024u)
/* An instance larger than this is not sent (the whole data set is built in
 * memory before it is sent). */
#define GET_MAX_INSTANCE ((size_t)2 << 30)

typedef struct get_op {
	pacs_retr r;                       /* first: pacs_retr shared code */
	const pacs_assoc_pctx *sub_pctx;   /* of the current sub-operation */
	pacs_buf data;                     /* its data set */
	size_t off;                        /* sent so far */
	uint16_t msg_id;                   /* of the current C-STORE-RQ */
	bool sending;                      /* its data set is going out */
	bool awaiting;                     /* its C-STORE-RSP is due */
	bool cancelled;
} get_op;

static get_op *get_of(pacs_op *op)
{
	return op->svc_data;
}

static int get_start(pacs_op *op)
{
	get_op *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a C-GET");
	op->svc_data = g;
	pacs_buf_init(&g->data, GET_MAX_INSTANCE);
	return pacs_svc__retr_start(op, &g->r);
}

static int get_data(pacs_op *op, const uint8_t *bytes, size_t len, bool last)
{
	return pacs_svc__retr_data(op, &get_of(op)->r, bytes, len, last);
}

/* PS3.4 C.4.3.3: an accepted context for the instance's SOP class on which
 * the requestor took the SCP role; the stored syntax first. */
static const pacs_assoc_pctx *get_pick(pacs_conn *c, const pacs_query_item *it)
{
	const pacs_assoc_pctx *best = NULL;
	size_t n = pacs_assoc_pctx_count(c->assoc);
	int best_rank = 0;

	for (size_t i = 0; i < n; i++) {
		const pacs_assoc_pctx *pc = pacs_assoc_pctx_at(c->assoc, i);
		int rank;
		if (pc->result != PACS_PDU_PCTX_ACCEPTANCE || !pc->peer_scp || pc->transfer_syntax == NULL ||
		    strcmp(pc->abstract_syntax, it->sop_class_uid) != 0)
			continue;
		rank = pacs_svc__retr_ts_rank(it->transfer_syntax, pc->transfer_syntax);
		if (rank > best_rank) {
			best = pc;
			best_rank = rank;
		}
	}
	return best;
}

static void get_next(pacs_op *op);

static int get_sink(void *ctx, const uint8_t *data, size_t len)
{
	return pacs_buf_add(ctx, data, len);
}

/* Worker thread: the current instance's data set. */
static int get_read_work(pacs_op *op)
{
	get_op *g = get_of(op);
	const pacs_query *q = op->conn->srv->opts.query;
	int rc;

	g->r.job_rc = 0;
	g->r.job_msg[0] = '\0';
	pacs_buf_reset(&g->data);
	rc = q->ops->write_instance(q->ctx, &g->r.items[g->r.next_item], g->sub_pctx->transfer_syntax,
				    get_sink, &g->data);
	if (rc < 0) {
		g->r.job_rc = rc;
		snprintf(g->r.job_msg, sizeof(g->r.job_msg), "%s", arca_error_last());
	}
	return rc;
}

/* A sub-operation that failed here (no context, unreadable, not
 * convertible): counted, and the next one. */
static void get_sub_failed(pacs_op *op, const char *why)
{
	get_op *g = get_of(op);

	pacs_conn__log(op->conn, PACS_SERVER_LOG_WARNING, "C-GET message %u: instance %s not sent: %s",
		       op->rq.message_id, g->r.items[g->r.next_item].sop_instance_uid, why);
	pacs_svc__retr_count(&g->r, PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS);
	if (g->r.next_item < g->r.n_items)
		(void)pacs_svc__retr_pending(op, &g->r);
}

/* Loop thread: feeds the data set to the write queue while it has room. */
static void get_send(pacs_op *op)
{
	get_op *g = get_of(op);
	size_t len = pacs_buf_len(&g->data);
	const uint8_t *d = pacs_buf_data(&g->data);

	do {
		size_t n = len - g->off < GET_SEND_PIECE ? len - g->off : GET_SEND_PIECE;
		if (!pacs_conn__alive(op->conn)) {
			op->answered = true;
			return;
		}
		if (!pacs_conn__has_room(op->conn)) {
			op->waiting = true;
			return;
		}
		if (pacs_conn__send_data(op, g->sub_pctx->id, d + g->off, n, g->off + n == len) < 0) {
			op->answered = true;
			return;
		}
		g->off += n;
	} while (g->off < len);
	g->sending = false;
	g->awaiting = true;
	op->waiting = true;
	pacs_buf_free(&g->data);
}

static void get_read_done(pacs_op *op, int result)
{
	get_op *g = get_of(op);
	const pacs_query_item *it = &g->r.items[g->r.next_item];
	pacs_dimse_cmd rq;
	int rc;

	if (!pacs_conn__alive(op->conn)) {
		op->answered = true;
		return;
	}
	if (result < 0) {
		get_sub_failed(op, g->r.job_msg);
		get_next(op);
		return;
	}
	/* PS3.7 9.3.1.1 C-STORE-RQ; our Message IDs are our own (9.3.1.1:
	 * unique among the requests this AE has outstanding) */
	g->msg_id = g->msg_id == UINT16_MAX ? 1 : (uint16_t)(g->msg_id + 1);
	pacs_dimse_cmd_init(&rq, PACS_DIMSE_C_STORE_RQ);
	rq.has_data_set = true;
	rc = pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, g->msg_id);
	if (rc == 0)
		rc = pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_PRIORITY, op->rq.priority);
	if (rc == 0)
		rc = pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_CLASS, it->sop_class_uid);
	if (rc == 0)
		rc = pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, it->sop_instance_uid);
	if (rc < 0) {
		get_sub_failed(op, arca_error_last());
		get_next(op);
		return;
	}
	if (pacs_conn__send_request(op, g->sub_pctx->id, &rq) < 0) {
		op->answered = true;
		return;
	}
	g->off = 0;
	g->sending = true;
	get_send(op);
}

static void get_finish(pacs_op *op)
{
	get_op *g = get_of(op);

	pacs_buf_free(&g->data);
	pacs_svc__retr_final(op, &g->r, g->cancelled, NULL);
}

/* Loop thread: the next sub-operation, or the final response. */
static void get_next(pacs_op *op)
{
	get_op *g = get_of(op);

	for (;;) {
		const pacs_query_item *it;
		char why[200];
		int rc;

		if (!pacs_conn__alive(op->conn)) {
			op->answered = true;
			return;
		}
		if (op->cancel_requested && g->r.next_item < g->r.n_items) {
			/* PS3.4 C.4.3.3.3 (C-CANCEL): no further sub-operation */
			g->cancelled = true;
			get_finish(op);
			return;
		}
		if (g->r.next_item >= g->r.n_items) {
			get_finish(op);
			return;
		}
		it = &g->r.items[g->r.next_item];
		g->sub_pctx = get_pick(op->conn, it);
		if (g->sub_pctx == NULL) {
			snprintf(why, sizeof(why),
				 "no accepted context for %s with the SCP role (role selection) in %s or a syntax it converts to",
				 it->sop_class_uid, it->transfer_syntax);
			get_sub_failed(op, why);
			continue;
		}
		if (!pacs_conn__has_room(op->conn)) {
			op->waiting = true;
			return;
		}
		rc = pacs_conn__submit(op, get_read_work, get_read_done);
		if (rc < 0) {
			snprintf(why, sizeof(why), "server busy: %s", arca_error_last());
			get_sub_failed(op, why);
			continue;
		}
		return;
	}
}

static void get_list_done(pacs_op *op, int result)
{
	get_op *g = get_of(op);

	if (!pacs_conn__alive(op->conn)) {
		op->answered = true;
		return;
	}
	if (result < 0) {
		uint16_t st = g->r.job_rc == ARCA_ELIMIT ? PACS_DIMSE_OUT_OF_RESOURCES_MATCHES
			      : g->r.job_rc == ARCA_EINVAL || g->r.job_rc == ARCA_EPROTO ? PACS_DIMSE_CANNOT_UNDERSTAND
											  : PACS_DIMSE_OUT_OF_RESOURCES_MATCHES;
		pacs_svc__retr_refuse(op, &g->r, st, g->r.job_msg, NULL);
		return;
	}
	pacs_conn__log(op->conn, PACS_SERVER_LOG_DEBUG, "C-GET message %u: %zu instances selected",
		       op->rq.message_id, g->r.n_items);
	get_next(op);
}

static int get_list_work(pacs_op *op)
{
	return pacs_svc__retr_list(op, &get_of(op)->r);
}

static void get_run(pacs_op *op)
{
	get_op *g = get_of(op);
	const pacs_query *q = op->conn->srv->opts.query;
	int rc;

	if (!g->r.qr.failed && (q->ops->list_open == NULL || q->ops->write_instance == NULL))
		pacs_svc__retr_fail(&g->r, PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS,
				    "this archive's storage cannot read instances back");
	if (!g->r.qr.failed && pacs_svc__retr_check(op, &g->r)) {
		op->streaming = true;
		rc = pacs_conn__submit(op, get_list_work, get_list_done);
		if (rc == 0)
			return;
		pacs_svc__retr_fail(&g->r, PACS_DIMSE_OUT_OF_RESOURCES_MATCHES, "server busy: %s", arca_error_last());
	}
	pacs_svc__retr_refuse(op, &g->r, g->r.qr.status, g->r.qr.comment, NULL);
}

static void get_resume(pacs_op *op)
{
	get_op *g = get_of(op);

	if (g->awaiting)
		op->waiting = true; /* the C-STORE-RSP wakes it */
	else if (g->sending)
		get_send(op);
	else
		get_next(op);
}

/* The C-STORE-RSP of the current sub-operation (PS3.7 9.3.1.2). */
static bool get_response(pacs_op *op, const pacs_dimse_cmd *rsp)
{
	get_op *g = get_of(op);

	if (g == NULL || !g->awaiting || rsp->command != PACS_DIMSE_C_STORE_RSP ||
	    rsp->message_id_responded != g->msg_id)
		return false;
	g->awaiting = false;
	op->waiting = false;
	if (pacs_dimse_status_category(rsp->status) == PACS_DIMSE_STATUS_FAILURE)
		pacs_conn__log(op->conn, PACS_SERVER_LOG_WARNING, "C-GET message %u: %s refused 0x%04X%s%s",
			       op->rq.message_id, g->r.items[g->r.next_item].sop_instance_uid, rsp->status,
			       rsp->error_comment[0] != '\0' ? ": " : "", rsp->error_comment);
	pacs_svc__retr_count(&g->r, rsp->status);
	if (g->r.next_item < g->r.n_items && !op->cancel_requested)
		(void)pacs_svc__retr_pending(op, &g->r);
	get_next(op);
	return true;
}

static void get_release(pacs_op *op)
{
	get_op *g = get_of(op);

	if (g == NULL)
		return;
	pacs_svc__retr_release(&g->r);
	pacs_buf_free(&g->data);
	free(g);
	op->svc_data = NULL;
}

const pacs_svc pacs_svc__get = {
	.name = "C-GET",
	.start = get_start,
	.data = get_data,
	.run = get_run,
	.release = get_release,
	.resume = get_resume,
	.response = get_response,
};
