/* chain_entry_parse.c - strict parsing of canonical entries.
 *
 * jansson reads the JSON (bounded: the input is capped at
 * CHAIN_ENTRY_MAX_LEN before it is handed over, duplicates are refused,
 * NUL characters are refused).  The value is then checked member by
 * member against the entry's rules, encoded again by chain_entry.c and
 * compared byte for byte with the input: any spelling other than the
 * canonical one (member order, whitespace, escapes, number forms, hex
 * case) fails that comparison, so the grammar is written down once, in the
 * encoder, and the parser cannot drift from it. */
#include "chain_entry.h"
#include "chain_entry_priv.h"

#include "arca_err.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The value being parsed; pointers borrow from the jansson tree. */
struct parsing {
	chain_entry e;
	chain_consent consent;
	chain_query query;
	chain_key_change key;
	bool unindexed;                 /* chain_entry_parse_unindexed: no "index" */
	chain_series_ref *series;
	uint8_t (*hashes)[CHAIN_HASH_LEN];
};

static int bad(const char *what, const char *why)
{
	return arca_error_set(ARCA_EPROTO, "entry: %s %s", what, why);
}

static int get_str(json_t *v, const char *what, const char **s, size_t *n)
{
	*s = NULL;
	*n = 0;
	if (!json_is_string(v))
		return bad(what, "is not a string");
	*s = json_string_value(v);
	*n = json_string_length(v);
	return 0;
}

static int get_cstr(json_t *v, const char *what, const char **s)
{
	size_t n;
	return get_str(v, what, s, &n);
}

static int get_uint(json_t *v, const char *what, uint64_t max, uint64_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return bad(what, "is not an integer");
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return bad(what, "is out of range");
	*out = (uint64_t)i;
	return 0;
}

static int unhex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 64 lower-case hex digits. */
static int get_hash(json_t *v, const char *what, uint8_t out[CHAIN_HASH_LEN])
{
	const char *s = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = get_str(v, what, &s, &n)) < 0)
		return rc;
	if (n != 2 * CHAIN_HASH_LEN)
		return bad(what, "is not 64 hex digits");
	for (i = 0; i < CHAIN_HASH_LEN; i++) {
		int hi = unhex_digit(s[2 * i]), lo = unhex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return bad(what, "is not 64 lower-case hex digits");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int get_time(json_t *v, const char *what, int64_t *ms)
{
	const char *s = NULL;
	size_t n = 0;
	int rc;

	if ((rc = get_str(v, what, &s, &n)) < 0)
		return rc;
	if (chain_time_parse(s, n, ms) < 0)
		return bad(what, "is not a time YYYY-MM-DDTHH:MM:SS.mmmZ");
	return 0;
}

static int parse_actor(json_t *v, struct parsing *p)
{
	const char *key;
	json_t *m;
	int rc;

	if (!json_is_object(v))
		return bad("actor", "is not an object");
	json_object_foreach(v, key, m) {
		if (strcmp(key, "ae") == 0)
			rc = get_cstr(m, "actor ae", &p->e.actor_ae);
		else if (strcmp(key, "user") == 0)
			rc = get_cstr(m, "actor user", &p->e.actor_user);
		else
			rc = bad("actor", "has an unknown member");
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_consent(json_t *v, struct parsing *p)
{
	const char *key, *perm = NULL;
	json_t *m;
	int rc;

	if (!json_is_object(v))
		return bad("consent", "is not an object");
	memset(&p->consent, 0, sizeof(p->consent));
	json_object_foreach(v, key, m) {
		if (strcmp(key, "deid") == 0) {
			rc = get_cstr(m, "consent deid", &p->consent.deid);
		} else if (strcmp(key, "expires") == 0) {
			rc = get_time(m, "consent expires", &p->consent.expires_ms);
			if (rc == 0 && p->consent.expires_ms == 0)
				rc = bad("consent expires", "is the epoch, which means no expiry; omit it");
		} else if (strcmp(key, "grantee") == 0) {
			rc = get_cstr(m, "consent grantee", &p->consent.grantee);
		} else if (strcmp(key, "permission") == 0) {
			rc = get_cstr(m, "consent permission", &perm);
			if (rc == 0 && strcmp(perm, "view") == 0)
				p->consent.permission = CHAIN_PERMISSION_VIEW;
			else if (rc == 0 && strcmp(perm, "download") == 0)
				p->consent.permission = CHAIN_PERMISSION_DOWNLOAD;
			else if (rc == 0)
				rc = bad("consent permission", "is neither view nor download");
		} else {
			rc = bad("consent", "has an unknown member");
		}
		if (rc < 0)
			return rc;
	}
	p->e.consent = &p->consent;
	return 0;
}

static int parse_query(json_t *v, struct parsing *p)
{
	const char *key;
	json_t *m;
	uint64_t u = 0;
	int rc;

	if (!json_is_object(v))
		return bad("query", "is not an object");
	json_object_foreach(v, key, m) {
		if (strcmp(key, "matches") == 0) {
			rc = get_uint(m, "query matches", CHAIN_ENTRY_MAX_NUMBER, &p->query.matches);
		} else if (strcmp(key, "requests") == 0) {
			rc = get_uint(m, "query requests", UINT32_MAX, &u);
			p->query.requests = (uint32_t)u;
		} else {
			rc = bad("query", "has an unknown member");
		}
		if (rc < 0)
			return rc;
	}
	p->e.query = &p->query;
	return 0;
}

static int parse_key_change(json_t *v, struct parsing *p)
{
	const char *key;
	json_t *m;
	int rc;

	if (!json_is_object(v))
		return bad("key", "is not an object");
	json_object_foreach(v, key, m) {
		if (strcmp(key, "new") == 0)
			rc = get_hash(m, "key new", p->key.new_fp);
		else if (strcmp(key, "new_public") == 0)
			rc = get_hash(m, "key new_public", p->key.new_public);
		else if (strcmp(key, "old") == 0)
			rc = get_hash(m, "key old", p->key.old_fp);
		else if (strcmp(key, "old_public") == 0)
			rc = get_hash(m, "key old_public", p->key.old_public);
		else
			rc = bad("key", "has an unknown member");
		if (rc < 0)
			return rc;
	}
	p->e.key = &p->key;
	return 0;
}

static int parse_series(json_t *v, struct parsing *p)
{
	size_t i, n;
	int rc;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad("object series", "is not a non-empty array");
	n = json_array_size(v);
	/* n is bounded by the input length: each item is at least 2 bytes. */
	p->series = calloc(n, sizeof(*p->series));
	if (p->series == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory parsing an entry");
	for (i = 0; i < n; i++) {
		json_t *item = json_array_get(v, i), *m;
		const char *key;
		uint64_t count;
		int seen = 0;

		if (!json_is_object(item))
			return bad("object series item", "is not an object");
		json_object_foreach(item, key, m) {
			if (strcmp(key, "hash") == 0) {
				rc = get_hash(m, "series hash", p->series[i].hash);
				seen |= 1;
			} else if (strcmp(key, "instances") == 0) {
				rc = get_uint(m, "series instances", UINT32_MAX, &count);
				p->series[i].instances = (uint32_t)count;
				seen |= 2;
			} else if (strcmp(key, "uid") == 0) {
				rc = get_cstr(m, "series uid", &p->series[i].uid);
				seen |= 4;
			} else {
				rc = bad("object series item", "has an unknown member");
			}
			if (rc < 0)
				return rc;
		}
		if (seen != 7)
			return bad("object series item", "lacks hash, instances or uid");
	}
	p->e.series = p->series;
	p->e.n_series = n;
	return 0;
}

static int parse_hashes(json_t *v, struct parsing *p)
{
	size_t i, n;
	int rc;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad("object instance_hashes", "is not a non-empty array");
	n = json_array_size(v);
	p->hashes = calloc(n, sizeof(*p->hashes));
	if (p->hashes == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory parsing an entry");
	for (i = 0; i < n; i++)
		if ((rc = get_hash(json_array_get(v, i), "instance hash", p->hashes[i])) < 0)
			return rc;
	p->e.instance_hashes = (const uint8_t (*)[CHAIN_HASH_LEN])p->hashes;
	p->e.n_instance_hashes = n;
	return 0;
}

static int parse_object(json_t *v, struct parsing *p)
{
	const char *key;
	json_t *m;
	uint64_t count;
	int rc, has_instances = 0;

	if (!json_is_object(v))
		return bad("object", "is not an object");
	json_object_foreach(v, key, m) {
		if (strcmp(key, "instance_hashes") == 0) {
			rc = parse_hashes(m, p);
		} else if (strcmp(key, "instances") == 0) {
			rc = get_uint(m, "object instances", UINT32_MAX, &count);
			p->e.instances = (uint32_t)count;
			has_instances = 1;
		} else if (strcmp(key, "series") == 0) {
			rc = parse_series(m, p);
		} else if (strcmp(key, "study") == 0) {
			rc = get_cstr(m, "object study", &p->e.study_uid);
		} else if (strcmp(key, "study_hash") == 0) {
			rc = get_hash(m, "object study_hash", p->e.study_hash);
			p->e.has_study_hash = true;
		} else {
			rc = bad("object", "has an unknown member");
		}
		if (rc < 0)
			return rc;
	}
	if (p->e.study_uid == NULL || !has_instances)
		return bad("object", "lacks study or instances");
	return 0;
}

static int parse_subtype(json_t *v, struct parsing *p)
{
	const char *s = NULL;
	size_t n = 0, i;
	uint32_t code = 0;
	int rc;

	if ((rc = get_str(v, "subtype", &s, &n)) < 0)
		return rc;
	if (n < 5 || n > 13 || memcmp(s, "DCM:", 4) != 0)
		return bad("subtype", "is not DCM:<code>");
	for (i = 4; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return bad("subtype", "is not DCM:<code>");
		code = code * 10 + (uint32_t)(s[i] - '0');
	}
	if (code == 0)
		return bad("subtype", "is zero");
	p->e.subtype = code;
	return 0;
}

/* Required members, as bits. */
enum {
	HAS_ACTION = 1, HAS_ACTOR = 2, HAS_EVENT = 4, HAS_INDEX = 8, HAS_NODE = 16,
	HAS_OUTCOME = 32, HAS_TIME = 64, HAS_V = 128, HAS_ALL = 255
};

static int parse_member(const char *key, json_t *m, struct parsing *p, int *seen)
{
	const char *s = NULL;
	size_t n = 0;
	uint64_t u;
	int rc;

	if (strcmp(key, "action") == 0) {
		*seen |= HAS_ACTION;
		if ((rc = get_str(m, "action", &s, &n)) < 0)
			return rc;
		if (n != 1 || strchr("CRUDE", s[0]) == NULL)
			return bad("action", "is not one of C R U D E");
		p->e.action = s[0];
		return 0;
	}
	if (strcmp(key, "actor") == 0) {
		*seen |= HAS_ACTOR;
		return parse_actor(m, p);
	}
	if (strcmp(key, "consent") == 0)
		return parse_consent(m, p);
	if (strcmp(key, "event") == 0) {
		*seen |= HAS_EVENT;
		if ((rc = get_str(m, "event", &s, &n)) < 0)
			return rc;
		if (chain_entry__event_from_code(s, n, &p->e.event) < 0)
			return bad("event", "is not a known event code");
		return 0;
	}
	if (strcmp(key, "index") == 0) {
		if (p->unindexed)
			return bad("index", "is not in a spooled entry: the log assigns it");
		*seen |= HAS_INDEX;
		return get_uint(m, "index", CHAIN_ENTRY_MAX_INDEX, &p->e.index);
	}
	if (strcmp(key, "key") == 0)
		return parse_key_change(m, p);
	if (strcmp(key, "node") == 0) {
		*seen |= HAS_NODE;
		return get_cstr(m, "node", &p->e.node);
	}
	if (strcmp(key, "object") == 0)
		return parse_object(m, p);
	if (strcmp(key, "outcome") == 0) {
		*seen |= HAS_OUTCOME;
		if ((rc = get_uint(m, "outcome", 12, &u)) < 0)
			return rc;
		p->e.outcome = (uint8_t)u;
		return 0;
	}
	if (strcmp(key, "patient") == 0) {
		p->e.has_patient = true;
		return get_hash(m, "patient", p->e.patient);
	}
	if (strcmp(key, "peer") == 0)
		return get_cstr(m, "peer", &p->e.peer);
	if (strcmp(key, "purpose") == 0)
		return get_cstr(m, "purpose", &p->e.purpose);
	if (strcmp(key, "query") == 0)
		return parse_query(m, p);
	if (strcmp(key, "subtype") == 0)
		return parse_subtype(m, p);
	if (strcmp(key, "time") == 0) {
		*seen |= HAS_TIME;
		return get_time(m, "time", &p->e.time_ms);
	}
	if (strcmp(key, "v") == 0) {
		*seen |= HAS_V;
		if ((rc = get_uint(m, "v", UINT32_MAX, &u)) < 0)
			return rc;
		if (u != CHAIN_ENTRY_VERSION)
			return bad("v", "is a version this arca does not read");
		return 0;
	}
	return arca_error_set(ARCA_EPROTO, "entry: unknown member \"%.40s\"", key);
}

static size_t str_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Copies s into *arena, returns the copy (NULL stays NULL). */
static const char *copy_str(char **arena, const char *s)
{
	char *d = *arena;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(d, s, n);
	*arena += n;
	return d;
}

/* The entry as one allocation: the struct, the consent, the series, the
 * hashes, then the strings. */
struct owned {
	chain_entry e;
	chain_consent consent;
	chain_query query;
	chain_key_change key;
};

static int clone_entry(const chain_entry *src, chain_entry **out)
{
	size_t size = sizeof(struct owned), i;
	struct owned *o;
	chain_series_ref *series;
	uint8_t (*hashes)[CHAIN_HASH_LEN];
	char *arena;

	size += src->n_series * sizeof(chain_series_ref);
	size += src->n_instance_hashes * CHAIN_HASH_LEN;
	size += str_size(src->node) + str_size(src->actor_ae) + str_size(src->actor_user) +
		str_size(src->study_uid) + str_size(src->purpose) + str_size(src->peer);
	for (i = 0; i < src->n_series; i++)
		size += str_size(src->series[i].uid);
	if (src->consent != NULL)
		size += str_size(src->consent->grantee) + str_size(src->consent->deid);
	o = malloc(size);
	if (o == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a parsed entry");
	o->e = *src;
	series = (chain_series_ref *)(o + 1);
	hashes = (uint8_t (*)[CHAIN_HASH_LEN])(series + src->n_series);
	arena = (char *)(hashes + src->n_instance_hashes);
	o->e.node = copy_str(&arena, src->node);
	o->e.actor_ae = copy_str(&arena, src->actor_ae);
	o->e.actor_user = copy_str(&arena, src->actor_user);
	o->e.study_uid = copy_str(&arena, src->study_uid);
	o->e.purpose = copy_str(&arena, src->purpose);
	o->e.peer = copy_str(&arena, src->peer);
	for (i = 0; i < src->n_series; i++) {
		series[i] = src->series[i];
		series[i].uid = copy_str(&arena, src->series[i].uid);
	}
	o->e.series = src->n_series > 0 ? series : NULL;
	if (src->n_instance_hashes > 0)
		memcpy(hashes, src->instance_hashes, src->n_instance_hashes * CHAIN_HASH_LEN);
	o->e.instance_hashes = src->n_instance_hashes > 0 ? (const uint8_t (*)[CHAIN_HASH_LEN])hashes : NULL;
	if (src->consent != NULL) {
		o->consent = *src->consent;
		o->consent.grantee = copy_str(&arena, src->consent->grantee);
		o->consent.deid = copy_str(&arena, src->consent->deid);
		o->e.consent = &o->consent;
	}
	if (src->query != NULL) {
		o->query = *src->query;
		o->e.query = &o->query;
	}
	if (src->key != NULL) {
		o->key = *src->key;
		o->e.key = &o->key;
	}
	*out = &o->e;
	return 0;
}

static int parse(chain_entry **out, const void *bytes, size_t len, bool unindexed)
{
	struct parsing p;
	json_error_t jerr;
	json_t *root = NULL, *m;
	const char *key;
	char *canon = NULL;
	size_t canon_len = 0, i;
	int seen = 0, rc;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.unindexed = unindexed;
	if (unindexed)
		seen |= HAS_INDEX;
	if (len > CHAIN_ENTRY_MAX_LEN)
		return arca_error_set(ARCA_ELIMIT, "entry of %zu bytes is longer than %d", len,
				      CHAIN_ENTRY_MAX_LEN);
	/* Cheap refusals first: a canonical entry is one object, no space. */
	if (len < 2 || ((const char *)bytes)[0] != '{' || ((const char *)bytes)[len - 1] != '}')
		return arca_error_set(ARCA_EPROTO, "entry is not a JSON object");
	root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return arca_error_set(ARCA_EPROTO, "entry is not JSON: %s at byte %d", jerr.text,
				      jerr.position);
	if (!json_is_object(root)) {
		rc = arca_error_set(ARCA_EPROTO, "entry is not a JSON object");
		goto out;
	}
	json_object_foreach(root, key, m) {
		rc = parse_member(key, m, &p, &seen);
		if (rc < 0)
			goto out;
	}
	if (seen != HAS_ALL) {
		rc = arca_error_set(ARCA_EPROTO, "entry lacks one of action, actor, event, index, node, outcome, time, v");
		goto out;
	}
	rc = unindexed ? chain_entry_encode_unindexed(&p.e, &canon, &canon_len)
		       : chain_entry_encode(&p.e, &canon, &canon_len);
	if (rc < 0) {
		rc = arca_error_prefix(ARCA_EPROTO, "entry %llu", (unsigned long long)p.e.index);
		goto out;
	}
	if (canon_len != len || memcmp(canon, bytes, len) != 0) {
		for (i = 0; i < len && i < canon_len && canon[i] == ((const char *)bytes)[i]; i++)
			;
		rc = arca_error_set(ARCA_EPROTO, "entry %llu is not in canonical form (byte %zu differs)",
				    (unsigned long long)p.e.index, i);
		goto out;
	}
	rc = clone_entry(&p.e, out);
out:
	free(canon);
	free(p.series);
	free(p.hashes);
	json_decref(root);
	return rc;
}

int chain_entry_parse(chain_entry **out, const void *bytes, size_t len)
{
	return parse(out, bytes, len, false);
}

int chain_entry_parse_unindexed(chain_entry **out, const void *bytes, size_t len)
{
	return parse(out, bytes, len, true);
}

void chain_entry_free(chain_entry *e)
{
	/* e is the first member of its one allocation (struct owned). */
	free(e);
}
