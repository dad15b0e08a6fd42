/*
 * tls_gnutls_verify.c - the GnuTLS backend's facts after a handshake:
 * version, IANA suite, key types, the peer chain as sent, the staple
 * received, and which checks of the chain failed, in the canonical
 * vocabulary (the verdict rule itself is lib/tls_verdict.c's).  Also the
 * decoding of a certificate's names for the neutral name check.
 *
 * The chain check is ours (gtls_verify_chain), not
 * gnutls_certificate_verify_peers(), which would also judge a staple.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tls_gnutls.h"

static void
gtls_key_type(const gnutls_datum_t *der, char *out, size_t outlen)
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
gtls_is_self_signed(const gnutls_datum_t *der)
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
	                                   GNUTLS_VERIFY_DISABLE_TIME_CHECKS,
	                           &st) < 0)
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
gtls_date_flags(const gnutls_datum_t *chain, unsigned n)
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
gtls_verify_chain(struct gtls_conn *c, const gnutls_datum_t *chain, unsigned n, unsigned *st)
{
	struct gtls_ctx *x = GTLS_CTX(c->base.ctx);
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
		if ((r = gnutls_x509_crt_import(crts[ncrt], &chain[ncrt], GNUTLS_X509_FMT_DER)) <
		    0) {
			ncrt++;
			goto out;
		}
	}
	gnutls_certificate_get_trust_list(x->cred, &tl);
	r = gnutls_x509_trust_list_verify_crt2(tl, crts, ncrt, &purpose, 1,
	                                       gnutls_certificate_get_verify_flags(x->cred), st,
	                                       NULL);
out:
	for (unsigned i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	return r;
}

/* The trust anchor that issued the top of a verified chain, when it is not
 * that certificate itself (the peer did not send it). */
static void
gtls_set_anchor(struct gtls_conn *c, const gnutls_datum_t *top, struct tls_info *info)
{
	struct gtls_ctx *x = GTLS_CTX(c->base.ctx);
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t crt = NULL, issuer = NULL;
	gnutls_datum_t d = { NULL, 0 };

	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	gnutls_certificate_get_trust_list(x->cred, &tl);
	if (gnutls_x509_crt_import(crt, top, GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_trust_list_get_issuer(tl, crt, &issuer, GNUTLS_TL_GET_COPY) >= 0 &&
	    gnutls_x509_crt_export2(issuer, GNUTLS_X509_FMT_DER, &d) >= 0 &&
	    !(d.size == top->size && memcmp(d.data, top->data, top->size) == 0))
		tls_info_set_der(&info->anchor, d.data, d.size);
	gnutls_free(d.data);
	if (issuer != NULL)
		gnutls_x509_crt_deinit(issuer);
	gnutls_x509_crt_deinit(crt);
}

/*
 * The problems GnuTLS sees in a non-empty chain, as TLS_VERIFY_BIT()s, and
 * its wording of them in `detail`.  Only called when there is a chain and
 * trust anchors to check it against (tls_conn_chain_checkable()).
 */
static unsigned
gtls_chain_flags(struct gtls_conn *c, const gnutls_datum_t *chain, unsigned n, char *detail,
                 size_t detail_len)
{
	unsigned st = 0, flags = 0, rest;
	gnutls_datum_t txt = { NULL, 0 };
	int r;

	r = gtls_verify_chain(c, chain, n, &st);
	if (r < 0) {
		snprintf(detail, detail_len, "%s", gnutls_strerror(r));
		return TLS_VERIFY_BIT(TLS_VERIFY_INVALID);
	}
	if (st & GNUTLS_CERT_SIGNER_NOT_FOUND)
		flags |= TLS_VERIFY_BIT(n == 1 && gtls_is_self_signed(&chain[0])
		                                ? TLS_VERIFY_SELF_SIGNED
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
		flags |= gtls_date_flags(chain, n);
	if (st != 0 &&
	    gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &txt, 0) >= 0) {
		snprintf(detail, detail_len, "%s", (char *)txt.data);
		gnutls_free(txt.data);
	}
	return flags;
}

void
gtls_fill_info(struct gtls_conn *c)
{
	struct tls_info *info = &c->base.info;
	const gnutls_datum_t *chain, *ours;
	char detail[sizeof info->verify_detail] = "";
	unsigned n = 0, flags = 0;

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
	switch (gnutls_group_get(c->s)) {
	case GNUTLS_GROUP_X25519:
		snprintf(info->group, sizeof info->group, "X25519");
		break;
	case GNUTLS_GROUP_X448:
		snprintf(info->group, sizeof info->group, "X448");
		break;
	case GNUTLS_GROUP_SECP256R1:
		snprintf(info->group, sizeof info->group, "P-256");
		break;
	case GNUTLS_GROUP_SECP384R1:
		snprintf(info->group, sizeof info->group, "P-384");
		break;
	case GNUTLS_GROUP_SECP521R1:
		snprintf(info->group, sizeof info->group, "P-521");
		break;
	default:
		info->group[0] = '\0';
		break;
	}
	if (info->role == TLS_ROLE_SERVER) {
		size_t len = sizeof info->sni;
		unsigned type;

		if (gnutls_server_name_get(c->s, info->sni, &len, &type, 0) < 0 ||
		    type != GNUTLS_NAME_DNS)
			info->sni[0] = '\0';
	}
	ours = gnutls_certificate_get_ours(c->s);
	gtls_key_type(ours, info->local_key_type, sizeof info->local_key_type);
	chain = gnutls_certificate_get_peers(c->s, &n);
	if (chain == NULL)
		n = 0;
	if (n > 0)
		gtls_key_type(&chain[0], info->peer_key_type, sizeof info->peer_key_type);
	tls_info_clear(info);
	for (unsigned i = 0; i < n; i++)
		tls_info_add_peer_cert(info, chain[i].data, chain[i].size);
	if (info->role == TLS_ROLE_CLIENT) {
		gnutls_datum_t st = { NULL, 0 };

		if (gnutls_ocsp_status_request_get(c->s, &st) >= 0)
			tls_info_set_der(&info->staple, st.data, st.size);
		/* TLS 1.3: one per CertificateEntry (RFC 8446 4.4.2.1). */
		for (unsigned d = 1; d < n && d < TLS_MAX_CHAIN; d++) {
			gnutls_datum_t cs = { NULL, 0 };

			if (gnutls_ocsp_status_request_get2(c->s, d, &cs) >= 0 && cs.size > 0)
				tls_info_set_der(&info->chain_staple[d], cs.data, cs.size);
		}
	}
	if (tls_conn_chain_checkable(&c->base))
		flags = gtls_chain_flags(c, chain, n, detail, sizeof detail);
	tls_conn_set_verdict(&c->base, flags, detail);
	if (flags == 0 && n > 0 && tls_conn_chain_checkable(&c->base))
		gtls_set_anchor(c, &chain[n - 1], info);
}

/* ---- names --------------------------------------------------------------- */

/* A CN whose length differs from its strlen carries a NUL: never matchable
 * (CVE-2009-2408 style "a.example\0.evil"), so it is dropped. */
static char *
gtls_clean_dup(const char *s, size_t len)
{
	return strlen(s) == len ? strdup(s) : NULL;
}

/* Is SAN `seq`, `size` bytes long, a dNSName?  1 yes, 0 no, -1 out of memory. */
static int
gtls_long_san_is_dns(gnutls_x509_crt_t crt, unsigned seq, size_t size)
{
	char *big = malloc(size + 1);
	int r;

	if (big == NULL)
		return -1;
	r = gnutls_x509_crt_get_subject_alt_name(crt, seq, big, &size, NULL);
	free(big);
	return r == GNUTLS_SAN_DNSNAME;
}

enum tls_status
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
		size = sizeof buf - 1;
		r = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, &crit);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r == GNUTLS_E_SHORT_MEMORY_BUFFER) {
			/* Longer than any DNS name: it cannot match, but a dNSName
			 * still counts as "the certificate has SANs", as on OpenSSL. */
			r = gtls_long_san_is_dns(crt, seq, size);
			if (r < 0 || (r == 1 && tls_cert_names_add_dns(out, NULL, 0) < 0))
				goto oom;
			continue;
		}
		if (r < 0) {
			err_set(e, TLS_ERR_CONFIG, "cannot decode subjectAltName: %s",
			        gnutls_strerror(r));
			goto out;
		}
		if (r != GNUTLS_SAN_DNSNAME)
			continue;
		/* One with a NUL is kept as "", as on OpenSSL (tls_int.h). */
		if (tls_cert_names_add_dns(out, buf, size) < 0)
			goto oom;
	}
	/* The last CN (RFC 6125 6.4.4 only says "a" CN; the seed takes the
	 * most specific one, which is the last in the DN). */
	for (unsigned idx = 0; idx < 64; idx++) {
		size = sizeof buf - 1;
		r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, idx, 0, buf,
		                                  &size);
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
			out->cn = gtls_clean_dup(buf, size);
	}
	rc = TLS_OK;
	goto out;
oom:
	err_set(e, TLS_ERR_CONFIG, "out of memory");
out:
	if (rc != TLS_OK)
		tls_cert_names_free(out);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}
