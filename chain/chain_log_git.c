/* chain_log_git.c - one batch of the log as one git commit, one pack file
 * and one ref update (docs/chain-format.md 7).
 *
 * Objects are written into libgit2's in-memory "mempack" backend, placed
 * first in the repository's object database, so no loose object file is
 * ever made.  They are then packed by a git_packbuilder told exactly which
 * objects are new (the batch blob, the checkpoint blob, the five trees on
 * the batch's path and the commit) and written with git_packbuilder_write,
 * whose indexer writes and fsyncs the .pack, the .idx and their directory
 * (GIT_OPT_ENABLE_FSYNC_GITDIR, chain_git.c).
 *
 * Why not git_mempack_dump: in libgit2 1.5 (Debian 12) it inserts each new
 * commit with git_packbuilder_insert_commit, which walks the commit's whole
 * tree, so every batch's pack would carry every earlier batch again; the
 * log would grow quadratically.  Inserting the new objects by id keeps a
 * pack to the batch's own objects.
 *
 * The ref moves last, with a compare-and-swap against the commit this
 * writer made before, so a ref moved by anyone else is never overwritten. */
#include "chain_log_priv.h"

#include "arca_err.h"

#include <stdio.h>
#include <string.h>

#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>

int chain_log__store_init(chain_log__store *st)
{
	git_odb *odb = NULL;
	int rc;

	rc = git_mempack_new(&st->mempack);
	if (rc < 0)
		return chain__git_error(rc, "cannot create libgit2's in-memory object store");
	rc = git_repository_odb(&odb, st->repo);
	if (rc < 0) {
		st->mempack->free(st->mempack);
		st->mempack = NULL;
		return chain__git_error(rc, "cannot open the log's object database");
	}
	/* Highest priority: every object write goes to memory.  The odb owns
	 * the backend from here on. */
	rc = git_odb_add_backend(odb, st->mempack, 999);
	git_odb_free(odb);
	if (rc < 0) {
		st->mempack->free(st->mempack);
		st->mempack = NULL;
		return chain__git_error(rc, "cannot add the in-memory object store");
	}
	return 0;
}

/* Objects a batch creates: 2 blobs, root + entries + 3 directory trees, 1 commit. */
#define BATCH_OBJECTS 8

struct new_objects {
	git_oid id[BATCH_OBJECTS];
	size_t n;
};

/* base (may be NULL) with its entry `name` set to a tree or blob id. */
static int tree_with(git_repository *repo, const git_tree *base, const char *name,
		     const git_oid *id, git_filemode_t mode, git_oid *out, struct new_objects *nw)
{
	git_treebuilder *tb = NULL;
	int rc;

	rc = git_treebuilder_new(&tb, repo, base);
	if (rc == 0)
		rc = git_treebuilder_insert(NULL, tb, name, id, mode);
	if (rc == 0)
		rc = git_treebuilder_write(out, tb);
	git_treebuilder_free(tb);
	if (rc < 0)
		return chain__git_error(rc, "cannot write the log tree with %s", name);
	nw->id[nw->n++] = *out;
	return 0;
}

/* The subtree `name` of base, or NULL if base is NULL or has none. */
static int subtree(git_repository *repo, const git_tree *base, const char *name, git_tree **out)
{
	const git_tree_entry *te;
	int rc;

	*out = NULL;
	if (base == NULL || (te = git_tree_entry_byname(base, name)) == NULL)
		return 0;
	if (git_tree_entry_type(te) != GIT_OBJECT_TREE)
		return arca_error_set(ARCA_EPROTO, "log tree: %s is not a directory", name);
	rc = git_tree_lookup(out, repo, git_tree_entry_id(te));
	if (rc < 0)
		return chain__git_error(rc, "cannot read the log tree %s", name);
	return 0;
}

/* The new root tree: the parent's with the batch file added under
 * entries/d1/d2/d3 and `checkpoint` replaced. */
static int build_tree(chain_log__store *st, const git_tree *root, uint64_t first, uint64_t last,
		      const git_oid *batch, const git_oid *cp, git_oid *out, struct new_objects *nw)
{
	char d[3][7], name[CHAIN_LOG_BATCH_NAME_LEN];
	const char *path[4] = { "entries", d[0], d[1], d[2] };
	git_tree *level[5] = { NULL, NULL, NULL, NULL, NULL };
	git_oid id;
	int i, rc;

	chain_log__batch_dirs(first, d[0], d[1], d[2]);
	chain_log__batch_name(first, last, name);
	/* level[i] is the existing tree at depth i+1 of the path (or NULL). */
	for (i = 0; i < 4; i++) {
		rc = subtree(st->repo, i == 0 ? root : level[i - 1], path[i], &level[i]);
		if (rc < 0)
			goto out;
	}
	if (level[3] != NULL && git_tree_entry_byname(level[3], name) != NULL) {
		rc = arca_error_set(ARCA_EEXISTS, "log tree already holds batch %s", name);
		goto out;
	}
	rc = tree_with(st->repo, level[3], name, batch, GIT_FILEMODE_BLOB, &id, nw);
	for (i = 2; i >= 0 && rc == 0; i--)
		rc = tree_with(st->repo, level[i], path[i + 1], &id, GIT_FILEMODE_TREE, &id, nw);
	if (rc < 0)
		goto out;
	{
		git_treebuilder *tb = NULL;
		rc = git_treebuilder_new(&tb, st->repo, root);
		if (rc == 0)
			rc = git_treebuilder_insert(NULL, tb, "entries", &id, GIT_FILEMODE_TREE);
		if (rc == 0)
			rc = git_treebuilder_insert(NULL, tb, "checkpoint", cp, GIT_FILEMODE_BLOB);
		if (rc == 0)
			rc = git_treebuilder_write(out, tb);
		git_treebuilder_free(tb);
		if (rc < 0) {
			rc = chain__git_error(rc, "cannot write the log's root tree");
			goto out;
		}
		nw->id[nw->n++] = *out;
	}
out:
	for (i = 0; i < 4; i++)
		git_tree_free(level[i]);
	return rc;
}

/* Packs exactly the batch's objects into objects/pack, fsynced; name gets
 * the pack's name. */
static int write_pack(chain_log__store *st, const struct new_objects *nw,
		      char name[CHAIN_LOG_PACK_NAME_LEN])
{
	git_packbuilder *pb = NULL;
	size_t i;
	int rc;

	rc = git_packbuilder_new(&pb, st->repo);
	if (rc < 0)
		return chain__git_error(rc, "cannot start a pack");
	git_packbuilder_set_threads(pb, 1);
	for (i = 0; i < nw->n && rc == 0; i++)
		rc = git_packbuilder_insert(pb, &nw->id[i], NULL);
	if (rc == 0)
		rc = git_packbuilder_write(pb, NULL, 0, NULL, NULL);
	if (rc == 0)
		snprintf(name, CHAIN_LOG_PACK_NAME_LEN, "%s", git_packbuilder_name(pb));
	git_packbuilder_free(pb);
	if (rc < 0)
		return chain__git_error(rc, "cannot write the batch's pack");
	return 0;
}

/* The directories between the repository and the ref file were made by
 * libgit2 on the first update; fsync them once (it syncs the last). */
static int fsync_ref_dirs(chain_log__store *st)
{
	const char *gitdir = git_repository_path(st->repo); /* ends in '/' */
	size_t base = strlen(gitdir);
	char path[4096];
	char *slash;
	int rc;

	snprintf(path, sizeof(path), "%s%s", gitdir, st->ref);
	while ((slash = strrchr(path, '/')) != NULL && (size_t)(slash - path) >= base) {
		*slash = '\0';
		rc = chain__git_fsync_dir(path);
		if (rc < 0)
			return rc;
	}
	st->created_ref_dirs = true;
	return 0;
}

int chain_log__store_batch(chain_log__store *st, uint64_t first, uint64_t last,
			   const void *blob, size_t blob_len, const char *note, size_t note_len,
			   int64_t time_s)
{
	struct new_objects nw = { .n = 0 };
	git_commit *parent = NULL;
	git_tree *parent_tree = NULL, *tree = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid batch_id, cp_id, tree_id, commit_id;
	char msg[64], pack[CHAIN_LOG_PACK_NAME_LEN];
	int rc;

	if (st->has_tip) {
		rc = git_commit_lookup(&parent, st->repo, &st->tip);
		if (rc == 0)
			rc = git_commit_tree(&parent_tree, parent);
		if (rc < 0) {
			rc = chain__git_error(rc, "cannot read the log's last commit");
			goto out;
		}
	}
	rc = git_blob_create_from_buffer(&batch_id, st->repo, blob, blob_len);
	if (rc == 0)
		nw.id[nw.n++] = batch_id;
	if (rc == 0)
		rc = git_blob_create_from_buffer(&cp_id, st->repo, note, note_len);
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot write the batch's blobs");
		goto out;
	}
	nw.id[nw.n++] = cp_id;
	rc = build_tree(st, parent_tree, first, last, &batch_id, &cp_id, &tree_id, &nw);
	if (rc < 0)
		goto out;
	rc = git_tree_lookup(&tree, st->repo, &tree_id);
	if (rc == 0)
		rc = git_signature_new(&sig, st->node, "arca-log", time_s, 0);
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot prepare the batch's commit");
		goto out;
	}
	chain_log__commit_message(first, last, msg, sizeof(msg));
	rc = git_commit_create(&commit_id, st->repo, NULL, sig, sig, NULL, msg, tree,
			       parent != NULL ? 1 : 0, (const git_commit **)&parent);
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot write the batch's commit");
		goto out;
	}
	nw.id[nw.n++] = commit_id;

	rc = write_pack(st, &nw, pack);
	if (rc < 0)
		goto out;
	/* The objects are on disk now; the in-memory copies can go. */
	git_mempack_reset(st->mempack);

	if (st->has_tip)
		rc = git_reference_create_matching(&ref, st->repo, st->ref, &commit_id, 1, &st->tip, msg);
	else
		rc = git_reference_create(&ref, st->repo, st->ref, &commit_id, 0, msg);
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot move %s to the new batch%s", st->ref,
				      rc == GIT_EMODIFIED || rc == GIT_EEXISTS
					      ? " (the ref was moved by someone else: run chain verify)" : "");
		goto out;
	}
	if (!st->created_ref_dirs && (rc = fsync_ref_dirs(st)) < 0)
		goto out;
	st->tip = commit_id;
	st->has_tip = true;
	rc = chain_log__store_packed(st, pack);
out:
	if (rc < 0)
		git_mempack_reset(st->mempack);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(parent_tree);
	git_commit_free(parent);
	return rc;
}
