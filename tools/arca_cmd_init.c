/* arca_cmd_init.c - `arca init`: create an archive (design.md 4): the
 * annotated DIR/arca.conf (samples/arca.conf with the given AE title, port
 * and node name), the default validation rules DIR/normalise.conf
 * (samples/normalise.conf, arca_rules.h) that arca.conf names, and its
 * folders.  It never overwrites an archive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_cmd.h"
#include "arca_conf.h"
#include "arca_err.h"
#include "arca_node.h"
#include "arca_rules.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca init [--root DIR] [--aet AE] [--port N] [--node NAME]\n"
		"\n"
		"Creates an archive in DIR: DIR/arca.conf (annotated; see arca.conf(5)),\n"
		"the default validation and normalisation rules DIR/normalise.conf (see\n"
		"arca-normalise(5); arca.conf names them, so every instance received is\n"
		"checked), DIR/instances, DIR/tmp, the node's keys (DIR/keys: node.key,\n"
		"node.pub, consortium.key) and its empty provenance log (DIR/chain/log.git).\n"
		"Refuses to touch an existing archive or key.\n"
		"\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --aet AE     this node's AE title (default ARCA)\n"
		"  --port N     DICOM port (default 11112)\n"
		"  --node NAME  this node's name on the provenance chain (default: the\n"
		"               host name)\n"
		"  --help       print this help and exit\n");
}

/* The new key's fingerprint: what the operator gives peers to compare. */
static void print_node_key(const char *root)
{
	char path[PATH_MAX], fp[CHAIN_KEY_FP_HEX_LEN];
	chain_key *pub = NULL;

	if (arca_node_path(path, sizeof(path), root, ARCA_NODE_PUB_FILE) == 0 &&
	    arca_node_load_public_file(&pub, path) == 0 && chain_key_fingerprint_hex(pub, fp) == 0)
		printf("node key %s/%s, fingerprint %s (see arca node show)\n", root, ARCA_NODE_KEY_FILE, fp);
	chain_key_free(pub);
}

int arca_cmd_init(int argc, char **argv)
{
	const char *root = arca_conf_default_root(), *ae = "ARCA", *node = NULL;
	char node_buf[ARCA_CONF_NAME_MAX + 1];
	unsigned long port = 11112;
	char *end;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		}
		if (i + 1 >= argc || (strcmp(a, "--root") != 0 && strcmp(a, "--aet") != 0 &&
				      strcmp(a, "--port") != 0 && strcmp(a, "--node") != 0)) {
			fprintf(stderr, "arca init: %s '%s'; see `arca init --help`\n",
				i + 1 >= argc && a[0] == '-' ? "missing value after" : "unknown option", a);
			return ARCA_EXIT_USAGE;
		}
		const char *v = argv[++i];
		if (strcmp(a, "--root") == 0) {
			root = v;
		} else if (strcmp(a, "--aet") == 0) {
			ae = v;
		} else if (strcmp(a, "--node") == 0) {
			node = v;
		} else {
			port = strtoul(v, &end, 10);
			if (v[0] < '0' || v[0] > '9' || *end != '\0' || port == 0 || port > 65535) {
				fprintf(stderr, "arca init: --port %s: expected 1-65535\n", v);
				return ARCA_EXIT_USAGE;
			}
		}
	}
	if (!arca_conf_ae_valid(ae)) {
		fprintf(stderr, "arca init: --aet \"%s\": an AE title is 1-16 characters, no backslash\n", ae);
		return ARCA_EXIT_USAGE;
	}
	if (node == NULL) {
		arca_conf_default_node(node_buf, sizeof(node_buf));
		node = node_buf;
	} else if (!arca_conf_name_valid(node)) {
		fprintf(stderr, "arca init: --node \"%s\": 1-64 letters, digits, '.', '_' or '-'\n", node);
		return ARCA_EXIT_USAGE;
	}
	if (arca_conf_init_root(root, ae, (uint16_t)port, node) < 0) {
		fprintf(stderr, "arca init: %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	printf("created the archive %s (AE %s, port %lu, node %s); start it with: arcad --root %s\n", root, ae,
	       port, node, root);
	printf("validation and normalisation rules: %s/" ARCA_RULES_FILE " (arca-normalise(5))\n", root);
	print_node_key(root);
	return ARCA_EXIT_OK;
}
