/* pacs_pdu_priv.h - internals shared by the PDU decoders (pacs_pdu_*.c).
 *
 * The decoders read through the shared bounded cursor (pacs_cursor.h).  A
 * span adds what PDU error messages need: the PDU offset where the
 * cursor's bytes end, so that the offset of the next byte is end - left.
 * Items are parsed through sub-spans cut to the item's declared length,
 * so an item can never read into its neighbour or past the PDU. */
#ifndef PACS_PDU_PRIV_H
#define PACS_PDU_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pacs_cursor.h"

typedef struct pacs_pdu_span {
	pacs_cursor c;
	size_t end; /* PDU offset just past the span's last byte */
} pacs_pdu_span;

/* A span over len bytes that start at PDU offset off.  A NULL p is read
 * as empty (and keeps the cursor away from NULL + 0). */
static inline void pacs_pdu_span_init(pacs_pdu_span *s, const uint8_t *p, size_t len, size_t off)
{
	static const uint8_t empty[1];

	if (p == NULL) {
		p = empty;
		len = 0;
	}
	s->c = pacs_cursor_make(p, len);
	s->end = off + len;
}

static inline size_t pacs_pdu_span_off(const pacs_pdu_span *s)
{
	return s->end - pacs_cursor_left(&s->c);
}

static inline size_t pacs_pdu_span_left(const pacs_pdu_span *s)
{
	return pacs_cursor_left(&s->c);
}

static inline bool pacs_pdu_span_done(const pacs_pdu_span *s)
{
	return pacs_cursor_left(&s->c) == 0;
}

/* Cuts the next n bytes into *sub and moves s past them. */
static inline bool pacs_pdu_span_sub(pacs_pdu_span *s, size_t n, pacs_pdu_span *sub)
{
	size_t off = pacs_pdu_span_off(s);
	const uint8_t *p;

	if (!pacs_cursor_take(&s->c, n, &p))
		return false;
	sub->c = pacs_cursor_make(p, n);
	sub->end = off + n;
	return true;
}

#endif
