/* pacs_ds_test.c - the data set model: insertion order, lookup, decoded
 * values, sequences, fragments, bulk elements, clone. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"
#include "pacs_ds.h"

static void test_set_keeps_tag_order(void **state)
{
	pacs_ds *ds = NULL;
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x000D), PACS_VR_UI, "1.2.3"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0010, 0x0010), PACS_VR_PN, "Doe^John"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0060), PACS_VR_CS, "CT"), 0);
	assert_int_equal(pacs_ds_count(ds), 3);
	assert_int_equal(pacs_elem_tag(pacs_ds_at(ds, 0)), PACS_TAG(0x0008, 0x0060));
	assert_int_equal(pacs_elem_tag(pacs_ds_at(ds, 1)), PACS_TAG(0x0010, 0x0010));
	assert_int_equal(pacs_elem_tag(pacs_ds_at(ds, 2)), PACS_TAG(0x0020, 0x000D));
	assert_null(pacs_ds_at(ds, 3));
	/* replace keeps the count */
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0060), PACS_VR_CS, "MR"), 0);
	assert_int_equal(pacs_ds_count(ds), 3);
	assert_int_equal(pacs_ds_remove(ds, PACS_TAG(0x0010, 0x0010)), 0);
	assert_int_equal(pacs_ds_count(ds), 2);
	assert_int_equal(pacs_ds_remove(ds, PACS_TAG(0x0010, 0x0010)), ARCA_ENOTFOUND);
	assert_null(pacs_ds_find(ds, PACS_TAG(0x0010, 0x0010)));
	pacs_ds_free(ds);
}

static void test_string_padding_and_values(void **state)
{
	pacs_ds *ds = NULL;
	const pacs_elem *e;
	const uint8_t *v;
	uint32_t len;
	char buf[64];
	const char *s;
	size_t n;
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	/* odd UI padded with NUL, odd text with space (PS3.5 6.2) */
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0018), PACS_VR_UI, "1.2.345"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0008), PACS_VR_CS, "ORIGINAL\\PRIMARY\\AXIAL"), 0);
	e = pacs_ds_find(ds, PACS_TAG(0x0008, 0x0018));
	v = pacs_elem_value(e, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(v, "1.2.345\0", 8);
	e = pacs_ds_find(ds, PACS_TAG(0x0008, 0x0008));
	v = pacs_elem_value(e, &len);
	assert_int_equal(len, 22);
	assert_int_equal(v[21], 'L');
	assert_int_equal(pacs_elem_vm(e), 3);
	assert_int_equal(pacs_elem_string(e, 1, &s, &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(s, "PRIMARY", 7);
	assert_int_equal(pacs_elem_string(e, 3, &s, &n), ARCA_ENOTFOUND);
	assert_int_equal(pacs_ds_get_string(ds, PACS_TAG(0x0008, 0x0018), 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1.2.345");
	assert_int_equal(pacs_ds_get_string(ds, PACS_TAG(0x0008, 0x0018), 0, buf, 4), ARCA_ELIMIT);
	assert_int_equal(pacs_ds_get_string(ds, PACS_TAG(0x0010, 0x0020), 0, buf, sizeof(buf)), ARCA_ENOTFOUND);
	pacs_ds_free(ds);
}

static void test_numbers(void **state)
{
	pacs_ds *ds = NULL;
	uint64_t u;
	int64_t i;
	double d;
	const uint8_t ss[4] = { 0xFE, 0xFF, 0x02, 0x00 }; /* -2, 2 */
	const uint8_t fd[8] = { 0, 0, 0, 0, 0, 0, 0xF8, 0x3F }; /* 1.5 */
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0010), 512), 0);
	assert_int_equal(pacs_ds_set_u32(ds, PACS_TAG(0x0008, 0x0000), 0x12345678u), 0);
	assert_int_equal(pacs_ds_set(ds, PACS_TAG(0x0028, 0x0106), PACS_VR_SS, ss, 4), 0);
	assert_int_equal(pacs_ds_set(ds, PACS_TAG(0x0018, 0x9087), PACS_VR_FD, fd, 8), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x0013), PACS_VR_IS, " 42 "), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0028, 0x0030), PACS_VR_DS, "0.5\\-1.25e1"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x0012), PACS_VR_IS, "4x"), 0);

	assert_int_equal(pacs_ds_get_uint(ds, PACS_TAG(0x0028, 0x0010), 0, &u), 0);
	assert_int_equal(u, 512);
	assert_int_equal(pacs_ds_get_uint(ds, PACS_TAG(0x0008, 0x0000), 0, &u), 0);
	assert_int_equal(u, 0x12345678u);
	assert_int_equal(pacs_ds_get_int(ds, PACS_TAG(0x0028, 0x0106), 0, &i), 0);
	assert_int_equal(i, -2);
	assert_int_equal(pacs_ds_get_int(ds, PACS_TAG(0x0028, 0x0106), 1, &i), 0);
	assert_int_equal(i, 2);
	assert_int_equal(pacs_ds_get_int(ds, PACS_TAG(0x0028, 0x0106), 2, &i), ARCA_ENOTFOUND);
	assert_int_equal(pacs_ds_get_double(ds, PACS_TAG(0x0018, 0x9087), 0, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(pacs_ds_get_int(ds, PACS_TAG(0x0020, 0x0013), 0, &i), 0);
	assert_int_equal(i, 42);
	assert_int_equal(pacs_ds_get_double(ds, PACS_TAG(0x0028, 0x0030), 1, &d), 0);
	assert_true(d == -12.5);
	assert_int_equal(pacs_ds_get_int(ds, PACS_TAG(0x0020, 0x0012), 0, &i), ARCA_EPROTO);
	assert_int_equal(pacs_ds_get_uint(ds, PACS_TAG(0x0028, 0x0106), 0, &u), ARCA_ELIMIT);
	pacs_ds_free(ds);
}

static void test_sequences_and_charset_inheritance(void **state)
{
	pacs_ds *ds = NULL, *item = NULL, *item2 = NULL;
	const pacs_elem *seq;
	const uint8_t *cs;
	uint32_t len;
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG_SPECIFIC_CHARSET, PACS_VR_CS, "ISO_IR 100"), 0);
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG(0x0008, 0x1140), &item), 0);
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG(0x0008, 0x1140), &item2), 0);
	assert_int_equal(pacs_ds_set_string(item, PACS_TAG(0x0008, 0x1155), PACS_VR_UI, "1.2"), 0);
	seq = pacs_ds_find(ds, PACS_TAG(0x0008, 0x1140));
	assert_non_null(seq);
	assert_true(pacs_elem_is_sequence(seq));
	assert_int_equal(pacs_elem_item_count(seq), 2);
	assert_int_equal(pacs_elem_vm(seq), 2);
	assert_ptr_equal(pacs_elem_item(seq, 0), item);
	assert_ptr_equal(pacs_ds_parent(item), ds);
	assert_int_equal(pacs_elem_length(seq), PACS_UNDEFINED_LENGTH);
	/* the item inherits its parent's Specific Character Set */
	cs = pacs_ds_charset(item, &len);
	assert_non_null(cs);
	assert_int_equal(len, 10);
	assert_memory_equal(cs, "ISO_IR 100", 10);
	/* adding an item to a non-sequence fails */
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG_SPECIFIC_CHARSET, &item), ARCA_EINVAL);
	pacs_ds_free(ds);
}

static void test_fragments_bulk_clone(void **state)
{
	pacs_ds *ds = NULL, *copy = NULL, *item = NULL;
	pacs_elem *px;
	const pacs_elem *e;
	const uint8_t *f;
	uint32_t len;
	uint8_t big[100000];
	(void)state;

	memset(big, 0xAB, sizeof(big));
	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_source_ts(ds, "1.2.840.10008.1.2.4.70"), 0);
	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, &px), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, "", 0), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, big, sizeof(big)), 0);
	assert_int_equal(pacs_ds_set_bulk(ds, PACS_TAG(0x0042, 0x0011), PACS_VR_OB, 1000, 0), 0);
	assert_int_equal(pacs_ds_add_item(ds, PACS_TAG(0x0040, 0xA730), &item), 0);
	assert_int_equal(pacs_ds_set_string(item, PACS_TAG(0x0040, 0xA010), PACS_VR_CS, "CONTAINS"), 0);

	assert_int_equal(pacs_ds_clone(&copy, ds), 0);
	pacs_ds_free(ds);

	assert_string_equal(pacs_ds_source_ts(copy), "1.2.840.10008.1.2.4.70");
	e = pacs_ds_find(copy, PACS_TAG_PIXEL_DATA);
	assert_true(pacs_elem_flags(e) & PACS_ELEM_ENCAPSULATED);
	assert_int_equal(pacs_elem_fragment_count(e), 2);
	f = pacs_elem_fragment(e, 1, &len);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(f, big, sizeof(big));
	assert_null(pacs_elem_value(e, &len));
	e = pacs_ds_find(copy, PACS_TAG(0x0042, 0x0011));
	assert_true(pacs_elem_flags(e) & PACS_ELEM_BULK);
	assert_int_equal(pacs_elem_length(e), 1000);
	assert_null(pacs_elem_value(e, &len));
	e = pacs_ds_find(copy, PACS_TAG(0x0040, 0xA730));
	assert_int_equal(pacs_elem_item_count(e), 1);
	assert_non_null(pacs_ds_find(pacs_elem_item(e, 0), PACS_TAG(0x0040, 0xA010)));
	pacs_ds_free(copy);
}

static void test_many_elements(void **state)
{
	pacs_ds *ds = NULL;
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	/* descending insertion exercises ordered insert and arena growth */
	for (uint32_t i = 5000; i > 0; i--)
		assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0009, i), (uint16_t)i), 0);
	assert_int_equal(pacs_ds_count(ds), 5000);
	for (uint32_t i = 1; i <= 5000; i += 499) {
		uint64_t u;
		assert_int_equal(pacs_ds_get_uint(ds, PACS_TAG(0x0009, i), 0, &u), 0);
		assert_int_equal(u, i);
		assert_int_equal(pacs_elem_tag(pacs_ds_at(ds, i - 1)), PACS_TAG(0x0009, i));
	}
	pacs_ds_free(ds);
	pacs_ds_free(NULL);
}

static void test_error_messages(void **state)
{
	(void)state;
	arca_error_clear();
	assert_string_equal(arca_error_last(), "");
	assert_int_equal(arca_error_set(ARCA_EPROTO, "offset %d: bad", 12), ARCA_EPROTO);
	assert_string_equal(arca_error_last(), "offset 12: bad");
	assert_int_equal(arca_error_prefix(ARCA_EPROTO, "file.dcm"), ARCA_EPROTO);
	assert_string_equal(arca_error_last(), "file.dcm: offset 12: bad");
	assert_int_equal(arca_error_last_code(), ARCA_EPROTO);
	assert_string_equal(arca_strerror(ARCA_ELIMIT), "limit exceeded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_keeps_tag_order),
		cmocka_unit_test(test_string_padding_and_values),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_sequences_and_charset_inheritance),
		cmocka_unit_test(test_fragments_bulk_clone),
		cmocka_unit_test(test_many_elements),
		cmocka_unit_test(test_error_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
