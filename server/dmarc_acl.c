/*
 * dmarc_acl.c - the ACL conditions of DKIM and DMARC (dmarc_session.h):
 *   dmarc_status = LIST   the seed's words (accept reject quarantine none
 *                         norecord nofrom temperror off), "!" inverting one
 *   dkim_status = LIST    none pass fail invalid, of the signature
 *                         $dkim_verify_status shows
 *   dkim_signers = LIST   a domain list matched against every signing
 *                         domain whose signature passed (Exim's name)
 * Left to right, the first item that holds makes the condition true (the
 * seed's rule, as for spf).  Before the message is in (any ACL but
 * acl_smtp_data) the results are not known: the statement does not fire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "config.h"
#include "dmarc_session.h"
#include "match.h"

typedef int (*word_parse_fn)(const char *word, int *out);

static int
parse_dmarc_word(const char *w, int *out)
{
	enum dmarc_status s;

	if (dmarc_status_parse(w, &s) != 0)
		return -1;
	*out = (int)s;
	return 0;
}

static int
parse_dkim_word(const char *w, int *out)
{
	enum dkimv_status s;

	if (dkimv_status_parse(w, &s) != 0)
		return -1;
	*out = (int)s;
	return 0;
}

static int
check_list(const char *cond, const char *value, word_parse_fn parse, const char *words,
           struct err *e)
{
	struct strlist l = { 0 };
	int rc = 0, x;

	if (strlist_split(&l, value) != 0) {
		err_set(e, 0, "out of memory");
		return -1;
	}
	if (l.n == 0) {
		err_set(e, 0, "%s: expected a list of results (%s)", cond, words);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		if (parse(l.v[i] + (l.v[i][0] == '!'), &x) != 0) {
			err_set(e, 0, "%s: unknown result \"%s\" (use %s)", cond, l.v[i], words);
			rc = -1;
		}
	strlist_free(&l);
	return rc;
}

#define DMARC_WORDS "accept, reject, quarantine, none, norecord, nofrom, temperror, off"
#define DKIM_WORDS "none, pass, fail, invalid"

static int
check_dmarc_status(const char *value, struct err *e)
{
	return check_list("dmarc_status", value, parse_dmarc_word, DMARC_WORDS, e);
}

static int
check_dkim_status(const char *value, struct err *e)
{
	return check_list("dkim_status", value, parse_dkim_word, DKIM_WORDS, e);
}

/* Any item holds ("!word": the result is not word). */
static enum acl_cond
eval_list(const char *value, int have, word_parse_fn parse, char *why, size_t whylen)
{
	struct strlist l = { 0 };
	enum acl_cond res = ACL_COND_FALSE;
	int x;

	if (strlist_split(&l, value) != 0) {
		snprintf(why, whylen, "out of memory");
		return ACL_COND_ERROR;
	}
	for (size_t i = 0; i < l.n && res == ACL_COND_FALSE; i++) {
		int neg = l.v[i][0] == '!';
		if (parse(l.v[i] + neg, &x) == 0 && (x == have) != neg)
			res = ACL_COND_TRUE;
	}
	strlist_free(&l);
	return res;
}

static enum acl_cond
eval_dmarc_status(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	const struct dmarc_session *d = env->dmarc;

	if (d == NULL || !d->evaluated)
		return ACL_COND_UNKNOWN;
	if (d->cfg != NULL && d->cfg->dmarc_tld_file == NULL) {
		/* Never fail open: without the suffix list there is no DMARC. */
		snprintf(why, whylen, "dmarc_status: dmarc_tld_file is not set");
		return ACL_COND_ERROR;
	}
	return eval_list(value, (int)d->verdict.status, parse_dmarc_word, why, whylen);
}

static enum acl_cond
eval_dkim_status(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	const struct dmarc_session *d = env->dmarc;
	const struct dkimv_sig *best;

	if (d == NULL || !d->evaluated)
		return ACL_COND_UNKNOWN;
	best = dkimv_result_best(&d->dkim);
	return eval_list(value, best ? (int)best->status : (int)DKIMV_NONE, parse_dkim_word, why,
	                 whylen);
}

static enum acl_cond
eval_dkim_signers(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	const struct dmarc_session *d = env->dmarc;
	enum acl_cond res = ACL_COND_FALSE;
	char *list;

	if (d == NULL || !d->evaluated)
		return ACL_COND_UNKNOWN;
	list = expand_string(value, &env->vars);
	if (list == NULL) {
		snprintf(why, whylen, "out of memory");
		return ACL_COND_ERROR;
	}
	for (size_t i = 0; i < d->dkim.n && res == ACL_COND_FALSE; i++)
		if (d->dkim.sigs[i].status == DKIMV_PASS &&
		    match_domain(list, d->dkim.sigs[i].domain))
			res = ACL_COND_TRUE;
	free(list);
	return res;
}

static const struct acl_condition dmarc_conditions[] = {
	{ "dmarc_status", check_dmarc_status, eval_dmarc_status },
	{ "dkim_status", check_dkim_status, eval_dkim_status },
	{ "dkim_signers", NULL, eval_dkim_signers },
};

void
dmarc_acl_register(void)
{
	for (size_t i = 0; i < sizeof dmarc_conditions / sizeof dmarc_conditions[0]; i++)
		if (acl_condition_register(&dmarc_conditions[i]) != 0)
			abort(); /* a duplicate name: a programming error */
}
