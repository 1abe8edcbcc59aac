/* chain_key.h - a node's Ed25519 key (design 3.3), through OpenSSL.
 *
 * Every arca node signs its log's checkpoints with one Ed25519 key
 * (RFC 8032).  The private key lives in a PEM file (PKCS#8, unencrypted,
 * mode 0600, as ssh keeps its host keys); peers know the node by the raw
 * 32-byte public key and its fingerprint, SHA-256 of those 32 bytes.
 *
 * A chain_key holds either a private key (it can sign and verify) or only
 * a public key (it can verify).  Ed25519 signatures are deterministic: one
 * key and one message always give the same 64 bytes. */
#ifndef CHAIN_KEY_H
#define CHAIN_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAIN_KEY_PUBLIC_LEN 32
#define CHAIN_KEY_SEED_LEN 32
#define CHAIN_KEY_SIG_LEN 64
/* Hex fingerprint: 64 hex digits and a NUL. */
#define CHAIN_KEY_FP_HEX_LEN 65
/* Short fingerprint: the first 8 bytes as 16 hex digits and a NUL, for
 * logs and listings, where a human compares two keys at a glance. */
#define CHAIN_KEY_FP_SHORT_LEN 17
/* A PEM key file is a few hundred bytes; anything longer is not one. */
#define CHAIN_KEY_FILE_MAX 16384

typedef struct chain_key chain_key;

/* A new random key.  *out is the caller's, freed with chain_key_free(). */
int chain_key_generate(chain_key **out);

/* The key whose RFC 8032 private key (seed) is the given 32 bytes: for
 * tests and known-answer vectors. */
int chain_key_from_seed(chain_key **out, const uint8_t seed[CHAIN_KEY_SEED_LEN]);

/* A verify-only key from a raw public key. */
int chain_key_from_public(chain_key **out, const uint8_t pub[CHAIN_KEY_PUBLIC_LEN]);

void chain_key_free(chain_key *key);

bool chain_key_has_private(const chain_key *key);

/* Writes the private key as PEM to a new file at path: created with
 * O_EXCL and mode 0600 (ARCA_EEXISTS if path exists: a node key is never
 * overwritten), written, fsynced, and its directory fsynced, so the key
 * survives a crash once this returns.  ARCA_EINVAL for a public-only key,
 * ARCA_EIO on I/O errors (the partial file is removed). */
int chain_key_save(const chain_key *key, const char *path);

/* Loads a private key written by chain_key_save (or any PKCS#8 Ed25519 PEM
 * private key).  Refuses a file that group or others may read or write
 * (ARCA_EINVAL: "chmod 600 it"), one longer than CHAIN_KEY_FILE_MAX, and a
 * key of another algorithm (ARCA_EUNSUPPORTED). */
int chain_key_load(chain_key **out, const char *path);

/* The raw public key (RFC 8032 encoding). */
int chain_key_public(const chain_key *key, uint8_t out[CHAIN_KEY_PUBLIC_LEN]);

/* SHA-256 of the raw public key: raw, as 64 hex digits, and short. */
int chain_key_fingerprint(const chain_key *key, uint8_t out[32]);
int chain_key_fingerprint_hex(const chain_key *key, char out[CHAIN_KEY_FP_HEX_LEN]);
int chain_key_fingerprint_short(const chain_key *key, char out[CHAIN_KEY_FP_SHORT_LEN]);

/* Ed25519 signature of msg (RFC 8032 PureEdDSA: the message itself, not a
 * hash of it).  ARCA_EINVAL for a public-only key. */
int chain_key_sign(const chain_key *key, const void *msg, size_t len,
		   uint8_t sig[CHAIN_KEY_SIG_LEN]);

/* 0 if sig is key's signature of msg; ARCA_ECRYPTO if not. */
int chain_key_verify(const chain_key *key, const void *msg, size_t len,
		     const uint8_t sig[CHAIN_KEY_SIG_LEN]);

#endif
