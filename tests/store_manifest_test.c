/* store_manifest_test.c - instance manifests (store_manifest.h): round
 * trips, the decoder's bounds on every truncation and forged count, the
 * consistency checks, and the study hash (store_instance.h) against
 * chain/'s RFC 9162 Merkle tree. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "chain_merkle.h"
#include "pacs_ds.h"
#include "store_instance.h"
#include "store_study_tree.h"
#include "store_manifest.h"

static void fill_hash(uint8_t h[STORE_CAS_HASH_LEN], uint8_t seed)
{
	for (int i = 0; i < STORE_CAS_HASH_LEN; i++)
		h[i] = (uint8_t)(seed * 31 + i);
}

/* A manifest with a native value of two chunks, an encapsulated value
 * (empty offset table, an inline fragment, a fragment of two chunks) and a
 * nested bulk element two sequences down. */
static store_manifest *sample(void)
{
	static const uint8_t meta[] = "not really a Part 10 stream, but bytes";
	static const uint8_t small[] = { 1, 2, 3, 4, 5, 6 };
	store_manifest *m;
	store_manifest_bulk *b;
	store_manifest_fragment *f;
	uint8_t h[STORE_CAS_HASH_LEN];

	assert_int_equal(store_manifest_new(&m), 0);
	fill_hash(m->instance_hash, 9);
	m->instance_length = 123456789012ull;
	strcpy(m->transfer_syntax, "1.2.840.10008.1.2.4.90");
	strcpy(m->sop_class, "1.2.840.10008.5.1.4.1.1.2");
	strcpy(m->sop_instance, "2.25.1234567890");
	assert_int_equal(store_manifest_set_metadata(m, meta, sizeof(meta)), 0);

	assert_int_equal(store_manifest_add_bulk(m, &b), 0);
	b->tag = PACS_TAG(0x0042, 0x0011);
	b->vr = PACS_VR_OB;
	b->length = 100000;
	assert_int_equal(store_manifest_add_fragment(b, &f), 0);
	fill_hash(h, 1);
	assert_int_equal(store_manifest_add_chunk(f, h, 60000), 0);
	fill_hash(h, 2);
	assert_int_equal(store_manifest_add_chunk(f, h, 40000), 0);

	assert_int_equal(store_manifest_add_bulk(m, &b), 0);
	b->tag = PACS_TAG_PIXEL_DATA;
	b->vr = PACS_VR_OB;
	b->encapsulated = true;
	b->length = PACS_UNDEFINED_LENGTH;
	assert_int_equal(store_manifest_add_fragment(b, &f), 0); /* empty offset table */
	assert_int_equal(store_manifest_add_fragment(b, &f), 0);
	assert_int_equal(store_manifest_add_inline(f, small, sizeof(small)), 0);
	assert_int_equal(store_manifest_add_fragment(b, &f), 0);
	fill_hash(h, 3);
	assert_int_equal(store_manifest_add_chunk(f, h, 5000), 0);
	fill_hash(h, 1); /* a chunk used twice */
	assert_int_equal(store_manifest_add_chunk(f, h, 60000), 0);

	assert_int_equal(store_manifest_add_bulk(m, &b), 0);
	b->depth = 2;
	b->path[0].tag = PACS_TAG(0x0088, 0x0200);
	b->path[0].item = 0;
	b->path[1].tag = PACS_TAG(0x0009, 0x1010);
	b->path[1].item = 3;
	b->tag = PACS_TAG(0x0009, 0x1011);
	b->vr = PACS_VR_UN;
	b->length = 70000;
	assert_int_equal(store_manifest_add_fragment(b, &f), 0);
	fill_hash(h, 4);
	assert_int_equal(store_manifest_add_chunk(f, h, 70000), 0);
	return m;
}

static void assert_same(const store_manifest *a, const store_manifest *b)
{
	assert_memory_equal(a->instance_hash, b->instance_hash, STORE_CAS_HASH_LEN);
	assert_true(a->instance_length == b->instance_length);
	assert_string_equal(a->transfer_syntax, b->transfer_syntax);
	assert_string_equal(a->sop_class, b->sop_class);
	assert_string_equal(a->sop_instance, b->sop_instance);
	assert_int_equal(a->metadata_len, b->metadata_len);
	assert_memory_equal(a->metadata, b->metadata, a->metadata_len);
	assert_int_equal(a->n_bulk, b->n_bulk);
	for (size_t i = 0; i < a->n_bulk; i++) {
		const store_manifest_bulk *x = &a->bulk[i], *y = &b->bulk[i];
		assert_int_equal(x->depth, y->depth);
		assert_memory_equal(x->path, y->path, x->depth * sizeof(x->path[0]));
		assert_int_equal(x->tag, y->tag);
		assert_int_equal(x->vr, y->vr);
		assert_int_equal(x->encapsulated, y->encapsulated);
		assert_int_equal(x->length, y->length);
		assert_int_equal(x->n_frags, y->n_frags);
		for (size_t j = 0; j < x->n_frags; j++) {
			assert_int_equal(x->frags[j].length, y->frags[j].length);
			assert_int_equal(x->frags[j].n_pieces, y->frags[j].n_pieces);
			for (size_t k = 0; k < x->frags[j].n_pieces; k++) {
				const store_manifest_piece *p = &x->frags[j].pieces[k], *q = &y->frags[j].pieces[k];
				assert_int_equal(p->len, q->len);
				assert_int_equal(p->is_inline, q->is_inline);
				if (p->is_inline)
					assert_memory_equal(p->data, q->data, p->len);
				else
					assert_memory_equal(p->hash, q->hash, STORE_CAS_HASH_LEN);
			}
		}
	}
}

static void test_round_trip(void **state)
{
	store_manifest *m = sample(), *d = NULL;
	uint8_t *bytes = NULL, *again = NULL;
	size_t len = 0, len2 = 0;

	(void)state;
	assert_int_equal(store_manifest_encode(m, &bytes, &len), 0);
	assert_memory_equal(bytes, "ARMF\x01\x00\x00\x00", 8);
	assert_int_equal(store_manifest_decode(&d, bytes, len), 0);
	assert_same(m, d);
	assert_true(store_manifest_bulk_bytes(&d->bulk[0]) == 100000);
	assert_true(store_manifest_bulk_bytes(&d->bulk[1]) == 6 + 5000 + 60000);
	/* one structure, one encoding */
	assert_int_equal(store_manifest_encode(d, &again, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(bytes, again, len);
	free(bytes);
	free(again);
	store_manifest_free(d);
	store_manifest_free(m);
}

static void test_chunks_listed_once(void **state)
{
	store_manifest *m = sample();
	uint8_t (*v)[STORE_CAS_HASH_LEN] = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(store_manifest_chunks(m, &v, &n), 0);
	assert_int_equal(n, 4); /* 5 chunk pieces, one address twice, inline not counted */
	for (size_t i = 1; i < n; i++)
		assert_true(memcmp(v[i - 1], v[i], STORE_CAS_HASH_LEN) < 0);
	free(v);
	store_manifest_free(m);
}

/* Every prefix of a valid manifest, and the manifest with a byte added,
 * is refused cleanly (under ASan: nothing read out of bounds). */
static void test_truncations(void **state)
{
	store_manifest *m = sample(), *d = NULL;
	uint8_t *bytes = NULL, *longer;
	size_t len = 0;

	(void)state;
	assert_int_equal(store_manifest_encode(m, &bytes, &len), 0);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut + 1);
		memcpy(copy, bytes, cut);
		assert_int_equal(store_manifest_decode(&d, copy, cut), ARCA_EPROTO);
		assert_null(d);
		free(copy);
	}
	longer = malloc(len + 1);
	memcpy(longer, bytes, len);
	longer[len] = 0;
	assert_int_equal(store_manifest_decode(&d, longer, len + 1), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "trailing"));
	free(longer);
	free(bytes);
	store_manifest_free(m);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A minimal manifest by hand: header, empty UIDs but the transfer syntax,
 * no metadata, then whatever follows. */
static size_t minimal(uint8_t *buf, uint8_t version)
{
	size_t n = 0;

	memcpy(buf, "ARMF", 4);
	buf[4] = version;
	buf[5] = buf[6] = buf[7] = 0;
	n = 8;
	memset(buf + n, 0xAB, 32);
	n += 32;
	memset(buf + n, 0, 8);
	n += 8;
	buf[n++] = 3;
	memcpy(buf + n, "1.2", 3);
	n += 3;
	buf[n++] = 0; /* SOP class */
	buf[n++] = 0; /* SOP instance */
	put_u32(buf + n, 0); /* metadata */
	n += 4;
	return n;
}

static void test_forged_fields(void **state)
{
	uint8_t buf[512];
	store_manifest *d = NULL;
	size_t n;

	(void)state;
	/* no bulk element: valid */
	n = minimal(buf, 1);
	put_u32(buf + n, 0);
	assert_int_equal(store_manifest_decode(&d, buf, n + 4), 0);
	assert_int_equal(d->n_bulk, 0);
	store_manifest_free(d);
	/* a newer format */
	minimal(buf, 2);
	assert_int_equal(store_manifest_decode(&d, buf, n + 4), ARCA_EUNSUPPORTED);
	/* a bulk count far beyond the bytes: refused before allocating */
	minimal(buf, 1);
	put_u32(buf + n, 60000);
	assert_int_equal(store_manifest_decode(&d, buf, n + 4), ARCA_EPROTO);
	put_u32(buf + n, 0xFFFFFFFFu);
	assert_int_equal(store_manifest_decode(&d, buf, n + 4), ARCA_EPROTO);
	/* a metadata length beyond the bytes */
	put_u32(buf + n - 4, 0x7FFFFFFFu);
	assert_int_equal(store_manifest_decode(&d, buf, n + 4), ARCA_EPROTO);
	put_u32(buf + n - 4, 0);
	/* one native element whose fragment count is forged */
	{
		size_t k = n;
		put_u32(buf + k, 1);
		k += 4;
		buf[k++] = 0;                                /* depth */
		put_u32(buf + k, PACS_TAG_PIXEL_DATA);
		k += 4;
		buf[k++] = 'O';
		buf[k++] = 'W';
		buf[k++] = 0;                                /* flags */
		put_u32(buf + k, 4);                         /* length */
		k += 4;
		put_u32(buf + k, 1000000);                   /* fragments */
		assert_int_equal(store_manifest_decode(&d, buf, k + 4), ARCA_EPROTO);
		/* one fragment of 4 bytes, inline: valid */
		put_u32(buf + k, 1);
		k += 4;
		put_u32(buf + k, 4);
		put_u32(buf + k + 4, 1);
		buf[k + 8] = 1;
		put_u32(buf + k + 9, 4);
		memcpy(buf + k + 13, "abcd", 4);
		assert_int_equal(store_manifest_decode(&d, buf, k + 17), 0);
		assert_int_equal(d->bulk[0].vr, PACS_VR_OW);
		assert_memory_equal(d->bulk[0].frags[0].pieces[0].data, "abcd", 4);
		store_manifest_free(d);
		/* the fragment says 5 bytes, its piece holds 4 */
		put_u32(buf + k, 5);
		assert_int_equal(store_manifest_decode(&d, buf, k + 17), ARCA_EPROTO);
		put_u32(buf + k, 4);
		/* an unknown piece kind */
		buf[k + 8] = 7;
		assert_int_equal(store_manifest_decode(&d, buf, k + 17), ARCA_EPROTO);
		buf[k + 8] = 1;
		/* not a VR */
		buf[n + 4 + 1 + 4] = 'Q';
		assert_int_equal(store_manifest_decode(&d, buf, k + 17), ARCA_EPROTO);
	}
	/* not a manifest */
	assert_int_equal(store_manifest_decode(&d, (const uint8_t *)"ARCH", 4), ARCA_EPROTO);
	assert_null(d);
}

static void test_encode_checks(void **state)
{
	store_manifest *m = sample();
	uint8_t *bytes = NULL, h[STORE_CAS_HASH_LEN] = { 0 };
	size_t len = 0;
	store_manifest_fragment *f;

	(void)state;
	/* a native value with a second fragment */
	assert_int_equal(store_manifest_add_fragment(&m->bulk[0], &f), 0);
	assert_int_equal(store_manifest_encode(m, &bytes, &len), ARCA_EINVAL);
	m->bulk[0].n_frags = 1;
	/* a native length that is not its bytes */
	m->bulk[0].length = 99999;
	assert_int_equal(store_manifest_encode(m, &bytes, &len), ARCA_EINVAL);
	m->bulk[0].length = 100000;
	/* an encapsulated value with a defined length */
	m->bulk[1].length = 10;
	assert_int_equal(store_manifest_encode(m, &bytes, &len), ARCA_EINVAL);
	m->bulk[1].length = PACS_UNDEFINED_LENGTH;
	assert_int_equal(store_manifest_encode(m, &bytes, &len), 0);
	free(bytes);
	/* pieces out of range */
	assert_int_equal(store_manifest_add_chunk(&m->bulk[0].frags[0], h, 0), ARCA_EINVAL);
	assert_int_equal(store_manifest_add_inline(&m->bulk[0].frags[0], h, STORE_MANIFEST_INLINE_MAX + 1),
			 ARCA_EINVAL);
	/* no transfer syntax */
	m->transfer_syntax[0] = '\0';
	assert_int_equal(store_manifest_encode(m, &bytes, &len), ARCA_EINVAL);
	store_manifest_free(m);
}

/* The study hash is chain/'s Merkle root over the instances' hashes in
 * SOP Instance UID order, whatever order they are given in. */
static void test_study_hash(void **state)
{
	enum { N = 13 };
	static char uids[N][32];
	store_instance_ref refs[N], shuffled[N];
	uint8_t ours[STORE_CAS_HASH_LEN], theirs[STORE_CAS_HASH_LEN], again[STORE_CAS_HASH_LEN];
	chain_merkle *tree = NULL;
	size_t order[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		/* "1.2.10" sorts before "1.2.2": byte order, not numeric */
		snprintf(uids[i], sizeof(uids[i]), "1.2.%d", i);
		refs[i].sop_instance_uid = uids[i];
		fill_hash(refs[i].hash, (uint8_t)(i + 1));
	}
	for (int i = 0; i < N; i++)
		order[i] = (size_t)i;
	/* byte order of "1.2.0" .. "1.2.12": 0, 1, 10, 11, 12, 2, 3, ... 9 */
	{
		size_t k = 0;
		order[k++] = 0;
		order[k++] = 1;
		order[k++] = 10;
		order[k++] = 11;
		order[k++] = 12;
		for (size_t i = 2; i <= 9; i++)
			order[k++] = i;
	}
	assert_int_equal(chain_merkle_new(&tree), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(chain_merkle_append_leaf(tree, refs[order[i]].hash, STORE_CAS_HASH_LEN), 0);
	assert_int_equal(chain_merkle_root(tree, N, theirs), 0);
	assert_int_equal(store_instance_study_hash(refs, N, ours), 0);
	assert_memory_equal(ours, theirs, STORE_CAS_HASH_LEN);
	for (int i = 0; i < N; i++)
		shuffled[i] = refs[(i * 5 + 3) % N];
	assert_int_equal(store_instance_study_hash(shuffled, N, again), 0);
	assert_memory_equal(ours, again, STORE_CAS_HASH_LEN);
	/* one instance: its leaf hash; none: SHA-256 of nothing */
	assert_int_equal(chain_merkle_root(tree, 0, theirs), 0);
	assert_int_equal(store_instance_study_hash(refs, 0, ours), 0);
	assert_memory_equal(ours, theirs, STORE_CAS_HASH_LEN);
	assert_int_equal(store_instance_study_hash(refs, 1, ours), 0);
	assert_int_equal(chain_merkle_root(tree, 1, theirs), 0);
	assert_memory_equal(ours, theirs, STORE_CAS_HASH_LEN);
	/* a UID twice */
	shuffled[1].sop_instance_uid = shuffled[0].sop_instance_uid;
	assert_int_equal(store_instance_study_hash(shuffled, N, ours), ARCA_EINVAL);
	chain_merkle_free(tree);
}

/* The tree built leaf by leaf (store_study_tree.c) gives chain/'s root
 * for every count up to 300, and keeps taking leaves after a root. */
static void test_study_tree(void **state)
{
	enum { N = 300 };
	uint8_t leaf[STORE_CAS_HASH_LEN], ours[STORE_CAS_HASH_LEN], theirs[STORE_CAS_HASH_LEN];
	store_study_tree *t = NULL;
	chain_merkle *tree = NULL;
	uint64_t count = 99;

	(void)state;
	assert_int_equal(chain_merkle_new(&tree), 0);
	assert_int_equal(store_study_tree_new(&t), 0);
	assert_int_equal(store_study_tree_root(t, ours, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(chain_merkle_root(tree, 0, theirs), 0);
	assert_memory_equal(ours, theirs, STORE_CAS_HASH_LEN);
	for (int n = 1; n <= N; n++) {
		fill_hash(leaf, (uint8_t)(n * 7));
		leaf[0] = (uint8_t)(n >> 8);
		assert_int_equal(chain_merkle_append_leaf(tree, leaf, STORE_CAS_HASH_LEN), 0);
		assert_int_equal(store_study_tree_add(t, leaf), 0);
		assert_int_equal(store_study_tree_root(t, ours, &count), 0);
		assert_int_equal(count, (uint64_t)n);
		assert_int_equal(chain_merkle_root(tree, (uint64_t)n, theirs), 0);
		assert_memory_equal(ours, theirs, STORE_CAS_HASH_LEN);
	}
	store_study_tree_free(t);
	chain_merkle_free(tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_chunks_listed_once),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_forged_fields),
		cmocka_unit_test(test_encode_checks),
		cmocka_unit_test(test_study_hash),
		cmocka_unit_test(test_study_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
