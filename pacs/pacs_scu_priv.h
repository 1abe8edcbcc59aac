/* pacs_scu_priv.h - internals shared by the files of the SCU (not a public
 * header): the client struct, the blocking socket helpers
 * (pacs_scu_net.c) and the message plumbing of pacs_scu.c that the C-STORE
 * code (pacs_scu_store.c, pacs_scu_file.c) builds on. */
#ifndef PACS_SCU_PRIV_H
#define PACS_SCU_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_dimse.h"
#include "pacs_scu.h"
#include "pacs_ul.h"

#define SCU_HOST_MAX 255u
#define SCU_DETAIL_MAX 256u

/* A proposed context, with its own copies of the strings. */
typedef struct scu_ctx {
	pacs_scu_ctx_info info;  /* pointers into the fields below */
	char abstract[PACS_PDU_UID_MAX + 1];
	char accepted_ts[PACS_PDU_UID_MAX + 1];
	char **ts;               /* proposed, owned */
	size_t n_ts;
} scu_ctx;

/* A role selection proposed, and whether the AC accepted the SCP role. */
typedef struct scu_role {
	char uid[PACS_PDU_UID_MAX + 1];
	uint8_t scu_role, scp_role;
	bool scp_accepted;
} scu_role;

/* A C-STORE-RSP waiting to be sent (C-GET sub-operations). */
typedef struct scu_out_rsp {
	uint8_t pc_id;
	pacs_dimse_cmd cmd;
} scu_out_rsp;

/* Most C-STORE responses owed at once: one per request the peer may have
 * outstanding (no asynchronous window is negotiated: one). */
#define SCU_STORE_RSP_MAX 4u

/* One SOP Class Extended Negotiation sub-item proposed and its answer. */
typedef struct scu_ext_neg {
	char uid[PACS_PDU_UID_MAX + 1];
	uint8_t info[PACS_SCU_EXT_NEG_MAX];
	size_t info_len;
	bool answered;
	uint8_t answer[PACS_SCU_EXT_NEG_MAX];
	size_t answer_len;
} scu_ext_neg;

struct pacs_scu {
	/* options, copied */
	char host[SCU_HOST_MAX + 1];
	uint16_t port;
	char calling_ae[PACS_PDU_AE_MAX + 1];
	char called_ae[PACS_PDU_AE_MAX + 1];
	uint32_t max_pdu;
	unsigned connect_ms, acse_ms, dimse_ms;
	void (*log)(void *ctx, const pacs_ul_transition *t);
	void *log_ctx;
	scu_ctx *ctx;
	size_t n_ctx;

	/* transport */
	int fd;
	uint8_t rbuf[64u * 1024u]; /* one read (not on the stack: worker threads) */
	int connect_rc;          /* result of the connect effect */
	bool artim_on;
	int64_t artim_deadline;  /* monotonic ms */

	pacs_ul *ul;
	pacs_dimse_asm *asm_;
	bool associated_once;
	bool established;
	uint32_t peer_max_pdu;

	/* what the machine told us */
	bool rejected;
	pacs_pdu_reject rj;
	bool aborted;
	pacs_ul_abort_info abort;
	char abort_detail[SCU_DETAIL_MAX];
	int io_rc;               /* first transport error, with io_msg */
	char io_msg[SCU_DETAIL_MAX];
	int proto_rc;            /* DIMSE error found inside an indication */
	char proto_msg[SCU_DETAIL_MAX];

	/* the one outstanding request (window 1) */
	uint16_t next_message_id;
	uint16_t waiting_id;     /* 0: nothing outstanding */
	uint16_t waiting_cmd;    /* the response command field expected */
	uint8_t waiting_pc;
	bool have_rsp;
	pacs_dimse_cmd rsp;
	/* Responses received and not yet taken, oldest first: several may
	 * arrive in one read (C-FIND pending responses).  cur collects the
	 * data set of the last one until its last fragment. */
	struct scu_rsp *q_head, *q_tail, *cur;
	size_t q_bytes;
	/* the data set of the response last taken (C-FIND identifiers) */
	uint8_t *rsp_data;
	size_t rsp_len;

	/* SCP/SCU Role Selection proposed, and answered (PS3.7 D.3.3.4) */
	scu_role *roles;
	size_t n_roles;

	/* SOP Class Extended Negotiation proposed, and answered (PS3.7
	 * D.3.3.5) */
	scu_ext_neg *ext_neg;
	size_t n_ext_neg;

	/* C-GET: the C-STORE sub-operations arriving (pacs_scu_get.c sets
	 * store_h for the duration of the C-GET) */
	const pacs_scu_store_handler *store_h;
	bool in_store;           /* a C-STORE-RQ's data set is arriving */
	bool in_store_take;      /* ... and goes to the handler */
	uint16_t in_store_status; /* the refusal status when it does not */
	pacs_dimse_cmd in_store_rq;
	uint8_t in_store_pc;
	scu_out_rsp store_rsp[SCU_STORE_RSP_MAX]; /* owed, sent after the read */
	size_t n_store_rsp;
};

/* A queued response. */
typedef struct scu_rsp {
	struct scu_rsp *next;
	pacs_dimse_cmd cmd;
	uint8_t *data;
	size_t len, cap;
} scu_rsp;

/* ---- pacs_scu_net.c: blocking TCP with deadlines ---- */

/* Monotonic clock in milliseconds. */
int64_t pacs_scu__now_ms(void);

/* Resolves host:port and connects to each address in turn, each attempt
 * bounded by timeout_ms; sets TCP_NODELAY (PS3.8 does not require it, but
 * without it every small PDU waits for a delayed ACK).  *fd is a blocking
 * socket.  ARCA_EIO naming host, port and the last reason. */
int pacs_scu__connect(int *fd, const char *host, uint16_t port, unsigned timeout_ms);

/* Writes all of head then body (either may be empty), waiting at most
 * timeout_ms for the socket to take more; no SIGPIPE.  ARCA_EIO. */
int pacs_scu__write_all(int fd, const uint8_t *head, size_t head_len, const uint8_t *body,
			size_t body_len, unsigned timeout_ms);

/* Waits until fd is readable or the deadline (monotonic ms; -1 none)
 * passes: 1 readable, 0 deadline passed, ARCA_EIO on poll failure. */
int pacs_scu__wait_readable(int fd, int64_t deadline);

/* ---- pacs_scu.c ---- */

/* Resolves which accepted context carries a request: the first accepted
 * context for the SOP class in ts.  NULL when none. */
const scu_ctx *pacs_scu__ctx_for(const pacs_scu *scu, const char *sop_class, const char *ts);

/* Sends an encoded command set (fragmented with pacs_dimse_frag), then
 * nothing else: the caller sends the data set, if any, with
 * pacs_scu__send_data.  Remembers the request as outstanding. */
int pacs_scu__send_command(pacs_scu *scu, uint8_t pc_id, const pacs_dimse_cmd *cmd);

/* One P-DATA-TF with one data set PDV (last: the final fragment).  Reads
 * whatever the peer sent meanwhile (an early abort stops the transfer). */
int pacs_scu__send_data(pacs_scu *scu, uint8_t pc_id, const uint8_t *data, size_t len, bool last);

/* Waits (dimse timeout) for the response to the outstanding request and
 * copies it to *rsp. */
int pacs_scu__wait_response(pacs_scu *scu, pacs_dimse_cmd *rsp);

/* The next Message ID (never 0). */
uint16_t pacs_scu__message_id(pacs_scu *scu);

/* Gives up the association after an error found by the caller: A-ABORT
 * (if one is up) and close.  Returns rc. */
int pacs_scu__fail(pacs_scu *scu, int rc);

/* C-CANCEL-RQ for the outstanding request message_id (PS3.7 9.3.2.3,
 * 9.3.3.3, 9.3.4.3); it has no response, so the outstanding request stays
 * what we wait for. */
int pacs_scu__send_cancel(pacs_scu *scu, uint8_t pc_id, uint16_t message_id);

/* Sends cmd (has_data_set set by the caller) then identifier encoded in
 * the context's transfer syntax, fragmented (C-FIND, C-MOVE, C-GET). */
int pacs_scu__send_with_identifier(pacs_scu *scu, uint8_t pc_id, const char *ts, const pacs_dimse_cmd *cmd,
				   const pacs_ds *identifier);

/* Ends an incoming C-STORE whose data set will not complete (the
 * association failed): the handler's end(false).  No-op when none. */
void pacs_scu__store_abandon(pacs_scu *scu);

/* Most bytes of response data sets queued (C-FIND identifiers). */
#define SCU_RSP_DATA_MAX (16u * 1024u * 1024u)

/* ---- pacs_scu_move.c ---- */

/* Sends cmd (C-MOVE-RQ or C-GET-RQ, message ID set) with identifier on c,
 * then takes the responses: pending ones to fn (1: C-CANCEL-RQ once), the
 * final one into *out with its Failed SOP Instance UID List. */
int pacs_scu__retrieve(pacs_scu *scu, const scu_ctx *c, const pacs_dimse_cmd *cmd, const pacs_ds *identifier,
		       pacs_scu_retrieve_fn fn, void *ctx, pacs_scu_retrieve_result *out);

/* ---- pacs_scu_store.c ---- */

/* The largest fragment of one PDV for this association (PS3.8 D.1). */
size_t pacs_scu__fragment_max(const pacs_scu *scu);

#endif
