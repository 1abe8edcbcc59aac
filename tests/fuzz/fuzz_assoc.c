/* fuzz_assoc.c - libFuzzer target: bytes from a peer fed to one
 * association on the acceptor side, with no socket.
 *
 * The input's first byte picks how the rest is cut into reads (0: all at
 * once; n: n bytes at a time), as a socket would deliver it.  The rest is
 * what a requestor sends.  The association runs what arcad runs on it:
 * the Upper Layer machine (pacs_ul, acceptor, Evt5 first), the
 * association policy (pacs_assoc_negotiate with the defaults) answering
 * the A-ASSOCIATE-RQ from inside the indication, the DIMSE assembler on
 * every PDV, a response to every valid request (so that outgoing P-DATA is
 * exercised too), data sets of accepted contexts streamed into a
 * pacs_reader in the context's transfer syntax, and releases answered.
 * The port is fake: it checks every PDU the machine sends and drops it.
 *
 * Invariants (abort() on violation): every PDU sent is well formed (known
 * type, length field = bytes - 6); an A-ASSOCIATE-AC or -RJ goes out only
 * in answer to an RQ, at most once; P-DATA only after an AC and within
 * the peer's maximum length; when the input ends the transport is closed
 * (Evt17) and the machine must be in Sta1. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_assoc.h"
#include "pacs_dimse.h"
#include "pacs_read.h"
#include "pacs_ul.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz {
	pacs_ul *ul;
	pacs_assoc *assoc;
	pacs_dimse_asm *asm_;
	pacs_reader *reader;
	bool reader_failed;
	bool answered;     /* an AC or RJ was sent */
	bool accepted;
	bool artim;
	bool transport_open;
	uint32_t peer_max;
	/* a request that completed and wants its response */
	bool pending;
	uint8_t pending_pc;
	pacs_dimse_cmd pending_rq;
} fz;

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int port_send(void *ctx, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len)
{
	fz *f = ctx;
	size_t total = head_len + body_len;

	if (head_len < 6 || !f->transport_open)
		abort(); /* a PDU needs its header, and a transport */
	uint8_t type = head[0];
	if (type < 0x01 || type > 0x07 || be32(&head[2]) != total - 6)
		abort(); /* PS3.8 9.3.1 */
	if (type == 0x02 || type == 0x03) {
		if (f->answered)
			abort(); /* one answer per association */
		f->answered = true;
	}
	if (type == 0x04) {
		if (!f->accepted)
			abort(); /* P-DATA only after an AC */
		if (f->peer_max != 0 && total - 6 > f->peer_max)
			abort(); /* PS3.8 D.1 */
	}
	return 0;
}

static void port_close(void *ctx)
{
	((fz *)ctx)->transport_open = false;
}

static void port_start_artim(void *ctx)
{
	((fz *)ctx)->artim = true;
}

static void port_stop_artim(void *ctx)
{
	((fz *)ctx)->artim = false;
}

static void on_rq(void *ctx, const pacs_pdu_assoc *rq)
{
	fz *f = ctx;
	pacs_assoc_policy policy;

	pacs_assoc_policy_init(&policy);
	policy.check_called_ae = false;
	pacs_assoc_free(f->assoc);
	f->assoc = NULL;
	if (pacs_assoc_negotiate(&f->assoc, rq, &policy) != 0) {
		(void)pacs_ul_abort(f->ul);
		return;
	}
	if (pacs_assoc_is_accepted(f->assoc)) {
		f->accepted = true;
		f->peer_max = pacs_assoc_peer_max_pdu(f->assoc);
		(void)pacs_ul_accept(f->ul, pacs_assoc_ac(f->assoc));
	} else {
		(void)pacs_ul_reject(f->ul, pacs_assoc_rj(f->assoc));
	}
}

static void on_pdata(void *ctx, const pacs_pdv *pdvs, size_t n)
{
	fz *f = ctx;

	for (size_t i = 0; i < n; i++) {
		const pacs_assoc_pctx *pc = f->assoc != NULL ? pacs_assoc_pctx_find(f->assoc, pdvs[i].pctx_id) : NULL;

		if (pc == NULL || pc->transfer_syntax == NULL) {
			/* a PDV on a context that was not accepted: PS3.8 Evt19 */
			const pacs_ul_arg arg = { .invalid_reason = PACS_PDU_ABORT_UNEXPECTED_PDU_PARAMETER };
			(void)pacs_ul_event(f->ul, PACS_UL_EVT19_INVALID_PDU, &arg);
			return;
		}
		if (pacs_dimse_asm_feed(f->asm_, pdvs[i].pctx_id, pdvs[i].flags, pdvs[i].data, pdvs[i].len) != 0 &&
		    pacs_dimse_asm_rejected(f->asm_) == NULL) {
			(void)pacs_ul_abort(f->ul);
			return;
		}
	}
}

static void on_release_rq(void *ctx, bool collision)
{
	(void)collision;
	(void)pacs_ul_release_response(((fz *)ctx)->ul);
}

static int bulk_drop(void *ctx, const pacs_bulk_event *ev)
{
	(void)ctx;
	(void)ev;
	return 0;
}

static int asm_command(void *ctx, uint8_t pc_id, const pacs_dimse_cmd *cmd)
{
	fz *f = ctx;
	const pacs_assoc_pctx *pc = pacs_assoc_pctx_find(f->assoc, pc_id);

	if ((cmd->command & PACS_DIMSE_RSP_BIT) != 0 || cmd->command == PACS_DIMSE_C_CANCEL_RQ)
		return 0;
	f->pending_rq = *cmd;
	f->pending_pc = pc_id;
	f->pending = !cmd->has_data_set;
	if (cmd->has_data_set && pc != NULL && pc->transfer_syntax != NULL) {
		pacs_read_opts o;

		pacs_reader_free(f->reader);
		f->reader = NULL;
		f->reader_failed = false;
		pacs_read_opts_init(&o);
		o.input = PACS_INPUT_DATASET;
		o.ts_uid = pc->transfer_syntax;
		o.bulk_threshold = 256;
		o.bulk_fn = bulk_drop;
		o.max_total = 1u << 20;
		if (pacs_reader_new(&f->reader, &o) != 0)
			f->reader_failed = true;
	}
	return 0;
}

static int asm_data(void *ctx, uint8_t pc_id, const uint8_t *bytes, size_t len, bool last)
{
	fz *f = ctx;

	(void)pc_id;
	if (f->reader != NULL && !f->reader_failed && pacs_reader_feed(f->reader, bytes, len) != 0)
		f->reader_failed = true;
	if (last) {
		if (f->reader != NULL && !f->reader_failed) {
			pacs_ds *ds = NULL;
			(void)pacs_reader_finish(f->reader, &ds);
			pacs_ds_free(ds);
		}
		pacs_reader_free(f->reader);
		f->reader = NULL;
		f->pending = true;
	}
	return 0;
}

/* Answers the request that completed, as a server would (outside the
 * indication, as arcad's connection loop does). */
static void respond(fz *f)
{
	pacs_dimse_cmd rsp;
	uint8_t enc[PACS_DIMSE_CMD_MAX_SIZE];
	size_t n = 0;

	f->pending = false;
	if (pacs_ul_state(f->ul) != PACS_UL_STA6 || (f->pending_rq.present & PACS_DIMSE_F_MESSAGE_ID) == 0)
		return;
	if (pacs_dimse_cmd_response(&rsp, &f->pending_rq, PACS_DIMSE_SUCCESS) != 0 ||
	    pacs_dimse_cmd_encode(enc, sizeof(enc), &n, &rsp) != 0)
		return;
	const pacs_dimse_out msg = { .pc_id = f->pending_pc, .command = enc, .command_len = n };
	pacs_dimse_frag *fr = NULL;
	if (pacs_dimse_frag_new(&fr, &msg, f->peer_max) != 0)
		return;
	for (;;) {
		const uint8_t *pdu;
		size_t len;

		if (pacs_dimse_frag_next(fr, &pdu, &len) != 0 || pdu == NULL)
			break;
		const pacs_pdv pdv = { .pctx_id = pdu[10], .flags = pdu[11], .data = &pdu[12], .len = len - 12 };
		if (pacs_ul_send_pdata(f->ul, &pdv, 1) != 0)
			break;
	}
	pacs_dimse_frag_free(fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz f;
	size_t chunk, pos = 1;

	if (size < 1)
		return 0;
	memset(&f, 0, sizeof(f));
	const pacs_ul_port port = {
		.ctx = &f,
		.send_pdu = port_send,
		.close_transport = port_close,
		.start_artim = port_start_artim,
		.stop_artim = port_stop_artim,
		.on_associate_rq = on_rq,
		.on_pdata = on_pdata,
		.on_release_rq = on_release_rq,
	};
	const pacs_dimse_asm_cb cb = { asm_command, asm_data };
	pacs_ul_opts uo;

	pacs_ul_opts_init(&uo);
	uo.max_pdata_length = 64u * 1024u; /* small limits: more inputs reach them */
	uo.max_assoc_length = 64u * 1024u;
	if (pacs_ul_new(&f.ul, &port, &uo) != 0 || pacs_dimse_asm_new(&f.asm_, &cb, &f) != 0)
		goto done;
	f.transport_open = true;
	if (pacs_ul_transport_accepted(f.ul) != 0)
		abort(); /* Evt5 in Sta1 is always defined */
	chunk = data[0] != 0 ? data[0] : size;
	while (pos < size && pacs_ul_state(f.ul) != PACS_UL_STA1) {
		size_t n = size - pos < chunk ? size - pos : chunk;

		(void)pacs_ul_feed(f.ul, &data[pos], n);
		pos += n;
		if (f.pending)
			respond(&f);
	}
	/* the peer hangs up (or ARTIM fires first, when it runs) */
	if (pacs_ul_state(f.ul) != PACS_UL_STA1) {
		if (f.artim && (data[0] & 1u) != 0)
			(void)pacs_ul_artim_expired(f.ul);
		if (pacs_ul_state(f.ul) != PACS_UL_STA1)
			(void)pacs_ul_transport_closed(f.ul);
	}
	if (pacs_ul_state(f.ul) != PACS_UL_STA1)
		abort(); /* Evt17 is defined in every state with a transport */
done:
	pacs_reader_free(f.reader);
	pacs_dimse_asm_free(f.asm_);
	pacs_assoc_free(f.assoc);
	pacs_ul_free(f.ul);
	return 0;
}
