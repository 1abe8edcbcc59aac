/* chain_log_test.c - the provenance log in git: batches, durability, the
 * writer lock, reopening, full verification, tamper detection (the test
 * edits the git objects itself with libgit2 and forces the ref), and a
 * scan of every object of the repository for the patients' identifiers.
 *
 * Every test works in its own temporary directory, removed afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "arca_err.h"
#include "chain_checkpoint.h"
#include "chain_entry.h"
#include "chain_key.h"
#include "chain_log.h"
#include "chain_log_priv.h"
#include "chain_fixture.h"
#include "chain_merkle.h"
#include "chain_pseudonym.h"
#include "pacs_ds.h"
#include "pacs_read.h"
#include "pacs_tags_gen.h"

#define NODE "hospital-a"
#define REF "refs/arca/log/" NODE
/* 2025-01-02T03:04:05.000Z: entries get fixed times, so that a log's
 * root can be computed again from the same entries. */
#define T0 INT64_C(1735787045000)

/* chain_fixture.h: a temp directory with the repository, the node's key
 * and a foreign one */
struct fx {
	chain_fixture c;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (chain_fixture_init(&f->c, "chain_log_test", "chain/log.git", 1) != 0) {
		chain_fixture_fini(&f->c);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	chain_fixture_fini(&f->c);
	free(f);
	return 0;
}

/* ---- entries ---- */

static const char *const study_uids[] = {
	"1.2.826.0.1.3680043.10.543.1", "1.2.826.0.1.3680043.10.543.2",
	"1.2.826.0.1.3680043.10.543.3", "1.2.826.0.1.3680043.10.543.4",
};

/* Entry i of the test logs (its index is set by the log). */
static void make_entry(chain_entry *e, uint64_t i)
{
	memset(e, 0, sizeof(*e));
	e->time_ms = T0 + (int64_t)i;
	switch (i % 3) {
	case 0:
		e->event = CHAIN_EVENT_INSTANCES_TRANSFERRED;
		e->action = CHAIN_ACTION_CREATE;
		break;
	case 1:
		e->event = CHAIN_EVENT_INSTANCES_ACCESSED;
		e->action = CHAIN_ACTION_READ;
		e->peer = "VIEWER";
		break;
	default:
		e->event = CHAIN_EVENT_QUERY;
		e->action = CHAIN_ACTION_EXECUTE;
		break;
	}
	e->actor_ae = "MODALITY1";
	e->study_uid = study_uids[i % 4];
	e->has_study_hash = true;
	memset(e->study_hash, (int)(i % 251), CHAIN_HASH_LEN);
	e->instances = (uint32_t)(i % 7 + 1);
	e->has_patient = true;
	memset(e->patient, (int)(0x40 + i % 5), CHAIN_HASH_LEN);
	e->purpose = "TREAT";
}

static void open_log(struct fx *f, chain_log **log, uint32_t batch, bool background)
{
	chain_log_config c = { .repo_path = f->c.repo, .node = NODE, .key = f->c.key,
			       .batch_entries = batch, .batch_ms = 20, .background = background };

	*log = chain_fixture_open_log(&c);
}

static void append_range(chain_log *log, uint64_t from, uint64_t to)
{
	uint64_t i, idx;
	chain_entry e;

	for (i = from; i < to; i++) {
		make_entry(&e, i);
		assert_int_equal(chain_log_append(log, &e, NULL, NULL, &idx), 0);
		assert_int_equal(idx, i);
	}
}

/* Appends [from, to) flushing after every batch entries: exact batches. */
static void append_batches(chain_log *log, uint64_t from, uint64_t to, uint64_t batch)
{
	uint64_t i;

	for (i = from; i < to; i += batch) {
		append_range(log, i, i + batch < to ? i + batch : to);
		assert_int_equal(chain_log_flush(log), 0);
	}
}

/* A closed log of n entries in batches of batch (a flush after each
 * batch: a flush of a longer queue would write bigger batches). */
static void build_log(struct fx *f, uint64_t n, uint32_t batch)
{
	chain_log *log;
	uint64_t i;

	open_log(f, &log, batch, false);
	for (i = 0; i < n; i += batch) {
		append_range(log, i, i + batch < n ? i + batch : n);
		assert_int_equal(chain_log_flush(log), 0);
	}
	assert_int_equal(chain_log_size(log), n);
	assert_int_equal(chain_log_close(log), 0);
}

/* The root of entries 0..n-1 computed here, without the log. */
static void expected_root(uint64_t n, uint8_t root[CHAIN_HASH_LEN])
{
	chain_merkle *t;
	chain_entry e;
	uint64_t i;

	assert_int_equal(chain_merkle_new(&t), 0);
	for (i = 0; i < n; i++) {
		char *bytes;
		size_t len;

		make_entry(&e, i);
		e.index = i;
		e.node = NODE;
		assert_int_equal(chain_entry_encode(&e, &bytes, &len), 0);
		assert_int_equal(chain_merkle_append_leaf(t, bytes, len), 0);
		free(bytes);
	}
	assert_int_equal(chain_merkle_root(t, n, root), 0);
	chain_merkle_free(t);
}

/* ---- faults ---- */

struct faults {
	size_t n;
	chain_log_fault f[8];
	char reason[8][512];
};

static void collect(void *arg, const chain_log_fault *fault)
{
	struct faults *fs = arg;

	if (fs->n < 8) {
		fs->f[fs->n] = *fault;
		snprintf(fs->reason[fs->n], sizeof(fs->reason[0]), "%s", fault->reason);
		fs->f[fs->n].reason = fs->reason[fs->n];
	}
	fs->n++;
}

static int verify(struct fx *f, struct faults *fs, chain_log_stats *st)
{
	memset(fs, 0, sizeof(*fs));
	return chain_log_verify_repo(f->c.repo, NODE, f->c.key, collect, fs, st);
}

/* ---- node key changes (docs/chain-format.md 10) ---- */

/* Appends an arca:key-change from `from` to `to` (not flushed). */
static void append_key_change(chain_log *log, const chain_key *from, const chain_key *to, uint64_t *idx)
{
	chain_key_change kc;
	chain_entry e;

	assert_int_equal(chain_key_public(from, kc.old_public), 0);
	assert_int_equal(chain_key_fingerprint(from, kc.old_fp), 0);
	assert_int_equal(chain_key_public(to, kc.new_public), 0);
	assert_int_equal(chain_key_fingerprint(to, kc.new_fp), 0);
	memset(&e, 0, sizeof(e));
	e.time_ms = T0 + 100000;
	e.event = CHAIN_EVENT_KEY_CHANGE;
	e.action = CHAIN_ACTION_UPDATE;
	e.actor_user = "admin";
	e.key = &kc;
	assert_int_equal(chain_log_append(log, &e, NULL, NULL, idx), 0);
}

static int open_with(struct fx *f, chain_log **log, const chain_key *key)
{
	chain_log_config c = { .repo_path = f->c.repo, .node = NODE, .key = key, .batch_entries = 100 };

	return chain_log_open(log, &c);
}

/* The log after a key change: checkpoints up to the change verify with
 * the old key, later ones with the new; opening, viewing and verifying
 * want the new key and refuse the old one. */
static void test_key_change(void **state)
{
	struct fx *f = *state;
	chain_log *log = NULL;
	chain_log_view *v = NULL;
	chain_log_stats st;
	struct faults fs;
	uint64_t idx = 0;

	build_log(f, 5, 5);
	open_log(f, &log, 100, false);
	append_key_change(log, f->c.key, f->c.other_key, &idx);
	assert_int_equal(idx, 5);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_close(log), 0);
	/* the old key is no longer the log's: refused everywhere */
	assert_int_equal(verify(f, &fs, NULL), ARCA_ECRYPTO);
	assert_non_null(strstr(fs.reason[0], "the log's key is now"));
	assert_int_equal(open_with(f, &log, f->c.key), ARCA_ECRYPTO);
	assert_non_null(strstr(arca_error_last(), "finish the interrupted rotation"));
	assert_null(log);
	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.key), ARCA_ECRYPTO);
	/* the new one verifies the whole log, the last checkpoint (size 6)
	 * still signed with the old key */
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, f->c.other_key, collect, &fs, &st), 0);
	assert_int_equal(st.entries, 6);
	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.other_key), 0);
	assert_int_equal(chain_log_view_size(v), 6);
	chain_log_view_free(v);
	/* the writer with the new key signs what follows */
	assert_int_equal(open_with(f, &log, f->c.other_key), 0);
	append_range(log, 6, 9);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_verify(log, collect, &fs), 0);
	assert_int_equal(chain_log_close(log), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, f->c.other_key, collect, &fs, &st), 0);
	assert_int_equal(st.entries, 9);
	assert_int_equal(st.batches, 3);
	assert_int_equal(verify(f, &fs, NULL), ARCA_ECRYPTO);
}

/* A checkpoint after the key change signed by the old key (a writer that
 * did not switch) is refused, naming its size. */
static void test_key_change_old_key_signs_after(void **state)
{
	struct fx *f = *state;
	chain_log *log = NULL;
	chain_log_view *v = NULL;
	struct faults fs;
	uint64_t idx = 0;

	build_log(f, 3, 3);
	open_log(f, &log, 100, false);
	append_key_change(log, f->c.key, f->c.other_key, &idx);
	assert_int_equal(chain_log_flush(log), 0);
	append_range(log, 4, 6); /* still signed with f->c.key */
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_close(log), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, f->c.other_key, collect, &fs, NULL), ARCA_ECRYPTO);
	assert_int_equal(fs.n, 1);
	assert_non_null(strstr(fs.reason[0], "checkpoint of size 6 is not signed by the node key in force"));
	assert_int_equal(open_with(f, &log, f->c.other_key), ARCA_ECRYPTO);
	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.other_key), ARCA_ECRYPTO);
	/* nor by anybody else's key */
	assert_int_equal(verify(f, &fs, NULL), ARCA_ECRYPTO);
}

/* Key changes must chain: the old key of a change is the key in force. */
static void test_key_change_not_chained(void **state)
{
	struct fx *f = *state;
	chain_key *third = NULL;
	chain_log *log = NULL;
	struct faults fs;
	uint8_t seed[32];
	uint64_t idx = 0;

	memset(seed, 7, sizeof(seed));
	assert_int_equal(chain_key_from_seed(&third, seed), 0);
	build_log(f, 2, 2);
	open_log(f, &log, 100, false);
	append_key_change(log, f->c.key, f->c.other_key, &idx);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_close(log), 0);
	assert_int_equal(open_with(f, &log, f->c.other_key), 0);
	/* names f->c.key as the old key, but other_key is in force */
	append_key_change(log, f->c.key, third, &idx);
	assert_int_equal(idx, 3);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_close(log), 0);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(chain_log_verify_repo(f->c.repo, NODE, third, collect, &fs, NULL), ARCA_ECRYPTO);
	assert_non_null(strstr(fs.reason[0], "key change at entry 3"));
	assert_int_equal(open_with(f, &log, third), ARCA_ECRYPTO);
	chain_key_free(third);
}

/* ---- basic behaviour ---- */

static size_t count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		if (de->d_name[0] != '.' && l >= sl && strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void test_append_reopen_same_root(void **state)
{
	struct fx *f = *state;
	uint8_t root[32], want[32], root2[32];
	uint64_t size;
	chain_log *log;
	chain_log_stats st;
	struct faults fs;
	char path[400], *note;
	size_t note_len;
	chain_checkpoint *cp;

	build_log(f, 10000, 500);
	expected_root(10000, want);

	/* one pack per batch, every 8 merged into one (20 = 8 + 8 + 4 x 1),
	 * and no loose object: objects/ holds only pack/ and info/ */
	snprintf(path, sizeof(path), "%s/objects/pack", f->c.repo);
	assert_int_equal(count_files(path, ".pack"), 6);
	assert_int_equal(count_files(path, ".idx"), 6);
	{
		char objdir[400];
		DIR *d;
		struct dirent *de;

		snprintf(objdir, sizeof(objdir), "%s/objects", f->c.repo);
		d = opendir(objdir);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' && strcmp(de->d_name, "pack") != 0 && strcmp(de->d_name, "info") != 0)
				fail_msg("loose object directory objects/%s", de->d_name);
		closedir(d);
	}

	open_log(f, &log, 500, false);
	assert_int_equal(chain_log_size(log), 10000);
	assert_int_equal(chain_log_checkpoint(log, &size, root, &note, &note_len), 0);
	assert_int_equal(size, 10000);
	assert_memory_equal(root, want, 32);
	/* the note is a checkpoint of this node signed by its key */
	assert_int_equal(chain_checkpoint_parse(&cp, note, note_len), 0);
	assert_int_equal(chain_checkpoint_verify(cp, f->c.key, NODE), 0);
	assert_string_equal(chain_checkpoint_origin(cp), NODE);
	chain_checkpoint_free(cp);
	free(note);

	/* appending continues at 10000; a flush of a queue longer than a
	 * batch writes it at once (group commit, up to 16 batches' worth) */
	append_range(log, 10000, 10250);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_size(log), 10250);
	assert_int_equal(chain_log_verify(log, collect, &fs), 0);
	assert_int_equal(chain_log_close(log), 0);

	assert_int_equal(verify(f, &fs, &st), 0);
	assert_int_equal(fs.n, 0);
	assert_int_equal(st.entries, 10250);
	assert_int_equal(st.batches, 21);
	expected_root(10250, want);
	assert_memory_equal(st.root, want, 32);
	open_log(f, &log, 500, false);
	assert_int_equal(chain_log_checkpoint(log, &size, root2, NULL, NULL), 0);
	assert_int_equal(size, 10250);
	assert_memory_equal(root2, want, 32);
	assert_int_equal(chain_log_close(log), 0);
}

/* 65 batches: 8 x 8 merged twice into one pack of 64 batches, plus the
 * last one; the log reads back whole through the merged packs. */
static void test_packs_merged(void **state)
{
	struct fx *f = *state;
	char path[400];
	uint8_t want[32];
	chain_log_stats st;
	struct faults fs;
	chain_log *log;

	build_log(f, 650, 10);
	snprintf(path, sizeof(path), "%s/objects/pack", f->c.repo);
	assert_int_equal(count_files(path, ".pack"), 2);
	assert_int_equal(count_files(path, ".idx"), 2);
	assert_int_equal(verify(f, &fs, &st), 0);
	assert_int_equal(st.entries, 650);
	assert_int_equal(st.batches, 65);
	expected_root(650, want);
	assert_memory_equal(st.root, want, 32);
	/* a new session merges only its own packs */
	open_log(f, &log, 10, false);
	append_range(log, 650, 660);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_close(log), 0);
	assert_int_equal(count_files(path, ".pack"), 3);
	assert_int_equal(verify(f, &fs, &st), 0);
	assert_int_equal(st.entries, 660);
}

static void test_empty_log(void **state)
{
	struct fx *f = *state;
	uint8_t root[32];
	uint64_t size;
	struct faults fs;
	chain_log *log;

	open_log(f, &log, 10, false);
	assert_int_equal(chain_log_size(log), 0);
	assert_int_equal(chain_log_checkpoint(log, &size, root, NULL, NULL), ARCA_ENOTFOUND);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_verify(log, collect, &fs), 0);
	assert_int_equal(chain_log_wait(log, 0), ARCA_EINVAL);
	assert_int_equal(chain_log_close(log), 0);
	/* no ref yet: the repository check says so */
	assert_int_equal(verify(f, &fs, NULL), ARCA_ENOTFOUND);
	assert_int_equal(fs.n, 1);
}

static void test_append_refuses(void **state)
{
	struct fx *f = *state;
	chain_log *log;
	chain_entry e;
	chain_log_config c = { .repo_path = f->c.repo, .node = "bad name", .key = f->c.key };
	chain_key *pub;
	uint8_t pk[32];

	assert_int_equal(chain_log_open(&log, &c), ARCA_EINVAL);
	c.node = NODE;
	assert_int_equal(chain_key_public(f->c.key, pk), 0);
	assert_int_equal(chain_key_from_public(&pub, pk), 0);
	c.key = pub;
	assert_int_equal(chain_log_open(&log, &c), ARCA_EINVAL); /* cannot sign */
	chain_key_free(pub);

	open_log(f, &log, 10, false);
	make_entry(&e, 0);
	e.node = "hospital-b";
	assert_int_equal(chain_log_append(log, &e, NULL, NULL, NULL), ARCA_EINVAL);
	make_entry(&e, 0);
	e.actor_ae = NULL;
	assert_int_equal(chain_log_append(log, &e, NULL, NULL, NULL), ARCA_EINVAL);
	/* nothing was queued: the next entry gets index 0 */
	make_entry(&e, 0);
	e.time_ms = 0; /* the log fills in the time */
	{
		uint64_t idx = 99;
		assert_int_equal(chain_log_append(log, &e, NULL, NULL, &idx), 0);
		assert_int_equal(idx, 0);
	}
	assert_int_equal(chain_log_close(log), 0);
	assert_int_equal(chain_log_close(NULL), 0);
}

static void test_writer_lock(void **state)
{
	struct fx *f = *state;
	chain_log *a, *b;

	open_log(f, &a, 10, false);
	{
		chain_log_config c = { .repo_path = f->c.repo, .node = NODE, .key = f->c.key };
		assert_int_equal(chain_log_open(&b, &c), ARCA_EEXISTS);
		assert_null(b);
		assert_non_null(strstr(arca_error_last(), "lock"));
		/* another node's log in the same repository has its own writer */
		c.node = "hospital-b";
		assert_int_equal(chain_log_open(&b, &c), 0);
		assert_int_equal(chain_log_close(b), 0);
	}
	assert_int_equal(chain_log_close(a), 0);
	open_log(f, &a, 10, false);
	assert_int_equal(chain_log_close(a), 0);
}

/* ---- the read-only view ---- */

struct walk {
	uint64_t next;
	uint64_t stop_at;
	int bad;
};

static int walk_cb(void *arg, uint64_t index, const char *bytes, size_t len)
{
	struct walk *w = arg;
	chain_entry e;
	char *want;
	size_t want_len;

	if (index != w->next)
		w->bad++;
	make_entry(&e, index);
	e.index = index;
	e.node = NODE;
	if (chain_entry_encode(&e, &want, &want_len) != 0 || want_len != len || memcmp(want, bytes, len) != 0)
		w->bad++;
	free(want);
	w->next++;
	return index == w->stop_at ? 7 : 0;
}

static void test_view(void **state)
{
	struct fx *f = *state;
	chain_log_view *v;
	chain_log *log;
	struct walk w;
	uint8_t root[32], want[32], leaf[32], proof[CHAIN_MERKLE_MAX_PROOF][32];
	char *bytes;
	size_t len, n, i;
	chain_checkpoint *cp;

	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.key), ARCA_ENOTFOUND);
	build_log(f, 1234, 100);
	/* a writer holds the lock: a view opens anyway, and sees the log as
	 * it was then */
	open_log(f, &log, 100, false);
	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.key), 0);
	append_batches(log, 1234, 1300, 100);
	assert_int_equal(chain_log_view_size(v), 1234);
	chain_log_view_root(v, root);
	expected_root(1234, want);
	assert_memory_equal(root, want, 32);
	{
		const char *note = chain_log_view_checkpoint(v, &len);
		assert_int_equal(chain_checkpoint_parse(&cp, note, len), 0);
	}
	assert_int_equal(chain_checkpoint_verify(cp, f->c.key, NODE), 0);
	assert_int_equal(chain_checkpoint_size(cp), 1234);
	assert_memory_equal(chain_checkpoint_root(cp), want, 32);
	chain_checkpoint_free(cp);

	/* every entry in order, from the start and from inside a batch */
	memset(&w, 0, sizeof(w));
	w.stop_at = UINT64_MAX;
	assert_int_equal(chain_log_view_foreach(v, 0, walk_cb, &w), 0);
	assert_int_equal(w.next, 1234);
	assert_int_equal(w.bad, 0);
	w.next = 1150;
	assert_int_equal(chain_log_view_foreach(v, 1150, walk_cb, &w), 0);
	assert_int_equal(w.next, 1234);
	w.next = 99;
	w.stop_at = 101; /* the callback's return stops the walk */
	assert_int_equal(chain_log_view_foreach(v, 99, walk_cb, &w), 7);
	assert_int_equal(w.next, 102);
	assert_int_equal(w.bad, 0);
	assert_int_equal(chain_log_view_foreach(v, 1234, walk_cb, &w), 0);

	/* single entries and their inclusion proofs against the checkpoint */
	for (i = 0; i < 1234; i += 97) {
		chain_entry *e;

		assert_int_equal(chain_log_view_entry(v, i, &bytes, &len), 0);
		assert_int_equal(chain_entry_parse(&e, bytes, len), 0);
		assert_int_equal(e->index, i);
		chain_entry_free(e);
		assert_int_equal(chain_log_view_inclusion_proof(v, i, proof, CHAIN_MERKLE_MAX_PROOF, &n), 0);
		{
			chain_merkle *t;
			assert_int_equal(chain_merkle_new(&t), 0);
			assert_int_equal(chain_merkle_append_leaf(t, bytes, len), 0);
			assert_int_equal(chain_merkle_leaf_hash(t, 0, leaf), 0);
			chain_merkle_free(t);
		}
		assert_int_equal(chain_merkle_verify_inclusion(leaf, i, 1234, (const uint8_t (*)[32])proof, n, want), 0);
		free(bytes);
	}
	assert_int_equal(chain_log_view_entry(v, 1234, &bytes, &len), ARCA_EINVAL);
	assert_null(bytes);
	chain_log_view_free(v);
	chain_log_view_free(NULL);

	/* a new view sees the new batches */
	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.key), 0);
	assert_int_equal(chain_log_view_size(v), 1300);
	chain_log_view_free(v);
	assert_int_equal(chain_log_close(log), 0);
	/* another node's key is refused */
	assert_int_equal(chain_log_view_open(&v, f->c.repo, NODE, f->c.other_key), ARCA_ECRYPTO);
}

/* ---- durability ---- */

struct durable_ctx {
	git_repository *repo;
	char journal[400];
	atomic_uint_fast64_t fired;
	atomic_uint_fast64_t early;   /* callbacks before their entry was on the ref */
	atomic_uint_fast64_t failed;
	atomic_uint_fast64_t out_of_order;
	uint64_t last;
};

/* The size of the checkpoint the ref points at, read from disk now. */
static uint64_t ref_size(git_repository *repo)
{
	git_reference *r = NULL;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *te = NULL;
	git_blob *b = NULL;
	chain_checkpoint *cp = NULL;
	uint64_t size = 0;

	if (git_reference_lookup(&r, repo, REF) == 0 &&
	    git_commit_lookup(&c, repo, git_reference_target(r)) == 0 &&
	    git_commit_tree(&t, c) == 0 && git_tree_entry_bypath(&te, t, "checkpoint") == 0 &&
	    git_blob_lookup(&b, repo, git_tree_entry_id(te)) == 0 &&
	    chain_checkpoint_parse(&cp, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b)) == 0)
		size = chain_checkpoint_size(cp);
	chain_checkpoint_free(cp);
	git_blob_free(b);
	git_tree_entry_free(te);
	git_tree_free(t);
	git_commit_free(c);
	git_reference_free(r);
	return size;
}

static void on_durable(void *arg, uint64_t index, int status)
{
	struct durable_ctx *d = arg;

	/* Callbacks run on one thread at a time (the flusher), in order. */
	/* Durable means on the ref or in the synced journal (chain_log.h);
	 * callbacks run on the flusher with the writer's lock held, so
	 * neither moves while this looks. */
	if (status != 0) {
		d->failed++;
	} else {
		uint64_t on_ref = ref_size(d->repo), pending = 0;
		if (on_ref <= index &&
		    (chain_log__journal_read(d->journal, NODE, on_ref, NULL, NULL, &pending) != 0 ||
		     on_ref + pending <= index))
			d->early++;
	}
	if (d->fired > 0 && index != d->last + 1)
		d->out_of_order++;
	d->last = index;
	d->fired++;
}

static void test_durable_after_sync(void **state)
{
	struct fx *f = *state;
	struct durable_ctx d;
	chain_log *log;
	chain_entry e;
	uint64_t i, idx = 0;

	memset(&d, 0, sizeof(d));
	snprintf(d.journal, sizeof(d.journal), "%s/arca-journal-" NODE, f->c.repo);
	open_log(f, &log, 100, true);
	assert_int_equal(git_repository_open_bare(&d.repo, f->c.repo), 0);
	for (i = 0; i < 2050; i++) {
		make_entry(&e, i);
		assert_int_equal(chain_log_append(log, &e, on_durable, &d, &idx), 0);
	}
	/* the flusher thread writes them; wait for the last one */
	assert_int_equal(chain_log_wait(log, idx), 0);
	/* durable is announced before the batch's callbacks run; a flush
	 * waits for the writer, so for them too */
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(chain_log_size(log), 2050);
	assert_int_equal(d.fired, 2050);
	assert_int_equal(d.early, 0);
	assert_int_equal(d.failed, 0);
	assert_int_equal(d.out_of_order, 0);
	assert_int_equal(ref_size(d.repo), 2050);

	/* fewer than a batch: written when batch_ms has passed */
	for (i = 2050; i < 2053; i++) {
		make_entry(&e, i);
		assert_int_equal(chain_log_append(log, &e, on_durable, &d, &idx), 0);
	}
	assert_int_equal(chain_log_wait(log, idx), 0);
	assert_int_equal(chain_log_flush(log), 0);
	assert_int_equal(d.fired, 2053);
	assert_int_equal(d.early, 0);
	assert_int_equal(chain_log_close(log), 0);
	git_repository_free(d.repo);
}

/* Another writer moves the ref: the log refuses to overwrite it, fails,
 * and tells every waiting caller; reopening is safe. */
static void test_ref_moved_under_writer(void **state)
{
	struct fx *f = *state;
	struct durable_ctx d;
	git_repository *repo;
	git_reference *r, *moved;
	git_commit *tip;
	git_oid id;
	chain_log *log;
	chain_entry e;
	uint64_t idx;

	memset(&d, 0, sizeof(d));
	open_log(f, &log, 10, false);
	append_batches(log, 0, 20, 10);
	assert_int_equal(git_repository_open_bare(&repo, f->c.repo), 0);
	d.repo = repo;
	/* someone else points the ref at the first commit */
	assert_int_equal(git_reference_lookup(&r, repo, REF), 0);
	assert_int_equal(git_commit_lookup(&tip, repo, git_reference_target(r)), 0);
	id = *git_commit_parent_id(tip, 0);
	assert_int_equal(git_reference_create(&moved, repo, REF, &id, 1, "moved"), 0);

	make_entry(&e, 20);
	assert_int_equal(chain_log_append(log, &e, on_durable, &d, &idx), 0);
	assert_int_equal(chain_log_flush(log), ARCA_EEXISTS);
	assert_non_null(strstr(arca_error_last(), "moved"));
	assert_int_equal(d.failed, 1);
	assert_int_equal(chain_log_wait(log, idx), ARCA_EEXISTS);
	assert_int_equal(chain_log_append(log, &e, NULL, NULL, NULL), ARCA_EIO);
	assert_int_equal(chain_log_close(log), ARCA_EEXISTS);
	/* the ref was not overwritten */
	assert_int_equal(ref_size(repo), 10);
	open_log(f, &log, 10, false);
	assert_int_equal(chain_log_size(log), 10);
	assert_int_equal(chain_log_close(log), 0);
	git_reference_free(moved);
	git_commit_free(tip);
	git_reference_free(r);
	git_repository_free(repo);
}

/* ---- tampering, through libgit2 ---- */

/* tree with blob `from` replaced by `to` wherever it is (removed when to
 * is NULL), recursively; *out == tree's id when nothing changed. */
static void replace_blob(git_repository *repo, const git_oid *tree, const git_oid *from,
			 const git_oid *to, git_oid *out)
{
	git_tree *t;
	git_treebuilder *tb;
	size_t i, n;
	bool changed = false;

	assert_int_equal(git_tree_lookup(&t, repo, tree), 0);
	assert_int_equal(git_treebuilder_new(&tb, repo, t), 0);
	n = git_tree_entrycount(t);
	for (i = 0; i < n; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(te);

		if (git_tree_entry_type(te) == GIT_OBJECT_TREE) {
			git_oid sub;
			replace_blob(repo, git_tree_entry_id(te), from, to, &sub);
			if (!git_oid_equal(&sub, git_tree_entry_id(te))) {
				assert_int_equal(git_treebuilder_insert(NULL, tb, name, &sub, GIT_FILEMODE_TREE), 0);
				changed = true;
			}
		} else if (git_oid_equal(git_tree_entry_id(te), from)) {
			if (to != NULL)
				assert_int_equal(git_treebuilder_insert(NULL, tb, name, to, GIT_FILEMODE_BLOB), 0);
			else
				assert_int_equal(git_treebuilder_remove(tb, name), 0);
			changed = true;
		}
	}
	if (changed)
		assert_int_equal(git_treebuilder_write(out, tb), 0);
	else
		*out = *tree;
	git_treebuilder_free(tb);
	git_tree_free(t);
}

/* The commits of the log, root first (at most 64). */
static size_t list_commits(git_repository *repo, git_oid ids[64])
{
	git_reference *r;
	git_oid id;
	size_t n = 0, i;

	assert_int_equal(git_reference_lookup(&r, repo, REF), 0);
	id = *git_reference_target(r);
	git_reference_free(r);
	for (;;) {
		git_commit *c;
		assert_true(n < 64);
		ids[n++] = id;
		assert_int_equal(git_commit_lookup(&c, repo, &id), 0);
		if (git_commit_parentcount(c) == 0) {
			git_commit_free(c);
			break;
		}
		id = *git_commit_parent_id(c, 0);
		git_commit_free(c);
	}
	for (i = 0; i < n / 2; i++) {
		git_oid t = ids[i];
		ids[i] = ids[n - 1 - i];
		ids[n - 1 - i] = t;
	}
	return n;
}

/* Rewrites the whole history with blob `from` replaced by `to` (removed if
 * NULL) in every tree, the commit numbered `drop` left out (SIZE_MAX: none),
 * and forces the ref to the new tip.  Commit metadata is kept. */
static void rewrite_history(git_repository *repo, const git_oid *from, const git_oid *to, size_t drop)
{
	git_oid ids[64], prev;
	size_t n = list_commits(repo, ids), i;
	bool have_prev = false;
	git_reference *r;

	for (i = 0; i < n; i++) {
		git_commit *c, *parent = NULL;
		git_tree *tree;
		git_oid tid, cid;

		if (i == drop)
			continue;
		assert_int_equal(git_commit_lookup(&c, repo, &ids[i]), 0);
		replace_blob(repo, git_commit_tree_id(c), from, to, &tid);
		assert_int_equal(git_tree_lookup(&tree, repo, &tid), 0);
		if (have_prev)
			assert_int_equal(git_commit_lookup(&parent, repo, &prev), 0);
		assert_int_equal(git_commit_create(&cid, repo, NULL, git_commit_author(c), git_commit_committer(c),
						   NULL, git_commit_message(c), tree, parent != NULL ? 1 : 0,
						   (const git_commit **)&parent), 0);
		git_commit_free(parent);
		git_tree_free(tree);
		git_commit_free(c);
		prev = cid;
		have_prev = true;
	}
	assert_int_equal(git_reference_create(&r, repo, REF, &prev, 1, "tampered"), 0);
	git_reference_free(r);
}

/* The blob at path in the tip's tree, and a copy of its bytes. */
static void tip_blob(git_repository *repo, const char *path, git_oid *id, char **data, size_t *len)
{
	git_reference *r;
	git_commit *c;
	git_tree *t;
	git_tree_entry *te;
	git_blob *b;

	assert_int_equal(git_reference_lookup(&r, repo, REF), 0);
	assert_int_equal(git_commit_lookup(&c, repo, git_reference_target(r)), 0);
	assert_int_equal(git_commit_tree(&t, c), 0);
	assert_int_equal(git_tree_entry_bypath(&te, t, path), 0);
	*id = *git_tree_entry_id(te);
	assert_int_equal(git_blob_lookup(&b, repo, id), 0);
	*len = (size_t)git_blob_rawsize(b);
	*data = malloc(*len + 16); /* room for an edit that inserts bytes */
	assert_non_null(*data);
	memcpy(*data, git_blob_rawcontent(b), *len);
	(*data)[*len] = '\0';
	git_blob_free(b);
	git_tree_entry_free(te);
	git_tree_free(t);
	git_commit_free(c);
	git_reference_free(r);
}

#define BATCH2 "entries/000000/00/00/000000000020-000000000029"

/* The byte offset of line k (0-based) of text. */
static size_t line_at(const char *text, size_t k)
{
	size_t off = 0;

	while (k-- > 0) {
		const char *nl = strchr(text + off, '\n');
		assert_non_null(nl);
		off = (size_t)(nl - text) + 1;
	}
	return off;
}

static void commit_hex(git_repository *repo, size_t i, char out[41])
{
	git_oid ids[64];
	size_t n = list_commits(repo, ids);

	assert_true(i < n);
	git_oid_tostr(out, 41, &ids[i]);
}

/* A log of 50 entries in 5 commits; batch 2 (entries 20..29) gets
 * edit()ed in the git objects and the history is rewritten over it. */
static git_repository *tampered_log(struct fx *f, void (*edit)(char *batch, size_t *len))
{
	git_repository *repo;
	git_oid id, nid;
	char *data;
	size_t len;

	build_log(f, 50, 10);
	assert_int_equal(git_repository_open_bare(&repo, f->c.repo), 0);
	tip_blob(repo, BATCH2, &id, &data, &len);
	edit(data, &len);
	assert_int_equal(git_blob_create_from_buffer(&nid, repo, data, len), 0);
	free(data);
	rewrite_history(repo, &id, &nid, SIZE_MAX);
	return repo;
}

static void expect_fault(struct fx *f, int code, uint64_t index, git_repository *repo,
			 size_t commit_no, const char *words)
{
	struct faults fs;
	char hex[41];
	chain_log_stats st;
	int rc = verify(f, &fs, &st);

	if (rc != code)
		fail_msg("verify gave %d (%s), expected %d", rc, arca_error_last(), code);
	assert_int_equal(fs.n, 1);
	assert_int_equal(fs.f[0].code, code);
	if (fs.f[0].index != index)
		fail_msg("fault at index %" PRIu64 ", expected %" PRIu64 ": %s", fs.f[0].index, index,
			 fs.f[0].reason);
	commit_hex(repo, commit_no, hex);
	assert_string_equal(fs.f[0].commit, hex);
	if (strstr(fs.f[0].reason, words) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", fs.f[0].reason, words);
	/* the thread's message names the same thing */
	assert_non_null(strstr(arca_error_last(), words));
	/* the batches before the bad one were verified */
	assert_int_equal(st.batches, 2);
}

static void edit_outcome(char *batch, size_t *len)
{
	/* entry 25: a valid, canonical change of its outcome */
	char *p = strstr(batch + line_at(batch, 5), "\"outcome\":0");
	(void)len;
	assert_non_null(p);
	p[10] = '8';
}

static void test_tamper_entry_changed(void **state)
{
	struct fx *f = *state;
	git_repository *repo = tampered_log(f, edit_outcome);

	/* the signed root of batch 2 no longer matches: the batch is named */
	expect_fault(f, ARCA_ECRYPTO, 20, repo, 2, "do not match the signed checkpoint");
	{
		chain_log *log;
		chain_log_config c = { .repo_path = f->c.repo, .node = NODE, .key = f->c.key };
		assert_int_equal(chain_log_open(&log, &c), ARCA_ECRYPTO);
	}
	git_repository_free(repo);
}

static void edit_break_json(char *batch, size_t *len)
{
	/* entry 25 no longer canonical: a space after a colon */
	size_t off = line_at(batch, 5), at;
	char *p = strstr(batch + off, "\"outcome\":0");

	assert_non_null(p);
	at = (size_t)(p - batch) + 10;
	memmove(batch + at + 1, batch + at, *len - at + 1);
	batch[at] = ' ';
	(*len)++;
}

static void test_tamper_entry_not_canonical(void **state)
{
	struct fx *f = *state;
	git_repository *repo = tampered_log(f, edit_break_json);

	expect_fault(f, ARCA_EPROTO, 25, repo, 2, "canonical");
	git_repository_free(repo);
}

static void edit_remove(char *batch, size_t *len)
{
	size_t a = line_at(batch, 5), b = line_at(batch, 6);

	memmove(batch + a, batch + b, *len - b + 1);
	*len -= b - a;
}

static void test_tamper_entry_removed(void **state)
{
	struct fx *f = *state;
	git_repository *repo = tampered_log(f, edit_remove);

	expect_fault(f, ARCA_EPROTO, 25, repo, 2, "carries index 26");
	git_repository_free(repo);
}

static void edit_swap(char *batch, size_t *len)
{
	size_t a = line_at(batch, 3), b = line_at(batch, 4), c = line_at(batch, 5);
	char *tmp = malloc(*len);

	assert_non_null(tmp);
	/* lines 3 and 4 change places */
	memcpy(tmp, batch + b, c - b);
	memcpy(tmp + (c - b), batch + a, b - a);
	memcpy(batch + a, tmp, c - a);
	free(tmp);
}

static void test_tamper_entries_swapped(void **state)
{
	struct fx *f = *state;
	git_repository *repo = tampered_log(f, edit_swap);

	expect_fault(f, ARCA_EPROTO, 23, repo, 2, "carries index 24");
	git_repository_free(repo);
}

static void edit_remove_last(char *batch, size_t *len)
{
	/* the last entry of the batch: every other line keeps its index */
	size_t a = line_at(batch, 9);
	batch[a] = '\0';
	*len = a;
}

static void test_tamper_last_entry_removed(void **state)
{
	struct fx *f = *state;
	git_repository *repo = tampered_log(f, edit_remove_last);

	expect_fault(f, ARCA_EPROTO, 29, repo, 2, "entries removed");
	git_repository_free(repo);
}

/* History rewritten: batch 2's commit dropped and its file removed from
 * every later tree, the ref forced to the new tip, while the writer is
 * open.  The writer sees its ref moved; the history check sees the gap. */
static void test_tamper_history_rewritten(void **state)
{
	struct fx *f = *state;
	git_repository *repo;
	git_oid id;
	char *data, hex[41];
	size_t len;
	chain_log *log;
	struct faults fs;

	open_log(f, &log, 10, false);
	append_batches(log, 0, 50, 10);
	assert_int_equal(chain_log_verify(log, collect, &fs), 0);

	assert_int_equal(git_repository_open_bare(&repo, f->c.repo), 0);
	tip_blob(repo, BATCH2, &id, &data, &len);
	free(data);
	rewrite_history(repo, &id, NULL, 2);

	memset(&fs, 0, sizeof(fs));
	assert_int_equal(chain_log_verify(log, collect, &fs), ARCA_ECRYPTO);
	assert_int_equal(fs.n, 2);
	assert_int_equal(fs.f[0].code, ARCA_ECRYPTO);
	assert_non_null(strstr(fs.f[0].reason, "was moved"));
	assert_non_null(strstr(arca_error_last(), "was moved"));
	/* the new history: commit 2 (now holding entries 30..39) is the gap */
	assert_int_equal(fs.f[1].code, ARCA_EPROTO);
	assert_int_equal(fs.f[1].index, 20);
	commit_hex(repo, 2, hex);
	assert_string_equal(fs.f[1].commit, hex);
	assert_non_null(strstr(fs.f[1].reason, "does not start at entry 20"));
	assert_int_equal(chain_log_close(log), 0);

	expect_fault(f, ARCA_EPROTO, 20, repo, 2, "does not start at entry 20");
	git_repository_free(repo);
}

/* A history rewritten with the same entries and checkpoints but other
 * git metadata is the same log as far as SHA-256 and Ed25519 go: the
 * history check passes, and only the writer knows its ref moved. */
static void test_rewrite_same_content(void **state)
{
	struct fx *f = *state;
	git_repository *repo;
	chain_log *log;
	struct faults fs;
	chain_log_stats st;

	open_log(f, &log, 10, false);
	append_batches(log, 0, 30, 10);
	assert_int_equal(git_repository_open_bare(&repo, f->c.repo), 0);
	/* every commit made again with the same tree and message but
	 * another author and time */
	{
		git_oid ids[64], prev;
		size_t n = list_commits(repo, ids), i;
		git_reference *r;

		for (i = 0; i < n; i++) {
			git_commit *c, *parent = NULL;
			git_tree *tree;
			git_signature *sig;

			assert_int_equal(git_commit_lookup(&c, repo, &ids[i]), 0);
			assert_int_equal(git_commit_tree(&tree, c), 0);
			assert_int_equal(git_signature_new(&sig, "mallory", "m@example", 1, 0), 0);
			if (i > 0)
				assert_int_equal(git_commit_lookup(&parent, repo, &prev), 0);
			assert_int_equal(git_commit_create(&prev, repo, NULL, sig, sig, NULL, git_commit_message(c),
							   tree, i > 0 ? 1 : 0, (const git_commit **)&parent), 0);
			git_signature_free(sig);
			git_commit_free(parent);
			git_tree_free(tree);
			git_commit_free(c);
		}
		assert_int_equal(git_reference_create(&r, repo, REF, &prev, 1, "rewritten"), 0);
		git_reference_free(r);
	}
	assert_int_equal(verify(f, &fs, &st), 0);
	assert_int_equal(st.entries, 30);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(chain_log_verify(log, collect, &fs), ARCA_ECRYPTO);
	assert_int_equal(fs.n, 1);
	assert_non_null(strstr(fs.f[0].reason, "was moved"));
	assert_int_equal(chain_log_close(log), 0);
	git_repository_free(repo);
}

static void test_tamper_checkpoint_resigned(void **state)
{
	struct fx *f = *state;
	git_repository *repo;
	git_oid id, nid;
	chain_checkpoint *cp, *forged;
	char *data, *note;
	size_t len, note_len;
	int64_t t;

	build_log(f, 50, 10);
	assert_int_equal(git_repository_open_bare(&repo, f->c.repo), 0);
	tip_blob(repo, "checkpoint", &id, &data, &len);
	assert_int_equal(chain_checkpoint_parse(&cp, data, len), 0);
	assert_int_equal(chain_checkpoint_time(cp, &t), 0);
	/* the same tree head, signed under the node's name by another key */
	assert_int_equal(chain_checkpoint_new(&forged, NODE, chain_checkpoint_size(cp),
					      chain_checkpoint_root(cp), t), 0);
	assert_int_equal(chain_checkpoint_sign(forged, f->c.other_key, NODE), 0);
	assert_int_equal(chain_checkpoint_encode(forged, &note, &note_len), 0);
	assert_int_equal(git_blob_create_from_buffer(&nid, repo, note, note_len), 0);
	rewrite_history(repo, &id, &nid, SIZE_MAX);

	{
		struct faults fs;
		char hex[41];
		chain_log_stats st;

		assert_int_equal(verify(f, &fs, &st), ARCA_ECRYPTO);
		assert_int_equal(fs.n, 1);
		commit_hex(repo, 4, hex);
		assert_string_equal(fs.f[0].commit, hex);
		assert_int_equal(fs.f[0].index, CHAIN_LOG_NO_INDEX);
		assert_non_null(strstr(fs.f[0].reason, "not signed by the node key"));
		assert_int_equal(st.batches, 4);
	}
	{
		chain_log *log;
		chain_log_config c = { .repo_path = f->c.repo, .node = NODE, .key = f->c.key };
		assert_int_equal(chain_log_open(&log, &c), ARCA_ECRYPTO);
		assert_non_null(strstr(arca_error_last(), "not signed by the node key"));
	}
	free(note);
	free(data);
	chain_checkpoint_free(forged);
	chain_checkpoint_free(cp);
	git_repository_free(repo);
}

/* A new commit on top that changes an old batch file (the tip's tree no
 * longer agrees with history) is caught by the tree comparison. */
static void test_tamper_old_batch_in_new_commit(void **state)
{
	struct fx *f = *state;
	git_repository *repo;
	git_oid id, nid, tid, cid;
	git_reference *r;
	git_commit *tip;
	git_tree *tree;
	git_signature *sig;
	char *data;
	size_t len;

	build_log(f, 50, 10);
	assert_int_equal(git_repository_open_bare(&repo, f->c.repo), 0);
	tip_blob(repo, BATCH2, &id, &data, &len);
	edit_outcome(data, &len);
	assert_int_equal(git_blob_create_from_buffer(&nid, repo, data, len), 0);
	free(data);
	assert_int_equal(git_reference_lookup(&r, repo, REF), 0);
	assert_int_equal(git_commit_lookup(&tip, repo, git_reference_target(r)), 0);
	git_reference_free(r);
	replace_blob(repo, git_commit_tree_id(tip), &id, &nid, &tid);
	assert_int_equal(git_tree_lookup(&tree, repo, &tid), 0);
	assert_int_equal(git_signature_new(&sig, NODE, "arca-log", 2, 0), 0);
	assert_int_equal(git_commit_create(&cid, repo, NULL, sig, sig, NULL, "entries 50-59\n", tree, 1,
					   (const git_commit **)&tip), 0);
	assert_int_equal(git_reference_create(&r, repo, REF, &cid, 1, "tampered"), 0);
	git_reference_free(r);

	{
		struct faults fs;
		char hex[41];

		assert_int_equal(verify(f, &fs, NULL), ARCA_EPROTO);
		assert_int_equal(fs.n, 1);
		assert_int_equal(fs.f[0].index, 50);
		commit_hex(repo, 5, hex);
		assert_string_equal(fs.f[0].commit, hex);
		assert_non_null(strstr(fs.f[0].reason, "changes the earlier batch file 000000000020-000000000029"));
	}
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(tip);
	git_repository_free(repo);
}

/* ---- privacy: no patient identifier anywhere in the repository ---- */

struct patient {
	char name[128];
	char id[80];
	char issuer[80];
	char birth[16];
	char study[72];
};

/* Synthetic patients, including a non-ASCII name. */
static const struct patient synthetic[] = {
	{ "DOE^JANE", "PID-12345", "HOSP-A", "19700101", "1.2.826.0.1.3680043.10.543.100" },
	{ "M\xc3\x9cLLER^HANS^^DR", "MRN-0042-X", "", "19851231", "1.2.826.0.1.3680043.10.543.101" },
	{ "O'BRIEN^SEAN", "AB778899CD", "ISSUER-B", "20010911", "1.2.826.0.1.3680043.10.543.102" },
};

static bool valid_uid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.') || (s[i] == '.' && s[i + 1] == '.') ||
		    (s[i] == '0' && (i == 0 || s[i - 1] == '.') && s[i + 1] >= '0' && s[i + 1] <= '9'))
			return false;
	return true;
}

struct sample_walk {
	struct patient *p;
	size_t n, cap;
};

/* nftw has no argument for its callback: the walk's state. */
static struct sample_walk *sample_state;

static int sample_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct sample_walk *w = sample_state;
	pacs_read_opts o;
	pacs_ds *ds = NULL;
	struct patient p;
	char *name = NULL;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode) || st->st_size > 4 * 1024 * 1024)
		return 0;
	if (w->n == w->cap)
		return 1;
	pacs_read_opts_init(&o);
	o.stop_at_pixel_data = 1;
	if (pacs_read_file(&ds, path, &o) != 0)
		return 0;
	memset(&p, 0, sizeof(p));
	if (pacs_ds_get_string(ds, PACS_TAG_PatientID, 0, p.id, sizeof(p.id)) == 0 &&
	    pacs_ds_get_string(ds, PACS_TAG_StudyInstanceUID, 0, p.study, sizeof(p.study)) == 0 &&
	    pacs_ds_get_utf8(ds, PACS_TAG_PatientName, &name) == 0 && strlen(p.id) > 0 &&
	    valid_uid(p.study) && strlen(name) < sizeof(p.name)) {
		strcpy(p.name, name);
		(void)pacs_ds_get_string(ds, PACS_TAG_IssuerOfPatientID, 0, p.issuer, sizeof(p.issuer));
		(void)pacs_ds_get_string(ds, PACS_TAG_PatientBirthDate, 0, p.birth, sizeof(p.birth));
		w->p[w->n++] = p;
	}
	free(name);
	pacs_ds_free(ds);
	return 0;
}

struct needles {
	const char *s[256];
	size_t n;
};

/* A value worth scanning for: long enough, not one character repeated
 * (zeros fill the log's file names), and not a string of hex digits so
 * short that it could turn up by chance inside the log's hashes (a 6-digit
 * ID would, somewhere in a few hundred kilobytes of hex; an 8-digit birth
 * date has odds of about 1 in 4000 per megabyte). */
static void add_needle(struct needles *nd, const char *s)
{
	size_t i, n = strlen(s);
	bool all_hex = true, one_char = true;

	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			all_hex = false;
		if (s[i] != s[0])
			one_char = false;
	}
	if (n < 4 || one_char || (all_hex && n < 8) || nd->n == 256)
		return;
	nd->s[nd->n++] = s;
}

static bool contains(const uint8_t *data, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (strncasecmp((const char *)data + i, needle, n) == 0)
			return true;
	return false;
}

struct scan {
	git_odb *odb;
	const struct needles *nd;
	const char *control;     /* must be found: proves the scan sees the entries */
	size_t objects, hits, control_hits;
	char first_hit[200];
};

static int scan_object(const git_oid *id, void *payload)
{
	struct scan *sc = payload;
	git_odb_object *obj;
	const uint8_t *data;
	size_t len, i;

	if (git_odb_read(&obj, sc->odb, id) != 0)
		return -1;
	data = git_odb_object_data(obj);
	len = git_odb_object_size(obj);
	sc->objects++;
	for (i = 0; i < sc->nd->n; i++)
		if (contains(data, len, sc->nd->s[i])) {
			if (sc->hits++ == 0)
				snprintf(sc->first_hit, sizeof(sc->first_hit), "\"%s\"", sc->nd->s[i]);
		}
	if (contains(data, len, sc->control))
		sc->control_hits++;
	git_odb_object_free(obj);
	return 0;
}

/* Raw files too (refs, config, the lock, packs as stored). */
static struct scan *raw_scan;
static int scan_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	FILE *fp;
	uint8_t *buf;
	size_t i;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	buf = malloc((size_t)st->st_size + 1);
	fp = fopen(path, "rb");
	if (buf == NULL || fp == NULL || fread(buf, 1, (size_t)st->st_size, fp) != (size_t)st->st_size) {
		free(buf);
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	for (i = 0; i < raw_scan->nd->n; i++)
		if (contains(buf, (size_t)st->st_size, raw_scan->nd->s[i]) && raw_scan->hits++ == 0)
			snprintf(raw_scan->first_hit, sizeof(raw_scan->first_hit), "\"%s\" in %s",
				 raw_scan->nd->s[i], path);
	free(buf);
	return 0;
}

static void test_no_patient_data_in_repository(void **state)
{
	struct fx *f = *state;
	struct patient pts[24];
	struct sample_walk w = { pts, 0, 24 };
	struct needles nd = { .n = 0 };
	chain_pseudonym_key *pk;
	chain_log *log;
	git_repository *repo;
	git_odb *odb;
	struct scan sc;
	const char *samples = getenv("ARCA_SAMPLES");
	size_t i, k;

	for (i = 0; i < sizeof(synthetic) / sizeof(synthetic[0]); i++)
		pts[w.n++] = synthetic[i];
	if (samples != NULL && access(samples, R_OK) == 0) {
		sample_state = &w;
		nftw(samples, sample_one, 16, FTW_PHYS);
		print_message("privacy scan: %zu patients from %s\n", w.n - 3, samples);
	} else {
		print_message("privacy scan: $ARCA_SAMPLES absent, synthetic patients only\n");
	}

	/* what an ingest records: store, then two retrieves, per patient,
	 * a batch each */
	assert_int_equal(chain_pseudonym_key_generate(&pk), 0);
	open_log(f, &log, 7, false);
	for (i = 0; i < w.n; i++) {
		chain_entry e;
		for (k = 0; k < 3; k++) {
			memset(&e, 0, sizeof(e));
			e.time_ms = T0;
			e.event = k == 0 ? CHAIN_EVENT_INSTANCES_TRANSFERRED : CHAIN_EVENT_INSTANCES_ACCESSED;
			e.action = k == 0 ? CHAIN_ACTION_CREATE : CHAIN_ACTION_READ;
			e.actor_ae = "STORESCU";
			e.study_uid = pts[i].study;
			e.instances = 1;
			e.has_patient = true;
			assert_int_equal(chain_pseudonym(pk, pts[i].issuer, pts[i].id, e.patient), 0);
			assert_int_equal(chain_log_append(log, &e, NULL, NULL, NULL), 0);
		}
		assert_int_equal(chain_log_flush(log), 0);
		add_needle(&nd, pts[i].name);
		add_needle(&nd, pts[i].id);
		add_needle(&nd, pts[i].birth);
		/* the family name alone, and the name as a person would write it */
		{
			static char parts[24][2][128];
			char *caret;
			snprintf(parts[i][0], sizeof(parts[i][0]), "%s", pts[i].name);
			caret = strchr(parts[i][0], '^');
			if (caret != NULL)
				*caret = '\0';
			add_needle(&nd, parts[i][0]);
			if (strlen(pts[i].birth) == 8) {
				snprintf(parts[i][1], sizeof(parts[i][1]), "%.4s-%.2s-%.2s", pts[i].birth,
					 pts[i].birth + 4, pts[i].birth + 6);
				add_needle(&nd, parts[i][1]);
			}
		}
	}
	assert_int_equal(chain_log_close(log), 0);
	chain_pseudonym_key_free(pk);
	assert_true(nd.n >= 12);

	assert_int_equal(git_repository_open_bare(&repo, f->c.repo), 0);
	assert_int_equal(git_repository_odb(&odb, repo), 0);
	memset(&sc, 0, sizeof(sc));
	sc.odb = odb;
	sc.nd = &nd;
	sc.control = synthetic[0].study;
	assert_int_equal(git_odb_foreach(odb, scan_object, &sc), 0);
	print_message("privacy scan: %zu objects, %zu values sought\n", sc.objects, nd.n);
	assert_true(sc.objects > 10);
	assert_true(sc.control_hits > 0);
	if (sc.hits != 0)
		fail_msg("patient data in the log's git objects: %s", sc.first_hit);
	raw_scan = &sc;
	assert_int_equal(nftw(f->c.repo, scan_file, 16, FTW_PHYS), 0);
	if (sc.hits != 0)
		fail_msg("patient data in the log's files: %s", sc.first_hit);
	git_odb_free(odb);
	git_repository_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_reopen_same_root, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_packs_merged, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_empty_log, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_view, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_key_change, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_key_change_old_key_signs_after, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_key_change_not_chained, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_append_refuses, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_writer_lock, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_durable_after_sync, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ref_moved_under_writer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_entry_changed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_entry_not_canonical, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_entry_removed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_entries_swapped, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_last_entry_removed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_history_rewritten, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_same_content, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_checkpoint_resigned, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_old_batch_in_new_commit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_patient_data_in_repository, fx_setup, fx_teardown),
	};
	int rc;

	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
