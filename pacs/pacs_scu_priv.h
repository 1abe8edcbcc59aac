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

/* Most bytes of response data sets queued (C-FIND identifiers). */
#define SCU_RSP_DATA_MAX (16u * 1024u * 1024u)

/* ---- pacs_scu_store.c ---- */

/* The largest fragment of one PDV for this association (PS3.8 D.1). */
size_t pacs_scu__fragment_max(const pacs_scu *scu);

#endif
