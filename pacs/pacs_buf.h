/* pacs_buf.h - growable byte buffer with a mandatory size cap.
 *
 * Encoders (PDUs today, DIMSE and write queues later) append to a
 * pacs_buf.  Every buffer has a maximum size fixed when it is initialised,
 * as curl's dynbuf does, so that no input can make arca grow a buffer
 * without bound: an append that would pass the cap fails with ARCA_ELIMIT
 * and leaves the buffer unchanged.
 *
 * The struct is public so that it can live inside other structs without
 * an allocation of its own; its fields are private: read the contents
 * with pacs_buf_data() and pacs_buf_len(). */
#ifndef PACS_BUF_H
#define PACS_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct pacs_buf {
	uint8_t *data;  /* private */
	size_t len;     /* private */
	size_t alloc;   /* private */
	size_t max;     /* private */
} pacs_buf;

/* An empty buffer that will never hold more than max bytes. No allocation. */
void pacs_buf_init(pacs_buf *b, size_t max);

/* Releases the memory; the buffer is empty and usable again (same cap).
 * Accepts NULL. */
void pacs_buf_free(pacs_buf *b);

/* Empties the buffer and keeps its memory for reuse. */
void pacs_buf_reset(pacs_buf *b);

/* Shortens the buffer to len bytes (no-op if it is not longer); encoders
 * use it to take back a partial append after an error. */
void pacs_buf_truncate(pacs_buf *b, size_t len);

/* Borrowed: valid until the next append, truncate to 0 or free. NULL while
 * nothing was ever appended. */
const uint8_t *pacs_buf_data(const pacs_buf *b);
size_t pacs_buf_len(const pacs_buf *b);
size_t pacs_buf_max(const pacs_buf *b);

/* Appends; ARCA_ELIMIT past the cap, ARCA_ENOMEM. The buffer is unchanged
 * on error. */
int pacs_buf_add(pacs_buf *b, const void *data, size_t len);
int pacs_buf_add_u8(pacs_buf *b, uint8_t v);
int pacs_buf_add_u16be(pacs_buf *b, uint16_t v);
int pacs_buf_add_u32be(pacs_buf *b, uint32_t v);
/* Appends n copies of byte c. */
int pacs_buf_add_fill(pacs_buf *b, uint8_t c, size_t n);

/* pacs_write_sink_fn (pacs_write.h) appending to the pacs_buf ctx: the
 * one way a data set is encoded into memory. */
int pacs_buf_sink(void *ctx, const uint8_t *data, size_t len);

/* Overwrites bytes already in the buffer at offset at (used to patch a
 * length field once the content after it is known); ARCA_EINVAL if the
 * field is not entirely inside the buffer. */
int pacs_buf_set_u16be(pacs_buf *b, size_t at, uint16_t v);
int pacs_buf_set_u32be(pacs_buf *b, size_t at, uint32_t v);

#endif
