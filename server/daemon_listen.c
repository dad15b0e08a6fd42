/*
 * daemon_listen.c - the daemon's addresses: "ADDR:PORT" / "[v6]:PORT" parsed,
 * the listening socket opened (non-blocking, close-on-exec, a deep backlog),
 * socket addresses as text for the session and the log, and how many
 * connections wait in its accept queue (daemon.h).
 * No process management here: that is daemon.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "net.h"

int
daemon_parse_listen(const char *spec, struct sockaddr_storage *ss, unsigned *len, struct err *e)
{
	struct net_addr a;

	memset(ss, 0, sizeof *ss);
	if (net_parse_addr_port(spec, &a) != 0) {
		err_set(e, 1, "bad listen address \"%s\" (use ADDR:PORT or [IPv6]:PORT)", spec);
		return -1;
	}
	*ss = a.ss;
	*len = (unsigned)a.len;
	return 0;
}

void
daemon_addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, unsigned *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(v6->sin6_port);
	} else {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &v4->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(v4->sin_port);
	}
}

int
daemon_listen_open(const char *spec, char *bound, size_t boundlen, struct err *e)
{
	struct sockaddr_storage ss;
	unsigned len;
	int fd, one = 1;
	char ip[64];
	unsigned port;

	if (daemon_parse_listen(spec, &ss, &len, e) != 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err_set(e, 1, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* A deep backlog: a burst waits there for the pool to grow, not in SYN retries. */
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
		err_set(e, 1, "cannot listen on %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	daemon_addr_text(&ss, ip, sizeof ip, &port);
	snprintf(bound, boundlen, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
	return fd;
}

unsigned
daemon_listen_pending(int lfd)
{
	struct tcp_info ti;
	socklen_t tl = sizeof ti;

	/* On a listening socket Linux reports the accept queue's length in
	 * tcpi_unacked (and its limit in tcpi_sacked). */
	memset(&ti, 0, sizeof ti);
	if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0 || ti.tcpi_state != TCP_LISTEN)
		return 0;
	return ti.tcpi_unacked;
}
