/* pacs_dimse_cmd.c - DIMSE command sets <-> pacs_dimse_cmd.
 *
 * PS3.7 6.3.1: a command set is a list of group 0000 elements, each a
 * 4-byte tag, a 4-byte little-endian length and the value (the Implicit
 * VR Little Endian encoding of PS3.5 7.1.3), in increasing tag order,
 * each at most once, led by (0000,0000) Command Group Length.  Commands
 * are small and fixed in form, so they have their own bounded cursor here
 * instead of going through the generic data set reader. */
#include "pacs_dimse.h"

#include <string.h>

#include "arca_err.h"
#include "pacs_dimse_priv.h"

/* Internal presence bits for the two always-required fields; they never
 * appear in pacs_dimse_cmd.present. */
#define F_COMMAND_FIELD (1u << 30)
#define F_DATA_SET_TYPE (1u << 31)

enum kind { K_US, K_UI, K_AE, K_LO, K_AT, K_COMMAND, K_DATA_SET_TYPE };

/* PS3.7 Annex E, Table E.1-1, in tag order (encoding order). */
static const struct field_def {
	uint16_t element;
	uint32_t bit;
	enum kind kind;
	const char *name;
} fields[] = {
	{0x0002, PACS_DIMSE_F_AFFECTED_SOP_CLASS, K_UI, "Affected SOP Class UID (0000,0002)"},
	{0x0003, PACS_DIMSE_F_REQUESTED_SOP_CLASS, K_UI, "Requested SOP Class UID (0000,0003)"},
	{0x0100, F_COMMAND_FIELD, K_COMMAND, "Command Field (0000,0100)"},
	{0x0110, PACS_DIMSE_F_MESSAGE_ID, K_US, "Message ID (0000,0110)"},
	{0x0120, PACS_DIMSE_F_MESSAGE_ID_RESPONDED, K_US, "Message ID Being Responded To (0000,0120)"},
	{0x0600, PACS_DIMSE_F_MOVE_DESTINATION, K_AE, "Move Destination (0000,0600)"},
	{0x0700, PACS_DIMSE_F_PRIORITY, K_US, "Priority (0000,0700)"},
	{0x0800, F_DATA_SET_TYPE, K_DATA_SET_TYPE, "Command Data Set Type (0000,0800)"},
	{0x0900, PACS_DIMSE_F_STATUS, K_US, "Status (0000,0900)"},
	{0x0901, PACS_DIMSE_F_OFFENDING_ELEMENT, K_AT, "Offending Element (0000,0901)"},
	{0x0902, PACS_DIMSE_F_ERROR_COMMENT, K_LO, "Error Comment (0000,0902)"},
	{0x0903, PACS_DIMSE_F_ERROR_ID, K_US, "Error ID (0000,0903)"},
	{0x1000, PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, K_UI, "Affected SOP Instance UID (0000,1000)"},
	{0x1001, PACS_DIMSE_F_REQUESTED_SOP_INSTANCE, K_UI, "Requested SOP Instance UID (0000,1001)"},
	{0x1002, PACS_DIMSE_F_EVENT_TYPE_ID, K_US, "Event Type ID (0000,1002)"},
	{0x1008, PACS_DIMSE_F_ACTION_TYPE_ID, K_US, "Action Type ID (0000,1008)"},
	{0x1020, PACS_DIMSE_F_REMAINING, K_US, "Number of Remaining Sub-operations (0000,1020)"},
	{0x1021, PACS_DIMSE_F_COMPLETED, K_US, "Number of Completed Sub-operations (0000,1021)"},
	{0x1022, PACS_DIMSE_F_FAILED, K_US, "Number of Failed Sub-operations (0000,1022)"},
	{0x1023, PACS_DIMSE_F_WARNING, K_US, "Number of Warning Sub-operations (0000,1023)"},
	{0x1030, PACS_DIMSE_F_MOVE_ORIGINATOR_AE, K_AE, "Move Originator Application Entity Title (0000,1030)"},
	{0x1031, PACS_DIMSE_F_MOVE_ORIGINATOR_ID, K_US, "Move Originator Message ID (0000,1031)"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const struct field_def *field_by_element(uint16_t element)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].element == element)
			return &fields[i];
	return NULL;
}

static const struct field_def *field_by_bit(uint32_t bit)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].bit == bit)
			return &fields[i];
	return NULL;
}

const char *pacs_dimse_field_name(uint32_t field)
{
	const struct field_def *f = field_by_bit(field);

	return f != NULL ? f->name : "unknown field";
}

/* Where each field lives in the struct. */
static uint16_t *u16_slot(pacs_dimse_cmd *c, uint32_t bit)
{
	switch (bit) {
	case PACS_DIMSE_F_MESSAGE_ID: return &c->message_id;
	case PACS_DIMSE_F_MESSAGE_ID_RESPONDED: return &c->message_id_responded;
	case PACS_DIMSE_F_PRIORITY: return &c->priority;
	case PACS_DIMSE_F_STATUS: return &c->status;
	case PACS_DIMSE_F_ERROR_ID: return &c->error_id;
	case PACS_DIMSE_F_EVENT_TYPE_ID: return &c->event_type_id;
	case PACS_DIMSE_F_ACTION_TYPE_ID: return &c->action_type_id;
	case PACS_DIMSE_F_REMAINING: return &c->remaining;
	case PACS_DIMSE_F_COMPLETED: return &c->completed;
	case PACS_DIMSE_F_FAILED: return &c->failed;
	case PACS_DIMSE_F_WARNING: return &c->warning;
	case PACS_DIMSE_F_MOVE_ORIGINATOR_ID: return &c->move_originator_id;
	}
	return NULL;
}

static char *str_slot(pacs_dimse_cmd *c, uint32_t bit, size_t *max)
{
	switch (bit) {
	case PACS_DIMSE_F_AFFECTED_SOP_CLASS: *max = PACS_DIMSE_UID_MAX; return c->affected_sop_class;
	case PACS_DIMSE_F_REQUESTED_SOP_CLASS: *max = PACS_DIMSE_UID_MAX; return c->requested_sop_class;
	case PACS_DIMSE_F_AFFECTED_SOP_INSTANCE: *max = PACS_DIMSE_UID_MAX; return c->affected_sop_instance;
	case PACS_DIMSE_F_REQUESTED_SOP_INSTANCE: *max = PACS_DIMSE_UID_MAX; return c->requested_sop_instance;
	case PACS_DIMSE_F_MOVE_DESTINATION: *max = PACS_DIMSE_AE_MAX; return c->move_destination;
	case PACS_DIMSE_F_MOVE_ORIGINATOR_AE: *max = PACS_DIMSE_AE_MAX; return c->move_originator_ae;
	case PACS_DIMSE_F_ERROR_COMMENT: *max = PACS_DIMSE_COMMENT_MAX; return c->error_comment;
	}
	*max = 0;
	return NULL;
}

static const char *str_value(const pacs_dimse_cmd *c, uint32_t bit)
{
	size_t max;

	/* str_slot does not write through the pointer; the cast only shares
	 * the switch. */
	return str_slot((pacs_dimse_cmd *)c, bit, &max);
}

/* ---------------------------------------------------------------- values */

/* PS3.5 9.1: a UID is digits and dots, components without leading zeros
 * are not checked here (peers get that wrong and it is harmless to us). */
static bool uid_chars_ok(const char *s, size_t n)
{
	if (n == 0 || n > PACS_DIMSE_UID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
			return false;
	return true;
}

/* PS3.5 Table 6.2-1 AE: default repertoire without backslash and control
 * characters. */
static bool ae_chars_ok(const char *s, size_t n)
{
	if (n == 0 || n > PACS_DIMSE_AE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch > 0x7E || ch == '\\')
			return false;
	}
	return true;
}

static bool comment_chars_ok(const char *s, size_t n)
{
	if (n > PACS_DIMSE_COMMENT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch > 0x7E || ch == '\\')
			return false;
	}
	return true;
}

static bool value_ok(enum kind k, const char *s)
{
	size_t n = strnlen(s, PACS_DIMSE_UID_MAX + 1);

	switch (k) {
	case K_UI: return uid_chars_ok(s, n);
	case K_AE: return ae_chars_ok(s, n);
	case K_LO: return comment_chars_ok(s, n);
	default: return false;
	}
}

/* ---------------------------------------------------------------- struct helpers */

void pacs_dimse_cmd_init(pacs_dimse_cmd *cmd, uint16_t command)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->command = command;
}

int pacs_dimse_cmd_set_u16(pacs_dimse_cmd *cmd, uint32_t field, uint16_t value)
{
	uint16_t *slot = u16_slot(cmd, field);

	if (slot == NULL)
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_cmd_set_u16: 0x%x is not a numeric command field", field);
	*slot = value;
	cmd->present |= field;
	return 0;
}

int pacs_dimse_cmd_set_str(pacs_dimse_cmd *cmd, uint32_t field, const char *value)
{
	size_t max;
	char *slot = str_slot(cmd, field, &max);
	const struct field_def *f = field_by_bit(field);

	if (slot == NULL || f == NULL)
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_cmd_set_str: 0x%x is not a string command field", field);
	if (value == NULL || !value_ok(f->kind, value) || (f->kind == K_LO && value[0] == '\0'))
		return arca_error_set(ARCA_EINVAL, "%s: \"%.80s\" is not a valid value (at most %zu characters%s)",
				      f->name, value != NULL ? value : "(null)", max,
				      f->kind == K_UI ? " of digits and dots" : ", printable ASCII");
	memcpy(slot, value, strlen(value) + 1);
	cmd->present |= field;
	return 0;
}

/* ---------------------------------------------------------------- encoding */

/* A bounded writer: the index never passes cap. */
struct writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

static void put_u8(struct writer *w, uint8_t v)
{
	if (w->len >= w->cap) {
		w->overflow = true;
		return;
	}
	w->buf[w->len++] = v;
}

static void put_u16le(struct writer *w, uint16_t v)
{
	put_u8(w, (uint8_t)(v & 0xFF));
	put_u8(w, (uint8_t)(v >> 8));
}

static void put_u32le(struct writer *w, uint32_t v)
{
	put_u16le(w, (uint16_t)(v & 0xFFFF));
	put_u16le(w, (uint16_t)(v >> 16));
}

static void put_header(struct writer *w, uint16_t element, uint32_t length)
{
	put_u16le(w, 0x0000);
	put_u16le(w, element);
	put_u32le(w, length);
}

static void put_us(struct writer *w, uint16_t element, uint16_t v)
{
	put_header(w, element, 2);
	put_u16le(w, v);
}

/* PS3.5 6.2: UI values are padded to even length with NUL, the other
 * string VRs with a space. */
static void put_string(struct writer *w, uint16_t element, const char *s, char pad)
{
	size_t n = strlen(s);
	size_t padded = n + (n & 1u);

	put_header(w, element, (uint32_t)padded);
	for (size_t i = 0; i < n; i++)
		put_u8(w, (uint8_t)s[i]);
	if (padded != n)
		put_u8(w, (uint8_t)pad);
}

int pacs_dimse_cmd_encode(uint8_t *buf, size_t cap, size_t *out_len, const pacs_dimse_cmd *cmd)
{
	int rc = pacs_dimse_cmd_validate(cmd);
	if (rc < 0)
		return rc;
	if (cmd->offending_count > PACS_DIMSE_MAX_OFFENDING)
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_cmd_encode: %zu offending elements, at most %d",
				      cmd->offending_count, PACS_DIMSE_MAX_OFFENDING);

	struct writer w = {buf, cap, 0, false};
	/* PS3.7 6.3.1: (0000,0000) first; its value is filled in at the end. */
	put_header(&w, 0x0000, 4);
	put_u32le(&w, 0);

	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field_def *f = &fields[i];
		if (f->kind == K_COMMAND) {
			put_us(&w, f->element, cmd->command);
			continue;
		}
		if (f->kind == K_DATA_SET_TYPE) {
			put_us(&w, f->element, cmd->has_data_set ? PACS_DIMSE_DATA_SET_PRESENT
								 : PACS_DIMSE_DATA_SET_ABSENT);
			continue;
		}
		if (!(cmd->present & f->bit))
			continue;
		switch (f->kind) {
		case K_US:
			/* u16_slot only locates the field; nothing is written */
			put_us(&w, f->element, *u16_slot((pacs_dimse_cmd *)cmd, f->bit));
			break;
		case K_UI:
		case K_AE:
		case K_LO: {
			const char *s = str_value(cmd, f->bit);
			if (!value_ok(f->kind, s))
				return arca_error_set(ARCA_EINVAL, "pacs_dimse_cmd_encode: %s \"%.80s\" is not a valid value",
						      f->name, s);
			put_string(&w, f->element, s, f->kind == K_UI ? '\0' : ' ');
			break;
		}
		case K_AT:
			put_header(&w, f->element, (uint32_t)(4 * cmd->offending_count));
			/* PS3.5 6.2 AT: group then element, each little endian. */
			for (size_t j = 0; j < cmd->offending_count; j++) {
				put_u16le(&w, (uint16_t)(cmd->offending[j] >> 16));
				put_u16le(&w, (uint16_t)(cmd->offending[j] & 0xFFFF));
			}
			break;
		default:
			break;
		}
	}
	if (w.overflow)
		return arca_error_set(ARCA_ELIMIT, "pacs_dimse_cmd_encode: %s needs more than the %zu bytes given",
				      pacs_dimse_command_name(cmd->command), cap);
	/* Command Group Length: the bytes after its own 12-byte element. */
	struct writer gl = {buf, cap, 8, false};
	put_u32le(&gl, (uint32_t)(w.len - 12));
	*out_len = w.len;
	return 0;
}

/* ---------------------------------------------------------------- decoding */

/* A bounded reader: every read checks the bytes left and fails cleanly
 * (false, cursor unchanged) at the end. */
struct cursor {
	const uint8_t *data;
	size_t len;  /* end of the readable range */
	size_t pos;
};

static size_t cur_left(const struct cursor *c)
{
	return c->len - c->pos;
}

static bool rd_u8(struct cursor *c, uint8_t *v)
{
	if (cur_left(c) < 1)
		return false;
	*v = c->data[c->pos++];
	return true;
}

static bool rd_u16le(struct cursor *c, uint16_t *v)
{
	if (cur_left(c) < 2)
		return false;
	*v = (uint16_t)(c->data[c->pos] | (unsigned)c->data[c->pos + 1] << 8);
	c->pos += 2;
	return true;
}

static bool rd_u32le(struct cursor *c, uint32_t *v)
{
	uint16_t lo = 0, hi = 0;
	if (cur_left(c) < 4)
		return false;
	rd_u16le(c, &lo);
	rd_u16le(c, &hi);
	*v = (uint32_t)lo | (uint32_t)hi << 16;
	return true;
}

/* Splits the next n bytes off c as their own cursor. */
static bool rd_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	if (cur_left(c) < n)
		return false;
	sub->data = c->data;
	sub->pos = c->pos;
	sub->len = c->pos + n;
	c->pos += n;
	return true;
}

/* The byte at offset i of the value (i < value length). */
static uint8_t at_byte(const struct cursor *v, size_t i)
{
	struct cursor t = *v;
	uint8_t b = 0;
	t.pos += i;
	rd_u8(&t, &b);
	return b;
}

/* Decodes the string value v into dst (capacity max + 1) without its
 * padding.  Returns the stripped length, or SIZE_MAX if it does not fit. */
static size_t take_string(const struct cursor *v, enum kind k, char *dst, size_t max)
{
	size_t start = 0, end = cur_left(v);

	/* Trailing NUL or space padding (PS3.5 6.2; some peers pad UIs with
	 * spaces), and leading spaces, which are not significant in AE. */
	while (end > start && (at_byte(v, end - 1) == 0 || at_byte(v, end - 1) == ' '))
		end--;
	if (k == K_AE)
		while (start < end && at_byte(v, start) == ' ')
			start++;
	size_t len = end - start;
	if (len > max) {
		if (k != K_LO)
			return SIZE_MAX;
		/* An over-long Error Comment is only diagnostic: keep its start
		 * (without the spaces the cut may leave at its end). */
		len = max;
		while (len > 0 && at_byte(v, start + len - 1) == ' ')
			len--;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = at_byte(v, start + i);
		if (k == K_LO && (ch < 0x20 || ch > 0x7E || ch == '\\'))
			ch = '?';
		dst[i] = (char)ch;
	}
	dst[len] = '\0';
	return len;
}

/* Decodes value v (non-empty) of field f into out. */
static int parse_field(pacs_dimse_cmd *out, const struct field_def *f, struct cursor *v, size_t at)
{
	size_t length = cur_left(v);

	switch (f->kind) {
	case K_COMMAND:
	case K_DATA_SET_TYPE:
	case K_US: {
		uint16_t x;
		if (length != 2 || !rd_u16le(v, &x))
			return arca_error_set(ARCA_EPROTO, "%s at byte %zu: length %zu, a US value has 2",
					      f->name, at, length);
		if (f->kind == K_COMMAND)
			out->command = x;
		else if (f->kind == K_DATA_SET_TYPE)
			out->has_data_set = x != PACS_DIMSE_DATA_SET_ABSENT;
		else
			*u16_slot(out, f->bit) = x;
		break;
	}
	case K_UI:
	case K_AE:
	case K_LO: {
		size_t max;
		char *dst = str_slot(out, f->bit, &max);
		size_t n = take_string(v, f->kind, dst, max);
		if (n == SIZE_MAX)
			return arca_error_set(ARCA_EPROTO, "%s at byte %zu: value of %zu bytes is longer than the %zu its VR allows",
					      f->name, at, length, max);
		if (n == 0)
			return 0; /* padding only: treat as absent */
		if ((f->kind == K_UI && !uid_chars_ok(dst, n)) || (f->kind == K_AE && !ae_chars_ok(dst, n)))
			return arca_error_set(ARCA_EPROTO, "%s at byte %zu: \"%.64s\" is not a valid %s",
					      f->name, at, dst, f->kind == K_UI ? "UID" : "AE title");
		break;
	}
	case K_AT:
		if (length % 4 != 0)
			return arca_error_set(ARCA_EPROTO, "%s at byte %zu: length %zu is not a multiple of 4",
					      f->name, at, length);
		out->offending_count = 0;
		/* PS3.5 6.2 AT: group then element, each little endian. */
		for (uint16_t group, element; rd_u16le(v, &group) && rd_u16le(v, &element);)
			if (out->offending_count < PACS_DIMSE_MAX_OFFENDING)
				out->offending[out->offending_count++] = (uint32_t)group << 16 | element;
		break;
	}
	out->present |= f->bit & ~(F_COMMAND_FIELD | F_DATA_SET_TYPE);
	return 0;
}

int pacs_dimse__cmd_parse(pacs_dimse_cmd *out, const uint8_t *data, size_t len)
{
	struct cursor c = {data, len, 0};
	uint32_t seen = 0; /* fields met, to refuse duplicates */
	uint32_t got = 0;  /* fields with a value */

	memset(out, 0, sizeof *out);
	while (cur_left(&c) > 0) {
		size_t at = c.pos;
		uint16_t group, element;
		uint32_t length;
		if (!rd_u16le(&c, &group) || !rd_u16le(&c, &element) || !rd_u32le(&c, &length))
			return arca_error_set(ARCA_EPROTO, "command set truncated at byte %zu: %zu bytes left, an element header needs 8",
					      at, len - at);
		if (group != 0x0000)
			return arca_error_set(ARCA_EPROTO, "(%04X,%04X) at byte %zu in a command set, which holds only group 0000 (PS3.7 6.3.1)",
					      group, element, at);
		struct cursor v;
		if (!rd_sub(&c, length, &v))
			return arca_error_set(ARCA_EPROTO, "(0000,%04X) at byte %zu: value length %u exceeds the %zu bytes left",
					      element, at, length, cur_left(&c));
		const struct field_def *f = field_by_element(element);
		if (f == NULL) {
			/* The group length (its value is not needed: the PDVs
			 * delimit the command) and unknown or retired elements. */
			if (element == 0x0000 && length != 4)
				return arca_error_set(ARCA_EPROTO, "Command Group Length (0000,0000) at byte %zu: length %u, a UL value has 4",
						      at, length);
			continue;
		}
		if (seen & f->bit)
			return arca_error_set(ARCA_EPROTO, "%s at byte %zu occurs twice (PS3.7 6.3.1 allows it once)",
					      f->name, at);
		seen |= f->bit;
		if (length == 0)
			continue; /* an empty value says nothing: absent */
		int rc = parse_field(out, f, &v, at);
		if (rc < 0)
			return rc;
		got |= f->bit;
	}
	/* Without these two nothing can be said about the message, not even
	 * whether a data set follows: a structural error, not a validation one. */
	if (!(got & F_COMMAND_FIELD))
		return arca_error_set(ARCA_EPROTO, "command set of %zu bytes without Command Field (0000,0100)", len);
	if (!(got & F_DATA_SET_TYPE))
		return arca_error_set(ARCA_EPROTO, "%s without Command Data Set Type (0000,0800), which PS3.7 requires",
				      pacs_dimse_command_name(out->command));
	return 0;
}

int pacs_dimse_cmd_decode(pacs_dimse_cmd *out, const uint8_t *data, size_t len)
{
	int rc = pacs_dimse__cmd_parse(out, data, len);
	if (rc < 0)
		return rc;
	return pacs_dimse_cmd_validate(out);
}
