/*
 * spf_acl.c - SPF in the SMTP session: the session's SPF state (one check
 * per transaction and identity, made on first use), the ACL conditions
 * "spf" and "spf_guess" (the seed's result words, "!" inversion, left to
 * right), and the Authentication-Results item (RFC 8601 2.7.2).
 *
 * It never fails open: a check that cannot be made is temperror, and a
 * condition asked before MAIL FROM is "not known yet".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "config.h"
#include "log.h"
#include "resolver.h"
#include "spf.h"
#include "strlist.h"

/* ---- the session's state ------------------------------------------------------------ */

static void authres_build(struct spf_session *s);

/* The checker, made on first use; NULL (and s->failed) when it cannot be. */
static struct spf_checker *
session_checker(struct spf_session *s)
{
	struct err e = { 0 };
	struct spf_options o = { 0 };

	if (s->checker != NULL || s->failed)
		return s->checker;
	s->resolver = resolver_new(s->cfg->dns_server, s->cfg->dns_trust_anchor, &e);
	if (s->resolver != NULL) {
		o.receiver = s->cfg->primary_hostname;
		o.guess = s->cfg->spf_guess;
		s->checker = spf_checker_new(s->resolver, &o, &e);
	}
	if (s->checker == NULL) {
		s->failed = 1;
		log_write("SPF check not possible: %s", e.text);
	}
	return s->checker;
}

/* A verdict for a check that could not be made: temperror (RFC 7208 2.6.6). */
static void
verdict_unchecked(struct spf_verdict *v, const struct spf_session *s, const char *why)
{
	const char *at;

	memset(v, 0, sizeof *v);
	v->result = SPF_TEMPERROR;
	if (s->sender[0] != '\0') {
		v->sender = strdup(s->sender);
	} else if (asprintf(&v->sender, "postmaster@%s", s->helo ? s->helo : "") < 0) {
		v->sender = NULL;
	}
	v->identity = s->sender[0] != '\0' ? SPF_ID_MAILFROM : SPF_ID_HELO;
	at = v->sender ? strrchr(v->sender, '@') : NULL;
	snprintf(v->domain, sizeof v->domain, "%s", at ? at + 1 : "");
	v->header_comment = strdup(why);
	v->smtp_comment = strdup(why);
	v->received = strdup("");
	v->explanation = strdup("");
	v->problem = strdup(why);
}

/* The HELO identity (RFC 7208 2.3), checked once per name; NULL before a
 * HELO name. */
static const struct spf_verdict *
helo_verdict(struct spf_session *s)
{
	struct spf_checker *c;
	struct err e = { 0 };

	if (s->helo == NULL || s->helo[0] == '\0')
		return NULL;
	if (strcmp(s->helo_name, s->helo) != 0) {
		spf_verdict_free(&s->helo_v);
		c = session_checker(s);
		if (c == NULL ||
		    spf_check(c, s->ip, s->helo, "", SPF_ID_HELO, 0, &s->helo_v, &e) != 0) {
			struct spf_verdict *v = &s->helo_v;
			spf_verdict_free(v);
			v->result = SPF_TEMPERROR;
			v->identity = SPF_ID_HELO;
			snprintf(v->domain, sizeof v->domain, "%s", s->helo);
			v->sender = strdup("");
			v->header_comment = strdup(c == NULL ? "no SPF checker" : e.text);
			v->smtp_comment = strdup(v->header_comment ? v->header_comment : "");
			v->received = strdup("");
			v->explanation = strdup("");
			v->problem = strdup(v->smtp_comment ? v->smtp_comment : "");
		}
		snprintf(s->helo_name, sizeof s->helo_name, "%s", s->helo);
	}
	s->last = &s->helo_v;
	return s->last;
}

const struct spf_verdict *
spf_session_verdict(struct spf_session *s, int guess)
{
	struct spf_verdict *v = guess ? &s->guess : &s->mail;
	int *have = guess ? &s->have_guess : &s->have_mail;
	struct spf_checker *c;
	struct err e = { 0 };

	if (s->sender == NULL)
		return guess ? NULL : helo_verdict(s); /* no MAIL FROM yet */
	if (!*have) {
		c = session_checker(s);
		if (c == NULL)
			verdict_unchecked(v, s, "the SPF checker could not be made");
		else if (spf_check(c, s->ip, s->helo, s->sender, SPF_ID_MAILFROM, guess, v, &e) !=
		         0)
			verdict_unchecked(v, s, e.text);
		*have = 1;
	}
	s->last = v;
	authres_build(s);
	return v;
}

const struct spf_verdict *
spf_session_checked(const struct spf_session *s)
{
	return s->last;
}

/* Rebuild s->authres from what was checked. */
static void
authres_build(struct spf_session *s)
{
	struct buf b = { 0 };

	buf_addf(&b, "Authentication-Results: %s",
	         s->cfg && s->cfg->primary_hostname ? s->cfg->primary_hostname : "localhost");
	if (s->last != NULL)
		spf_authres_append(&b, s->last);
	else
		buf_adds(&b, "; none");
	snprintf(s->authres, sizeof s->authres, "%s", b.p != NULL && !b.oom ? b.p : "");
	buf_free(&b);
}

const char *
spf_session_authres(const struct spf_session *s)
{
	return s->authres[0] ? s->authres : "";
}

void
spf_session_reset(struct spf_session *s)
{
	spf_verdict_free(&s->mail);
	spf_verdict_free(&s->guess);
	s->have_mail = s->have_guess = 0;
	s->last = NULL;
	s->sender = NULL;
	authres_build(s);
}

void
spf_session_free(struct spf_session *s)
{
	if (s == NULL)
		return;
	spf_session_reset(s);
	spf_verdict_free(&s->helo_v);
	s->helo_name[0] = '\0';
	spf_checker_free(s->checker);
	resolver_free(s->resolver);
	s->checker = NULL;
	s->resolver = NULL;
	s->failed = 0;
}

/* ---- spf = LIST, spf_guess = LIST ------------------------------------------------------ */

/* Each item a result word, "!" before it inverting it (the seed's list). */
static int
check_words(const char *value, struct err *e)
{
	struct strlist l = { 0 };
	int rc = 0;

	if (strlist_split(&l, value) != 0) {
		err_set(e, 0, "out of memory");
		return -1;
	}
	if (l.n == 0) {
		err_set(e, 0,
		        "spf: expected a list of results (pass, fail, softfail, neutral, none, "
		        "permerror, temperror)");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		const char *w = l.v[i][0] == '!' ? l.v[i] + 1 : l.v[i];
		enum spf_result r;
		if (spf_result_parse(w, &r) != 0) {
			err_set(e, 0,
			        "spf: unknown result \"%s\" (use pass, fail, softfail, neutral, "
			        "none, "
			        "permerror, temperror; err_perm, err_temp)",
			        l.v[i]);
			rc = -1;
		}
	}
	strlist_free(&l);
	return rc;
}

static enum acl_cond
eval_words(const char *value, const struct acl_env *env, int guess, char *why, size_t whylen)
{
	const struct spf_verdict *v;
	struct strlist l = { 0 };
	enum acl_cond res = ACL_COND_FALSE;

	if (env->spf == NULL) {
		snprintf(why, whylen, "spf: no SPF state here");
		return ACL_COND_ERROR;
	}
	v = spf_session_verdict(env->spf, guess);
	if (v == NULL)
		return ACL_COND_UNKNOWN;
	if (strlist_split(&l, value) != 0) {
		snprintf(why, whylen, "out of memory");
		return ACL_COND_ERROR;
	}
	/* Left to right; the first item that holds decides (the seed). */
	for (size_t i = 0; i < l.n && res == ACL_COND_FALSE; i++) {
		int neg = l.v[i][0] == '!';
		enum spf_result r;
		if (spf_result_parse(l.v[i] + neg, &r) == 0 && (v->result == r) != neg)
			res = ACL_COND_TRUE;
	}
	strlist_free(&l);
	return res;
}

static enum acl_cond
eval_spf(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	return eval_words(value, env, 0, why, whylen);
}

static enum acl_cond
eval_spf_guess(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	return eval_words(value, env, 1, why, whylen);
}

static const struct acl_condition spf_conditions[] = {
	{ "spf", check_words, eval_spf },
	{ "spf_guess", check_words, eval_spf_guess },
};

void
spf_acl_register(void)
{
	for (size_t i = 0; i < sizeof spf_conditions / sizeof spf_conditions[0]; i++)
		if (acl_condition_register(&spf_conditions[i]) != 0)
			abort(); /* a duplicate name: a programming error */
}

/* ---- Authentication-Results ------------------------------------------------------------ */

void
spf_authres_append(struct buf *b, const struct spf_verdict *v)
{
	if (v == NULL)
		return;
	/* RFC 8601 2.7.2: smtp.mailfrom is the address checked, smtp.helo
	 * the HELO name; RFC 7208 9.1's result words. */
	if (v->identity == SPF_ID_HELO)
		buf_addf(b, "; spf=%s smtp.helo=%s", spf_result_word(v->result), v->domain);
	else
		buf_addf(b, "; spf=%s smtp.mailfrom=%s", spf_result_word(v->result), v->sender);
}
