/* pacs_scu_store.c - C-STORE as an SCU (PS3.4 B.2, PS3.7 9.1.1 and
 * 9.3.1): the C-STORE-RQ command, then the data set pushed by the
 * caller's writer and cut into PDVs within the peer's Maximum Length
 * Received (PS3.8 D.1), then the wait for the C-STORE-RSP.
 *
 * The data set is never held whole: the writer pushes bytes, the packer
 * below keeps at most one fragment, and sends a full fragment only once it
 * knows more bytes follow, so that the last one can carry the "last
 * fragment" bit (PS3.8 E.2). */
#include "pacs_scu_priv.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

size_t pacs_scu__fragment_max(const pacs_scu *scu)
{
	size_t m = PACS_DIMSE_FRAGMENT_CAP;

	/* PS3.8 D.1: the PDU-length of a P-DATA-TF with one PDV is the
	 * fragment plus the 6 bytes of the PDV item header */
	if (scu->peer_max_pdu != 0 && (size_t)scu->peer_max_pdu - PACS_DIMSE_PDV_HEADER < m)
		m = (size_t)scu->peer_max_pdu - PACS_DIMSE_PDV_HEADER;
	/* Even fragments: data set values have even lengths (PS3.5 7.1.1) and
	 * some peers refuse an odd fragment that is not the last (DCMTK:
	 * "Odd Fragment Length"). */
	if (m > 1)
		m &= ~(size_t)1;
	return m;
}

typedef struct scu_packer {
	pacs_scu *scu;
	uint8_t pc_id;
	uint8_t *buf;
	size_t cap;
	size_t fill;
	int net_rc;    /* the error came from the association, not the writer */
} scu_packer;

static int packer_flush(scu_packer *p, const uint8_t *data, size_t len, bool last)
{
	int rc = pacs_scu__send_data(p->scu, p->pc_id, data, len, last);

	if (rc < 0)
		p->net_rc = rc;
	return rc;
}

static int packer_sink(void *ctx, const uint8_t *data, size_t len)
{
	scu_packer *p = ctx;
	int rc;

	while (len > 0) {
		size_t take;

		if (p->fill == p->cap) {
			/* more bytes follow: the held fragment is not the last */
			if ((rc = packer_flush(p, p->buf, p->fill, false)) < 0)
				return rc;
			p->fill = 0;
		}
		if (p->fill == 0 && len > p->cap) {
			/* a whole fragment with more after it: send it from the
			 * caller's buffer, no copy */
			if ((rc = packer_flush(p, data, p->cap, false)) < 0)
				return rc;
			data = &data[p->cap];
			len -= p->cap;
			continue;
		}
		take = p->cap - p->fill < len ? p->cap - p->fill : len;
		memcpy(&p->buf[p->fill], data, take);
		p->fill += take;
		data = &data[take];
		len -= take;
	}
	return 0;
}

int pacs_scu_store(pacs_scu *scu, const pacs_scu_store_rq *rq, pacs_dimse_cmd *rsp)
{
	scu_packer p;
	pacs_dimse_cmd cmd;
	const scu_ctx *c;
	int rc;

	if (scu == NULL || rq == NULL || rsp == NULL || rq->write == NULL || rq->sop_class_uid == NULL ||
	    rq->sop_instance_uid == NULL || rq->transfer_syntax == NULL)
		return arca_error_set(ARCA_EINVAL, "scu: C-STORE needs SOP class, instance, transfer syntax and a writer");
	if (!pacs_scu_established(scu))
		return arca_error_set(ARCA_EINVAL, "scu: C-STORE: no association (it has ended or was never made)");
	c = pacs_scu__ctx_for(scu, rq->sop_class_uid, rq->transfer_syntax);
	if (c == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s accepted no presentation context for SOP class %s in transfer syntax %s",
				      scu->called_ae, rq->sop_class_uid, rq->transfer_syntax);

	/* PS3.7 9.3.1.1, Table 9.3-1 */
	pacs_dimse_cmd_init(&cmd, PACS_DIMSE_C_STORE_RQ);
	if (pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_CLASS, rq->sop_class_uid) < 0)
		return arca_error_set(ARCA_EINVAL, "SOP Class UID \"%s\" is not a valid UID", rq->sop_class_uid);
	if (pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, rq->sop_instance_uid) < 0)
		return arca_error_set(ARCA_EINVAL, "SOP Instance UID \"%s\" is not a valid UID (PS3.5 9.1)",
				      rq->sop_instance_uid);
	(void)pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_PRIORITY, rq->priority);
	if (rq->move_originator_ae != NULL) {
		if (pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_MOVE_ORIGINATOR_AE, rq->move_originator_ae) < 0)
			return arca_error_set(ARCA_EINVAL, "Move Originator AE Title \"%s\" is not valid", rq->move_originator_ae);
		(void)pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MOVE_ORIGINATOR_ID, rq->move_originator_id);
	}
	(void)pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MESSAGE_ID, pacs_scu__message_id(scu));
	cmd.has_data_set = true;

	memset(&p, 0, sizeof(p));
	p.scu = scu;
	p.pc_id = c->info.id;
	p.cap = pacs_scu__fragment_max(scu);
	p.buf = malloc(p.cap);
	if (p.buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "scu: out of memory for a %zu-byte fragment", p.cap);

	if ((rc = pacs_scu__send_command(scu, c->info.id, &cmd)) < 0)
		goto cleanup;
	rc = rq->write(rq->write_ctx, packer_sink, &p);
	if (rc < 0) {
		/* Half a data set is out: only an abort ends it (PS3.7 has
		 * no way to take a C-STORE back). */
		if (p.net_rc == 0)
			rc = pacs_scu__fail(scu, rc);
		goto cleanup;
	}
	if ((rc = packer_flush(&p, p.buf, p.fill, true)) < 0)
		goto cleanup;
	rc = pacs_scu__wait_response(scu, rsp);
cleanup:
	free(p.buf);
	return rc;
}
