/* pacs_arena.c - bump allocator for data set trees (see pacs_arena.h). */
#include "pacs_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_SIZE (64u * 1024u)
#define ARENA_ALIGN 16u

struct pacs_arena_block {
	pacs_arena_block *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

void pacs_arena__init(pacs_arena *a)
{
	a->head = NULL;
	a->used_total = 0;
}

void pacs_arena__release(pacs_arena *a)
{
	pacs_arena_block *b = a->head;

	while (b != NULL) {
		pacs_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->used_total = 0;
}

static pacs_arena_block *arena_new_block(size_t size)
{
	pacs_arena_block *b = malloc(sizeof(*b) + size);

	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

void *pacs_arena__alloc(pacs_arena *a, size_t size)
{
	pacs_arena_block *b = a->head;
	size_t rounded;

	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (rounded == 0)
		rounded = ARENA_ALIGN;
	if (b == NULL || b->size - b->used < rounded) {
		if (rounded > ARENA_BLOCK_SIZE / 4) {
			/* A large value gets a block of its own, linked behind
			 * the current one so the current keeps serving small
			 * allocations. */
			pacs_arena_block *big = arena_new_block(rounded);
			if (big == NULL)
				return NULL;
			big->used = rounded;
			if (b == NULL) {
				a->head = big;
			} else {
				big->next = b->next;
				b->next = big;
			}
			a->used_total += rounded;
			return big->data;
		}
		b = arena_new_block(ARENA_BLOCK_SIZE);
		if (b == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += rounded;
	a->used_total += rounded;
	return p;
}

void *pacs_arena__memdup(pacs_arena *a, const void *src, size_t size)
{
	void *p = pacs_arena__alloc(a, size);

	if (p != NULL && size > 0)
		memcpy(p, src, size);
	return p;
}

void *pacs_arena__grow(pacs_arena *a, void *old, size_t old_size, size_t new_size)
{
	void *p = pacs_arena__alloc(a, new_size);

	if (p != NULL && old != NULL && old_size > 0)
		memcpy(p, old, old_size < new_size ? old_size : new_size);
	return p;
}
