/* store_study_tree.h - the study hash built leaf by leaf: RFC 9162 2.1.1
 * Merkle Tree Hash over the instance hashes of a study, in SOP Instance
 * UID order (docs/storage-format.md 7), with the leaves given in order
 * and only one hash per tree level kept: O(log n) memory, one SHA-256
 * per leaf and per inner node, one context for all of them. */
#ifndef STORE_STUDY_TREE_H
#define STORE_STUDY_TREE_H

#include <stdint.h>

typedef struct store_study_tree store_study_tree;

int store_study_tree_new(store_study_tree **out);
void store_study_tree_free(store_study_tree *t);

/* The next instance hash, in SOP Instance UID order (the caller orders). */
int store_study_tree_add(store_study_tree *t, const uint8_t instance_hash[32]);

/* The root over the leaves added so far (SHA-256 of nothing when none),
 * and how many they are; the tree may take more leaves afterwards. */
int store_study_tree_root(store_study_tree *t, uint8_t out[32], uint64_t *count);

/* SHA-256(prefix || a [|| b]) on the tree's context (b may be NULL):
 * RFC 9162's leaf (0x00) and node (0x01) hashes, for store_study_cache,
 * which keeps its own shape of the same tree. */
int store_study_tree_node(store_study_tree *t, uint8_t prefix, const uint8_t a[32], const uint8_t *b,
			  uint8_t out[32]);

#endif
