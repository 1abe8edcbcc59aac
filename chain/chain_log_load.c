/* chain_log_load.c - reopening a log: the tree at the tip of its ref.
 *
 * The tip's tree holds every batch (docs/chain-format.md 7), so reopening
 * reads one tree, not the history: the batch files in name order, each
 * entry's leaf appended to the Merkle tree, and the tip's checkpoint
 * checked against the result.  The entries are hashed, not parsed: the
 * signed root covers their bytes, so a log whose root matches is the one
 * the node signed.  chain_log_verify (chain_log_verify.c) is the full
 * check of every commit and entry. */
#include "chain_log_priv.h"

#include "arca_err.h"
#include "chain_checkpoint.h"

#include <inttypes.h>
#include <string.h>

struct loader {
	git_repository *repo;
	chain_merkle *tree;
	chain_log__keys *keys;  /* key changes seen */
	uint64_t next;          /* index the next batch must start at */
	const char *dir[3];     /* names of the directories on the current path */
	chain_log__batch_fn fn; /* told of each batch, or NULL */
	void *arg;
};

static int load_batch(struct loader *ld, const git_tree_entry *te)
{
	const char *name = git_tree_entry_name(te);
	char d[3][7];
	uint64_t first, last, count = 0;
	git_blob *blob = NULL;
	const uint8_t *data;
	size_t len, pos = 0, start, line_len;
	int i, rc;

	if (git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		return arca_error_set(ARCA_EPROTO, "log tree: %s is not a file", name);
	if ((rc = chain_log__parse_batch_name(name, &first, &last)) < 0)
		return rc;
	if (first != ld->next)
		return arca_error_set(ARCA_EPROTO, "log tree: batch %s should start at entry %" PRIu64,
				      name, ld->next);
	chain_log__batch_dirs(first, d[0], d[1], d[2]);
	for (i = 0; i < 3; i++)
		if (strcmp(d[i], ld->dir[i]) != 0)
			return arca_error_set(ARCA_EPROTO, "log tree: batch %s is in the wrong directory", name);
	rc = git_blob_lookup(&blob, ld->repo, git_tree_entry_id(te));
	if (rc < 0)
		return chain__git_error(rc, "cannot read batch %s", name);
	data = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	while ((rc = chain_log__next_line(data, len, &pos, &start, &line_len)) == 1) {
		if (count > last - first) {
			rc = arca_error_set(ARCA_EPROTO, "batch %s holds more entries than its name says", name);
			break;
		}
		rc = ld->tree != NULL ? chain_merkle_append_leaf(ld->tree, data + start, line_len) : 0;
		if (rc == 0)
			rc = chain_log__keys_note(ld->keys, first + count, data + start, line_len);
		if (rc < 0)
			break;
		count++;
	}
	if (rc == 0 && count != last - first + 1)
		rc = arca_error_set(ARCA_EPROTO, "batch %s holds %" PRIu64 " entries, not %" PRIu64, name,
				    count, last - first + 1);
	else if (rc < 0)
		arca_error_prefix(rc, "batch %s", name);
	if (rc == 0 && ld->fn != NULL)
		rc = ld->fn(ld->arg, first, last, git_tree_entry_id(te));
	git_blob_free(blob);
	if (rc < 0)
		return rc;
	ld->next = last + 1;
	return 0;
}

/* The directories under entries/ are 3 deep; their files are batches. */
static int load_dir(struct loader *ld, const git_tree *dir, int depth)
{
	size_t i, n = git_tree_entrycount(dir);
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(dir, i);
		git_tree *sub = NULL;

		if (depth == 3) {
			rc = load_batch(ld, te);
			continue;
		}
		if (git_tree_entry_type(te) != GIT_OBJECT_TREE)
			return arca_error_set(ARCA_EPROTO, "log tree: %s is not a directory",
					      git_tree_entry_name(te));
		rc = git_tree_lookup(&sub, ld->repo, git_tree_entry_id(te));
		if (rc < 0)
			return chain__git_error(rc, "cannot read log directory %s", git_tree_entry_name(te));
		ld->dir[depth] = git_tree_entry_name(te);
		rc = load_dir(ld, sub, depth + 1);
		git_tree_free(sub);
	}
	return rc;
}

static int check_checkpoint(git_repository *repo, const git_tree *root, const char *node,
			    const chain_log__keys *keys, chain_merkle *tree)
{
	const chain_key *key = chain_log__keys_at(keys, chain_merkle_size(tree));
	const git_tree_entry *te = git_tree_entry_byname(root, "checkpoint");
	chain_checkpoint *cp = NULL;
	git_blob *blob = NULL;
	uint8_t want[CHAIN_HASH_LEN];
	int rc;

	if (te == NULL || git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		return arca_error_set(ARCA_EPROTO, "log tree has no checkpoint file");
	rc = git_blob_lookup(&blob, repo, git_tree_entry_id(te));
	if (rc < 0)
		return chain__git_error(rc, "cannot read the log's checkpoint");
	rc = chain_checkpoint_parse(&cp, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	if (rc < 0)
		goto out;
	if (strcmp(chain_checkpoint_origin(cp), node) != 0) {
		rc = arca_error_set(ARCA_EPROTO, "the log's checkpoint is of log \"%s\", not \"%s\"",
				    chain_checkpoint_origin(cp), node);
		goto out;
	}
	rc = chain_checkpoint_verify(cp, key, node);
	if (rc < 0) {
		rc = arca_error_prefix(ARCA_ECRYPTO, "the log's checkpoint is not signed by the node key%s",
				       keys->n > 0 ? " in force at its size" : "");
		goto out;
	}
	if (chain_checkpoint_size(cp) != chain_merkle_size(tree)) {
		rc = arca_error_set(ARCA_ECRYPTO, "the log's checkpoint is of size %" PRIu64
				    " but the log holds %" PRIu64 " entries",
				    chain_checkpoint_size(cp), chain_merkle_size(tree));
		goto out;
	}
	rc = chain_merkle_root(tree, chain_merkle_size(tree), want);
	if (rc < 0)
		goto out;
	if (memcmp(want, chain_checkpoint_root(cp), CHAIN_HASH_LEN) != 0)
		rc = arca_error_set(ARCA_ECRYPTO, "the log's entries do not match its signed checkpoint "
				    "(size %" PRIu64 "): run chain verify to find the change",
				    chain_merkle_size(tree));
out:
	chain_checkpoint_free(cp);
	git_blob_free(blob);
	return rc;
}

/* Reads the tip's tree: every batch (leaves into tree unless it is NULL,
 * key changes into keys); with tree, checks the tip's checkpoint too. */
static int load_tip(git_repository *repo, const char *ref, const char *node, chain_log__keys *keys,
		    chain_merkle *tree, bool *has_tip, git_oid *tip, chain_log__batch_fn fn, void *arg)
{
	struct loader ld = { .repo = repo, .tree = tree, .keys = keys, .next = 0, .fn = fn, .arg = arg };
	git_reference *r = NULL;
	git_commit *commit = NULL;
	git_tree *root = NULL, *entries = NULL;
	const git_tree_entry *te;
	int rc;

	*has_tip = false;
	rc = git_reference_lookup(&r, repo, ref);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return chain__git_error(rc, "cannot read %s", ref);
	if (git_reference_type(r) != GIT_REFERENCE_DIRECT) {
		rc = arca_error_set(ARCA_EPROTO, "%s is a symbolic ref", ref);
		goto out;
	}
	*tip = *git_reference_target(r);
	rc = git_commit_lookup(&commit, repo, tip);
	if (rc == 0)
		rc = git_commit_tree(&root, commit);
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot read the commit %s points to", ref);
		goto out;
	}
	te = git_tree_entry_byname(root, "entries");
	if (te == NULL || git_tree_entry_type(te) != GIT_OBJECT_TREE || git_tree_entrycount(root) != 2) {
		rc = arca_error_set(ARCA_EPROTO, "the tree of %s is not entries/ and checkpoint", ref);
		goto out;
	}
	rc = git_tree_lookup(&entries, repo, git_tree_entry_id(te));
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot read the entries of %s", ref);
		goto out;
	}
	rc = load_dir(&ld, entries, 0);
	if (rc == 0 && tree != NULL)
		rc = check_checkpoint(repo, root, node, keys, tree);
	if (rc == 0 && tree != NULL)
		rc = chain_log__keys_check_current(keys);
	if (rc == 0)
		*has_tip = true;
out:
	git_tree_free(entries);
	git_tree_free(root);
	git_commit_free(commit);
	git_reference_free(r);
	return rc;
}

int chain_log__load(git_repository *repo, const char *ref, const char *node, const chain_key *key,
		    chain_merkle *tree, bool *has_tip, git_oid *tip, chain_log__batch_fn fn, void *arg)
{
	chain_log__keys keys;
	int rc;

	*has_tip = false;
	if ((rc = chain_log__keys_init(&keys, key)) < 0)
		return rc;
	rc = load_tip(repo, ref, node, &keys, tree, has_tip, tip, fn, arg);
	chain_log__keys_release(&keys);
	return rc;
}

int chain_log__load_keys(git_repository *repo, const char *ref, chain_log__keys *keys)
{
	bool has_tip;
	git_oid tip;

	return load_tip(repo, ref, NULL, keys, NULL, &has_tip, &tip, NULL, NULL);
}
