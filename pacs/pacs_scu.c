/* pacs_scu.c - the client association: the Upper Layer machine (pacs_ul)
 * in the requestor role over a blocking socket, the A-ASSOCIATE-RQ built
 * from the caller's contexts, the answer checked, DIMSE requests sent one
 * at a time and their responses awaited, release and abort (see
 * pacs_scu.h for the contract).
 *
 * The machine does no I/O: its port effects write to the socket or record
 * what happened; the loop in scu_wait() reads the socket and feeds the
 * machine until the condition the caller waits for holds, the association
 * ends, or the deadline passes. */
#include "pacs_scu_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_buf.h"
#include "pacs_pdu.h"
#include "pacs_write.h"

/* PS3.4 A.4: the Verification SOP Class. */
#define UID_VERIFICATION "1.2.840.10008.1.1"

/* ------------------------------------------------------------ options */

void pacs_scu_opts_init(pacs_scu_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
}

/* PS3.5 Table 6.2-1, AE: 16 characters at most, no control characters or
 * backslash, not only spaces. */
static bool ae_valid(const char *ae)
{
	size_t n = strlen(ae);
	bool nonspace = false;

	if (n == 0 || n > PACS_PDU_AE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ae[i];
		if (c < 0x20 || c == '\\' || c >= 0x7f)
			return false;
		if (c != ' ')
			nonspace = true;
	}
	return nonspace;
}

static bool uid_fits(const char *uid)
{
	return uid != NULL && uid[0] != '\0' && strlen(uid) <= PACS_PDU_UID_MAX;
}

static void ctx_free_all(pacs_scu *scu)
{
	for (size_t i = 0; i < scu->n_ctx; i++) {
		for (size_t j = 0; j < scu->ctx[i].n_ts; j++)
			free(scu->ctx[i].ts[j]);
		free(scu->ctx[i].ts);
	}
	free(scu->ctx);
	scu->ctx = NULL;
	scu->n_ctx = 0;
}

static int copy_contexts(pacs_scu *scu, const pacs_scu_pctx *pctx, size_t n)
{
	scu->ctx = calloc(n, sizeof(*scu->ctx));
	if (scu->ctx == NULL)
		return arca_error_set(ARCA_ENOMEM, "scu: out of memory for %zu contexts", n);
	scu->n_ctx = n;
	for (size_t i = 0; i < n; i++) {
		scu_ctx *c = &scu->ctx[i];
		const pacs_scu_pctx *p = &pctx[i];

		if (!uid_fits(p->abstract_syntax))
			return arca_error_set(ARCA_EINVAL, "scu: context %zu: abstract syntax missing or longer than 64 characters", i);
		if (p->n_transfer_syntaxes == 0 || p->n_transfer_syntaxes > PACS_PDU_MAX_TS)
			return arca_error_set(ARCA_EINVAL, "scu: context %zu (%s): %zu transfer syntaxes (1 to %u allowed)",
					      i, p->abstract_syntax, p->n_transfer_syntaxes, PACS_PDU_MAX_TS);
		snprintf(c->abstract, sizeof(c->abstract), "%s", p->abstract_syntax);
		c->ts = calloc(p->n_transfer_syntaxes, sizeof(*c->ts));
		if (c->ts == NULL)
			return arca_error_set(ARCA_ENOMEM, "scu: out of memory");
		for (size_t j = 0; j < p->n_transfer_syntaxes; j++) {
			if (!uid_fits(p->transfer_syntaxes[j]))
				return arca_error_set(ARCA_EINVAL, "scu: context %zu (%s): transfer syntax %zu missing or too long",
						      i, p->abstract_syntax, j);
			c->ts[j] = strdup(p->transfer_syntaxes[j]);
			if (c->ts[j] == NULL)
				return arca_error_set(ARCA_ENOMEM, "scu: out of memory");
			c->n_ts = j + 1;
		}
		/* PS3.8 9.3.2.2: odd IDs 1-255, in proposal order */
		c->info.id = (uint8_t)(2 * i + 1);
		c->info.result = PACS_PDU_PCTX_NO_REASON;
		c->info.abstract_syntax = c->abstract;
		c->info.transfer_syntax = NULL;
	}
	return 0;
}

/* PS3.7 D.3.3.5: one SOP Class Extended Negotiation item per SOP class. */
static int copy_ext_neg(pacs_scu *scu, const pacs_scu_opts *opts)
{
	if (opts->n_ext_neg == 0)
		return 0;
	if (opts->ext_neg == NULL || opts->n_ext_neg > PACS_PDU_MAX_PCTX)
		return arca_error_set(ARCA_EINVAL, "scu: %zu extended negotiation items (at most %u)", opts->n_ext_neg,
				      PACS_PDU_MAX_PCTX);
	scu->ext_neg = calloc(opts->n_ext_neg, sizeof(*scu->ext_neg));
	if (scu->ext_neg == NULL)
		return arca_error_set(ARCA_ENOMEM, "scu: out of memory for %zu extended negotiation items",
				      opts->n_ext_neg);
	for (size_t i = 0; i < opts->n_ext_neg; i++) {
		const pacs_pdu_ext_neg *x = &opts->ext_neg[i];

		if (!uid_fits(x->sop_class_uid) || x->info == NULL || x->info_len == 0 ||
		    x->info_len > PACS_SCU_EXT_NEG_MAX)
			return arca_error_set(ARCA_EINVAL,
					      "scu: extended negotiation %zu: SOP class missing or too long, or not 1 to %u bytes",
					      i, PACS_SCU_EXT_NEG_MAX);
		snprintf(scu->ext_neg[i].uid, sizeof(scu->ext_neg[i].uid), "%s", x->sop_class_uid);
		memcpy(scu->ext_neg[i].info, x->info, x->info_len);
		scu->ext_neg[i].info_len = x->info_len;
	}
	scu->n_ext_neg = opts->n_ext_neg;
	return 0;
}

/* PS3.7 D.3.3.4: one SCP/SCU Role Selection item per SOP class. */
static int copy_roles(pacs_scu *scu, const pacs_scu_opts *opts)
{
	if (opts->n_roles == 0)
		return 0;
	if (opts->roles == NULL || opts->n_roles > PACS_PDU_MAX_PCTX)
		return arca_error_set(ARCA_EINVAL, "scu: %zu role selections (at most %u)", opts->n_roles,
				      PACS_PDU_MAX_PCTX);
	scu->roles = calloc(opts->n_roles, sizeof(*scu->roles));
	if (scu->roles == NULL)
		return arca_error_set(ARCA_ENOMEM, "scu: out of memory for %zu role selections", opts->n_roles);
	for (size_t i = 0; i < opts->n_roles; i++) {
		const pacs_pdu_role *r = &opts->roles[i];

		if (!uid_fits(r->sop_class_uid) || r->scu_role > 1 || r->scp_role > 1)
			return arca_error_set(ARCA_EINVAL, "scu: role selection %zu: SOP class missing or too long, or roles not 0/1", i);
		snprintf(scu->roles[i].uid, sizeof(scu->roles[i].uid), "%s", r->sop_class_uid);
		scu->roles[i].scu_role = r->scu_role;
		scu->roles[i].scp_role = r->scp_role;
	}
	scu->n_roles = opts->n_roles;
	return 0;
}

int pacs_scu_new(pacs_scu **out, const pacs_scu_opts *opts)
{
	pacs_scu *scu;
	const char *calling;
	int rc;

	*out = NULL;
	if (opts == NULL || opts->host == NULL || opts->host[0] == '\0')
		return arca_error_set(ARCA_EINVAL, "scu: no host given");
	if (strlen(opts->host) > SCU_HOST_MAX)
		return arca_error_set(ARCA_EINVAL, "scu: host name longer than %u characters", SCU_HOST_MAX);
	if (opts->port == 0)
		return arca_error_set(ARCA_EINVAL, "scu: no port given");
	calling = opts->calling_ae != NULL ? opts->calling_ae : PACS_SCU_DEFAULT_CALLING_AE;
	if (!ae_valid(calling))
		return arca_error_set(ARCA_EINVAL, "scu: calling AE title \"%s\" is not 1-16 characters without backslash or control characters", calling);
	if (opts->called_ae == NULL || !ae_valid(opts->called_ae))
		return arca_error_set(ARCA_EINVAL, "scu: called AE title \"%s\" is not 1-16 characters without backslash or control characters",
				      opts->called_ae != NULL ? opts->called_ae : "");
	if (opts->pctx == NULL || opts->n_pctx == 0 || opts->n_pctx > PACS_PDU_MAX_PCTX)
		return arca_error_set(ARCA_EINVAL, "scu: %zu presentation contexts (1 to %u allowed, PS3.8 9.3.2.2)",
				      opts->n_pctx, PACS_PDU_MAX_PCTX);
	if (opts->max_pdu != 0 && opts->max_pdu < PACS_DIMSE_MIN_MAX_PDU)
		return arca_error_set(ARCA_EINVAL, "scu: maximum PDU length %u is too small", opts->max_pdu);

	scu = calloc(1, sizeof(*scu));
	if (scu == NULL)
		return arca_error_set(ARCA_ENOMEM, "scu: out of memory");
	scu->fd = -1;
	snprintf(scu->host, sizeof(scu->host), "%s", opts->host);
	scu->port = opts->port;
	snprintf(scu->calling_ae, sizeof(scu->calling_ae), "%s", calling);
	snprintf(scu->called_ae, sizeof(scu->called_ae), "%s", opts->called_ae);
	scu->max_pdu = opts->max_pdu != 0 ? opts->max_pdu : PACS_UL_DEFAULT_MAX_PDATA;
	scu->connect_ms = opts->connect_timeout_ms != 0 ? opts->connect_timeout_ms : PACS_SCU_CONNECT_TIMEOUT_MS;
	scu->acse_ms = opts->acse_timeout_ms != 0 ? opts->acse_timeout_ms : PACS_SCU_ACSE_TIMEOUT_MS;
	scu->dimse_ms = opts->dimse_timeout_ms != 0 ? opts->dimse_timeout_ms : PACS_SCU_DIMSE_TIMEOUT_MS;
	scu->log = opts->log;
	scu->log_ctx = opts->log_ctx;
	scu->next_message_id = 1;
	if ((rc = copy_contexts(scu, opts->pctx, opts->n_pctx)) < 0 || (rc = copy_roles(scu, opts)) < 0 ||
	    (rc = copy_ext_neg(scu, opts)) < 0) {
		pacs_scu_free(scu);
		return rc;
	}
	*out = scu;
	return 0;
}

/* ------------------------------------------------------------ port */

static void close_fd(pacs_scu *scu)
{
	if (scu->fd >= 0) {
		close(scu->fd);
		scu->fd = -1;
	}
}

static void note_io(pacs_scu *scu, int rc)
{
	if (scu->io_rc == 0) {
		scu->io_rc = rc;
		snprintf(scu->io_msg, sizeof(scu->io_msg), "%s", arca_error_last());
	}
}

static void note_proto(pacs_scu *scu, int rc, const char *msg)
{
	if (scu->proto_rc == 0) {
		scu->proto_rc = rc;
		snprintf(scu->proto_msg, sizeof(scu->proto_msg), "%s", msg);
	}
}

static int port_send(void *ctx, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len)
{
	pacs_scu *scu = ctx;
	int rc = pacs_scu__write_all(scu->fd, head, head_len, body, body_len, scu->dimse_ms);

	if (rc < 0)
		note_io(scu, rc);
	return rc;
}

/* AE-1: the connection is made here, blocking; its outcome is raised as
 * Evt2 or Evt17 by pacs_scu_associate() once the action has returned. */
static void port_connect(void *ctx)
{
	pacs_scu *scu = ctx;

	scu->connect_rc = pacs_scu__connect(&scu->fd, scu->host, scu->port, scu->connect_ms);
	if (scu->connect_rc < 0)
		note_io(scu, scu->connect_rc);
}

static void port_close(void *ctx)
{
	close_fd(ctx);
}

static void port_start_artim(void *ctx)
{
	pacs_scu *scu = ctx;

	scu->artim_on = true;
	scu->artim_deadline = pacs_scu__now_ms() + scu->acse_ms;
}

static void port_stop_artim(void *ctx)
{
	((pacs_scu *)ctx)->artim_on = false;
}

static bool ts_proposed(const scu_ctx *c, const char *ts)
{
	for (size_t j = 0; j < c->n_ts; j++)
		if (strcmp(c->ts[j], ts) == 0)
			return true;
	return false;
}

/* AE-3: record the answer per context (PS3.8 9.3.3.2).  A transfer syntax
 * we did not propose cannot be used: the context counts as rejected. */
static void on_ac(void *ctx, const pacs_pdu_assoc *ac)
{
	pacs_scu *scu = ctx;

	for (size_t i = 0; i < ac->n_pctx; i++) {
		const pacs_pdu_pctx *p = &ac->pctx[i];

		for (size_t k = 0; k < scu->n_ctx; k++) {
			scu_ctx *c = &scu->ctx[k];

			if (c->info.id != p->id)
				continue;
			c->info.result = p->result;
			c->info.transfer_syntax = NULL;
			if (p->result == PACS_PDU_PCTX_ACCEPTANCE) {
				if (p->transfer_syntax != NULL && ts_proposed(c, p->transfer_syntax)) {
					snprintf(c->accepted_ts, sizeof(c->accepted_ts), "%s", p->transfer_syntax);
					c->info.transfer_syntax = c->accepted_ts;
				} else {
					c->info.result = PACS_PDU_PCTX_NO_REASON;
				}
			}
		}
	}
	/* PS3.7 D.3.3.4: the acceptor answers each role selection it takes
	 * with the roles it accepts; no answer means the default roles
	 * (requestor SCU only). */
	for (size_t i = 0; i < ac->user_info.n_roles; i++) {
		const pacs_pdu_role *r = &ac->user_info.roles[i];

		for (size_t k = 0; k < scu->n_roles; k++)
			if (r->sop_class_uid != NULL && strcmp(scu->roles[k].uid, r->sop_class_uid) == 0)
				scu->roles[k].scp_accepted = scu->roles[k].scp_role == 1 && r->scp_role == 1;
	}
	/* PS3.7 D.3.3.5: an item not answered is an option not supported */
	for (size_t i = 0; i < ac->user_info.n_ext_neg; i++) {
		const pacs_pdu_ext_neg *x = &ac->user_info.ext_neg[i];

		for (size_t k = 0; k < scu->n_ext_neg; k++) {
			scu_ext_neg *e = &scu->ext_neg[k];

			if (x->sop_class_uid == NULL || e->answered || strcmp(e->uid, x->sop_class_uid) != 0)
				continue;
			e->answered = true;
			e->answer_len = x->info_len < PACS_SCU_EXT_NEG_MAX ? x->info_len : PACS_SCU_EXT_NEG_MAX;
			if (e->answer_len > 0)
				memcpy(e->answer, x->info, e->answer_len);
		}
	}
	scu->peer_max_pdu = ac->user_info.max_length;
	if (scu->peer_max_pdu != 0 && scu->peer_max_pdu < PACS_DIMSE_MIN_MAX_PDU) {
		char msg[SCU_DETAIL_MAX];
		snprintf(msg, sizeof(msg), "%s announced a maximum PDU length of %u bytes, too small to carry data (PS3.8 D.1)",
			 scu->called_ae, scu->peer_max_pdu);
		note_proto(scu, ARCA_EPROTO, msg);
	}
}

static void on_rj(void *ctx, const pacs_pdu_reject *rj)
{
	pacs_scu *scu = ctx;

	scu->rejected = true;
	scu->rj = *rj;
}

static void on_pdata(void *ctx, const pacs_pdv *pdvs, size_t n)
{
	pacs_scu *scu = ctx;

	for (size_t i = 0; i < n && scu->proto_rc == 0; i++) {
		int rc = pacs_dimse_asm_feed(scu->asm_, pdvs[i].pctx_id, pdvs[i].flags, pdvs[i].data, pdvs[i].len);
		if (rc < 0)
			note_proto(scu, rc, arca_error_last());
	}
}

/* A-RELEASE indication.  A collision (both sides asked, PS3.8 9.2.2 AR-8)
 * is answered at once; so is a release the peer started, which ends the
 * association: a requestor never refuses one. */
static void on_release_rq(void *ctx, bool collision)
{
	pacs_scu *scu = ctx;

	(void)collision;
	(void)pacs_ul_release_response(scu->ul);
}

static void on_abort(void *ctx, const pacs_ul_abort_info *info)
{
	pacs_scu *scu = ctx;

	if (scu->aborted)
		return; /* keep the first cause */
	scu->aborted = true;
	scu->abort = *info;
	snprintf(scu->abort_detail, sizeof(scu->abort_detail), "%s", info->detail != NULL ? info->detail : "");
	scu->abort.detail = scu->abort_detail;
}

static void on_log(void *ctx, const pacs_ul_transition *t)
{
	pacs_scu *scu = ctx;

	if (scu->log != NULL)
		scu->log(scu->log_ctx, t);
}

/* ------------------------------------------------------------ DIMSE in */

static void rsp_enqueue(pacs_scu *scu, scu_rsp *e)
{
	if (scu->q_tail != NULL)
		scu->q_tail->next = e;
	else
		scu->q_head = e;
	scu->q_tail = e;
	scu->q_bytes += e->len;
	scu->have_rsp = true;
}

static void rsp_free_all(pacs_scu *scu)
{
	scu_rsp *e, *next;

	for (e = scu->q_head; e != NULL; e = next) {
		next = e->next;
		free(e->data);
		free(e);
	}
	if (scu->cur != NULL) {
		free(scu->cur->data);
		free(scu->cur);
	}
	scu->q_head = scu->q_tail = scu->cur = NULL;
	scu->q_bytes = 0;
	scu->have_rsp = false;
}

/* Owes the peer a C-STORE-RSP with status; sent after the read that
 * completed the request (scu_flush_store_rsps). */
static int store_owe(pacs_scu *scu, uint8_t pc_id, const pacs_dimse_cmd *rq, uint16_t status)
{
	scu_out_rsp *o;
	int rc;

	if (scu->n_store_rsp == SCU_STORE_RSP_MAX)
		return arca_error_set(ARCA_EPROTO, "%s sent more than %u C-STORE requests without waiting for the responses "
				      "(no asynchronous operations window was negotiated, PS3.7 D.3.3.3)",
				      scu->called_ae, SCU_STORE_RSP_MAX);
	o = &scu->store_rsp[scu->n_store_rsp];
	/* PS3.7 9.3.1.2, Table 9.3-2 */
	if ((rc = pacs_dimse_cmd_response(&o->cmd, rq, status)) < 0)
		return rc;
	o->pc_id = pc_id;
	scu->n_store_rsp++;
	return 0;
}

/* A C-STORE-RQ during a C-GET (PS3.4 C.4.3.3): on a context accepted for
 * its SOP class it goes to the handler; otherwise it is refused 0122H
 * (SOP class not supported) and its data set dropped. */
static int store_begin(pacs_scu *scu, uint8_t pc_id, const pacs_dimse_cmd *cmd)
{
	const scu_ctx *c = NULL;
	uint16_t status;

	for (size_t i = 0; i < scu->n_ctx; i++)
		if (scu->ctx[i].info.id == pc_id && scu->ctx[i].info.transfer_syntax != NULL)
			c = &scu->ctx[i];
	if (c == NULL || strcmp(c->abstract, cmd->affected_sop_class) != 0)
		status = PACS_DIMSE_SOP_CLASS_NOT_SUPPORTED;
	else
		status = scu->store_h->begin(scu->store_h->ctx, cmd, c->accepted_ts);
	if (!cmd->has_data_set) {
		/* PS3.7 9.3.1.1: a C-STORE-RQ always has a data set */
		if (status == 0)
			(void)scu->store_h->end(scu->store_h->ctx, false);
		return store_owe(scu, pc_id, cmd, PACS_DIMSE_CANNOT_UNDERSTAND);
	}
	scu->in_store = true;
	scu->in_store_take = status == 0;
	scu->in_store_status = status;
	scu->in_store_rq = *cmd;
	scu->in_store_pc = pc_id;
	return 0;
}

static int store_data(pacs_scu *scu, const uint8_t *bytes, size_t len, bool last)
{
	uint16_t status = scu->in_store_status;

	if (scu->in_store_take && len > 0 && scu->store_h->data(scu->store_h->ctx, bytes, len) < 0)
		scu->in_store_take = false; /* the handler failed: its end(false) says the status */
	if (!last)
		return 0;
	scu->in_store = false;
	if (scu->in_store_status == 0)
		status = scu->store_h->end(scu->store_h->ctx, scu->in_store_take);
	return store_owe(scu, scu->in_store_pc, &scu->in_store_rq, status);
}

void pacs_scu__store_abandon(pacs_scu *scu)
{
	if (scu->in_store && scu->in_store_status == 0 && scu->store_h != NULL)
		(void)scu->store_h->end(scu->store_h->ctx, false);
	scu->in_store = false;
	scu->n_store_rsp = 0;
}

static int asm_command(void *ctx, uint8_t pc_id, const pacs_dimse_cmd *cmd)
{
	pacs_scu *scu = ctx;

	if (cmd->command == PACS_DIMSE_C_STORE_RQ && scu->store_h != NULL)
		return store_begin(scu, pc_id, cmd);
	if ((cmd->command & PACS_DIMSE_RSP_BIT) == 0)
		return arca_error_set(ARCA_EPROTO, "%s sent a %s, which this SCU does not serve",
				      scu->called_ae, pacs_dimse_command_name(cmd->command));
	if (scu->waiting_id == 0)
		return arca_error_set(ARCA_EPROTO, "%s sent a %s while no request was outstanding",
				      scu->called_ae, pacs_dimse_command_name(cmd->command));
	if (cmd->command != scu->waiting_cmd || cmd->message_id_responded != scu->waiting_id)
		return arca_error_set(ARCA_EPROTO, "%s sent a %s for message %u; expected a %s for message %u",
				      scu->called_ae, pacs_dimse_command_name(cmd->command),
				      cmd->message_id_responded, pacs_dimse_command_name(scu->waiting_cmd),
				      scu->waiting_id);
	/* PS3.7 9.3: the response comes on the request's context */
	if (pc_id != scu->waiting_pc)
		return arca_error_set(ARCA_EPROTO, "%s sent the %s on presentation context %u, the request went on %u",
				      scu->called_ae, pacs_dimse_command_name(cmd->command), pc_id, scu->waiting_pc);
	scu_rsp *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a response");
	e->cmd = *cmd;
	if (cmd->has_data_set)
		scu->cur = e;
	else
		rsp_enqueue(scu, e);
	/* PS3.7 9.1.2.1.6 (C-FIND), 9.1.3, 9.1.4: pending responses are
	 * followed by more responses to the same request */
	if (pacs_dimse_status_category(cmd->status) != PACS_DIMSE_STATUS_PENDING)
		scu->waiting_id = 0;
	return 0;
}

/* A response's data set (C-FIND identifiers) is collected whole, at most
 * SCU_RSP_DATA_MAX bytes queued; the response is queued after its last
 * fragment. */
static int asm_data(void *ctx, uint8_t pc_id, const uint8_t *bytes, size_t len, bool last)
{
	pacs_scu *scu = ctx;
	scu_rsp *e = scu->cur;

	(void)pc_id;
	if (scu->in_store)
		return store_data(scu, bytes, len, last);
	if (e == NULL)
		return 0;
	if (len > SCU_RSP_DATA_MAX - scu->q_bytes - e->len)
		return arca_error_set(ARCA_ELIMIT, "%s sent response data sets above %u bytes", scu->called_ae,
				      SCU_RSP_DATA_MAX);
	if (e->len + len > e->cap) {
		size_t cap = e->cap != 0 ? e->cap : 4096;
		uint8_t *p;
		while (cap < e->len + len)
			cap *= 2;
		p = realloc(e->data, cap);
		if (p == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for a response data set");
		e->data = p;
		e->cap = cap;
	}
	if (len > 0)
		memcpy(e->data + e->len, bytes, len);
	e->len += len;
	if (last) {
		scu->cur = NULL;
		rsp_enqueue(scu, e);
	}
	return 0;
}

/* ------------------------------------------------------------ the loop */

static enum pacs_ul_state scu_state(const pacs_scu *scu)
{
	return scu->ul != NULL ? pacs_ul_state(scu->ul) : PACS_UL_STA1;
}

/* The transport is gone (or we drop it): close and tell the machine. */
static void scu_drop(pacs_scu *scu)
{
	close_fd(scu);
	if (scu->ul != NULL && scu_state(scu) != PACS_UL_STA1)
		(void)pacs_ul_transport_closed(scu->ul);
}

static const char *rj_source_name(uint8_t s)
{
	switch (s) {
	case PACS_PDU_RJ_SOURCE_USER: return "service-user";
	case PACS_PDU_RJ_SOURCE_ACSE: return "service-provider (ACSE)";
	case PACS_PDU_RJ_SOURCE_PRESENTATION: return "service-provider (presentation)";
	default: return "unknown source";
	}
}

/* PS3.8 Table 9-21. */
static const char *rj_reason_name(uint8_t source, uint8_t reason)
{
	if (source == PACS_PDU_RJ_SOURCE_USER) {
		switch (reason) {
		case 1: return "no reason given";
		case 2: return "application context name not supported";
		case 3: return "calling AE title not recognized";
		case 7: return "called AE title not recognized";
		default: return "reserved reason";
		}
	}
	if (source == PACS_PDU_RJ_SOURCE_ACSE) {
		switch (reason) {
		case 1: return "no reason given";
		case 2: return "protocol version not supported";
		default: return "reserved reason";
		}
	}
	switch (reason) {
	case 1: return "temporary congestion";
	case 2: return "local limit exceeded";
	default: return "reserved reason";
	}
}

/* PS3.8 Table 9-26. */
static const char *abort_reason_name(uint8_t reason)
{
	switch (reason) {
	case PACS_PDU_ABORT_REASON_NOT_SPECIFIED: return "reason not specified";
	case PACS_PDU_ABORT_UNRECOGNIZED_PDU: return "unrecognized PDU";
	case PACS_PDU_ABORT_UNEXPECTED_PDU: return "unexpected PDU";
	case PACS_PDU_ABORT_UNRECOGNIZED_PDU_PARAMETER: return "unrecognized PDU parameter";
	case PACS_PDU_ABORT_UNEXPECTED_PDU_PARAMETER: return "unexpected PDU parameter";
	case PACS_PDU_ABORT_INVALID_PDU_PARAMETER_VALUE: return "invalid PDU parameter value";
	default: return "reserved reason";
	}
}

/* The association ended while the caller waited for `what`: close what is
 * left and say why, in one line, with the code of pacs_scu.h. */
static int scu_lost(pacs_scu *scu, const char *what)
{
	char peer[SCU_HOST_MAX + 48];

	scu_drop(scu);
	snprintf(peer, sizeof(peer), "%s@%s:%u", scu->called_ae, scu->host, (unsigned)scu->port);
	if (scu->rejected)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s rejected the association: %s, %s, %s (PS3.8 Table 9-21: result %u source %u reason %u)",
				      peer, scu->rj.result == PACS_PDU_RJ_PERMANENT ? "permanent" : "transient",
				      rj_source_name(scu->rj.source), rj_reason_name(scu->rj.source, scu->rj.reason),
				      scu->rj.result, scu->rj.source, scu->rj.reason);
	if (scu->proto_rc != 0)
		return arca_error_set(ARCA_EPROTO, "%s while waiting for %s; association aborted", scu->proto_msg, what);
	if (scu->aborted) {
		switch (scu->abort.origin) {
		case PACS_UL_ABORT_PEER_USER:
			return arca_error_set(ARCA_EPROTO, "%s aborted the association (A-ABORT, service-user) while we waited for %s",
					      peer, what);
		case PACS_UL_ABORT_PEER_PROVIDER:
			return arca_error_set(ARCA_EPROTO, "%s aborted the association (A-ABORT, service-provider: %s) while we waited for %s",
					      peer, abort_reason_name(scu->abort.reason), what);
		case PACS_UL_ABORT_LOCAL_PROVIDER:
			return arca_error_set(ARCA_EPROTO, "invalid data from %s (%s) while waiting for %s; association aborted",
					      peer, scu->abort_detail, what);
		case PACS_UL_ABORT_TRANSPORT:
			break;
		}
	}
	if (scu->io_rc != 0)
		return arca_error_set(ARCA_EIO, "%s (%s, waiting for %s)", scu->io_msg, peer, what);
	return arca_error_set(ARCA_EIO, "%s closed the connection while we waited for %s", peer, what);
}

/* Sends the C-STORE-RSPs owed (C-GET), now that the machine is done
 * with the read that completed their requests: sending from inside its
 * indication would re-enter it.  A send error is the transport's and is
 * noted by port_send. */
static void scu_flush_store_rsps(pacs_scu *scu)
{
	for (size_t i = 0; i < scu->n_store_rsp; i++) {
		uint8_t enc[PACS_DIMSE_CMD_MAX_SIZE];
		pacs_dimse_frag *f = NULL;
		size_t n = 0;

		if (scu_state(scu) != PACS_UL_STA6 || scu->fd < 0)
			break;
		if (pacs_dimse_cmd_encode(enc, sizeof(enc), &n, &scu->store_rsp[i].cmd) < 0)
			break;
		const pacs_dimse_out msg = { .pc_id = scu->store_rsp[i].pc_id, .command = enc, .command_len = n };
		if (pacs_dimse_frag_new(&f, &msg, scu->peer_max_pdu) < 0)
			break;
		for (;;) {
			const uint8_t *pdu;
			size_t len;

			if (pacs_dimse_frag_next(f, &pdu, &len) < 0 || pdu == NULL)
				break;
			const pacs_pdv pdv = {
				.pctx_id = pdu[10],
				.flags = pdu[11],
				.data = &pdu[PACS_PDU_PDATA_SINGLE_HEADER_LEN],
				.len = len - PACS_PDU_PDATA_SINGLE_HEADER_LEN,
			};
			if (pacs_ul_send_pdata(scu->ul, &pdv, 1) < 0 || scu->io_rc != 0)
				break;
		}
		pacs_dimse_frag_free(f);
	}
	scu->n_store_rsp = 0;
}

/* Reads what the socket has (waiting until deadline, monotonic ms) and
 * feeds the machine.  1: something happened; 0: the deadline passed. */
static int scu_pump(pacs_scu *scu, int64_t deadline)
{
	int64_t until = deadline;
	ssize_t n;
	int r;

	if (scu->artim_on && (until < 0 || scu->artim_deadline < until))
		until = scu->artim_deadline;
	if (scu->fd < 0) {
		scu_drop(scu);
		return 1;
	}
	r = pacs_scu__wait_readable(scu->fd, until);
	if (r < 0) {
		note_io(scu, r);
		scu_drop(scu);
		return 1;
	}
	if (r == 0) {
		if (scu->artim_on && pacs_scu__now_ms() >= scu->artim_deadline) {
			/* PS3.8 9.1.5: ARTIM expired (Sta13: AA-2 closes) */
			scu->artim_on = false;
			(void)pacs_ul_artim_expired(scu->ul);
			scu_drop(scu);
			return 1;
		}
		return 0;
	}
	do {
		n = recv(scu->fd, scu->rbuf, sizeof(scu->rbuf), 0);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0)
			note_io(scu, arca_error_set(ARCA_EIO, "recv: %s", strerror(errno)));
		scu_drop(scu);
		return 1;
	}
	(void)pacs_ul_feed(scu->ul, scu->rbuf, (size_t)n);
	if (scu->n_store_rsp > 0 && scu->proto_rc == 0)
		scu_flush_store_rsps(scu);
	if (scu->proto_rc != 0 && scu_state(scu) == PACS_UL_STA6) {
		/* a DIMSE violation: PS3.8 A-ABORT (service-user) */
		(void)pacs_ul_abort(scu->ul);
		scu_drop(scu);
	}
	return 1;
}

typedef bool (*scu_cond)(const pacs_scu *scu);

static bool cond_established(const pacs_scu *scu)
{
	return scu_state(scu) == PACS_UL_STA6 && scu->proto_rc == 0;
}

static bool cond_response(const pacs_scu *scu)
{
	return scu->have_rsp;
}

static bool cond_idle(const pacs_scu *scu)
{
	return scu_state(scu) == PACS_UL_STA1;
}

/* Feeds the machine until cond holds.  The association ending first, or
 * the timeout, is an error (the association is then gone). */
static int scu_wait(pacs_scu *scu, scu_cond cond, bool idle_ok, unsigned timeout_ms, const char *what)
{
	int64_t deadline = pacs_scu__now_ms() + timeout_ms;

	while (!cond(scu)) {
		enum pacs_ul_state st = scu_state(scu);
		int r;

		if (scu->proto_rc != 0 && st != PACS_UL_STA1) {
			/* a violation found in an indication: A-ABORT */
			pacs_scu_abort(scu);
			return scu_lost(scu, what);
		}
		/* Sta13 (we answered a release the peer started, or aborted on
		 * an invalid PDU): nothing more can come; do not wait for ARTIM */
		if ((st == PACS_UL_STA1 && !idle_ok) || st == PACS_UL_STA13)
			return scu_lost(scu, what);
		r = scu_pump(scu, deadline);
		/* DIMSE waits time out on silence, not on the whole wait: a
		 * C-GET's response follows a sub-operation of any size */
		if (r == 1 && cond == cond_response)
			deadline = pacs_scu__now_ms() + timeout_ms;
		if (r == 0) {
			int rc = arca_error_set(ARCA_EIO, "%s@%s:%u: timed out after %u ms waiting for %s",
						scu->called_ae, scu->host, (unsigned)scu->port, timeout_ms, what);
			char msg[SCU_DETAIL_MAX];

			snprintf(msg, sizeof(msg), "%s", arca_error_last());
			pacs_scu_abort(scu);
			return arca_error_set(rc, "%s; association aborted", msg);
		}
	}
	return 0;
}

/* After an event we raised: a port error means the transport is broken
 * (pacs_ul.h): close, tell the machine, report the transport's error. */
static int scu_after(pacs_scu *scu, int rc, const char *what)
{
	if (rc == 0 && scu->io_rc == 0)
		return 0;
	if (scu->io_rc != 0 || scu->fd < 0)
		return scu_lost(scu, what);
	return rc;
}

/* ------------------------------------------------------------ association */

int pacs_scu_associate(pacs_scu *scu)
{
	pacs_pdu_pctx *pctx = NULL;
	pacs_pdu_role *roles = NULL;
	pacs_pdu_ext_neg *ext = NULL;
	pacs_pdu_assoc rq;
	pacs_ul_opts uopts;
	size_t accepted = 0;
	int rc;

	if (scu == NULL)
		return arca_error_set(ARCA_EINVAL, "scu: no client");
	if (scu->associated_once)
		return arca_error_set(ARCA_EINVAL, "scu: a pacs_scu associates once; make a new one");
	scu->associated_once = true;

	const pacs_ul_port port = {
		.ctx = scu,
		.send_pdu = port_send,
		.connect_transport = port_connect,
		.close_transport = port_close,
		.start_artim = port_start_artim,
		.stop_artim = port_stop_artim,
		.on_associate_ac = on_ac,
		.on_associate_rj = on_rj,
		.on_pdata = on_pdata,
		.on_release_rq = on_release_rq,
		.on_abort = on_abort,
		.log = on_log,
	};
	const pacs_dimse_asm_cb cb = { asm_command, asm_data };

	pacs_ul_opts_init(&uopts);
	uopts.max_pdata_length = scu->max_pdu;
	if ((rc = pacs_ul_new(&scu->ul, &port, &uopts)) < 0)
		return rc;
	if ((rc = pacs_dimse_asm_new(&scu->asm_, &cb, scu)) < 0)
		return rc;

	/* PS3.8 9.3.2, Table 9-11 */
	pctx = calloc(scu->n_ctx, sizeof(*pctx));
	if (pctx == NULL)
		return arca_error_set(ARCA_ENOMEM, "scu: out of memory");
	if (scu->n_roles > 0) {
		roles = calloc(scu->n_roles, sizeof(*roles));
		if (roles == NULL) {
			free(pctx);
			return arca_error_set(ARCA_ENOMEM, "scu: out of memory");
		}
		for (size_t i = 0; i < scu->n_roles; i++) {
			roles[i].sop_class_uid = scu->roles[i].uid;
			roles[i].scu_role = scu->roles[i].scu_role;
			roles[i].scp_role = scu->roles[i].scp_role;
		}
	}
	if (scu->n_ext_neg > 0) {
		ext = calloc(scu->n_ext_neg, sizeof(*ext));
		if (ext == NULL) {
			free(pctx);
			free(roles);
			return arca_error_set(ARCA_ENOMEM, "scu: out of memory");
		}
		for (size_t i = 0; i < scu->n_ext_neg; i++) {
			ext[i].sop_class_uid = scu->ext_neg[i].uid;
			ext[i].info = scu->ext_neg[i].info;
			ext[i].info_len = scu->ext_neg[i].info_len;
		}
	}
	for (size_t i = 0; i < scu->n_ctx; i++) {
		pctx[i].id = scu->ctx[i].info.id;
		pctx[i].abstract_syntax = scu->ctx[i].abstract;
		pctx[i].transfer_syntaxes = (const char *const *)scu->ctx[i].ts;
		pctx[i].n_transfer_syntaxes = scu->ctx[i].n_ts;
	}
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.called_ae, sizeof(rq.called_ae), "%s", scu->called_ae);
	snprintf(rq.calling_ae, sizeof(rq.calling_ae), "%s", scu->calling_ae);
	rq.pctx = pctx;
	rq.n_pctx = scu->n_ctx;
	/* PS3.7 D.3.3.2, PS3.8 D.1.  No Asynchronous Operations Window item:
	 * its absence means one operation at a time (PS3.7 D.3.3.3). */
	rq.user_info.max_length = scu->max_pdu;
	rq.user_info.impl_class_uid = PACS_IMPLEMENTATION_CLASS_UID;
	rq.user_info.impl_version_name = PACS_IMPLEMENTATION_VERSION;
	rq.user_info.roles = roles;
	rq.user_info.n_roles = scu->n_roles;
	rq.user_info.ext_neg = ext;
	rq.user_info.n_ext_neg = scu->n_ext_neg;

	rc = pacs_ul_associate(scu->ul, &rq); /* AE-1: connects (port_connect) */
	free(pctx);
	free(roles);
	free(ext);
	if (rc < 0 && scu->io_rc == 0)
		return rc; /* the RQ did not encode */
	if (scu->connect_rc < 0) {
		char msg[SCU_DETAIL_MAX];

		snprintf(msg, sizeof(msg), "%s", scu->io_msg);
		scu_drop(scu); /* Evt17 in Sta4: AA-4 */
		return arca_error_set(ARCA_EIO, "%s", msg);
	}
	rc = pacs_ul_transport_connected(scu->ul); /* Evt2, AE-2: the RQ goes out */
	if ((rc = scu_after(scu, rc, "the A-ASSOCIATE-AC")) < 0)
		return rc;
	if ((rc = scu_wait(scu, cond_established, false, scu->acse_ms, "an A-ASSOCIATE-AC")) < 0)
		return rc;
	for (size_t i = 0; i < scu->n_ctx; i++)
		if (scu->ctx[i].info.transfer_syntax != NULL)
			accepted++;
	if (accepted == 0) {
		char msg[SCU_DETAIL_MAX];
		const scu_ctx *c = &scu->ctx[0];

		snprintf(msg, sizeof(msg),
			 "%s@%s:%u accepted the association but none of its %zu presentation contexts "
			 "(the first, %s, got result %u, PS3.8 Table 9-18)",
			 scu->called_ae, scu->host, (unsigned)scu->port, scu->n_ctx, c->abstract, c->info.result);
		(void)pacs_scu_release(scu);
		return arca_error_set(ARCA_EUNSUPPORTED, "%s", msg);
	}
	return 0;
}

bool pacs_scu_established(const pacs_scu *scu)
{
	return scu != NULL && scu_state(scu) == PACS_UL_STA6 && scu->fd >= 0 && scu->proto_rc == 0;
}

const pacs_pdu_reject *pacs_scu_rejection(const pacs_scu *scu)
{
	return scu != NULL && scu->rejected ? &scu->rj : NULL;
}

const pacs_ul_abort_info *pacs_scu_abort_info(const pacs_scu *scu)
{
	return scu != NULL && scu->aborted ? &scu->abort : NULL;
}

size_t pacs_scu_ctx_count(const pacs_scu *scu)
{
	return scu->n_ctx;
}

const pacs_scu_ctx_info *pacs_scu_ctx_at(const pacs_scu *scu, size_t i)
{
	return i < scu->n_ctx ? &scu->ctx[i].info : NULL;
}

const scu_ctx *pacs_scu__ctx_for(const pacs_scu *scu, const char *sop_class, const char *ts)
{
	for (size_t i = 0; i < scu->n_ctx; i++) {
		const scu_ctx *c = &scu->ctx[i];

		if (c->info.transfer_syntax == NULL || strcmp(c->abstract, sop_class) != 0)
			continue;
		if (ts == NULL || strcmp(c->accepted_ts, ts) == 0)
			return c;
	}
	return NULL;
}

const pacs_scu_ctx_info *pacs_scu_ctx_find(const pacs_scu *scu, const char *abstract_syntax, const char *ts)
{
	const scu_ctx *c = pacs_scu__ctx_for(scu, abstract_syntax, ts);

	return c != NULL ? &c->info : NULL;
}

uint32_t pacs_scu_peer_max_pdu(const pacs_scu *scu)
{
	return scu->peer_max_pdu;
}

bool pacs_scu_scp_role_accepted(const pacs_scu *scu, const char *sop_class)
{
	for (size_t i = 0; i < scu->n_roles; i++)
		if (strcmp(scu->roles[i].uid, sop_class) == 0)
			return scu->roles[i].scp_accepted;
	return false;
}

const uint8_t *pacs_scu_ext_neg_answer(const pacs_scu *scu, const char *sop_class, size_t *len)
{
	*len = 0;
	for (size_t i = 0; i < scu->n_ext_neg; i++)
		if (scu->ext_neg[i].answered && strcmp(scu->ext_neg[i].uid, sop_class) == 0) {
			*len = scu->ext_neg[i].answer_len;
			return scu->ext_neg[i].answer;
		}
	return NULL;
}

/* ------------------------------------------------------------ DIMSE out */

uint16_t pacs_scu__message_id(pacs_scu *scu)
{
	uint16_t id = scu->next_message_id++;

	if (scu->next_message_id == 0)
		scu->next_message_id = 1;
	return id;
}

static int scu_ready(pacs_scu *scu, const char *what)
{
	if (scu == NULL || scu->ul == NULL)
		return arca_error_set(ARCA_EINVAL, "scu: %s before pacs_scu_associate()", what);
	if (!pacs_scu_established(scu))
		return arca_error_set(ARCA_EINVAL, "scu: %s: no association with %s@%s:%u (it has ended)", what,
				      scu->called_ae, scu->host, (unsigned)scu->port);
	return 0;
}

/* One PDV in one P-DATA-TF (DT-1), then a look at what the peer sent
 * meanwhile: an A-ABORT ends the transfer now rather than at the next
 * write error. */
static int scu_send_pdv(pacs_scu *scu, const pacs_pdv *pdv, const char *what)
{
	int rc = pacs_ul_send_pdata(scu->ul, pdv, 1);

	if ((rc = scu_after(scu, rc, what)) < 0)
		return rc;
	/* Only until a response is queued: the caller takes it (a C-GET's
	 * peer may keep the socket readable for ever, and the pending
	 * response a cancel waits for would sit in the queue meanwhile). */
	while (scu->fd >= 0 && !scu->have_rsp && pacs_scu__wait_readable(scu->fd, 0) == 1) {
		(void)scu_pump(scu, 0);
		if (scu_state(scu) != PACS_UL_STA6)
			break;
	}
	if (!pacs_scu_established(scu))
		return scu_lost(scu, what);
	return 0;
}

int pacs_scu__send_command(pacs_scu *scu, uint8_t pc_id, const pacs_dimse_cmd *cmd)
{
	uint8_t enc[PACS_DIMSE_CMD_MAX_SIZE];
	pacs_dimse_frag *f = NULL;
	size_t n = 0;
	int rc;

	if ((rc = scu_ready(scu, pacs_dimse_command_name(cmd->command))) < 0)
		return rc;
	if ((rc = pacs_dimse_cmd_encode(enc, sizeof(enc), &n, cmd)) < 0)
		return rc;
	const pacs_dimse_out msg = { .pc_id = pc_id, .command = enc, .command_len = n };
	if ((rc = pacs_dimse_frag_new(&f, &msg, scu->peer_max_pdu)) < 0)
		return rc;
	/* PS3.7 9.3.2.3: a C-CANCEL-RQ has no response; the request it
	 * cancels stays outstanding (its responses may arrive while the
	 * C-CANCEL-RQ is being sent) */
	if (cmd->command != PACS_DIMSE_C_CANCEL_RQ) {
		scu->waiting_id = cmd->message_id;
		scu->waiting_cmd = (uint16_t)(cmd->command | PACS_DIMSE_RSP_BIT);
		scu->waiting_pc = pc_id;
	}
	for (;;) {
		const uint8_t *pdu;
		size_t len;

		if ((rc = pacs_dimse_frag_next(f, &pdu, &len)) < 0 || pdu == NULL)
			break;
		/* the fragmenter frames one PDV per PDU: 6-byte PDU header,
		 * 4-byte item length, context ID, control header, fragment */
		const pacs_pdv pdv = {
			.pctx_id = pdu[10],
			.flags = pdu[11],
			.data = &pdu[PACS_PDU_PDATA_SINGLE_HEADER_LEN],
			.len = len - PACS_PDU_PDATA_SINGLE_HEADER_LEN,
		};
		if ((rc = scu_send_pdv(scu, &pdv, pacs_dimse_command_name(scu->waiting_cmd))) < 0)
			break;
	}
	pacs_dimse_frag_free(f);
	return rc;
}

int pacs_scu__send_data(pacs_scu *scu, uint8_t pc_id, const uint8_t *data, size_t len, bool last)
{
	const pacs_pdv pdv = {
		.pctx_id = pc_id,
		.flags = last ? PACS_PDV_LAST : 0,
		.data = data,
		.len = len,
	};

	return scu_send_pdv(scu, &pdv, pacs_dimse_command_name(scu->waiting_cmd));
}

int pacs_scu__wait_response(pacs_scu *scu, pacs_dimse_cmd *rsp)
{
	int rc = scu_wait(scu, cond_response, false, scu->dimse_ms, pacs_dimse_command_name(scu->waiting_cmd));

	if (rc < 0)
		return rc;
	scu_rsp *e = scu->q_head;

	scu->q_head = e->next;
	if (scu->q_head == NULL)
		scu->q_tail = NULL;
	scu->q_bytes -= e->len;
	scu->have_rsp = scu->q_head != NULL;
	scu->rsp = e->cmd;
	*rsp = e->cmd;
	free(scu->rsp_data);
	scu->rsp_data = e->data;
	scu->rsp_len = e->len;
	free(e);
	return 0;
}

int pacs_scu__send_cancel(pacs_scu *scu, uint8_t pc_id, uint16_t message_id)
{
	uint16_t id = scu->waiting_id, cmd_field = scu->waiting_cmd;
	uint8_t pc = scu->waiting_pc;
	pacs_dimse_cmd cancel;
	int rc;

	pacs_dimse_cmd_init(&cancel, PACS_DIMSE_C_CANCEL_RQ);
	rc = pacs_dimse_cmd_set_u16(&cancel, PACS_DIMSE_F_MESSAGE_ID_RESPONDED, message_id);
	if (rc == 0)
		rc = pacs_scu__send_command(scu, pc_id, &cancel);
	scu->waiting_id = id;
	scu->waiting_cmd = cmd_field;
	scu->waiting_pc = pc;
	return rc;
}

int pacs_scu__send_with_identifier(pacs_scu *scu, uint8_t pc_id, const char *ts, const pacs_dimse_cmd *cmd,
				   const pacs_ds *identifier)
{
	pacs_buf enc;
	pacs_write_opts wo;
	size_t frag, off = 0;
	int rc;

	pacs_buf_init(&enc, SCU_RSP_DATA_MAX);
	pacs_write_opts_init(&wo);
	wo.ts_uid = ts;
	if ((rc = pacs_write_dataset(identifier, &wo, pacs_buf_sink, &enc)) < 0)
		goto out;
	if ((rc = pacs_scu__send_command(scu, pc_id, cmd)) < 0)
		goto out;
	frag = pacs_scu__fragment_max(scu);
	do {
		size_t n = pacs_buf_len(&enc) - off < frag ? pacs_buf_len(&enc) - off : frag;
		if ((rc = pacs_scu__send_data(scu, pc_id, pacs_buf_data(&enc) + off, n, off + n == pacs_buf_len(&enc))) < 0)
			goto out;
		off += n;
	} while (off < pacs_buf_len(&enc));
out:
	pacs_buf_free(&enc);
	return rc;
}

int pacs_scu__fail(pacs_scu *scu, int rc)
{
	char msg[SCU_DETAIL_MAX * 2];

	snprintf(msg, sizeof(msg), "%s", arca_error_last());
	pacs_scu_abort(scu);
	return arca_error_set(rc, "%s", msg);
}

int pacs_scu_echo(pacs_scu *scu, uint16_t *status)
{
	pacs_dimse_cmd cmd, rsp;
	const scu_ctx *c;
	int rc;

	if ((rc = scu_ready(scu, "C-ECHO")) < 0)
		return rc;
	c = pacs_scu__ctx_for(scu, UID_VERIFICATION, NULL);
	if (c == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s did not accept the Verification SOP Class (%s)",
				      scu->called_ae, UID_VERIFICATION);
	/* PS3.7 9.3.5.1, Table 9.3-12 */
	pacs_dimse_cmd_init(&cmd, PACS_DIMSE_C_ECHO_RQ);
	(void)pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_CLASS, UID_VERIFICATION);
	(void)pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MESSAGE_ID, pacs_scu__message_id(scu));
	if ((rc = pacs_scu__send_command(scu, c->info.id, &cmd)) < 0)
		return rc;
	if ((rc = pacs_scu__wait_response(scu, &rsp)) < 0)
		return rc;
	*status = rsp.status;
	return 0;
}

/* ------------------------------------------------------------ ending */

int pacs_scu_release(pacs_scu *scu)
{
	int rc;

	if (scu == NULL || scu->ul == NULL || scu_state(scu) == PACS_UL_STA1)
		return 0;
	if (scu_state(scu) != PACS_UL_STA6) {
		pacs_scu_abort(scu);
		return arca_error_set(ARCA_EINVAL, "scu: release: the association was not established; aborted");
	}
	/* PS3.8 7.2, AR-1: A-RELEASE-RQ, then Sta7 until the A-RELEASE-RP
	 * (AR-3 closes the transport, Sta1). */
	rc = pacs_ul_release(scu->ul);
	if ((rc = scu_after(scu, rc, "the A-RELEASE-RP")) < 0)
		return rc;
	rc = scu_wait(scu, cond_idle, true, scu->acse_ms, "an A-RELEASE-RP");
	close_fd(scu);
	if (rc == 0 && scu->aborted && scu->abort.origin != PACS_UL_ABORT_TRANSPORT)
		return scu_lost(scu, "an A-RELEASE-RP");
	return rc;
}

void pacs_scu_abort(pacs_scu *scu)
{
	if (scu == NULL || scu->ul == NULL)
		return;
	switch (scu_state(scu)) {
	case PACS_UL_STA1:
		close_fd(scu);
		return;
	case PACS_UL_STA13:
		break;
	default:
		/* AA-1 (A-ABORT, source service-user) or AA-2 in Sta4 */
		(void)pacs_ul_abort(scu->ul);
		break;
	}
	/* Sta13 waits for the peer to close; closing ourselves is allowed and
	 * frees the peer at once (Evt17: AR-5). */
	scu_drop(scu);
}

void pacs_scu_free(pacs_scu *scu)
{
	if (scu == NULL)
		return;
	pacs_scu_abort(scu);
	close_fd(scu);
	pacs_ul_free(scu->ul);
	pacs_dimse_asm_free(scu->asm_);
	rsp_free_all(scu);
	free(scu->rsp_data);
	ctx_free_all(scu);
	free(scu->roles);
	free(scu->ext_neg);
	free(scu);
}
