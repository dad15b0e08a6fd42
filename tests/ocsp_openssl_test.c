/*
 * ocsp_openssl_test.c - unit tests for fakeocsp's OCSP core (ocsp_openssl.c,
 * ocsp_answer.c, and the minted index and faults as they change a response):
 * requests built and responses checked with OpenSSL's own OCSP API, against
 * the minted test PKI ($REFMTA_PKI, or a fresh one in a temporary
 * directory).  Index lines and fault rules alone: ocsp_index_test.c,
 * ocsp_fault_test.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ocsp.h"
#include "pki.h"

static char pki_dir[300], tmp_dir[64];

static struct fixture {
	struct ocsp_responder *r;
	struct ocsp_index idx;
	X509 *root, *inter, *mx, *revoked, *unlisted;
	X509_STORE *store;
	STACK_OF(X509) * untrusted;
} fx;

/* What a response says, read back with OpenSSL. */
struct seen {
	int resp_status;
	int sig_ok; /* OCSP_basic_verify() > 0 */
	int found;  /* OCSP_resp_find_status() found the CertID */
	int status; /* V_OCSP_CERTSTATUS_* */
	int reason;
	int fresh; /* OCSP_check_validity() with 5 min slack */
	int nonce; /* OCSP_check_nonce() */
	int has_certs;
	int has_next;
	int verify_error; /* X509_V_ERR_* when OCSP_basic_verify() failed on the chain */
	time_t this_update;
};

static const char *
pki(const char *name)
{
	static char buf[4][400];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", pki_dir, name);
	return buf[k];
}

static X509 *
cert_load(const char *name)
{
	FILE *f = fopen(pki(name), "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	return x;
}

static char *
serial_of(X509 *x)
{
	static char out[OCSP_SERIAL_MAX];
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn);

	assert_int_equal(ocsp_serial_normalise(hex, out, sizeof out), 0);
	OPENSSL_free(hex);
	BN_free(bn);
	return out;
}

/* A DER request about `x` (SHA-1 CertID over the intermediate), with a nonce
   when asked.  *req keeps the OpenSSL object for nonce checks. */
static unsigned char *
request_der(X509 *x, int nonce, OCSP_REQUEST **req, size_t *len)
{
	OCSP_REQUEST *q = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), x, fx.inter);
	unsigned char *der = NULL;
	int n;

	assert_non_null(q);
	assert_non_null(id);
	assert_non_null(OCSP_request_add0_id(q, id));
	if (nonce)
		assert_int_equal(OCSP_request_add1_nonce(q, NULL, 16), 1);
	n = i2d_OCSP_REQUEST(q, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	*req = q;
	return der;
}

/* The X509_V_ERR_* of OCSP_basic_verify()'s last failure ("Verify error:..."
   in its error data), 0 when none; empties the error queue. */
static int
verify_error(void)
{
	const char *data = NULL;
	unsigned long code;
	int flags = 0, v = 0;

	while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0)
		if (ERR_GET_REASON(code) == OCSP_R_CERTIFICATE_VERIFY_ERROR && data != NULL &&
		    (flags & ERR_TXT_STRING))
			v = strstr(data, "certificate has expired") != NULL
			            ? X509_V_ERR_CERT_HAS_EXPIRED
			            : -1;
	return v;
}

static struct seen
look(const unsigned char *der, size_t len, OCSP_REQUEST *req, X509 *x)
{
	struct seen s;
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	ASN1_GENERALIZEDTIME *rev, *thisupd, *nextupd;
	struct tm tm;

	memset(&s, 0, sizeof s);
	s.status = -1;
	assert_non_null(resp);
	s.resp_status = OCSP_response_status(resp);
	if (s.resp_status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		goto out;
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	s.has_certs = sk_X509_num(OCSP_resp_get0_certs(bs)) > 0;
	s.sig_ok = OCSP_basic_verify(bs, fx.untrusted, fx.store, 0) > 0;
	s.verify_error = verify_error();
	s.nonce = req != NULL ? OCSP_check_nonce(req, bs) : 2;
	id = OCSP_cert_to_id(EVP_sha1(), x, fx.inter);
	s.found = OCSP_resp_find_status(bs, id, &s.status, &s.reason, &rev, &thisupd, &nextupd);
	if (s.found) {
		s.has_next = nextupd != NULL;
		s.fresh = OCSP_check_validity(thisupd, nextupd, 300, -1);
		ERR_clear_error();
		assert_int_equal(ASN1_TIME_to_tm(thisupd, &tm), 1);
		s.this_update = timegm(&tm);
	}
out:
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return s;
}

/* Ask about x with the given faults ("" = none; rules separated by ' '). */
static struct seen
ask(X509 *x, int nonce, const char *faults, char *log, size_t loglen)
{
	struct ocsp_faults fs = { 0 };
	struct ocsp_reply rep;
	struct err e = { 0 };
	OCSP_REQUEST *req;
	size_t len;
	unsigned char *der = request_der(x, nonce, &req, &len);
	char copy[512], *tok, *save = NULL;
	struct seen s;

	snprintf(copy, sizeof copy, "%s", faults);
	for (tok = strtok_r(copy, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		assert_int_equal(ocsp_faults_add(&fs, NULL, tok, &e), 0);
		if (strstr(tok, "signer=") != NULL)
			assert_int_equal(ocsp_responder_add_signer(fx.r, strchr(tok, '=') + 1, &e),
			                 0);
	}
	assert_int_equal(ocsp_answer(fx.r, &fx.idx, &fs, der, len, time(NULL), &rep, &e), 0);
	if (log != NULL)
		snprintf(log, loglen, "%s", rep.log);
	memset(&s, 0, sizeof s);
	s.resp_status = -1;
	if (rep.der != NULL)
		s = look(rep.der, rep.len, req, x);
	ocsp_reply_free(&rep);
	ocsp_faults_free(&fs);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
	return s;
}

/* ---- index -------------------------------------------------------------- */

static void
test_index_minted(void **state)
{
	(void)state;
	assert_int_equal(fx.idx.n, 14 - 1); /* wildcard.pem dropped by group_setup */
	assert_int_equal(ocsp_index_find(&fx.idx, serial_of(fx.mx))->type, 'V');
	assert_int_equal(ocsp_index_find(&fx.idx, serial_of(fx.revoked))->type, 'R');
	assert_int_equal(ocsp_index_find(&fx.idx, serial_of(fx.revoked))->reason, 1);
}

/* ---- requests ------------------------------------------------------------ */

static void
test_request_good(void **state)
{
	OCSP_REQUEST *q;
	struct ocsp_req *req;
	struct err e = { 0 };
	size_t len;
	unsigned char *der = request_der(fx.mx, 1, &q, &len);

	(void)state;
	assert_int_equal(ocsp_req_parse(der, len, &req, &e), 0);
	assert_int_equal(ocsp_req_count(req), 1);
	assert_string_equal(ocsp_req_serial(req, 0), serial_of(fx.mx));
	assert_null(ocsp_req_serial(req, 1));
	assert_int_equal(ocsp_req_has_nonce(req), 1);
	assert_int_equal(ocsp_req_issuer_known(fx.r, req, 0), 1);
	ocsp_req_free(req);
	OCSP_REQUEST_free(q);
	OPENSSL_free(der);

	/* A CertID over another issuer is parsed, but its issuer is not ours. */
	der = request_der(fx.root, 0, &q, &len);
	assert_int_equal(ocsp_req_parse(der, len, &req, &e), 0);
	assert_int_equal(ocsp_req_has_nonce(req), 0);
	assert_int_equal(ocsp_req_issuer_known(fx.r, req, 0), 0);
	ocsp_req_free(req);
	OCSP_REQUEST_free(q);
	OPENSSL_free(der);
}

static void
test_request_bad(void **state)
{
	static const unsigned char garbage[] = "GET / HTTP/1.0\r\n\r\n";
	OCSP_REQUEST *q;
	struct ocsp_req *req = (struct ocsp_req *)&req;
	struct err e = { 0 };
	size_t len;
	unsigned char *der = request_der(fx.mx, 1, &q, &len), *longer;

	(void)state;
	assert_int_equal(ocsp_req_parse(garbage, sizeof garbage - 1, &req, &e), -1);
	assert_null(req);
	assert_non_null(strstr(e.text, "not a DER OCSPRequest"));
	assert_int_equal(ocsp_req_parse(der, 0, &req, &e), -1);
	/* Every truncation fails cleanly. */
	for (size_t cut = 1; cut < len; cut++)
		assert_int_equal(ocsp_req_parse(der, cut, &req, &e), -1);
	/* Trailing bytes too. */
	assert_non_null(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_int_equal(ocsp_req_parse(longer, len + 1, &req, &e), -1);
	assert_string_equal(e.text, "1 bytes after the OCSPRequest");
	free(longer);
	OCSP_REQUEST_free(q);
	OPENSSL_free(der);
}

/* ---- responses ----------------------------------------------------------- */

static void
test_answer_statuses(void **state)
{
	char log[512];
	struct seen s;
	time_t now = time(NULL);

	(void)state;
	s = ask(fx.mx, 1, "", log, sizeof log);
	assert_int_equal(s.resp_status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
	assert_true(s.sig_ok);
	assert_true(s.found);
	assert_int_equal(s.status, V_OCSP_CERTSTATUS_GOOD);
	assert_true(s.fresh);
	assert_true(s.has_certs);
	assert_int_equal(s.nonce, 1); /* RFC 8954: echoed */
	assert_true(s.this_update >= now - 3600 - 5 && s.this_update <= now - 3600 + 5);
	assert_non_null(strstr(log, "status=good fault=none nonce=yes"));
	assert_non_null(strstr(log, serial_of(fx.mx)));

	s = ask(fx.revoked, 0, "", log, sizeof log);
	assert_true(s.sig_ok);
	assert_int_equal(s.status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(s.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	assert_int_equal(s.nonce, 2); /* none asked, none sent */
	assert_non_null(strstr(log, "status=revoked"));

	s = ask(fx.unlisted, 1, "", log, sizeof log);
	assert_true(s.found);
	assert_int_equal(s.status, V_OCSP_CERTSTATUS_UNKNOWN);
	assert_non_null(strstr(log, "status=unknown"));

	s = ask(fx.mx, 0, "status=revoked", log, sizeof log);
	assert_int_equal(s.status, V_OCSP_CERTSTATUS_REVOKED);
	assert_non_null(strstr(log, "status=revoked fault=status=revoked"));
}

static void
test_fault_times(void **state)
{
	struct seen s;

	(void)state;
	s = ask(fx.mx, 0, "expired", NULL, 0);
	assert_true(s.sig_ok);
	assert_false(s.fresh);
	s = ask(fx.mx, 0, "not-yet-valid", NULL, 0);
	assert_true(s.sig_ok);
	assert_false(s.fresh);
	s = ask(fx.mx, 0, "this-update=2020-01-01T00:00:00Z next-update=2020-01-02T00:00:00Z", NULL,
	        0);
	assert_int_equal(s.this_update, 1577836800);
	assert_false(s.fresh);
	s = ask(fx.mx, 0, "this-update=-10m next-update=+1h", NULL, 0);
	assert_true(s.fresh);
	s = ask(fx.mx, 0, "no-next-update", NULL, 0);
	assert_true(s.found);
	assert_false(s.has_next);
}

static void
test_fault_signatures(void **state)
{
	char spec[1000];
	struct seen s;

	(void)state;
	s = ask(fx.mx, 0, "bad-signature", NULL, 0);
	assert_true(s.found);
	assert_false(s.sig_ok);

	/* Signed by the CA itself: acceptable (RFC 6960 4.2.2.2). */
	snprintf(spec, sizeof spec, "signer=%s,%s", pki("inter-ca.pem"), pki("inter-ca.key"));
	s = ask(fx.mx, 0, spec, NULL, 0);
	assert_true(s.sig_ok);
	assert_int_equal(s.status, V_OCSP_CERTSTATUS_GOOD);

	/* A leaf of the same CA without id-kp-OCSPSigning: not authorised. */
	snprintf(spec, sizeof spec, "unauthorised-signer=%s,%s", pki("mx-rsa.pem"),
	         pki("mx-rsa.key"));
	s = ask(fx.mx, 0, spec, NULL, 0);
	assert_true(s.found);
	assert_false(s.sig_ok);

	/* No certificate in the response: the client cannot find the signer. */
	s = ask(fx.mx, 0, "no-certs", NULL, 0);
	assert_false(s.has_certs);
	assert_false(s.sig_ok);

	s = ask(fx.mx, 1, "no-nonce", NULL, 0);
	assert_true(s.sig_ok);
	assert_int_equal(s.nonce, -1); /* asked, not echoed */
}

/* A delegated responder whose certificate expired: the signature is good,
   the signer's chain is not ("certificate has expired"). */
static void
test_fault_expired_signer(void **state)
{
	char spec[1000], log[512];
	struct seen s;

	(void)state;
	snprintf(spec, sizeof spec, "expired-signer=%s,%s", pki("ocsp-signer-expired.pem"),
	         pki("ocsp-signer-expired.key"));
	s = ask(fx.mx, 0, spec, log, sizeof log);
	assert_true(s.found);
	assert_true(s.has_certs);
	assert_int_equal(s.status, V_OCSP_CERTSTATUS_GOOD);
	assert_false(s.sig_ok);
	assert_int_equal(s.verify_error, X509_V_ERR_CERT_HAS_EXPIRED);
	if (strstr(log, "fault=expired-signer") == NULL)
		fail_msg("%s", log);
	assert_null(strstr(log, ".pem")); /* signer values are not logged */

	/* The same response with the valid signer verifies: only the date differs. */
	snprintf(spec, sizeof spec, "expired-signer=%s,%s", pki("ocsp-signer.pem"),
	         pki("ocsp-signer.key"));
	s = ask(fx.mx, 0, spec, NULL, 0);
	assert_true(s.sig_ok);
}

static void
test_fault_response_statuses(void **state)
{
	static const struct {
		const char *fault;
		int want;
	} cases[] = {
		{ "malformedRequest", OCSP_RESPONSE_STATUS_MALFORMEDREQUEST },
		{ "internalError", OCSP_RESPONSE_STATUS_INTERNALERROR },
		{ "tryLater", OCSP_RESPONSE_STATUS_TRYLATER },
		{ "sigRequired", OCSP_RESPONSE_STATUS_SIGREQUIRED },
		{ "unauthorized", OCSP_RESPONSE_STATUS_UNAUTHORIZED },
	};
	char log[512];
	struct seen s;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = ask(fx.mx, 0, cases[i].fault, log, sizeof log);
		assert_int_equal(s.resp_status, cases[i].want);
		assert_non_null(strstr(log, cases[i].fault));
	}
	/* garbage and drop leave the body to the HTTP layer. */
	s = ask(fx.mx, 0, "garbage", log, sizeof log);
	assert_int_equal(s.resp_status, -1);
	assert_non_null(strstr(log, "status=garbage fault=garbage"));
	s = ask(fx.mx, 0, "drop", log, sizeof log);
	assert_int_equal(s.resp_status, -1);
	assert_non_null(strstr(log, "status=dropped"));
}

static void
test_answer_malformed(void **state)
{
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01 };
	struct ocsp_faults fs = { 0 };
	struct ocsp_reply rep;
	struct err e = { 0 };
	struct seen s;

	(void)state;
	assert_int_equal(ocsp_answer(fx.r, &fx.idx, &fs, junk, sizeof junk, time(NULL), &rep, &e),
	                 0);
	assert_non_null(rep.der);
	s = look(rep.der, rep.len, NULL, fx.mx);
	assert_int_equal(s.resp_status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	assert_non_null(strstr(rep.log, "serial=- status=malformed fault=none"));
	ocsp_reply_free(&rep);
}

static void
test_mint(void **state)
{
	struct ocsp_fault f;
	struct ocsp_faults fs = { 0 };
	struct ocsp_answer a = { .status = OCSP_CERT_REVOKED, .revtime = 1700000000, .reason = 4 };
	struct err e = { 0 };
	unsigned char *der = NULL;
	size_t len;
	struct seen s;

	(void)state;
	ocsp_faults_resolve(&fs, NULL, &f);
	assert_int_equal(ocsp_mint(fx.r, pki("mx-rsa.pem"), &a, &f, time(NULL), &der, &len, &e), 0);
	s = look(der, len, NULL, fx.mx);
	assert_true(s.sig_ok);
	assert_true(s.fresh);
	assert_int_equal(s.status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(s.reason, OCSP_REVOKED_STATUS_SUPERSEDED);
	free(der);
	assert_int_equal(ocsp_mint(fx.r, pki("no-such.pem"), &a, &f, time(NULL), &der, &len, &e),
	                 -1);
	assert_non_null(strstr(e.text, "no-such.pem"));
}

/* --extra-certs: the intermediate rides along after the signer, so a client
   that trusts only the root can verify the staple (the seed's case). */
static void
test_mint_extra_certs(void **state)
{
	struct ocsp_responder *r = NULL;
	struct ocsp_fault f;
	struct ocsp_faults fs = { 0 };
	struct ocsp_answer a = { .status = OCSP_CERT_GOOD, .reason = OCSP_REASON_NONE };
	struct err e = { 0 };
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	const STACK_OF(X509) * certs;
	X509 *signer = cert_load("ocsp-signer.pem");

	(void)state;
	assert_int_equal(ocsp_responder_new(pki("inter-ca.pem"), pki("ocsp-signer.pem"),
	                                    pki("ocsp-signer.key"), &r, &e),
	                 0);
	assert_int_equal(ocsp_responder_add_extra_certs(r, pki("inter-ca.pem"), &e), 0);
	ocsp_faults_resolve(&fs, NULL, &f);
	assert_int_equal(ocsp_mint(r, pki("mx-rsa.pem"), &a, &f, time(NULL), &der, &len, &e), 0);
	p = der;
	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len));
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	certs = OCSP_resp_get0_certs(bs);
	assert_int_equal(sk_X509_num(certs), 2);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), signer), 0);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 1), fx.inter), 0);
	/* No untrusted certificates from outside the response: the root is enough. */
	assert_int_equal(OCSP_basic_verify(bs, NULL, fx.store, 0), 1);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(der);

	/* Without it the same client cannot reach the root. */
	assert_int_equal(ocsp_mint(fx.r, pki("mx-rsa.pem"), &a, &f, time(NULL), &der, &len, &e), 0);
	p = der;
	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len));
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	assert_true(OCSP_basic_verify(bs, NULL, fx.store, 0) <= 0);
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(der);

	/* A bundle adds every certificate in it; no-certs leaves them all out. */
	if (ocsp_responder_add_extra_certs(r, pki("mx-rsa.pem"), &e) != 0)
		fail_msg("%s", e.text);
	f.flags |= OCSP_FAULT_NO_CERTS;
	assert_int_equal(ocsp_mint(r, pki("mx-rsa.pem"), &a, &f, time(NULL), &der, &len, &e), 0);
	p = der;
	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len));
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	assert_true(sk_X509_num(OCSP_resp_get0_certs(bs)) <= 0); /* absent: -1 */
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(der);
	f.flags &= ~OCSP_FAULT_NO_CERTS;
	assert_int_equal(ocsp_mint(r, pki("mx-rsa.pem"), &a, &f, time(NULL), &der, &len, &e), 0);
	p = der;
	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len));
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 4); /* signer, inter, mx, inter */
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(der);

	/* Files without a certificate. */
	assert_int_equal(ocsp_responder_add_extra_certs(r, pki("index.txt"), &e), -1);
	assert_non_null(strstr(e.text, "no PEM certificate"));
	assert_int_equal(ocsp_responder_add_extra_certs(r, pki("nope.pem"), &e), -1);
	assert_non_null(strstr(e.text, "nope.pem"));
	ocsp_responder_free(r);
	X509_free(signer);
}

static void
test_responder_errors(void **state)
{
	struct ocsp_responder *r = (struct ocsp_responder *)&r;
	struct err e = { 0 };

	(void)state;
	/* The key of another certificate. */
	assert_int_equal(ocsp_responder_new(pki("inter-ca.pem"), pki("ocsp-signer.pem"),
	                                    pki("mx-rsa.key"), &r, &e),
	                 -1);
	assert_null(r);
	assert_non_null(strstr(e.text, "does not match"));
	assert_int_equal(ocsp_responder_new(pki("nope.pem"), pki("ocsp-signer.pem"),
	                                    pki("ocsp-signer.key"), &r, &e),
	                 -1);
	assert_non_null(strstr(e.text, "nope.pem"));
}

/* ---- set-up -------------------------------------------------------------- */

static int
group_setup(void **state)
{
	const char *env = getenv("REFMTA_PKI");
	struct stat st;
	struct err e = { 0 };
	FILE *f;
	X509 *x;

	(void)state;
	snprintf(pki_dir, sizeof pki_dir, "%s", env != NULL ? env : "");
	/* A PKI minted before ocsp-signer-expired existed is not used. */
	if (env != NULL && *env != '\0' && stat(pki("ocsp-signer-expired.pem"), &st) == 0) {
		snprintf(pki_dir, sizeof pki_dir, "%s", env);
	} else {
		snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ocsp_test.XXXXXX");
		if (mkdtemp(tmp_dir) == NULL)
			return -1;
		snprintf(pki_dir, sizeof pki_dir, "%s/pki", tmp_dir);
		if (pki_mint(pki_dir, time(NULL), &e) != 0) {
			fprintf(stderr, "ocsp_openssl_test: cannot mint the PKI: %s\n", e.text);
			return -1;
		}
	}
	if (ocsp_responder_new(pki("inter-ca.pem"), pki("ocsp-signer.pem"), pki("ocsp-signer.key"),
	                       &fx.r, &e) < 0 ||
	    ocsp_index_load(pki("index.txt"), &fx.idx, &e) < 0) {
		fprintf(stderr, "ocsp_openssl_test: %s\n", e.text);
		return -1;
	}
	fx.root = cert_load("root-ca.pem");
	fx.inter = cert_load("inter-ca.pem");
	fx.mx = cert_load("mx-rsa.pem");
	fx.revoked = cert_load("revoked.pem");
	fx.unlisted = cert_load("wildcard.pem");
	if (fx.root == NULL || fx.inter == NULL || fx.mx == NULL || fx.revoked == NULL ||
	    fx.unlisted == NULL)
		return -1;
	/* "Not in the index": drop wildcard.pem's line from our copy. */
	for (size_t i = 0; i < fx.idx.n; i++)
		if (strcmp(fx.idx.entry[i].serial, serial_of(fx.unlisted)) == 0)
			fx.idx.entry[i] = fx.idx.entry[--fx.idx.n];
	fx.store = X509_STORE_new();
	fx.untrusted = sk_X509_new_null();
	if (fx.store == NULL || fx.untrusted == NULL || X509_STORE_add_cert(fx.store, fx.root) != 1)
		return -1;
	if ((f = fopen(pki("inter-ca.pem"), "r")) == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL || sk_X509_push(fx.untrusted, x) <= 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[200];

	(void)state;
	ocsp_responder_free(fx.r);
	ocsp_index_free(&fx.idx);
	X509_free(fx.root);
	X509_free(fx.inter);
	X509_free(fx.mx);
	X509_free(fx.revoked);
	X509_free(fx.unlisted);
	X509_STORE_free(fx.store);
	sk_X509_pop_free(fx.untrusted, X509_free);
	if (tmp_dir[0] != '\0') {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "ocsp_openssl_test: could not remove %s\n", tmp_dir);
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_minted),
		cmocka_unit_test(test_request_good),
		cmocka_unit_test(test_request_bad),
		cmocka_unit_test(test_answer_statuses),
		cmocka_unit_test(test_fault_times),
		cmocka_unit_test(test_fault_signatures),
		cmocka_unit_test(test_fault_expired_signer),
		cmocka_unit_test(test_fault_response_statuses),
		cmocka_unit_test(test_answer_malformed),
		cmocka_unit_test(test_mint),
		cmocka_unit_test(test_mint_extra_certs),
		cmocka_unit_test(test_responder_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
