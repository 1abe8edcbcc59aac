/* store_study.h - a study's hash as the index holds it now. */
#ifndef STORE_STUDY_H
#define STORE_STUDY_H

#include <stdint.h>

#include "store_index.h"

/* The study hash (store_instance_study_hash: the Merkle root of the
 * instance hashes ordered by SOP Instance UID) over the current instances
 * of study_uid in idx, and how many they are: what store, import and
 * quarantine release events carry, so that `arca verify` and `arca chain
 * verify` find the log up to date with the index.  A study without
 * instances gives the hash of the empty tree and *count 0. */
int store_study_hash(store_index *idx, const char *study_uid, uint8_t hash[32], uint32_t *count);

#endif
