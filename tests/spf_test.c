/*
 * spf_test.c - the SPF module's own rules (server/spf*.c) without DNS:
 * result words (the seed's older names too), the name and domain-spec
 * rules refmta adds to libspf2 (RFC 1035, RFC 7208 4.3, 7.1), escaping,
 * Received-SPF's key=value form, the ACL condition's list semantics over
 * a verdict, and the Authentication-Results item.  check_host() itself
 * is tested through fakedns by the RFC 7208 suite (tests/e2e/spf_suite.py)
 * and the scenarios in scenarios/spf/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "config.h"
#include "spf.h"
#include "spf_int.h"

static void
test_result_words(void **state)
{
	static const char *const words[] = { "none",     "neutral",   "pass",     "fail",
		                             "softfail", "temperror", "permerror" };
	enum spf_result r;

	(void)state;
	for (int i = 0; i < 7; i++) {
		assert_string_equal(spf_result_word((enum spf_result)i), words[i]);
		assert_int_equal(spf_result_parse(words[i], &r), 0);
		assert_int_equal(r, i);
	}
	/* The seed's older names; its text swaps them, Exim's code does not. */
	assert_int_equal(spf_result_parse("err_perm", &r), 0);
	assert_int_equal(r, SPF_PERMERROR);
	assert_int_equal(spf_result_parse("err_temp", &r), 0);
	assert_int_equal(r, SPF_TEMPERROR);
	assert_int_equal(spf_result_parse("Pass", &r), -1);
	assert_int_equal(spf_result_parse("unknown", &r), -1);
	assert_int_equal(spf_result_parse("", &r), -1);
}

static void
test_name_rules(void **state)
{
	char big[300];

	(void)state;
	assert_true(dns_name_valid("example.test"));
	assert_true(dns_name_valid("example.test."));
	assert_false(dns_name_valid("a..example.test")); /* empty label */
	assert_false(dns_name_valid(".example.test"));
	assert_false(dns_name_valid(""));
	memset(big, 'a', 64);
	strcpy(big + 64, ".test");
	assert_false(dns_name_valid(big)); /* a 64-octet label */
	big[1] = '.';
	assert_true(dns_name_valid(big));
	/* RFC 7208 7.1 domain-end */
	assert_true(spf_domain_end_valid("mail.example.com"));
	assert_true(spf_domain_end_valid("foo:bar/baz.example.com"));
	assert_true(spf_domain_end_valid("example.xn--zckzah"));
	assert_true(spf_domain_end_valid("example.com."));
	assert_false(spf_domain_end_valid("com"));           /* one label */
	assert_false(spf_domain_end_valid("111.222.33.44")); /* numeric toplabel */
	assert_false(spf_domain_end_valid("example.-com"));
	assert_false(spf_domain_end_valid("example.com-"));
	assert_false(spf_domain_end_valid(""));
}

static void
test_record_targets(void **state)
{
	(void)state;
	assert_true(spf_record_targets_valid("v=spf1 a:mail.example.com mx/24 -all"));
	assert_true(spf_record_targets_valid("v=spf1 a:foo:bar/baz.example.com"));
	assert_true(spf_record_targets_valid("v=spf1 a:example.com/24//64 -all"));
	assert_true(spf_record_targets_valid("v=spf1 a:%{H} -all")); /* ends in a macro */
	assert_true(spf_record_targets_valid("v=spf1 exists:%{i}.bl.%{d} -all"));
	assert_true(spf_record_targets_valid("hello world")); /* not SPF: not judged */
	assert_false(spf_record_targets_valid("v=spf1 a:111.222.33.44"));
	assert_false(spf_record_targets_valid("v=spf1 a:"));
	assert_false(spf_record_targets_valid("v=spf1 -mx:example.-com"));
	assert_false(spf_record_targets_valid("v=spf1 redirect=com"));
	assert_false(spf_record_targets_valid("v=spf1 -all exp="));
}

#define LINT(s) spf_record_lint(s, sizeof(s) - 1)

static void
test_record_lint(void **state)
{
	(void)state;
	assert_true(LINT("v=spf1 a mx/24 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"));
	assert_true(LINT("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all exp=why.%{d}"));
	assert_true(LINT("v=spf1 include:_spf.example.test ?all foo-bar=%%%_%-"));
	assert_true(LINT("v=spf1"));
	assert_true(LINT("not spf \x80 at all"));         /* not an SPF record: not judged */
	assert_false(LINT("v=spf1 a:foo.example.com\0")); /* a NUL: 3.1 */
	assert_false(LINT("v=spf1 a:\xef\xbb\xbfgarbage.test -all"));     /* non-ASCII */
	assert_false(LINT("v=spf1 ip4:1.2.3.4 redirect:t2.example.com")); /* 4.6.1 */
	assert_false(LINT("v=spf1 frobnicate -all"));
	assert_false(LINT("v=spf1 exp=a.test -all exp=b.test")); /* 6 */
	assert_false(LINT("v=spf1 redirect=a.test redirect=b.test"));
	assert_false(LINT("v=spf1 -all foo=%abc")); /* 7.1 */
	assert_false(LINT("v=spf1 -exists:%(ir).sbl.example.com ?all"));
	assert_false(LINT("v=spf1 exists:foo%.sbl.example.com ?all"));
	assert_false(LINT("v=spf1 -all exp=%{r}.example.com")); /* r only in exp text */
	assert_false(LINT("v=spf1 ip4:1.2.3.4/032 -all"));      /* 5.6 */
	assert_false(LINT("v=spf1 ip4:1.2.3.4/33 -all"));
	assert_false(LINT("v=spf1 =bar -all")); /* RFC 7208 12: modifier names */
	assert_false(LINT("v=spf1 1up=foo -all"));
	assert_true(LINT("v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all"));
}

static void
test_record_normalize(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(
	        spf_record_normalize("v=spf1 redirect=t5.example.com ~all", out, sizeof out, 0), 0);
	assert_string_equal(out, "v=spf1 ~all redirect=t5.example.com");
	assert_int_equal(spf_record_normalize("v=spf1  exp=x.test moo.cow=a:b ip4:1.2.3.4  -all",
	                                      out, sizeof out, 0),
	                 0);
	assert_string_equal(out, "v=spf1 ip4:1.2.3.4 -all exp=x.test");
	assert_int_equal(spf_record_normalize("v=spf1 -ip4:1.2.3.4/0 ip6:::/0 ip4:1.2.3.0/24", out,
	                                      sizeof out, 0),
	                 0);
	assert_string_equal(out, "v=spf1 -ip4:0.0.0.0/1 -ip4:128.0.0.0/1 ip6:::/1 ip6:8000::/1 "
	                         "ip4:1.2.3.0/24");
	/* CIDR 0 on a and mx (RFC 7208 5.6), for the client's family. */
	assert_int_equal(spf_record_normalize("v=spf1 a/0 -a:x.test/0 mx//0 mx/24//0 a/0//0 -all",
	                                      out, sizeof out, 0),
	                 0);
	assert_string_equal(out, "v=spf1 exists:%{d} -exists:x.test mx mx/24 exists:%{d} -all");
	assert_int_equal(spf_record_normalize("v=spf1 a/0 -a:x.test/0//64 mx/0 a/0//0 mx//0 -all",
	                                      out, sizeof out, 1),
	                 0);
	assert_string_equal(out, "v=spf1 a -a:x.test//64 mx a/0//0 mx//0 -all");
	assert_int_equal(spf_record_normalize("v=spf1 mx/0 a//0 -all", out, sizeof out, 0), 0);
	assert_string_equal(out, "v=spf1 mx/0 a -all");
	assert_int_equal(spf_record_normalize("hello", out, sizeof out, 0), -1);
	assert_int_equal(spf_record_normalize("v=spf1 a mx -all", out, 8, 0), -1);
}

static void
test_escape_and_kv(void **state)
{
	char out[64];
	struct buf b = { 0 };

	(void)state;
	assert_int_equal(dns_name_escape("a b.example.com.", out, sizeof out), 0);
	assert_string_equal(out, "a\\032b.example.com");
	assert_int_equal(dns_name_escape("x\"y.test", out, sizeof out), 0);
	assert_string_equal(out, "x\\034y.test");
	assert_int_equal(dns_name_escape("abcdef", out, 4), -1);
	kv_add(&b, "client-ip", "192.0.2.1");
	kv_add(&b, "envelope-from", "a\"b@example.test");
	kv_add(&b, "helo", "");
	assert_string_equal(b.p, " client-ip=192.0.2.1; envelope-from=\"a\\\"b@example.test\";"
	                         " helo=\"\";");
	buf_free(&b);
	strcpy(out, "a%3db%2Fc%%");
	hex_upper(out);
	assert_string_equal(out, "a%3Db%2Fc%%");
}

/* A session whose checker cannot be made: every check is temperror, and
 * the conditions see that, never an accidental pass. */
static void
test_condition_on_unchecked_session(void **state)
{
	struct config cfg = { 0 };
	struct spf_session s = { 0 };
	const struct spf_verdict *v;

	(void)state;
	cfg.primary_hostname = "mx.example.test";
	s.cfg = &cfg;
	s.ip = "192.0.2.10";
	s.helo = "client.example.test";
	s.failed = 1; /* as after resolver_new() failed */
	spf_session_reset(&s);
	assert_string_equal(spf_session_authres(&s),
	                    "Authentication-Results: mx.example.test; none");
	/* No MAIL FROM yet: spf_guess is not known; spf checks the HELO
	 * identity alone (RFC 7208 2.3), here temperror. */
	assert_null(spf_session_verdict(&s, 1));
	assert_null(spf_session_checked(&s));
	v = spf_session_verdict(&s, 0);
	assert_non_null(v);
	assert_int_equal(v->result, SPF_TEMPERROR);
	assert_int_equal(v->identity, SPF_ID_HELO);
	assert_string_equal(v->domain, "client.example.test");
	assert_ptr_equal(spf_session_checked(&s), v);
	spf_session_reset(&s); /* the transaction (the EHLO) ends */
	assert_null(spf_session_checked(&s));
	s.helo = ""; /* before any HELO name: not known */
	assert_null(spf_session_verdict(&s, 0));
	s.helo = "client.example.test";
	s.sender = "alice@example.test";
	v = spf_session_verdict(&s, 0);
	assert_non_null(v);
	assert_int_equal(v->result, SPF_TEMPERROR);
	assert_ptr_equal(spf_session_checked(&s), v);
	assert_string_equal(spf_session_authres(&s),
	                    "Authentication-Results: mx.example.test; spf=temperror "
	                    "smtp.mailfrom=alice@example.test");
	assert_string_equal(v->sender, "alice@example.test");
	assert_string_equal(v->domain, "example.test");
	spf_session_free(&s);
}

static void
test_authres_item(void **state)
{
	struct spf_verdict v = { 0 };
	struct buf b = { 0 };

	(void)state;
	v.result = SPF_PASS;
	v.identity = SPF_ID_MAILFROM;
	v.sender = "alice@example.test";
	snprintf(v.domain, sizeof v.domain, "example.test");
	buf_adds(&b, "Authentication-Results: mx.example.test");
	spf_authres_append(&b, &v);
	v.result = SPF_FAIL;
	v.identity = SPF_ID_HELO;
	snprintf(v.domain, sizeof v.domain, "client.example.test");
	spf_authres_append(&b, &v);
	spf_authres_append(&b, NULL);
	assert_string_equal(b.p, "Authentication-Results: mx.example.test; spf=pass "
	                         "smtp.mailfrom=alice@example.test; spf=fail "
	                         "smtp.helo=client.example.test");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_words),
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test(test_record_targets),
		cmocka_unit_test(test_record_lint),
		cmocka_unit_test(test_record_normalize),
		cmocka_unit_test(test_escape_and_kv),
		cmocka_unit_test(test_condition_on_unchecked_session),
		cmocka_unit_test(test_authres_item),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
