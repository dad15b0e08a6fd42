/*
 * dmarc_report.c - what DMARC writes about a message: the history record
 * (opendmarc's format, for its report tools) and when a failure report is
 * due (RFC 7489 6.3 fo=, 7.3).  Plain text from a verdict: no library, no
 * I/O; the session glue writes and queues.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"

/* The numbers opendmarc writes (its dmarc.h DMARC_POLICY_* and
 * DMARC_RESULT_*), so opendmarc-importstats reads our file as its own. */
enum {
	HIST_POLICY_ABSENT = 14,
	HIST_POLICY_PASS = 15,
	HIST_POLICY_REJECT = 16,
	HIST_POLICY_QUARANTINE = 17,
	HIST_POLICY_NONE = 18,
	HIST_RESULT_REJECT = 0,
	HIST_RESULT_ACCEPT = 2,
	HIST_RESULT_TEMPFAIL = 3,
	HIST_RESULT_QUARANTINE = 4,
	HIST_SPF_NONE = -1, /* no SPF result stored */
	HIST_ALIGN_PASS = 4,
	HIST_ALIGN_FAIL = 5,
};

static int
hist_policy(enum dmarc_status s)
{
	switch (s) {
	case DMARC_ACCEPT:
		return HIST_POLICY_PASS;
	case DMARC_REJECT:
		return HIST_POLICY_REJECT;
	case DMARC_QUARANTINE:
		return HIST_POLICY_QUARANTINE;
	case DMARC_NONE:
		return HIST_POLICY_NONE;
	default:
		return HIST_POLICY_ABSENT;
	}
}

static int
hist_action(enum dmarc_status s)
{
	switch (s) {
	case DMARC_REJECT:
		return HIST_RESULT_REJECT;
	case DMARC_QUARANTINE:
		return HIST_RESULT_QUARANTINE;
	case DMARC_TEMPERROR:
		return HIST_RESULT_TEMPFAIL;
	default:
		return HIST_RESULT_ACCEPT;
	}
}

/* opendmarc's SPF outcome numbers: none 0, pass 1, fail 2, temperror 3. */
static int
hist_spf(const struct dmarc_verdict *v)
{
	if (v->spf_domain[0] == '\0')
		return HIST_SPF_NONE;
	switch (v->spf) {
	case DMARC_SPF_PASS:
		return 1;
	case DMARC_SPF_FAIL:
	case DMARC_SPF_PERMERROR:
		return 2;
	case DMARC_SPF_TEMPERROR:
		return 3;
	case DMARC_SPF_NONE:
		break;
	}
	return 0;
}

void
dmarc_history_format(struct buf *b, const struct dmarc_verdict *v, const char *job,
                     const char *reporter, long long received, const char *ip, const char *mfrom)
{
	buf_addf(b, "job %s\nreporter %s\nreceived %lld\nipaddr %s\nfrom %s\nmfrom %s\n", job,
	         reporter, received, ip, v->from_domain, mfrom);
	buf_addf(b, "spf %d\n", hist_spf(v));
	buf_addf(b, "pdomain %s\npolicy %d\n", v->used_domain, hist_policy(v->status));
	if (v->rua.n == 0)
		buf_adds(b, "rua -\n");
	for (size_t i = 0; i < v->rua.n; i++)
		buf_addf(b, "rua %s\n", v->rua.v[i]);
	buf_addf(b, "pct %d\nadkim %d\naspf %d\np %d\nsp %d\n", v->pct, v->adkim, v->aspf, v->p,
	         v->sp);
	buf_addf(b, "align_dkim %d\nalign_spf %d\naction %d\n",
	         v->dkim_aligned ? HIST_ALIGN_PASS : HIST_ALIGN_FAIL,
	         v->spf_aligned ? HIST_ALIGN_PASS : HIST_ALIGN_FAIL, hist_action(v->status));
}

/* RFC 7489 6.3 fo=: 0 (default) when every mechanism failed to give an
 * aligned pass, 1 when any did, d when a signature failed, s when SPF
 * failed, each whatever the alignment. */
int
dmarc_forensic_wanted(const struct dmarc_verdict *v, const struct dkimv_result *dkim)
{
	int fo = v->fo == 0 ? DMARC_FO_0 : v->fo, want = 0;

	if (v->ruf.n == 0 || v->record[0] == '\0')
		return 0;
	if (v->status != DMARC_REJECT && v->status != DMARC_QUARANTINE && v->status != DMARC_NONE &&
	    v->status != DMARC_ACCEPT)
		return 0; /* no policy evaluated: nothing to report */
	if ((fo & DMARC_FO_0) && !v->spf_aligned && !v->dkim_aligned)
		want = 1;
	if ((fo & DMARC_FO_1) && (!v->spf_aligned || !v->dkim_aligned))
		want = 1;
	if (fo & DMARC_FO_D)
		for (size_t i = 0; dkim != NULL && i < dkim->n; i++)
			if (dkim->sigs[i].status != DKIMV_PASS)
				want = 1;
	if ((fo & DMARC_FO_S) && v->spf_domain[0] != '\0' && v->spf != DMARC_SPF_PASS)
		want = 1;
	return want;
}

int
dmarc_report_uri_ok(const char *uri, const char *policy_domain, txtlookup_fn lookup, void *arg,
                    char *addr, size_t addrlen)
{
	char dom[DMARC_DOMAIN_MAX], org_dest[DMARC_DOMAIN_MAX], org_pol[DMARC_DOMAIN_MAX];
	char name[2 * DMARC_DOMAIN_MAX + 32];
	struct strlist txt = { 0 };
	const char *at;
	size_t n;
	int ok = 0;

	if (strncasecmp(uri, "mailto:", 7) != 0)
		return 0; /* RFC 7489 6.2: mailto is the one scheme every receiver handles */
	uri += 7;
	n = strcspn(uri, "!"); /* RFC 7489 6.2: "!size" limit */
	snprintf(addr, addrlen, "%.*s", (int)n, uri);
	at = strrchr(addr, '@');
	if (at == NULL || at[1] == '\0')
		return 0;
	snprintf(dom, sizeof dom, "%s", at + 1);
	dmarc_org_domain(dom, org_dest, sizeof org_dest);
	dmarc_org_domain(policy_domain, org_pol, sizeof org_pol);
	if (strcasecmp(org_dest, org_pol) == 0)
		return 1;
	/* RFC 7489 7.1: the destination agrees to receive the reports. */
	snprintf(name, sizeof name, "%s._report._dmarc.%s", policy_domain, dom);
	if (lookup(arg, name, &txt) == TXTLOOKUP_FOUND)
		for (size_t i = 0; i < txt.n; i++)
			if (strncmp(txt.v[i], "v=DMARC1", 8) == 0)
				ok = 1;
	strlist_free(&txt);
	return ok;
}

/* The header section of the reported message (RFC 6591 text/rfc822-headers). */
static void
add_header_section(struct buf *b, const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (l == 0)
			break; /* the blank line: the body is not reported */
		buf_add(b, p, l);
		buf_adds(b, "\r\n");
		p = nl ? nl + 1 : end;
	}
}

void
dmarc_forensic_format(struct buf *b, const struct dmarc_verdict *v,
                      const struct dmarc_forensic_info *fi)
{
	const char *bnd = "refmta-dmarc-report";
	const char *align = v->dkim_aligned && v->spf_aligned ? "dkim, spf"
	                    : v->dkim_aligned                 ? "dkim"
	                    : v->spf_aligned                  ? "spf"
	                                                      : "none";

	buf_addf(b, "From: %s\r\nTo: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n", fi->from, fi->to,
	         fi->date, fi->msgid);
	/* RFC 7489 7.3: the subject names the report and the domain. */
	buf_addf(b, "Subject: DMARC failure report for %s\r\n", v->from_domain);
	buf_addf(b,
	         "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
	         "report-type=feedback-report;\r\n\tboundary=\"%s\"\r\n\r\n",
	         bnd);
	buf_addf(b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", bnd);
	buf_addf(b,
	         "A message claiming to be from %s failed DMARC (policy %s, result %s)\r\n"
	         "at %s.  Its header section follows.\r\n\r\n",
	         v->from_domain, v->domain_policy[0] ? v->domain_policy : "-",
	         dmarc_status_word(v->status), fi->reporter);
	/* RFC 6591 3.1 / RFC 5965 3.1: the machine-readable part. */
	buf_addf(b, "--%s\r\nContent-Type: message/feedback-report\r\n\r\n", bnd);
	buf_addf(b,
	         "Feedback-Type: auth-failure\r\nUser-Agent: refmta\r\nVersion: 1\r\n"
	         "Original-Mail-From: <%s>\r\nArrival-Date: %s\r\nSource-IP: %s\r\n"
	         "Reported-Domain: %s\r\n",
	         fi->mfrom, fi->date, fi->ip, v->from_domain);
	if (fi->authres != NULL && fi->authres[0] != '\0')
		buf_addf(b, "%s\r\n", fi->authres);
	/* RFC 6591 3.1 Auth-Failure; RFC 7489 7.3.1 Identity-Alignment. */
	buf_addf(b, "Auth-Failure: dmarc\r\nIdentity-Alignment: %s\r\nDelivery-Result: %s\r\n\r\n",
	         align,
	         v->status == DMARC_REJECT       ? "reject"
	         : v->status == DMARC_QUARANTINE ? "spam"
	                                         : "delivered");
	buf_addf(b, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", bnd);
	add_header_section(b, fi->msg, fi->len);
	buf_addf(b, "\r\n--%s--\r\n", bnd);
}
