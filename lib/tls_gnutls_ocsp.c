/*
 * tls_gnutls_ocsp.c - reading an OCSP response's facts with GnuTLS: the
 * CertID match (the key hash computed by gnutls_ocsp_req_add_cert()), status,
 * times, the signer named by the responder ID, and
 * gnutls_ocsp_resp_verify_direct() for the signature.  Facts only, in the
 * same terms as lib/tls_openssl_ocsp.c; lib/tls_ocsp.c gives the verdict.
 */
#include <stdio.h>
#include <string.h>

#include "tls_gnutls.h"

static gnutls_x509_crt_t
gtls_der_crt(const struct tls_der *d)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t dat;

	if (d == NULL || d->len == 0 || gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	dat.data = d->data;
	dat.size = (unsigned)d->len;
	if (gnutls_x509_crt_import(crt, &dat, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

static int
gtls_datum_eq(const gnutls_datum_t *a, const gnutls_datum_t *b)
{
	return a->size == b->size && (a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
}

/* The issuer key hash RFC 6960 4.1.1 defines, computed by GnuTLS itself. */
static int
gtls_key_hash(gnutls_digest_algorithm_t dig, gnutls_x509_crt_t issuer, gnutls_x509_crt_t leaf,
              gnutls_datum_t *out)
{
	gnutls_ocsp_req_t req = NULL;
	int rc = -1;

	if (gnutls_ocsp_req_init(&req) >= 0 &&
	    gnutls_ocsp_req_add_cert(req, dig, issuer, leaf) >= 0 &&
	    gnutls_ocsp_req_get_cert_id(req, 0, NULL, NULL, out, NULL) >= 0)
		rc = 0;
	gnutls_ocsp_req_deinit(req);
	return rc;
}

/* Does SingleResponse `i` name `leaf` (serial and name hash; key hash with an issuer)? */
static int
gtls_single_names(gnutls_ocsp_resp_t r, unsigned i, gnutls_x509_crt_t leaf,
                  gnutls_x509_crt_t issuer)
{
	gnutls_digest_algorithm_t dig;
	gnutls_datum_t kh = { 0 }, mine = { 0 };
	int same;

	if (gnutls_ocsp_resp_check_crt(r, i, leaf) != 0)
		return 0;
	if (issuer == NULL)
		return 1;
	if (gnutls_ocsp_resp_get_single(r, i, &dig, NULL, &kh, NULL, NULL, NULL, NULL, NULL, NULL) <
	    0)
		return 0;
	same = gtls_key_hash(dig, issuer, leaf, &mine) == 0 && gtls_datum_eq(&kh, &mine);
	gnutls_free(kh.data);
	gnutls_free(mine.data);
	return same;
}

/* Is `crt` the responder the response names (by key hash or by name)? */
static int
gtls_is_responder(gnutls_ocsp_resp_t r, gnutls_x509_crt_t crt)
{
	gnutls_datum_t id = { 0 }, dn = { 0 };
	int is = 0;

	if (gnutls_ocsp_resp_get_responder_raw_id(r, GNUTLS_OCSP_RESP_ID_KEY, &id) >= 0) {
		/* RFC 6960 4.2.1 byKey: SHA-1 of the key's BIT STRING, which is
		 * what a CertID's issuerKeyHash is: GnuTLS computes that one. */
		gnutls_datum_t kh = { 0 };
		is = gtls_key_hash(GNUTLS_DIG_SHA1, crt, crt, &kh) == 0 && gtls_datum_eq(&id, &kh);
		gnutls_free(kh.data);
	} else if (gnutls_ocsp_resp_get_responder_raw_id(r, GNUTLS_OCSP_RESP_ID_DN, &id) >= 0) {
		is = gnutls_x509_crt_get_raw_dn(crt, &dn) >= 0 && gtls_datum_eq(&id, &dn);
	}
	gnutls_free(id.data);
	gnutls_free(dn.data);
	return is;
}

static void
gtls_ocsp_verify(gnutls_ocsp_resp_t r, gnutls_x509_crt_t issuer, time_t now,
                 struct tls_ocsp_facts *out)
{
	gnutls_x509_crt_t *certs = NULL, signer = NULL;
	size_t ncerts = 0;
	unsigned verify = 0;
	int rv;

	if (gnutls_ocsp_resp_get_certs(r, &certs, &ncerts) < 0)
		ncerts = 0;
	for (size_t i = 0; signer == NULL && i < ncerts; i++)
		if (gtls_is_responder(r, certs[i]))
			signer = certs[i];
	if (signer == NULL && gtls_is_responder(r, issuer))
		signer = issuer;
	if (signer == NULL) {
		out->sig = TLS_OCSP_SIG_SIGNER_NOT_FOUND;
		snprintf(out->detail, sizeof out->detail, "signer certificate not found");
		goto out;
	}
	/* The seed: an expired delegated signer spoils the proof. */
	if (gnutls_x509_crt_get_expiration_time(signer) < now ||
	    gnutls_x509_crt_get_activation_time(signer) > now) {
		out->sig = TLS_OCSP_SIG_SIGNER_EXPIRED;
		snprintf(out->detail, sizeof out->detail,
		         "signer certificate outside its validity");
		goto out;
	}
	rv = gnutls_ocsp_resp_verify_direct(r, issuer, &verify, 0);
	if (rv < 0) {
		out->sig = TLS_OCSP_SIG_BAD_SIGNER;
		snprintf(out->detail, sizeof out->detail, "%s", gnutls_strerror(rv));
	} else if (verify == 0) {
		out->sig = TLS_OCSP_SIG_OK;
	} else {
		out->sig = verify & GNUTLS_OCSP_VERIFY_SIGNATURE_FAILURE
		                   ? TLS_OCSP_SIG_BAD_SIGNATURE
		           : verify & (GNUTLS_OCSP_VERIFY_CERT_EXPIRED |
		                       GNUTLS_OCSP_VERIFY_CERT_NOT_ACTIVATED)
		                   ? TLS_OCSP_SIG_SIGNER_EXPIRED
		                   : TLS_OCSP_SIG_BAD_SIGNER;
		snprintf(out->detail, sizeof out->detail, "gnutls_ocsp_resp_verify_direct: 0x%x",
		         verify);
	}
out:
	for (size_t i = 0; i < ncerts; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
}

void
gtls_ocsp_read(const unsigned char *resp, size_t len, const struct tls_der *leafd,
               const struct tls_der *issuerd, int check_signature, time_t now,
               struct tls_ocsp_facts *out)
{
	gnutls_ocsp_resp_t r = NULL;
	gnutls_x509_crt_t leaf = gtls_der_crt(leafd), issuer = gtls_der_crt(issuerd);
	gnutls_datum_t dat = { (unsigned char *)resp, (unsigned)len };
	int rv;

	if (gnutls_ocsp_resp_init(&r) < 0 || (rv = gnutls_ocsp_resp_import(r, &dat)) < 0) {
		snprintf(out->detail, sizeof out->detail, "not a DER OCSPResponse");
		goto out;
	}
	if ((rv = gnutls_ocsp_resp_get_status(r)) != GNUTLS_OCSP_RESP_SUCCESSFUL) {
		snprintf(out->detail, sizeof out->detail, "responseStatus %d", rv);
		goto out;
	}
	if (leaf == NULL || gnutls_ocsp_resp_get_single(r, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	                                                NULL, NULL, NULL) < 0) {
		snprintf(out->detail, sizeof out->detail, "no BasicOCSPResponse");
		goto out;
	}
	out->parsed = 1;
	for (unsigned i = 0;; i++) {
		unsigned st;
		time_t thisupd, nextupd;

		if (gnutls_ocsp_resp_get_single(r, i, NULL, NULL, NULL, NULL, &st, &thisupd,
		                                &nextupd, NULL, NULL) < 0)
			break;
		if (!gtls_single_names(r, i, leaf, issuer))
			continue;
		out->for_cert = 1;
		out->status = st == GNUTLS_OCSP_CERT_GOOD      ? TLS_OCSP_STATUS_GOOD
		              : st == GNUTLS_OCSP_CERT_REVOKED ? TLS_OCSP_STATUS_REVOKED
		                                               : TLS_OCSP_STATUS_UNKNOWN;
		out->this_update = thisupd;
		/* GnuTLS says (time_t)-1 when nextUpdate is absent. */
		out->has_next_update = nextupd != (time_t)-1;
		out->next_update = out->has_next_update ? nextupd : 0;
		break;
	}
	if (out->for_cert && check_signature && issuer != NULL)
		gtls_ocsp_verify(r, issuer, now, out);
out:
	gnutls_ocsp_resp_deinit(r);
	if (leaf != NULL)
		gnutls_x509_crt_deinit(leaf);
	if (issuer != NULL)
		gnutls_x509_crt_deinit(issuer);
}

/* The ops' ocsp_query: leaf and issuer from the chain file, AIA URL, request. */
int
gtls_ocsp_query(const char *chain_file, struct tls_ocsp_query *out, struct err *e)
{
	gnutls_datum_t file = { 0 }, der = { 0 }, uri = { 0 };
	gnutls_x509_crt_t *crts = NULL;
	gnutls_ocsp_req_t req = NULL;
	unsigned n = 0;
	int rc = -1;

	if (gnutls_load_file(chain_file, &file) < 0) {
		err_set(e, 1, "%s: cannot read", chain_file);
		return -1;
	}
	if (gnutls_x509_crt_list_import2(&crts, &n, &file, GNUTLS_X509_FMT_PEM, 0) < 0 || n < 2) {
		err_set(e, 1, "%s: needs the certificate, then its issuer (PEM)", chain_file);
		goto out;
	}
	for (unsigned k = 0; k < 2; k++) {
		gnutls_datum_t d = { 0 };
		if (gnutls_x509_crt_export2(crts[k], GNUTLS_X509_FMT_DER, &d) < 0)
			goto fail;
		tls_info_set_der(k == 0 ? &out->leaf : &out->issuer, d.data, d.size);
		gnutls_free(d.data);
	}
	if (gnutls_ocsp_req_init(&req) < 0 ||
	    gnutls_ocsp_req_add_cert(req, GNUTLS_DIG_SHA1, crts[1], crts[0]) < 0 ||
	    gnutls_ocsp_req_export(req, &der) < 0)
		goto fail;
	tls_info_set_der(&out->request, der.data, der.size);
	if (gnutls_x509_crt_get_authority_info_access(crts[0], 0, GNUTLS_IA_OCSP_URI, &uri, NULL) >=
	    0)
		snprintf(out->url, sizeof out->url, "%.*s", (int)uri.size, (const char *)uri.data);
	rc = out->request.len > 0 && out->leaf.len > 0 ? 0 : -1;
	goto out;
fail:
	err_set(e, 1, "%s: cannot make an OCSP request", chain_file);
out:
	gnutls_free(uri.data);
	gnutls_free(der.data);
	gnutls_ocsp_req_deinit(req);
	for (unsigned k = 0; k < n; k++)
		gnutls_x509_crt_deinit(crts[k]);
	gnutls_free(crts);
	gnutls_free(file.data);
	return rc;
}
