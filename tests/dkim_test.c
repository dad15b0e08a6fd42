/*
 * dkim_test.c - server/dkim.c without DNS: sign with dkimv_sign() and
 * verify with dkimv_verify() against keys answered from memory (pass,
 * body and header changed, no key, a key lookup that fails temporarily,
 * expired x=), the best-signature rule, the words, the
 * Authentication-Results item; and dmarc_authors.c's From: domain rules
 * (RFC 7489 6.6.1).  The policy rules are the DMARC suite's (conformance/dmarc/).
 * The keys are minted afresh by pki_dkim_mint() (lib/pki_dkim.c), as
 * bin/runtest mints its own, and published with pki_dkim_record().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkim.h"
#include "dmarc.h"
#include "pki.h"
#include "testutil.h"

#define NOW 1767225600

static const char msg[] = "From: Alice <alice@sender.test>\r\n"
                          "To: bob@example.test\r\n"
                          "Subject: unit\r\n"
                          "\r\n"
                          "body\r\n";

/* The key record, or a temporary failure when NULL. */
static const char *key_record;
/* Where setup() minted the keys, and the RSA-2048 key's record. */
static char keydir[] = "/tmp/dkim_test.XXXXXX";
static char pubrec[1024];

static enum txtlookup_status
lookup(void *arg, const char *name, struct strlist *out)
{
	(void)arg;
	if (strcmp(name, "sel._domainkey.sender.test") != 0)
		return TXTLOOKUP_NONE;
	if (key_record == NULL)
		return TXTLOOKUP_TEMPFAIL;
	return strlist_push(out, key_record) == 0 ? TXTLOOKUP_FOUND : TXTLOOKUP_TEMPFAIL;
}

static char *
signed_msg(const char *text, long expire)
{
	char path[300], *key, *sig, *out;

	snprintf(path, sizeof path, "%s/dkim-rsa2048.key", keydir);
	key = test_slurp(path);
	struct dkimv_sign_opts o = { .domain = "sender.test",
		                     .selector = "sel",
		                     .key_pem = key,
		                     .algo = "rsa-sha256",
		                     .now = NOW,
		                     .expire_after = expire };
	struct err e = { 0 };

	sig = dkimv_sign(text, strlen(text), &o, &e);
	assert_non_null(sig);
	assert_true(asprintf(&out, "%s%s", sig, text) > 0);
	free(sig);
	free(key);
	return out;
}

static void
verify(const char *m, struct dkimv_result *r)
{
	struct err e = { 0 };

	assert_int_equal(dkimv_verify(m, strlen(m), lookup, NULL, NOW, r, &e), 0);
}

static void
test_pass_and_failures(void **state)
{
	struct dkimv_result r = { 0 };
	char *m = signed_msg(msg, 0), *changed;
	struct buf b = { 0 };

	(void)state;
	key_record = pubrec;
	verify(m, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.sigs[0].status, DKIMV_PASS);
	assert_string_equal(r.sigs[0].domain, "sender.test");
	assert_string_equal(r.sigs[0].algo, "rsa-sha256");
	dkimv_authres_append(&b, &r);
	assert_string_equal(b.p,
	                    "; dkim=pass header.d=sender.test header.s=sel header.a=rsa-sha256");
	buf_free(&b);
	dkimv_result_free(&r);

	/* RFC 6376 3.7: the body hash. */
	changed = strdup(m);
	memcpy(strstr(changed, "\r\nbody") + 2, "BODY", 4);
	verify(changed, &r);
	assert_int_equal(r.sigs[0].status, DKIMV_FAIL);
	assert_int_equal(r.sigs[0].reason, DKIMV_REASON_BODYHASH_MISMATCH);
	dkimv_result_free(&r);
	/* A signed header. */
	memcpy(strstr(changed, "Subject: unit") + 9, "UNIT", 4);
	memcpy(strstr(changed, "\r\nBODY") + 2, "body", 4);
	verify(changed, &r);
	assert_int_equal(r.sigs[0].status, DKIMV_FAIL);
	assert_int_equal(r.sigs[0].reason, DKIMV_REASON_SIGNATURE_INCORRECT);
	dkimv_result_free(&r);
	free(changed);

	/* RFC 6376 6.1.2: no key is PERMFAIL, a failed lookup TEMPFAIL. */
	key_record = "v=spf1 -all";
	verify(m, &r);
	assert_int_equal(r.sigs[0].status, DKIMV_INVALID);
	assert_string_equal(dkimv_authres_word(&r.sigs[0]), "permerror");
	dkimv_result_free(&r);
	key_record = NULL;
	verify(m, &r);
	assert_int_equal(r.sigs[0].status, DKIMV_INVALID);
	assert_int_equal(r.sigs[0].temperror, 1);
	assert_string_equal(dkimv_authres_word(&r.sigs[0]), "temperror");
	dkimv_result_free(&r);
	free(m);

	/* RFC 6376 3.5: x= in the past. */
	key_record = pubrec;
	m = signed_msg(msg, -60);
	verify(m, &r);
	assert_int_equal(r.sigs[0].status, DKIMV_INVALID);
	assert_int_equal(r.sigs[0].reason, DKIMV_REASON_SIGNATURE_EXPIRED);
	dkimv_result_free(&r);
	free(m);
}

static void
test_no_signature_and_words(void **state)
{
	struct dkimv_result r = { 0 };
	struct buf b = { 0 };
	enum dkimv_status s;

	(void)state;
	verify(msg, &r);
	assert_int_equal(r.n, 0);
	assert_null(dkimv_result_best(&r));
	dkimv_authres_append(&b, &r);
	assert_string_equal(b.p, "; dkim=none");
	buf_free(&b);
	assert_int_equal(dkimv_status_parse("invalid", &s), 0);
	assert_int_equal(s, DKIMV_INVALID);
	assert_int_equal(dkimv_status_parse("temperror", &s), -1);
	assert_string_equal(dkimv_reason_word(DKIMV_REASON_PUBKEY_UNAVAILABLE),
	                    "pubkey_unavailable");
}

static void
test_from_domain(void **state)
{
	static const struct {
		const char *hdrs, *domain; /* NULL: none */
	} rows[] = {
		{ "From: a@Example.TEST\r\n\r\n", "example.test" },
		{ "From: \"x@other.test\" <a@example.test>\r\n\r\n", "example.test" },
		{ "From: Alice\r\n <a@example.test.>\r\n\r\n", "example.test" },
		{ "From: a@example.test (a comment @other.test)\r\n\r\n", "example.test" },
		{ "From: a@example.test, b@example.test\r\n\r\n", "example.test" },
		{ "From: a@example.test, b@other.test\r\n\r\n", NULL },
		{ "From: a@example.test\r\nFrom: a@example.test\r\n\r\n", NULL },
		{ "To: a@example.test\r\n\r\n", NULL },
		{ "From: a@[192.0.2.1]\r\n\r\n", NULL },
		{ "From: nobody\r\n\r\n", NULL },
		{ "Subject: x\r\n\r\nFrom: a@example.test\r\n", NULL }, /* in the body */
	};
	char dom[256], why[128];

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int rc = dmarc_from_domain(rows[i].hdrs, strlen(rows[i].hdrs), dom, sizeof dom, why,
		                           sizeof why);
		if (rows[i].domain == NULL) {
			if (rc != -1)
				fail_msg("row %zu: got %s, want none", i, dom);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(dom, rows[i].domain);
		}
	}
}

/* RFC 7489 6.6.1: every distinct author domain, in order, once each. */
static void
test_from_domains(void **state)
{
	static const struct {
		const char *hdrs, *domains; /* ":"-joined; NULL: none */
	} rows[] = {
		{ "From: a@example.test\r\n\r\n", "example.test" },
		{ "From: a@example.test, b@other.test\r\n\r\n", "example.test:other.test" },
		{ "From: b@Other.test, a@example.test, c@OTHER.TEST\r\n\r\n",
		  "other.test:example.test" },
		{ "From: a@example.test, B <b@example.test>\r\n\r\n", "example.test" },
		{ "From: Team: a@x.test, b@y.test;, c@z.test\r\n\r\n", "x.test:y.test:z.test" },
		{ "From: \"c@q.test, d@r.test\" <a@example.test>\r\n\r\n", "example.test" },
		{ "From: a@example.test, nobody\r\n\r\n", NULL },
		{ "From: a@example.test\r\nFrom: b@other.test\r\n\r\n", NULL },
		{ "From: undisclosed-recipients:;\r\n\r\n", NULL },
		{ "From: a@1.test, a@2.test, a@3.test, a@4.test, a@5.test, a@6.test, a@7.test, "
		  "a@8.test, a@9.test, a@10.test, A@1.TEST\r\n\r\n",
		  "1.test:2.test:3.test:4.test:5.test:6.test:7.test:8.test:9.test:10.test" },
		{ "From: a@1.test, a@2.test, a@3.test, a@4.test, a@5.test, a@6.test, a@7.test, "
		  "a@8.test, a@9.test, a@10.test, a@11.test\r\n\r\n",
		  NULL }, /* DMARC_AUTHORS_MAX */
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct strlist doms = { 0 };
		char got[256] = "";
		int rc = dmarc_from_domains(rows[i].hdrs, strlen(rows[i].hdrs), &doms, why,
		                            sizeof why);

		for (size_t j = 0, n = 0; j < doms.n; j++)
			n += (size_t)snprintf(got + n, sizeof got - n, "%s%s", j ? ":" : "",
			                      doms.v[j]);
		if (rows[i].domains == NULL) {
			if (rc != -1 || doms.n != 0)
				fail_msg("row %zu: got %s, want none", i, got);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(got, rows[i].domains);
		}
		strlist_free(&doms);
	}
	/* The order of strictness (docs/dmarc.md). */
	assert_true(dmarc_status_strictness(DMARC_REJECT) >
	            dmarc_status_strictness(DMARC_TEMPERROR));
	assert_true(dmarc_status_strictness(DMARC_TEMPERROR) >
	            dmarc_status_strictness(DMARC_QUARANTINE));
	assert_true(dmarc_status_strictness(DMARC_QUARANTINE) >
	            dmarc_status_strictness(DMARC_NONE));
	assert_true(dmarc_status_strictness(DMARC_NONE) > dmarc_status_strictness(DMARC_ACCEPT));
	assert_true(dmarc_status_strictness(DMARC_ACCEPT) >
	            dmarc_status_strictness(DMARC_NORECORD));
}

/* Each minted key's record: RSA p= is the base64 SubjectPublicKeyInfo
 * (RFC 6376 3.6.1: 1024 bits make 216 characters, 2048 make 392), Ed25519
 * p= the raw 32-octet key (RFC 8463 4.2: 44 characters). */
static void
test_minted_records(void **state)
{
	static const struct {
		const char *file, *kind;
		size_t plen;
	} rows[] = {
		{ "dkim-rsa2048.key", "rsa", 392 },
		{ "dkim-rsa1024.key", "rsa", 216 },
		{ "dkim-ed25519.key", "ed25519", 44 },
		{ "dkim-other.key", "rsa", 392 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char path[300], want[64], *rec;
		struct err e = { 0 };
		snprintf(path, sizeof path, "%s/%s", keydir, rows[i].file);
		rec = pki_dkim_record(path, &e);
		assert_non_null(rec);
		snprintf(want, sizeof want, "v=DKIM1; k=%s; p=", rows[i].kind);
		assert_memory_equal(rec, want, strlen(want));
		assert_int_equal(strlen(rec) - strlen(want), rows[i].plen);
		if (i == 3) /* the "wrong key" differs from the published one */
			assert_string_not_equal(rec, pubrec);
		free(rec);
	}
}

static int
setup(void **state)
{
	char path[300], *rec;
	struct err e = { 0 };

	(void)state;
	if (mkdtemp(keydir) == NULL || pki_dkim_mint(keydir, &e) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/dkim-rsa2048.key", keydir);
	if ((rec = pki_dkim_record(path, &e)) == NULL)
		return -1;
	snprintf(pubrec, sizeof pubrec, "%s", rec);
	free(rec);
	return 0;
}

static int
teardown(void **state)
{
	static const char *files[] = { "dkim-rsa2048.key", "dkim-rsa1024.key", "dkim-ed25519.key",
		                       "dkim-other.key" };
	char path[300];

	(void)state;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", keydir, files[i]);
		(void)unlink(path);
	}
	return rmdir(keydir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_and_failures),
		cmocka_unit_test(test_no_signature_and_words),
		cmocka_unit_test(test_from_domain),
		cmocka_unit_test(test_from_domains),
		cmocka_unit_test(test_minted_records),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
