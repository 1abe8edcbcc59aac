/* arca_cmd_send.c - `arca send AE@host:port FILE|DIR...`: C-STORE of DICOM
 * files through pacs_scu, see arca(1).
 *
 * 1. The arguments are walked (folders recursively, in name order) and
 *    every file's metadata read up to its pixel data: SOP class, SOP
 *    instance, transfer syntax.  Files that are not DICOM storage instances
 *    are skipped (named on stderr).
 * 2. Presentation contexts are built per SOP class: one per transfer syntax
 *    found, proposing that syntax alone (so that an accepted one is sent
 *    straight from the file), plus, when a file of the class is
 *    uncompressed, one proposing Explicit and Implicit VR Little Endian
 *    that pacs_scu converts to when the file's own syntax is refused
 *    (every SCP supports Implicit VR LE, PS3.5 10.1).  Classes are packed
 *    into associations of at most 128 contexts (PS3.8 9.3.2.2).
 * 3. Each association sends its files one by one; a lost association is
 *    re-opened for the rest (at most SEND_MAX_RETRIES times in a row).
 *
 * Exit status: 0 every file stored (warnings included); 1 some refused (a
 * failure status, a rejected association or context, or a file that cannot
 * be sent as it is); 2 bad usage, a named file that is not DICOM, or a
 * network failure that stopped the transfer. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "arca_cmd.h"
#include "arca_err.h"
#include "arca_peer.h"
#include "pacs_scu.h"
#include "pacs_sop.h"
#include "pacs_ts.h"

#define SEND_MAX_DEPTH 64
#define SEND_MAX_RETRIES 3
#define SEND_MAX_CTX_PER_CLASS 32
/* PS3.3 F.2: the Media Storage Directory (DICOMDIR) is not an instance to store. */
#define UID_MEDIA_STORAGE_DIRECTORY "1.2.840.10008.1.3.10"

typedef struct send_file {
	char *path;
	pacs_scu_file_info info;
	size_t cls;        /* index into the class table */
	uint64_t size;
} send_file;

typedef struct send_class {
	char uid[PACS_DIMSE_UID_MAX + 1];
	char ts[SEND_MAX_CTX_PER_CLASS][PACS_DIMSE_UID_MAX + 1]; /* distinct syntaxes of its files */
	size_t n_ts;
	bool has_native;
	size_t group;      /* which association */
} send_class;

typedef struct send_state {
	arca_peer peer;
	const char *target;
	const char *calling;
	unsigned timeout_ms;
	bool verbose;      /* a line per file as it is answered */

	send_file *files;
	size_t n_files, cap_files;
	send_class *classes;
	size_t n_classes, cap_classes;
	size_t n_groups;

	size_t skipped, stored, warnings, failed, associations;
	size_t unsendable; /* DICOM files refused before any association */
	uint64_t bytes;
	bool bad_input;    /* a named path missing or not DICOM */
	bool net_failed;   /* the transfer stopped on a network failure */
	char **report;     /* warning and failure lines, printed at the end */
	size_t n_report, cap_report;
} send_state;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca send AE@host:port FILE|DIR... [--aet CALLING] [--timeout S] [--verbose]\n"
		"\n"
		"Sends DICOM files to the storage SCP AE at host:port (C-STORE), folders\n"
		"recursively, on as few associations as the presentation contexts allow,\n"
		"and prints a summary.\n"
		"\n"
		"  --aet CALLING  our AE title (default %s)\n"
		"  --timeout S    seconds to wait for the connection and for each answer\n"
		"  --verbose      print a line per file as the peer answers it\n"
		"  --help         print this help and exit\n"
		"\n"
		"Exit status: 0 every file stored, 1 some refused, 2 bad usage, a named\n"
		"file that is not DICOM, or a network failure.\n",
		PACS_SCU_DEFAULT_CALLING_AE);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	void *p;
	size_t ncap;

	if (n < *cap)
		return true;
	ncap = *cap != 0 ? *cap * 2 : 64;
	p = realloc(*arr, ncap * elem);
	if (p == NULL)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

static void report(send_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(send_state *s, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line == NULL || !grow((void **)&s->report, &s->cap_report, s->n_report, sizeof(char *))) {
		free(line);
		return;
	}
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	s->report[s->n_report++] = line;
}

/* The last error, without the leading "PATH: " that the library adds,
 * since the caller names the file itself. */
static const char *error_about(const char *path)
{
	const char *msg = arca_error_last();
	size_t n = strlen(path);

	if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
		return &msg[n + 2];
	return msg[0] != '\0' ? msg : "failed";
}

/* ------------------------------------------------------------ files */

static size_t class_index(send_state *s, const char *uid)
{
	for (size_t i = 0; i < s->n_classes; i++)
		if (strcmp(s->classes[i].uid, uid) == 0)
			return i;
	if (!grow((void **)&s->classes, &s->cap_classes, s->n_classes, sizeof(send_class)))
		return SIZE_MAX;
	memset(&s->classes[s->n_classes], 0, sizeof(send_class));
	snprintf(s->classes[s->n_classes].uid, sizeof(s->classes[0].uid), "%s", uid);
	return s->n_classes++;
}

static bool ts_native(const char *uid)
{
	const pacs_ts_info *t = pacs_ts_lookup(uid);

	return t != NULL && !t->encapsulated;
}

/* PS3.5 9.1: digits and dots, components without leading zeros, at most
 * 64 characters. */
static bool uid_valid(const char *uid)
{
	size_t n = strlen(uid);

	if (n == 0 || n > PACS_DIMSE_UID_MAX || uid[0] == '.' || uid[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = uid[i];
		if (c == '.') {
			if (uid[i + 1] == '.')
				return false;
		} else if (c < '0' || c > '9') {
			return false;
		} else if (c == '0' && (i == 0 || uid[i - 1] == '.') && uid[i + 1] != '.' && uid[i + 1] != '\0') {
			return false;
		}
	}
	return true;
}

/* Reads one file's metadata and files it under its SOP class. */
static void add_file(send_state *s, const char *path, bool named, uint64_t size)
{
	pacs_scu_file_info info;
	send_class *c;
	size_t ci;

	if (pacs_scu_probe_file(&info, path) < 0) {
		fprintf(stderr, "arca send: %s %s: %s\n", named ? "not sending" : "skipping", path, error_about(path));
		s->skipped++;
		if (named)
			s->bad_input = true;
		return;
	}
	if (strcmp(info.sop_class_uid, UID_MEDIA_STORAGE_DIRECTORY) == 0) {
		fprintf(stderr, "arca send: skipping %s: a DICOMDIR, not an instance to store\n", path);
		s->skipped++;
		return;
	}
	if (!uid_valid(info.sop_class_uid)) {
		/* it cannot be proposed (PS3.8 9.3.2.2.1): refused here, alone */
		s->failed++;
		s->unsendable++;
		report(s, "failed: %s: SOP Class UID \"%s\" is not a valid UID (PS3.5 9.1)", path, info.sop_class_uid);
		return;
	}
	ci = class_index(s, info.sop_class_uid);
	if (ci == SIZE_MAX || !grow((void **)&s->files, &s->cap_files, s->n_files, sizeof(send_file))) {
		fprintf(stderr, "arca send: out of memory\n");
		s->bad_input = true;
		return;
	}
	c = &s->classes[ci];
	bool known = false;
	for (size_t k = 0; k < c->n_ts; k++)
		if (strcmp(c->ts[k], info.transfer_syntax) == 0)
			known = true;
	if (!known && c->n_ts < SEND_MAX_CTX_PER_CLASS) {
		snprintf(c->ts[c->n_ts], sizeof(c->ts[0]), "%s", info.transfer_syntax);
		c->n_ts++;
	}
	if (ts_native(info.transfer_syntax))
		c->has_native = true;
	send_file *f = &s->files[s->n_files];
	f->path = strdup(path);
	if (f->path == NULL) {
		fprintf(stderr, "arca send: out of memory\n");
		s->bad_input = true;
		return;
	}
	f->info = info;
	f->cls = ci;
	f->size = size;
	s->n_files++;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Files are taken as named (symbolic links followed); folders are walked
 * in name order, without following links to folders (no cycles). */
static void walk(send_state *s, const char *path, bool named, int depth)
{
	struct stat st;
	struct dirent **ents = NULL;
	int n;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "arca send: %s: %s\n", path, strerror(errno));
		if (named)
			s->bad_input = true;
		return;
	}
	if (S_ISREG(st.st_mode)) {
		add_file(s, path, named, (uint64_t)st.st_size);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (named) {
			fprintf(stderr, "arca send: %s: not a file or folder\n", path);
			s->bad_input = true;
		}
		return;
	}
	if (depth >= SEND_MAX_DEPTH) {
		fprintf(stderr, "arca send: %s: folders nested deeper than %d levels are not walked\n", path,
			SEND_MAX_DEPTH);
		return;
	}
	n = scandir(path, &ents, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "arca send: %s: %s\n", path, strerror(errno));
		if (named)
			s->bad_input = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char *child;
		struct stat lst;

		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
		    asprintf(&child, "%s/%s", path, name) >= 0) {
			if (lstat(child, &lst) == 0 && !(S_ISLNK(lst.st_mode) && stat(child, &st) == 0 && S_ISDIR(st.st_mode)))
				walk(s, child, false, depth + 1);
			free(child);
		}
		free(ents[i]);
	}
	free(ents);
}

/* ------------------------------------------------------------ contexts */

static size_t class_ctx_count(const send_class *c)
{
	return c->n_ts + (c->has_native ? 1u : 0u);
}

/* Packs classes into associations of at most PACS_PDU_MAX_PCTX contexts,
 * in order of first appearance. */
static void plan_groups(send_state *s)
{
	size_t used = 0;

	s->n_groups = s->n_classes > 0 ? 1 : 0;
	for (size_t i = 0; i < s->n_classes; i++) {
		size_t need = class_ctx_count(&s->classes[i]);

		if (used + need > PACS_PDU_MAX_PCTX) {
			s->n_groups++;
			used = 0;
		}
		s->classes[i].group = s->n_groups - 1;
		used += need;
	}
}

static const char *const native_ts[] = { PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE };

/* The contexts of group g; pctx has room for PACS_PDU_MAX_PCTX.  The
 * single-syntax lists point into the class table. */
static size_t group_contexts(const send_state *s, size_t g, pacs_scu_pctx *pctx, const char **ts_ptr)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_classes; i++) {
		const send_class *c = &s->classes[i];

		if (c->group != g)
			continue;
		for (size_t k = 0; k < c->n_ts; k++) {
			ts_ptr[n] = c->ts[k];
			pctx[n].abstract_syntax = c->uid;
			pctx[n].transfer_syntaxes = &ts_ptr[n];
			pctx[n].n_transfer_syntaxes = 1;
			n++;
		}
		if (c->has_native) {
			pctx[n].abstract_syntax = c->uid;
			pctx[n].transfer_syntaxes = native_ts;
			pctx[n].n_transfer_syntaxes = 2;
			n++;
		}
	}
	return n;
}

/* ------------------------------------------------------------ sending */

static pacs_scu *open_association(send_state *s, size_t g, int *rc_out)
{
	pacs_scu_pctx pctx[PACS_PDU_MAX_PCTX];
	const char *ts_ptr[PACS_PDU_MAX_PCTX];
	pacs_scu_opts o;
	pacs_scu *scu = NULL;
	int rc;

	pacs_scu_opts_init(&o);
	o.host = s->peer.host;
	o.port = s->peer.port;
	o.called_ae = s->peer.ae;
	o.calling_ae = s->calling;
	o.pctx = pctx;
	o.n_pctx = group_contexts(s, g, pctx, ts_ptr);
	o.connect_timeout_ms = s->timeout_ms;
	o.acse_timeout_ms = s->timeout_ms;
	o.dimse_timeout_ms = s->timeout_ms;
	rc = pacs_scu_new(&scu, &o);
	if (rc == 0)
		rc = pacs_scu_associate(scu);
	*rc_out = rc;
	if (rc < 0) {
		fprintf(stderr, "arca send: %s: %s\n", s->target, arca_error_last());
		pacs_scu_free(scu);
		return NULL;
	}
	s->associations++;
	return scu;
}

static void tally_one(send_state *s, const send_file *f, int rc, const pacs_dimse_cmd *rsp);

static void tally(send_state *s, const send_file *f, int rc, const pacs_dimse_cmd *rsp)
{
	size_t before = s->n_report;

	tally_one(s, f, rc, rsp);
	if (s->verbose) {
		if (s->n_report > before)
			printf("%s\n", s->report[s->n_report - 1]);
		fflush(stdout);
	}
}

static void tally_one(send_state *s, const send_file *f, int rc, const pacs_dimse_cmd *rsp)
{
	if (rc < 0) {
		s->failed++;
		report(s, "failed: %s: %s", f->path, error_about(f->path));
		return;
	}
	const char *comment = (rsp->present & PACS_DIMSE_F_ERROR_COMMENT) ? rsp->error_comment : "";
	switch (pacs_dimse_status_category(rsp->status)) {
	case PACS_DIMSE_STATUS_SUCCESS:
		s->stored++;
		s->bytes += f->size;
		if (s->verbose)
			printf("stored: %s\n", f->path);
		break;
	case PACS_DIMSE_STATUS_WARNING:
		s->warnings++;
		s->bytes += f->size;
		report(s, "warning: %s: status 0x%04X (%s)%s%s", f->path, rsp->status,
		       pacs_dimse_status_name(rsp->status), comment[0] ? ": " : "", comment);
		break;
	default:
		s->failed++;
		report(s, "failed: %s: status 0x%04X (%s)%s%s", f->path, rsp->status,
		       pacs_dimse_status_name(rsp->status), comment[0] ? ": " : "", comment);
		break;
	}
}

/* Sends the files of group g; false when the transfer must stop. */
static bool send_group(send_state *s, size_t g)
{
	pacs_scu *scu = NULL;
	int retries = 0, rc;

	for (size_t i = 0; i < s->n_files; i++) {
		const send_file *f = &s->files[i];
		pacs_dimse_cmd rsp;

		if (s->classes[f->cls].group != g)
			continue;
		if (scu == NULL || !pacs_scu_established(scu)) {
			pacs_scu_free(scu);
			scu = open_association(s, g, &rc);
			if (scu == NULL) {
				if (rc == ARCA_EUNSUPPORTED) {
					/* a refusal: these files are refused, the others may go */
					for (size_t k = i; k < s->n_files; k++)
						if (s->classes[s->files[k].cls].group == g)
							tally(s, &s->files[k], rc, NULL);
					return true;
				}
				s->net_failed = true;
				return false;
			}
		}
		memset(&rsp, 0, sizeof(rsp));
		rc = pacs_scu_store_file(scu, f->path, &rsp);
		tally(s, f, rc, &rsp);
		if (rc < 0 && !pacs_scu_established(scu)) {
			if (++retries > SEND_MAX_RETRIES) {
				fprintf(stderr, "arca send: %s: the association failed %d times in a row; giving up\n",
					s->target, retries);
				s->net_failed = true;
				pacs_scu_free(scu);
				return false;
			}
		} else {
			retries = 0;
		}
	}
	if (scu != NULL && pacs_scu_established(scu) && pacs_scu_release(scu) < 0)
		fprintf(stderr, "arca send: %s: release: %s\n", s->target, arca_error_last());
	pacs_scu_free(scu);
	return true;
}

static void state_free(send_state *s)
{
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i].path);
	free(s->files);
	free(s->classes);
	for (size_t i = 0; i < s->n_report; i++)
		free(s->report[i]);
	free(s->report);
}

int arca_cmd_send(int argc, char **argv)
{
	send_state s;
	char why[256];
	const char **paths;
	int n_paths = 0, status;
	bool options_done = false;
	double t0, elapsed;

	memset(&s, 0, sizeof(s));
	paths = calloc((size_t)argc, sizeof(*paths));
	if (paths == NULL) {
		fprintf(stderr, "arca send: out of memory\n");
		return ARCA_EXIT_USAGE;
	}
	/* options may come anywhere (until "--"); the first other argument is
	 * the peer, the rest are files and folders */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (options_done || a[0] != '-' || a[1] == '\0') {
			if (s.target == NULL)
				s.target = a;
			else
				paths[n_paths++] = a;
		} else if (strcmp(a, "--") == 0) {
			options_done = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			free(paths);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--aet") == 0 && i + 1 < argc) {
			s.calling = argv[++i];
		} else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			s.verbose = true;
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			if (!arca_peer_parse_timeout(&s.timeout_ms, argv[++i])) {
				fprintf(stderr, "arca send: --timeout '%s' is not a number of seconds (0 < S <= 86400)\n", argv[i]);
				free(paths);
				return ARCA_EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "arca send: unknown option or missing value '%s'; see `arca send --help`\n", a);
			free(paths);
			return ARCA_EXIT_USAGE;
		}
	}
	if (s.target == NULL || n_paths == 0) {
		fprintf(stderr, "arca send: usage: arca send AE@host:port FILE|DIR...; see `arca send --help`\n");
		free(paths);
		return ARCA_EXIT_USAGE;
	}
	if (!arca_peer_parse(&s.peer, s.target, why, sizeof(why))) {
		fprintf(stderr, "arca send: %s\n", why);
		free(paths);
		return ARCA_EXIT_USAGE;
	}

	for (int i = 0; i < n_paths; i++)
		walk(&s, paths[i], true, 0);
	free(paths);
	plan_groups(&s);

	t0 = now_s();
	for (size_t g = 0; g < s.n_groups; g++)
		if (!send_group(&s, g))
			break;
	elapsed = now_s() - t0;

	size_t sent = s.stored + s.warnings;
	size_t total = s.n_files + s.unsendable;
	printf("arca send: %zu file%s to %s: %zu stored, %zu stored with warnings, %zu failed, %zu not sent; "
	       "%zu skipped; %zu association%s, %.3f s",
	       total, total == 1 ? "" : "s", s.target, s.stored, s.warnings, s.failed,
	       total - sent - s.failed, s.skipped, s.associations, s.associations == 1 ? "" : "s", elapsed);
	if (elapsed > 0 && sent > 0)
		printf(", %.1f instances/s, %.1f MB/s", (double)sent / elapsed, (double)s.bytes / 1e6 / elapsed);
	printf("\n");
	for (size_t i = 0; i < s.n_report; i++)
		printf("%s\n", s.report[i]);
	fflush(stdout);

	if (s.net_failed || s.bad_input)
		status = ARCA_EXIT_USAGE;
	else if (s.failed > 0 || sent < total)
		status = ARCA_EXIT_FAULT;
	else
		status = ARCA_EXIT_OK;
	state_free(&s);
	return status;
}
