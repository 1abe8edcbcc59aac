/* chain_entry.c - the rules of an entry's value and its canonical JSON
 * encoding (docs/chain-format.md 6).  The parser (chain_entry_parse.c)
 * accepts exactly what this file writes. */
#include "chain_entry.h"
#include "chain_entry_priv.h"

#include "arca_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- event codes ---- */

/* PS3.16 CID 400 Audit Event ID (coding scheme designator DCM), the event
 * types PS3.15 A.5.3 uses, and arca's own. */
static const struct event_def {
	chain_event event;
	const char *code;
	const char *name;
} events[] = {
	{ CHAIN_EVENT_CONSENT_GRANT, "arca:consent-grant", "Consent Grant" },
	{ CHAIN_EVENT_CONSENT_REVOKE, "arca:consent-revoke", "Consent Revocation" },
	{ CHAIN_EVENT_QUARANTINE_RELEASE, "arca:quarantine-release", "Quarantine Release" },
	{ CHAIN_EVENT_QUARANTINE_DROP, "arca:quarantine-drop", "Quarantine Drop" },
	{ CHAIN_EVENT_VERIFY, "arca:verify", "Archive Verification" },
	{ CHAIN_EVENT_KEY_CHANGE, "arca:key-change", "Node Key Change" },
	{ CHAIN_EVENT_APPLICATION_ACTIVITY, "DCM:110100", "Application Activity" },
	{ CHAIN_EVENT_AUDIT_LOG_USED, "DCM:110101", "Audit Log Used" },
	{ CHAIN_EVENT_BEGIN_TRANSFERRING, "DCM:110102", "Begin Transferring DICOM Instances" },
	{ CHAIN_EVENT_INSTANCES_ACCESSED, "DCM:110103", "DICOM Instances Accessed" },
	{ CHAIN_EVENT_INSTANCES_TRANSFERRED, "DCM:110104", "DICOM Instances Transferred" },
	{ CHAIN_EVENT_STUDY_DELETED, "DCM:110105", "DICOM Study Deleted" },
	{ CHAIN_EVENT_EXPORT, "DCM:110106", "Export" },
	{ CHAIN_EVENT_IMPORT, "DCM:110107", "Import" },
	{ CHAIN_EVENT_NETWORK_ENTRY, "DCM:110108", "Network Entry" },
	{ CHAIN_EVENT_ORDER_RECORD, "DCM:110109", "Order Record" },
	{ CHAIN_EVENT_PATIENT_RECORD, "DCM:110110", "Patient Record" },
	{ CHAIN_EVENT_PROCEDURE_RECORD, "DCM:110111", "Procedure Record" },
	{ CHAIN_EVENT_QUERY, "DCM:110112", "Query" },
	{ CHAIN_EVENT_SECURITY_ALERT, "DCM:110113", "Security Alert" },
	{ CHAIN_EVENT_USER_AUTHENTICATION, "DCM:110114", "User Authentication" },
};

const char *chain_event_code(chain_event event)
{
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].event == event)
			return events[i].code;
	return NULL;
}

const char *chain_event_name(chain_event event)
{
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].event == event)
			return events[i].name;
	return NULL;
}

int chain_entry__event_from_code(const char *code, size_t len, chain_event *out)
{
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (strlen(events[i].code) == len && memcmp(events[i].code, code, len) == 0) {
			*out = events[i].event;
			return 0;
		}
	return ARCA_ENOTFOUND;
}

static bool is_consent_event(chain_event ev)
{
	return ev == CHAIN_EVENT_CONSENT_GRANT || ev == CHAIN_EVENT_CONSENT_REVOKE;
}

/* ---- time: RFC 3339, UTC, milliseconds ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date, years 0..9999:
 * the 400-year era arithmetic (400 years are 146097 days) shifted so that
 * years begin in March and the leap day falls last. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

#define MS_PER_DAY INT64_C(86400000)

static int64_t max_time_ms(void)
{
	return days_from_civil(10000, 1, 1) * MS_PER_DAY - 1;
}

int chain_time_format(int64_t ms, char out[CHAIN_TIME_LEN])
{
	int64_t days, rem, y;
	unsigned m, d;

	if (ms < 0 || ms > max_time_ms())
		return arca_error_set(ARCA_EINVAL, "time %" PRId64 " ms is outside years 1970..9999", ms);
	days = ms / MS_PER_DAY;
	rem = ms % MS_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, CHAIN_TIME_LEN, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, m, d,
		 (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
		 (int)(rem % 1000));
	return 0;
}

static bool digits(const char *s, size_t n, unsigned *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

int chain_time_parse(const char *s, size_t len, int64_t *ms)
{
	/* YYYY-MM-DDTHH:MM:SS.mmmZ */
	unsigned y, mo, d, h, mi, se, mil, mdays;
	static const unsigned month_days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (len != CHAIN_TIME_LEN - 1 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' ||
	    !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) ||
	    !digits(s + 20, 3, &mil))
		return arca_error_set(ARCA_EPROTO, "time is not of the form YYYY-MM-DDTHH:MM:SS.mmmZ");
	if (y < 1970 || mo < 1 || mo > 12)
		return arca_error_set(ARCA_EPROTO, "time: year or month out of range");
	mdays = month_days[mo - 1];
	if (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		mdays = 29;
	if (d < 1 || d > mdays || h > 23 || mi > 59 || se > 59)
		return arca_error_set(ARCA_EPROTO, "time: not a calendar date and time (no leap seconds)");
	*ms = days_from_civil(y, mo, d) * MS_PER_DAY +
	      (int64_t)((h * 3600 + mi * 60 + se) * 1000 + mil);
	return 0;
}

/* ---- value rules ---- */

int chain_node_name_check(const char *name)
{
	size_t i, n = strlen(name), comp = 0;

	if (n == 0 || n > CHAIN_ENTRY_NODE_MAX)
		return arca_error_set(ARCA_EINVAL, "node name must have 1 to %d characters",
				      CHAIN_ENTRY_NODE_MAX);
	for (i = 0; i <= n; i++) {
		char c = name[i];

		if (c == '/' || c == '\0') {
			size_t len = i - comp;
			if (len == 0)
				return arca_error_set(ARCA_EINVAL, "node name \"%s\" has an empty component", name);
			if (name[comp] == '.')
				return arca_error_set(ARCA_EINVAL, "node name \"%s\": a component starts with '.'", name);
			if (len >= 5 && memcmp(name + i - 5, ".lock", 5) == 0)
				return arca_error_set(ARCA_EINVAL, "node name \"%s\": a component ends in .lock", name);
			comp = i + 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return arca_error_set(ARCA_EINVAL,
					      "node name \"%s\": character %zu is not one of A-Z a-z 0-9 . _ - /",
					      name, i + 1);
	}
	return 0;
}

/* PS3.5 Table 6.2-1, AE: default repertoire without backslash and control
 * characters, at most 16; leading and trailing spaces are not significant,
 * so the log keeps the trimmed form only, and an AE of spaces is not one. */
static int check_ae(const char *what, const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CHAIN_ENTRY_AE_MAX)
		return arca_error_set(ARCA_EINVAL, "%s: an AE title has 1 to 16 characters", what);
	if (s[0] == ' ' || s[n - 1] == ' ')
		return arca_error_set(ARCA_EINVAL, "%s: AE title \"%s\" has leading or trailing spaces",
				      what, s);
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\\')
			return arca_error_set(ARCA_EINVAL, "%s: AE title has a character outside PS3.5's repertoire",
					      what);
	return 0;
}

/* PS3.5 9.1: components of digits separated by '.', no leading zero in a
 * component of more than one digit, at most 64 characters. */
static int check_uid(const char *what, const char *s)
{
	size_t i, n = strlen(s), comp = 0;

	if (n == 0 || n > CHAIN_ENTRY_UID_MAX)
		return arca_error_set(ARCA_EINVAL, "%s: a UID has 1 to 64 characters", what);
	for (i = 0; i <= n; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (i == comp)
				return arca_error_set(ARCA_EINVAL, "%s: UID \"%s\" has an empty component", what, s);
			if (s[comp] == '0' && i - comp > 1)
				return arca_error_set(ARCA_EINVAL, "%s: UID \"%s\" has a component with a leading zero",
						      what, s);
			comp = i + 1;
		} else if (s[i] < '0' || s[i] > '9') {
			return arca_error_set(ARCA_EINVAL, "%s: UID \"%s\" has a character other than 0-9 and '.'",
					      what, s);
		}
	}
	return 0;
}

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF) without C0 controls or DEL, 1..max bytes. */
static int check_text(const char *what, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = strlen(s);

	if (n == 0 || n > max)
		return arca_error_set(ARCA_EINVAL, "%s must have 1 to %zu bytes", what, max);
	while (i < n) {
		unsigned c = p[i], need, cp, min;
		size_t k;

		if (c < 0x20 || c == 0x7f)
			return arca_error_set(ARCA_EINVAL, "%s has a control character at byte %zu", what, i);
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return arca_error_set(ARCA_EINVAL, "%s is not UTF-8 at byte %zu", what, i);
		}
		if (n - i <= need)
			return arca_error_set(ARCA_EINVAL, "%s ends inside a UTF-8 sequence", what);
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return arca_error_set(ARCA_EINVAL, "%s is not UTF-8 at byte %zu", what, i + k);
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return arca_error_set(ARCA_EINVAL, "%s has an invalid UTF-8 sequence at byte %zu", what, i);
		i += need + 1;
	}
	return 0;
}

/* Tokens (purpose of use codes, profile names): A-Z a-z 0-9 . _ : - */
static int check_token(const char *what, const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CHAIN_ENTRY_TOKEN_MAX)
		return arca_error_set(ARCA_EINVAL, "%s must have 1 to %d characters", what,
				      CHAIN_ENTRY_TOKEN_MAX);
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return arca_error_set(ARCA_EINVAL, "%s \"%s\": character %zu is not one of A-Z a-z 0-9 . _ : -",
					      what, s, i + 1);
	}
	return 0;
}

static int check_time(const char *what, int64_t ms)
{
	if (ms < 0 || ms > max_time_ms())
		return arca_error_set(ARCA_EINVAL, "%s %" PRId64 " ms is outside years 1970..9999", what, ms);
	return 0;
}

/* The fingerprints are SHA-256 of the public keys, and the key changes. */
static int check_key_change(const chain_key_change *k)
{
	uint8_t fp[CHAIN_HASH_LEN];
	int rc;

	if ((rc = chain_hash_sha256_once(fp, k->old_public, sizeof(k->old_public))) < 0)
		return rc;
	if (memcmp(fp, k->old_fp, sizeof(fp)) != 0)
		return arca_error_set(ARCA_EINVAL, "key change: old is not the fingerprint of old_public");
	if ((rc = chain_hash_sha256_once(fp, k->new_public, sizeof(k->new_public))) < 0)
		return rc;
	if (memcmp(fp, k->new_fp, sizeof(fp)) != 0)
		return arca_error_set(ARCA_EINVAL, "key change: new is not the fingerprint of new_public");
	if (memcmp(k->old_public, k->new_public, sizeof(k->old_public)) == 0)
		return arca_error_set(ARCA_EINVAL, "key change: the new key is the old one");
	return 0;
}

int chain_entry_check(const chain_entry *e)
{
	size_t i;
	int rc;

	if (e->index > CHAIN_ENTRY_MAX_INDEX)
		return arca_error_set(ARCA_EINVAL, "entry index %" PRIu64 " is past %" PRIu64, e->index,
				      CHAIN_ENTRY_MAX_INDEX);
	if ((rc = check_time("entry time", e->time_ms)) < 0)
		return rc;
	if (e->node == NULL)
		return arca_error_set(ARCA_EINVAL, "entry has no node");
	if ((rc = chain_node_name_check(e->node)) < 0)
		return rc;
	if (chain_event_code(e->event) == NULL)
		return arca_error_set(ARCA_EINVAL, "entry event %d is not a known event code", (int)e->event);
	if (e->subtype > 999999999)
		return arca_error_set(ARCA_EINVAL, "entry subtype %u is not a DCM code", e->subtype);
	if (strchr("CRUDE", e->action) == NULL || e->action == '\0')
		return arca_error_set(ARCA_EINVAL, "entry action must be one of C R U D E (PS3.15 A.5.1)");
	if (e->outcome != 0 && e->outcome != 4 && e->outcome != 8 && e->outcome != 12)
		return arca_error_set(ARCA_EINVAL, "entry outcome %u is not 0, 4, 8 or 12 (PS3.15 A.5.1)",
				      e->outcome);
	if (e->actor_ae == NULL && e->actor_user == NULL)
		return arca_error_set(ARCA_EINVAL, "entry has no actor (neither AE title nor user)");
	if (e->actor_ae != NULL && (rc = check_ae("actor", e->actor_ae)) < 0)
		return rc;
	if (e->actor_user != NULL && (rc = check_text("actor user", e->actor_user, CHAIN_ENTRY_TEXT_MAX)) < 0)
		return rc;
	if (e->study_uid == NULL) {
		if (e->has_study_hash || e->instances != 0 || e->n_series != 0 || e->n_instance_hashes != 0)
			return arca_error_set(ARCA_EINVAL, "entry has object members but no study UID");
	} else {
		if ((rc = check_uid("study", e->study_uid)) < 0)
			return rc;
		if (e->n_series > 0 && e->series == NULL)
			return arca_error_set(ARCA_EINVAL, "entry: %zu series but no array", e->n_series);
		for (i = 0; i < e->n_series; i++) {
			if (e->series[i].uid == NULL)
				return arca_error_set(ARCA_EINVAL, "entry series %zu has no UID", i);
			if ((rc = check_uid("series", e->series[i].uid)) < 0)
				return rc;
			if (i > 0 && strcmp(e->series[i - 1].uid, e->series[i].uid) >= 0)
				return arca_error_set(ARCA_EINVAL, "entry series must be sorted by UID without duplicates (series %zu)",
						      i);
		}
		if (e->n_instance_hashes > 0 && e->instance_hashes == NULL)
			return arca_error_set(ARCA_EINVAL, "entry: %zu instance hashes but no array",
					      e->n_instance_hashes);
	}
	if (e->purpose != NULL && (rc = check_token("purpose of use", e->purpose)) < 0)
		return rc;
	if (e->peer != NULL && (rc = check_text("peer", e->peer, CHAIN_ENTRY_TEXT_MAX)) < 0)
		return rc;
	if (e->query != NULL) {
		if (e->event != CHAIN_EVENT_QUERY)
			return arca_error_set(ARCA_EINVAL, "a query member goes with Query events (DCM:110112) only");
		if (e->query->requests == 0)
			return arca_error_set(ARCA_EINVAL, "entry query counts no request");
		if (e->query->matches > CHAIN_ENTRY_MAX_NUMBER)
			return arca_error_set(ARCA_EINVAL, "entry query matches %" PRIu64 " is past 2^53 - 1",
					      e->query->matches);
	}
	if ((e->event == CHAIN_EVENT_KEY_CHANGE) != (e->key != NULL))
		return arca_error_set(ARCA_EINVAL, "a key member goes with key-change events, and only with them");
	if (e->key != NULL && (rc = check_key_change(e->key)) < 0)
		return rc;
	if (is_consent_event(e->event) != (e->consent != NULL))
		return arca_error_set(ARCA_EINVAL, "a consent member goes with consent events, and only with them");
	if (e->consent != NULL) {
		const chain_consent *c = e->consent;

		if (!e->has_patient)
			return arca_error_set(ARCA_EINVAL, "a consent entry names its patient (pseudonym)");
		if (c->grantee == NULL)
			return arca_error_set(ARCA_EINVAL, "consent has no grantee");
		if ((rc = chain_node_name_check(c->grantee)) < 0)
			return rc;
		if (c->permission != CHAIN_PERMISSION_VIEW && c->permission != CHAIN_PERMISSION_DOWNLOAD)
			return arca_error_set(ARCA_EINVAL, "consent permission must be view or download");
		if (c->expires_ms != 0 && (rc = check_time("consent expiry", c->expires_ms)) < 0)
			return rc;
		if (c->deid != NULL && (rc = check_token("de-identification profile", c->deid)) < 0)
			return rc;
	}
	return 0;
}

/* ---- the encoder ---- */

/* A growing buffer capped at CHAIN_ENTRY_MAX_LEN; the first failure sticks
 * and later writes are no-ops, so the encoder checks once at the end. */
struct ebuf {
	char *p;
	size_t len, cap;
	int err;
};

static void put(struct ebuf *b, const char *s, size_t n)
{
	if (b->err != 0)
		return;
	if (n > CHAIN_ENTRY_MAX_LEN - b->len) {
		b->err = arca_error_set(ARCA_ELIMIT, "entry is longer than %d bytes", CHAIN_ENTRY_MAX_LEN);
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap * 2;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->err = arca_error_set(ARCA_ENOMEM, "out of memory encoding an entry");
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct ebuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A JSON string: the value was checked to hold no control character, so
 * only the quote and the backslash need escaping (RFC 8259 7). */
static void put_str(struct ebuf *b, const char *s)
{
	const char *run = s;

	put(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			put(b, run, (size_t)(s - run));
			put(b, *s == '"' ? "\\\"" : "\\\\", 2);
			run = s + 1;
		}
	}
	put(b, run, (size_t)(s - run));
	put(b, "\"", 1);
}

static void put_u64(struct ebuf *b, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);
	put(b, num, (size_t)n);
}

static void put_hex(struct ebuf *b, const uint8_t h[CHAIN_HASH_LEN])
{
	char hex[2 * CHAIN_HASH_LEN + 3];

	hex[0] = '"';
	chain_hash_hex(hex + 1, h, CHAIN_HASH_LEN);
	hex[2 * CHAIN_HASH_LEN + 1] = '"';
	put(b, hex, 2 * CHAIN_HASH_LEN + 2);
}

static void put_time(struct ebuf *b, int64_t ms)
{
	char t[CHAIN_TIME_LEN];

	if (chain_time_format(ms, t) < 0) {
		if (b->err == 0)
			b->err = ARCA_EINVAL;
		return;
	}
	put(b, "\"", 1);
	put(b, t, CHAIN_TIME_LEN - 1);
	put(b, "\"", 1);
}

/* Members are written in the byte order of their names (RFC 8785 3.2.3;
 * all names are ASCII, so UTF-16 and byte order agree): the order of the
 * statements below is the format. */
static int encode(const chain_entry *e, bool with_index, char **out, size_t *len)
{
	struct ebuf b = { NULL, 0, 0, 0 };
	char code[24];
	size_t i;
	int rc;

	*out = NULL;
	*len = 0;
	rc = chain_entry_check(e);
	if (rc < 0)
		return rc;
	b.cap = 512;
	b.p = malloc(b.cap);
	if (b.p == NULL)
		return arca_error_set(ARCA_ENOMEM, "out of memory encoding an entry");

	puts_(&b, "{\"action\":\"");
	put(&b, &e->action, 1);
	puts_(&b, "\",\"actor\":{");
	if (e->actor_ae != NULL) {
		puts_(&b, "\"ae\":");
		put_str(&b, e->actor_ae);
	}
	if (e->actor_user != NULL) {
		puts_(&b, e->actor_ae != NULL ? ",\"user\":" : "\"user\":");
		put_str(&b, e->actor_user);
	}
	puts_(&b, "}");
	if (e->consent != NULL) {
		const chain_consent *c = e->consent;

		puts_(&b, ",\"consent\":{");
		if (c->deid != NULL) {
			puts_(&b, "\"deid\":");
			put_str(&b, c->deid);
			puts_(&b, ",");
		}
		if (c->expires_ms != 0) {
			puts_(&b, "\"expires\":");
			put_time(&b, c->expires_ms);
			puts_(&b, ",");
		}
		puts_(&b, "\"grantee\":");
		put_str(&b, c->grantee);
		puts_(&b, c->permission == CHAIN_PERMISSION_VIEW ? ",\"permission\":\"view\"}"
								 : ",\"permission\":\"download\"}");
	}
	puts_(&b, ",\"event\":\"");
	puts_(&b, chain_event_code(e->event));
	puts_(&b, "\"");
	if (with_index) {
		puts_(&b, ",\"index\":");
		put_u64(&b, e->index);
	}
	if (e->key != NULL) {
		puts_(&b, ",\"key\":{\"new\":");
		put_hex(&b, e->key->new_fp);
		puts_(&b, ",\"new_public\":");
		put_hex(&b, e->key->new_public);
		puts_(&b, ",\"old\":");
		put_hex(&b, e->key->old_fp);
		puts_(&b, ",\"old_public\":");
		put_hex(&b, e->key->old_public);
		puts_(&b, "}");
	}
	puts_(&b, ",\"node\":");
	put_str(&b, e->node);
	if (e->study_uid != NULL) {
		puts_(&b, ",\"object\":{");
		if (e->n_instance_hashes > 0) {
			puts_(&b, "\"instance_hashes\":[");
			for (i = 0; i < e->n_instance_hashes && b.err == 0; i++) {
				if (i > 0)
					puts_(&b, ",");
				put_hex(&b, e->instance_hashes[i]);
			}
			puts_(&b, "],");
		}
		puts_(&b, "\"instances\":");
		put_u64(&b, e->instances);
		if (e->n_series > 0) {
			puts_(&b, ",\"series\":[");
			for (i = 0; i < e->n_series && b.err == 0; i++) {
				puts_(&b, i > 0 ? ",{\"hash\":" : "{\"hash\":");
				put_hex(&b, e->series[i].hash);
				puts_(&b, ",\"instances\":");
				put_u64(&b, e->series[i].instances);
				puts_(&b, ",\"uid\":");
				put_str(&b, e->series[i].uid);
				puts_(&b, "}");
			}
			puts_(&b, "]");
		}
		puts_(&b, ",\"study\":");
		put_str(&b, e->study_uid);
		if (e->has_study_hash) {
			puts_(&b, ",\"study_hash\":");
			put_hex(&b, e->study_hash);
		}
		puts_(&b, "}");
	}
	puts_(&b, ",\"outcome\":");
	put_u64(&b, e->outcome);
	if (e->has_patient) {
		puts_(&b, ",\"patient\":");
		put_hex(&b, e->patient);
	}
	if (e->peer != NULL) {
		puts_(&b, ",\"peer\":");
		put_str(&b, e->peer);
	}
	if (e->purpose != NULL) {
		puts_(&b, ",\"purpose\":");
		put_str(&b, e->purpose);
	}
	if (e->query != NULL) {
		puts_(&b, ",\"query\":{\"matches\":");
		put_u64(&b, e->query->matches);
		puts_(&b, ",\"requests\":");
		put_u64(&b, e->query->requests);
		puts_(&b, "}");
	}
	if (e->subtype != 0) {
		snprintf(code, sizeof(code), ",\"subtype\":\"DCM:%u\"", e->subtype);
		puts_(&b, code);
	}
	puts_(&b, ",\"time\":");
	put_time(&b, e->time_ms);
	puts_(&b, ",\"v\":1}");

	if (b.err != 0) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

int chain_entry_encode(const chain_entry *e, char **out, size_t *len)
{
	return encode(e, true, out, len);
}

int chain_entry_encode_unindexed(const chain_entry *e, char **out, size_t *len)
{
	return encode(e, false, out, len);
}
