/* arca_cmd_verify.c - `arca verify`: the whole archive checked (design.md
 * 4 "check everything"; issue 4 and issue 5).
 *
 *   1. the provenance log: every entry, link, checkpoint and signature
 *      (the code behind `arca chain verify`);
 *   2. the storage (storage/store_verify.h): the index's integrity and
 *      counts, every instance row's manifest, every instance rebuilt with
 *      every chunk re-hashed and its hash compared, unreferenced chunks
 *      (garbage, themselves re-hashed), stray files, temp files;
 *   3. every study's hash recomputed from the store against its latest
 *      store event on the log (tools/arca_verify_chain.h).
 *
 * Faults are printed one per line as they are found (stdout, or one JSON
 * document with --json), a progress bar goes to stderr when it is a
 * terminal, and the run is recorded on the log as one arca:verify event
 * (issue 5 item 6) with its outcome.  Exit 0 when all is well, 1 when
 * anything is damaged (naming every damaged instance and study), 2 for bad
 * usage or an archive that cannot be opened.  Read-only: it runs beside
 * arcad. */
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "arca_cmd.h"
#include "arca_cmd_chain.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "arca_event.h"
#include "arca_node.h"
#include "arca_verify_chain.h"
#include "chain_entry.h"
#include "chain_hash.h"
#include "store_cas.h"
#include "store_verify.h"

#define CMD "arca verify"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca verify [--root DIR] [--study UID] [--quiet] [--json] [--threads N] [--max-rate MB/s]\n"
		"                   [--no-event]\n"
		"\n"
		"Checks the whole archive: the provenance log (every entry, link,\n"
		"checkpoint and signature); the index (integrity, counts, every row);\n"
		"every instance (current and kept versions) rebuilt from its manifest\n"
		"with every chunk re-hashed, its hash compared with the index's; every\n"
		"study's hash against its latest store event on the log; and the chunk\n"
		"store for chunks nothing references (garbage for arca gc, re-hashed\n"
		"too) and files that do not belong.  Names every damaged instance\n"
		"(SOP Instance UID, series, study, what) and every damaged study.\n"
		"\n"
		"  --root DIR    the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --study UID   only this study (its instances and its chain entry)\n"
		"  --quiet       print the faults only\n"
		"  --json        one JSON document on stdout instead of lines\n"
		"  --threads N   rebuild on N threads (default: the online CPUs)\n"
		"  --max-rate R  verify at most R MB of instances a second (beside clinical work)\n"
		"  --no-event    do not record the run on the provenance log\n"
		"  --help        print this help and exit\n"
		"\n"
		"Exit status: 0 all is well, 1 a fault was found, 2 bad usage or an\n"
		"archive that cannot be opened.\n");
}

typedef struct run {
	bool quiet, json, bar;
	const char *study;
	arca_chain_studies *cs;     /* NULL: no chain to compare with */
	json_t *faults, *studies;   /* --json */
	uint64_t study_faults, study_warnings, chain_faults, store_faults;
	bool bar_shown;
	double t0;                  /* when the walk began, for the bar's rate */
	/* --study: the study's result, for the verify event */
	bool study_seen, study_hash_ok;
	uint8_t study_hash[CHAIN_HASH_LEN];
	uint32_t study_instances;
} run;

static void bar_clear(run *r)
{
	if (r->bar_shown) {
		fprintf(stderr, "\r%79s\r", "");
		r->bar_shown = false;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *ctx, const store_verify_progress *p)
{
	run *r = ctx;
	double frac = p->bytes_total > 0 ? (double)p->bytes_done / (double)p->bytes_total : 1.0;
	char bar[31];
	int fill;

	if (!r->bar)
		return;
	if (frac > 1.0)
		frac = 1.0;
	fill = (int)(frac * 30.0);
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	if (p->walking_store)
		fprintf(stderr, "\rverify: [%s] %3d%% %" PRIu64 "/%" PRIu64 " rows; store walk, %" PRIu64 " unreferenced ",
			bar, (int)(frac * 100.0), p->rows_done, p->rows_total, p->unreferenced_done);
	else {
		double t = now_s() - r->t0, rate = t > 0 ? (double)p->bytes_done / t : 0;
		double left = rate > 0 && p->bytes_total > p->bytes_done ? (double)(p->bytes_total - p->bytes_done) / rate : 0;
		fprintf(stderr, "\rverify: [%s] %3d%% %" PRIu64 "/%" PRIu64 " rows, %.0f MB/s, %d:%02d left ", bar,
			(int)(frac * 100.0), p->rows_done, p->rows_total, rate / 1e6, (int)(left / 60), (int)left % 60);
	}
	fflush(stderr);
	r->bar_shown = true;
}

static void hexof(const uint8_t h[STORE_CAS_HASH_LEN], char out[STORE_CAS_HEX_LEN + 1])
{
	store_cas_hash_to_hex(h, out);
}

static void on_fault(void *ctx, const store_verify_fault *f)
{
	run *r = ctx;
	char hex[STORE_CAS_HEX_LEN + 1];

	r->store_faults++;
	if (r->json) {
		json_t *o = json_object();
		json_object_set_new(o, "what", json_string(store_verify_what_name(f->what)));
		if (f->sop != NULL)
			json_object_set_new(o, "sop_instance_uid", json_string(f->sop));
		if (f->series != NULL)
			json_object_set_new(o, "series_instance_uid", json_string(f->series));
		if (f->study != NULL)
			json_object_set_new(o, "study_instance_uid", json_string(f->study));
		if (f->sop != NULL || f->study != NULL) {
			json_object_set_new(o, "version", json_integer(f->version));
			json_object_set_new(o, "current", json_boolean(f->current));
		}
		if (f->has_chunk) {
			hexof(f->chunk, hex);
			json_object_set_new(o, "chunk", json_string(hex));
		}
		if (f->path != NULL)
			json_object_set_new(o, "path", json_string(f->path));
		json_object_set_new(o, "message", json_string(f->message));
		json_array_append_new(r->faults, o);
		return;
	}
	bar_clear(r);
	switch (f->what) {
	case STORE_VERIFY_INDEX:
		printf("DAMAGED index: %s\n", f->message);
		break;
	case STORE_VERIFY_STRAY:
		printf("STRAY %s\n", f->message);
		break;
	case STORE_VERIFY_UNREFERENCED_DAMAGED:
		printf("DAMAGED %s\n", f->message);
		break;
	default:
		printf("DAMAGED instance %s (series %s, study %s%s): %s: %s\n", f->sop != NULL ? f->sop : "?",
		       f->series != NULL ? f->series : "?", f->study != NULL ? f->study : "?",
		       f->current ? "" : ", a kept older version", store_verify_what_name(f->what), f->message);
		break;
	}
	fflush(stdout);
}

static void study_line(run *r, const char *uid, const char *verdict, bool fault, uint64_t entry, const char *msg)
{
	if (r->json) {
		json_t *o = json_object();
		json_object_set_new(o, "study_instance_uid", json_string(uid));
		json_object_set_new(o, "verdict", json_string(verdict));
		json_object_set_new(o, "fault", json_boolean(fault));
		if (entry != UINT64_MAX)
			json_object_set_new(o, "chain_entry", json_integer((json_int_t)entry));
		json_object_set_new(o, "message", json_string(msg));
		json_array_append_new(r->studies, o);
		return;
	}
	if (!fault && r->quiet)
		return;
	bar_clear(r);
	printf("%s study %s: %s\n", fault ? "DAMAGED" : "warning:", uid, msg);
	fflush(stdout);
}

static void on_study(void *ctx, const store_verify_study *s)
{
	run *r = ctx;
	const char *uid = store_verify_study_uid(s);
	char msg[512];
	uint64_t entry = UINT64_MAX;
	arca_study_verdict v;

	if (r->study != NULL) {
		r->study_seen = true;
		r->study_instances = (uint32_t)store_verify_study_instances(s);
		r->study_hash_ok = store_verify_study_hash(s, r->study_hash) == 0;
	}
	if (r->cs == NULL) {
		if (store_verify_study_damaged(s) > 0) {
			r->study_faults++;
			snprintf(msg, sizeof(msg), "%zu of its %zu instances cannot be rebuilt intact",
				 store_verify_study_damaged(s), store_verify_study_instances(s));
			study_line(r, uid, "damaged", true, entry, msg);
		}
		return;
	}
	v = arca_chain_studies_check(r->cs, s, msg, sizeof(msg), &entry);
	switch (v) {
	case ARCA_STUDY_OK:
		return;
	case ARCA_STUDY_NOT_ON_CHAIN:
	case ARCA_STUDY_CHAIN_BEHIND:
		r->study_warnings++;
		study_line(r, uid, arca_study_verdict_name(v), false, entry, msg);
		return;
	case ARCA_STUDY_MISMATCH:
	case ARCA_STUDY_DAMAGED:
	case ARCA_STUDY_DELETED:
		r->study_faults++;
		study_line(r, uid, arca_study_verdict_name(v), true, entry, msg);
		return;
	}
}

static void on_unseen(void *ctx, const char *study, uint64_t entry, uint32_t instances)
{
	run *r = ctx;
	char msg[256];

	r->study_faults++;
	snprintf(msg, sizeof(msg), "entry %" PRIu64 " of the chain records %u instances, the index holds none", entry,
		 instances);
	study_line(r, study, "missing", true, entry, msg);
}

/* A fault of the log found after its verification passed (its tip cannot
 * be read back, an entry does not parse). */
static void chain_fault(run *r, json_t *doc, const char *message)
{
	r->chain_faults++;
	if (r->json)
		json_object_set_new(doc, "chain", json_pack("{s:s,s:s}", "result", "fault", "message", message));
	else
		printf("DAMAGED chain: %s\n", message);
}

/* The chain: the log's integrity and the studies it records.  Returns 0,
 * or an exit status when the archive's chain cannot even be read. */
static int chain_part(run *r, arca_chain_ctx *ctx, bool *have_ctx, const char *root, json_t *doc)
{
	char path[PATH_MAX], fault[1024], hex[2 * CHAIN_HASH_LEN + 1];
	chain_log_stats stats;
	chain_log_view *view = NULL;
	int status, rc;

	if (arca_node_path(path, sizeof(path), root, ARCA_NODE_PUB_FILE) < 0 || access(path, F_OK) != 0) {
		if (!r->quiet && !r->json)
			printf("chain: no node key %s: the archive keeps no provenance log; skipped\n", path);
		if (r->json)
			json_object_set_new(doc, "chain", json_pack("{s:s}", "result", "no log"));
		return 0;
	}
	if ((status = arca_chain_ctx_open(ctx, CMD, root, NULL, false)) != 0)
		return status;
	*have_ctx = true;
	status = arca_chain_verify_log(ctx, false, &stats, fault, sizeof(fault));
	if (status == 2) {
		fprintf(stderr, CMD ": the chain: %s\n", fault);
		return ARCA_EXIT_USAGE;
	}
	if (status != 0) {
		r->chain_faults++;
		if (r->json)
			json_object_set_new(doc, "chain", json_pack("{s:s,s:s}", "result", "fault", "message", fault));
		else
			printf("DAMAGED chain: %s\n", fault);
		/* the studies can still be compared if the tip reads */
	} else {
		chain_hash_hex(hex, stats.root, CHAIN_HASH_LEN);
		if (r->json)
			json_object_set_new(doc, "chain", json_pack("{s:s,s:I,s:I,s:s}", "result", "intact", "entries",
								    (json_int_t)stats.entries, "batches",
								    (json_int_t)stats.batches, "root", hex));
		else if (!r->quiet)
			printf("chain: log of %s intact: %" PRIu64 " entries, %" PRIu64 " signed checkpoints, root %s\n",
			       ctx->conf.node, stats.entries, stats.batches, hex);
	}
	if (arca_chain_state_of(ctx) != ARCA_CHAIN_PRESENT)
		return arca_chain_studies_load(&r->cs, NULL) < 0 ? ARCA_EXIT_USAGE : 0;
	rc = chain_log_view_open(&view, ctx->repo, ctx->conf.node, ctx->key);
	if (rc < 0) {
		if (status == 0)
			chain_fault(r, doc, arca_error_last());
		return 0; /* no study comparison without a readable log */
	}
	rc = arca_chain_studies_load(&r->cs, view);
	chain_log_view_free(view);
	if (rc < 0)
		chain_fault(r, doc, arca_error_last());
	if (r->cs != NULL && r->study != NULL)
		arca_chain_studies_only(r->cs, r->study);
	return 0;
}

/* One arca:verify entry (issue 5 item 6): the outcome and, for one study,
 * the study and its recomputed hash. */
static void record_event(const arca_conf *conf, run *r, bool faulty, bool incomplete)
{
	chain_entry e;
	bool durable = false;

	memset(&e, 0, sizeof(e));
	e.event = CHAIN_EVENT_VERIFY;
	e.action = CHAIN_ACTION_EXECUTE;
	e.outcome = incomplete ? CHAIN_OUTCOME_MAJOR_FAILURE : faulty ? CHAIN_OUTCOME_SERIOUS_FAILURE : CHAIN_OUTCOME_SUCCESS;
	if (r->study != NULL && r->study_seen) {
		e.study_uid = r->study;
		e.instances = r->study_instances;
		if (r->study_hash_ok) {
			e.has_study_hash = true;
			memcpy(e.study_hash, r->study_hash, CHAIN_HASH_LEN);
		}
	}
	if (arca_event_record(conf, &e, NULL, NULL, &durable) < 0)
		fprintf(stderr, CMD ": the verify event was not recorded: %s\n", arca_error_last());
}

static double gbps(uint64_t bytes, double s)
{
	return s > 0 ? (double)bytes / s / 1e9 : 0.0;
}

int arca_cmd_verify(int argc, char **argv)
{
	const char *root = NULL;
	arca_conf conf;
	arca_chain_ctx ctx;
	bool have_ctx = false, no_event = false;
	unsigned threads = 0;
	uint64_t max_rate = 0;
	store_cas_options co;
	store_cas *cas = NULL;
	store_verify_options vo;
	store_verify_stats vs;
	json_t *doc = NULL;
	uint64_t crash_temp = 0, crash_temp_bytes = 0;
	run r;
	int rc, status = 0;
	bool faulty;

	memset(&r, 0, sizeof(r));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--study") == 0 && i + 1 < argc) {
			r.study = argv[++i];
		} else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
			char *end;
			unsigned long n = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || n < 1 || n > 64) {
				fprintf(stderr, CMD ": --threads wants 1 to 64, not '%s'\n", argv[i]);
				return ARCA_EXIT_USAGE;
			}
			threads = (unsigned)n;
		} else if (strcmp(a, "--max-rate") == 0 && i + 1 < argc) {
			char *end;
			double mb = strtod(argv[++i], &end);
			if (*end != '\0' || !(mb >= 0.1 && mb <= 1e6)) {
				fprintf(stderr, CMD ": --max-rate wants MB per second, 0.1 to 1000000, not '%s'\n", argv[i]);
				return ARCA_EXIT_USAGE;
			}
			max_rate = (uint64_t)(mb * 1e6);
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			r.quiet = true;
		} else if (strcmp(a, "--json") == 0) {
			r.json = true;
		} else if (strcmp(a, "--no-event") == 0) {
			no_event = true;
		} else {
			return arca_chain_bad_arg(CMD, argc, argv, i);
		}
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (arca_node_load_conf(&conf, root) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	if (strcmp(conf.storage_backend, "cas") != 0) {
		fprintf(stderr, CMD ": [storage] backend = %s keeps plain files, not a chunk store: nothing to verify\n",
			conf.storage_backend);
		arca_conf_release(&conf);
		return ARCA_EXIT_USAGE;
	}
	r.bar = !r.quiet && !r.json && isatty(STDERR_FILENO);
	/* Every chunk read is a fresh buffer of up to 4 MiB: above glibc's
	 * default mmap threshold each would be a new mapping, page-faulted in
	 * and unmapped again (measured: a fifth of verify's time in the
	 * kernel).  Keeping them on the heap lets the buffers be reused. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	if (r.json) {
		doc = json_object();
		r.faults = json_array();
		r.studies = json_array();
	}

	if ((status = chain_part(&r, &ctx, &have_ctx, root, doc)) != 0)
		goto out;

	/* counted before the store is opened: opening it alone removes the
	 * temp files a crashed writer left (docs/storage-format.md 5) */
	(void)store_verify_temp_files(conf.storage_path, &crash_temp, &crash_temp_bytes);
	store_cas_options_init(&co);
	if ((rc = store_cas_open(&cas, conf.storage_path, &co)) < 0) {
		fprintf(stderr, CMD ": cannot open the chunk store %s: %s\n", conf.storage_path, arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto out;
	}
	store_verify_options_init(&vo);
	vo.index = conf.index_path;
	vo.study = r.study;
	vo.threads = threads;
	vo.max_rate = max_rate;
	vo.on_fault = on_fault;
	vo.on_study = on_study;
	vo.on_progress = on_progress;
	vo.ctx = &r;
	r.t0 = now_s();
	rc = store_verify_run(cas, &vo, &vs);
	bar_clear(&r);
	if (rc == ARCA_ENOTFOUND && r.study != NULL) {
		/* a study the chain holds but the index lost is a fault */
		if (r.cs != NULL) {
			r.study_seen = false;
			arca_chain_studies_unseen(r.cs, on_unseen, &r);
		}
		if (r.study_faults == 0) {
			fprintf(stderr, CMD ": %s, nor on the chain\n", arca_error_last());
			status = ARCA_EXIT_USAGE;
			goto out;
		}
	} else if (rc < 0) {
		fprintf(stderr, CMD ": the storage could not be verified: %s\n", arca_error_last());
		if (!no_event)
			record_event(&conf, &r, true, true);
		status = ARCA_EXIT_USAGE;
		goto out;
	} else if (r.cs != NULL) {
		arca_chain_studies_unseen(r.cs, on_unseen, &r);
	}

	faulty = r.store_faults > 0 || r.study_faults > 0 || r.chain_faults > 0;
	if (r.json) {
		json_object_set_new(doc, "ok", json_boolean(!faulty));
		json_object_set_new(doc, "faults", r.faults);
		json_object_set_new(doc, "studies", r.studies);
		r.faults = r.studies = NULL;
		json_object_set_new(
			doc, "counts",
			json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "studies",
				  (json_int_t)vs.studies, "instances", (json_int_t)vs.instances, "kept_versions",
				  (json_int_t)vs.versions, "damaged_instances", (json_int_t)vs.damaged_instances,
				  "damaged_studies", (json_int_t)(vs.damaged_studies > r.study_faults ? vs.damaged_studies : r.study_faults),
				  "index_faults", (json_int_t)vs.index_faults, "instance_bytes",
				  (json_int_t)vs.instance_bytes, "chunks_read", (json_int_t)vs.chunks_read,
				  "referenced_chunks", (json_int_t)vs.referenced_chunks, "referenced_stored_bytes",
				  (json_int_t)vs.referenced_stored_bytes, "unreferenced_chunks",
				  (json_int_t)vs.unreferenced_chunks, "unreferenced_bytes",
				  (json_int_t)vs.unreferenced_bytes, "unreferenced_manifests",
				  (json_int_t)vs.unreferenced_manifests, "stray", (json_int_t)vs.stray, "temp_files",
				  (json_int_t)vs.temp_files));
		/* the chain outbox: studies owed a store event (arcad appends
		 * them at its next start; not a fault) */
		json_object_set_new(json_object_get(doc, "counts"), "chain_pending",
				    json_integer((json_int_t)vs.chain_pending));
		json_object_set_new(doc, "temp_files_before_open", json_integer((json_int_t)crash_temp));
		json_object_set_new(doc, "seconds", json_real(vs.seconds));
		json_object_set_new(doc, "instance_gb_per_s", json_real(gbps(vs.instance_bytes, vs.seconds)));
		json_object_set_new(doc, "stored_gb_per_s",
				    json_real(gbps(vs.referenced_stored_bytes + vs.unreferenced_bytes, vs.seconds)));
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else if (!r.quiet) {
		printf("storage: %" PRIu64 " instances (%" PRIu64 " kept older versions) in %" PRIu64
		       " studies rebuilt and re-hashed: %.3f GB in %.2f s (%.2f GB/s of instances, %.2f GB/s of stored chunks)\n",
		       vs.instances, vs.versions, vs.studies, (double)vs.instance_bytes / 1e9, vs.seconds,
		       gbps(vs.instance_bytes, vs.seconds),
		       gbps(vs.referenced_stored_bytes + vs.unreferenced_bytes, vs.seconds));
		if (r.study == NULL)
			printf("store: %" PRIu64 " chunks referenced (%.3f GB stored); %" PRIu64
			       " unreferenced (%.3f MB, %" PRIu64 " of them manifests of never-indexed instances)%s; %" PRIu64
			       " temp files of puts in progress\n",
			       vs.referenced_chunks, (double)vs.referenced_stored_bytes / 1e9, vs.unreferenced_chunks,
			       (double)vs.unreferenced_bytes / 1e6, vs.unreferenced_manifests,
			       vs.unreferenced_chunks > 0 ? ": garbage, arca gc removes it" : "", vs.temp_files);
		if (r.study == NULL && crash_temp > 0)
			printf("store: chunks/tmp held %" PRIu64 " temp files (%.3f MB) before verify opened the store, %" PRIu64
			       " after (an opener alone removes a stopped writer's leftovers; the rest are puts in progress)\n",
			       crash_temp, (double)crash_temp_bytes / 1e6, vs.temp_files);
		if (r.study == NULL)
			printf("index: %" PRIu64 " studies pending a chain event (arcad appends them at start)\n",
			       vs.chain_pending);
		if (faulty)
			printf("FAULTS: %" PRIu64 " damaged instances, %" PRIu64 " damaged studies, %" PRIu64
			       " index faults, %" PRIu64 " damaged unreferenced chunks, %" PRIu64 " stray files, %" PRIu64
			       " chain faults\n",
			       vs.damaged_instances, r.study_faults > vs.damaged_studies ? r.study_faults : vs.damaged_studies,
			       vs.index_faults, vs.unreferenced_damaged, vs.stray, r.chain_faults);
		else
			printf("OK: no fault found%s\n", r.study_warnings > 0 ? " (see the warnings above)" : "");
	}
	if (!no_event)
		record_event(&conf, &r, faulty, false);
	status = faulty ? ARCA_EXIT_FAULT : ARCA_EXIT_OK;
out:
	json_decref(r.faults);
	json_decref(r.studies);
	json_decref(doc);
	store_cas_free(cas);
	arca_chain_studies_free(r.cs);
	if (have_ctx)
		arca_chain_ctx_release(&ctx);
	arca_conf_release(&conf);
	return status;
}
