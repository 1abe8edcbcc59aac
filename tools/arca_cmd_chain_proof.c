/* arca_cmd_chain_proof.c - `arca chain proof` writes an inclusion proof
 * bundle (arca_proof.h, docs/chain-format.md 8) for a study's latest
 * entry; `arca chain check-proof` verifies one with only the node's public
 * key, offline. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_cmd.h"
#include "arca_cmd_chain.h"
#include "arca_err.h"
#include "arca_node.h"
#include "arca_proof.h"
#include "chain_entry.h"

#define CMD_PROOF "arca chain proof"
#define CMD_CHECK "arca chain check-proof"

static void usage_proof(FILE *out)
{
	fprintf(out,
		"usage: arca chain proof --study UID [--root DIR] [--out FILE]\n"
		"       arca chain proof --index N [--root DIR] [--out FILE]\n"
		"\n"
		"Writes a proof bundle for the latest log entry of the study (or for entry\n"
		"N): the entry, its inclusion proof and the node's signed checkpoint, which\n"
		"`arca chain check-proof` verifies offline with the node's public key.\n"
		"\n"
		"  --root DIR   the archive (default: $ARCA_ROOT, then ./arca-data)\n"
		"  --study UID  the study whose latest entry is proven\n"
		"  --index N    the entry to prove, instead of --study\n"
		"  --out FILE   write the bundle to FILE (default: standard output)\n"
		"  --help       print this help and exit\n");
}

static void usage_check(FILE *out)
{
	fprintf(out,
		"usage: arca chain check-proof FILE --key FILE|BASE64\n"
		"\n"
		"Verifies a proof bundle written by `arca chain proof` (FILE, or - for\n"
		"standard input) with nothing but the node's public key: the checkpoint's\n"
		"signature, the entry, and its inclusion in the signed tree.\n"
		"\n"
		"  --key K   the node's public key: a file holding it (ROOT/keys/node.pub)\n"
		"            or its base64 (as `arca node show` prints it)\n"
		"  --help    print this help and exit\n"
		"\n"
		"Exit status: 0 the bundle proves its entry, 1 it does not, 2 bad usage.\n");
}

/* ------------------------------------------------------------ proof */

typedef struct finder {
	char pattern[CHAIN_ENTRY_UID_MAX + 16];
	size_t pattern_len;
	const char *study;
	bool found;
	uint64_t index;
} finder;

static bool contains(const char *hay, size_t n, const char *needle, size_t m)
{
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static int find_study(void *arg, uint64_t index, const char *bytes, size_t len)
{
	finder *f = arg;
	chain_entry *e = NULL;
	int rc;

	if (!contains(bytes, len, f->pattern, f->pattern_len))
		return 0;
	rc = chain_entry_parse(&e, bytes, len);
	if (rc < 0)
		return arca_error_prefix(rc, "entry %" PRIu64, index);
	if (e->study_uid != NULL && strcmp(e->study_uid, f->study) == 0) {
		f->found = true;
		f->index = index;
	}
	chain_entry_free(e);
	return 0;
}

static int write_all(const char *path, const char *bytes, size_t len)
{
	FILE *f = path != NULL ? fopen(path, "wb") : stdout;
	int rc = 0;

	if (f == NULL)
		return arca_error_set(ARCA_EIO, "cannot create %s: %s", path, strerror(errno));
	if (fwrite(bytes, 1, len, f) != len || fflush(f) != 0)
		rc = arca_error_set(ARCA_EIO, "cannot write %s: %s", path != NULL ? path : "standard output",
				    strerror(errno));
	if (path != NULL && fclose(f) != 0 && rc == 0)
		rc = arca_error_set(ARCA_EIO, "cannot write %s: %s", path, strerror(errno));
	return rc;
}

/* Builds and writes the bundle of entry index. */
static int prove(chain_log_view *v, uint64_t index, const char *out_path, size_t *n_proof, size_t *bundle_len)
{
	uint8_t proof[CHAIN_MERKLE_MAX_PROOF][CHAIN_HASH_LEN];
	char *entry = NULL, *bundle = NULL;
	arca_proof p = { 0 };
	size_t entry_len = 0;
	int rc;

	rc = chain_log_view_entry(v, index, &entry, &entry_len);
	if (rc == 0)
		rc = chain_log_view_inclusion_proof(v, index, proof, CHAIN_MERKLE_MAX_PROOF, n_proof);
	if (rc == 0) {
		p.entry = entry;
		p.entry_len = entry_len;
		p.index = index;
		p.size = chain_log_view_size(v);
		p.proof = (const uint8_t(*)[CHAIN_HASH_LEN])proof;
		p.n_proof = *n_proof;
		p.checkpoint = chain_log_view_checkpoint(v, &p.checkpoint_len);
		rc = arca_proof_encode(&p, &bundle, bundle_len);
	}
	if (rc == 0)
		rc = write_all(out_path, bundle, *bundle_len);
	free(bundle);
	free(entry);
	return rc;
}

int arca_cmd_chain_proof(int argc, char **argv)
{
	const char *root = NULL, *out_path = NULL;
	bool has_index = false;
	uint64_t index = 0;
	arca_chain_ctx ctx;
	chain_log_view *v = NULL;
	finder f = { 0 };
	size_t n_proof = 0, bundle_len = 0;
	char *end;
	int rc, status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage_proof(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
		} else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
			out_path = argv[++i];
		} else if (strcmp(a, "--study") == 0 && i + 1 < argc) {
			f.study = argv[++i];
			if (f.study[0] == '\0' || strlen(f.study) > CHAIN_ENTRY_UID_MAX ||
			    strpbrk(f.study, "\"\\") != NULL) {
				fprintf(stderr, CMD_PROOF ": --study '%s' is not a UID\n", f.study);
				return ARCA_EXIT_USAGE;
			}
		} else if (strcmp(a, "--index") == 0 && i + 1 < argc) {
			const char *s = argv[++i];
			errno = 0;
			index = strtoull(s, &end, 10);
			if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0) {
				fprintf(stderr, CMD_PROOF ": --index '%s' is not an entry index\n", s);
				return ARCA_EXIT_USAGE;
			}
			has_index = true;
		} else {
			return arca_chain_bad_arg(CMD_PROOF, argc, argv, i);
		}
	}
	if ((f.study == NULL) == !has_index) {
		fprintf(stderr, CMD_PROOF ": give either --study UID or --index N; see `" CMD_PROOF " --help`\n");
		return ARCA_EXIT_USAGE;
	}
	if ((status = arca_chain_ctx_open(&ctx, CMD_PROOF, root, NULL, false)) != 0)
		return status;
	status = arca_chain_open_view(&ctx, CMD_PROOF, &v);
	if (status != 0)
		goto out;
	if (f.study != NULL) {
		f.pattern_len = (size_t)snprintf(f.pattern, sizeof(f.pattern), "\"study\":\"%s\"", f.study);
		rc = v != NULL ? chain_log_view_foreach(v, 0, find_study, &f) : 0;
		if (rc < 0) {
			fprintf(stderr, CMD_PROOF ": %s\n", arca_error_last());
			status = ARCA_EXIT_FAULT;
			goto out;
		}
		if (!f.found) {
			fprintf(stderr, CMD_PROOF ": study %s has no entry in the log of %s (%" PRIu64 " entries)\n",
				f.study, ctx.conf.node, v != NULL ? chain_log_view_size(v) : 0);
			status = ARCA_EXIT_USAGE;
			goto out;
		}
		index = f.index;
	} else if (v == NULL || index >= chain_log_view_size(v)) {
		fprintf(stderr, CMD_PROOF ": the log of %s has no entry %" PRIu64 " (%" PRIu64 " entries)\n",
			ctx.conf.node, index, v != NULL ? chain_log_view_size(v) : 0);
		status = ARCA_EXIT_USAGE;
		goto out;
	}
	rc = prove(v, index, out_path, &n_proof, &bundle_len);
	if (rc < 0) {
		fprintf(stderr, CMD_PROOF ": %s\n", arca_error_last());
		status = rc == ARCA_EIO || rc == ARCA_ENOMEM ? ARCA_EXIT_USAGE : ARCA_EXIT_FAULT;
		goto out;
	}
	if (out_path != NULL)
		printf("wrote %s: entry %" PRIu64 " of the log of %s (%" PRIu64 " entries), %zu proof hashes, %zu bytes\n",
		       out_path, index, ctx.conf.node, chain_log_view_size(v), n_proof, bundle_len);
out:
	chain_log_view_free(v);
	arca_chain_ctx_release(&ctx);
	return status;
}

/* ------------------------------------------------------------ check-proof */

static int read_bundle(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = ARCA_PROOF_MAX_LEN + 1, n = 0;
	char *buf;
	int rc = 0;

	*out = NULL;
	if (f == NULL)
		return arca_error_set(ARCA_EIO, "cannot open %s: %s", path, strerror(errno));
	buf = malloc(cap);
	if (buf == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory for %s", path);
		goto out;
	}
	n = fread(buf, 1, cap, f);
	if (ferror(f))
		rc = arca_error_set(ARCA_EIO, "cannot read %s", path);
out:
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

int arca_cmd_chain_check_proof(int argc, char **argv)
{
	const char *path = NULL, *key_arg = NULL;
	char fp[CHAIN_KEY_FP_SHORT_LEN], hex[2 * CHAIN_HASH_LEN + 1];
	arca_proof_result res;
	chain_key *key = NULL;
	char *bytes = NULL;
	size_t len = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage_check(stdout);
			return ARCA_EXIT_OK;
		} else if (strcmp(a, "--key") == 0 && i + 1 < argc) {
			key_arg = argv[++i];
		} else if (path == NULL && (a[0] != '-' || strcmp(a, "-") == 0)) {
			path = a;
		} else {
			return arca_chain_bad_arg(CMD_CHECK, argc, argv, i);
		}
	}
	if (path == NULL || key_arg == NULL) {
		fprintf(stderr, CMD_CHECK ": give the bundle FILE and --key; see `" CMD_CHECK " --help`\n");
		return ARCA_EXIT_USAGE;
	}
	if (arca_node_key_arg(&key, key_arg) < 0) {
		fprintf(stderr, CMD_CHECK ": --key: %s\n", arca_error_last());
		return ARCA_EXIT_USAGE;
	}
	if (read_bundle(path, &bytes, &len) < 0) {
		fprintf(stderr, CMD_CHECK ": %s\n", arca_error_last());
		chain_key_free(key);
		return ARCA_EXIT_USAGE;
	}
	rc = arca_proof_verify(bytes, len, key, &res);
	if (rc < 0) {
		fprintf(stderr, CMD_CHECK ": %s: %s\n", path, arca_error_last());
	} else {
		chain_key_fingerprint_short(key, fp);
		chain_hash_hex(hex, res.root, CHAIN_HASH_LEN);
		printf("proof OK: entry %" PRIu64 " (%s%s%s) is in the log of %s of %" PRIu64
		       " entries, root %s, checkpoint %s signed by key %s\n",
		       res.index, res.event, res.study[0] != '\0' ? ", study " : "", res.study, res.node, res.size, hex,
		       res.time[0] != '\0' ? res.time : "(no time)", fp);
	}
	free(bytes);
	chain_key_free(key);
	return rc < 0 ? (rc == ARCA_ENOMEM ? ARCA_EXIT_USAGE : ARCA_EXIT_FAULT) : ARCA_EXIT_OK;
}
