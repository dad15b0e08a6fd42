/*
 * tls_verdict_test.c - the neutral half of the TLS layer, on both backends:
 * the verification vocabulary, the capability bits and the refusals they
 * drive (lib/tls.c), the verdict rules both backends share and the checks
 * after them (lib/tls_verdict.c), and certificate names as each backend
 * decodes them.  No handshakes: tls_test.c has those.  Includes
 * lib/tls_int.h to reach the shared code directly (ci/layering.txt allows
 * this file).  The fixture PKI is tls_pair.h's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "testutil.h"
#include "tls_int.h"
#include "tls_pair.h"

/* The DER of a PKI certificate (the first in its PEM file).  Caller frees. */
static unsigned char *
leaf_der(const char *stem, size_t *len)
{
	char name[128];
	char *pem;
	unsigned char *der;
	char *b64, *end, *w;
	long n;

	snprintf(name, sizeof name, "%s.pem", stem);
	pem = test_slurp(pki(name));
	b64 = strstr(pem, "-----BEGIN CERTIFICATE-----");
	assert_non_null(b64);
	b64 = strchr(b64, '\n');
	assert_non_null(b64);
	end = strstr(b64, "-----END");
	assert_non_null(end);
	*end = '\0';
	w = b64;
	for (char *r = b64; *r != '\0'; r++) /* drop the line breaks */
		if (*r != '\n' && *r != '\r')
			*w++ = *r;
	*w = '\0';
	der = malloc(strlen(b64));
	assert_non_null(der);
	n = http_base64_decode(b64, der, strlen(b64));
	assert_true(n > 100);
	*len = (size_t)n;
	free(pem);
	return der;
}

static void
test_vocabulary(void **state)
{
	(void)state;
	assert_string_equal(tls_verify_word(TLS_VERIFY_OK), "ok");
	assert_string_equal(tls_verify_word(TLS_VERIFY_UNKNOWN_CA), "unknown-ca");
	assert_string_equal(tls_verify_word(TLS_VERIFY_NAME_MISMATCH), "name-mismatch");
	assert_string_equal(tls_verify_word(TLS_VERIFY_STAPLE_MISSING), "staple-missing");
	assert_string_equal(tls_verify_word((enum tls_verify)99), "invalid");
	assert_int_equal(tls_verify_summary(0), TLS_VERIFY_OK);
	assert_int_equal(tls_verify_summary(TLS_VERIFY_BIT(TLS_VERIFY_EXPIRED) |
	                                    TLS_VERIFY_BIT(TLS_VERIFY_UNKNOWN_CA)),
	                 TLS_VERIFY_UNKNOWN_CA);
	assert_ptr_equal(tls_backend_by_name("openssl"), &tls_backend_openssl);
	assert_ptr_equal(tls_backend_by_name("gnutls"), &tls_backend_gnutls);
	assert_null(tls_backend_by_name("schannel"));
	assert_non_null(strstr(tls_backend_openssl.version(), "OpenSSL"));
	assert_non_null(strstr(tls_backend_gnutls.version(), "GnuTLS"));
}

static void
expect_unsupported(const struct err *e, const char *backend, const char *what)
{
	assert_int_equal(e->code, TLS_ERR_UNSUPPORTED);
	if (strstr(e->text, backend) == NULL || strstr(e->text, what) == NULL)
		fail_msg("want an error naming %s and %s, got \"%s\"", backend, what, e->text);
}

static void
test_capabilities(void **state)
{
	static const unsigned char hash[32];
	const struct tls_tlsa rec = { 3, 1, 1, hash, sizeof hash };
	(void)state;

	for (size_t b = 0; b < NBACKENDS; b++) {
		const struct tls_backend *be = backends[b];
		unsigned caps = tls_backend_caps(be);
		struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
		struct tls_conn_opts opts = { .tlsa = &rec, .ntlsa = 1 };
		struct err e = { 0 };
		struct tls_ctx *ctx;
		char byte;
		int sv[2];

		assert_int_equal(caps, be->caps);
		/* What both backends do today (docs/tls.md, "Capabilities"). */
		assert_true(caps & TLS_CAP_STAPLE_SERVE);
		assert_true(caps & TLS_CAP_STAPLE_CHECK);
		assert_true(caps & TLS_CAP_KEYLOG);
		assert_true(caps & TLS_CAP_CLIENT_CERT);
		assert_true(caps & TLS_CAP_DANE); /* tls_*_dane.c, tests/dane_test.c */

		/* TLSA records accepted by a client connection: no refusal. */
		ctx = tls_ctx_new(be, &cfg, &e);
		assert_non_null(ctx);
		assert_ptr_equal(tls_ctx_backend(ctx), be);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		struct tls_conn *c = tls_conn_new(ctx, sv[0], &opts, &e);
		assert_non_null(c);
		tls_conn_free(c);
		close(sv[0]);
		assert_int_equal(recv(sv[1], &byte, 1, MSG_DONTWAIT), 0);
		close(sv[1]);
		tls_ctx_free(ctx);
	}
}

/* A backend without any capability is refused what it lacks, and only that. */
static void
test_capability_refusals(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_backend bare = *backends[b];
		struct tls_config keylog = { .role = TLS_ROLE_CLIENT, .keylog_file = "/dev/null" };
		struct tls_config client_cert = { .role = TLS_ROLE_CLIENT, .ncerts = 1 };
		struct tls_config server = { .role = TLS_ROLE_SERVER, .ncerts = 1 };
		struct tls_config plain = { .role = TLS_ROLE_CLIENT };
		struct tls_conn_opts staple = { .staple = (const unsigned char *)"x",
			                        .staple_len = 1 };
		struct tls_conn_opts ask = { .request_staple = 1 };
		struct err e = { 0 };
		struct tls_ctx *ctx;
		int sv[2];

		bare.name = "bare";
		bare.caps = 0;
		fill_keypair(&client_cert.certs[0], "client");
		fill_keypair(&server.certs[0], "mx-rsa");
		server.request_client_cert = 1;

		assert_null(tls_ctx_new(&bare, &keylog, &e));
		expect_unsupported(&e, "bare", "keylog");
		assert_null(tls_ctx_new(&bare, &client_cert, &e));
		expect_unsupported(&e, "bare", "client certificates");
		assert_null(tls_ctx_new(&bare, &server, &e));
		expect_unsupported(&e, "bare", "client certificates");

		/* The context keeps the descriptor it was made with: its caps
		 * govern the connection too. */
		ctx = tls_ctx_new(&bare, &plain, &e);
		assert_non_null(ctx);
		assert_ptr_equal(tls_ctx_backend(ctx), &bare);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_null(tls_conn_new(ctx, sv[0], &ask, &e));
		expect_unsupported(&e, "bare", "requesting OCSP staples");
		assert_null(tls_conn_new(ctx, sv[0], &staple, &e));
		expect_unsupported(&e, "bare", "serving OCSP staples");
		close(sv[0]);
		close(sv[1]);
		tls_ctx_free(ctx);
		free_keypairs(&client_cert);
		free_keypairs(&server);
	}
}

/*
 * tls_conn_set_verdict() and the checks after it, on a connection head of
 * each backend (the name check decodes through that backend): one rule for
 * both, whatever the library saw.
 */
static void
test_verdict_rules(void **state)
{
	const unsigned chain =
	        TLS_VERIFY_BIT(TLS_VERIFY_EXPIRED) | TLS_VERIFY_BIT(TLS_VERIFY_UNKNOWN_CA);
	size_t len;
	unsigned char *der = leaf_der("mx-ecdsa", &len);
	(void)state;

	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_ctx ctx = { .be = backends[b], .role = TLS_ROLE_CLIENT };
		struct tls_conn conn = { .be = backends[b], .ctx = &ctx };
		struct tls_info *i = &conn.info;

		tls_info_add_peer_cert(i, der, len);
		assert_int_equal(i->peer_chain_len, 1);

		/* No trust anchors: not-checked, whatever the library saw. */
		assert_false(tls_conn_chain_checkable(&conn));
		tls_conn_set_verdict(&conn, chain, "the library's words");
		assert_int_equal(i->verify, TLS_VERIFY_NOT_CHECKED);
		assert_int_equal(i->verify_flags, TLS_VERIFY_BIT(TLS_VERIFY_NOT_CHECKED));
		assert_string_equal(i->verify_detail, "no trust anchors configured");
		/* ... and a name check cannot outrank it. */
		assert_int_equal(tls_conn_check_name(&conn, "wrong.example.test"),
		                 TLS_VERIFY_NOT_CHECKED);

		/* Trust anchors: the problems by precedence, the library's words kept. */
		ctx.have_ca = 1;
		assert_true(tls_conn_chain_checkable(&conn));
		tls_conn_set_verdict(&conn, chain, "depth 0: expired");
		assert_int_equal(i->verify, TLS_VERIFY_UNKNOWN_CA);
		assert_int_equal(i->verify_flags, chain);
		assert_string_equal(i->verify_detail, "depth 0: expired");
		/* The chain's problem before the name's, the name's before the staple's. */
		assert_int_equal(tls_conn_check_name(&conn, "wrong.example.test"),
		                 TLS_VERIFY_UNKNOWN_CA);
		assert_true(i->verify_flags & TLS_VERIFY_BIT(TLS_VERIFY_NAME_MISMATCH));
		tls_conn_set_verdict(&conn, 0, NULL);
		assert_int_equal(i->verify, TLS_VERIFY_OK);
		assert_string_equal(i->verify_detail, "ok");
		assert_int_equal(tls_conn_check_name(&conn, "mx.example.test"), TLS_VERIFY_OK);
		assert_int_equal(tls_conn_require_staple(&conn), TLS_VERIFY_STAPLE_MISSING);
		assert_int_equal(tls_conn_check_name(&conn, "wrong.example.test"),
		                 TLS_VERIFY_NAME_MISMATCH);

		/* No chain: no-certificate, and nothing to check. */
		tls_info_clear(i);
		assert_int_equal(i->peer_chain_len, 0);
		assert_false(tls_conn_chain_checkable(&conn));
		tls_conn_set_verdict(&conn, chain, NULL);
		assert_int_equal(i->verify, TLS_VERIFY_NO_CERTIFICATE);
		assert_string_equal(i->verify_detail, "the peer sent no certificate");
		tls_info_clear(i);
	}
	free(der);
}

/* Both backends decode the same names, and record an unusable SAN alike. */
static void
test_cert_names_shared(void **state)
{
	static const char *const stems[] = { "mx-rsa", "multisan", "wildcard", "cn-only" };
	struct tls_cert_names n = { 0 };
	(void)state;

	for (size_t k = 0; k < sizeof stems / sizeof stems[0]; k++) {
		struct tls_cert_names got[NBACKENDS] = { 0 };
		size_t len;
		unsigned char *der = leaf_der(stems[k], &len);
		struct err e = { 0 };

		for (size_t b = 0; b < NBACKENDS; b++)
			if (backends[b]->ops->cert_names(der, len, &got[b], &e) != TLS_OK)
				fail_msg("%s: %s cannot decode: %s", stems[k], backends[b]->name,
				         e.text);
		if (!tls_cert_names_equal(&got[0], &got[1]))
			fail_msg("%s: openssl and gnutls decode different names", stems[k]);
		assert_true(got[0].ndns > 0 || got[0].cn != NULL);
		for (size_t b = 0; b < NBACKENDS; b++)
			tls_cert_names_free(&got[b]);
		free(der);
	}

	/* An embedded NUL: kept as "" (matches nothing), and the certificate
	 * still has SANs, so its CN is never consulted (RFC 6125 6.4.4). */
	assert_int_equal(tls_cert_names_add_dns(&n, "a.example.test\0.evil.test", 25), 0);
	assert_int_equal(tls_cert_names_add_dns(&n, "b.example.test", 14), 0);
	n.cn = strdup("mx.example.test");
	assert_int_equal(n.ndns, 2);
	assert_string_equal(n.dns[0], "");
	assert_string_equal(n.dns[1], "b.example.test");
	assert_false(tls_cert_names_match(&n, "a.example.test"));
	assert_false(tls_cert_names_match(&n, "mx.example.test"));
	assert_true(tls_cert_names_match(&n, "b.example.test"));
	tls_cert_names_free(&n);
	tls_cert_names_free(NULL);
}

/* Session tickets: a TLS 1.3 server's, and only the OpenSSL backend's. */
static void
test_ticket_refusals(void **state)
{
	struct tls_config cfg = { .role = TLS_ROLE_SERVER, .ncerts = 1, .tls13_tickets = 1 };
	struct tls_ctx ctx = { .be = &tls_backend_openssl, .role = TLS_ROLE_CLIENT };
	struct tls_conn conn = { .be = &tls_backend_openssl, .ctx = &ctx };
	struct err e = { 0 };
	(void)state;

	fill_keypair(&cfg.certs[0], "mx-rsa");
	assert_null(tls_ctx_new(&tls_backend_gnutls, &cfg, &e));
	expect_unsupported(&e, "gnutls", "session tickets");
	free_keypairs(&cfg);

	/* Refused before the backend is asked: a client, or a server on TLS 1.2. */
	conn.info.role = TLS_ROLE_CLIENT;
	snprintf(conn.info.version, sizeof conn.info.version, "TLSv1.3");
	assert_int_equal(tls_conn_send_ticket(&conn, &e), TLS_ERR_UNSUPPORTED);
	conn.info.role = TLS_ROLE_SERVER;
	snprintf(conn.info.version, sizeof conn.info.version, "TLSv1.2");
	assert_int_equal(tls_conn_send_ticket(&conn, &e), TLS_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.text, "TLS 1.3 server"));
	conn.be = &tls_backend_gnutls;
	snprintf(conn.info.version, sizeof conn.info.version, "TLSv1.3");
	assert_int_equal(tls_conn_send_ticket(&conn, &e), TLS_ERR_UNSUPPORTED);
	expect_unsupported(&e, "gnutls", "session tickets");
}

/* A key update is TLS 1.3's (RFC 8446 4.6.3): refused on TLS 1.2 before
 * either backend is asked (the sending itself is tls_test.c's). */
static void
test_key_update_refusal(void **state)
{
	struct err e = { 0 };
	(void)state;

	for (size_t b = 0; b < 2; b++) {
		const struct tls_backend *be = b ? &tls_backend_gnutls : &tls_backend_openssl;
		struct tls_ctx ctx = { .be = be, .role = TLS_ROLE_CLIENT };
		struct tls_conn conn = { .be = be, .ctx = &ctx };

		conn.info.role = b ? TLS_ROLE_SERVER : TLS_ROLE_CLIENT;
		snprintf(conn.info.version, sizeof conn.info.version, "TLSv1.2");
		assert_int_equal(tls_conn_key_update(&conn, &e), TLS_ERR_UNSUPPORTED);
		assert_non_null(strstr(e.text, "TLS 1.3"));
	}
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vocabulary),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_capability_refusals),
		cmocka_unit_test(test_key_update_refusal),
		cmocka_unit_test(test_ticket_refusals),
		cmocka_unit_test(test_verdict_rules),
		cmocka_unit_test(test_cert_names_shared),
	};
	int failed;

	if (setup_pki() != 0)
		return 1;
	failed = cmocka_run_group_tests_name("tls_verdict", tests, NULL, NULL);
	cleanup_tmp();
	return failed;
}
