/* pacs_scu_get.c - C-GET as an SCU (PS3.4 C.4.3, PS3.7 9.1.3 and 9.3.3),
 * and a store handler that writes what arrives as Part 10 files.
 *
 * A C-GET SCU is also the C-STORE SCP of its sub-operations, on the same
 * association (PS3.4 C.4.3.3): it proposes a presentation context for
 * each storage SOP class it wants and the SCP role for it with an
 * SCP/SCU Role Selection item (PS3.7 D.3.3.4; the caller puts both in
 * pacs_scu_opts).  While pacs_scu_get() waits for the C-GET responses,
 * each C-STORE-RQ the peer sends is handed to the store handler, its data
 * set streamed to it as the fragments arrive (never held whole), and
 * answered with the handler's status (pacs_scu.c, store_begin/store_data).
 * After each sub-operation the peer sends a pending C-GET-RSP with the
 * counts; the final response ends it (0000H, B000H with the Failed SOP
 * Instance UID List, A701H/A702H, A900H, Cxxx, or FE00H after a
 * C-CANCEL-RQ, PS3.7 9.3.3.3). */
#include "pacs_scu_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_write.h"

int pacs_scu_get(pacs_scu *scu, const char *sop_class, const pacs_ds *identifier,
		 const pacs_scu_store_handler *store, pacs_scu_retrieve_fn fn, void *ctx,
		 pacs_scu_retrieve_result *out)
{
	const scu_ctx *c;
	pacs_dimse_cmd cmd;
	int rc;

	memset(out, 0, sizeof(*out));
	if (scu == NULL || sop_class == NULL || identifier == NULL || store == NULL || store->begin == NULL ||
	    store->data == NULL || store->end == NULL)
		return arca_error_set(ARCA_EINVAL, "scu: C-GET needs a SOP class, an identifier and a store handler");
	if (!pacs_scu_established(scu))
		return arca_error_set(ARCA_EINVAL, "scu: C-GET: no association (it has ended or was never made)");
	c = pacs_scu__ctx_for(scu, sop_class, NULL);
	if (c == NULL)
		return arca_error_set(ARCA_EUNSUPPORTED, "%s accepted no presentation context for %s", scu->called_ae,
				      sop_class);
	/* PS3.7 9.3.3.1, Table 9.3-7 */
	pacs_dimse_cmd_init(&cmd, PACS_DIMSE_C_GET_RQ);
	cmd.has_data_set = true;
	if ((rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MESSAGE_ID, pacs_scu__message_id(scu))) < 0 ||
	    (rc = pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_PRIORITY, PACS_DIMSE_PRIORITY_MEDIUM)) < 0 ||
	    (rc = pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_CLASS, sop_class)) < 0)
		return rc;
	scu->store_h = store;
	rc = pacs_scu__retrieve(scu, c, &cmd, identifier, fn, ctx, out);
	/* an association that failed mid-instance: the handler drops it */
	pacs_scu__store_abandon(scu);
	scu->store_h = NULL;
	return rc;
}

/* ------------------------------------------------------------ file sink */

#define SINK_ERR_MAX 256u

struct pacs_scu_file_sink {
	char dir[PATH_MAX];
	char source_ae[PACS_DIMSE_AE_MAX + 1];
	pacs_scu_store_handler h;
	void (*on_file)(void *ctx, const char *path, const char *sop_uid, uint64_t bytes);
	void *on_file_ctx;
	/* the instance being received */
	int fd;
	char tmp[PATH_MAX];
	char path[PATH_MAX];
	char uid[PACS_DIMSE_UID_MAX + 1];
	uint64_t cur_bytes;
	bool dir_dirty;          /* files renamed since the folder was synced */
	/* totals */
	size_t count;
	uint64_t bytes;
	char err[SINK_ERR_MAX];
};

/* Remembers the first failure: "<what> <path>: <reason>". */
static void sink_fail(pacs_scu_file_sink *s, const char *what, const char *path, int err)
{
	if (s->err[0] == '\0')
		snprintf(s->err, sizeof(s->err), "%s %s: %s", what, path, err != 0 ? strerror(err) : "path too long");
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

typedef struct meta_buf {
	uint8_t b[1024];
	size_t n;
} meta_buf;

static void put_u16(meta_buf *m, uint16_t v)
{
	m->b[m->n++] = (uint8_t)(v & 0xFF);
	m->b[m->n++] = (uint8_t)(v >> 8);
}

static void put_u32(meta_buf *m, uint32_t v)
{
	put_u16(m, (uint16_t)(v & 0xFFFF));
	put_u16(m, (uint16_t)(v >> 16));
}

/* One group 0002 element, Explicit VR Little Endian (PS3.10 7.1); the
 * value padded to even length with pad (PS3.5 6.2: NUL for UI, space for
 * SH and AE).  Values here are at most 64 bytes: the buffer holds them. */
static void put_elem(meta_buf *m, uint16_t element, const char vr[2], const void *value, size_t len, uint8_t pad)
{
	size_t padded = len + (len & 1u);

	put_u16(m, 0x0002);
	put_u16(m, element);
	m->b[m->n++] = (uint8_t)vr[0];
	m->b[m->n++] = (uint8_t)vr[1];
	if (vr[0] == 'O' && vr[1] == 'B') {
		put_u16(m, 0); /* PS3.5 7.1.2: reserved, then a 32-bit length */
		put_u32(m, (uint32_t)padded);
	} else {
		put_u16(m, (uint16_t)padded);
	}
	memcpy(&m->b[m->n], value, len);
	m->n += len;
	if (padded > len)
		m->b[m->n++] = pad;
}

/* PS3.10 7.1 File Meta Information of an instance received by C-STORE. */
static void build_meta(meta_buf *m, const pacs_dimse_cmd *rq, const char *ts, const char *source_ae)
{
	static const uint8_t version[2] = {0x00, 0x01};
	size_t len_at;

	memset(m->b, 0, 128); /* preamble */
	memcpy(&m->b[128], "DICM", 4);
	m->n = 132;
	put_elem(m, 0x0000, "UL", "\0\0\0\0", 4, 0);
	len_at = m->n - 4;
	put_elem(m, 0x0001, "OB", version, 2, 0);
	put_elem(m, 0x0002, "UI", rq->affected_sop_class, strlen(rq->affected_sop_class), 0);
	put_elem(m, 0x0003, "UI", rq->affected_sop_instance, strlen(rq->affected_sop_instance), 0);
	put_elem(m, 0x0010, "UI", ts, strlen(ts), 0);
	put_elem(m, 0x0012, "UI", PACS_IMPLEMENTATION_CLASS_UID, strlen(PACS_IMPLEMENTATION_CLASS_UID), 0);
	put_elem(m, 0x0013, "SH", PACS_IMPLEMENTATION_VERSION, strlen(PACS_IMPLEMENTATION_VERSION), ' ');
	if (source_ae[0] != '\0')
		put_elem(m, 0x0016, "AE", source_ae, strlen(source_ae), ' ');
	/* (0002,0000): the bytes after it to the end of the group */
	uint32_t glen = (uint32_t)(m->n - len_at - 4);
	m->b[len_at] = (uint8_t)(glen & 0xFF);
	m->b[len_at + 1] = (uint8_t)((glen >> 8) & 0xFF);
	m->b[len_at + 2] = (uint8_t)((glen >> 16) & 0xFF);
	m->b[len_at + 3] = (uint8_t)(glen >> 24);
}

static bool uid_is_name(const char *uid)
{
	size_t n = strlen(uid);

	/* PS3.5 9.1: digits and dots; also what keeps the name inside dir */
	return n > 0 && n <= PACS_DIMSE_UID_MAX && strspn(uid, "0123456789.") == n && uid[0] != '.';
}

static void sink_drop(pacs_scu_file_sink *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		unlink(s->tmp);
	}
}

static uint16_t sink_begin(void *ctx, const pacs_dimse_cmd *rq, const char *ts)
{
	pacs_scu_file_sink *s = ctx;
	meta_buf m;

	sink_drop(s);
	if ((rq->present & PACS_DIMSE_F_AFFECTED_SOP_INSTANCE) == 0 || !uid_is_name(rq->affected_sop_instance) ||
	    (rq->present & PACS_DIMSE_F_AFFECTED_SOP_CLASS) == 0)
		return PACS_DIMSE_CANNOT_UNDERSTAND;
	snprintf(s->uid, sizeof(s->uid), "%s", rq->affected_sop_instance);
	if (snprintf(s->path, sizeof(s->path), "%s/%s.dcm", s->dir, s->uid) >= (int)sizeof(s->path) ||
	    snprintf(s->tmp, sizeof(s->tmp), "%s/.%s.XXXXXX", s->dir, s->uid) >= (int)sizeof(s->tmp)) {
		sink_fail(s, "cannot name a file in", s->dir, 0);
		return PACS_DIMSE_OUT_OF_RESOURCES;
	}
	s->fd = mkstemp(s->tmp); /* mode 0600: the file holds patient data */
	if (s->fd < 0) {
		sink_fail(s, "cannot create a file in", s->dir, errno);
		return PACS_DIMSE_OUT_OF_RESOURCES;
	}
	build_meta(&m, rq, ts, s->source_ae);
	if (write_all(s->fd, m.b, m.n) < 0) {
		sink_fail(s, "writing", s->tmp, errno);
		sink_drop(s);
		return PACS_DIMSE_OUT_OF_RESOURCES;
	}
	s->cur_bytes = m.n;
	return 0;
}

static int sink_data(void *ctx, const uint8_t *bytes, size_t len)
{
	pacs_scu_file_sink *s = ctx;

	if (s->fd < 0)
		return ARCA_EINVAL;
	if (write_all(s->fd, bytes, len) < 0) {
		sink_fail(s, "writing", s->tmp, errno);
		sink_drop(s);
		return arca_error_set(ARCA_EIO, "%s", s->err);
	}
	s->cur_bytes += len;
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return rc;
}

static uint16_t sink_end(void *ctx, bool complete)
{
	pacs_scu_file_sink *s = ctx;
	int fd = s->fd;

	if (!complete || fd < 0) {
		sink_drop(s);
		return PACS_DIMSE_OUT_OF_RESOURCES;
	}
	s->fd = -1;
	if (fsync(fd) < 0) {
		sink_fail(s, "fsync", s->tmp, errno);
		close(fd);
		unlink(s->tmp);
		return PACS_DIMSE_OUT_OF_RESOURCES;
	}
	close(fd);
	if (rename(s->tmp, s->path) < 0) {
		sink_fail(s, "renaming to", s->path, errno);
		unlink(s->tmp);
		return PACS_DIMSE_OUT_OF_RESOURCES;
	}
	/* the data is durable before the response says stored; the folder
	 * (the names) is synced once for the whole C-GET:
	 * pacs_scu_file_sink_sync */
	s->dir_dirty = true;
	s->count++;
	s->bytes += s->cur_bytes;
	if (s->on_file != NULL)
		s->on_file(s->on_file_ctx, s->path, s->uid, s->cur_bytes);
	return PACS_DIMSE_SUCCESS;
}

int pacs_scu_file_sink_new(pacs_scu_file_sink **out, const char *dir, const char *source_ae)
{
	pacs_scu_file_sink *s;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0' || strlen(dir) > PATH_MAX - 100)
		return arca_error_set(ARCA_EINVAL, "file sink: no folder, or its path is too long");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return arca_error_set(ARCA_ENOMEM, "file sink: out of memory");
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->source_ae, sizeof(s->source_ae), "%s", source_ae != NULL ? source_ae : "");
	s->fd = -1;
	s->h.begin = sink_begin;
	s->h.data = sink_data;
	s->h.end = sink_end;
	s->h.ctx = s;
	*out = s;
	return 0;
}

int pacs_scu_file_sink_sync(pacs_scu_file_sink *s)
{
	if (!s->dir_dirty)
		return 0;
	s->dir_dirty = false;
	if (fsync_dir(s->dir) < 0) {
		sink_fail(s, "fsync of", s->dir, errno);
		return arca_error_set(ARCA_EIO, "%s", s->err);
	}
	return 0;
}

void pacs_scu_file_sink_free(pacs_scu_file_sink *s)
{
	if (s == NULL)
		return;
	sink_drop(s);
	(void)pacs_scu_file_sink_sync(s);
	free(s);
}

const pacs_scu_store_handler *pacs_scu_file_sink_handler(pacs_scu_file_sink *s)
{
	return &s->h;
}

size_t pacs_scu_file_sink_count(const pacs_scu_file_sink *s)
{
	return s->count;
}

uint64_t pacs_scu_file_sink_bytes(const pacs_scu_file_sink *s)
{
	return s->bytes;
}

const char *pacs_scu_file_sink_error(const pacs_scu_file_sink *s)
{
	return s->err[0] != '\0' ? s->err : NULL;
}

void pacs_scu_file_sink_on_file(pacs_scu_file_sink *s, void (*fn)(void *ctx, const char *path, const char *sop_uid,
								 uint64_t bytes),
				void *ctx)
{
	s->on_file = fn;
	s->on_file_ctx = ctx;
}
