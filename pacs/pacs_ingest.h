/* pacs_ingest.h - the interface through which the network layer hands a
 * received instance to storage (design.md 3.1): what the C-STORE SCP
 * (pacs_svc_store.c) calls and what the storage layer implements.
 *
 * One transaction per instance:
 *
 *   begin   loop thread, when the C-STORE-RQ command has arrived, before any
 *           byte of the data set: the storage layer prepares (a spool, a
 *           chunk writer ...) and returns its transaction handle.
 *   bulk    loop thread, any number of times while the data set streams in:
 *           the pieces of the bulk values (pixel data, large OB/OW/UN ...)
 *           exactly as pacs_read delivers them (pacs_bulk_event: BEGIN,
 *           [FRAGMENT] DATA..., END; stream_offset identifies the element,
 *           it equals pacs_elem_offset() of the bulk element left in the
 *           metadata data set).  The data pointer is borrowed for the call.
 *           Must not block for long: it runs on the event loop that serves
 *           every association (write to a spool or a page-cache file; no
 *           fsync).
 *   commit  WORKER thread (pacs_workq), once the whole data set has been
 *           read and checked: make the instance durable (write, fsync,
 *           index ...), then fill *res.  metadata is the data set without
 *           its bulk values (elements flagged PACS_ELEM_BULK), read in the
 *           transfer syntax info->transfer_syntax; ownership passes to
 *           commit, which must pacs_ds_free() it.  commit ends the
 *           transaction whatever it returns: txn is not used again.
 *           The C-STORE-RSP is sent only after commit returns, with
 *           res->status and res->comment: an acknowledged instance is
 *           durable.
 *   abort   loop thread: the transaction ends without commit (the
 *           association aborted, the peer vanished mid-instance, the data
 *           set did not parse, the server shuts down).  Nothing of the
 *           instance may remain: temporary files are removed.
 *
 * For one transaction the calls are begin, bulk*, then exactly one of
 * commit or abort, never concurrently.  Different transactions (of one or
 * several associations) may be in begin/bulk on the loop thread while
 * others commit on workers: commit must be safe against concurrent
 * commits of the same SOP Instance UID.
 *
 * Return values: 0, or a negative ARCA_E* code with the message set
 * (arca_error_set).  A failing begin or bulk fails the C-STORE with 0xA700
 * (out of resources) and the message as Error Comment; the server then
 * calls abort (after a failing bulk; not after a failing begin, which
 * must leave nothing behind).  commit reports refusals through res (it
 * may return 0 with a failure status); a negative return is an internal
 * failure and is answered 0xA700 with the message. */
#ifndef PACS_INGEST_H
#define PACS_INGEST_H

#include <stdint.h>

#include "pacs_dimse.h"
#include "pacs_ds.h"
#include "pacs_read.h"

/* What is known of an instance when its C-STORE-RQ arrives.  Every pointer
 * is borrowed for the begin call: copy what is kept. */
typedef struct pacs_ingest_info {
	const char *calling_ae;        /* the peer's AE title (Source AE Title of the instance) */
	const char *called_ae;         /* the AE title it called (ours) */
	const char *peer_address;      /* "192.0.2.7:40112" or "[2001:db8::7]:40112" */
	const char *sop_class_uid;     /* Affected SOP Class UID (0000,0002) */
	const char *sop_instance_uid;  /* Affected SOP Instance UID (0000,1000), as sent:
					* not yet checked against the data set */
	const char *transfer_syntax;   /* of the presentation context: the data set's encoding */
	uint16_t message_id;
	const char *move_originator_ae; /* (0000,1030) of a C-MOVE sub-operation, or NULL */
	uint16_t move_originator_id;
	uint64_t association_id;       /* the server's number for the association (logs) */
} pacs_ingest_info;

/* The outcome of commit: a C-STORE status (PS3.4 B.2.3): 0x0000 success;
 * 0xB000 coercion of data elements, 0xB007 data set does not match SOP
 * class, 0xB006 elements discarded (warnings: stored); 0xA7xx out of
 * resources, 0xA9xx data set does not match SOP class, 0xCxxx cannot
 * understand (failures: not stored).  comment becomes the Error Comment
 * (0000,0902) of the response when not empty (LO: at most 64 characters,
 * default repertoire; longer text is cut). */
typedef struct pacs_ingest_result {
	uint16_t status;
	char comment[PACS_DIMSE_COMMENT_MAX + 1];
} pacs_ingest_result;

typedef struct pacs_ingest_ops {
	int (*begin)(void *ctx, const pacs_ingest_info *info, void **txn);
	int (*bulk)(void *txn, const pacs_bulk_event *ev);
	int (*commit)(void *txn, pacs_ds *metadata, pacs_ingest_result *res);
	void (*abort)(void *txn);
} pacs_ingest_ops;

/* An implementation: its operations and their context (both borrowed by
 * the server; they must outlive it). */
typedef struct pacs_ingest {
	const pacs_ingest_ops *ops;
	void *ctx;
} pacs_ingest;

/* Copies text into res->comment, cut to 64 characters, characters outside
 * the default repertoire (and backslash, the LO value delimiter) shown
 * as '?'. */
void pacs_ingest_set_comment(pacs_ingest_result *res, const char *text);

#endif
