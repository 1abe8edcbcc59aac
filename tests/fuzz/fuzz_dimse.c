/* fuzz_dimse.c - libFuzzer target for DIMSE (pacs_dimse.h).
 *
 * 1. The whole input is a command set for pacs_dimse_cmd_decode.  A
 *    command that decodes must encode, and the encoding must decode to
 *    the same fields and re-encode to the same bytes.  Such a command is
 *    also sent through the fragmenter (the input as its data set, a
 *    maximum PDU length taken from the input) and back through the
 *    assembler, which must give the command and every data byte back.
 * 2. The input is read as a run of PDVs, each [context ID][control
 *    header][length, 2 bytes little endian][bytes], fed to an assembler
 *    until it fails for good. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_dimse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	const uint8_t *want;   /* expected data set bytes, NULL: just count */
	size_t want_len;
	size_t got;
	int commands;
	bool last;
};

static int on_command(void *ctx, uint8_t pc_id, const pacs_dimse_cmd *cmd)
{
	struct check *c = ctx;
	(void)pc_id;
	(void)cmd;
	c->commands++;
	return 0;
}

static int on_data(void *ctx, uint8_t pc_id, const uint8_t *bytes, size_t len, bool last)
{
	struct check *c = ctx;
	(void)pc_id;
	if (c->want != NULL) {
		if (c->last || len > c->want_len - c->got || memcmp(bytes, &c->want[c->got], len) != 0)
			abort(); /* reassembly must give back exactly what was sent */
	}
	c->got += len;
	c->last = last;
	return 0;
}

static const pacs_dimse_asm_cb cbs = {on_command, on_data};

struct relay {
	pacs_dimse_asm *a;
	uint32_t max_pdu;
};

/* Parses each PDU the fragmenter emits and feeds its PDV back. */
static int relay(void *ctx, const uint8_t *pdu, size_t len)
{
	struct relay *r = ctx;
	if (len < 12 || pdu[0] != 0x04)
		abort();
	uint32_t pdu_len = (uint32_t)pdu[2] << 24 | (uint32_t)pdu[3] << 16 | (uint32_t)pdu[4] << 8 | pdu[5];
	if (pdu_len + 6 != len || (r->max_pdu != 0 && pdu_len > r->max_pdu))
		abort(); /* PS3.8 D.1 */
	return pacs_dimse_asm_feed(r->a, pdu[10], pdu[11], &pdu[12], len - 12);
}

static void roundtrip(const pacs_dimse_cmd *cmd, const uint8_t *data, size_t size)
{
	uint8_t enc[PACS_DIMSE_CMD_MAX_SIZE], enc2[PACS_DIMSE_CMD_MAX_SIZE];
	size_t n = 0, n2 = 0;
	pacs_dimse_cmd again;

	if (pacs_dimse_cmd_encode(enc, sizeof enc, &n, cmd) != 0)
		abort(); /* what decodes, encodes */
	if (pacs_dimse_cmd_decode(&again, enc, n) != 0 || again.present != cmd->present ||
	    again.command != cmd->command || again.has_data_set != cmd->has_data_set)
		abort();
	if (pacs_dimse_cmd_encode(enc2, sizeof enc2, &n2, &again) != 0 || n2 != n || memcmp(enc, enc2, n) != 0)
		abort();

	struct check chk = {data, cmd->has_data_set ? size : 0, 0, 0, false};
	struct relay r = {NULL, 0};
	if (pacs_dimse_asm_new(&r.a, &cbs, &chk) != 0)
		return;
	/* a small maximum exercises many fragments; 0 is unlimited */
	r.max_pdu = size > 0 && data[0] != 0 ? PACS_DIMSE_MIN_MAX_PDU + (uint32_t)data[0] * 7u : 0;
	pacs_dimse_out msg = {.pc_id = 1, .command = enc, .command_len = n};
	if (cmd->has_data_set) {
		msg.data = data;
		msg.data_len = size;
	}
	if (pacs_dimse_fragment(&msg, r.max_pdu, relay, &r) != 0)
		abort();
	if (chk.commands != 1 || !pacs_dimse_asm_idle(r.a) || chk.got != chk.want_len ||
	    (cmd->has_data_set && !chk.last))
		abort();
	pacs_dimse_asm_free(r.a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pacs_dimse_cmd cmd;

	if (pacs_dimse_cmd_decode(&cmd, data, size) == 0)
		roundtrip(&cmd, data, size);
	(void)pacs_dimse_command_name(cmd.command);
	(void)pacs_dimse_status_name(cmd.status);

	pacs_dimse_asm *a;
	struct check chk = {NULL, 0, 0, 0, false};
	if (pacs_dimse_asm_new(&a, &cbs, &chk) != 0)
		return 0;
	size_t pos = 0;
	while (size - pos >= 4) {
		uint8_t pc = data[pos], control = data[pos + 1];
		size_t len = (size_t)data[pos + 2] | (size_t)data[pos + 3] << 8;
		pos += 4;
		if (len > size - pos)
			len = size - pos;
		int rc = pacs_dimse_asm_feed(a, pc, control, &data[pos], len);
		pos += len;
		if (rc != 0 && pacs_dimse_asm_rejected(a) == NULL)
			break;
	}
	pacs_dimse_asm_free(a);
	return 0;
}
