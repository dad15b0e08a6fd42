/*
 * config_errors_test.c - the configuration loader (server/config.c): every
 * kind of mistake reported as the exact "FILE:LINE: message" (table rows
 * as named tests), and a file that is not there.  Good files:
 * config_test.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_testlib.h"

/* --- errors --------------------------------------------------------------------------- */

/* "@F@" stands for the config file's path, "@D@" for its directory. */
struct bad_row {
	const char *why, *text, *error;
};

static const struct bad_row bad_rows[] = {
	{ "unknown option, with a suggestion", "\n\ntls_sertificate = x\n",
	  "@F@:3: unknown option \"tls_sertificate\" (did you mean \"tls_certificate\"?)" },
	{ "unknown option", "frobnicate = 1\n", "@F@:1: unknown option \"frobnicate\"" },
	{ "the seed's older name of event_action", "tpda_event_action = x\n",
	  "@F@:1: unknown option \"tpda_event_action\" (renamed: did you mean \"event_action\"?)" },
	{ "the older transport-era name", "delivery_event_action = x\n",
	  "@F@:1: unknown option \"delivery_event_action\" (renamed: did you mean "
	  "\"event_action\"?)" },
	{ "event_action that does not parse", "event_action = ${if eq{a}\n",
	  "@F@:1: event_action: bad expansion \"${if eq{a}\" (see docs/expand.md)" },
	{ "bad prdr_enable", "prdr_enable = maybe\n",
	  "@F@:1: prdr_enable: bad boolean \"maybe\" (use true, false, yes, no, 1 or 0)" },
	{ "PRDR ACL under both names",
	  "acl_smtp_data_prdr:\n  accept\nacl_data_smtp_prdr:\n  deny\n",
	  "@F@:3: duplicate block \"acl_data_smtp_prdr:\" (first on line 1 as "
	  "\"acl_smtp_data_prdr:\")" },
	{ "duplicate option", "listen = 127.0.0.1:25\n# x\nlisten = 127.0.0.1:26\n",
	  "@F@:3: duplicate option \"listen\" (first set on line 1)" },
	{ "missing option name", "= x\n", "@F@:1: missing option name before \"=\"" },
	{ "empty string value", "primary_hostname =\n", "@F@:1: primary_hostname: needs a value" },
	{ "bad time", "smtp_receive_timeout = 5x\n",
	  "@F@:1: smtp_receive_timeout: bad time \"5x\" (use 300, 30s, 5m or 1h)" },
	{ "time with no number", "smtp_receive_timeout = m\n",
	  "@F@:1: smtp_receive_timeout: bad time \"m\" (use 300, 30s, 5m or 1h)" },
	{ "time of zero", "smtp_receive_timeout = 0s\n",
	  "@F@:1: smtp_receive_timeout: must be at least 1, got \"0s\"" },
	{ "time too large", "smtp_receive_timeout = 9999999h\n",
	  "@F@:1: smtp_receive_timeout: bad time \"9999999h\" (use 300, 30s, 5m or 1h)" },
	{ "bad size", "message_size_limit = 50X\n",
	  "@F@:1: message_size_limit: bad size \"50X\" (use bytes, or a number with K, M or G)" },
	{ "size overflow", "message_size_limit = 99999999999999G\n",
	  "@F@:1: message_size_limit: bad size \"99999999999999G\" (use bytes, or a number with K, "
	  "M "
	  "or G)" },
	{ "size with a space", "message_size_limit = 50 M\n",
	  "@F@:1: message_size_limit: bad size \"50 M\" (use bytes, or a number with K, M or G)" },
	{ "bad number", "worker_processes = 4x\n",
	  "@F@:1: worker_processes: bad number \"4x\" (use a decimal number)" },
	{ "negative number", "recipients_max = -1\n",
	  "@F@:1: recipients_max: bad number \"-1\" (use a decimal number)" },
	{ "number too large", "smtp_accept_max = 4294967296\n",
	  "@F@:1: smtp_accept_max: bad number \"4294967296\" (use a decimal number)" },
	{ "zero workers", "worker_processes = 0\n",
	  "@F@:1: worker_processes: must be at least 1, got \"0\"" },
	{ "bad boolean", "test_ids = maybe\n",
	  "@F@:1: test_ids: bad boolean \"maybe\" (use true, false, yes, no, 1 or 0)" },
	{ "unknown tls_backend", "tls_backend = wolfssl\n",
	  "@F@:1: tls_backend: unknown backend \"wolfssl\" (use openssl or gnutls)" },
	{ "bad mailbox_format", "mailbox_format = mh\n",
	  "@F@:1: mailbox_format: unknown format \"mh\" (use maildir or mbox)" },
	{ "listen without a port", "listen = 127.0.0.1\n",
	  "@F@:1: listen: bad address \"127.0.0.1\" (use ADDR:PORT or [IPv6]:PORT, port 1-65535)" },
	{ "listen on port 0", "listen = 127.0.0.1:0\n",
	  "@F@:1: listen: bad address \"127.0.0.1:0\" (use ADDR:PORT or [IPv6]:PORT, port "
	  "1-65535)" },
	{ "listen on port 65536", "listen = 127.0.0.1:65536\n",
	  "@F@:1: listen: bad address \"127.0.0.1:65536\" (use ADDR:PORT or [IPv6]:PORT, port "
	  "1-65535)" },
	{ "listen on a host name", "listen = localhost:25\n",
	  "@F@:1: listen: bad address \"localhost:25\" (use ADDR:PORT or [IPv6]:PORT, port "
	  "1-65535)" },
	{ "listen on IPv6 without brackets", "listen = ::1:25\n",
	  "@F@:1: listen: bad address \"::1:25\" (use ADDR:PORT or [IPv6]:PORT, port 1-65535)" },
	{ "listen on IPv4 in brackets", "listen = [127.0.0.1]:25\n",
	  "@F@:1: listen: bad address \"[127.0.0.1]:25\" (use ADDR:PORT or [IPv6]:PORT, port "
	  "1-65535)" },
	{ "missing certificate", "tls_certificate = certs/none.pem\n",
	  "@F@:1: tls_certificate: cannot read \"@D@/certs/none.pem\": No such file or directory" },
	{ "missing second key",
	  "tls_certificate = certs/mx.pem : certs/ec.pem\n"
	  "tls_privatekey = certs/mx.key : certs/ec.kye\n",
	  "@F@:2: tls_privatekey: cannot read \"@D@/certs/ec.kye\": No such file or directory" },
	/* The seed: at most one response per certificate, in the same order. */
	{ "more staples than certificates", "tls_ocsp_file = certs/a.der : certs/b.der\n",
	  "@F@:1: tls_ocsp_file has 2 item(s) but tls_certificate has 0: at most one response "
	  "per certificate, in the same order" },
	{ "missing CA file", "tls_verify_certificates = certs/none.pem\n",
	  "@F@:1: tls_verify_certificates: cannot read \"@D@/certs/none.pem\": No such file or "
	  "directory" },
	{ "more certificates than keys",
	  "tls_certificate = certs/mx.pem : certs/ec.pem\n"
	  "tls_privatekey = certs/mx.key\n",
	  "@F@:2: tls_certificate has 2 item(s) but tls_privatekey has 1: give one key per "
	  "certificate, in the same order" },
	{ "a key without a certificate", "\ntls_privatekey = certs/mx.key\n",
	  "@F@:2: tls_certificate has 0 item(s) but tls_privatekey has 1: give one key per "
	  "certificate, in the same order" },
	{ "a certificate without a key", "tls_certificate = certs/mx.pem\n",
	  "@F@:1: tls_certificate has 1 item(s) but tls_privatekey has 0: give one key per "
	  "certificate, in the same order" },
	{ "host name in a host list", "tls_advertise_hosts = 127.0.0.1 : mx.example.test\n",
	  "@F@:1: tls_advertise_hosts: bad host list item \"mx.example.test\" (use *, an IP "
	  "address "
	  "or a CIDR; double each colon of an IPv6 address)" },
	{ "IPv6 with single colons in a host list", "tls_required_hosts = ::1\n",
	  "@F@:1: tls_required_hosts: bad host list item \":1\" (use *, an IP address or a CIDR; "
	  "double each colon of an IPv6 address)" },
	{ "log_selector: an unknown word", "log_selector = +proxy +bogus\n",
	  "@F@:1: log_selector: bad selector list \"+proxy +bogus\" (use words like +proxy +spf "
	  "-incoming_port; see docs/log.md)" },
	{ "log_selector: a word without + or -", "log_selector = proxy\n",
	  "@F@:1: log_selector: bad selector list \"proxy\" (use words like +proxy +spf "
	  "-incoming_port; see docs/log.md)" },
	{ "proxy_required_hosts: a host name", "proxy_required_hosts = lb.example.test\n",
	  "@F@:1: proxy_required_hosts: bad host list item \"lb.example.test\" (use *, an IP "
	  "address or a CIDR; double each colon of an IPv6 address)" },
	{ "host list: items with a $variable are checked later, the others now",
	  "tls_advertise_hosts = $trusted : 10.0.0.0/40\n",
	  "@F@:1: tls_advertise_hosts: bad host list item \"10.0.0.0/40\" (use *, an IP address or "
	  "a CIDR; double each colon of an IPv6 address)" },
	{ "bad test_clock", "test_clock = 2026-02-30T00:00:00Z\n",
	  "@F@:1: test_clock: bad time stamp \"2026-02-30T00:00:00Z\" (use 2026-01-01T00:00:00Z or "
	  "seconds since the epoch)" },
	{ "expansion syntax error in an ACL (refmta check)",
	  "acl_smtp_rcpt:\n  accept condition = ${if eq{a}{b}\n",
	  "@F@:2: condition: expansion error at offset 13: expected \"}\" to end ${if" },
	{ "unknown lookup type in an ACL", "acl_smtp_rcpt:\n  deny message = ${lookup{k}cdb{/x}}\n",
	  "@F@:2: message: expansion error at offset 14: unknown lookup type \"cdb\" (lsearch, "
	  "iplsearch, lmdb, redis, dnsdb, spf)" },
	{ "set without a variable", "acl_smtp_rcpt:\n  warn set = 1\n",
	  "@F@:2: set: expected \"set acl_c_NAME = VALUE\" (or acl_m_NAME)" },
	{ "set of another variable", "acl_smtp_rcpt:\n  warn set domain = 1\n",
	  "@F@:2: set: expected acl_c_NAME or acl_m_NAME (or acl_c0..9, acl_m0..9), got "
	  "\"domain\"" },
	{ "duplicate named list", "hostlist a = 1.2.3.4\ndomainlist a = x.test\n",
	  "@F@:2: duplicate named list \"a\" (first on line 1)" },
	{ "named list without =", "hostlist a 1.2.3.4\n",
	  "@F@:1: hostlist: expected \"hostlist NAME = LIST\"" },
	{ "macro defined twice differently", "M = 1\nM = 2\n", "@F@:2: macro M defined twice" },
	{ "unknown named list in an ACL", "acl_smtp_rcpt:\n  accept hosts = 1.2.3.4 : !+nosuch\n",
	  "@F@:2: hosts: no hostlist named \"nosuch\"" },
	{ "named list of another kind", "domainlist d = x.test\nhostlist h = +d\n",
	  "@F@:2: no hostlist named \"d\"" },
	{ "duplicate named ACL", "acl x:\n  accept\nacl x:\n  deny\n",
	  "@F@:3: duplicate acl \"x\"" },
	{ "a line that is neither", "hello world\n",
	  "@F@:1: expected \"name = value\" or a block header (\"acl_smtp_rcpt:\", \"transport "
	  "NAME:\", \"router NAME:\"), got \"hello world\"" },
	{ "unknown ACL block", "acl_smtp_quit:\n  accept\n",
	  "@F@:1: unknown block \"acl_smtp_quit:\" (use acl_smtp_connect, acl_smtp_helo, "
	  "acl_smtp_mail, acl_smtp_rcpt, acl_smtp_data, acl_smtp_data_prdr, acl NAME, transport "
	  "NAME "
	  "or router NAME)" },
	{ "transport without a name", "transport:\n  driver = smtp\n",
	  "@F@:1: transport: bad or missing name \"\" (use letters, digits, _ - .)" },
	{ "duplicate ACL block", "acl_smtp_rcpt:\n  accept\n\nacl_smtp_rcpt:\n  deny\n",
	  "@F@:4: duplicate block \"acl_smtp_rcpt:\" (first on line 1)" },
	{ "duplicate transport", "transport t:\n  driver = smtp\ntransport t:\n  driver = smtp\n",
	  "@F@:3: duplicate transport \"t\" (first on line 1)" },
	{ "indented line outside a block", "listen = 127.0.0.1:25\n  accept\n",
	  "@F@:2: indented line outside a block: \"accept\"" },
	{ "block option without =", "router r:\n  driver accept\n",
	  "@F@:2: router r: expected \"name = value\", got \"driver accept\"" },
	{ "duplicate block option", "router r:\n  driver = accept\n  driver = redirect\n",
	  "@F@:3: router r: duplicate option \"driver\" (first set on line 2)" },
	{ "ACL item before any verb", "acl_smtp_rcpt:\n  domains = example.test\n",
	  "@F@:2: \"domains = example.test\" comes before any verb (accept, deny, defer, drop or "
	  "warn)" },
	{ "ACL condition not built yet", "acl_smtp_data:\n  deny dane_status = ok\n",
	  "@F@:2: unknown ACL condition or modifier \"dane_status\" (conditions: hosts, domains, "
	  "local_parts, senders, recipients, encrypted, condition, ratelimit, spf, spf_guess, "
	  "dmarc_status, dkim_status, dkim_signers; modifiers: message, log_message, add_header, "
	  "delay, set, logwrite, control)" },
	{ "ACL control under the seed's older name",
	  "acl_smtp_rcpt:\n  warn control = "
	  "dmarc_verify_disable\n",
	  "@F@:2: control \"dmarc_verify_disable\" is the seed's older name: did you mean "
	  "\"dmarc_disable_verify\"?" },
	{ "ACL control unknown", "acl_smtp_rcpt:\n  warn control = no_such_thing\n",
	  "@F@:2: unknown control \"no_such_thing\" (known: dmarc_disable_verify, "
	  "dmarc_enable_forensic)" },
	{ "ACL dmarc_status with an unknown word",
	  "acl_smtp_data:\n  deny dmarc_status = rejected\n",
	  "@F@:2: dmarc_status: unknown result \"rejected\" (use accept, reject, quarantine, none, "
	  "norecord, nofrom, temperror, off)" },
	{ "ACL spf with an unknown result word", "acl_smtp_rcpt:\n  deny spf = fail : err_tmp\n",
	  "@F@:2: spf: unknown result \"err_tmp\" (use pass, fail, softfail, neutral, none, "
	  "permerror, temperror; err_perm, err_temp)" },
	{ "ACL bad regex", "acl_smtp_rcpt:\n  deny\n    condition = $local_part =~ a{2\n",
	  "@F@:3: condition: bad regex \"a{2\": Unmatched \\{" },
	{ "ACL regex whose automaton would exhaust memory",
	  "acl_smtp_rcpt:\n  deny\n    condition = $local_part =~ ((a{255}){255}){255}\n",
	  "@F@:3: condition: bad regex \"((a{255}){255}){255}\": repetition counts multiply to "
	  "more than 10000" },
	{ "ACL bad host in a continued item",
	  "acl_smtp_rcpt:\n  accept hosts = 127.0.0.1 : \\\n"
	  "     1.2.3.4.5\n",
	  "@F@:2: hosts: bad host list item \"1.2.3.4.5\" (use *, an IP address or a CIDR; double "
	  "each colon of an IPv6 address)" },
	{ "ACL negated modifier", "acl_smtp_rcpt:\n  deny !message = x\n",
	  "@F@:2: \"!message\": only conditions can be negated" },
	{ "ACL encrypted value", "acl_smtp_mail:\n  deny encrypted = maybe\n",
	  "@F@:2: encrypted: expected yes or no, got \"maybe\"" },
};

static char *
placeholders(const char *s)
{
	size_t cap = strlen(s) + 1;
	char *out;

	for (const char *p = s; (p = strchr(p, '@')) != NULL; p++)
		cap += strlen(conf) + strlen(dir);
	out = calloc(1, cap);
	assert_non_null(out);
	for (const char *p = s; *p != '\0';) {
		if (strncmp(p, "@F@", 3) == 0) {
			strcat(out, conf);
			p += 3;
		} else if (strncmp(p, "@D@", 3) == 0) {
			strcat(out, dir);
			p += 3;
		} else {
			strncat(out, p, 1);
			p++;
		}
	}
	return out;
}

static void
test_bad_row(void **state)
{
	const struct bad_row *r = *state;
	struct config *cfg = (struct config *)1;
	struct err e = { 0 };
	char *want = placeholders(r->error);
	int rc;

	write_conf(r->text);
	rc = config_load(conf, &cfg, &e);
	if (rc == 0) {
		config_free(cfg);
		free(want);
		fail_msg("%s: loaded, want error", r->why);
	}
	assert_null(cfg);
	if (strcmp(e.text, want) != 0) {
		char msg[1200];
		snprintf(msg, sizeof msg, "%s:\n  want %s\n  got  %s", r->why, want, e.text);
		free(want);
		fail_msg("%s", msg);
	}
	free(want);
}

static void
test_missing_file(void **state)
{
	struct config *cfg = NULL;
	struct err e = { 0 };
	char path[PATH_MAX + 32];

	(void)state;
	snprintf(path, sizeof path, "%s/no-such.conf", dir);
	assert_int_equal(config_load(path, &cfg, &e), -1);
	assert_null(cfg);
	assert_non_null(strstr(e.text, "/no-such.conf: cannot open: No such file or directory"));
}

#define NBADS (sizeof bad_rows / sizeof bad_rows[0])

int
main(void)
{
	struct CMUnitTest tests[1 + NBADS];
	char names[NBADS][160];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_missing_file);
	for (size_t i = 0; i < NBADS; i++) {
		snprintf(names[i], sizeof names[i], "error: %s", bad_rows[i].why);
		tests[n++] = (struct CMUnitTest){ .name = names[i],
			                          .test_func = test_bad_row,
			                          .initial_state = (void *)&bad_rows[i] };
	}
	return _cmocka_run_group_tests("config_errors", tests, n, setup_dir, teardown_dir);
}
