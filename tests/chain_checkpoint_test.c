/* chain_checkpoint_test.c - signed checkpoints: exact bytes against a note
 * made independently (tests/checkpoint_ref.py, with python3-cryptography),
 * parse and verify, several signatures, tampering, and the strict grammar. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "chain_base64.h"
#include "chain_checkpoint.h"
#include "chain_key.h"
#include "chain_merkle.h"

#define NAME "arca.example/node1"
#define TIME 1735787045 /* 2025-01-02T03:04:05Z */
#define BODY                                          \
	NAME "\n"                                     \
	"5\n"                                         \
	"GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZUCw=\n" \
	"time 2025-01-02T03:04:05Z\n"
#define SIG_LINE                                                                       \
	"\xE2\x80\x94 " NAME " mmOdvW1yYYxu8VneVsvwmFBy/Vvx3r6MM8AUk5FV8ixbnt4CiiWsh7vRLuKM" \
	"hDXHd92zL+5JxWlom1sag7cTC9c7lQE=\n"

/* The output of `python3 tests/checkpoint_ref.py`: seed 00 01 .. 1f, the
 * tree of "entry-0" .. "entry-4". */
static const char expected[] = BODY "\n" SIG_LINE;

static chain_key *seed_key(uint8_t first)
{
	uint8_t seed[CHAIN_KEY_SEED_LEN];
	chain_key *k;
	unsigned i;

	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(first + i);
	assert_int_equal(chain_key_from_seed(&k, seed), 0);
	return k;
}

static void root_of_five(uint8_t root[CHAIN_HASH_LEN])
{
	chain_merkle *t;
	char entry[16];
	int i;

	assert_int_equal(chain_merkle_new(&t), 0);
	for (i = 0; i < 5; i++) {
		int len = snprintf(entry, sizeof(entry), "entry-%d", i);
		assert_int_equal(chain_merkle_append_leaf(t, entry, (size_t)len), 0);
	}
	assert_int_equal(chain_merkle_root(t, 5, root), 0);
	chain_merkle_free(t);
}

static int parse_str(chain_checkpoint **cp, const char *text)
{
	return chain_checkpoint_parse(cp, text, strlen(text));
}

static void test_encode_exact_bytes(void **state)
{
	uint8_t root[CHAIN_HASH_LEN], pub[CHAIN_KEY_PUBLIC_LEN];
	chain_key *k = seed_key(0);
	chain_checkpoint *cp;
	const char *body;
	uint32_t key_id;
	size_t len;
	char *text;
	(void)state;

	assert_int_equal(chain_key_public(k, pub), 0);
	assert_int_equal(chain_note_key_id(NAME, pub, &key_id), 0);
	assert_int_equal(key_id, 0x9a639dbd);

	root_of_five(root);
	assert_int_equal(chain_checkpoint_new(&cp, NAME, 5, root, TIME), 0);
	body = chain_checkpoint_body(cp, &len);
	assert_int_equal(len, strlen(BODY));
	assert_memory_equal(body, BODY, len);
	assert_int_equal(chain_checkpoint_encode(cp, &text, &len), ARCA_EINVAL); /* unsigned */
	assert_int_equal(chain_checkpoint_sign(cp, k, NAME), 0);
	assert_int_equal(chain_checkpoint_encode(cp, &text, &len), 0);
	assert_int_equal(len, strlen(expected));
	assert_string_equal(text, expected);
	assert_int_equal(chain_checkpoint_verify(cp, k, NAME), 0);
	/* signing again replaces the line: Ed25519 is deterministic */
	assert_int_equal(chain_checkpoint_sign(cp, k, NAME), 0);
	assert_int_equal(chain_checkpoint_signature_count(cp), 1);
	free(text);
	chain_checkpoint_free(cp);
	chain_key_free(k);
}

static void test_parse_verify_round_trip(void **state)
{
	uint8_t root[CHAIN_HASH_LEN], pub[CHAIN_KEY_PUBLIC_LEN];
	chain_key *k = seed_key(0), *pub_only;
	chain_checkpoint *cp;
	const char *name;
	uint32_t key_id;
	int64_t t;
	size_t len;
	char *text;
	(void)state;

	assert_int_equal(parse_str(&cp, expected), 0);
	assert_string_equal(chain_checkpoint_origin(cp), NAME);
	assert_int_equal(chain_checkpoint_size(cp), 5);
	root_of_five(root);
	assert_memory_equal(chain_checkpoint_root(cp), root, CHAIN_HASH_LEN);
	assert_int_equal(chain_checkpoint_time(cp, &t), 0);
	assert_int_equal(t, TIME);
	assert_int_equal(chain_checkpoint_extension_count(cp), 0);
	assert_int_equal(chain_checkpoint_signature_count(cp), 1);
	assert_int_equal(chain_checkpoint_signature(cp, 0, &name, &key_id), 0);
	assert_string_equal(name, NAME);
	assert_int_equal(key_id, 0x9a639dbd);
	assert_int_equal(chain_checkpoint_signature(cp, 1, &name, &key_id), ARCA_EINVAL);

	assert_int_equal(chain_checkpoint_verify(cp, k, NAME), 0);
	assert_int_equal(chain_key_public(k, pub), 0);
	assert_int_equal(chain_key_from_public(&pub_only, pub), 0);
	assert_int_equal(chain_checkpoint_verify(cp, pub_only, NAME), 0);
	/* re-encoding gives back the same bytes */
	assert_int_equal(chain_checkpoint_encode(cp, &text, &len), 0);
	assert_string_equal(text, expected);
	free(text);
	chain_key_free(pub_only);
	chain_checkpoint_free(cp);
	chain_key_free(k);
}

static void test_other_key_or_name_fails(void **state)
{
	uint8_t root[CHAIN_HASH_LEN];
	chain_key *a = seed_key(0), *b = seed_key(100);
	uint8_t blob[4 + CHAIN_KEY_SIG_LEN];
	char b64[128], note[512];
	chain_checkpoint *cp, *forged;
	(void)state;

	/* re-signed with another key under the same name */
	root_of_five(root);
	assert_int_equal(chain_checkpoint_new(&cp, NAME, 5, root, TIME), 0);
	assert_int_equal(chain_checkpoint_sign(cp, b, NAME), 0);
	assert_int_equal(chain_checkpoint_verify(cp, a, NAME), ARCA_ENOTFOUND);
	assert_int_equal(chain_checkpoint_verify(cp, b, NAME), 0);
	/* the right key under another name */
	assert_int_equal(chain_checkpoint_verify(cp, b, "arca.example/node2"), ARCA_ENOTFOUND);

	/* B's signature behind A's name and key id: the line is A's, and
	 * it does not verify */
	blob[0] = 0x9a;
	blob[1] = 0x63;
	blob[2] = 0x9d;
	blob[3] = 0xbd;
	assert_int_equal(chain_key_sign(b, BODY, strlen(BODY), blob + 4), 0);
	chain_base64_encode(b64, blob, sizeof(blob));
	snprintf(note, sizeof(note), "%s\n\xE2\x80\x94 %s %s\n", BODY, NAME, b64);
	assert_int_equal(parse_str(&forged, note), 0);
	assert_int_equal(chain_checkpoint_verify(forged, a, NAME), ARCA_ECRYPTO);
	assert_non_null(strstr(arca_error_last(), "does not verify"));
	chain_checkpoint_free(forged);
	chain_checkpoint_free(cp);
	chain_key_free(a);
	chain_key_free(b);
}

static void test_body_changed_fails(void **state)
{
	chain_key *k = seed_key(0);
	char note[sizeof(expected)];
	size_t i, body_len = strlen(BODY), parsed = 0;
	(void)state;

	/* every byte of the body, changed to another of its kind */
	for (i = 0; i < body_len; i++) {
		chain_checkpoint *cp;
		char c = expected[i];
		int rc;

		if (c == '\n')
			continue;
		memcpy(note, expected, sizeof(expected));
		if (c >= '0' && c <= '8')
			note[i] = (char)(c + 1);
		else if (c == '9')
			note[i] = '0';
		else if (c >= 'a' && c < 'z')
			note[i] = (char)(c + 1);
		else if (c >= 'A' && c < 'Z')
			note[i] = (char)(c + 1);
		else
			note[i] = 'x';
		rc = parse_str(&cp, note);
		if (rc == 0) {
			parsed++;
			assert_int_equal(chain_checkpoint_verify(cp, k, NAME), ARCA_ECRYPTO);
			chain_checkpoint_free(cp);
		} else {
			assert_int_equal(rc, ARCA_EPROTO);
		}
	}
	/* most changes still parse; the signature is what catches them */
	assert_true(parsed > body_len / 2);
	chain_key_free(k);
}

static void test_several_signatures(void **state)
{
	static const char unknown[] = "\xE2\x80\x94 other.example/x AAAAAQIDBAUGBwgJ\n";
	uint8_t root[CHAIN_HASH_LEN];
	chain_key *a = seed_key(0), *w = seed_key(7);
	chain_checkpoint *cp, *back;
	char *text, *text2, *with_unknown;
	size_t len, len2;
	(void)state;

	root_of_five(root);
	assert_int_equal(chain_checkpoint_new(&cp, NAME, 5, root, TIME), 0);
	assert_int_equal(chain_checkpoint_sign(cp, a, NAME), 0);
	assert_int_equal(chain_checkpoint_sign(cp, w, "witness.example/w1"), 0);
	assert_int_equal(chain_checkpoint_encode(cp, &text, &len), 0);
	/* the log's line first, as signed */
	assert_memory_equal(text, expected, strlen(expected));

	/* a third, unknown signature line is kept and passed on */
	with_unknown = malloc(len + sizeof(unknown));
	assert_non_null(with_unknown);
	memcpy(with_unknown, text, len);
	memcpy(with_unknown + len, unknown, sizeof(unknown));
	assert_int_equal(parse_str(&back, with_unknown), 0);
	assert_int_equal(chain_checkpoint_signature_count(back), 3);
	assert_int_equal(chain_checkpoint_verify(back, a, NAME), 0);
	assert_int_equal(chain_checkpoint_verify(back, w, "witness.example/w1"), 0);
	assert_int_equal(chain_checkpoint_verify(back, w, NAME), ARCA_ENOTFOUND);
	assert_int_equal(chain_checkpoint_encode(back, &text2, &len2), 0);
	assert_string_equal(text2, with_unknown);

	free(text2);
	free(with_unknown);
	free(text);
	chain_checkpoint_free(back);
	chain_checkpoint_free(cp);
	chain_key_free(a);
	chain_key_free(w);
}

/* Each note must be refused with `code`, naming `line` when it is > 0. */
static void expect_reject(const char *note, int code, unsigned line)
{
	chain_checkpoint *cp = (chain_checkpoint *)&cp;
	char where[32];
	int rc = parse_str(&cp, note);

	if (rc != code)
		fail_msg("expected %d, got %d (%s) for:\n%s", code, rc, arca_error_last(), note);
	assert_null(cp);
	if (line > 0) {
		snprintf(where, sizeof(where), "checkpoint line %u:", line);
		if (strstr(arca_error_last(), where) == NULL)
			fail_msg("message \"%s\" does not name line %u", arca_error_last(), line);
	}
}

#define L1 NAME "\n"
#define L3 "GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZUCw=\n"
#define L4 "time 2025-01-02T03:04:05Z\n"
#define EM "\xE2\x80\x94 "

static void test_malformed_rejected(void **state)
{
	(void)state;

	/* the envelope */
	expect_reject(BODY SIG_LINE, ARCA_EPROTO, 5);                 /* no blank line */
	expect_reject(BODY "\n", ARCA_EPROTO, 6);                     /* no signature */
	expect_reject(BODY "\n" EM NAME " AAAA", ARCA_EPROTO, 6);     /* no final newline */
	expect_reject("", ARCA_EPROTO, 1);
	expect_reject("\n\n", ARCA_EPROTO, 0);
	expect_reject(BODY "\n" SIG_LINE "\n", ARCA_EPROTO, 0);       /* blank line at the end */
	/* tree size */
	expect_reject(L1 "abc\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "-5\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "+5\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "05\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "00\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 " 5\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "5 \n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "5.0\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "0x5\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "18446744073709551616\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "99999999999999999999999\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	/* root hash */
	expect_reject(L1 "5\n" "GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZUC!=\n" L4 "\n" SIG_LINE, ARCA_EPROTO, 3);
	expect_reject(L1 "5\n" "GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZUCw\n" L4 "\n" SIG_LINE, ARCA_EPROTO, 3);
	expect_reject(L1 "5\n" "GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZUCx=\n" L4 "\n" SIG_LINE, ARCA_EPROTO, 3);
	expect_reject(L1 "5\n" "GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZUCw= \n" L4 "\n" SIG_LINE, ARCA_EPROTO, 3);
	expect_reject(L1 "5\n" "GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZ\n" L4 "\n" SIG_LINE, ARCA_EPROTO, 3);
	expect_reject(L1 "5\n" "GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZUCw=GqaN\n" L4 "\n" SIG_LINE, ARCA_EPROTO, 3);
	expect_reject(L1 "5\n" "GqaNMHSQWlgfhMu9D3U3lJBP2ARRvEwT5p2aU7xZUCw-\n" L4 "\n" SIG_LINE, ARCA_EPROTO, 3);
	/* too few lines, empty lines */
	expect_reject(L1 "5\n" "\n" SIG_LINE, ARCA_EPROTO, 3);
	expect_reject(L1 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject("\n" L1 "5\n" L3 "\n" SIG_LINE, ARCA_EPROTO, 1);
	expect_reject(L1 "5\n" L3 L4 "\n" "ext\n" "\n" SIG_LINE, ARCA_EPROTO, 5);
	/* control characters and UTF-8 */
	expect_reject(L1 "5\r\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 2);
	expect_reject(L1 "5\n" L3 "time\t2025-01-02T03:04:05Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject("arca.\xC3\x28xample\n5\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 1);
	expect_reject("arca.\xC0\xAExample\n5\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 1); /* overlong */
	expect_reject("arca.\xED\xA0\x80xample\n5\n" L3 L4 "\n" SIG_LINE, ARCA_EPROTO, 1); /* surrogate */
	/* time line */
	expect_reject(L1 "5\n" L3 "time 2025-1-02T03:04:05Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2025-02-30T03:04:05Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2023-02-29T03:04:05Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2025-13-02T03:04:05Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2025-01-02T24:04:05Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2025-01-02T03:04:60Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2025-01-02 03:04:05Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2025-01-02T03:04:05z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2025-01-02T03:04:05.5Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time 2025-01-02T03:04:05+00:00\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 "time  2025-01-02T03:04:05Z\n" "\n" SIG_LINE, ARCA_EPROTO, 4);
	expect_reject(L1 "5\n" L3 L4 L4 "\n" SIG_LINE, ARCA_EPROTO, 5);
	expect_reject(L1 "5\n" L3 "ext\n" L4 "\n" SIG_LINE, ARCA_EPROTO, 5);
	/* signature lines */
	expect_reject(BODY "\n" "- " NAME " AAAAAQID\n", ARCA_EPROTO, 6);
	expect_reject(BODY "\n" EM NAME "\n", ARCA_EPROTO, 6);
	expect_reject(BODY "\n" EM " " NAME " AAAAAQID\n", ARCA_EPROTO, 6);   /* empty name */
	expect_reject(BODY "\n" EM NAME "  AAAAAQID\n", ARCA_EPROTO, 6);      /* two spaces */
	expect_reject(BODY "\n" EM NAME " AAAAAQID \n", ARCA_EPROTO, 6);      /* trailing space */
	expect_reject(BODY "\n" EM NAME " AAAA AQID\n", ARCA_EPROTO, 6);
	expect_reject(BODY "\n" EM "a+b AAAAAQID\n", ARCA_EPROTO, 6);         /* '+' in name */
	expect_reject(BODY "\n" EM "a\xC2\xA0" "b AAAAAQID\n", ARCA_EPROTO, 6); /* NBSP in name */
	expect_reject(BODY "\n" EM NAME " AAAAAQ\n", ARCA_EPROTO, 6);         /* not padded */
	expect_reject(BODY "\n" EM NAME " AAAAAA==\n", ARCA_EPROTO, 6);       /* 4 bytes: no signature */
	expect_reject(BODY "\n" EM NAME " !AAAAQID\n", ARCA_EPROTO, 6);
	expect_reject(BODY "\n" SIG_LINE EM NAME " AAAAAQID\n" "junk\n", ARCA_EPROTO, 8);
}

static void test_limits(void **state)
{
	char *big, *p;
	size_t i, len;
	(void)state;

	/* longer than CHAIN_CHECKPOINT_MAX_LEN */
	len = CHAIN_CHECKPOINT_MAX_LEN + 1;
	big = malloc(len + 1);
	assert_non_null(big);
	memset(big, 'a', len);
	big[len] = '\0';
	expect_reject(big, ARCA_ELIMIT, 0);
	free(big);

	/* more than CHAIN_CHECKPOINT_MAX_SIGS signature lines */
	big = malloc(strlen(BODY) + 1 + (CHAIN_CHECKPOINT_MAX_SIGS + 1) * strlen(SIG_LINE) + 1);
	assert_non_null(big);
	p = big;
	p += sprintf(p, "%s\n", BODY);
	for (i = 0; i < CHAIN_CHECKPOINT_MAX_SIGS + 1; i++)
		p += sprintf(p, "%s", SIG_LINE);
	expect_reject(big, ARCA_ELIMIT, 6 + CHAIN_CHECKPOINT_MAX_SIGS);
	/* exactly the maximum is fine, and verifies */
	{
		chain_checkpoint *cp;
		chain_key *k = seed_key(0);
		assert_int_equal(chain_checkpoint_parse(&cp, big, strlen(big) - strlen(SIG_LINE)), 0);
		assert_int_equal(chain_checkpoint_signature_count(cp), CHAIN_CHECKPOINT_MAX_SIGS);
		assert_int_equal(chain_checkpoint_verify(cp, k, NAME), 0);
		chain_checkpoint_free(cp);
		chain_key_free(k);
	}
	free(big);
}

static void test_time_and_extensions(void **state)
{
	static const struct {
		const char *text;
		int64_t t;
	} times[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "2000-02-29T12:00:00Z", 951825600 },
		{ "2024-02-29T23:59:59Z", 1709251199 },
		{ "2038-01-19T03:14:08Z", 2147483648LL },
		{ "0000-01-01T00:00:00Z", -62167219200LL },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
	};
	uint8_t root[CHAIN_HASH_LEN] = { 0 };
	chain_checkpoint *cp;
	char note[512], *text;
	const char *body;
	size_t i, len;
	int64_t t;
	(void)state;

	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		snprintf(note, sizeof(note), L1 "5\n" L3 "time %s\n\n" SIG_LINE, times[i].text);
		assert_int_equal(parse_str(&cp, note), 0);
		assert_int_equal(chain_checkpoint_time(cp, &t), 0);
		assert_int_equal(t, times[i].t);
		chain_checkpoint_free(cp);
		/* and back */
		assert_int_equal(chain_checkpoint_new(&cp, NAME, 5, root, times[i].t), 0);
		body = chain_checkpoint_body(cp, &len);
		assert_non_null(strstr(body, times[i].text));
		chain_checkpoint_free(cp);
	}
	assert_int_equal(chain_checkpoint_new(&cp, NAME, 5, root, 253402300800LL), ARCA_EINVAL);
	assert_int_equal(chain_checkpoint_new(&cp, NAME, 5, root, -62167219201LL), ARCA_EINVAL);

	/* another log's checkpoint: no time line, extension lines kept */
	snprintf(note, sizeof(note), "example.com/log 42\n0\n" L3 "ext one\nfoo\n\n" SIG_LINE);
	assert_int_equal(parse_str(&cp, note), 0);
	assert_string_equal(chain_checkpoint_origin(cp), "example.com/log 42");
	assert_int_equal(chain_checkpoint_size(cp), 0);
	assert_int_equal(chain_checkpoint_time(cp, &t), ARCA_ENOTFOUND);
	assert_int_equal(chain_checkpoint_extension_count(cp), 2);
	assert_string_equal(chain_checkpoint_extension(cp, 0), "ext one");
	assert_string_equal(chain_checkpoint_extension(cp, 1), "foo");
	assert_null(chain_checkpoint_extension(cp, 2));
	assert_int_equal(chain_checkpoint_encode(cp, &text, &len), 0);
	assert_string_equal(text, note);
	free(text);
	chain_checkpoint_free(cp);
	/* time first, then other extensions; the largest size */
	snprintf(note, sizeof(note), L1 "18446744073709551615\n" L3 L4 "x\n\n" SIG_LINE);
	assert_int_equal(parse_str(&cp, note), 0);
	assert_int_equal(chain_checkpoint_size(cp), UINT64_MAX);
	assert_int_equal(chain_checkpoint_extension_count(cp), 1);
	chain_checkpoint_free(cp);
	/* empty tree */
	snprintf(note, sizeof(note), L1 "0\n" L3 "\n" SIG_LINE);
	assert_int_equal(parse_str(&cp, note), 0);
	chain_checkpoint_free(cp);
}

static void test_bad_names(void **state)
{
	uint8_t root[CHAIN_HASH_LEN] = { 0 };
	chain_key *k = seed_key(0);
	chain_checkpoint *cp;
	(void)state;

	assert_int_equal(chain_checkpoint_new(&cp, "", 1, root, TIME), ARCA_EINVAL);
	assert_int_equal(chain_checkpoint_new(&cp, "a b", 1, root, TIME), ARCA_EINVAL);
	assert_int_equal(chain_checkpoint_new(&cp, "a+b", 1, root, TIME), ARCA_EINVAL);
	assert_int_equal(chain_checkpoint_new(&cp, "a\nb", 1, root, TIME), ARCA_EINVAL);
	assert_int_equal(chain_checkpoint_new(&cp, "a\xE3\x80\x80" "b", 1, root, TIME), ARCA_EINVAL);
	assert_int_equal(chain_checkpoint_new(&cp, "h\xC3\xB4pital.example/n1", 1, root, TIME), 0);
	assert_int_equal(chain_checkpoint_sign(cp, k, "bad name"), ARCA_EINVAL);
	assert_int_equal(chain_checkpoint_signature_count(cp), 0);
	chain_checkpoint_free(cp);
	chain_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_exact_bytes),
		cmocka_unit_test(test_parse_verify_round_trip),
		cmocka_unit_test(test_other_key_or_name_fails),
		cmocka_unit_test(test_body_changed_fails),
		cmocka_unit_test(test_several_signatures),
		cmocka_unit_test(test_malformed_rejected),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_time_and_extensions),
		cmocka_unit_test(test_bad_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
