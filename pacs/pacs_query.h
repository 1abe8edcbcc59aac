/* pacs_query.h - the interface through which the Query/Retrieve SCPs
 * (pacs_svc_find.c, pacs_svc_get.c, pacs_svc_move.c) ask storage what the
 * archive holds (design.md 3.2), so that pacs/ never sees SQL: what the
 * services call and what the storage layer implements (store_query.h).
 *
 * Finding (C-FIND, PS3.4 C.4.1):
 *
 *   open   WORKER thread: parses the identifier (its values decoded from
 *          its Specific Character Set to UTF-8) and starts the matching at
 *          level in model; returns a cursor.  The identifier is borrowed
 *          for the call.  Errors: ARCA_EINVAL for a value that cannot be
 *          matched (a malformed date range, a wildcard in a UID), with the
 *          reason (the SCP answers 0xC000 with it as Error Comment).
 *   next   WORKER thread: the next match as a response identifier (*result,
 *          the caller's: pacs_ds_free), or NULL at the end.  A response
 *          holds every key the identifier asked for, in its order: filled
 *          when storage knows the key at this level or above, empty
 *          otherwise (sequences: present, no item); plus Query/Retrieve
 *          Level, Retrieve AE Title (ours) and Instance Availability
 *          (ONLINE), and Specific Character Set "ISO_IR 192" when a value
 *          is not ASCII (values are UTF-8).  ARCA_ELIMIT when the limit
 *          given to open was reached and another match exists (every match
 *          before it was delivered).
 *   close  any thread: ends the cursor (accepts NULL).
 *
 * The matches stream: storage never holds the whole result set.  A cursor
 * is used by one thread at a time (the service's jobs run one after the
 * other); cursors of different associations run concurrently.
 *
 * Retrieving (C-GET, C-MOVE, PS3.4 C.4.2, C.4.3): list_open / list_next /
 * list_close enumerate the instances an identifier selects (unique keys
 * down to the level), and write_instance produces one instance's data set
 * for a C-STORE sub-operation.  Both run on worker threads.
 *
 * Return values: 0, or a negative ARCA_E* code with the message set. */
#ifndef PACS_QUERY_H
#define PACS_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "pacs_dimse.h"
#include "pacs_ds.h"
#include "pacs_write.h"

/* Information models (PS3.4 C.6.1, C.6.2). */
enum pacs_query_model {
	PACS_QUERY_PATIENT_ROOT = 0,
	PACS_QUERY_STUDY_ROOT = 1
};

/* Query/Retrieve levels, top down (PS3.4 C.6). */
enum pacs_query_level {
	PACS_QUERY_PATIENT = 0,
	PACS_QUERY_STUDY = 1,
	PACS_QUERY_SERIES = 2,
	PACS_QUERY_IMAGE = 3
};

/* One instance selected for retrieval. */
typedef struct pacs_query_item {
	char sop_class_uid[PACS_DIMSE_UID_MAX + 1];
	char sop_instance_uid[PACS_DIMSE_UID_MAX + 1];
	char transfer_syntax[PACS_DIMSE_UID_MAX + 1]; /* as stored */
	char study_instance_uid[PACS_DIMSE_UID_MAX + 1];
	char series_instance_uid[PACS_DIMSE_UID_MAX + 1];
	uint64_t size;                                /* bytes stored (Part 10) */
	uint8_t manifest[32];                         /* storage's address of it */
} pacs_query_item;

typedef struct pacs_query_ops {
	int (*open)(void *ctx, enum pacs_query_model model, enum pacs_query_level level,
		    const pacs_ds *identifier, uint64_t limit, void **cursor);
	int (*next)(void *cursor, pacs_ds **result);
	void (*close)(void *cursor);

	/* Retrieval; NULL when storage cannot read instances back. */
	int (*list_open)(void *ctx, enum pacs_query_model model, enum pacs_query_level level,
			 const pacs_ds *identifier, void **cursor);
	/* *has false at the end. */
	int (*list_next)(void *cursor, pacs_query_item *item, bool *has);
	void (*list_close)(void *cursor);
	/* Writes the data set of item (no File Meta Information) to sink in
	 * transfer syntax ts (its stored one when ts is NULL).
	 * ARCA_EUNSUPPORTED, before anything is written, when it cannot be
	 * converted to ts. */
	int (*write_instance)(void *ctx, const pacs_query_item *item, const char *ts, pacs_sink_fn sink,
			      void *sink_ctx);
} pacs_query_ops;

/* An implementation: its operations and their context (both borrowed by
 * the server; they must outlive it). */
typedef struct pacs_query {
	const pacs_query_ops *ops;
	void *ctx;
} pacs_query;

/* "PATIENT", "STUDY", "SERIES", "IMAGE"; static. */
const char *pacs_query_level_name(enum pacs_query_level level);

/* Parses a Query/Retrieve Level (0008,0052) value (padding ignored).
 * ARCA_EINVAL for anything else. */
int pacs_query_level_parse(const char *value, enum pacs_query_level *out);

#endif
