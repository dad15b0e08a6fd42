/*
 * smtp_load.c - many SMTP clients at once for the end-to-end denial-of-service
 * tests (tests/e2e/dos_test.sh): idle connections that only read their
 * greeting, and slowloris clients that trickle a command or a message one
 * octet at a time.  One process, non-blocking sockets and poll(2); loopback
 * only; every run bounded by its own time limit.
 *
 *   smtp_load idle HOST:PORT SECS SRC:N [SRC:N...]
 *       open N connections from each local address SRC, read each one's
 *       first reply (at most SECS seconds), print
 *         "answered greeted=G refused_total=T refused_host=H other=O silent=S ms=M"
 *       then keep the connections open until stdin reaches EOF (at most
 *       SECS more seconds) and close them all.
 *   smtp_load slow HOST:PORT SECS SRC N command|data INTERVAL_MS
 *       N clients from SRC; after the greeting each trickles, one octet every
 *       INTERVAL_MS, a command line that never ends (command) or, after
 *       EHLO/MAIL/RCPT/DATA, a message that never ends (data).  Prints one
 *       line per client "client I closed_ms=M reply=CODE" when the server
 *       closes it (or closed_ms=-1 after SECS), then "max_closed_ms=M".
 *   smtp_load noread HOST:PORT SECS SRC
 *       one client with a tiny receive buffer that sends EHLO and RSETs
 *       (RFC 2920: allowed anywhere in a pipelined group) as fast as the
 *       server takes them and never reads a reply, for at most SECS; prints
 *       "noread sent=N ms=M" when the server has closed (reset) it.
 *   smtp_load tlsslow PORTFILE SECS INTERVAL_MS
 *       a server on 127.0.0.1 (its port written to PORTFILE) that takes one
 *       connection, offers STARTTLS, answers it 220, then trickles a TLS
 *       record one octet every INTERVAL_MS; prints "tlsslow closed_ms=M"
 *       (from the 220 to the client's close, -1 after SECS).
 * Exit 0 when it ran (the script judges the figures), 2 on usage or set-up
 * errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4000

struct conn {
	int fd;
	char in[512];
	size_t inlen;
	int replied; /* the first reply line is in */
	int step;    /* slow: octets or commands sent so far */
	long closed_ms;
	int code; /* the last reply code seen */
};

static struct conn conns[MAX_CONNS];
static size_t nconns;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_target(const char *spec, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(spec, ':');

	if (colon == NULL || (size_t)(colon - spec) >= sizeof host)
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* A blocking connect from `src` (loopback connects at once), then non-blocking. */
static int
open_conn(const struct sockaddr_in *to, const char *src)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
	    connect(fd, (const struct sockaddr *)to, sizeof *to) != 0) {
		fprintf(stderr, "smtp_load: connect from %s: %s\n", src, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Read what is there; 1 when the peer closed (or failed). */
static int
drain(struct conn *c)
{
	for (;;) {
		char buf[512];
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return 1;
		if (n < 0)
			return 0;
		for (ssize_t i = 0; i < n; i++) {
			if (c->inlen < sizeof c->in - 1)
				c->in[c->inlen++] = buf[i];
			if (buf[i] == '\n') {
				c->in[c->inlen] = '\0';
				c->code = atoi(c->in);
				if (c->inlen > 3 && c->in[3] == ' ')
					c->replied++;
				c->inlen = 0;
			}
		}
	}
}

/* Wait up to `ms` for input on the open connections; drain what came. */
static void
poll_round(int ms, long t0)
{
	static struct pollfd p[MAX_CONNS];
	size_t idx[MAX_CONNS], n = 0;

	for (size_t i = 0; i < nconns; i++) {
		if (conns[i].fd < 0)
			continue;
		p[n] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		idx[n++] = i;
	}
	if (poll(p, n, ms) <= 0)
		return;
	for (size_t k = 0; k < n; k++) {
		struct conn *c = &conns[idx[k]];
		if (p[k].revents == 0)
			continue;
		if (drain(c)) {
			close(c->fd);
			c->fd = -1;
			c->closed_ms = now_ms() - t0;
		}
	}
}

static int
run_idle(const struct sockaddr_in *to, long secs, int argc, char **argv)
{
	unsigned greeted = 0, total = 0, host = 0, other = 0, silent = 0;
	long t0 = now_ms(), first_done;

	for (int a = 0; a < argc; a++) {
		char src[64];
		const char *colon = strrchr(argv[a], ':');
		int n = colon ? atoi(colon + 1) : 0;
		if (colon == NULL || (size_t)(colon - argv[a]) >= sizeof src)
			return 2;
		snprintf(src, sizeof src, "%.*s", (int)(colon - argv[a]), argv[a]);
		for (int i = 0; i < n && nconns < MAX_CONNS; i++) {
			struct conn *c = &conns[nconns];
			memset(c, 0, sizeof *c);
			c->closed_ms = -1;
			c->fd = open_conn(to, src);
			if (c->fd < 0)
				return 2;
			nconns++;
		}
	}
	for (;;) {
		size_t waiting = 0;
		for (size_t i = 0; i < nconns; i++)
			waiting += conns[i].fd >= 0 && !conns[i].replied;
		if (waiting == 0 || now_ms() - t0 > secs * 1000)
			break;
		poll_round(100, t0);
	}
	first_done = now_ms() - t0;
	/* A 421's text tells the two limits apart (the server closes after
	 * it, so its line is the last one kept in `in`). */
	for (size_t i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		if (!c->replied)
			silent++;
		else if (c->code == 220)
			greeted++;
		else if (c->code == 421 && strstr(c->in, "Too many concurrent") != NULL)
			total++;
		else if (c->code == 421 && strstr(c->in, "from your host") != NULL)
			host++;
		else
			other++;
	}
	printf("answered greeted=%u refused_total=%u refused_host=%u other=%u silent=%u ms=%ld\n",
	       greeted, total, host, other, silent, first_done);
	fflush(stdout);
	/* Hold them until the script says so (stdin EOF), bounded by secs. */
	{
		struct pollfd p = { .fd = 0, .events = POLLIN };
		long end = now_ms() + secs * 1000;
		char buf[64];
		while (now_ms() < end && poll(&p, 1, 200) >= 0) {
			if (p.revents && read(0, buf, sizeof buf) <= 0)
				break;
		}
	}
	for (size_t i = 0; i < nconns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	return 0;
}

static void
send_str(struct conn *c, const char *s)
{
	if (send(c->fd, s, strlen(s), MSG_NOSIGNAL) < 0)
		(void)0; /* the server closed: seen by the next poll */
}

static int
run_slow(const struct sockaddr_in *to, long secs, const char *src, int n, int data, long interval)
{
	static const char *const prologue[] = { "EHLO slow.test\r\n", "MAIL FROM:<s@slow.test>\r\n",
		                                "RCPT TO:<u@example.test>\r\n", "DATA\r\n" };
	long t0 = now_ms(), next = t0, max = 0;

	for (int i = 0; i < n && nconns < MAX_CONNS; i++) {
		struct conn *c = &conns[nconns];
		memset(c, 0, sizeof *c);
		c->closed_ms = -1;
		c->fd = open_conn(to, src);
		if (c->fd < 0)
			return 2;
		nconns++;
	}
	while (now_ms() - t0 < secs * 1000) {
		size_t open = 0;
		poll_round(20, t0);
		for (size_t i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			if (c->fd < 0 || !c->replied)
				continue;
			open++;
			/* data: the four commands, each after the previous reply */
			if (data && c->step < 4 && c->replied == c->step + 1) {
				send_str(c, prologue[c->step]);
				c->step++;
			}
		}
		if (open == 0 && nconns > 0) {
			size_t left = 0;
			for (size_t i = 0; i < nconns; i++)
				left += conns[i].fd >= 0;
			if (left == 0)
				break;
		}
		if (now_ms() >= next) {
			next += interval;
			for (size_t i = 0; i < nconns; i++) {
				struct conn *c = &conns[i];
				if (c->fd >= 0 && c->replied && (!data || c->step >= 4))
					send_str(c,
					         "X"); /* never a line end: the line never ends */
			}
		}
	}
	for (size_t i = 0; i < nconns; i++) {
		printf("client %zu closed_ms=%ld reply=%d\n", i, conns[i].closed_ms, conns[i].code);
		if (conns[i].closed_ms < 0)
			max = -1;
		else if (max >= 0 && conns[i].closed_ms > max)
			max = conns[i].closed_ms;
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	}
	printf("max_closed_ms=%ld\n", max);
	return 0;
}

/* noread: see the head comment. */
static int
run_noread(const struct sockaddr_in *to, long secs, const char *src)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 2048;
	long t0 = now_ms(), sent = 0;
	char buf[6000];

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) != 0 ||
	    inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
	    connect(fd, (const struct sockaddr *)to, sizeof *to) != 0) {
		fprintf(stderr, "smtp_load: noread: %s\n", strerror(errno));
		return 2;
	}
	/* The greeting first: talking before it is another error (RFC 5321 4.3.1). */
	struct pollfd g = { .fd = fd, .events = POLLIN };
	if (poll(&g, 1, (int)secs * 1000) <= 0 || recv(fd, buf, sizeof buf, 0) <= 0)
		return 2;
	/* EHLO ends a pipelined group (RFC 2920 3.1): its whole reply first. */
	if (send(fd, "EHLO noread.test\r\n", 18, MSG_NOSIGNAL) != 18)
		return 2;
	for (size_t got = 0;;) {
		ssize_t n;
		if (poll(&g, 1, (int)secs * 1000) <= 0 ||
		    (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) <= 0)
			return 2;
		got += (size_t)n;
		buf[got] = '\0';
		if (strncmp(buf, "250 ", 4) == 0 || strstr(buf, "\n250 ") != NULL)
			break;
		if (got >= sizeof buf - 1)
			return 2;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (size_t i = 0; i + 6 <= sizeof buf; i += 6)
		memcpy(buf + i, "RSET\r\n", 6);
	while (now_ms() - t0 < secs * 1000) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			break;
		if (p.revents & (POLLERR | POLLHUP))
			break; /* the server reset the connection */
		if (!(p.revents & POLLOUT))
			continue;
		ssize_t n = send(fd, buf, sizeof buf, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (n > 0)
			sent += n;
	}
	printf("noread sent=%ld ms=%ld\n", sent, now_ms() - t0);
	close(fd);
	return 0;
}

/* tlsslow: see the head comment. */
static int
run_tlsslow(const char *portfile, long secs, long interval)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fd, stage = 0;
	long t0 = now_ms(), t220 = -1, closed = -1;
	char line[600];
	size_t ll = 0;
	FILE *fp;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) != 0 ||
	    (fp = fopen(portfile, "w")) == NULL) {
		fprintf(stderr, "smtp_load: tlsslow: %s\n", strerror(errno));
		return 2;
	}
	fprintf(fp, "%u\n", ntohs(sa.sin_port));
	fclose(fp);
	struct pollfd lp = { .fd = lfd, .events = POLLIN };
	if (poll(&lp, 1, (int)secs * 1000) <= 0 || (fd = accept(lfd, NULL, NULL)) < 0)
		return 2;
	send(fd, "220 slow.test ESMTP\r\n", 21, MSG_NOSIGNAL);
	while (now_ms() - t0 < secs * 1000) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;
		if (poll(&p, 1, stage == 2 ? (int)interval : 100) > 0) {
			ssize_t n = recv(fd, &c, 1, 0);
			if (n <= 0) {
				closed = t220 >= 0 ? now_ms() - t220 : -2;
				break;
			}
			if (stage == 2)
				continue; /* the ClientHello: ignored */
			if (ll < sizeof line - 1)
				line[ll++] = c;
			if (c != '\n')
				continue;
			line[ll] = '\0';
			ll = 0;
			if (strncasecmp(line, "EHLO", 4) == 0) {
				send(fd, "250-slow.test\r\n250 STARTTLS\r\n", 29, MSG_NOSIGNAL);
			} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
				send(fd, "220 go ahead\r\n", 14, MSG_NOSIGNAL);
				/* A ServerHello record header announcing 512 octets. */
				send(fd, "\x16\x03\x03\x02\x00", 5, MSG_NOSIGNAL);
				t220 = now_ms();
				stage = 2;
			} else {
				send(fd, "221 bye\r\n", 9, MSG_NOSIGNAL);
			}
		} else if (stage == 2 && send(fd, "A", 1, MSG_NOSIGNAL) < 0) {
			closed = now_ms() - t220;
			break;
		}
	}
	printf("tlsslow closed_ms=%ld\n", closed);
	close(fd);
	close(lfd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in to;

	if (argc < 5 || (strcmp(argv[1], "tlsslow") != 0 && parse_target(argv[2], &to) != 0)) {
		fprintf(stderr, "usage: smtp_load idle|slow HOST:PORT SECS ...\n");
		return 2;
	}
	if (argc == 5 && strcmp(argv[1], "tlsslow") == 0)
		return run_tlsslow(argv[2], atol(argv[3]), atol(argv[4]));
	raise_fd_limit();
	if (argc == 5 && strcmp(argv[1], "noread") == 0 && parse_target(argv[2], &to) == 0)
		return run_noread(&to, atol(argv[3]), argv[4]);
	if (strcmp(argv[1], "idle") == 0)
		return run_idle(&to, atol(argv[3]), argc - 4, argv + 4);
	if (strcmp(argv[1], "slow") == 0 && argc == 8)
		return run_slow(&to, atol(argv[3]), argv[4], atoi(argv[5]),
		                strcmp(argv[6], "data") == 0, atol(argv[7]));
	fprintf(stderr, "usage: smtp_load idle|slow HOST:PORT SECS ...\n");
	return 2;
}
