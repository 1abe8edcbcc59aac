/* pacs_scu_net.c - the SCU's blocking TCP transport: connect with a
 * timeout over every address of a name (IPv4 and IPv6, getaddrinfo order),
 * write everything with a stall timeout, wait for input with a deadline.
 * One concept, like Redis's anet.c; the Upper Layer never sees a socket. */
#include "pacs_scu_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "arca_err.h"

int64_t pacs_scu__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll() timeout for a deadline: -1 (none), or the milliseconds left. */
static int poll_timeout(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - pacs_scu__now_ms();
	if (left <= 0)
		return 0;
	return left > 60 * 60 * 1000 ? 60 * 60 * 1000 : (int)left;
}

static int set_blocking(int fd, bool blocking)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	flags = blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags);
}

/* One address: a non-blocking connect, poll for completion, then back to
 * blocking.  Returns the socket or -1 with *why set. */
static int connect_one(const struct addrinfo *ai, unsigned timeout_ms, char *why, size_t why_size)
{
	int fd, err = 0, one = 1;
	socklen_t len = sizeof(err);
	struct pollfd p;
	int64_t deadline = pacs_scu__now_ms() + timeout_ms;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		snprintf(why, why_size, "socket: %s", strerror(errno));
		return -1;
	}
	if (set_blocking(fd, false) < 0) {
		snprintf(why, why_size, "fcntl: %s", strerror(errno));
		goto fail;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			snprintf(why, why_size, "%s", strerror(errno));
			goto fail;
		}
		for (;;) {
			int n;

			p.fd = fd;
			p.events = POLLOUT;
			p.revents = 0;
			n = poll(&p, 1, poll_timeout(deadline));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				snprintf(why, why_size, "poll: %s", strerror(errno));
				goto fail;
			}
			if (n == 0) {
				snprintf(why, why_size, "no answer within %u ms", timeout_ms);
				goto fail;
			}
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			snprintf(why, why_size, "%s", strerror(err != 0 ? err : errno));
			goto fail;
		}
	}
	if (set_blocking(fd, true) < 0) {
		snprintf(why, why_size, "fcntl: %s", strerror(errno));
		goto fail;
	}
	/* Small PDUs (commands, responses, release) must not wait for the
	 * peer's delayed ACK (Nagle): each would cost ~40 ms. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return -1;
}

int pacs_scu__connect(int *fd, const char *host, uint16_t port, unsigned timeout_ms)
{
	struct addrinfo hints, *res = NULL;
	char service[8], why[SCU_DETAIL_MAX] = "no address";
	int rc;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_FAIL || rc == EAI_NODATA) {
		/* AI_ADDRCONFIG hides ::1 on hosts without a global IPv6
		 * address; try again without it before giving up. */
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(host, service, &hints, &res);
	}
	if (rc != 0)
		return arca_error_set(ARCA_EIO, "cannot resolve %s: %s", host, gai_strerror(rc));
	for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		*fd = connect_one(ai, timeout_ms, why, sizeof(why));
		if (*fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (*fd < 0)
		return arca_error_set(ARCA_EIO, "cannot connect to %s port %u: %s", host, (unsigned)port, why);
	return 0;
}

int pacs_scu__write_all(int fd, const uint8_t *head, size_t head_len, const uint8_t *body,
			size_t body_len, unsigned timeout_ms)
{
	struct iovec iov[2];
	int niov = 0;
	int64_t deadline = pacs_scu__now_ms() + timeout_ms;

	memset(iov, 0, sizeof(iov));
	if (fd < 0)
		return arca_error_set(ARCA_EIO, "the connection is closed");
	if (head_len > 0)
		iov[niov++] = (struct iovec){ .iov_base = (void *)head, .iov_len = head_len };
	if (body_len > 0)
		iov[niov++] = (struct iovec){ .iov_base = (void *)body, .iov_len = body_len };
	while (niov > 0) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)niov };
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int r = poll(&p, 1, poll_timeout(deadline));

			if (r < 0 && errno != EINTR)
				return arca_error_set(ARCA_EIO, "poll: %s", strerror(errno));
			if (r == 0)
				return arca_error_set(ARCA_EIO, "the peer took no data for %u ms", timeout_ms);
			continue;
		}
		if (n < 0)
			return arca_error_set(ARCA_EIO, "send: %s", strerror(errno));
		/* consume n bytes from the front of the vector */
		size_t left = (size_t)n;
		while (niov > 0 && left >= iov[0].iov_len) {
			left -= iov[0].iov_len;
			iov[0] = iov[1];
			niov--;
		}
		if (niov > 0) {
			iov[0].iov_base = (uint8_t *)iov[0].iov_base + left;
			iov[0].iov_len -= left;
		}
		deadline = pacs_scu__now_ms() + timeout_ms; /* progress: a stall timeout */
	}
	return 0;
}

int pacs_scu__wait_readable(int fd, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, poll_timeout(deadline));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return arca_error_set(ARCA_EIO, "poll: %s", strerror(errno));
		if (n == 0) {
			if (deadline >= 0 && pacs_scu__now_ms() < deadline)
				continue; /* poll's timeout was capped */
			return 0;
		}
		return 1;
	}
}
