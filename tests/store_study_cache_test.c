/* store_study_cache_test.c - the study hash kept between batches equals the
 * study hash read from the index (store_study_hash) after every batch:
 * instances arriving in and out of UID order, duplicates, kept and
 * replaced versions, a second writer on the same index, several studies
 * in turn, and a study beyond one instance per batch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_tags.h"
#include "store_index.h"
#include "store_study.h"
#include "store_study_cache.h"

typedef struct fx {
	char dir[64];
	char path[96];
	store_index *idx;
	store_study_cache *cache;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	store_index_options o;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/arca-studycache-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/index.db", f->dir);
	store_index_options_init(&o);
	o.on_new_version = STORE_INDEX_REPLACE;
	assert_int_equal(store_index_open(&f->idx, f->path, &o), 0);
	assert_int_equal(store_study_cache_new(&f->cache), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	char cmd[128];

	store_study_cache_free(f->cache);
	store_index_free(f->idx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void hash_of(uint8_t h[32], unsigned seed, unsigned version)
{
	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(seed * 31u + version * 7u + (unsigned)i);
}

/* One record of study s, instance number k (UIDs "1.2.826.<s>.<k>": byte
 * order differs from number order), version v of its content. */
static store_index_instance *record(unsigned s, unsigned k, unsigned v)
{
	store_index_instance *inst = NULL;
	char study[64], series[64], sop[64];
	store_index_storage *st;

	snprintf(study, sizeof(study), "1.2.826.%u", s);
	snprintf(series, sizeof(series), "1.2.826.%u.1", s);
	snprintf(sop, sizeof(sop), "1.2.826.%u.1.%u", s, k);
	assert_int_equal(store_index_instance_new(&inst), 0);
	assert_int_equal(store_index_instance_set(inst, PACS_TAG_StudyInstanceUID, study), 0);
	assert_int_equal(store_index_instance_set(inst, PACS_TAG_SeriesInstanceUID, series), 0);
	assert_int_equal(store_index_instance_set(inst, PACS_TAG_SOPInstanceUID, sop), 0);
	assert_int_equal(store_index_instance_set(inst, PACS_TAG_SOPClassUID, "1.2.840.10008.5.1.4.1.1.2"), 0);
	assert_int_equal(store_index_instance_set(inst, PACS_TAG_PatientID, "P1"), 0);
	assert_int_equal(store_index_instance_set(inst, PACS_TAG_Modality, "CT"), 0);
	st = store_index_instance_storage(inst);
	snprintf(st->transfer_syntax, sizeof(st->transfer_syntax), "1.2.840.10008.1.2.1");
	st->size = 1000;
	hash_of(st->instance_hash, s * 100000u + k, v);
	hash_of(st->manifest, s * 100000u + k, v + 1000);
	snprintf(st->calling_ae, sizeof(st->calling_ae), "CT1");
	return inst;
}

/* Puts instances ks[0..n) of study s (version v) through idx, then
 * checks the cached hash against the index's for study s. */
static void batch(fx *f, store_index *writer, unsigned s, const unsigned *ks, size_t n, unsigned v,
		  bool tell_cache)
{
	store_index_instance *recs[64];
	store_index_put_result res[64];
	store_study_change ch[64];
	uint8_t cached[32], truth[32];
	uint32_t c1 = 0, c2 = 0;
	char study[64];

	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++)
		recs[i] = record(s, ks[i], v);
	assert_int_equal(store_index_put(writer, (const store_index_instance *const *)recs, n, res), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(res[i].err, 0);
		ch[i].sop_uid = store_index_instance_get(recs[i], PACS_TAG_SOPInstanceUID);
		ch[i].instance_hash = store_index_instance_storage(recs[i])->instance_hash;
		ch[i].outcome = res[i].outcome;
	}
	snprintf(study, sizeof(study), "1.2.826.%u", s);
	if (tell_cache)
		assert_int_equal(store_study_cache_hash(f->cache, f->idx, study, ch, n, cached, &c1), 0);
	assert_int_equal(store_study_hash(f->idx, study, truth, &c2), 0);
	if (tell_cache) {
		assert_int_equal(c1, c2);
		assert_memory_equal(cached, truth, 32);
	}
	for (size_t i = 0; i < n; i++)
		store_index_instance_free(recs[i]);
}

/* A study sent one instance per batch, numbers in a shuffled order, then
 * in batches of 7: every intermediate hash is the index's. */
static void test_shuffled_single_and_batches(void **state)
{
	fx *f = *state;
	unsigned ks[7];

	for (unsigned k = 0; k < 300; k++) {
		unsigned num = (k * 37u) % 300u + 1u;
		batch(f, f->idx, 1, &num, 1, 1, true);
	}
	for (unsigned b = 0; b < 20; b++) {
		for (unsigned i = 0; i < 7; i++)
			ks[i] = 1000u + (b * 7u + i) * 13u % 140u;
		batch(f, f->idx, 1, ks, 7, 1, true);
	}
	/* read whole once, then followed batch by batch */
	assert_int_equal(store_study_cache_reloads(f->cache), 1);
}

/* Resent identical instances (duplicates), then a changed one (REPLACE
 * policy: a replaced version), then more new ones. */
static void test_duplicates_and_versions(void **state)
{
	fx *f = *state;
	unsigned ks[3] = { 5, 50, 500 };

	for (unsigned k = 1; k <= 40; k++)
		batch(f, f->idx, 2, &k, 1, 1, true);
	batch(f, f->idx, 2, ks, 2, 1, true); /* 5 and 50 again: duplicates */
	batch(f, f->idx, 2, ks, 1, 2, true); /* 5 changed: replaced */
	batch(f, f->idx, 2, ks + 1, 2, 1, true);
	/* the replaced version made it read the study again */
	assert_int_equal(store_study_cache_reloads(f->cache), 2);
}

/* Another writer (another connection, as arca import in another process)
 * adds to the study between two batches: the cache must notice. */
static void test_other_writer(void **state)
{
	fx *f = *state;
	store_index *other = NULL;
	unsigned k;

	assert_int_equal(store_index_open(&other, f->path, NULL), 0);
	for (k = 1; k <= 20; k++)
		batch(f, f->idx, 3, &k, 1, 1, true);
	for (k = 21; k <= 25; k++)
		batch(f, other, 3, &k, 1, 1, false); /* not told to the cache */
	for (k = 26; k <= 40; k++)
		batch(f, f->idx, 3, &k, 1, 1, true);
	assert_int_equal(store_study_cache_reloads(f->cache), 2);
	store_index_free(other);
}

/* Two studies interleaved, and a change the cache was not told of
 * followed by a batch of another study. */
static void test_interleaved_studies(void **state)
{
	fx *f = *state;

	for (unsigned k = 1; k <= 30; k++) {
		batch(f, f->idx, 4, &k, 1, 1, true);
		batch(f, f->idx, 5, &k, 1, 1, true);
	}
	/* the empty study */
	{
		uint8_t cached[32], truth[32];
		uint32_t c1 = 9, c2 = 9;
		assert_int_equal(store_study_cache_hash(f->cache, f->idx, "1.2.3.999", NULL, 0, cached, &c1), 0);
		assert_int_equal(store_study_hash(f->idx, "1.2.3.999", truth, &c2), 0);
		assert_int_equal(c1, 0);
		assert_int_equal(c2, 0);
		assert_memory_equal(cached, truth, 32);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shuffled_single_and_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_and_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved_studies, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
