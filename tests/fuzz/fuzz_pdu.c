/* fuzz_pdu.c - libFuzzer target for the Upper Layer PDU codec (pacs_pdu.h).
 *
 * The input is one PDU, header included.  The header goes through
 * pacs_pdu_peek_header(); the body (everything after byte 6, whatever the
 * header says) goes through every decoder, so each one sees every input.
 * A decoded A-ASSOCIATE-RQ/AC that the encoder accepts must survive
 * encode -> decode -> encode unchanged, byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*assoc_decode_fn)(pacs_pdu_assoc **, const uint8_t *, size_t);
typedef int (*assoc_encode_fn)(pacs_buf *, const pacs_pdu_assoc *);

static void roundtrip(const pacs_pdu_assoc *a, assoc_decode_fn dec, assoc_encode_fn enc)
{
	pacs_buf b1, b2;
	pacs_pdu_assoc *again = NULL;

	pacs_buf_init(&b1, 1u << 20);
	pacs_buf_init(&b2, 1u << 20);
	if (enc(&b1, a) == 0) {
		const uint8_t *p = pacs_buf_data(&b1);

		if (dec(&again, p + PACS_PDU_HEADER_LEN, pacs_buf_len(&b1) - PACS_PDU_HEADER_LEN) != 0)
			abort(); /* what we encode, we must decode */
		if (enc(&b2, again) != 0 || pacs_buf_len(&b1) != pacs_buf_len(&b2) ||
		    memcmp(pacs_buf_data(&b1), pacs_buf_data(&b2), pacs_buf_len(&b1)) != 0)
			abort(); /* and re-encode identically */
	}
	pacs_pdu_assoc_free(again);
	pacs_buf_free(&b1);
	pacs_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t type;
	uint32_t len;
	const uint8_t *body;
	size_t blen;
	pacs_pdu_assoc *a = NULL;
	pacs_pdu_reject rj;
	pacs_pdu_abort ab;
	pacs_pdv pdvs[64];
	size_t n, i;
	volatile uint8_t sink = 0;

	(void)pacs_pdu_peek_header(&type, &len, data, size, 1u << 20);
	if (size < PACS_PDU_HEADER_LEN)
		return 0;
	body = data + PACS_PDU_HEADER_LEN;
	blen = size - PACS_PDU_HEADER_LEN;

	if (pacs_pdu_decode_assoc_rq(&a, body, blen) == 0)
		roundtrip(a, pacs_pdu_decode_assoc_rq, pacs_pdu_encode_assoc_rq);
	pacs_pdu_assoc_free(a);
	a = NULL;
	if (pacs_pdu_decode_assoc_ac(&a, body, blen) == 0)
		roundtrip(a, pacs_pdu_decode_assoc_ac, pacs_pdu_encode_assoc_ac);
	pacs_pdu_assoc_free(a);

	(void)pacs_pdu_decode_reject(&rj, body, blen);
	(void)pacs_pdu_decode_abort(&ab, body, blen);
	(void)pacs_pdu_decode_release_rq(body, blen);
	(void)pacs_pdu_decode_release_rp(body, blen);
	if (pacs_pdu_decode_pdata(pdvs, sizeof(pdvs) / sizeof(pdvs[0]), &n, body, blen) == 0) {
		/* Touch every fragment byte so ASan checks the borrowed ranges. */
		for (i = 0; i < n; i++)
			for (size_t k = 0; k < pdvs[i].len; k++)
				sink ^= pdvs[i].data[k];
	}
	(void)sink;
	return 0;
}
