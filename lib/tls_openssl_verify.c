/*
 * tls_openssl_verify.c - the OpenSSL backend's facts after a handshake:
 * version, IANA suite, key types, the peer chain as sent, and every problem
 * the chain check saw, in the canonical vocabulary (the verdict rule itself
 * is lib/tls_verdict.c's).  Also the decoding of a certificate's names for
 * the neutral name check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_openssl.h"

/*
 * OpenSSL's verification codes in the canonical vocabulary.  A missing CRL
 * is not a problem: CRLs are checked where they are present, as GnuTLS does.
 */
static unsigned
ossl_verify_bit(int code)
{
	switch (code) {
	case X509_V_OK:
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return 0;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return TLS_VERIFY_BIT(TLS_VERIFY_SELF_SIGNED);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return TLS_VERIFY_BIT(TLS_VERIFY_UNKNOWN_CA);
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
		return TLS_VERIFY_BIT(TLS_VERIFY_BAD_SIGNATURE);
	case X509_V_ERR_CERT_REVOKED:
		return TLS_VERIFY_BIT(TLS_VERIFY_REVOKED);
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return TLS_VERIFY_BIT(TLS_VERIFY_EXPIRED);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLS_VERIFY_BIT(TLS_VERIFY_NOT_YET_VALID);
	default:
		return TLS_VERIFY_BIT(TLS_VERIFY_INVALID);
	}
}

/* Collect every problem and carry on: policy is the caller's. */
int
ossl_verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct ossl_conn *c = ssl != NULL ? ossl_conn_of(ssl) : NULL;
	int code = X509_STORE_CTX_get_error(xs);
	unsigned bit;

	if (ok || c == NULL)
		return 1;
	bit = ossl_verify_bit(code);
	if (bit != 0 && c->first_detail[0] == '\0')
		snprintf(c->first_detail, sizeof c->first_detail, "depth %d: %s",
		         X509_STORE_CTX_get_error_depth(xs), X509_verify_cert_error_string(code));
	c->seen_flags |= bit;
	return 1;
}

static const char *
ossl_key_type(EVP_PKEY *pk)
{
	if (pk == NULL)
		return "";
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		return "RSA";
	case EVP_PKEY_EC:
		return "ECDSA";
	case EVP_PKEY_ED25519:
		return "Ed25519";
	default:
		return "other";
	}
}

static void
ossl_add_chain_cert(struct tls_info *info, X509 *cert)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);

	if (len > 0)
		tls_info_add_peer_cert(info, der, (size_t)len);
	OPENSSL_free(der);
}

/* The top of the verified chain, when it is a trust anchor the peer did not send. */
static void
ossl_set_anchor(struct ossl_conn *c, struct tls_info *info)
{
	STACK_OF(X509) *vc = SSL_get0_verified_chain(c->ssl);
	unsigned char *der = NULL;
	int n = vc != NULL ? sk_X509_num(vc) : 0, len;
	const struct tls_der *top;

	if (n < 1 || info->peer_chain_len == 0)
		return;
	len = i2d_X509(sk_X509_value(vc, n - 1), &der);
	top = &info->peer_chain[info->peer_chain_len - 1];
	if (len > 0 && !((size_t)len == top->len && memcmp(der, top->data, top->len) == 0))
		tls_info_set_der(&info->anchor, der, (size_t)len);
	OPENSSL_free(der);
}

void
ossl_fill_info(struct ossl_conn *c)
{
	struct tls_info *info = &c->base.info;
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	X509 *mine = SSL_get_certificate(c->ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);

	snprintf(info->version, sizeof info->version, "%s", SSL_get_version(c->ssl));
	snprintf(info->cipher, sizeof info->cipher, "%s",
	         cipher != NULL ? SSL_CIPHER_standard_name(cipher) : "");
	switch (SSL_get_negotiated_group(c->ssl)) {
	case NID_X25519:
		snprintf(info->group, sizeof info->group, "X25519");
		break;
	case NID_X448:
		snprintf(info->group, sizeof info->group, "X448");
		break;
	case NID_X9_62_prime256v1:
		snprintf(info->group, sizeof info->group, "P-256");
		break;
	case NID_secp384r1:
		snprintf(info->group, sizeof info->group, "P-384");
		break;
	case NID_secp521r1:
		snprintf(info->group, sizeof info->group, "P-521");
		break;
	default:
		info->group[0] = '\0';
		break;
	}
	if (info->role == TLS_ROLE_SERVER) {
		const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
		snprintf(info->sni, sizeof info->sni, "%s", sni != NULL ? sni : "");
	}
	snprintf(info->local_key_type, sizeof info->local_key_type, "%s",
	         mine != NULL ? ossl_key_type(X509_get0_pubkey(mine)) : "");
	snprintf(info->peer_key_type, sizeof info->peer_key_type, "%s",
	         peer != NULL ? ossl_key_type(X509_get0_pubkey(peer)) : "");

	/* The chain as sent, leaf first.  A server's list omits the client's leaf. */
	if (peer != NULL) {
		int first = 0;
		ossl_add_chain_cert(info, peer);
		if (info->role == TLS_ROLE_CLIENT)
			first = 1;
		for (int i = first; chain != NULL && i < sk_X509_num(chain); i++)
			ossl_add_chain_cert(info, sk_X509_value(chain, i));
	}
	/* What the verify callback collected; the verdict rule is neutral. */
	tls_conn_set_verdict(&c->base, c->seen_flags, c->first_detail);
	if (c->seen_flags == 0 && tls_conn_chain_checkable(&c->base))
		ossl_set_anchor(c, info);
}

enum tls_status
ossl_cert_names(const unsigned char *der, size_t len, struct tls_cert_names *out, struct err *e)
{
	enum tls_status st = TLS_ERR_CONFIG;
	const unsigned char *p = der;
	GENERAL_NAMES *sans = NULL;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_NAME *subject;
	int idx, last = -1;

	memset(out, 0, sizeof *out);
	if (x == NULL) {
		err_set(e, TLS_ERR_CONFIG, "cannot decode the certificate");
		goto out;
	}
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		int n;

		if (gn->type != GEN_DNS)
			continue;
		n = ASN1_STRING_length(gn->d.dNSName);
		if (tls_cert_names_add_dns(out, (const char *)ASN1_STRING_get0_data(gn->d.dNSName),
		                           n > 0 ? (size_t)n : 0) < 0)
			goto out;
	}
	subject = X509_get_subject_name(x);
	idx = -1;
	while ((idx = X509_NAME_get_index_by_NID(subject, NID_commonName, idx)) >= 0)
		last = idx;
	if (last >= 0) {
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(
		        &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
		if (n > 0 && memchr(utf8, '\0', (size_t)n) == NULL)
			out->cn = strndup((char *)utf8, (size_t)n);
		OPENSSL_free(utf8);
	}
	st = TLS_OK;
out:
	GENERAL_NAMES_free(sans);
	X509_free(x);
	if (st != TLS_OK)
		tls_cert_names_free(out);
	return st;
}
