/* pacs_read_test.c - the incremental DICOM reader (pacs_read.h): every
 * transfer syntax built with test_dicom, lengths, nesting, private tags,
 * bulk data, skipping, deflate, split feeding, bad input, and every file
 * of $ARCA_SAMPLES. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "arca_err.h"
#include "pacs_read.h"
#include "pacs_ts.h"
#include "test_dicom.h"

#define T_CHARSET 0x00080005u
#define T_SOP_CLASS 0x00080016u
#define T_REF_IMAGE_SEQ 0x00081140u
#define T_REF_SOP_INSTANCE 0x00081155u
#define T_PATIENT_NAME 0x00100010u
#define T_PATIENT_ID 0x00100020u
#define T_INSTANCE_NUMBER 0x00200013u
#define T_ROWS 0x00280010u
#define T_COLUMNS 0x00280011u
#define T_PIXEL_REP 0x00280103u
#define T_SMALLEST 0x00280106u
#define T_PIXEL_PADDING 0x00280120u
#define T_LUT_DATA 0x00283006u
#define T_DATA_POINT_ROWS 0x00289001u
#define T_BVALUE 0x00189087u
#define T_CONTENT_SEQ 0x0040A730u
#define T_PIXEL 0x7FE00010u
#define T_PADDING 0xFFFCFFFCu

/* ---- reading helpers ---- */

/* Feeds p in pieces of `chunk` bytes (0: all at once). */
static int read_chunks(const uint8_t *p, size_t n, const pacs_read_opts *o, size_t chunk, pacs_ds **out)
{
	pacs_reader *r = NULL;
	size_t i = 0;
	int rc;

	*out = NULL;
	if ((rc = pacs_reader_new(&r, o)) < 0)
		return rc;
	while (i < n) {
		size_t k = chunk == 0 || chunk > n - i ? n - i : chunk;
		if ((rc = pacs_reader_feed(r, p + i, k)) < 0)
			break;
		i += k;
	}
	if (rc == 0)
		rc = pacs_reader_finish(r, out);
	pacs_reader_free(r);
	return rc;
}

static uint32_t rnd_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Feeds p in random pieces of 1 to max bytes. */
static int read_random(const uint8_t *p, size_t n, const pacs_read_opts *o, uint32_t seed, size_t max,
		       pacs_ds **out)
{
	pacs_reader *r = NULL;
	size_t i = 0;
	int rc;

	*out = NULL;
	if ((rc = pacs_reader_new(&r, o)) < 0)
		return rc;
	while (i < n) {
		size_t k = 1 + rnd_next(&seed) % max;
		if (k > n - i)
			k = n - i;
		if ((rc = pacs_reader_feed(r, p + i, k)) < 0)
			break;
		i += k;
	}
	if (rc == 0)
		rc = pacs_reader_finish(r, out);
	pacs_reader_free(r);
	return rc;
}

/* Reads whole, byte by byte, 3 bytes at a time and in random pieces;
 * asserts success and identical trees; returns the whole-buffer tree. */
static pacs_ds *read_all_ways(const uint8_t *p, size_t n, const pacs_read_opts *o)
{
	pacs_ds *whole = NULL, *other = NULL;
	char *c0, *c1;
	int rc = read_chunks(p, n, o, 0, &whole);

	if (rc != 0)
		fail_msg("read failed: %d %s", rc, arca_error_last());
	c0 = td_canon(whole);
	for (int way = 0; way < 3; way++) {
		rc = way == 0 ? read_chunks(p, n, o, 1, &other)
		   : way == 1 ? read_chunks(p, n, o, 3, &other)
			      : read_random(p, n, o, 12345u + (uint32_t)n, 97, &other);
		if (rc != 0)
			fail_msg("split read %d failed: %d %s", way, rc, arca_error_last());
		c1 = td_canon(other);
		if (strcmp(c0, c1) != 0)
			fail_msg("split read %d differs:\n%s\n----\n%s", way, c0, c1);
		free(c1);
		pacs_ds_free(other);
	}
	free(c0);
	return whole;
}

static pacs_ds *read_td(const td *b, const pacs_read_opts *o)
{
	return read_all_ways(b->buf, b->len, o);
}

static int read_err(const td *b, const pacs_read_opts *o)
{
	pacs_ds *ds = NULL;
	int rc = read_chunks(b->buf, b->len, o, 0, &ds);
	int rc1;

	assert_null(ds);
	/* Same verdict byte by byte. */
	rc1 = read_chunks(b->buf, b->len, o, 1, &ds);
	assert_null(ds);
	assert_int_equal(rc, rc1);
	return rc;
}

static void assert_str(const pacs_ds *ds, uint32_t tag, const char *want)
{
	char buf[256];

	assert_int_equal(pacs_ds_get_string(ds, tag, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void assert_uint(const pacs_ds *ds, uint32_t tag, uint64_t want)
{
	uint64_t v = 0;

	assert_int_equal(pacs_ds_get_uint(ds, tag, 0, &v), 0);
	assert_int_equal(v, want);
}

static void assert_value(const pacs_elem *e, const void *want, uint32_t n)
{
	uint32_t len = 0;
	const uint8_t *v = pacs_elem_value(e, &len);

	assert_non_null(v);
	assert_int_equal(len, n);
	assert_memory_equal(v, want, n);
}

static const pacs_elem *find(const pacs_ds *ds, uint32_t tag)
{
	const pacs_elem *e = pacs_ds_find(ds, tag);

	if (e == NULL)
		fail_msg("(%04X,%04X) missing", tag >> 16, tag & 0xFFFF);
	return e;
}

static void opts(pacs_read_opts *o)
{
	pacs_read_opts_init(o);
}

/* ---- bulk callback recorder ---- */

typedef struct bulk_rec {
	char log[4096];          /* "B F0:0 F1:6 D E " */
	size_t loglen;
	uint8_t *data;           /* all DATA bytes, concatenated */
	size_t len, cap;
	uint64_t next_offset;    /* expected value_offset of the next DATA */
	uint32_t tag;
	int fail_at;             /* return ARCA_ECANCELLED at this event (1-based), 0 never */
	int events;
} bulk_rec;

__attribute__((format(printf, 2, 3)))
static void rec_log(bulk_rec *rec, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rec->log + rec->loglen, sizeof(rec->log) - rec->loglen, fmt, ap);
	va_end(ap);
	if (n > 0 && rec->loglen + (size_t)n < sizeof(rec->log))
		rec->loglen += (size_t)n;
}

static int bulk_cb(void *ctx, const pacs_bulk_event *ev)
{
	bulk_rec *rec = ctx;

	rec->events++;
	if (rec->fail_at != 0 && rec->events == rec->fail_at)
		return arca_error_set(ARCA_ECANCELLED, "stop requested by test");
	switch (ev->kind) {
	case PACS_BULK_BEGIN:
		rec_log(rec, "B(%04X,%04X)%s ", ev->tag >> 16, ev->tag & 0xFFFF, pacs_vr_name(ev->vr));
		rec->next_offset = 0;
		rec->tag = ev->tag;
		assert_non_null(ev->parent);
		break;
	case PACS_BULK_FRAGMENT:
		rec_log(rec, "F%u:%u ", ev->fragment_index, ev->fragment_length);
		rec->next_offset = 0;
		break;
	case PACS_BULK_DATA:
		/* Pieces come in order, without gaps (merged in the log). */
		assert_int_equal(ev->value_offset, rec->next_offset);
		assert_int_equal(ev->tag, rec->tag);
		assert_true(ev->data_len > 0);
		if (rec->len + ev->data_len > rec->cap) {
			rec->cap = (rec->len + ev->data_len) * 2;
			rec->data = realloc(rec->data, rec->cap);
			assert_non_null(rec->data);
		}
		memcpy(rec->data + rec->len, ev->data, ev->data_len);
		rec->len += ev->data_len;
		if (ev->value_offset == 0)
			rec_log(rec, "D ");
		rec->next_offset += ev->data_len;
		break;
	case PACS_BULK_END:
		rec_log(rec, "E ");
		break;
	}
	return 0;
}

static void rec_free(bulk_rec *rec)
{
	free(rec->data);
	memset(rec, 0, sizeof(*rec));
}

/* Reads b with a bulk recorder, whole and in pieces of `chunk`, and checks
 * the two recordings agree. */
static pacs_ds *read_bulk(const td *b, pacs_read_opts *o, bulk_rec *rec, size_t chunk)
{
	bulk_rec again = { 0 };
	pacs_ds *ds = NULL, *ds2 = NULL;
	char *c0, *c1;

	o->bulk_fn = bulk_cb;
	o->bulk_ctx = rec;
	assert_int_equal(read_chunks(b->buf, b->len, o, 0, &ds), 0);
	o->bulk_ctx = &again;
	assert_int_equal(read_chunks(b->buf, b->len, o, chunk, &ds2), 0);
	assert_string_equal(rec->log, again.log);
	assert_int_equal(rec->len, again.len);
	if (rec->len > 0)
		assert_memory_equal(rec->data, again.data, rec->len);
	c0 = td_canon(ds);
	c1 = td_canon(ds2);
	assert_string_equal(c0, c1);
	free(c0);
	free(c1);
	pacs_ds_free(ds2);
	rec_free(&again);
	o->bulk_ctx = rec;
	return ds;
}

/* ---- transfer syntaxes ---- */

static void test_explicit_le_part10(void **state)
{
	static const uint8_t ob[3] = { 1, 2, 3 };
	static const uint8_t fd[8] = { 0, 0, 0, 0, 0, 0, 0xF0, 0x3F }; /* 1.0 */
	pacs_read_opts o;
	pacs_ds *ds;
	td b;
	size_t first;
	double d;

	(void)state;
	opts(&o);
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0xAB);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	first = b.len;
	td_str(&b, T_CHARSET, "CS", "ISO_IR 100");
	td_str(&b, T_PATIENT_NAME, "PN", "Doe^John");
	td_str(&b, T_PATIENT_ID, "LO", "ABC"); /* padded to 4 */
	td_us(&b, T_ROWS, 512);
	td_ul(&b, T_DATA_POINT_ROWS, 0x01020304);
	td_elem(&b, T_BVALUE, "FD", fd, 8);
	td_elem(&b, 0x00091001, "OB", ob, 3); /* odd length */
	td_elem(&b, T_INSTANCE_NUMBER, "IS", NULL, 0);
	ds = read_td(&b, &o);

	assert_non_null(pacs_ds_preamble(ds));
	assert_int_equal(pacs_ds_preamble(ds)[0], 0xAB);
	assert_int_equal(pacs_ds_preamble(ds)[127], 0xAB);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_EXPLICIT_LE);
	/* Meta elements are kept in the root, in stream order. */
	assert_int_equal(pacs_elem_tag(pacs_ds_at(ds, 0)), 0x00020000);
	assert_int_equal(pacs_elem_offset(pacs_ds_at(ds, 0)), 132);
	assert_str(ds, PACS_TAG_TRANSFER_SYNTAX, PACS_TS_EXPLICIT_LE);
	assert_str(ds, T_PATIENT_NAME, "Doe^John");
	assert_int_equal(pacs_elem_offset(find(ds, T_CHARSET)), first);
	assert_int_equal(pacs_elem_vr(find(ds, T_PATIENT_NAME)), PACS_VR_PN);
	assert_int_equal(pacs_elem_flags(find(ds, T_PATIENT_NAME)), 0);
	assert_int_equal(pacs_elem_length(find(ds, T_PATIENT_ID)), 4);
	assert_uint(ds, T_ROWS, 512);
	assert_uint(ds, T_DATA_POINT_ROWS, 0x01020304);
	assert_int_equal(pacs_ds_get_double(ds, T_BVALUE, 0, &d), 0);
	assert_true(d == 1.0);
	assert_value(find(ds, 0x00091001), ob, 3);
	assert_int_equal(pacs_elem_length(find(ds, 0x00091001)), 3);
	/* An empty value: non-NULL pointer, length 0. */
	assert_value(find(ds, T_INSTANCE_NUMBER), "", 0);
	assert_int_equal(pacs_ds_count(ds), 6 + 8);
	pacs_ds_free(ds);
	td_free(&b);
}

static void test_implicit_le_dictionary(void **state)
{
	static const uint8_t us1[2] = { 1, 0 };
	static const uint8_t ssm2[2] = { 0xFE, 0xFF };
	static const uint8_t pix[4] = { 1, 2, 3, 4 };
	pacs_read_opts o;
	pacs_ds *ds;
	td b;

	(void)state;
	opts(&o);
	td_init(&b, TD_IMPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_IMPLICIT_LE);
	td_str(&b, T_CHARSET, NULL, "ISO_IR 100");
	td_str(&b, 0x00090010, NULL, "GEMS_IDEN_01");
	td_str(&b, 0x00090011, NULL, "CARDIO-D.R. 1.0");
	td_elem(&b, 0x0009101A, NULL, us1, 2);      /* private dictionary: US */
	td_elem(&b, 0x00091099, NULL, "ab", 2);     /* not in it: UN */
	{	/* a private sequence of the private dictionary, defined length */
		td_mark sq = td_seq_begin(&b, 0x00091140, false), it = td_item_begin(&b, false);
		td_str(&b, T_PATIENT_ID, NULL, "in private");
		td_item_end(&b, it);
		td_seq_end(&b, sq);
	}
	td_str(&b, 0x00110010, NULL, "NO SUCH CREATOR");
	td_elem(&b, 0x00111001, NULL, "xy", 2);     /* unknown creator: UN */
	td_elem(&b, 0x00131001, NULL, "zz", 2);     /* no creator at all: UN */
	td_str(&b, T_PATIENT_NAME, NULL, "Doe^Jane");
	td_elem(&b, T_ROWS, NULL, us1, 2);
	td_elem(&b, T_PIXEL_REP, NULL, us1, 2);     /* signed */
	td_elem(&b, T_SMALLEST, NULL, ssm2, 2);     /* xs -> SS */
	td_elem(&b, 0x00290000, NULL, "\4\0\0\0", 4); /* private group length */
	td_elem(&b, 0x00991234, NULL, "qq", 2);     /* unknown standard tag */
	td_elem(&b, T_PIXEL, NULL, pix, 4);         /* px -> OW */
	ds = read_td(&b, &o);

	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_IMPLICIT_LE);
	/* The meta group is Explicit VR whatever the data set is. */
	assert_int_equal(pacs_elem_flags(find(ds, PACS_TAG_TRANSFER_SYNTAX)), 0);
	assert_int_equal(pacs_elem_vr(find(ds, PACS_TAG_TRANSFER_SYNTAX)), PACS_VR_UI);
	assert_int_equal(pacs_elem_vr(find(ds, T_CHARSET)), PACS_VR_CS);
	assert_int_equal(pacs_elem_flags(find(ds, T_CHARSET)), PACS_ELEM_IMPLICIT_VR);
	assert_int_equal(pacs_elem_vr(find(ds, 0x00090010)), PACS_VR_LO);
	assert_int_equal(pacs_elem_vr(find(ds, 0x0009101A)), PACS_VR_US);
	assert_int_equal(pacs_elem_vr(find(ds, 0x00091099)), PACS_VR_UN);
	assert_true(pacs_elem_is_sequence(find(ds, 0x00091140)));
	assert_int_equal(pacs_elem_flags(find(ds, 0x00091140)), PACS_ELEM_IMPLICIT_VR);
	assert_str(pacs_elem_item(find(ds, 0x00091140), 0), T_PATIENT_ID, "in private");
	assert_int_equal(pacs_elem_vr(find(ds, 0x00110010)), PACS_VR_LO);
	assert_int_equal(pacs_elem_vr(find(ds, 0x00111001)), PACS_VR_UN);
	assert_int_equal(pacs_elem_vr(find(ds, 0x00131001)), PACS_VR_UN);
	assert_int_equal(pacs_elem_vr(find(ds, T_PATIENT_NAME)), PACS_VR_PN);
	assert_str(ds, T_PATIENT_NAME, "Doe^Jane");
	assert_int_equal(pacs_elem_vr(find(ds, T_ROWS)), PACS_VR_US);
	assert_int_equal(pacs_elem_vr(find(ds, T_SMALLEST)), PACS_VR_SS);
	{
		int64_t v = 0;
		assert_int_equal(pacs_ds_get_int(ds, T_SMALLEST, 0, &v), 0);
		assert_int_equal(v, -2);
	}
	assert_int_equal(pacs_elem_vr(find(ds, 0x00290000)), PACS_VR_UL);
	assert_int_equal(pacs_elem_vr(find(ds, 0x00991234)), PACS_VR_UN);
	assert_int_equal(pacs_elem_vr(find(ds, T_PIXEL)), PACS_VR_OW);
	assert_value(find(ds, T_PIXEL), pix, 4);
	assert_int_equal(pacs_elem_flags(find(ds, T_PIXEL)), PACS_ELEM_IMPLICIT_VR);
	pacs_ds_free(ds);
	td_free(&b);
}

/* xs follows the Pixel Representation read so far, also from inside an
 * item; US when there is none; ox/px/lt are OW and up is UL. */
static void test_implicit_pseudo_vrs(void **state)
{
	static const uint8_t zero[2] = { 0, 0 }, one[2] = { 1, 0 };
	pacs_read_opts o;
	pacs_ds *ds;
	const pacs_ds *item;
	td b;
	td_mark sq, it;

	(void)state;
	opts(&o);
	td_init(&b, TD_IMPLICIT_LE);
	td_elem(&b, 0x00041200, NULL, "\1\0\0\0", 4);  /* up */
	td_elem(&b, 0x00189810, NULL, one, 2);          /* xs before any Pixel Representation */
	td_elem(&b, T_PIXEL_REP, NULL, one, 2);
	sq = td_seq_begin(&b, 0x00283010, true);         /* VOI LUT Sequence */
	it = td_item_begin(&b, false);
	td_elem(&b, T_LUT_DATA, NULL, one, 2);          /* lt */
	td_elem(&b, T_SMALLEST, NULL, one, 2);          /* xs: root says signed */
	td_item_end(&b, it);
	td_seq_end(&b, sq);
	ds = read_td(&b, &o);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_IMPLICIT_LE);
	assert_null(pacs_ds_preamble(ds));
	assert_int_equal(pacs_elem_vr(find(ds, 0x00041200)), PACS_VR_UL);
	assert_int_equal(pacs_elem_vr(find(ds, 0x00189810)), PACS_VR_US);
	item = pacs_elem_item(find(ds, 0x00283010), 0);
	assert_non_null(item);
	assert_int_equal(pacs_elem_vr(find(item, T_LUT_DATA)), PACS_VR_OW);
	assert_int_equal(pacs_elem_vr(find(item, T_SMALLEST)), PACS_VR_SS);
	pacs_ds_free(ds);
	td_free(&b);

	/* Pixel Representation 0: US. */
	td_init(&b, TD_IMPLICIT_LE);
	td_elem(&b, T_PIXEL_REP, NULL, zero, 2);
	td_elem(&b, T_SMALLEST, NULL, one, 2);
	ds = read_td(&b, &o);
	assert_int_equal(pacs_elem_vr(find(ds, T_SMALLEST)), PACS_VR_US);
	pacs_ds_free(ds);
	td_free(&b);
}

/* Explicit VR Big Endian: values are swapped to little endian by VR unit;
 * byte VRs and strings are not. */
static void test_explicit_be_swap(void **state)
{
	static const uint8_t us_be[4] = { 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t us_le[4] = { 0x02, 0x01, 0x04, 0x03 };
	static const uint8_t ul_be[4] = { 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t ul_le[4] = { 0x04, 0x03, 0x02, 0x01 };
	static const uint8_t fd_be[8] = { 0x3F, 0xF0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t at_be[4] = { 0x00, 0x28, 0x00, 0x10 };
	static const uint8_t at_le[4] = { 0x28, 0x00, 0x10, 0x00 };
	static const uint8_t ow_be[5] = { 1, 2, 3, 4, 5 };     /* odd: last byte as is */
	static const uint8_t ow_le[5] = { 2, 1, 4, 3, 5 };
	static const uint8_t ob[3] = { 1, 2, 3 };
	pacs_read_opts o;
	pacs_ds *ds;
	double d;
	td b;

	(void)state;
	opts(&o);
	td_init(&b, TD_EXPLICIT_BE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_BE);
	td_str(&b, T_PATIENT_NAME, "PN", "Big^Endian");
	td_elem(&b, T_ROWS, "US", us_be, 4);
	td_elem(&b, T_DATA_POINT_ROWS, "UL", ul_be, 4);
	td_elem(&b, T_BVALUE, "FD", fd_be, 8);
	td_elem(&b, 0x00200005, "AT", at_be, 4);
	td_elem(&b, 0x00091001, "OB", ob, 3);
	td_elem(&b, T_PIXEL, "OW", ow_be, 5);
	ds = read_td(&b, &o);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_EXPLICIT_BE);
	assert_str(ds, T_PATIENT_NAME, "Big^Endian");
	assert_value(find(ds, T_ROWS), us_le, 4);
	assert_value(find(ds, T_DATA_POINT_ROWS), ul_le, 4);
	assert_int_equal(pacs_ds_get_double(ds, T_BVALUE, 0, &d), 0);
	assert_true(d == 1.0);
	assert_value(find(ds, 0x00200005), at_le, 4);
	assert_value(find(ds, 0x00091001), ob, 3);
	assert_value(find(ds, T_PIXEL), ow_le, 5);
	pacs_ds_free(ds);
	td_free(&b);
}

/* ---- sequences ---- */

static void build_nested(td *b, bool sq_undef, bool item_undef)
{
	td_mark sq, it, sq2, it2;

	td_str(b, T_PATIENT_NAME, "PN", "Nest^Ed");
	sq = td_seq_begin(b, T_REF_IMAGE_SEQ, sq_undef);
	it = td_item_begin(b, item_undef);
	td_str(b, T_REF_SOP_INSTANCE, "UI", "1.2.3");
	sq2 = td_seq_begin(b, T_CONTENT_SEQ, !sq_undef);
	it2 = td_item_begin(b, !item_undef);
	td_str(b, 0x0040A160, "UT", "deep text");
	td_item_end(b, it2);
	it2 = td_item_begin(b, false); /* an empty item of defined length */
	td_item_end(b, it2);
	td_seq_end(b, sq2);
	td_item_end(b, it);
	it = td_item_begin(b, item_undef);
	td_str(b, T_REF_SOP_INSTANCE, "UI", "1.2.4");
	td_item_end(b, it);
	td_seq_end(b, sq);
	sq = td_seq_begin(b, 0x00081150, sq_undef); /* an empty sequence */
	td_seq_end(b, sq);
	td_us(b, T_ROWS, 7);
}

static void test_nested_sequences(void **state)
{
	pacs_read_opts o;

	(void)state;
	opts(&o);
	for (int enc = 0; enc < 3; enc++) {
		for (int mode = 0; mode < 4; mode++) {
			bool sq_undef = mode & 1, item_undef = (mode & 2) != 0;
			const pacs_elem *sq, *sq2;
			const pacs_ds *it, *it2;
			pacs_ds *ds;
			td b;
			char buf[64];

			td_init(&b, (td_enc)enc);
			td_preamble(&b, 0);
			td_meta(&b, enc == TD_IMPLICIT_LE ? PACS_TS_IMPLICIT_LE
				  : enc == TD_EXPLICIT_LE ? PACS_TS_EXPLICIT_LE : PACS_TS_EXPLICIT_BE);
			build_nested(&b, sq_undef, item_undef);
			ds = read_td(&b, &o);
			sq = find(ds, T_REF_IMAGE_SEQ);
			assert_true(pacs_elem_is_sequence(sq));
			assert_int_equal(pacs_elem_flags(sq) & PACS_ELEM_UNDEF_LENGTH,
					 sq_undef ? PACS_ELEM_UNDEF_LENGTH : 0);
			if (sq_undef)
				assert_int_equal(pacs_elem_length(sq), PACS_UNDEFINED_LENGTH);
			assert_int_equal(pacs_elem_item_count(sq), 2);
			it = pacs_elem_item(sq, 0);
			assert_ptr_equal(pacs_ds_parent(it), ds);
			assert_int_equal(pacs_ds_item_length(it) == PACS_UNDEFINED_LENGTH, item_undef);
			assert_int_equal(pacs_ds_offset(it), pacs_elem_offset(sq) + (enc == TD_IMPLICIT_LE ? 8 : 12));
			assert_int_equal(pacs_ds_get_string(it, T_REF_SOP_INSTANCE, 0, buf, sizeof(buf)), 0);
			assert_string_equal(buf, "1.2.3");
			sq2 = find(it, T_CONTENT_SEQ);
			assert_int_equal(pacs_elem_item_count(sq2), 2);
			it2 = pacs_elem_item(sq2, 0);
			assert_int_equal(pacs_ds_get_string(it2, 0x0040A160, 0, buf, sizeof(buf)), 0);
			assert_string_equal(buf, "deep text");
			assert_int_equal(pacs_ds_count(pacs_elem_item(sq2, 1)), 0);
			assert_int_equal(pacs_ds_item_length(pacs_elem_item(sq2, 1)), 0);
			assert_int_equal(pacs_ds_get_string(pacs_elem_item(sq, 1), T_REF_SOP_INSTANCE, 0, buf,
							    sizeof(buf)), 0);
			assert_string_equal(buf, "1.2.4");
			assert_int_equal(pacs_elem_item_count(find(ds, 0x00081150)), 0);
			assert_uint(ds, T_ROWS, 7);
			pacs_ds_free(ds);
			td_free(&b);
		}
	}
}

/* PS3.5 6.2.2: UN of undefined length is a sequence in Implicit VR LE,
 * whatever the data set's encoding; so is any undefined-length element
 * in Implicit VR, known to the dictionary or not. */
static void test_un_sequences(void **state)
{
	pacs_read_opts o;

	(void)state;
	opts(&o);
	for (int enc = 0; enc < 3; enc++) {
		pacs_ds *ds;
		const pacs_elem *e;
		td b;
		td_mark sq, it;

		td_init(&b, (td_enc)enc);
		td_str(&b, 0x00090010, "LO", "SOME CREATOR");
		sq = td_seq_begin_vr(&b, 0x00091001, "UN", true);
		td_set_enc(&b, TD_IMPLICIT_LE);
		it = td_item_begin(&b, true);
		td_str(&b, T_PATIENT_ID, NULL, "inner");
		td_item_end(&b, it);
		td_seq_delim(&b);
		td_set_enc(&b, (td_enc)enc);
		(void)sq;
		td_us(&b, T_ROWS, 0x0102);
		ds = read_td(&b, &o);
		e = find(ds, 0x00091001);
		assert_true(pacs_elem_is_sequence(e));
		assert_int_equal(pacs_elem_flags(e) & PACS_ELEM_UNDEF_LENGTH, PACS_ELEM_UNDEF_LENGTH);
		assert_int_equal(pacs_elem_item_count(e), 1);
		assert_str(pacs_elem_item(e, 0), T_PATIENT_ID, "inner");
		assert_int_equal(pacs_elem_vr(find(pacs_elem_item(e, 0), T_PATIENT_ID)), PACS_VR_LO);
		assert_uint(ds, T_ROWS, 0x0102);
		pacs_ds_free(ds);
		td_free(&b);
	}
}

/* Unknown VR letters: with non-zero reserved bytes the 16-bit form and the
 * dictionary's VR (fo-dicom GH179A writes "  "); with zero reserved bytes
 * the 32-bit form and UN. */
static void test_unknown_vr(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds;
	td b;

	(void)state;
	opts(&o);
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	td_elem(&b, T_PIXEL_PADDING, "  ", "\1\0", 2);
	td_raw(&b, "\x09\x00\x01\x10" "ZZ\0\0" "\3\0\0\0" "abc", 15);
	td_us(&b, 0x00291000, 9);
	ds = read_td(&b, &o);
	assert_int_equal(pacs_elem_vr(find(ds, T_PIXEL_PADDING)), PACS_VR_US);
	assert_int_equal(pacs_elem_flags(find(ds, T_PIXEL_PADDING)), PACS_ELEM_IMPLICIT_VR);
	assert_value(find(ds, T_PIXEL_PADDING), "\1\0", 2);
	assert_int_equal(pacs_elem_vr(find(ds, 0x00091001)), PACS_VR_UN);
	assert_value(find(ds, 0x00091001), "abc", 3);
	assert_uint(ds, 0x00291000, 9);
	pacs_ds_free(ds);
	td_free(&b);
}

/* Group lengths and data set trailing padding are ordinary elements. */
static void test_group_length_and_padding(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds;
	td b;

	(void)state;
	opts(&o);
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	td_ul(&b, 0x00080000, 18);
	td_str(&b, T_CHARSET, "CS", "ISO_IR 100");
	td_elem(&b, T_PIXEL, "OW", "\1\2", 2);
	td_elem(&b, T_PADDING, "OB", "\0\0\0\0", 4);
	ds = read_td(&b, &o);
	assert_uint(ds, 0x00080000, 18);
	assert_int_equal(pacs_elem_vr(find(ds, T_PADDING)), PACS_VR_OB);
	assert_int_equal(pacs_elem_length(find(ds, T_PADDING)), 4);
	pacs_ds_free(ds);
	td_free(&b);
}

/* ---- encapsulated pixel data and bulk ---- */

static void build_encapsulated(td *b, const char *ts)
{
	static const uint8_t f1[6] = { 0xFF, 0xD8, 1, 2, 0xFF, 0xD9 };
	static const uint8_t f2[5] = { 9, 8, 7, 6, 5 }; /* odd fragment */
	static const uint8_t bot[8] = { 0, 0, 0, 0, 14, 0, 0, 0 };

	td_preamble(b, 0);
	td_meta(b, ts);
	td_us(b, T_ROWS, 2);
	td_header(b, T_PIXEL, "OB", PACS_UNDEFINED_LENGTH);
	td_item(b, 8);
	td_raw(b, bot, 8);
	td_item(b, 6);
	td_raw(b, f1, 6);
	td_item(b, 5);
	td_raw(b, f2, 5);
	td_seq_delim(b);
	td_elem(b, T_PADDING, "OB", "\0\0", 2);
}

static void test_encapsulated_held(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds;
	const pacs_elem *e;
	const uint8_t *f;
	uint32_t len;
	td b;

	(void)state;
	opts(&o);
	td_init(&b, TD_EXPLICIT_LE);
	build_encapsulated(&b, PACS_TS_JPEG_BASELINE);
	ds = read_td(&b, &o);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_JPEG_BASELINE);
	e = find(ds, T_PIXEL);
	assert_int_equal(pacs_elem_flags(e), PACS_ELEM_ENCAPSULATED | PACS_ELEM_UNDEF_LENGTH);
	assert_int_equal(pacs_elem_length(e), PACS_UNDEFINED_LENGTH);
	assert_int_equal(pacs_elem_vr(e), PACS_VR_OB);
	assert_int_equal(pacs_elem_fragment_count(e), 3);
	f = pacs_elem_fragment(e, 0, &len);
	assert_int_equal(len, 8);
	assert_int_equal(f[4], 14);
	f = pacs_elem_fragment(e, 1, &len);
	assert_int_equal(len, 6);
	assert_int_equal(f[0], 0xFF);
	assert_int_equal(f[5], 0xD9);
	f = pacs_elem_fragment(e, 2, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(f, "\x09\x08\x07\x06\x05", 5);
	assert_non_null(find(ds, T_PADDING));
	pacs_ds_free(ds);
	td_free(&b);

	/* An unknown transfer syntax: Explicit VR LE, encapsulated (PS3.5 A.4). */
	td_init(&b, TD_EXPLICIT_LE);
	build_encapsulated(&b, "1.2.3.4.5.6.7");
	ds = read_td(&b, &o);
	assert_string_equal(pacs_ds_source_ts(ds), "1.2.3.4.5.6.7");
	assert_int_equal(pacs_elem_fragment_count(find(ds, T_PIXEL)), 3);
	pacs_ds_free(ds);
	td_free(&b);
}

static void test_encapsulated_bulk(void **state)
{
	pacs_read_opts o;
	bulk_rec rec = { 0 };
	pacs_ds *ds;
	const pacs_elem *e;
	td b;

	(void)state;
	opts(&o);
	o.bulk_threshold = 1000; /* encapsulated goes to bulk whatever its size */
	td_init(&b, TD_EXPLICIT_LE);
	build_encapsulated(&b, PACS_TS_JPEG_BASELINE);
	for (size_t chunk = 1; chunk <= 7; chunk += 3) {
		ds = read_bulk(&b, &o, &rec, chunk);
		assert_string_equal(rec.log, "B(7FE0,0010)OB F0:8 D F1:6 D F2:5 D E ");
		assert_int_equal(rec.len, 8 + 6 + 5);
		assert_memory_equal(rec.data + 8, "\xFF\xD8\x01\x02\xFF\xD9\x09\x08\x07\x06\x05", 11);
		e = find(ds, T_PIXEL);
		assert_int_equal(pacs_elem_flags(e),
				 PACS_ELEM_ENCAPSULATED | PACS_ELEM_UNDEF_LENGTH | PACS_ELEM_BULK);
		assert_int_equal(pacs_elem_fragment_count(e), 0);
		/* The padding after it is below the threshold: held. */
		assert_int_equal(pacs_elem_flags(find(ds, T_PADDING)), 0);
		pacs_ds_free(ds);
		rec_free(&rec);
	}
	td_free(&b);
}

static void test_native_bulk(void **state)
{
	pacs_read_opts o;
	bulk_rec rec = { 0 };
	pacs_ds *ds;
	uint8_t ow[1001], ow_le[1001], of[28], of_le[28];
	td b;

	(void)state;
	for (size_t i = 0; i < sizeof(ow); i++)
		ow[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i + 1 < sizeof(ow); i += 2) {
		ow_le[i] = ow[i + 1];
		ow_le[i + 1] = ow[i];
	}
	ow_le[1000] = ow[1000];
	for (size_t i = 0; i < sizeof(of); i++)
		of[i] = (uint8_t)(200 - i);
	for (size_t i = 0; i < sizeof(of); i += 4)
		for (size_t k = 0; k < 4; k++)
			of_le[i + k] = of[i + 3 - k];
	for (int enc = TD_EXPLICIT_LE; enc <= TD_EXPLICIT_BE; enc++) {
		bool be = enc == TD_EXPLICIT_BE;

		opts(&o);
		o.bulk_threshold = 20;
		td_init(&b, (td_enc)enc);
		td_preamble(&b, 0);
		td_meta(&b, be ? PACS_TS_EXPLICIT_BE : PACS_TS_EXPLICIT_LE);
		td_str(&b, 0x00081030, "LO", "a long string value, not bulk-capable");
		td_elem(&b, 0x00091001, "OB", "\1\2\3", 3); /* under the threshold */
		td_elem(&b, 0x00283006, "OF", of, sizeof(of));
		td_elem(&b, T_PIXEL, "OW", ow, sizeof(ow));
		for (size_t chunk = 1; chunk <= 13; chunk += 6) {
			ds = read_bulk(&b, &o, &rec, chunk);
			assert_string_equal(rec.log, "B(0028,3006)OF D E B(7FE0,0010)OW D E ");
			assert_int_equal(rec.len, sizeof(of) + sizeof(ow));
			assert_memory_equal(rec.data, be ? of_le : of, sizeof(of));
			assert_memory_equal(rec.data + sizeof(of), be ? ow_le : ow, sizeof(ow));
			assert_int_equal(pacs_elem_flags(find(ds, T_PIXEL)), PACS_ELEM_BULK);
			assert_int_equal(pacs_elem_length(find(ds, T_PIXEL)), sizeof(ow));
			assert_int_equal(pacs_elem_flags(find(ds, 0x00081030)), 0);
			assert_value(find(ds, 0x00091001), "\1\2\3", 3);
			pacs_ds_free(ds);
			rec_free(&rec);
		}
		/* A callback error stops the reader with its code. */
		rec.fail_at = 3;
		o.bulk_fn = bulk_cb;
		o.bulk_ctx = &rec;
		assert_int_equal(read_chunks(b.buf, b.len, &o, 0, &ds), ARCA_ECANCELLED);
		assert_non_null(strstr(arca_error_last(), "stop requested by test"));
		assert_non_null(strstr(arca_error_last(), "(0028,3006)"));
		rec_free(&rec);
		td_free(&b);
	}
}

/* Metadata-only reading: bulk values are skipped, can be skipped by the
 * caller, and are recorded as bulk elements. */
static void test_skip(void **state)
{
	pacs_read_opts o;
	pacs_reader *r;
	pacs_ds *ds;
	uint8_t big[4000] = { 0 };
	size_t pix_value;
	td b;

	(void)state;
	opts(&o);
	o.bulk_threshold = 256;
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	/* More than the 64 bytes the reader looks at before it parses. */
	td_str(&b, 0x00081030, "LO", "a study description that is long enough");
	td_str(&b, T_PATIENT_NAME, "PN", "Skip^Me");
	td_us(&b, T_ROWS, 4);
	td_elem(&b, T_PIXEL, "OW", big, sizeof(big));
	pix_value = b.len - sizeof(big);
	td_elem(&b, T_PADDING, "OB", "\0\0", 2);
	ds = read_td(&b, &o);
	assert_int_equal(pacs_elem_flags(find(ds, T_PIXEL)), PACS_ELEM_BULK);
	assert_int_equal(pacs_elem_length(find(ds, T_PIXEL)), sizeof(big));
	assert_null(pacs_elem_value(find(ds, T_PIXEL), &(uint32_t){ 0 }));
	assert_non_null(find(ds, T_PADDING));
	pacs_ds_free(ds);

	/* The caller skips: feed up to 10 bytes into the value, skip the rest. */
	assert_int_equal(pacs_reader_new(&r, &o), 0);
	assert_int_equal(pacs_reader_skippable(r), 0);
	assert_int_equal(pacs_reader_feed(r, b.buf, pix_value + 10), 0);
	assert_int_equal(pacs_reader_skippable(r), sizeof(big) - 10);
	assert_int_equal(pacs_reader_skip(r, sizeof(big)), ARCA_EINVAL);
	assert_int_equal(pacs_reader_skip(r, 100), 0);
	assert_int_equal(pacs_reader_offset(r), pix_value + 110);
	assert_int_equal(pacs_reader_skip(r, sizeof(big) - 110), 0);
	assert_int_equal(pacs_reader_skippable(r), 0);
	assert_int_equal(pacs_reader_offset(r), pix_value + sizeof(big));
	assert_int_equal(pacs_reader_feed(r, b.buf + pix_value + sizeof(big), b.len - pix_value - sizeof(big)), 0);
	assert_int_equal(pacs_reader_offset(r), b.len);
	assert_int_equal(pacs_reader_finish(r, &ds), 0);
	assert_int_equal(pacs_elem_flags(find(ds, T_PIXEL)), PACS_ELEM_BULK);
	assert_non_null(find(ds, T_PADDING));
	pacs_ds_free(ds);
	pacs_reader_free(r);

	/* Skipping past the end: truncated. */
	assert_int_equal(pacs_reader_new(&r, &o), 0);
	assert_int_equal(pacs_reader_feed(r, b.buf, pix_value), 0);
	assert_int_equal(pacs_reader_skip(r, 100), 0);
	assert_int_equal(pacs_reader_finish(r, &ds), ARCA_ETRUNCATED);
	assert_null(ds);
	pacs_reader_free(r);
	td_free(&b);
}

static void test_stop_at_pixel_data(void **state)
{
	pacs_read_opts o;
	pacs_reader *r;
	pacs_ds *ds;
	size_t pix;
	td b;
	td_mark sq, it;

	(void)state;
	opts(&o);
	o.stop_at_pixel_data = 1;
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	td_us(&b, T_ROWS, 4);
	sq = td_seq_begin(&b, 0x00880200, true); /* an icon inside: not a stop */
	it = td_item_begin(&b, true);
	td_elem(&b, T_PIXEL, "OB", "\1\2", 2);
	td_item_end(&b, it);
	td_seq_end(&b, sq);
	pix = b.len;
	td_elem(&b, T_PIXEL, "OW", "\1\2\3\4", 4);
	td_elem(&b, T_PADDING, "OB", "\0\0", 2);
	ds = read_td(&b, &o);
	assert_null(pacs_ds_find(ds, T_PIXEL));
	assert_null(pacs_ds_find(ds, T_PADDING));
	assert_non_null(pacs_ds_find(pacs_elem_item(find(ds, 0x00880200), 0), T_PIXEL));
	pacs_ds_free(ds);

	for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
		size_t i = 0;
		assert_int_equal(pacs_reader_new(&r, &o), 0);
		while (i < b.len && !pacs_reader_done(r)) {
			size_t k = chunk < b.len - i ? chunk : b.len - i;
			assert_int_equal(pacs_reader_feed(r, b.buf + i, k), 0);
			i += k;
		}
		assert_true(pacs_reader_done(r));
		assert_int_equal(pacs_reader_offset(r), pix);
		assert_int_equal(pacs_reader_feed(r, (const uint8_t *)"junk", 4), 0);
		assert_int_equal(pacs_reader_finish(r, &ds), 0);
		assert_uint(ds, T_ROWS, 4);
		assert_null(pacs_ds_find(ds, T_PIXEL));
		pacs_ds_free(ds);
		pacs_reader_free(r);
	}
	td_free(&b);
}

/* ---- deflate ---- */

static void raw_deflate(const uint8_t *in, size_t n, td *out)
{
	z_stream zs;
	uint8_t buf[4096];
	int zrc;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = buf;
		zs.avail_out = sizeof(buf);
		zrc = deflate(&zs, Z_FINISH);
		assert_true(zrc == Z_OK || zrc == Z_STREAM_END);
		td_raw(out, buf, sizeof(buf) - zs.avail_out);
	} while (zrc != Z_STREAM_END);
	deflateEnd(&zs);
}

static void test_deflated(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds, *plain;
	td set, b, p;
	char *c0, *c1;

	(void)state;
	opts(&o);
	td_init(&set, TD_EXPLICIT_LE);
	build_nested(&set, true, false);
	for (int i = 0; i < 200; i++)
		td_str(&set, PACS_TAG(0x0011, 0x1000 + i), "LO", "compressible compressible compressible");
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_DEFLATED_LE);
	raw_deflate(set.buf, set.len, &b);
	assert_true(b.len < set.len);
	ds = read_td(&b, &o);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_DEFLATED_LE);
	assert_str(ds, T_PATIENT_NAME, "Nest^Ed");
	assert_str(ds, PACS_TAG(0x0011, 0x10C7), "compressible compressible compressible");

	/* Same elements as the plain data set (offsets are in the inflated
	 * stream, which continues the meta group's). */
	td_init(&p, TD_EXPLICIT_LE);
	td_preamble(&p, 0);
	td_meta(&p, PACS_TS_DEFLATED_LE);
	td_raw(&p, set.buf, set.len);
	o.input = PACS_INPUT_AUTO;
	{
		/* Read the plain bytes as if inflated, via the DATASET input. */
		pacs_read_opts od;
		opts(&od);
		od.input = PACS_INPUT_DATASET;
		od.ts_uid = PACS_TS_EXPLICIT_LE;
		plain = read_all_ways(set.buf, set.len, &od);
	}
	assert_int_equal(pacs_ds_count(ds), pacs_ds_count(plain) + 6);
	assert_int_equal(pacs_elem_offset(find(ds, T_PATIENT_NAME)), p.len - set.len);
	for (size_t i = 0; i < pacs_ds_count(plain); i++) {
		const pacs_elem *e = pacs_ds_at(plain, i), *f = pacs_ds_at(ds, i + 6);
		assert_int_equal(pacs_elem_tag(e), pacs_elem_tag(f));
		assert_int_equal(pacs_elem_length(e), pacs_elem_length(f));
		assert_int_equal(pacs_elem_offset(e) + p.len - set.len, pacs_elem_offset(f));
	}
	c0 = td_canon(pacs_elem_item(find(ds, T_REF_IMAGE_SEQ), 1));
	c1 = td_canon(pacs_elem_item(find(plain, T_REF_IMAGE_SEQ), 1));
	assert_non_null(strstr(c0, "(0008,1155) UI f0 l6"));
	assert_non_null(strstr(c1, "(0008,1155) UI f0 l6"));
	free(c0);
	free(c1);
	pacs_ds_free(plain);
	pacs_ds_free(ds);

	/* A deflated data set given directly (network). */
	{
		pacs_read_opts od;
		td z;
		opts(&od);
		od.input = PACS_INPUT_DATASET;
		od.ts_uid = PACS_TS_DEFLATED_LE;
		td_init(&z, TD_EXPLICIT_LE);
		raw_deflate(set.buf, set.len, &z);
		ds = read_all_ways(z.buf, z.len, &od);
		assert_str(ds, T_PATIENT_NAME, "Nest^Ed");
		pacs_ds_free(ds);
		/* Cut short: truncated. */
		z.len -= 5;
		assert_int_equal(read_err(&z, &od), ARCA_ETRUNCATED);
		/* Corrupt: a block type of 3 does not exist (RFC 1951 3.2.3). */
		z.buf[0] = 0x07;
		z.len += 5;
		assert_int_equal(read_err(&z, &od), ARCA_EPROTO);
		td_free(&z);
	}
	td_free(&p);
	td_free(&b);
	td_free(&set);
}

static void test_deflate_bomb(void **state)
{
	pacs_read_opts o;
	td set, b;
	uint8_t *zeros;
	const size_t n = 8u * 1024 * 1024;

	(void)state;
	opts(&o);
	o.max_inflated = 1024 * 1024;
	zeros = calloc(1, n);
	assert_non_null(zeros);
	td_init(&set, TD_EXPLICIT_LE);
	td_str(&set, T_PATIENT_NAME, "PN", "Bomb");
	td_header(&set, 0x00091001, "OB", (uint32_t)n);
	td_raw(&set, zeros, n);
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_DEFLATED_LE);
	raw_deflate(set.buf, set.len, &b);
	assert_true(b.len < 64 * 1024);
	assert_int_equal(read_err(&b, &o), ARCA_ELIMIT);
	assert_non_null(strstr(arca_error_last(), "max_inflated"));
	/* With enough room it reads. */
	o.max_inflated = 16 * 1024 * 1024;
	{
		pacs_ds *ds = NULL;
		assert_int_equal(read_chunks(b.buf, b.len, &o, 0, &ds), 0);
		assert_int_equal(pacs_elem_length(find(ds, 0x00091001)), n);
		pacs_ds_free(ds);
	}
	free(zeros);
	td_free(&set);
	td_free(&b);
}

/* ---- input forms ---- */

static void test_meta_variants(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds;
	td b;

	(void)state;
	opts(&o);
	/* Meta group at offset 0, no preamble. */
	td_init(&b, TD_IMPLICIT_LE);
	td_meta(&b, PACS_TS_IMPLICIT_LE);
	td_str(&b, T_PATIENT_NAME, NULL, "No^Preamble");
	ds = read_td(&b, &o);
	assert_null(pacs_ds_preamble(ds));
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_IMPLICIT_LE);
	assert_str(ds, T_PATIENT_NAME, "No^Preamble");
	assert_int_equal(pacs_elem_offset(pacs_ds_at(ds, 0)), 0);
	pacs_ds_free(ds);
	td_free(&b);

	/* Wrong group lengths (too short, too long) and none at all: the
	 * meta group ends where group 0002 ends. */
	for (int variant = 0; variant < 3; variant++) {
		td_init(&b, TD_IMPLICIT_LE);
		td_preamble(&b, 0);
		td_meta(&b, PACS_TS_IMPLICIT_LE);
		if (variant == 0) {
			b.buf[132 + 8] = 10;
		} else if (variant == 1) {
			b.buf[132 + 8] = 0xF0;
			b.buf[132 + 9] = 0x10;
		} else {
			memmove(b.buf + 132, b.buf + 144, b.len - 144);
			b.len -= 12;
		}
		td_str(&b, T_PATIENT_NAME, NULL, "Length^Wrong");
		td_us(&b, T_ROWS, 3);
		ds = read_td(&b, &o);
		assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_IMPLICIT_LE);
		assert_str(ds, T_PATIENT_NAME, "Length^Wrong");
		assert_int_equal(pacs_elem_vr(find(ds, T_ROWS)), PACS_VR_US);
		pacs_ds_free(ds);
		td_free(&b);
	}

	/* No transfer syntax in the meta group: probed. */
	td_init(&b, TD_EXPLICIT_BE);
	td_preamble(&b, 0);
	td_meta(&b, NULL);
	td_str(&b, T_PATIENT_NAME, "PN", "Probe^Be");
	td_us(&b, T_ROWS, 0x0102);
	ds = read_td(&b, &o);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_EXPLICIT_BE);
	assert_uint(ds, T_ROWS, 0x0102);
	pacs_ds_free(ds);
	td_free(&b);

	/* A data set whose encoding is not the one its meta group names
	 * (DCMTK reads these too): the bytes win, the tree says so. */
	for (int enc = 0; enc < 2; enc++) {
		td_init(&b, enc ? TD_EXPLICIT_LE : TD_IMPLICIT_LE);
		td_preamble(&b, 0);
		td_meta(&b, enc ? PACS_TS_IMPLICIT_LE : PACS_TS_EXPLICIT_LE);
		td_str(&b, T_CHARSET, "CS", "ISO_IR 100");
		td_str(&b, T_PATIENT_NAME, "PN", "Mis^Labelled");
		td_us(&b, T_ROWS, 9);
		ds = read_td(&b, &o);
		assert_string_equal(pacs_ds_source_ts(ds), enc ? PACS_TS_EXPLICIT_LE : PACS_TS_IMPLICIT_LE);
		assert_str(ds, PACS_TAG_TRANSFER_SYNTAX, enc ? PACS_TS_IMPLICIT_LE : PACS_TS_EXPLICIT_LE);
		assert_str(ds, T_PATIENT_NAME, "Mis^Labelled");
		assert_uint(ds, T_ROWS, 9);
		pacs_ds_free(ds);
		td_free(&b);
	}

	/* A meta group written in Implicit VR by an old writer. */
	td_init(&b, TD_IMPLICIT_LE);
	td_preamble(&b, 0);
	td_ul(&b, 0x00020000, 8 + 18);
	td_str(&b, PACS_TAG_TRANSFER_SYNTAX, NULL, PACS_TS_IMPLICIT_LE);
	td_str(&b, T_PATIENT_NAME, NULL, "Old^Meta");
	ds = read_td(&b, &o);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_IMPLICIT_LE);
	assert_int_equal(pacs_elem_vr(find(ds, PACS_TAG_TRANSFER_SYNTAX)), PACS_VR_UI);
	assert_str(ds, T_PATIENT_NAME, "Old^Meta");
	pacs_ds_free(ds);
	td_free(&b);

	/* Only a meta group. */
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	ds = read_td(&b, &o);
	assert_int_equal(pacs_ds_count(ds), 6);
	pacs_ds_free(ds);
	td_free(&b);
}

static void test_bare_datasets(void **state)
{
	pacs_read_opts o;

	(void)state;
	opts(&o);
	for (int enc = 0; enc < 3; enc++) {
		for (int stray = 0; stray < 2; stray++) {
			pacs_ds *ds;
			td b;

			td_init(&b, (td_enc)enc);
			if (stray)
				td_raw(&b, " ", 1);
			td_str(&b, T_CHARSET, "CS", "ISO_IR 100");
			td_str(&b, T_PATIENT_NAME, "PN", "Bare^Set");
			td_us(&b, T_ROWS, 0x0203);
			ds = read_td(&b, &o);
			assert_null(pacs_ds_preamble(ds));
			assert_string_equal(pacs_ds_source_ts(ds),
					    enc == TD_IMPLICIT_LE ? PACS_TS_IMPLICIT_LE
					    : enc == TD_EXPLICIT_LE ? PACS_TS_EXPLICIT_LE : PACS_TS_EXPLICIT_BE);
			assert_str(ds, T_PATIENT_NAME, "Bare^Set");
			assert_uint(ds, T_ROWS, 0x0203);
			assert_int_equal(pacs_elem_offset(pacs_ds_at(ds, 0)), stray);
			pacs_ds_free(ds);
			td_free(&b);
		}
	}
}

static void test_input_modes(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds;
	td b;

	(void)state;
	/* DATASET with a transfer syntax: no probing, no meta. */
	opts(&o);
	o.input = PACS_INPUT_DATASET;
	o.ts_uid = PACS_TS_IMPLICIT_LE;
	td_init(&b, TD_IMPLICIT_LE);
	td_str(&b, T_PATIENT_NAME, NULL, "Net^Work");
	ds = read_td(&b, &o);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_IMPLICIT_LE);
	assert_str(ds, T_PATIENT_NAME, "Net^Work");
	pacs_ds_free(ds);
	/* An empty data set is a data set. */
	assert_int_equal(read_chunks(b.buf, 0, &o, 0, &ds), 0);
	assert_int_equal(pacs_ds_count(ds), 0);
	pacs_ds_free(ds);
	td_free(&b);

	/* PART10 refuses a bare data set; AUTO refuses an empty input. */
	opts(&o);
	o.input = PACS_INPUT_PART10;
	td_init(&b, TD_EXPLICIT_LE);
	for (int i = 0; i < 20; i++)
		td_str(&b, PACS_TAG(0x0010, 0x0010 + i), "LO", "some value");
	assert_int_equal(read_err(&b, &o), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "DICM"));
	opts(&o);
	assert_int_equal(read_chunks(b.buf, 0, &o, 0, &ds), ARCA_ETRUNCATED);
	td_free(&b);

	/* A transfer syntax UID longer than a UID. */
	opts(&o);
	o.input = PACS_INPUT_DATASET;
	o.ts_uid = "1.2.840.10008.1.2.1.1234567890123456789012345678901234567890123456789012345678901234567890";
	{
		pacs_reader *r = NULL;
		assert_int_equal(pacs_reader_new(&r, &o), ARCA_EINVAL);
		assert_null(r);
	}
}

/* ---- files ---- */

static void write_tmp(char *path, const td *b)
{
	int fd;

	strcpy(path, "/tmp/pacs_read_test_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->buf, b->len), (ssize_t)b->len);
	close(fd);
}

/* pacs_read_file: lseek over skipped values (but never past the end of the
 * file), the same tree as the buffer reader, errors prefixed with the path. */
static void test_read_file(void **state)
{
	static uint8_t big[600000];
	pacs_read_opts o;
	pacs_ds *ds = NULL, *ref = NULL;
	char path[64], *c0, *c1;
	td b;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i >> 3);
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	for (int i = 0; i < 2000; i++) /* more than one read block of header */
		td_str(&b, PACS_TAG(0x0011, 0x1000 + i), "LO", "private text to make the header long");
	td_elem(&b, T_PIXEL, "OW", big, sizeof(big));
	td_elem(&b, T_PADDING, "OB", "\0\0", 2);
	write_tmp(path, &b);
	for (int meta = 0; meta < 2; meta++) {
		opts(&o);
		o.bulk_threshold = meta ? 256 : 0;
		assert_int_equal(pacs_read_file(&ds, path, &o), 0);
		assert_int_equal(read_chunks(b.buf, b.len, &o, 0, &ref), 0);
		c0 = td_canon(ds);
		c1 = td_canon(ref);
		assert_string_equal(c0, c1);
		assert_int_equal(pacs_elem_flags(find(ds, T_PIXEL)), meta ? PACS_ELEM_BULK : 0);
		assert_non_null(find(ds, T_PADDING));
		free(c0);
		free(c1);
		pacs_ds_free(ds);
		pacs_ds_free(ref);
	}
	unlink(path);

	/* Cut inside the skipped pixel data: truncated, with the path. */
	b.len -= 1000;
	write_tmp(path, &b);
	opts(&o);
	o.bulk_threshold = 256;
	assert_int_equal(pacs_read_file(&ds, path, &o), ARCA_ETRUNCATED);
	assert_null(ds);
	assert_true(strncmp(arca_error_last(), path, strlen(path)) == 0);
	assert_non_null(strstr(arca_error_last(), "(7FE0,0010)"));
	unlink(path);
	td_free(&b);

	/* stop_at_pixel_data reads no further. */
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	td_us(&b, T_ROWS, 3);
	td_header(&b, T_PIXEL, "OW", 1000000); /* the value is not even there */
	write_tmp(path, &b);
	opts(&o);
	o.stop_at_pixel_data = 1;
	assert_int_equal(pacs_read_file(&ds, path, &o), 0);
	assert_uint(ds, T_ROWS, 3);
	pacs_ds_free(ds);
	unlink(path);
	td_free(&b);

	assert_int_equal(pacs_read_file(&ds, "/nonexistent/arca.dcm", &o), ARCA_ENOTFOUND);
	assert_non_null(strstr(arca_error_last(), "/nonexistent/arca.dcm"));
	assert_int_equal(pacs_read_buffer(&ds, (const uint8_t *)"\x08\x00\x05\x00" "CS\0\0", 8, NULL), 0);
	assert_int_equal(pacs_ds_count(ds), 1);
	pacs_ds_free(ds);
}

/* ---- bad input ---- */

static void test_truncated(void **state)
{
	pacs_read_opts o;
	td b;
	size_t meta_end;
	td_mark sq, it;

	(void)state;
	opts(&o);
	td_init(&b, TD_EXPLICIT_LE);
	td_preamble(&b, 0);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	meta_end = b.len;
	td_str(&b, T_PATIENT_NAME, "PN", "Cut^Here");
	sq = td_seq_begin(&b, T_REF_IMAGE_SEQ, true);
	it = td_item_begin(&b, true);
	td_str(&b, T_REF_SOP_INSTANCE, "UI", "1.2.3");
	td_item_end(&b, it);
	td_seq_end(&b, sq);
	td_us(&b, T_ROWS, 1);
	/* Cut everywhere after the meta group: only a cut between top-level
	 * elements reads; every other cut is ETRUNCATED. */
	for (size_t cut = meta_end; cut < b.len; cut++) {
		pacs_ds *ds = NULL;
		int rc = read_chunks(b.buf, cut, &o, 0, &ds);
		bool boundary = cut == meta_end || cut == meta_end + 16 || cut == meta_end + 66;
		if (boundary) {
			assert_int_equal(rc, 0);
			pacs_ds_free(ds);
		} else {
			if (rc != ARCA_ETRUNCATED)
				fail_msg("cut at %zu: %d %s", cut, rc, arca_error_last());
			assert_null(ds);
			assert_non_null(strstr(arca_error_last(), "offset "));
		}
	}
	/* And anywhere at all, nothing worse than an error. */
	for (size_t cut = 0; cut < meta_end; cut++) {
		pacs_ds *ds = NULL;
		int rc = read_chunks(b.buf, cut, &o, 0, &ds);
		assert_true(rc == 0 || rc == ARCA_ETRUNCATED || rc == ARCA_EPROTO);
		pacs_ds_free(ds);
	}
	td_free(&b);
}

static void test_bad_lengths(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds;
	td b;

	(void)state;
	/* A length past the end of the input. */
	opts(&o);
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_PATIENT_NAME, "PN", 100);
	td_raw(&b, "short", 5);
	assert_int_equal(read_err(&b, &o), ARCA_ETRUNCATED);
	assert_non_null(strstr(arca_error_last(), "(0010,0010)"));
	td_free(&b);

	/* Lengths near 0xFFFFFFFF: refused before any allocation. */
	for (int k = 0; k < 3; k++) {
		static const uint32_t lens[3] = { 0xFFFFFFF0u, 0xFFFFFFFEu, 0x80000001u };
		uint32_t len = lens[k];
		opts(&o);
		td_init(&b, TD_EXPLICIT_LE);
		td_str(&b, T_CHARSET, "CS", "ISO_IR 100");
		td_header(&b, 0x00091001, "OB", len);
		td_raw(&b, "abcd", 4);
		assert_int_equal(read_err(&b, &o), ARCA_ELIMIT);
		assert_non_null(strstr(arca_error_last(), "offset 18: (0009,1001)"));
		assert_non_null(strstr(arca_error_last(), "max_value_length"));
		o.max_value_length = 1024;
		assert_int_equal(read_err(&b, &o), ARCA_ELIMIT);
		td_free(&b);
	}
	/* Same for implicit VR. */
	opts(&o);
	td_init(&b, TD_IMPLICIT_LE);
	td_str(&b, T_CHARSET, NULL, "ISO_IR 100");
	td_header(&b, T_PATIENT_NAME, NULL, 0xFFFFFFFEu);
	assert_int_equal(read_err(&b, &o), ARCA_ELIMIT);
	td_free(&b);

	/* max_total: the sum of held values. */
	opts(&o);
	o.max_total = 64 * 1024;
	td_init(&b, TD_EXPLICIT_LE);
	for (int i = 0; i < 40; i++) {
		uint8_t v[2000] = { 0 };
		td_elem(&b, PACS_TAG(0x0009, 0x1000 + i), "OB", v, sizeof(v));
	}
	assert_int_equal(read_err(&b, &o), ARCA_ELIMIT);
	assert_non_null(strstr(arca_error_last(), "max_total"));
	/* ... but bulk values are not held. */
	o.bulk_threshold = 1000;
	assert_int_equal(read_chunks(b.buf, b.len, &o, 0, &ds), 0);
	pacs_ds_free(ds);
	td_free(&b);

	/* A flood of empty elements is charged to max_total too. */
	opts(&o);
	o.max_total = 64 * 1024;
	td_init(&b, TD_IMPLICIT_LE);
	for (int i = 0; i < 20000; i++)
		td_header(&b, PACS_TAG(0x0009, 0x1000 + (i & 0x7FFF)), NULL, 0);
	assert_int_equal(read_err(&b, &o), ARCA_ELIMIT);
	td_free(&b);

	/* An element running past the end of its item: error, not clamped. */
	opts(&o);
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_REF_IMAGE_SEQ, "SQ", PACS_UNDEFINED_LENGTH);
	td_item(&b, 10);
	td_str(&b, T_REF_SOP_INSTANCE, "UI", "1.2.3.4.5");
	td_item_delim(&b);
	td_seq_delim(&b);
	assert_int_equal(read_err(&b, &o), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "offset 20: (0008,1155)"));
	assert_non_null(strstr(arca_error_last(), "crosses the end"));
	td_free(&b);

	/* An item running past the end of its sequence ends there
	 * (DICOMDIR-nooffset); its elements must still fit. */
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_REF_IMAGE_SEQ, "SQ", 8 + 14);
	td_item(&b, 40);
	td_str(&b, T_REF_SOP_INSTANCE, "UI", "1.2.3");
	td_us(&b, T_ROWS, 5);
	ds = read_td(&b, &o);
	assert_int_equal(pacs_elem_item_count(find(ds, T_REF_IMAGE_SEQ)), 1);
	assert_int_equal(pacs_ds_item_length(pacs_elem_item(find(ds, T_REF_IMAGE_SEQ), 0)), 40);
	assert_uint(ds, T_ROWS, 5);
	pacs_ds_free(ds);
	td_free(&b);

	/* Undefined length where it cannot be. */
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, 0x0040A160, "UT", PACS_UNDEFINED_LENGTH);
	assert_int_equal(read_err(&b, &o), ARCA_EPROTO);
	td_free(&b);
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_PIXEL, "OB", PACS_UNDEFINED_LENGTH);
	td_item(&b, PACS_UNDEFINED_LENGTH);
	assert_int_equal(read_err(&b, &o), ARCA_EPROTO);
	td_free(&b);
}

static void test_bad_structure(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds;
	td b;

	(void)state;
	opts(&o);
	/* An item tag where an element should be. */
	td_init(&b, TD_EXPLICIT_LE);
	td_str(&b, T_PATIENT_NAME, "PN", "A^B");
	td_item(&b, 0);
	assert_int_equal(read_err(&b, &o), ARCA_EPROTO);
	assert_string_equal(arca_error_last(), "offset 12: (FFFE,E000): item tag where a data element should be");
	td_free(&b);

	/* Delimiters out of place. */
	td_init(&b, TD_EXPLICIT_LE);
	td_item_delim(&b);
	assert_int_equal(read_err(&b, &o), ARCA_EPROTO);
	td_free(&b);
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_REF_IMAGE_SEQ, "SQ", 16);
	td_item(&b, 0);
	td_seq_delim(&b);
	assert_int_equal(read_err(&b, &o), ARCA_EPROTO);
	td_free(&b);
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_REF_IMAGE_SEQ, "SQ", PACS_UNDEFINED_LENGTH);
	td_us(&b, T_ROWS, 1);
	assert_int_equal(read_err(&b, &o), ARCA_EPROTO);
	assert_non_null(strstr(arca_error_last(), "where an item should be"));
	td_free(&b);

	/* Undefined-length sequence or item open at the end: truncated. */
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_REF_IMAGE_SEQ, "SQ", PACS_UNDEFINED_LENGTH);
	td_item(&b, PACS_UNDEFINED_LENGTH);
	td_us(&b, T_ROWS, 1);
	assert_int_equal(read_err(&b, &o), ARCA_ETRUNCATED);
	td_item_delim(&b);
	assert_int_equal(read_err(&b, &o), ARCA_ETRUNCATED);
	td_seq_delim(&b);
	ds = read_td(&b, &o);
	pacs_ds_free(ds);
	td_free(&b);

	/* Top-level encapsulated pixel data without its delimiter at the end
	 * of the input is accepted (fo-dicom GH1339); cut inside a fragment
	 * it is truncated. */
	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_PIXEL, "OB", PACS_UNDEFINED_LENGTH);
	td_item(&b, 0);
	td_item(&b, 4);
	td_raw(&b, "abcd", 4);
	ds = read_td(&b, &o);
	assert_int_equal(pacs_elem_fragment_count(find(ds, T_PIXEL)), 2);
	pacs_ds_free(ds);
	b.len -= 1;
	assert_int_equal(read_err(&b, &o), ARCA_ETRUNCATED);
	td_free(&b);

	/* After an error the reader refuses more input, with the same code. */
	{
		pacs_reader *r;
		pacs_read_opts od;
		opts(&od);
		od.input = PACS_INPUT_DATASET;
		od.ts_uid = PACS_TS_EXPLICIT_LE;
		td_init(&b, TD_EXPLICIT_LE);
		td_item(&b, 0);
		assert_int_equal(pacs_reader_new(&r, &od), 0);
		assert_int_equal(pacs_reader_feed(r, b.buf, b.len), ARCA_EPROTO);
		arca_error_clear();
		assert_int_equal(pacs_reader_feed(r, b.buf, b.len), ARCA_EPROTO);
		assert_non_null(strstr(arca_error_last(), "item tag"));
		assert_int_equal(pacs_reader_finish(r, &ds), ARCA_EPROTO);
		assert_null(ds);
		pacs_reader_free(r);
		td_free(&b);
	}
	/* finish twice */
	{
		pacs_reader *r;
		assert_int_equal(pacs_reader_new(&r, &o), 0);
		assert_int_equal(pacs_reader_feed(r, (const uint8_t *)"\x08\x00\x05\x00" "CS\0\0", 8), 0);
		assert_int_equal(pacs_reader_finish(r, &ds), 0);
		pacs_ds_free(ds);
		assert_int_equal(pacs_reader_finish(r, &ds), ARCA_EINVAL);
		assert_int_equal(pacs_reader_feed(r, (const uint8_t *)"x", 1), ARCA_EINVAL);
		pacs_reader_free(r);
	}
}

/* 10,000 nested sequences: refused at max_depth without deep recursion;
 * with max_depth raised the reader (which keeps nesting in an array)
 * reads it. */
static void test_deep_nesting(void **state)
{
	pacs_read_opts o;
	pacs_ds *ds;
	td b;

	(void)state;
	for (int enc = 0; enc < 2; enc++) {
		td_init(&b, enc ? TD_EXPLICIT_LE : TD_IMPLICIT_LE);
		for (int i = 0; i < 10000; i++) {
			td_header(&b, T_CONTENT_SEQ, "SQ", PACS_UNDEFINED_LENGTH);
			td_item(&b, PACS_UNDEFINED_LENGTH);
		}
		for (int i = 0; i < 10000; i++) {
			td_item_delim(&b);
			td_seq_delim(&b);
		}
		opts(&o);
		assert_int_equal(read_err(&b, &o), ARCA_ELIMIT);
		assert_non_null(strstr(arca_error_last(), "max_depth"));
		o.max_depth = 20000;
		assert_int_equal(read_chunks(b.buf, b.len, &o, 0, &ds), 0);
		assert_int_equal(pacs_ds_count(ds), 1);
		pacs_ds_free(ds);
		td_free(&b);
	}
}

static void test_garbage(void **state)
{
	pacs_read_opts o;
	uint32_t seed = 42;
	uint8_t buf[2048];

	(void)state;
	for (int round = 0; round < 300; round++) {
		size_t n = 1 + rnd_next(&seed) % sizeof(buf);
		pacs_ds *ds = NULL;
		int rc;

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd_next(&seed);
		if (round % 3 == 1) { /* plausible start, garbage after */
			memcpy(buf, "\x08\x00\x05\x00" "CS\x02\x00" "AB", 10 < n ? 10 : n);
		} else if (round % 3 == 2 && n > 140) {
			memcpy(buf + 128, "DICM", 4);
		}
		opts(&o);
		o.max_total = 1 << 20;
		o.max_value_length = 1 << 16;
		o.bulk_threshold = round % 2 ? 64 : 0;
		rc = read_chunks(buf, n, &o, 0, &ds);
		assert_true(rc <= 0);
		if (rc == 0)
			pacs_ds_free(ds);
		else
			assert_null(ds);
		rc = read_chunks(buf, n, &o, 1 + round % 5, &ds);
		if (rc == 0)
			pacs_ds_free(ds);
	}
	/* Plain garbage is not DICOM. */
	memset(buf, 0xEE, 256);
	opts(&o);
	{
		pacs_ds *ds = NULL;
		assert_int_equal(read_chunks(buf, 256, &o, 0, &ds), ARCA_EPROTO);
		assert_non_null(strstr(arca_error_last(), "not DICOM"));
	}
}

/* ---- sample files ---- */

typedef struct sample_list {
	char **paths;
	size_t n, cap;
} sample_list;

static void walk(sample_list *l, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(l, path);
		} else if (S_ISREG(st.st_mode)) {
			if (l->n == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 64;
				l->paths = realloc(l->paths, l->cap * sizeof(char *));
				assert_non_null(l->paths);
			}
			l->paths[l->n++] = strdup(path);
		}
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	*n = fread(buf, 1, (size_t)len, f);
	fclose(f);
	return buf;
}

static const char *samples_dir(void)
{
	const char *dir = getenv("ARCA_SAMPLES");
	struct stat st;

	if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return dir;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_samples_all(void **state)
{
	const char *dir = samples_dir();
	sample_list l = { 0 };
	size_t parsed = 0;

	(void)state;
	if (dir == NULL)
		skip();
	walk(&l, dir);
	qsort(l.paths, l.n, sizeof(char *), cmp_str);
	assert_true(l.n > 0);
	for (size_t i = 0; i < l.n; i++) {
		pacs_read_opts o, meta;
		pacs_ds *ds = NULL, *other = NULL;
		size_t n;
		uint8_t *buf = slurp(l.paths[i], &n);
		char *c0, *c1;
		int rc;

		opts(&o);
		rc = read_chunks(buf, n, &o, 0, &ds);
		if (ends_with(l.paths[i], "pydicom/MR_truncated.dcm")) {
			/* Marked broken: cut inside its pixel data. */
			assert_int_equal(rc, ARCA_ETRUNCATED);
			assert_int_equal(pacs_read_file(&ds, l.paths[i], &o), ARCA_ETRUNCATED);
			assert_non_null(strstr(arca_error_last(), "MR_truncated.dcm: offset "));
			pacs_read_opts_init(&meta);
			meta.bulk_threshold = 256;
			assert_int_equal(pacs_read_file(&ds, l.paths[i], &meta), ARCA_ETRUNCATED);
			free(buf);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %d %s", l.paths[i], rc, arca_error_last());
		c0 = td_canon(ds);
		/* Byte by byte and in random pieces. */
		assert_int_equal(read_chunks(buf, n, &o, 1, &other), 0);
		c1 = td_canon(other);
		if (strcmp(c0, c1) != 0)
			fail_msg("%s: byte-by-byte read differs", l.paths[i]);
		free(c1);
		pacs_ds_free(other);
		for (uint32_t seed = 1; seed <= 2; seed++) {
			assert_int_equal(read_random(buf, n, &o, seed * 7919u + (uint32_t)i, seed == 1 ? 300 : 70000,
						     &other), 0);
			c1 = td_canon(other);
			if (strcmp(c0, c1) != 0)
				fail_msg("%s: random-split read differs", l.paths[i]);
			free(c1);
			pacs_ds_free(other);
		}
		/* The file reader gives the same tree. */
		assert_int_equal(pacs_read_file(&other, l.paths[i], &o), 0);
		c1 = td_canon(other);
		assert_string_equal(c0, c1);
		free(c1);
		pacs_ds_free(other);
		/* Metadata only: the same elements, bulk ones not held; file
		 * (with lseek) and buffer agree. */
		pacs_read_opts_init(&meta);
		meta.bulk_threshold = 256;
		if ((rc = pacs_read_file(&other, l.paths[i], &meta)) != 0)
			fail_msg("%s (metadata only): %d %s", l.paths[i], rc, arca_error_last());
		c1 = td_canon(other);
		pacs_ds_free(other);
		assert_int_equal(read_random(buf, n, &meta, 99, 5000, &other), 0);
		{
			char *c2 = td_canon(other);
			assert_string_equal(c1, c2);
			free(c2);
		}
		assert_int_equal(pacs_ds_count(other), pacs_ds_count(ds));
		pacs_ds_free(other);
		free(c1);
		free(c0);
		pacs_ds_free(ds);
		free(buf);
		parsed++;
	}
	assert_true(parsed + 1 == l.n);
	print_message("%zu sample files read whole, split and metadata-only\n", parsed);
	for (size_t i = 0; i < l.n; i++)
		free(l.paths[i]);
	free(l.paths);
}

static pacs_ds *read_sample(const char *rel, const pacs_read_opts *o)
{
	char path[4096];
	pacs_ds *ds = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", samples_dir(), rel);
	rc = pacs_read_file(&ds, path, o);
	if (rc != 0)
		fail_msg("%s: %d %s", rel, rc, arca_error_last());
	return ds;
}

static void test_samples_values(void **state)
{
	pacs_read_opts o;
	pacs_ds *ct, *nometa, *mr, *mr_be, *mr_im, *ds;
	const uint8_t *a, *b;
	uint32_t alen, blen;
	char *c;

	(void)state;
	if (samples_dir() == NULL)
		skip();
	opts(&o);
	ct = read_sample("pydicom/CT_small.dcm", &o);
	assert_string_equal(pacs_ds_source_ts(ct), PACS_TS_EXPLICIT_LE);
	assert_non_null(pacs_ds_preamble(ct));
	assert_str(ct, T_PATIENT_NAME, "CompressedSamples^CT1");
	assert_uint(ct, T_ROWS, 128);
	assert_uint(ct, T_COLUMNS, 128);
	assert_int_equal(pacs_elem_length(find(ct, T_PIXEL)), 128 * 128 * 2);

	/* no_meta.dcm is CT_small's data set after one stray byte. */
	nometa = read_sample("pydicom/no_meta.dcm", &o);
	assert_string_equal(pacs_ds_source_ts(nometa), PACS_TS_EXPLICIT_LE);
	assert_null(pacs_ds_preamble(nometa));
	assert_int_equal(pacs_elem_offset(pacs_ds_at(nometa, 0)), 1);
	for (size_t i = 0; i < pacs_ds_count(nometa); i++) {
		const pacs_elem *e = pacs_ds_at(nometa, i);
		const pacs_elem *f = find(ct, pacs_elem_tag(e));
		assert_int_equal(pacs_elem_vr(e), pacs_elem_vr(f));
		assert_int_equal(pacs_elem_length(e), pacs_elem_length(f));
		a = pacs_elem_value(e, &alen);
		b = pacs_elem_value(f, &blen);
		assert_int_equal(alen, blen);
		if (alen > 0)
			assert_memory_equal(a, b, alen);
	}
	assert_int_equal(pacs_ds_count(nometa) + 8, pacs_ds_count(ct)); /* 8 meta elements */

	/* The same MR in three encodings: equal values once swapped. */
	mr = read_sample("pydicom/MR_small.dcm", &o);
	mr_be = read_sample("pydicom/MR_small_bigendian.dcm", &o);
	mr_im = read_sample("pydicom/MR_small_implicit.dcm", &o);
	assert_string_equal(pacs_ds_source_ts(mr_be), PACS_TS_EXPLICIT_BE);
	assert_string_equal(pacs_ds_source_ts(mr_im), PACS_TS_IMPLICIT_LE);
	a = pacs_elem_value(find(mr, T_PIXEL), &alen);
	b = pacs_elem_value(find(mr_be, T_PIXEL), &blen);
	assert_int_equal(alen, 64 * 64 * 2);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	b = pacs_elem_value(find(mr_im, T_PIXEL), &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	assert_uint(mr_be, T_ROWS, 64);
	assert_uint(mr_im, T_ROWS, 64);
	{
		double d1, d2;
		assert_int_equal(pacs_ds_get_double(mr, 0x00180050, 0, &d1), 0);
		assert_int_equal(pacs_ds_get_double(mr_be, 0x00180050, 0, &d2), 0);
		assert_true(d1 == d2);
	}
	pacs_ds_free(mr);
	pacs_ds_free(mr_be);
	pacs_ds_free(mr_im);
	pacs_ds_free(nometa);
	pacs_ds_free(ct);

	/* Deflated. */
	ds = read_sample("pydicom/image_dfl.dcm", &o);
	assert_string_equal(pacs_ds_source_ts(ds), PACS_TS_DEFLATED_LE);
	assert_non_null(pacs_ds_find(ds, T_PIXEL));
	pacs_ds_free(ds);

	/* A UN sequence in a compressed syntax, a private implicit sequence. */
	ds = read_sample("pydicom/UN_sequence.dcm", &o);
	assert_true(pacs_elem_is_sequence(find(ds, 0x4453100C)));
	assert_int_equal(pacs_elem_item_count(find(ds, 0x4453100C)), 1);
	pacs_ds_free(ds);
	/* priv_SQ.dcm: an unknown private element of defined length whose
	 * value happens to be an encoded sequence stays UN bytes (lossless;
	 * PS3.5 6.2.2 encodes UN sequences this very way). */
	ds = read_sample("pydicom/priv_SQ.dcm", &o);
	c = td_canon(ds);
	assert_non_null(strstr(c, "(3F03,1001) UN f8 l166 @372"));
	a = pacs_elem_value(find(ds, 0x3F031001), &alen);
	assert_memory_equal(a, "\xFE\xFF\x00\xE0", 4);
	free(c);
	pacs_ds_free(ds);

	/* Big endian with a UN sequence encoded in implicit VR LE. */
	ds = read_sample("fo-dicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm", &o);
	assert_true(pacs_elem_is_sequence(find(ds, 0x00082112)));
	pacs_ds_free(ds);

	/* Encapsulated, with a threshold: the fragments add up. */
	{
		bulk_rec rec = { 0 };
		o.bulk_threshold = 1;
		o.bulk_fn = bulk_cb;
		o.bulk_ctx = &rec;
		ds = read_sample("pydicom/SC_rgb_rle_2frame.dcm", &o);
		assert_non_null(strstr(rec.log, "B(7FE0,0010)OB F0:"));
		assert_int_equal(pacs_elem_flags(find(ds, T_PIXEL)),
				 PACS_ELEM_ENCAPSULATED | PACS_ELEM_BULK | PACS_ELEM_UNDEF_LENGTH);
		pacs_ds_free(ds);
		rec_free(&rec);
	}
}

/* ---- seed corpus for the fuzz target ---- */

static void corpus_file(const char *dir, const char *name, const td *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b->buf, 1, b->len, f) != b->len) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
}

static void part10(td *b, td_enc enc, const char *ts)
{
	td_init(b, enc);
	td_preamble(b, 0);
	td_meta(b, ts);
}

static void small_set(td *b)
{
	td_str(b, T_CHARSET, "CS", "ISO_IR 100");
	td_str(b, T_PATIENT_NAME, "PN", "Fuzz^Seed");
	td_us(b, T_ROWS, 2);
	td_us(b, T_COLUMNS, 2);
	td_elem(b, T_PIXEL_REP, "US", "\1\0", 2);
	td_elem(b, T_SMALLEST, "SS", "\xFE\xFF", 2);
}

/* Writes the seed corpus of tests/corpus/read (run with
 * ARCA_WRITE_READ_CORPUS=DIR); every seed is small and generated here. */
static void write_corpus(const char *dir)
{
	static const char *const ts3[3] = { PACS_TS_IMPLICIT_LE, PACS_TS_EXPLICIT_LE, PACS_TS_EXPLICIT_BE };
	static const char *const enc_name[3] = { "ile", "ele", "ebe" };
	char name[128];
	td b, set;
	td_mark sq, it;

	for (int enc = 0; enc < 3; enc++) {
		part10(&b, (td_enc)enc, ts3[enc]);
		small_set(&b);
		td_elem(&b, T_PIXEL, "OW", "\1\2\3\4\5\6\7\x08", 8);
		snprintf(name, sizeof(name), "part10_%s.dcm", enc_name[enc]);
		corpus_file(dir, name, &b);
		td_free(&b);

		td_init(&b, (td_enc)enc);
		small_set(&b);
		snprintf(name, sizeof(name), "bare_%s.dcm", enc_name[enc]);
		corpus_file(dir, name, &b);
		td_free(&b);

		td_init(&b, (td_enc)enc);
		td_raw(&b, " ", 1);
		small_set(&b);
		snprintf(name, sizeof(name), "bare_stray_%s.dcm", enc_name[enc]);
		corpus_file(dir, name, &b);
		td_free(&b);

		for (int mode = 0; mode < 4; mode += enc == 1 ? 1 : 3) {
			part10(&b, (td_enc)enc, ts3[enc]);
			build_nested(&b, mode & 1, (mode & 2) != 0);
			snprintf(name, sizeof(name), "nested_%s_%d.dcm", enc_name[enc], mode);
			corpus_file(dir, name, &b);
			td_free(&b);
		}

		part10(&b, (td_enc)enc, ts3[enc]);
		td_str(&b, 0x00090010, "LO", "GEMS_IDEN_01");
		sq = td_seq_begin_vr(&b, 0x00091001, "UN", true);
		(void)sq;
		td_set_enc(&b, TD_IMPLICIT_LE);
		it = td_item_begin(&b, true);
		td_str(&b, T_PATIENT_ID, NULL, "inner");
		td_item_end(&b, it);
		td_seq_delim(&b);
		td_set_enc(&b, (td_enc)enc);
		td_us(&b, T_ROWS, 1);
		snprintf(name, sizeof(name), "un_sequence_%s.dcm", enc_name[enc]);
		corpus_file(dir, name, &b);
		td_free(&b);
	}

	td_init(&b, TD_EXPLICIT_LE);
	build_encapsulated(&b, PACS_TS_JPEG_BASELINE);
	corpus_file(dir, "encapsulated_jpeg.dcm", &b);
	td_free(&b);
	td_init(&b, TD_EXPLICIT_LE);
	build_encapsulated(&b, "1.2.3.4.5.6.7");
	corpus_file(dir, "encapsulated_unknown_ts.dcm", &b);
	b.len -= 18; /* no delimiter, no padding */
	corpus_file(dir, "encapsulated_no_delimiter.dcm", &b);
	td_free(&b);

	td_init(&set, TD_EXPLICIT_LE);
	build_nested(&set, true, false);
	part10(&b, TD_EXPLICIT_LE, PACS_TS_DEFLATED_LE);
	raw_deflate(set.buf, set.len, &b);
	corpus_file(dir, "deflated.dcm", &b);
	td_free(&b);
	td_free(&set);

	part10(&b, TD_IMPLICIT_LE, NULL);
	small_set(&b);
	corpus_file(dir, "meta_without_ts.dcm", &b);
	td_free(&b);

	td_init(&b, TD_EXPLICIT_LE);
	td_meta(&b, PACS_TS_EXPLICIT_LE);
	small_set(&b);
	corpus_file(dir, "meta_no_preamble.dcm", &b);
	b.buf[8] = 10; /* a wrong group length */
	corpus_file(dir, "meta_bad_group_length.dcm", &b);
	td_free(&b);

	part10(&b, TD_IMPLICIT_LE, PACS_TS_IMPLICIT_LE);
	td_str(&b, 0x00090010, NULL, "GEMS_IDEN_01");
	td_str(&b, 0x00090011, NULL, "CARDIO-D.R. 1.0");
	td_elem(&b, 0x0009101A, NULL, "\1\0", 2);
	sq = td_seq_begin(&b, 0x00091140, false);
	it = td_item_begin(&b, false);
	td_str(&b, T_PATIENT_ID, NULL, "x");
	td_item_end(&b, it);
	td_seq_end(&b, sq);
	td_elem(&b, T_PIXEL_REP, NULL, "\1\0", 2);
	td_elem(&b, T_SMALLEST, NULL, "\1\0", 2);
	td_elem(&b, T_LUT_DATA, NULL, "\1\0", 2);
	corpus_file(dir, "implicit_private_xs.dcm", &b);
	td_free(&b);

	part10(&b, TD_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	td_elem(&b, T_PIXEL_PADDING, "  ", "\1\0", 2);
	td_raw(&b, "\x09\x00\x01\x10" "ZZ\0\0" "\3\0\0\0" "abc", 15);
	corpus_file(dir, "unknown_vr.dcm", &b);
	td_free(&b);

	part10(&b, TD_EXPLICIT_BE, PACS_TS_EXPLICIT_BE);
	td_elem(&b, 0x00283006, "OF", "0123456789abcdefghijklmnopqrstuv", 32);
	td_elem(&b, T_PIXEL, "OW", "0123456789abcdefghijklmnopqrstuvw", 33);
	corpus_file(dir, "bulk_be_odd.dcm", &b);
	td_free(&b);

	part10(&b, TD_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	sq = td_seq_begin(&b, 0x00880200, true);
	it = td_item_begin(&b, true);
	td_elem(&b, T_PIXEL, "OB", "\1\2", 2);
	td_item_end(&b, it);
	td_seq_end(&b, sq);
	td_elem(&b, T_PIXEL, "OW", "\1\2\3\4", 4);
	td_elem(&b, T_PADDING, "OB", "\0\0", 2);
	corpus_file(dir, "icon_and_padding.dcm", &b);
	td_free(&b);

	td_init(&b, TD_EXPLICIT_LE);
	for (int i = 0; i < 30; i++) {
		td_header(&b, T_CONTENT_SEQ, "SQ", PACS_UNDEFINED_LENGTH);
		td_item(&b, PACS_UNDEFINED_LENGTH);
	}
	for (int i = 0; i < 30; i++) {
		td_item_delim(&b);
		td_seq_delim(&b);
	}
	corpus_file(dir, "deep_30.dcm", &b);
	td_free(&b);

	td_init(&b, TD_EXPLICIT_LE);
	td_header(&b, T_REF_IMAGE_SEQ, "SQ", 8 + 14);
	td_item(&b, 40);
	td_str(&b, T_REF_SOP_INSTANCE, "UI", "1.2.3");
	td_us(&b, T_ROWS, 5);
	corpus_file(dir, "item_past_sequence.dcm", &b);
	td_free(&b);

	part10(&b, TD_EXPLICIT_LE, PACS_TS_EXPLICIT_LE);
	small_set(&b);
	td_header(&b, T_PIXEL, "OW", 64);
	td_raw(&b, "cut short", 9);
	corpus_file(dir, "truncated.dcm", &b);
	td_free(&b);
}

int main(void)
{
	const char *corpus = getenv("ARCA_WRITE_READ_CORPUS");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explicit_le_part10),
		cmocka_unit_test(test_implicit_le_dictionary),
		cmocka_unit_test(test_implicit_pseudo_vrs),
		cmocka_unit_test(test_explicit_be_swap),
		cmocka_unit_test(test_nested_sequences),
		cmocka_unit_test(test_un_sequences),
		cmocka_unit_test(test_unknown_vr),
		cmocka_unit_test(test_group_length_and_padding),
		cmocka_unit_test(test_encapsulated_held),
		cmocka_unit_test(test_encapsulated_bulk),
		cmocka_unit_test(test_native_bulk),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_stop_at_pixel_data),
		cmocka_unit_test(test_deflated),
		cmocka_unit_test(test_deflate_bomb),
		cmocka_unit_test(test_meta_variants),
		cmocka_unit_test(test_bare_datasets),
		cmocka_unit_test(test_input_modes),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_bad_structure),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_samples_all),
		cmocka_unit_test(test_samples_values),
	};

	if (corpus != NULL) {
		write_corpus(corpus);
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
