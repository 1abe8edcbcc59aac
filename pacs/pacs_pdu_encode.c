/* pacs_pdu_encode.c - PDU encoders (PS3.8 9.3.2-9.3.8, Annex D.1, E.2;
 * user information sub-items PS3.7 D.3.3).
 *
 * Each encoder appends one whole PDU to a pacs_buf.  Lengths are written
 * as placeholders and patched once the content after them is known; if
 * anything fails the buffer is truncated back to where the PDU started,
 * so a caller never sees half a PDU. */
#include "pacs_pdu.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arca_err.h"

typedef struct assoc_enc {
	pacs_buf *b;
	const char *pdu; /* for messages */
	bool rq;
} assoc_enc;

static int enc_fail(const char *pdu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int enc_fail(const char *pdu, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return arca_error_set(ARCA_EINVAL, "%s encoding: %s", pdu, msg);
}

/* PS3.8 9.3.1 item header: type, reserved (or the 57H sub-item version),
 * 16-bit length patched by item_end(). */
static int item_begin(pacs_buf *b, uint8_t type, uint8_t byte2, size_t *len_at)
{
	int rc = pacs_buf_add_u8(b, type);

	if (rc == 0)
		rc = pacs_buf_add_u8(b, byte2);
	*len_at = pacs_buf_len(b);
	if (rc == 0)
		rc = pacs_buf_add_u16be(b, 0);
	return rc;
}

static int item_end(const assoc_enc *e, size_t len_at, const char *what)
{
	size_t n = pacs_buf_len(e->b) - len_at - 2;

	if (n > UINT16_MAX)
		return arca_error_set(ARCA_ELIMIT, "%s encoding: %s would be %zu bytes, more than 65535",
				      e->pdu, what, n);
	return pacs_buf_set_u16be(e->b, len_at, (uint16_t)n);
}

/* A UID to send: 1-64 printable characters (PS3.5 9.1; PS3.8 Annex F:
 * no padding). */
static int check_uid(const assoc_enc *e, const char *uid, const char *what, size_t *n)
{
	size_t i;

	if (uid == NULL)
		return enc_fail(e->pdu, "%s is missing", what);
	*n = strlen(uid);
	if (*n == 0 || *n > PACS_PDU_UID_MAX)
		return enc_fail(e->pdu, "%s \"%.80s\" is %zu bytes (1 to %u allowed)", what, uid, *n,
				PACS_PDU_UID_MAX);
	for (i = 0; i < *n; i++)
		if ((unsigned char)uid[i] < 0x21 || (unsigned char)uid[i] > 0x7e)
			return enc_fail(e->pdu, "%s has the non-printable byte %02XH", what,
					(unsigned char)uid[i]);
	return 0;
}

/* An item or sub-item whose whole value is a UID. */
static int enc_uid_item(const assoc_enc *e, uint8_t type, const char *uid, const char *what)
{
	size_t n, len_at;
	int rc = check_uid(e, uid, what, &n);

	if (rc == 0)
		rc = item_begin(e->b, type, 0, &len_at);
	if (rc == 0)
		rc = pacs_buf_add(e->b, uid, n);
	if (rc == 0)
		rc = item_end(e, len_at, what);
	return rc;
}

/* A UID preceded by its 16-bit length (inside a sub-item). */
static int enc_uid_field(const assoc_enc *e, const char *uid, const char *what)
{
	size_t n;
	int rc = check_uid(e, uid, what, &n);

	if (rc == 0)
		rc = pacs_buf_add_u16be(e->b, (uint16_t)n);
	if (rc == 0)
		rc = pacs_buf_add(e->b, uid, n);
	return rc;
}

/* PS3.8 9.3.2 Table 9-11: 16 ISO 646 G0 characters, space padded; 16
 * spaces ("no name") shall not be used in an RQ.  An AC echoes whatever
 * the RQ held, so there an empty title is sent as 16 spaces. */
static int enc_ae(const assoc_enc *e, const char *ae, const char *what)
{
	size_t n = strnlen(ae, PACS_PDU_AE_MAX + 1), i;
	bool blank = true;
	int rc;

	if (n > PACS_PDU_AE_MAX)
		return enc_fail(e->pdu, "%s is longer than 16 characters", what);
	for (i = 0; i < n; i++) {
		if ((unsigned char)ae[i] < 0x20 || (unsigned char)ae[i] > 0x7e)
			return enc_fail(e->pdu, "%s has the byte %02XH, not an ISO 646 G0 character", what,
					(unsigned char)ae[i]);
		if (ae[i] != ' ')
			blank = false;
	}
	if (blank && e->rq)
		return enc_fail(e->pdu, "%s is empty", what);
	rc = pacs_buf_add(e->b, ae, n);
	if (rc == 0)
		rc = pacs_buf_add_fill(e->b, ' ', PACS_PDU_AE_MAX - n);
	return rc;
}

static int enc_pctx(const assoc_enc *e, const pacs_pdu_pctx *pc)
{
	size_t len_at, i;
	int rc;

	if (pc->id % 2 == 0)
		return enc_fail(e->pdu, "Presentation Context ID %u is not odd", pc->id);
	if (e->rq) {
		/* PS3.8 9.3.2.2 Table 9-13 */
		if (pc->n_transfer_syntaxes == 0 || pc->n_transfer_syntaxes > PACS_PDU_MAX_TS ||
		    pc->transfer_syntaxes == NULL)
			return enc_fail(e->pdu, "Presentation Context %u has %zu transfer syntaxes (1 to %u)",
					pc->id, pc->n_transfer_syntaxes, PACS_PDU_MAX_TS);
		rc = item_begin(e->b, PACS_PDU_ITEM_PCTX_RQ, 0, &len_at);
		if (rc == 0)
			rc = pacs_buf_add_u8(e->b, pc->id);
		if (rc == 0)
			rc = pacs_buf_add_fill(e->b, 0, 3);
		if (rc == 0)
			rc = enc_uid_item(e, PACS_PDU_ITEM_ABSTRACT_SYNTAX, pc->abstract_syntax,
					  "Abstract Syntax");
		for (i = 0; rc == 0 && i < pc->n_transfer_syntaxes; i++)
			rc = enc_uid_item(e, PACS_PDU_ITEM_TRANSFER_SYNTAX, pc->transfer_syntaxes[i],
					  "Transfer Syntax");
	} else {
		/* PS3.8 9.3.3.2 Table 9-18 */
		if (pc->result > PACS_PDU_PCTX_TRANSFER_SYNTAXES_NOT_SUPPORTED)
			return enc_fail(e->pdu, "Presentation Context %u has the result %u (0-4)", pc->id,
					pc->result);
		rc = item_begin(e->b, PACS_PDU_ITEM_PCTX_AC, 0, &len_at);
		if (rc == 0)
			rc = pacs_buf_add_u8(e->b, pc->id);
		if (rc == 0)
			rc = pacs_buf_add_u8(e->b, 0);
		if (rc == 0)
			rc = pacs_buf_add_u8(e->b, pc->result);
		if (rc == 0)
			rc = pacs_buf_add_u8(e->b, 0);
		if (rc == 0 && pc->result != PACS_PDU_PCTX_ACCEPTANCE && pc->transfer_syntax == NULL) {
			/* Not significant when not accepted: an empty sub-item. */
			size_t ts_at;

			rc = item_begin(e->b, PACS_PDU_ITEM_TRANSFER_SYNTAX, 0, &ts_at);
		} else if (rc == 0) {
			rc = enc_uid_item(e, PACS_PDU_ITEM_TRANSFER_SYNTAX, pc->transfer_syntax,
					  "Transfer Syntax");
		}
	}
	if (rc == 0)
		rc = item_end(e, len_at, "Presentation Context item");
	return rc;
}

/* PS3.7 D.3.3.4 Table D.3-9/D.3-10 */
static int enc_role(const assoc_enc *e, const pacs_pdu_role *r)
{
	size_t len_at;
	int rc;

	if (r->scu_role > 1 || r->scp_role > 1)
		return enc_fail(e->pdu, "SCP/SCU Role Selection roles %u/%u (only 0 or 1)", r->scu_role,
				r->scp_role);
	rc = item_begin(e->b, PACS_PDU_ITEM_ROLE_SELECTION, 0, &len_at);
	if (rc == 0)
		rc = enc_uid_field(e, r->sop_class_uid, "Role Selection SOP Class UID");
	if (rc == 0)
		rc = pacs_buf_add_u8(e->b, r->scu_role);
	if (rc == 0)
		rc = pacs_buf_add_u8(e->b, r->scp_role);
	if (rc == 0)
		rc = item_end(e, len_at, "SCP/SCU Role Selection sub-item");
	return rc;
}

/* PS3.7 D.3.3.5 Table D.3-11 */
static int enc_ext_neg(const assoc_enc *e, const pacs_pdu_ext_neg *x)
{
	size_t len_at;
	int rc;

	if (x->info_len > 0 && x->info == NULL)
		return enc_fail(e->pdu, "SOP Class Extended Negotiation has %zu bytes of information but no pointer",
				x->info_len);
	rc = item_begin(e->b, PACS_PDU_ITEM_SOP_EXT_NEG, 0, &len_at);
	if (rc == 0)
		rc = enc_uid_field(e, x->sop_class_uid, "Extended Negotiation SOP Class UID");
	if (rc == 0 && x->info_len > 0)
		rc = pacs_buf_add(e->b, x->info, x->info_len);
	if (rc == 0)
		rc = item_end(e, len_at, "SOP Class Extended Negotiation sub-item");
	return rc;
}

/* PS3.7 D.3.3.6 Tables D.3-12/D.3-13; sub-item version 0. */
static int enc_common_ext_neg(const assoc_enc *e, const pacs_pdu_common_ext_neg *x)
{
	size_t len_at, list_at, i;
	int rc;

	if (x->n_related > PACS_PDU_MAX_RELATED || (x->n_related > 0 && x->related_sop_classes == NULL))
		return enc_fail(e->pdu, "Common Extended Negotiation has %zu related SOP classes (0 to %u)",
				x->n_related, PACS_PDU_MAX_RELATED);
	rc = item_begin(e->b, PACS_PDU_ITEM_SOP_COMMON_EXT_NEG, 0, &len_at);
	if (rc == 0)
		rc = enc_uid_field(e, x->sop_class_uid, "Common Extended Negotiation SOP Class UID");
	if (rc == 0)
		rc = enc_uid_field(e, x->service_class_uid, "Service Class UID");
	list_at = pacs_buf_len(e->b);
	if (rc == 0)
		rc = pacs_buf_add_u16be(e->b, 0);
	for (i = 0; rc == 0 && i < x->n_related; i++)
		rc = enc_uid_field(e, x->related_sop_classes[i], "Related General SOP Class UID");
	if (rc == 0)
		rc = item_end(e, list_at, "Related General SOP Class list");
	if (rc == 0)
		rc = item_end(e, len_at, "SOP Class Common Extended Negotiation sub-item");
	return rc;
}

/* PS3.7 D.3.3.7.1 Table D.3-14 */
static int enc_identity_rq(const assoc_enc *e, const pacs_pdu_identity *id)
{
	size_t len_at;
	int rc;

	if (id->type > PACS_PDU_IDENTITY_JWT)
		return enc_fail(e->pdu, "User Identity type %u is not 1-5", id->type);
	if (id->primary_len == 0 || id->primary_len > UINT16_MAX || id->primary == NULL)
		return enc_fail(e->pdu, "User Identity primary field is %zu bytes (1 to 65535)",
				id->primary_len);
	if (id->secondary_len > 0 && (id->type != PACS_PDU_IDENTITY_USERNAME_PASSCODE ||
				      id->secondary_len > UINT16_MAX || id->secondary == NULL))
		return enc_fail(e->pdu, "User Identity secondary field of %zu bytes (type 2 only, up to 65535)",
				id->secondary_len);
	rc = item_begin(e->b, PACS_PDU_ITEM_USER_IDENTITY_RQ, 0, &len_at);
	if (rc == 0)
		rc = pacs_buf_add_u8(e->b, id->type);
	if (rc == 0)
		rc = pacs_buf_add_u8(e->b, id->positive_response_requested ? 1 : 0);
	if (rc == 0)
		rc = pacs_buf_add_u16be(e->b, (uint16_t)id->primary_len);
	if (rc == 0)
		rc = pacs_buf_add(e->b, id->primary, id->primary_len);
	if (rc == 0)
		rc = pacs_buf_add_u16be(e->b, (uint16_t)id->secondary_len);
	if (rc == 0 && id->secondary_len > 0)
		rc = pacs_buf_add(e->b, id->secondary, id->secondary_len);
	if (rc == 0)
		rc = item_end(e, len_at, "User Identity sub-item");
	return rc;
}

/* PS3.7 D.3.3.7.2 Table D.3-15 */
static int enc_identity_ac(const assoc_enc *e, const pacs_pdu_user_info *ui)
{
	size_t len_at;
	int rc;

	if (ui->identity_response_len > UINT16_MAX ||
	    (ui->identity_response_len > 0 && ui->identity_response == NULL))
		return enc_fail(e->pdu, "User Identity server response is %zu bytes (0 to 65535)",
				ui->identity_response_len);
	rc = item_begin(e->b, PACS_PDU_ITEM_USER_IDENTITY_AC, 0, &len_at);
	if (rc == 0)
		rc = pacs_buf_add_u16be(e->b, (uint16_t)ui->identity_response_len);
	if (rc == 0 && ui->identity_response_len > 0)
		rc = pacs_buf_add(e->b, ui->identity_response, ui->identity_response_len);
	if (rc == 0)
		rc = item_end(e, len_at, "User Identity sub-item");
	return rc;
}

/* PS3.7 D.3.3.2 Table D.3-3: 1 to 16 ISO 646 G0 characters. */
static int enc_version_name(const assoc_enc *e, const char *name)
{
	size_t n = strnlen(name, PACS_PDU_VERSION_NAME_MAX + 1), i, len_at;
	int rc;

	if (n == 0 || n > PACS_PDU_VERSION_NAME_MAX)
		return enc_fail(e->pdu, "Implementation Version Name must be 1 to 16 characters");
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
			return enc_fail(e->pdu, "Implementation Version Name has the byte %02XH",
					(unsigned char)name[i]);
	rc = item_begin(e->b, PACS_PDU_ITEM_IMPL_VERSION_NAME, 0, &len_at);
	if (rc == 0)
		rc = pacs_buf_add(e->b, name, n);
	if (rc == 0)
		rc = item_end(e, len_at, "Implementation Version Name sub-item");
	return rc;
}

static int check_count(const assoc_enc *e, const void *arr, size_t n, const char *what)
{
	if (n > PACS_PDU_MAX_SOP_ITEMS || (n > 0 && arr == NULL))
		return enc_fail(e->pdu, "%zu %s (0 to %u)", n, what, PACS_PDU_MAX_SOP_ITEMS);
	return 0;
}

/* PS3.8 9.3.2.3 Table 9-16.  Sub-items go in ascending type order: PS3.8
 * notes that some older applications expect it. */
static int enc_user_info(const assoc_enc *e, const pacs_pdu_user_info *ui)
{
	size_t len_at, sub_at, i;
	int rc;

	rc = check_count(e, ui->roles, ui->n_roles, "role selections");
	if (rc == 0)
		rc = check_count(e, ui->ext_neg, ui->n_ext_neg, "extended negotiations");
	if (rc == 0)
		rc = check_count(e, ui->common_ext_neg, ui->n_common_ext_neg, "common extended negotiations");
	if (rc == 0)
		rc = item_begin(e->b, PACS_PDU_ITEM_USER_INFO, 0, &len_at);
	/* PS3.8 D.1 Table D.1-1 */
	if (rc == 0)
		rc = item_begin(e->b, PACS_PDU_ITEM_MAX_LENGTH, 0, &sub_at);
	if (rc == 0)
		rc = pacs_buf_add_u32be(e->b, ui->max_length);
	if (rc == 0)
		rc = item_end(e, sub_at, "Maximum Length sub-item");
	/* PS3.7 D.3.3.2 Table D.3-1: required in every RQ and AC. */
	if (rc == 0)
		rc = enc_uid_item(e, PACS_PDU_ITEM_IMPL_CLASS_UID, ui->impl_class_uid,
				  "Implementation Class UID");
	/* PS3.7 D.3.3.3 Table D.3-7 */
	if (rc == 0 && ui->has_async_window) {
		rc = item_begin(e->b, PACS_PDU_ITEM_ASYNC_WINDOW, 0, &sub_at);
		if (rc == 0)
			rc = pacs_buf_add_u16be(e->b, ui->async_invoked);
		if (rc == 0)
			rc = pacs_buf_add_u16be(e->b, ui->async_performed);
		if (rc == 0)
			rc = item_end(e, sub_at, "Asynchronous Operations Window sub-item");
	}
	for (i = 0; rc == 0 && i < ui->n_roles; i++)
		rc = enc_role(e, &ui->roles[i]);
	if (rc == 0 && ui->impl_version_name != NULL)
		rc = enc_version_name(e, ui->impl_version_name);
	for (i = 0; rc == 0 && i < ui->n_ext_neg; i++)
		rc = enc_ext_neg(e, &ui->ext_neg[i]);
	for (i = 0; rc == 0 && i < ui->n_common_ext_neg; i++)
		rc = enc_common_ext_neg(e, &ui->common_ext_neg[i]);
	if (rc == 0 && e->rq && ui->identity.type != PACS_PDU_IDENTITY_NONE)
		rc = enc_identity_rq(e, &ui->identity);
	if (rc == 0 && !e->rq && ui->has_identity_response)
		rc = enc_identity_ac(e, ui);
	if (rc == 0)
		rc = item_end(e, len_at, "User Information item");
	return rc;
}

/* The PDU header with a placeholder length; *start is where the PDU begins. */
static int pdu_begin(pacs_buf *b, uint8_t type, size_t *start)
{
	int rc;

	*start = pacs_buf_len(b);
	rc = pacs_buf_add_u8(b, type);
	if (rc == 0)
		rc = pacs_buf_add_u8(b, 0);
	if (rc == 0)
		rc = pacs_buf_add_u32be(b, 0);
	return rc;
}

static int pdu_end(pacs_buf *b, size_t start, int rc)
{
	size_t n;

	if (rc == 0) {
		n = pacs_buf_len(b) - start - PACS_PDU_HEADER_LEN;
		if (n > UINT32_MAX)
			rc = arca_error_set(ARCA_ELIMIT, "PDU encoding: %zu bytes do not fit a PDU length", n);
		else
			rc = pacs_buf_set_u32be(b, start + 2, (uint32_t)n);
	}
	if (rc < 0)
		pacs_buf_truncate(b, start);
	return rc;
}

/* PS3.8 9.3.2 Table 9-11 and 9.3.3 Table 9-17. */
static int enc_assoc(pacs_buf *b, const pacs_pdu_assoc *a, bool rq)
{
	assoc_enc e = { b, pacs_pdu_type_name(rq ? PACS_PDU_ASSOCIATE_RQ : PACS_PDU_ASSOCIATE_AC), rq };
	uint8_t seen[32] = { 0 };
	size_t start, i;
	int rc;

	if (a->n_pctx == 0 || a->n_pctx > PACS_PDU_MAX_PCTX || a->pctx == NULL)
		return enc_fail(e.pdu, "%zu presentation contexts (1 to %u)", a->n_pctx, PACS_PDU_MAX_PCTX);
	for (i = 0; i < a->n_pctx; i++) {
		uint8_t id = a->pctx[i].id;

		if (seen[id / 8] & (1u << (id % 8)))
			return enc_fail(e.pdu, "Presentation Context ID %u appears twice", id);
		seen[id / 8] |= (uint8_t)(1u << (id % 8));
	}
	rc = pdu_begin(b, rq ? PACS_PDU_ASSOCIATE_RQ : PACS_PDU_ASSOCIATE_AC, &start);
	if (rc == 0)
		rc = pacs_buf_add_u16be(b, PACS_PDU_PROTOCOL_VERSION);
	if (rc == 0)
		rc = pacs_buf_add_u16be(b, 0);
	if (rc == 0)
		rc = enc_ae(&e, a->called_ae, "Called-AE-title");
	if (rc == 0)
		rc = enc_ae(&e, a->calling_ae, "Calling-AE-title");
	/* Bytes 43-74: zero in an RQ, echoed from the RQ in an AC. */
	if (rc == 0)
		rc = rq ? pacs_buf_add_fill(b, 0, sizeof(a->reserved))
			: pacs_buf_add(b, a->reserved, sizeof(a->reserved));
	if (rc == 0)
		rc = enc_uid_item(&e, PACS_PDU_ITEM_APP_CONTEXT,
				  a->app_context != NULL ? a->app_context : PACS_PDU_APP_CONTEXT,
				  "Application Context Name");
	for (i = 0; rc == 0 && i < a->n_pctx; i++)
		rc = enc_pctx(&e, &a->pctx[i]);
	if (rc == 0)
		rc = enc_user_info(&e, &a->user_info);
	return pdu_end(b, start, rc);
}

int pacs_pdu_encode_assoc_rq(pacs_buf *out, const pacs_pdu_assoc *a)
{
	return enc_assoc(out, a, true);
}

int pacs_pdu_encode_assoc_ac(pacs_buf *out, const pacs_pdu_assoc *a)
{
	return enc_assoc(out, a, false);
}

/* A PDU whose body is 4 bytes (PS3.8 9.3.4, 9.3.6-9.3.8). */
static int enc_fixed4(pacs_buf *b, uint8_t type, const uint8_t body[4])
{
	size_t start;
	int rc = pdu_begin(b, type, &start);

	if (rc == 0)
		rc = pacs_buf_add(b, body, 4);
	return pdu_end(b, start, rc);
}

/* PS3.8 9.3.4 Table 9-21 */
int pacs_pdu_encode_reject(pacs_buf *out, const pacs_pdu_reject *rj)
{
	const uint8_t body[4] = { 0, rj->result, rj->source, rj->reason };

	if (rj->result != PACS_PDU_RJ_PERMANENT && rj->result != PACS_PDU_RJ_TRANSIENT)
		return enc_fail("A-ASSOCIATE-RJ", "result %u is not 1 or 2", rj->result);
	if (rj->source < PACS_PDU_RJ_SOURCE_USER || rj->source > PACS_PDU_RJ_SOURCE_PRESENTATION)
		return enc_fail("A-ASSOCIATE-RJ", "source %u is not 1-3", rj->source);
	return enc_fixed4(out, PACS_PDU_ASSOCIATE_RJ, body);
}

/* PS3.8 9.3.8 Table 9-26: the reason of a user abort is sent as 00H. */
int pacs_pdu_encode_abort(pacs_buf *out, const pacs_pdu_abort *ab)
{
	uint8_t body[4] = { 0, 0, ab->source, 0 };

	if (ab->source == PACS_PDU_ABORT_SOURCE_PROVIDER) {
		if (ab->reason > PACS_PDU_ABORT_INVALID_PDU_PARAMETER_VALUE || ab->reason == 3)
			return enc_fail("A-ABORT", "provider reason %u is not 0-2 or 4-6", ab->reason);
		body[3] = ab->reason;
	} else if (ab->source != PACS_PDU_ABORT_SOURCE_USER) {
		return enc_fail("A-ABORT", "source %u is not 0 or 2", ab->source);
	}
	return enc_fixed4(out, PACS_PDU_ABORT, body);
}

/* PS3.8 9.3.6 Table 9-24, 9.3.7 Table 9-25 */
int pacs_pdu_encode_release_rq(pacs_buf *out)
{
	static const uint8_t body[4] = { 0, 0, 0, 0 };

	return enc_fixed4(out, PACS_PDU_RELEASE_RQ, body);
}

int pacs_pdu_encode_release_rp(pacs_buf *out)
{
	static const uint8_t body[4] = { 0, 0, 0, 0 };

	return enc_fixed4(out, PACS_PDU_RELEASE_RP, body);
}

static int check_pdv(uint8_t pctx_id, uint8_t flags, size_t len)
{
	if (pctx_id % 2 == 0)
		return enc_fail("P-DATA-TF", "presentation context ID %u is not odd", pctx_id);
	if (flags & ~(unsigned)(PACS_PDV_COMMAND | PACS_PDV_LAST))
		return enc_fail("P-DATA-TF", "message control header flags %02XH use bits 2-7", flags);
	if (len > UINT32_MAX - 6u)
		return arca_error_set(ARCA_ELIMIT, "P-DATA-TF encoding: a fragment of %zu bytes does not fit a PDU",
				      len);
	return 0;
}

/* PS3.8 9.3.5 Table 9-22, 9.3.5.1 Table 9-23, E.2 */
int pacs_pdu_encode_pdata(pacs_buf *out, const pacs_pdv *pdvs, size_t n)
{
	size_t start, i;
	int rc;

	if (n == 0 || pdvs == NULL)
		return enc_fail("P-DATA-TF", "no PDV to send");
	for (i = 0; i < n; i++) {
		rc = check_pdv(pdvs[i].pctx_id, pdvs[i].flags, pdvs[i].len);
		if (rc < 0)
			return rc;
		if (pdvs[i].len > 0 && pdvs[i].data == NULL)
			return enc_fail("P-DATA-TF", "PDV %zu has %zu bytes but no data", i, pdvs[i].len);
	}
	rc = pdu_begin(out, PACS_PDU_P_DATA_TF, &start);
	for (i = 0; rc == 0 && i < n; i++) {
		rc = pacs_buf_add_u32be(out, (uint32_t)(pdvs[i].len + 2));
		if (rc == 0)
			rc = pacs_buf_add_u8(out, pdvs[i].pctx_id);
		if (rc == 0)
			rc = pacs_buf_add_u8(out, pdvs[i].flags);
		if (rc == 0)
			rc = pacs_buf_add(out, pdvs[i].data, pdvs[i].len);
	}
	return pdu_end(out, start, rc);
}

int pacs_pdu_pdata_single_header(uint8_t hdr[PACS_PDU_PDATA_SINGLE_HEADER_LEN], uint8_t pctx_id,
				 uint8_t flags, size_t fragment_len)
{
	uint32_t pdu_len, item_len;
	int rc = check_pdv(pctx_id, flags, fragment_len);

	if (rc < 0)
		return rc;
	pdu_len = (uint32_t)(fragment_len + 6);
	item_len = (uint32_t)(fragment_len + 2);
	hdr[0] = PACS_PDU_P_DATA_TF;
	hdr[1] = 0;
	hdr[2] = (uint8_t)(pdu_len >> 24);
	hdr[3] = (uint8_t)(pdu_len >> 16);
	hdr[4] = (uint8_t)(pdu_len >> 8);
	hdr[5] = (uint8_t)pdu_len;
	hdr[6] = (uint8_t)(item_len >> 24);
	hdr[7] = (uint8_t)(item_len >> 16);
	hdr[8] = (uint8_t)(item_len >> 8);
	hdr[9] = (uint8_t)item_len;
	hdr[10] = pctx_id;
	hdr[11] = flags;
	return 0;
}
