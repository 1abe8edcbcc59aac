/* arca_verify_chain.c - study hashes on the chain against the store
 * (arca_verify_chain.h). */
#include "arca_verify_chain.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "arca_node.h"
#include "chain_entry.h"
#include "chain_hash.h"

typedef struct chain_study {
	char *uid;
	uint64_t index;          /* the latest store (or deletion) entry */
	uint8_t hash[CHAIN_HASH_LEN];
	uint32_t instances;
	bool deleted;            /* the latest entry is a Study Deleted */
	bool seen;
} chain_study;

struct arca_chain_studies {
	chain_study *s;
	size_t n, cap;
};

const char *arca_study_verdict_name(arca_study_verdict v)
{
	switch (v) {
	case ARCA_STUDY_OK: return "ok";
	case ARCA_STUDY_NOT_ON_CHAIN: return "not on the chain";
	case ARCA_STUDY_CHAIN_BEHIND: return "chain behind the index";
	case ARCA_STUDY_MISMATCH: return "study hash mismatch";
	case ARCA_STUDY_DAMAGED: return "damaged";
	case ARCA_STUDY_DELETED: return "deleted on the chain";
	}
	return "?";
}

static int add(arca_chain_studies *cs, const chain_entry *e, uint64_t index, bool deleted)
{
	chain_study *s;

	if (cs->n == cs->cap) {
		size_t cap = cs->cap != 0 ? 2 * cs->cap : 256;
		chain_study *g = realloc(cs->s, cap * sizeof(*g));
		if (g == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the chain's studies");
		cs->s = g;
		cs->cap = cap;
	}
	s = &cs->s[cs->n];
	memset(s, 0, sizeof(*s));
	if ((s->uid = strdup(e->study_uid)) == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the chain's studies");
	s->index = index;
	s->deleted = deleted;
	s->instances = e->instances;
	if (e->has_study_hash)
		memcpy(s->hash, e->study_hash, CHAIN_HASH_LEN);
	cs->n++;
	return 0;
}

static int on_entry(void *arg, uint64_t index, const char *bytes, size_t len)
{
	arca_chain_studies *cs = arg;
	chain_entry *e = NULL;
	int rc;

	if ((rc = chain_entry_parse(&e, bytes, len)) < 0)
		return arca_error_prefix(rc, "chain entry %llu", (unsigned long long)index);
	if (e->study_uid != NULL) {
		if (e->event == CHAIN_EVENT_STUDY_DELETED)
			rc = add(cs, e, index, true);
		else if (e->has_study_hash && (e->action == CHAIN_ACTION_CREATE || e->action == CHAIN_ACTION_UPDATE))
			rc = add(cs, e, index, false);
	}
	chain_entry_free(e);
	return rc;
}

/* By UID, then by entry index: the last of each run is the latest. */
static int study_cmp(const void *a, const void *b)
{
	const chain_study *x = a, *y = b;
	int c = strcmp(x->uid, y->uid);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

int arca_chain_studies_load(arca_chain_studies **out, chain_log_view *v)
{
	arca_chain_studies *cs = calloc(1, sizeof(*cs));
	size_t k = 0;
	int rc = 0;

	*out = NULL;
	if (cs == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the chain's studies");
	if (v != NULL && (rc = chain_log_view_foreach(v, 0, on_entry, cs)) < 0) {
		arca_chain_studies_free(cs);
		return rc;
	}
	if (cs->n > 0) {
		qsort(cs->s, cs->n, sizeof(*cs->s), study_cmp);
		for (size_t i = 0; i < cs->n; i++) {
			if (i + 1 < cs->n && strcmp(cs->s[i].uid, cs->s[i + 1].uid) == 0) {
				free(cs->s[i].uid);
				continue;
			}
			cs->s[k++] = cs->s[i];
		}
		cs->n = k;
	}
	*out = cs;
	return 0;
}

void arca_chain_studies_free(arca_chain_studies *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n; i++)
		free(cs->s[i].uid);
	free(cs->s);
	free(cs);
}

size_t arca_chain_studies_count(const arca_chain_studies *cs)
{
	return cs->n;
}

static chain_study *find(arca_chain_studies *cs, const char *uid)
{
	size_t lo = 0, hi = cs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(cs->s[mid].uid, uid);
		if (c == 0)
			return &cs->s[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

arca_study_verdict arca_chain_studies_check(arca_chain_studies *cs, const store_verify_study *s, char *msg,
					    size_t size, uint64_t *entry)
{
	const char *uid = store_verify_study_uid(s);
	size_t n = store_verify_study_instances(s), damaged = store_verify_study_damaged(s);
	chain_study *c = find(cs, uid);
	uint8_t now[CHAIN_HASH_LEN], then[CHAIN_HASH_LEN];
	char hex_now[2 * CHAIN_HASH_LEN + 1], hex_chain[2 * CHAIN_HASH_LEN + 1];

	*entry = UINT64_MAX;
	if (c != NULL) {
		c->seen = true;
		*entry = c->index;
		chain_hash_hex(hex_chain, c->hash, CHAIN_HASH_LEN);
	}
	if (damaged > 0) {
		snprintf(msg, size, "%zu of its %zu instances cannot be rebuilt intact%s", damaged, n,
			 c != NULL && !c->deleted ? ": its study hash cannot match the chain's" : "");
		return ARCA_STUDY_DAMAGED;
	}
	if (c == NULL) {
		snprintf(msg, size, "no store event on the chain names it (%zu instances)", n);
		return ARCA_STUDY_NOT_ON_CHAIN;
	}
	if (c->deleted) {
		snprintf(msg, size, "entry %llu records its deletion, the index still holds %zu instances",
			 (unsigned long long)c->index, n);
		return ARCA_STUDY_DELETED;
	}
	if (store_verify_study_hash(s, now) < 0) {
		snprintf(msg, size, "cannot compute its study hash: %s", arca_error_last());
		return ARCA_STUDY_DAMAGED;
	}
	chain_hash_hex(hex_now, now, CHAIN_HASH_LEN);
	if (memcmp(now, c->hash, CHAIN_HASH_LEN) == 0) {
		snprintf(msg, size, "study hash %s matches entry %llu (%zu instances)", hex_now,
			 (unsigned long long)c->index, n);
		return ARCA_STUDY_OK;
	}
	/* A study only grows: with more instances than the event counted, the
	 * event must be the hash of the first ones the index received. */
	if (n > c->instances && store_verify_study_hash_first(s, c->instances, then) == 0 &&
	    memcmp(then, c->hash, CHAIN_HASH_LEN) == 0) {
		snprintf(msg, size,
			 "entry %llu covers its first %u instances (hash matches); %zu more were indexed after it "
			 "without a store event on the chain",
			 (unsigned long long)c->index, c->instances, n - c->instances);
		return ARCA_STUDY_CHAIN_BEHIND;
	}
	snprintf(msg, size,
		 "study hash recomputed from the store is %s (%zu instances), entry %llu recorded %s (%u instances)",
		 hex_now, n, (unsigned long long)c->index, hex_chain, c->instances);
	return ARCA_STUDY_MISMATCH;
}

void arca_chain_studies_unseen(const arca_chain_studies *cs, arca_chain_unseen_fn fn, void *ctx)
{
	for (size_t i = 0; i < cs->n; i++)
		if (!cs->s[i].seen && !cs->s[i].deleted)
			fn(ctx, cs->s[i].uid, cs->s[i].index, cs->s[i].instances);
}

void arca_chain_studies_only(arca_chain_studies *cs, const char *uid)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->s[i].uid, uid) != 0)
			cs->s[i].seen = true;
}

/* ------------------------------------------------------------ the log */

typedef struct first_fault {
	char *buf;
	size_t size;
	bool reported;
} first_fault;

static void on_log_fault(void *arg, const chain_log_fault *f)
{
	first_fault *ff = arg;

	if (ff->reported)
		return;
	ff->reported = true;
	if (f->index != CHAIN_LOG_NO_INDEX && f->commit[0] != '\0')
		snprintf(ff->buf, ff->size, "fault at entry %llu, commit %s: %s", (unsigned long long)f->index,
			 f->commit, f->reason);
	else if (f->index != CHAIN_LOG_NO_INDEX)
		snprintf(ff->buf, ff->size, "fault at entry %llu: %s", (unsigned long long)f->index, f->reason);
	else if (f->commit[0] != '\0')
		snprintf(ff->buf, ff->size, "fault at commit %s: %s", f->commit, f->reason);
	else
		snprintf(ff->buf, ff->size, "fault: %s", f->reason);
}

/* node.pub must be node.key's public half: a log checked against a key
 * put there by someone else proves nothing.  Skipped when node.key cannot
 * be read (another user's archive: verifying needs only the public key). */
static int check_key_pair(const arca_chain_ctx *ctx, char *fault, size_t size)
{
	uint8_t a[CHAIN_KEY_PUBLIC_LEN], b[CHAIN_KEY_PUBLIC_LEN];
	char path[PATH_MAX];
	chain_key *priv = NULL;
	int rc = 0;

	if (arca_node_path(path, sizeof(path), ctx->root, ARCA_NODE_KEY_FILE) < 0 || access(path, R_OK) != 0)
		return 0;
	if (chain_key_load(&priv, path) < 0)
		return 0;
	if (chain_key_public(priv, a) == 0 && chain_key_public(ctx->key, b) == 0 && memcmp(a, b, sizeof(a)) != 0) {
		snprintf(fault, size, "fault: %s/" ARCA_NODE_PUB_FILE " is not the public key of %s", ctx->root, path);
		rc = -1;
	}
	chain_key_free(priv);
	return rc;
}

int arca_chain_verify_log(const arca_chain_ctx *ctx, bool key_given, chain_log_stats *stats, char *fault,
			  size_t size)
{
	first_fault ff = { fault, size, false };
	int rc;

	memset(stats, 0, sizeof(*stats));
	fault[0] = '\0';
	if (!key_given && check_key_pair(ctx, fault, size) < 0)
		return 1;
	switch (arca_chain_state_of(ctx)) {
	case ARCA_CHAIN_NO_REPO:
		snprintf(fault, size, "fault: %s is missing: the archive has no log", ctx->repo);
		return 1;
	case ARCA_CHAIN_REF_MISSING:
		snprintf(fault, size, "fault: %s holds objects but no refs/arca/log/%s: the log's ref was removed",
			 ctx->repo, ctx->conf.node);
		return 1;
	case ARCA_CHAIN_EMPTY:
		/* stats stay zero: the empty tree's root, SHA-256("") */
		chain_hash_sha256_once(stats->root, "", 0);
		return 0;
	case ARCA_CHAIN_PRESENT:
		break;
	}
	rc = chain_log_verify_repo(ctx->repo, ctx->conf.node, ctx->key, on_log_fault, &ff, stats);
	if (rc < 0 && !ff.reported)
		snprintf(fault, size, "%s", arca_error_last());
	if (rc < 0)
		return rc == ARCA_ENOMEM ? 2 : 1;
	return 0;
}
