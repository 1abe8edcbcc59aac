/* arca_cmd_chain_verify.c - `arca chain verify`: the whole history of the
 * node's log (chain_log_verify_repo: every entry, every link between
 * batches, every checkpoint and its signature) against the node's public
 * key.  Exit 1 naming the first fault, 0 with a summary line. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arca_cmd.h"
#include "arca_cmd_chain.h"
#include "arca_err.h"
#include "arca_node.h"
#include "chain_hash.h"

#define CMD "arca chain verify"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca chain verify [--root DIR] [--key FILE|BASE64]\n"
		"\n"
		"Checks the node's whole provenance log: every entry (canonical, in\n"
		"order, of this node), every commit's link to the one before, and every\n"
		"checkpoint (its tree size and root, its Ed25519 signature).  Prints one\n"
		"summary line, or names the first bad entry (index, commit, reason).\n"
		"\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --key K      the node's public key: a file holding it, or its base64\n"
		"               (default: ROOT/keys/node.pub, checked against node.key)\n"
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

static void report(void *arg, const chain_log_fault *f)
{
	bool *reported = arg;

	if (*reported)
		return;
	*reported = true;
	if (f->index != CHAIN_LOG_NO_INDEX && f->commit[0] != '\0')
		fprintf(stderr, CMD ": fault at entry %" PRIu64 ", commit %s: %s\n", f->index, f->commit, f->reason);
	else if (f->index != CHAIN_LOG_NO_INDEX)
		fprintf(stderr, CMD ": fault at entry %" PRIu64 ": %s\n", f->index, f->reason);
	else if (f->commit[0] != '\0')
		fprintf(stderr, CMD ": fault at commit %s: %s\n", f->commit, f->reason);
	else
		fprintf(stderr, CMD ": fault: %s\n", f->reason);
}

/* node.pub must be node.key's public half: a log checked against a key
 * put there by someone else proves nothing.  Skipped when node.key cannot
 * be read (another user's archive: verifying needs only the public key). */
static int check_key_pair(const arca_chain_ctx *ctx)
{
	uint8_t a[CHAIN_KEY_PUBLIC_LEN], b[CHAIN_KEY_PUBLIC_LEN];
	char path[PATH_MAX];
	chain_key *priv = NULL;
	int rc = 0;

	if (arca_node_path(path, sizeof(path), ctx->root, ARCA_NODE_KEY_FILE) < 0 || access(path, R_OK) != 0)
		return 0;
	if (chain_key_load(&priv, path) < 0)
		return 0;
	if (chain_key_public(priv, a) == 0 && chain_key_public(ctx->key, b) == 0 && memcmp(a, b, sizeof(a)) != 0) {
		fprintf(stderr, CMD ": fault: %s/" ARCA_NODE_PUB_FILE " is not the public key of %s\n", ctx->root, path);
		rc = -1;
	}
	chain_key_free(priv);
	return rc;
}

int arca_cmd_chain_verify(int argc, char **argv)
{
	const char *root = NULL, *key_arg = NULL;
	char fp[CHAIN_KEY_FP_SHORT_LEN], hex[2 * CHAIN_HASH_LEN + 1];
	chain_log_stats stats;
	arca_chain_ctx ctx;
	bool reported = false;
	double t0;
	int rc, status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--key") == 0 && i + 1 < argc) {
			key_arg = argv[++i];
		} else {
			return arca_chain_bad_arg(CMD, argc, argv, i);
		}
	}
	if ((status = arca_chain_ctx_open(&ctx, CMD, root, key_arg, false)) != 0)
		return status;
	t0 = now_s();
	if (key_arg == NULL && check_key_pair(&ctx) < 0) {
		arca_chain_ctx_release(&ctx);
		return ARCA_EXIT_FAULT;
	}
	memset(&stats, 0, sizeof(stats));
	switch (arca_chain_state_of(&ctx)) {
	case ARCA_CHAIN_NO_REPO:
		fprintf(stderr, CMD ": fault: %s is missing: the archive has no log\n", ctx.repo);
		status = ARCA_EXIT_FAULT;
		break;
	case ARCA_CHAIN_REF_MISSING:
		fprintf(stderr, CMD ": fault: %s holds objects but no refs/arca/log/%s: the log's ref was removed\n",
			ctx.repo, ctx.conf.node);
		status = ARCA_EXIT_FAULT;
		break;
	case ARCA_CHAIN_EMPTY:
		/* stats stay zero: the empty tree's root, SHA-256(""). */
		chain_hash_sha256_once(stats.root, "", 0);
		break;
	case ARCA_CHAIN_PRESENT:
		rc = chain_log_verify_repo(ctx.repo, ctx.conf.node, ctx.key, report, &reported, &stats);
		if (rc < 0 && !reported)
			fprintf(stderr, CMD ": %s\n", arca_error_last());
		if (rc < 0)
			status = rc == ARCA_ENOMEM ? ARCA_EXIT_USAGE : ARCA_EXIT_FAULT;
		break;
	}
	if (status == 0) {
		chain_key_fingerprint_short(ctx.key, fp);
		chain_hash_hex(hex, stats.root, CHAIN_HASH_LEN);
		printf("log of %s intact: %" PRIu64 " entries, %" PRIu64 " batches, %" PRIu64
		       " checkpoints signed by key %s, root %s, verified in %.3f s\n",
		       ctx.conf.node, stats.entries, stats.batches, stats.batches, fp, hex, now_s() - t0);
	}
	arca_chain_ctx_release(&ctx);
	return status;
}
