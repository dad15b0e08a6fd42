/*
 * router_test.c - server/router.c: routing decisions against a table of DNS
 * answers (no real DNS), the "ID DNS ..." log lines, the dns:fail hook, and
 * what routers_load() makes of a good configuration (its errors:
 * router_load_test.c).
 *
 * The fake DNS table (tests/fake_resolver.h) is written in the log's own
 * words ("MX a.test secure: 10 mx.a.test"), so an answer the router logs
 * reads back as the table line that produced it.  Every lookup the router
 * makes is recorded and each row states the exact sequence it expects.
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
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "fake_resolver.h"
#include "log.h"
#include "resolver.h"
#include "router.h"

#define T_2026 ((time_t)1795310625)
#define L "2026-11-22 01:23:45 "

static char dir[PATH_MAX];  /* the temporary directory */
static char conf[PATH_MAX]; /* DIR/t.conf */

/* --- the configuration ------------------------------------------------------------- */

static void
write_conf(const char *text)
{
	test_write_file(conf, text);
}

/* Routers tried in this order: "dexp" (domains expanded: the address's
 * domain for local part "dok", else none), "exp" (*.exp.accept.test, route_data
 * expanded per address), "manual" (every domain, declines where no
 * route_list entry matches), "queue" (*.accept.test), "dns" (*.test). */
static const char routing_conf[] = "local_domains = example.test : Other.Test\n"
                                   "transport remote_smtp:\n"
                                   "  driver = smtp\n"
                                   "transport to_dir:\n"
                                   "  driver = queuefile\n"
                                   "router dexp:\n"
                                   "  driver = accept\n"
                                   "  domains = ${if eq{$local_part}{derr}"
                                   "{${lookup{k}lsearch{/nonexistent}}}"
                                   "{${if eq{$local_part}{dok}{$domain}{}}}}\n"
                                   "  transport = to_dir\n"
                                   "router exp:\n"
                                   "  driver = manualroute\n"
                                   "  domains = *.exp.accept.test\n"
                                   "  transport = remote_smtp\n"
                                   "  route_data = ${if !eq{$local_part}{skip}"
                                   "{${if eq{$local_part}{err}{${lookup{k}lsearch{/nonexistent}}}"
                                   "{${if eq{$local_part}{empty}{}"
                                   "{127.0.0.7:$local_part [::1]}}}}}fail}\n"
                                   "router manual:\n"
                                   "  driver = manualroute\n"
                                   "  transport = remote_smtp\n"
                                   "  route_list = *.sub.partner.test 127.0.0.5 ; "
                                   "sub.partner.test [::1]:2526 127.0.0.2:2600 [::2] ; "
                                   "names.test mx.names.test:2526 127.0.0.9 alt.names.test ; "
                                   "onlynames.test mx1.onlynames.test mx2.onlynames.test:25 ; "
                                   "sub.partner.test 127.0.0.99 ; "
                                   "lp.test 127.0.0.8 127.0.0.${if eq{$local_part}{nine}{9}{10}}\n"
                                   "router queue:\n"
                                   "  driver = accept\n"
                                   "  domains = *.accept.test\n"
                                   "  transport = to_dir\n"
                                   "router dns:\n"
                                   "  driver = dnslookup\n"
                                   "  domains = *.test\n"
                                   "  transport = remote_smtp\n";

struct fixture {
	struct config *cfg;
	struct routers routers;
	struct fake_dns dns;
	struct router_ctx ctx;
	char log[PATH_MAX + 16];
};

static int
setup_dir(void **state)
{
	char tmpl[] = "/tmp/router_test.XXXXXX";

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

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e = { 0 };

	assert_non_null(f);
	write_conf(routing_conf);
	if (config_load(conf, &f->cfg, &e) != 0)
		fail_msg("config: %s", e.text);
	if (routers_load(f->cfg, &f->routers, &e) != 0)
		fail_msg("routers: %s", e.text);
	f->ctx.cfg = f->cfg;
	f->ctx.routers = &f->routers;
	f->ctx.lookup = fake_lookup;
	f->ctx.lookup_arg = &f->dns;
	f->ctx.message_id = "T-000001";
	snprintf(f->log, sizeof f->log, "%s/main.log", dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	log_close();
	clock_unfreeze();
	unlink(f->log);
	routers_free(&f->routers);
	config_free(f->cfg);
	free(f);
	return 0;
}

/* --- routing rows ------------------------------------------------------------------ */

/* "OK ROUTER TRANSPORT: NAME [ADDR]:PORT pref P secure|insecure; ..." or
 * "DEFER|FAIL STATUS ROUTER: REASON". */
static void
describe(const struct route *r, char *buf, size_t len)
{
	static const char *const words[] = { "OK", "DEFER", "FAIL" };
	size_t used;

	if (r->result != ROUTE_OK) {
		assert_int_equal(r->nhosts, 0);
		assert_null(r->hosts);
		snprintf(buf, len, "%s %s %s: %s", words[r->result], r->status,
		         r->router != NULL ? r->router : "-", r->reason);
		return;
	}
	snprintf(buf, len, "OK %s %s%s", r->router,
	         strcmp(r->transport, ROUTER_LOCAL_TRANSPORT) == 0 ? "local" : r->transport,
	         r->nhosts > 0 ? ":" : "");
	for (size_t i = 0; i < r->nhosts; i++) {
		const struct route_host *h = &r->hosts[i];
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s %s [%s]:%u pref %d %s", i > 0 ? ";" : "",
		         h->name, h->address, h->port, h->mx_pref,
		         h->secure ? "secure" : "insecure");
	}
}

struct route_row {
	const char *why;
	const char *rcpt;
	const char *dns[FAKE_MAX];
	const char *want;  /* describe() */
	const char *calls; /* every lookup, in order */
};

static const struct route_row route_rows[] = {
	/* local delivery first, before any router */
	{ "local domain, any case", "User@EXAMPLE.test", { NULL }, "OK local_delivery local", "" },
	{ "second local domain", "a@other.test", { NULL }, "OK local_delivery local", "" },
	{ "bare local part", "postmaster", { NULL }, "OK local_delivery local", "" },
	{ "a subdomain of a local domain is not local",
	  "a@sub.example.test",
	  { "MX sub.example.test secure: 10 mx.example.test",
	    "A mx.example.test secure: 127.0.0.3" },
	  "OK dns remote_smtp: mx.example.test [127.0.0.3]:0 pref 10 secure",
	  "MX sub.example.test; A mx.example.test; AAAA mx.example.test" },
	{ "no router matches",
	  "a@nowhere.invalid",
	  { NULL },
	  "FAIL 5.4.4 -: Unrouteable address",
	  "" },

	/* accept */
	{ "accept: no hosts, no lookups", "a@q.accept.test", { NULL }, "OK queue to_dir", "" },

	/* domains expanded per address (dexp): "" skips the router */
	{ "domains: expanded to the address's domain, the router takes it",
	  "dok@x.dexp.test",
	  { NULL },
	  "OK dexp to_dir",
	  "" },
	{ "domains: an expansion error defers, naming router and option",
	  "derr@x.dexp.test",
	  { NULL },
	  "DEFER 4.3.0 dexp: router dexp: failed to expand domains \"${if eq{$local_part}{derr}"
	  "{${lookup{k}lsearch{/nonexistent}}}{${if eq{$local_part}{dok}{$domain}{}}}}\": at "
	  "offset 60: lookup lsearch: cannot open /nonexistent: No such file or directory",
	  "" },

	/* manualroute: route_data and route_list hosts expanded per address */
	{ "route_data: $local_part gives the port",
	  "2526@x.exp.accept.test",
	  { NULL },
	  "OK exp remote_smtp: 127.0.0.7 [127.0.0.7]:2526 pref -1 insecure; ::1 [::1]:0 pref -1 "
	  "insecure",
	  "" },
	{ "route_data: forced failure declines, the next router takes it",
	  "skip@x.exp.accept.test",
	  { NULL },
	  "OK queue to_dir",
	  "" },
	{ "route_data: an empty result declines",
	  "empty@x.exp.accept.test",
	  { NULL },
	  "OK queue to_dir",
	  "" },
	{ "route_data: an expansion error defers, naming router and option",
	  "err@x.exp.accept.test",
	  { NULL },
	  "DEFER 4.3.0 exp: router exp: failed to expand route_data \"${if !eq{$local_part}{skip}"
	  "{${if eq{$local_part}{err}{${lookup{k}lsearch{/nonexistent}}}{${if "
	  "eq{$local_part}{empty}{}{127.0.0.7:$local_part [::1]}}}}}fail}\": at offset 87: lookup "
	  "lsearch: cannot open /nonexistent: No such file or directory",
	  "" },
	{ "route_data: a result that is no host list defers",
	  "junk@x.exp.accept.test",
	  { NULL },
	  "DEFER 4.3.0 exp: router exp: route_data: expanded to bad port \"junk\" in "
	  "\"127.0.0.7:junk\" (use 1-65535)",
	  "" },
	{ "route_list: an entry's hosts expanded for the address",
	  "nine@lp.test",
	  { NULL },
	  "OK manual remote_smtp: 127.0.0.8 [127.0.0.8]:0 pref -1 insecure; 127.0.0.9 "
	  "[127.0.0.9]:0 pref -1 insecure",
	  "" },
	{ "route_list: the same entry for another local part",
	  "ten@lp.test",
	  { NULL },
	  "OK manual remote_smtp: 127.0.0.8 [127.0.0.8]:0 pref -1 insecure; 127.0.0.10 "
	  "[127.0.0.10]:0 pref -1 insecure",
	  "" },

	/* manualroute */
	{ "manualroute: addresses in the order written, ports, never secure",
	  "a@sub.partner.test",
	  { NULL },
	  "OK manual remote_smtp: ::1 [::1]:2526 pref -1 insecure; 127.0.0.2 [127.0.0.2]:2600 pref "
	  "-1 insecure; ::2 [::2]:0 pref -1 insecure",
	  "" },
	{ "manualroute: the first matching entry wins (the later one for the same domain is "
	  "unused)",
	  "a@x.sub.partner.test",
	  { NULL },
	  "OK manual remote_smtp: 127.0.0.5 [127.0.0.5]:0 pref -1 insecure",
	  "" },
	{ "manualroute: names looked up A then AAAA, address hosts kept in place",
	  "a@names.test",
	  { "A mx.names.test secure: 127.0.0.7, 127.0.0.8", "AAAA mx.names.test insecure: ::7",
	    "A alt.names.test secure: 127.0.0.10", "AAAA alt.names.test nodata (secure)" },
	  "OK manual remote_smtp: mx.names.test [127.0.0.7]:2526 pref -1 secure; mx.names.test "
	  "[127.0.0.8]:2526 pref -1 secure; mx.names.test [::7]:2526 pref -1 insecure; 127.0.0.9 "
	  "[127.0.0.9]:0 pref -1 insecure; alt.names.test [127.0.0.10]:0 pref -1 secure",
	  "A mx.names.test; AAAA mx.names.test; A alt.names.test; AAAA alt.names.test" },
	{ "manualroute: a name that tempfails is skipped when another host is usable",
	  "a@names.test",
	  { "A mx.names.test tempfail", "AAAA mx.names.test tempfail",
	    "A alt.names.test nxdomain (insecure)" },
	  "OK manual remote_smtp: 127.0.0.9 [127.0.0.9]:0 pref -1 insecure",
	  "A mx.names.test; AAAA mx.names.test; A alt.names.test; AAAA alt.names.test" },
	{ "manualroute: no entry for the domain declines to the next router",
	  "a@partner.test",
	  { "MX partner.test insecure: 10 mx1.partner.test",
	    "A mx1.partner.test insecure: 127.0.0.2" },
	  "OK dns remote_smtp: mx1.partner.test [127.0.0.2]:0 pref 10 insecure",
	  "MX partner.test; A mx1.partner.test; AAAA mx1.partner.test" },

	/* dnslookup */
	{ "MX preference order; equal preferences keep the answer's order",
	  "a@order.test",
	  { "MX order.test secure: 20 mx2.order.test, 10 mx1.order.test, 20 mx3.order.test, 10 "
	    "mx0.order.test",
	    "A mx0.order.test secure: 127.0.0.10", "A mx1.order.test secure: 127.0.0.11",
	    "A mx2.order.test secure: 127.0.0.12", "A mx3.order.test secure: 127.0.0.13" },
	  "OK dns remote_smtp: mx1.order.test [127.0.0.11]:0 pref 10 secure; mx0.order.test "
	  "[127.0.0.10]:0 pref 10 secure; mx2.order.test [127.0.0.12]:0 pref 20 secure; "
	  "mx3.order.test [127.0.0.13]:0 pref 20 secure",
	  "MX order.test; A mx1.order.test; AAAA mx1.order.test; A mx0.order.test; AAAA "
	  "mx0.order.test; A mx2.order.test; AAAA mx2.order.test; A mx3.order.test; AAAA "
	  "mx3.order.test" },
	{ "A addresses before AAAA, each in answer order",
	  "a@both.test",
	  { "MX both.test secure: 5 mx.both.test", "AAAA mx.both.test secure: ::5, ::4",
	    "A mx.both.test secure: 127.0.0.5, 127.0.0.4" },
	  "OK dns remote_smtp: mx.both.test [127.0.0.5]:0 pref 5 secure; mx.both.test "
	  "[127.0.0.4]:0 pref 5 secure; mx.both.test [::5]:0 pref 5 secure; mx.both.test "
	  "[::4]:0 pref 5 secure",
	  "MX both.test; A mx.both.test; AAAA mx.both.test" },
	{ "implicit MX on a secure nodata",
	  "a@implicit.test",
	  { "MX implicit.test nodata (secure)", "A implicit.test secure: 127.0.0.7",
	    "AAAA implicit.test nodata (secure)" },
	  "OK dns remote_smtp: implicit.test [127.0.0.7]:0 pref -1 secure",
	  "MX implicit.test; A implicit.test; AAAA implicit.test" },
	{ "implicit MX on an insecure nodata is not secure",
	  "a@implicit.test",
	  { "MX implicit.test nodata (insecure)", "A implicit.test secure: 127.0.0.7",
	    "AAAA implicit.test nodata (secure)" },
	  "OK dns remote_smtp: implicit.test [127.0.0.7]:0 pref -1 insecure",
	  "MX implicit.test; A implicit.test; AAAA implicit.test" },
	{ "null MX (RFC 7505): 5.1.10, no address lookups",
	  "a@null.test",
	  { "MX null.test secure: 0 ." },
	  "FAIL 5.1.10 dns: domain null.test accepts no mail (null MX, RFC 7505)",
	  "MX null.test" },
	{ "a \".\" among real MXs is no host, the others are used",
	  "a@halfnull.test",
	  { "MX halfnull.test insecure: 0 ., 10 mx.halfnull.test",
	    "A mx.halfnull.test insecure: 127.0.0.4" },
	  "OK dns remote_smtp: mx.halfnull.test [127.0.0.4]:0 pref 10 insecure",
	  "MX halfnull.test; A mx.halfnull.test; AAAA mx.halfnull.test" },
	{ "nxdomain: 5.1.2",
	  "a@gone.test",
	  { "MX gone.test nxdomain (secure)" },
	  "FAIL 5.1.2 dns: unrouteable domain gone.test: it does not exist in the DNS",
	  "MX gone.test" },
	{ "bogus MX: defer 4.7.5 with the validator's reason, nothing else looked up",
	  "a@bad.test",
	  { "MX bad.test bogus: validation failure <bad.test. MX IN>: signature expired" },
	  "DEFER 4.7.5 dns: DNSSEC validation failed for MX bad.test: validation failure "
	  "<bad.test. MX IN>: signature expired",
	  "MX bad.test" },
	{ "tempfail MX: defer 4.4.3",
	  "a@slow.test",
	  { "MX slow.test tempfail" },
	  "DEFER 4.4.3 dns: DNS lookup of MX slow.test failed temporarily",
	  "MX slow.test" },
	{ "a lookup that could not be made counts as tempfail",
	  "a@broken.test",
	  { "MX broken.test error" },
	  "DEFER 4.4.3 dns: DNS lookup of MX broken.test failed temporarily",
	  "MX broken.test" },
	{ "MX hosts without addresses are skipped",
	  "a@skip.test",
	  { "MX skip.test secure: 10 mx1.skip.test, 20 mx2.skip.test, 30 mx3.skip.test",
	    "A mx1.skip.test nodata (secure)", "AAAA mx1.skip.test nodata (secure)",
	    "A mx3.skip.test secure: 127.0.0.33" },
	  "OK dns remote_smtp: mx3.skip.test [127.0.0.33]:0 pref 30 secure",
	  "MX skip.test; A mx1.skip.test; AAAA mx1.skip.test; A mx2.skip.test; AAAA mx2.skip.test; "
	  "A mx3.skip.test; AAAA mx3.skip.test" },
	{ "a tempfailed host is skipped when another host is usable",
	  "a@skip.test",
	  { "MX skip.test secure: 10 mx1.skip.test, 20 mx2.skip.test", "A mx1.skip.test tempfail",
	    "AAAA mx1.skip.test bogus: no signatures", "AAAA mx2.skip.test secure: ::22" },
	  "OK dns remote_smtp: mx2.skip.test [::22]:0 pref 20 secure",
	  "MX skip.test; A mx1.skip.test; AAAA mx1.skip.test; A mx2.skip.test; AAAA "
	  "mx2.skip.test" },
	{ "no host has an address, every lookup answered: fail 5.4.4",
	  "a@empty.test",
	  { "MX empty.test insecure: 10 mx1.empty.test, 20 mx2.empty.test",
	    "A mx1.empty.test nodata (insecure)", "AAAA mx1.empty.test nodata (insecure)" },
	  "FAIL 5.4.4 dns: Unrouteable address: no host of empty.test has an address",
	  "MX empty.test; A mx1.empty.test; AAAA mx1.empty.test; A mx2.empty.test; AAAA "
	  "mx2.empty.test" },
	{ "no host has an address and a lookup tempfailed: defer 4.4.3",
	  "a@empty.test",
	  { "MX empty.test insecure: 10 mx1.empty.test, 20 mx2.empty.test",
	    "A mx1.empty.test nodata (insecure)", "AAAA mx1.empty.test nodata (insecure)",
	    "A mx2.empty.test tempfail" },
	  "DEFER 4.4.3 dns: no address for any host of empty.test yet (A mx2.empty.test tempfail)",
	  "MX empty.test; A mx1.empty.test; AAAA mx1.empty.test; A mx2.empty.test; AAAA "
	  "mx2.empty.test" },
	{ "no host has an address and a lookup was bogus: defer 4.4.3",
	  "a@empty.test",
	  { "MX empty.test secure: 10 mx1.empty.test", "A mx1.empty.test bogus: no DS",
	    "AAAA mx1.empty.test nodata (secure)" },
	  "DEFER 4.4.3 dns: no address for any host of empty.test yet (A mx1.empty.test bogus: no "
	  "DS)",
	  "MX empty.test; A mx1.empty.test; AAAA mx1.empty.test" },
	{ "implicit MX without an address: fail 5.4.4",
	  "a@implicit.test",
	  { "MX implicit.test nodata (secure)", "A implicit.test nodata (secure)",
	    "AAAA implicit.test nodata (secure)" },
	  "FAIL 5.4.4 dns: Unrouteable address: no host of implicit.test has an address",
	  "MX implicit.test; A implicit.test; AAAA implicit.test" },
	{ "manualroute: no name has an address, one tempfailed: defer 4.4.3",
	  "a@onlynames.test",
	  { "A mx1.onlynames.test nodata (insecure)", "AAAA mx1.onlynames.test nodata (insecure)",
	    "AAAA mx2.onlynames.test tempfail" },
	  "DEFER 4.4.3 manual: no address for any host of the route_list entry for onlynames.test "
	  "yet (AAAA mx2.onlynames.test tempfail)",
	  "A mx1.onlynames.test; AAAA mx1.onlynames.test; A mx2.onlynames.test; AAAA "
	  "mx2.onlynames.test" },
	{ "manualroute: no name has an address, all answered: fail 5.4.4",
	  "a@onlynames.test",
	  { "A mx1.onlynames.test nodata (insecure)", "AAAA mx1.onlynames.test nodata (insecure)" },
	  "FAIL 5.4.4 manual: Unrouteable address: no host of the route_list entry for "
	  "onlynames.test has an address",
	  "A mx1.onlynames.test; AAAA mx1.onlynames.test; A mx2.onlynames.test; AAAA "
	  "mx2.onlynames.test" },
	{ "manualroute: a port goes with each address of its name",
	  "a@onlynames.test",
	  { "A mx2.onlynames.test insecure: 127.0.0.20", "AAAA mx2.onlynames.test insecure: ::20" },
	  "OK manual remote_smtp: mx2.onlynames.test [127.0.0.20]:25 pref -1 insecure; "
	  "mx2.onlynames.test [::20]:25 pref -1 insecure",
	  "A mx1.onlynames.test; AAAA mx1.onlynames.test; A mx2.onlynames.test; AAAA "
	  "mx2.onlynames.test" },

	/* secure: the MX and the address both secure */
	{ "secure MX, insecure A: not secure",
	  "a@sec.test",
	  { "MX sec.test secure: 10 mx.sec.test", "A mx.sec.test insecure: 127.0.0.6" },
	  "OK dns remote_smtp: mx.sec.test [127.0.0.6]:0 pref 10 insecure",
	  "MX sec.test; A mx.sec.test; AAAA mx.sec.test" },
	{ "insecure MX, secure A: not secure",
	  "a@sec.test",
	  { "MX sec.test insecure: 10 mx.sec.test", "A mx.sec.test secure: 127.0.0.6" },
	  "OK dns remote_smtp: mx.sec.test [127.0.0.6]:0 pref 10 insecure",
	  "MX sec.test; A mx.sec.test; AAAA mx.sec.test" },
	{ "secure MX, secure A: secure",
	  "a@sec.test",
	  { "MX sec.test secure: 10 mx.sec.test", "A mx.sec.test secure: 127.0.0.6" },
	  "OK dns remote_smtp: mx.sec.test [127.0.0.6]:0 pref 10 secure",
	  "MX sec.test; A mx.sec.test; AAAA mx.sec.test" },
};

static void
test_route_row(void **state)
{
	struct fixture *f;
	const struct route_row *row = *state;
	struct route r;
	char got[2048];

	assert_int_equal(setup((void **)&f), 0);
	f->dns.table = row->dns;
	assert_int_equal(route_address(&f->ctx, row->rcpt, &r), 0);
	describe(&r, got, sizeof got);
	if (strcmp(got, row->want) != 0 || strcmp(f->dns.calls, row->calls) != 0)
		fail_msg("%s:\n  want %s\n  got  %s\n  want lookups %s\n  got lookups  %s",
		         row->why, row->want, got, row->calls, f->dns.calls);
	route_free(&r);
	assert_null(r.hosts);
	assert_int_equal(r.nhosts, 0);
	teardown((void **)&f);
}

/* --- the DNS log lines ------------------------------------------------------------- */

static void
test_dns_log_lines(void **state)
{
	static const char *const dns[] = {
		"MX partner.test secure: 10 mx1.partner.test, 20 mx2.partner.test",
		"A mx1.partner.test secure: 127.0.0.2",
		"AAAA mx1.partner.test nodata (secure)",
		"A mx2.partner.test tempfail",
		"AAAA mx2.partner.test secure: ::3",
		"MX bad.test bogus: validation failure <bad.test. MX IN>: no signatures",
		"MX null.test secure: 0 .",
		NULL,
	};
	struct fixture *f = NULL;
	struct route r;
	struct err e = { 0 };
	char *got;

	(void)state;
	assert_int_equal(setup((void **)&f), 0);
	clock_freeze(T_2026);
	assert_int_equal(log_open(f->log, &e), 0);
	f->dns.table = dns;

	/* log_dns off: nothing written */
	assert_int_equal(route_address(&f->ctx, "a@partner.test", &r), 0);
	assert_int_equal(r.nhosts, 2);
	route_free(&r);

	f->ctx.log_dns = 1;
	assert_int_equal(route_address(&f->ctx, "a@partner.test", &r), 0);
	route_free(&r);
	assert_int_equal(route_address(&f->ctx, "a@bad.test", &r), 0);
	route_free(&r);
	assert_int_equal(route_address(&f->ctx, "a@null.test", &r), 0);
	route_free(&r);
	assert_int_equal(route_address(&f->ctx, "a@sub.partner.test", &r), 0); /* no lookups */
	route_free(&r);
	f->ctx.message_id = "T-000002";
	assert_int_equal(route_address(&f->ctx, "a@gone.test", &r), 0);
	route_free(&r);

	got = test_slurp(f->log);
	assert_string_equal(got, L
	                    "T-000001 DNS MX partner.test secure: 10 mx1.partner.test, 20 "
	                    "mx2.partner.test\n" L
	                    "T-000001 DNS A mx1.partner.test secure: 127.0.0.2\n" L
	                    "T-000001 DNS AAAA mx1.partner.test nodata (secure)\n" L
	                    "T-000001 DNS A mx2.partner.test tempfail\n" L
	                    "T-000001 DNS AAAA mx2.partner.test secure: ::3\n" L
	                    "T-000001 DNS MX bad.test bogus: validation failure <bad.test. MX IN>: "
	                    "no signatures\n" L "T-000001 DNS MX null.test secure: 0 .\n" L
	                    "T-000002 DNS MX gone.test nxdomain (insecure)\n");
	free(got);
	teardown((void **)&f);
}

/* --- the dns:fail hook (docs/events.md) ------------------------------------------- */

static char hook_seen[512];

static void
record_dns_fail(void *arg, const char *router, const char *name, enum resolver_type type,
                enum resolver_status st)
{
	size_t n = strlen(hook_seen);

	assert_ptr_equal(arg, hook_seen);
	snprintf(hook_seen + n, sizeof hook_seen - n, "%s: %s %s %s;", router, name,
	         resolver_type_word(type), resolver_status_word(st));
}

/* Called once per failed lookup (tempfail, bogus), in lookup order; never
 * for an answer (secure, insecure, NXDOMAIN, NODATA). */
static void
test_dns_fail_hook(void **state)
{
	static const char *const dns[] = {
		"MX partner.test secure: 10 mx1.partner.test, 20 mx2.partner.test",
		"A mx1.partner.test secure: 127.0.0.2",
		"AAAA mx1.partner.test nodata (secure)",
		"A mx2.partner.test tempfail",
		"AAAA mx2.partner.test secure: ::3",
		"MX bad.test bogus: validation failure <bad.test. MX IN>: no signatures",
		"MX slow.test tempfail",
		NULL,
	};
	struct fixture *f = NULL;
	struct route r;

	(void)state;
	assert_int_equal(setup((void **)&f), 0);
	f->dns.table = dns;
	f->ctx.dns_fail = record_dns_fail;
	f->ctx.dns_fail_arg = hook_seen;
	hook_seen[0] = '\0';
	assert_int_equal(route_address(&f->ctx, "a@partner.test", &r), 0);
	assert_int_equal(r.nhosts, 2); /* mx2's AAAA still counts */
	route_free(&r);
	assert_string_equal(hook_seen, "dns: mx2.partner.test A tempfail;");
	assert_int_equal(route_address(&f->ctx, "a@bad.test", &r), 0);
	assert_int_equal(r.result, ROUTE_DEFER);
	route_free(&r);
	assert_int_equal(route_address(&f->ctx, "a@slow.test", &r), 0);
	route_free(&r);
	assert_int_equal(route_address(&f->ctx, "a@gone.test", &r), 0); /* nxdomain */
	assert_int_equal(r.result, ROUTE_FAIL);
	route_free(&r);
	assert_string_equal(hook_seen, "dns: mx2.partner.test A tempfail;"
	                               "dns: bad.test MX bogus;"
	                               "dns: slow.test MX tempfail;");
	teardown((void **)&f);
}

/* --- loading ----------------------------------------------------------------------- */

static void
test_load(void **state)
{
	struct config *cfg = NULL;
	struct routers rs = { 0 };
	struct err e = { 0 };
	const struct router_def *x, *m, *q, *d;

	(void)state;
	write_conf(routing_conf);
	assert_int_equal(config_load(conf, &cfg, &e), 0);
	if (routers_load(cfg, &rs, &e) != 0)
		fail_msg("%s", e.text);
	assert_int_equal(rs.n, 5);
	assert_string_equal(rs.v[0].name, "dexp");
	x = &rs.v[1], m = &rs.v[2], q = &rs.v[3], d = &rs.v[4];
	assert_string_equal(x->name, "exp");
	assert_int_equal(x->nroutes, 0);
	assert_non_null(x->route_data);
	assert_string_equal(m->name, "manual");
	assert_int_equal(m->line, 15); /* after dexp's four lines */
	assert_int_equal(m->driver, ROUTER_MANUALROUTE);
	assert_string_equal(m->domains, "*");
	assert_string_equal(m->transport, "remote_smtp");
	assert_int_equal(m->nroutes, 6);
	assert_null(m->routes[0].hosts_expand);
	assert_string_equal(m->routes[5].pattern, "lp.test");
	assert_int_equal(m->routes[5].nhosts, 0); /* hosts parsed per address */
	assert_string_equal(m->routes[5].hosts_expand,
	                    "127.0.0.8 127.0.0.${if eq{$local_part}{nine}{9}{10}}");
	assert_string_equal(m->routes[0].pattern, "*.sub.partner.test");
	assert_int_equal(m->routes[0].nhosts, 1);
	assert_string_equal(m->routes[1].pattern, "sub.partner.test");
	assert_int_equal(m->routes[1].nhosts, 3);
	assert_string_equal(m->routes[1].hosts[0].host, "::1");
	assert_int_equal(m->routes[1].hosts[0].port, 2526);
	assert_string_equal(m->routes[1].hosts[1].host, "127.0.0.2");
	assert_int_equal(m->routes[1].hosts[1].port, 2600);
	assert_string_equal(m->routes[1].hosts[2].host, "::2");
	assert_int_equal(m->routes[1].hosts[2].port, 0);
	assert_string_equal(m->routes[2].hosts[0].host, "mx.names.test");
	assert_int_equal(m->routes[2].hosts[0].port, 2526);
	assert_string_equal(q->name, "queue");
	assert_int_equal(q->driver, ROUTER_ACCEPT);
	assert_string_equal(q->domains, "*.accept.test");
	assert_string_equal(q->transport, "to_dir");
	assert_int_equal(q->nroutes, 0);
	assert_string_equal(d->name, "dns");
	assert_int_equal(d->line, 23);
	assert_int_equal(d->driver, ROUTER_DNSLOOKUP);
	routers_free(&rs);
	assert_int_equal(rs.n, 0);
	routers_free(&rs); /* zeroed */
	routers_free(NULL);
	config_free(cfg);
}

#define NROUTES (sizeof route_rows / sizeof route_rows[0])

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_dns_log_lines),
		cmocka_unit_test(test_dns_fail_hook),
	};
	struct CMUnitTest tests[sizeof fixed / sizeof fixed[0] + NROUTES];
	char names[NROUTES][200];
	size_t n = 0, k = 0;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < NROUTES; i++, k++) {
		snprintf(names[k], sizeof names[k], "route: %s", route_rows[i].why);
		tests[n++] = (struct CMUnitTest){ .name = names[k],
			                          .test_func = test_route_row,
			                          .initial_state = (void *)&route_rows[i] };
	}
	return cmocka_run_group_tests_name("router", tests, setup_dir, teardown_dir);
}
