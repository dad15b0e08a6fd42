/*
 * dmarc_session.h - DKIM and DMARC in the SMTP session: what the session
 * keeps per message for the ACL conditions (dkim_status, dkim_signers,
 * dmarc_status), the $dkim_* and $dmarc_* variables, the
 * controls (dmarc_disable_verify, dmarc_enable_forensic), the history
 * file and forensic reports.  docs/dmarc.md.
 *
 * The session calls dmarc_session_evaluate() once the message is in and
 * before acl_smtp_data, dmarc_session_finish() once it is on the spool,
 * and dmarc_session_reset() when the transaction ends.
 */
#ifndef REFMTA_DMARC_SESSION_H
#define REFMTA_DMARC_SESSION_H

#include <stddef.h>
#include <time.h>

#include "dkim.h"
#include "dmarc.h"

struct config;
struct spf_session;

struct dmarc_session {
	const struct config *cfg; /* not owned */

	/* controls, from any ACL of the transaction (acl.c "control =") */
	int disable_verify;  /* control = dmarc_disable_verify */
	int enable_forensic; /* control = dmarc_enable_forensic */

	/* the message's results; owned */
	int evaluated;
	struct dkimv_result dkim;
	int dmarc_on; /* DMARC ran (dmarc_tld_file set) or was turned off by control */
	struct dmarc_verdict verdict;
	char ar_header[2048]; /* $dmarc_ar_header */
	char signers[1024];   /* $dkim_signers */
};

/*
 * Verify the message's DKIM signatures and, when dmarc_tld_file is set,
 * evaluate DMARC with the transaction's SPF verdict (checked now if the
 * ACLs did not).  Never fails: a DNS or library failure becomes a status
 * (DKIM invalid / DMARC temperror) and a log line.
 */
void dmarc_session_evaluate(struct dmarc_session *d, const char *msg, size_t len, const char *ip,
                            struct spf_session *spf);

/*
 * The message is on the spool as `id`: append the history record
 * (dmarc_history_file) and queue a failure report when asked for
 * (control = dmarc_enable_forensic; RFC 7489 7.3, RFC 6591).
 */
void dmarc_session_finish(struct dmarc_session *d, const char *id, const char *sender,
                          const char *ip, const char *msg, size_t len);

void dmarc_session_reset(struct dmarc_session *d); /* the transaction ends */

/* Apply one "control = NAME" (already checked at load time). */
void dmarc_session_control(struct dmarc_session *d, const char *name);
/* Is NAME a known control?  0 yes; -1 with a sentence (a did-you-mean for
 * the seed's older names) in `why`. */
int dmarc_control_check(const char *name, char *why, size_t whylen);

/* The ACL conditions dmarc_status, dkim_status, dkim_signers (acl_conditions_init). */
void dmarc_acl_register(void);

/* Variables (smtpd_vars.c): the value of $NAME for "dmarc_*" / "dkim_*",
 * "" when not evaluated. */
const char *dmarc_session_var(const struct dmarc_session *d, const char *name);

#endif
