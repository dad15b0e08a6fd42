/*
 * smtpd_data.c - the message: DATA and BDAT (RFC 5321 4.1.1.4, RFC 3030),
 * the Received header, and completion: PRDR's per-recipient phase
 * (smtpd_prdr.c), data ACL, spool, log line, 250.
 *
 * Never answer 250 before the message is durable (spool_message_commit);
 * never let a different end of data than CRLF.CRLF end it (SMTP smuggling).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "smtpd_int.h"
#include "tls.h"
#include "version.h"

#define TEXT_LINE_MAX SMTP_TEXT_LINE_MAX

/* Append message octets, remembering (not storing) what exceeds the limit. */
static void
smtpd_message_append(struct session *s, const char *data, size_t n)
{
	if (s->msg_too_big || s->msg.len + n > s->cfg->message_size_limit) {
		s->msg_too_big = 1;
		return;
	}
	buf_add(&s->msg, data, n);
	if (s->msg.oom)
		s->msg_too_big = 1; /* out of memory: refused like an oversized message */
}

static const char *
protocol_name(const struct session *s, int upper)
{
	/* RFC 3848 protocol names; the log uses them in lower case. */
	if (!s->esmtp)
		return upper ? "SMTP" : "smtp";
	if (s->tls != NULL)
		return upper ? "ESMTPS" : "esmtps";
	return upper ? "ESMTP" : "esmtp";
}

/* RFC 5321 4.4 trace header, TLS facts in a comment. */
static int
write_received(struct session *s, struct spool_message *m, struct err *e)
{
	char date[64], tlsinfo[200] = "", forc[SMTP_PATH_MAX + 16] = "", buf[1400];
	const struct tls_info *ti = s->tls ? tls_conn_info(s->tls) : NULL;
	int n;

	clock_format_rfc5322(clock_now(), date, sizeof date);
	if (ti != NULL)
		snprintf(tlsinfo, sizeof tlsinfo, " (%s:%s)", ti->version, ti->cipher);
	/* RFC 5321 7.2: name a single recipient only. */
	if (s->nrcpts == 1)
		snprintf(forc, sizeof forc, "\r\n\tfor <%s>", s->rcpts[0].address);
	n = snprintf(buf, sizeof buf,
	             "Received: from %s ([%s])\r\n\tby %s (refmta %s) with %s%s%s;\r\n\t%s\r\n",
	             smtp_valid_helo(s->helo) ? s->helo : "unknown", s->peer->ip,
	             s->cfg->primary_hostname, REFMTA_VERSION, protocol_name(s, 1), tlsinfo, forc,
	             date);
	if (spool_message_write(m, buf, (size_t)n, e) != 0)
		return -1;
	for (size_t i = 0; i < s->add_headers.n; i++) {
		const char *h = s->add_headers.v[i];
		if (spool_message_write(m, h, strlen(h), e) != 0 ||
		    spool_message_write(m, "\r\n", 2, e) != 0)
			return -1;
	}
	return 0;
}

/* The message is complete: data ACL, then durable, then 250. */
static void
message_finish(struct session *s)
{
	struct acl_result res = { 0 };
	struct envelope env = { 0 };
	struct spool_message *m = NULL;
	struct err e = { 0 };
	enum acl_verdict v;
	char fors[2048], port[8] = "", prx[80] = "";
	size_t fl = 0;
	/* The client asked for PRDR (docs/log.md), as $prdr_requested says. */
	const char *prdr = s->mail.prdr ? " PRDR" : "";

	if (s->msg_too_big) {
		smtpd_refuse(s, 552, "5.3.4 Message size exceeds fixed maximum message size");
		goto out;
	}
	/* DKIM and DMARC before the data ACL, which may test them. */
	dmarc_session_evaluate(&s->dmarc, s->msg.p, s->msg.len, s->peer->ip, &s->spf);
	if (smtpd_prdr_active(s)) {
		/* draft-hall-prdr-00: the per-recipient replies, then the
		 * overall one; the data ACL only for a message someone takes. */
		size_t deferred;
		int dropped;
		if (smtpd_prdr_recipients(s, &deferred, &dropped) == 0 || dropped) {
			smtpd_prdr_refuse_all(s, deferred, dropped);
			goto out;
		}
	}
	v = smtpd_run_acl(s, s->cfg->acl_smtp_data, ACL_ACCEPT, &res);
	if (v != ACL_ACCEPT) {
		smtpd_refuse_by_acl(s, v, &res, 550, 451, "Administrative prohibition");
		goto out;
	}

	m = spool_message_begin(s->cfg->spool_directory, &e);
	if (m == NULL || write_received(s, m, &e) != 0 ||
	    spool_message_write(m, s->msg.p, s->msg.len, &e) != 0)
		goto tempfail;
	env.sender = s->mail.path;
	env.rcpts = s->rcpts;
	env.nrcpts = s->nrcpts;
	if (dsn_param_ret_parse(s->mail.ret, &env.ret) != 0)
		env.ret = DSN_RET_UNSET; /* no RET= given */
	env.envid = s->mail.has_envid ? s->mail.envid : NULL;
	env.body = s->mail.body[0] ? s->mail.body : NULL;
	env.received_at = clock_now();
	env.helo = s->helo;
	env.host_address = (char *)s->peer->ip;
	env.host_port = s->peer->port;
	env.protocol = (char *)protocol_name(s, 0);
	if (s->tls != NULL) {
		env.tls_version = (char *)tls_conn_info(s->tls)->version;
		env.tls_cipher = (char *)tls_conn_info(s->tls)->cipher;
	}
	if (spool_message_commit(m, &env, &e) != 0) {
		m = NULL; /* commit frees it, also on failure */
		goto tempfail;
	}
	m = NULL;
	for (size_t i = 0; i < s->nrcpts && fl < sizeof fors - 1; i++)
		fl += (size_t)snprintf(fors + fl, sizeof fors - fl, " %s", s->rcpts[i].address);
	fors[fl < sizeof fors ? fl : sizeof fors - 1] = '\0';
	/* log_selector (docs/log.md): +incoming_port (default) the client's
	 * port; +proxy the proxy's address (the seed's PRX=). */
	if (s->cfg->log_selectors & CONFIG_LOG_INCOMING_PORT)
		snprintf(port, sizeof port, ":%u", s->peer->port);
	if ((s->cfg->log_selectors & CONFIG_LOG_PROXY) && s->peer->proxy_host_ip[0] != '\0')
		snprintf(prx, sizeof prx, " PRX=%s", s->peer->proxy_host_ip);
	if (s->tls != NULL) {
		const struct tls_info *ti = tls_conn_info(s->tls);
		log_write("%s <= %s H=%s [%s]%s P=%s%s X=%s:%s CV=%s%s S=%llu%s for%s", env.id,
		          s->mail.path[0] ? s->mail.path : "<>", smtpd_helo_or_none(s), s->peer->ip,
		          port, protocol_name(s, 0), prx, ti->version, ti->cipher,
		          tls_verify_word(ti->verify), prdr, (unsigned long long)env.size,
		          smtpd_spf_log_field(s), fors);
	} else {
		log_write("%s <= %s H=%s [%s]%s P=%s%s%s S=%llu%s for%s", env.id,
		          s->mail.path[0] ? s->mail.path : "<>", smtpd_helo_or_none(s), s->peer->ip,
		          port, protocol_name(s, 0), prx, prdr, (unsigned long long)env.size,
		          smtpd_spf_log_field(s), fors);
	}
	dmarc_session_finish(&s->dmarc, env.id, s->mail.path, s->peer->ip, s->msg.p, s->msg.len);
	smtpd_reply(s, "250 2.0.0 OK id=%s", env.id);
	goto out;
tempfail:
	log_write("H=%s [%s]:%u spool write failed: %s", smtpd_helo_or_none(s), s->peer->ip,
	          s->peer->port, e.text);
	smtpd_reply(s, "451 4.3.0 Local error in processing, message not accepted");
out:
	spool_message_abort(m);
	acl_result_free(&res);
	smtpd_transaction_reset(s);
}

int
smtp_check_data(struct session *s, const char *args)
{
	(void)args;
	if (s->bdat_active) {
		smtpd_synprot_error(s, 503, "5.5.1 DATA not allowed after BDAT");
		return -1;
	}
	return 0;
}

/*
 * Read the message up to CRLF.CRLF (RFC 5321 4.1.1.4).  Only that exact
 * sequence ends it: "\n.\n", "\r.\r" and friends are data, and a message
 * holding a bare CR or LF is refused after its end, so that no other server
 * can see a different end of data in the same octets (SMTP smuggling).
 */
void
smtp_do_data(struct session *s, const char *args)
{
	char line[TEXT_LINE_MAX + 3]; /* one octet over the limit shows a long line */
	struct err e = { 0 };
	struct smtp_data_state ds;

	(void)args;
	smtpd_reply(s, "354 Enter message, ending with \".\" on a line by itself");
	smtpd_flush(s);
	smtp_data_begin(&ds);
	for (;;) {
		size_t len, keep;
		const char *data;
		int too_long;
		enum bio_status st =
		        bio_read_line(&s->io, line, sizeof line - 1, &len, &too_long, &e);

		if (st != BIO_OK) {
			smtpd_close(s,
			            st == BIO_TIMEOUT ? "timeout during DATA" : "lost during DATA");
			if (st == BIO_TIMEOUT)
				smtpd_reply(s,
				            "421 4.4.2 %s Timeout during DATA: closing connection",
				            s->cfg->primary_hostname);
			smtpd_transaction_reset(s);
			return;
		}
		if (smtp_data_line(&ds, line, len, too_long, &data, &keep))
			break;
		smtpd_message_append(s, data, keep);
	}
	if (ds.bare) {
		smtpd_refuse(s, 554,
		             "5.6.0 Message contains a bare CR or LF (RFC 5321 2.3.8): refused");
		smtpd_transaction_reset(s);
		return;
	}
	if (ds.nul) {
		smtpd_refuse(s, 554, "5.6.0 Message contains a NUL octet (RFC 5322 2.1): refused");
		smtpd_transaction_reset(s);
		return;
	}
	if (ds.long_line) {
		smtpd_refuse(
		        s, 554,
		        "5.6.0 Message has a line longer than 1000 octets (RFC 5321 4.5.3.1.6)");
		smtpd_transaction_reset(s);
		return;
	}
	message_finish(s);
}

int
smtp_check_bdat(struct session *s, const char *args)
{
	(void)s, (void)args;
	return 0; /* the chunk must be read before any refusal: see smtp_do_bdat */
}

/* The message's last chunk is in: the DATA content rules, then finish. */
static void
bdat_last(struct session *s)
{
	smtp_chunk_end(&s->bdat_scan);
	if (s->bdat_scan.bare) {
		/* RFC 5321 2.3.8 holds whatever the framing: a message that
		 * another hop could read differently is never relayed, even
		 * when the next hop is sent DATA (SMTP smuggling). */
		smtpd_refuse(s, 554,
		             "5.6.0 Message contains a bare CR or LF (RFC 5321 2.3.8): refused");
		smtpd_transaction_reset(s);
		return;
	}
	if (s->bdat_scan.nul) {
		smtpd_refuse(s, 554, "5.6.0 Message contains a NUL octet (RFC 5322 2.1): refused");
		smtpd_transaction_reset(s);
		return;
	}
	if (s->bdat_scan.long_line) {
		/* As DATA: the next hop may be sent DATA, and 4.5.3.1.6 binds it. */
		smtpd_refuse(
		        s, 554,
		        "5.6.0 Message has a line longer than 1000 octets (RFC 5321 4.5.3.1.6)");
		smtpd_transaction_reset(s);
		return;
	}
	message_finish(s);
}

/* RFC 3030: BDAT <size> [LAST]; the chunk is read whatever the verdict,
 * in any state, so that its octets are never taken as commands. */
void
smtp_do_bdat(struct session *s, const char *args)
{
	uint64_t size;
	int last, keep;
	struct err e = { 0 };
	char buf[8192];

	if (smtp_parse_bdat(args, &size, &last) != 0) {
		/* Without a size the stream cannot be resynchronised. */
		smtpd_refuse(s, 501, "5.5.4 Syntax error in BDAT: closing connection");
		smtpd_close(s, "bad BDAT");
		return;
	}
	keep = (s->state & ST_RCPT) && !s->bdat_failed;
	while (size > 0) {
		size_t take = size < sizeof buf ? (size_t)size : sizeof buf;
		enum bio_status st = bio_read_exact(&s->io, buf, take, &e);

		if (st != BIO_OK) {
			smtpd_close(s,
			            st == BIO_TIMEOUT ? "timeout during BDAT" : "lost during BDAT");
			/* Like DATA: the client is told why (RFC 5321 4.2.2 421). */
			if (st == BIO_TIMEOUT)
				smtpd_reply(s,
				            "421 4.4.2 %s Timeout during BDAT: closing connection",
				            s->cfg->primary_hostname);
			smtpd_transaction_reset(s);
			return;
		}
		if (keep) {
			smtpd_message_append(s, buf, take);
			smtp_chunk_scan(&s->bdat_scan, buf, take);
		}
		size -= take;
	}
	if (s->state & (ST_REFUSED | ST_CONNECTED)) {
		/* The texts of the command table's state check (smtpd.c). */
		smtpd_synprot_error(
		        s, 503,
		        s->state & ST_REFUSED
		                ? "5.5.1 Connection refused by policy: only QUIT is accepted"
		                : "5.5.1 EHLO or HELO first");
		return;
	}
	if (!keep) {
		/* RFC 3030 2: refuse, the chunk already discarded. */
		if (s->state & (ST_MAIL | ST_RCPT))
			s->bdat_failed = 1;
		smtpd_synprot_error(s, s->state & ST_MAIL ? 554 : 503,
		                    s->state & ST_MAIL ? "5.5.1 No valid recipients"
		                                       : "5.5.1 MAIL first");
		if (last)
			smtpd_transaction_reset(s);
		return;
	}
	s->bdat_active = 1;
	if (!last) {
		smtpd_reply(s, "250 2.0.0 %llu octets received", (unsigned long long)s->msg.len);
		return;
	}
	bdat_last(s);
}
