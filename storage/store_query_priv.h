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
};

#endif
