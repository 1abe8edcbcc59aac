/* pacs_buf.c - growable byte buffer with a mandatory size cap (see pacs_buf.h). */
#include "pacs_buf.h"

#include <stdlib.h>
#include <string.h>

#include "arca_err.h"

#define BUF_MIN_ALLOC 256u

void pacs_buf_init(pacs_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void pacs_buf_free(pacs_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void pacs_buf_reset(pacs_buf *b)
{
	b->len = 0;
}

void pacs_buf_truncate(pacs_buf *b, size_t len)
{
	if (len < b->len)
		b->len = len;
}

const uint8_t *pacs_buf_data(const pacs_buf *b)
{
	return b->data;
}

size_t pacs_buf_len(const pacs_buf *b)
{
	return b->len;
}

size_t pacs_buf_max(const pacs_buf *b)
{
	return b->max;
}

/* Makes room for n more bytes: doubling, but never past the cap. */
static int buf_reserve(pacs_buf *b, size_t n)
{
	size_t need, alloc;
	uint8_t *p;

	if (n > b->max - b->len)
		return arca_error_set(ARCA_ELIMIT,
				      "buffer: %zu more bytes would pass the cap of %zu bytes (%zu used)",
				      n, b->max, b->len);
	need = b->len + n;
	if (need <= b->alloc)
		return 0;
	alloc = b->alloc < BUF_MIN_ALLOC ? BUF_MIN_ALLOC : b->alloc;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
	if (alloc > b->max)
		alloc = b->max;
	p = realloc(b->data, alloc);
	if (p == NULL)
		return arca_error_set(ARCA_ENOMEM, "buffer: cannot grow to %zu bytes", alloc);
	b->data = p;
	b->alloc = alloc;
	return 0;
}

int pacs_buf_add(pacs_buf *b, const void *data, size_t len)
{
	int rc;

	if (len == 0)
		return 0;
	rc = buf_reserve(b, len);
	if (rc < 0)
		return rc;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int pacs_buf_add_fill(pacs_buf *b, uint8_t c, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = buf_reserve(b, n);
	if (rc < 0)
		return rc;
	memset(b->data + b->len, c, n);
	b->len += n;
	return 0;
}

int pacs_buf_add_u8(pacs_buf *b, uint8_t v)
{
	return pacs_buf_add(b, &v, 1);
}

int pacs_buf_add_u16be(pacs_buf *b, uint16_t v)
{
	const uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return pacs_buf_add(b, x, sizeof(x));
}

int pacs_buf_add_u32be(pacs_buf *b, uint32_t v)
{
	const uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
			       (uint8_t)v };

	return pacs_buf_add(b, x, sizeof(x));
}

int pacs_buf_set_u16be(pacs_buf *b, size_t at, uint16_t v)
{
	if (at > b->len || b->len - at < 2)
		return arca_error_set(ARCA_EINVAL, "buffer: 2-byte field at %zu is outside the %zu bytes held",
				      at, b->len);
	b->data[at] = (uint8_t)(v >> 8);
	b->data[at + 1] = (uint8_t)v;
	return 0;
}

int pacs_buf_set_u32be(pacs_buf *b, size_t at, uint32_t v)
{
	if (at > b->len || b->len - at < 4)
		return arca_error_set(ARCA_EINVAL, "buffer: 4-byte field at %zu is outside the %zu bytes held",
				      at, b->len);
	b->data[at] = (uint8_t)(v >> 24);
	b->data[at + 1] = (uint8_t)(v >> 16);
	b->data[at + 2] = (uint8_t)(v >> 8);
	b->data[at + 3] = (uint8_t)v;
	return 0;
}

int pacs_buf_sink(void *ctx, const uint8_t *data, size_t len)
{
	return pacs_buf_add(ctx, data, len);
}
