/* pacs_charset_test.c - Specific Character Set conversions: every defined
 * term of PS3.3 C.12.1.1.2, the worked examples of PS3.5 Annexes H, I, J
 * and K byte for byte, ISO 2022 state resets, errors, and the character
 * set sample files (expected UTF-8 taken once from DCMTK's
 * `dcmdump +U8 +L`, except the ISO 2022 IR 87 files, which DCMTK's iconv
 * build cannot convert: those expect the text PS3.5 H.3 gives). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_charset.h"

/* A string literal and its length (literals may hold NUL-free raw bytes). */
#define S(x) (x), (sizeof(x) - 1)
#define SU(x) (const uint8_t *)(x), (sizeof(x) - 1)

static pacs_charset *open_term(const char *term)
{
	pacs_charset *cs = NULL;
	int rc = pacs_charset_open(&cs, (const uint8_t *)term, strlen(term));

	if (rc != 0)
		fail_msg("open '%s': %d %s", term, rc, arca_error_last());
	return cs;
}

static void expect_decode(const char *term, pacs_vr vr, const char *raw, size_t rawlen,
			  const char *utf8, size_t utf8len)
{
	pacs_charset *cs = open_term(term);
	char *out = NULL;
	size_t n = 0;
	int rc = pacs_charset_to_utf8(cs, vr, (const uint8_t *)raw, rawlen, &out, &n);

	if (rc != 0)
		fail_msg("decode under '%s': %d %s", term, rc, arca_error_last());
	assert_int_equal(n, utf8len);
	assert_memory_equal(out, utf8, utf8len);
	assert_int_equal(out[n], '\0');
	free(out);
	pacs_charset_free(cs);
}

static void expect_encode(const char *term, pacs_vr vr, const char *utf8, size_t utf8len,
			  const char *raw, size_t rawlen)
{
	pacs_charset *cs = open_term(term);
	uint8_t *out = NULL;
	size_t n = 0;
	int rc = pacs_charset_from_utf8(cs, vr, utf8, utf8len, &out, &n);

	if (rc != 0)
		fail_msg("encode under '%s': %d %s", term, rc, arca_error_last());
	assert_int_equal(n, rawlen);
	assert_memory_equal(out, raw, rawlen);
	free(out);
	pacs_charset_free(cs);
}

/* Both directions: raw decodes to utf8 and utf8 encodes back to raw. */
static void expect_both(const char *term, pacs_vr vr, const char *raw, size_t rawlen,
			const char *utf8, size_t utf8len)
{
	expect_decode(term, vr, raw, rawlen, utf8, utf8len);
	expect_encode(term, vr, utf8, utf8len, raw, rawlen);
}

static void expect_roundtrip(const char *term, pacs_vr vr, const char *utf8)
{
	pacs_charset *cs = open_term(term);
	uint8_t *enc = NULL;
	char *dec = NULL;
	size_t n = 0, m = 0;

	if (pacs_charset_from_utf8(cs, vr, utf8, strlen(utf8), &enc, &n) != 0)
		fail_msg("round trip encode '%s' under '%s': %s", utf8, term, arca_error_last());
	if (pacs_charset_to_utf8(cs, vr, enc, n, &dec, &m) != 0)
		fail_msg("round trip decode under '%s': %s", term, arca_error_last());
	assert_int_equal(m, strlen(utf8));
	assert_memory_equal(dec, utf8, m);
	free(enc);
	free(dec);
	pacs_charset_free(cs);
}

/* Decoding must fail with ARCA_ECHARSET and a message naming `where`. */
static void expect_decode_error(const char *term, pacs_vr vr, const char *raw, size_t rawlen,
				const char *where)
{
	pacs_charset *cs = open_term(term);
	char *out = (char *)1;
	size_t n = 1;
	int rc = pacs_charset_to_utf8(cs, vr, (const uint8_t *)raw, rawlen, &out, &n);

	assert_int_equal(rc, ARCA_ECHARSET);
	assert_null(out);
	assert_int_equal(n, 0);
	if (strstr(arca_error_last(), where) == NULL)
		fail_msg("message '%s' lacks '%s'", arca_error_last(), where);
	pacs_charset_free(cs);
}

static void expect_encode_error(const char *term, pacs_vr vr, const char *utf8, size_t len,
				const char *where)
{
	pacs_charset *cs = open_term(term);
	uint8_t *out = (uint8_t *)1;
	size_t n = 1;
	int rc = pacs_charset_from_utf8(cs, vr, utf8, len, &out, &n);

	assert_int_equal(rc, ARCA_ECHARSET);
	assert_null(out);
	if (strstr(arca_error_last(), where) == NULL)
		fail_msg("message '%s' lacks '%s'", arca_error_last(), where);
	pacs_charset_free(cs);
}

/* ---- terms ---- */

static void test_default_repertoire(void **state)
{
	pacs_charset *cs = NULL;
	char *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(pacs_charset_open(&cs, NULL, 0), 0);
	assert_int_equal(pacs_charset_term_count(cs), 1);
	assert_string_equal(pacs_charset_term(cs, 0), "");
	assert_null(pacs_charset_term(cs, 1));
	assert_true(pacs_charset_is_utf8_compatible(cs));
	assert_int_equal(pacs_charset_to_utf8(cs, PACS_VR_PN, SU("Smith^John"), &out, &n), 0);
	assert_string_equal(out, "Smith^John");
	assert_int_equal(n, 10);
	free(out);
	/* Empty value: an allocated empty string. */
	assert_int_equal(pacs_charset_to_utf8(cs, PACS_VR_LO, NULL, 0, &out, &n), 0);
	assert_string_equal(out, "");
	assert_int_equal(n, 0);
	free(out);
	pacs_charset_free(cs);
	/* Leniency: bytes above 0x7F in the default repertoire read as
	 * ISO 8859-1 ("Müller"); encoding stays strict. */
	expect_decode("", PACS_VR_PN, S("M\xfcller"), S("M\xc3\xbcller"));
	expect_encode_error("", PACS_VR_PN, S("M\xc3\xbcller"), "U+00FC");
	/* Spaces only are the default repertoire too. */
	cs = open_term("  ");
	assert_string_equal(pacs_charset_term(cs, 0), "");
	pacs_charset_free(cs);
	pacs_charset_free(NULL);
}

static void test_term_spellings(void **state)
{
	static const char *const latin1[] = {
		"ISO_IR 100", "ISO-IR 100", "ISO_IR100", "iso_ir 100", " ISO_IR 100 ",
		"ISO IR 100", "ISO-8859-1",
	};
	pacs_charset *cs;

	(void)state;
	for (size_t i = 0; i < sizeof(latin1) / sizeof(latin1[0]); i++) {
		cs = open_term(latin1[i]);
		assert_int_equal(pacs_charset_term_count(cs), 1);
		assert_string_equal(pacs_charset_term(cs, 0), "ISO_IR 100");
		assert_false(pacs_charset_is_utf8_compatible(cs));
		pacs_charset_free(cs);
	}
	/* NUL padding as some writers leave it. */
	assert_int_equal(pacs_charset_open(&cs, (const uint8_t *)"ISO_IR 100\0", 11), 0);
	assert_string_equal(pacs_charset_term(cs, 0), "ISO_IR 100");
	pacs_charset_free(cs);
	cs = open_term("UTF-8");
	assert_string_equal(pacs_charset_term(cs, 0), "ISO_IR 192");
	assert_true(pacs_charset_is_utf8_compatible(cs));
	pacs_charset_free(cs);
	cs = open_term("\\ISO 2022 IR 87");
	assert_int_equal(pacs_charset_term_count(cs), 2);
	assert_string_equal(pacs_charset_term(cs, 0), "");
	assert_string_equal(pacs_charset_term(cs, 1), "ISO 2022 IR 87");
	assert_false(pacs_charset_is_utf8_compatible(cs));
	pacs_charset_free(cs);
	cs = open_term("ISO 2022 IR 6");
	assert_true(pacs_charset_is_utf8_compatible(cs));
	pacs_charset_free(cs);
	cs = open_term("ISO2022 IR 13\\ISO 2022 IR87");
	assert_string_equal(pacs_charset_term(cs, 0), "ISO 2022 IR 13");
	assert_string_equal(pacs_charset_term(cs, 1), "ISO 2022 IR 87");
	pacs_charset_free(cs);
}

static void test_unknown_and_bad_terms(void **state)
{
	pacs_charset *cs = (pacs_charset *)1;
	char many[16 * 16 + 1] = "";

	(void)state;
	assert_int_equal(pacs_charset_open(&cs, SU("ISO_IR 999")), ARCA_EUNSUPPORTED);
	assert_null(cs);
	assert_non_null(strstr(arca_error_last(), "'ISO_IR 999'"));
	assert_int_equal(pacs_charset_open(&cs, SU("ISO_IR 100\\KOI8-R")), ARCA_EUNSUPPORTED);
	assert_non_null(strstr(arca_error_last(), "value 2 'KOI8-R'"));
	/* Table C.12-5 sets admit no code extensions after value 1 ... */
	assert_int_equal(pacs_charset_open(&cs, SU("ISO 2022 IR 100\\ISO_IR 192")),
			 ARCA_EUNSUPPORTED);
	assert_non_null(strstr(arca_error_last(), "ISO_IR 192"));
	/* ... and as value 1 they win over what follows. */
	cs = open_term("ISO_IR 192\\ISO 2022 IR 100");
	assert_true(pacs_charset_is_utf8_compatible(cs));
	pacs_charset_free(cs);
	for (int i = 0; i < 17; i++)
		strcat(many, i ? "\\ISO 2022 IR 6" : "ISO 2022 IR 6");
	assert_int_equal(pacs_charset_open(&cs, (const uint8_t *)many, strlen(many)),
			 ARCA_ELIMIT);
	assert_int_equal(pacs_charset_open(&cs, NULL, 3), ARCA_EINVAL);
}

/* ---- single-byte sets (PS3.3 Tables C.12-2 and C.12-3) ---- */

struct sb_case {
	const char *term;
	const char *raw;
	const char *utf8;
};

/* Expected bytes from the ISO 8859 / TIS 620 / JIS X 0201 code charts
 * (checked against Python's codecs, not glibc). */
static const struct sb_case sb_cases[] = {
	/* German: Äneas^Rüdiger */
	{ "ISO_IR 100", "\xc4neas^R\xfc" "diger", "\xc3\x84neas^R\xc3\xbc" "diger" },
	/* Czech: Dvořák^Antonín */
	{ "ISO_IR 101", "Dvo\xf8\xe1k^Anton\xedn", "Dvo\xc5\x99\xc3\xa1k^Anton\xc3\xadn" },
	/* Maltese: Ħamrun^Ġużè */
	{ "ISO_IR 109", "\xa1" "amrun^\xd5u\xbf\xe8",
	  "\xc4\xa6" "amrun^\xc4\xa0u\xc5\xbc\xc3\xa8" },
	/* Baltic: Ķēniņš^Āris */
	{ "ISO_IR 110", "\xd3\xbani\xf1\xb9^\xc0ris",
	  "\xc4\xb6\xc4\x93ni\xc5\x86\xc5\xa1^\xc4\x80ris" },
	/* Russian: Москва^Люкceмбypг */
	{ "ISO_IR 144", "\xbc\xde\xe1\xda\xd2\xd0^\xbb\xee\xda" "ce\xdc\xd1yp\xd3",
	  "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0^\xd0\x9b\xd1\x8e\xd0\xba"
	  "ce\xd0\xbc\xd0\xb1yp\xd0\xb3" },
	/* Arabic: قباني^لنزار */
	{ "ISO_IR 127", "\xe2\xc8\xc7\xe6\xea^\xe4\xe6\xd2\xc7\xd1",
	  "\xd9\x82\xd8\xa8\xd8\xa7\xd9\x86\xd9\x8a^\xd9\x84\xd9\x86\xd8\xb2\xd8\xa7\xd8\xb1" },
	/* Greek: Διονυσιος^Ελλάδα */
	{ "ISO_IR 126", "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2^\xc5\xeb\xeb\xdc\xe4\xe1",
	  "\xce\x94\xce\xb9\xce\xbf\xce\xbd\xcf\x85\xcf\x83\xce\xb9\xce\xbf\xcf\x82^"
	  "\xce\x95\xce\xbb\xce\xbb\xce\xac\xce\xb4\xce\xb1" },
	/* Hebrew: שרון^דבורה */
	{ "ISO_IR 138", "\xf9\xf8\xe5\xef^\xe3\xe1\xe5\xf8\xe4",
	  "\xd7\xa9\xd7\xa8\xd7\x95\xd7\x9f^\xd7\x93\xd7\x91\xd7\x95\xd7\xa8\xd7\x94" },
	/* Turkish: Ağaoğlu^Şükrü */
	{ "ISO_IR 148", "A\xf0" "ao\xf0lu^\xde\xfckr\xfc",
	  "A\xc4\x9f" "ao\xc4\x9flu^\xc5\x9e\xc3\xbckr\xc3\xbc" },
	/* Latin-9: Œuvre^Zoë=€ */
	{ "ISO_IR 203", "\xbcuvre^Zo\xeb=\xa4", "\xc5\x92uvre^Zo\xc3\xab=\xe2\x82\xac" },
	/* JIS X 0201 Katakana in G1: ﾔﾏﾀﾞ^ﾀﾛｳ */
	{ "ISO_IR 13", "\xd4\xcf\xc0\xde^\xc0\xdb\xb3",
	  "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3" },
	/* Thai: ภาษาไทย^สมชาย */
	{ "ISO_IR 166", "\xc0\xd2\xc9\xd2\xe4\xb7\xc2^\xca\xc1\xaa\xd2\xc2",
	  "\xe0\xb8\xa0\xe0\xb8\xb2\xe0\xb8\xa9\xe0\xb8\xb2\xe0\xb9\x84\xe0\xb8\x97\xe0\xb8\xa2^"
	  "\xe0\xb8\xaa\xe0\xb8\xa1\xe0\xb8\x8a\xe0\xb8\xb2\xe0\xb8\xa2" },
};

static void test_single_byte_sets(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sb_cases) / sizeof(sb_cases[0]); i++) {
		const struct sb_case *c = &sb_cases[i];
		char ext[32];

		expect_both(c->term, PACS_VR_PN, c->raw, strlen(c->raw), c->utf8, strlen(c->utf8));
		/* The same set with code extensions: value 1 is designated
		 * initially, so the bytes are the same without escapes. */
		snprintf(ext, sizeof(ext), "ISO 2022 IR %s", c->term + 7);
		expect_both(ext, PACS_VR_PN, c->raw, strlen(c->raw), c->utf8, strlen(c->utf8));
	}
}

static void test_jis_x0201_romaji(void **state)
{
	(void)state;
	/* ISO-IR 14: 05/12 is YEN SIGN in text, the value delimiter elsewhere;
	 * 07/14 is OVERLINE. */
	expect_both("ISO_IR 13", PACS_VR_LT, S("100\x5c~"), S("100\xc2\xa5\xe2\x80\xbe"));
	expect_both("ISO_IR 13", PACS_VR_LO, S("A\\B"), S("A\\B"));
	expect_encode_error("ISO_IR 13", PACS_VR_LO, S("\xc2\xa5"), "U+00A5");
	expect_encode_error("ISO_IR 13", PACS_VR_LT, S("a\\b"), "U+005C");
}

/* ---- PS3.5 Annex H: Japanese ---- */

/* Yamada^Tarou=山田^太郎=やまだ^たろう */
#define YAMADA_UTF8 "Yamada^Tarou=\xe5\xb1\xb1\xe7\x94\xb0^\xe5\xa4\xaa\xe9\x83\x8e=" \
	"\xe3\x82\x84\xe3\x81\xbe\xe3\x81\xa0^\xe3\x81\x9f\xe3\x82\x8d\xe3\x81\x86"
/* ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう */
#define YAMADA_KANA_UTF8 "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^" \
	"\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3=\xe5\xb1\xb1\xe7\x94\xb0^\xe5\xa4\xaa\xe9\x83\x8e=" \
	"\xe3\x82\x84\xe3\x81\xbe\xe3\x81\xa0^\xe3\x81\x9f\xe3\x82\x8d\xe3\x81\x86"

/* PS3.5 Example H.3-1 encoded representation. */
static const char h31_raw[] =
	"Yamada^Tarou="
	"\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B="
	"\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B";
/* PS3.5 Example H.3-2 encoded representation. */
static const char h32_raw[] =
	"\xd4\xcf\xc0\xde^\xc0\xdb\xb3="
	"\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J="
	"\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J";

static void test_h31_japanese(void **state)
{
	(void)state;
	expect_both("\\ISO 2022 IR 87", PACS_VR_PN, S(h31_raw), S(YAMADA_UTF8));
}

static void test_h32_japanese_katakana(void **state)
{
	(void)state;
	expect_both("ISO 2022 IR 13\\ISO 2022 IR 87", PACS_VR_PN, S(h32_raw), S(YAMADA_KANA_UTF8));
}

static void test_jis_x0212(void **state)
{
	(void)state;
	/* 丂 (JIS X 0212 0x3021) has no JIS X 0208 code; 山 does. */
	expect_both("\\ISO 2022 IR 87\\ISO 2022 IR 159", PACS_VR_LO,
		    S("\x1b$(D0!\x1b$B;3\x1b(B"), S("\xe4\xb8\x82\xe5\xb1\xb1"));
	/* Without ISO 2022 IR 159 listed, 丂 has no encoding. */
	expect_encode_error("\\ISO 2022 IR 87", PACS_VR_LO, S("\xe4\xb8\x82"), "U+4E02");
}

/* ---- PS3.5 Annex I: Korean ---- */

/* Hong^Gildong=洪^吉洞=홍^길동 */
#define HONG_UTF8 "Hong^Gildong=\xe6\xb4\xaa^\xe5\x90\x89\xe6\xb4\x9e=" \
	"\xed\x99\x8d^\xea\xb8\xb8\xeb\x8f\x99"
/* PS3.5 Example I.2-1 encoded representation. */
static const char i2_raw[] =
	"Hong^Gildong="
	"\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7="
	"\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf";

static void test_i2_korean(void **state)
{
	(void)state;
	expect_both("\\ISO 2022 IR 149", PACS_VR_PN, S(i2_raw), S(HONG_UTF8));
}

static void test_korean_text(void **state)
{
	(void)state;
	/* Long text in the style of PS3.5 Annex I: each line designates
	 * KS X 1001 anew because CR LF resets G1 (bytes of 길동 as in I.2). */
	expect_both("\\ISO 2022 IR 149", PACS_VR_LT,
		    S("The 1st line includes \x1b$)C\xb1\xe6\xb5\xbf.\r\n"
		      "The 2nd line includes \x1b$)C\xb1\xe6\xb5\xbf, too.\r\n"
		      "The 3rd line."),
		    S("The 1st line includes \xea\xb8\xb8\xeb\x8f\x99.\r\n"
		      "The 2nd line includes \xea\xb8\xb8\xeb\x8f\x99, too.\r\n"
		      "The 3rd line."));
}

/* ---- PS3.5 Annex J: Chinese, UTF-8 and GB18030 ---- */

/* PS3.5 J.3 text string Wang^XiaoDong=王^小東= and its UTF-8 bytes. */
static const char j_pn_utf8[] =
	"\x57\x61\x6e\x67\x5e\x58\x69\x61\x6f\x44\x6f\x6e\x67\x3d\xe7\x8e\x8b\x5e"
	"\xe5\xb0\x8f\xe6\x9d\xb1\x3d";
/* J.2 / J.4 long text: "The first line includes中文." ... */
#define J_TEXT_UTF8 "The first line includes\xe4\xb8\xad\xe6\x96\x87.\r\n" \
	"The second line includes\xe4\xb8\xad\xe6\x96\x87, too.\r\nThe third line.\r\n"
#define J_TEXT_GB "The first line includes\xd6\xd0\xce\xc4.\r\n" \
	"The second line includes\xd6\xd0\xce\xc4, too.\r\nThe third line.\r\n"
/* Wang^XiaoDong=王^小东= (simplified) */
#define WANG_SIMPLIFIED_UTF8 "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe4\xb8\x9c="
/* PS3.5 J.3 GB18030 encoded representation. */
static const char j3_raw[] =
	"\x57\x61\x6e\x67\x5e\x58\x69\x61\x6f\x44\x6f\x6e\x67\x3d\xcd\xf5\x5e\xd0\xa1\xb6\xab\x3d";

static void test_j_utf8(void **state)
{
	(void)state;
	expect_both("ISO_IR 192", PACS_VR_PN, S(j_pn_utf8), S("Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1="));
	expect_both("ISO_IR 192", PACS_VR_LT, S(J_TEXT_UTF8), S(J_TEXT_UTF8));
}

static void test_j_gb18030(void **state)
{
	(void)state;
	expect_both("GB18030", PACS_VR_PN, S(j3_raw), S(WANG_SIMPLIFIED_UTF8));
	expect_both("GB18030", PACS_VR_LT, S(J_TEXT_GB), S(J_TEXT_UTF8));
	/* A four-byte GB18030 sequence: U+20000 is 0x95 0x32 0x82 0x36. */
	expect_both("GB18030", PACS_VR_LO, S("\x95\x32\x82\x36"), S("\xf0\xa0\x80\x80"));
}

static void test_gbk(void **state)
{
	(void)state;
	/* GBK is the two-byte part of GB18030: the J.3 and J.4 bytes are
	 * GBK as they stand. */
	expect_both("GBK", PACS_VR_PN, S(j3_raw), S(WANG_SIMPLIFIED_UTF8));
	expect_both("GBK", PACS_VR_LT, S(J_TEXT_GB), S(J_TEXT_UTF8));
	/* ... but GBK has no four-byte sequences. */
	expect_encode_error("GBK", PACS_VR_LO, S("ab\xf0\xa0\x80\x80"), "offset 2");
	expect_decode_error("GBK", PACS_VR_LO, S("ab\x95\x32\x82\x36"), "offset 2");
}

/* ---- PS3.5 Annex K: Chinese with code extensions (GB 2312) ---- */

/* PS3.5 Example K.2-1 (its trailing 0x20 pad is not part of the value). */
static const char k2_raw[] =
	"\x5a\x68\x61\x6e\x67\x5e\x58\x69\x61\x6f\x44\x6f\x6e\x67\x3d\x1b\x24\x29\x41\xd5\xc5"
	"\x5e\x1b\x24\x29\x41\xd0\xa1\xb6\xab\x3d";
/* Zhang^XiaoDong=张^小东= */
#define ZHANG_UTF8 "Zhang^XiaoDong=\xe5\xbc\xa0^\xe5\xb0\x8f\xe4\xb8\x9c="
/* PS3.5 Example K.3-1 encoded representation. */
static const char k3_raw[] =
	"\x31\x2e\x1b\x24\x29\x41\xb5\xda\xd2\xbb\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\x0d\x0a"
	"\x32\x2e\x1b\x24\x29\x41\xb5\xda\xb6\xfe\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\x0d\x0a"
	"\x33\x2e\x1b\x24\x29\x41\xb5\xda\xc8\xfd\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\x0d\x0a";
/* 1.第一行文字。 2.第二行文字。 3.第三行文字。 with CR LF */
#define K3_UTF8 "1.\xe7\xac\xac\xe4\xb8\x80\xe8\xa1\x8c\xe6\x96\x87\xe5\xad\x97\xe3\x80\x82\r\n" \
	"2.\xe7\xac\xac\xe4\xba\x8c\xe8\xa1\x8c\xe6\x96\x87\xe5\xad\x97\xe3\x80\x82\r\n" \
	"3.\xe7\xac\xac\xe4\xb8\x89\xe8\xa1\x8c\xe6\x96\x87\xe5\xad\x97\xe3\x80\x82\r\n"

static void test_k_gb2312(void **state)
{
	(void)state;
	expect_both("\\ISO 2022 IR 58", PACS_VR_PN, S(k2_raw), S(ZHANG_UTF8));
	/* With the example's pad: the decoder keeps it (trimming is the
	 * caller's, pacs_elem_utf8). */
	expect_decode("\\ISO 2022 IR 58", PACS_VR_PN, S("Zhang^XiaoDong=\x1b$)A\xd5\xc5= "),
		      S("Zhang^XiaoDong=\xe5\xbc\xa0= "));
	expect_both("\\ISO 2022 IR 58", PACS_VR_LT, S(k3_raw), S(K3_UTF8));
}

/* ---- ISO 2022 state ---- */

static void test_iso2022_resets(void **state)
{
	(void)state;
	/* PN: '=' brings G1 back to value 1's ISO-IR 100, so 0xE9 after it is
	 * é, before it (Cyrillic designated) Л.  Encoding returns to ESC - A
	 * before the delimiter and at the end of the value. */
	expect_both("ISO 2022 IR 100\\ISO 2022 IR 144", PACS_VR_PN,
		    S("\x1b-L\xbb\x1b-A=\xe9"), S("\xd0\x9b=\xc3\xa9"));
	/* The decoder needs no return sequence: the delimiter resets. */
	expect_decode("ISO 2022 IR 100\\ISO 2022 IR 144", PACS_VR_PN,
		      S("\x1b-L\xbb=\xe9"), S("\xd0\x9b=\xc3\xa9"));
	/* Multi-valued LO: '\' resets; in LT it is a character, no reset. */
	expect_decode("ISO 2022 IR 100\\ISO 2022 IR 144", PACS_VR_LO,
		      S("\x1b-L\xbb\\\xe9"), S("\xd0\x9b\\\xc3\xa9"));
	expect_decode("ISO 2022 IR 100\\ISO 2022 IR 144", PACS_VR_LT,
		      S("\x1b-L\xbb\\\xe9"), S("\xd0\x9b\\\xd1\x89"));
	/* In LT, CR LF reset. */
	expect_decode("ISO 2022 IR 100\\ISO 2022 IR 144", PACS_VR_LT,
		      S("\x1b-L\xbb\r\n\xe9"), S("\xd0\x9b\r\n\xc3\xa9"));
	/* '^' resets only in PN. */
	expect_decode("ISO 2022 IR 100\\ISO 2022 IR 144", PACS_VR_LO,
		      S("\x1b-L\xbb^\xe9"), S("\xd0\x9b^\xd1\x89"));
	/* A control character ends a JIS X 0208 run left open by a writer
	 * (it cannot be part of a double-byte character) ... */
	expect_decode("\\ISO 2022 IR 87", PACS_VR_LT,
		      S("\x1b$B;3\r\nabc"), S("\xe5\xb1\xb1\r\nabc"));
	/* ... delimiters only while G0 is single-byte: 0x5C, 0x3D and 0x5E inside
	 * a JIS X 0208 character are not delimiters (移 is 0x30 0x5C, ソ is
	 * 0x25 0x3D, 緯 is 0x30 0x5E). */
	expect_both("\\ISO 2022 IR 87", PACS_VR_LO, S("\x1b$B0\\\x1b(B\\a"),
		    S("\xe7\xa7\xbb\\a"));
	expect_both("\\ISO 2022 IR 87", PACS_VR_PN, S("\x1b$B%=0^\x1b(B=a"),
		    S("\xe3\x82\xbd\xe7\xb7\xaf=a"));
	/* Multi-valued PN and LO encode with a return before each '\'. */
	expect_both("\\ISO 2022 IR 87", PACS_VR_LO,
		    S("\x1b$B;3ED\x1b(B\\\x1b$B$d$^$@\x1b(B"),
		    S("\xe5\xb1\xb1\xe7\x94\xb0\\\xe3\x82\x84\xe3\x81\xbe\xe3\x81\xa0"));
	/* A space switches back to ASCII when encoding (the first set in
	 * value order that has it) and is a space in any G0 when decoding. */
	expect_encode("\\ISO 2022 IR 87", PACS_VR_LO, S("\xe5\xb1\xb1 \xe7\x94\xb0"),
		      S("\x1b$B;3\x1b(B \x1b$BED\x1b(B"));
	expect_decode("\\ISO 2022 IR 87", PACS_VR_LO, S("\x1b$B;3 ED\x1b(B"),
		      S("\xe5\xb1\xb1 \xe7\x94\xb0"));
}

static void test_mixed_latin_greek(void **state)
{
	(void)state;
	/* Müller^Hans=Μύλλερ^Χανς: ü from value 1 (ISO-IR 100), the Greek
	 * from ISO-IR 126, back to ESC - A before '^' and at the end. */
	expect_both("ISO 2022 IR 100\\ISO 2022 IR 126", PACS_VR_PN,
		    S("M\xfcller^Hans=\x1b-F\xcc\xfd\xeb\xeb\xe5\xf1\x1b-A^\x1b-F\xd7\xe1\xed\xf2\x1b-A"),
		    S("M\xc3\xbcller^Hans=\xce\x9c\xcf\x8d\xce\xbb\xce\xbb\xce\xb5\xcf\x81^"
		      "\xce\xa7\xce\xb1\xce\xbd\xcf\x82"));
	/* Hebrew and Arabic side by side need two G1 switches. */
	expect_roundtrip("ISO 2022 IR 6\\ISO 2022 IR 138\\ISO 2022 IR 127", PACS_VR_LO,
			 "\xd7\xa9\xd7\xa8 \xd9\x82\xd8\xa8");
}

static void test_leniency(void **state)
{
	(void)state;
	/* A multi-byte term as value 1 (written without the leading '\'):
	 * ISO-IR 6 is the initial set. */
	expect_both("ISO 2022 IR 87", PACS_VR_PN, S(h31_raw), S(YAMADA_UTF8));
	/* ESC ( B under value 1 ISO 2022 IR 13 (seen in chrSQEncoding): ASCII
	 * was not listed but is honoured; '^' returns to JIS X 0201. */
	expect_decode("ISO 2022 IR 13\\ISO 2022 IR 87", PACS_VR_PN,
		      S("\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B="
			"\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B"), S(YAMADA_KANA_UTF8));
	/* G1 designated once for the whole value (no new ESC $ ) C after '^'). */
	expect_decode("\\ISO 2022 IR 149", PACS_VR_PN, S("\x1b$)C\xc8\xab^\xb1\xe6\xb5\xbf"),
		      S("\xed\x99\x8d^\xea\xb8\xb8\xeb\x8f\x99"));
	/* A GR byte before any G1 designation reads as ISO 8859-1. */
	expect_decode("\\ISO 2022 IR 87", PACS_VR_PN, S("M\xfcller"), S("M\xc3\xbcller"));
	/* JIS X 0201 Katakana designated to G0 (ISO-2022-JP style). */
	expect_decode("\\ISO 2022 IR 87", PACS_VR_LO, S("\x1b(I4\x1b(B"), S("\xef\xbd\xb4"));
	/* Misspelled terms. */
	expect_decode("ISO-IR 144", PACS_VR_PN, S("\xbb\xee\xda"), S("\xd0\x9b\xd1\x8e\xd0\xba"));
	expect_decode("ISO_IR100", PACS_VR_PN, S("J\xe9r\xf4me"), S("J\xc3\xa9r\xc3\xb4me"));
}

/* ---- errors ---- */

static void test_invalid_bytes(void **state)
{
	(void)state;
	/* ISO 8859-6 has no character at 0xA1. */
	expect_decode_error("ISO_IR 127", PACS_VR_LO, S("abc\xa1"), "offset 3");
	/* TIS 620 has none at 0xFC. */
	expect_decode_error("ISO_IR 166", PACS_VR_LO, S("\xfc"), "offset 0");
	/* JIS X 0201 Katakana stops at 0xDF. */
	expect_decode_error("ISO_IR 13", PACS_VR_LO, S("ab\xe0"), "offset 2");
	/* A JIS X 0208 character cut off by the end of the value. */
	expect_decode_error("\\ISO 2022 IR 87", PACS_VR_PN, S("\x1b$B;3E"), "offset 5");
	/* Row 0x29 of JIS X 0208 is unassigned. */
	expect_decode_error("\\ISO 2022 IR 87", PACS_VR_PN, S("a\x1b$B)!"), "offset 4");
	/* KS X 1001 needs two GR bytes. */
	expect_decode_error("\\ISO 2022 IR 149", PACS_VR_PN, S("\x1b$)C\xb1" "a"), "offset 4");
	/* Escape sequences: unknown, cut off, for a set not listed. */
	expect_decode_error("\\ISO 2022 IR 87", PACS_VR_LO, S("ab\x1b(Z"), "offset 2");
	expect_decode_error("\\ISO 2022 IR 87", PACS_VR_LO, S("ab\x1b$"), "offset 2");
	expect_decode_error("\\ISO 2022 IR 87", PACS_VR_LO, S("\x1b$)C\xb1\xe6"), "does not list");
	expect_decode_error("ISO 2022 IR 100", PACS_VR_LO, S("\x1b-L\xbb"), "ISO-IR 144");
	/* UTF-8: a bad continuation, an overlong form, a surrogate. */
	expect_decode_error("ISO_IR 192", PACS_VR_LO, S("ab\xc3\x28"), "offset 2");
	expect_decode_error("ISO_IR 192", PACS_VR_LO, S("\xc0\xaf"), "offset 0");
	expect_decode_error("ISO_IR 192", PACS_VR_LO, S("x\xed\xa0\x80"), "offset 1");
	/* GB18030: 0x81 0x20 is no sequence. */
	expect_decode_error("GB18030", PACS_VR_LO, S("Wang\x81\x20"), "offset 4");
}

static void test_unencodable(void **state)
{
	(void)state;
	expect_encode_error("\\ISO 2022 IR 87", PACS_VR_PN, S("Ren\xc3\xa9"), "U+00E9 at offset 3");
	expect_encode_error("ISO_IR 100", PACS_VR_PN, S("\xd0\x9b"), "U+041B");
	expect_encode_error("ISO_IR 100", PACS_VR_PN, S("ab\xc3"), "UTF-8 byte 0xC3 at offset 2");
	expect_encode_error("ISO_IR 192", PACS_VR_PN, S("\xff"), "offset 0");
	expect_encode_error("\\ISO 2022 IR 87", PACS_VR_LO, S("a\x1b$B"), "ESC at offset 1");
	/* Hangul is not in GB 2312. */
	expect_encode_error("\\ISO 2022 IR 58", PACS_VR_PN, S("\xed\x99\x8d"), "U+D64D");
}

/* ---- round trips for every set ---- */

static void test_roundtrips(void **state)
{
	static const struct {
		const char *term;
		pacs_vr vr;
		const char *utf8;
	} cases[] = {
		{ "", PACS_VR_LO, "Plain ASCII ~ \\ two" },
		{ "ISO_IR 192", PACS_VR_UT, "\xf0\x9f\x98\x80 \xe4\xb8\xad\xc3\xa9\r\n" },
		{ "GB18030", PACS_VR_LO, "\xe4\xb8\xad\xe6\x96\x87 \xc3\xa9\xf0\x9f\x98\x80" },
		{ "GBK", PACS_VR_LO, "\xe4\xb8\xad\xe6\x96\x87 abc" },
		{ "ISO 2022 IR 6", PACS_VR_LO, "abc\\def" },
		{ "\\ISO 2022 IR 87", PACS_VR_PN, YAMADA_UTF8 },
		{ "ISO 2022 IR 13\\ISO 2022 IR 87", PACS_VR_PN, YAMADA_KANA_UTF8 },
		{ "\\ISO 2022 IR 149", PACS_VR_PN, HONG_UTF8 },
		{ "\\ISO 2022 IR 58", PACS_VR_PN, ZHANG_UTF8 },
		{ "\\ISO 2022 IR 58", PACS_VR_LT, K3_UTF8 },
		{ "ISO 2022 IR 100\\ISO 2022 IR 101\\ISO 2022 IR 109\\ISO 2022 IR 110\\"
		  "ISO 2022 IR 144\\ISO 2022 IR 148\\ISO 2022 IR 203",
		  PACS_VR_LO, "\xc3\xa9\xc5\x99\xc4\xa6\xc4\xb6\xd0\x9b\xc4\x9f\xe2\x82\xac\\x" },
		{ "ISO 2022 IR 166\\ISO 2022 IR 87\\ISO 2022 IR 149", PACS_VR_LT,
		  "\xe0\xb8\xa0\xe5\xb1\xb1\xed\x99\x8d\r\n\xe0\xb8\xa0" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_roundtrip(cases[i].term, cases[i].vr, cases[i].utf8);
	for (size_t i = 0; i < sizeof(sb_cases) / sizeof(sb_cases[0]); i++)
		expect_roundtrip(sb_cases[i].term, PACS_VR_PN, sb_cases[i].utf8);
}

/* ---- sample files ---- */

/* The values found by scan(): PatientName and the (0008,0005) in force
 * where it was found. */
struct found {
	const uint8_t *name, *cs;
	size_t name_len, cs_len;
};

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | le16(p + 2) << 16;
}

/* A tiny walker over explicit VR little endian elements with defined
 * lengths, descending into sequence items (enough for the charset
 * samples; the real reader is tested in pacs_read_test). */
static bool scan(const uint8_t *p, size_t len, const uint8_t *cs, size_t cs_len, struct found *f)
{
	size_t pos = 0;

	while (pos + 8 <= len) {
		uint32_t group = le16(p + pos), elem = le16(p + pos + 2), vlen;
		char vr[3] = { (char)p[pos + 4], (char)p[pos + 5], 0 };
		size_t hdr = 8;

		if (group == 0xFFFE)
			return false;
		if (strstr("OB OD OF OL OV OW SQ SV UC UN UR UT UV", vr) != NULL) {
			if (pos + 12 > len)
				return false;
			vlen = le32(p + pos + 8);
			hdr = 12;
		} else {
			vlen = le16(p + pos + 6);
		}
		if (vlen == 0xFFFFFFFFu || vlen > len - pos - hdr)
			return false;
		if (group == 0x0008 && elem == 0x0005) {
			cs = p + pos + hdr;
			cs_len = vlen;
		} else if (group == 0x0010 && elem == 0x0010 && f->name == NULL) {
			f->name = p + pos + hdr;
			f->name_len = vlen;
			f->cs = cs;
			f->cs_len = cs_len;
		} else if (strcmp(vr, "SQ") == 0) {
			const uint8_t *q = p + pos + hdr;
			size_t qpos = 0;

			while (qpos + 8 <= vlen && le16(q + qpos) == 0xFFFE) {
				uint32_t ilen = le32(q + qpos + 4);

				if (ilen > vlen - qpos - 8)
					return false;
				scan(q + qpos + 8, ilen, cs, cs_len, f);
				qpos += 8 + ilen;
			}
		}
		pos += hdr + vlen;
	}
	return true;
}

static void check_sample(const char *dir, const char *file, const char *utf8)
{
	char path[1024];
	uint8_t *data;
	long size;
	FILE *fp;
	struct found f = { 0 };
	pacs_charset *cs = NULL;
	char *out = NULL;
	size_t n = 0, len;

	snprintf(path, sizeof(path), "%s/charset/%s", dir, file);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	assert_true(size > 132);
	data = malloc((size_t)size);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	assert_memory_equal(data + 128, "DICM", 4);
	scan(data + 132, (size_t)size - 132, NULL, 0, &f);
	if (f.name == NULL)
		fail_msg("%s: no PatientName found", file);
	len = f.name_len;
	while (len > 0 && (f.name[len - 1] == ' ' || f.name[len - 1] == '\0'))
		len--;
	if (pacs_charset_open(&cs, f.cs, f.cs_len) != 0)
		fail_msg("%s: %s", file, arca_error_last());
	if (pacs_charset_to_utf8(cs, PACS_VR_PN, f.name, len, &out, &n) != 0)
		fail_msg("%s: %s", file, arca_error_last());
	if (n != strlen(utf8) || memcmp(out, utf8, n) != 0)
		fail_msg("%s: got '%s', want '%s'", file, out, utf8);
	free(out);
	pacs_charset_free(cs);
	free(data);
}

static void test_sample_files(void **state)
{
	const char *dir = getenv("ARCA_SAMPLES");
	char probe[1024];
	FILE *fp;

	(void)state;
	if (dir == NULL)
		skip();
	snprintf(probe, sizeof(probe), "%s/charset/chrFren.dcm", dir);
	fp = fopen(probe, "rb");
	if (fp == NULL)
		skip();
	fclose(fp);
	/* Expected strings: dcmdump +U8 +L (DCMTK 3.6.7), PatientName. */
	check_sample(dir, "chrFren.dcm", "Buc^J\xc3\xa9r\xc3\xb4me");
	check_sample(dir, "chrRuss.dcm",
		     "\xd0\x9b\xd1\x8e\xd0\xba" "ce\xd0\xbc\xd0\xb1yp\xd0\xb3");
	check_sample(dir, "chrArab.dcm",
		     "\xd9\x82\xd8\xa8\xd8\xa7\xd9\x86\xd9\x8a^\xd9\x84\xd9\x86\xd8\xb2\xd8\xa7\xd8\xb1");
	check_sample(dir, "chrI2.dcm", HONG_UTF8);
	check_sample(dir, "chrX1.dcm", "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=");
	check_sample(dir, "chrX2.dcm", WANG_SIMPLIFIED_UTF8);
	/* DCMTK built on iconv refuses ISO 2022 IR 87; PS3.5 H.3 gives the text. */
	check_sample(dir, "chrH31.dcm", YAMADA_UTF8);
	check_sample(dir, "chrH32.dcm", YAMADA_KANA_UTF8);
	/* PatientName inside a sequence item with its own (0008,0005)
	 * "ISO 2022 IR 13\ISO 2022 IR 87" under a root ISO_IR 192; the writer
	 * returns with ESC ( B rather than ESC ( J. */
	check_sample(dir, "chrSQEncoding.dcm", YAMADA_KANA_UTF8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_repertoire),
		cmocka_unit_test(test_term_spellings),
		cmocka_unit_test(test_unknown_and_bad_terms),
		cmocka_unit_test(test_single_byte_sets),
		cmocka_unit_test(test_jis_x0201_romaji),
		cmocka_unit_test(test_h31_japanese),
		cmocka_unit_test(test_h32_japanese_katakana),
		cmocka_unit_test(test_jis_x0212),
		cmocka_unit_test(test_i2_korean),
		cmocka_unit_test(test_korean_text),
		cmocka_unit_test(test_j_utf8),
		cmocka_unit_test(test_j_gb18030),
		cmocka_unit_test(test_gbk),
		cmocka_unit_test(test_k_gb2312),
		cmocka_unit_test(test_iso2022_resets),
		cmocka_unit_test(test_mixed_latin_greek),
		cmocka_unit_test(test_leniency),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_unencodable),
		cmocka_unit_test(test_roundtrips),
		cmocka_unit_test(test_sample_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
