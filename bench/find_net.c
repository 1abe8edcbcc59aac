/* find_net.c - study-level C-FIND latency over the network, each query
 * timed on its own inside one association (bench/find_net.sh runs it
 * against arcad and Orthanc).
 *
 *   find_net [--aec AE] [--aet AE] [--queries N] [--warmup N] [--seed S]
 *            [--keys list|plain] [--label TEXT] HOST PORT
 *
 * On one association (Study Root Query/Retrieve Information Model - FIND,
 * PS3.4 C.6.2), first one universal STUDY-level query collects every
 * study's Study Instance UID, Study Date and Accession Number (not timed);
 * they are sorted by UID so that two servers holding the same studies are
 * asked exactly the same questions.  Then three kinds of query, --warmup
 * untimed and --queries timed each:
 *   PatientName=SMI*       a wildcard (PS3.4 C.2.2.2.4), the same each time
 *   StudyDate=D-D+30       a range of a month (PS3.4 C.2.2.2.5) starting on
 *                          the date of a study drawn from the sample
 *   AccessionNumber=A      single value matching (C.2.2.2.1), a drawn study's
 * With --keys list (the default) every query asks for the return keys a
 * viewer's study list shows, ModalitiesInStudy and the study's series and
 * instance counts included (PS3.4 C.6.1.1.3), which a server must compute;
 * with --keys plain only PatientName, PatientID, StudyDate,
 * AccessionNumber and StudyInstanceUID (values stored as received), so
 * that the cost of the computed keys shows apart; the kinds are then
 * labelled "(plain keys)".  A query's time runs
 * from sending the C-FIND-RQ to receiving the final response, all pending
 * responses read.  DCMTK's `findscu --repeat` only gives the total of its
 * repeats; the distribution (median, p99) is what a user feels.
 *
 * Output, one line per kind (tab-separated, for the script):
 *   LABEL KIND QUERIES MEDIAN_MS P99_MS MEAN_MS MIN_MS MAX_MS ROWS_PER_QUERY
 * and the sample size on stderr.  Exit 0, 1 when a query fails (a status
 * other than success), 2 on bad usage or a network failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_ds.h"
#include "pacs_scu.h"
#include "pacs_tags.h"
#include "pacs_ts.h"

#define STUDY_ROOT_FIND "1.2.840.10008.5.1.4.1.2.2.1"
#define SAMPLE_MAX 2000000u

struct study {
	char uid[72], date[12], acc[20];
};

struct sample {
	struct study *s;
	size_t n, cap;
	int err;
};

struct count {
	unsigned long rows;
};

/* Return keys of a study list (PS3.4 C.6.1.1.3 and C.6.2.1.2), 0-ended. */
static const uint32_t list_keys[] = {
	PACS_TAG_StudyDate, PACS_TAG_StudyTime, PACS_TAG_AccessionNumber, PACS_TAG_ModalitiesInStudy,
	PACS_TAG_ReferringPhysicianName, PACS_TAG_StudyDescription, PACS_TAG_PatientName, PACS_TAG_PatientID,
	PACS_TAG_PatientBirthDate, PACS_TAG_PatientSex, PACS_TAG_StudyInstanceUID, PACS_TAG_StudyID,
	PACS_TAG_NumberOfStudyRelatedSeries, PACS_TAG_NumberOfStudyRelatedInstances, 0,
};
/* Values stored as received only: nothing for the server to compute. */
static const uint32_t plain_keys[] = {
	PACS_TAG_StudyDate, PACS_TAG_AccessionNumber, PACS_TAG_PatientName, PACS_TAG_PatientID,
	PACS_TAG_StudyInstanceUID, 0,
};

static void usage(void)
{
	fprintf(stderr, "usage: find_net [--aec AE] [--aet AE] [--queries N] [--warmup N] [--seed S]\n"
			"                [--keys list|plain] [--label TEXT] HOST PORT\n");
	exit(2);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static unsigned long long xorshift(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* An identifier: QueryRetrieveLevel STUDY, the return keys empty, then
 * one matching key (tag = value) unless tag is 0. */
static int identifier(pacs_ds **out, const uint32_t *return_keys, uint32_t tag, const char *value)
{
	pacs_ds *id = NULL;
	int rc = pacs_ds_new(&id);

	if (rc == 0)
		rc = pacs_ds_set_string(id, PACS_TAG_QueryRetrieveLevel, PACS_VR_CS, "STUDY");
	for (size_t i = 0; rc == 0 && return_keys[i] != 0; i++)
		rc = pacs_ds_set(id, return_keys[i], pacs_dict_vr(return_keys[i]), NULL, 0);
	if (rc == 0 && tag != 0)
		rc = pacs_ds_set_string(id, tag, pacs_dict_vr(tag), value);
	if (rc < 0) {
		pacs_ds_free(id);
		return rc;
	}
	*out = id;
	return 0;
}

static int on_sample(void *ctx, const pacs_ds *match)
{
	struct sample *sm = ctx;
	struct study *st;

	if (sm->n == sm->cap) {
		size_t cap = sm->cap ? sm->cap * 2 : 4096;
		struct study *p;

		if (cap > SAMPLE_MAX || (p = realloc(sm->s, cap * sizeof(*p))) == NULL) {
			sm->err = 1;
			return 1; /* cancel: enough */
		}
		sm->s = p;
		sm->cap = cap;
	}
	st = &sm->s[sm->n];
	memset(st, 0, sizeof(*st));
	pacs_ds_get_string(match, PACS_TAG_StudyInstanceUID, 0, st->uid, sizeof(st->uid));
	pacs_ds_get_string(match, PACS_TAG_StudyDate, 0, st->date, sizeof(st->date));
	pacs_ds_get_string(match, PACS_TAG_AccessionNumber, 0, st->acc, sizeof(st->acc));
	if (st->uid[0] != '\0' && strlen(st->date) == 8)
		sm->n++;
	return 0;
}

static int on_count(void *ctx, const pacs_ds *match)
{
	(void)match;
	((struct count *)ctx)->rows++;
	return 0;
}

static int by_uid(const void *a, const void *b)
{
	return strcmp(((const struct study *)a)->uid, ((const struct study *)b)->uid);
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The value of query i of kind k (the kinds are described at the top). */
static void query_value(int k, const struct sample *sm, unsigned long long *rng, uint32_t *tag, char *v,
			size_t vsize)
{
	const struct study *st = &sm->s[xorshift(rng) % sm->n];

	if (k == 0) {
		*tag = PACS_TAG_PatientName;
		snprintf(v, vsize, "SMI*");
	} else if (k == 1) {
		struct tm tm = {0};
		char end[12];
		time_t t;

		sscanf(st->date, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		t = timegm(&tm) + 30 * 86400;
		gmtime_r(&t, &tm);
		strftime(end, sizeof(end), "%Y%m%d", &tm);
		*tag = PACS_TAG_StudyDate;
		snprintf(v, vsize, "%s-%s", st->date, end);
	} else {
		*tag = PACS_TAG_AccessionNumber;
		snprintf(v, vsize, "%s", st->acc);
	}
}

int main(int argc, char **argv)
{
	static const char *const kinds[2][3] = {
		{"PatientName=SMI*", "StudyDate=month range", "AccessionNumber=exact"},
		{"PatientName=SMI* (plain keys)", "StudyDate=month range (plain keys)",
		 "AccessionNumber=exact (plain keys)"},
	};
	const uint32_t *keys = list_keys;
	int plain = 0;
	static const char *const ts[] = {PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE};
	const pacs_scu_pctx pctx = {STUDY_ROOT_FIND, ts, 2};
	const char *aec = "ARCA", *aet = "FINDNET", *label = "server", *host = NULL, *port_s = NULL;
	unsigned long queries = 200, warmup = 20;
	unsigned long long seed = 42;
	struct sample sm = {0};
	pacs_scu *scu = NULL;
	pacs_scu_opts o;
	pacs_dimse_cmd rsp;
	pacs_ds *id = NULL;
	double *ms = NULL;
	int rc, status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--aec") == 0 && i + 1 < argc)
			aec = argv[++i];
		else if (strcmp(argv[i], "--aet") == 0 && i + 1 < argc)
			aet = argv[++i];
		else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc)
			queries = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
			warmup = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc && strcmp(argv[i + 1], "list") == 0)
			i++, plain = 0;
		else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc && strcmp(argv[i + 1], "plain") == 0)
			i++, plain = 1;
		else if (argv[i][0] == '-')
			usage();
		else if (host == NULL)
			host = argv[i];
		else if (port_s == NULL)
			port_s = argv[i];
		else
			usage();
	}
	if (host == NULL || port_s == NULL || queries == 0 || queries > 1000000 || seed == 0)
		usage();
	unsigned long port = strtoul(port_s, NULL, 10);
	if (port == 0 || port > 65535) {
		fprintf(stderr, "find_net: port '%s' is not 1-65535\n", port_s);
		return 2;
	}
	keys = plain ? plain_keys : list_keys;
	ms = calloc(queries, sizeof(*ms));
	if (ms == NULL)
		return 2;
	pacs_scu_opts_init(&o);
	o.host = host;
	o.port = (uint16_t)port;
	o.called_ae = aec;
	o.calling_ae = aet;
	o.pctx = &pctx;
	o.n_pctx = 1;
	o.dimse_timeout_ms = 600000; /* the sample query of a big archive */
	if ((rc = pacs_scu_new(&scu, &o)) < 0 || (rc = pacs_scu_associate(scu)) < 0)
		goto net_error;

	/* the sample (not timed) */
	if ((rc = identifier(&id, plain_keys, 0, NULL)) < 0)
		goto net_error;
	double t0 = now_ms();
	rc = pacs_scu_find(scu, STUDY_ROOT_FIND, id, on_sample, &sm, &rsp);
	double t_sample = now_ms() - t0;
	pacs_ds_free(id);
	id = NULL;
	if (rc < 0)
		goto net_error;
	if (sm.err || sm.n == 0 || (rsp.status != PACS_DIMSE_SUCCESS && rsp.status != PACS_DIMSE_CANCEL)) {
		fprintf(stderr, "find_net: %s: the sample query gave %zu studies, status 0x%04X%s\n", label, sm.n,
			rsp.status, sm.err ? " (too many studies)" : "");
		status = 1;
		goto out;
	}
	qsort(sm.s, sm.n, sizeof(*sm.s), by_uid);
	fprintf(stderr, "find_net: %s: %zu studies in the archive (universal query: %.0f ms)\n", label, sm.n,
		t_sample);

	for (int k = 0; k < 3; k++) {
		unsigned long long rng = seed + (unsigned long long)k * 0x9E3779B97F4A7C15ull;
		unsigned long long rows = 0;
		double sum = 0;

		for (unsigned long i = 0; i < warmup + queries; i++) {
			struct count c = {0};
			uint32_t tag;
			char v[64];

			query_value(k, &sm, &rng, &tag, v, sizeof(v));
			if ((rc = identifier(&id, keys, tag, v)) < 0)
				goto net_error;
			t0 = now_ms();
			rc = pacs_scu_find(scu, STUDY_ROOT_FIND, id, on_count, &c, &rsp);
			double t = now_ms() - t0;
			pacs_ds_free(id);
			id = NULL;
			if (rc < 0)
				goto net_error;
			if (rsp.status != PACS_DIMSE_SUCCESS) {
				fprintf(stderr, "find_net: %s: %s query %s: status 0x%04X (%s)\n", label, kinds[plain][k], v,
					rsp.status, pacs_dimse_status_name(rsp.status));
				status = 1;
				goto out;
			}
			if (i >= warmup) {
				ms[i - warmup] = t;
				sum += t;
				rows += c.rows;
			}
		}
		qsort(ms, queries, sizeof(*ms), by_double);
		/* p99: the smallest time at least 99% of the queries took no
		 * longer than (nearest rank) */
		size_t r99 = (size_t)((double)queries * 0.99 + 0.999999);
		printf("%s\t%s\t%lu\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.1f\n", label, kinds[plain][k], queries,
		       queries % 2 ? ms[queries / 2] : (ms[queries / 2 - 1] + ms[queries / 2]) / 2,
		       ms[(r99 > 0 ? r99 : 1) - 1], sum / (double)queries, ms[0], ms[queries - 1],
		       (double)rows / (double)queries);
		fflush(stdout);
	}
	pacs_scu_release(scu);
	goto out;
net_error:
	fprintf(stderr, "find_net: %s: %s\n", label, arca_error_last());
	status = 2;
out:
	pacs_ds_free(id);
	pacs_scu_free(scu);
	free(sm.s);
	free(ms);
	return status;
}
