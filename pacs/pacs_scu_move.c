/* pacs_scu_move.c - C-MOVE as an SCU (PS3.4 C.4.2, PS3.7 9.1.4 and
 * 9.3.4), and the response loop C-MOVE and C-GET share.
 *
 * The C-MOVE-RQ carries the identifier (Query/Retrieve Level and the
 * unique keys, PS3.4 C.4.2.2.1) and the Move Destination, the AE title the
 * peer is to send the instances to over an association of its own.  The
 * peer answers with pending responses (FF00H) that count the C-STORE
 * sub-operations remaining, completed, failed and warned (PS3.4
 * C.4.2.1.5), then one final response: 0000H, B000H (some failed: the
 * Failed SOP Instance UID List in its identifier), A701H/A702H (out of
 * resources), A801H (move destination unknown), A900H/Cxxx (identifier),
 * FE00H (cancelled; PS3.7 9.3.4.3 C-CANCEL-RQ). */
#include "pacs_scu_priv.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "pacs_tags.h"

void pacs_scu_retrieve_result_clear(pacs_scu_retrieve_result *r)
{
	if (r == NULL)
		return;
	free(r->failed_uids);
	memset(r, 0, sizeof(*r));
}

/* PS3.4 C.4.2.1.4.2 / C.4.3.1.3.2: the final response's identifier holds
 * the Failed SOP Instance UID List (0008,0058).  Anything else in it is
 * ignored; an identifier that does not parse only loses the list. */
static int failed_list(pacs_scu *scu, const char *ts, pacs_scu_retrieve_result *out)
{
	pacs_read_opts ro;
	pacs_ds *ds = NULL;
	const pacs_elem *e;
	const uint8_t *v;
	uint32_t len = 0;
	int rc;

	pacs_read_opts_init(&ro);
	ro.input = PACS_INPUT_DATASET;
	ro.ts_uid = ts;
	if (pacs_read_buffer(&ds, scu->rsp_data, scu->rsp_len, &ro) < 0)
		return 0;
	e = pacs_ds_find(ds, PACS_TAG_FailedSOPInstanceUIDList);
	v = e != NULL && !pacs_elem_is_sequence(e) ? pacs_elem_value(e, &len) : NULL;
	while (v != NULL && len > 0 && (v[len - 1] == '\0' || v[len - 1] == ' '))
		len--;
	rc = 0;
	if (v != NULL && len > 0) {
		out->failed_uids = malloc((size_t)len + 1);
		if (out->failed_uids == NULL) {
			rc = arca_error_set(ARCA_ENOMEM, "no memory for the Failed SOP Instance UID List");
		} else {
			memcpy(out->failed_uids, v, len);
			out->failed_uids[len] = '\0';
			out->n_failed = 1;
			for (uint32_t i = 0; i < len; i++)
				if (v[i] == '\\')
					out->n_failed++;
		}
	}
	pacs_ds_free(ds);
	return rc;
}

int pacs_scu__retrieve(pacs_scu *scu, const scu_ctx *c, const pacs_dimse_cmd *cmd, const pacs_ds *identifier,
		       pacs_scu_retrieve_fn fn, void *ctx, pacs_scu_retrieve_result *out)
{
	pacs_dimse_cmd rsp;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pacs_scu__send_with_identifier(scu, c->info.id, c->info.transfer_syntax, cmd, identifier)) < 0)
		return rc;
	for (;;) {
		if ((rc = pacs_scu__wait_response(scu, &rsp)) < 0)
			return rc;
		if (pacs_dimse_status_category(rsp.status) != PACS_DIMSE_STATUS_PENDING)
			break;
		out->pending++;
		if (fn == NULL)
			continue;
		rc = fn(ctx, &rsp);
		if (rc < 0)
			return pacs_scu__fail(scu, rc);
		if (rc > 0 && !out->cancelled) {
			out->cancelled = true;
			if ((rc = pacs_scu__send_cancel(scu, c->info.id, cmd->message_id)) < 0)
				return rc;
		}
	}
	out->rsp = rsp;
	if (rsp.has_data_set && scu->rsp_len > 0)
		return failed_list(scu, c->info.transfer_syntax, out);
	return 0;
}

int pacs_scu_move(pacs_scu *scu, const char *sop_class, const char *dest_ae, const pacs_ds *identifier,
		  pacs_scu_retrieve_fn fn, void *ctx, pacs_scu_retrieve_result *out)
{
	const scu_ctx *c;
	pacs_dimse_cmd cmd;
	int rc;

	memset(out, 0, sizeof(*out));
	if (scu == NULL || sop_class == NULL || dest_ae == NULL || identifier == NULL)
		return arca_error_set(ARCA_EINVAL, "scu: C-MOVE needs a SOP class, a destination and an identifier");
	if (!pacs_scu_established(scu))
		return arca_error_set(ARCA_EINVAL, "scu: C-MOVE: no association (it has ended or was never made)");
	c = pacs_scu__ctx_for(scu, sop_class, NULL);
	if (c == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s accepted no presentation context for %s", scu->called_ae,
				      sop_class);
	/* PS3.7 9.3.4.1, Table 9.3-11 */
	pacs_dimse_cmd_init(&cmd, PACS_DIMSE_C_MOVE_RQ);
	cmd.has_data_set = true;
	if (pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_MOVE_DESTINATION, dest_ae) < 0)
		return arca_error_set(ARCA_EINVAL, "move destination \"%s\" is not an AE title (1-16 characters)", dest_ae);
	if ((rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MESSAGE_ID, pacs_scu__message_id(scu))) < 0 ||
	    (rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_PRIORITY, PACS_DIMSE_PRIORITY_MEDIUM)) < 0 ||
	    (rc = pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_CLASS, sop_class)) < 0)
		return rc;
	return pacs_scu__retrieve(scu, c, &cmd, identifier, fn, ctx, out);
}
