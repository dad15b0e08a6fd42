/*
 * tls_openssl_ocsp.c - OCSP with OpenSSL: serving the staple chosen for the
 * certificate a handshake picked, and reading a response's facts (CertID
 * match, status, times, and OpenSSL's OCSP_basic_verify() for the
 * signature).  Facts only: lib/tls_ocsp.c turns them into the verdict, the
 * same one lib/tls_gnutls_ocsp.c's facts give.
 */
#include <stdio.h>
#include <string.h>

#include "tls_openssl.h"

/* Server: called from the status callback once OpenSSL has chosen the
 * certificate (SSL_get_certificate() is the one served then). */
int
ossl_staple_serve(SSL *ssl, struct ossl_conn *c)
{
	const struct ossl_ctx *x = (const struct ossl_ctx *)(const void *)c->base.ctx;
	X509 *cur = SSL_get_certificate(ssl), *iss = NULL;
	STACK_OF(X509) *chain = NULL;
	unsigned char *leafbuf = NULL, *issbuf = NULL, *copy;
	struct tls_der leaf = { 0 }, issuer = { 0 };
	const unsigned char *staple = NULL;
	size_t index = 0, len = 0;
	int n, rc = SSL_TLSEXT_ERR_NOACK;

	if (cur == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	while (index < TLS_MAX_CERTS &&
	       (x->leaf[index] == NULL || X509_cmp(x->leaf[index], cur) != 0))
		index++;
	if (index == TLS_MAX_CERTS)
		index = 0;
	if (SSL_get0_chain_certs(ssl, &chain) == 1 && chain != NULL && sk_X509_num(chain) > 0)
		iss = sk_X509_value(chain, 0);
	if ((n = i2d_X509(cur, &leafbuf)) <= 0)
		goto out;
	leaf.data = leafbuf;
	leaf.len = (size_t)n;
	if (iss != NULL && (n = i2d_X509(iss, &issbuf)) > 0) {
		issuer.data = issbuf;
		issuer.len = (size_t)n;
	}
	/* The leaf's only: OpenSSL's server has one response per handshake
	 * (SSL_set_tlsext_status_ocsp_resp), docs/tls.md. */
	tls_conn_pick_staple(&c->base, index, 0, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
	                     &leaf, issuer.len ? &issuer : NULL, &staple, &len);
	if (staple == NULL || len == 0)
		goto out;
	/* LIBRARIES.md: OpenSSL takes ownership, so a fresh copy per handshake. */
	if ((copy = OPENSSL_memdup(staple, len)) == NULL)
		goto out;
	SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)len);
	c->base.info.staple_sent = 1;
	rc = SSL_TLSEXT_ERR_OK;
out:
	OPENSSL_free(leafbuf);
	OPENSSL_free(issbuf);
	return rc;
}

static X509 *
ossl_der_x509(const struct tls_der *d)
{
	const unsigned char *p;

	if (d == NULL || d->len == 0)
		return NULL;
	p = d->data;
	return d2i_X509(NULL, &p, (long)d->len);
}

static time_t
ossl_asn1_time(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Does CertID `id` name `leaf` (serial, issuer name hash; key hash with an issuer)? */
static int
ossl_id_names(OCSP_CERTID *id, X509 *leaf, X509 *issuer)
{
	ASN1_OCTET_STRING *namehash = NULL, *keyhash = NULL;
	ASN1_OBJECT *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	const EVP_MD *dgst;

	if (OCSP_id_get0_info(&namehash, &alg, &keyhash, &serial, id) != 1 ||
	    ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(leaf)) != 0 ||
	    (dgst = EVP_get_digestbyobj(alg)) == NULL)
		return 0;
	/* RFC 6960 4.1.1: the hash of the issuer's DN, as it appears in the leaf. */
	if (X509_NAME_digest(X509_get_issuer_name(leaf), dgst, md, &mdlen) != 1 ||
	    (size_t)namehash->length != mdlen || memcmp(namehash->data, md, mdlen) != 0)
		return 0;
	if (issuer != NULL) {
		OCSP_CERTID *mine = OCSP_cert_to_id(dgst, leaf, issuer);
		int same = mine != NULL && OCSP_id_cmp(mine, id) == 0;
		OCSP_CERTID_free(mine);
		return same;
	}
	return 1;
}

/* The signature: trusting the issuer alone, as RFC 6960 4.2.2.2 does. */
static void
ossl_ocsp_verify(OCSP_BASICRESP *bs, X509 *issuer, time_t now, struct tls_ocsp_facts *out)
{
	STACK_OF(X509) *extra = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	X509 *signer = NULL;
	unsigned long err;

	if (extra == NULL || store == NULL || !sk_X509_push(extra, issuer) ||
	    X509_STORE_add_cert(store, issuer) != 1) {
		out->sig = TLS_OCSP_SIG_BAD_SIGNER;
		snprintf(out->detail, sizeof out->detail, "out of memory");
		goto out;
	}
	if (OCSP_resp_get0_signer(bs, &signer, extra) != 1) {
		out->sig = TLS_OCSP_SIG_SIGNER_NOT_FOUND;
		snprintf(out->detail, sizeof out->detail, "signer certificate not found");
		goto out;
	}
	/* The seed: a delegated signer whose certificate expired makes the proof
	 * invalid; say so rather than a generic verify failure. */
	if (X509_cmp_time(X509_get0_notAfter(signer), &now) < 0 ||
	    X509_cmp_time(X509_get0_notBefore(signer), &now) > 0) {
		out->sig = TLS_OCSP_SIG_SIGNER_EXPIRED;
		snprintf(out->detail, sizeof out->detail,
		         "signer certificate outside its validity");
		goto out;
	}
	/* The issuer is the anchor (the chain verdict says whether it is
	 * trusted); PARTIAL_CHAIN lets an intermediate be one; the time is ours. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_USE_CHECK_TIME);
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), now);
	ERR_clear_error();
	if (OCSP_basic_verify(bs, extra, store, 0) == 1) {
		out->sig = TLS_OCSP_SIG_OK;
		goto out;
	}
	err = ERR_peek_last_error();
	ERR_error_string_n(err, out->detail, sizeof out->detail);
	out->sig =
	        ERR_GET_LIB(err) == ERR_LIB_OCSP && ERR_GET_REASON(err) == OCSP_R_SIGNATURE_FAILURE
	                ? TLS_OCSP_SIG_BAD_SIGNATURE
	                : TLS_OCSP_SIG_BAD_SIGNER;
	ERR_clear_error();
out:
	sk_X509_free(extra);
	X509_STORE_free(store);
}

void
ossl_ocsp_read(const unsigned char *resp, size_t len, const struct tls_der *leafd,
               const struct tls_der *issuerd, int check_signature, time_t now,
               struct tls_ocsp_facts *out)
{
	const unsigned char *p = resp;
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs = NULL;
	X509 *leaf = ossl_der_x509(leafd), *issuer = ossl_der_x509(issuerd);
	int i, n;

	if (r == NULL || p != resp + len) {
		snprintf(out->detail, sizeof out->detail, "not a DER OCSPResponse");
		goto out;
	}
	if (OCSP_response_status(r) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(out->detail, sizeof out->detail, "responseStatus %s",
		         OCSP_response_status_str(OCSP_response_status(r)));
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(r)) == NULL || leaf == NULL) {
		snprintf(out->detail, sizeof out->detail, "no BasicOCSPResponse");
		goto out;
	}
	out->parsed = 1;
	n = OCSP_resp_count(bs);
	for (i = 0; i < n; i++) {
		OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, i);
		ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
		int reason, st;

		if (!ossl_id_names((OCSP_CERTID *)OCSP_SINGLERESP_get0_id(sr), leaf, issuer))
			continue;
		st = OCSP_single_get0_status(sr, &reason, &rev, &thisupd, &nextupd);
		out->for_cert = 1;
		out->status = st == V_OCSP_CERTSTATUS_GOOD      ? TLS_OCSP_STATUS_GOOD
		              : st == V_OCSP_CERTSTATUS_REVOKED ? TLS_OCSP_STATUS_REVOKED
		                                                : TLS_OCSP_STATUS_UNKNOWN;
		out->this_update = ossl_asn1_time(thisupd);
		out->has_next_update = nextupd != NULL;
		out->next_update = ossl_asn1_time(nextupd);
		break;
	}
	if (out->for_cert && check_signature && issuer != NULL)
		ossl_ocsp_verify(bs, issuer, now, out);
out:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	X509_free(leaf);
	X509_free(issuer);
}

static int
ossl_x509_der(X509 *x, struct tls_der *out)
{
	unsigned char *buf = NULL;
	int n = i2d_X509(x, &buf);

	if (n <= 0)
		return -1;
	tls_info_set_der(out, buf, (size_t)n);
	OPENSSL_free(buf);
	return out->len > 0 ? 0 : -1;
}

/* The ops' ocsp_query: leaf and issuer from the chain file, AIA URL, request. */
int
ossl_ocsp_query(const char *chain_file, struct tls_ocsp_query *out, struct err *e)
{
	FILE *f = fopen(chain_file, "r");
	X509 *leaf = NULL, *issuer = NULL;
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	STACK_OF(OPENSSL_STRING) *urls = NULL;
	unsigned char *der = NULL;
	int n, rc = -1;

	if (f == NULL) {
		err_set(e, 1, "%s: cannot read", chain_file);
		return -1;
	}
	leaf = PEM_read_X509(f, NULL, NULL, NULL);
	issuer = leaf != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	fclose(f);
	ERR_clear_error();
	if (leaf == NULL || issuer == NULL) {
		err_set(e, 1, "%s: needs the certificate, then its issuer (PEM)", chain_file);
		goto out;
	}
	if (ossl_x509_der(leaf, &out->leaf) != 0 || ossl_x509_der(issuer, &out->issuer) != 0 ||
	    (req = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer)) == NULL ||
	    OCSP_request_add0_id(req, id) == NULL) {
		err_set(e, 1, "%s: cannot make an OCSP request", chain_file);
		goto out;
	}
	id = NULL; /* the request's now */
	if ((n = i2d_OCSP_REQUEST(req, &der)) <= 0) {
		err_set(e, 1, "%s: cannot encode the OCSP request", chain_file);
		goto out;
	}
	tls_info_set_der(&out->request, der, (size_t)n);
	urls = X509_get1_ocsp(leaf);
	if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0)
		snprintf(out->url, sizeof out->url, "%s", sk_OPENSSL_STRING_value(urls, 0));
	rc = out->request.len > 0 ? 0 : -1;
out:
	X509_email_free(urls);
	OPENSSL_free(der);
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	X509_free(leaf);
	X509_free(issuer);
	return rc;
}
