/*
 * match_test.c - host, domain, local-part and address lists (server/match.c),
 * one row per rule: wildcards, CIDRs, IPv4-mapped IPv6, "!" and the
 * first-match rule, case rules (RFC 5321 2.4), the null sender.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "match.h"

enum kind { HOST, DOMAIN, LOCAL, ADDRESS, VALID };

struct row {
	enum kind kind;
	const char *list, *subject;
	int want;
	const char *why;
};

static const struct row rows[] = {
	/* host lists */
	{ HOST, "*", "192.0.2.1", 1, "* matches any IPv4" },
	{ HOST, "*", "2001:db8::1", 1, "* matches any IPv6" },
	{ HOST, "192.0.2.1", "192.0.2.1", 1, "exact IPv4" },
	{ HOST, "192.0.2.1", "192.0.2.10", 0, "exact IPv4 is not a prefix" },
	{ HOST, "127.0.0.0/8", "127.1.2.3", 1, "IPv4 CIDR /8" },
	{ HOST, "127.0.0.0/8", "128.0.0.1", 0, "outside IPv4 CIDR /8" },
	{ HOST, "192.0.2.128/25", "192.0.2.200", 1, "CIDR boundary inside a byte" },
	{ HOST, "192.0.2.128/25", "192.0.2.127", 0, "CIDR boundary, just outside" },
	{ HOST, "10.1.2.3/8", "10.200.0.1", 1, "host bits in the item are masked" },
	{ HOST, "0.0.0.0/0", "203.0.113.9", 1, "/0 matches every IPv4" },
	{ HOST, "0.0.0.0/0", "2001:db8::1", 0, "IPv4 /0 does not match IPv6" },
	{ HOST, "192.0.2.1/32", "192.0.2.1", 1, "/32 is exact" },
	{ HOST, "::::1", "::1", 1, "IPv6 ::1 with doubled colons" },
	{ HOST, "2001::db8::::1", "2001:db8::1", 1, "IPv6 with doubled colons" },
	{ HOST, "2001::db8::::/32", "2001:db8:ffff::7", 1, "IPv6 CIDR /32" },
	{ HOST, "2001::db8::::/32", "2001:db9::7", 0, "outside IPv6 CIDR /32" },
	{ HOST, "2001::DB8::::1", "2001:db8::1", 1, "IPv6 hex digits in either case" },
	{ HOST, "192.0.2.1", "::ffff:192.0.2.1", 1, "IPv4-mapped client matches IPv4 item" },
	{ HOST, "192.0.2.0/24", "::FFFF:192.0.2.77", 1, "IPv4-mapped client in IPv4 CIDR" },
	{ HOST, "::::ffff::192.0.2.1", "192.0.2.1", 1, "IPv4-mapped item matches IPv4 client" },
	{ HOST, "192.0.2.1", "2001:db8::c000:201", 0, "IPv6 ending in the same bytes is not IPv4" },
	{ HOST, "!192.0.2.1 : *", "192.0.2.1", 0, "negated item that matches decides no" },
	{ HOST, "!192.0.2.1 : *", "192.0.2.2", 1, "negated item not matching: go on" },
	{ HOST, "192.0.2.0/24 : !192.0.2.1", "192.0.2.1", 1, "first match wins over a later !" },
	{ HOST, "! 192.0.2.1 : *", "192.0.2.1", 0, "white space after !" },
	{ HOST, "!192.0.2.1", "198.51.100.1", 0, "only negated items: no match is no" },
	{ HOST, "", "192.0.2.1", 0, "empty list matches nothing" },
	{ HOST, "<; ::1 ; 2001:db8::1", "2001:db8::1", 1, "<; separator: IPv6 without doubling" },
	{ HOST, "<; ::1 ; 192.0.2.0/24", "192.0.2.9", 1, "<; separator: IPv4 CIDR" },
	{ HOST, "<; ::1 ; 2001:db8::1", "2001:db8::2", 0, "<; separator: no match" },
	{ HOST, " <, 192.0.2.1 , 127.0.0.1", "127.0.0.1", 1, "<, separator after white space" },
	{ HOST, "192.0.2.1 : 198.51.100.0/24", "198.51.100.4", 1, "second item" },
	{ HOST, "bogus : 192.0.2.1", "192.0.2.1", 1, "invalid item skipped" },
	{ HOST, "192.0.2.1", "not-an-ip", 0, "unparsable client address" },
	{ HOST, "*", "not-an-ip", 1, "* matches even an unparsable address" },
	/* host-list item validity */
	{ VALID, "*", NULL, 1, "*" },
	{ VALID, "192.0.2.1", NULL, 1, "IPv4" },
	{ VALID, "!192.0.2.1", NULL, 1, "negated IPv4" },
	{ VALID, "10.0.0.0/8", NULL, 1, "IPv4 CIDR" },
	{ VALID, "::1/128", NULL, 1, "IPv6 CIDR (an item, after splitting)" },
	{ VALID, "10.0.0.0/33", NULL, 0, "IPv4 prefix too long" },
	{ VALID, "::/129", NULL, 0, "IPv6 prefix too long" },
	{ VALID, "10.0.0.0/", NULL, 0, "empty prefix" },
	{ VALID, "10.0.0.0/+8", NULL, 0, "signed prefix" },
	{ VALID, "10.0.0.0/0008", NULL, 0, "over-long prefix" },
	{ VALID, "300.1.1.1", NULL, 0, "octet out of range" },
	{ VALID, "mx.example.test", NULL, 0, "host names are not host-list items" },
	{ VALID, "/8", NULL, 0, "prefix without address" },
	{ VALID, "", NULL, 0, "empty item" },
	{ VALID, "!", NULL, 0, "lone !" },
	/* domain lists */
	{ DOMAIN, "example.test", "example.test", 1, "exact domain" },
	{ DOMAIN, "example.test", "EXAMPLE.Test", 1, "domains are case-insensitive" },
	{ DOMAIN, "Example.TEST", "example.test", 1, "case-insensitive item" },
	{ DOMAIN, "example.test", "mx.example.test", 0, "exact does not match a subdomain" },
	{ DOMAIN, "*.example.test", "mx.example.test", 1, "*. matches a subdomain" },
	{ DOMAIN, "*.example.test", "a.b.example.test", 1, "*. matches deeper subdomains" },
	{ DOMAIN, "*.example.test", "example.test", 0, "*. does not match the domain itself" },
	{ DOMAIN, "*.example.test", "badexample.test", 0, "*. needs the dot" },
	{ DOMAIN, "*example.test", "example.test", 1, "* suffix matches the domain" },
	{ DOMAIN, "*example.test", "badexample.test", 1, "* suffix matches any prefix" },
	{ DOMAIN, "*", "anything.test", 1, "* matches any domain" },
	{ DOMAIN, "!spam.test : *", "SPAM.test", 0, "negated domain, case-insensitive" },
	{ DOMAIN, "!spam.test : *", "ham.test", 1, "negated domain not matching: go on" },
	{ DOMAIN, "a.test : b.test", "b.test", 1, "second item" },
	{ DOMAIN, "a.test : b.test", "c.test", 0, "no item matches" },
	/* local parts */
	{ LOCAL, "postmaster", "postmaster", 1, "exact local part" },
	{ LOCAL, "postmaster", "Postmaster", 0, "local parts are case-sensitive (RFC 5321 2.4)" },
	{ LOCAL, "list-*", "list-announce", 1, "prefix*" },
	{ LOCAL, "list-*", "list-", 1, "prefix* with nothing after" },
	{ LOCAL, "list-*", "lis", 0, "shorter than the prefix" },
	{ LOCAL, "*-request", "foo-request", 1, "*suffix" },
	{ LOCAL, "*-request", "foo-Request", 0, "*suffix is case-sensitive" },
	{ LOCAL, "*", "Anyone", 1, "* matches any local part" },
	{ LOCAL, "!root : *", "root", 0, "negated local part" },
	{ LOCAL, "!root : *", "Root", 1, "negated local part, other case" },
	/* addresses */
	{ ADDRESS, "alice@example.test", "alice@EXAMPLE.test", 1, "domain part case-insensitive" },
	{ ADDRESS, "alice@example.test", "Alice@example.test", 0, "local part case-sensitive" },
	{ ADDRESS, "*@example.test", "bob@example.test", 1, "*@domain" },
	{ ADDRESS, "*@example.test", "bob@other.test", 0, "*@domain, other domain" },
	{ ADDRESS, "bob@*", "bob@other.test", 1, "local@*" },
	{ ADDRESS, "bob@*", "rob@other.test", 0, "local@*, other local part" },
	{ ADDRESS, "*@*.example.test", "x@mx.example.test", 1, "domain wildcard in an address" },
	{ ADDRESS, "list-*@example.test", "list-a@example.test", 1, "local prefix* in an address" },
	{ ADDRESS, "*.example.test", "x@mx.example.test", 1, "no @: a domain pattern" },
	{ ADDRESS, "example.test", "example.test@other.test", 0, "no @: not the local part" },
	{ ADDRESS, "\"a@b\"@example.test", "\"a@b\"@example.test", 1, "split at the last @" },
	{ ADDRESS, "<>", "", 1, "<> matches the null sender (RFC 5321 4.5.5)" },
	{ ADDRESS, "\"\"", "", 1, "\"\" matches the null sender" },
	{ ADDRESS, "<>", "bob@example.test", 0, "<> matches only the null sender" },
	{ ADDRESS, "*@*", "", 0, "*@* does not match the null sender" },
	{ ADDRESS, "*", "", 1, "* matches everything, the null sender too" },
	{ ADDRESS, "!<> : *", "", 0, "negated null sender" },
	{ ADDRESS, "!<> : *", "a@b.test", 1, "negated null sender, real address" },
	{ ADDRESS, "postmaster@*", "postmaster", 1, "address without a domain" },
};

static int
run_row(const struct row *r)
{
	switch (r->kind) {
	case HOST:
		return match_host(r->list, r->subject);
	case DOMAIN:
		return match_domain(r->list, r->subject);
	case LOCAL:
		return match_local_part(r->list, r->subject);
	case ADDRESS:
		return match_address(r->list, r->subject);
	case VALID:
		return match_host_item_valid(r->list);
	}
	return -1;
}

static void
test_row(void **state)
{
	const struct row *r = *state;
	int got = run_row(r);

	if (got != r->want)
		fail_msg("%s: list \"%s\" subject \"%s\": want %d, got %d", r->why, r->list,
		         r->subject != NULL ? r->subject : "(none)", r->want, got);
}

static void
test_null_arguments(void **state)
{
	(void)state;
	assert_int_equal(match_host(NULL, "192.0.2.1"), 0);
	assert_int_equal(match_host("*", NULL), 0);
	assert_int_equal(match_domain(NULL, "a.test"), 0);
	assert_int_equal(match_domain("*", NULL), 0);
	assert_int_equal(match_local_part(NULL, "a"), 0);
	assert_int_equal(match_local_part("*", NULL), 0);
	assert_int_equal(match_address(NULL, ""), 0);
	assert_int_equal(match_address("*", NULL), 0);
	assert_int_equal(match_host_item_valid(NULL), 0);
}

static void
test_host_list_check(void **state)
{
	static const struct {
		const char *list;
		int rc;
		const char *bad;
	} cases[] = {
		{ "", 0, NULL },
		{ "*", 0, NULL },
		{ "127.0.0.1 : ::::1 : 10.0.0.0/8 : !192.0.2.1", 0, NULL },
		{ "$sender_host_address : ${x}", 0, NULL }, /* checked once they have a value */
		{ "127.0.0.1 : mx.example.test : bogus", 1, "mx.example.test" },
		{ "127.0.0.1/33", 1, "127.0.0.1/33" },
		{ "$$literal", 1, "$$literal" }, /* "$$" is no variable */
	};
	char bad[64];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		strcpy(bad, "-");
		int rc = match_host_list_check(cases[i].list, bad, sizeof bad);
		if (rc != cases[i].rc || (rc == 1 && strcmp(bad, cases[i].bad) != 0))
			fail_msg("\"%s\": rc %d bad \"%s\"", cases[i].list, rc, bad);
	}
	/* The bad item is cut to the buffer, never overflows it. */
	assert_int_equal(match_host_list_check("0123456789abcdef", bad, 5), 1);
	assert_string_equal(bad, "0123");
}

#define NROWS (sizeof rows / sizeof rows[0])

int
main(void)
{
	static const char *const kinds[] = { "host", "domain", "local_part", "address",
		                             "host item valid" };
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_host_list_check),
	};
	struct CMUnitTest tests[NROWS + sizeof fixed / sizeof fixed[0]];
	char names[NROWS][200];
	size_t n = 0;

	for (size_t i = 0; i < NROWS; i++) {
		if (rows[i].kind == VALID)
			snprintf(names[i], sizeof names[i], "%s: %s: \"%s\"", kinds[rows[i].kind],
			         rows[i].why, rows[i].list);
		else
			snprintf(names[i], sizeof names[i], "%s: %s: \"%s\" vs \"%s\"",
			         kinds[rows[i].kind], rows[i].why, rows[i].list, rows[i].subject);
		tests[n++] = (struct CMUnitTest){ .name = names[i],
			                          .test_func = test_row,
			                          .initial_state = (void *)&rows[i] };
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("match", tests, n, NULL, NULL);
}
