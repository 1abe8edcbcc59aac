/* pacs_ul_fsm.c - the DICOM Upper Layer state machine: PS3.8 9.2, the state
 * transition table of Table 9-10 and the actions of Tables 9-6 to 9-9,
 * plus the PDU framer that turns received bytes into events (see
 * pacs_ul.h for the contract). */
#include "pacs_ul.h"
#include "pacs_ul_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_buf.h"

/* Outgoing PDUs are encoded into one reusable buffer; the cap only guards
 * against a runaway caller (a P-DATA-TF is sized by the layer above from
 * the peer's Maximum Length Received). */
#define UL_OUT_MAX (64u * 1024u * 1024u)
#define UL_DETAIL_MAX 256u

/* The indication or confirmation an action issues: recorded by the action,
 * delivered by ul_dispatch() once the new state is set, so that the service
 * user can answer from inside the callback. */
enum ul_ind_kind {
	IND_NONE = 0,
	IND_ASSOCIATE_RQ,
	IND_ASSOCIATE_AC,
	IND_ASSOCIATE_RJ,
	IND_PDATA,
	IND_RELEASE_RQ,
	IND_RELEASE_RP,
	IND_ABORT
};

typedef struct ul_ind {
	enum ul_ind_kind kind;
	bool collision;
	pacs_pdu_reject rj;
	const pacs_pdv *pdvs;
	size_t n_pdvs;
	pacs_ul_abort_info abort;
	char detail[UL_DETAIL_MAX];
} ul_ind;

/* What an event brings to its action: the caller's arguments for a local
 * event, the decoded PDU for a received one. */
typedef struct ul_in {
	pacs_ul_arg arg;
	pacs_pdu_assoc *assoc;  /* Evt3, Evt6: decoded; an action may take it */
	pacs_pdu_reject reject; /* Evt4 */
	pacs_pdu_abort abort;   /* Evt16 */
	const pacs_pdv *pdvs;   /* Evt10 */
	size_t n_pdvs;
} ul_in;

struct pacs_ul {
	pacs_ul_port port;
	pacs_ul_opts opts;
	enum pacs_ul_state state;
	bool requestor;
	bool in_action; /* an action (and so an effect callback) is running */
	bool feeding;
	int err;        /* first error of the running action */

	/* framer */
	pacs_buf in;    /* the partial PDU, header included */
	bool in_dead;   /* after Evt19 from the framer: drop input */
	pacs_pdv *pdvs;
	size_t pdv_cap;

	/* outgoing */
	pacs_buf out;       /* encoded PDU of the running event */
	uint8_t pdata_hdr[PACS_PDU_PDATA_SINGLE_HEADER_LEN];
	bool out_split;     /* send pdata_hdr + split_body instead of out */
	const uint8_t *split_body;
	size_t split_len;
	pacs_buf rq_bytes;  /* requestor: the A-ASSOCIATE-RQ, from AE-1 to AE-2 */

	pacs_pdu_assoc *peer_rq; /* owned */
	pacs_pdu_assoc *peer_ac; /* owned */

	ul_ind ind;
};

typedef enum pacs_ul_state (*ul_action_fn)(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in);

typedef struct ul_action {
	const char *name;
	ul_action_fn fn;
} ul_action;

/* ------------------------------------------------------------ effects */

static void ul_fail(pacs_ul *ul, int rc)
{
	if (rc < 0 && ul->err == 0)
		ul->err = rc;
}

static void ul_send_out(pacs_ul *ul)
{
	int rc;

	if (ul->out_split)
		rc = ul->port.send_pdu(ul->port.ctx, ul->pdata_hdr, sizeof(ul->pdata_hdr), ul->split_body,
				       ul->split_len);
	else
		rc = ul->port.send_pdu(ul->port.ctx, pacs_buf_data(&ul->out), pacs_buf_len(&ul->out),
				       NULL, 0);
	ul_fail(ul, rc);
}

/* Encodes an A-ABORT PDU into out and sends it. */
static void ul_send_abort(pacs_ul *ul, uint8_t source, uint8_t reason)
{
	const pacs_pdu_abort ab = { .source = source, .reason = reason };
	int rc;

	pacs_buf_reset(&ul->out);
	ul->out_split = false;
	rc = pacs_pdu_encode_abort(&ul->out, &ab);
	if (rc < 0) {
		ul_fail(ul, rc);
		return;
	}
	ul_send_out(ul);
}

static void ul_send_release(pacs_ul *ul, bool response)
{
	int rc;

	pacs_buf_reset(&ul->out);
	ul->out_split = false;
	rc = response ? pacs_pdu_encode_release_rp(&ul->out) : pacs_pdu_encode_release_rq(&ul->out);
	if (rc < 0) {
		ul_fail(ul, rc);
		return;
	}
	ul_send_out(ul);
}

static void ul_start_artim(pacs_ul *ul)
{
	if (ul->port.start_artim != NULL)
		ul->port.start_artim(ul->port.ctx);
}

static void ul_stop_artim(pacs_ul *ul)
{
	if (ul->port.stop_artim != NULL)
		ul->port.stop_artim(ul->port.ctx);
}

static void ul_close(pacs_ul *ul)
{
	if (ul->port.close_transport != NULL)
		ul->port.close_transport(ul->port.ctx);
}

static void ul_indicate_abort(pacs_ul *ul, enum pacs_ul_abort_origin origin, uint8_t source,
			      uint8_t reason, const char *detail)
{
	ul->ind.kind = IND_ABORT;
	ul->ind.abort.origin = origin;
	ul->ind.abort.source = source;
	ul->ind.abort.reason = reason;
	snprintf(ul->ind.detail, sizeof(ul->ind.detail), "%s", detail != NULL ? detail : "");
}

/* A new connection starts: forget the previous association. */
static void ul_reset_connection(pacs_ul *ul)
{
	pacs_buf_reset(&ul->in);
	ul->in_dead = false;
	pacs_pdu_assoc_free(ul->peer_rq);
	ul->peer_rq = NULL;
	pacs_pdu_assoc_free(ul->peer_ac);
	ul->peer_ac = NULL;
}

/* ------------------------------------------------------------ actions
 * PS3.8 9.2.2.  Each performs its effects and returns the next state. */

/* AE-1: issue TRANSPORT CONNECT request primitive; the RQ was encoded into
 * rq_bytes by pacs_ul_event(). */
static enum pacs_ul_state ae_1(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul->requestor = true;
	if (ul->port.connect_transport != NULL)
		ul->port.connect_transport(ul->port.ctx);
	return PACS_UL_STA4;
}

/* AE-2: send A-ASSOCIATE-RQ PDU. */
static enum pacs_ul_state ae_2(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_fail(ul, ul->port.send_pdu(ul->port.ctx, pacs_buf_data(&ul->rq_bytes),
				      pacs_buf_len(&ul->rq_bytes), NULL, 0));
	return PACS_UL_STA5;
}

/* AE-3: issue A-ASSOCIATE confirmation (accept) primitive. */
static enum pacs_ul_state ae_3(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	pacs_pdu_assoc_free(ul->peer_ac);
	ul->peer_ac = in->assoc;
	in->assoc = NULL;
	ul->ind.kind = IND_ASSOCIATE_AC;
	return PACS_UL_STA6;
}

/* AE-4: issue A-ASSOCIATE confirmation (reject) primitive and close the
 * transport connection. */
static enum pacs_ul_state ae_4(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_close(ul);
	ul->ind.kind = IND_ASSOCIATE_RJ;
	ul->ind.rj = in->reject;
	return PACS_UL_STA1;
}

/* AE-5: issue transport connection response primitive (the owner has
 * accepted the connection already); start ARTIM. */
static enum pacs_ul_state ae_5(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul->requestor = false;
	ul_start_artim(ul);
	return PACS_UL_STA2;
}

/* AE-6: stop ARTIM; if the A-ASSOCIATE-RQ is acceptable by the service
 * provider issue the A-ASSOCIATE indication, otherwise send an
 * A-ASSOCIATE-RJ and start ARTIM.  The provider's only test is the one PS3.8
 * 9.3.2 gives it: bit 0 of the protocol version (Table 9-21: rejected-
 * permanent, source 2 service-provider (ACSE), reason 2 protocol-version-
 * not-supported).  Everything else is the service user's decision. */
static enum pacs_ul_state ae_6(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	bool version_ok = (in->assoc->protocol_version & PACS_PDU_PROTOCOL_VERSION) != 0;
	const pacs_pdu_reject rj = { .result = PACS_PDU_RJ_PERMANENT,
				     .source = PACS_PDU_RJ_SOURCE_ACSE,
				     .reason = PACS_PDU_RJ_ACSE_PROTOCOL_VERSION_NOT_SUPPORTED };
	int rc;

	ul_stop_artim(ul);
	pacs_pdu_assoc_free(ul->peer_rq);
	ul->peer_rq = in->assoc;
	in->assoc = NULL;
	if (version_ok) {
		ul->ind.kind = IND_ASSOCIATE_RQ;
		return PACS_UL_STA3;
	}
	pacs_buf_reset(&ul->out);
	ul->out_split = false;
	rc = pacs_pdu_encode_reject(&ul->out, &rj);
	if (rc < 0)
		ul_fail(ul, rc);
	else
		ul_send_out(ul);
	ul_start_artim(ul);
	return PACS_UL_STA13;
}

/* AE-7: send A-ASSOCIATE-AC PDU (encoded by pacs_ul_event()). */
static enum pacs_ul_state ae_7(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_out(ul);
	return PACS_UL_STA6;
}

/* AE-8: send A-ASSOCIATE-RJ PDU and start ARTIM. */
static enum pacs_ul_state ae_8(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_out(ul);
	ul_start_artim(ul);
	return PACS_UL_STA13;
}

/* DT-1: send P-DATA-TF PDU. */
static enum pacs_ul_state dt_1(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_out(ul);
	return PACS_UL_STA6;
}

static void ul_indicate_pdata(pacs_ul *ul, const ul_in *in)
{
	ul->ind.kind = IND_PDATA;
	ul->ind.pdvs = in->pdvs;
	ul->ind.n_pdvs = in->n_pdvs;
}

/* DT-2: send P-DATA indication primitive. */
static enum pacs_ul_state dt_2(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_indicate_pdata(ul, in);
	return PACS_UL_STA6;
}

/* AR-1: send A-RELEASE-RQ PDU. */
static enum pacs_ul_state ar_1(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_release(ul, false);
	return PACS_UL_STA7;
}

/* AR-2: issue A-RELEASE indication primitive. */
static enum pacs_ul_state ar_2(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul->ind.kind = IND_RELEASE_RQ;
	ul->ind.collision = false;
	return PACS_UL_STA8;
}

/* AR-3: issue A-RELEASE confirmation primitive and close the transport. */
static enum pacs_ul_state ar_3(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_close(ul);
	ul->ind.kind = IND_RELEASE_RP;
	return PACS_UL_STA1;
}

/* AR-4: send A-RELEASE-RP PDU and start ARTIM. */
static enum pacs_ul_state ar_4(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_release(ul, true);
	ul_start_artim(ul);
	return PACS_UL_STA13;
}

/* AR-5: stop ARTIM (the peer closed the transport after our RP). */
static enum pacs_ul_state ar_5(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_stop_artim(ul);
	return PACS_UL_STA1;
}

/* AR-6: issue P-DATA indication (data still arriving after our RQ). */
static enum pacs_ul_state ar_6(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_indicate_pdata(ul, in);
	return PACS_UL_STA7;
}

/* AR-7: send P-DATA-TF PDU (before answering the peer's release RQ). */
static enum pacs_ul_state ar_7(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_out(ul);
	return PACS_UL_STA8;
}

/* AR-8: issue A-RELEASE indication (release collision); the requestor
 * answers first (Sta9), the acceptor waits for its RP (Sta10). */
static enum pacs_ul_state ar_8(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul->ind.kind = IND_RELEASE_RQ;
	ul->ind.collision = true;
	return ul->requestor ? PACS_UL_STA9 : PACS_UL_STA10;
}

/* AR-9: send A-RELEASE-RP PDU. */
static enum pacs_ul_state ar_9(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_release(ul, true);
	return PACS_UL_STA11;
}

/* AR-10: issue A-RELEASE confirmation primitive. */
static enum pacs_ul_state ar_10(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul->ind.kind = IND_RELEASE_RP;
	return PACS_UL_STA12;
}

/* AA-1: send A-ABORT PDU (service-user source, so the reason is 0, PS3.8
 * 9.3.8) and start or restart ARTIM. */
static enum pacs_ul_state aa_1(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_abort(ul, PACS_PDU_ABORT_SOURCE_USER, PACS_PDU_ABORT_REASON_NOT_SPECIFIED);
	ul_start_artim(ul);
	return PACS_UL_STA13;
}

/* AA-2: stop ARTIM if running; close the transport. */
static enum pacs_ul_state aa_2(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_stop_artim(ul);
	ul_close(ul);
	return PACS_UL_STA1;
}

/* AA-3: the peer aborted.  Service-user initiated: A-ABORT indication;
 * service-provider initiated: A-P-ABORT indication.  Close the transport. */
static enum pacs_ul_state aa_3(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	bool user = in->abort.source == PACS_PDU_ABORT_SOURCE_USER;

	ul_close(ul);
	ul_indicate_abort(ul, user ? PACS_UL_ABORT_PEER_USER : PACS_UL_ABORT_PEER_PROVIDER,
			  in->abort.source, in->abort.reason, user ? "A-ABORT from the peer's user"
								 : "A-ABORT from the peer's provider");
	return PACS_UL_STA1;
}

/* AA-4: the transport closed: issue A-P-ABORT indication. */
static enum pacs_ul_state aa_4(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_indicate_abort(ul, PACS_UL_ABORT_TRANSPORT, PACS_PDU_ABORT_SOURCE_PROVIDER,
			  PACS_PDU_ABORT_REASON_NOT_SPECIFIED, "transport connection closed");
	return PACS_UL_STA1;
}

/* AA-5: stop ARTIM (the peer closed before sending an RQ). */
static enum pacs_ul_state aa_5(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_stop_artim(ul);
	return PACS_UL_STA1;
}

/* AA-6: ignore the PDU (the association is gone; only the close is awaited). */
static enum pacs_ul_state aa_6(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	return PACS_UL_STA13;
}

/* The A-ABORT reason for a provider abort caused by a received PDU. */
static uint8_t ul_provider_reason(enum pacs_ul_event ev, const ul_in *in)
{
	if (ev == PACS_UL_EVT19_INVALID_PDU)
		return in->arg.invalid_reason;
	return PACS_PDU_ABORT_UNEXPECTED_PDU;
}

/* AA-7: send A-ABORT PDU (an RQ or an invalid PDU while awaiting the
 * close): service-provider source, the reason of ul_provider_reason(). */
static enum pacs_ul_state aa_7(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	ul_send_abort(ul, PACS_PDU_ABORT_SOURCE_PROVIDER, ul_provider_reason(ev, in));
	return PACS_UL_STA13;
}

/* AA-8: send A-ABORT PDU (service-provider source), issue an A-P-ABORT
 * indication and start ARTIM. */
static enum pacs_ul_state aa_8(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	uint8_t reason = ul_provider_reason(ev, in);
	char detail[UL_DETAIL_MAX];

	if (ev == PACS_UL_EVT19_INVALID_PDU)
		snprintf(detail, sizeof(detail), "invalid PDU: %s",
			 in->arg.detail != NULL ? in->arg.detail : "(no detail)");
	else
		snprintf(detail, sizeof(detail), "%s not expected in %s", pacs_ul_event_name(ev),
			 pacs_ul_state_name(ul->state));
	ul_send_abort(ul, PACS_PDU_ABORT_SOURCE_PROVIDER, reason);
	ul_indicate_abort(ul, PACS_UL_ABORT_LOCAL_PROVIDER, PACS_PDU_ABORT_SOURCE_PROVIDER, reason,
			  detail);
	ul_start_artim(ul);
	return PACS_UL_STA13;
}

#define ACTION(n, f) static const ul_action f##_act = { n, f }
ACTION("AE-1", ae_1);
ACTION("AE-2", ae_2);
ACTION("AE-3", ae_3);
ACTION("AE-4", ae_4);
ACTION("AE-5", ae_5);
ACTION("AE-6", ae_6);
ACTION("AE-7", ae_7);
ACTION("AE-8", ae_8);
ACTION("DT-1", dt_1);
ACTION("DT-2", dt_2);
ACTION("AR-1", ar_1);
ACTION("AR-2", ar_2);
ACTION("AR-3", ar_3);
ACTION("AR-4", ar_4);
ACTION("AR-5", ar_5);
ACTION("AR-6", ar_6);
ACTION("AR-7", ar_7);
ACTION("AR-8", ar_8);
ACTION("AR-9", ar_9);
ACTION("AR-10", ar_10);
ACTION("AA-1", aa_1);
ACTION("AA-2", aa_2);
ACTION("AA-3", aa_3);
ACTION("AA-4", aa_4);
ACTION("AA-5", aa_5);
ACTION("AA-6", aa_6);
ACTION("AA-7", aa_7);
ACTION("AA-8", aa_8);
#undef ACTION

/* PS3.8 Table 9-10, DICOM Upper Layer Protocol State Transition Table:
 * [event][state] -> action; NULL is a blank cell ("not defined"). */
#define S(n) [PACS_UL_STA##n]
static const ul_action *const transitions[PACS_UL_EVENT_COUNT + 1][PACS_UL_STATE_COUNT + 1] = {
	[PACS_UL_EVT1_ASSOCIATE_REQUEST] = { S(1) = &ae_1_act },
	[PACS_UL_EVT2_TRANSPORT_CONFIRM] = { S(4) = &ae_2_act },
	[PACS_UL_EVT3_ASSOCIATE_AC_PDU] = {
		S(2) = &aa_1_act, S(3) = &aa_8_act, S(5) = &ae_3_act, S(6) = &aa_8_act,
		S(7) = &aa_8_act, S(8) = &aa_8_act, S(9) = &aa_8_act, S(10) = &aa_8_act,
		S(11) = &aa_8_act, S(12) = &aa_8_act, S(13) = &aa_6_act },
	[PACS_UL_EVT4_ASSOCIATE_RJ_PDU] = {
		S(2) = &aa_1_act, S(3) = &aa_8_act, S(5) = &ae_4_act, S(6) = &aa_8_act,
		S(7) = &aa_8_act, S(8) = &aa_8_act, S(9) = &aa_8_act, S(10) = &aa_8_act,
		S(11) = &aa_8_act, S(12) = &aa_8_act, S(13) = &aa_6_act },
	[PACS_UL_EVT5_TRANSPORT_INDICATION] = { S(1) = &ae_5_act },
	[PACS_UL_EVT6_ASSOCIATE_RQ_PDU] = {
		S(2) = &ae_6_act, S(3) = &aa_8_act, S(5) = &aa_8_act, S(6) = &aa_8_act,
		S(7) = &aa_8_act, S(8) = &aa_8_act, S(9) = &aa_8_act, S(10) = &aa_8_act,
		S(11) = &aa_8_act, S(12) = &aa_8_act, S(13) = &aa_7_act },
	[PACS_UL_EVT7_ASSOCIATE_ACCEPT] = { S(3) = &ae_7_act },
	[PACS_UL_EVT8_ASSOCIATE_REJECT] = { S(3) = &ae_8_act },
	[PACS_UL_EVT9_P_DATA_REQUEST] = { S(6) = &dt_1_act, S(8) = &ar_7_act },
	[PACS_UL_EVT10_P_DATA_PDU] = {
		S(2) = &aa_1_act, S(3) = &aa_8_act, S(5) = &aa_8_act, S(6) = &dt_2_act,
		S(7) = &ar_6_act, S(8) = &aa_8_act, S(9) = &aa_8_act, S(10) = &aa_8_act,
		S(11) = &aa_8_act, S(12) = &aa_8_act, S(13) = &aa_6_act },
	[PACS_UL_EVT11_RELEASE_REQUEST] = { S(6) = &ar_1_act },
	[PACS_UL_EVT12_RELEASE_RQ_PDU] = {
		S(2) = &aa_1_act, S(3) = &aa_8_act, S(5) = &aa_8_act, S(6) = &ar_2_act,
		S(7) = &ar_8_act, S(8) = &aa_8_act, S(9) = &aa_8_act, S(10) = &aa_8_act,
		S(11) = &aa_8_act, S(12) = &aa_8_act, S(13) = &aa_6_act },
	[PACS_UL_EVT13_RELEASE_RP_PDU] = {
		S(2) = &aa_1_act, S(3) = &aa_8_act, S(5) = &aa_8_act, S(6) = &aa_8_act,
		S(7) = &ar_3_act, S(8) = &aa_8_act, S(9) = &aa_8_act, S(10) = &ar_10_act,
		S(11) = &ar_3_act, S(12) = &aa_8_act, S(13) = &aa_6_act },
	[PACS_UL_EVT14_RELEASE_RESPONSE] = { S(8) = &ar_4_act, S(9) = &ar_9_act, S(12) = &ar_4_act },
	[PACS_UL_EVT15_ABORT_REQUEST] = {
		S(3) = &aa_1_act, S(4) = &aa_2_act, S(5) = &aa_1_act, S(6) = &aa_1_act,
		S(7) = &aa_1_act, S(8) = &aa_1_act, S(9) = &aa_1_act, S(10) = &aa_1_act,
		S(11) = &aa_1_act, S(12) = &aa_1_act },
	[PACS_UL_EVT16_ABORT_PDU] = {
		S(2) = &aa_2_act, S(3) = &aa_3_act, S(5) = &aa_3_act, S(6) = &aa_3_act,
		S(7) = &aa_3_act, S(8) = &aa_3_act, S(9) = &aa_3_act, S(10) = &aa_3_act,
		S(11) = &aa_3_act, S(12) = &aa_3_act, S(13) = &aa_2_act },
	[PACS_UL_EVT17_TRANSPORT_CLOSED] = {
		S(2) = &aa_5_act, S(3) = &aa_4_act, S(4) = &aa_4_act, S(5) = &aa_4_act,
		S(6) = &aa_4_act, S(7) = &aa_4_act, S(8) = &aa_4_act, S(9) = &aa_4_act,
		S(10) = &aa_4_act, S(11) = &aa_4_act, S(12) = &aa_4_act, S(13) = &ar_5_act },
	[PACS_UL_EVT18_ARTIM_EXPIRED] = { S(2) = &aa_2_act, S(13) = &aa_2_act },
	[PACS_UL_EVT19_INVALID_PDU] = {
		S(2) = &aa_1_act, S(3) = &aa_8_act, S(5) = &aa_8_act, S(6) = &aa_8_act,
		S(7) = &aa_8_act, S(8) = &aa_8_act, S(9) = &aa_8_act, S(10) = &aa_8_act,
		S(11) = &aa_8_act, S(12) = &aa_8_act, S(13) = &aa_7_act },
};
#undef S

/* ------------------------------------------------------------ names */

static const char *const state_names[PACS_UL_STATE_COUNT + 1] = {
	"?", "Sta1", "Sta2", "Sta3", "Sta4", "Sta5", "Sta6", "Sta7",
	"Sta8", "Sta9", "Sta10", "Sta11", "Sta12", "Sta13"
};

/* PS3.8 Tables 9-1 to 9-5. */
static const char *const state_texts[PACS_UL_STATE_COUNT + 1] = {
	"?",
	"Idle",
	"Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)",
	"Awaiting local A-ASSOCIATE response primitive (from local user)",
	"Awaiting transport connection opening to complete (from local transport service)",
	"Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU",
	"Association established and ready for data transfer",
	"Awaiting A-RELEASE-RP PDU",
	"Awaiting local A-RELEASE response primitive (from local user)",
	"Release collision requestor side; awaiting A-RELEASE response (from local user)",
	"Release collision acceptor side; awaiting A-RELEASE-RP PDU",
	"Release collision requestor side; awaiting A-RELEASE-RP PDU",
	"Release collision acceptor side; awaiting A-RELEASE response primitive (from local user)",
	"Awaiting Transport Connection Close Indication (Association no longer exists)",
};

static const char *const event_names[PACS_UL_EVENT_COUNT + 1] = {
	"?", "Evt1", "Evt2", "Evt3", "Evt4", "Evt5", "Evt6", "Evt7", "Evt8", "Evt9", "Evt10",
	"Evt11", "Evt12", "Evt13", "Evt14", "Evt15", "Evt16", "Evt17", "Evt18", "Evt19"
};

static bool state_valid(int s)
{
	return s >= PACS_UL_STA1 && s <= PACS_UL_STA13;
}

static bool event_valid(int e)
{
	return e >= PACS_UL_EVT1_ASSOCIATE_REQUEST && e <= PACS_UL_EVT19_INVALID_PDU;
}

const char *pacs_ul_state_name(enum pacs_ul_state s)
{
	return state_valid((int)s) ? state_names[s] : "?";
}

const char *pacs_ul_state_text(enum pacs_ul_state s)
{
	return state_valid((int)s) ? state_texts[s] : "?";
}

const char *pacs_ul_event_name(enum pacs_ul_event e)
{
	return event_valid((int)e) ? event_names[e] : "?";
}

/* ------------------------------------------------------------ dispatch */

static void ul_deliver(pacs_ul *ul)
{
	ul_ind ind = ul->ind; /* a nested event may reuse ul->ind */
	const pacs_ul_port *p = &ul->port;

	ul->ind.kind = IND_NONE;
	switch (ind.kind) {
	case IND_NONE:
		break;
	case IND_ASSOCIATE_RQ:
		if (p->on_associate_rq != NULL)
			p->on_associate_rq(p->ctx, ul->peer_rq);
		break;
	case IND_ASSOCIATE_AC:
		if (p->on_associate_ac != NULL)
			p->on_associate_ac(p->ctx, ul->peer_ac);
		break;
	case IND_ASSOCIATE_RJ:
		if (p->on_associate_rj != NULL)
			p->on_associate_rj(p->ctx, &ind.rj);
		break;
	case IND_PDATA:
		if (p->on_pdata != NULL)
			p->on_pdata(p->ctx, ind.pdvs, ind.n_pdvs);
		break;
	case IND_RELEASE_RQ:
		if (p->on_release_rq != NULL)
			p->on_release_rq(p->ctx, ind.collision);
		break;
	case IND_RELEASE_RP:
		if (p->on_release_rp != NULL)
			p->on_release_rp(p->ctx);
		break;
	case IND_ABORT:
		ind.abort.detail = ind.detail;
		if (p->on_abort != NULL)
			p->on_abort(p->ctx, &ind.abort);
		break;
	}
}

/* A pair not in Table 9-10 (see pacs_ul.h): Sta1 refuses, Sta4 gives up the
 * connection attempt, every other state aborts as AA-8 does. */
static enum pacs_ul_state ul_undefined(pacs_ul *ul, enum pacs_ul_event ev, const char **action)
{
	char detail[UL_DETAIL_MAX];

	snprintf(detail, sizeof(detail), "%s not defined in %s (PS3.8 Table 9-10)",
		 pacs_ul_event_name(ev), pacs_ul_state_name(ul->state));
	if (ul->state == PACS_UL_STA4) {
		*action = "AA-2";
		ul_close(ul);
		ul_indicate_abort(ul, PACS_UL_ABORT_LOCAL_PROVIDER, PACS_PDU_ABORT_SOURCE_PROVIDER,
				  PACS_PDU_ABORT_REASON_NOT_SPECIFIED, detail);
		return PACS_UL_STA1;
	}
	*action = "AA-8";
	ul_send_abort(ul, PACS_PDU_ABORT_SOURCE_PROVIDER, PACS_PDU_ABORT_REASON_NOT_SPECIFIED);
	ul_indicate_abort(ul, PACS_UL_ABORT_LOCAL_PROVIDER, PACS_PDU_ABORT_SOURCE_PROVIDER,
			  PACS_PDU_ABORT_REASON_NOT_SPECIFIED, detail);
	ul_start_artim(ul);
	return PACS_UL_STA13;
}

/* The one place where the state changes: run the action of (ev, state),
 * set and log the new state, then deliver the indication. */
static int ul_dispatch(pacs_ul *ul, enum pacs_ul_event ev, ul_in *in)
{
	const ul_action *act = transitions[ev][ul->state];
	pacs_ul_transition t = { .from = ul->state, .event = ev };
	int rc;

	if (act == NULL && ul->state == PACS_UL_STA1)
		return arca_error_set(ARCA_EINVAL, "upper layer: %s not defined in Sta1 (no transport)",
				      pacs_ul_event_name(ev));
	ul->err = 0;
	ul->in_action = true;
	if (act != NULL) {
		t.action = act->name;
		t.to = act->fn(ul, ev, in);
	} else {
		t.undefined = true;
		t.to = ul_undefined(ul, ev, &t.action);
	}
	ul->in_action = false;
	ul->state = t.to;
	if (ul->port.log != NULL)
		ul->port.log(ul->port.ctx, &t);
	rc = ul->err;
	if (rc == 0 && t.undefined)
		rc = arca_error_set(ARCA_EINVAL, "upper layer: %s not defined in %s (PS3.8 Table 9-10): aborted",
				    pacs_ul_event_name(ev), pacs_ul_state_name(t.from));
	ul_deliver(ul);
	return rc;
}

/* ------------------------------------------------------------ local events */

/* Encodes the PDU a defined (event, state) pair will send, before the
 * action runs, so that an argument the encoder refuses leaves the machine
 * where it was. */
static int ul_prepare(pacs_ul *ul, enum pacs_ul_event ev, const pacs_ul_arg *arg)
{
	pacs_buf_reset(&ul->out);
	ul->out_split = false;
	switch (ev) {
	case PACS_UL_EVT1_ASSOCIATE_REQUEST:
		if (arg->assoc == NULL)
			return arca_error_set(ARCA_EINVAL, "upper layer: Evt1 needs the A-ASSOCIATE-RQ");
		pacs_buf_reset(&ul->rq_bytes);
		return pacs_pdu_encode_assoc_rq(&ul->rq_bytes, arg->assoc);
	case PACS_UL_EVT7_ASSOCIATE_ACCEPT:
		if (arg->assoc == NULL)
			return arca_error_set(ARCA_EINVAL, "upper layer: Evt7 needs the A-ASSOCIATE-AC");
		return pacs_pdu_encode_assoc_ac(&ul->out, arg->assoc);
	case PACS_UL_EVT8_ASSOCIATE_REJECT:
		if (arg->reject == NULL)
			return arca_error_set(ARCA_EINVAL, "upper layer: Evt8 needs the A-ASSOCIATE-RJ");
		return pacs_pdu_encode_reject(&ul->out, arg->reject);
	case PACS_UL_EVT9_P_DATA_REQUEST:
		if (arg->pdvs == NULL || arg->n_pdvs == 0)
			return arca_error_set(ARCA_EINVAL, "upper layer: Evt9 needs at least one PDV");
		if (arg->n_pdvs == 1) {
			/* header and fragment go out separately: no copy here */
			int rc = pacs_pdu_pdata_single_header(ul->pdata_hdr, arg->pdvs[0].pctx_id,
							      arg->pdvs[0].flags, arg->pdvs[0].len);
			if (rc < 0)
				return rc;
			ul->out_split = true;
			ul->split_body = arg->pdvs[0].data;
			ul->split_len = arg->pdvs[0].len;
			return 0;
		}
		return pacs_pdu_encode_pdata(&ul->out, arg->pdvs, arg->n_pdvs);
	default:
		return 0;
	}
}

int pacs_ul_event(pacs_ul *ul, enum pacs_ul_event event, const pacs_ul_arg *arg)
{
	static const pacs_ul_arg none;
	ul_in in;
	int rc;

	if (ul == NULL || !event_valid((int)event))
		return arca_error_set(ARCA_EINVAL, "upper layer: no machine or event %d out of range",
				      (int)event);
	if (ul->in_action)
		return arca_error_set(ARCA_EINVAL, "upper layer: %s raised from inside a port effect",
				      pacs_ul_event_name(event));
	switch (event) {
	case PACS_UL_EVT3_ASSOCIATE_AC_PDU:
	case PACS_UL_EVT4_ASSOCIATE_RJ_PDU:
	case PACS_UL_EVT6_ASSOCIATE_RQ_PDU:
	case PACS_UL_EVT10_P_DATA_PDU:
	case PACS_UL_EVT12_RELEASE_RQ_PDU:
	case PACS_UL_EVT13_RELEASE_RP_PDU:
	case PACS_UL_EVT16_ABORT_PDU:
		return arca_error_set(ARCA_EINVAL, "upper layer: %s comes from pacs_ul_feed() only",
				      pacs_ul_event_name(event));
	default:
		break;
	}
	if (arg == NULL)
		arg = &none;
	if (transitions[event][ul->state] != NULL) {
		rc = ul_prepare(ul, event, arg);
		if (rc < 0)
			return rc;
	}
	memset(&in, 0, sizeof(in));
	in.arg = *arg;
	if (event == PACS_UL_EVT5_TRANSPORT_INDICATION && ul->state == PACS_UL_STA1)
		ul_reset_connection(ul);
	if (event == PACS_UL_EVT1_ASSOCIATE_REQUEST && ul->state == PACS_UL_STA1)
		ul_reset_connection(ul);
	if (event == PACS_UL_EVT19_INVALID_PDU)
		ul->in_dead = true;
	return ul_dispatch(ul, event, &in);
}

/* ------------------------------------------------------------ framer */

/* Raises Evt19 and stops the framer: after a bad header or body the stream
 * is out of step for good. */
static int ul_invalid(pacs_ul *ul, uint8_t reason, const char *detail)
{
	ul_in in;

	memset(&in, 0, sizeof(in));
	in.arg.invalid_reason = reason;
	in.arg.detail = detail;
	ul->in_dead = true;
	return ul_dispatch(ul, PACS_UL_EVT19_INVALID_PDU, &in);
}

/* Decode failures are the peer's (invalid PDU parameter value), except
 * running out of memory, which is ours (reason not specified). */
static int ul_invalid_body(pacs_ul *ul, int rc)
{
	char detail[UL_DETAIL_MAX];

	snprintf(detail, sizeof(detail), "%s", arca_error_last());
	return ul_invalid(ul, rc == ARCA_ENOMEM ? PACS_PDU_ABORT_REASON_NOT_SPECIFIED
						: PACS_PDU_ABORT_INVALID_PDU_PARAMETER_VALUE,
			  detail);
}

/* Checks a header: ARCA_EAGAIN (fewer than 6 bytes), 0 (valid, *type and
 * *len set) or the result of raising Evt19 (then in_dead is set). */
static int ul_header(pacs_ul *ul, const uint8_t *buf, size_t n, uint8_t *type, uint32_t *len)
{
	char detail[UL_DETAIL_MAX];
	uint32_t limit;
	int rc;

	rc = pacs_pdu_peek_header(type, len, buf, n, UINT32_MAX);
	if (rc == ARCA_EAGAIN)
		return rc;
	if (rc < 0) {
		/* PS3.8 9.3.8 Table 9-26: unrecognized-PDU */
		snprintf(detail, sizeof(detail), "unknown PDU type 0x%02x", *type);
		rc = ul_invalid(ul, PACS_PDU_ABORT_UNRECOGNIZED_PDU, detail);
		return rc < 0 ? rc : ARCA_EPROTO;
	}
	limit = *type == PACS_PDU_P_DATA_TF ? ul->opts.max_pdata_length : ul->opts.max_assoc_length;
	if (*len > limit) {
		snprintf(detail, sizeof(detail), "%s PDU length %u above the limit of %u bytes",
			 pacs_pdu_type_name(*type), (unsigned)*len, (unsigned)limit);
		rc = ul_invalid(ul, PACS_PDU_ABORT_INVALID_PDU_PARAMETER_VALUE, detail);
		return rc < 0 ? rc : ARCA_EPROTO;
	}
	return 0;
}

static int ul_decode_pdata(pacs_ul *ul, const uint8_t *body, size_t len, size_t *n)
{
	int rc = pacs_pdu_decode_pdata(ul->pdvs, ul->pdv_cap, n, body, len);
	size_t cap;
	pacs_pdv *p;

	if (rc != ARCA_ELIMIT)
		return rc;
	/* a PDV item takes 6 bytes at least (PS3.8 9.3.5.1) */
	cap = len / 6 + 1;
	p = realloc(ul->pdvs, cap * sizeof(*p));
	if (p == NULL)
		return arca_error_set(ARCA_ENOMEM, "upper layer: no memory for %zu PDVs", cap);
	ul->pdvs = p;
	ul->pdv_cap = cap;
	return pacs_pdu_decode_pdata(ul->pdvs, ul->pdv_cap, n, body, len);
}

/* One complete PDU: decode its body and raise its event. */
static int ul_pdu(pacs_ul *ul, uint8_t type, const uint8_t *body, size_t len)
{
	enum pacs_ul_event ev;
	ul_in in;
	int rc;

	memset(&in, 0, sizeof(in));
	switch (type) {
	case PACS_PDU_ASSOCIATE_RQ:
		ev = PACS_UL_EVT6_ASSOCIATE_RQ_PDU;
		rc = pacs_pdu_decode_assoc_rq(&in.assoc, body, len);
		break;
	case PACS_PDU_ASSOCIATE_AC:
		ev = PACS_UL_EVT3_ASSOCIATE_AC_PDU;
		rc = pacs_pdu_decode_assoc_ac(&in.assoc, body, len);
		break;
	case PACS_PDU_ASSOCIATE_RJ:
		ev = PACS_UL_EVT4_ASSOCIATE_RJ_PDU;
		rc = pacs_pdu_decode_reject(&in.reject, body, len);
		break;
	case PACS_PDU_P_DATA_TF:
		ev = PACS_UL_EVT10_P_DATA_PDU;
		rc = ul_decode_pdata(ul, body, len, &in.n_pdvs);
		in.pdvs = ul->pdvs;
		break;
	case PACS_PDU_RELEASE_RQ:
		ev = PACS_UL_EVT12_RELEASE_RQ_PDU;
		rc = pacs_pdu_decode_release_rq(body, len);
		break;
	case PACS_PDU_RELEASE_RP:
		ev = PACS_UL_EVT13_RELEASE_RP_PDU;
		rc = pacs_pdu_decode_release_rp(body, len);
		break;
	case PACS_PDU_ABORT:
		ev = PACS_UL_EVT16_ABORT_PDU;
		rc = pacs_pdu_decode_abort(&in.abort, body, len);
		break;
	default: /* pacs_pdu_peek_header() let only known types through */
		return ul_invalid(ul, PACS_PDU_ABORT_UNRECOGNIZED_PDU, "unknown PDU type");
	}
	if (rc < 0) {
		pacs_pdu_assoc_free(in.assoc);
		return ul_invalid_body(ul, rc);
	}
	rc = ul_dispatch(ul, ev, &in);
	pacs_pdu_assoc_free(in.assoc); /* unless an action took it */
	return rc;
}

static bool ul_framing(const pacs_ul *ul)
{
	return !ul->in_dead && ul->state != PACS_UL_STA1;
}

/* Appends input to the partial PDU.  The header was checked against the
 * limits that size the buffer, so only memory can fail; then the stream is
 * lost and the association aborted (reason not specified: not the peer's
 * fault). */
static int ul_hold(pacs_ul *ul, const uint8_t *data, size_t n)
{
	char detail[UL_DETAIL_MAX];
	int rc = pacs_buf_add(&ul->in, data, n);

	if (rc == 0)
		return 0;
	snprintf(detail, sizeof(detail), "%s", arca_error_last());
	(void)ul_invalid(ul, PACS_PDU_ABORT_REASON_NOT_SPECIFIED, detail);
	return rc;
}

int pacs_ul_feed(pacs_ul *ul, const uint8_t *data, size_t len)
{
	int first = 0, rc;
	uint8_t type;
	uint32_t plen;
	size_t have, take, need;

	if (ul == NULL || (data == NULL && len > 0))
		return arca_error_set(ARCA_EINVAL, "upper layer: feed without machine or data");
	if (ul->in_action || ul->feeding)
		return arca_error_set(ARCA_EINVAL, "upper layer: pacs_ul_feed() called re-entrantly");
	if (ul->state == PACS_UL_STA1)
		return arca_error_set(ARCA_EINVAL, "upper layer: bytes fed in Sta1 (no transport)");
	ul->feeding = true;
	while (len > 0 && ul_framing(ul)) {
		have = pacs_buf_len(&ul->in);
		if (have == 0) {
			/* nothing held: decode whole PDUs straight from the input */
			rc = ul_header(ul, data, len, &type, &plen);
			if (rc == 0 && len - PACS_PDU_HEADER_LEN >= plen) {
				rc = ul_pdu(ul, type, data + PACS_PDU_HEADER_LEN, plen);
				data += PACS_PDU_HEADER_LEN + (size_t)plen;
				len -= PACS_PDU_HEADER_LEN + (size_t)plen;
			} else if (rc == 0 || rc == ARCA_EAGAIN) {
				rc = ul_hold(ul, data, len);
				len = 0;
			}
		} else if (have < PACS_PDU_HEADER_LEN) {
			take = PACS_PDU_HEADER_LEN - have < len ? PACS_PDU_HEADER_LEN - have : len;
			rc = ul_hold(ul, data, take);
			data += take;
			len -= take;
			if (rc == 0 && pacs_buf_len(&ul->in) == PACS_PDU_HEADER_LEN) {
				rc = ul_header(ul, pacs_buf_data(&ul->in), PACS_PDU_HEADER_LEN, &type, &plen);
				if (rc == 0 && plen == 0) {
					/* complete already (and invalid: every PDU has a body) */
					rc = ul_pdu(ul, type, pacs_buf_data(&ul->in) + PACS_PDU_HEADER_LEN, 0);
					pacs_buf_reset(&ul->in);
				}
			}
		} else {
			/* header held and already checked: complete the body */
			rc = ul_header(ul, pacs_buf_data(&ul->in), have, &type, &plen);
			if (rc == 0) {
				need = PACS_PDU_HEADER_LEN + (size_t)plen - have;
				take = need < len ? need : len;
				rc = ul_hold(ul, data, take);
				data += take;
				len -= take;
				if (rc == 0 && take == need) {
					rc = ul_pdu(ul, type, pacs_buf_data(&ul->in) + PACS_PDU_HEADER_LEN,
						    plen);
					pacs_buf_reset(&ul->in);
				}
			}
		}
		if (rc == ARCA_EAGAIN || rc == ARCA_EPROTO)
			rc = 0; /* more bytes needed, or Evt19 raised and handled */
		if (rc < 0 && first == 0)
			first = rc;
	}
	if (!ul_framing(ul))
		pacs_buf_reset(&ul->in);
	ul->feeding = false;
	return first;
}

/* ------------------------------------------------------------ lifecycle */

void pacs_ul_opts_init(pacs_ul_opts *opts)
{
	opts->max_pdata_length = PACS_UL_DEFAULT_MAX_PDATA;
	opts->max_assoc_length = PACS_UL_DEFAULT_MAX_ASSOC;
}

int pacs_ul_new(pacs_ul **out, const pacs_ul_port *port, const pacs_ul_opts *opts)
{
	pacs_ul *ul;
	uint32_t biggest;

	*out = NULL;
	if (port == NULL || port->send_pdu == NULL)
		return arca_error_set(ARCA_EINVAL, "upper layer: the port needs a send_pdu callback");
	ul = calloc(1, sizeof(*ul));
	if (ul == NULL)
		return arca_error_set(ARCA_ENOMEM, "upper layer: no memory for the machine");
	ul->port = *port;
	pacs_ul_opts_init(&ul->opts);
	if (opts != NULL && opts->max_pdata_length != 0)
		ul->opts.max_pdata_length = opts->max_pdata_length;
	if (opts != NULL && opts->max_assoc_length != 0)
		ul->opts.max_assoc_length = opts->max_assoc_length;
	biggest = ul->opts.max_pdata_length > ul->opts.max_assoc_length ? ul->opts.max_pdata_length
									 : ul->opts.max_assoc_length;
	pacs_buf_init(&ul->in, (size_t)biggest + PACS_PDU_HEADER_LEN);
	pacs_buf_init(&ul->out, UL_OUT_MAX);
	pacs_buf_init(&ul->rq_bytes, ul->opts.max_assoc_length + (size_t)PACS_PDU_HEADER_LEN);
	ul->pdv_cap = 16;
	ul->pdvs = calloc(ul->pdv_cap, sizeof(*ul->pdvs));
	if (ul->pdvs == NULL) {
		free(ul);
		return arca_error_set(ARCA_ENOMEM, "upper layer: no memory for the machine");
	}
	ul->state = PACS_UL_STA1;
	*out = ul;
	return 0;
}

void pacs_ul_free(pacs_ul *ul)
{
	if (ul == NULL)
		return;
	pacs_buf_free(&ul->in);
	pacs_buf_free(&ul->out);
	pacs_buf_free(&ul->rq_bytes);
	pacs_pdu_assoc_free(ul->peer_rq);
	pacs_pdu_assoc_free(ul->peer_ac);
	free(ul->pdvs);
	free(ul);
}

enum pacs_ul_state pacs_ul_state(const pacs_ul *ul)
{
	return ul->state;
}

bool pacs_ul_is_requestor(const pacs_ul *ul)
{
	return ul->requestor;
}

const pacs_pdu_assoc *pacs_ul_peer_rq(const pacs_ul *ul)
{
	return ul->peer_rq;
}

const pacs_pdu_assoc *pacs_ul_peer_ac(const pacs_ul *ul)
{
	return ul->peer_ac;
}

int pacs_ul__force_state(pacs_ul *ul, enum pacs_ul_state state, bool requestor)
{
	if (!state_valid((int)state))
		return arca_error_set(ARCA_EINVAL, "upper layer: state %d out of range", (int)state);
	ul->state = state;
	ul->requestor = requestor;
	return 0;
}

/* ------------------------------------------------------------ shorthands */

int pacs_ul_transport_accepted(pacs_ul *ul)
{
	return pacs_ul_event(ul, PACS_UL_EVT5_TRANSPORT_INDICATION, NULL);
}

int pacs_ul_associate(pacs_ul *ul, const pacs_pdu_assoc *rq)
{
	const pacs_ul_arg arg = { .assoc = rq };

	return pacs_ul_event(ul, PACS_UL_EVT1_ASSOCIATE_REQUEST, &arg);
}

int pacs_ul_transport_connected(pacs_ul *ul)
{
	return pacs_ul_event(ul, PACS_UL_EVT2_TRANSPORT_CONFIRM, NULL);
}

int pacs_ul_accept(pacs_ul *ul, const pacs_pdu_assoc *ac)
{
	const pacs_ul_arg arg = { .assoc = ac };

	return pacs_ul_event(ul, PACS_UL_EVT7_ASSOCIATE_ACCEPT, &arg);
}

int pacs_ul_reject(pacs_ul *ul, const pacs_pdu_reject *rj)
{
	const pacs_ul_arg arg = { .reject = rj };

	return pacs_ul_event(ul, PACS_UL_EVT8_ASSOCIATE_REJECT, &arg);
}

int pacs_ul_send_pdata(pacs_ul *ul, const pacs_pdv *pdvs, size_t n)
{
	const pacs_ul_arg arg = { .pdvs = pdvs, .n_pdvs = n };

	return pacs_ul_event(ul, PACS_UL_EVT9_P_DATA_REQUEST, &arg);
}

int pacs_ul_release(pacs_ul *ul)
{
	return pacs_ul_event(ul, PACS_UL_EVT11_RELEASE_REQUEST, NULL);
}

int pacs_ul_release_response(pacs_ul *ul)
{
	return pacs_ul_event(ul, PACS_UL_EVT14_RELEASE_RESPONSE, NULL);
}

int pacs_ul_abort(pacs_ul *ul)
{
	return pacs_ul_event(ul, PACS_UL_EVT15_ABORT_REQUEST, NULL);
}

int pacs_ul_transport_closed(pacs_ul *ul)
{
	return pacs_ul_event(ul, PACS_UL_EVT17_TRANSPORT_CLOSED, NULL);
}

int pacs_ul_artim_expired(pacs_ul *ul)
{
	return pacs_ul_event(ul, PACS_UL_EVT18_ARTIM_EXPIRED, NULL);
}
