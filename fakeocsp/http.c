/*
 * http.c - fakeocsp's HTTP server: accept on a loopback socket, fork one
 * process per connection (at most HTTP_MAX_CLIENTS at once), read requests
 * with a deadline, hand the DER to ocsp_answer(), write the response.
 *
 * Must never exit on bad input nor wait forever: garbage gets a 400, an
 * oversize body a 413, a stalled client is dropped after the timeout, and
 * every loop is bounded in count.  Stops on SIGTERM, killing only its own
 * connection processes, by PID.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "net.h"

static volatile sig_atomic_t stop_requested;

/* ---- small pure helpers -------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
http_url_decode(char *s)
{
	char *w = s;

	for (const char *r = s; *r != '\0'; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		int hi = hexval((unsigned char)r[1]),
		    lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -1;
		*w++ = (char)(hi * 16 + lo);
		r += 2;
	}
	*w = '\0';
	return 0;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

long
http_base64_decode(const char *in, unsigned char *out, size_t outlen)
{
	size_t len = strlen(in), n = 0;
	unsigned long acc = 0;
	int bits = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len == 0 || len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == outlen)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1ul << bits) - 1;
		}
	}
	return (long)n;
}

/* ---- listening ----------------------------------------------------------- */

int
http_listen(const char *addr_port, int *fd, char *bound, size_t boundlen, struct err *e)
{
	struct net_addr a;
	int s = -1, one = 1, rc = -1;

	*fd = -1;
	if (net_parse_addr_port(addr_port, &a) != 0) {
		err_set(e, 1, "--listen %s: want ADDR:PORT with a numeric address", addr_port);
		goto out;
	}
	if (!net_is_loopback((struct sockaddr *)&a.ss)) {
		err_set(e, 1, "--listen %s: loopback addresses only (127.0.0.0/8, ::1)", addr_port);
		goto out;
	}
	if ((s = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s, (struct sockaddr *)&a.ss, a.len) < 0 || listen(s, 128) < 0 ||
	    getsockname(s, (struct sockaddr *)&a.ss, &a.len) < 0) {
		err_set(e, 1, "--listen %s: %s", addr_port, strerror(errno));
		goto out;
	}
	net_format_addr((struct sockaddr *)&a.ss, bound, boundlen);
	*fd = s;
	s = -1;
	rc = 0;
out:
	if (s >= 0)
		close(s);
	return rc;
}

/* ---- one connection ------------------------------------------------------ */

struct conn {
	int fd;
	const struct http_config *cfg;
	char buf[HTTP_MAX_HEADER + HTTP_MAX_BODY + 1];
	size_t have;
	long long deadline; /* ms, CLOCK_MONOTONIC */
};

struct request {
	char method[8];
	char target[HTTP_MAX_HEADER];
	int minor;           /* HTTP/1.<minor> */
	long content_length; /* -1 = none */
	int keep_alive;
	int chunked;
	int expect_continue;
	char content_type[64];
	size_t header_len; /* bytes of request line + headers */
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_line(const struct http_config *cfg, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
log_line(const struct http_config *cfg, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	/* One write(): lines from several connection processes never interleave. */
	if (write(cfg->log_fd, line, (size_t)n) < 0) {
		/* Nothing sensible to do: the log is best effort. */
	}
}

/* Read more into c->buf (up to `cap` bytes in all) before the deadline.
   1 = read something, 0 = EOF, -1 = timeout or error. */
static int
conn_fill(struct conn *c, size_t cap)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	long long left = c->deadline - now_ms();
	ssize_t n;

	if (c->have >= cap || left <= 0)
		return -1;
	if (poll(&p, 1, (int)left) <= 0)
		return -1;
	n = read(c->fd, c->buf + c->have, cap - c->have);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	c->have += (size_t)n;
	return 1;
}

static int
conn_write(struct conn *c, const void *data, size_t len)
{
	const char *p = data;
	long long deadline = now_ms() + c->cfg->timeout_ms;

	while (len > 0) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

static const char *
reason_phrase(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Error";
}

static int
conn_respond(struct conn *c, int minor, int code, const char *ctype, const void *body, size_t len,
             int keep_alive)
{
	char head[512];
	int n;

	(void)minor; /* RFC 9110 6.2: a 1.1 server says HTTP/1.1 to a 1.0 client too */
	n = snprintf(head, sizeof head,
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	             "Cache-Control: no-store\r\nConnection: %s\r\n%s\r\n",
	             code, reason_phrase(code), ctype, len, keep_alive ? "keep-alive" : "close",
	             code == 405 ? "Allow: GET, POST\r\n" : "");
	if (conn_write(c, head, (size_t)n) < 0)
		return -1;
	return len > 0 ? conn_write(c, body, len) : 0;
}

/* An HTTP error: a short text body, then close. */
static void
conn_error(struct conn *c, int minor, int code, const char *why)
{
	char body[256];
	int n = snprintf(body, sizeof body, "%d %s: %s\n", code, reason_phrase(code), why);

	log_line(c->cfg, "serial=- status=http-%d fault=none why=\"%s\"", code, why);
	(void)conn_respond(c, minor, code, "text/plain", body, (size_t)n, 0);
}

/* Where the header block ends in buf[0..have) ("\r\n\r\n" or "\n\n"), or 0. */
static size_t
header_end(const char *buf, size_t have)
{
	for (size_t i = 0; i + 1 < have; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return i + 2;
		if (i + 3 < have && memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	}
	return 0;
}

/* Parse the request line and the headers we care about; the HTTP status to
   refuse with, or 0. */
static int
request_parse(char *head, size_t len, struct request *rq, const char **why)
{
	char *line, *next, *sp1, *sp2;
	int first = 1;

	memset(rq, 0, sizeof *rq);
	rq->content_length = -1;
	rq->header_len = len;
	head[len - 1] = '\0';
	for (line = head; line != NULL && *line != '\0'; line = next, first = 0) {
		char *colon, *v;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (*line != '\0' && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (*line == '\0')
			break; /* the blank line ending the headers */
		if (first) {
			sp1 = strchr(line, ' ');
			sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
			if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL ||
			    (size_t)(sp1 - line) >= sizeof rq->method) {
				*why = "bad request line";
				return 400;
			}
			*sp1 = *sp2 = '\0';
			snprintf(rq->method, sizeof rq->method, "%s", line);
			snprintf(rq->target, sizeof rq->target, "%s", sp1 + 1);
			if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
				rq->minor = 1;
			else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
				rq->minor = 0;
			else {
				*why = "only HTTP/1.0 and HTTP/1.1";
				return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
			}
			rq->keep_alive = rq->minor == 1;
			continue;
		}
		if ((colon = strchr(line, ':')) == NULL) {
			*why = "header line without a colon";
			return 400;
		}
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(line, "Content-Length") == 0) {
			char *end;
			long n;

			errno = 0;
			n = strtol(v, &end, 10);
			if (end == v || *end != '\0' || errno != 0 || n < 0 ||
			    (rq->content_length >= 0 && rq->content_length != n)) {
				*why = "bad Content-Length";
				return 400;
			}
			rq->content_length = n;
		} else if (strcasecmp(line, "Content-Type") == 0) {
			snprintf(rq->content_type, sizeof rq->content_type, "%s", v);
		} else if (strcasecmp(line, "Connection") == 0) {
			if (strcasestr(v, "close") != NULL)
				rq->keep_alive = 0;
			else if (strcasestr(v, "keep-alive") != NULL)
				rq->keep_alive = 1;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			rq->chunked = 1;
		} else if (strcasecmp(line, "Expect") == 0) {
			rq->expect_continue = strcasecmp(v, "100-continue") == 0;
		}
	}
	if (rq->chunked) {
		*why = "Transfer-Encoding is not supported, send Content-Length";
		return 501;
	}
	if (strcmp(rq->method, "POST") == 0) {
		if (rq->content_length < 0) {
			*why = "POST without Content-Length";
			return 411;
		}
		if ((size_t)rq->content_length > HTTP_MAX_BODY) {
			*why = "body larger than 64 KiB";
			return 413;
		}
		/* RFC 6960 A.1: the media type is application/ocsp-request. */
		if (rq->content_type[0] != '\0' &&
		    strncasecmp(rq->content_type, "application/ocsp-request", 24) != 0) {
			*why = "Content-Type is not application/ocsp-request";
			return 415;
		}
	} else if (strcmp(rq->method, "GET") == 0) {
		if (rq->content_length > 0) {
			*why = "GET with a body";
			return 400;
		}
	} else {
		*why = "only GET and POST";
		return 405;
	}
	return 0;
}

/* GET /{url-encoding of base64 of DER} (RFC 6960 A.1); the DER length or -1. */
static long
get_decode(char *target, unsigned char *der, size_t derlen)
{
	char *q = strchr(target, '?');

	if (q != NULL)
		*q = '\0';
	while (*target == '/')
		target++;
	if (http_url_decode(target) < 0)
		return -1;
	return http_base64_decode(target, der, derlen);
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Serve one request; 1 = go on (keep-alive), 0 = close. */
static int
conn_one(struct conn *c)
{
	static unsigned char der[HTTP_MAX_BODY];
	static const char garbage[] = "fakeocsp: this is not an OCSP response\n";
	struct request rq;
	struct ocsp_reply rep;
	struct err e = { 0 };
	const char *why = NULL;
	size_t hend, total;
	long derlen;
	int code, r, go_on = 0;

	c->deadline = now_ms() + c->cfg->timeout_ms;
	while ((hend = header_end(c->buf, c->have)) == 0) {
		if (c->have >= HTTP_MAX_HEADER) {
			conn_error(c, 1, 431, "request line and headers larger than 8 KiB");
			return 0;
		}
		if ((r = conn_fill(c, HTTP_MAX_HEADER)) <= 0) {
			if (c->have > 0)
				log_line(c->cfg,
				         "serial=- status=%s fault=none why=\"partial request\"",
				         r == 0 ? "closed" : "timeout");
			return 0;
		}
	}
	/* request_parse() writes into the header block; it is not needed after. */
	if ((code = request_parse(c->buf, hend, &rq, &why)) != 0) {
		conn_error(c, rq.minor, code, why);
		return 0;
	}
	total = hend + (rq.content_length > 0 ? (size_t)rq.content_length : 0);
	if (rq.expect_continue && rq.content_length > 0 && c->have < total &&
	    conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		return 0;
	while (c->have < total)
		if ((r = conn_fill(c, total)) <= 0) {
			log_line(c->cfg, "serial=- status=%s fault=none why=\"partial body\"",
			         r == 0 ? "closed" : "timeout");
			return 0;
		}
	if (strcmp(rq.method, "POST") == 0) {
		derlen = (long)rq.content_length;
		memcpy(der, c->buf + hend, (size_t)derlen);
	} else if ((derlen = get_decode(rq.target, der, sizeof der)) < 0) {
		derlen = 0; /* ocsp_answer() logs and answers malformedRequest */
	}
	if (ocsp_answer(c->cfg->responder, c->cfg->index, c->cfg->faults, der, (size_t)derlen,
	                time(NULL), &rep, &e) < 0) {
		conn_error(c, rq.minor, 500, e.text); /* cannot even encode an error response */
		goto out;
	}
	log_line(c->cfg, "%s method=%s", rep.log, rq.method);
	if (rep.fault.delay_ms > 0)
		sleep_ms(rep.fault.delay_ms);
	if (rep.fault.flags & OCSP_FAULT_DROP)
		goto out;
	if (rep.fault.flags & OCSP_FAULT_GARBAGE)
		r = conn_respond(c, rq.minor, 200, "application/ocsp-response", garbage,
		                 sizeof garbage - 1, rq.keep_alive);
	else
		r = conn_respond(c, rq.minor, 200, "application/ocsp-response", rep.der, rep.len,
		                 rq.keep_alive);
	go_on = r == 0 && rq.keep_alive;
out:
	ocsp_reply_free(&rep);
	/* Keep what the client pipelined after this request. */
	memmove(c->buf, c->buf + total, c->have - total);
	c->have -= total;
	return go_on;
}

static void
conn_serve(int fd, const struct http_config *cfg)
{
	static struct conn c;

	memset(&c, 0, sizeof c);
	c.fd = fd;
	c.cfg = cfg;
	for (unsigned i = 0; i < HTTP_MAX_REQUESTS; i++)
		if (!conn_one(&c))
			break;
	shutdown(fd, SHUT_RDWR);
	close(fd);
}

/* ---- the accept loop ----------------------------------------------------- */

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
on_child(int sig)
{
	(void)sig; /* only wakes poll() up */
}

/* Forget the connection processes that ended. */
static void
kids_reap(pid_t *kids, size_t *n)
{
	pid_t pid;
	int st;

	for (unsigned bound = 0; bound < 1000 && (pid = waitpid(-1, &st, WNOHANG)) > 0; bound++)
		for (size_t i = 0; i < *n; i++)
			if (kids[i] == pid) {
				kids[i] = kids[--*n];
				break;
			}
}

/* SIGTERM each connection process, wait up to 2 s, then SIGKILL. */
static void
kids_stop(pid_t *kids, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		kill(kids[i], SIGTERM);
	for (int tries = 0; tries < 200 && *n > 0; tries++) {
		kids_reap(kids, n);
		if (*n > 0)
			sleep_ms(10);
	}
	for (size_t i = 0; i < *n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	*n = 0;
}

int
http_serve(int fd, const struct http_config *cfg, struct err *e)
{
	pid_t kids[HTTP_MAX_CLIENTS];
	size_t nkids = 0;
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop; /* no SA_RESTART: poll() returns EINTR */
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
		err_set(e, 1, "sigaction: %s", strerror(errno));
		return -1;
	}
	sa.sa_handler = on_child;
	if (sigaction(SIGCHLD, &sa, NULL) < 0) {
		err_set(e, 1, "sigaction: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	while (!stop_requested) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		pid_t pid;
		int cfd;

		kids_reap(kids, &nkids);
		if (nkids >= HTTP_MAX_CLIENTS) {
			/* Full: new connections wait in the backlog until one ends. */
			sleep_ms(20);
			continue;
		}
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				sleep_ms(50);
			continue;
		}
		if ((pid = fork()) < 0) {
			log_line(cfg, "serial=- status=dropped fault=none why=\"fork: %s\"",
			         strerror(errno));
			close(cfd);
			sleep_ms(50);
			continue;
		}
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGCHLD, SIG_DFL);
			close(fd);
			conn_serve(cfd, cfg);
			_exit(0);
		}
		close(cfd);
		kids[nkids++] = pid;
	}
	kids_stop(kids, &nkids);
	return 0;
}
