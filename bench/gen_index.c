/* gen_index.c - fills an index with synthetic instances for the C-FIND
 * benchmark (bench/find.sh): patients with realistic names, studies over
 * ten years with a modality mix like a hospital's (many small CR/DX and US
 * studies, fewer large CT and MR ones), series and instances with the keys
 * a C-FIND at any level asks for.  Instances go through store_index_put
 * in batches (one transaction each), as the server's group commit does.
 *
 *   gen_index [--instances N] [--batch N] [--seed S] [--scale F]
 *             [--part10 DIR] [--no-index] INDEX_PATH
 *
 * The default shapes make about 190 instances per study (thin-slice CT and
 * MR dominate the instance count, radiographs the study count); --scale F
 * multiplies the instances per series (at least 1 each), so --scale 0.1
 * gives ten times as many studies for the same number of instances, a
 * harder case for study-level queries.  Prints what it made and the insert
 * rate.  The same seed makes the same index.
 *
 * --part10 DIR also writes every instance as a small Part 10 file (Explicit
 * VR Little Endian, no Pixel Data, UTF-8: ISO_IR 192) holding the same
 * values as its index record, one directory per study (DIR/NNNNNNN/), so
 * that another archive (Orthanc in bench/find_net.sh) can be loaded with
 * exactly the data arcad's index holds.  The files do not touch the random
 * stream: the index is the same with or without them.  They are written
 * without fsync (benchmark data, regenerated at will).  --no-index writes
 * the files only (INDEX_PATH is then not opened).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "arca_err.h"
#include "pacs_dict.h"
#include "pacs_ds.h"
#include "pacs_tags.h"
#include "pacs_ts.h"
#include "pacs_write.h"
#include "store_index.h"

/* Real surnames (so that "SMI*" finds Smiths as it would in a hospital)
 * drawn 40% of the time; the rest are built from syllables. */
static const char *const surnames[] = {
	"Smith", "Smithers", "Smirnov", "Smiley", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
	"Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
	"Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
	"Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
	"Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
	"Campbell", "Mitchell", "Carter", "Roberts", "Müller", "Schmidt", "Schneider", "Fischer", "Weber",
	"Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Dubois", "Durand", "Lefebvre", "Moreau",
	"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Kowalski", "Nowak",
	"Wiśniewski", "Novák", "Svoboda", "Papadopoulos", "Ivanov", "Petrov", "Yamada", "Tanaka", "Sato",
	"Suzuki", "Kim", "Park", "Chen", "Wang", "Li", "Zhang", "Liu", "Singh", "Kumar", "Patel", "Khan",
	"Ali", "Hassan", "Cohen", "Levi", "O'Brien", "O'Connor", "Murphy", "Kelly", "Ryan", "Walsh",
};
static const char *const syllables[] = {
	"al", "ber", "cor", "dan", "el", "fin", "gar", "hol", "in", "jor", "kal", "lin", "mar", "nor",
	"ol", "per", "quin", "ros", "sal", "tor", "ul", "ven", "wil", "xan", "yor", "zel", "smi", "bra",
	"ste", "mon", "ket", "rad",
};
static const char *const given[] = {
	"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
	"Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
	"Anna", "Maria", "Peter", "Hans", "Ursula", "Jürgen", "Marie", "Pierre", "Giulia", "Marco",
	"Jan", "Eva", "Olga", "Ivan", "Hiro", "Yuki", "Wei", "Mei", "Raj", "Aisha", "Omar", "Noa",
};
static const char *const referring[] = {
	"House^Gregory", "Grey^Meredith", "Ross^Doug", "Kildare^James", "Quinn^Michaela",
	"Carter^John", "Welby^Marcus", "Shepherd^Derek", "Yang^Cristina", "Lewis^Susan", "",
};

/* A modality's study shape: share of studies, series per study and
 * instances per series (uniform in the ranges), SOP class, image size. */
struct shape {
	const char *modality, *sop_class, *body_part, *desc;
	unsigned weight, series_min, series_max, per_min, per_max, rows;
};

static const struct shape shapes[] = {
	{"CR", "1.2.840.10008.5.1.4.1.1.1", "CHEST", "XR CHEST", 22, 1, 2, 1, 2, 2500},
	{"DX", "1.2.840.10008.5.1.4.1.1.1.1", "HAND", "XR HAND", 13, 1, 2, 1, 3, 2000},
	{"US", "1.2.840.10008.5.1.4.1.1.6.1", "ABDOMEN", "US ABDOMEN", 15, 1, 1, 8, 40, 600},
	{"MG", "1.2.840.10008.5.1.4.1.1.1.2", "BREAST", "MAMMO SCREENING", 6, 1, 1, 4, 4, 3300},
	{"CT", "1.2.840.10008.5.1.4.1.1.2", "CHEST", "CT CHEST W CONTRAST", 20, 2, 5, 40, 300, 512},
	{"MR", "1.2.840.10008.5.1.4.1.1.4", "HEAD", "MR BRAIN", 14, 4, 10, 15, 60, 256},
	{"PT", "1.2.840.10008.5.1.4.1.1.128", "WHOLEBODY", "PET CT", 4, 2, 3, 100, 250, 128},
	{"NM", "1.2.840.10008.5.1.4.1.1.20", "BONE", "NM BONE SCAN", 6, 1, 2, 1, 2, 256},
};

struct gen {
	uint64_t rng;
	store_index *idx;
	store_index_instance **batch;
	store_index_put_result *res;
	unsigned batch_size, pending;
	uint64_t made, target, patients, studies, series;
	double scale;
	const char *part10; /* --part10 DIR, or NULL */
	bool no_index;
	char patient_name[96], patient_id[32], birth[16], sex[2];
};

static uint64_t rnd(struct gen *g)
{
	/* splitmix64: reproducible for a seed, no global state */
	uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static unsigned range(struct gen *g, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(rnd(g) % (hi - lo + 1));
}

static int flush(struct gen *g)
{
	int rc;

	if (g->pending == 0)
		return 0;
	if (g->no_index) {
		g->pending = 0;
		return 0;
	}
	rc = store_index_put(g->idx, (const store_index_instance *const *)g->batch, g->pending, g->res);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < g->pending; i++)
		if (g->res[i].err != 0)
			return arca_error_set(g->res[i].err, "%s", g->res[i].message);
	g->pending = 0;
	return 0;
}

static void set(store_index_instance *inst, uint32_t tag, const char *v)
{
	if (store_index_instance_set(inst, tag, v) < 0) {
		fprintf(stderr, "gen_index: %s\n", arca_error_last());
		exit(1);
	}
}

static void new_patient(struct gen *g)
{
	char surname[64];

	g->patients++;
	if (rnd(g) % 10 < 4) {
		snprintf(surname, sizeof(surname), "%s", surnames[rnd(g) % (sizeof(surnames) / sizeof(*surnames))]);
	} else {
		unsigned n = range(g, 2, 3);

		surname[0] = '\0';
		for (unsigned i = 0; i < n; i++)
			strcat(surname, syllables[rnd(g) % (sizeof(syllables) / sizeof(*syllables))]);
		surname[0] = (char)(surname[0] - 'a' + 'A');
	}
	snprintf(g->patient_name, sizeof(g->patient_name), "%s^%s", surname,
		 given[rnd(g) % (sizeof(given) / sizeof(*given))]);
	snprintf(g->patient_id, sizeof(g->patient_id), "P%08llu", (unsigned long long)g->patients);
	snprintf(g->birth, sizeof(g->birth), "%04u%02u%02u", range(g, 1930, 2024), range(g, 1, 12), range(g, 1, 28));
	g->sex[0] = "MF"[rnd(g) % 2];
	g->sex[1] = '\0';
}

static const struct shape *pick_shape(struct gen *g)
{
	unsigned total = 0, r;

	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++)
		total += shapes[i].weight;
	r = (unsigned)(rnd(g) % total);
	for (size_t i = 0;; i++) {
		if (r < shapes[i].weight)
			return &shapes[i];
		r -= shapes[i].weight;
	}
}

/* The keys set on every record, in tag order (a data set is kept sorted,
 * but the order here is the order written). */
static const uint32_t part10_tags[] = {
	PACS_TAG_SOPClassUID, PACS_TAG_SOPInstanceUID, PACS_TAG_StudyDate, PACS_TAG_SeriesDate,
	PACS_TAG_ContentDate, PACS_TAG_StudyTime, PACS_TAG_SeriesTime, PACS_TAG_ContentTime,
	PACS_TAG_AccessionNumber, PACS_TAG_Modality, PACS_TAG_InstitutionName, PACS_TAG_ReferringPhysicianName,
	PACS_TAG_StationName, PACS_TAG_StudyDescription, PACS_TAG_SeriesDescription, PACS_TAG_PatientName,
	PACS_TAG_PatientID, PACS_TAG_PatientBirthDate, PACS_TAG_PatientSex, PACS_TAG_BodyPartExamined,
	PACS_TAG_StudyInstanceUID, PACS_TAG_SeriesInstanceUID, PACS_TAG_StudyID, PACS_TAG_SeriesNumber,
	PACS_TAG_InstanceNumber,
};

/* Writes inst's values as DIR/STUDY/SOP.dcm (see the header comment).
 * Rows and Columns are US (PS3.3 C.7.6.3) and are written as such; no
 * Pixel Data, so no other Image Pixel attribute either. */
static int write_part10(const struct gen *g, const store_index_instance *inst)
{
	char dir[4096], path[4096 + 128];
	pacs_write_opts wo;
	pacs_ds *ds = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	snprintf(dir, sizeof(dir), "%s/%07llu", g->part10, (unsigned long long)g->studies);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return arca_error_set(ARCA_EIO, "mkdir %s: %s", dir, strerror(errno));
	if ((rc = pacs_ds_new(&ds)) < 0)
		return rc;
	rc = pacs_ds_set_string(ds, PACS_TAG_SpecificCharacterSet, PACS_VR_CS, "ISO_IR 192");
	for (size_t i = 0; rc == 0 && i < sizeof(part10_tags) / sizeof(*part10_tags); i++) {
		const char *v = store_index_instance_get(inst, part10_tags[i]);

		if (v != NULL && v[0] != '\0')
			rc = pacs_ds_set_string(ds, part10_tags[i], pacs_dict_vr(part10_tags[i]), v);
	}
	if (rc == 0)
		rc = pacs_ds_set_u16(ds, PACS_TAG_Rows, (uint16_t)strtoul(store_index_instance_get(inst, PACS_TAG_Rows), NULL, 10));
	if (rc == 0)
		rc = pacs_ds_set_u16(ds, PACS_TAG_Columns, (uint16_t)strtoul(store_index_instance_get(inst, PACS_TAG_Columns), NULL, 10));
	pacs_write_opts_init(&wo);
	wo.ts_uid = PACS_TS_EXPLICIT_LE;
	if (rc == 0)
		rc = pacs_write_buffer(ds, &wo, &buf, &len);
	pacs_ds_free(ds);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s.dcm", dir, store_index_instance_get(inst, PACS_TAG_SOPInstanceUID));
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		rc = arca_error_set(ARCA_EIO, "writing %s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
	}
	free(buf);
	return rc;
}

static int new_study(struct gen *g)
{
	const struct shape *sh = pick_shape(g);
	unsigned nseries = range(g, sh->series_min, sh->series_max);
	char study_uid[80], date[16], time_[16], acc[24], study_id[16];
	const char *ref = referring[rnd(g) % (sizeof(referring) / sizeof(*referring))];
	/* Studies spread over 2016-2025, daytime mostly. */
	unsigned day = range(g, 0, 3652);
	time_t t = (time_t)(1451606400 + (int64_t)day * 86400);
	struct tm tm;
	int rc;

	gmtime_r(&t, &tm);
	g->studies++;
	snprintf(study_uid, sizeof(study_uid), "1.2.826.0.1.3680043.10.543.%llu", (unsigned long long)g->studies);
	snprintf(date, sizeof(date), "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	snprintf(time_, sizeof(time_), "%02u%02u%02u", range(g, 6, 21), range(g, 0, 59), range(g, 0, 59));
	snprintf(acc, sizeof(acc), "A%010llu", (unsigned long long)(g->studies * 7919 % 10000000000ull));
	snprintf(study_id, sizeof(study_id), "%llu", (unsigned long long)g->studies);
	for (unsigned s = 0; s < nseries && g->made < g->target; s++) {
		unsigned per = (unsigned)(range(g, sh->per_min, sh->per_max) * g->scale + 0.5);
		char series_uid[96], num[16];

		if (per == 0)
			per = 1;

		g->series++;
		snprintf(series_uid, sizeof(series_uid), "%s.%u", study_uid, s + 1);
		snprintf(num, sizeof(num), "%u", s + 1);
		for (unsigned i = 0; i < per && g->made < g->target; i++) {
			store_index_instance *inst = g->batch[g->pending];
			store_index_storage *st;
			char sop_uid[112], inum[16], rows[16];
			uint64_t h;

			store_index_instance_clear(inst);
			snprintf(sop_uid, sizeof(sop_uid), "%s.%u", series_uid, i + 1);
			snprintf(inum, sizeof(inum), "%u", i + 1);
			snprintf(rows, sizeof(rows), "%u", sh->rows);
			set(inst, PACS_TAG_PatientName, g->patient_name);
			set(inst, PACS_TAG_PatientID, g->patient_id);
			set(inst, PACS_TAG_PatientBirthDate, g->birth);
			set(inst, PACS_TAG_PatientSex, g->sex);
			set(inst, PACS_TAG_StudyInstanceUID, study_uid);
			set(inst, PACS_TAG_StudyDate, date);
			set(inst, PACS_TAG_StudyTime, time_);
			set(inst, PACS_TAG_AccessionNumber, acc);
			set(inst, PACS_TAG_StudyID, study_id);
			set(inst, PACS_TAG_ReferringPhysicianName, ref);
			set(inst, PACS_TAG_StudyDescription, sh->desc);
			set(inst, PACS_TAG_SeriesInstanceUID, series_uid);
			set(inst, PACS_TAG_Modality, sh->modality);
			set(inst, PACS_TAG_SeriesNumber, num);
			set(inst, PACS_TAG_SeriesDescription, sh->desc);
			set(inst, PACS_TAG_BodyPartExamined, sh->body_part);
			set(inst, PACS_TAG_SeriesDate, date);
			set(inst, PACS_TAG_SeriesTime, time_);
			set(inst, PACS_TAG_InstitutionName, "Regional Hospital");
			set(inst, PACS_TAG_StationName, sh->modality);
			set(inst, PACS_TAG_SOPInstanceUID, sop_uid);
			set(inst, PACS_TAG_SOPClassUID, sh->sop_class);
			set(inst, PACS_TAG_InstanceNumber, inum);
			set(inst, PACS_TAG_ContentDate, date);
			set(inst, PACS_TAG_ContentTime, time_);
			set(inst, PACS_TAG_Rows, rows);
			set(inst, PACS_TAG_Columns, rows);
			st = store_index_instance_storage(inst);
			snprintf(st->transfer_syntax, sizeof(st->transfer_syntax), "1.2.840.10008.1.2.1");
			st->size = (uint64_t)sh->rows * sh->rows * 2 + 2048;
			for (int k = 0; k < 4; k++) {
				h = rnd(g);
				memcpy(st->instance_hash + 8 * k, &h, 8);
				h = rnd(g);
				memcpy(st->manifest + 8 * k, &h, 8);
			}
			st->received = (int64_t)t + 3600;
			snprintf(st->calling_ae, sizeof(st->calling_ae), "%s_01", sh->modality);
			g->made++;
			if (g->part10 != NULL && (rc = write_part10(g, inst)) < 0)
				return rc;
			if (++g->pending == g->batch_size && (rc = flush(g)) < 0)
				return rc;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: gen_index [--instances N] [--batch N] [--seed S] [--scale F]\n"
			"                 [--part10 DIR] [--no-index] INDEX_PATH\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct gen g = {0};
	const char *path = NULL;
	struct timespec t0, t1;
	unsigned long long seed = 1;
	double secs;
	int rc = 0;

	g.target = 100000;
	g.batch_size = 1000;
	g.scale = 1.0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--instances") == 0 && i + 1 < argc)
			g.target = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			g.batch_size = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
			g.scale = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--part10") == 0 && i + 1 < argc)
			g.part10 = argv[++i];
		else if (strcmp(argv[i], "--no-index") == 0)
			g.no_index = true;
		else if (argv[i][0] == '-' || path != NULL)
			usage();
		else
			path = argv[i];
	}
	if (path == NULL || g.batch_size == 0 || g.target == 0 || !(g.scale > 0 && g.scale <= 100))
		usage();
	g.rng = seed;
	g.batch = calloc(g.batch_size, sizeof(*g.batch));
	g.res = calloc(g.batch_size, sizeof(*g.res));
	if (g.batch == NULL || g.res == NULL)
		return 1;
	for (unsigned i = 0; i < g.batch_size; i++)
		if (store_index_instance_new(&g.batch[i]) < 0)
			return 1;
	if (g.no_index && g.part10 == NULL)
		usage();
	if (g.part10 != NULL && mkdir(g.part10, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "gen_index: mkdir %s: %s\n", g.part10, strerror(errno));
		return 2;
	}
	if (!g.no_index && store_index_open(&g.idx, path, NULL) < 0) {
		fprintf(stderr, "gen_index: %s\n", arca_error_last());
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rc == 0 && g.made < g.target) {
		/* A patient has 1 to 4 studies (mostly 1). */
		unsigned n = 1 + (rnd(&g) % 8 == 0 ? 3 : rnd(&g) % 4 == 0 ? 1 : 0);

		new_patient(&g);
		for (unsigned s = 0; rc == 0 && s < n && g.made < g.target; s++)
			rc = new_study(&g);
	}
	if (rc == 0)
		rc = flush(&g);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc < 0) {
		fprintf(stderr, "gen_index: %s\n", arca_error_last());
		return 1;
	}
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("gen_index: %llu instances, %llu series, %llu studies, %llu patients in %.1f s "
	       "(%.0f instances/s, batches of %u)\n",
	       (unsigned long long)g.made, (unsigned long long)g.series, (unsigned long long)g.studies,
	       (unsigned long long)g.patients, secs, (double)g.made / secs, g.batch_size);
	for (unsigned i = 0; i < g.batch_size; i++)
		store_index_instance_free(g.batch[i]);
	free(g.batch);
	free(g.res);
	store_index_free(g.idx);
	return 0;
}
