/*
 * resolver_test.c - the resolver's status mapping against a real signing
 * server: bin/fakedns ($REFMTA_FAKEDNS, default "bin/fakedns") on a free
 * loopback port, with zones for each outcome (secure data of every type,
 * NODATA, empty non-terminal, NXDOMAIN, bogus, expired, insecure, servfail,
 * timeout) plus a dead server.  One resolver per test: libunbound has no
 * cache flush.  fakedns is stopped by PID in the group teardown.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resolver.h"

#define TLSA_HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
	const char *file, *text;
} zones[] = {
	{ "example.test.zone", "$ORIGIN example.test.\n$TTL 300\n"
	                       "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
	                       "@ IN NS ns1\n"
	                       "ns1 IN A 127.0.0.1\n"
	                       "@ IN MX 10 mx\n"
	                       "@ IN MX 20 mx2.example.test.\n"
	                       "@ IN TXT \"v=spf1 \" \"-all\"\n"
	                       "mx IN A 192.0.2.25\n"
	                       "mx IN AAAA 2001:db8::25\n"
	                       "ptr IN PTR mx.example.test.\n"
	                       "alias IN CNAME mx.example.test.\n"
	                       "_25._tcp.mx IN TLSA 3 1 1 " TLSA_HEX "\n" },
	{ "bogus.test.zone", ";@fakedns bogus\n$ORIGIN bogus.test.\n$TTL 300\n"
	                     "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
	                     "@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN MX 10 mx\n" },
	{ "expired.test.zone", ";@fakedns expired\n$ORIGIN expired.test.\n$TTL 300\n"
	                       "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
	                       "@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN MX 10 mx\n" },
	{ "insecure.test.zone", ";@fakedns insecure\n$ORIGIN insecure.test.\n$TTL 300\n"
	                        "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
	                        "@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN MX 10 mx\n" },
	{ "servfail.test.zone", ";@fakedns servfail\n$ORIGIN servfail.test.\n$TTL 300\n"
	                        "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
	                        "@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN MX 10 mx\n" },
	{ "timeout.test.zone", ";@fakedns timeout\n$ORIGIN timeout.test.\n$TTL 300\n"
	                       "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
	                       "@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN MX 10 mx\n" },
};
#define NZONES (sizeof zones / sizeof zones[0])

static char dir[] = "/tmp/resolver_test.XXXXXX";
static char ta_file[sizeof dir + 16];
static char server[64]; /* "127.0.0.1@PORT" */
static pid_t fakedns_pid = -1;

/* --- fakedns ------------------------------------------------------------------------- */

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int
group_setup(void **state)
{
	const char *prog = getenv("REFMTA_FAKEDNS");
	char paths[NZONES][sizeof dir + 32], log[sizeof dir + 16], line[256];
	char *argv[8 + NZONES];
	int fds[2], argc = 0;
	FILE *f;

	(void)state;
	if (prog == NULL || prog[0] == '\0')
		prog = "bin/fakedns";
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(ta_file, sizeof ta_file, "%s/ta", dir);
	snprintf(log, sizeof log, "%s/log", dir);
	argv[argc++] = (char *)prog;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--ta-file";
	argv[argc++] = ta_file;
	argv[argc++] = "--log";
	argv[argc++] = log;
	for (size_t i = 0; i < NZONES; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/%s", dir, zones[i].file);
		if (write_file(paths[i], zones[i].text) != 0)
			return -1;
		argv[argc++] = paths[i];
	}
	argv[argc] = NULL;
	if (pipe(fds) != 0)
		return -1;
	fakedns_pid = fork();
	if (fakedns_pid < 0)
		return -1;
	if (fakedns_pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(prog, argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f == NULL)
		return -1;
	/* "fakedns: listening on 127.0.0.1:40123 (6 zone files, 9 zones signed)" */
	const char *p = fgets(line, sizeof line, f) != NULL
	                        ? strstr(line, "listening on 127.0.0.1:")
	                        : NULL;
	fclose(f);
	if (p == NULL) {
		fprintf(stderr, "resolver_test: %s did not start\n", prog);
		return -1;
	}
	snprintf(server, sizeof server, "127.0.0.1@%d",
	         atoi(p + strlen("listening on 127.0.0.1:")));
	return 0;
}

static int
group_teardown(void **state)
{
	char path[sizeof dir + 32];
	int status;

	(void)state;
	if (fakedns_pid > 0) {
		kill(fakedns_pid, SIGTERM);
		waitpid(fakedns_pid, &status, 0);
		fakedns_pid = -1;
	}
	for (size_t i = 0; i < NZONES; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, zones[i].file);
		unlink(path);
	}
	unlink(ta_file);
	snprintf(path, sizeof path, "%s/log", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* --- helpers ------------------------------------------------------------------------- */

/* A fresh resolver (no shared cache) and one lookup. */
static void
lookup_at(const char *srv, const char *name, enum resolver_type type, struct resolver_answer *a)
{
	struct err e = { 0 };
	struct resolver *r = resolver_new(srv, ta_file, &e);

	if (r == NULL)
		fail_msg("resolver_new: %s", e.text);
	if (resolver_lookup(r, name, type, a, &e) != 0)
		fail_msg("resolver_lookup %s: %s", name, e.text);
	resolver_free(r);
}

static void
lookup(const char *name, enum resolver_type type, struct resolver_answer *a)
{
	lookup_at(server, name, type, a);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* On a mismatch, say why the validator thought so. */
#define assert_status(a, s)                                                                        \
	do {                                                                                       \
		if (strcmp(resolver_status_word((a)->status), (s)) != 0)                           \
			fail_msg("status %s, expected %s (%s)", resolver_status_word((a)->status), \
			         (s), (a)->why_bogus != NULL ? (a)->why_bogus : "no reason");      \
	} while (0)

/* --- secure data ---------------------------------------------------------------------- */

static void
test_secure_mx(void **state)
{
	struct resolver_answer a;

	(void)state;
	lookup("example.test", RESOLVER_MX, &a);
	assert_status(&a, "secure");
	assert_true(a.secure);
	assert_null(a.why_bogus);
	assert_int_equal(a.nrrs, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct resolver_mx *mx = &a.rrs[i].u.mx;
		assert_int_equal(a.rrs[i].type, RESOLVER_MX);
		if (mx->preference == 10)
			assert_string_equal(mx->exchange, "mx.example.test");
		else {
			assert_int_equal(mx->preference, 20);
			assert_string_equal(mx->exchange, "mx2.example.test");
		}
	}
	resolver_answer_free(&a);
}

/* The same RRset twelve times, from fresh resolvers and from one resolver's
 * cache: the records come in the same order each time (unbound's
 * round-robin rotation, which starts at a random place, is off). */
static void
test_record_order_stable(void **state)
{
	struct err e = { 0 };
	struct resolver *r = resolver_new(server, ta_file, &e);
	unsigned first[2] = { 0, 0 };

	(void)state;
	if (r == NULL)
		fail_msg("resolver_new: %s", e.text);
	for (int k = 0; k < 12; k++) {
		struct resolver_answer a;
		if (k % 2 == 0) {
			lookup("example.test", RESOLVER_MX, &a);
		} else {
			assert_int_equal(resolver_lookup(r, "example.test", RESOLVER_MX, &a, &e),
			                 0);
		}
		assert_int_equal(a.nrrs, 2);
		for (size_t i = 0; i < 2; i++) {
			if (k == 0)
				first[i] = a.rrs[i].u.mx.preference;
			else
				assert_int_equal(a.rrs[i].u.mx.preference, first[i]);
		}
		resolver_answer_free(&a);
	}
	resolver_free(r);
}

static void
test_secure_a_aaaa(void **state)
{
	struct resolver_answer a;

	(void)state;
	lookup("mx.example.test", RESOLVER_A, &a);
	assert_status(&a, "secure");
	assert_int_equal(a.nrrs, 1);
	assert_string_equal(a.rrs[0].u.addr, "192.0.2.25");
	assert_int_equal(a.ttl, 300);
	resolver_answer_free(&a);
	lookup("mx.example.test.", RESOLVER_AAAA, &a);
	assert_status(&a, "secure");
	assert_int_equal(a.nrrs, 1);
	assert_string_equal(a.rrs[0].u.addr, "2001:db8::25");
	assert_null(a.canonname); /* not an alias, trailing dot or not */
	resolver_answer_free(&a);
	/* An alias: the data of the target, and the target's name (DANE's
	 * first TLSA base name, RFC 7672 2.2.2). */
	lookup("alias.example.test", RESOLVER_A, &a);
	assert_status(&a, "secure");
	assert_int_equal(a.nrrs, 1);
	assert_string_equal(a.rrs[0].u.addr, "192.0.2.25");
	assert_non_null(a.canonname);
	assert_string_equal(a.canonname, "mx.example.test");
	resolver_answer_free(&a);
}

static void
test_secure_txt_ptr(void **state)
{
	struct resolver_answer a;

	(void)state;
	lookup("example.test", RESOLVER_TXT, &a);
	assert_status(&a, "secure");
	assert_int_equal(a.nrrs, 1);
	assert_string_equal(a.rrs[0].u.txt.text, "v=spf1 -all");
	assert_int_equal(a.rrs[0].u.txt.len, 11);
	resolver_answer_free(&a);
	lookup("ptr.example.test", RESOLVER_PTR, &a);
	assert_status(&a, "secure");
	assert_int_equal(a.nrrs, 1);
	assert_string_equal(a.rrs[0].u.name, "mx.example.test");
	resolver_answer_free(&a);
}

/* CNAME asks for the alias's own record (no chain followed), NS for the
 * zone's servers (RFC 1035 3.3.1, 3.3.11). */
static void
test_secure_cname_ns(void **state)
{
	struct resolver_answer a;
	char text[256];

	(void)state;
	lookup("alias.example.test", RESOLVER_CNAME, &a);
	assert_status(&a, "secure");
	assert_int_equal(a.nrrs, 1);
	assert_int_equal(a.rrs[0].type, RESOLVER_CNAME);
	assert_string_equal(a.rrs[0].u.name, "mx.example.test");
	resolver_answer_format(&a, RESOLVER_CNAME, "alias.example.test", text, sizeof text);
	assert_string_equal(text, "CNAME alias.example.test secure: mx.example.test");
	resolver_answer_free(&a);
	lookup("example.test", RESOLVER_NS, &a);
	assert_status(&a, "secure");
	assert_int_equal(a.nrrs, 1);
	assert_int_equal(a.rrs[0].type, RESOLVER_NS);
	assert_string_equal(a.rrs[0].u.name, "ns1.example.test");
	resolver_answer_free(&a);
	lookup("mx.example.test", RESOLVER_CNAME, &a);
	assert_status(&a, "nodata");
	assert_int_equal(a.nrrs, 0);
	resolver_answer_free(&a);
}

static void
test_secure_tlsa(void **state)
{
	struct resolver_answer a;
	char hex[2 * 32 + 1];

	(void)state;
	lookup("_25._tcp.mx.example.test", RESOLVER_TLSA, &a);
	assert_status(&a, "secure");
	assert_int_equal(a.nrrs, 1);
	assert_int_equal(a.rrs[0].u.tlsa.usage, 3);
	assert_int_equal(a.rrs[0].u.tlsa.selector, 1);
	assert_int_equal(a.rrs[0].u.tlsa.mtype, 1);
	assert_int_equal(a.rrs[0].u.tlsa.len, 32);
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", a.rrs[0].u.tlsa.data[i]);
	assert_string_equal(hex, TLSA_HEX);
	resolver_answer_free(&a);
}

/* --- denials ---------------------------------------------------------------------------- */

static void
test_nodata(void **state)
{
	struct resolver_answer a;

	(void)state;
	lookup("mx.example.test", RESOLVER_TLSA, &a); /* the name exists, the type not */
	assert_status(&a, "nodata");
	assert_true(a.secure);
	assert_int_equal(a.nrrs, 0);
	resolver_answer_free(&a);
	/* RFC 8020: an empty non-terminal exists */
	lookup("_tcp.mx.example.test", RESOLVER_A, &a);
	assert_status(&a, "nodata");
	assert_true(a.secure);
	resolver_answer_free(&a);
}

static void
test_nxdomain(void **state)
{
	struct resolver_answer a;

	(void)state;
	lookup("nope.example.test", RESOLVER_A, &a);
	assert_status(&a, "nxdomain");
	assert_true(a.secure);
	assert_int_equal(a.nrrs, 0);
	resolver_answer_free(&a);
}

/* --- failures --------------------------------------------------------------------------- */

static void
test_bogus(void **state)
{
	struct resolver_answer a;

	(void)state;
	lookup("bogus.test", RESOLVER_MX, &a);
	assert_status(&a, "bogus");
	assert_false(a.secure);
	assert_non_null(a.why_bogus);
	assert_true(strlen(a.why_bogus) > 0);
	assert_int_equal(a.nrrs, 0);
	assert_null(a.rrs);
	resolver_answer_free(&a);
}

/*
 * fakedns's "expired" signatures ended two days ago, beyond unbound's
 * largest clock-skew allowance (val-sig-skew-max, one day): at the real
 * time a validator must call them bogus.
 */
static void
test_expired(void **state)
{
	struct resolver_answer a;
	struct err e = { 0 };
	struct resolver *r = resolver_new(server, ta_file, &e);

	(void)state;
	assert_non_null(r);
	assert_int_equal(resolver_lookup(r, "expired.test", RESOLVER_MX, &a, &e), 0);
	resolver_free(r);
	assert_status(&a, "bogus");
	assert_non_null(a.why_bogus);
	assert_non_null(strstr(a.why_bogus, "expired"));
	assert_int_equal(a.nrrs, 0);
	resolver_answer_free(&a);
}

/* The clock moved 40 days on: fakedns's 30-day signatures have expired. */
static void
test_validation_time(void **state)
{
	struct resolver_answer a;
	struct err e = { 0 };
	struct resolver *r = resolver_new(server, ta_file, &e);

	(void)state;
	assert_non_null(r);
	assert_int_equal(resolver_set_validation_time(r, time(NULL) + 40 * 86400, &e), 0);
	assert_int_equal(resolver_lookup(r, "example.test", RESOLVER_MX, &a, &e), 0);
	assert_status(&a, "bogus");
	assert_int_equal(a.nrrs, 0);
	resolver_answer_free(&a);
	/* Options are frozen after the first lookup. */
	assert_int_equal(resolver_set_validation_time(r, time(NULL), &e), -1);
	assert_int_equal(e.code, RESOLVER_ERR_CONFIG);
	resolver_free(r);
}

static void
test_insecure(void **state)
{
	struct resolver_answer a;

	(void)state;
	lookup("insecure.test", RESOLVER_MX, &a);
	assert_status(&a, "insecure");
	assert_false(a.secure);
	assert_int_equal(a.nrrs, 1);
	assert_string_equal(a.rrs[0].u.mx.exchange, "mx.insecure.test");
	resolver_answer_free(&a);
}

static void
test_servfail(void **state)
{
	struct resolver_answer a;

	(void)state;
	lookup("servfail.test", RESOLVER_MX, &a);
	assert_status(&a, "tempfail");
	assert_int_equal(a.nrrs, 0);
	assert_null(a.why_bogus);
	resolver_answer_free(&a);
}

static void
test_timeout(void **state)
{
	struct resolver_answer a;
	double t0 = now();

	(void)state;
	lookup("timeout.test", RESOLVER_MX, &a);
	assert_status(&a, "tempfail");
	assert_int_equal(a.nrrs, 0);
	resolver_answer_free(&a);
	assert_true(now() - t0 < 10.0);
}

/* One name that never answers must not stop the resolver: the next
 * lookup of a healthy name, in the same resolver, still gets its answer
 * (a queue run routes many domains through one resolver). */
static void
test_timeout_then_healthy(void **state)
{
	struct err e = { 0 };
	struct resolver *r = resolver_new(server, ta_file, &e);
	struct resolver_answer a;

	(void)state;
	if (r == NULL)
		fail_msg("resolver_new: %s", e.text);
	assert_int_equal(resolver_lookup(r, "timeout.test", RESOLVER_MX, &a, &e), 0);
	assert_status(&a, "tempfail");
	resolver_answer_free(&a);
	assert_int_equal(resolver_lookup(r, "example.test", RESOLVER_MX, &a, &e), 0);
	assert_status(&a, "secure");
	resolver_answer_free(&a);
	resolver_free(r);
}

/* A port nobody listens on: infra-cache-max-rtt makes this fast. */
static void
test_dead_server(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	struct resolver_answer a;
	char dead[64];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	double t0;

	(void)state;
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(dead, sizeof dead, "127.0.0.1@%u", (unsigned)ntohs(sin.sin_port));
	t0 = now();
	lookup_at(dead, "example.test", RESOLVER_MX, &a);
	assert_status(&a, "tempfail");
	assert_int_equal(a.nrrs, 0);
	resolver_answer_free(&a);
	assert_true(now() - t0 < 2.0);
}

/* --- configuration and words -------------------------------------------------------------- */

static void
test_new_errors(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1:5353", "127.0.0.1", "127.0.0.1@", "127.0.0.1@0",      "127.0.0.1@65536",
		"localhost@53",   "@53",       "::1@x",      "127.0.0.1@123456",
	};
	struct err e = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_null(resolver_new(bad[i], NULL, &e));
		assert_int_equal(e.code, RESOLVER_ERR_CONFIG);
		assert_non_null(strstr(e.text, bad[i]));
	}
	assert_null(resolver_new("127.0.0.1@53", "/nonexistent/ta", &e));
	assert_non_null(strstr(e.text, "/nonexistent/ta"));
	struct resolver *r = resolver_new("::1@53", NULL, &e);
	assert_non_null(r);
	resolver_free(r);
	resolver_free(NULL);
	resolver_answer_free(NULL);
}

static void
test_words(void **state)
{
	(void)state;
	assert_string_equal(resolver_status_word(RESOLVER_SECURE), "secure");
	assert_string_equal(resolver_status_word(RESOLVER_INSECURE), "insecure");
	assert_string_equal(resolver_status_word(RESOLVER_BOGUS), "bogus");
	assert_string_equal(resolver_status_word(RESOLVER_NXDOMAIN), "nxdomain");
	assert_string_equal(resolver_status_word(RESOLVER_NODATA), "nodata");
	assert_string_equal(resolver_status_word(RESOLVER_TEMPFAIL), "tempfail");
	assert_string_equal(resolver_type_word(RESOLVER_TLSA), "TLSA");
	assert_string_equal(resolver_type_word(RESOLVER_PTR), "PTR");
	assert_string_equal(resolver_type_word(RESOLVER_CNAME), "CNAME");
	assert_string_equal(resolver_type_word(RESOLVER_NS), "NS");
}

/* The one-line rendering used by logs and transcripts. */
static void
test_answer_format(void **state)
{
	(void)state;
	char buf[256], ex1[] = "mx1.partner.test", ex2[] = ".", a1[] = "127.0.0.2";
	char txt[] = "v=spf1 \"x\"\n";
	unsigned char hash[] = { 0x8a, 0x9f, 0x00 };
	struct resolver_rr mx[2] = { { .type = RESOLVER_MX, .u.mx = { 10, ex1 } },
		                     { .type = RESOLVER_MX, .u.mx = { 0, ex2 } } };
	struct resolver_rr a = { .type = RESOLVER_A, .u.addr = a1 };
	struct resolver_rr t = { .type = RESOLVER_TXT, .u.txt = { txt, sizeof txt - 1 } };
	struct resolver_rr tl = { .type = RESOLVER_TLSA, .u.tlsa = { 3, 1, 1, hash, sizeof hash } };
	struct resolver_answer ans = {
		.status = RESOLVER_SECURE, .secure = 1, .rrs = mx, .nrrs = 2
	};

	resolver_answer_format(&ans, RESOLVER_MX, "partner.test", buf, sizeof buf);
	assert_string_equal(buf, "MX partner.test secure: 10 mx1.partner.test, 0 .");
	ans = (struct resolver_answer){ .status = RESOLVER_INSECURE, .rrs = &a, .nrrs = 1 };
	resolver_answer_format(&ans, RESOLVER_A, "mx1.partner.test", buf, sizeof buf);
	assert_string_equal(buf, "A mx1.partner.test insecure: 127.0.0.2");
	ans = (struct resolver_answer){ .status = RESOLVER_INSECURE, .rrs = &t, .nrrs = 1 };
	resolver_answer_format(&ans, RESOLVER_TXT, "example.test", buf, sizeof buf);
	assert_string_equal(buf, "TXT example.test insecure: \"v=spf1 \\034x\\034\\010\"");
	ans = (struct resolver_answer){
		.status = RESOLVER_SECURE, .secure = 1, .rrs = &tl, .nrrs = 1
	};
	resolver_answer_format(&ans, RESOLVER_TLSA, "_25._tcp.mx", buf, sizeof buf);
	assert_string_equal(buf, "TLSA _25._tcp.mx secure: 3 1 1 8a9f00");
	ans = (struct resolver_answer){ .status = RESOLVER_NODATA, .secure = 1 };
	resolver_answer_format(&ans, RESOLVER_AAAA, "mx1", buf, sizeof buf);
	assert_string_equal(buf, "AAAA mx1 nodata (secure)");
	ans = (struct resolver_answer){ .status = RESOLVER_NXDOMAIN };
	resolver_answer_format(&ans, RESOLVER_MX, "no.test", buf, sizeof buf);
	assert_string_equal(buf, "MX no.test nxdomain (insecure)");
	ans = (struct resolver_answer){ .status = RESOLVER_BOGUS, .why_bogus = ex1 };
	resolver_answer_format(&ans, RESOLVER_MX, "bad.test", buf, sizeof buf);
	assert_string_equal(buf, "MX bad.test bogus: mx1.partner.test");
	ans = (struct resolver_answer){ .status = RESOLVER_SECURE, .rrs = mx, .nrrs = 2 };
	resolver_answer_format(&ans, RESOLVER_MX, "partner.test", buf, 20); /* cut, terminated */
	assert_int_equal(strlen(buf), 19);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_answer_format),
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test(test_secure_mx),
		cmocka_unit_test(test_record_order_stable),
		cmocka_unit_test(test_secure_a_aaaa),
		cmocka_unit_test(test_secure_txt_ptr),
		cmocka_unit_test(test_secure_cname_ns),
		cmocka_unit_test(test_secure_tlsa),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_bogus),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_validation_time),
		cmocka_unit_test(test_insecure),
		cmocka_unit_test(test_servfail),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_then_healthy),
		cmocka_unit_test(test_dead_server),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
