/* pacs_scu_find.c - C-FIND as an SCU (PS3.4 C.4.1, PS3.7 9.1.2 and
 * 9.3.2): the C-FIND-RQ with its identifier, then one pending response per
 * match (each identifier parsed and handed to the caller) until the final
 * response; C-CANCEL-RQ (PS3.7 9.3.2.3) when the caller asks. */
#include "pacs_scu_priv.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_read.h"

int pacs_scu_find(pacs_scu *scu, const char *sop_class, const pacs_ds *identifier, pacs_scu_find_fn fn,
		  void *ctx, pacs_dimse_cmd *rsp)
{
	const scu_ctx *c = pacs_scu__ctx_for(scu, sop_class, NULL);
	pacs_dimse_cmd cmd;
	bool cancelled = false;
	uint16_t id;
	int rc;

	if (c == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s accepted no presentation context for %s", scu->called_ae,
				      sop_class);
	id = pacs_scu__message_id(scu);
	pacs_dimse_cmd_init(&cmd, PACS_DIMSE_C_FIND_RQ);
	cmd.has_data_set = true;
	if ((rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MESSAGE_ID, id)) < 0 ||
	    (rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_PRIORITY, PACS_DIMSE_PRIORITY_MEDIUM)) < 0 ||
	    (rc = pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_CLASS, sop_class)) < 0)
		return rc;
	if ((rc = pacs_scu__send_with_identifier(scu, c->info.id, c->info.transfer_syntax, &cmd, identifier)) < 0)
		return rc;
	for (;;) {
		pacs_read_opts ro;
		pacs_ds *match = NULL;

		if ((rc = pacs_scu__wait_response(scu, rsp)) < 0)
			return rc;
		if (pacs_dimse_status_category(rsp->status) != PACS_DIMSE_STATUS_PENDING)
			break;
		if (!rsp->has_data_set || cancelled)
			continue;
		pacs_read_opts_init(&ro);
		ro.input = PACS_INPUT_DATASET;
		ro.ts_uid = c->info.transfer_syntax;
		if ((rc = pacs_read_buffer(&match, scu->rsp_data, scu->rsp_len, &ro)) < 0)
			return pacs_scu__fail(scu, arca_error_prefix(rc, "%s: a C-FIND response identifier", scu->called_ae));
		rc = fn(ctx, match);
		pacs_ds_free(match);
		if (rc < 0)
			return pacs_scu__fail(scu, rc);
		if (rc > 0) {
			cancelled = true;
			if ((rc = pacs_scu__send_cancel(scu, c->info.id, id)) < 0)
				return rc;
		}
	}
	return 0;
}
