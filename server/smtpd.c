/*
 * smtpd.c - one inbound SMTP session (smtpd.h).
 *
 * Read the command table first: it is the state machine.  Every refusal is
 * sent by a smtp_check_*() function, every effect happens in smtp_do_*().
 * The session must never execute input the client was not allowed to send
 * yet (RFC 2920 3.1 synchronization, RFC 3207 4.2 STARTTLS injection), and
 * must never answer 250 to DATA before the message is durable (spool.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "config.h"
#include "log.h"
#include "match.h"
#include "smtpd_int.h"
#include "tls.h"

/* Command flags: what dispatch() asks of a command before its check runs. */
enum {
	CMD_ENDS_GROUP = 1 << 0, /* RFC 2920 3.1: must be the last command of a pipelined group */
	CMD_NO_ARGS = 1 << 1,    /* takes no arguments (501 otherwise) */
	CMD_NO_SYNC = 1 << 2,    /* never checked for synchronization (STARTTLS: the
	                          * plaintext pipelined after it is discarded instead) */
	CMD_BEFORE_TLS = 1 << 3, /* only without TLS (503 "TLS already active") */
	CMD_MESSAGE = 1 << 4,    /* reads message content: runs under the message deadline */
};

/* Nothing is logged on a state change, so transcripts do not change. */
void (*smtpd_state_trace)(const char *from, const char *to);

static const char *
state_name(unsigned st)
{
	switch (st) {
	case ST_CONNECTED:
		return "connected";
	case ST_READY:
		return "ready";
	case ST_MAIL:
		return "mail";
	case ST_RCPT:
		return "rcpt";
	case ST_REFUSED:
		return "refused";
	default:
		return "?";
	}
}

void
smtpd_set_state(struct session *s, unsigned next)
{
	if (smtpd_state_trace != NULL && next != s->state)
		smtpd_state_trace(state_name(s->state), state_name(next));
	s->state = next;
}

void
smtpd_close(struct session *s, const char *reason)
{
	s->closing = 1;
	s->close_reason = reason;
}

/* ---- the transaction ---------------------------------------------------------- */

void
smtpd_transaction_reset(struct session *s)
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
	expand_store_clear(&s->acl_m);
	buf_free(&s->msg);
	s->msg_too_big = 0;
	s->bdat_active = s->bdat_failed = 0;
	smtp_chunk_begin(&s->bdat_scan);
	s->cur_local_part[0] = s->cur_domain[0] = s->cur_recipient[0] = '\0';
	s->mail_checked = 0;
	if (s->state & (ST_MAIL | ST_RCPT))
		smtpd_set_state(s, ST_READY);
}

/* ---- the commands: checks (refuse) and actions (do) ----------------------------- */

/*
 * A check decides and sends the refusal (0: go on, -1: refused); it may
 * leave what it parsed in the session for its action, and nothing else.
 * An action does the command and sends its reply.
 */

static int
smtp_check_helo(struct session *s, const char *args)
{
	struct acl_result res = { 0 };
	enum acl_verdict v;

	if (*args == '\0') {
		smtpd_synprot_error(s, 501,
		                    "5.5.4 Syntax error: a domain or address literal is required");
		return -1;
	}
	if (!smtp_valid_helo(args)) {
		smtpd_synprot_error(s, 501,
		                    "5.5.4 Syntax error: invalid domain or address literal");
		return -1;
	}
	/* The ACL (and its log lines) see the name being checked. */
	snprintf(s->helo_checked, sizeof s->helo_checked, "%s", args);
	v = smtpd_run_acl(s, s->cfg->acl_smtp_helo, ACL_ACCEPT, &res);
	if (v != ACL_ACCEPT) {
		smtpd_refuse_by_acl(s, v, &res, 550, 450, "Administrative prohibition");
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
	smtpd_transaction_reset(s); /* RFC 5321 4.1.4: EHLO and HELO reset the transaction */
	memcpy(s->helo, s->helo_checked, sizeof s->helo);
	s->helo_checked[0] = '\0';
	s->esmtp = esmtp;
	smtpd_set_state(s, ST_READY);
}

/* draft-hall-prdr-00 2: offered only when prdr_enable says so. */
static int
capa_prdr(const struct session *s)
{
	return s->cfg->prdr_enable;
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
	{ "SIZE", NULL, capa_size },             /* RFC 1870 */
	{ "8BITMIME", NULL, NULL },              /* RFC 6152 */
	{ "PIPELINING", NULL, NULL },            /* RFC 2920 */
	{ "DSN", NULL, NULL },                   /* RFC 3461 */
	{ "ENHANCEDSTATUSCODES", NULL, NULL },   /* RFC 2034 */
	{ "CHUNKING", NULL, NULL },              /* RFC 3030 */
	{ "STARTTLS", smtpd_tls_offered, NULL }, /* RFC 3207 */
	{ "PRDR", capa_prdr, NULL },             /* draft-hall-prdr-00 */
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
	smtpd_reply(s, "250-%s Hello %s [%s]", s->cfg->primary_hostname, s->helo, s->peer->ip);
	for (size_t i = 0; i < NCAPABILITIES; i++)
		if (capability_offered(s, i))
			last = i;
	for (size_t i = 0; i < NCAPABILITIES; i++) {
		char param[64] = "";

		if (!capability_offered(s, i))
			continue;
		if (smtpd_capabilities[i].param != NULL)
			smtpd_capabilities[i].param(s, param, sizeof param);
		smtpd_reply(s, "250%c%s%s", i == last ? ' ' : '-', smtpd_capabilities[i].keyword,
		            param);
	}
}

static void
smtp_do_helo(struct session *s, const char *args)
{
	(void)args;
	helo_accept(s, 0);
	smtpd_reply(s, "250 %s Hello %s [%s]", s->cfg->primary_hostname, s->helo, s->peer->ip);
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
		smtpd_refuse(s, 530, "5.7.0 Must issue a STARTTLS command first");
		return -1;
	}
	if (strncasecmp(args, "FROM:", 5) != 0) {
		smtpd_synprot_error(s, 501, "5.5.4 Syntax error: MAIL FROM:<address> expected");
		return -1;
	}
	code = smtp_parse_mail(args + 5, &s->mail, why, sizeof why);
	if (code == 0 && !s->esmtp &&
	    (s->mail.has_size || s->mail.body[0] || s->mail.ret[0] || s->mail.has_envid ||
	     s->mail.prdr)) {
		code = 555;
		snprintf(why, sizeof why, "5.5.4 Parameters need EHLO");
	}
	/* RFC 5321 4.1.1.11: a parameter not offered is not recognised (555). */
	if (code == 0 && s->mail.prdr && !capa_prdr(s)) {
		code = 555;
		snprintf(why, sizeof why, "5.5.4 Unsupported parameter PRDR");
	}
	if (code != 0) {
		memset(&s->mail, 0, sizeof s->mail);
		smtpd_synprot_error(s, code, why);
		return -1;
	}
	/* RFC 1870 6.1: the declared size is refused before any data. */
	if (s->mail.has_size && s->mail.size > s->cfg->message_size_limit) {
		memset(&s->mail, 0, sizeof s->mail);
		smtpd_refuse(s, 552, "5.3.4 Message size exceeds fixed maximum message size");
		return -1;
	}
	s->mail_checked = 1; /* $sender_address and "senders" in the ACL */
	v = smtpd_run_acl(s, s->cfg->acl_smtp_mail, ACL_ACCEPT, &res);
	if (v != ACL_ACCEPT) {
		smtpd_refuse_by_acl(s, v, &res, 550, 450, "Administrative prohibition");
		acl_result_free(&res);
		smtpd_transaction_reset(s); /* also what its "warn" statements added */
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
	smtpd_reply(s, "250 2.1.0 OK");
}

/* $local_part, $domain and the recipient the ACL sees (smtpd_int.h). */
void
smtpd_rcpt_for_acl(struct session *s, const char *path)
{
	char written[SMTP_LOCAL_PART_MAX + 3];

	if (smtp_split_mailbox(path, written, sizeof written, s->cur_domain,
	                       sizeof s->cur_domain) == 0) {
		/* $local_part is the meaning, without quotes (RFC 5322 3.2.4). */
		if (smtp_unquote_local_part(written, s->cur_local_part, sizeof s->cur_local_part) !=
		    0)
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

/* RFC 5321 4.5.1: "postmaster" (any case) at a local domain, or bare (then
 * at primary_hostname, which must be local too), is always accepted:
 * acl_smtp_rcpt is not asked unless postmaster_bypass_acl = false. */
static int
rcpt_is_local_postmaster(const struct session *s)
{
	if (!s->cfg->postmaster_bypass_acl || strcasecmp(s->cur_local_part, "postmaster") != 0)
		return 0;
	for (size_t i = 0; i < s->cfg->local_domains.n; i++)
		if (strcasecmp(s->cur_domain, s->cfg->local_domains.v[i]) == 0)
			return 1;
	return 0;
}

void
smtpd_rcpt_forget(struct session *s)
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
		smtpd_synprot_error(s, 501, "5.5.4 Syntax error: RCPT TO:<address> expected");
		return -1;
	}
	code = smtp_parse_rcpt(args + 3, &s->rcpt, why, sizeof why);
	if (code == 0 && !s->esmtp && (s->rcpt.notify || s->rcpt.orcpt[0])) {
		code = 555;
		snprintf(why, sizeof why, "5.5.4 Parameters need EHLO");
	}
	if (code != 0) {
		smtpd_synprot_error(s, code, why);
		return -1;
	}
	/* RFC 5321 4.5.3.1.8: at least 100; beyond our limit, 452 (3.3). */
	if (s->nrcpts >= s->cfg->recipients_max) {
		smtpd_refuse(s, 452, "4.5.3 Too many recipients");
		return -1;
	}
	smtpd_rcpt_for_acl(s, s->rcpt.path);
	if (rcpt_is_local_postmaster(s))
		return 0;
	v = smtpd_run_acl(s, s->cfg->acl_smtp_rcpt, ACL_DENY, &res);
	if (v != ACL_ACCEPT) {
		smtpd_refuse_by_acl(s, v, &res, 550, 450,
		                    s->cfg->acl_smtp_rcpt == NULL ? "relay not permitted"
		                                                  : "Administrative prohibition");
		acl_result_free(&res);
		smtpd_rcpt_forget(s);
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
		smtpd_rcpt_forget(s);
		smtpd_refuse(s, 452, "4.3.0 Out of memory");
		return;
	}
	s->rcpts = grown;
	s->rcpts[s->nrcpts] = (struct spool_rcpt){
		.address = strdup(s->cur_recipient),
		.orcpt = s->rcpt.orcpt[0] ? strdup(s->rcpt.orcpt) : NULL,
		.notify = s->rcpt.notify,
	};
	s->nrcpts++;
	smtpd_rcpt_forget(s);
	smtpd_set_state(s, ST_RCPT);
	smtpd_reply(s, "250 2.1.5 OK");
}

static void
smtp_do_rset(struct session *s, const char *args)
{
	(void)args;
	smtpd_transaction_reset(s);
	smtpd_reply(s, "250 2.0.0 OK");
}

static void
smtp_do_noop(struct session *s, const char *args)
{
	(void)args;
	smtpd_reply(s, "250 2.0.0 OK");
}

static void
smtp_do_quit(struct session *s, const char *args)
{
	(void)args;
	smtpd_reply(s, "221 2.0.0 %s closing connection", s->cfg->primary_hostname);
	smtpd_close(s, "QUIT");
}

static int
smtp_check_vrfy(struct session *s, const char *args)
{
	if (*args == '\0') {
		smtpd_synprot_error(s, 501, "5.5.4 Syntax error: VRFY needs an argument");
		return -1;
	}
	return 0;
}

static void
smtp_do_vrfy(struct session *s, const char *args)
{
	(void)args;
	/* RFC 5321 3.5.3: 252 when we will not verify but will accept. */
	smtpd_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
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
	{ "DATA", ST_RCPT, CMD_ENDS_GROUP | CMD_NO_ARGS | CMD_MESSAGE, "5.5.1 MAIL first",
	  "5.5.1 No valid recipients", NULL, smtp_check_data, smtp_do_data },
	/* Any state: the chunk is read before any refusal (RFC 3030 2). */
	{ "BDAT", ST_ANY | ST_REFUSED, CMD_MESSAGE, NULL, NULL, NULL, smtp_check_bdat,
	  smtp_do_bdat },
	{ "RSET", ST_ANY, CMD_NO_ARGS, NULL, NULL, NULL, NULL, smtp_do_rset },
	{ "NOOP", ST_ANY, CMD_ENDS_GROUP, NULL, NULL, NULL, NULL, smtp_do_noop },
	{ "QUIT", ST_ANY | ST_REFUSED, CMD_ENDS_GROUP | CMD_NO_ARGS, NULL, NULL, NULL, NULL,
	  smtp_do_quit },
	{ "VRFY", ST_ANY, CMD_ENDS_GROUP, NULL, NULL, NULL, smtp_check_vrfy, smtp_do_vrfy },
	{ "HELP", ST_ANY, CMD_ENDS_GROUP, NULL, NULL, NULL, NULL, smtp_do_help },
	{ "STARTTLS", ST_ANY, CMD_NO_ARGS | CMD_NO_SYNC | CMD_BEFORE_TLS, NULL, NULL,
	  smtpd_tls_offered, smtp_check_starttls, smtp_do_starttls },
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
	smtpd_reply(s, "214-2.0.0 Commands supported:");
	smtpd_reply(s, "214 2.0.0%s", list);
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
		smtpd_refuse(s, 421, why);
		smtpd_close(s, "too many unrecognized commands");
		return;
	}
	smtpd_refuse(s, 500, "5.5.1 Unrecognized command");
}

static const struct smtp_cmd *
smtp_cmd_lookup(const char *line, size_t n)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strlen(smtp_cmds[i].name) == n && strncasecmp(line, smtp_cmds[i].name, n) == 0)
			return &smtp_cmds[i];
	return NULL;
}

/*
 * The message deadline (smtp_data_timeout): the whole DATA phase, or every
 * BDAT chunk from the first to LAST, must arrive by then, however the
 * octets trickle in (the idle timeout restarts on each one).
 */
static void
message_deadline_start(struct session *s)
{
	/* 0 (a configuration built by hand, not read): no deadline */
	if (s->msg_deadline == 0 && s->cfg->smtp_data_timeout != 0)
		s->msg_deadline = bio_now_ms() + 1000ULL * s->cfg->smtp_data_timeout;
	bio_set_deadline(&s->io, s->msg_deadline);
}

static void
message_deadline_end(struct session *s)
{
	if (s->io.deadline_passed && s->closing)
		s->close_reason = "message deadline passed (smtp_data_timeout)";
	bio_set_deadline(&s->io, 0);
	if (!s->bdat_active)
		s->msg_deadline = 0; /* the message is over (or refused): next one starts afresh */
}

/* What the table says, in this order; then the command's check and action. */
void
smtpd_dispatch(struct session *s, char *line)
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
	    smtpd_sync_violation(s, (cmd->flags & CMD_ENDS_GROUP)
	                                    ? "next input sent too soon"
	                                    : "pipelining was not advertised"))
		return;
	if ((cmd->flags & CMD_NO_ARGS) && *args != '\0') {
		smtpd_synprot_error(s, 501, "5.5.4 Syntax error: no parameters allowed");
		return;
	}
	if (!(cmd->states & s->state)) {
		smtpd_synprot_error(s, 503, bad_state_text(s, cmd));
		return;
	}
	if ((cmd->flags & CMD_BEFORE_TLS) && s->tls != NULL) {
		smtpd_synprot_error(s, 503, "5.5.1 TLS already active");
		return;
	}
	if (cmd->check != NULL && cmd->check(s, args) != 0)
		return;
	if (cmd->flags & CMD_MESSAGE)
		message_deadline_start(s);
	cmd->act(s, args);
	if (cmd->flags & CMD_MESSAGE)
		message_deadline_end(s);
}
