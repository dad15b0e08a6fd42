/*
 * smtp_parse_test.c - the SMTP argument grammar (server/smtp_parse.c):
 * paths, parameters, DSN, xtext, BDAT, HELO names and the DATA line rules
 * (dot-stuffing, end of data, bare CR/LF), row by row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtp_parse.h"
#include "spool.h"

/* ---- MAIL FROM: ------------------------------------------------------------ */

struct mail_case {
	const char *args; /* what follows "MAIL FROM:" */
	int want_code;    /* 0, 501 or 555 */
	const char *path; /* when 0 */
	const char *why;
};

static const struct mail_case mail_cases[] = {
	{ "<a@example.test>", 0, "a@example.test", "plain" },
	{ " <a@example.test>", 0, "a@example.test", "space after the colon (tolerated)" },
	{ "<>", 0, "", "null sender" },
	{ "<@relay.test,@r2.test:a@example.test>", 0, "a@example.test", "source route dropped" },
	{ "<\"john doe\"@example.test>", 0, "\"john doe\"@example.test", "quoted local part" },
	{ "<\"a\\\"b\"@example.test>", 0, "\"a\\\"b\"@example.test",
	  "quoted-pair in quoted string" },
	{ "<a@[127.0.0.1]>", 0, "a@[127.0.0.1]", "address literal" },
	{ "<a@[IPv6:::1]>", 0, "a@[IPv6:::1]", "IPv6 address literal" },
	{ "<first.last+tag@sub.example.test>", 0, "first.last+tag@sub.example.test",
	  "dots and plus" },
	{ "a@example.test", 501, NULL, "no angle brackets" },
	{ "<a@example.test", 501, NULL, "missing >" },
	{ "<a@>", 501, NULL, "empty domain" },
	{ "<@example.test>", 501, NULL, "empty local part" },
	{ "<a>", 501, NULL, "no domain" },
	{ "<a..b@example.test>", 501, NULL, "double dot in local part" },
	{ "<.a@example.test>", 501, NULL, "leading dot" },
	{ "<a.@example.test>", 501, NULL, "trailing dot" },
	{ "<a@-example.test>", 501, NULL, "domain label starts with hyphen" },
	{ "<a@example-.test>", 501, NULL, "domain label ends with hyphen" },
	{ "<a@exa_mple.test>", 501, NULL, "underscore in domain" },
	{ "<a b@example.test>", 501, NULL, "space in local part" },
	{ "<a@example.test> SIZE=1000", 0, "a@example.test", "SIZE" },
	{ "<a@example.test> SIZE=", 501, NULL, "SIZE without a value" },
	{ "<a@example.test> SIZE=12a", 501, NULL, "SIZE not a number" },
	{ "<a@example.test> SIZE=123456789012345678901", 501, NULL, "SIZE over 20 digits" },
	{ "<a@example.test> SIZE=1 SIZE=2", 501, NULL, "SIZE twice" },
	{ "<a@example.test> SIZE=+1", 501, NULL, "SIZE with a sign" },
	{ "<a@example.test> SIZE=99999999999999999999", 0, "a@example.test",
	  "SIZE of 20 digits above 2^64 - 1 is a size (too large later, 552)" },
	{ "<a@example.test> BODY=8BITMIME", 0, "a@example.test", "BODY=8BITMIME" },
	{ "<a@example.test> body=7bit", 0, "a@example.test", "BODY, case-insensitive" },
	{ "<a@example.test> BODY=BINARYMIME", 501, NULL, "BINARYMIME not offered" },
	{ "<a@example.test> RET=HDRS ENVID=QQ314159", 0, "a@example.test", "RET and ENVID" },
	{ "<a@example.test> RET=NONE", 501, NULL, "bad RET" },
	{ "<a@example.test> ENVID=a+2Bb", 0, "a@example.test", "ENVID with xtext" },
	{ "<a@example.test> ENVID=a+2bb", 501, NULL, "xtext hex must be upper case" },
	{ "<a@example.test> ENVID=a+2", 501, NULL, "truncated xtext escape" },
	{ "<a@example.test> ENVID=a+00b", 501, NULL, "xtext: an encoded NUL would cut the ENVID" },
	{ "<a@example.test> ret=hdrs", 0, "a@example.test", "RET, case-insensitive" },
	{ "<a@example.test> PRDR", 0, "a@example.test", "PRDR (draft-hall-prdr-00)" },
	{ "<a@example.test> SIZE=10 prdr", 0, "a@example.test", "PRDR, case-insensitive" },
	{ "<a@example.test> PRDR=yes", 501, NULL, "PRDR takes no value" },
	{ "<a@example.test> PRDR PRDR", 501, NULL, "PRDR twice" },
	{ "<a@example.test> FOO=bar", 555, NULL, "unknown parameter: 555" },
	{ "<a@example.test> SMTPUTF8", 555, NULL, "SMTPUTF8 not offered" },
	{ "<a@example.test>SIZE=1", 501, NULL, "no space before the parameter" },
	{ "<a@example.test> =x", 501, NULL, "parameter without a keyword" },
	{ "<a\xc3\xa9@example.test>", 501, NULL, "8-bit local part without SMTPUTF8" },
};

static void
test_mail(void **state)
{
	const struct mail_case *c = *state;
	struct smtp_mail_args m;
	char why[200] = "";
	int code = smtp_parse_mail(c->args, &m, why, sizeof why);

	if (code != c->want_code)
		fail_msg("MAIL FROM:%s (%s): want %d, got %d (%s)", c->args, c->why, c->want_code,
		         code, why);
	if (code == 0)
		assert_string_equal(m.path, c->path);
	else
		assert_true(why[0] >= '4' && why[1] == '.'); /* an enhanced status code */
}

static void
test_mail_values(void **state)
{
	struct smtp_mail_args m;
	char why[200];
	(void)state;

	/* The session refuses PRDR when not offered; the parser only records it. */
	assert_int_equal(smtp_parse_mail("<a@b.test> PRDR", &m, why, sizeof why), 0);
	assert_int_equal(m.prdr, 1);
	assert_int_equal(smtp_parse_mail("<a@b.test>", &m, why, sizeof why), 0);
	assert_int_equal(m.prdr, 0);

	assert_int_equal(smtp_parse_mail("<a@b.test> SIZE=1000 BODY=8bitmime RET=full ENVID=x+2By",
	                                 &m, why, sizeof why),
	                 0);
	assert_int_equal(m.has_size, 1);
	assert_int_equal(m.size, 1000);
	assert_string_equal(m.body, "8BITMIME");
	assert_string_equal(m.ret, "FULL");
	assert_string_equal(m.envid, "x+y");
}

/* ---- RCPT TO: ---------------------------------------------------------------- */

struct rcpt_case {
	const char *args;
	int want_code;
	const char *path;
	unsigned notify;
	const char *orcpt;
	const char *why;
};

static const struct rcpt_case rcpt_cases[] = {
	{ "<b@example.test>", 0, "b@example.test", 0, "", "plain" },
	{ "<Postmaster>", 0, "Postmaster", 0, "", "bare postmaster (RFC 5321 4.1.1.3)" },
	{ "<postmaster@example.test>", 0, "postmaster@example.test", 0, "", "postmaster@domain" },
	{ "<>", 501, NULL, 0, NULL, "null recipient" },
	{ "<b@example.test> NOTIFY=NEVER", 0, "b@example.test", DSN_NOTIFY_NEVER, "",
	  "NOTIFY=NEVER" },
	{ "<b@example.test> NOTIFY=SUCCESS,FAILURE,DELAY", 0, "b@example.test",
	  DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, "", "NOTIFY list" },
	{ "<b@example.test> NOTIFY=NEVER,SUCCESS", 501, NULL, 0, NULL, "NEVER must stand alone" },
	{ "<b@example.test> NOTIFY=SUCCESS,SUCCESS", 501, NULL, 0, NULL,
	  "NOTIFY repeated keyword" },
	{ "<b@example.test> NOTIFY=SOMETIMES", 501, NULL, 0, NULL, "NOTIFY unknown keyword" },
	{ "<b@example.test> NOTIFY=SUCCESS,,DELAY", 501, NULL, 0, NULL,
	  "NOTIFY empty list element" },
	{ "<b@example.test> NOTIFY=,SUCCESS", 501, NULL, 0, NULL, "NOTIFY leading comma" },
	{ "<b@example.test> notify=delay,failure", 0, "b@example.test",
	  DSN_NOTIFY_DELAY | DSN_NOTIFY_FAILURE, "", "NOTIFY, case-insensitive" },
	{ "<b@example.test> ORCPT=rfc822;b+40example.test", 0, "b@example.test", 0,
	  "rfc822;b@example.test", "ORCPT xtext-decoded" },
	{ "<b@example.test> ORCPT=rfc822", 501, NULL, 0, NULL, "ORCPT without ';'" },
	{ "<b@example.test> ORCPT=;b@example.test", 501, NULL, 0, NULL, "ORCPT without type" },
	{ "<b@example.test> ORCPT=rfc822;", 501, NULL, 0, NULL, "ORCPT with empty address" },
	{ "<b@example.test> RET=FULL", 555, NULL, 0, NULL, "RET belongs to MAIL" },
};

static void
test_rcpt(void **state)
{
	const struct rcpt_case *c = *state;
	struct smtp_rcpt_args r;
	char why[200] = "";
	int code = smtp_parse_rcpt(c->args, &r, why, sizeof why);

	if (code != c->want_code)
		fail_msg("RCPT TO:%s (%s): want %d, got %d (%s)", c->args, c->why, c->want_code,
		         code, why);
	if (code == 0) {
		assert_string_equal(r.path, c->path);
		assert_int_equal(r.notify, c->notify);
		assert_string_equal(r.orcpt, c->orcpt);
	}
}

/* ---- limits ---------------------------------------------------------------------- */

static void
test_local_part_limit(void **state)
{
	char args[400], why[200];
	struct smtp_mail_args m;
	(void)state;

	/* RFC 5321 4.5.3.1.1: 64 octets accepted, 65 refused. */
	memset(args, 0, sizeof args);
	args[0] = '<';
	memset(args + 1, 'a', 64);
	strcat(args, "@example.test>");
	assert_int_equal(smtp_parse_mail(args, &m, why, sizeof why), 0);
	memset(args, 0, sizeof args);
	args[0] = '<';
	memset(args + 1, 'a', 65);
	strcat(args, "@example.test>");
	assert_int_equal(smtp_parse_mail(args, &m, why, sizeof why), 501);
}

static void
test_path_limit(void **state)
{
	char args[600], why[200];
	struct smtp_mail_args m;
	size_t n;
	(void)state;

	/* RFC 5321 4.5.3.1.3: 256 octets with the brackets. */
	strcpy(args, "<a@");
	n = strlen(args);
	while (n < 256 - 5 - 1) {
		strcat(args, "b.");
		n += 2;
	}
	strcat(args, "test>");
	assert_true(strlen(args) <= 256);
	assert_int_equal(smtp_parse_mail(args, &m, why, sizeof why), 0);
	strcpy(args, "<a@");
	for (int i = 0; i < 130; i++)
		strcat(args, "b.");
	strcat(args, "test>");
	assert_int_equal(smtp_parse_mail(args, &m, why, sizeof why), 501);
}

/* A long ORCPT address type must be refused, not copied past the buffer
 * (a stack overflow fuzz/smtp_args found; the session's 512-octet line limit
 * hid it, the parser's contract does not). */
static void
test_orcpt_long_type(void **state)
{
	char args[700], why[200];
	struct smtp_rcpt_args r;
	(void)state;

	strcpy(args, "<a@b> ORCPT=");
	memset(args + strlen(args), 'A', 520);
	args[12 + 520] = '\0';
	strcat(args, ";x");
	assert_int_equal(smtp_parse_rcpt(args, &r, why, sizeof why), 501);
	assert_non_null(strstr(why, "too long"));
}

static void
test_split_mailbox(void **state)
{
	char l[80], d[300];
	(void)state;

	assert_int_equal(smtp_split_mailbox("user@example.test", l, sizeof l, d, sizeof d), 0);
	assert_string_equal(l, "user");
	assert_string_equal(d, "example.test");
	assert_int_equal(smtp_split_mailbox("\"a@b\"@example.test", l, sizeof l, d, sizeof d), 0);
	assert_string_equal(l, "\"a@b\"");
	assert_string_equal(d, "example.test");
	assert_int_equal(smtp_split_mailbox("postmaster", l, sizeof l, d, sizeof d), -1);
}

static void
test_bdat_args(void **state)
{
	uint64_t size;
	int last;
	(void)state;

	assert_int_equal(smtp_parse_bdat(" 100", &size, &last), 0);
	assert_int_equal(size, 100);
	assert_int_equal(last, 0);
	assert_int_equal(smtp_parse_bdat(" 0 LAST", &size, &last), 0);
	assert_int_equal(size, 0);
	assert_int_equal(last, 1);
	assert_int_equal(smtp_parse_bdat(" 12 last", &size, &last), 0);
	assert_int_equal(smtp_parse_bdat("", &size, &last), -1);
	assert_int_equal(smtp_parse_bdat(" x", &size, &last), -1);
	assert_int_equal(smtp_parse_bdat(" 12 FIRST", &size, &last), -1);
	assert_int_equal(smtp_parse_bdat(" -1", &size, &last), -1);
	assert_int_equal(smtp_parse_bdat(" +1", &size, &last), -1);
	assert_int_equal(smtp_parse_bdat(" 123456789012345678901", &size, &last),
	                 -1); /* 21 digits */
	/* Above 2^64 - 1 the size cannot be honoured, so the stream cannot be
	 * resynchronised: a syntax error, never a saturated size (issue 13). */
	assert_int_equal(smtp_parse_bdat(" 99999999999999999999 LAST", &size, &last), -1);
	assert_int_equal(smtp_parse_bdat(" 18446744073709551616", &size, &last), -1);
	assert_int_equal(smtp_parse_bdat(" 18446744073709551615", &size, &last), 0);
	assert_true(size == UINT64_MAX);
}

/* BDAT content: bare CR/LF and NUL found across chunk boundaries. */
static void
test_chunk_scan(void **state)
{
	struct smtp_chunk_state st;

	(void)state;
	smtp_chunk_begin(&st);
	smtp_chunk_scan(&st, "a\r", 2); /* CRLF split over two chunks */
	smtp_chunk_scan(&st, "\nb\r\n", 4);
	smtp_chunk_end(&st);
	assert_int_equal(st.bare, 0);
	assert_int_equal(st.nul, 0);
	/* The three look-alikes of the smuggling advisories. */
	static const struct {
		const char *d;
		size_t n;
	} bad[] = {
		{ "x\r.\r\nMAIL FROM:<a@b>\r\n", 0 },
		{ "x\r.\nMAIL FROM:<a@b>\r\n", 0 },
		{ "x\r.\rMAIL FROM:<a@b>\r\n", 0 },
		{ "x\n.\nMAIL FROM:<a@b>\r\n", 0 },
		{ "x\r\n", 2 }, /* ends in CR */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		smtp_chunk_begin(&st);
		smtp_chunk_scan(&st, bad[i].d, bad[i].n ? bad[i].n : strlen(bad[i].d));
		smtp_chunk_end(&st);
		assert_int_equal(st.bare, 1);
	}
	smtp_chunk_begin(&st);
	smtp_chunk_scan(&st, "a\0b\r\n", 5);
	smtp_chunk_end(&st);
	assert_int_equal(st.bare, 0);
	assert_int_equal(st.nul, 1);
}

/* BDAT content: the 1000-octet line limit (RFC 5321 4.5.3.1.6, CRLF
 * included), counted across chunk boundaries. */
static void
test_chunk_line_limit(void **state)
{
	static char line[1002];
	struct smtp_chunk_state st;

	(void)state;
	memset(line, 'y', sizeof line);
	/* 998 + CRLF = 1000 octets, split 500 / 500: within the limit. */
	memcpy(line + 998, "\r\n", 2);
	smtp_chunk_begin(&st);
	smtp_chunk_scan(&st, line, 500);
	smtp_chunk_scan(&st, line + 500, 500);
	smtp_chunk_scan(&st, line, 1000); /* a second such line: the count restarts */
	smtp_chunk_end(&st);
	assert_int_equal(st.long_line, 0);
	assert_int_equal(st.bare, 0);
	/* 999 + CRLF = 1001 octets, split 1 / 1000: over. */
	memset(line, 'y', sizeof line);
	memcpy(line + 999, "\r\n", 2);
	smtp_chunk_begin(&st);
	smtp_chunk_scan(&st, line, 1);
	smtp_chunk_scan(&st, line + 1, 1000);
	smtp_chunk_end(&st);
	assert_int_equal(st.long_line, 1);
	assert_int_equal(st.bare, 0);
}

static void
test_helo_names(void **state)
{
	(void)state;
	assert_true(smtp_valid_helo("client.example.test"));
	assert_true(smtp_valid_helo("client.example.test."));
	assert_true(smtp_valid_helo("[127.0.0.1]"));
	assert_true(smtp_valid_helo("localhost"));
	assert_false(smtp_valid_helo(""));
	assert_false(smtp_valid_helo("bad name"));
	assert_false(smtp_valid_helo("-bad.test"));
	assert_false(smtp_valid_helo("[127.0.0.1"));
	assert_false(smtp_valid_helo("a..b"));
}

static void
test_xtext(void **state)
{
	char out[64];
	(void)state;

	assert_int_equal(dsn_param_xtext_decode("plain", out, sizeof out), 0);
	assert_string_equal(out, "plain");
	assert_int_equal(dsn_param_xtext_decode("a+20b+3Dc", out, sizeof out), 0);
	assert_string_equal(out, "a b=c");
	assert_int_equal(dsn_param_xtext_decode("a=b", out, sizeof out), -1);
	assert_int_equal(dsn_param_xtext_decode("a+ZZ", out, sizeof out), -1);
	assert_int_equal(dsn_param_xtext_decode("0123456789", out, 5),
	                 -1); /* too long for the buffer */
}

/* ---- DATA lines ------------------------------------------------------------------- */

/* Feed a whole DATA stream; return what would be stored, and the flags. */
static int
feed(const char *stream, char *kept, size_t keptlen, struct smtp_data_state *st)
{
	const char *p = stream;
	size_t k = 0;

	smtp_data_begin(st);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
		const char *out;
		size_t outlen;

		if (smtp_data_line(st, p, len, 0, &out, &outlen)) {
			kept[k] = '\0';
			return 1;
		}
		if (k + outlen < keptlen) {
			memcpy(kept + k, out, outlen);
			k += outlen;
		}
		p += len;
	}
	kept[k] = '\0';
	return 0;
}

static void
test_data_end_and_unstuffing(void **state)
{
	struct smtp_data_state st;
	char kept[256];
	(void)state;

	assert_int_equal(feed("Subject: x\r\n\r\nbody\r\n.\r\n", kept, sizeof kept, &st), 1);
	assert_string_equal(kept, "Subject: x\r\n\r\nbody\r\n");
	assert_int_equal(st.bare, 0);

	/* RFC 5321 4.5.2: "..x" is ".x"; ".." alone is "." */
	assert_int_equal(feed("..x\r\n..\r\n.\r\n", kept, sizeof kept, &st), 1);
	assert_string_equal(kept, ".x\r\n.\r\n");

	/* An empty message ends at once. */
	assert_int_equal(feed(".\r\n", kept, sizeof kept, &st), 1);
	assert_string_equal(kept, "");
}

static void
test_data_smuggling(void **state)
{
	struct smtp_data_state st;
	char kept[256];
	(void)state;

	/* "\n.\n" is not an end: data goes on, the bare LF is remembered. */
	assert_int_equal(feed("a\n.\nMAIL FROM:<x@y>\r\n.\r\n", kept, sizeof kept, &st), 1);
	assert_int_equal(st.bare, 1);
	assert_string_equal(kept, "a\n\nMAIL FROM:<x@y>\r\n");

	/* ".\r\n" after a bare-LF line is not an end either (no CRLF before it). */
	assert_int_equal(feed("a\n.\r\nstill data\r\n.\r\n", kept, sizeof kept, &st), 1);
	assert_int_equal(st.bare, 1);
	assert_string_equal(kept, "a\n\r\nstill data\r\n");

	/* A bare CR inside a line. */
	assert_int_equal(feed("a\rb\r\n.\r\n", kept, sizeof kept, &st), 1);
	assert_int_equal(st.bare, 1);

	/* "\r\n.\n" never ends. */
	assert_int_equal(feed("a\r\n.\n", kept, sizeof kept, &st), 0);
}

static void
test_data_long_line(void **state)
{
	struct smtp_data_state st;
	const char *out;
	size_t outlen;
	(void)state;

	smtp_data_begin(&st);
	assert_int_equal(smtp_data_line(&st, "xxxx\r\n", 6, 1, &out, &outlen), 0);
	assert_int_equal(st.long_line, 1);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_mail_values),
		cmocka_unit_test(test_local_part_limit),
		cmocka_unit_test(test_path_limit),
		cmocka_unit_test(test_orcpt_long_type),
		cmocka_unit_test(test_split_mailbox),
		cmocka_unit_test(test_bdat_args),
		cmocka_unit_test(test_chunk_scan),
		cmocka_unit_test(test_chunk_line_limit),
		cmocka_unit_test(test_helo_names),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_data_end_and_unstuffing),
		cmocka_unit_test(test_data_smuggling),
		cmocka_unit_test(test_data_long_line),
	};
	struct CMUnitTest tests[N(mail_cases) + N(rcpt_cases) + N(fixed)];
	char names[N(mail_cases) + N(rcpt_cases)][200];
	size_t n = 0;

	for (size_t i = 0; i < N(mail_cases); i++, n++) {
		snprintf(names[n], sizeof names[n], "MAIL %s -> %d", mail_cases[i].why,
		         mail_cases[i].want_code);
		tests[n] = (struct CMUnitTest){ .name = names[n],
			                        .test_func = test_mail,
			                        .initial_state = (void *)&mail_cases[i] };
	}
	for (size_t i = 0; i < N(rcpt_cases); i++, n++) {
		snprintf(names[n], sizeof names[n], "RCPT %s -> %d", rcpt_cases[i].why,
		         rcpt_cases[i].want_code);
		tests[n] = (struct CMUnitTest){ .name = names[n],
			                        .test_func = test_rcpt,
			                        .initial_state = (void *)&rcpt_cases[i] };
	}
	for (size_t i = 0; i < N(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("smtp_parse", tests, n, NULL, NULL);
}
