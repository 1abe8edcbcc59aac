/* arca_event.h - provenance events recorded by `arca` commands (issue 5
 * item 6): import, export, quarantine release and drop, verify results,
 * key changes.  arcad records its own (arcad_chain.h); a command run while
 * arcad holds the log's writer lock hands its event to arcad instead
 * (see arca_event.c). */
#ifndef ARCA_EVENT_H
#define ARCA_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arca_conf.h"
#include "chain_entry.h"

/* Records one event on this node's log.  e holds the event's members; this
 * fills index, node, time_ms (now, when 0) and, when patient_id is not
 * NULL, the patient pseudonym from issuer (may be NULL) and patient_id
 * under the consortium key; actor_user defaults to the login name when
 * neither actor is set (it is not left pointing at anything of this
 * call's).  On 0, *durable (may be NULL) says whether the entry is on the
 * log, appended by this command or by the running arcad through its spool
 * within 10 s (true), or left in the spool for arcad to append later
 * (false).  An archive without a node key records nothing and returns 0
 * with *durable false.  A key change is refused (ARCA_EINVAL): only
 * `arca node rotate-key` records one. */
int arca_event_record(const arca_conf *conf, chain_entry *e, const char *patient_id, const char *issuer,
		      bool *durable);

/* As arca_event_record; *index (may be NULL) is the entry's log index
 * when this command appended it itself, ARCA_EVENT_SPOOLED when it went
 * through the running arcad's spool (arca_spool.h), which does not report
 * the index back. */
#define ARCA_EVENT_SPOOLED UINT64_MAX
int arca_event_record_index(const arca_conf *conf, chain_entry *e, const char *patient_id, const char *issuer,
			    bool *durable, uint64_t *index);

/* Several events of one command (an import of many studies): the log is
 * opened (its whole tree read) once, or arcad found running once, the
 * events appended or spooled as they come, and flushed or waited for
 * once, at close.  arca_event_record is open, add, close.  While a batch
 * holds the log, arcad cannot start: keep it short. */
typedef struct arca_event_batch arca_event_batch;

/* *out is the caller's, ended by arca_event_batch_close (also on error). */
int arca_event_batch_open(arca_event_batch **out, const arca_conf *conf);
/* e as for arca_event_record; *index (may be NULL) as for
 * arca_event_record_index, but the entry is durable only after close. */
int arca_event_batch_add(arca_event_batch *b, chain_entry *e, const char *patient_id, const char *issuer,
			 uint64_t *index);
/* Flushes (or waits, bounded, for arcad to append) every event added;
 * *durable (may be NULL) true when all are on the log.  Frees b (NULL is
 * fine). */
int arca_event_batch_close(arca_event_batch *b, bool *durable);

/* The actor an event of this command gets when it names none: the login
 * name (or the effective user's name, or "uid N"). */
void arca_event_user(char *buf, size_t size);

#endif
