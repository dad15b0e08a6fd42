/*
 * tls_gnutls.c - the GnuTLS (3.7) backend of lib/tls.h.
 *
 * It reports facts (version, IANA suite, chain, which checks of the chain
 * failed, staple bytes) exactly as lib/tls_openssl.c does, so that one golden
 * serves both libraries (docs/tls.md).  Where GnuTLS's own choices differ from
 * that contract it does the job itself: the server's certificate selection
 * (select_cert_cb) and the chain check (verify_chain, which never judges a
 * staple).  It must never decide policy: a failed chain check never fails
 * the handshake, names are checked by lib/certname.c, staples by neutral
 * code.  This and tls_openssl.c are the only files that include a TLS
 * library's headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls.h"

/* One server certificate, as our selection callback hands it to GnuTLS. */
struct gnutls_keypair {
	gnutls_pcert_st *pcert; /* the chain, leaf first */
	unsigned npcert;
	gnutls_privkey_t key;
	gnutls_pk_algorithm_t pk;
	struct tls_cert_names names; /* of the leaf, for SNI */
	size_t group; /* index of the first pair with the very same names */
};

struct gnutls_ctx_impl {
	struct tls_ctx base; /* first: neutral code casts */
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	struct gnutls_keypair kp[TLS_MAX_CERTS]; /* server only */
	size_t nkp;
	int have_ca;
	int request_client_cert;
};

struct gnutls_conn_impl {
	struct tls_conn base; /* first: neutral code casts */
	gnutls_session_t s;
	const unsigned char *staple; /* server: owned by the caller (tls_conn_opts) */
	size_t staple_len;
	int offers_rsa, offers_ecdsa; /* server: TLS 1.2 suites the client offered */
};

#define CTX(c) ((struct gnutls_ctx_impl *)(void *)(c))
#define CONN(c) ((struct gnutls_conn_impl *)(void *)(c))

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
	struct gnutls_ctx_impl *x = CTX(ctx);

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
	free(x->base.keylog_file);
	free(x);
}

static int staple_cb(gnutls_session_t s, void *ptr, gnutls_datum_t *resp);
static gnutls_certificate_retrieve_function3 select_cert_cb;
static enum tls_status gtls_cert_names(const unsigned char *der, size_t len,
                                       struct tls_cert_names *out, struct err *e);

/*
 * Copy pair `idx` out of the credentials (where GnuTLS already parsed it and
 * checked that key and certificate match) into the form the selection
 * callback returns.
 */
static int
keep_keypair(struct gnutls_ctx_impl *x, unsigned idx, const char *file, struct err *e)
{
	struct gnutls_keypair *kp = &x->kp[x->nkp];
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t xkey = NULL;
	unsigned n = 0;
	int r, rc = -1;

	if ((r = gnutls_certificate_get_x509_crt(x->cred, idx, &crts, &n)) < 0 ||
	    (r = gnutls_certificate_get_x509_key(x->cred, idx, &xkey)) < 0)
		goto fail;
	kp->pcert = calloc(n, sizeof *kp->pcert);
	if (kp->pcert == NULL) {
		r = GNUTLS_E_MEMORY_ERROR;
		goto fail;
	}
	if ((r = gnutls_pcert_import_x509_list(kp->pcert, crts, &n, 0)) < 0)
		goto fail;
	kp->npcert = n;
	if ((r = gnutls_privkey_init(&kp->key)) < 0) {
		kp->key = NULL;
		goto fail;
	}
	if ((r = gnutls_privkey_import_x509(kp->key, xkey, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0)
		goto fail;
	xkey = NULL; /* owned by kp->key now */
	kp->pk = gnutls_x509_crt_get_pk_algorithm(crts[0], NULL);
	if (gtls_cert_names(kp->pcert[0].cert.data, kp->pcert[0].cert.size, &kp->names, e) != TLS_OK)
		goto out;
	kp->group = x->nkp;
	for (size_t i = 0; i < x->nkp; i++)
		if (tls_cert_names_equal(&x->kp[i].names, &kp->names)) {
			kp->group = x->kp[i].group;
			break;
		}
	rc = 0;
	goto out;
fail:
	err_set(e, TLS_ERR_CONFIG, "cannot use certificate %s: %s", file, gnutls_strerror(r));
out:
	x->nkp++; /* even half-filled: ctx_free releases what is there */
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	return rc;
}

/* Name the file in the error: GnuTLS says only "Error while reading file". */
static int
check_readable(const char *what, const char *path, struct err *e)
{
	if (access(path, R_OK) == 0)
		return 0;
	err_set(e, TLS_ERR_CONFIG, "cannot read %s %s: %s", what, path, strerror(errno));
	return -1;
}

static int
load_certs(struct gnutls_ctx_impl *x, const struct tls_config *cfg, struct err *e)
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
		if (check_readable("certificate file", kp->cert_file, e) < 0 ||
		    check_readable("key file", kp->key_file, e) < 0)
			return -1;
		r = gnutls_certificate_set_x509_key_file2(x->cred, kp->cert_file, kp->key_file,
		                                          GNUTLS_X509_FMT_PEM, NULL, 0);
		if (r < 0) {
			err_set(e, TLS_ERR_CONFIG, "cannot load certificate %s with key %s: %s",
			        kp->cert_file, kp->key_file, gnutls_strerror(r));
			return -1;
		}
		if (cfg->role == TLS_ROLE_SERVER && keep_keypair(x, (unsigned)r, kp->cert_file, e) < 0)
			return -1;
	}
	if (cfg->role == TLS_ROLE_SERVER) {
		/* Our own choice of certificate: see select_cert_cb(). */
		gnutls_certificate_set_retrieve_function3(x->cred, select_cert_cb);
		/* The callback, not the file/memory setters: those refuse revoked or
		 * expired responses (LIBRARIES.md), and a conformance server must be
		 * able to serve a bad staple on purpose.  With a retrieve function,
		 * GnuTLS consults only the global one, in TLS 1.2 and 1.3 alike. */
		gnutls_certificate_set_ocsp_status_request_function(x->cred, staple_cb, NULL);
	}
	return 0;
}

static int
load_trust(struct gnutls_ctx_impl *x, const struct tls_config *cfg, struct err *e)
{
	int r;

	if (cfg->ca_file != NULL) {
		if (check_readable("CA file", cfg->ca_file, e) < 0)
			return -1;
		r = gnutls_certificate_set_x509_trust_file(x->cred, cfg->ca_file, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			err_set(e, TLS_ERR_CONFIG, "no CA certificates loaded from %s: %s",
			        cfg->ca_file, r < 0 ? gnutls_strerror(r) : "file holds none");
			return -1;
		}
		x->have_ca = 1;
	}
	if (cfg->crl_file != NULL) {
		if (check_readable("CRL file", cfg->crl_file, e) < 0)
			return -1;
		/* Added without GNUTLS_TL_VERIFY_CRL: CRLs signed by an
		 * intermediate (not a trust anchor) are kept. */
		r = gnutls_certificate_set_x509_crl_file(x->cred, cfg->crl_file, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			err_set(e, TLS_ERR_CONFIG, "no CRLs loaded from %s: %s",
			        cfg->crl_file, r < 0 ? gnutls_strerror(r) : "file holds none");
			return -1;
		}
	}
	return 0;
}

/* tls_config.sigalgs: one family only.  TLS 1.2 names ECDSA by hash alone,
 * TLS 1.3 by curve and hash (RFC 8446 4.2.3); PSS with RSA keys (rsae). */
#define SIGALGS_RSA ":-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-PSS-RSAE-SHA384" \
	":+SIGN-RSA-PSS-RSAE-SHA512:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-RSA-SHA512"
#define SIGALGS_ECDSA ":-SIGN-ALL:+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384" \
	":+SIGN-ECDSA-SECP521R1-SHA512:+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-ECDSA-SHA512"

static int
set_priority(struct gnutls_ctx_impl *x, const struct tls_config *cfg, struct err *e)
{
	const char *base = cfg->ciphers != NULL ? cfg->ciphers : "NORMAL";
	int v13 = cfg->max_version != TLS_VERSION_1_2;
	int v12 = cfg->min_version != TLS_VERSION_1_3;
	const char *errpos = NULL, *sig;
	char *prio = NULL;
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
	/* TLS 1.2 and 1.3 only, as the OpenSSL backend: NORMAL still has 1.0/1.1. */
	if (asprintf(&prio, "%s%s:-VERS-ALL%s%s", base, sig, v13 ? ":+VERS-TLS1.3" : "",
	             v12 ? ":+VERS-TLS1.2" : "") < 0) {
		prio = NULL;
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		goto out;
	}
	r = gnutls_priority_init(&x->prio, prio, &errpos);
	if (r < 0) {
		x->prio = NULL;
		if (errpos != NULL && errpos >= prio && errpos < prio + strlen(base))
			err_set(e, TLS_ERR_CONFIG, "bad GnuTLS priority \"%s\" at offset %td (\"%s\"): %s",
			        base, errpos - prio, errpos, gnutls_strerror(r));
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
	struct gnutls_ctx_impl *x;
	int r;

	x = calloc(1, sizeof *x);
	if (x == NULL) {
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		return NULL;
	}
	x->base.be = &tls_backend_gnutls;
	x->base.role = cfg->role;
	x->request_client_cert = cfg->request_client_cert;
	if (cfg->keylog_file != NULL && (x->base.keylog_file = strdup(cfg->keylog_file)) == NULL) {
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		goto fail;
	}
	if (cfg->role == TLS_ROLE_CLIENT && cfg->ncerts > 1) {
		err_set(e, TLS_ERR_CONFIG, "a TLS client takes at most one certificate");
		goto fail;
	}
	r = gnutls_certificate_allocate_credentials(&x->cred);
	if (r < 0) {
		x->cred = NULL;
		err_set(e, TLS_ERR_CONFIG, "gnutls credentials: %s", gnutls_strerror(r));
		goto fail;
	}
	if (load_certs(x, cfg, e) < 0 || load_trust(x, cfg, e) < 0 || set_priority(x, cfg, e) < 0)
		goto fail;
	return &x->base;
fail:
	gtls_ctx_free(&x->base);
	return NULL;
}

/* ---- callbacks ----------------------------------------------------------- */

/*
 * Server: note which TLS 1.2 suites the ClientHello offers for each key type
 * (RFC 5246 7.4.1.2), so the certificate we choose leaves a suite to agree on.
 */
static int
client_hello_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                  const gnutls_datum_t *msg)
{
	struct gnutls_conn_impl *c = gnutls_session_get_ptr(s);
	const unsigned char *p = msg->data, *end = msg->data + msg->size;
	unsigned char id[2];
	gnutls_kx_algorithm_t kx;
	gnutls_cipher_algorithm_t ciph;
	gnutls_mac_algorithm_t mac;
	gnutls_protocol_t minv;
	size_t n;

	(void)htype, (void)when, (void)incoming;
	if (c == NULL || msg->size < 35)
		return 0;
	p += 34 + 1 + p[34]; /* legacy_version, random, legacy_session_id */
	if (p + 2 > end)
		return 0;
	n = (size_t)p[0] << 8 | p[1];
	p += 2;
	for (size_t i = 0; i + 1 < n && p + i + 1 < end; i += 2)
		for (size_t k = 0; gnutls_cipher_suite_info(k, id, &kx, &ciph, &mac, &minv) != NULL; k++) {
			if (id[0] != p[i] || id[1] != p[i + 1])
				continue;
			if (kx == GNUTLS_KX_ECDHE_ECDSA)
				c->offers_ecdsa = 1;
			else if (kx == GNUTLS_KX_ECDHE_RSA || kx == GNUTLS_KX_DHE_RSA || kx == GNUTLS_KX_RSA)
				c->offers_rsa = 1;
			break;
		}
	return 0;
}

/* Can this pair serve the connection?  TLS 1.3 suites fit any key. */
static int
keypair_fits(const struct gnutls_conn_impl *c, const struct gnutls_keypair *kp)
{
	if (gnutls_protocol_get_version(c->s) == GNUTLS_TLS1_3)
		return 1;
	return kp->pk == GNUTLS_PK_RSA ? c->offers_rsa : c->offers_ecdsa;
}

/*
 * Server: which certificate (docs/tls.md).  Those whose names match the SNI
 * (certname.c rules, wildcards included), else those with the first
 * certificate's names (OpenSSL's default SSL_CTX); among them, and among
 * those a TLS 1.2 suite the client offers can use, the first that can sign
 * with the client's most preferred signature algorithm (RFC 8446 4.2.3:
 * client order, as OpenSSL does without server preference), else the first.
 * GnuTLS's own choice matches SNI by exact string (no wildcards) and in TLS
 * 1.2 lets the client's favourite suite pick a certificate for another name.
 */
static int
select_cert_cb(gnutls_session_t s, const struct gnutls_cert_retr_st *info,
               gnutls_pcert_st **certs, unsigned *ncerts, gnutls_ocsp_data_st **ocsp,
               unsigned *nocsp, gnutls_privkey_t *key, unsigned *flags)
{
	struct gnutls_conn_impl *c = gnutls_session_get_ptr(s);
	struct gnutls_ctx_impl *x;
	gnutls_sign_algorithm_t alg;
	char name[256];
	size_t len = sizeof name;
	unsigned type, cand = 0, fit = 0;
	int best = -1;

	(void)info;
	if (c == NULL || (x = CTX(c->base.ctx))->nkp == 0)
		return -1;
	if (gnutls_server_name_get(s, name, &len, &type, 0) == 0 && type == GNUTLS_NAME_DNS)
		for (size_t i = 0; i < x->nkp; i++)
			if (tls_cert_names_match(&x->kp[i].names, name))
				cand |= 1u << i;
	for (size_t i = 0; cand == 0 && i < x->nkp; i++)
		if (x->kp[i].group == 0)
			cand |= 1u << i;
	for (size_t i = 0; i < x->nkp; i++)
		if ((cand & (1u << i)) && keypair_fits(c, &x->kp[i]))
			fit |= 1u << i;
	if (fit != 0)
		cand = fit;
	for (unsigned k = 0; best < 0 && gnutls_sign_algorithm_get_requested(s, k, &alg) == 0; k++)
		for (size_t i = 0; best < 0 && i < x->nkp; i++)
			if ((cand & (1u << i)) && gnutls_sign_supports_pk_algorithm(alg, x->kp[i].pk))
				best = (int)i;
	for (size_t i = 0; best < 0 && i < x->nkp; i++)
		if (cand & (1u << i))
			best = (int)i;
	*certs = x->kp[best].pcert;
	*ncerts = x->kp[best].npcert;
	*key = x->kp[best].key;
	*ocsp = NULL; /* the staple comes from staple_cb */
	*nocsp = 0;
	*flags = 0; /* still ours: freed by ctx_free */
	return 0;
}

/*
 * Server: called when the client sent status_request (RFC 6066 8; in TLS 1.3
 * the answer rides in the Certificate message, RFC 8446 4.4.2.1).  We hand
 * over the caller's bytes unjudged; GnuTLS frees the copy.
 */
static int
staple_cb(gnutls_session_t s, void *ptr, gnutls_datum_t *resp)
{
	struct gnutls_conn_impl *c = gnutls_session_get_ptr(s);

	(void)ptr;
	if (c == NULL)
		return GNUTLS_E_NO_CERTIFICATE_STATUS;
	c->base.info.staple_requested = 1;
	if (c->staple == NULL || c->staple_len == 0)
		return GNUTLS_E_NO_CERTIFICATE_STATUS;
	resp->data = gnutls_malloc(c->staple_len);
	if (resp->data == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(resp->data, c->staple, c->staple_len);
	resp->size = (unsigned)c->staple_len;
	c->base.info.staple_sent = 1;
	return 0;
}

static void
hex(char *out, const unsigned char *p, size_t n)
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
keylog_cb(gnutls_session_t s, const char *label, const gnutls_datum_t *secret)
{
	struct gnutls_conn_impl *c = gnutls_session_get_ptr(s);
	gnutls_datum_t cr, sr;
	char crhex[2 * 32 + 1], sechex[2 * 64 + 1], line[400];

	if (c == NULL || secret->size > 64)
		return 0;
	gnutls_session_get_random(s, &cr, &sr);
	if (cr.size != 32)
		return 0;
	hex(crhex, cr.data, cr.size);
	hex(sechex, secret->data, secret->size);
	snprintf(line, sizeof line, "%s %s %s", label, crhex, sechex);
	tls_keylog_append(c->base.ctx, line);
	return 0;
}

/* ---- connection ---------------------------------------------------------- */

static void
gtls_conn_free(struct tls_conn *tc)
{
	struct gnutls_conn_impl *c = CONN(tc);

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
	struct gnutls_ctx_impl *x = CTX(ctx);
	struct gnutls_conn_impl *c;
	int client = x->base.role == TLS_ROLE_CLIENT;
	int r;

	if (opts->ntlsa > 0) {
		err_set(e, TLS_ERR_UNSUPPORTED, "DANE is not implemented yet");
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		err_set(e, TLS_ERR_IO, "out of memory");
		return NULL;
	}
	c->base.be = &tls_backend_gnutls;
	c->base.ctx = ctx;
	c->base.fd = fd;
	c->base.info.backend = "gnutls";
	c->base.info.role = x->base.role;
	/* FORCE_CLIENT_CERT: send our one certificate even when its issuer is
	 * not in the server's list, as OpenSSL does.  NO_SIGNAL: a peer that
	 * hangs up must not kill the process with SIGPIPE. */
	r = gnutls_init(&c->s, GNUTLS_NO_SIGNAL |
	                       (client ? GNUTLS_CLIENT | GNUTLS_FORCE_CLIENT_CERT : GNUTLS_SERVER));
	if (r < 0) {
		c->s = NULL;
		goto fail;
	}
	gnutls_session_set_ptr(c->s, c);
	if ((r = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, x->cred)) < 0 ||
	    (r = gnutls_priority_set(c->s, x->prio)) < 0)
		goto fail;
	gnutls_transport_set_int(c->s, fd); /* a macro: evaluates fd twice */
	/* Timeouts are the caller's (SO_RCVTIMEO), not a GnuTLS default. */
	gnutls_handshake_set_timeout(c->s, GNUTLS_INDEFINITE_TIMEOUT);
	if (x->base.keylog_file != NULL)
		gnutls_session_set_keylog_function(c->s, keylog_cb);
	if (client) {
		if (opts->sni != NULL && opts->sni[0] != '\0') {
			r = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, opts->sni, strlen(opts->sni));
			if (r < 0)
				goto fail;
			snprintf(c->base.info.sni, sizeof c->base.info.sni, "%s", opts->sni);
		}
		if (opts->request_staple) {
			r = gnutls_ocsp_status_request_enable_client(c->s, NULL, 0, NULL);
			if (r < 0)
				goto fail;
		}
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
		c->staple = opts->staple;
		c->staple_len = opts->staple_len;
		gnutls_handshake_set_hook_function(c->s, GNUTLS_HANDSHAKE_CLIENT_HELLO,
		                                   GNUTLS_HOOK_PRE, client_hello_hook);
	}
	return &c->base;
fail:
	err_set(e, TLS_ERR_CONFIG, "gnutls session setup: %s", gnutls_strerror(r));
	gtls_conn_free(&c->base);
	return NULL;
}

/* ---- facts --------------------------------------------------------------- */

static void
key_type(const gnutls_datum_t *der, char *out, size_t outlen)
{
	gnutls_x509_crt_t crt;
	const char *t = "";

	if (der == NULL || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) >= 0) {
		switch (gnutls_x509_crt_get_pk_algorithm(crt, NULL)) {
		case GNUTLS_PK_RSA:
		case GNUTLS_PK_RSA_PSS:
			t = "RSA";
			break;
		case GNUTLS_PK_ECDSA:
			t = "ECDSA";
			break;
		case GNUTLS_PK_EDDSA_ED25519:
			t = "Ed25519";
			break;
		default:
			break;
		}
	}
	snprintf(out, outlen, "%s", t);
	gnutls_x509_crt_deinit(crt);
}

/* Self-signed = one certificate, issued by itself, whose signature verifies
 * with its own key (OpenSSL: X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT). */
static int
is_self_signed(const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt;
	unsigned st = 0;
	int yes = 0;

	if (gnutls_x509_crt_init(&crt) < 0)
		return 0;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0 ||
	    !gnutls_x509_crt_check_issuer(crt, crt))
		goto out;
	/* DO_NOT_ALLOW_SAME: really check the signature instead of accepting
	 * the certificate for being in the "trusted" list; a leaf need not be
	 * a CA and dates are judged elsewhere. */
	if (gnutls_x509_crt_verify(crt, &crt, 1,
	                           GNUTLS_VERIFY_DO_NOT_ALLOW_SAME | GNUTLS_VERIFY_DISABLE_CA_SIGN |
	                           GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &st) < 0)
		goto out;
	yes = !(st & (GNUTLS_CERT_SIGNATURE_FAILURE | GNUTLS_CERT_SIGNER_NOT_FOUND));
out:
	gnutls_x509_crt_deinit(crt);
	return yes;
}

/* GnuTLS stops at the first element it cannot chain, so dates below an
 * unknown issuer go unchecked; OpenSSL reports them.  Check every
 * certificate the peer sent ourselves, so both backends set the same bits. */
static unsigned
date_flags(const gnutls_datum_t *chain, unsigned n)
{
	unsigned flags = 0;
	time_t now = time(NULL);

	for (unsigned i = 0; i < n; i++) {
		gnutls_x509_crt_t crt;

		if (gnutls_x509_crt_init(&crt) < 0)
			continue;
		if (gnutls_x509_crt_import(crt, &chain[i], GNUTLS_X509_FMT_DER) >= 0) {
			if (gnutls_x509_crt_get_expiration_time(crt) < now)
				flags |= TLS_VERIFY_BIT(TLS_VERIFY_EXPIRED);
			if (gnutls_x509_crt_get_activation_time(crt) > now)
				flags |= TLS_VERIFY_BIT(TLS_VERIFY_NOT_YET_VALID);
		}
		gnutls_x509_crt_deinit(crt);
	}
	return flags;
}

/*
 * The chain against the trust anchors and CRLs, and nothing else.  Not
 * gnutls_certificate_verify_peers(): it also judges a received staple, and a
 * GnuTLS 3.7 client asks for one on every connection (GNUTLS_NO_STATUS_REQUEST
 * is 3.8), so the verdict would depend on the library; staples are neutral
 * code's business.  No hostname: names are lib/certname.c's.  The purpose is
 * checked as OpenSSL's default X509_PURPOSE_SSL_SERVER / _CLIENT does.
 */
static int
verify_chain(struct gnutls_conn_impl *c, const gnutls_datum_t *chain, unsigned n, unsigned *st)
{
	struct gnutls_ctx_impl *x = CTX(c->base.ctx);
	gnutls_x509_crt_t crts[16];
	gnutls_x509_trust_list_t tl;
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (void *)(x->base.role == TLS_ROLE_CLIENT ? GNUTLS_KP_TLS_WWW_SERVER
		                                                 : GNUTLS_KP_TLS_WWW_CLIENT),
	};
	unsigned ncrt = 0;
	int r;

	if (n > 16)
		n = 16;
	for (; ncrt < n; ncrt++) {
		if ((r = gnutls_x509_crt_init(&crts[ncrt])) < 0)
			goto out;
		if ((r = gnutls_x509_crt_import(crts[ncrt], &chain[ncrt], GNUTLS_X509_FMT_DER)) < 0) {
			ncrt++;
			goto out;
		}
	}
	gnutls_certificate_get_trust_list(x->cred, &tl);
	r = gnutls_x509_trust_list_verify_crt2(tl, crts, ncrt, &purpose, 1,
	                                       gnutls_certificate_get_verify_flags(x->cred), st, NULL);
out:
	for (unsigned i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	return r;
}

static void
verify_peer(struct gnutls_conn_impl *c, const gnutls_datum_t *chain, unsigned n)
{
	struct tls_info *info = &c->base.info;
	unsigned st = 0, flags = 0, rest;
	gnutls_datum_t txt = { NULL, 0 };
	int r;

	if (!CTX(c->base.ctx)->have_ca) {
		info->verify_flags = TLS_VERIFY_BIT(TLS_VERIFY_NOT_CHECKED);
		return;
	}
	if (n == 0) {
		info->verify_flags = TLS_VERIFY_BIT(TLS_VERIFY_NO_CERTIFICATE);
		return;
	}
	r = verify_chain(c, chain, n, &st);
	if (r < 0) {
		info->verify_flags = TLS_VERIFY_BIT(TLS_VERIFY_INVALID);
		snprintf(info->verify_detail, sizeof info->verify_detail, "%s", gnutls_strerror(r));
		return;
	}
	if (st & GNUTLS_CERT_SIGNER_NOT_FOUND)
		flags |= TLS_VERIFY_BIT(n == 1 && is_self_signed(&chain[0]) ? TLS_VERIFY_SELF_SIGNED
		                                                             : TLS_VERIFY_UNKNOWN_CA);
	if (st & GNUTLS_CERT_SIGNATURE_FAILURE)
		flags |= TLS_VERIFY_BIT(TLS_VERIFY_BAD_SIGNATURE);
	if (st & GNUTLS_CERT_REVOKED)
		flags |= TLS_VERIFY_BIT(TLS_VERIFY_REVOKED);
	if (st & GNUTLS_CERT_EXPIRED)
		flags |= TLS_VERIFY_BIT(TLS_VERIFY_EXPIRED);
	if (st & GNUTLS_CERT_NOT_ACTIVATED)
		flags |= TLS_VERIFY_BIT(TLS_VERIFY_NOT_YET_VALID);
	/* Everything else (SIGNER_NOT_CA, INSECURE_ALGORITHM, PURPOSE_MISMATCH,
	 * INVALID_OCSP_STATUS, ...) is "invalid"; GNUTLS_CERT_INVALID itself is
	 * only the summary bit and counts alone only when nothing explains it. */
	rest = st & ~(unsigned)(GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND |
	                        GNUTLS_CERT_SIGNATURE_FAILURE | GNUTLS_CERT_REVOKED |
	                        GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED);
	if (rest != 0 || (st != 0 && flags == 0))
		flags |= TLS_VERIFY_BIT(TLS_VERIFY_INVALID);
	if (st != 0)
		flags |= date_flags(chain, n);
	info->verify_flags = flags;
	if (st != 0 &&
	    gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &txt, 0) >= 0) {
		snprintf(info->verify_detail, sizeof info->verify_detail, "%s", (char *)txt.data);
		gnutls_free(txt.data);
	}
}

static void
fill_info(struct gnutls_conn_impl *c)
{
	struct tls_info *info = &c->base.info;
	const gnutls_datum_t *chain, *ours;
	unsigned n = 0;

	switch (gnutls_protocol_get_version(c->s)) {
	case GNUTLS_TLS1_2:
		snprintf(info->version, sizeof info->version, "TLSv1.2");
		break;
	case GNUTLS_TLS1_3:
		snprintf(info->version, sizeof info->version, "TLSv1.3");
		break;
	default:
		snprintf(info->version, sizeof info->version, "%s",
		         gnutls_protocol_get_name(gnutls_protocol_get_version(c->s)));
		break;
	}
	/* The IANA name (RFC 8446 B.4, the TLS Cipher Suites registry), as
	 * OpenSSL's SSL_CIPHER_standard_name: gnutls_ciphersuite_get() (3.7.3+)
	 * gives exactly that for 1.2 ("..._WITH_...") and 1.3 alike. */
	snprintf(info->cipher, sizeof info->cipher, "%s",
	         gnutls_ciphersuite_get(c->s) != NULL ? gnutls_ciphersuite_get(c->s) : "");
	if (info->role == TLS_ROLE_SERVER) {
		size_t len = sizeof info->sni;
		unsigned type;

		if (gnutls_server_name_get(c->s, info->sni, &len, &type, 0) < 0 ||
		    type != GNUTLS_NAME_DNS)
			info->sni[0] = '\0';
	}
	ours = gnutls_certificate_get_ours(c->s);
	key_type(ours, info->local_key_type, sizeof info->local_key_type);
	chain = gnutls_certificate_get_peers(c->s, &n);
	if (chain == NULL)
		n = 0;
	if (n > 0)
		key_type(&chain[0], info->peer_key_type, sizeof info->peer_key_type);
	tls_info_clear(info);
	for (unsigned i = 0; i < n && i < TLS_MAX_CHAIN; i++)
		tls_info_set_der(&info->peer_chain[i], chain[i].data, chain[i].size);
	info->peer_chain_len = n < TLS_MAX_CHAIN ? n : TLS_MAX_CHAIN;
	if (info->role == TLS_ROLE_CLIENT) {
		gnutls_datum_t st = { NULL, 0 };

		if (gnutls_ocsp_status_request_get(c->s, &st) >= 0)
			tls_info_set_der(&info->staple, st.data, st.size);
	}
	verify_peer(c, chain, n);
	info->verify = tls_verify_summary(info->verify_flags);
}

/* ---- I/O ----------------------------------------------------------------- */

/*
 * GNUTLS_E_AGAIN on a blocking socket means SO_RCVTIMEO/SO_SNDTIMEO expired.
 * On a non-blocking one (not the contract, but harmless) wait and go on.
 */
static int
wait_or_timeout(struct gnutls_conn_impl *c)
{
	int fl = fcntl(c->base.fd, F_GETFL);
	struct pollfd p;

	if (fl < 0 || !(fl & O_NONBLOCK))
		return -1;
	p.fd = c->base.fd;
	p.events = gnutls_record_get_direction(c->s) ? POLLOUT : POLLIN;
	return poll(&p, 1, -1) < 0 && errno != EINTR ? -1 : 0;
}

/* RFC 8446 6 spelling ("handshake_failure") from "GNUTLS_A_HANDSHAKE_FAILURE". */
static const char *
alert_name(gnutls_alert_description_t a, char *buf, size_t len)
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
	struct gnutls_conn_impl *c = CONN(tc);
	char alert[64];
	int r;

	for (;;) {
		r = gnutls_handshake(c->s);
		if (r == GNUTLS_E_SUCCESS)
			break;
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_AGAIN && wait_or_timeout(c) == 0)
			continue;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_TIMEDOUT) {
			err_set(e, TLS_ERR_TIMEOUT, "TLS handshake timed out");
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
			        gnutls_strerror(r), alert_name(gnutls_alert_get(c->s), alert, sizeof alert));
		else
			err_set(e, TLS_ERR_HANDSHAKE, "TLS handshake failed: %s", gnutls_strerror(r));
		return TLS_ERR_HANDSHAKE;
	}
	fill_info(c);
	return TLS_OK;
}

static ssize_t
gtls_read(struct tls_conn *tc, void *buf, size_t len, struct err *e)
{
	struct gnutls_conn_impl *c = CONN(tc);
	ssize_t r;

	for (;;) {
		r = gnutls_record_recv(c->s, buf, len);
		if (r >= 0)
			return r; /* 0 = close_notify */
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_AGAIN && wait_or_timeout(c) == 0)
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
	struct gnutls_conn_impl *c = CONN(tc);
	const char *p = buf;
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = gnutls_record_send(c->s, p + done, len - done);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		/* After E_AGAIN GnuTLS wants the same call again (same data, or
		 * NULL, 0) to flush the record it already built. */
		if (r == GNUTLS_E_AGAIN && wait_or_timeout(c) == 0)
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
	(void)gnutls_bye(CONN(tc)->s, GNUTLS_SHUT_WR);
}

/* ---- names --------------------------------------------------------------- */

/* A name whose length differs from its strlen carries a NUL: never matchable
 * (CVE-2009-2408 style "a.example\0.evil"), so it is dropped. */
static char *
clean_dup(const char *s, size_t len)
{
	return strlen(s) == len ? strdup(s) : NULL;
}

static enum tls_status
gtls_cert_names(const unsigned char *der, size_t len, struct tls_cert_names *out, struct err *e)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = { (unsigned char *)der, (unsigned)len };
	enum tls_status rc = TLS_ERR_CONFIG;
	char buf[1024];
	size_t size;
	unsigned crit;
	int r;

	memset(out, 0, sizeof *out);
	if (gnutls_x509_crt_init(&crt) < 0) {
		crt = NULL;
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		goto out;
	}
	r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
	if (r < 0) {
		err_set(e, TLS_ERR_CONFIG, "cannot decode certificate: %s", gnutls_strerror(r));
		goto out;
	}
	for (unsigned seq = 0; seq < 1024; seq++) {
		char *name, **grown;

		size = sizeof buf - 1;
		r = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, &crit);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* longer than any DNS name: cannot match */
		if (r < 0) {
			err_set(e, TLS_ERR_CONFIG, "cannot decode subjectAltName: %s",
			        gnutls_strerror(r));
			goto out;
		}
		if (r != GNUTLS_SAN_DNSNAME)
			continue;
		buf[size] = '\0';
		if ((name = clean_dup(buf, size)) == NULL)
			continue;
		grown = realloc(out->dns, (out->ndns + 1) * sizeof *out->dns);
		if (grown == NULL) {
			free(name);
			err_set(e, TLS_ERR_CONFIG, "out of memory");
			goto out;
		}
		out->dns = grown;
		out->dns[out->ndns++] = name;
	}
	/* The last CN (RFC 6125 6.4.4 only says "a" CN; the seed takes the
	 * most specific one, which is the last in the DN). */
	for (unsigned idx = 0; idx < 64; idx++) {
		size = sizeof buf - 1;
		r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, idx, 0, buf, &size);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		free(out->cn);
		out->cn = NULL;
		if (r < 0)
			continue; /* too long or undecodable: this CN cannot match */
		buf[size] = '\0';
		/* "#04..." is RFC 4514's hex form: GnuTLS could not print the
		 * value as a string (e.g. it holds a NUL); never a host name. */
		if (buf[0] != '#')
			out->cn = clean_dup(buf, size);
	}
	rc = TLS_OK;
out:
	if (rc != TLS_OK)
		tls_cert_names_free(out);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

const struct tls_backend tls_backend_gnutls = {
	.name = "gnutls",
	.version = gtls_version,
	.ctx_new = gtls_ctx_new,
	.ctx_free = gtls_ctx_free,
	.conn_new = gtls_conn_new,
	.handshake = gtls_handshake,
	.read = gtls_read,
	.write = gtls_write,
	.shutdown = gtls_shutdown,
	.conn_free = gtls_conn_free,
	.cert_names = gtls_cert_names,
};
