/*
 * ocsp_openssl.c - fakeocsp's OCSP requests and responses with OpenSSL:
 * parse a DER request, build and sign a BasicOCSPResponse (RFC 6960 4.2),
 * break it on purpose when a fault says so.
 *
 * The only fakeocsp file that names OpenSSL (ci/layering.txt).  Never logs,
 * never exits, never trusts the request: everything it reads from the
 * network goes through d2i and is bounded by OCSP_REQ_MAX_IDS.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ocsp.h"

#define MAX_SIGNERS 8

struct signer {
	char spec[OCSP_SPEC_MAX]; /* "CERT,KEY", "" for the main one */
	X509 *cert;
	EVP_PKEY *key;
};

struct ocsp_responder {
	X509 *issuer;
	struct signer main;
	struct signer other[MAX_SIGNERS];
	size_t nother;
	STACK_OF(X509) * extra; /* --extra-certs, after the signer's; NULL = none */
};

struct ocsp_req {
	OCSP_REQUEST *req;
	size_t n;
	char serial[OCSP_REQ_MAX_IDS][OCSP_SERIAL_MAX];
	int has_nonce;
};

/* Append OpenSSL's first queued error to e's text, and clear the queue. */
static void
crypto_err(struct err *e, const char *what)
{
	unsigned long code = ERR_get_error();
	char buf[256];

	ERR_error_string_n(code, buf, sizeof buf);
	ERR_clear_error();
	err_set(e, 1, "%s: %s", what, code != 0 ? buf : "failed");
}

static X509 *
cert_read(const char *path, struct err *e)
{
	BIO *bio = BIO_new_file(path, "r");
	X509 *x = NULL;

	if (bio == NULL || (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		crypto_err(e, path);
	BIO_free(bio);
	return x;
}

static EVP_PKEY *
key_read(const char *path, struct err *e)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *k = NULL;

	if (bio == NULL || (k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		crypto_err(e, path);
	BIO_free(bio);
	return k;
}

static int
signer_load(struct signer *s, const char *cert, const char *key, struct err *e)
{
	if ((s->cert = cert_read(cert, e)) == NULL || (s->key = key_read(key, e)) == NULL)
		return -1;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		ERR_clear_error();
		err_set(e, 1, "%s: the key does not match the certificate %s", key, cert);
		return -1;
	}
	return 0;
}

static void
signer_clear(struct signer *s)
{
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	s->cert = NULL;
	s->key = NULL;
}

int
ocsp_responder_new(const char *issuer, const char *signer, const char *key,
                   struct ocsp_responder **out, struct err *e)
{
	struct ocsp_responder *r = calloc(1, sizeof *r);
	int rc = -1;

	*out = NULL;
	if (r == NULL) {
		err_set(e, 1, "out of memory");
		goto out;
	}
	if ((r->issuer = cert_read(issuer, e)) == NULL || signer_load(&r->main, signer, key, e) < 0)
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	ocsp_responder_free(r);
	return rc;
}

int
ocsp_responder_add_signer(struct ocsp_responder *r, const char *spec, struct err *e)
{
	char cert[OCSP_SPEC_MAX];
	const char *comma = strchr(spec, ',');
	struct signer *s;

	for (size_t i = 0; i < r->nother; i++)
		if (strcmp(r->other[i].spec, spec) == 0)
			return 0;
	if (r->nother == MAX_SIGNERS) {
		err_set(e, 1, "at most %d different signer= faults", MAX_SIGNERS);
		return -1;
	}
	if (comma == NULL || (size_t)(comma - spec) >= sizeof cert) {
		err_set(e, 1, "signer \"%s\": want CERT.pem,KEY.pem", spec);
		return -1;
	}
	memcpy(cert, spec, (size_t)(comma - spec));
	cert[comma - spec] = '\0';
	s = &r->other[r->nother];
	if (signer_load(s, cert, comma + 1, e) < 0) {
		signer_clear(s);
		return -1;
	}
	snprintf(s->spec, sizeof s->spec, "%s", spec);
	r->nother++;
	return 0;
}

int
ocsp_responder_add_extra_certs(struct ocsp_responder *r, const char *path, struct err *e)
{
	BIO *bio = BIO_new_file(path, "r");
	X509 *x = NULL;
	int rc = -1, n = 0;

	if (bio == NULL) {
		crypto_err(e, path);
		goto out;
	}
	if (r->extra == NULL && (r->extra = sk_X509_new_null()) == NULL) {
		err_set(e, 1, "out of memory");
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(r->extra) >= OCSP_EXTRA_CERTS_MAX) {
			err_set(e, 1, "%s: at most %d extra certificates", path,
			        OCSP_EXTRA_CERTS_MAX);
			goto out;
		}
		if (sk_X509_push(r->extra, x) <= 0) {
			err_set(e, 1, "out of memory");
			goto out;
		}
		x = NULL;
		n++;
	}
	/* The end of the file reads as "no start line"; anything else is an error. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || n == 0) {
		if (n == 0)
			err_set(e, 1, "%s: no PEM certificate", path);
		else
			crypto_err(e, path);
		goto out;
	}
	ERR_clear_error();
	rc = 0;
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(bio);
	return rc;
}

void
ocsp_responder_free(struct ocsp_responder *r)
{
	if (r == NULL)
		return;
	sk_X509_pop_free(r->extra, X509_free);
	X509_free(r->issuer);
	signer_clear(&r->main);
	for (size_t i = 0; i < r->nother; i++)
		signer_clear(&r->other[i]);
	free(r);
}

/* ---- requests ------------------------------------------------------------ */

int
ocsp_req_parse(const unsigned char *der, size_t len, struct ocsp_req **out, struct err *e)
{
	struct ocsp_req *q = NULL;
	const unsigned char *p = der;
	int rc = -1, n;

	*out = NULL;
	if (len == 0 || len > 65536) {
		err_set(e, 1, "request of %zu bytes", len);
		goto out;
	}
	if ((q = calloc(1, sizeof *q)) == NULL) {
		err_set(e, 1, "out of memory");
		goto out;
	}
	if ((q->req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		crypto_err(e, "not a DER OCSPRequest");
		goto out;
	}
	if (p != der + len) {
		err_set(e, 1, "%zu bytes after the OCSPRequest", (size_t)(der + len - p));
		goto out;
	}
	n = OCSP_request_onereq_count(q->req);
	if (n < 1 || n > OCSP_REQ_MAX_IDS) {
		err_set(e, 1, "request with %d CertIDs (1 to %d)", n, OCSP_REQ_MAX_IDS);
		goto out;
	}
	q->n = (size_t)n;
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(q->req, i));
		ASN1_INTEGER *serial = NULL;
		BIGNUM *bn = NULL;
		char *hex = NULL;
		int ok;

		OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid);
		ok = serial != NULL && (bn = ASN1_INTEGER_to_BN(serial, NULL)) != NULL &&
		     (hex = BN_bn2hex(bn)) != NULL;
		if (ok && hex[0] == '-') {
			/* Negative: not in any index, answered "unknown". */
			ok = strlen(hex) < OCSP_SERIAL_MAX;
			if (ok)
				snprintf(q->serial[i], OCSP_SERIAL_MAX, "%s", hex);
		} else if (ok)
			ok = ocsp_serial_normalise(hex, q->serial[i], OCSP_SERIAL_MAX) == 0;
		OPENSSL_free(hex);
		BN_free(bn);
		if (!ok) {
			ERR_clear_error();
			err_set(e, 1, "CertID %d: bad or oversized serial number", i + 1);
			goto out;
		}
	}
	q->has_nonce = OCSP_REQUEST_get_ext_by_NID(q->req, NID_id_pkix_OCSP_Nonce, -1) >= 0;
	*out = q;
	q = NULL;
	rc = 0;
out:
	ocsp_req_free(q);
	return rc;
}

size_t
ocsp_req_count(const struct ocsp_req *req)
{
	return req->n;
}

const char *
ocsp_req_serial(const struct ocsp_req *req, size_t i)
{
	return i < req->n ? req->serial[i] : NULL;
}

int
ocsp_req_has_nonce(const struct ocsp_req *req)
{
	return req->has_nonce;
}

int
ocsp_req_issuer_known(const struct ocsp_responder *r, const struct ocsp_req *req, size_t i)
{
	OCSP_CERTID *cid, *ours;
	ASN1_OBJECT *alg = NULL;
	const EVP_MD *md;
	int known = 0;

	if (i >= req->n)
		return 0;
	cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req->req, (int)i));
	OCSP_id_get0_info(NULL, &alg, NULL, NULL, cid);
	if (alg == NULL || (md = EVP_get_digestbyobj(alg)) == NULL)
		return 0;
	/* Subject NULL: a CertID over the issuer's name and key, no serial. */
	if ((ours = OCSP_cert_to_id(md, NULL, r->issuer)) != NULL)
		known = OCSP_id_issuer_cmp(ours, cid) == 0;
	OCSP_CERTID_free(ours);
	ERR_clear_error();
	return known;
}

void
ocsp_req_free(struct ocsp_req *req)
{
	if (req == NULL)
		return;
	OCSP_REQUEST_free(req->req);
	free(req);
}

/* ---- responses ----------------------------------------------------------- */

static int
resp_encode(OCSP_RESPONSE *resp, unsigned char **der, size_t *len, struct err *e)
{
	unsigned char *buf, *p;
	int n = i2d_OCSP_RESPONSE(resp, NULL);

	if (n <= 0 || (buf = malloc((size_t)n)) == NULL) {
		crypto_err(e, "encoding the response");
		return -1;
	}
	p = buf;
	if (i2d_OCSP_RESPONSE(resp, &p) != n) {
		free(buf);
		crypto_err(e, "encoding the response");
		return -1;
	}
	*der = buf;
	*len = (size_t)n;
	return 0;
}

int
ocsp_respond_status(enum ocsp_resp_status st, unsigned char **der, size_t *len, struct err *e)
{
	OCSP_RESPONSE *resp = OCSP_response_create((int)st, NULL);
	int rc = -1;

	if (resp == NULL) {
		crypto_err(e, "OCSP_response_create");
		goto out;
	}
	rc = resp_encode(resp, der, len, e);
out:
	OCSP_RESPONSE_free(resp);
	return rc;
}

static const struct signer *
signer_pick(const struct ocsp_responder *r, const struct ocsp_fault *f, struct err *e)
{
	if (f->signer[0] == '\0')
		return &r->main;
	for (size_t i = 0; i < r->nother; i++)
		if (strcmp(r->other[i].spec, f->signer) == 0)
			return &r->other[i];
	err_set(e, 1, "signer \"%s\" was not loaded", f->signer);
	return NULL;
}

/* Add one SingleResponse (RFC 6960 4.2.1) for CertID `id`. */
static int
single_add(OCSP_BASICRESP *bs, OCSP_CERTID *id, const struct ocsp_answer *a,
           const struct ocsp_fault *f, time_t now, ASN1_TIME *thisupd, ASN1_TIME *nextupd)
{
	enum ocsp_cert_status st =
	        f->force_status >= 0 ? (enum ocsp_cert_status)f->force_status : a->status;
	ASN1_TIME *revtime = NULL;
	int cst, reason = OCSP_REVOKED_STATUS_NOSTATUS, rc = -1;

	cst = st == OCSP_CERT_GOOD      ? V_OCSP_CERTSTATUS_GOOD
	      : st == OCSP_CERT_REVOKED ? V_OCSP_CERTSTATUS_REVOKED
	                                : V_OCSP_CERTSTATUS_UNKNOWN;
	if (st == OCSP_CERT_REVOKED) {
		/* A status=revoked fault on a good certificate: yesterday, keyCompromise. */
		int real = a->status == OCSP_CERT_REVOKED;

		if ((revtime = ASN1_TIME_set(NULL, real ? a->revtime : now - 24 * 3600)) == NULL)
			goto out;
		reason = real ? a->reason : 1;
		if (reason < 0)
			reason = OCSP_REVOKED_STATUS_NOSTATUS;
	}
	if (OCSP_basic_add1_status(bs, id, cst, reason, revtime, thisupd, nextupd) == NULL)
		goto out;
	rc = 0;
out:
	ASN1_TIME_free(revtime);
	return rc;
}

/* Sign a BasicOCSPResponse over ids[0..n-1]; nonce from `req` if any. */
static int
basic_build(const struct ocsp_responder *r, OCSP_CERTID *const *ids, size_t n,
            const struct ocsp_answer *answers, OCSP_REQUEST *req, const struct ocsp_fault *f,
            time_t now, unsigned char **der, size_t *len, struct err *e)
{
	const struct signer *s;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL;
	unsigned long flags = OCSP_RESPID_KEY;
	int rc = -1;

	if (f->resp_status != OCSP_RESP_SUCCESSFUL)
		return ocsp_respond_status(f->resp_status, der, len, e);
	if ((s = signer_pick(r, f, e)) == NULL)
		goto out;
	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = ASN1_TIME_set(NULL, ocsp_when_resolve(&f->this_update, now, -3600))) ==
	            NULL) {
		crypto_err(e, "building the response");
		goto out;
	}
	if (!(f->flags & OCSP_FAULT_NO_NEXT) &&
	    (nextupd = ASN1_TIME_set(NULL, ocsp_when_resolve(&f->next_update, now, 7 * 86400))) ==
	            NULL) {
		crypto_err(e, "building the response");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (single_add(bs, ids[i], &answers[i], f, now, thisupd, nextupd) < 0) {
			crypto_err(e, "adding a SingleResponse");
			goto out;
		}
	/* RFC 8954 / RFC 6960 4.4.1: echo the nonce unless told not to. */
	if (req != NULL && !(f->flags & OCSP_FAULT_NO_NONCE) && OCSP_copy_nonce(bs, req) <= 0) {
		crypto_err(e, "copying the nonce");
		goto out;
	}
	if (f->flags & OCSP_FAULT_NO_CERTS)
		flags |= OCSP_NOCERTS;
	/* The signer's certificate first, then the extra ones (unless no-certs). */
	if (OCSP_basic_sign(bs, s->cert, s->key, EVP_sha256(), r->extra, flags) != 1) {
		crypto_err(e, "signing the response");
		goto out;
	}
	if (f->flags & OCSP_FAULT_BAD_SIGNATURE) {
		/* The last byte of an ECDSA or RSA signature: still valid DER, wrong value. */
		ASN1_BIT_STRING *sig = (ASN1_BIT_STRING *)OCSP_resp_get0_signature(bs);
		int siglen = ASN1_STRING_length(sig);

		if (siglen > 0)
			((unsigned char *)ASN1_STRING_get0_data(sig))[siglen - 1] ^= 0x01;
	}
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL) {
		crypto_err(e, "OCSP_response_create");
		goto out;
	}
	rc = resp_encode(resp, der, len, e);
out:
	OCSP_RESPONSE_free(resp);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(thisupd);
	OCSP_BASICRESP_free(bs);
	return rc;
}

int
ocsp_respond(const struct ocsp_responder *r, const struct ocsp_req *req,
             const struct ocsp_answer *answers, const struct ocsp_fault *f, time_t now,
             unsigned char **der, size_t *len, struct err *e)
{
	OCSP_CERTID *ids[OCSP_REQ_MAX_IDS];

	for (size_t i = 0; i < req->n; i++)
		ids[i] = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req->req, (int)i));
	return basic_build(r, ids, req->n, answers, req->req, f, now, der, len, e);
}

int
ocsp_mint(const struct ocsp_responder *r, const char *cert_path, const struct ocsp_answer *answer,
          const struct ocsp_fault *f, time_t now, unsigned char **der, size_t *len, struct err *e)
{
	X509 *cert = NULL;
	OCSP_CERTID *id = NULL;
	int rc = -1;

	if ((cert = cert_read(cert_path, e)) == NULL)
		goto out;
	if ((id = OCSP_cert_to_id(EVP_sha1(), cert, r->issuer)) == NULL) {
		crypto_err(e, "making the CertID");
		goto out;
	}
	rc = basic_build(r, &id, 1, answer, NULL, f, now, der, len, e);
out:
	OCSP_CERTID_free(id);
	X509_free(cert);
	return rc;
}
