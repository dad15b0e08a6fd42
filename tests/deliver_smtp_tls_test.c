/*
 * deliver_smtp_tls_test.c - server/deliver_smtp_tls.c on both TLS backends
 * against a scripted SMTP server (tests/deliver_smtp_testlib.h): STARTTLS,
 * the verification policy (chain, name, tls_verify_hosts and
 * tls_try_verify_hosts), TLS required, a failed handshake tried again in
 * clear, SNI, and a TLS connection kept for the next message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "deliver_smtp_testlib.h"

/* ---- TLS ---------------------------------------------------------------------------- */

struct tls_case {
	const char *name;
	const char *cert;           /* server certificate stem */
	const char *host;           /* route_host.name */
	const char *verify_hosts;   /* tls_verify_hosts, or NULL for "" */
	const char *cert_hostnames; /* tls_verify_cert_hostnames, or NULL for "*" */
	int delivered;
	int cv;
	const char *reason; /* cv_reason, or the error when not delivered */
	int no_ca;          /* tls_verify_certificates unset */
};

static const struct tls_case tls_cases[] = {
	{ "verified", "mx-rsa", "mx.example.test", "127.0.0.1", NULL, 1, 1, "", 0 },
	{ "unknown CA, try-verify", "unrelated", "mx.example.test", NULL, NULL, 1, 0, "unknown-ca",
	  0 },
	{ "unknown CA, verify", "unrelated", "mx.example.test", "127.0.0.1", NULL, 0, 0,
	  "TLS session: certificate verification failed: unknown-ca", 0 },
	{ "name mismatch, try-verify", "mx-rsa", "mx.partner.test", NULL, NULL, 1, 0,
	  "name-mismatch", 0 },
	{ "name mismatch, verify", "mx-rsa", "mx.partner.test", "*", NULL, 0, 0,
	  "TLS session: certificate verification failed: name-mismatch", 0 },
	{ "name not checked", "mx-rsa", "mx.partner.test", "*", "10.0.0.1", 1, 1, "", 0 },
	{ "wildcard", "wildcard", "mx7.wild.example.test", "*", NULL, 1, 1, "", 0 },
	{ "wildcard, two labels deep", "wildcard", "a.b.wild.example.test", NULL, NULL, 1, 0,
	  "name-mismatch", 0 },
	{ "SAN", "multisan", "mx.partner.test", "*", NULL, 1, 1, "", 0 },
	{ "no trust anchors, try-verify", "mx-rsa", "mx.example.test", NULL, NULL, 1, 0,
	  "not-checked", 1 },
	{ "no trust anchors, verify", "mx-rsa", "mx.example.test", "*", NULL, 0, 0,
	  "TLS session: certificate verification failed: not-checked", 1 },
};
#define NTLS (sizeof tls_cases / sizeof tls_cases[0])
#define NMORE 6 /* the per-backend TLS tests besides tls_cases */

struct tls_param {
	const struct tls_case *tc;
	const struct tls_backend *be;
};

static void
test_tls(void **state)
{
	const struct tls_param *p = *state;
	const struct tls_case *tc = p->tc;
	char script[1024], want[512], fields[512], *tr;
	struct srv s;
	struct job j;

	snprintf(
	        script, sizeof script,
	        GREET
	        "S 250-mx|250-PIPELINING|250 STARTTLS\nR\nS 220 go ahead\nT %s\n"
	        "R\nS 250-mx|250 PIPELINING\nR4\nS 250 ok|250 ok|250 ok|354 go\nD\nS 250 ok\n" QUIT,
	        tc->cert);
	srv_start(&s, script, p->be);
	job_init(&j, s.port);
	j.be = p->be;
	j.hosts[0].name = (char *)tc->host;
	if (tc->verify_hosts != NULL)
		j.t.tls_verify_hosts = (char *)tc->verify_hosts;
	if (tc->cert_hostnames != NULL)
		j.t.tls_verify_cert_hostnames = (char *)tc->cert_hostnames;
	if (tc->no_ca)
		j.t.tls_verify_certificates = NULL;
	job_run(&j);
	tr = srv_finish(&s);
	/* A host abandoned for its certificate gets QUIT inside TLS (RFC 3207 4.1). */
	snprintf(want, sizeof want, "C: STARTTLS\n-- tls sni=%s\n%s", tc->host,
	         tc->delivered ? "C: EHLO client.test\n" : "C: QUIT\n");
	assert_contains(tr, want);
	if (tc->delivered) {
		const struct smtp_host_facts *h = &j.res[0].host;
		assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
		assert_int_equal(h->tls, 1);
		assert_int_equal(h->cv, tc->cv);
		assert_string_equal(h->cv_reason, tc->reason);
		assert_true(strncmp(h->tls_version, "TLSv1.", 6) == 0);
		assert_true(strncmp(h->tls_cipher, "TLS_", 4) == 0);
		smtp_host_log_fields(h, fields, sizeof fields);
		if (tc->cv)
			snprintf(want, sizeof want, "H=%s [127.0.0.1]:%u X=%s:%s CV=yes", tc->host,
			         s.port, h->tls_version, h->tls_cipher);
		else
			snprintf(want, sizeof want, "H=%s [127.0.0.1]:%u X=%s:%s CV=no (%s)",
			         tc->host, s.port, h->tls_version, h->tls_cipher, tc->reason);
		assert_string_equal(fields, want);
		assert_string_equal(j.log, "");
	} else {
		assert_int_equal(j.res[0].outcome, SMTP_RCPT_DEFERRED);
		assert_string_equal(j.res[0].error, tc->reason);
		snprintf(want, sizeof want, "T-000001 H=%s [127.0.0.1]:%u: %s\n", tc->host, s.port,
		         tc->reason);
		assert_contains(j.log, want);
		/* The host was abandoned right after the handshake. */
		assert_null(strstr(tr, "MAIL FROM"));
	}
	free(tr);
	job_free(&j);
}

static void
test_tls_required_not_offered(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr, want[300];

	srv_start(&s, GREET "S 250-mx|250 PIPELINING\n" QUIT, be);
	job_init(&j, s.port);
	j.be = be;
	j.t.hosts_require_tls = "127.0.0.0/8";
	job_run(&j);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\nC: QUIT\n");
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DEFERRED);
	assert_string_equal(j.res[0].error, "TLS required but not offered");
	snprintf(want, sizeof want,
	         "T-000001 H=mx.partner.test [127.0.0.1]:%u: TLS required but not offered\n",
	         s.port);
	assert_string_equal(j.log + 20, want);
	free(tr);
	job_free(&j);
}

/* A handshake that fails: again in clear, without STARTTLS, and no SNI unset. */
static void
test_tls_tryclear(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s,
	          GREET "S 250-mx|250 STARTTLS\nR\nS 220 go ahead\nC\n" GREET
	                "S 250-mx|250-PIPELINING|250 STARTTLS\nR4\nS 250 ok|250 ok|250 ok|354 "
	                "go\nD\nS 250 ok\n" QUIT,
	          be);
	job_init(&j, s.port);
	j.be = be;
	job_run(&j);
	tr = srv_finish(&s);
	assert_contains(tr, "C: STARTTLS\n-- close\n-- accept\nC: EHLO client.test\nC: MAIL FROM:");
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[0].host.tls, 0);
	assert_contains(j.log, "TLS session: handshake failed");
	free(tr);
	job_free(&j);
}

/* STARTTLS refused (454) on a host that must use TLS: next host, here none. */
static void
test_tls_required_refused(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s, GREET "S 250-mx|250 STARTTLS\nR\nS 454 4.7.0 TLS not available\n" QUIT, be);
	job_init(&j, s.port);
	j.be = be;
	j.t.hosts_require_tls = "*";
	j.t.tls_sni = NULL;
	job_run(&j);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\nC: STARTTLS\nC: QUIT\n");
	assert_rcpt(&j.res[0], SMTP_RCPT_DEFERRED, "4.7.0", "454 4.7.0 TLS not available",
	            "after STARTTLS");
	free(tr);
	job_free(&j);
}

static void
test_tls_no_sni(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s,
	          GREET "S 250-mx|250 STARTTLS\nR\nS 220 go ahead\nT mx-rsa\n"
	                "R\nS 250 mx\nR\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\nS 250 "
	                "ok\n" QUIT,
	          be);
	job_init(&j, s.port);
	j.be = be;
	j.hosts[0].name = "mx.example.test";
	j.t.tls_sni = NULL;
	job_run(&j);
	tr = srv_finish(&s);
	assert_contains(tr, "-- tls sni=\nC: EHLO client.test\nC: MAIL FROM:<alice@client.test>\n");
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[0].host.cv, 1);
	free(tr);
	job_free(&j);
}

/* A session kept over TLS carries the next message, still over TLS. */
static void
test_tls_cache(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s,
	          GREET "S 250-mx|250 STARTTLS\nR\nS 220 go ahead\nT mx-rsa\nR\nS 250-mx|250 "
	                "PIPELINING\n" ONE_MSG ONE_MSG QUIT,
	          be);
	job_init(&j, s.port);
	j.be = be;
	j.hosts[0].name = "mx.example.test";
	j.nrcpts = 1;
	j.cache = smtp_cache_new();
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[0].host.tls, 1);
	assert_int_equal(j.res[0].host.cv, 1);
	smtp_cache_close_all(j.cache);
	tr = srv_finish(&s);
	assert_contains(tr, "-- tls sni=mx.example.test\nC: EHLO client.test\n"
	                    "C: MAIL FROM:<alice@client.test>\nC: RCPT TO:<bob@partner.test>\nC: "
	                    "DATA\n" MSG_STUFFED "C: MAIL FROM:<alice@client.test>\nC: RCPT "
	                    "TO:<bob@partner.test>\nC: DATA\n" MSG_STUFFED "C: QUIT\n");
	free(tr);
	job_free(&j);
}

/* A host in neither tls_verify_hosts nor tls_try_verify_hosts: the
 * certificate is not checked, and delivery goes on with CV=no (not-checked). */
static void
test_tls_not_verified(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s,
	          GREET "S 250-mx|250-PIPELINING|250 STARTTLS\nR\nS 220 go ahead\nT mx-rsa\n"
	                "R\nS 250-mx|250 PIPELINING\nR4\nS 250 ok|250 ok|250 ok|354 go\nD\n"
	                "S 250 ok\n" QUIT,
	          be);
	job_init(&j, s.port);
	j.be = be;
	j.hosts[0].name = "mx.example.test";
	j.t.tls_try_verify_hosts = "10.0.0.1";
	job_run(&j);
	tr = srv_finish(&s);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[0].host.tls, 1);
	assert_int_equal(j.res[0].host.cv, 0);
	assert_string_equal(j.res[0].host.cv_reason, "not-checked");
	free(tr);
	job_free(&j);
}

int
main(void)
{
	static struct tls_param tparams[2 * NTLS];
	struct CMUnitTest tests[2 * NTLS + 2 * NMORE];
	static char names[2 * NTLS + 2 * NMORE][160];
	static const struct {
		const char *what;
		void (*fn)(void **);
	} more[] = {
		{ "TLS required but not offered", test_tls_required_not_offered },
		{ "handshake failure, again in clear", test_tls_tryclear },
		{ "TLS required, STARTTLS refused", test_tls_required_refused },
		{ "no SNI", test_tls_no_sni },
		{ "connection kept for the next message", test_tls_cache },
		{ "neither verify nor try-verify: not checked", test_tls_not_verified },
	};
	size_t n = 0;

	_Static_assert(sizeof more / sizeof more[0] == NMORE, "NMORE");
	for (size_t b = 0; b < 2; b++) {
		for (size_t i = 0; i < NTLS; i++, n++) {
			tparams[b * NTLS + i] = (struct tls_param){ &tls_cases[i], backends[b] };
			snprintf(names[n], sizeof names[n], "tls %s: %s", backends[b]->name,
			         tls_cases[i].name);
			tests[n] = (struct CMUnitTest){ .name = names[n],
				                        .test_func = test_tls,
				                        .initial_state = &tparams[b * NTLS + i] };
		}
		for (size_t i = 0; i < NMORE; i++, n++) {
			snprintf(names[n], sizeof names[n], "tls %s: %s", backends[b]->name,
			         more[i].what);
			tests[n] = (struct CMUnitTest){ .name = names[n],
				                        .test_func = more[i].fn,
				                        .initial_state = (void *)backends[b] };
		}
	}
	return dst_run_group("deliver_smtp_tls", tests, n);
}
