/*
 * dsn_param_test.c - RFC 3461 xtext, NOTIFY and RET (server/dsn_param.c):
 * one row per rule, every octet through encode and decode, the buffer
 * limits, and NOTIFY's bits through format and parse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dsn_param.h"

static void
test_xtext_encode(void **state)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "", "" },
		{ "plain!~", "plain!~" },
		{ "a+b=c d", "a+2Bb+3Dc+20d" }, /* "+", "=" and space are escaped */
		{ "\xc3\xa9\t\r\n", "+C3+A9+09+0D+0A" },
		{ "\x7f", "+7F" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		assert_int_equal(dsn_param_xtext_encode(rows[i].in, out, sizeof out), 0);
		assert_string_equal(out, rows[i].want);
	}
	/* Exactly enough room, then one octet short: "" and -1. */
	assert_int_equal(dsn_param_xtext_encode("abc+", out, 7), 0);
	assert_string_equal(out, "abc+2B");
	assert_int_equal(dsn_param_xtext_encode("abc+", out, 6), -1);
	assert_string_equal(out, "");
	assert_int_equal(dsn_param_xtext_encode("", out, 0), -1);
}

static void
test_xtext_decode(void **state)
{
	static const struct {
		const char *in, *want; /* want NULL: refused */
	} rows[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "a+20b+3Dc+2B", "a b=c+" },
		{ "+C3+A9", "\xc3\xa9" },
		{ "a=b", NULL },   /* "=" is never raw */
		{ "a b", NULL },   /* nor a space */
		{ "a\x7f", NULL }, /* nor DEL */
		{ "a+2b", NULL },  /* RFC 3461 4: upper-case hex only */
		{ "a+ZZ", NULL },
		{ "a+2", NULL }, /* truncated escape */
		{ "a+", NULL },
		{ "a+00b", NULL }, /* an encoded NUL would cut the string */
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int rc = dsn_param_xtext_decode(rows[i].in, out, sizeof out);
		if (rows[i].want == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" decoded to \"%s\", want refused", rows[i].in, out);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(out, rows[i].want);
		}
	}
	assert_int_equal(dsn_param_xtext_decode("01234", out, 6), 0);
	assert_int_equal(dsn_param_xtext_decode("012345", out, 6), -1); /* no room for the NUL */
	assert_int_equal(dsn_param_xtext_decode("", out, 0), -1);
}

static void
test_xtext_every_octet_round_trips(void **state)
{
	char in[256], enc[3 * 255 + 1], dec[256];

	(void)state;
	for (int c = 1; c < 256; c++)
		in[c - 1] = (char)c;
	in[255] = '\0';
	assert_int_equal(dsn_param_xtext_encode(in, enc, sizeof enc), 0);
	/* An encoding carries no octet an SMTP line or the spool could split on. */
	for (const char *p = enc; *p != '\0'; p++)
		assert_true(*p >= '!' && *p <= '~' && *p != '=');
	assert_int_equal(dsn_param_xtext_decode(enc, dec, sizeof dec), 0);
	assert_string_equal(dec, in);
}

static void
test_notify_parse(void **state)
{
	static const struct {
		const char *in;
		int rc;
		unsigned want;
	} rows[] = {
		{ "NEVER", 0, DSN_NOTIFY_NEVER },
		{ "SUCCESS", 0, DSN_NOTIFY_SUCCESS },
		{ "DELAY,FAILURE,SUCCESS", 0,
		  DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY },
		{ "failure,Delay", 0, DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY }, /* any case */
		{ "", -1, 0 },
		{ "NEVER,SUCCESS", -1, 0 }, /* RFC 3461 4.1: NEVER stands alone */
		{ "SUCCESS,NEVER", -1, 0 },
		{ "SUCCESS,SUCCESS", -1, 0 },
		{ "SUCCESS,,DELAY", -1, 0 },
		{ ",SUCCESS", -1, 0 },
		{ "SUCCESS,", -1, 0 },
		{ "SUCCESSFUL", -1, 0 },
		{ "SUCCESS DELAY", -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		unsigned bits = 99;
		int rc = dsn_param_notify_parse(rows[i].in, &bits);
		if (rc != rows[i].rc || bits != rows[i].want)
			fail_msg("NOTIFY=%s: rc %d bits %#x, want rc %d bits %#x", rows[i].in, rc,
			         bits, rows[i].rc, rows[i].want);
	}
}

static void
test_notify_format(void **state)
{
	char out[DSN_NOTIFY_NAMES_MAX];
	unsigned all = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;

	(void)state;
	assert_int_equal(dsn_param_notify_format(0, out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(dsn_param_notify_format(DSN_NOTIFY_NEVER, out, sizeof out), 0);
	assert_string_equal(out, "NEVER");
	assert_int_equal(
	        dsn_param_notify_format(DSN_NOTIFY_DELAY | DSN_NOTIFY_SUCCESS, out, sizeof out), 0);
	assert_string_equal(out, "SUCCESS,DELAY");
	assert_int_equal(dsn_param_notify_format(all, out, sizeof out), 0);
	assert_string_equal(out, "SUCCESS,FAILURE,DELAY");
	assert_int_equal(dsn_param_notify_format(all, out, 22), 0);
	assert_int_equal(dsn_param_notify_format(all, out, 21), -1);
	assert_string_equal(out, "");
	assert_int_equal(dsn_param_notify_format(0x10, out, sizeof out), -1);
	/* Every valid set of bits survives format then parse. */
	for (unsigned bits = 1; bits < 16; bits++) {
		unsigned back;
		if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
			continue;
		assert_int_equal(dsn_param_notify_format(bits, out, sizeof out), 0);
		assert_int_equal(dsn_param_notify_parse(out, &back), 0);
		assert_int_equal(back, bits);
	}
}

static void
test_ret(void **state)
{
	enum dsn_ret ret = DSN_RET_UNSET;

	(void)state;
	assert_int_equal(dsn_param_ret_parse("FULL", &ret), 0);
	assert_int_equal(ret, DSN_RET_FULL);
	assert_int_equal(dsn_param_ret_parse("hdrs", &ret), 0);
	assert_int_equal(ret, DSN_RET_HDRS);
	assert_int_equal(dsn_param_ret_parse("NONE", &ret), -1);
	assert_int_equal(dsn_param_ret_parse("", &ret), -1);
	assert_int_equal(dsn_param_ret_parse("FULLY", &ret), -1);
	assert_int_equal(ret, DSN_RET_HDRS); /* untouched by a refusal */
	assert_string_equal(dsn_param_ret_name(DSN_RET_FULL), "FULL");
	assert_string_equal(dsn_param_ret_name(DSN_RET_HDRS), "HDRS");
	assert_null(dsn_param_ret_name(DSN_RET_UNSET));
	assert_null(dsn_param_ret_name((enum dsn_ret)7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xtext_encode),
		cmocka_unit_test(test_xtext_decode),
		cmocka_unit_test(test_xtext_every_octet_round_trips),
		cmocka_unit_test(test_notify_parse),
		cmocka_unit_test(test_notify_format),
		cmocka_unit_test(test_ret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
