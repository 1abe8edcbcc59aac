/* arca_cmd_chain_append.c - `arca chain append`: a maintenance command
 * that appends one event to the node's log by hand, with the node key.
 * arcad and the other commands write the real events (design 3.3); this
 * exists to record an event that happened outside arca, and to exercise
 * the chain commands end to end.  It records through arca_event_record:
 * directly when the log is free, through arcad's spool while arcad runs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_cmd.h"
#include "arca_cmd_chain.h"
#include "arca_err.h"
#include "arca_event.h"
#include "arca_node.h"
#include "arca_spool.h"
#include "chain_entry.h"

#define CMD "arca chain append"

/* Event names for the usual events, with the DICOM audit event (PS3.15
 * A.5.3) and action code each is recorded with. */
static const struct named_event {
	const char *name;
	chain_event event;
	char action;
} named_events[] = {
	{ "store", CHAIN_EVENT_INSTANCES_TRANSFERRED, CHAIN_ACTION_CREATE },
	{ "retrieve", CHAIN_EVENT_INSTANCES_TRANSFERRED, CHAIN_ACTION_READ },
	{ "access", CHAIN_EVENT_INSTANCES_ACCESSED, CHAIN_ACTION_READ },
	{ "query", CHAIN_EVENT_QUERY, CHAIN_ACTION_EXECUTE },
	{ "export", CHAIN_EVENT_EXPORT, CHAIN_ACTION_READ },
	{ "import", CHAIN_EVENT_IMPORT, CHAIN_ACTION_CREATE },
	{ "delete", CHAIN_EVENT_STUDY_DELETED, CHAIN_ACTION_DELETE },
	{ "quarantine-release", CHAIN_EVENT_QUARANTINE_RELEASE, CHAIN_ACTION_UPDATE },
	{ "quarantine-drop", CHAIN_EVENT_QUARANTINE_DROP, CHAIN_ACTION_DELETE },
	{ "verify", CHAIN_EVENT_VERIFY, CHAIN_ACTION_EXECUTE },
};

/* Every event chain_entry knows, for codes given as DCM:NNNNNN or arca:name. */
static const chain_event all_events[] = {
	CHAIN_EVENT_QUARANTINE_RELEASE, CHAIN_EVENT_QUARANTINE_DROP, CHAIN_EVENT_VERIFY,
	CHAIN_EVENT_APPLICATION_ACTIVITY, CHAIN_EVENT_AUDIT_LOG_USED, CHAIN_EVENT_BEGIN_TRANSFERRING,
	CHAIN_EVENT_INSTANCES_ACCESSED, CHAIN_EVENT_INSTANCES_TRANSFERRED, CHAIN_EVENT_STUDY_DELETED,
	CHAIN_EVENT_EXPORT, CHAIN_EVENT_IMPORT, CHAIN_EVENT_NETWORK_ENTRY, CHAIN_EVENT_ORDER_RECORD,
	CHAIN_EVENT_PATIENT_RECORD, CHAIN_EVENT_PROCEDURE_RECORD, CHAIN_EVENT_QUERY,
	CHAIN_EVENT_SECURITY_ALERT, CHAIN_EVENT_USER_AUTHENTICATION,
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca chain append --event EVENT [--root DIR] [--study UID]\n"
		"           [--study-hash HEX] [--instances N] [--ae AE] [--user NAME]\n"
		"           [--peer PEER] [--purpose TOKEN] [--outcome 0|4|8|12]\n"
		"           [--action C|R|U|D|E] [--time T] [--patient-id ID [--issuer I]]\n"
		"           [--count N]\n"
		"\n"
		"Maintenance: appends one event to this node's provenance log, signed with\n"
		"the node key: directly, or through the running arcad (its spool).\n"
		"\n"
		"  --event EVENT     store, retrieve, access, query, export, import, delete,\n"
		"                    quarantine-release, quarantine-drop, verify, or a code\n"
		"                    (DCM:110104, arca:verify)\n"
		"  --study UID       the study; --study-hash (64 hex digits) and\n"
		"                    --instances N (default 0) describe it\n"
		"  --ae AE           the actor's AE title (default: this archive's)\n"
		"  --user NAME       the actor's user identity\n"
		"  --peer PEER       the other party (destination AE, source, node)\n"
		"  --purpose TOKEN   purpose of use (e.g. TREAT)\n"
		"  --outcome N       0 success (default), 4, 8, 12 failures\n"
		"  --action X        event action code (default: the event's usual one)\n"
		"  --time T          when (UTC, as `arca chain log --since`; default now)\n"
		"  --patient-id ID   the patient, recorded only as the keyed pseudonym made\n"
		"                    with ROOT/keys/consortium.key (--issuer: its issuer)\n"
		"  --count N         record N such events as one batch (tests, benchmarks)\n"
		"  --help            print this help and exit\n");
}

static bool parse_event(const char *s, chain_event *event, char *action)
{
	for (size_t i = 0; i < sizeof(named_events) / sizeof(named_events[0]); i++)
		if (strcmp(s, named_events[i].name) == 0) {
			*event = named_events[i].event;
			*action = named_events[i].action;
			return true;
		}
	for (size_t i = 0; i < sizeof(all_events) / sizeof(all_events[0]); i++) {
		const char *code = chain_event_code(all_events[i]);
		if (code != NULL && strcmp(s, code) == 0) {
			*event = all_events[i];
			*action = CHAIN_ACTION_EXECUTE;
			return true;
		}
	}
	return false;
}

static bool parse_hex(const char *s, uint8_t out[CHAIN_HASH_LEN])
{
	if (strlen(s) != 2 * CHAIN_HASH_LEN)
		return false;
	for (size_t i = 0; i < 2 * CHAIN_HASH_LEN; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return false;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return true;
}

static bool parse_u32(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && *out <= max;
}

int arca_cmd_chain_append(int argc, char **argv)
{
	const char *root = NULL, *event_arg = NULL, *patient_id = NULL, *issuer = NULL;
	char action = 0, action_arg = 0, ps_path[PATH_MAX] = "";
	arca_event_batch *batch = NULL;
	unsigned long count = 1;
	bool durable = false;
	arca_chain_ctx ctx;
	chain_entry e;
	unsigned long n;
	uint64_t index = 0;
	int rc, status;

	memset(&e, 0, sizeof(e));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		}
		if (v == NULL)
			return arca_chain_bad_arg(CMD, argc, argv, i);
		i++;
		if (strcmp(a, "--root") == 0) {
			root = v;
		} else if (strcmp(a, "--event") == 0) {
			event_arg = v;
			if (!parse_event(v, &e.event, &action)) {
				fprintf(stderr, CMD ": --event '%s': not an event name or code; see `" CMD " --help`\n", v);
				return ARCA_EXIT_USAGE;
			}
		} else if (strcmp(a, "--study") == 0) {
			e.study_uid = v;
		} else if (strcmp(a, "--study-hash") == 0) {
			if (!parse_hex(v, e.study_hash)) {
				fprintf(stderr, CMD ": --study-hash '%s': expected 64 lower-case hex digits\n", v);
				return ARCA_EXIT_USAGE;
			}
			e.has_study_hash = true;
		} else if (strcmp(a, "--instances") == 0) {
			if (!parse_u32(v, UINT32_MAX, &n)) {
				fprintf(stderr, CMD ": --instances '%s': expected a count\n", v);
				return ARCA_EXIT_USAGE;
			}
			e.instances = (uint32_t)n;
		} else if (strcmp(a, "--ae") == 0) {
			e.actor_ae = v;
		} else if (strcmp(a, "--user") == 0) {
			e.actor_user = v;
		} else if (strcmp(a, "--peer") == 0) {
			e.peer = v;
		} else if (strcmp(a, "--purpose") == 0) {
			e.purpose = v;
		} else if (strcmp(a, "--outcome") == 0) {
			if (!parse_u32(v, 12, &n) || n % 4 != 0) {
				fprintf(stderr, CMD ": --outcome '%s': expected 0, 4, 8 or 12\n", v);
				return ARCA_EXIT_USAGE;
			}
			e.outcome = (uint8_t)n;
		} else if (strcmp(a, "--action") == 0) {
			if (strlen(v) != 1 || strchr("CRUDE", v[0]) == NULL) {
				fprintf(stderr, CMD ": --action '%s': expected C, R, U, D or E\n", v);
				return ARCA_EXIT_USAGE;
			}
			action_arg = v[0];
		} else if (strcmp(a, "--time") == 0) {
			if (!arca_chain_parse_time(v, &e.time_ms) || e.time_ms == 0) {
				fprintf(stderr, CMD ": --time '%s': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z (UTC)\n", v);
				return ARCA_EXIT_USAGE;
			}
		} else if (strcmp(a, "--count") == 0) {
			if (!parse_u32(v, 1000000, &n) || n == 0) {
				fprintf(stderr, CMD ": --count '%s': expected 1 to 1000000\n", v);
				return ARCA_EXIT_USAGE;
			}
			count = n;
		} else if (strcmp(a, "--patient-id") == 0) {
			patient_id = v;
		} else if (strcmp(a, "--issuer") == 0) {
			issuer = v;
		} else {
			return arca_chain_bad_arg(CMD, argc, argv, i - 1);
		}
	}
	if (event_arg == NULL) {
		fprintf(stderr, CMD ": --event is required; see `" CMD " --help`\n");
		return ARCA_EXIT_USAGE;
	}
	if (e.study_uid == NULL && (e.has_study_hash || e.instances != 0)) {
		fprintf(stderr, CMD ": --study-hash and --instances describe a --study\n");
		return ARCA_EXIT_USAGE;
	}
	e.action = action_arg != 0 ? action_arg : action;
	if ((status = arca_chain_ctx_open(&ctx, CMD, root, NULL, true)) != 0)
		return status;
	if (e.actor_ae == NULL && e.actor_user == NULL)
		e.actor_ae = ctx.conf.ae;
	if (patient_id != NULL &&
	    (arca_node_path(ps_path, sizeof(ps_path), ctx.root, ARCA_NODE_CONSORTIUM_FILE) < 0 ||
	     access(ps_path, F_OK) != 0)) {
		fprintf(stderr, CMD ": --patient-id: the archive has no consortium key %s\n", ps_path);
		arca_chain_ctx_release(&ctx);
		return ARCA_EXIT_USAGE;
	}
	/* time_ms 0: stamped now */
	if (count == 1) {
		rc = arca_event_record_index(&ctx.conf, &e, patient_id, issuer, &durable, &index);
	} else {
		/* one batch: the log opened (or arcad found) once, one flush */
		int64_t t = e.time_ms;
		rc = arca_event_batch_open(&batch, &ctx.conf);
		for (unsigned long i = 0; rc == 0 && i < count; i++) {
			e.time_ms = t;
			rc = arca_event_batch_add(batch, &e, patient_id, issuer, &index);
		}
		int crc = arca_event_batch_close(batch, &durable);
		if (rc == 0)
			rc = crc;
	}
	if (rc < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		status = rc == ARCA_ECRYPTO ? ARCA_EXIT_FAULT : ARCA_EXIT_USAGE;
	} else if (!durable) {
		fprintf(stderr, CMD ": arcad did not take the event in time; it waits in %s/" ARCA_SPOOL_DIR
				" for arcad to append it\n", ctx.root);
		status = ARCA_EXIT_FAULT;
	} else if (index != ARCA_EVENT_SPOOLED) {
		if (count > 1)
			printf("appended entries %" PRIu64 "-%" PRIu64 " (%s) to the log of %s\n", index - (count - 1),
			       index, chain_event_code(e.event), ctx.conf.node);
		else
			printf("appended entry %" PRIu64 " (%s) to the log of %s\n", index, chain_event_code(e.event),
			       ctx.conf.node);
	} else {
		printf("appended %lu %s to the log of %s through the running arcad\n", count,
		       chain_event_code(e.event), ctx.conf.node);
	}
	arca_chain_ctx_release(&ctx);
	return status;
}
