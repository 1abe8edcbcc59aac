/* pacs_cursor.h - a bounded read cursor for parsers (internal to arca).
 *
 * A cursor is a pointer plus the number of bytes left.  Every read checks
 * the bytes left first and fails cleanly (returns false, cursor unchanged)
 * at the end of the data, so a parser built on it never reads out of
 * bounds and never does pointer arithmetic of its own.  The helpers are
 * static inline so the hot paths of the DICOM and PDU parsers cost no call. */
#ifndef PACS_CURSOR_H
#define PACS_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pacs_cursor {
	const uint8_t *p;
	size_t left;
} pacs_cursor;

static inline pacs_cursor pacs_cursor_make(const uint8_t *p, size_t len)
{
	pacs_cursor c = { p, len };
	return c;
}

static inline size_t pacs_cursor_left(const pacs_cursor *c)
{
	return c->left;
}

/* Borrowed pointer to the next n bytes, consumed. */
static inline bool pacs_cursor_take(pacs_cursor *c, size_t n, const uint8_t **out)
{
	if (c->left < n)
		return false;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static inline bool pacs_cursor_skip(pacs_cursor *c, size_t n)
{
	const uint8_t *unused;
	return pacs_cursor_take(c, n, &unused);
}

/* The bytes left, borrowed, without consuming them (pair with
 * pacs_cursor_skip once they have been used). */
static inline size_t pacs_cursor_rest(const pacs_cursor *c, const uint8_t **out)
{
	*out = c->p;
	return c->left;
}

/* Byte `at` ahead of the cursor without consuming it. */
static inline bool pacs_cursor_peek_u8(const pacs_cursor *c, size_t at, uint8_t *v)
{
	if (c->left <= at)
		return false;
	*v = c->p[at];
	return true;
}

static inline bool pacs_cursor_u8(pacs_cursor *c, uint8_t *v)
{
	const uint8_t *b;
	if (!pacs_cursor_take(c, 1, &b))
		return false;
	*v = b[0];
	return true;
}

static inline bool pacs_cursor_u16le(pacs_cursor *c, uint16_t *v)
{
	const uint8_t *b;
	if (!pacs_cursor_take(c, 2, &b))
		return false;
	*v = (uint16_t)(b[0] | (unsigned)b[1] << 8);
	return true;
}

static inline bool pacs_cursor_u16be(pacs_cursor *c, uint16_t *v)
{
	const uint8_t *b;
	if (!pacs_cursor_take(c, 2, &b))
		return false;
	*v = (uint16_t)((unsigned)b[0] << 8 | b[1]);
	return true;
}

static inline bool pacs_cursor_u32le(pacs_cursor *c, uint32_t *v)
{
	const uint8_t *b;
	if (!pacs_cursor_take(c, 4, &b))
		return false;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return true;
}

static inline bool pacs_cursor_u32be(pacs_cursor *c, uint32_t *v)
{
	const uint8_t *b;
	if (!pacs_cursor_take(c, 4, &b))
		return false;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
	return true;
}

static inline bool pacs_cursor_u16(pacs_cursor *c, bool big_endian, uint16_t *v)
{
	return big_endian ? pacs_cursor_u16be(c, v) : pacs_cursor_u16le(c, v);
}

static inline bool pacs_cursor_u32(pacs_cursor *c, bool big_endian, uint32_t *v)
{
	return big_endian ? pacs_cursor_u32be(c, v) : pacs_cursor_u32le(c, v);
}

#endif
