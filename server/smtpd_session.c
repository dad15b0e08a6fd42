/*
 * smtpd_session.c - the life of one inbound SMTP session (smtpd.h): the
 * connect ACL and the greeting, the command loop with its idle timeout and
 * deadlines (smtp_command_timeout, smtp_data_timeout, smtp_session_timeout), pipelining
 * synchronization (RFC 2920 3.1), and the session-end log line.  What each
 * command does is smtpd.c's command table; this file never decides a
 * command's reply.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "log.h"
#include "smtpd_int.h"
#include "tls.h"
#include "version.h"

volatile sig_atomic_t smtpd_drain_cut;

/* ---- pipelining synchronization (RFC 2920 3.1) ---------------------------------- */

/* Input arrived that the client was not allowed to send yet: 554 and close. */
int
smtpd_sync_violation(struct session *s, const char *why)
{
	char peek[120];
	unsigned char raw[64];
	const unsigned char *in = s->io.rbuf + s->io.rpos;
	size_t n = bio_buffered(&s->io);

	if (!bio_input_pending(&s->io, 0))
		return 0;
	if (n == 0 && s->tls == NULL) {
		/* Nothing read yet (input before the greeting): show the first
		 * octets waiting on the socket, without consuming them. */
		ssize_t r = recv(s->io.fd, raw, sizeof raw, MSG_PEEK | MSG_DONTWAIT);
		if (r > 0) {
			in = raw;
			n = (size_t)r;
		}
	}
	/* Control octets as escapes (\r, \n, \xHH), as everywhere in the log. */
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < sizeof peek; i++) {
		unsigned char c = in[i];
		if (c == '\r' || c == '\n') {
			peek[o++] = '\\';
			peek[o++] = c == '\r' ? 'r' : 'n';
		} else if (c < 32 || c >= 127) {
			o += (size_t)snprintf(peek + o, sizeof peek - o, "\\x%02x", c);
		} else {
			peek[o++] = (char)c;
		}
	}
	peek[o] = '\0';
	(void)smtpd_event(s, "smtp:fail:protocol", "554 5.5.0 SMTP synchronization error", NULL);
	log_write("SMTP protocol synchronization error (%s): rejected connection from H=%s [%s]:%u "
	          "next input=\"%s\"",
	          why, smtpd_helo_or_none(s), s->peer->ip, s->peer->port, peek);
	smtpd_reply(s, "554 5.5.0 SMTP synchronization error");
	smtpd_close(s, "synchronization error");
	return 1;
}

const char *
smtpd_deadline_reason(const struct session *s, unsigned long long cmd_deadline)
{
	unsigned long long now = bio_now_ms() + 5, first = 0;
	const char *why = NULL;

	/* The earliest deadline that has passed caused the timeout. */
	if (s->session_deadline != 0 && now >= s->session_deadline) {
		first = s->session_deadline;
		why = "session deadline passed (smtp_session_timeout)";
	}
	if (s->msg_deadline != 0 && now >= s->msg_deadline &&
	    (first == 0 || s->msg_deadline < first)) {
		first = s->msg_deadline;
		why = "message deadline passed (smtp_data_timeout)";
	}
	if (cmd_deadline != 0 && now >= cmd_deadline && (first == 0 || cmd_deadline < first))
		why = "command deadline passed (smtp_command_timeout)";
	return why;
}

/* acl_smtp_connect, then the greeting.  0: go on; -1: the session is over. */
static int
session_greet(struct session *s)
{
	struct acl_result res = { 0 };
	enum acl_verdict v = smtpd_run_acl(s, s->cfg->acl_smtp_connect, ACL_ACCEPT, &res);
	int rc = 0;

	if (v == ACL_DEFER || v == ACL_DROP) {
		/* 421 (or a drop) ends the session at once. */
		smtpd_refuse_by_acl(s, v, &res, 554, 421, "Administrative prohibition");
		smtpd_flush(s);
		log_write(
		        "SMTP connection from (none) [%s]:%u closed (refused by acl_smtp_connect)",
		        s->peer->ip, s->peer->port);
		rc = -1;
	} else if (v == ACL_DENY) {
		/* RFC 5321 3.1: a 554 greeting, then wait for QUIT, 503 to the rest. */
		smtpd_refuse_by_acl(s, v, &res, 554, 421, "Administrative prohibition");
		smtpd_set_state(s, ST_REFUSED);
		s->close_reason = NULL;
	} else if (smtpd_sync_violation(s, "input sent without waiting for greeting")) {
		/* RFC 5321 4.3.1 / 2920 3.1: a client that talks before the greeting. */
		smtpd_flush(s);
		log_write("SMTP connection from (none) [%s]:%u closed (synchronization error)",
		          s->peer->ip, s->peer->port);
		rc = -1;
	} else {
		smtpd_reply(s, "220 %s ESMTP refmta %s ready", s->cfg->primary_hostname,
		            REFMTA_VERSION);
	}
	acl_result_free(&res);
	return rc;
}

/* Read one command line, check its framing, and dispatch it. */
static void
session_command(struct session *s)
{
	char line[CMD_LINE_MAX + 3];
	size_t len;
	int too_long;
	struct err e = { 0 };
	enum bio_status st;
	int passed;
	unsigned long long deadline =
	        s->cfg->smtp_command_timeout ? bio_now_ms() + 1000ULL * s->cfg->smtp_command_timeout
	                                     : 0;

	/* The command deadline (smtp_command_timeout) bounds the whole line,
	 * between BDAT chunks the message deadline too. */
	if (s->msg_deadline != 0 && (deadline == 0 || s->msg_deadline < deadline))
		deadline = s->msg_deadline;
	bio_set_deadline(&s->io, deadline);
	st = bio_read_line(&s->io, line, sizeof line - 1, &len, &too_long, &e);
	passed = s->io.deadline_passed;
	bio_set_deadline(&s->io, 0);
	if (st == BIO_TIMEOUT) {
		const char *why = passed ? smtpd_deadline_reason(s, deadline) : NULL;

		smtpd_reply(s, "421 4.4.2 %s Timeout: closing connection",
		            s->cfg->primary_hostname);
		smtpd_close(s, why != NULL ? why : "timeout");
		return;
	}
	if (st != BIO_OK) {
		smtpd_close(s, "lost");
		return;
	}
	snprintf(s->command, sizeof s->command, "%s", line);
	s->command[strcspn(s->command, "\r\n")] = '\0';
	if (too_long || len > CMD_LINE_MAX) {
		smtpd_synprot_error(s, 500, "5.5.2 Line too long (RFC 5321 4.5.3.1.4: 512 octets)");
		return;
	}
	if (len < 2 || line[len - 2] != '\r' || line[len - 1] != '\n') {
		/* RFC 5321 2.3.8: commands end with CRLF, nothing else. */
		smtpd_synprot_error(s, 500, "5.5.2 Syntax error: command not terminated by CRLF");
		return;
	}
	line[len - 2] = '\0';
	if (memchr(line, '\r', len - 2) != NULL || memchr(line, '\0', len - 2) != NULL) {
		smtpd_synprot_error(s, 500, "5.5.2 Syntax error: control character in command");
		return;
	}
	smtpd_dispatch(s, line);
}

void
smtpd_session(const struct config *cfg, struct tls_ctx *tls, int fd, const struct smtpd_peer *peer)
{
	static struct session s; /* large buffers: not on the stack */

	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.tls_ctx = tls;
	s.peer = peer;
	s.state = ST_CONNECTED; /* where every session starts */
	s.spf.cfg = cfg;
	s.spf.ip = peer->ip;
	s.spf.helo = s.helo;
	spf_session_reset(&s.spf); /* "Authentication-Results: HOST; none" until a check */
	s.dmarc.cfg = cfg;
	bio_init(&s.io, fd);
	/* At most 24 days: SO_RCVTIMEO in milliseconds fits an unsigned. */
	bio_set_idle(&s.io,
	             1000U * (cfg->smtp_receive_timeout == 0        ? 300
	                      : cfg->smtp_receive_timeout > 2000000 ? 2000000
	                                                            : cfg->smtp_receive_timeout));
	/* smtp_session_timeout: every read and write of the session ends by
	 * then (bio_set_limit), the greeting and a STARTTLS handshake too. */
	if (cfg->smtp_session_timeout != 0) {
		s.session_deadline = bio_now_ms() + 1000ULL * cfg->smtp_session_timeout;
		bio_set_limit(&s.io, s.session_deadline);
	}
	smtpd_host_lookup(&s); /* before the connect ACL, as in Exim */
	/* tcp:connect: a non-empty result drops the connection, no greeting. */
	if (smtpd_event(&s, "tcp:connect", NULL, NULL)) {
		log_write("SMTP connection from [%s]:%u dropped by event_action (tcp:connect)",
		          peer->ip, peer->port);
		(void)smtpd_event(&s, "tcp:close", NULL, NULL);
		return;
	}
	if (session_greet(&s) != 0) {
		(void)smtpd_event(&s, "tcp:close", NULL, NULL);
		smtpd_transaction_reset(&s); /* headers a connect ACL's warn added */
		expand_store_clear(&s.acl_c);
		spf_session_free(&s.spf);
		dmarc_session_reset(&s.dmarc);
		return;
	}
	while (!s.closing) {
		/* Answer a whole pipelined group at once (RFC 2920 3.2), but never
		 * hold replies back while waiting for more input: a group may end
		 * in a command that has only partly arrived. */
		if (!bio_has_line(&s.io))
			smtpd_flush(&s);
		if (s.closing)
			break;
		session_command(&s);
	}
	if (smtpd_drain_cut && s.close_reason != NULL && strncmp(s.close_reason, "lost", 4) == 0) {
		/* The cut ended a read (EOF), not a QUIT.  RFC 5321 3.8: the
		 * server is going down: 421, then close.  A message not yet
		 * acknowledged was not stored (no 250 went out). */
		smtpd_reply(&s, "421 4.3.2 %s Service shutting down: closing connection",
		            cfg->primary_hostname);
		smtpd_close(&s, "shut down at the drain timeout (smtp_drain_timeout)");
	}
	smtpd_flush(&s);
	if (s.tls != NULL)
		tls_conn_shutdown(s.tls);
	log_write("SMTP connection from %s [%s]:%u%s%s%s closed (%s)", smtpd_helo_or_none(&s),
	          peer->ip, peer->port, s.tls ? " (TLS " : "",
	          s.tls ? tls_conn_info(s.tls)->version : "", s.tls ? ")" : "",
	          s.close_reason ? s.close_reason : "lost");
	(void)smtpd_event(&s, "tcp:close", NULL, NULL);
	smtpd_transaction_reset(&s);
	expand_store_clear(&s.acl_c);
	spf_session_free(&s.spf);
	tls_conn_free(s.tls);
	s.tls = NULL;
}
