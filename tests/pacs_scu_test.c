/* pacs_scu_test.c - the SCU (pacs_scu.h) against a scripted acceptor on a
 * loopback socket, run in a thread: the bytes the client sends are decoded
 * and checked (A-ASSOCIATE-RQ fields, command sets, PDU lengths within the
 * announced maximum, even fragments, the data set reassembled byte for
 * byte) and the acceptor answers with exact PDUs, including the wrong ones
 * a client must survive: a rejection, no context accepted, an abort in the
 * middle of a C-STORE, a response to the wrong message, silence. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_dimse.h"
#include "pacs_ds.h"
#include "pacs_pdu.h"
#include "pacs_scu.h"
#include "pacs_ts.h"

#define UID_VERIFICATION "1.2.840.10008.1.1"
#define UID_CT "1.2.840.10008.5.1.4.1.1.2"
#define INSTANCE "2.25.1234567890123456789"
#define DATA_LEN 100003u /* odd on purpose: the last fragment carries it */

enum script {
	SC_ECHO,          /* accept, answer C-ECHO, answer release */
	SC_REJECT,        /* A-ASSOCIATE-RJ 1/1/7 */
	SC_NO_CONTEXT,    /* AC with every context refused (3), answer release */
	SC_STORE,         /* accept with an odd max PDU, check the C-STORE, answer with a warning */
	SC_ABORT_MID,     /* accept, read the C-STORE command, send A-ABORT */
	SC_WRONG_MSG_ID,  /* accept, answer the C-ECHO with another message ID */
	SC_SILENT,        /* read the RQ, answer nothing */
	SC_GET,           /* accept with the SCP role for CT, answer a C-GET with two sub-operations */
	SC_MOVE,          /* accept, answer a C-MOVE with pending responses until a C-CANCEL */
};

#define UID_STUDY_GET "1.2.840.10008.5.1.4.1.2.2.3"
#define UID_STUDY_MOVE "1.2.840.10008.5.1.4.1.2.2.2"
#define GET_DATA_LEN 70000u /* sent in two fragments of 60000 and 10000 */

typedef struct acceptor {
	int listen_fd;
	uint16_t port;
	enum script script;
	pthread_t thread;
	/* what the acceptor saw, checked by the test after join */
	char called[17], calling[17];
	size_t n_pctx;
	uint32_t client_max;
	int pdus_over_max;
	int odd_fragments;
	size_t data_got;
	int data_mismatch;
	uint16_t store_msg_id;
	char store_instance[65];
	int got_abort;
	int got_release;
	int failed; /* the acceptor's own I/O or decode failed */
	/* C-GET / C-MOVE scripts */
	int role_items;           /* SCP/SCU Role Selection items in the RQ */
	uint16_t store_status[2]; /* the C-STORE-RSPs received */
	char move_dest[17];
	int got_cancel;
	uint16_t cancel_for, retrieve_msg_id;
} acceptor;

/* ------------------------------------------------------------ acceptor I/O */

/* The acceptor runs in its own thread, where cmocka's asserts must not
 * jump: failures there are recorded in a->failed, checked after the join. */
#define ACHECK(call) do { if ((call) != 0) a->failed = 1; } while (0)

static int read_exact(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, &buf[got], n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* One PDU: type and body (malloc'ed, *len); -1 on close/error. */
static int read_pdu(int fd, uint8_t *type, uint8_t **body, size_t *len)
{
	uint8_t h[6];

	*body = NULL;
	if (read_exact(fd, h, 6) < 0)
		return -1;
	*type = h[0];
	*len = (size_t)h[2] << 24 | (size_t)h[3] << 16 | (size_t)h[4] << 8 | h[5];
	if (*len > (1u << 24))
		return -1;
	*body = malloc(*len ? *len : 1);
	if (*body == NULL || read_exact(fd, *body, *len) < 0) {
		free(*body);
		*body = NULL;
		return -1;
	}
	return 0;
}

static void send_buf(int fd, const pacs_buf *b)
{
	ssize_t w = write(fd, pacs_buf_data(b), pacs_buf_len(b));
	(void)w;
}

/* Sends a command set on context pc as one P-DATA-TF. */
static void send_command(acceptor *a, int fd, uint8_t pc, const pacs_dimse_cmd *cmd)
{
	uint8_t enc[PACS_DIMSE_CMD_MAX_SIZE];
	size_t n = 0;
	pacs_buf b;

	ACHECK(pacs_dimse_cmd_encode(enc, sizeof(enc), &n, cmd));
	const pacs_pdv pdv = { .pctx_id = pc, .flags = PACS_PDV_COMMAND | PACS_PDV_LAST, .data = enc, .len = n };
	pacs_buf_init(&b, 1u << 20);
	ACHECK(pacs_pdu_encode_pdata(&b, &pdv, 1));
	send_buf(fd, &b);
	pacs_buf_free(&b);
}

/* Reads P-DATA until a whole command (and its data set, if announced)
 * arrived; checks PDU sizes against max and fragment parity. */
static int read_message(acceptor *a, int fd, uint32_t max, pacs_dimse_cmd *cmd, uint8_t *pc_out)
{
	uint8_t cbuf[4096];
	size_t clen = 0;
	bool have_cmd = false, done = false;

	a->data_got = 0;
	while (!done) {
		uint8_t type;
		uint8_t *body;
		size_t len;
		pacs_pdv pdvs[8];
		size_t n = 0;

		if (read_pdu(fd, &type, &body, &len) < 0)
			return -1;
		if (type == PACS_PDU_ABORT) {
			a->got_abort = 1;
			free(body);
			return -1;
		}
		if (type != PACS_PDU_P_DATA_TF || pacs_pdu_decode_pdata(pdvs, 8, &n, body, len) != 0) {
			free(body);
			return -1;
		}
		if (max != 0 && len > max)
			a->pdus_over_max++;
		for (size_t i = 0; i < n; i++) {
			*pc_out = pdvs[i].pctx_id;
			if (pdvs[i].flags & PACS_PDV_COMMAND) {
				if (clen + pdvs[i].len > sizeof(cbuf)) {
					free(body);
					return -1;
				}
				memcpy(&cbuf[clen], pdvs[i].data, pdvs[i].len);
				clen += pdvs[i].len;
				if (pdvs[i].flags & PACS_PDV_LAST) {
					if (pacs_dimse_cmd_decode(cmd, cbuf, clen) != 0) {
						free(body);
						return -1;
					}
					have_cmd = true;
					done = !cmd->has_data_set;
				}
			} else {
				/* data set: byte i of the message is (i * 7) & 0xFF */
				for (size_t k = 0; k < pdvs[i].len; k++)
					if (pdvs[i].data[k] != (uint8_t)((a->data_got + k) * 7u))
						a->data_mismatch++;
				a->data_got += pdvs[i].len;
				if (!(pdvs[i].flags & PACS_PDV_LAST) && (pdvs[i].len & 1u))
					a->odd_fragments++;
				if (pdvs[i].flags & PACS_PDV_LAST)
					done = have_cmd;
			}
		}
		free(body);
	}
	return 0;
}

/* Sends data set bytes on context pc as one PDV (last or not). */
static void send_data(acceptor *a, int fd, uint8_t pc, const uint8_t *data, size_t len, bool last)
{
	pacs_buf b;
	const pacs_pdv pdv = { .pctx_id = pc, .flags = last ? PACS_PDV_LAST : 0, .data = data, .len = len };

	pacs_buf_init(&b, 1u << 20);
	ACHECK(pacs_pdu_encode_pdata(&b, &pdv, 1));
	send_buf(fd, &b);
	pacs_buf_free(&b);
}

static void send_counts(acceptor *a, int fd, uint8_t pc, const pacs_dimse_cmd *rq, uint16_t status, uint16_t rem,
			uint16_t done, uint16_t failed, bool data)
{
	pacs_dimse_cmd rsp;

	ACHECK(pacs_dimse_cmd_response(&rsp, rq, status));
	if (status == 0xFF00 || status == PACS_DIMSE_CANCEL)
		ACHECK(pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_REMAINING, rem));
	ACHECK(pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_COMPLETED, done));
	ACHECK(pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_FAILED, failed));
	ACHECK(pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_WARNING, 0));
	rsp.has_data_set = data;
	send_command(a, fd, pc, &rsp);
	if (data) {
		/* PS3.4 C.4.3.1.3.2: (0008,0058) UI "2.25.2" in Implicit VR LE
		 * (the syntax accepted for the model's context) */
		static const uint8_t failed_list[] = {0x08, 0x00, 0x58, 0x00, 6, 0, 0, 0, '2', '.', '2', '5', '.', '2'};
		send_data(a, fd, pc, failed_list, sizeof(failed_list), true);
	}
}

/* One C-STORE sub-operation of the C-GET on context pc; the response's
 * status is kept in a->store_status[i]. */
static void get_suboperation(acceptor *a, int fd, uint8_t pc, int i, const char *instance)
{
	static uint8_t data[GET_DATA_LEN];
	pacs_dimse_cmd rq, rsp;
	uint8_t rpc = 0;

	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 13u);
	pacs_dimse_cmd_init(&rq, PACS_DIMSE_C_STORE_RQ);
	ACHECK(pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, (uint16_t)(100 + i)));
	ACHECK(pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_PRIORITY, 0));
	ACHECK(pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_CLASS, UID_CT));
	ACHECK(pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, instance));
	rq.has_data_set = true;
	send_command(a, fd, pc, &rq);
	send_data(a, fd, pc, data, 60000, false);
	send_data(a, fd, pc, data + 60000, GET_DATA_LEN - 60000, true);
	if (read_message(a, fd, 0, &rsp, &rpc) < 0 || rsp.command != PACS_DIMSE_C_STORE_RSP ||
	    rsp.message_id_responded != 100 + i || rpc != pc)
		a->failed = 1;
	a->store_status[i] = rsp.status;
}

static void answer_release(acceptor *a, int fd)
{
	uint8_t type;
	uint8_t *body;
	size_t len;
	pacs_buf b;

	if (read_pdu(fd, &type, &body, &len) < 0)
		return;
	free(body);
	if (type == PACS_PDU_ABORT) {
		a->got_abort = 1;
		return;
	}
	if (type != PACS_PDU_RELEASE_RQ)
		return;
	a->got_release = 1;
	pacs_buf_init(&b, 64);
	ACHECK(pacs_pdu_encode_release_rp(&b));
	send_buf(fd, &b);
	pacs_buf_free(&b);
}

static void *acceptor_main(void *arg)
{
	acceptor *a = arg;
	int fd = accept(a->listen_fd, NULL, NULL);
	struct timeval tv = { 5, 0 };
	uint8_t type;
	uint8_t *body = NULL;
	size_t len;
	pacs_pdu_assoc *rq = NULL;
	pacs_dimse_cmd cmd, rsp;
	uint8_t pc = 0;
	pacs_buf b;
	uint32_t max = 0;

	if (fd < 0) {
		a->failed = 1;
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_pdu(fd, &type, &body, &len) < 0 || type != PACS_PDU_ASSOCIATE_RQ ||
	    pacs_pdu_decode_assoc_rq(&rq, body, len) != 0) {
		a->failed = 1;
		goto done;
	}
	memcpy(a->called, rq->called_ae, sizeof(a->called));
	memcpy(a->calling, rq->calling_ae, sizeof(a->calling));
	a->n_pctx = rq->n_pctx;
	a->client_max = rq->user_info.max_length;
	pacs_buf_init(&b, 1u << 20);
	switch (a->script) {
	case SC_SILENT:
		free(body);
		(void)read_pdu(fd, &type, &body, &len); /* until the client gives up */
		if (body != NULL && type == PACS_PDU_ABORT)
			a->got_abort = 1;
		break;
	case SC_REJECT: {
		const pacs_pdu_reject rj = { 1, 1, 7 };
		ACHECK(pacs_pdu_encode_reject(&b, &rj));
		send_buf(fd, &b);
		break;
	}
	default: {
		uint8_t result = a->script == SC_NO_CONTEXT ? PACS_PDU_PCTX_ABSTRACT_SYNTAX_NOT_SUPPORTED : 0;
		pacs_pdu_pctx pcs[PACS_PDU_MAX_PCTX];
		pacs_pdu_assoc ac;

		max = a->script == SC_STORE ? 1001u : 16384u; /* odd: fragments must still be even */
		memset(&ac, 0, sizeof(ac));
		for (size_t i = 0; i < rq->n_pctx; i++) {
			memset(&pcs[i], 0, sizeof(pcs[i]));
			pcs[i].id = rq->pctx[i].id;
			pcs[i].result = result;
			pcs[i].transfer_syntax = result == 0
				? rq->pctx[i].transfer_syntaxes[rq->pctx[i].n_transfer_syntaxes - 1] : NULL;
		}
		ac.pctx = pcs;
		ac.n_pctx = rq->n_pctx;
		/* PS3.7 D.3.3.4: the SCP role for CT taken, for MR refused */
		a->role_items = (int)rq->user_info.n_roles;
		pacs_pdu_role roles[2] = { { UID_CT, 0, 1 }, { "1.2.840.10008.5.1.4.1.1.4", 0, 0 } };
		if (a->script == SC_GET) {
			ac.user_info.roles = roles;
			ac.user_info.n_roles = 2;
		}
		ac.user_info.max_length = max;
		ac.user_info.impl_class_uid = "2.25.99";
		ACHECK(pacs_pdu_encode_assoc_ac(&b, &ac));
		send_buf(fd, &b);
		break;
	}
	}
	switch (a->script) {
	case SC_ECHO:
	case SC_WRONG_MSG_ID:
		if (read_message(a, fd, max, &cmd, &pc) < 0) {
			a->failed = 1;
			break;
		}
		ACHECK(pacs_dimse_cmd_response(&rsp, &cmd, 0));
		if (a->script == SC_WRONG_MSG_ID)
			rsp.message_id_responded = (uint16_t)(cmd.message_id + 1);
		send_command(a, fd, pc, &rsp);
		answer_release(a, fd);
		break;
	case SC_NO_CONTEXT:
		answer_release(a, fd);
		break;
	case SC_STORE:
		if (read_message(a, fd, max, &cmd, &pc) < 0) {
			a->failed = 1;
			break;
		}
		a->store_msg_id = cmd.message_id;
		memcpy(a->store_instance, cmd.affected_sop_instance, sizeof(a->store_instance));
		ACHECK(pacs_dimse_cmd_response(&rsp, &cmd, PACS_DIMSE_WARNING_COERCION));
		ACHECK(pacs_dimse_cmd_set_str(&rsp, PACS_DIMSE_F_ERROR_COMMENT, "values coerced"));
		send_command(a, fd, pc, &rsp);
		answer_release(a, fd);
		break;
	case SC_GET:
		/* contexts: 1 the GET model, 3 CT, 5 MR */
		if (read_message(a, fd, max, &cmd, &pc) < 0 || cmd.command != PACS_DIMSE_C_GET_RQ) {
			a->failed = 1;
			break;
		}
		a->retrieve_msg_id = cmd.message_id;
		get_suboperation(a, fd, 3, 0, "2.25.1");
		send_counts(a, fd, pc, &cmd, 0xFF00, 1, 1, 0, false);
		/* on the GET model's context: not a storage context */
		get_suboperation(a, fd, 1, 1, "2.25.2");
		send_counts(a, fd, pc, &cmd, PACS_DIMSE_WARNING_COERCION, 0, 1, 1, true);
		answer_release(a, fd);
		break;
	case SC_MOVE: {
		pacs_dimse_cmd cancel;
		uint8_t cpc = 0;

		if (read_message(a, fd, max, &cmd, &pc) < 0 || cmd.command != PACS_DIMSE_C_MOVE_RQ) {
			a->failed = 1;
			break;
		}
		a->retrieve_msg_id = cmd.message_id;
		memcpy(a->move_dest, cmd.move_destination, sizeof(a->move_dest));
		send_counts(a, fd, pc, &cmd, 0xFF00, 9, 1, 0, false);
		if (read_message(a, fd, max, &cancel, &cpc) == 0 && cancel.command == PACS_DIMSE_C_CANCEL_RQ) {
			a->got_cancel = 1;
			a->cancel_for = cancel.message_id_responded;
		}
		send_counts(a, fd, pc, &cmd, PACS_DIMSE_CANCEL, 8, 2, 0, false);
		answer_release(a, fd);
		break;
	}
	case SC_ABORT_MID: {
		/* the command and the first data fragments, then an A-ABORT */
		uint8_t *first = NULL;
		if (read_pdu(fd, &type, &first, &len) == 0) {
			const pacs_pdu_abort ab = { 0, 0 };
			pacs_buf_reset(&b);
			ACHECK(pacs_pdu_encode_abort(&b, &ab));
			send_buf(fd, &b);
		}
		free(first);
		break;
	}
	default:
		break;
	}
	pacs_buf_free(&b);
done:
	free(body);
	pacs_pdu_assoc_free(rq);
	close(fd);
	return NULL;
}

static void start_acceptor(acceptor *a, enum script script)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1;

	memset(a, 0, sizeof(*a));
	a->script = script;
	a->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(a->listen_fd >= 0);
	setsockopt(a->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(a->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(a->listen_fd, 1), 0);
	assert_int_equal(getsockname(a->listen_fd, (struct sockaddr *)&sa, &sl), 0);
	a->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&a->thread, NULL, acceptor_main, a), 0);
}

static void join_acceptor(acceptor *a)
{
	pthread_join(a->thread, NULL);
	close(a->listen_fd);
}

/* ------------------------------------------------------------ client side */

static const char *const ts_both[] = { PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE };

static pacs_scu *client(const acceptor *a, const pacs_scu_pctx *pctx, size_t n)
{
	pacs_scu_opts o;
	pacs_scu *scu = NULL;

	pacs_scu_opts_init(&o);
	o.host = "127.0.0.1";
	o.port = a->port;
	o.called_ae = "ACCEPTOR";
	o.calling_ae = "TESTSCU";
	o.pctx = pctx;
	o.n_pctx = n;
	o.max_pdu = 32768;
	o.acse_timeout_ms = 3000;
	o.dimse_timeout_ms = 3000;
	assert_int_equal(pacs_scu_new(&scu, &o), 0);
	return scu;
}

static void test_echo(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_VERIFICATION, ts_both, 2 }, { UID_CT, ts_both, 1 } };
	uint16_t status = 0xFFFF;

	(void)state;
	start_acceptor(&a, SC_ECHO);
	pacs_scu *scu = client(&a, pc, 2);
	assert_int_equal(pacs_scu_associate(scu), 0);
	assert_true(pacs_scu_established(scu));
	/* the acceptor took the last proposed syntax of each context */
	assert_int_equal(pacs_scu_ctx_count(scu), 2);
	assert_int_equal(pacs_scu_ctx_at(scu, 0)->id, 1);
	assert_int_equal(pacs_scu_ctx_at(scu, 1)->id, 3);
	assert_string_equal(pacs_scu_ctx_at(scu, 0)->transfer_syntax, PACS_TS_IMPLICIT_LE);
	assert_string_equal(pacs_scu_ctx_at(scu, 1)->transfer_syntax, PACS_TS_EXPLICIT_LE);
	assert_non_null(pacs_scu_ctx_find(scu, UID_CT, PACS_TS_EXPLICIT_LE));
	assert_null(pacs_scu_ctx_find(scu, UID_CT, PACS_TS_IMPLICIT_LE));
	assert_int_equal(pacs_scu_peer_max_pdu(scu), 16384);
	assert_int_equal(pacs_scu_echo(scu, &status), 0);
	assert_int_equal(status, 0);
	assert_int_equal(pacs_scu_release(scu), 0);
	assert_false(pacs_scu_established(scu));
	pacs_scu_free(scu);
	join_acceptor(&a);
	assert_int_equal(a.failed, 0);
	assert_string_equal(a.called, "ACCEPTOR");
	assert_string_equal(a.calling, "TESTSCU");
	assert_int_equal(a.n_pctx, 2);
	assert_int_equal(a.client_max, 32768);
	assert_int_equal(a.got_release, 1);
}

static void test_reject(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_VERIFICATION, ts_both, 2 } };

	(void)state;
	start_acceptor(&a, SC_REJECT);
	pacs_scu *scu = client(&a, pc, 1);
	assert_int_equal(pacs_scu_associate(scu), ARCA_EUNSUPPORTED);
	assert_non_null(strstr(arca_error_last(), "called AE title not recognized"));
	const pacs_pdu_reject *rj = pacs_scu_rejection(scu);
	assert_non_null(rj);
	assert_int_equal(rj->result, 1);
	assert_int_equal(rj->source, 1);
	assert_int_equal(rj->reason, 7);
	assert_false(pacs_scu_established(scu));
	assert_int_equal(pacs_scu_associate(scu), ARCA_EINVAL); /* once only */
	pacs_scu_free(scu);
	join_acceptor(&a);
}

static void test_no_context(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_CT, ts_both, 2 } };
	uint16_t status;

	(void)state;
	start_acceptor(&a, SC_NO_CONTEXT);
	pacs_scu *scu = client(&a, pc, 1);
	assert_int_equal(pacs_scu_associate(scu), ARCA_EUNSUPPORTED);
	assert_non_null(strstr(arca_error_last(), "none of its 1 presentation contexts"));
	assert_int_equal(pacs_scu_ctx_at(scu, 0)->result, PACS_PDU_PCTX_ABSTRACT_SYNTAX_NOT_SUPPORTED);
	assert_int_equal(pacs_scu_echo(scu, &status), ARCA_EINVAL); /* nothing to run it on */
	pacs_scu_free(scu);
	join_acceptor(&a);
	assert_int_equal(a.got_release, 1); /* released, not dropped */
}

/* The data set writer: DATA_LEN bytes, byte i = i * 7, pushed in pieces of
 * awkward sizes so that the packer has to cut and join. */
static int write_pattern(void *ctx, pacs_sink_fn sink, void *sink_ctx)
{
	static const size_t pieces[] = { 1, 999, 4096, 65537, 3 };
	uint8_t buf[65537];
	size_t pos = 0, k = 0;

	(void)ctx;
	while (pos < DATA_LEN) {
		size_t n = pieces[k++ % 5];
		if (n > DATA_LEN - pos)
			n = DATA_LEN - pos;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)((pos + i) * 7u);
		int rc = sink(sink_ctx, buf, n);
		if (rc < 0)
			return rc;
		pos += n;
	}
	return 0;
}

static void test_store_fragments(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_CT, ts_both, 2 } };
	pacs_dimse_cmd rsp;
	pacs_scu_store_rq rq;

	(void)state;
	start_acceptor(&a, SC_STORE);
	pacs_scu *scu = client(&a, pc, 1);
	assert_int_equal(pacs_scu_associate(scu), 0);
	memset(&rq, 0, sizeof(rq));
	rq.sop_class_uid = UID_CT;
	rq.sop_instance_uid = INSTANCE;
	rq.transfer_syntax = PACS_TS_EXPLICIT_LE; /* not accepted: implicit was (the last) */
	rq.write = write_pattern;
	assert_int_equal(pacs_scu_store(scu, &rq, &rsp), ARCA_EUNSUPPORTED);
	assert_true(pacs_scu_established(scu)); /* nothing was sent */
	rq.transfer_syntax = PACS_TS_IMPLICIT_LE;
	assert_int_equal(pacs_scu_store(scu, &rq, &rsp), 0);
	assert_int_equal(rsp.status, PACS_DIMSE_WARNING_COERCION);
	assert_string_equal(rsp.error_comment, "values coerced");
	assert_int_equal(pacs_scu_release(scu), 0);
	pacs_scu_free(scu);
	join_acceptor(&a);
	assert_int_equal(a.failed, 0);
	assert_int_equal(a.pdus_over_max, 0);    /* PS3.8 D.1 with a max of 1001 */
	assert_int_equal(a.odd_fragments, 0);    /* only the last may be odd */
	assert_int_equal(a.data_got, DATA_LEN);
	assert_int_equal(a.data_mismatch, 0);
	assert_string_equal(a.store_instance, INSTANCE);
}

static void test_abort_mid_store(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_CT, ts_both, 1 } };
	pacs_dimse_cmd rsp;
	pacs_scu_store_rq rq;
	int rc;

	(void)state;
	start_acceptor(&a, SC_ABORT_MID);
	pacs_scu *scu = client(&a, pc, 1);
	assert_int_equal(pacs_scu_associate(scu), 0);
	memset(&rq, 0, sizeof(rq));
	rq.sop_class_uid = UID_CT;
	rq.sop_instance_uid = INSTANCE;
	rq.transfer_syntax = PACS_TS_EXPLICIT_LE;
	rq.write = write_pattern;
	rc = pacs_scu_store(scu, &rq, &rsp);
	/* the A-ABORT is seen while sending (EPROTO), or the socket fails first (EIO) */
	assert_true(rc == ARCA_EPROTO || rc == ARCA_EIO);
	assert_false(pacs_scu_established(scu));
	if (rc == ARCA_EPROTO) {
		assert_non_null(pacs_scu_abort_info(scu));
		assert_int_equal(pacs_scu_abort_info(scu)->origin, PACS_UL_ABORT_PEER_USER);
	}
	assert_int_equal(pacs_scu_store(scu, &rq, &rsp), ARCA_EINVAL);
	pacs_scu_free(scu);
	join_acceptor(&a);
}

static void test_wrong_message_id(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_VERIFICATION, ts_both, 2 } };
	uint16_t status;

	(void)state;
	start_acceptor(&a, SC_WRONG_MSG_ID);
	pacs_scu *scu = client(&a, pc, 1);
	assert_int_equal(pacs_scu_associate(scu), 0);
	assert_int_equal(pacs_scu_echo(scu, &status), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "for message 2; expected a C-ECHO-RSP for message 1"));
	assert_false(pacs_scu_established(scu));
	pacs_scu_free(scu);
	join_acceptor(&a);
	assert_int_equal(a.got_abort, 1); /* PS3.8: the client aborted */
}

static void test_silent_peer(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_VERIFICATION, ts_both, 2 } };
	pacs_scu_opts o;
	pacs_scu *scu = NULL;

	(void)state;
	start_acceptor(&a, SC_SILENT);
	pacs_scu_opts_init(&o);
	o.host = "127.0.0.1";
	o.port = a.port;
	o.called_ae = "ACCEPTOR";
	o.pctx = pc;
	o.n_pctx = 1;
	o.acse_timeout_ms = 200;
	assert_int_equal(pacs_scu_new(&scu, &o), 0);
	assert_int_equal(pacs_scu_associate(scu), ARCA_EIO);
	assert_non_null(strstr(arca_error_last(), "timed out after 200 ms waiting for an A-ASSOCIATE-AC"));
	pacs_scu_free(scu);
	join_acceptor(&a);
	assert_int_equal(a.got_abort, 1);
}

static void test_refused(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_VERIFICATION, ts_both, 2 } };

	(void)state;
	/* a port that was just free: nothing listens */
	start_acceptor(&a, SC_SILENT);
	uint16_t port = a.port;
	shutdown(a.listen_fd, SHUT_RDWR);
	join_acceptor(&a);
	a.port = port;
	pacs_scu *scu = client(&a, pc, 1);
	assert_int_equal(pacs_scu_associate(scu), ARCA_EIO);
	assert_non_null(strstr(arca_error_last(), "cannot connect to 127.0.0.1 port"));
	pacs_scu_free(scu);
}

/* ------------------------------------------------------------ C-GET, C-MOVE */

static int count_pending(void *ctx, const pacs_dimse_cmd *rsp)
{
	int *n = ctx;

	(*n)++;
	return rsp->remaining == 9 ? 1 : 0; /* SC_MOVE: cancel after the first */
}

static void test_get_suboperations(void **state)
{
	acceptor a;
	static const char *const ts_ex[] = { PACS_TS_EXPLICIT_LE };
	const pacs_scu_pctx pc[] = { { UID_STUDY_GET, ts_both, 2 }, { UID_CT, ts_ex, 1 },
				     { "1.2.840.10008.5.1.4.1.1.4", ts_ex, 1 } };
	const pacs_pdu_role roles[] = { { UID_CT, 0, 1 }, { "1.2.840.10008.5.1.4.1.1.4", 0, 1 } };
	char dir[] = "/tmp/pacs_scu_test.XXXXXX", path[128];
	pacs_scu_retrieve_result res;
	pacs_scu_file_sink *sink;
	pacs_scu_opts o;
	pacs_scu *scu = NULL;
	pacs_ds *id;
	uint8_t *file;
	FILE *f;
	long size;
	int pending = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	start_acceptor(&a, SC_GET);
	pacs_scu_opts_init(&o);
	o.host = "127.0.0.1";
	o.port = a.port;
	o.called_ae = "ACCEPTOR";
	o.pctx = pc;
	o.n_pctx = 3;
	o.roles = roles;
	o.n_roles = 2;
	o.dimse_timeout_ms = 3000;
	assert_int_equal(pacs_scu_new(&scu, &o), 0);
	assert_int_equal(pacs_scu_associate(scu), 0);
	assert_true(pacs_scu_scp_role_accepted(scu, UID_CT));
	assert_false(pacs_scu_scp_role_accepted(scu, "1.2.840.10008.5.1.4.1.1.4"));
	assert_int_equal(pacs_scu_file_sink_new(&sink, dir, "ACCEPTOR"), 0);
	assert_int_equal(pacs_ds_new(&id), 0);
	assert_int_equal(pacs_ds_set_string(id, 0x00080052u, PACS_VR_CS, "STUDY"), 0);
	assert_int_equal(pacs_ds_set_string(id, 0x0020000Du, PACS_VR_UI, "2.25"), 0);
	assert_int_equal(pacs_scu_get(scu, UID_STUDY_GET, id, pacs_scu_file_sink_handler(sink), count_pending,
				      &pending, &res), 0);
	/* the final response: B000, counts, the Failed SOP Instance UID List */
	assert_int_equal(res.rsp.status, PACS_DIMSE_WARNING_COERCION);
	assert_int_equal(res.rsp.completed, 1);
	assert_int_equal(res.rsp.failed, 1);
	assert_int_equal(res.n_failed, 1);
	assert_string_equal(res.failed_uids, "2.25.2");
	assert_int_equal(res.pending, 1);
	assert_int_equal(pending, 1);
	assert_int_equal(pacs_scu_file_sink_count(sink), 1);
	assert_null(pacs_scu_file_sink_error(sink));
	assert_int_equal(pacs_scu_release(scu), 0);
	pacs_scu_retrieve_result_clear(&res);
	pacs_scu_free(scu);
	pacs_ds_free(id);
	join_acceptor(&a);
	assert_int_equal(a.failed, 0);
	assert_int_equal(a.role_items, 2);
	/* PS3.4 C.4.3.3: stored; refused 0122H on a context not for its class */
	assert_int_equal(a.store_status[0], 0x0000);
	assert_int_equal(a.store_status[1], PACS_DIMSE_SOP_CLASS_NOT_SUPPORTED);
	/* the file: preamble, DICM, meta group, then the bytes as received */
	snprintf(path, sizeof(path), "%s/2.25.1.dcm", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	file = malloc((size_t)size);
	assert_non_null(file);
	assert_int_equal(fread(file, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	assert_int_equal(pacs_scu_file_sink_bytes(sink), (uint64_t)size);
	assert_memory_equal(&file[128], "DICM", 4);
	{
		uint32_t glen = (uint32_t)file[140] | (uint32_t)file[141] << 8 | (uint32_t)file[142] << 16 |
				(uint32_t)file[143] << 24;
		size_t ds = 144 + glen;
		bool same = (size_t)size == ds + GET_DATA_LEN;

		for (size_t k = 0; same && k < GET_DATA_LEN; k++)
			same = file[ds + k] == (uint8_t)(k * 13u);
		assert_true(same);
		assert_non_null(memmem(&file[144], glen, "2.25.1", 6));
		assert_non_null(memmem(&file[144], glen, PACS_TS_EXPLICIT_LE, strlen(PACS_TS_EXPLICIT_LE)));
		assert_non_null(memmem(&file[144], glen, "ACCEPTOR", 8));
	}
	free(file);
	pacs_scu_file_sink_free(sink);
	unlink(path);
	snprintf(path, sizeof(path), "%s/2.25.2.dcm", dir);
	assert_int_not_equal(access(path, F_OK), 0); /* refused: no file */
	assert_int_equal(rmdir(dir), 0);             /* no temporary left */
}

static void test_move_cancel(void **state)
{
	acceptor a;
	const pacs_scu_pctx pc[] = { { UID_STUDY_MOVE, ts_both, 2 } };
	pacs_scu_retrieve_result res;
	pacs_ds *id;
	int pending = 0;

	(void)state;
	start_acceptor(&a, SC_MOVE);
	pacs_scu *scu = client(&a, pc, 1);
	assert_int_equal(pacs_scu_associate(scu), 0);
	assert_int_equal(pacs_ds_new(&id), 0);
	assert_int_equal(pacs_ds_set_string(id, 0x00080052u, PACS_VR_CS, "STUDY"), 0);
	assert_int_equal(pacs_ds_set_string(id, 0x0020000Du, PACS_VR_UI, "2.25"), 0);
	assert_int_equal(pacs_scu_move(scu, UID_STUDY_MOVE, "BAD\\AE", id, count_pending, &pending, &res), ARCA_EINVAL);
	assert_int_equal(pacs_scu_move(scu, UID_STUDY_MOVE, "DEST", id, count_pending, &pending, &res), 0);
	assert_int_equal(res.rsp.status, PACS_DIMSE_CANCEL);
	assert_int_equal(res.rsp.remaining, 8);
	assert_int_equal(res.rsp.completed, 2);
	assert_true(res.cancelled);
	assert_null(res.failed_uids);
	assert_int_equal(pacs_scu_release(scu), 0);
	pacs_scu_retrieve_result_clear(&res);
	pacs_scu_free(scu);
	pacs_ds_free(id);
	join_acceptor(&a);
	assert_int_equal(a.failed, 0);
	assert_string_equal(a.move_dest, "DEST");
	/* PS3.7 9.3.4.3: the C-CANCEL-RQ names the C-MOVE-RQ */
	assert_int_equal(a.got_cancel, 1);
	assert_int_equal(a.cancel_for, a.retrieve_msg_id);
	assert_int_equal(a.got_release, 1);
}

static void test_bad_options(void **state)
{
	const pacs_scu_pctx pc[] = { { UID_VERIFICATION, ts_both, 2 } };
	pacs_scu_opts o;
	pacs_scu *scu = NULL;

	(void)state;
	pacs_scu_opts_init(&o);
	o.host = "127.0.0.1";
	o.port = 104;
	o.called_ae = "A\\B";
	o.pctx = pc;
	o.n_pctx = 1;
	assert_int_equal(pacs_scu_new(&scu, &o), ARCA_EINVAL);
	assert_null(scu);
	o.called_ae = "THIS_IS_17_CHARS_";
	assert_int_equal(pacs_scu_new(&scu, &o), ARCA_EINVAL);
	o.called_ae = "OK";
	o.n_pctx = 129;
	assert_int_equal(pacs_scu_new(&scu, &o), ARCA_EINVAL);
	o.n_pctx = 1;
	o.port = 0;
	assert_int_equal(pacs_scu_new(&scu, &o), ARCA_EINVAL);
	o.port = 104;
	o.max_pdu = 3;
	assert_int_equal(pacs_scu_new(&scu, &o), ARCA_EINVAL);
	pacs_scu_free(NULL);
	pacs_scu_abort(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_no_context),
		cmocka_unit_test(test_store_fragments),
		cmocka_unit_test(test_abort_mid_store),
		cmocka_unit_test(test_wrong_message_id),
		cmocka_unit_test(test_silent_peer),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_get_suboperations),
		cmocka_unit_test(test_move_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
