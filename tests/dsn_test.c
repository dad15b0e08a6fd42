/*
 * dsn_test.c - server/dsn.c: one whole bounce compared octet for octet (the
 * expected text below was read field by field against RFC 3464 2.1-2.3,
 * RFC 6522 and the seed's DSN_INFO), each optional field present and
 * absent, hostile and oversized remote replies (CR/LF injection, 5000
 * octets, UTF-8 cut), RET=HDRS against FULL, long lines in the returned
 * message, and the dsn_wants_failure_report() truth table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsn.h"

#define T_ARRIVAL ((time_t)1795310625) /* 2026-11-22 01:23:45 UTC */
#define T_NOW (T_ARRIVAL + 3600)
#define DATA                                                                                       \
	"Received: from client.example by mx.example.test\r\n"                                     \
	"From: alice@example.test\r\n"                                                             \
	"Subject: hello\r\n"                                                                       \
	"\r\n"                                                                                     \
	"body line\r\n"

struct fixture {
	char dir[64];
	char data[128];
};

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	strcpy(f->dir, "/tmp/dsn_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->data, sizeof f->data, "%s/T-000001-D", f->dir);
	write_file(f->data, DATA, strlen(DATA));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	test_remove_tree(f->dir);
	free(f);
	return 0;
}

/* The failure of the golden bounce: refused at RCPT by a host on port 587. */
static struct dsn_failure
rcpt_failure(void)
{
	return (struct dsn_failure){
		.address = "bob@partner.test",
		.orcpt = "rfc822;Bob@partner.test",
		.status = "5.1.1",
		.remote_reply = "550-5.1.1 no such user\n550 5.1.1 bob@partner.test unknown",
		.stage = "after RCPT TO:<bob@partner.test>",
		.host_name = "mx1.partner.test",
		.host_address = "127.0.0.2",
		.host_port = 587,
		.greeting = "220 mx1.partner.test ESMTP",
		.helo_response = "250-mx1.partner.test Hello mx.example.test [127.0.0.1]",
	};
}

static struct dsn_bounce
bounce(const struct fixture *f, const struct dsn_failure *fail, size_t n)
{
	return (struct dsn_bounce){
		.reporting_mta = "mx.example.test",
		.message_id = "T-000001",
		.sender = "alice@example.test",
		.envid = "QQ 1+1=2",
		.ret = DSN_RET_UNSET,
		.arrival_date = T_ARRIVAL,
		.now = T_NOW,
		.data_path = f->data,
		.failures = fail,
		.nfailures = n,
	};
}

/* Every line ends in CRLF (no bare CR or LF) and has at most 998 octets. */
static void
assert_wire_form(const char *out, size_t len)
{
	size_t line = 0;

	assert_true(len >= 2);
	assert_memory_equal(out + len - 2, "\r\n", 2);
	for (size_t i = 0; i < len; i++) {
		assert_int_not_equal(out[i], '\0');
		if (out[i] == '\r') {
			assert_true(i + 1 < len && out[i + 1] == '\n');
			assert_true(line <= 998);
			line = 0;
			i++;
		} else {
			assert_int_not_equal(out[i], '\n');
			line++;
		}
	}
}

static char *
build(const struct dsn_bounce *b, size_t *len)
{
	struct err e = { 0 };
	char *out = NULL;
	size_t n = 0;

	if (dsn_build_bounce(b, &out, &n, &e) != 0)
		fail_msg("dsn_build_bounce: %s", e.text);
	assert_int_equal(strlen(out), n);
	assert_wire_form(out, n);
	if (len != NULL)
		*len = n;
	return out;
}

static int
has_line(const char *out, const char *line)
{
	char *want = NULL;
	int found;

	assert_true(asprintf(&want, "\r\n%s\r\n", line) > 0);
	found = strstr(out, want) != NULL;
	free(want);
	return found;
}

static void
test_golden(void **state)
{
	static const char want[] =
	        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n"
	        "To: alice@example.test\r\n"
	        "Subject: Mail delivery failed: returning message to sender\r\n"
	        "Date: Sun, 22 Nov 2026 02:23:45 +0000\r\n"
	        "Message-ID: <T-000001-bounce@mx.example.test>\r\n"
	        "Auto-Submitted: auto-replied\r\n"
	        "MIME-Version: 1.0\r\n"
	        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	        "\tboundary=\"=_refmta_T-000001_1795314225\"\r\n"
	        "\r\n"
	        "This is a MIME-formatted delivery status notification (RFC 3464).\r\n"
	        "\r\n"
	        "--=_refmta_T-000001_1795314225\r\n"
	        "Content-Type: text/plain; charset=us-ascii\r\n"
	        "\r\n"
	        "This message was created automatically by mail delivery software.\r\n"
	        "\r\n"
	        "A message that you sent could not be delivered to one or more of its\r\n"
	        "recipients. This is a permanent error. The following address(es) failed:\r\n"
	        "\r\n"
	        "  bob@partner.test\r\n"
	        "    host mx1.partner.test [127.0.0.2]:587\r\n"
	        "    SMTP error from remote mail server after RCPT TO:<bob@partner.test>:\r\n"
	        "    550-5.1.1 no such user\r\n"
	        "    550 5.1.1 bob@partner.test unknown\r\n"
	        "\r\n"
	        "A copy of the message is attached.\r\n"
	        "\r\n"
	        "--=_refmta_T-000001_1795314225\r\n"
	        "Content-Type: message/delivery-status\r\n"
	        "\r\n"
	        "Reporting-MTA: dns; mx.example.test\r\n"
	        "Original-Envelope-Id: QQ 1+1=2\r\n"
	        "Arrival-Date: Sun, 22 Nov 2026 01:23:45 +0000\r\n"
	        "\r\n"
	        "Original-Recipient: rfc822;Bob@partner.test\r\n"
	        "Final-Recipient: rfc822;bob@partner.test\r\n"
	        "Action: failed\r\n"
	        "Status: 5.1.1\r\n"
	        "Remote-MTA: dns; mx1.partner.test\r\n"
	        "Remote-MTA: X-ip; [127.0.0.2]:587\r\n"
	        "Diagnostic-Code: smtp; 550-5.1.1 no such user 550 5.1.1 bob@partner.test "
	        "unknown\r\n"
	        "X-Remote-MTA-smtp-greeting: X-str; 220 mx1.partner.test ESMTP\r\n"
	        "X-Remote-MTA-helo-response: X-str; 250-mx1.partner.test Hello mx.example.test "
	        "[127.0.0.1]\r\n"
	        "X-Refmta-Diagnostic: X-str; SMTP error from remote mail server after RCPT "
	        "TO:<bob@partner.test>: 550-5.1.1 no such user 550 5.1.1 bob@partner.test "
	        "unknown\r\n"
	        "\r\n"
	        "--=_refmta_T-000001_1795314225\r\n"
	        "Content-Type: message/rfc822\r\n"
	        "\r\n"
	        "Received: from client.example by mx.example.test\r\n"
	        "From: alice@example.test\r\n"
	        "Subject: hello\r\n"
	        "\r\n"
	        "body line\r\n"
	        "\r\n"
	        "--=_refmta_T-000001_1795314225--\r\n";
	struct fixture *f = *state;
	struct dsn_failure fail = rcpt_failure();
	struct dsn_bounce b = bounce(f, &fail, 1);
	size_t len;
	char *out = build(&b, &len);

	assert_string_equal(out, want);
	assert_int_equal(len, sizeof want - 1);
	free(out);
	/* Deterministic: the same input gives the same octets. */
	out = build(&b, NULL);
	assert_string_equal(out, want);
	free(out);
}

/* A failure without a remote host: no Remote-MTA, no DSN_INFO fields, no
 * Diagnostic-Code; refmta's own reason in the text; no ORCPT, no ENVID. */
static void
test_optional_absent(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail = {
		.address = "carol@nullmx.test",
		.status = "5.1.10",
		.error_text = "Null MX: domain does not accept mail",
	};
	struct dsn_bounce b = bounce(f, &fail, 1);
	char *out;

	b.envid = NULL;
	out = build(&b, NULL);
	assert_null(strstr(out, "Original-Envelope-Id"));
	assert_null(strstr(out, "Original-Recipient"));
	assert_null(strstr(out, "Remote-MTA"));
	assert_null(strstr(out, "Diagnostic-Code"));
	assert_null(strstr(out, "X-Remote-MTA-smtp-greeting"));
	assert_null(strstr(out, "X-Remote-MTA-helo-response"));
	assert_null(strstr(out, "X-Refmta-Diagnostic"));
	assert_null(strstr(out, "    host "));
	assert_null(strstr(out, "SMTP error"));
	assert_true(has_line(out, "Reporting-MTA: dns; mx.example.test"));
	assert_true(has_line(out, "Arrival-Date: Sun, 22 Nov 2026 01:23:45 +0000"));
	assert_true(strstr(out, "\r\n\r\nFinal-Recipient: rfc822;carol@nullmx.test\r\n"
	                        "Action: failed\r\nStatus: 5.1.10\r\n\r\n--") != NULL);
	assert_true(strstr(out, "\r\n  carol@nullmx.test\r\n"
	                        "    Null MX: domain does not accept mail\r\n") != NULL);
	free(out);
}

/* Each optional field on its own. */
static void
test_optional_present(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail = rcpt_failure();
	struct dsn_bounce b = bounce(f, &fail, 1);
	char *out;

	/* Port 25 is not printed; no greeting or EHLO reply known. */
	fail.host_port = 25;
	fail.greeting = NULL;
	fail.helo_response = NULL;
	fail.orcpt = NULL;
	out = build(&b, NULL);
	assert_true(has_line(out, "Remote-MTA: X-ip; [127.0.0.2]"));
	assert_true(has_line(out, "    host mx1.partner.test [127.0.0.2]"));
	assert_null(strstr(out, "X-Remote-MTA-smtp-greeting"));
	assert_null(strstr(out, "X-Remote-MTA-helo-response"));
	assert_null(strstr(out, "Original-Recipient"));
	assert_true(has_line(out, "Original-Envelope-Id: QQ 1+1=2"));
	free(out);

	/* An IPv6 address without a name; only the greeting known. */
	fail = rcpt_failure();
	fail.host_name = NULL;
	fail.host_address = "::1";
	fail.host_port = 2525;
	fail.helo_response = NULL;
	out = build(&b, NULL);
	assert_null(strstr(out, "Remote-MTA: dns;"));
	assert_true(has_line(out, "Remote-MTA: X-ip; [::1]:2525"));
	assert_true(has_line(out, "    host [::1]:2525"));
	assert_true(has_line(out, "X-Remote-MTA-smtp-greeting: X-str; 220 mx1.partner.test ESMTP"));
	assert_null(strstr(out, "X-Remote-MTA-helo-response"));
	free(out);

	/* A host reached but no reply to blame: refmta's reason is the diagnostic. */
	fail = (struct dsn_failure){
		.address = "dave@partner.test",
		.status = "5.7.10",
		.error_text = "TLS required but not offered",
		.host_name = "mx1.partner.test",
		.host_address = "127.0.0.2",
		.host_port = 25,
		.greeting = "220 mx1.partner.test ESMTP",
		.helo_response = "250-mx1.partner.test",
	};
	out = build(&b, NULL);
	assert_null(strstr(out, "Diagnostic-Code"));
	assert_null(strstr(out, "SMTP error"));
	assert_true(has_line(out, "X-Refmta-Diagnostic: X-str; TLS required but not offered"));
	assert_true(has_line(out, "X-Remote-MTA-helo-response: X-str; 250-mx1.partner.test"));
	assert_true(strstr(out,
	                   "\r\n  dave@partner.test\r\n    host mx1.partner.test [127.0.0.2]\r\n"
	                   "    TLS required but not offered\r\n") != NULL);
	free(out);
}

/* Two recipients: two per-recipient groups, each after a blank line. */
static void
test_two_recipients(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail[2] = { rcpt_failure(), rcpt_failure() };
	struct dsn_bounce b = bounce(f, fail, 2);
	char *out;

	fail[1].address = "eve@partner.test";
	fail[1].orcpt = NULL;
	fail[1].status = "4.2.2"; /* out of retries: reported as permanent */
	fail[1].remote_reply = "452 4.2.2 mailbox full";
	fail[1].stage = "after end of data";
	out = build(&b, NULL);
	assert_true(strstr(out, "\r\n\r\nFinal-Recipient: rfc822;eve@partner.test\r\n"
	                        "Action: failed\r\nStatus: 5.2.2\r\n") != NULL);
	assert_true(strstr(out, "\r\n\r\nOriginal-Recipient: rfc822;Bob@partner.test\r\n"
	                        "Final-Recipient: rfc822;bob@partner.test\r\n") != NULL);
	assert_true(has_line(out, "    SMTP error from remote mail server after end of data:"));
	assert_true(has_line(out, "X-Refmta-Diagnostic: X-str; SMTP error from remote mail server "
	                          "after end of data: 452 4.2.2 mailbox full"));
	free(out);

	fail[1].status = "junk";
	out = build(&b, NULL);
	assert_true(strstr(out, "Final-Recipient: rfc822;eve@partner.test\r\n"
	                        "Action: failed\r\nStatus: 5.0.0\r\n") != NULL);
	free(out);
}

/* A reply that tries to add fields, a part or a boundary of its own. */
static void
test_hostile_reply(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail = rcpt_failure();
	struct dsn_bounce b = bounce(f, &fail, 1);
	char *out;

	fail.remote_reply =
	        "550 no\r\nX-Injected: yes\r\n\r\n--=_refmta_T-000001_1795314225--\rZ\x01\x7f";
	fail.greeting = "220 hi\r\nX-Injected-Greeting: yes";
	fail.helo_response = "250 ok\nX-Injected-Helo: yes\tTAB";
	fail.host_name = "mx1\r\nX-Injected-Host: yes";
	out = build(&b, NULL);
	assert_null(strstr(out, "\r\nX-Injected"));
	assert_true(has_line(out, "Diagnostic-Code: smtp; 550 no X-Injected: yes  "
	                          "--=_refmta_T-000001_1795314225-- Z  "));
	assert_true(has_line(out,
	                     "X-Remote-MTA-smtp-greeting: X-str; 220 hi X-Injected-Greeting: yes"));
	assert_true(has_line(out,
	                     "X-Remote-MTA-helo-response: X-str; 250 ok X-Injected-Helo: yes TAB"));
	assert_true(has_line(out, "Remote-MTA: dns; mx1 X-Injected-Host: yes"));
	/* The text part keeps the reply's lines, indented, so nothing starts a line. */
	assert_true(has_line(out, "    550 no"));
	assert_true(has_line(out, "    X-Injected: yes"));
	assert_true(has_line(out, "    --=_refmta_T-000001_1795314225-- Z  "));
	/* The reply held the plain boundary, so another one was chosen. */
	assert_true(has_line(out, "\tboundary=\"=_refmta_T-000001_1795314225_1\""));
	assert_true(has_line(out, "--=_refmta_T-000001_1795314225_1--"));
	free(out);
}

/* A 5000-octet reply: the fields are cut at DSN_FIELD_MAX with "...", the
 * text part wrapped, no line over 998 octets. */
static void
test_long_reply(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail = rcpt_failure();
	struct dsn_bounce b = bounce(f, &fail, 1);
	char *reply = malloc(5001), *out, *p, *eol;

	assert_non_null(reply);
	memcpy(reply, "550 ", 4);
	for (size_t i = 4; i < 5000; i++)
		reply[i] = (i % 10 == 9) ? ' ' : (char)('a' + i % 26);
	reply[5000] = '\0';
	fail.remote_reply = reply;
	out = build(&b, NULL);

	p = strstr(out, "\r\nDiagnostic-Code: smtp; ");
	assert_non_null(p);
	p += strlen("\r\nDiagnostic-Code: smtp; ");
	eol = strstr(p, "\r\n");
	assert_int_equal(eol - p, DSN_FIELD_MAX);
	assert_memory_equal(eol - 3, "...", 3);
	assert_memory_equal(p, reply, DSN_FIELD_MAX - 3);

	p = strstr(out, "\r\nX-Refmta-Diagnostic: X-str; ");
	assert_non_null(p);
	p += strlen("\r\nX-Refmta-Diagnostic: X-str; ");
	eol = strstr(p, "\r\n");
	assert_int_equal(eol - p, DSN_FIELD_MAX);
	assert_memory_equal(eol - 3, "...", 3);

	/* Text part: every line of the reply at most 78 octets, and all of it there. */
	p = strstr(out, "after RCPT TO:<bob@partner.test>:\r\n");
	assert_non_null(p);
	p = strchr(p, '\n') + 1;
	{
		size_t got = 0;
		while (strncmp(p, "    ", 4) == 0) {
			eol = strstr(p, "\r\n");
			assert_true(eol - p <= 78);
			got += (size_t)(eol - p - 4);
			p = eol + 2;
		}
		/* 5000 octets less the spaces the wrapping consumed (one per line). */
		assert_true(got >= 4900 && got <= 5000);
	}
	free(out);
	free(reply);
}

static void
test_field_value(void **state)
{
	char buf[DSN_FIELD_MAX + 1], small[8];
	char in[600];

	(void)state;
	dsn_field_value("250-a\n250 b", DSN_FIELD_MAX, buf, sizeof buf);
	assert_string_equal(buf, "250-a 250 b");
	dsn_field_value("a\r\nb\rc\td\x1b"
	                "e\x7f",
	                DSN_FIELD_MAX, buf, sizeof buf);
	assert_string_equal(buf, "a b c d e ");
	dsn_field_value(NULL, DSN_FIELD_MAX, buf, sizeof buf);
	assert_string_equal(buf, "");
	/* Valid UTF-8 kept; a stray octet, an overlong, a surrogate, C1 are not. */
	dsn_field_value("caf\xc3\xa9 \xff \xc0\xaf \xed\xa0\x80 \xc2\x85|", DSN_FIELD_MAX, buf,
	                sizeof buf);
	assert_string_equal(buf, "caf\xc3\xa9 ? ?? ???  |"); /* C1 -> space */
	/* Exactly max octets: not cut. */
	memset(in, 'x', 10);
	in[10] = '\0';
	dsn_field_value(in, 10, buf, sizeof buf);
	assert_string_equal(buf, "xxxxxxxxxx");
	/* Cut: at most max octets, "..." included, never inside "é". */
	dsn_field_value("abcd\xc3\xa9"
	                "fghijk",
	                10, buf, sizeof buf);
	assert_string_equal(buf, "abcd\xc3\xa9"
	                         "f...");
	dsn_field_value("abcdef\xc3\xa9"
	                "ghijk",
	                10, buf, sizeof buf); /* "é" would end at 8 */
	assert_string_equal(buf, "abcdef...");
	dsn_field_value("ab\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 10, buf, sizeof buf);
	assert_string_equal(buf, "ab\xe2\x82\xac...");
	dsn_field_value("a\xf0\x9f\x98\x80\xf0\x9f\x98\x80zz", 10, buf, sizeof buf);
	assert_string_equal(buf, "a\xf0\x9f\x98\x80...");
	/* The buffer is the tighter bound. */
	dsn_field_value("0123456789", DSN_FIELD_MAX, small, sizeof small);
	assert_string_equal(small, "0123...");
	/* A long value: DSN_FIELD_MAX octets. */
	memset(in, 'y', sizeof in - 1);
	in[sizeof in - 1] = '\0';
	dsn_field_value(in, DSN_FIELD_MAX, buf, sizeof buf);
	assert_int_equal(strlen(buf), DSN_FIELD_MAX);
	assert_string_equal(buf + DSN_FIELD_MAX - 3, "...");
}

/* A UTF-8 reply makes the text part utf-8 / 8bit; ASCII stays us-ascii. */
static void
test_utf8_reply(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail = rcpt_failure();
	struct dsn_bounce b = bounce(f, &fail, 1);
	char *out;

	fail.remote_reply = "550 bo\xc3\xaete pleine";
	out = build(&b, NULL);
	assert_true(strstr(out, "Content-Type: text/plain; charset=utf-8\r\n"
	                        "Content-Transfer-Encoding: 8bit\r\n\r\n") != NULL);
	assert_true(has_line(out, "    550 bo\xc3\xaete pleine"));
	free(out);
}

static void
test_ret_hdrs_full(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail = rcpt_failure();
	struct dsn_bounce b = bounce(f, &fail, 1);
	char *out;

	b.ret = DSN_RET_HDRS;
	out = build(&b, NULL);
	assert_null(strstr(out, "message/rfc822"));
	assert_null(strstr(out, "body line"));
	assert_true(strstr(out, "Content-Type: text/rfc822-headers\r\n\r\n"
	                        "Received: from client.example by mx.example.test\r\n"
	                        "From: alice@example.test\r\nSubject: hello\r\n"
	                        "\r\n--=_refmta_T-000001_1795314225--\r\n") != NULL);
	assert_true(has_line(out, "The header of the message is attached."));
	free(out);

	b.ret = DSN_RET_FULL;
	out = build(&b, NULL);
	assert_null(strstr(out, "text/rfc822-headers"));
	assert_true(strstr(out, "Content-Type: message/rfc822\r\n\r\n" DATA
	                        "\r\n--=_refmta_T-000001_1795314225--\r\n") != NULL);
	assert_true(has_line(out, "A copy of the message is attached."));
	free(out);
}

/* Returned messages with lines over 998 octets, bare LF and 8-bit octets. */
static void
test_returned_long_lines(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail = rcpt_failure();
	struct dsn_bounce b = bounce(f, &fail, 1);
	size_t n = 0, len;
	char *data = malloc(8000), *out, *p;

	assert_non_null(data);
	n += (size_t)sprintf(data + n, "Subject: ");
	memset(data + n, 'h', 1500);
	n += 1500;
	n += (size_t)sprintf(data + n, "\r\nX-Bare: lf\n\r\n");
	memset(data + n, 'b', 2500);
	n += 2500;
	n += (size_t)sprintf(data + n, "\r\ncaf\xc3\xa9\r\n");
	write_file(f->data, data, n);
	out = build(&b, &len);
	/* The header line is folded (a continuation starts with a space). */
	p = strstr(out, "Subject: hhh");
	assert_non_null(p);
	assert_int_equal(strstr(p, "\r\n") - p, 998);
	assert_memory_equal(strstr(p, "\r\n"), "\r\n hhh", 6);
	assert_true(has_line(out, "X-Bare: lf"));
	assert_true(strstr(out,
	                   "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n") !=
	            NULL);
	assert_true(has_line(out, "caf\xc3\xa9"));
	free(out);
	free(data);
}

static void
test_errors(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure fail = rcpt_failure();
	struct dsn_bounce b = bounce(f, &fail, 1);
	struct err e = { 0 };
	char *out = NULL;
	size_t len = 0;

	b.data_path = "/nonexistent/T-000001-D";
	assert_int_equal(dsn_build_bounce(&b, &out, &len, &e), -1);
	assert_string_equal(e.text,
	                    "cannot open /nonexistent/T-000001-D: No such file or directory");
	assert_null(out);

	b = bounce(f, &fail, 1);
	b.sender = "";
	assert_int_equal(dsn_build_bounce(&b, &out, &len, &e), -1);
	assert_string_equal(e.text, "no bounce for the null sender (RFC 5321 6.1)");

	b = bounce(f, &fail, 0);
	assert_int_equal(dsn_build_bounce(&b, &out, &len, &e), -1);
	assert_null(out);
}

static void
test_wants_failure_report(void **state)
{
	(void)state;
	/* RFC 5321 6.1: never for the null sender, whatever NOTIFY says. */
	assert_int_equal(dsn_wants_failure_report("", 0), 0);
	assert_int_equal(dsn_wants_failure_report("", DSN_NOTIFY_FAILURE), 0);
	assert_int_equal(dsn_wants_failure_report(NULL, 0), 0);
	/* RFC 3461 4.1: NOTIFY not given = failures are reported. */
	assert_int_equal(dsn_wants_failure_report("a@b.test", 0), 1);
	assert_int_equal(dsn_wants_failure_report("a@b.test", DSN_NOTIFY_FAILURE), 1);
	assert_int_equal(
	        dsn_wants_failure_report("a@b.test", DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY), 1);
	assert_int_equal(
	        dsn_wants_failure_report("a@b.test", DSN_NOTIFY_FAILURE | DSN_NOTIFY_SUCCESS), 1);
	assert_int_equal(dsn_wants_failure_report("a@b.test", DSN_NOTIFY_SUCCESS), 0);
	assert_int_equal(dsn_wants_failure_report("a@b.test", DSN_NOTIFY_DELAY), 0);
	assert_int_equal(
	        dsn_wants_failure_report("a@b.test", DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY), 0);
	assert_int_equal(dsn_wants_failure_report("a@b.test", DSN_NOTIFY_NEVER), 0);
	assert_int_equal(
	        dsn_wants_failure_report("a@b.test", DSN_NOTIFY_NEVER | DSN_NOTIFY_FAILURE), 0);
}

/* RFC 3461 NOTIFY=SUCCESS: a success report, never mixed with failures. */
static void
test_success_report(void **state)
{
	struct fixture *f = *state;
	struct dsn_failure ok[2] = {
		{
		        .action = DSN_ACTION_RELAYED,
		        .address = "bob@partner.test",
		        .orcpt = "rfc822;bob@partner.test",
		        .status = "2.0.0",
		        .remote_reply = "250 2.0.0 accepted",
		        .host_name = "mx1.partner.test",
		        .host_address = "127.0.0.2",
		        .host_port = 2526,
		        .greeting = "220 mx1.partner.test ESMTP",
		        .helo_response = "250-mx1.partner.test",
		},
		{ .action = DSN_ACTION_DELIVERED,
		  .address = "joe@example.test",
		  .status = "5.1.1" },
	};
	struct dsn_failure mixed[2] = {
		{ .action = DSN_ACTION_DELIVERED, .address = "joe@example.test" },
		{ .address = "bob@partner.test", .status = "5.1.1" },
	};
	struct dsn_bounce b = bounce(f, ok, 2);
	struct err e = { 0 };
	char *out = NULL;
	size_t n = 0;

	b.ret = DSN_RET_FULL; /* RFC 3461 4.3: applies to failures; headers only here */
	out = build(&b, NULL);
	assert_true(has_line(out, "Subject: Successful Mail Delivery Report"));
	assert_non_null(strstr(out, "-success@mx.example.test>"));
	assert_true(strstr(out, "Final-Recipient: rfc822;bob@partner.test\r\nAction: relayed\r\n"
	                        "Status: 2.0.0\r\nRemote-MTA: dns; mx1.partner.test\r\n"
	                        "Remote-MTA: X-ip; [127.0.0.2]:2526\r\n"
	                        "Diagnostic-Code: smtp; 250 2.0.0 accepted\r\n") != NULL);
	/* a non-success status is never put into a success report */
	assert_true(strstr(out, "Final-Recipient: rfc822;joe@example.test\r\nAction: delivered\r\n"
	                        "Status: 2.0.0\r\n") != NULL);
	assert_null(strstr(out, "X-Refmta-Diagnostic"));
	assert_null(strstr(out, "SMTP error"));
	assert_null(strstr(out, "Action: failed"));
	assert_true(has_line(out, "Content-Type: text/rfc822-headers"));
	assert_null(strstr(out, "message/rfc822"));
	free(out);

	b = bounce(f, mixed, 2);
	assert_int_equal(dsn_build_bounce(&b, &out, &n, &e), -1);
	assert_non_null(strstr(e.text, "failures only or successes only"));

	assert_int_equal(dsn_wants_success_report("a@b.test", DSN_NOTIFY_SUCCESS), 1);
	assert_int_equal(
	        dsn_wants_success_report("a@b.test", DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE), 1);
	assert_int_equal(dsn_wants_success_report("a@b.test", 0), 0); /* not asked */
	assert_int_equal(dsn_wants_success_report("a@b.test", DSN_NOTIFY_FAILURE), 0);
	assert_int_equal(dsn_wants_success_report("", DSN_NOTIFY_SUCCESS), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_golden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_optional_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_optional_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_recipients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_reply, setup, teardown),
		cmocka_unit_test(test_field_value),
		cmocka_unit_test_setup_teardown(test_utf8_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ret_hdrs_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_returned_long_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test(test_wants_failure_report),
		cmocka_unit_test_setup_teardown(test_success_report, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
