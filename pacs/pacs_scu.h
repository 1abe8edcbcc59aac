/* pacs_scu.h - a blocking DICOM client association (the SCU side of
 * PS3.8 and PS3.7): C-ECHO and C-STORE over one TCP connection.
 *
 * The client drives the same Upper Layer state machine as the server
 * (pacs_ul.h) in the requestor role, with a port that writes to a blocking
 * TCP socket (TCP_NODELAY on, every wait bounded by a timeout).  It is
 * meant for code that may block: the command-line tool (`arca echo`,
 * `arca send`) and, later, the C-MOVE SCP's sub-operations on the worker
 * pool.  One pacs_scu is used by one thread at a time.
 *
 *   pacs_scu_new()        copies the options; nothing on the network yet
 *   pacs_scu_associate()  connects and negotiates (A-ASSOCIATE-RQ/AC/RJ)
 *   pacs_scu_echo()       C-ECHO (PS3.7 9.1.5)
 *   pacs_scu_store()      C-STORE of a data set written by a callback
 *   pacs_scu_store_file() C-STORE of a DICOM file, streamed from the file
 *   pacs_scu_find()       C-FIND, each match handed to a callback
 *   pacs_scu_move()       C-MOVE, pending responses to a callback
 *   pacs_scu_get()        C-GET, the C-STORE sub-operations answered on the
 *                         same association and handed to a store handler
 *                         (pacs_scu_file_sink: Part 10 files in a folder)
 *   pacs_scu_release()    A-RELEASE (orderly end), or
 *   pacs_scu_abort()      A-ABORT (after an error)
 *   pacs_scu_free()       aborts if still associated, closes, frees
 *
 * Operations are invoked one at a time: the asynchronous operations window
 * is not negotiated, which means 1/1 (PS3.7 D.3.3.3), and each request
 * waits for its response.
 *
 * Errors.  Functions return 0 or a negative ARCA_E* code with the message
 * set (arca_error_last()):
 *   ARCA_EIO          the transport failed: name resolution, connect,
 *                     a timeout, a reset; the association is gone
 *   ARCA_EPROTO       the peer broke the protocol or aborted the
 *                     association (pacs_scu_abort_info() says how); gone
 *   ARCA_EUNSUPPORTED a negative answer that is not a failure of the
 *                     network: the association was rejected
 *                     (pacs_scu_rejection()), no proposed context was
 *                     accepted, or no accepted context can carry this
 *                     SOP class or transfer syntax (the association is
 *                     still usable in that last case)
 *   ARCA_EINVAL       bad options or arguments, or the call does not fit
 *                     the association's state
 * A DIMSE response with a failure status is not an error: the call returns
 * 0 and the caller reads the status.  pacs_scu_established() tells whether
 * the association can still be used after an error. */
#ifndef PACS_SCU_H
#define PACS_SCU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_dimse.h"
#include "pacs_ds.h"
#include "pacs_pdu.h"
#include "pacs_ul.h"
#include "pacs_write.h"

typedef struct pacs_scu pacs_scu;

/* One presentation context to propose: an abstract syntax (SOP class) and
 * the transfer syntaxes we can send it in, preferred first.  IDs are given
 * in order: 1, 3, 5, ... (PS3.8 9.3.2.2). */
typedef struct pacs_scu_pctx {
	const char *abstract_syntax;
	const char *const *transfer_syntaxes; /* 1 to PACS_PDU_MAX_TS */
	size_t n_transfer_syntaxes;
} pacs_scu_pctx;

/* Default timeouts, in milliseconds. */
#define PACS_SCU_CONNECT_TIMEOUT_MS 10000u
#define PACS_SCU_ACSE_TIMEOUT_MS 30000u
#define PACS_SCU_DIMSE_TIMEOUT_MS 60000u
/* Calling AE title when none is given. */
#define PACS_SCU_DEFAULT_CALLING_AE "ARCA"

/* Longest service class application information proposed or kept from
 * the answer (the Q/R classes use 5 bytes at most, PS3.4 C.5). */
#define PACS_SCU_EXT_NEG_MAX 16u

typedef struct pacs_scu_opts {
	const char *host;          /* name or address (IPv4 or IPv6), required */
	uint16_t port;             /* required (not 0) */
	const char *calling_ae;    /* ours, 1-16 characters; NULL: "ARCA" */
	const char *called_ae;     /* the peer's, 1-16 characters, required */
	const pacs_scu_pctx *pctx; /* 1 to PACS_PDU_MAX_PCTX contexts, required */
	size_t n_pctx;
	/* Maximum Length Received we announce (PS3.8 D.1) and the largest
	 * P-DATA-TF we accept; 0: PACS_UL_DEFAULT_MAX_PDATA. */
	uint32_t max_pdu;
	/* 0: the defaults above.  connect: TCP connection; acse: the answer to
	 * an A-ASSOCIATE-RQ or A-RELEASE-RQ; dimse: a DIMSE response, and any
	 * stall while writing. */
	unsigned connect_timeout_ms;
	unsigned acse_timeout_ms;
	unsigned dimse_timeout_ms;
	/* Optional: every Upper Layer transition, for debugging output. */
	void (*log)(void *ctx, const pacs_ul_transition *t);
	void *log_ctx;
	/* SCP/SCU Role Selection items to propose (PS3.7 D.3.3.4), at most
	 * PACS_PDU_MAX_PCTX; copied.  A C-GET SCU proposes the SCP role
	 * (scu_role 0 or 1, scp_role 1) for each storage SOP class it wants to
	 * receive (PS3.4 C.4.3.3). */
	const pacs_pdu_role *roles;
	size_t n_roles;
	/* SOP Class Extended Negotiation items to propose (PS3.7 D.3.3.5), at
	 * most PACS_PDU_MAX_PCTX, each with 1 to PACS_SCU_EXT_NEG_MAX bytes of
	 * service class application information; copied.  A C-FIND SCU asks
	 * for relational queries with { 1 } for its FIND model (PS3.4 C.5.1.1). */
	const pacs_pdu_ext_neg *ext_neg;
	size_t n_ext_neg;
} pacs_scu_opts;

/* Zeroes opts (all defaults; host, port, called_ae and pctx still needed). */
void pacs_scu_opts_init(pacs_scu_opts *opts);

/* Validates and copies opts (strings and context lists included, so they
 * need not outlive the call).  Nothing is sent.  *out is the caller's:
 * pacs_scu_free().  ARCA_EINVAL for a missing or bad option. */
int pacs_scu_new(pacs_scu **out, const pacs_scu_opts *opts);

/* Closes the connection (an A-ABORT first if an association is still up)
 * and frees.  Accepts NULL. */
void pacs_scu_free(pacs_scu *scu);

/* Connects to host:port (every address getaddrinfo gives, in order, each
 * within the connect timeout) and requests the association.  0 when the
 * peer accepted it with at least one presentation context; then
 * pacs_scu_established() is true.  An A-ASSOCIATE-RJ gives
 * ARCA_EUNSUPPORTED and pacs_scu_rejection(); an accepted association
 * without any accepted context is released and gives ARCA_EUNSUPPORTED
 * too.  Only once per pacs_scu. */
int pacs_scu_associate(pacs_scu *scu);

/* True from an accepted A-ASSOCIATE-AC until release, abort or failure. */
bool pacs_scu_established(const pacs_scu *scu);

/* Borrowed: the A-ASSOCIATE-RJ received, or NULL. */
const pacs_pdu_reject *pacs_scu_rejection(const pacs_scu *scu);

/* Borrowed: why the association ended abnormally (peer or local abort,
 * transport closed), or NULL if it did not. */
const pacs_ul_abort_info *pacs_scu_abort_info(const pacs_scu *scu);

/* One proposed context and the answer to it. */
typedef struct pacs_scu_ctx_info {
	uint8_t id;
	uint8_t result;              /* enum pacs_pdu_pctx_result */
	const char *abstract_syntax;
	const char *transfer_syntax; /* accepted one; NULL unless accepted */
} pacs_scu_ctx_info;

/* The proposed contexts in proposal order, after pacs_scu_associate()
 * (results are 2, no reason, until an AC arrived).  Borrowed until free. */
size_t pacs_scu_ctx_count(const pacs_scu *scu);
const pacs_scu_ctx_info *pacs_scu_ctx_at(const pacs_scu *scu, size_t i);
/* The first accepted context for abstract_syntax whose transfer syntax is
 * ts (any when ts is NULL), or NULL. */
const pacs_scu_ctx_info *pacs_scu_ctx_find(const pacs_scu *scu, const char *abstract_syntax,
					   const char *ts);

/* The peer's Maximum Length Received (0: no limit): the largest P-DATA-TF
 * PDU-length we send. */
uint32_t pacs_scu_peer_max_pdu(const pacs_scu *scu);

/* True when the A-ASSOCIATE-AC accepted the SCP role for sop_class (an
 * SCP/SCU Role Selection item with SCP role 1, PS3.7 D.3.3.4): the peer may
 * send us C-STORE requests of that class (C-GET). */
bool pacs_scu_scp_role_accepted(const pacs_scu *scu, const char *sop_class);

/* The acceptor's SOP Class Extended Negotiation answer for sop_class
 * (PS3.7 D.3.3.5), borrowed until free, *len bytes (at most
 * PACS_SCU_EXT_NEG_MAX); NULL when it sent none, which means the options
 * are not supported.  Only answers to items we proposed are kept. */
const uint8_t *pacs_scu_ext_neg_answer(const pacs_scu *scu, const char *sop_class, size_t *len);

/* C-ECHO-RQ on the Verification context (1.2.840.10008.1.1), waits for the
 * C-ECHO-RSP and sets *status to its Status (0000H success).
 * ARCA_EUNSUPPORTED if no Verification context was accepted. */
int pacs_scu_echo(pacs_scu *scu, uint16_t *status);

/* Writes a data set: calls sink(sink_ctx, bytes, len) any number of times
 * with the data set bytes in order, then returns 0 (or a negative ARCA_E*,
 * which aborts the association: half a data set cannot be taken back). */
typedef int (*pacs_scu_dataset_fn)(void *ctx, pacs_sink_fn sink, void *sink_ctx);

/* A C-STORE-RQ (PS3.7 9.1.1, 9.3.1.1). */
typedef struct pacs_scu_store_rq {
	const char *sop_class_uid;     /* Affected SOP Class UID */
	const char *sop_instance_uid;  /* Affected SOP Instance UID */
	/* The transfer syntax the data set is written in: the request goes on
	 * the first accepted context for the SOP class with this transfer
	 * syntax (ARCA_EUNSUPPORTED if none). */
	const char *transfer_syntax;
	uint16_t priority;             /* enum pacs_dimse_priority */
	/* For C-STORE sub-operations of a C-MOVE (PS3.7 9.3.1.1): Move
	 * Originator AE Title and Message ID, sent when the title is not NULL. */
	const char *move_originator_ae;
	uint16_t move_originator_id;
	pacs_scu_dataset_fn write;     /* the data set, required */
	void *write_ctx;
} pacs_scu_store_rq;

/* Sends the C-STORE-RQ and its data set (fragmented within the peer's
 * maximum PDU length, never held whole) and waits for the C-STORE-RSP,
 * which is copied to *rsp (status, error comment, offending elements).
 * Returns 0 whenever a response came, whatever its status. */
int pacs_scu_store(pacs_scu *scu, const pacs_scu_store_rq *rq, pacs_dimse_cmd *rsp);

/* What a file holds, for building proposals (read up to its pixel data). */
typedef struct pacs_scu_file_info {
	char sop_class_uid[PACS_DIMSE_UID_MAX + 1];
	char sop_instance_uid[PACS_DIMSE_UID_MAX + 1];
	char transfer_syntax[PACS_DIMSE_UID_MAX + 1]; /* as in the file, or as probed */
} pacs_scu_file_info;

/* Reads path's metadata.  ARCA_EPROTO (or the reader's code) when it is not
 * a DICOM file or lacks its SOP Class or SOP Instance UID ((0008,0016),
 * (0008,0018), else (0002,0002), (0002,0003)); messages name the path. */
int pacs_scu_probe_file(pacs_scu_file_info *out, const char *path);

/* C-STORE of a DICOM file (Part 10, or a bare data set).  The file is
 * checked first (read in full, bulk values skipped, so a truncated or
 * malformed file is refused before anything is sent: then the reader's
 * code, and the association is untouched).  Then:
 *   - if a context for its SOP class accepted the file's own transfer
 *     syntax, the data set bytes are streamed straight from the file
 *     (after the File Meta Information), unchanged;
 *   - else, if the file is uncompressed and a context for its SOP class
 *     accepted another uncompressed transfer syntax, the data set is
 *     re-encoded on the fly (pacs_write), bulk values re-read from the
 *     file as they are written;
 *   - else ARCA_EUNSUPPORTED, nothing sent.
 * *rsp as for pacs_scu_store(). */
int pacs_scu_store_file(pacs_scu *scu, const char *path, pacs_dimse_cmd *rsp);

/* Receives each match of a C-FIND (a pending response's identifier,
 * borrowed for the call).  Returns 0 to go on, 1 to cancel (a C-CANCEL-RQ
 * is sent, PS3.7 9.3.2.3; the final response still comes), or a negative
 * ARCA_E* code to abort the association. */
typedef int (*pacs_scu_find_fn)(void *ctx, const pacs_ds *match);

/* C-FIND (PS3.7 9.1.2, PS3.4 C.4.1): sends identifier on the first
 * accepted context for sop_class (a Q/R FIND model), calls fn for each
 * pending response, and copies the final response (status 0000H, FE00H
 * after a cancel, or a failure) to *rsp (pacs_scu_find.c). */
int pacs_scu_find(pacs_scu *scu, const char *sop_class, const pacs_ds *identifier, pacs_scu_find_fn fn,
		  void *ctx, pacs_dimse_cmd *rsp);

/* ---- C-MOVE and C-GET (PS3.4 C.4.2, C.4.3; PS3.7 9.1.3, 9.1.4) ---- */

/* Receives each pending C-MOVE-RSP or C-GET-RSP (status FF00H, with the
 * Number of Remaining/Completed/Failed/Warning Sub-operations when the
 * peer sent them: rsp->present says).  Returns 0 to go on, 1 to cancel (a
 * C-CANCEL-RQ is sent once, PS3.7 9.3.3.3 / 9.3.4.3; the final response
 * still comes), or a negative ARCA_E* code to abort the association. */
typedef int (*pacs_scu_retrieve_fn)(void *ctx, const pacs_dimse_cmd *rsp);

/* The outcome of a C-MOVE or C-GET. */
typedef struct pacs_scu_retrieve_result {
	pacs_dimse_cmd rsp;     /* the final response: status and counts */
	/* Failed SOP Instance UID List (0008,0058) of the final response's
	 * identifier (PS3.4 C.4.2.1.4.2, C.4.3.1.3.2), values separated by
	 * backslashes; NULL when absent.  Owned: pacs_scu_retrieve_result_clear. */
	char *failed_uids;
	size_t n_failed;
	unsigned pending;       /* pending responses received */
	bool cancelled;         /* a C-CANCEL-RQ was sent */
} pacs_scu_retrieve_result;

/* Frees what *r owns and zeroes it.  Accepts a zeroed result. */
void pacs_scu_retrieve_result_clear(pacs_scu_retrieve_result *r);

/* C-MOVE (pacs_scu_move.c): sends identifier (Query/Retrieve Level and
 * the unique keys) on the first accepted context for sop_class (a Q/R MOVE
 * model) with Move Destination dest_ae (PS3.7 9.3.4.1), calls fn (may be
 * NULL) for every pending response and fills *out from the final one.
 * Returns 0 whenever a final response came, whatever its status. */
int pacs_scu_move(pacs_scu *scu, const char *sop_class, const char *dest_ae, const pacs_ds *identifier,
		  pacs_scu_retrieve_fn fn, void *ctx, pacs_scu_retrieve_result *out);

/* What a C-GET SCU does with the C-STORE sub-operations that arrive on its
 * association (PS3.4 C.4.3.3).  The calls come from inside pacs_scu_get(),
 * one sub-operation at a time, in order: begin, data (any number), end. */
typedef struct pacs_scu_store_handler {
	/* A C-STORE-RQ (rq: its command; ts: the transfer syntax of its
	 * presentation context, which its data set is in).  Returns 0 to take
	 * the data set, or a C-STORE failure status (e.g. A700H) to refuse it:
	 * the data set is then dropped and the status answered. */
	uint16_t (*begin)(void *ctx, const pacs_dimse_cmd *rq, const char *ts);
	/* The next bytes of the data set; a negative ARCA_E* code stops taking
	 * it (the rest is dropped, end() gets complete false). */
	int (*data)(void *ctx, const uint8_t *bytes, size_t len);
	/* The data set ended: complete true when every byte was taken, false
	 * when data() failed or the association ended first.  Returns the
	 * C-STORE-RSP status (0000H stored; a failure status otherwise). */
	uint16_t (*end)(void *ctx, bool complete);
	void *ctx;
} pacs_scu_store_handler;

/* C-GET (pacs_scu_get.c): sends identifier on the first accepted context
 * for sop_class (a Q/R GET model); each C-STORE-RQ the peer sends meanwhile
 * goes to store (required), and its C-STORE-RSP is sent with the status
 * store->end() returns (0122H when it came on a context that is not for
 * its SOP class, PS3.7 9.3.1.2); pending responses go to fn (may be NULL);
 * *out is filled from the final response.  Returns 0 whenever a final
 * response came, whatever its status. */
int pacs_scu_get(pacs_scu *scu, const char *sop_class, const pacs_ds *identifier,
		 const pacs_scu_store_handler *store, pacs_scu_retrieve_fn fn, void *ctx,
		 pacs_scu_retrieve_result *out);

/* A store handler that writes every instance received to DIR as a Part 10
 * file named by its SOP Instance UID (DIR/<uid>.dcm): 128-byte zero
 * preamble, "DICM", a File Meta Information group built from the C-STORE
 * request (PS3.10 7.1: Media Storage SOP Class and Instance UID, the
 * context's Transfer Syntax UID, arca's Implementation Class UID and
 * Version Name, Source Application Entity Title = the peer's AE title),
 * then the data set bytes exactly as received.  Each file is written to a
 * temporary name, fsync'ed (before the C-STORE-RSP says stored) and
 * renamed, so DIR never holds half a file; a file of the same name is
 * replaced; DIR itself (the new names) is synced once, by
 * pacs_scu_file_sink_sync() after the C-GET, or at free.  A write failure
 * answers A700H (out of resources) and is remembered
 * (pacs_scu_file_sink_error). */
typedef struct pacs_scu_file_sink pacs_scu_file_sink;

/* dir must exist.  source_ae: the peer's AE title for (0002,0016).
 * *out is the caller's (pacs_scu_file_sink_free). */
int pacs_scu_file_sink_new(pacs_scu_file_sink **out, const char *dir, const char *source_ae);
/* Syncs DIR after files were renamed into it (ARCA_EIO, also remembered
 * as the sink's error). */
int pacs_scu_file_sink_sync(pacs_scu_file_sink *s);
/* Syncs as pacs_scu_file_sink_sync (errors only remembered) and frees. */
void pacs_scu_file_sink_free(pacs_scu_file_sink *s);
/* The handler to pass to pacs_scu_get (borrowed from s). */
const pacs_scu_store_handler *pacs_scu_file_sink_handler(pacs_scu_file_sink *s);
/* Instances written, and their bytes (files included meta group). */
size_t pacs_scu_file_sink_count(const pacs_scu_file_sink *s);
uint64_t pacs_scu_file_sink_bytes(const pacs_scu_file_sink *s);
/* The first write failure's message, or NULL. */
const char *pacs_scu_file_sink_error(const pacs_scu_file_sink *s);
/* Optional: called after each file is in place (path and SOP Instance UID
 * borrowed for the call). */
void pacs_scu_file_sink_on_file(pacs_scu_file_sink *s, void (*fn)(void *ctx, const char *path, const char *sop_uid,
								 uint64_t bytes),
				void *ctx);

/* A-RELEASE-RQ, waits for the A-RELEASE-RP (acse timeout), closes.  If the
 * answer does not come, aborts and returns the error. */
int pacs_scu_release(pacs_scu *scu);

/* A-ABORT (source: service-user) and close.  No-op when not associated. */
void pacs_scu_abort(pacs_scu *scu);

#endif
