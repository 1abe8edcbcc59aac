/* pacs_assoc_test.c - association policy: the A-ASSOCIATE-RJ reasons of
 * PS3.8 Table 9-21, the presentation context results of Table 9-18, our
 * transfer syntax preference, SCP/SCU role selection (PS3.7 D.3.3.4), the
 * asynchronous operations window (D.3.3.3), user identity (D.3.3.7), the
 * Q/R FIND SOP Class Extended Negotiation (D.3.3.5, PS3.4 C.5.1.1) and the
 * exact bytes of one A-ASSOCIATE-AC. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "arca_err.h"
#include "pacs_assoc.h"
#include "pacs_buf.h"
#include "pacs_pdu.h"
#include "pacs_ts.h"
#include "pacs_ul.h"
#include "pacs_write.h"

#define VERIFICATION "1.2.840.10008.1.1"
#define CT_STORAGE "1.2.840.10008.5.1.4.1.1.2"
#define MR_STORAGE "1.2.840.10008.5.1.4.1.1.4"
#define STUDY_FIND "1.2.840.10008.5.1.4.1.2.2.1"
#define UNKNOWN_SOP "1.2.3.4.5.6.7"

static const char *const ts_implicit[] = { PACS_TS_IMPLICIT_LE };
static const char *const ts_three[] = { PACS_TS_IMPLICIT_LE, PACS_TS_EXPLICIT_BE, PACS_TS_EXPLICIT_LE };
static const char *const ts_jpeg_first[] = { PACS_TS_JPEG_BASELINE, PACS_TS_EXPLICIT_LE };
static const char *const ts_bogus[] = { "1.2.3.999" };

static pacs_pdu_assoc rq_with(const pacs_pdu_pctx *pctx, size_t n)
{
	pacs_pdu_assoc a;

	memset(&a, 0, sizeof(a));
	a.protocol_version = PACS_PDU_PROTOCOL_VERSION;
	strcpy(a.called_ae, "ARCA");
	strcpy(a.calling_ae, "SCU");
	a.app_context = PACS_PDU_APP_CONTEXT;
	a.pctx = pctx;
	a.n_pctx = n;
	a.user_info.max_length = 32768;
	a.user_info.impl_class_uid = "1.2.3.4";
	return a;
}

static const pacs_pdu_pctx one_echo[] = {
	{ .id = 1, .abstract_syntax = VERIFICATION, .transfer_syntaxes = ts_implicit,
	  .n_transfer_syntaxes = 1 },
};

static pacs_assoc *negotiate(const pacs_pdu_assoc *rq, const pacs_assoc_policy *p)
{
	pacs_assoc *a = NULL;

	assert_int_equal(pacs_assoc_negotiate(&a, rq, p), 0);
	assert_non_null(a);
	return a;
}

static void expect_rj(const pacs_assoc *a, uint8_t result, uint8_t source, uint8_t reason)
{
	const pacs_pdu_reject *rj = pacs_assoc_rj(a);

	assert_false(pacs_assoc_is_accepted(a));
	assert_null(pacs_assoc_ac(a));
	assert_non_null(rj);
	assert_int_equal(rj->result, result);
	assert_int_equal(rj->source, source);
	assert_int_equal(rj->reason, reason);
	assert_int_equal(pacs_assoc_pctx_count(a), 0);
}

/* The AC must survive the codec both ways. */
static pacs_pdu_assoc *round_trip_ac(const pacs_assoc *a)
{
	pacs_buf b;
	pacs_pdu_assoc *dec = NULL;

	pacs_buf_init(&b, 1u << 20);
	assert_int_equal(pacs_pdu_encode_assoc_ac(&b, pacs_assoc_ac(a)), 0);
	assert_int_equal(pacs_pdu_decode_assoc_ac(&dec, pacs_buf_data(&b) + PACS_PDU_HEADER_LEN,
						  pacs_buf_len(&b) - PACS_PDU_HEADER_LEN),
			 0);
	pacs_buf_free(&b);
	return dec;
}

/* ------------------------------------------------------------ the AC bytes */

static void test_exact_ac_bytes(void **state)
{
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	pacs_assoc *a;
	pacs_buf b;
	uint8_t want[199];
	size_t n = 0;
	(void)state;

	pacs_assoc_policy_init(&p);
	rq.reserved[0] = 0x5A; /* echoed by the AC (PS3.8 9.3.3) */
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	assert_string_equal(pacs_assoc_summary(a), "1 of 1 presentation contexts accepted");

	/* PS3.8 9.3.3 Table 9-17 */
#define PUT(...)                                                           \
	do {                                                               \
		const uint8_t x_[] = { __VA_ARGS__ };                      \
		memcpy(want + n, x_, sizeof(x_));                          \
		n += sizeof(x_);                                           \
	} while (0)
#define PUTS(s)                                                            \
	do {                                                               \
		memcpy(want + n, s, strlen(s));                            \
		n += strlen(s);                                            \
	} while (0)
	PUT(0x02, 0x00, 0x00, 0x00, 0x00, 0xC1); /* A-ASSOCIATE-AC, 193 bytes */
	PUT(0x00, 0x01, 0x00, 0x00);             /* protocol version 1, reserved */
	PUTS("ARCA            ");                /* called AE, echoed */
	PUTS("SCU             ");                /* calling AE, echoed */
	PUT(0x5A);                               /* reserved bytes 43-74, echoed */
	memset(want + n, 0, 31);
	n += 31;
	PUT(0x10, 0x00, 0x00, 0x15);             /* application context, 21 bytes */
	PUTS("1.2.840.10008.3.1.1.1");
	PUT(0x21, 0x00, 0x00, 0x19);             /* presentation context (AC), 25 bytes */
	PUT(0x01, 0x00, 0x00, 0x00);             /* ID 1, reserved, acceptance, reserved */
	PUT(0x40, 0x00, 0x00, 0x11);             /* transfer syntax, 17 bytes */
	PUTS("1.2.840.10008.1.2");
	PUT(0x50, 0x00, 0x00, 0x43);             /* user information, 67 bytes */
	PUT(0x51, 0x00, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00); /* max length 262144 */
	PUT(0x52, 0x00, 0x00, 0x2B);             /* implementation class UID, 43 bytes */
	PUTS(PACS_IMPLEMENTATION_CLASS_UID);
	PUT(0x55, 0x00, 0x00, 0x08);             /* implementation version name */
	PUTS(PACS_IMPLEMENTATION_VERSION);
#undef PUT
#undef PUTS
	assert_int_equal(n, 199);

	pacs_buf_init(&b, 4096);
	assert_int_equal(pacs_pdu_encode_assoc_ac(&b, pacs_assoc_ac(a)), 0);
	assert_int_equal(pacs_buf_len(&b), n);
	assert_memory_equal(pacs_buf_data(&b), want, n);
	pacs_buf_free(&b);

	assert_int_equal(pacs_assoc_peer_max_pdu(a), 32768);
	assert_string_equal(pacs_assoc_calling_ae(a), "SCU");
	assert_string_equal(pacs_assoc_called_ae(a), "ARCA");
	pacs_assoc_free(a);
}

/* ------------------------------------------------------------ rejections */

static void test_reject_called_ae(void **state)
{
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	pacs_assoc *a;
	(void)state;

	pacs_assoc_policy_init(&p);
	strcpy(rq.called_ae, "OTHER");
	a = negotiate(&rq, &p);
	/* PS3.8 Table 9-21: rejected-permanent, service-user, called-AE-title-not-recognized */
	expect_rj(a, 1, 1, 7);
	assert_non_null(strstr(pacs_assoc_summary(a), "OTHER"));
	pacs_assoc_free(a);

	p.check_called_ae = false;
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	pacs_assoc_free(a);
}

static void test_reject_calling_ae(void **state)
{
	static const char *const allowed[] = { "MODALITY1", "SCU" };
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	pacs_assoc *a;
	(void)state;

	pacs_assoc_policy_init(&p);
	p.calling_aes = allowed;
	p.n_calling_aes = 1;
	a = negotiate(&rq, &p);
	expect_rj(a, 1, 1, 3); /* calling-AE-title-not-recognized */
	pacs_assoc_free(a);

	p.n_calling_aes = 2;
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	pacs_assoc_free(a);
}

static void test_reject_app_context(void **state)
{
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	pacs_assoc *a;
	(void)state;

	pacs_assoc_policy_init(&p);
	rq.app_context = "1.2.840.10008.3.1.1.2";
	a = negotiate(&rq, &p);
	expect_rj(a, 1, 1, 2); /* application-context-name-not-supported */
	pacs_assoc_free(a);
}

static void test_reject_protocol_version(void **state)
{
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	pacs_assoc *a;
	(void)state;

	pacs_assoc_policy_init(&p);
	rq.protocol_version = 0x0002;
	a = negotiate(&rq, &p);
	/* service-provider (ACSE related function), protocol-version-not-supported */
	expect_rj(a, 1, 2, 2);
	pacs_assoc_free(a);
	/* other bits next to bit 0 do not matter (PS3.8 9.3.2) */
	rq.protocol_version = 0x0003;
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	pacs_assoc_free(a);
}

/* ------------------------------------------------------------ identity */

typedef struct id_check {
	int verdict;
	int calls;
	uint8_t seen_type;
	char seen_calling[17];
} id_check;

static int check_identity(void *ctx, const char *calling_ae, const pacs_pdu_identity *id,
			  pacs_buf *response)
{
	id_check *c = ctx;

	c->calls++;
	c->seen_type = id->type;
	strcpy(c->seen_calling, calling_ae);
	if (c->verdict < 0)
		return arca_error_set(ARCA_EIO, "directory unreachable");
	if (c->verdict > 0 && id->type == PACS_PDU_IDENTITY_JWT)
		assert_int_equal(pacs_buf_add(response, "ok-token", 8), 0);
	if (c->verdict > 0 && id->type == PACS_PDU_IDENTITY_NONE)
		return 0; /* this policy requires an identity */
	return c->verdict;
}

static void test_user_identity(void **state)
{
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	pacs_pdu_assoc *dec;
	pacs_assoc *a;
	id_check c = { 0 };
	(void)state;

	pacs_assoc_policy_init(&p);
	rq.user_info.identity.type = PACS_PDU_IDENTITY_USERNAME_PASSCODE;
	rq.user_info.identity.primary = (const uint8_t *)"alice";
	rq.user_info.identity.primary_len = 5;
	rq.user_info.identity.secondary = (const uint8_t *)"secret";
	rq.user_info.identity.secondary_len = 6;
	rq.user_info.identity.positive_response_requested = true;

	/* no callback: the sub-item is ignored, and not answered */
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	assert_false(pacs_assoc_ac(a)->user_info.has_identity_response);
	assert_false(pacs_assoc_identity_accepted(a));
	pacs_assoc_free(a);

	p.identity_fn = check_identity;
	p.identity_ctx = &c;
	/* refused: rejected-permanent, service-user, no-reason-given */
	c.verdict = 0;
	a = negotiate(&rq, &p);
	expect_rj(a, 1, 1, 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.seen_type, PACS_PDU_IDENTITY_USERNAME_PASSCODE);
	assert_string_equal(c.seen_calling, "SCU");
	pacs_assoc_free(a);

	/* the check itself failed: rejected-transient */
	c.verdict = -1;
	a = negotiate(&rq, &p);
	expect_rj(a, 2, 1, 1);
	assert_non_null(strstr(pacs_assoc_summary(a), "directory unreachable"));
	pacs_assoc_free(a);

	/* accepted, positive response asked: an empty server response (type 2) */
	c.verdict = 1;
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	assert_true(pacs_assoc_identity_accepted(a));
	assert_true(pacs_assoc_ac(a)->user_info.has_identity_response);
	assert_int_equal(pacs_assoc_ac(a)->user_info.identity_response_len, 0);
	dec = round_trip_ac(a);
	assert_true(dec->user_info.has_identity_response);
	pacs_pdu_assoc_free(dec);
	pacs_assoc_free(a);

	/* accepted, no positive response asked: no sub-item */
	rq.user_info.identity.positive_response_requested = false;
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	assert_false(pacs_assoc_ac(a)->user_info.has_identity_response);
	pacs_assoc_free(a);

	/* a JWT with a server response */
	rq.user_info.identity.type = PACS_PDU_IDENTITY_JWT;
	rq.user_info.identity.secondary = NULL;
	rq.user_info.identity.secondary_len = 0;
	rq.user_info.identity.positive_response_requested = true;
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_ac(a)->user_info.has_identity_response);
	assert_int_equal(pacs_assoc_ac(a)->user_info.identity_response_len, 8);
	assert_memory_equal(pacs_assoc_ac(a)->user_info.identity_response, "ok-token", 8);
	dec = round_trip_ac(a);
	assert_int_equal(dec->user_info.identity_response_len, 8);
	pacs_pdu_assoc_free(dec);
	pacs_assoc_free(a);

	/* no identity at all, and the policy requires one */
	memset(&rq.user_info.identity, 0, sizeof(rq.user_info.identity));
	a = negotiate(&rq, &p);
	assert_int_equal(c.seen_type, PACS_PDU_IDENTITY_NONE);
	expect_rj(a, 1, 1, 1);
	pacs_assoc_free(a);
}

/* ------------------------------------------------------------ contexts */

static void test_context_results(void **state)
{
	const pacs_pdu_pctx pctx[] = {
		{ .id = 1, .abstract_syntax = VERIFICATION, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
		{ .id = 3, .abstract_syntax = UNKNOWN_SOP, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
		{ .id = 5, .abstract_syntax = CT_STORAGE, .transfer_syntaxes = ts_bogus,
		  .n_transfer_syntaxes = 1 },
		{ .id = 7, .abstract_syntax = STUDY_FIND, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
	};
	/* the requestor offers only the SCP role for Study Root FIND, which we
	 * can only serve as SCP: nothing left (PS3.7 D.3.3.4) */
	const pacs_pdu_role roles[] = { { STUDY_FIND, 0, 1 } };
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(pctx, 4);
	const pacs_pdu_assoc *ac;
	pacs_pdu_assoc *dec;
	pacs_assoc *a;
	(void)state;

	rq.user_info.roles = roles;
	rq.user_info.n_roles = 1;
	pacs_assoc_policy_init(&p);
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	assert_int_equal(pacs_assoc_pctx_count(a), 4);
	/* PS3.8 Table 9-18 */
	assert_int_equal(pacs_assoc_pctx_find(a, 1)->result, PACS_PDU_PCTX_ACCEPTANCE);
	assert_string_equal(pacs_assoc_pctx_find(a, 1)->transfer_syntax, PACS_TS_IMPLICIT_LE);
	assert_int_equal(pacs_assoc_pctx_find(a, 3)->result, 3); /* abstract-syntax-not-supported */
	assert_int_equal(pacs_assoc_pctx_find(a, 5)->result, 4); /* transfer-syntaxes-not-supported */
	assert_int_equal(pacs_assoc_pctx_find(a, 7)->result, 1); /* user-rejection */
	assert_null(pacs_assoc_pctx_find(a, 3)->transfer_syntax);
	assert_null(pacs_assoc_pctx_find(a, 9));
	assert_non_null(pacs_assoc_pctx_accepted(a, VERIFICATION));
	assert_null(pacs_assoc_pctx_accepted(a, STUDY_FIND));
	assert_string_equal(pacs_assoc_summary(a), "1 of 4 presentation contexts accepted");
	ac = pacs_assoc_ac(a);
	assert_int_equal(ac->n_pctx, 4);
	assert_int_equal(ac->pctx[2].id, 5);
	assert_int_equal(ac->pctx[2].result, 4);
	/* the role item of a rejected context is not answered */
	assert_int_equal(ac->user_info.n_roles, 0);
	dec = round_trip_ac(a);
	assert_int_equal(dec->n_pctx, 4);
	assert_int_equal(dec->pctx[3].result, 1);
	assert_string_equal(dec->pctx[0].transfer_syntax, PACS_TS_IMPLICIT_LE);
	pacs_pdu_assoc_free(dec);
	pacs_assoc_free(a);
}

/* No context accepted: still an A-ASSOCIATE-AC, every context rejected
 * (as DCMTK's storescp does). */
static void test_no_context_accepted(void **state)
{
	const pacs_pdu_pctx pctx[] = {
		{ .id = 1, .abstract_syntax = UNKNOWN_SOP, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
	};
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(pctx, 1);
	pacs_assoc *a;
	(void)state;

	pacs_assoc_policy_init(&p);
	a = negotiate(&rq, &p);
	assert_true(pacs_assoc_is_accepted(a));
	assert_int_equal(pacs_assoc_ac(a)->pctx[0].result, 3);
	assert_string_equal(pacs_assoc_summary(a), "0 of 1 presentation contexts accepted");
	pacs_pdu_assoc_free(round_trip_ac(a));
	pacs_assoc_free(a);

	/* and an RQ without any context is rejected */
	rq.n_pctx = 0;
	a = negotiate(&rq, &p);
	expect_rj(a, 1, 1, 1);
	pacs_assoc_free(a);
}

static void test_transfer_syntax_preference(void **state)
{
	const pacs_pdu_pctx pctx[] = {
		{ .id = 1, .abstract_syntax = CT_STORAGE, .transfer_syntaxes = ts_three,
		  .n_transfer_syntaxes = 3 },
		{ .id = 3, .abstract_syntax = MR_STORAGE, .transfer_syntaxes = ts_jpeg_first,
		  .n_transfer_syntaxes = 2 },
		{ .id = 5, .abstract_syntax = MR_STORAGE, .transfer_syntaxes = ts_jpeg_first,
		  .n_transfer_syntaxes = 1 },
	};
	static const char *const implicit_first[] = { PACS_TS_IMPLICIT_LE, PACS_TS_EXPLICIT_LE };
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(pctx, 3);
	pacs_assoc *a;
	(void)state;

	pacs_assoc_policy_init(&p);
	a = negotiate(&rq, &p);
	/* ours first: explicit LE although the requestor listed implicit first */
	assert_string_equal(pacs_assoc_pctx_find(a, 1)->transfer_syntax, PACS_TS_EXPLICIT_LE);
	/* uncompressed before JPEG */
	assert_string_equal(pacs_assoc_pctx_find(a, 3)->transfer_syntax, PACS_TS_EXPLICIT_LE);
	/* JPEG alone is accepted by the default list */
	assert_string_equal(pacs_assoc_pctx_find(a, 5)->transfer_syntax, PACS_TS_JPEG_BASELINE);
	pacs_assoc_free(a);

	p.transfer_syntaxes = implicit_first;
	p.n_transfer_syntaxes = 2;
	a = negotiate(&rq, &p);
	assert_string_equal(pacs_assoc_pctx_find(a, 1)->transfer_syntax, PACS_TS_IMPLICIT_LE);
	assert_string_equal(pacs_assoc_pctx_find(a, 3)->transfer_syntax, PACS_TS_EXPLICIT_LE);
	assert_int_equal(pacs_assoc_pctx_find(a, 5)->result, 4);
	pacs_assoc_free(a);
}

/* PS3.7 D.3.3.4: answers only what was proposed, only where we can. */
static void test_role_selection(void **state)
{
	const pacs_pdu_pctx pctx[] = {
		{ .id = 1, .abstract_syntax = CT_STORAGE, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
		{ .id = 3, .abstract_syntax = VERIFICATION, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
		{ .id = 5, .abstract_syntax = STUDY_FIND, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
		{ .id = 7, .abstract_syntax = MR_STORAGE, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
	};
	const pacs_pdu_role roles[] = {
		{ CT_STORAGE, 1, 1 },   /* C-GET style: the requestor also wants to be SCP */
		{ VERIFICATION, 1, 0 }, /* explicit default */
		{ STUDY_FIND, 1, 1 },   /* we cannot be SCU of FIND: its SCP role refused */
		{ UNKNOWN_SOP, 1, 1 },  /* no context: not answered */
	};
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(pctx, 4);
	const pacs_pdu_assoc *ac;
	const pacs_assoc_pctx *pc;
	pacs_pdu_assoc *dec;
	pacs_assoc *a;
	(void)state;

	rq.user_info.roles = roles;
	rq.user_info.n_roles = 4;
	pacs_assoc_policy_init(&p);
	a = negotiate(&rq, &p);
	ac = pacs_assoc_ac(a);
	assert_int_equal(ac->user_info.n_roles, 3);
	assert_string_equal(ac->user_info.roles[0].sop_class_uid, CT_STORAGE);
	assert_int_equal(ac->user_info.roles[0].scu_role, 1);
	assert_int_equal(ac->user_info.roles[0].scp_role, 1);
	assert_string_equal(ac->user_info.roles[1].sop_class_uid, VERIFICATION);
	assert_int_equal(ac->user_info.roles[1].scu_role, 1);
	assert_int_equal(ac->user_info.roles[1].scp_role, 0);
	assert_string_equal(ac->user_info.roles[2].sop_class_uid, STUDY_FIND);
	assert_int_equal(ac->user_info.roles[2].scu_role, 1);
	assert_int_equal(ac->user_info.roles[2].scp_role, 0);
	pc = pacs_assoc_pctx_find(a, 1);
	assert_true(pc->peer_scu);
	assert_true(pc->peer_scp);
	pc = pacs_assoc_pctx_find(a, 5);
	assert_true(pc->peer_scu);
	assert_false(pc->peer_scp);
	/* MR without an item: the defaults, requestor SCU only */
	pc = pacs_assoc_pctx_find(a, 7);
	assert_true(pc->peer_scu);
	assert_false(pc->peer_scp);
	dec = round_trip_ac(a);
	assert_int_equal(dec->user_info.n_roles, 3);
	pacs_pdu_assoc_free(dec);
	pacs_assoc_free(a);

	/* without role items in the RQ there are none in the AC */
	rq.user_info.n_roles = 0;
	rq.user_info.roles = NULL;
	a = negotiate(&rq, &p);
	assert_int_equal(pacs_assoc_ac(a)->user_info.n_roles, 0);
	pacs_assoc_free(a);

	/* a SOP class we only use as SCU is refused without a role item */
	{
		const pacs_assoc_sop scu_only[] = { { CT_STORAGE, PACS_ASSOC_ROLE_SCU } };

		p.sops = scu_only;
		p.n_sops = 1;
		a = negotiate(&rq, &p);
		assert_int_equal(pacs_assoc_pctx_find(a, 1)->result, PACS_PDU_PCTX_USER_REJECTION);
		pacs_assoc_free(a);
	}
}

/* ------------------------------------------------------------ extended negotiation */

#define PATIENT_FIND "1.2.840.10008.5.1.4.1.2.1.1"
#define STUDY_MOVE "1.2.840.10008.5.1.4.1.2.2.2"

static const uint8_t *memfind(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* PS3.7 D.3.3.5, PS3.4 C.5.1.1: the FIND models' items answered with the
 * bytes asked for, relational-queries 1 when asked and allowed, the other
 * options 0; other SOP classes, duplicates, empty items and rejected
 * contexts not answered; no item asked, none answered. */
static void test_find_extended_negotiation(void **state)
{
	const pacs_pdu_pctx pctx[] = {
		{ .id = 1, .abstract_syntax = STUDY_FIND, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
		{ .id = 3, .abstract_syntax = STUDY_FIND, .transfer_syntaxes = ts_three,
		  .n_transfer_syntaxes = 3 },
		{ .id = 5, .abstract_syntax = PATIENT_FIND, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
		{ .id = 7, .abstract_syntax = CT_STORAGE, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
		{ .id = 9, .abstract_syntax = STUDY_MOVE, .transfer_syntaxes = ts_implicit,
		  .n_transfer_syntaxes = 1 },
	};
	static const uint8_t all_four[] = { 1, 1, 1, 1 }, rel_only[] = { 1 }, none[] = { 0 };
	static const uint8_t seven[] = { 1, 1, 1, 1, 1, 1, 1 };
	const pacs_pdu_ext_neg ext[] = {
		{ STUDY_FIND, all_four, 4 },  /* relational, combined, fuzzy, timezone asked */
		{ PATIENT_FIND, none, 1 },    /* asked for nothing */
		{ CT_STORAGE, rel_only, 1 },  /* Storage's own options: not answered */
		{ STUDY_MOVE, rel_only, 1 },  /* relational retrieval: not answered */
		{ UNKNOWN_SOP, rel_only, 1 }, /* no context: not answered */
		{ STUDY_FIND, none, 1 },      /* a second item for one class: ignored */
	};
	/* PS3.7 D.3.3.5 Table D.3-11: 56H, reserved, length 2+27+4, UID length
	 * 27, the UID, then the four bytes */
	static const uint8_t want_item[] = { 0x56, 0x00, 0x00, 0x21, 0x00, 0x1b, '1', '.', '2', '.', '8', '4', '0',
					     '.', '1', '0', '0', '0', '8', '.', '5', '.', '1', '.', '4', '.', '1',
					     '.', '2', '.', '2', '.', '1', 1, 0, 0, 0 };
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(pctx, 5);
	const pacs_pdu_assoc *ac;
	pacs_pdu_assoc *dec;
	pacs_assoc *a;
	pacs_buf b;
	(void)state;

	rq.user_info.ext_neg = ext;
	rq.user_info.n_ext_neg = 6;
	pacs_assoc_policy_init(&p);
	assert_true(p.relational_queries); /* the default */
	a = negotiate(&rq, &p);
	ac = pacs_assoc_ac(a);
	assert_int_equal(ac->user_info.n_ext_neg, 2);
	assert_string_equal(ac->user_info.ext_neg[0].sop_class_uid, STUDY_FIND);
	assert_int_equal(ac->user_info.ext_neg[0].info_len, 4);
	assert_memory_equal(ac->user_info.ext_neg[0].info, ((const uint8_t[]){ 1, 0, 0, 0 }), 4);
	assert_string_equal(ac->user_info.ext_neg[1].sop_class_uid, PATIENT_FIND);
	assert_int_equal(ac->user_info.ext_neg[1].info_len, 1);
	assert_int_equal(ac->user_info.ext_neg[1].info[0], 0);
	/* both Study Root FIND contexts carry it; the others do not */
	assert_true(pacs_assoc_pctx_find(a, 1)->relational);
	assert_true(pacs_assoc_pctx_find(a, 3)->relational);
	assert_false(pacs_assoc_pctx_find(a, 5)->relational);
	assert_false(pacs_assoc_pctx_find(a, 7)->relational);
	assert_false(pacs_assoc_pctx_find(a, 9)->relational);
	/* the bytes on the wire, and back through the decoder */
	pacs_buf_init(&b, 1u << 20);
	assert_int_equal(pacs_pdu_encode_assoc_ac(&b, ac), 0);
	assert_non_null(memfind(pacs_buf_data(&b), pacs_buf_len(&b), want_item, sizeof(want_item)));
	pacs_buf_free(&b);
	dec = round_trip_ac(a);
	assert_int_equal(dec->user_info.n_ext_neg, 2);
	assert_string_equal(dec->user_info.ext_neg[0].sop_class_uid, STUDY_FIND);
	assert_int_equal(dec->user_info.ext_neg[0].info_len, 4);
	assert_int_equal(dec->user_info.ext_neg[0].info[0], 1);
	pacs_pdu_assoc_free(dec);
	pacs_assoc_free(a);

	/* relational_queries = no: answered, byte 1 = 0, no context relational */
	p.relational_queries = false;
	a = negotiate(&rq, &p);
	ac = pacs_assoc_ac(a);
	assert_int_equal(ac->user_info.n_ext_neg, 2);
	assert_int_equal(ac->user_info.ext_neg[0].info_len, 4);
	assert_memory_equal(ac->user_info.ext_neg[0].info, ((const uint8_t[]){ 0, 0, 0, 0 }), 4);
	assert_false(pacs_assoc_pctx_find(a, 1)->relational);
	assert_false(pacs_assoc_pctx_find(a, 3)->relational);
	pacs_assoc_free(a);
	p.relational_queries = true;

	/* more bytes than we know: the answer stops at byte 5 */
	{
		const pacs_pdu_ext_neg long_item[] = { { STUDY_FIND, seven, 7 } };

		rq.user_info.ext_neg = long_item;
		rq.user_info.n_ext_neg = 1;
		a = negotiate(&rq, &p);
		ac = pacs_assoc_ac(a);
		assert_int_equal(ac->user_info.n_ext_neg, 1);
		assert_int_equal(ac->user_info.ext_neg[0].info_len, PACS_ASSOC_FIND_EXT_MAX);
		assert_memory_equal(ac->user_info.ext_neg[0].info, ((const uint8_t[]){ 1, 0, 0, 0, 0 }), 5);
		assert_true(pacs_assoc_pctx_find(a, 1)->relational);
		pacs_assoc_free(a);
	}
	/* an item without application information is not answered */
	{
		const pacs_pdu_ext_neg empty[] = { { STUDY_FIND, NULL, 0 } };

		rq.user_info.ext_neg = empty;
		rq.user_info.n_ext_neg = 1;
		a = negotiate(&rq, &p);
		assert_int_equal(pacs_assoc_ac(a)->user_info.n_ext_neg, 0);
		assert_false(pacs_assoc_pctx_find(a, 1)->relational);
		pacs_assoc_free(a);
	}
	/* a FIND context rejected (no transfer syntax we take): not answered */
	{
		const pacs_pdu_pctx bogus[] = {
			{ .id = 1, .abstract_syntax = STUDY_FIND, .transfer_syntaxes = ts_bogus,
			  .n_transfer_syntaxes = 1 },
			{ .id = 3, .abstract_syntax = VERIFICATION, .transfer_syntaxes = ts_implicit,
			  .n_transfer_syntaxes = 1 },
		};
		pacs_pdu_assoc rq2 = rq_with(bogus, 2);

		rq2.user_info.ext_neg = ext;
		rq2.user_info.n_ext_neg = 1;
		a = negotiate(&rq2, &p);
		assert_int_equal(pacs_assoc_pctx_find(a, 1)->result, PACS_PDU_PCTX_TRANSFER_SYNTAXES_NOT_SUPPORTED);
		assert_int_equal(pacs_assoc_ac(a)->user_info.n_ext_neg, 0);
		pacs_assoc_free(a);
	}
	/* PS3.7 D.3.3.5: no item asked, none answered; hierarchical only */
	rq.user_info.ext_neg = NULL;
	rq.user_info.n_ext_neg = 0;
	a = negotiate(&rq, &p);
	assert_int_equal(pacs_assoc_ac(a)->user_info.n_ext_neg, 0);
	assert_false(pacs_assoc_pctx_find(a, 1)->relational);
	pacs_assoc_free(a);
}

static void test_async_window(void **state)
{
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	const pacs_pdu_assoc *ac;
	pacs_assoc *a;
	(void)state;

	pacs_assoc_policy_init(&p);
	/* not asked: not answered */
	a = negotiate(&rq, &p);
	assert_false(pacs_assoc_ac(a)->user_info.has_async_window);
	pacs_assoc_free(a);

	rq.user_info.has_async_window = true;
	rq.user_info.async_invoked = 5;
	rq.user_info.async_performed = 0; /* unlimited */
	a = negotiate(&rq, &p);
	ac = pacs_assoc_ac(a);
	assert_true(ac->user_info.has_async_window);
	assert_int_equal(ac->user_info.async_invoked, 1);
	assert_int_equal(ac->user_info.async_performed, 1);
	pacs_assoc_free(a);

	p.async_invoked = 8;
	p.async_performed = 8;
	a = negotiate(&rq, &p);
	ac = pacs_assoc_ac(a);
	assert_int_equal(ac->user_info.async_invoked, 5);
	assert_int_equal(ac->user_info.async_performed, 8);
	pacs_pdu_assoc_free(round_trip_ac(a));
	pacs_assoc_free(a);
}

static void test_max_pdu_and_defaults(void **state)
{
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	pacs_assoc *a;
	size_t n, i;
	const pacs_assoc_sop *sops;
	const char *const *ts;
	(void)state;

	pacs_assoc_policy_init(&p);
	assert_int_equal(p.max_pdu_length, PACS_UL_DEFAULT_MAX_PDATA);
	p.max_pdu_length = 16384;
	p.impl_version_name = "OTHER_1";
	a = negotiate(&rq, &p);
	assert_int_equal(pacs_assoc_ac(a)->user_info.max_length, 16384);
	assert_string_equal(pacs_assoc_ac(a)->user_info.impl_version_name, "OTHER_1");
	assert_string_equal(pacs_assoc_ac(a)->user_info.impl_class_uid, PACS_IMPLEMENTATION_CLASS_UID);
	pacs_assoc_free(a);

	sops = pacs_assoc_default_sops(&n);
	assert_true(n >= 20);
	assert_string_equal(sops[0].uid, VERIFICATION);
	for (i = 0; i < n; i++)
		assert_true(sops[i].roles & PACS_ASSOC_ROLE_SCP);
	ts = pacs_assoc_default_transfer_syntaxes(&n);
	assert_string_equal(ts[0], PACS_TS_EXPLICIT_LE);
	assert_string_equal(ts[1], PACS_TS_IMPLICIT_LE);
	for (i = 0; i < n; i++)
		assert_non_null(pacs_ts_lookup(ts[i]));
}

static void test_misuse(void **state)
{
	pacs_assoc_policy p;
	pacs_pdu_assoc rq = rq_with(one_echo, 1);
	pacs_assoc *a = (pacs_assoc *)&p;
	(void)state;

	pacs_assoc_policy_init(&p);
	p.ae_title = NULL;
	assert_int_equal(pacs_assoc_negotiate(&a, &rq, &p), ARCA_EINVAL);
	assert_null(a);
	assert_int_equal(pacs_assoc_negotiate(&a, NULL, &p), ARCA_EINVAL);
	pacs_assoc_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_ac_bytes),
		cmocka_unit_test(test_reject_called_ae),
		cmocka_unit_test(test_reject_calling_ae),
		cmocka_unit_test(test_reject_app_context),
		cmocka_unit_test(test_reject_protocol_version),
		cmocka_unit_test(test_user_identity),
		cmocka_unit_test(test_context_results),
		cmocka_unit_test(test_no_context_accepted),
		cmocka_unit_test(test_transfer_syntax_preference),
		cmocka_unit_test(test_role_selection),
		cmocka_unit_test(test_find_extended_negotiation),
		cmocka_unit_test(test_async_window),
		cmocka_unit_test(test_max_pdu_and_defaults),
		cmocka_unit_test(test_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
