/*
 * dmarc_query.c - one DMARC evaluation through server/dmarc.c with every
 * input given on stdin, for the DMARC suite (tests/e2e/dmarc_suite.py,
 * conformance/dmarc/).  DNS answers come from the input, not a server:
 * the suite tests the policy rules of RFC 7489; scenarios test the DNS path.
 *
 * Input, one item per line, then the message after a line "msg":
 *   tld PATH                      the public suffix list
 *   txt NAME TEXT                 a TXT record (several lines: several records)
 *   timeout NAME                  a lookup of NAME fails temporarily
 *   spf RESULT DOMAIN [helo]      none pass fail temperror permerror
 *   dkim DOMAIN SELECTOR RESULT   pass fail invalid temperror
 *   roll N                        the pct= roll, 0..99 (default 0)
 * Output: "key value" lines (status, policy, used_domain, from_domain,
 * org_domain, spf_aligned, dkim_aligned, pct_sampled_down, forensic, why).
 * Exit 0, or 2 on bad input or an evaluation error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dmarc.h"

struct zone {
	struct strlist names, texts; /* parallel; text NULL-marked "\001" = timeout */
};

static enum txtlookup_status
zone_lookup(void *arg, const char *name, struct strlist *out)
{
	struct zone *z = arg;
	int any = 0;

	printf("query %s\n", name);
	for (size_t i = 0; i < z->names.n; i++) {
		if (strcasecmp(z->names.v[i], name) != 0)
			continue;
		if (strcmp(z->texts.v[i], "\001") == 0)
			return TXTLOOKUP_TEMPFAIL;
		if (strlist_push(out, z->texts.v[i]) != 0)
			return TXTLOOKUP_TEMPFAIL;
		any = 1;
	}
	return any ? TXTLOOKUP_FOUND : TXTLOOKUP_NONE;
}

static int
parse_spf(const char *w, enum dmarc_spf *out)
{
	static const char *const words[] = { "none", "pass", "fail", "temperror", "permerror" };

	for (int i = 0; i < 5; i++)
		if (strcmp(w, words[i]) == 0) {
			*out = (enum dmarc_spf)i;
			return 0;
		}
	return -1;
}

static int
add_dkim(struct dkimv_result *r, const char *dom, const char *sel, const char *res)
{
	struct dkimv_sig *n = realloc(r->sigs, (r->n + 1) * sizeof *n), *s;

	if (n == NULL)
		return -1;
	r->sigs = n;
	s = &r->sigs[r->n++];
	memset(s, 0, sizeof *s);
	snprintf(s->domain, sizeof s->domain, "%s", dom);
	snprintf(s->selector, sizeof s->selector, "%s", sel);
	s->body_length = -1;
	if (strcmp(res, "pass") == 0) {
		s->status = DKIMV_PASS;
	} else if (strcmp(res, "fail") == 0) {
		s->status = DKIMV_FAIL;
	} else if (strcmp(res, "invalid") == 0) {
		s->status = DKIMV_INVALID;
	} else if (strcmp(res, "temperror") == 0) {
		s->status = DKIMV_INVALID;
		s->temperror = 1;
	} else {
		return -1;
	}
	return 0;
}

int
main(void)
{
	char line[4096], a[1024], b[1024], c[64];
	struct zone z = { 0 };
	struct dkimv_result dk = { 0 };
	struct dmarc_input in = { 0 };
	struct dmarc_verdict v = { 0 };
	struct buf msg = { 0 };
	struct err e = { 0 };
	int inmsg = 0, rc = 2;
	enum dmarc_spf spf = DMARC_SPF_NONE;
	char spf_domain[256] = "";

	while (fgets(line, sizeof line, stdin) != NULL) {
		if (inmsg) {
			buf_adds(&msg, line);
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "msg") == 0) {
			inmsg = 1;
		} else if (sscanf(line, "tld %1023s", a) == 1) {
			if (dmarc_tld_load(a, &e) != 0)
				goto bad;
		} else if (sscanf(line, "txt %1023s", a) == 1) {
			const char *t = line + 4 + strlen(a);
			t += *t == ' ';
			if (strlist_push(&z.names, a) != 0 || strlist_push(&z.texts, t) != 0)
				goto bad;
		} else if (sscanf(line, "timeout %1023s", a) == 1) {
			if (strlist_push(&z.names, a) != 0 || strlist_push(&z.texts, "\001") != 0)
				goto bad;
		} else if (sscanf(line, "spf %63s %255s", c, spf_domain) >= 1) {
			if (parse_spf(c, &spf) != 0)
				goto bad;
			in.spf_helo = strstr(line, " helo") != NULL;
		} else if (sscanf(line, "dkim %1023s %1023s %63s", a, b, c) == 3) {
			if (add_dkim(&dk, a, b, c) != 0)
				goto bad;
		} else if (sscanf(line, "roll %u", &in.pct_roll) == 1) {
			;
		} else if (line[0] != '\0') {
			snprintf(e.text, sizeof e.text, "bad input line: %s", line);
			goto bad;
		}
	}
	in.msg = msg.p ? msg.p : "";
	in.len = msg.len;
	in.ip = "192.0.2.1";
	in.spf = spf;
	in.spf_domain = spf_domain;
	in.dkim = &dk;
	in.lookup = zone_lookup;
	in.lookup_arg = &z;
	if (dmarc_evaluate(&in, &v, &e) != 0)
		goto bad;
	printf("status %s\npolicy %s\nused_domain %s\nfrom_domain %s\norg_domain %s\n",
	       dmarc_status_word(v.status), v.domain_policy, v.used_domain, v.from_domain,
	       v.org_domain);
	printf("spf_aligned %s\ndkim_aligned %s\npct_sampled_down %s\nforensic %s\nwhy %s\n",
	       v.spf_aligned ? "yes" : "no", v.dkim_aligned ? "yes" : "no",
	       v.pct_sampled_down ? "yes" : "no", dmarc_forensic_wanted(&v, &dk) ? "yes" : "no",
	       v.why);
	rc = 0;
	goto out;
bad:
	fprintf(stderr, "dmarc_query: %s\n", e.text);
out:
	dmarc_verdict_free(&v);
	free(dk.sigs);
	strlist_free(&z.names);
	strlist_free(&z.texts);
	buf_free(&msg);
	return rc;
}
