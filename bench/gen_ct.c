/* gen_ct.c - writes synthetic CT or MR instances for the benchmarks:
 * realistic metadata (patients, studies, series, UIDs under 2.25), a
 * smooth phantom image with noise (so compression ratios are realistic),
 * explicit VR little endian Part 10 files.
 *
 *   gen_ct [--modality CT|MR] [--count N] [--per-series N] [--series-per-study N]
 *          [--size 512] [--seed S] [--frames N] OUTDIR
 *
 * --frames N (N > 1) writes each instance as one multi-frame image of N
 * frames (Multi-frame Grayscale Word Secondary Capture, PS3.3 A.8.5) for
 * the benchmarks of large instances: 2048 frames of 512x512 make 1 GiB of
 * Pixel Data.  The frames are streamed to the file through the writer's
 * bulk source, so the generator never holds more than one frame.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arca_err.h"
#include "pacs_ds.h"
#include "pacs_tags.h"
#include "pacs_ts.h"
#include "pacs_write.h"

struct gen_opts {
	const char *modality;
	unsigned count, per_series, series_per_study, size, frames;
	unsigned long seed;
	const char *outdir;
};

/* xorshift: deterministic data for a given seed, no global state. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void make_uid(char *buf, size_t size, unsigned long seed, const char *kind, unsigned a, unsigned b)
{
	/* 2.25 + decimal digits: a UID of the UUID-derived form (PS3.5 B.2). */
	snprintf(buf, size, "2.25.%lu%u%u%u", 100000000UL + seed, (unsigned)(kind[0]), a + 1000, b + 1000);
}

static void fill_image(uint16_t *px, unsigned n, unsigned slice, uint64_t *rng)
{
	double cx = n / 2.0, cy = n / 2.0, r = n * 0.42;

	for (unsigned y = 0; y < n; y++) {
		for (unsigned x = 0; x < n; x++) {
			double dx = x - cx, dy = (y - cy) * 1.15, d = sqrt(dx * dx + dy * dy);
			double v = 0;
			if (d < r) {
				v = 1040 + 60 * sin((x + slice) * 0.05) * cos(y * 0.04);
				if (sqrt((dx + r / 3) * (dx + r / 3) + dy * dy) < r / 5)
					v = 1400; /* bone-like insert */
				if (sqrt((dx - r / 3) * (dx - r / 3) + dy * dy) < r / 6)
					v = 200;  /* air-like insert */
			}
			v += (double)(rng_next(rng) % 24) - 12.0; /* noise */
			px[(size_t)y * n + x] = (uint16_t)(v < 0 ? 0 : v);
		}
	}
}

static int set(pacs_ds *ds, uint32_t tag, pacs_vr vr, const char *v)
{
	return pacs_ds_set_string(ds, tag, vr, v);
}

/* Bulk source state for a multi-frame Pixel Data value. */
struct frame_src {
	const struct gen_opts *o;
	uint16_t *px;  /* one frame */
	uint64_t *rng;
};

/* Writes the frames one after another (PS3.5 8.1.1: native multi-frame
 * Pixel Data is the frames concatenated, no padding between them). */
static int write_frames(void *ctx, pacs_write_ctx *w, const pacs_ds *parent, const pacs_elem *e)
{
	const struct frame_src *fs = ctx;
	size_t frame_len = (size_t)fs->o->size * fs->o->size * 2;

	(void)parent;
	(void)e;
	for (unsigned f = 0; f < fs->o->frames; f++) {
		int rc;

		fill_image(fs->px, fs->o->size, f, fs->rng);
		rc = pacs_write_bytes(w, (const uint8_t *)fs->px, frame_len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The attributes that make the instance multi-frame: Number of Frames and
 * the Frame Increment Pointer to Frame Time (PS3.3 C.7.6.6, C.8.6.3), and
 * SC Equipment's Conversion Type (C.8.6.1, WSD: workstation). */
static int set_multiframe(pacs_ds *ds, unsigned frames)
{
	/* AT value: group then element, each 16-bit little endian. */
	const uint8_t fip[4] = { 0x18, 0x00, 0x63, 0x10 };
	char buf[32];
	int rc = 0;

	snprintf(buf, sizeof(buf), "%u", frames);
	rc |= set(ds, PACS_TAG_NumberOfFrames, PACS_VR_IS, buf);
	rc |= pacs_ds_set(ds, PACS_TAG_FrameIncrementPointer, PACS_VR_AT, fip, sizeof(fip));
	rc |= set(ds, PACS_TAG_FrameTime, PACS_VR_DS, "100");
	rc |= set(ds, PACS_TAG_ConversionType, PACS_VR_CS, "WSD");
	return rc;
}

static int write_instance(const struct gen_opts *o, unsigned i, uint16_t *px, uint64_t *rng)
{
	unsigned series = i / o->per_series, study = series / o->series_per_study;
	unsigned patient = study / 2, slice = i % o->per_series;
	char study_uid[80], series_uid[80], sop_uid[80], buf[128], path[4096];
	const char *sop_class = strcmp(o->modality, "MR") == 0 ? "1.2.840.10008.5.1.4.1.1.4"
								: "1.2.840.10008.5.1.4.1.1.2";
	struct frame_src fs = { o, px, rng };
	pacs_ds *ds = NULL;
	pacs_write_opts wo;
	int rc = pacs_ds_new(&ds);

	if (rc < 0)
		return rc;
	if (o->frames > 1)
		sop_class = "1.2.840.10008.5.1.4.1.1.7.3"; /* Multi-frame Grayscale Word SC */
	make_uid(study_uid, sizeof(study_uid), o->seed, "s", study, 0);
	make_uid(series_uid, sizeof(series_uid), o->seed, "e", study, series);
	make_uid(sop_uid, sizeof(sop_uid), o->seed, "i", series, i);
	rc |= set(ds, PACS_TAG_SpecificCharacterSet, PACS_VR_CS, "ISO_IR 100");
	rc |= set(ds, PACS_TAG_ImageType, PACS_VR_CS, "ORIGINAL\\PRIMARY\\AXIAL");
	rc |= set(ds, PACS_TAG_SOPClassUID, PACS_VR_UI, sop_class);
	rc |= set(ds, PACS_TAG_SOPInstanceUID, PACS_VR_UI, sop_uid);
	snprintf(buf, sizeof(buf), "2026%02u%02u", 1 + study % 12, 1 + study % 28);
	rc |= set(ds, PACS_TAG_StudyDate, PACS_VR_DA, buf);
	rc |= set(ds, PACS_TAG_StudyTime, PACS_VR_TM, "101500");
	snprintf(buf, sizeof(buf), "ACC%06u", study);
	rc |= set(ds, PACS_TAG_AccessionNumber, PACS_VR_SH, buf);
	rc |= set(ds, PACS_TAG_Modality, PACS_VR_CS, o->modality);
	rc |= set(ds, PACS_TAG_Manufacturer, PACS_VR_LO, "ARCA BENCH");
	rc |= set(ds, PACS_TAG_StudyDescription, PACS_VR_LO, "CHEST ABDOMEN");
	snprintf(buf, sizeof(buf), "SYNTH^PATIENT%05u", patient);
	rc |= set(ds, PACS_TAG_PatientName, PACS_VR_PN, buf);
	snprintf(buf, sizeof(buf), "P%07u", patient);
	rc |= set(ds, PACS_TAG_PatientID, PACS_VR_LO, buf);
	rc |= set(ds, PACS_TAG_PatientBirthDate, PACS_VR_DA, "19600101");
	rc |= set(ds, PACS_TAG_PatientSex, PACS_VR_CS, patient % 2 ? "F" : "M");
	rc |= set(ds, PACS_TAG_SliceThickness, PACS_VR_DS, "1.25");
	rc |= set(ds, PACS_TAG_StudyInstanceUID, PACS_VR_UI, study_uid);
	rc |= set(ds, PACS_TAG_SeriesInstanceUID, PACS_VR_UI, series_uid);
	snprintf(buf, sizeof(buf), "%u", study);
	rc |= set(ds, PACS_TAG_StudyID, PACS_VR_SH, buf);
	snprintf(buf, sizeof(buf), "%u", series % o->series_per_study + 1);
	rc |= set(ds, PACS_TAG_SeriesNumber, PACS_VR_IS, buf);
	snprintf(buf, sizeof(buf), "%u", slice + 1);
	rc |= set(ds, PACS_TAG_InstanceNumber, PACS_VR_IS, buf);
	snprintf(buf, sizeof(buf), "-250\\-250\\%.2f", slice * 1.25);
	rc |= set(ds, PACS_TAG_ImagePositionPatient, PACS_VR_DS, buf);
	rc |= set(ds, PACS_TAG_ImageOrientationPatient, PACS_VR_DS, "1\\0\\0\\0\\1\\0");
	rc |= set(ds, PACS_TAG_PhotometricInterpretation, PACS_VR_CS, "MONOCHROME2");
	rc |= pacs_ds_set_u16(ds, PACS_TAG_SamplesPerPixel, 1);
	rc |= pacs_ds_set_u16(ds, PACS_TAG_Rows, (uint16_t)o->size);
	rc |= pacs_ds_set_u16(ds, PACS_TAG_Columns, (uint16_t)o->size);
	rc |= set(ds, PACS_TAG_PixelSpacing, PACS_VR_DS, "0.976\\0.976");
	rc |= pacs_ds_set_u16(ds, PACS_TAG_BitsAllocated, 16);
	rc |= pacs_ds_set_u16(ds, PACS_TAG_BitsStored, 12);
	rc |= pacs_ds_set_u16(ds, PACS_TAG_HighBit, 11);
	rc |= pacs_ds_set_u16(ds, PACS_TAG_PixelRepresentation, 0);
	rc |= set(ds, PACS_TAG_RescaleIntercept, PACS_VR_DS, "-1024");
	rc |= set(ds, PACS_TAG_RescaleSlope, PACS_VR_DS, "1");
	if (o->frames > 1) {
		rc |= set_multiframe(ds, o->frames);
		rc |= pacs_ds_set_bulk(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW,
				       (uint32_t)o->frames * o->size * o->size * 2, 0);
	} else {
		fill_image(px, o->size, slice, rng);
		rc |= pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, px, o->size * o->size * 2);
	}
	if (rc != 0) {
		pacs_ds_free(ds);
		return ARCA_ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/%s%06u.dcm", o->outdir, o->modality, i);
	pacs_write_opts_init(&wo);
	wo.ts_uid = PACS_TS_EXPLICIT_LE;
	wo.bulk_fn = write_frames;
	wo.bulk_ctx = &fs;
	rc = pacs_write_file(ds, path, &wo);
	pacs_ds_free(ds);
	return rc;
}

int main(int argc, char **argv)
{
	struct gen_opts o = { "CT", 1000, 200, 2, 512, 1, 1, NULL };
	uint16_t *px;
	uint64_t rng;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--modality") == 0 && i + 1 < argc)
			o.modality = argv[++i];
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			o.count = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--per-series") == 0 && i + 1 < argc)
			o.per_series = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--series-per-study") == 0 && i + 1 < argc)
			o.series_per_study = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			o.size = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			o.seed = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
			o.frames = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && o.outdir == NULL)
			o.outdir = argv[i];
		else {
			fprintf(stderr, "usage: gen_ct [--modality CT|MR] [--count N] [--per-series N] "
					"[--series-per-study N] [--size N] [--seed S] [--frames N] OUTDIR\n");
			return 2;
		}
	}
	if (o.outdir == NULL || o.count == 0 || o.per_series == 0 || o.series_per_study == 0 ||
	    o.size == 0 || o.size > 4096 || o.frames == 0) {
		fprintf(stderr, "gen_ct: need OUTDIR and positive --count/--per-series/--size/--frames "
				"(size <= 4096)\n");
		return 2;
	}
	/* PS3.5 7.1.1: a defined value length is 32 bits and even; 0xFFFFFFFF
	 * means undefined, so the largest native Pixel Data is 0xFFFFFFFE. */
	if ((uint64_t)o.frames * o.size * o.size * 2 > UINT32_C(0xFFFFFFFE)) {
		fprintf(stderr, "gen_ct: %u frames of %ux%u exceed the 4 GiB value length limit; use fewer\n",
			o.frames, o.size, o.size);
		return 2;
	}
	if (mkdir(o.outdir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen_ct: cannot create %s: %s\n", o.outdir, strerror(errno));
		return 2;
	}
	px = malloc((size_t)o.size * o.size * 2);
	if (px == NULL)
		return 2;
	rng = 0x9E3779B97F4A7C15ull ^ o.seed;
	for (unsigned i = 0; i < o.count; i++) {
		if (write_instance(&o, i, px, &rng) < 0) {
			fprintf(stderr, "gen_ct: %s\n", arca_error_last());
			free(px);
			return 2;
		}
	}
	free(px);
	return 0;
}
