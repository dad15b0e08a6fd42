/*
 * dsn.h - the bounce: a delivery status notification (RFC 3464) to the
 * sender for recipients that failed, with the DSN_INFO extra fields of the
 * seed ("DSN extra information"), named for refmta.
 *
 * The message built (CRLF line ends, no line over 998 octets):
 *
 *   From: Mail Delivery System <MAILER-DAEMON@REPORTING_MTA>
 *   To: SENDER
 *   Subject: Mail delivery failed: returning message to sender
 *   Date: (RFC 5322, from `now`)
 *   Message-ID: <ID-bounce@REPORTING_MTA>
 *   Auto-Submitted: auto-replied                       (RFC 3834 5)
 *   MIME-Version: 1.0
 *   Content-Type: multipart/report; report-type=delivery-status;
 *   	boundary="..."                                  (deterministic: from ID and now)
 *
 *   part 1, text/plain: which addresses failed and why, each with the
 *     stage at which the remote failed ("SMTP error from remote mail server
 *     after RCPT TO:<bob@partner.test>:" then the reply), or refmta's own
 *     reason when no remote reply was involved;
 *   part 2, message/delivery-status: per-message fields (Reporting-MTA,
 *     Original-Envelope-Id when ENVID was given, Arrival-Date), then per
 *     recipient: Original-Recipient (when ORCPT was given), Final-Recipient,
 *     Action: failed, Status, and when a remote host was involved
 *       Remote-MTA: dns; HOSTNAME
 *       Remote-MTA: X-ip; [IP]:PORT                  (":PORT" only when not 25)
 *       Diagnostic-Code: smtp; REPLY                 (when the remote replied)
 *       X-Remote-MTA-smtp-greeting: X-str; GREETING  (first line)
 *       X-Remote-MTA-helo-response: X-str; FIRST LINE OF THE EHLO/HELO REPLY
 *       X-Refmta-Diagnostic: X-str; SMTP error from remote mail server after STAGE: REPLY
 *                                    (no reply but a host reached: X-str; ERROR_TEXT)
 *   Status is always class 5 (RFC 3464 2.3.4, Action: failed): a valid
 *   4.X.Y becomes 5.X.Y, anything not an RFC 3463 code becomes 5.0.0.
 *   part 3: the returned message: message/rfc822 (whole) when RET=FULL or
 *     RET was not given, text/rfc822-headers (the header only) for RET=HDRS.
 *
 * A success report (every entry DELIVERED or RELAYED) has the same shape
 * with Subject "Successful Mail Delivery Report", Message-ID <ID-success@...>,
 * a text saying where the message went, "Action: delivered|relayed" with a
 * class 2 Status, and only the header returned whatever RET says (RFC 3461
 * 4.3: RET applies to failure reports).
 *
 * Remote text is made safe before it goes into a header field: control
 * characters (CR, LF, TAB included) become spaces, multi-line replies are
 * joined with " ", and a value longer than DSN_FIELD_MAX octets is cut so
 * that it is at most DSN_FIELD_MAX octets with the "..." it ends in (never
 * inside a UTF-8 sequence).  Valid UTF-8 is kept (C1 controls become
 * spaces); an octet that is not valid UTF-8 becomes "?".  In the text part
 * reply lines stay lines, indented, wrapped at 78 octets.  Lines of the
 * returned message over 998 octets are folded (header) or broken (body).
 */
#ifndef REFMTA_DSN_H
#define REFMTA_DSN_H

#include <stddef.h>
#include <time.h>

#include "err.h"
#include "spool.h"

#define DSN_FIELD_MAX 512

/* RFC 3464 2.3.3.  A report holds failures only (a bounce) or successes
 * only (RFC 3461 NOTIFY=SUCCESS): deliver.c never mixes them. */
enum dsn_action {
	DSN_ACTION_FAILED = 0,
	DSN_ACTION_DELIVERED, /* delivered to a mailbox here */
	DSN_ACTION_RELAYED,   /* handed to a server that did not offer DSN (RFC 3461 5.2.2) */
};

struct dsn_failure {
	enum dsn_action action;   /* FAILED (the default) or, in a success report, the others */
	const char *address;      /* as in RCPT TO (Final-Recipient: rfc822;ADDRESS) */
	const char *orcpt;        /* ORCPT as received ("rfc822;x@y") or NULL */
	const char *status;       /* RFC 3463 code "5.1.1" (from the reply's enhanced code
	                           * when it had one, else "5.0.0"); never NULL */
	const char *remote_reply; /* the remote's whole reply, lines separated by "\n",
	                           * or NULL when no remote reply caused the failure */
	const char *stage;        /* with remote_reply: "after initial connection",
	                           * "after EHLO mx.example.test", "after MAIL FROM:<a@b>",
	                           * "after RCPT TO:<b@c>", "after DATA", "after end of data" */
	const char *error_text;   /* refmta's own reason when remote_reply is NULL
	                           * ("Null MX: domain does not accept mail", "retry time
	                           * exceeded", "TLS required but not offered") */
	/* DSN_INFO: all NULL / 0 when no remote host was reached */
	const char *host_name;    /* "mx1.partner.test" */
	const char *host_address; /* "127.0.0.2" or "::1" */
	unsigned host_port;       /* 25 = not printed */
	const char *greeting;     /* the greeting's first line, e.g. "220 mx1.partner.test ESMTP" */
	const char
	        *helo_response; /* the EHLO/HELO reply's first line, e.g. "250-mx1.partner.test" */
};

struct dsn_bounce {
	const char *reporting_mta; /* primary_hostname */
	const char *message_id;    /* the failed message's spool id */
	const char *sender;        /* the original sender: the bounce goes to it */
	const char *envid;         /* RFC 3461 ENVID (decoded) or NULL */
	enum dsn_ret ret;          /* FULL/UNSET: whole message; HDRS: header only */
	time_t arrival_date;       /* when the failed message was received */
	time_t now;                /* Date: of the bounce */
	const char *data_path;     /* the failed message's input/ID-D (CRLF, Received: first) */
	const struct dsn_failure *failures;
	size_t nfailures; /* >= 1 */
};

/* Does this recipient want a success report?  1 when the sender is not the
 * null sender and NOTIFY includes SUCCESS (RFC 3461 4.1). */
int dsn_wants_success_report(const char *sender, unsigned notify);

/* Does this recipient want a failure report?  0 for the null sender ("":
 * RFC 5321 6.1, never bounce a bounce), 0 when NOTIFY was given without
 * FAILURE (NEVER included); 1 otherwise (NOTIFY not given: RFC 3461 4.1). */
int dsn_wants_failure_report(const char *sender, unsigned notify);

/* Build the bounce into a malloc'd buffer (*out, *outlen; caller frees).
 * 0 ok; -1 with `e` filled (unreadable data file, out of memory). */
int dsn_build_bounce(const struct dsn_bounce *b, char **out, size_t *outlen,
                     struct err *e) MUST_CHECK;

/* Copy `text` into `buf` made safe for a header field value, as described
 * above (controls to spaces, cut at `max` octets with "..."). */
void dsn_field_value(const char *text, size_t max, char *buf, size_t len);

#endif
