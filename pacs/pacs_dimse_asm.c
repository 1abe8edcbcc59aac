/* pacs_dimse_asm.c - incoming PDVs -> DIMSE messages.
 *
 * PS3.7 6.3 and PS3.8 Annex E: a message is its command set, in one or
 * more command fragments (message control header bit 0 set), the last one
 * flagged by bit 1; then, if the command's data set type (0000,0800) says
 * so, its data set in data fragments, the last one flagged too.  All PDVs
 * of a message use one presentation context, and one message is complete
 * before the next begins on the association.
 *
 * Command fragments are gathered (capped) and decoded; data set fragments
 * are passed straight on, so an instance of any size flows through with
 * no copy here. */
#include "pacs_dimse.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_dimse_priv.h"

enum state {
	S_IDLE,     /* between messages */
	S_COMMAND,  /* command fragments arriving */
	S_DATA,     /* data set fragments arriving, passed to cb.data */
	S_DISCARD,  /* data set of a rejected command, dropped */
	S_BROKEN,   /* the stream can no longer be followed */
};

struct pacs_dimse_asm {
	pacs_dimse_asm_cb cb;
	void *ctx;
	enum state state;
	uint8_t pc_id;            /* context of the message in progress */
	bool prev_without_data;   /* the last complete message had no data set */
	bool rejected;            /* cmd is the rejected command of the last feed */
	pacs_dimse_cmd cmd;
	size_t cmd_len;
	uint8_t cmd_buf[PACS_DIMSE_MAX_COMMAND];
};

int pacs_dimse_asm_new(pacs_dimse_asm **out, const pacs_dimse_asm_cb *cb, void *ctx)
{
	*out = NULL;
	if (cb == NULL || cb->command == NULL || cb->data == NULL)
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_asm_new: both callbacks are required");
	pacs_dimse_asm *a = calloc(1, sizeof *a);
	if (a == NULL)
		return arca_error_set(ARCA_ENOMEM, "pacs_dimse_asm_new: out of memory");
	a->cb = *cb;
	a->ctx = ctx;
	a->state = S_IDLE;
	*out = a;
	return 0;
}

void pacs_dimse_asm_free(pacs_dimse_asm *a)
{
	free(a);
}

bool pacs_dimse_asm_idle(const pacs_dimse_asm *a)
{
	return a->state == S_IDLE;
}

const pacs_dimse_cmd *pacs_dimse_asm_rejected(const pacs_dimse_asm *a)
{
	return a->rejected ? &a->cmd : NULL;
}

/* Every error that leaves the stream unreadable goes through here. */
static int broken(pacs_dimse_asm *a, int code)
{
	a->state = S_BROKEN;
	return code;
}

static int command_complete(pacs_dimse_asm *a, uint8_t pc_id)
{
	int rc = pacs_dimse__cmd_parse(&a->cmd, a->cmd_buf, a->cmd_len);
	if (rc < 0)
		return broken(a, arca_error_prefix(rc, "command set on context %u", pc_id));
	rc = pacs_dimse_cmd_validate(&a->cmd);
	if (rc < 0) {
		/* Readable but not acceptable: the caller may answer it (the
		 * message ID is known) and the data set, if any, is skipped. */
		a->rejected = true;
		a->state = a->cmd.has_data_set ? S_DISCARD : S_IDLE;
		a->prev_without_data = !a->cmd.has_data_set;
		return rc;
	}
	a->state = a->cmd.has_data_set ? S_DATA : S_IDLE;
	a->prev_without_data = !a->cmd.has_data_set;
	rc = a->cb.command(a->ctx, pc_id, &a->cmd);
	if (rc < 0)
		return broken(a, rc);
	return 0;
}

int pacs_dimse_asm_feed(pacs_dimse_asm *a, uint8_t pc_id, uint8_t control,
			const uint8_t *bytes, size_t len)
{
	/* PS3.8 E.2: only bits 0 and 1 mean anything; the rest are ignored. */
	bool is_command = (control & PACS_DIMSE_PDV_COMMAND) != 0;
	bool last = (control & PACS_DIMSE_PDV_LAST) != 0;

	a->rejected = false;
	switch (a->state) {
	case S_BROKEN:
		return arca_error_set(ARCA_EPROTO, "DIMSE stream already failed; abort the association");

	case S_IDLE:
		if (!is_command) {
			if (a->prev_without_data)
				return broken(a, arca_error_set(ARCA_EPROTO,
					"data set fragment on context %u after %s whose Command Data Set Type (0000,0800) said no data set follows",
					pc_id, pacs_dimse_command_name(a->cmd.command)));
			return broken(a, arca_error_set(ARCA_EPROTO,
				"data set fragment on context %u with no command set before it (PS3.7 6.3)", pc_id));
		}
		a->pc_id = pc_id;
		a->cmd_len = 0;
		a->state = S_COMMAND;
		/* fall through */
	case S_COMMAND:
		if (!is_command)
			return broken(a, arca_error_set(ARCA_EPROTO,
				"data set fragment on context %u before the last fragment of the command set", pc_id));
		if (pc_id != a->pc_id)
			return broken(a, arca_error_set(ARCA_EPROTO,
				"presentation context changed from %u to %u inside a command set", a->pc_id, pc_id));
		if (len > PACS_DIMSE_MAX_COMMAND - a->cmd_len)
			return broken(a, arca_error_set(ARCA_ELIMIT,
				"command set on context %u exceeds %u bytes", pc_id, PACS_DIMSE_MAX_COMMAND));
		if (len > 0)
			memcpy(&a->cmd_buf[a->cmd_len], bytes, len);
		a->cmd_len += len;
		return last ? command_complete(a, pc_id) : 0;

	case S_DATA:
	case S_DISCARD: {
		if (is_command)
			return broken(a, arca_error_set(ARCA_EPROTO,
				"command fragment on context %u while the data set of %s (message %u) is still open",
				pc_id, pacs_dimse_command_name(a->cmd.command), a->cmd.message_id));
		if (pc_id != a->pc_id)
			return broken(a, arca_error_set(ARCA_EPROTO,
				"presentation context changed from %u to %u inside the data set of %s",
				a->pc_id, pc_id, pacs_dimse_command_name(a->cmd.command)));
		bool deliver = a->state == S_DATA;
		if (last)
			a->state = S_IDLE;
		if (!deliver)
			return 0;
		int rc = a->cb.data(a->ctx, pc_id, bytes, len, last);
		if (rc < 0)
			return broken(a, rc);
		return 0;
	}
	}
	return 0;
}
