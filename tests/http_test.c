/*
 * http_test.c - fakeocsp's HTTP server (fakeocsp/http.c): the pure helpers
 * (percent-decoding, base64 in both alphabets, ADDR:PORT and the loopback
 * rule), then http_serve() in a child process on a loopback port, driven
 * with raw requests: POST and GET answered, keep-alive and pipelining,
 * 100-continue, every refusal with its status code, a stalled client
 * dropped at the deadline, and SIGTERM.  The OCSP content itself is
 * tested in ocsp_openssl_test.c and tests/e2e/fakeocsp_test.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "ocsp.h"
#include "ocsp_fault.h"
#include "testutil.h"

/* ---- http_url_decode ----------------------------------------------------------------- */

static void
test_url_decode(void **state)
{
	static const struct {
		const char *in, *want; /* want NULL: refused */
	} rows[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "MEIw%2BQ%3D%3D", "MEIw+Q==" },
		{ "a+b", "a+b" }, /* '+' is base64, not a space */
		{ "%41%62%7e", "Ab~" },
		{ "%4", NULL },
		{ "%", NULL },
		{ "abc%", NULL },
		{ "%zz", NULL },
		{ "%00", NULL }, /* an escaped NUL would cut the string */
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char buf[64];

		snprintf(buf, sizeof buf, "%s", rows[i].in);
		if (rows[i].want == NULL) {
			assert_int_equal(http_url_decode(buf), -1);
		} else {
			assert_int_equal(http_url_decode(buf), 0);
			assert_string_equal(buf, rows[i].want);
		}
	}
}

/* ---- http_base64_decode -------------------------------------------------------------- */

static void
test_base64_decode(void **state)
{
	static const struct {
		const char *in;
		long want; /* -1: refused */
		const char *bytes;
	} rows[] = {
		{ "TWFu", 3, "Man" },
		{ "TWE=", 2, "Ma" },
		{ "TWE", 2, "Ma" }, /* padding optional */
		{ "TQ==", 1, "M" },
		{ "TQ", 1, "M" },
		{ "+/+/", 3, "\xfb\xff\xbf" },
		{ "-_-_", 3, "\xfb\xff\xbf" }, /* URL-safe alphabet */
		{ "", -1, NULL },
		{ "=", -1, NULL },
		{ "T", -1, NULL }, /* 6 bits are not an octet */
		{ "TWFuT", -1, NULL },
		{ "TW=u", -1, NULL }, /* padding only at the end */
		{ "TW u", -1, NULL },
		{ "TWF*", -1, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		unsigned char out[16];
		long n = http_base64_decode(rows[i].in, out, sizeof out);

		assert_int_equal(n, rows[i].want);
		if (n > 0)
			assert_memory_equal(out, rows[i].bytes, (size_t)n);
	}
}

static void
test_base64_never_overflows(void **state)
{
	unsigned char out[4] = { 0 };

	(void)state;
	assert_int_equal(http_base64_decode("TWFuTWFu", out, 3), -1); /* 6 octets into 3 */
	assert_int_equal(out[3], 0);
	assert_int_equal(http_base64_decode("TWFu", out, 3), 3);
	assert_int_equal(out[3], 0);
	assert_int_equal(http_base64_decode("TWFu", out, 0), -1);
}

/* ---- http_listen --------------------------------------------------------------------- */

static void
test_listen_loopback_only(void **state)
{
	static const char *const refused[] = {
		"nocolon",         ":80",          "127.0.0.1:",      "127.0.0.1:x",
		"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x",   "192.0.2.1:0",
		"0.0.0.0:0",       "[::]:0",       "[2001:db8::1]:0", "localhost:0",
		"[127.0.0.1:0",
	};
	char bound[64];
	struct err e = { 0 };
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		memset(&e, 0, sizeof e);
		assert_int_equal(http_listen(refused[i], &fd, bound, sizeof bound, &e), -1);
		assert_int_equal(fd, -1);
		assert_non_null(strstr(e.text, refused[i]));
	}
	assert_int_equal(http_listen("192.0.2.1:0", &fd, bound, sizeof bound, &e), -1);
	assert_non_null(strstr(e.text, "loopback addresses only"));

	assert_int_equal(http_listen("127.0.0.1:0", &fd, bound, sizeof bound, &e), 0);
	assert_true(fd >= 0);
	assert_true(strncmp(bound, "127.0.0.1:", 10) == 0 && atoi(bound + 10) > 0);
	close(fd);
	assert_int_equal(http_listen("127.0.0.2:0", &fd, bound, sizeof bound, &e), 0);
	close(fd);
}

static void
test_listen_ipv6_loopback(void **state)
{
	char bound[64];
	struct err e = { 0 };
	int fd, probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&sin6, sizeof sin6) == 0;

	(void)state;
	if (probe >= 0)
		close(probe);
	if (!have_v6)
		test_skip("this machine cannot bind [::1] (no IPv6 loopback)");
	assert_int_equal(http_listen("[::1]:0", &fd, bound, sizeof bound, &e), 0);
	assert_true(strncmp(bound, "[::1]:", 6) == 0 && atoi(bound + 6) > 0);
	close(fd);
}

/* ---- http_serve, in a child ---------------------------------------------------------- */

struct server {
	pid_t pid;
	int port;
	char log[64];
	struct ocsp_responder *r;
	struct ocsp_index idx;
	struct ocsp_faults faults;
};

static int
server_setup(void **state)
{
	const char *pki = getenv("REFMTA_PKI");
	struct server *s = calloc(1, sizeof *s);
	char issuer[512], signer[512], key[512], index[512], bound[64];
	struct http_config cfg;
	struct err e = { 0 };
	struct stat st;
	int fd, logfd;

	if (s == NULL)
		return -1;
	*state = s;
	if (pki == NULL || *pki == '\0' || stat(pki, &st) != 0)
		return 0;                                        /* each test skips, saying why */
	snprintf(issuer, sizeof issuer, "%s/inter-ca.pem", pki); /* issues the leaves */
	snprintf(signer, sizeof signer, "%s/ocsp-signer.pem", pki);
	snprintf(key, sizeof key, "%s/ocsp-signer.key", pki);
	snprintf(index, sizeof index, "%s/index.txt", pki);
	snprintf(s->log, sizeof s->log, "/tmp/http_test.XXXXXX");
	if ((logfd = mkstemp(s->log)) < 0)
		return -1;
	if (ocsp_responder_new(issuer, signer, key, &s->r, &e) < 0 ||
	    ocsp_index_load(index, &s->idx, &e) < 0 ||
	    http_listen("127.0.0.1:0", &fd, bound, sizeof bound, &e) < 0) {
		fprintf(stderr, "server_setup: %s\n", e.text);
		close(logfd);
		return -1;
	}
	s->port = atoi(strchr(bound, ':') + 1);
	cfg = (struct http_config){ .responder = s->r,
		                    .index = &s->idx,
		                    .faults = &s->faults,
		                    .log_fd = logfd,
		                    .timeout_ms = 300 };
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		alarm(60); /* never outlive a broken test */
		_exit(http_serve(fd, &cfg, &e) == 0 ? 0 : 1);
	}
	close(fd);
	close(logfd);
	return 0;
}

static int
server_teardown(void **state)
{
	struct server *s = *state;
	int status = 0;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &status, 0);
	}
	ocsp_responder_free(s->r);
	ocsp_index_free(&s->idx);
	if (s->log[0] != '\0')
		unlink(s->log);
	free(s);
	/* SIGTERM stops the server cleanly: exit 0, connection processes gone. */
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static struct server *
server_of(void **state)
{
	struct server *s = *state;

	if (s->pid <= 0)
		test_skip("REFMTA_PKI is not set to a minted PKI (make check sets it)");
	return s;
}

static int
server_connect(const struct server *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	return fd;
}

static void
send_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Everything until the server closes (or 5 s), NUL-terminated; the length. */
static size_t
recv_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap - 1 && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
		got += (size_t)n;
	assert_true(n == 0); /* closed by the server, not a timeout */
	buf[got] = '\0';
	return got;
}

/* Send `req`, half-close, read the whole answer. */
static size_t
exchange(const struct server *s, const char *req, size_t len, char *out, size_t cap)
{
	int fd = server_connect(s);
	size_t got;

	send_all(fd, req, len);
	shutdown(fd, SHUT_WR);
	got = recv_all(fd, out, cap);
	close(fd);
	return got;
}

/* An OCSPResponse of status malformedRequest: SEQUENCE { ENUMERATED 1 }. */
static const char malformed[] = "\x30\x03\x0a\x01\x01";
#define OCSP_OK_HEAD                                                                               \
	"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 5\r\n"      \
	"Cache-Control: no-store\r\n"

static void
test_post_and_get_are_answered(void **state)
{
	struct server *s = server_of(state);
	char out[4096];
	size_t n;
	static const char post[] = "POST / HTTP/1.0\r\nContent-Type: application/ocsp-request\r\n"
	                           "Content-Length: 3\r\n\r\nabc";
	static const char get[] = "GET /bm90LWRlcg%3D%3D HTTP/1.0\r\n\r\n";

	/* Not an OCSP request: answered in OCSP, not in HTTP (RFC 6960 2.3). */
	n = exchange(s, post, sizeof post - 1, out, sizeof out);
	assert_true(strncmp(out, OCSP_OK_HEAD, sizeof OCSP_OK_HEAD - 1) == 0);
	assert_non_null(strstr(out, "\r\nConnection: close\r\n\r\n")); /* HTTP/1.0 */
	assert_memory_equal(out + n - 5, malformed, 5);
	n = exchange(s, get, sizeof get - 1, out, sizeof out);
	assert_true(strncmp(out, OCSP_OK_HEAD, sizeof OCSP_OK_HEAD - 1) == 0);
	assert_memory_equal(out + n - 5, malformed, 5);
}

static void
test_keep_alive_and_pipelining(void **state)
{
	struct server *s = server_of(state);
	char out[4096], *p;
	int count = 0;
	static const char two[] = "GET /AA HTTP/1.1\r\nHost: x\r\n\r\n"
	                          "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nZ";

	/* Both pipelined requests are answered on one connection, kept open. */
	(void)exchange(s, two, sizeof two - 1, out, sizeof out);
	for (p = out; (p = strstr(p, "HTTP/1.1 200 OK\r\n")) != NULL; p++)
		count++;
	assert_int_equal(count, 2);
	assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
}

static void
test_expect_continue(void **state)
{
	struct server *s = server_of(state);
	char out[4096];
	int fd = server_connect(s);
	ssize_t n;
	static const char head[] =
	        "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
	        "Connection: close\r\n\r\n";

	send_all(fd, head, sizeof head - 1);
	n = recv(fd, out, 25, MSG_WAITALL);
	assert_int_equal(n, 25);
	assert_memory_equal(out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	send_all(fd, "xy", 2);
	(void)recv_all(fd, out, sizeof out);
	assert_true(strncmp(out, OCSP_OK_HEAD, sizeof OCSP_OK_HEAD - 1) == 0);
	close(fd);
}

static void
test_refusals(void **state)
{
	static const struct {
		const char *req, *status;
	} rows[] = {
		{ "PUT / HTTP/1.1\r\n\r\n", "405 Method Not Allowed" },
		{ "GET / HTTP/2.0\r\n\r\n", "505 HTTP Version Not Supported" },
		{ "GET / SMTP/1.0\r\n\r\n", "400 Bad Request" },
		{ "garbage\r\n\r\n", "400 Bad Request" },
		{ "GET  / HTTP/1.1\r\n\r\n", "400 Bad Request" },
		{ "GETTINGLONG / HTTP/1.1\r\n\r\n", "400 Bad Request" },
		{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "400 Bad Request" },
		{ "GET / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd", "400 Bad Request" },
		{ "POST / HTTP/1.1\r\n\r\n", "411 Length Required" },
		{ "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "400 Bad Request" },
		{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400 Bad Request" },
		{ "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		  "400 Bad Request" },
		{ "POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", "413 Content Too Large" },
		{ "POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx",
		  "415 Unsupported Media Type" },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
		  "501 Not Implemented" },
	};
	struct server *s = server_of(state);
	char out[4096], want[128];
	char *log;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		snprintf(want, sizeof want, "HTTP/1.1 %s\r\n", rows[i].status);
		(void)exchange(s, rows[i].req, strlen(rows[i].req), out, sizeof out);
		if (strncmp(out, want, strlen(want)) != 0)
			fail_msg("%s: got \"%.60s\", want \"%s\"", rows[i].req, out, want);
		/* An error closes the connection and explains itself. */
		assert_non_null(strstr(out, "Connection: close\r\n"));
		assert_non_null(strstr(out, "\r\n\r\n"));
		assert_true(strstr(out, "\r\n\r\n")[4] != '\0');
	}
	log = test_slurp(s->log);
	assert_non_null(strstr(log, "status=http-405"));
	assert_non_null(strstr(log, "status=http-501"));
	free(log);
}

static void
test_oversize_header(void **state)
{
	struct server *s = server_of(state);
	size_t len = HTTP_MAX_HEADER; /* all of it is read: no reset from unread data */
	char *req = malloc(len), out[4096];

	assert_non_null(req);
	memcpy(req, "GET / HTTP/1.1\r\nX-Long: ", 24);
	memset(req + 24, 'a', len - 24);
	(void)exchange(s, req, len, out, sizeof out);
	assert_true(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
	free(req);
}

static void
test_stalled_client_is_dropped(void **state)
{
	struct server *s = server_of(state);
	int fd = server_connect(s);
	char out[256], *log;
	struct timeval t0, t1;

	/* Half a request line, then nothing: closed at the 300 ms deadline,
	 * with nothing sent and one log line. */
	gettimeofday(&t0, NULL);
	send_all(fd, "GET / HT", 8);
	assert_int_equal(recv_all(fd, out, sizeof out), 0);
	gettimeofday(&t1, NULL);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000 < 4000);
	close(fd);
	log = test_slurp(s->log);
	assert_non_null(strstr(log, "status=timeout fault=none why=\"partial request\""));
	free(log);
}

#define S(f) cmocka_unit_test_setup_teardown(f, server_setup, server_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_decode),
		cmocka_unit_test(test_base64_decode),
		cmocka_unit_test(test_base64_never_overflows),
		cmocka_unit_test(test_listen_loopback_only),
		cmocka_unit_test(test_listen_ipv6_loopback),
		S(test_post_and_get_are_answered),
		S(test_keep_alive_and_pipelining),
		S(test_expect_continue),
		S(test_refusals),
		S(test_oversize_header),
		S(test_stalled_client_is_dropped),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
