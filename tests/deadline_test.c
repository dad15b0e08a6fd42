/*
 * deadline_test.c - the total deadlines of lib/bio.c and lib/tls.c
 * (DESIGN.md principle 5, issue 13): a peer trickling one octet at a time
 * restarts the socket's idle timeout with each, so only a deadline ends it.
 * Over a socketpair with a forked trickler: the TLS handshake on both
 * backends, as server and as client (tls_conn_set_deadline); a read under
 * bio_set_limit(); a write to a peer that never reads, and to one that
 * reads slowly (the write deadline is total, not per send(2)).
 * Each case is bounded (alarm) and checks the time it took, so the test
 * fails if the deadline is not what ended it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "net.h"
#include "tls.h"
#include "testutil.h"

/* The trickler: `head` at once, then one 'A' every `every_ms` for
 * `for_ms`, then close.  Reads (and drops) nothing. */
static pid_t
trickle(int fd, const char *head, size_t headlen, int every_ms, int for_ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec ts = { 0, (long)every_ms * 1000000L };
		alarm(20);
		if (headlen > 0 && send(fd, head, headlen, MSG_NOSIGNAL) < 0)
			_exit(1);
		for (int t = 0; t < for_ms; t += every_ms) {
			nanosleep(&ts, NULL);
			if (send(fd, "A", 1, MSG_NOSIGNAL) < 0)
				_exit(0); /* the other end gave up: what we wanted */
		}
		_exit(0);
	}
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static const char *
pki_dir(void)
{
	const char *d = getenv("REFMTA_PKI");

	return d != NULL && d[0] != '\0' ? d : NULL;
}

/* One handshake against a trickler: the deadline (500 ms) must end it, well
 * before the trickle (3 s of octets 100 ms apart, idle timeout 1 s) would. */
static void
handshake_against_trickler(const struct tls_backend *be, enum tls_role role, const char *pki)
{
	/* A TLS record header announcing 512 octets of handshake. */
	static const char hello[] = "\x16\x03\x01\x02\x00";
	char cert[512], key[512];
	struct tls_config cfg = { .role = role };
	struct err e = { 0 };
	struct tls_ctx *ctx;
	struct tls_conn *c;
	unsigned long long t0, took;
	int sv[2];
	pid_t pid;

	if (role == TLS_ROLE_SERVER) {
		snprintf(cert, sizeof cert, "%s/mx-rsa.pem", pki);
		snprintf(key, sizeof key, "%s/mx-rsa.key", pki);
		cfg.certs[0] = (struct tls_keypair){ cert, key };
		cfg.ncerts = 1;
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(net_set_timeouts(sv[0], 1000), 0);
	pid = trickle(sv[1], hello, sizeof hello - 1, 100, 3000);
	close(sv[1]);
	ctx = tls_ctx_new(be, &cfg, &e);
	assert_non_null(ctx);
	c = tls_conn_new(ctx, sv[0], NULL, &e);
	assert_non_null(c);
	t0 = bio_now_ms();
	tls_conn_set_deadline(c, t0 + 500, 1000);
	assert_int_equal(tls_conn_handshake(c, &e), TLS_ERR_TIMEOUT);
	took = bio_now_ms() - t0;
	print_message("# %s %s: handshake cut after %llu ms\n", be->name,
	              role == TLS_ROLE_SERVER ? "server" : "client", took);
	assert_true(took >= 450 && took <= 1500);
	tls_conn_free(c);
	tls_ctx_free(ctx);
	close(sv[0]);
	reap(pid);
}

static void
test_tls_handshake_deadline(void **state)
{
	const struct tls_backend *backends[] = { &tls_backend_openssl, &tls_backend_gnutls };
	const char *pki = pki_dir();

	(void)state;
	if (pki == NULL)
		test_skip("REFMTA_PKI is not set to a minted PKI (make check sets it)");
	for (size_t i = 0; i < 2; i++) {
		handshake_against_trickler(backends[i], TLS_ROLE_SERVER, pki);
		handshake_against_trickler(backends[i], TLS_ROLE_CLIENT, pki);
	}
}

/* Without a deadline the same trickle is bounded by nothing but its end:
 * the control that shows the test above measures the deadline. */
static void
test_no_deadline_waits_for_the_trickle(void **state)
{
	struct bio b;
	char line[256];
	struct err e = { 0 };
	size_t len;
	int sv[2], too_long;
	unsigned long long t0, took;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	bio_init(&b, sv[0]);
	bio_set_idle(&b, 1000);
	pid = trickle(sv[1], "", 0, 100, 1200);
	close(sv[1]);
	t0 = bio_now_ms();
	assert_int_equal(bio_read_line(&b, line, 100, &len, &too_long, &e), BIO_EOF);
	took = bio_now_ms() - t0;
	assert_true(took >= 1100);
	close(sv[0]);
	reap(pid);
}

/* bio_set_limit(): a trickled line ends at the limit, deadline_passed set;
 * the limit stays across reads until cleared. */
static void
test_limit_bounds_a_trickled_read(void **state)
{
	struct bio b;
	char line[256];
	struct err e = { 0 };
	size_t len;
	int sv[2], too_long;
	unsigned long long t0, took;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	bio_init(&b, sv[0]);
	bio_set_idle(&b, 1000);
	pid = trickle(sv[1], "NOOP\r\n", 6, 50, 3000);
	close(sv[1]);
	t0 = bio_now_ms();
	bio_set_limit(&b, t0 + 400);
	assert_int_equal(bio_read_line(&b, line, 100, &len, &too_long, &e), BIO_OK);
	assert_string_equal(line, "NOOP\r\n");
	assert_int_equal(bio_read_line(&b, line, 255, &len, &too_long, &e), BIO_TIMEOUT);
	took = bio_now_ms() - t0;
	assert_true(b.deadline_passed);
	assert_true(took >= 350 && took <= 900);
	/* Cleared: the idle timeout alone again (the trickle goes on). */
	bio_set_limit(&b, 0);
	assert_int_equal(bio_read_exact(&b, line, 1, &e), BIO_OK);
	close(sv[0]);
	reap(pid);
}

/* A peer that never reads: one flush of 8 MB ends within the idle timeout
 * in total (300 ms), with BIO_TIMEOUT, not as a deadline. */
static void
test_write_to_a_peer_that_never_reads(void **state)
{
	static char big[8 << 20];
	struct bio b;
	struct err e = { 0 };
	int sv[2];
	unsigned long long t0, took;

	(void)state;
	memset(big, 'x', sizeof big);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	bio_init(&b, sv[0]);
	bio_set_idle(&b, 300);
	t0 = bio_now_ms();
	assert_int_equal(bio_write(&b, big, sizeof big, &e), BIO_TIMEOUT);
	took = bio_now_ms() - t0;
	assert_false(b.deadline_passed);
	assert_true(took >= 250 && took <= 1000);
	/* Under a nearer limit, the limit ends it and says so. */
	t0 = bio_now_ms();
	bio_set_limit(&b, t0 + 100);
	assert_int_equal(bio_write(&b, big, sizeof big, &e), BIO_TIMEOUT);
	assert_true(b.deadline_passed);
	assert_true(bio_now_ms() - t0 <= 600);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that reads 32 KB every 100 ms: each send(2) makes progress well
 * within the 500 ms idle timeout, so only a total write deadline ends an
 * 8 MB flush (at this pace it would take 25 s). */
static void
test_write_to_a_slow_reader(void **state)
{
	static char big[8 << 20];
	struct bio b;
	struct err e = { 0 };
	int sv[2];
	unsigned long long t0, took;
	pid_t pid;

	(void)state;
	memset(big, 'y', sizeof big);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char sink[32768];
		struct timespec ts = { 0, 100 * 1000000L };
		close(sv[0]);
		alarm(20);
		for (int i = 0; i < 100; i++) {
			if (recv(sv[1], sink, sizeof sink, MSG_WAITALL) <= 0)
				_exit(0);
			nanosleep(&ts, NULL);
		}
		_exit(0);
	}
	close(sv[1]);
	bio_init(&b, sv[0]);
	bio_set_idle(&b, 500);
	t0 = bio_now_ms();
	assert_int_equal(bio_write(&b, big, sizeof big, &e), BIO_TIMEOUT);
	took = bio_now_ms() - t0;
	print_message("# a slow reader: the write cut after %llu ms\n", took);
	assert_true(took >= 450 && took <= 1500);
	close(sv[0]);
	reap(pid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_handshake_deadline),
		cmocka_unit_test(test_no_deadline_waits_for_the_trickle),
		cmocka_unit_test(test_limit_bounds_a_trickled_read),
		cmocka_unit_test(test_write_to_a_peer_that_never_reads),
		cmocka_unit_test(test_write_to_a_slow_reader),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
