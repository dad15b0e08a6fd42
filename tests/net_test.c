/*
 * net_test.c - lib/net.c: "ADDR:PORT" in every form refmta, the harness
 * and the fixtures accept (and the ones they refuse), libunbound's
 * "ADDR@PORT", the loopback rule, socket timeouts that really expire, and
 * addresses written back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net.h"

static void
test_parse_addr_port(void **state)
{
	static const struct {
		const char *in;
		int family; /* 0: refused */
		const char *host;
		unsigned port;
	} rows[] = {
		{ "127.0.0.1:25", AF_INET, "127.0.0.1", 25 },
		{ "127.0.0.1:0", AF_INET, "127.0.0.1", 0 }, /* any free port */
		{ "192.0.2.1:65535", AF_INET, "192.0.2.1", 65535 },
		{ "[::1]:2525", AF_INET6, "::1", 2525 },
		{ "::1:2525", AF_INET6, "::1", 2525 }, /* split at the last colon */
		{ "[2001:db8::1]:25", AF_INET6, "2001:db8::1", 25 },
		{ "[127.0.0.1]:25", AF_INET, "127.0.0.1", 25 },
		{ "127.0.0.1:65536", 0, NULL, 0 },
		{ "127.0.0.1:", 0, NULL, 0 },
		{ "127.0.0.1:+25", 0, NULL, 0 },
		{ "127.0.0.1: 25", 0, NULL, 0 },
		{ "127.0.0.1:25x", 0, NULL, 0 },
		{ "127.0.0.1", 0, NULL, 0 },
		{ ":25", 0, NULL, 0 },
		{ "localhost:25", 0, NULL, 0 }, /* numeric only: never the DNS */
		{ "[::1]25", 0, NULL, 0 },
		{ "[::1:25", 0, NULL, 0 },
		{ "[]:25", 0, NULL, 0 },
		{ "256.0.0.1:25", 0, NULL, 0 },
		{ "", 0, NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct net_addr a;
		int rc = net_parse_addr_port(rows[i].in, &a);

		if (rows[i].family == 0) {
			if (rc != -1)
				fail_msg("\"%s\" accepted, want refused", rows[i].in);
			assert_int_equal(a.ss.ss_family, 0);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\" refused", rows[i].in);
		assert_int_equal(a.ss.ss_family, rows[i].family);
		assert_string_equal(a.host, rows[i].host);
		assert_int_equal(a.port, rows[i].port);
		if (rows[i].family == AF_INET) {
			assert_int_equal(a.len, sizeof(struct sockaddr_in));
			assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port),
			                 rows[i].port);
		} else {
			assert_int_equal(a.len, sizeof(struct sockaddr_in6));
			assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port),
			                 rows[i].port);
		}
	}
}

static void
test_parse_addr_at_port(void **state)
{
	static const char *const refused[] = {
		"127.0.0.1:5353", "127.0.0.1", "127.0.0.1@", "127.0.0.1@65536", "@53",
		"localhost@53",   "::1@x",     "[::1]@53",   "127.0.0.1@+53",
	};
	struct net_addr a;

	(void)state;
	assert_int_equal(net_parse_addr_at_port("127.0.0.1@5353", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 5353);
	assert_int_equal(net_parse_addr_at_port("::1@53", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(a.port, 53);
	assert_int_equal(net_parse_addr_at_port("127.0.0.1@0", &a),
	                 0); /* callers wanting 1+ check */
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (net_parse_addr_at_port(refused[i], &a) != -1)
			fail_msg("\"%s\" accepted, want refused", refused[i]);
}

static void
test_loopback_and_format(void **state)
{
	static const struct {
		const char *in;
		int loopback;
		const char *text;
	} rows[] = {
		{ "127.0.0.1:25", 1, "127.0.0.1:25" },
		{ "127.255.0.9:1", 1, "127.255.0.9:1" },
		{ "128.0.0.1:1", 0, "128.0.0.1:1" },
		{ "0.0.0.0:0", 0, "0.0.0.0:0" },
		{ "[::1]:53", 1, "[::1]:53" },
		{ "[0:0:0:0:0:0:0:1]:53", 1, "[::1]:53" },
		{ "[::]:53", 0, "[::]:53" },
		{ "[::ffff:127.0.0.1]:53", 0, "[::ffff:127.0.0.1]:53" },
	};
	struct sockaddr other = { .sa_family = AF_UNIX };
	char text[64];

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct net_addr a;

		assert_int_equal(net_parse_addr_port(rows[i].in, &a), 0);
		assert_int_equal(net_is_loopback((struct sockaddr *)&a.ss), rows[i].loopback);
		net_format_addr((struct sockaddr *)&a.ss, text, sizeof text);
		assert_string_equal(text, rows[i].text);
	}
	assert_int_equal(net_is_loopback(&other), 0);
	net_format_addr(&other, text, sizeof text);
	assert_string_equal(text, "?");
}

static void
test_timeouts_expire(void **state)
{
	int sv[2];
	char c;
	struct timeval t0, t1, tv;
	socklen_t len = sizeof tv;
	long ms;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(net_set_timeouts(sv[0], 1500), 0);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, &len), 0);
	assert_true(tv.tv_sec == 1 && tv.tv_usec >= 490000 && tv.tv_usec <= 510000);
	assert_int_equal(net_set_timeouts(sv[0], 100), 0);
	gettimeofday(&t0, NULL);
	assert_int_equal(read(sv[0], &c, 1), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	gettimeofday(&t1, NULL);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
	assert_true(ms >= 90 && ms < 5000);
	assert_int_equal(net_set_timeouts(-1, 100), -1);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr_port),
		cmocka_unit_test(test_parse_addr_at_port),
		cmocka_unit_test(test_loopback_and_format),
		cmocka_unit_test(test_timeouts_expire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
