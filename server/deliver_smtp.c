/*
 * deliver_smtp.c - the smtp transport (deliver_smtp.h): one message to the
 * hosts of one route, over ESMTP with PIPELINING, SIZE, 8BITMIME, DSN,
 * CHUNKING and STARTTLS when offered, each recipient ending delivered,
 * deferred or failed, and the connection kept for the next message.
 *
 * Shape (deliver_smtp_int.h): deliver_smtp() walks the hosts; try_host()
 * gets a connection (from the cache, or smtp_conn_open() in
 * deliver_smtp_conn.c: connect, greeting, EHLO/HELO, STARTTLS and the
 * verification policy of deliver_smtp_tls.c, EHLO again) and runs
 * transactions (deliver_smtp_proto.c) of at most max_rcpt recipients on it.
 * A host-level failure leaves the undecided recipients pending with that
 * failure recorded, so that the last host's reason is the one a deferral
 * carries.  This file also owns the outcomes and the host-level log lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver_smtp_int.h"
#include "log.h"
#include "spool.h"

char *
smtp_run_strdup(struct smtp_run *R, const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		R->oom = 1;
	return p;
}

/* --- outcomes ------------------------------------------------------------------------ */

/* The per-recipient events of the transport (docs/events.md): msg:delivery
 * with the confirmation, msg:rcpt:defer with the reply, msg:rcpt:host:defer
 * with the host-level reason.  Their results are ignored (seed). */
static void
result_event(struct smtp_run *R, const struct smtp_rcpt_result *r, enum smtp_outcome o,
             const char *reply, const char *error, const struct smtp_host_facts *f)
{
	const char *addr = r->rcpt != NULL ? r->rcpt->address : NULL;
	char one[1100];

	if (R->d->t->event_action == NULL || o == SMTP_RCPT_FAILED)
		return;
	snprintf(one, sizeof one, "%.*s", reply != NULL ? (int)strcspn(reply, "\n") : 0,
	         reply != NULL ? reply : "");
	if (o == SMTP_RCPT_DELIVERED)
		(void)smtp_event(R, f, "msg:delivery", one, 0, addr, NULL);
	else if (o == SMTP_RCPT_DEFERRED)
		(void)smtp_event(R, f, "msg:rcpt:defer", reply != NULL ? one : error, 0, addr,
		                 NULL);
	else
		(void)smtp_event(R, f, "msg:rcpt:host:defer", reply != NULL ? one : error,
		                 R->ev_errno, addr, NULL);
}

void
smtp_result_set(struct smtp_run *R, struct smtp_rcpt_result *r, enum smtp_outcome o,
                const char *status, const char *reply, const char *stage, const char *error,
                const struct smtp_host_facts *f)
{
	free(r->reply);
	free(r->stage);
	free(r->error);
	r->outcome = o;
	snprintf(r->status, sizeof r->status, "%s", status);
	r->reply = smtp_run_strdup(R, reply);
	r->stage = smtp_run_strdup(R, reply != NULL ? stage : NULL);
	r->error = smtp_run_strdup(R, reply == NULL ? error : NULL);
	r->host_index = R->h != NULL ? (int)R->hi : -1;
	if (f != NULL)
		r->host = *f;
	else
		memset(&r->host, 0, sizeof r->host);
	result_event(R, r, o, reply, error, f);
}

/* Every recipient still pending: record (outcome == PENDING) or decide. */
void
smtp_pending_all(struct smtp_run *R, enum smtp_outcome o, const char *status, const char *reply,
                 const char *stage, const char *error, const struct smtp_host_facts *f)
{
	for (size_t i = 0; i < R->d->nrcpts; i++)
		if (R->d->rcpts[i].outcome == SMTP_RCPT_PENDING)
			smtp_result_set(R, &R->d->rcpts[i], o, status, reply, stage, error, f);
}

void
smtp_host_log(struct smtp_run *R, const struct smtp_host_facts *f, const char *fmt, ...)
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
void
smtp_host_fail_reply(struct smtp_run *R, struct smtp_conn *c, const struct smtp_reply *r,
                     const char *stage)
{
	char one[1100], status[sizeof r->status];

	reply_oneline(r->text, one, sizeof one);
	smtp_host_log(R, &c->facts, "SMTP error from remote mail server %s: %s", stage, one);
	{
		char data[1300];
		snprintf(data, sizeof data, "SMTP error from remote mail server %s: %s", stage,
		         one);
		(void)smtp_event(R, &c->facts, "msg:host:defer", data, 0, NULL, NULL);
	}
	/* What only defers carries a 4.x.x status, whatever the reply's class
	 * (a refused STARTTLS on a host that must use TLS, an unexpected code). */
	snprintf(status, sizeof status, "%s", r->status);
	status[0] = '4';
	smtp_pending_all(R, SMTP_RCPT_PENDING, status, r->text, stage, NULL, &c->facts);
}

/* A host-level failure of refmta's own wording. */
void
smtp_host_fail_error(struct smtp_run *R, const struct smtp_host_facts *f, const char *status,
                     const char *error)
{
	smtp_host_log(R, f, "%s", error);
	(void)smtp_event(R, f, "msg:host:defer", error, R->ev_errno, NULL, NULL);
	smtp_pending_all(R, SMTP_RCPT_PENDING, status, NULL, NULL, error, f);
	R->ev_errno = 0;
}

/* A reply could not be read after `stage`. */
void
smtp_host_fail_read(struct smtp_run *R, struct smtp_conn *c, enum smtp_reply_read how,
                    const struct err *e, const char *stage)
{
	char msg[900];

	switch (how) {
	case SMTP_REPLY_EOF:
		snprintf(msg, sizeof msg, "Remote host closed connection %s", stage);
		break;
	case SMTP_REPLY_TIMEOUT:
		snprintf(msg, sizeof msg, "SMTP timeout %s", stage);
		R->ev_errno = ETIMEDOUT;
		break;
	case SMTP_REPLY_MALFORMED:
		snprintf(msg, sizeof msg, "SMTP protocol error %s: %s", stage, e->text);
		break;
	default:
		snprintf(msg, sizeof msg, "SMTP I/O error %s: %s", stage, e->text);
		break;
	}
	smtp_host_fail_error(R, &c->facts, "4.4.2", msg);
}

/* --- the loop over hosts --------------------------------------------------------------- */

/* Transactions on `c` until no recipient is pending.  The connection ends
 * in the cache (or QUIT) or freed. */
static enum smtp_step
run_transactions(struct smtp_run *R, struct smtp_conn *c, int reused)
{
	size_t max = R->d->t->max_rcpt > 0 ? R->d->t->max_rcpt : 100;
	size_t *idx = malloc(max * sizeof *idx);

	if (idx == NULL) {
		R->oom = 1;
		smtp_conn_quit(c);
		return SMTP_STEP_DONE;
	}
	for (;;) {
		size_t n = 0;
		enum smtp_step st;

		for (size_t i = 0; i < R->d->nrcpts && n < max; i++)
			if (R->d->rcpts[i].outcome == SMTP_RCPT_PENDING)
				idx[n++] = i;
		if (n == 0)
			break;
		st = smtp_transaction(R, c, idx, n, reused);
		if (st != SMTP_STEP_OK) {
			free(idx);
			return st;
		}
		reused = 0;
	}
	free(idx);
	smtp_cache_put(R->d->cache, c);
	return SMTP_STEP_OK;
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
try_host(struct smtp_run *R)
{
	char key[400];
	int no_tls = 0;

	/* DANE first: it decides whether the host is used at all, and the key. */
	if (smtp_dane_prepare(R) != SMTP_STEP_OK)
		return;
	if (smtp_host_options_dane(R, R->dane.use ? smtp_dane_record_usages(&R->dane) : 0) != 0)
		return;
	smtp_cache_key(R, key, sizeof key);
	/* At most: a dead cached connection, a failed handshake, a clear session. */
	for (int attempt = 0; attempt < 3 && any_pending(R->d); attempt++) {
		struct smtp_conn *c = attempt == 0 ? smtp_cache_take(R->d->cache, key) : NULL;
		int reused = c != NULL;
		enum smtp_step st;

		if (c == NULL) {
			st = smtp_conn_open(R, no_tls, &c);
			if (st == SMTP_STEP_TRYCLEAR) {
				no_tls = 1;
				continue;
			}
			if (st != SMTP_STEP_OK)
				return;
		}
		st = run_transactions(R, c, reused);
		if (st != SMTP_STEP_DEAD)
			return;
	}
}

int
deliver_smtp(struct smtp_delivery *d)
{
	struct smtp_run R = { .d = d, .datafd = -1 };
	struct err derr = { 0 };

	for (size_t i = 0; i < d->nrcpts; i++)
		if (d->rcpts[i].outcome == SMTP_RCPT_PENDING)
			d->rcpts[i].host_index = -1;
	R.datafd = open(d->data_path, O_RDONLY | O_CLOEXEC);
	/* The message is the data file's first spool_data_length() octets
	 * (a one-file message's envelope and trailer follow, docs/spool.md). */
	if (R.datafd < 0 || spool_data_length(R.datafd, &R.datasize, &derr) != 0) {
		char msg[700];
		snprintf(msg, sizeof msg, "cannot open the data file %s: %s", d->data_path,
		         strerror(errno));
		smtp_pending_all(&R, SMTP_RCPT_DEFERRED, "4.3.0", NULL, NULL, msg, NULL);
		if (R.datafd >= 0)
			close(R.datafd);
		return R.oom ? -1 : 0;
	}
	for (size_t hi = 0; hi < d->nhosts && any_pending(d) && !R.oom; hi++) {
		R.hi = hi;
		R.h = &d->hosts[hi];
		R.port = R.h->port != 0 ? R.h->port : d->t->port;
		if (smtp_host_options(&R) == 0)
			try_host(&R);
		smtp_host_options_done(&R);
		smtp_dane_clear(&R.dane);
	}
	for (size_t i = 0; i < d->nrcpts; i++) {
		struct smtp_rcpt_result *r = &d->rcpts[i];
		if (r->outcome != SMTP_RCPT_PENDING)
			continue;
		r->outcome = SMTP_RCPT_DEFERRED;
		if (r->reply == NULL && r->error == NULL) {
			snprintf(r->status, sizeof r->status, "4.4.0");
			r->error = smtp_run_strdup(&R, "no host to try");
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
	if (h->ds && n < len) {
		w = snprintf(buf + n, len - n, " DS");
		n += w < 0 ? 0 : (size_t)w;
	}
	if (h->tls && n < len) {
		if (h->dane)
			w = snprintf(buf + n, len - n, " X=%s:%s CV=dane", h->tls_version,
			             h->tls_cipher);
		else if (h->cv)
			w = snprintf(buf + n, len - n, " X=%s:%s CV=yes", h->tls_version,
			             h->tls_cipher);
		else
			w = snprintf(buf + n, len - n, " X=%s:%s CV=no (%s)", h->tls_version,
			             h->tls_cipher, h->cv_reason);
		n += w < 0 ? 0 : (size_t)w;
		/* $tls_out_ocsp, when a staple came or was required (docs/ocsp.md). */
		if ((h->ocsp >= 2 || h->ocsp_required) && n < len)
			snprintf(buf + n, len - n, " OCSP=%d (%s)", h->ocsp, h->ocsp_word);
	}
}
