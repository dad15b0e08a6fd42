/*
 * certname_test.c - the certificate name rules (lib/certname.c): the seed's
 * "Certificate name checking" and RFC 6125 6.4, case by case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "certname.h"

struct one_case {
	const char *presented, *host;
	enum certname_result want;
	const char *why;
};

#define M CERTNAME_MATCH
#define X CERTNAME_MISMATCH

static const struct one_case one_cases[] = {
	{ "mx.example.com", "mx.example.com", M, "exact" },
	{ "MX.Example.COM", "mx.example.com", M, "case-insensitive (presented)" },
	{ "mx.example.com", "MX.EXAMPLE.COM", M, "case-insensitive (host)" },
	{ "mx.example.com.", "mx.example.com", M, "trailing dot on presented ignored" },
	{ "mx.example.com", "mx.example.com.", M, "trailing dot on host ignored" },
	{ "mx.example.com", "mx.example.org", X, "different name" },
	{ "mx.example.com", "example.com", X, "parent is not the name" },
	{ "example.com", "mx.example.com", X, "child is not the name" },
	{ "mx.example.com", "mx.example.co", X, "prefix of presented" },
	{ "mx.example.co", "mx.example.com", X, "prefix of host" },
	{ "*.example.com", "a.example.com", M, "wildcard, one label" },
	{ "*.example.com", "A.EXAMPLE.COM", M, "wildcard, case-insensitive" },
	{ "*.EXAMPLE.com", "mail.example.com.", M, "wildcard, trailing dot on host" },
	{ "*.example.com", "example.com", X, "wildcard needs a label" },
	{ "*.example.com", "a.b.example.com", X, "wildcard matches exactly one label" },
	{ "*.example.com", ".example.com", X, "empty label is not a label" },
	{ "*.com", "example.com", X, "wildcard in a two-label name never matches" },
	{ "*.com", "a.com", X, "two labels, again" },
	{ "*", "example", X, "lone wildcard" },
	{ "*.", "a.", X, "lone wildcard with dot" },
	{ "f*.example.com", "foo.example.com", X, "partial-label wildcard (prefix)" },
	{ "*o.example.com", "foo.example.com", X, "partial-label wildcard (suffix)" },
	{ "f*o.example.com", "foo.example.com", X, "partial-label wildcard (middle)" },
	{ "a.*.example.com", "a.b.example.com", X, "wildcard not left-most" },
	{ "*.*.example.com", "a.b.example.com", X, "two wildcards" },
	{ "example.*", "example.com", X, "wildcard as the last label" },
	{ "*.example.com", "*.example.com", X, "a host that is itself a pattern" },
	{ "mx..example.com", "mx..example.com", X, "empty label in presented" },
	{ "mx.example.com", "mx..example.com", X, "empty label in host" },
	{ "", "mx.example.com", X, "empty presented" },
	{ "mx.example.com", "", X, "empty host" },
	{ ".", ".", X, "root only" },
	{ "mx example.com", "mx example.com", X, "space is not a name character" },
	{ "*.sub.example.com", "a.sub.example.com", M, "wildcard, four labels" },
	{ "*.sub.example.com", "a.example.com", X, "wildcard, wrong parent" },
	{ "xn--bcher-kva.example", "XN--BCHER-KVA.example", M, "A-labels compare as ASCII" },
	{ "*.xn--bcher-kva.example", "www.xn--bcher-kva.example", M,
	  "wildcard over an A-label parent" },
};

/* One cmocka test per table row, so each rule shows (and fails) on its own. */
static void
test_match_one(void **state)
{
	const struct one_case *c = *state;
	enum certname_result got = certname_match_one(c->presented, c->host);

	if (got != c->want)
		fail_msg("%s: \"%s\" vs \"%s\": want %s, got %s", c->why, c->presented, c->host,
		         c->want == M ? "match" : "mismatch", got == M ? "match" : "mismatch");
}

static void
test_null_inputs(void **state)
{
	(void)state;
	assert_int_equal(certname_match_one(NULL, "a.example.com"), X);
	assert_int_equal(certname_match_one("a.example.com", NULL), X);
	assert_int_equal(certname_match(NULL, 0, NULL, "a.example.com"), X);
}

static void
test_san_preferred_over_cn(void **state)
{
	char *sans[] = { "mx1.multi.test", "mx2.multi.test" };
	(void)state;
	/* RFC 6125 6.4.4: with dNSName SANs present, the CN is not consulted. */
	assert_int_equal(certname_match(sans, 2, "multi.example.test", "multi.example.test"), X);
	assert_int_equal(certname_match(sans, 2, "multi.example.test", "mx2.multi.test"), M);
	assert_int_equal(certname_match(sans, 2, NULL, "mx1.multi.test"), M);
}

static void
test_cn_used_without_sans(void **state)
{
	(void)state;
	assert_int_equal(certname_match(NULL, 0, "cnonly.example.test", "cnonly.example.test"), M);
	assert_int_equal(certname_match(NULL, 0, "cnonly.example.test", "other.example.test"), X);
	assert_int_equal(certname_match(NULL, 0, "*.wild.example.test", "a.wild.example.test"), M);
	assert_int_equal(certname_match(NULL, 0, NULL, "cnonly.example.test"), X);
}

static void
test_unusable_san_still_hides_cn(void **state)
{
	/* A decoder turns a dNSName with an embedded NUL into "": it must not
	 * match, and its presence still means "this certificate has SANs". */
	char *sans[] = { "" };
	(void)state;
	assert_int_equal(certname_match(sans, 1, "mx.example.test", "mx.example.test"), X);
}

static void
test_wildcard_among_sans(void **state)
{
	char *sans[] = { "mx.example.test", "*.wild.example.test" };
	(void)state;
	assert_int_equal(certname_match(sans, 2, NULL, "x.wild.example.test"), M);
	assert_int_equal(certname_match(sans, 2, NULL, "wild.example.test"), X);
	assert_int_equal(certname_match(sans, 2, NULL, "y.x.wild.example.test"), X);
}

#define NCASES (sizeof one_cases / sizeof one_cases[0])

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_null_inputs),
		cmocka_unit_test(test_san_preferred_over_cn),
		cmocka_unit_test(test_cn_used_without_sans),
		cmocka_unit_test(test_unusable_san_still_hides_cn),
		cmocka_unit_test(test_wildcard_among_sans),
	};
	struct CMUnitTest tests[NCASES + sizeof fixed / sizeof fixed[0]];
	char names[NCASES][160];
	size_t n = 0;

	for (size_t i = 0; i < NCASES; i++) {
		snprintf(names[i], sizeof names[i], "%s: \"%s\" vs \"%s\"", one_cases[i].why,
		         one_cases[i].presented, one_cases[i].host);
		tests[n++] = (struct CMUnitTest){ .name = names[i],
			                          .test_func = test_match_one,
			                          .initial_state = (void *)&one_cases[i] };
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("certname", tests, n, NULL, NULL);
}
