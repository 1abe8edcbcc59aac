/* chain_checkpoint_priv.h - shared by chain_checkpoint.c (building,
 * signing, encoding, verifying) and chain_checkpoint_parse.c. */
#ifndef CHAIN_CHECKPOINT_PRIV_H
#define CHAIN_CHECKPOINT_PRIV_H

#include "chain_checkpoint.h"

#include <stdbool.h>

/* "YYYY-MM-DDTHH:MM:SSZ" and a NUL. */
#define CHAIN_CHECKPOINT__TIME_LEN 21
#define CHAIN_CHECKPOINT__TIME_PREFIX "time "
/* signed-note: a signature line starts with an em dash (U+2014) and a space. */
#define CHAIN_CHECKPOINT__SIG_PREFIX "\xE2\x80\x94 "

struct chain_note_sig {
	char *name;
	uint32_t key_id;
	uint8_t *sig; /* the signature after the key id */
	size_t sig_len;
};

struct chain_checkpoint {
	char *body; /* the signed note text, NUL-terminated */
	size_t body_len;
	char *origin;
	uint64_t size;
	uint8_t root[CHAIN_HASH_LEN];
	bool has_time;
	int64_t time;
	char *ext[CHAIN_CHECKPOINT_MAX_EXTENSIONS];
	size_t n_ext;
	struct chain_note_sig sigs[CHAIN_CHECKPOINT_MAX_SIGS];
	size_t n_sigs;
};

/* Decodes one UTF-8 character of s (left bytes): its length, or 0 if the
 * bytes are not well-formed UTF-8 (overlong forms, surrogates and code
 * points past U+10FFFF included). */
size_t chain_checkpoint__utf8_next(const uint8_t *s, size_t left, uint32_t *cp);

/* Unicode's spaces (Go's unicode.IsSpace, which signed-note's reference
 * implementation applies to key names). */
bool chain_checkpoint__is_space(uint32_t cp);

/* RFC 3339 UTC with seconds, "2025-01-02T03:04:05Z", years 0000-9999. */
int chain_checkpoint__format_time(int64_t t, char out[CHAIN_CHECKPOINT__TIME_LEN]);
/* Exactly that form, no other; ARCA_EPROTO (no line prefix) otherwise. */
int chain_checkpoint__parse_time(const char *s, size_t len, int64_t *out);

#endif
