/*
 * clock_test.c - lib/clock.c: the frozen clock, the two UTC formats, and
 * the parser's strictness (only "YYYY-MM-DDTHH:MM:SSZ" or a plain epoch).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define T_2026 ((time_t)1795310625) /* 2026-11-22T01:23:45Z, a Sunday */

static void
test_now_is_real_time_unless_frozen(void **state)
{
	(void)state;
	clock_unfreeze();
	assert_false(clock_is_frozen());
	time_t before = time(NULL), now = clock_now(), after = time(NULL);
	assert_true(now >= before && now <= after);

	clock_freeze(T_2026);
	assert_true(clock_is_frozen());
	assert_int_equal(clock_now(), T_2026);
	assert_int_equal(clock_now(), T_2026);
	clock_freeze(0);
	assert_int_equal(clock_now(), 0);
	clock_unfreeze();
	assert_false(clock_is_frozen());
	assert_true(clock_now() >= before);
}

static void
test_format_log(void **state)
{
	char buf[64];

	(void)state;
	clock_format_log(T_2026, buf, sizeof buf);
	assert_string_equal(buf, "2026-11-22 01:23:45");
	clock_format_log(0, buf, sizeof buf);
	assert_string_equal(buf, "1970-01-01 00:00:00");
	clock_format_log(951782400, buf, sizeof buf); /* leap day 2000 */
	assert_string_equal(buf, "2000-02-29 00:00:00");
}

static void
test_format_rfc5322(void **state)
{
	char buf[64];

	(void)state;
	clock_format_rfc5322(T_2026, buf, sizeof buf);
	assert_string_equal(buf, "Sun, 22 Nov 2026 01:23:45 +0000");
	clock_format_rfc5322(0, buf, sizeof buf);
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static void
test_format_small_buffer_is_truncated_safely(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof buf);
	clock_format_log(T_2026, buf, sizeof buf);
	assert_string_equal(buf, "2026-11");
	clock_format_rfc5322(T_2026, buf, sizeof buf);
	assert_string_equal(buf, "Sun, 22");
}

static void
test_parse_iso(void **state)
{
	time_t t = 1;

	(void)state;
	assert_int_equal(clock_parse("2026-11-22T01:23:45Z", &t), 0);
	assert_int_equal(t, T_2026);
	assert_int_equal(clock_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(clock_parse("2024-02-29T23:59:59Z", &t), 0);
	assert_int_equal(t, 1709251199);
	assert_int_equal(clock_parse("2036-01-01T00:00:00Z", &t), 0); /* ten years on */
	assert_int_equal(t, 2082758400);
}

static void
test_parse_epoch(void **state)
{
	time_t t = 1;

	(void)state;
	assert_int_equal(clock_parse("0", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(clock_parse("1795310625", &t), 0);
	assert_int_equal(t, T_2026);
	assert_int_equal(clock_parse("0001795310625", &t), 0);
	assert_int_equal(t, T_2026);
}

static void
test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		" 1795310625",
		"1795310625 ",
		"-5",
		"+5",
		"12a",
		"0x10",
		"1e9",
		"99999999999999999999999999",
		"2026-11-22 01:23:45",
		"2026-11-22T01:23:45",
		"2026-11-22T01:23:45+00:00",
		"2026-11-22t01:23:45z",
		"2026-11-22T01:23:45Zjunk",
		"2026-02-30T00:00:00Z",
		"2025-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-11-22T24:00:00Z",
		"2026-11-22T23:60:00Z",
		"2026-11-22T23:59:60Z",
		"20a6-11-22T01:23:45Z",
		"2026-1-22T01:23:45Z",
	};
	time_t t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (clock_parse(bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 42); /* untouched on failure */
	}
	assert_int_equal(clock_parse(NULL, &t), -1);
	assert_int_equal(clock_parse("0", NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_now_is_real_time_unless_frozen),
		cmocka_unit_test(test_format_log),
		cmocka_unit_test(test_format_rfc5322),
		cmocka_unit_test(test_format_small_buffer_is_truncated_safely),
		cmocka_unit_test(test_parse_iso),
		cmocka_unit_test(test_parse_epoch),
		cmocka_unit_test(test_parse_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
