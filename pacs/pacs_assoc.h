/* pacs_assoc.h - association policy: the acceptor's answer to an
 * A-ASSOCIATE-RQ (PS3.8 7.1 and 9.3.2-9.3.4; user information negotiation
 * of PS3.8 Annex D and PS3.7 Annex D.3.3).
 *
 * pacs_assoc_negotiate() takes the decoded RQ and a policy and yields
 * either the A-ASSOCIATE-AC to send (pacs_ul_accept()) with the negotiated
 * parameters the DIMSE layer needs, or the A-ASSOCIATE-RJ (pacs_ul_reject())
 * with the result, source and reason of PS3.8 Table 9-21.  It is a pure
 * function of its inputs (plus the identity callback): no I/O, no state.
 *
 * Rejections, checked in this order (PS3.8 Table 9-21):
 *   protocol version without bit 0   permanent, source 2 (provider, ACSE), reason 2
 *   application context name         permanent, source 1 (user), reason 2
 *   called AE title not ours         permanent, source 1, reason 7
 *   calling AE title not allowed     permanent, source 1, reason 3
 *   user identity refused            permanent, source 1, reason 1 (PS3.7 D.3.3.7)
 *   user identity check failed       transient, source 1, reason 1
 * (The state machine rejects a bad protocol version itself, AE-6; the
 * check is repeated here so that the policy is complete on its own.)
 *
 * Presentation contexts (PS3.8 9.3.3.2, Table 9-18), each on its own:
 *   abstract syntax not in the policy           3 abstract-syntax-not-supported
 *   no proposed transfer syntax in the policy   4 transfer-syntaxes-not-supported
 *   no role left for the requestor              1 user-rejection
 *   otherwise accepted, with the first transfer syntax in the POLICY's
 *   order of preference that the requestor proposed.
 * When no context is accepted the answer is still an A-ASSOCIATE-AC with
 * every context rejected, as DCMTK's storescp and dcmqrscp do: the
 * requestor learns why per context, which an RJ cannot say (Table 9-21 has
 * no reason for it).
 *
 * Roles (PS3.7 D.3.3.4): without a Role Selection item the requestor is SCU
 * and we are SCP.  For an item, the requestor's SCU role is accepted when
 * we can be SCP for the SOP class, its SCP role when we can be SCU (e.g.
 * C-STORE sub-operations of a C-GET); a role it did not propose is never
 * accepted.  Items are answered only for SOP classes of accepted contexts.
 *
 * Asynchronous Operations Window (PS3.7 D.3.3.3): answered only when asked,
 * with the policy's values (1/1 by default, i.e. no asynchronous
 * operations), each lowered to the requestor's when that is smaller and not
 * 0 (unlimited).
 *
 * SOP Class Extended Negotiation (PS3.7 D.3.3.5): answered only for the
 * sub-items of the Q/R FIND SOP classes (PS3.4 C.5.1.1) whose context was
 * accepted, with as many bytes as the requestor sent (at most
 * PACS_ASSOC_FIND_EXT_MAX): byte 1 relational-queries = 1 when asked and
 * the policy allows it, every other option 0 (combined date-time
 * matching, fuzzy semantic matching of person names, timezone query
 * adjustment, enhanced multi-frame image conversion: not supported).  A
 * sub-item for any other SOP class, or none at all, gets no answer, which
 * the requestor reads as "not supported" (PS3.7 D.3.3.5).
 *
 * User identity (PS3.7 D.3.3.7): without an identity callback the sub-item
 * is ignored (we do not support it).  With one, the callback decides; a
 * User Identity sub-item goes into the AC only when the requestor asked for
 * a positive response and the callback accepted. */
#ifndef PACS_ASSOC_H
#define PACS_ASSOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_buf.h"
#include "pacs_pdu.h"

/* The roles WE can play for an abstract syntax. */
enum pacs_assoc_role {
	PACS_ASSOC_ROLE_SCP = 1u << 0, /* the peer may invoke operations on us */
	PACS_ASSOC_ROLE_SCU = 1u << 1  /* we may invoke operations on the peer */
};

typedef struct pacs_assoc_sop {
	const char *uid; /* SOP class or meta SOP class UID (the abstract syntax) */
	unsigned roles;  /* enum pacs_assoc_role */
} pacs_assoc_sop;

/* Decides on the requestor's user identity.  id->type is
 * PACS_PDU_IDENTITY_NONE when the RQ had no User Identity sub-item, so that
 * a policy can require one.  Returns 1 to accept, 0 to refuse, or a
 * negative ARCA_E* when the check could not be made.  For Kerberos, SAML
 * and JWT the server response, if any, is appended to response (at most
 * 65535 bytes). */
typedef int (*pacs_assoc_identity_fn)(void *ctx, const char *calling_ae,
				      const pacs_pdu_identity *id, pacs_buf *response);

typedef struct pacs_assoc_policy {
	const char *ae_title;             /* ours, 1 to 16 characters (required) */
	bool check_called_ae;             /* the Called AE Title must be ae_title */
	const char *const *calling_aes;   /* allow-list of Calling AE Titles; */
	size_t n_calling_aes;             /* NULL: any calling AE */
	const pacs_assoc_sop *sops;       /* the abstract syntaxes we support */
	size_t n_sops;
	const char *const *transfer_syntaxes; /* ours, most preferred first */
	size_t n_transfer_syntaxes;
	uint32_t max_pdu_length;          /* Maximum Length Received we announce (PS3.8 D.1);
					   * must not pass pacs_ul_opts.max_pdata_length */
	uint16_t async_invoked;           /* our Asynchronous Operations Window answer */
	uint16_t async_performed;
	pacs_assoc_identity_fn identity_fn; /* NULL: User Identity not supported */
	void *identity_ctx;
	const char *impl_class_uid;       /* NULL: PACS_IMPLEMENTATION_CLASS_UID */
	const char *impl_version_name;    /* NULL: PACS_IMPLEMENTATION_VERSION */
	/* PS3.4 C.4.1.2.2, C.5.1.1: relational queries accepted on the FIND
	 * models when the requestor asks for them in SOP Class Extended
	 * Negotiation; default true. */
	bool relational_queries;
} pacs_assoc_policy;

/* PS3.4 C.5.1.1 Table C.5-1: the bytes of the C-FIND Service Class
 * Application Information that we know (1 relational-queries, 2 combined
 * date-time matching, 3 fuzzy semantic matching of person names, 4
 * timezone query adjustment, 5 enhanced multi-frame image conversion). */
#define PACS_ASSOC_FIND_EXT_MAX 5u

/* Defaults: ae_title "ARCA", called AE checked, any calling AE, the built-in
 * SOP classes and transfer syntaxes below, max_pdu_length
 * PACS_UL_DEFAULT_MAX_PDATA, window 1/1, no identity check, relational
 * queries accepted. */
void pacs_assoc_policy_init(pacs_assoc_policy *p);

/* Borrowed, static.  A small built-in list: Verification, common Storage
 * SOP classes (CT, MR, CR, DX, MG, US, SC, NM, PET, XA, RF, RT, SR, PDF,
 * ...; SCP and SCU) and the Patient and Study Root Query/Retrieve models
 * (FIND, MOVE, GET; SCP).  The full table is pacs_sop.h. */
const pacs_assoc_sop *pacs_assoc_default_sops(size_t *n);

/* Borrowed, static: explicit VR LE, implicit VR LE, deflated explicit VR LE,
 * explicit VR BE, then the encapsulated syntaxes of pacs_ts.h (JPEG,
 * JPEG-LS, JPEG 2000, RLE): uncompressed first, so that a requestor that
 * offers both gets no lossy or costly encoding. */
const char *const *pacs_assoc_default_transfer_syntaxes(size_t *n);

/* One presentation context as negotiated. */
typedef struct pacs_assoc_pctx {
	uint8_t id;
	uint8_t result;              /* enum pacs_pdu_pctx_result */
	const char *abstract_syntax;
	const char *transfer_syntax; /* the accepted one; NULL when rejected */
	bool peer_scu;               /* the requestor may invoke operations (we are SCP) */
	bool peer_scp;               /* we may invoke operations on the requestor */
	/* PS3.4 C.5.1.1: relational queries negotiated for this context's
	 * (FIND) SOP class: C-FIND on it may leave out the unique keys of
	 * the levels above the query level (C.4.1.2.2). */
	bool relational;
} pacs_assoc_pctx;

typedef struct pacs_assoc pacs_assoc;

/* The answer to rq under policy.  Returns 0 with *out set whether the
 * answer is an AC or an RJ; a negative ARCA_E* only for bad arguments or no
 * memory.  *out is the caller's (pacs_assoc_free()); it copies what it
 * keeps, so rq and policy need not outlive it. */
int pacs_assoc_negotiate(pacs_assoc **out, const pacs_pdu_assoc *rq, const pacs_assoc_policy *policy);
/* Accepts NULL. */
void pacs_assoc_free(pacs_assoc *a);

bool pacs_assoc_is_accepted(const pacs_assoc *a);
/* Borrowed: the PDU contents to send; NULL for the other outcome. */
const pacs_pdu_assoc *pacs_assoc_ac(const pacs_assoc *a);
const pacs_pdu_reject *pacs_assoc_rj(const pacs_assoc *a);
/* Borrowed: one line for the log ("calling AE title \"X\" is not allowed",
 * "2 of 3 presentation contexts accepted"). */
const char *pacs_assoc_summary(const pacs_assoc *a);

/* The contexts in RQ order (none after a rejection). */
size_t pacs_assoc_pctx_count(const pacs_assoc *a);
const pacs_assoc_pctx *pacs_assoc_pctx_at(const pacs_assoc *a, size_t i);
/* The context with this ID (accepted or not), or NULL. */
const pacs_assoc_pctx *pacs_assoc_pctx_find(const pacs_assoc *a, uint8_t id);
/* The first accepted context for the abstract syntax, or NULL. */
const pacs_assoc_pctx *pacs_assoc_pctx_accepted(const pacs_assoc *a, const char *abstract_syntax);

/* The requestor's Maximum Length Received (0: no limit): the largest
 * P-DATA-TF we may send it. */
uint32_t pacs_assoc_peer_max_pdu(const pacs_assoc *a);
const char *pacs_assoc_calling_ae(const pacs_assoc *a);
const char *pacs_assoc_called_ae(const pacs_assoc *a);
/* True when the identity callback accepted a User Identity sub-item. */
bool pacs_assoc_identity_accepted(const pacs_assoc *a);

#endif
