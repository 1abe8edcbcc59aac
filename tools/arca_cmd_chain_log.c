/* arca_cmd_chain_log.c - `arca chain log`: the node's log entries, one
 * readable line each or the canonical JSON itself (--json), read through
 * the log's read-only view (so it works beside a running arcad). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_cmd.h"
#include "arca_cmd_chain.h"
#include "arca_err.h"
#include "chain_entry.h"

#define CMD "arca chain log"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca chain log [--root DIR] [--study UID] [--since T] [--json]\n"
		"\n"
		"Lists the entries of this node's provenance log, oldest first, one line\n"
		"each: index, time, event, action, outcome, actor and the object.\n"
		"\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --study UID  only the entries of this study\n"
		"  --since T    only entries at or after T (UTC: 2025-01-02,\n"
		"               2025-01-02T03:04:05Z or 2025-01-02T03:04:05.678Z)\n"
		"  --json       each entry's canonical JSON, exactly as on the log, one\n"
		"               per line (JSON Lines)\n"
		"  --help       print this help and exit\n");
}

typedef struct walk {
	const char *study;
	char pattern[CHAIN_ENTRY_UID_MAX + 16]; /* "study":"UID" in canonical JSON */
	size_t pattern_len;
	bool has_since;
	int64_t since_ms;
	bool json;
	uint64_t shown;
} walk;

static const char *outcome_word(uint8_t outcome)
{
	switch (outcome) {
	case CHAIN_OUTCOME_SUCCESS: return "success";
	case CHAIN_OUTCOME_MINOR_FAILURE: return "minor-failure";
	case CHAIN_OUTCOME_SERIOUS_FAILURE: return "serious-failure";
	case CHAIN_OUTCOME_MAJOR_FAILURE: return "major-failure";
	default: return "?";
	}
}

/* index  time  event (name)  action outcome  key=value... */
static void print_line(const chain_entry *e)
{
	char t[CHAIN_TIME_LEN], hex[2 * CHAIN_HASH_LEN + 1];
	const char *code = chain_event_code(e->event), *name = chain_event_name(e->event);

	if (chain_time_format(e->time_ms, t) < 0)
		snprintf(t, sizeof(t), "?");
	printf("%" PRIu64 "  %s  %s (%s)  %c %s", e->index, t, code != NULL ? code : "?", name != NULL ? name : "?",
	       e->action, outcome_word(e->outcome));
	if (e->actor_ae != NULL)
		printf("  ae=%s", e->actor_ae);
	if (e->actor_user != NULL)
		printf("  user=%s", e->actor_user);
	if (e->subtype != 0)
		printf("  subtype=DCM:%" PRIu32, e->subtype);
	if (e->study_uid != NULL) {
		printf("  study=%s", e->study_uid);
		if (e->has_study_hash) {
			/* 12 hex digits tell studies apart at a glance; --json has all 64. */
			chain_hash_hex(hex, e->study_hash, CHAIN_HASH_LEN);
			printf("  study_hash=%.12s", hex);
		}
		printf("  instances=%" PRIu32, e->instances);
		if (e->n_series > 0)
			printf("  series=%zu", e->n_series);
	}
	if (e->has_patient) {
		chain_hash_hex(hex, e->patient, CHAIN_HASH_LEN);
		printf("  patient=%.12s", hex);
	}
	if (e->peer != NULL)
		printf("  peer=%s", e->peer);
	if (e->purpose != NULL)
		printf("  purpose=%s", e->purpose);
	if (e->consent != NULL)
		printf("  grantee=%s  permission=%s", e->consent->grantee,
		       e->consent->permission == CHAIN_PERMISSION_DOWNLOAD ? "download" : "view");
	putchar('\n');
}

static bool contains(const char *hay, size_t n, const char *needle, size_t m)
{
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static int on_entry(void *arg, uint64_t index, const char *bytes, size_t len)
{
	walk *w = arg;
	chain_entry *e = NULL;
	bool keep;
	int rc;

	/* Canonical JSON spells the study member one way: skip the parse of
	 * entries that cannot match. */
	if (w->study != NULL && !contains(bytes, len, w->pattern, w->pattern_len))
		return 0;
	rc = chain_entry_parse(&e, bytes, len);
	if (rc < 0)
		return arca_error_prefix(rc, "entry %" PRIu64, index);
	keep = (w->study == NULL || (e->study_uid != NULL && strcmp(e->study_uid, w->study) == 0)) &&
	       (!w->has_since || e->time_ms >= w->since_ms);
	if (keep) {
		if (w->json) {
			fwrite(bytes, 1, len, stdout);
			putchar('\n');
		} else {
			print_line(e);
		}
		w->shown++;
	}
	chain_entry_free(e);
	return 0;
}

int arca_cmd_chain_log(int argc, char **argv)
{
	const char *root = NULL;
	arca_chain_ctx ctx;
	chain_log_view *v = NULL;
	walk w = { 0 };
	int rc, status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--json") == 0) {
			w.json = true;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--study") == 0 && i + 1 < argc) {
			w.study = argv[++i];
			if (w.study[0] == '\0' || strlen(w.study) > CHAIN_ENTRY_UID_MAX ||
			    strpbrk(w.study, "\"\\") != NULL) {
				fprintf(stderr, CMD ": --study '%s' is not a UID\n", w.study);
				return ARCA_EXIT_USAGE;
			}
		} else if (strcmp(a, "--since") == 0 && i + 1 < argc) {
			if (!arca_chain_parse_time(argv[++i], &w.since_ms)) {
				fprintf(stderr, CMD ": --since '%s': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z (UTC)\n",
					argv[i]);
				return ARCA_EXIT_USAGE;
			}
			w.has_since = true;
		} else {
			return arca_chain_bad_arg(CMD, argc, argv, i);
		}
	}
	if (w.study != NULL)
		w.pattern_len = (size_t)snprintf(w.pattern, sizeof(w.pattern), "\"study\":\"%s\"", w.study);
	if ((status = arca_chain_ctx_open(&ctx, CMD, root, NULL, false)) != 0)
		return status;
	status = arca_chain_open_view(&ctx, CMD, &v);
	if (status == 0 && v != NULL) {
		rc = chain_log_view_foreach(v, 0, on_entry, &w);
		if (rc < 0) {
			fprintf(stderr, CMD ": %s\n", arca_error_last());
			status = rc == ARCA_ENOMEM ? ARCA_EXIT_USAGE : ARCA_EXIT_FAULT;
		}
	}
	if (status == 0 && fflush(stdout) != 0) {
		fprintf(stderr, CMD ": cannot write the output\n");
		status = ARCA_EXIT_FAULT;
	}
	chain_log_view_free(v);
	arca_chain_ctx_release(&ctx);
	return status;
}
