/* arcad_chain.h - arcad's provenance chain events (issue 5 item 6): a
 * store event per study and batch, durable before the C-STOREs of the
 * batch are answered (design.md 3.1 step 5), a retrieve event per C-GET or
 * C-MOVE, Query events per [chain] query_events, and the events `arca`
 * commands hand over through the spool (arca_spool.h) while arcad holds
 * the log. */
#ifndef ARCAD_CHAIN_H
#define ARCAD_CHAIN_H

#include <stddef.h>

struct ev_loop;

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
 * last of them is durable, and then clears the studies' outbox marks
 * (store_index_pending_done). */
int arcad_chain_store_batch(void *ctx, store_index *idx, store_index_instance *const *batch,
			    const store_index_put_result *results, size_t n);

/* The chain outbox (store_index.h): for every study idx marks as owed a
 * store event (a run stopped between an index commit and the durable
 * event), one store event with the study's current hash, waited for, then
 * the marks cleared.  A study that fails keeps its mark (warning logged)
 * for the next start.  Call after opening the index with
 * store_index_pending_track on, before accepting associations. */
int arcad_chain_resolve_pending(arcad_chain *ch, store_index *idx);

/* pacs_server_retrieve_fn: one retrieve event, not waited for. */
void arcad_chain_retrieve(void *ctx, const char *calling_ae, const struct pacs_svc_retrieve_event *ev);

/* pacs_server_query_fn and pacs_server_assoc_end_fn (loop thread): with
 * query_events = every, one Query event per C-FIND; with summary, the
 * association's C-FINDs are counted and one Query event is appended when
 * it ends; with off, nothing.  The actor is the calling AE and, when
 * [access] users accepted a User Identity, its user name.  Not waited
 * for. */
void arcad_chain_query(void *ctx, const pacs_server_query_event *ev);
void arcad_chain_assoc_end(void *ctx, uint64_t assoc_id, const char *calling_ae, const char *user);

/* Takes the spool's lock (arca_spool.h), appends what the spool holds,
 * then watches ROOT/chain/spool on loop (inotify through an ev_io, and a
 * one-second timer for what inotify cannot see; every 100 ms without
 * inotify) and appends each event a command spools; a file is removed once its entry is durable, a malformed one is
 * set aside with a warning.  Loop thread. */
int arcad_chain_spool_start(arcad_chain *ch, struct ev_loop *loop);

/* Stops the watchers (before arcad_chain_close); NULL is fine. */
void arcad_chain_spool_stop(arcad_chain *ch);

#endif
