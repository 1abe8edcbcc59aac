/* store_study_tree.c - the study hash built leaf by leaf (store_study_tree.h).
 *
 * RFC 9162 2.1.1 splits n leaves at k, the largest power of two below n,
 * so the tree over D[0:n] is a row of perfect subtrees of decreasing
 * sizes (the binary digits of n), joined from the right.  Adding leaves in
 * order keeps that row as a stack: a new leaf is a subtree of size 1, and
 * two neighbours of equal size merge into one of twice the size. */
#include "store_study_tree.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arca_err.h"

#define HASH_LEN 32
/* one entry per binary digit of the leaf count */
#define LEVELS 64

struct store_study_tree {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	uint8_t hash[LEVELS][HASH_LEN];
	uint64_t size[LEVELS];
	unsigned depth;
	uint64_t leaves;
};

int store_study_tree_new(store_study_tree **out)
{
	store_study_tree *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for a study hash");
	/* fetched once per tree: EVP_sha256() in every init looks the
	 * algorithm up again, a fifth of the cost of hashing 65 bytes */
	t->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	t->ctx = EVP_MD_CTX_new();
	if (t->md == NULL || t->ctx == NULL) {
		store_study_tree_free(t);
		return arca_error_set(ARCA_ECRYPTO, "cannot load SHA-256 from OpenSSL");
	}
	*out = t;
	return 0;
}

void store_study_tree_free(store_study_tree *t)
{
	if (t == NULL)
		return;
	EVP_MD_CTX_free(t->ctx);
	EVP_MD_free(t->md);
	free(t);
}

int store_study_tree_node(store_study_tree *t, uint8_t prefix, const uint8_t a[32], const uint8_t *b,
			  uint8_t out[32])
{
	unsigned int n = 0;

	if (EVP_DigestInit_ex2(t->ctx, t->md, NULL) != 1 || EVP_DigestUpdate(t->ctx, &prefix, 1) != 1 ||
	    EVP_DigestUpdate(t->ctx, a, HASH_LEN) != 1 || (b != NULL && EVP_DigestUpdate(t->ctx, b, HASH_LEN) != 1) ||
	    EVP_DigestFinal_ex(t->ctx, out, &n) != 1 || n != HASH_LEN)
		return arca_error_set(ARCA_ECRYPTO, "SHA-256 of a study hash node failed");
	return 0;
}

int store_study_tree_add(store_study_tree *t, const uint8_t instance_hash[32])
{
	uint8_t h[HASH_LEN];
	uint64_t size = 1;
	int rc;

	/* RFC 9162 2.1.1: a leaf is SHA-256(0x00 || d) */
	if ((rc = store_study_tree_node(t, 0x00, instance_hash, NULL, h)) < 0)
		return rc;
	while (t->depth > 0 && t->size[t->depth - 1] == size) {
		t->depth--;
		if ((rc = store_study_tree_node(t, 0x01, t->hash[t->depth], h, h)) < 0)
			return rc;
		size *= 2;
	}
	/* sizes on the stack are distinct powers of two: never more than 64 */
	memcpy(t->hash[t->depth], h, HASH_LEN);
	t->size[t->depth] = size;
	t->depth++;
	t->leaves++;
	return 0;
}

int store_study_tree_root(store_study_tree *t, uint8_t out[32], uint64_t *count)
{
	uint8_t h[HASH_LEN];
	unsigned int n = 0;
	int rc;

	if (count != NULL)
		*count = t->leaves;
	if (t->depth == 0) {
		/* RFC 9162 2.1.1: the hash of the empty list is SHA-256() */
		if (EVP_Digest("", 0, out, &n, t->md, NULL) != 1 || n != HASH_LEN)
			return arca_error_set(ARCA_ECRYPTO, "SHA-256 of the empty study failed");
		return 0;
	}
	memcpy(h, t->hash[t->depth - 1], HASH_LEN);
	for (unsigned i = t->depth - 1; i-- > 0;)
		if ((rc = store_study_tree_node(t, 0x01, t->hash[i], h, h)) < 0)
			return rc;
	memcpy(out, h, HASH_LEN);
	return 0;
}
