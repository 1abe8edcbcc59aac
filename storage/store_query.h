/* store_query.h - the Query/Retrieve interface (pacs/pacs_query.h)
 * implemented on the index (store_index.h) and, for retrieval, the chunk
 * store's read path (store_instance.h): what the C-FIND, C-GET and C-MOVE
 * SCPs ask, answered from the index alone for C-FIND (design.md 3.2: no
 * instance is read to answer a query).
 *
 * Response identifiers (PS3.4 C.4.1.1.3.2, C.4.1.2.3): every element of
 * the query identifier comes back in its order; keys the index holds at
 * the query level or above carry the matched row's value (UTF-8, as the
 * index holds them), every other key is returned empty (sequences with no
 * item: sequence matching is not performed).  Added to each response:
 * Query/Retrieve Level, Retrieve AE Title (our AE title) and Instance
 * Availability ONLINE; Specific Character Set (0008,0005) is "ISO_IR 192"
 * when a value is not ASCII, else as the query had it (empty). */
#ifndef STORE_QUERY_H
#define STORE_QUERY_H

#include "pacs_query.h"
#include "store_cas.h"
#include "store_index.h"

typedef struct store_query store_query;

/* idx is borrowed (it must outlive the store_query); cas is borrowed and
 * may be NULL: write_instance then reads the files backend
 * (store_query_set_files_root), or fails ARCA_EUNSUPPORTED when neither
 * is set (store_query_read.c).  ae_title is copied: the Retrieve AE
 * Title of responses.  *out is the caller's (store_query_free). */
int store_query_new(store_query **out, store_index *idx, store_cas *cas, const char *ae_title);
/* Retrieval from the interim files backend ([storage] backend = files):
 * instances are read from INSTANCES/<study>/<series>/<sop>.dcm (the path
 * store_ingest_files writes).  Copied. */
int store_query_set_files_root(store_query *sq, const char *instances);

/* Accepts NULL. */
void store_query_free(store_query *sq);

/* Fills *out with the operations and sq as their context (borrowed). */
void store_query_interface(store_query *sq, pacs_query *out);

#endif
