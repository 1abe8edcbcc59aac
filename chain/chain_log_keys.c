/* chain_log_keys.c - which node key signs which checkpoint of a log whose
 * key has changed (docs/chain-format.md 10).
 *
 * A node's key changes only at an arca:key-change entry, which names the
 * old and the new public key.  The key in force at tree size n is the new
 * key of the last key change whose index is below n - 1 (so the checkpoint
 * that ends with the key change is still signed with the old key), else the
 * old key of the first key change, else the key the caller gave.  The
 * changes must chain: each one's old key is the key in force before it.
 * The caller's key must be the key in force after the last entry. */
#include "chain_log_priv.h"

#include "arca_err.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A key change is exactly this member in its canonical bytes; a string
 * value cannot hold it (its quotes would be escaped), so lines without it
 * need no parsing. */
static const char KEY_CHANGE_MEMBER[] = "\"event\":\"arca:key-change\"";

int chain_log__keys_init(chain_log__keys *k, const chain_key *given)
{
	memset(k, 0, sizeof(*k));
	k->given = given;
	return chain_key_public(given, k->given_pub);
}

void chain_log__keys_release(chain_log__keys *k)
{
	for (size_t i = 0; i < k->n; i++) {
		chain_key_free(k->changes[i].old_key);
		chain_key_free(k->changes[i].new_key);
	}
	free(k->changes);
	memset(k, 0, sizeof(*k));
}

static void short_fp(const uint8_t pub[32], char out[17])
{
	uint8_t fp[CHAIN_HASH_LEN];

	if (chain_hash_sha256_once(fp, pub, 32) < 0)
		memset(fp, 0, sizeof(fp));
	chain_hash_hex(out, fp, 8);
}

int chain_log__keys_note_entry(chain_log__keys *k, const chain_entry *e)
{
	chain_log__key_change *c;
	int rc;

	if (e->event != CHAIN_EVENT_KEY_CHANGE || e->key == NULL)
		return 0;
	if (k->n > 0 && memcmp(e->key->old_public, k->changes[k->n - 1].new_public, 32) != 0)
		return arca_error_set(ARCA_ECRYPTO, "key change at entry %" PRIu64 ": its old key is not the key in force since entry %" PRIu64,
				      e->index, k->changes[k->n - 1].index);
	if (k->n > 0 && e->index <= k->changes[k->n - 1].index)
		return arca_error_set(ARCA_EPROTO, "key change at entry %" PRIu64 " after one at entry %" PRIu64,
				      e->index, k->changes[k->n - 1].index);
	if (k->n == k->cap) {
		size_t cap = k->cap != 0 ? 2 * k->cap : 4;
		chain_log__key_change *g = realloc(k->changes, cap * sizeof(*g));
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the log's key changes");
		k->changes = g;
		k->cap = cap;
	}
	c = &k->changes[k->n];
	memset(c, 0, sizeof(*c));
	c->index = e->index;
	memcpy(c->old_public, e->key->old_public, 32);
	memcpy(c->new_public, e->key->new_public, 32);
	if ((rc = chain_key_from_public(&c->old_key, c->old_public)) < 0 ||
	    (rc = chain_key_from_public(&c->new_key, c->new_public)) < 0) {
		chain_key_free(c->old_key);
		return rc;
	}
	k->n++;
	return 0;
}

int chain_log__keys_note(chain_log__keys *k, uint64_t index, const uint8_t *line, size_t len)
{
	chain_entry *e = NULL;
	int rc;

	if (len < sizeof(KEY_CHANGE_MEMBER) - 1 || memmem(line, len, KEY_CHANGE_MEMBER, sizeof(KEY_CHANGE_MEMBER) - 1) == NULL)
		return 0;
	if ((rc = chain_entry_parse(&e, line, len)) < 0)
		return arca_error_prefix(rc, "entry %" PRIu64 " (a key change)", index);
	if (e->index != index)
		rc = arca_error_set(ARCA_EPROTO, "the key change in place %" PRIu64 " carries index %" PRIu64, index,
				    e->index);
	else
		rc = chain_log__keys_note_entry(k, e);
	chain_entry_free(e);
	return rc;
}

const chain_key *chain_log__keys_at(const chain_log__keys *k, uint64_t size)
{
	size_t i;

	if (k->n == 0)
		return k->given;
	for (i = k->n; i > 0; i--)
		if (k->changes[i - 1].index + 1 < size)
			return k->changes[i - 1].new_key;
	return k->changes[0].old_key;
}

int chain_log__keys_check_current(const chain_log__keys *k)
{
	char have[17], want[17];
	const chain_log__key_change *last;

	if (k->n == 0)
		return 0;
	last = &k->changes[k->n - 1];
	if (memcmp(last->new_public, k->given_pub, 32) == 0)
		return 0;
	short_fp(last->new_public, want);
	short_fp(k->given_pub, have);
	return arca_error_set(ARCA_ECRYPTO,
			      "the log's key is now %s (arca:key-change at entry %" PRIu64 "), not this key %s%s", want,
			      last->index, have,
			      memcmp(last->old_public, k->given_pub, 32) == 0
				      ? ": finish the interrupted rotation with arca node rotate-key"
				      : "");
}
