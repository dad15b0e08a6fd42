/*
 * smtpd_int.h - what the files of the SMTP server share: the session, its
 * states, and the helpers every command uses.  Not for use outside
 * smtpd*.c (and tests/smtpd_test.c); the rest of refmta sees smtpd.h.
 *
 *   smtpd.c        the command table, dispatch, the session loop,
 *                  HELO/MAIL/RCPT and the small commands
 *   smtpd_reply.c  replies, refusals and their log lines, ACL glue
 *   smtpd_data.c   DATA and BDAT, the Received header, message completion
 *   smtpd_prdr.c   PRDR's per-recipient replies (draft-hall-prdr-00)
 *   smtpd_tls.c    the server TLS context and STARTTLS
 *   smtpd_vars.c   the variables ACLs (and later events) see
 *
 * A check (smtp_check_*) decides and sends the refusal; an action
 * (smtp_do_*) makes the change and sends its reply.  Pointers in the
 * session are owned by it unless marked otherwise.
 */
#ifndef REFMTA_SMTPD_INT_H
#define REFMTA_SMTPD_INT_H

#include <stddef.h>

#include "acl.h"
#include "bio.h"
#include "buf.h"
#include "dmarc_session.h"
#include "expand.h"
#include "smtp_parse.h"
#include "smtpd.h"
#include "spf.h"
#include "spool.h"
#include "strlist.h"

#define CMD_LINE_MAX 512 /* RFC 5321 4.5.3.1.4, CRLF included */

/* Session states, as bits so the command table can list several. */
enum {
	ST_CONNECTED = 1 << 0, /* greeted, no (valid) EHLO/HELO yet */
	ST_READY = 1 << 1,     /* after EHLO/HELO, no transaction */
	ST_MAIL = 1 << 2,      /* MAIL accepted */
	ST_RCPT = 1 << 3,      /* at least one RCPT accepted */
	ST_REFUSED = 1 << 4,   /* acl_smtp_connect said 554: only QUIT (RFC 5321 3.1) */
};
#define ST_ANY (ST_CONNECTED | ST_READY | ST_MAIL | ST_RCPT)

struct session {
	const struct config *cfg; /* not owned */
	struct bio io;
	struct tls_ctx *tls_ctx; /* not owned; NULL: no STARTTLS */
	struct tls_conn *tls;
	const struct smtpd_peer *peer; /* not owned */
	unsigned state;
	int esmtp;      /* the client said EHLO */
	char helo[256]; /* as given ("" none) */
	/* host_lookup (smtpd_hostname.c): the forward-confirmed name, "" none */
	char host_name[256];
	int host_lookup_failed, host_lookup_deferred;
	unsigned unknown_commands;
	unsigned synprot_errors;
	int closing;                         /* end the session after this reply */
	const char *close_reason;            /* for the log */
	unsigned long long msg_deadline;     /* bio_now_ms() the DATA/BDAT phase must end by
	                                      * (smtp_data_timeout); 0 = not in one */
	unsigned long long session_deadline; /* bio_now_ms() the whole session must end by
	                                      * (smtp_session_timeout); 0 = none */
	char command[CMD_LINE_MAX + 1];      /* current line, for $smtp_command and logs */

	/* The transaction (RFC 5321 3.3). */
	struct smtp_mail_args mail;
	struct spool_rcpt *rcpts;
	size_t nrcpts;
	struct strlist add_headers; /* from ACLs, added above the message */
	struct buf msg;             /* the message as received, unstuffed */
	int msg_too_big;
	int bdat_active;                   /* BDAT chunks received, LAST not yet */
	int bdat_failed;                   /* a BDAT chunk was refused: refuse the rest */
	struct smtp_chunk_state bdat_scan; /* bare CR/LF, NUL across the chunks */

	/* What a check found, for the action that follows it: the HELO name
	 * being checked (its ACL sees it as $sender_helo_name), the MAIL
	 * command's parameters, the RCPT being checked ($local_part, $domain). */
	char helo_checked[256];
	int mail_checked;
	struct smtp_rcpt_args rcpt;
	char cur_local_part[SMTP_LOCAL_PART_MAX + 3];
	char cur_domain[SMTP_DOMAIN_MAX + 1];
	char cur_recipient[SMTP_PATH_MAX + 1];

	/* ACL "set" variables: $acl_c_* for the connection, $acl_m_* for the
	 * message (cleared with the transaction). */
	struct expand_store acl_c, acl_m;
	struct spf_session spf;     /* SPF of the transaction (spf.h); reset with it */
	struct dmarc_session dmarc; /* DKIM and DMARC of the message (dmarc_session.h); likewise */
};

/* Test hook: when set, called on every state change.  Never set by the daemon. */
extern void (*smtpd_state_trace)(const char *from, const char *to);

/* Every state change goes through here. */
void smtpd_set_state(struct session *s, unsigned next);
/* End the session after the reply in hand; `reason` (static) is logged. */
void smtpd_close(struct session *s, const char *reason);
/* Forget the transaction (RFC 5321 3.3); MAIL and RCPT states go back to READY. */
void smtpd_transaction_reset(struct session *s);
/* $local_part, $domain and the recipient an ACL sees, from the mailbox
 * `path` ("user@domain" or "postmaster"); smtpd_rcpt_forget() clears them. */
void smtpd_rcpt_for_acl(struct session *s, const char *path);
void smtpd_rcpt_forget(struct session *s);

/* The command table's rules, then the command's check and action (smtpd.c). */
void smtpd_dispatch(struct session *s, char *line);
/* Input arrived that the client was not allowed to send yet: log it, 554
 * and close; 1.  0 when no input is waiting (smtpd_session.c). */
int smtpd_sync_violation(struct session *s, const char *why);
/* After a timeout: the close reason naming the deadline that passed first
 * (session, message, or `cmd_deadline` when not 0), or NULL if none has
 * (the idle timeout ran out). */
const char *smtpd_deadline_reason(const struct session *s, unsigned long long cmd_deadline);

/* Queue one reply line (CRLF added); smtpd_flush() sends what is queued. */
void smtpd_reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void smtpd_flush(struct session *s);
/* The client for a log's H= field: its HELO name, "(none)" before one; with
 * a host name from host_lookup, Exim's "NAME (HELO)" (just NAME when the
 * HELO is the same or none).  The text may be in a static buffer valid until
 * the next call. */
const char *smtpd_helo_or_none(const struct session *s);

/*
 * For a client in host_lookup: look its address's name up (PTR, then
 * forward-confirmed) into s->host_name, or set s->host_lookup_failed /
 * s->host_lookup_deferred (smtpd_hostname.c).  Never fails the session.
 */
void smtpd_host_lookup(struct session *s);
/* Reply `code text` and log the refusal. */
void smtpd_refuse(struct session *s, int code, const char *text);
/* A refusal that counts towards smtp_max_synprot_errors (421 and close at the limit). */
void smtpd_synprot_error(struct session *s, int code, const char *text);
/* Run `acl` (NULL: `dflt`) with what the session knows; logs its warn lines,
 * keeps its headers.  Free `res` with acl_result_free(). */
enum acl_verdict smtpd_run_acl(struct session *s, const struct acl *acl, enum acl_verdict dflt,
                               struct acl_result *res);
/* Turn a non-accept verdict into the reply (code5 / code4 and the default text). */
void smtpd_refuse_by_acl(struct session *s, enum acl_verdict v, const struct acl_result *res,
                         int code5, int code4, const char *dflt_text);

/* " SPF=RESULT" for log lines, or "" (log_selector +spf; smtpd_reply.c). */
const char *smtpd_spf_log_field(const struct session *s);

/* smtpd_vars.c: the session's variables ($sender_host_address, ...). */
extern const struct expand_var smtpd_vars[];
/* ${authresults{ID}}'s items for session `ctx` (expand_env.authres). */
void smtpd_authres_items(const void *ctx, struct buf *b);
extern const size_t smtpd_nvars;

/* smtpd_event.c: raise a receiving-side event (docs/events.md) with the
 * main event_action; 1 when its result was non-empty.  `peercert` PEM or
 * NULL.  smtpd_event_tls_certs: tls:cert for each certificate the client
 * sent, from the top. */
int smtpd_event(struct session *s, const char *name, const char *data, const char *peercert);
void smtpd_event_tls_certs(struct session *s);

/* smtpd_data.c */
int smtp_check_data(struct session *s, const char *args);
void smtp_do_data(struct session *s, const char *args);
int smtp_check_bdat(struct session *s, const char *args);
void smtp_do_bdat(struct session *s, const char *args);

/* smtpd_prdr.c (docs/prdr.md) */
/* Does this message get PRDR's per-recipient phase (PRDR on MAIL and more
 * than one recipient)? */
int smtpd_prdr_active(const struct session *s);
/*
 * The per-recipient phase: "353", then acl_smtp_data_prdr for each
 * recipient in RCPT order with its reply (queued, not flushed).  The
 * refused recipients are removed from s->rcpts (logged); the accepted ones
 * stay.  Returns the number accepted; *deferred counts the 4xx ones;
 * *dropped is set when an ACL said drop (the rest were not asked).
 */
size_t smtpd_prdr_recipients(struct session *s, size_t *deferred, int *dropped);
/* The overall reply when no recipient was accepted or a drop ended the
 * phase (docs/prdr.md "The overall reply"). */
void smtpd_prdr_refuse_all(struct session *s, size_t deferred, int dropped);

/* smtpd_tls.c */
/* Is STARTTLS offered to this client now? */
int smtpd_tls_offered(const struct session *s);
int smtp_check_starttls(struct session *s, const char *args);
void smtp_do_starttls(struct session *s, const char *args);

#endif
