/* pacs_server.h - the DICOM server (SCP side): one libev loop serving many
 * associations (design.md 3; docs/network.md).
 *
 * The server listens on TCP (IPv6 dual-stack by default, IPv4 when IPv6
 * is missing), accepts every connection non-blocking with TCP_NODELAY,
 * and runs one Upper Layer state machine (pacs_ul.h) per connection with
 * its ARTIM and idle timers.  Associations are negotiated with
 * pacs_assoc.h under the policy built from the options below; DIMSE
 * messages are reassembled (pacs_dimse.h) and served: C-ECHO, C-STORE
 * (streamed into a pacs_ingest, whose commit runs on the server's worker
 * pool, pacs_workq.h), C-CANCEL (accepted, nothing to cancel yet); other
 * requests are answered 0x0211 (unrecognised operation).
 *
 * Threads.  Everything runs on the thread that runs the loop, except
 * ingest commits (on the worker threads) and pacs_server_request_shutdown
 * (any thread, also a signal handler).  Create the server on the thread
 * that will run the loop, or before that thread starts.
 *
 * Logging.  The library never prints: each event worth a line (listening,
 * every association at its end, every refusal and abort, failed stores)
 * goes to opts.log as one line without a trailing newline.
 *
 * Memory.  Bounded per association whatever the instance size: the PDU
 * being framed (at most max_pdu), the metadata of the instance being
 * received (bulk values go to the ingest as they arrive), and a write
 * queue of at most PACS_SERVER_WQ_MAX bytes (reading from the peer stops
 * while it holds more than PACS_SERVER_WQ_HIGH). */
#ifndef PACS_SERVER_H
#define PACS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_ingest.h"
#include "pacs_query.h"

struct ev_loop;

typedef struct pacs_server pacs_server;

#define PACS_SERVER_DEFAULT_PORT 11112
#define PACS_SERVER_DEFAULT_AE "ARCA"
#define PACS_SERVER_WQ_HIGH (256u * 1024u)
#define PACS_SERVER_WQ_MAX (8u * 1024u * 1024u)
/* At most this many listen addresses. */
#define PACS_SERVER_MAX_BIND 8

enum pacs_server_log_level {
	PACS_SERVER_LOG_ERROR = 0, /* the server cannot do its job (accept failing, no memory) */
	PACS_SERVER_LOG_WARNING,   /* a refusal, an abort, a failed store */
	PACS_SERVER_LOG_INFO,      /* listening, one line per association */
	PACS_SERVER_LOG_DEBUG      /* every Upper Layer transition and DIMSE message */
};

/* line is borrowed for the call. */
typedef void (*pacs_server_log_fn)(void *ctx, enum pacs_server_log_level level, const char *line);

/* [access] users: a User Identity (PS3.7 D.3.3.7) of type username and
 * passcode is accepted when it matches one of these exactly (compared in
 * constant time). */
typedef struct pacs_server_user {
	const char *name;
	const char *password;
} pacs_server_user;

/* A C-MOVE destination: the AE title a C-MOVE-RQ names (Move
 * Destination, PS3.7 9.3.4.1) and where it listens. */
typedef struct pacs_server_peer {
	const char *ae;
	const char *host;
	uint16_t port;
} pacs_server_peer;

struct pacs_svc_retrieve_event;
typedef void (*pacs_server_retrieve_fn)(void *ctx, const char *calling_ae,
					const struct pacs_svc_retrieve_event *ev);

/* One C-FIND when it has been answered (the provenance chain's Query
 * event, PS3.15 A.5.3.10): which association, who asked, how many matches
 * went back and the final status.  Nothing of the identifier: its keys
 * may name a patient. */
typedef struct pacs_server_query_event {
	uint64_t assoc_id;             /* the association, unique for the server's life */
	const char *calling_ae;
	const char *user;              /* the accepted User Identity's name, or "" */
	const char *level;             /* "PATIENT", "STUDY", "SERIES", "IMAGE" or "" */
	bool study_root;               /* Study Root (else Patient Root) information model */
	uint64_t matches;              /* pending responses sent */
	uint16_t status;               /* final status (0x0000, 0xFE00, 0xA700, ...) */
} pacs_server_query_event;
typedef void (*pacs_server_query_fn)(void *ctx, const pacs_server_query_event *ev);
/* An established association has ended (released or aborted), after the
 * last of its requests was answered. */
typedef void (*pacs_server_assoc_end_fn)(void *ctx, uint64_t assoc_id, const char *calling_ae,
					 const char *user);

/* Every string and array is copied by pacs_server_new() (but query and
 * peers, borrowed). */
typedef struct pacs_server_opts {
	const char *ae_title;          /* ours; default "ARCA" */
	bool check_called_ae;          /* refuse (RJ 1/1/7) a Called AE Title not ours; default true */
	const char *const *calling_aes; /* allow-list of Calling AE Titles (RJ 1/1/3 otherwise); */
	size_t n_calling_aes;          /* NULL: any calling AE */
	const pacs_server_user *users; /* NULL: the User Identity sub-item is ignored */
	size_t n_users;
	bool require_identity;         /* with users: an RQ without a valid identity is refused (RJ 1/1/1) */
	const char *const *transfer_syntaxes; /* our preference order; NULL: */
	size_t n_transfer_syntaxes;    /* pacs_server_default_transfer_syntaxes() */
	const char *const *bind;       /* numeric addresses to listen on; NULL: every address, */
	size_t n_bind;                 /* IPv6 dual-stack, else IPv4 */
	uint16_t port;                 /* default 11112; 0: a free port (see pacs_server_port) */
	uint32_t max_pdu;              /* Maximum Length Received we announce and accept for
					* P-DATA-TF (PS3.8 D.1); default PACS_UL_DEFAULT_MAX_PDATA */
	uint16_t async_ops;            /* Asynchronous Operations Window answered, invoked =
					* performed (PS3.7 D.3.3.3); default 1 (none) */
	double artim_timeout;          /* seconds (PS3.8 9.1.5); default 30 */
	double idle_timeout;           /* seconds of silence before an established association
					* is aborted; default 300; 0: never */
	double shutdown_timeout;       /* seconds granted to in-flight associations; default 30 */
	unsigned max_associations;     /* more are refused (RJ 2/3/2); default 64 */
	unsigned workers;              /* worker threads for ingest commits; default 2 */
	pacs_server_log_fn log;        /* NULL: silent */
	void *log_ctx;
	enum pacs_server_log_level log_level; /* lines above it are not made; default INFO */
	/* Query/Retrieve (pacs_query.h), borrowed: it must outlive the
	 * server.  NULL: C-FIND, C-GET and C-MOVE are answered 0x0211. */
	const pacs_query *query;
	uint64_t max_find_results;     /* matches per C-FIND before 0xA700; 0: no limit */
	bool relational_queries;       /* C-FIND relational queries accepted when asked
					* (PS3.4 C.5.1.1, pacs_assoc.h); default true */
	/* C-MOVE destinations (design.md 4: only configured peers), borrowed
	 * like query: they must outlive the server.  NULL: every C-MOVE is
	 * answered 0xA801. */
	const pacs_server_peer *peers;
	size_t n_peers;
	/* Each C-GET and C-MOVE when it ends (pacs_svc_retrieve.h), with the
	 * association's calling AE title; called on the thread that ends the
	 * retrieve, must not block.  NULL: only the log line. */
	pacs_server_retrieve_fn retrieve_audit;
	void *retrieve_audit_ctx;
	/* Each C-FIND when it is answered, and each established association
	 * when it ends; on the loop thread, must not block.  NULL: none. */
	pacs_server_query_fn query_audit;
	pacs_server_assoc_end_fn assoc_end;
	void *audit_ctx;               /* for both */
} pacs_server_opts;

void pacs_server_opts_init(pacs_server_opts *opts);

/* Our default transfer syntax preference: explicit VR LE, implicit VR LE,
 * explicit VR BE, deflated, then every encapsulated transfer syntax of
 * pacs_ts.h, so that a compressed instance is stored as it was sent.
 * Fills out[0..cap) with borrowed, static UIDs and returns how many there
 * are (which may be more than cap). */
size_t pacs_server_default_transfer_syntaxes(const char **out, size_t cap);

/* Borrowed, static: the DIMSE services this server performs, for the log
 * ("C-ECHO, C-STORE"). */
const char *pacs_server_services(void);

/* Creates the server on loop: listens (ARCA_EIO naming the address and port
 * if it cannot, e.g. "port 11112 is already in use"), starts the worker
 * pool and the watchers; the caller then runs the loop (pacs_server_run or
 * its own ev_run).  ingest is borrowed (may be NULL: then no Storage SOP
 * class is offered).  *out is the caller's: pacs_server_free(). */
int pacs_server_new(pacs_server **out, struct ev_loop *loop, const pacs_server_opts *opts,
		    const pacs_ingest *ingest);

/* The port listened on (the one the system chose when opts.port was 0). */
uint16_t pacs_server_port(const pacs_server *s);

/* The addresses listened on, for the log: "[::]:11112 (IPv6 and IPv4)". */
void pacs_server_describe(const pacs_server *s, char *buf, size_t size);

/* Graceful stop (loop thread): close the listeners and the connections
 * that have not asked for an association yet (an A-ASSOCIATE-RQ that
 * still arrives is refused, RJ 2/3/1); let the established associations
 * finish until shutdown_timeout, then abort them; wait for commits in
 * flight.  When nothing is left the loop is broken
 * (ev_break) and pacs_server_finished() becomes true. */
void pacs_server_shutdown(pacs_server *s);

/* Immediate stop (loop thread): as pacs_server_shutdown with the timeout
 * already passed. */
void pacs_server_abort_all(pacs_server *s);

/* Asks for pacs_server_shutdown() from any thread or from a signal handler
 * (ev_async_send); a second request asks for pacs_server_abort_all(). */
void pacs_server_request_shutdown(pacs_server *s);

bool pacs_server_finished(const pacs_server *s);

/* Runs the loop until the server has finished (after a shutdown).
 * Returns 0. */
int pacs_server_run(pacs_server *s);

typedef struct pacs_server_stats {
	uint64_t connections;   /* accepted since start */
	uint64_t associations;  /* established (A-ASSOCIATE-AC sent) */
	uint64_t refused;       /* A-ASSOCIATE-RJ sent */
	uint64_t aborted;       /* ended other than by release */
	uint64_t instances;     /* C-STORE answered with success or warning */
	uint64_t store_failures;
	uint64_t bytes_in;
	unsigned active;        /* connections open now */
} pacs_server_stats;

void pacs_server_get_stats(const pacs_server *s, pacs_server_stats *out);

/* Frees a finished (or never run) server: aborts what is left, joins the
 * worker pool, stops every watcher it started.  Accepts NULL. */
void pacs_server_free(pacs_server *s);

#endif
