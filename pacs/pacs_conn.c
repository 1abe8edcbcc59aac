/* pacs_conn.c - one association on the server's libev loop.
 *
 * The connection owns a non-blocking socket, a bounded write queue, the
 * Upper Layer state machine (pacs_ul.h, PS3.8 9.2) fed with whatever read()
 * returns, the ARTIM and idle timers, the negotiated association and the
 * DIMSE assembler, whose messages become queued requests (pacs_svc.h).
 *
 * Control flow, as in sniproxy: every entry point (socket readable or
 * writable, a timer, a worker job's done, a server shutdown) does its work
 * and then calls conn_settle(), the one function that flushes the write
 * queue, turns transport events into Evt17, closes the socket when the
 * machine asked for it, frees the connection once nothing refers to it,
 * and otherwise recomputes the EV_READ/EV_WRITE interest from the buffer
 * state.  Nothing is freed anywhere else, so no callback ever runs on a
 * freed connection.
 *
 * Back-pressure: reading from the peer stops while the write queue holds
 * more than PACS_SERVER_WQ_HIGH bytes (the peer does not read our
 * responses) and while as many complete requests wait for their answer as
 * the asynchronous operations window allows (PS3.7 D.3.3.3; 1 by default,
 * so a C-STORE's commit runs before the next request is read). */
#include "pacs_conn_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_sop.h"

/* Upper bound of requests read ahead when the peer negotiated an unlimited
 * window (0). */
#define CONN_MAX_WINDOW 16u
/* A write queue larger than this is released when it empties. */
#define CONN_WQ_KEEP (64u * 1024u)

static void conn_settle(pacs_conn *c);
static void conn_check_ul(pacs_conn *c, int rc);

/* Complete requests that count against the window: a streaming request
 * being answered does not, so that its C-CANCEL can still be read. */
static unsigned conn_ops_blocking(const pacs_conn *c)
{
	unsigned n = c->ops_complete;

	if (n > 0 && c->ops_head != NULL && c->ops_head->streaming && c->ops_head->received &&
	    !c->ops_head->answered)
		n--;
	return n;
}

/* ------------------------------------------------------------ logging */

void pacs_conn__log(pacs_conn *c, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (c->srv->opts.log == NULL || level > (int)c->srv->opts.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pacs_server__log(c->srv, level, "assoc %llu %s: %s", (unsigned long long)c->id, c->peer, line);
}

/* The first abnormal end is the one the log line reports. */
static void conn_outcome(pacs_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conn_outcome(pacs_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->outcome[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->outcome, sizeof(c->outcome), fmt, ap);
	va_end(ap);
}

bool pacs_conn__alive(const pacs_conn *c)
{
	enum pacs_ul_state st;

	if (c->ended || c->close_requested)
		return false;
	st = pacs_ul_state(c->ul);
	return st == PACS_UL_STA6 || st == PACS_UL_STA8;
}

void pacs_conn__count_store(pacs_conn *c, uint16_t status)
{
	enum pacs_dimse_status_category cat = pacs_dimse_status_category(status);

	if (cat == PACS_DIMSE_STATUS_SUCCESS || cat == PACS_DIMSE_STATUS_WARNING) {
		c->instances++;
		c->srv->stats.instances++;
	} else {
		c->store_failures++;
		c->srv->stats.store_failures++;
	}
}

/* ------------------------------------------------------------ write queue */

static size_t wq_pending(const pacs_conn *c)
{
	return c->wq_len - c->wq_off;
}

static int wq_reserve(pacs_conn *c, size_t n)
{
	size_t pending = wq_pending(c), cap;
	uint8_t *p;

	if (n > PACS_SERVER_WQ_MAX - pending)
		return arca_error_set(ARCA_ELIMIT,
				      "write queue to %s above %u bytes: the peer does not read its responses",
				      c->peer, PACS_SERVER_WQ_MAX);
	if (c->wq_off > 0 && c->wq_len + n > c->wq_cap) {
		memmove(c->wq, c->wq + c->wq_off, pending);
		c->wq_off = 0;
		c->wq_len = pending;
	}
	if (c->wq_len + n <= c->wq_cap)
		return 0;
	cap = c->wq_cap != 0 ? c->wq_cap : 4096;
	while (cap < c->wq_len + n)
		cap *= 2;
	if (cap > PACS_SERVER_WQ_MAX)
		cap = PACS_SERVER_WQ_MAX;
	p = realloc(c->wq, cap);
	if (p == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the write queue to %s", c->peer);
	c->wq = p;
	c->wq_cap = cap;
	return 0;
}

/* Writes what the queue holds.  0, or -1 when the peer is gone. */
static int wq_flush(pacs_conn *c)
{
	while (wq_pending(c) > 0) {
		ssize_t n = send(c->fd, c->wq + c->wq_off, wq_pending(c), MSG_NOSIGNAL);
		if (n > 0) {
			c->wq_off += (size_t)n;
			c->bytes_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		conn_outcome(c, "aborted: writing to the peer failed (%s)", strerror(errno));
		return -1;
	}
	c->wq_off = c->wq_len = 0;
	if (c->wq_cap > CONN_WQ_KEEP) {
		free(c->wq);
		c->wq = NULL;
		c->wq_cap = 0;
	}
	return 0;
}

/* ------------------------------------------------------------ ops */

static void op_free(pacs_op *op)
{
	if (op->svc != NULL && op->svc->release != NULL)
		op->svc->release(op);
	free(op);
}

static void ops_unlink(pacs_conn *c, pacs_op *op)
{
	pacs_op **pp = &c->ops_head, *prev = NULL;

	while (*pp != NULL && *pp != op) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp == NULL)
		return;
	*pp = op->next;
	if (c->ops_tail == op)
		c->ops_tail = prev;
	if (c->receiving == op)
		c->receiving = NULL;
	if (op->received && c->ops_complete > 0)
		c->ops_complete--;
	op->next = NULL;
}

/* The association is gone: every request not on a worker is abandoned
 * (its ingest aborted); those on a worker stay until their done. */
static void conn_cancel_ops(pacs_conn *c)
{
	pacs_op *op = c->ops_head, *next;

	for (; op != NULL; op = next) {
		next = op->next;
		if (op->running)
			continue;
		ops_unlink(c, op);
		op_free(op);
	}
	c->receiving = NULL;
	c->release_pending = false;
}

static pacs_op *op_new(pacs_conn *c, const pacs_svc *svc, const pacs_dimse_cmd *cmd, uint8_t pc_id)
{
	pacs_op *op = calloc(1, sizeof(*op));

	if (op == NULL) {
		arca_error_set(ARCA_ENOMEM, "no memory for a request");
		return NULL;
	}
	op->conn = c;
	op->svc = svc;
	op->rq = *cmd;
	op->pctx = pacs_assoc_pctx_find(c->assoc, pc_id);
	if (c->ops_tail != NULL)
		c->ops_tail->next = op;
	else
		c->ops_head = op;
	c->ops_tail = op;
	return op;
}

static void op_received(pacs_conn *c, pacs_op *op)
{
	op->received = true;
	c->ops_complete++;
	if (c->receiving == op)
		c->receiving = NULL;
}

/* Splits an encoded command set over PDVs within the peer's Maximum Length
 * Received (PS3.8 D.1: the PDU-length field holds the PDV item, 6 bytes of
 * header and the fragment) and hands them to the machine (Evt9). */
static int conn_send_command(pacs_conn *c, uint8_t pc_id, const uint8_t *cmd, size_t len)
{
	uint32_t peer_max = pacs_assoc_peer_max_pdu(c->assoc);
	size_t frag = len, off = 0;
	int rc;

	if (peer_max != 0 && peer_max < PACS_DIMSE_MIN_MAX_PDU)
		peer_max = PACS_DIMSE_MIN_MAX_PDU;
	if (peer_max != 0 && (size_t)peer_max - PACS_DIMSE_PDV_HEADER < frag)
		frag = (size_t)peer_max - PACS_DIMSE_PDV_HEADER;
	while (off < len) {
		size_t n = len - off < frag ? len - off : frag;
		pacs_pdv pdv = { .pctx_id = pc_id, .flags = PACS_PDV_COMMAND, .data = cmd + off, .len = n };
		if (off + n == len)
			pdv.flags |= PACS_PDV_LAST;
		rc = pacs_ul_send_pdata(c->ul, &pdv, 1);
		if (rc < 0)
			return rc;
		off += n;
	}
	return 0;
}

int pacs_conn__respond(pacs_op *op, uint16_t status, const char *comment)
{
	pacs_conn *c = op->conn;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	pacs_ingest_result cut;
	pacs_dimse_cmd rsp;
	size_t len = 0;
	int rc;

	op->answered = true;
	if (!pacs_conn__alive(c))
		return 0;
	rc = pacs_dimse_cmd_response(&rsp, &op->rq, status);
	/* PS3.7 C: an Error Comment goes with failure and warning statuses. */
	if (rc == 0 && comment != NULL && comment[0] != '\0' &&
	    pacs_dimse_status_category(status) != PACS_DIMSE_STATUS_SUCCESS) {
		pacs_ingest_set_comment(&cut, comment);
		if (cut.comment[0] != '\0')
			rc = pacs_dimse_cmd_set_str(&rsp, PACS_DIMSE_F_ERROR_COMMENT, cut.comment);
	}
	if (rc == 0)
		rc = pacs_dimse_cmd_encode(buf, sizeof(buf), &len, &rsp);
	if (rc == 0)
		rc = conn_send_command(c, op->pctx != NULL ? op->pctx->id : 1, buf, len);
	if (rc < 0) {
		pacs_conn__log(c, PACS_SERVER_LOG_ERROR, "cannot send %s: %s",
			       pacs_dimse_command_name(op->rq.command | PACS_DIMSE_RSP_BIT),
			       arca_error_last());
		conn_check_ul(c, rc);
		return rc;
	}
	pacs_conn__log(c, PACS_SERVER_LOG_DEBUG, "%s to message %u: status 0x%04X (%s)%s%s",
		       pacs_dimse_command_name(rsp.command), op->rq.message_id, status,
		       pacs_dimse_status_name(status), comment != NULL && comment[0] != '\0' ? ": " : "",
		       comment != NULL ? comment : "");
	return 0;
}

/* A data set as PDVs within the peer's Maximum Length Received, the last
 * one flagged (PS3.8 E.2). */
static int conn_send_data(pacs_conn *c, uint8_t pc_id, const uint8_t *data, size_t len)
{
	uint32_t peer_max = pacs_assoc_peer_max_pdu(c->assoc);
	size_t frag = PACS_DIMSE_FRAGMENT_CAP, off = 0;
	int rc;

	if (peer_max != 0 && peer_max < PACS_DIMSE_MIN_MAX_PDU)
		peer_max = PACS_DIMSE_MIN_MAX_PDU;
	if (peer_max != 0 && (size_t)peer_max - PACS_DIMSE_PDV_HEADER < frag)
		frag = (size_t)peer_max - PACS_DIMSE_PDV_HEADER;
	do {
		size_t n = len - off < frag ? len - off : frag;
		pacs_pdv pdv = { .pctx_id = pc_id, .flags = 0, .data = data + off, .len = n };
		if (off + n == len)
			pdv.flags |= PACS_PDV_LAST;
		rc = pacs_ul_send_pdata(c->ul, &pdv, 1);
		if (rc < 0)
			return rc;
		off += n;
	} while (off < len);
	return 0;
}

int pacs_conn__send_response(pacs_op *op, pacs_dimse_cmd *rsp, const uint8_t *data, size_t len, bool final)
{
	pacs_conn *c = op->conn;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	uint8_t pc_id = op->pctx != NULL ? op->pctx->id : 1;
	size_t clen = 0;
	int rc;

	if (final)
		op->answered = true;
	if (!pacs_conn__alive(c))
		return 0;
	rsp->has_data_set = data != NULL;
	rc = pacs_dimse_cmd_encode(buf, sizeof(buf), &clen, rsp);
	if (rc == 0)
		rc = conn_send_command(c, pc_id, buf, clen);
	if (rc == 0 && data != NULL)
		rc = conn_send_data(c, pc_id, data, len);
	if (rc < 0) {
		pacs_conn__log(c, PACS_SERVER_LOG_ERROR, "cannot send %s: %s", pacs_dimse_command_name(rsp->command),
			       arca_error_last());
		conn_check_ul(c, rc);
		return rc;
	}
	pacs_conn__log(c, PACS_SERVER_LOG_DEBUG, "%s to message %u: status 0x%04X (%s)%s",
		       pacs_dimse_command_name(rsp->command), op->rq.message_id, rsp->status,
		       pacs_dimse_status_name(rsp->status), data != NULL ? " with a data set" : "");
	return 0;
}

int pacs_conn__send_request(pacs_op *op, uint8_t pc_id, const pacs_dimse_cmd *rq)
{
	pacs_conn *c = op->conn;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	size_t len = 0;
	int rc;

	if (!pacs_conn__alive(c))
		return 0;
	rc = pacs_dimse_cmd_encode(buf, sizeof(buf), &len, rq);
	if (rc == 0)
		rc = conn_send_command(c, pc_id, buf, len);
	if (rc < 0) {
		pacs_conn__log(c, PACS_SERVER_LOG_ERROR, "cannot send %s: %s", pacs_dimse_command_name(rq->command),
			       arca_error_last());
		conn_check_ul(c, rc);
	}
	return rc;
}

int pacs_conn__send_data(pacs_op *op, uint8_t pc_id, const uint8_t *data, size_t len, bool last)
{
	pacs_conn *c = op->conn;
	uint32_t peer_max = pacs_assoc_peer_max_pdu(c->assoc);
	size_t frag = PACS_DIMSE_FRAGMENT_CAP, off = 0;
	int rc;

	if (!pacs_conn__alive(c))
		return 0;
	if (peer_max != 0 && peer_max < PACS_DIMSE_MIN_MAX_PDU)
		peer_max = PACS_DIMSE_MIN_MAX_PDU;
	if (peer_max != 0 && (size_t)peer_max - PACS_DIMSE_PDV_HEADER < frag)
		frag = (size_t)peer_max - PACS_DIMSE_PDV_HEADER;
	do {
		size_t n = len - off < frag ? len - off : frag;
		pacs_pdv pdv = { .pctx_id = pc_id, .flags = 0, .data = data + off, .len = n };
		if (last && off + n == len)
			pdv.flags |= PACS_PDV_LAST;
		rc = pacs_ul_send_pdata(c->ul, &pdv, 1);
		if (rc < 0) {
			conn_check_ul(c, rc);
			return rc;
		}
		off += n;
	} while (off < len);
	return 0;
}

bool pacs_conn__has_room(pacs_conn *c)
{
	bool room = wq_pending(c) < PACS_SERVER_WQ_HIGH;

	/* The service will set op->waiting: the write watcher must fire to
	 * resume it even when conn_settle's own flush empties the queue
	 * (then no write event would come, and a C-GET of an instance above
	 * PACS_SERVER_WQ_HIGH stalled for ever). */
	if (!room)
		c->room_wanted = true;
	return room;
}

/* The worker pool's halves of pacs_conn__submit(). */
typedef struct conn_job {
	pacs_op *op;
	int (*work)(pacs_op *op);
	void (*done)(pacs_op *op, int result);
} conn_job;

static int conn_job_work(void *arg)
{
	conn_job *j = arg;

	return j->work(j->op);
}

static void conn_pump(pacs_conn *c);

static void conn_job_done(void *arg, int result)
{
	conn_job *j = arg;
	pacs_op *op = j->op;
	void (*done)(pacs_op *op, int result) = j->done;
	pacs_conn *c = op->conn;

	free(j);
	c->jobs--;
	op->running = false;
	/* done answers, or drops the answer when the association is gone; a
	 * streaming service may instead submit its next job or wait */
	done(op, result);
	if (!op->running && !op->waiting)
		op->answered = true;
	if (c->ended && !op->running) {
		ops_unlink(c, op);
		op_free(op);
	} else {
		conn_pump(c);
	}
	conn_settle(c);
}

int pacs_conn__submit(pacs_op *op, int (*work)(pacs_op *op), void (*done)(pacs_op *op, int result))
{
	pacs_conn *c = op->conn;
	conn_job *j = calloc(1, sizeof(*j));
	int rc;

	if (j == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a worker job");
	j->op = op;
	j->work = work;
	j->done = done;
	rc = pacs_workq_submit(c->srv->workq, conn_job_work, conn_job_done, j);
	if (rc < 0) {
		free(j);
		return rc;
	}
	op->running = true;
	c->jobs++;
	return 0;
}

/* Answers, in order, every request that can be answered now; then a
 * pending A-RELEASE once nothing is left (PS3.8 Table 9-10 Sta8: P-DATA
 * may still be sent before the A-RELEASE response, AR-7). */
static void conn_pump(pacs_conn *c)
{
	pacs_op *op;

	while ((op = c->ops_head) != NULL) {
		if (op->answered) {
			ops_unlink(c, op);
			op_free(op);
			continue;
		}
		if (!op->received || op->running || op->waiting)
			break;
		op->svc->run(op);
		if (!op->answered && !op->running && !op->waiting) {
			/* a service must answer or submit; never leave the peer waiting */
			(void)pacs_conn__respond(op, PACS_DIMSE_PROCESSING_FAILURE, "internal error");
		}
	}
	if (c->ops_head == NULL && c->release_pending && pacs_ul_state(c->ul) == PACS_UL_STA8) {
		c->release_pending = false;
		if (pacs_ul_release_response(c->ul) == 0)
			c->released = true;
	}
}

/* Requests not performed here, and commands refused before a service saw
 * them: the data set, if any, is dropped; the answer carries the preset
 * status, else 0x0211 unrecognised operation (PS3.7 C.5.5). */
static void refuse_run(pacs_op *op)
{
	char why[PACS_DIMSE_COMMENT_MAX + 1];

	if (op->preset_status != 0) {
		(void)pacs_conn__respond(op, op->preset_status, op->preset_comment);
		return;
	}
	snprintf(why, sizeof(why), "%s is not performed by this server",
		 pacs_dimse_command_name(op->rq.command));
	pacs_conn__log(op->conn, PACS_SERVER_LOG_WARNING, "%s message %u answered 0x0211: %s",
		       pacs_dimse_command_name(op->rq.command), op->rq.message_id, why);
	(void)pacs_conn__respond(op, PACS_DIMSE_UNRECOGNIZED_OPERATION, why);
}

const pacs_svc pacs_svc__refuse = {
	.name = "refuse",
	.run = refuse_run,
};

/* ------------------------------------------------------------ aborts */

/* A-ABORT request (Evt15, AA-1: source service-user, PS3.8 9.3.8): the
 * DIMSE user aborts, e.g. on a PDV for a context that was not accepted
 * (PS3.7 6.3.1) or a message that cannot be followed. */
static void conn_abort(pacs_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conn_abort(pacs_conn *c, const char *fmt, ...)
{
	char why[PACS_CONN_OUTCOME_MAX];
	enum pacs_ul_state st = pacs_ul_state(c->ul);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	conn_outcome(c, "aborted by arca: %s", why);
	pacs_conn__log(c, PACS_SERVER_LOG_WARNING, "A-ABORT sent: %s", why);
	conn_cancel_ops(c);
	if (st == PACS_UL_STA1 || st == PACS_UL_STA2 || st == PACS_UL_STA13)
		c->close_requested = true; /* nothing to abort: just close */
	else if (pacs_ul_abort(c->ul) < 0)
		c->close_requested = true;
}

/* ------------------------------------------------------------ DIMSE */

/* PS3.7 9.3.2.3: a C-CANCEL-RQ names the request by its Message ID; one
 * that is already answered (or unknown) is ignored. */
static void conn_cancel_request(pacs_conn *c, const pacs_dimse_cmd *cmd)
{
	pacs_op *op;

	for (op = c->ops_head; op != NULL; op = op->next) {
		if (op->answered || op->rq.message_id != cmd->message_id_responded)
			continue;
		pacs_conn__log(c, PACS_SERVER_LOG_DEBUG, "C-CANCEL-RQ for %s message %u",
			       pacs_dimse_command_name(op->rq.command), op->rq.message_id);
		op->cancel_requested = true;
		if (op->waiting && op->svc->resume != NULL) {
			op->waiting = false;
			op->svc->resume(op);
			if (!op->running && !op->waiting)
				op->answered = true;
		}
		return;
	}
}

/* A response to a request one of our services sent (the C-STORE-RSP of a
 * C-GET sub-operation) goes to that service; true when one took it. */
static bool conn_route_response(pacs_conn *c, const pacs_dimse_cmd *cmd)
{
	for (pacs_op *op = c->ops_head; op != NULL; op = op->next) {
		if (op->answered || op->svc->response == NULL)
			continue;
		if (op->svc->response(op, cmd)) {
			if (!op->running && !op->waiting)
				op->answered = true;
			return true;
		}
	}
	return false;
}

static int asm_command(void *ctx, uint8_t pc_id, const pacs_dimse_cmd *cmd)
{
	pacs_conn *c = ctx;
	const pacs_svc *svc;
	pacs_op *op;

	c->requests++;
	pacs_conn__log(c, PACS_SERVER_LOG_DEBUG, "%s message %u on context %u%s",
		       pacs_dimse_command_name(cmd->command), cmd->message_id, pc_id,
		       cmd->has_data_set ? " with a data set" : "");
	switch (cmd->command) {
	case PACS_DIMSE_C_ECHO_RQ:
		svc = &pacs_svc__echo;
		break;
	case PACS_DIMSE_C_STORE_RQ:
		svc = &pacs_svc__store;
		break;
	case PACS_DIMSE_C_FIND_RQ:
		svc = c->srv->opts.query != NULL ? &pacs_svc__find : &pacs_svc__refuse;
		break;
	case PACS_DIMSE_C_GET_RQ:
		svc = c->srv->opts.query != NULL ? &pacs_svc__get : &pacs_svc__refuse;
		break;
	case PACS_DIMSE_C_MOVE_RQ:
		svc = c->srv->opts.query != NULL ? &pacs_svc__move : &pacs_svc__refuse;
		break;
	case PACS_DIMSE_C_CANCEL_RQ:
		/* PS3.7 9.3.2.3: C-CANCEL has no response */
		conn_cancel_request(c, cmd);
		return 0;
	default:
		if ((cmd->command & PACS_DIMSE_RSP_BIT) != 0 && conn_route_response(c, cmd))
			return 0;
		if ((cmd->command & PACS_DIMSE_RSP_BIT) != 0)
			return arca_error_set(ARCA_EPROTO, "%s received, but this SCP sent no request",
					      pacs_dimse_command_name(cmd->command));
		svc = &pacs_svc__refuse;
		break;
	}
	op = op_new(c, svc, cmd, pc_id);
	if (op == NULL)
		return ARCA_ENOMEM;
	if (cmd->has_data_set)
		c->receiving = op;
	else
		op_received(c, op);
	return svc->start != NULL ? svc->start(op) : 0;
}

static int asm_data(void *ctx, uint8_t pc_id, const uint8_t *bytes, size_t len, bool last)
{
	pacs_conn *c = ctx;
	pacs_op *op = c->receiving;
	int rc = 0;

	(void)pc_id;
	if (op == NULL)
		return 0; /* the data set of a C-CANCEL, which has none to follow */
	op->data_bytes += len;
	if (op->svc->data != NULL)
		rc = op->svc->data(op, bytes, len, last);
	if (last)
		op_received(c, op);
	return rc;
}

/* The assembler refused a command that it could parse (a required field
 * missing, an unknown command field): answer it when it is a request we
 * can answer, else abort. */
static void conn_command_refused(pacs_conn *c, uint8_t pc_id, const pacs_dimse_cmd *rej)
{
	char why[256];
	pacs_op *op;

	snprintf(why, sizeof(why), "%s", arca_error_last());
	if ((rej->command & PACS_DIMSE_RSP_BIT) != 0 || rej->command == PACS_DIMSE_C_CANCEL_RQ ||
	    (rej->present & PACS_DIMSE_F_MESSAGE_ID) == 0 ||
	    strcmp(pacs_dimse_command_name(rej->command), "unknown") == 0) {
		conn_abort(c, "DIMSE command refused: %s", why);
		return;
	}
	pacs_conn__log(c, PACS_SERVER_LOG_WARNING, "%s message %u refused: %s",
		       pacs_dimse_command_name(rej->command), rej->message_id, why);
	c->requests++;
	op = op_new(c, &pacs_svc__refuse, rej, pc_id);
	if (op == NULL) {
		conn_abort(c, "no memory");
		return;
	}
	/* PS3.4 B.2.3: C-STORE "cannot understand"; C-ECHO's own statuses
	 * (PS3.7 9.1.5.1.4) name a mistyped argument; the rest are not
	 * performed here anyway. */
	op->preset_status = rej->command == PACS_DIMSE_C_STORE_RQ ? PACS_DIMSE_CANNOT_UNDERSTAND
			    : rej->command == PACS_DIMSE_C_ECHO_RQ ? PACS_DIMSE_MISTYPED_ARGUMENT
								   : PACS_DIMSE_UNRECOGNIZED_OPERATION;
	pacs_ingest_result cut;
	pacs_ingest_set_comment(&cut, why);
	memcpy(op->preset_comment, cut.comment, sizeof(op->preset_comment));
	if (rej->has_data_set) {
		/* the assembler drops the data set; answer once it has passed */
		op->discarding = true;
		c->receiving = op;
	} else {
		op_received(c, op);
	}
}

/* ------------------------------------------------------------ Upper Layer port */

static int port_send(void *ctx, const uint8_t *head, size_t head_len, const uint8_t *body,
		     size_t body_len)
{
	pacs_conn *c = ctx;
	int rc;

	if (c->fd < 0 || c->close_requested)
		return 0; /* the transport is going: nothing more reaches the peer */
	rc = wq_reserve(c, head_len + body_len);
	if (rc < 0)
		return rc;
	memcpy(c->wq + c->wq_len, head, head_len);
	c->wq_len += head_len;
	if (body_len > 0) {
		memcpy(c->wq + c->wq_len, body, body_len);
		c->wq_len += body_len;
	}
	return 0;
}

static void port_close(void *ctx)
{
	pacs_conn *c = ctx;

	c->close_requested = true;
}

static void port_start_artim(void *ctx)
{
	pacs_conn *c = ctx;

	ev_timer_stop(c->srv->loop, &c->artim);
	ev_timer_set(&c->artim, c->srv->opts.artim_timeout, 0.);
	ev_timer_start(c->srv->loop, &c->artim);
}

static void port_stop_artim(void *ctx)
{
	pacs_conn *c = ctx;

	ev_timer_stop(c->srv->loop, &c->artim);
}

static const char *rj_result_name(uint8_t r)
{
	return r == PACS_PDU_RJ_PERMANENT ? "permanent" : r == PACS_PDU_RJ_TRANSIENT ? "transient" : "?";
}

/* PS3.8 Table 9-21. */
static const char *rj_reason_name(uint8_t source, uint8_t reason)
{
	switch (source) {
	case PACS_PDU_RJ_SOURCE_USER:
		switch (reason) {
		case 1: return "no reason given";
		case 2: return "application context name not supported";
		case 3: return "calling AE title not recognized";
		case 7: return "called AE title not recognized";
		default: return "reserved";
		}
	case PACS_PDU_RJ_SOURCE_ACSE:
		return reason == 1 ? "no reason given" : reason == 2 ? "protocol version not supported" : "?";
	case PACS_PDU_RJ_SOURCE_PRESENTATION:
		return reason == 1 ? "temporary congestion" : reason == 2 ? "local limit exceeded" : "reserved";
	default:
		return "?";
	}
}

static const char *rj_source_name(uint8_t s)
{
	return s == PACS_PDU_RJ_SOURCE_USER ? "service-user"
	       : s == PACS_PDU_RJ_SOURCE_ACSE ? "service-provider (ACSE)"
	       : s == PACS_PDU_RJ_SOURCE_PRESENTATION ? "service-provider (presentation)" : "?";
}

static void conn_reject(pacs_conn *c, const pacs_pdu_reject *rj, const char *why)
{
	c->refused = true;
	c->srv->stats.refused++;
	conn_outcome(c, "refused (A-ASSOCIATE-RJ %u/%u/%u): %s", rj->result, rj->source, rj->reason, why);
	pacs_conn__log(c, PACS_SERVER_LOG_WARNING,
		       "\"%s\" -> \"%s\" refused: A-ASSOCIATE-RJ result %u (%s), source %u (%s), reason %u (%s): %s",
		       c->calling_ae, c->called_ae, rj->result, rj_result_name(rj->result), rj->source,
		       rj_source_name(rj->source), rj->reason, rj_reason_name(rj->source, rj->reason), why);
	if (pacs_ul_reject(c->ul, rj) < 0)
		c->close_requested = true;
}

/* PS3.7 D.3.3.3: the number of requests the peer may have outstanding is
 * our "operations performed" answer, which pacs_assoc gives only when the
 * peer asked; without the item it is 1. */
static unsigned conn_window(const pacs_conn *c, const pacs_pdu_assoc *rq)
{
	unsigned ours = c->srv->policy.async_performed, theirs;

	if (!rq->user_info.has_async_window)
		return 1;
	theirs = rq->user_info.async_invoked;
	if (ours == 0)
		ours = theirs;
	else if (theirs != 0 && theirs < ours)
		ours = theirs;
	return ours == 0 || ours > CONN_MAX_WINDOW ? CONN_MAX_WINDOW : ours;
}

static void on_associate_rq(void *ctx, const pacs_pdu_assoc *rq)
{
	static const pacs_dimse_asm_cb asm_cb = { .command = asm_command, .data = asm_data };
	pacs_conn *c = ctx;
	pacs_server *s = c->srv;
	pacs_pdu_reject rj = { .result = PACS_PDU_RJ_TRANSIENT };
	size_t i;
	int rc;

	snprintf(c->calling_ae, sizeof(c->calling_ae), "%s", rq->calling_ae);
	snprintf(c->called_ae, sizeof(c->called_ae), "%s", rq->called_ae);
	c->pctx_proposed = rq->n_pctx;
	if (s->shutting_down) {
		/* PS3.8 Table 9-21: rejected-transient, presentation, temporary congestion */
		rj.source = PACS_PDU_RJ_SOURCE_PRESENTATION;
		rj.reason = PACS_PDU_RJ_PRESENTATION_TEMPORARY_CONGESTION;
		conn_reject(c, &rj, "the server is shutting down");
		return;
	}
	if (s->n_established >= s->opts.max_associations) {
		rj.source = PACS_PDU_RJ_SOURCE_PRESENTATION;
		rj.reason = PACS_PDU_RJ_PRESENTATION_LOCAL_LIMIT_EXCEEDED;
		char why[96];
		snprintf(why, sizeof(why), "%u associations already (max_associations)", s->n_established);
		conn_reject(c, &rj, why);
		return;
	}
	rc = pacs_assoc_negotiate(&c->assoc, rq, &s->policy);
	if (rc == 0 && pacs_assoc_is_accepted(c->assoc))
		rc = pacs_dimse_asm_new(&c->dasm, &asm_cb, c);
	if (rc < 0) {
		rj.source = PACS_PDU_RJ_SOURCE_USER;
		rj.reason = PACS_PDU_RJ_USER_NO_REASON;
		conn_reject(c, &rj, arca_error_last());
		return;
	}
	if (!pacs_assoc_is_accepted(c->assoc)) {
		conn_reject(c, pacs_assoc_rj(c->assoc), pacs_assoc_summary(c->assoc));
		return;
	}
	for (i = 0; i < pacs_assoc_pctx_count(c->assoc); i++)
		if (pacs_assoc_pctx_at(c->assoc, i)->result == PACS_PDU_PCTX_ACCEPTANCE)
			c->pctx_accepted++;
	/* the user the identity check accepted, for the audit records */
	if (pacs_assoc_identity_accepted(c->assoc) &&
	    (rq->user_info.identity.type == PACS_PDU_IDENTITY_USERNAME ||
	     rq->user_info.identity.type == PACS_PDU_IDENTITY_USERNAME_PASSCODE) &&
	    rq->user_info.identity.primary_len <= PACS_CONN_USER_MAX) {
		memcpy(c->user, rq->user_info.identity.primary, rq->user_info.identity.primary_len);
		c->user[rq->user_info.identity.primary_len] = '\0';
	}
	c->window = conn_window(c, rq);
	if (pacs_ul_accept(c->ul, pacs_assoc_ac(c->assoc)) < 0) {
		conn_outcome(c, "aborted: cannot send the A-ASSOCIATE-AC: %s", arca_error_last());
		c->close_requested = true;
		return;
	}
	c->established = true;
	s->n_established++;
	s->stats.associations++;
	if (s->opts.idle_timeout > 0)
		ev_timer_again(s->loop, &c->idle);
	pacs_conn__log(c, PACS_SERVER_LOG_DEBUG, "\"%s\" -> \"%s\" accepted: %s", c->calling_ae,
		       c->called_ae, pacs_assoc_summary(c->assoc));
}

static bool conn_in_data_transfer(const pacs_conn *c)
{
	return !c->close_requested && pacs_ul_state(c->ul) == PACS_UL_STA6;
}

/* After each PDV: a discarded data set that has passed completes the
 * refused request it belonged to. */
static void conn_check_discard(pacs_conn *c)
{
	pacs_op *op = c->receiving;

	if (op != NULL && op->discarding && pacs_dimse_asm_idle(c->dasm)) {
		op->discarding = false;
		op_received(c, op);
	}
}

static void on_pdata(void *ctx, const pacs_pdv *pdvs, size_t n)
{
	pacs_conn *c = ctx;
	size_t i;
	int rc;

	for (i = 0; i < n && conn_in_data_transfer(c); i++) {
		const pacs_assoc_pctx *pc = pacs_assoc_pctx_find(c->assoc, pdvs[i].pctx_id);
		if (pc == NULL || pc->result != PACS_PDU_PCTX_ACCEPTANCE) {
			/* PS3.7 6.3.1 / PS3.8 9.3.5: a PDV may only use an accepted
			 * presentation context. */
			conn_abort(c, "PDV on presentation context %u, which %s", pdvs[i].pctx_id,
				   pc == NULL ? "was never proposed" : "was not accepted");
			return;
		}
		rc = pacs_dimse_asm_feed(c->dasm, pdvs[i].pctx_id, pdvs[i].flags, pdvs[i].data, pdvs[i].len);
		if (rc < 0) {
			const pacs_dimse_cmd *rej = pacs_dimse_asm_rejected(c->dasm);
			if (rej != NULL)
				conn_command_refused(c, pdvs[i].pctx_id, rej);
			else
				conn_abort(c, "DIMSE: %s", arca_error_last());
		}
		if (c->dasm != NULL)
			conn_check_discard(c);
	}
	if (conn_in_data_transfer(c))
		conn_pump(c);
}

static void on_release_rq(void *ctx, bool collision)
{
	pacs_conn *c = ctx;

	(void)collision; /* an acceptor that never requests release has no collision */
	if (c->receiving != NULL) {
		/* PS3.7 6.3: the message in progress can never complete now */
		pacs_conn__log(c, PACS_SERVER_LOG_WARNING,
			       "A-RELEASE-RQ in the middle of %s message %u: the request is dropped",
			       pacs_dimse_command_name(c->receiving->rq.command), c->receiving->rq.message_id);
		pacs_op *op = c->receiving;
		if (!op->running) {
			ops_unlink(c, op);
			op_free(op);
		}
		c->receiving = NULL;
	}
	c->release_pending = true;
	conn_pump(c);
}

static void on_abort(void *ctx, const pacs_ul_abort_info *info)
{
	pacs_conn *c = ctx;

	switch (info->origin) {
	case PACS_UL_ABORT_PEER_USER:
		conn_outcome(c, "aborted by the peer (A-ABORT, source service-user)");
		break;
	case PACS_UL_ABORT_PEER_PROVIDER:
		conn_outcome(c, "aborted by the peer's provider (A-ABORT source %u reason %u)", info->source,
			     info->reason);
		break;
	case PACS_UL_ABORT_LOCAL_PROVIDER:
		conn_outcome(c, "aborted by arca (A-ABORT source %u reason %u): %s", info->source,
			     info->reason, info->detail);
		break;
	case PACS_UL_ABORT_TRANSPORT:
		conn_outcome(c, "aborted: the peer closed the connection without A-RELEASE");
		break;
	}
	pacs_conn__log(c, PACS_SERVER_LOG_WARNING, "%s", c->outcome);
	conn_cancel_ops(c);
}

/* Every transition (curl's mstate()): logged at debug level; and the one
 * abort the machine makes without telling the user, AA-1 in Sta2 (a first
 * PDU that is not an A-ASSOCIATE-RQ: garbage, an HTTP request, P-DATA
 * before any association), gets its reason and its log line here. */
static void on_ul_log(void *ctx, const pacs_ul_transition *t)
{
	pacs_conn *c = ctx;

	pacs_conn__log(c, PACS_SERVER_LOG_DEBUG, "%s %s %s -> %s%s", pacs_ul_state_name(t->from),
		       pacs_ul_event_name(t->event), t->action, pacs_ul_state_name(t->to),
		       t->undefined ? " (not in PS3.8 Table 9-10)" : "");
	if (t->from == PACS_UL_STA2 && t->to == PACS_UL_STA13) {
		char why[96];
		if (t->event == PACS_UL_EVT19_INVALID_PDU)
			snprintf(why, sizeof(why), "the first bytes (0x%02X...) are not a DICOM PDU", c->first_byte);
		else
			snprintf(why, sizeof(why), "%s before any A-ASSOCIATE-RQ", pacs_pdu_type_name(c->first_byte));
		conn_outcome(c, "aborted by arca: %s", why);
		pacs_conn__log(c, PACS_SERVER_LOG_WARNING, "A-ABORT sent: %s", why);
	}
}

/* ------------------------------------------------------------ events */

/* A result of the machine that is not a protocol decision (a port callback
 * failed: the write queue is full, no memory): the transport cannot be
 * trusted any more. */
static void conn_check_ul(pacs_conn *c, int rc)
{
	if (rc == 0 || rc == ARCA_EINVAL)
		return; /* EINVAL: an undefined pair, already aborted (AA-8) */
	conn_outcome(c, "aborted: %s", arca_error_last());
	pacs_conn__log(c, PACS_SERVER_LOG_ERROR, "closing the connection: %s", arca_error_last());
	c->close_requested = true;
}

static void conn_read(pacs_conn *c)
{
	pacs_server *s = c->srv;
	int reads = 0;

	while (reads++ < PACS_CONN_READS_PER_EVENT && c->fd >= 0 && !c->close_requested &&
	       pacs_ul_state(c->ul) != PACS_UL_STA1) {
		ssize_t n = recv(c->fd, s->rbuf, sizeof(s->rbuf), 0);
		if (n > 0) {
			if (c->bytes_in == 0)
				c->first_byte = s->rbuf[0];
			c->bytes_in += (uint64_t)n;
			s->stats.bytes_in += (uint64_t)n;
			if (c->established && s->opts.idle_timeout > 0)
				ev_timer_again(s->loop, &c->idle);
			conn_check_ul(c, pacs_ul_feed(c->ul, s->rbuf, (size_t)n));
			/* back-pressure decided in settle; stop here if it applies */
			if (wq_pending(c) > PACS_SERVER_WQ_HIGH || conn_ops_blocking(c) >= c->window)
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
			conn_outcome(c, "aborted: reading from the peer failed (%s)", strerror(errno));
		c->peer_gone = true;
		return;
	}
}

static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	pacs_conn *c = w->data;

	(void)loop;
	(void)revents;
	conn_read(c);
	conn_settle(c);
}

/* A streaming request waiting for room in the write queue goes on once
 * the queue has drained below half its high mark. */
static void conn_resume_waiting(pacs_conn *c)
{
	pacs_op *op = c->ops_head;

	if (!c->room_wanted || wq_pending(c) > PACS_SERVER_WQ_HIGH / 2)
		return;
	c->room_wanted = false;
	if (op == NULL || !op->waiting || op->svc->resume == NULL)
		return;
	op->waiting = false;
	op->svc->resume(op);
	if (!op->running && !op->waiting)
		op->answered = true;
	conn_pump(c);
}

static void conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	pacs_conn *c = w->data;

	(void)loop;
	(void)revents;
	if (wq_flush(c) < 0)
		c->peer_gone = true;
	else
		conn_resume_waiting(c);
	conn_settle(c);
}

static void conn_artim_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	pacs_conn *c = w->data;
	enum pacs_ul_state st = pacs_ul_state(c->ul);

	(void)loop;
	(void)revents;
	if (st == PACS_UL_STA2)
		conn_outcome(c, "closed: no A-ASSOCIATE-RQ within %g s (ARTIM)", c->srv->opts.artim_timeout);
	else if (st == PACS_UL_STA13 && !c->released)
		conn_outcome(c, "closed: the peer did not close the connection within %g s (ARTIM)",
			     c->srv->opts.artim_timeout);
	conn_check_ul(c, pacs_ul_artim_expired(c->ul));
	conn_settle(c);
}

static void conn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	pacs_conn *c = w->data;

	(void)revents;
	if (c->ops_head != NULL || wq_pending(c) > 0) {
		/* the silence is ours (a commit is running, or the peer is slow
		 * to read), not the peer's */
		ev_timer_again(loop, w);
	} else if (pacs_ul_state(c->ul) == PACS_UL_STA6) {
		ev_timer_stop(loop, w);
		conn_abort(c, "idle for %g s (idle_timeout)", c->srv->opts.idle_timeout);
	} else {
		ev_timer_stop(loop, w);
	}
	conn_settle(c);
}

/* ------------------------------------------------------------ settle */

static void conn_close_fd(pacs_conn *c)
{
	struct ev_loop *loop = c->srv->loop;

	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	ev_timer_stop(loop, &c->artim);
	ev_timer_stop(loop, &c->idle);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->ended = true;
	if (c->established && c->srv->n_established > 0)
		c->srv->n_established--;
	conn_cancel_ops(c);
}

static void conn_format_bytes(char *buf, size_t size, uint64_t n)
{
	if (n >= 10u * 1024u * 1024u)
		snprintf(buf, size, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else if (n >= 10u * 1024u)
		snprintf(buf, size, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(buf, size, "%llu bytes", (unsigned long long)n);
}

/* The one line per association (design.md 4; issue 3 item 5). */
static void conn_log_end(pacs_conn *c)
{
	char in[32], fails[32] = "";
	double secs = ev_now(c->srv->loop) - c->started;
	int level = PACS_SERVER_LOG_INFO;

	conn_format_bytes(in, sizeof(in), c->bytes_in);
	if (!c->established) {
		/* refusals were logged when they happened; a connection that sent
		 * nothing at all is a port probe or a health check */
		if (c->refused || (c->bytes_in == 0 && c->outcome[0] == '\0'))
			level = PACS_SERVER_LOG_DEBUG;
		pacs_conn__log(c, level, "connection closed after %.3f s, %s in: %s", secs, in,
			       c->outcome[0] != '\0' ? c->outcome : "no association requested");
		return;
	}
	if (c->store_failures > 0)
		snprintf(fails, sizeof(fails), " (%u failed)", c->store_failures);
	pacs_conn__log(c, level, "\"%s\" -> \"%s\": %zu/%zu contexts accepted, %u requests, %u instances%s, %s in, %.3f s: %s",
		       c->calling_ae, c->called_ae, c->pctx_accepted, c->pctx_proposed, c->requests,
		       c->instances, fails, in, secs,
		       c->released ? "released" : c->outcome[0] != '\0' ? c->outcome : "aborted");
}

static void conn_free(pacs_conn *c)
{
	conn_cancel_ops(c);
	pacs_ul_free(c->ul);
	pacs_assoc_free(c->assoc);
	pacs_dimse_asm_free(c->dasm);
	free(c->wq);
	free(c);
}

static void conn_update_interest(pacs_conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	bool want_read = pacs_ul_state(c->ul) != PACS_UL_STA1 && wq_pending(c) <= PACS_SERVER_WQ_HIGH &&
			 conn_ops_blocking(c) < c->window;
	bool want_write = wq_pending(c) > 0 || c->room_wanted;

	if (want_read && !ev_is_active(&c->rio))
		ev_io_start(loop, &c->rio);
	else if (!want_read && ev_is_active(&c->rio))
		ev_io_stop(loop, &c->rio);
	if (want_write && !ev_is_active(&c->wio))
		ev_io_start(loop, &c->wio);
	else if (!want_write && ev_is_active(&c->wio))
		ev_io_stop(loop, &c->wio);
}

static void conn_settle(pacs_conn *c)
{
	pacs_server *s = c->srv;

	if (!c->ended) {
		if (wq_pending(c) > 0 && wq_flush(c) < 0)
			c->peer_gone = true;
		if (c->peer_gone && !c->close_requested && pacs_ul_state(c->ul) != PACS_UL_STA1) {
			/* Evt17: AA-4 (an A-P-ABORT indication) under an association,
			 * AR-5 after our A-RELEASE-RP, AA-5 before any RQ */
			c->peer_gone = false;
			conn_check_ul(c, pacs_ul_transport_closed(c->ul));
			if (pacs_ul_state(c->ul) == PACS_UL_STA1)
				c->close_requested = true;
		}
		if (c->close_requested || c->peer_gone || pacs_ul_state(c->ul) == PACS_UL_STA1)
			conn_close_fd(c);
	}
	if (c->ended) {
		if (c->jobs > 0)
			return; /* a commit is running: its done comes back here */
		if (c->established && !c->released)
			s->stats.aborted++;
		if (c->established && s->opts.assoc_end != NULL)
			s->opts.assoc_end(s->opts.audit_ctx, c->id, c->calling_ae, c->user);
		conn_log_end(c);
		pacs_server__conn_gone(s, c);
		conn_free(c);
		return;
	}
	conn_update_interest(c);
}

/* ------------------------------------------------------------ life cycle */

int pacs_conn__start(pacs_server *s, int fd, const char *peer)
{
	pacs_ul_port port = {
		.send_pdu = port_send,
		.close_transport = port_close,
		.start_artim = port_start_artim,
		.stop_artim = port_stop_artim,
		.on_associate_rq = on_associate_rq,
		.on_pdata = on_pdata,
		.on_release_rq = on_release_rq,
		.on_abort = on_abort,
	};
	pacs_ul_opts uo;
	pacs_conn *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return arca_error_set(ARCA_ENOMEM, "no memory for a connection from %s", peer);
	}
	c->srv = s;
	c->fd = fd;
	c->id = ++s->next_id;
	c->window = 1;
	c->started = ev_now(s->loop);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	port.ctx = c;
	port.log = on_ul_log;
	pacs_ul_opts_init(&uo);
	uo.max_pdata_length = s->opts.max_pdu;
	rc = pacs_ul_new(&c->ul, &port, &uo);
	if (rc < 0) {
		close(fd);
		free(c);
		return rc;
	}
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	ev_timer_init(&c->artim, conn_artim_cb, s->opts.artim_timeout, 0.);
	ev_timer_init(&c->idle, conn_idle_cb, 0., s->opts.idle_timeout);
	c->rio.data = c->wio.data = c->artim.data = c->idle.data = c;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	s->stats.connections++;
	/* Evt5, AE-5: the transport connection is accepted; ARTIM runs until
	 * the A-ASSOCIATE-RQ arrives */
	conn_check_ul(c, pacs_ul_transport_accepted(c->ul));
	conn_settle(c);
	return 0;
}

void pacs_conn__shutdown(pacs_conn *c, bool abort_now)
{
	enum pacs_ul_state st;

	if (c->ended) {
		conn_settle(c);
		return;
	}
	st = pacs_ul_state(c->ul);
	if (abort_now) {
		if (st == PACS_UL_STA3 || st == PACS_UL_STA6 || st == PACS_UL_STA8)
			conn_abort(c, "the server is shutting down");
		else
			conn_outcome(c, "closed: the server is shutting down");
		/* no ARTIM wait for the peer's close: the server is going */
		c->close_requested = true;
	}
	conn_settle(c);
}

void pacs_conn__destroy(pacs_conn *c)
{
	struct ev_loop *loop = c->srv->loop;

	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	ev_timer_stop(loop, &c->artim);
	ev_timer_stop(loop, &c->idle);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	conn_free(c);
}
