/*
 * smtpd.c - one inbound SMTP session (smtpd.h).
 *
 * Read the command table first: it is the state machine.  Every refusal is
 * sent by a smtp_check_*() function, every effect happens in smtp_do_*().
 * The session must never execute input the client was not allowed to send
 * yet (RFC 2920 3.1 synchronization, RFC 3207 4.2 STARTTLS injection), and
 * must never answer 250 to DATA before the message is durable (spool.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "acl.h"
#include "bio.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "match.h"
#include "smtp_parse.h"
#include "smtpd.h"
#include "spool.h"
#include "tls.h"
#include "version.h"

#define CMD_LINE_MAX 512   /* RFC 5321 4.5.3.1.4, CRLF included */
#define TEXT_LINE_MAX SMTP_TEXT_LINE_MAX

/* Session states, as bits so the command table can list several. */
enum {
	ST_CONNECTED = 1 << 0, /* greeted, no (valid) EHLO/HELO yet */
	ST_READY = 1 << 1,     /* after EHLO/HELO, no transaction */
	ST_MAIL = 1 << 2,      /* MAIL accepted */
	ST_RCPT = 1 << 3,      /* at least one RCPT accepted */
	ST_REFUSED = 1 << 4,   /* acl_smtp_connect said 554: only QUIT (RFC 5321 3.1) */
};
#define ST_ANY (ST_CONNECTED | ST_READY | ST_MAIL | ST_RCPT)

/* Command flags: what dispatch() asks of a command before its check runs. */
enum {
	CMD_ENDS_GROUP = 1 << 0, /* RFC 2920 3.1: must be the last command of a pipelined group */
	CMD_NO_ARGS = 1 << 1,    /* takes no arguments (501 otherwise) */
	CMD_NO_SYNC = 1 << 2,    /* never checked for synchronization (STARTTLS: the
	                          * plaintext pipelined after it is discarded instead) */
	CMD_BEFORE_TLS = 1 << 3, /* only without TLS (503 "TLS already active") */
};

struct session {
	const struct config *cfg;
	struct bio io;
	struct tls_ctx *tls_ctx;
	struct tls_conn *tls;
	const struct smtpd_peer *peer;
	unsigned state;
	int esmtp;                  /* the client said EHLO */
	char helo[256];             /* as given ("" none) */
	unsigned unknown_commands;
	unsigned synprot_errors;
	int closing;                /* end the session after this reply */
	const char *close_reason;   /* for the log */
	char command[CMD_LINE_MAX + 1]; /* current line, for $smtp_command and logs */

	/* The transaction (RFC 5321 3.3). */
	struct smtp_mail_args mail;
	struct spool_rcpt *rcpts;
	size_t nrcpts;
	struct strlist add_headers;  /* from ACLs, added above the message */
	char *msg;                   /* the message as received, unstuffed */
	size_t msg_len, msg_cap;
	int msg_too_big;
	int bdat_active;             /* BDAT chunks received, LAST not yet */
	int bdat_failed;             /* a BDAT chunk was refused: refuse the rest */

	/* What a check found, for the action that follows it: the HELO name
	 * being checked (its ACL sees it as $sender_helo_name), the MAIL
	 * command's parameters, the RCPT being checked ($local_part, $domain). */
	char helo_checked[256];
	int mail_checked;
	struct smtp_rcpt_args rcpt;
	char cur_local_part[SMTP_LOCAL_PART_MAX + 3];
	char cur_domain[SMTP_DOMAIN_MAX + 1];
	char cur_recipient[SMTP_PATH_MAX + 1];
};

/*
 * Test hook: when set, called on every state change (smtpd_set_state).
 * The daemon never sets it; nothing is logged, so transcripts do not change.
 */
void (*smtpd_state_trace)(const char *from, const char *to);

static const char *
state_name(unsigned st)
{
	switch (st) {
	case ST_CONNECTED: return "connected";
	case ST_READY: return "ready";
	case ST_MAIL: return "mail";
	case ST_RCPT: return "rcpt";
	case ST_REFUSED: return "refused";
	default: return "?";
	}
}

/* Every state change goes through here. */
static void
smtpd_set_state(struct session *s, unsigned next)
{
	if (smtpd_state_trace != NULL && next != s->state)
		smtpd_state_trace(state_name(s->state), state_name(next));
	s->state = next;
}

/* End the session after the reply in hand; `reason` is logged. */
static void
smtpd_close(struct session *s, const char *reason)
{
	s->closing = 1;
	s->close_reason = reason;
}

/* ---- replies and logging ------------------------------------------------------ */

static void
reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
reply(struct session *s, const char *fmt, ...)
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

static void
flush(struct session *s)
{
	struct err e = { 0 };

	if (bio_flush(&s->io, &e) != BIO_OK && !s->closing)
		smtpd_close(s, "lost (write failed)");
}

static const char *
helo_or_none(const struct session *s)
{
	if (s->helo_checked[0])
		return s->helo_checked;
	return s->helo[0] ? s->helo : "(none)";
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
static void
refuse(struct session *s, int code, const char *text)
{
	char cmd[256];

	reply(s, "%d %s", code, text);
	command_for_log(s, cmd, sizeof cmd);
	/* Before any command (acl_smtp_connect) it is the connection that is refused. */
	log_write("H=%s [%s]:%u rejected %s: %d %s", helo_or_none(s), s->peer->ip, s->peer->port,
	          cmd[0] ? cmd : "connection", code, text);
}

/*
 * Syntax and sequence errors count towards smtp_max_synprot_errors.  The
 * one that reaches the limit gets the 421 as its only reply (RFC 5321 4.2:
 * every command gets exactly one reply).
 */
static void
synprot_error(struct session *s, int code, const char *text)
{
	char why[600];

	if (++s->synprot_errors >= s->cfg->smtp_max_synprot_errors && !s->closing) {
		snprintf(why, sizeof why, "4.7.0 %s Too many syntax or protocol errors (last: %d %s)",
		         s->cfg->primary_hostname, code, text);
		refuse(s, 421, why);
		smtpd_close(s, "too many syntax or protocol errors");
		return;
	}
	refuse(s, code, text);
}

/* ---- variables for ACLs ------------------------------------------------------- */

static const char *
session_var(void *arg, const char *name)
{
	struct session *s = arg;
	static char num[32];
	const struct tls_info *ti = s->tls != NULL ? tls_conn_info(s->tls) : NULL;

	if (strcmp(name, "sender_host_address") == 0)
		return s->peer->ip;
	if (strcmp(name, "sender_host_port") == 0) {
		snprintf(num, sizeof num, "%u", s->peer->port);
		return num;
	}
	if (strcmp(name, "received_ip_address") == 0)
		return s->peer->local_ip;
	if (strcmp(name, "received_port") == 0) {
		snprintf(num, sizeof num, "%u", s->peer->local_port);
		return num;
	}
	if (strcmp(name, "sender_helo_name") == 0)
		return s->helo_checked[0] ? s->helo_checked : s->helo;
	if (strcmp(name, "sender_address") == 0)
		return s->mail.path;
	if (strcmp(name, "local_part") == 0)
		return s->cur_local_part;
	if (strcmp(name, "domain") == 0)
		return s->cur_domain;
	if (strcmp(name, "recipients_count") == 0) {
		snprintf(num, sizeof num, "%zu", s->nrcpts);
		return num;
	}
	if (strcmp(name, "message_size") == 0) {
		snprintf(num, sizeof num, "%zu", s->msg_len);
		return num;
	}
	if (strcmp(name, "primary_hostname") == 0)
		return s->cfg->primary_hostname;
	if (strcmp(name, "smtp_command") == 0)
		return s->command;
	if (strcmp(name, "tls_in_cipher") == 0)
		return ti ? ti->cipher : "";
	if (strcmp(name, "tls_in_ver") == 0)
		return ti ? ti->version : "";
	if (strcmp(name, "tls_in_sni") == 0)
		return ti ? ti->sni : "";
	if (strcmp(name, "tls_in_certificate_verified") == 0)
		return ti && ti->verify == TLS_VERIFY_OK ? "1" : "0";
	if (strcmp(name, "tls_in_verify") == 0)
		return ti ? tls_verify_word(ti->verify) : "";
	return NULL;
}

static enum acl_verdict
run_acl(struct session *s, const struct acl *acl, enum acl_verdict dflt, struct acl_result *res)
{
	struct acl_env env = {
		.vars = { .var = session_var, .arg = s },
		.host_address = s->peer->ip,
		.domain = s->cur_domain[0] ? s->cur_domain : NULL,
		.local_part = s->cur_domain[0] ? s->cur_local_part : NULL,
		.sender = (s->mail_checked || (s->state & (ST_MAIL | ST_RCPT))) ? s->mail.path : NULL,
		.recipient = s->cur_recipient[0] ? s->cur_recipient : NULL,
		.encrypted = s->tls != NULL,
	};
	enum acl_verdict v = acl_eval(acl, dflt, &env, res);

	for (size_t i = 0; i < res->logs.n; i++)
		log_write("H=%s [%s]:%u Warning: %s", helo_or_none(s), s->peer->ip, s->peer->port,
		          res->logs.v[i]);
	for (size_t i = 0; i < res->headers.n; i++)
		if (strlist_push(&s->add_headers, res->headers.v[i]) != 0)
			break;
	return v;
}

/*
 * Turn a non-accept verdict into the reply.  `code5`/`code4` and the
 * default text are the command's; an ACL "message" replaces the text.
 */
static void
refuse_by_acl(struct session *s, enum acl_verdict v, const struct acl_result *res, int code5,
              int code4, const char *dflt_text)
{
	char text[600];
	const char *msg = res->message != NULL ? res->message : dflt_text;
	int code = v == ACL_DEFER ? code4 : code5;
	int has_status = isdigit((unsigned char)msg[0]) && msg[1] == '.';

	snprintf(text, sizeof text, "%s%s", has_status ? "" : (v == ACL_DEFER ? "4.7.1 " : "5.7.1 "),
	         msg);
	refuse(s, code, text);
	if (res->log_message != NULL)
		log_write("H=%s [%s]:%u %s", helo_or_none(s), s->peer->ip, s->peer->port,
		          res->log_message);
	if (v == ACL_DROP)
		smtpd_close(s, "dropped by ACL");
}

/* ---- the transaction ---------------------------------------------------------- */

static void
transaction_reset(struct session *s)
{
	for (size_t i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i].address);
		free(s->rcpts[i].orcpt);
	}
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	memset(&s->mail, 0, sizeof s->mail);
	strlist_free(&s->add_headers);
	free(s->msg);
	s->msg = NULL;
	s->msg_len = s->msg_cap = 0;
	s->msg_too_big = 0;
	s->bdat_active = s->bdat_failed = 0;
	s->cur_local_part[0] = s->cur_domain[0] = s->cur_recipient[0] = '\0';
	s->mail_checked = 0;
	if (s->state & (ST_MAIL | ST_RCPT))
		smtpd_set_state(s, ST_READY);
}

/* Append message octets, remembering (not storing) what exceeds the limit. */
static void
message_append(struct session *s, const char *data, size_t n)
{
	if (s->msg_too_big || s->msg_len + n > s->cfg->message_size_limit) {
		s->msg_too_big = 1;
		return;
	}
	if (s->msg_len + n > s->msg_cap) {
		size_t cap = s->msg_cap ? s->msg_cap : 16384;
		while (cap < s->msg_len + n)
			cap *= 2;
		char *grown = realloc(s->msg, cap);
		if (grown == NULL) {
			s->msg_too_big = 1;
			return;
		}
		s->msg = grown;
		s->msg_cap = cap;
	}
	memcpy(s->msg + s->msg_len, data, n);
	s->msg_len += n;
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
	char fors[2048];
	size_t fl = 0;

	if (s->msg_too_big) {
		refuse(s, 552, "5.3.4 Message size exceeds fixed maximum message size");
		goto out;
	}
	v = run_acl(s, s->cfg->acl_smtp_data, ACL_ACCEPT, &res);
	if (v != ACL_ACCEPT) {
		refuse_by_acl(s, v, &res, 550, 451, "Administrative prohibition");
		goto out;
	}

	m = spool_message_begin(s->cfg->spool_directory, &e);
	if (m == NULL || write_received(s, m, &e) != 0 ||
	    spool_message_write(m, s->msg, s->msg_len, &e) != 0)
		goto tempfail;
	env.sender = s->mail.path;
	env.rcpts = s->rcpts;
	env.nrcpts = s->nrcpts;
	env.ret = strcmp(s->mail.ret, "FULL") == 0 ? DSN_RET_FULL
	          : strcmp(s->mail.ret, "HDRS") == 0 ? DSN_RET_HDRS : DSN_RET_UNSET;
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
	if (s->tls != NULL) {
		const struct tls_info *ti = tls_conn_info(s->tls);
		log_write("%s <= %s H=%s [%s]:%u P=%s X=%s:%s CV=%s S=%llu for%s", env.id,
		          s->mail.path[0] ? s->mail.path : "<>", helo_or_none(s), s->peer->ip,
		          s->peer->port, protocol_name(s, 0), ti->version, ti->cipher,
		          tls_verify_word(ti->verify), (unsigned long long)env.size, fors);
	} else {
		log_write("%s <= %s H=%s [%s]:%u P=%s S=%llu for%s", env.id,
		          s->mail.path[0] ? s->mail.path : "<>", helo_or_none(s), s->peer->ip,
		          s->peer->port, protocol_name(s, 0), (unsigned long long)env.size, fors);
	}
	reply(s, "250 2.0.0 OK id=%s", env.id);
	goto out;
tempfail:
	log_write("H=%s [%s]:%u spool write failed: %s", helo_or_none(s), s->peer->ip,
	          s->peer->port, e.text);
	reply(s, "451 4.3.0 Local error in processing, message not accepted");
out:
	spool_message_abort(m);
	acl_result_free(&res);
	transaction_reset(s);
}

/* ---- pipelining synchronization (RFC 2920 3.1) ---------------------------------- */

/* Input arrived that the client was not allowed to send yet: 554 and close. */
static int
sync_violation(struct session *s, const char *why)
{
	char peek[120];
	size_t n = bio_buffered(&s->io);

	if (!bio_input_pending(&s->io, 0))
		return 0;
	/* Control octets as escapes (\r, \n, \xHH), as everywhere in the log. */
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < sizeof peek; i++) {
		unsigned char c = s->io.rbuf[s->io.rpos + i];
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
	log_write("SMTP protocol synchronization error (%s): rejected connection from H=%s [%s]:%u "
	          "next input=\"%s\"",
	          why, helo_or_none(s), s->peer->ip, s->peer->port, peek);
	reply(s, "554 5.5.0 SMTP synchronization error");
	smtpd_close(s, "synchronization error");
	return 1;
}

/* ---- the commands: checks (refuse) and actions (do) ----------------------------- */

/*
 * A check decides and sends the refusal (0: go on, -1: refused); it may
 * leave what it parsed in the session for its action, and nothing else.
 * An action does the command and sends its reply.
 */

static int
tls_offered(const struct session *s)
{
	return s->tls_ctx != NULL && s->tls == NULL &&
	       match_host(s->cfg->tls_advertise_hosts, s->peer->ip);
}

static int
smtp_check_helo(struct session *s, const char *args)
{
	struct acl_result res = { 0 };
	enum acl_verdict v;

	if (*args == '\0') {
		synprot_error(s, 501, "5.5.4 Syntax error: a domain or address literal is required");
		return -1;
	}
	if (!smtp_valid_helo(args)) {
		synprot_error(s, 501, "5.5.4 Syntax error: invalid domain or address literal");
		return -1;
	}
	/* The ACL (and its log lines) see the name being checked. */
	snprintf(s->helo_checked, sizeof s->helo_checked, "%s", args);
	v = run_acl(s, s->cfg->acl_smtp_helo, ACL_ACCEPT, &res);
	if (v != ACL_ACCEPT) {
		refuse_by_acl(s, v, &res, 550, 450, "Administrative prohibition");
		/* A refused name also makes the session forget the one before. */
		s->helo_checked[0] = s->helo[0] = '\0';
		acl_result_free(&res);
		return -1;
	}
	acl_result_free(&res);
	return 0;
}

/* The name the check accepted becomes the session's. */
static void
helo_accept(struct session *s, int esmtp)
{
	transaction_reset(s); /* RFC 5321 4.1.4: EHLO and HELO reset the transaction */
	memcpy(s->helo, s->helo_checked, sizeof s->helo);
	s->helo_checked[0] = '\0';
	s->esmtp = esmtp;
	smtpd_set_state(s, ST_READY);
}

static void
capa_size(const struct session *s, char *buf, size_t len)
{
	snprintf(buf, len, " %llu", (unsigned long long)s->cfg->message_size_limit);
}

/*
 * The EHLO keywords, in the order they are sent.  `offered` NULL: always;
 * `param` writes the text after the keyword (with its leading space).
 */
static const struct smtpd_capability {
	const char *keyword;
	int (*offered)(const struct session *s);
	void (*param)(const struct session *s, char *buf, size_t len);
} smtpd_capabilities[] = {
	{ "SIZE", NULL, capa_size },       /* RFC 1870 */
	{ "8BITMIME", NULL, NULL },        /* RFC 6152 */
	{ "PIPELINING", NULL, NULL },      /* RFC 2920 */
	{ "DSN", NULL, NULL },             /* RFC 3461 */
	{ "ENHANCEDSTATUSCODES", NULL, NULL }, /* RFC 2034 */
	{ "CHUNKING", NULL, NULL },        /* RFC 3030 */
	{ "STARTTLS", tls_offered, NULL }, /* RFC 3207 */
	{ "HELP", NULL, NULL },
};
#define NCAPABILITIES (sizeof smtpd_capabilities / sizeof smtpd_capabilities[0])

static int
capability_offered(const struct session *s, size_t i)
{
	return smtpd_capabilities[i].offered == NULL || smtpd_capabilities[i].offered(s);
}

static void
smtp_do_ehlo(struct session *s, const char *args)
{
	size_t last = 0;

	(void)args;
	helo_accept(s, 1);
	reply(s, "250-%s Hello %s [%s]", s->cfg->primary_hostname, s->helo, s->peer->ip);
	for (size_t i = 0; i < NCAPABILITIES; i++)
		if (capability_offered(s, i))
			last = i;
	for (size_t i = 0; i < NCAPABILITIES; i++) {
		char param[64] = "";

		if (!capability_offered(s, i))
			continue;
		if (smtpd_capabilities[i].param != NULL)
			smtpd_capabilities[i].param(s, param, sizeof param);
		reply(s, "250%c%s%s", i == last ? ' ' : '-', smtpd_capabilities[i].keyword, param);
	}
}

static void
smtp_do_helo(struct session *s, const char *args)
{
	(void)args;
	helo_accept(s, 0);
	reply(s, "250 %s Hello %s [%s]", s->cfg->primary_hostname, s->helo, s->peer->ip);
}

static int
smtp_check_mail(struct session *s, const char *args)
{
	struct acl_result res = { 0 };
	char why[200];
	enum acl_verdict v;
	int code;

	if (s->cfg->tls_required_hosts != NULL && s->tls == NULL &&
	    match_host(s->cfg->tls_required_hosts, s->peer->ip)) {
		refuse(s, 530, "5.7.0 Must issue a STARTTLS command first");
		return -1;
	}
	if (strncasecmp(args, "FROM:", 5) != 0) {
		synprot_error(s, 501, "5.5.4 Syntax error: MAIL FROM:<address> expected");
		return -1;
	}
	code = smtp_parse_mail(args + 5, &s->mail, why, sizeof why);
	if (code == 0 && !s->esmtp && (s->mail.has_size || s->mail.body[0] || s->mail.ret[0] ||
	                               s->mail.has_envid)) {
		code = 555;
		snprintf(why, sizeof why, "5.5.4 Parameters need EHLO");
	}
	if (code != 0) {
		memset(&s->mail, 0, sizeof s->mail);
		synprot_error(s, code, why);
		return -1;
	}
	/* RFC 1870 6.1: the declared size is refused before any data. */
	if (s->mail.has_size && s->mail.size > s->cfg->message_size_limit) {
		memset(&s->mail, 0, sizeof s->mail);
		refuse(s, 552, "5.3.4 Message size exceeds fixed maximum message size");
		return -1;
	}
	s->mail_checked = 1; /* $sender_address and "senders" in the ACL */
	v = run_acl(s, s->cfg->acl_smtp_mail, ACL_ACCEPT, &res);
	if (v != ACL_ACCEPT) {
		refuse_by_acl(s, v, &res, 550, 450, "Administrative prohibition");
		acl_result_free(&res);
		transaction_reset(s); /* also what its "warn" statements added */
		return -1;
	}
	acl_result_free(&res);
	return 0;
}

static void
smtp_do_mail(struct session *s, const char *args)
{
	(void)args;
	s->mail_checked = 0;
	smtpd_set_state(s, ST_MAIL);
	reply(s, "250 2.1.0 OK");
}

/* Fill $local_part, $domain and the recipient the ACL sees from s->rcpt. */
static void
rcpt_for_acl(struct session *s)
{
	const char *path = s->rcpt.path;
	char written[SMTP_LOCAL_PART_MAX + 3];

	if (smtp_split_mailbox(path, written, sizeof written, s->cur_domain,
	                       sizeof s->cur_domain) == 0) {
		/* $local_part is the meaning, without quotes (RFC 5322 3.2.4). */
		if (smtp_unquote_local_part(written, s->cur_local_part, sizeof s->cur_local_part) != 0)
			snprintf(s->cur_local_part, sizeof s->cur_local_part, "%s", written);
	} else {
		/* "<postmaster>" (RFC 5321 4.5.1): our own domain. */
		snprintf(s->cur_local_part, sizeof s->cur_local_part, "%s", path);
		snprintf(s->cur_domain, sizeof s->cur_domain, "%s", s->cfg->primary_hostname);
	}
	/* The recipient as given (quotes kept: a quoted local part may need them). */
	snprintf(s->cur_recipient, sizeof s->cur_recipient, "%s", path);
	if (strchr(path, '@') == NULL)
		snprintf(s->cur_recipient, sizeof s->cur_recipient, "%s@%s", path, s->cur_domain);
}

static void
rcpt_forget(struct session *s)
{
	s->cur_local_part[0] = s->cur_domain[0] = s->cur_recipient[0] = '\0';
}

static int
smtp_check_rcpt(struct session *s, const char *args)
{
	struct acl_result res = { 0 };
	char why[200];
	enum acl_verdict v;
	int code;

	if (strncasecmp(args, "TO:", 3) != 0) {
		synprot_error(s, 501, "5.5.4 Syntax error: RCPT TO:<address> expected");
		return -1;
	}
	code = smtp_parse_rcpt(args + 3, &s->rcpt, why, sizeof why);
	if (code == 0 && !s->esmtp && (s->rcpt.notify || s->rcpt.orcpt[0])) {
		code = 555;
		snprintf(why, sizeof why, "5.5.4 Parameters need EHLO");
	}
	if (code != 0) {
		synprot_error(s, code, why);
		return -1;
	}
	/* RFC 5321 4.5.3.1.8: at least 100; beyond our limit, 452 (3.3). */
	if (s->nrcpts >= s->cfg->recipients_max) {
		refuse(s, 452, "4.5.3 Too many recipients");
		return -1;
	}
	rcpt_for_acl(s);
	v = run_acl(s, s->cfg->acl_smtp_rcpt, ACL_DENY, &res);
	if (v != ACL_ACCEPT) {
		refuse_by_acl(s, v, &res, 550, 450,
		              s->cfg->acl_smtp_rcpt == NULL ? "relay not permitted"
		                                            : "Administrative prohibition");
		acl_result_free(&res);
		rcpt_forget(s);
		return -1;
	}
	acl_result_free(&res);
	return 0;
}

/* Add the recipient the check accepted. */
static void
smtp_do_rcpt(struct session *s, const char *args)
{
	struct spool_rcpt *grown = realloc(s->rcpts, (s->nrcpts + 1) * sizeof *grown);

	(void)args;
	if (grown == NULL) {
		rcpt_forget(s);
		refuse(s, 452, "4.3.0 Out of memory");
		return;
	}
	s->rcpts = grown;
	s->rcpts[s->nrcpts] = (struct spool_rcpt){
		.address = strdup(s->cur_recipient),
		.orcpt = s->rcpt.orcpt[0] ? strdup(s->rcpt.orcpt) : NULL,
		.notify = s->rcpt.notify,
	};
	s->nrcpts++;
	rcpt_forget(s);
	smtpd_set_state(s, ST_RCPT);
	reply(s, "250 2.1.5 OK");
}

static int
smtp_check_data(struct session *s, const char *args)
{
	(void)args;
	if (s->bdat_active) {
		synprot_error(s, 503, "5.5.1 DATA not allowed after BDAT");
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
static void
smtp_do_data(struct session *s, const char *args)
{
	char line[TEXT_LINE_MAX + 3]; /* one octet over the limit shows a long line */
	struct err e = { 0 };
	struct smtp_data_state ds;

	(void)args;
	reply(s, "354 Enter message, ending with \".\" on a line by itself");
	flush(s);
	smtp_data_begin(&ds);
	for (;;) {
		size_t len, keep;
		const char *data;
		int too_long;
		enum bio_status st = bio_read_line(&s->io, line, sizeof line - 1, &len, &too_long, &e);

		if (st != BIO_OK) {
			smtpd_close(s, st == BIO_TIMEOUT ? "timeout during DATA" : "lost during DATA");
			if (st == BIO_TIMEOUT)
				reply(s, "421 4.4.2 %s Timeout during DATA: closing connection",
				      s->cfg->primary_hostname);
			transaction_reset(s);
			return;
		}
		if (smtp_data_line(&ds, line, len, too_long, &data, &keep))
			break;
		message_append(s, data, keep);
	}
	if (ds.bare) {
		refuse(s, 554, "5.6.0 Message contains a bare CR or LF (RFC 5321 2.3.8): refused");
		transaction_reset(s);
		return;
	}
	if (ds.long_line) {
		refuse(s, 554, "5.6.0 Message has a line longer than 1000 octets (RFC 5321 4.5.3.1.6)");
		transaction_reset(s);
		return;
	}
	message_finish(s);
}

static int
smtp_check_bdat(struct session *s, const char *args)
{
	(void)s, (void)args;
	return 0; /* the chunk must be read before any refusal: see smtp_do_bdat */
}

/* RFC 3030: BDAT <size> [LAST]; the chunk is read whatever the verdict. */
static void
smtp_do_bdat(struct session *s, const char *args)
{
	uint64_t size;
	int last;
	struct err e = { 0 };
	char buf[8192];

	if (smtp_parse_bdat(args, &size, &last) != 0) {
		/* Without a size the stream cannot be resynchronised. */
		refuse(s, 501, "5.5.4 Syntax error in BDAT: closing connection");
		smtpd_close(s, "bad BDAT");
		return;
	}
	while (size > 0) {
		size_t take = size < sizeof buf ? (size_t)size : sizeof buf;
		if (bio_read_exact(&s->io, buf, take, &e) != BIO_OK) {
			smtpd_close(s, "lost during BDAT");
			transaction_reset(s);
			return;
		}
		if (!s->bdat_failed)
			message_append(s, buf, take);
		size -= take;
	}
	if (!(s->state & ST_RCPT) || s->bdat_failed) {
		/* RFC 3030 2: refuse, the chunk already discarded. */
		s->bdat_failed = 1;
		synprot_error(s, s->state & ST_MAIL ? 554 : 503,
		              s->state & ST_MAIL ? "5.5.1 No valid recipients" : "5.5.1 MAIL first");
		if (last)
			transaction_reset(s);
		return;
	}
	s->bdat_active = 1;
	if (!last) {
		reply(s, "250 2.0.0 %llu octets received", (unsigned long long)s->msg_len);
		return;
	}
	message_finish(s);
}

static void
smtp_do_rset(struct session *s, const char *args)
{
	(void)args;
	transaction_reset(s);
	reply(s, "250 2.0.0 OK");
}

static void
smtp_do_noop(struct session *s, const char *args)
{
	(void)args;
	reply(s, "250 2.0.0 OK");
}

static void
smtp_do_quit(struct session *s, const char *args)
{
	(void)args;
	reply(s, "221 2.0.0 %s closing connection", s->cfg->primary_hostname);
	smtpd_close(s, "QUIT");
}

static int
smtp_check_vrfy(struct session *s, const char *args)
{
	if (*args == '\0') {
		synprot_error(s, 501, "5.5.4 Syntax error: VRFY needs an argument");
		return -1;
	}
	return 0;
}

static void
smtp_do_vrfy(struct session *s, const char *args)
{
	(void)args;
	/* RFC 5321 3.5.3: 252 when we will not verify but will accept. */
	reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
}

static int
smtp_check_starttls(struct session *s, const char *args)
{
	(void)args;
	if (!tls_offered(s)) {
		synprot_error(s, 503, "5.5.1 STARTTLS not offered");
		return -1;
	}
	return 0;
}

static void
smtp_do_starttls(struct session *s, const char *args)
{
	struct tls_conn *c;
	struct err e = { 0 };
	size_t dropped;

	(void)args;
	reply(s, "220 2.0.0 Ready to start TLS");
	flush(s);
	/* RFC 3207 4.2 / CVE-2011-0411: plaintext pipelined after STARTTLS
	 * must never be executed inside the TLS session. */
	dropped = bio_discard_input(&s->io);
	if (dropped > 0)
		log_write("H=%s [%s]:%u discarded %zu octets of plaintext pipelined after STARTTLS",
		          helo_or_none(s), s->peer->ip, s->peer->port, dropped);
	c = tls_conn_new(s->tls_ctx, s->io.fd, NULL, &e);
	if (c == NULL || tls_conn_handshake(c, &e) != TLS_OK) {
		log_write("H=%s [%s]:%u TLS error on connection (%s): %s", helo_or_none(s),
		          s->peer->ip, s->peer->port, s->tls_ctx->be->name, e.text);
		tls_conn_free(c);
		smtpd_close(s, "TLS handshake failed");
		return;
	}
	s->tls = c;
	bio_use_tls(&s->io, c);
	/* RFC 3207 4.2: forget everything learnt before TLS; EHLO again. */
	transaction_reset(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	smtpd_set_state(s, ST_CONNECTED);
}

/*
 * The command table: the SMTP state machine in one place.  `states` are
 * where the command is allowed; elsewhere it gets 503 with `bad_state`
 * (`bad_state_mail` instead while a MAIL has no recipient yet).  HELP
 * lists the commands in this order, those with an `offered` test only
 * when it holds.
 */
struct smtp_cmd {
	const char *name;
	unsigned states;
	unsigned flags;
	const char *bad_state;
	const char *bad_state_mail;
	int (*offered)(const struct session *s);
	int (*check)(struct session *s, const char *args);
	void (*act)(struct session *s, const char *args);
};

static void smtp_do_help(struct session *s, const char *args);

static const struct smtp_cmd smtp_cmds[] = {
	{ "EHLO", ST_ANY, CMD_ENDS_GROUP, NULL, NULL, NULL, smtp_check_helo, smtp_do_ehlo },
	{ "HELO", ST_ANY, CMD_ENDS_GROUP, NULL, NULL, NULL, smtp_check_helo, smtp_do_helo },
	{ "MAIL", ST_READY, 0, "5.5.1 Nested MAIL command", NULL, NULL, smtp_check_mail,
	  smtp_do_mail },
	{ "RCPT", ST_MAIL | ST_RCPT, 0, "5.5.1 MAIL first", NULL, NULL, smtp_check_rcpt,
	  smtp_do_rcpt },
	{ "DATA", ST_RCPT, CMD_ENDS_GROUP | CMD_NO_ARGS, "5.5.1 MAIL first",
	  "5.5.1 No valid recipients", NULL, smtp_check_data, smtp_do_data },
	{ "BDAT", ST_MAIL | ST_RCPT, 0, "5.5.1 MAIL first", NULL, NULL, smtp_check_bdat,
	  smtp_do_bdat },
	{ "RSET", ST_ANY, CMD_NO_ARGS, NULL, NULL, NULL, NULL, smtp_do_rset },
	{ "NOOP", ST_ANY, CMD_ENDS_GROUP, NULL, NULL, NULL, NULL, smtp_do_noop },
	{ "QUIT", ST_ANY | ST_REFUSED, CMD_ENDS_GROUP | CMD_NO_ARGS, NULL, NULL, NULL, NULL,
	  smtp_do_quit },
	{ "VRFY", ST_ANY, CMD_ENDS_GROUP, NULL, NULL, NULL, smtp_check_vrfy, smtp_do_vrfy },
	{ "HELP", ST_ANY, CMD_ENDS_GROUP, NULL, NULL, NULL, NULL, smtp_do_help },
	{ "STARTTLS", ST_ANY, CMD_NO_ARGS | CMD_NO_SYNC | CMD_BEFORE_TLS, NULL, NULL, tls_offered,
	  smtp_check_starttls, smtp_do_starttls },
};
#define NCMDS (sizeof smtp_cmds / sizeof smtp_cmds[0])

static void
smtp_do_help(struct session *s, const char *args)
{
	char list[200];
	size_t n = 0;

	(void)args;
	for (size_t i = 0; i < NCMDS && n < sizeof list; i++)
		if (smtp_cmds[i].offered == NULL || smtp_cmds[i].offered(s))
			n += (size_t)snprintf(list + n, sizeof list - n, " %s", smtp_cmds[i].name);
	reply(s, "214-2.0.0 Commands supported:");
	reply(s, "214 2.0.0%s", list);
}

/* The 503 text for a command out of sequence. */
static const char *
bad_state_text(const struct session *s, const struct smtp_cmd *cmd)
{
	if (s->state == ST_REFUSED)
		return "5.5.1 Connection refused by policy: only QUIT is accepted";
	if (s->state == ST_CONNECTED)
		return "5.5.1 EHLO or HELO first";
	if (s->state == ST_MAIL && cmd->bad_state_mail != NULL)
		return cmd->bad_state_mail;
	return cmd->bad_state ? cmd->bad_state : "5.5.1 Bad sequence of commands";
}

/* Not a command we know: 500, and the one that reaches the limit gets the
 * 421 as its one reply. */
static void
smtp_do_unknown(struct session *s)
{
	char why[300];

	if (++s->unknown_commands >= s->cfg->smtp_max_unknown_commands) {
		snprintf(why, sizeof why, "4.7.0 %s Too many unrecognized commands",
		         s->cfg->primary_hostname);
		refuse(s, 421, why);
		smtpd_close(s, "too many unrecognized commands");
		return;
	}
	refuse(s, 500, "5.5.1 Unrecognized command");
}

static const struct smtp_cmd *
smtp_cmd_lookup(const char *line, size_t n)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strlen(smtp_cmds[i].name) == n && strncasecmp(line, smtp_cmds[i].name, n) == 0)
			return &smtp_cmds[i];
	return NULL;
}

/* What the table says, in this order; then the command's check and action. */
static void
dispatch(struct session *s, char *line)
{
	size_t n = strcspn(line, " ");
	const struct smtp_cmd *cmd = smtp_cmd_lookup(line, n);
	const char *args = line + n;

	while (*args == ' ')
		args++;
	if (cmd == NULL) {
		smtp_do_unknown(s);
		return;
	}
	/* RFC 2920 3.1: nothing may follow a group-ending command, and
	 * without PIPELINING (HELO) nothing may follow any command. */
	if (((cmd->flags & CMD_ENDS_GROUP) || !s->esmtp) && !(cmd->flags & CMD_NO_SYNC) &&
	    sync_violation(s, (cmd->flags & CMD_ENDS_GROUP) ? "next input sent too soon"
	                                                    : "pipelining was not advertised"))
		return;
	if ((cmd->flags & CMD_NO_ARGS) && *args != '\0') {
		synprot_error(s, 501, "5.5.4 Syntax error: no parameters allowed");
		return;
	}
	if (!(cmd->states & s->state)) {
		synprot_error(s, 503, bad_state_text(s, cmd));
		return;
	}
	if ((cmd->flags & CMD_BEFORE_TLS) && s->tls != NULL) {
		synprot_error(s, 503, "5.5.1 TLS already active");
		return;
	}
	if (cmd->check != NULL && cmd->check(s, args) != 0)
		return;
	cmd->act(s, args);
}

static void
set_timeouts(int fd, unsigned seconds)
{
	struct timeval tv = { .tv_sec = seconds ? seconds : 300 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void
smtpd_session(const struct config *cfg, struct tls_ctx *tls, int fd, const struct smtpd_peer *peer)
{
	static struct session s; /* large buffers: not on the stack */
	struct acl_result res = { 0 };
	struct err e = { 0 };
	enum acl_verdict v;

	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.tls_ctx = tls;
	s.peer = peer;
	s.state = ST_CONNECTED; /* where every session starts */
	bio_init(&s.io, fd);
	set_timeouts(fd, cfg->smtp_receive_timeout);

	v = run_acl(&s, cfg->acl_smtp_connect, ACL_ACCEPT, &res);
	if (v == ACL_DEFER || v == ACL_DROP) {
		/* 421 (or a drop) ends the session at once. */
		refuse_by_acl(&s, v, &res, 554, 421, "Administrative prohibition");
		acl_result_free(&res);
		flush(&s);
		log_write("SMTP connection from (none) [%s]:%u closed (refused by acl_smtp_connect)",
		          peer->ip, peer->port);
		return;
	}
	if (v == ACL_DENY) {
		/* RFC 5321 3.1: a 554 greeting, then wait for QUIT, 503 to the rest. */
		refuse_by_acl(&s, v, &res, 554, 421, "Administrative prohibition");
		smtpd_set_state(&s, ST_REFUSED);
		s.close_reason = NULL;
	} else {
		/* RFC 5321 4.3.1 / 2920 3.1: a client that talks before the greeting. */
		if (sync_violation(&s, "input sent without waiting for greeting")) {
			acl_result_free(&res);
			flush(&s);
			log_write("SMTP connection from (none) [%s]:%u closed (synchronization error)",
			          peer->ip, peer->port);
			return;
		}
		reply(&s, "220 %s ESMTP refmta %s ready", cfg->primary_hostname, REFMTA_VERSION);
	}
	acl_result_free(&res);

	while (!s.closing) {
		char line[CMD_LINE_MAX + 3];
		size_t len;
		int too_long;

		/* Answer a whole pipelined group at once (RFC 2920 3.2), but never
		 * hold replies back while waiting for more input: a group may end
		 * in a command that has only partly arrived. */
		if (!bio_has_line(&s.io))
			flush(&s);
		if (s.closing)
			break;
		enum bio_status st = bio_read_line(&s.io, line, sizeof line - 1, &len, &too_long, &e);
		if (st == BIO_TIMEOUT) {
			reply(&s, "421 4.4.2 %s Timeout: closing connection", cfg->primary_hostname);
			s.close_reason = "timeout";
			break;
		}
		if (st != BIO_OK) {
			s.close_reason = "lost";
			break;
		}
		snprintf(s.command, sizeof s.command, "%s", line);
		s.command[strcspn(s.command, "\r\n")] = '\0';
		if (too_long || len > CMD_LINE_MAX) {
			synprot_error(&s, 500, "5.5.2 Line too long (RFC 5321 4.5.3.1.4: 512 octets)");
			continue;
		}
		if (len < 2 || line[len - 2] != '\r' || line[len - 1] != '\n') {
			/* RFC 5321 2.3.8: commands end with CRLF, nothing else. */
			synprot_error(&s, 500, "5.5.2 Syntax error: command not terminated by CRLF");
			continue;
		}
		line[len - 2] = '\0';
		if (memchr(line, '\r', len - 2) != NULL || memchr(line, '\0', len - 2) != NULL) {
			synprot_error(&s, 500, "5.5.2 Syntax error: control character in command");
			continue;
		}
		dispatch(&s, line);
	}
	flush(&s);
	if (s.tls != NULL)
		tls_conn_shutdown(s.tls);
	log_write("SMTP connection from %s [%s]:%u%s%s%s closed (%s)", helo_or_none(&s), peer->ip,
	          peer->port, s.tls ? " (TLS " : "", s.tls ? tls_conn_info(s.tls)->version : "",
	          s.tls ? ")" : "", s.close_reason ? s.close_reason : "lost");
	transaction_reset(&s);
	tls_conn_free(s.tls);
	s.tls = NULL;
}
