/* pacs_dict_test.c - the generated data dictionary (PS3.6 Section 6):
 * concrete entries, repeating groups and element ranges, private creator
 * and group length ranges, the private dictionary, keywords, and the
 * table orders the lookups rely on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "pacs_dict.h"
#include "pacs_dict_priv.h"
#include "pacs_tags.h"

#define TAG(g, e) ((((uint32_t)(g)) << 16) | (uint32_t)(e))

/* The generated header names tags by keyword; checked at compile time. */
_Static_assert(PACS_TAG_PatientName == 0x00100010u, "PatientName");
_Static_assert(PACS_TAG_SpecificCharacterSet == 0x00080005u, "SpecificCharacterSet");
_Static_assert(PACS_TAG_PixelData == 0x7FE00010u, "PixelData");
_Static_assert(PACS_TAG_TransferSyntaxUID == 0x00020010u, "TransferSyntaxUID");
_Static_assert(PACS_TAG_SOPInstanceUID == 0x00080018u, "SOPInstanceUID");

static const pacs_dict_entry *must_lookup(uint32_t tag)
{
	const pacs_dict_entry *e = pacs_dict_lookup(tag);
	assert_non_null(e);
	return e;
}

static void test_patient_name(void **state)
{
	(void)state;
	const pacs_dict_entry *e = must_lookup(TAG(0x0010, 0x0010));
	assert_int_equal(e->tag, TAG(0x0010, 0x0010));
	assert_int_equal(e->vr, PACS_VR_PN);
	assert_string_equal(e->keyword, "PatientName");
	assert_int_equal(e->vm_min, 1);
	assert_int_equal(e->vm_max, 1);
	assert_int_equal(e->vm_step, 1);
	assert_false(e->retired);
	assert_int_equal(pacs_dict_vr(TAG(0x0010, 0x0010)), PACS_VR_PN);
	assert_string_equal(pacs_dict_keyword(TAG(0x0010, 0x0010)), "PatientName");
}

static void test_vm_forms(void **state)
{
	(void)state;
	const pacs_dict_entry *e = must_lookup(TAG(0x0008, 0x0005)); /* 1-n */
	assert_int_equal(e->vr, PACS_VR_CS);
	assert_int_equal(e->vm_min, 1);
	assert_int_equal(e->vm_max, 0);
	assert_int_equal(e->vm_step, 1);

	e = must_lookup(TAG(0x0008, 0x0008)); /* ImageType 2-n */
	assert_int_equal(e->vm_min, 2);
	assert_int_equal(e->vm_max, 0);
	assert_int_equal(e->vm_step, 1);

	e = must_lookup(TAG(0x0020, 0x0020)); /* PatientOrientation 2 */
	assert_int_equal(e->vm_min, 2);
	assert_int_equal(e->vm_max, 2);

	e = must_lookup(TAG(0x0020, 0x0032)); /* ImagePositionPatient 3 */
	assert_string_equal(e->keyword, "ImagePositionPatient");
	assert_int_equal(e->vm_min, 3);
	assert_int_equal(e->vm_max, 3);

	e = must_lookup(TAG(0x0004, 0x1141)); /* FileSetDescriptorFileID 1-8 */
	assert_int_equal(e->vm_min, 1);
	assert_int_equal(e->vm_max, 8);
	assert_int_equal(e->vm_step, 1);

	/* "2-2n" and "3-3n": the count is a multiple of the step. */
	unsigned seen2 = 0, seen3 = 0;
	for (unsigned i = 0; i < pacs_dict__exact_count; i++) {
		const pacs_dict_entry *x = &pacs_dict__exact[i];
		if (x->vm_max == 0 && x->vm_step == 2) {
			assert_int_equal(x->vm_min, 2);
			seen2++;
		}
		if (x->vm_max == 0 && x->vm_step == 3) {
			assert_int_equal(x->vm_min, 3);
			seen3++;
		}
		if (x->vm_max != 0)
			assert_true(x->vm_max >= x->vm_min);
	}
	assert_true(seen2 > 0);
	assert_true(seen3 > 0);
}

static void test_pseudo_vrs(void **state)
{
	(void)state;
	const pacs_dict_entry *e = must_lookup(TAG(0x0028, 0x0106));
	assert_int_equal(e->vr, PACS_VR_xs);
	assert_string_equal(e->keyword, "SmallestImagePixelValue");
	assert_int_equal(pacs_dict_vr(TAG(0x0028, 0x0106)), PACS_VR_US);

	e = must_lookup(TAG(0x7FE0, 0x0010));
	assert_int_equal(e->vr, PACS_VR_px);
	assert_string_equal(e->keyword, "PixelData");
	assert_int_equal(pacs_dict_vr(TAG(0x7FE0, 0x0010)), PACS_VR_OW);

	assert_int_equal(must_lookup(TAG(0x0028, 0x3006))->vr, PACS_VR_lt); /* LUTData */
	assert_int_equal(pacs_dict_vr(TAG(0x0028, 0x3006)), PACS_VR_OW);
	assert_int_equal(must_lookup(TAG(0x0004, 0x1400))->vr, PACS_VR_up);
	assert_int_equal(pacs_dict_vr(TAG(0x0004, 0x1400)), PACS_VR_UL);
	assert_int_equal(must_lookup(TAG(0xFFFE, 0xE000))->vr, PACS_VR_na); /* Item */
	assert_string_equal(pacs_dict_keyword(TAG(0xFFFE, 0xE0DD)), "SequenceDelimitationItem");
}

static void test_repeating_groups(void **state)
{
	(void)state;
	/* PS3.5 7.6: overlays are the even groups 6000-601E (dicom.dic: 60xx). */
	const uint16_t groups[] = { 0x6000, 0x6002, 0x601E, 0x60FE };
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
		const pacs_dict_entry *e = must_lookup(TAG(groups[i], 0x3000));
		assert_string_equal(e->keyword, "OverlayData");
		assert_int_equal(e->vr, PACS_VR_ox);
		assert_int_equal(e->group_step, 2);
		assert_int_equal(pacs_dict_vr(TAG(groups[i], 0x3000)), PACS_VR_OW);
	}
	assert_string_equal(pacs_dict_keyword(TAG(0x6002, 0x0010)), "OverlayRows");
	assert_int_equal(pacs_dict_vr(TAG(0x6002, 0x0010)), PACS_VR_US);

	/* Odd groups are private: (6001,3000) is not Overlay Data. */
	assert_null(pacs_dict_lookup(TAG(0x6001, 0x3000)));
	assert_null(pacs_dict_lookup(TAG(0x60FF, 0x3000)));
	assert_int_equal(pacs_dict_vr(TAG(0x6001, 0x3000)), PACS_VR_UN);
	assert_string_equal(pacs_dict_keyword(TAG(0x6001, 0x3000)), "");
	/* Outside the range. */
	assert_null(pacs_dict_lookup(TAG(0x6100, 0x3000)));

	/* Retired curves (50xx) and variable pixel data (7Fxx). */
	const pacs_dict_entry *e = must_lookup(TAG(0x5002, 0x0005));
	assert_string_equal(e->keyword, "CurveDimensions");
	assert_true(e->retired);
	assert_int_equal(e->vr, PACS_VR_US);
	e = must_lookup(TAG(0x7F02, 0x0010));
	assert_string_equal(e->keyword, "VariablePixelData");
	assert_true(e->retired);
	assert_int_equal(e->vr, PACS_VR_ox);
}

static void test_element_range(void **state)
{
	(void)state;
	/* (0020,31xx) Source Image IDs: every element of the range. */
	const uint16_t elems[] = { 0x3100, 0x3105, 0x31FF };
	for (size_t i = 0; i < sizeof elems / sizeof elems[0]; i++) {
		const pacs_dict_entry *e = must_lookup(TAG(0x0020, elems[i]));
		assert_string_equal(e->keyword, "SourceImageIDs");
		assert_int_equal(e->vr, PACS_VR_CS);
		assert_true(e->retired);
		assert_int_equal(e->vm_max, 0);
	}
	assert_null(pacs_dict_lookup(TAG(0x0020, 0x3200)));
	assert_null(pacs_dict_lookup(TAG(0x0020, 0x30FF)));
}

static void test_private_creator_and_group_length(void **state)
{
	(void)state;
	/* PS3.5 7.8.1: (gggg,0010-00FF) in odd groups are Private Creators. */
	const pacs_dict_entry *e = must_lookup(TAG(0x0019, 0x0010));
	assert_string_equal(e->keyword, "PrivateCreator");
	assert_int_equal(e->vr, PACS_VR_LO);
	assert_int_equal(pacs_dict_vr(TAG(0x0019, 0x0010)), PACS_VR_LO);
	assert_int_equal(pacs_dict_vr(TAG(0x0029, 0x00FF)), PACS_VR_LO);
	assert_int_equal(pacs_dict_vr(TAG(0x0009, 0x0011)), PACS_VR_LO);
	/* Not a creator: data elements and the unused (gggg,0001-000F). */
	assert_null(pacs_dict_lookup(TAG(0x0019, 0x1010)));
	assert_int_equal(pacs_dict_vr(TAG(0x0019, 0x1010)), PACS_VR_UN);
	assert_null(pacs_dict_lookup(TAG(0x0019, 0x0100)));
	assert_null(pacs_dict_lookup(TAG(0x0019, 0x0005)));

	/* Group length (gggg,0000) is UL (PS3.5 7.2). */
	e = must_lookup(TAG(0x0011, 0x0000));
	assert_int_equal(e->vr, PACS_VR_UL);
	assert_string_equal(e->keyword, "PrivateGroupLength");
	assert_int_equal(pacs_dict_vr(TAG(0x0011, 0x0000)), PACS_VR_UL);
	e = must_lookup(TAG(0x0010, 0x0000));
	assert_int_equal(e->vr, PACS_VR_UL);
	assert_string_equal(e->keyword, "GenericGroupLength");
	e = must_lookup(TAG(0x0002, 0x0000)); /* a named one wins */
	assert_string_equal(e->keyword, "FileMetaInformationGroupLength");
	assert_int_equal(pacs_dict_vr(TAG(0x6000, 0x0000)), PACS_VR_UL);
}

static void test_keywords(void **state)
{
	(void)state;
	static const char *const names[] = {
		"PatientName", "PatientID", "StudyInstanceUID", "SeriesInstanceUID",
		"SOPClassUID", "TransferSyntaxUID", "PixelData", "Rows", "Item",
		"ReferencedImageSequence", "FileMetaInformationGroupLength",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		uint32_t tag = pacs_dict_tag_by_keyword(names[i]);
		assert_int_not_equal(tag, 0);
		assert_string_equal(pacs_dict_keyword(tag), names[i]);
	}
	assert_int_equal(pacs_dict_tag_by_keyword("PatientName"), PACS_TAG_PatientName);
	assert_int_equal(pacs_dict_tag_by_keyword("Rows"), TAG(0x0028, 0x0010));
	/* Repeating groups answer with the first tag of their range. */
	assert_int_equal(pacs_dict_tag_by_keyword("OverlayData"), TAG(0x6000, 0x3000));
	assert_int_equal(pacs_dict_tag_by_keyword("SourceImageIDs"), TAG(0x0020, 0x3100));
	/* Retired keywords are without the RETIRED_ prefix. */
	assert_int_equal(pacs_dict_tag_by_keyword("RecognitionCode"), TAG(0x0008, 0x0010));
	assert_int_equal(pacs_dict_tag_by_keyword("RETIRED_RecognitionCode"), 0);
	/* Unknown, case-different, empty, NULL; and the pseudo entries. */
	assert_int_equal(pacs_dict_tag_by_keyword("NoSuchKeyword"), 0);
	assert_int_equal(pacs_dict_tag_by_keyword("patientname"), 0);
	assert_int_equal(pacs_dict_tag_by_keyword(""), 0);
	assert_int_equal(pacs_dict_tag_by_keyword(NULL), 0);
	assert_int_equal(pacs_dict_tag_by_keyword("PrivateCreator"), 0);
}

static void test_retired(void **state)
{
	(void)state;
	const pacs_dict_entry *e = must_lookup(TAG(0x0008, 0x0010));
	assert_true(e->retired);
	assert_string_equal(e->keyword, "RecognitionCode");
	assert_int_equal(e->vr, PACS_VR_SH);
	assert_false(must_lookup(TAG(0x0008, 0x0016))->retired); /* SOPClassUID */

	for (unsigned i = 0; i < pacs_dict__exact_count; i++)
		assert_true(strncmp(pacs_dict__exact[i].keyword, "RETIRED_", 8) != 0);
}

static void test_unknown(void **state)
{
	(void)state;
	assert_null(pacs_dict_lookup(TAG(0x0010, 0x0011)));
	assert_int_equal(pacs_dict_vr(TAG(0x0010, 0x0011)), PACS_VR_UN);
	assert_string_equal(pacs_dict_keyword(TAG(0x0010, 0x0011)), "");
	assert_null(pacs_dict_lookup(TAG(0x0012, 0x0001)));
	assert_null(pacs_dict_lookup(TAG(0xFFFF, 0xFFFF)));
	assert_null(pacs_dict_lookup(TAG(0x0008, 0x0002)));
	/* Private data element without its creator: UN. */
	assert_int_equal(pacs_dict_vr(TAG(0x0029, 0x1010)), PACS_VR_UN);
	assert_true(pacs_dict_size() > 4000);
	assert_int_equal(pacs_dict_size(), pacs_dict__exact_count + pacs_dict__ranges_count);
}

static void test_private_dictionary(void **state)
{
	(void)state;
	/* (0019,"GEMS_ACQU_01",a4) SS SATFatWaterBone, in whichever block the
	 * creator reserved: (0019,0010) -> 10a4, (0019,0020) -> 20a4. */
	const pacs_dict_entry *e = pacs_dict_lookup_private(TAG(0x0019, 0x10A4), "GEMS_ACQU_01", 12);
	assert_non_null(e);
	assert_string_equal(e->keyword, "SATFatWaterBone");
	assert_int_equal(e->vr, PACS_VR_SS);
	assert_ptr_equal(pacs_dict_lookup_private(TAG(0x0019, 0x20A4), "GEMS_ACQU_01", 12), e);
	/* LO padding: trailing spaces (and NULs), leading spaces. */
	assert_ptr_equal(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), "GEMS_ACQU_01 ", 13), e);
	assert_ptr_equal(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), "GEMS_ACQU_01\0", 13), e);
	assert_ptr_equal(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), " GEMS_ACQU_01  ", 15), e);
	/* The length bounds the creator: not NUL-terminated input. */
	assert_ptr_equal(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), "GEMS_ACQU_01XYZ", 12), e);
	/* Wrong creator, prefix of a creator, other group, creator slot itself. */
	assert_null(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), "GEMS_ACQU_02", 12));
	assert_null(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), "GEMS_ACQU", 9));
	assert_null(pacs_dict_lookup_private(TAG(0x0017, 0x10A4), "GEMS_ACQU_01", 12));
	assert_null(pacs_dict_lookup_private(TAG(0x0019, 0x0010), "GEMS_ACQU_01", 12));
	assert_null(pacs_dict_lookup_private(TAG(0x0018, 0x10A4), "GEMS_ACQU_01", 12));
	assert_null(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), "", 0));
	assert_null(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), "   ", 3));
	assert_null(pacs_dict_lookup_private(TAG(0x0019, 0x10A4), NULL, 0));

	/* A fixed element (eeee >= 1000) matches only that element. */
	e = pacs_dict_lookup_private(TAG(0x0025, 0x1010), "CMR42 CIRCLECVI", 15);
	assert_non_null(e);
	assert_string_equal(e->keyword, "WorkspaceID");
	assert_null(pacs_dict_lookup_private(TAG(0x0025, 0x2010), "CMR42 CIRCLECVI", 15));

	/* Group ranges (6001-o-60ff,"PAPYRUS 3.0",10): odd groups only. */
	e = pacs_dict_lookup_private(TAG(0x6003, 0x1010), "PAPYRUS 3.0", 11);
	assert_non_null(e);
	assert_string_equal(e->keyword, "OverlayRows");
	assert_ptr_equal(pacs_dict_lookup_private(TAG(0x6001, 0x1110), "PAPYRUS 3.0", 11), e);
	assert_null(pacs_dict_lookup_private(TAG(0x6002, 0x1010), "PAPYRUS 3.0", 11));
	e = pacs_dict_lookup_private(TAG(0x0041, 0x1010), "PAPYRUS 3.0", 11);
	assert_non_null(e);
	assert_string_equal(e->keyword, "PointerSequence");

	/* VM 256 does not fit the table's byte: stored as 255-n. */
	e = pacs_dict_lookup_private(TAG(0x6021, 0x1010), "SIEMENS CT VA0  OST", 19);
	assert_non_null(e);
	assert_string_equal(e->keyword, "OsteoContourBuffer");
	assert_int_equal(e->vm_min, 255);
	assert_int_equal(e->vm_max, 0);
}

/* Every standard single tag is found by its tag and by its keyword. */
static void test_exact_round_trip(void **state)
{
	(void)state;
	assert_true(pacs_dict__exact_count > 4000);
	for (unsigned i = 0; i < pacs_dict__exact_count; i++) {
		const pacs_dict_entry *e = &pacs_dict__exact[i];
		assert_true(e->keyword[0] != '\0');
		assert_int_equal(e->group_last, e->tag >> 16);
		assert_int_equal(e->elem_last, e->tag & 0xFFFFu);
		assert_ptr_equal(pacs_dict_lookup(e->tag), e);
		if (pacs_dict_tag_by_keyword(e->keyword) != e->tag)
			fail_msg("keyword %s does not round-trip to (%04X,%04X)", e->keyword,
				 (unsigned)(e->tag >> 16), (unsigned)(e->tag & 0xFFFFu));
	}
	/* ... and every standard range entry by its keyword. */
	for (unsigned i = 0; i < pacs_dict__ranges_count; i++) {
		const pacs_dict_entry *e = &pacs_dict__ranges[i];
		uint32_t t = pacs_dict_tag_by_keyword(e->keyword);
		assert_true(t == 0 || t == e->tag);
	}
}

/* The orders the binary searches rely on (gen_dict.awk under LC_ALL=C). */
static void test_table_orders(void **state)
{
	(void)state;
	for (unsigned i = 1; i < pacs_dict__exact_count; i++)
		assert_true(pacs_dict__exact[i - 1].tag < pacs_dict__exact[i].tag);

	assert_true(pacs_dict__by_keyword_count >= pacs_dict__exact_count);
	assert_true(pacs_dict__by_keyword_count <= pacs_dict__exact_count + pacs_dict__ranges_count);
	for (unsigned i = 1; i < pacs_dict__by_keyword_count; i++)
		if (strcmp(pacs_dict__by_keyword[i - 1]->keyword, pacs_dict__by_keyword[i]->keyword) >= 0)
			fail_msg("keyword order: %s before %s", pacs_dict__by_keyword[i - 1]->keyword,
				 pacs_dict__by_keyword[i]->keyword);

	for (unsigned i = 0; i < pacs_dict__ranges_count; i++) {
		const pacs_dict_entry *e = &pacs_dict__ranges[i];
		assert_true(e->group_last >= (e->tag >> 16));
		assert_true(e->elem_last >= (e->tag & 0xFFFFu));
		assert_true(e->group_step == 1 || e->group_step == 2);
	}

	assert_true(pacs_dict__private_count > 2000);
	for (unsigned i = 1; i < pacs_dict__private_count; i++) {
		const pacs_dict_private *a = &pacs_dict__private[i - 1], *b = &pacs_dict__private[i];
		int r = strcmp(a->creator, b->creator);
		if (r == 0) {
			uint32_t ka = (a->entry.tag & 0xFFFF0000u) | (a->entry.tag & 0xFFu);
			uint32_t kb = (b->entry.tag & 0xFFFF0000u) | (b->entry.tag & 0xFFu);
			r = ka < kb ? -1 : ka > kb ? 1 : 0;
		}
		if (r > 0)
			fail_msg("private order: %s (%08X) before %s (%08X)", a->creator,
				 (unsigned)a->entry.tag, b->creator, (unsigned)b->entry.tag);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patient_name),
		cmocka_unit_test(test_vm_forms),
		cmocka_unit_test(test_pseudo_vrs),
		cmocka_unit_test(test_repeating_groups),
		cmocka_unit_test(test_element_range),
		cmocka_unit_test(test_private_creator_and_group_length),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_retired),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_private_dictionary),
		cmocka_unit_test(test_exact_round_trip),
		cmocka_unit_test(test_table_orders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
