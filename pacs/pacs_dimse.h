/* pacs_dimse.h - DIMSE messages (PS3.7): command sets, status codes, and
 * the mapping of messages onto P-DATA-TF PDUs (PS3.8 9.3.5, Annex E).
 *
 * A DIMSE message is a command set (group 0000 elements, always Implicit VR
 * Little Endian, PS3.7 6.3.1) optionally followed by a data set in the
 * presentation context's transfer syntax.  Both travel as Presentation
 * Data Values whose one-byte message control header says command or data
 * set, and whether the fragment is the last one (PS3.8 E.2).
 *
 *   pacs_dimse_cmd            a command set as a plain struct with presence bits
 *   pacs_dimse_cmd_encode/decode   bytes <-> struct, validated per command
 *   pacs_dimse_status_*       status codes and their category (PS3.7 Annex C)
 *   pacs_dimse_frag           outgoing message -> P-DATA-TF PDUs within the
 *                             peer's maximum PDU length, pulled one at a time
 *   pacs_dimse_asm            incoming PDVs -> decoded command, then the data
 *                             set streamed to a callback (e.g. a pacs_reader)
 *
 * Nothing here does I/O or keeps global state. */
#ifndef PACS_DIMSE_H
#define PACS_DIMSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- commands */

/* Command Field (0000,0100) values, PS3.7 Annex E Table E.1-1. */
enum pacs_dimse_command {
	PACS_DIMSE_C_STORE_RQ = 0x0001,
	PACS_DIMSE_C_STORE_RSP = 0x8001,
	PACS_DIMSE_C_GET_RQ = 0x0010,
	PACS_DIMSE_C_GET_RSP = 0x8010,
	PACS_DIMSE_C_FIND_RQ = 0x0020,
	PACS_DIMSE_C_FIND_RSP = 0x8020,
	PACS_DIMSE_C_MOVE_RQ = 0x0021,
	PACS_DIMSE_C_MOVE_RSP = 0x8021,
	PACS_DIMSE_C_ECHO_RQ = 0x0030,
	PACS_DIMSE_C_ECHO_RSP = 0x8030,
	PACS_DIMSE_N_EVENT_REPORT_RQ = 0x0100,
	PACS_DIMSE_N_EVENT_REPORT_RSP = 0x8100,
	PACS_DIMSE_N_GET_RQ = 0x0110,
	PACS_DIMSE_N_GET_RSP = 0x8110,
	PACS_DIMSE_N_SET_RQ = 0x0120,
	PACS_DIMSE_N_SET_RSP = 0x8120,
	PACS_DIMSE_N_ACTION_RQ = 0x0130,
	PACS_DIMSE_N_ACTION_RSP = 0x8130,
	PACS_DIMSE_N_CREATE_RQ = 0x0140,
	PACS_DIMSE_N_CREATE_RSP = 0x8140,
	PACS_DIMSE_N_DELETE_RQ = 0x0150,
	PACS_DIMSE_N_DELETE_RSP = 0x8150,
	PACS_DIMSE_C_CANCEL_RQ = 0x0FFF,
};

/* The response bit of the command field. */
#define PACS_DIMSE_RSP_BIT 0x8000u

/* Priority (0000,0700), PS3.7 Annex E. */
enum pacs_dimse_priority {
	PACS_DIMSE_PRIORITY_MEDIUM = 0x0000,
	PACS_DIMSE_PRIORITY_HIGH = 0x0001,
	PACS_DIMSE_PRIORITY_LOW = 0x0002,
};

/* Command Data Set Type (0000,0800): 0101H means no data set; any other
 * value means one follows (PS3.7 Annex E).  We send 0001H, like DCMTK. */
#define PACS_DIMSE_DATA_SET_ABSENT 0x0101u
#define PACS_DIMSE_DATA_SET_PRESENT 0x0001u

/* Presence bits of the optional and conditional fields (the command field
 * and the data set type are always present).  The comment gives the tag. */
enum pacs_dimse_field {
	PACS_DIMSE_F_AFFECTED_SOP_CLASS = 1u << 0,     /* (0000,0002) UI */
	PACS_DIMSE_F_REQUESTED_SOP_CLASS = 1u << 1,    /* (0000,0003) UI */
	PACS_DIMSE_F_MESSAGE_ID = 1u << 2,             /* (0000,0110) US */
	PACS_DIMSE_F_MESSAGE_ID_RESPONDED = 1u << 3,   /* (0000,0120) US */
	PACS_DIMSE_F_MOVE_DESTINATION = 1u << 4,       /* (0000,0600) AE */
	PACS_DIMSE_F_PRIORITY = 1u << 5,               /* (0000,0700) US */
	PACS_DIMSE_F_STATUS = 1u << 6,                 /* (0000,0900) US */
	PACS_DIMSE_F_OFFENDING_ELEMENT = 1u << 7,      /* (0000,0901) AT, VM 1-n */
	PACS_DIMSE_F_ERROR_COMMENT = 1u << 8,          /* (0000,0902) LO */
	PACS_DIMSE_F_ERROR_ID = 1u << 9,               /* (0000,0903) US */
	PACS_DIMSE_F_AFFECTED_SOP_INSTANCE = 1u << 10, /* (0000,1000) UI */
	PACS_DIMSE_F_REQUESTED_SOP_INSTANCE = 1u << 11,/* (0000,1001) UI */
	PACS_DIMSE_F_EVENT_TYPE_ID = 1u << 12,         /* (0000,1002) US */
	PACS_DIMSE_F_ACTION_TYPE_ID = 1u << 13,        /* (0000,1008) US */
	PACS_DIMSE_F_REMAINING = 1u << 14,             /* (0000,1020) US */
	PACS_DIMSE_F_COMPLETED = 1u << 15,             /* (0000,1021) US */
	PACS_DIMSE_F_FAILED = 1u << 16,                /* (0000,1022) US */
	PACS_DIMSE_F_WARNING = 1u << 17,               /* (0000,1023) US */
	PACS_DIMSE_F_MOVE_ORIGINATOR_AE = 1u << 18,    /* (0000,1030) AE */
	PACS_DIMSE_F_MOVE_ORIGINATOR_ID = 1u << 19,    /* (0000,1031) US */
};

#define PACS_DIMSE_UID_MAX 64          /* PS3.5 Table 6.2-1, UI */
#define PACS_DIMSE_AE_MAX 16           /* PS3.5 Table 6.2-1, AE */
#define PACS_DIMSE_COMMENT_MAX 64      /* PS3.5 Table 6.2-1, LO */
#define PACS_DIMSE_MAX_OFFENDING 16    /* offending elements kept; more are dropped */

/* Largest encoding pacs_dimse_cmd_encode can produce (all fields, maximal
 * values); a buffer of this size always suffices. */
#define PACS_DIMSE_CMD_MAX_SIZE 1024u

/* A command set.  Strings are NUL-terminated and hold the value without
 * its padding.  A field counts only if its bit is in `present`. */
typedef struct pacs_dimse_cmd {
	uint16_t command;               /* enum pacs_dimse_command */
	bool has_data_set;              /* (0000,0800) != 0101H */
	uint32_t present;               /* PACS_DIMSE_F_* bits */
	uint16_t message_id;
	uint16_t message_id_responded;
	uint16_t priority;              /* enum pacs_dimse_priority */
	uint16_t status;
	uint16_t error_id;
	uint16_t event_type_id;
	uint16_t action_type_id;
	uint16_t remaining;             /* number of remaining sub-operations */
	uint16_t completed;
	uint16_t failed;
	uint16_t warning;
	uint16_t move_originator_id;
	char affected_sop_class[PACS_DIMSE_UID_MAX + 1];
	char requested_sop_class[PACS_DIMSE_UID_MAX + 1];
	char affected_sop_instance[PACS_DIMSE_UID_MAX + 1];
	char requested_sop_instance[PACS_DIMSE_UID_MAX + 1];
	char move_destination[PACS_DIMSE_AE_MAX + 1];
	char move_originator_ae[PACS_DIMSE_AE_MAX + 1];
	char error_comment[PACS_DIMSE_COMMENT_MAX + 1];
	uint32_t offending[PACS_DIMSE_MAX_OFFENDING]; /* PACS_TAG(g, e) values */
	size_t offending_count;
} pacs_dimse_cmd;

/* Zeroes *cmd and sets its command field; has_data_set starts false. */
void pacs_dimse_cmd_init(pacs_dimse_cmd *cmd, uint16_t command);

/* Sets a numeric field (any US field bit) and its presence bit.
 * ARCA_EINVAL if field is not exactly one US field bit. */
int pacs_dimse_cmd_set_u16(pacs_dimse_cmd *cmd, uint32_t field, uint16_t value);

/* Copies value into a string field (a UI, AE or LO field bit) and sets its
 * presence bit.  ARCA_EINVAL if value is empty or too long for the VR, or
 * is not a valid UID (digits and dots) for a UI field. */
int pacs_dimse_cmd_set_str(pacs_dimse_cmd *cmd, uint32_t field, const char *value);

/* Sets up rsp as the response to rq (PS3.7 9.3): command field with the
 * response bit, Message ID Being Responded To, the affected SOP class and
 * instance copied when rq has them (or its requested ones, for N-
 * services), the status, no data set.  ARCA_EINVAL if rq is not a request
 * with a message ID, or is C-CANCEL (which has no response). */
int pacs_dimse_cmd_response(pacs_dimse_cmd *rsp, const pacs_dimse_cmd *rq, uint16_t status);

/* Checks that every field PS3.7 requires of this command (9.3 and 10.3
 * message tables) is present and that the data set type is allowed.
 * ARCA_EPROTO with a message naming the first missing field (or the
 * unknown command field).  Conditional fields (C) are not checked. */
int pacs_dimse_cmd_validate(const pacs_dimse_cmd *cmd);

/* Encodes cmd as a command set: (0000,0000) Command Group Length first,
 * then the present fields in ascending tag order, Implicit VR Little
 * Endian, UIs padded with NUL and AE/LO with space to even length.
 * Validates first (pacs_dimse_cmd_validate).  Writes at most cap bytes to
 * buf and the length to *out_len; ARCA_ELIMIT if cap is too small
 * (PACS_DIMSE_CMD_MAX_SIZE never is). */
int pacs_dimse_cmd_encode(uint8_t *buf, size_t cap, size_t *out_len, const pacs_dimse_cmd *cmd);

/* Decodes a complete command set into *out and validates it.  Tolerates a
 * missing group length (its value is not checked: the PDV boundaries
 * delimit the command) and elements in any order; skips group-0000
 * elements it does not know (retired ones such as (0000,0001)); an empty
 * value counts as absent.  Errors, all ARCA_EPROTO: an element of another
 * group, a truncated element, a duplicate field, a numeric field whose
 * length is not 2, a UID or AE title that is too long or has characters
 * its VR does not allow, a missing required field.  An over-long or
 * non-ASCII Error Comment is cut to 64 characters, odd bytes shown as
 * '?', rather than refused: it is only diagnostic.  On error
 * *out still holds every field parsed so far (so a server can answer the
 * message ID with a failure status). */
int pacs_dimse_cmd_decode(pacs_dimse_cmd *out, const uint8_t *data, size_t len);

/* "C-STORE-RQ", ... ; "unknown" for other values.  Static. */
const char *pacs_dimse_command_name(uint16_t command);

/* "Affected SOP Instance UID (0000,1000)" for a single field bit; static. */
const char *pacs_dimse_field_name(uint32_t field);

/* ---------------------------------------------------------------- status */

/* Status (0000,0900) values, PS3.7 Annex C and the service definitions of
 * PS3.4 (B.2.3 C-STORE, C.4.1.1.4 C-FIND, C.4.2.1.5 C-MOVE, C.4.3.1.4
 * C-GET).  Some codes mean different things per service; the names give
 * the common meaning. */
enum pacs_dimse_status {
	PACS_DIMSE_SUCCESS = 0x0000,
	PACS_DIMSE_PENDING = 0xFF00,
	PACS_DIMSE_PENDING_WARNING = 0xFF01,          /* C-FIND: optional keys not supported */
	PACS_DIMSE_CANCEL = 0xFE00,
	/* warnings */
	PACS_DIMSE_WARNING = 0x0001,                  /* PS3.7 C.4.2: generic warning */
	PACS_DIMSE_ATTRIBUTE_LIST_ERROR = 0x0107,
	PACS_DIMSE_ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116,
	PACS_DIMSE_WARNING_COERCION = 0xB000,         /* C-STORE: coercion of data elements;
						       * C-MOVE/C-GET: sub-operations had failures */
	PACS_DIMSE_WARNING_ELEMENTS_DISCARDED = 0xB006,
	PACS_DIMSE_WARNING_DATA_SET_MISMATCH = 0xB007,
	/* failures, PS3.7 C.5 general ones */
	PACS_DIMSE_NO_SUCH_ATTRIBUTE = 0x0105,
	PACS_DIMSE_INVALID_ATTRIBUTE_VALUE = 0x0106,
	PACS_DIMSE_PROCESSING_FAILURE = 0x0110,
	PACS_DIMSE_DUPLICATE_SOP_INSTANCE = 0x0111,
	PACS_DIMSE_NO_SUCH_OBJECT_INSTANCE = 0x0112,
	PACS_DIMSE_NO_SUCH_EVENT_TYPE = 0x0113,
	PACS_DIMSE_NO_SUCH_ARGUMENT = 0x0114,
	PACS_DIMSE_INVALID_ARGUMENT_VALUE = 0x0115,
	PACS_DIMSE_INVALID_OBJECT_INSTANCE = 0x0117,
	PACS_DIMSE_NO_SUCH_SOP_CLASS = 0x0118,
	PACS_DIMSE_CLASS_INSTANCE_CONFLICT = 0x0119,
	PACS_DIMSE_MISSING_ATTRIBUTE = 0x0120,
	PACS_DIMSE_MISSING_ATTRIBUTE_VALUE = 0x0121,
	PACS_DIMSE_SOP_CLASS_NOT_SUPPORTED = 0x0122,
	PACS_DIMSE_NO_SUCH_ACTION = 0x0123,
	PACS_DIMSE_NOT_AUTHORIZED = 0x0124,
	PACS_DIMSE_DUPLICATE_INVOCATION = 0x0210,
	PACS_DIMSE_UNRECOGNIZED_OPERATION = 0x0211,
	PACS_DIMSE_MISTYPED_ARGUMENT = 0x0212,
	PACS_DIMSE_RESOURCE_LIMITATION = 0x0213,
	/* failures, service specific (PS3.4) */
	PACS_DIMSE_OUT_OF_RESOURCES = 0xA700,         /* C-STORE, C-FIND refused */
	PACS_DIMSE_OUT_OF_RESOURCES_MATCHES = 0xA701, /* C-MOVE/C-GET: cannot count matches */
	PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS = 0xA702,  /* C-MOVE/C-GET: cannot do sub-operations */
	PACS_DIMSE_MOVE_DESTINATION_UNKNOWN = 0xA801,
	PACS_DIMSE_DATA_SET_MISMATCH = 0xA900,        /* data set / identifier does not match SOP class */
	PACS_DIMSE_CANNOT_UNDERSTAND = 0xC000,
};

enum pacs_dimse_status_category {
	PACS_DIMSE_STATUS_SUCCESS,
	PACS_DIMSE_STATUS_PENDING,
	PACS_DIMSE_STATUS_CANCEL,
	PACS_DIMSE_STATUS_WARNING,
	PACS_DIMSE_STATUS_FAILURE,
};

/* The category of a status code: 0000H success; FF00H/FF01H pending;
 * FE00H cancel; 0001H, 0107H, 0116H and Bxxx warning; everything else
 * (Axxx, Cxxx, the 01xx/02xx failures, and codes the standard does not
 * define) failure, as an SCU must not take an unknown code for success. */
enum pacs_dimse_status_category pacs_dimse_status_category(uint16_t status);

/* "success", "pending", "cancel", "warning", "failure"; static. */
const char *pacs_dimse_status_category_name(enum pacs_dimse_status_category c);

/* A short description of a named status ("out of resources"), or of its
 * range ("failure: cannot understand" for Cxxx); static, never NULL. */
const char *pacs_dimse_status_name(uint16_t status);

/* ---------------------------------------------------------------- PDVs */

/* Message control header bits, PS3.8 Annex E.2 (the same values as
 * pacs_pdu.h's enum pacs_pdv_flag).  Bits 2-7 are sent as 0 and ignored on
 * receipt. */
#define PACS_DIMSE_PDV_COMMAND 0x01u   /* bit 0: 1 = command, 0 = data set */
#define PACS_DIMSE_PDV_LAST 0x02u      /* bit 1: last fragment of command or data set */

/* Sizes of the P-DATA-TF framing around one PDV (PS3.8 9.3.5, Tables
 * 9-22 and 9-23): PDU type, reserved, PDU length; then the PDV item
 * length, presentation context ID and message control header. */
#define PACS_DIMSE_PDU_HEADER 6u
#define PACS_DIMSE_PDV_HEADER 6u

/* PS3.8 D.1: the peer's Maximum Length Received limits the PDU-length
 * field of the P-DATA-TF PDUs sent to it, i.e. the variable field, which
 * here is one PDV item: 4 + 1 + 1 + fragment bytes.  So a fragment holds
 * at most max - 6 bytes and the PDU on the wire is at most max + 6 bytes.
 * Maximum 0 means no limit.  Whatever the maximum, fragments are cut at
 * PACS_DIMSE_FRAGMENT_CAP bytes too (smaller PDUs are always allowed), so
 * the fragmenter's buffers stay small. */
#define PACS_DIMSE_FRAGMENT_CAP (256u * 1024u)

/* The smallest maximum length we can honour (one data byte per PDV). */
#define PACS_DIMSE_MIN_MAX_PDU (PACS_DIMSE_PDV_HEADER + 1u)

/* Fills buf[0..cap) with the next bytes of the data set; sets *got to the
 * number written and to 0 only at the end of the data set.  Returns 0 or
 * a negative ARCA_E* code (which the fragmenter returns). */
typedef int (*pacs_dimse_producer_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *got);

/* One outgoing message.  Everything is borrowed until the fragmenter is
 * freed.  The data set comes from data/data_len, or from producer when
 * data is NULL; with both NULL the message has no data set. */
typedef struct pacs_dimse_out {
	uint8_t pc_id;                  /* presentation context ID: odd, 1-255 */
	const uint8_t *command;         /* encoded command set (pacs_dimse_cmd_encode) */
	size_t command_len;
	const uint8_t *data;            /* data set in the context's transfer syntax */
	size_t data_len;
	pacs_dimse_producer_fn producer;
	void *producer_ctx;
} pacs_dimse_out;

typedef struct pacs_dimse_frag pacs_dimse_frag;

/* Prepares to send msg as P-DATA-TF PDUs of one PDV each, every PDU-length
 * field <= max_pdu (the peer's Maximum Length Received; 0 = unlimited).
 * *out is the caller's (pacs_dimse_frag_free).  ARCA_EINVAL for an even or
 * zero context ID, an empty command, or 0 < max_pdu < PACS_DIMSE_MIN_MAX_PDU. */
int pacs_dimse_frag_new(pacs_dimse_frag **out, const pacs_dimse_out *msg, uint32_t max_pdu);

/* The next PDU: *pdu (borrowed until the next call or free) and its
 * length.  Command fragments come first, then data set fragments; the
 * last of each has PACS_DIMSE_PDV_LAST.  When the message is complete, returns
 * 0 with *pdu NULL and *len 0.  Producer errors are returned as they come;
 * after an error the fragmenter only frees. */
int pacs_dimse_frag_next(pacs_dimse_frag *f, const uint8_t **pdu, size_t *len);

void pacs_dimse_frag_free(pacs_dimse_frag *f);

/* Receives each PDU; returns 0 or a negative ARCA_E* code to stop. */
typedef int (*pacs_dimse_sink_fn)(void *ctx, const uint8_t *pdu, size_t len);

/* Convenience: fragments msg and hands every PDU to sink in order. */
int pacs_dimse_fragment(const pacs_dimse_out *msg, uint32_t max_pdu,
			pacs_dimse_sink_fn sink, void *sink_ctx);

/* ---------------------------------------------------------------- assembler */

/* Largest command set accepted (sum of its fragments).  Real ones are
 * below 1 KiB. */
#define PACS_DIMSE_MAX_COMMAND (64u * 1024u)

typedef struct pacs_dimse_asm_cb {
	/* A command set is complete and valid.  If !cmd->has_data_set the
	 * message is complete too. */
	int (*command)(void *ctx, uint8_t pc_id, const pacs_dimse_cmd *cmd);
	/* A fragment of the data set, in order; last is true on the final one
	 * (which may be empty), which completes the message. */
	int (*data)(void *ctx, uint8_t pc_id, const uint8_t *bytes, size_t len, bool last);
} pacs_dimse_asm_cb;

typedef struct pacs_dimse_asm pacs_dimse_asm;

/* *out is the caller's (pacs_dimse_asm_free).  cb is copied, ctx borrowed;
 * both callbacks are required. */
int pacs_dimse_asm_new(pacs_dimse_asm **out, const pacs_dimse_asm_cb *cb, void *ctx);
void pacs_dimse_asm_free(pacs_dimse_asm *a);

/* Takes one PDV, in arrival order: its presentation context ID, message
 * control header and fragment bytes (borrowed for the call).  Returns 0,
 * a callback's error, or ARCA_EPROTO for: a data set fragment before its
 * command, a command fragment while a data set is open, a context ID that
 * changes within a message, data set bytes after a command whose data
 * set type said none, or a command that does not decode; ARCA_ELIMIT for a
 * command longer than PACS_DIMSE_MAX_COMMAND.
 *
 * After a command that parsed but failed validation (a missing field, an
 * unknown command field), pacs_dimse_asm_rejected() gives it, and if it
 * announced a data set the assembler silently drops that data set, so a
 * server may answer with a failure status and carry on.  After any other
 * error the stream cannot be trusted: every further call fails and the
 * caller should abort the association. */
int pacs_dimse_asm_feed(pacs_dimse_asm *a, uint8_t pc_id, uint8_t control,
			const uint8_t *bytes, size_t len);

/* The command rejected by the last failed pacs_dimse_asm_feed, if it could
 * be parsed (present bits say which fields are known); NULL otherwise.
 * Borrowed until the next feed. */
const pacs_dimse_cmd *pacs_dimse_asm_rejected(const pacs_dimse_asm *a);

/* True between messages (nothing half received): where an A-RELEASE may
 * be accepted. */
bool pacs_dimse_asm_idle(const pacs_dimse_asm *a);

#endif
