/* pacs_server_test.c - the DICOM server in process: each test starts a
 * server (pacs_server.h) on a free loopback port, its loop in a thread,
 * with the interim files ingest (store_ingest.h) under a temporary root,
 * and talks to it with raw bytes built by the PDU and DIMSE codecs: C-ECHO,
 * refusals with their exact A-ASSOCIATE-RJ bytes, garbage, ARTIM, P-DATA
 * before association, C-STORE (stored file compared value by value),
 * truncated and mismatched data sets, a peer vanishing mid-instance,
 * interleaved associations, shutdown with an association in flight, and
 * memory bounded while a 200 MiB instance streams through.  Every wait
 * polls with a deadline; no test sleeps a fixed time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ev.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_dimse.h"
#include "pacs_ds.h"
#include "pacs_pdu.h"
#include "pacs_read.h"
#include "pacs_server.h"
#include "pacs_ts.h"
#include "pacs_write.h"
#include "store_ingest.h"

#define VERIFICATION "1.2.840.10008.1.1"
#define CT_STORAGE "1.2.840.10008.5.1.4.1.1.2"
#define MR_STORAGE "1.2.840.10008.5.1.4.1.1.4"
#define STUDY_FIND "1.2.840.10008.5.1.4.1.2.2.1"
#define STUDY_UID "1.2.826.0.1.3680043.9.7433.1.1"
#define SERIES_UID "1.2.826.0.1.3680043.9.7433.1.2"
#define WAIT_MS 5000

static const char *const ts_explicit[] = { PACS_TS_EXPLICIT_LE };
static const char *const ts_implicit[] = { PACS_TS_IMPLICIT_LE };

/* ------------------------------------------------------------ server fixture */

typedef struct fixture {
	char root[64];
	store_ingest_files *store;
	struct ev_loop *loop;
	pacs_server *srv;
	pthread_t thread;
	bool running;
	pthread_mutex_t log_lock;
	char *log;
	size_t log_len;
	uint16_t port;
} fixture;

static void capture_log(void *ctx, enum pacs_server_log_level level, const char *line)
{
	fixture *f = ctx;
	size_t n = strlen(line);
	char *p;

	(void)level;
	pthread_mutex_lock(&f->log_lock);
	p = realloc(f->log, f->log_len + n + 2);
	if (p != NULL) {
		f->log = p;
		memcpy(f->log + f->log_len, line, n);
		f->log[f->log_len + n] = '\n';
		f->log_len += n + 1;
		f->log[f->log_len] = '\0';
	}
	pthread_mutex_unlock(&f->log_lock);
	if (getenv("ARCA_TEST_VERBOSE") != NULL)
		fprintf(stderr, "  server: %s\n", line);
}

static bool log_has(fixture *f, const char *text)
{
	bool found;

	pthread_mutex_lock(&f->log_lock);
	found = f->log != NULL && strstr(f->log, text) != NULL;
	pthread_mutex_unlock(&f->log_lock);
	return found;
}

static void *server_thread(void *arg)
{
	fixture *f = arg;

	pacs_server_run(f->srv);
	return NULL;
}

typedef void (*opts_fn)(pacs_server_opts *o);

static fixture *start_server(opts_fn tweak)
{
	static const char *const bind[] = { "127.0.0.1" };
	fixture *f = calloc(1, sizeof(*f));
	pacs_server_opts o;
	pacs_ingest ingest;

	assert_non_null(f);
	pthread_mutex_init(&f->log_lock, NULL);
	strcpy(f->root, "/tmp/arca-srv-test-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(store_ingest_files_open(&f->store, f->root), 0);
	store_ingest_files_ingest(f->store, &ingest);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	pacs_server_opts_init(&o);
	o.port = 0;
	o.bind = bind;
	o.n_bind = 1;
	o.artim_timeout = 0.3;
	o.shutdown_timeout = 5;
	o.log = capture_log;
	o.log_ctx = f;
	o.log_level = getenv("ARCA_TEST_VERBOSE") != NULL ? PACS_SERVER_LOG_DEBUG : PACS_SERVER_LOG_INFO;
	if (tweak != NULL)
		tweak(&o);
	if (pacs_server_new(&f->srv, f->loop, &o, &ingest) != 0)
		fail_msg("pacs_server_new: %s", arca_error_last());
	f->port = pacs_server_port(f->srv);
	assert_true(f->port != 0);
	assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f), 0);
	f->running = true;
	return f;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void join_server(fixture *f)
{
	if (f->running) {
		pacs_server_request_shutdown(f->srv);
		assert_int_equal(pthread_join(f->thread, NULL), 0);
		f->running = false;
	}
}

static void stop_server(fixture *f)
{
	join_server(f);
	assert_true(pacs_server_finished(f->srv));
	pacs_server_free(f->srv);
	ev_loop_destroy(f->loop);
	store_ingest_files_free(f->store);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pthread_mutex_destroy(&f->log_lock);
	free(f->log);
	free(f);
}

/* Files under root/sub (recursively), optionally only names starting with prefix. */
static int count_files(const char *root, const char *sub)
{
	char cmd[512];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "find '%s/%s' -type f 2>/dev/null | wc -l", root, sub);
	p = popen(cmd, "r");
	if (p != NULL) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Polls cond() until it holds or the deadline passes. */
static bool wait_until(bool (*cond)(fixture *f), fixture *f, long ms)
{
	long end = now_ms() + ms;
	struct timespec tick = { 0, 5 * 1000 * 1000 };

	while (!cond(f)) {
		if (now_ms() > end)
			return false;
		nanosleep(&tick, NULL);
	}
	return true;
}

/* ------------------------------------------------------------ raw client */

static int cl_connect(uint16_t port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void cl_send(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Reads exactly len bytes before the deadline: 0, or -1 on end/timeout. */
static int cl_read_exact(int fd, uint8_t *buf, size_t len, long deadline)
{
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		ssize_t n = recv(fd, buf, len, 0);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One PDU: type, body (malloc'ed, caller frees), body length.  -1 when the
 * connection ends or nothing comes. */
static int cl_read_pdu(int fd, uint8_t *type, uint8_t **body, size_t *len)
{
	long deadline = now_ms() + WAIT_MS;
	uint8_t hdr[6];
	uint32_t plen;

	*body = NULL;
	if (cl_read_exact(fd, hdr, 6, deadline) < 0)
		return -1;
	*type = hdr[0];
	plen = (uint32_t)hdr[2] << 24 | (uint32_t)hdr[3] << 16 | (uint32_t)hdr[4] << 8 | hdr[5];
	assert_true(plen < 16u * 1024u * 1024u);
	*body = malloc(plen + 1u);
	assert_non_null(*body);
	if (cl_read_exact(fd, *body, plen, deadline) < 0) {
		free(*body);
		*body = NULL;
		return -1;
	}
	*len = plen;
	return 0;
}

/* True once the server has closed the connection (EOF or reset). */
static bool cl_wait_closed(int fd, long ms)
{
	long deadline = now_ms() + ms;
	uint8_t buf[512];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false;
	}
}

typedef struct cl_pctx {
	uint8_t id;
	const char *abstract;
	const char *const *ts;
	size_t n_ts;
} cl_pctx;

static void cl_send_rq(int fd, const char *calling, const char *called, const cl_pctx *pc, size_t n)
{
	pacs_pdu_pctx ctx[8];
	pacs_pdu_assoc rq;
	pacs_buf b;

	assert_true(n <= 8);
	memset(&rq, 0, sizeof(rq));
	memset(ctx, 0, sizeof(ctx));
	rq.protocol_version = PACS_PDU_PROTOCOL_VERSION;
	snprintf(rq.calling_ae, sizeof(rq.calling_ae), "%s", calling);
	snprintf(rq.called_ae, sizeof(rq.called_ae), "%s", called);
	for (size_t i = 0; i < n; i++) {
		ctx[i].id = pc[i].id;
		ctx[i].abstract_syntax = pc[i].abstract;
		ctx[i].transfer_syntaxes = pc[i].ts;
		ctx[i].n_transfer_syntaxes = pc[i].n_ts;
	}
	rq.pctx = ctx;
	rq.n_pctx = n;
	rq.user_info.max_length = 16384;
	rq.user_info.impl_class_uid = "1.2.826.0.1.3680043.9.7433.99";
	pacs_buf_init(&b, 1u << 20);
	assert_int_equal(pacs_pdu_encode_assoc_rq(&b, &rq), 0);
	cl_send(fd, pacs_buf_data(&b), pacs_buf_len(&b));
	pacs_buf_free(&b);
}

/* Associates; returns the connection with every context accepted. */
static int cl_associate(fixture *f, const cl_pctx *pc, size_t n)
{
	int fd = cl_connect(f->port);
	pacs_pdu_assoc *ac = NULL;
	uint8_t type, *body;
	size_t len;

	assert_true(fd >= 0);
	cl_send_rq(fd, "TESTSCU", "ARCA", pc, n);
	assert_int_equal(cl_read_pdu(fd, &type, &body, &len), 0);
	assert_int_equal(type, PACS_PDU_ASSOCIATE_AC);
	assert_int_equal(pacs_pdu_decode_assoc_ac(&ac, body, len), 0);
	assert_int_equal(ac->n_pctx, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ac->pctx[i].id, pc[i].id);
		assert_int_equal(ac->pctx[i].result, PACS_PDU_PCTX_ACCEPTANCE);
		assert_string_equal(ac->pctx[i].transfer_syntax, pc[i].ts[0]);
	}
	pacs_pdu_assoc_free(ac);
	free(body);
	return fd;
}

static void cl_send_pdv(int fd, uint8_t pc_id, uint8_t flags, const uint8_t *data, size_t len)
{
	uint8_t hdr[PACS_PDU_PDATA_SINGLE_HEADER_LEN];

	assert_int_equal(pacs_pdu_pdata_single_header(hdr, pc_id, flags, len), 0);
	cl_send(fd, hdr, sizeof(hdr));
	if (len > 0)
		cl_send(fd, data, len);
}

static void cl_send_cmd(int fd, uint8_t pc_id, const pacs_dimse_cmd *cmd)
{
	uint8_t buf[PACS_DIMSE_CMD_MAX_SIZE];
	size_t len;

	assert_int_equal(pacs_dimse_cmd_encode(buf, sizeof(buf), &len, cmd), 0);
	cl_send_pdv(fd, pc_id, PACS_PDV_COMMAND | PACS_PDV_LAST, buf, len);
}

/* Sends data set bytes in PDVs of at most 16 KiB; the last one flagged
 * when last is true. */
static void cl_send_data(int fd, uint8_t pc_id, const uint8_t *data, size_t len, bool last)
{
	const size_t frag = 16000;

	do {
		size_t n = len < frag ? len : frag;
		cl_send_pdv(fd, pc_id, last && n == len ? PACS_PDV_LAST : 0, data, n);
		data += n;
		len -= n;
	} while (len > 0);
}

/* The next response: the command fragments of P-DATA PDUs until the last. */
static void cl_read_rsp(int fd, pacs_dimse_cmd *rsp)
{
	uint8_t cmd[4096], type, *body;
	size_t cmd_len = 0, len;
	bool done = false;

	while (!done) {
		pacs_pdv pdvs[8];
		size_t n;
		assert_int_equal(cl_read_pdu(fd, &type, &body, &len), 0);
		if (type != PACS_PDU_P_DATA_TF)
			fail_msg("expected P-DATA-TF, got %s", pacs_pdu_type_name(type));
		assert_int_equal(pacs_pdu_decode_pdata(pdvs, 8, &n, body, len), 0);
		for (size_t i = 0; i < n; i++) {
			assert_true((pdvs[i].flags & PACS_PDV_COMMAND) != 0);
			assert_true(cmd_len + pdvs[i].len <= sizeof(cmd));
			memcpy(cmd + cmd_len, pdvs[i].data, pdvs[i].len);
			cmd_len += pdvs[i].len;
			done = (pdvs[i].flags & PACS_PDV_LAST) != 0;
		}
		free(body);
	}
	assert_int_equal(pacs_dimse_cmd_decode(rsp, cmd, cmd_len), 0);
}

/* A-RELEASE-RQ, then the A-RELEASE-RP, then we close (PS3.8 AR-5 on the
 * server side). */
static void cl_release(int fd)
{
	static const uint8_t rq[] = { 0x05, 0x00, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 0 };
	uint8_t type, *body;
	size_t len;

	cl_send(fd, rq, sizeof(rq));
	assert_int_equal(cl_read_pdu(fd, &type, &body, &len), 0);
	assert_int_equal(type, PACS_PDU_RELEASE_RP);
	assert_int_equal(len, 4);
	free(body);
	close(fd);
}

/* ------------------------------------------------------------ instances */

typedef struct bytes {
	uint8_t *data;
	size_t len, cap;
} bytes;

static int bytes_sink(void *ctx, const uint8_t *data, size_t len)
{
	bytes *b = ctx;

	if (b->len + len > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *p = realloc(b->data, cap);
		if (p == NULL)
			return ARCA_ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

/* A small CT image: patient, study, series, SOP common and image pixel
 * modules; rows x cols of 16-bit pixels (more than 64 KiB goes to the
 * ingest's bulk path). */
static pacs_ds *make_ct(const char *sop_uid, unsigned rows, unsigned cols, bool with_pixels)
{
	pacs_ds *ds = NULL;
	size_t npx = (size_t)rows * cols;

	assert_int_equal(pacs_ds_new(&ds), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0016), PACS_VR_UI, CT_STORAGE), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0018), PACS_VR_UI, sop_uid), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0008, 0x0060), PACS_VR_CS, "CT"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0010, 0x0010), PACS_VR_PN, "Test^Patient"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0010, 0x0020), PACS_VR_LO, "P-0042"), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x000D), PACS_VR_UI, STUDY_UID), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x000E), PACS_VR_UI, SERIES_UID), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0002), 1), 0);
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0028, 0x0004), PACS_VR_CS, "MONOCHROME2"), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0010), (uint16_t)rows), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0011), (uint16_t)cols), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0100), 16), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0101), 12), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0102), 11), 0);
	assert_int_equal(pacs_ds_set_u16(ds, PACS_TAG(0x0028, 0x0103), 0), 0);
	if (with_pixels) {
		uint16_t *px = malloc(npx * 2);
		assert_non_null(px);
		for (size_t i = 0; i < npx; i++)
			px[i] = (uint16_t)((i * 7u + i / cols) & 0x0FFFu);
		assert_int_equal(pacs_ds_set(ds, PACS_TAG_PIXEL_DATA, PACS_VR_OW, px, (uint32_t)(npx * 2)), 0);
		free(px);
	}
	return ds;
}

static bytes encode_ds(const pacs_ds *ds, const char *ts)
{
	pacs_write_opts wo;
	bytes b = { 0 };

	pacs_write_opts_init(&wo);
	wo.ts_uid = ts;
	if (pacs_write_dataset(ds, &wo, bytes_sink, &b) != 0)
		fail_msg("pacs_write_dataset: %s", arca_error_last());
	return b;
}

static pacs_dimse_cmd store_rq(uint16_t msg_id, const char *sop_class, const char *sop_uid)
{
	pacs_dimse_cmd cmd;

	pacs_dimse_cmd_init(&cmd, PACS_DIMSE_C_STORE_RQ);
	cmd.has_data_set = true;
	assert_int_equal(pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_MESSAGE_ID, msg_id), 0);
	assert_int_equal(pacs_dimse_cmd_set_u16(&cmd, PACS_DIMSE_F_PRIORITY, 0), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_CLASS, sop_class), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&cmd, PACS_DIMSE_F_AFFECTED_SOP_INSTANCE, sop_uid), 0);
	return cmd;
}

static void expect_store_rsp(int fd, uint16_t msg_id, uint16_t status, pacs_dimse_cmd *out)
{
	pacs_dimse_cmd rsp;

	cl_read_rsp(fd, &rsp);
	assert_int_equal(rsp.command, PACS_DIMSE_C_STORE_RSP);
	assert_int_equal(rsp.message_id_responded, msg_id);
	if (rsp.status != status)
		fail_msg("status 0x%04X (%s), expected 0x%04X", rsp.status, rsp.error_comment, status);
	if (out != NULL)
		*out = rsp;
}

static const cl_pctx ct_ctx[] = { { 1, CT_STORAGE, ts_explicit, 1 } };

/* The stored file holds the same elements with the same values. */
static void expect_stored_equal(fixture *f, const pacs_ds *sent, const char *sop_uid)
{
	char path[512];
	pacs_ds *got = NULL;
	pacs_read_opts ro;
	char ae[32];

	assert_int_equal(store_ingest_files_path(f->store, STUDY_UID, SERIES_UID, sop_uid, path, sizeof(path)), 0);
	pacs_read_opts_init(&ro);
	if (pacs_read_file(&got, path, &ro) != 0)
		fail_msg("stored file: %s", arca_error_last());
	assert_string_equal(pacs_ds_source_ts(got), PACS_TS_EXPLICIT_LE);
	assert_int_equal(pacs_ds_get_string(got, PACS_TAG(0x0002, 0x0016), 0, ae, sizeof(ae)), 0);
	assert_string_equal(ae, "TESTSCU");
	for (size_t i = 0; i < pacs_ds_count(sent); i++) {
		const pacs_elem *e = pacs_ds_at(sent, i), *g = pacs_ds_find(got, pacs_elem_tag(e));
		uint32_t el, gl;
		const uint8_t *ev, *gv;
		assert_non_null(g);
		assert_int_equal(pacs_elem_vr(g), pacs_elem_vr(e));
		ev = pacs_elem_value(e, &el);
		gv = pacs_elem_value(g, &gl);
		assert_int_equal(gl, el);
		assert_memory_equal(gv, ev, el);
	}
	pacs_ds_free(got);
}

/* ------------------------------------------------------------ tests */

static void test_echo(void **state)
{
	static const cl_pctx pc[] = { { 1, VERIFICATION, ts_implicit, 1 } };
	fixture *f = start_server(NULL);
	pacs_dimse_cmd rq, rsp;
	int fd;

	(void)state;
	fd = cl_associate(f, pc, 1);
	pacs_dimse_cmd_init(&rq, PACS_DIMSE_C_ECHO_RQ);
	assert_int_equal(pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, 7), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_CLASS, VERIFICATION), 0);
	cl_send_cmd(fd, 1, &rq);
	cl_read_rsp(fd, &rsp);
	assert_int_equal(rsp.command, PACS_DIMSE_C_ECHO_RSP);
	assert_int_equal(rsp.message_id_responded, 7);
	assert_true((rsp.present & PACS_DIMSE_F_STATUS) != 0);
	assert_int_equal(rsp.status, 0x0000);
	assert_string_equal(rsp.affected_sop_class, VERIFICATION);
	assert_false(rsp.has_data_set);
	cl_release(fd);
	stop_server(f);
}

/* PS3.8 Table 9-21, the exact A-ASSOCIATE-RJ PDU. */
static void expect_rj(fixture *f, const char *calling, const char *called, uint8_t result, uint8_t source,
		      uint8_t reason)
{
	static const cl_pctx pc[] = { { 1, VERIFICATION, ts_implicit, 1 } };
	const uint8_t want[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, result, source, reason };
	uint8_t got[sizeof(want)];
	int fd = cl_connect(f->port);

	assert_true(fd >= 0);
	cl_send_rq(fd, calling, called, pc, 1);
	assert_int_equal(cl_read_exact(fd, got, sizeof(got), now_ms() + WAIT_MS), 0);
	assert_memory_equal(got, want, sizeof(want));
	close(fd);
}

static void test_reject_called_ae(void **state)
{
	fixture *f = start_server(NULL);

	(void)state;
	expect_rj(f, "TESTSCU", "NOTARCA", 1, 1, 7);
	stop_server(f);
	assert_true(true);
}

static void allow_only_good(pacs_server_opts *o)
{
	static const char *const calling[] = { "GOOD", "ALSO_GOOD" };

	o->calling_aes = calling;
	o->n_calling_aes = 2;
}

static bool refusal_logged(fixture *f)
{
	return log_has(f, "reason 3 (calling AE title not recognized)");
}

static void test_reject_calling_ae(void **state)
{
	static const cl_pctx pc[] = { { 1, VERIFICATION, ts_implicit, 1 } };
	fixture *f = start_server(allow_only_good);
	int fd;

	(void)state;
	expect_rj(f, "STRANGER", "ARCA", 1, 1, 3);
	assert_true(wait_until(refusal_logged, f, WAIT_MS));
	/* an allowed one still gets in */
	fd = cl_connect(f->port);
	cl_send_rq(fd, "GOOD", "ARCA", pc, 1);
	{
		uint8_t type, *body;
		size_t len;
		assert_int_equal(cl_read_pdu(fd, &type, &body, &len), 0);
		assert_int_equal(type, PACS_PDU_ASSOCIATE_AC);
		free(body);
	}
	cl_release(fd);
	stop_server(f);
}

/* PS3.8 Table 9-10: an invalid PDU in Sta2 is AA-1 (A-ABORT, source 0);
 * then ARTIM closes the connection. */
static void expect_abort_then_close(fixture *f, const void *send, size_t len)
{
	static const uint8_t abort_pdu[] = { 0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
	uint8_t got[sizeof(abort_pdu)];
	int fd = cl_connect(f->port);

	assert_true(fd >= 0);
	cl_send(fd, send, len);
	assert_int_equal(cl_read_exact(fd, got, sizeof(got), now_ms() + WAIT_MS), 0);
	assert_memory_equal(got, abort_pdu, sizeof(abort_pdu));
	assert_true(cl_wait_closed(fd, WAIT_MS));
	close(fd);
}

static bool pdata_abort_logged(fixture *f)
{
	return log_has(f, "A-ABORT sent: P-DATA-TF before any A-ASSOCIATE-RQ");
}

static bool garbage_abort_logged(fixture *f)
{
	return log_has(f, "A-ABORT sent: the first bytes (0x47...) are not a DICOM PDU");
}

static void test_garbage(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: arca\r\n\r\n";
	fixture *f = start_server(NULL);

	(void)state;
	expect_abort_then_close(f, http, sizeof(http) - 1);
	assert_true(wait_until(garbage_abort_logged, f, WAIT_MS));
	stop_server(f);
}

static void test_pdata_before_association(void **state)
{
	/* a P-DATA-TF with one command PDV, in Sta2 */
	static const uint8_t pdata[] = { 0x04, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04,
					 0x01, 0x03, 0xAB, 0xCD };
	fixture *f = start_server(NULL);

	(void)state;
	expect_abort_then_close(f, pdata, sizeof(pdata));
	assert_true(wait_until(pdata_abort_logged, f, WAIT_MS));
	stop_server(f);
}

static bool artim_logged(fixture *f)
{
	return log_has(f, "no A-ASSOCIATE-RQ within 0.3 s (ARTIM)");
}

static void test_artim_silent_peer(void **state)
{
	fixture *f = start_server(NULL);
	long t0 = now_ms();
	int fd;

	(void)state;
	fd = cl_connect(f->port);
	assert_true(fd >= 0);
	assert_true(cl_wait_closed(fd, WAIT_MS));
	assert_true(now_ms() - t0 >= 250);
	close(fd);
	assert_true(wait_until(artim_logged, f, WAIT_MS));
	stop_server(f);
}

static void short_idle(pacs_server_opts *o)
{
	o->idle_timeout = 0.3;
}

static bool idle_logged(fixture *f)
{
	return log_has(f, "aborted by arca: idle for 0.3 s (idle_timeout)");
}

/* An association that goes silent is aborted (A-ABORT, AA-1) after
 * idle_timeout, then closed after ARTIM. */
static void test_idle_timeout(void **state)
{
	static const cl_pctx pc[] = { { 1, VERIFICATION, ts_implicit, 1 } };
	static const uint8_t abort_pdu[] = { 0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
	fixture *f = start_server(short_idle);
	uint8_t got[sizeof(abort_pdu)];
	long t0;
	int fd;

	(void)state;
	fd = cl_associate(f, pc, 1);
	t0 = now_ms();
	assert_int_equal(cl_read_exact(fd, got, sizeof(got), now_ms() + WAIT_MS), 0);
	assert_memory_equal(got, abort_pdu, sizeof(abort_pdu));
	assert_true(now_ms() - t0 >= 250);
	assert_true(cl_wait_closed(fd, WAIT_MS));
	close(fd);
	assert_true(wait_until(idle_logged, f, WAIT_MS));
	stop_server(f);
}

static void test_store_ct(void **state)
{
	const char *sop = "1.2.826.0.1.3680043.9.7433.1.3.1";
	fixture *f = start_server(NULL);
	pacs_ds *ds = make_ct(sop, 256, 256, true); /* 128 KiB of pixels: the bulk path */
	bytes b = encode_ds(ds, PACS_TS_EXPLICIT_LE);
	pacs_dimse_cmd cmd = store_rq(3, CT_STORAGE, sop);
	int fd;

	(void)state;
	fd = cl_associate(f, ct_ctx, 1);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, b.data, b.len, true);
	expect_store_rsp(fd, 3, 0x0000, NULL);
	expect_stored_equal(f, ds, sop);
	assert_int_equal(count_files(f->root, "tmp"), 0);

	/* the same instance again: identical bytes, success, still one file */
	cmd = store_rq(4, CT_STORAGE, sop);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, b.data, b.len, true);
	expect_store_rsp(fd, 4, 0x0000, NULL);
	assert_int_equal(count_files(f->root, "instances"), 1);
	cl_release(fd);
	pacs_ds_free(ds);
	free(b.data);
	stop_server(f);
}

static void test_store_new_version(void **state)
{
	const char *sop = "1.2.826.0.1.3680043.9.7433.1.3.2";
	fixture *f = start_server(NULL);
	pacs_ds *a = make_ct(sop, 16, 16, true), *c = make_ct(sop, 16, 16, true);
	bytes ba, bc;
	pacs_dimse_cmd cmd;
	int fd;

	(void)state;
	assert_int_equal(pacs_ds_set_string(c, PACS_TAG(0x0010, 0x0020), PACS_VR_LO, "P-0043"), 0);
	ba = encode_ds(a, PACS_TS_EXPLICIT_LE);
	bc = encode_ds(c, PACS_TS_EXPLICIT_LE);
	fd = cl_associate(f, ct_ctx, 1);
	cmd = store_rq(1, CT_STORAGE, sop);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, ba.data, ba.len, true);
	expect_store_rsp(fd, 1, 0x0000, NULL);
	cmd = store_rq(2, CT_STORAGE, sop);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, bc.data, bc.len, true);
	expect_store_rsp(fd, 2, 0x0000, NULL);
	cl_release(fd);
	/* the new version has the name, the old one is kept beside it */
	assert_int_equal(count_files(f->root, "instances"), 2);
	expect_stored_equal(f, c, sop);
	pacs_ds_free(a);
	pacs_ds_free(c);
	free(ba.data);
	free(bc.data);
	stop_server(f);
}

static void test_store_truncated(void **state)
{
	const char *sop = "1.2.826.0.1.3680043.9.7433.1.3.3";
	fixture *f = start_server(NULL);
	pacs_ds *ds = make_ct(sop, 256, 256, true);
	bytes b = encode_ds(ds, PACS_TS_EXPLICIT_LE);
	pacs_dimse_cmd cmd = store_rq(5, CT_STORAGE, sop), rsp;
	int fd;

	(void)state;
	fd = cl_associate(f, ct_ctx, 1);
	cl_send_cmd(fd, 1, &cmd);
	/* the data set ends inside the pixel data */
	cl_send_data(fd, 1, b.data, b.len - 1000, true);
	expect_store_rsp(fd, 5, 0xC000, &rsp);
	assert_true((rsp.present & PACS_DIMSE_F_ERROR_COMMENT) != 0);
	assert_non_null(strstr(rsp.error_comment, "offset"));
	assert_non_null(strstr(rsp.error_comment, "(7FE0,0010)"));
	assert_true(strlen(rsp.error_comment) <= 64);
	assert_int_equal(count_files(f->root, "instances"), 0);
	assert_int_equal(count_files(f->root, "tmp"), 0);
	/* the association goes on */
	cmd = store_rq(6, CT_STORAGE, sop);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, b.data, b.len, true);
	expect_store_rsp(fd, 6, 0x0000, NULL);
	cl_release(fd);
	pacs_ds_free(ds);
	free(b.data);
	stop_server(f);
}

static void test_store_mismatched_uid(void **state)
{
	const char *sop = "1.2.826.0.1.3680043.9.7433.1.3.4";
	fixture *f = start_server(NULL);
	pacs_ds *ds = make_ct(sop, 8, 8, true);
	bytes b = encode_ds(ds, PACS_TS_EXPLICIT_LE);
	pacs_dimse_cmd cmd = store_rq(9, CT_STORAGE, "1.2.826.0.1.3680043.9.7433.1.3.999"), rsp;
	int fd;

	(void)state;
	fd = cl_associate(f, ct_ctx, 1);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, b.data, b.len, true);
	expect_store_rsp(fd, 9, 0xA900, &rsp);
	assert_non_null(strstr(rsp.error_comment, "SOP Instance UID"));
	/* a hostile Study Instance UID never names a path */
	assert_int_equal(pacs_ds_set_string(ds, PACS_TAG(0x0020, 0x000D), PACS_VR_UI, "1.2/../../../etc"), 0);
	free(b.data);
	b = encode_ds(ds, PACS_TS_EXPLICIT_LE);
	cmd = store_rq(10, CT_STORAGE, sop);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, b.data, b.len, true);
	expect_store_rsp(fd, 10, 0xA900, &rsp);
	assert_non_null(strstr(rsp.error_comment, "Study Instance UID"));
	/* a C-STORE for MR on the CT context */
	cmd = store_rq(11, MR_STORAGE, sop);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, b.data, b.len, true);
	expect_store_rsp(fd, 11, 0xA900, NULL);
	cl_release(fd);
	assert_int_equal(count_files(f->root, "instances"), 0);
	assert_int_equal(count_files(f->root, "tmp"), 0);
	pacs_ds_free(ds);
	free(b.data);
	stop_server(f);
}

static bool tmp_empty_and_aborted(fixture *f)
{
	return count_files(f->root, "tmp") == 0 && log_has(f, "without A-RELEASE");
}

static void test_peer_vanishes_mid_instance(void **state)
{
	static const cl_pctx echo_pc[] = { { 1, VERIFICATION, ts_implicit, 1 } };
	const char *sop = "1.2.826.0.1.3680043.9.7433.1.3.5";
	fixture *f = start_server(NULL);
	pacs_ds *ds = make_ct(sop, 512, 512, true);
	bytes b = encode_ds(ds, PACS_TS_EXPLICIT_LE);
	pacs_dimse_cmd cmd = store_rq(1, CT_STORAGE, sop), rq, rsp;
	int fd;

	(void)state;
	fd = cl_associate(f, ct_ctx, 1);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, b.data, b.len / 2, false);
	close(fd);
	assert_true(wait_until(tmp_empty_and_aborted, f, WAIT_MS));
	assert_int_equal(count_files(f->root, "instances"), 0);
	/* the server keeps serving */
	fd = cl_associate(f, echo_pc, 1);
	pacs_dimse_cmd_init(&rq, PACS_DIMSE_C_ECHO_RQ);
	assert_int_equal(pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, 1), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_CLASS, VERIFICATION), 0);
	cl_send_cmd(fd, 1, &rq);
	cl_read_rsp(fd, &rsp);
	assert_int_equal(rsp.status, 0x0000);
	cl_release(fd);
	pacs_ds_free(ds);
	free(b.data);
	stop_server(f);
}

static void test_interleaved_associations(void **state)
{
	const char *sop_a = "1.2.826.0.1.3680043.9.7433.1.3.6", *sop_b = "1.2.826.0.1.3680043.9.7433.1.3.7";
	fixture *f = start_server(NULL);
	pacs_ds *da = make_ct(sop_a, 256, 256, true), *db = make_ct(sop_b, 256, 256, true);
	bytes ba = encode_ds(da, PACS_TS_EXPLICIT_LE), bb = encode_ds(db, PACS_TS_EXPLICIT_LE);
	pacs_dimse_cmd ca = store_rq(1, CT_STORAGE, sop_a), cb = store_rq(1, CT_STORAGE, sop_b);
	int fa, fb;

	(void)state;
	fa = cl_associate(f, ct_ctx, 1);
	fb = cl_associate(f, ct_ctx, 1);
	cl_send_cmd(fa, 1, &ca);
	cl_send_data(fa, 1, ba.data, ba.len / 2, false);
	/* B stores a whole instance while A is half way */
	cl_send_cmd(fb, 1, &cb);
	cl_send_data(fb, 1, bb.data, bb.len, true);
	expect_store_rsp(fb, 1, 0x0000, NULL);
	cl_send_data(fa, 1, ba.data + ba.len / 2, ba.len - ba.len / 2, true);
	expect_store_rsp(fa, 1, 0x0000, NULL);
	cl_release(fb);
	cl_release(fa);
	expect_stored_equal(f, da, sop_a);
	expect_stored_equal(f, db, sop_b);
	pacs_ds_free(da);
	pacs_ds_free(db);
	free(ba.data);
	free(bb.data);
	stop_server(f);
}

static void test_unsupported_and_bad_context(void **state)
{
	static const cl_pctx pc[] = { { 1, VERIFICATION, ts_implicit, 1 }, { 3, STUDY_FIND, ts_implicit, 1 } };
	static const uint8_t abort_pdu[] = { 0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
	fixture *f = start_server(NULL);
	pacs_dimse_cmd rq, rsp;
	uint8_t got[sizeof(abort_pdu)];
	bytes ident;
	pacs_ds *id = NULL;
	int fd;

	(void)state;
	fd = cl_associate(f, pc, 2);
	/* C-FIND is negotiated but not performed yet: 0x0211 after its identifier */
	pacs_dimse_cmd_init(&rq, PACS_DIMSE_C_FIND_RQ);
	rq.has_data_set = true;
	assert_int_equal(pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, 21), 0);
	assert_int_equal(pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_PRIORITY, 0), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_CLASS, STUDY_FIND), 0);
	cl_send_cmd(fd, 3, &rq);
	assert_int_equal(pacs_ds_new(&id), 0);
	assert_int_equal(pacs_ds_set_string(id, PACS_TAG(0x0008, 0x0052), PACS_VR_CS, "STUDY"), 0);
	ident = encode_ds(id, PACS_TS_IMPLICIT_LE);
	cl_send_data(fd, 3, ident.data, ident.len, true);
	cl_read_rsp(fd, &rsp);
	assert_int_equal(rsp.command, PACS_DIMSE_C_FIND_RSP);
	assert_int_equal(rsp.message_id_responded, 21);
	assert_int_equal(rsp.status, 0x0211);
	/* a C-ECHO on context 5, never proposed: the DIMSE user aborts (AA-1) */
	pacs_dimse_cmd_init(&rq, PACS_DIMSE_C_ECHO_RQ);
	assert_int_equal(pacs_dimse_cmd_set_u16(&rq, PACS_DIMSE_F_MESSAGE_ID, 22), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&rq, PACS_DIMSE_F_AFFECTED_SOP_CLASS, VERIFICATION), 0);
	cl_send_cmd(fd, 5, &rq);
	assert_int_equal(cl_read_exact(fd, got, sizeof(got), now_ms() + WAIT_MS), 0);
	assert_memory_equal(got, abort_pdu, sizeof(abort_pdu));
	close(fd);
	pacs_ds_free(id);
	free(ident.data);
	stop_server(f);
}

/* Requests sent back to back, before any response is read, are answered
 * in order (PS3.7 D.3.3.3: one at a time, in arrival order); a command
 * missing a required field is answered with a failure, not dropped. */
static void test_pipelined_requests(void **state)
{
	static const cl_pctx pc[] = { { 1, CT_STORAGE, ts_explicit, 1 }, { 3, VERIFICATION, ts_implicit, 1 } };
	/* C-ECHO-RQ, message 5, without its Affected SOP Class UID (0000,0002) */
	static const uint8_t bad_echo[] = { 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00,
					    0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00,
					    0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
	const char *sop_a = "1.2.826.0.1.3680043.9.7433.1.3.10", *sop_b = "1.2.826.0.1.3680043.9.7433.1.3.11";
	fixture *f = start_server(NULL);
	pacs_ds *da = make_ct(sop_a, 128, 128, true), *db = make_ct(sop_b, 128, 128, true);
	bytes ba = encode_ds(da, PACS_TS_EXPLICIT_LE), bb = encode_ds(db, PACS_TS_EXPLICIT_LE);
	pacs_dimse_cmd ca = store_rq(1, CT_STORAGE, sop_a), cb = store_rq(2, CT_STORAGE, sop_b), echo, rsp;
	int fd;

	(void)state;
	fd = cl_associate(f, pc, 2);
	pacs_dimse_cmd_init(&echo, PACS_DIMSE_C_ECHO_RQ);
	assert_int_equal(pacs_dimse_cmd_set_u16(&echo, PACS_DIMSE_F_MESSAGE_ID, 3), 0);
	assert_int_equal(pacs_dimse_cmd_set_str(&echo, PACS_DIMSE_F_AFFECTED_SOP_CLASS, VERIFICATION), 0);
	cl_send_cmd(fd, 1, &ca);
	cl_send_data(fd, 1, ba.data, ba.len, true);
	cl_send_cmd(fd, 1, &cb);
	cl_send_data(fd, 1, bb.data, bb.len, true);
	cl_send_cmd(fd, 3, &echo);
	cl_send_pdv(fd, 3, PACS_PDV_COMMAND | PACS_PDV_LAST, bad_echo, sizeof(bad_echo));
	expect_store_rsp(fd, 1, 0x0000, NULL);
	expect_store_rsp(fd, 2, 0x0000, NULL);
	cl_read_rsp(fd, &rsp);
	assert_int_equal(rsp.command, PACS_DIMSE_C_ECHO_RSP);
	assert_int_equal(rsp.message_id_responded, 3);
	assert_int_equal(rsp.status, 0x0000);
	cl_read_rsp(fd, &rsp);
	assert_int_equal(rsp.command, PACS_DIMSE_C_ECHO_RSP);
	assert_int_equal(rsp.message_id_responded, 5);
	assert_int_equal(rsp.status, 0x0212);
	assert_non_null(strstr(rsp.error_comment, "Affected SOP Class UID"));
	cl_release(fd);
	expect_stored_equal(f, da, sop_a);
	expect_stored_equal(f, db, sop_b);
	pacs_ds_free(da);
	pacs_ds_free(db);
	free(ba.data);
	free(bb.data);
	stop_server(f);
}

static bool refused_connect(fixture *f)
{
	int fd = cl_connect(f->port);

	if (fd < 0)
		return true;
	close(fd);
	return false;
}

static void test_shutdown_finishes_in_flight(void **state)
{
	const char *sop = "1.2.826.0.1.3680043.9.7433.1.3.8";
	fixture *f = start_server(NULL);
	pacs_ds *ds = make_ct(sop, 256, 256, true);
	bytes b = encode_ds(ds, PACS_TS_EXPLICIT_LE);
	pacs_dimse_cmd cmd = store_rq(1, CT_STORAGE, sop);
	int fd;

	(void)state;
	fd = cl_associate(f, ct_ctx, 1);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, b.data, b.len / 2, false);
	pacs_server_request_shutdown(f->srv); /* what SIGTERM does in arcad */
	assert_true(wait_until(refused_connect, f, WAIT_MS));
	cl_send_data(fd, 1, b.data + b.len / 2, b.len - b.len / 2, true);
	expect_store_rsp(fd, 1, 0x0000, NULL);
	cl_release(fd);
	assert_int_equal(pthread_join(f->thread, NULL), 0); /* the loop ends by itself */
	f->running = false;
	assert_true(log_has(f, "released"));
	expect_stored_equal(f, ds, sop);
	pacs_ds_free(ds);
	free(b.data);
	stop_server(f);
}

/* Resident set size of this process (server and client threads). */
static long rss_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%ld %ld", &size, &resident) != 2)
		resident = 0;
	fclose(fp);
	return resident * sysconf(_SC_PAGESIZE);
}

/* A 200 MiB CT streams through: the server's memory does not grow with it
 * (design.md 3, 5: bounded per association). */
static void test_large_instance_bounded_memory(void **state)
{
	const char *sop = "1.2.826.0.1.3680043.9.7433.1.3.9";
	const unsigned side = 10240; /* 10240 x 10240 x 2 bytes = 200 MiB */
	const uint32_t px_len = side * side * 2u;
	fixture *f = start_server(NULL);
	pacs_ds *ds = make_ct(sop, side, side, false);
	bytes head = encode_ds(ds, PACS_TS_EXPLICIT_LE);
	pacs_dimse_cmd cmd = store_rq(1, CT_STORAGE, sop);
	uint8_t pxhdr[12] = { 0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0 };
	uint8_t *chunk = malloc(65536);
	long base, peak = 0;
	char path[512];
	struct stat st;
	uint32_t sent = 0;
	int fd;

	(void)state;
	assert_non_null(chunk);
	for (size_t i = 0; i < 65536; i++)
		chunk[i] = (uint8_t)(i * 31u);
	pxhdr[8] = (uint8_t)px_len;
	pxhdr[9] = (uint8_t)(px_len >> 8);
	pxhdr[10] = (uint8_t)(px_len >> 16);
	pxhdr[11] = (uint8_t)(px_len >> 24);
	fd = cl_associate(f, ct_ctx, 1);
	cl_send_cmd(fd, 1, &cmd);
	cl_send_data(fd, 1, head.data, head.len, false);
	cl_send_data(fd, 1, pxhdr, sizeof(pxhdr), false);
	base = rss_bytes();
	while (sent < px_len) {
		uint32_t n = px_len - sent < 65536 ? px_len - sent : 65536;
		cl_send_pdv(fd, 1, sent + n == px_len ? PACS_PDV_LAST : 0, chunk, n);
		sent += n;
		if ((sent & ((8u << 20) - 1)) == 0) {
			long r = rss_bytes();
			if (r > peak)
				peak = r;
		}
	}
	expect_store_rsp(fd, 1, 0x0000, NULL);
	if (rss_bytes() > peak)
		peak = rss_bytes();
	cl_release(fd);
	printf("  200 MiB instance: RSS %ld MiB before the pixel data, peak %ld MiB while it streamed\n",
	       base >> 20, peak >> 20);
	assert_true(peak - base < 48L * 1024 * 1024);
	assert_int_equal(store_ingest_files_path(f->store, STUDY_UID, SERIES_UID, sop, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true((uint64_t)st.st_size > px_len);
	assert_int_equal(count_files(f->root, "tmp"), 0);
	free(chunk);
	pacs_ds_free(ds);
	free(head.data);
	stop_server(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_reject_called_ae),
		cmocka_unit_test(test_reject_calling_ae),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_pdata_before_association),
		cmocka_unit_test(test_artim_silent_peer),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_store_ct),
		cmocka_unit_test(test_store_new_version),
		cmocka_unit_test(test_store_truncated),
		cmocka_unit_test(test_store_mismatched_uid),
		cmocka_unit_test(test_peer_vanishes_mid_instance),
		cmocka_unit_test(test_interleaved_associations),
		cmocka_unit_test(test_unsupported_and_bad_context),
		cmocka_unit_test(test_pipelined_requests),
		cmocka_unit_test(test_shutdown_finishes_in_flight),
		cmocka_unit_test(test_large_instance_bounded_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
