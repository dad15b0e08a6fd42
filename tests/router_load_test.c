/*
 * router_load_test.c - server/router_load.c: every error routers_load()
 * reports, as its exact "FILE:LINE: router NAME: message" (table rows as
 * named tests), and a configuration without routers (everything not local
 * is unrouteable, and no DNS is asked).  What it makes of a good
 * configuration, and routing itself: router_test.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fake_resolver.h"
#include "router.h"

static char dir[PATH_MAX];  /* the temporary directory */
static char conf[PATH_MAX]; /* DIR/t.conf */

static void
write_conf(const char *text)
{
	test_write_file(conf, text);
}

static int
setup_dir(void **state)
{
	char tmpl[] = "/tmp/router_load_test.XXXXXX";

	(void)state;
	return test_make_tmpdir_file(tmpl, dir, conf, "t.conf");
}

static int
teardown_dir(void **state)
{
	(void)state;
	test_remove_tree(dir);
	return 0;
}

static void
test_load_no_routers(void **state)
{
	struct config *cfg = NULL;
	struct routers rs = { 0 };
	struct err e = { 0 };
	struct fake_dns dns = { .table = (const char *const[]){ NULL } };
	struct router_ctx ctx = { .lookup = fake_lookup, .lookup_arg = &dns };
	struct route r;

	(void)state;
	write_conf("local_domains = example.test\ntransport t:\n  driver = smtp\n");
	assert_int_equal(config_load(conf, &cfg, &e), 0);
	assert_int_equal(routers_load(cfg, &rs, &e), 0);
	assert_int_equal(rs.n, 0);
	ctx.cfg = cfg;
	ctx.routers = &rs;
	assert_int_equal(route_address(&ctx, "a@example.test", &r), 0);
	assert_string_equal(r.transport, ROUTER_LOCAL_TRANSPORT);
	route_free(&r);
	assert_int_equal(route_address(&ctx, "a@partner.test", &r), 0);
	assert_int_equal(r.result, ROUTE_FAIL);
	assert_string_equal(r.status, "5.4.4");
	route_free(&r);
	assert_string_equal(dns.calls, "");
	routers_free(&rs);
	config_free(cfg);
}

struct bad_row {
	const char *why;
	const char *text;  /* after the transport block (lines 1-2) */
	const char *error; /* after "FILE:" */
};

#define TP "transport t:\n  driver = smtp\n"

static const struct bad_row bad_rows[] = {
	{ "unknown option, close to a known one", "router r:\n  driver = accept\n  tranport = t\n",
	  "5: router r: unknown option \"tranport\" (did you mean \"transport\"?)" },
	{ "unknown option, nothing close",
	  "router r:\n  driver = accept\n  transport = t\n  self = send\n",
	  "6: router r: unknown option \"self\" (router options: driver, domains, transport, "
	  "route_list, route_data, dnssec_request_domains, dnssec_require_domains)" },
	{ "dnssec_require_domains on manualroute",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * 127.0.0.1\n"
	  "  dnssec_require_domains = *\n",
	  "7: router r: dnssec_require_domains is only for driver dnslookup (this one is "
	  "manualroute)" },
	{ "dnssec_request_domains on accept",
	  "router r:\n  dnssec_request_domains = *\n  driver = accept\n  transport = t\n",
	  "4: router r: dnssec_request_domains is only for driver dnslookup (this one is accept)" },
	{ "missing driver", "router r:\n  transport = t\n",
	  "3: router r: missing driver (use dnslookup, manualroute or accept)" },
	{ "unknown driver", "router r:\n  transport = t\n  driver = redirect\n",
	  "5: router r: unknown driver \"redirect\" (use dnslookup, manualroute or accept)" },
	{ "missing transport", "router r:\n  driver = dnslookup\n",
	  "3: router r: missing transport (the name of a \"transport NAME:\" block)" },
	{ "transport not defined", "router r:\n  driver = dnslookup\n  transport = remote\n",
	  "5: router r: transport \"remote\" is not defined (no \"transport remote:\" block)" },
	{ "a router's name is not a transport",
	  "router t2:\n  driver = accept\n  transport = t\nrouter r:\n  driver = accept\n  "
	  "transport "
	  "= t2\n",
	  "8: router r: transport \"t2\" is not defined (no \"transport t2:\" block)" },
	{ "route_list on dnslookup",
	  "router r:\n  driver = dnslookup\n  transport = t\n  route_list = * 127.0.0.1\n",
	  "6: router r: route_list is only for driver manualroute (this one is dnslookup)" },
	{ "route_list on accept",
	  "router r:\n  route_list = * 127.0.0.1\n  driver = accept\n  transport = t\n",
	  "4: router r: route_list is only for driver manualroute (this one is accept)" },
	{ "manualroute without route_list", "router r:\n  driver = manualroute\n  transport = t\n",
	  "3: router r: driver manualroute needs a route_list (\"DOMAIN-PATTERN HOST [HOST...] "
	  "[; ...]\") or a route_data" },
	{ "route_list and route_data",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * 127.0.0.1\n"
	  "  route_data = 127.0.0.1\n",
	  "7: router r: set route_list or route_data, not both" },
	{ "route_data on dnslookup",
	  "router r:\n  driver = dnslookup\n  transport = t\n  route_data = 127.0.0.1\n",
	  "6: router r: route_data is only for driver manualroute (this one is dnslookup)" },
	{ "route_data that does not parse",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_data = "
	  "${lookup{x}nosuch{y}}\n",
	  "6: router r: route_data: at offset 17: unknown lookup type \"nosuch\" (lsearch, "
	  "iplsearch, "
	  "lmdb, redis, dnsdb, spf)" },
	{ "route_list entry whose expansion does not parse",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * ${if eq{a}\n",
	  "6: router r: route_list: entry \"*\": at offset 10: expected \"{\"" },
	{ "route_list without an entry",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = ; ;\n",
	  "6: router r: route_list: no entry (use \"DOMAIN-PATTERN HOST [HOST...]\")" },
	{ "route_list entry without a host",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = partner.test ; * "
	  "127.0.0.1\n",
	  "6: router r: route_list: entry \"partner.test\" has no host" },
	{ "IPv6 without brackets",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * ::1\n",
	  "6: router r: route_list: bad host \"::1\" (write an IPv6 address in brackets, "
	  "\"[::1]:2526\")" },
	{ "unclosed bracket",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * [::1:2526\n",
	  "6: router r: route_list: bad host \"[::1:2526\" (no \"]\" after an IPv6 address)" },
	{ "IPv4 in brackets",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * [127.0.0.1]\n",
	  "6: router r: route_list: bad host \"[127.0.0.1]\" (not an IPv6 address in brackets)" },
	{ "text after the bracket",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * [::1]2526\n",
	  "6: router r: route_list: bad host \"[::1]2526\" (expected \":PORT\" after \"]\")" },
	{ "a broken IPv4 address",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * 127.0.0.256\n",
	  "6: router r: route_list: bad host \"127.0.0.256\" (use an IPv4 address, [IPv6] or a "
	  "host "
	  "name, each with an optional :PORT)" },
	{ "an empty label",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * mx..partner.test\n",
	  "6: router r: route_list: bad host \"mx..partner.test\" (use an IPv4 address, [IPv6] or "
	  "a "
	  "host name, each with an optional :PORT)" },
	{ "a character no host name has",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * mx/partner.test\n",
	  "6: router r: route_list: bad host \"mx/partner.test\" (use an IPv4 address, [IPv6] or a "
	  "host name, each with an optional :PORT)" },
	{ "port 0",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * 127.0.0.1:0\n",
	  "6: router r: route_list: bad port \"0\" in \"127.0.0.1:0\" (use 1-65535)" },
	{ "port too big",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * [::1]:65536\n",
	  "6: router r: route_list: bad port \"65536\" in \"[::1]:65536\" (use 1-65535)" },
	{ "port not a number",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = * mx.test:smtp\n",
	  "6: router r: route_list: bad port \"smtp\" in \"mx.test:smtp\" (use 1-65535)" },
	{ "empty port",
	  "router r:\n  driver = manualroute\n  transport = t\n  route_list = a.test 127.0.0.1 ; * "
	  "mx.test:\n",
	  "6: router r: route_list: bad port \"\" in \"mx.test:\" (use 1-65535)" },
	{ "the error names the router it is in",
	  "router good:\n  driver = accept\n  transport = t\n\nrouter bad:\n  driver = accept\n",
	  "7: router bad: missing transport (the name of a \"transport NAME:\" block)" },
};

static void
test_bad_row(void **state)
{
	const struct bad_row *r = *state;
	struct config *cfg = NULL;
	struct routers rs = { 0 };
	struct err e = { 0 };
	char text[1024], want[1024 + PATH_MAX];

	snprintf(text, sizeof text, "%s%s", TP, r->text);
	write_conf(text);
	if (config_load(conf, &cfg, &e) != 0)
		fail_msg("%s: config: %s", r->why, e.text);
	snprintf(want, sizeof want, "%s:%s", conf, r->error);
	if (routers_load(cfg, &rs, &e) == 0) {
		routers_free(&rs);
		config_free(cfg);
		fail_msg("%s: loaded, want error", r->why);
	}
	assert_int_equal(rs.n, 0);
	assert_null(rs.v);
	config_free(cfg);
	if (strcmp(e.text, want) != 0)
		fail_msg("%s:\n  want %s\n  got  %s", r->why, want, e.text);
}

#define NBADS (sizeof bad_rows / sizeof bad_rows[0])

int
main(void)
{
	struct CMUnitTest tests[1 + NBADS];
	char names[NBADS][200];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_load_no_routers);
	for (size_t i = 0; i < NBADS; i++) {
		snprintf(names[i], sizeof names[i], "load error: %s", bad_rows[i].why);
		tests[n++] = (struct CMUnitTest){ .name = names[i],
			                          .test_func = test_bad_row,
			                          .initial_state = (void *)&bad_rows[i] };
	}
	return cmocka_run_group_tests_name("router_load", tests, setup_dir, teardown_dir);
}
