/*
 * deliver_smtp_dane.c - DANE for SMTP on the smtp transport (RFC 7672,
 * docs/dane.md): hosts_try_dane / hosts_require_dane, the TLSA lookup made
 * only after secure MX and address lookups, the decision table, the TLSA
 * records and the base name handed to the TLS layer, and the verdict after
 * the handshake.  The matching is the backends' (lib/tls_*_dane.c), the
 * usability rules lib/tls_dane.c's.  Never names a TLS library.
 *
 * "fail" (a row of the table for hosts_require_dane): the host is not used,
 * its recipients get 4.7.5 with the reason, the next host is tried and,
 * when none delivers, the message is deferred and retried until the retry
 * rules give up (then it bounces).  RFC 7672 2.2: a sender that cannot
 * authenticate a server it must authenticate delays the mail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_smtp_int.h"
#include "log.h"
#include "match.h"

void
smtp_dane_clear(struct smtp_dane *d)
{
	free(d->tlsa);
	resolver_answer_free(&d->answer);
	memset(d, 0, sizeof *d);
}

/* A host-level failure before any connection: `what` says why; `word` is
 * the dane:fail event's data (docs/events.md), raised first. */
static enum smtp_step
dane_host_fail(struct smtp_run *R, const char *word, const char *status, const char *what)
{
	struct smtp_host_facts f;

	smtp_host_facts_init(&f, R);
	(void)smtp_event(R, &f, "dane:fail", word, 0, NULL, NULL);
	smtp_host_fail_error(R, &f, status, what);
	return SMTP_STEP_DONE;
}

/* Take the usable records of a secure answer; 0 = none usable. */
static size_t
dane_take(struct smtp_dane *d)
{
	d->tlsa = calloc(d->answer.nrrs > 0 ? d->answer.nrrs : 1, sizeof *d->tlsa);
	if (d->tlsa == NULL)
		return 0;
	for (size_t i = 0; i < d->answer.nrrs; i++) {
		const struct resolver_tlsa *t = &d->answer.rrs[i].u.tlsa;
		struct tls_tlsa r = { t->usage, t->selector, t->mtype, t->data, t->len };
		if (d->answer.rrs[i].type == RESOLVER_TLSA && tls_tlsa_usable(&r))
			d->tlsa[d->ntlsa++] = r;
	}
	return d->ntlsa;
}

/* One TLSA lookup at `base`, logged as the router logs (router.h). */
static void
dane_lookup(struct smtp_run *R, const char *base, char *qname, size_t qlen)
{
	struct smtp_dane *d = &R->dane;
	struct err e = { 0 };

	resolver_answer_free(&d->answer);
	snprintf(qname, qlen, "_%u._tcp.%s", R->port, base);
	if (R->d->lookup(R->d->lookup_arg, qname, RESOLVER_TLSA, &d->answer, &e) != 0)
		d->answer.status = RESOLVER_TEMPFAIL;
	if (R->d->cfg->log_dns) {
		char text[1200];
		resolver_answer_format(&d->answer, RESOLVER_TLSA, qname, text, sizeof text);
		log_write("%s DNS %s", R->d->message_id != NULL ? R->d->message_id : "-", text);
	}
	if (d->answer.status == RESOLVER_BOGUS || d->answer.status == RESOLVER_TEMPFAIL) {
		char data[400]; /* dns:fail, the transport's (docs/events.md) */
		snprintf(data, sizeof data, "%s TLSA %s", qname,
		         resolver_status_word(d->answer.status));
		(void)smtp_event(R, NULL, "dns:fail", data, 0, NULL, NULL);
	}
}

/* Each CNAME lookup of the chain walk, logged as the router logs. */
static void
dane_chain_seen(void *arg, const char *name, const struct resolver_answer *a)
{
	struct smtp_run *R = arg;
	char text[1200];

	if (!R->d->cfg->log_dns)
		return;
	resolver_answer_format(a, RESOLVER_CNAME, name, text, sizeof text);
	log_write("%s DNS %s", R->d->message_id != NULL ? R->d->message_id : "-", text);
}

/* Why a TLSA answer gave no records to use ("" when it did); 1 = insecure. */
static int
dane_why_none(const struct resolver_answer *a, const char *qname, char *msg, size_t len)
{
	switch (a->status) {
	case RESOLVER_NXDOMAIN:
	case RESOLVER_NODATA:
		if (a->secure) {
			snprintf(msg, len, "DANE: no TLSA record at %s", qname);
			return 0;
		}
		break;
	case RESOLVER_SECURE:
		snprintf(msg, len, "DANE: TLSA %s has no usable record", qname);
		return 0;
	default:
		break;
	}
	snprintf(msg, len, "DANE: TLSA lookup for %s insecure", qname);
	return 1;
}

enum smtp_step
smtp_dane_prepare(struct smtp_run *R)
{
	const struct smtp_transport *t = R->d->t;
	struct smtp_dane *d = &R->dane;
	/* RFC 7672 2.2.2: behind a CNAME chain, its target first, then the name. */
	const char *bases[2] = { R->h->cname, R->h->name };
	char qname[300], msg[600] = "";
	int require, try, insecure = 0;

	smtp_dane_clear(d);
	require = t->hosts_require_dane != NULL && match_host(t->hosts_require_dane, R->h->address);
	try = require ||
	      (t->hosts_try_dane != NULL && match_host(t->hosts_try_dane, R->h->address));
	if (!try)
		return SMTP_STEP_OK;
	/* RFC 7672 2.2: TLSA only behind a secure MX (when there was one) and
	 * a secure address lookup; the router recorded both in `secure`. */
	if (!R->h->secure || R->d->lookup == NULL) {
		if (!require)
			return SMTP_STEP_OK;
		return dane_host_fail(R, "dane-required", "4.7.5",
		                      "DANE required but the MX or address lookup was not "
		                      "DNSSEC-secure");
	}
	/* RFC 7672 3.2.2: every name of the CNAME chain is a reference
	 * identifier; libunbound gave only its target, so walk it link by
	 * link, each validated.  A walk that fails where the address lookup
	 * was secure (a link changed, a loop, too long) leaves it unknown
	 * which names are the server's: defer, as for a bogus TLSA answer. */
	if (R->h->cname != NULL &&
	    dane_chain_walk(R->d->lookup, R->d->lookup_arg, R->h->name, R->h->cname,
	                    dane_chain_seen, R, &d->chain) != 0) {
		snprintf(msg, sizeof msg, "DANE: %s", d->chain.why);
		smtp_dane_clear(d);
		return dane_host_fail(R, require ? "dane-required" : "dnssec-invalid", "4.7.5",
		                      msg);
	}
	for (size_t b = 0; b < 2; b++) {
		if (bases[b] == NULL)
			continue;
		dane_lookup(R, bases[b], qname, sizeof qname);
		if (d->answer.status == RESOLVER_BOGUS || d->answer.status == RESOLVER_TEMPFAIL) {
			/* RFC 7672 2.1.1: unknown whether records exist: never in
			 * clear, defer, for try and require alike. */
			snprintf(msg, sizeof msg, "DANE: TLSA lookup for %s %s", qname,
			         resolver_status_word(d->answer.status));
			smtp_dane_clear(d);
			/* Exim's words: dane-required for a require host, else
			 * dnssec-invalid (docs/events.md "dane:fail"). */
			return dane_host_fail(R, require ? "dane-required" : "dnssec-invalid",
			                      "4.7.5", msg);
		}
		if (d->answer.status == RESOLVER_SECURE && dane_take(d) > 0) {
			snprintf(d->base, sizeof d->base, "%s", bases[b]);
			d->use = 1;
			return SMTP_STEP_OK;
		}
		free(d->tlsa);
		d->tlsa = NULL;
		d->ntlsa = 0;
		insecure = dane_why_none(&d->answer, qname, msg, sizeof msg);
		if (insecure && !require) {
			struct smtp_host_facts f;
			smtp_host_facts_init(&f, R);
			smtp_host_log(R, &f, "%s; not using DANE", msg);
		}
	}
	smtp_dane_clear(d);
	if (require) {
		char why[700];
		snprintf(why, sizeof why, "%s (hosts_require_dane)", msg);
		return dane_host_fail(R, "dane-required", "4.7.5", why);
	}
	return SMTP_STEP_OK;
}

void
smtp_dane_tls_opts(const struct smtp_run *R, struct tls_config *cfg, struct tls_conn_opts *opts)
{
	if (!R->dane.use)
		return;
	/* Seed, DANE section: under DANE the CA file, CRLs and the name
	 * options are ignored for the host; RFC 7672 8.1: SNI is the base name. */
	cfg->ca_file = NULL;
	cfg->crl_file = NULL;
	opts->sni = R->dane.base;
	opts->tlsa = R->dane.tlsa;
	opts->ntlsa = R->dane.ntlsa;
}

/* Which record matched at which depth (docs/dane.md "The log"): both
 * backends, the same text, from lib/tls_dane.c's neutral computation. */
static void
dane_log_match(struct smtp_run *R, const struct smtp_conn *c, const struct tls_info *ti)
{
	int k = tls_conn_dane_matched(c->tls, R->dane.tlsa, R->dane.ntlsa);
	const char *what = ti->dane_usage == TLS_TLSA_DANE_EE ? "DANE-EE: the server's certificate"
	                   : (size_t)ti->dane_depth < ti->peer_chain_len
	                           ? "DANE-TA: the trust anchor, in the server's chain"
	                           : "DANE-TA: the trust anchor, not in the server's chain";

	if (k < 0) /* cannot happen after a match: say so rather than guess */
		smtp_host_log(R, &c->facts, "DANE: matched at depth %d (%s); the record not found",
		              ti->dane_depth, what);
	else
		smtp_host_log(
		        R, &c->facts,
		        "DANE: TLSA %u %u %u (usable record %d of %zu) matched at depth %d (%s)",
		        R->dane.tlsa[k].usage, R->dane.tlsa[k].selector, R->dane.tlsa[k].mtype,
		        k + 1, R->dane.ntlsa, ti->dane_depth, what);
}

enum smtp_step
smtp_dane_verdict(struct smtp_run *R, struct smtp_conn *c)
{
	/* RFC 7672 3.2.2: DANE-TA's reference identifiers: the TLSA base name,
	 * the MX host name and every name of the CNAME chain (its target last). */
	const char *names[2 + DANE_CHAIN_MAX] = { R->dane.base, R->h->name };
	size_t nnames = 2;
	const struct tls_info *ti = tls_conn_info(c->tls);
	char msg[300];

	/* chain.names[0] is the host name itself */
	for (size_t i = 1; i <= R->dane.chain.n; i++)
		names[nnames++] = R->dane.chain.names[i];
	if (tls_conn_dane_check_names(c->tls, names, nnames)) {
		c->facts.cv = 1;
		c->facts.dane = 1;
		c->facts.tlsa_usage = 1u << ti->dane_usage;
		c->facts.cv_reason[0] = '\0';
		dane_log_match(R, c, ti);
		return SMTP_STEP_OK;
	}
	/* The log word for CV=no (...): what DANE decided. */
	snprintf(c->facts.cv_reason, sizeof c->facts.cv_reason, "%s",
	         ti->dane_name_mismatch ? "dane-name-mismatch" : "dane-no-match");
	snprintf(msg, sizeof msg, "TLS session: DANE verification failed: %s",
	         ti->dane_name_mismatch ? "DANE-TA matched but the name did not"
	                                : "no TLSA record matched");
	(void)smtp_event(R, &c->facts, "dane:fail", "validation-failure", 0, NULL, NULL);
	smtp_host_fail_error(R, &c->facts, "4.7.5", msg);
	smtp_conn_quit(c); /* inside TLS: the handshake itself worked */
	return SMTP_STEP_DONE;
}
