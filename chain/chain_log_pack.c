/* chain_log_pack.c - merging the log's small packs (docs/chain-format.md 7.3).
 *
 * Every batch is written as its own pack, which is what makes it durable
 * cheaply; but a log that runs for months would hold a pack per batch (one
 * per event under light load), and git - libgit2 and the git command alike
 * - searches every pack's index on a lookup.  So the writer merges its
 * packs as it goes, like a binary counter in base 8: whenever the newest 8
 * packs it wrote each hold the same number of batches, they become one
 * pack (1 -> 8 -> 64 -> 512 -> 4096 batches; a pack of 4096 batches or
 * of 1 MiB is final, and a batch's pack of 16 KiB or more is never
 * merged, nor are 8 packs that together pass 1 MiB).  Each object is
 * rewritten at most four times, and a writer leaves at most 7 packs per
 * level plus its final ones.  Merging runs
 * after a batch's callbacks and only while nothing is queued
 * (chain_log__store_maintain), so it delays no waiting entry; one that
 * arrives meanwhile waits for one merge step at most.  The merged pack is written and fsynced before the old ones
 * go, and every object of the old packs is checked to be in it first.
 * Packs of earlier sessions are left as they are.
 *
 * Removing packs under an open repository handle would leave libgit2
 * looking for them, so the handle is opened again after a merge. */
#include "chain_log_priv.h"

#include "arca_err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#define MERGE_FANIN 8
#define FINAL_BATCHES 4096
/* Merging decompresses and compresses every byte again, between two
 * batches: worth it for small packs only.  A batch pack of 16 KiB or more
 * (a batch of a few hundred entries: a busy log, whose pack count grows
 * slowly anyway) is never merged, and a merged pack of 1 MiB is final, so
 * that one merge step stays near 100 ms. */
#define BORN_FINAL_BYTES (UINT64_C(16) << 10)
#define FINAL_BYTES (UINT64_C(1) << 20)

/* A standalone object database over one pack, to list or test its objects. */
static int open_one_pack(git_odb **out, const char *pack_dir, const char *name)
{
	git_odb_backend *b = NULL;
	char idx[4096];
	int rc;

	*out = NULL;
	snprintf(idx, sizeof(idx), "%spack-%s.idx", pack_dir, name);
	rc = git_odb_new(out);
	if (rc == 0)
		rc = git_odb_backend_one_pack(&b, idx);
	if (rc == 0) {
		rc = git_odb_add_backend(*out, b, 1);
		if (rc < 0)
			b->free(b);
	}
	if (rc < 0) {
		git_odb_free(*out);
		*out = NULL;
		return chain__git_error(rc, "cannot open pack %s", name);
	}
	return 0;
}

static int insert_cb(const git_oid *id, void *payload)
{
	return git_packbuilder_insert(payload, id, NULL);
}

struct check {
	git_odb *merged;
	int missing;
};

static int check_cb(const git_oid *id, void *payload)
{
	struct check *c = payload;

	if (!git_odb_exists(c->merged, id)) {
		c->missing = 1;
		return GIT_EUSER;
	}
	return 0;
}

/* The repository's pack directory, ending in '/'. */
static void pack_dir(chain_log__store *st, char *out, size_t size)
{
	snprintf(out, size, "%sobjects/pack/", git_repository_path(st->repo));
}

/* Merges packs[from..from+MERGE_FANIN) into one; on success they are
 * gone and packs[from] names the new one. */
static int merge(chain_log__store *st, size_t from)
{
	char dir[4096], path[4200], name[CHAIN_LOG_PACK_NAME_LEN];
	git_packbuilder *pb = NULL;
	git_odb *odb = NULL, *merged = NULL;
	struct check chk = { NULL, 0 };
	struct stat sb;
	size_t i;
	int rc;

	pack_dir(st, dir, sizeof(dir));
	rc = git_packbuilder_new(&pb, st->repo);
	if (rc < 0)
		return chain__git_error(rc, "cannot start a pack to merge the log's packs");
	git_packbuilder_set_threads(pb, 1);
	for (i = from; i < from + MERGE_FANIN && rc == 0; i++) {
		rc = open_one_pack(&odb, dir, st->packs[i].name);
		if (rc < 0)
			goto out;
		rc = git_odb_foreach(odb, insert_cb, pb);
		git_odb_free(odb);
		odb = NULL;
		if (rc < 0) {
			rc = chain__git_error(rc, "cannot read pack %s to merge it", st->packs[i].name);
			goto out;
		}
	}
	rc = git_packbuilder_write(pb, NULL, 0, NULL, NULL);
	if (rc < 0) {
		rc = chain__git_error(rc, "cannot write the merged pack");
		goto out;
	}
	snprintf(name, sizeof(name), "%s", git_packbuilder_name(pb));

	/* Nothing goes before it is known to be in the new pack. */
	if ((rc = open_one_pack(&merged, dir, name)) < 0)
		goto out;
	chk.merged = merged;
	for (i = from; i < from + MERGE_FANIN; i++) {
		if (strcmp(st->packs[i].name, name) == 0)
			continue;
		if ((rc = open_one_pack(&odb, dir, st->packs[i].name)) < 0)
			goto out;
		rc = git_odb_foreach(odb, check_cb, &chk);
		git_odb_free(odb);
		odb = NULL;
		if (chk.missing || rc < 0) {
			rc = arca_error_set(ARCA_EIO, "merged pack %s lacks objects of pack %s; both kept",
					    name, st->packs[i].name);
			goto out;
		}
	}
	/* The index first: libgit2 and git find packs by their .idx. */
	for (i = from; i < from + MERGE_FANIN; i++) {
		if (strcmp(st->packs[i].name, name) == 0)
			continue;
		snprintf(path, sizeof(path), "%spack-%s.idx", dir, st->packs[i].name);
		if (unlink(path) != 0 && errno != ENOENT) {
			rc = arca_error_set(ARCA_EIO, "cannot remove %s: %s", path, strerror(errno));
			goto out;
		}
		snprintf(path, sizeof(path), "%spack-%s.pack", dir, st->packs[i].name);
		if (unlink(path) != 0 && errno != ENOENT) {
			rc = arca_error_set(ARCA_EIO, "cannot remove %s: %s", path, strerror(errno));
			goto out;
		}
	}
	snprintf(st->packs[from].name, sizeof(st->packs[from].name), "%s", name);
	snprintf(path, sizeof(path), "%spack-%s.pack", dir, name);
	st->packs[from].bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : FINAL_BYTES;
	dir[strlen(dir) - 1] = '\0';
	rc = chain__git_fsync_dir(dir);
out:
	git_odb_free(merged);
	git_odb_free(odb);
	git_packbuilder_free(pb);
	return rc;
}

/* Opens the repository again (its pack list is stale after a merge). */
static int reopen(chain_log__store *st)
{
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s", git_repository_path(st->repo));
	git_repository_free(st->repo); /* frees the mempack backend too */
	st->repo = NULL;
	st->mempack = NULL;
	rc = chain__git_open(&st->repo, path, false);
	if (rc == 0)
		rc = chain_log__store_init(st);
	return rc;
}

int chain_log__store_packed(chain_log__store *st, const char *name)
{
	char path[4200];
	struct stat sb;

	pack_dir(st, path, sizeof(path));
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "pack-%s.pack", name);
	if (stat(path, &sb) != 0 || (uint64_t)sb.st_size >= BORN_FINAL_BYTES)
		return 0; /* big enough already (or unknown): never merged */
	if (st->npacks == CHAIN_LOG_MAX_PACKS)
		return 0; /* cannot happen with the levels above */
	snprintf(st->packs[st->npacks].name, sizeof(st->packs[0].name), "%s", name);
	st->packs[st->npacks].batches = 1;
	st->packs[st->npacks].bytes = (uint64_t)sb.st_size;
	st->npacks++;
	return 0;
}

int chain_log__store_maintain(chain_log__store *st, bool (*busy)(void *arg), void *arg)
{
	bool tried = false;

	for (;;) {
		size_t n = st->npacks, i;
		uint64_t bytes = 0;
		uint32_t b;
		int rc;

		if (n < MERGE_FANIN || (busy != NULL && busy(arg)))
			break;
		b = st->packs[n - 1].batches;
		for (i = n - MERGE_FANIN; i < n; i++) {
			if (st->packs[i].batches != b)
				break;
			bytes += st->packs[i].bytes;
		}
		if (i < n)
			break;
		if (bytes > FINAL_BYTES) {
			/* Together past the cap: final as they are. */
			st->npacks = n - MERGE_FANIN;
			continue;
		}
		tried = true;
		rc = merge(st, n - MERGE_FANIN);
		if (rc < 0) {
			/* The batches are durable whatever happens here: the
			 * packs stay as they are and are not tried again. */
			st->npacks = 0;
			break;
		}
		st->packs[n - MERGE_FANIN].batches = b * MERGE_FANIN;
		st->npacks = n - MERGE_FANIN + 1;
		if (b * MERGE_FANIN >= FINAL_BATCHES || st->packs[n - MERGE_FANIN].bytes >= FINAL_BYTES)
			st->npacks--; /* final: never merged again */
	}
	/* Packs may be gone: libgit2 must list them again. */
	return tried ? reopen(st) : 0;
}
