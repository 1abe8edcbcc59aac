/* arca_verify_chain.h - the study hashes on the provenance chain checked
 * against the store (issue 5: "arca chain verify ... every study hash
 * against the store"), shared by `arca verify` and `arca chain verify`.
 *
 * A study's hash on the chain is the one of its latest store event: the
 * latest entry that names the study, carries a study hash and records a
 * creation or an update (action C or U: arcad's DCM 110104 store events,
 * imports, quarantine releases).  A later Study Deleted (DCM 110105)
 * entry means the study is expected to be gone.  The store's side is the
 * study hash recomputed by storage/store_verify.h from the instances
 * rebuilt and re-hashed. */
#ifndef ARCA_VERIFY_CHAIN_H
#define ARCA_VERIFY_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arca_cmd_chain.h"
#include "chain_log.h"
#include "store_verify.h"

/* The log's own integrity, as `arca chain verify` checks it
 * (chain_log_verify_repo: every entry, link, checkpoint and signature),
 * after checking that ROOT/keys/node.pub is node.key's public half unless
 * key_given.  0 intact (stats filled), 1 a fault (fault gets the line),
 * 2 the check could not run (fault says why). */
int arca_chain_verify_log(const arca_chain_ctx *ctx, bool key_given, chain_log_stats *stats, char *fault,
			  size_t size);

typedef struct arca_chain_studies arca_chain_studies;

/* Reads every entry of the view (v NULL: an empty log).  *out is the
 * caller's (arca_chain_studies_free). */
int arca_chain_studies_load(arca_chain_studies **out, chain_log_view *v);
void arca_chain_studies_free(arca_chain_studies *cs);
/* Studies with a store event (deleted ones included). */
size_t arca_chain_studies_count(const arca_chain_studies *cs);

typedef enum arca_study_verdict {
	ARCA_STUDY_OK = 0,        /* the recomputed hash is the latest store event's */
	ARCA_STUDY_NOT_ON_CHAIN,  /* no store event names it (warning) */
	ARCA_STUDY_CHAIN_BEHIND,  /* the event covers the first N instances the index received, all
				   * intact; the others were indexed without a durable event (arcad
				   * stopped between its index commit and the chain append): warning */
	ARCA_STUDY_MISMATCH,      /* fault: the store does not hold what the chain recorded */
	ARCA_STUDY_DAMAGED,       /* fault: instances of it cannot be rebuilt intact */
	ARCA_STUDY_DELETED        /* fault: the chain recorded its deletion, the index still has it */
} arca_study_verdict;

/* Compares one study (from the verify's study callback) with the chain;
 * msg gets one line saying what was found, *entry the chain entry's index
 * (UINT64_MAX when none).  The study is marked seen. */
arca_study_verdict arca_chain_studies_check(arca_chain_studies *cs, const store_verify_study *s, char *msg,
					    size_t size, uint64_t *entry);

/* Each study the chain holds (and did not delete) that no check saw: in
 * the chain's store events, missing from the index. */
typedef void (*arca_chain_unseen_fn)(void *ctx, const char *study, uint64_t entry, uint32_t instances);
void arca_chain_studies_unseen(const arca_chain_studies *cs, arca_chain_unseen_fn fn, void *ctx);

/* Only the study uid: marks every other study seen (`arca verify --study`). */
void arca_chain_studies_only(arca_chain_studies *cs, const char *uid);

/* Static: "ok", "not on the chain", ... */
const char *arca_study_verdict_name(arca_study_verdict v);

#endif
