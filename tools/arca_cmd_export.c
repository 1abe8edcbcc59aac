/* arca_cmd_export.c - `arca export [--root DIR] --study UID [--study UID...]
 * --out FILE.tar|FILE.tar.gz|FILE.zip|DIR [--dicomdir] [--ts UID] [--quiet]`
 * (arca-export(1)).
 *
 * Each instance of the studies is rebuilt from the store by the retrieve
 * read path (store_instance_write: every chunk re-hashed, the whole
 * stream checked against the instance hash), so an exported file is
 * byte for byte what was stored (after normalisation) and `sha256sum` of
 * it is the instance hash the index and the chain hold.  With --ts the
 * instance is converted (pacs_transcode) and is no longer those bytes.
 *
 * Layout: PATIENTID_STUDYDATE/SERIESNUMBER/INSTANCENUMBER.dcm, each name
 * made filesystem-safe ([A-Za-z0-9._-], others '_') and made unique with
 * _2, _3 ...; with --dicomdir, a File-set (PS3.10 8, PS3.11 Annex D
 * STD-GEN): DICOMDIR at the top and DICOM/Pnnnnnnn/Snnnnnnn/Rnnnnnnn/Innnnnnn
 * (File IDs of 8-character upper-case components, no extension).
 *
 * One export event per study (PS3.15 A.5.3.4: DCM 110106 Export, action
 * Read), peer the output's name, once the output is complete.
 *
 * Exit status: 0 exported; 1 a study is not in the archive (named; nothing
 * written) or an instance could not be rebuilt (the output is removed);
 * 2 bad usage. */
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_cmd.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "arca_event.h"
#include "arca_export_out.h"
#include "arca_import.h"
#include "arca_node.h"
#include "pacs_dicomdir.h"
#include "pacs_read.h"
#include "pacs_tags.h"
#include "pacs_transcode.h"
#include "pacs_ts.h"
#include "pacs_uid.h"
#include "store_cas.h"
#include "store_index.h"
#include "store_instance.h"

#define CMD "arca export"
#define MAX_STUDIES 1000

/* The index keys an export reads per instance. */
enum key {
	K_PATIENT_ID, K_ISSUER, K_PATIENT_NAME, K_STUDY_UID, K_STUDY_DATE, K_STUDY_TIME, K_STUDY_DESC, K_STUDY_ID,
	K_ACCESSION, K_SERIES_UID, K_MODALITY, K_SERIES_NUMBER, K_INSTANCE_NUMBER, K_SOP_UID, K_SOP_CLASS, K_COUNT
};

static const uint32_t key_tags[K_COUNT] = {
	PACS_TAG_PatientID, PACS_TAG_IssuerOfPatientID, PACS_TAG_PatientName, PACS_TAG_StudyInstanceUID,
	PACS_TAG_StudyDate, PACS_TAG_StudyTime, PACS_TAG_StudyDescription, PACS_TAG_StudyID,
	PACS_TAG_AccessionNumber, PACS_TAG_SeriesInstanceUID, PACS_TAG_Modality, PACS_TAG_SeriesNumber,
	PACS_TAG_InstanceNumber, PACS_TAG_SOPInstanceUID, PACS_TAG_SOPClassUID,
};

typedef struct item {
	char *v[K_COUNT];
	store_index_storage st;
	size_t study;     /* position of its study on the command line */
	char *rel;        /* its path in the output */
} item;

typedef struct items {
	item *v;
	size_t n, cap;
} items;

static void items_free(items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		for (int k = 0; k < K_COUNT; k++)
			free(it->v[i].v[k]);
		free(it->v[i].rel);
	}
	free(it->v);
}

static const char *val(const item *i, enum key k)
{
	return i->v[k] != NULL ? i->v[k] : "";
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca export [--root DIR] --study UID [--study UID...] --out FILE.tar|FILE.tar.gz|FILE.zip|DIR\n"
		"                   [--dicomdir] [--ts UID] [--quiet]\n"
		"  Writes the studies' instances, rebuilt byte for byte from the store.\n"
		"  --root DIR    the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --study UID   a Study Instance UID (repeatable)\n"
		"  --out OUT     a folder (created), or a .tar, .tar.gz/.tgz or .zip archive (must not exist)\n"
		"  --dicomdir    a DICOMDIR File-set (PS3.10): DICOMDIR and DICOM/Pnnnnnnn/... files\n"
		"  --ts UID      convert every instance to this transfer syntax\n"
		"  --quiet       no summary line\n"
		"exit: 0 exported, 1 a study is not in the archive or an instance failed, 2 bad usage.\n");
}

/* ------------------------------------------------------------ reading the index */

static int collect(store_index *idx, const char *study, size_t pos, items *out, size_t *found)
{
	store_index_find *find = NULL;
	store_index_query *q = NULL;
	bool row;
	int rc;

	*found = 0;
	if ((rc = store_index_find_new(&find, STORE_INDEX_STUDY_ROOT, STORE_INDEX_IMAGE)) < 0)
		return rc;
	for (int k = 0; k < K_COUNT; k++)
		if ((rc = store_index_find_add(find, key_tags[k], k == K_STUDY_UID ? study : NULL)) < 0)
			goto out;
	if ((rc = store_index_query_open(&q, idx, find)) < 0)
		goto out;
	while ((rc = store_index_query_next(q, &row)) == 0 && row) {
		item *it;
		if (out->n == out->cap) {
			size_t cap = out->cap != 0 ? 2 * out->cap : 64;
			item *g = realloc(out->v, cap * sizeof(*g));
			if (g == NULL) {
				rc = arca_error_set(ARCA_ENOMEM, "no memory for the instances to export");
				goto out;
			}
			out->v = g;
			out->cap = cap;
		}
		it = &out->v[out->n++];
		memset(it, 0, sizeof(*it));
		it->study = pos;
		for (int k = 0; k < K_COUNT; k++) {
			const char *v = store_index_query_value(q, key_tags[k]);
			if (v != NULL && v[0] != '\0' && (it->v[k] = strdup(v)) == NULL) {
				rc = arca_error_set(ARCA_ENOMEM, "no memory for the instances to export");
				goto out;
			}
		}
		if ((rc = store_index_query_storage(q, &it->st)) < 0)
			goto out;
		(*found)++;
	}
out:
	store_index_query_free(q);
	store_index_find_free(find);
	return rc;
}

/* IS values compare as numbers; absent ones last. */
static long number(const char *s)
{
	char *end;
	long v;

	if (s == NULL || s[0] == '\0')
		return LONG_MAX;
	v = strtol(s, &end, 10);
	return end == s ? LONG_MAX : v;
}

static int by_order(const void *pa, const void *pb)
{
	const item *a = pa, *b = pb;
	long x, y;
	int c;

	if (a->study != b->study)
		return a->study < b->study ? -1 : 1;
	x = number(a->v[K_SERIES_NUMBER]);
	y = number(b->v[K_SERIES_NUMBER]);
	if (x != y)
		return x < y ? -1 : 1;
	if ((c = strcmp(val(a, K_SERIES_UID), val(b, K_SERIES_UID))) != 0)
		return c;
	x = number(a->v[K_INSTANCE_NUMBER]);
	y = number(b->v[K_INSTANCE_NUMBER]);
	if (x != y)
		return x < y ? -1 : 1;
	return strcmp(val(a, K_SOP_UID), val(b, K_SOP_UID));
}

/* ------------------------------------------------------------ names */

/* A file name from index text: [A-Za-z0-9._-] kept, anything else '_',
 * no leading '.', at most 64 bytes, fallback when empty. */
static void safe_name(char *out, size_t size, const char *s, const char *fallback)
{
	size_t n = 0;

	if (s == NULL || s[0] == '\0')
		s = fallback;
	for (; *s != '\0' && n + 1 < size && n < 64; s++) {
		unsigned char ch = (unsigned char)*s;
		bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			  ch == '_' || (ch == '.' && n > 0);
		out[n++] = ok ? (char)ch : '_';
	}
	out[n] = '\0';
}

/* Whether a folder name cand is already the first path component(s) of
 * one of the items listed in firsts (the first item of each earlier
 * study, or of each earlier series of this study). */
static bool prefix_used(const items *all, const size_t *firsts, size_t n, const char *cand)
{
	size_t len = strlen(cand);

	for (size_t k = 0; k < n; k++) {
		const char *rel = all->v[firsts[k]].rel;
		if (strncmp(rel, cand, len) == 0 && rel[len] == '/')
			return true;
	}
	return false;
}

/* PATIENTID_STUDYDATE/SERIESNUMBER/INSTANCENUMBER.dcm, unique.  The items
 * are sorted by study, then series: each study's and each series' items
 * are contiguous, so a name is only compared with its own level's. */
static int plain_names(items *all)
{
	size_t *studies = calloc(all->n + 1, sizeof(*studies)), *series = calloc(all->n + 1, sizeof(*series));
	size_t n_studies = 0, n_series = 0, series_start = 0;
	char study[200] = "", serie[300] = "";
	int rc = 0;

	if (studies == NULL || series == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "no memory for the export's names");
		goto out;
	}
	for (size_t i = 0; i < all->n; i++) {
		item *it = &all->v[i], *prev = i > 0 ? &all->v[i - 1] : NULL;
		char pid[80], date[80], file[400], base[80];
		bool new_study = prev == NULL || it->study != prev->study;
		bool new_series = new_study || strcmp(val(prev, K_SERIES_UID), val(it, K_SERIES_UID)) != 0;

		if (new_study) {
			safe_name(pid, sizeof(pid), it->v[K_PATIENT_ID], "NOID");
			safe_name(date, sizeof(date), it->v[K_STUDY_DATE], "NODATE");
			snprintf(study, sizeof(study), "%s_%s", pid, date);
			for (unsigned k = 2; prefix_used(all, studies, n_studies, study); k++)
				snprintf(study, sizeof(study), "%s_%s_%u", pid, date, k);
			n_series = 0;
		}
		if (new_series) {
			safe_name(base, sizeof(base), it->v[K_SERIES_NUMBER], "0");
			snprintf(serie, sizeof(serie), "%s/%s", study, base);
			for (unsigned k = 2; prefix_used(all, series, n_series, serie); k++)
				snprintf(serie, sizeof(serie), "%s/%s_%u", study, base, k);
			series_start = i;
		}
		safe_name(base, sizeof(base), it->v[K_INSTANCE_NUMBER], val(it, K_SOP_UID));
		snprintf(file, sizeof(file), "%s/%s.dcm", serie, base);
		for (unsigned k = 2;; k++) {
			bool used = false;
			for (size_t j = series_start; j < i && !used; j++)
				used = strcmp(all->v[j].rel, file) == 0;
			if (!used)
				break;
			snprintf(file, sizeof(file), "%s/%s_%u.dcm", serie, base, k);
		}
		if ((it->rel = strdup(file)) == NULL) {
			rc = arca_error_set(ARCA_ENOMEM, "no memory for the export's names");
			goto out;
		}
		if (new_study)
			studies[n_studies++] = i;
		if (new_series)
			series[n_series++] = i;
	}
out:
	free(studies);
	free(series);
	return rc;
}

/* PS3.10 8.2, 8.5: DICOM/Pnnnnnnn/Snnnnnnn/Rnnnnnnn/Innnnnnn, numbered in
 * order of appearance per level; a patient (Patient ID + issuer) met again
 * in a later study keeps its number. */
static int dicomdir_names(items *all)
{
	const item **patients = calloc(all->n + 1, sizeof(*patients));
	unsigned n_patients = 0, p = 0, s = 0, r = 0, im = 0;
	int rc = 0;

	if (patients == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the export's names");
	for (size_t i = 0; i < all->n; i++) {
		item *it = &all->v[i], *prev = i > 0 ? &all->v[i - 1] : NULL;
		char path[PACS_DICOMDIR_PATH_MAX + 1];
		bool new_study = prev == NULL || it->study != prev->study;
		bool new_series = new_study || strcmp(val(prev, K_SERIES_UID), val(it, K_SERIES_UID)) != 0;

		if (new_study) {
			p = 0;
			for (unsigned k = 0; k < n_patients && p == 0; k++)
				if (strcmp(val(patients[k], K_PATIENT_ID), val(it, K_PATIENT_ID)) == 0 &&
				    strcmp(val(patients[k], K_ISSUER), val(it, K_ISSUER)) == 0)
					p = k + 1;
			if (p == 0) {
				patients[n_patients++] = it;
				p = n_patients;
			}
			s++;
		}
		r = new_series ? r + 1 : r;
		im = new_series ? 1 : im + 1;
		if (p > 9999999 || s > 9999999 || r > 9999999 || im > 9999999) {
			rc = arca_error_set(ARCA_ELIMIT, "too many instances for one DICOMDIR File-set");
			break;
		}
		snprintf(path, sizeof(path), "DICOM/P%07u/S%07u/R%07u/I%07u", p, s, r, im);
		if ((it->rel = strdup(path)) == NULL) {
			rc = arca_error_set(ARCA_ENOMEM, "no memory for the export's names");
			break;
		}
	}
	free(patients);
	return rc;
}

/* ------------------------------------------------------------ writing */

typedef struct membuf {
	uint8_t *data;
	size_t len, cap;
} membuf;

static int to_mem(void *ctx, const uint8_t *data, size_t len)
{
	membuf *m = ctx;

	if (m->len + len > m->cap) {
		size_t cap = m->cap != 0 ? m->cap : 65536;
		uint8_t *g;
		while (cap < m->len + len)
			cap *= 2;
		g = realloc(m->data, cap);
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory to convert an instance");
		m->data = g;
		m->cap = cap;
	}
	memcpy(m->data + m->len, data, len);
	m->len += len;
	return 0;
}

/* --ts: the instance rebuilt, then converted in memory. */
static int write_converted(store_cas *cas, arca_export_out *o, const item *it, const char *ts)
{
	pacs_transcode_opts to;
	pacs_read_opts ro;
	pacs_ds *ds = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	membuf m = { NULL, 0, 0 };
	int rc;

	if ((rc = store_instance_read(cas, it->st.manifest, &bytes, &len)) < 0)
		return rc;
	pacs_read_opts_init(&ro);
	rc = pacs_read_buffer(&ds, bytes, len, &ro);
	if (rc == 0) {
		pacs_transcode_opts_init(&to);
		to.ts_uid = ts;
		rc = pacs_transcode_part10(ds, &to, to_mem, &m);
	}
	if (rc == 0 && (rc = arca_export_out_begin(o, it->rel, m.len)) == 0 &&
	    (rc = arca_export_out_write(o, m.data, m.len)) == 0)
		rc = arca_export_out_end(o);
	pacs_ds_free(ds);
	free(bytes);
	free(m.data);
	return rc;
}

static int write_instance(store_cas *cas, arca_export_out *o, const item *it, const char *ts)
{
	uint8_t hash[STORE_CAS_HASH_LEN];
	int rc;

	if (ts != NULL)
		return write_converted(cas, o, it, ts);
	if ((rc = arca_export_out_begin(o, it->rel, it->st.size)) < 0)
		return rc;
	/* the retrieve read path: every chunk and the whole stream checked */
	if ((rc = store_instance_write(cas, it->st.manifest, arca_export_out_write, o, hash)) < 0)
		return rc;
	if (memcmp(hash, it->st.instance_hash, sizeof(hash)) != 0)
		return arca_error_set(ARCA_ECRYPTO, "instance %s: the index's instance hash is not the manifest's",
				      val(it, K_SOP_UID));
	return arca_export_out_end(o);
}

static int write_dicomdir(arca_export_out *o, const items *all, const char *ts)
{
	pacs_dicomdir_entry *e = calloc(all->n + 1, sizeof(*e));
	uint8_t *bytes = NULL;
	size_t len = 0;
	int rc;

	if (e == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the DICOMDIR");
	for (size_t i = 0; i < all->n; i++) {
		const item *it = &all->v[i];
		e[i].file_id = it->rel;
		e[i].patient_id = it->v[K_PATIENT_ID];
		e[i].patient_name = it->v[K_PATIENT_NAME];
		e[i].study_uid = it->v[K_STUDY_UID];
		e[i].study_date = it->v[K_STUDY_DATE];
		e[i].study_time = it->v[K_STUDY_TIME];
		e[i].study_description = it->v[K_STUDY_DESC];
		e[i].study_id = it->v[K_STUDY_ID];
		e[i].accession = it->v[K_ACCESSION];
		e[i].series_uid = it->v[K_SERIES_UID];
		e[i].modality = it->v[K_MODALITY];
		e[i].series_number = it->v[K_SERIES_NUMBER];
		e[i].sop_class = it->v[K_SOP_CLASS];
		e[i].sop_instance = it->v[K_SOP_UID];
		e[i].transfer_syntax = ts != NULL ? ts : it->st.transfer_syntax;
		e[i].instance_number = it->v[K_INSTANCE_NUMBER];
		e[i].issuer = it->v[K_ISSUER];
	}
	rc = pacs_dicomdir_build(&bytes, &len, "ARCA", e, all->n);
	free(e);
	if (rc == 0 && (rc = arca_export_out_begin(o, "DICOMDIR", len)) == 0 &&
	    (rc = arca_export_out_write(o, bytes, len)) == 0)
		rc = arca_export_out_end(o);
	free(bytes);
	return rc;
}

/* ------------------------------------------------------------ events */

static int record_events(const arca_conf *conf, const items *all, const char *const *studies, size_t n_studies,
			 const char *out)
{
	char peer[CHAIN_ENTRY_TEXT_MAX + 1], user[CHAIN_ENTRY_TEXT_MAX + 1];
	struct passwd *pw = getpwuid(geteuid());
	store_instance_ref *refs;
	int rc = 0;

	/* the output's name */
	arca_import_peer_name(peer, sizeof(peer), out);
	snprintf(user, sizeof(user), "%s", pw != NULL && pw->pw_name != NULL ? pw->pw_name : "unknown");
	refs = calloc(all->n + 1, sizeof(*refs));
	if (refs == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the export events");
	for (size_t s = 0; s < n_studies && rc == 0; s++) {
		const item *first = NULL;
		chain_entry e;
		size_t n = 0;

		for (size_t i = 0; i < all->n; i++) {
			if (all->v[i].study != s)
				continue;
			first = first != NULL ? first : &all->v[i];
			refs[n].sop_instance_uid = val(&all->v[i], K_SOP_UID);
			memcpy(refs[n].hash, all->v[i].st.instance_hash, sizeof(refs[n].hash));
			n++;
		}
		if (first == NULL)
			continue;
		memset(&e, 0, sizeof(e));
		/* PS3.15 A.5.3.4 Export: instances written to media or files,
		 * action Read; the study hash over what was exported (all of
		 * the study's current instances, as stored) */
		e.event = CHAIN_EVENT_EXPORT;
		e.action = CHAIN_ACTION_READ;
		e.outcome = CHAIN_OUTCOME_SUCCESS;
		e.actor_user = user;
		e.study_uid = studies[s];
		e.instances = (uint32_t)n;
		if ((rc = store_instance_study_hash(refs, n, e.study_hash)) < 0)
			break;
		e.has_study_hash = true;
		e.peer = peer;
		rc = arca_event_record(conf, &e, first->v[K_PATIENT_ID], first->v[K_ISSUER], NULL);
	}
	free(refs);
	return rc;
}

/* ------------------------------------------------------------ the command */

int arca_cmd_export(int argc, char **argv)
{
	const char *root = NULL, *out = NULL, *ts = NULL;
	const char *studies[MAX_STUDIES];
	size_t n_studies = 0;
	bool dicomdir = false, quiet = false;
	arca_conf conf;
	store_cas_options co;
	store_cas *cas = NULL;
	store_index *idx = NULL;
	arca_export_out *o = NULL;
	items all = { NULL, 0, 0 };
	uint64_t bytes = 0;
	int status = ARCA_EXIT_OK, rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--study") == 0 && i + 1 < argc) {
			const char *uid = argv[++i];
			if (!pacs_uid_is_valid(uid, strlen(uid))) {
				fprintf(stderr, CMD ": --study %s is not a UID (PS3.5 9.1: digits and dots, 64 at most)\n", uid);
				return ARCA_EXIT_USAGE;
			}
			if (n_studies == MAX_STUDIES) {
				fprintf(stderr, CMD ": at most %d --study per export\n", MAX_STUDIES);
				return ARCA_EXIT_USAGE;
			}
			studies[n_studies++] = uid;
		} else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(a, "--ts") == 0 && i + 1 < argc) {
			ts = argv[++i];
		} else if (strcmp(a, "--dicomdir") == 0) {
			dicomdir = true;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			quiet = true;
		} else {
			fprintf(stderr, CMD ": unknown option or missing value: %s (see arca export --help)\n", a);
			return ARCA_EXIT_USAGE;
		}
	}
	if (n_studies == 0 || out == NULL || out[0] == '\0') {
		fprintf(stderr, CMD ": --study UID and --out are required (see arca export --help)\n");
		return ARCA_EXIT_USAGE;
	}
	if (ts != NULL && pacs_ts_lookup(ts) == NULL) {
		fprintf(stderr, CMD ": --ts %s is not a transfer syntax arca knows\n", ts);
		return ARCA_EXIT_USAGE;
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (arca_node_load_conf(&conf, root) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	store_cas_options_init(&co);
	if (strcmp(conf.storage_backend, "cas") != 0) {
		fprintf(stderr, CMD ": [storage] backend = %s: export reads the content-addressed store (backend = cas)\n",
			conf.storage_backend);
		arca_conf_release(&conf);
		return ARCA_EXIT_USAGE;
	}
	if (store_index_open(&idx, conf.index_path, NULL) < 0 || store_cas_open(&cas, conf.storage_path, &co) < 0) {
		fprintf(stderr, CMD ": cannot open the archive %s: %s\n", root, arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto done;
	}
	/* every study is looked up before anything is written */
	for (size_t s = 0; s < n_studies; s++) {
		size_t found = 0;
		bool repeated = false;
		for (size_t t = 0; t < s && !repeated; t++)
			repeated = strcmp(studies[t], studies[s]) == 0;
		if (repeated)
			continue;
		if ((rc = collect(idx, studies[s], s, &all, &found)) < 0) {
			fprintf(stderr, CMD ": study %s: %s\n", studies[s], arca_error_last());
			status = ARCA_EXIT_FAULT;
			goto done;
		}
		if (found == 0) {
			fprintf(stderr, CMD ": study %s is not in the archive %s\n", studies[s], root);
			status = ARCA_EXIT_FAULT;
		}
	}
	if (status != ARCA_EXIT_OK)
		goto done;
	qsort(all.v, all.n, sizeof(*all.v), by_order);
	if ((rc = dicomdir ? dicomdir_names(&all) : plain_names(&all)) < 0 ||
	    (rc = arca_export_out_open(&o, out)) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		status = rc == ARCA_EEXISTS ? ARCA_EXIT_USAGE : ARCA_EXIT_FAULT;
		goto done;
	}
	for (size_t i = 0; i < all.n; i++) {
		if ((rc = write_instance(cas, o, &all.v[i], ts)) < 0) {
			fprintf(stderr, CMD ": instance %s of study %s: %s\n", val(&all.v[i], K_SOP_UID),
				val(&all.v[i], K_STUDY_UID), arca_error_last());
			/* a file already in the folder is bad input, not a fault */
			status = rc == ARCA_EEXISTS ? ARCA_EXIT_USAGE : ARCA_EXIT_FAULT;
			goto done;
		}
		bytes += all.v[i].st.size;
	}
	if (dicomdir && (rc = write_dicomdir(o, &all, ts)) < 0) {
		fprintf(stderr, CMD ": DICOMDIR: %s\n", arca_error_last());
		status = ARCA_EXIT_FAULT;
		goto done;
	}
	rc = arca_export_out_close(o);
	o = NULL;
	if (rc < 0) {
		fprintf(stderr, CMD ": %s: %s\n", out, arca_error_last());
		status = ARCA_EXIT_FAULT;
		goto done;
	}
	if (record_events(&conf, &all, studies, n_studies, out) < 0) {
		fprintf(stderr, CMD ": exported, but the provenance events were not recorded: %s\n", arca_error_last());
		status = ARCA_EXIT_FAULT;
	}
	if (!quiet)
		printf("exported %zu instances of %zu studies (%.1f MB) to %s%s\n", all.n, n_studies, (double)bytes / 1e6, out,
		       dicomdir ? " with a DICOMDIR" : "");
done:
	arca_export_out_abort(o);
	items_free(&all);
	store_cas_free(cas);
	store_index_free(idx);
	arca_conf_release(&conf);
	return status;
}
