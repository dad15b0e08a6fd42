/*
 * dmarc_report.c - what DMARC writes about a message: the history record
 * (opendmarc's format, for its report tools) and when a failure report is
 * due (RFC 7489 6.3 fo=, 7.3).  Plain text from a verdict: no library, no
 * I/O; the session glue writes and queues.
 */
#include <stdio.h>
#include <string.h>

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
