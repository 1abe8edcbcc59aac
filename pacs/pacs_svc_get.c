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
 * The loop never blocks: a worker job produces an instance's data set
 * (pacs_query_ops.write_instance, which streams it from the checked
 * chunks) into memory; the loop sends the C-STORE-RQ and feeds the data
 * set to the write queue only while it has room (pacs_conn__has_room),
 * resuming as it drains; then waits for the C-STORE-RSP, which the
 * connection routes here (svc->response).  After each sub-operation a
 * pending C-GET-RSP (0xFF00) with the counts.
 *
 * Read-ahead: while instance i goes out and waits for its C-STORE-RSP, a
 * worker job already produces instance i+1 (two slots, so at most two
 * instances in memory, and only one above GET_PREFETCH_MAX); the wire and
 * the peer's acknowledgement no longer wait for the storage.  The one job
 * of the op (pacs_conn__submit) is always that read, so the connection's
 * rule of one job per op holds.  A C-CANCEL drops the instance read
 * ahead: it was never a sub-operation, and the counts only ever count
 * sub-operations (PS3.4 C.4.3.1.4: remaining = not yet started).
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
/* A slot's buffer is kept for the next instance up to this size. */
#define GET_KEEP_BUFFER ((size_t)64 << 20)

/* One instance's data set, produced on a worker. */
typedef struct get_slot {
	pacs_buf data;
	size_t item;                       /* index in r.items */
	const pacs_assoc_pctx *pctx;       /* the context it goes on */
	int rc;                            /* of write_instance */
	char msg[256];
} get_slot;

enum get_pre_state { GET_PRE_NONE, GET_PRE_READING, GET_PRE_READY };

typedef struct get_op {
	pacs_retr r;                       /* first: pacs_retr shared code */
	get_slot slots[2];
	get_slot *cur;                     /* of the current sub-operation */
	get_slot *pre;                     /* read by the job, or ready */
	enum get_pre_state pre_state;
	pacs_retr_reader *reader;          /* reads further ahead, other cores */
	size_t off;                        /* of cur's data set, sent so far */
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
	for (size_t i = 0; i < 2; i++)
		pacs_buf_init(&g->slots[i].data, GET_MAX_INSTANCE);
	g->cur = &g->slots[0];
	g->pre = &g->slots[1];
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

/* Empties a slot, keeping its memory for the next instance unless large. */
static void get_slot_clear(get_slot *s)
{
	if (pacs_buf_len(&s->data) > GET_KEEP_BUFFER)
		pacs_buf_free(&s->data);
	else
		pacs_buf_reset(&s->data);
	s->rc = 0;
	s->msg[0] = '\0';
}

/* Worker thread: the data set of the instance of g->pre (the loop does not
 * touch that slot while the job runs). */
static int get_read_work(pacs_op *op)
{
	get_op *g = get_of(op);
	get_slot *s = g->pre;
	const pacs_query *q = op->conn->srv->opts.query;

	if (g->reader != NULL)
		return s->rc = pacs_svc__reader_take(g->reader, s->item, &g->r.items[s->item], s->pctx->transfer_syntax,
						     &s->data, s->msg, sizeof(s->msg));
	pacs_buf_reset(&s->data);
	s->rc = q->ops->write_instance(q->ctx, &g->r.items[s->item], s->pctx->transfer_syntax, get_sink, &s->data);
	s->msg[0] = '\0';
	if (s->rc < 0)
		snprintf(s->msg, sizeof(s->msg), "%s", arca_error_last());
	return s->rc;
}

static void get_read_done(pacs_op *op, int result)
{
	get_op *g = get_of(op);

	(void)result; /* kept in the slot */
	g->pre_state = GET_PRE_READY;
	if (!pacs_conn__alive(op->conn)) {
		op->waiting = false;
		op->answered = true;
		return;
	}
	/* while instance i is going out or awaited, i+1 just waits its
	 * turn (op->waiting is set); otherwise the loop was waiting for it */
	if (g->sending || g->awaiting)
		return;
	op->waiting = false;
	get_next(op);
}

/* The association is gone: nothing more to send.  The op is finished only
 * once no read is running (the connection frees an answered op). */
static void get_abandon(pacs_op *op)
{
	if (get_of(op)->pre_state == GET_PRE_READING)
		op->waiting = true; /* the read's done comes back here */
	else
		op->answered = true;
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

/* Starts reading instance `item` into g->pre on the worker pool; false
 * when it could not be submitted (the caller decides). */
static bool get_read_start(pacs_op *op, size_t item, const pacs_assoc_pctx *pc)
{
	get_op *g = get_of(op);

	g->pre->item = item;
	g->pre->pctx = pc;
	if (pacs_conn__submit(op, get_read_work, get_read_done) < 0)
		return false;
	g->pre_state = GET_PRE_READING;
	/* and the one after it on another worker */
	if (g->reader != NULL && item + 1 < g->r.n_items && !op->cancel_requested) {
		const pacs_assoc_pctx *next = get_pick(op->conn, &g->r.items[item + 1]);
		if (next != NULL)
			(void)pacs_svc__reader_request(g->reader, item + 1, &g->r.items[item + 1], next->transfer_syntax);
	}
	return true;
}

/* While the current instance goes out: read the next one ahead, when it
 * has a context, is not too large, and no cancel came. */
static void get_read_ahead(pacs_op *op)
{
	get_op *g = get_of(op);
	size_t k = g->r.next_item + 1;
	const pacs_assoc_pctx *pc;

	if (g->pre_state != GET_PRE_NONE || op->running || op->cancel_requested || k >= g->r.n_items ||
	    g->r.items[k].size > PACS_RETR_READ_AHEAD_MAX)
		return;
	pc = get_pick(op->conn, &g->r.items[k]);
	if (pc != NULL)
		(void)get_read_start(op, k, pc); /* else it fails at its turn */
}

/* Loop thread: feeds cur's data set to the write queue while it has room. */
static void get_send(pacs_op *op)
{
	get_op *g = get_of(op);
	size_t len = pacs_buf_len(&g->cur->data);
	const uint8_t *d = pacs_buf_data(&g->cur->data);

	do {
		size_t n = len - g->off < GET_SEND_PIECE ? len - g->off : GET_SEND_PIECE;
		if (!pacs_conn__alive(op->conn)) {
			get_abandon(op);
			return;
		}
		if (!pacs_conn__has_room(op->conn)) {
			op->waiting = true;
			return;
		}
		if (pacs_conn__send_data(op, g->cur->pctx->id, d + g->off, n, g->off + n == len) < 0) {
			get_abandon(op);
			return;
		}
		g->off += n;
	} while (g->off < len);
	g->sending = false;
	g->awaiting = true;
	op->waiting = true;
	get_slot_clear(g->cur);
}

/* Loop thread: the C-STORE-RQ of cur's instance, then its data set. */
static void get_send_start(pacs_op *op)
{
	get_op *g = get_of(op);
	const pacs_query_item *it = &g->r.items[g->r.next_item];
	pacs_dimse_cmd rq;
	int rc;

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
		get_slot_clear(g->cur);
		get_sub_failed(op, arca_error_last());
		get_next(op);
		return;
	}
	if (pacs_conn__send_request(op, g->cur->pctx->id, &rq) < 0) {
		get_abandon(op);
		return;
	}
	g->off = 0;
	g->sending = true;
	get_read_ahead(op);
	get_send(op);
}

static void get_finish(pacs_op *op)
{
	get_op *g = get_of(op);

	for (size_t i = 0; i < 2; i++)
		pacs_buf_free(&g->slots[i].data);
	pacs_svc__reader_release(g->reader); /* what it read ahead is dropped */
	g->reader = NULL;
	pacs_svc__retr_final(op, &g->r, g->cancelled, NULL);
}

/* Loop thread: the next sub-operation, or the final response. */
static void get_next(pacs_op *op)
{
	get_op *g = get_of(op);

	for (;;) {
		const pacs_query_item *it;
		const pacs_assoc_pctx *pc;
		char why[200];

		if (!pacs_conn__alive(op->conn)) {
			get_abandon(op);
			return;
		}
		if (g->pre_state == GET_PRE_READING) {
			/* the read of this instance (or, after a cancel, of one
			 * that will be dropped) comes back to get_read_done */
			op->waiting = true;
			return;
		}
		if (op->cancel_requested && g->r.next_item < g->r.n_items) {
			/* PS3.4 C.4.3.3.3 (C-CANCEL): no further sub-operation;
			 * the instance read ahead is dropped, never counted */
			g->pre_state = GET_PRE_NONE;
			g->cancelled = true;
			get_finish(op);
			return;
		}
		if (g->r.next_item >= g->r.n_items) {
			get_finish(op);
			return;
		}
		if (g->pre_state == GET_PRE_READY && g->pre->item == g->r.next_item) {
			get_slot *s = g->pre;
			g->pre = g->cur;
			g->cur = s;
			g->pre_state = GET_PRE_NONE;
			if (s->rc < 0) {
				snprintf(why, sizeof(why), "%s", s->msg);
				get_slot_clear(s);
				get_sub_failed(op, why);
				continue;
			}
			get_send_start(op);
			return;
		}
		g->pre_state = GET_PRE_NONE; /* a stale read ahead, if any */
		it = &g->r.items[g->r.next_item];
		pc = get_pick(op->conn, it);
		if (pc == NULL) {
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
		if (!get_read_start(op, g->r.next_item, pc)) {
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
	if (g->r.n_items > 1 && pacs_svc__reader_new(&g->reader, op->conn->srv->workq, op->conn->srv->opts.query) < 0)
		g->reader = NULL; /* no read-ahead on other workers: slower, not wrong */
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
	/* the read ahead, if running, still holds the op (waiting is
	 * recomputed by get_next) */
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
	pacs_svc__reader_release(g->reader);
	pacs_svc__retr_release(&g->r);
	for (size_t i = 0; i < 2; i++)
		pacs_buf_free(&g->slots[i].data);
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
