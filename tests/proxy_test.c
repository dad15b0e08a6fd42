/*
 * proxy_test.c - the PROXY header parser (server/proxy.c), one row per rule
 * of haproxy's proxy-protocol.txt: v1's strict grammar (one space, ports
 * without leading zeros, addresses of the stated family, 107 octets, CRLF),
 * v2's signature, version, command, family, transport, lengths and TLVs,
 * and "need more" for a header that arrives in pieces.  Inputs are written
 * with escapes (\r \n \xHH, lib/strutil.h str_unescape) as in scenarios.
 * Then proxy_read() over a socket pair: split packets, a command after the
 * header left in place, a timeout, input that is not a header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"
#include "strutil.h"

#define SIG "\\r\\n\\r\\n\\x00\\r\\nQUIT\\n"

struct row {
	const char *in; /* escaped */
	enum proxy_result want;
	const char *summary; /* DONE: what summarize() prints; NEED_MORE: "need=N" */
	const char *why;
};

static const struct row rows[] = {
	/* v1 (proxy-protocol.txt 2.1) */
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\\r\\n", PROXY_DONE,
	  "v1 proxy 192.0.2.1:56324 198.51.100.2:25 len=44", "TCP4" },
	{ "PROXY TCP6 2001:db8::1 2001:db8::2 4000 587\\r\\nEHLO x\\r\\n", PROXY_DONE,
	  "v1 proxy 2001:db8::1:4000 2001:db8::2:587 len=45",
	  "TCP6, the command after it not taken" },
	{ "PROXY TCP6 2001:DB8:0:0::1 ::ffff:192.0.2.1 1 65535\\r\\n", PROXY_DONE,
	  "v1 proxy 2001:db8::1:1 ::ffff:192.0.2.1:65535 len=53",
	  "TCP6 canonicalised, port bounds" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 0 25\\r\\n", PROXY_DONE,
	  "v1 proxy 192.0.2.1:0 198.51.100.2:25 len=40", "port 0 is a number" },
	{ "PROXY UNKNOWN\\r\\n", PROXY_DONE, "v1 local len=15", "UNKNOWN alone" },
	{ "PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 65535 65535\\r\\n", PROXY_DONE, "v1 local len=51",
	  "UNKNOWN: the rest of the line is ignored" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 025\\r\\n", PROXY_MALFORMED, NULL,
	  "leading zero in a port" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 65536 25\\r\\n", PROXY_MALFORMED, NULL,
	  "port over 65535" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 +1 25\\r\\n", PROXY_MALFORMED, NULL, "signed port" },
	{ "PROXY TCP4 192.0.2.01 198.51.100.2 1 25\\r\\n", PROXY_MALFORMED, NULL,
	  "leading zero in an IPv4 address" },
	{ "PROXY TCP4 2001:db8::1 198.51.100.2 1 25\\r\\n", PROXY_MALFORMED, NULL,
	  "IPv6 address under TCP4" },
	{ "PROXY TCP6 192.0.2.1 2001:db8::2 1 25\\r\\n", PROXY_MALFORMED, NULL,
	  "IPv4 address under TCP6" },
	{ "PROXY TCP4  192.0.2.1 198.51.100.2 1 25\\r\\n", PROXY_MALFORMED, NULL, "two spaces" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 25 \\r\\n", PROXY_MALFORMED, NULL,
	  "trailing space" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1\\r\\n", PROXY_MALFORMED, NULL, "a field missing" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 25 9\\r\\n", PROXY_MALFORMED, NULL,
	  "a field too many" },
	{ "PROXY UDP4 192.0.2.1 198.51.100.2 1 25\\r\\n", PROXY_MALFORMED, NULL, "UDP4" },
	{ "PROXY tcp4 192.0.2.1 198.51.100.2 1 25\\r\\n", PROXY_MALFORMED, NULL,
	  "protocol is case-sensitive" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 25\\n", PROXY_MALFORMED, NULL, "bare LF" },
	{ "PROXY TCP4 192.0.2.1\\t198.51.100.2 1 25\\r\\n", PROXY_MALFORMED, NULL, "a tab" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 25\\x00\\r\\n", PROXY_MALFORMED, NULL, "a NUL" },
	{ "PROXY UNKNOWN "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxx\\r\\n",
	  PROXY_DONE, "v1 local len=107", "107 octets: the longest allowed" },
	{ "PROXY UNKNOWN "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxx\\r\\n",
	  PROXY_MALFORMED, NULL, "108 octets" },
	{ "PROXY TCP4 192.0.2.1", PROXY_NEED_MORE, "need=21", "v1 in pieces: one more octet" },
	{ "PRO", PROXY_NEED_MORE, "need=4", "a prefix of PROXY" },
	{ "", PROXY_NEED_MORE, "need=1", "nothing yet" },
	{ "EHLO client.example.test\\r\\n", PROXY_NOT_PROXY, NULL, "a command first" },
	{ "PROXX", PROXY_NOT_PROXY, NULL, "not quite PROXY" },
	{ "PROXYTCP4", PROXY_NOT_PROXY, NULL, "PROXY without its space" },
	/* v2 (proxy-protocol.txt 2.2) */
	{ SIG "\\x21\\x11\\x00\\x0c\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19",
	  PROXY_DONE, "v2 proxy 192.0.2.1:56324 198.51.100.2:25 len=28 tlvs=0", "PROXY INET" },
	{ SIG "\\x21\\x21\\x00\\x24"
	      "\\x20\\x01\\x0d\\xb8\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01"
	      "\\x20\\x01\\x0d\\xb8\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02"
	      "\\x0f\\xa0\\x02\\x4b",
	  PROXY_DONE, "v2 proxy 2001:db8::1:4000 2001:db8::2:587 len=52 tlvs=0", "PROXY INET6" },
	{ SIG "\\x21\\x11\\x00\\x19\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19"
	      "\\x01\\x00\\x04smtp\\x04\\x00\\x03abc",
	  PROXY_DONE, "v2 proxy 192.0.2.1:56324 198.51.100.2:25 len=41 tlvs=2",
	  "TLVs skipped (ALPN, NOOP)" },
	{ SIG "\\x21\\x11\\x00\\x0f\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19"
	      "\\x04\\x00\\x00",
	  PROXY_DONE, "v2 proxy 192.0.2.1:56324 198.51.100.2:25 len=31 tlvs=1", "empty TLV" },
	{ SIG "\\x21\\x11\\x00\\x11\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19"
	      "\\x04\\x00\\x05ab",
	  PROXY_MALFORMED, NULL, "TLV longer than the header" },
	{ SIG "\\x21\\x11\\x00\\x0e\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19"
	      "\\x04\\x00",
	  PROXY_MALFORMED, NULL, "TLV truncated" },
	{ SIG "\\x20\\x00\\x00\\x00", PROXY_DONE, "v2 local len=16", "LOCAL, nothing after" },
	{ SIG "\\x20\\x11\\x00\\x0c\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19",
	  PROXY_DONE, "v2 local len=28", "LOCAL: the address block is ignored" },
	{ SIG "\\x21\\x00\\x00\\x03abc", PROXY_DONE, "v2 local len=19",
	  "PROXY AF_UNSPEC: the connection's addresses stand" },
	{ SIG "\\x11\\x11\\x00\\x0c\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19",
	  PROXY_MALFORMED, NULL, "version 1 in the binary form" },
	{ SIG "\\x22\\x11\\x00\\x0c\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19",
	  PROXY_MALFORMED, NULL, "command 2" },
	{ SIG "\\x21\\x31\\x00\\x00", PROXY_MALFORMED, NULL, "AF_UNIX" },
	{ SIG "\\x21\\x41\\x00\\x00", PROXY_MALFORMED, NULL, "family 4" },
	{ SIG "\\x21\\x12\\x00\\x0c\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19",
	  PROXY_MALFORMED, NULL, "DGRAM" },
	{ SIG "\\x21\\x11\\x00\\x08\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02", PROXY_MALFORMED, NULL,
	  "length shorter than the IPv4 block" },
	{ SIG "\\x21\\x21\\x00\\x0c\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19",
	  PROXY_MALFORMED, NULL, "length shorter than the IPv6 block" },
	{ SIG "\\x21\\x11\\x04\\x01", PROXY_MALFORMED, NULL, "length 1025: over the bound" },
	{ SIG "\\x21\\x11\\xff\\xff", PROXY_MALFORMED, NULL, "length 65535" },
	{ SIG "\\x21\\x11\\x00\\x0c\\xc0\\x00", PROXY_NEED_MORE, "need=28",
	  "v2 in pieces: the whole length is needed" },
	{ SIG "\\x21\\x11", PROXY_NEED_MORE, "need=16", "v2 fixed part in pieces" },
	{ "\\r\\n\\r\\n\\x00", PROXY_NEED_MORE, "need=6", "a prefix of the signature" },
	{ "\\r\\n\\r\\n\\x00\\r\\nQUIX\\n\\x21\\x11\\x00\\x00", PROXY_NOT_PROXY, NULL,
	  "bad signature" },
	{ "\\r\\nQUIT\\r\\n", PROXY_NOT_PROXY, NULL, "CRLF then QUIT" },
};
#define NROWS (sizeof rows / sizeof rows[0])

static void
summarize(const struct proxy_header *h, char *out, size_t len)
{
	int n;

	if (h->command == PROXY_CMD_LOCAL)
		n = snprintf(out, len, "v%d local len=%zu", h->version, h->len);
	else
		n = snprintf(out, len, "v%d proxy %s:%u %s:%u len=%zu", h->version, h->src_ip,
		             h->src_port, h->dst_ip, h->dst_port, h->len);
	if (h->version == 2 && h->command == PROXY_CMD_PROXY && n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, " tlvs=%u", h->ntlvs);
}

static void
test_row(void **state)
{
	const struct row *r = *state;
	unsigned char buf[2048];
	size_t n = str_unescape(r->in, (char *)buf, sizeof buf), need = 0;
	struct proxy_header h;
	const char *why = NULL;
	char got[200] = "";
	enum proxy_result res = proxy_parse(buf, n, &h, &need, &why);

	if (res != r->want)
		fail_msg("%s: want result %d, got %d (%s)", r->why, r->want, res, why ? why : "");
	if (res == PROXY_DONE) {
		summarize(&h, got, sizeof got);
		assert_string_equal(got, r->summary);
		assert_true(h.len <= n);
	} else if (res == PROXY_NEED_MORE) {
		snprintf(got, sizeof got, "need=%zu", need);
		assert_string_equal(got, r->summary);
		assert_true(need > n);
	} else {
		assert_non_null(why);
	}
}

/* Every prefix of a good header asks for more, never beyond the header. */
static void
test_every_prefix(void **state)
{
	static const char *const good[] = {
		"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\\r\\n",
		SIG
		"\\x21\\x11\\x00\\x11\\xc0\\x00\\x02\\x01\\xc6\\x33\\x64\\x02\\xdc\\x04\\x00\\x19"
		"\\x04\\x00\\x02ab",
	};
	(void)state;
	for (size_t g = 0; g < 2; g++) {
		unsigned char buf[256];
		size_t n = str_unescape(good[g], (char *)buf, sizeof buf);
		for (size_t i = 0; i < n; i++) {
			struct proxy_header h;
			const char *why;
			size_t need = 0;
			assert_int_equal(proxy_parse(buf, i, &h, &need, &why), PROXY_NEED_MORE);
			assert_true(need > i && need <= n);
		}
	}
}

/* proxy_read over a socket pair: `parts` written with `gap_ms` between them. */
static enum proxy_read_result
read_parts(const char *const *parts, size_t nparts, unsigned gap_ms, unsigned timeout_ms,
           struct proxy_header *h, char *rest, size_t restlen)
{
	int sv[2];
	pid_t pid;
	enum proxy_read_result rr;
	const char *why;
	ssize_t r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		for (size_t i = 0; i < nparts; i++) {
			char buf[512];
			size_t n = str_unescape(parts[i], buf, sizeof buf);
			if (write(sv[1], buf, n) < 0)
				_exit(1);
			usleep(gap_ms * 1000);
		}
		usleep(1000 * 1000); /* then close: after any timeout tested */
		_exit(0);
	}
	close(sv[1]);
	rr = proxy_read(sv[0], timeout_ms, h, &why);
	r = recv(sv[0], rest, restlen - 1, MSG_DONTWAIT);
	rest[r > 0 ? r : 0] = '\0';
	close(sv[0]);
	return rr;
}

static void
test_read(void **state)
{
	static const char *const split[] = { "PROX", "Y TCP4 192.0.2.1 198.5",
		                             "1.100.2 56324 25\\r\\nEHLO x\\r\\n" };
	static const char *const v2split[] = { SIG "\\x21",
		                               "\\x11\\x00\\x0c\\xc0\\x00\\x02\\x01\\xc6\\x33",
		                               "\\x64\\x02\\xdc\\x04\\x00\\x19QUIT\\r\\n" };
	static const char *const cmd[] = { "EHLO x\\r\\n" };
	static const char *const partial[] = { "PROXY TCP4 192.0.2.1" };
	static const char *const bad[] = {
		"PROXY TCP4 192.0.2.1 198.51.100.2 056 25\\r\\nNOOP\\r\\n"
	};
	struct proxy_header h;
	char rest[256];

	(void)state;
	assert_int_equal(read_parts(split, 3, 50, 2000, &h, rest, sizeof rest), PROXY_READ_OK);
	assert_string_equal(h.src_ip, "192.0.2.1");
	assert_string_equal(rest, "EHLO x\r\n");
	assert_int_equal(read_parts(v2split, 3, 50, 2000, &h, rest, sizeof rest), PROXY_READ_OK);
	assert_int_equal(h.dst_port, 25);
	assert_string_equal(rest, "QUIT\r\n");
	assert_int_equal(read_parts(cmd, 1, 0, 2000, &h, rest, sizeof rest), PROXY_READ_NOT_PROXY);
	assert_string_equal(rest, "EHLO x\r\n");
	assert_int_equal(read_parts(partial, 1, 0, 300, &h, rest, sizeof rest), PROXY_READ_TIMEOUT);
	assert_string_equal(rest, "");
	assert_int_equal(read_parts(bad, 1, 0, 2000, &h, rest, sizeof rest), PROXY_READ_MALFORMED);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_read),
	};
	struct CMUnitTest tests[NROWS + sizeof fixed / sizeof fixed[0]];
	size_t n = 0;

	for (size_t i = 0; i < NROWS; i++)
		tests[n++] = (struct CMUnitTest){ .name = rows[i].why,
			                          .test_func = test_row,
			                          .initial_state = (void *)&rows[i] };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("proxy", tests, n, NULL, NULL);
}
