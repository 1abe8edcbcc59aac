/* fuzz_read.c - libFuzzer target for the DICOM reader (pacs_read.h).
 *
 * Each input is read several ways with small limits: whole, and fed in
 * pieces whose sizes come from the input's first and last bytes; without
 * and with a bulk threshold (bulk values to a callback, or skipped with
 * pacs_reader_skip); and stopping at pixel data.  Besides the sanitizers,
 * the oracle is that a split read must give exactly the whole read's
 * result (same code, same tree), which is the reader's contract. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pacs_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FNV-1a over everything observable in a tree. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix_u64(uint64_t h, uint64_t v)
{
	return mix(h, &v, sizeof(v));
}

/* Recursion is bounded by max_depth below. */
static uint64_t hash_ds(uint64_t h, const pacs_ds *ds)
{
	h = mix_u64(h, pacs_ds_count(ds));
	h = mix_u64(h, pacs_ds_item_length(ds));
	h = mix_u64(h, pacs_ds_offset(ds));
	for (size_t i = 0; i < pacs_ds_count(ds); i++) {
		const pacs_elem *e = pacs_ds_at(ds, i);
		const uint8_t *v;
		uint32_t len;

		h = mix_u64(h, pacs_elem_tag(e));
		h = mix_u64(h, pacs_elem_vr(e));
		h = mix_u64(h, pacs_elem_flags(e));
		h = mix_u64(h, pacs_elem_length(e));
		h = mix_u64(h, pacs_elem_offset(e));
		for (size_t k = 0; k < pacs_elem_item_count(e); k++)
			h = hash_ds(h, pacs_elem_item(e, k));
		for (size_t k = 0; k < pacs_elem_fragment_count(e); k++) {
			v = pacs_elem_fragment(e, k, &len);
			h = mix(mix_u64(h, len), v, len);
		}
		v = pacs_elem_value(e, &len);
		if (v != NULL)
			h = mix(mix_u64(h, len), v, len);
	}
	return h;
}

static uint64_t hash_root(const pacs_ds *ds)
{
	const char *ts = pacs_ds_source_ts(ds);
	const uint8_t *pre = pacs_ds_preamble(ds);
	uint64_t h = mix(0xcbf29ce484222325ull, ts, strlen(ts));

	if (pre != NULL)
		h = mix(h, pre, 128);
	return hash_ds(h, ds);
}

typedef struct bulk_sum {
	uint64_t bytes;
	uint8_t x;
} bulk_sum;

static int bulk_cb(void *ctx, const pacs_bulk_event *ev)
{
	bulk_sum *s = ctx;

	if (ev->kind == PACS_BULK_DATA) {
		for (size_t i = 0; i < ev->data_len; i++)
			s->x ^= ev->data[i];
		s->bytes += ev->data_len;
	}
	return 0;
}

typedef struct result {
	int rc;
	uint64_t hash;
	uint64_t bulk_bytes;
} result;

/* split 0: the whole input in one call.  skip: use pacs_reader_skip for
 * what can be skipped, in pieces of `split`. */
static result run(const uint8_t *data, size_t size, const pacs_read_opts *o, size_t split, int skip)
{
	result res = { 0, 0, 0 };
	bulk_sum sum = { 0, 0 };
	pacs_read_opts opts = *o;
	pacs_reader *r = NULL;
	pacs_ds *ds = NULL;
	size_t i = 0;

	if (opts.bulk_fn != NULL)
		opts.bulk_ctx = &sum;
	res.rc = pacs_reader_new(&r, &opts);
	if (res.rc < 0)
		return res;
	while (res.rc == 0 && i < size && !pacs_reader_done(r)) {
		size_t k = split == 0 || split > size - i ? size - i : split;
		uint64_t can = skip ? pacs_reader_skippable(r) : 0;
		if (can > 0) {
			if (can > k)
				can = k;
			res.rc = pacs_reader_skip(r, can);
			i += (size_t)can;
			continue;
		}
		res.rc = pacs_reader_feed(r, data + i, k);
		i += k;
	}
	if (res.rc == 0)
		res.rc = pacs_reader_finish(r, &ds);
	if (res.rc == 0)
		res.hash = hash_root(ds);
	res.bulk_bytes = sum.bytes;
	pacs_ds_free(ds);
	pacs_reader_free(r);
	return res;
}

/* Bulk bytes handed out before an error may differ (a streaming reader
 * cannot take back what it delivered), so they are compared on success. */
static void same(result a, result b)
{
	if (a.rc != b.rc || a.hash != b.hash || (a.rc == 0 && a.bulk_bytes != b.bulk_bytes))
		abort(); /* a split changed the result */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pacs_read_opts o;
	size_t split1 = size > 0 ? 1 + data[0] % 13 : 1;
	size_t split2 = size > 0 ? 1 + (size_t)data[size - 1] * 3 : 7;

	pacs_read_opts_init(&o);
	o.max_value_length = 1u << 20;
	o.max_total = 8u << 20;
	o.max_inflated = 4u << 20;
	o.max_depth = 24;
	same(run(data, size, &o, 0, 0), run(data, size, &o, split1, 0));

	o.bulk_threshold = 16;
	o.bulk_fn = bulk_cb;
	same(run(data, size, &o, 0, 0), run(data, size, &o, split2, 0));

	o.bulk_fn = NULL;
	same(run(data, size, &o, 0, 0), run(data, size, &o, split1, 1));

	o.bulk_threshold = 0;
	o.stop_at_pixel_data = 1;
	o.input = size > 0 && (data[0] & 1) ? PACS_INPUT_DATASET : PACS_INPUT_AUTO;
	o.ts_uid = size > 1 && (data[1] & 1) ? "1.2.840.10008.1.2.1.99" : NULL;
	same(run(data, size, &o, 0, 0), run(data, size, &o, split2, 0));
	return 0;
}
