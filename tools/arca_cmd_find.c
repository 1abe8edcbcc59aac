/* arca_cmd_find.c - `arca find AE@host:port [-k Key=Value]...`: C-FIND
 * (PS3.4 C.4.1) through pacs_scu, see arca(1).  Prints one line per match
 * (Keyword=value, tab-separated, in tag order) or, with
 * --json, one DICOM JSON object per line (PS3.18 F.2).
 *
 * Exit status: 0 the query completed (any number of matches); 1 a negative
 * answer (association rejected, the model not accepted, a failure or
 * cancel status); 2 bad usage or a network or protocol failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_cmd.h"
#include "arca_err.h"
#include "arca_peer.h"
#include "pacs_dict.h"
#include "pacs_json.h"
#include "pacs_scu.h"
#include "pacs_tags.h"
#include "pacs_ts.h"

#define UID_PATIENT_ROOT_FIND "1.2.840.10008.5.1.4.1.2.1.1"
#define UID_STUDY_ROOT_FIND "1.2.840.10008.5.1.4.1.2.2.1"
#define FIND_MAX_KEYS 64

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca find AE@host:port [-k Key[=Value]]... [--level L] [--model M]\n"
		"                 [--aet CALLING] [--timeout S] [--json] [--cancel-after N]\n"
		"                 [--relational] [--verbose]\n"
		"\n"
		"Sends a C-FIND to the DICOM application AE at host:port and prints one line\n"
		"per match: Keyword=value pairs in tag order, separated by tabs.\n"
		"\n"
		"  -k Key[=Value]  a matching or return key: a keyword (PatientName) or a tag\n"
		"                  (0010,0010); no value asks for the key to be returned.\n"
		"                  Values are UTF-8 (Specific Character Set ISO_IR 192 is sent\n"
		"                  when one is not ASCII).  Without -k, a few usual keys of\n"
		"                  the level are asked for.\n"
		"  --level L       PATIENT, STUDY (default), SERIES or IMAGE\n"
		"  --model M       study (Study Root, default) or patient (Patient Root)\n"
		"  --aet CALLING   our AE title (default %s)\n"
		"  --timeout S     seconds to wait for the connection and for each answer\n"
		"  --json          one DICOM JSON object per match and line\n"
		"  --cancel-after N  send C-CANCEL after N matches\n"
		"  --relational    ask for relational queries (SOP Class Extended Negotiation,\n"
		"                  PS3.4 C.5.1.1): keys of any level at or above --level, and\n"
		"                  no unique keys of the levels above; a warning says when the\n"
		"                  peer declines (the query is then hierarchical)\n"
		"  --verbose       say on stderr what the peer answered to --relational\n"
		"  --help          print this help and exit\n"
		"\n"
		"Exit status: 0 the query completed, 1 a negative answer (rejected, failure or\n"
		"cancel status), 2 bad usage or a network failure.\n",
		PACS_SCU_DEFAULT_CALLING_AE);
}

/* Keys asked for when no -k is given (PS3.4 C.6.2.1 required and unique keys). */
static const char *const default_keys[4][7] = {
	{"PatientName", "PatientID", "PatientBirthDate", "PatientSex", NULL},
	{"StudyDate", "AccessionNumber", "PatientName", "PatientID", "StudyDescription", "ModalitiesInStudy",
	 "StudyInstanceUID"},
	{"Modality", "SeriesNumber", "SeriesDescription", "NumberOfSeriesRelatedInstances", "SeriesInstanceUID",
	 NULL},
	{"InstanceNumber", "SOPClassUID", "SOPInstanceUID", NULL},
};

static const uint32_t unique_key[4] = {PACS_TAG_PatientID, PACS_TAG_StudyInstanceUID, PACS_TAG_SeriesInstanceUID,
				       PACS_TAG_SOPInstanceUID};

static bool parse_tag(const char *s, size_t n, uint32_t *tag)
{
	char name[80];
	unsigned g, e;
	int used = 0;

	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	if (sscanf(name, "%4x,%4x%n", &g, &e, &used) == 2 && used == (int)n) {
		*tag = PACS_TAG(g, e);
		return true;
	}
	if (sscanf(name, "(%4x,%4x)%n", &g, &e, &used) == 2 && used == (int)n) {
		*tag = PACS_TAG(g, e);
		return true;
	}
	*tag = pacs_dict_tag_by_keyword(name);
	return *tag != 0;
}

static int set_key(pacs_ds *id, uint32_t tag, const char *value)
{
	pacs_vr vr = pacs_dict_vr(tag);

	if (vr == PACS_VR_SQ)
		return pacs_ds_set_sequence(id, tag, NULL);
	if (value == NULL || value[0] == '\0')
		return pacs_ds_set(id, tag, vr, NULL, 0);
	if (vr == PACS_VR_US)
		return pacs_ds_set_u16(id, tag, (uint16_t)strtoul(value, NULL, 10));
	return pacs_ds_set_string(id, tag, vr, value);
}

static bool not_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

typedef struct find_print {
	bool json;
	bool relational, verbose;
	unsigned long cancel_after;
	unsigned long matches;
} find_print;

static bool is_bookkeeping(uint32_t tag)
{
	return tag == PACS_TAG_SpecificCharacterSet || tag == PACS_TAG_QueryRetrieveLevel ||
	       tag == PACS_TAG_RetrieveAETitle || tag == PACS_TAG_InstanceAvailability;
}

static int print_match(void *ctx, const pacs_ds *match)
{
	find_print *p = ctx;
	size_t n = pacs_ds_count(match);
	bool first = true;

	p->matches++;
	if (p->json) {
		char *js = NULL;
		if (pacs_json_encode(match, 0, &js, NULL) < 0)
			return ARCA_EPROTO;
		printf("%s\n", js);
		free(js);
	} else {
		for (size_t i = 0; i < n; i++) {
			const pacs_elem *e = pacs_ds_at(match, i);
			uint32_t tag = pacs_elem_tag(e);
			const char *kw = pacs_dict_keyword(tag);
			char *v = NULL;
			uint64_t u;

			if (is_bookkeeping(tag))
				continue;
			if (pacs_elem_is_sequence(e))
				v = strdup("");
			else if ((pacs_elem_vr(e) == PACS_VR_US || pacs_elem_vr(e) == PACS_VR_UL) &&
				 pacs_elem_vm(e) > 0 && pacs_elem_uint(e, 0, &u) == 0) {
				char num[24];
				snprintf(num, sizeof(num), "%llu", (unsigned long long)u);
				v = strdup(num);
			} else if (pacs_elem_utf8(match, e, &v) < 0) {
				v = NULL;
			}
			if (kw != NULL)
				printf("%s%s=%s", first ? "" : "\t", kw, v != NULL ? v : "");
			else
				printf("%s(%04X,%04X)=%s", first ? "" : "\t", PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag),
				       v != NULL ? v : "");
			free(v);
			first = false;
		}
		printf("\n");
	}
	fflush(stdout);
	return p->cancel_after != 0 && p->matches >= p->cancel_after ? 1 : 0;
}

/* PS3.7 D.3.3.5: no answer, or byte 1 not 1, is relational queries
 * declined. */
static void report_relational(const pacs_scu *scu, const char *sop, const char *target, bool verbose)
{
	size_t len = 0;
	const uint8_t *ans = pacs_scu_ext_neg_answer(scu, sop, &len);
	bool accepted = ans != NULL && len >= 1 && ans[0] == 1;

	if (accepted && verbose)
		fprintf(stderr, "arca find: %s accepted relational queries\n", target);
	else if (!accepted)
		fprintf(stderr, "arca find: %s declined relational queries (%s): the query is hierarchical\n", target,
			ans == NULL ? "no extended negotiation answer" : "relational-queries byte 0");
}

static int failure(const char *peer_text, int rc)
{
	const char *msg = arca_error_last();

	if (strstr(msg, peer_text) != NULL)
		fprintf(stderr, "arca find: %s\n", msg);
	else
		fprintf(stderr, "arca find: %s: %s\n", peer_text, msg);
	return rc == ARCA_EUNSUPPORTED ? ARCA_EXIT_FAULT : ARCA_EXIT_USAGE;
}

int arca_cmd_find(int argc, char **argv)
{
	const char *target = NULL, *calling = NULL, *keys[FIND_MAX_KEYS];
	const char *level_text = "STUDY", *model = "study";
	size_t n_keys = 0;
	unsigned timeout_ms = 0;
	find_print pr = {0};
	char why[256];
	arca_peer peer;
	int level = -1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if ((strcmp(a, "-k") == 0 || strcmp(a, "--key") == 0) && i + 1 < argc) {
			if (n_keys == FIND_MAX_KEYS) {
				fprintf(stderr, "arca find: at most %d keys\n", FIND_MAX_KEYS);
				return ARCA_EXIT_USAGE;
			}
			keys[n_keys++] = argv[++i];
		} else if (strcmp(a, "--level") == 0 && i + 1 < argc) {
			level_text = argv[++i];
		} else if (strcmp(a, "--model") == 0 && i + 1 < argc) {
			model = argv[++i];
		} else if (strcmp(a, "--aet") == 0 && i + 1 < argc) {
			calling = argv[++i];
		} else if (strcmp(a, "--json") == 0) {
			pr.json = true;
		} else if (strcmp(a, "--relational") == 0) {
			pr.relational = true;
		} else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			pr.verbose = true;
		} else if (strcmp(a, "--cancel-after") == 0 && i + 1 < argc) {
			pr.cancel_after = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			if (!arca_peer_parse_timeout(&timeout_ms, argv[++i])) {
				fprintf(stderr, "arca find: --timeout '%s' is not a number of seconds (0 < S <= 86400)\n",
					argv[i]);
				return ARCA_EXIT_USAGE;
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "arca find: unknown option or missing value '%s'; see `arca find --help`\n", a);
			return ARCA_EXIT_USAGE;
		} else if (target == NULL) {
			target = a;
		} else {
			fprintf(stderr, "arca find: one peer only ('%s' is extra); see `arca find --help`\n", a);
			return ARCA_EXIT_USAGE;
		}
	}
	if (target == NULL) {
		fprintf(stderr, "arca find: no peer given (AE@host:port); see `arca find --help`\n");
		return ARCA_EXIT_USAGE;
	}
	if (!arca_peer_parse(&peer, target, why, sizeof(why))) {
		fprintf(stderr, "arca find: %s\n", why);
		return ARCA_EXIT_USAGE;
	}
	for (int l = 0; l < 4; l++) {
		static const char *const names[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};
		if (strcasecmp(level_text, names[l]) == 0)
			level = l;
	}
	if (level < 0) {
		fprintf(stderr, "arca find: --level '%s': PATIENT, STUDY, SERIES or IMAGE\n", level_text);
		return ARCA_EXIT_USAGE;
	}
	if (strcmp(model, "study") != 0 && strcmp(model, "patient") != 0) {
		fprintf(stderr, "arca find: --model '%s': study or patient\n", model);
		return ARCA_EXIT_USAGE;
	}
	if (strcmp(model, "study") == 0 && level == 0) {
		fprintf(stderr, "arca find: the Study Root model has no PATIENT level; use --model patient\n");
		return ARCA_EXIT_USAGE;
	}

	const char *sop = strcmp(model, "study") == 0 ? UID_STUDY_ROOT_FIND : UID_PATIENT_ROOT_FIND;
	static const char *const ts[] = {PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE};
	const pacs_scu_pctx pctx = {sop, ts, 2};
	/* PS3.4 C.5.1.1 Table C.5-1: byte 1 relational-queries = 1; the
	 * other options are not asked for (bytes 2-4 left out: 0) */
	static const uint8_t relational_info[] = {1};
	pacs_pdu_ext_neg ext = {sop, relational_info, sizeof(relational_info)};
	pacs_dimse_cmd rsp;
	pacs_scu_opts o;
	pacs_scu *scu = NULL;
	pacs_ds *id = NULL;
	bool utf8 = false;
	int rc, exit_status = ARCA_EXIT_USAGE;

	if (pacs_ds_new(&id) < 0 ||
	    pacs_ds_set_string(id, PACS_TAG_QueryRetrieveLevel, PACS_VR_CS, level_text) < 0) {
		fprintf(stderr, "arca find: %s\n", arca_error_last());
		goto cleanup;
	}
	pacs_ds_set_string(id, PACS_TAG_QueryRetrieveLevel, PACS_VR_CS,
			   level == 0 ? "PATIENT" : level == 1 ? "STUDY" : level == 2 ? "SERIES" : "IMAGE");
	for (size_t k = 0; k < n_keys; k++) {
		const char *eq = strchr(keys[k], '=');
		size_t len = eq != NULL ? (size_t)(eq - keys[k]) : strlen(keys[k]);
		uint32_t tag;

		if (!parse_tag(keys[k], len, &tag)) {
			fprintf(stderr, "arca find: -k '%s': not a keyword or a tag (gggg,eeee)\n", keys[k]);
			goto cleanup;
		}
		if (eq != NULL && not_ascii(eq + 1))
			utf8 = true;
		if (set_key(id, tag, eq != NULL ? eq + 1 : NULL) < 0) {
			fprintf(stderr, "arca find: -k '%s': %s\n", keys[k], arca_error_last());
			goto cleanup;
		}
	}
	if (n_keys == 0)
		for (size_t k = 0; k < 7 && default_keys[level][k] != NULL; k++)
			set_key(id, pacs_dict_tag_by_keyword(default_keys[level][k]), NULL);
	if (pacs_ds_find(id, unique_key[level]) == NULL)
		set_key(id, unique_key[level], NULL);
	if (utf8)
		pacs_ds_set_string(id, PACS_TAG_SpecificCharacterSet, PACS_VR_CS, "ISO_IR 192");

	pacs_scu_opts_init(&o);
	o.host = peer.host;
	o.port = peer.port;
	o.called_ae = peer.ae;
	o.calling_ae = calling;
	o.pctx = &pctx;
	o.n_pctx = 1;
	if (pr.relational) {
		o.ext_neg = &ext;
		o.n_ext_neg = 1;
	}
	o.connect_timeout_ms = timeout_ms;
	o.acse_timeout_ms = timeout_ms;
	o.dimse_timeout_ms = timeout_ms;
	if ((rc = pacs_scu_new(&scu, &o)) < 0) {
		fprintf(stderr, "arca find: %s\n", arca_error_last());
		goto cleanup;
	}
	if ((rc = pacs_scu_associate(scu)) < 0) {
		exit_status = failure(target, rc);
		goto cleanup;
	}
	if (pr.relational)
		report_relational(scu, sop, target, pr.verbose);
	if ((rc = pacs_scu_find(scu, sop, id, print_match, &pr, &rsp)) < 0 || (rc = pacs_scu_release(scu)) < 0) {
		exit_status = failure(target, rc);
		goto cleanup;
	}
	if (rsp.status != PACS_DIMSE_SUCCESS) {
		fprintf(stderr, "arca find: %s: C-FIND answered status 0x%04X (%s)%s%s after %lu matches\n", target,
			rsp.status, pacs_dimse_status_name(rsp.status),
			(rsp.present & PACS_DIMSE_F_ERROR_COMMENT) != 0 ? ": " : "",
			(rsp.present & PACS_DIMSE_F_ERROR_COMMENT) != 0 ? rsp.error_comment : "", pr.matches);
		exit_status = ARCA_EXIT_FAULT;
		goto cleanup;
	}
	exit_status = ARCA_EXIT_OK;
cleanup:
	pacs_scu_free(scu);
	pacs_ds_free(id);
	return exit_status;
}
