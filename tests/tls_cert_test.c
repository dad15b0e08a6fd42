/*
 * tls_cert_test.c - ${certextract} (lib/tls_cert.c, tls.h tls_cert_extract):
 * every field of one certificate that has them all (DNS and email
 * subjectAltNames, AIA OCSP, two CRL distribution points), read by each
 * backend and written as the same text, and the errors.  The certificate
 * is fixed here (made once with `openssl req -x509 ... -set_serial
 * 0x0123456789abcdef`), so the expected values are exact.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tls.h"

static const char pem[] = "-----BEGIN CERTIFICATE-----\n"
                          "MIIC6TCCAo6gAwIBAgIIASNFZ4mrze8wCgYIKoZIzj0EAwIwTjELMAkGA1UEBhMC\n"
                          "REUxFDASBgNVBAoMC3JlZm10YSBUZXN0MQ8wDQYDVQQLDAZldmVudHMxGDAWBgNV\n"
                          "BAMMD214LmV4dHJhY3QudGVzdDAeFw0yNjEyMDYwODM4NDlaFw0zNjEyMDMwODM4\n"
                          "NDlaME4xCzAJBgNVBAYTAkRFMRQwEgYDVQQKDAtyZWZtdGEgVGVzdDEPMA0GA1UE\n"
                          "CwwGZXZlbnRzMRgwFgYDVQQDDA9teC5leHRyYWN0LnRlc3QwWTATBgcqhkjOPQIB\n"
                          "BggqhkjOPQMBBwNCAARxwXjrO+d9Q5N0pCDd9EBYAa1tC+Cqsjd+d3VX+2Dp/jOt\n"
                          "wTqg6sR2YatJ7zCURRbZEoBOCwqsW+bvd1Ryv4I7o4IBVDCCAVAwHQYDVR0OBBYE\n"
                          "FF9RsXRJ+uWIiSUfjaTNllTwu7mYMB8GA1UdIwQYMBaAFF9RsXRJ+uWIiSUfjaTN\n"
                          "llTwu7mYMA8GA1UdEwEB/wQFMAMBAf8wRQYDVR0RBD4wPIIPbXguZXh0cmFjdC50\n"
                          "ZXN0ghBteDIuZXh0cmFjdC50ZXN0gRdwb3N0bWFzdGVyQGV4dHJhY3QudGVzdDBg\n"
                          "BggrBgEFBQcBAQRUMFIwJQYIKwYBBQUHMAGGGWh0dHA6Ly9vY3NwLmV4dHJhY3Qu\n"
                          "dGVzdC8wKQYIKwYBBQUHMAKGHWh0dHA6Ly9jYS5leHRyYWN0LnRlc3QvY2EuZGVy\n"
                          "MFQGA1UdHwRNMEswI6AhoB+GHWh0dHA6Ly9jcmwuZXh0cmFjdC50ZXN0L2EuY3Js\n"
                          "MCSgIqAghh5odHRwOi8vY3JsMi5leHRyYWN0LnRlc3QvYi5jcmwwCgYIKoZIzj0E\n"
                          "AwIDSQAwRgIhAPV3BLRKH9RvkWB2s6ek9KBmHkRrEv11Bhk+mGEkXUbBAiEArPv7\n"
                          "iQxj6b/aW1EXIGp17eESHAUdPV0hmp4371d8/QQ=\n"
                          "-----END CERTIFICATE-----\n";

struct row {
	const char *field, *want;
};

static const struct row rows[] = {
	{ "subject", "CN=mx.extract.test,OU=events,O=refmta Test,C=DE" },
	{ "issuer", "CN=mx.extract.test,OU=events,O=refmta Test,C=DE" },
	{ "serial_number", "0123456789abcdef" },
	{ "serial", "0123456789abcdef" },
	{ "notbefore", "NOTBEFORE" },
	{ "notafter", "NOTAFTER" },
	{ "sig_algorithm", "ecdsa-with-SHA256" },
	{ "version", "3" },
	{ "subj_altname",
	  "dns=mx.extract.test\ndns=mx2.extract.test\nmail=postmaster@extract.test" },
	{ "subj_altname,dns", "mx.extract.test\nmx2.extract.test" },
	{ "subj_altname,dns,>;", "mx.extract.test;mx2.extract.test" },
	{ "subj_altname,mail", "postmaster@extract.test" },
	{ "ocsp_uri", "http://ocsp.extract.test/" },
	{ "crl_uri", "http://crl.extract.test/a.crl\nhttp://crl2.extract.test/b.crl" },
	{ "crl_uri,>,", "http://crl.extract.test/a.crl,http://crl2.extract.test/b.crl" },
};

static void
check_backend(const struct tls_backend *be)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct err e = { 0 };
		char *out = NULL;

		if (tls_cert_extract(be, pem, rows[i].field, &out, &e) != 0)
			fail_msg("%s: %s: %s", be->name, rows[i].field, e.text);
		if (strcmp(rows[i].want, "NOTBEFORE") == 0)
			assert_string_equal(out, "2026-12-06T08:38:49Z");
		else if (strcmp(rows[i].want, "NOTAFTER") == 0)
			assert_string_equal(out, "2036-12-03T08:38:49Z");
		else if (strcmp(out, rows[i].want) != 0)
			fail_msg("%s: %s: got \"%s\", want \"%s\"", be->name, rows[i].field, out,
			         rows[i].want);
		free(out);
	}
}

static void
test_openssl(void **state)
{
	(void)state;
	check_backend(&tls_backend_openssl);
}

static void
test_gnutls(void **state)
{
	(void)state;
	check_backend(&tls_backend_gnutls);
}

static void
test_errors(void **state)
{
	const struct tls_backend *bes[] = { &tls_backend_openssl, &tls_backend_gnutls };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct err e = { 0 };
		char *out = (char *)1;

		assert_int_equal(tls_cert_extract(bes[i], pem, "colour", &out, &e), -1);
		assert_null(out);
		assert_string_equal(e.text, "unknown certificate field \"colour\"");
		assert_int_equal(tls_cert_extract(bes[i], "not a certificate", "subject", &out, &e),
		                 -1);
		assert_string_equal(e.text, "not a PEM certificate");
		assert_int_equal(tls_cert_extract(bes[i], pem, "subj_altname,uri", &out, &e), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl),
		cmocka_unit_test(test_gnutls),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
