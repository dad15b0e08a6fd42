/*
 * smtp_reply_test.c - server/smtp_reply.c: replies read over a socketpair
 * (multi-line, enhanced codes of the right class only, malformed lines, a
 * code that changes mid-reply, too many lines, the peer closing), EHLO
 * keywords, and xtext.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bio.h"
#include "smtp_parse.h"
#include "smtp_reply.h"

/* Read one reply from `wire` (written whole, then the writer closes). */
static enum smtp_reply_read
read_from(const char *wire, size_t len, struct smtp_reply *r, struct err *e)
{
	static struct bio b;
	struct timeval tv = { .tv_sec = 5 };
	int sv[2];
	enum smtp_reply_read rc;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	assert_int_equal(write(sv[1], wire, len), (ssize_t)len);
	close(sv[1]);
	bio_init(&b, sv[0]);
	rc = smtp_reply_read(&b, r, e);
	close(sv[0]);
	return rc;
}

static const struct good {
	const char *wire, *text, *status;
	int code;
} goods[] = {
	{ "250 ok\r\n", "250 ok", "2.0.0", 250 },
	{ "250\r\n", "250", "2.0.0", 250 },
	{ "250 ok\n", "250 ok", "2.0.0", 250 }, /* a bare LF is taken */
	{ "550-5.1.1 first\r\n550 5.1.1 second\r\n", "550-5.1.1 first\n550 5.1.1 second", "5.1.1",
	  550 },
	{ "250 2.1.0\r\n", "250 2.1.0", "2.1.0", 250 },
	{ "452 4.2.2 mailbox full\r\n", "452 4.2.2 mailbox full", "4.2.2", 452 },
	{ "451 5.1.1 wrong class\r\n", "451 5.1.1 wrong class", "4.0.0", 451 },
	{ "250 2.1000.0 too long\r\n", "250 2.1000.0 too long", "2.0.0", 250 },
	{ "250 2.1.0x\r\n", "250 2.1.0x", "2.0.0", 250 },
	{ "554 5.7.1\r\n", "554 5.7.1", "5.7.1", 554 },
	{ "220-a\r\n220-b\r\n220 c\r\nMORE", "220-a\n220-b\n220 c", "2.0.0", 220 },
};

static void
test_good(void **state)
{
	struct smtp_reply r = { 0 };
	struct err e = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
		assert_int_equal(read_from(goods[i].wire, strlen(goods[i].wire), &r, &e),
		                 SMTP_REPLY_OK);
		assert_int_equal(r.code, goods[i].code);
		assert_string_equal(r.text, goods[i].text);
		assert_string_equal(r.status, goods[i].status);
		smtp_reply_clear(&r);
		assert_null(r.text);
	}
}

static void
test_bad(void **state)
{
	static const struct {
		const char *wire;
		enum smtp_reply_read want;
		const char *err;
	} bads[] = {
		{ "hello\r\n", SMTP_REPLY_MALFORMED, "malformed reply \"hello\"" },
		{ "25\r\n", SMTP_REPLY_MALFORMED, "malformed reply \"25\"" },
		{ "250x\r\n", SMTP_REPLY_MALFORMED, "malformed reply \"250x\"" },
		{ "199 no\r\n", SMTP_REPLY_MALFORMED, "malformed reply \"199 no\"" },
		{ "600 no\r\n", SMTP_REPLY_MALFORMED, "malformed reply \"600 no\"" },
		{ "250-a\r\n251 b\r\n", SMTP_REPLY_MALFORMED,
		  "reply code changed within a reply: \"251 b\"" },
		{ "250-a\r\n", SMTP_REPLY_EOF, NULL },
		{ "", SMTP_REPLY_EOF, NULL },
	};
	struct smtp_reply r = { 0 };
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		memset(&e, 0, sizeof e);
		assert_int_equal(read_from(bads[i].wire, strlen(bads[i].wire), &r, &e),
		                 bads[i].want);
		assert_int_equal(r.code, 0);
		assert_null(r.text);
		if (bads[i].err != NULL)
			assert_string_equal(e.text, bads[i].err);
	}
}

static void
test_too_many_lines(void **state)
{
	char wire[16 * (SMTP_REPLY_MAX_LINES + 2)];
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	size_t n = 0;

	(void)state;
	for (int i = 0; i < SMTP_REPLY_MAX_LINES - 1; i++)
		n += (size_t)snprintf(wire + n, sizeof wire - n, "250-x\r\n");
	n += (size_t)snprintf(wire + n, sizeof wire - n, "250 x\r\n");
	assert_int_equal(read_from(wire, n, &r, &e), SMTP_REPLY_OK); /* exactly the limit */
	smtp_reply_clear(&r);
	n = 0;
	for (int i = 0; i < SMTP_REPLY_MAX_LINES; i++)
		n += (size_t)snprintf(wire + n, sizeof wire - n, "250-x\r\n");
	n += (size_t)snprintf(wire + n, sizeof wire - n, "250 x\r\n");
	assert_int_equal(read_from(wire, n, &r, &e), SMTP_REPLY_MALFORMED);
	assert_null(r.text);
}

static void
test_ehlo(void **state)
{
	struct smtp_ehlo h;

	(void)state;
	smtp_ehlo_parse("250-mx.test greets you\n250-pipelining\n250-SIZE 1000\n250-8BITMIME\n"
	                "250-DSN\n250-CHUNKING\n250 STARTTLS",
	                &h);
	assert_int_equal(h.ext, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
	                                SMTP_EXT_DSN | SMTP_EXT_CHUNKING | SMTP_EXT_STARTTLS);
	assert_int_equal(h.size_limit, 1000);
	/* Only whole keywords count, the greeting line is no keyword, SIZE alone has no limit. */
	smtp_ehlo_parse("250-mx.test\n250-PRDR\n250 8BITMIME", &h);
	assert_int_equal(h.ext, SMTP_EXT_PRDR | SMTP_EXT_8BITMIME); /* draft-hall-prdr-00 */
	smtp_ehlo_parse("250-PIPELINING\n250-PIPELININGX\n250-DSNX y\n250-PRDRX\n250 SIZE", &h);
	assert_int_equal(h.ext, SMTP_EXT_SIZE);
	assert_int_equal(h.size_limit, 0);
	smtp_ehlo_parse("250 STARTTLS", &h);
	assert_int_equal(h.ext, 0);
	smtp_ehlo_parse(NULL, &h);
	assert_int_equal(h.ext, 0);
}

static void
test_xtext(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(dsn_param_xtext_encode("a+b=c d", out, sizeof out), 0);
	assert_string_equal(out, "a+2Bb+3Dc+20d");
	assert_int_equal(dsn_param_xtext_encode("\xc3\xa9\t~!", out, sizeof out), 0);
	assert_string_equal(out, "+C3+A9+09~!");
	assert_int_equal(dsn_param_xtext_encode("", out, sizeof out), 0);
	assert_string_equal(out, "");
	/* Exactly fitting, then one octet short. */
	assert_int_equal(dsn_param_xtext_encode("abc+", out, 7), 0);
	assert_string_equal(out, "abc+2B");
	assert_int_equal(dsn_param_xtext_encode("abc+", out, 6), -1);
	assert_string_equal(out, "");
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),           cmocka_unit_test(test_bad),
		cmocka_unit_test(test_too_many_lines), cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_xtext),
	};

	return cmocka_run_group_tests_name("smtp_reply", tests, NULL, NULL);
}
