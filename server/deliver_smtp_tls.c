/*
 * deliver_smtp_tls.c - STARTTLS on the smtp transport's connections and the
 * verification policy (deliver_smtp.h "TLS"): the client TLS context from
 * the transport's options, SNI, the handshake, the certificate and name
 * check, and what a failure means for the host (tls_tempfail_tryclear,
 * tls_verify_hosts).  DANE's part is deliver_smtp_dane.c (two hooks here).
 * Never names a TLS library (lib/tls.h only).
 */
#include <stdio.h>
#include <string.h>

#include "deliver_smtp_int.h"
#include "match.h"

/* The transport's command_timeout, in seconds a millisecond count can hold. */
static unsigned
handshake_secs(const struct smtp_conn *c)
{
	if (c->command_timeout == 0)
		return 300; /* a transport built by hand: the option's default */
	return c->command_timeout > 2000000 ? 2000000 : c->command_timeout;
}

/* STARTTLS and the verification policy.  SMTP_STEP_OK (over TLS or, when the
 * server refused STARTTLS and TLS is not required, still in clear),
 * SMTP_STEP_DONE, or SMTP_STEP_TRYCLEAR (c freed: reconnect without TLS). */
enum smtp_step
smtp_tls_start(struct smtp_run *R, struct smtp_conn *c, int required)
{
	const struct smtp_transport *t = R->d->t;
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	struct tls_conn_opts opts = { 0 };
	const struct tls_info *ti;
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	char msg[700];
	enum smtp_reply_read rd;
	int verify, checked, refused;

	rd = smtp_command(c, &r, &e, "STARTTLS\r\n");
	if (rd != SMTP_REPLY_OK) {
		smtp_host_fail_read(R, c, rd, &e, "after STARTTLS");
		smtp_conn_free(c);
		return SMTP_STEP_DONE;
	}
	if (r.code / 100 != 2) {
		if (required) {
			if (R->dane.use) /* Exim: offered, but TLS did not start */
				(void)smtp_event(R, &c->facts, "dane:fail", "validation-failure", 0,
				                 NULL, NULL);
			smtp_host_fail_reply(R, c, &r, "after STARTTLS");
			smtp_reply_clear(&r);
			smtp_conn_quit(c);
			return SMTP_STEP_DONE;
		}
		smtp_reply_clear(&r);
		return SMTP_STEP_OK;
	}
	smtp_reply_clear(&r);
	/* Nothing the server sent before the handshake may count (RFC 3207 4.2). */
	(void)bio_discard_input(c->io);

	cfg.ca_file = t->tls_verify_certificates;
	cfg.ciphers = t->tls_require_ciphers;
	if (t->tls_certificate != NULL) {
		cfg.certs[0].cert_file = t->tls_certificate;
		cfg.certs[0].key_file =
		        t->tls_privatekey != NULL ? t->tls_privatekey : t->tls_certificate;
		cfg.ncerts = 1;
	}
	if (R->sni[0] != '\0')
		opts.sni = R->sni; /* tls_sni expanded for this host, never an address */
	opts.request_staple = smtp_ocsp_wanted(R, c->facts.address);
	smtp_dane_tls_opts(R, &cfg, &opts);
	c->tls_ctx = tls_ctx_new(R->d->be, &cfg, &e);
	if (c->tls_ctx != NULL)
		c->tls = tls_conn_new(c->tls_ctx, c->fd, &opts, &e);
	/* The whole handshake within command_timeout (as a reply must come),
	 * not each read: a server trickling its handshake octets cannot hold
	 * the delivery.  At most 24 days: milliseconds fit an unsigned. */
	if (c->tls != NULL)
		tls_conn_set_deadline(c->tls, bio_now_ms() + 1000ULL * handshake_secs(c),
		                      1000U * handshake_secs(c));
	if (c->tls == NULL || tls_conn_handshake(c->tls, &e) != TLS_OK) {
		snprintf(msg, sizeof msg, "TLS session: handshake failed: %s", e.text);
		(void)smtp_event(R, &c->facts, "tls:fail:connect", e.text, 0, NULL, NULL);
		if (R->dane.use)
			(void)smtp_event(R, &c->facts, "dane:fail", "validation-failure", 0, NULL,
			                 NULL);
		tls_conn_free(c->tls); /* no close_notify on a failed session */
		c->tls = NULL;
		if (!required && t->tls_tempfail_tryclear) {
			smtp_host_log(R, &c->facts, "%s; trying again in clear", msg);
			smtp_conn_free(c);
			return SMTP_STEP_TRYCLEAR;
		}
		smtp_host_fail_error(R, &c->facts, "4.7.0", msg);
		smtp_conn_free(c);
		return SMTP_STEP_DONE;
	}
	tls_conn_set_deadline(c->tls, 0, 1000U * handshake_secs(c)); /* back to command_timeout */
	bio_use_tls(c->io, c->tls);
	if (R->dane.use) {
		ti = tls_conn_info(c->tls);
		c->facts.tls = 1;
		snprintf(c->facts.tls_version, sizeof c->facts.tls_version, "%s", ti->version);
		snprintf(c->facts.tls_cipher, sizeof c->facts.tls_cipher, "%s", ti->cipher);
		/* tls:cert per certificate under DANE too; a non-empty result
		 * refuses verification, so the host is not used (RFC 7672 2.2). */
		if (smtp_event_tls_certs(R, c, ti)) {
			snprintf(c->facts.cv_reason, sizeof c->facts.cv_reason, "refused-by-event");
			smtp_host_fail_error(
			        R, &c->facts, "4.7.5",
			        "TLS session: DANE verification refused by event_action "
			        "(tls:cert)");
			smtp_conn_quit(c);
			return SMTP_STEP_DONE;
		}
		if (smtp_dane_verdict(R, c) != SMTP_STEP_OK)
			return SMTP_STEP_DONE;
		/* The seed keeps hosts_require_ocsp under DANE (docs/dane.md "OCSP"). */
		if (smtp_ocsp_check(R, c, msg, sizeof msg) != 0) {
			smtp_host_fail_error(R, &c->facts, "4.7.0", msg);
			smtp_conn_quit(c);
			return SMTP_STEP_DONE;
		}
		memset(&c->ehlo, 0, sizeof c->ehlo); /* RFC 3207 4.2 */
		return smtp_hello(R, c);
	}
	if (t->tls_verify_cert_hostnames != NULL &&
	    match_host(t->tls_verify_cert_hostnames, c->facts.address))
		(void)tls_conn_check_name(c->tls, R->h->name);
	ti = tls_conn_info(c->tls);
	c->facts.tls = 1;
	snprintf(c->facts.tls_version, sizeof c->facts.tls_version, "%s", ti->version);
	snprintf(c->facts.tls_cipher, sizeof c->facts.tls_cipher, "%s", ti->cipher);
	verify = t->tls_verify_hosts != NULL && match_host(t->tls_verify_hosts, c->facts.address);
	/* A host in neither tls_verify_hosts nor tls_try_verify_hosts: its
	 * certificate is not checked at all. */
	checked = verify || (t->tls_try_verify_hosts != NULL &&
	                     match_host(t->tls_try_verify_hosts, c->facts.address));
	/* tls:cert per certificate: a non-empty result refuses verification. */
	refused = smtp_event_tls_certs(R, c, ti);
	c->facts.cv = checked && ti->verify == TLS_VERIFY_OK && !refused;
	snprintf(c->facts.cv_reason, sizeof c->facts.cv_reason, "%s",
	         c->facts.cv ? ""
	         : !checked  ? tls_verify_word(TLS_VERIFY_NOT_CHECKED)
	         : refused   ? "refused-by-event"
	                     : tls_verify_word(ti->verify));
	if (!c->facts.cv && verify) {
		snprintf(msg, sizeof msg, "TLS session: certificate verification failed: %s",
		         c->facts.cv_reason);
		smtp_host_fail_error(R, &c->facts, "4.7.0", msg);
		/* RFC 3207 4.1: not secure enough to go on: QUIT inside the session. */
		smtp_conn_quit(c);
		return SMTP_STEP_DONE;
	}
	if (smtp_ocsp_check(R, c, msg, sizeof msg) != 0) {
		smtp_host_fail_error(R, &c->facts, "4.7.0", msg);
		smtp_conn_quit(c); /* QUIT inside the session, then the next host */
		return SMTP_STEP_DONE;
	}
	/* RFC 3207 4.2: forget what EHLO said in clear; ask again. */
	memset(&c->ehlo, 0, sizeof c->ehlo);
	return smtp_hello(R, c);
}
