/*
 * tls_gnutls_server.c - the GnuTLS backend's server side: which certificate
 * to present, and the staple to serve.
 *
 * GnuTLS's own certificate choice matches SNI by exact string (no wildcards)
 * and in TLS 1.2 lets the client's favourite suite pick a certificate for
 * another name, so we choose ourselves (docs/tls.md, "Certificate
 * selection"), by the same name rule as the OpenSSL backend (certname.c).
 * The staple is served through a callback, never judged: a conformance
 * server must be able to serve a bad one on purpose.
 */
#include <stdlib.h>
#include <string.h>

#include "tls_gnutls.h"

/*
 * Copy pair `idx` out of the credentials (where GnuTLS already parsed it and
 * checked that key and certificate match) into the form the selection
 * callback returns.
 */
int
gtls_keypair_keep(struct gtls_ctx *x, unsigned idx, const char *file, struct err *e)
{
	struct gtls_keypair *kp = &x->kp[x->nkp];
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
	if (gtls_cert_names(kp->pcert[0].cert.data, kp->pcert[0].cert.size, &kp->names, e) !=
	    TLS_OK)
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

/* gnutls_ext_raw_parse()'s callback: status_request of type ocsp (RFC 6066 8). */
static int
gtls_hello_ext_cb(void *arg, unsigned tls_id, const unsigned char *data, unsigned size)
{
	struct gtls_conn *c = arg;

	if (tls_id == 5 && size >= 1 && data[0] == 1)
		c->asks_status = 1;
	return 0;
}

/*
 * Server: note which TLS 1.2 suites the ClientHello offers for each key type
 * (RFC 5246 7.4.1.2), so the certificate we choose leaves a suite to agree on,
 * and whether it asks for a staple: the certificate callback runs before
 * GnuTLS has read that extension, and in TLS 1.3 it is there that one staple
 * per chain element is handed over (gtls_chain_staples()).
 */
int
gtls_client_hello_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                       const gnutls_datum_t *msg)
{
	struct gtls_conn *c = gnutls_session_get_ptr(s);
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
	c->asks_status = 0;
	/* A ClientHello GnuTLS cannot parse asks for nothing (it fails anyway). */
	if (gnutls_ext_raw_parse(c, gtls_hello_ext_cb, msg, GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO) <
	    0)
		c->asks_status = 0;
	p += 34 + 1 + p[34]; /* legacy_version, random, legacy_session_id */
	if (p + 2 > end)
		return 0;
	n = (size_t)p[0] << 8 | p[1];
	p += 2;
	for (size_t i = 0; i + 1 < n && p + i + 1 < end; i += 2)
		for (size_t k = 0; gnutls_cipher_suite_info(k, id, &kx, &ciph, &mac, &minv) != NULL;
		     k++) {
			if (id[0] != p[i] || id[1] != p[i + 1])
				continue;
			if (kx == GNUTLS_KX_ECDHE_ECDSA)
				c->offers_ecdsa = 1;
			else if (kx == GNUTLS_KX_ECDHE_RSA || kx == GNUTLS_KX_DHE_RSA ||
			         kx == GNUTLS_KX_RSA)
				c->offers_rsa = 1;
			break;
		}
	return 0;
}

/* Can this pair serve the connection?  TLS 1.3 suites fit any key. */
static int
gtls_keypair_fits(const struct gtls_conn *c, const struct gtls_keypair *kp)
{
	if (gnutls_protocol_get_version(c->s) == GNUTLS_TLS1_3)
		return 1;
	return kp->pk == GNUTLS_PK_RSA ? c->offers_rsa : c->offers_ecdsa;
}

/*
 * Server, TLS 1.3, a client that asked: one staple per element of the chain
 * we send (RFC 8446 4.4.2.1), each asked of the caller with its own
 * certificate and issuer (tls_conn_pick_staple, depth 0 first).  GnuTLS puts
 * ocsp[i] in the CertificateEntry of certificate i and skips empty ones; with
 * this array it no longer calls gtls_staple_cb.  0 when nothing is to be
 * handed over this way (TLS 1.2 carries the leaf's alone, through
 * gtls_staple_cb).
 */
static unsigned
gtls_chain_staples(struct gtls_conn *c, const struct gtls_keypair *kp)
{
	unsigned n = kp->npcert < TLS_MAX_CHAIN ? kp->npcert : TLS_MAX_CHAIN;
	char name[256];
	size_t namelen = sizeof name;
	unsigned type;

	if (!c->asks_status || gnutls_protocol_get_version(c->s) != GNUTLS_TLS1_3 ||
	    (c->base.staple_for == NULL && c->base.staple_len == 0))
		return 0;
	if (gnutls_server_name_get(c->s, name, &namelen, &type, 0) != 0 || type != GNUTLS_NAME_DNS)
		name[0] = '\0';
	c->base.info.staple_requested = 1;
	c->base.info.staple_sent = 0; /* counted afresh if GnuTLS asks again */
	c->base.info.chain_staples_sent = 0;
	c->chain_stapled = 1;
	for (unsigned d = 0; d < n; d++) {
		struct tls_der cert = { kp->pcert[d].cert.data, kp->pcert[d].cert.size };
		struct tls_der up = { 0 };
		const unsigned char *staple = NULL;
		size_t len = 0;

		if (d + 1 < kp->npcert) {
			up.data = kp->pcert[d + 1].cert.data;
			up.len = kp->pcert[d + 1].cert.size;
		}
		tls_conn_pick_staple(&c->base, (size_t)c->chosen, d, name[0] ? name : NULL, &cert,
		                     up.len ? &up : NULL, &staple, &len);
		memset(&c->ocsp[d], 0, sizeof c->ocsp[d]);
		if (staple == NULL || len == 0 || len > 0xffffff)
			continue;
		/* The caller's bytes live until the handshake ends; flags 0
		 * below: GnuTLS frees none of it. */
		c->ocsp[d].response.data = (unsigned char *)staple;
		c->ocsp[d].response.size = (unsigned)len;
		if (d == 0)
			c->base.info.staple_sent = 1;
		else
			c->base.info.chain_staples_sent++;
	}
	return n;
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
int
gtls_select_cert_cb(gnutls_session_t s, const struct gnutls_cert_retr_st *info,
                    gnutls_pcert_st **certs, unsigned *ncerts, gnutls_ocsp_data_st **ocsp,
                    unsigned *nocsp, gnutls_privkey_t *key, unsigned *flags)
{
	struct gtls_conn *c = gnutls_session_get_ptr(s);
	struct gtls_ctx *x;
	gnutls_sign_algorithm_t alg;
	char name[256];
	size_t len = sizeof name;
	unsigned type, cand = 0, fit = 0;
	int best = -1;

	(void)info;
	if (c == NULL || (x = GTLS_CTX(c->base.ctx))->nkp == 0)
		return -1;
	if (gnutls_server_name_get(s, name, &len, &type, 0) == 0 && type == GNUTLS_NAME_DNS)
		for (size_t i = 0; i < x->nkp; i++)
			if (tls_cert_names_match(&x->kp[i].names, name))
				cand |= 1u << i;
	/* No SNI, or no match: every certificate of the first one's names,
	 * not only the first (issue 12, bug 2: an RSA-only client was served
	 * the ECDSA certificate listed first). */
	if (cand == 0)
		for (size_t i = 0; i < x->nkp; i++)
			if (x->kp[i].group == 0)
				cand |= 1u << i;
	for (size_t i = 0; i < x->nkp; i++)
		if ((cand & (1u << i)) && gtls_keypair_fits(c, &x->kp[i]))
			fit |= 1u << i;
	if (fit != 0)
		cand = fit;
	for (unsigned k = 0; best < 0 && gnutls_sign_algorithm_get_requested(s, k, &alg) == 0; k++)
		for (size_t i = 0; best < 0 && i < x->nkp; i++)
			if ((cand & (1u << i)) &&
			    gnutls_sign_supports_pk_algorithm(alg, x->kp[i].pk))
				best = (int)i;
	for (size_t i = 0; best < 0 && i < x->nkp; i++)
		if (cand & (1u << i))
			best = (int)i;
	c->chosen = best;
	*certs = x->kp[best].pcert;
	*ncerts = x->kp[best].npcert;
	*key = x->kp[best].key;
	*nocsp = gtls_chain_staples(c, &x->kp[best]);
	*ocsp = *nocsp > 0 ? c->ocsp : NULL; /* else from gtls_staple_cb */
	*flags = 0;                          /* still ours: freed by ctx_free */
	return 0;
}

/*
 * Server: called when the client sent status_request (RFC 6066 8; in TLS 1.3
 * the answer rides in the Certificate message, RFC 8446 4.4.2.1).  The
 * caller picks the bytes for the certificate gtls_select_cert_cb chose
 * (tls_conn_pick_staple) and judges them; GnuTLS frees the copy.
 */
int
gtls_staple_cb(gnutls_session_t s, void *ptr, gnutls_datum_t *resp)
{
	struct gtls_conn *c = gnutls_session_get_ptr(s);
	const struct gtls_keypair *kp;
	struct tls_der leaf = { 0 }, issuer = { 0 };
	const unsigned char *staple = NULL;
	size_t len = 0, namelen;
	char name[256];
	unsigned type;

	(void)ptr;
	if (c == NULL)
		return GNUTLS_E_NO_CERTIFICATE_STATUS;
	namelen = sizeof name;
	c->base.info.staple_requested = 1;
	if (c->chosen < 0 || c->chain_stapled) /* asked already, per element */
		return GNUTLS_E_NO_CERTIFICATE_STATUS;
	kp = &GTLS_CTX(c->base.ctx)->kp[c->chosen];
	leaf.data = kp->pcert[0].cert.data;
	leaf.len = kp->pcert[0].cert.size;
	if (kp->npcert > 1) {
		issuer.data = kp->pcert[1].cert.data;
		issuer.len = kp->pcert[1].cert.size;
	}
	if (gnutls_server_name_get(s, name, &namelen, &type, 0) != 0 || type != GNUTLS_NAME_DNS)
		name[0] = '\0';
	tls_conn_pick_staple(&c->base, (size_t)c->chosen, 0, name[0] ? name : NULL, &leaf,
	                     issuer.len ? &issuer : NULL, &staple, &len);
	if (staple == NULL || len == 0)
		return GNUTLS_E_NO_CERTIFICATE_STATUS;
	resp->data = gnutls_malloc(len);
	if (resp->data == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(resp->data, staple, len);
	resp->size = (unsigned)len;
	c->base.info.staple_sent = 1;
	return 0;
}
