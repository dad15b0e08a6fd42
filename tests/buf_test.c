/*
 * buf_test.c - the growable text buffer (lib/buf.c): appends of every kind
 * across growth, formatted text longer than the stack buffer, binary data,
 * taking and freeing, and out of memory sticking.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void
test_append_and_take(void **state)
{
	struct buf b = { 0 };
	char *s;

	(void)state;
	buf_adds(&b, "refmta-envelope ");
	buf_addf(&b, "%d\n", 2);
	buf_add(&b, "id T-1\nxx", 7);
	assert_int_equal(b.len, 25);
	assert_string_equal(b.p, "refmta-envelope 2\nid T-1\n");
	s = buf_take(&b);
	assert_string_equal(s, "refmta-envelope 2\nid T-1\n");
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	free(s);
}

static void
test_empty(void **state)
{
	struct buf b = { 0 };
	char *s;

	(void)state;
	s = buf_take(&b); /* nothing appended: "" all the same */
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	buf_add(&b, "", 0);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	buf_free(&b);
	assert_null(b.p);
	buf_free(&b); /* twice is fine */
}

static void
test_growth_and_binary(void **state)
{
	struct buf b = { 0 };

	(void)state;
	for (int i = 0; i < 100000; i++)
		buf_add(&b, (i % 2) ? "\0" : "ab", (i % 2) ? 1 : 2);
	assert_false(b.oom);
	assert_int_equal(b.len, 150000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.p[b.len], '\0');
	assert_memory_equal(b.p, "ab\0ab\0", 6);
	buf_free(&b);
}

static void
test_long_format(void **state)
{
	struct buf b = { 0 };
	char big[5000];

	(void)state;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	buf_adds(&b, "<");
	buf_addf(&b, "%s|%s", big, "end"); /* longer than the stack buffer */
	assert_int_equal(b.len, 1 + 4999 + 4);
	assert_string_equal(b.p + 1 + 4999, "|end");
	buf_free(&b);
}

static void
test_oom_sticks(void **state)
{
	struct buf b = { 0 };

	(void)state;
	buf_adds(&b, "kept");
	buf_add(&b, "x", SIZE_MAX - 8); /* cannot be had */
	assert_true(b.oom);
	buf_adds(&b, "more");
	buf_addf(&b, "%d", 42);
	assert_int_equal(b.len, 4); /* nothing more was appended */
	assert_null(buf_take(&b));  /* and the text is freed */
	assert_null(b.p);
	assert_false(b.oom); /* the buffer is empty again, usable */
	buf_adds(&b, "again");
	assert_string_equal(b.p, "again");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_take),   cmocka_unit_test(test_empty),
		cmocka_unit_test(test_growth_and_binary), cmocka_unit_test(test_long_format),
		cmocka_unit_test(test_oom_sticks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
