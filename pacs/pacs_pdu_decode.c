/* pacs_pdu_decode.c - PDU header and the decoders of the fixed-size PDUs
 * (A-ASSOCIATE-RJ, A-RELEASE-RQ/RP, A-ABORT) and of P-DATA-TF
 * (PS3.8 9.3.1, 9.3.4-9.3.8, Annex E.2).  A-ASSOCIATE-RQ/AC are in
 * pacs_pdu_decode_assoc.c. */
#include "pacs_pdu.h"

#include "arca_err.h"
#include "pacs_pdu_priv.h"

const char *pacs_pdu_type_name(uint8_t type)
{
	switch (type) {
	case PACS_PDU_ASSOCIATE_RQ: return "A-ASSOCIATE-RQ";
	case PACS_PDU_ASSOCIATE_AC: return "A-ASSOCIATE-AC";
	case PACS_PDU_ASSOCIATE_RJ: return "A-ASSOCIATE-RJ";
	case PACS_PDU_P_DATA_TF: return "P-DATA-TF";
	case PACS_PDU_RELEASE_RQ: return "A-RELEASE-RQ";
	case PACS_PDU_RELEASE_RP: return "A-RELEASE-RP";
	case PACS_PDU_ABORT: return "A-ABORT";
	default: return "unknown PDU";
	}
}

/* PS3.8 9.3.1: every PDU starts with its type, a reserved byte and the
 * 32-bit big-endian length of what follows. */
int pacs_pdu_peek_header(uint8_t *type, uint32_t *pdu_length, const uint8_t *buf, size_t len,
			 uint32_t max_pdu_length)
{
	pacs_pdu_span c;

	pacs_pdu_span_init(&c, buf, len, 0);
	*type = 0;
	*pdu_length = 0;
	if (pacs_pdu_span_left(&c) < PACS_PDU_HEADER_LEN)
		return arca_error_set(ARCA_EAGAIN, "PDU header: %zu of its %u bytes received", pacs_pdu_span_left(&c),
				      PACS_PDU_HEADER_LEN);
	(void)pacs_cursor_u8(&c.c, type);
	(void)pacs_cursor_skip(&c.c, 1);
	(void)pacs_cursor_u32be(&c.c, pdu_length);
	if (*type < PACS_PDU_ASSOCIATE_RQ || *type > PACS_PDU_ABORT)
		return arca_error_set(ARCA_EPROTO, "PDU header: byte 0: unrecognized PDU type %02XH",
				      *type);
	if (*pdu_length > max_pdu_length)
		return arca_error_set(ARCA_ELIMIT,
				      "%s: byte 2: PDU length %u is above the limit of %u bytes",
				      pacs_pdu_type_name(*type), *pdu_length, max_pdu_length);
	return 0;
}

/* The fixed-size PDUs have "the fixed value of 00000004H" as length. */
static int fixed4(uint8_t type, pacs_pdu_span *c, const uint8_t *body, size_t len)
{
	pacs_pdu_span_init(c, body, len, PACS_PDU_HEADER_LEN);
	if (pacs_pdu_span_left(c) != 4)
		return arca_error_set(ARCA_EPROTO, "%s: byte 2: PDU length is %zu, not 4",
				      pacs_pdu_type_name(type), len);
	return 0;
}

/* PS3.8 9.3.4 Table 9-21: reserved, result, source, reason/diag. */
int pacs_pdu_decode_reject(pacs_pdu_reject *out, const uint8_t *body, size_t len)
{
	pacs_pdu_span c;
	int rc = fixed4(PACS_PDU_ASSOCIATE_RJ, &c, body, len);

	if (rc < 0)
		return rc;
	(void)pacs_cursor_skip(&c.c, 1);
	(void)pacs_cursor_u8(&c.c, &out->result);
	(void)pacs_cursor_u8(&c.c, &out->source);
	(void)pacs_cursor_u8(&c.c, &out->reason);
	if (out->result != PACS_PDU_RJ_PERMANENT && out->result != PACS_PDU_RJ_TRANSIENT)
		return arca_error_set(ARCA_EPROTO, "A-ASSOCIATE-RJ: byte 7: result %u is not 1 or 2",
				      out->result);
	if (out->source < PACS_PDU_RJ_SOURCE_USER || out->source > PACS_PDU_RJ_SOURCE_PRESENTATION)
		return arca_error_set(ARCA_EPROTO, "A-ASSOCIATE-RJ: byte 8: source %u is not 1-3",
				      out->source);
	return 0;
}

/* PS3.8 9.3.8 Table 9-26: two reserved bytes, source, reason/diag.  The
 * reason is "not significant" for a user abort and is kept as received. */
int pacs_pdu_decode_abort(pacs_pdu_abort *out, const uint8_t *body, size_t len)
{
	pacs_pdu_span c;
	int rc = fixed4(PACS_PDU_ABORT, &c, body, len);

	if (rc < 0)
		return rc;
	(void)pacs_cursor_skip(&c.c, 2);
	(void)pacs_cursor_u8(&c.c, &out->source);
	(void)pacs_cursor_u8(&c.c, &out->reason);
	if (out->source > PACS_PDU_ABORT_SOURCE_PROVIDER)
		return arca_error_set(ARCA_EPROTO, "A-ABORT: byte 8: source %u is not 0-2", out->source);
	return 0;
}

/* PS3.8 9.3.6 Table 9-24, 9.3.7 Table 9-25: 4 reserved bytes, not tested. */
int pacs_pdu_decode_release_rq(const uint8_t *body, size_t len)
{
	pacs_pdu_span c;

	return fixed4(PACS_PDU_RELEASE_RQ, &c, body, len);
}

int pacs_pdu_decode_release_rp(const uint8_t *body, size_t len)
{
	pacs_pdu_span c;

	return fixed4(PACS_PDU_RELEASE_RP, &c, body, len);
}

/* PS3.8 9.3.5 Table 9-22: one or more PDV items; 9.3.5.1 Table 9-23:
 * 32-bit item length, presentation context ID, then the value, whose
 * first byte is the message control header (Annex E.2).  Its bits 2-7
 * are not tested. */
int pacs_pdu_decode_pdata(pacs_pdv *pdvs, size_t max, size_t *n, const uint8_t *body, size_t len)
{
	pacs_pdu_span c;

	*n = 0;
	pacs_pdu_span_init(&c, body, len, PACS_PDU_HEADER_LEN);
	if (pacs_pdu_span_done(&c))
		return arca_error_set(ARCA_EPROTO, "P-DATA-TF: byte 6: no Presentation Data Value item");
	while (!pacs_pdu_span_done(&c)) {
		size_t off = pacs_pdu_span_off(&c);
		uint32_t ilen;
		uint8_t id = 0, mch = 0;
		const uint8_t *frag = NULL;

		if (!pacs_cursor_u32be(&c.c, &ilen))
			return arca_error_set(ARCA_EPROTO,
					      "P-DATA-TF: byte %zu: %zu trailing bytes are too short for a PDV item length",
					      off, pacs_pdu_span_left(&c));
		if (ilen < 2)
			return arca_error_set(ARCA_EPROTO,
					      "P-DATA-TF: byte %zu: PDV item length %u is too short for "
					      "its context ID and message control header",
					      off, ilen);
		if (ilen > pacs_pdu_span_left(&c))
			return arca_error_set(ARCA_EPROTO,
					      "P-DATA-TF: byte %zu: PDV item length %u runs past the PDU (%zu bytes left)",
					      off, ilen, pacs_pdu_span_left(&c));
		(void)pacs_cursor_u8(&c.c, &id);
		(void)pacs_cursor_u8(&c.c, &mch);
		(void)pacs_cursor_take(&c.c, ilen - 2, &frag);
		if (id % 2 == 0)
			return arca_error_set(ARCA_EPROTO,
					      "P-DATA-TF: byte %zu: PDV presentation context ID %u is not odd",
					      off + 4, id);
		if (*n == max)
			return arca_error_set(ARCA_ELIMIT, "P-DATA-TF: byte %zu: more than %zu PDV items",
					      off, max);
		pdvs[*n].pctx_id = id;
		pdvs[*n].flags = mch & (PACS_PDV_COMMAND | PACS_PDV_LAST);
		pdvs[*n].data = frag;
		pdvs[*n].len = ilen - 2u;
		(*n)++;
	}
	return 0;
}
