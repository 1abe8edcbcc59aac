/* pacs_dimse_frag.c - an outgoing DIMSE message as P-DATA-TF PDUs.
 *
 * PS3.8 9.3.5 (Tables 9-22, 9-23) and Annex E: each PDU carries one PDV
 * item; the command set's fragments come first, then the data set's, each
 * part ending with a fragment whose message control header has bit 1
 * set.  PS3.8 D.1: the PDU-length field never exceeds the peer's Maximum
 * Length Received, so a fragment holds at most max - 6 bytes.
 *
 * The fragmenter is pulled one PDU at a time, so an event loop can ask
 * for the next PDU only when the socket is writable and a large data set
 * is never all in memory.  A data set from a producer is read one PDU
 * ahead: a read() style producer says "end" only by returning nothing,
 * and the last-fragment bit must be set on the PDU before that. */
#include "pacs_dimse.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

#define HDR (PACS_DIMSE_PDU_HEADER + PACS_DIMSE_PDV_HEADER)

enum phase { PH_COMMAND, PH_DATA, PH_DONE, PH_FAILED };

struct pacs_dimse_frag {
	pacs_dimse_out msg;
	size_t frag_max;     /* fragment bytes per PDV */
	enum phase phase;
	size_t cmd_pos;
	size_t data_pos;
	/* buf[cur] holds the PDU being handed out; with a producer, buf[cur ^ 1]
	 * is the read-ahead. */
	uint8_t *buf[2];
	size_t fill[2];
	int cur;
	bool primed;         /* producer: buf[cur] has been filled */
	bool eof;            /* producer said the data set has ended */
};

static bool has_data_set(const pacs_dimse_out *m)
{
	return m->data != NULL || m->producer != NULL;
}

int pacs_dimse_frag_new(pacs_dimse_frag **out, const pacs_dimse_out *msg, uint32_t max_pdu)
{
	*out = NULL;
	/* PS3.8 9.3.5: presentation context IDs are odd, 1-255. */
	if (msg->pc_id == 0 || (msg->pc_id & 1u) == 0)
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_frag_new: presentation context ID %u is not odd", msg->pc_id);
	if (msg->command == NULL || msg->command_len == 0)
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_frag_new: a message needs a command set");
	if (msg->data == NULL && msg->data_len != 0)
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_frag_new: data_len %zu without data", msg->data_len);
	if (max_pdu != 0 && max_pdu < PACS_DIMSE_MIN_MAX_PDU)
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_frag_new: maximum PDU length %u leaves no room for data (at least %u)",
				      max_pdu, PACS_DIMSE_MIN_MAX_PDU);

	size_t frag_max = PACS_DIMSE_FRAGMENT_CAP;
	if (max_pdu != 0 && (size_t)max_pdu - PACS_DIMSE_PDV_HEADER < frag_max)
		frag_max = (size_t)max_pdu - PACS_DIMSE_PDV_HEADER;

	pacs_dimse_frag *f = calloc(1, sizeof *f);
	if (f == NULL)
		return arca_error_set(ARCA_ENOMEM, "pacs_dimse_frag_new: out of memory");
	f->msg = *msg;
	f->frag_max = frag_max;
	f->phase = PH_COMMAND;
	int nbuf = (msg->data == NULL && msg->producer != NULL) ? 2 : 1;
	for (int i = 0; i < nbuf; i++) {
		f->buf[i] = malloc(HDR + frag_max);
		if (f->buf[i] == NULL) {
			pacs_dimse_frag_free(f);
			return arca_error_set(ARCA_ENOMEM, "pacs_dimse_frag_new: out of memory for a %zu-byte PDU",
					      HDR + frag_max);
		}
	}
	*out = f;
	return 0;
}

void pacs_dimse_frag_free(pacs_dimse_frag *f)
{
	if (f == NULL)
		return;
	free(f->buf[0]);
	free(f->buf[1]);
	free(f);
}

static void put_u32be(uint8_t *b, size_t at, uint32_t v)
{
	b[at] = (uint8_t)(v >> 24);
	b[at + 1] = (uint8_t)(v >> 16);
	b[at + 2] = (uint8_t)(v >> 8);
	b[at + 3] = (uint8_t)v;
}

/* Writes the P-DATA-TF header and PDV item header for n fragment bytes
 * already at b[HDR..HDR+n). */
static size_t frame(uint8_t *b, size_t n, uint8_t pc_id, uint8_t control)
{
	b[0] = 0x04; /* PDU type P-DATA-TF */
	b[1] = 0x00;
	put_u32be(b, 2, (uint32_t)(PACS_DIMSE_PDV_HEADER + n)); /* PDU length: the variable field */
	put_u32be(b, 6, (uint32_t)(2 + n));                    /* item length: context ID, header, fragment */
	b[10] = pc_id;
	b[11] = control;
	return HDR + n;
}

/* Fills buf[i] from the producer until full or the data set ends. */
static int fill_from_producer(pacs_dimse_frag *f, int i)
{
	f->fill[i] = 0;
	while (f->fill[i] < f->frag_max && !f->eof) {
		size_t room = f->frag_max - f->fill[i];
		size_t got = 0;
		int rc = f->msg.producer(f->msg.producer_ctx, &f->buf[i][HDR + f->fill[i]], room, &got);
		if (rc < 0)
			return rc;
		if (got > room)
			return arca_error_set(ARCA_EINVAL, "data set producer returned %zu bytes for a %zu-byte buffer", got, room);
		if (got == 0)
			f->eof = true;
		f->fill[i] += got;
	}
	return 0;
}

static int next_producer(pacs_dimse_frag *f, const uint8_t **pdu, size_t *len, bool *last)
{
	int rc;

	if (!f->primed) {
		rc = fill_from_producer(f, f->cur);
		if (rc < 0)
			return rc;
		f->primed = true;
	}
	int cur = f->cur;
	if (f->eof) {
		*last = true;
	} else {
		/* buf[cur] is full and the producer has not said "end": look
		 * one PDU ahead to know whether this one is the last. */
		rc = fill_from_producer(f, cur ^ 1);
		if (rc < 0)
			return rc;
		*last = f->eof && f->fill[cur ^ 1] == 0;
	}
	*len = frame(f->buf[cur], f->fill[cur], f->msg.pc_id, *last ? PACS_DIMSE_PDV_LAST : 0);
	*pdu = f->buf[cur];
	f->cur = cur ^ 1;
	return 0;
}

int pacs_dimse_frag_next(pacs_dimse_frag *f, const uint8_t **pdu, size_t *len)
{
	*pdu = NULL;
	*len = 0;
	switch (f->phase) {
	case PH_FAILED:
		return arca_error_set(ARCA_EINVAL, "pacs_dimse_frag_next: called after an error");
	case PH_DONE:
		return 0;
	case PH_COMMAND: {
		size_t n = f->msg.command_len - f->cmd_pos;
		if (n > f->frag_max)
			n = f->frag_max;
		memcpy(&f->buf[0][HDR], &f->msg.command[f->cmd_pos], n);
		f->cmd_pos += n;
		bool last = f->cmd_pos == f->msg.command_len;
		*len = frame(f->buf[0], n, f->msg.pc_id, PACS_DIMSE_PDV_COMMAND | (last ? PACS_DIMSE_PDV_LAST : 0));
		*pdu = f->buf[0];
		if (last)
			f->phase = has_data_set(&f->msg) ? PH_DATA : PH_DONE;
		return 0;
	}
	case PH_DATA:
		break;
	}

	bool last;
	if (f->msg.data != NULL) {
		size_t n = f->msg.data_len - f->data_pos;
		if (n > f->frag_max)
			n = f->frag_max;
		memcpy(&f->buf[0][HDR], &f->msg.data[f->data_pos], n);
		f->data_pos += n;
		last = f->data_pos == f->msg.data_len;
		*len = frame(f->buf[0], n, f->msg.pc_id, last ? PACS_DIMSE_PDV_LAST : 0);
		*pdu = f->buf[0];
	} else {
		int rc = next_producer(f, pdu, len, &last);
		if (rc < 0) {
			f->phase = PH_FAILED;
			*pdu = NULL;
			*len = 0;
			return rc;
		}
	}
	if (last)
		f->phase = PH_DONE;
	return 0;
}

int pacs_dimse_fragment(const pacs_dimse_out *msg, uint32_t max_pdu,
			pacs_dimse_sink_fn sink, void *sink_ctx)
{
	pacs_dimse_frag *f;
	int rc = pacs_dimse_frag_new(&f, msg, max_pdu);
	if (rc < 0)
		return rc;
	for (;;) {
		const uint8_t *pdu;
		size_t len;
		rc = pacs_dimse_frag_next(f, &pdu, &len);
		if (rc < 0 || pdu == NULL)
			break;
		rc = sink(sink_ctx, pdu, len);
		if (rc < 0)
			break;
	}
	pacs_dimse_frag_free(f);
	return rc;
}
