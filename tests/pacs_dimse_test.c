/* pacs_dimse_test.c - DIMSE command sets, status codes, fragmentation into
 * P-DATA-TF PDUs and reassembly, checked byte for byte (against bytes
 * captured from DCMTK's echoscu and storescu where we have them). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_dimse.h"

#define VERIFICATION "1.2.840.10008.1.1"
#define CT_STORAGE "1.2.840.10008.5.1.4.1.1.2"
#define STUDY_ROOT_FIND "1.2.840.10008.5.1.4.1.2.2.1"
#define STUDY_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.2.2"

/* The P-DATA-TF PDU DCMTK 3.6.7 echoscu sends for its C-ECHO-RQ (message
 * ID 1, presentation context 1), captured once on loopback with a stub
 * acceptor. */
static const uint8_t echoscu_pdata[] = {
	0x04, 0x00, 0x00, 0x00, 0x00, 0x4a, 0x00, 0x00, 0x00, 0x46, 0x01, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x31, 0x2e, 0x32, 0x2e,
	0x38, 0x34, 0x30, 0x2e, 0x31, 0x30, 0x30, 0x30, 0x38, 0x2e, 0x31, 0x2e,
	0x31, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00,
	0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x08, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01,
};

/* The first P-DATA-TF PDU of DCMTK 3.6.7 storescu sending pydicom's
 * CT_small.dcm: the C-STORE-RQ command on presentation context 41. */
static const uint8_t storescu_pdata[] = {
	0x04, 0x00, 0x00, 0x00, 0x00, 0x94, 0x00, 0x00, 0x00, 0x90, 0x29, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x02, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x31, 0x2e, 0x32, 0x2e,
	0x38, 0x34, 0x30, 0x2e, 0x31, 0x30, 0x30, 0x30, 0x38, 0x2e, 0x35, 0x2e,
	0x31, 0x2e, 0x34, 0x2e, 0x31, 0x2e, 0x31, 0x2e, 0x32, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x01,
	0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x10, 0x30, 0x00, 0x00, 0x00, 0x31, 0x2e,
	0x33, 0x2e, 0x36, 0x2e, 0x31, 0x2e, 0x34, 0x2e, 0x31, 0x2e, 0x35, 0x39,
	0x36, 0x32, 0x2e, 0x31, 0x2e, 0x31, 0x2e, 0x31, 0x2e, 0x31, 0x2e, 0x31,
	0x2e, 0x32, 0x30, 0x30, 0x34, 0x30, 0x31, 0x31, 0x39, 0x30, 0x37, 0x32,
	0x37, 0x33, 0x30, 0x2e, 0x31, 0x32, 0x33, 0x32, 0x32, 0x00,
};
#define CT_SMALL_INSTANCE "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"

/* ---------------------------------------------------------------- helpers */

/* A hand encoder for expected bytes: elements of group 0000. */
struct hand {
	uint8_t b[1024];
	size_t n;
};

static void hand_u16(struct hand *h, uint16_t v)
{
	h->b[h->n++] = (uint8_t)v;
	h->b[h->n++] = (uint8_t)(v >> 8);
}

static void hand_u32(struct hand *h, uint32_t v)
{
	hand_u16(h, (uint16_t)v);
	hand_u16(h, (uint16_t)(v >> 16));
}

static void hand_elem(struct hand *h, uint16_t element, const void *value, uint32_t len)
{
	hand_u16(h, 0x0000);
	hand_u16(h, element);
	hand_u32(h, len);
	memcpy(&h->b[h->n], value, len);
	h->n += len;
}

static void hand_us(struct hand *h, uint16_t element, uint16_t v)
{
	uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	hand_elem(h, element, le, 2);
}

static void hand_group_length(struct hand *h)
{
	uint32_t gl = (uint32_t)(h->n - 12);
	h->b[8] = (uint8_t)gl;
	h->b[9] = (uint8_t)(gl >> 8);
	h->b[10] = (uint8_t)(gl >> 16);
	h->b[11] = (uint8_t)(gl >> 24);
}

static void hand_start(struct hand *h)
{
	uint8_t zero[4] = {0};
	h->n = 0;
	hand_elem(h, 0x0000, zero, 4);
}

static size_t encode(uint8_t *buf, const pacs_dimse_cmd *cmd)
{
	size_t n = 0;
	int rc = pacs_dimse_cmd_encode(buf, PACS_DIMSE_CMD_MAX_SIZE, &n, cmd);
	if (rc != 0)
		fail_msg("encode: %s", arca_error_last());
	return n;
}

static void roundtrip(const pacs_dimse_cmd *cmd, pacs_dimse_cmd *out)
{
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	size_t n = encode(buf, cmd);
	int rc = pacs_dimse_cmd_decode(out, buf, n);
	if (rc != 0)
		fail_msg("decode: %s", arca_error_last());
	assert_int_equal(out->command, cmd->command);
	assert_int_equal(out->present, cmd->present);
	assert_int_equal(out->has_data_set, cmd->has_data_set);
	/* and once more: the second encoding equals the first */
	uint8_t again[PACS_DIMSE_CMD_MAX_SIZE];
	size_t m = encode(again, out);
	assert_int_equal(m, n);
	assert_memory_equal(again, buf, n);
}

static void expect_decode_error(const uint8_t *data, size_t len, int code, const char *needle)
{
	pacs_dimse_cmd out;
	int rc = pacs_dimse_cmd_decode(&out, data, len);
	if (rc != code)
		fail_msg("decode returned %d (%s), expected %d", rc, arca_error_last(), code);
	if (strstr(arca_error_last(), needle) == NULL)
		fail_msg("message \"%s\" does not mention \"%s\"", arca_error_last(), needle);
}

/* ---------------------------------------------------------------- commands */

static void echo_rq(pacs_dimse_cmd *c, uint16_t id)
{
	pacs_dimse_cmd_init(c, PACS_DIMSE_C_ECHO_RQ);
	assert_int_equal(pacs_dimse_cmd_set_str(c, PACS_DIMSE_F_AFFECTED_SOP_CLASS, VERIFICATION), 0);
	assert_int_equal(pacs_dimse_cmd_set_u16(c, PACS_DIMSE_F_MESSAGE_ID, id), 0);
}

static void test_echo_rq_bytes(void **state)
{
	pacs_dimse_cmd c, d;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	struct hand h;
	(void)state;

	echo_rq(&c, 1);
	size_t n = encode(buf, &c);

	/* PS3.7 9.3.5.1 by hand: group length, class UID (odd: NUL pad),
	 * command field 0030H, message ID, data set type 0101H. */
	hand_start(&h);
	hand_elem(&h, 0x0002, VERIFICATION "\0", 18);
	hand_us(&h, 0x0100, 0x0030);
	hand_us(&h, 0x0110, 1);
	hand_us(&h, 0x0800, 0x0101);
	hand_group_length(&h);
	assert_int_equal(n, h.n);
	assert_memory_equal(buf, h.b, n);

	/* and what echoscu sends, after its 12 bytes of PDU and PDV header */
	assert_int_equal(n, sizeof echoscu_pdata - 12);
	assert_memory_equal(buf, &echoscu_pdata[12], n);

	assert_int_equal(pacs_dimse_cmd_decode(&d, &echoscu_pdata[12], sizeof echoscu_pdata - 12), 0);
	assert_int_equal(d.command, PACS_DIMSE_C_ECHO_RQ);
	assert_int_equal(d.message_id, 1);
	assert_string_equal(d.affected_sop_class, VERIFICATION);
	assert_false(d.has_data_set);
	assert_int_equal(d.present, PACS_DIMSE_F_AFFECTED_SOP_CLASS | PACS_DIMSE_F_MESSAGE_ID);
}

struct collect {
	uint8_t *bytes;
	size_t len;
	size_t cap;
	size_t pdus;
	uint32_t max_seen;    /* largest PDU-length field */
	int fail_after;       /* sink error after this many PDUs, if > 0 */
};

static int sink(void *ctx, const uint8_t *pdu, size_t len)
{
	struct collect *c = ctx;
	if (c->fail_after > 0 && (int)c->pdus == c->fail_after)
		return arca_error_set(ARCA_EIO, "sink full");
	if (c->len + len > c->cap) {
		size_t cap = (c->len + len) * 2;
		uint8_t *p = realloc(c->bytes, cap);
		assert_non_null(p);
		c->bytes = p;
		c->cap = cap;
	}
	memcpy(&c->bytes[c->len], pdu, len);
	c->len += len;
	c->pdus++;
	uint32_t pdu_len = (uint32_t)pdu[2] << 24 | (uint32_t)pdu[3] << 16 | (uint32_t)pdu[4] << 8 | pdu[5];
	assert_int_equal(pdu_len + 6, len);
	if (pdu_len > c->max_seen)
		c->max_seen = pdu_len;
	return 0;
}

static void test_echo_rq_pdu_matches_echoscu(void **state)
{
	pacs_dimse_cmd c;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	struct collect col = {0};
	(void)state;

	echo_rq(&c, 1);
	pacs_dimse_out msg = {.pc_id = 1, .command = buf, .command_len = encode(buf, &c)};
	assert_int_equal(pacs_dimse_fragment(&msg, 16384, sink, &col), 0);
	assert_int_equal(col.pdus, 1);
	assert_int_equal(col.len, sizeof echoscu_pdata);
	assert_memory_equal(col.bytes, echoscu_pdata, sizeof echoscu_pdata);
	free(col.bytes);
}

static void store_rq(pacs_dimse_cmd *c)
{
	pacs_dimse_cmd_init(c, PACS_DIMSE_C_STORE_RQ);
	c->has_data_set = true;
	assert_int_equal(pacs_dimse_cmd_set_str(c, PACS_DIMSE_F_AFFECTED_SOP_CLASS, CT_STORAGE), 0);
	assert_int_equal(pacs_dimse_cmd_set_u16(c, PACS_DIMSE_F_MESSAGE_ID, 7), 0);
	assert_int_equal(pacs_dimse_cmd_set_u16(c, PACS_DIMSE_F_PRIORITY, PACS_DIMSE_PRIORITY_HIGH), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(c, PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, "1.2.3.4.5"), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(c, PACS_DIMSE_F_MOVE_ORIGINATOR_AE, "QR_SCU"), 0);
	assert_int_equal(pacs_dimse_cmd_set_u16(c, PACS_DIMSE_F_MOVE_ORIGINATOR_ID, 3), 0);
}

static void test_store_rq_bytes_and_roundtrip(void **state)
{
	pacs_dimse_cmd c, d;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	struct hand h;
	(void)state;

	store_rq(&c);
	size_t n = encode(buf, &c);
	/* PS3.7 9.3.1.1, fields in tag order; odd UIs NUL padded, the AE is
	 * even already. */
	hand_start(&h);
	hand_elem(&h, 0x0002, CT_STORAGE "\0", 26);
	hand_us(&h, 0x0100, 0x0001);
	hand_us(&h, 0x0110, 7);
	hand_us(&h, 0x0700, 0x0001);
	hand_us(&h, 0x0800, 0x0001);
	hand_elem(&h, 0x1000, "1.2.3.4.5\0", 10);
	hand_elem(&h, 0x1030, "QR_SCU", 6);
	hand_us(&h, 0x1031, 3);
	hand_group_length(&h);
	assert_int_equal(n, h.n);
	assert_memory_equal(buf, h.b, n);

	roundtrip(&c, &d);
	assert_string_equal(d.affected_sop_class, CT_STORAGE);
	assert_string_equal(d.affected_sop_instance, "1.2.3.4.5");
	assert_string_equal(d.move_originator_ae, "QR_SCU");
	assert_int_equal(d.message_id, 7);
	assert_int_equal(d.priority, PACS_DIMSE_PRIORITY_HIGH);
	assert_int_equal(d.move_originator_id, 3);
	assert_true(d.has_data_set);
}

static void test_storescu_command(void **state)
{
	pacs_dimse_cmd d, c;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	(void)state;

	assert_int_equal(pacs_dimse_cmd_decode(&d, &storescu_pdata[12], sizeof storescu_pdata - 12), 0);
	assert_int_equal(d.command, PACS_DIMSE_C_STORE_RQ);
	assert_int_equal(d.message_id, 1);
	assert_int_equal(d.priority, PACS_DIMSE_PRIORITY_MEDIUM);
	assert_string_equal(d.affected_sop_class, CT_STORAGE);
	assert_string_equal(d.affected_sop_instance, CT_SMALL_INSTANCE);
	assert_true(d.has_data_set);

	/* we encode the same command to the same bytes */
	pacs_dimse_cmd_init(&c, PACS_DIMSE_C_STORE_RQ);
	c.has_data_set = true;
	pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_AFFECTED_SOP_CLASS, CT_STORAGE);
	pacs_dimse_cmd_set_u16(&c, PACS_DIMSE_F_MESSAGE_ID, 1);
	pacs_dimse_cmd_set_u16(&c, PACS_DIMSE_F_PRIORITY, PACS_DIMSE_PRIORITY_MEDIUM);
	pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, CT_SMALL_INSTANCE);
	size_t n = encode(buf, &c);
	assert_int_equal(n, sizeof storescu_pdata - 12);
	assert_memory_equal(buf, &storescu_pdata[12], n);
}

static void test_store_rsp_all_fields(void **state)
{
	pacs_dimse_cmd rq, rsp, d;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	struct hand h;
	(void)state;

	store_rq(&rq);
	assert_int_equal(pacs_dimse_cmd_response(&rsp, &rq, PACS_DIMSE_WARNING_COERCION), 0);
	assert_int_equal(rsp.command, PACS_DIMSE_C_STORE_RSP);
	assert_int_equal(rsp.message_id_responded, 7);
	assert_false(rsp.has_data_set);
	assert_string_equal(rsp.affected_sop_class, CT_STORAGE);
	assert_string_equal(rsp.affected_sop_instance, "1.2.3.4.5");
	assert_int_equal(pacs_dimse_cmd_set_str(&rsp, PACS_DIMSE_F_ERROR_COMMENT, "coerced PN"), 0);
	rsp.offending[0] = 0x00100010;
	rsp.offending[1] = 0x00080020;
	rsp.offending_count = 2;
	rsp.present |= PACS_DIMSE_F_OFFENDING_ELEMENT;
	pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_ERROR_ID, 0x1234);

	size_t n = encode(buf, &rsp);
	hand_start(&h);
	hand_elem(&h, 0x0002, CT_STORAGE "\0", 26);
	hand_us(&h, 0x0100, 0x8001);
	hand_us(&h, 0x0120, 7);
	hand_us(&h, 0x0800, 0x0101);
	hand_us(&h, 0x0900, 0xB000);
	/* AT values: group then element, little endian each (PS3.5 6.2) */
	hand_elem(&h, 0x0901, "\x10\x00\x10\x00\x08\x00\x20\x00", 8);
	hand_elem(&h, 0x0902, "coerced PN", 10);
	hand_us(&h, 0x0903, 0x1234);
	hand_elem(&h, 0x1000, "1.2.3.4.5\0", 10);
	hand_group_length(&h);
	assert_int_equal(n, h.n);
	assert_memory_equal(buf, h.b, n);

	roundtrip(&rsp, &d);
	assert_int_equal(d.status, 0xB000);
	assert_string_equal(d.error_comment, "coerced PN");
	assert_int_equal(d.offending_count, 2);
	assert_int_equal(d.offending[0], 0x00100010);
	assert_int_equal(d.offending[1], 0x00080020);
	assert_int_equal(d.error_id, 0x1234);
	assert_int_equal(pacs_dimse_status_category(d.status), PACS_DIMSE_STATUS_WARNING);
}

static void test_find_rsp_pending(void **state)
{
	pacs_dimse_cmd rq, rsp, d;
	(void)state;

	pacs_dimse_cmd_init(&rq, PACS_DIMSE_C_FIND_RQ);
	rq.has_data_set = true;
	pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_CLASS, STUDY_ROOT_FIND);
	pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, 42);
	pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_PRIORITY, PACS_DIMSE_PRIORITY_LOW);
	roundtrip(&rq, &d);
	assert_int_equal(d.priority, PACS_DIMSE_PRIORITY_LOW);

	assert_int_equal(pacs_dimse_cmd_response(&rsp, &rq, PACS_DIMSE_PENDING), 0);
	rsp.has_data_set = true; /* a pending C-FIND-RSP carries an identifier */
	roundtrip(&rsp, &d);
	assert_int_equal(d.command, PACS_DIMSE_C_FIND_RSP);
	assert_int_equal(d.status, 0xFF00);
	assert_int_equal(d.message_id_responded, 42);
	assert_true(d.has_data_set);
	assert_string_equal(d.affected_sop_class, STUDY_ROOT_FIND);
	assert_int_equal(pacs_dimse_status_category(d.status), PACS_DIMSE_STATUS_PENDING);

	/* the final one: success, no data set */
	assert_int_equal(pacs_dimse_cmd_response(&rsp, &rq, PACS_DIMSE_SUCCESS), 0);
	roundtrip(&rsp, &d);
	assert_false(d.has_data_set);
	assert_int_equal(pacs_dimse_status_category(d.status), PACS_DIMSE_STATUS_SUCCESS);
}

static void test_move_rq_and_rsp_counts(void **state)
{
	pacs_dimse_cmd rq, rsp, d;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	struct hand h;
	(void)state;

	pacs_dimse_cmd_init(&rq, PACS_DIMSE_C_MOVE_RQ);
	rq.has_data_set = true;
	pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_CLASS, STUDY_ROOT_MOVE);
	pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, 9);
	pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_PRIORITY, 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_MOVE_DESTINATION, "VIEWER"), 0);
	roundtrip(&rq, &d);
	assert_string_equal(d.move_destination, "VIEWER");

	assert_int_equal(pacs_dimse_cmd_response(&rsp, &rq, PACS_DIMSE_PENDING), 0);
	pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_REMAINING, 5);
	pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_COMPLETED, 10);
	pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_FAILED, 1);
	pacs_dimse_cmd_set_u16(&rsp, PACS_DIMSE_F_WARNING, 2);
	size_t n = encode(buf, &rsp);
	hand_start(&h);
	hand_elem(&h, 0x0002, STUDY_ROOT_MOVE "\0", 28);
	hand_us(&h, 0x0100, 0x8021);
	hand_us(&h, 0x0120, 9);
	hand_us(&h, 0x0800, 0x0101);
	hand_us(&h, 0x0900, 0xFF00);
	hand_us(&h, 0x1020, 5);
	hand_us(&h, 0x1021, 10);
	hand_us(&h, 0x1022, 1);
	hand_us(&h, 0x1023, 2);
	hand_group_length(&h);
	assert_int_equal(n, h.n);
	assert_memory_equal(buf, h.b, n);
	roundtrip(&rsp, &d);
	assert_int_equal(d.remaining, 5);
	assert_int_equal(d.completed, 10);
	assert_int_equal(d.failed, 1);
	assert_int_equal(d.warning, 2);
}

static void test_cancel_rq(void **state)
{
	pacs_dimse_cmd c, d, rsp;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	struct hand h;
	(void)state;

	pacs_dimse_cmd_init(&c, PACS_DIMSE_C_CANCEL_RQ);
	pacs_dimse_cmd_set_u16(&c, PACS_DIMSE_F_MESSAGE_ID_RESPONDED, 42);
	size_t n = encode(buf, &c);
	hand_start(&h);
	hand_us(&h, 0x0100, 0x0FFF);
	hand_us(&h, 0x0120, 42);
	hand_us(&h, 0x0800, 0x0101);
	hand_group_length(&h);
	assert_int_equal(n, h.n);
	assert_memory_equal(buf, h.b, n);
	roundtrip(&c, &d);
	assert_int_equal(d.message_id_responded, 42);
	/* C-CANCEL has no response */
	assert_int_equal(pacs_dimse_cmd_response(&rsp, &c, 0), ARCA_EINVAL);
	assert_string_equal(pacs_dimse_command_name(PACS_DIMSE_C_CANCEL_RQ), "C-CANCEL-RQ");
}

static void test_n_action_response(void **state)
{
	pacs_dimse_cmd rq, rsp, d;
	(void)state;

	/* Storage Commitment asks with N-ACTION on the well-known instance */
	pacs_dimse_cmd_init(&rq, PACS_DIMSE_N_ACTION_RQ);
	rq.has_data_set = true;
	pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_REQUESTED_SOP_CLASS, "1.2.840.10008.1.20.1");
	pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_REQUESTED_SOP_INSTANCE, "1.2.840.10008.1.20.1.1");
	pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, 5);
	pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_ACTION_TYPE_ID, 1);
	roundtrip(&rq, &d);
	assert_int_equal(d.action_type_id, 1);
	assert_int_equal(pacs_dimse_cmd_response(&rsp, &rq, PACS_DIMSE_SUCCESS), 0);
	assert_int_equal(rsp.command, PACS_DIMSE_N_ACTION_RSP);
	assert_string_equal(rsp.affected_sop_class, "1.2.840.10008.1.20.1");
	assert_string_equal(rsp.affected_sop_instance, "1.2.840.10008.1.20.1.1");
	roundtrip(&rsp, &d);
}

static void test_missing_required_fields(void **state)
{
	pacs_dimse_cmd c, d;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	struct hand h;
	size_t n;
	(void)state;

	/* C-STORE-RQ without Affected SOP Instance UID, by hand */
	hand_start(&h);
	hand_elem(&h, 0x0002, CT_STORAGE "\0", 26);
	hand_us(&h, 0x0100, 0x0001);
	hand_us(&h, 0x0110, 77);
	hand_us(&h, 0x0700, 0);
	hand_us(&h, 0x0800, 0x0001);
	hand_group_length(&h);
	assert_int_equal(pacs_dimse_cmd_decode(&d, h.b, h.n), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "C-STORE-RQ"));
	assert_non_null(strstr(arca_error_last(), "Affected SOP Instance UID (0000,1000)"));
	/* what was read is kept, so a server can answer message 77 */
	assert_int_equal(d.message_id, 77);
	assert_int_equal(d.command, PACS_DIMSE_C_STORE_RQ);

	/* the encoder refuses the same */
	store_rq(&c);
	c.present &= ~PACS_DIMSE_F_AFFECTED_SOP_INSTANCE;
	assert_int_equal(pacs_dimse_cmd_encode(buf, sizeof buf, &n, &c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "Affected SOP Instance UID"));

	/* C-MOVE-RQ without Move Destination */
	pacs_dimse_cmd_init(&c, PACS_DIMSE_C_MOVE_RQ);
	c.has_data_set = true;
	pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_AFFECTED_SOP_CLASS, STUDY_ROOT_MOVE);
	pacs_dimse_cmd_set_u16(&c, PACS_DIMSE_F_MESSAGE_ID, 1);
	pacs_dimse_cmd_set_u16(&c, PACS_DIMSE_F_PRIORITY, 0);
	assert_int_equal(pacs_dimse_cmd_validate(&c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "Move Destination (0000,0600)"));

	/* a response without status */
	pacs_dimse_cmd_init(&c, PACS_DIMSE_C_ECHO_RSP);
	pacs_dimse_cmd_set_u16(&c, PACS_DIMSE_F_MESSAGE_ID_RESPONDED, 1);
	assert_int_equal(pacs_dimse_cmd_validate(&c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "Status (0000,0900)"));

	/* data set presence against the command */
	echo_rq(&c, 1);
	c.has_data_set = true;
	assert_int_equal(pacs_dimse_cmd_validate(&c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "C-ECHO-RQ"));
	store_rq(&c);
	c.has_data_set = false;
	assert_int_equal(pacs_dimse_cmd_validate(&c), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "0101H"));

	/* no command field, no data set type */
	hand_start(&h);
	hand_us(&h, 0x0110, 1);
	hand_us(&h, 0x0800, 0x0101);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "Command Field (0000,0100)");
	hand_start(&h);
	hand_us(&h, 0x0100, 0x0030);
	hand_us(&h, 0x0110, 1);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "Command Data Set Type (0000,0800)");

	/* an unknown command field is named */
	hand_start(&h);
	hand_us(&h, 0x0100, 0x0042);
	hand_us(&h, 0x0110, 1);
	hand_us(&h, 0x0800, 0x0101);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "0x0042");
}

static void test_tolerated_input(void **state)
{
	pacs_dimse_cmd d;
	struct hand h;
	uint8_t four[4] = {1, 2, 3, 4};
	(void)state;

	/* unknown and retired group-0000 elements are skipped; no group
	 * length; elements out of order; UID padded with a space; AE title
	 * with leading and trailing spaces */
	h.n = 0;
	hand_elem(&h, 0x0001, four, 4);            /* retired Length to End */
	hand_us(&h, 0x0110, 3);
	hand_elem(&h, 0x0002, VERIFICATION " ", 18);
	hand_us(&h, 0x0100, 0x0030);
	hand_elem(&h, 0x5555, "xyz!", 4);          /* not in PS3.7 E.1 */
	hand_us(&h, 0x0800, 0x0101);
	hand_elem(&h, 0x0600, "  DEST  ", 8);      /* not required, still read */
	assert_int_equal(pacs_dimse_cmd_decode(&d, h.b, h.n), 0);
	assert_int_equal(d.message_id, 3);
	assert_string_equal(d.affected_sop_class, VERIFICATION);
	assert_string_equal(d.move_destination, "DEST");

	/* a group length that is wrong is ignored: the PDV delimits */
	hand_start(&h);
	hand_elem(&h, 0x0002, VERIFICATION "\0", 18);
	hand_us(&h, 0x0100, 0x0030);
	hand_us(&h, 0x0110, 1);
	hand_us(&h, 0x0800, 0x0101);
	h.b[8] = 0x99;
	assert_int_equal(pacs_dimse_cmd_decode(&d, h.b, h.n), 0);

	/* empty values count as absent */
	hand_start(&h);
	hand_elem(&h, 0x0002, VERIFICATION "\0", 18);
	hand_us(&h, 0x0100, 0x0030);
	hand_us(&h, 0x0110, 1);
	hand_us(&h, 0x0800, 0x0101);
	hand_elem(&h, 0x0902, "", 0);
	hand_elem(&h, 0x1000, "\0\0", 2);
	hand_group_length(&h);
	assert_int_equal(pacs_dimse_cmd_decode(&d, h.b, h.n), 0);
	assert_false(d.present & PACS_DIMSE_F_ERROR_COMMENT);
	assert_false(d.present & PACS_DIMSE_F_AFFECTED_SOP_INSTANCE);

	/* an over-long, non-ASCII error comment is cut, not refused */
	char comment[100];
	memset(comment, 'x', sizeof comment);
	comment[3] = '\x01';
	comment[4] = '\\';
	hand_start(&h);
	hand_us(&h, 0x0100, 0x8001);
	hand_us(&h, 0x0120, 1);
	hand_us(&h, 0x0800, 0x0101);
	hand_us(&h, 0x0900, 0xC000);
	hand_elem(&h, 0x0902, comment, sizeof comment);
	assert_int_equal(pacs_dimse_cmd_decode(&d, h.b, h.n), 0);
	assert_int_equal(strlen(d.error_comment), PACS_DIMSE_COMMENT_MAX);
	assert_int_equal(d.error_comment[3], '?');
	assert_int_equal(d.error_comment[4], '?');
	/* a cut that ends in spaces drops them, so the comment re-encodes to
	 * itself (found by fuzzing) */
	comment[62] = ' ';
	comment[63] = ' ';
	hand_start(&h);
	hand_us(&h, 0x0100, 0x8001);
	hand_us(&h, 0x0120, 1);
	hand_us(&h, 0x0800, 0x0101);
	hand_us(&h, 0x0900, 0xC000);
	hand_elem(&h, 0x0902, comment, sizeof comment);
	assert_int_equal(pacs_dimse_cmd_decode(&d, h.b, h.n), 0);
	assert_int_equal(strlen(d.error_comment), 62);
	pacs_dimse_cmd again;
	roundtrip(&d, &again);
	assert_string_equal(again.error_comment, d.error_comment);

	/* more offending elements than kept: the first ones stay */
	uint8_t at[4 * (PACS_DIMSE_MAX_OFFENDING + 3)];
	for (size_t i = 0; i < sizeof at; i += 4) {
		at[i] = 0x10;
		at[i + 1] = 0x00;
		at[i + 2] = (uint8_t)(i / 4);
		at[i + 3] = 0x00;
	}
	hand_start(&h);
	hand_us(&h, 0x0100, 0x8001);
	hand_us(&h, 0x0120, 1);
	hand_us(&h, 0x0800, 0x0101);
	hand_us(&h, 0x0900, 0xC000);
	hand_elem(&h, 0x0901, at, sizeof at);
	assert_int_equal(pacs_dimse_cmd_decode(&d, h.b, h.n), 0);
	assert_int_equal(d.offending_count, PACS_DIMSE_MAX_OFFENDING);
	assert_int_equal(d.offending[5], 0x00100005);
}

static void test_malformed_input(void **state)
{
	struct hand h;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	pacs_dimse_cmd c;
	(void)state;

	echo_rq(&c, 1);
	size_t n = encode(buf, &c);

	/* every truncation fails cleanly */
	for (size_t cut = 1; cut < n; cut++) {
		pacs_dimse_cmd d;
		assert_int_equal(pacs_dimse_cmd_decode(&d, buf, cut), ARCA_EPROTO);
	}
	expect_decode_error(buf, 0, ARCA_EPROTO, "without Command Field");
	expect_decode_error(buf, n - 1, ARCA_EPROTO, "exceeds");
	expect_decode_error(buf, 5, ARCA_EPROTO, "truncated at byte 0");

	/* an element of another group */
	memcpy(h.b, buf, n);
	h.n = n;
	hand_u16(&h, 0x0008);
	hand_u16(&h, 0x0016);
	hand_u32(&h, 0);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "(0008,0016)");

	/* a field twice */
	memcpy(h.b, buf, n);
	h.n = n;
	hand_us(&h, 0x0110, 2);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "occurs twice");

	/* a US of length 4 */
	hand_start(&h);
	hand_elem(&h, 0x0100, "\x30\x00\x00\x00", 4);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "a US value has 2");

	/* a group length of length 2 */
	h.n = 0;
	hand_elem(&h, 0x0000, "\x00\x00", 2);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "Command Group Length");

	/* not a UID; a UID too long; an AE too long; AT length not 4n */
	hand_start(&h);
	hand_elem(&h, 0x0002, "1.2.x\0", 6);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "not a valid UID");
	char longuid[66];
	memset(longuid, '1', sizeof longuid);
	hand_start(&h);
	hand_elem(&h, 0x0002, longuid, sizeof longuid);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "longer than");
	hand_start(&h);
	hand_elem(&h, 0x0600, "ABCDEFGHIJKLMNOPQR", 18);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "Move Destination");
	hand_start(&h);
	hand_elem(&h, 0x0901, "\x10\x00\x10\x00\x08\x00", 6);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "multiple of 4");
	/* undefined length */
	h.n = 0;
	hand_u16(&h, 0);
	hand_u16(&h, 0x0002);
	hand_u32(&h, 0xFFFFFFFFu);
	expect_decode_error(h.b, h.n, ARCA_EPROTO, "exceeds");
}

static void test_setters_and_encoder_limits(void **state)
{
	pacs_dimse_cmd c;
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	size_t n;
	(void)state;

	pacs_dimse_cmd_init(&c, PACS_DIMSE_C_ECHO_RQ);
	assert_int_equal(pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_AFFECTED_SOP_CLASS, "1.2.a"), ARCA_EINVAL);
	assert_int_equal(pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_AFFECTED_SOP_CLASS, ""), ARCA_EINVAL);
	assert_int_equal(pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_MOVE_DESTINATION, "ABCDEFGHIJKLMNOPQ"), ARCA_EINVAL);
	assert_int_equal(pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_MOVE_DESTINATION, "A\\B"), ARCA_EINVAL);
	assert_int_equal(pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_MESSAGE_ID, "1"), ARCA_EINVAL);
	assert_int_equal(pacs_dimse_cmd_set_u16(&c, PACS_DIMSE_F_AFFECTED_SOP_CLASS, 1), ARCA_EINVAL);
	assert_int_equal(pacs_dimse_cmd_set_u16(&c, PACS_DIMSE_F_MESSAGE_ID | PACS_DIMSE_F_STATUS, 1), ARCA_EINVAL);
	assert_int_equal(c.present, 0);

	/* a too small buffer: ELIMIT; a struct filled by hand with a bad UID: EINVAL */
	echo_rq(&c, 1);
	assert_int_equal(pacs_dimse_cmd_encode(buf, 20, &n, &c), ARCA_ELIMIT);
	strcpy(c.affected_sop_class, "1.2.x");
	assert_int_equal(pacs_dimse_cmd_encode(buf, sizeof buf, &n, &c), ARCA_EINVAL);

	/* the largest command fits PACS_DIMSE_CMD_MAX_SIZE */
	char uid[PACS_DIMSE_UID_MAX + 1];
	memset(uid, '9', PACS_DIMSE_UID_MAX);
	uid[PACS_DIMSE_UID_MAX] = '\0';
	pacs_dimse_cmd_init(&c, PACS_DIMSE_N_EVENT_REPORT_RQ);
	c.has_data_set = true;
	static const uint32_t strs[] = {
		PACS_DIMSE_F_AFFECTED_SOP_CLASS, PACS_DIMSE_F_REQUESTED_SOP_CLASS,
		PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, PACS_DIMSE_F_REQUESTED_SOP_INSTANCE,
	};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(pacs_dimse_cmd_set_str(&c, strs[i], uid), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_MOVE_DESTINATION, "ABCDEFGHIJKLMNOP"), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_MOVE_ORIGINATOR_AE, "ABCDEFGHIJKLMNOP"), 0);
	char comment[PACS_DIMSE_COMMENT_MAX + 1];
	memset(comment, 'c', PACS_DIMSE_COMMENT_MAX);
	comment[PACS_DIMSE_COMMENT_MAX] = '\0';
	assert_int_equal(pacs_dimse_cmd_set_str(&c, PACS_DIMSE_F_ERROR_COMMENT, comment), 0);
	static const uint32_t nums[] = {
		PACS_DIMSE_F_MESSAGE_ID, PACS_DIMSE_F_MESSAGE_ID_RESPONDED, PACS_DIMSE_F_PRIORITY,
		PACS_DIMSE_F_STATUS, PACS_DIMSE_F_ERROR_ID, PACS_DIMSE_F_EVENT_TYPE_ID,
		PACS_DIMSE_F_ACTION_TYPE_ID, PACS_DIMSE_F_REMAINING, PACS_DIMSE_F_COMPLETED,
		PACS_DIMSE_F_FAILED, PACS_DIMSE_F_WARNING, PACS_DIMSE_F_MOVE_ORIGINATOR_ID,
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		assert_int_equal(pacs_dimse_cmd_set_u16(&c, nums[i], (uint16_t)(i + 1)), 0);
	c.offending_count = PACS_DIMSE_MAX_OFFENDING;
	c.present |= PACS_DIMSE_F_OFFENDING_ELEMENT;
	assert_int_equal(pacs_dimse_cmd_encode(buf, sizeof buf, &n, &c), 0);
	assert_true(n <= PACS_DIMSE_CMD_MAX_SIZE);
	pacs_dimse_cmd d;
	roundtrip(&c, &d);
	assert_string_equal(d.requested_sop_instance, uid);
	assert_string_equal(d.error_comment, comment);
}

/* ---------------------------------------------------------------- status */

static void test_status_categories(void **state)
{
	(void)state;
	static const struct {
		uint16_t code;
		enum pacs_dimse_status_category cat;
	} cases[] = {
		{0x0000, PACS_DIMSE_STATUS_SUCCESS},
		{0xFF00, PACS_DIMSE_STATUS_PENDING},
		{0xFF01, PACS_DIMSE_STATUS_PENDING},
		{0xFE00, PACS_DIMSE_STATUS_CANCEL},
		{0x0001, PACS_DIMSE_STATUS_WARNING},
		{0x0107, PACS_DIMSE_STATUS_WARNING},
		{0x0116, PACS_DIMSE_STATUS_WARNING},
		{0xB000, PACS_DIMSE_STATUS_WARNING},
		{0xB006, PACS_DIMSE_STATUS_WARNING},
		{0xB007, PACS_DIMSE_STATUS_WARNING},
		{0xBFFF, PACS_DIMSE_STATUS_WARNING},
		{0xA700, PACS_DIMSE_STATUS_FAILURE},
		{0xA701, PACS_DIMSE_STATUS_FAILURE},
		{0xA702, PACS_DIMSE_STATUS_FAILURE},
		{0xA801, PACS_DIMSE_STATUS_FAILURE},
		{0xA900, PACS_DIMSE_STATUS_FAILURE},
		{0xAFFF, PACS_DIMSE_STATUS_FAILURE},
		{0xC000, PACS_DIMSE_STATUS_FAILURE},
		{0xCFFF, PACS_DIMSE_STATUS_FAILURE},
		{0x0122, PACS_DIMSE_STATUS_FAILURE},
		{0x0211, PACS_DIMSE_STATUS_FAILURE},
		{0x0110, PACS_DIMSE_STATUS_FAILURE},
		{0x1234, PACS_DIMSE_STATUS_FAILURE}, /* undefined: never success */
		{0xFF02, PACS_DIMSE_STATUS_FAILURE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (pacs_dimse_status_category(cases[i].code) != cases[i].cat)
			fail_msg("status 0x%04x: category %d, expected %d", cases[i].code,
				 pacs_dimse_status_category(cases[i].code), cases[i].cat);
	assert_string_equal(pacs_dimse_status_name(0xA700), "refused: out of resources");
	assert_string_equal(pacs_dimse_status_name(0x0122), "SOP class not supported");
	assert_string_equal(pacs_dimse_status_name(0xA801), "refused: move destination unknown");
	assert_string_equal(pacs_dimse_status_name(0xC123), "failure: cannot understand (Cxxx)");
	assert_string_equal(pacs_dimse_status_category_name(PACS_DIMSE_STATUS_PENDING), "pending");
}

/* ---------------------------------------------------------------- fragmentation */

struct rx {
	int commands;
	pacs_dimse_cmd cmd;
	uint8_t pc_id;
	uint8_t *data;
	size_t len;
	size_t cap;
	int data_calls;
	bool data_last;
	int fail_data;   /* return an error from the data callback */
};

static int rx_command(void *ctx, uint8_t pc_id, const pacs_dimse_cmd *cmd)
{
	struct rx *r = ctx;
	r->commands++;
	r->cmd = *cmd;
	r->pc_id = pc_id;
	r->data_last = false;
	return 0;
}

static int rx_data(void *ctx, uint8_t pc_id, const uint8_t *bytes, size_t len, bool last)
{
	struct rx *r = ctx;
	assert_int_equal(pc_id, r->pc_id);
	assert_false(r->data_last);
	if (r->fail_data)
		return arca_error_set(ARCA_EIO, "disk full");
	if (r->len + len > r->cap) {
		size_t cap = (r->len + len) * 2 + 16;
		uint8_t *p = realloc(r->data, cap);
		assert_non_null(p);
		r->data = p;
		r->cap = cap;
	}
	if (len > 0)
		memcpy(&r->data[r->len], bytes, len);
	r->len += len;
	r->data_calls++;
	r->data_last = last;
	return 0;
}

static const pacs_dimse_asm_cb rx_cb = {rx_command, rx_data};

/* Walks a byte stream of P-DATA-TF PDUs (one PDV each, as we send them),
 * checks their framing against max_pdu and feeds the PDVs to a. */
static void feed_stream(pacs_dimse_asm *a, const uint8_t *s, size_t len, uint32_t max_pdu,
			size_t *n_command, size_t *n_data)
{
	size_t pos = 0;
	*n_command = *n_data = 0;
	while (pos < len) {
		assert_true(len - pos >= 12);
		assert_int_equal(s[pos], 0x04);
		uint32_t pdu_len = (uint32_t)s[pos + 2] << 24 | (uint32_t)s[pos + 3] << 16 |
				   (uint32_t)s[pos + 4] << 8 | s[pos + 5];
		uint32_t item_len = (uint32_t)s[pos + 6] << 24 | (uint32_t)s[pos + 7] << 16 |
				    (uint32_t)s[pos + 8] << 8 | s[pos + 9];
		if (max_pdu != 0)
			assert_true(pdu_len <= max_pdu);
		assert_int_equal(item_len + 4, pdu_len);
		uint8_t control = s[pos + 11];
		assert_int_equal(control & ~3u, 0);
		if (control & PACS_DIMSE_PDV_COMMAND)
			(*n_command)++;
		else
			(*n_data)++;
		int rc = pacs_dimse_asm_feed(a, s[pos + 10], control, &s[pos + 12], item_len - 2);
		if (rc != 0)
			fail_msg("feed: %s", arca_error_last());
		pos += 6 + pdu_len;
	}
	assert_int_equal(pos, len);
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31u + (i >> 8));
	return p;
}

struct producer {
	const uint8_t *src;
	size_t len;
	size_t pos;
	size_t chunk;      /* at most this many bytes per call */
	int fail_at_call;  /* > 0: error on this call */
	int calls;
};

static int produce(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
	struct producer *p = ctx;
	p->calls++;
	if (p->fail_at_call > 0 && p->calls == p->fail_at_call)
		return arca_error_set(ARCA_EIO, "read failed");
	size_t n = p->len - p->pos;
	if (n > cap)
		n = cap;
	if (n > p->chunk)
		n = p->chunk;
	memcpy(buf, &p->src[p->pos], n);
	p->pos += n;
	*got = n;
	return 0;
}

/* Sends a C-STORE-RQ with a data set of n bytes at max_pdu, from memory or
 * from a producer giving chunk bytes per call, and reassembles it. */
static void store_through(size_t n, uint32_t max_pdu, size_t chunk, size_t expect_data_pdus)
{
	pacs_dimse_cmd c;
	uint8_t cmd[PACS_DIMSE_CMD_MAX_SIZE];
	uint8_t *data = pattern(n);
	struct collect col = {0};
	struct producer prod = {data, n, 0, chunk, 0, 0};

	store_rq(&c);
	pacs_dimse_out msg = {.pc_id = 3, .command = cmd, .command_len = encode(cmd, &c)};
	if (chunk == 0) {
		msg.data = data;
		msg.data_len = n;
	} else {
		msg.producer = produce;
		msg.producer_ctx = &prod;
	}
	assert_int_equal(pacs_dimse_fragment(&msg, max_pdu, sink, &col), 0);
	if (max_pdu != 0)
		assert_true(col.max_seen <= max_pdu);

	pacs_dimse_asm *a;
	struct rx r = {0};
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	assert_true(pacs_dimse_asm_idle(a));
	size_t nc, nd;
	feed_stream(a, col.bytes, col.len, max_pdu, &nc, &nd);
	assert_true(pacs_dimse_asm_idle(a));
	assert_int_equal(r.commands, 1);
	assert_int_equal(r.pc_id, 3);
	assert_int_equal(r.cmd.command, PACS_DIMSE_C_STORE_RQ);
	assert_string_equal(r.cmd.affected_sop_instance, "1.2.3.4.5");
	assert_true(r.data_last);
	assert_int_equal(r.len, n);
	if (n > 0)
		assert_memory_equal(r.data, data, n);
	if (expect_data_pdus != 0)
		assert_int_equal(nd, expect_data_pdus);
	pacs_dimse_asm_free(a);
	free(r.data);
	free(col.bytes);
	free(data);
}

static void test_fragment_100k_at_16384(void **state)
{
	(void)state;
	/* PS3.8 D.1: 16384 - 6 = 16378 bytes per fragment: 100000 bytes are
	 * six full fragments and one of 1732. */
	store_through(100000, 16384, 0, 7);
	store_through(100000, 16384, 1000, 7);   /* producer, small reads */
	store_through(100000, 16384, 65536, 7);  /* producer, large reads */
	/* exact multiples: the last full fragment carries the last bit, no
	 * empty trailer (the producer is read one PDU ahead) */
	store_through(2 * 16378, 16384, 0, 2);
	store_through(2 * 16378, 16384, 16378, 2);
	store_through(2 * 16378, 16384, 7, 2);
	/* an empty data set is one empty last fragment */
	store_through(0, 16384, 0, 1);
	store_through(0, 16384, 100, 1);
	/* unlimited: cut at PACS_DIMSE_FRAGMENT_CAP */
	store_through(600000, 0, 0, 3);
	store_through(600000, 0, 4096, 3);
	/* the smallest maximum: one byte per PDV, command included */
	store_through(10, PACS_DIMSE_MIN_MAX_PDU, 0, 10);
}

static void test_fragment_exact_layout(void **state)
{
	pacs_dimse_cmd c;
	uint8_t cmd[PACS_DIMSE_CMD_MAX_SIZE];
	uint8_t data[30];
	pacs_dimse_frag *f;
	const uint8_t *pdu;
	size_t len;
	(void)state;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)i;
	echo_rq(&c, 1);
	size_t cl = encode(cmd, &c); /* 68 bytes */
	pacs_dimse_out msg = {.pc_id = 5, .command = cmd, .command_len = cl,
			      .data = data, .data_len = sizeof data};
	/* max 40: 34 bytes per fragment: command 34 + 34, data 30 */
	assert_int_equal(pacs_dimse_frag_new(&f, &msg, 40), 0);

	static const struct {
		size_t frag;
		uint8_t control;
	} want[] = {{34, 0x01}, {34, 0x03}, {30, 0x02}};
	size_t cpos = 0;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(pacs_dimse_frag_next(f, &pdu, &len), 0);
		assert_non_null(pdu);
		assert_int_equal(len, 12 + want[i].frag);
		uint8_t hdr[12] = {0x04, 0x00, 0, 0, 0, (uint8_t)(6 + want[i].frag),
				   0, 0, 0, (uint8_t)(2 + want[i].frag), 5, want[i].control};
		assert_memory_equal(pdu, hdr, 12);
		if (want[i].control & PACS_DIMSE_PDV_COMMAND) {
			assert_memory_equal(&pdu[12], &cmd[cpos], want[i].frag);
			cpos += want[i].frag;
		} else {
			assert_memory_equal(&pdu[12], data, sizeof data);
		}
	}
	assert_int_equal(cpos, cl);
	assert_int_equal(pacs_dimse_frag_next(f, &pdu, &len), 0);
	assert_null(pdu);
	assert_int_equal(len, 0);
	assert_int_equal(pacs_dimse_frag_next(f, &pdu, &len), 0); /* stays done */
	assert_null(pdu);
	pacs_dimse_frag_free(f);
	pacs_dimse_frag_free(NULL);
}

static int produce_too_much(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
	(void)ctx;
	(void)buf;
	*got = cap + 1;
	return 0;
}

static void test_fragment_errors(void **state)
{
	pacs_dimse_cmd c;
	uint8_t cmd[PACS_DIMSE_CMD_MAX_SIZE];
	pacs_dimse_frag *f = NULL;
	struct collect col = {0};
	(void)state;

	echo_rq(&c, 1);
	size_t cl = encode(cmd, &c);
	pacs_dimse_out msg = {.pc_id = 2, .command = cmd, .command_len = cl};
	assert_int_equal(pacs_dimse_frag_new(&f, &msg, 16384), ARCA_EINVAL);
	assert_null(f);
	msg.pc_id = 0;
	assert_int_equal(pacs_dimse_frag_new(&f, &msg, 16384), ARCA_EINVAL);
	msg.pc_id = 1;
	assert_int_equal(pacs_dimse_frag_new(&f, &msg, PACS_DIMSE_MIN_MAX_PDU - 1), ARCA_EINVAL);
	msg.command_len = 0;
	assert_int_equal(pacs_dimse_frag_new(&f, &msg, 16384), ARCA_EINVAL);
	msg.command_len = cl;
	msg.data_len = 5;
	assert_int_equal(pacs_dimse_frag_new(&f, &msg, 16384), ARCA_EINVAL);
	msg.data_len = 0;

	/* a producer error is returned and ends the message */
	uint8_t *data = pattern(50000);
	struct producer prod = {data, 50000, 0, 4096, 3, 0};
	msg.producer = produce;
	msg.producer_ctx = &prod;
	assert_int_equal(pacs_dimse_fragment(&msg, 16384, sink, &col), ARCA_EIO);
	assert_int_equal(col.pdus, 1); /* the command went, no data PDU did */
	/* and a sink error stops the fragmenter */
	prod = (struct producer){data, 50000, 0, 4096, 0, 0};
	col.fail_after = 2;
	col.pdus = 0;
	assert_int_equal(pacs_dimse_fragment(&msg, 16384, sink, &col), ARCA_EIO);
	assert_non_null(strstr(arca_error_last(), "sink full"));
	/* a producer returning more than asked is caught */
	msg.producer = produce_too_much;
	free(col.bytes);
	col = (struct collect){0};
	assert_int_equal(pacs_dimse_fragment(&msg, 16384, sink, &col), ARCA_EINVAL);
	assert_non_null(strstr(arca_error_last(), "producer"));
	free(data);
	free(col.bytes);
}

/* ---------------------------------------------------------------- assembler */

static void feed_ok(pacs_dimse_asm *a, uint8_t pc, uint8_t control, const uint8_t *b, size_t n)
{
	int rc = pacs_dimse_asm_feed(a, pc, control, b, n);
	if (rc != 0)
		fail_msg("feed: %s", arca_error_last());
}

static void expect_feed_error(pacs_dimse_asm *a, uint8_t pc, uint8_t control, const uint8_t *b, size_t n,
			      int code, const char *needle)
{
	int rc = pacs_dimse_asm_feed(a, pc, control, b, n);
	if (rc != code)
		fail_msg("feed returned %d (%s), expected %d", rc, arca_error_last(), code);
	if (strstr(arca_error_last(), needle) == NULL)
		fail_msg("message \"%s\" does not mention \"%s\"", arca_error_last(), needle);
}

static void test_assembler_messages(void **state)
{
	pacs_dimse_cmd c;
	uint8_t echo[PACS_DIMSE_CMD_MAX_SIZE], store[PACS_DIMSE_CMD_MAX_SIZE];
	struct rx r = {0};
	pacs_dimse_asm *a;
	(void)state;

	echo_rq(&c, 1);
	size_t el = encode(echo, &c);
	store_rq(&c);
	size_t sl = encode(store, &c);
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);

	/* a command split over three fragments; bits 2-7 of the control
	 * header are ignored (PS3.8 E.2) */
	feed_ok(a, 1, 0x01, echo, 10);
	assert_false(pacs_dimse_asm_idle(a));
	feed_ok(a, 1, 0xF1, &echo[10], 0);
	assert_int_equal(r.commands, 0);
	feed_ok(a, 1, 0x03, &echo[10], el - 10);
	assert_int_equal(r.commands, 1);
	assert_int_equal(r.cmd.command, PACS_DIMSE_C_ECHO_RQ);
	assert_true(pacs_dimse_asm_idle(a));

	/* then a C-STORE-RQ with its data set on another context */
	feed_ok(a, 3, 0x03, store, sl);
	assert_int_equal(r.commands, 2);
	assert_false(pacs_dimse_asm_idle(a));
	feed_ok(a, 3, 0x00, (const uint8_t *)"abc", 3);
	feed_ok(a, 3, 0x00, (const uint8_t *)"", 0);
	feed_ok(a, 3, 0x02, (const uint8_t *)"de", 2);
	assert_true(r.data_last);
	assert_int_equal(r.len, 5);
	assert_memory_equal(r.data, "abcde", 5);
	assert_int_equal(r.data_calls, 3);
	assert_true(pacs_dimse_asm_idle(a));
	assert_null(pacs_dimse_asm_rejected(a));
	pacs_dimse_asm_free(a);
	pacs_dimse_asm_free(NULL);
	free(r.data);
}

static void test_assembler_errors(void **state)
{
	pacs_dimse_cmd c;
	uint8_t echo[PACS_DIMSE_CMD_MAX_SIZE], store[PACS_DIMSE_CMD_MAX_SIZE];
	struct rx r = {0};
	pacs_dimse_asm *a;
	(void)state;

	echo_rq(&c, 1);
	size_t el = encode(echo, &c);
	store_rq(&c);
	size_t sl = encode(store, &c);

	/* a data fragment before any command */
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	expect_feed_error(a, 1, 0x02, echo, 4, ARCA_EPROTO, "no command set before it");
	/* and the assembler stays failed */
	expect_feed_error(a, 1, 0x03, echo, el, ARCA_EPROTO, "abort the association");
	pacs_dimse_asm_free(a);

	/* data after a command that said there is none */
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	feed_ok(a, 1, 0x03, echo, el);
	expect_feed_error(a, 1, 0x02, echo, 4, ARCA_EPROTO, "said no data set follows");
	pacs_dimse_asm_free(a);

	/* a data fragment before the last command fragment */
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	feed_ok(a, 1, 0x01, echo, 10);
	expect_feed_error(a, 1, 0x00, echo, 4, ARCA_EPROTO, "before the last fragment of the command");
	pacs_dimse_asm_free(a);

	/* a command fragment while the data set is open */
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	feed_ok(a, 3, 0x03, store, sl);
	feed_ok(a, 3, 0x00, store, 8);
	expect_feed_error(a, 3, 0x03, echo, el, ARCA_EPROTO, "still open");
	pacs_dimse_asm_free(a);

	/* context changes inside the command and between command and data */
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	feed_ok(a, 1, 0x01, echo, 10);
	expect_feed_error(a, 3, 0x03, &echo[10], el - 10, ARCA_EPROTO, "changed from 1 to 3");
	pacs_dimse_asm_free(a);
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	feed_ok(a, 3, 0x03, store, sl);
	expect_feed_error(a, 5, 0x02, store, 8, ARCA_EPROTO, "changed from 3 to 5");
	pacs_dimse_asm_free(a);

	/* a command set over the cap */
	uint8_t *big = calloc(1, PACS_DIMSE_MAX_COMMAND);
	assert_non_null(big);
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	feed_ok(a, 1, 0x01, big, PACS_DIMSE_MAX_COMMAND);
	expect_feed_error(a, 1, 0x03, big, 1, ARCA_ELIMIT, "exceeds");
	pacs_dimse_asm_free(a);
	free(big);

	/* a command that cannot be parsed: broken, no rejected command */
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	expect_feed_error(a, 1, 0x03, echo, el - 1, ARCA_EPROTO, "context 1");
	assert_null(pacs_dimse_asm_rejected(a));
	expect_feed_error(a, 1, 0x03, echo, el, ARCA_EPROTO, "abort");
	pacs_dimse_asm_free(a);

	/* a callback error stops the stream */
	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	r.fail_data = 1;
	feed_ok(a, 3, 0x03, store, sl);
	expect_feed_error(a, 3, 0x02, store, 4, ARCA_EIO, "disk full");
	expect_feed_error(a, 3, 0x03, store, sl, ARCA_EPROTO, "abort");
	r.fail_data = 0;
	pacs_dimse_asm_free(a);

	/* missing callbacks */
	pacs_dimse_asm_cb none = {rx_command, NULL};
	assert_int_equal(pacs_dimse_asm_new(&a, &none, &r), ARCA_EINVAL);
	assert_null(a);
	free(r.data);
}

static void test_assembler_rejected_command(void **state)
{
	pacs_dimse_cmd c;
	uint8_t echo[PACS_DIMSE_CMD_MAX_SIZE];
	struct hand h;
	struct rx r = {0};
	pacs_dimse_asm *a;
	(void)state;

	echo_rq(&c, 1);
	size_t el = encode(echo, &c);
	/* a C-STORE-RQ without Affected SOP Instance UID, with a data set */
	hand_start(&h);
	hand_elem(&h, 0x0002, CT_STORAGE "\0", 26);
	hand_us(&h, 0x0100, 0x0001);
	hand_us(&h, 0x0110, 77);
	hand_us(&h, 0x0700, 0);
	hand_us(&h, 0x0800, 0x0001);
	hand_group_length(&h);

	assert_int_equal(pacs_dimse_asm_new(&a, &rx_cb, &r), 0);
	expect_feed_error(a, 7, 0x03, h.b, h.n, ARCA_EPROTO, "Affected SOP Instance UID");
	const pacs_dimse_cmd *bad = pacs_dimse_asm_rejected(a);
	assert_non_null(bad);
	assert_int_equal(bad->message_id, 77);
	assert_int_equal(bad->command, PACS_DIMSE_C_STORE_RQ);
	assert_string_equal(bad->affected_sop_class, CT_STORAGE);
	assert_int_equal(r.commands, 0);
	/* its data set is dropped without callbacks, and the stream goes on */
	feed_ok(a, 7, 0x00, (const uint8_t *)"xxxx", 4);
	assert_null(pacs_dimse_asm_rejected(a));
	assert_false(pacs_dimse_asm_idle(a));
	feed_ok(a, 7, 0x02, (const uint8_t *)"yy", 2);
	assert_true(pacs_dimse_asm_idle(a));
	assert_int_equal(r.data_calls, 0);
	feed_ok(a, 1, 0x03, echo, el);
	assert_int_equal(r.commands, 1);
	assert_int_equal(r.cmd.command, PACS_DIMSE_C_ECHO_RQ);

	/* an unknown command without data set: rejected, then idle */
	hand_start(&h);
	hand_us(&h, 0x0100, 0x0042);
	hand_us(&h, 0x0110, 8);
	hand_us(&h, 0x0800, 0x0101);
	expect_feed_error(a, 1, 0x03, h.b, h.n, ARCA_EPROTO, "0x0042");
	assert_non_null(pacs_dimse_asm_rejected(a));
	assert_int_equal(pacs_dimse_asm_rejected(a)->message_id, 8);
	assert_true(pacs_dimse_asm_idle(a));
	pacs_dimse_asm_free(a);
	free(r.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_rq_bytes),
		cmocka_unit_test(test_echo_rq_pdu_matches_echoscu),
		cmocka_unit_test(test_store_rq_bytes_and_roundtrip),
		cmocka_unit_test(test_storescu_command),
		cmocka_unit_test(test_store_rsp_all_fields),
		cmocka_unit_test(test_find_rsp_pending),
		cmocka_unit_test(test_move_rq_and_rsp_counts),
		cmocka_unit_test(test_cancel_rq),
		cmocka_unit_test(test_n_action_response),
		cmocka_unit_test(test_missing_required_fields),
		cmocka_unit_test(test_tolerated_input),
		cmocka_unit_test(test_malformed_input),
		cmocka_unit_test(test_setters_and_encoder_limits),
		cmocka_unit_test(test_status_categories),
		cmocka_unit_test(test_fragment_100k_at_16384),
		cmocka_unit_test(test_fragment_exact_layout),
		cmocka_unit_test(test_fragment_errors),
		cmocka_unit_test(test_assembler_messages),
		cmocka_unit_test(test_assembler_errors),
		cmocka_unit_test(test_assembler_rejected_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
