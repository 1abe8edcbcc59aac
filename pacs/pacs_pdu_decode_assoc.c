/* pacs_pdu_decode_assoc.c - A-ASSOCIATE-RQ and A-ASSOCIATE-AC decoders
 * (PS3.8 9.3.2 and 9.3.3; user information sub-items PS3.8 D.1 and
 * PS3.7 D.3.3).
 *
 * The body is read through bounded cursors; every item and sub-item gets a
 * sub-cursor cut to its declared length, so a length that runs past its
 * container is caught where it is read.  Arrays are sized from counts taken
 * over the same bytes and checked against the limits of pacs_pdu.h before
 * anything is allocated.  Everything the decoded struct points to lives in
 * one arena owned by it. */
#include "pacs_pdu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_arena.h"
#include "pacs_pdu_priv.h"

/* A decoded PDU and the arena behind its pointers.  The public struct is
 * the first member, so pacs_pdu_assoc_free() can get back to the whole. */
typedef struct assoc_owned {
	pacs_pdu_assoc a;
	pacs_arena arena;
} assoc_owned;

typedef struct assoc_dec {
	pacs_arena *arena;
	const char *pdu; /* "A-ASSOCIATE-RQ" or "A-ASSOCIATE-AC", for messages */
	bool rq;
	uint8_t pctx_seen[32]; /* bitmap of presentation context IDs */
} assoc_dec;

/* PDU offset of the first variable item (bytes 75- of Table 9-11). */
#define VARIABLE_ITEMS_OFF (PACS_PDU_HEADER_LEN + PACS_PDU_ASSOC_FIXED_LEN)

/* One item or sub-item header (PS3.8 9.3.1: type, reserved, 16-bit length). */
typedef struct item_hdr {
	uint8_t type;
	uint8_t byte2; /* reserved, except the sub-item version of 57H */
	uint16_t len;
	size_t off;    /* offset of the item's first byte in the PDU */
} item_hdr;

static int dec_fail(const assoc_dec *d, int code, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int dec_fail(const assoc_dec *d, int code, size_t off, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return arca_error_set(code, "%s: byte %zu: %s", d->pdu, off, msg);
}

static const char *item_name(uint8_t type)
{
	switch (type) {
	case PACS_PDU_ITEM_APP_CONTEXT: return "Application Context item";
	case PACS_PDU_ITEM_PCTX_RQ:
	case PACS_PDU_ITEM_PCTX_AC: return "Presentation Context item";
	case PACS_PDU_ITEM_ABSTRACT_SYNTAX: return "Abstract Syntax sub-item";
	case PACS_PDU_ITEM_TRANSFER_SYNTAX: return "Transfer Syntax sub-item";
	case PACS_PDU_ITEM_USER_INFO: return "User Information item";
	case PACS_PDU_ITEM_MAX_LENGTH: return "Maximum Length sub-item";
	case PACS_PDU_ITEM_IMPL_CLASS_UID: return "Implementation Class UID sub-item";
	case PACS_PDU_ITEM_ASYNC_WINDOW: return "Asynchronous Operations Window sub-item";
	case PACS_PDU_ITEM_ROLE_SELECTION: return "SCP/SCU Role Selection sub-item";
	case PACS_PDU_ITEM_IMPL_VERSION_NAME: return "Implementation Version Name sub-item";
	case PACS_PDU_ITEM_SOP_EXT_NEG: return "SOP Class Extended Negotiation sub-item";
	case PACS_PDU_ITEM_SOP_COMMON_EXT_NEG: return "SOP Class Common Extended Negotiation sub-item";
	case PACS_PDU_ITEM_USER_IDENTITY_RQ:
	case PACS_PDU_ITEM_USER_IDENTITY_AC: return "User Identity sub-item";
	default: return "item";
	}
}

/* Reads the next item header of list and cuts its body into *body. */
static int next_item(const assoc_dec *d, pacs_pdu_span *list, item_hdr *h, pacs_pdu_span *body)
{
	h->off = pacs_pdu_span_off(list);
	if (pacs_pdu_span_left(list) < 4)
		return dec_fail(d, ARCA_EPROTO, h->off,
				"%zu trailing bytes are too short for an item header (4 bytes)", pacs_pdu_span_left(list));
	(void)pacs_cursor_u8(&list->c, &h->type);
	(void)pacs_cursor_u8(&list->c, &h->byte2);
	(void)pacs_cursor_u16be(&list->c, &h->len);
	if (!pacs_pdu_span_sub(list, h->len, body))
		return dec_fail(d, ARCA_EPROTO, h->off,
				"%s (type %02XH) length %u runs past its container (%zu bytes left)",
				item_name(h->type), h->type, h->len, pacs_pdu_span_left(list));
	return 0;
}

/* Items of one type in a list, counting only while the framing holds
 * (the parse that follows reports broken framing). */
static size_t count_items(pacs_pdu_span list, uint8_t type)
{
	size_t n = 0;
	uint8_t t, r;
	uint16_t len;

	while (pacs_cursor_u8(&list.c, &t) && pacs_cursor_u8(&list.c, &r) &&
	       pacs_cursor_u16be(&list.c, &len) && pacs_cursor_skip(&list.c, len))
		if (t == type)
			n++;
	return n;
}

static void *dec_alloc(const assoc_dec *d, size_t n, size_t size, size_t off)
{
	void *p;

	if (n == 0)
		return NULL;
	p = pacs_arena__alloc(d->arena, n * size); /* n is a checked count <= 65535 */
	if (p == NULL)
		(void)dec_fail(d, ARCA_ENOMEM, off, "out of memory");
	else
		memset(p, 0, n * size);
	return p;
}

static int dec_strdup(const assoc_dec *d, const uint8_t *v, size_t n, size_t off, const char **out)
{
	char *s = pacs_arena__alloc(d->arena, n + 1);

	if (s == NULL)
		return dec_fail(d, ARCA_ENOMEM, off, "out of memory");
	if (n > 0)
		memcpy(s, v, n);
	s[n] = '\0';
	*out = s;
	return 0;
}

static int dec_memdup(const assoc_dec *d, const uint8_t *v, size_t n, size_t off, const uint8_t **out)
{
	uint8_t *p;

	*out = NULL;
	if (n == 0)
		return 0;
	p = pacs_arena__memdup(d->arena, v, n);
	if (p == NULL)
		return dec_fail(d, ARCA_ENOMEM, off, "out of memory");
	*out = p;
	return 0;
}

/* A UID field (PS3.8 Annex F: encoded as in PS3.5 9.1, at most 64 bytes).
 * A trailing NUL or space, which some older implementations add, is
 * dropped.  Only printable ASCII is accepted: the value becomes a C string
 * and a log line. */
static int dec_uid(const assoc_dec *d, const uint8_t *v, size_t n, size_t off, const char *what,
		   const char **out)
{
	size_t i;

	while (n > 0 && (v[n - 1] == '\0' || v[n - 1] == ' '))
		n--;
	if (n == 0)
		return dec_fail(d, ARCA_EPROTO, off, "%s is empty", what);
	if (n > PACS_PDU_UID_MAX)
		return dec_fail(d, ARCA_EPROTO, off, "%s is %zu bytes, longer than the %u of a UID",
				what, n, PACS_PDU_UID_MAX);
	for (i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return dec_fail(d, ARCA_EPROTO, off, "%s has the non-printable byte %02XH at %zu",
					what, v[i], i);
	return dec_strdup(d, v, n, off, out);
}

/* A UID that fills the rest of an item (Abstract/Transfer Syntax,
 * Application Context, Implementation Class UID). */
static int dec_uid_item(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *h, const char **out)
{
	const uint8_t *v = NULL;

	(void)pacs_cursor_take(&body->c, pacs_pdu_span_left(body), &v);
	return dec_uid(d, v, h->len, h->off, item_name(h->type), out);
}

/* A UID preceded by its 16-bit length, inside a sub-item. */
static int dec_uid_field(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *h, const char *what,
			 const char **out)
{
	uint16_t n;
	const uint8_t *v = NULL;
	size_t off = pacs_pdu_span_off(body);

	if (!pacs_cursor_u16be(&body->c, &n))
		return dec_fail(d, ARCA_EPROTO, off, "%s: no room for the %s length", item_name(h->type),
				what);
	if (!pacs_cursor_take(&body->c, n, &v))
		return dec_fail(d, ARCA_EPROTO, off, "%s: %s length %u runs past the sub-item (%zu bytes left)",
				item_name(h->type), what, n, pacs_pdu_span_left(body));
	return dec_uid(d, v, n, off, what, out);
}

/* PS3.8 9.3.2 Table 9-11: AE titles are 16 characters of the ISO 646 G0
 * set; leading and trailing spaces are not significant.  In an AC the same
 * bytes are reserved and not tested, so there they are only made safe. */
static int dec_ae(const assoc_dec *d, const uint8_t *v, size_t off, const char *what, char out[17])
{
	size_t b = 0, e = PACS_PDU_AE_MAX, i;

	for (i = 0; i < PACS_PDU_AE_MAX; i++)
		if (v[i] < 0x20 || v[i] > 0x7e) {
			if (d->rq)
				return dec_fail(d, ARCA_EPROTO, off + i,
						"%s has the byte %02XH, not an ISO 646 G0 character", what,
						v[i]);
		}
	while (b < e && v[b] == ' ')
		b++;
	while (e > b && v[e - 1] == ' ')
		e--;
	for (i = 0; b + i < e; i++)
		out[i] = (v[b + i] < 0x20 || v[b + i] > 0x7e) ? '?' : (char)v[b + i];
	out[i] = '\0';
	return 0;
}

static int dec_pctx_id(assoc_dec *d, uint8_t id, size_t off)
{
	/* PS3.8 9.3.2.2: odd integers between 1 and 255. */
	if (id % 2 == 0)
		return dec_fail(d, ARCA_EPROTO, off, "Presentation Context ID %u is not odd", id);
	if (d->pctx_seen[id / 8] & (1u << (id % 8)))
		return dec_fail(d, ARCA_EPROTO, off, "Presentation Context ID %u appears twice", id);
	d->pctx_seen[id / 8] |= (uint8_t)(1u << (id % 8));
	return 0;
}

/* PS3.8 9.3.2.2 Table 9-13: ID, 3 reserved bytes, one Abstract Syntax
 * sub-item (30H) and one or more Transfer Syntax sub-items (40H). */
static int dec_pctx_rq(assoc_dec *d, pacs_pdu_span *body, const item_hdr *ih, pacs_pdu_pctx *pc)
{
	const char **ts;
	size_t n_ts, k = 0;
	int rc;

	if (!pacs_cursor_u8(&body->c, &pc->id) || !pacs_cursor_skip(&body->c, 3))
		return dec_fail(d, ARCA_EPROTO, ih->off,
				"Presentation Context item length %u is shorter than its 4 fixed bytes",
				ih->len);
	rc = dec_pctx_id(d, pc->id, ih->off + 4);
	if (rc < 0)
		return rc;
	n_ts = count_items(*body, PACS_PDU_ITEM_TRANSFER_SYNTAX);
	if (n_ts > PACS_PDU_MAX_TS)
		return dec_fail(d, ARCA_ELIMIT, ih->off,
				"Presentation Context %u proposes %zu transfer syntaxes, more than %u",
				pc->id, n_ts, PACS_PDU_MAX_TS);
	ts = dec_alloc(d, n_ts, sizeof(*ts), ih->off);
	if (n_ts > 0 && ts == NULL)
		return ARCA_ENOMEM;
	while (!pacs_pdu_span_done(body)) {
		item_hdr h;
		pacs_pdu_span sb;

		rc = next_item(d, body, &h, &sb);
		if (rc < 0)
			return rc;
		if (h.type == PACS_PDU_ITEM_ABSTRACT_SYNTAX) {
			if (pc->abstract_syntax != NULL)
				return dec_fail(d, ARCA_EPROTO, h.off,
						"Presentation Context %u has a second Abstract Syntax sub-item",
						pc->id);
			rc = dec_uid_item(d, &sb, &h, &pc->abstract_syntax);
		} else if (h.type == PACS_PDU_ITEM_TRANSFER_SYNTAX && k < n_ts) {
			rc = dec_uid_item(d, &sb, &h, &ts[k]);
			k++;
		} else {
			return dec_fail(d, ARCA_EPROTO, h.off,
					"Presentation Context %u holds a sub-item of type %02XH", pc->id,
					h.type);
		}
		if (rc < 0)
			return rc;
	}
	if (pc->abstract_syntax == NULL)
		return dec_fail(d, ARCA_EPROTO, ih->off, "Presentation Context %u has no Abstract Syntax sub-item",
				pc->id);
	if (k == 0)
		return dec_fail(d, ARCA_EPROTO, ih->off, "Presentation Context %u has no Transfer Syntax sub-item",
				pc->id);
	pc->transfer_syntaxes = ts;
	pc->n_transfer_syntaxes = k;
	return 0;
}

/* PS3.8 9.3.3.2 Table 9-18: ID, reserved, Result/Reason, reserved, one
 * Transfer Syntax sub-item, which is "not significant and not tested" when
 * the context is not accepted. */
static int dec_pctx_ac(assoc_dec *d, pacs_pdu_span *body, const item_hdr *ih, pacs_pdu_pctx *pc)
{
	int rc;

	if (!pacs_cursor_u8(&body->c, &pc->id) || !pacs_cursor_skip(&body->c, 1) ||
	    !pacs_cursor_u8(&body->c, &pc->result) || !pacs_cursor_skip(&body->c, 1))
		return dec_fail(d, ARCA_EPROTO, ih->off,
				"Presentation Context item length %u is shorter than its 4 fixed bytes",
				ih->len);
	rc = dec_pctx_id(d, pc->id, ih->off + 4);
	if (rc < 0)
		return rc;
	if (pc->result > PACS_PDU_PCTX_TRANSFER_SYNTAXES_NOT_SUPPORTED)
		return dec_fail(d, ARCA_EPROTO, ih->off + 6,
				"Presentation Context %u has the Result/Reason %u (PS3.8 Table 9-18 has 0-4)",
				pc->id, pc->result);
	if (pc->result != PACS_PDU_PCTX_ACCEPTANCE)
		return 0;
	while (!pacs_pdu_span_done(body)) {
		item_hdr h;
		pacs_pdu_span sb;

		rc = next_item(d, body, &h, &sb);
		if (rc < 0)
			return rc;
		if (h.type != PACS_PDU_ITEM_TRANSFER_SYNTAX || pc->transfer_syntax != NULL)
			return dec_fail(d, ARCA_EPROTO, h.off,
					"accepted Presentation Context %u holds an unexpected sub-item of type %02XH",
					pc->id, h.type);
		rc = dec_uid_item(d, &sb, &h, &pc->transfer_syntax);
		if (rc < 0)
			return rc;
	}
	if (pc->transfer_syntax == NULL)
		return dec_fail(d, ARCA_EPROTO, ih->off,
				"accepted Presentation Context %u has no Transfer Syntax sub-item", pc->id);
	return 0;
}

/* PS3.7 D.3.3.4 Table D.3-9/D.3-10: UID length, UID, SCU role, SCP role. */
static int dec_role(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *h, pacs_pdu_role *r)
{
	int rc = dec_uid_field(d, body, h, "SOP Class UID", &r->sop_class_uid);

	if (rc < 0)
		return rc;
	if (!pacs_cursor_u8(&body->c, &r->scu_role) || !pacs_cursor_u8(&body->c, &r->scp_role) ||
	    !pacs_pdu_span_done(body))
		return dec_fail(d, ARCA_EPROTO, h->off,
				"SCP/SCU Role Selection sub-item length %u does not end with the two role bytes",
				h->len);
	if (r->scu_role > 1 || r->scp_role > 1)
		return dec_fail(d, ARCA_EPROTO, h->off,
				"SCP/SCU Role Selection for %s has roles %u/%u (only 0 or 1)",
				r->sop_class_uid, r->scu_role, r->scp_role);
	return 0;
}

/* PS3.7 D.3.3.5 Table D.3-11: UID length, UID, application information. */
static int dec_ext_neg(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *h, pacs_pdu_ext_neg *e)
{
	const uint8_t *v = NULL;
	int rc = dec_uid_field(d, body, h, "SOP Class UID", &e->sop_class_uid);

	if (rc < 0)
		return rc;
	e->info_len = pacs_pdu_span_left(body);
	(void)pacs_cursor_take(&body->c, pacs_pdu_span_left(body), &v);
	return dec_memdup(d, v, e->info_len, h->off, &e->info);
}

/* PS3.7 D.3.3.6 Tables D.3-12/D.3-13: SOP class UID, service class UID,
 * then a length-prefixed list of length-prefixed related general SOP
 * class UIDs.  Bytes after the list are ignored: the sub-item version
 * (byte 2) lets later editions append fields. */
static int dec_common_ext_neg(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *h,
			      pacs_pdu_common_ext_neg *e)
{
	pacs_pdu_span list, scan;
	const char **rel;
	uint16_t n_bytes, ulen;
	size_t n = 0, k = 0;
	int rc;

	rc = dec_uid_field(d, body, h, "SOP Class UID", &e->sop_class_uid);
	if (rc == 0)
		rc = dec_uid_field(d, body, h, "Service Class UID", &e->service_class_uid);
	if (rc < 0)
		return rc;
	if (!pacs_cursor_u16be(&body->c, &n_bytes) || !pacs_pdu_span_sub(body, n_bytes, &list))
		return dec_fail(d, ARCA_EPROTO, h->off,
				"%s for %s: the Related General SOP Class list runs past the sub-item",
				item_name(h->type), e->sop_class_uid);
	scan = list;
	while (pacs_cursor_u16be(&scan.c, &ulen) && pacs_cursor_skip(&scan.c, ulen))
		n++;
	if (n > PACS_PDU_MAX_RELATED)
		return dec_fail(d, ARCA_ELIMIT, h->off, "%s for %s lists %zu related SOP classes, more than %u",
				item_name(h->type), e->sop_class_uid, n, PACS_PDU_MAX_RELATED);
	rel = dec_alloc(d, n, sizeof(*rel), h->off);
	if (n > 0 && rel == NULL)
		return ARCA_ENOMEM;
	while (!pacs_pdu_span_done(&list)) {
		if (k == n) /* the scan stopped early: a length runs past the list */
			return dec_fail(d, ARCA_EPROTO, pacs_pdu_span_off(&list),
					"Related General SOP Class UID runs past its list (%zu bytes left)",
					pacs_pdu_span_left(&list));
		rc = dec_uid_field(d, &list, h, "Related General SOP Class UID", &rel[k]);
		if (rc < 0)
			return rc;
		k++;
	}
	e->related_sop_classes = rel;
	e->n_related = k;
	return 0;
}

/* PS3.7 D.3.3.7.1 Table D.3-14: type, positive response requested,
 * primary field (length-prefixed), secondary field (length-prefixed, non
 * empty only for user name and passcode). */
static int dec_identity_rq(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *h,
			   pacs_pdu_identity *id)
{
	uint8_t type, resp;
	uint16_t plen, slen;
	const uint8_t *p, *s;
	int rc;

	if (!pacs_cursor_u8(&body->c, &type) || !pacs_cursor_u8(&body->c, &resp) ||
	    !pacs_cursor_u16be(&body->c, &plen) || !pacs_cursor_take(&body->c, plen, &p) ||
	    !pacs_cursor_u16be(&body->c, &slen) || !pacs_cursor_take(&body->c, slen, &s) ||
	    !pacs_pdu_span_done(body))
		return dec_fail(d, ARCA_EPROTO, h->off,
				"User Identity sub-item length %u does not match its field lengths", h->len);
	if (type < PACS_PDU_IDENTITY_USERNAME || type > PACS_PDU_IDENTITY_JWT)
		return dec_fail(d, ARCA_EPROTO, h->off + 4, "User Identity type %u is not 1-5", type);
	if (resp > 1)
		return dec_fail(d, ARCA_EPROTO, h->off + 5,
				"User Identity Positive-response-requested is %u (only 0 or 1)", resp);
	if (plen == 0)
		return dec_fail(d, ARCA_EPROTO, h->off + 6, "User Identity primary field is empty");
	if (slen != 0 && type != PACS_PDU_IDENTITY_USERNAME_PASSCODE)
		return dec_fail(d, ARCA_EPROTO, h->off,
				"User Identity type %u has a %u-byte secondary field (only type 2 has one)",
				type, slen);
	id->type = type;
	id->positive_response_requested = resp == 1;
	id->primary_len = plen;
	id->secondary_len = slen;
	rc = dec_memdup(d, p, plen, h->off, &id->primary);
	if (rc == 0)
		rc = dec_memdup(d, s, slen, h->off, &id->secondary);
	return rc;
}

/* PS3.7 D.3.3.7.2 Table D.3-15: server response, length-prefixed. */
static int dec_identity_ac(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *h,
			   pacs_pdu_user_info *ui)
{
	uint16_t n;
	const uint8_t *v = NULL;

	if (!pacs_cursor_u16be(&body->c, &n) || !pacs_cursor_take(&body->c, n, &v) || !pacs_pdu_span_done(body))
		return dec_fail(d, ARCA_EPROTO, h->off,
				"User Identity sub-item length %u does not match its server response length",
				h->len);
	ui->has_identity_response = true;
	ui->identity_response_len = n;
	return dec_memdup(d, v, n, h->off, &ui->identity_response);
}

/* PS3.7 D.3.3.2 Table D.3-3: 1 to 16 characters of ISO 646 G0. */
static int dec_version_name(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *h, const char **out)
{
	const uint8_t *v = NULL;
	size_t n = h->len, i;

	(void)pacs_cursor_take(&body->c, n, &v);
	while (n > 0 && v[n - 1] == '\0')
		n--;
	if (n == 0 || n > PACS_PDU_VERSION_NAME_MAX)
		return dec_fail(d, ARCA_EPROTO, h->off,
				"Implementation Version Name is %zu bytes (1 to %u allowed)", n,
				PACS_PDU_VERSION_NAME_MAX);
	for (i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return dec_fail(d, ARCA_EPROTO, h->off,
					"Implementation Version Name has the byte %02XH", v[i]);
	return dec_strdup(d, v, n, h->off, out);
}

/* Sub-items that may appear at most once (PS3.7 D.3.3.1-D.3.3.7). */
static bool single_sub_item(uint8_t type)
{
	return type == PACS_PDU_ITEM_MAX_LENGTH || type == PACS_PDU_ITEM_IMPL_CLASS_UID ||
	       type == PACS_PDU_ITEM_ASYNC_WINDOW || type == PACS_PDU_ITEM_IMPL_VERSION_NAME ||
	       type == PACS_PDU_ITEM_USER_IDENTITY_RQ || type == PACS_PDU_ITEM_USER_IDENTITY_AC;
}

static int dec_sop_item_count(const assoc_dec *d, const pacs_pdu_span *body, const item_hdr *ih,
			      uint8_t type, size_t *n)
{
	*n = count_items(*body, type);
	if (*n > PACS_PDU_MAX_SOP_ITEMS)
		return dec_fail(d, ARCA_ELIMIT, ih->off, "User Information holds %zu %ss, more than %u", *n,
				item_name(type), PACS_PDU_MAX_SOP_ITEMS);
	return 0;
}

/* PS3.8 9.3.2.3 Table 9-16: the User Information item, a list of
 * sub-items in any order.  Sub-items of unknown type are skipped: PS3.8
 * D.2 note 2 requires acceptors to ignore user information sub-items that
 * later editions define.  The identity sub-item of the other direction
 * (59H in an RQ, 58H in an AC) is undefined there and skipped the same way. */
static int dec_user_info(const assoc_dec *d, pacs_pdu_span *body, const item_hdr *ih,
			 pacs_pdu_user_info *ui)
{
	pacs_pdu_role *roles;
	pacs_pdu_ext_neg *ext;
	pacs_pdu_common_ext_neg *cext;
	size_t n_roles = 0, n_ext = 0, n_cext = 0;
	uint8_t seen[256 / 8] = { 0 };
	int rc;

	rc = dec_sop_item_count(d, body, ih, PACS_PDU_ITEM_ROLE_SELECTION, &n_roles);
	if (rc == 0)
		rc = dec_sop_item_count(d, body, ih, PACS_PDU_ITEM_SOP_EXT_NEG, &n_ext);
	if (rc == 0)
		rc = dec_sop_item_count(d, body, ih, PACS_PDU_ITEM_SOP_COMMON_EXT_NEG, &n_cext);
	if (rc < 0)
		return rc;
	roles = dec_alloc(d, n_roles, sizeof(*roles), ih->off);
	ext = dec_alloc(d, n_ext, sizeof(*ext), ih->off);
	cext = dec_alloc(d, n_cext, sizeof(*cext), ih->off);
	if ((n_roles > 0 && roles == NULL) || (n_ext > 0 && ext == NULL) || (n_cext > 0 && cext == NULL))
		return ARCA_ENOMEM;
	ui->roles = roles;
	ui->ext_neg = ext;
	ui->common_ext_neg = cext;

	while (!pacs_pdu_span_done(body)) {
		item_hdr h;
		pacs_pdu_span sb;

		rc = next_item(d, body, &h, &sb);
		if (rc < 0)
			return rc;
		if (single_sub_item(h.type)) {
			if (seen[h.type / 8] & (1u << (h.type % 8)))
				return dec_fail(d, ARCA_EPROTO, h.off, "second %s", item_name(h.type));
			seen[h.type / 8] |= (uint8_t)(1u << (h.type % 8));
		}
		switch (h.type) {
		case PACS_PDU_ITEM_MAX_LENGTH: /* PS3.8 D.1 Table D.1-1 */
			if (h.len != 4 || !pacs_cursor_u32be(&sb.c, &ui->max_length))
				rc = dec_fail(d, ARCA_EPROTO, h.off, "Maximum Length sub-item length is %u, not 4",
					      h.len);
			break;
		case PACS_PDU_ITEM_IMPL_CLASS_UID: /* PS3.7 D.3.3.2 Table D.3-1 */
			rc = dec_uid_item(d, &sb, &h, &ui->impl_class_uid);
			break;
		case PACS_PDU_ITEM_ASYNC_WINDOW: /* PS3.7 D.3.3.3 Table D.3-7 */
			if (h.len != 4 || !pacs_cursor_u16be(&sb.c, &ui->async_invoked) ||
			    !pacs_cursor_u16be(&sb.c, &ui->async_performed))
				rc = dec_fail(d, ARCA_EPROTO, h.off,
					      "Asynchronous Operations Window sub-item length is %u, not 4", h.len);
			ui->has_async_window = true;
			break;
		case PACS_PDU_ITEM_ROLE_SELECTION:
			if (ui->n_roles < n_roles)
				rc = dec_role(d, &sb, &h, &roles[ui->n_roles++]);
			break;
		case PACS_PDU_ITEM_IMPL_VERSION_NAME:
			rc = dec_version_name(d, &sb, &h, &ui->impl_version_name);
			break;
		case PACS_PDU_ITEM_SOP_EXT_NEG:
			if (ui->n_ext_neg < n_ext)
				rc = dec_ext_neg(d, &sb, &h, &ext[ui->n_ext_neg++]);
			break;
		case PACS_PDU_ITEM_SOP_COMMON_EXT_NEG:
			if (ui->n_common_ext_neg < n_cext)
				rc = dec_common_ext_neg(d, &sb, &h, &cext[ui->n_common_ext_neg++]);
			break;
		case PACS_PDU_ITEM_USER_IDENTITY_RQ:
			if (d->rq)
				rc = dec_identity_rq(d, &sb, &h, &ui->identity);
			break;
		case PACS_PDU_ITEM_USER_IDENTITY_AC:
			if (!d->rq)
				rc = dec_identity_ac(d, &sb, &h, ui);
			break;
		default:
			break;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int dec_items(assoc_dec *d, pacs_pdu_span *items, pacs_pdu_assoc *a)
{
	uint8_t pctx_type = d->rq ? PACS_PDU_ITEM_PCTX_RQ : PACS_PDU_ITEM_PCTX_AC;
	size_t n = count_items(*items, pctx_type);
	pacs_pdu_pctx *pctx;
	bool have_ui = false;
	int rc = 0;

	if (n > PACS_PDU_MAX_PCTX)
		return dec_fail(d, ARCA_ELIMIT, pacs_pdu_span_off(items),
				"%zu Presentation Context items, more than %u", n, PACS_PDU_MAX_PCTX);
	pctx = dec_alloc(d, n, sizeof(*pctx), pacs_pdu_span_off(items));
	if (n > 0 && pctx == NULL)
		return ARCA_ENOMEM;
	a->pctx = pctx;

	while (!pacs_pdu_span_done(items)) {
		item_hdr h;
		pacs_pdu_span body;

		rc = next_item(d, items, &h, &body);
		if (rc < 0)
			return rc;
		if (h.type == PACS_PDU_ITEM_APP_CONTEXT) {
			if (a->app_context != NULL)
				return dec_fail(d, ARCA_EPROTO, h.off, "second Application Context item");
			rc = dec_uid_item(d, &body, &h, &a->app_context);
		} else if (h.type == pctx_type && a->n_pctx < n) {
			pacs_pdu_pctx *pc = &pctx[a->n_pctx++];

			rc = d->rq ? dec_pctx_rq(d, &body, &h, pc) : dec_pctx_ac(d, &body, &h, pc);
		} else if (h.type == PACS_PDU_ITEM_USER_INFO) {
			if (have_ui)
				return dec_fail(d, ARCA_EPROTO, h.off, "second User Information item");
			have_ui = true;
			rc = dec_user_info(d, &body, &h, &a->user_info);
		} else {
			return dec_fail(d, ARCA_EPROTO, h.off, "unexpected item of type %02XH", h.type);
		}
		if (rc < 0)
			return rc;
	}
	/* PS3.8 9.3.2/9.3.3: one Application Context item, one or more
	 * Presentation Context items and one User Information item. */
	if (a->app_context == NULL)
		return dec_fail(d, ARCA_EPROTO, VARIABLE_ITEMS_OFF, "no Application Context item");
	if (a->n_pctx == 0)
		return dec_fail(d, ARCA_EPROTO, VARIABLE_ITEMS_OFF, "no Presentation Context item");
	if (!have_ui)
		return dec_fail(d, ARCA_EPROTO, VARIABLE_ITEMS_OFF, "no User Information item");
	return 0;
}

static int decode_assoc(pacs_pdu_assoc **out, const uint8_t *body, size_t len, bool rq)
{
	assoc_owned *o;
	assoc_dec d;
	pacs_pdu_span c;
	const uint8_t *called, *calling, *reserved;
	int rc;

	*out = NULL;
	memset(&d, 0, sizeof(d));
	d.rq = rq;
	d.pdu = pacs_pdu_type_name(rq ? PACS_PDU_ASSOCIATE_RQ : PACS_PDU_ASSOCIATE_AC);
	pacs_pdu_span_init(&c, body, len, PACS_PDU_HEADER_LEN);
	if (pacs_pdu_span_left(&c) < PACS_PDU_ASSOC_FIXED_LEN)
		return dec_fail(&d, ARCA_EPROTO, PACS_PDU_HEADER_LEN,
				"PDU length %zu is shorter than its %u bytes of fixed fields", pacs_pdu_span_left(&c),
				PACS_PDU_ASSOC_FIXED_LEN);
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return arca_error_set(ARCA_ENOMEM, "%s: out of memory", d.pdu);
	pacs_arena__init(&o->arena);
	d.arena = &o->arena;

	/* PS3.8 Table 9-11 / 9-17: protocol version, 2 reserved bytes, called
	 * and calling AE titles, 32 reserved bytes. */
	(void)pacs_cursor_u16be(&c.c, &o->a.protocol_version);
	(void)pacs_cursor_skip(&c.c, 2);
	(void)pacs_cursor_take(&c.c, PACS_PDU_AE_MAX, &called);
	(void)pacs_cursor_take(&c.c, PACS_PDU_AE_MAX, &calling);
	(void)pacs_cursor_take(&c.c, sizeof(o->a.reserved), &reserved);
	memcpy(o->a.reserved, reserved, sizeof(o->a.reserved));
	rc = dec_ae(&d, called, PACS_PDU_HEADER_LEN + 4, "Called-AE-title", o->a.called_ae);
	if (rc == 0)
		rc = dec_ae(&d, calling, PACS_PDU_HEADER_LEN + 20, "Calling-AE-title", o->a.calling_ae);
	if (rc == 0)
		rc = dec_items(&d, &c, &o->a);
	if (rc < 0) {
		pacs_pdu_assoc_free(&o->a);
		return rc;
	}
	*out = &o->a;
	return 0;
}

int pacs_pdu_decode_assoc_rq(pacs_pdu_assoc **out, const uint8_t *body, size_t len)
{
	return decode_assoc(out, body, len, true);
}

int pacs_pdu_decode_assoc_ac(pacs_pdu_assoc **out, const uint8_t *body, size_t len)
{
	return decode_assoc(out, body, len, false);
}

void pacs_pdu_assoc_free(pacs_pdu_assoc *a)
{
	assoc_owned *o = (assoc_owned *)a;

	if (o == NULL)
		return;
	pacs_arena__release(&o->arena);
	free(o);
}
