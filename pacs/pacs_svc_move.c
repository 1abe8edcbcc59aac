/* pacs_svc_move.c - the Query/Retrieve Service Class, C-MOVE as SCP (PS3.4
 * C.4.2) for the Patient Root and Study Root models at every level.
 *
 * The Move Destination (PS3.7 9.3.4.1) must be a configured peer
 * (design.md 4: instances only leave towards [peer NAME] entries); any
 * other AE title is refused 0xA801 before anything is read.
 *
 * The instances are listed on the worker pool (pacs_svc_retrieve.c), then
 * the C-STORE sub-operations go over a separate association to the
 * destination, opened with arca's own blocking SCU (pacs_scu.h) inside
 * worker jobs, one job per instance, so the loop never waits on the
 * destination.  The association proposes, for each stored (SOP class,
 * transfer syntax), a context with the stored syntax first and Explicit
 * and Implicit VR Little Endian as fallbacks; an instance goes in its
 * stored syntax when accepted, else converted (write_instance:
 * pacs_write between native syntaxes, pacs_transcode decoding compressed
 * pixel data), else its sub-operation fails.
 * Each C-STORE carries Move Originator AE Title and Message ID (PS3.7
 * 9.3.1.1).  If the destination refuses, aborts or vanishes, the next
 * instance tries a new association; when that fails too, the instance
 * fails: the counts say what happened.
 *
 * Read-ahead (issue 6): before the job of instance i starts, the loop asks
 * the reader (pacs_svc_retrieve_read.c) for i+1 and i+2 in the syntax the
 * destination accepted, produced by other workers while the job sends i
 * from memory and waits for its C-STORE-RSP; the job of i+1 then takes
 * it ready.  At most the current instance and PACS_RETR_READ_AHEAD more
 * are in memory; one larger than PACS_RETR_READ_AHEAD_MAX is streamed
 * from storage straight into the PDUs (pacs_scu_store), never read ahead.
 * An instance read ahead but not sent (C-CANCEL, the end of the
 * association) is dropped and never counted: the counts only count
 * sub-operations (PS3.4 C.4.2.1.5).
 *
 * A pending C-MOVE-RSP (0xFF00) with the counts follows every
 * sub-operation; the final response comes only once every sub-operation
 * is done and the association to the destination is released (issue 6:
 * not before, as some archives do).  C-CANCEL is honoured between
 * instances: 0xFE00 with the counts.
 *
 * Statuses (PS3.4 C.4.2.1.5, Table C.4-2): 0x0000, 0xB000 (some failed or
 * warned; Failed SOP Instance UID List), 0xA702 (all failed), 0xFE00,
 * 0xA801 (destination unknown), 0xA701 (more than 65535 instances),
 * 0xA900 and 0xC000 (identifier). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_buf.h"
#include "pacs_conn_priv.h"
#include "pacs_scu.h"
#include "pacs_scu_priv.h"
#include "pacs_svc_retrieve.h"
#include "pacs_ts.h"

#define TS_EXPLICIT_LE "1.2.840.10008.1.2.1"
#define TS_IMPLICIT_LE "1.2.840.10008.1.2"

/* The held data set's buffer is kept for the next instance up to this
 * size. */
#define MOVE_KEEP_BUFFER ((size_t)64 << 20)

typedef struct move_op {
	pacs_retr r;                  /* first: pacs_retr shared code */
	const pacs_server_peer *dest;
	char dest_ae[PACS_DIMSE_AE_MAX + 1];
	char our_ae[PACS_PDU_AE_MAX + 1];
	pacs_scu *scu;                /* used by one job at a time */
	bool connect_failed;          /* the last attempt to associate failed */
	uint16_t sub_status;          /* the last sub-operation's status */
	char sub_msg[256];
	/* the proposal: (SOP class, stored syntax) pairs */
	pacs_scu_pctx pctx[PACS_PDU_MAX_PCTX];
	const char *pctx_ts[PACS_PDU_MAX_PCTX][3];
	size_t n_pctx;
	pacs_buf held;                /* the current instance's data set (jobs only) */
	pacs_retr_reader *reader;     /* the next ones, on other workers */
} move_op;

static move_op *move_of(pacs_op *op)
{
	return op->svc_data;
}

static int move_start(pacs_op *op)
{
	move_op *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a C-MOVE");
	op->svc_data = m;
	m->r.is_move = true;
	pacs_buf_init(&m->held, (size_t)PACS_RETR_READ_AHEAD_MAX + 1);
	snprintf(m->our_ae, sizeof(m->our_ae), "%s", op->conn->srv->ae_title);
	return pacs_svc__retr_start(op, &m->r);
}

static int move_data(pacs_op *op, const uint8_t *bytes, size_t len, bool last)
{
	return pacs_svc__retr_data(op, &move_of(op)->r, bytes, len, last);
}

/* One context per stored (SOP class, transfer syntax), in list order;
 * beyond PACS_PDU_MAX_PCTX pairs the rest have no context (they fail). */
static void move_build_proposal(move_op *m)
{
	for (size_t i = 0; i < m->r.n_items; i++) {
		const pacs_query_item *it = &m->r.items[i];
		bool seen = false;
		size_t n = 0;

		for (size_t k = 0; k < m->n_pctx && !seen; k++)
			seen = strcmp(m->pctx[k].abstract_syntax, it->sop_class_uid) == 0 &&
			       strcmp(m->pctx_ts[k][0], it->transfer_syntax) == 0;
		if (seen || m->n_pctx == PACS_PDU_MAX_PCTX)
			continue;
		m->pctx_ts[m->n_pctx][n++] = it->transfer_syntax;
		/* the fallbacks: the writer converts native syntaxes,
		 * pacs_transcode decodes compressed pixel data */
		if (strcmp(it->transfer_syntax, TS_EXPLICIT_LE) != 0)
			m->pctx_ts[m->n_pctx][n++] = TS_EXPLICIT_LE;
		if (strcmp(it->transfer_syntax, TS_IMPLICIT_LE) != 0)
			m->pctx_ts[m->n_pctx][n++] = TS_IMPLICIT_LE;
		m->pctx[m->n_pctx].abstract_syntax = it->sop_class_uid;
		m->pctx[m->n_pctx].transfer_syntaxes = m->pctx_ts[m->n_pctx];
		m->pctx[m->n_pctx].n_transfer_syntaxes = n;
		m->n_pctx++;
	}
}

/* Worker thread: an association with the destination. */
static int move_connect(move_op *m)
{
	pacs_scu_opts so;
	int rc;

	pacs_scu_free(m->scu);
	m->scu = NULL;
	pacs_scu_opts_init(&so);
	so.host = m->dest->host;
	so.port = m->dest->port;
	so.calling_ae = m->our_ae;
	so.called_ae = m->dest->ae;
	so.pctx = m->pctx;
	so.n_pctx = m->n_pctx;
	rc = pacs_scu_new(&m->scu, &so);
	if (rc == 0)
		rc = pacs_scu_associate(m->scu);
	m->connect_failed = rc < 0;
	return rc;
}

typedef struct move_write {
	const pacs_query *q;
	const pacs_query_item *item;
	const char *ts;
} move_write;

static int move_write_ds(void *ctx, pacs_sink_fn sink, void *sink_ctx)
{
	move_write *w = ctx;

	return w->q->ops->write_instance(w->q->ctx, w->item, w->ts, sink, sink_ctx);
}

/* The destination's accepted context for item, preferring the stored
 * syntax (pacs_svc__retr_ts_rank); NULL when none. */
static const pacs_scu_ctx_info *move_pick(const move_op *m, const pacs_query_item *it)
{
	const pacs_scu_ctx_info *ci = NULL;

	for (size_t i = 0, best = 0; i < pacs_scu_ctx_count(m->scu); i++) {
		const pacs_scu_ctx_info *c = pacs_scu_ctx_at(m->scu, i);
		size_t rank;
		if (c->result != PACS_PDU_PCTX_ACCEPTANCE || c->transfer_syntax == NULL ||
		    strcmp(c->abstract_syntax, it->sop_class_uid) != 0)
			continue;
		rank = (size_t)pacs_svc__retr_ts_rank(it->transfer_syntax, c->transfer_syntax);
		if (rank > best) {
			ci = c;
			best = rank;
		}
	}
	return ci;
}

/* Worker thread: item's data set in ts into b (no reader). */
static int w_read(pacs_op *op, const pacs_query_item *it, const char *ts, pacs_buf *b, char *msg, size_t msg_size)
{
	const pacs_query *q = op->conn->srv->opts.query;
	int rc = q->ops->write_instance(q->ctx, it, ts, pacs_buf_sink, b);

	if (rc < 0)
		snprintf(msg, msg_size, "%s", arca_error_last());
	return rc;
}

/* Worker thread: the C-STORE-RQ and the data set held in m->held,
 * fragmented within the destination's maximum PDU (PS3.8 D.1), each
 * fragment sent from the buffer (no copy); then the C-STORE-RSP is awaited
 * (PS3.7 9.3.1) while other workers read the next instances. */
static int move_send_held(pacs_op *op, const pacs_query_item *it, const pacs_scu_ctx_info *ci, pacs_dimse_cmd *rsp)
{
	move_op *m = move_of(op);
	const uint8_t *d = pacs_buf_data(&m->held);
	size_t len = pacs_buf_len(&m->held), frag = pacs_scu__fragment_max(m->scu), off = 0;
	pacs_dimse_cmd cmd;
	int rc;

	/* PS3.7 9.3.1.1, Table 9.3-1; Move Originator AE Title and Message
	 * ID: who asked for this sub-operation */
	pacs_dimse_cmd_init(&cmd, PACS_DIMSE_C_STORE_RQ);
	rc = pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_CLASS, it->sop_class_uid);
	if (rc == 0)
		rc = pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, it->sop_instance_uid);
	if (rc == 0)
		rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_PRIORITY, op->rq.priority);
	if (rc == 0 && op->conn->calling_ae[0] != '\0') {
		rc = pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_MOVE_ORIGINATOR_AE, op->conn->calling_ae);
		if (rc == 0)
			rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MOVE_ORIGINATOR_ID, op->rq.message_id);
	}
	if (rc == 0)
		rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MESSAGE_ID, pacs_scu__message_id(m->scu));
	if (rc < 0) {
		snprintf(m->sub_msg, sizeof(m->sub_msg), "C-STORE-RQ of %s: %s", it->sop_instance_uid,
			 arca_error_last());
		return rc;
	}
	cmd.has_data_set = true;
	rc = pacs_scu__send_command(m->scu, ci->id, &cmd);
	do {
		size_t n = len - off < frag ? len - off : frag;
		if (rc == 0)
			rc = pacs_scu__send_data(m->scu, ci->id, d + off, n, off + n == len);
		off += n;
	} while (rc == 0 && off < len);
	if (rc < 0) {
		snprintf(m->sub_msg, sizeof(m->sub_msg), "C-STORE to %s: %s", m->dest->ae, arca_error_last());
		return rc;
	}
	if ((rc = pacs_scu__wait_response(m->scu, rsp)) < 0)
		snprintf(m->sub_msg, sizeof(m->sub_msg), "C-STORE to %s: %s", m->dest->ae, arca_error_last());
	return rc;
}

/* Worker thread: the C-STORE sub-operation of the current instance. */
static int move_store_work(pacs_op *op)
{
	move_op *m = move_of(op);
	const pacs_query_item *it = &m->r.items[m->r.next_item];
	const pacs_scu_ctx_info *ci;
	pacs_scu_store_rq rq;
	pacs_dimse_cmd rsp;
	move_write w;
	int rc;

	m->sub_status = PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS;
	m->sub_msg[0] = '\0';
	/* a new association when the last one ended (the destination
	 * aborted or vanished); once one attempt failed, the rest of the
	 * instances fail without hammering the destination */
	if ((m->scu == NULL || !pacs_scu_established(m->scu)) && !m->connect_failed &&
	    (rc = move_connect(m)) < 0) {
		snprintf(m->sub_msg, sizeof(m->sub_msg), "association with %s: %s", m->dest->ae, arca_error_last());
		return rc;
	}
	if (m->scu == NULL || !pacs_scu_established(m->scu)) {
		snprintf(m->sub_msg, sizeof(m->sub_msg), "no association with %s", m->dest->ae);
		return ARCA_EIO;
	}
	ci = move_pick(m, it);
	if (ci == NULL) {
		snprintf(m->sub_msg, sizeof(m->sub_msg), "%s accepted no context for %s in %s or a syntax it converts to",
			 m->dest->ae, it->sop_class_uid, it->transfer_syntax);
		return ARCA_EUNSUPPORTED;
	}
	if (it->size <= PACS_RETR_READ_AHEAD_MAX) {
		/* read ahead by another worker in the syntax this association
		 * takes it in, else read now */
		if (m->reader != NULL) {
			rc = pacs_svc__reader_take(m->reader, m->r.next_item, it, ci->transfer_syntax, &m->held, m->sub_msg,
						   sizeof(m->sub_msg));
		} else {
			pacs_buf_reset(&m->held);
			rc = w_read(op, it, ci->transfer_syntax, &m->held, m->sub_msg, sizeof(m->sub_msg));
		}
		if (pacs_buf_len(&m->held) > MOVE_KEEP_BUFFER)
			pacs_buf_free(&m->held);
		if (rc < 0)
			return rc;
		rc = move_send_held(op, it, ci, &rsp);
		pacs_buf_reset(&m->held);
		if (rc < 0)
			return rc;
		m->sub_status = rsp.status;
		if (rsp.error_comment[0] != '\0')
			snprintf(m->sub_msg, sizeof(m->sub_msg), "%s", rsp.error_comment);
		return 0;
	}
	/* a large instance: streamed, never held whole */
	w.q = op->conn->srv->opts.query;
	w.item = it;
	w.ts = ci->transfer_syntax;
	memset(&rq, 0, sizeof(rq));
	rq.sop_class_uid = it->sop_class_uid;
	rq.sop_instance_uid = it->sop_instance_uid;
	rq.transfer_syntax = ci->transfer_syntax;
	rq.priority = op->rq.priority;
	/* PS3.7 9.3.1.1: who asked for this sub-operation */
	rq.move_originator_ae = op->conn->calling_ae[0] != '\0' ? op->conn->calling_ae : NULL;
	rq.move_originator_id = op->rq.message_id;
	rq.write = move_write_ds;
	rq.write_ctx = &w;
	rc = pacs_scu_store(m->scu, &rq, &rsp);
	if (rc < 0) {
		snprintf(m->sub_msg, sizeof(m->sub_msg), "C-STORE to %s: %s", m->dest->ae, arca_error_last());
		return rc;
	}
	m->sub_status = rsp.status;
	if (rsp.error_comment[0] != '\0')
		snprintf(m->sub_msg, sizeof(m->sub_msg), "%s", rsp.error_comment);
	return 0;
}

/* Worker thread: the end of the association with the destination. */
static int move_release_work(pacs_op *op)
{
	move_op *m = move_of(op);

	if (m->scu != NULL && pacs_scu_established(m->scu))
		(void)pacs_scu_release(m->scu);
	pacs_scu_free(m->scu);
	m->scu = NULL;
	pacs_buf_free(&m->held);
	return 0;
}

static void move_release_done(pacs_op *op, int result)
{
	move_op *m = move_of(op);

	(void)result;
	if (!pacs_conn__alive(op->conn)) {
		op->answered = true;
		return;
	}
	pacs_svc__retr_final(op, &m->r, op->cancel_requested && m->r.next_item < m->r.n_items, m->dest_ae);
}

/* Loop thread: no more sub-operations; release, then the final response. */
static void move_finish(pacs_op *op)
{
	move_op *m = move_of(op);

	/* what was read ahead (C-CANCEL) is dropped, never sent */
	pacs_svc__reader_release(m->reader);
	m->reader = NULL;

	if (m->scu != NULL && pacs_conn__submit(op, move_release_work, move_release_done) == 0)
		return;
	move_release_done(op, 0);
}

static void move_store_done(pacs_op *op, int result);

static void move_next(pacs_op *op)
{
	move_op *m = move_of(op);

	if (!pacs_conn__alive(op->conn)) {
		/* the requestor is gone: nothing to answer; the destination's
		 * association is aborted by release */
		op->answered = true;
		return;
	}
	if (m->r.next_item >= m->r.n_items || op->cancel_requested) {
		move_finish(op);
		return;
	}
	if (!pacs_conn__has_room(op->conn)) {
		op->waiting = true;
		return;
	}
	/* the next instances, read by other workers while this job sends
	 * (no job runs now: the association is the loop's to look at) */
	if (m->reader != NULL && m->scu != NULL && pacs_scu_established(m->scu)) {
		for (size_t k = m->r.next_item + 1; k < m->r.n_items && k <= m->r.next_item + PACS_RETR_READ_AHEAD; k++) {
			const pacs_scu_ctx_info *ci = move_pick(m, &m->r.items[k]);
			if (ci != NULL)
				(void)pacs_svc__reader_request(m->reader, k, &m->r.items[k], ci->transfer_syntax);
		}
	}
	if (pacs_conn__submit(op, move_store_work, move_store_done) < 0) {
		snprintf(m->sub_msg, sizeof(m->sub_msg), "server busy: %s", arca_error_last());
		move_store_done(op, ARCA_ELIMIT);
	}
}

static void move_store_done(pacs_op *op, int result)
{
	move_op *m = move_of(op);
	const pacs_query_item *it = &m->r.items[m->r.next_item];
	uint16_t st = result < 0 ? PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS : m->sub_status;

	if (pacs_dimse_status_category(st) == PACS_DIMSE_STATUS_FAILURE)
		pacs_conn__log(op->conn, PACS_SERVER_LOG_WARNING, "C-MOVE message %u: %s to %s failed 0x%04X: %s",
			       op->rq.message_id, it->sop_instance_uid, m->dest_ae, st, m->sub_msg);
	pacs_svc__retr_count(&m->r, st);
	if (pacs_conn__alive(op->conn) && m->r.next_item < m->r.n_items && !op->cancel_requested)
		(void)pacs_svc__retr_pending(op, &m->r);
	move_next(op);
}

static void move_list_done(pacs_op *op, int result)
{
	move_op *m = move_of(op);

	if (!pacs_conn__alive(op->conn)) {
		op->answered = true;
		return;
	}
	if (result < 0) {
		uint16_t st = m->r.job_rc == ARCA_EINVAL || m->r.job_rc == ARCA_EPROTO
				      ? PACS_DIMSE_CANNOT_UNDERSTAND
				      : PACS_DIMSE_OUT_OF_RESOURCES_MATCHES;
		pacs_svc__retr_refuse(op, &m->r, st, m->r.job_msg, m->dest_ae);
		return;
	}
	pacs_conn__log(op->conn, PACS_SERVER_LOG_DEBUG, "C-MOVE message %u: %zu instances selected for %s (%s:%u)",
		       op->rq.message_id, m->r.n_items, m->dest_ae, m->dest->host, m->dest->port);
	move_build_proposal(m);
	if (m->r.n_items > 1 && pacs_svc__reader_new(&m->reader, op->conn->srv->workq, op->conn->srv->opts.query) < 0)
		m->reader = NULL; /* no read-ahead: slower, not wrong */
	move_next(op);
}

static int move_list_work(pacs_op *op)
{
	return pacs_svc__retr_list(op, &move_of(op)->r);
}

static void move_run(pacs_op *op)
{
	move_op *m = move_of(op);
	const pacs_server_opts *o = &op->conn->srv->opts;
	const pacs_query *q = o->query;

	snprintf(m->dest_ae, sizeof(m->dest_ae), "%s", op->rq.move_destination);
	if (!m->r.qr.failed && (q->ops->list_open == NULL || q->ops->write_instance == NULL))
		pacs_svc__retr_fail(&m->r, PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS,
				    "this archive's storage cannot read instances back");
	if (!m->r.qr.failed) {
		for (size_t i = 0; i < o->n_peers && m->dest == NULL; i++)
			if (strcmp(o->peers[i].ae, m->dest_ae) == 0)
				m->dest = &o->peers[i];
		/* design.md 4: only to configured peers */
		if (m->dest == NULL)
			pacs_svc__retr_fail(&m->r, PACS_DIMSE_MOVE_DESTINATION_UNKNOWN,
					    "move destination \"%s\" is not a configured [peer]", m->dest_ae);
	}
	if (!m->r.qr.failed && pacs_svc__retr_check(op, &m->r)) {
		op->streaming = true;
		if (pacs_conn__submit(op, move_list_work, move_list_done) == 0)
			return;
		pacs_svc__retr_fail(&m->r, PACS_DIMSE_OUT_OF_RESOURCES_MATCHES, "server busy: %s", arca_error_last());
	}
	pacs_svc__retr_refuse(op, &m->r, m->r.qr.status, m->r.qr.comment, m->dest_ae);
}

static void move_resume(pacs_op *op)
{
	move_next(op);
}

static void move_release(pacs_op *op)
{
	move_op *m = move_of(op);

	if (m == NULL)
		return;
	pacs_scu_free(m->scu);
	pacs_svc__reader_release(m->reader);
	pacs_buf_free(&m->held);
	pacs_svc__retr_release(&m->r);
	free(m);
	op->svc_data = NULL;
}

const pacs_svc pacs_svc__move = {
	.name = "C-MOVE",
	.start = move_start,
	.data = move_data,
	.run = move_run,
	.release = move_release,
	.resume = move_resume,
};
