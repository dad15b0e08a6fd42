/*
 * strutil_test.c - the small string helpers (lib/strutil.c): the one
 * decimal parser (digits only, bounded, syntax told apart from range),
 * booleans, C escapes and "did you mean".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "strutil.h"

static void
test_parse_u64(void **state)
{
	static const struct {
		const char *in;
		uint64_t max;
		enum str_num rc;
		uint64_t want;
	} rows[] = {
		{ "0", UINT64_MAX, STR_NUM_OK, 0 },
		{ "007", UINT64_MAX, STR_NUM_OK, 7 },
		{ "65535", 65535, STR_NUM_OK, 65535 },
		{ "65536", 65535, STR_NUM_RANGE, 0 },
		{ "7", 5, STR_NUM_RANGE, 0 }, /* one digit above a one-digit max */
		{ "18446744073709551615", UINT64_MAX, STR_NUM_OK, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, STR_NUM_RANGE, 0 },
		{ "99999999999999999999999", UINT64_MAX, STR_NUM_RANGE, 0 },
		{ "99999999999999999999x", UINT64_MAX, STR_NUM_SYNTAX, 0 }, /* syntax first */
		{ "", UINT64_MAX, STR_NUM_SYNTAX, 0 },
		{ "+1", UINT64_MAX, STR_NUM_SYNTAX, 0 },
		{ "-1", UINT64_MAX, STR_NUM_SYNTAX, 0 },
		{ " 1", UINT64_MAX, STR_NUM_SYNTAX, 0 },
		{ "1 ", UINT64_MAX, STR_NUM_SYNTAX, 0 },
		{ "0x10", UINT64_MAX, STR_NUM_SYNTAX, 0 },
		{ "0", 0, STR_NUM_OK, 0 },
		{ "1", 0, STR_NUM_RANGE, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint64_t v = 12345;
		enum str_num rc = str_parse_u64(rows[i].in, strlen(rows[i].in), rows[i].max, &v);
		if (rc != rows[i].rc || (rc == STR_NUM_OK && v != rows[i].want) ||
		    (rc != STR_NUM_OK && v != 12345))
			fail_msg("\"%s\" max %llu: rc %d value %llu", rows[i].in,
			         (unsigned long long)rows[i].max, (int)rc, (unsigned long long)v);
	}
}

static void
test_parse_u64_length(void **state)
{
	uint64_t v = 0;

	(void)state;
	/* Only `n` octets count: a prefix, as a parser of "25:rest" needs. */
	assert_int_equal(str_parse_u64("25:rest", 2, 65535, &v), STR_NUM_OK);
	assert_int_equal(v, 25);
	assert_int_equal(str_parse_u64("25:rest", 3, 65535, &v), STR_NUM_SYNTAX);
	assert_int_equal(str_parse_u64("25", 0, 65535, &v), STR_NUM_SYNTAX);
}

static void
test_has_var_ref(void **state)
{
	(void)state;
	assert_true(str_has_var_ref("$sender_host_address"));
	assert_true(str_has_var_ref("x ${domain} y"));
	assert_true(str_has_var_ref("$1"));
	assert_true(str_has_var_ref("$$ and $_x"));
	assert_true(str_has_var_ref("${"));
	assert_true(str_has_var_ref("$$$a"));
	assert_false(str_has_var_ref("^a.*$"));
	assert_false(str_has_var_ref("cost: $$5"));
	assert_false(str_has_var_ref("a $ b"));
	assert_false(str_has_var_ref("$Domain")); /* upper case is no name character */
	assert_false(str_has_var_ref("$"));
	assert_false(str_has_var_ref(""));
}

static void
test_parse_bool(void **state)
{
	int v = -1;

	(void)state;
	assert_int_equal(str_parse_bool("Yes", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(str_parse_bool("FALSE", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(str_parse_bool("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(str_parse_bool("on", &v), -1);
	assert_int_equal(str_parse_bool("", &v), -1);
}

static void
test_unescape(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(str_unescape("a\\r\\n\\t\\\\\\x41", out, sizeof out), 6);
	assert_memory_equal(out, "a\r\n\t\\A", 6);
	assert_int_equal(str_unescape("abcdef", out, 3), 3); /* bounded, no NUL added */
}

static void
test_closest(void **state)
{
	static const char *const names[] = { "tls_certificate", "tls_privatekey", "listen" };

	(void)state;
	assert_int_equal(str_edit_distance("listen", "listen"), 0);
	assert_int_equal(str_edit_distance("lisen", "listen"), 1);
	assert_string_equal(str_closest("tls_sertificate", names, 3, 2), "tls_certificate");
	assert_null(str_closest("spool_directory", names, 3, 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),   cmocka_unit_test(test_parse_u64_length),
		cmocka_unit_test(test_has_var_ref), cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_unescape),    cmocka_unit_test(test_closest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
