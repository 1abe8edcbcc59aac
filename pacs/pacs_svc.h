/* pacs_svc.h - internal to pacs/: the interface between one association
 * (pacs_conn.c) and the DIMSE services it performs as SCP (pacs_svc_*.c),
 * one file per service as DCMTK's dcmnet and pynetdicom split them.
 *
 * Every request received becomes a pacs_op, queued per association in
 * arrival order.  The connection calls the op's service:
 *
 *   start    when its command set has arrived (loop thread);
 *   data     for each data set fragment, in order (loop thread); last is
 *            true on the final one, which completes the request;
 *   run      once the request is complete AND it is the oldest op not yet
 *            answered, so that responses go out in request order (PS3.7
 *            honours the asynchronous operations window; processing in
 *            order keeps an instance stored twice in one association in
 *            the order it was sent).  run answers at once with
 *            pacs_conn__respond(), or hands blocking work to the worker
 *            pool with pacs_conn__submit() and answers from its done;
 *   release  when the op is finished or the association is gone: free the
 *            service state; work that was never committed is abandoned
 *            (e.g. pacs_ingest abort).  Never called while a job runs.
 *   resume   (optional) for an op that set `waiting`: the write queue has
 *            room again (below half of PACS_SERVER_WQ_HIGH), or a C-CANCEL
 *            arrived for it; the service sends on or submits its next job.
 *
 * Services that answer over time (C-FIND, C-GET, C-MOVE: pending
 * responses) set op->streaming in run: the connection then reads on while
 * they work, so that a C-CANCEL-RQ (PS3.7 9.3.2.3) reaches them
 * (cancel_requested), and a job's done that submits the next job or sets
 * `waiting` leaves the op unanswered.
 *
 * start and data return 0, or a negative ARCA_E* code when the association
 * cannot go on (the connection aborts it); a request the service refuses is
 * not such an error: it records the failure status and answers in run. */
#ifndef PACS_SVC_H
#define PACS_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdarg.h>

#include "pacs_assoc.h"
#include "pacs_dimse.h"
#include "pacs_read.h"

typedef struct pacs_conn pacs_conn;
typedef struct pacs_op pacs_op;
typedef struct pacs_svc pacs_svc;

struct pacs_svc {
	const char *name;
	int (*start)(pacs_op *op);
	int (*data)(pacs_op *op, const uint8_t *bytes, size_t len, bool last);
	void (*run)(pacs_op *op);
	void (*release)(pacs_op *op);
	void (*resume)(pacs_op *op);
	/* (optional) a response to a request the service sent on this
	 * association (the C-STORE-RSP of a C-GET sub-operation); returns
	 * true when it was op's (else the next op is asked). */
	bool (*response)(pacs_op *op, const pacs_dimse_cmd *rsp);
};

struct pacs_op {
	pacs_op *next;
	pacs_conn *conn;
	const pacs_svc *svc;
	pacs_dimse_cmd rq;            /* the request's command set (a copy) */
	const pacs_assoc_pctx *pctx;  /* its presentation context (accepted) */
	bool received;                /* command and data set complete */
	bool running;                 /* a job is on the worker pool */
	bool answered;                /* response sent (or none due): may be freed */
	bool discarding;              /* refused command whose data set is being dropped */
	bool streaming;               /* answered over time; reading goes on (C-CANCEL) */
	bool waiting;                 /* neither running nor answered: resume() wakes it */
	bool cancel_requested;        /* a C-CANCEL-RQ named this request */
	uint64_t data_bytes;          /* data set bytes received */
	/* a request the connection refused before any service saw it (command
	 * that failed validation): status and comment to answer with */
	uint16_t preset_status;
	char preset_comment[PACS_DIMSE_COMMENT_MAX + 1];
	void *svc_data;               /* the service's state */
};

/* The services (pacs_svc_echo.c, pacs_svc_store.c, pacs_conn.c). */
extern const pacs_svc pacs_svc__echo;
extern const pacs_svc pacs_svc__store;
/* Query/Retrieve C-FIND (pacs_svc_find.c); only with a query interface. */
extern const pacs_svc pacs_svc__find;
/* Query/Retrieve C-GET (pacs_svc_get.c); only with a query interface. */
extern const pacs_svc pacs_svc__get;
/* Query/Retrieve C-MOVE (pacs_svc_move.c); only with a query interface. */
extern const pacs_svc pacs_svc__move;
/* Requests this server does not perform (C-FIND, C-GET, C-MOVE, N-*):
 * the data set is dropped and the answer is 0x0211 unrecognised operation
 * (PS3.7 C.5.5); also requests refused before a service saw them
 * (preset_status). */
extern const pacs_svc pacs_svc__refuse;

/* -- what the connection offers to services (pacs_conn.c) -- */

/* Sends the response to op->rq with status and comment (NULL or "": none;
 * cut to 64 characters) and marks op answered.  When the association is
 * gone the response is dropped (op is still marked answered).
 * Returns 0 or the encoder's / the Upper Layer's error. */
int pacs_conn__respond(pacs_op *op, uint16_t status, const char *comment);

/* Sends a response to op->rq built by the service (status, counts ...;
 * pacs_dimse_cmd_response first), with a data set when data is not NULL
 * (encoded in the context's transfer syntax), and marks op answered when
 * final.  Dropped (0) when the association is gone. */
int pacs_conn__send_response(pacs_op *op, pacs_dimse_cmd *rsp, const uint8_t *data, size_t len, bool final);

/* Sends a request of op's service to the peer (a C-STORE-RQ sub-operation
 * of a C-GET on context pc_id; PS3.7 D.3.3.4 role selection made the peer
 * its SCP); its data set follows with pacs_conn__send_data.  Its response
 * comes to svc->response.  Dropped (0) when the association is gone. */
int pacs_conn__send_request(pacs_op *op, uint8_t pc_id, const pacs_dimse_cmd *rq);

/* Sends len bytes of a data set on context pc_id as P-DATA within the
 * peer's maximum PDU length; last flags the final fragment.  A data set
 * may go out in several calls (the caller waits for room in between). */
int pacs_conn__send_data(pacs_op *op, uint8_t pc_id, const uint8_t *data, size_t len, bool last);

/* True while the write queue is below PACS_SERVER_WQ_HIGH: a streaming
 * service may send more now (else it sets waiting and is resumed). */
bool pacs_conn__has_room(pacs_conn *c);

/* Runs work(op) on the server's worker pool and then done(op, result) on
 * the loop thread; op->running is true meanwhile, and the association
 * (even aborted) is kept until done has run.  ARCA_ELIMIT when the pool is
 * full (answer "out of resources"). */
int pacs_conn__submit(pacs_op *op, int (*work)(pacs_op *op), void (*done)(pacs_op *op, int result));

/* True while the association can still carry a response (Sta6, Sta8). */
bool pacs_conn__alive(const pacs_conn *c);

/* A log line about this association (prefixed with its number and peer). */
void pacs_conn__log(pacs_conn *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Counts a stored instance (success or warning status) or a failure. */
void pacs_conn__count_store(pacs_conn *c, uint16_t status);

/* What a C-FIND, C-GET or C-MOVE request shares (pacs_svc_qr.c): its
 * identifier, read in the context's transfer syntax, and a failure to
 * answer at once (the first one recorded wins). */
typedef struct pacs_svc_qr {
	pacs_reader *reader;
	pacs_ds *ident;              /* the identifier once read */
	bool failed;
	uint16_t status;
	char comment[256];
} pacs_svc_qr;

void pacs_svc__qr_fail(pacs_svc_qr *q, uint16_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pacs_svc__qr_vfail(pacs_svc_qr *q, uint16_t status, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Checks that the SOP class came on its own presentation context and that
 * an identifier follows, then starts reading it ("what" names the request
 * in comments: "C-FIND"); failures are recorded in q. */
void pacs_svc__qr_begin(pacs_svc_qr *q, const pacs_op *op, const char *what, uint16_t oom_status);
/* Feeds identifier bytes; on the last fragment q->ident is set. */
void pacs_svc__qr_data(pacs_svc_qr *q, const uint8_t *bytes, size_t len, bool last);
void pacs_svc__qr_release(pacs_svc_qr *q);

#endif
