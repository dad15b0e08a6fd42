/*
 * tls_gnutls.c - the GnuTLS (3.7) backend of lib/tls.h (lib/tls_int.h's ops):
 * contexts (credentials, trust, priority string), connections and their
 * I/O.  The server's callbacks are tls_gnutls_server.c, the facts and the
 * chain check tls_gnutls_verify.c; lib/tls_gnutls.h holds what they share.
 *
 * It reports facts (version, IANA suite, chain, which checks of the chain
 * failed, staple bytes) exactly as lib/tls_openssl.c does, so that one golden
 * serves both libraries (docs/tls.md).  It must never decide policy: a failed
 * chain check never fails the handshake, names are checked by
 * lib/certname.c, verdicts and staples by neutral code.  The TLS backend
 * files are the only ones that include a TLS library's headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls_gnutls.h"

static const char *
gtls_version(void)
{
	static char buf[64];

	if (buf[0] == '\0')
		snprintf(buf, sizeof buf, "GnuTLS %s", gnutls_check_version(NULL));
	return buf;
}

/* ---- context ------------------------------------------------------------- */

static void
gtls_ctx_free(struct tls_ctx *ctx)
{
	struct gtls_ctx *x = GTLS_CTX(ctx);

	if (x == NULL)
		return;
	for (size_t i = 0; i < x->nkp; i++) {
		for (unsigned j = 0; j < x->kp[i].npcert; j++)
			gnutls_pcert_deinit(&x->kp[i].pcert[j]);
		free(x->kp[i].pcert);
		if (x->kp[i].key != NULL)
			gnutls_privkey_deinit(x->kp[i].key);
		tls_cert_names_free(&x->kp[i].names);
	}
	if (x->prio != NULL)
		gnutls_priority_deinit(x->prio);
	if (x->cred != NULL)
		gnutls_certificate_free_credentials(x->cred);
	tls_ctx_base_release(&x->base);
	free(x);
}

/* Name the file in the error: GnuTLS says only "Error while reading file". */
static int
gtls_check_readable(const char *what, const char *path, struct err *e)
{
	if (access(path, R_OK) == 0)
		return 0;
	err_set(e, TLS_ERR_CONFIG, "cannot read %s %s: %s", what, path, strerror(errno));
	return -1;
}

static int
gtls_load_certs(struct gtls_ctx *x, const struct tls_config *cfg, struct err *e)
{
	int r;

	/* API_V2: the key setters return the index of the new pair. */
	gnutls_certificate_set_flags(x->cred, GNUTLS_CERTIFICATE_API_V2);
	for (size_t i = 0; i < cfg->ncerts && i < TLS_MAX_CERTS; i++) {
		const struct tls_keypair *kp = &cfg->certs[i];

		if (kp->cert_file == NULL || kp->key_file == NULL) {
			err_set(e, TLS_ERR_CONFIG, "certificate %zu lacks a file name", i);
			return -1;
		}
		if (gtls_check_readable("certificate file", kp->cert_file, e) < 0 ||
		    gtls_check_readable("key file", kp->key_file, e) < 0)
			return -1;
		r = gnutls_certificate_set_x509_key_file2(x->cred, kp->cert_file, kp->key_file,
		                                          GNUTLS_X509_FMT_PEM, NULL, 0);
		if (r < 0) {
			err_set(e, TLS_ERR_CONFIG, "cannot load certificate %s with key %s: %s",
			        kp->cert_file, kp->key_file, gnutls_strerror(r));
			return -1;
		}
		if (cfg->role == TLS_ROLE_SERVER &&
		    gtls_keypair_keep(x, (unsigned)r, kp->cert_file, e) < 0)
			return -1;
	}
	if (cfg->role == TLS_ROLE_SERVER) {
		/* Our own choice of certificate: see gtls_select_cert_cb(). */
		gnutls_certificate_set_retrieve_function3(x->cred, gtls_select_cert_cb);
		/* The callback, not the file/memory setters: those refuse revoked or
		 * expired responses (LIBRARIES.md), and a conformance server must be
		 * able to serve a bad staple on purpose.  With a retrieve function,
		 * GnuTLS consults only the global one, in TLS 1.2 and 1.3 alike,
		 * unless the retrieve function hands over one response per chain
		 * element, as ours does in TLS 1.3 (gtls_chain_staples()). */
		gnutls_certificate_set_ocsp_status_request_function(x->cred, gtls_staple_cb, NULL);
	}
	return 0;
}

static int
gtls_load_trust(struct gtls_ctx *x, const struct tls_config *cfg, struct err *e)
{
	int r;

	if (cfg->ca_file != NULL) {
		if (gtls_check_readable("CA file", cfg->ca_file, e) < 0)
			return -1;
		r = gnutls_certificate_set_x509_trust_file(x->cred, cfg->ca_file,
		                                           GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			err_set(e, TLS_ERR_CONFIG, "no CA certificates loaded from %s: %s",
			        cfg->ca_file, r < 0 ? gnutls_strerror(r) : "file holds none");
			return -1;
		}
		x->base.have_ca = 1;
	}
	if (cfg->crl_file != NULL) {
		if (gtls_check_readable("CRL file", cfg->crl_file, e) < 0)
			return -1;
		/* Added without GNUTLS_TL_VERIFY_CRL: CRLs signed by an
		 * intermediate (not a trust anchor) are kept. */
		r = gnutls_certificate_set_x509_crl_file(x->cred, cfg->crl_file,
		                                         GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			err_set(e, TLS_ERR_CONFIG, "no CRLs loaded from %s: %s", cfg->crl_file,
			        r < 0 ? gnutls_strerror(r) : "file holds none");
			return -1;
		}
	}
	return 0;
}

/* tls_config.sigalgs: one family only.  TLS 1.2 names ECDSA by hash alone,
 * TLS 1.3 by curve and hash (RFC 8446 4.2.3); PSS with RSA keys (rsae). */
#define SIGALGS_RSA                                                                                \
	":-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-PSS-RSAE-SHA384"                           \
	":+SIGN-RSA-PSS-RSAE-SHA512:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-RSA-SHA512"
#define SIGALGS_ECDSA                                                                              \
	":-SIGN-ALL:+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384"                     \
	":+SIGN-ECDSA-SECP521R1-SHA512:+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-ECDSA-SHA512"

/* tls_config.groups (neutral names, spaces or ':') as GnuTLS priority
 * items after ":-GROUP-ALL" in `out`; -1 for a name not in the set. */
static int
gtls_groups_items(const char *groups, char *out, size_t outlen)
{
	static const char *const map[][2] = { { "X25519", "X25519" },
		                              { "X448", "X448" },
		                              { "P-256", "SECP256R1" },
		                              { "P-384", "SECP384R1" },
		                              { "P-521", "SECP521R1" } };
	size_t used = (size_t)snprintf(out, outlen, ":-GROUP-ALL"), start = used;

	for (const char *p = groups; *p != '\0';) {
		size_t n = strcspn(p, " :"), i;
		if (n > 0) {
			for (i = 0; i < sizeof map / sizeof map[0]; i++)
				if (strlen(map[i][0]) == n && strncmp(p, map[i][0], n) == 0)
					break;
			if (i == sizeof map / sizeof map[0] ||
			    used + strlen(map[i][1]) + 9 > outlen)
				return -1;
			used += (size_t)snprintf(out + used, outlen - used, ":+GROUP-%s",
			                         map[i][1]);
		}
		p += n + (p[n] != '\0');
	}
	return used > start ? 0 : -1;
}

static int
gtls_set_priority(struct gtls_ctx *x, const struct tls_config *cfg, struct err *e)
{
	const char *base = cfg->ciphers != NULL ? cfg->ciphers : "NORMAL";
	int v13 = cfg->max_version != TLS_VERSION_1_2;
	int v12 = cfg->min_version != TLS_VERSION_1_3;
	const char *errpos = NULL, *sig;
	char *prio = NULL, groups[128] = "";
	int r, rc = -1;

	if (!v12 && !v13) {
		err_set(e, TLS_ERR_CONFIG, "min_version is above max_version");
		return -1;
	}
	if (cfg->sigalgs == NULL)
		sig = "";
	else if (strcmp(cfg->sigalgs, "RSA") == 0)
		sig = SIGALGS_RSA;
	else if (strcmp(cfg->sigalgs, "ECDSA") == 0)
		sig = SIGALGS_ECDSA;
	else {
		err_set(e, TLS_ERR_CONFIG, "sigalgs \"%s\": want RSA or ECDSA", cfg->sigalgs);
		return -1;
	}
	if (cfg->groups != NULL && gtls_groups_items(cfg->groups, groups, sizeof groups) != 0) {
		err_set(e, TLS_ERR_CONFIG, "bad groups \"%s\" (X25519, X448, P-256, P-384, P-521)",
		        cfg->groups);
		return -1;
	}
	/* TLS 1.2 and 1.3 only, as the OpenSSL backend: NORMAL still has 1.0/1.1. */
	if (asprintf(&prio, "%s%s%s:-VERS-ALL%s%s", base, sig, groups, v13 ? ":+VERS-TLS1.3" : "",
	             v12 ? ":+VERS-TLS1.2" : "") < 0) {
		prio = NULL;
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		goto out;
	}
	r = gnutls_priority_init(&x->prio, prio, &errpos);
	if (r < 0) {
		x->prio = NULL;
		if (errpos != NULL && errpos >= prio && errpos < prio + strlen(base))
			err_set(e, TLS_ERR_CONFIG,
			        "bad GnuTLS priority \"%s\" at offset %td (\"%s\"): %s", base,
			        errpos - prio, errpos, gnutls_strerror(r));
		else
			err_set(e, TLS_ERR_CONFIG, "bad GnuTLS priority \"%s\": %s", base,
			        gnutls_strerror(r));
		goto out;
	}
	rc = 0;
out:
	free(prio);
	return rc;
}

static struct tls_ctx *
gtls_ctx_new(const struct tls_config *cfg, struct err *e)
{
	struct gtls_ctx *x;
	int r;

	x = calloc(1, sizeof *x);
	if (x == NULL) {
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		return NULL;
	}
	x->request_client_cert = cfg->request_client_cert;
	if (tls_ctx_base_init(&x->base, cfg, e) < 0)
		goto fail;
	r = gnutls_certificate_allocate_credentials(&x->cred);
	if (r < 0) {
		x->cred = NULL;
		err_set(e, TLS_ERR_CONFIG, "gnutls credentials: %s", gnutls_strerror(r));
		goto fail;
	}
	if (gtls_load_certs(x, cfg, e) < 0 || gtls_load_trust(x, cfg, e) < 0 ||
	    gtls_set_priority(x, cfg, e) < 0)
		goto fail;
	return &x->base;
fail:
	gtls_ctx_free(&x->base);
	return NULL;
}

/* ---- key log ------------------------------------------------------------- */

static void
gtls_hex(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 15];
	}
	*out = '\0';
}

/* NSS key log format: "<LABEL> <client_random hex> <secret hex>". */
static int
gtls_keylog_cb(gnutls_session_t s, const char *label, const gnutls_datum_t *secret)
{
	struct gtls_conn *c = gnutls_session_get_ptr(s);
	gnutls_datum_t cr, sr;
	char crhex[2 * 32 + 1], sechex[2 * 64 + 1], line[400];

	if (c == NULL || secret->size > 64)
		return 0;
	gnutls_session_get_random(s, &cr, &sr);
	if (cr.size != 32)
		return 0;
	gtls_hex(crhex, cr.data, cr.size);
	gtls_hex(sechex, secret->data, secret->size);
	snprintf(line, sizeof line, "%s %s %s", label, crhex, sechex);
	tls_keylog_append(c->base.ctx, line);
	return 0;
}

/* ---- transport ------------------------------------------------------------ */

/* After recv(2) or send(2): note that the socket itself said "again"
 * (SO_RCVTIMEO/SO_SNDTIMEO), and hand errno to GnuTLS. */
static ssize_t
gtls_io_result(struct gtls_conn *c, ssize_t n)
{
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			c->would_block = 1;
		gnutls_transport_set_errno(c->s, errno);
	}
	return n;
}

static ssize_t
gtls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct gtls_conn *c = ptr;

	/* The connection's deadline (tls_conn_set_deadline): past it, "again"
	 * as from an expired SO_RCVTIMEO. */
	if (tls_conn_io_arm(&c->base, 0) != 0)
		return gtls_io_result(c, -1);
	return gtls_io_result(c, recv(c->base.fd, buf, len, 0));
}

/* MSG_NOSIGNAL: never SIGPIPE (GNUTLS_NO_SIGNAL did it for the default push). */
static ssize_t
gtls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	struct gtls_conn *c = ptr;

	if (tls_conn_io_arm(&c->base, 1) != 0)
		return gtls_io_result(c, -1);
	return gtls_io_result(c, send(c->base.fd, buf, len, MSG_NOSIGNAL));
}

/* Is there data within `ms` milliseconds?  GnuTLS asks only with a timeout
 * of its own set, which we never set; here for completeness. */
static int
gtls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct gtls_conn *c = ptr;
	struct pollfd p = { .fd = c->base.fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* ---- connection ---------------------------------------------------------- */

static void
gtls_conn_free(struct tls_conn *tc)
{
	struct gtls_conn *c = GTLS_CONN(tc);

	if (c == NULL)
		return;
	if (c->s != NULL)
		gnutls_deinit(c->s);
	tls_info_clear(&c->base.info);
	free(c);
}

static struct tls_conn *
gtls_conn_new(struct tls_ctx *ctx, int fd, const struct tls_conn_opts *opts, struct err *e)
{
	struct gtls_ctx *x = GTLS_CTX(ctx);
	struct gtls_conn *c = calloc(1, sizeof *c);
	int client = x->base.role == TLS_ROLE_CLIENT;
	int r;

	if (c == NULL) {
		err_set(e, TLS_ERR_IO, "out of memory");
		return NULL;
	}
	tls_conn_base_init(&c->base, ctx, fd);
	/* FORCE_CLIENT_CERT: send our one certificate even when its issuer is
	 * not in the server's list, as OpenSSL does.  NO_SIGNAL: a peer that
	 * hangs up must not kill the process with SIGPIPE. */
	r = gnutls_init(&c->s, GNUTLS_NO_SIGNAL | (client ? GNUTLS_CLIENT | GNUTLS_FORCE_CLIENT_CERT
	                                                  : GNUTLS_SERVER));
	if (r < 0) {
		c->s = NULL;
		goto fail;
	}
	gnutls_session_set_ptr(c->s, c);
	if ((r = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, x->cred)) < 0 ||
	    (r = gnutls_priority_set(c->s, x->prio)) < 0)
		goto fail;
	/* Our own transport functions, so that GNUTLS_E_AGAIN can be told
	 * apart: the socket timed out, or not (gtls_again()). */
	gnutls_transport_set_ptr(c->s, c);
	gnutls_transport_set_pull_function(c->s, gtls_pull);
	gnutls_transport_set_pull_timeout_function(c->s, gtls_pull_timeout);
	gnutls_transport_set_push_function(c->s, gtls_push);
	/* Timeouts are the caller's (SO_RCVTIMEO), not a GnuTLS default. */
	gnutls_handshake_set_timeout(c->s, GNUTLS_INDEFINITE_TIMEOUT);
	if (x->base.keylog_file != NULL)
		gnutls_session_set_keylog_function(c->s, gtls_keylog_cb);
	if (client) {
		if (opts->sni != NULL && opts->sni[0] != '\0') {
			r = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, opts->sni,
			                           strlen(opts->sni));
			if (r < 0)
				goto fail;
			snprintf(c->base.info.sni, sizeof c->base.info.sni, "%s", opts->sni);
		}
		if (opts->request_staple) {
			r = gnutls_ocsp_status_request_enable_client(c->s, NULL, 0, NULL);
			if (r < 0)
				goto fail;
		}
		c->tlsa = opts->tlsa;
		c->ntlsa = opts->ntlsa;
		/* A GnuTLS 3.7 client sends status_request whether asked or not
		 * (GNUTLS_NO_STATUS_REQUEST arrives in 3.8; GNUTLS_NO_EXTENSIONS
		 * would also drop extended master secret): report the wire. */
		c->base.info.staple_requested = 1;
	} else {
		/* Asked, never required: whether a missing one matters is policy. */
		if (x->request_client_cert)
			gnutls_certificate_server_set_request(c->s, GNUTLS_CERT_REQUEST);
		/* OpenSSL sends no CA name list by default; neither do we. */
		gnutls_certificate_send_x509_rdn_sequence(c->s, 1);
		c->chosen = -1;
		gnutls_handshake_set_hook_function(c->s, GNUTLS_HANDSHAKE_CLIENT_HELLO,
		                                   GNUTLS_HOOK_PRE, gtls_client_hello_hook);
	}
	return &c->base;
fail:
	err_set(e, TLS_ERR_CONFIG, "gnutls session setup: %s", gnutls_strerror(r));
	gtls_conn_free(&c->base);
	return NULL;
}

/* ---- I/O ----------------------------------------------------------------- */

/*
 * GNUTLS_E_AGAIN: call again (0) or time out (-1)?  GnuTLS also returns it
 * after processing a TLS 1.3 post-handshake message (NewSessionTicket,
 * KeyUpdate; RFC 8446 4.6) without the socket having said anything
 * (LIBRARIES.md): that is "call again", issue 12's stall after EHLO.  When
 * the socket did say EAGAIN: on a blocking socket SO_RCVTIMEO/SO_SNDTIMEO
 * expired; on a non-blocking one (not the contract, but harmless) wait and
 * go on.
 */
static int
gtls_again(struct gtls_conn *c)
{
	int fl;
	struct pollfd p;

	if (!c->would_block)
		return 0;
	c->would_block = 0;
	fl = fcntl(c->base.fd, F_GETFL);
	if (fl < 0 || !(fl & O_NONBLOCK))
		return -1;
	p.fd = c->base.fd;
	p.events = gnutls_record_get_direction(c->s) ? POLLOUT : POLLIN;
	return poll(&p, 1, -1) < 0 && errno != EINTR ? -1 : 0;
}

/* RFC 8446 6 spelling ("handshake_failure") from "GNUTLS_A_HANDSHAKE_FAILURE". */
static const char *
gtls_alert_name(gnutls_alert_description_t a, char *buf, size_t len)
{
	const char *n = gnutls_alert_get_strname(a);
	size_t i = 0;

	if (n == NULL)
		n = "unknown";
	if (strncmp(n, "GNUTLS_A_", 9) == 0)
		n += 9;
	for (; n[i] != '\0' && i + 1 < len; i++)
		buf[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
	buf[i] = '\0';
	return buf;
}

static enum tls_status
gtls_handshake(struct tls_conn *tc, struct err *e)
{
	struct gtls_conn *c = GTLS_CONN(tc);
	char alert[64];
	int r;

	for (;;) {
		c->would_block = 0;
		r = gnutls_handshake(c->s);
		if (r == GNUTLS_E_SUCCESS)
			break;
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_AGAIN && gtls_again(c) == 0)
			continue;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_TIMEDOUT) {
			/* OpenSSL's wording (ossl_io_status), so the log line the
			 * handshake deadline leaves is one for both backends. */
			err_set(e, TLS_ERR_TIMEOUT, "TLS handshake: timed out");
			return TLS_ERR_TIMEOUT;
		}
		if (!gnutls_error_is_fatal(r))
			continue; /* e.g. a warning alert: GnuTLS goes on */
		/* A dead socket too: the handshake failed, as OpenSSL reports it. */
		if (r == GNUTLS_E_PUSH_ERROR || r == GNUTLS_E_PULL_ERROR) {
			err_set(e, TLS_ERR_HANDSHAKE, "TLS handshake failed: %s (%s)",
			        gnutls_strerror(r), strerror(errno));
			return TLS_ERR_HANDSHAKE;
		}
		/* GnuTLS leaves the alert to us (RFC 8446 6.2); OpenSSL sends it. */
		if (r != GNUTLS_E_FATAL_ALERT_RECEIVED)
			(void)gnutls_alert_send_appropriate(c->s, r);
		if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
			err_set(e, TLS_ERR_HANDSHAKE, "TLS handshake failed: %s (alert %s)",
			        gnutls_strerror(r),
			        gtls_alert_name(gnutls_alert_get(c->s), alert, sizeof alert));
		else
			err_set(e, TLS_ERR_HANDSHAKE, "TLS handshake failed: %s",
			        gnutls_strerror(r));
		return TLS_ERR_HANDSHAKE;
	}
	gtls_fill_info(c);
	gtls_dane_result(c);
	return TLS_OK;
}

static ssize_t
gtls_read(struct tls_conn *tc, void *buf, size_t len, struct err *e)
{
	struct gtls_conn *c = GTLS_CONN(tc);
	ssize_t r;

	for (;;) {
		c->would_block = 0;
		r = gnutls_record_recv(c->s, buf, len);
		if (r >= 0)
			return r; /* 0 = close_notify */
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_AGAIN && gtls_again(c) == 0)
			continue;
		if (r == GNUTLS_E_AGAIN) {
			err_set(e, TLS_ERR_TIMEOUT, "TLS read timed out");
			return -1;
		}
		/* A TCP FIN without close_notify: closed, as for OpenSSL's
		 * SSL_OP_IGNORE_UNEXPECTED_EOF; SMTP has its own end (QUIT). */
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		if (!gnutls_error_is_fatal((int)r))
			continue; /* warning alert, or a renegotiation request: ignored */
		err_set(e, TLS_ERR_IO, "TLS read: %s", gnutls_strerror((int)r));
		return -1;
	}
}

static ssize_t
gtls_write(struct tls_conn *tc, const void *buf, size_t len, struct err *e)
{
	struct gtls_conn *c = GTLS_CONN(tc);
	const char *p = buf;
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		c->would_block = 0;
		r = gnutls_record_send(c->s, p + done, len - done);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		/* After E_AGAIN GnuTLS wants the same call again (same data, or
		 * NULL, 0) to flush the record it already built. */
		if (r == GNUTLS_E_AGAIN && gtls_again(c) == 0)
			continue;
		if (r == GNUTLS_E_AGAIN) {
			err_set(e, TLS_ERR_TIMEOUT, "TLS write timed out");
			return -1;
		}
		err_set(e, TLS_ERR_IO, "TLS write: %s", gnutls_strerror((int)r));
		return -1;
	}
	return (ssize_t)len;
}

static void
gtls_shutdown(struct tls_conn *tc)
{
	/* SHUT_WR: send close_notify, do not wait for the peer's (RFC 8446 6.1). */
	(void)gnutls_bye(GTLS_CONN(tc)->s, GNUTLS_SHUT_WR);
}

static enum tls_status
gtls_key_update(struct tls_conn *tc, struct err *e)
{
	struct gtls_conn *c = GTLS_CONN(tc);
	int r;

	/* GNUTLS_KU_PEER: update_requested (RFC 8446 4.6.3). */
	for (;;) {
		c->would_block = 0;
		r = gnutls_session_key_update(c->s, GNUTLS_KU_PEER);
		if (r == GNUTLS_E_SUCCESS)
			return TLS_OK;
		if (r == GNUTLS_E_INTERRUPTED || (r == GNUTLS_E_AGAIN && gtls_again(c) == 0))
			continue;
		if (r == GNUTLS_E_AGAIN) {
			err_set(e, TLS_ERR_TIMEOUT, "TLS key update timed out");
			return TLS_ERR_TIMEOUT;
		}
		err_set(e, TLS_ERR_IO, "TLS key update: %s", gnutls_strerror(r));
		return TLS_ERR_IO;
	}
}

static const struct tls_backend_ops gtls_ops = {
	.ctx_new = gtls_ctx_new,
	.ctx_free = gtls_ctx_free,
	.conn_new = gtls_conn_new,
	.handshake = gtls_handshake,
	.read = gtls_read,
	.write = gtls_write,
	.shutdown = gtls_shutdown,
	.key_update = gtls_key_update,
	.conn_free = gtls_conn_free,
	.cert_names = gtls_cert_names,
	.ocsp_read = gtls_ocsp_read,
	.ocsp_query = gtls_ocsp_query,
	.dane_chain = gtls_dane_chain,
	.cert_facts = gtls_cert_facts,
};

/* DANE: tls_gnutls_dane.c.  No session
 * tickets from the server: tls13_tickets is for testing clients against an
 * OpenSSL server; a conformance server shows full handshakes. */
const struct tls_backend tls_backend_gnutls = {
	.name = "gnutls",
	.version = gtls_version,
	.caps = TLS_CAP_STAPLE_SERVE | TLS_CAP_STAPLE_CHECK | TLS_CAP_KEYLOG | TLS_CAP_CLIENT_CERT |
	        TLS_CAP_DANE | TLS_CAP_STAPLE_CHAIN,
	.ops = &gtls_ops,
};
