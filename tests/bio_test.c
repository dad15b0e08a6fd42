/*
 * bio_test.c - buffered line I/O (lib/bio.c) over a socketpair: lines with
 * CRLF and bare LF, pipelined input, over-long lines (consumed whole, their
 * ending kept), EOF mid-line, exact reads across the buffer's refill and
 * compaction, timeouts, discarding buffered plaintext (RFC 3207 4.2), and
 * buffered output; then the same through TLS on both backends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bio.h"
#include "tls.h"
#include "testutil.h"

/* sv[0] is the bio's end, sv[1] the test's. */
struct pair {
	int sv[2];
	struct bio b;
};

static void
set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
}

static int
pair_setup(void **state)
{
	struct pair *p = calloc(1, sizeof *p);

	if (p == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv) != 0) {
		free(p);
		return -1;
	}
	bio_init(&p->b, p->sv[0]);
	*state = p;
	return 0;
}

static int
pair_teardown(void **state)
{
	struct pair *p = *state;

	if (p->sv[0] >= 0)
		close(p->sv[0]);
	if (p->sv[1] >= 0)
		close(p->sv[1]);
	free(p);
	return 0;
}

static void
put(struct pair *p, const void *s, size_t n)
{
	assert_int_equal(write(p->sv[1], s, n), (ssize_t)n);
}

#define PUT(p, s) put((p), (s), strlen(s))

/* Read one line with a buffer of max + 1 octets and a canary after it;
 * it must come back with status `st`, text `want` and the too-long flag. */
static void
expect_line(struct pair *p, size_t max, enum bio_status st, const char *want, int too_long)
{
	char buf[256];
	struct err e = { 0 };
	size_t len = 999;
	int got_too_long = -1;

	assert_true(max + 2 <= sizeof buf);
	memset(buf, '#', sizeof buf);
	assert_int_equal(bio_read_line(&p->b, buf, max, &len, &got_too_long, &e), st);
	assert_int_equal(buf[max + 1], '#'); /* never beyond max + 1 octets */
	assert_true(len <= max);
	assert_int_equal(buf[len], '\0');
	assert_string_equal(buf, want);
	assert_int_equal(len, strlen(want));
	assert_int_equal(got_too_long, too_long);
}

static void
test_lines_crlf_and_bare_lf(void **state)
{
	struct pair *p = *state;

	PUT(p, "EHLO a.test\r\nMAIL FROM:<>\n");
	expect_line(p, 100, BIO_OK, "EHLO a.test\r\n", 0);
	/* Pipelined: the second line is already buffered, no read needed. */
	assert_true(bio_has_line(&p->b));
	assert_int_equal(bio_buffered(&p->b), 13);
	assert_true(bio_input_pending(&p->b, 0));
	expect_line(p, 100, BIO_OK, "MAIL FROM:<>\n", 0);
	assert_false(bio_has_line(&p->b));
	assert_int_equal(bio_buffered(&p->b), 0);
	assert_false(bio_input_pending(&p->b, 0));
	assert_int_equal(p->b.bytes_in, 26);
}

static void
test_line_split_over_reads(void **state)
{
	struct pair *p = *state;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* Three writes with pauses: the bio must keep reading. */
		const char *parts[] = { "RCPT ", "TO:<a@b>", "\r\n" };
		for (size_t i = 0; i < 3; i++) {
			usleep(20000);
			if (write(p->sv[1], parts[i], strlen(parts[i])) < 0)
				_exit(1);
		}
		_exit(0);
	}
	expect_line(p, 100, BIO_OK, "RCPT TO:<a@b>\r\n", 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void
test_too_long_line_keeps_its_ending(void **state)
{
	struct pair *p = *state;

	PUT(p, "abcdefghijkl\r\nnext\r\nxyz123\n");
	expect_line(p, 8, BIO_OK, "abcdef\r\n", 1); /* its start, then its real last two octets */
	/* The rest of the long line was consumed: the next line is whole. */
	expect_line(p, 8, BIO_OK, "next\r\n", 0);
	/* A bare LF ending stays visible too. */
	expect_line(p, 4, BIO_OK, "xy3\n", 1);
}

static void
test_exactly_max_is_not_too_long(void **state)
{
	struct pair *p = *state;

	PUT(p, "1234567\n12345678\n");
	expect_line(p, 8, BIO_OK, "1234567\n", 0);
	expect_line(p, 8, BIO_OK, "1234568\n", 1);
}

static void
test_eof_mid_line(void **state)
{
	struct pair *p = *state;

	PUT(p, "QUIT\r\nQU");
	close(p->sv[1]);
	p->sv[1] = -1;
	expect_line(p, 100, BIO_OK, "QUIT\r\n", 0);
	/* The partial line is handed back with the EOF. */
	expect_line(p, 100, BIO_EOF, "QU", 0);
	expect_line(p, 100, BIO_EOF, "", 0);
}

static void
test_read_exact_across_refills(void **state)
{
	struct pair *p = *state;
	size_t total = 3 * BIO_BUFSIZE + 123;
	unsigned char *data = malloc(total), *got = malloc(total);
	struct err e = { 0 };

	assert_non_null(data);
	assert_non_null(got);
	for (size_t i = 0; i < total; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	put(p, data, total);
	PUT(p, "after the chunk\r\n");
	/* Odd-sized chunks, as BDAT would ask for them. */
	size_t sizes[] = { 1, 1000, BIO_BUFSIZE - 7, BIO_BUFSIZE + 13, total };
	size_t off = 0;
	for (size_t i = 0; off < total; i++) {
		size_t n = sizes[i] < total - off ? sizes[i] : total - off;
		assert_int_equal(bio_read_exact(&p->b, got + off, n, &e), BIO_OK);
		off += n;
	}
	assert_memory_equal(got, data, total);
	expect_line(p, 100, BIO_OK, "after the chunk\r\n", 0);
	free(data);
	free(got);
}

static void
test_line_across_a_full_buffer(void **state)
{
	struct pair *p = *state;
	char *data = malloc(BIO_BUFSIZE);
	struct err e = { 0 };

	/* Fill the read buffer so the next line starts 10 octets before its
	 * end: the line is completed after a refill that must compact. */
	assert_non_null(data);
	memset(data, 'x', BIO_BUFSIZE - 10);
	memcpy(data + BIO_BUFSIZE - 10, "0123456789", 10);
	put(p, data, BIO_BUFSIZE);
	PUT(p, "abcdefghij\r\n");
	assert_int_equal(bio_read_exact(&p->b, data, BIO_BUFSIZE - 10, &e), BIO_OK);
	expect_line(p, 100, BIO_OK, "0123456789abcdefghij\r\n", 0);
	free(data);
}

static void
test_read_timeout(void **state)
{
	struct pair *p = *state;
	char line[256];
	struct err e = { 0 };
	size_t len;
	int too_long;

	set_rcvtimeo(p->sv[0], 50);
	PUT(p, "HEL");
	assert_int_equal(bio_read_line(&p->b, line, 100, &len, &too_long, &e), BIO_TIMEOUT);
	assert_int_equal(e.code, BIO_TIMEOUT);
	assert_string_equal(e.text, "read timed out");
	assert_string_equal(line, "HEL");
	assert_int_equal(bio_read_exact(&p->b, line, 1, &e), BIO_TIMEOUT);
}

static void
test_discard_buffered_plaintext(void **state)
{
	struct pair *p = *state;

	/* RFC 3207 4.2 (CVE-2011-0411): what came with STARTTLS is dropped. */
	PUT(p, "STARTTLS\r\nRSET\r\nMAIL FROM:<evil@x>\r\n");
	expect_line(p, 100, BIO_OK, "STARTTLS\r\n", 0);
	assert_int_equal(bio_discard_input(&p->b), 26);
	assert_int_equal(bio_buffered(&p->b), 0);
	assert_false(bio_has_line(&p->b));
	assert_int_equal(bio_discard_input(&p->b), 0);
	PUT(p, "EHLO\r\n");
	expect_line(p, 100, BIO_OK, "EHLO\r\n", 0);
}

static void
test_input_pending_waits(void **state)
{
	struct pair *p = *state;

	assert_false(bio_input_pending(&p->b, 10));
	PUT(p, "x");
	assert_true(bio_input_pending(&p->b, 10));
	close(p->sv[1]);
	p->sv[1] = -1;
	assert_true(bio_input_pending(&p->b, 10)); /* EOF is input too: a read will not block */
}

/* Everything the test's end can read without blocking, NUL-terminated. */
static size_t
drain(struct pair *p, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap - 1 && (n = recv(p->sv[1], buf + got, cap - 1 - got, MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

static void
test_write_is_buffered_until_flush(void **state)
{
	struct pair *p = *state;
	struct err e = { 0 };
	char buf[256];

	assert_int_equal(bio_write(&p->b, "250-a\r\n", 7, &e), BIO_OK);
	assert_int_equal(bio_printf(&p->b, &e, "250 %s %d\r\n", "ok", 42), BIO_OK);
	assert_int_equal(drain(p, buf, sizeof buf), 0);
	assert_int_equal(p->b.bytes_out, 0);
	assert_int_equal(bio_flush(&p->b, &e), BIO_OK);
	assert_int_equal(drain(p, buf, sizeof buf), 18);
	assert_string_equal(buf, "250-a\r\n250 ok 42\r\n");
	assert_int_equal(p->b.bytes_out, 18);
	assert_int_equal(bio_flush(&p->b, &e), BIO_OK); /* nothing to send */
	assert_int_equal(p->b.bytes_out, 18);
}

static void
test_big_write_keeps_order(void **state)
{
	struct pair *p = *state;
	struct err e = { 0 };
	size_t big = 2 * BIO_BUFSIZE + 5, total = 3 + big + 3;
	char *data = malloc(big), *got = malloc(total + 1);

	assert_non_null(data);
	assert_non_null(got);
	memset(data, 'b', big);
	/* Buffered, then larger than the buffer (sent directly), then buffered. */
	assert_int_equal(bio_write(&p->b, "<<<", 3, &e), BIO_OK);
	assert_int_equal(bio_write(&p->b, data, big, &e), BIO_OK);
	assert_int_equal(bio_write(&p->b, ">>>", 3, &e), BIO_OK);
	assert_int_equal(bio_flush(&p->b, &e), BIO_OK);
	assert_int_equal(drain(p, got, total + 1), total);
	assert_memory_equal(got, "<<<", 3);
	assert_memory_equal(got + 3, data, big);
	assert_memory_equal(got + 3 + big, ">>>", 3);
	assert_int_equal(p->b.bytes_out, total);
	free(data);
	free(got);
}

static void
test_write_to_closed_peer(void **state)
{
	struct pair *p = *state;
	struct err e = { 0 };

	/* MSG_NOSIGNAL: an error to report, not a SIGPIPE that kills. */
	close(p->sv[1]);
	p->sv[1] = -1;
	assert_int_equal(bio_write(&p->b, "221 bye\r\n", 9, &e), BIO_OK);
	assert_int_equal(bio_flush(&p->b, &e), BIO_ERROR);
	assert_int_equal(e.code, BIO_ERROR);
	assert_non_null(strstr(e.text, "write: "));
}

/* ---- through TLS, both backends --------------------------------------------------- */

static const char *
pki_dir(void)
{
	const char *d = getenv("REFMTA_PKI");
	struct stat st;

	return d != NULL && *d != '\0' && stat(d, &st) == 0 ? d : NULL;
}

/* The server side, in a child: handshake, answer every line with "250 "
 * and the line, until QUIT. */
static void
tls_echo_server(const struct tls_backend *be, int fd, const char *pki)
{
	char cert[512], key[512], line[1024];
	struct tls_config cfg = { .role = TLS_ROLE_SERVER, .ncerts = 1 };
	struct err e = { 0 };
	struct tls_ctx *ctx;
	struct tls_conn *c;
	struct bio b;
	size_t len;
	int too_long;

	snprintf(cert, sizeof cert, "%s/mx-rsa.pem", pki);
	snprintf(key, sizeof key, "%s/mx-rsa.key", pki);
	cfg.certs[0] = (struct tls_keypair){ cert, key };
	if ((ctx = tls_ctx_new(be, &cfg, &e)) == NULL ||
	    (c = tls_conn_new(ctx, fd, NULL, &e)) == NULL || tls_conn_handshake(c, &e) != TLS_OK)
		_exit(2);
	bio_init(&b, fd);
	bio_use_tls(&b, c);
	while (bio_read_line(&b, line, sizeof line - 1, &len, &too_long, &e) == BIO_OK) {
		if (bio_printf(&b, &e, "250 %s", line) != BIO_OK || bio_flush(&b, &e) != BIO_OK)
			_exit(3);
		if (strcmp(line, "QUIT\r\n") == 0)
			break;
	}
	tls_conn_shutdown(c);
	tls_conn_free(c);
	tls_ctx_free(ctx);
	_exit(0);
}

static void
test_tls_round_trip(void **state)
{
	const struct tls_backend *backends[] = { &tls_backend_openssl, &tls_backend_gnutls };
	const char *pki = pki_dir();

	(void)state;
	if (pki == NULL)
		test_skip("REFMTA_PKI is not set to a minted PKI (make check sets it)");
	for (size_t i = 0; i < 2; i++) {
		const struct tls_backend *sbe = backends[i], *cbe = backends[1 - i];
		struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
		struct err e = { 0 };
		struct tls_ctx *ctx;
		struct tls_conn *c;
		struct bio b;
		char line[256];
		size_t len;
		int sv[2], status, too_long;
		pid_t pid;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(sv[0]);
			alarm(20);
			tls_echo_server(sbe, sv[1], pki);
		}
		close(sv[1]);
		set_rcvtimeo(sv[0], 10000);
		ctx = tls_ctx_new(cbe, &cfg, &e);
		assert_non_null(ctx);
		c = tls_conn_new(ctx, sv[0], NULL, &e);
		assert_non_null(c);
		assert_int_equal(tls_conn_handshake(c, &e), TLS_OK);
		bio_init(&b, sv[0]);
		bio_use_tls(&b, c);
		assert_int_equal(bio_printf(&b, &e, "EHLO %s\r\nNOOP\r\n", cbe->name), BIO_OK);
		assert_int_equal(bio_flush(&b, &e), BIO_OK);
		assert_int_equal(bio_read_line(&b, line, sizeof line - 1, &len, &too_long, &e),
		                 BIO_OK);
		assert_true(strncmp(line, "250 EHLO ", 9) == 0);
		assert_int_equal(bio_read_line(&b, line, sizeof line - 1, &len, &too_long, &e),
		                 BIO_OK);
		assert_string_equal(line, "250 NOOP\r\n");
		assert_int_equal(bio_write(&b, "QUIT\r\n", 6, &e), BIO_OK);
		assert_int_equal(bio_flush(&b, &e), BIO_OK);
		assert_int_equal(bio_read_line(&b, line, sizeof line - 1, &len, &too_long, &e),
		                 BIO_OK);
		assert_string_equal(line, "250 QUIT\r\n");
		assert_int_equal(b.bytes_out, 7 + strlen(cbe->name) + 6 + 6);
		/* Counted in plaintext octets, not TLS records. */
		assert_int_equal(b.bytes_in, 11 + strlen(cbe->name) + 10 + 10);
		assert_int_equal(bio_read_line(&b, line, sizeof line - 1, &len, &too_long, &e),
		                 BIO_EOF);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		tls_conn_free(c);
		tls_ctx_free(ctx);
		close(sv[0]);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lines_crlf_and_bare_lf),
		T(test_line_split_over_reads),
		T(test_too_long_line_keeps_its_ending),
		T(test_exactly_max_is_not_too_long),
		T(test_eof_mid_line),
		T(test_read_exact_across_refills),
		T(test_line_across_a_full_buffer),
		T(test_read_timeout),
		T(test_discard_buffered_plaintext),
		T(test_input_pending_waits),
		T(test_write_is_buffered_until_flush),
		T(test_big_write_keeps_order),
		T(test_write_to_closed_peer),
		cmocka_unit_test(test_tls_round_trip),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
