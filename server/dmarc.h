/*
 * dmarc.h - DMARC (RFC 7489) policy evaluation: the one owner of
 * libopendmarc (DESIGN.md principle 2).
 *
 * dmarc_evaluate() is a function of its inputs: the message's header
 * section (for the From: domains, RFC 7489 6.6.1: each distinct author
 * domain is evaluated and the strictest failing verdict kept), the SPF outcome and the
 * DKIM signatures already verified (dkim.h), a TXT lookup for the policy
 * records (txtlookup.h) and the "random" roll that pct= samples (RFC 7489
 * 6.6.4), injected so tests are deterministic.  It does the record
 * discovery itself (RFC 7489 6.6.3: the From: domain, then the
 * organizational domain from the public suffix list; more than one record
 * = no policy) and asks libopendmarc for alignment (adkim, aspf) and the
 * policy (p, sp).  The session glue (dmarc_session.c) feeds it and keeps
 * the verdict for ACLs ($dmarc_*, dmarc_status), the history file and
 * forensic reports.
 *
 * Status words ($dmarc_status, the seed's):
 *   accept      an aligned SPF or DKIM pass
 *   reject, quarantine   no aligned pass; the domain's policy (pct applied)
 *   none        no aligned pass; the policy is p=none (or pct sampled it down)
 *   norecord    no usable DMARC record for the From: domain
 *   nofrom      no From: domain (no From:, two From: fields, unparseable)
 *   temperror   a DNS error while looking for the record
 *   off         verification disabled (control = dmarc_disable_verify)
 */
#ifndef REFMTA_DMARC_H
#define REFMTA_DMARC_H

#include <stddef.h>

#include "buf.h"
#include "dkim.h"
#include "err.h"
#include "strlist.h"
#include "txtlookup.h"

enum dmarc_status {
	DMARC_ACCEPT,
	DMARC_REJECT,
	DMARC_QUARANTINE,
	DMARC_NONE,
	DMARC_NORECORD,
	DMARC_NOFROM,
	DMARC_TEMPERROR,
	DMARC_OFF,
};
#define DMARC_NSTATUS 8

/* The SPF outcome DMARC uses (RFC 7489 4.2: only pass counts; the others
 * matter for reports and the Authentication-Results header). */
enum dmarc_spf {
	DMARC_SPF_NONE,
	DMARC_SPF_PASS,
	DMARC_SPF_FAIL, /* fail, softfail, neutral: not a pass */
	DMARC_SPF_TEMPERROR,
	DMARC_SPF_PERMERROR,
};

struct dmarc_input {
	const char *msg; /* the message (at least its header section), CRLF or LF */
	size_t len;
	const char *ip;                  /* the client address (history, reports) */
	enum dmarc_spf spf;              /* the SPF result ... */
	const char *spf_domain;          /* ... for this domain (MAIL FROM's, or HELO's) */
	int spf_helo;                    /* the domain came from HELO (RFC 7208 2.4) */
	const struct dkimv_result *dkim; /* verified signatures (NULL: none) */
	txtlookup_fn lookup;             /* TXT records at _dmarc.DOMAIN */
	void *lookup_arg;
	unsigned pct_roll; /* 0..99: the policy applies when pct_roll < pct (RFC 7489 6.6.4) */
};

#define DMARC_DOMAIN_MAX 256

/* What one evaluation found.  Owns its lists: free with dmarc_verdict_free(). */
struct dmarc_verdict {
	enum dmarc_status status;
	const char *status_text;            /* static: "Reject", "No DMARC record", ... */
	char from_domain[DMARC_DOMAIN_MAX]; /* RFC 5322.From's domain ("" when nofrom) */
	char org_domain[DMARC_DOMAIN_MAX];  /* its organizational domain (RFC 7489 3.2) */
	char used_domain[DMARC_DOMAIN_MAX]; /* where the record was found, else the From: domain */
	char record[512];                   /* the record used ("" none) */
	char domain_policy[16];        /* p= or sp= as applies: none/quarantine/reject, or "" */
	int used_sp;                   /* the sp= policy applied (RFC 7489 6.6.3) */
	int spf_aligned, dkim_aligned; /* an aligned pass (RFC 7489 3.1) */
	char adkim, aspf;              /* 'r' or 's' */
	char p, sp;                    /* 'n', 'q', 'r', or 0 when absent */
	int pct;                       /* 0..100 */
	int pct_sampled_down;          /* pct= made the policy one step lighter */
	int fo;                        /* fo= bits (DMARC_FO_*) */
	struct strlist rua, ruf;       /* the URIs as written */
	char why[128];                 /* why nofrom / norecord / temperror, for the log */
	enum dmarc_spf spf;            /* the inputs, for reports */
	char spf_domain[DMARC_DOMAIN_MAX];
	int spf_helo;
};

enum { DMARC_FO_0 = 1, DMARC_FO_1 = 2, DMARC_FO_D = 4, DMARC_FO_S = 8 };

enum dmarc_error {
	DMARC_OK = 0,
	DMARC_ERR_TLD, /* the public suffix list cannot be read */
	DMARC_ERR_LIB, /* libopendmarc refused, out of memory */
};

/*
 * Load the public suffix list (dmarc_tld_file) into libopendmarc, once
 * per process (the library keeps it globally).  A second call with the same
 * path does nothing.  0, or -1 with `e` filled (DMARC_ERR_TLD).
 */
int dmarc_tld_load(const char *path, struct err *e) MUST_CHECK;

/*
 * Evaluate the message.  0 with `out` filled (every DNS outcome is a
 * status); -1 with `e` filled (no list loaded, libopendmarc failed).
 * Free `out` with dmarc_verdict_free() either way.
 */
int dmarc_evaluate(const struct dmarc_input *in, struct dmarc_verdict *out,
                   struct err *e) MUST_CHECK;
/* The verdict for a message whose check is disabled: status off. */
void dmarc_verdict_off(struct dmarc_verdict *out);
void dmarc_verdict_free(struct dmarc_verdict *v); /* accepts NULL; zeroes *v */

/*
 * The From: domain rules alone (RFC 7489 6.6.1; dmarc_authors.c).
 * dmarc_from_domains: 0 with every distinct author domain of the one
 * From: field in `out` (lower case, in order of first appearance; the
 * caller frees it with strlist_free); -1 with `why` filled and `out`
 * empty when there is none, more than one From: field, a mailbox
 * without a usable domain, or more than DMARC_AUTHORS_MAX domains.  dmarc_from_domain: the same for
 * exactly one domain (-1 also when there are several).
 */
int dmarc_from_domains(const char *msg, size_t len, struct strlist *out, char *why,
                       size_t whylen) MUST_CHECK;
#define DMARC_AUTHORS_MAX 10 /* more distinct author domains: nofrom (docs/dmarc.md) */
int dmarc_from_domain(const char *msg, size_t len, char *out, size_t outlen, char *why,
                      size_t whylen) MUST_CHECK;
/* RFC 7489 6.6.1's "most strict policy" among several author domains'
 * verdicts: the higher wins (reject > temperror > quarantine > none >
 * accept > norecord; nofrom and off 0).  docs/dmarc.md. */
int dmarc_status_strictness(enum dmarc_status s);

const char *dmarc_status_word(enum dmarc_status s);
int dmarc_status_parse(const char *word, enum dmarc_status *out) MUST_CHECK; /* 0 / -1 */
const char *dmarc_spf_word(enum dmarc_spf s); /* "none", "pass", "fail", ... */

/* RFC 7489 11.2 / RFC 8601: "; dmarc=fail (p=reject dis=reject) header.from=DOMAIN"
 * (nothing for status off). */
void dmarc_authres_append(struct buf *b, const struct dmarc_verdict *v);

/*
 * The verdict's record for the history file, in the format opendmarc's
 * opendmarc-importstats reads (one block of "key value" lines per
 * message, docs/dmarc.md).  `job` is the message id, `reporter` our name,
 * `received` the arrival time, `mfrom` the MAIL FROM domain.
 */
void dmarc_history_format(struct buf *b, const struct dmarc_verdict *v, const char *job,
                          const char *reporter, long long received, const char *ip,
                          const char *mfrom);

/*
 * Should a failure report go out (RFC 7489 7.3 and 6.3 fo=)?  1 when the
 * record names ruf= and the fo= condition holds for this message.
 */
int dmarc_forensic_wanted(const struct dmarc_verdict *v, const struct dkimv_result *dkim);

/* The organizational domain of `domain` (RFC 7489 3.2) from the loaded
 * suffix list; `domain` itself when the list has no answer. */
void dmarc_org_domain(const char *domain, char *out, size_t outlen);

/*
 * RFC 7489 7.1: may reports about `policy_domain` go to `uri`
 * ("mailto:addr[!size]")?  The address goes to `addr`.  1 when the URI is
 * a mailto: in the same organizational domain, or its domain publishes
 * POLICY._report._dmarc.DEST as v=DMARC1; 0 otherwise (other schemes too).
 */
int dmarc_report_uri_ok(const char *uri, const char *policy_domain, txtlookup_fn lookup, void *arg,
                        char *addr, size_t addrlen);

/* What a failure report says besides the verdict. */
struct dmarc_forensic_info {
	const char *reporter; /* our name (primary_hostname) */
	const char *from;     /* the report's From: address */
	const char *to;       /* the ruf address */
	const char *mfrom;    /* the reported message's MAIL FROM */
	const char *ip;       /* its client address */
	const char *date;     /* RFC 5322 date of now */
	const char *msgid;    /* the report's Message-ID (without <>) */
	const char *authres;  /* the Authentication-Results header, or "" */
	const char *msg;      /* the reported message (its header section is quoted) */
	size_t len;
};

/*
 * A whole failure report (RFC 7489 7.3, RFC 6591 ARF: multipart/report,
 * report-type=feedback-report, Feedback-Type: auth-failure, Auth-Failure:
 * dmarc, and the original header section as text/rfc822-headers), CRLF
 * line ends, into `b`.
 */
void dmarc_forensic_format(struct buf *b, const struct dmarc_verdict *v,
                           const struct dmarc_forensic_info *fi);

#endif
