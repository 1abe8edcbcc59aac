/* chain_pseudonym.h - the keyed patient pseudonym of the provenance chain
 * (design 3.3).
 *
 * No entry names a patient.  An entry that concerns one carries
 *
 *     pseudonym = HMAC-SHA-256(consortium key, issuer || 0x00 || patient ID)
 *
 * (RFC 2104 HMAC, 32 bytes, written as 64 lower-case hex digits), where
 * issuer is the Issuer of Patient ID (0010,0021) and patient ID the Patient
 * ID (0010,0020), each without the leading and trailing spaces PS3.5 does
 * not count as significant (LO, Table 6.2-1).  The 0x00 separator keeps
 * ("AB", "C") and ("A", "BC") apart: neither value can hold a NUL.
 *
 * Members of a consortium share the key, so they can link one patient's
 * records across hospitals; nobody else can, and without the key a
 * pseudonym cannot be tested against a guessed ID (unlike a plain hash,
 * which a dictionary of IDs would invert).
 *
 * The key is 32 random bytes in a file of exactly 32 bytes, mode 0600,
 * created once per consortium and copied to its members out of band. */
#ifndef CHAIN_PSEUDONYM_H
#define CHAIN_PSEUDONYM_H

#include <stddef.h>
#include <stdint.h>

#include "chain_hash.h"

#define CHAIN_PSEUDONYM_KEY_LEN 32
/* 64 hex digits and a NUL. */
#define CHAIN_PSEUDONYM_HEX_LEN 65
/* Issuer and ID are LO values: at most 64 characters (PS3.5 6.2); longer
 * input is refused rather than silently keyed. */
#define CHAIN_PSEUDONYM_VALUE_MAX 256

typedef struct chain_pseudonym_key chain_pseudonym_key;

/* A new random key (OpenSSL's DRBG).  *out is the caller's, freed with
 * chain_pseudonym_key_free(), which wipes it. */
int chain_pseudonym_key_generate(chain_pseudonym_key **out);
/* A key from its 32 bytes (tests, known answers). */
int chain_pseudonym_key_from_bytes(chain_pseudonym_key **out,
				   const uint8_t bytes[CHAIN_PSEUDONYM_KEY_LEN]);
void chain_pseudonym_key_free(chain_pseudonym_key *key);

/* Writes the key to a new file: O_EXCL, mode 0600, fsynced with its
 * directory.  ARCA_EEXISTS if path exists (a consortium key is never
 * overwritten), ARCA_EIO on I/O errors (the partial file is removed). */
int chain_pseudonym_key_save(const chain_pseudonym_key *key, const char *path);

/* Loads a key file.  Refuses one that group or others may read or write
 * (ARCA_EINVAL, "chmod 600 it") and one that is not exactly 32 bytes
 * (ARCA_EPROTO). */
int chain_pseudonym_key_load(chain_pseudonym_key **out, const char *path);

/* The pseudonym of (issuer, patient_id).  issuer may be NULL or empty (no
 * Issuer of Patient ID); patient_id must be non-empty after trimming
 * (ARCA_EINVAL), and neither may exceed CHAIN_PSEUDONYM_VALUE_MAX bytes
 * (ARCA_ELIMIT). */
int chain_pseudonym(const chain_pseudonym_key *key, const char *issuer, const char *patient_id,
		    uint8_t out[CHAIN_HASH_LEN]);

/* The same, as 64 lower-case hex digits. */
int chain_pseudonym_hex(const chain_pseudonym_key *key, const char *issuer,
			const char *patient_id, char out[CHAIN_PSEUDONYM_HEX_LEN]);

#endif
