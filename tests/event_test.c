/*
 * event_test.c - the event module (server/event.c, docs/events.md): which
 * results force, every variable an event gives (and the seed's older
 * names), the receiving side's session variables behind them, the
 * "failed to expand event_action EVENT" line, and docs/events.md listing
 * every variable.
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

#include "event.h"
#include "log.h"
#include "testutil.h"

static const struct event delivery = {
	.name = "msg:host:defer",
	.data = "Connection refused",
	.defer_errno = 111,
	.msg_id = "T-000001",
	.sender_address = "alice@example.test",
	.router_name = "partners",
	.transport_name = "remote_smtp",
	.local_part = "bob",
	.domain = "partner.test",
	.host = "mx1.partner.test",
	.host_address = "127.0.0.2",
	.host_port = 2526,
	.sending_ip_address = "127.0.0.1",
	.sending_port = 40000,
	.lookup_dnssec_authenticated = "yes",
	.tls_out_dane = "no",
};

/* The action's result is non-empty exactly when the condition holds, so
 * event_raise() returning 1 says the variables were as wanted. */
static void
test_variables(void **state)
{
	(void)state;
	assert_int_equal(
	        event_raise(NULL,
	                    "${if eq{$event_name|$event_data|$event_defer_errno|$message_exim_id|"
	                    "$message_id|$sender_address|$router_name|$transport_name|$local_part@"
	                    "$domain|$host|$host_address|$host_port|$sending_ip_address|"
	                    "$sending_port|$lookup_dnssec_authenticated|$tls_out_dane}"
	                    "{msg:host:defer|Connection refused|111|T-000001|T-000001|"
	                    "alice@example.test|partners|remote_smtp|bob@partner.test|"
	                    "mx1.partner.test|127.0.0.2|2526|127.0.0.1|40000|yes|no}{yes}{}}",
	                    &delivery),
	        1);
	/* The seed's older names read the same values. */
	assert_int_equal(event_raise(NULL,
	                             "${if eq{$tpda_event|$tpda_data|$tpda_defer_errno}"
	                             "{msg:host:defer|Connection refused|111}{yes}{}}",
	                             &delivery),
	                 1);
}

static void
test_forcing(void **state)
{
	struct event ev = { .name = "tcp:connect" };
	const char *action = "${if eq{$event_name}{tcp:connect}{do not}{}}";

	(void)state;
	assert_int_equal(event_raise(NULL, action, &ev), 1);
	ev.name = "tcp:close";
	assert_int_equal(event_raise(NULL, action, &ev), 0); /* empty: nothing forced */
	assert_int_equal(event_raise(NULL, NULL, &ev), 0);   /* no action */
	assert_int_equal(event_raise(NULL, "", &ev), 0);
	/* A forced failure is not an error and forces nothing. */
	assert_int_equal(event_raise(NULL, "${if eq{a}{b}{x}fail}", &ev), 0);
	/* Unset facts are empty. */
	assert_int_equal(event_raise(NULL, "$host$event_data$local_part", &ev), 0);
}

/* Receiving side: the session's variables stand behind the event's. */
static const char *
v_helo(const void *ctx, char *buf, size_t len)
{
	(void)buf, (void)len;
	return ctx;
}

static void
test_session_variables(void **state)
{
	static const struct expand_var more[] = {
		{ "sender_helo_name", v_helo, "" },
		{ "domain", v_helo, "" },
	};
	struct event ev = {
		.name = "smtp:fail:syntax", .more = more, .nmore = 2, .more_ctx = "client.test"
	};

	(void)state;
	assert_int_equal(event_raise(NULL, "${if eq{$sender_helo_name}{client.test}{y}{}}", &ev),
	                 1);
	/* An event fact that is unset lets the session's value through. */
	assert_int_equal(event_raise(NULL, "${if eq{$domain}{client.test}{y}{}}", &ev), 1);
	ev.domain = "partner.test";
	assert_int_equal(event_raise(NULL, "${if eq{$domain}{partner.test}{y}{}}", &ev), 1);
}

static void
test_error_logged(void **state)
{
	char dir[] = "/tmp/event_test.XXXXXX", path[64];
	struct err e = { 0 };
	char *log;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/main.log", dir);
	assert_int_equal(log_open(path, &e), 0);
	assert_int_equal(event_raise(NULL, "${acl{missing}}", &delivery), 0);
	log_close();
	log = test_slurp(path);
	assert_non_null(strstr(log, "T-000001 failed to expand event_action msg:host:defer: at "
	                            "offset 15: ${acl{missing}}: no ACL named \"missing\"\n"));
	free(log);
	unlink(path);
	rmdir(dir);
}

static void
test_documented(void **state)
{
	char *doc = test_slurp("docs/events.md");

	(void)state;
	for (size_t i = 0; i < event_nvars; i++) {
		char want[80];
		snprintf(want, sizeof want, "`$%s`", event_vars[i].name);
		if (strstr(doc, want) == NULL)
			fail_msg("docs/events.md does not list %s", want);
	}
	free(doc);
}

static void
test_pem(void **state)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	char *pem = event_der_to_pem(der, sizeof der);

	(void)state;
	assert_string_equal(pem, "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n"
	                         "-----END CERTIFICATE-----\n");
	free(pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables),         cmocka_unit_test(test_forcing),
		cmocka_unit_test(test_session_variables), cmocka_unit_test(test_error_logged),
		cmocka_unit_test(test_documented),        cmocka_unit_test(test_pem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
