/* arca_cmd_gc.c - `arca gc`: removes the chunks and manifests that no
 * instance of the index references (issue 4: identical chunks are stored
 * once, and garbage is collected by mark and sweep; storage/store_gc.h).
 *
 * By default it needs the chunk store to itself: an ingest may at any
 * moment reuse a chunk that nothing references yet (deduplication trusts a
 * chunk's existence), so gc refuses to run while arcad or an import has
 * the store open, and a store_cas_open elsewhere waits until it is done.
 * --online runs beside them and leaves garbage touched within the grace
 * period (store_gc.h).  --dry-run only counts, and runs beside arcad. */
#include <errno.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arca_cmd.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "arca_node.h"
#include "store_cas.h"
#include "store_gc.h"

#define CMD "arca gc"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca gc [--root DIR] [--online [--grace MINUTES]] [--dry-run] [--force]\n"
		"\n"
		"Mark and sweep of the chunk store: every chunk and manifest that no\n"
		"instance of the index references (current or kept older version) is\n"
		"removed: the traces of interrupted or refused ingests.  Prints what was\n"
		"kept and what was removed.  Without --online arcad must be stopped (the\n"
		"store must not be open anywhere else: an ingest may be reusing an\n"
		"unreferenced chunk).\n"
		"\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --online     run beside arcad and imports: an unreferenced chunk is\n"
		"               removed only if nothing stored or reused it in the grace\n"
		"               period before gc started\n"
		"  --grace MINUTES  with --online (default 60; at least 1): longer than\n"
		"               any instance takes from its first chunk to its answer\n"
		"  --dry-run    count what would be removed, remove nothing (runs beside arcad)\n"
		"  --force      sweep even when a manifest named by the index cannot be read\n"
		"               (its chunks are then removed too; repair it first if you can)\n"
		"  --help       print this help and exit\n"
		"\n"
		"Exit status: 0 done, 1 a manifest named by the index cannot be read\n"
		"(nothing removed; arca verify names it), 2 bad usage, or the store is\n"
		"in use.\n");
}

int arca_cmd_gc(int argc, char **argv)
{
	const char *root = NULL;
	store_gc_options go;
	store_gc_stats gs;
	store_cas_options co;
	store_cas *cas = NULL;
	arca_conf conf;
	int rc, status;

	store_gc_options_init(&go);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--dry-run") == 0 || strcmp(a, "-n") == 0) {
			go.dry_run = true;
		} else if (strcmp(a, "--force") == 0) {
			go.force = true;
		} else if (strcmp(a, "--online") == 0) {
			go.online = true;
		} else if (strcmp(a, "--grace") == 0 && i + 1 < argc) {
			char *end = NULL;
			long m;
			errno = 0;
			m = strtol(argv[++i], &end, 10);
			if (errno != 0 || end == argv[i] || *end != '\0' || m < 1 || m > 525600) {
				fprintf(stderr, CMD ": --grace wants whole minutes from 1 to 525600, not '%s'\n", argv[i]);
				return ARCA_EXIT_USAGE;
			}
			go.grace_s = (uint32_t)m * 60u;
		} else {
			if (a[0] == '-')
				fprintf(stderr, CMD ": unknown option '%s'%s; see `arca gc --help`\n", a,
					i + 1 >= argc ? " or missing value" : "");
			else
				fprintf(stderr, CMD ": unexpected argument '%s'; see `arca gc --help`\n", a);
			return ARCA_EXIT_USAGE;
		}
	}
	if (go.grace_s != 0 && !go.online) {
		fprintf(stderr, CMD ": --grace goes with --online\n");
		return ARCA_EXIT_USAGE;
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (arca_node_load_conf(&conf, root) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	if (strcmp(conf.storage_backend, "cas") != 0) {
		fprintf(stderr, CMD ": [storage] backend = %s keeps plain files: there is no chunk store to collect\n",
			conf.storage_backend);
		arca_conf_release(&conf);
		return ARCA_EXIT_USAGE;
	}
	store_cas_options_init(&co);
	co.sync = STORE_CAS_SYNC_DEFERRED; /* one batch of directory syncs at the end */
	if ((rc = store_cas_open(&cas, conf.storage_path, &co)) < 0) {
		fprintf(stderr, CMD ": cannot open the chunk store %s: %s\n", conf.storage_path, arca_error_last());
		arca_conf_release(&conf);
		return ARCA_EXIT_USAGE;
	}
	go.index = conf.index_path;
	rc = store_gc_run(cas, &go, &gs);
	if (rc == 0 || rc == ARCA_ENOTFOUND || rc == ARCA_ECRYPTO || rc == ARCA_EPROTO) {
		printf("%s %" PRIu64 " chunk files: %" PRIu64 " kept (%" PRIu64 " referenced by %" PRIu64
		       " instance rows, %.3f MB); %s %" PRIu64 " unreferenced (%.3f MB freed, %" PRIu64
		       " of them manifests of never-indexed instances) in %.2f s\n",
		       go.dry_run ? "dry run:" : "gc:", gs.chunks, gs.chunks - gs.removed, gs.live_chunks, gs.rows,
		       (double)gs.live_bytes / 1e6, go.dry_run ? "would remove" : "removed", gs.removed,
		       (double)gs.removed_bytes / 1e6, gs.removed_manifests, gs.seconds);
		if (gs.young > 0)
			printf("gc: %" PRIu64 " unreferenced chunk files (%.3f MB) %s, stored or reused within the grace period\n",
			       gs.young, (double)gs.young_bytes / 1e6, go.dry_run ? "would stay" : "stay");
		if (gs.stray > 0)
			printf("gc: %" PRIu64 " files under chunks/ are not chunks and were left alone (arca verify names them)\n",
			       gs.stray);
	}
	if (rc == 0) {
		status = ARCA_EXIT_OK;
	} else if (rc == ARCA_ENOTFOUND || rc == ARCA_ECRYPTO || rc == ARCA_EPROTO) {
		fprintf(stderr, CMD ": %s%s\n", go.dry_run ? "" : "nothing removed: ", arca_error_last());
		status = ARCA_EXIT_FAULT;
	} else {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		status = ARCA_EXIT_USAGE;
	}
	store_cas_free(cas);
	arca_conf_release(&conf);
	return status;
}
