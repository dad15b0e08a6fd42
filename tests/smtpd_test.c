/*
 * smtpd_test.c - the SMTP server's session (server/smtpd*.c) driven over a
 * socketpair: the session runs in a forked child, the test is the client
 * and compares every reply exactly.  Greeting, EHLO keywords, HELP, the
 * transaction and its state changes, sequence and synchronization errors,
 * BDAT, limits, and STARTTLS with each backend serving and the other one
 * connecting (test PKI from $REFMTA_PKI, or build/pki).  Also: the
 * variables table and docs/config.md list the same variables.
 *
 * Run from the repository root (as ci/check does).
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
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "config.h"
#include "log.h"
#include "pki.h"
#include "smtpd.h"
#include "smtpd_int.h"
#include "spool.h"
#include "testutil.h"
#include "tls.h"
#include "version.h"

static char tmp_dir[256], pki_dir[512], log_path[600], trace_path[600];
static struct config *cfg_plain, *cfg_tls, *cfg_prdr;

static const struct smtpd_peer peer = {
	.ip = "127.0.0.1", .port = 40000, .local_ip = "127.0.0.1", .local_port = 25
};

/* ---- the client side ------------------------------------------------------------ */

struct conv {
	pid_t pid;
	struct bio io;
	struct tls_ctx *cctx;
	struct tls_conn *tls;
};

static void
trace_to_file(const char *from, const char *to)
{
	FILE *f = fopen(trace_path, "a");

	if (f != NULL) {
		fprintf(f, "%s>%s\n", from, to);
		fclose(f);
	}
}

/*
 * Start a session with `cfg` (and `sctx` for STARTTLS, may be NULL).
 * `early` is written before the session starts (input before the greeting).
 */
static void
conv_start(struct conv *c, const struct config *cfg, struct tls_ctx *sctx, const char *early)
{
	struct timeval tv = { .tv_sec = 10 };
	int sv[2];

	memset(c, 0, sizeof *c);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (early != NULL)
		assert_int_equal(write(sv[0], early, strlen(early)), (ssize_t)strlen(early));
	unlink(trace_path);
	fflush(NULL);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(sv[0]);
		alarm(20);
		smtpd_state_trace = trace_to_file;
		smtpd_session(cfg, sctx, sv[1], &peer);
		close(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	bio_init(&c->io, sv[0]);
}

static void
conv_send(struct conv *c, const char *text)
{
	struct err e = { 0 };

	assert_int_equal(bio_write(&c->io, text, strlen(text), &e), BIO_OK);
	assert_int_equal(bio_flush(&c->io, &e), BIO_OK);
}

/* One whole reply, its lines joined by "\n" without CRLF; "" at EOF. */
static const char *
conv_reply(struct conv *c)
{
	static char all[4096];
	size_t n = 0;

	all[0] = '\0';
	for (;;) {
		char line[1024];
		size_t len;
		int too_long;
		struct err e = { 0 };

		if (bio_read_line(&c->io, line, sizeof line, &len, &too_long, &e) != BIO_OK)
			return all;
		line[strcspn(line, "\r\n")] = '\0';
		n += (size_t)snprintf(all + n, sizeof all - n, "%s%s", n ? "\n" : "", line);
		if (strlen(line) < 4 || line[3] != '-')
			return all;
	}
}

/* Send `line` (CRLF added unless NULL: just read) and compare the reply;
 * a `want` ending in "*" compares only what comes before it. */
static void
say(struct conv *c, const char *line, const char *want)
{
	const char *got;
	size_t n = strlen(want);

	if (line != NULL) {
		char buf[2048];
		snprintf(buf, sizeof buf, "%s\r\n", line);
		conv_send(c, buf);
	}
	got = conv_reply(c);
	if (n > 0 && want[n - 1] == '*' ? strncmp(got, want, n - 1) != 0 : strcmp(got, want) != 0)
		fail_msg("after \"%s\": got \"%s\", want \"%s\"", line ? line : "(connect)", got,
		         want);
}

/* The session has ended (EOF for the client) and its process exited 0. */
static void
conv_end(struct conv *c)
{
	int status;

	assert_string_equal(conv_reply(c), "");
	tls_conn_free(c->tls);
	tls_ctx_free(c->cctx);
	close(c->io.fd);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
greeted(struct conv *c, const struct config *cfg, struct tls_ctx *sctx)
{
	conv_start(c, cfg, sctx, NULL);
	say(c, NULL, "220 mx.test ESMTP refmta " REFMTA_VERSION " ready");
}

static int
log_has(const char *needle)
{
	char *text = test_slurp(log_path);
	int found = strstr(text, needle) != NULL;

	free(text);
	return found;
}

/* ---- the tests ---------------------------------------------------------------- */

#define EHLO_PLAIN                                                                                 \
	"250-mx.test Hello c.test [127.0.0.1]\n250-SIZE 10000\n250-8BITMIME\n250-PIPELINING\n"     \
	"250-DSN\n250-ENHANCEDSTATUSCODES\n250-CHUNKING\n250 HELP"
#define EHLO_PRDR                                                                                  \
	"250-mx.test Hello c.test [127.0.0.1]\n250-SIZE 10000\n250-8BITMIME\n250-PIPELINING\n"     \
	"250-DSN\n250-ENHANCEDSTATUSCODES\n250-CHUNKING\n250-PRDR\n250 HELP"
#define EHLO_TLS                                                                                   \
	"250-mx.test Hello c.test [127.0.0.1]\n250-SIZE 10000\n250-8BITMIME\n250-PIPELINING\n"     \
	"250-DSN\n250-ENHANCEDSTATUSCODES\n250-CHUNKING\n250-STARTTLS\n250 HELP"

static void
test_greeting_ehlo_help(void **state)
{
	struct conv c;

	(void)state;
	greeted(&c, cfg_plain, NULL);
	say(&c, "EHLO c.test", EHLO_PLAIN);
	say(&c, "HELP",
	    "214-2.0.0 Commands supported:\n"
	    "214 2.0.0 EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP");
	say(&c, "VRFY x",
	    "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
	say(&c, "STARTTLS", "503 5.5.1 STARTTLS not offered");
	say(&c, "HELO c.test", "250 mx.test Hello c.test [127.0.0.1]");
	say(&c, "EHLO", "501 5.5.4 Syntax error: a domain or address literal is required");
	say(&c, "QUIT", "221 2.0.0 mx.test closing connection");
	conv_end(&c);
}

static void
test_transaction(void **state)
{
	struct conv c;
	char *trace;

	(void)state;
	greeted(&c, cfg_plain, NULL);
	say(&c, "EHLO c.test", EHLO_PLAIN);
	/* RFC 2920: MAIL and RCPTs in one group, one reply each. */
	conv_send(&c, "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<postmaster>\r\n");
	say(&c, NULL, "250 2.1.0 OK");
	say(&c, NULL, "250 2.1.5 OK");
	say(&c, NULL, "250 2.1.5 OK");
	say(&c, "DATA", "354 Enter message, ending with \".\" on a line by itself");
	conv_send(&c, "Subject: t\r\n\r\nhi\r\n..dot\r\n.\r\n");
	say(&c, NULL, "250 2.0.0 OK id=*");
	say(&c, "RSET", "250 2.0.0 OK");
	say(&c, "QUIT", "221 2.0.0 mx.test closing connection");
	conv_end(&c);
	trace = test_slurp(trace_path);
	assert_string_equal(trace, "connected>ready\nready>mail\nmail>rcpt\nrcpt>ready\n");
	free(trace);
	assert_true(log_has("<= a@x.test H=c.test [127.0.0.1]:40000 P=esmtp S="));
	assert_true(log_has(" for b@y.test postmaster@mx.test"));
}

/*
 * PRDR (draft-hall-prdr-00, docs/prdr.md): 353, a reply per recipient, the
 * overall reply, all in one write (RFC 2920 3.1 groups): the first read
 * after the dot gets the whole response.  Only the accepted recipient is
 * spooled.
 */
static void
test_prdr(void **state)
{
	static const char want[] = "353 PRDR content analysis beginning\r\n"
	                           "250 2.1.5 <b@y.test> OK\r\n"
	                           "550 5.7.1 <c@y.test> Administrative prohibition\r\n"
	                           "250 2.0.0 OK id=";
	struct conv c;
	char got[1024];
	ssize_t n;

	(void)state;
	greeted(&c, cfg_prdr, NULL);
	say(&c, "EHLO c.test", EHLO_PRDR);
	conv_send(&c, "MAIL FROM:<a@x.test> PRDR\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n"
	              "DATA\r\n");
	say(&c, NULL, "250 2.1.0 OK");
	say(&c, NULL, "250 2.1.5 OK");
	say(&c, NULL, "250 2.1.5 OK");
	say(&c, NULL, "354 Enter message, ending with \".\" on a line by itself");
	assert_int_equal(c.io.rlen - c.io.rpos, 0); /* nothing read ahead */
	conv_send(&c, "Subject: t\r\n\r\nhi\r\n.\r\n");
	n = recv(c.io.fd, got, sizeof got - 1, 0);
	assert_true(n > 0);
	got[n] = '\0';
	assert_true(strncmp(got, want, strlen(want)) == 0);
	assert_int_equal(got[n - 1], '\n');
	assert_non_null(strstr(got, "\r\n250 2.0.0 OK id="));
	say(&c, "QUIT", "221 2.0.0 mx.test closing connection");
	conv_end(&c);
	assert_true(log_has("P=esmtp PRDR S="));
	assert_true(log_has("rejected PRDR <c@y.test>: 550 5.7.1 <c@y.test>"));
	assert_true(log_has(" for b@y.test\n")); /* c was refused: not spooled */
}

static void
test_sequence_errors(void **state)
{
	struct conv c;

	(void)state;
	greeted(&c, cfg_plain, NULL);
	say(&c, "MAIL FROM:<>", "503 5.5.1 EHLO or HELO first");
	say(&c, "EHLO c.test", EHLO_PLAIN);
	say(&c, "DATA", "503 5.5.1 MAIL first");
	say(&c, "RCPT TO:<b@y.test>", "503 5.5.1 MAIL first");
	say(&c, "MAIL FROM:<>", "250 2.1.0 OK");
	say(&c, "DATA", "503 5.5.1 No valid recipients");
	say(&c, "MAIL FROM:<>", "503 5.5.1 Nested MAIL command");
	say(&c, "RSET now", "501 5.5.4 Syntax error: no parameters allowed");
	say(&c, "RCPT TO:b@y.test", "501 5.5.4 Syntax error: the path must be in angle brackets");
	say(&c, "NOOP", "250 2.0.0 OK");
	say(&c, "QUIT", "221 2.0.0 mx.test closing connection");
	conv_end(&c);
	assert_true(log_has("rejected MAIL FROM:<>: 503 5.5.1 EHLO or HELO first"));
}

static void
test_sync_errors(void **state)
{
	struct conv c;

	(void)state;
	/* RFC 5321 4.3.1: talking before the greeting. */
	conv_start(&c, cfg_plain, NULL, "EHLO c.test\r\n");
	say(&c, NULL, "554 5.5.0 SMTP synchronization error");
	conv_end(&c);
	assert_true(log_has("(input sent without waiting for greeting)"));

	/* RFC 2920 3.1: EHLO ends a group. */
	greeted(&c, cfg_plain, NULL);
	conv_send(&c, "EHLO c.test\r\nNOOP\r\n");
	say(&c, NULL, "554 5.5.0 SMTP synchronization error");
	conv_end(&c);
	assert_true(log_has("(next input sent too soon)"));

	/* After HELO nothing may be pipelined. */
	greeted(&c, cfg_plain, NULL);
	say(&c, "HELO c.test", "250 mx.test Hello c.test [127.0.0.1]");
	conv_send(&c, "MAIL FROM:<>\r\nRCPT TO:<b@y.test>\r\n");
	say(&c, NULL, "554 5.5.0 SMTP synchronization error");
	conv_end(&c);
	assert_true(log_has("(pipelining was not advertised)"));
}

static void
test_bdat(void **state)
{
	struct conv c;

	(void)state;
	greeted(&c, cfg_plain, NULL);
	say(&c, "EHLO c.test", EHLO_PLAIN);
	/* RFC 3030 2: refused without a recipient, the chunk read anyway. */
	say(&c, "MAIL FROM:<a@x.test>", "250 2.1.0 OK");
	conv_send(&c, "BDAT 3 LAST\r\nabc");
	say(&c, NULL, "554 5.5.1 No valid recipients");
	say(&c, "MAIL FROM:<a@x.test>", "250 2.1.0 OK");
	say(&c, "RCPT TO:<b@y.test>", "250 2.1.5 OK");
	conv_send(&c, "BDAT 12\r\nSubject: x\r\n");
	say(&c, NULL, "250 2.0.0 12 octets received");
	say(&c, "DATA", "503 5.5.1 DATA not allowed after BDAT");
	conv_send(&c, "BDAT 4 LAST\r\n\r\nhi");
	say(&c, NULL, "250 2.0.0 OK id=*");
	/* Without a size the stream cannot be resynchronised: close. */
	say(&c, "MAIL FROM:<a@x.test>", "250 2.1.0 OK");
	say(&c, "BDAT x", "501 5.5.4 Syntax error in BDAT: closing connection");
	conv_end(&c);
}

static void
test_limits(void **state)
{
	struct conv c;
	char big[12100];

	(void)state;
	greeted(&c, cfg_plain, NULL);
	say(&c, "EHLO c.test", EHLO_PLAIN);
	/* RFC 1870 6.1: a declared size over the limit, before any data. */
	say(&c, "MAIL FROM:<a@x.test> SIZE=10001",
	    "552 5.3.4 Message size exceeds fixed maximum message size");
	say(&c, "MAIL FROM:<a@x.test> SIZE=100", "250 2.1.0 OK");
	say(&c, "RCPT TO:<b1@y.test>", "250 2.1.5 OK");
	say(&c, "RCPT TO:<b2@y.test>", "250 2.1.5 OK");
	say(&c, "RCPT TO:<b3@y.test>", "452 4.5.3 Too many recipients");
	say(&c, "DATA", "354 Enter message, ending with \".\" on a line by itself");
	/* The message is read to its end, then refused. */
	for (size_t i = 0; i + 100 < sizeof big; i += 100)
		snprintf(big + i, sizeof big - i, "%098zu\r\n", i);
	conv_send(&c, big);
	conv_send(&c, ".\r\n");
	say(&c, NULL, "552 5.3.4 Message size exceeds fixed maximum message size");
	/* The third unknown command gets the 421 as its only reply. */
	say(&c, "XYZZY", "500 5.5.1 Unrecognized command");
	say(&c, "EXPN x", "500 5.5.1 Unrecognized command");
	say(&c, "TURN", "421 4.7.0 mx.test Too many unrecognized commands");
	conv_end(&c);
}

/* STARTTLS with `sbe` serving and `cbe` connecting. */
static void
starttls_with(const char *sbe, const char *cbe)
{
	struct tls_config cc = { .role = TLS_ROLE_CLIENT };
	struct err e = { 0 };
	struct tls_ctx *sctx = smtpd_tls_ctx_new(cfg_tls, sbe, &e);
	struct conv c;

	if (sctx == NULL)
		fail_msg("server context (%s): %s", sbe, e.text);
	greeted(&c, cfg_tls, sctx);
	say(&c, "EHLO c.test", EHLO_TLS);
	say(&c, "HELP",
	    "214-2.0.0 Commands supported:\n"
	    "214 2.0.0 EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS");
	say(&c, "STARTTLS now", "501 5.5.4 Syntax error: no parameters allowed");
	/* RFC 3207 4.2: plaintext pipelined after STARTTLS is never executed. */
	conv_send(&c, "STARTTLS\r\nNOOP\r\n");
	say(&c, NULL, "220 2.0.0 Ready to start TLS");
	c.cctx = tls_ctx_new(tls_backend_by_name(cbe), &cc, &e);
	if (c.cctx == NULL)
		fail_msg("client context (%s): %s", cbe, e.text);
	c.tls = tls_conn_new(c.cctx, c.io.fd, NULL, &e);
	if (c.tls == NULL || tls_conn_handshake(c.tls, &e) != TLS_OK)
		fail_msg("handshake (%s serving, %s connecting): %s", sbe, cbe, e.text);
	bio_use_tls(&c.io, c.tls);
	/* Everything learnt before TLS is forgotten. */
	say(&c, "MAIL FROM:<>", "503 5.5.1 EHLO or HELO first");
	say(&c, "EHLO c.test", EHLO_PLAIN);
	say(&c, "STARTTLS", "503 5.5.1 TLS already active");
	say(&c, "QUIT", "221 2.0.0 mx.test closing connection");
	conv_end(&c);
	tls_ctx_free(sctx);
	assert_true(log_has("discarded 6 octets of plaintext pipelined after STARTTLS"));
	assert_true(log_has(
	        "SMTP connection from c.test [127.0.0.1]:40000 (TLS TLSv1.3) closed (QUIT)"));
}

static void
test_starttls_openssl(void **state)
{
	(void)state;
	starttls_with("openssl", "gnutls");
}

static void
test_starttls_gnutls(void **state)
{
	(void)state;
	starttls_with("gnutls", "openssl");
}

static void
test_no_certificate_no_context(void **state)
{
	struct err e = { 0 };

	(void)state;
	assert_null(smtpd_tls_ctx_new(cfg_plain, "openssl", &e));
	assert_int_equal(e.code, 0);
	assert_null(smtpd_tls_ctx_new(cfg_tls, "schannel", &e));
	assert_string_equal(e.text, "unknown TLS backend \"schannel\"");
}

/* docs/config.md's variable table lists exactly the session's variables. */
static void
test_variables_documented(void **state)
{
	char *doc = test_slurp("docs/config.md");
	const char *sec = strstr(doc, "### Variables in ACLs"), *end;
	size_t rows = 0;

	(void)state;
	assert_non_null(sec);
	end = strstr(sec, "\n## ");
	assert_non_null(end);
	for (const char *p = sec; (p = strstr(p, "\n| `$")) != NULL && p < end; p++)
		rows++;
	assert_int_equal(rows, smtpd_nvars);
	for (size_t i = 0; i < smtpd_nvars; i++) {
		char want[100];
		const char *at;
		snprintf(want, sizeof want, "\n| `$%s` |", smtpd_vars[i].name);
		at = strstr(sec, want);
		if (at == NULL || at > end)
			fail_msg("docs/config.md does not list $%s", smtpd_vars[i].name);
		assert_non_null(smtpd_vars[i].doc);
	}
	free(doc);
}

/* ---- set-up ------------------------------------------------------------------------ */

static struct config *
load(const char *name, const char *extra)
{
	char path[700];
	struct config *cfg = NULL;
	struct err e = { 0 };
	FILE *f;

	snprintf(path, sizeof path, "%s/%s.conf", tmp_dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return NULL;
	fprintf(f,
	        "primary_hostname = mx.test\nspool_directory = %s/spool\nlog_file = %s\n"
	        "recipients_max = 2\nmessage_size_limit = 10000\nsmtp_max_synprot_errors = 20\n"
	        "%s"
	        "acl_smtp_rcpt:\n  accept\n",
	        tmp_dir, log_path, extra);
	fclose(f);
	if (config_load(path, &cfg, &e) != 0) {
		fprintf(stderr, "smtpd_test: %s\n", e.text);
		return NULL;
	}
	return cfg;
}

static int
setup_all(void)
{
	const char *env = getenv("REFMTA_PKI");
	struct stat st;
	struct err e = { 0 };
	char extra[1200];

	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/smtpd_test.XXXXXX");
	if (mkdtemp(tmp_dir) == NULL)
		return -1;
	if (env != NULL && *env != '\0' && stat(env, &st) == 0) {
		snprintf(pki_dir, sizeof pki_dir, "%s", env);
	} else if (stat("build/pki/.minted", &st) == 0) {
		snprintf(pki_dir, sizeof pki_dir, "build/pki");
	} else {
		snprintf(pki_dir, sizeof pki_dir, "%s/pki", tmp_dir);
		if (pki_mint(pki_dir, time(NULL), &e) != 0) {
			fprintf(stderr, "smtpd_test: cannot mint the PKI: %s\n", e.text);
			return -1;
		}
	}
	snprintf(log_path, sizeof log_path, "%s/main.log", tmp_dir);
	snprintf(trace_path, sizeof trace_path, "%s/trace", tmp_dir);
	snprintf(extra, sizeof extra,
	         "tls_certificate = %s/mx-rsa.pem\ntls_privatekey = %s/mx-rsa.key\n", pki_dir,
	         pki_dir);
	cfg_plain = load("plain", "");
	cfg_tls = load("tls", extra);
	cfg_prdr = load("prdr", "prdr_enable = true\nacl_smtp_data_prdr:\n  deny local_parts = c\n"
	                        "  accept\n");
	if (cfg_plain == NULL || cfg_tls == NULL || cfg_prdr == NULL)
		return -1;
	if (spool_init(cfg_plain->spool_directory, &e) != 0 || log_open(log_path, &e) != 0) {
		fprintf(stderr, "smtpd_test: %s\n", e.text);
		return -1;
	}
	return 0;
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_ehlo_help),
		cmocka_unit_test(test_transaction),
		cmocka_unit_test(test_prdr),
		cmocka_unit_test(test_sequence_errors),
		cmocka_unit_test(test_sync_errors),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_starttls_openssl),
		cmocka_unit_test(test_starttls_gnutls),
		cmocka_unit_test(test_no_certificate_no_context),
		cmocka_unit_test(test_variables_documented),
	};
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (setup_all() != 0)
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	config_free(cfg_plain);
	config_free(cfg_tls);
	config_free(cfg_prdr);
	log_close();
	test_remove_tree(tmp_dir);
	return failed;
}
