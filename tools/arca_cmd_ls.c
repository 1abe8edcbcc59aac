/* arca_cmd_ls.c - `arca ls [--root DIR] [--patient ID] [--study UID]
 * [--json]`: the archive's patients, their studies and series, with
 * dates, modalities, instance counts and stored sizes, from the index
 * alone (no instance is read).
 *
 * Exit status: 0 listed (an empty archive lists nothing); 1 --patient or
 * --study matched nothing (named); 2 bad usage or an archive that cannot
 * be opened. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_cmd.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "arca_node.h"
#include "pacs_tags.h"
#include "pacs_uid.h"
#include "store_index.h"

#define CMD "arca ls"

enum key {
	K_PATIENT_ID, K_ISSUER, K_PATIENT_NAME, K_BIRTH_DATE, K_SEX, K_STUDY_UID, K_STUDY_DATE, K_STUDY_TIME,
	K_STUDY_DESC, K_ACCESSION, K_SERIES_UID, K_MODALITY, K_SERIES_NUMBER, K_SERIES_DESC, K_SOP_UID, K_COUNT
};

static const uint32_t key_tags[K_COUNT] = {
	PACS_TAG_PatientID, PACS_TAG_IssuerOfPatientID, PACS_TAG_PatientName, PACS_TAG_PatientBirthDate,
	PACS_TAG_PatientSex, PACS_TAG_StudyInstanceUID, PACS_TAG_StudyDate, PACS_TAG_StudyTime,
	PACS_TAG_StudyDescription, PACS_TAG_AccessionNumber, PACS_TAG_SeriesInstanceUID, PACS_TAG_Modality,
	PACS_TAG_SeriesNumber, PACS_TAG_SeriesDescription, PACS_TAG_SOPInstanceUID,
};

/* One node of the tree: the values of its level, counts and bytes. */
typedef struct node {
	char *v[K_COUNT];
	size_t parent;        /* index in the level above */
	uint64_t instances, bytes;
	size_t children;      /* of the level below */
} node;

typedef struct level {
	node *v;
	size_t n, cap;
	size_t last;          /* the node the previous row matched (rows come grouped) */
	size_t *slots;        /* open addressing on (parent, keys): node index + 1, 0 empty */
	size_t n_slots;       /* a power of two, at least twice n */
} level;

typedef struct tree {
	level patients, studies, series;
} tree;

static const char *val(const node *n, enum key k)
{
	return n->v[k] != NULL ? n->v[k] : "";
}

static void level_free(level *l)
{
	for (size_t i = 0; i < l->n; i++)
		for (int k = 0; k < K_COUNT; k++)
			free(l->v[i].v[k]);
	free(l->v);
	free(l->slots);
}

/* FNV-1a over the parent and the key values (an archive of a million
 * instances has tens of thousands of series: no linear search). */
static uint64_t hash_step(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t key_hash(size_t parent, const char *const *values, size_t n)
{
	uint64_t h = hash_step(14695981039346656037ull, &parent, sizeof(parent));

	for (size_t i = 0; i < n; i++)
		h = hash_step(h, values[i], strlen(values[i]) + 1);
	return h;
}

static uint64_t node_hash(const node *nd, const enum key *keys, size_t n_keys)
{
	const char *values[4];

	for (size_t i = 0; i < n_keys; i++)
		values[i] = val(nd, keys[i]);
	return key_hash(nd->parent, values, n_keys);
}

/* Makes room for one more node in the slots (rehashing when half full). */
static int slots_grow(level *l, const enum key *keys, size_t n_keys)
{
	size_t n_slots;
	size_t *slots;

	if (2 * (l->n + 1) <= l->n_slots)
		return 0;
	n_slots = l->n_slots != 0 ? 2 * l->n_slots : 64;
	slots = calloc(n_slots, sizeof(*slots));
	if (slots == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the listing");
	for (size_t i = 0; i < l->n; i++) {
		size_t at = (size_t)node_hash(&l->v[i], keys, n_keys) & (n_slots - 1);
		while (slots[at] != 0)
			at = (at + 1) & (n_slots - 1);
		slots[at] = i + 1;
	}
	free(l->slots);
	l->slots = slots;
	l->n_slots = n_slots;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca ls [--root DIR] [--patient ID] [--study UID] [--json]\n"
		"  Lists patients, their studies and series: dates, modalities, instances, sizes.\n"
		"  --root DIR     the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --patient ID   only this Patient ID\n"
		"  --study UID    only this Study Instance UID\n"
		"  --json         a JSON array of patients with their studies and series\n"
		"exit: 0 listed, 1 --patient/--study matched nothing, 2 bad usage.\n");
}

/* Whether node n has this row's values of keys. */
static bool same_keys(const node *n, const store_index_query *q, const enum key *keys, size_t n_keys)
{
	for (size_t i = 0; i < n_keys; i++) {
		const char *v = store_index_query_value(q, key_tags[keys[i]]);
		if (strcmp(val(n, keys[i]), v != NULL ? v : "") != 0)
			return false;
	}
	return true;
}

/* The node of this row at a level (found or added), keyed by its parent and
 * keys, with the values of from..to copied when added. */
static int node_of(level *l, const store_index_query *q, size_t parent, const enum key *keys, size_t n_keys,
		   enum key from, enum key to, size_t *out)
{
	const char *values[4];
	size_t at;
	node *n;
	int rc;

	if (l->n > 0 && l->v[l->last].parent == parent && same_keys(&l->v[l->last], q, keys, n_keys)) {
		*out = l->last;
		return 0;
	}
	if ((rc = slots_grow(l, keys, n_keys)) < 0)
		return rc;
	for (size_t i = 0; i < n_keys; i++) {
		const char *v = store_index_query_value(q, key_tags[keys[i]]);
		values[i] = v != NULL ? v : "";
	}
	at = (size_t)key_hash(parent, values, n_keys) & (l->n_slots - 1);
	for (; l->slots[at] != 0; at = (at + 1) & (l->n_slots - 1)) {
		size_t i = l->slots[at] - 1;
		if (l->v[i].parent == parent && same_keys(&l->v[i], q, keys, n_keys)) {
			*out = l->last = i;
			return 0;
		}
	}
	if (l->n == l->cap) {
		size_t cap = l->cap != 0 ? 2 * l->cap : 32;
		node *g = realloc(l->v, cap * sizeof(*g));
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the listing");
		l->v = g;
		l->cap = cap;
	}
	n = &l->v[l->n];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	for (int k = from; k <= (int)to; k++) {
		const char *v = store_index_query_value(q, key_tags[k]);
		if (v != NULL && v[0] != '\0' && (n->v[k] = strdup(v)) == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the listing");
	}
	l->slots[at] = l->n + 1;
	*out = l->last = l->n++;
	return 0;
}

static int build(tree *t, store_index *idx, const char *patient, const char *study)
{
	static const enum key pkeys[] = { K_PATIENT_ID, K_ISSUER };
	static const enum key skeys[] = { K_STUDY_UID };
	static const enum key rkeys[] = { K_SERIES_UID };
	store_index_find *find = NULL;
	store_index_query *q = NULL;
	bool row;
	int rc;

	if ((rc = store_index_find_new(&find, STORE_INDEX_PATIENT_ROOT, STORE_INDEX_IMAGE)) < 0)
		return rc;
	for (int k = 0; k < K_COUNT; k++) {
		const char *v = k == K_PATIENT_ID ? patient : k == K_STUDY_UID ? study : NULL;
		if ((rc = store_index_find_add(find, key_tags[k], v)) < 0)
			goto out;
	}
	if ((rc = store_index_query_open(&q, idx, find)) < 0)
		goto out;
	while ((rc = store_index_query_next(q, &row)) == 0 && row) {
		store_index_storage st;
		size_t p, s, r;
		if ((rc = store_index_query_storage(q, &st)) < 0 ||
		    (rc = node_of(&t->patients, q, 0, pkeys, 2, K_PATIENT_ID, K_SEX, &p)) < 0 ||
		    (rc = node_of(&t->studies, q, p, skeys, 1, K_STUDY_UID, K_ACCESSION, &s)) < 0 ||
		    (rc = node_of(&t->series, q, s, rkeys, 1, K_SERIES_UID, K_SERIES_DESC, &r)) < 0)
			goto out;
		t->patients.v[p].instances++;
		t->patients.v[p].bytes += st.size;
		t->studies.v[s].instances++;
		t->studies.v[s].bytes += st.size;
		t->series.v[r].instances++;
		t->series.v[r].bytes += st.size;
	}
out:
	store_index_query_free(q);
	store_index_find_free(find);
	return rc;
}

/* ------------------------------------------------------------ order */

static long number(const char *s)
{
	char *end;
	long v;

	if (s == NULL || s[0] == '\0')
		return -1;
	v = strtol(s, &end, 10);
	return end == s ? -1 : v;
}

/* A level's nodes grouped by parent (counting sort), each group in display
 * order: the children of parent p are v[start[p]] .. v[start[p + 1] - 1]. */
typedef struct groups {
	const node **v;
	size_t *start;
} groups;

static void groups_free(groups *g)
{
	free(g->v);
	free(g->start);
}

static int group(const level *l, size_t n_parents, int (*cmp)(const void *, const void *), groups *g)
{
	size_t *fill;

	g->v = calloc(l->n + 1, sizeof(*g->v));
	g->start = calloc(n_parents + 2, sizeof(*g->start));
	fill = calloc(n_parents + 1, sizeof(*fill));
	if (g->v == NULL || g->start == NULL || fill == NULL) {
		free(fill);
		return arca_error_set(ARCA_ENOMEM, "no memory for the listing");
	}
	for (size_t i = 0; i < l->n; i++)
		g->start[l->v[i].parent + 1]++;
	for (size_t p = 0; p < n_parents; p++)
		g->start[p + 1] += g->start[p];
	for (size_t i = 0; i < l->n; i++) {
		size_t p = l->v[i].parent;
		g->v[g->start[p] + fill[p]++] = &l->v[i];
	}
	for (size_t p = 0; p < n_parents; p++)
		qsort(g->v + g->start[p], g->start[p + 1] - g->start[p], sizeof(*g->v), cmp);
	free(fill);
	return 0;
}

static int cmp_patient(const void *pa, const void *pb)
{
	const node *a = *(const node *const *)pa, *b = *(const node *const *)pb;
	int c = strcmp(val(a, K_PATIENT_ID), val(b, K_PATIENT_ID));
	return c != 0 ? c : strcmp(val(a, K_ISSUER), val(b, K_ISSUER));
}

static int cmp_study(const void *pa, const void *pb)
{
	const node *a = *(const node *const *)pa, *b = *(const node *const *)pb;
	int c = strcmp(val(a, K_STUDY_DATE), val(b, K_STUDY_DATE));
	if (c == 0)
		c = strcmp(val(a, K_STUDY_TIME), val(b, K_STUDY_TIME));
	return c != 0 ? c : strcmp(val(a, K_STUDY_UID), val(b, K_STUDY_UID));
}

static int cmp_series(const void *pa, const void *pb)
{
	const node *a = *(const node *const *)pa, *b = *(const node *const *)pb;
	long x = number(a->v[K_SERIES_NUMBER]), y = number(b->v[K_SERIES_NUMBER]);
	if (x != y)
		return x < y ? -1 : 1;
	return strcmp(val(a, K_SERIES_UID), val(b, K_SERIES_UID));
}

/* The tree in display order. */
typedef struct view {
	const tree *t;
	groups patients, studies, series;
} view;

static void view_free(view *v)
{
	groups_free(&v->patients);
	groups_free(&v->studies);
	groups_free(&v->series);
}

static int view_make(view *v, const tree *t)
{
	int rc;

	memset(v, 0, sizeof(*v));
	v->t = t;
	if ((rc = group(&t->patients, 1, cmp_patient, &v->patients)) < 0 ||
	    (rc = group(&t->studies, t->patients.n, cmp_study, &v->studies)) < 0 ||
	    (rc = group(&t->series, t->studies.n, cmp_series, &v->series)) < 0)
		view_free(v);
	return rc;
}

/* ------------------------------------------------------------ output */

static void size_text(uint64_t bytes, char *buf, size_t size)
{
	if (bytes >= 1000000000ull)
		snprintf(buf, size, "%.2f GB", (double)bytes / 1e9);
	else if (bytes >= 1000000ull)
		snprintf(buf, size, "%.1f MB", (double)bytes / 1e6);
	else
		snprintf(buf, size, "%.1f kB", (double)bytes / 1e3);
}

/* The modalities of a study's series, backslash-separated, each once. */
static void modalities(const view *v, size_t study, char *buf, size_t size)
{
	const groups *g = &v->series;
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = g->start[study]; i < g->start[study + 1]; i++) {
		const char *m = val(g->v[i], K_MODALITY);
		bool seen = false;
		if (m[0] == '\0')
			continue;
		for (size_t j = g->start[study]; j < i && !seen; j++)
			seen = strcmp(val(g->v[j], K_MODALITY), m) == 0;
		if (!seen && at + strlen(m) + 2 < size)
			at += (size_t)snprintf(buf + at, size - at, "%s%s", at > 0 ? "\\" : "", m);
	}
}

static size_t index_of(const level *l, const node *n)
{
	return (size_t)(n - l->v);
}

static void print_text(const view *v)
{
	const tree *t = v->t;

	for (size_t i = v->patients.start[0]; i < v->patients.start[1]; i++) {
		const node *p = v->patients.v[i];
		size_t pi = index_of(&t->patients, p), ns = v->studies.start[pi + 1] - v->studies.start[pi];
		char sz[32];
		size_text(p->bytes, sz, sizeof(sz));
		printf("patient %s%s%s  %s  %s %s  %zu stud%s, %llu instances, %s\n", val(p, K_PATIENT_ID),
		       p->v[K_ISSUER] != NULL ? " / " : "", val(p, K_ISSUER), val(p, K_PATIENT_NAME), val(p, K_BIRTH_DATE),
		       val(p, K_SEX), ns, ns == 1 ? "y" : "ies", (unsigned long long)p->instances, sz);
		for (size_t j = v->studies.start[pi]; j < v->studies.start[pi + 1]; j++) {
			const node *s = v->studies.v[j];
			size_t si = index_of(&t->studies, s), nr = v->series.start[si + 1] - v->series.start[si];
			char mods[128];
			modalities(v, si, mods, sizeof(mods));
			size_text(s->bytes, sz, sizeof(sz));
			printf("  study %s  %s %s  %s  acc %s  \"%s\"  %zu series, %llu instances, %s\n", val(s, K_STUDY_UID),
			       val(s, K_STUDY_DATE), val(s, K_STUDY_TIME), mods, val(s, K_ACCESSION), val(s, K_STUDY_DESC), nr,
			       (unsigned long long)s->instances, sz);
			for (size_t k = v->series.start[si]; k < v->series.start[si + 1]; k++) {
				const node *r = v->series.v[k];
				size_text(r->bytes, sz, sizeof(sz));
				printf("    series %s  #%s  %s  \"%s\"  %llu instances, %s\n", val(r, K_SERIES_UID),
				       val(r, K_SERIES_NUMBER), val(r, K_MODALITY), val(r, K_SERIES_DESC),
				       (unsigned long long)r->instances, sz);
			}
		}
	}
}

static void set_text(json_t *o, const char *name, const node *n, enum key k)
{
	if (n->v[k] != NULL)
		json_object_set_new(o, name, json_string(n->v[k]));
}

static void print_json(const view *v)
{
	const tree *t = v->t;
	json_t *all = json_array();
	char *text;

	for (size_t i = v->patients.start[0]; i < v->patients.start[1]; i++) {
		const node *p = v->patients.v[i];
		size_t pi = index_of(&t->patients, p);
		json_t *jp = json_object(), *js = json_array();
		set_text(jp, "PatientID", p, K_PATIENT_ID);
		set_text(jp, "IssuerOfPatientID", p, K_ISSUER);
		set_text(jp, "PatientName", p, K_PATIENT_NAME);
		set_text(jp, "PatientBirthDate", p, K_BIRTH_DATE);
		set_text(jp, "PatientSex", p, K_SEX);
		json_object_set_new(jp, "instances", json_integer((json_int_t)p->instances));
		json_object_set_new(jp, "bytes", json_integer((json_int_t)p->bytes));
		for (size_t j = v->studies.start[pi]; j < v->studies.start[pi + 1]; j++) {
			const node *s = v->studies.v[j];
			size_t si = index_of(&t->studies, s);
			json_t *jst = json_object(), *jr = json_array();
			char mods[128];
			modalities(v, si, mods, sizeof(mods));
			set_text(jst, "StudyInstanceUID", s, K_STUDY_UID);
			set_text(jst, "StudyDate", s, K_STUDY_DATE);
			set_text(jst, "StudyTime", s, K_STUDY_TIME);
			set_text(jst, "StudyDescription", s, K_STUDY_DESC);
			set_text(jst, "AccessionNumber", s, K_ACCESSION);
			json_object_set_new(jst, "ModalitiesInStudy", json_string(mods));
			json_object_set_new(jst, "instances", json_integer((json_int_t)s->instances));
			json_object_set_new(jst, "bytes", json_integer((json_int_t)s->bytes));
			for (size_t k = v->series.start[si]; k < v->series.start[si + 1]; k++) {
				const node *r = v->series.v[k];
				json_t *jse = json_object();
				set_text(jse, "SeriesInstanceUID", r, K_SERIES_UID);
				set_text(jse, "SeriesNumber", r, K_SERIES_NUMBER);
				set_text(jse, "Modality", r, K_MODALITY);
				set_text(jse, "SeriesDescription", r, K_SERIES_DESC);
				json_object_set_new(jse, "instances", json_integer((json_int_t)r->instances));
				json_object_set_new(jse, "bytes", json_integer((json_int_t)r->bytes));
				json_array_append_new(jr, jse);
			}
			json_object_set_new(jst, "series", jr);
			json_array_append_new(js, jst);
		}
		json_object_set_new(jp, "studies", js);
		json_array_append_new(all, jp);
	}
	text = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text != NULL) {
		printf("%s\n", text);
		free(text);
	}
	json_decref(all);
}

int arca_cmd_ls(int argc, char **argv)
{
	const char *root = NULL, *patient = NULL, *study = NULL;
	bool json = false;
	arca_conf conf;
	store_index *idx = NULL;
	tree t;
	view v;
	int status = ARCA_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(arg, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(arg, "--patient") == 0 && i + 1 < argc) {
			patient = argv[++i];
		} else if (strcmp(arg, "--study") == 0 && i + 1 < argc) {
			study = argv[++i];
		} else if (strcmp(arg, "--json") == 0) {
			json = true;
		} else {
			fprintf(stderr, CMD ": unknown option or missing value: %s (see arca ls --help)\n", arg);
			return ARCA_EXIT_USAGE;
		}
	}
	if (study != NULL && !pacs_uid_is_valid(study, strlen(study))) {
		fprintf(stderr, CMD ": --study %s is not a UID (PS3.5 9.1)\n", study);
		return ARCA_EXIT_USAGE;
	}
	if (patient != NULL && (patient[0] == '\0' || strpbrk(patient, "*?\\") != NULL)) {
		fprintf(stderr, CMD ": --patient needs one Patient ID, without wildcards or backslash\n");
		return ARCA_EXIT_USAGE;
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (arca_node_load_conf(&conf, root) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	memset(&t, 0, sizeof(t));
	if (store_index_open(&idx, conf.index_path, NULL) < 0) {
		fprintf(stderr, CMD ": cannot open the index %s: %s\n", conf.index_path, arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto done;
	}
	if (build(&t, idx, patient, study) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto done;
	}
	if ((patient != NULL || study != NULL) && t.patients.n == 0) {
		fprintf(stderr, CMD ": %s%s%s%s%s is not in the archive %s\n", patient != NULL ? "patient " : "",
			patient != NULL ? patient : "", patient != NULL && study != NULL ? " with " : "",
			study != NULL ? "study " : "", study != NULL ? study : "", root);
		status = ARCA_EXIT_FAULT;
		goto done;
	}
	if (view_make(&v, &t) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto done;
	}
	if (json)
		print_json(&v);
	else
		print_text(&v);
	view_free(&v);
done:
	level_free(&t.patients);
	level_free(&t.studies);
	level_free(&t.series);
	store_index_free(idx);
	arca_conf_release(&conf);
	return status;
}
