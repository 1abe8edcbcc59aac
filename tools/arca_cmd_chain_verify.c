/* arca_cmd_chain_verify.c - `arca chain verify`: the whole history of the
 * node's log (chain_log_verify_repo: every entry, every link between
 * batches, every checkpoint and its signature) against the node's public
 * key, then every study hash on the log against the store (issue 5: the
 * latest store event of each study compared with the study hash
 * recomputed from the index, the manifests and the chunks, every chunk
 * re-hashed; storage/store_verify.h).  Exit 1 naming the first fault: the
 * log's first bad entry, or the study mismatch with the lowest entry
 * index; 0 with a summary line. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arca_cmd.h"
#include "arca_cmd_chain.h"
#include "arca_err.h"
#include "arca_node.h"
#include "arca_verify_chain.h"
#include "chain_entry.h"
#include "chain_hash.h"
#include "chain_key.h"
#include "store_cas.h"
#include "store_verify.h"

#define CMD "arca chain verify"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca chain verify [--root DIR] [--key FILE|BASE64] [--no-store]\n"
		"\n"
		"Checks the node's whole provenance log: every entry (canonical, in\n"
		"order, of this node), every commit's link to the one before, and every\n"
		"checkpoint (its tree size and root, its Ed25519 signature).  Then, for\n"
		"every study on the log, compares the study hash of its latest store\n"
		"event with the study hash recomputed from the store (index, manifests\n"
		"and chunks, every chunk re-hashed).  Prints one summary line, or names\n"
		"the first fault (entry index, commit or study, and the reason).\n"
		"\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --key K      the node's public key: a file holding it, or its base64\n"
		"               (default: ROOT/keys/node.pub, checked against node.key)\n"
		"  --no-store   check the log only, not the study hashes against the store\n"
		"  --help       print this help and exit\n"
		"\n"
		"Exit status: 0 the log is intact, 1 a fault was found, 2 bad usage.\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The store side: the first fault by entry index, and counts. */
typedef struct store_check {
	arca_chain_studies *cs;
	uint64_t first_entry;   /* UINT64_MAX: none yet */
	char first[1024];
	uint64_t faults, ok, behind, not_on_chain;
	bool no_index;
	/* the first instance fault, per the study it names, to say why */
	char why_study[65];
	char why[512];
} store_check;

static void on_fault(void *ctx, const store_verify_fault *f)
{
	store_check *sc = ctx;

	/* Remember one reason per study: the study callback comes after
	 * every fault of its rows. */
	if (f->study != NULL && strcmp(sc->why_study, f->study) != 0) {
		snprintf(sc->why_study, sizeof(sc->why_study), "%s", f->study);
		snprintf(sc->why, sizeof(sc->why), "instance %s: %s", f->sop != NULL ? f->sop : "?", f->message);
	}
}

static void note_fault(store_check *sc, uint64_t entry, const char *line)
{
	sc->faults++;
	if (sc->first_entry == UINT64_MAX || entry < sc->first_entry || sc->first[0] == '\0') {
		sc->first_entry = entry;
		snprintf(sc->first, sizeof(sc->first), "%s", line);
	}
}

static void on_study(void *ctx, const store_verify_study *s)
{
	store_check *sc = ctx;
	char msg[512], line[1024 + 600];
	uint64_t entry;
	const char *uid = store_verify_study_uid(s);
	arca_study_verdict v = arca_chain_studies_check(sc->cs, s, msg, sizeof(msg), &entry);

	switch (v) {
	case ARCA_STUDY_OK:
		sc->ok++;
		return;
	case ARCA_STUDY_NOT_ON_CHAIN:
		sc->not_on_chain++;
		return;
	case ARCA_STUDY_CHAIN_BEHIND:
		sc->behind++;
		return;
	case ARCA_STUDY_DAMAGED:
		if (entry == UINT64_MAX)
			return; /* not on the chain: for arca verify to name */
		/* fall through */
	case ARCA_STUDY_MISMATCH:
	case ARCA_STUDY_DELETED:
		if (entry == UINT64_MAX)
			snprintf(line, sizeof(line), "study %s: %s", uid, msg);
		else if (v == ARCA_STUDY_DAMAGED && strcmp(sc->why_study, uid) == 0)
			snprintf(line, sizeof(line),
				 "fault at entry %" PRIu64 ": study %s: study hash no longer matches the store: %s "
				 "(%zu of its %zu instances cannot be rebuilt intact)",
				 entry, uid, sc->why, store_verify_study_damaged(s), store_verify_study_instances(s));
		else
			snprintf(line, sizeof(line), "fault at entry %" PRIu64 ": study %s: %s", entry, uid, msg);
		note_fault(sc, entry, line);
		return;
	}
}

static void on_unseen(void *ctx, const char *study, uint64_t entry, uint32_t instances)
{
	char line[512];

	snprintf(line, sizeof(line), "fault at entry %" PRIu64 ": study %s (%u instances on the chain) is not in the index",
		 entry, study, instances);
	note_fault(ctx, entry, line);
}

/* 0 all studies match, 1 a fault (printed), 2 the check could not run. */
static int check_store(arca_chain_ctx *ctx, store_check *sc)
{
	store_verify_options vo;
	store_verify_stats vs;
	store_cas_options co;
	store_cas *cas = NULL;
	chain_log_view *view = NULL;
	int rc, status;

	/* An archive whose index was never created (arcad never ran, nothing
	 * imported) has no store to compare with: the log is all there is.
	 * `arca verify` still names every study the log holds that the index
	 * lacks. */
	if (access(ctx->conf.index_path, F_OK) != 0) {
		sc->no_index = true;
		return 0;
	}
	if ((status = arca_chain_open_view(ctx, CMD, &view)) != 0)
		return status;
	rc = arca_chain_studies_load(&sc->cs, view);
	chain_log_view_free(view);
	if (rc < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return ARCA_EXIT_FAULT;
	}
	store_cas_options_init(&co);
	if ((rc = store_cas_open(&cas, ctx->conf.storage_path, &co)) < 0) {
		fprintf(stderr, CMD ": cannot open the chunk store: %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	store_verify_options_init(&vo);
	vo.index = ctx->conf.index_path;
	vo.skip_store_walk = true;
	vo.skip_index_check = true;
	vo.on_fault = on_fault;
	vo.on_study = on_study;
	vo.ctx = sc;
	rc = store_verify_run(cas, &vo, &vs);
	store_cas_free(cas);
	if (rc < 0) {
		fprintf(stderr, CMD ": cannot check the study hashes against the store: %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	arca_chain_studies_unseen(sc->cs, on_unseen, sc);
	if (sc->faults > 0) {
		fprintf(stderr, CMD ": %s", sc->first);
		if (sc->faults > 1)
			fprintf(stderr, " (and %" PRIu64 " more studies at fault: arca verify names them all)",
				sc->faults - 1);
		fputc('\n', stderr);
		return ARCA_EXIT_FAULT;
	}
	return 0;
}

/* ---------------------------------------------------- keys in force */

/* The node keys that signed the log's checkpoints (docs/chain-format.md
 * 10): each arca:key-change entry ends the span of its old key; the
 * checkpoint that covers the change is still signed by the old key, every
 * later one by the new key (chain/chain_log_keys.c).  So the summary can
 * say which key signed the checkpoints up to which entry instead of
 * naming only the current key. */
typedef struct key_span {
	uint64_t change;                  /* index of the arca:key-change */
	char old_fp[CHAIN_KEY_FP_SHORT_LEN]; /* short fingerprints (chain_key_fingerprint_short) */
	char new_fp[CHAIN_KEY_FP_SHORT_LEN];
} key_span;

typedef struct key_spans {
	key_span *v;
	size_t n, cap;
} key_spans;

/* A key change is exactly this member in an entry's canonical bytes (a
 * string value cannot hold it: its quotes would be escaped), so other
 * entries need no parsing. */
static const char KEY_CHANGE_MEMBER[] = "\"event\":\"arca:key-change\"";

static int on_entry_key(void *arg, uint64_t index, const char *bytes, size_t len)
{
	key_spans *ks = arg;
	chain_entry *e = NULL;
	int rc;

	if (len < sizeof(KEY_CHANGE_MEMBER) - 1 ||
	    memmem(bytes, len, KEY_CHANGE_MEMBER, sizeof(KEY_CHANGE_MEMBER) - 1) == NULL)
		return 0;
	if ((rc = chain_entry_parse(&e, bytes, len)) < 0)
		return arca_error_prefix(rc, "entry %" PRIu64 " (a key change)", index);
	if (e->event == CHAIN_EVENT_KEY_CHANGE && e->key != NULL) {
		if (ks->n == ks->cap) {
			size_t cap = ks->cap != 0 ? 2 * ks->cap : 4;
			key_span *g = realloc(ks->v, cap * sizeof(*g));
			if (g == NULL) {
				chain_entry_free(e);
				return arca_error_set(ARCA_ENOMEM, "no memory for the log's key changes");
			}
			ks->v = g;
			ks->cap = cap;
		}
		ks->v[ks->n].change = index;
		chain_hash_hex(ks->v[ks->n].old_fp, e->key->old_fp, (CHAIN_KEY_FP_SHORT_LEN - 1) / 2);
		chain_hash_hex(ks->v[ks->n].new_fp, e->key->new_fp, (CHAIN_KEY_FP_SHORT_LEN - 1) / 2);
		ks->n++;
	}
	chain_entry_free(e);
	return 0;
}

/* The key changes on the verified log, in order. */
static int load_key_spans(arca_chain_ctx *ctx, key_spans *ks)
{
	chain_log_view *view = NULL;
	int status, rc;

	if ((status = arca_chain_open_view(ctx, CMD, &view)) != 0 || view == NULL)
		return status;
	rc = chain_log_view_foreach(view, 0, on_entry_key, ks);
	chain_log_view_free(view);
	if (rc < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return ARCA_EXIT_FAULT;
	}
	return 0;
}

/* "signed by key FP" or, across rotations, "signed by 2 keys: FP0 up to
 * entry 2, FP1 (current) after it"; when the last change is the last
 * checkpointed entry the current key has signed nothing yet. */
static void print_signers(const key_spans *ks, const char *current_fp, uint64_t entries)
{
	bool current_signed;
	size_t i;

	if (ks->n == 0) {
		printf(" signed by key %s", current_fp);
		return;
	}
	current_signed = ks->v[ks->n - 1].change + 1 < entries;
	printf(" signed by %zu key%s: ", ks->n + (current_signed ? 1 : 0),
	       ks->n + (current_signed ? 1 : 0) > 1 ? "s" : "");
	for (i = 0; i < ks->n; i++)
		printf("%s%s up to entry %" PRIu64, i > 0 ? ", " : "", ks->v[i].old_fp, ks->v[i].change);
	if (current_signed)
		printf(", %s (current) after it", current_fp);
	else
		printf(" (the current key %s signs the next checkpoint)", current_fp);
}

int arca_cmd_chain_verify(int argc, char **argv)
{
	const char *root = NULL, *key_arg = NULL;
	char fp[CHAIN_KEY_FP_SHORT_LEN], hex[2 * CHAIN_HASH_LEN + 1], fault[1024];
	chain_log_stats stats;
	arca_chain_ctx ctx;
	store_check sc;
	key_spans ks;
	bool no_store = false;
	double t0;
	int status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--key") == 0 && i + 1 < argc) {
			key_arg = argv[++i];
		} else if (strcmp(a, "--no-store") == 0) {
			no_store = true;
		} else {
			return arca_chain_bad_arg(CMD, argc, argv, i);
		}
	}
	if ((status = arca_chain_ctx_open(&ctx, CMD, root, key_arg, false)) != 0)
		return status;
	t0 = now_s();
	status = arca_chain_verify_log(&ctx, key_arg != NULL, &stats, fault, sizeof(fault));
	if (status != 0) {
		fprintf(stderr, CMD ": %s\n", fault);
		arca_chain_ctx_release(&ctx);
		return status == 2 ? ARCA_EXIT_USAGE : ARCA_EXIT_FAULT;
	}
	memset(&sc, 0, sizeof(sc));
	sc.first_entry = UINT64_MAX;
	memset(&ks, 0, sizeof(ks));
	if (!no_store)
		status = check_store(&ctx, &sc);
	if (status == 0)
		status = load_key_spans(&ctx, &ks);
	if (status == 0) {
		chain_key_fingerprint_short(ctx.key, fp);
		chain_hash_hex(hex, stats.root, CHAIN_HASH_LEN);
		printf("log of %s intact: %" PRIu64 " entries, %" PRIu64 " batches, %" PRIu64 " checkpoints",
		       ctx.conf.node, stats.entries, stats.batches, stats.batches);
		print_signers(&ks, fp, stats.entries);
		printf(", root %s", hex);
		if (!no_store && sc.no_index)
			printf("; no index yet (%s), no study hash compared", ctx.conf.index_path);
		else if (!no_store)
			printf("; %" PRIu64 " study hashes match the store", sc.ok);
		if (sc.behind > 0)
			printf(" (%" PRIu64 " studies hold instances indexed after their last store event)", sc.behind);
		/* entries journaled by a writer that stopped before its next
		 * checkpoint (docs/chain-format.md 7.6): durable, appended to git
		 * when the log is next opened for writing */
		if (stats.pending > 0)
			printf("; %" PRIu64 " entries journaled, not yet checkpointed", stats.pending);
		printf(", verified in %.3f s\n", now_s() - t0);
	}
	free(ks.v);
	arca_chain_studies_free(sc.cs);
	arca_chain_ctx_release(&ctx);
	return status;
}
