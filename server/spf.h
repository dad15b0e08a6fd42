/*
 * spf.h - Sender Policy Framework (RFC 7208): the one owner of libspf2
 * (DESIGN.md principle 2).  Every DNS query libspf2 makes goes through
 * refmta's resolver (lib/resolver.h), never through libspf2's own
 * res_query layer, so scenarios and the RFC 7208 suite see only fakedns.
 *
 * Two layers:
 *   - a checker (struct spf_checker): one libspf2 server over one
 *     resolver; spf_check() evaluates one identity for one client address
 *     and fills a struct spf_verdict (result word, comments, the
 *     Received-SPF header, the explanation);
 *   - the session's SPF state (struct spf_session): what the SMTP session
 *     keeps for its ACL conditions (`spf`, `spf_guess`), its $spf_*
 *     variables, the Authentication-Results item and the log field.  The
 *     check runs once per transaction and identity, on first use.
 *
 * The DMARC module (server/dmarc.c) reads the transaction's SPF outcome
 * with spf_session_verdict(): the result, the domain checked and whether
 * that domain came from MAIL FROM or from HELO (RFC 7489 4.1 aligns the
 * MAIL FROM domain; RFC 7208 2.4 uses HELO for the null sender).
 * Authentication-Results items are written by spf_authres_append() (and by
 * DMARC's own function, after it) into one header the caller builds.
 */
#ifndef REFMTA_SPF_H
#define REFMTA_SPF_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct config;
struct resolver;

/* RFC 7208 2.6; the words are spf_result_word()'s. */
enum spf_result {
	SPF_NONE,      /* "none" */
	SPF_NEUTRAL,   /* "neutral" */
	SPF_PASS,      /* "pass" */
	SPF_FAIL,      /* "fail" */
	SPF_SOFTFAIL,  /* "softfail" */
	SPF_TEMPERROR, /* "temperror" */
	SPF_PERMERROR, /* "permerror" */
};

/* Which identity the domain came from (RFC 7208 2.2, 2.4). */
enum spf_identity {
	SPF_ID_MAILFROM, /* the MAIL FROM address's domain */
	SPF_ID_HELO,     /* the HELO/EHLO name (HELO check, or the null sender's postmaster@HELO) */
};

enum spf_error {
	SPF_OK = 0,
	SPF_ERR_SETUP, /* libspf2 refused a setting, out of memory */
	SPF_ERR_INPUT, /* a client address that is not an IP address */
};

#define SPF_DOMAIN_MAX 256

/* One evaluated identity.  Strings are owned by the verdict: free with
 * spf_verdict_free().  None is NULL after a successful spf_check(). */
struct spf_verdict {
	enum spf_result result;
	enum spf_identity identity;
	char domain[SPF_DOMAIN_MAX]; /* the domain checked ("" when none could be found) */
	char *sender;                /* the <sender> checked: "user@domain", "postmaster@HELO" */
	char *header_comment;        /* "domain of ... designates ... as permitted sender" */
	char *smtp_comment;          /* for a refusal: with the domain's explanation on fail */
	char *received;              /* a whole "Received-SPF: ..." header line (RFC 7208 9.1) */
	char *explanation;           /* the fail explanation (exp= or the default), else "" */
	char *problem;               /* why temperror / permerror (for the log), else "" */
};

/* What a checker needs besides the resolver. */
struct spf_options {
	const char *receiver;    /* our name, for %{r} and the header (primary_hostname) */
	const char *guess;       /* spf_guess's record (RFC 7208 none: the guess is local policy) */
	const char *explanation; /* default explanation for fail (macros allowed), or NULL */
	unsigned max_dns_mech;   /* RFC 7208 4.6.4: 10; 0 = the RFC's */
	unsigned max_void;       /* RFC 7208 4.6.4: 2; 0 = the RFC's */
	int localhost_pass;      /* keep libspf2's "loopback always passes" rule (docs/spf.md) */
};

struct spf_checker;

/*
 * A checker asking through `r` (not owned; must outlive the checker).
 * NULL with `e` filled (SPF_ERR_SETUP).  Free with spf_checker_free().
 */
struct spf_checker *spf_checker_new(struct resolver *r, const struct spf_options *o,
                                    struct err *e) MUST_CHECK;
void spf_checker_free(struct spf_checker *c); /* accepts NULL */

/*
 * Evaluate check_host() (RFC 7208 4) for client `ip` (IPv4 or IPv6 text),
 * HELO name `helo` (may be "" or NULL) and `sender`:
 *   identity SPF_ID_MAILFROM: `sender` is the MAIL FROM address; "" (the
 *     null sender) checks postmaster@HELO instead (RFC 7208 2.4), and the
 *     verdict says SPF_ID_HELO;
 *   identity SPF_ID_HELO: the HELO name alone (RFC 7208 2.3).
 * `guess`: evaluate the options' guess record where the domain has none.
 * DNS failures and timeouts are results (temperror), not errors.  0 with
 * `out` filled; -1 with `e` filled (and `out` zeroed) when the check could
 * not be made at all.  Free `out` with spf_verdict_free() either way.
 */
int spf_check(struct spf_checker *c, const char *ip, const char *helo, const char *sender,
              enum spf_identity identity, int guess, struct spf_verdict *out,
              struct err *e) MUST_CHECK;
void spf_verdict_free(struct spf_verdict *v); /* accepts NULL; zeroes *v */

const char *spf_result_word(enum spf_result r);
/* libspf2's version, "1.2.10" (static storage), for --version. */
const char *spf_library_version(void);
/* "pass" ... "permerror", and the seed's older err_perm / err_temp
 * (permerror / temperror); 0, or -1 for any other word. */
int spf_result_parse(const char *word, enum spf_result *out) MUST_CHECK;

/* ---- the SMTP session's SPF state ------------------------------------------------ */

/*
 * One session's SPF state.  The session owns it (smtpd_int.h), fills the
 * inputs as the dialogue goes, calls spf_session_reset() when a
 * transaction ends and spf_session_free() when the session does.
 */
struct spf_session {
	/* inputs; not owned */
	const struct config *cfg;
	const char *ip; /* the client address */
	const char
	        *helo; /* the HELO name ("" before one); in acl_smtp_helo the one being checked */
	const char *sender; /* MAIL FROM, NULL before MAIL */

	/* owned */
	struct resolver *resolver; /* made on first use */
	struct spf_checker *checker;
	int failed; /* the checker could not be made: every check is temperror */
	struct spf_verdict mail, guess;
	int have_mail, have_guess;
	struct spf_verdict helo_v;      /* the HELO identity alone (RFC 7208 2.3) */
	char helo_name[SPF_DOMAIN_MAX]; /* the name helo_v is for; "" none */
	const struct spf_verdict *last; /* what $spf_* show: the last check the ACLs made */
	char authres[1024];             /* spf_session_authres()'s text */
};

/*
 * The transaction's SPF verdict (the MAIL FROM identity, or HELO's for the
 * null sender), checked now if it was not yet, with the spf_guess record
 * when `guess` is set.  Before MAIL FROM (sender NULL), with a HELO name
 * and without `guess`: the HELO identity alone (RFC 7208 2.3; what the
 * seed's `spf` condition gives in acl_smtp_helo), kept until the name
 * changes.  NULL when there is neither.  The verdict belongs to `s`
 * until spf_session_reset() (the HELO one: until spf_session_free()).
 */
const struct spf_verdict *spf_session_verdict(struct spf_session *s, int guess);
/* Only what was already checked (no DNS): NULL when the ACLs never asked. */
const struct spf_verdict *spf_session_checked(const struct spf_session *s);
void spf_session_reset(struct spf_session *s); /* a transaction ends */
/*
 * The whole Authentication-Results header (RFC 8601 2.2) for the
 * transaction, what Exim's ${authresults{$primary_hostname}} gives:
 * "Authentication-Results: HOST; spf=pass smtp.mailfrom=a@b" ("; none"
 * when no method ran).  Owned by `s`, valid until its next change.  The
 * DMARC module appends its item after SPF's (spf_authres_append's form).
 */
const char *spf_session_authres(const struct spf_session *s);
void spf_session_free(struct spf_session *s); /* the session ends; accepts NULL */

/*
 * The ACL conditions "spf = LIST" and "spf_guess = LIST" (the seed's
 * words, "!" inverting one, left to right; docs/spf.md); registered by
 * acl_conditions_init().
 */
void spf_acl_register(void);

/*
 * Append the RFC 8601 2.7.2 result for `v` to an Authentication-Results
 * header being built: "; spf=pass smtp.mailfrom=user@example.test"
 * (smtp.helo=NAME for a HELO identity).  Nothing when `v` is NULL.  Out
 * of memory shows in b->oom, as for every buf_add.
 */
void spf_authres_append(struct buf *b, const struct spf_verdict *v);

#endif
