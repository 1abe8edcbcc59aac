/* arcad_chain.h - arcad's provenance chain events (issue 5 item 6): a
 * store event per study and batch, durable before the C-STOREs of the
 * batch are answered (design.md 3.1 step 5), and a retrieve event per
 * C-GET or C-MOVE. */
#ifndef ARCAD_CHAIN_H
#define ARCAD_CHAIN_H

#include <stddef.h>

#include "arca_conf.h"
#include "pacs_server.h"
#include "store_index.h"

typedef struct arcad_chain arcad_chain;

/* Opens ROOT/chain/log.git as conf->node's writer with the node key
 * (background flusher, 1000 entries or 20 ms per batch).  An archive
 * without ROOT/keys/node.key gets one warning through log and *out NULL:
 * arcad then runs without chain events.  conf and log must outlive the
 * chain. */
int arcad_chain_open(arcad_chain **out, const arca_conf *conf, pacs_server_log_fn log);

/* Flushes what is queued, closes the log.  NULL is fine. */
int arcad_chain_close(arcad_chain *ch);

/* store_ingest_cas_batch_fn: for each study that an instance of the batch
 * added to (new instance or new version), the study hash over all of its
 * current instances in the index and one store event; returns when the
 * last of them is durable. */
int arcad_chain_store_batch(void *ctx, store_index *idx, store_index_instance *const *batch,
			    const store_index_put_result *results, size_t n);

/* pacs_server_retrieve_fn: one retrieve event, not waited for. */
void arcad_chain_retrieve(void *ctx, const char *calling_ae, const struct pacs_svc_retrieve_event *ev);

#endif
