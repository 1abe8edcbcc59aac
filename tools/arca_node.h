/* arca_node.h - a node's identity inside its archive (design.md 3.3, 4):
 * the keys and the provenance log that `arca init` (and arcad, when it
 * creates a default archive) puts at fixed places under the root:
 *
 *   ROOT/keys/               mode 0700
 *   ROOT/keys/node.key       the node's Ed25519 private key (PKCS#8 PEM, 0600)
 *   ROOT/keys/node.pub       its raw 32-byte public key in base64, one line
 *                            (0644): what peers and auditors are given
 *   ROOT/keys/consortium.key the consortium's pseudonym key (32 bytes, 0600),
 *                            replaced by the consortium's shared one on joining
 *   ROOT/chain/log.git       the bare repository of the node's log
 *                            (docs/chain-format.md 7)
 *
 * Every file is created once (O_EXCL) and never overwritten, but for
 * node.key and node.pub, which `arca node rotate-key` replaces (the old
 * public key kept as keys/node-<fingerprint>.pub). */
#ifndef ARCA_NODE_H
#define ARCA_NODE_H

#include <stddef.h>

#include "arca_conf.h"
#include "chain_key.h"

#define ARCA_NODE_KEYS_DIR "keys"
#define ARCA_NODE_KEY_FILE "keys/node.key"
#define ARCA_NODE_PUB_FILE "keys/node.pub"
/* A new key during `arca node rotate-key` (docs/chain-format.md 10). */
#define ARCA_NODE_NEXT_KEY_FILE "keys/node.key.next"
#define ARCA_NODE_CONSORTIUM_FILE "keys/consortium.key"
#define ARCA_NODE_CHAIN_DIR "chain"
#define ARCA_NODE_LOG_REPO "chain/log.git"

/* Base64 of a 32-byte key: 44 characters and a NUL. */
#define ARCA_NODE_PUB_B64_LEN 45

/* 0 if node can name a log (chain_node_name_check: also a git ref and a
 * signed-note key name), else ARCA_EINVAL saying why. */
int arca_node_check_name(const char *node);

/* Creates the keys and the empty log of node under root (which exists).
 * ARCA_EEXISTS, naming the file, if a key is already there: an archive's
 * keys are never replaced.  On failure the key files this call created are
 * removed again. */
int arca_node_create(const char *root, const char *node);

/* The last step of a key rotation, once the key change is durable on the
 * log: keeps old's public key as ROOT/keys/node-<its 64 hex fingerprint>.pub,
 * replaces node.pub with next's public key (written aside, fsynced,
 * renamed), renames ROOT/keys/node.key.next (which holds next) to
 * node.key, last, and fsyncs ROOT/keys.  Until then node.key.next marks
 * the switch unfinished; each step can be done again after a crash. */
int arca_node_switch_key(const char *root, const chain_key *old, const chain_key *next);

/* ROOT/rel into buf; ARCA_EINVAL if it does not fit. */
int arca_node_path(char *buf, size_t size, const char *root, const char *rel);

/* A verify-only key from its text: the base64 of the 32 raw bytes, with
 * leading and trailing white space ignored (a node.pub file's content, or
 * a --key argument).  ARCA_EPROTO if it is not that. */
int arca_node_parse_public(chain_key **out, const char *text, size_t len);

/* The public key from a file holding it as above (at most 4 KiB read). */
int arca_node_load_public_file(chain_key **out, const char *path);

/* --key's value: the name of a file holding the key, or the key itself in
 * base64. */
int arca_node_key_arg(chain_key **out, const char *arg);

/* base64 of the raw public key into out. */
int arca_node_public_b64(const chain_key *key, char out[ARCA_NODE_PUB_B64_LEN]);

/* The archive's configuration: ROOT/arca.conf over the defaults.  Fails
 * with ARCA_ENOTFOUND ("not an archive: run arca init") when there is
 * none.  Release with arca_conf_release(). */
int arca_node_load_conf(arca_conf *c, const char *root);

#endif
