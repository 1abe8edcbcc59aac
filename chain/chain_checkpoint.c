/* chain_checkpoint.c - building, signing, encoding and verifying
 * checkpoints (C2SP tlog-checkpoint in a C2SP signed note).  The parser is
 * in chain_checkpoint_parse.c. */
#include "chain_checkpoint_priv.h"
#include "chain_base64.h"

#include "arca_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char sig_prefix[] = CHAIN_CHECKPOINT__SIG_PREFIX;

size_t chain_checkpoint__utf8_next(const uint8_t *s, size_t left, uint32_t *cp)
{
	uint32_t c, min;
	size_t n, i;

	if (left == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool chain_checkpoint__is_space(uint32_t cp)
{
	switch (cp) {
	case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x20:
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return true;
	default:
		return cp >= 0x2000 && cp <= 0x200a;
	}
}

int chain_note_check_key_name(const char *name, size_t len)
{
	const uint8_t *s = (const uint8_t *)name;
	size_t at = 0;

	/* signed-note: key names are non-empty, without Unicode spaces or
	 * '+'; the note as a whole is UTF-8 without control characters. */
	if (len == 0)
		return arca_error_set(ARCA_EINVAL, "key name is empty");
	while (at < len) {
		uint32_t cp;
		size_t n = chain_checkpoint__utf8_next(s + at, len - at, &cp);
		if (n == 0)
			return arca_error_set(ARCA_EINVAL, "key name is not UTF-8 at byte %zu", at + 1);
		if (chain_checkpoint__is_space(cp) || cp == '+' || cp < 0x20 || cp == 0x7f)
			return arca_error_set(ARCA_EINVAL, "key name has a space, '+' or control character at byte %zu",
					      at + 1);
		at += n;
	}
	return 0;
}

/* Proleptic Gregorian calendar: days from 1970-01-01 to y-m-d. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	/* Count years from March, so that the leap day ends the year. */
	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool leap_year(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define TIME_MIN (-62167219200LL)
#define TIME_MAX 253402300799LL

int chain_checkpoint__format_time(int64_t t, char out[CHAIN_CHECKPOINT__TIME_LEN])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t < TIME_MIN || t > TIME_MAX)
		return arca_error_set(ARCA_EINVAL, "time %" PRId64 " is outside the years 0000-9999", t);
	if (gmtime_r(&tt, &tm) == NULL)
		return arca_error_set(ARCA_EINVAL, "time %" PRId64 " cannot be converted to UTC", t);
	snprintf(out, CHAIN_CHECKPOINT__TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

int chain_checkpoint__parse_time(const char *s, size_t len, int64_t *out)
{
	static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec, dim;

	/* RFC 3339 5.6 date-time, restricted to one spelling: UTC as "Z",
	 * whole seconds, upper-case T; no leap second (POSIX time has none). */
	if (len != CHAIN_CHECKPOINT__TIME_LEN - 1 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z' || !digits(s, 4, &y) ||
	    !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return arca_error_set(ARCA_EPROTO, "time is not of the form YYYY-MM-DDTHH:MM:SSZ");
	if (mo < 1 || mo > 12)
		return arca_error_set(ARCA_EPROTO, "time has month %02u", mo);
	dim = mdays[mo - 1] + (mo == 2 && leap_year(y) ? 1 : 0);
	if (d < 1 || d > dim)
		return arca_error_set(ARCA_EPROTO, "time has day %02u in a month of %u days", d, dim);
	if (h > 23 || mi > 59 || sec > 59)
		return arca_error_set(ARCA_EPROTO, "time of day %02u:%02u:%02u is out of range", h, mi, sec);
	*out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + sec;
	return 0;
}

int chain_checkpoint_new(chain_checkpoint **out, const char *origin, uint64_t size,
			 const uint8_t root[CHAIN_HASH_LEN], int64_t time)
{
	char root64[CHAIN_HASH_LEN * 2];
	char when[CHAIN_CHECKPOINT__TIME_LEN];
	chain_checkpoint *cp;
	int rc, len;

	*out = NULL;
	rc = chain_note_check_key_name(origin, strlen(origin));
	if (rc < 0)
		return arca_error_prefix(rc, "checkpoint origin");
	rc = chain_checkpoint__format_time(time, when);
	if (rc < 0)
		return rc;
	chain_base64_encode(root64, root, CHAIN_HASH_LEN);
	cp = calloc(1, sizeof(*cp));
	if (cp == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a checkpoint");
	cp->origin = strdup(origin);
	/* C2SP tlog-checkpoint: origin, tree size, root hash; then the
	 * time as arca's extension line. */
	len = asprintf(&cp->body, "%s\n%" PRIu64 "\n%s\n" CHAIN_CHECKPOINT__TIME_PREFIX "%s\n",
		       origin, size, root64, when);
	if (cp->origin == NULL || len < 0) {
		if (len < 0)
			cp->body = NULL;
		chain_checkpoint_free(cp);
		return arca_error_set(ARCA_ENOMEM, "out of memory for a checkpoint");
	}
	cp->body_len = (size_t)len;
	cp->size = size;
	memcpy(cp->root, root, CHAIN_HASH_LEN);
	cp->has_time = true;
	cp->time = time;
	*out = cp;
	return 0;
}

void chain_checkpoint_free(chain_checkpoint *cp)
{
	size_t i;

	if (cp == NULL)
		return;
	for (i = 0; i < cp->n_sigs; i++) {
		free(cp->sigs[i].name);
		free(cp->sigs[i].sig);
	}
	for (i = 0; i < cp->n_ext; i++)
		free(cp->ext[i]);
	free(cp->origin);
	free(cp->body);
	free(cp);
}

const char *chain_checkpoint_origin(const chain_checkpoint *cp)
{
	return cp->origin;
}

uint64_t chain_checkpoint_size(const chain_checkpoint *cp)
{
	return cp->size;
}

const uint8_t *chain_checkpoint_root(const chain_checkpoint *cp)
{
	return cp->root;
}

int chain_checkpoint_time(const chain_checkpoint *cp, int64_t *out)
{
	if (!cp->has_time)
		return arca_error_set(ARCA_ENOTFOUND, "checkpoint of %s has no time line", cp->origin);
	*out = cp->time;
	return 0;
}

size_t chain_checkpoint_extension_count(const chain_checkpoint *cp)
{
	return cp->n_ext;
}

const char *chain_checkpoint_extension(const chain_checkpoint *cp, size_t i)
{
	return i < cp->n_ext ? cp->ext[i] : NULL;
}

const char *chain_checkpoint_body(const chain_checkpoint *cp, size_t *len)
{
	*len = cp->body_len;
	return cp->body;
}

size_t chain_checkpoint_signature_count(const chain_checkpoint *cp)
{
	return cp->n_sigs;
}

int chain_checkpoint_signature(const chain_checkpoint *cp, size_t i, const char **key_name,
			       uint32_t *key_id)
{
	if (i >= cp->n_sigs)
		return arca_error_set(ARCA_EINVAL, "checkpoint has %zu signatures, not %zu", cp->n_sigs,
				      i + 1);
	*key_name = cp->sigs[i].name;
	*key_id = cp->sigs[i].key_id;
	return 0;
}

int chain_note_key_id(const char *key_name, const uint8_t pub[CHAIN_KEY_PUBLIC_LEN], uint32_t *out)
{
	uint8_t hash[CHAIN_HASH_LEN];
	uint8_t *buf;
	size_t name_len = strlen(key_name);
	int rc;

	/* signed-note "Ed25519 signatures": key ID =
	 * SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]. */
	buf = malloc(name_len + 2 + CHAIN_KEY_PUBLIC_LEN);
	if (buf == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory for a key id");
	memcpy(buf, key_name, name_len);
	buf[name_len] = 0x0a;
	buf[name_len + 1] = CHAIN_NOTE_ALG_ED25519;
	memcpy(buf + name_len + 2, pub, CHAIN_KEY_PUBLIC_LEN);
	rc = chain_hash_sha256_once(hash, buf, name_len + 2 + CHAIN_KEY_PUBLIC_LEN);
	free(buf);
	if (rc < 0)
		return rc;
	*out = (uint32_t)hash[0] << 24 | (uint32_t)hash[1] << 16 | (uint32_t)hash[2] << 8 | hash[3];
	return 0;
}

static struct chain_note_sig *find_sig(chain_checkpoint *cp, const char *name, uint32_t key_id)
{
	size_t i;

	for (i = 0; i < cp->n_sigs; i++) {
		if (cp->sigs[i].key_id == key_id && strcmp(cp->sigs[i].name, name) == 0)
			return &cp->sigs[i];
	}
	return NULL;
}

int chain_checkpoint_sign(chain_checkpoint *cp, const chain_key *key, const char *key_name)
{
	uint8_t pub[CHAIN_KEY_PUBLIC_LEN];
	uint8_t sig[CHAIN_KEY_SIG_LEN];
	struct chain_note_sig *slot;
	uint32_t key_id;
	uint8_t *sig_copy;
	char *name_copy = NULL;
	int rc;

	rc = chain_note_check_key_name(key_name, strlen(key_name));
	if (rc < 0)
		return rc;
	rc = chain_key_public(key, pub);
	if (rc == 0)
		rc = chain_note_key_id(key_name, pub, &key_id);
	if (rc == 0)
		rc = chain_key_sign(key, cp->body, cp->body_len, sig);
	if (rc < 0)
		return rc;
	slot = find_sig(cp, key_name, key_id);
	if (slot == NULL && cp->n_sigs == CHAIN_CHECKPOINT_MAX_SIGS)
		return arca_error_set(ARCA_ELIMIT, "checkpoint already has %d signatures",
				      CHAIN_CHECKPOINT_MAX_SIGS);
	sig_copy = malloc(CHAIN_KEY_SIG_LEN);
	if (slot == NULL)
		name_copy = strdup(key_name);
	if (sig_copy == NULL || (slot == NULL && name_copy == NULL)) {
		free(sig_copy);
		free(name_copy);
		return arca_error_set(ARCA_ENOMEM, "out of memory for a signature");
	}
	memcpy(sig_copy, sig, CHAIN_KEY_SIG_LEN);
	if (slot == NULL) {
		slot = &cp->sigs[cp->n_sigs++];
		slot->name = name_copy;
		slot->key_id = key_id;
	} else {
		free(slot->sig);
	}
	slot->sig = sig_copy;
	slot->sig_len = CHAIN_KEY_SIG_LEN;
	return 0;
}

int chain_checkpoint_encode(const chain_checkpoint *cp, char **out, size_t *len)
{
	uint8_t blob[4 + CHAIN_CHECKPOINT_MAX_SIG_BYTES];
	size_t total, at, i;
	char *text;

	*out = NULL;
	*len = 0;
	if (cp->n_sigs == 0)
		return arca_error_set(ARCA_EINVAL, "checkpoint of %s is not signed", cp->origin);
	/* body, blank line, then "— name base64\n" per signature */
	total = cp->body_len + 1;
	for (i = 0; i < cp->n_sigs; i++)
		total += strlen(sig_prefix) + strlen(cp->sigs[i].name) + 1 +
			 chain_base64_encoded_len(4 + cp->sigs[i].sig_len) + 1;
	text = malloc(total + 1);
	if (text == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory encoding a checkpoint");
	memcpy(text, cp->body, cp->body_len);
	at = cp->body_len;
	text[at++] = '\n';
	for (i = 0; i < cp->n_sigs; i++) {
		const struct chain_note_sig *s = &cp->sigs[i];
		size_t name_len = strlen(s->name);

		memcpy(text + at, sig_prefix, strlen(sig_prefix));
		at += strlen(sig_prefix);
		memcpy(text + at, s->name, name_len);
		at += name_len;
		text[at++] = ' ';
		/* signed-note: base64(uint32 big-endian key id || signature) */
		blob[0] = (uint8_t)(s->key_id >> 24);
		blob[1] = (uint8_t)(s->key_id >> 16);
		blob[2] = (uint8_t)(s->key_id >> 8);
		blob[3] = (uint8_t)s->key_id;
		memcpy(blob + 4, s->sig, s->sig_len);
		chain_base64_encode(text + at, blob, 4 + s->sig_len);
		at += chain_base64_encoded_len(4 + s->sig_len);
		text[at++] = '\n';
	}
	text[at] = '\0';
	*out = text;
	*len = at;
	return 0;
}

int chain_checkpoint_verify(const chain_checkpoint *cp, const chain_key *key, const char *key_name)
{
	uint8_t pub[CHAIN_KEY_PUBLIC_LEN];
	uint32_t key_id;
	size_t i, matched = 0;
	int rc;

	rc = chain_key_public(key, pub);
	if (rc == 0)
		rc = chain_note_key_id(key_name, pub, &key_id);
	if (rc < 0)
		return rc;
	/* signed-note: signatures whose name and key id both match a known
	 * key must verify; others are ignored; at least one must verify. */
	for (i = 0; i < cp->n_sigs; i++) {
		const struct chain_note_sig *s = &cp->sigs[i];

		if (s->key_id != key_id || strcmp(s->name, key_name) != 0)
			continue;
		matched++;
		if (s->sig_len != CHAIN_KEY_SIG_LEN)
			return arca_error_set(ARCA_ECRYPTO, "checkpoint signature %zu by %s is %zu bytes, not an Ed25519 signature",
					      i + 1, key_name, s->sig_len);
		rc = chain_key_verify(key, cp->body, cp->body_len, s->sig);
		if (rc < 0)
			return arca_error_prefix(rc, "checkpoint of %s size %" PRIu64 ", signature %zu by %s",
						 cp->origin, cp->size, i + 1, key_name);
	}
	if (matched == 0)
		return arca_error_set(ARCA_ENOTFOUND, "checkpoint of %s size %" PRIu64 " has no signature by %s (key id %08" PRIx32 ")",
				      cp->origin, cp->size, key_name, key_id);
	return 0;
}
