/* pacs_ul.h - the DICOM Upper Layer protocol state machine (PS3.8 9.2).
 *
 * One pacs_ul per transport connection, for either role: the acceptor
 * starts with pacs_ul_transport_accepted() (Evt5), the requestor with
 * pacs_ul_associate() (Evt1).  The machine is the state transition table of
 * PS3.8 Table 9-10: states Sta1-Sta13, events Evt1-Evt19 and the actions of
 * Tables 9-6 to 9-9, looked up as (event, state) -> action.  Every change
 * of state goes through one function (pacs_ul_event), which reports it to
 * the optional log callback of the port.
 *
 * The machine does no I/O and keeps no clock: it tells its owner what to
 * do through the callbacks of a pacs_ul_port (send these bytes, start or
 * stop the ARTIM timer, open or close the transport) and tells the service
 * user what happened (the indications and confirmations of PS3.8 7).  The
 * owner feeds the bytes read from the transport to pacs_ul_feed(), which
 * frames and decodes the PDUs (pacs_pdu.h) and raises Evt3, 4, 6, 10, 12,
 * 13, 16 or 19; it reports the other events (local primitives, transport
 * and timer) with pacs_ul_event() or the pacs_ul_<primitive>() shorthands.
 *
 * Pairs not in Table 9-10.  PS3.8 leaves them undefined; arca treats them
 * as a protocol error of the local side and reports ARCA_EINVAL after:
 *   - Sta1 (no transport): nothing, the state stays Sta1;
 *   - Sta4 (transport connect not yet confirmed, nothing can be sent):
 *     close the transport and issue an A-P-ABORT indication, Sta1;
 *   - any other state: AA-8, i.e. send an A-ABORT PDU (source 2, service-
 *     provider; reason 0, not specified, since no received PDU is at fault:
 *     every PDU event is defined in the states that have a transport),
 *     issue an A-P-ABORT indication and start ARTIM, Sta13.
 *
 * Abort PDUs the machine sends (PS3.8 9.3.8, Table 9-26):
 *   AA-1: source 0 (service-user), reason 0, as Table 9-9 says, also when
 *         Sta2 receives a PDU other than an A-ASSOCIATE-RQ;
 *   AA-7, AA-8: source 2 (service-provider); reason 2 (unexpected PDU) for a
 *         valid PDU in the wrong state, the framer's reason for Evt19 (1
 *         unrecognised PDU type, 6 invalid PDU parameter value: a length
 *         above the limit or a body that does not decode).
 *
 * Re-entrancy.  Effect callbacks (send, timers, transport) must not call
 * back into the machine.  Indication callbacks are made after the state has
 * changed and may answer at once (e.g. pacs_ul_accept() from inside
 * on_associate_rq, or pacs_ul_send_pdata() from inside on_pdata); they may
 * not call pacs_ul_feed() or pacs_ul_free().  One machine is used by one
 * thread at a time.
 *
 * Errors.  The functions return 0, or a negative ARCA_E* code: ARCA_EINVAL
 * for an event the current state does not allow (after the handling above)
 * or bad arguments, or the first error returned by a port callback or an
 * encoder.  After a port error the machine has still moved to the action's
 * next state; the owner should treat the transport as broken, close it and
 * report Evt17. */
#ifndef PACS_UL_H
#define PACS_UL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_pdu.h"

typedef struct pacs_ul pacs_ul;

/* PS3.8 9.2.1, Tables 9-1 to 9-5. */
enum pacs_ul_state {
	PACS_UL_STA1 = 1, /* Idle */
	PACS_UL_STA2,     /* Transport connection open (awaiting A-ASSOCIATE-RQ PDU) */
	PACS_UL_STA3,     /* Awaiting local A-ASSOCIATE response primitive */
	PACS_UL_STA4,     /* Awaiting transport connection opening to complete */
	PACS_UL_STA5,     /* Awaiting A-ASSOCIATE-AC or -RJ PDU */
	PACS_UL_STA6,     /* Association established, ready for data transfer */
	PACS_UL_STA7,     /* Awaiting A-RELEASE-RP PDU */
	PACS_UL_STA8,     /* Awaiting local A-RELEASE response primitive */
	PACS_UL_STA9,     /* Release collision requestor side; awaiting A-RELEASE response */
	PACS_UL_STA10,    /* Release collision acceptor side; awaiting A-RELEASE-RP PDU */
	PACS_UL_STA11,    /* Release collision requestor side; awaiting A-RELEASE-RP PDU */
	PACS_UL_STA12,    /* Release collision acceptor side; awaiting A-RELEASE response */
	PACS_UL_STA13     /* Awaiting transport connection close indication */
};
#define PACS_UL_STATE_COUNT 13

/* PS3.8 9.2.3, the events of Table 9-10. */
enum pacs_ul_event {
	PACS_UL_EVT1_ASSOCIATE_REQUEST = 1, /* A-ASSOCIATE request (local user) */
	PACS_UL_EVT2_TRANSPORT_CONFIRM,     /* transport connect confirmation */
	PACS_UL_EVT3_ASSOCIATE_AC_PDU,      /* A-ASSOCIATE-AC PDU received */
	PACS_UL_EVT4_ASSOCIATE_RJ_PDU,      /* A-ASSOCIATE-RJ PDU received */
	PACS_UL_EVT5_TRANSPORT_INDICATION,  /* transport connection indication (incoming) */
	PACS_UL_EVT6_ASSOCIATE_RQ_PDU,      /* A-ASSOCIATE-RQ PDU received */
	PACS_UL_EVT7_ASSOCIATE_ACCEPT,      /* A-ASSOCIATE response primitive (accept) */
	PACS_UL_EVT8_ASSOCIATE_REJECT,      /* A-ASSOCIATE response primitive (reject) */
	PACS_UL_EVT9_P_DATA_REQUEST,        /* P-DATA request primitive */
	PACS_UL_EVT10_P_DATA_PDU,           /* P-DATA-TF PDU received */
	PACS_UL_EVT11_RELEASE_REQUEST,      /* A-RELEASE request primitive */
	PACS_UL_EVT12_RELEASE_RQ_PDU,       /* A-RELEASE-RQ PDU received */
	PACS_UL_EVT13_RELEASE_RP_PDU,       /* A-RELEASE-RP PDU received */
	PACS_UL_EVT14_RELEASE_RESPONSE,     /* A-RELEASE response primitive */
	PACS_UL_EVT15_ABORT_REQUEST,        /* A-ABORT request primitive */
	PACS_UL_EVT16_ABORT_PDU,            /* A-ABORT PDU received */
	PACS_UL_EVT17_TRANSPORT_CLOSED,     /* transport connection closed indication */
	PACS_UL_EVT18_ARTIM_EXPIRED,        /* ARTIM timer expired */
	PACS_UL_EVT19_INVALID_PDU           /* unrecognized or invalid PDU received */
};
#define PACS_UL_EVENT_COUNT 19

/* Why the service user is told the association is gone (the abort
 * indication).  PEER_USER is an A-ABORT indication (AA-3, source 0); the
 * others are A-P-ABORT indications (PS3.8 7.4). */
enum pacs_ul_abort_origin {
	PACS_UL_ABORT_PEER_USER = 1,  /* A-ABORT PDU from the peer, source 0 (AA-3) */
	PACS_UL_ABORT_PEER_PROVIDER,  /* A-ABORT PDU from the peer, source 2 (AA-3) */
	PACS_UL_ABORT_LOCAL_PROVIDER, /* this machine aborted: AA-8 or an undefined pair */
	PACS_UL_ABORT_TRANSPORT       /* the transport closed under an association (AA-4) */
};

typedef struct pacs_ul_abort_info {
	enum pacs_ul_abort_origin origin;
	uint8_t source; /* A-ABORT source: received (PEER_*) or sent (LOCAL_PROVIDER) */
	uint8_t reason; /* enum pacs_pdu_abort_reason, likewise; 0 for TRANSPORT */
	/* Borrowed for the call: why, in words (LOCAL_PROVIDER: the decoder's
	 * or the framer's message), or "". */
	const char *detail;
} pacs_ul_abort_info;

/* One transition, as reported to the log callback. */
typedef struct pacs_ul_transition {
	enum pacs_ul_state from;
	enum pacs_ul_event event;
	/* "AE-1" ... "AA-8" (static).  An undefined pair reports what was done
	 * instead: "AA-8", or "AA-2" in Sta4 (see above). */
	const char *action;
	bool undefined;     /* the pair is not in Table 9-10 (see above) */
	enum pacs_ul_state to;
} pacs_ul_transition;

/* What the machine needs from its owner.  ctx is passed back to every
 * callback.  send_pdu is required; the others may be NULL (nothing done). */
typedef struct pacs_ul_port {
	void *ctx;

	/* -- effects on the transport (must not call back into the machine) -- */
	/* Queue one PDU for writing, as head followed by body (body_len may be
	 * 0).  Both are borrowed for the call: copy what is kept.  A P-DATA-TF
	 * with one PDV is passed as its 12 header bytes and the fragment, so
	 * that the fragment is not copied twice. */
	int (*send_pdu)(void *ctx, const uint8_t *head, size_t head_len, const uint8_t *body,
			size_t body_len);
	/* AE-1: open the transport connection to the peer; report the outcome
	 * with pacs_ul_transport_connected() (Evt2) or pacs_ul_transport_closed()
	 * (Evt17). */
	void (*connect_transport)(void *ctx);
	/* Close the transport connection.  Not followed by Evt17: the machine
	 * already knows. */
	void (*close_transport)(void *ctx);
	/* Start, or restart if running, the ARTIM timer (PS3.8 9.1.5); report
	 * its expiry with pacs_ul_artim_expired() (Evt18). */
	void (*start_artim)(void *ctx);
	void (*stop_artim)(void *ctx);

	/* -- indications and confirmations to the service user -- */
	/* A-ASSOCIATE indication (AE-6, now Sta3): answer with pacs_ul_accept()
	 * or pacs_ul_reject(), now or later.  rq is owned by the machine and
	 * stays valid until pacs_ul_free() or the next association. */
	void (*on_associate_rq)(void *ctx, const pacs_pdu_assoc *rq);
	/* A-ASSOCIATE confirmation, accept (AE-3, now Sta6); ac as rq above. */
	void (*on_associate_ac)(void *ctx, const pacs_pdu_assoc *ac);
	/* A-ASSOCIATE confirmation, reject (AE-4, now Sta1, transport closed). */
	void (*on_associate_rj)(void *ctx, const pacs_pdu_reject *rj);
	/* P-DATA indication (DT-2 in Sta6, AR-6 in Sta7): the PDVs of one
	 * P-DATA-TF in order; pdvs and their data are borrowed for the call. */
	void (*on_pdata)(void *ctx, const pacs_pdv *pdvs, size_t n);
	/* A-RELEASE indication (AR-2, or AR-8 when collision is true): answer
	 * with pacs_ul_release_response(); after a collision on the acceptor
	 * side (Sta10) wait for on_release_rp first (PS3.8 Table 9-10). */
	void (*on_release_rq)(void *ctx, bool collision);
	/* A-RELEASE confirmation (AR-3: now Sta1, transport closed; AR-10: a
	 * collision, now Sta12, answer with pacs_ul_release_response()). */
	void (*on_release_rp)(void *ctx);
	/* A-ABORT or A-P-ABORT indication (AA-3, AA-4, AA-8). */
	void (*on_abort)(void *ctx, const pacs_ul_abort_info *info);

	/* -- every transition (optional), like curl's mstate() -- */
	void (*log)(void *ctx, const pacs_ul_transition *t);
} pacs_ul_port;

/* The largest P-DATA-TF PDU length we accept by default (the Maximum Length
 * Received we announce, PS3.8 D.1, should be at most this). */
#define PACS_UL_DEFAULT_MAX_PDATA (256u * 1024u)
/* Other PDUs: an A-ASSOCIATE-RQ with 128 contexts of many transfer syntaxes
 * can pass 100 KB. */
#define PACS_UL_DEFAULT_MAX_ASSOC (1024u * 1024u)

typedef struct pacs_ul_opts {
	/* A P-DATA-TF whose PDU-length is above this raises Evt19 (0 = default). */
	uint32_t max_pdata_length;
	/* Likewise for every other PDU type (0 = default). */
	uint32_t max_assoc_length;
} pacs_ul_opts;

void pacs_ul_opts_init(pacs_ul_opts *opts);

/* A machine in Sta1.  port is copied, opts may be NULL (defaults).  *out is
 * the caller's: pacs_ul_free(). */
int pacs_ul_new(pacs_ul **out, const pacs_ul_port *port, const pacs_ul_opts *opts);
/* Accepts NULL.  Does not call the port. */
void pacs_ul_free(pacs_ul *ul);

enum pacs_ul_state pacs_ul_state(const pacs_ul *ul);
/* True from Evt1 (this side requested the association) until the next Evt5. */
bool pacs_ul_is_requestor(const pacs_ul *ul);
/* Borrowed: the A-ASSOCIATE-RQ received (acceptor) or the A-ASSOCIATE-AC
 * received (requestor) of the current or last association, or NULL. */
const pacs_pdu_assoc *pacs_ul_peer_rq(const pacs_ul *ul);
const pacs_pdu_assoc *pacs_ul_peer_ac(const pacs_ul *ul);

/* Borrowed, static: "Sta6", "Evt10", and the PS3.8 wording of a state
 * ("Association established and ready for data transfer"); "?" if out of
 * range. */
const char *pacs_ul_state_name(enum pacs_ul_state s);
const char *pacs_ul_state_text(enum pacs_ul_state s);
const char *pacs_ul_event_name(enum pacs_ul_event e);

/* Arguments of the events that carry some.  Unused fields are ignored. */
typedef struct pacs_ul_arg {
	const pacs_pdu_assoc *assoc;    /* Evt1: the RQ to send; Evt7: the AC to send */
	const pacs_pdu_reject *reject;  /* Evt8: the RJ to send */
	const pacs_pdv *pdvs;           /* Evt9: the PDVs of one P-DATA-TF to send */
	size_t n_pdvs;
	uint8_t invalid_reason;         /* Evt19: A-ABORT reason (enum pacs_pdu_abort_reason) */
	const char *detail;             /* Evt19: why, for the abort indication (may be NULL) */
} pacs_ul_arg;

/* Raises a local event: Evt1, 2, 5, 7, 8, 9, 11, 14, 15, 17, 18, or Evt19
 * when a layer above finds a received PDU invalid (e.g. a PDV on a context
 * that was not accepted).  The events of received PDUs (Evt3, 4, 6, 10, 12,
 * 13, 16) come only from pacs_ul_feed(): ARCA_EINVAL here.  arg may be NULL
 * for events without arguments.  Encoded PDUs are copied before the call
 * returns; arg is not kept. */
int pacs_ul_event(pacs_ul *ul, enum pacs_ul_event event, const pacs_ul_arg *arg);

/* Bytes read from the transport, any amount.  Complete PDUs are decoded and
 * their events raised in order; a partial PDU is kept (at most one PDU, up
 * to the limits of pacs_ul_opts) until the rest arrives.  A PDU header with
 * an unknown type or a length above the limit, or a body that does not
 * decode, raises Evt19; the byte stream cannot be resynchronised after
 * that, so everything else fed until the next connection is dropped (also
 * after an Evt19 raised with pacs_ul_event()), as are bytes fed after the
 * machine returns to Sta1.  ARCA_EINVAL in Sta1. */
int pacs_ul_feed(pacs_ul *ul, const uint8_t *data, size_t len);

/* Shorthands for pacs_ul_event(). */
int pacs_ul_transport_accepted(pacs_ul *ul);                        /* Evt5 */
int pacs_ul_associate(pacs_ul *ul, const pacs_pdu_assoc *rq);        /* Evt1 */
int pacs_ul_transport_connected(pacs_ul *ul);                       /* Evt2 */
int pacs_ul_accept(pacs_ul *ul, const pacs_pdu_assoc *ac);           /* Evt7 */
int pacs_ul_reject(pacs_ul *ul, const pacs_pdu_reject *rj);          /* Evt8 */
int pacs_ul_send_pdata(pacs_ul *ul, const pacs_pdv *pdvs, size_t n); /* Evt9 */
int pacs_ul_release(pacs_ul *ul);                                   /* Evt11 */
int pacs_ul_release_response(pacs_ul *ul);                          /* Evt14 */
int pacs_ul_abort(pacs_ul *ul);                                     /* Evt15 */
int pacs_ul_transport_closed(pacs_ul *ul);                          /* Evt17 */
int pacs_ul_artim_expired(pacs_ul *ul);                             /* Evt18 */

#endif
