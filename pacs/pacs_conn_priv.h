/* pacs_conn_priv.h - internal to pacs/: the server and one association's
 * connection, shared by pacs_server.c (listener, loop wiring, shutdown),
 * pacs_conn.c (one association) and the services (pacs_svc_*.c). */
#ifndef PACS_CONN_PRIV_H
#define PACS_CONN_PRIV_H

#include <ev.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_assoc.h"
#include "pacs_dimse.h"
#include "pacs_ingest.h"
#include "pacs_server.h"
#include "pacs_svc.h"
#include "pacs_ul.h"
#include "pacs_workq.h"

/* One read() takes at most this much; the buffer is shared by every
 * connection (one loop thread), the Upper Layer keeps partial PDUs. */
#define PACS_CONN_READ_CHUNK (64u * 1024u)
/* Reads per wake-up of one connection, so that a fast peer does not starve
 * the others. */
#define PACS_CONN_READS_PER_EVENT 8
#define PACS_CONN_OUTCOME_MAX 200u
#define PACS_CONN_ADDR_MAX 64u
/* A user name kept for the audit records (longer ones are not kept). */
#define PACS_CONN_USER_MAX 128u

struct pacs_conn {
	pacs_server *srv;
	pacs_conn *prev, *next;     /* the server's list of connections */
	uint64_t id;
	int fd;                     /* -1 once closed */
	char peer[PACS_CONN_ADDR_MAX];
	ev_io rio, wio;
	ev_timer artim, idle;
	pacs_ul *ul;
	pacs_assoc *assoc;          /* the negotiated association (after the AC) */
	pacs_dimse_asm *dasm;

	/* bounded write queue: bytes [wq_off, wq_len) wait for the socket */
	uint8_t *wq;
	size_t wq_len, wq_off, wq_cap;
	bool room_wanted;           /* a service found no room (pacs_conn__has_room): resume it
				       once the queue drains, even if a flush emptied it at once */

	/* requests, oldest first; receiving is the one whose data set is arriving */
	pacs_op *ops_head, *ops_tail;
	pacs_op *receiving;
	unsigned ops_complete;      /* received but not yet answered */
	unsigned jobs;              /* worker jobs whose done() has not run */
	unsigned window;            /* complete requests read ahead (async window, PS3.7 D.3.3.3) */
	bool release_pending;       /* A-RELEASE-RQ waits for the ops to be answered */

	bool close_requested;       /* the machine (or we) asked to close the transport */
	bool peer_gone;             /* read() saw the end, or a write failed: Evt17 due */
	bool ended;                 /* fd closed; waiting for jobs before the log line */
	bool established;           /* an A-ASSOCIATE-AC was sent */
	bool released;              /* the A-RELEASE-RP was sent */
	bool refused;               /* an A-ASSOCIATE-RJ was sent */

	/* for the log line */
	ev_tstamp started;
	uint64_t bytes_in, bytes_out;
	uint8_t first_byte;         /* of the connection: names what a non-DICOM peer sent */
	unsigned instances, store_failures, requests;
	size_t pctx_accepted, pctx_proposed;
	char calling_ae[PACS_PDU_AE_MAX + 1];
	char called_ae[PACS_PDU_AE_MAX + 1];
	char user[PACS_CONN_USER_MAX + 1]; /* accepted User Identity name (PS3.7 D.3.3.7), or "" */
	char outcome[PACS_CONN_OUTCOME_MAX]; /* first reason the association ended abnormally */
};

struct pacs_server {
	struct ev_loop *loop;
	pacs_server_opts opts;          /* strings below point into the copies */
	char ae_title[PACS_PDU_AE_MAX + 1];
	char **calling_aes;
	pacs_server_user *users;
	char **transfer_syntaxes;
	char **bind;

	pacs_assoc_sop *sops;           /* the abstract syntaxes offered */
	size_t n_sops;
	pacs_assoc_policy policy;

	pacs_ingest ingest;
	bool has_ingest;
	pacs_workq *workq;

	int lfd[PACS_SERVER_MAX_BIND];
	ev_io lio[PACS_SERVER_MAX_BIND];
	size_t n_listen;
	uint16_t port;
	char describe[256];
	ev_timer accept_pause;          /* after EMFILE: breathe before accepting again */

	ev_async wake;                  /* pacs_server_request_shutdown */
	atomic_int shutdown_requests;   /* written by other threads / signal handlers */
	int shutdown_seen;
	ev_timer shutdown_timer;
	bool shutting_down;
	bool aborting;
	bool finished;

	pacs_conn *conns;
	unsigned n_conns;
	unsigned n_established;
	uint64_t next_id;
	pacs_server_stats stats;

	uint8_t rbuf[PACS_CONN_READ_CHUNK];
};

/* -- pacs_conn.c, for pacs_server.c -- */

/* Takes over fd (accepted, non-blocking) and starts the association
 * (Evt5).  On error fd is closed. */
int pacs_conn__start(pacs_server *s, int fd, const char *peer);
/* Shutdown: refuse further work; abort_now also aborts an established
 * association and closes its transport at once. */
void pacs_conn__shutdown(pacs_conn *c, bool abort_now);
/* Frees whatever is left (server free): no log line, ingest aborted. */
void pacs_conn__destroy(pacs_conn *c);

/* -- pacs_server.c, for pacs_conn.c -- */

void pacs_server__log(pacs_server *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A connection has ended and is freed: unlinks it, and finishes a shutdown
 * when it was the last. */
void pacs_server__conn_gone(pacs_server *s, pacs_conn *c);

#endif
