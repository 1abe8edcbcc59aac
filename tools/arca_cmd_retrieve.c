/* arca_cmd_retrieve.c - `arca move` and `arca get`: the SCU side of
 * Query/Retrieve (PS3.4 C.4.2 C-MOVE, C.4.3 C-GET) through pacs_scu, see
 * arca-move(1) and arca-get(1).
 *
 *   arca move AE@host:port --dest AE -k Key=Value... [--level L] [--model M]
 *       asks the peer to send the matching instances to the AE title
 *       --dest (which the peer must know: its own configuration says where
 *       that AE title is);
 *   arca get AE@host:port -k Key=Value... --out DIR [--ts UID]...
 *       fetches them over the same association: the peer sends C-STORE
 *       requests back (SCP/SCU Role Selection, PS3.7 D.3.3.4), written to
 *       DIR/<SOP Instance UID>.dcm as Part 10 files.
 *
 * Both print one line per pending response (the sub-operation counts) and
 * a last line with the final status and counts, tab-separated
 * Keyword=value pairs as `arca find` prints its matches; `arca get` also
 * prints one line per file received.
 *
 * Exit status: 0 final status 0000H (every sub-operation completed); 1 a
 * negative answer: a warning, failure or cancel status (B000H, A7xxH,
 * A801H, A900H, Cxxx, FE00H; the failed SOP Instance UIDs named), an
 * association rejected or a model not accepted; 2 bad usage or a network
 * or protocol failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "arca_cmd.h"
#include "arca_err.h"
#include "arca_peer.h"
#include "pacs_dict.h"
#include "pacs_scu.h"
#include "pacs_sop.h"
#include "pacs_tags.h"
#include "pacs_ts.h"

/* PS3.4 C.6.1.2 / C.6.2.2: the MOVE and GET SOP classes of both models. */
#define UID_PATIENT_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.1.2"
#define UID_PATIENT_ROOT_GET "1.2.840.10008.5.1.4.1.2.1.3"
#define UID_STUDY_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.2.2"
#define UID_STUDY_ROOT_GET "1.2.840.10008.5.1.4.1.2.2.3"
#define RETR_MAX_KEYS 64
#define RETR_MAX_TS 16
/* One context for the GET model, the rest for storage classes (PS3.8
 * 9.3.2.2: at most 128). */
#define RETR_MAX_CLASSES 127

/* Storage SOP classes a C-GET asks for by default: what hospitals' modalities
 * and workstations commonly produce (names as in pacs_sop.h). */
static const char *const default_classes[] = {
	"CTImageStorage", "EnhancedCTImageStorage", "LegacyConvertedEnhancedCTImageStorage",
	"MRImageStorage", "EnhancedMRImageStorage", "EnhancedMRColorImageStorage", "MRSpectroscopyStorage",
	"ComputedRadiographyImageStorage", "DigitalXRayImageStorageForPresentation",
	"DigitalXRayImageStorageForProcessing", "DigitalMammographyXRayImageStorageForPresentation",
	"DigitalMammographyXRayImageStorageForProcessing", "DigitalIntraOralXRayImageStorageForPresentation",
	"BreastTomosynthesisImageStorage", "BreastProjectionXRayImageStorageForPresentation",
	"UltrasoundImageStorage", "UltrasoundMultiframeImageStorage", "EnhancedUSVolumeStorage",
	"SecondaryCaptureImageStorage", "MultiframeSingleBitSecondaryCaptureImageStorage",
	"MultiframeGrayscaleByteSecondaryCaptureImageStorage", "MultiframeGrayscaleWordSecondaryCaptureImageStorage",
	"MultiframeTrueColorSecondaryCaptureImageStorage", "NuclearMedicineImageStorage",
	"PositronEmissionTomographyImageStorage", "EnhancedPETImageStorage", "XRayAngiographicImageStorage",
	"EnhancedXAImageStorage", "XRayRadiofluoroscopicImageStorage", "EnhancedXRFImageStorage",
	"XRay3DAngiographicImageStorage", "RTImageStorage", "RTDoseStorage", "RTStructureSetStorage",
	"RTPlanStorage", "RTIonPlanStorage", "BasicTextSRStorage", "EnhancedSRStorage", "ComprehensiveSRStorage",
	"Comprehensive3DSRStorage", "KeyObjectSelectionDocumentStorage", "GrayscaleSoftcopyPresentationStateStorage",
	"ColorSoftcopyPresentationStateStorage", "EncapsulatedPDFStorage", "SegmentationStorage", "RawDataStorage",
	"SpatialRegistrationStorage", "ParametricMapStorage", "VLPhotographicImageStorage",
	"VLEndoscopicImageStorage", "VLMicroscopicImageStorage", "VideoEndoscopicImageStorage",
	"OphthalmicPhotography8BitImageStorage", "TwelveLeadECGWaveformStorage", "GeneralECGWaveformStorage",
	"XRayRadiationDoseSRStorage",
};

typedef struct retr_args {
	const char *cmd;          /* "move" or "get" */
	bool is_get;
	const char *target, *calling, *dest, *out_dir;
	const char *keys[RETR_MAX_KEYS];
	size_t n_keys;
	const char *ts[RETR_MAX_TS];
	size_t n_ts;
	const char *classes[RETR_MAX_CLASSES];
	size_t n_classes;
	const char *level_text, *model;
	int level;
	unsigned timeout_ms;
	unsigned long cancel_after;
	bool quiet;
	arca_peer peer;
} retr_args;

static void usage(FILE *out, bool is_get)
{
	if (is_get)
		fprintf(out,
			"usage: arca get AE@host:port -k Key=Value... --out DIR [--level L] [--model M]\n"
			"                [--ts UID]... [--sop-class UID]... [--aet CALLING] [--timeout S]\n"
			"                [--cancel-after N] [--quiet]\n"
			"\n"
			"Fetches the matching instances from the DICOM application AE at host:port\n"
			"with C-GET: the peer sends them back on the same association, and each one is\n"
			"written to DIR/<SOP Instance UID>.dcm (a Part 10 file, as received).\n"
			"\n"
			"  --out DIR          where the files go (created if missing)\n"
			"  --ts UID           a transfer syntax to accept (repeatable, preferred first;\n"
			"                     default Explicit then Implicit VR Little Endian)\n"
			"  --sop-class UID    a storage SOP class to accept (repeatable; default: the\n"
			"                     common image, SR, presentation state, RT and PDF classes)\n");
	else
		fprintf(out,
			"usage: arca move AE@host:port --dest AE -k Key=Value... [--level L] [--model M]\n"
			"                 [--aet CALLING] [--timeout S] [--cancel-after N] [--quiet]\n"
			"\n"
			"Asks the DICOM application AE at host:port to send the matching instances to\n"
			"the application entity --dest with C-MOVE (the peer must know where that AE\n"
			"title listens).\n"
			"\n"
			"  --dest AE          the move destination's AE title\n");
	fprintf(out,
		"  -k Key=Value       a key of the identifier: a keyword (StudyInstanceUID) or a\n"
		"                     tag (0020,000D); the unique keys of the level and the levels\n"
		"                     above select the instances (a list of UIDs with \\)\n"
		"  --level L          PATIENT, STUDY (default), SERIES or IMAGE\n"
		"  --model M          study (Study Root, default) or patient (Patient Root)\n"
		"  --aet CALLING      our AE title (default %s)\n"
		"  --timeout S        seconds to wait for the connection and for each answer\n"
		"  --cancel-after N   send C-CANCEL after N pending responses\n"
		"  --quiet            print only the final line\n"
		"  --help             print this help and exit\n"
		"\n"
		"Prints one line per pending response and a final line, tab-separated:\n"
		"status=0x0000 (success), completed=, failed=, warning=, remaining=.\n"
		"Exit status: 0 final status 0x0000, 1 any other status (failed instances are\n"
		"named) or a rejected association, 2 bad usage or a network failure.\n",
		PACS_SCU_DEFAULT_CALLING_AE);
}

static bool parse_tag(const char *s, size_t n, uint32_t *tag)
{
	char name[80];
	unsigned g, e;
	int used = 0;

	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	if ((sscanf(name, "%4x,%4x%n", &g, &e, &used) == 2 && used == (int)n) ||
	    (sscanf(name, "(%4x,%4x)%n", &g, &e, &used) == 2 && used == (int)n)) {
		*tag = PACS_TAG(g, e);
		return true;
	}
	*tag = pacs_dict_tag_by_keyword(name);
	return *tag != 0;
}

static bool is_uid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= PACS_DIMSE_UID_MAX && strspn(s, "0123456789.") == n;
}

/* argv[i] is an option taking a value: *v = argv[i + 1]. */
static bool opt(int argc, char **argv, int *i, const char *name, const char **v)
{
	if (strcmp(argv[*i], name) != 0 || *i + 1 >= argc)
		return false;
	*v = argv[++*i];
	return true;
}

static int parse_args(retr_args *a, int argc, char **argv)
{
	char why[256];
	const char *v;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
			usage(stdout, a->is_get);
			return ARCA_EXIT_OK + 100;
		} else if (opt(argc, argv, &i, "-k", &v) || opt(argc, argv, &i, "--key", &v)) {
			if (a->n_keys == RETR_MAX_KEYS) {
				fprintf(stderr, "arca %s: at most %d keys\n", a->cmd, RETR_MAX_KEYS);
				return ARCA_EXIT_USAGE;
			}
			a->keys[a->n_keys++] = v;
		} else if (opt(argc, argv, &i, "--level", &v)) {
			a->level_text = v;
		} else if (opt(argc, argv, &i, "--model", &v)) {
			a->model = v;
		} else if (opt(argc, argv, &i, "--aet", &v)) {
			a->calling = v;
		} else if (!a->is_get && opt(argc, argv, &i, "--dest", &v)) {
			a->dest = v;
		} else if (a->is_get && opt(argc, argv, &i, "--out", &v)) {
			a->out_dir = v;
		} else if (a->is_get && opt(argc, argv, &i, "--ts", &v)) {
			if (!is_uid(v) || a->n_ts == RETR_MAX_TS) {
				fprintf(stderr, "arca get: --ts '%s': not a transfer syntax UID, or more than %d\n", v,
					RETR_MAX_TS);
				return ARCA_EXIT_USAGE;
			}
			a->ts[a->n_ts++] = v;
		} else if (a->is_get && opt(argc, argv, &i, "--sop-class", &v)) {
			if (!is_uid(v) || a->n_classes == RETR_MAX_CLASSES) {
				fprintf(stderr, "arca get: --sop-class '%s': not a UID, or more than %d\n", v,
					RETR_MAX_CLASSES);
				return ARCA_EXIT_USAGE;
			}
			a->classes[a->n_classes++] = v;
		} else if (opt(argc, argv, &i, "--cancel-after", &v)) {
			char *end;
			a->cancel_after = strtoul(v, &end, 10);
			if (*end != '\0' || a->cancel_after == 0) {
				fprintf(stderr, "arca %s: --cancel-after '%s' is not a positive number\n", a->cmd, v);
				return ARCA_EXIT_USAGE;
			}
		} else if (opt(argc, argv, &i, "--timeout", &v)) {
			if (!arca_peer_parse_timeout(&a->timeout_ms, v)) {
				fprintf(stderr, "arca %s: --timeout '%s' is not a number of seconds (0 < S <= 86400)\n",
					a->cmd, v);
				return ARCA_EXIT_USAGE;
			}
		} else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) {
			a->quiet = true;
		} else if (s[0] == '-') {
			fprintf(stderr, "arca %s: unknown option or missing value '%s'; see `arca %s --help`\n", a->cmd,
				s, a->cmd);
			return ARCA_EXIT_USAGE;
		} else if (a->target == NULL) {
			a->target = s;
		} else {
			fprintf(stderr, "arca %s: one peer only ('%s' is extra); see `arca %s --help`\n", a->cmd, s,
				a->cmd);
			return ARCA_EXIT_USAGE;
		}
	}
	if (a->target == NULL) {
		fprintf(stderr, "arca %s: no peer given (AE@host:port); see `arca %s --help`\n", a->cmd, a->cmd);
		return ARCA_EXIT_USAGE;
	}
	if (!arca_peer_parse(&a->peer, a->target, why, sizeof(why))) {
		fprintf(stderr, "arca %s: %s\n", a->cmd, why);
		return ARCA_EXIT_USAGE;
	}
	if (!a->is_get && a->dest == NULL) {
		fprintf(stderr, "arca move: no destination given (--dest AE)\n");
		return ARCA_EXIT_USAGE;
	}
	if (!a->is_get && (strlen(a->dest) == 0 || strlen(a->dest) > PACS_DIMSE_AE_MAX ||
			   strcspn(a->dest, "\\\t\r\n") != strlen(a->dest) || strspn(a->dest, " ") == strlen(a->dest))) {
		/* PS3.5 Table 6.2-1: AE, 16 characters, no backslash or control */
		fprintf(stderr, "arca move: --dest '%s' is not an AE title (1-16 characters, no backslash)\n", a->dest);
		return ARCA_EXIT_USAGE;
	}
	if (a->is_get && a->out_dir == NULL) {
		fprintf(stderr, "arca get: no output folder given (--out DIR)\n");
		return ARCA_EXIT_USAGE;
	}
	if (a->n_keys == 0) {
		fprintf(stderr, "arca %s: no key given: say what to retrieve (-k StudyInstanceUID=...)\n", a->cmd);
		return ARCA_EXIT_USAGE;
	}
	for (int l = 0; l < 4; l++) {
		static const char *const names[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};
		if (strcasecmp(a->level_text, names[l]) == 0)
			a->level = l;
	}
	if (a->level < 0) {
		fprintf(stderr, "arca %s: --level '%s': PATIENT, STUDY, SERIES or IMAGE\n", a->cmd, a->level_text);
		return ARCA_EXIT_USAGE;
	}
	if (strcmp(a->model, "study") != 0 && strcmp(a->model, "patient") != 0) {
		fprintf(stderr, "arca %s: --model '%s': study or patient\n", a->cmd, a->model);
		return ARCA_EXIT_USAGE;
	}
	if (strcmp(a->model, "study") == 0 && a->level == 0) {
		fprintf(stderr, "arca %s: the Study Root model has no PATIENT level; use --model patient\n", a->cmd);
		return ARCA_EXIT_USAGE;
	}
	return -1;
}

/* The identifier: Query/Retrieve Level and the -k keys (PS3.4 C.4.2.2.1). */
static int build_identifier(const retr_args *a, pacs_ds **out)
{
	static const char *const names[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};
	bool utf8 = false;
	pacs_ds *id = NULL;

	if (pacs_ds_new(&id) < 0 || pacs_ds_set_string(id, PACS_TAG_QueryRetrieveLevel, PACS_VR_CS, names[a->level]) < 0) {
		fprintf(stderr, "arca %s: %s\n", a->cmd, arca_error_last());
		pacs_ds_free(id);
		return ARCA_EXIT_USAGE;
	}
	for (size_t k = 0; k < a->n_keys; k++) {
		const char *eq = strchr(a->keys[k], '=');
		size_t len = eq != NULL ? (size_t)(eq - a->keys[k]) : strlen(a->keys[k]);
		const char *value = eq != NULL ? eq + 1 : "";
		uint32_t tag;
		pacs_vr vr;
		int rc;

		if (!parse_tag(a->keys[k], len, &tag)) {
			fprintf(stderr, "arca %s: -k '%s': not a keyword or a tag (gggg,eeee)\n", a->cmd, a->keys[k]);
			pacs_ds_free(id);
			return ARCA_EXIT_USAGE;
		}
		vr = pacs_dict_vr(tag);
		for (const char *p = value; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				utf8 = true;
		if (vr == PACS_VR_SQ)
			rc = pacs_ds_set_sequence(id, tag, NULL);
		else if (value[0] == '\0')
			rc = pacs_ds_set(id, tag, vr, NULL, 0);
		else
			rc = pacs_ds_set_string(id, tag, vr, value);
		if (rc < 0) {
			fprintf(stderr, "arca %s: -k '%s': %s\n", a->cmd, a->keys[k], arca_error_last());
			pacs_ds_free(id);
			return ARCA_EXIT_USAGE;
		}
	}
	if (utf8)
		(void)pacs_ds_set_string(id, PACS_TAG_SpecificCharacterSet, PACS_VR_CS, "ISO_IR 192");
	*out = id;
	return -1;
}

typedef struct retr_print {
	const retr_args *a;
	unsigned long pending;
} retr_print;

static void print_counts(const pacs_dimse_cmd *r)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} f[] = {
		{PACS_DIMSE_F_COMPLETED, "completed"},
		{PACS_DIMSE_F_FAILED, "failed"},
		{PACS_DIMSE_F_WARNING, "warning"},
		{PACS_DIMSE_F_REMAINING, "remaining"},
	};
	const uint16_t v[] = {r->completed, r->failed, r->warning, r->remaining};

	for (size_t i = 0; i < 4; i++)
		if ((r->present & f[i].bit) != 0)
			printf("\t%s=%u", f[i].name, (unsigned)v[i]);
}

static int on_pending(void *ctx, const pacs_dimse_cmd *rsp)
{
	retr_print *p = ctx;

	p->pending++;
	if (!p->a->quiet) {
		printf("pending=%lu", p->pending);
		print_counts(rsp);
		printf("\n");
		fflush(stdout);
	}
	return p->a->cancel_after != 0 && p->pending >= p->a->cancel_after ? 1 : 0;
}

static void on_file(void *ctx, const char *path, const char *sop_uid, uint64_t bytes)
{
	const retr_args *a = ctx;

	if (!a->quiet) {
		printf("file=%s\tSOPInstanceUID=%s\tbytes=%llu\n", path, sop_uid, (unsigned long long)bytes);
		fflush(stdout);
	}
}

static int failure(const retr_args *a, int rc)
{
	const char *msg = arca_error_last();

	if (strstr(msg, a->target) != NULL)
		fprintf(stderr, "arca %s: %s\n", a->cmd, msg);
	else
		fprintf(stderr, "arca %s: %s: %s\n", a->cmd, a->target, msg);
	return rc == ARCA_EUNSUPPORTED ? ARCA_EXIT_FAULT : ARCA_EXIT_USAGE;
}

/* The final line, and the verdict: 0000H alone is success. */
static int report(const retr_args *a, const pacs_scu_retrieve_result *r, const pacs_scu_file_sink *sink)
{
	const pacs_dimse_cmd *rsp = &r->rsp;
	const char *svc = a->is_get ? "C-GET" : "C-MOVE";

	printf("status=0x%04X (%s)", rsp->status, pacs_dimse_status_name(rsp->status));
	print_counts(rsp);
	if (sink != NULL)
		printf("\treceived=%zu", pacs_scu_file_sink_count(sink));
	printf("\n");
	if (r->failed_uids != NULL) {
		const char *s = r->failed_uids;
		while (*s != '\0') {
			size_t n = strcspn(s, "\\");
			printf("failed=%.*s\n", (int)n, s);
			s += n + (s[n] == '\\' ? 1 : 0);
		}
	}
	fflush(stdout);
	if (sink != NULL && pacs_scu_file_sink_error(sink) != NULL)
		fprintf(stderr, "arca get: %s\n", pacs_scu_file_sink_error(sink));
	if (rsp->status == PACS_DIMSE_SUCCESS)
		return ARCA_EXIT_OK;
	fprintf(stderr, "arca %s: %s: %s answered status 0x%04X (%s)%s%s", a->cmd, a->target, svc, rsp->status,
		pacs_dimse_status_name(rsp->status), (rsp->present & PACS_DIMSE_F_ERROR_COMMENT) != 0 ? ": " : "",
		(rsp->present & PACS_DIMSE_F_ERROR_COMMENT) != 0 ? rsp->error_comment : "");
	if (r->n_failed > 0) {
		/* the first few on stderr; every one is on stdout */
		const char *s = r->failed_uids;
		fprintf(stderr, "; %zu failed:", r->n_failed);
		for (int i = 0; i < 10 && *s != '\0'; i++) {
			size_t n = strcspn(s, "\\");
			fprintf(stderr, " %.*s", (int)n, s);
			s += n + (s[n] == '\\' ? 1 : 0);
		}
		if (*s != '\0')
			fprintf(stderr, " ...");
	}
	fprintf(stderr, "\n");
	return ARCA_EXIT_FAULT;
}

/* C-GET proposal: the GET model, then each storage class with the SCP
 * role (PS3.7 D.3.3.4) in the transfer syntaxes asked for. */
typedef struct get_proposal {
	pacs_scu_pctx pctx[1 + RETR_MAX_CLASSES];
	pacs_pdu_role roles[RETR_MAX_CLASSES];
	size_t n_pctx, n_roles;
} get_proposal;

static int propose_get(const retr_args *a, const char *model_uid, const char *const *ts, size_t n_ts,
		       get_proposal *p)
{
	static const char *const model_ts[] = {PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE};
	size_t n_all = 0;
	const pacs_sop_info *all = pacs_sop_storage_all(&n_all);

	p->pctx[0] = (pacs_scu_pctx){model_uid, model_ts, 2};
	p->n_pctx = 1;
	p->n_roles = 0;
	if (a->n_classes > 0) {
		for (size_t i = 0; i < a->n_classes; i++) {
			p->pctx[p->n_pctx++] = (pacs_scu_pctx){a->classes[i], ts, n_ts};
			p->roles[p->n_roles++] = (pacs_pdu_role){a->classes[i], 0, 1};
		}
		return 0;
	}
	for (size_t k = 0; k < sizeof(default_classes) / sizeof(default_classes[0]); k++)
		for (size_t i = 0; i < n_all && p->n_pctx < 1 + RETR_MAX_CLASSES; i++)
			if (strcmp(all[i].name, default_classes[k]) == 0) {
				p->pctx[p->n_pctx++] = (pacs_scu_pctx){all[i].uid, ts, n_ts};
				p->roles[p->n_roles++] = (pacs_pdu_role){all[i].uid, 0, 1};
				break;
			}
	return 0;
}

static int run(const retr_args *a)
{
	static const char *const default_ts[] = {PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE};
	static const char *const model_ts[] = {PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE};
	bool study = strcmp(a->model, "study") == 0;
	const char *model_uid = a->is_get ? (study ? UID_STUDY_ROOT_GET : UID_PATIENT_ROOT_GET)
					  : (study ? UID_STUDY_ROOT_MOVE : UID_PATIENT_ROOT_MOVE);
	pacs_scu_retrieve_result res = {0};
	pacs_scu_file_sink *sink = NULL;
	retr_print pr = {a, 0};
	get_proposal *gp = NULL;
	pacs_scu_pctx move_pctx = {model_uid, model_ts, 2};
	pacs_scu_opts o;
	pacs_scu *scu = NULL;
	pacs_ds *id = NULL;
	int rc, exit_status;

	if ((exit_status = build_identifier(a, &id)) >= 0)
		return exit_status;
	exit_status = ARCA_EXIT_USAGE;
	pacs_scu_opts_init(&o);
	o.host = a->peer.host;
	o.port = a->peer.port;
	o.called_ae = a->peer.ae;
	o.calling_ae = a->calling;
	o.connect_timeout_ms = a->timeout_ms;
	o.acse_timeout_ms = a->timeout_ms;
	o.dimse_timeout_ms = a->timeout_ms;
	if (a->is_get) {
		struct stat st;

		if (mkdir(a->out_dir, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "arca get: cannot create %s: %s\n", a->out_dir, strerror(errno));
			goto cleanup;
		}
		if (stat(a->out_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "arca get: --out %s is not a folder\n", a->out_dir);
			goto cleanup;
		}
		gp = calloc(1, sizeof(*gp));
		if (gp == NULL) {
			fprintf(stderr, "arca get: out of memory\n");
			goto cleanup;
		}
		propose_get(a, model_uid, a->n_ts > 0 ? a->ts : default_ts, a->n_ts > 0 ? a->n_ts : 2, gp);
		o.pctx = gp->pctx;
		o.n_pctx = gp->n_pctx;
		o.roles = gp->roles;
		o.n_roles = gp->n_roles;
		if (pacs_scu_file_sink_new(&sink, a->out_dir, a->peer.ae) < 0) {
			fprintf(stderr, "arca get: %s\n", arca_error_last());
			goto cleanup;
		}
		pacs_scu_file_sink_on_file(sink, on_file, (void *)a);
	} else {
		o.pctx = &move_pctx;
		o.n_pctx = 1;
	}
	if ((rc = pacs_scu_new(&scu, &o)) < 0) {
		fprintf(stderr, "arca %s: %s\n", a->cmd, arca_error_last());
		goto cleanup;
	}
	if ((rc = pacs_scu_associate(scu)) < 0) {
		exit_status = failure(a, rc);
		goto cleanup;
	}
	if (a->is_get) {
		bool any = false;
		for (size_t i = 0; i < gp->n_roles; i++)
			any |= pacs_scu_scp_role_accepted(scu, gp->roles[i].sop_class_uid);
		if (!any)
			fprintf(stderr, "arca get: %s accepted the SCP role for none of the storage classes (PS3.7 "
					"D.3.3.4): it may not be able to send anything back\n",
				a->target);
		rc = pacs_scu_get(scu, model_uid, id, pacs_scu_file_sink_handler(sink), on_pending, &pr, &res);
		(void)pacs_scu_file_sink_sync(sink); /* a failure is reported with the result */
	} else {
		rc = pacs_scu_move(scu, model_uid, a->dest, id, on_pending, &pr, &res);
	}
	if (rc < 0 || (rc = pacs_scu_release(scu)) < 0) {
		exit_status = failure(a, rc);
		goto cleanup;
	}
	exit_status = report(a, &res, sink);
cleanup:
	pacs_scu_retrieve_result_clear(&res);
	pacs_scu_free(scu);
	pacs_scu_file_sink_free(sink);
	pacs_ds_free(id);
	free(gp);
	return exit_status;
}

static int retrieve_main(int argc, char **argv, bool is_get)
{
	retr_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.cmd = is_get ? "get" : "move";
	a.is_get = is_get;
	a.level_text = "STUDY";
	a.model = "study";
	a.level = -1;
	rc = parse_args(&a, argc, argv);
	if (rc == ARCA_EXIT_OK + 100)
		return ARCA_EXIT_OK;
	if (rc >= 0)
		return rc;
	return run(&a);
}

int arca_cmd_move(int argc, char **argv)
{
	return retrieve_main(argc, argv, false);
}

int arca_cmd_get(int argc, char **argv)
{
	return retrieve_main(argc, argv, true);
}
