/* bench_find.c - C-FIND latency on an index made by gen_index: runs each
 * kind of study-level query many times through store_index (build the
 * find, open the cursor, read every row, free) and prints the median, p99
 * and mean time and the mean number of rows per kind.  Every query asks
 * for the return keys a viewer's study list shows, counts and Modalities
 * in Study included.  Each kind runs --rounds times and the round with the
 * lowest median is printed (the machines are shared and noisy; parse.sh
 * does the same).
 *
 *   bench_find [--queries N] [--rounds N] [--seed S] INDEX_PATH
 *
 * Query values are drawn from the index itself (a sample of its studies),
 * so that exact-match queries hit and ranges land where the data is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"
#include "pacs_tags.h"
#include "store_index.h"

#define SAMPLE_MAX 4096

struct sample {
	char uid[80], acc[24], date[12], name[80], pid[24];
};

struct kind {
	const char *label;
	/* Fills the matching key(s) of query i. */
	int (*keys)(store_index_find *f, const struct sample *s, unsigned i, unsigned long long *rng);
};

static unsigned long long next(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int k_name_smi(store_index_find *f, const struct sample *s, unsigned i, unsigned long long *rng)
{
	(void)s, (void)i, (void)rng;
	return store_index_find_add(f, PACS_TAG_PatientName, "SMI*");
}

static int k_name_prefix(store_index_find *f, const struct sample *s, unsigned i, unsigned long long *rng)
{
	char p[8];
	size_t n = 0;

	/* Three letters; a name starting with a non-ASCII letter gives fewer
	 * bytes rather than half a UTF-8 sequence. */
	(void)i, (void)rng;
	while (n < 3 && s->name[n] != '\0' && (unsigned char)s->name[n] < 0x80)
		n++;
	snprintf(p, sizeof(p), "%.*s*", (int)n, s->name);
	return store_index_find_add(f, PACS_TAG_PatientName, p);
}

static int k_date_week(store_index_find *f, const struct sample *s, unsigned i, unsigned long long *rng)
{
	struct tm tm = {0};
	char r[24], end[12];
	time_t t;

	(void)i, (void)rng;
	sscanf(s->date, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) + 6 * 86400;
	gmtime_r(&t, &tm);
	strftime(end, sizeof(end), "%Y%m%d", &tm);
	snprintf(r, sizeof(r), "%s-%s", s->date, end);
	return store_index_find_add(f, PACS_TAG_StudyDate, r);
}

static int k_date_day_modality(store_index_find *f, const struct sample *s, unsigned i, unsigned long long *rng)
{
	int rc = store_index_find_add(f, PACS_TAG_StudyDate, s->date);

	(void)i, (void)rng;
	return rc == 0 ? store_index_find_add(f, PACS_TAG_ModalitiesInStudy, "CT\\MR") : rc;
}

static int k_accession(store_index_find *f, const struct sample *s, unsigned i, unsigned long long *rng)
{
	(void)i, (void)rng;
	return store_index_find_add(f, PACS_TAG_AccessionNumber, s->acc);
}

static int k_study_uid(store_index_find *f, const struct sample *s, unsigned i, unsigned long long *rng)
{
	(void)i, (void)rng;
	return store_index_find_add(f, PACS_TAG_StudyInstanceUID, s->uid);
}

static int k_patient_id(store_index_find *f, const struct sample *s, unsigned i, unsigned long long *rng)
{
	(void)i, (void)rng;
	return store_index_find_add(f, PACS_TAG_PatientID, s->pid);
}

static const struct kind kinds[] = {
	{"PatientName=SMI*", k_name_smi},
	{"PatientName=<3 letters>*", k_name_prefix},
	{"StudyDate=<7-day range>", k_date_week},
	{"StudyDate=<day>+Modalities=CT\\MR", k_date_day_modality},
	{"AccessionNumber=<exact>", k_accession},
	{"StudyInstanceUID=<exact>", k_study_uid},
	{"PatientID=<exact>", k_patient_id},
};

/* The return keys of a study list. */
static const uint32_t return_keys[] = {
	PACS_TAG_PatientName, PACS_TAG_PatientID, PACS_TAG_PatientBirthDate, PACS_TAG_PatientSex,
	PACS_TAG_StudyInstanceUID, PACS_TAG_StudyDate, PACS_TAG_StudyTime, PACS_TAG_AccessionNumber,
	PACS_TAG_StudyID, PACS_TAG_ReferringPhysicianName, PACS_TAG_StudyDescription,
	PACS_TAG_ModalitiesInStudy, PACS_TAG_NumberOfStudyRelatedSeries,
	PACS_TAG_NumberOfStudyRelatedInstances,
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Every k-th study of the index, up to SAMPLE_MAX. */
static int load_sample(store_index *idx, struct sample *out, size_t *n, unsigned long long *rng)
{
	store_index_find *f;
	store_index_query *q;
	unsigned long long seen = 0;
	bool row;
	int rc;

	*n = 0;
	rc = store_index_find_new(&f, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY);
	if (rc == 0)
		rc = store_index_find_add(f, PACS_TAG_AccessionNumber, NULL);
	if (rc == 0)
		rc = store_index_find_add(f, PACS_TAG_StudyDate, NULL);
	if (rc == 0)
		rc = store_index_find_add(f, PACS_TAG_PatientName, NULL);
	if (rc == 0)
		rc = store_index_find_add(f, PACS_TAG_PatientID, NULL);
	if (rc == 0)
		rc = store_index_query_open(&q, idx, f);
	store_index_find_free(f);
	if (rc < 0)
		return rc;
	while ((rc = store_index_query_next(q, &row)) == 0 && row) {
		/* Reservoir sampling keeps a uniform sample of all studies. */
		size_t slot = *n < SAMPLE_MAX ? (*n)++ : (size_t)(next(rng) % (seen + 1));

		seen++;
		if (slot >= SAMPLE_MAX)
			continue;
		snprintf(out[slot].uid, sizeof(out[slot].uid), "%s", store_index_query_value(q, PACS_TAG_StudyInstanceUID));
		snprintf(out[slot].acc, sizeof(out[slot].acc), "%s", store_index_query_value(q, PACS_TAG_AccessionNumber));
		snprintf(out[slot].date, sizeof(out[slot].date), "%s", store_index_query_value(q, PACS_TAG_StudyDate));
		snprintf(out[slot].name, sizeof(out[slot].name), "%s", store_index_query_value(q, PACS_TAG_PatientName));
		snprintf(out[slot].pid, sizeof(out[slot].pid), "%s", store_index_query_value(q, PACS_TAG_PatientID));
	}
	store_index_query_free(q);
	printf("bench_find: %llu studies in the index, %zu sampled\n", seen, *n);
	return rc;
}

struct round {
	double median, p99, mean, rows;
};

static int run_round(store_index *idx, const struct kind *k, const struct sample *sample, size_t nsample,
		     unsigned queries, unsigned long long *rng, struct round *out)
{
	double *t = calloc(queries, sizeof(*t)), sum = 0;
	unsigned long long rows = 0;
	int rc = 0;

	if (t == NULL)
		return ARCA_ENOMEM;
	for (unsigned i = 0; rc == 0 && i < queries; i++) {
		const struct sample *s = &sample[next(rng) % nsample];
		store_index_find *f = NULL;
		store_index_query *q = NULL;
		bool row = false;
		double t0 = now();

		/* Return keys first: the matching keys then replace their
		 * universal values (store_index_find_add keeps the column order). */
		rc = store_index_find_new(&f, STORE_INDEX_STUDY_ROOT, STORE_INDEX_STUDY);
		for (size_t r = 0; rc == 0 && r < sizeof(return_keys) / sizeof(*return_keys); r++)
			rc = store_index_find_add(f, return_keys[r], NULL);
		if (rc == 0)
			rc = k->keys(f, s, i, rng);
		if (rc == 0)
			rc = store_index_query_open(&q, idx, f);
		while (rc == 0 && (rc = store_index_query_next(q, &row)) == 0 && row)
			rows++;
		store_index_query_free(q);
		store_index_find_free(f);
		t[i] = now() - t0;
		sum += t[i];
	}
	if (rc == 0) {
		qsort(t, queries, sizeof(*t), cmp_double);
		out->median = t[queries / 2];
		out->p99 = t[(size_t)((queries - 1) * 0.99)];
		out->mean = sum / queries;
		out->rows = (double)rows / queries;
	}
	free(t);
	return rc;
}

static int run_kind(store_index *idx, const struct kind *k, const struct sample *sample, size_t nsample,
		    unsigned queries, unsigned rounds, unsigned long long *rng)
{
	struct round best = {0}, r;
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < rounds; i++) {
		rc = run_round(idx, k, sample, nsample, queries, rng, &r);
		if (rc == 0 && (i == 0 || r.median < best.median))
			best = r;
	}
	if (rc == 0)
		printf("  %-36s median %7.3f ms   p99 %7.3f ms   mean %7.3f ms   rows/query %8.1f\n", k->label,
		       best.median * 1e3, best.p99 * 1e3, best.mean * 1e3, best.rows);
	return rc;
}

int main(int argc, char **argv)
{
	static struct sample sample[SAMPLE_MAX];
	unsigned queries = 1000, rounds = 3;
	unsigned long long rng = 88172645463325252ull;
	const char *path = NULL;
	store_index *idx;
	size_t n;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc)
			queries = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			rng = strtoull(argv[++i], NULL, 10) | 1;
		else if (argv[i][0] == '-' || path != NULL)
			path = NULL, argc = 0;
		else
			path = argv[i];
	}
	if (path == NULL || queries == 0 || rounds == 0) {
		fprintf(stderr, "usage: bench_find [--queries N] [--rounds N] [--seed S] INDEX_PATH\n");
		return 2;
	}
	if (store_index_open(&idx, path, NULL) < 0) {
		fprintf(stderr, "bench_find: %s\n", arca_error_last());
		return 1;
	}
	rc = load_sample(idx, sample, &n, &rng);
	if (rc == 0 && n == 0)
		rc = arca_error_set(ARCA_ENOTFOUND, "the index %s has no studies", path);
	printf("bench_find: %u queries per kind, best of %u rounds, study level, %zu return keys, every row read\n",
	       queries, rounds, sizeof(return_keys) / sizeof(*return_keys));
	for (size_t k = 0; rc == 0 && k < sizeof(kinds) / sizeof(*kinds); k++)
		rc = run_kind(idx, &kinds[k], sample, n, queries, rounds, &rng);
	if (rc < 0)
		fprintf(stderr, "bench_find: %s\n", arca_error_last());
	store_index_free(idx);
	return rc < 0 ? 1 : 0;
}
