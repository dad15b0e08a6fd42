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

/* A host-level failure before any connection: `what` says why. */
static enum smtp_step
dane_host_fail(struct smtp_run *R, const char *status, const char *what)
{
	struct smtp_host_facts f = { 0 };

	snprintf(f.name, sizeof f.name, "%s", R->h->name);
	snprintf(f.address, sizeof f.address, "%s", R->h->address);
	f.port = R->port;
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

enum smtp_step
smtp_dane_prepare(struct smtp_run *R)
{
	const struct smtp_transport *t = R->d->t;
	struct smtp_dane *d = &R->dane;
	struct err e = { 0 };
	char qname[300], msg[600];
	int require, try;

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
		return dane_host_fail(R, "4.7.5",
		                      "DANE required but the MX or address lookup was not "
		                      "DNSSEC-secure");
	}
	snprintf(d->base, sizeof d->base, "%s", R->h->name);
	snprintf(qname, sizeof qname, "_%u._tcp.%s", R->port, d->base);
	if (R->d->lookup(R->d->lookup_arg, qname, RESOLVER_TLSA, &d->answer, &e) != 0)
		d->answer.status = RESOLVER_TEMPFAIL;
	if (R->d->cfg->log_dns) { /* as the router logs its lookups (router.h) */
		char text[1200];
		resolver_answer_format(&d->answer, RESOLVER_TLSA, qname, text, sizeof text);
		log_write("%s DNS %s", R->d->message_id != NULL ? R->d->message_id : "-", text);
	}
	switch (d->answer.status) {
	case RESOLVER_SECURE:
		if (dane_take(d) > 0) {
			d->use = 1;
			return SMTP_STEP_OK;
		}
		snprintf(msg, sizeof msg, "DANE: TLSA %s has no usable record", qname);
		break;
	case RESOLVER_NXDOMAIN:
	case RESOLVER_NODATA:
		if (!d->answer.secure) {
			snprintf(msg, sizeof msg, "DANE: TLSA lookup for %s insecure", qname);
			break;
		}
		snprintf(msg, sizeof msg, "DANE: no TLSA record at %s", qname);
		break;
	case RESOLVER_INSECURE:
		snprintf(msg, sizeof msg, "DANE: TLSA lookup for %s insecure", qname);
		break;
	default:
		/* RFC 7672 2.1.1: bogus or unanswered TLSA: never in clear, defer. */
		snprintf(msg, sizeof msg, "DANE: TLSA lookup for %s %s", qname,
		         resolver_status_word(d->answer.status));
		smtp_dane_clear(d);
		return dane_host_fail(R, "4.7.5", msg);
	}
	if (require) {
		char why[700];
		snprintf(why, sizeof why, "%s (hosts_require_dane)", msg);
		smtp_dane_clear(d);
		return dane_host_fail(R, "4.7.5", why);
	}
	if (d->answer.status == RESOLVER_INSECURE ||
	    ((d->answer.status == RESOLVER_NXDOMAIN || d->answer.status == RESOLVER_NODATA) &&
	     !d->answer.secure)) {
		struct smtp_host_facts f = { 0 };
		snprintf(f.name, sizeof f.name, "%s", R->h->name);
		snprintf(f.address, sizeof f.address, "%s", R->h->address);
		f.port = R->port;
		smtp_host_log(R, &f, "%s; not using DANE", msg);
	}
	smtp_dane_clear(d);
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

enum smtp_step
smtp_dane_verdict(struct smtp_run *R, struct smtp_conn *c)
{
	/* RFC 7672 3.2.2: DANE-TA's reference identifiers: the TLSA base name
	 * and the MX host name (the same name until CNAMEs are followed). */
	const char *names[] = { R->dane.base, R->h->name };
	const struct tls_info *ti = tls_conn_info(c->tls);
	char msg[300];

	if (tls_conn_dane_check_names(c->tls, names, 2)) {
		c->facts.cv = 1;
		c->facts.dane = 1;
		c->facts.tlsa_usage = 1u << ti->dane_usage;
		c->facts.cv_reason[0] = '\0';
		return SMTP_STEP_OK;
	}
	/* The log word for CV=no (...): what DANE decided. */
	snprintf(c->facts.cv_reason, sizeof c->facts.cv_reason, "%s",
	         ti->dane_name_mismatch ? "dane-name-mismatch" : "dane-no-match");
	snprintf(msg, sizeof msg, "TLS session: DANE verification failed: %s",
	         ti->dane_name_mismatch ? "DANE-TA matched but the name did not"
	                                : "no TLSA record matched");
	smtp_host_fail_error(R, &c->facts, "4.7.5", msg);
	smtp_conn_quit(c); /* inside TLS: the handshake itself worked */
	return SMTP_STEP_DONE;
}
