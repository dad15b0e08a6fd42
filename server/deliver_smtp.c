/*
 * deliver_smtp.c - the smtp transport (deliver_smtp.h): one message to the
 * hosts of one route, over ESMTP with PIPELINING, SIZE, 8BITMIME, DSN,
 * CHUNKING and STARTTLS when offered, each recipient ending delivered,
 * deferred or failed, and the connection kept for the next message.
 *
 * Shape: deliver_smtp() walks the hosts; try_host() gets a connection
 * (from the cache, or conn_open(): connect, greeting, EHLO/HELO, STARTTLS
 * and the verification policy, EHLO again) and runs transactions of at most
 * max_rcpt recipients on it.  A host-level failure leaves the undecided
 * recipients pending with that failure recorded, so that the last host's
 * reason is the one a deferral carries.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "bio.h"
#include "deliver_smtp.h"
#include "log.h"
#include "match.h"
#include "smtp_parse.h"
#include "smtp_reply.h"
#include "strutil.h"

#define SMTP_CACHE_MAX 16 /* connections kept at once */
#define SMTP_QUIT_WAIT 5  /* seconds to wait for QUIT's reply, at most */

struct smtp_conn {
	int fd;
	struct bio *io;
	struct tls_ctx *tls_ctx;
	struct tls_conn *tls;
	struct smtp_ehlo ehlo; /* what the last EHLO offered */
	unsigned command_timeout;
	char key[400]; /* "ADDRESS:PORT TRANSPORT" */
	struct smtp_host_facts facts;
};

struct smtp_cache {
	struct smtp_conn *v[SMTP_CACHE_MAX];
	size_t n;
};

/* One deliver_smtp() call. */
struct run {
	struct smtp_delivery *d;
	size_t hi; /* the host being tried */
	const struct route_host *h;
	unsigned port;
	int datafd;
	uint64_t datasize; /* octets in the data file */
	int oom;
};

/* How a step ended. */
enum step { STEP_OK, STEP_DONE, STEP_TRYCLEAR, STEP_DEAD };

/* --- small helpers ------------------------------------------------------------------ */

static char *
dup_or_oom(struct run *R, const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		R->oom = 1;
	return p;
}

static void
set_timeouts(int fd, unsigned secs)
{
	struct timeval tv = { .tv_sec = (time_t)secs };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* The first line of a reply (into buf). */
static void
first_line(const char *text, char *buf, size_t len)
{
	size_t n = strcspn(text, "\n");

	snprintf(buf, len, "%.*s", (int)n, text);
}

/* --- results ------------------------------------------------------------------------ */

static void
result_set(struct run *R, struct smtp_rcpt_result *r, enum smtp_outcome o, const char *status,
           const char *reply, const char *stage, const char *error, const struct smtp_host_facts *f)
{
	free(r->reply);
	free(r->stage);
	free(r->error);
	r->outcome = o;
	snprintf(r->status, sizeof r->status, "%s", status);
	r->reply = dup_or_oom(R, reply);
	r->stage = dup_or_oom(R, reply != NULL ? stage : NULL);
	r->error = dup_or_oom(R, reply == NULL ? error : NULL);
	r->host_index = R->h != NULL ? (int)R->hi : -1;
	if (f != NULL)
		r->host = *f;
	else
		memset(&r->host, 0, sizeof r->host);
}

/* Every recipient still pending: record (outcome == PENDING) or decide. */
static void
pending_all(struct run *R, enum smtp_outcome o, const char *status, const char *reply,
            const char *stage, const char *error, const struct smtp_host_facts *f)
{
	for (size_t i = 0; i < R->d->nrcpts; i++)
		if (R->d->rcpts[i].outcome == SMTP_RCPT_PENDING)
			result_set(R, &R->d->rcpts[i], o, status, reply, stage, error, f);
}

static void __attribute__((format(printf, 3, 4)))
host_log(struct run *R, const struct smtp_host_facts *f, const char *fmt, ...)
{
	char text[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	log_write("%s H=%s [%s]:%u: %s", R->d->message_id, f->name, f->address, f->port, text);
}

/* The reply on one line for the log. */
static void
reply_oneline(const char *text, char *buf, size_t len)
{
	snprintf(buf, len, "%s", text);
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
}

/* A host-level failure caused by a remote reply: log it, leave the
 * recipients pending with it. */
static void
host_fail_reply(struct run *R, struct smtp_conn *c, const struct smtp_reply *r, const char *stage)
{
	char one[1100], status[sizeof r->status];

	reply_oneline(r->text, one, sizeof one);
	host_log(R, &c->facts, "SMTP error from remote mail server %s: %s", stage, one);
	/* What only defers carries a 4.x.x status, whatever the reply's class
	 * (a refused STARTTLS on a host that must use TLS, an unexpected code). */
	snprintf(status, sizeof status, "%s", r->status);
	status[0] = '4';
	pending_all(R, SMTP_RCPT_PENDING, status, r->text, stage, NULL, &c->facts);
}

/* A host-level failure of refmta's own wording. */
static void
host_fail_error(struct run *R, const struct smtp_host_facts *f, const char *status,
                const char *error)
{
	host_log(R, f, "%s", error);
	pending_all(R, SMTP_RCPT_PENDING, status, NULL, NULL, error, f);
}

/* A reply could not be read after `stage`. */
static void
host_fail_read(struct run *R, struct smtp_conn *c, enum smtp_reply_read how, const struct err *e,
               const char *stage)
{
	char msg[900];

	switch (how) {
	case SMTP_REPLY_EOF:
		snprintf(msg, sizeof msg, "Remote host closed connection %s", stage);
		break;
	case SMTP_REPLY_TIMEOUT:
		snprintf(msg, sizeof msg, "SMTP timeout %s", stage);
		break;
	case SMTP_REPLY_MALFORMED:
		snprintf(msg, sizeof msg, "SMTP protocol error %s: %s", stage, e->text);
		break;
	default:
		snprintf(msg, sizeof msg, "SMTP I/O error %s: %s", stage, e->text);
		break;
	}
	host_fail_error(R, &c->facts, "4.4.2", msg);
}

/* --- connections -------------------------------------------------------------------- */

static void
conn_free(struct smtp_conn *c)
{
	if (c == NULL)
		return;
	if (c->tls != NULL)
		tls_conn_shutdown(c->tls);
	tls_conn_free(c->tls);
	tls_ctx_free(c->tls_ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->io);
	free(c);
}

/* QUIT, wait (briefly) for its 221, close. */
static void
conn_quit(struct smtp_conn *c)
{
	struct smtp_reply r = { 0 };
	struct err e = { 0 };

	if (c == NULL)
		return;
	set_timeouts(c->fd,
	             c->command_timeout < SMTP_QUIT_WAIT ? c->command_timeout : SMTP_QUIT_WAIT);
	if (bio_printf(c->io, &e, "QUIT\r\n") == BIO_OK && bio_flush(c->io, &e) == BIO_OK) {
		/* Replies to commands still in flight come first. */
		for (int i = 0; i < 1000; i++)
			if (smtp_reply_read(c->io, &r, &e) != SMTP_REPLY_OK || r.code == 221)
				break;
	}
	smtp_reply_clear(&r);
	conn_free(c);
}

static enum smtp_reply_read command(struct smtp_conn *c, struct smtp_reply *r, struct err *e,
                                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Send one command and read its reply. */
static enum smtp_reply_read
command(struct smtp_conn *c, struct smtp_reply *r, struct err *e, const char *fmt, ...)
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
tcp_connect(const char *address, unsigned port, unsigned timeout, char *why, size_t len)
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
			snprintf(why, len, "Connection timed out");
			close(fd);
			return -1;
		}
		if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr != 0) {
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
	return fd;
}

static const char *
helo_name(const struct smtp_delivery *d)
{
	if (d->t->helo_data != NULL)
		return d->t->helo_data;
	if (d->cfg != NULL && d->cfg->primary_hostname != NULL)
		return d->cfg->primary_hostname;
	return "localhost";
}

/* EHLO, HELO on a 5xx.  STEP_OK or STEP_DONE (recipients marked). */
static enum step
say_hello(struct run *R, struct smtp_conn *c)
{
	const char *helo = helo_name(R->d);
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	char stage[600];
	enum smtp_reply_read rd;
	int helo_used = 0;

	snprintf(stage, sizeof stage, "after EHLO %s", helo);
	rd = command(c, &r, &e, "EHLO %s\r\n", helo);
	if (rd == SMTP_REPLY_OK && r.code / 100 == 5) {
		helo_used = 1;
		snprintf(stage, sizeof stage, "after HELO %s", helo);
		rd = command(c, &r, &e, "HELO %s\r\n", helo);
	}
	if (rd != SMTP_REPLY_OK) {
		host_fail_read(R, c, rd, &e, stage);
		conn_free(c);
		return STEP_DONE;
	}
	first_line(r.text, c->facts.helo_response, sizeof c->facts.helo_response);
	if (r.code / 100 == 2) {
		/* HELO offers nothing (RFC 5321 4.1.1.1). */
		smtp_ehlo_parse(helo_used ? NULL : r.text, &c->ehlo);
		smtp_reply_clear(&r);
		return STEP_OK;
	}
	if (r.code / 100 == 5) {
		pending_all(R, SMTP_RCPT_FAILED, r.status, r.text, stage, NULL, &c->facts);
		conn_quit(c);
	} else {
		host_fail_reply(R, c, &r, stage);
		conn_quit(c);
	}
	smtp_reply_clear(&r);
	return STEP_DONE;
}

/* STARTTLS and the verification policy.  STEP_OK (over TLS or, when the
 * server refused STARTTLS and TLS is not required, still in clear),
 * STEP_DONE, or STEP_TRYCLEAR (c freed: reconnect without TLS). */
static enum step
start_tls(struct run *R, struct smtp_conn *c, int required)
{
	const struct smtp_transport *t = R->d->t;
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	struct tls_conn_opts opts = { 0 };
	const struct tls_info *ti;
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	char msg[700];
	enum smtp_reply_read rd;

	rd = command(c, &r, &e, "STARTTLS\r\n");
	if (rd != SMTP_REPLY_OK) {
		host_fail_read(R, c, rd, &e, "after STARTTLS");
		conn_free(c);
		return STEP_DONE;
	}
	if (r.code / 100 != 2) {
		if (required) {
			host_fail_reply(R, c, &r, "after STARTTLS");
			smtp_reply_clear(&r);
			conn_quit(c);
			return STEP_DONE;
		}
		smtp_reply_clear(&r);
		return STEP_OK;
	}
	smtp_reply_clear(&r);
	/* Nothing the server sent before the handshake may count (RFC 3207 4.2). */
	(void)bio_discard_input(c->io);

	cfg.ca_file = t->tls_verify_certificates;
	cfg.ciphers = t->tls_require_ciphers;
	if (t->tls_certificate != NULL) {
		cfg.certs[0].cert_file = t->tls_certificate;
		cfg.certs[0].key_file =
		        t->tls_privatekey != NULL ? t->tls_privatekey : t->tls_certificate;
		cfg.ncerts = 1;
	}
	if (t->tls_sni != NULL) {
		if (strcmp(t->tls_sni, "$host") != 0)
			opts.sni = t->tls_sni;
		else if (strchr(R->h->name, ':') == NULL &&
		         strspn(R->h->name, "0123456789.") != strlen(R->h->name))
			opts.sni = R->h->name; /* never an address (RFC 6066 3) */
	}
	c->tls_ctx = tls_ctx_new(R->d->be, &cfg, &e);
	if (c->tls_ctx != NULL)
		c->tls = tls_conn_new(c->tls_ctx, c->fd, &opts, &e);
	if (c->tls == NULL || tls_conn_handshake(c->tls, &e) != TLS_OK) {
		snprintf(msg, sizeof msg, "TLS session: handshake failed: %s", e.text);
		tls_conn_free(c->tls); /* no close_notify on a failed session */
		c->tls = NULL;
		if (!required && t->tls_tempfail_tryclear) {
			host_log(R, &c->facts, "%s; trying again in clear", msg);
			conn_free(c);
			return STEP_TRYCLEAR;
		}
		host_fail_error(R, &c->facts, "4.7.0", msg);
		conn_free(c);
		return STEP_DONE;
	}
	bio_use_tls(c->io, c->tls);
	if (t->tls_verify_cert_hostnames != NULL &&
	    match_host(t->tls_verify_cert_hostnames, c->facts.address))
		(void)tls_conn_check_name(c->tls, R->h->name);
	ti = tls_conn_info(c->tls);
	c->facts.tls = 1;
	snprintf(c->facts.tls_version, sizeof c->facts.tls_version, "%s", ti->version);
	snprintf(c->facts.tls_cipher, sizeof c->facts.tls_cipher, "%s", ti->cipher);
	c->facts.cv = ti->verify == TLS_VERIFY_OK;
	snprintf(c->facts.cv_reason, sizeof c->facts.cv_reason, "%s",
	         c->facts.cv ? "" : tls_verify_word(ti->verify));
	if (!c->facts.cv && t->tls_verify_hosts != NULL &&
	    match_host(t->tls_verify_hosts, c->facts.address)) {
		snprintf(msg, sizeof msg, "TLS session: certificate verification failed: %s",
		         tls_verify_word(ti->verify));
		host_fail_error(R, &c->facts, "4.7.0", msg);
		/* RFC 3207 4.1: not secure enough to go on: QUIT inside the session. */
		conn_quit(c);
		return STEP_DONE;
	}
	/* RFC 3207 4.2: forget what EHLO said in clear; ask again. */
	memset(&c->ehlo, 0, sizeof c->ehlo);
	return say_hello(R, c);
}

/* A new connection to host R->hi, ready for MAIL.  STEP_OK (*out set),
 * STEP_DONE (recipients marked, nothing open) or STEP_TRYCLEAR. */
static enum step
conn_open(struct run *R, int no_tls, struct smtp_conn **out)
{
	const struct smtp_transport *t = R->d->t;
	struct smtp_host_facts f = { 0 };
	struct smtp_conn *c;
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	char why[300];
	int fd, required;
	enum step st;

	snprintf(f.name, sizeof f.name, "%s", R->h->name);
	snprintf(f.address, sizeof f.address, "%s", R->h->address);
	f.port = R->port;
	fd = tcp_connect(R->h->address, R->port, t->connect_timeout, why, sizeof why);
	if (fd < 0) {
		host_fail_error(R, &f, "4.4.1", why);
		return STEP_DONE;
	}
	set_timeouts(fd, t->command_timeout);
	c = calloc(1, sizeof *c);
	if (c == NULL || (c->io = malloc(sizeof *c->io)) == NULL) {
		free(c);
		close(fd);
		R->oom = 1;
		return STEP_DONE;
	}
	c->fd = fd;
	c->command_timeout = t->command_timeout;
	c->facts = f;
	bio_init(c->io, fd);
	snprintf(c->key, sizeof c->key, "%s:%u %s", R->h->address, R->port, t->name ? t->name : "");

	enum smtp_reply_read rd = smtp_reply_read(c->io, &r, &e);
	if (rd != SMTP_REPLY_OK) {
		host_fail_read(R, c, rd, &e, "after initial connection");
		conn_free(c);
		return STEP_DONE;
	}
	first_line(r.text, c->facts.greeting, sizeof c->facts.greeting);
	if (r.code / 100 != 2) {
		if (r.code / 100 == 5)
			pending_all(R, SMTP_RCPT_FAILED, r.status, r.text,
			            "after initial connection", NULL, &c->facts);
		else
			host_fail_reply(R, c, &r, "after initial connection");
		smtp_reply_clear(&r);
		conn_quit(c);
		return STEP_DONE;
	}
	smtp_reply_clear(&r);
	if ((st = say_hello(R, c)) != STEP_OK)
		return st;
	required =
	        t->hosts_require_tls != NULL && match_host(t->hosts_require_tls, c->facts.address);
	if (!no_tls && (c->ehlo.ext & SMTP_EXT_STARTTLS)) {
		if ((st = start_tls(R, c, required)) != STEP_OK)
			return st;
	}
	if (required && !c->facts.tls) {
		host_fail_error(R, &c->facts, "4.7.0", "TLS required but not offered");
		conn_quit(c);
		return STEP_DONE;
	}
	*out = c;
	return STEP_OK;
}

/* --- the cache ---------------------------------------------------------------------- */

struct smtp_cache *
smtp_cache_new(void)
{
	return calloc(1, sizeof(struct smtp_cache));
}

static struct smtp_conn *
cache_take(struct smtp_cache *cache, const char *key)
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
				conn_free(c);
				return NULL;
			}
			return c;
		}
	}
	return NULL;
}

static void
cache_put(struct smtp_cache *cache, struct smtp_conn *c)
{
	if (cache == NULL) {
		conn_quit(c);
		return;
	}
	if (cache->n == SMTP_CACHE_MAX) {
		conn_quit(cache->v[0]);
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
		conn_quit(cache->v[i]);
	free(cache);
}

/* --- transactions ------------------------------------------------------------------- */

/* The message, dot-stuffed unless `raw`, then "." (not with raw).  0; -1 with e. */
static int
send_data(struct run *R, struct smtp_conn *c, int raw, struct err *e)
{
	unsigned char buf[16384];
	int bol = 1;
	unsigned char last = '\n';
	ssize_t n;
	int rc = 0;

	set_timeouts(c->fd, R->d->t->data_timeout);
	if (lseek(R->datafd, 0, SEEK_SET) != 0) {
		err_set(e, errno, "cannot read the data file: %s", strerror(errno));
		return -1;
	}
	/* The size measured at the start, exactly: BDAT announced it. */
	for (uint64_t total = 0; total < R->datasize && rc == 0;) {
		uint64_t left = R->datasize - total;
		n = read(R->datafd, buf, left < sizeof buf ? (size_t)left : sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(e, n < 0 ? errno : EIO, "cannot read the data file: %s",
			        n < 0 ? strerror(errno) : "shorter than it was");
			rc = -1;
			break;
		}
		total += (uint64_t)n;
		if (raw) {
			if (bio_write(c->io, buf, (size_t)n, e) != BIO_OK)
				rc = -1;
			continue;
		}
		size_t start = 0;
		for (size_t i = 0; i < (size_t)n && rc == 0; i++) {
			if (bol && buf[i] == '.') {
				if (bio_write(c->io, buf + start, i - start, e) != BIO_OK ||
				    bio_write(c->io, ".", 1, e) != BIO_OK)
					rc = -1;
				start = i;
			}
			bol = buf[i] == '\n';
		}
		if (rc == 0 && bio_write(c->io, buf + start, (size_t)n - start, e) != BIO_OK)
			rc = -1;
		last = buf[n - 1];
	}
	if (rc == 0 && !raw) {
		if (last != '\n' && bio_write(c->io, "\r\n", 2, e) != BIO_OK)
			rc = -1;
		if (rc == 0 && bio_write(c->io, ".\r\n", 3, e) != BIO_OK)
			rc = -1;
	}
	if (rc == 0 && bio_flush(c->io, e) != BIO_OK)
		rc = -1;
	set_timeouts(c->fd, c->command_timeout);
	return rc;
}

static void
rcpt_params(const struct smtp_conn *c, const struct spool_rcpt *rc, char *buf, size_t len)
{
	char x[1100];
	size_t n = 0;

	buf[0] = '\0';
	if (!(c->ehlo.ext & SMTP_EXT_DSN))
		return;
	if (rc->notify & DSN_NOTIFY_NEVER) {
		n += (size_t)snprintf(buf + n, len - n, " NOTIFY=NEVER");
	} else if (rc->notify != 0) {
		const char *sep = "=";
		n += (size_t)snprintf(buf + n, len - n, " NOTIFY");
		if ((rc->notify & DSN_NOTIFY_SUCCESS) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%sSUCCESS", sep), sep = ",";
		if ((rc->notify & DSN_NOTIFY_FAILURE) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%sFAILURE", sep), sep = ",";
		if ((rc->notify & DSN_NOTIFY_DELAY) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%sDELAY", sep);
	}
	if (rc->orcpt != NULL && strchr(rc->orcpt, ';') != NULL && n < len) {
		const char *semi = strchr(rc->orcpt, ';');
		/* One that cannot be passed on whole is not passed on. */
		if (smtp_xtext(semi + 1, x, sizeof x) == 0)
			snprintf(buf + n, len - n, " ORCPT=%.*s;%s", (int)(semi - rc->orcpt),
			         rc->orcpt, x);
	}
}

/* One transaction for recipients idx[0..n).  STEP_OK: each of them decided;
 * STEP_DONE: host-level failure (c freed); STEP_DEAD: a reused connection
 * turned out closed before anything was decided (c freed). */
static enum step
transaction(struct run *R, struct smtp_conn *c, const size_t *idx, size_t n, int reused)
{
	const struct envelope *env = R->d->env;
	struct smtp_rcpt_result *rr = R->d->rcpts;
	int pipe = (c->ehlo.ext & SMTP_EXT_PIPELINING) != 0,
	    chunk = (c->ehlo.ext & SMTP_EXT_CHUNKING) != 0;
	char mail[1600], params[1200], x[600], mstage[1100], stage[1100];
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	size_t naccepted = 0;
	unsigned char *accepted = calloc(n ? n : 1, 1);
	int mail_ok;
	enum smtp_reply_read rd;

	c->facts.dsn = (c->ehlo.ext & SMTP_EXT_DSN) != 0;
	if (accepted == NULL) {
		R->oom = 1;
		conn_free(c);
		return STEP_DONE;
	}
	if ((c->ehlo.ext & SMTP_EXT_SIZE) && c->ehlo.size_limit > 0 &&
	    env->size > c->ehlo.size_limit) {
		char msg[200];
		snprintf(msg, sizeof msg,
		         "message of %" PRIu64 " octets is larger than the %" PRIu64
		         " the remote host accepts",
		         env->size, c->ehlo.size_limit);
		for (size_t i = 0; i < n; i++)
			result_set(R, &rr[idx[i]], SMTP_RCPT_FAILED, "5.3.4", NULL, NULL, msg,
			           &c->facts);
		free(accepted);
		return STEP_OK; /* nothing sent: the session is as it was */
	}

	/* MAIL FROM:<sender> [SIZE=] [BODY=] [RET= ENVID=] */
	size_t pn = 0;
	params[0] = '\0';
	if (c->ehlo.ext & SMTP_EXT_SIZE)
		pn += (size_t)snprintf(params + pn, sizeof params - pn, " SIZE=%" PRIu64,
		                       env->size);
	if ((c->ehlo.ext & SMTP_EXT_8BITMIME) && env->body != NULL && pn < sizeof params)
		pn += (size_t)snprintf(params + pn, sizeof params - pn, " BODY=%s", env->body);
	if ((c->ehlo.ext & SMTP_EXT_DSN) && env->ret != DSN_RET_UNSET && pn < sizeof params)
		pn += (size_t)snprintf(params + pn, sizeof params - pn, " RET=%s",
		                       env->ret == DSN_RET_FULL ? "FULL" : "HDRS");
	if ((c->ehlo.ext & SMTP_EXT_DSN) && env->envid != NULL && pn < sizeof params) {
		if (smtp_xtext(env->envid, x, sizeof x) == 0)
			snprintf(params + pn, sizeof params - pn, " ENVID=%s", x);
	}
	snprintf(mail, sizeof mail, "MAIL FROM:<%s>%s\r\n", env->sender, params);
	snprintf(mstage, sizeof mstage, "after MAIL FROM:<%s>", env->sender);

	if (pipe) {
		int ok = bio_printf(c->io, &e, "%s", mail) == BIO_OK;
		for (size_t i = 0; i < n && ok; i++) {
			rcpt_params(c, rr[idx[i]].rcpt, params, sizeof params);
			ok = bio_printf(c->io, &e, "RCPT TO:<%s>%s\r\n", rr[idx[i]].rcpt->address,
			                params) == BIO_OK;
		}
		if (ok && !chunk)
			ok = bio_printf(c->io, &e, "DATA\r\n") == BIO_OK;
		if (ok)
			ok = bio_flush(c->io, &e) == BIO_OK;
		rd = ok ? smtp_reply_read(c->io, &r, &e) : SMTP_REPLY_IO;
	} else {
		rd = command(c, &r, &e, "%s", mail);
	}
	if (reused && (rd == SMTP_REPLY_EOF || rd == SMTP_REPLY_IO ||
	               (rd == SMTP_REPLY_OK && r.code == 421))) {
		smtp_reply_clear(&r);
		free(accepted);
		conn_free(c);
		return STEP_DEAD;
	}
	if (rd != SMTP_REPLY_OK) {
		host_fail_read(R, c, rd, &e, mstage);
		goto lost;
	}
	mail_ok = r.code / 100 == 2;
	if (r.code / 100 == 4 || (r.code / 100 != 2 && r.code / 100 != 5)) {
		host_fail_reply(R, c, &r, mstage);
		goto quit;
	}
	if (!mail_ok)
		for (size_t i = 0; i < n; i++)
			result_set(R, &rr[idx[i]], SMTP_RCPT_FAILED, r.status, r.text, mstage, NULL,
			           &c->facts);
	if (!mail_ok && !pipe)
		goto done;

	for (size_t i = 0; i < n; i++) {
		const char *addr = rr[idx[i]].rcpt->address;
		snprintf(stage, sizeof stage, "after RCPT TO:<%s>", addr);
		if (pipe) {
			rd = smtp_reply_read(c->io, &r, &e);
		} else {
			rcpt_params(c, rr[idx[i]].rcpt, params, sizeof params);
			rd = command(c, &r, &e, "RCPT TO:<%s>%s\r\n", addr, params);
		}
		if (rd != SMTP_REPLY_OK) {
			host_fail_read(R, c, rd, &e, stage);
			goto lost;
		}
		if (!mail_ok)
			continue;
		switch (r.code / 100) {
		case 2:
			accepted[i] = 1;
			naccepted++;
			break;
		case 4:
			result_set(R, &rr[idx[i]], SMTP_RCPT_DEFERRED, r.status, r.text, stage,
			           NULL, &c->facts);
			break;
		case 5:
			result_set(R, &rr[idx[i]], SMTP_RCPT_FAILED, r.status, r.text, stage, NULL,
			           &c->facts);
			break;
		default:
			host_fail_reply(R, c, &r, stage);
			goto quit;
		}
	}

	if (chunk) {
		if (!mail_ok)
			goto done;
		if (naccepted == 0) {
			rd = command(c, &r, &e, "RSET\r\n");
			if (rd != SMTP_REPLY_OK) {
				host_fail_read(R, c, rd, &e, "after RSET");
				goto lost;
			}
			goto done;
		}
		snprintf(stage, sizeof stage, "after end of data");
		if (bio_printf(c->io, &e, "BDAT %" PRIu64 " LAST\r\n", R->datasize) != BIO_OK ||
		    send_data(R, c, 1, &e) != 0) {
			host_fail_error(R, &c->facts, "4.4.2", e.text);
			goto lost;
		}
	} else {
		if (!pipe) {
			if (naccepted == 0) {
				rd = command(c, &r, &e, "RSET\r\n");
				if (rd != SMTP_REPLY_OK) {
					host_fail_read(R, c, rd, &e, "after RSET");
					goto lost;
				}
				goto done;
			}
			rd = command(c, &r, &e, "DATA\r\n");
		} else {
			rd = smtp_reply_read(c->io, &r, &e);
		}
		if (rd != SMTP_REPLY_OK) {
			host_fail_read(R, c, rd, &e, "after DATA");
			goto lost;
		}
		if (r.code == 354 && (!mail_ok || naccepted == 0)) {
			/* RFC 2920 3.1: a server that accepts DATA without a recipient
			 * gets an empty message, and its reply is of no interest. */
			rd = command(c, &r, &e, ".\r\n");
			if (rd != SMTP_REPLY_OK) {
				host_fail_read(R, c, rd, &e, "after end of data");
				goto lost;
			}
			goto done;
		}
		if (!mail_ok || naccepted == 0)
			goto done;
		if (r.code / 100 == 4 || r.code / 100 == 5) {
			for (size_t i = 0; i < n; i++)
				if (accepted[i])
					result_set(R, &rr[idx[i]],
					           r.code / 100 == 4 ? SMTP_RCPT_DEFERRED
					                             : SMTP_RCPT_FAILED,
					           r.status, r.text, "after DATA", NULL, &c->facts);
			goto done;
		}
		if (r.code != 354) {
			host_fail_reply(R, c, &r, "after DATA");
			goto quit;
		}
		snprintf(stage, sizeof stage, "after end of data");
		if (send_data(R, c, 0, &e) != 0) {
			host_fail_error(R, &c->facts, "4.4.2", e.text);
			goto lost;
		}
	}
	rd = smtp_reply_read(c->io, &r, &e);
	if (rd != SMTP_REPLY_OK) {
		host_fail_read(R, c, rd, &e, stage);
		goto lost;
	}
	if (r.code / 100 < 2 || r.code / 100 == 3) {
		host_fail_reply(R, c, &r, stage);
		goto quit;
	}
	for (size_t i = 0; i < n; i++)
		if (accepted[i])
			result_set(R, &rr[idx[i]],
			           r.code / 100 == 2   ? SMTP_RCPT_DELIVERED
			           : r.code / 100 == 4 ? SMTP_RCPT_DEFERRED
			                               : SMTP_RCPT_FAILED,
			           r.status, r.text, stage, NULL, &c->facts);
done:
	smtp_reply_clear(&r);
	free(accepted);
	return STEP_OK;
quit:
	smtp_reply_clear(&r);
	free(accepted);
	conn_quit(c);
	return STEP_DONE;
lost:
	smtp_reply_clear(&r);
	free(accepted);
	conn_free(c);
	return STEP_DONE;
}

/* Transactions on `c` until no recipient is pending.  The connection ends
 * in the cache (or QUIT) or freed. */
static enum step
run_transactions(struct run *R, struct smtp_conn *c, int reused)
{
	size_t max = R->d->t->max_rcpt > 0 ? R->d->t->max_rcpt : 100;
	size_t *idx = malloc(max * sizeof *idx);

	if (idx == NULL) {
		R->oom = 1;
		conn_quit(c);
		return STEP_DONE;
	}
	for (;;) {
		size_t n = 0;
		enum step st;

		for (size_t i = 0; i < R->d->nrcpts && n < max; i++)
			if (R->d->rcpts[i].outcome == SMTP_RCPT_PENDING)
				idx[n++] = i;
		if (n == 0)
			break;
		st = transaction(R, c, idx, n, reused);
		if (st != STEP_OK) {
			free(idx);
			return st;
		}
		reused = 0;
	}
	free(idx);
	cache_put(R->d->cache, c);
	return STEP_OK;
}

static int
any_pending(const struct smtp_delivery *d)
{
	for (size_t i = 0; i < d->nrcpts; i++)
		if (d->rcpts[i].outcome == SMTP_RCPT_PENDING)
			return 1;
	return 0;
}

static void
try_host(struct run *R)
{
	char key[400];
	int no_tls = 0;

	snprintf(key, sizeof key, "%s:%u %s", R->h->address, R->port,
	         R->d->t->name ? R->d->t->name : "");
	/* At most: a dead cached connection, a failed handshake, a clear session. */
	for (int attempt = 0; attempt < 3 && any_pending(R->d); attempt++) {
		struct smtp_conn *c = attempt == 0 ? cache_take(R->d->cache, key) : NULL;
		int reused = c != NULL;
		enum step st;

		if (c == NULL) {
			st = conn_open(R, no_tls, &c);
			if (st == STEP_TRYCLEAR) {
				no_tls = 1;
				continue;
			}
			if (st != STEP_OK)
				return;
		}
		st = run_transactions(R, c, reused);
		if (st != STEP_DEAD)
			return;
	}
}

int
deliver_smtp(struct smtp_delivery *d)
{
	struct run R = { .d = d, .datafd = -1 };
	struct stat sb;

	for (size_t i = 0; i < d->nrcpts; i++)
		if (d->rcpts[i].outcome == SMTP_RCPT_PENDING)
			d->rcpts[i].host_index = -1;
	R.datafd = open(d->data_path, O_RDONLY | O_CLOEXEC);
	if (R.datafd < 0 || fstat(R.datafd, &sb) != 0) {
		char msg[700];
		snprintf(msg, sizeof msg, "cannot open the data file %s: %s", d->data_path,
		         strerror(errno));
		pending_all(&R, SMTP_RCPT_DEFERRED, "4.3.0", NULL, NULL, msg, NULL);
		if (R.datafd >= 0)
			close(R.datafd);
		return R.oom ? -1 : 0;
	}
	R.datasize = (uint64_t)sb.st_size;
	for (size_t hi = 0; hi < d->nhosts && any_pending(d) && !R.oom; hi++) {
		R.hi = hi;
		R.h = &d->hosts[hi];
		R.port = R.h->port != 0 ? R.h->port : d->t->port;
		try_host(&R);
	}
	for (size_t i = 0; i < d->nrcpts; i++) {
		struct smtp_rcpt_result *r = &d->rcpts[i];
		if (r->outcome != SMTP_RCPT_PENDING)
			continue;
		r->outcome = SMTP_RCPT_DEFERRED;
		if (r->reply == NULL && r->error == NULL) {
			snprintf(r->status, sizeof r->status, "4.4.0");
			r->error = dup_or_oom(&R, "no host to try");
		}
		if (r->status[0] == '\0')
			snprintf(r->status, sizeof r->status, "4.0.0");
	}
	close(R.datafd);
	return R.oom ? -1 : 0;
}

void
smtp_rcpt_result_free(struct smtp_rcpt_result *r)
{
	if (r == NULL)
		return;
	free(r->reply);
	free(r->stage);
	free(r->error);
	r->reply = r->stage = r->error = NULL;
}

void
smtp_host_log_fields(const struct smtp_host_facts *h, char *buf, size_t len)
{
	size_t n;
	int w;

	if (len == 0)
		return;
	w = snprintf(buf, len, "H=%s [%s]", h->name, h->address);
	n = w < 0 ? 0 : (size_t)w;
	if (h->port != 25 && n < len) {
		w = snprintf(buf + n, len - n, ":%u", h->port);
		n += w < 0 ? 0 : (size_t)w;
	}
	if (h->tls && n < len) {
		if (h->cv)
			snprintf(buf + n, len - n, " X=%s:%s CV=yes", h->tls_version,
			         h->tls_cipher);
		else
			snprintf(buf + n, len - n, " X=%s:%s CV=no (%s)", h->tls_version,
			         h->tls_cipher, h->cv_reason);
	}
}

/* --- the transport block ------------------------------------------------------------ */

enum opt_type { T_PORT, T_TIME, T_COUNT, T_HOSTLIST, T_STRING, T_FILE, T_BOOL };

static const struct topt {
	const char *name;
	enum opt_type type;
	size_t off;
} topts[] = {
#define O(n, t)                                                                                    \
	{                                                                                          \
#n, t, offsetof(struct smtp_transport, n)                                          \
	}
	O(port, T_PORT),
	O(helo_data, T_STRING),
	O(connect_timeout, T_TIME),
	O(command_timeout, T_TIME),
	O(data_timeout, T_TIME),
	O(max_rcpt, T_COUNT),
	O(hosts_require_tls, T_HOSTLIST),
	O(tls_verify_certificates, T_FILE),
	O(tls_verify_hosts, T_HOSTLIST),
	O(tls_try_verify_hosts, T_HOSTLIST),
	O(tls_verify_cert_hostnames, T_HOSTLIST),
	O(tls_sni, T_STRING),
	O(tls_certificate, T_FILE),
	O(tls_privatekey, T_FILE),
	O(tls_require_ciphers, T_STRING),
	O(tls_tempfail_tryclear, T_BOOL),
#undef O
};

static int __attribute__((format(printf, 5, 6)))
tfail(const struct config *cfg, const struct config_block *b, int line, struct err *e,
      const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err_set(e, 1, "%s:%d: transport %s: %s", cfg->file, line, b->name, msg);
	return -1;
}

static int
set_str(char **field, const char *value)
{
	char *p = strdup(value);

	if (p == NULL)
		return -1;
	free(*field);
	*field = p;
	return 0;
}

int
smtp_transport_parse(const struct config *cfg, const struct config_block *b,
                     struct smtp_transport *out, struct err *e)
{
	int line;
	const char *v;

	memset(out, 0, sizeof *out);
	out->line = b->line;
	out->port = 25;
	out->connect_timeout = 30;
	out->command_timeout = 300;
	out->data_timeout = 300;
	out->max_rcpt = 100;
	out->tls_tempfail_tryclear = 1;
	if ((out->name = strdup(b->name)) == NULL || set_str(&out->hosts_require_tls, "") != 0 ||
	    set_str(&out->tls_verify_hosts, "") != 0 ||
	    set_str(&out->tls_try_verify_hosts, "*") != 0 ||
	    set_str(&out->tls_verify_cert_hostnames, "*") != 0 ||
	    set_str(&out->helo_data,
	            cfg->primary_hostname != NULL ? cfg->primary_hostname : "localhost") != 0)
		goto oom;
	for (size_t i = 0; i < b->nopts; i++) {
		const struct config_kv *kv = &b->opts[i];
		const struct topt *o = NULL;
		char *field_base = (char *)out;
		char bad[256];

		if (strcmp(kv->key, "driver") == 0) {
			if (strcmp(kv->value, "smtp") != 0) {
				tfail(cfg, b, kv->line, e, "driver is \"%s\", not smtp", kv->value);
				goto fail;
			}
			continue;
		}
		for (size_t j = 0; j < sizeof topts / sizeof topts[0]; j++)
			if (strcmp(topts[j].name, kv->key) == 0)
				o = &topts[j];
		if (o == NULL) {
			tfail(cfg, b, kv->line, e, "unknown option \"%s\"", kv->key);
			goto fail;
		}
		if (kv->value[0] == '\0' && o->type != T_HOSTLIST) {
			tfail(cfg, b, kv->line, e, "%s: needs a value", kv->key);
			goto fail;
		}
		switch (o->type) {
		case T_PORT:
		case T_COUNT: {
			char *end;
			unsigned long n;
			errno = 0;
			n = strtoul(kv->value, &end, 10);
			if (*end != '\0' || errno != 0 || kv->value[0] < '0' ||
			    kv->value[0] > '9' || n == 0 || (o->type == T_PORT && n > 65535) ||
			    n > 1000000) {
				tfail(cfg, b, kv->line, e, "%s: bad number \"%s\"%s", kv->key,
				      kv->value,
				      o->type == T_PORT ? " (use 1 to 65535)"
				                        : " (use a number of at least 1)");
				goto fail;
			}
			*(unsigned *)(field_base + o->off) = (unsigned)n;
			break;
		}
		case T_TIME:
			if (config_parse_time(kv->value, (unsigned *)(field_base + o->off)) != 0) {
				tfail(cfg, b, kv->line, e,
				      "%s: bad time \"%s\" (use 300, 30s, 5m or 1h)", kv->key,
				      kv->value);
				goto fail;
			}
			break;
		case T_BOOL:
			if (str_parse_bool(kv->value, (int *)(field_base + o->off)) != 0) {
				tfail(cfg, b, kv->line, e,
				      "%s: bad boolean \"%s\" (use true or false)", kv->key,
				      kv->value);
				goto fail;
			}
			break;
		case T_HOSTLIST:
			if (config_bad_host_item(kv->value, bad, sizeof bad)) {
				tfail(cfg, b, kv->line, e,
				      "%s: bad host list item \"%s\" (use *, an IP address or a "
				      "CIDR; "
				      "double each colon of an IPv6 address)",
				      kv->key, bad);
				goto fail;
			}
			if (set_str((char **)(field_base + o->off), kv->value) != 0)
				goto oom;
			break;
		case T_STRING:
			if (set_str((char **)(field_base + o->off), kv->value) != 0)
				goto oom;
			break;
		case T_FILE: {
			char *path;
			if (kv->value[0] == '/')
				path = strdup(kv->value);
			else if (asprintf(&path, "%s/%s", cfg->dir, kv->value) < 0)
				path = NULL;
			if (path == NULL)
				goto oom;
			free(*(char **)(field_base + o->off));
			*(char **)(field_base + o->off) = path;
			if (access(path, R_OK) != 0) {
				tfail(cfg, b, kv->line, e, "%s: cannot read \"%s\": %s", kv->key,
				      path, strerror(errno));
				goto fail;
			}
			break;
		}
		}
	}
	if (out->tls_privatekey != NULL && out->tls_certificate == NULL) {
		(void)config_block_get(b, "tls_privatekey", &line);
		tfail(cfg, b, line, e, "tls_privatekey: set without tls_certificate");
		goto fail;
	}
	if ((v = config_block_get(b, "tls_sni", &line)) != NULL && strchr(v, '$') != NULL &&
	    strcmp(v, "$host") != 0) {
		tfail(cfg, b, line, e, "tls_sni: \"%s\" (use $host or a name)", v);
		goto fail;
	}
	return 0;
oom:
	err_set(e, ENOMEM, "%s:%d: transport %s: out of memory", cfg->file, b->line, b->name);
fail:
	smtp_transport_free(out);
	return -1;
}

void
smtp_transport_free(struct smtp_transport *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->helo_data);
	free(t->hosts_require_tls);
	free(t->tls_verify_certificates);
	free(t->tls_verify_hosts);
	free(t->tls_try_verify_hosts);
	free(t->tls_verify_cert_hostnames);
	free(t->tls_sni);
	free(t->tls_certificate);
	free(t->tls_privatekey);
	free(t->tls_require_ciphers);
	memset(t, 0, sizeof *t);
}
