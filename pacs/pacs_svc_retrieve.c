/* pacs_svc_retrieve.c - what the C-GET and C-MOVE SCPs share (see
 * pacs_svc_retrieve.h): PS3.4 C.4.2 (C-MOVE) and C.4.3 (C-GET). */
#include "pacs_svc_retrieve.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_conn_priv.h"
#include "pacs_buf.h"
#include "pacs_sop.h"
#include "pacs_tags.h"
#include "pacs_ts.h"
#include "pacs_write.h"

/* An identifier is a few keys (a list of UIDs at most). */
#define RETR_MAX_IDENTIFIER (1024u * 1024u)
/* The counts of the responses are US (PS3.7 9.3.3, 9.3.4). */
#define RETR_MAX_ITEMS 65535u

void pacs_svc__retr_fail(pacs_retr *r, uint16_t status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pacs_svc__qr_vfail(&r->qr, status, fmt, ap);
	va_end(ap);
}

int pacs_svc__retr_start(pacs_op *op, pacs_retr *r)
{
	const char *cls = op->rq.affected_sop_class;
	const char *what = r->is_move ? "C-MOVE" : "C-GET";

	if (strcmp(cls, r->is_move ? PACS_SVC_PATIENT_ROOT_MOVE : PACS_SVC_PATIENT_ROOT_GET) == 0) {
		r->model = PACS_QUERY_PATIENT_ROOT;
	} else if (strcmp(cls, r->is_move ? PACS_SVC_STUDY_ROOT_MOVE : PACS_SVC_STUDY_ROOT_GET) == 0) {
		r->model = PACS_QUERY_STUDY_ROOT;
	} else {
		const pacs_sop_info *sop = pacs_sop_lookup(cls);
		pacs_svc__retr_fail(r, PACS_DIMSE_SOP_CLASS_NOT_SUPPORTED, "%s of %s is not performed here", what,
				    sop != NULL ? sop->name : cls);
		return 0;
	}
	pacs_svc__qr_begin(&r->qr, op, what, PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS);
	return 0;
}

int pacs_svc__retr_data(pacs_op *op, pacs_retr *r, const uint8_t *bytes, size_t len, bool last)
{
	(void)op;
	pacs_svc__qr_data(&r->qr, bytes, len, last);
	return 0;
}

/* The unique keys of each level (PS3.4 C.6.1.1, C.6.2.1). */
static const struct {
	uint32_t tag;
	const char *name;
} unique_keys[] = {
	{PACS_TAG_PatientID, "Patient ID (0010,0020)"},
	{PACS_TAG_StudyInstanceUID, "Study Instance UID (0020,000D)"},
	{PACS_TAG_SeriesInstanceUID, "Series Instance UID (0020,000E)"},
	{PACS_TAG_SOPInstanceUID, "SOP Instance UID (0008,0018)"},
};

/* PS3.4 C.4.2.2.1 / C.4.3.2.1: a unique key for each level above the
 * retrieve level with a single value, and at the level a single value or
 * a list of UIDs; no wildcard anywhere. */
bool pacs_svc__retr_check(pacs_op *op, pacs_retr *r)
{
	char v[PACS_DIMSE_UID_MAX + 2];
	unsigned top;

	(void)op;
	if (r->qr.ident == NULL) {
		pacs_svc__retr_fail(r, PACS_DIMSE_CANNOT_UNDERSTAND, "no identifier");
		return false;
	}
	if (pacs_ds_get_string(r->qr.ident, PACS_TAG_QueryRetrieveLevel, 0, v, sizeof(v)) < 0 || v[0] == '\0') {
		pacs_svc__retr_fail(r, PACS_DIMSE_DATA_SET_MISMATCH, "Query/Retrieve Level (0008,0052) missing");
		return false;
	}
	if (pacs_query_level_parse(v, &r->level) < 0) {
		pacs_svc__retr_fail(r, PACS_DIMSE_DATA_SET_MISMATCH, "%s", arca_error_last());
		return false;
	}
	if (r->model == PACS_QUERY_STUDY_ROOT && r->level == PACS_QUERY_PATIENT) {
		pacs_svc__retr_fail(r, PACS_DIMSE_DATA_SET_MISMATCH, "Study Root has no PATIENT level (PS3.4 C.6.2)");
		return false;
	}
	top = r->model == PACS_QUERY_STUDY_ROOT ? 1 : 0;
	for (unsigned l = top; l <= (unsigned)r->level; l++) {
		char *u = NULL;
		bool ok = pacs_ds_get_utf8(r->qr.ident, unique_keys[l].tag, &u) == 0 && u != NULL && u[0] != '\0' &&
			  strpbrk(u, "*?") == NULL && (l == (unsigned)r->level || strchr(u, '\\') == NULL);
		free(u);
		if (!ok) {
			pacs_svc__retr_fail(r, PACS_DIMSE_DATA_SET_MISMATCH,
					    "a %s retrieve needs %s with %s (PS3.4 C.4.3.2.1)",
					    pacs_query_level_name(r->level), unique_keys[l].name,
					    l == (unsigned)r->level ? "a value or a list of UIDs" : "a single value");
			return false;
		}
	}
	return true;
}

int pacs_svc__retr_list(pacs_op *op, pacs_retr *r)
{
	const pacs_query *q = op->conn->srv->opts.query;
	void *cursor = NULL;
	size_t cap = 0;
	int rc;

	r->job_rc = 0;
	r->job_msg[0] = '\0';
	rc = q->ops->list_open(q->ctx, r->model, r->level, r->qr.ident, &cursor);
	while (rc == 0) {
		pacs_query_item it;
		bool has = false;

		rc = q->ops->list_next(cursor, &it, &has);
		if (rc < 0 || !has)
			break;
		if (r->n_items == RETR_MAX_ITEMS) {
			rc = arca_error_set(ARCA_ELIMIT, "more than %u instances selected: retrieve series by series",
					    RETR_MAX_ITEMS);
			break;
		}
		if (r->n_items == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 64;
			pacs_query_item *p = realloc(r->items, ncap * sizeof(*p));
			if (p == NULL) {
				rc = arca_error_set(ARCA_ENOMEM, "no memory for the instance list");
				break;
			}
			r->items = p;
			cap = ncap;
		}
		if (r->n_items == 0 ||
		    strcmp(r->items[r->n_items - 1].study_instance_uid, it.study_instance_uid) != 0)
			r->n_studies++;
		r->items[r->n_items++] = it;
	}
	if (cursor != NULL)
		q->ops->list_close(cursor);
	if (rc < 0) {
		r->job_rc = rc;
		snprintf(r->job_msg, sizeof(r->job_msg), "%s", arca_error_last());
	}
	return rc;
}

static void add_failed_uid(pacs_retr *r, const char *uid)
{
	size_t n = strlen(uid) + 1;

	if (r->failed_len + n + 1 > r->failed_cap) {
		size_t cap = r->failed_cap != 0 ? r->failed_cap * 2 : 256;
		char *p;
		while (cap < r->failed_len + n + 1)
			cap *= 2;
		p = realloc(r->failed_uids, cap);
		if (p == NULL)
			return; /* the count stays right; the list is diagnostic */
		r->failed_uids = p;
		r->failed_cap = cap;
	}
	if (r->failed_len > 0)
		r->failed_uids[r->failed_len++] = '\\';
	memcpy(r->failed_uids + r->failed_len, uid, n);
	r->failed_len += n - 1;
}

void pacs_svc__retr_count(pacs_retr *r, uint16_t status)
{
	const pacs_query_item *it = &r->items[r->next_item];

	switch (pacs_dimse_status_category(status)) {
	case PACS_DIMSE_STATUS_SUCCESS:
		r->completed++;
		break;
	case PACS_DIMSE_STATUS_WARNING:
		r->warning++;
		break;
	default:
		r->n_failed++;
		add_failed_uid(r, it->sop_instance_uid);
		break;
	}
	r->next_item++;
}

static int retr_counts(pacs_dimse_cmd *rsp, const pacs_retr *r, bool remaining)
{
	int rc = 0;

	if (remaining)
		rc = pacs_dimse_cmd_set_u16(rsp, PACS_DIMSE_F_REMAINING, (uint16_t)(r->n_items - r->next_item));
	if (rc == 0)
		rc = pacs_dimse_cmd_set_u16(rsp, PACS_DIMSE_F_COMPLETED, r->completed);
	if (rc == 0)
		rc = pacs_dimse_cmd_set_u16(rsp, PACS_DIMSE_F_FAILED, r->n_failed);
	if (rc == 0)
		rc = pacs_dimse_cmd_set_u16(rsp, PACS_DIMSE_F_WARNING, r->warning);
	return rc;
}

int pacs_svc__retr_pending(pacs_op *op, pacs_retr *r)
{
	pacs_dimse_cmd rsp;
	int rc;

	rc = pacs_dimse_cmd_response(&rsp, &op->rq, PACS_DIMSE_PENDING);
	if (rc == 0)
		rc = retr_counts(&rsp, r, true);
	if (rc == 0)
		rc = pacs_conn__send_response(op, &rsp, NULL, 0, false);
	return rc;
}

static void retr_audit(pacs_op *op, pacs_retr *r, uint16_t status, const char *dest)
{
	pacs_svc_retrieve_event ev = {
		.service = r->is_move ? "C-MOVE" : "C-GET",
		.destination = dest != NULL ? dest : op->conn->calling_ae,
		.study_uid = r->n_items > 0 ? r->items[0].study_instance_uid : "",
		.n_studies = r->n_studies,
		.n_instances = r->n_items,
		.completed = r->completed,
		.failed = r->n_failed,
		.warning = r->warning,
		.status = status,
		.user = op->conn->user,
	};

	pacs_svc_retrieve_audit(op->conn, &ev);
}

void pacs_svc__retr_final(pacs_op *op, pacs_retr *r, bool cancelled, const char *dest)
{
	pacs_dimse_cmd rsp;
	pacs_buf ident;
	pacs_ds *ds = NULL;
	uint16_t status;
	int rc;

	/* PS3.4 C.4.3.1.4 (C-GET) and C.4.2.1.5 (C-MOVE) statuses */
	if (cancelled)
		status = PACS_DIMSE_CANCEL;
	else if (r->n_failed == 0 && r->warning == 0)
		status = PACS_DIMSE_SUCCESS;
	else if (r->completed == 0 && r->warning == 0)
		status = PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS; /* every sub-operation failed */
	else
		status = PACS_DIMSE_WARNING_COERCION;        /* B000: some failed or warned */
	retr_audit(op, r, status, dest);
	pacs_buf_init(&ident, RETR_MAX_IDENTIFIER * 16u);
	rc = pacs_dimse_cmd_response(&rsp, &op->rq, status);
	/* Number of Remaining only while some remain (pending, cancel) */
	if (rc == 0)
		rc = retr_counts(&rsp, r, cancelled);
	/* PS3.4 C.4.3.1.3.1: the Failed SOP Instance UID List (0008,0058)
	 * is the response identifier when a sub-operation failed */
	if (rc == 0 && r->n_failed > 0 && r->failed_len > 0) {
		pacs_write_opts wo;
		pacs_write_opts_init(&wo);
		wo.ts_uid = op->pctx->transfer_syntax;
		rc = pacs_ds_new(&ds);
		if (rc == 0)
			rc = pacs_ds_set_string(ds, PACS_TAG_FailedSOPInstanceUIDList, PACS_VR_UI, r->failed_uids);
		if (rc == 0)
			rc = pacs_write_dataset(ds, &wo, pacs_buf_sink, &ident);
		pacs_ds_free(ds);
	}
	if (rc == 0)
		rc = pacs_conn__send_response(op, &rsp, pacs_buf_len(&ident) > 0 ? pacs_buf_data(&ident) : NULL,
					    pacs_buf_len(&ident), true);
	if (rc < 0)
		(void)pacs_conn__respond(op, status, arca_error_last());
	pacs_buf_free(&ident);
	op->answered = true;
}

void pacs_svc__retr_refuse(pacs_op *op, pacs_retr *r, uint16_t status, const char *comment, const char *dest)
{
	retr_audit(op, r, status, dest);
	pacs_conn__log(op->conn, PACS_SERVER_LOG_WARNING, "%s message %u refused 0x%04X: %s",
		       r->is_move ? "C-MOVE" : "C-GET", op->rq.message_id, status, comment);
	(void)pacs_conn__respond(op, status, comment);
}

int pacs_svc__retr_ts_rank(const char *from, const char *to)
{
	if (strcmp(from, to) == 0)
		return 3;
	if (pacs_ts_lookup(from) == NULL || pacs_ts_lookup(to) == NULL)
		return 0;
	if (!pacs_ts_is_encapsulated(to))
		return 2;
	if (strcmp(to, PACS_TS_RLE) == 0 || strcmp(to, PACS_TS_J2K_LOSSLESS) == 0 || strcmp(to, PACS_TS_J2K) == 0)
		return 1;
	return 0;
}

void pacs_svc__retr_release(pacs_retr *r)
{
	pacs_svc__qr_release(&r->qr);
	free(r->items);
	free(r->failed_uids);
	memset(r, 0, sizeof(*r));
}

void pacs_svc_retrieve_audit(pacs_conn *c, const pacs_svc_retrieve_event *ev)
{
	/* the provenance chain's retrieve event (issue 5 item 6) */
	if (c->srv->opts.retrieve_audit != NULL)
		c->srv->opts.retrieve_audit(c->srv->opts.retrieve_audit_ctx, c->calling_ae, ev);
	pacs_conn__log(c, PACS_SERVER_LOG_INFO,
		       "retrieve: %s by \"%s\" to \"%s\": study %s%s%.0zu%s, %zu instances; 0x%04X %s, "
		       "%u completed, %u failed, %u warning",
		       ev->service, c->calling_ae, ev->destination, ev->study_uid[0] != '\0' ? ev->study_uid : "(none)",
		       ev->n_studies > 1 ? " (+" : "", ev->n_studies > 1 ? ev->n_studies - 1 : 0,
		       ev->n_studies > 1 ? " more)" : "", ev->n_instances, ev->status,
		       pacs_dimse_status_name(ev->status), ev->completed, ev->failed, ev->warning);
}
