/* store_query_priv.h - internal to storage/: the query interface object,
 * shared by store_query.c (finding, listing) and the read path of
 * retrieval. */
#ifndef STORE_QUERY_PRIV_H
#define STORE_QUERY_PRIV_H

#include "store_query.h"

struct store_query {
	store_index *idx;     /* borrowed */
	store_cas *cas;       /* borrowed; NULL: no retrieval */
	char ae_title[17];
	/* the interim files backend: ROOT/instances, or "" (store_query_read.c) */
	char files_root[4096];
};

/* pacs_query_ops.write_instance (store_query_read.c). */
int store_query__write_instance(void *ctx, const pacs_query_item *item, const char *ts, pacs_sink_fn sink,
				void *sink_ctx);

#endif
