/* pacs_svc_qr.c - what C-FIND, C-GET and C-MOVE requests share: reading
 * their identifier (PS3.4 C.4.1.1.3, C.4.2.1.4, C.4.3.1.3) in the
 * presentation context's transfer syntax, and the failure that is then
 * answered at once. */
#include "pacs_svc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_conn_priv.h"

/* An identifier is a few keys (a list of UIDs at most); this is far
 * above any real one. */
#define QR_MAX_IDENTIFIER (1024u * 1024u)

void pacs_svc__qr_fail(pacs_svc_qr *q, uint16_t status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pacs_svc__qr_vfail(q, status, fmt, ap);
	va_end(ap);
}

void pacs_svc__qr_vfail(pacs_svc_qr *q, uint16_t status, const char *fmt, va_list ap)
{
	if (q->failed)
		return; /* the first reason is the one answered */
	q->failed = true;
	q->status = status;
	vsnprintf(q->comment, sizeof(q->comment), fmt, ap);
	pacs_reader_free(q->reader);
	q->reader = NULL;
}

void pacs_svc__qr_begin(pacs_svc_qr *q, const pacs_op *op, const char *what, uint16_t oom_status)
{
	const char *cls = op->rq.affected_sop_class;
	pacs_read_opts ro;

	if (op->pctx == NULL || strcmp(cls, op->pctx->abstract_syntax) != 0) {
		pacs_svc__qr_fail(q, PACS_DIMSE_DATA_SET_MISMATCH,
				  "SOP Class %s sent on a presentation context for %s", cls,
				  op->pctx != NULL ? op->pctx->abstract_syntax : "?");
		return;
	}
	if (!op->rq.has_data_set) {
		pacs_svc__qr_fail(q, PACS_DIMSE_CANNOT_UNDERSTAND, "%s-RQ without an identifier", what);
		return;
	}
	pacs_read_opts_init(&ro);
	ro.input = PACS_INPUT_DATASET;
	ro.ts_uid = op->pctx->transfer_syntax;
	ro.max_value_length = QR_MAX_IDENTIFIER;
	ro.max_total = QR_MAX_IDENTIFIER;
	if (pacs_reader_new(&q->reader, &ro) < 0)
		pacs_svc__qr_fail(q, oom_status, "%s", arca_error_last());
}

void pacs_svc__qr_data(pacs_svc_qr *q, const uint8_t *bytes, size_t len, bool last)
{
	int rc;

	if (q->failed)
		return;
	if (len > 0 && pacs_reader_feed(q->reader, bytes, len) < 0) {
		pacs_svc__qr_fail(q, PACS_DIMSE_CANNOT_UNDERSTAND, "identifier: %s", arca_error_last());
		return;
	}
	if (!last)
		return;
	rc = pacs_reader_finish(q->reader, &q->ident);
	pacs_reader_free(q->reader);
	q->reader = NULL;
	if (rc < 0)
		pacs_svc__qr_fail(q, PACS_DIMSE_CANNOT_UNDERSTAND, "identifier: %s", arca_error_last());
}

void pacs_svc__qr_release(pacs_svc_qr *q)
{
	pacs_reader_free(q->reader);
	q->reader = NULL;
	pacs_ds_free(q->ident);
	q->ident = NULL;
}
