/* pacs_server.c - the listener, the association policy built from the
 * options, the loop wiring and the shutdown of the DICOM server (see
 * pacs_server.h; one association is pacs_conn.c). */
#include "pacs_conn_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arca_err.h"
#include "pacs_pdu.h"
#include "pacs_sop.h"
#include "pacs_ts.h"

/* Connections accepted beyond max_associations, to be told "local limit
 * exceeded" with an A-ASSOCIATE-RJ rather than a reset; past that they are
 * closed at once, so that a flood cannot exhaust the descriptors. */
#define SERVER_CONN_SLACK 16u
#define SERVER_ACCEPTS_PER_EVENT 64
#define SERVER_LISTEN_BACKLOG 128
#define SERVER_ACCEPT_PAUSE 1.0
#define SERVER_MAX_PDU_MIN 4096u
#define SERVER_MAX_PDU_MAX (64u * 1024u * 1024u)

/* PS3.6 Annex A: Verification SOP Class. */
#define VERIFICATION_SOP_CLASS "1.2.840.10008.1.1"

/* ------------------------------------------------------------ options */

void pacs_server_opts_init(pacs_server_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ae_title = PACS_SERVER_DEFAULT_AE;
	o->check_called_ae = true;
	o->port = PACS_SERVER_DEFAULT_PORT;
	o->max_pdu = PACS_UL_DEFAULT_MAX_PDATA;
	o->async_ops = 1;
	o->relational_queries = true;
	o->artim_timeout = 30;
	o->idle_timeout = 300;
	o->shutdown_timeout = 30;
	o->max_associations = 64;
	o->workers = 2;
	o->log_level = PACS_SERVER_LOG_INFO;
}

size_t pacs_server_default_transfer_syntaxes(const char **out, size_t cap)
{
	/* uncompressed first: a requestor that offers both gets no lossy or
	 * costly encoding; then deflate; then every encapsulated syntax, so
	 * that a compressed instance is stored as it was sent */
	static const char *const first[] = { PACS_TS_EXPLICIT_LE, PACS_TS_IMPLICIT_LE, PACS_TS_EXPLICIT_BE,
					      PACS_TS_DEFLATED_LE };
	const pacs_ts_info *all;
	unsigned n_all, i;
	size_t n = 0;

	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++, n++)
		if (n < cap)
			out[n] = first[i];
	all = pacs_ts_all(&n_all);
	for (i = 0; i < n_all; i++) {
		if (!all[i].encapsulated)
			continue;
		if (n < cap)
			out[n] = all[i].uid;
		n++;
	}
	return n;
}

const char *pacs_server_services(void)
{
	return "C-ECHO, C-STORE, C-FIND, C-GET, C-MOVE";
}

/* PS3.5 6.2 AE: 1-16 characters of the default repertoire, no backslash,
 * not only spaces (leading and trailing spaces are not significant). */
static bool ae_title_ok(const char *ae)
{
	size_t n = ae != NULL ? strlen(ae) : 0, i;
	bool nonspace = false;

	if (n == 0 || n > PACS_PDU_AE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)ae[i];
		if (ch < 0x20 || ch > 0x7E || ch == '\\')
			return false;
		if (ch != ' ')
			nonspace = true;
	}
	return nonspace;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

static void free_list(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int dup_list(char ***out, const char *const *v, size_t n)
{
	char **copy;

	*out = NULL;
	if (v == NULL)
		return 0;
	copy = calloc(n + 1, sizeof(*copy));
	if (copy == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the server options");
	for (size_t i = 0; i < n; i++) {
		copy[i] = dup_str(v[i] != NULL ? v[i] : "");
		if (copy[i] == NULL) {
			free_list(copy, n);
			return arca_error_set(ARCA_ENOMEM, "no memory for the server options");
		}
	}
	*out = copy;
	return 0;
}

static int server_copy_opts(pacs_server *s, const pacs_server_opts *o)
{
	const char *ts[128];
	size_t i;
	int rc;

	s->opts = *o;
	if (!ae_title_ok(o->ae_title))
		return arca_error_set(ARCA_EINVAL, "AE title \"%s\": 1 to 16 characters, no backslash",
				      o->ae_title != NULL ? o->ae_title : "");
	snprintf(s->ae_title, sizeof(s->ae_title), "%s", o->ae_title);
	s->opts.ae_title = s->ae_title;
	for (i = 0; i < o->n_calling_aes && o->calling_aes != NULL; i++)
		if (!ae_title_ok(o->calling_aes[i]))
			return arca_error_set(ARCA_EINVAL, "calling AE title \"%s\": 1 to 16 characters, no backslash",
					      o->calling_aes[i] != NULL ? o->calling_aes[i] : "");
	if ((rc = dup_list(&s->calling_aes, o->calling_aes, o->n_calling_aes)) < 0)
		return rc;
	s->opts.calling_aes = (const char *const *)s->calling_aes;
	if (o->transfer_syntaxes == NULL) {
		s->opts.n_transfer_syntaxes = pacs_server_default_transfer_syntaxes(ts, sizeof(ts) / sizeof(ts[0]));
		if (s->opts.n_transfer_syntaxes > sizeof(ts) / sizeof(ts[0]))
			s->opts.n_transfer_syntaxes = sizeof(ts) / sizeof(ts[0]);
		rc = dup_list(&s->transfer_syntaxes, ts, s->opts.n_transfer_syntaxes);
	} else {
		if (o->n_transfer_syntaxes == 0)
			return arca_error_set(ARCA_EINVAL, "the transfer syntax list is empty");
		rc = dup_list(&s->transfer_syntaxes, o->transfer_syntaxes, o->n_transfer_syntaxes);
	}
	if (rc < 0)
		return rc;
	s->opts.transfer_syntaxes = (const char *const *)s->transfer_syntaxes;
	if (o->n_bind > PACS_SERVER_MAX_BIND)
		return arca_error_set(ARCA_EINVAL, "%zu listen addresses: at most %d", o->n_bind,
				      PACS_SERVER_MAX_BIND);
	if ((rc = dup_list(&s->bind, o->bind, o->bind != NULL ? o->n_bind : 0)) < 0)
		return rc;
	s->opts.bind = (const char *const *)s->bind;
	if (o->users != NULL && o->n_users > 0) {
		s->users = calloc(o->n_users, sizeof(*s->users));
		if (s->users == NULL)
			return arca_error_set(ARCA_ENOMEM, "no memory for the server options");
		for (i = 0; i < o->n_users; i++) {
			s->users[i].name = dup_str(o->users[i].name != NULL ? o->users[i].name : "");
			s->users[i].password = dup_str(o->users[i].password != NULL ? o->users[i].password : "");
			if (s->users[i].name == NULL || s->users[i].password == NULL)
				return arca_error_set(ARCA_ENOMEM, "no memory for the server options");
		}
		s->opts.users = s->users;
	} else {
		s->opts.users = NULL;
		s->opts.n_users = 0;
	}
	if (s->opts.max_pdu == 0)
		s->opts.max_pdu = PACS_UL_DEFAULT_MAX_PDATA;
	if (s->opts.max_pdu < SERVER_MAX_PDU_MIN || s->opts.max_pdu > SERVER_MAX_PDU_MAX)
		return arca_error_set(ARCA_EINVAL, "maximum PDU length %u outside %u..%u", s->opts.max_pdu,
				      SERVER_MAX_PDU_MIN, SERVER_MAX_PDU_MAX);
	if (!(s->opts.artim_timeout > 0) || !(s->opts.idle_timeout >= 0) || !(s->opts.shutdown_timeout >= 0))
		return arca_error_set(ARCA_EINVAL, "timeouts must be positive (ARTIM) or zero or more");
	if (s->opts.max_associations == 0)
		return arca_error_set(ARCA_EINVAL, "max_associations must be at least 1");
	if (s->opts.workers == 0 || s->opts.workers > 64)
		return arca_error_set(ARCA_EINVAL, "workers %u outside 1..64", s->opts.workers);
	return 0;
}

/* ------------------------------------------------------------ policy */

/* Constant time in the length of what is compared, so that the time taken
 * does not tell how much of a password was right. */
static bool ct_equal(const uint8_t *a, size_t alen, const char *b)
{
	size_t blen = strlen(b), n = alen > blen ? alen : blen, i;
	unsigned diff = (unsigned)(alen != blen);

	for (i = 0; i < n; i++) {
		unsigned x = i < alen ? a[i] : 0u, y = i < blen ? (unsigned char)b[i] : 0u;
		diff |= x ^ y;
	}
	return diff == 0;
}

/* PS3.7 D.3.3.7: username and passcode against [access] users. */
static int server_identity(void *ctx, const char *calling_ae, const pacs_pdu_identity *id, pacs_buf *response)
{
	pacs_server *s = ctx;
	bool ok = false;
	size_t i;

	(void)calling_ae;
	(void)response;
	if (id->type == PACS_PDU_IDENTITY_NONE)
		return s->opts.require_identity ? 0 : 1;
	if (id->type != PACS_PDU_IDENTITY_USERNAME_PASSCODE)
		return 0;
	for (i = 0; i < s->opts.n_users; i++) {
		bool name = ct_equal(id->primary, id->primary_len, s->users[i].name);
		bool pass = ct_equal(id->secondary, id->secondary_len, s->users[i].password);
		ok |= name & pass;
	}
	return ok ? 1 : 0;
}

/* Verification, every Storage SOP class of pacs_sop.h (when there is an
 * ingest), and the Query/Retrieve models, so that the services that answer
 * them can come without touching negotiation. */
static int server_build_policy(pacs_server *s)
{
	size_t n_all, i;
	const pacs_sop_info *all = pacs_sop_all(&n_all);
	pacs_assoc_policy *p = &s->policy;

	s->sops = calloc(n_all + 1, sizeof(*s->sops));
	if (s->sops == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the SOP class list");
	for (i = 0; i < n_all; i++) {
		unsigned roles = 0;
		switch (all[i].service) {
		case PACS_SOP_VERIFICATION:
			roles = PACS_ASSOC_ROLE_SCP | PACS_ASSOC_ROLE_SCU;
			break;
		case PACS_SOP_STORAGE:
			/* SCU too: the C-STORE sub-operations of a later C-GET */
			if (s->has_ingest)
				roles = PACS_ASSOC_ROLE_SCP | PACS_ASSOC_ROLE_SCU;
			break;
		case PACS_SOP_QR_FIND:
		case PACS_SOP_QR_MOVE:
		case PACS_SOP_QR_GET:
			roles = PACS_ASSOC_ROLE_SCP;
			break;
		default:
			break;
		}
		if (roles == 0)
			continue;
		s->sops[s->n_sops].uid = all[i].uid;
		s->sops[s->n_sops].roles = roles;
		s->n_sops++;
	}
	pacs_assoc_policy_init(p);
	p->ae_title = s->ae_title;
	p->check_called_ae = s->opts.check_called_ae;
	p->calling_aes = s->opts.calling_aes;
	p->n_calling_aes = s->opts.calling_aes != NULL ? s->opts.n_calling_aes : 0;
	p->sops = s->sops;
	p->n_sops = s->n_sops;
	p->transfer_syntaxes = s->opts.transfer_syntaxes;
	p->n_transfer_syntaxes = s->opts.n_transfer_syntaxes;
	p->max_pdu_length = s->opts.max_pdu;
	p->async_invoked = s->opts.async_ops;
	p->async_performed = s->opts.async_ops;
	p->relational_queries = s->opts.relational_queries;
	if (s->opts.n_users > 0 || s->opts.require_identity) {
		p->identity_fn = server_identity;
		p->identity_ctx = s;
	}
	return 0;
}

/* ------------------------------------------------------------ logging */

void pacs_server__log(pacs_server *s, int level, const char *fmt, ...)
{
	char line[1280];
	va_list ap;

	if (s->opts.log == NULL || level > (int)s->opts.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->opts.log(s->opts.log_ctx, (enum pacs_server_log_level)level, line);
}

/* ------------------------------------------------------------ accepting */

static void format_peer(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			/* an IPv4 peer on the dual-stack socket: show it as IPv4 */
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, size, "%s:%u", host, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
		}
	} else {
		snprintf(buf, size, "?");
	}
}

static void server_listeners_active(pacs_server *s, bool on)
{
	for (size_t i = 0; i < s->n_listen; i++) {
		if (on)
			ev_io_start(s->loop, &s->lio[i]);
		else
			ev_io_stop(s->loop, &s->lio[i]);
	}
}

static void server_accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	pacs_server *s = w->data;

	(void)loop;
	(void)revents;
	if (!s->shutting_down)
		server_listeners_active(s, true);
}

static void server_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	pacs_server *s = w->data;
	char peer[PACS_CONN_ADDR_MAX];

	(void)revents;
	for (int i = 0; i < SERVER_ACCEPTS_PER_EVENT && !s->shutting_down; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int one = 1;
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				pacs_server__log(s, PACS_SERVER_LOG_ERROR,
						 "cannot accept connections: %s; raise the limit (ulimit -n) or lower [server] max_associations; retrying in %g s",
						 strerror(errno), SERVER_ACCEPT_PAUSE);
				server_listeners_active(s, false);
				ev_timer_set(&s->accept_pause, SERVER_ACCEPT_PAUSE, 0.);
				ev_timer_start(loop, &s->accept_pause);
				return;
			}
			pacs_server__log(s, PACS_SERVER_LOG_ERROR, "accept: %s", strerror(errno));
			return;
		}
		/* peer-figures.md: without TCP_NODELAY each response waits for a
		 * delayed ACK and a server manages about 20 instances/s */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		format_peer(&ss, peer, sizeof(peer));
		if (s->n_conns >= s->opts.max_associations + SERVER_CONN_SLACK) {
			pacs_server__log(s, PACS_SERVER_LOG_WARNING,
					 "connection from %s closed: %u connections open (max_associations %u)",
					 peer, s->n_conns, s->opts.max_associations);
			close(fd);
			continue;
		}
		if (pacs_conn__start(s, fd, peer) < 0)
			pacs_server__log(s, PACS_SERVER_LOG_ERROR, "connection from %s: %s", peer,
					 arca_error_last());
	}
}

/* ------------------------------------------------------------ listening */

static int listen_error(int err, const char *label, uint16_t port)
{
	if (err == EADDRINUSE)
		return arca_error_set(ARCA_EIO, "port %u is already in use on %s (another DICOM server?)", port,
				      label);
	if (err == EACCES)
		return arca_error_set(ARCA_EIO,
				      "no permission to listen on port %u (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
				      port);
	return arca_error_set(ARCA_EIO, "cannot listen on %s port %u: %s", label, port, strerror(err));
}

/* Binds and listens on one address; *err is errno on failure (the caller
 * may fall back from IPv6 to IPv4). */
static int server_listen_addr(pacs_server *s, const struct sockaddr *sa, socklen_t salen, bool dual_stack,
			      int *err)
{
	struct sockaddr_storage got;
	socklen_t gotlen = sizeof(got);
	int fd, one = 1, v6only = dual_stack ? 0 : 1;
	size_t i = s->n_listen;

	*err = 0;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (bind(fd, sa, salen) < 0 || listen(fd, SERVER_LISTEN_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&got, &gotlen) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	if (s->port == 0)
		s->port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
						    : ntohs(((struct sockaddr_in *)&got)->sin_port);
	s->lfd[i] = fd;
	ev_io_init(&s->lio[i], server_accept_cb, fd, EV_READ);
	s->lio[i].data = s;
	s->n_listen++;
	return 0;
}

static void append_describe(pacs_server *s, const char *text)
{
	size_t n = strlen(s->describe);

	snprintf(s->describe + n, sizeof(s->describe) - n, "%s%s", n > 0 ? ", " : "", text);
}

/* Default: [::] with IPV6_V6ONLY off, which takes IPv4 too; 0.0.0.0 where
 * the machine has no IPv6. */
static int server_listen_any(pacs_server *s)
{
	struct sockaddr_in6 in6;
	struct sockaddr_in in;
	char label[64];
	int err;

	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	in6.sin6_addr = in6addr_any;
	in6.sin6_port = htons(s->opts.port);
	if (server_listen_addr(s, (struct sockaddr *)&in6, sizeof(in6), true, &err) == 0) {
		snprintf(label, sizeof(label), "[::]:%u (IPv6 and IPv4)", s->port);
		append_describe(s, label);
		return 0;
	}
	if (err != EAFNOSUPPORT && err != EADDRNOTAVAIL && err != EPROTONOSUPPORT)
		return listen_error(err, "[::]", s->opts.port);
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(INADDR_ANY);
	in.sin_port = htons(s->opts.port);
	if (server_listen_addr(s, (struct sockaddr *)&in, sizeof(in), false, &err) < 0)
		return listen_error(err, "0.0.0.0", s->opts.port);
	snprintf(label, sizeof(label), "0.0.0.0:%u (IPv4; no IPv6 on this machine)", s->port);
	append_describe(s, label);
	return 0;
}

static int server_listen(pacs_server *s)
{
	char label[96], host[INET6_ADDRSTRLEN + 2];
	size_t i;
	int err;

	if (s->opts.n_bind == 0)
		return server_listen_any(s);
	for (i = 0; i < s->opts.n_bind; i++) {
		const char *a = s->opts.bind[i];
		struct sockaddr_in6 in6;
		struct sockaddr_in in;
		size_t n = strlen(a);
		uint16_t port = s->port != 0 ? s->port : s->opts.port; /* port 0: all on the first's */
		int rc;

		memset(&in, 0, sizeof(in));
		memset(&in6, 0, sizeof(in6));
		if (n >= 2 && a[0] == '[' && a[n - 1] == ']' && n - 2 < sizeof(host)) {
			memcpy(host, a + 1, n - 2);
			host[n - 2] = '\0';
		} else {
			snprintf(host, sizeof(host), "%s", a);
		}
		if (inet_pton(AF_INET, host, &in.sin_addr) == 1) {
			in.sin_family = AF_INET;
			in.sin_port = htons(port);
			rc = server_listen_addr(s, (struct sockaddr *)&in, sizeof(in), false, &err);
		} else if (inet_pton(AF_INET6, host, &in6.sin6_addr) == 1) {
			in6.sin6_family = AF_INET6;
			in6.sin6_port = htons(port);
			/* "::" means every address, IPv4 included, as by default */
			rc = server_listen_addr(s, (struct sockaddr *)&in6, sizeof(in6),
						IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr), &err);
		} else {
			return arca_error_set(ARCA_EINVAL, "listen address \"%s\" is not a numeric IPv4 or IPv6 address",
					      a);
		}
		if (rc < 0)
			return listen_error(err, host, port);
		snprintf(label, sizeof(label), in.sin_family == AF_INET ? "%s:%u" : "[%s]:%u", host, s->port);
		append_describe(s, label);
	}
	return 0;
}

static void server_close_listeners(pacs_server *s)
{
	for (size_t i = 0; i < s->n_listen; i++) {
		ev_io_stop(s->loop, &s->lio[i]);
		close(s->lfd[i]);
	}
	s->n_listen = 0;
	ev_timer_stop(s->loop, &s->accept_pause);
}

/* ------------------------------------------------------------ shutdown */

static void server_maybe_finish(pacs_server *s)
{
	if (!s->shutting_down || s->finished || s->conns != NULL)
		return;
	s->finished = true;
	ev_timer_stop(s->loop, &s->shutdown_timer);
	pacs_server__log(s, PACS_SERVER_LOG_INFO,
			 "stopped: %llu associations, %llu instances stored, %llu refused, %llu aborted",
			 (unsigned long long)s->stats.associations, (unsigned long long)s->stats.instances,
			 (unsigned long long)s->stats.refused, (unsigned long long)s->stats.aborted);
	ev_break(s->loop, EVBREAK_ALL);
}

void pacs_server__conn_gone(pacs_server *s, pacs_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (s->conns == c)
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (s->n_conns > 0)
		s->n_conns--;
	server_maybe_finish(s);
}

static void server_shutdown_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	pacs_server *s = w->data;

	(void)loop;
	(void)revents;
	pacs_server__log(s, PACS_SERVER_LOG_WARNING, "shutdown_timeout (%g s) passed",
			 s->opts.shutdown_timeout);
	pacs_server_abort_all(s);
}

void pacs_server_shutdown(pacs_server *s)
{
	pacs_conn *c, *next;

	if (s->shutting_down || s->finished)
		return;
	s->shutting_down = true;
	server_close_listeners(s);
	pacs_server__log(s, PACS_SERVER_LOG_INFO,
			 "shutting down: not accepting; %u associations in flight, waiting up to %g s for them",
			 s->n_established, s->opts.shutdown_timeout);
	if (s->conns != NULL) {
		ev_timer_set(&s->shutdown_timer, s->opts.shutdown_timeout, 0.);
		ev_timer_start(s->loop, &s->shutdown_timer);
	}
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		/* a connection without an association yet is closed; its peer
		 * retries elsewhere or later */
		pacs_conn__shutdown(c, pacs_ul_state(c->ul) == PACS_UL_STA2);
	}
	server_maybe_finish(s);
}

void pacs_server_abort_all(pacs_server *s)
{
	pacs_conn *c, *next;

	pacs_server_shutdown(s);
	if (s->finished || s->aborting)
		return;
	s->aborting = true;
	if (s->conns != NULL)
		pacs_server__log(s, PACS_SERVER_LOG_WARNING, "aborting the %u connections still open", s->n_conns);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		pacs_conn__shutdown(c, true);
	}
	server_maybe_finish(s);
}

static void server_wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	pacs_server *s = w->data;
	int n = atomic_load(&s->shutdown_requests);

	(void)loop;
	(void)revents;
	if (n <= s->shutdown_seen)
		return;
	if (s->shutdown_seen == 0)
		pacs_server_shutdown(s);
	if (n >= 2)
		pacs_server_abort_all(s);
	s->shutdown_seen = n;
}

void pacs_server_request_shutdown(pacs_server *s)
{
	atomic_fetch_add(&s->shutdown_requests, 1);
	ev_async_send(s->loop, &s->wake);
}

bool pacs_server_finished(const pacs_server *s)
{
	return s->finished;
}

int pacs_server_run(pacs_server *s)
{
	while (!s->finished)
		ev_run(s->loop, 0);
	return 0;
}

/* ------------------------------------------------------------ life cycle */

int pacs_server_new(pacs_server **out, struct ev_loop *loop, const pacs_server_opts *opts,
		    const pacs_ingest *ingest)
{
	pacs_server_opts defaults;
	pacs_server *s;
	int rc;

	*out = NULL;
	if (loop == NULL)
		return arca_error_set(ARCA_EINVAL, "pacs_server_new: no loop");
	if (opts == NULL) {
		pacs_server_opts_init(&defaults);
		opts = &defaults;
	}
	if (ingest != NULL && (ingest->ops == NULL || ingest->ops->begin == NULL || ingest->ops->bulk == NULL ||
			       ingest->ops->commit == NULL || ingest->ops->abort == NULL))
		return arca_error_set(ARCA_EINVAL, "pacs_server_new: the ingest needs all four operations");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return arca_error_set(ARCA_ENOMEM, "no memory for the server");
	s->loop = loop;
	atomic_init(&s->shutdown_requests, 0);
	ev_timer_init(&s->accept_pause, server_accept_pause_cb, SERVER_ACCEPT_PAUSE, 0.);
	s->accept_pause.data = s;
	ev_timer_init(&s->shutdown_timer, server_shutdown_timeout_cb, 1., 0.);
	s->shutdown_timer.data = s;
	ev_async_init(&s->wake, server_wake_cb);
	s->wake.data = s;
	if (ingest != NULL) {
		s->ingest = *ingest;
		s->has_ingest = true;
	}
	rc = server_copy_opts(s, opts);
	if (rc == 0)
		rc = server_build_policy(s);
	if (rc == 0)
		rc = server_listen(s);
	if (rc == 0)
		rc = pacs_workq_new(&s->workq, loop, s->opts.workers);
	if (rc < 0) {
		pacs_server_free(s);
		return rc;
	}
	ev_async_start(loop, &s->wake);
	server_listeners_active(s, true);
	*out = s;
	return 0;
}

uint16_t pacs_server_port(const pacs_server *s)
{
	return s->port;
}

void pacs_server_describe(const pacs_server *s, char *buf, size_t size)
{
	snprintf(buf, size, "%s", s->describe);
}

void pacs_server_get_stats(const pacs_server *s, pacs_server_stats *out)
{
	*out = s->stats;
	out->active = s->n_conns;
}

void pacs_server_free(pacs_server *s)
{
	pacs_conn *c;

	if (s == NULL)
		return;
	if (s->workq != NULL && !s->finished)
		pacs_server_abort_all(s);
	/* commits in flight finish here; their done() ends their connections */
	pacs_workq_free(s->workq);
	s->workq = NULL;
	while ((c = s->conns) != NULL) {
		s->conns = c->next;
		pacs_conn__destroy(c);
	}
	server_close_listeners(s);
	ev_timer_stop(s->loop, &s->shutdown_timer);
	ev_async_stop(s->loop, &s->wake);
	free_list(s->calling_aes, s->opts.n_calling_aes);
	free_list(s->transfer_syntaxes, s->opts.n_transfer_syntaxes);
	free_list(s->bind, s->opts.n_bind);
	if (s->users != NULL) {
		for (size_t i = 0; i < s->opts.n_users; i++) {
			free((char *)s->users[i].name);
			free((char *)s->users[i].password);
		}
		free(s->users);
	}
	free(s->sops);
	free(s);
}
