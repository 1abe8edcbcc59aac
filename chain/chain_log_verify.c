/* chain_log_verify.c - the full check of a log's history (chain_log.h,
 * docs/chain-format.md 7.4).
 *
 * The commits of refs/arca/log/<node> are read from the tip back to the
 * root commit (each must have at most one parent), then checked from the
 * root forward, rebuilding the Merkle tree as the node did:
 *
 *   - the commit's tree is the parent's with exactly one batch file added
 *     at the path of the next index and `checkpoint` replaced: every other
 *     name on the path's trees is the parent's, with the same object id;
 *   - the batch file's range starts where the previous one ended, and the
 *     commit message names that range;
 *   - each line of it is an entry in canonical form (chain_entry_parse)
 *     carrying the expected index and the node's name;
 *   - the checkpoint parses, is the node's, is signed by the node key in
 *     force at its size (chain_log_keys.c: key changes), and
 *     holds the tree size and root after this batch.
 *
 * The first broken batch stops the walk (what follows can no longer be
 * numbered) and is reported with the index of the bad entry where one is
 * known, else the batch's first index, and the commit's id. */
#include "chain_log.h"
#include "chain_log_priv.h"

#include "arca_err.h"
#include "chain_checkpoint.h"
#include "chain_entry.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct verifier {
	git_repository *repo;
	const char *node;
	const chain_key *key;
	chain_log__keys keys;          /* the key in force at each size (chain_log_keys.c) */
	size_t key_changes;            /* key changes met on the walk so far */
	chain_merkle *tree;
	uint64_t next;                 /* index the next batch starts at */
	char commit[GIT_OID_HEXSZ + 1];
	chain_log_report_fn fn;
	void *arg;
};

/* Reports a fault at index (CHAIN_LOG_NO_INDEX if none) of the current
 * commit; the reason is the thread's current message, prefixed. */
static int fault(struct verifier *v, int code, uint64_t index, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fault(struct verifier *v, int code, uint64_t index, const char *fmt, ...)
{
	char what[512];
	chain_log_fault f;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (index != CHAIN_LOG_NO_INDEX)
		arca_error_set(code, "log %s: entry %" PRIu64 " (commit %.12s): %s", v->node, index,
			       v->commit, what);
	else
		arca_error_set(code, "log %s: commit %.12s: %s", v->node, v->commit, what);
	f.code = code;
	f.index = index;
	snprintf(f.commit, sizeof(f.commit), "%s", v->commit);
	f.reason = arca_error_last();
	if (v->fn != NULL)
		v->fn(v->arg, &f);
	return code;
}

/* child is parent (may be NULL) with the one name `name` added or changed;
 * every other entry is the same (name, mode, id). */
static bool same_but(const git_tree *child, const git_tree *parent, const char *name)
{
	size_t i, n = git_tree_entrycount(child);
	size_t pn = parent != NULL ? git_tree_entrycount(parent) : 0;
	bool in_parent = parent != NULL && git_tree_entry_byname(parent, name) != NULL;

	if (git_tree_entry_byname(child, name) == NULL || n != pn + (in_parent ? 0 : 1))
		return false;
	for (i = 0; i < n; i++) {
		const git_tree_entry *c = git_tree_entry_byindex(child, i), *p;

		if (strcmp(git_tree_entry_name(c), name) == 0)
			continue;
		p = parent != NULL ? git_tree_entry_byname(parent, git_tree_entry_name(c)) : NULL;
		if (p == NULL || git_tree_entry_filemode_raw(p) != git_tree_entry_filemode_raw(c) ||
		    !git_oid_equal(git_tree_entry_id(p), git_tree_entry_id(c)))
			return false;
	}
	return true;
}

/* The subtree `name` of t (NULL if t is NULL or has none). */
static int sub(struct verifier *v, const git_tree *t, const char *name, git_tree **out)
{
	const git_tree_entry *te;
	int rc;

	*out = NULL;
	if (t == NULL || (te = git_tree_entry_byname(t, name)) == NULL)
		return 0;
	if (git_tree_entry_filemode_raw(te) != GIT_FILEMODE_TREE)
		return fault(v, ARCA_EPROTO, CHAIN_LOG_NO_INDEX, "%s is not a directory", name);
	rc = git_tree_lookup(out, v->repo, git_tree_entry_id(te));
	if (rc < 0) {
		chain__git_error(rc, "cannot read directory %s", name);
		return fault(v, ARCA_EIO, CHAIN_LOG_NO_INDEX, "%s", arca_error_last());
	}
	return 0;
}

/* Finds the one file the leaf directory gained over its parent version. */
static int added_file(struct verifier *v, const git_tree *child, const git_tree *parent,
		      const git_tree_entry **out)
{
	size_t i, n = git_tree_entrycount(child);
	size_t pn = parent != NULL ? git_tree_entrycount(parent) : 0;

	*out = NULL;
	for (i = 0; i < n; i++) {
		const git_tree_entry *c = git_tree_entry_byindex(child, i), *p;

		p = parent != NULL ? git_tree_entry_byname(parent, git_tree_entry_name(c)) : NULL;
		if (p == NULL) {
			if (*out != NULL)
				return fault(v, ARCA_EPROTO, v->next, "the commit adds more than one batch file");
			*out = c;
		} else if (git_tree_entry_filemode_raw(p) != git_tree_entry_filemode_raw(c) ||
			   !git_oid_equal(git_tree_entry_id(p), git_tree_entry_id(c))) {
			return fault(v, ARCA_EPROTO, v->next, "the commit changes the earlier batch file %s",
				     git_tree_entry_name(c));
		}
	}
	if (*out == NULL || n != pn + 1)
		return fault(v, ARCA_EPROTO, v->next, "the commit does not add exactly one batch file "
			     "(a batch was removed or none added)");
	return 0;
}

static int check_entries(struct verifier *v, const git_tree_entry *te, uint64_t first,
			 uint64_t last)
{
	git_blob *blob = NULL;
	const uint8_t *data;
	size_t len, pos = 0, start, line_len;
	uint64_t index = first;
	int rc;

	if (git_tree_entry_filemode_raw(te) != GIT_FILEMODE_BLOB)
		return fault(v, ARCA_EPROTO, first, "batch %s is not a plain file", git_tree_entry_name(te));
	rc = git_blob_lookup(&blob, v->repo, git_tree_entry_id(te));
	if (rc < 0) {
		chain__git_error(rc, "cannot read batch %s", git_tree_entry_name(te));
		return fault(v, ARCA_EIO, first, "%s", arca_error_last());
	}
	data = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	for (;;) {
		chain_entry *e = NULL;

		rc = chain_log__next_line(data, len, &pos, &start, &line_len);
		if (rc < 0) {
			rc = fault(v, rc, index, "batch %s: %s", git_tree_entry_name(te), arca_error_last());
			break;
		}
		if (rc == 0)
			break;
		if (index > last) {
			rc = fault(v, ARCA_EPROTO, index, "batch %s holds more entries than its range",
				   git_tree_entry_name(te));
			break;
		}
		rc = chain_entry_parse(&e, data + start, line_len);
		if (rc < 0) {
			rc = fault(v, rc, index, "%s", arca_error_last());
			break;
		}
		if (e->index != index)
			rc = fault(v, ARCA_EPROTO, index, "the entry in this place carries index %" PRIu64
				   " (entries removed, added or reordered)", e->index);
		else if (strcmp(e->node, v->node) != 0)
			rc = fault(v, ARCA_EPROTO, index, "the entry is of node %s", e->node);
		else if (e->event == CHAIN_EVENT_KEY_CHANGE) {
			/* the walk meets the key changes read from the tip */
			const chain_log__key_change *kc =
				v->key_changes < v->keys.n ? &v->keys.changes[v->key_changes] : NULL;
			if (kc == NULL || kc->index != index || memcmp(kc->new_public, e->key->new_public, 32) != 0) {
				/* the tip stopped reading before it: say why it
				 * does not chain, if that is why */
				if (kc == NULL && chain_log__keys_note_entry(&v->keys, e) < 0)
					rc = fault(v, arca_error_last_code(), index, "%s", arca_error_last());
				else
					rc = fault(v, ARCA_EPROTO, index, "a key change that the tip's tree does not hold");
			}
			v->key_changes++;
		}
		chain_entry_free(e);
		if (rc < 0)
			break;
		rc = chain_merkle_append_leaf(v->tree, data + start, line_len);
		if (rc < 0) {
			rc = fault(v, rc, index, "%s", arca_error_last());
			break;
		}
		index++;
	}
	if (rc == 0 && index != last + 1)
		rc = fault(v, ARCA_EPROTO, index, "batch %s ends after %" PRIu64 " entries; its name says %" PRIu64
			   " (entries removed)", git_tree_entry_name(te), index - first, last - first + 1);
	git_blob_free(blob);
	return rc;
}

static int check_checkpoint(struct verifier *v, const git_tree_entry *te, uint64_t first)
{
	chain_checkpoint *cp = NULL;
	git_blob *blob = NULL;
	uint8_t want[CHAIN_HASH_LEN];
	uint64_t size = chain_merkle_size(v->tree);
	int rc;

	if (te == NULL || git_tree_entry_filemode_raw(te) != GIT_FILEMODE_BLOB)
		return fault(v, ARCA_EPROTO, CHAIN_LOG_NO_INDEX, "the commit has no checkpoint file");
	rc = git_blob_lookup(&blob, v->repo, git_tree_entry_id(te));
	if (rc < 0) {
		chain__git_error(rc, "cannot read the checkpoint");
		return fault(v, ARCA_EIO, CHAIN_LOG_NO_INDEX, "%s", arca_error_last());
	}
	rc = chain_checkpoint_parse(&cp, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	if (rc < 0) {
		rc = fault(v, rc, CHAIN_LOG_NO_INDEX, "checkpoint: %s", arca_error_last());
		goto out;
	}
	if (strcmp(chain_checkpoint_origin(cp), v->node) != 0) {
		rc = fault(v, ARCA_ECRYPTO, CHAIN_LOG_NO_INDEX, "the checkpoint is of log \"%s\"",
			   chain_checkpoint_origin(cp));
		goto out;
	}
	/* the key in force at this size: the node's, or the one its last
	 * key change before the batch's end names (docs/chain-format.md 10) */
	rc = chain_checkpoint_verify(cp, chain_log__keys_at(&v->keys, size), v->node);
	if (rc < 0) {
		rc = fault(v, ARCA_ECRYPTO, CHAIN_LOG_NO_INDEX,
			   "the checkpoint of size %" PRIu64 " is not signed by the node key%s (%s)",
			   chain_checkpoint_size(cp), v->keys.n > 0 ? " in force at that size" : "",
			   arca_error_last());
		goto out;
	}
	if (chain_checkpoint_size(cp) != size) {
		rc = fault(v, ARCA_ECRYPTO, CHAIN_LOG_NO_INDEX,
			   "the checkpoint is of size %" PRIu64 ", the log holds %" PRIu64 " entries here",
			   chain_checkpoint_size(cp), size);
		goto out;
	}
	rc = chain_merkle_root(v->tree, size, want);
	if (rc < 0)
		goto out;
	if (memcmp(want, chain_checkpoint_root(cp), CHAIN_HASH_LEN) != 0)
		rc = fault(v, ARCA_ECRYPTO, first,
			   "entries %" PRIu64 "-%" PRIu64 " do not match the signed checkpoint of size %" PRIu64
			   " (an entry among them was altered)", first, size - 1, size);
out:
	chain_checkpoint_free(cp);
	git_blob_free(blob);
	return rc;
}

/* One commit, given its parent's root tree (NULL for the root commit). */
static int check_commit(struct verifier *v, git_commit *c, const git_tree *proot, git_tree **root_out)
{
	char d[3][7], msg[64];
	const char *path[4] = { "entries", d[0], d[1], d[2] };
	git_tree *t[5] = { NULL, NULL, NULL, NULL, NULL };   /* root, entries, d1, d2, d3 */
	git_tree *p[5] = { NULL, NULL, NULL, NULL, NULL };
	const git_tree_entry *batch;
	uint64_t first, last;
	int i, rc;

	*root_out = NULL;
	rc = git_commit_tree(&t[0], c);
	if (rc < 0) {
		chain__git_error(rc, "cannot read the commit's tree");
		return fault(v, ARCA_EIO, CHAIN_LOG_NO_INDEX, "%s", arca_error_last());
	}
	if (git_tree_entrycount(t[0]) != 2 || git_tree_entry_byname(t[0], "entries") == NULL ||
	    git_tree_entry_byname(t[0], "checkpoint") == NULL) {
		rc = fault(v, ARCA_EPROTO, CHAIN_LOG_NO_INDEX, "the tree is not entries/ and checkpoint");
		goto out;
	}
	if (proot != NULL && (rc = git_tree_dup(&p[0], (git_tree *)proot)) < 0) {
		rc = chain__git_error(rc, "cannot copy a tree");
		goto out;
	}
	chain_log__batch_dirs(v->next, d[0], d[1], d[2]);
	/* Down the path of the next batch: each level is its parent version
	 * with only the path's name changed. */
	for (i = 0; i < 4; i++) {
		if (i > 0 && !same_but(t[i], p[i], path[i])) {
			rc = fault(v, ARCA_EPROTO, v->next,
				   "the commit changes more than the batch at entries/%s/%s/%s (level %d)",
				   d[0], d[1], d[2], i);
			goto out;
		}
		if ((rc = sub(v, t[i], path[i], &t[i + 1])) < 0 || (rc = sub(v, p[i], path[i], &p[i + 1])) < 0)
			goto out;
		if (t[i + 1] == NULL) {
			rc = fault(v, ARCA_EPROTO, v->next, "no directory entries/%s/%s/%s for the batch "
				   "that should start at entry %" PRIu64, d[0], d[1], d[2], v->next);
			goto out;
		}
	}
	if ((rc = added_file(v, t[4], p[4], &batch)) < 0)
		goto out;
	if (chain_log__parse_batch_name(git_tree_entry_name(batch), &first, &last) < 0 ||
	    first != v->next) {
		rc = fault(v, ARCA_EPROTO, v->next, "the new batch file %s does not start at entry %" PRIu64,
			   git_tree_entry_name(batch), v->next);
		goto out;
	}
	if (last > CHAIN_ENTRY_MAX_INDEX) {
		rc = fault(v, ARCA_EPROTO, first, "batch %s goes past the largest index",
			   git_tree_entry_name(batch));
		goto out;
	}
	chain_log__commit_message(first, last, msg, sizeof(msg));
	if (git_commit_message_raw(c) == NULL || strcmp(git_commit_message_raw(c), msg) != 0) {
		rc = fault(v, ARCA_EPROTO, first, "the commit message does not say \"entries %" PRIu64
			   "-%" PRIu64 "\"", first, last);
		goto out;
	}
	if ((rc = check_entries(v, batch, first, last)) < 0)
		goto out;
	if ((rc = check_checkpoint(v, git_tree_entry_byname(t[0], "checkpoint"), first)) < 0)
		goto out;
	v->next = last + 1;
	*root_out = t[0];
	t[0] = NULL;
out:
	for (i = 0; i < 5; i++) {
		git_tree_free(t[i]);
		git_tree_free(p[i]);
	}
	return rc;
}

/* The commits from the root to tip, in that order (*out malloc'd). */
static int collect_commits(struct verifier *v, const git_oid *tip, git_oid **out, size_t *n)
{
	git_oid *ids = NULL, id = *tip;
	size_t cap = 0, count = 0, i;
	int rc = 0;

	for (;;) {
		git_commit *c = NULL;
		unsigned parents;

		if (count == cap) {
			git_oid *grown;
			cap = cap ? cap * 2 : 256;
			grown = realloc(ids, cap * sizeof(*ids));
			if (grown == NULL) {
				rc = arca_error_set(ARCA_ENOMEM, "out of memory listing the log's commits");
				goto out;
			}
			ids = grown;
		}
		ids[count++] = id;
		git_oid_tostr(v->commit, sizeof(v->commit), &id);
		rc = git_commit_lookup(&c, v->repo, &id);
		if (rc < 0) {
			chain__git_error(rc, "cannot read commit");
			rc = fault(v, ARCA_EIO, CHAIN_LOG_NO_INDEX, "%s", arca_error_last());
			goto out;
		}
		parents = git_commit_parentcount(c);
		if (parents == 1)
			id = *git_commit_parent_id(c, 0);
		git_commit_free(c);
		if (parents > 1) {
			rc = fault(v, ARCA_EPROTO, CHAIN_LOG_NO_INDEX,
				   "a merge commit: the log's history must be one line");
			goto out;
		}
		if (parents == 0)
			break;
	}
	for (i = 0; i < count / 2; i++) {
		git_oid tmp = ids[i];
		ids[i] = ids[count - 1 - i];
		ids[count - 1 - i] = tmp;
	}
out:
	if (rc < 0) {
		free(ids);
		return rc;
	}
	*out = ids;
	*n = count;
	return 0;
}

int chain_log_verify_repo(const char *repo_path, const char *node, const chain_key *key,
			  chain_log_report_fn fn, void *arg, chain_log_stats *stats)
{
	struct verifier v = { .node = node, .key = key, .fn = fn, .arg = arg };
	char ref[CHAIN_LOG_REF_MAX];
	git_reference *r = NULL;
	git_tree *proot = NULL;
	git_oid *ids = NULL;
	size_t n = 0, i;
	int rc;

	if (stats != NULL)
		memset(stats, 0, sizeof(*stats));
	if ((rc = chain_node_name_check(node)) < 0)
		return rc;
	if ((rc = chain__git_init()) < 0)
		return rc;
	snprintf(ref, sizeof(ref), "%s%s", CHAIN_LOG_REF_PREFIX, node);
	if ((rc = chain__git_open(&v.repo, repo_path, false)) < 0)
		goto out;
	{
		/* entries a live writer journaled before now go on the ref
		 * first; what stays in the journal is counted, not a fault */
		uint64_t pending;
		chain_log__settle(v.repo, repo_path, node, &pending);
		if (stats != NULL)
			stats->pending = pending;
	}
	if ((rc = chain_merkle_new(&v.tree)) < 0 || (rc = chain_log__keys_init(&v.keys, key)) < 0)
		goto out;
	rc = git_reference_lookup(&r, v.repo, ref);
	if (rc < 0) {
		chain__git_error(rc, "%s", ref);
		rc = fault(&v, rc == GIT_ENOTFOUND ? ARCA_ENOTFOUND : ARCA_EIO, CHAIN_LOG_NO_INDEX,
			   "%s", arca_error_last());
		goto out;
	}
	if (git_reference_type(r) != GIT_REFERENCE_DIRECT) {
		rc = fault(&v, ARCA_EPROTO, CHAIN_LOG_NO_INDEX, "%s is a symbolic ref", ref);
		goto out;
	}
	/* a checkpoint's key may be named by a later key change: read them
	 * all from the tip first (docs/chain-format.md 10).  A tip that does
	 * not read whole is a fault the walk below finds and places. */
	(void)chain_log__load_keys(v.repo, ref, &v.keys);
	if ((rc = collect_commits(&v, git_reference_target(r), &ids, &n)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		git_commit *c = NULL;
		git_tree *root = NULL;

		git_oid_tostr(v.commit, sizeof(v.commit), &ids[i]);
		rc = git_commit_lookup(&c, v.repo, &ids[i]);
		if (rc < 0) {
			chain__git_error(rc, "cannot read commit");
			rc = fault(&v, ARCA_EIO, CHAIN_LOG_NO_INDEX, "%s", arca_error_last());
			goto out;
		}
		if (i == 0 && git_commit_parentcount(c) != 0) {
			git_commit_free(c);
			rc = fault(&v, ARCA_EPROTO, CHAIN_LOG_NO_INDEX, "the first commit has a parent");
			goto out;
		}
		rc = check_commit(&v, c, proot, &root);
		git_commit_free(c);
		if (rc < 0)
			goto out;
		git_tree_free(proot);
		proot = root;
		if (stats != NULL)
			stats->batches++;
	}
	if (v.key_changes != v.keys.n) {
		rc = fault(&v, ARCA_EPROTO, CHAIN_LOG_NO_INDEX, "the tip's tree holds key changes the history does not");
		goto out;
	}
	/* the key given must be the one in force now */
	if (chain_log__keys_check_current(&v.keys) < 0) {
		rc = fault(&v, ARCA_ECRYPTO, CHAIN_LOG_NO_INDEX, "%s", arca_error_last());
		goto out;
	}
	if (stats != NULL) {
		stats->entries = chain_merkle_size(v.tree);
		rc = chain_merkle_root(v.tree, stats->entries, stats->root);
	}
out:
	if (stats != NULL && rc < 0 && v.tree != NULL)
		stats->entries = chain_merkle_size(v.tree);
	free(ids);
	git_tree_free(proot);
	git_reference_free(r);
	chain_merkle_free(v.tree);
	chain_log__keys_release(&v.keys);
	git_repository_free(v.repo);
	chain__git_shutdown();
	return rc;
}
