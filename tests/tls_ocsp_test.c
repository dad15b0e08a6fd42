/*
 * tls_ocsp_test.c - OCSP staples judged once (lib/tls_ocsp.c): the verdict
 * rule on hand-made facts (precedence, the validity window and its
 * leeway), and each backend's reading of the test PKI's minted responses
 * (lib/tls_openssl_ocsp.c, lib/tls_gnutls_ocsp.c) giving the same facts and
 * words: good, revoked, another certificate, garbage, a truncated response;
 * and TLS 1.3 staples for the chain on real handshakes, by backend.
 * The fixture PKI is tls_pair.h's (REFMTA_PKI).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "testutil.h"
#include "tls_ocsp.h"
#include "tls_pair.h"

/* The DER of the first certificate in a PKI PEM file.  Caller frees d->data. */
static void
pem_der(const char *file, struct tls_der *d)
{
	char *pem = test_slurp(pki(file)), *b64, *end, *w;
	long n;

	b64 = strstr(pem, "-----BEGIN CERTIFICATE-----");
	assert_non_null(b64);
	b64 = strchr(b64, '\n');
	end = strstr(b64, "-----END");
	assert_non_null(end);
	*end = '\0';
	w = b64;
	for (char *r = b64; *r != '\0'; r++)
		if (*r != '\n' && *r != '\r')
			*w++ = *r;
	*w = '\0';
	d->data = malloc(strlen(b64));
	assert_non_null(d->data);
	n = http_base64_decode(b64, d->data, strlen(b64));
	assert_true(n > 100);
	d->len = (size_t)n;
	free(pem);
}

static void
test_judge_rule(void **state)
{
	struct tls_ocsp_facts f = { .parsed = 1,
		                    .for_cert = 1,
		                    .status = TLS_OCSP_STATUS_GOOD,
		                    .this_update = 1000000,
		                    .next_update = 2000000,
		                    .has_next_update = 1,
		                    .sig = TLS_OCSP_SIG_OK };
	struct tls_ocsp_facts g;
	(void)state;

	assert_int_equal(tls_ocsp_judge(&f, 1500000), TLS_OCSP_GOOD);
	/* RFC 6960 4.2.2.1, with TLS_OCSP_LEEWAY either side. */
	assert_int_equal(tls_ocsp_judge(&f, 1000000 - TLS_OCSP_LEEWAY), TLS_OCSP_GOOD);
	assert_int_equal(tls_ocsp_judge(&f, 1000000 - TLS_OCSP_LEEWAY - 1), TLS_OCSP_NOT_YET_VALID);
	assert_int_equal(tls_ocsp_judge(&f, 2000000 + TLS_OCSP_LEEWAY), TLS_OCSP_GOOD);
	assert_int_equal(tls_ocsp_judge(&f, 2000000 + TLS_OCSP_LEEWAY + 1), TLS_OCSP_EXPIRED);
	g = f;
	g.has_next_update = 0;
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_NO_NEXT_UPDATE);
	g = f;
	g.status = TLS_OCSP_STATUS_REVOKED;
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_REVOKED);
	/* Freshness before status: a stale "revoked" is stale. */
	assert_int_equal(tls_ocsp_judge(&g, 3000000), TLS_OCSP_EXPIRED);
	g.status = TLS_OCSP_STATUS_UNKNOWN;
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_UNKNOWN);
	/* The signature before the window: a forged fresh response is forged. */
	g = f;
	g.sig = TLS_OCSP_SIG_SIGNER_EXPIRED;
	assert_int_equal(tls_ocsp_judge(&g, 3000000), TLS_OCSP_SIGNER_EXPIRED);
	g.sig = TLS_OCSP_SIG_BAD_SIGNATURE;
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_BAD_SIGNATURE);
	g.sig = TLS_OCSP_SIG_BAD_SIGNER;
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_BAD_SIGNER);
	g.sig = TLS_OCSP_SIG_SIGNER_NOT_FOUND;
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_SIGNER_NOT_FOUND);
	g.sig = TLS_OCSP_SIG_NOT_CHECKED; /* the server's check */
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_GOOD);
	g.for_cert = 0;
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_WRONG_CERT);
	g.parsed = 0;
	assert_int_equal(tls_ocsp_judge(&g, 1500000), TLS_OCSP_MALFORMED);
	assert_string_equal(tls_ocsp_word(TLS_OCSP_SIGNER_EXPIRED), "signer-expired");
	assert_string_equal(tls_ocsp_word(TLS_OCSP_WRONG_CERT), "wrong-certificate");
	assert_string_equal(tls_ocsp_word((enum tls_ocsp_verdict)99), "malformed");
}

/* One backend reads the PKI's responses; returns what it saw for the checks. */
static void
read_pki(const struct tls_backend *be)
{
	struct tls_der mx = { 0 }, ec = { 0 }, rev = { 0 }, inter = { 0 };
	struct tls_ocsp_facts f;
	size_t len = 0, rlen = 0;
	unsigned char *resp = (unsigned char *)test_slurp_len(pki("mx-rsa.ocsp.der"), &len);
	unsigned char *rresp = (unsigned char *)test_slurp_len(pki("revoked.ocsp.der"), &rlen);
	time_t now = time(NULL);

	pem_der("mx-rsa.pem", &mx);
	pem_der("mx-ecdsa.pem", &ec);
	pem_der("revoked.pem", &rev);
	pem_der("inter-ca.pem", &inter);

	tls_ocsp_read(be, resp, len, &mx, &inter, 1, now, &f);
	assert_true(f.parsed);
	assert_true(f.for_cert);
	assert_int_equal(f.status, TLS_OCSP_STATUS_GOOD);
	assert_int_equal(f.sig, TLS_OCSP_SIG_OK);
	assert_true(f.has_next_update);
	/* docs/pki.md: thisUpdate now-1h, nextUpdate now+7d of the minting. */
	assert_int_equal(f.next_update - f.this_update, 7 * 86400 + 3600);
	assert_int_equal(tls_ocsp_judge(&f, f.this_update + 60), TLS_OCSP_GOOD);
	assert_int_equal(tls_ocsp_judge(&f, f.next_update + 86400), TLS_OCSP_EXPIRED);
	/* Without the issuer: serial and name hash only, signature not checked. */
	tls_ocsp_read(be, resp, len, &mx, NULL, 1, now, &f);
	assert_true(f.for_cert);
	assert_int_equal(f.sig, TLS_OCSP_SIG_NOT_CHECKED);
	/* Another certificate of the same issuer. */
	tls_ocsp_read(be, resp, len, &ec, &inter, 1, now, &f);
	assert_true(f.parsed);
	assert_false(f.for_cert);
	assert_int_equal(tls_ocsp_judge(&f, now), TLS_OCSP_WRONG_CERT);
	tls_ocsp_read(be, rresp, rlen, &rev, &inter, 1, now, &f);
	assert_true(f.for_cert);
	assert_int_equal(f.status, TLS_OCSP_STATUS_REVOKED);
	assert_int_equal(f.sig, TLS_OCSP_SIG_OK);
	/* A certificate as the "response", and a truncated response. */
	tls_ocsp_read(be, mx.data, mx.len, &mx, &inter, 1, now, &f);
	assert_false(f.parsed);
	tls_ocsp_read(be, resp, len / 2, &mx, &inter, 1, now, &f);
	assert_false(f.parsed);
	assert_int_equal(tls_ocsp_judge(&f, now), TLS_OCSP_MALFORMED);
	free(resp);
	free(rresp);
	free(mx.data);
	free(ec.data);
	free(rev.data);
	free(inter.data);
}

static void
test_read_openssl(void **state)
{
	(void)state;
	read_pki(&tls_backend_openssl);
}

static void
test_read_gnutls(void **state)
{
	(void)state;
	read_pki(&tls_backend_gnutls);
}

/*
 * TLS 1.3 staples for the chain (RFC 8446 4.4.2.1), on a real handshake
 * between every pairing: a GnuTLS server asks staple_for for depth 1 and
 * sends it, an OpenSSL 3.0 server never asks (one response per handshake,
 * SSL_set_tlsext_status_ocsp_resp); a GnuTLS client reads it, an OpenSSL
 * 3.0 client keeps the leaf's only, and the handshake goes through either
 * way.  TLS 1.2 carries the leaf's alone.  The depth-1 bytes here are
 * revoked.ocsp.der, a response for another certificate: the transport is
 * what is tested, and the client's verdict on them is wrong-certificate.
 */
static void
test_chain_staples(void **state)
{
	const struct tls_backend *const be[2] = { &tls_backend_openssl, &tls_backend_gnutls };
	size_t leaf_len = 0, up_len = 0;
	unsigned char *leaf = read_file(pki("mx-rsa.ocsp.der"), &leaf_len);
	unsigned char *up = read_file(pki("revoked.ocsp.der"), &up_len);
	(void)state;

	assert_non_null(leaf);
	assert_non_null(up);
	assert_int_equal(tls_backend_caps(&tls_backend_gnutls) & TLS_CAP_STAPLE_CHAIN,
	                 TLS_CAP_STAPLE_CHAIN);
	assert_int_equal(tls_backend_caps(&tls_backend_openssl) & TLS_CAP_STAPLE_CHAIN, 0);
	for (int s = 0; s < 2; s++)
		for (int c = 0; c < 2; c++)
			for (int version = 12; version <= 13; version++) {
				struct pair_spec spec = {
					.server_certs = { "mx-rsa" },
					.server_staple = "mx-rsa.ocsp.der",
					.server_chain_staple = "revoked.ocsp.der",
					.client_ca = "ca-bundle.pem",
					.request_staple = 1,
					.version = (enum tls_version)version,
				};
				struct pair_result r;
				const struct tls_info *ci;
				int sent = version == 13 && be[s] == &tls_backend_gnutls;
				int got = sent && be[c] == &tls_backend_gnutls;

				must_pair(be[s], be[c], &spec, &r);
				ci = tls_conn_info(r.client);
				assert_int_equal(r.server.staple_sent, 1);
				assert_int_equal(ci->staple.len, leaf_len);
				assert_memory_equal(ci->staple.data, leaf, leaf_len);
				if (r.server.chain_staples_sent != sent ||
				    (ci->chain_staple[1].len != 0) != got)
					fail_msg("server %s, client %s, TLS 1.%d: %d sent, %zu "
					         "bytes received for depth 1",
					         be[s]->name, be[c]->name, version - 10,
					         r.server.chain_staples_sent,
					         ci->chain_staple[1].len);
				if (got) {
					assert_int_equal(ci->chain_staple[1].len, up_len);
					assert_memory_equal(ci->chain_staple[1].data, up, up_len);
				}
				assert_int_equal(
				        tls_conn_check_chain_staple(r.client, 1, time(NULL), NULL),
				        got ? TLS_OCSP_WRONG_CERT : TLS_OCSP_MISSING);
				assert_int_equal(
				        tls_conn_check_chain_staple(r.client, 0, time(NULL), NULL),
				        TLS_OCSP_GOOD);
				free_result(&r);
			}
	free(leaf);
	free(up);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_rule),
		cmocka_unit_test(test_read_openssl),
		cmocka_unit_test(test_read_gnutls),
		cmocka_unit_test(test_chain_staples),
	};
	int failed;

	signal(SIGPIPE, SIG_IGN); /* a server child's close_notify to a closed pair */
	if (setup_pki() != 0)
		return 1;
	failed = cmocka_run_group_tests_name("tls_ocsp", tests, NULL, NULL);
	cleanup_tmp();
	return failed;
}
