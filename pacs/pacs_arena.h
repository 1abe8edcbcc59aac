/* pacs_arena.h - bump allocator owned by a root data set (internal to pacs/).
 * Every element, item and value of one data set tree lives in its arena,
 * so reading allocates a few large blocks instead of one block per value
 * and freeing the tree is one walk over the block list. */
#ifndef PACS_ARENA_H
#define PACS_ARENA_H

#include <stddef.h>

typedef struct pacs_arena_block pacs_arena_block;

typedef struct pacs_arena {
	pacs_arena_block *head;
	size_t used_total; /* bytes handed out, for limits and tests */
} pacs_arena;

void pacs_arena__init(pacs_arena *a);
void pacs_arena__release(pacs_arena *a);
/* 16-byte aligned; NULL on allocation failure. */
void *pacs_arena__alloc(pacs_arena *a, size_t size);
void *pacs_arena__memdup(pacs_arena *a, const void *src, size_t size);
/* Grows an array allocated in the arena: returns a new block with the old
 * contents copied (the old block stays until release). */
void *pacs_arena__grow(pacs_arena *a, void *old, size_t old_size, size_t new_size);

#endif
