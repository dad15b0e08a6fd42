/*
 * deliver_smtp_conn.c - the smtp transport's connections (deliver_smtp_int.h):
 * connect with connect_timeout, the greeting, EHLO (HELO after a 5xx),
 * STARTTLS when offered (deliver_smtp_tls.c), QUIT, and the cache of open
 * connections kept for the next message of the same queue run.
 *
 * A cached connection is found by smtp_cache_key() alone: the key is built
 * here and nowhere else.  Recipient outcomes are never decided here except
 * by a 5xx greeting or EHLO+HELO, which is the domain's answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <limits.h>
#include <unistd.h>

#include "deliver_smtp_int.h"
#include "match.h"
#include "net.h"

void
smtp_set_timeouts(int fd, unsigned secs)
{
	/* A failure leaves the previous limit in force: never none. */
	if (net_set_timeouts(fd, secs > UINT_MAX / 1000u ? UINT_MAX : secs * 1000u) != 0)
		return;
}

/* The first line of a reply (into buf). */
static void
first_line(const char *text, char *buf, size_t len)
{
	size_t n = strcspn(text, "\n");

	snprintf(buf, len, "%.*s", (int)n, text);
}

/* --- connections -------------------------------------------------------------------- */

void
smtp_conn_free(struct smtp_conn *c)
{
	if (c == NULL)
		return;
	if (c->tls != NULL)
		tls_conn_shutdown(c->tls);
	tls_conn_free(c->tls);
	tls_ctx_free(c->tls_ctx);
	if (c->fd >= 0)
		close(c->fd);
	/* tcp:close, after the close (seed "Event Actions"); the result is ignored. */
	if (c->events != NULL)
		(void)smtp_event(c->events, &c->facts, "tcp:close", NULL, 0, NULL, NULL);
	free(c->io);
	free(c);
}

/* QUIT, wait (briefly) for its 221, close. */
void
smtp_conn_quit(struct smtp_conn *c)
{
	struct smtp_reply r = { 0 };
	struct err e = { 0 };

	if (c == NULL)
		return;
	smtp_set_timeouts(c->fd, c->command_timeout < SMTP_QUIT_WAIT ? c->command_timeout
	                                                             : SMTP_QUIT_WAIT);
	if (bio_printf(c->io, &e, "QUIT\r\n") == BIO_OK && bio_flush(c->io, &e) == BIO_OK) {
		/* Replies to commands still in flight come first. */
		for (int i = 0; i < 1000; i++)
			if (smtp_reply_read(c->io, &r, &e) != SMTP_REPLY_OK || r.code == 221)
				break;
	}
	smtp_reply_clear(&r);
	smtp_conn_free(c);
}

/* Send one command and read its reply. */
enum smtp_reply_read
smtp_command(struct smtp_conn *c, struct smtp_reply *r, struct err *e, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		err_set(e, 0, "command too long");
		return SMTP_REPLY_IO;
	}
	if (bio_write(c->io, buf, (size_t)n, e) != BIO_OK || bio_flush(c->io, e) != BIO_OK)
		return SMTP_REPLY_IO;
	return smtp_reply_read(c->io, r, e);
}

/* Connect with connect_timeout; "" or the reason in why. */
static int
tcp_connect(const char *address, unsigned port, unsigned timeout, char *why, size_t len, int *errp)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char service[16];
	int fd, rc, soerr = 0;
	socklen_t sl = sizeof soerr;

	snprintf(service, sizeof service, "%u", port);
	if ((rc = getaddrinfo(address, service, &hints, &ai)) != 0) {
		snprintf(why, len, "bad address: %s", gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, len, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	soerr = rc != 0 ? errno : 0;
	freeaddrinfo(ai);
	if (rc != 0 && soerr != EINPROGRESS) {
		*errp = soerr;
		snprintf(why, len, "%s", strerror(soerr));
		close(fd);
		return -1;
	}
	if (rc != 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int pr;

		do
			pr = poll(&p, 1, (int)(timeout > 2000000 ? 2000000000 : timeout * 1000));
		while (pr < 0 && errno == EINTR);
		if (pr == 0) {
			*errp = ETIMEDOUT;
			snprintf(why, len, "Connection timed out");
			close(fd);
			return -1;
		}
		if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr != 0) {
			*errp = pr < 0 ? errno : soerr != 0 ? soerr : EIO;
			snprintf(why, len, "%s",
			         strerror(pr < 0       ? errno
			                  : soerr != 0 ? soerr
			                               : EIO));
			close(fd);
			return -1;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		snprintf(why, len, "fcntl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* No Nagle: after STARTTLS the client's Finished and its EHLO are two
	 * writes, and the EHLO would wait for the server's delayed ACK
	 * (40 ms a connection, docs/bench.md); commands and the message already
	 * leave in one write per flush. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	return fd;
}

/* A forced smtp:connect or smtp:ehlo: close the connection, the host deferred. */
static enum smtp_step
event_close(struct smtp_run *R, struct smtp_conn *c, const char *event)
{
	char msg[200];

	snprintf(msg, sizeof msg, "connection closed by event_action (%s)", event);
	smtp_host_fail_error(R, &c->facts, "4.4.2", msg);
	smtp_conn_quit(c);
	return SMTP_STEP_DONE;
}

/* The local end of fd into f (for $sending_ip_address, $sending_port). */
static void
local_end(int fd, struct smtp_host_facts *f)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char port[16];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, f->sending_ip, sizeof f->sending_ip, port,
	                sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		f->sending_ip[0] = '\0';
		return;
	}
	f->sending_port = (unsigned)strtoul(port, NULL, 10);
}

/* EHLO, HELO on a 5xx.  SMTP_STEP_OK or SMTP_STEP_DONE (recipients marked). */
enum smtp_step
smtp_hello(struct smtp_run *R, struct smtp_conn *c)
{
	/* helo_data as smtp_host_options expanded it for this host */
	const char *helo = R->helo[0] != '\0' ? R->helo
	                   : R->d->cfg != NULL && R->d->cfg->primary_hostname != NULL
	                           ? R->d->cfg->primary_hostname
	                           : "localhost";
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	char stage[600];
	enum smtp_reply_read rd;
	int helo_used = 0;

	snprintf(stage, sizeof stage, "after EHLO %s", helo);
	rd = smtp_command(c, &r, &e, "EHLO %s\r\n", helo);
	if (rd == SMTP_REPLY_OK && r.code / 100 == 5) {
		helo_used = 1;
		snprintf(stage, sizeof stage, "after HELO %s", helo);
		rd = smtp_command(c, &r, &e, "HELO %s\r\n", helo);
	}
	if (rd != SMTP_REPLY_OK) {
		smtp_host_fail_read(R, c, rd, &e, stage);
		smtp_conn_free(c);
		return SMTP_STEP_DONE;
	}
	first_line(r.text, c->facts.helo_response, sizeof c->facts.helo_response);
	if (r.code / 100 == 2) {
		/* HELO offers nothing (RFC 5321 4.1.1.1). */
		smtp_ehlo_parse(helo_used ? NULL : r.text, &c->ehlo);
		smtp_reply_clear(&r);
		/* smtp:ehlo: a non-empty result closes the connection. */
		if (smtp_event(R, &c->facts, "smtp:ehlo", c->facts.helo_response, 0, NULL, NULL))
			return event_close(R, c, "smtp:ehlo");
		return SMTP_STEP_OK;
	}
	if (r.code / 100 == 5) {
		smtp_pending_all(R, SMTP_RCPT_FAILED, r.status, r.text, stage, NULL, &c->facts);
		smtp_conn_quit(c);
	} else {
		smtp_host_fail_reply(R, c, &r, stage);
		smtp_conn_quit(c);
	}
	smtp_reply_clear(&r);
	return SMTP_STEP_DONE;
}

void
smtp_host_facts_init(struct smtp_host_facts *f, const struct smtp_run *R)
{
	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "%s", R->h->name);
	snprintf(f->address, sizeof f->address, "%s", R->h->address);
	f->port = R->port;
	f->ds = R->h->ds_report;
	f->secure = R->h->secure;
}

/* A new connection to host R->hi, ready for MAIL.  SMTP_STEP_OK (*out set),
 * SMTP_STEP_DONE (recipients marked, nothing open) or SMTP_STEP_TRYCLEAR. */
enum smtp_step
smtp_conn_open(struct smtp_run *R, int no_tls, struct smtp_conn **out)
{
	const struct smtp_transport *t = R->d->t;
	struct smtp_host_facts f = { 0 };
	struct smtp_conn *c;
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	char why[300];
	int fd, required;
	enum smtp_step st;

	smtp_host_facts_init(&f, R);
	/* tcp:connect, before connecting: a non-empty result means do not connect. */
	if (smtp_event(R, &f, "tcp:connect", NULL, 0, NULL, NULL)) {
		smtp_host_fail_error(R, &f, "4.4.1",
		                     "connection not made: event_action (tcp:connect)");
		return SMTP_STEP_DONE;
	}
	fd = tcp_connect(R->h->address, R->port, t->connect_timeout, why, sizeof why, &R->ev_errno);
	if (fd < 0) {
		smtp_host_fail_error(R, &f, "4.4.1", why);
		return SMTP_STEP_DONE;
	}
	local_end(fd, &f);
	smtp_set_timeouts(fd, t->command_timeout);
	c = calloc(1, sizeof *c);
	if (c == NULL || (c->io = malloc(sizeof *c->io)) == NULL) {
		free(c);
		close(fd);
		R->oom = 1;
		return SMTP_STEP_DONE;
	}
	c->fd = fd;
	c->command_timeout = t->command_timeout;
	c->facts = f;
	c->events = t->event_action != NULL ? R : NULL;
	bio_init(c->io, fd);
	smtp_cache_key(R, c->key, sizeof c->key);

	enum smtp_reply_read rd = smtp_reply_read(c->io, &r, &e);
	if (rd != SMTP_REPLY_OK) {
		smtp_host_fail_read(R, c, rd, &e, "after initial connection");
		smtp_conn_free(c);
		return SMTP_STEP_DONE;
	}
	first_line(r.text, c->facts.greeting, sizeof c->facts.greeting);
	/* smtp:connect with the banner: a non-empty result closes the connection. */
	if (r.code / 100 == 2 &&
	    smtp_event(R, &c->facts, "smtp:connect", c->facts.greeting, 0, NULL, NULL)) {
		smtp_reply_clear(&r);
		return event_close(R, c, "smtp:connect");
	}
	if (r.code / 100 != 2) {
		if (r.code / 100 == 5)
			smtp_pending_all(R, SMTP_RCPT_FAILED, r.status, r.text,
			                 "after initial connection", NULL, &c->facts);
		else
			smtp_host_fail_reply(R, c, &r, "after initial connection");
		smtp_reply_clear(&r);
		smtp_conn_quit(c);
		return SMTP_STEP_DONE;
	}
	smtp_reply_clear(&r);
	if ((st = smtp_hello(R, c)) != SMTP_STEP_OK)
		return st;
	/* Usable TLSA records make TLS a must (RFC 7672 2.2); a staple comes only
	 * over TLS: hosts_require_ocsp requires it too. */
	required = R->dane.use ||
	           (t->hosts_require_tls != NULL &&
	            match_host(t->hosts_require_tls, c->facts.address)) ||
	           match_host(t->hosts_require_ocsp, c->facts.address);
	if (!no_tls && (c->ehlo.ext & SMTP_EXT_STARTTLS)) {
		if ((st = smtp_tls_start(R, c, required)) != SMTP_STEP_OK)
			return st;
	}
	if (required && !c->facts.tls) {
		if (R->dane.use) /* Exim's word for this case (docs/events.md) */
			(void)smtp_event(R, &c->facts, "dane:fail", "starttls-not-supported", 0,
			                 NULL, NULL);
		smtp_host_fail_error(R, &c->facts, R->dane.use ? "4.7.5" : "4.7.0",
		                     R->dane.use ? "DANE: TLSA records but STARTTLS not offered"
		                                 : "TLS required but not offered");
		smtp_conn_quit(c);
		return SMTP_STEP_DONE;
	}
	*out = c;
	return SMTP_STEP_OK;
}

/* --- the cache ---------------------------------------------------------------------- */

struct smtp_cache *
smtp_cache_new(void)
{
	return calloc(1, sizeof(struct smtp_cache));
}

void
smtp_cache_key(const struct smtp_run *R, char *buf, size_t len)
{
	/* A DANE session is verified for one base name: never reused for
	 * another, nor for a host without DANE, nor the other way round. */
	snprintf(buf, len, "%s:%u %s %s%s", R->h->address, R->port,
	         R->d->t->name != NULL ? R->d->t->name : "", R->dane.use ? "dane=" : "nodane",
	         R->dane.use ? R->dane.base : "");
}

struct smtp_conn *
smtp_cache_take(struct smtp_cache *cache, const char *key)
{
	if (cache == NULL)
		return NULL;
	for (size_t i = 0; i < cache->n; i++) {
		if (strcmp(cache->v[i]->key, key) == 0) {
			struct smtp_conn *c = cache->v[i];
			memmove(&cache->v[i], &cache->v[i + 1],
			        (cache->n - i - 1) * sizeof cache->v[0]);
			cache->n--;
			/* Anything the server said unasked (a 421 on its idle timeout) or
			 * a close means the session is over. */
			if (bio_input_pending(c->io, 0)) {
				smtp_conn_free(c);
				return NULL;
			}
			return c;
		}
	}
	return NULL;
}

void
smtp_cache_put(struct smtp_cache *cache, struct smtp_conn *c)
{
	/* A connection with events is not kept: its tcp:close belongs to the
	 * message that opened it (docs/events.md, the order). */
	if (cache == NULL || c->events != NULL) {
		smtp_conn_quit(c);
		return;
	}
	if (cache->n == SMTP_CACHE_MAX) {
		smtp_conn_quit(cache->v[0]);
		memmove(&cache->v[0], &cache->v[1], (cache->n - 1) * sizeof cache->v[0]);
		cache->n--;
	}
	cache->v[cache->n++] = c;
}

void
smtp_cache_close_all(struct smtp_cache *cache)
{
	if (cache == NULL)
		return;
	for (size_t i = 0; i < cache->n; i++)
		smtp_conn_quit(cache->v[i]);
	free(cache);
}
