/* pacs_dump_test.c - the dcmdump-like listing: exact lines for a built data
 * set (strings, numbers, hex, sequences, pixel sequences, bulk, private
 * tags, shortening), and a sample file's listing when $ARCA_SAMPLES is
 * present. */
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
#include "pacs_dump.h"
#include "pacs_read.h"

#define T(g, e) PACS_TAG(0x##g, 0x##e)

static char *dump(const pacs_ds *ds, unsigned flags)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(pacs_dump(ds, f, flags), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* The line for tag in a listing, without the newline; fails if absent. */
static void expect_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return;
		p++;
	}
	fail_msg("line not found:\n%s\nin:\n%s", line, text);
}

static void test_dump_values(void **state)
{
	pacs_ds *ds = NULL;
	char *text;
	static const uint8_t us[4] = { 0x00, 0x02, 0x01, 0x00 };
	static const uint8_t ss[2] = { 0xFB, 0xFF };
	static const uint8_t at[8] = { 0x54, 0x00, 0x10, 0x00, 0x54, 0x00, 0x20, 0x00 };
	static const uint8_t fl[4] = { 0x00, 0x00, 0x00, 0x3F };
	static const uint8_t fd[8] = { 0xD7, 0xA3, 0x70, 0x3D, 0x0A, 0xD7, 0xE3, 0x3F };
	static const uint8_t ob[2] = { 0x00, 0x01 };
	static const uint8_t ow[4] = { 0x00, 0x00, 0xFF, 0xFF };
	static const uint8_t sl[4] = { 0x01, 0x00, 0x00, 0x00 };
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set(ds, T(0002, 0001), PACS_VR_OB, ob, 2), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0002, 0010), PACS_VR_UI, "1.2.840.10008.1.2.1"), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0008, 0008), PACS_VR_CS, "ORIGINAL\\PRIMARY"), 0);
	assert_int_equal(pacs_ds_set(ds, T(0008, 0050), PACS_VR_SH, "", 0), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0009, 0010), PACS_VR_LO, "GEMS_GENIE_1"), 0);
	assert_int_equal(pacs_ds_set(ds, T(0009, 1011), PACS_VR_SL, sl, 4), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0009, 10FE), PACS_VR_LO, "x"), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0010, 0010), PACS_VR_PN, "Yamada^Tarou"), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0020, 4000), PACS_VR_LT, "a\r\nb"), 0);
	assert_int_equal(pacs_ds_set(ds, T(0028, 0009), PACS_VR_AT, at, 8), 0);
	assert_int_equal(pacs_ds_set(ds, T(0028, 0010), PACS_VR_US, us, 4), 0);
	assert_int_equal(pacs_ds_set(ds, T(0028, 0106), PACS_VR_SS, ss, 2), 0);
	assert_int_equal(pacs_ds_set(ds, T(0018, 9306), PACS_VR_FD, fd, 8), 0);
	assert_int_equal(pacs_ds_set(ds, T(0070, 0022), PACS_VR_FL, fl, 4), 0);
	assert_int_equal(pacs_ds_set(ds, T(0029, 0000), PACS_VR_UL, sl, 4), 0);
	assert_int_equal(pacs_ds_set(ds, T(0031, 1000), PACS_VR_UN, ob, 2), 0);
	assert_int_equal(pacs_ds_set(ds, T(7FE0, 0010), PACS_VR_OW, ow, 4), 0);
	text = dump(ds, 0);

	/* meta first under its heading, then the data set */
	assert_non_null(strstr(text, "# Dicom-Meta-Information-Header\n"));
	assert_true(strstr(text, "(0002,0010)") < strstr(text, "# Dicom-Data-Set\n"));
	expect_line(text, "(0002,0001) OB 00\\01                                    #   2, 1 FileMetaInformationVersion");
	expect_line(text, "(0002,0010) UI [1.2.840.10008.1.2.1]                    #  20, 1 TransferSyntaxUID");
	expect_line(text, "(0008,0008) CS [ORIGINAL\\PRIMARY]                       #  16, 2 ImageType");
	expect_line(text, "(0008,0050) SH (no value available)                     #   0, 0 AccessionNumber");
	expect_line(text, "(0009,0010) LO [GEMS_GENIE_1]                           #  12, 1 PrivateCreator");
	/* a private tag named by DCMTK's private dictionary under its creator */
	expect_line(text, "(0009,1011) SL 1                                        #   4, 1 StudyFlags");
	expect_line(text, "(0009,10fe) LO [x]                                      #   2, 1 Unknown Tag & Data");
	expect_line(text, "(0010,0010) PN [Yamada^Tarou]                           #  12, 1 PatientName");
	/* control characters escaped: one line per element */
	expect_line(text, "(0020,4000) LT [a\\x0d\\x0ab]                             #   4, 1 ImageComments");
	expect_line(text, "(0028,0009) AT (0054,0010)\\(0054,0020)                  #   8, 2 FrameIncrementPointer");
	expect_line(text, "(0028,0010) US 512\\1                                    #   4, 2 Rows");
	expect_line(text, "(0028,0106) SS -5                                       #   2, 1 SmallestImagePixelValue");
	expect_line(text, "(0018,9306) FD 0.62                                     #   8, 1 SingleCollimationWidth");
	expect_line(text, "(0070,0022) FL 0.5                                      #   4, 1 GraphicData");
	expect_line(text, "(0029,0000) UL 1                                        #   4, 1 PrivateGroupLength");
	expect_line(text, "(0031,1000) UN 00\\01                                    #   2, 1 Unknown Tag & Data");
	expect_line(text, "(7fe0,0010) OW 0000\\ffff                                #   4, 1 PixelData");
	free(text);

	text = dump(ds, PACS_DUMP_NO_META);
	assert_null(strstr(text, "(0002,"));
	assert_null(strstr(text, "Meta-Information"));
	assert_non_null(strstr(text, "(0008,0008)"));
	free(text);
	pacs_ds_free(ds);
}

static void test_dump_sequences(void **state)
{
	pacs_ds *ds = NULL, *item = NULL, *inner = NULL;
	pacs_elem *seq = NULL;
	char *text;
	(void)state;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_add_item(ds, T(0008, 2112), &item), 0);
	assert_int_equal(pacs_ds_set_string(item, T(0008, 1150), PACS_VR_UI, "1.2.3"), 0);
	assert_int_equal(pacs_ds_add_item(item, T(0040, A170), &inner), 0);
	assert_int_equal(pacs_ds_set_string(inner, T(0008, 0100), PACS_VR_SH, "121320"), 0);
	/* a sequence and item with explicit lengths, as read from a file */
	assert_int_equal(pacs_ds_set_sequence(ds, T(0040, A043), &seq), 0);
	assert_int_equal(pacs_ds_add_item(ds, T(0040, A043), &item), 0);
	assert_int_equal(pacs_ds_set_string(item, T(0008, 0100), PACS_VR_SH, "1111"), 0);
	pacs_ds_set_item_length(item, 12);
	seq = pacs_ds_find_mut(ds, T(0040, A043));
	assert_non_null(seq);
	text = dump(ds, 0);
	expect_line(text, "(0008,2112) SQ (Sequence with undefined length #=1)     # u/l, 1 SourceImageSequence");
	expect_line(text, "  (fffe,e000) na (Item with undefined length #=2)         # u/l, 1 Item");
	expect_line(text, "    (0008,1150) UI [1.2.3]                                  #   6, 1 ReferencedSOPClassUID");
	expect_line(text, "    (0040,a170) SQ (Sequence with undefined length #=1)     # u/l, 1 PurposeOfReferenceCodeSequence");
	expect_line(text, "        (0008,0100) SH [121320]                                 #   6, 1 CodeValue");
	expect_line(text, "      (fffe,e00d) na (ItemDelimitationItem)                   #   0, 0 ItemDelimitationItem");
	expect_line(text, "    (fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem");
	expect_line(text, "  (fffe,e000) na (Item with explicit length #=1)          #  12, 1 Item");
	expect_line(text, "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem");
	free(text);
	pacs_ds_free(ds);
}

static void test_dump_pixel_sequence_and_bulk(void **state)
{
	pacs_ds *ds = NULL;
	char *text;
	uint8_t frag[40];
	(void)state;

	for (unsigned i = 0; i < sizeof(frag); i++)
		frag[i] = (uint8_t)i;
	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_encapsulated(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OB, NULL), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, "", 0), 0);
	assert_int_equal(pacs_ds_add_fragment(ds, PACS_TAG_PIXEL_DATA, frag, sizeof(frag)), 0);
	assert_int_equal(pacs_ds_set_bulk(ds, T(0042, 0011), PACS_VR_OB, 1000000, 0), 0);
	text = dump(ds, 0);
	expect_line(text, "(0042,0011) OB (not loaded)                             # 1000000, 1 EncapsulatedDocument");
	expect_line(text, "(7fe0,0010) OB (PixelSequence #=2)                      # u/l, 1 PixelData");
	expect_line(text, "  (fffe,e000) pi (no value available)                     #   0, 1 Item");
	/* 22 bytes fit dcmdump's 70 columns, then "..." */
	expect_line(text, "  (fffe,e000) pi 00\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10\\11\\12\\13\\14\\15... #  40, 1 Item");
	expect_line(text, "(fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem");
	free(text);
	text = dump(ds, PACS_DUMP_FULL);
	assert_non_null(strstr(text, "\\26\\27 #  40, 1 Item\n"));
	free(text);
	pacs_ds_free(ds);
}

static void test_dump_shortening(void **state)
{
	pacs_ds *ds = NULL;
	char *text;
	char longval[101];
	uint8_t words[64];
	(void)state;

	memset(longval, 'a', 100);
	longval[100] = '\0';
	for (unsigned i = 0; i < sizeof(words); i++)
		words[i] = (uint8_t)i;
	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0020, 4000), PACS_VR_LT, longval), 0);
	assert_int_equal(pacs_ds_set(ds, T(7FE0, 0010), PACS_VR_OW, words, sizeof(words)), 0);
	text = dump(ds, 0);
	/* "[" + 66 characters + "..." */
	expect_line(text, "(0020,4000) LT [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... # 100, 1 ImageComments");
	/* 13 words fit */
	expect_line(text, "(7fe0,0010) OW 0100\\0302\\0504\\0706\\0908\\0b0a\\0d0c\\0f0e\\1110\\1312\\1514\\1716\\1918... #  64, 1 PixelData");
	free(text);
	text = dump(ds, PACS_DUMP_FULL);
	assert_non_null(strstr(text, "[" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "]"));
	assert_non_null(strstr(text, "\\3d3c\\3f3e #  64, 1 PixelData\n"));
	free(text);
	pacs_ds_free(ds);
}

static void test_dump_charset_fallback(void **state)
{
	pacs_ds *ds = NULL;
	char *text;
	(void)state;

	/* Latin-1 text converted; undecodable bytes shown escaped */
	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0008, 0005), PACS_VR_CS, "ISO_IR 100"), 0);
	assert_int_equal(pacs_ds_set_string(ds, T(0010, 0010), PACS_VR_PN, "Buc^J\xE9r\xF4me"), 0);
	text = dump(ds, 0);
	expect_line(text, "(0010,0010) PN [Buc^J\xC3\xA9r\xC3\xB4me]" "                           #  10, 1 PatientName");
	free(text);
	assert_int_equal(pacs_ds_set_string(ds, T(0008, 0005), PACS_VR_CS, "ISO_IR 192"), 0);
	text = dump(ds, 0);
	expect_line(text, "(0010,0010) PN [Buc^J\\xe9r\\xf4me]                       #  10, 1 PatientName");
	free(text);
	pacs_ds_free(ds);
}

static void test_dump_sample_file(void **state)
{
	const char *dir = getenv("ARCA_SAMPLES");
	char path[4096];
	struct stat st;
	pacs_ds *ds = NULL;
	pacs_read_opts opts;
	char *text;
	(void)state;

	if (dir == NULL || dir[0] == '\0' ||
	    (snprintf(path, sizeof(path), "%s/pydicom/JPEG2000.dcm", dir), stat(path, &st) != 0)) {
		print_message("ARCA_SAMPLES not available: sample part skipped\n");
		skip();
	}
	pacs_read_opts_init(&opts);
	assert_int_equal(pacs_read_file(&ds, path, &opts), 0);
	text = dump(ds, 0);
	expect_line(text, "(0002,0013) SH [DCTOOL100]                              #  10, 1 ImplementationVersionName");
	expect_line(text, "# Used TransferSyntax: JPEG 2000 Image Compression");
	expect_line(text, "(0028,0009) AT (0054,0010)\\(0054,0020)                  #   8, 2 FrameIncrementPointer");
	expect_line(text, "(0009,102e) FD 1.8999999761581421                       #   8, 1 DistancePrescribed");
	expect_line(text, "      (fffe,e000) na (Item with undefined length #=3)         # u/l, 1 Item");
	expect_line(text, "(7fe0,0010) OB (PixelSequence #=2)                      # u/l, 1 PixelData");
	expect_line(text, "  (fffe,e000) pi ff\\4f\\ff\\51\\00\\29\\00\\00\\00\\00\\01\\00\\00\\00\\04\\00\\00\\00\\00\\00\\00\\00... # 250, 1 Item");
	free(text);
	pacs_ds_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_values),
		cmocka_unit_test(test_dump_sequences),
		cmocka_unit_test(test_dump_pixel_sequence_and_bulk),
		cmocka_unit_test(test_dump_shortening),
		cmocka_unit_test(test_dump_charset_fallback),
		cmocka_unit_test(test_dump_sample_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
