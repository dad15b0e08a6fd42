/*
 * fakedns_names_test.c - fakedns/names.c: normalising a name to lower case
 * with its final dot, label counts, parents, and "at or below" by whole
 * labels.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "names.h"

static void
test_names(void **state)
{
	char n[FD_NAME_MAX] = "Mx.Example.TEST";

	(void)state;
	assert_int_equal(name_normalise(n, sizeof(n)), 0);
	assert_string_equal(n, "mx.example.test.");
	assert_true(name_is_at_or_below("_25._tcp.mx.example.test.", "example.test."));
	assert_true(name_is_at_or_below("example.test.", "example.test."));
	assert_false(name_is_at_or_below("xexample.test.", "example.test."));
	assert_true(name_is_at_or_below("anything.", "."));
	assert_int_equal(name_label_count("."), 0);
	assert_int_equal(name_label_count("_tcp.mx.example.test."), 4);
	assert_string_equal(name_parent("mx.example.test."), "example.test.");
	assert_string_equal(name_parent("test."), ".");
	assert_string_equal(name_parent("."), ".");
	strcpy(n, "");
	assert_int_equal(name_normalise(n, sizeof(n)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
