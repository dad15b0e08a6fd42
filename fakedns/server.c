/*
 * server.c - UDP and TCP sockets and the poll loop (see server.h).
 *
 * Single-threaded on purpose: answers are deterministic and ordered in the
 * log.  A TCP client gets a 2 s read/write timeout and at most
 * TCP_QUERIES_MAX queries so a stuck client cannot stall the server long.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "net.h"
#include "server.h"

#define TCP_QUERIES_MAX 64
#define TCP_TIMEOUT_S 2
#define BIND_TRIES 20
#define DNS_MSG_MAX 65535

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

MUST_CHECK static int
bind_one(int type, const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)(void *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons((uint16_t)port);
}

static unsigned
get_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
}

int
server_open(struct server *s, const char *spec, struct err *e)
{
	struct net_addr a;
	int rc = -1;

	s->udp = s->tcp = -1;
	if (net_parse_addr_port(spec, &a) != 0) {
		err_set(e, 1, "--listen wants ADDR:PORT with a numeric address, not \"%s\"", spec);
		goto out;
	}
	if (!net_is_loopback((struct sockaddr *)&a.ss)) {
		err_set(e, 1, "--listen: %s is not a loopback address (fakedns is for tests only)",
		        a.host);
		goto out;
	}
	/* port 0: the kernel picks the UDP port; TCP must get the same number */
	for (int i = 0; i < BIND_TRIES && s->tcp < 0; i++) {
		set_port(&a.ss, a.port);
		s->udp = bind_one(SOCK_DGRAM, &a.ss, a.len);
		if (s->udp < 0)
			break;
		set_port(&a.ss, get_port(s->udp));
		s->tcp = bind_one(SOCK_STREAM, &a.ss, a.len);
		if (s->tcp < 0) {
			close(s->udp);
			s->udp = -1;
			if (a.port != 0)
				break;
		}
	}
	if (s->udp < 0 || s->tcp < 0) {
		err_set(e, 1, "--listen %s: cannot bind UDP and TCP: %s", spec, strerror(errno));
		goto out;
	}
	snprintf(s->addr, sizeof(s->addr), "%s", a.host);
	s->port = get_port(s->udp);
	rc = 0;
out:
	if (rc != 0)
		server_close(s);
	return rc;
}

void
server_close(struct server *s)
{
	if (s->udp >= 0)
		close(s->udp);
	if (s->tcp >= 0)
		close(s->tcp);
	s->udp = s->tcp = -1;
}

static void
pause_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stopping)
		;
}

MUST_CHECK static int
answer_and_log(const struct fd_zoneset *set, const uint8_t *buf, size_t len, int tcp, FILE *log,
               struct answer_result *r, struct err *e)
{
	if (answer_query(set, buf, len, tcp, r, e) != 0)
		return -1;
	if (r->log[0] != '\0' && log != NULL) {
		fprintf(log, "%s%s\n", r->log, tcp ? " tcp" : "");
		fflush(log);
	}
	if (r->delay_ms > 0)
		pause_ms(r->delay_ms);
	return 0;
}

static void
serve_udp(int fd, const struct fd_zoneset *set, FILE *log)
{
	static uint8_t buf[DNS_MSG_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct answer_result r;
	struct err e = { 0 };
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

	if (n < 0)
		return;
	if (answer_and_log(set, buf, (size_t)n, 0, log, &r, &e) != 0) {
		if (log != NULL)
			fprintf(log, "error: %s\n", e.text);
		return;
	}
	if (!r.drop && r.wire != NULL)
		(void)sendto(fd, r.wire, r.len, 0, (struct sockaddr *)&from, fl);
	answer_result_free(&r);
}

/* Read exactly len octets; 0 ok, -1 EOF, timeout or error. */
static int
read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) { /* bounded by SO_RCVTIMEO and len */
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int
write_full(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static void
serve_tcp(int lfd, const struct fd_zoneset *set, FILE *log)
{
	static uint8_t buf[DNS_MSG_MAX];
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (net_set_timeouts(fd, TCP_TIMEOUT_S * 1000) != 0) {
		close(fd);
		return;
	}
	for (int i = 0; i < TCP_QUERIES_MAX && !stopping; i++) {
		uint8_t hdr[2];
		size_t len;
		struct answer_result r;
		struct err e = { 0 };
		int sent;

		if (read_full(fd, hdr, 2) != 0)
			break;
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (read_full(fd, buf, len) != 0)
			break;
		if (answer_and_log(set, buf, len, 1, log, &r, &e) != 0)
			break;
		if (r.drop || r.wire == NULL) {
			answer_result_free(&r);
			continue;
		}
		hdr[0] = (uint8_t)(r.len >> 8);
		hdr[1] = (uint8_t)r.len;
		sent = write_full(fd, hdr, 2) == 0 && write_full(fd, r.wire, r.len) == 0;
		answer_result_free(&r);
		if (!sent)
			break;
	}
	close(fd);
}

int
server_run(struct server *s, const struct fd_zoneset *set, FILE *log, struct err *e)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfd[2];

	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() must return on SIGTERM */
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
		err_set(e, 1, "sigaction: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	while (!stopping) {
		pfd[0] = (struct pollfd){ .fd = s->udp, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->tcp, .events = POLLIN };
		if (poll(pfd, 2, 1000) < 0) {
			if (errno == EINTR)
				continue;
			err_set(e, 1, "poll: %s", strerror(errno));
			return -1;
		}
		if (pfd[0].revents & POLLIN)
			serve_udp(s->udp, set, log);
		if (pfd[1].revents & POLLIN)
			serve_tcp(s->tcp, set, log);
	}
	return 0;
}
