/*
 * html_test.c - the teaching view's pure parts (runtest/html*.c,
 * docs/teaching.md): the DER reader on a real certificate of the test PKI
 * and on every truncation of it, the facts line split back into fields,
 * a transcript drawn as a chart (lanes, arrows, merged replies, DNS badges,
 * TLS blocks, the list in words), the line diff, and HTML escaping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../runtest/html.h"
#include "../runtest/html_cert.h"
#include "testutil.h"

/* The first certificate of a PEM file, as DER (a small base64 decoder). */
static unsigned char *
pem_first_der(const char *path, size_t *len)
{
	char *pem = test_slurp(path);
	const char *p = strstr(pem, "-----BEGIN CERTIFICATE-----");
	unsigned char *der = malloc(strlen(pem));
	unsigned acc = 0;
	int bits = 0;

	assert_non_null(p);
	assert_non_null(der);
	*len = 0;
	for (p += 27; *p && *p != '-'; p++) {
		const char *tab =
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *at = *p ? strchr(tab, *p) : NULL;
		if (at == NULL)
			continue;
		acc = acc << 6 | (unsigned)(at - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			der[(*len)++] = (unsigned char)(acc >> bits);
		}
	}
	free(pem);
	return der;
}

static char *
pki_path(const char *file)
{
	static char path[4096];
	const char *dir = getenv("REFMTA_PKI");
	snprintf(path, sizeof path, "%s/%s", dir ? dir : "build/pki", file);
	return path;
}

static void
test_cert_describe(void **state)
{
	size_t len;
	unsigned char *der = pem_first_der(pki_path("mx-rsa.pem"), &len);
	struct buf b = { 0 };
	struct html_cert_fields f;

	(void)state;
	html_cert_describe(der, len, &b);
	assert_non_null(b.p);
	assert_non_null(strstr(b.p, "subject=CN=mx.example.test issuer="));
	assert_non_null(strstr(b.p, "Intermediate"));
	assert_non_null(strstr(b.p, " dns=mx.example.test"));
	assert_non_null(strstr(b.p, " notbefore=20"));
	/* The facts line splits back into its fields, spaces in values kept. */
	char *line = NULL;
	assert_true(asprintf(&line, "cert 0 %s", b.p) > 0);
	assert_int_equal(html_cert_parse(line, strlen(line), &f), 0);
	assert_string_equal(f.subject, "CN=mx.example.test");
	assert_non_null(strstr(f.issuer, "Test Intermediate"));
	assert_string_equal(f.dns, "mx.example.test");
	assert_int_equal(strlen(f.notafter), 20); /* 2027-03-06T08:27:37Z */
	assert_int_equal(html_cert_parse("handshake x", 11, &f), -1);
	free(line);
	buf_free(&b);
	free(der);
}

/* Every truncation is read within its bounds and said to be unparsed. */
static void
test_cert_truncated(void **state)
{
	size_t len;
	unsigned char *der = pem_first_der(pki_path("mx-ecdsa.pem"), &len);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		unsigned char *cut = malloc(n ? n : 1);
		struct buf b = { 0 };
		assert_non_null(cut);
		memcpy(cut, der, n);
		html_cert_describe(cut, n, &b);
		assert_non_null(b.p);
		/* Cut inside the outer SEQUENCE: the lengths do not fit. */
		assert_non_null(strstr(b.p, "unparsed"));
		buf_free(&b);
		free(cut);
	}
	free(der);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_chart(void **state)
{
	struct peer_spec peers[1] = { { .name = "mx1" } };
	struct text_section zones[1] = { { .name = "partner.test" } };
	struct scenario s = { .peers = peers, .npeers = 1, .zones = zones, .nzones = 1 };
	const char *t = "C: (connect)\n"
	                "S: 220 mx.example.test ESMTP\n"
	                "C: EHLO a.test\n"
	                "S: 250-mx.example.test\n"
	                "S: 250-PIPELINING\n"
	                "S: 250 STARTTLS\n"
	                "C: STARTTLS\n"
	                "S: 220 go\n"
	                "T: TLSv1.3 TLS_AES_256_GCM_SHA384 key=RSA verify=ok\n"
	                "Q: queue-run\n"
	                "L: 2026-01-01 00:00:00 T-000001 <= a@b.test\n"
	                "D: MX partner.test secure: 10 mx1.partner.test\n"
	                "D: A mx1.partner.test bogus: validation failure\n"
	                "P: mx1 - (connection)\n"
	                "P: mx1 - (TLS TLSv1.3 TLS_AES_256_GCM_SHA384, sni none, staple not sent)\n"
	                "P: mx1 > 250-mx1\n"
	                "P: mx1 > 250 OK\n"
	                "P: mx1 < QUIT\n";
	const char *facts = "handshake client=gnutls result=done version=TLSv1.3 cipher=X "
	                    "group=X25519 sni=- verify=ok detail=ok\n"
	                    "cert 0 subject=CN=mx.example.test issuer=CN=Inter CA "
	                    "notbefore=2026-01-01T00:00:00Z notafter=2026-04-01T00:00:00Z "
	                    "dns=mx.example.test\n";
	const char *peer_certs = "peer mx1 @PKI@/unrelated.pem\n"
	                         "cert 0 subject=CN=mx1.partner.test issuer=CN=Unrelated CA "
	                         "notbefore=2026-01-01T00:00:00Z notafter=2026-04-01T00:00:00Z\n"
	                         "peer other @PKI@/mx-rsa.pem\n"
	                         "cert 0 subject=CN=not-this-one\n";
	struct buf b = { 0 };

	(void)state;
	struct html_run r = { .s = &s, .actual = t, .facts = facts, .peer_certs = peer_certs };
	html_chart(&b, &r, "c1");
	assert_non_null(b.p);
	/* client, refmta, mx1, fakedns */
	assert_int_equal(count(b.p, "<g class=\"lane\""), 4);
	/* connect, 220, EHLO, 250 (3 lines, one arrow), STARTTLS, 220; 2 DNS
	 * lookups x (question, answer); peer: connect, 250 (2 lines), QUIT */
	assert_int_equal(count(b.p, "<g class=\"arrow"), 6 + 4 + 3);
	assert_non_null(strstr(b.p, "data-arrows=\"13\""));
	assert_int_equal(count(b.p, "<g class=\"tls\""), 2);
	/* The peer's block says what it presents, and only its own chain. */
	assert_non_null(
	        strstr(b.p, "presents depth 0: CN=mx1.partner.test, issued by CN=Unrelated CA"));
	assert_null(strstr(b.p, "not-this-one"));
	assert_non_null(strstr(b.p, "depth 0: CN=mx.example.test, issued by CN=Inter CA"));
	assert_non_null(strstr(b.p, "class=\"badge secure\""));
	assert_non_null(strstr(b.p, "class=\"badge bogus\""));
	assert_non_null(strstr(b.p, "(+2)"));
	/* The log line without the frozen clock's time stamp. */
	assert_non_null(strstr(b.p, ">T-000001 &lt;= a@b.test"));
	/* The text alternative: as many list items as events. */
	assert_non_null(strstr(b.p, "role=\"img\""));
	assert_int_equal(count(b.p, "<li>"), 13 + 2 + 2 + 1); /* + TLS x2, Q and L notes, heading */
	buf_free(&b);
}

/* The fakeocsp lane (docs/teaching.md) and a DANE match block. */
static void
test_chart_ocsp_dane(void **state)
{
	char *addr[] = { "address = 127.0.0.2", "tls = @PKI@/other-rsa.pem @PKI@/other-rsa.key" };
	char *addr20[] = { "address = 127.0.0.20" }; /* not the peer at 127.0.0.2 */
	struct peer_spec peers[2] = { { .name = "mail", .lines = { addr, 2 } },
		                      { .name = "decoy", .lines = { addr20, 1 } } };
	struct text_section zones[1] = { { .name = "other.test" } };
	struct scenario s = { .peers = peers, .npeers = 2, .zones = zones, .nzones = 1 };
	const char *t =
	        "K: ocsp-serve garbage (responder started)\n"
	        "K: ocsp-fetch\n"
	        "K: ocsp-fetch: @WORK@/ocsp/mx.der: kept: malformed\n"
	        "K: (exit 2)\n"
	        "K: ocsp-stop (responder stopped)\n"
	        "K: ocsp-fetch --timeout 1\n"
	        "K: ocsp-fetch: @WORK@/ocsp/mx.der: kept: cannot connect\n"
	        "D: TLSA _PORT._tcp.mail.other.test secure: 3 1 1 (hex), 2 1 1 (hex)\n"
	        "L: 2026-01-01 00:00:00 T-000001 H=mail.other.test [127.0.0.2]:PORT: DANE: TLSA "
	        "2 1 1 (usable record 2 of 2) matched at depth 1 (DANE-TA: the trust anchor, in "
	        "the server's chain)\n";
	const char *ocsp = "fetch\n"
	                   "serial=6080657B870D4A25 status=garbage fault=garbage nonce=yes "
	                   "method=POST\n"
	                   "fetch\n";
	const char *peer_certs = "peer mail @PKI@/other-rsa.pem\n"
	                         "cert 0 subject=CN=mail.other.test issuer=CN=Inter CA "
	                         "dns=mail.other.test\n"
	                         "cert 1 subject=CN=Inter CA issuer=CN=Root CA\n";
	struct html_run r = { .s = &s, .actual = t, .peer_certs = peer_certs, .ocsp = ocsp };
	struct buf b = { 0 };

	(void)state;
	html_chart(&b, &r, "c2");
	assert_non_null(b.p);
	/* client, refmta, mail, decoy, fakedns, fakeocsp */
	assert_non_null(strstr(b.p, "data-lanes=\"6\""));
	assert_non_null(strstr(b.p, ">fakeocsp</text>"));
	/* the request and its answer; the second fetch reached nobody; the TLSA question and answer
	 */
	assert_non_null(strstr(b.p, "data-arrows=\"4\""));
	assert_non_null(strstr(b.p, "OCSP request (POST) serial 6080657B870D4A25, nonce"));
	assert_non_null(strstr(b.p, "garbage (fault garbage)"));
	assert_int_equal(count(b.p, "(no request reached fakeocsp)"), 3); /* title, label, list */
	/* The DANE block: the record in words, the certificate at depth 1, the leaf. */
	assert_int_equal(count(b.p, "<g class=\"tls\""), 1);
	assert_non_null(strstr(b.p, "TLS handshake, refmta with mail: <code>DANE: TLSA 2 1 1"));
	assert_non_null(strstr(b.p, "selector SPKI(1): its public key only"));
	assert_non_null(
	        strstr(b.p, "depth 1, as mail presents it: CN=Inter CA, issued by CN=Root CA"));
	assert_non_null(strstr(b.p,
	                       "DANE-TA checks (RFC 7672 3.2.2): CN=mail.other.test, DNS names "
	                       "mail.other.test"));
	buf_free(&b);
	/* The page's "How DANE decided": the TLSA answer and refmta's DANE line, not the rest. */
	html_dane_explain(&b, t);
	assert_non_null(b.p);
	assert_non_null(strstr(b.p, "How DANE decided"));
	assert_non_null(strstr(b.p, "D: TLSA _PORT._tcp.mail.other.test secure: 3 1 1 (hex)"));
	assert_non_null(strstr(b.p, "DANE: TLSA 2 1 1 (usable record 2 of 2) matched at depth 1"));
	assert_null(strstr(b.p, "ocsp-fetch"));
	buf_free(&b);
	html_dane_explain(&b, "C: (connect)\nS: 220 mx ESMTP\n");
	assert_null(b.p);
}

static void
test_diff(void **state)
{
	struct buf b = { 0 };

	(void)state;
	html_diff(&b, "a\nsame\nold\nend\n", "openssl", "a\nsame\nnew\nextra\nend\n", "gnutls");
	assert_non_null(b.p);
	assert_int_equal(count(b.p, "<del>"), 1);
	assert_int_equal(count(b.p, "<ins>"), 2);
	assert_non_null(strstr(b.p, "<del><span class=\"who\">openssl</span> old</del>"));
	assert_non_null(strstr(b.p, "<ins><span class=\"who\">gnutls</span> extra</ins>"));
	assert_int_equal(count(b.p, "<span>"), 3); /* a, same, end */
	buf_free(&b);
}

static void
test_escape(void **state)
{
	struct buf b = { 0 };

	(void)state;
	html_esc(&b, "<a href=\"x\">&</a>", (size_t)-1);
	assert_string_equal(b.p, "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
	buf_free(&b);
	html_esc(&b, "abcdef", 3);
	assert_string_equal(b.p, "abc");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_describe), cmocka_unit_test(test_cert_truncated),
		cmocka_unit_test(test_chart),         cmocka_unit_test(test_chart_ocsp_dane),
		cmocka_unit_test(test_diff),          cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
