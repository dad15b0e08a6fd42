/*
 * tls_openssl.c - the OpenSSL 3 backend of lib/tls.h (lib/tls_int.h's ops).
 *
 * This file: contexts, connections, I/O and the ops table; the facts after a
 * handshake are tls_openssl_verify.c's, what both share tls_openssl.h.
 * The TLS backend files are the only ones allowed to include a TLS library
 * for TLS.  It reports facts (version, IANA suite, chain, every chain
 * problem seen, staple bytes) and never decides policy: a failed
 * verification never fails the handshake here; the verdict words are
 * lib/tls_verdict.c's and the caller decides.
 *
 * Server certificates are grouped by the names they carry: one SSL_CTX per
 * group (an RSA and an ECDSA certificate for the same name share one, and
 * OpenSSL then picks by the client's signature algorithms).  The SNI callback
 * moves the connection to the first group whose names match, using the same
 * name rule as everything else (certname.c), else it stays on group 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_openssl.h"

/* The last OpenSSL error on this thread's queue as text, and clear the queue. */
static void
ossl_err_text(char *buf, size_t len)
{
	unsigned long code, last = 0;

	while ((code = ERR_get_error()) != 0)
		last = code;
	if (last != 0)
		ERR_error_string_n(last, buf, len);
	else
		snprintf(buf, len, "no OpenSSL error recorded");
}

static const char *
ossl_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

static void
ossl_keylog_cb(const SSL *ssl, const char *line)
{
	struct ossl_conn *c = ossl_conn_of(ssl);

	if (c != NULL)
		tls_keylog_append(c->base.ctx, line);
}

/* Server: the client asked for a staple.  Client: a staple may have come. */
static int
ossl_status_cb(SSL *ssl, void *arg)
{
	struct ossl_conn *c = ossl_conn_of(ssl);
	(void)arg;

	if (c == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (c->base.info.role == TLS_ROLE_SERVER) {
		c->base.info.staple_requested = 1;
		return ossl_staple_serve(ssl, c);
	} else {
		const unsigned char *resp = NULL;
		long len = SSL_get_tlsext_status_ocsp_resp(ssl, &resp);

		/* Called with len -1 when no staple came; returning 0 would abort. */
		if (len > 0 && resp != NULL)
			tls_info_set_der(&c->base.info.staple, resp, (size_t)len);
		return 1;
	}
}

static int
ossl_servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct ossl_ctx *x = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	(void)alert;

	if (name == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (size_t g = 0; g < x->ngroups; g++) {
		if (tls_cert_names_match(&x->groups[g].names, name)) {
			if (g != 0 && SSL_set_SSL_CTX(ssl, x->groups[g].ctx) == NULL)
				return SSL_TLSEXT_ERR_ALERT_FATAL;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* No certificate names it: carry on with the default group, as GnuTLS does. */
	return SSL_TLSEXT_ERR_OK;
}

static int
ossl_proto(enum tls_version v)
{
	return v == TLS_VERSION_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

/* The neutral signature-algorithm families as OpenSSL lists. */
static const char *
ossl_sigalgs_list(const char *family)
{
	if (strcasecmp(family, "RSA") == 0)
		return "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
		       "RSA+SHA256:RSA+SHA384:RSA+SHA512";
	if (strcasecmp(family, "ECDSA") == 0)
		return "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512";
	return NULL;
}

/* tls_config.groups (neutral names, spaces or ':') as an OpenSSL groups
 * list in `out`; -1 for a name not in the neutral set. */
static int
ossl_groups_list(const char *groups, char *out, size_t outlen)
{
	static const char *const map[][2] = { { "X25519", "X25519" },
		                              { "X448", "X448" },
		                              { "P-256", "secp256r1" },
		                              { "P-384", "secp384r1" },
		                              { "P-521", "secp521r1" } };
	size_t used = 0;

	out[0] = '\0';
	for (const char *p = groups; *p != '\0';) {
		size_t n = strcspn(p, " :"), i;
		if (n > 0) {
			for (i = 0; i < sizeof map / sizeof map[0]; i++)
				if (strlen(map[i][0]) == n && strncmp(p, map[i][0], n) == 0)
					break;
			if (i == sizeof map / sizeof map[0] ||
			    used + strlen(map[i][1]) + 2 > outlen)
				return -1;
			used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? ":" : "",
			                         map[i][1]);
		}
		p += n + (p[n] != '\0');
	}
	return used > 0 ? 0 : -1;
}

/* Settings every SSL_CTX of a context shares. */
static enum tls_status
ossl_ctx_setup(struct ossl_ctx *x, SSL_CTX *ctx, const struct tls_config *cfg, struct err *e)
{
	char why[200];

	/* Default range TLS 1.2 - 1.3, the same on both backends. */
	if (!SSL_CTX_set_min_proto_version(
	            ctx, ossl_proto(cfg->min_version ? cfg->min_version : TLS_VERSION_1_2)) ||
	    !SSL_CTX_set_max_proto_version(
	            ctx, ossl_proto(cfg->max_version ? cfg->max_version : TLS_VERSION_1_3))) {
		err_set(e, TLS_ERR_CONFIG, "cannot set the TLS version range");
		return TLS_ERR_CONFIG;
	}
	if (cfg->ciphers != NULL && !SSL_CTX_set_cipher_list(ctx, cfg->ciphers)) {
		ossl_err_text(why, sizeof why);
		err_set(e, TLS_ERR_CONFIG, "bad OpenSSL cipher list \"%s\": %s", cfg->ciphers, why);
		return TLS_ERR_CONFIG;
	}
	if (cfg->sigalgs != NULL) {
		const char *list = ossl_sigalgs_list(cfg->sigalgs);
		if (list == NULL || !SSL_CTX_set1_sigalgs_list(ctx, list)) {
			err_set(e, TLS_ERR_CONFIG, "bad sigalgs \"%s\" (RSA or ECDSA)",
			        cfg->sigalgs);
			return TLS_ERR_CONFIG;
		}
	}
	if (cfg->groups != NULL) {
		char list[128];
		if (ossl_groups_list(cfg->groups, list, sizeof list) != 0 ||
		    !SSL_CTX_set1_groups_list(ctx, list)) {
			err_set(e, TLS_ERR_CONFIG,
			        "bad groups \"%s\" (X25519, X448, P-256, P-384, P-521)",
			        cfg->groups);
			return TLS_ERR_CONFIG;
		}
	}
	/* An EOF without close_notify reads as a close, as on GnuTLS. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
	if (cfg->ca_file != NULL) {
		if (!SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL)) {
			ossl_err_text(why, sizeof why);
			err_set(e, TLS_ERR_CONFIG, "%s: cannot load trust anchors: %s",
			        cfg->ca_file, why);
			return TLS_ERR_CONFIG;
		}
		x->base.have_ca = 1;
	}
	if (cfg->crl_file != NULL) {
		X509_STORE *store = SSL_CTX_get_cert_store(ctx);
		if (X509_load_crl_file(X509_STORE_add_lookup(store, X509_LOOKUP_file()),
		                       cfg->crl_file, X509_FILETYPE_PEM) <= 0) {
			ossl_err_text(why, sizeof why);
			err_set(e, TLS_ERR_CONFIG, "%s: cannot load CRLs: %s", cfg->crl_file, why);
			return TLS_ERR_CONFIG;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	if (cfg->role == TLS_ROLE_CLIENT || cfg->request_client_cert)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, ossl_verify_cb);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_tlsext_status_cb(ctx, ossl_status_cb);
	if (x->base.keylog_file != NULL)
		SSL_CTX_set_keylog_callback(ctx, ossl_keylog_cb);
	if (cfg->role == TLS_ROLE_SERVER) {
		SSL_CTX_set_tlsext_servername_callback(ctx, ossl_servername_cb);
		SSL_CTX_set_tlsext_servername_arg(ctx, x);
		/* One-shot sessions: a conformance run must show full handshakes.
		 * Tickets only when asked, for clients that must cope with them. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets(ctx, cfg->tls13_tickets);
	}
	return TLS_OK;
}

/* The names of the first certificate in a PEM chain file. */
static enum tls_status
ossl_file_names(const char *path, struct tls_cert_names *out, struct err *e)
{
	enum tls_status st = TLS_ERR_CONFIG;
	unsigned char *der = NULL;
	X509 *x = NULL;
	FILE *f = fopen(path, "r");
	int len;

	if (f == NULL) {
		err_set(e, TLS_ERR_CONFIG, "%s: %s", path, strerror(errno));
		return TLS_ERR_CONFIG;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (x == NULL) {
		err_set(e, TLS_ERR_CONFIG, "%s: no PEM certificate in the file", path);
		goto out;
	}
	len = i2d_X509(x, &der);
	if (len <= 0) {
		err_set(e, TLS_ERR_CONFIG, "%s: cannot encode the certificate", path);
		goto out;
	}
	st = ossl_cert_names(der, (size_t)len, out, e);
out:
	OPENSSL_free(der);
	X509_free(x);
	fclose(f);
	return st;
}

static void
ossl_ctx_free(struct tls_ctx *base)
{
	struct ossl_ctx *x = (struct ossl_ctx *)base;

	if (x == NULL)
		return;
	for (size_t g = 0; g < x->ngroups; g++) {
		SSL_CTX_free(x->groups[g].ctx);
		tls_cert_names_free(&x->groups[g].names);
	}
	tls_ctx_base_release(&x->base);
	free(x);
}

static enum tls_status
ossl_load_keypair(SSL_CTX *ctx, const struct tls_keypair *kp, struct err *e)
{
	char why[200];

	if (SSL_CTX_use_certificate_chain_file(ctx, kp->cert_file) != 1) {
		ossl_err_text(why, sizeof why);
		err_set(e, TLS_ERR_CONFIG, "%s: cannot load certificate chain: %s", kp->cert_file,
		        why);
		return TLS_ERR_CONFIG;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, kp->key_file, SSL_FILETYPE_PEM) != 1) {
		ossl_err_text(why, sizeof why);
		err_set(e, TLS_ERR_CONFIG, "%s: cannot load private key: %s", kp->key_file, why);
		return TLS_ERR_CONFIG;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ossl_err_text(why, sizeof why);
		err_set(e, TLS_ERR_CONFIG, "%s: key does not match %s", kp->key_file,
		        kp->cert_file);
		return TLS_ERR_CONFIG;
	}
	return TLS_OK;
}

static struct tls_ctx *
ossl_ctx_new(const struct tls_config *cfg, struct err *e)
{
	struct ossl_ctx *x = calloc(1, sizeof *x);
	size_t nkeys = cfg->ncerts;

	if (x == NULL) {
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		return NULL;
	}
	x->request_client_cert = cfg->request_client_cert;
	if (tls_ctx_base_init(&x->base, cfg, e) < 0)
		goto fail;

	/* A client has one SSL_CTX; a server one per name group (at least one). */
	for (size_t i = 0; i < (nkeys > 0 ? nkeys : 1); i++) {
		struct tls_cert_names names = { 0 };
		size_t g = 0;

		if (nkeys > 0 && cfg->role == TLS_ROLE_SERVER) {
			if (ossl_file_names(cfg->certs[i].cert_file, &names, e) != TLS_OK)
				goto fail;
			while (g < x->ngroups && !tls_cert_names_equal(&x->groups[g].names, &names))
				g++;
		}
		if (g == x->ngroups) {
			SSL_CTX *ctx =
			        SSL_CTX_new(cfg->role == TLS_ROLE_SERVER ? TLS_server_method()
			                                                 : TLS_client_method());
			if (ctx == NULL) {
				tls_cert_names_free(&names);
				err_set(e, TLS_ERR_CONFIG, "SSL_CTX_new failed");
				goto fail;
			}
			x->groups[g].ctx = ctx;
			x->groups[g].names = names;
			x->ngroups++;
			if (ossl_ctx_setup(x, ctx, cfg, e) != TLS_OK)
				goto fail;
		} else {
			tls_cert_names_free(&names);
		}
		if (nkeys > 0 && ossl_load_keypair(x->groups[g].ctx, &cfg->certs[i], e) != TLS_OK)
			goto fail;
		if (nkeys > 0) /* the one just loaded: the staple for certs[i] follows it */
			x->leaf[i] = SSL_CTX_get0_certificate(x->groups[g].ctx);
	}
	return &x->base;
fail:
	ossl_ctx_free(&x->base);
	return NULL;
}

/*
 * The socket BIO's callback: before each read and write the connection's
 * deadline (tls_conn_set_deadline) cuts the socket's timeout, or, once it
 * has passed, refuses the call (-1, errno EAGAIN: reported as a timeout).
 * Every other call goes on unchanged (BIO_set_callback_ex(3): a callback
 * before an operation aborts it by returning <= 0; after one, it returns
 * the operation's result).
 */
static long
ossl_bio_deadline_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
                     size_t *processed)
{
	struct tls_conn *c = (struct tls_conn *)BIO_get_callback_arg(b);

	(void)argp;
	(void)len;
	(void)argi;
	(void)argl;
	(void)processed;
	if (c != NULL && (oper == BIO_CB_READ || oper == BIO_CB_WRITE) &&
	    tls_conn_io_arm(c, oper == BIO_CB_WRITE) != 0)
		return -1;
	return ret;
}

static struct tls_conn *
ossl_conn_new(struct tls_ctx *base, int fd, const struct tls_conn_opts *opts, struct err *e)
{
	struct ossl_ctx *x = (struct ossl_ctx *)base;
	struct ossl_conn *c = calloc(1, sizeof *c);

	if (c == NULL) {
		err_set(e, TLS_ERR_IO, "out of memory");
		return NULL;
	}
	tls_conn_base_init(&c->base, base, fd);
	c->ssl = SSL_new(x->groups[0].ctx);
	if (c->ssl == NULL || !SSL_set_fd(c->ssl, fd)) {
		err_set(e, TLS_ERR_CONFIG, "SSL_new failed");
		goto fail;
	}
	SSL_set_app_data(c->ssl, c);
	/* SSL_set_fd made one socket BIO for both directions. */
	BIO_set_callback_ex(SSL_get_rbio(c->ssl), ossl_bio_deadline_cb);
	BIO_set_callback_arg(SSL_get_rbio(c->ssl), (char *)&c->base);
	if (base->role == TLS_ROLE_CLIENT) {
		SSL_set_connect_state(c->ssl);
		if (opts->sni != NULL) {
			if (!SSL_set_tlsext_host_name(c->ssl, opts->sni)) {
				err_set(e, TLS_ERR_CONFIG, "bad SNI name \"%s\"", opts->sni);
				goto fail;
			}
			snprintf(c->base.info.sni, sizeof c->base.info.sni, "%s", opts->sni);
		}
		if (opts->request_staple) {
			SSL_set_tlsext_status_type(c->ssl, TLSEXT_STATUSTYPE_ocsp);
			c->base.info.staple_requested = 1;
		}
		if (ossl_dane_setup(c, opts, e) != TLS_OK)
			goto fail;
	} else {
		SSL_set_accept_state(c->ssl);
	}
	return &c->base;
fail:
	SSL_free(c->ssl);
	free(c);
	return NULL;
}

/* A signal interrupted the call (SIGTERM asks workers to finish, not to fail). */
static int
ossl_interrupted(struct ossl_conn *c, int ret)
{
	int code = SSL_get_error(c->ssl, ret);

	return errno == EINTR && (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE ||
	                          code == SSL_ERROR_SYSCALL);
}

static enum tls_status
ossl_io_status(struct ossl_conn *c, int ret, const char *what, struct err *e)
{
	int code = SSL_get_error(c->ssl, ret);
	char why[200];

	switch (code) {
	case SSL_ERROR_ZERO_RETURN:
		err_set(e, TLS_ERR_CLOSED, "%s: the peer closed the TLS connection", what);
		return TLS_ERR_CLOSED;
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		/* A blocking socket only says "again" when SO_RCVTIMEO/SO_SNDTIMEO ran out. */
		err_set(e, TLS_ERR_TIMEOUT, "%s: timed out", what);
		return TLS_ERR_TIMEOUT;
	case SSL_ERROR_SYSCALL:
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			err_set(e, TLS_ERR_TIMEOUT, "%s: timed out", what);
			return TLS_ERR_TIMEOUT;
		}
		ERR_clear_error();
		if (errno == 0) {
			err_set(e, TLS_ERR_CLOSED, "%s: the peer closed the connection", what);
			return TLS_ERR_CLOSED;
		}
		err_set(e, TLS_ERR_IO, "%s: %s", what, strerror(errno));
		return TLS_ERR_IO;
	default:
		ossl_err_text(why, sizeof why);
		err_set(e, TLS_ERR_HANDSHAKE, "%s: %s", what, why);
		return TLS_ERR_HANDSHAKE;
	}
}

static enum tls_status
ossl_handshake(struct tls_conn *base, struct err *e)
{
	struct ossl_conn *c = (struct ossl_conn *)base;
	int ret;

	do {
		ERR_clear_error();
		errno = 0;
		ret = SSL_do_handshake(c->ssl);
	} while (ret != 1 && ossl_interrupted(c, ret));
	if (ret != 1) {
		enum tls_status st = ossl_io_status(c, ret, "TLS handshake", e);
		/* A peer that hangs up mid-handshake failed the handshake; only a
		 * timeout keeps its own status, as on GnuTLS. */
		if (st != TLS_ERR_TIMEOUT) {
			st = TLS_ERR_HANDSHAKE;
			if (e != NULL)
				e->code = st;
		}
		return st;
	}
	ossl_fill_info(c);
	ossl_dane_result(c);
	return TLS_OK;
}

static ssize_t
ossl_read(struct tls_conn *base, void *buf, size_t len, struct err *e)
{
	struct ossl_conn *c = (struct ossl_conn *)base;
	size_t got = 0;
	int ret;

	do {
		ERR_clear_error();
		errno = 0;
		ret = SSL_read_ex(c->ssl, buf, len, &got);
	} while (ret != 1 && ossl_interrupted(c, ret));
	if (ret == 1)
		return (ssize_t)got;
	if (ossl_io_status(c, ret, "TLS read", e) == TLS_ERR_CLOSED)
		return 0;
	return -1;
}

static ssize_t
ossl_write(struct tls_conn *base, const void *buf, size_t len, struct err *e)
{
	struct ossl_conn *c = (struct ossl_conn *)base;
	size_t done = 0;

	while (done < len) {
		size_t wrote = 0;
		int ret;

		ERR_clear_error();
		errno = 0;
		ret = SSL_write_ex(c->ssl, (const char *)buf + done, len - done, &wrote);
		if (ret != 1 && ossl_interrupted(c, ret))
			continue;
		if (ret != 1) {
			(void)ossl_io_status(c, ret, "TLS write", e);
			return -1;
		}
		done += wrote;
	}
	return (ssize_t)len;
}

static void
ossl_shutdown(struct tls_conn *base)
{
	struct ossl_conn *c = (struct ossl_conn *)base;

	ERR_clear_error();
	(void)SSL_shutdown(c->ssl); /* send close_notify; never wait for the peer's */
	ERR_clear_error();
}

static enum tls_status
ossl_send_ticket(struct tls_conn *base, struct err *e)
{
	struct ossl_conn *c = (struct ossl_conn *)base;
	int ret;

	ERR_clear_error();
	if (SSL_new_session_ticket(c->ssl) != 1) {
		err_set(e, TLS_ERR_UNSUPPORTED, "cannot send a session ticket now");
		return TLS_ERR_UNSUPPORTED;
	}
	/* Send it now rather than with the next record. */
	do {
		ERR_clear_error();
		errno = 0;
		ret = SSL_do_handshake(c->ssl);
	} while (ret != 1 && ossl_interrupted(c, ret));
	if (ret != 1)
		return ossl_io_status(c, ret, "TLS session ticket", e);
	return TLS_OK;
}

static enum tls_status
ossl_key_update(struct tls_conn *base, struct err *e)
{
	struct ossl_conn *c = (struct ossl_conn *)base;
	int ret;

	ERR_clear_error();
	if (SSL_key_update(c->ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
		err_set(e, TLS_ERR_UNSUPPORTED, "cannot send a key update now");
		return TLS_ERR_UNSUPPORTED;
	}
	/* Send it now rather than with the next record. */
	do {
		ERR_clear_error();
		errno = 0;
		ret = SSL_do_handshake(c->ssl);
	} while (ret != 1 && ossl_interrupted(c, ret));
	if (ret != 1)
		return ossl_io_status(c, ret, "TLS key update", e);
	return TLS_OK;
}

static void
ossl_conn_free(struct tls_conn *base)
{
	struct ossl_conn *c = (struct ossl_conn *)base;

	if (c == NULL)
		return;
	SSL_free(c->ssl);
	tls_info_clear(&c->base.info);
	free(c);
}

static const struct tls_backend_ops ossl_ops = {
	.ctx_new = ossl_ctx_new,
	.ctx_free = ossl_ctx_free,
	.conn_new = ossl_conn_new,
	.handshake = ossl_handshake,
	.read = ossl_read,
	.write = ossl_write,
	.shutdown = ossl_shutdown,
	.send_ticket = ossl_send_ticket,
	.key_update = ossl_key_update,
	.conn_free = ossl_conn_free,
	.cert_names = ossl_cert_names,
	.ocsp_read = ossl_ocsp_read,
	.ocsp_query = ossl_ocsp_query,
	.dane_chain = ossl_dane_chain,
	.cert_facts = ossl_cert_facts,
};

const struct tls_backend tls_backend_openssl = {
	.name = "openssl",
	.version = ossl_version,
	.caps = TLS_CAP_STAPLE_SERVE | TLS_CAP_STAPLE_CHECK | TLS_CAP_KEYLOG | TLS_CAP_CLIENT_CERT |
	        TLS_CAP_TICKETS | TLS_CAP_DANE,
	.ops = &ossl_ops,
};
