/*
 * deliver_smtp_proto.c - one SMTP transaction on an open connection
 * (deliver_smtp_int.h): the size check, MAIL FROM with its parameters, the
 * RCPTs (one pipelined group when PIPELINING is offered, RFC 2920), the body
 * (DATA with dot-stuffing, or BDAT LAST when CHUNKING is offered, RFC 3030;
 * both with every line ending sent as CRLF, SMTP smuggling)
 * and the final reply, each recipient ending decided; with PRDR
 * (draft-hall-prdr-00, docs/prdr.md) the per-recipient replies after "353"
 * and the overall reply.
 *
 * The steps share a struct txn; each returns what comes next: the following
 * step, the end of the transaction with the session still usable, QUIT
 * (a reply said the host is of no use) or a lost connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver_smtp_int.h"
#include "match.h"

/*
 * The message as it goes on the wire, whatever the spool holds (RFC 5321
 * 2.3.8: CR and LF only as CRLF).  The receiving side refuses bare CR, bare
 * LF and NUL, but a data file may come from elsewhere (`refmta send`, an
 * older spool, a hand-made file): a bare CR or bare LF goes out as CRLF, so
 * that no "\r.\r", "\r.\n" or "\n.\n" in the content can end the data (or,
 * once another hop turns BDAT into DATA, the message) anywhere downstream
 * (SMTP smuggling).  With `stuff` (DATA), a dot at the start of a line is
 * doubled (RFC 5321 4.5.2).  Every octet in yields at most two out.
 */
struct body_filter {
	int stuff; /* DATA: dot-stuffing */
	int bol;   /* at the start of a line */
	int cr;    /* the last octet in was CR (already sent as CRLF) */
};

static size_t
body_filter_run(struct body_filter *f, const unsigned char *in, size_t n, unsigned char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = in[i];

		if (c == '\r' || c == '\n') {
			if (c == '\r' || !f->cr) {
				out[o++] = '\r';
				out[o++] = '\n';
			}
			f->cr = c == '\r';
			f->bol = 1;
			continue;
		}
		f->cr = 0;
		if (f->stuff && f->bol && c == '.')
			out[o++] = '.';
		out[o++] = c;
		f->bol = 0;
	}
	return o;
}

/* One pass over the data file: to `io`, or (io NULL) only counting into
 * *size.  The file's size measured at the start is read, exactly.  0; -1
 * with e. */
static int
body_pass(struct smtp_run *R, struct bio *io, int stuff, uint64_t *size, struct err *e)
{
	unsigned char in[8192], out[2 * sizeof in + 5];
	struct body_filter f = { .stuff = stuff, .bol = 1 };
	uint64_t total = 0;
	size_t o;
	ssize_t n;

	*size = 0;
	if (lseek(R->datafd, 0, SEEK_SET) != 0) {
		err_set(e, errno, "cannot read the data file: %s", strerror(errno));
		return -1;
	}
	while (total < R->datasize) {
		uint64_t left = R->datasize - total;
		n = read(R->datafd, in, left < sizeof in ? (size_t)left : sizeof in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(e, n < 0 ? errno : EIO, "cannot read the data file: %s",
			        n < 0 ? strerror(errno) : "shorter than it was");
			return -1;
		}
		total += (uint64_t)n;
		o = body_filter_run(&f, in, (size_t)n, out);
		*size += o;
		if (io != NULL && bio_write(io, out, o, e) != BIO_OK)
			return -1;
	}
	if (stuff) {
		/* RFC 5321 4.1.1.4: the last line ends in CRLF, then "." CRLF. */
		o = 0;
		if (!f.bol) {
			out[o++] = '\r';
			out[o++] = '\n';
		}
		memcpy(out + o, ".\r\n", 3);
		o += 3;
		*size += o;
		if (io != NULL && bio_write(io, out, o, e) != BIO_OK)
			return -1;
	}
	return 0;
}

/* The message: DATA's dot-stuffed body and ".", or (chunk) the BDAT
 * chunk of exactly `chunk_size` octets (from body_pass's count). */
static int
send_data(struct smtp_run *R, struct smtp_conn *c, int chunk, uint64_t chunk_size, struct err *e)
{
	uint64_t sent;
	int rc;

	smtp_set_timeouts(c->fd, R->d->t->data_timeout);
	rc = body_pass(R, c->io, !chunk, &sent, e);
	if (rc == 0 && chunk && sent != chunk_size) {
		err_set(e, EIO, "cannot read the data file: %s", "it changed while being sent");
		rc = -1;
	}
	if (rc == 0 && bio_flush(c->io, e) != BIO_OK)
		rc = -1;
	smtp_set_timeouts(c->fd, c->command_timeout);
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
	if (rc->notify != 0) {
		char names[DSN_NOTIFY_NAMES_MAX];
		/* NEVER alone: the parser never stores it with another word. */
		if (dsn_param_notify_format(rc->notify & DSN_NOTIFY_NEVER ? DSN_NOTIFY_NEVER
		                                                          : rc->notify,
		                            names, sizeof names) == 0)
			n += (size_t)snprintf(buf + n, len - n, " NOTIFY=%s", names);
	}
	if (rc->orcpt != NULL && strchr(rc->orcpt, ';') != NULL && n < len) {
		const char *semi = strchr(rc->orcpt, ';');
		/* One that cannot be passed on whole is not passed on. */
		if (dsn_param_xtext_encode(semi + 1, x, sizeof x) == 0)
			snprintf(buf + n, len - n, " ORCPT=%.*s;%s", (int)(semi - rc->orcpt),
			         rc->orcpt, x);
	}
}

/* --- one transaction, step by step ------------------------------------------------- */

struct txn {
	struct smtp_run *R;
	struct smtp_conn *c;
	const size_t *idx; /* the recipients: R->d->rcpts[idx[0..n)] */
	size_t n;
	unsigned char *accepted; /* [n]: RCPT got a 2xx */
	size_t naccepted;
	int pipe, chunk;     /* PIPELINING, CHUNKING offered */
	int prdr;            /* PRDR sent on MAIL */
	int mail_ok;         /* MAIL got a 2xx */
	struct smtp_reply r; /* the last reply read */
	struct err e;
	char mstage[1100]; /* "after MAIL FROM:<...>" */
	char stage[1100];  /* the stage of the reply awaited */
};

enum txn_next {
	TXN_NEXT, /* go on with the next step */
	TXN_DONE, /* transaction over, the session usable */
	TXN_QUIT, /* host-level failure by a reply: QUIT */
	TXN_LOST  /* host-level failure, the connection unusable: close */
};

static struct smtp_rcpt_result *
txn_rcpt(const struct txn *t, size_t i)
{
	return &t->R->d->rcpts[t->idx[i]];
}

/* What a reply's class means for a recipient it decides. */
static enum smtp_outcome
txn_outcome(int code)
{
	return code / 100 == 2   ? SMTP_RCPT_DELIVERED
	       : code / 100 == 4 ? SMTP_RCPT_DEFERRED
	                         : SMTP_RCPT_FAILED;
}

/* Every recipient RCPT accepted, decided by the last reply. */
static void
txn_decide_accepted(struct txn *t, const char *stage)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->accepted[i])
			smtp_result_set(t->R, txn_rcpt(t, i), txn_outcome(t->r.code), t->r.status,
			                t->r.text, stage, NULL, &t->c->facts);
}

/* A reply that cannot be read ends the host. */
static enum txn_next
txn_read_failed(struct txn *t, enum smtp_reply_read rd, const char *stage)
{
	smtp_host_fail_read(t->R, t->c, rd, &t->e, stage);
	return TXN_LOST;
}

/* RFC 1870 6: a message the server announced it will not take is not offered. */
static int
txn_too_big(struct txn *t)
{
	const struct envelope *env = t->R->d->env;
	char msg[200];

	if (!(t->c->ehlo.ext & SMTP_EXT_SIZE) || t->c->ehlo.size_limit == 0 ||
	    env->size <= t->c->ehlo.size_limit)
		return 0;
	snprintf(msg, sizeof msg,
	         "message of %" PRIu64 " octets is larger than the %" PRIu64
	         " the remote host accepts",
	         env->size, t->c->ehlo.size_limit);
	for (size_t i = 0; i < t->n; i++)
		smtp_result_set(t->R, txn_rcpt(t, i), SMTP_RCPT_FAILED, "5.3.4", NULL, NULL, msg,
		                &t->c->facts);
	return 1;
}

/* "MAIL FROM:<sender> [SIZE=] [BODY=] [RET= ENVID=]\r\n" */
static void
txn_mail_command(const struct txn *t, char *mail, size_t len)
{
	const struct envelope *env = t->R->d->env;
	unsigned ext = t->c->ehlo.ext;
	char params[1200], x[600];
	size_t pn = 0;

	params[0] = '\0';
	if (ext & SMTP_EXT_SIZE)
		pn += (size_t)snprintf(params + pn, sizeof params - pn, " SIZE=%" PRIu64,
		                       env->size);
	if ((ext & SMTP_EXT_8BITMIME) && env->body != NULL && pn < sizeof params)
		pn += (size_t)snprintf(params + pn, sizeof params - pn, " BODY=%s", env->body);
	if ((ext & SMTP_EXT_DSN) && env->ret != DSN_RET_UNSET && pn < sizeof params)
		pn += (size_t)snprintf(params + pn, sizeof params - pn, " RET=%s",
		                       dsn_param_ret_name(env->ret));
	if ((ext & SMTP_EXT_DSN) && env->envid != NULL && pn < sizeof params) {
		if (dsn_param_xtext_encode(env->envid, x, sizeof x) == 0)
			snprintf(params + pn, sizeof params - pn, " ENVID=%s", x);
	}
	if (t->prdr && pn < sizeof params)
		snprintf(params + strlen(params), sizeof params - strlen(params), " PRDR");
	snprintf(mail, len, "MAIL FROM:<%s>%s\r\n", env->sender, params);
}

/* MAIL (with the RCPTs and DATA behind it when pipelining); MAIL's reply read. */
static enum smtp_reply_read
txn_send_envelope(struct txn *t)
{
	char mail[1600], params[1200];
	int ok;

	txn_mail_command(t, mail, sizeof mail);
	snprintf(t->mstage, sizeof t->mstage, "after MAIL FROM:<%s>", t->R->d->env->sender);
	if (!t->pipe)
		return smtp_command(t->c, &t->r, &t->e, "%s", mail);
	ok = bio_printf(t->c->io, &t->e, "%s", mail) == BIO_OK;
	for (size_t i = 0; i < t->n && ok; i++) {
		rcpt_params(t->c, txn_rcpt(t, i)->rcpt, params, sizeof params);
		ok = bio_printf(t->c->io, &t->e, "RCPT TO:<%s>%s\r\n",
		                txn_rcpt(t, i)->rcpt->address, params) == BIO_OK;
	}
	if (ok && !t->chunk)
		ok = bio_printf(t->c->io, &t->e, "DATA\r\n") == BIO_OK;
	if (ok)
		ok = bio_flush(t->c->io, &t->e) == BIO_OK;
	return ok ? smtp_reply_read(t->c->io, &t->r, &t->e) : SMTP_REPLY_IO;
}

/* MAIL's reply: a 5xx fails every recipient, a 4xx (or nonsense) the host. */
static enum txn_next
txn_mail_reply(struct txn *t, enum smtp_reply_read rd)
{
	int class = t->r.code / 100;

	if (rd != SMTP_REPLY_OK)
		return txn_read_failed(t, rd, t->mstage);
	t->mail_ok = class == 2;
	if (class != 2 && class != 5) {
		smtp_host_fail_reply(t->R, t->c, &t->r, t->mstage);
		return TXN_QUIT;
	}
	if (t->mail_ok)
		return TXN_NEXT;
	for (size_t i = 0; i < t->n; i++)
		smtp_result_set(t->R, txn_rcpt(t, i), SMTP_RCPT_FAILED, t->r.status, t->r.text,
		                t->mstage, NULL, &t->c->facts);
	/* Pipelined RCPTs (and DATA) still have replies to read. */
	return t->pipe ? TXN_NEXT : TXN_DONE;
}

/* Each RCPT's reply (sent now unless pipelined): 2xx accepted, 4xx that
 * recipient defers, 5xx it fails; after a refused MAIL only read. */
static enum txn_next
txn_rcpt_replies(struct txn *t)
{
	char params[1200];
	enum smtp_reply_read rd;

	for (size_t i = 0; i < t->n; i++) {
		struct smtp_rcpt_result *res = txn_rcpt(t, i);
		const char *addr = res->rcpt->address;

		snprintf(t->stage, sizeof t->stage, "after RCPT TO:<%s>", addr);
		if (t->pipe) {
			rd = smtp_reply_read(t->c->io, &t->r, &t->e);
		} else {
			rcpt_params(t->c, res->rcpt, params, sizeof params);
			rd = smtp_command(t->c, &t->r, &t->e, "RCPT TO:<%s>%s\r\n", addr, params);
		}
		if (rd != SMTP_REPLY_OK)
			return txn_read_failed(t, rd, t->stage);
		if (!t->mail_ok)
			continue;
		switch (t->r.code / 100) {
		case 2:
			t->accepted[i] = 1;
			t->naccepted++;
			break;
		case 4:
		case 5:
			smtp_result_set(t->R, res, txn_outcome(t->r.code), t->r.status, t->r.text,
			                t->stage, NULL, &t->c->facts);
			break;
		default:
			smtp_host_fail_reply(t->R, t->c, &t->r, t->stage);
			return TXN_QUIT;
		}
	}
	return TXN_NEXT;
}

/* No recipient accepted and no DATA in flight: RSET, the session stays usable. */
static enum txn_next
txn_rset(struct txn *t)
{
	enum smtp_reply_read rd = smtp_command(t->c, &t->r, &t->e, "RSET\r\n");

	return rd != SMTP_REPLY_OK ? txn_read_failed(t, rd, "after RSET") : TXN_DONE;
}

/* BDAT LAST with the whole message (RFC 3030 2). */
static enum txn_next
txn_bdat(struct txn *t)
{
	uint64_t size;

	snprintf(t->stage, sizeof t->stage, "after end of data");
	/* RFC 3030 2: the size announced is the size sent, after the filter. */
	if (body_pass(t->R, NULL, 0, &size, &t->e) != 0 ||
	    bio_printf(t->c->io, &t->e, "BDAT %" PRIu64 " LAST\r\n", size) != BIO_OK ||
	    send_data(t->R, t->c, 1, size, &t->e) != 0) {
		smtp_host_fail_error(t->R, &t->c->facts, "4.4.2", t->e.text);
		return TXN_LOST;
	}
	return TXN_NEXT;
}

/* DATA (already sent when pipelining), its reply, the message. */
static enum txn_next
txn_data(struct txn *t)
{
	int nobody = !t->mail_ok || t->naccepted == 0;
	enum smtp_reply_read rd;

	if (!t->pipe)
		rd = smtp_command(t->c, &t->r, &t->e, "DATA\r\n");
	else
		rd = smtp_reply_read(t->c->io, &t->r, &t->e);
	if (rd != SMTP_REPLY_OK)
		return txn_read_failed(t, rd, "after DATA");
	if (t->r.code == 354 && nobody) {
		/* RFC 2920 3.1: a server that accepts DATA without a recipient
		 * gets an empty message, and its reply is of no interest. */
		rd = smtp_command(t->c, &t->r, &t->e, ".\r\n");
		/* PRDR: no recipient to answer for, only the overall reply. */
		if (rd == SMTP_REPLY_OK && t->prdr && t->r.code == 353) {
			smtp_reply_clear(&t->r);
			rd = smtp_reply_read(t->c->io, &t->r, &t->e);
		}
		return rd != SMTP_REPLY_OK ? txn_read_failed(t, rd, "after end of data") : TXN_DONE;
	}
	if (nobody)
		return TXN_DONE;
	if (t->r.code / 100 == 4 || t->r.code / 100 == 5) {
		txn_decide_accepted(t, "after DATA");
		return TXN_DONE;
	}
	if (t->r.code != 354) {
		smtp_host_fail_reply(t->R, t->c, &t->r, "after DATA");
		return TXN_QUIT;
	}
	snprintf(t->stage, sizeof t->stage, "after end of data");
	if (send_data(t->R, t->c, 0, 0, &t->e) != 0) {
		smtp_host_fail_error(t->R, &t->c->facts, "4.4.2", t->e.text);
		return TXN_LOST;
	}
	return TXN_NEXT;
}

/* The body, when there is someone to send it to. */
static enum txn_next
txn_body(struct txn *t)
{
	if (t->chunk && !t->mail_ok)
		return TXN_DONE;
	/* Without pipelined DATA nothing else is in flight. */
	if ((t->chunk || !t->pipe) && t->naccepted == 0)
		return txn_rset(t);
	return t->chunk ? txn_bdat(t) : txn_data(t);
}

/*
 * PRDR after its 353 (draft-hall-prdr-00): one reply per recipient RCPT
 * accepted, in RCPT order, then the overall reply.  Nothing is decided
 * before the overall reply is in (a connection lost before it leaves the
 * message's fate unknown: every recipient defers with the host).  Each
 * recipient is decided by its own reply, except that an overall 4xx or
 * 5xx turns its 2xx into a deferral or failure (docs/prdr.md).
 */
static enum txn_next
txn_prdr_replies(struct txn *t)
{
	static const char stage[] = "after end of data (PRDR)";
	static const char ostage[] = "after end of data (PRDR overall reply)";
	struct smtp_reply *per = calloc(t->n ? t->n : 1, sizeof *per);
	enum txn_next next = TXN_DONE;
	enum smtp_reply_read rd;

	if (per == NULL) {
		t->R->oom = 1;
		smtp_host_fail_error(t->R, &t->c->facts, "4.3.0", "out of memory");
		return TXN_LOST;
	}
	for (size_t i = 0; i < t->n && next == TXN_DONE; i++) {
		if (!t->accepted[i])
			continue;
		rd = smtp_reply_read(t->c->io, &per[i], &t->e);
		if (rd != SMTP_REPLY_OK)
			next = txn_read_failed(t, rd, stage);
		else if (per[i].code / 100 < 2 || per[i].code / 100 == 3) {
			smtp_host_fail_reply(t->R, t->c, &per[i], stage);
			next = TXN_QUIT;
		}
	}
	if (next == TXN_DONE) {
		smtp_reply_clear(&t->r);
		rd = smtp_reply_read(t->c->io, &t->r, &t->e);
		if (rd != SMTP_REPLY_OK)
			next = txn_read_failed(t, rd, ostage);
		else if (t->r.code / 100 < 2 || t->r.code / 100 == 3) {
			smtp_host_fail_reply(t->R, t->c, &t->r, ostage);
			next = TXN_QUIT;
		}
	}
	for (size_t i = 0; i < t->n && next == TXN_DONE; i++) {
		struct smtp_rcpt_result *res = txn_rcpt(t, i);
		const struct smtp_reply *by = &per[i];

		if (!t->accepted[i])
			continue;
		if (by->code / 100 == 2 && t->r.code / 100 != 2)
			by = &t->r; /* the overall refusal wins over a 2xx */
		smtp_result_set(t->R, res, txn_outcome(by->code), by->status, by->text,
		                by == &t->r ? ostage : stage, NULL, &t->c->facts);
		res->prdr = 1;
	}
	for (size_t i = 0; i < t->n; i++)
		smtp_reply_clear(&per[i]);
	free(per);
	return next;
}

/* The reply to the end of data decides every accepted recipient. */
static enum txn_next
txn_final_reply(struct txn *t)
{
	enum smtp_reply_read rd = smtp_reply_read(t->c->io, &t->r, &t->e);

	if (rd != SMTP_REPLY_OK)
		return txn_read_failed(t, rd, t->stage);
	/* A server that offered PRDR may still answer plainly: then it is a
	 * transaction without PRDR (draft-hall-prdr-00). */
	if (t->prdr && t->r.code == 353)
		return txn_prdr_replies(t);
	if (t->r.code / 100 < 2 || t->r.code / 100 == 3) {
		smtp_host_fail_reply(t->R, t->c, &t->r, t->stage);
		return TXN_QUIT;
	}
	txn_decide_accepted(t, t->stage);
	return TXN_DONE;
}

/* A reused connection the server closed meanwhile (or a 421 on its idle
 * timeout): nothing was decided, open a new one. */
static int
txn_found_dead(const struct txn *t, enum smtp_reply_read rd)
{
	return rd == SMTP_REPLY_EOF || rd == SMTP_REPLY_IO ||
	       (rd == SMTP_REPLY_OK && t->r.code == 421);
}

enum smtp_step
smtp_transaction(struct smtp_run *R, struct smtp_conn *c, const size_t *idx, size_t n, int reused)
{
	struct txn t = { .R = R, .c = c, .idx = idx, .n = n };
	enum smtp_reply_read rd;
	enum txn_next next;
	enum smtp_step st = SMTP_STEP_DONE;

	c->facts.dsn = (c->ehlo.ext & SMTP_EXT_DSN) != 0;
	t.pipe = (c->ehlo.ext & SMTP_EXT_PIPELINING) != 0;
	t.chunk = (c->ehlo.ext & SMTP_EXT_CHUNKING) != 0;
	/* PRDR only pays with more than one recipient (the seed: Exim does
	 * the same); hosts_try_prdr matches the host's address. */
	t.prdr = (c->ehlo.ext & SMTP_EXT_PRDR) && n > 1 && R->d->t->hosts_try_prdr != NULL &&
	         match_host(R->d->t->hosts_try_prdr, c->facts.address);
	if ((t.accepted = calloc(n ? n : 1, 1)) == NULL) {
		R->oom = 1;
		smtp_conn_free(c);
		return SMTP_STEP_DONE;
	}
	if (txn_too_big(&t)) {
		free(t.accepted);
		return SMTP_STEP_OK; /* nothing sent: the session is as it was */
	}
	rd = txn_send_envelope(&t);
	if (reused && txn_found_dead(&t, rd)) {
		next = TXN_LOST;
		st = SMTP_STEP_DEAD;
	} else {
		next = txn_mail_reply(&t, rd);
		if (next == TXN_NEXT)
			next = txn_rcpt_replies(&t);
		if (next == TXN_NEXT)
			next = txn_body(&t);
		if (next == TXN_NEXT)
			next = txn_final_reply(&t);
	}
	smtp_reply_clear(&t.r);
	free(t.accepted);
	switch (next) {
	case TXN_QUIT:
		smtp_conn_quit(c);
		return SMTP_STEP_DONE;
	case TXN_LOST:
		smtp_conn_free(c);
		return st;
	default:
		return SMTP_STEP_OK;
	}
}
