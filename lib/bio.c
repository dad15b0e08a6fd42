/*
 * bio.c - buffered line I/O over a socket or a TLS connection (bio.h).
 * It never interprets what it carries; SMTP rules stay in the session.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "net.h"
#include "tls.h"

void
bio_init(struct bio *b, int fd)
{
	b->fd = fd;
	b->tls = NULL;
	b->rpos = b->rlen = b->wlen = 0;
	b->bytes_in = b->bytes_out = 0;
	b->idle_ms = 0;
	b->deadline_ms = 0;
	b->limit_ms = 0;
	b->deadline_passed = 0;
	b->armed = 0;
}

unsigned long long
bio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ULL +
	       (unsigned long long)ts.tv_nsec / 1000000ULL;
}

static void
set_rcvtimeo(int fd, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void
bio_set_idle(struct bio *b, unsigned ms)
{
	b->idle_ms = ms;
	/* On a socket of ours this does not fail; if it did, the limit in
	 * force stays (the kernel default: none), which the deadline bounds. */
	if (net_set_timeouts(b->fd, ms) != 0)
		return;
}

void
bio_set_deadline(struct bio *b, unsigned long long at_ms)
{
	b->deadline_ms = at_ms;
	b->deadline_passed = 0;
}

void
bio_set_limit(struct bio *b, unsigned long long at_ms)
{
	b->limit_ms = at_ms;
}

/* The nearer of two deadlines; 0 = none. */
static unsigned long long
nearer(unsigned long long a, unsigned long long b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/*
 * Before a read or write: bound it by `at` (0 = none).  TLS: hand the
 * deadline to the connection, which cuts the socket's timeouts before each
 * of its socket calls.  Plain: a read cuts SO_RCVTIMEO to what is left; a
 * write only checks (bio_send_by polls).  With no deadline, put back the
 * idle timeout if it was cut.  BIO_TIMEOUT once `at` has passed.
 */
static enum bio_status
bio_arm(struct bio *b, unsigned long long at, int for_read, struct err *e)
{
	unsigned long long now, left;

	if (b->tls != NULL)
		tls_conn_set_deadline(b->tls, at, b->idle_ms);
	if (at == 0) {
		if (b->armed && b->tls == NULL && b->idle_ms != 0)
			bio_set_idle(b, b->idle_ms);
		b->armed = 0;
		return BIO_OK;
	}
	now = bio_now_ms();
	if (now >= at) {
		err_set(e, BIO_TIMEOUT, "deadline passed");
		return BIO_TIMEOUT;
	}
	if (b->tls != NULL || !for_read)
		return BIO_OK;
	left = at - now;
	if (b->idle_ms != 0 && b->idle_ms < left)
		left = b->idle_ms;
	set_rcvtimeo(b->fd, (unsigned)left);
	b->armed = 1;
	return BIO_OK;
}

/* Before a read under a deadline: wait no longer than it allows.
 * BIO_TIMEOUT (deadline_passed set) once it has passed. */
static enum bio_status
bio_arm_deadline(struct bio *b, struct err *e)
{
	enum bio_status st = bio_arm(b, nearer(b->deadline_ms, b->limit_ms), 1, e);

	if (st == BIO_TIMEOUT)
		b->deadline_passed = 1;
	return st;
}

static enum bio_status
bio_fill_once(struct bio *b, struct err *e)
{
	ssize_t n;

	if (b->rpos == b->rlen)
		b->rpos = b->rlen = 0;
	if (b->rlen == sizeof b->rbuf) {
		/* Compact: keep the unread part at the start. */
		memmove(b->rbuf, b->rbuf + b->rpos, b->rlen - b->rpos);
		b->rlen -= b->rpos;
		b->rpos = 0;
	}
	if (bio_arm_deadline(b, e) != BIO_OK)
		return BIO_TIMEOUT;
	if (b->tls != NULL) {
		struct err te = { 0 };
		n = tls_conn_read(b->tls, b->rbuf + b->rlen, sizeof b->rbuf - b->rlen, &te);
		if (n < 0) {
			err_set(e, te.code, "%s", te.text);
			return te.code == TLS_ERR_TIMEOUT ? BIO_TIMEOUT : BIO_ERROR;
		}
	} else {
		do
			n = recv(b->fd, b->rbuf + b->rlen, sizeof b->rbuf - b->rlen, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				err_set(e, BIO_TIMEOUT, "read timed out");
				return BIO_TIMEOUT;
			}
			err_set(e, BIO_ERROR, "read: %s", strerror(errno));
			return BIO_ERROR;
		}
	}
	if (n == 0)
		return BIO_EOF;
	b->rlen += (size_t)n;
	b->bytes_in += (unsigned long long)n;
	return BIO_OK;
}

/* One read; a timeout at or after the deadline is the deadline's. */
static enum bio_status
bio_fill(struct bio *b, struct err *e)
{
	enum bio_status st = bio_fill_once(b, e);

	unsigned long long at = nearer(b->deadline_ms, b->limit_ms);

	if (st == BIO_TIMEOUT && at != 0 && bio_now_ms() + 5 >= at)
		b->deadline_passed = 1;
	return st;
}

enum bio_status
bio_read_line(struct bio *b, char *line, size_t max, size_t *len, int *too_long, struct err *e)
{
	size_t stored = 0;

	*too_long = 0;
	for (;;) {
		while (b->rpos < b->rlen) {
			unsigned char ch = b->rbuf[b->rpos++];
			if (stored < max) {
				line[stored++] = (char)ch;
			} else {
				/* Keep the line's last two octets at the end, so the
				 * caller still sees how it ended (CRLF or bare LF). */
				*too_long = 1;
				if (max >= 2)
					line[max - 2] = line[max - 1];
				line[max - 1] = (char)ch;
			}
			if (ch == '\n') {
				line[stored < max ? stored : max] = '\0';
				*len = stored;
				return BIO_OK;
			}
		}
		enum bio_status st = bio_fill(b, e);
		if (st != BIO_OK) {
			line[stored < max ? stored : max] = '\0';
			*len = stored;
			return st;
		}
	}
}

enum bio_status
bio_read_exact(struct bio *b, void *buf, size_t n, struct err *e)
{
	unsigned char *out = buf;

	while (n > 0) {
		if (b->rpos == b->rlen) {
			enum bio_status st = bio_fill(b, e);
			if (st != BIO_OK)
				return st;
		}
		size_t take = b->rlen - b->rpos < n ? b->rlen - b->rpos : n;
		memcpy(out, b->rbuf + b->rpos, take);
		b->rpos += take;
		out += take;
		n -= take;
	}
	return BIO_OK;
}

size_t
bio_buffered(const struct bio *b)
{
	return b->rlen - b->rpos;
}

int
bio_has_line(const struct bio *b)
{
	return memchr(b->rbuf + b->rpos, '\n', b->rlen - b->rpos) != NULL;
}

int
bio_input_pending(struct bio *b, int ms)
{
	struct pollfd p = { .fd = b->fd, .events = POLLIN };

	if (bio_buffered(b) > 0)
		return 1;
	/* Under TLS a readable socket may hold only a record the library has
	 * not decoded; for synchronization checks any octet counts. */
	return poll(&p, 1, ms) > 0 && (p.revents & (POLLIN | POLLHUP)) != 0;
}

size_t
bio_discard_input(struct bio *b)
{
	size_t n = bio_buffered(b);

	b->rpos = b->rlen = 0;
	return n;
}

/* One send, bounded by `at` in total (0 = the socket's SO_SNDTIMEO per call).
 * Under TLS each socket call the library makes waits at most the idle
 * timeout and what is left (tls_conn_set_deadline), and the deadline is
 * checked before each: a TLS record, at most 16 KB, is the unit. */
static enum bio_status
bio_send_by(struct bio *b, const void *buf, size_t n, unsigned long long at, struct err *e)
{
	const unsigned char *p = buf;

	if (b->tls != NULL) {
		struct err te = { 0 };
		enum bio_status st = bio_arm(b, at, 0, e);
		if (st != BIO_OK)
			return st;
		if (tls_conn_write(b->tls, buf, n, &te) < 0) {
			err_set(e, te.code, "%s", te.text);
			return te.code == TLS_ERR_TIMEOUT ? BIO_TIMEOUT : BIO_ERROR;
		}
		b->bytes_out += n;
		return BIO_OK;
	}
	enum bio_status st = bio_arm(b, at, 0, e);
	if (st != BIO_OK)
		return st;
	while (n > 0) {
		/* Without a deadline: a blocking send under SO_SNDTIMEO.  With
		 * one, never block inside send(2): the kernel restarts its
		 * SO_SNDTIMEO wait whenever a slow reader frees some room, so
		 * one call could outlive any deadline; poll(2) for what is left. */
		ssize_t w = send(b->fd, p, n, MSG_NOSIGNAL | (at != 0 ? MSG_DONTWAIT : 0));
		if (w < 0 && at != 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			unsigned long long now = bio_now_ms();
			struct pollfd pfd = { .fd = b->fd, .events = POLLOUT };
			if (now >= at || poll(&pfd, 1, (int)(at - now)) == 0) {
				err_set(e, BIO_TIMEOUT, "write timed out");
				return BIO_TIMEOUT;
			}
			continue;
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				err_set(e, BIO_TIMEOUT, "write timed out");
				return BIO_TIMEOUT;
			}
			err_set(e, BIO_ERROR, "write: %s", strerror(errno));
			return BIO_ERROR;
		}
		p += w;
		n -= (size_t)w;
		b->bytes_out += (unsigned long long)w;
	}
	return BIO_OK;
}

/* The write deadline: the nearer of the deadlines in force and the idle
 * timeout from now, for the whole of one send. */
static enum bio_status
bio_send(struct bio *b, const void *buf, size_t n, struct err *e)
{
	unsigned long long dl = nearer(b->deadline_ms, b->limit_ms);
	unsigned long long at = nearer(dl, b->idle_ms != 0 ? bio_now_ms() + b->idle_ms : 0);
	enum bio_status st = bio_send_by(b, buf, n, at, e);

	if (st == BIO_TIMEOUT && dl != 0 && at == dl && bio_now_ms() + 5 >= dl)
		b->deadline_passed = 1;
	return st;
}

enum bio_status
bio_flush(struct bio *b, struct err *e)
{
	enum bio_status st = BIO_OK;

	if (b->wlen > 0)
		st = bio_send(b, b->wbuf, b->wlen, e);
	b->wlen = 0;
	return st;
}

enum bio_status
bio_write(struct bio *b, const void *buf, size_t n, struct err *e)
{
	if (b->wlen + n > sizeof b->wbuf) {
		enum bio_status st = bio_flush(b, e);
		if (st != BIO_OK)
			return st;
		if (n > sizeof b->wbuf)
			return bio_send(b, buf, n, e);
	}
	memcpy(b->wbuf + b->wlen, buf, n);
	b->wlen += n;
	return BIO_OK;
}

enum bio_status
bio_printf(struct bio *b, struct err *e, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return BIO_ERROR;
	return bio_write(b, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, e);
}

void
bio_use_tls(struct bio *b, struct tls_conn *tls)
{
	b->tls = tls;
}
