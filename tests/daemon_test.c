/*
 * daemon_test.c - the pure parts of the daemon (server/daemon.c): the
 * listen address parser, the connection limits, the worker count and the
 * accept queue's length.
 * The processes themselves (fork, signals, SIGHUP) are tested end to end
 * in tests/e2e/daemon_test.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"

static void
test_parse_listen(void **state)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;
	struct err e = { 0 };
	unsigned len = 0;
	char ip[64];

	(void)state;
	assert_int_equal(daemon_parse_listen("127.0.0.1:2525", &ss, &len, &e), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(v4->sin_port), 2525);
	assert_string_equal(inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip), "127.0.0.1");

	assert_int_equal(daemon_parse_listen("[::1]:0", &ss, &len, &e), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(v6->sin6_port), 0);
	assert_string_equal(inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip), "::1");

	assert_int_equal(daemon_parse_listen("127.0.0.1:65535", &ss, &len, &e), 0);
	assert_int_equal(ntohs(v4->sin_port), 65535);
	/* The last colon splits an unbracketed address, so bare IPv6 works too. */
	assert_int_equal(daemon_parse_listen("::1:25", &ss, &len, &e), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(v6->sin6_port), 25);
}

static void
test_parse_listen_refuses(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1",                                        /* no port */
		"127.0.0.1:",                                       /* empty port */
		"127.0.0.1:65536",                                  /* out of range */
		"127.0.0.1:-1",    "127.0.0.1:25x", "localhost:25", /* names are not resolved */
		"[::1]25",         "[::1:25",       ":25",
	};
	struct sockaddr_storage ss;
	unsigned len;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct err e = { 0 };
		char want[200];

		if (daemon_parse_listen(bad[i], &ss, &len, &e) != -1)
			fail_msg("\"%s\" was accepted", bad[i]);
		snprintf(want, sizeof want,
		         "bad listen address \"%s\" (use ADDR:PORT or [IPv6]:PORT)", bad[i]);
		assert_string_equal(e.text, want);
	}
}

static void
test_admit(void **state)
{
	struct config cfg = { .smtp_accept_max = 3, .smtp_accept_max_per_host = 2 };

	(void)state;
	assert_int_equal(daemon_admit(&cfg, 0, 0), DAEMON_ADMIT);
	assert_int_equal(daemon_admit(&cfg, 2, 1), DAEMON_ADMIT);
	assert_int_equal(daemon_admit(&cfg, 2, 2), DAEMON_REFUSE_PER_HOST);
	/* The total is checked first: both limits reached says "too many". */
	assert_int_equal(daemon_admit(&cfg, 3, 2), DAEMON_REFUSE_TOTAL);
	assert_int_equal(daemon_admit(&cfg, 3, 0), DAEMON_REFUSE_TOTAL);
	cfg.smtp_accept_max_per_host = 0; /* 0: nobody gets in */
	assert_int_equal(daemon_admit(&cfg, 0, 0), DAEMON_REFUSE_PER_HOST);
}

static void
test_worker_count(void **state)
{
	struct config cfg = { .worker_processes = 0 };

	(void)state;
	assert_int_equal(daemon_worker_count(&cfg), 1);
	cfg.worker_processes = 4;
	assert_int_equal(daemon_worker_count(&cfg), 4);
	cfg.worker_processes = 100000; /* half the slot table: room for a SIGHUP */
	assert_int_equal(daemon_worker_count(&cfg), 1024);
}

/* The pool grows to smtp_accept_max sessions plus one worker to say 421. */
static void
test_pool_max(void **state)
{
	struct config cfg = { .worker_processes = 4, .smtp_accept_max = 100 };

	(void)state;
	assert_int_equal(daemon_pool_max(&cfg), 101);
	cfg.smtp_accept_max = 1;
	assert_int_equal(daemon_pool_max(&cfg), 4); /* never below worker_processes */
	cfg.smtp_accept_max = 100000;
	assert_int_equal(daemon_pool_max(&cfg), 1024); /* half the slot table */
}

/* The master spawns a worker for each connection waiting to be accepted:
 * the count must be the accept queue's, connections in, accepts out. */
static void
test_listen_pending(void **state)
{
	char bound[160];
	struct err e = { 0 };
	struct sockaddr_storage ss;
	unsigned len;
	int lfd, c[3];

	(void)state;
	lfd = daemon_listen_open("127.0.0.1:0", bound, sizeof bound, &e);
	assert_true(lfd >= 0);
	assert_int_equal(daemon_listen_pending(lfd), 0);
	assert_int_equal(daemon_parse_listen(bound, &ss, &len, &e), 0);
	for (int i = 0; i < 3; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(c[i], (struct sockaddr *)&ss, len), 0);
	}
	assert_int_equal(daemon_listen_pending(lfd), 3);
	close(accept(lfd, NULL, NULL));
	assert_int_equal(daemon_listen_pending(lfd), 2);
	assert_int_equal(daemon_listen_pending(c[0]), 0); /* not a listening socket */
	for (int i = 0; i < 3; i++)
		close(c[i]);
	close(lfd);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen), cmocka_unit_test(test_parse_listen_refuses),
		cmocka_unit_test(test_admit),        cmocka_unit_test(test_worker_count),
		cmocka_unit_test(test_pool_max),     cmocka_unit_test(test_listen_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
