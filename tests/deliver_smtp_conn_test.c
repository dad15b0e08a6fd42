/*
 * deliver_smtp_conn_test.c - server/deliver_smtp_conn.c against a scripted
 * SMTP server (tests/deliver_smtp_testlib.h): HELO after a refused EHLO, a
 * command timeout, and the connection cache: reuse, a cached connection
 * found closed, and one that dies (or says 421) at MAIL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "deliver_smtp_testlib.h"

static void
test_helo_fallback(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s,
	          GREET
	          "S 500 what\nR\nS 250 hello\n"
	          "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\nS 250 queued\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\nC: HELO client.test\n"
	                        "C: MAIL FROM:<alice@client.test>\n"
	                        "C: RCPT TO:<bob@partner.test>\nC: RCPT TO:<carol@partner.test>\n"
	                        "C: DATA\n" MSG_STUFFED "C: QUIT\n");
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_string_equal(j.res[0].host.helo_response, "250 hello");
	free(tr);
	job_free(&j);
}

/* A server that never answers: command_timeout, then the next host. */
static void
test_command_timeout(void **state)
{
	struct srv s;
	struct job j;
	char *tr, line[300];

	(void)state;
	srv_start(&s, "A\nZ\n", NULL);
	job_init(&j, s.port);
	j.t.command_timeout = 1;
	job_run(&j);
	tr = srv_finish(&s);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DEFERRED);
	assert_string_equal(j.res[0].error, "SMTP timeout after initial connection");
	assert_string_equal(j.res[0].status, "4.4.2");
	snprintf(line, sizeof line,
	         "T-000001 H=mx.partner.test [127.0.0.1]:%u: SMTP timeout after initial "
	         "connection\n",
	         s.port);
	assert_contains(j.log, line);
	free(tr);
	job_free(&j);
}

static void
test_cache_reuses(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s, GREET "S 250-mx|250 PIPELINING\n" ONE_MSG ONE_MSG QUIT, NULL);
	job_init(&j, s.port);
	j.nrcpts = 1;
	j.cache = smtp_cache_new();
	assert_non_null(j.cache);
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	smtp_cache_close_all(j.cache);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\n"
	                        "C: MAIL FROM:<alice@client.test>\nC: RCPT "
	                        "TO:<bob@partner.test>\nC: DATA\n" MSG_STUFFED
	                        "C: MAIL FROM:<alice@client.test>\nC: RCPT "
	                        "TO:<bob@partner.test>\nC: DATA\n" MSG_STUFFED "C: QUIT\n");
	free(tr);
	job_free(&j);
}

static void
test_cache_dead_connection(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s,
	          GREET "S 250-mx|250 PIPELINING\n" ONE_MSG "C\n" GREET
	                "S 250-mx|250 PIPELINING\n" ONE_MSG QUIT,
	          NULL);
	job_init(&j, s.port);
	j.nrcpts = 1;
	j.cache = smtp_cache_new();
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	usleep(100000);
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_string_equal(j.log, ""); /* reconnecting is no host problem */
	smtp_cache_close_all(j.cache);
	tr = srv_finish(&s);
	assert_contains(
	        tr, "-- close\n-- accept\nC: EHLO client.test\nC: MAIL FROM:<alice@client.test>\n");
	free(tr);
	job_free(&j);
}

/* A kept connection the server closes (or ends with 421) when the next
 * MAIL comes: connect again, quietly. */
static void
test_cache_dead_on_mail(void **state)
{
	const char *how = *state;
	char script[1024], *tr;
	struct srv s;
	struct job j;

	snprintf(script, sizeof script,
	         GREET "S 250-mx|250 PIPELINING\n" ONE_MSG "R3\n%sC\n" GREET
	               "S 250-mx|250 PIPELINING\n" ONE_MSG QUIT,
	         how);
	srv_start(&s, script, NULL);
	job_init(&j, s.port);
	j.nrcpts = 1;
	j.cache = smtp_cache_new();
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_string_equal(j.log, "");
	smtp_cache_close_all(j.cache);
	tr = srv_finish(&s);
	assert_contains(tr, "C: DATA\n-- close\n-- accept\nC: EHLO client.test\nC: MAIL FROM:");
	job_free(&j);
	free(tr);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_command_timeout),
		cmocka_unit_test(test_cache_reuses),
		cmocka_unit_test(test_cache_dead_connection),
		cmocka_unit_test_prestate(test_cache_dead_on_mail, ""),
		cmocka_unit_test_prestate(test_cache_dead_on_mail, "S 421 4.4.2 idle too long\n"),
	};

	return dst_run_group("deliver_smtp_conn", tests, sizeof tests / sizeof tests[0]);
}
