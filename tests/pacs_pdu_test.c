/* pacs_pdu_test.c - the Upper Layer PDU codec (pacs_pdu.h, PS3.8 9.3).
 *
 * Exact bytes: every PDU type is encoded and compared with a layout
 * written out by hand (lengths counted by hand), then decoded back.
 * Interop: PDUs captured from DCMTK 3.6.7 (echoscu's A-ASSOCIATE-RQ,
 * storescp's A-ASSOCIATE-AC to it and to an RQ from our encoder) are
 * decoded and re-encoded.  Malformed
 * input: each failure is checked for its code and for the byte offset in
 * its message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_pdu.h"

#define UID_VERIFICATION "1.2.840.10008.1.1"
#define UID_CT "1.2.840.10008.5.1.4.1.1.2"
#define TS_IMPLICIT "1.2.840.10008.1.2"
#define TS_EXPLICIT "1.2.840.10008.1.2.1"

/* ------------------------------------------------------------ expected bytes */

static const uint8_t rq_expected[] = {
	/* A-ASSOCIATE-RQ, reserved, PDU length 323 */
	0x01, 0x00, 0x00, 0x00, 0x01, 0x43,
	/* protocol version 1, reserved */
	0x00, 0x01, 0x00, 0x00,
	/* called AE "ARCA_SCP", space padded */
	'A', 'R', 'C', 'A', '_', 'S', 'C', 'P', ' ', ' ', ' ', ' ',
	' ', ' ', ' ', ' ',
	/* calling AE "MODALITY1" */
	'M', 'O', 'D', 'A', 'L', 'I', 'T', 'Y', '1', ' ', ' ', ' ',
	' ', ' ', ' ', ' ',
	/* 32 reserved bytes */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* Application Context item, 21 bytes */
	0x10, 0x00, 0x00, 0x15, '1', '.', '2', '.', '8', '4', '0', '.',
	'1', '0', '0', '0', '8', '.', '3', '.', '1', '.', '1', '.',
	'1',
	/* Presentation Context item, 46 bytes: ID 1, 3 reserved */
	0x20, 0x00, 0x00, 0x2e, 0x01, 0x00, 0x00, 0x00,
	/*   Abstract Syntax, 17 bytes: Verification */
	0x30, 0x00, 0x00, 0x11, '1', '.', '2', '.', '8', '4', '0', '.',
	'1', '0', '0', '0', '8', '.', '1', '.', '1',
	/*   Transfer Syntax, 17 bytes: Implicit VR Little Endian */
	0x40, 0x00, 0x00, 0x11, '1', '.', '2', '.', '8', '4', '0', '.',
	'1', '0', '0', '0', '8', '.', '1', '.', '2',
	/* Presentation Context item, 77 bytes: ID 3, 3 reserved */
	0x20, 0x00, 0x00, 0x4d, 0x03, 0x00, 0x00, 0x00,
	/*   Abstract Syntax, 25 bytes: CT Image Storage */
	0x30, 0x00, 0x00, 0x19, '1', '.', '2', '.', '8', '4', '0', '.',
	'1', '0', '0', '0', '8', '.', '5', '.', '1', '.', '4', '.',
	'1', '.', '1', '.', '2',
	/*   Transfer Syntax, 19 bytes: Explicit VR Little Endian */
	0x40, 0x00, 0x00, 0x13, '1', '.', '2', '.', '8', '4', '0', '.',
	'1', '0', '0', '0', '8', '.', '1', '.', '2', '.', '1',
	/*   Transfer Syntax, 17 bytes: Implicit VR Little Endian */
	0x40, 0x00, 0x00, 0x11, '1', '.', '2', '.', '8', '4', '0', '.',
	'1', '0', '0', '0', '8', '.', '1', '.', '2',
	/* User Information item, 95 bytes */
	0x50, 0x00, 0x00, 0x5f,
	/*   Maximum Length 16384 */
	0x51, 0x00, 0x00, 0x04, 0x00, 0x00, 0x40, 0x00,
	/*   Implementation Class UID, 9 bytes */
	0x52, 0x00, 0x00, 0x09, '1', '.', '2', '.', '3', '.', '4', '.',
	'5',
	/*   Asynchronous Operations Window: 3 invoked, 2 performed */
	0x53, 0x00, 0x00, 0x04, 0x00, 0x03, 0x00, 0x02,
	/*   SCP/SCU Role Selection, 29 bytes: CT Image Storage, SCU 1, SCP 0 */
	0x54, 0x00, 0x00, 0x1d, 0x00, 0x19, '1', '.', '2', '.', '8', '4',
	'0', '.', '1', '0', '0', '0', '8', '.', '5', '.', '1', '.',
	'4', '.', '1', '.', '1', '.', '2', 0x01, 0x00,
	/*   Implementation Version Name, 8 bytes */
	0x55, 0x00, 0x00, 0x08, 'A', 'R', 'C', 'A', '_', '0', '1', '0',
	/*   User Identity, 17 bytes: type 2, response requested, "alice", "s3cret" */
	0x58, 0x00, 0x00, 0x11, 0x02, 0x01, 0x00, 0x05, 'a', 'l', 'i', 'c',
	'e', 0x00, 0x06, 's', '3', 'c', 'r', 'e', 't',
};
static const uint8_t ac_expected[] = {
	/* A-ASSOCIATE-AC, reserved, PDU length 248 */
	0x02, 0x00, 0x00, 0x00, 0x00, 0xf8,
	/* protocol version 1, reserved */
	0x00, 0x01, 0x00, 0x00,
	/* called AE echoed */
	'A', 'R', 'C', 'A', '_', 'S', 'C', 'P', ' ', ' ', ' ', ' ',
	' ', ' ', ' ', ' ',
	/* calling AE echoed */
	'M', 'O', 'D', 'A', 'L', 'I', 'T', 'Y', '1', ' ', ' ', ' ',
	' ', ' ', ' ', ' ',
	/* 32 reserved bytes echoed */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* Application Context item, 21 bytes */
	0x10, 0x00, 0x00, 0x15, '1', '.', '2', '.', '8', '4', '0', '.',
	'1', '0', '0', '0', '8', '.', '3', '.', '1', '.', '1', '.',
	'1',
	/* Presentation Context item, 25 bytes: ID 1, acceptance */
	0x21, 0x00, 0x00, 0x19, 0x01, 0x00, 0x00, 0x00,
	/*   Transfer Syntax, 17 bytes */
	0x40, 0x00, 0x00, 0x11, '1', '.', '2', '.', '8', '4', '0', '.',
	'1', '0', '0', '0', '8', '.', '1', '.', '2',
	/* Presentation Context ID 3, user-rejection, empty Transfer Syntax */
	0x21, 0x00, 0x00, 0x08, 0x03, 0x00, 0x01, 0x00, 0x40, 0x00, 0x00, 0x00,
	/* Presentation Context ID 5, no-reason */
	0x21, 0x00, 0x00, 0x08, 0x05, 0x00, 0x02, 0x00, 0x40, 0x00, 0x00, 0x00,
	/* Presentation Context ID 7, abstract-syntax-not-supported */
	0x21, 0x00, 0x00, 0x08, 0x07, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x00,
	/* Presentation Context ID 9, transfer-syntaxes-not-supported */
	0x21, 0x00, 0x00, 0x08, 0x09, 0x00, 0x04, 0x00, 0x40, 0x00, 0x00, 0x00,
	/* User Information item, 74 bytes */
	0x50, 0x00, 0x00, 0x4a,
	/*   Maximum Length 65536 */
	0x51, 0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00,
	/*   Implementation Class UID */
	0x52, 0x00, 0x00, 0x09, '1', '.', '2', '.', '3', '.', '4', '.',
	'5',
	/*   SCP/SCU Role Selection: CT Image Storage, SCU accepted, SCP not */
	0x54, 0x00, 0x00, 0x1d, 0x00, 0x19, '1', '.', '2', '.', '8', '4',
	'0', '.', '1', '0', '0', '0', '8', '.', '5', '.', '1', '.',
	'4', '.', '1', '.', '1', '.', '2', 0x01, 0x00,
	/*   Implementation Version Name */
	0x55, 0x00, 0x00, 0x08, 'A', 'R', 'C', 'A', '_', '0', '1', '0',
	/*   User Identity server response "ok" */
	0x59, 0x00, 0x00, 0x04, 0x00, 0x02, 'o', 'k',
};

/* DCMTK 3.6.7 `echoscu -aet ECHOSCU -aec ARCA 127.0.0.1 PORT`, the bytes it
 * sent to a loopback listener.  Note the FFH in the reserved byte 7 of its
 * Presentation Context item (PDU offset 105): reserved fields are not tested. */
static const uint8_t echoscu_rq[211] = {
	0x01, 0x00, 0x00, 0x00, 0x00, 0xcd, 0x00, 0x01, 0x00, 0x00, 0x41, 0x52,
	0x43, 0x41, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
	0x20, 0x20, 0x45, 0x43, 0x48, 0x4f, 0x53, 0x43, 0x55, 0x20, 0x20, 0x20,
	0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x15, 0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34,
	0x30, 0x2e, 0x31, 0x30, 0x30, 0x30, 0x38, 0x2e, 0x33, 0x2e, 0x31, 0x2e,
	0x31, 0x2e, 0x31, 0x20, 0x00, 0x00, 0x2e, 0x01, 0x00, 0xff, 0x00, 0x30,
	0x00, 0x00, 0x11, 0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34, 0x30, 0x2e, 0x31,
	0x30, 0x30, 0x30, 0x38, 0x2e, 0x31, 0x2e, 0x31, 0x40, 0x00, 0x00, 0x11,
	0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34, 0x30, 0x2e, 0x31, 0x30, 0x30, 0x30,
	0x38, 0x2e, 0x31, 0x2e, 0x32, 0x50, 0x00, 0x00, 0x3a, 0x51, 0x00, 0x00,
	0x04, 0x00, 0x00, 0x40, 0x00, 0x52, 0x00, 0x00, 0x1b, 0x31, 0x2e, 0x32,
	0x2e, 0x32, 0x37, 0x36, 0x2e, 0x30, 0x2e, 0x37, 0x32, 0x33, 0x30, 0x30,
	0x31, 0x30, 0x2e, 0x33, 0x2e, 0x30, 0x2e, 0x33, 0x2e, 0x36, 0x2e, 0x37,
	0x55, 0x00, 0x00, 0x0f, 0x4f, 0x46, 0x46, 0x49, 0x53, 0x5f, 0x44, 0x43,
	0x4d, 0x54, 0x4b, 0x5f, 0x33, 0x36, 0x37,
};

/* DCMTK 3.6.7 `storescp -aet ARCA PORT`: its answer to the echoscu RQ above. */
static const uint8_t storescp_ac[190] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x41, 0x52,
	0x43, 0x41, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
	0x20, 0x20, 0x45, 0x43, 0x48, 0x4f, 0x53, 0x43, 0x55, 0x20, 0x20, 0x20,
	0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x15, 0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34,
	0x30, 0x2e, 0x31, 0x30, 0x30, 0x30, 0x38, 0x2e, 0x33, 0x2e, 0x31, 0x2e,
	0x31, 0x2e, 0x31, 0x21, 0x00, 0x00, 0x19, 0x01, 0x00, 0x00, 0x00, 0x40,
	0x00, 0x00, 0x11, 0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34, 0x30, 0x2e, 0x31,
	0x30, 0x30, 0x30, 0x38, 0x2e, 0x31, 0x2e, 0x32, 0x50, 0x00, 0x00, 0x3a,
	0x51, 0x00, 0x00, 0x04, 0x00, 0x00, 0x40, 0x00, 0x52, 0x00, 0x00, 0x1b,
	0x31, 0x2e, 0x32, 0x2e, 0x32, 0x37, 0x36, 0x2e, 0x30, 0x2e, 0x37, 0x32,
	0x33, 0x30, 0x30, 0x31, 0x30, 0x2e, 0x33, 0x2e, 0x30, 0x2e, 0x33, 0x2e,
	0x36, 0x2e, 0x37, 0x55, 0x00, 0x00, 0x0f, 0x4f, 0x46, 0x46, 0x49, 0x53,
	0x5f, 0x44, 0x43, 0x4d, 0x54, 0x4b, 0x5f, 0x33, 0x36, 0x37,
};

/* DCMTK 3.6.7 `storescp -aet STORESCP PORT`: its answer to the RQ that
 * arca_rq() below encodes (Verification and an unknown abstract syntax
 * 1.2.3.4.5.6.7).  It accepts context 1 with Explicit VR Little Endian and
 * rejects context 3 with 3 (abstract-syntax-not-supported), repeating the
 * proposed transfer syntax in the sub-item that is then not significant. */
static const uint8_t storescp_ac2[221] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xd7, 0x00, 0x01, 0x00, 0x00, 0x53, 0x54,
	0x4f, 0x52, 0x45, 0x53, 0x43, 0x50, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
	0x20, 0x20, 0x41, 0x52, 0x43, 0x41, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
	0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x15, 0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34,
	0x30, 0x2e, 0x31, 0x30, 0x30, 0x30, 0x38, 0x2e, 0x33, 0x2e, 0x31, 0x2e,
	0x31, 0x2e, 0x31, 0x21, 0x00, 0x00, 0x1b, 0x01, 0x00, 0x00, 0x00, 0x40,
	0x00, 0x00, 0x13, 0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34, 0x30, 0x2e, 0x31,
	0x30, 0x30, 0x30, 0x38, 0x2e, 0x31, 0x2e, 0x32, 0x2e, 0x31, 0x21, 0x00,
	0x00, 0x19, 0x03, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x11, 0x31, 0x2e,
	0x32, 0x2e, 0x38, 0x34, 0x30, 0x2e, 0x31, 0x30, 0x30, 0x30, 0x38, 0x2e,
	0x31, 0x2e, 0x32, 0x50, 0x00, 0x00, 0x3a, 0x51, 0x00, 0x00, 0x04, 0x00,
	0x00, 0x40, 0x00, 0x52, 0x00, 0x00, 0x1b, 0x31, 0x2e, 0x32, 0x2e, 0x32,
	0x37, 0x36, 0x2e, 0x30, 0x2e, 0x37, 0x32, 0x33, 0x30, 0x30, 0x31, 0x30,
	0x2e, 0x33, 0x2e, 0x30, 0x2e, 0x33, 0x2e, 0x36, 0x2e, 0x37, 0x55, 0x00,
	0x00, 0x0f, 0x4f, 0x46, 0x46, 0x49, 0x53, 0x5f, 0x44, 0x43, 0x4d, 0x54,
	0x4b, 0x5f, 0x33, 0x36, 0x37,
};

/* ------------------------------------------------------------ helpers */

/* The RQ of rq_expected, as a caller fills it. */
static const char *const pc1_ts[] = { TS_IMPLICIT };
static const char *const pc3_ts[] = { TS_EXPLICIT, TS_IMPLICIT };
static const pacs_pdu_pctx rq_pctx[] = {
	{ .id = 1, .abstract_syntax = UID_VERIFICATION, .transfer_syntaxes = pc1_ts, .n_transfer_syntaxes = 1 },
	{ .id = 3, .abstract_syntax = UID_CT, .transfer_syntaxes = pc3_ts, .n_transfer_syntaxes = 2 },
};
static const pacs_pdu_role ct_role[] = { { UID_CT, 1, 0 } };

static void fill_rq(pacs_pdu_assoc *a)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->called_ae, "ARCA_SCP");
	strcpy(a->calling_ae, "MODALITY1");
	a->pctx = rq_pctx;
	a->n_pctx = 2;
	a->user_info.max_length = 16384;
	a->user_info.impl_class_uid = "1.2.3.4.5";
	a->user_info.impl_version_name = "ARCA_010";
	a->user_info.has_async_window = true;
	a->user_info.async_invoked = 3;
	a->user_info.async_performed = 2;
	a->user_info.roles = ct_role;
	a->user_info.n_roles = 1;
	a->user_info.identity.type = PACS_PDU_IDENTITY_USERNAME_PASSCODE;
	a->user_info.identity.positive_response_requested = true;
	a->user_info.identity.primary = (const uint8_t *)"alice";
	a->user_info.identity.primary_len = 5;
	a->user_info.identity.secondary = (const uint8_t *)"s3cret";
	a->user_info.identity.secondary_len = 6;
}

static const pacs_pdu_pctx ac_pctx[] = {
	{ .id = 1, .result = PACS_PDU_PCTX_ACCEPTANCE, .transfer_syntax = TS_IMPLICIT },
	{ .id = 3, .result = PACS_PDU_PCTX_USER_REJECTION },
	{ .id = 5, .result = PACS_PDU_PCTX_NO_REASON },
	{ .id = 7, .result = PACS_PDU_PCTX_ABSTRACT_SYNTAX_NOT_SUPPORTED },
	{ .id = 9, .result = PACS_PDU_PCTX_TRANSFER_SYNTAXES_NOT_SUPPORTED },
};

static void fill_ac(pacs_pdu_assoc *a)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->called_ae, "ARCA_SCP");
	strcpy(a->calling_ae, "MODALITY1");
	a->pctx = ac_pctx;
	a->n_pctx = 5;
	a->user_info.max_length = 65536;
	a->user_info.impl_class_uid = "1.2.3.4.5";
	a->user_info.impl_version_name = "ARCA_010";
	a->user_info.roles = ct_role;
	a->user_info.n_roles = 1;
	a->user_info.has_identity_response = true;
	a->user_info.identity_response = (const uint8_t *)"ok";
	a->user_info.identity_response_len = 2;
}

static void assert_bytes(const pacs_buf *b, const uint8_t *want, size_t n)
{
	assert_int_equal(pacs_buf_len(b), n);
	assert_memory_equal(pacs_buf_data(b), want, n);
}

static void assert_msg(const char *needle)
{
	if (strstr(arca_error_last(), needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", arca_error_last(), needle);
}

/* A small PDU builder for malformed input: items are opened and closed,
 * and close writes the length of what was added in between. */
typedef struct tb {
	uint8_t b[70000];
	size_t n;
	size_t open[8];
	int depth;
} tb;

static void tb_u8(tb *t, uint8_t v)
{
	assert_true(t->n < sizeof(t->b));
	t->b[t->n++] = v;
}

static void tb_u16(tb *t, unsigned v)
{
	tb_u8(t, (uint8_t)(v >> 8));
	tb_u8(t, (uint8_t)v);
}

static void tb_u32(tb *t, uint32_t v)
{
	tb_u16(t, v >> 16);
	tb_u16(t, v & 0xffff);
}

static void tb_str(tb *t, const char *s)
{
	while (*s)
		tb_u8(t, (uint8_t)*s++);
}

static void tb_fill(tb *t, uint8_t v, size_t n)
{
	while (n--)
		tb_u8(t, v);
}

/* type, reserved, 16-bit length to be patched */
static void tb_open(tb *t, uint8_t type)
{
	tb_u8(t, type);
	tb_u8(t, 0);
	t->open[t->depth++] = t->n;
	tb_u16(t, 0);
}

static void tb_close(tb *t)
{
	size_t at = t->open[--t->depth];
	size_t len = t->n - at - 2;

	t->b[at] = (uint8_t)(len >> 8);
	t->b[at + 1] = (uint8_t)len;
}

static void tb_uid_item(tb *t, uint8_t type, const char *uid)
{
	tb_open(t, type);
	tb_str(t, uid);
	tb_close(t);
}

static tb *tb_new(void)
{
	tb *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	return t;
}

/* PDU header and fixed fields of an RQ (6 + 68 bytes) and its
 * Application Context item. */
static void tb_rq_head(tb *t)
{
	tb_u8(t, PACS_PDU_ASSOCIATE_RQ);
	tb_u8(t, 0);
	tb_u32(t, 0);
	tb_u16(t, 1);
	tb_u16(t, 0);
	tb_str(t, "ARCA            ");
	tb_str(t, "SCU             ");
	tb_fill(t, 0, 32);
	tb_uid_item(t, PACS_PDU_ITEM_APP_CONTEXT, PACS_PDU_APP_CONTEXT);
}

static void tb_pctx(tb *t, uint8_t id, const char *as, const char *ts)
{
	tb_open(t, PACS_PDU_ITEM_PCTX_RQ);
	tb_u8(t, id);
	tb_fill(t, 0, 3);
	if (as != NULL)
		tb_uid_item(t, PACS_PDU_ITEM_ABSTRACT_SYNTAX, as);
	if (ts != NULL)
		tb_uid_item(t, PACS_PDU_ITEM_TRANSFER_SYNTAX, ts);
	tb_close(t);
}

static void tb_open_user_info(tb *t)
{
	tb_open(t, PACS_PDU_ITEM_USER_INFO);
	tb_open(t, PACS_PDU_ITEM_MAX_LENGTH);
	tb_u32(t, 16384);
	tb_close(t);
	tb_uid_item(t, PACS_PDU_ITEM_IMPL_CLASS_UID, "1.2.3");
}

/* Patches the PDU length and decodes the body as an RQ. */
static int tb_decode_rq(tb *t, pacs_pdu_assoc **out)
{
	uint32_t len = (uint32_t)(t->n - 6);

	t->b[2] = (uint8_t)(len >> 24);
	t->b[3] = (uint8_t)(len >> 16);
	t->b[4] = (uint8_t)(len >> 8);
	t->b[5] = (uint8_t)len;
	*out = NULL;
	return pacs_pdu_decode_assoc_rq(out, t->b + 6, t->n - 6);
}

/* ------------------------------------------------------------ A-ASSOCIATE-RQ */

static void test_rq_encode_bytes(void **state)
{
	pacs_pdu_assoc a;
	pacs_buf b;
	uint8_t type;
	uint32_t len;

	(void)state;
	fill_rq(&a);
	pacs_buf_init(&b, 65536);
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &a), 0);
	assert_bytes(&b, rq_expected, sizeof(rq_expected));
	assert_int_equal(pacs_pdu_peek_header(&type, &len, pacs_buf_data(&b), pacs_buf_len(&b), 65536), 0);
	assert_int_equal(type, PACS_PDU_ASSOCIATE_RQ);
	assert_int_equal(len, 323);
	pacs_buf_free(&b);
}

static void test_rq_decode_fields(void **state)
{
	pacs_pdu_assoc *a;
	const pacs_pdu_user_info *ui;

	(void)state;
	assert_int_equal(pacs_pdu_decode_assoc_rq(&a, rq_expected + 6, sizeof(rq_expected) - 6), 0);
	assert_int_equal(a->protocol_version, 1);
	assert_string_equal(a->called_ae, "ARCA_SCP");
	assert_string_equal(a->calling_ae, "MODALITY1");
	assert_string_equal(a->app_context, PACS_PDU_APP_CONTEXT);
	assert_int_equal(a->n_pctx, 2);
	assert_int_equal(a->pctx[0].id, 1);
	assert_string_equal(a->pctx[0].abstract_syntax, UID_VERIFICATION);
	assert_int_equal(a->pctx[0].n_transfer_syntaxes, 1);
	assert_string_equal(a->pctx[0].transfer_syntaxes[0], TS_IMPLICIT);
	assert_int_equal(a->pctx[1].id, 3);
	assert_string_equal(a->pctx[1].abstract_syntax, UID_CT);
	assert_int_equal(a->pctx[1].n_transfer_syntaxes, 2);
	assert_string_equal(a->pctx[1].transfer_syntaxes[0], TS_EXPLICIT);
	assert_string_equal(a->pctx[1].transfer_syntaxes[1], TS_IMPLICIT);
	ui = &a->user_info;
	assert_int_equal(ui->max_length, 16384);
	assert_string_equal(ui->impl_class_uid, "1.2.3.4.5");
	assert_string_equal(ui->impl_version_name, "ARCA_010");
	assert_true(ui->has_async_window);
	assert_int_equal(ui->async_invoked, 3);
	assert_int_equal(ui->async_performed, 2);
	assert_int_equal(ui->n_roles, 1);
	assert_string_equal(ui->roles[0].sop_class_uid, UID_CT);
	assert_int_equal(ui->roles[0].scu_role, 1);
	assert_int_equal(ui->roles[0].scp_role, 0);
	assert_int_equal(ui->identity.type, PACS_PDU_IDENTITY_USERNAME_PASSCODE);
	assert_true(ui->identity.positive_response_requested);
	assert_int_equal(ui->identity.primary_len, 5);
	assert_memory_equal(ui->identity.primary, "alice", 5);
	assert_int_equal(ui->identity.secondary_len, 6);
	assert_memory_equal(ui->identity.secondary, "s3cret", 6);
	assert_false(ui->has_identity_response);
	assert_int_equal(ui->n_ext_neg, 0);
	assert_int_equal(ui->n_common_ext_neg, 0);
	pacs_pdu_assoc_free(a);
	pacs_pdu_assoc_free(NULL);
}

/* PS3.8 9.3: reserved fields are "not tested to this value when received". */
static void test_rq_reserved_not_tested(void **state)
{
	uint8_t v[sizeof(rq_expected)];
	pacs_pdu_assoc *a;
	size_t i;

	(void)state;
	memcpy(v, rq_expected, sizeof(v));
	v[8] = v[9] = 0xff;             /* after the protocol version */
	for (i = 42; i < 74; i++)       /* bytes 43-74 */
		v[i] = 0xa5;
	v[75] = 0xff;                   /* Application Context item */
	v[104] = v[105] = v[106] = 0xff; /* Presentation Context ID 1 */
	v[230 + 1] = 0xff;              /* User Information item */
	v[6] = 0x00;
	v[7] = 0x03;                    /* protocol version: only bit 0 counts */
	assert_int_equal(pacs_pdu_decode_assoc_rq(&a, v + 6, sizeof(v) - 6), 0);
	assert_int_equal(a->protocol_version, 3);
	assert_int_equal(a->reserved[0], 0xa5);
	assert_int_equal(a->n_pctx, 2);
	assert_string_equal(a->pctx[0].transfer_syntaxes[0], TS_IMPLICIT);
	assert_int_equal(a->user_info.max_length, 16384);
	pacs_pdu_assoc_free(a);
}

/* PS3.8 D.2 note 2: unknown user information sub-items are ignored. */
static void test_rq_unknown_sub_item_skipped(void **state)
{
	tb *t = tb_new();
	pacs_pdu_assoc *a;

	(void)state;
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_open(t, 0x5f);
	tb_str(t, "future");
	tb_close(t);
	tb_open(t, PACS_PDU_ITEM_USER_IDENTITY_AC); /* AC only: ignored in an RQ */
	tb_u16(t, 0);
	tb_close(t);
	tb_uid_item(t, PACS_PDU_ITEM_IMPL_VERSION_NAME, "V1");
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), 0);
	assert_string_equal(a->called_ae, "ARCA");
	assert_string_equal(a->user_info.impl_class_uid, "1.2.3");
	assert_string_equal(a->user_info.impl_version_name, "V1");
	assert_false(a->user_info.has_identity_response);
	assert_false(a->user_info.has_async_window);
	assert_int_equal(a->user_info.identity.type, PACS_PDU_IDENTITY_NONE);
	pacs_pdu_assoc_free(a);
	free(t);
}

/* SOP Class (Common) Extended Negotiation: hand-built layout decoded, then
 * encode -> decode -> encode gives the same bytes. */
static void test_rq_extended_negotiation(void **state)
{
	tb *t = tb_new();
	pacs_pdu_assoc *a, *b;
	pacs_buf b1, b2;

	(void)state;
	tb_rq_head(t);
	tb_pctx(t, 1, UID_CT, TS_IMPLICIT);
	tb_open_user_info(t);
	/* PS3.7 D.3.3.5: UID length, UID, application information */
	tb_open(t, PACS_PDU_ITEM_SOP_EXT_NEG);
	tb_u16(t, strlen(UID_CT));
	tb_str(t, UID_CT);
	tb_u8(t, 1);
	tb_u8(t, 0);
	tb_u8(t, 1);
	tb_close(t);
	/* PS3.7 D.3.3.6: version 0, SOP class, service class, related list */
	tb_u8(t, PACS_PDU_ITEM_SOP_COMMON_EXT_NEG);
	tb_u8(t, 0);
	t->open[t->depth++] = t->n;
	tb_u16(t, 0);
	tb_u16(t, strlen("1.2.840.10008.5.1.4.1.1.88.40"));
	tb_str(t, "1.2.840.10008.5.1.4.1.1.88.40");
	tb_u16(t, strlen("1.2.840.10008.4.2"));
	tb_str(t, "1.2.840.10008.4.2");
	tb_u16(t, 2 + 29);
	tb_u16(t, 29);
	tb_str(t, "1.2.840.10008.5.1.4.1.1.88.22");
	tb_close(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), 0);
	assert_int_equal(a->user_info.n_ext_neg, 1);
	assert_string_equal(a->user_info.ext_neg[0].sop_class_uid, UID_CT);
	assert_int_equal(a->user_info.ext_neg[0].info_len, 3);
	assert_memory_equal(a->user_info.ext_neg[0].info, "\x01\x00\x01", 3);
	assert_int_equal(a->user_info.n_common_ext_neg, 1);
	assert_string_equal(a->user_info.common_ext_neg[0].sop_class_uid, "1.2.840.10008.5.1.4.1.1.88.40");
	assert_string_equal(a->user_info.common_ext_neg[0].service_class_uid, "1.2.840.10008.4.2");
	assert_int_equal(a->user_info.common_ext_neg[0].n_related, 1);
	assert_string_equal(a->user_info.common_ext_neg[0].related_sop_classes[0],
			    "1.2.840.10008.5.1.4.1.1.88.22");

	pacs_buf_init(&b1, 65536);
	pacs_buf_init(&b2, 65536);
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b1, a), 0);
	assert_bytes(&b1, t->b, t->n); /* our encoder writes the same layout */
	assert_int_equal(pacs_pdu_decode_assoc_rq(&b, pacs_buf_data(&b1) + 6, pacs_buf_len(&b1) - 6), 0);
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b2, b), 0);
	assert_bytes(&b2, pacs_buf_data(&b1), pacs_buf_len(&b1));
	pacs_buf_free(&b1);
	pacs_buf_free(&b2);
	pacs_pdu_assoc_free(a);
	pacs_pdu_assoc_free(b);
	free(t);
}

/* ------------------------------------------------------------ A-ASSOCIATE-AC */

static void test_ac_encode_bytes(void **state)
{
	pacs_pdu_assoc a;
	pacs_buf b;

	(void)state;
	fill_ac(&a);
	pacs_buf_init(&b, 65536);
	assert_int_equal(pacs_pdu_encode_assoc_ac(&b, &a), 0);
	assert_bytes(&b, ac_expected, sizeof(ac_expected));
	pacs_buf_free(&b);
}

static void test_ac_decode_fields(void **state)
{
	pacs_pdu_assoc *a;
	size_t i;

	(void)state;
	assert_int_equal(pacs_pdu_decode_assoc_ac(&a, ac_expected + 6, sizeof(ac_expected) - 6), 0);
	assert_string_equal(a->called_ae, "ARCA_SCP");
	assert_string_equal(a->calling_ae, "MODALITY1");
	assert_int_equal(a->n_pctx, 5);
	assert_int_equal(a->pctx[0].id, 1);
	assert_int_equal(a->pctx[0].result, PACS_PDU_PCTX_ACCEPTANCE);
	assert_string_equal(a->pctx[0].transfer_syntax, TS_IMPLICIT);
	for (i = 1; i < 5; i++) {
		assert_int_equal(a->pctx[i].id, 2 * i + 1);
		assert_int_equal(a->pctx[i].result, i); /* reasons 1-4 */
		assert_null(a->pctx[i].transfer_syntax);
	}
	assert_int_equal(a->user_info.max_length, 65536);
	assert_int_equal(a->user_info.n_roles, 1);
	assert_int_equal(a->user_info.roles[0].scu_role, 1);
	assert_true(a->user_info.has_identity_response);
	assert_int_equal(a->user_info.identity_response_len, 2);
	assert_memory_equal(a->user_info.identity_response, "ok", 2);
	assert_int_equal(a->user_info.identity.type, PACS_PDU_IDENTITY_NONE);
	pacs_pdu_assoc_free(a);
}

/* ------------------------------------------------------------ DCMTK captures */

static void test_echoscu_rq_capture(void **state)
{
	pacs_pdu_assoc *a;
	pacs_buf b;
	uint8_t type;
	uint32_t len;
	uint8_t want[sizeof(echoscu_rq)];

	(void)state;
	assert_int_equal(pacs_pdu_peek_header(&type, &len, echoscu_rq, sizeof(echoscu_rq), 65536), 0);
	assert_int_equal(type, PACS_PDU_ASSOCIATE_RQ);
	assert_int_equal(len, sizeof(echoscu_rq) - 6);
	assert_int_equal(pacs_pdu_decode_assoc_rq(&a, echoscu_rq + 6, len), 0);
	assert_string_equal(a->called_ae, "ARCA");
	assert_string_equal(a->calling_ae, "ECHOSCU");
	assert_string_equal(a->app_context, PACS_PDU_APP_CONTEXT);
	assert_int_equal(a->n_pctx, 1);
	assert_int_equal(a->pctx[0].id, 1);
	assert_string_equal(a->pctx[0].abstract_syntax, UID_VERIFICATION);
	assert_int_equal(a->pctx[0].n_transfer_syntaxes, 1);
	assert_string_equal(a->pctx[0].transfer_syntaxes[0], TS_IMPLICIT);
	assert_int_equal(a->user_info.max_length, 16384);
	assert_string_equal(a->user_info.impl_class_uid, "1.2.276.0.7230010.3.0.3.6.7");
	assert_string_equal(a->user_info.impl_version_name, "OFFIS_DCMTK_367");

	/* Re-encoded, only the reserved byte DCMTK sets to FFH differs. */
	pacs_buf_init(&b, 65536);
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, a), 0);
	memcpy(want, echoscu_rq, sizeof(want));
	assert_int_equal(want[105], 0xff);
	want[105] = 0;
	assert_bytes(&b, want, sizeof(want));
	pacs_buf_free(&b);
	pacs_pdu_assoc_free(a);
}

static void test_storescp_ac_capture(void **state)
{
	pacs_pdu_assoc *a;
	pacs_buf b;

	(void)state;
	assert_int_equal(pacs_pdu_decode_assoc_ac(&a, storescp_ac + 6, sizeof(storescp_ac) - 6), 0);
	assert_string_equal(a->called_ae, "ARCA");
	assert_string_equal(a->calling_ae, "ECHOSCU");
	assert_int_equal(a->n_pctx, 1);
	assert_int_equal(a->pctx[0].id, 1);
	assert_int_equal(a->pctx[0].result, PACS_PDU_PCTX_ACCEPTANCE);
	assert_string_equal(a->pctx[0].transfer_syntax, TS_IMPLICIT);
	assert_int_equal(a->user_info.max_length, 16384);
	assert_string_equal(a->user_info.impl_version_name, "OFFIS_DCMTK_367");
	pacs_buf_init(&b, 65536);
	assert_int_equal(pacs_pdu_encode_assoc_ac(&b, a), 0);
	assert_bytes(&b, storescp_ac, sizeof(storescp_ac));
	pacs_buf_free(&b);
	pacs_pdu_assoc_free(a);
}

/* What storescp answered to an RQ from our encoder. */
static void test_storescp_answers_our_rq(void **state)
{
	static const char *const ts1[] = { TS_EXPLICIT, TS_IMPLICIT };
	static const char *const ts2[] = { TS_IMPLICIT };
	const pacs_pdu_pctx pc[] = {
		{ .id = 1, .abstract_syntax = UID_VERIFICATION, .transfer_syntaxes = ts1, .n_transfer_syntaxes = 2 },
		{ .id = 3, .abstract_syntax = "1.2.3.4.5.6.7", .transfer_syntaxes = ts2, .n_transfer_syntaxes = 1 },
	};
	pacs_pdu_assoc rq, *ac;
	pacs_buf b;

	(void)state;
	fill_rq(&rq);
	strcpy(rq.called_ae, "STORESCP");
	strcpy(rq.calling_ae, "ARCA");
	rq.pctx = pc;
	rq.user_info.max_length = 32768;
	rq.user_info.has_async_window = false;
	rq.user_info.n_roles = 0;
	pacs_buf_init(&b, 65536);
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &rq), 0);
	assert_int_equal(pacs_buf_len(&b), 276); /* the 276 bytes sent to storescp */

	assert_int_equal(pacs_pdu_decode_assoc_ac(&ac, storescp_ac2 + 6, sizeof(storescp_ac2) - 6), 0);
	assert_string_equal(ac->called_ae, "STORESCP");
	assert_string_equal(ac->calling_ae, "ARCA");
	assert_int_equal(ac->n_pctx, 2);
	assert_int_equal(ac->pctx[0].id, 1);
	assert_int_equal(ac->pctx[0].result, PACS_PDU_PCTX_ACCEPTANCE);
	assert_string_equal(ac->pctx[0].transfer_syntax, TS_EXPLICIT);
	assert_int_equal(ac->pctx[1].id, 3);
	assert_int_equal(ac->pctx[1].result, PACS_PDU_PCTX_ABSTRACT_SYNTAX_NOT_SUPPORTED);
	assert_null(ac->pctx[1].transfer_syntax);
	assert_false(ac->user_info.has_identity_response);
	pacs_buf_free(&b);
	pacs_pdu_assoc_free(ac);
}

/* ------------------------------------------------------------ RJ, ABORT, RELEASE */

static void test_reject(void **state)
{
	static const uint8_t want[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x01, 0x07 };
	pacs_pdu_reject rj = { PACS_PDU_RJ_PERMANENT, PACS_PDU_RJ_SOURCE_USER,
			       PACS_PDU_RJ_USER_CALLED_AE_NOT_RECOGNIZED };
	pacs_pdu_reject got;
	pacs_buf b;

	(void)state;
	pacs_buf_init(&b, 64);
	assert_int_equal(pacs_pdu_encode_reject(&b, &rj), 0);
	assert_bytes(&b, want, sizeof(want));
	assert_int_equal(pacs_pdu_decode_reject(&got, want + 6, 4), 0);
	assert_int_equal(got.result, PACS_PDU_RJ_PERMANENT);
	assert_int_equal(got.source, PACS_PDU_RJ_SOURCE_USER);
	assert_int_equal(got.reason, 7);

	rj.result = 3;
	assert_int_equal(pacs_pdu_encode_reject(&b, &rj), ARCA_EINVAL);
	assert_int_equal(pacs_buf_len(&b), sizeof(want)); /* nothing appended */
	{
		static const uint8_t bad_src[] = { 0x00, 0x02, 0x04, 0x01 };

		assert_int_equal(pacs_pdu_decode_reject(&got, bad_src, 4), ARCA_EPROTO);
		assert_msg("byte 8");
		assert_int_equal(pacs_pdu_decode_reject(&got, want + 6, 3), ARCA_EPROTO);
	}
	pacs_buf_free(&b);
}

static void test_abort(void **state)
{
	static const uint8_t want_provider[] = { 0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x02, 0x06 };
	static const uint8_t want_user[] = { 0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
	pacs_pdu_abort ab = { PACS_PDU_ABORT_SOURCE_PROVIDER, PACS_PDU_ABORT_INVALID_PDU_PARAMETER_VALUE };
	pacs_pdu_abort got;
	pacs_buf b;

	(void)state;
	pacs_buf_init(&b, 64);
	assert_int_equal(pacs_pdu_encode_abort(&b, &ab), 0);
	assert_bytes(&b, want_provider, sizeof(want_provider));
	assert_int_equal(pacs_pdu_decode_abort(&got, want_provider + 6, 4), 0);
	assert_int_equal(got.source, PACS_PDU_ABORT_SOURCE_PROVIDER);
	assert_int_equal(got.reason, PACS_PDU_ABORT_INVALID_PDU_PARAMETER_VALUE);

	/* A user abort's reason is not significant: sent as 00H. */
	pacs_buf_reset(&b);
	ab.source = PACS_PDU_ABORT_SOURCE_USER;
	ab.reason = 5;
	assert_int_equal(pacs_pdu_encode_abort(&b, &ab), 0);
	assert_bytes(&b, want_user, sizeof(want_user));

	ab.source = PACS_PDU_ABORT_SOURCE_PROVIDER;
	ab.reason = 3; /* reserved */
	assert_int_equal(pacs_pdu_encode_abort(&b, &ab), ARCA_EINVAL);
	ab.source = 1;
	assert_int_equal(pacs_pdu_encode_abort(&b, &ab), ARCA_EINVAL);
	assert_int_equal(pacs_pdu_decode_abort(&got, want_user + 6, 5), ARCA_EPROTO);
	pacs_buf_free(&b);
}

static void test_release(void **state)
{
	static const uint8_t want_rq[] = { 0x05, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t want_rp[] = { 0x06, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff };
	pacs_buf b;

	(void)state;
	pacs_buf_init(&b, 64);
	assert_int_equal(pacs_pdu_encode_release_rq(&b), 0);
	assert_bytes(&b, want_rq, sizeof(want_rq));
	pacs_buf_reset(&b);
	assert_int_equal(pacs_pdu_encode_release_rp(&b), 0);
	assert_bytes(&b, want_rp, sizeof(want_rp));
	assert_int_equal(pacs_pdu_decode_release_rq(want_rq + 6, 4), 0);
	assert_int_equal(pacs_pdu_decode_release_rp(junk, 4), 0); /* reserved: not tested */
	assert_int_equal(pacs_pdu_decode_release_rp(junk, 5), ARCA_EPROTO);
	assert_msg("A-RELEASE-RP");
	assert_int_equal(pacs_pdu_decode_release_rq(NULL, 0), ARCA_EPROTO);
	pacs_buf_free(&b);
}

/* ------------------------------------------------------------ P-DATA-TF */

static void test_pdata(void **state)
{
	static const uint8_t want[] = {
		0x04, 0x00, 0x00, 0x00, 0x00, 0x17,             /* P-DATA-TF, 23 bytes */
		0x00, 0x00, 0x00, 0x05, 0x01, 0x03, 'C', 'M', 'D', /* ctx 1, command, last */
		0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 'a', 'b',     /* ctx 1, data, not last */
		0x00, 0x00, 0x00, 0x02, 0x03, 0x02,               /* ctx 3, data, last, empty */
	};
	const pacs_pdv in[] = {
		{ 1, PACS_PDV_COMMAND | PACS_PDV_LAST, (const uint8_t *)"CMD", 3 },
		{ 1, 0, (const uint8_t *)"ab", 2 },
		{ 3, PACS_PDV_LAST, NULL, 0 },
	};
	pacs_pdv out[4];
	size_t n;
	pacs_buf b;

	(void)state;
	pacs_buf_init(&b, 1024);
	assert_int_equal(pacs_pdu_encode_pdata(&b, in, 3), 0);
	assert_bytes(&b, want, sizeof(want));
	assert_int_equal(pacs_pdu_decode_pdata(out, 4, &n, want + 6, sizeof(want) - 6), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].pctx_id, 1);
	assert_int_equal(out[0].flags, PACS_PDV_COMMAND | PACS_PDV_LAST);
	assert_ptr_equal(out[0].data, want + 12); /* borrowed from the body */
	assert_int_equal(out[0].len, 3);
	assert_int_equal(out[1].flags, 0);
	assert_memory_equal(out[1].data, "ab", 2);
	assert_int_equal(out[2].pctx_id, 3);
	assert_int_equal(out[2].flags, PACS_PDV_LAST);
	assert_int_equal(out[2].len, 0);

	/* More PDVs than the caller's array holds. */
	assert_int_equal(pacs_pdu_decode_pdata(out, 2, &n, want + 6, sizeof(want) - 6), ARCA_ELIMIT);

	/* The single-PDV header matches the first 12 bytes of a full encode. */
	{
		uint8_t hdr[PACS_PDU_PDATA_SINGLE_HEADER_LEN];
		static const uint8_t want_hdr[] = { 0x04, 0x00, 0x00, 0x00, 0x00, 0x09,
						    0x00, 0x00, 0x00, 0x05, 0x01, 0x03 };

		assert_int_equal(pacs_pdu_pdata_single_header(hdr, 1, 3, 3), 0);
		assert_memory_equal(hdr, want_hdr, sizeof(want_hdr));
		assert_int_equal(pacs_pdu_pdata_single_header(hdr, 2, 3, 3), ARCA_EINVAL);
		assert_int_equal(pacs_pdu_pdata_single_header(hdr, 1, 4, 3), ARCA_EINVAL);
	}
	pacs_buf_free(&b);
}

/* PS3.8 E.2: bits 2-7 of the message control header are not tested. */
static void test_pdata_control_bits_not_tested(void **state)
{
	static const uint8_t body[] = { 0x00, 0x00, 0x00, 0x03, 0x05, 0xfd, 'x' };
	pacs_pdv out[1];
	size_t n;

	(void)state;
	assert_int_equal(pacs_pdu_decode_pdata(out, 1, &n, body, sizeof(body)), 0);
	assert_int_equal(out[0].pctx_id, 5);
	assert_int_equal(out[0].flags, PACS_PDV_COMMAND);
}

/* ------------------------------------------------------------ bad input */

static void test_bad_truncated_header(void **state)
{
	uint8_t type;
	uint32_t len;

	(void)state;
	assert_int_equal(pacs_pdu_peek_header(&type, &len, rq_expected, 5, 65536), ARCA_EAGAIN);
	assert_int_equal(pacs_pdu_peek_header(&type, &len, NULL, 0, 65536), ARCA_EAGAIN);
	/* An RQ body shorter than its 68 fixed bytes. */
	pacs_pdu_assoc *a = (pacs_pdu_assoc *)1;
	assert_int_equal(pacs_pdu_decode_assoc_rq(&a, rq_expected + 6, 67), ARCA_EPROTO);
	assert_null(a);
	assert_msg("fixed fields");
}

static void test_bad_pdu_length_over_cap(void **state)
{
	static const uint8_t hdr[] = { 0x04, 0x00, 0x00, 0x01, 0x00, 0x01 };
	uint8_t type;
	uint32_t len;

	(void)state;
	assert_int_equal(pacs_pdu_peek_header(&type, &len, hdr, sizeof(hdr), 65536), ARCA_ELIMIT);
	assert_int_equal(type, PACS_PDU_P_DATA_TF);
	assert_int_equal(len, 65537);
	assert_msg("P-DATA-TF");
	assert_int_equal(pacs_pdu_peek_header(&type, &len, hdr, sizeof(hdr), 65537), 0);
}

static void test_bad_unknown_pdu_type(void **state)
{
	static const uint8_t hdr8[] = { 0x08, 0x00, 0x00, 0x00, 0x00, 0x04 };
	static const uint8_t hdr0[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x04 };
	uint8_t type;
	uint32_t len;

	(void)state;
	assert_int_equal(pacs_pdu_peek_header(&type, &len, hdr8, sizeof(hdr8), 65536), ARCA_EPROTO);
	assert_int_equal(type, 0x08);
	assert_msg("08H");
	assert_int_equal(pacs_pdu_peek_header(&type, &len, hdr0, sizeof(hdr0), 65536), ARCA_EPROTO);
	assert_string_equal(pacs_pdu_type_name(8), "unknown PDU");
	assert_string_equal(pacs_pdu_type_name(PACS_PDU_ABORT), "A-ABORT");
}

static void test_bad_item_past_end(void **state)
{
	uint8_t v[sizeof(rq_expected)];
	pacs_pdu_assoc *a;

	(void)state;
	memcpy(v, rq_expected, sizeof(v));
	v[230 + 3] = 0x60; /* User Information: 96 bytes, one more than there are */
	assert_int_equal(pacs_pdu_decode_assoc_rq(&a, v + 6, sizeof(v) - 6), ARCA_EPROTO);
	assert_null(a);
	assert_msg("A-ASSOCIATE-RQ: byte 230: User Information item");
	/* A sub-item running past its item (the Maximum Length). */
	memcpy(v, rq_expected, sizeof(v));
	v[234 + 3] = 0x70;
	assert_int_equal(pacs_pdu_decode_assoc_rq(&a, v + 6, sizeof(v) - 6), ARCA_EPROTO);
	assert_msg("byte 234: Maximum Length");
	/* The body cut short in the middle of the last sub-item. */
	assert_int_equal(pacs_pdu_decode_assoc_rq(&a, rq_expected + 6, sizeof(rq_expected) - 7),
			 ARCA_EPROTO);
}

static void test_bad_pctx_without_ts(void **state)
{
	tb *t = tb_new();
	pacs_pdu_assoc *a;

	(void)state;
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, NULL);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("byte 99: Presentation Context 1 has no Transfer Syntax");
	free(t);

	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, NULL, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("no Abstract Syntax");
	free(t);
}

static void test_bad_uid_too_long(void **state)
{
	char uid65[66];
	const char *ts[1] = { uid65 };
	pacs_pdu_pctx pc = { .id = 1, .abstract_syntax = UID_VERIFICATION, .transfer_syntaxes = ts,
			     .n_transfer_syntaxes = 1 };
	pacs_pdu_assoc req;
	tb *t = tb_new();
	pacs_pdu_assoc *a;
	pacs_buf b;

	(void)state;
	memset(uid65, '1', 65);
	uid65[65] = '\0';
	tb_rq_head(t);
	tb_pctx(t, 1, uid65, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("Abstract Syntax sub-item is 65 bytes");
	free(t);

	/* 64 bytes is still a UID. */
	uid65[64] = '\0';
	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, uid65, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), 0);
	assert_int_equal(strlen(a->pctx[0].abstract_syntax), 64);
	pacs_pdu_assoc_free(a);
	free(t);

	/* The encoder refuses a 65-byte UID. */
	uid65[64] = '1';
	fill_rq(&req);
	req.pctx = &pc;
	req.n_pctx = 1;
	pacs_buf_init(&b, 65536);
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &req), ARCA_EINVAL);
	assert_int_equal(pacs_buf_len(&b), 0);
	pacs_buf_free(&b);
}

static void test_bad_zero_length_pdv(void **state)
{
	static const uint8_t body[] = { 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t one[] = { 0x00, 0x00, 0x00, 0x01, 0x01 };
	pacs_pdv out[2];
	size_t n;

	(void)state;
	assert_int_equal(pacs_pdu_decode_pdata(out, 2, &n, body, sizeof(body)), ARCA_EPROTO);
	assert_msg("byte 6: PDV item length 0");
	assert_int_equal(pacs_pdu_decode_pdata(out, 2, &n, one, sizeof(one)), ARCA_EPROTO);
	assert_int_equal(pacs_pdu_decode_pdata(out, 2, &n, NULL, 0), ARCA_EPROTO);
	assert_msg("no Presentation Data Value");
}

static void test_bad_pdv_past_end(void **state)
{
	static const uint8_t body[] = {
		0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 'x',
		0x00, 0x00, 0x00, 0x10, 0x01, 0x03, 'y',
	};
	static const uint8_t even[] = { 0x00, 0x00, 0x00, 0x03, 0x02, 0x00, 'x' };
	static const uint8_t tail[] = { 0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 'x', 0x00, 0x00 };
	pacs_pdv out[2];
	size_t n;

	(void)state;
	assert_int_equal(pacs_pdu_decode_pdata(out, 2, &n, body, sizeof(body)), ARCA_EPROTO);
	assert_msg("byte 13: PDV item length 16 runs past the PDU");
	assert_int_equal(pacs_pdu_decode_pdata(out, 2, &n, even, sizeof(even)), ARCA_EPROTO);
	assert_int_equal(pacs_pdu_decode_pdata(out, 2, &n, tail, sizeof(tail)), ARCA_EPROTO);
}

static void test_bad_200_pctx(void **state)
{
	tb *t = tb_new();
	pacs_pdu_assoc *a;
	int i;

	(void)state;
	tb_rq_head(t);
	for (i = 0; i < 200; i++)
		tb_pctx(t, (uint8_t)(2 * i + 1), UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_ELIMIT);
	assert_null(a);
	assert_msg("200 Presentation Context items");
	free(t);

	/* 128, every odd ID once, is the most there can be. */
	t = tb_new();
	tb_rq_head(t);
	for (i = 0; i < 128; i++)
		tb_pctx(t, (uint8_t)(2 * i + 1), UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), 0);
	assert_int_equal(a->n_pctx, 128);
	assert_int_equal(a->pctx[127].id, 255);
	pacs_pdu_assoc_free(a);
	free(t);
}

static void test_bad_pctx_ids(void **state)
{
	tb *t = tb_new();
	pacs_pdu_assoc *a;

	(void)state;
	tb_rq_head(t);
	tb_pctx(t, 2, UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("byte 103: Presentation Context ID 2 is not odd");
	free(t);

	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 5, UID_VERIFICATION, TS_IMPLICIT);
	tb_pctx(t, 5, UID_CT, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("ID 5 appears twice");
	free(t);
}

static void test_bad_structure(void **state)
{
	tb *t;
	pacs_pdu_assoc *a;

	(void)state;
	/* no User Information item */
	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("no User Information");
	free(t);
	/* an item type that has no place in an RQ */
	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	tb_open(t, PACS_PDU_ITEM_PCTX_AC);
	tb_close(t);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("unexpected item of type 21H");
	free(t);
	/* trailing bytes too short for an item header */
	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	tb_u16(t, 0x5000);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("2 trailing bytes");
	free(t);
	/* a control character in the called AE title */
	t = tb_new();
	tb_rq_head(t);
	t->b[12] = 0x01;
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("byte 12: Called-AE-title");
	free(t);
}

static void test_bad_user_info(void **state)
{
	tb *t;
	pacs_pdu_assoc *a;

	(void)state;
	/* a passcode with a type 1 (user name only) identity */
	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_open(t, PACS_PDU_ITEM_USER_IDENTITY_RQ);
	tb_u8(t, 1);
	tb_u8(t, 0);
	tb_u16(t, 3);
	tb_str(t, "bob");
	tb_u16(t, 2);
	tb_str(t, "pw");
	tb_close(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("secondary field");
	free(t);
	/* Maximum Length with a 2-byte value */
	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	tb_open(t, PACS_PDU_ITEM_USER_INFO);
	tb_open(t, PACS_PDU_ITEM_MAX_LENGTH);
	tb_u16(t, 1);
	tb_close(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("Maximum Length sub-item length is 2");
	free(t);
	/* two Implementation Class UIDs */
	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_uid_item(t, PACS_PDU_ITEM_IMPL_CLASS_UID, "1.2.4");
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("second Implementation Class UID");
	free(t);
	/* a role selection whose UID length runs past the sub-item */
	t = tb_new();
	tb_rq_head(t);
	tb_pctx(t, 1, UID_VERIFICATION, TS_IMPLICIT);
	tb_open_user_info(t);
	tb_open(t, PACS_PDU_ITEM_ROLE_SELECTION);
	tb_u16(t, 40);
	tb_str(t, UID_CT);
	tb_u8(t, 1);
	tb_u8(t, 1);
	tb_close(t);
	tb_close(t);
	assert_int_equal(tb_decode_rq(t, &a), ARCA_EPROTO);
	assert_msg("SOP Class UID length 40 runs past");
	free(t);
}

static void test_bad_ac(void **state)
{
	uint8_t v[sizeof(ac_expected)];
	pacs_pdu_assoc *a;

	(void)state;
	memcpy(v, ac_expected, sizeof(v));
	v[128 + 6] = 5; /* context 3: Result/Reason 5 */
	assert_int_equal(pacs_pdu_decode_assoc_ac(&a, v + 6, sizeof(v) - 6), ARCA_EPROTO);
	assert_msg("byte 134: Presentation Context 3 has the Result/Reason 5");
	/* an RQ body is not an AC */
	assert_int_equal(pacs_pdu_decode_assoc_ac(&a, rq_expected + 6, sizeof(rq_expected) - 6),
			 ARCA_EPROTO);
	assert_msg("unexpected item of type 20H");
}

/* ------------------------------------------------------------ encoder limits */

static void test_encode_cap_and_invalid(void **state)
{
	pacs_pdu_assoc a;
	pacs_buf b;
	static const uint8_t keep[] = { 0xaa, 0xbb };

	(void)state;
	fill_rq(&a);
	/* The buffer cap bounds the PDU; a failed encode appends nothing. */
	pacs_buf_init(&b, sizeof(rq_expected) + 1);
	assert_int_equal(pacs_buf_add(&b, keep, 2), 0);
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &a), ARCA_ELIMIT);
	assert_bytes(&b, keep, 2);
	pacs_buf_free(&b);

	pacs_buf_init(&b, 65536);
	strcpy(a.called_ae, "                ");
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &a), ARCA_EINVAL);
	assert_msg("Called-AE-title is empty");
	fill_rq(&a);
	a.user_info.impl_class_uid = NULL;
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &a), ARCA_EINVAL);
	assert_msg("Implementation Class UID is missing");
	fill_rq(&a);
	a.user_info.impl_version_name = "ARCA_VERSION_0123";
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &a), ARCA_EINVAL);
	fill_rq(&a);
	a.n_pctx = 0;
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &a), ARCA_EINVAL);
	fill_rq(&a);
	a.user_info.identity.type = PACS_PDU_IDENTITY_USERNAME; /* with a passcode */
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &a), ARCA_EINVAL);
	assert_int_equal(pacs_buf_len(&b), 0);
	/* A P-DATA-TF with no PDV, or an even context ID. */
	{
		const pacs_pdv pdv = { 2, 0, (const uint8_t *)"x", 1 };

		assert_int_equal(pacs_pdu_encode_pdata(&b, &pdv, 0), ARCA_EINVAL);
		assert_int_equal(pacs_pdu_encode_pdata(&b, &pdv, 1), ARCA_EINVAL);
	}
	pacs_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rq_encode_bytes),
		cmocka_unit_test(test_rq_decode_fields),
		cmocka_unit_test(test_rq_reserved_not_tested),
		cmocka_unit_test(test_rq_unknown_sub_item_skipped),
		cmocka_unit_test(test_rq_extended_negotiation),
		cmocka_unit_test(test_ac_encode_bytes),
		cmocka_unit_test(test_ac_decode_fields),
		cmocka_unit_test(test_echoscu_rq_capture),
		cmocka_unit_test(test_storescp_ac_capture),
		cmocka_unit_test(test_storescp_answers_our_rq),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_pdata),
		cmocka_unit_test(test_pdata_control_bits_not_tested),
		cmocka_unit_test(test_bad_truncated_header),
		cmocka_unit_test(test_bad_pdu_length_over_cap),
		cmocka_unit_test(test_bad_unknown_pdu_type),
		cmocka_unit_test(test_bad_item_past_end),
		cmocka_unit_test(test_bad_pctx_without_ts),
		cmocka_unit_test(test_bad_uid_too_long),
		cmocka_unit_test(test_bad_zero_length_pdv),
		cmocka_unit_test(test_bad_pdv_past_end),
		cmocka_unit_test(test_bad_200_pctx),
		cmocka_unit_test(test_bad_pctx_ids),
		cmocka_unit_test(test_bad_structure),
		cmocka_unit_test(test_bad_user_info),
		cmocka_unit_test(test_bad_ac),
		cmocka_unit_test(test_encode_cap_and_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
