/* arca_proof.c - inclusion proof bundles (arca_proof.h,
 * docs/chain-format.md 8): the canonical encoder, and the verifier that
 * parses with jansson, insists on the canonical bytes, then checks the
 * checkpoint's signature and the RFC 9162 inclusion proof. */
#include "arca_proof.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca_err.h"
#include "chain_base64.h"
#include "chain_checkpoint.h"
#include "chain_entry.h"

/* ------------------------------------------------------------ encoding */

/* A growing buffer whose capacity is computed up front. */
typedef struct out_buf {
	char *p;
	size_t len, cap;
} out_buf;

static void put(out_buf *b, const char *s, size_t n)
{
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(out_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* The note as a JSON string body: only '"', '\\' and newline need escapes;
 * a note holds no other control character (chain-format.md 4). */
static int note_escaped_len(const char *s, size_t n, size_t *out)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\' || c == '\n')
			len += 2;
		else if (c < 0x20 || c == 0x7F)
			return arca_error_set(ARCA_EPROTO, "checkpoint byte %zu is a control character", i);
		else
			len++;
	}
	*out = len;
	return 0;
}

static void put_note(out_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			put(b, "\\\"", 2);
		else if (s[i] == '\\')
			put(b, "\\\\", 2);
		else if (s[i] == '\n')
			put(b, "\\n", 2);
		else
			b->p[b->len++] = s[i];
	}
}

static void put_b64(out_buf *b, const uint8_t *bytes, size_t n)
{
	chain_base64_encode(b->p + b->len, bytes, n);
	b->len += chain_base64_encoded_len(n);
}

int arca_proof_encode(const arca_proof *p, char **out, size_t *len)
{
	char num[32];
	size_t note_len = 0, cap;
	out_buf b = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = note_escaped_len(p->checkpoint, p->checkpoint_len, &note_len)) < 0)
		return rc;
	/* members, quotes and punctuation: well under 128 bytes; numbers: 20 each. */
	cap = 128 + 40 + note_len + chain_base64_encoded_len(p->entry_len) +
	      p->n_proof * (chain_base64_encoded_len(CHAIN_HASH_LEN) + 3);
	b.p = malloc(cap + 1);
	if (b.p == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a proof bundle");
	b.cap = cap;
	/* Members in byte order of their names (as chain entries, RFC 8785). */
	puts_(&b, "{\"checkpoint\":\"");
	put_note(&b, p->checkpoint, p->checkpoint_len);
	puts_(&b, "\",\"entry\":\"");
	put_b64(&b, (const uint8_t *)p->entry, p->entry_len);
	puts_(&b, "\",\"format\":\"" ARCA_PROOF_FORMAT "\",\"index\":");
	snprintf(num, sizeof(num), "%" PRIu64, p->index);
	puts_(&b, num);
	puts_(&b, ",\"proof\":[");
	for (size_t i = 0; i < p->n_proof; i++) {
		puts_(&b, i == 0 ? "\"" : ",\"");
		put_b64(&b, p->proof[i], CHAIN_HASH_LEN);
		puts_(&b, "\"");
	}
	puts_(&b, "],\"size\":");
	snprintf(num, sizeof(num), "%" PRIu64, p->size);
	puts_(&b, num);
	puts_(&b, "}\n");
	b.p[b.len] = '\0';
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ------------------------------------------------------------ verifying */

/* What the parser took out of the JSON, before any check of meaning. */
typedef struct parsed {
	uint8_t *entry;
	size_t entry_len;
	uint64_t index, size;
	uint8_t (*proof)[CHAIN_HASH_LEN];
	size_t n_proof;
	const char *note;    /* borrowed from the json_t */
	size_t note_len;
} parsed;

static int bad(const char *what)
{
	return arca_error_set(ARCA_EPROTO, "not a valid proof bundle: %s", what);
}

static json_t *member(json_t *o, const char *name)
{
	return json_object_get(o, name);
}

static int get_uint(json_t *v, const char *name, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > CHAIN_MERKLE_MAX_SIZE)
		return arca_error_set(ARCA_EPROTO, "not a valid proof bundle: \"%s\" is not a tree position", name);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_b64(json_t *v, const char *name, uint8_t *out, size_t cap, size_t *n)
{
	int rc;

	if (!json_is_string(v))
		return arca_error_set(ARCA_EPROTO, "not a valid proof bundle: \"%s\" is not a string", name);
	rc = chain_base64_decode(out, cap, n, json_string_value(v), json_string_length(v));
	if (rc < 0)
		return arca_error_set(ARCA_EPROTO, "not a valid proof bundle: \"%s\": %s", name, arca_error_last());
	return 0;
}

static int parse_members(json_t *o, parsed *p)
{
	json_t *v;
	size_t n;
	int rc;

	if (!json_is_object(o))
		return bad("not a JSON object");
	if (json_object_size(o) != 6)
		return bad("expected exactly the members checkpoint, entry, format, index, proof, size");
	v = member(o, "format");
	if (!json_is_string(v) || strcmp(json_string_value(v), ARCA_PROOF_FORMAT) != 0)
		return bad("\"format\" is not \"" ARCA_PROOF_FORMAT "\"");
	v = member(o, "checkpoint");
	if (!json_is_string(v))
		return bad("\"checkpoint\" is not a string");
	p->note = json_string_value(v);
	p->note_len = json_string_length(v);
	if ((rc = get_uint(member(o, "index"), "index", &p->index)) < 0 ||
	    (rc = get_uint(member(o, "size"), "size", &p->size)) < 0)
		return rc;
	p->entry = malloc(CHAIN_ENTRY_MAX_LEN + 1);
	if (p->entry == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a proof bundle");
	if ((rc = get_b64(member(o, "entry"), "entry", p->entry, CHAIN_ENTRY_MAX_LEN, &p->entry_len)) < 0)
		return rc;
	v = member(o, "proof");
	if (!json_is_array(v))
		return bad("\"proof\" is not an array");
	if (json_array_size(v) > CHAIN_MERKLE_MAX_PROOF)
		return bad("\"proof\" has more hashes than any tree needs");
	p->proof = malloc((json_array_size(v) + 1) * sizeof(*p->proof));
	if (p->proof == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a proof bundle");
	for (size_t i = 0; i < json_array_size(v); i++) {
		if ((rc = get_b64(json_array_get(v, i), "proof", p->proof[i], CHAIN_HASH_LEN, &n)) < 0)
			return rc;
		if (n != CHAIN_HASH_LEN)
			return bad("a \"proof\" hash is not 32 bytes");
		p->n_proof++;
	}
	return 0;
}

/* The bytes must be exactly what arca_proof_encode writes for the values
 * read: one spelling per bundle, so that no byte can change unnoticed. */
static int check_canonical(const parsed *p, const char *bytes, size_t len)
{
	arca_proof ap = {
		.entry = (const char *)p->entry, .entry_len = p->entry_len, .index = p->index,
		.size = p->size, .proof = (const uint8_t(*)[CHAIN_HASH_LEN])p->proof, .n_proof = p->n_proof,
		.checkpoint = p->note, .checkpoint_len = p->note_len,
	};
	char *canon = NULL;
	size_t canon_len, i;
	int rc;

	if ((rc = arca_proof_encode(&ap, &canon, &canon_len)) < 0)
		return bad(arca_error_last());
	for (i = 0; i < len && i < canon_len && bytes[i] == canon[i]; i++)
		;
	free(canon);
	if (i < len || i < canon_len)
		return arca_error_set(ARCA_EPROTO, "not a valid proof bundle: not in canonical form at byte %zu", i);
	return 0;
}

static void format_time(int64_t t, char *out, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%" PRId64, t);
}

/* The entry: canonical, at the bundle's index, of the checkpoint's node. */
static int check_entry(const parsed *p, const char *origin, arca_proof_result *res)
{
	chain_entry *e = NULL;
	const char *code;
	int rc;

	rc = chain_entry_parse(&e, p->entry, p->entry_len);
	if (rc < 0)
		return arca_error_prefix(rc, "the bundle's entry");
	if (e->index != p->index)
		rc = arca_error_set(ARCA_EPROTO, "the bundle's entry carries index %" PRIu64 ", not %" PRIu64,
				    e->index, p->index);
	else if (strcmp(e->node, origin) != 0)
		rc = arca_error_set(ARCA_EPROTO, "the bundle's entry is of node %s, its checkpoint of %s", e->node,
				    origin);
	if (rc == 0) {
		code = chain_event_code(e->event);
		snprintf(res->event, sizeof(res->event), "%s", code != NULL ? code : "?");
		snprintf(res->study, sizeof(res->study), "%s", e->study_uid != NULL ? e->study_uid : "");
	}
	chain_entry_free(e);
	return rc;
}

static int verify_parsed(const parsed *p, const chain_key *key, arca_proof_result *res)
{
	chain_checkpoint *cp = NULL;
	chain_hasher *h = NULL;
	uint8_t leaf[CHAIN_HASH_LEN];
	const char *origin;
	int64_t t;
	int rc;

	rc = chain_checkpoint_parse(&cp, p->note, p->note_len);
	if (rc < 0) {
		arca_error_prefix(rc, "the bundle's checkpoint");
		goto out;
	}
	origin = chain_checkpoint_origin(cp);
	if (chain_checkpoint_size(cp) != p->size) {
		rc = arca_error_set(ARCA_EPROTO, "the bundle says size %" PRIu64 ", its checkpoint %" PRIu64, p->size,
				    chain_checkpoint_size(cp));
		goto out;
	}
	/* The node signs under its own name, the checkpoint's origin. */
	rc = chain_checkpoint_verify(cp, key, origin);
	if (rc < 0) {
		arca_error_prefix(rc, "the checkpoint of %s (size %" PRIu64 ")", origin, p->size);
		goto out;
	}
	if ((rc = check_entry(p, origin, res)) < 0)
		goto out;
	if ((rc = chain_hasher_new(&h)) < 0 || (rc = chain_hash_leaf(h, leaf, p->entry, p->entry_len)) < 0)
		goto out;
	/* RFC 9162 2.1.3.2, against the signed root. */
	rc = chain_merkle_verify_inclusion(leaf, p->index, p->size, (const uint8_t(*)[CHAIN_HASH_LEN])p->proof,
					   p->n_proof, chain_checkpoint_root(cp));
	if (rc < 0) {
		arca_error_prefix(rc, "entry %" PRIu64 " is not proven in the signed tree of size %" PRIu64, p->index,
				  p->size);
		goto out;
	}
	snprintf(res->node, sizeof(res->node), "%s", origin);
	res->index = p->index;
	res->size = p->size;
	memcpy(res->root, chain_checkpoint_root(cp), CHAIN_HASH_LEN);
	res->time[0] = '\0';
	if (chain_checkpoint_time(cp, &t) == 0)
		format_time(t, res->time, sizeof(res->time));
out:
	chain_hasher_free(h);
	chain_checkpoint_free(cp);
	return rc;
}

int arca_proof_verify(const char *bytes, size_t len, const chain_key *key, arca_proof_result *res)
{
	parsed p = { 0 };
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(res, 0, sizeof(*res));
	if (len > ARCA_PROOF_MAX_LEN)
		return arca_error_set(ARCA_ELIMIT, "not a valid proof bundle: longer than %u bytes", ARCA_PROOF_MAX_LEN);
	root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return arca_error_set(ARCA_EPROTO, "not a valid proof bundle: JSON error at byte %d: %s", jerr.position,
				      jerr.text);
	rc = parse_members(root, &p);
	if (rc == 0)
		rc = check_canonical(&p, bytes, len);
	if (rc == 0)
		rc = verify_parsed(&p, key, res);
	free(p.entry);
	free(p.proof);
	json_decref(root);
	return rc;
}
