/*
 * smtpd_prdr.c - PRDR, the receiving side (draft-hall-prdr-00; the seed's
 * "PRDR support"; docs/prdr.md): after the message, "353", then one reply
 * per recipient in RCPT order decided by acl_smtp_data_prdr (the seed's
 * acl_data_smtp_prdr), then the overall reply (smtpd_data.c for the
 * accepted case, smtpd_prdr_refuse_all() otherwise).
 *
 * Only the recipients this phase accepts stay in the transaction, so the
 * message is spooled once, for them alone; a refused recipient gets no
 * bounce (the client was told).  Every reply is queued, not flushed: the
 * whole response goes out as one write after the overall reply (RFC 2920
 * 3.1 groups).  Must never answer 250 overall before the spool commit.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "smtpd_int.h"

int
smtpd_prdr_active(const struct session *s)
{
	/* The seed: no per-recipient phase for a single recipient. */
	return s->mail.prdr && s->nrcpts > 1;
}

/*
 * One recipient's reply: "CODE STATUS <addr> TEXT".  STATUS is the ACL
 * message's own enhanced code when it starts with one (RFC 3463), else the
 * verb's; TEXT the ACL's message, else the default.
 */
static void
prdr_reply_text(enum acl_verdict v, const struct acl_result *res, const char *addr, char *buf,
                size_t len, int *code)
{
	const char *msg = res->message;
	const char *status, *text;
	char own[16] = "";

	switch (v) {
	case ACL_ACCEPT:
		*code = 250;
		status = "2.1.5";
		text = "OK";
		break;
	case ACL_DEFER:
		*code = 450;
		status = "4.7.1";
		text = "Administrative prohibition";
		break;
	default: /* deny, drop */
		*code = 550;
		status = "5.7.1";
		text = "Administrative prohibition";
		break;
	}
	if (msg != NULL) {
		size_t n = strcspn(msg, " ");
		/* "5.7.1 text": the message's own status, if it is of this class */
		if (isdigit((unsigned char)msg[0]) && msg[1] == '.' && n < sizeof own &&
		    msg[0] - '0' == *code / 100) {
			memcpy(own, msg, n);
			own[n] = '\0';
			status = own;
			msg += n;
			while (*msg == ' ')
				msg++;
		}
		if (*msg != '\0')
			text = msg;
	}
	snprintf(buf, len, "%d %s <%s> %s", *code, status, addr, text);
}

static void
prdr_log(const struct session *s, int accepted, const char *addr, const char *reply)
{
	/* The refusals read like every other "rejected" line (docs/log.md). */
	log_write("H=%s [%s]:%u %s <%s>: %s", smtpd_helo_or_none(s), s->peer->ip, s->peer->port,
	          accepted ? "PRDR accepted" : "rejected PRDR", addr, reply);
}

size_t
smtpd_prdr_recipients(struct session *s, size_t *deferred, int *dropped)
{
	size_t kept = 0;

	*deferred = 0;
	*dropped = 0;
	/* draft-hall-prdr-00: 353 first, then a reply per accepted RCPT. */
	smtpd_reply(s, "353 PRDR content analysis beginning");
	for (size_t i = 0; i < s->nrcpts; i++) {
		struct spool_rcpt *r = &s->rcpts[i];
		struct acl_result res = { 0 };
		enum acl_verdict v = ACL_DEFER;
		char reply[700];
		int code;

		if (!*dropped) {
			smtpd_rcpt_for_acl(s, r->address);
			v = smtpd_run_acl(s, s->cfg->acl_smtp_data_prdr, ACL_ACCEPT, &res);
			prdr_reply_text(v, &res, r->address, reply, sizeof reply, &code);
		} else {
			/* After a drop nobody is asked: try again later. */
			code = 450;
			snprintf(reply, sizeof reply,
			         "450 4.7.1 <%s> not checked: connection dropped", r->address);
		}
		smtpd_reply(s, "%s", reply);
		prdr_log(s, code == 250, r->address, reply);
		if (res.log_message != NULL)
			log_write("H=%s [%s]:%u %s", smtpd_helo_or_none(s), s->peer->ip,
			          s->peer->port, res.log_message);
		acl_result_free(&res);
		if (v == ACL_DROP)
			*dropped = 1;
		if (code == 250) {
			s->rcpts[kept++] = *r;
			continue;
		}
		if (code == 450)
			(*deferred)++;
		free(r->address);
		free(r->orcpt);
	}
	s->nrcpts = kept;
	smtpd_rcpt_forget(s);
	return kept;
}

void
smtpd_prdr_refuse_all(struct session *s, size_t deferred, int dropped)
{
	char why[300];

	if (dropped) {
		/* A 4xx overall reply makes the client defer the 250s already
		 * sent (docs/prdr.md); the session ends as for any drop. */
		snprintf(why, sizeof why, "4.7.0 %s closing connection: dropped by ACL",
		         s->cfg->primary_hostname);
		smtpd_refuse(s, 421, why);
		smtpd_close(s, "dropped by ACL");
	} else if (deferred > 0) {
		smtpd_refuse(s, 450, "4.7.1 No recipient accepted (some deferred)");
	} else {
		smtpd_refuse(s, 550, "5.7.1 All recipients refused");
	}
}
