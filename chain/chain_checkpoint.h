/* chain_checkpoint.h - signed checkpoints of a node's log.
 *
 * A checkpoint commits a node to its log's tree head: origin (the node),
 * tree size, root hash and the time it was made, signed with the node's
 * Ed25519 key.  Witnesses add their cosignatures to the same note later
 * (design 3.3).  The format is C2SP's: a tlog-checkpoint body in a signed
 * note (c2sp.org/tlog-checkpoint, c2sp.org/signed-note):
 *
 *     <origin>\n
 *     <tree size, decimal>\n
 *     <base64 root hash>\n
 *     time <RFC 3339 UTC, seconds, e.g. 2025-01-02T03:04:05Z>\n
 *     \n
 *     — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\n
 *     ... more signature lines ...
 *
 * The time line is a tlog-checkpoint extension line; docs/chain-format.md
 * has the full grammar.  The key id is the first 4 bytes of
 * SHA-256(key name || 0x0A || 0x01 || public key), 0x01 naming Ed25519.
 *
 * Parsing is strict (exactly the grammar, one spelling of each value) and
 * bounded; it keeps signature lines of keys it does not know, so a
 * cosigned note is passed on whole. */
#ifndef CHAIN_CHECKPOINT_H
#define CHAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "chain_hash.h"
#include "chain_key.h"

/* Limits of what the parser reads.  signed-note asks verifiers to accept
 * at least 16 signatures; post-quantum ones may be near 5 kB each. */
#define CHAIN_CHECKPOINT_MAX_LEN 131072
#define CHAIN_CHECKPOINT_MAX_SIGS 64
#define CHAIN_CHECKPOINT_MAX_SIG_BYTES 8192
#define CHAIN_CHECKPOINT_MAX_EXTENSIONS 16

/* signed-note's signature type byte for Ed25519. */
#define CHAIN_NOTE_ALG_ED25519 0x01

typedef struct chain_checkpoint chain_checkpoint;

/* A new, unsigned checkpoint.  origin must be a valid note key name
 * (non-empty UTF-8, no spaces, no '+', no control characters): it is the
 * node's name, under which it also signs.  time is seconds since the
 * epoch, years 0000 to 9999.  *out is the caller's, freed with
 * chain_checkpoint_free(). */
int chain_checkpoint_new(chain_checkpoint **out, const char *origin, uint64_t size,
			 const uint8_t root[CHAIN_HASH_LEN], int64_t time);
void chain_checkpoint_free(chain_checkpoint *cp);

/* Borrowed, valid while cp lives. */
const char *chain_checkpoint_origin(const chain_checkpoint *cp);
uint64_t chain_checkpoint_size(const chain_checkpoint *cp);
const uint8_t *chain_checkpoint_root(const chain_checkpoint *cp);

/* The time line's value; ARCA_ENOTFOUND if the note has none (a checkpoint
 * of another log). */
int chain_checkpoint_time(const chain_checkpoint *cp, int64_t *out);

/* Extension lines other than the time line, in order; borrowed. */
size_t chain_checkpoint_extension_count(const chain_checkpoint *cp);
const char *chain_checkpoint_extension(const chain_checkpoint *cp, size_t i);

/* Borrowed: the note text that the signatures sign (every body line with
 * its newline, without the blank line). */
const char *chain_checkpoint_body(const chain_checkpoint *cp, size_t *len);

/* Signs the body with key under key_name and adds the signature line (a
 * line of the same key name and key id is replaced).  ARCA_EINVAL for a bad
 * key name or a public-only key, ARCA_ELIMIT past CHAIN_CHECKPOINT_MAX_SIGS. */
int chain_checkpoint_sign(chain_checkpoint *cp, const chain_key *key, const char *key_name);

/* The signed note.  *out (NUL-terminated, *len bytes without the NUL) is
 * the caller's, freed with free().  ARCA_EINVAL if there is no signature
 * yet: a note without one is not a note. */
int chain_checkpoint_encode(const chain_checkpoint *cp, char **out, size_t *len);

/* Parses a signed note holding a checkpoint.  ARCA_EPROTO for anything
 * outside the grammar, naming the line ("checkpoint line 2: ..."),
 * ARCA_ELIMIT past the limits above.  Signatures are not checked here. */
int chain_checkpoint_parse(chain_checkpoint **out, const char *text, size_t len);

/* signed-note verification against one known key: every signature line
 * with key_name and key's key id must verify (ARCA_ECRYPTO if one does
 * not), and there must be at least one (ARCA_ENOTFOUND if none).  Lines of
 * other keys are ignored.  Whether origin is the expected log is the
 * caller's check. */
int chain_checkpoint_verify(const chain_checkpoint *cp, const chain_key *key, const char *key_name);

size_t chain_checkpoint_signature_count(const chain_checkpoint *cp);
/* The i-th signature line's key name (borrowed) and key id. */
int chain_checkpoint_signature(const chain_checkpoint *cp, size_t i, const char **key_name,
			       uint32_t *key_id);

/* signed-note key id of an Ed25519 key:
 * SHA-256(key name || 0x0A || 0x01 || public key)[:4], big-endian. */
int chain_note_key_id(const char *key_name, const uint8_t pub[CHAIN_KEY_PUBLIC_LEN], uint32_t *out);

/* 0 if name is a valid note key name, ARCA_EINVAL (saying why) if not. */
int chain_note_check_key_name(const char *name, size_t len);

#endif
