/* pacs_ds_priv.h - data set internals shared by the files of pacs/
 * (reader, writer, JSON, dump).  Not a public header. */
#ifndef PACS_DS_PRIV_H
#define PACS_DS_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "pacs_arena.h"
#include "pacs_ds.h"

typedef struct pacs_fragment {
	uint8_t *data;
	uint32_t len;
	uint64_t offset; /* of the item tag in the stream read */
} pacs_fragment;

struct pacs_elem {
	uint32_t tag;
	uint32_t length; /* as encoded */
	uint8_t vr;      /* pacs_vr */
	uint8_t flags;   /* enum pacs_elem_flag */
	uint64_t offset;
	union {
		uint8_t *value; /* arena, `length` bytes (NULL only if bulk) */
		struct {
			pacs_ds **items;
			uint32_t n, cap;
		} seq;
		struct {
			pacs_fragment *frags;
			uint32_t n, cap;
		} enc;
	} u;
};

typedef struct pacs_root {
	pacs_arena arena;
	bool has_preamble;
	uint8_t preamble[128];
	char source_ts[65];
} pacs_root;

struct pacs_ds {
	pacs_elem *elems; /* arena */
	uint32_t n, cap;
	pacs_root *root;
	pacs_ds *parent;
	uint32_t item_length;
	uint64_t offset;
	bool unsorted; /* an element was appended out of tag order */
};

/* Appends an element at the end (the reader keeps stream order); returns
 * NULL on allocation failure.  The element is zeroed except tag/vr. */
pacs_elem *pacs_ds__append(pacs_ds *ds, uint32_t tag, pacs_vr vr);
/* New empty item owned by seq's root, appended to seq. */
pacs_ds *pacs_ds__new_item(pacs_ds *parent, pacs_elem *seq);
/* Appends a fragment referencing `data` (already in the arena). */
int pacs_ds__add_fragment_ref(pacs_ds *ds, pacs_elem *e, uint8_t *data, uint32_t len, uint64_t offset);
pacs_arena *pacs_ds__arena(pacs_ds *ds);

#endif
