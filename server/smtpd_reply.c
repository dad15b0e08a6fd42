/*
 * smtpd_reply.c - what a session says and logs: replies, refusals with
 * their "rejected" log lines, the synprot error count, and ACL verdicts
 * turned into replies (smtpd_int.h).
 *
 * Only this layer logs a refusal; the checks that decide it never log.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "acl.h"
#include "config.h"
#include "log.h"
#include "smtpd_int.h"
#include "tls.h"

/* ---- replies and logging ------------------------------------------------------ */

void
smtpd_reply(struct session *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof buf - 3)
		n = (int)sizeof buf - 3;
	buf[n++] = '\r';
	buf[n++] = '\n';
	(void)bio_write(&s->io, buf, (size_t)n, NULL);
}

void
smtpd_flush(struct session *s)
{
	struct err e = { 0 };
	enum bio_status st;
	const char *why;

	if (!s->closing && s->session_deadline != 0 && bio_now_ms() >= s->session_deadline) {
		/* The session's time is up (smtp_session_timeout) with replies in
		 * hand, a 250 for a message just stored among them: they still go
		 * out, then 421 and close (never a stored message unanswered). */
		smtpd_reply(s, "421 4.4.2 %s Timeout: closing connection",
		            s->cfg->primary_hostname);
		smtpd_close(s, "session deadline passed (smtp_session_timeout)");
	}
	if (s->closing) {
		/* The last words (a 421 after a deadline) still go out, within
		 * the idle timeout (bio.h: the write deadline). */
		bio_set_deadline(&s->io, 0);
		bio_set_limit(&s->io, 0);
	}
	st = bio_flush(&s->io, &e);
	if (st == BIO_OK || s->closing)
		return;
	why = s->io.deadline_passed ? smtpd_deadline_reason(s, 0) : NULL;
	smtpd_close(s, st != BIO_TIMEOUT ? "lost (write failed)"
	               : why != NULL     ? why
	                                 : "write deadline passed: the client does not read");
}

const char *
smtpd_helo_or_none(const struct session *s)
{
	static char both[sizeof s->host_name + sizeof s->helo + 4];
	const char *helo = s->helo_checked[0] ? s->helo_checked : s->helo;

	if (s->host_name[0] == '\0')
		return helo[0] ? helo : "(none)";
	/* Exim's H=: the looked-up name, then the HELO name in parentheses
	 * when it says something else. */
	if (helo[0] == '\0' || strcasecmp(helo, s->host_name) == 0)
		return s->host_name;
	snprintf(both, sizeof both, "%s (%s)", s->host_name, helo);
	return both;
}

/* The current command for logs: printable ASCII only, at most 200 octets. */
static void
command_for_log(const struct session *s, char *out, size_t len)
{
	size_t i = 0;

	for (; s->command[i] && i + 1 < len && i < 200; i++) {
		unsigned char c = (unsigned char)s->command[i];
		out[i] = (c >= 32 && c < 127) ? (char)c : '?';
	}
	out[i] = '\0';
}

/* Reply with a refusal and log it ("rejected" lines, docs/log.md). */
void
smtpd_refuse(struct session *s, int code, const char *text)
{
	char cmd[256];

	smtpd_reply(s, "%d %s", code, text);
	command_for_log(s, cmd, sizeof cmd);
	/* Before any command (acl_smtp_connect) it is the connection that is refused. */
	log_write("H=%s [%s]:%u rejected %s%s: %d %s", smtpd_helo_or_none(s), s->peer->ip,
	          s->peer->port, cmd[0] ? cmd : "connection", smtpd_spf_log_field(s), code, text);
}

/* " SPF=RESULT" when log_selector has +spf and the ACLs checked SPF in this
 * transaction (docs/spf.md, docs/log.md); "" otherwise. */
const char *
smtpd_spf_log_field(const struct session *s)
{
	static char field[32];
	const struct spf_verdict *v = spf_session_checked(&s->spf);

	if (v == NULL || !(s->cfg->log_selectors & CONFIG_LOG_SPF))
		return "";
	snprintf(field, sizeof field, " SPF=%s", spf_result_word(v->result));
	return field;
}

/*
 * Syntax and sequence errors count towards smtp_max_synprot_errors.  The
 * one that reaches the limit gets the 421 as its only reply (RFC 5321 4.2:
 * every command gets exactly one reply).
 */
void
smtpd_synprot_error(struct session *s, int code, const char *text)
{
	char why[600];

	/* 500 and 501 are syntax errors, the rest (503, 554) protocol errors. */
	snprintf(why, sizeof why, "%d %s", code, text);
	(void)smtpd_event(s, code == 500 || code == 501 ? "smtp:fail:syntax" : "smtp:fail:protocol",
	                  why, NULL);
	if (++s->synprot_errors >= s->cfg->smtp_max_synprot_errors && !s->closing) {
		snprintf(why, sizeof why,
		         "4.7.0 %s Too many syntax or protocol errors (last: %d %s)",
		         s->cfg->primary_hostname, code, text);
		smtpd_refuse(s, 421, why);
		smtpd_close(s, "too many syntax or protocol errors");
		return;
	}
	smtpd_refuse(s, code, text);
}

/* ---- ACLs --------------------------------------------------------------------- */

enum acl_verdict
smtpd_run_acl(struct session *s, const struct acl *acl, enum acl_verdict dflt,
              struct acl_result *res)
{
	struct acl_env env = {
		.vars = { .table = smtpd_vars,
		          .ntable = smtpd_nvars,
		          .ctx = s,
		          .acl_c = &s->acl_c,
		          .acl_m = &s->acl_m,
		          .authres = smtpd_authres_items },
		.host_address = s->peer->ip,
		.domain = s->cur_domain[0] ? s->cur_domain : NULL,
		.local_part = s->cur_domain[0] ? s->cur_local_part : NULL,
		.sender =
		        (s->mail_checked || (s->state & (ST_MAIL | ST_RCPT))) ? s->mail.path : NULL,
		.recipient = s->cur_recipient[0] ? s->cur_recipient : NULL,
		.encrypted = s->tls != NULL,
		.cfg = s->cfg,
		.spf = &s->spf,
		.dmarc = &s->dmarc,
	};
	enum acl_verdict v;

	/* SPF checks MAIL FROM once known (RFC 7208 2.4: <> through HELO). */
	s->spf.sender = env.sender;
	/* acl_smtp_helo: the name being checked (RFC 7208 2.3, docs/spf.md). */
	s->spf.helo = s->helo_checked[0] ? s->helo_checked : s->helo;
	v = acl_eval(acl, dflt, &env, res);
	s->spf.helo = s->helo; /* helo_checked is cleared after its ACL */
	for (size_t i = 0; i < res->controls.n; i++)
		dmarc_session_control(&s->dmarc, res->controls.v[i]);

	for (size_t i = 0; i < res->logwrites.n; i++) /* "logwrite": the text as it is */
		log_write("%s", res->logwrites.v[i]);
	for (size_t i = 0; i < res->logs.n; i++)
		log_write("H=%s [%s]:%u Warning: %s", smtpd_helo_or_none(s), s->peer->ip,
		          s->peer->port, res->logs.v[i]);
	for (size_t i = 0; i < res->headers.n; i++)
		if (strlist_push(&s->add_headers, res->headers.v[i]) != 0)
			break;
	if (res->delay_ms > 0) {
		/* ACL "delay": replies already due go out first (as Exim does
		 * under PIPELINING); input arriving meanwhile stays unread, so
		 * in acl_smtp_connect an early talker is caught by the
		 * synchronization check before the greeting. */
		struct timespec ts = { .tv_sec = res->delay_ms / 1000,
			               .tv_nsec = (long)(res->delay_ms % 1000) * 1000000L };
		smtpd_flush(s);
		(void)nanosleep(&ts, NULL); /* a signal (SIGTERM) cuts it short */
	}
	return v;
}

/*
 * Turn a non-accept verdict into the reply.  `code5`/`code4` and the
 * default text are the command's; an ACL "message" replaces the text.
 */
void
smtpd_refuse_by_acl(struct session *s, enum acl_verdict v, const struct acl_result *res, int code5,
                    int code4, const char *dflt_text)
{
	char text[600];
	const char *msg = res->message != NULL ? res->message : dflt_text;
	int code = v == ACL_DEFER ? code4 : code5;
	int has_status;

	/* An ACL that could not be evaluated (an expansion error): Exim's 451. */
	if (res->error) {
		code = 451;
		msg = "4.3.0 Temporary local problem - please try later";
	}
	/* Exim's rule: a message may start with its own reply code, used when
	 * its first digit is the verdict's ("451 4.4.3 ..." for defer: RFC
	 * 7208 8.6 asks 451 for an SPF temperror). */
	if (isdigit((unsigned char)msg[0]) && isdigit((unsigned char)msg[1]) &&
	    isdigit((unsigned char)msg[2]) && msg[3] == ' ' && msg[0] == '0' + code / 100) {
		code = (msg[0] - '0') * 100 + (msg[1] - '0') * 10 + (msg[2] - '0');
		msg += 4;
	}
	has_status = isdigit((unsigned char)msg[0]) && msg[1] == '.';

	snprintf(text, sizeof text, "%s%s",
	         has_status ? "" : (v == ACL_DEFER ? "4.7.1 " : "5.7.1 "), msg);
	smtpd_refuse(s, code, text);
	if (res->log_message != NULL)
		log_write("H=%s [%s]:%u %s", smtpd_helo_or_none(s), s->peer->ip, s->peer->port,
		          res->log_message);
	if (v == ACL_DROP)
		smtpd_close(s, "dropped by ACL");
}
