/* arca_cmd_chain.c - `arca chain <subcommand>`: the dispatcher and what
 * the subcommands share (see arca_cmd_chain.h and arca(1)). */
#include "arca_cmd_chain.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_cmd.h"
#include "arca_err.h"
#include "arca_node.h"
#include "chain_entry.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* append is a maintenance command: usable, documented in arca(1), but not
 * listed here, since arcad writes the log's real events. */
static const struct subcommand subcommands[] = {
	{ "log", arca_cmd_chain_log, "list the node's log entries (readable or --json)" },
	{ "verify", arca_cmd_chain_verify, "check every entry, link and checkpoint signature of the log" },
	{ "proof", arca_cmd_chain_proof, "write an offline-verifiable proof bundle for a study's latest entry" },
	{ "check-proof", arca_cmd_chain_check_proof, "verify a proof bundle with only the node's public key" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: arca chain <subcommand> [options]\n\nsubcommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n`arca chain <subcommand> --help` describes one; see also arca(1).\n");
}

int arca_cmd_chain(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "arca chain: missing subcommand (log, verify, proof, check-proof); see `arca chain --help`\n");
		return ARCA_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return ARCA_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	if (strcmp(argv[1], "append") == 0)
		return arca_cmd_chain_append(argc - 1, argv + 1);
	fprintf(stderr, "arca chain: unknown subcommand '%s'; see `arca chain --help`\n", argv[1]);
	return ARCA_EXIT_USAGE;
}

int arca_chain_bad_arg(const char *cmd, int argc, char **argv, int i)
{
	const char *a = argv[i];

	if (a[0] == '-' && i + 1 >= argc)
		fprintf(stderr, "%s: unknown option or missing value after '%s'; see `%s --help`\n", cmd, a, cmd);
	else if (a[0] == '-')
		fprintf(stderr, "%s: unknown option '%s'; see `%s --help`\n", cmd, a, cmd);
	else
		fprintf(stderr, "%s: unexpected argument '%s'; see `%s --help`\n", cmd, a, cmd);
	return ARCA_EXIT_USAGE;
}

int arca_chain_ctx_open(arca_chain_ctx *ctx, const char *cmd, const char *root, const char *key_arg,
			bool private)
{
	char path[PATH_MAX];
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	ctx->root = root != NULL ? root : arca_conf_default_root();
	if ((rc = arca_node_load_conf(&ctx->conf, ctx->root)) < 0 ||
	    (rc = arca_node_path(ctx->repo, sizeof(ctx->repo), ctx->root, ARCA_NODE_LOG_REPO)) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, arca_error_last());
		arca_chain_ctx_release(ctx);
		return ARCA_EXIT_USAGE;
	}
	if (key_arg != NULL) {
		rc = arca_node_key_arg(&ctx->key, key_arg);
	} else if (private) {
		rc = arca_node_path(path, sizeof(path), ctx->root, ARCA_NODE_KEY_FILE);
		if (rc == 0)
			rc = chain_key_load(&ctx->key, path);
	} else {
		rc = arca_node_path(path, sizeof(path), ctx->root, ARCA_NODE_PUB_FILE);
		if (rc == 0)
			rc = arca_node_load_public_file(&ctx->key, path);
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s%s\n", cmd, key_arg != NULL ? "--key: " : "", arca_error_last());
		arca_chain_ctx_release(ctx);
		return ARCA_EXIT_USAGE;
	}
	return 0;
}

void arca_chain_ctx_release(arca_chain_ctx *ctx)
{
	chain_key_free(ctx->key);
	ctx->key = NULL;
	arca_conf_release(&ctx->conf);
}

bool arca_chain_parse_time(const char *s, int64_t *ms)
{
	char full[CHAIN_TIME_LEN];
	size_t n = strlen(s);

	/* Every accepted form is a prefix of the one chain_time_parse reads,
	 * completed with zeros and the Z. */
	if (n == 10)
		snprintf(full, sizeof(full), "%sT00:00:00.000Z", s);
	else if (n == 20 && s[19] == 'Z')
		snprintf(full, sizeof(full), "%.19s.000Z", s);
	else if (n == 24)
		snprintf(full, sizeof(full), "%s", s);
	else
		return false;
	return chain_time_parse(full, strlen(full), ms) == 0;
}

/* refs/arca/log/<node> as a file, or as a line "<id> refs/arca/log/<node>"
 * of packed-refs (git's two ways of storing a ref, gitrepository-layout(5)). */
static bool has_ref(const arca_chain_ctx *ctx)
{
	char path[PATH_MAX + 128], line[PATH_MAX + 128], ref[128];
	struct stat st;
	bool found = false;
	FILE *f;

	snprintf(ref, sizeof(ref), "refs/arca/log/%s", ctx->conf.node);
	snprintf(path, sizeof(path), "%s/%s", ctx->repo, ref);
	if (stat(path, &st) == 0)
		return true;
	snprintf(path, sizeof(path), "%s/packed-refs", ctx->repo);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *sp = strchr(line, ' ');
		line[strcspn(line, "\n")] = '\0';
		found = line[0] != '#' && line[0] != '^' && sp != NULL && strcmp(sp + 1, ref) == 0;
	}
	fclose(f);
	return found;
}

/* Any pack, or any loose object directory with something in it. */
static bool has_objects(const arca_chain_ctx *ctx)
{
	char path[PATH_MAX + 64];
	struct dirent *d;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/objects", ctx->repo);
	dir = opendir(path);
	if (dir == NULL)
		return false;
	while (!found && (d = readdir(dir)) != NULL) {
		char sub[PATH_MAX + 128];
		struct dirent *e;
		DIR *sd;

		if (d->d_name[0] == '.' || strcmp(d->d_name, "info") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name);
		sd = opendir(sub);
		if (sd == NULL)
			continue;
		while (!found && (e = readdir(sd)) != NULL)
			found = e->d_name[0] != '.';
		closedir(sd);
	}
	closedir(dir);
	return found;
}

arca_chain_state arca_chain_state_of(const arca_chain_ctx *ctx)
{
	struct stat st;

	if (stat(ctx->repo, &st) != 0 || !S_ISDIR(st.st_mode))
		return ARCA_CHAIN_NO_REPO;
	if (has_ref(ctx))
		return ARCA_CHAIN_PRESENT;
	return has_objects(ctx) ? ARCA_CHAIN_REF_MISSING : ARCA_CHAIN_EMPTY;
}

int arca_chain_open_view(arca_chain_ctx *ctx, const char *cmd, chain_log_view **v)
{
	int rc;

	*v = NULL;
	switch (arca_chain_state_of(ctx)) {
	case ARCA_CHAIN_EMPTY:
		return 0;
	case ARCA_CHAIN_NO_REPO:
		fprintf(stderr, "%s: %s is missing: the archive has no log (arca init creates it)\n", cmd, ctx->repo);
		return ARCA_EXIT_FAULT;
	case ARCA_CHAIN_REF_MISSING:
		fprintf(stderr, "%s: %s holds objects but no refs/arca/log/%s: the log's ref was removed; run arca chain verify\n",
			cmd, ctx->repo, ctx->conf.node);
		return ARCA_EXIT_FAULT;
	case ARCA_CHAIN_PRESENT:
		break;
	}
	rc = chain_log_view_open(v, ctx->repo, ctx->conf.node, ctx->key);
	if (rc < 0) {
		/* The library's message may already say to run verify. */
		fprintf(stderr, "%s: %s%s\n", cmd, arca_error_last(),
			rc == ARCA_ENOMEM || strstr(arca_error_last(), "verify") != NULL
				? ""
				: "; run arca chain verify to find the fault");
		return rc == ARCA_ENOMEM ? ARCA_EXIT_USAGE : ARCA_EXIT_FAULT;
	}
	return 0;
}
