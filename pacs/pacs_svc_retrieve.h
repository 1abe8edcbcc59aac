/* pacs_svc_retrieve.h - internal to pacs/: what C-GET (pacs_svc_get.c) and
 * C-MOVE (pacs_svc_move.c) share (pacs_svc_retrieve.c): the identifier
 * and its unique keys (PS3.4 C.4.2.2.1, C.4.3.2.1), the instance list from
 * the query interface, the sub-operation counts, the final response with
 * its Failed SOP Instance UID List, and the record of the access.
 *
 * The instance list is read whole on a worker before the first
 * sub-operation (pacs_query_item, about 400 bytes an instance): the
 * responses need Number of Remaining Sub-operations from the start, and a
 * count above 65535 (the counts are US) is refused 0xA701 before any
 * sub-operation. */
#ifndef PACS_SVC_RETRIEVE_H
#define PACS_SVC_RETRIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_buf.h"
#include "pacs_query.h"
#include "pacs_read.h"
#include "pacs_svc.h"
#include "pacs_workq.h"

/* One retrieve request's shared state; the first member of the service's
 * own state (op->svc_data points to it). */
typedef struct pacs_retr {
	bool is_move;
	pacs_svc_qr qr;              /* identifier, failure to answer at once */
	enum pacs_query_model model;
	enum pacs_query_level level;
	pacs_query_item *items;
	size_t n_items, next_item, n_studies;
	uint16_t completed, n_failed, warning;
	char *failed_uids;           /* backslash-separated (0008,0058) */
	size_t failed_len, failed_cap;
	int job_rc;
	char job_msg[256];
} pacs_retr;

/* The C-GET/C-MOVE SOP classes (PS3.4 C.6.1.3, C.6.2.3). */
#define PACS_SVC_PATIENT_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.1.2"
#define PACS_SVC_PATIENT_ROOT_GET "1.2.840.10008.5.1.4.1.2.1.3"
#define PACS_SVC_STUDY_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.2.2"
#define PACS_SVC_STUDY_ROOT_GET "1.2.840.10008.5.1.4.1.2.2.3"

/* start/data halves: the SOP class checked, the identifier read. */
int pacs_svc__retr_start(pacs_op *op, pacs_retr *r);
int pacs_svc__retr_data(pacs_op *op, pacs_retr *r, const uint8_t *bytes, size_t len, bool last);
/* The identifier's level and unique keys; false with the failure set. */
bool pacs_svc__retr_check(pacs_op *op, pacs_retr *r);
void pacs_svc__retr_fail(pacs_retr *r, uint16_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Worker thread: lists the instances (r->items); 0 or the error, kept in
 * job_rc/job_msg. */
int pacs_svc__retr_list(pacs_op *op, pacs_retr *r);
/* A sub-operation ended with this C-STORE status (or failed locally with
 * PACS_DIMSE_OUT_OF_RESOURCES_SUBOPS); counts it, next_item++. */
void pacs_svc__retr_count(pacs_retr *r, uint16_t status);
/* Pending response with the counts (PS3.4 C.4.2.1.5, C.4.3.1.4). */
int pacs_svc__retr_pending(pacs_op *op, pacs_retr *r);
/* The final response: FE00 when cancelled, else 0000, B000 or A702 from
 * the counts; Failed SOP Instance UID List when any failed; then the
 * audit record.  dest: the C-MOVE destination, or NULL. */
void pacs_svc__retr_final(pacs_op *op, pacs_retr *r, bool cancelled, const char *dest);
/* A refusal before any sub-operation (status, comment), audited too. */
void pacs_svc__retr_refuse(pacs_op *op, pacs_retr *r, uint16_t status, const char *comment, const char *dest);
void pacs_svc__retr_release(pacs_retr *r);
/* How well an instance stored in `from` goes out in `to`: 3 as stored, 2
 * to a native syntax (the writer, or pacs_transcode decoding the pixel
 * data), 1 to RLE Lossless or JPEG 2000 (pacs_transcode's lossless
 * encoders), 0 not at all.  A decoder or encoder may still refuse the
 * instance (bit depth, an unknown codec): then its sub-operation fails. */
int pacs_svc__retr_ts_rank(const char *from, const char *to);

/* Read-ahead (pacs_svc_retrieve_read.c): instances produced on the worker
 * pool before their turn, in parallel with the op's own job, so that a
 * retrieve uses more than one core.  At most PACS_RETR_READ_AHEAD
 * instances are held by the reader, each at most PACS_RETR_READ_AHEAD_MAX
 * bytes as stored (larger ones are only read at their turn). */
#define PACS_RETR_READ_AHEAD 2u
#define PACS_RETR_READ_AHEAD_MAX ((uint64_t)16 << 20)

typedef struct pacs_retr_reader pacs_retr_reader;

/* Loop thread.  wq and q are borrowed (the server's; q outlives it).
 * *out is released with pacs_svc__reader_release. */
int pacs_svc__reader_new(pacs_retr_reader **out, pacs_workq *wq, const pacs_query *q);
/* Loop thread: queue the read of item (list index `index`) in transfer
 * syntax ts; item is copied.  false when not queued (too large, no free
 * slot, pool busy): the instance is then read at its turn. */
bool pacs_svc__reader_request(pacs_retr_reader *r, size_t index, const pacs_query_item *item, const char *ts);
/* Worker thread (the op's job): the data set of item `index` in ts into
 * data (reset first): taken from its slot when it was read ahead in ts
 * (waiting for a running read; reading a queued one here), else read now.
 * Returns write_instance's value; msg gets its error. */
int pacs_svc__reader_take(pacs_retr_reader *r, size_t index, const pacs_query_item *item, const char *ts,
			  pacs_buf *data, char *msg, size_t msg_size);
/* Loop thread, no job of the op running: the op lets go; queued and
 * finished reads are dropped, a running one ends on its own.  Accepts
 * NULL. */
void pacs_svc__reader_release(pacs_retr_reader *r);

/* The record of one retrieve (issue 6 item 6): handed to the provenance
 * chain's event interface when it lands; until then one log line at INFO:
 * who (calling AE, address), what (the first study and how many, the
 * instance count), to where (the C-MOVE destination, or the requestor for
 * C-GET), and the outcome (status and counts). */
typedef struct pacs_svc_retrieve_event {
	const char *service;          /* "C-GET" or "C-MOVE" */
	const char *destination;      /* AE title the instances went to */
	const char *study_uid;        /* the first study retrieved, or "" */
	size_t n_studies;
	size_t n_instances;           /* selected */
	uint16_t completed, failed, warning;
	uint16_t status;              /* final status */
	/* the name of the User Identity (PS3.7 D.3.3.7) the association's
	 * identity check accepted, or "": the requesting user of PS3.15
	 * A.5.3.7's active participant */
	const char *user;
} pacs_svc_retrieve_event;

void pacs_svc_retrieve_audit(pacs_conn *c, const pacs_svc_retrieve_event *ev);

#endif
