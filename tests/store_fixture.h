/* store_fixture.h - the temporary archive shared by the storage unit tests:
 * a content-addressed ingest opened on a fresh directory exactly as arcad
 * opens it, instances fed to it as the C-STORE SCP feeds them (begin, the
 * encoded data set through a pacs_reader in PDV-sized slices whose bulk
 * events go to bulk(), commit with the metadata the reader returns), and
 * the cleanup.  Test code only: failures of the fixture itself are cmocka
 * failures, what the code under test answers is returned to the test. */
#ifndef ARCA_TESTS_STORE_FIXTURE_H
#define ARCA_TESTS_STORE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "pacs_ds.h"
#include "pacs_ingest.h"
#include "store_cas.h"
#include "store_ingest.h"

/* the C-STORE SCP's bulk threshold (pacs_svc_store.c) */
#define STORE_FIXTURE_BULK_THRESHOLD (64u * 1024u)

typedef struct store_fixture {
	char root[64];   /* the archive directory, removed by teardown */
	char index[96];  /* root/index.db */
	store_ingest_cas *s;
	pacs_ingest ingest; /* f->s's operations, as arcad wires them */
} store_fixture;

/* A fresh /tmp/arca-<name>-test-XXXXXX with the ingest open on it (no
 * options); fails the test when it cannot. */
store_fixture *store_fixture_new(const char *name);
/* cmocka teardown for a fixture from store_fixture_new in *state. */
int store_fixture_teardown(void **state);
/* Opens (again) the ingest on f->root with o (NULL: defaults). */
void store_fixture_open(store_fixture *f, const store_ingest_cas_options *o);
/* Closes the ingest, removes the directory, frees f. */
void store_fixture_free(store_fixture *f);

/* The manifest address of sop's current version, from the index. */
void store_fixture_manifest_of(store_fixture *f, const char *sop, uint8_t out[STORE_CAS_HASH_LEN]);

/* Flips one bit of the byte in the middle of the file at path. */
void store_fixture_flip_byte(const char *path);
/* Damages the first chunk of f's store that is not manifest (for one
 * instance: its pixel chunk) with store_fixture_flip_byte; fails the test
 * when there is none. */
void store_fixture_damage_chunk(store_fixture *f, const uint8_t manifest[STORE_CAS_HASH_LEN]);

/* Where the generated images of a test program belong. */
typedef struct store_fixture_study {
	const char *patient_id;
	const char *study_uid, *series_uid;
	const char *study_date; /* NULL: no Study Date */
} store_fixture_study;

/* The header of a 16-bit (12 stored) MONOCHROME2 image of class cls,
 * rows x cols x frames, patient DOE^JANE, without Pixel Data. */
pacs_ds *store_fixture_image(const store_fixture_study *st, const char *cls, const char *sop, unsigned rows,
			     unsigned cols, unsigned frames);

/* A growing buffer for pacs_write / store_instance_send sinks. */
typedef struct store_fixture_mem {
	uint8_t *data;
	size_t len, cap;
	size_t calls; /* how many times the sink was called */
} store_fixture_mem;

int store_fixture_mem_sink(void *ctx, const uint8_t *data, size_t len);

/* 16-bit little-endian pixels of a smooth phantom with noise from seed:
 * they compress like a real CT. */
void store_fixture_fill_pixels(uint8_t *p, size_t bytes, unsigned seed);

/* How one association sends one instance. */
typedef struct store_fixture_send {
	const char *calling;  /* Calling AE Title (NULL: "MODALITY") */
	const char *ts;       /* transfer syntax of the stream */
	size_t slice;         /* PDV size; 0: the whole stream in one feed */
	size_t slice_alt;     /* when not 0, PDVs alternate slice, slice_alt */
	size_t stop_after;    /* when not 0: abort once this many bytes are fed */
} store_fixture_send;

/* begin, data through a reader in slices (bulk events to the ingest),
 * then commit.  Returns commit's value with its answer in *res; 0 after
 * an abort on stop_after; the reader's error (transaction aborted) when
 * the stream does not parse. */
int store_fixture_stream(const pacs_ingest *in, const uint8_t *data, size_t len, const char *sop, const char *cls,
			 const store_fixture_send *how, pacs_ingest_result *res);

/* ds encoded in how->ts as a peer sends it (no meta group), then
 * store_fixture_stream with its SOP Class and Instance UIDs.  ARCA_EINVAL
 * when ds lacks them, the writer's error when it cannot be encoded. */
int store_fixture_store(const pacs_ingest *in, const pacs_ds *ds, const store_fixture_send *how,
			pacs_ingest_result *res);

/* store_fixture_store that fails the test unless the answer is Success. */
void store_fixture_store_ok(const pacs_ingest *in, const pacs_ds *ds, const store_fixture_send *how);

#endif
