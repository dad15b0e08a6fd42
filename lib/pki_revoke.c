/*
 * pki_revoke.c - the PKI's revocation material: the `openssl ca` index
 * lines, the CRLs (the intermediate's, listing the revoked leaf, and the
 * root's, empty) and signed OCSP responses whose times all come from the
 * run's `now`, producedAt included.
 */
#include <stdio.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

/* Append the `openssl ca` database line for leaf `x` to index.txt. */
int
pki_index_add(struct mint *m, X509 *x, int revoked, const char *name)
{
	const ASN1_TIME *na = X509_get0_notAfter(x);
	ASN1_TIME *rt = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	char subject[512];
	int rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL ||
	    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject) == NULL ||
	    (revoked && (rt = ASN1_UTCTIME_adj(NULL, m->now, 0, -HOUR)) == NULL)) {
		pki_crypto_fail(m, "index line", name);
		goto out;
	}
	if (BIO_printf(m->index, "%s\t%s\t%s%s\t%s\tunknown\t%s\n", revoked ? "R" : "V",
	               (const char *)ASN1_STRING_get0_data(na),
	               rt != NULL ? (const char *)ASN1_STRING_get0_data(rt) : "",
	               revoked ? ",keyCompromise" : "", hex, subject) <= 0) {
		pki_crypto_fail(m, "index line", name);
		goto out;
	}
	rc = 0;
out:
	ASN1_TIME_free(rt);
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}
/* Append to `out` a PEM CRL signed by `issuer`, listing `revoked` (may be
   NULL) as keyCompromise. */
static int
crl_add(struct mint *m, BIO *out, X509 *issuer, EVP_PKEY *key, X509 *revoked)
{
	const char *name = "crl.pem";
	X509_CRL *crl = NULL;
	X509_REVOKED *rev = NULL;
	ASN1_TIME *last = NULL, *next = NULL;
	ASN1_ENUMERATED *reason = NULL;
	ASN1_INTEGER *number = NULL;
	X509V3_CTX ctx;
	int rc = -1;

	if ((crl = X509_CRL_new()) == NULL ||
	    (last = ASN1_TIME_adj(NULL, m->now, 0, -HOUR)) == NULL ||
	    (next = ASN1_TIME_adj(NULL, m->now, 30, 0)) == NULL ||
	    X509_CRL_set_version(crl, 1) != 1 /* v2 */
	    || X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, last) != 1 || X509_CRL_set1_nextUpdate(crl, next) != 1) {
		pki_crypto_fail(m, "CRL fields", name);
		goto out;
	}
	if (revoked != NULL) {
		if ((rev = X509_REVOKED_new()) == NULL ||
		    (reason = ASN1_ENUMERATED_new()) == NULL ||
		    X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(revoked)) != 1 ||
		    X509_REVOKED_set_revocationDate(rev, last) != 1 ||
		    ASN1_ENUMERATED_set(reason, CRL_REASON_KEY_COMPROMISE) != 1 ||
		    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) != 1 ||
		    X509_CRL_add0_revoked(crl, rev) != 1) {
			pki_crypto_fail(m, "CRL entry", name);
			goto out;
		}
		rev = NULL; /* owned by crl now */
	}
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	if (pki_ext_add(m, &ctx, NULL, crl, NID_authority_key_identifier, "keyid:always", name) < 0)
		goto out;
	if ((number = ASN1_INTEGER_new()) == NULL || ASN1_INTEGER_set(number, 1) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) != 1 ||
	    X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, key, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_CRL(out, crl) != 1) {
		pki_crypto_fail(m, "CRL signing", name);
		goto out;
	}
	rc = 0;
out:
	ASN1_INTEGER_free(number);
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(next);
	ASN1_TIME_free(last);
	X509_REVOKED_free(rev);
	X509_CRL_free(crl);
	return rc;
}

int
pki_crl_write(struct mint *m, X509 *revoked)
{
	BIO *mem = BIO_new(BIO_s_mem());
	int rc = -1;

	if (mem == NULL) {
		pki_crypto_fail(m, "BIO_new", "crl.pem");
		goto out;
	}
	if (crl_add(m, mem, m->inter, m->inter_key, revoked) < 0 ||
	    crl_add(m, mem, m->root, m->root_key, NULL) < 0)
		goto out;
	rc = pki_file_write(m, "crl.pem", mem, 0644);
out:
	BIO_free(mem);
	return rc;
}

/* Write dir/<stem>.ocsp.der: a signed OCSP response for leaf `stem`, "good"
   or "revoked". */
int
pki_ocsp_write(struct mint *m, const char *stem, X509 *leaf, X509 *signer, EVP_PKEY *signer_key,
               int revoked)
{
	char name[256];
	OCSP_CERTID *id = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL;
	ASN1_GENERALIZEDTIME *produced;
	BIO *mem = NULL;
	int rc = -1;

	snprintf(name, sizeof name, "%s.ocsp.der", stem);
	if ((id = OCSP_cert_to_id(EVP_sha1(), leaf, m->inter)) == NULL ||
	    (bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = ASN1_TIME_adj(NULL, m->now, 0, -HOUR)) == NULL ||
	    (nextupd = ASN1_TIME_adj(NULL, m->now, 7, 0)) == NULL ||
	    OCSP_basic_add1_status(bs, id,
	                           revoked ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
	                           revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
	                           revoked ? thisupd : NULL, thisupd, nextupd) == NULL ||
	    OCSP_basic_sign(bs, signer, signer_key, EVP_sha256(), NULL, OCSP_RESPID_KEY) != 1) {
		pki_crypto_fail(m, "OCSP response", name);
		goto out;
	}
	/*
	 * OCSP_basic_sign() stamps producedAt from the real clock and offers no
	 * way to pass a time.  Set it to `now` and sign the response data again;
	 * the accessors are const only by convention (the fields live in bs).
	 */
	produced = (ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs);
	if (ASN1_GENERALIZEDTIME_adj(produced, m->now, 0, 0) == NULL ||
	    ASN1_item_sign(ASN1_ITEM_rptr(OCSP_RESPDATA),
	                   (X509_ALGOR *)OCSP_resp_get0_tbs_sigalg(bs), NULL,
	                   (ASN1_BIT_STRING *)OCSP_resp_get0_signature(bs),
	                   (void *)OCSP_resp_get0_respdata(bs), signer_key, EVP_sha256()) <= 0) {
		pki_crypto_fail(m, "OCSP re-signing", name);
		goto out;
	}
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL ||
	    (mem = BIO_new(BIO_s_mem())) == NULL || i2d_OCSP_RESPONSE_bio(mem, resp) != 1) {
		pki_crypto_fail(m, "OCSP encoding", name);
		goto out;
	}
	rc = pki_file_write(m, name, mem, 0644);
out:
	BIO_free(mem);
	OCSP_RESPONSE_free(resp);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(thisupd);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	return rc;
}
