/* pacs_scu_find.c - C-FIND as an SCU (PS3.4 C.4.1, PS3.7 9.1.2 and
 * 9.3.2): the C-FIND-RQ with its identifier, then one pending response per
 * match (each identifier parsed and handed to the caller) until the final
 * response; C-CANCEL-RQ (PS3.7 9.3.2.3) when the caller asks. */
#include "pacs_scu_priv.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_read.h"

typedef struct find_buf {
	uint8_t *data;
	size_t len, cap;
} find_buf;

static int buf_sink(void *ctx, const uint8_t *data, size_t len)
{
	find_buf *b = ctx;

	if (len > SCU_RSP_DATA_MAX - b->len)
		return arca_error_set(ARCA_ELIMIT, "C-FIND identifier above %u bytes", SCU_RSP_DATA_MAX);
	if (b->len + len > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 1024;
		uint8_t *p;
		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for a C-FIND identifier");
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

/* PS3.7 9.3.2.3: C-CANCEL-RQ names the request; it has no response, so
 * the outstanding request stays what we wait for. */
static int send_cancel(pacs_scu *scu, uint8_t pc_id, uint16_t message_id)
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

int pacs_scu_find(pacs_scu *scu, const char *sop_class, const pacs_ds *identifier, pacs_scu_find_fn fn,
		  void *ctx, pacs_dimse_cmd *rsp)
{
	const scu_ctx *c = pacs_scu__ctx_for(scu, sop_class, NULL);
	find_buf enc = {0};
	pacs_write_opts wo;
	pacs_dimse_cmd cmd;
	bool cancelled = false;
	size_t frag, off = 0;
	uint16_t id;
	int rc;

	if (c == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s accepted no presentation context for %s", scu->called_ae,
				      sop_class);
	pacs_write_opts_init(&wo);
	wo.ts_uid = c->info.transfer_syntax;
	if ((rc = pacs_write_dataset(identifier, &wo, buf_sink, &enc)) < 0)
		goto out;
	id = pacs_scu__message_id(scu);
	pacs_dimse_cmd_init(&cmd, PACS_DIMSE_C_FIND_RQ);
	cmd.has_data_set = true;
	if ((rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MESSAGE_ID, id)) < 0 ||
	    (rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_PRIORITY, PACS_DIMSE_PRIORITY_MEDIUM)) < 0 ||
	    (rc = pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_CLASS, sop_class)) < 0)
		goto out;
	if ((rc = pacs_scu__send_command(scu, c->info.id, &cmd)) < 0)
		goto out;
	frag = pacs_scu__fragment_max(scu);
	do {
		size_t n = enc.len - off < frag ? enc.len - off : frag;
		if ((rc = pacs_scu__send_data(scu, c->info.id, enc.data + off, n, off + n == enc.len)) < 0)
			goto out;
		off += n;
	} while (off < enc.len);
	for (;;) {
		pacs_read_opts ro;
		pacs_ds *match = NULL;

		if ((rc = pacs_scu__wait_response(scu, rsp)) < 0)
			goto out;
		if (pacs_dimse_status_category(rsp->status) != PACS_DIMSE_STATUS_PENDING)
			break;
		if (!rsp->has_data_set || cancelled)
			continue;
		pacs_read_opts_init(&ro);
		ro.input = PACS_INPUT_DATASET;
		ro.ts_uid = c->info.transfer_syntax;
		if ((rc = pacs_read_buffer(&match, scu->rsp_data, scu->rsp_len, &ro)) < 0) {
			rc = pacs_scu__fail(scu, arca_error_prefix(rc, "%s: a C-FIND response identifier", scu->called_ae));
			goto out;
		}
		rc = fn(ctx, match);
		pacs_ds_free(match);
		if (rc < 0) {
			rc = pacs_scu__fail(scu, rc);
			goto out;
		}
		if (rc > 0) {
			cancelled = true;
			if ((rc = send_cancel(scu, c->info.id, id)) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(enc.data);
	return rc;
}
