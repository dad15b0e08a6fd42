/*
 * deliver_vars_test.c - the delivery side's variables and option expansion
 * (server/deliver_vars.c): how an address and a sender are split, each
 * variable's value, and what forced failure and errors say.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_vars.h"

struct row {
	const char *why;
	const char *address, *sender;
	const char *tmpl;
	int status;       /* EXPAND_OK, EXPAND_FAIL, EXPAND_ERROR */
	const char *want; /* the result, or the reason */
};

static const struct row rows[] = {
	{ "local part and domain from the address", "Bob@Partner.test", "a@example.test",
	  "$local_part|$domain", EXPAND_OK, "Bob|Partner.test" },
	{ "the last @ splits", "\"a@b\"@partner.test", "", "$local_part|$domain", EXPAND_OK,
	  "\"a@b\"|partner.test" },
	{ "a bare local part has no domain", "postmaster", "", "[$local_part][$domain]", EXPAND_OK,
	  "[postmaster][]" },
	{ "no address: both empty", NULL, "", "[$local_part][$domain]", EXPAND_OK, "[][]" },
	{ "the sender and its parts", "b@p.test", "alice@example.test",
	  "$sender_address $sender_address_local_part $sender_address_domain", EXPAND_OK,
	  "alice@example.test alice example.test" },
	{ "the null sender: all empty", "b@p.test", NULL,
	  "[$sender_address][$sender_address_local_part][$sender_address_domain]", EXPAND_OK,
	  "[][][]" },
	{ "names and ids", "b@p.test", "",
	  "$router_name $transport_name $message_id $message_exim_id", EXPAND_OK,
	  "r1 t1 T-000001 T-000001" },
	{ "host variables", "b@p.test", "", "$host [$host_address]:$host_port", EXPAND_OK,
	  "mx.p.test [127.0.0.2]:2526" },
	{ "a value is never expanded again", "$domain@p.test", "", "$local_part", EXPAND_OK,
	  "$domain" },
	{ "forced failure names the owner and option", "b@p.test", "",
	  "${if eq{$domain}{x}{y}fail}", EXPAND_FAIL,
	  "router r1: route_data: forced failure (${if} condition false)" },
	{ "an error names the owner, option, text and offset", "b@p.test", "", "${lc:$domain",
	  EXPAND_ERROR, "router r1: failed to expand route_data \"${lc:$domain\": at offset " },
};

static void
test_row(void **state)
{
	const struct row *r = *state;
	struct deliver_vars v;
	char why[600] = "", *out = NULL;
	int rc;

	deliver_vars_init(&v, "T-000001", r->sender, r->address, "r1", "t1");
	v.host = "mx.p.test";
	v.host_address = "127.0.0.2";
	v.host_port = 2526;
	rc = deliver_vars_expand(NULL, &v, "router r1", "route_data", r->tmpl, &out, why,
	                         sizeof why);
	if (rc != r->status)
		fail_msg("%s: status %d, want %d (%s)", r->why, rc, r->status, why);
	if (rc == EXPAND_OK) {
		if (strcmp(out, r->want) != 0)
			fail_msg("%s:\n  want %s\n  got  %s", r->why, r->want, out);
	} else {
		assert_null(out);
		if (strncmp(why, r->want, strlen(r->want)) != 0)
			fail_msg("%s:\n  want %s...\n  got  %s", r->why, r->want, why);
	}
	free(out);
}

static void
test_no_port_is_empty(void **state)
{
	struct deliver_vars v;
	char why[300], *out = NULL;

	(void)state;
	deliver_vars_init(&v, "T-1", "", "b@p.test", "r", NULL);
	assert_int_equal(deliver_vars_expand(NULL, &v, "router r", "route_data",
	                                     "[$host_port][$host][$transport_name]", &out, why,
	                                     sizeof why),
	                 EXPAND_OK);
	assert_string_equal(out, "[][][]");
	free(out);
}

static void
test_acl_refused_without_config(void **state)
{
	struct deliver_vars v;
	char why[300], *out = NULL;

	(void)state;
	deliver_vars_init(&v, "T-1", "", "b@p.test", "r", NULL);
	assert_int_equal(deliver_vars_expand(NULL, &v, "router r", "route_data", "${acl{x}}", &out,
	                                     why, sizeof why),
	                 EXPAND_ERROR);
	assert_null(out);
}

static void
test_valid(void **state)
{
	(void)state;
	assert_int_equal(deliver_vars_valid("${lookup{$domain}lsearch{/f}}"), 1);
	assert_int_equal(deliver_vars_valid("plain"), 1);
	assert_int_equal(deliver_vars_valid("${if eq{a}"), 0);
}

int
main(void)
{
	struct CMUnitTest tests[sizeof rows / sizeof rows[0] + 3];
	size_t n = 0;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test(test_row);
		tests[n].name = rows[i].why;
		tests[n].initial_state = (void *)&rows[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_no_port_is_empty);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_acl_refused_without_config);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_valid);
	return _cmocka_run_group_tests("deliver_vars", tests, n, NULL, NULL);
}
