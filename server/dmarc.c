/*
 * dmarc.c - DMARC policy evaluation over libopendmarc (dmarc.h): each
 * author domain (dmarc_authors.c finds them), record discovery,
 * alignment and policy, pct, the A-R item and the history record.  The only file that includes
 * <opendmarc/dmarc.h> (ci/layering.txt).  It never sends mail, writes files or asks the DNS itself:
 * the caller's txtlookup_fn does that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <opendmarc/dmarc.h>

#include "dmarc.h"

/* Exported by libopendmarc 1.4 but missing from its header (LIBRARIES.md). */
int opendmarc_get_tld(u_char *domain, u_char *tld, size_t tld_len);
OPENDMARC_STATUS_T opendmarc_policy_fetch_fo(DMARC_POLICY_T *pctx, int *fo);

static char tld_loaded[1024];

int
dmarc_tld_load(const char *path, struct err *e)
{
	if (path == NULL || path[0] == '\0') {
		err_set(e, DMARC_ERR_TLD, "dmarc_tld_file is not set");
		return -1;
	}
	if (strcmp(tld_loaded, path) == 0)
		return 0;
	if (opendmarc_tld_read_file((char *)path, "//", "*.", "!") != 0) {
		err_set(e, DMARC_ERR_TLD, "cannot read the public suffix list %s", path);
		return -1;
	}
	snprintf(tld_loaded, sizeof tld_loaded, "%s", path);
	return 0;
}

void
dmarc_org_domain(const char *domain, char *out, size_t outlen)
{
	if (tld_loaded[0] == '\0' ||
	    opendmarc_get_tld((u_char *)domain, (u_char *)out, outlen) != 0 || out[0] == '\0')
		snprintf(out, outlen, "%s", domain);
}

/* ---- record discovery (RFC 7489 6.6.3) -------------------------------------------- */

/* RFC 7489 6.4: a record starts with "v=DMARC1" (exactly), WSP allowed
 * around "=", then ";" or the end. */
static int
is_dmarc_record(const char *r)
{
	r += strspn(r, " \t");
	if (*r++ != 'v')
		return 0;
	r += strspn(r, " \t");
	if (*r++ != '=')
		return 0;
	r += strspn(r, " \t");
	if (strncmp(r, "DMARC1", 6) != 0)
		return 0;
	r += 6;
	r += strspn(r, " \t");
	return *r == ';' || *r == '\0';
}

enum discover { DISC_FOUND, DISC_NONE, DISC_MANY, DISC_TEMPFAIL };

static enum discover
discover_at(const struct dmarc_input *in, const char *domain, char *rec, size_t reclen)
{
	struct strlist txt = { 0 };
	char name[DMARC_DOMAIN_MAX + 8];
	enum txtlookup_status st;
	int found = 0;

	snprintf(name, sizeof name, "_dmarc.%s", domain);
	st = in->lookup(in->lookup_arg, name, &txt);
	if (st == TXTLOOKUP_TEMPFAIL) {
		strlist_free(&txt);
		return DISC_TEMPFAIL;
	}
	for (size_t i = 0; i < txt.n; i++) {
		if (!is_dmarc_record(txt.v[i]))
			continue; /* RFC 7489 6.6.3 step 2: discard other records */
		if (found++ == 0)
			snprintf(rec, reclen, "%s", txt.v[i]);
	}
	strlist_free(&txt);
	return found == 0 ? DISC_NONE : found == 1 ? DISC_FOUND : DISC_MANY;
}

/* ---- evaluation --------------------------------------------------------------------- */

static const char *
policy_word(int p)
{
	switch (p) {
	case DMARC_RECORD_P_NONE:
		return "none";
	case DMARC_RECORD_P_QUARANTINE:
		return "quarantine";
	case DMARC_RECORD_P_REJECT:
		return "reject";
	}
	return "";
}

static int
spf_outcome(enum dmarc_spf s)
{
	switch (s) {
	case DMARC_SPF_PASS:
		return DMARC_POLICY_SPF_OUTCOME_PASS;
	case DMARC_SPF_FAIL:
	case DMARC_SPF_PERMERROR:
		return DMARC_POLICY_SPF_OUTCOME_FAIL;
	case DMARC_SPF_TEMPERROR:
		return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	case DMARC_SPF_NONE:
		break;
	}
	return DMARC_POLICY_SPF_OUTCOME_NONE;
}

static int
dkim_outcome(const struct dkimv_sig *s)
{
	if (s->status == DKIMV_PASS)
		return DMARC_POLICY_DKIM_OUTCOME_PASS;
	if (s->temperror)
		return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	return DMARC_POLICY_DKIM_OUTCOME_FAIL;
}

/* Hand the authentication results to the library. */
static int
store_results(DMARC_POLICY_T *ctx, const struct dmarc_input *in)
{
	if (in->spf_domain != NULL && in->spf_domain[0] != '\0' &&
	    opendmarc_policy_store_spf(ctx, (u_char *)in->spf_domain, spf_outcome(in->spf),
	                               in->spf_helo ? DMARC_POLICY_SPF_ORIGIN_HELO
	                                            : DMARC_POLICY_SPF_ORIGIN_MAILFROM,
	                               NULL) != DMARC_PARSE_OKAY)
		return -1;
	for (size_t i = 0; in->dkim != NULL && i < in->dkim->n; i++) {
		const struct dkimv_sig *s = &in->dkim->sigs[i];
		if (s->domain[0] == '\0')
			continue;
		if (opendmarc_policy_store_dkim(ctx, (u_char *)s->domain, (u_char *)s->selector,
		                                dkim_outcome(s), NULL) != DMARC_PARSE_OKAY)
			return -1;
	}
	return 0;
}

/* Read back what the record said; fill the URI lists. */
static void
fetch_record_facts(DMARC_POLICY_T *ctx, struct dmarc_verdict *v)
{
	u_char list[2048];
	u_char **uris;
	int x = 0;

	if (opendmarc_policy_fetch_adkim(ctx, &x) == DMARC_PARSE_OKAY)
		v->adkim = x == DMARC_RECORD_A_STRICT ? 's' : 'r';
	if (opendmarc_policy_fetch_aspf(ctx, &x) == DMARC_PARSE_OKAY)
		v->aspf = x == DMARC_RECORD_A_STRICT ? 's' : 'r';
	if (opendmarc_policy_fetch_p(ctx, &x) == DMARC_PARSE_OKAY)
		v->p = (char)x;
	if (opendmarc_policy_fetch_sp(ctx, &x) == DMARC_PARSE_OKAY)
		v->sp = (char)x;
	v->pct = 100;
	if (opendmarc_policy_fetch_pct(ctx, &x) == DMARC_PARSE_OKAY)
		v->pct = x;
	if (opendmarc_policy_fetch_fo(ctx, &x) == DMARC_PARSE_OKAY)
		v->fo = x;
	uris = opendmarc_policy_fetch_rua(ctx, list, sizeof list, 1);
	for (size_t i = 0; uris != NULL && uris[i] != NULL; i++)
		if (strlist_push(&v->rua, (const char *)uris[i]) != 0)
			break;
	uris = opendmarc_policy_fetch_ruf(ctx, list, sizeof list, 1);
	for (size_t i = 0; uris != NULL && uris[i] != NULL; i++)
		if (strlist_push(&v->ruf, (const char *)uris[i]) != 0)
			break;
}

/* RFC 7489 3.1.1, 3.1.2: in strict mode only an exact match aligns.
 * libopendmarc 1.4.2 also accepts an authenticated subdomain of the From:
 * domain in strict mode (its check compares one way only), so strict
 * alignment is decided here; a message that loses its only aligned pass
 * gets the policy (p= or sp=) the library would have applied. */
static void
strict_realign(const struct dmarc_input *in, struct dmarc_verdict *v, int *pol)
{
	int exact_dkim = 0, exact_spf = 0;

	for (size_t i = 0; in->dkim != NULL && i < in->dkim->n; i++)
		if (in->dkim->sigs[i].status == DKIMV_PASS &&
		    strcasecmp(in->dkim->sigs[i].domain, v->from_domain) == 0)
			exact_dkim = 1;
	exact_spf = in->spf == DMARC_SPF_PASS && in->spf_domain != NULL &&
	            strcasecmp(in->spf_domain, v->from_domain) == 0;
	if (v->adkim == 's' && v->dkim_aligned && !exact_dkim)
		v->dkim_aligned = 0;
	if (v->aspf == 's' && v->spf_aligned && !exact_spf)
		v->spf_aligned = 0;
	if (*pol != DMARC_POLICY_PASS || v->dkim_aligned || v->spf_aligned)
		return;
	*pol = strcmp(v->domain_policy, "reject") == 0       ? DMARC_POLICY_REJECT
	       : strcmp(v->domain_policy, "quarantine") == 0 ? DMARC_POLICY_QUARANTINE
	                                                     : DMARC_POLICY_NONE;
}

/* The library's verdict, then pct (RFC 7489 6.6.4: a message not sampled
 * gets the next less strict policy). */
static void
apply_policy(DMARC_POLICY_T *ctx, const struct dmarc_input *in, struct dmarc_verdict *v)
{
	int pol = opendmarc_get_policy_to_enforce(ctx), p = 0, da = 0, sa = 0;

	v->used_sp = opendmarc_get_policy_token_used(ctx) == DMARC_USED_POLICY_IS_SP;
	if ((v->used_sp ? opendmarc_policy_fetch_sp(ctx, &p) : opendmarc_policy_fetch_p(ctx, &p)) ==
	    DMARC_PARSE_OKAY)
		snprintf(v->domain_policy, sizeof v->domain_policy, "%s", policy_word(p));
	if (v->used_sp && v->domain_policy[0] == '\0' &&
	    opendmarc_policy_fetch_p(ctx, &p) == DMARC_PARSE_OKAY)
		snprintf(v->domain_policy, sizeof v->domain_policy, "%s", policy_word(p));
	if (opendmarc_policy_fetch_alignment(ctx, &da, &sa) == DMARC_PARSE_OKAY) {
		v->dkim_aligned = da == DMARC_POLICY_DKIM_ALIGNMENT_PASS;
		v->spf_aligned = sa == DMARC_POLICY_SPF_ALIGNMENT_PASS;
	}
	strict_realign(in, v, &pol);
	switch (pol) {
	case DMARC_POLICY_PASS:
		v->status = DMARC_ACCEPT;
		break;
	case DMARC_POLICY_REJECT:
		v->status = DMARC_REJECT;
		break;
	case DMARC_POLICY_QUARANTINE:
		v->status = DMARC_QUARANTINE;
		break;
	case DMARC_POLICY_NONE:
		v->status = DMARC_NONE;
		break;
	case DMARC_POLICY_ABSENT:
		v->status = DMARC_NORECORD;
		break;
	default:
		v->status = DMARC_TEMPERROR;
		snprintf(v->why, sizeof v->why, "libopendmarc: %s",
		         opendmarc_policy_status_to_str(pol));
		return;
	}
	if ((v->status == DMARC_REJECT || v->status == DMARC_QUARANTINE) && v->pct < 100 &&
	    (int)in->pct_roll >= v->pct) {
		v->status = v->status == DMARC_REJECT ? DMARC_QUARANTINE : DMARC_NONE;
		v->pct_sampled_down = 1;
	}
}

static const char *const status_texts[DMARC_NSTATUS] = {
	"Accept",          "Reject",
	"Quarantine",      "None, Accept",
	"No DMARC record", "No From: domain found",
	"Temporary error", "DMARC checking disabled",
};

static void
copy_inputs(const struct dmarc_input *in, struct dmarc_verdict *v)
{
	v->spf = in->spf;
	v->spf_helo = in->spf_helo;
	snprintf(v->spf_domain, sizeof v->spf_domain, "%s", in->spf_domain ? in->spf_domain : "");
	v->adkim = v->aspf = 'r';
	v->pct = 100;
}

/* Discovery at the From: domain, then the organizational domain. */
static enum discover
discover(const struct dmarc_input *in, struct dmarc_verdict *v, int *at_org)
{
	enum discover d = discover_at(in, v->from_domain, v->record, sizeof v->record);

	*at_org = 0;
	if (d == DISC_NONE && strcmp(v->org_domain, v->from_domain) != 0) {
		d = discover_at(in, v->org_domain, v->record, sizeof v->record);
		*at_org = 1;
	}
	snprintf(v->used_domain, sizeof v->used_domain, "%s",
	         *at_org && d == DISC_FOUND ? v->org_domain : v->from_domain);
	return d;
}

/* The value of tag `tag` in a record ("" when absent). */
static void
record_tag(const char *rec, const char *tag, char *out, size_t outlen)
{
	size_t tl = strlen(tag);

	out[0] = '\0';
	for (const char *p = rec; p != NULL; p = strchr(p, ';')) {
		p += *p == ';';
		p += strspn(p, " \t");
		if (strncmp(p, tag, tl) != 0)
			continue;
		const char *v = p + tl + strspn(p + tl, " \t");
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t");
		size_t n = strcspn(v, ";");
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		snprintf(out, outlen, "%.*s", (int)n, v);
		return;
	}
}

/* Give the record to the library.  RFC 7489 6.6.3: a record without a
 * valid p= that names a rua= URI is taken as "p=none" with that rua=;
 * without one, there is no policy (-1). */
static DMARC_POLICY_T *
ctx_new(const struct dmarc_input *in, const char *from_domain)
{
	int v6 = in->ip != NULL && strchr(in->ip, ':') != NULL;
	DMARC_POLICY_T *ctx = opendmarc_policy_connect_init((u_char *)(in->ip ? in->ip : "0.0.0.0"),
	                                                    v6 ? DMARC_POLICY_IP_TYPE_IPV6
	                                                       : DMARC_POLICY_IP_TYPE_IPV4);

	if (ctx != NULL &&
	    opendmarc_policy_store_from_domain(ctx, (u_char *)from_domain) != DMARC_PARSE_OKAY)
		ctx = opendmarc_policy_connect_shutdown(ctx);
	return ctx;
}

/* Give the record to the library (a fresh context each try: a failed
 * parse leaves the old one unusable).  RFC 7489 6.6.3: a record without a
 * valid p= that names a rua= URI is taken as "p=none" with that rua=;
 * without one there is no policy: 1.  0 with *ctxp ready; -1 out of memory. */
static int
store_record(DMARC_POLICY_T **ctxp, const struct dmarc_input *in, struct dmarc_verdict *v,
             int at_org)
{
	u_char *org = at_org ? (u_char *)v->org_domain : NULL;
	char rua[400], fixed[sizeof v->record];
	int st;

	/* The From: domain, not where the record was found: libopendmarc
	 * aligns against the domain given here, and takes the record from the
	 * organizational domain (and sp=) when `org` is set. */
	if ((*ctxp = ctx_new(in, v->from_domain)) == NULL)
		return -1;
	st = opendmarc_policy_store_dmarc(*ctxp, (u_char *)v->record, (u_char *)v->from_domain,
	                                  org);
	if (st == DMARC_PARSE_OKAY)
		return 0;
	record_tag(v->record, "rua", rua, sizeof rua);
	if (strncasecmp(rua, "mailto:", 7) != 0)
		return 1;
	snprintf(fixed, sizeof fixed, "v=DMARC1; p=none; rua=%s", rua);
	opendmarc_policy_connect_shutdown(*ctxp);
	if ((*ctxp = ctx_new(in, v->from_domain)) == NULL)
		return -1;
	if (opendmarc_policy_store_dmarc(*ctxp, (u_char *)fixed, (u_char *)v->from_domain, org) !=
	    DMARC_PARSE_OKAY)
		return 1;
	snprintf(v->record, sizeof v->record, "%s", fixed);
	return 0;
}

/* The whole check for one author domain (RFC 7489 6.6.2 to 6.6.4): `out`
 * is zeroed and filled.  0 with a status; -1 with `e` filled. */
static int
evaluate_domain(const struct dmarc_input *in, const char *domain, struct dmarc_verdict *out,
                struct err *e)
{
	DMARC_POLICY_T *ctx = NULL;
	int at_org = 0, rc = -1, st;
	enum discover d;

	memset(out, 0, sizeof *out);
	copy_inputs(in, out);
	snprintf(out->from_domain, sizeof out->from_domain, "%s", domain);
	/* RFC 7489 3.2: the organizational domain from the public suffix list. */
	dmarc_org_domain(out->from_domain, out->org_domain, sizeof out->org_domain);
	d = discover(in, out, &at_org);
	if (d != DISC_FOUND) {
		out->status = d == DISC_TEMPFAIL ? DMARC_TEMPERROR : DMARC_NORECORD;
		snprintf(out->why, sizeof out->why, "%s",
		         d == DISC_TEMPFAIL ? "DNS error looking up the DMARC record"
		         : d == DISC_MANY   ? "more than one DMARC record (RFC 7489 6.6.3)"
		                            : "no DMARC record");
		out->record[0] = '\0';
		rc = 0;
		goto out;
	}
	/* The record first: libopendmarc aligns each result as it is stored,
	 * with the adkim= / aspf= it knows by then. */
	st = store_record(&ctx, in, out, at_org);
	if (st < 0) {
		err_set(e, DMARC_ERR_LIB, "libopendmarc: out of memory");
		goto out;
	}
	if (st > 0) {
		out->status = DMARC_NORECORD;
		snprintf(out->why, sizeof out->why, "unusable DMARC record at _dmarc.%s",
		         out->used_domain);
		out->record[0] = '\0';
		rc = 0;
		goto out;
	}
	if (store_results(ctx, in) != 0) {
		err_set(e, DMARC_ERR_LIB, "libopendmarc refused the authentication results");
		goto out;
	}
	fetch_record_facts(ctx, out);
	apply_policy(ctx, in, out);
	rc = 0;
out:
	out->status_text = status_texts[out->status];
	if (ctx != NULL)
		opendmarc_policy_connect_shutdown(ctx);
	return rc;
}

/* RFC 7489 6.6.1: a From: with mailboxes in several domains is checked
 * once per distinct author domain, and the most strict verdict among them
 * is the message's (dmarc_status_strictness; on a tie the earlier domain,
 * so when all pass the first domain's pass).  One libopendmarc context per
 * domain: the library takes one From: domain per context. */
int
dmarc_evaluate(const struct dmarc_input *in, struct dmarc_verdict *out, struct err *e)
{
	struct strlist doms = { 0 };
	struct dmarc_verdict one;
	int rc = 0;

	memset(out, 0, sizeof *out);
	copy_inputs(in, out);
	if (tld_loaded[0] == '\0') {
		err_set(e, DMARC_ERR_TLD, "no public suffix list loaded (dmarc_tld_file)");
		out->status_text = status_texts[out->status];
		return -1;
	}
	if (dmarc_from_domains(in->msg, in->len, &doms, out->why, sizeof out->why) != 0) {
		out->status = DMARC_NOFROM;
		out->status_text = status_texts[DMARC_NOFROM];
		return 0;
	}
	rc = evaluate_domain(in, doms.v[0], out, e);
	for (size_t i = 1; rc == 0 && i < doms.n; i++) {
		rc = evaluate_domain(in, doms.v[i], &one, e);
		if (rc == 0 &&
		    dmarc_status_strictness(one.status) > dmarc_status_strictness(out->status)) {
			dmarc_verdict_free(out);
			*out = one; /* takes its lists */
		} else {
			dmarc_verdict_free(&one);
		}
	}
	strlist_free(&doms);
	return rc;
}

void
dmarc_verdict_off(struct dmarc_verdict *out)
{
	memset(out, 0, sizeof *out);
	out->status = DMARC_OFF;
	out->status_text = status_texts[DMARC_OFF];
	out->adkim = out->aspf = 'r';
	out->pct = 100;
}

void
dmarc_verdict_free(struct dmarc_verdict *v)
{
	if (v == NULL)
		return;
	strlist_free(&v->rua);
	strlist_free(&v->ruf);
	memset(v, 0, sizeof *v);
}

static const char *const status_words[DMARC_NSTATUS] = {
	"accept", "reject", "quarantine", "none", "norecord", "nofrom", "temperror", "off",
};

const char *
dmarc_status_word(enum dmarc_status s)
{
	return (unsigned)s < DMARC_NSTATUS ? status_words[s] : "temperror";
}

int
dmarc_status_parse(const char *word, enum dmarc_status *out)
{
	for (unsigned i = 0; i < DMARC_NSTATUS; i++)
		if (strcmp(word, status_words[i]) == 0) {
			*out = (enum dmarc_status)i;
			return 0;
		}
	return -1;
}

const char *
dmarc_spf_word(enum dmarc_spf s)
{
	static const char *const w[] = { "none", "pass", "fail", "temperror", "permerror" };

	return (unsigned)s < 5 ? w[s] : "none";
}

/* RFC 7489 11.2: pass, fail, none, temperror, permerror; the policy and
 * its disposition in a comment as common practice writes them. */
void
dmarc_authres_append(struct buf *b, const struct dmarc_verdict *v)
{
	const char *res = "fail";

	switch (v->status) {
	case DMARC_OFF:
		return;
	case DMARC_ACCEPT:
		res = "pass";
		break;
	case DMARC_NORECORD:
		res = "none";
		break;
	case DMARC_NOFROM:
		res = "permerror";
		break;
	case DMARC_TEMPERROR:
		res = "temperror";
		break;
	case DMARC_REJECT:
	case DMARC_QUARANTINE:
	case DMARC_NONE:
		break;
	}
	buf_addf(b, "; dmarc=%s", res);
	if (v->domain_policy[0] != '\0')
		buf_addf(b, " (p=%s dis=%s)", v->domain_policy,
		         v->status == DMARC_ACCEPT ? "none" : dmarc_status_word(v->status));
	if (v->from_domain[0] != '\0')
		buf_addf(b, " header.from=%s", v->from_domain);
}
