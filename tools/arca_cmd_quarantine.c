/* arca_cmd_quarantine.c - `arca quarantine list|show|release|drop`: the
 * instances the ingest refused (issue 4), kept in
 * STORAGE/quarantine/<SOP Instance UID>/ as instance.dcm (what would have
 * been stored, Original Attributes Sequence included) and reason.txt
 * (written by storage/store_ingest_cas_commit.c).
 *
 * release re-ingests the instance through the normal path (the rules of
 * arca.conf, the chunk store, the index), so what it stores is exactly what
 * a C-STORE of it would have stored; refused again, it stays in quarantine
 * and the command exits 1, unless --force waives the rules that refused it
 * (pacs_norm_run_waived: the elements concerned are recorded in the
 * instance's Original Attributes Sequence, PS3.3 C.12.1.1.9).  drop removes
 * it.  Both leave a quality record (store_quality.h) and a provenance
 * event (arca_event.h: arca:quarantine-release, action U; arca:quarantine-
 * drop, action D).  They work while arcad runs: the chunk store and the
 * index are shared between processes, and the event goes through arcad's
 * spool when it holds the log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_cmd.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "arca_event.h"
#include "arca_node.h"
#include "arca_time.h"
#include "pacs_dimse.h"
#include "pacs_dict.h"
#include "pacs_dump.h"
#include "pacs_read.h"
#include "pacs_tags.h"
#include "store_index.h"
#include "store_ingest.h"
#include "store_instance.h"
#include "store_quality.h"
#include "store_study.h"

#define CMD "arca quarantine"
#define REASON_FILE "reason.txt"
#define INSTANCE_FILE "instance.dcm"
#define REASON_MAX (1u << 20)
#define MAX_WAIVE 32
#define READ_BLOCK (256u * 1024u)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca quarantine [--root DIR] list [--json]\n"
		"       arca quarantine [--root DIR] show UID [--full]\n"
		"       arca quarantine [--root DIR] release UID [--force]\n"
		"       arca quarantine [--root DIR] drop UID\n"
		"\n"
		"The instances the ingest refused, kept with the reason (see\n"
		"arca-quarantine(1)).\n"
		"\n"
		"  list      one line per instance: SOP Instance UID, when it was received,\n"
		"            the calling AE, the status answered, whether the UID is stored\n"
		"            now (sent again, corrected) and the reason\n"
		"  show      the reason file and the instance's main attributes (--full:\n"
		"            every attribute, as arca dump)\n"
		"  release   store it through the normal ingest path; if the rules refuse\n"
		"            it again, it stays and the exit status is 1.  --force waives\n"
		"            the rules that refused it (recorded in the instance's Original\n"
		"            Attributes Sequence, in the quality records and on the chain)\n"
		"  drop      remove it (recorded in the quality records and on the chain)\n"
		"\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --help       print this help and exit\n");
}

/* ------------------------------------------------------------ the folder */

typedef struct qentry {
	char uid[80];            /* the folder's name */
	char received[32];       /* "2026-11-28T22:50:00Z" */
	char ae[PACS_DIMSE_AE_MAX + 1];
	unsigned status;
	char comment[PACS_DIMSE_COMMENT_MAX + 1];
	char reason[256];        /* the first line of the explanation */
	bool stored;             /* the UID is in the index now (a corrected
				  * instance sent again): the entry can go */
	char *text;              /* the whole reason file */
} qentry;

/* A folder name that is a quarantine entry: what the ingest writes (a
 * UID, or invalid-uid-<hex>); never a path. */
static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 79 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '.' || name[i] == '-' ||
		      (name[i] >= 'a' && name[i] <= 'z')))
			return false;
	return true;
}

/* The whole file, at most REASON_MAX bytes (a reason file is a few
 * hundred: the explanation lists at most 256 hits). */
static int read_text(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t cap, n;
	char *buf;

	*out = NULL;
	if (f == NULL)
		return arca_error_set(errno == ENOENT ? ARCA_ENOTFOUND : ARCA_EIO, "%s: %s", path, strerror(errno));
	cap = fstat(fileno(f), &st) == 0 && st.st_size >= 0 && (uint64_t)st.st_size < REASON_MAX ? (size_t)st.st_size
												     : REASON_MAX;
	buf = malloc(cap + 1);
	if (buf == NULL) {
		fclose(f);
		return arca_error_set(ARCA_ENOMEM, "no memory for %s", path);
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* The value of "key: value" at the start of a line of text. */
static void field(const char *text, const char *key, char *out, size_t size)
{
	size_t k = strlen(key);

	out[0] = '\0';
	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL) {
		if (strncmp(p, key, k) == 0 && p[k] == ':' && p[k + 1] == ' ') {
			const char *v = p + k + 2, *e = strchr(v, '\n');
			size_t n = e != NULL ? (size_t)(e - v) : strlen(v);
			snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), v);
			return;
		}
	}
}

/* The explanation: what follows the first empty line. */
static const char *explanation(const char *text)
{
	const char *p = strstr(text, "\n\n");

	return p != NULL ? p + 2 : "";
}

static int entry_load(qentry *e, const char *qdir, const char *name)
{
	char path[PATH_MAX], refused[128];
	const char *ex;
	int rc;

	memset(e, 0, sizeof(*e));
	snprintf(e->uid, sizeof(e->uid), "%s", name);
	if (snprintf(path, sizeof(path), "%s/%s/" REASON_FILE, qdir, name) >= (int)sizeof(path))
		return arca_error_set(ARCA_ELIMIT, "quarantine path too long");
	if ((rc = read_text(path, &e->text)) < 0)
		return rc;
	field(e->text, "received", e->received, sizeof(e->received));
	field(e->text, "calling AE", e->ae, sizeof(e->ae));
	field(e->text, "refused", refused, sizeof(refused));
	if (sscanf(refused, "0x%4x", &e->status) == 1 && strlen(refused) > 7)
		snprintf(e->comment, sizeof(e->comment), "%s", refused + 7);
	ex = explanation(e->text);
	snprintf(e->reason, sizeof(e->reason), "%.*s", (int)strcspn(ex, "\n"), ex);
	if (e->reason[0] == '\0')
		snprintf(e->reason, sizeof(e->reason), "%s", e->comment);
	return 0;
}

static void entry_free(qentry *e)
{
	free(e->text);
	e->text = NULL;
}

static int by_received(const void *a, const void *b)
{
	const qentry *x = a, *y = b;
	int c = strcmp(x->received, y->received);

	return c != 0 ? c : strcmp(x->uid, y->uid);
}

/* ------------------------------------------------------------ list */

/* Marks the entries whose SOP Instance UID the index holds now: the
 * sender fixed the instance and sent it again, or it came another way. */
static void mark_stored(const arca_conf *conf, qentry *v, size_t n)
{
	store_index *idx = NULL;
	store_index_storage st;

	/* no index yet: nothing is stored (and a listing creates none) */
	if (n == 0 || access(conf->index_path, F_OK) != 0 || store_index_open(&idx, conf->index_path, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		v[i].stored = store_index_get(idx, v[i].uid, 0, &st) == 0;
	store_index_free(idx);
}

static int cmd_list(const arca_conf *conf, const char *qdir, bool json)
{
	DIR *d = opendir(qdir);
	qentry *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int status = ARCA_EXIT_OK;

	if (d == NULL && errno != ENOENT) {
		fprintf(stderr, CMD " list: %s: %s\n", qdir, strerror(errno));
		return ARCA_EXIT_USAGE;
	}
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (!name_ok(de->d_name))
			continue;
		if (n == cap) {
			qentry *g = realloc(v, (cap = cap != 0 ? cap * 2 : 16) * sizeof(*v));
			if (g == NULL) {
				fprintf(stderr, CMD " list: out of memory\n");
				status = ARCA_EXIT_USAGE;
				break;
			}
			v = g;
		}
		/* a folder being written or removed by someone else is skipped;
		 * the fields are kept, not the text */
		bool loaded = entry_load(&v[n], qdir, de->d_name) == 0;
		entry_free(&v[n]);
		if (loaded)
			n++;
	}
	if (d != NULL)
		closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), by_received);
	mark_stored(conf, v, n);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr != NULL && i < n; i++) {
			char st[8];
			snprintf(st, sizeof(st), "%04X", v[i].status);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "uid", v[i].uid,
							     "received", v[i].received, "calling_ae", v[i].ae, "status",
							     st, "comment", v[i].comment, "stored", (int)v[i].stored,
							     "reason", v[i].reason));
		}
		if (arr == NULL || json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
			status = ARCA_EXIT_USAGE;
		else
			fputc('\n', stdout);
		json_decref(arr);
	} else if (n == 0) {
		printf("the quarantine is empty\n");
	} else {
		int wu = 3, wr = 8, wa = 10;
		for (size_t i = 0; i < n; i++) {
			wu = (int)strlen(v[i].uid) > wu ? (int)strlen(v[i].uid) : wu;
			wr = (int)strlen(v[i].received) > wr ? (int)strlen(v[i].received) : wr;
			wa = (int)strlen(v[i].ae) > wa ? (int)strlen(v[i].ae) : wa;
		}
		printf("%-*s  %-*s  %-*s  STATUS  STORED  REASON\n", wu, "UID", wr, "RECEIVED", wa, "CALLING AE");
		for (size_t i = 0; i < n; i++)
			printf("%-*s  %-*s  %-*s  %04X    %-6s  %s\n", wu, v[i].uid, wr, v[i].received, wa, v[i].ae,
			       v[i].status, v[i].stored ? "yes" : "no", v[i].reason);
	}
	for (size_t i = 0; i < n; i++)
		entry_free(&v[i]);
	free(v);
	return status;
}

/* ------------------------------------------------------------ show */

static int read_instance(const char *path, pacs_ds **out)
{
	pacs_read_opts ro;

	pacs_read_opts_init(&ro);
	/* metadata only: bulk values are skipped */
	ro.bulk_threshold = 4096;
	return pacs_read_file(out, path, &ro);
}

static void show_attributes(const pacs_ds *ds)
{
	static const uint32_t main_tags[] = {
		PACS_TAG_SpecificCharacterSet, PACS_TAG_SOPClassUID, PACS_TAG_SOPInstanceUID,
		PACS_TAG_StudyDate, PACS_TAG_StudyTime, PACS_TAG_AccessionNumber, PACS_TAG_Modality,
		PACS_TAG_Manufacturer, PACS_TAG_InstitutionName, PACS_TAG_StationName, PACS_TAG_StudyDescription,
		PACS_TAG_SeriesDescription, PACS_TAG_PatientName, PACS_TAG_PatientID, PACS_TAG_IssuerOfPatientID,
		PACS_TAG_PatientBirthDate, PACS_TAG_PatientSex, PACS_TAG_BodyPartExamined,
		PACS_TAG_StudyInstanceUID, PACS_TAG_SeriesInstanceUID, PACS_TAG_StudyID, PACS_TAG_SeriesNumber,
		PACS_TAG_InstanceNumber, PACS_TAG_NumberOfFrames, PACS_TAG_Rows, PACS_TAG_Columns,
		PACS_TAG(0x0400, 0x0561),
	};

	for (size_t i = 0; i < sizeof(main_tags) / sizeof(main_tags[0]); i++) {
		uint32_t tag = main_tags[i];
		const pacs_elem *e = pacs_ds_find(ds, tag);
		const char *kw = pacs_dict_keyword(tag);
		char *v = NULL;
		uint64_t u;

		printf("(%04X,%04X) ", PACS_TAG_GROUP(tag), PACS_TAG_ELEMENT(tag));
		if (e == NULL) {
			printf("--  %-28s (absent)\n", kw);
			continue;
		}
		printf("%s  %-28s ", pacs_vr_name(pacs_elem_vr(e)), kw);
		if (pacs_elem_is_sequence(e))
			printf("(sequence, %zu items)\n", pacs_elem_item_count(e));
		else if ((pacs_elem_vr(e) == PACS_VR_US || pacs_elem_vr(e) == PACS_VR_UL) &&
			 pacs_ds_get_uint(ds, tag, 0, &u) == 0)
			printf("%llu\n", (unsigned long long)u);
		else if (pacs_ds_get_utf8(ds, tag, &v) == 0)
			printf("[%s]\n", v);
		else
			printf("(cannot be shown: %s)\n", arca_error_last());
		free(v);
	}
}

static int cmd_show(const char *qdir, const char *uid, bool full)
{
	char path[PATH_MAX];
	pacs_ds *ds = NULL;
	qentry e;
	int rc;

	if ((rc = entry_load(&e, qdir, uid)) < 0) {
		if (rc == ARCA_ENOTFOUND)
			fprintf(stderr, CMD " show: no instance %s in quarantine (see arca quarantine list)\n", uid);
		else
			fprintf(stderr, CMD " show: %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	printf("%s/%s/" REASON_FILE ":\n%s", qdir, uid, e.text);
	if (e.text[0] != '\0' && e.text[strlen(e.text) - 1] != '\n')
		putchar('\n');
	entry_free(&e);
	snprintf(path, sizeof(path), "%s/%s/" INSTANCE_FILE, qdir, uid);
	if (read_instance(path, &ds) < 0) {
		fprintf(stderr, CMD " show: %s: %s\n", path, arca_error_last());
		return ARCA_EXIT_FAULT;
	}
	printf("\n%s:\n", path);
	if (full)
		(void)pacs_dump(ds, stdout, PACS_DUMP_NO_META);
	else
		show_attributes(ds);
	pacs_ds_free(ds);
	return ARCA_EXIT_OK;
}

/* ------------------------------------------------------------ shared by release and drop */

static void text_of(const pacs_ds *ds, uint32_t tag, char *out, size_t size)
{
	char *v = NULL;

	out[0] = '\0';
	if (pacs_ds_get_utf8(ds, tag, &v) == 0)
		snprintf(out, size, "%s", v);
	free(v);
}

/* The study hash over the study's current instances in the index, and how
 * many they are (store_study.h): what arcad's store events and arca
 * import's events carry, so that a release states the study as it now is
 * and `arca verify` finds the chain up to date with the index. */
static int study_hash(const arca_conf *conf, const char *study, uint8_t hash[CHAIN_HASH_LEN], uint32_t *count)
{
	store_index *idx = NULL;
	int rc;

	if ((rc = store_index_open(&idx, conf->index_path, NULL)) == 0)
		rc = store_study_hash(idx, study, hash, count);
	store_index_free(idx);
	return rc;
}

/* The provenance event of a release or a drop (issue 5): the study, the
 * patient as a pseudonym, the actor the login user.  A drop concerns one
 * instance, which was never stored; a release carries the study hash over
 * the study's instances now, and their number. */
static int record_event(const arca_conf *conf, chain_event event, char action, const pacs_ds *ds, bool *durable)
{
	char study[PACS_DIMSE_UID_MAX + 1], pid[80], issuer[80];
	chain_entry e;
	int rc;

	text_of(ds, PACS_TAG_StudyInstanceUID, study, sizeof(study));
	text_of(ds, PACS_TAG_PatientID, pid, sizeof(pid));
	text_of(ds, PACS_TAG_IssuerOfPatientID, issuer, sizeof(issuer));
	memset(&e, 0, sizeof(e));
	e.event = event;
	e.action = action;
	e.outcome = CHAIN_OUTCOME_SUCCESS;
	e.study_uid = study[0] != '\0' ? study : NULL;
	e.instances = 1;
	if (event == CHAIN_EVENT_QUARANTINE_RELEASE && e.study_uid != NULL) {
		if ((rc = study_hash(conf, study, e.study_hash, &e.instances)) < 0)
			return rc;
		e.has_study_hash = true;
	}
	return arca_event_record(conf, &e, pid[0] != '\0' ? pid : NULL, issuer[0] != '\0' ? issuer : NULL, durable);
}

/* rm -r of one quarantine folder (its two files), then the parent synced. */
static int remove_entry(const char *qdir, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s/%s", qdir, name);
	d = opendir(dir);
	if (d == NULL)
		return arca_error_set(ARCA_EIO, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0 && rc == 0)
			rc = arca_error_set(ARCA_EIO, "cannot remove %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (rc == 0 && rmdir(dir) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot remove %s: %s", dir, strerror(errno));
	if (rc == 0 && (fd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(fd) != 0)
			rc = arca_error_set(ARCA_EIO, "cannot sync %s: %s", qdir, strerror(errno));
		close(fd);
	}
	return rc;
}

static int write_text(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (f == NULL)
		return arca_error_set(ARCA_EIO, "%s: %s", tmp, strerror(errno));
	if (fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot write %s: %s", tmp, strerror(errno));
	if (fclose(f) != 0 && rc == 0)
		rc = arca_error_set(ARCA_EIO, "cannot write %s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot rename %s: %s", tmp, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Who ran the command, for the reason file (the chain event names the
 * same user, arca_event.h). */
static void login_user(char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (getlogin_r(buf, size) == 0 && buf[0] != '\0')
		return;
	if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL && res->pw_name[0] != '\0')
		snprintf(buf, size, "%s", res->pw_name);
	else
		snprintf(buf, size, "uid %lu", (unsigned long)geteuid());
}

/* UTC, as the ingest writes "received:" */
static void utc_now(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------ release */

typedef struct feed {
	const pacs_ingest *in;
	void *txn;
} feed;

static int to_ingest(void *ctx, const pacs_bulk_event *ev)
{
	feed *f = ctx;

	return f->in->ops->bulk(f->txn, ev);
}

/* PS3.10 7.1: the meta group describes the file; the ingest takes a data
 * set as C-STORE carries it (PS3.7 9.3.1.1), with a zero preamble. */
static int drop_meta(pacs_ds *ds)
{
	static const uint8_t zeros[128];
	int rc;

	for (size_t i = pacs_ds_count(ds); i > 0; i--) {
		uint32_t tag = pacs_elem_tag(pacs_ds_at(ds, i - 1));
		if (PACS_TAG_GROUP(tag) == 0x0002 && (rc = pacs_ds_remove(ds, tag)) < 0)
			return rc;
	}
	return pacs_ds_preamble(ds) != NULL ? pacs_ds_set_preamble(ds, zeros) : 0;
}

/* Feeds path through the ingest as one instance from calling_ae; *res is
 * the answer a C-STORE would have had.  The rules ids waive[0..n_waive)
 * are waived. */
static int reingest(const pacs_ingest *in, const char *path, const char *calling_ae, const char *called_ae,
		    const char *const *waive, size_t n_waive, pacs_ingest_result *res)
{
	pacs_ingest_info info;
	pacs_read_opts ro;
	pacs_reader *r = NULL;
	pacs_ds *ds = NULL;
	feed f = { in, NULL };
	uint8_t *buf = NULL;
	int fd = -1, rc;

	memset(&info, 0, sizeof(info));
	info.calling_ae = calling_ae;
	info.called_ae = called_ae;
	info.peer_address = STORE_INGEST_RELEASE_PEER;
	if ((rc = in->ops->begin(in->ctx, &info, &f.txn)) < 0)
		return rc;
	store_ingest_cas_waive(f.txn, waive, n_waive);
	pacs_read_opts_init(&ro);
	ro.bulk_threshold = 64u * 1024u;
	ro.bulk_fn = to_ingest;
	ro.bulk_ctx = &f;
	if ((rc = pacs_reader_new(&r, &ro)) < 0)
		goto fail;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf = malloc(READ_BLOCK);
	if (fd < 0 || buf == NULL) {
		rc = arca_error_set(fd < 0 ? ARCA_EIO : ARCA_ENOMEM, "%s: %s", path,
				    fd < 0 ? strerror(errno) : "out of memory");
		goto fail;
	}
	for (;;) {
		ssize_t got = read(fd, buf, READ_BLOCK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = arca_error_set(ARCA_EIO, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		if ((rc = pacs_reader_feed(r, buf, (size_t)got)) < 0)
			goto fail;
	}
	if ((rc = pacs_reader_finish(r, &ds)) < 0 || (rc = drop_meta(ds)) < 0)
		goto fail;
	close(fd);
	free(buf);
	pacs_reader_free(r);
	/* commit owns ds and ends the transaction, whatever it returns */
	return in->ops->commit(f.txn, ds, res);
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	pacs_reader_free(r);
	pacs_ds_free(ds);
	in->ops->abort(f.txn);
	return rc;
}

/* The rules that refused: the explanation's lines are
 * "FILE:LINE RULE ACTION PATH TEXT" (pacs_norm_result.explanation). */
static size_t refusing_rules(const char *text, char ids[MAX_WAIVE][PACS_NORM_ID_MAX + 1])
{
	size_t n = 0;

	for (const char *p = explanation(text); p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL) {
		char where[128], rule[PACS_NORM_ID_MAX + 1], action[16];
		bool seen = false;

		if (sscanf(p, "%127s %48s %15s", where, rule, action) != 3 || strcmp(action, "refuse") != 0 ||
		    strchr(where, ':') == NULL)
			continue;
		for (size_t i = 0; i < n; i++)
			seen = seen || strcmp(ids[i], rule) == 0;
		if (!seen && n < MAX_WAIVE)
			snprintf(ids[n++], PACS_NORM_ID_MAX + 1, "%s", rule);
	}
	return n;
}

static bool is_failure(uint16_t status)
{
	/* PS3.4 B.2.3: A7xx, A9xx and Cxxx are failures */
	return (status & 0xF000) == 0xA000 || (status & 0xF000) == 0xC000;
}

static int cmd_release(const arca_conf *conf, const char *qdir, const char *uid, bool force)
{
	char path[PATH_MAX], reason_path[PATH_MAX], ids[MAX_WAIVE][PACS_NORM_ID_MAX + 1], user[64], when[32];
	const char *waive[MAX_WAIVE];
	size_t n_waive = 0;
	store_ingest_cas_options co;
	store_ingest_cas *s = NULL;
	pacs_ingest in;
	pacs_ingest_result res;
	pacs_ds *ds = NULL;
	bool durable = false;
	qentry e;
	int rc, status = ARCA_EXIT_OK;

	if (strcmp(conf->storage_backend, "cas") != 0) {
		fprintf(stderr, CMD " release: [storage] backend = %s: release stores into the content-addressed store\n",
			conf->storage_backend);
		return ARCA_EXIT_USAGE;
	}
	if ((rc = entry_load(&e, qdir, uid)) < 0) {
		if (rc == ARCA_ENOTFOUND)
			fprintf(stderr, CMD " release: no instance %s in quarantine (see arca quarantine list)\n", uid);
		else
			fprintf(stderr, CMD " release: %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/%s/" INSTANCE_FILE, qdir, uid);
	snprintf(reason_path, sizeof(reason_path), "%s/%s/" REASON_FILE, qdir, uid);
	/* what the event names, read before the instance moves */
	if (read_instance(path, &ds) < 0) {
		fprintf(stderr, CMD " release: %s: %s\n", path, arca_error_last());
		entry_free(&e);
		return ARCA_EXIT_FAULT;
	}
	if (force) {
		n_waive = refusing_rules(e.text, ids);
		if (n_waive == 0) {
			fprintf(stderr,
				CMD " release: %s was refused by the ingest's own checks (%s), not by a rule: --force cannot waive that\n",
				uid, e.comment);
			status = ARCA_EXIT_FAULT;
			goto done;
		}
		for (size_t i = 0; i < n_waive; i++)
			waive[i] = ids[i];
	}
	store_ingest_cas_options_init(&co);
	co.zstd_level = conf->zstd_level;
	co.codec = conf->codec;
	co.encrypt = conf->encrypt;
	co.rules = conf->storage_rules;
	co.index = conf->index_path;
	co.put_threads = 0;
	if (store_ingest_cas_open(&s, conf->storage_path, &co) < 0) {
		fprintf(stderr, CMD " release: cannot open the archive: %s\n", arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto done;
	}
	store_ingest_cas_ingest(s, &in);
	rc = reingest(&in, path, e.ae, conf->ae, waive, n_waive, &res);
	store_ingest_cas_free(s);
	login_user(user, sizeof(user));
	utc_now(when, sizeof(when));
	if (rc < 0 || is_failure(res.status)) {
		/* still in quarantine: the first refusal's reason file stays,
		 * with the attempt noted under it */
		char *text = NULL;
		const char *why = rc < 0 ? arca_error_last() : res.comment;
		int n = snprintf(NULL, 0, "%s\nrelease attempt %s by %s%s: refused again: %04X %s\n", e.text, when, user,
				 force ? " (--force)" : "", rc < 0 ? 0xA700 : res.status, why);
		if ((text = malloc((size_t)n + 1)) != NULL) {
			snprintf(text, (size_t)n + 1, "%s\nrelease attempt %s by %s%s: refused again: %04X %s\n", e.text,
				 when, user, force ? " (--force)" : "", rc < 0 ? 0xA700 : res.status, why);
			(void)write_text(reason_path, text);
			free(text);
		}
		if (rc < 0)
			fprintf(stderr, CMD " release: %s: %s\n", uid, arca_error_last());
		else
			fprintf(stderr, CMD " release: %s is refused again (status %04X: %s); it stays in quarantine%s\n",
				uid, res.status, res.comment,
				force ? "" : " (arca quarantine release --force stores it anyway)");
		status = ARCA_EXIT_FAULT;
		goto done;
	}
	if (remove_entry(qdir, uid) < 0)
		fprintf(stderr, CMD " release: %s is stored, but its quarantine folder stays: %s\n", uid,
			arca_error_last());
	if (record_event(conf, CHAIN_EVENT_QUARANTINE_RELEASE, CHAIN_ACTION_UPDATE, ds, &durable) < 0) {
		fprintf(stderr, CMD " release: %s is stored, but its provenance event was not recorded: %s\n", uid,
			arca_error_last());
		status = ARCA_EXIT_FAULT;
		goto done;
	}
	printf("released %s: stored (status %04X%s%s)", uid, res.status, res.comment[0] != '\0' ? " " : "",
	       res.comment);
	if (force) {
		printf("; rules waived:");
		for (size_t i = 0; i < n_waive; i++)
			printf(" %s", waive[i]);
	}
	printf("\n");
done:
	pacs_ds_free(ds);
	entry_free(&e);
	return status;
}

/* ------------------------------------------------------------ drop */

static int cmd_drop(const arca_conf *conf, const char *qdir, const char *uid)
{
	char path[PATH_MAX];
	store_quality_record *q = NULL;
	store_index *idx = NULL;
	pacs_ds *ds = NULL;
	bool durable = false;
	qentry e;
	int rc, status = ARCA_EXIT_OK;

	if ((rc = entry_load(&e, qdir, uid)) < 0) {
		if (rc == ARCA_ENOTFOUND)
			fprintf(stderr, CMD " drop: no instance %s in quarantine (see arca quarantine list)\n", uid);
		else
			fprintf(stderr, CMD " drop: %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/%s/" INSTANCE_FILE, qdir, uid);
	/* an unreadable instance can still be dropped: the event then names
	 * no study */
	if (read_instance(path, &ds) < 0 && pacs_ds_new(&ds) < 0) {
		fprintf(stderr, CMD " drop: out of memory\n");
		entry_free(&e);
		return ARCA_EXIT_USAGE;
	}
	if (remove_entry(qdir, uid) < 0) {
		fprintf(stderr, CMD " drop: %s\n", arca_error_last());
		status = ARCA_EXIT_FAULT;
		goto done;
	}
	q = malloc(sizeof(*q));
	if (q != NULL) {
		store_quality_record_init(q);
		store_quality_record_from_ds(q, ds);
		if (q->sop_uid[0] == '\0')
			snprintf(q->sop_uid, sizeof(q->sop_uid), "%.64s", uid);
		snprintf(q->calling_ae, sizeof(q->calling_ae), "%s", e.ae);
		q->origin = STORE_QUALITY_QUARANTINE;
		q->outcome = STORE_QUALITY_DROPPED;
		q->status = (uint16_t)e.status;
		snprintf(q->comment, sizeof(q->comment), "%s", e.comment);
		/* an archive whose index does not exist yet gets one: the
		 * record belongs to the report of this archive */
		if (store_index_open(&idx, conf->index_path, NULL) < 0 ||
		    store_quality_put(idx, (const store_quality_record *const *)&q, 1) < 0)
			fprintf(stderr, CMD " drop: %s is dropped; its quality record was not written: %s\n", uid,
				arca_error_last());
	}
	if (record_event(conf, CHAIN_EVENT_QUARANTINE_DROP, CHAIN_ACTION_DELETE, ds, &durable) < 0) {
		fprintf(stderr, CMD " drop: %s is dropped, but its provenance event was not recorded: %s\n", uid,
			arca_error_last());
		status = ARCA_EXIT_FAULT;
		goto done;
	}
	printf("dropped %s\n", uid);
done:
	store_index_free(idx);
	free(q);
	pacs_ds_free(ds);
	entry_free(&e);
	return status;
}

/* ------------------------------------------------------------ main */

int arca_cmd_quarantine(int argc, char **argv)
{
	const char *root = NULL, *verb = NULL, *uid = NULL;
	bool json = false, full = false, force = false;
	char qdir[PATH_MAX];
	arca_conf conf;
	int status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--full") == 0) {
			full = true;
		} else if (strcmp(a, "--force") == 0) {
			force = true;
		} else if (a[0] == '-') {
			fprintf(stderr, CMD ": unknown option or missing value: %s (see arca quarantine --help)\n", a);
			return ARCA_EXIT_USAGE;
		} else if (verb == NULL) {
			verb = a;
		} else if (uid == NULL) {
			uid = a;
		} else {
			fprintf(stderr, CMD ": unexpected argument %s (see arca quarantine --help)\n", a);
			return ARCA_EXIT_USAGE;
		}
	}
	if (verb == NULL || (strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0 && strcmp(verb, "release") != 0 &&
			     strcmp(verb, "drop") != 0)) {
		fprintf(stderr, CMD ": %s%s%s: expected list, show UID, release UID or drop UID\n",
			verb != NULL ? "unknown command '" : "no command", verb != NULL ? verb : "",
			verb != NULL ? "'" : "");
		return ARCA_EXIT_USAGE;
	}
	if ((strcmp(verb, "list") == 0) != (uid == NULL)) {
		fprintf(stderr, CMD " %s: %s\n", verb, uid == NULL ? "which SOP Instance UID?" : "takes no UID");
		return ARCA_EXIT_USAGE;
	}
	if ((json && strcmp(verb, "list") != 0) || (full && strcmp(verb, "show") != 0) ||
	    (force && strcmp(verb, "release") != 0)) {
		fprintf(stderr, CMD " %s: %s does not apply\n", verb, json ? "--json" : full ? "--full" : "--force");
		return ARCA_EXIT_USAGE;
	}
	if (uid != NULL && !name_ok(uid)) {
		fprintf(stderr, CMD " %s: \"%s\" is not a quarantined SOP Instance UID (see arca quarantine list)\n", verb,
			uid);
		return ARCA_EXIT_USAGE;
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (arca_node_load_conf(&conf, root) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	snprintf(qdir, sizeof(qdir), "%s/quarantine", conf.storage_path);
	if (strcmp(verb, "list") == 0)
		status = cmd_list(&conf, qdir, json);
	else if (strcmp(verb, "show") == 0)
		status = cmd_show(qdir, uid, full);
	else if (strcmp(verb, "release") == 0)
		status = cmd_release(&conf, qdir, uid, force);
	else
		status = cmd_drop(&conf, qdir, uid);
	arca_conf_release(&conf);
	return status;
}
