/* chain_entry.h - one event of a node's provenance log, and its canonical
 * encoding (design 3.3, docs/chain-format.md section 6).
 *
 * An entry says what happened to which images, when, by whom, with what
 * outcome and why, in the vocabulary of DICOM audit messages (PS3.15 A.5,
 * the event codes of PS3.16 CID 400), so that a log maps one to one onto
 * IHE ATNA and FHIR AuditEvent records.  It never names a patient: the
 * patient is a keyed pseudonym (chain_pseudonym.h).
 *
 * The encoding is canonical JSON: one object, members in byte order of
 * their names, no whitespace, integers only, strings escaped only where
 * JSON requires it ("\"" and "\\"; control characters are not allowed in
 * any value).  It is a subset of RFC 8785 (JSON Canonicalization Scheme),
 * so any JCS implementation reproduces the bytes, and an auditor reads
 * them.  Every entry has exactly one byte sequence: the parser refuses
 * anything the encoder would not have written (other member order,
 * whitespace, escapes, number spellings, unknown members, values out of
 * range), so that the Merkle leaf of an entry is a function of its value.
 *
 * Entries come from peers when logs are replicated: the parser is bounded
 * (CHAIN_ENTRY_MAX_LEN) and strict, and never trusts a length or count it
 * reads. */
#ifndef CHAIN_ENTRY_H
#define CHAIN_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain_hash.h"

/* The version written in every entry ("v"); parsers refuse others. */
#define CHAIN_ENTRY_VERSION 1

/* Limits (bytes, without a terminating NUL). */
#define CHAIN_ENTRY_MAX_LEN 65536      /* a whole encoded entry */
#define CHAIN_ENTRY_NODE_MAX 64        /* node names (also git ref and key names) */
#define CHAIN_ENTRY_AE_MAX 16          /* PS3.5 6.2 AE: 16 characters */
#define CHAIN_ENTRY_UID_MAX 64         /* PS3.5 9.1 UID: 64 characters */
#define CHAIN_ENTRY_TEXT_MAX 128       /* user identity, peer */
#define CHAIN_ENTRY_TOKEN_MAX 64       /* purpose of use, de-identification profile */
/* Largest log index an entry may carry (10^12 - 1): index ranges in the
 * git layout are 12 decimal digits (docs/chain-format.md 7). */
#define CHAIN_ENTRY_MAX_INDEX UINT64_C(999999999999)
/* Largest number any member holds (2^53 - 1, exact in every JSON reader). */
#define CHAIN_ENTRY_MAX_NUMBER UINT64_C(9007199254740991)

/* Event type.  The DICOM ones are PS3.16 CID 400 "Audit Event ID" codes
 * (coding scheme DCM), used by PS3.15 A.5.3; their value here is the code
 * value, written "DCM:<code>".  arca's own events have no DICOM code and
 * are written "arca:<name>" (small values below). */
typedef enum chain_event {
	CHAIN_EVENT_CONSENT_GRANT = 1,      /* arca:consent-grant */
	CHAIN_EVENT_CONSENT_REVOKE = 2,     /* arca:consent-revoke */
	CHAIN_EVENT_QUARANTINE_RELEASE = 3, /* arca:quarantine-release */
	CHAIN_EVENT_QUARANTINE_DROP = 4,    /* arca:quarantine-drop */
	CHAIN_EVENT_VERIFY = 5,             /* arca:verify (an `arca verify` result) */
	CHAIN_EVENT_KEY_CHANGE = 6,         /* arca:key-change (`arca node rotate-key`) */
	CHAIN_EVENT_APPLICATION_ACTIVITY = 110100,
	CHAIN_EVENT_AUDIT_LOG_USED = 110101,
	CHAIN_EVENT_BEGIN_TRANSFERRING = 110102,
	CHAIN_EVENT_INSTANCES_ACCESSED = 110103,
	CHAIN_EVENT_INSTANCES_TRANSFERRED = 110104,
	CHAIN_EVENT_STUDY_DELETED = 110105,
	CHAIN_EVENT_EXPORT = 110106,
	CHAIN_EVENT_IMPORT = 110107,
	CHAIN_EVENT_NETWORK_ENTRY = 110108,
	CHAIN_EVENT_ORDER_RECORD = 110109,
	CHAIN_EVENT_PATIENT_RECORD = 110110,
	CHAIN_EVENT_PROCEDURE_RECORD = 110111,
	CHAIN_EVENT_QUERY = 110112,
	CHAIN_EVENT_SECURITY_ALERT = 110113,
	CHAIN_EVENT_USER_AUTHENTICATION = 110114
} chain_event;

/* Event Action Code (PS3.15 A.5.1, from RFC 3881): Create, Read, Update,
 * Delete, Execute. */
#define CHAIN_ACTION_CREATE 'C'
#define CHAIN_ACTION_READ 'R'
#define CHAIN_ACTION_UPDATE 'U'
#define CHAIN_ACTION_DELETE 'D'
#define CHAIN_ACTION_EXECUTE 'E'

/* Event Outcome Indicator (PS3.15 A.5.1, from RFC 3881). */
#define CHAIN_OUTCOME_SUCCESS 0
#define CHAIN_OUTCOME_MINOR_FAILURE 4
#define CHAIN_OUTCOME_SERIOUS_FAILURE 8
#define CHAIN_OUTCOME_MAJOR_FAILURE 12

/* What a consent grants (design 3.3). */
typedef enum chain_permission {
	CHAIN_PERMISSION_VIEW = 1,
	CHAIN_PERMISSION_DOWNLOAD = 2
} chain_permission;

/* One series of the object: its UID, its hash (hex SHA-256 on the log)
 * and how many of its instances the event concerns. */
typedef struct chain_series_ref {
	const char *uid;
	uint8_t hash[CHAIN_HASH_LEN];
	uint32_t instances;
} chain_series_ref;

/* A consent grant or revocation (events CHAIN_EVENT_CONSENT_*). */
typedef struct chain_consent {
	const char *grantee;            /* node name */
	chain_permission permission;
	int64_t expires_ms;             /* 0: does not expire */
	const char *deid;               /* de-identification profile token, or NULL */
} chain_consent;

/* What a Query event (CHAIN_EVENT_QUERY, DCM:110112) counts: the C-FIND
 * requests it stands for (1 for one query, more for an association's
 * summary) and the matches they returned.  Never the query keys: they may
 * hold a patient's name. */
typedef struct chain_query {
	uint32_t requests;              /* at least 1 */
	uint64_t matches;               /* at most 2^53 - 1 */
} chain_query;

/* A node key change (CHAIN_EVENT_KEY_CHANGE, docs/chain-format.md 10): the
 * key that signed the log's checkpoints up to the one that covers this
 * entry, and the key that signs every later one.  Each as its raw 32-byte
 * Ed25519 public key, so that the log alone says which key verifies which
 * checkpoint, and its fingerprint (SHA-256 of those bytes,
 * chain_key_fingerprint), which is what people compare; the two must agree. */
typedef struct chain_key_change {
	uint8_t old_fp[CHAIN_HASH_LEN];
	uint8_t old_public[32];
	uint8_t new_fp[CHAIN_HASH_LEN];
	uint8_t new_public[32];
} chain_key_change;

/* An entry's value.  Every pointer is borrowed (the caller's when
 * encoding; the entry's own allocation when it came from
 * chain_entry_parse).  Optional members are NULL / false / 0 when absent.
 * Strings are UTF-8 without control characters, within the limits above;
 * AE titles and UIDs follow their PS3.5 value representations. */
typedef struct chain_entry {
	uint64_t index;                 /* position in the log, from 0 */
	int64_t time_ms;                /* UTC, ms since 1970, before year 10000 */
	const char *node;               /* the node whose log this is */
	chain_event event;
	uint32_t subtype;               /* 0, or a DCM code (e.g. 110122 Login) */
	char action;                    /* CHAIN_ACTION_* */
	uint8_t outcome;                /* CHAIN_OUTCOME_* */
	const char *actor_ae;           /* calling AE title; at least one of */
	const char *actor_user;         /* ... these two is set */
	/* The object: present when study_uid is set. */
	const char *study_uid;
	bool has_study_hash;
	uint8_t study_hash[CHAIN_HASH_LEN];
	uint32_t instances;             /* number of instances concerned */
	const chain_series_ref *series; /* sorted by UID, no duplicates */
	size_t n_series;
	const uint8_t (*instance_hashes)[CHAIN_HASH_LEN];
	size_t n_instance_hashes;
	/* The patient as a keyed pseudonym (chain_pseudonym.h), never more. */
	bool has_patient;
	uint8_t patient[CHAIN_HASH_LEN];
	const char *purpose;            /* purpose of use, e.g. HL7 "TREAT" */
	const char *peer;               /* other party: destination AE, source, node */
	const chain_consent *consent;   /* required for consent events only */
	const chain_query *query;       /* Query events only (optional there) */
	const chain_key_change *key;    /* required for key-change events only */
} chain_entry;

/* The canonical bytes of e: *out (NUL-terminated, *len bytes without the
 * NUL, never containing a newline) is the caller's, freed with free().
 * ARCA_EINVAL names the first member out of its rules, ARCA_ELIMIT if the
 * entry would exceed CHAIN_ENTRY_MAX_LEN. */
int chain_entry_encode(const chain_entry *e, char **out, size_t *len);

/* The entry's canonical bytes without its "index" member (e->index is
 * ignored): what a command hands to arcad's spool before the log gives the
 * entry its index (docs/chain-format.md 9).  Otherwise as
 * chain_entry_encode. */
int chain_entry_encode_unindexed(const chain_entry *e, char **out, size_t *len);

/* 0 if e would encode, else what chain_entry_encode would return. */
int chain_entry_check(const chain_entry *e);

/* Parses canonical bytes.  *out is the caller's, one allocation freed with
 * chain_entry_free(); its pointers point into it.  ARCA_ELIMIT past
 * CHAIN_ENTRY_MAX_LEN; ARCA_EPROTO for anything else the encoder would not
 * have written, saying what (a byte offset where one is known). */
int chain_entry_parse(chain_entry **out, const void *bytes, size_t len);

/* Parses what chain_entry_encode_unindexed writes, as strictly as
 * chain_entry_parse (an "index" member is refused); the entry's index is 0. */
int chain_entry_parse_unindexed(chain_entry **out, const void *bytes, size_t len);

/* Frees an entry from chain_entry_parse (only those); NULL is fine. */
void chain_entry_free(chain_entry *e);

/* Borrowed, static: "DCM:110104", "arca:consent-grant"; NULL if unknown. */
const char *chain_event_code(chain_event event);
/* Borrowed, static: "DICOM Instances Transferred", ...; NULL if unknown. */
const char *chain_event_name(chain_event event);

/* RFC 3339 UTC with milliseconds, "2025-01-02T03:04:05.678Z" (24 chars
 * and a NUL).  ARCA_EINVAL outside years 1970..9999. */
#define CHAIN_TIME_LEN 25
int chain_time_format(int64_t ms, char out[CHAIN_TIME_LEN]);
/* The exact inverse: only that one form, a real calendar date, no leap
 * second.  ARCA_EPROTO otherwise. */
int chain_time_parse(const char *s, size_t len, int64_t *ms);

/* 0 if name is a valid node name: 1..CHAIN_ENTRY_NODE_MAX characters of
 * A-Z a-z 0-9 . _ - and /, in '/'-separated components that are non-empty,
 * do not start with '.' and do not end with ".lock".  Such a name is a
 * valid git ref component sequence and a valid signed-note key name, so
 * one name serves as the log's ref, its checkpoint origin and its key
 * name.  ARCA_EINVAL (saying why) if not. */
int chain_node_name_check(const char *name);

#endif
