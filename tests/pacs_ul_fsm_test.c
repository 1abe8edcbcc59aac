/* pacs_ul_fsm_test.c - the Upper Layer state machine (PS3.8 9.2) driven
 * through a scripted fake port.
 *
 * Every cell of PS3.8 Table 9-10 is a test of its own: the expected table
 * below is written from the standard, independently of the one in
 * pacs_ul_fsm.c, and each cell is checked by putting a fresh machine in the
 * state, raising the event and comparing the next state and the effects
 * (PDU bytes sent, ARTIM, transport, indication) with what the action of
 * Tables 9-6 to 9-9 must do.  Pairs not in the table must abort.  Then
 * whole exchanges: both happy paths, ARTIM expiry, garbage, unknown PDU
 * types, PDUs above the limit, a wrong protocol version, P-DATA before the
 * association, release collisions and byte-by-byte framing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_buf.h"
#include "pacs_pdu.h"
#include "pacs_ul.h"
#include "pacs_ul_priv.h"

/* ------------------------------------------------------------ fake port */

enum ind {
	IND_NONE = 0,
	IND_ASSOC_RQ,
	IND_ASSOC_AC,
	IND_ASSOC_RJ,
	IND_PDATA,
	IND_RELEASE_RQ,
	IND_RELEASE_RP,
	IND_ABORT
};

#define MAX_SENT 16
#define MAX_TRANS 64

typedef struct rec {
	pacs_ul *ul;
	/* effects */
	uint8_t sent[16384];
	size_t sent_len;
	size_t n_sent;
	size_t pdu_off[MAX_SENT];
	size_t pdu_len[MAX_SENT];
	int n_connect, n_close, n_start, n_stop;
	/* indications */
	int n_ind;
	enum ind last_ind;
	bool collision;
	pacs_pdu_reject rj;
	pacs_ul_abort_info abort;
	char abort_detail[256];
	size_t pdata_n;
	uint8_t pdata[1024];
	size_t pdata_len;
	uint8_t pdata_flags, pdata_ctx;
	/* transitions */
	pacs_ul_transition trans[MAX_TRANS];
	size_t n_trans;
	/* script */
	const pacs_pdu_assoc *auto_accept;
	bool auto_release_response;
	bool echo_pdata;
	bool reenter_from_send;
	int reenter_rc;
	int reenter_pdata_rc;
} rec;

static int fake_send(void *ctx, const uint8_t *head, size_t head_len, const uint8_t *body,
		     size_t body_len)
{
	rec *r = ctx;

	assert_true(r->n_sent < MAX_SENT);
	assert_true(r->sent_len + head_len + body_len <= sizeof(r->sent));
	r->pdu_off[r->n_sent] = r->sent_len;
	r->pdu_len[r->n_sent] = head_len + body_len;
	memcpy(r->sent + r->sent_len, head, head_len);
	r->sent_len += head_len;
	if (body_len > 0) {
		memcpy(r->sent + r->sent_len, body, body_len);
		r->sent_len += body_len;
	}
	r->n_sent++;
	if (r->reenter_from_send)
		r->reenter_rc = pacs_ul_abort(r->ul);
	return 0;
}

static void fake_connect(void *ctx)
{
	((rec *)ctx)->n_connect++;
}

static void fake_close(void *ctx)
{
	((rec *)ctx)->n_close++;
}

static void fake_start(void *ctx)
{
	((rec *)ctx)->n_start++;
}

static void fake_stop(void *ctx)
{
	((rec *)ctx)->n_stop++;
}

static void note(rec *r, enum ind kind)
{
	r->n_ind++;
	r->last_ind = kind;
}

static void on_assoc_rq(void *ctx, const pacs_pdu_assoc *rq)
{
	rec *r = ctx;

	assert_non_null(rq);
	note(r, IND_ASSOC_RQ);
	assert_int_equal(pacs_ul_state(r->ul), PACS_UL_STA3);
	if (r->auto_accept != NULL)
		assert_int_equal(pacs_ul_accept(r->ul, r->auto_accept), 0);
}

static void on_assoc_ac(void *ctx, const pacs_pdu_assoc *ac)
{
	assert_non_null(ac);
	note(ctx, IND_ASSOC_AC);
}

static void on_assoc_rj(void *ctx, const pacs_pdu_reject *rj)
{
	rec *r = ctx;

	note(r, IND_ASSOC_RJ);
	r->rj = *rj;
}

static void on_pdata(void *ctx, const pacs_pdv *pdvs, size_t n)
{
	rec *r = ctx;
	size_t i;

	note(r, IND_PDATA);
	r->pdata_n = n;
	r->pdata_len = 0;
	for (i = 0; i < n; i++) {
		assert_true(r->pdata_len + pdvs[i].len <= sizeof(r->pdata));
		memcpy(r->pdata + r->pdata_len, pdvs[i].data, pdvs[i].len);
		r->pdata_len += pdvs[i].len;
		r->pdata_flags = pdvs[i].flags;
		r->pdata_ctx = pdvs[i].pctx_id;
	}
	if (r->echo_pdata)
		r->reenter_pdata_rc = pacs_ul_send_pdata(r->ul, pdvs, n);
}

static void on_release_rq(void *ctx, bool collision)
{
	rec *r = ctx;

	note(r, IND_RELEASE_RQ);
	r->collision = collision;
	if (r->auto_release_response)
		assert_int_equal(pacs_ul_release_response(r->ul), 0);
}

static void on_release_rp(void *ctx)
{
	note(ctx, IND_RELEASE_RP);
}

static void on_abort(void *ctx, const pacs_ul_abort_info *info)
{
	rec *r = ctx;

	note(r, IND_ABORT);
	r->abort = *info;
	snprintf(r->abort_detail, sizeof(r->abort_detail), "%s", info->detail);
	r->abort.detail = r->abort_detail;
}

static void on_log(void *ctx, const pacs_ul_transition *t)
{
	rec *r = ctx;

	assert_true(r->n_trans < MAX_TRANS);
	r->trans[r->n_trans++] = *t;
}

static void rec_clear(rec *r)
{
	pacs_ul *ul = r->ul;

	memset(r, 0, sizeof(*r));
	r->ul = ul;
}

static void rec_open(rec *r, const pacs_ul_opts *opts)
{
	const pacs_ul_port port = {
		.ctx = r,
		.send_pdu = fake_send,
		.connect_transport = fake_connect,
		.close_transport = fake_close,
		.start_artim = fake_start,
		.stop_artim = fake_stop,
		.on_associate_rq = on_assoc_rq,
		.on_associate_ac = on_assoc_ac,
		.on_associate_rj = on_assoc_rj,
		.on_pdata = on_pdata,
		.on_release_rq = on_release_rq,
		.on_release_rp = on_release_rp,
		.on_abort = on_abort,
		.log = on_log,
	};

	memset(r, 0, sizeof(*r));
	assert_int_equal(pacs_ul_new(&r->ul, &port, opts), 0);
	assert_int_equal(pacs_ul_state(r->ul), PACS_UL_STA1);
}

static void rec_close(rec *r)
{
	pacs_ul_free(r->ul);
	r->ul = NULL;
}

static const uint8_t *sent_pdu(const rec *r, size_t i, size_t *len)
{
	assert_true(i < r->n_sent);
	*len = r->pdu_len[i];
	return r->sent + r->pdu_off[i];
}

/* ------------------------------------------------------------ PDUs */

static const char *const ts_implicit[] = { "1.2.840.10008.1.2" };

static const pacs_pdu_pctx rq_pctx[] = {
	{ .id = 1, .abstract_syntax = "1.2.840.10008.1.1", .transfer_syntaxes = ts_implicit,
	  .n_transfer_syntaxes = 1 },
};

static pacs_pdu_assoc make_rq(void)
{
	pacs_pdu_assoc a;

	memset(&a, 0, sizeof(a));
	strcpy(a.called_ae, "ARCA");
	strcpy(a.calling_ae, "TESTSCU");
	a.pctx = rq_pctx;
	a.n_pctx = 1;
	a.user_info.max_length = 16384;
	a.user_info.impl_class_uid = "1.2.3.4";
	a.user_info.impl_version_name = "TEST_1";
	return a;
}

static const pacs_pdu_pctx ac_pctx[] = {
	{ .id = 1, .result = PACS_PDU_PCTX_ACCEPTANCE, .transfer_syntax = "1.2.840.10008.1.2" },
};

static pacs_pdu_assoc make_ac(void)
{
	pacs_pdu_assoc a;

	memset(&a, 0, sizeof(a));
	strcpy(a.called_ae, "ARCA");
	strcpy(a.calling_ae, "TESTSCU");
	a.pctx = ac_pctx;
	a.n_pctx = 1;
	a.user_info.max_length = 16384;
	a.user_info.impl_class_uid = "1.2.3.4";
	return a;
}

static pacs_pdu_assoc g_rq, g_ac;
static uint8_t g_rq_bytes[512], g_ac_bytes[512];
static size_t g_rq_len, g_ac_len;

static int encode_globals(void)
{
	pacs_buf b;
	int rc;

	g_rq = make_rq();
	g_ac = make_ac();
	pacs_buf_init(&b, sizeof(g_rq_bytes));
	rc = pacs_pdu_encode_assoc_rq(&b, &g_rq);
	if (rc == 0) {
		g_rq_len = pacs_buf_len(&b);
		memcpy(g_rq_bytes, pacs_buf_data(&b), g_rq_len);
		pacs_buf_reset(&b);
		rc = pacs_pdu_encode_assoc_ac(&b, &g_ac);
	}
	if (rc == 0) {
		g_ac_len = pacs_buf_len(&b);
		memcpy(g_ac_bytes, pacs_buf_data(&b), g_ac_len);
	}
	pacs_buf_free(&b);
	return rc;
}

/* PS3.8 9.3.4 Table 9-21: reserved, result 1, source 1, reason 3. */
static const uint8_t rj_bytes[] = { 0x03, 0, 0, 0, 0, 4, 0, 1, 1, 3 };
/* PS3.8 9.3.5: one PDV item of length 4: context 1, last data fragment, 2 bytes. */
static const uint8_t pdata_bytes[] = { 0x04, 0, 0, 0, 0, 8, 0, 0, 0, 4, 1, 0x02, 0xAA, 0xBB };
static const uint8_t release_rq_bytes[] = { 0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0 };
static const uint8_t release_rp_bytes[] = { 0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0 };
/* PS3.8 9.3.8 Table 9-26: source 2 (provider), reason 6 (invalid parameter value). */
static const uint8_t abort_provider_bytes[] = { 0x07, 0, 0, 0, 0, 4, 0, 0, 2, 6 };
static const uint8_t abort_user_bytes[] = { 0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0 };
/* PDU type 08H does not exist (PS3.8 9.3.1). */
static const uint8_t unknown_bytes[] = { 0x08, 0, 0, 0, 0, 4, 0, 0, 0, 0 };

static const pacs_pdu_reject g_rj = { PACS_PDU_RJ_PERMANENT, PACS_PDU_RJ_SOURCE_USER,
				      PACS_PDU_RJ_USER_CALLING_AE_NOT_RECOGNIZED };
static const uint8_t pdv_data[] = { 0x11, 0x22, 0x33 };
static const pacs_pdv g_pdv = { 1, PACS_PDV_COMMAND | PACS_PDV_LAST, pdv_data, sizeof(pdv_data) };

/* Raises ev the way the owner would: a primitive, or the PDU's bytes. */
static int raise_event(rec *r, enum pacs_ul_event ev)
{
	switch (ev) {
	case PACS_UL_EVT1_ASSOCIATE_REQUEST: return pacs_ul_associate(r->ul, &g_rq);
	case PACS_UL_EVT2_TRANSPORT_CONFIRM: return pacs_ul_transport_connected(r->ul);
	case PACS_UL_EVT3_ASSOCIATE_AC_PDU: return pacs_ul_feed(r->ul, g_ac_bytes, g_ac_len);
	case PACS_UL_EVT4_ASSOCIATE_RJ_PDU: return pacs_ul_feed(r->ul, rj_bytes, sizeof(rj_bytes));
	case PACS_UL_EVT5_TRANSPORT_INDICATION: return pacs_ul_transport_accepted(r->ul);
	case PACS_UL_EVT6_ASSOCIATE_RQ_PDU: return pacs_ul_feed(r->ul, g_rq_bytes, g_rq_len);
	case PACS_UL_EVT7_ASSOCIATE_ACCEPT: return pacs_ul_accept(r->ul, &g_ac);
	case PACS_UL_EVT8_ASSOCIATE_REJECT: return pacs_ul_reject(r->ul, &g_rj);
	case PACS_UL_EVT9_P_DATA_REQUEST: return pacs_ul_send_pdata(r->ul, &g_pdv, 1);
	case PACS_UL_EVT10_P_DATA_PDU: return pacs_ul_feed(r->ul, pdata_bytes, sizeof(pdata_bytes));
	case PACS_UL_EVT11_RELEASE_REQUEST: return pacs_ul_release(r->ul);
	case PACS_UL_EVT12_RELEASE_RQ_PDU:
		return pacs_ul_feed(r->ul, release_rq_bytes, sizeof(release_rq_bytes));
	case PACS_UL_EVT13_RELEASE_RP_PDU:
		return pacs_ul_feed(r->ul, release_rp_bytes, sizeof(release_rp_bytes));
	case PACS_UL_EVT14_RELEASE_RESPONSE: return pacs_ul_release_response(r->ul);
	case PACS_UL_EVT15_ABORT_REQUEST: return pacs_ul_abort(r->ul);
	case PACS_UL_EVT16_ABORT_PDU:
		return pacs_ul_feed(r->ul, abort_provider_bytes, sizeof(abort_provider_bytes));
	case PACS_UL_EVT17_TRANSPORT_CLOSED: return pacs_ul_transport_closed(r->ul);
	case PACS_UL_EVT18_ARTIM_EXPIRED: return pacs_ul_artim_expired(r->ul);
	case PACS_UL_EVT19_INVALID_PDU: return pacs_ul_feed(r->ul, unknown_bytes, sizeof(unknown_bytes));
	}
	fail();
	return -1;
}

/* ------------------------------------------------------------ Table 9-10 */

/* PS3.8 Table 9-10, one row per event, columns Sta1..Sta13; "." is a blank
 * cell.  Written from the standard, not from pacs_ul_fsm.c. */
static const char *const table_9_10[PACS_UL_EVENT_COUNT + 1] = {
	NULL,
	/* Evt1  */ "AE-1 . . . . . . . . . . . .",
	/* Evt2  */ ". . . AE-2 . . . . . . . . .",
	/* Evt3  */ ". AA-1 AA-8 . AE-3 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-6",
	/* Evt4  */ ". AA-1 AA-8 . AE-4 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-6",
	/* Evt5  */ "AE-5 . . . . . . . . . . . .",
	/* Evt6  */ ". AE-6 AA-8 . AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-7",
	/* Evt7  */ ". . AE-7 . . . . . . . . . .",
	/* Evt8  */ ". . AE-8 . . . . . . . . . .",
	/* Evt9  */ ". . . . . DT-1 . AR-7 . . . . .",
	/* Evt10 */ ". AA-1 AA-8 . AA-8 DT-2 AR-6 AA-8 AA-8 AA-8 AA-8 AA-8 AA-6",
	/* Evt11 */ ". . . . . AR-1 . . . . . . .",
	/* Evt12 */ ". AA-1 AA-8 . AA-8 AR-2 AR-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-6",
	/* Evt13 */ ". AA-1 AA-8 . AA-8 AA-8 AR-3 AA-8 AA-8 AR-10 AR-3 AA-8 AA-6",
	/* Evt14 */ ". . . . . . . AR-4 AR-9 . . AR-4 .",
	/* Evt15 */ ". . AA-1 AA-2 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1 .",
	/* Evt16 */ ". AA-2 AA-3 . AA-3 AA-3 AA-3 AA-3 AA-3 AA-3 AA-3 AA-3 AA-2",
	/* Evt17 */ ". AA-5 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AR-5",
	/* Evt18 */ ". AA-2 . . . . . . . . . . AA-2",
	/* Evt19 */ ". AA-1 AA-8 . AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-8 AA-7",
};

/* The action's effects, from PS3.8 Tables 9-6 to 9-9.  next 0: AR-8
 * (Sta9 for the requestor, Sta10 for the acceptor; these cells run as the
 * acceptor).  artim: +1 started, -1 stopped. */
typedef struct effect {
	const char *action;
	int next;
	uint8_t pdu;   /* type of the one PDU sent, 0 none */
	int artim;
	bool close;
	bool connect;
	enum ind ind;
} effect;

static const effect effects[] = {
	{ "AE-1", 4, 0, 0, false, true, IND_NONE },
	{ "AE-2", 5, 0x01, 0, false, false, IND_NONE },
	{ "AE-3", 6, 0, 0, false, false, IND_ASSOC_AC },
	{ "AE-4", 1, 0, 0, true, false, IND_ASSOC_RJ },
	{ "AE-5", 2, 0, +1, false, false, IND_NONE },
	{ "AE-6", 3, 0, -1, false, false, IND_ASSOC_RQ },
	{ "AE-7", 6, 0x02, 0, false, false, IND_NONE },
	{ "AE-8", 13, 0x03, +1, false, false, IND_NONE },
	{ "DT-1", 6, 0x04, 0, false, false, IND_NONE },
	{ "DT-2", 6, 0, 0, false, false, IND_PDATA },
	{ "AR-1", 7, 0x05, 0, false, false, IND_NONE },
	{ "AR-2", 8, 0, 0, false, false, IND_RELEASE_RQ },
	{ "AR-3", 1, 0, 0, true, false, IND_RELEASE_RP },
	{ "AR-4", 13, 0x06, +1, false, false, IND_NONE },
	{ "AR-5", 1, 0, -1, false, false, IND_NONE },
	{ "AR-6", 7, 0, 0, false, false, IND_PDATA },
	{ "AR-7", 8, 0x04, 0, false, false, IND_NONE },
	{ "AR-8", 0, 0, 0, false, false, IND_RELEASE_RQ },
	{ "AR-9", 11, 0x06, 0, false, false, IND_NONE },
	{ "AR-10", 12, 0, 0, false, false, IND_RELEASE_RP },
	{ "AA-1", 13, 0x07, +1, false, false, IND_NONE },
	{ "AA-2", 1, 0, -1, true, false, IND_NONE },
	{ "AA-3", 1, 0, 0, true, false, IND_ABORT },
	{ "AA-4", 1, 0, 0, false, false, IND_ABORT },
	{ "AA-5", 1, 0, -1, false, false, IND_NONE },
	{ "AA-6", 13, 0, 0, false, false, IND_NONE },
	{ "AA-7", 13, 0x07, 0, false, false, IND_NONE },
	{ "AA-8", 13, 0x07, +1, false, false, IND_ABORT },
};

static const effect *find_effect(const char *action)
{
	size_t i;

	for (i = 0; i < sizeof(effects) / sizeof(effects[0]); i++)
		if (strcmp(effects[i].action, action) == 0)
			return &effects[i];
	fail_msg("no effect for %s", action);
	return NULL;
}

typedef struct cell {
	enum pacs_ul_event ev;
	enum pacs_ul_state st;
	char action[8]; /* "" for a blank cell */
	char name[64];
} cell;

static cell cells[PACS_UL_EVENT_COUNT * PACS_UL_STATE_COUNT];

static int parse_table(void)
{
	int ev, st;
	size_t k = 0;

	for (ev = 1; ev <= PACS_UL_EVENT_COUNT; ev++) {
		const char *p = table_9_10[ev];

		for (st = 1; st <= PACS_UL_STATE_COUNT; st++) {
			cell *c = &cells[k++];
			size_t n = strcspn(p, " ");

			if (n == 0 || n >= sizeof(c->action))
				return -1;
			c->ev = (enum pacs_ul_event)ev;
			c->st = (enum pacs_ul_state)st;
			if (!(n == 1 && p[0] == '.'))
				memcpy(c->action, p, n);
			snprintf(c->name, sizeof(c->name), "Evt%d in Sta%d: %s", ev, st,
				 c->action[0] ? c->action : "not defined");
			p += n;
			while (*p == ' ')
				p++;
		}
		if (*p != '\0')
			return -1;
	}
	return 0;
}

/* The reason byte of the A-ABORT an abort action sends for this event. */
static uint8_t expected_abort_reason(const char *action, enum pacs_ul_event ev)
{
	if (strcmp(action, "AA-1") == 0)
		return 0; /* service-user source: reason not significant, sent as 0 */
	if (ev == PACS_UL_EVT19_INVALID_PDU)
		return PACS_PDU_ABORT_UNRECOGNIZED_PDU; /* our Evt19 is PDU type 08H */
	return PACS_PDU_ABORT_UNEXPECTED_PDU;
}

/* A fresh machine in state st: Evt1 first so that an RQ is ready for AE-2. */
static void put_in_state(rec *r, enum pacs_ul_state st, bool requestor)
{
	rec_open(r, NULL);
	assert_int_equal(pacs_ul_associate(r->ul, &g_rq), 0);
	assert_int_equal(pacs_ul__force_state(r->ul, st, requestor), 0);
	rec_clear(r);
}

static void check_defined(rec *r, const cell *c, int rc)
{
	const effect *e = find_effect(c->action);
	int next = e->next != 0 ? e->next : PACS_UL_STA10;
	const pacs_ul_transition *t;
	size_t len;
	const uint8_t *pdu;

	assert_int_equal(rc, 0);
	assert_int_equal(pacs_ul_state(r->ul), next);
	/* the log saw exactly this transition */
	assert_int_equal(r->n_trans, 1);
	t = &r->trans[0];
	assert_int_equal(t->from, c->st);
	assert_int_equal(t->event, c->ev);
	assert_int_equal(t->to, next);
	assert_string_equal(t->action, c->action);
	assert_false(t->undefined);
	/* PDU sent */
	if (e->pdu == 0) {
		assert_int_equal(r->n_sent, 0);
	} else {
		assert_int_equal(r->n_sent, 1);
		pdu = sent_pdu(r, 0, &len);
		assert_int_equal(pdu[0], e->pdu);
		if (e->pdu == 0x07) {
			assert_int_equal(len, 10);
			assert_int_equal(pdu[8], strcmp(c->action, "AA-1") == 0 ? 0 : 2);
			assert_int_equal(pdu[9], expected_abort_reason(c->action, c->ev));
		}
		if (e->pdu == 0x05 || e->pdu == 0x06)
			assert_memory_equal(pdu, e->pdu == 0x05 ? release_rq_bytes : release_rp_bytes, 10);
	}
	/* ARTIM, transport */
	assert_int_equal(r->n_start, e->artim > 0 ? 1 : 0);
	assert_int_equal(r->n_stop, e->artim < 0 ? 1 : 0);
	assert_int_equal(r->n_close, e->close ? 1 : 0);
	assert_int_equal(r->n_connect, e->connect ? 1 : 0);
	/* indication */
	assert_int_equal(r->n_ind, e->ind == IND_NONE ? 0 : 1);
	assert_int_equal(r->last_ind, e->ind);
	if (e->ind == IND_ABORT && strcmp(c->action, "AA-3") == 0) {
		assert_int_equal(r->abort.origin, PACS_UL_ABORT_PEER_PROVIDER);
		assert_int_equal(r->abort.source, 2);
		assert_int_equal(r->abort.reason, 6);
	}
	if (e->ind == IND_ABORT && strcmp(c->action, "AA-4") == 0)
		assert_int_equal(r->abort.origin, PACS_UL_ABORT_TRANSPORT);
	if (e->ind == IND_ABORT && strcmp(c->action, "AA-8") == 0) {
		assert_int_equal(r->abort.origin, PACS_UL_ABORT_LOCAL_PROVIDER);
		assert_int_equal(r->abort.reason, expected_abort_reason("AA-8", c->ev));
	}
	if (e->ind == IND_RELEASE_RQ)
		assert_int_equal(r->collision, strcmp(c->action, "AR-8") == 0);
	if (e->ind == IND_ASSOC_RJ) {
		assert_int_equal(r->rj.result, 1);
		assert_int_equal(r->rj.source, 1);
		assert_int_equal(r->rj.reason, 3);
	}
	if (e->ind == IND_PDATA) {
		assert_int_equal(r->pdata_n, 1);
		assert_int_equal(r->pdata_len, 2);
		assert_int_equal(r->pdata[0], 0xAA);
		assert_int_equal(r->pdata_ctx, 1);
		assert_int_equal(r->pdata_flags, PACS_PDV_LAST);
	}
}

/* Pairs not in the table (pacs_ul.h): Sta1 refuses and stays, Sta4 gives
 * up the connection attempt, every other state aborts as AA-8 does with
 * reason 0. */
static void check_undefined(rec *r, const cell *c, int rc)
{
	size_t len;
	const uint8_t *pdu;

	assert_int_equal(rc, ARCA_EINVAL);
	if (c->st == PACS_UL_STA1) {
		assert_int_equal(pacs_ul_state(r->ul), PACS_UL_STA1);
		assert_int_equal(r->n_sent, 0);
		assert_int_equal(r->n_ind, 0);
		assert_int_equal(r->n_close, 0);
		assert_int_equal(r->n_trans, 0);
		return;
	}
	assert_int_equal(r->n_trans, 1);
	assert_true(r->trans[0].undefined);
	assert_int_equal(r->n_ind, 1);
	assert_int_equal(r->last_ind, IND_ABORT);
	assert_int_equal(r->abort.origin, PACS_UL_ABORT_LOCAL_PROVIDER);
	if (c->st == PACS_UL_STA4) {
		assert_int_equal(pacs_ul_state(r->ul), PACS_UL_STA1);
		assert_int_equal(r->n_sent, 0);
		assert_int_equal(r->n_close, 1);
		return;
	}
	assert_int_equal(pacs_ul_state(r->ul), PACS_UL_STA13);
	assert_string_equal(r->trans[0].action, "AA-8");
	assert_int_equal(r->n_sent, 1);
	pdu = sent_pdu(r, 0, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(pdu, ((const uint8_t[]){ 0x07, 0, 0, 0, 0, 4, 0, 0, 2, 0 }), 10);
	assert_int_equal(r->n_start, 1);
	assert_int_equal(r->n_close, 0);
}

static void test_cell(void **state)
{
	const cell *c = *state;
	rec r;
	int rc;

	put_in_state(&r, c->st, false);
	rc = raise_event(&r, c->ev);
	if (c->action[0] != '\0')
		check_defined(&r, c, rc);
	else
		check_undefined(&r, c, rc);
	rec_close(&r);
}

/* ------------------------------------------------------------ scenarios */

static void expect_trans(const rec *r, size_t i, int from, int ev, const char *action, int to)
{
	assert_true(i < r->n_trans);
	assert_int_equal(r->trans[i].from, from);
	assert_int_equal(r->trans[i].event, ev);
	assert_string_equal(r->trans[i].action, action);
	assert_int_equal(r->trans[i].to, to);
}

/* The SCP side of an echo: RQ -> AC (answered from inside the indication)
 * -> P-DATA (answered likewise) -> release RQ -> RP -> peer closes. */
static void test_acceptor_happy_path(void **state)
{
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	rec_open(&r, NULL);
	r.auto_accept = &g_ac;
	r.echo_pdata = true;
	r.auto_release_response = true;
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA2);
	assert_int_equal(r.n_start, 1);
	assert_false(pacs_ul_is_requestor(r.ul));

	assert_int_equal(pacs_ul_feed(r.ul, g_rq_bytes, g_rq_len), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA6);
	assert_int_equal(r.n_stop, 1);
	assert_non_null(pacs_ul_peer_rq(r.ul));
	assert_string_equal(pacs_ul_peer_rq(r.ul)->calling_ae, "TESTSCU");
	assert_int_equal(r.n_sent, 1);
	pdu = sent_pdu(&r, 0, &len);
	assert_int_equal(len, g_ac_len);
	assert_memory_equal(pdu, g_ac_bytes, g_ac_len);

	assert_int_equal(pacs_ul_feed(r.ul, pdata_bytes, sizeof(pdata_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA6);
	assert_int_equal(r.reenter_pdata_rc, 0);
	assert_int_equal(r.n_sent, 2);
	/* the echo went out as one P-DATA-TF: header 12 bytes + 2 */
	pdu = sent_pdu(&r, 1, &len);
	assert_int_equal(len, 14);
	assert_memory_equal(pdu, pdata_bytes, sizeof(pdata_bytes));

	assert_int_equal(pacs_ul_feed(r.ul, release_rq_bytes, sizeof(release_rq_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	assert_int_equal(r.n_sent, 3);
	pdu = sent_pdu(&r, 2, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(pdu, release_rp_bytes, 10);
	assert_int_equal(r.n_start, 2);

	assert_int_equal(pacs_ul_transport_closed(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(r.n_stop, 2);
	assert_int_equal(r.n_close, 0); /* the peer closed */

	expect_trans(&r, 0, 1, 5, "AE-5", 2);
	expect_trans(&r, 1, 2, 6, "AE-6", 3);
	expect_trans(&r, 2, 3, 7, "AE-7", 6);
	expect_trans(&r, 3, 6, 10, "DT-2", 6);
	expect_trans(&r, 4, 6, 9, "DT-1", 6);
	expect_trans(&r, 5, 6, 12, "AR-2", 8);
	expect_trans(&r, 6, 8, 14, "AR-4", 13);
	expect_trans(&r, 7, 13, 17, "AR-5", 1);
	assert_int_equal(r.n_trans, 8);
	/* feeding after the end is refused */
	assert_int_equal(pacs_ul_feed(r.ul, pdata_bytes, sizeof(pdata_bytes)), ARCA_EINVAL);
	rec_close(&r);
}

/* The SCU side: RQ out when connected, AC in, data both ways, release. */
static void test_requestor_happy_path(void **state)
{
	rec r;
	size_t len;
	const uint8_t *pdu;
	const pacs_pdv two[2] = { { 3, PACS_PDV_COMMAND, pdv_data, 3 }, { 3, PACS_PDV_LAST, pdv_data, 1 } };
	(void)state;

	rec_open(&r, NULL);
	assert_int_equal(pacs_ul_associate(r.ul, &g_rq), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA4);
	assert_int_equal(r.n_connect, 1);
	assert_int_equal(r.n_sent, 0);
	assert_true(pacs_ul_is_requestor(r.ul));

	assert_int_equal(pacs_ul_transport_connected(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA5);
	assert_int_equal(r.n_sent, 1);
	pdu = sent_pdu(&r, 0, &len);
	assert_int_equal(len, g_rq_len);
	assert_memory_equal(pdu, g_rq_bytes, g_rq_len);

	/* the AC arrives in two pieces */
	assert_int_equal(pacs_ul_feed(r.ul, g_ac_bytes, 3), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA5);
	assert_int_equal(pacs_ul_feed(r.ul, g_ac_bytes + 3, g_ac_len - 3), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA6);
	assert_int_equal(r.last_ind, IND_ASSOC_AC);
	assert_non_null(pacs_ul_peer_ac(r.ul));
	assert_int_equal(pacs_ul_peer_ac(r.ul)->user_info.max_length, 16384);

	/* two PDVs in one P-DATA-TF (encoded by the codec) */
	assert_int_equal(pacs_ul_send_pdata(r.ul, two, 2), 0);
	assert_int_equal(r.n_sent, 2);
	pdu = sent_pdu(&r, 1, &len);
	assert_int_equal(len, 6 + 4 + 2 + 3 + 4 + 2 + 1);
	assert_memory_equal(pdu, ((const uint8_t[]){ 0x04, 0, 0, 0, 0, 16, 0, 0, 0, 5, 3, 0x01,
						     0x11, 0x22, 0x33, 0, 0, 0, 3, 3, 0x02, 0x11 }),
			    22);

	assert_int_equal(pacs_ul_feed(r.ul, pdata_bytes, sizeof(pdata_bytes)), 0);
	assert_int_equal(r.last_ind, IND_PDATA);

	assert_int_equal(pacs_ul_release(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA7);
	pdu = sent_pdu(&r, 2, &len);
	assert_memory_equal(pdu, release_rq_bytes, 10);
	/* data still arriving before the RP (AR-6) */
	assert_int_equal(pacs_ul_feed(r.ul, pdata_bytes, sizeof(pdata_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA7);
	assert_int_equal(pacs_ul_feed(r.ul, release_rp_bytes, sizeof(release_rp_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(r.last_ind, IND_RELEASE_RP);
	assert_int_equal(r.n_close, 1);
	rec_close(&r);
}

static void test_requestor_rejected(void **state)
{
	rec r;
	(void)state;

	rec_open(&r, NULL);
	assert_int_equal(pacs_ul_associate(r.ul, &g_rq), 0);
	assert_int_equal(pacs_ul_transport_connected(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, rj_bytes, sizeof(rj_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(r.last_ind, IND_ASSOC_RJ);
	assert_int_equal(r.rj.reason, 3);
	assert_int_equal(r.n_close, 1);
	/* the machine can be used again */
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA2);
	assert_false(pacs_ul_is_requestor(r.ul));
	assert_null(pacs_ul_peer_ac(r.ul));
	rec_close(&r);
}

static void test_artim_expiry_sta2(void **state)
{
	rec r;
	(void)state;

	rec_open(&r, NULL);
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_artim_expired(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(r.n_close, 1);
	assert_int_equal(r.n_stop, 1);
	assert_int_equal(r.n_sent, 0);
	assert_int_equal(r.n_ind, 0); /* no association existed */
	rec_close(&r);
}

static void test_artim_expiry_sta13(void **state)
{
	rec r;
	(void)state;

	rec_open(&r, NULL);
	r.auto_accept = &g_ac;
	r.auto_release_response = true;
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, g_rq_bytes, g_rq_len), 0);
	assert_int_equal(pacs_ul_feed(r.ul, release_rq_bytes, sizeof(release_rq_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	/* the peer never closes */
	assert_int_equal(pacs_ul_artim_expired(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(r.n_close, 1);
	rec_close(&r);
}

/* An HTTP request on the DICOM port: 'G' is no PDU type.  In Sta2 that is
 * AA-1 (source 0); the rest of the input is dropped. */
static void test_garbage_in_sta2(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	rec_open(&r, NULL);
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, (const uint8_t *)http, sizeof(http) - 1), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	assert_int_equal(r.n_sent, 1);
	pdu = sent_pdu(&r, 0, &len);
	assert_memory_equal(pdu, abort_user_bytes, 10);
	assert_int_equal(r.n_start, 2); /* AE-5, then AA-1 restarts it */
	/* more garbage: dropped, nothing else sent */
	assert_int_equal(pacs_ul_feed(r.ul, (const uint8_t *)http, sizeof(http) - 1), 0);
	assert_int_equal(r.n_sent, 1);
	assert_int_equal(r.n_trans, 2);
	assert_int_equal(pacs_ul_transport_closed(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	rec_close(&r);
}

/* Short garbage: fewer than 6 bytes wait for more, then fail. */
static void test_garbage_split(void **state)
{
	rec r;
	(void)state;

	rec_open(&r, NULL);
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, (const uint8_t *)"\x00\x00", 2), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA2);
	assert_int_equal(pacs_ul_feed(r.ul, (const uint8_t *)"\x00\x00\x00\x00", 4), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	assert_int_equal(r.n_sent, 1);
	rec_close(&r);
}

static void test_unknown_pdu_type_in_sta6(void **state)
{
	static const uint8_t t09[] = { 0x09, 0, 0, 0, 0, 2, 0xAB, 0xCD };
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	put_in_state(&r, PACS_UL_STA6, false);
	assert_int_equal(pacs_ul_feed(r.ul, t09, sizeof(t09)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	pdu = sent_pdu(&r, 0, &len);
	/* AA-8: source 2, reason 1 unrecognized-PDU */
	assert_memory_equal(pdu, ((const uint8_t[]){ 0x07, 0, 0, 0, 0, 4, 0, 0, 2, 1 }), 10);
	assert_int_equal(r.last_ind, IND_ABORT);
	assert_int_equal(r.abort.origin, PACS_UL_ABORT_LOCAL_PROVIDER);
	assert_non_null(strstr(r.abort.detail, "0x09"));
	rec_close(&r);
}

static void test_pdu_above_limit(void **state)
{
	/* P-DATA-TF announcing 4096 bytes against a limit of 1024 */
	static const uint8_t big_pdata[] = { 0x04, 0, 0, 0, 0x10, 0x00, 0, 0, 0x0F, 0xFC };
	/* an A-RELEASE-RQ cannot be 2 MB either */
	static const uint8_t big_release[] = { 0x05, 0, 0, 0x20, 0, 0 };
	pacs_ul_opts opts;
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	pacs_ul_opts_init(&opts);
	opts.max_pdata_length = 1024;
	rec_open(&r, &opts);
	assert_int_equal(pacs_ul_associate(r.ul, &g_rq), 0);
	assert_int_equal(pacs_ul__force_state(r.ul, PACS_UL_STA6, false), 0);
	assert_int_equal(pacs_ul_feed(r.ul, big_pdata, sizeof(big_pdata)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	pdu = sent_pdu(&r, 0, &len);
	/* source 2, reason 6 invalid-PDU-parameter value */
	assert_memory_equal(pdu, ((const uint8_t[]){ 0x07, 0, 0, 0, 0, 4, 0, 0, 2, 6 }), 10);
	assert_non_null(strstr(r.abort.detail, "limit"));
	rec_close(&r);

	/* a P-DATA-TF of exactly the limit passes */
	rec_open(&r, &opts);
	assert_int_equal(pacs_ul_associate(r.ul, &g_rq), 0);
	assert_int_equal(pacs_ul__force_state(r.ul, PACS_UL_STA6, false), 0);
	{
		uint8_t *p = calloc(1, 6 + 1024);

		assert_non_null(p);
		memcpy(p, ((const uint8_t[]){ 0x04, 0, 0, 0, 0x04, 0x00, 0, 0, 0x03, 0xFC, 1, 0 }), 12);
		rec_clear(&r);
		assert_int_equal(pacs_ul_feed(r.ul, p, 6 + 1024), 0);
		assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA6);
		assert_int_equal(r.last_ind, IND_PDATA);
		assert_int_equal(r.pdata_len, 1018);
		free(p);
	}
	rec_close(&r);

	put_in_state(&r, PACS_UL_STA6, false);
	assert_int_equal(pacs_ul_feed(r.ul, big_release, sizeof(big_release)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	pdu = sent_pdu(&r, 0, &len);
	assert_int_equal(pdu[9], 6);
	rec_close(&r);
}

/* A body that does not decode is Evt19 too (reason 6). */
static void test_malformed_body(void **state)
{
	/* A-RELEASE-RQ with length 5 instead of 4 */
	static const uint8_t bad_release[] = { 0x05, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0 };
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	put_in_state(&r, PACS_UL_STA6, false);
	assert_int_equal(pacs_ul_feed(r.ul, bad_release, sizeof(bad_release)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	pdu = sent_pdu(&r, 0, &len);
	assert_memory_equal(pdu, ((const uint8_t[]){ 0x07, 0, 0, 0, 0, 4, 0, 0, 2, 6 }), 10);
	assert_int_equal(r.trans[0].event, PACS_UL_EVT19_INVALID_PDU);
	rec_close(&r);
}

/* PS3.8 9.3.2 / Table 9-21: an RQ without bit 0 in the protocol version is
 * rejected by the provider: result 1, source 2, reason 2. */
static void test_wrong_protocol_version(void **state)
{
	uint8_t rq[512];
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	memcpy(rq, g_rq_bytes, g_rq_len);
	rq[6] = 0x00;
	rq[7] = 0x02; /* version 2 only */
	rec_open(&r, NULL);
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, rq, g_rq_len), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	assert_int_equal(r.n_ind, 0);
	assert_int_equal(r.n_sent, 1);
	pdu = sent_pdu(&r, 0, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(pdu, ((const uint8_t[]){ 0x03, 0, 0, 0, 0, 4, 0, 1, 2, 2 }), 10);
	assert_int_equal(r.n_stop, 1);
	assert_int_equal(r.n_start, 2);
	expect_trans(&r, 1, 2, 6, "AE-6", 13);
	rec_close(&r);
}

/* P-DATA before any association: Sta2 answers AA-1 (source 0), Sta5 AA-8
 * (source 2, reason 2 unexpected-PDU). */
static void test_pdata_before_association(void **state)
{
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	rec_open(&r, NULL);
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, pdata_bytes, sizeof(pdata_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	pdu = sent_pdu(&r, 0, &len);
	assert_memory_equal(pdu, abort_user_bytes, 10);
	assert_int_equal(r.n_ind, 0);
	rec_close(&r);

	rec_open(&r, NULL);
	assert_int_equal(pacs_ul_associate(r.ul, &g_rq), 0);
	assert_int_equal(pacs_ul_transport_connected(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, pdata_bytes, sizeof(pdata_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	pdu = sent_pdu(&r, 1, &len);
	assert_memory_equal(pdu, ((const uint8_t[]){ 0x07, 0, 0, 0, 0, 4, 0, 0, 2, 2 }), 10);
	assert_int_equal(r.abort.origin, PACS_UL_ABORT_LOCAL_PROVIDER);
	rec_close(&r);
}

/* Both sides send A-RELEASE-RQ at once (PS3.8 Table 9-10, Sta9-Sta12). */
static void test_release_collision_requestor(void **state)
{
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	put_in_state(&r, PACS_UL_STA6, true);
	assert_int_equal(pacs_ul_release(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, release_rq_bytes, sizeof(release_rq_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA9);
	assert_true(r.collision);
	assert_int_equal(pacs_ul_release_response(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA11);
	pdu = sent_pdu(&r, 1, &len);
	assert_memory_equal(pdu, release_rp_bytes, 10);
	assert_int_equal(pacs_ul_feed(r.ul, release_rp_bytes, sizeof(release_rp_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(r.last_ind, IND_RELEASE_RP);
	assert_int_equal(r.n_close, 1);
	expect_trans(&r, 1, 7, 12, "AR-8", 9);
	expect_trans(&r, 2, 9, 14, "AR-9", 11);
	expect_trans(&r, 3, 11, 13, "AR-3", 1);
	rec_close(&r);
}

static void test_release_collision_acceptor(void **state)
{
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	put_in_state(&r, PACS_UL_STA6, false);
	assert_int_equal(pacs_ul_release(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, release_rq_bytes, sizeof(release_rq_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA10);
	assert_true(r.collision);
	/* the acceptor may not answer yet (Evt14 is not defined in Sta10) */
	assert_int_equal(pacs_ul_feed(r.ul, release_rp_bytes, sizeof(release_rp_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA12);
	assert_int_equal(r.last_ind, IND_RELEASE_RP);
	assert_int_equal(pacs_ul_release_response(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	pdu = sent_pdu(&r, 1, &len);
	assert_memory_equal(pdu, release_rp_bytes, 10);
	assert_int_equal(r.n_start, 1);
	assert_int_equal(pacs_ul_transport_closed(r.ul), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	rec_close(&r);
}

/* The peer's service user aborts: A-ABORT indication, not A-P-ABORT. */
static void test_peer_user_abort(void **state)
{
	rec r;
	(void)state;

	put_in_state(&r, PACS_UL_STA6, false);
	assert_int_equal(pacs_ul_feed(r.ul, abort_user_bytes, sizeof(abort_user_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(r.abort.origin, PACS_UL_ABORT_PEER_USER);
	assert_int_equal(r.n_close, 1);
	assert_int_equal(r.n_sent, 0);
	rec_close(&r);
}

/* Three PDUs in one read, then the same bytes one at a time. */
static void test_framing(void **state)
{
	uint8_t all[64];
	size_t n = 0, i;
	rec r;
	(void)state;

	memcpy(all + n, pdata_bytes, sizeof(pdata_bytes));
	n += sizeof(pdata_bytes);
	memcpy(all + n, pdata_bytes, sizeof(pdata_bytes));
	n += sizeof(pdata_bytes);
	memcpy(all + n, release_rq_bytes, sizeof(release_rq_bytes));
	n += sizeof(release_rq_bytes);

	put_in_state(&r, PACS_UL_STA6, false);
	assert_int_equal(pacs_ul_feed(r.ul, all, n), 0);
	assert_int_equal(r.n_trans, 3);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA8);
	rec_close(&r);

	put_in_state(&r, PACS_UL_STA6, false);
	for (i = 0; i < n; i++)
		assert_int_equal(pacs_ul_feed(r.ul, all + i, 1), 0);
	assert_int_equal(r.n_trans, 3);
	expect_trans(&r, 0, 6, 10, "DT-2", 6);
	expect_trans(&r, 1, 6, 10, "DT-2", 6);
	expect_trans(&r, 2, 6, 12, "AR-2", 8);
	assert_int_equal(r.pdata_len, 2);
	rec_close(&r);

	/* bytes after the PDU that ends the connection are dropped */
	put_in_state(&r, PACS_UL_STA7, true);
	memcpy(all, release_rp_bytes, sizeof(release_rp_bytes));
	memcpy(all + sizeof(release_rp_bytes), pdata_bytes, sizeof(pdata_bytes));
	assert_int_equal(pacs_ul_feed(r.ul, all, sizeof(release_rp_bytes) + sizeof(pdata_bytes)), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(r.n_trans, 1);
	rec_close(&r);
}

/* A P-DATA-TF with many small PDVs grows the PDV array. */
static void test_many_pdvs(void **state)
{
	uint8_t pdu[6 + 40 * 7];
	size_t i, n = 6;
	rec r;
	(void)state;

	pdu[0] = 0x04;
	pdu[1] = 0;
	for (i = 0; i < 40; i++) {
		const uint8_t item[7] = { 0, 0, 0, 3, 1, 0x00, (uint8_t)i };

		memcpy(pdu + n, item, sizeof(item));
		n += sizeof(item);
	}
	pdu[2] = 0;
	pdu[3] = 0;
	pdu[4] = (uint8_t)((n - 6) >> 8);
	pdu[5] = (uint8_t)(n - 6);
	put_in_state(&r, PACS_UL_STA6, false);
	assert_int_equal(pacs_ul_feed(r.ul, pdu, n), 0);
	assert_int_equal(r.pdata_n, 40);
	assert_int_equal(r.pdata_len, 40);
	assert_int_equal(r.pdata[39], 39);
	rec_close(&r);
}

/* A PDU with no body is complete with its header, even when the header
 * arrives in pieces: Evt19 at once (no PDU type has an empty body). */
static void test_empty_pdu(void **state)
{
	static const uint8_t empty_release[] = { 0x05, 0, 0, 0, 0, 0 };
	rec r;
	size_t len;
	const uint8_t *pdu;
	(void)state;

	put_in_state(&r, PACS_UL_STA6, false);
	assert_int_equal(pacs_ul_feed(r.ul, empty_release, 3), 0);
	assert_int_equal(r.n_trans, 0);
	assert_int_equal(pacs_ul_feed(r.ul, empty_release + 3, 3), 0);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
	pdu = sent_pdu(&r, 0, &len);
	assert_memory_equal(pdu, ((const uint8_t[]){ 0x07, 0, 0, 0, 0, 4, 0, 0, 2, 6 }), 10);
	rec_close(&r);
}

/* A tiny deterministic generator, so that a failure can be replayed. */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Random bytes in random pieces: the machine must end in a state the
 * table allows and never touch memory it should not (ASan). */
static void test_random_garbage(void **state)
{
	uint8_t junk[600];
	uint32_t seed = 12345;
	int round;
	(void)state;

	for (round = 0; round < 300; round++) {
		rec r;
		size_t i, off = 0, n = 1 + lcg(&seed) % sizeof(junk);

		for (i = 0; i < n; i++)
			junk[i] = (uint8_t)lcg(&seed);
		/* often a plausible header, to get past the type check */
		if (round % 2 == 0)
			junk[0] = (uint8_t)(1 + lcg(&seed) % 7);
		if (round % 4 == 0 && n > 6) {
			junk[2] = junk[3] = 0;
			junk[4] = (uint8_t)((n - 6) >> 8);
			junk[5] = (uint8_t)(n - 6);
		}
		put_in_state(&r, round % 3 == 0 ? PACS_UL_STA2 : PACS_UL_STA6, false);
		while (off < n && pacs_ul_state(r.ul) != PACS_UL_STA1) {
			size_t piece = 1 + lcg(&seed) % 64;

			if (piece > n - off)
				piece = n - off;
			(void)pacs_ul_feed(r.ul, junk + off, piece);
			off += piece;
		}
		assert_true(pacs_ul_state(r.ul) == PACS_UL_STA1 || pacs_ul_state(r.ul) == PACS_UL_STA2 ||
			    pacs_ul_state(r.ul) == PACS_UL_STA3 || pacs_ul_state(r.ul) == PACS_UL_STA6 ||
			    pacs_ul_state(r.ul) == PACS_UL_STA8 || pacs_ul_state(r.ul) == PACS_UL_STA13);
		rec_close(&r);
	}
}

/* A valid stream cut at random places gives the same transitions. */
static void test_random_chunking(void **state)
{
	uint8_t all[1024];
	size_t n = 0;
	uint32_t seed = 777;
	int round;
	(void)state;

	memcpy(all + n, g_rq_bytes, g_rq_len);
	n += g_rq_len;
	memcpy(all + n, pdata_bytes, sizeof(pdata_bytes));
	n += sizeof(pdata_bytes);
	memcpy(all + n, pdata_bytes, sizeof(pdata_bytes));
	n += sizeof(pdata_bytes);
	memcpy(all + n, release_rq_bytes, sizeof(release_rq_bytes));
	n += sizeof(release_rq_bytes);
	for (round = 0; round < 100; round++) {
		rec r;
		size_t off = 0;

		rec_open(&r, NULL);
		r.auto_accept = &g_ac;
		r.auto_release_response = true;
		assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
		while (off < n) {
			size_t piece = 1 + lcg(&seed) % 40;

			if (piece > n - off)
				piece = n - off;
			assert_int_equal(pacs_ul_feed(r.ul, all + off, piece), 0);
			off += piece;
		}
		assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA13);
		assert_int_equal(r.n_trans, 7); /* AE-5 AE-6 AE-7 DT-2 DT-2 AR-2 AR-4 */
		expect_trans(&r, 6, 8, 14, "AR-4", 13);
		rec_close(&r);
	}
}

/* Effect callbacks must not call back into the machine. */
static void test_reentry_from_effect_refused(void **state)
{
	rec r;
	(void)state;

	put_in_state(&r, PACS_UL_STA6, false);
	r.reenter_from_send = true;
	assert_int_equal(pacs_ul_release(r.ul), 0);
	assert_int_equal(r.reenter_rc, ARCA_EINVAL);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA7);
	rec_close(&r);
}

static void test_api_misuse(void **state)
{
	rec r;
	pacs_ul *ul = NULL;
	const pacs_ul_port noport = { 0 };
	(void)state;

	assert_int_equal(pacs_ul_new(&ul, &noport, NULL), ARCA_EINVAL);
	assert_null(ul);
	rec_open(&r, NULL);
	/* PDU events come from the framer only */
	assert_int_equal(pacs_ul_event(r.ul, PACS_UL_EVT6_ASSOCIATE_RQ_PDU, NULL), ARCA_EINVAL);
	assert_int_equal(pacs_ul_event(r.ul, (enum pacs_ul_event)0, NULL), ARCA_EINVAL);
	assert_int_equal(pacs_ul_event(r.ul, (enum pacs_ul_event)20, NULL), ARCA_EINVAL);
	/* a missing argument leaves the machine where it was */
	assert_int_equal(pacs_ul_associate(r.ul, NULL), ARCA_EINVAL);
	assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA1);
	assert_int_equal(pacs_ul_feed(r.ul, pdata_bytes, sizeof(pdata_bytes)), ARCA_EINVAL);
	assert_int_equal(r.n_trans, 0);
	/* an AC the encoder refuses: no transition */
	assert_int_equal(pacs_ul_transport_accepted(r.ul), 0);
	assert_int_equal(pacs_ul_feed(r.ul, g_rq_bytes, g_rq_len), 0);
	{
		pacs_pdu_assoc bad = g_ac;

		bad.n_pctx = 0;
		assert_int_not_equal(pacs_ul_accept(r.ul, &bad), 0);
		assert_int_equal(pacs_ul_state(r.ul), PACS_UL_STA3);
	}
	assert_string_equal(pacs_ul_state_name(PACS_UL_STA13), "Sta13");
	assert_string_equal(pacs_ul_event_name(PACS_UL_EVT19_INVALID_PDU), "Evt19");
	assert_string_equal(pacs_ul_state_text(PACS_UL_STA6),
			    "Association established and ready for data transfer");
	assert_string_equal(pacs_ul_state_name((enum pacs_ul_state)14), "?");
	pacs_ul_free(NULL);
	rec_close(&r);
}

int main(void)
{
	static struct CMUnitTest cell_tests[PACS_UL_EVENT_COUNT * PACS_UL_STATE_COUNT];
	const struct CMUnitTest scenarios[] = {
		cmocka_unit_test(test_acceptor_happy_path),
		cmocka_unit_test(test_requestor_happy_path),
		cmocka_unit_test(test_requestor_rejected),
		cmocka_unit_test(test_artim_expiry_sta2),
		cmocka_unit_test(test_artim_expiry_sta13),
		cmocka_unit_test(test_garbage_in_sta2),
		cmocka_unit_test(test_garbage_split),
		cmocka_unit_test(test_unknown_pdu_type_in_sta6),
		cmocka_unit_test(test_pdu_above_limit),
		cmocka_unit_test(test_malformed_body),
		cmocka_unit_test(test_wrong_protocol_version),
		cmocka_unit_test(test_pdata_before_association),
		cmocka_unit_test(test_release_collision_requestor),
		cmocka_unit_test(test_release_collision_acceptor),
		cmocka_unit_test(test_peer_user_abort),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_many_pdvs),
		cmocka_unit_test(test_empty_pdu),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_random_chunking),
		cmocka_unit_test(test_reentry_from_effect_refused),
		cmocka_unit_test(test_api_misuse),
	};
	size_t i, n = sizeof(cells) / sizeof(cells[0]);
	int failed;

	/* the cells and the PDUs are needed before the groups run */
	if (encode_globals() != 0 || parse_table() != 0) {
		fprintf(stderr, "pacs_ul_fsm_test: setup failed: %s\n", arca_error_last());
		return 1;
	}
	for (i = 0; i < n; i++) {
		cell_tests[i].name = cells[i].name;
		cell_tests[i].test_func = test_cell;
		cell_tests[i].initial_state = &cells[i];
	}
	failed = _cmocka_run_group_tests("PS3.8 Table 9-10", cell_tests, n, NULL, NULL);
	failed += cmocka_run_group_tests_name("scenarios", scenarios, NULL, NULL);
	return failed;
}
