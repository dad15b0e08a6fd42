/*
 * deliver_smtp_test.c - server/deliver_smtp.c, the loop over hosts, against
 * a scripted SMTP server (tests/deliver_smtp_testlib.h): failover on a
 * refused connection and on a 421, every host failing, and the host fields
 * of the log lines.  The other parts of the transport have their own
 * deliver_smtp_*_test.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "deliver_smtp_testlib.h"

static void
test_failover_refused(void **state)
{
	struct srv s;
	struct job j;
	char *tr, line[300];
	unsigned dead = closed_port();

	(void)state;
	srv_start(&s,
	          GREET
	          "S 250-mx|250 PIPELINING\nR4\nS 250 ok|250 ok|250 ok|354 go\nD\nS 250 ok\n" QUIT,
	          NULL);
	job_init(&j, dead);
	j.hosts[0].name = "mx1.partner.test";
	j.hosts[1] = (struct route_host){
		.name = "mx2.partner.test", .address = "127.0.0.1", .port = s.port, .mx_pref = 20
	};
	j.nhosts = 2;
	job_run(&j);
	tr = srv_finish(&s);
	snprintf(line, sizeof line,
	         "T-000001 H=mx1.partner.test [127.0.0.1]:%u: Connection refused\n", dead);
	assert_contains(j.log, line);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[0].host_index, 1);
	assert_string_equal(j.res[0].host.name, "mx2.partner.test");
	free(tr);
	job_free(&j);
}

static void
test_failover_421(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s,
	          "A\nS 421 4.7.0 not now\n" QUIT GREET
	          "S 250-mx|250 PIPELINING\nR4\nS 250 ok|250 ok|250 ok|354 go\nD\nS 250 ok\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	j.hosts[0].name = "mx1.partner.test";
	j.hosts[1] = (struct route_host){
		.name = "mx2.partner.test", .address = "127.0.0.1", .port = s.port, .mx_pref = 20
	};
	j.nhosts = 2;
	job_run(&j);
	tr = srv_finish(&s);
	assert_contains(tr, "-- accept\nC: QUIT\n-- accept\nC: EHLO client.test\n");
	assert_contains(j.log, "H=mx1.partner.test [127.0.0.1]");
	assert_contains(j.log, "after initial connection: 421 4.7.0 not now");
	assert_int_equal(j.res[1].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[1].host_index, 1);
	free(tr);
	job_free(&j);
}

static void
test_all_hosts_fail(void **state)
{
	struct job j;

	(void)state;
	job_init(&j, closed_port());
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DEFERRED);
	assert_null(j.res[0].reply);
	assert_string_equal(j.res[0].error, "Connection refused");
	assert_string_equal(j.res[0].status, "4.4.1");
	job_free(&j);
}

static void
test_host_log_fields(void **state)
{
	struct smtp_host_facts h = { .name = "mx1.partner.test",
		                     .address = "127.0.0.2",
		                     .port = 25 };
	char buf[300];

	(void)state;
	smtp_host_log_fields(&h, buf, sizeof buf);
	assert_string_equal(buf, "H=mx1.partner.test [127.0.0.2]");
	h.port = 2526;
	h.tls = 1;
	snprintf(h.tls_version, sizeof h.tls_version, "TLSv1.3");
	snprintf(h.tls_cipher, sizeof h.tls_cipher, "TLS_AES_256_GCM_SHA384");
	snprintf(h.cv_reason, sizeof h.cv_reason, "unknown-ca");
	smtp_host_log_fields(&h, buf, sizeof buf);
	assert_string_equal(buf, "H=mx1.partner.test [127.0.0.2]:2526 "
	                         "X=TLSv1.3:TLS_AES_256_GCM_SHA384 CV=no (unknown-ca)");
	h.cv = 1;
	smtp_host_log_fields(&h, buf, sizeof buf);
	assert_string_equal(
	        buf, "H=mx1.partner.test [127.0.0.2]:2526 X=TLSv1.3:TLS_AES_256_GCM_SHA384 CV=yes");
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failover_refused),
		cmocka_unit_test(test_failover_421),
		cmocka_unit_test(test_all_hosts_fail),
		cmocka_unit_test(test_host_log_fields),
	};

	return dst_run_group("deliver_smtp", tests, sizeof tests / sizeof tests[0]);
}
