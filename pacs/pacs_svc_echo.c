/* pacs_svc_echo.c - the Verification SOP Class as SCP (PS3.4 Annex A):
 * C-ECHO-RQ is answered with C-ECHO-RSP, status 0x0000 (PS3.7 9.1.5). */
#include <string.h>

#include "pacs_conn_priv.h"
#include "pacs_dimse.h"
#include "pacs_svc.h"

/* PS3.6 Annex A: Verification SOP Class. */
#define VERIFICATION_SOP_CLASS "1.2.840.10008.1.1"

static void echo_run(pacs_op *op)
{
	char why[PACS_DIMSE_COMMENT_MAX + 1];

	/* PS3.7 9.1.5.1.4: 0x0122 when the SOP class is not Verification, on a
	 * context that is not (PS3.4 A.4: the Verification SOP Class only). */
	if (strcmp(op->rq.affected_sop_class, VERIFICATION_SOP_CLASS) != 0 ||
	    op->pctx == NULL || strcmp(op->pctx->abstract_syntax, VERIFICATION_SOP_CLASS) != 0) {
		strcpy(why, "C-ECHO is for the Verification SOP Class only");
		pacs_conn__log(op->conn, PACS_SERVER_LOG_WARNING, "C-ECHO message %u for %s: %s",
			       op->rq.message_id, op->rq.affected_sop_class, why);
		(void)pacs_conn__respond(op, PACS_DIMSE_SOP_CLASS_NOT_SUPPORTED, why);
		return;
	}
	(void)pacs_conn__respond(op, PACS_DIMSE_SUCCESS, NULL);
}

const pacs_svc pacs_svc__echo = {
	.name = "C-ECHO",
	.run = echo_run,
};
