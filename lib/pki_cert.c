/*
 * pki_cert.c - mint one key or one certificate for the test PKI: keys,
 * serials unique within a run, extensions from openssl.cnf-style values,
 * v3 certificates signed with SHA-256, and the error text of a failed
 * OpenSSL call.  Every validity time is relative to the run's `now`.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

/* Fill `e` from OpenSSL's error queue, then empty the queue. */
void
pki_crypto_fail(struct mint *m, const char *what, const char *name)
{
	unsigned long code = ERR_peek_last_error();
	char buf[256] = "no OpenSSL error recorded";

	if (code != 0)
		ERR_error_string_n(code, buf, sizeof buf);
	ERR_clear_error();
	err_set(m->e, PKI_ERR_CRYPTO, "%s for %s: %s", what, name, buf);
}

EVP_PKEY *
pki_key_new(struct mint *m, enum key_kind kind, const char *name)
{
	EVP_PKEY *key;

	if (kind == KEY_RSA)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL)
		pki_crypto_fail(m, "key generation", name);
	return key;
}

/* A fresh random positive 64-bit serial, unique within this run. */
static ASN1_INTEGER *
serial_new(struct mint *m, const char *name)
{
	unsigned char b[8];
	uint64_t v = 0;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	int fresh = 0;

	if (m->nserials == MAX_SERIALS) {
		err_set(m->e, PKI_ERR_CRYPTO, "too many serials for %s", name);
		goto out;
	}
	while (!fresh) {
		if (RAND_bytes(b, sizeof b) != 1) {
			pki_crypto_fail(m, "random serial", name);
			goto out;
		}
		b[0] = (unsigned char)((b[0] & 0x7f) | 0x40); /* positive, 8 bytes */
		v = 0;
		for (size_t i = 0; i < sizeof b; i++)
			v = v << 8 | b[i];
		fresh = 1;
		for (size_t i = 0; i < m->nserials; i++)
			if (m->serials[i] == v)
				fresh = 0;
	}
	bn = BN_bin2bn(b, sizeof b, NULL);
	if (bn == NULL || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		pki_crypto_fail(m, "serial", name);
		goto out;
	}
	m->serials[m->nserials++] = v;
out:
	BN_free(bn);
	return serial;
}

/* Add one extension from its config-style value; `ctx` names issuer and
   subject (or CRL). */
int
pki_ext_add(struct mint *m, X509V3_CTX *ctx, X509 *x, X509_CRL *crl, int nid, const char *value,
            const char *name)
{
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int rc = -1;

	if (ex == NULL) {
		pki_crypto_fail(m, OBJ_nid2sn(nid), name);
		goto out;
	}
	if ((x != NULL && X509_add_ext(x, ex, -1) != 1) ||
	    (crl != NULL && X509_CRL_add_ext(crl, ex, -1) != 1)) {
		pki_crypto_fail(m, OBJ_nid2sn(nid), name);
		goto out;
	}
	rc = 0;
out:
	X509_EXTENSION_free(ex);
	return rc;
}

/* Mint one certificate as `a` says: v3, random serial, SKI/AKI, SHA-256. */
int
pki_cert_new(struct mint *m, const struct cert_args *a, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *subject = NULL;
	ASN1_INTEGER *serial = NULL;
	X509V3_CTX ctx;
	EVP_PKEY *sign_key = a->issuer_key != NULL ? a->issuer_key : a->key;
	int rc = -1;

	if ((x = X509_new()) == NULL || (subject = X509_NAME_new()) == NULL) {
		pki_crypto_fail(m, "X509_new", a->cn);
		goto out;
	}
	if ((serial = serial_new(m, a->cn)) == NULL)
		goto out;
	if ((a->o != NULL &&
	     X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, (const unsigned char *)a->o,
	                                -1, -1, 0) != 1) ||
	    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)a->cn,
	                               -1, -1, 0) != 1) {
		pki_crypto_fail(m, "subject name", a->cn);
		goto out;
	}
	if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_subject_name(x, subject) != 1 ||
	    X509_set_issuer_name(x, a->issuer != NULL ? X509_get_subject_name(a->issuer)
	                                              : subject) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, a->not_before, &m->now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, a->not_after, &m->now) == NULL ||
	    X509_set_pubkey(x, a->key) != 1) {
		pki_crypto_fail(m, "certificate fields", a->cn);
		goto out;
	}
	X509V3_set_ctx(&ctx, a->issuer != NULL ? a->issuer : x, x, NULL, NULL, 0);
	if (X509V3_set_issuer_pkey(&ctx, sign_key) != 1) {
		pki_crypto_fail(m, "issuer key", a->cn);
		goto out;
	}
	/* SKI first: a self-signed AKI is copied from it. */
	if (pki_ext_add(m, &ctx, x, NULL, NID_subject_key_identifier, "hash", a->cn) < 0 ||
	    pki_ext_add(m, &ctx, x, NULL, NID_authority_key_identifier, "keyid:always", a->cn) < 0)
		goto out;
	for (const struct ext *ex = a->ext; ex->nid != 0; ex++)
		if (pki_ext_add(m, &ctx, x, NULL, ex->nid, ex->value, a->cn) < 0)
			goto out;
	if (X509_sign(x, sign_key, EVP_sha256()) <= 0) {
		pki_crypto_fail(m, "signing", a->cn);
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	ASN1_INTEGER_free(serial);
	X509_NAME_free(subject);
	X509_free(x);
	return rc;
}
