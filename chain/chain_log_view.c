/* chain_log_view.c - a read-only view of a log at the tip of its ref
 * (chain_log.h): the batches of the tip's tree indexed by range, the
 * rebuilt Merkle tree, and the checkpoint that signs it. */
#include "chain_log.h"
#include "chain_log_priv.h"

#include "arca_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch_ref {
	uint64_t first, last;
	git_oid blob;
};

struct chain_log_view {
	git_repository *repo;
	chain_merkle *tree;
	struct batch_ref *batches;
	size_t n, cap;
	char *note;
	size_t note_len;
};

static int note_batch(void *arg, uint64_t first, uint64_t last, const git_oid *blob)
{
	chain_log_view *v = arg;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct batch_ref *b = realloc(v->batches, cap * sizeof(*b));
		if (b == NULL)
			return arca_error_set(ARCA_ENOMEM, "out of memory listing the log's batches");
		v->batches = b;
		v->cap = cap;
	}
	v->batches[v->n++] = (struct batch_ref){ first, last, *blob };
	return 0;
}

/* The tip's checkpoint, verified by chain_log__load already, kept as text. */
static int keep_checkpoint(chain_log_view *v, const git_oid *tip)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *te = NULL;
	git_blob *b = NULL;
	int rc;

	rc = git_commit_lookup(&c, v->repo, tip);
	if (rc == 0)
		rc = git_commit_tree(&t, c);
	if (rc == 0)
		rc = git_tree_entry_bypath(&te, t, "checkpoint");
	if (rc == 0)
		rc = git_blob_lookup(&b, v->repo, git_tree_entry_id(te));
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot read the log's checkpoint");
		goto out;
	}
	v->note_len = (size_t)git_blob_rawsize(b);
	v->note = malloc(v->note_len + 1);
	if (v->note == NULL) {
		rc = arca_error_set(ARCA_ENOMEM, "out of memory for a checkpoint");
		goto out;
	}
	memcpy(v->note, git_blob_rawcontent(b), v->note_len);
	v->note[v->note_len] = '\0';
out:
	git_blob_free(b);
	git_tree_entry_free(te);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

int chain_log_view_open(chain_log_view **out, const char *repo_path, const char *node,
			const chain_key *key)
{
	char ref[CHAIN_LOG_REF_MAX];
	chain_log_view *v;
	bool has_tip = false;
	git_oid tip;
	int rc;

	*out = NULL;
	if ((rc = chain_node_name_check(node)) < 0)
		return rc;
	if ((rc = chain__git_init()) < 0)
		return rc;
	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		chain__git_shutdown();
		return arca_error_set(ARCA_ENOMEM, "out of memory for a log view");
	}
	snprintf(ref, sizeof(ref), "%s%s", CHAIN_LOG_REF_PREFIX, node);
	rc = chain__git_open(&v->repo, repo_path, false);
	if (rc == 0) {
		uint64_t pending;
		/* what a live writer journaled before now is on the ref first */
		chain_log__settle(v->repo, repo_path, node, &pending);
		rc = chain_merkle_new(&v->tree);
	}
	if (rc == 0)
		rc = chain_log__load(v->repo, ref, node, key, v->tree, &has_tip, &tip, note_batch, v);
	if (rc == 0 && !has_tip)
		rc = arca_error_set(ARCA_ENOTFOUND, "%s has no log of %s (no %s)", repo_path, node, ref);
	if (rc == 0)
		rc = keep_checkpoint(v, &tip);
	if (rc < 0) {
		arca_error_prefix(rc, "log of %s in %s", node, repo_path);
		chain_log_view_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void chain_log_view_free(chain_log_view *v)
{
	if (v == NULL)
		return;
	free(v->note);
	free(v->batches);
	chain_merkle_free(v->tree);
	git_repository_free(v->repo);
	free(v);
	chain__git_shutdown();
}

uint64_t chain_log_view_size(const chain_log_view *v)
{
	return chain_merkle_size(v->tree);
}

const char *chain_log_view_checkpoint(const chain_log_view *v, size_t *len)
{
	if (len != NULL)
		*len = v->note_len;
	return v->note;
}

void chain_log_view_root(const chain_log_view *v, uint8_t root[CHAIN_HASH_LEN])
{
	/* The current size's root is cached by the tree; it cannot fail. */
	(void)chain_merkle_root(v->tree, chain_merkle_size(v->tree), root);
}

/* The batch holding index (index < size). */
static size_t find_batch(const chain_log_view *v, uint64_t index)
{
	size_t lo = 0, hi = v->n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->batches[mid].first <= index)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Calls fn for the entries of batch b from index from on. */
static int walk_batch(chain_log_view *v, size_t b, uint64_t from, chain_log_entry_fn fn, void *arg)
{
	git_blob *blob = NULL;
	const uint8_t *data;
	size_t len, pos = 0, start, line_len;
	uint64_t index = v->batches[b].first;
	int rc;

	rc = git_blob_lookup(&blob, v->repo, &v->batches[b].blob);
	if (rc < 0)
		return chain__git_error(rc, "cannot read the batch of entries %" PRIu64 "-%" PRIu64,
					v->batches[b].first, v->batches[b].last);
	data = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	/* The loader counted these lines when the view was opened. */
	while ((rc = chain_log__next_line(data, len, &pos, &start, &line_len)) == 1) {
		if (index >= from) {
			rc = fn(arg, index, (const char *)data + start, line_len);
			if (rc != 0)
				break;
		}
		index++;
	}
	git_blob_free(blob);
	return rc;
}

int chain_log_view_foreach(chain_log_view *v, uint64_t from, chain_log_entry_fn fn, void *arg)
{
	size_t b;
	int rc = 0;

	if (from >= chain_log_view_size(v))
		return 0;
	for (b = find_batch(v, from); b < v->n && rc == 0; b++)
		rc = walk_batch(v, b, from, fn, arg);
	return rc;
}

struct one {
	char *bytes;
	size_t len;
};

static int take_one(void *arg, uint64_t index, const char *bytes, size_t len)
{
	struct one *o = arg;

	(void)index;
	o->bytes = malloc(len + 1);
	if (o->bytes == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for an entry");
	memcpy(o->bytes, bytes, len);
	o->bytes[len] = '\0';
	o->len = len;
	return 1; /* stop */
}

int chain_log_view_entry(chain_log_view *v, uint64_t index, char **bytes, size_t *len)
{
	struct one o = { NULL, 0 };
	int rc;

	*bytes = NULL;
	*len = 0;
	if (index >= chain_log_view_size(v))
		return arca_error_set(ARCA_EINVAL, "entry %" PRIu64 " is past the log's end (%" PRIu64 " entries)",
				      index, chain_log_view_size(v));
	rc = walk_batch(v, find_batch(v, index), index, take_one, &o);
	if (rc < 0) {
		free(o.bytes);
		return rc;
	}
	*bytes = o.bytes;
	*len = o.len;
	return 0;
}

int chain_log_view_inclusion_proof(chain_log_view *v, uint64_t index,
				   uint8_t out[][CHAIN_HASH_LEN], size_t cap, size_t *n)
{
	return chain_merkle_inclusion_proof(v->tree, index, chain_merkle_size(v->tree), out, cap, n);
}
