/* arca_cmd_node.c - `arca node show`: this node's identity (design 3.3):
 * its name on the chain, its AE title, its Ed25519 public key and the
 * key's fingerprint, which peers compare before trusting the node's log;
 * `arca node rotate-key`: a new node key, recorded on the log
 * (docs/chain-format.md 10). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_cmd.h"
#include "arca_err.h"
#include "arca_event.h"
#include "arca_node.h"
#include "arca_spool.h"
#include "chain_base64.h"
#include "chain_checkpoint.h"
#include "chain_entry.h"
#include "chain_log.h"

#define CMD "arca node show"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: arca node show [--root DIR] [--json]\n"
		"       arca node rotate-key [--root DIR]\n"
		"\n"
		"Prints this node's name, AE title, public key (base64 of its 32 bytes),\n"
		"the key's fingerprint (SHA-256 of those bytes: in full and the first 16\n"
		"hex digits), its signed-note verifier key, and the key files.\n"
		"\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --json       one JSON object instead of the listing\n"
		"  --help       print this help and exit\n"
		"\n"
		"Exit status: 0; 1 if node.key is readable by others or does not match\n"
		"node.pub; 2 bad usage or no archive.\n"
		"\n"
		"rotate-key makes a new Ed25519 node key, records the change on the log\n"
		"(arca:key-change, signed under the old key), keeps the old public key as\n"
		"keys/node-<fingerprint>.pub and signs every later checkpoint with the new\n"
		"one.  Only while arcad is stopped.  Give peers the new keys/node.pub.\n"
		"Exit status: 0 rotated; 1 the log does not verify; 2 bad usage, arcad\n"
		"running, or the log locked.\n");
}

typedef struct node_info {
	const char *node, *ae;
	char key_path[PATH_MAX], pub_path[PATH_MAX], cons_path[PATH_MAX];
	char pub_b64[ARCA_NODE_PUB_B64_LEN];
	char fp[CHAIN_KEY_FP_HEX_LEN], fp_short[CHAIN_KEY_FP_SHORT_LEN];
	char verifier[ARCA_CONF_NAME_MAX + 64];
	char key_mode[8], cons_mode[8];
} node_info;

/* The C2SP signed-note verifier key, <name>+<hex key id>+<base64(0x01 ||
 * public key)>: what note and checkpoint tools are configured with. */
static int verifier_key(const chain_key *key, const char *name, char *out, size_t size)
{
	uint8_t raw[1 + CHAIN_KEY_PUBLIC_LEN];
	char b64[64];
	uint32_t id;
	int rc;

	raw[0] = CHAIN_NOTE_ALG_ED25519;
	if ((rc = chain_key_public(key, raw + 1)) < 0 || (rc = chain_note_key_id(name, raw + 1, &id)) < 0)
		return rc;
	chain_base64_encode(b64, raw, sizeof(raw));
	snprintf(out, size, "%s+%08" PRIx32 "+%s", name, id, b64);
	return 0;
}

static void file_mode(const char *path, char out[8])
{
	struct stat st;

	if (stat(path, &st) != 0)
		snprintf(out, 8, "absent");
	else
		snprintf(out, 8, "%04o", (unsigned)(st.st_mode & 07777));
}

/* node.key must be private (0600 or stricter) and hold node.pub's key. */
static int check_private(const node_info *in, const chain_key *pub)
{
	uint8_t a[CHAIN_KEY_PUBLIC_LEN], b[CHAIN_KEY_PUBLIC_LEN];
	chain_key *priv = NULL;
	struct stat st;
	int rc = 0;

	if (stat(in->key_path, &st) != 0) {
		fprintf(stderr, CMD ": %s: %s\n", in->key_path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr, CMD ": %s has mode %04o: others may read the node key; chmod 600 it\n", in->key_path,
			(unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (access(in->key_path, R_OK) != 0)
		return 0; /* another user's archive: the public key is what can be shown */
	if (chain_key_load(&priv, in->key_path) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		return -1;
	}
	if (chain_key_public(priv, a) < 0 || chain_key_public(pub, b) < 0 || memcmp(a, b, sizeof(a)) != 0) {
		fprintf(stderr, CMD ": %s is not the public key of %s\n", in->pub_path, in->key_path);
		rc = -1;
	}
	chain_key_free(priv);
	return rc;
}

static int print_json(const node_info *in)
{
	json_t *o = json_object();
	char *s;
	int rc = 0;

	if (o == NULL)
		return -1;
	json_object_set_new(o, "node", json_string(in->node));
	json_object_set_new(o, "ae", json_string(in->ae));
	json_object_set_new(o, "public_key", json_string(in->pub_b64));
	json_object_set_new(o, "fingerprint", json_string(in->fp));
	json_object_set_new(o, "fingerprint_short", json_string(in->fp_short));
	json_object_set_new(o, "verifier_key", json_string(in->verifier));
	json_object_set_new(o, "key_file", json_string(in->key_path));
	json_object_set_new(o, "key_mode", json_string(in->key_mode));
	json_object_set_new(o, "public_key_file", json_string(in->pub_path));
	json_object_set_new(o, "consortium_key_file", json_string(in->cons_path));
	json_object_set_new(o, "consortium_key_mode", json_string(in->cons_mode));
	s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2));
	if (s == NULL)
		rc = -1;
	else
		printf("%s\n", s);
	free(s);
	json_decref(o);
	return rc;
}

#define ROTATE "arca node rotate-key"

/* Appends the key change with the old key as the only entry of its batch
 * (its checkpoint is the last the old key signs); its index in *index. */
static int record_key_change(const arca_conf *conf, const char *repo, const chain_key *old,
			     const chain_key *next, uint64_t *index)
{
	chain_log_config cfg;
	chain_key_change kc;
	chain_log *log = NULL;
	char user[CHAIN_ENTRY_TEXT_MAX + 1];
	chain_entry e;
	int rc, crc;

	if ((rc = chain_key_public(old, kc.old_public)) < 0 || (rc = chain_key_fingerprint(old, kc.old_fp)) < 0 ||
	    (rc = chain_key_public(next, kc.new_public)) < 0 || (rc = chain_key_fingerprint(next, kc.new_fp)) < 0)
		return rc;
	memset(&cfg, 0, sizeof(cfg));
	cfg.repo_path = repo;
	cfg.node = conf->node;
	cfg.key = old;
	if ((rc = chain_log_open(&log, &cfg)) < 0)
		return rc;
	arca_event_user(user, sizeof(user));
	memset(&e, 0, sizeof(e));
	e.event = CHAIN_EVENT_KEY_CHANGE;
	e.action = CHAIN_ACTION_UPDATE;
	e.outcome = CHAIN_OUTCOME_SUCCESS;
	e.actor_user = user;
	e.key = &kc;
	rc = chain_log_append(log, &e, NULL, NULL, index);
	if (rc == 0)
		rc = chain_log_flush(log);
	crc = chain_log_close(log);
	return rc < 0 ? rc : crc;
}

static int rotate_key(int argc, char **argv)
{
	char key_path[PATH_MAX], next_path[PATH_MAX], repo[PATH_MAX], old_fp[CHAIN_KEY_FP_SHORT_LEN],
		new_fp[CHAIN_KEY_FP_SHORT_LEN], full_fp[CHAIN_KEY_FP_HEX_LEN];
	const char *root = NULL;
	chain_key *old = NULL, *next = NULL;
	chain_log_view *view = NULL;
	arca_conf conf;
	uint64_t index = 0;
	bool resumed = false;
	int rc, status = ARCA_EXIT_OK;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else {
			fprintf(stderr, ROTATE ": %s '%s'; see `arca node --help`\n",
				argv[i][0] == '-' ? "unknown option or missing value" : "unexpected argument", argv[i]);
			return ARCA_EXIT_USAGE;
		}
	}
	if (root == NULL)
		root = arca_conf_default_root();
	if (arca_node_load_conf(&conf, root) < 0 ||
	    arca_node_path(key_path, sizeof(key_path), root, ARCA_NODE_KEY_FILE) < 0 ||
	    arca_node_path(next_path, sizeof(next_path), root, ARCA_NODE_NEXT_KEY_FILE) < 0 ||
	    arca_node_path(repo, sizeof(repo), root, ARCA_NODE_LOG_REPO) < 0) {
		fprintf(stderr, ROTATE ": %s\n", arca_error_last());
		arca_conf_release(&conf);
		return ARCA_EXIT_USAGE;
	}
	/* arcad holds the log and signs with the key it loaded at start */
	if (arca_spool_arcad_running(root)) {
		fprintf(stderr, ROTATE ": arcad is running on %s and holds its log: stop it, rotate the key, start it again\n",
			root);
		arca_conf_release(&conf);
		return ARCA_EXIT_USAGE;
	}
	if ((rc = chain_key_load(&old, key_path)) < 0) {
		fprintf(stderr, ROTATE ": %s\n", arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto out;
	}
	if (access(next_path, F_OK) == 0) {
		/* an earlier rotation stopped: if the log already names the next
		 * key, only the switch of the files is left; else start over */
		if ((rc = chain_key_load(&next, next_path)) < 0) {
			fprintf(stderr, ROTATE ": %s\n", arca_error_last());
			status = ARCA_EXIT_USAGE;
			goto out;
		}
		if (chain_log_view_open(&view, repo, conf.node, next) == 0) {
			chain_log_view_free(view);
			resumed = true;
		} else {
			chain_key_free(next);
			next = NULL;
			if (unlink(next_path) != 0) {
				fprintf(stderr, ROTATE ": cannot remove the unused %s: %s\n", next_path, strerror(errno));
				status = ARCA_EXIT_USAGE;
				goto out;
			}
		}
	}
	if (!resumed) {
		/* the new key is on disk before the log names it */
		if ((rc = chain_key_generate(&next)) < 0 || (rc = chain_key_save(next, next_path)) < 0) {
			fprintf(stderr, ROTATE ": %s\n", arca_error_last());
			status = ARCA_EXIT_USAGE;
			goto out;
		}
		rc = record_key_change(&conf, repo, old, next, &index);
		if (rc < 0) {
			fprintf(stderr, ROTATE ": %s%s\n", arca_error_last(),
				rc == ARCA_EEXISTS ? " (another process holds the log)" : "");
			status = rc == ARCA_ECRYPTO ? ARCA_EXIT_FAULT : ARCA_EXIT_USAGE;
			unlink(next_path);
			goto out;
		}
	}
	if ((rc = arca_node_switch_key(root, old, next)) < 0) {
		fprintf(stderr, ROTATE ": the key change is on the log but %s; run " ROTATE " again to finish\n",
			arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto out;
	}
	chain_key_fingerprint_short(old, old_fp);
	chain_key_fingerprint_short(next, new_fp);
	chain_key_fingerprint_hex(old, full_fp);
	if (resumed)
		printf("finished the interrupted rotation: node key %s replaced by %s\n", old_fp, new_fp);
	else
		printf("node key %s replaced by %s (entry %" PRIu64 ", arca:key-change)\n", old_fp, new_fp, index);
	printf("old public key kept in %s/" ARCA_NODE_KEYS_DIR "/node-%s.pub; give peers the new %s/" ARCA_NODE_PUB_FILE
	       "\n", root, full_fp, root);
out:
	chain_key_free(next);
	chain_key_free(old);
	arca_conf_release(&conf);
	return status;
}

int arca_cmd_node(int argc, char **argv)
{
	const char *root = NULL;
	bool json = false;
	node_info in;
	arca_conf conf;
	chain_key *pub = NULL;
	int status = ARCA_EXIT_OK;

	if (argc >= 2 && strcmp(argv[1], "rotate-key") == 0)
		return rotate_key(argc, argv);
	if (argc < 2 || strcmp(argv[1], "show") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			usage(stdout);
			return ARCA_EXIT_OK;
		}
		fprintf(stderr, "arca node: expected `arca node show [--root DIR] [--json]` or `arca node rotate-key [--root DIR]`\n");
		return ARCA_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else {
			fprintf(stderr, CMD ": %s '%s'; see `" CMD " --help`\n",
				argv[i][0] == '-' ? "unknown option or missing value" : "unexpected argument", argv[i]);
			return ARCA_EXIT_USAGE;
		}
	}
	if (root == NULL)
		root = arca_conf_default_root();
	memset(&in, 0, sizeof(in));
	if (arca_node_load_conf(&conf, root) < 0 ||
	    arca_node_path(in.key_path, sizeof(in.key_path), root, ARCA_NODE_KEY_FILE) < 0 ||
	    arca_node_path(in.pub_path, sizeof(in.pub_path), root, ARCA_NODE_PUB_FILE) < 0 ||
	    arca_node_path(in.cons_path, sizeof(in.cons_path), root, ARCA_NODE_CONSORTIUM_FILE) < 0 ||
	    arca_node_load_public_file(&pub, in.pub_path) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		arca_conf_release(&conf);
		return ARCA_EXIT_USAGE;
	}
	in.node = conf.node;
	in.ae = conf.ae;
	file_mode(in.key_path, in.key_mode);
	file_mode(in.cons_path, in.cons_mode);
	if (arca_node_public_b64(pub, in.pub_b64) < 0 || chain_key_fingerprint_hex(pub, in.fp) < 0 ||
	    chain_key_fingerprint_short(pub, in.fp_short) < 0 ||
	    verifier_key(pub, in.node, in.verifier, sizeof(in.verifier)) < 0) {
		fprintf(stderr, CMD ": %s\n", arca_error_last());
		status = ARCA_EXIT_USAGE;
		goto out;
	}
	if (json) {
		if (print_json(&in) < 0) {
			fprintf(stderr, CMD ": out of memory\n");
			status = ARCA_EXIT_USAGE;
			goto out;
		}
	} else {
		printf("node              %s\n", in.node);
		printf("ae                %s\n", in.ae);
		printf("public key        %s\n", in.pub_b64);
		printf("fingerprint       %s\n", in.fp);
		printf("short fingerprint %s\n", in.fp_short);
		printf("verifier key      %s\n", in.verifier);
		printf("key file          %s (mode %s)\n", in.key_path, in.key_mode);
		printf("public key file   %s\n", in.pub_path);
		printf("consortium key    %s (mode %s)\n", in.cons_path, in.cons_mode);
	}
	if (check_private(&in, pub) < 0)
		status = ARCA_EXIT_FAULT;
out:
	chain_key_free(pub);
	arca_conf_release(&conf);
	return status;
}
