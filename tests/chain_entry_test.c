/* chain_entry_test.c - the canonical entry encoding (exact bytes, equal to
 * what Python's json.dumps(sort_keys=True, separators=(',', ':'),
 * ensure_ascii=False) writes for the same value, i.e. RFC 8785 for these
 * values), the strict parser (every non-canonical spelling refused), the
 * value rules, times, node names, and the keyed patient pseudonym (HMAC
 * known answers from Python's hmac module, key file handling). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca_err.h"
#include "chain_entry.h"
#include "chain_hash.h"
#include "chain_pseudonym.h"

static void sha(const char *s, uint8_t out[CHAIN_HASH_LEN])
{
	assert_int_equal(chain_hash_sha256_once(out, s, strlen(s)), 0);
}

static void sha_bytes(const uint8_t *b, uint8_t out[CHAIN_HASH_LEN])
{
	assert_int_equal(chain_hash_sha256_once(out, b, 32), 0);
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	assert_int_equal(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* The full entry of the known-answer test, and its bytes (made by
 * Python's json.dumps as said above, from the same value). */
static const char full_bytes[] =
	"{\"action\":\"R\",\"actor\":{\"ae\":\"VIEWER 1\",\"user\":\"dr \\\"quote\\\" \\\\ back \xc3\xa9\"},"
	"\"event\":\"DCM:110104\",\"index\":42,\"node\":\"hospital-a\",\"object\":{\"instance_hashes\":"
	"[\"4cd9b7672d7fbee8fb51fb1e049f690342035f543a8efe734b7b5ffb0c154a45\","
	"\"420fce314175df402adbeae3cfbbb85665b72d8b9bc2346f463e32a82f64b114\","
	"\"9a83c6cb1126d93de4a30715b28f1f4b26b983c57fb39e6d826d7e893ae4ee74\"],\"instances\":3,"
	"\"series\":[{\"hash\":\"e8bc163c82eee18733288c7d4ac636db3a6deb013ef2d37b68322be20edc45cc\","
	"\"instances\":2,\"uid\":\"1.2.3.1\"},{\"hash\":"
	"\"ad328846aa18b32a335816374511cac1063c704b8c57999e51da9f908290a7a4\",\"instances\":1,"
	"\"uid\":\"1.2.3.2\"}],\"study\":\"1.2.840.113619.2.55.3\",\"study_hash\":"
	"\"0c87ed818fb90f3f88faa6b362cf1e99025f3c1248f8fe513cdb38d03d9dce65\"},\"outcome\":0,"
	"\"patient\":\"89479ce77ceb7a1e807c71f197f17ad7045fc798508ef23484a19609915da70f\","
	"\"peer\":\"ARCHIVE-B\",\"purpose\":\"TREAT\",\"subtype\":\"DCM:110122\","
	"\"time\":\"2025-01-02T03:04:05.678Z\",\"v\":1}";

struct full {
	chain_entry e;
	chain_series_ref series[2];
	uint8_t hashes[3][CHAIN_HASH_LEN];
};

static void make_full(struct full *f)
{
	memset(f, 0, sizeof(*f));
	f->e.index = 42;
	assert_int_equal(chain_time_parse("2025-01-02T03:04:05.678Z", 24, &f->e.time_ms), 0);
	f->e.node = "hospital-a";
	f->e.event = CHAIN_EVENT_INSTANCES_TRANSFERRED;
	f->e.subtype = 110122;
	f->e.action = CHAIN_ACTION_READ;
	f->e.outcome = CHAIN_OUTCOME_SUCCESS;
	f->e.actor_ae = "VIEWER 1";
	f->e.actor_user = "dr \"quote\" \\ back \xc3\xa9";
	f->e.study_uid = "1.2.840.113619.2.55.3";
	f->e.has_study_hash = true;
	sha("study", f->e.study_hash);
	f->e.instances = 3;
	f->series[0].uid = "1.2.3.1";
	sha("s1", f->series[0].hash);
	f->series[0].instances = 2;
	f->series[1].uid = "1.2.3.2";
	sha("s2", f->series[1].hash);
	f->series[1].instances = 1;
	f->e.series = f->series;
	f->e.n_series = 2;
	sha("i1", f->hashes[0]);
	sha("i2", f->hashes[1]);
	sha("i3", f->hashes[2]);
	f->e.instance_hashes = (const uint8_t (*)[CHAIN_HASH_LEN])f->hashes;
	f->e.n_instance_hashes = 3;
	f->e.has_patient = true;
	unhex("89479ce77ceb7a1e807c71f197f17ad7045fc798508ef23484a19609915da70f", f->e.patient, 32);
	f->e.purpose = "TREAT";
	f->e.peer = "ARCHIVE-B";
}

static void minimal(chain_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->index = 0;
	e->time_ms = 1;
	e->node = "n1";
	e->event = CHAIN_EVENT_APPLICATION_ACTIVITY;
	e->action = CHAIN_ACTION_EXECUTE;
	e->actor_ae = "ARCA";
}

static void test_encode_known_answer(void **state)
{
	struct full f;
	char *out;
	size_t len;
	(void)state;

	make_full(&f);
	assert_int_equal(chain_entry_encode(&f.e, &out, &len), 0);
	assert_int_equal(len, strlen(full_bytes));
	assert_string_equal(out, full_bytes);
	assert_null(memchr(out, '\n', len));
	free(out);
}

static void test_encode_minimal(void **state)
{
	chain_entry e;
	char *out;
	size_t len;
	(void)state;

	minimal(&e);
	assert_int_equal(chain_entry_encode(&e, &out, &len), 0);
	assert_string_equal(out, "{\"action\":\"E\",\"actor\":{\"ae\":\"ARCA\"},\"event\":\"DCM:110100\","
				 "\"index\":0,\"node\":\"n1\",\"outcome\":0,"
				 "\"time\":\"1970-01-01T00:00:00.001Z\",\"v\":1}");
	free(out);
	/* a user without an AE, a consent entry */
	{
		chain_consent c = { "hospital-b", CHAIN_PERMISSION_DOWNLOAD, 0, "DICOM-basic" };
		minimal(&e);
		e.actor_ae = NULL;
		e.actor_user = "alice";
		e.event = CHAIN_EVENT_CONSENT_GRANT;
		e.action = CHAIN_ACTION_CREATE;
		e.consent = &c;
		e.has_patient = true;
		memset(e.patient, 0xab, 32);
		assert_int_equal(chain_time_parse("2030-06-01T00:00:00.000Z", 24, &c.expires_ms), 0);
		assert_int_equal(chain_entry_encode(&e, &out, &len), 0);
		assert_string_equal(out, "{\"action\":\"C\",\"actor\":{\"user\":\"alice\"},\"consent\":{\"deid\":\"DICOM-basic\","
					 "\"expires\":\"2030-06-01T00:00:00.000Z\",\"grantee\":\"hospital-b\","
					 "\"permission\":\"download\"},\"event\":\"arca:consent-grant\",\"index\":0,"
					 "\"node\":\"n1\",\"outcome\":0,\"patient\":\"abababababababababababababababab"
					 "abababababababababababababababab\",\"time\":\"1970-01-01T00:00:00.001Z\",\"v\":1}");
		free(out);
	}
}

static void test_parse_round_trip(void **state)
{
	chain_entry *p;
	char *again;
	size_t len;
	(void)state;

	assert_int_equal(chain_entry_parse(&p, full_bytes, strlen(full_bytes)), 0);
	assert_int_equal(p->index, 42);
	assert_string_equal(p->node, "hospital-a");
	assert_int_equal(p->event, CHAIN_EVENT_INSTANCES_TRANSFERRED);
	assert_int_equal(p->subtype, 110122);
	assert_int_equal(p->action, 'R');
	assert_string_equal(p->actor_ae, "VIEWER 1");
	assert_string_equal(p->actor_user, "dr \"quote\" \\ back \xc3\xa9");
	assert_string_equal(p->study_uid, "1.2.840.113619.2.55.3");
	assert_int_equal(p->n_series, 2);
	assert_string_equal(p->series[1].uid, "1.2.3.2");
	assert_int_equal(p->series[0].instances, 2);
	assert_int_equal(p->n_instance_hashes, 3);
	{
		uint8_t h[32];
		sha("i3", h);
		assert_memory_equal(p->instance_hashes[2], h, 32);
	}
	assert_true(p->has_patient);
	assert_string_equal(p->purpose, "TREAT");
	assert_string_equal(p->peer, "ARCHIVE-B");
	assert_null(p->consent);
	assert_int_equal(chain_entry_encode(p, &again, &len), 0);
	assert_string_equal(again, full_bytes);
	free(again);
	chain_entry_free(p);
	chain_entry_free(NULL);
}

/* Replaces the first occurrence of from by to in full_bytes. */
static char *variant(const char *from, const char *to)
{
	const char *at = strstr(full_bytes, from);
	char *s;

	assert_non_null(at);
	s = malloc(strlen(full_bytes) + strlen(to) + 1);
	assert_non_null(s);
	memcpy(s, full_bytes, (size_t)(at - full_bytes));
	strcpy(s + (at - full_bytes), to);
	strcat(s, at + strlen(from));
	return s;
}

static void expect_refused(const char *bytes, int code)
{
	chain_entry *p = (chain_entry *)&p;

	assert_int_equal(chain_entry_parse(&p, bytes, strlen(bytes)), code);
	assert_null(p);
	assert_true(strlen(arca_error_last()) > 0);
}

static void test_parse_refuses_non_canonical(void **state)
{
	static const struct {
		const char *from, *to;
	} v[] = {
		{ "\"index\":42", "\"index\": 42" },            /* whitespace */
		{ "\"index\":42", "\"index\":42.0" },           /* a real */
		{ "\"index\":42", "\"index\":4.2e1" },
		{ "\"index\":42", "\"index\":042" },            /* not JSON */
		{ "\"outcome\":0", "\"outcome\":-0" },          /* another spelling of 0 */
		{ "\"index\":42", "\"index\":\"42\"" },         /* a string */
		{ "\"index\":42", "\"index\":-1" },
		{ "\"index\":42", "\"index\":1000000000000" },  /* past the largest index */
		{ "\"peer\":\"ARCHIVE-B\"", "\"peer\":\"\\u0041RCHIVE-B\"" }, /* escape */
		{ "\"node\":\"hospital-a\"", "\"node\":\"hospital\\/a\"" },
		{ "\"purpose\":\"TREAT\"", "\"purpose\":null" },
		{ "0c87ed818f", "0C87ED818F" },                  /* hex case */
		{ "\"v\":1", "\"v\":2" },                       /* other version */
		{ "\"v\":1", "\"v\":1,\"x\":1" },               /* unknown member */
		{ "\"v\":1", "\"v\":1,\"v\":1" },               /* duplicate */
		{ "\"outcome\":0,", "" },                       /* required member missing */
		{ "\"action\":\"R\",\"actor\"", "\"actor\"" },
		{ "\"outcome\":0", "\"outcome\":3" },           /* not an outcome code */
		{ "\"action\":\"R\"", "\"action\":\"X\"" },
		{ "\"action\":\"R\"", "\"action\":\"RR\"" },
		{ "DCM:110104", "DCM:110199" },                 /* unknown event */
		{ "DCM:110122", "DCM:0110122" },                /* subtype with a leading zero */
		{ "05.678Z", "05.67Z" },                        /* time forms */
		{ "05.678Z", "05.678+00:00" },
		{ "2025-01-02T03", "2025-02-30T03" },           /* no such date */
		{ "03:04:05", "23:59:60" },                     /* leap second */
		{ "\"study\":\"1.2.840.113619.2.55.3\"", "\"study\":\"1.2.840.0113619\"" }, /* UID rules */
		{ "\"uid\":\"1.2.3.1\"", "\"uid\":\"1.2.3.3\"" }, /* series out of order */
		{ "\"ae\":\"VIEWER 1\"", "\"ae\":\"VIEWER 1 \"" }, /* AE padding */
		{ "\"instances\":3,", "" },                     /* object without its count */
		{ "{\"action\"", " {\"action\"" },               /* leading space */
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *s = variant(v[i].from, v[i].to);
		chain_entry *p = NULL;
		int rc = chain_entry_parse(&p, s, strlen(s));

		if (rc != ARCA_EPROTO)
			fail_msg("variant %zu (%s -> %s) gave %d, not ARCA_EPROTO", i, v[i].from, v[i].to, rc);
		assert_null(p);
		free(s);
	}
	/* a trailing newline or space, an array, nothing */
	{
		char buf[sizeof(full_bytes) + 1];
		snprintf(buf, sizeof(buf), "%s\n", full_bytes);
		expect_refused(buf, ARCA_EPROTO);
	}
	expect_refused("[]", ARCA_EPROTO);
	expect_refused("", ARCA_EPROTO);
	expect_refused("{}", ARCA_EPROTO);
	/* NUL inside a string */
	{
		char *s = variant("\"peer\":\"ARCHIVE-B\"", "\"peer\":\"A\\u0000B\"");
		expect_refused(s, ARCA_EPROTO);
		free(s);
	}
	/* a control character in a string, written raw or escaped */
	{
		char *s = variant("\"peer\":\"ARCHIVE-B\"", "\"peer\":\"A\\tB\"");
		expect_refused(s, ARCA_EPROTO);
		free(s);
	}
}

static void test_limits(void **state)
{
	chain_entry e;
	static uint8_t hashes[1000][CHAIN_HASH_LEN];
	char *out = (char *)&out, *big;
	size_t len;
	(void)state;

	minimal(&e);
	e.study_uid = "1.2.3";
	e.instances = 1000;
	e.instance_hashes = (const uint8_t (*)[CHAIN_HASH_LEN])hashes;
	e.n_instance_hashes = 1000; /* 67 bytes each: past 64 KiB */
	assert_int_equal(chain_entry_encode(&e, &out, &len), ARCA_ELIMIT);
	assert_null(out);
	e.n_instance_hashes = 900;
	assert_int_equal(chain_entry_encode(&e, &out, &len), 0);
	assert_true(len <= CHAIN_ENTRY_MAX_LEN);
	free(out);

	big = malloc(CHAIN_ENTRY_MAX_LEN + 2);
	assert_non_null(big);
	memset(big, ' ', CHAIN_ENTRY_MAX_LEN + 1);
	big[0] = '{';
	big[CHAIN_ENTRY_MAX_LEN] = '}';
	{
		chain_entry *p;
		assert_int_equal(chain_entry_parse(&p, big, CHAIN_ENTRY_MAX_LEN + 1), ARCA_ELIMIT);
	}
	free(big);
}

static void test_value_rules(void **state)
{
	chain_entry e;
	chain_consent c = { "hospital-b", CHAIN_PERMISSION_VIEW, 0, NULL };
	chain_series_ref s[2] = { { "1.2.3", { 0 }, 1 }, { "1.2.3", { 0 }, 1 } };
	(void)state;

#define REFUSE(stmt)                                                   \
	do {                                                           \
		minimal(&e);                                           \
		stmt;                                                  \
		assert_int_equal(chain_entry_check(&e), ARCA_EINVAL);  \
	} while (0)

	minimal(&e);
	assert_int_equal(chain_entry_check(&e), 0);
	REFUSE(e.actor_ae = NULL);                        /* no actor */
	REFUSE(e.actor_ae = "");
	REFUSE(e.actor_ae = " ARCA");
	REFUSE(e.actor_ae = "SEVENTEEN_CHARS_X");
	REFUSE(e.actor_ae = "A\\B");
	REFUSE(e.actor_user = "tab\there");
	REFUSE(e.actor_user = "bad \xc3 utf8");
	REFUSE(e.actor_user = "overlong \xc0\xaf");
	REFUSE(e.actor_user = "surrogate \xed\xa0\x80");
	REFUSE(e.node = "bad node");
	REFUSE(e.node = NULL);
	REFUSE(e.node = "a//b");
	REFUSE(e.node = ".hidden");
	REFUSE(e.node = "x.lock");
	REFUSE(e.action = 'Q');
	REFUSE(e.action = '\0');
	REFUSE(e.outcome = 1);
	REFUSE(e.event = (chain_event)999);
	REFUSE(e.time_ms = -1);
	REFUSE(e.index = CHAIN_ENTRY_MAX_INDEX + 1);
	REFUSE(e.instances = 1);                           /* object member without study */
	REFUSE(e.has_study_hash = true);
	REFUSE(e.study_uid = "1.02.3");
	REFUSE(e.study_uid = "1..3");
	REFUSE(e.study_uid = "1.2.a");
	REFUSE((e.study_uid = "1.2", e.series = s, e.n_series = 2)); /* duplicate series */
	REFUSE(e.purpose = "TREAT NOW");
	REFUSE(e.peer = "");
	REFUSE(e.consent = &c);                            /* consent on a non-consent event */
	REFUSE(e.event = CHAIN_EVENT_CONSENT_REVOKE);      /* consent event without consent */
	REFUSE((e.event = CHAIN_EVENT_CONSENT_GRANT, e.consent = &c)); /* without a patient */
#undef REFUSE
	/* valid edge values */
	minimal(&e);
	e.actor_ae = "A \"quoted\" AE";
	e.actor_user = "\xf0\x9f\x98\x80 \xe2\x82\xac";
	e.study_uid = "0.0";
	e.series = s;
	e.n_series = 1;
	e.node = "arca.example/node1";
	assert_int_equal(chain_entry_check(&e), 0);
	{
		char *out;
		size_t len;
		chain_entry *p;

		assert_int_equal(chain_entry_encode(&e, &out, &len), 0);
		assert_int_equal(chain_entry_parse(&p, out, len), 0);
		assert_string_equal(p->actor_user, e.actor_user);
		assert_string_equal(p->actor_ae, e.actor_ae);
		chain_entry_free(p);
		free(out);
	}
}

static void test_time(void **state)
{
	static const struct {
		int64_t ms;
		const char *s;
	} v[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ 951782400123, "2000-02-29T00:00:00.123Z" },
		{ 1735787045678, "2025-01-02T03:04:05.678Z" },
		{ 4107542399999, "2100-02-28T23:59:59.999Z" },
		{ 253402300799999, "9999-12-31T23:59:59.999Z" },
	};
	char out[CHAIN_TIME_LEN];
	int64_t ms;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(chain_time_format(v[i].ms, out), 0);
		assert_string_equal(out, v[i].s);
		assert_int_equal(chain_time_parse(v[i].s, strlen(v[i].s), &ms), 0);
		assert_int_equal(ms, v[i].ms);
	}
	assert_int_equal(chain_time_format(253402300800000, out), ARCA_EINVAL);
	assert_int_equal(chain_time_format(-1, out), ARCA_EINVAL);
	assert_int_equal(chain_time_parse("2100-02-29T00:00:00.000Z", 24, &ms), ARCA_EPROTO);
	assert_int_equal(chain_time_parse("1969-12-31T23:59:59.999Z", 24, &ms), ARCA_EPROTO);
	assert_int_equal(chain_time_parse("2025-13-01T00:00:00.000Z", 24, &ms), ARCA_EPROTO);
	assert_int_equal(chain_time_parse("2025-01-01T24:00:00.000Z", 24, &ms), ARCA_EPROTO);
	assert_int_equal(chain_time_parse("2025-01-01 00:00:00.000Z", 24, &ms), ARCA_EPROTO);
	assert_int_equal(chain_time_parse("2025-01-01T00:00:00.000", 23, &ms), ARCA_EPROTO);
}

/* The query counts of a Query event (DCM:110112) and the key change of
 * arca:key-change: bytes as Python's json.dumps writes them, round trip,
 * and the rules (which events may carry them). */
static const char query_bytes[] =
	"{\"action\":\"E\",\"actor\":{\"ae\":\"VIEWER\"},\"event\":\"DCM:110112\",\"index\":7,\"node\":\"n1\","
	"\"outcome\":0,\"peer\":\"VIEWER\",\"query\":{\"matches\":12,\"requests\":3},"
	"\"time\":\"1970-01-01T00:00:00.001Z\",\"v\":1}";
static const char key_bytes[] =
	"{\"action\":\"U\",\"actor\":{\"user\":\"root\"},\"event\":\"arca:key-change\",\"index\":9,\"key\":{\""
	"new\":\"9f72ea0cf49536e3c66c787f705186df9a4378083753ae9536d65b3ad7fcddc4\",\"new_public\":\"22222222"
	"22222222222222222222222222222222222222222222222222222222\",\"old\":\"02d449a31fbb267c8f352e9968a79e3"
	"e5fc95c1bbeaa502fd6454ebde5a4bedc\",\"old_public\":\"11111111111111111111111111111111111111111111111"
	"11111111111111111\"},\"node\":\"n1\",\"outcome\":0,\"time\":\"1970-01-01T00:00:00.001Z\",\"v\":1}";

static void test_query_and_key_members(void **state)
{
	chain_query q = { 3, 12 };
	chain_key_change k;
	chain_entry e, *p = NULL;
	char *out;
	size_t len;
	(void)state;

	minimal(&e);
	e.event = CHAIN_EVENT_QUERY;
	e.actor_ae = "VIEWER";
	e.peer = "VIEWER";
	e.index = 7;
	e.query = &q;
	assert_int_equal(chain_entry_encode(&e, &out, &len), 0);
	assert_string_equal(out, query_bytes);
	free(out);
	assert_int_equal(chain_entry_parse(&p, query_bytes, strlen(query_bytes)), 0);
	assert_non_null(p->query);
	assert_int_equal(p->query->requests, 3);
	assert_int_equal(p->query->matches, 12);
	assert_null(p->key);
	chain_entry_free(p);
	/* a query member on another event, no request, too many matches */
	e.event = CHAIN_EVENT_EXPORT;
	assert_int_equal(chain_entry_check(&e), ARCA_EINVAL);
	e.event = CHAIN_EVENT_QUERY;
	q.requests = 0;
	assert_int_equal(chain_entry_check(&e), ARCA_EINVAL);
	q.requests = 1;
	q.matches = CHAIN_ENTRY_MAX_NUMBER + 1;
	assert_int_equal(chain_entry_check(&e), ARCA_EINVAL);
	q.matches = CHAIN_ENTRY_MAX_NUMBER;
	assert_int_equal(chain_entry_check(&e), 0);
	{
		static const char *bad[] = {
			"\"query\":{\"matches\":12,\"requests\":0}",
			"\"query\":{\"matches\":12}",
			"\"query\":{\"matches\":-1,\"requests\":3}",
			"\"query\":{\"matches\":12,\"requests\":3,\"x\":1}",
			"\"query\":[12,3]",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char buf[512];
			const char *at = strstr(query_bytes, "\"query\"");
			const char *end = strstr(at, "},") + 1;
			snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - query_bytes), query_bytes, bad[i], end);
			assert_int_equal(chain_entry_parse(&p, buf, strlen(buf)), ARCA_EPROTO);
			assert_null(p);
		}
	}

	memset(k.old_public, 0x11, sizeof(k.old_public));
	memset(k.new_public, 0x22, sizeof(k.new_public));
	sha_bytes(k.old_public, k.old_fp);
	sha_bytes(k.new_public, k.new_fp);
	minimal(&e);
	e.event = CHAIN_EVENT_KEY_CHANGE;
	e.action = CHAIN_ACTION_UPDATE;
	e.actor_ae = NULL;
	e.actor_user = "root";
	e.index = 9;
	e.key = &k;
	assert_int_equal(chain_entry_encode(&e, &out, &len), 0);
	assert_string_equal(out, key_bytes);
	free(out);
	assert_int_equal(chain_entry_parse(&p, key_bytes, strlen(key_bytes)), 0);
	assert_int_equal(p->event, CHAIN_EVENT_KEY_CHANGE);
	assert_non_null(p->key);
	assert_memory_equal(p->key->old_fp, k.old_fp, 32);
	assert_memory_equal(p->key->new_fp, k.new_fp, 32);
	assert_memory_equal(p->key->old_public, k.old_public, 32);
	assert_memory_equal(p->key->new_public, k.new_public, 32);
	chain_entry_free(p);
	assert_string_equal(chain_event_code(CHAIN_EVENT_KEY_CHANGE), "arca:key-change");
	/* fingerprints that are not the keys', the same key twice */
	k.new_fp[0] ^= 1;
	assert_int_equal(chain_entry_check(&e), ARCA_EINVAL);
	k.new_fp[0] ^= 1;
	memcpy(k.new_public, k.old_public, 32);
	memcpy(k.new_fp, k.old_fp, 32);
	assert_int_equal(chain_entry_check(&e), ARCA_EINVAL);
	memset(k.new_public, 0x22, sizeof(k.new_public));
	sha_bytes(k.new_public, k.new_fp);
	assert_int_equal(chain_entry_check(&e), 0);
	/* a key change names both keys; no other event carries one */
	e.key = NULL;
	assert_int_equal(chain_entry_check(&e), ARCA_EINVAL);
	e.key = &k;
	e.event = CHAIN_EVENT_VERIFY;
	assert_int_equal(chain_entry_check(&e), ARCA_EINVAL);
}

/* The spool form (docs/chain-format.md 9): the canonical bytes without
 * "index"; its parser refuses an index and anything non-canonical. */
static void test_unindexed(void **state)
{
	chain_query q = { 1, 0 };
	chain_entry e, *p = NULL;
	char *out, *full;
	size_t len, flen;
	(void)state;

	minimal(&e);
	e.index = 5; /* ignored */
	assert_int_equal(chain_entry_encode_unindexed(&e, &out, &len), 0);
	assert_string_equal(out, "{\"action\":\"E\",\"actor\":{\"ae\":\"ARCA\"},\"event\":\"DCM:110100\","
				 "\"node\":\"n1\",\"outcome\":0,\"time\":\"1970-01-01T00:00:00.001Z\",\"v\":1}");
	assert_int_equal(len, strlen(out));
	assert_int_equal(chain_entry_parse_unindexed(&p, out, len), 0);
	assert_int_equal(p->index, 0);
	assert_string_equal(p->node, "n1");
	assert_int_equal(p->event, CHAIN_EVENT_APPLICATION_ACTIVITY);
	chain_entry_free(p);
	/* the indexed parser wants the index, the unindexed one refuses it */
	assert_int_equal(chain_entry_parse(&p, out, len), ARCA_EPROTO);
	assert_null(p);
	assert_int_equal(chain_entry_encode(&e, &full, &flen), 0);
	assert_int_equal(chain_entry_parse_unindexed(&p, full, flen), ARCA_EPROTO);
	assert_null(p);
	free(full);
	free(out);
	/* non-canonical spellings */
	{
		static const char *bad[] = {
			"{\"action\":\"E\",\"actor\":{\"ae\":\"ARCA\"},\"event\":\"DCM:110100\",\"node\":\"n1\",\"outcome\":0,\"time\":\"1970-01-01T00:00:00.001Z\",\"v\":1} ",
			"{\"actor\":{\"ae\":\"ARCA\"},\"action\":\"E\",\"event\":\"DCM:110100\",\"node\":\"n1\",\"outcome\":0,\"time\":\"1970-01-01T00:00:00.001Z\",\"v\":1}",
			"{\"action\":\"E\",\"actor\":{\"ae\":\"ARCA\"},\"event\":\"DCM:110100\",\"node\":\"n1\",\"outcome\":0,\"v\":1}",
			"{\"action\":\"E\",\"actor\":{\"ae\":\"ARCA\"},\"event\":\"DCM:110100\",\"node\":\"n1\",\"outcome\":0,\"time\":\"1970-01-01T00:00:00.001Z\",\"v\":2}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_not_equal(chain_entry_parse_unindexed(&p, bad[i], strlen(bad[i])), 0);
			assert_null(p);
		}
	}
	/* a query summary goes through the spool form too */
	e.event = CHAIN_EVENT_QUERY;
	e.query = &q;
	assert_int_equal(chain_entry_encode_unindexed(&e, &out, &len), 0);
	assert_int_equal(chain_entry_parse_unindexed(&p, out, len), 0);
	assert_int_equal(p->query->requests, 1);
	assert_int_equal(p->query->matches, 0);
	chain_entry_free(p);
	free(out);
}

static void test_event_codes(void **state)
{
	(void)state;
	assert_string_equal(chain_event_code(CHAIN_EVENT_INSTANCES_TRANSFERRED), "DCM:110104");
	assert_string_equal(chain_event_name(CHAIN_EVENT_INSTANCES_ACCESSED), "DICOM Instances Accessed");
	assert_string_equal(chain_event_code(CHAIN_EVENT_EXPORT), "DCM:110106");
	assert_string_equal(chain_event_code(CHAIN_EVENT_IMPORT), "DCM:110107");
	assert_string_equal(chain_event_code(CHAIN_EVENT_PATIENT_RECORD), "DCM:110110");
	assert_string_equal(chain_event_code(CHAIN_EVENT_QUERY), "DCM:110112");
	assert_string_equal(chain_event_code(CHAIN_EVENT_USER_AUTHENTICATION), "DCM:110114");
	assert_string_equal(chain_event_code(CHAIN_EVENT_CONSENT_REVOKE), "arca:consent-revoke");
	assert_null(chain_event_code((chain_event)0));
	assert_null(chain_event_name((chain_event)110115));
}

static void test_node_names(void **state)
{
	(void)state;
	assert_int_equal(chain_node_name_check("hospital-a"), 0);
	assert_int_equal(chain_node_name_check("arca.example/node_1"), 0);
	assert_int_equal(chain_node_name_check(""), ARCA_EINVAL);
	assert_int_equal(chain_node_name_check("/a"), ARCA_EINVAL);
	assert_int_equal(chain_node_name_check("a/"), ARCA_EINVAL);
	assert_int_equal(chain_node_name_check("a/.b"), ARCA_EINVAL);
	assert_int_equal(chain_node_name_check("a+b"), ARCA_EINVAL);
	assert_int_equal(chain_node_name_check("a b"), ARCA_EINVAL);
	assert_int_equal(chain_node_name_check("a.lock/b"), ARCA_EINVAL);
	assert_int_equal(chain_node_name_check("\xc3\xa9"), ARCA_EINVAL);
	{
		char longname[CHAIN_ENTRY_NODE_MAX + 2];
		memset(longname, 'x', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(chain_node_name_check(longname), ARCA_EINVAL);
		longname[CHAIN_ENTRY_NODE_MAX] = '\0';
		assert_int_equal(chain_node_name_check(longname), 0);
	}
}

/* ---- pseudonyms ---- */

static void test_pseudonym_known_answers(void **state)
{
	uint8_t kb[32], h[32];
	char hex[CHAIN_PSEUDONYM_HEX_LEN];
	chain_pseudonym_key *k;
	size_t i;
	(void)state;

	for (i = 0; i < 32; i++)
		kb[i] = (uint8_t)i;
	assert_int_equal(chain_pseudonym_key_from_bytes(&k, kb), 0);
	/* python3: hmac.new(bytes(range(32)), b"HOSP-A\0PID-12345", sha256) */
	assert_int_equal(chain_pseudonym_hex(k, "HOSP-A", "PID-12345", hex), 0);
	assert_string_equal(hex, "89479ce77ceb7a1e807c71f197f17ad7045fc798508ef23484a19609915da70f");
	/* deterministic; PS3.5 padding does not count */
	assert_int_equal(chain_pseudonym_hex(k, " HOSP-A ", "PID-12345 ", hex), 0);
	assert_string_equal(hex, "89479ce77ceb7a1e807c71f197f17ad7045fc798508ef23484a19609915da70f");
	/* no issuer: b"\0PID-12345" */
	assert_int_equal(chain_pseudonym_hex(k, NULL, "PID-12345", hex), 0);
	assert_string_equal(hex, "e1516cfeaf88786879401a66afb0b07128048700c65e2013a2a7ae2843a417bd");
	assert_int_equal(chain_pseudonym_hex(k, "", "PID-12345", hex), 0);
	assert_string_equal(hex, "e1516cfeaf88786879401a66afb0b07128048700c65e2013a2a7ae2843a417bd");
	assert_int_equal(chain_pseudonym_hex(k, "HOSP-A", "PID-1234", hex), 0);
	assert_string_equal(hex, "a709684e9b99ef22d4841d3b6998a47bc6cd8acf2beb0ab7f86f66c5cdb6c4b5");
	/* the separator keeps issuer and ID apart */
	{
		uint8_t a[32], b[32];
		assert_int_equal(chain_pseudonym(k, "AB", "C", a), 0);
		assert_int_equal(chain_pseudonym(k, "A", "BC", b), 0);
		assert_memory_not_equal(a, b, 32);
	}
	assert_int_equal(chain_pseudonym(k, "HOSP-A", "   ", h), ARCA_EINVAL);
	{
		char big[CHAIN_PSEUDONYM_VALUE_MAX + 2];
		memset(big, '7', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(chain_pseudonym(k, NULL, big, h), ARCA_ELIMIT);
	}
	chain_pseudonym_key_free(k);
}

static void test_pseudonym_key_dependence(void **state)
{
	chain_pseudonym_key *k1, *k2;
	uint8_t a[32], b[32], c[32];
	(void)state;

	assert_int_equal(chain_pseudonym_key_generate(&k1), 0);
	assert_int_equal(chain_pseudonym_key_generate(&k2), 0);
	assert_int_equal(chain_pseudonym(k1, "HOSP-A", "PID-12345", a), 0);
	assert_int_equal(chain_pseudonym(k1, "HOSP-A", "PID-12345", b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(chain_pseudonym(k2, "HOSP-A", "PID-12345", c), 0);
	assert_memory_not_equal(a, c, 32);
	chain_pseudonym_key_free(k1);
	chain_pseudonym_key_free(k2);
	chain_pseudonym_key_free(NULL);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_pseudonym_key_file(void **state)
{
	char dir[256], path[300];
	const char *base = getenv("TMPDIR");
	chain_pseudonym_key *k, *loaded;
	uint8_t a[32], b[32], raw[33] = { 0 };
	struct stat st;
	(void)state;

	snprintf(dir, sizeof(dir), "%s/chain_entry_test.XXXXXX", base != NULL ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/consortium.key", dir);

	assert_int_equal(chain_pseudonym_key_generate(&k), 0);
	assert_int_equal(chain_pseudonym_key_save(k, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(chain_pseudonym_key_save(k, path), ARCA_EEXISTS);
	assert_int_equal(chain_pseudonym_key_load(&loaded, path), 0);
	assert_int_equal(chain_pseudonym(k, "I", "P", a), 0);
	assert_int_equal(chain_pseudonym(loaded, "I", "P", b), 0);
	assert_memory_equal(a, b, 32);
	chain_pseudonym_key_free(loaded);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(chain_pseudonym_key_load(&loaded, path), ARCA_EINVAL);
	assert_null(loaded);
	assert_non_null(strstr(arca_error_last(), "chmod 600"));
	unlink(path);
	write_file(path, raw, 31, 0600);
	assert_int_equal(chain_pseudonym_key_load(&loaded, path), ARCA_EPROTO);
	write_file(path, raw, 33, 0600);
	assert_int_equal(chain_pseudonym_key_load(&loaded, path), ARCA_EPROTO);
	unlink(path);
	assert_int_equal(chain_pseudonym_key_load(&loaded, path), ARCA_ENOTFOUND);
	rmdir(dir);
	chain_pseudonym_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_known_answer),
		cmocka_unit_test(test_encode_minimal),
		cmocka_unit_test(test_parse_round_trip),
		cmocka_unit_test(test_parse_refuses_non_canonical),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_value_rules),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_event_codes),
		cmocka_unit_test(test_query_and_key_members),
		cmocka_unit_test(test_unindexed),
		cmocka_unit_test(test_node_names),
		cmocka_unit_test(test_pseudonym_known_answers),
		cmocka_unit_test(test_pseudonym_key_dependence),
		cmocka_unit_test(test_pseudonym_key_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
