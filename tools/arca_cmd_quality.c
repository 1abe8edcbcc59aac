/* arca_cmd_quality.c - `arca quality`: the data quality report of what
 * ingest recorded (storage/store_quality.h), per sending AE and modality,
 * per AE, per modality or per rule: instances received, stored,
 * duplicates, new versions, refused, quarantined, warned, normalised,
 * released and dropped, the rules that fired, and example SOP Instance
 * UIDs, so that the imaging IT team sees which modality sends bad data and
 * can have it fixed at the source.  A table on stdout, or JSON (--json)
 * with the same content.  Reads the index only: works while arcad runs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_cmd.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "arca_node.h"
#include "arca_time.h"
#include "store_index.h"
#include "store_quality.h"

#define CMD "arca quality"
#define DEFAULT_EXAMPLES 3

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca quality [--root DIR] [--since TIME] [--until TIME]\n"
		"                    [--by source|modality|rule] [--examples N] [--json]\n"
		"\n"
		"The data quality report of what ingest recorded (C-STORE, arca import,\n"
		"arca quarantine release and drop): per sending AE and modality (or per\n"
		"--by key), instances received, stored, duplicates, new versions, refused,\n"
		"quarantined, warned and normalised, released and dropped from quarantine,\n"
		"the rules that fired and example SOP Instance UIDs.  See arca-quality(1).\n"
		"\n"
		"  --root DIR      the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --since TIME    records at or after TIME; --until TIME: before TIME.\n"
		"                  TIME: 2026-11-28, 2026-11-28T14:30[:05][Z] (local time,\n"
		"                  UTC with Z), @UNIXTIME, or a duration before now (30m,\n"
		"                  2h, 7d)\n"
		"  --by KEY        source (sending AE), modality or rule; default: sending\n"
		"                  AE and modality together\n"
		"  --examples N    example UIDs per row, 0-%d (default %d)\n"
		"  --json          JSON instead of the table\n"
		"  --help          print this help and exit\n",
		STORE_QUALITY_EXAMPLES_MAX, DEFAULT_EXAMPLES);
}

static const char *by_name(store_quality_by by)
{
	switch (by) {
	case STORE_QUALITY_BY_SOURCE: return "source";
	case STORE_QUALITY_BY_MODALITY: return "modality";
	case STORE_QUALITY_BY_RULE: return "rule";
	default: return "source,modality";
	}
}

/* ------------------------------------------------------------ JSON */

static int json_counts(json_t *o, const store_quality_group *g)
{
	const struct { const char *name; uint64_t v; } c[] = {
		{ "received", g->received },       { "stored", g->stored },
		{ "duplicates", g->duplicates },   { "versions", g->versions },
		{ "refused", g->refused },         { "quarantined", g->quarantined },
		{ "warned", g->warned },           { "normalised", g->normalised },
		{ "released", g->released },       { "dropped", g->dropped },
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		rc |= json_object_set_new(o, c[i].name, json_integer((json_int_t)c[i].v));
	return rc;
}

static json_t *json_group(const store_quality_report *r, const store_quality_group *g)
{
	json_t *o = json_object(), *ex = json_array(), *rules = NULL;
	int rc = 0;

	if (o == NULL || ex == NULL) {
		json_decref(o);
		json_decref(ex);
		return NULL;
	}
	if (r->filter.by == STORE_QUALITY_BY_RULE) {
		rc |= json_object_set_new(o, "rule", json_string(g->rule));
		rc |= json_object_set_new(o, "action", json_string(pacs_norm_action_name(g->action)));
		rc |= json_object_set_new(o, "kind", json_string(g->kind));
	} else {
		if (r->filter.by != STORE_QUALITY_BY_MODALITY)
			rc |= json_object_set_new(o, "source", json_string(g->source));
		if (r->filter.by != STORE_QUALITY_BY_SOURCE)
			rc |= json_object_set_new(o, "modality", json_string(g->modality));
	}
	rc |= json_counts(o, g);
	if (r->filter.by != STORE_QUALITY_BY_RULE) {
		rules = json_array();
		for (size_t i = 0; rules != NULL && i < g->n_rules; i++) {
			json_t *ru = json_pack("{s:s, s:s, s:I}", "rule", g->rules[i].rule, "action",
					       pacs_norm_action_name(g->rules[i].action), "instances",
					       (json_int_t)g->rules[i].instances);
			rc |= json_array_append_new(rules, ru);
		}
		rc |= json_object_set_new(o, "rules", rules != NULL ? rules : json_null());
	}
	for (size_t i = 0; i < g->n_examples; i++)
		rc |= json_array_append_new(ex, json_string(g->examples[i]));
	rc |= json_object_set_new(o, "examples", ex);
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int print_json(const store_quality_report *r)
{
	json_t *root = json_object(), *groups = json_array(), *total = json_object();
	char since[32], until[32];
	int rc = 0;

	if (root == NULL || groups == NULL || total == NULL)
		rc = -1;
	if (rc == 0 && r->filter.since_ms != 0) {
		arca_time_format_local(r->filter.since_ms, since, sizeof(since));
		rc |= json_object_set_new(root, "since", json_string(since));
	}
	if (rc == 0 && r->filter.until_ms != 0) {
		arca_time_format_local(r->filter.until_ms, until, sizeof(until));
		rc |= json_object_set_new(root, "until", json_string(until));
	}
	if (rc == 0)
		rc |= json_object_set_new(root, "by", json_string(by_name(r->filter.by)));
	for (size_t i = 0; rc == 0 && i < r->n_groups; i++) {
		json_t *g = json_group(r, &r->groups[i]);
		rc |= g != NULL ? json_array_append_new(groups, g) : -1;
	}
	if (rc == 0) {
		rc |= json_counts(total, &r->total);
		rc |= json_object_set_new(root, "groups", groups);
		groups = NULL;
		rc |= json_object_set_new(root, "total", total);
		total = NULL;
	}
	if (rc == 0) {
		rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (rc == 0)
			fputc('\n', stdout);
	}
	json_decref(groups);
	json_decref(total);
	json_decref(root);
	return rc == 0 ? 0 : arca_error_set(ARCA_ENOMEM, "cannot build the JSON report");
}

/* ------------------------------------------------------------ table */

static void print_row(const char *const *cells, const int *width, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* text left, numbers right */
		if (i < 2)
			printf("%-*s", width[i], cells[i]);
		else
			printf("%*s", width[i], cells[i]);
		fputs(i + 1 < n ? "  " : "\n", stdout);
	}
}

#define NCOLS 12

static void cells_of(const store_quality_report *r, const store_quality_group *g, char buf[NCOLS][68],
		     const char *cells[NCOLS], bool total)
{
	const uint64_t v[] = { g->received, g->stored, g->duplicates, g->versions, g->refused, g->quarantined,
			       g->warned, g->normalised, g->released, g->dropped };

	if (total) {
		snprintf(buf[0], sizeof(buf[0]), "total");
		buf[1][0] = '\0';
	} else if (r->filter.by == STORE_QUALITY_BY_RULE) {
		snprintf(buf[0], sizeof(buf[0]), "%s", g->rule);
		snprintf(buf[1], sizeof(buf[1]), "%s", pacs_norm_action_name(g->action));
	} else {
		snprintf(buf[0], sizeof(buf[0]), "%s", r->filter.by == STORE_QUALITY_BY_MODALITY ? g->modality
							  : g->source[0] != '\0'                  ? g->source
												  : "-");
		snprintf(buf[1], sizeof(buf[1]), "%s",
			 r->filter.by == STORE_QUALITY_BY_SOURCE_MODALITY ? (g->modality[0] != '\0' ? g->modality : "-")
									  : "");
	}
	for (size_t i = 0; i < 10; i++)
		snprintf(buf[2 + i], sizeof(buf[2 + i]), "%llu", (unsigned long long)v[i]);
	for (size_t i = 0; i < NCOLS; i++)
		cells[i] = buf[i];
}

static void print_table(const store_quality_report *r)
{
	const char *head[NCOLS] = { "SOURCE", "MODALITY", "RECEIVED", "STORED", "DUPLICATE", "VERSION", "REFUSED",
				    "QUARANTINED", "WARNED", "NORMALISED", "RELEASED", "DROPPED" };
	char buf[NCOLS][68];
	const char *cells[NCOLS];
	int width[NCOLS];
	size_t ncols = NCOLS;
	char since[32], until[32];

	if (r->filter.by == STORE_QUALITY_BY_RULE) {
		head[0] = "RULE";
		head[1] = "ACTION";
		head[2] = "INSTANCES";
	} else if (r->filter.by == STORE_QUALITY_BY_MODALITY) {
		head[0] = "MODALITY";
	}
	for (size_t i = 0; i < NCOLS; i++)
		width[i] = (int)strlen(head[i]);
	for (size_t k = 0; k <= r->n_groups; k++) {
		cells_of(r, k < r->n_groups ? &r->groups[k] : &r->total, buf, cells, k == r->n_groups);
		for (size_t i = 0; i < NCOLS; i++)
			if ((int)strlen(cells[i]) > width[i])
				width[i] = (int)strlen(cells[i]);
	}
	/* one key column when grouping by source or by modality alone */
	if (r->filter.by == STORE_QUALITY_BY_SOURCE || r->filter.by == STORE_QUALITY_BY_MODALITY) {
		width[1] = 0;
		head[1] = "";
	}
	arca_time_format_local(r->filter.since_ms, since, sizeof(since));
	arca_time_format_local(r->filter.until_ms != 0 ? r->filter.until_ms : arca_time_now_ms(), until,
			       sizeof(until));
	if (r->filter.since_ms != 0)
		printf("quality of ingest from %s to %s, by %s\n", since, until, by_name(r->filter.by));
	else
		printf("quality of ingest up to %s, by %s\n", until, by_name(r->filter.by));
	print_row(head, width, ncols);
	for (size_t k = 0; k <= r->n_groups; k++) {
		cells_of(r, k < r->n_groups ? &r->groups[k] : &r->total, buf, cells, k == r->n_groups);
		print_row(cells, width, ncols);
	}
	/* then, per row, what fired and where to look */
	for (size_t k = 0; k < r->n_groups; k++) {
		const store_quality_group *g = &r->groups[k];
		char key[80];

		if (g->n_rules == 0 && g->n_examples == 0)
			continue;
		if (r->filter.by == STORE_QUALITY_BY_RULE)
			snprintf(key, sizeof(key), "%s (%s)", g->rule, pacs_norm_action_name(g->action));
		else if (r->filter.by == STORE_QUALITY_BY_SOURCE_MODALITY)
			snprintf(key, sizeof(key), "%s %s", g->source[0] != '\0' ? g->source : "-",
				 g->modality[0] != '\0' ? g->modality : "-");
		else
			snprintf(key, sizeof(key), "%s",
				 r->filter.by == STORE_QUALITY_BY_SOURCE ? g->source : g->modality);
		printf("\n%s\n", key);
		if (g->n_rules > 0) {
			printf("  rules:");
			for (size_t i = 0; i < g->n_rules; i++)
				printf("%s %s (%s) %llu", i > 0 ? "," : "", g->rules[i].rule,
				       pacs_norm_action_name(g->rules[i].action),
				       (unsigned long long)g->rules[i].instances);
			printf("\n");
		}
		for (size_t i = 0; i < g->n_examples; i++)
			printf("  %s %s\n", i == 0 ? "examples:" : "         ", g->examples[i]);
	}
}

/* ------------------------------------------------------------ main */

int arca_cmd_quality(int argc, char **argv)
{
	const char *root = NULL;
	store_quality_filter f = { 0, 0, STORE_QUALITY_BY_SOURCE_MODALITY, DEFAULT_EXAMPLES };
	store_quality_report *rep = NULL;
	store_index *idx = NULL;
	bool json = false;
	int64_t now = arca_time_now_ms();
	arca_conf conf;
	int status = ARCA_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		}
		if (strcmp(a, "--json") == 0) {
			json = true;
			continue;
		}
		if (i + 1 >= argc || (strcmp(a, "--root") != 0 && strcmp(a, "--since") != 0 && strcmp(a, "--until") != 0 &&
				      strcmp(a, "--by") != 0 && strcmp(a, "--examples") != 0)) {
			fprintf(stderr, CMD ": %s '%s'; see `arca quality --help`\n",
				i + 1 >= argc && a[0] == '-' && strcmp(a, "--json") != 0 ? "missing value after"
											 : "unknown option",
				a);
			return ARCA_EXIT_USAGE;
		}
		const char *v = argv[++i];
		if (strcmp(a, "--root") == 0) {
			root = v;
		} else if (strcmp(a, "--since") == 0 || strcmp(a, "--until") == 0) {
			int64_t *t = strcmp(a, "--since") == 0 ? &f.since_ms : &f.until_ms;
			if (arca_time_parse(v, now, t) < 0) {
				fprintf(stderr, CMD ": %s: %s\n", a, arca_error_last());
				return ARCA_EXIT_USAGE;
			}
			/* 0 means "open": the epoch itself is as good as open */
			if (*t == 0)
				*t = 1;
		} else if (strcmp(a, "--by") == 0) {
			if (strcmp(v, "source") == 0)
				f.by = STORE_QUALITY_BY_SOURCE;
			else if (strcmp(v, "modality") == 0)
				f.by = STORE_QUALITY_BY_MODALITY;
			else if (strcmp(v, "rule") == 0)
				f.by = STORE_QUALITY_BY_RULE;
			else {
				fprintf(stderr, CMD ": --by %s: expected source, modality or rule\n", v);
				return ARCA_EXIT_USAGE;
			}
		} else {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (v[0] < '0' || v[0] > '9' || *end != '\0' || n > STORE_QUALITY_EXAMPLES_MAX) {
				fprintf(stderr, CMD ": --examples %s: expected 0-%d\n", v, STORE_QUALITY_EXAMPLES_MAX);
				return ARCA_EXIT_USAGE;
			}
			f.examples = (unsigned)n;
		}
	}
	if (f.since_ms != 0 && f.until_ms != 0 && f.until_ms <= f.since_ms) {
		fprintf(stderr, CMD ": --until is not after --since: the range is empty\n");
		return ARCA_EXIT_USAGE;
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (arca_node_load_conf(&conf, root) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	if (access(conf.index_path, F_OK) != 0) {
		/* nothing received yet (arcad creates the index): an empty
		 * report, and no index created by a report */
		store_quality_report empty;
		memset(&empty, 0, sizeof(empty));
		empty.filter = f;
		if (json ? print_json(&empty) < 0 : (print_table(&empty), false))
			status = ARCA_EXIT_USAGE;
		goto done;
	}
	if (store_index_open(&idx, conf.index_path, NULL) < 0 || store_quality_report_get(idx, &f, &rep) < 0) {
		fprintf(stderr, CMD ": %s: %s\n", root, arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto done;
	}
	if (json) {
		if (print_json(rep) < 0) {
			fprintf(stderr, CMD ": %s\n", arca_error_last());
			status = ARCA_EXIT_USAGE;
		}
	} else {
		print_table(rep);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, CMD ": cannot write the report\n");
		status = ARCA_EXIT_USAGE;
	}
done:
	store_quality_report_free(rep);
	store_index_free(idx);
	arca_conf_release(&conf);
	return status;
}
