/*
 * deliver_smtp_ocsp.c - the smtp transport's OCSP policy (seed "OCSP
 * Stapling support": hosts_request_ocsp, hosts_require_ocsp).
 *
 * Asking: a host in either list gets status_request (RFC 6066 8).  Judging:
 * the staple is checked by lib/tls_ocsp.h against the peer's leaf and its
 * issuer (the same words on both backends), and becomes Exim's
 * $tls_out_ocsp state: 0 not requested, 1 requested but none came, 2 came
 * but could not be verified (no tls_verify_certificates: the issuer it
 * would be checked against is not trusted), 3 came and failed (revoked,
 * unknown, expired, bad signer, ...), 4 verified good.  A host in
 * hosts_require_ocsp with anything but 4 is refused (the caller QUITs
 * inside TLS and goes on to the next host); a host only requested is
 * logged when its staple failed, and the delivery goes on.  Never names a
 * TLS library.
 *
 * Under DANE (seed, DANE section; docs/dane.md "OCSP"): hosts_request_ocsp
 * of "*" (its default) becomes Exim's `${if or {{= {0}{$tls_out_tlsa_usage}}
 * {= {4}{$tls_out_tlsa_usage}}} {*}{}}`: ask only when every usable TLSA
 * record is DANE-TA (usage 2, bit value 4).  Host lists are expanded
 * before the TLSA lookup (deliver_smtp_expand.c), so $tls_out_tlsa_usage
 * is not known to them: that rule is written here directly.  A staple is
 * verified (4) under DANE only when DANE-TA matched: the chain, issuer
 * included, then leads to the TLSA trust anchor; DANE-EE authenticates the
 * leaf's key alone, so its issuer is untrusted and a staple is 2, as
 * without tls_verify_certificates.  hosts_require_ocsp still applies.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "deliver_smtp_int.h"
#include "match.h"
#include "tls_ocsp.h"

/* $tls_out_tlsa_usage as the seed's default sees it before the handshake:
 * bit N for each usable usage-N record found. */
unsigned
smtp_dane_record_usages(const struct smtp_dane *d)
{
	unsigned bits = 0;

	for (size_t i = 0; i < d->ntlsa; i++)
		if (d->tlsa[i].usage < 8)
			bits |= 1u << d->tlsa[i].usage;
	return bits;
}

int
smtp_ocsp_wanted(const struct smtp_run *R, const char *address)
{
	const struct smtp_transport *t = R->d->t;
	/* The seed: the changed default applies only when the option "has the
	 * default value of "*"" as configured, not when an expansion gave "*". */
	const struct smtp_transport *conf = R->t_orig != NULL ? R->t_orig : t;

	if (match_host(t->hosts_require_ocsp, address))
		return 1;
	if (R->dane.use && conf->hosts_request_ocsp != NULL &&
	    strcmp(conf->hosts_request_ocsp, "*") == 0)
		return smtp_dane_record_usages(&R->dane) == 1u << 2; /* only DANE-TA */
	return match_host(t->hosts_request_ocsp, address);
}

int
smtp_ocsp_check(struct smtp_run *R, struct smtp_conn *c, char *msg, size_t len)
{
	const struct smtp_transport *t = R->d->t;
	struct smtp_host_facts *f = &c->facts;
	int required = match_host(t->hosts_require_ocsp, f->address);
	enum tls_ocsp_verdict v;

	f->ocsp_required = required;
	if (!smtp_ocsp_wanted(R, f->address)) {
		f->ocsp = 0;
		snprintf(f->ocsp_word, sizeof f->ocsp_word, "not-requested");
		return 0;
	}
	/* Real time: the staple and the chain are about certificates on the
	 * real clock, as the TLS library judges the chain (test_clock freezes
	 * only logs and ids). */
	v = tls_conn_check_staple(c->tls, time(NULL), NULL);
	snprintf(f->ocsp_word, sizeof f->ocsp_word, "%s", tls_ocsp_word(v));
	if (v == TLS_OCSP_MISSING)
		f->ocsp = 1;
	else if (R->dane.use ? !(f->dane && f->tlsa_usage == 1u << 2)
	                     : t->tls_verify_certificates == NULL)
		f->ocsp = 2; /* the issuer is not trusted: see the top of this file */
	else
		f->ocsp = v == TLS_OCSP_GOOD ? 4 : 3;
	if (f->ocsp == 4)
		return 0;
	if (required) {
		if (f->ocsp == 2)
			snprintf(msg, len, "TLS session: OCSP staple not verified (%s; %s)",
			         f->ocsp_word,
			         R->dane.use ? "DANE-EE authenticates the leaf only"
			                     : "no tls_verify_certificates");
		else
			snprintf(msg, len, "TLS session: OCSP staple %s", f->ocsp_word);
		return -1;
	}
	if (f->ocsp == 3)
		smtp_host_log(R, f, "TLS session: OCSP staple %s (requested, not required)",
		              f->ocsp_word);
	return 0;
}
