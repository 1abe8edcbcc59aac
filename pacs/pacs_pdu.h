/* pacs_pdu.h - DICOM Upper Layer PDU codec (PS3.8 Section 9.3, Annex D;
 * user information sub-items of PS3.7 Annex D.3.3).
 *
 * Bytes <-> plain structs, no state: the Upper Layer state machine reads a
 * PDU header with pacs_pdu_peek_header(), waits for the body, decodes it
 * with the decoder for its type and builds its answers with the encoders.
 *
 * The PDU structs are public (like libgit2's option structs) because the
 * association code fills them to encode and reads them after decoding.
 *
 * Decoding.  Every decoder takes the PDU body: the pdu_length bytes that
 * follow the 6-byte header.  Malformed input fails with ARCA_EPROTO and a
 * message naming the PDU, the item and the byte offset from the start of
 * the PDU (header included); a count past a limit below fails with
 * ARCA_ELIMIT.  Reserved fields are never tested (PS3.8 9.3: "sent with a
 * value 00H but not tested to this value when received"); user information
 * sub-items of unknown type are skipped (PS3.8 D.2 note 2).  Decoders
 * never read outside the body and size every allocation from counts they
 * have already checked.
 *
 * Encoding.  Encoders append one complete PDU (header included) to a
 * pacs_buf, whose cap bounds the PDU size; on error nothing is appended.
 * Values that the standard does not allow fail with ARCA_EINVAL. */
#ifndef PACS_PDU_H
#define PACS_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_buf.h"

/* PS3.8 9.3.1: PDU-type, reserved, 32-bit big-endian PDU-length. */
#define PACS_PDU_HEADER_LEN 6u
/* PS3.8 9.3.2/9.3.3: fixed fields of A-ASSOCIATE-RQ/AC after the header. */
#define PACS_PDU_ASSOC_FIXED_LEN 68u
/* PS3.8 7.1.1.2: the DICOM Application Context Name. */
#define PACS_PDU_APP_CONTEXT "1.2.840.10008.3.1.1.1"
/* PS3.8 9.3.2 Table 9-11: protocol version 1 is bit 0. */
#define PACS_PDU_PROTOCOL_VERSION 0x0001u

/* Limits.  UIDs are at most 64 bytes (PS3.5 9.1); presentation context
 * IDs are the odd numbers 1-255 (PS3.8 9.3.2.2), so 128 contexts at most. */
#define PACS_PDU_UID_MAX 64u
#define PACS_PDU_AE_MAX 16u
#define PACS_PDU_VERSION_NAME_MAX 16u
#define PACS_PDU_MAX_PCTX 128u
/* Transfer syntaxes proposed in one presentation context (DCMTK's
 * echoscu proposes at most 38). */
#define PACS_PDU_MAX_TS 64u
/* Role selections, SOP class (common) extended negotiations: one per SOP
 * class (PS3.7 D.3.3.4-D.3.3.6), hence at most one per context. */
#define PACS_PDU_MAX_SOP_ITEMS 128u
/* Related general SOP classes in one common extended negotiation. */
#define PACS_PDU_MAX_RELATED 64u
/* 12 bytes before the fragment of a P-DATA-TF with a single PDV. */
#define PACS_PDU_PDATA_SINGLE_HEADER_LEN 12u

/* PS3.8 9.3.1 PDU types. */
enum pacs_pdu_type {
	PACS_PDU_ASSOCIATE_RQ = 0x01,
	PACS_PDU_ASSOCIATE_AC = 0x02,
	PACS_PDU_ASSOCIATE_RJ = 0x03,
	PACS_PDU_P_DATA_TF = 0x04,
	PACS_PDU_RELEASE_RQ = 0x05,
	PACS_PDU_RELEASE_RP = 0x06,
	PACS_PDU_ABORT = 0x07
};

/* PS3.8 9.3.2-9.3.3 items and PS3.8 D.1 / PS3.7 D.3.3 sub-items. */
enum pacs_pdu_item {
	PACS_PDU_ITEM_APP_CONTEXT = 0x10,
	PACS_PDU_ITEM_PCTX_RQ = 0x20,
	PACS_PDU_ITEM_PCTX_AC = 0x21,
	PACS_PDU_ITEM_ABSTRACT_SYNTAX = 0x30,
	PACS_PDU_ITEM_TRANSFER_SYNTAX = 0x40,
	PACS_PDU_ITEM_USER_INFO = 0x50,
	PACS_PDU_ITEM_MAX_LENGTH = 0x51,
	PACS_PDU_ITEM_IMPL_CLASS_UID = 0x52,
	PACS_PDU_ITEM_ASYNC_WINDOW = 0x53,
	PACS_PDU_ITEM_ROLE_SELECTION = 0x54,
	PACS_PDU_ITEM_IMPL_VERSION_NAME = 0x55,
	PACS_PDU_ITEM_SOP_EXT_NEG = 0x56,
	PACS_PDU_ITEM_SOP_COMMON_EXT_NEG = 0x57,
	PACS_PDU_ITEM_USER_IDENTITY_RQ = 0x58,
	PACS_PDU_ITEM_USER_IDENTITY_AC = 0x59
};

/* PS3.8 9.3.3.2 Table 9-18: Result/Reason of an A-ASSOCIATE-AC context. */
enum pacs_pdu_pctx_result {
	PACS_PDU_PCTX_ACCEPTANCE = 0,
	PACS_PDU_PCTX_USER_REJECTION = 1,
	PACS_PDU_PCTX_NO_REASON = 2,                       /* provider rejection */
	PACS_PDU_PCTX_ABSTRACT_SYNTAX_NOT_SUPPORTED = 3,   /* provider rejection */
	PACS_PDU_PCTX_TRANSFER_SYNTAXES_NOT_SUPPORTED = 4  /* provider rejection */
};

/* PS3.8 9.3.4 Table 9-21: A-ASSOCIATE-RJ. */
enum pacs_pdu_rj_result {
	PACS_PDU_RJ_PERMANENT = 1,
	PACS_PDU_RJ_TRANSIENT = 2
};
enum pacs_pdu_rj_source {
	PACS_PDU_RJ_SOURCE_USER = 1,         /* DICOM UL service-user */
	PACS_PDU_RJ_SOURCE_ACSE = 2,         /* service-provider, ACSE related */
	PACS_PDU_RJ_SOURCE_PRESENTATION = 3  /* service-provider, presentation related */
};
/* The reason's meaning depends on the source; 4-6 and 8-10 (user) and
 * 0, 3-7 (presentation) are reserved. */
enum pacs_pdu_rj_reason {
	PACS_PDU_RJ_USER_NO_REASON = 1,
	PACS_PDU_RJ_USER_APP_CONTEXT_NOT_SUPPORTED = 2,
	PACS_PDU_RJ_USER_CALLING_AE_NOT_RECOGNIZED = 3,
	PACS_PDU_RJ_USER_CALLED_AE_NOT_RECOGNIZED = 7,
	PACS_PDU_RJ_ACSE_NO_REASON = 1,
	PACS_PDU_RJ_ACSE_PROTOCOL_VERSION_NOT_SUPPORTED = 2,
	PACS_PDU_RJ_PRESENTATION_TEMPORARY_CONGESTION = 1,
	PACS_PDU_RJ_PRESENTATION_LOCAL_LIMIT_EXCEEDED = 2
};

/* PS3.8 9.3.8 Table 9-26: A-ABORT. */
enum pacs_pdu_abort_source {
	PACS_PDU_ABORT_SOURCE_USER = 0,     /* service-user initiated abort */
	PACS_PDU_ABORT_SOURCE_RESERVED = 1,
	PACS_PDU_ABORT_SOURCE_PROVIDER = 2  /* service-provider initiated abort */
};
/* Significant only when the source is the provider. */
enum pacs_pdu_abort_reason {
	PACS_PDU_ABORT_REASON_NOT_SPECIFIED = 0,
	PACS_PDU_ABORT_UNRECOGNIZED_PDU = 1,
	PACS_PDU_ABORT_UNEXPECTED_PDU = 2,
	PACS_PDU_ABORT_UNRECOGNIZED_PDU_PARAMETER = 4,
	PACS_PDU_ABORT_UNEXPECTED_PDU_PARAMETER = 5,
	PACS_PDU_ABORT_INVALID_PDU_PARAMETER_VALUE = 6
};

/* PS3.7 D.3.3.7.1 Table D.3-14: user identity types. */
enum pacs_pdu_identity_type {
	PACS_PDU_IDENTITY_NONE = 0, /* no User Identity sub-item */
	PACS_PDU_IDENTITY_USERNAME = 1,
	PACS_PDU_IDENTITY_USERNAME_PASSCODE = 2,
	PACS_PDU_IDENTITY_KERBEROS = 3,
	PACS_PDU_IDENTITY_SAML = 4,
	PACS_PDU_IDENTITY_JWT = 5
};

/* PS3.8 E.2: message control header bits of a PDV. */
enum pacs_pdv_flag {
	PACS_PDV_COMMAND = 0x01, /* set: command fragment; clear: data set fragment */
	PACS_PDV_LAST = 0x02     /* set: last fragment of the command or data set */
};

/* One presentation context.  RQ (item 20H): id, abstract syntax and the
 * proposed transfer syntaxes.  AC (item 21H): id, result and, when
 * accepted, the one transfer syntax. */
typedef struct pacs_pdu_pctx {
	uint8_t id;                           /* odd, 1-255 */
	uint8_t result;                       /* AC: enum pacs_pdu_pctx_result */
	const char *abstract_syntax;          /* RQ */
	const char *const *transfer_syntaxes; /* RQ: 1 to PACS_PDU_MAX_TS */
	size_t n_transfer_syntaxes;
	/* AC: the accepted transfer syntax.  Decoded as NULL when result is not
	 * acceptance (PS3.8 9.3.3.2: the sub-item is then not significant);
	 * encoded as an empty sub-item when NULL. */
	const char *transfer_syntax;
} pacs_pdu_pctx;

/* PS3.7 D.3.3.4 SCP/SCU Role Selection (54H): 0 = role not supported /
 * rejected, 1 = supported / accepted. */
typedef struct pacs_pdu_role {
	const char *sop_class_uid;
	uint8_t scu_role;
	uint8_t scp_role;
} pacs_pdu_role;

/* PS3.7 D.3.3.5 SOP Class Extended Negotiation (56H): the service class
 * application information is opaque here. */
typedef struct pacs_pdu_ext_neg {
	const char *sop_class_uid;
	const uint8_t *info;
	size_t info_len;
} pacs_pdu_ext_neg;

/* PS3.7 D.3.3.6 SOP Class Common Extended Negotiation (57H). */
typedef struct pacs_pdu_common_ext_neg {
	const char *sop_class_uid;
	const char *service_class_uid;
	const char *const *related_sop_classes; /* 0 to PACS_PDU_MAX_RELATED */
	size_t n_related;
} pacs_pdu_common_ext_neg;

/* PS3.7 D.3.3.7.1 User Identity, A-ASSOCIATE-RQ (58H).  The fields are
 * bytes, not strings: a passcode or a SAML assertion may hold anything. */
typedef struct pacs_pdu_identity {
	uint8_t type; /* enum pacs_pdu_identity_type; NONE: no sub-item */
	bool positive_response_requested;
	const uint8_t *primary;   /* 1 to 65535 bytes: user name, ticket, assertion, JWT */
	size_t primary_len;
	const uint8_t *secondary; /* passcode: type USERNAME_PASSCODE only, 0 to 65535 bytes */
	size_t secondary_len;
} pacs_pdu_identity;

/* PS3.8 9.3.2.3 User Information item (50H) with its sub-items. */
typedef struct pacs_pdu_user_info {
	uint32_t max_length;          /* PS3.8 D.1: max P-DATA-TF PDU length received; 0 = no limit */
	const char *impl_class_uid;   /* PS3.7 D.3.3.2 (52H); required to encode */
	const char *impl_version_name; /* PS3.7 D.3.3.2 (55H), 1-16 characters; NULL if absent */
	bool has_async_window;        /* PS3.7 D.3.3.3 (53H) */
	uint16_t async_invoked;       /* maximum number of operations invoked; 0 = unlimited */
	uint16_t async_performed;     /* maximum number of operations performed; 0 = unlimited */
	const pacs_pdu_role *roles;
	size_t n_roles;
	const pacs_pdu_ext_neg *ext_neg;
	size_t n_ext_neg;
	const pacs_pdu_common_ext_neg *common_ext_neg; /* an RQ sends these (PS3.7 D.3.3.6) */
	size_t n_common_ext_neg;
	pacs_pdu_identity identity;   /* RQ only */
	bool has_identity_response;   /* AC only: User Identity sub-item (59H) present */
	const uint8_t *identity_response; /* AC: server response, 0 to 65535 bytes */
	size_t identity_response_len;
} pacs_pdu_user_info;

/* A-ASSOCIATE-RQ (PS3.8 9.3.2, Table 9-11) or A-ASSOCIATE-AC (9.3.3,
 * Table 9-17).
 *
 * Decoded objects own everything they point to (one arena, released by
 * pacs_pdu_assoc_free()).  To encode, fill a zeroed struct: the pointers are
 * the caller's and only read. */
typedef struct pacs_pdu_assoc {
	/* Decoded as received; the encoders always send PACS_PDU_PROTOCOL_VERSION.
	 * PS3.8 9.3.2: a receiver tests only bit 0; if it is clear, the
	 * acceptor rejects (source ACSE, reason protocol version). */
	uint16_t protocol_version;
	/* Leading and trailing spaces are not significant (PS3.8 9.3.2): they
	 * are trimmed on decode and the value is space-padded on encode.  In an
	 * AC these are reserved fields that echo the RQ and are not tested. */
	char called_ae[PACS_PDU_AE_MAX + 1];
	char calling_ae[PACS_PDU_AE_MAX + 1];
	/* Bytes 43-74: zero in an RQ; an AC echoes the RQ's (PS3.8 9.3.3). */
	uint8_t reserved[32];
	const char *app_context;      /* NULL encodes PACS_PDU_APP_CONTEXT */
	const pacs_pdu_pctx *pctx;    /* 1 to PACS_PDU_MAX_PCTX, IDs unique */
	size_t n_pctx;
	pacs_pdu_user_info user_info;
} pacs_pdu_assoc;

/* A-ASSOCIATE-RJ (PS3.8 9.3.4, Table 9-21). */
typedef struct pacs_pdu_reject {
	uint8_t result; /* enum pacs_pdu_rj_result */
	uint8_t source; /* enum pacs_pdu_rj_source */
	uint8_t reason; /* enum pacs_pdu_rj_reason, meaning depends on source */
} pacs_pdu_reject;

/* A-ABORT (PS3.8 9.3.8, Table 9-26). */
typedef struct pacs_pdu_abort {
	uint8_t source; /* enum pacs_pdu_abort_source */
	uint8_t reason; /* enum pacs_pdu_abort_reason; 0 when the source is the user */
} pacs_pdu_abort;

/* One Presentation Data Value (PS3.8 9.3.5.1, Table 9-23, and E.2). */
typedef struct pacs_pdv {
	uint8_t pctx_id;     /* odd, 1-255 */
	uint8_t flags;       /* enum pacs_pdv_flag (bits 0-1 of the control header) */
	const uint8_t *data; /* decoded: borrowed from the PDU body */
	size_t len;          /* fragment length (0 allowed) */
} pacs_pdv;

/* ---- decoding ---- */

/* Reads the 6-byte PDU header at the start of buf.
 * ARCA_EAGAIN if fewer than 6 bytes are there (read more);
 * ARCA_EPROTO if the PDU type is not one of PS3.8 9.3.1 (*type is set, for
 * the A-ABORT "unrecognized-PDU" answer); ARCA_ELIMIT if the PDU length is
 * above max_pdu_length (*type and *pdu_length are set). */
int pacs_pdu_peek_header(uint8_t *type, uint32_t *pdu_length, const uint8_t *buf, size_t len,
			 uint32_t max_pdu_length);

/* A-ASSOCIATE-RQ / -AC body.  *out is the caller's: pacs_pdu_assoc_free(). */
int pacs_pdu_decode_assoc_rq(pacs_pdu_assoc **out, const uint8_t *body, size_t len);
int pacs_pdu_decode_assoc_ac(pacs_pdu_assoc **out, const uint8_t *body, size_t len);
/* Frees a decoded A-ASSOCIATE-RQ/AC (only those: never a struct the caller
 * filled).  Accepts NULL. */
void pacs_pdu_assoc_free(pacs_pdu_assoc *a);

/* A-ASSOCIATE-RJ and A-ABORT bodies (4 bytes).  The reason is kept as
 * received; result and source must be values of Table 9-21 / 9-26. */
int pacs_pdu_decode_reject(pacs_pdu_reject *out, const uint8_t *body, size_t len);
int pacs_pdu_decode_abort(pacs_pdu_abort *out, const uint8_t *body, size_t len);

/* A-RELEASE-RQ / -RP bodies: 4 reserved bytes (PS3.8 9.3.6, 9.3.7). */
int pacs_pdu_decode_release_rq(const uint8_t *body, size_t len);
int pacs_pdu_decode_release_rp(const uint8_t *body, size_t len);

/* P-DATA-TF body (PS3.8 9.3.5): fills pdvs[0..*n) in PDU order, with data
 * pointers into body (borrowed: valid while body is).  ARCA_ELIMIT if the
 * PDU holds more than max PDVs. */
int pacs_pdu_decode_pdata(pacs_pdv *pdvs, size_t max, size_t *n, const uint8_t *body, size_t len);

/* Borrowed, static: "A-ASSOCIATE-RQ", ... or "unknown PDU". */
const char *pacs_pdu_type_name(uint8_t type);

/* ---- encoding ---- */

int pacs_pdu_encode_assoc_rq(pacs_buf *out, const pacs_pdu_assoc *a);
int pacs_pdu_encode_assoc_ac(pacs_buf *out, const pacs_pdu_assoc *a);
int pacs_pdu_encode_reject(pacs_buf *out, const pacs_pdu_reject *rj);
int pacs_pdu_encode_abort(pacs_buf *out, const pacs_pdu_abort *ab);
int pacs_pdu_encode_release_rq(pacs_buf *out);
int pacs_pdu_encode_release_rp(pacs_buf *out);
/* One P-DATA-TF holding the n PDVs (n >= 1), fragments copied. */
int pacs_pdu_encode_pdata(pacs_buf *out, const pacs_pdv *pdvs, size_t n);
/* The 12 bytes that precede a fragment of fragment_len bytes in a P-DATA-TF
 * with one PDV, so that a sender can write header and fragment without
 * copying the fragment (writev). */
int pacs_pdu_pdata_single_header(uint8_t hdr[PACS_PDU_PDATA_SINGLE_HEADER_LEN], uint8_t pctx_id,
				 uint8_t flags, size_t fragment_len);

#endif
