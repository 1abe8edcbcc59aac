/* pacs_json_test.c - the DICOM JSON Model (PS3.18 F.2): encoding of a
 * built data set compared with expected text, decoding, round trips, error
 * reports, and a sample file's JSON when $ARCA_SAMPLES is present. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_err.h"
#include "pacs_ds.h"
#include "pacs_json.h"
#include "pacs_read.h"

#define T(g, e) PACS_TAG(0x##g, 0x##e)

static void set_bytes(pacs_ds *ds, uint32_t tag, pacs_vr vr, const void *v, uint32_t n)
{
	assert_int_equal(pacs_ds_set(ds, tag, vr, v, n), 0);
}

static char *encode(const pacs_ds *ds, unsigned flags)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(pacs_json_encode(ds, flags, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	return out;
}

/* A data set with one attribute of each kind the model distinguishes. */
static pacs_ds *build_sample(void)
{
	pacs_ds *ds = NULL, *item = NULL;
	static const uint8_t us512[2] = { 0x00, 0x02 };
	static const uint8_t ss[4] = { 0xFB, 0xFF, 0x10, 0x00 };          /* -5, 16 */
	static const uint8_t ul0[4] = { 0x20, 0x00, 0x00, 0x00 };         /* 32 */
	static const uint8_t at[8] = { 0x54, 0x00, 0x10, 0x00, 0x54, 0x00, 0x20, 0x00 };
	static const uint8_t fd[8] = { 0xD7, 0xA3, 0x70, 0x3D, 0x0A, 0xD7, 0xE3, 0x3F }; /* 0.62 */
	static const uint8_t fl[8] = { 0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x80, 0xBF }; /* 0.5, -1 */
	static const uint8_t ob[4] = { 0x00, 0x01, 0x02, 0x03 };

	assert_int_equal(pacs_ds_new(&ds), 0);
	/* meta and group length: left out by default (F.2.2) */
	assert_int_equal(pacs_ds_set_string(ds, T(0002, 0010), PACS_VR_UI, "1.2.840.10008.1.2.1"), 0);
	set_bytes(ds, T(0008, 0000), PACS_VR_UL, ul0, 4);
	assert_int_equal(pacs_ds_set_string(ds, T(0008, 0005), PACS_VR_CS, "ISO_IR 192"), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0008, 0008), PACS_VR_CS, "ORIGINAL\\\\AXIAL"), 0);
	set_bytes(ds, T(0008, 0020), PACS_VR_DA, "", 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0008, 0060), PACS_VR_CS, "CT"), 0);
	assert_int_equal(pacs_ds_add_item(ds, T(0008, 1140), &item), 0);
	assert_int_equal(pacs_ds_set_string(item, T(0008, 1150), PACS_VR_UI, "1.2.3"), 0);
	assert_int_equal(pacs_ds_add_item(ds, T(0008, 1140), &item), 0); /* empty item */
	assert_int_equal(pacs_ds_set_string(ds, T(0010, 0010), PACS_VR_PN,
					    "Yamada^Tarou=\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E="
					    "\xE3\x82\x84\xE3\x81\xBE\xE3\x81\xA0^\xE3\x81\x9F\xE3\x82\x8D\xE3\x81\x86"), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0010, 1001), PACS_VR_PN, "Doe^J\\=Ideo"), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0018, 0050), PACS_VR_DS, " 2.500000"), 0);
	set_bytes(ds, T(0018, 9306), PACS_VR_FD, fd, 8);
	assert_int_equal(pacs_ds_set_string(ds, T(0020, 0013), PACS_VR_IS, "12"), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0020, 4000), PACS_VR_LT, "  line one\r\nsaid \"x\\y\""), 0);
	set_bytes(ds, T(0028, 0009), PACS_VR_AT, at, 8);
	set_bytes(ds, T(0028, 0010), PACS_VR_US, us512, 2);
	assert_int_equal(pacs_ds_set_string(ds, T(0028, 0030), PACS_VR_DS, "0.1\\1e-6\\n/a"), 0);
	set_bytes(ds, T(0028, 0106), PACS_VR_SS, ss, 4);
	set_bytes(ds, T(0070, 0022), PACS_VR_FL, fl, 8);
	set_bytes(ds, T(7FE0, 0010), PACS_VR_OB, ob, 4);
	return ds;
}

static const char expected_sample[] =
	"{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 192\"]},"
	"\"00080008\":{\"vr\":\"CS\",\"Value\":[\"ORIGINAL\",null,\"AXIAL\"]},"
	"\"00080020\":{\"vr\":\"DA\"},"
	"\"00080060\":{\"vr\":\"CS\",\"Value\":[\"CT\"]},"
	"\"00081140\":{\"vr\":\"SQ\",\"Value\":[{\"00081150\":{\"vr\":\"UI\",\"Value\":[\"1.2.3\"]}},{}]},"
	"\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Yamada^Tarou\","
	"\"Ideographic\":\"\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E\","
	"\"Phonetic\":\"\xE3\x82\x84\xE3\x81\xBE\xE3\x81\xA0^\xE3\x81\x9F\xE3\x82\x8D\xE3\x81\x86\"}]},"
	"\"00101001\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Doe^J\"},{\"Ideographic\":\"Ideo\"}]},"
	"\"00180050\":{\"vr\":\"DS\",\"Value\":[2.5]},"
	"\"00189306\":{\"vr\":\"FD\",\"Value\":[0.62]},"
	"\"00200013\":{\"vr\":\"IS\",\"Value\":[12]},"
	"\"00204000\":{\"vr\":\"LT\",\"Value\":[\"  line one\\r\\nsaid \\\"x\\\\y\\\"\"]},"
	"\"00280009\":{\"vr\":\"AT\",\"Value\":[\"00540010\",\"00540020\"]},"
	"\"00280010\":{\"vr\":\"US\",\"Value\":[512]},"
	"\"00280030\":{\"vr\":\"DS\",\"Value\":[0.1,1e-06,\"n/a\"]},"
	"\"00280106\":{\"vr\":\"SS\",\"Value\":[-5,16]},"
	"\"00700022\":{\"vr\":\"FL\",\"Value\":[0.5,-1]},"
	"\"7FE00010\":{\"vr\":\"OB\"}}";

static void test_encode_expected_text(void **state)
{
	pacs_ds *ds = build_sample();
	char *json = encode(ds, 0);
	(void)state;

	assert_string_equal(json, expected_sample);
	free(json);
	pacs_ds_free(ds);
}

static void test_encode_bulk_and_meta(void **state)
{
	pacs_ds *ds = build_sample();
	char *json = encode(ds, PACS_JSON_INCLUDE_BULK | PACS_JSON_INCLUDE_META);
	(void)state;

	assert_non_null(strstr(json, "{\"00020010\":{\"vr\":\"UI\",\"Value\":[\"1.2.840.10008.1.2.1\"]},"));
	assert_non_null(strstr(json, "\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":\"AAECAw==\"}}"));
	/* group length never (F.2.2) */
	assert_null(strstr(json, "\"00080000\""));
	free(json);
	pacs_ds_free(ds);
}

static void test_encode_pretty(void **state)
{
	pacs_ds *ds = NULL;
	char *json;
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0008, 0060), PACS_VR_CS, "MR"), 0);
	assert_int_equal(pacs_ds_set_sequence(ds, T(0008, 1140), NULL), 0);
	json = encode(ds, PACS_JSON_PRETTY);
	assert_string_equal(json,
			    "{\n"
			    "  \"00080060\": {\n"
			    "    \"vr\": \"CS\",\n"
			    "    \"Value\": [\n"
			    "      \"MR\"\n"
			    "    ]\n"
			    "  },\n"
			    "  \"00081140\": {\n"
			    "    \"vr\": \"SQ\"\n"
			    "  }\n"
			    "}\n");
	free(json);
	pacs_ds_free(ds);
	/* an empty data set */
	assert_int_equal(pacs_ds_new(&ds), 0);
	json = encode(ds, 0);
	assert_string_equal(json, "{}");
	free(json);
	pacs_ds_free(ds);
}

static void test_encode_big_integers_and_specials(void **state)
{
	pacs_ds *ds = NULL;
	char *json;
	static const uint8_t uv[16] = { 7, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
	static const uint8_t sv[8] = { 0, 0, 0, 0, 0, 0, 0, 0x80 };
	static const uint8_t fd_nan[16] = { 0, 0, 0, 0, 0, 0, 0xF8, 0x7F, 0, 0, 0, 0, 0, 0, 0xF0, 0xFF };
	static const uint8_t odd_ul[6] = { 1, 0, 0, 0, 9, 9 };
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	set_bytes(ds, T(0009, 1001), PACS_VR_UV, uv, 16);
	set_bytes(ds, T(0009, 1002), PACS_VR_SV, sv, 8);
	set_bytes(ds, T(0009, 1003), PACS_VR_FD, fd_nan, 16);
	set_bytes(ds, T(0009, 1004), PACS_VR_UL, odd_ul, 6); /* trailing bytes of a bad length dropped */
	assert_int_equal(pacs_ds_set_string(ds, T(0009, 1005), PACS_VR_IS, "99999999999999999999\\+7"), 0);
	json = encode(ds, 0);
	assert_string_equal(json,
			    "{\"00091001\":{\"vr\":\"UV\",\"Value\":[7,\"18446744073709551615\"]},"
			    "\"00091002\":{\"vr\":\"SV\",\"Value\":[\"-9223372036854775808\"]},"
			    "\"00091003\":{\"vr\":\"FD\",\"Value\":[\"NaN\",\"-Infinity\"]},"
			    "\"00091004\":{\"vr\":\"UL\",\"Value\":[1]},"
			    "\"00091005\":{\"vr\":\"IS\",\"Value\":[\"99999999999999999999\",7]}}");
	free(json);
	pacs_ds_free(ds);
}

static void test_encode_encapsulated_and_bulk(void **state)
{
	pacs_ds *ds = NULL;
	char *json;
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, NULL), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, "", 0), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, "\xFF\xD8", 2), 0);
	assert_int_equal(pacs_ds_set_bulk(ds, T(0042, 0011), PACS_VR_OB, 1000000, 0), 0);
	json = encode(ds, PACS_JSON_INCLUDE_BULK);
	/* FE FF 00 E0 00 00 00 00 | FE FF 00 E0 02 00 00 00 FF D8 | FE FF DD E0 00 00 00 00 */
	assert_string_equal(json, "{\"00420011\":{\"vr\":\"OB\"},"
				  "\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":\"/v8A4AAAAAD+/wDgAgAAAP/Y/v/d4AAAAAA=\"}}");
	free(json);
	json = encode(ds, 0);
	assert_string_equal(json, "{\"00420011\":{\"vr\":\"OB\"},\"7FE00010\":{\"vr\":\"OB\"}}");
	free(json);
	pacs_ds_free(ds);
}

/* ds -> json -> ds -> json gives the same text, and the decoded values are
 * the ones encoded. */
static void test_round_trip(void **state)
{
	unsigned flags = PACS_JSON_INCLUDE_BULK | PACS_JSON_INCLUDE_META;
	pacs_ds *ds = build_sample(), *back = NULL;
	char *json1 = encode(ds, flags), *json2;
	const pacs_elem *e;
	const uint8_t *v;
	uint32_t len;
	char buf[128];
	(void)state;

	assert_int_equal(pacs_json_decode(&back, json1, strlen(json1)), 0);
	json2 = encode(back, flags);
	assert_string_equal(json1, json2);

	assert_int_equal(pacs_ds_get_string(back, T(0008, 0005), 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ISO_IR 192");
	e = pacs_ds_find(back, T(0008, 0008));
	v = pacs_elem_value(e, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(v, "ORIGINAL\\\\AXIAL ", 16);
	e = pacs_ds_find(back, T(0010, 0010));
	v = pacs_elem_value(e, &len);
	assert_true(len >= 12);
	assert_memory_equal(v, "Yamada^Tarou=\xE5\xB1\xB1", 16);
	e = pacs_ds_find(back, T(0028, 0010));
	v = pacs_elem_value(e, &len);
	assert_int_equal(pacs_elem_vr(e), PACS_VR_US);
	assert_int_equal(len, 2);
	assert_memory_equal(v, "\x00\x02", 2);
	assert_int_equal(pacs_ds_get_string(back, T(0028, 0030), 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.1");
	assert_int_equal(pacs_ds_get_string(back, T(0028, 0030), 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1e-06");
	assert_int_equal(pacs_ds_get_string(back, T(0028, 0030), 2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "n/a");
	e = pacs_ds_find(back, T(0008, 1140));
	assert_int_equal(pacs_elem_item_count(e), 2);
	assert_int_equal(pacs_ds_count(pacs_elem_item(e, 1)), 0);
	e = pacs_ds_find(back, T(7FE0, 0010));
	v = pacs_elem_value(e, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(v, "\x00\x01\x02\x03", 4);
	e = pacs_ds_find(back, T(0008, 0020));
	assert_non_null(e);
	assert_int_equal(pacs_elem_length(e), 0);
	free(json1);
	free(json2);
	pacs_ds_free(back);
	pacs_ds_free(ds);
}

static void test_round_trip_encapsulated(void **state)
{
	pacs_ds *ds = NULL, *back = NULL;
	char *json1, *json2;
	const pacs_elem *e;
	const uint8_t *f;
	uint32_t len;
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, NULL), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, "", 0), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, "\xFF\xD8\xFF\xD9", 4), 0);
	json1 = encode(ds, PACS_JSON_INCLUDE_BULK);
	assert_int_equal(pacs_json_decode(&back, json1, strlen(json1)), 0);
	e = pacs_ds_find(back, PACS_TAG_PIXEL_DATA);
	assert_non_null(e);
	assert_true(pacs_elem_flags(e) & PACS_ELEM_ENCAPSULATED);
	assert_int_equal(pacs_elem_fragment_count(e), 2);
	f = pacs_elem_fragment(e, 1, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(f, "\xFF\xD8\xFF\xD9", 4);
	json2 = encode(back, PACS_JSON_INCLUDE_BULK);
	assert_string_equal(json1, json2);
	free(json1);
	free(json2);
	pacs_ds_free(back);
	pacs_ds_free(ds);
}

/* Input as other implementations write it: numbers as strings, PN groups,
 * a non-UTF-8 charset term with non-ASCII text, DICOMweb array wrapper. */
static void test_decode_foreign(void **state)
{
	static const char in[] =
		"[{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 100\"]},"
		"\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Buc^J\xC3\xA9r\xC3\xB4me\"}]},"
		"\"00101030\":{\"vr\":\"DS\",\"Value\":[\"72.5\"]},"
		"\"00200013\":{\"vr\":\"IS\",\"Value\":[\"3\"]},"
		"\"00280011\":{\"vr\":\"US\",\"Value\":[\"256\"]},"
		"\"00280030\":{\"vr\":\"DS\",\"Value\":[0.5,2]},"
		"\"00400275\":{\"vr\":\"SQ\",\"Value\":[{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 100\"]}}]},"
		"\"7FE00010\":{\"vr\":\"OW\",\"BulkDataURI\":\"http://x/bulk\"}}]";
	pacs_ds *ds = NULL;
	const pacs_elem *e;
	const uint8_t *v;
	uint32_t len;
	char buf[64];
	(void)state;

	assert_int_equal(pacs_json_decode(&ds, in, strlen(in)), 0);
	/* text is UTF-8 now, so every Specific Character Set says so */
	assert_int_equal(pacs_ds_get_string(ds, T(0008, 0005), 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ISO_IR 192");
	e = pacs_ds_find(ds, T(0040, 0275));
	assert_int_equal(pacs_ds_get_string(pacs_elem_item(e, 0), T(0008, 0005), 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ISO_IR 192");
	assert_int_equal(pacs_ds_get_string(ds, T(0010, 0010), 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Buc^J\xC3\xA9r\xC3\xB4me");
	assert_int_equal(pacs_ds_get_string(ds, T(0010, 1030), 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "72.5");
	e = pacs_ds_find(ds, T(0028, 0011));
	v = pacs_elem_value(e, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(v, "\x00\x01", 2);
	e = pacs_ds_find(ds, T(0028, 0030));
	v = pacs_elem_value(e, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(v, "0.5\\2 ", 6);
	e = pacs_ds_find(ds, PACS_TAG_PIXEL_DATA);
	assert_non_null(e);
	assert_true(pacs_elem_flags(e) & PACS_ELEM_BULK);
	assert_int_equal(pacs_elem_vr(e), PACS_VR_OW);
	pacs_ds_free(ds);
}

static void expect_decode_error(const char *json, int code, const char *fragment)
{
	pacs_ds *ds = (pacs_ds *)&ds; /* must be reset to NULL */

	assert_int_equal(pacs_json_decode(&ds, json, strlen(json)), code);
	assert_null(ds);
	if (strstr(arca_error_last(), fragment) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", arca_error_last(), fragment);
}

static void test_decode_errors(void **state)
{
	(void)state;
	expect_decode_error("{\"0010", ARCA_EPROTO, "line 1");
	expect_decode_error("[1,2]", ARCA_EPROTO, "top level");
	expect_decode_error("{\"0010001\":{\"vr\":\"PN\"}}", ARCA_EPROTO, "0010001");
	expect_decode_error("{\"0010001G\":{\"vr\":\"PN\"}}", ARCA_EPROTO, "eight hex");
	expect_decode_error("{\"00100010\":{\"vr\":\"XX\"}}", ARCA_EPROTO, "not a VR");
	expect_decode_error("{\"00100010\":{\"Value\":[]}}", ARCA_EPROTO, "\"vr\"");
	expect_decode_error("{\"00280010\":{\"vr\":\"US\",\"Value\":[70000]}}", ARCA_EPROTO, "00280010");
	expect_decode_error("{\"00280010\":{\"vr\":\"US\",\"Value\":[-1]}}", ARCA_EPROTO, "negative");
	expect_decode_error("{\"00280106\":{\"vr\":\"SS\",\"Value\":[\"x\"]}}", ARCA_EPROTO, "integer");
	expect_decode_error("{\"00280009\":{\"vr\":\"AT\",\"Value\":[\"0054001\"]}}", ARCA_EPROTO, "AT");
	expect_decode_error("{\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":\"AAE\"}}", ARCA_EPROTO, "multiple of 4");
	expect_decode_error("{\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":\"A*==\"}}", ARCA_EPROTO, "base64");
	expect_decode_error("{\"7FE00010\":{\"vr\":\"OB\",\"Value\":[1]}}", ARCA_EPROTO, "InlineBinary");
	expect_decode_error("{\"00100010\":{\"vr\":\"PN\",\"Value\":[5]}}", ARCA_EPROTO, "wrong JSON type");
	expect_decode_error("{\"00081140\":{\"vr\":\"SQ\",\"Value\":[5]}}", ARCA_EPROTO, "item");
	expect_decode_error("{\"FFFEE000\":{\"vr\":\"SQ\"}}", ARCA_EPROTO, "item and delimitation");
	expect_decode_error("{\"00100010\":{\"vr\":\"PN\",\"Value\":[\"a\"],\"InlineBinary\":\"\"}}",
			    ARCA_EPROTO, "more than one");
}

static void test_decode_depth_limit(void **state)
{
	/* 70 nested sequences: more than the 64 accepted */
	size_t n = 70, cap = n * 64 + 16, len = 0;
	char *json = malloc(cap);
	pacs_ds *ds = NULL;
	(void)state;

	assert_non_null(json);
	len += (size_t)snprintf(json + len, cap - len, "{");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(json + len, cap - len, "\"00081140\":{\"vr\":\"SQ\",\"Value\":[{");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(json + len, cap - len, "}]}");
	len += (size_t)snprintf(json + len, cap - len, "}");
	assert_int_equal(pacs_json_decode(&ds, json, len), ARCA_ELIMIT);
	assert_null(ds);
	free(json);
}

static const char *sample_path(char *buf, size_t size, const char *rel)
{
	const char *dir = getenv("ARCA_SAMPLES");
	struct stat st;

	if (dir == NULL || dir[0] == '\0')
		return NULL;
	snprintf(buf, size, "%s/%s", dir, rel);
	return stat(buf, &st) == 0 ? buf : NULL;
}

/* A real file: a few attributes with their JSON form, and the round trip. */
static void test_sample_file(void **state)
{
	char path[4096];
	pacs_ds *ds = NULL, *back = NULL;
	char *json, *json2;
	pacs_read_opts opts;
	(void)state;

	if (sample_path(path, sizeof(path), "pydicom/CT_small.dcm") == NULL) {
		print_message("ARCA_SAMPLES not available: sample part skipped\n");
		skip();
	}
	pacs_read_opts_init(&opts);
	assert_int_equal(pacs_read_file(&ds, path, &opts), 0);
	json = encode(ds, 0);
	assert_non_null(strstr(json, "\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 100\"]}"));
	assert_non_null(strstr(json, "\"00080008\":{\"vr\":\"CS\",\"Value\":[\"ORIGINAL\",\"PRIMARY\",\"AXIAL\"]}"));
	assert_non_null(strstr(json, "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"CompressedSamples^CT1\"}]}"));
	assert_non_null(strstr(json, "\"00180050\":{\"vr\":\"DS\",\"Value\":[5]}"));
	assert_non_null(strstr(json, "\"00200013\":{\"vr\":\"IS\",\"Value\":[1]}"));
	assert_non_null(strstr(json, "\"00280010\":{\"vr\":\"US\",\"Value\":[128]}"));
	assert_non_null(strstr(json, "\"00280030\":{\"vr\":\"DS\",\"Value\":[0.661468,0.661468]}"));
	assert_non_null(strstr(json, "\"7FE00010\":{\"vr\":\"OW\"}"));
	assert_null(strstr(json, "\"00020010\""));
	free(json);

	json = encode(ds, PACS_JSON_INCLUDE_BULK | PACS_JSON_INCLUDE_META);
	assert_non_null(strstr(json, "\"00020010\":{\"vr\":\"UI\",\"Value\":[\"1.2.840.10008.1.2.1\"]}"));
	assert_int_equal(pacs_json_decode(&back, json, strlen(json)), 0);
	json2 = encode(back, PACS_JSON_INCLUDE_BULK | PACS_JSON_INCLUDE_META);
	assert_string_equal(json, json2);
	free(json);
	free(json2);
	pacs_ds_free(back);
	pacs_ds_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_expected_text),
		cmocka_unit_test(test_encode_bulk_and_meta),
		cmocka_unit_test(test_encode_pretty),
		cmocka_unit_test(test_encode_big_integers_and_specials),
		cmocka_unit_test(test_encode_encapsulated_and_bulk),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_encapsulated),
		cmocka_unit_test(test_decode_foreign),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_depth_limit),
		cmocka_unit_test(test_sample_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
