/* pacs_assoc_accept.c - the acceptor's answer to an A-ASSOCIATE-RQ: AE
 * titles, user identity, presentation contexts, roles and the user
 * information of the A-ASSOCIATE-AC (see pacs_assoc.h for the rules). */
#include "pacs_assoc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_arena.h"
#include "pacs_ts.h"
#include "pacs_ul.h"
#include "pacs_write.h"

#define SUMMARY_MAX 200u
/* PS3.7 D.3.3.7.2: the server response length is a 16-bit field. */
#define IDENTITY_RESPONSE_MAX 65535u

struct pacs_assoc {
	pacs_arena arena;
	bool accepted;
	pacs_pdu_assoc ac;     /* pointers into the arena */
	pacs_pdu_reject rj;
	pacs_assoc_pctx *pctx; /* arena, n_pctx */
	size_t n_pctx;
	uint32_t peer_max_pdu;
	char calling_ae[PACS_PDU_AE_MAX + 1];
	char called_ae[PACS_PDU_AE_MAX + 1];
	bool identity_accepted;
	char summary[SUMMARY_MAX];
};

/* ------------------------------------------------------------ defaults */

#define STORAGE(uid) { uid, PACS_ASSOC_ROLE_SCP | PACS_ASSOC_ROLE_SCU }
#define QR(uid) { uid, PACS_ASSOC_ROLE_SCP }

/* UIDs from PS3.6 Annex A (checked against DCMTK's dcuid.h). */
static const pacs_assoc_sop default_sops[] = {
	{ "1.2.840.10008.1.1", PACS_ASSOC_ROLE_SCP | PACS_ASSOC_ROLE_SCU }, /* Verification */
	STORAGE("1.2.840.10008.5.1.4.1.1.1"),       /* CR Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.1.1"),     /* Digital X-Ray, For Presentation */
	STORAGE("1.2.840.10008.5.1.4.1.1.1.1.1"),   /* Digital X-Ray, For Processing */
	STORAGE("1.2.840.10008.5.1.4.1.1.1.2"),     /* Digital Mammography, For Presentation */
	STORAGE("1.2.840.10008.5.1.4.1.1.1.2.1"),   /* Digital Mammography, For Processing */
	STORAGE("1.2.840.10008.5.1.4.1.1.2"),       /* CT Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.2.1"),     /* Enhanced CT Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.3.1"),     /* Ultrasound Multi-frame Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.4"),       /* MR Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.4.1"),     /* Enhanced MR Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.6.1"),     /* Ultrasound Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.7"),       /* Secondary Capture Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.7.1"),     /* Multi-frame Single Bit SC */
	STORAGE("1.2.840.10008.5.1.4.1.1.7.2"),     /* Multi-frame Grayscale Byte SC */
	STORAGE("1.2.840.10008.5.1.4.1.1.7.3"),     /* Multi-frame Grayscale Word SC */
	STORAGE("1.2.840.10008.5.1.4.1.1.7.4"),     /* Multi-frame True Color SC */
	STORAGE("1.2.840.10008.5.1.4.1.1.11.1"),    /* Grayscale Softcopy Presentation State */
	STORAGE("1.2.840.10008.5.1.4.1.1.12.1"),    /* X-Ray Angiographic Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.12.2"),    /* X-Ray Radiofluoroscopic Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.13.1.3"),  /* Breast Tomosynthesis Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.20"),      /* Nuclear Medicine Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.66.4"),    /* Segmentation */
	STORAGE("1.2.840.10008.5.1.4.1.1.77.1.1"),  /* VL Endoscopic Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.77.1.4"),  /* VL Photographic Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.88.11"),   /* Basic Text SR */
	STORAGE("1.2.840.10008.5.1.4.1.1.88.22"),   /* Enhanced SR */
	STORAGE("1.2.840.10008.5.1.4.1.1.88.33"),   /* Comprehensive SR */
	STORAGE("1.2.840.10008.5.1.4.1.1.88.59"),   /* Key Object Selection Document */
	STORAGE("1.2.840.10008.5.1.4.1.1.104.1"),   /* Encapsulated PDF */
	STORAGE("1.2.840.10008.5.1.4.1.1.128"),     /* Positron Emission Tomography Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.481.1"),   /* RT Image */
	STORAGE("1.2.840.10008.5.1.4.1.1.481.2"),   /* RT Dose */
	STORAGE("1.2.840.10008.5.1.4.1.1.481.3"),   /* RT Structure Set */
	STORAGE("1.2.840.10008.5.1.4.1.1.481.5"),   /* RT Plan */
	QR("1.2.840.10008.5.1.4.1.2.1.1"),          /* Patient Root Q/R - FIND */
	QR("1.2.840.10008.5.1.4.1.2.1.2"),          /* Patient Root Q/R - MOVE */
	QR("1.2.840.10008.5.1.4.1.2.1.3"),          /* Patient Root Q/R - GET */
	QR("1.2.840.10008.5.1.4.1.2.2.1"),          /* Study Root Q/R - FIND */
	QR("1.2.840.10008.5.1.4.1.2.2.2"),          /* Study Root Q/R - MOVE */
	QR("1.2.840.10008.5.1.4.1.2.2.3"),          /* Study Root Q/R - GET */
};
#undef STORAGE
#undef QR

static const char *const default_ts[] = {
	PACS_TS_EXPLICIT_LE,
	PACS_TS_IMPLICIT_LE,
	PACS_TS_DEFLATED_LE,
	PACS_TS_EXPLICIT_BE,
	PACS_TS_JPEG_BASELINE,
	PACS_TS_JPEG_EXTENDED,
	PACS_TS_JPEG_LOSSLESS_SV1,
	PACS_TS_JPEG_LOSSLESS,
	PACS_TS_JPEGLS_LOSSLESS,
	PACS_TS_JPEGLS_NEAR,
	PACS_TS_J2K_LOSSLESS,
	PACS_TS_J2K,
	PACS_TS_RLE,
};

const pacs_assoc_sop *pacs_assoc_default_sops(size_t *n)
{
	*n = sizeof(default_sops) / sizeof(default_sops[0]);
	return default_sops;
}

const char *const *pacs_assoc_default_transfer_syntaxes(size_t *n)
{
	*n = sizeof(default_ts) / sizeof(default_ts[0]);
	return default_ts;
}

void pacs_assoc_policy_init(pacs_assoc_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->ae_title = "ARCA";
	p->check_called_ae = true;
	p->sops = pacs_assoc_default_sops(&p->n_sops);
	p->transfer_syntaxes = pacs_assoc_default_transfer_syntaxes(&p->n_transfer_syntaxes);
	p->max_pdu_length = PACS_UL_DEFAULT_MAX_PDATA;
	p->async_invoked = 1;
	p->async_performed = 1;
	p->relational_queries = true;
}

/* ------------------------------------------------------------ helpers */

static void summary(pacs_assoc *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void summary(pacs_assoc *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->summary, sizeof(a->summary), fmt, ap);
	va_end(ap);
}

static void reject(pacs_assoc *a, uint8_t result, uint8_t source, uint8_t reason)
{
	a->accepted = false;
	a->rj.result = result;
	a->rj.source = source;
	a->rj.reason = reason;
}

static const char *arena_strdup(pacs_assoc *a, const char *s)
{
	return pacs_arena__memdup(&a->arena, s, strlen(s) + 1);
}

static const pacs_assoc_sop *find_sop(const pacs_assoc_policy *p, const char *uid)
{
	size_t i;

	for (i = 0; i < p->n_sops; i++)
		if (p->sops[i].uid != NULL && strcmp(p->sops[i].uid, uid) == 0)
			return &p->sops[i];
	return NULL;
}

static const pacs_pdu_role *find_role_item(const pacs_pdu_assoc *rq, const char *uid)
{
	size_t i;

	for (i = 0; i < rq->user_info.n_roles; i++)
		if (rq->user_info.roles[i].sop_class_uid != NULL &&
		    strcmp(rq->user_info.roles[i].sop_class_uid, uid) == 0)
			return &rq->user_info.roles[i];
	return NULL;
}

/* PS3.7 D.3.3.4: the roles the requestor ends up with for sop. */
static void negotiate_roles(const pacs_pdu_assoc *rq, const pacs_assoc_sop *sop, bool *peer_scu,
			    bool *peer_scp)
{
	const pacs_pdu_role *item = find_role_item(rq, sop->uid);

	if (item == NULL) {
		/* default: requestor SCU, acceptor SCP */
		*peer_scu = (sop->roles & PACS_ASSOC_ROLE_SCP) != 0;
		*peer_scp = false;
		return;
	}
	*peer_scu = item->scu_role == 1 && (sop->roles & PACS_ASSOC_ROLE_SCP) != 0;
	*peer_scp = item->scp_role == 1 && (sop->roles & PACS_ASSOC_ROLE_SCU) != 0;
}

/* The first transfer syntax in OUR order that the requestor proposed. */
static const char *choose_ts(const pacs_assoc_policy *p, const pacs_pdu_pctx *pc)
{
	size_t i, j;

	for (i = 0; i < p->n_transfer_syntaxes; i++)
		for (j = 0; j < pc->n_transfer_syntaxes; j++)
			if (pc->transfer_syntaxes[j] != NULL &&
			    strcmp(p->transfer_syntaxes[i], pc->transfer_syntaxes[j]) == 0)
				return p->transfer_syntaxes[i];
	return NULL;
}

/* PS3.7 D.3.3.3: our window, lowered to the requestor's (0 = unlimited). */
static uint16_t window(uint16_t ours, uint16_t theirs)
{
	if (ours == 0)
		return theirs;
	if (theirs != 0 && theirs < ours)
		return theirs;
	return ours;
}

static bool calling_allowed(const pacs_assoc_policy *p, const char *calling)
{
	size_t i;

	if (p->calling_aes == NULL)
		return true;
	for (i = 0; i < p->n_calling_aes; i++)
		if (p->calling_aes[i] != NULL && strcmp(p->calling_aes[i], calling) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ checks */

/* PS3.8 Table 9-21 reasons of the whole association; true if rejected. */
static bool check_association(pacs_assoc *a, const pacs_pdu_assoc *rq, const pacs_assoc_policy *p)
{
	if ((rq->protocol_version & PACS_PDU_PROTOCOL_VERSION) == 0) {
		reject(a, PACS_PDU_RJ_PERMANENT, PACS_PDU_RJ_SOURCE_ACSE,
		       PACS_PDU_RJ_ACSE_PROTOCOL_VERSION_NOT_SUPPORTED);
		summary(a, "protocol version 0x%04x does not include version 1", rq->protocol_version);
		return true;
	}
	if (rq->app_context == NULL || strcmp(rq->app_context, PACS_PDU_APP_CONTEXT) != 0) {
		reject(a, PACS_PDU_RJ_PERMANENT, PACS_PDU_RJ_SOURCE_USER,
		       PACS_PDU_RJ_USER_APP_CONTEXT_NOT_SUPPORTED);
		summary(a, "application context name \"%s\" is not the DICOM one",
			rq->app_context != NULL ? rq->app_context : "");
		return true;
	}
	if (p->check_called_ae && strcmp(rq->called_ae, p->ae_title) != 0) {
		reject(a, PACS_PDU_RJ_PERMANENT, PACS_PDU_RJ_SOURCE_USER,
		       PACS_PDU_RJ_USER_CALLED_AE_NOT_RECOGNIZED);
		summary(a, "called AE title \"%s\" is not ours (\"%s\")", rq->called_ae, p->ae_title);
		return true;
	}
	if (!calling_allowed(p, rq->calling_ae)) {
		reject(a, PACS_PDU_RJ_PERMANENT, PACS_PDU_RJ_SOURCE_USER,
		       PACS_PDU_RJ_USER_CALLING_AE_NOT_RECOGNIZED);
		summary(a, "calling AE title \"%s\" is not allowed", rq->calling_ae);
		return true;
	}
	return false;
}

/* PS3.7 D.3.3.7; true if rejected, or *rc < 0 on no memory. */
static bool check_identity(pacs_assoc *a, const pacs_pdu_assoc *rq, const pacs_assoc_policy *p,
			   int *rc)
{
	const pacs_pdu_identity *id = &rq->user_info.identity;
	pacs_buf resp;
	int verdict;

	*rc = 0;
	if (p->identity_fn == NULL)
		return false; /* not supported: the sub-item is ignored */
	pacs_buf_init(&resp, IDENTITY_RESPONSE_MAX);
	verdict = p->identity_fn(p->identity_ctx, rq->calling_ae, id, &resp);
	if (verdict <= 0) {
		if (verdict < 0) {
			reject(a, PACS_PDU_RJ_TRANSIENT, PACS_PDU_RJ_SOURCE_USER, PACS_PDU_RJ_USER_NO_REASON);
			summary(a, "user identity check failed: %s", arca_error_last());
		} else {
			reject(a, PACS_PDU_RJ_PERMANENT, PACS_PDU_RJ_SOURCE_USER, PACS_PDU_RJ_USER_NO_REASON);
			summary(a, "user identity (type %u) refused", id->type);
		}
		pacs_buf_free(&resp);
		return true;
	}
	a->identity_accepted = id->type != PACS_PDU_IDENTITY_NONE;
	if (a->identity_accepted && id->positive_response_requested) {
		a->ac.user_info.has_identity_response = true;
		a->ac.user_info.identity_response_len = pacs_buf_len(&resp);
		if (pacs_buf_len(&resp) > 0) {
			a->ac.user_info.identity_response =
				pacs_arena__memdup(&a->arena, pacs_buf_data(&resp), pacs_buf_len(&resp));
			if (a->ac.user_info.identity_response == NULL)
				*rc = arca_error_set(ARCA_ENOMEM, "association: no memory for the identity response");
		}
	}
	pacs_buf_free(&resp);
	return false;
}

/* ------------------------------------------------------------ contexts */

/* One presentation context, PS3.8 9.3.3.2 Table 9-18. */
static int negotiate_pctx(pacs_assoc *a, const pacs_pdu_assoc *rq, const pacs_assoc_policy *p,
			  size_t i, pacs_pdu_pctx *out)
{
	const pacs_pdu_pctx *pc = &rq->pctx[i];
	pacs_assoc_pctx *n = &a->pctx[i];
	const pacs_assoc_sop *sop;
	const char *ts = NULL;

	n->id = pc->id;
	n->abstract_syntax = arena_strdup(a, pc->abstract_syntax != NULL ? pc->abstract_syntax : "");
	if (n->abstract_syntax == NULL)
		return arca_error_set(ARCA_ENOMEM, "association: no memory for the contexts");
	sop = pc->abstract_syntax != NULL ? find_sop(p, pc->abstract_syntax) : NULL;
	if (sop == NULL) {
		n->result = PACS_PDU_PCTX_ABSTRACT_SYNTAX_NOT_SUPPORTED;
	} else if ((ts = choose_ts(p, pc)) == NULL) {
		n->result = PACS_PDU_PCTX_TRANSFER_SYNTAXES_NOT_SUPPORTED;
	} else {
		negotiate_roles(rq, sop, &n->peer_scu, &n->peer_scp);
		n->result = n->peer_scu || n->peer_scp ? PACS_PDU_PCTX_ACCEPTANCE
						       : PACS_PDU_PCTX_USER_REJECTION;
	}
	if (n->result == PACS_PDU_PCTX_ACCEPTANCE) {
		n->transfer_syntax = arena_strdup(a, ts);
		if (n->transfer_syntax == NULL)
			return arca_error_set(ARCA_ENOMEM, "association: no memory for the contexts");
	} else {
		n->peer_scu = n->peer_scp = false;
	}
	out->id = n->id;
	out->result = n->result;
	/* NULL when rejected: the codec sends the empty sub-item PS3.8
	 * 9.3.3.2 allows ("not significant") */
	out->transfer_syntax = n->transfer_syntax;
	return 0;
}

/* Role Selection answers (PS3.7 D.3.3.4.2) for SOP classes of accepted
 * contexts only. */
static int answer_roles(pacs_assoc *a, const pacs_pdu_assoc *rq)
{
	const pacs_pdu_user_info *ui = &rq->user_info;
	pacs_pdu_role *roles;
	size_t i, n = 0;

	if (ui->n_roles == 0)
		return 0;
	roles = pacs_arena__alloc(&a->arena, ui->n_roles * sizeof(*roles));
	if (roles == NULL)
		return arca_error_set(ARCA_ENOMEM, "association: no memory for the role answers");
	for (i = 0; i < ui->n_roles; i++) {
		const pacs_assoc_pctx *pc;

		if (ui->roles[i].sop_class_uid == NULL)
			continue;
		pc = pacs_assoc_pctx_accepted(a, ui->roles[i].sop_class_uid);
		if (pc == NULL)
			continue;
		roles[n].sop_class_uid = pc->abstract_syntax;
		roles[n].scu_role = pc->peer_scu ? 1 : 0;
		roles[n].scp_role = pc->peer_scp ? 1 : 0;
		n++;
	}
	a->ac.user_info.roles = roles;
	a->ac.user_info.n_roles = n;
	return 0;
}

/* PS3.4 C.6.1.3, C.6.2.3 (PS3.6 Annex A): the FIND models whose Service
 * Class Application Information is Table C.5-1. */
static bool is_find_model(const char *uid)
{
	return strcmp(uid, "1.2.840.10008.5.1.4.1.2.1.1") == 0 || /* Patient Root Q/R - FIND */
	       strcmp(uid, "1.2.840.10008.5.1.4.1.2.2.1") == 0;   /* Study Root Q/R - FIND */
}

/* SOP Class Extended Negotiation answers (PS3.7 D.3.3.5, PS3.4 C.5.1.1.2
 * Table C.5-2) for the FIND models of accepted contexts: as many bytes as
 * asked, at most PACS_ASSOC_FIND_EXT_MAX; byte 1 relational-queries is 1
 * when the requestor asked for it and the policy allows it; the other
 * options are 0 (not supported).  Items of other SOP classes, later
 * duplicates and items without application information are not answered:
 * the requestor then takes the options as not supported. */
static int answer_ext_neg(pacs_assoc *a, const pacs_pdu_assoc *rq, const pacs_assoc_policy *p)
{
	const pacs_pdu_user_info *ui = &rq->user_info;
	pacs_pdu_ext_neg *ext;
	size_t i, j, n = 0;

	if (ui->n_ext_neg == 0)
		return 0;
	ext = pacs_arena__alloc(&a->arena, ui->n_ext_neg * sizeof(*ext));
	if (ext == NULL)
		return arca_error_set(ARCA_ENOMEM, "association: no memory for the extended negotiation answers");
	for (i = 0; i < ui->n_ext_neg; i++) {
		const pacs_pdu_ext_neg *x = &ui->ext_neg[i];
		const pacs_assoc_pctx *pc;
		uint8_t *info;
		size_t len;
		bool dup = false, relational;

		if (x->sop_class_uid == NULL || x->info_len == 0 || !is_find_model(x->sop_class_uid))
			continue;
		pc = pacs_assoc_pctx_accepted(a, x->sop_class_uid);
		if (pc == NULL)
			continue;
		for (j = 0; j < n && !dup; j++)
			dup = strcmp(ext[j].sop_class_uid, pc->abstract_syntax) == 0;
		if (dup)
			continue; /* PS3.7 D.3.3.5: one sub-item per SOP class */
		len = x->info_len < PACS_ASSOC_FIND_EXT_MAX ? x->info_len : PACS_ASSOC_FIND_EXT_MAX;
		info = pacs_arena__alloc(&a->arena, len);
		if (info == NULL)
			return arca_error_set(ARCA_ENOMEM, "association: no memory for the extended negotiation answers");
		memset(info, 0, len);
		relational = p->relational_queries && x->info[0] == 1;
		info[0] = relational ? 1 : 0;
		/* every accepted context of the SOP class (one per transfer
		 * syntax, say) carries the outcome */
		for (j = 0; j < a->n_pctx; j++)
			if (a->pctx[j].result == PACS_PDU_PCTX_ACCEPTANCE &&
			    strcmp(a->pctx[j].abstract_syntax, pc->abstract_syntax) == 0)
				a->pctx[j].relational = relational;
		ext[n].sop_class_uid = pc->abstract_syntax;
		ext[n].info = info;
		ext[n].info_len = len;
		n++;
	}
	a->ac.user_info.ext_neg = ext;
	a->ac.user_info.n_ext_neg = n;
	return 0;
}

static int build_ac(pacs_assoc *a, const pacs_pdu_assoc *rq, const pacs_assoc_policy *p)
{
	pacs_pdu_pctx *pctx;
	size_t i, accepted = 0;
	int rc;

	a->n_pctx = rq->n_pctx;
	a->pctx = pacs_arena__alloc(&a->arena, (rq->n_pctx ? rq->n_pctx : 1) * sizeof(*a->pctx));
	pctx = pacs_arena__alloc(&a->arena, (rq->n_pctx ? rq->n_pctx : 1) * sizeof(*pctx));
	if (a->pctx == NULL || pctx == NULL)
		return arca_error_set(ARCA_ENOMEM, "association: no memory for the contexts");
	memset(a->pctx, 0, rq->n_pctx * sizeof(*a->pctx));
	memset(pctx, 0, rq->n_pctx * sizeof(*pctx));
	for (i = 0; i < rq->n_pctx; i++) {
		rc = negotiate_pctx(a, rq, p, i, &pctx[i]);
		if (rc < 0)
			return rc;
		if (a->pctx[i].result == PACS_PDU_PCTX_ACCEPTANCE)
			accepted++;
	}
	/* PS3.8 9.3.3: the AC echoes the RQ's AE titles and reserved bytes */
	a->ac.protocol_version = PACS_PDU_PROTOCOL_VERSION;
	memcpy(a->ac.called_ae, rq->called_ae, sizeof(a->ac.called_ae));
	memcpy(a->ac.calling_ae, rq->calling_ae, sizeof(a->ac.calling_ae));
	memcpy(a->ac.reserved, rq->reserved, sizeof(a->ac.reserved));
	a->ac.app_context = PACS_PDU_APP_CONTEXT;
	a->ac.pctx = pctx;
	a->ac.n_pctx = rq->n_pctx;
	/* PS3.8 D.1, PS3.7 D.3.3.2 */
	a->ac.user_info.max_length = p->max_pdu_length != 0 ? p->max_pdu_length : PACS_UL_DEFAULT_MAX_PDATA;
	a->ac.user_info.impl_class_uid =
		p->impl_class_uid != NULL ? p->impl_class_uid : PACS_IMPLEMENTATION_CLASS_UID;
	a->ac.user_info.impl_version_name =
		p->impl_version_name != NULL ? p->impl_version_name : PACS_IMPLEMENTATION_VERSION;
	a->ac.user_info.impl_class_uid = arena_strdup(a, a->ac.user_info.impl_class_uid);
	a->ac.user_info.impl_version_name = arena_strdup(a, a->ac.user_info.impl_version_name);
	if (a->ac.user_info.impl_class_uid == NULL || a->ac.user_info.impl_version_name == NULL)
		return arca_error_set(ARCA_ENOMEM, "association: no memory for the AC");
	/* PS3.7 D.3.3.3: answered only when asked */
	if (rq->user_info.has_async_window) {
		a->ac.user_info.has_async_window = true;
		a->ac.user_info.async_invoked = window(p->async_invoked, rq->user_info.async_invoked);
		a->ac.user_info.async_performed = window(p->async_performed, rq->user_info.async_performed);
	}
	rc = answer_roles(a, rq);
	if (rc == 0)
		rc = answer_ext_neg(a, rq, p);
	if (rc < 0)
		return rc;
	a->accepted = true;
	summary(a, "%zu of %zu presentation contexts accepted", accepted, rq->n_pctx);
	return 0;
}

/* ------------------------------------------------------------ public */

int pacs_assoc_negotiate(pacs_assoc **out, const pacs_pdu_assoc *rq, const pacs_assoc_policy *policy)
{
	pacs_assoc *a;
	int rc = 0;

	*out = NULL;
	if (rq == NULL || policy == NULL || policy->ae_title == NULL)
		return arca_error_set(ARCA_EINVAL, "association: negotiate needs the RQ and a policy with an AE title");
	if (rq->n_pctx > 0 && rq->pctx == NULL)
		return arca_error_set(ARCA_EINVAL, "association: RQ with %zu contexts and no array", rq->n_pctx);
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return arca_error_set(ARCA_ENOMEM, "association: no memory");
	pacs_arena__init(&a->arena);
	memcpy(a->calling_ae, rq->calling_ae, sizeof(a->calling_ae));
	memcpy(a->called_ae, rq->called_ae, sizeof(a->called_ae));
	a->calling_ae[PACS_PDU_AE_MAX] = a->called_ae[PACS_PDU_AE_MAX] = '\0';
	a->peer_max_pdu = rq->user_info.max_length;

	if (check_association(a, rq, policy)) {
		/* rejected */
	} else if (rq->n_pctx == 0) {
		/* PS3.8 9.3.2: one or more Presentation Context items */
		reject(a, PACS_PDU_RJ_PERMANENT, PACS_PDU_RJ_SOURCE_USER, PACS_PDU_RJ_USER_NO_REASON);
		summary(a, "no presentation context proposed");
	} else if (!check_identity(a, rq, policy, &rc) && rc == 0) {
		rc = build_ac(a, rq, policy);
	}
	if (rc < 0) {
		pacs_assoc_free(a);
		return rc;
	}
	if (!a->accepted) {
		a->n_pctx = 0; /* a rejection negotiates nothing */
		memset(&a->ac, 0, sizeof(a->ac));
	}
	*out = a;
	return 0;
}

void pacs_assoc_free(pacs_assoc *a)
{
	if (a == NULL)
		return;
	pacs_arena__release(&a->arena);
	free(a);
}

bool pacs_assoc_is_accepted(const pacs_assoc *a)
{
	return a->accepted;
}

const pacs_pdu_assoc *pacs_assoc_ac(const pacs_assoc *a)
{
	return a->accepted ? &a->ac : NULL;
}

const pacs_pdu_reject *pacs_assoc_rj(const pacs_assoc *a)
{
	return a->accepted ? NULL : &a->rj;
}

const char *pacs_assoc_summary(const pacs_assoc *a)
{
	return a->summary;
}

size_t pacs_assoc_pctx_count(const pacs_assoc *a)
{
	return a->n_pctx;
}

const pacs_assoc_pctx *pacs_assoc_pctx_at(const pacs_assoc *a, size_t i)
{
	return i < a->n_pctx ? &a->pctx[i] : NULL;
}

const pacs_assoc_pctx *pacs_assoc_pctx_find(const pacs_assoc *a, uint8_t id)
{
	size_t i;

	for (i = 0; i < a->n_pctx; i++)
		if (a->pctx[i].id == id)
			return &a->pctx[i];
	return NULL;
}

const pacs_assoc_pctx *pacs_assoc_pctx_accepted(const pacs_assoc *a, const char *abstract_syntax)
{
	size_t i;

	for (i = 0; i < a->n_pctx; i++)
		if (a->pctx[i].result == PACS_PDU_PCTX_ACCEPTANCE &&
		    strcmp(a->pctx[i].abstract_syntax, abstract_syntax) == 0)
			return &a->pctx[i];
	return NULL;
}

uint32_t pacs_assoc_peer_max_pdu(const pacs_assoc *a)
{
	return a->peer_max_pdu;
}

const char *pacs_assoc_calling_ae(const pacs_assoc *a)
{
	return a->calling_ae;
}

const char *pacs_assoc_called_ae(const pacs_assoc *a)
{
	return a->called_ae;
}

bool pacs_assoc_identity_accepted(const pacs_assoc *a)
{
	return a->identity_accepted;
}
