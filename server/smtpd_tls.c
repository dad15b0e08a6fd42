/*
 * smtpd_tls.c - TLS on the server side: the context a worker offers
 * STARTTLS with, and the STARTTLS command (RFC 3207).
 *
 * Plaintext pipelined after STARTTLS must never be executed inside the TLS
 * session (RFC 3207 4.2, CVE-2011-0411); after the handshake the session
 * forgets everything it learnt before.  No TLS library is named here.
 */
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "match.h"
#include "smtpd_int.h"
#include "smtpd_ocsp.h"
#include "tls.h"

struct tls_ctx *
smtpd_tls_ctx_new(const struct config *cfg, const char *backend, struct err *e)
{
	struct tls_config tc = { .role = TLS_ROLE_SERVER };
	const struct tls_backend *be = tls_backend_by_name(backend);

	if (cfg->tls_certificate.n == 0)
		return NULL;
	if (be == NULL) {
		err_set(e, 1, "unknown TLS backend \"%s\"", backend);
		return NULL;
	}
	for (size_t i = 0; i < cfg->tls_certificate.n && i < TLS_MAX_CERTS; i++) {
		tc.certs[i].cert_file = cfg->tls_certificate.v[i];
		tc.certs[i].key_file = cfg->tls_privatekey.v[i];
		tc.ncerts++;
	}
	tc.ciphers = cfg->tls_require_ciphers;
	tc.ca_file = cfg->tls_verify_certificates;
	tc.request_client_cert = cfg->tls_verify_certificates != NULL;
	tc.keylog_file = getenv("SSLKEYLOGFILE");
	return tls_ctx_new(be, &tc, e);
}

int
smtpd_tls_offered(const struct session *s)
{
	return s->tls_ctx != NULL && s->tls == NULL &&
	       match_host(s->cfg->tls_advertise_hosts, s->peer->ip);
}

int
smtp_check_starttls(struct session *s, const char *args)
{
	(void)args;
	if (!smtpd_tls_offered(s)) {
		smtpd_synprot_error(s, 503, "5.5.1 STARTTLS not offered");
		return -1;
	}
	return 0;
}

/*
 * The handshake's total deadline, from the 220 on: smtp_command_timeout, as
 * for a command line, or the session's end if nearer.  The idle timeout
 * restarts with each octet, so a client trickling a ClientHello would
 * otherwise hold the worker for ever.
 */
static unsigned long long
handshake_deadline(const struct session *s)
{
	unsigned long long at = s->cfg->smtp_command_timeout != 0
	                                ? bio_now_ms() + 1000ULL * s->cfg->smtp_command_timeout
	                                : 0;

	if (s->session_deadline != 0 && (at == 0 || s->session_deadline < at))
		at = s->session_deadline;
	return at;
}

/* Why a handshake that timed out did: the deadline, or the idle timeout. */
static const char *
handshake_timeout_reason(const struct session *s, unsigned long long at)
{
	if (at == 0 || bio_now_ms() + 5 < at)
		return "TLS handshake timed out";
	return at == s->session_deadline ? "session deadline passed (smtp_session_timeout)"
	                                 : "TLS handshake deadline passed (smtp_command_timeout)";
}

void
smtp_do_starttls(struct session *s, const char *args)
{
	struct tls_conn *c;
	struct err e = { 0 };
	struct smtpd_ocsp staple = { .s = s };
	struct tls_conn_opts opts = { .staple_for = smtpd_ocsp_staple, .staple_arg = &staple };
	size_t dropped;
	unsigned long long at;

	(void)args;
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	smtpd_flush(s);
	/* RFC 3207 4.2 / CVE-2011-0411: plaintext pipelined after STARTTLS
	 * must never be executed inside the TLS session. */
	dropped = bio_discard_input(&s->io);
	if (dropped > 0)
		log_write("H=%s [%s]:%u discarded %zu octets of plaintext pipelined after STARTTLS",
		          smtpd_helo_or_none(s), s->peer->ip, s->peer->port, dropped);
	at = handshake_deadline(s);
	c = tls_conn_new(s->tls_ctx, s->io.fd, s->cfg->tls_ocsp_file.n > 0 ? &opts : NULL, &e);
	if (c != NULL)
		tls_conn_set_deadline(c, at, s->io.idle_ms);
	if (c == NULL || tls_conn_handshake(c, &e) != TLS_OK) {
		smtpd_ocsp_release(&staple);
		log_write("H=%s [%s]:%u TLS error on connection (%s): %s", smtpd_helo_or_none(s),
		          s->peer->ip, s->peer->port, tls_ctx_backend(s->tls_ctx)->name, e.text);
		tls_conn_free(c);
		smtpd_close(s, e.code == TLS_ERR_TIMEOUT ? handshake_timeout_reason(s, at)
		                                         : "TLS handshake failed");
		return;
	}
	smtpd_ocsp_release(&staple); /* the handshake is over: sent or not */
	/* From now on bio_* hand the session's deadlines to the connection. */
	tls_conn_set_deadline(c, 0, s->io.idle_ms);
	s->tls = c;
	bio_use_tls(&s->io, c);
	smtpd_event_tls_certs(s); /* the client's chain, if it sent one */
	/* RFC 3207 4.2: forget everything learnt before TLS; EHLO again. */
	smtpd_transaction_reset(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	smtpd_set_state(s, ST_CONNECTED);
}
