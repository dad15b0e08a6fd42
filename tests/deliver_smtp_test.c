/*
 * deliver_smtp_test.c - server/deliver_smtp.c against a scripted SMTP
 * server in a forked child on 127.0.0.1: the exact client dialogue
 * (pipelined groups, parameters, dot-stuffing, BDAT size), per-recipient
 * outcomes with the stage and reply that decided them, failover, STARTTLS
 * and the verification policy on both TLS backends, the connection cache,
 * host-level log lines, and the transport block's errors.
 *
 * The child's script, one operation a line:
 *   A          accept the next connection        S TEXT   send TEXT ("|" = CRLF), CRLF
 *   R / Rn     read 1 / n command lines (nothing is sent before all n arrived,
 *              so a client that does not pipeline them times out)
 *   P          note whether more input arrives within 300 ms ("-- idle")
 *   D          read message data up to the lone dot
 *   K          read the chunk the last BDAT line announced
 *   T STEM     TLS handshake as a server with PKI STEM.pem/.key
 *   C          close the connection               Z        sleep 2 s
 * It records every line it reads in a transcript the test compares.  End of
 * input skips to the next A.  The child is bounded by alarm().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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
#include "deliver_smtp.h"
#include "log.h"
#include "pki.h"
#include "spool.h"
#include "tls.h"

#define MSG "Subject: hi\r\n\r\n.leading dot\r\n..two\r\nend\r\n"
#define MSG_STUFFED "D: Subject: hi\nD: \nD: ..leading dot\nD: ...two\nD: end\nD: .\n"

static char tmp_dir[256];
static char pki_dir[512];
static char data_path[600], log_path[600], transcript_path[600];

static const struct tls_backend *const backends[] = { &tls_backend_openssl, &tls_backend_gnutls };

static const char *
pki(const char *name)
{
	static char paths[8][700];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof paths[0], "%s/%s", pki_dir, name);
	return p;
}

/* ---- the scripted server ------------------------------------------------------------ */

struct srv {
	pid_t pid;
	unsigned port;
};

static void
child_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 8 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void __attribute__((noreturn))
child_run(int lfd, const char *script, const struct tls_backend *be)
{
	static struct bio io;
	FILE *out = fopen(transcript_path, "w");
	char *copy = strdup(script), *save = NULL;
	struct tls_ctx *ctx = NULL;
	struct tls_conn *tc = NULL;
	char line[4096];
	unsigned long long bdat = 0;
	int cfd = -1, skip = 0;

	alarm(20);
	if (out == NULL || copy == NULL)
		_exit(2);
	setvbuf(out, NULL, _IONBF, 0);
	for (char *op = strtok_r(copy, "\n", &save); op != NULL; op = strtok_r(NULL, "\n", &save)) {
		struct err e = { 0 };
		size_t len;
		int too_long;

		if (op[0] == 'A') {
			if (tc != NULL) {
				tls_conn_free(tc);
				tc = NULL;
			}
			if (cfd >= 0)
				close(cfd);
			cfd = accept(lfd, NULL, NULL);
			if (cfd < 0)
				_exit(3);
			child_timeouts(cfd);
			bio_init(&io, cfd);
			fprintf(out, "-- accept\n");
			skip = 0;
			continue;
		}
		if (skip)
			continue;
		switch (op[0]) {
		case 'S': {
			char buf[2048];
			size_t n = 0;
			for (const char *p = op + 2; *p != '\0' && n + 3 < sizeof buf; p++) {
				if (*p == '|') {
					buf[n++] = '\r';
					buf[n++] = '\n';
				} else {
					buf[n++] = *p;
				}
			}
			buf[n++] = '\r';
			buf[n++] = '\n';
			(void)bio_write(&io, buf, n, &e);
			(void)bio_flush(&io, &e);
			break;
		}
		case 'R': {
			int count = op[1] ? atoi(op + 1) : 1;
			for (int i = 0; i < count && !skip; i++) {
				if (bio_read_line(&io, line, sizeof line - 1, &len, &too_long,
				                  &e) != BIO_OK) {
					fprintf(out, "-- eof\n");
					skip = 1;
					break;
				}
				line[strcspn(line, "\r\n")] = '\0';
				fprintf(out, "C: %s\n", line);
				if (strncmp(line, "BDAT ", 5) == 0)
					bdat = strtoull(line + 5, NULL, 10);
			}
			break;
		}
		case 'P':
			fprintf(out, "%s\n",
			        bio_input_pending(&io, 300) ? "-- more input" : "-- idle");
			break;
		case 'D':
			for (int i = 0; i < 10000; i++) {
				if (bio_read_line(&io, line, sizeof line - 1, &len, &too_long,
				                  &e) != BIO_OK) {
					fprintf(out, "-- eof\n");
					skip = 1;
					break;
				}
				line[strcspn(line, "\r\n")] = '\0';
				fprintf(out, "D: %s\n", line);
				if (strcmp(line, ".") == 0)
					break;
			}
			break;
		case 'K': {
			char *chunk = malloc(bdat + 1);
			if (chunk == NULL || bio_read_exact(&io, chunk, bdat, &e) != BIO_OK) {
				fprintf(out, "-- eof\n");
				skip = 1;
			} else {
				fprintf(out, "K: %llu [", bdat);
				fwrite(chunk, 1, bdat, out);
				fprintf(out, "]\n");
			}
			free(chunk);
			break;
		}
		case 'T': {
			char cert[700], key[700];
			struct tls_config cfg = { .role = TLS_ROLE_SERVER, .ncerts = 1 };
			snprintf(cert, sizeof cert, "%s/%s.pem", pki_dir, op + 2);
			snprintf(key, sizeof key, "%s/%s.key", pki_dir, op + 2);
			cfg.certs[0].cert_file = cert;
			cfg.certs[0].key_file = key;
			tls_ctx_free(ctx);
			ctx = tls_ctx_new(be, &cfg, &e);
			if (ctx == NULL)
				_exit(4);
			tc = tls_conn_new(ctx, cfd, NULL, &e);
			if (tc == NULL || tls_conn_handshake(tc, &e) != TLS_OK) {
				fprintf(out, "-- tls failed\n");
				skip = 1;
				break;
			}
			bio_use_tls(&io, tc);
			fprintf(out, "-- tls sni=%s\n", tls_conn_info(tc)->sni);
			break;
		}
		case 'Z':
			sleep(2);
			break;
		case 'C':
			if (tc != NULL) {
				tls_conn_free(tc);
				tc = NULL;
			}
			close(cfd);
			cfd = -1;
			fprintf(out, "-- close\n");
			break;
		default:
			_exit(5);
		}
	}
	tls_conn_free(tc);
	tls_ctx_free(ctx);
	if (cfd >= 0)
		close(cfd);
	fclose(out);
	free(copy);
	_exit(0);
}

static void
srv_start(struct srv *s, const char *script, const struct tls_backend *be)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(lfd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	unlink(transcript_path);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0)
		child_run(lfd, script, be != NULL ? be : &tls_backend_openssl);
	close(lfd);
}

/* Wait for the child (bounded by its alarm); its transcript, caller frees. */
static char *
srv_finish(struct srv *s)
{
	int status = 0;

	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("scripted server ended with status 0x%x", status);
	return test_slurp(transcript_path);
}

/* A port nothing listens on. */
static unsigned
closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- a delivery --------------------------------------------------------------------- */

struct job {
	struct smtp_transport t;
	struct route_host hosts[3];
	size_t nhosts;
	struct spool_rcpt rcpts[3];
	struct envelope env;
	struct smtp_rcpt_result res[3];
	size_t nrcpts;
	const struct tls_backend *be;
	struct smtp_cache *cache;
	char *log;
};

static void
job_init(struct job *j, unsigned port)
{
	memset(j, 0, sizeof *j);
	j->t.name = "remote_smtp";
	j->t.port = 25;
	j->t.helo_data = "client.test";
	j->t.connect_timeout = 5;
	j->t.command_timeout = 5;
	j->t.data_timeout = 5;
	j->t.max_rcpt = 100;
	j->t.hosts_require_tls = "";
	j->t.tls_verify_certificates = (char *)pki("ca-bundle.pem");
	j->t.tls_verify_hosts = "";
	j->t.tls_try_verify_hosts = "*";
	j->t.tls_verify_cert_hostnames = "*";
	j->t.tls_sni = "$host";
	j->t.tls_tempfail_tryclear = 1;
	j->hosts[0] = (struct route_host){
		.name = "mx.partner.test", .address = "127.0.0.1", .port = port, .mx_pref = 10
	};
	j->nhosts = 1;
	j->rcpts[0] = (struct spool_rcpt){ .address = "bob@partner.test",
		                           .orcpt = "rfc822;bob=x@partner.test",
		                           .notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE };
	j->rcpts[1] = (struct spool_rcpt){ .address = "carol@partner.test" };
	j->nrcpts = 2;
	j->env.sender = "alice@client.test";
	j->env.ret = DSN_RET_HDRS;
	j->env.envid = "id+1 x";
	j->env.body = "8BITMIME";
	j->env.size = strlen(MSG);
	j->be = &tls_backend_openssl;
}

static void
job_run(struct job *j)
{
	struct smtp_delivery d = { 0 };

	for (size_t i = 0; i < j->nrcpts; i++) {
		smtp_rcpt_result_free(&j->res[i]);
		memset(&j->res[i], 0, sizeof j->res[i]);
		j->res[i].rcpt = &j->rcpts[i];
	}
	j->env.rcpts = j->rcpts;
	j->env.nrcpts = j->nrcpts;
	d.t = &j->t;
	d.be = j->be;
	d.cache = j->cache;
	d.message_id = "T-000001";
	d.env = &j->env;
	d.data_path = data_path;
	d.hosts = j->hosts;
	d.nhosts = j->nhosts;
	d.rcpts = j->res;
	d.nrcpts = j->nrcpts;
	truncate(log_path, 0);
	assert_int_equal(deliver_smtp(&d), 0);
	free(j->log);
	j->log = test_slurp(log_path);
}

static void
job_free(struct job *j)
{
	for (size_t i = 0; i < j->nrcpts; i++)
		smtp_rcpt_result_free(&j->res[i]);
	free(j->log);
	j->log = NULL;
}

static void
assert_rcpt(const struct smtp_rcpt_result *r, enum smtp_outcome o, const char *status,
            const char *reply, const char *stage)
{
	assert_int_equal(r->outcome, o);
	assert_string_equal(r->status, status);
	if (reply == NULL) {
		assert_null(r->reply);
		assert_non_null(r->error);
	} else {
		assert_non_null(r->reply);
		assert_string_equal(r->reply, reply);
		assert_string_equal(r->stage, stage);
	}
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

#define GREET "A\nS 220 mx.partner.test ESMTP\nR\n"
#define QUIT "R\nS 221 bye\n"

/* ---- plain sessions ----------------------------------------------------------------- */

static void
test_pipelining_success(void **state)
{
	struct srv s;
	struct job j;
	char *tr, want[2048];

	(void)state;
	srv_start(&s,
	          GREET
	          "S 250-mx.partner.test|250-PIPELINING|250-SIZE 1000000|250-8BITMIME|250 DSN\n"
	          "R4\nS 250 2.1.0 ok|250 2.1.5 ok|550 5.1.1 no such user|354 go\nD\n"
	          "S 250 2.0.0 queued as X\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	snprintf(want, sizeof want,
	         "-- accept\nC: EHLO client.test\n"
	         "C: MAIL FROM:<alice@client.test> SIZE=%zu BODY=8BITMIME RET=HDRS "
	         "ENVID=id+2B1+20x\n"
	         "C: RCPT TO:<bob@partner.test> NOTIFY=SUCCESS,FAILURE "
	         "ORCPT=rfc822;bob+3Dx@partner.test\n"
	         "C: RCPT TO:<carol@partner.test>\nC: DATA\n" MSG_STUFFED "C: QUIT\n",
	         strlen(MSG));
	assert_string_equal(tr, want);
	assert_rcpt(&j.res[0], SMTP_RCPT_DELIVERED, "2.0.0", "250 2.0.0 queued as X",
	            "after end of data");
	assert_rcpt(&j.res[1], SMTP_RCPT_FAILED, "5.1.1", "550 5.1.1 no such user",
	            "after RCPT TO:<carol@partner.test>");
	assert_int_equal(j.res[0].host_index, 0);
	assert_string_equal(j.res[0].host.greeting, "220 mx.partner.test ESMTP");
	assert_string_equal(j.res[0].host.helo_response, "250-mx.partner.test");
	assert_int_equal(j.res[0].host.tls, 0);
	assert_string_equal(j.log, ""); /* no host-level problem */
	free(tr);
	job_free(&j);
}

static void
test_no_pipelining(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s,
	          GREET "S 250 mx.partner.test\n"
	                "R\nP\nS 250 ok\nR\nP\nS 250 ok\nR\nP\nS 251 forwarded\nR\nP\nS 354 go\nD\n"
	                "S 250 queued\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	/* Nothing offered: no SIZE, BODY or DSN parameters, one command at a time. */
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\n"
	                        "C: MAIL FROM:<alice@client.test>\n-- idle\n"
	                        "C: RCPT TO:<bob@partner.test>\n-- idle\n"
	                        "C: RCPT TO:<carol@partner.test>\n-- idle\n"
	                        "C: DATA\n-- idle\n" MSG_STUFFED "C: QUIT\n");
	assert_rcpt(&j.res[0], SMTP_RCPT_DELIVERED, "2.0.0", "250 queued", "after end of data");
	assert_rcpt(&j.res[1], SMTP_RCPT_DELIVERED, "2.0.0", "250 queued", "after end of data");
	free(tr);
	job_free(&j);
}

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

static void
test_chunking(void **state)
{
	struct srv s;
	struct job j;
	char *tr, want[1024];

	(void)state;
	srv_start(&s,
	          GREET "S 250-mx|250-PIPELINING|250 CHUNKING\n"
	                "R3\nS 250 ok|250 ok|250 ok\nR\nK\nS 250 2.0.0 chunk queued\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	snprintf(want, sizeof want,
	         "-- accept\nC: EHLO client.test\nC: MAIL FROM:<alice@client.test>\n"
	         "C: RCPT TO:<bob@partner.test>\nC: RCPT TO:<carol@partner.test>\n"
	         "C: BDAT %zu LAST\nK: %zu [" MSG "]\nC: QUIT\n",
	         strlen(MSG), strlen(MSG));
	assert_string_equal(tr, want);
	assert_rcpt(&j.res[1], SMTP_RCPT_DELIVERED, "2.0.0", "250 2.0.0 chunk queued",
	            "after end of data");
	free(tr);
	job_free(&j);
}

static void
test_max_rcpt_splits(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s,
	          GREET "S 250-mx|250 PIPELINING\n"
	                "R3\nS 250 ok|250 ok|354 go\nD\nS 250 one\n"
	                "R3\nS 250 ok|250 ok|354 go\nD\nS 250 two\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	j.t.max_rcpt = 1;
	job_run(&j);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\n"
	                        "C: MAIL FROM:<alice@client.test>\nC: RCPT "
	                        "TO:<bob@partner.test>\nC: DATA\n" MSG_STUFFED
	                        "C: MAIL FROM:<alice@client.test>\nC: RCPT "
	                        "TO:<carol@partner.test>\nC: DATA\n" MSG_STUFFED "C: QUIT\n");
	assert_rcpt(&j.res[0], SMTP_RCPT_DELIVERED, "2.0.0", "250 one", "after end of data");
	assert_rcpt(&j.res[1], SMTP_RCPT_DELIVERED, "2.0.0", "250 two", "after end of data");
	free(tr);
	job_free(&j);
}

/* ---- failures at each stage --------------------------------------------------------- */

struct stage_case {
	const char *name;
	const char *script;
	enum smtp_outcome bob, carol;
	const char *status, *reply, *stage; /* carol's */
	const char *log;                    /* a host-level line, or NULL for none */
};

#define EHLO_PLAIN "S 250 mx\n"
static const struct stage_case stage_cases[] = {
	{ "554 greeting", "A\nS 554 5.7.1 go away\n" QUIT, SMTP_RCPT_FAILED, SMTP_RCPT_FAILED,
	  "5.7.1", "554 5.7.1 go away", "after initial connection", NULL },
	{ "421 greeting", "A\nS 421 busy\n" QUIT, SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.0.0",
	  "421 busy", "after initial connection",
	  "SMTP error from remote mail server after initial connection: 421 busy" },
	{ "5xx EHLO and HELO", GREET "S 502 no\nR\nS 550 5.7.0 no HELO either\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.7.0", "550 5.7.0 no HELO either",
	  "after HELO client.test", NULL },
	{ "4xx EHLO", GREET "S 421-4.3.2 shutting|421 4.3.2 down\n" QUIT, SMTP_RCPT_DEFERRED,
	  SMTP_RCPT_DEFERRED, "4.3.2", "421-4.3.2 shutting\n421 4.3.2 down",
	  "after EHLO client.test",
	  "SMTP error from remote mail server after EHLO client.test: 421-4.3.2 shutting 421 4.3.2 "
	  "down" },
	{ "5xx MAIL", GREET EHLO_PLAIN "R\nS 550 5.1.8 bad sender\n" QUIT, SMTP_RCPT_FAILED,
	  SMTP_RCPT_FAILED, "5.1.8", "550 5.1.8 bad sender", "after MAIL FROM:<alice@client.test>",
	  NULL },
	{ "4xx MAIL", GREET EHLO_PLAIN "R\nS 451 4.3.0 later\n" QUIT, SMTP_RCPT_DEFERRED,
	  SMTP_RCPT_DEFERRED, "4.3.0", "451 4.3.0 later", "after MAIL FROM:<alice@client.test>",
	  "SMTP error from remote mail server after MAIL FROM:<alice@client.test>: 451 4.3.0 "
	  "later" },
	{ "mixed RCPT",
	  GREET EHLO_PLAIN
	  "R\nS 250 ok\nR\nS 250 ok\nR\nS 452 4.2.2 full\nR\nS 354 go\nD\nS 250 ok\n" QUIT,
	  SMTP_RCPT_DELIVERED, SMTP_RCPT_DEFERRED, "4.2.2", "452 4.2.2 full",
	  "after RCPT TO:<carol@partner.test>", NULL },
	{ "no RCPT accepted",
	  GREET EHLO_PLAIN "R\nS 250 ok\nR\nS 550 no\nR\nS 550 5.1.1 no\nR\nS 250 reset\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.1.1", "550 5.1.1 no",
	  "after RCPT TO:<carol@partner.test>", NULL },
	{ "5xx DATA",
	  GREET EHLO_PLAIN "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 554 5.6.0 no data\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.6.0", "554 5.6.0 no data", "after DATA", NULL },
	{ "4xx DATA",
	  GREET EHLO_PLAIN "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 451 wait\n" QUIT,
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.0.0", "451 wait", "after DATA", NULL },
	{ "5xx end of data",
	  GREET EHLO_PLAIN
	  "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\nS 552 5.3.4 too big\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.3.4", "552 5.3.4 too big", "after end of data",
	  NULL },
	{ "4xx end of data",
	  GREET EHLO_PLAIN
	  "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\nS 451 4.3.0 try later\n" QUIT,
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.3.0", "451 4.3.0 try later",
	  "after end of data", NULL },
	{ "pipelined 5xx MAIL",
	  GREET "S 250-mx|250 PIPELINING\nR4\n"
	        "S 550 5.1.8 bad sender|503 5.5.1 MAIL first|503 5.5.1 MAIL first|503 5.5.1 no "
	        "recipients\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.1.8", "550 5.1.8 bad sender",
	  "after MAIL FROM:<alice@client.test>", NULL },
	{ "pipelined, DATA accepted without recipients",
	  GREET "S 250-mx|250 PIPELINING\nR4\n"
	        "S 250 ok|550 5.1.1 no|550 5.1.1 nope|354 go\nR\nS 250 empty\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.1.1", "550 5.1.1 nope",
	  "after RCPT TO:<carol@partner.test>", NULL },
	{ "larger than SIZE", GREET "S 250-mx|250 SIZE 10\n" QUIT, SMTP_RCPT_FAILED,
	  SMTP_RCPT_FAILED, "5.3.4", NULL, NULL, NULL },
	{ "lost after RCPT", GREET EHLO_PLAIN "R\nS 250 ok\nR\nS 250 ok\nR\nC\n",
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.4.2", NULL, NULL,
	  "Remote host closed connection after RCPT TO:<carol@partner.test>" },
};
#define NSTAGE (sizeof stage_cases / sizeof stage_cases[0])

static void
test_stage(void **state)
{
	const struct stage_case *sc = *state;
	struct srv s;
	struct job j;
	char *tr, line[600];

	srv_start(&s, sc->script, NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	assert_int_equal(j.res[0].outcome, sc->bob);
	assert_rcpt(&j.res[1], sc->carol, sc->status, sc->reply, sc->stage);
	if (sc->log != NULL) {
		snprintf(line, sizeof line, "T-000001 H=mx.partner.test [127.0.0.1]:%u: %s\n",
		         s.port, sc->log);
		assert_contains(j.log, line);
	} else {
		assert_string_equal(j.log, "");
	}
	/* A session that ended in an orderly way ends with QUIT. */
	if (strstr(sc->script, QUIT) != NULL)
		assert_non_null(strstr(tr, "C: QUIT\n"));
	free(tr);
	job_free(&j);
}

/* ---- failover ----------------------------------------------------------------------- */

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

/* ---- the cache ---------------------------------------------------------------------- */

#define ONE_MSG "R3\nS 250 ok|250 ok|354 go\nD\nS 250 ok\n"

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

/* ---- TLS ---------------------------------------------------------------------------- */

struct tls_case {
	const char *name;
	const char *cert;           /* server certificate stem */
	const char *host;           /* route_host.name */
	const char *verify_hosts;   /* tls_verify_hosts, or NULL for "" */
	const char *cert_hostnames; /* tls_verify_cert_hostnames, or NULL for "*" */
	int delivered;
	int cv;
	const char *reason; /* cv_reason, or the error when not delivered */
	int no_ca;          /* tls_verify_certificates unset */
};

static const struct tls_case tls_cases[] = {
	{ "verified", "mx-rsa", "mx.example.test", "127.0.0.1", NULL, 1, 1, "", 0 },
	{ "unknown CA, try-verify", "unrelated", "mx.example.test", NULL, NULL, 1, 0, "unknown-ca",
	  0 },
	{ "unknown CA, verify", "unrelated", "mx.example.test", "127.0.0.1", NULL, 0, 0,
	  "TLS session: certificate verification failed: unknown-ca", 0 },
	{ "name mismatch, try-verify", "mx-rsa", "mx.partner.test", NULL, NULL, 1, 0,
	  "name-mismatch", 0 },
	{ "name mismatch, verify", "mx-rsa", "mx.partner.test", "*", NULL, 0, 0,
	  "TLS session: certificate verification failed: name-mismatch", 0 },
	{ "name not checked", "mx-rsa", "mx.partner.test", "*", "10.0.0.1", 1, 1, "", 0 },
	{ "wildcard", "wildcard", "mx7.wild.example.test", "*", NULL, 1, 1, "", 0 },
	{ "wildcard, two labels deep", "wildcard", "a.b.wild.example.test", NULL, NULL, 1, 0,
	  "name-mismatch", 0 },
	{ "SAN", "multisan", "mx.partner.test", "*", NULL, 1, 1, "", 0 },
	{ "no trust anchors, try-verify", "mx-rsa", "mx.example.test", NULL, NULL, 1, 0,
	  "not-checked", 1 },
	{ "no trust anchors, verify", "mx-rsa", "mx.example.test", "*", NULL, 0, 0,
	  "TLS session: certificate verification failed: not-checked", 1 },
};
#define NTLS (sizeof tls_cases / sizeof tls_cases[0])
#define NMORE 5 /* the per-backend TLS tests besides tls_cases */

struct tls_param {
	const struct tls_case *tc;
	const struct tls_backend *be;
};

static void
test_tls(void **state)
{
	const struct tls_param *p = *state;
	const struct tls_case *tc = p->tc;
	char script[1024], want[512], fields[512], *tr;
	struct srv s;
	struct job j;

	snprintf(
	        script, sizeof script,
	        GREET
	        "S 250-mx|250-PIPELINING|250 STARTTLS\nR\nS 220 go ahead\nT %s\n"
	        "R\nS 250-mx|250 PIPELINING\nR4\nS 250 ok|250 ok|250 ok|354 go\nD\nS 250 ok\n" QUIT,
	        tc->cert);
	srv_start(&s, script, p->be);
	job_init(&j, s.port);
	j.be = p->be;
	j.hosts[0].name = (char *)tc->host;
	if (tc->verify_hosts != NULL)
		j.t.tls_verify_hosts = (char *)tc->verify_hosts;
	if (tc->cert_hostnames != NULL)
		j.t.tls_verify_cert_hostnames = (char *)tc->cert_hostnames;
	if (tc->no_ca)
		j.t.tls_verify_certificates = NULL;
	job_run(&j);
	tr = srv_finish(&s);
	/* A host abandoned for its certificate gets QUIT inside TLS (RFC 3207 4.1). */
	snprintf(want, sizeof want, "C: STARTTLS\n-- tls sni=%s\n%s", tc->host,
	         tc->delivered ? "C: EHLO client.test\n" : "C: QUIT\n");
	assert_contains(tr, want);
	if (tc->delivered) {
		const struct smtp_host_facts *h = &j.res[0].host;
		assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
		assert_int_equal(h->tls, 1);
		assert_int_equal(h->cv, tc->cv);
		assert_string_equal(h->cv_reason, tc->reason);
		assert_true(strncmp(h->tls_version, "TLSv1.", 6) == 0);
		assert_true(strncmp(h->tls_cipher, "TLS_", 4) == 0);
		smtp_host_log_fields(h, fields, sizeof fields);
		if (tc->cv)
			snprintf(want, sizeof want, "H=%s [127.0.0.1]:%u X=%s:%s CV=yes", tc->host,
			         s.port, h->tls_version, h->tls_cipher);
		else
			snprintf(want, sizeof want, "H=%s [127.0.0.1]:%u X=%s:%s CV=no (%s)",
			         tc->host, s.port, h->tls_version, h->tls_cipher, tc->reason);
		assert_string_equal(fields, want);
		assert_string_equal(j.log, "");
	} else {
		assert_int_equal(j.res[0].outcome, SMTP_RCPT_DEFERRED);
		assert_string_equal(j.res[0].error, tc->reason);
		snprintf(want, sizeof want, "T-000001 H=%s [127.0.0.1]:%u: %s\n", tc->host, s.port,
		         tc->reason);
		assert_contains(j.log, want);
		/* The host was abandoned right after the handshake. */
		assert_null(strstr(tr, "MAIL FROM"));
	}
	free(tr);
	job_free(&j);
}

static void
test_tls_required_not_offered(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr, want[300];

	srv_start(&s, GREET "S 250-mx|250 PIPELINING\n" QUIT, be);
	job_init(&j, s.port);
	j.be = be;
	j.t.hosts_require_tls = "127.0.0.0/8";
	job_run(&j);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\nC: QUIT\n");
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DEFERRED);
	assert_string_equal(j.res[0].error, "TLS required but not offered");
	snprintf(want, sizeof want,
	         "T-000001 H=mx.partner.test [127.0.0.1]:%u: TLS required but not offered\n",
	         s.port);
	assert_string_equal(j.log + 20, want);
	free(tr);
	job_free(&j);
}

/* A handshake that fails: again in clear, without STARTTLS, and no SNI unset. */
static void
test_tls_tryclear(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s,
	          GREET "S 250-mx|250 STARTTLS\nR\nS 220 go ahead\nC\n" GREET
	                "S 250-mx|250-PIPELINING|250 STARTTLS\nR4\nS 250 ok|250 ok|250 ok|354 "
	                "go\nD\nS 250 ok\n" QUIT,
	          be);
	job_init(&j, s.port);
	j.be = be;
	job_run(&j);
	tr = srv_finish(&s);
	assert_contains(tr, "C: STARTTLS\n-- close\n-- accept\nC: EHLO client.test\nC: MAIL FROM:");
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[0].host.tls, 0);
	assert_contains(j.log, "TLS session: handshake failed");
	free(tr);
	job_free(&j);
}

/* STARTTLS refused (454) on a host that must use TLS: next host, here none. */
static void
test_tls_required_refused(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s, GREET "S 250-mx|250 STARTTLS\nR\nS 454 4.7.0 TLS not available\n" QUIT, be);
	job_init(&j, s.port);
	j.be = be;
	j.t.hosts_require_tls = "*";
	j.t.tls_sni = NULL;
	job_run(&j);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\nC: STARTTLS\nC: QUIT\n");
	assert_rcpt(&j.res[0], SMTP_RCPT_DEFERRED, "4.7.0", "454 4.7.0 TLS not available",
	            "after STARTTLS");
	free(tr);
	job_free(&j);
}

static void
test_tls_no_sni(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s,
	          GREET "S 250-mx|250 STARTTLS\nR\nS 220 go ahead\nT mx-rsa\n"
	                "R\nS 250 mx\nR\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\nS 250 "
	                "ok\n" QUIT,
	          be);
	job_init(&j, s.port);
	j.be = be;
	j.hosts[0].name = "mx.example.test";
	j.t.tls_sni = NULL;
	job_run(&j);
	tr = srv_finish(&s);
	assert_contains(tr, "-- tls sni=\nC: EHLO client.test\nC: MAIL FROM:<alice@client.test>\n");
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[0].host.cv, 1);
	free(tr);
	job_free(&j);
}

/* A session kept over TLS carries the next message, still over TLS. */
static void
test_tls_cache(void **state)
{
	const struct tls_backend *be = *state;
	struct srv s;
	struct job j;
	char *tr;

	srv_start(&s,
	          GREET "S 250-mx|250 STARTTLS\nR\nS 220 go ahead\nT mx-rsa\nR\nS 250-mx|250 "
	                "PIPELINING\n" ONE_MSG ONE_MSG QUIT,
	          be);
	job_init(&j, s.port);
	j.be = be;
	j.hosts[0].name = "mx.example.test";
	j.nrcpts = 1;
	j.cache = smtp_cache_new();
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	job_run(&j);
	assert_int_equal(j.res[0].outcome, SMTP_RCPT_DELIVERED);
	assert_int_equal(j.res[0].host.tls, 1);
	assert_int_equal(j.res[0].host.cv, 1);
	smtp_cache_close_all(j.cache);
	tr = srv_finish(&s);
	assert_contains(tr, "-- tls sni=mx.example.test\nC: EHLO client.test\n"
	                    "C: MAIL FROM:<alice@client.test>\nC: RCPT TO:<bob@partner.test>\nC: "
	                    "DATA\n" MSG_STUFFED "C: MAIL FROM:<alice@client.test>\nC: RCPT "
	                    "TO:<bob@partner.test>\nC: DATA\n" MSG_STUFFED "C: QUIT\n");
	free(tr);
	job_free(&j);
}

/* ---- log fields --------------------------------------------------------------------- */

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

/* ---- the transport block ------------------------------------------------------------ */

static void
test_parse(void **state)
{
	static const struct {
		const char *body;
		const char *err; /* after "FILE:" */
	} cases[] = {
		{ "  colour = blue\n", "3: transport t: unknown option \"colour\"" },
		{ "  connect_timeout = 5x\n",
		  "3: transport t: connect_timeout: bad time \"5x\" (use 300, 30s, 5m or 1h)" },
		{ "  port = 70000\n",
		  "3: transport t: port: bad number \"70000\" (use 1 to 65535)" },
		{ "  max_rcpt = 0\n",
		  "3: transport t: max_rcpt: bad number \"0\" (use a number of at least 1)" },
		{ "  tls_verify_hosts = mx.partner.test\n",
		  "3: transport t: tls_verify_hosts: bad host list item \"mx.partner.test\" (use "
		  "*, an IP "
		  "address or a CIDR; double each colon of an IPv6 address)" },
		{ "  port = 2526\n  tls_verify_certificates = /nonexistent/ca.pem\n",
		  "4: transport t: tls_verify_certificates: cannot read \"/nonexistent/ca.pem\": "
		  "No such file or directory" },
		{ "  tls_tempfail_tryclear = maybe\n", "3: transport t: tls_tempfail_tryclear: bad "
		                                       "boolean \"maybe\" (use true or false)" },
		{ "  driver = queuefile\n", "2: transport t: driver is \"queuefile\", not smtp" },
	};
	char conf[600], text[1200], want[1400];
	struct smtp_transport t;
	struct config *cfg;
	struct err e;

	(void)state;
	snprintf(conf, sizeof conf, "%s/t.conf", tmp_dir);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		FILE *f = fopen(conf, "w");
		assert_non_null(f);
		snprintf(text, sizeof text, "transport t:\n%s%s",
		         strstr(cases[i].body, "driver") ? "" : "  driver = smtp\n", cases[i].body);
		fputs(text, f);
		fclose(f);
		memset(&e, 0, sizeof e);
		cfg = NULL;
		if (config_load(conf, &cfg, &e) != 0)
			fail_msg("config_load: %s", e.text);
		assert_int_equal(cfg->nblocks, 1);
		assert_int_equal(smtp_transport_parse(cfg, &cfg->blocks[0], &t, &e), -1);
		snprintf(want, sizeof want, "%s:%s", cfg->file, cases[i].err);
		assert_string_equal(e.text, want);
		config_free(cfg);
	}

	/* A good block: defaults, and a relative file against the config's directory. */
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f,
	        "primary_hostname = mx.client.test\ntransport t:\n  driver = smtp\n  port = 2526\n"
	        "  command_timeout = 5m\n  tls_verify_certificates = data\n  hosts_require_tls = "
	        "127.0.0.0/8\n"
	        "  tls_sni = $host\n");
	fclose(f);
	assert_int_equal(config_load(conf, &cfg, &e), 0);
	assert_int_equal(smtp_transport_parse(cfg, &cfg->blocks[0], &t, &e), 0);
	assert_string_equal(t.name, "t");
	assert_int_equal(t.port, 2526);
	assert_int_equal(t.command_timeout, 300);
	assert_int_equal(t.connect_timeout, 30);
	assert_int_equal(t.data_timeout, 300);
	assert_int_equal(t.max_rcpt, 100);
	assert_string_equal(t.helo_data, "mx.client.test");
	assert_string_equal(t.tls_verify_certificates, data_path);
	assert_string_equal(t.hosts_require_tls, "127.0.0.0/8");
	assert_string_equal(t.tls_try_verify_hosts, "*");
	assert_string_equal(t.tls_verify_cert_hostnames, "*");
	assert_string_equal(t.tls_verify_hosts, "");
	assert_string_equal(t.tls_sni, "$host");
	assert_int_equal(t.tls_tempfail_tryclear, 1);
	smtp_transport_free(&t);
	config_free(cfg);
	unlink(conf);
}

/* ---- set-up ------------------------------------------------------------------------- */

static int
setup_all(void)
{
	const char *env = getenv("REFMTA_PKI");
	struct stat st;
	struct err e = { 0 };
	FILE *f;

	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/deliver_smtp_test.XXXXXX");
	if (mkdtemp(tmp_dir) == NULL)
		return -1;
	if (env != NULL && *env != '\0' && stat(env, &st) == 0) {
		snprintf(pki_dir, sizeof pki_dir, "%s", env);
	} else if (stat("build/pki/.minted", &st) == 0) {
		snprintf(pki_dir, sizeof pki_dir, "build/pki");
	} else {
		snprintf(pki_dir, sizeof pki_dir, "%s/pki", tmp_dir);
		if (pki_mint(pki_dir, time(NULL), &e) != 0) {
			fprintf(stderr, "deliver_smtp_test: cannot mint the PKI: %s\n", e.text);
			return -1;
		}
	}
	/* The file name "data" doubles as a relative path in test_parse. */
	snprintf(data_path, sizeof data_path, "%s/data", tmp_dir);
	snprintf(log_path, sizeof log_path, "%s/main.log", tmp_dir);
	snprintf(transcript_path, sizeof transcript_path, "%s/transcript", tmp_dir);
	f = fopen(data_path, "w");
	if (f == NULL)
		return -1;
	fputs(MSG, f);
	fclose(f);
	if (log_open(log_path, &e) != 0)
		return -1;
	return 0;
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_pipelining_success),
		cmocka_unit_test(test_no_pipelining),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_max_rcpt_splits),
		cmocka_unit_test(test_failover_refused),
		cmocka_unit_test(test_failover_421),
		cmocka_unit_test(test_all_hosts_fail),
		cmocka_unit_test(test_command_timeout),
		cmocka_unit_test(test_cache_reuses),
		cmocka_unit_test(test_cache_dead_connection),
		cmocka_unit_test_prestate(test_cache_dead_on_mail, ""),
		cmocka_unit_test_prestate(test_cache_dead_on_mail, "S 421 4.4.2 idle too long\n"),
		cmocka_unit_test(test_host_log_fields),
		cmocka_unit_test(test_parse),
	};
	static struct tls_param tparams[2 * NTLS];
	struct CMUnitTest tests[sizeof fixed / sizeof fixed[0] + NSTAGE + 2 * NTLS + 2 * NMORE];
	static char names[NSTAGE + 2 * NTLS + 2 * NMORE][160];
	size_t n = 0, k = 0;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (setup_all() != 0)
		return 1;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < NSTAGE; i++, k++) {
		snprintf(names[k], sizeof names[k], "stage: %s", stage_cases[i].name);
		tests[n++] = (struct CMUnitTest){ .name = names[k],
			                          .test_func = test_stage,
			                          .initial_state = (void *)&stage_cases[i] };
	}
	for (size_t b = 0; b < 2; b++) {
		for (size_t i = 0; i < NTLS; i++, k++) {
			tparams[b * NTLS + i] = (struct tls_param){ &tls_cases[i], backends[b] };
			snprintf(names[k], sizeof names[k], "tls %s: %s", backends[b]->name,
			         tls_cases[i].name);
			tests[n++] = (struct CMUnitTest){ .name = names[k],
				                          .test_func = test_tls,
				                          .initial_state = &tparams[b * NTLS + i] };
		}
		static const struct {
			const char *what;
			void (*fn)(void **);
		} more[] = {
			{ "TLS required but not offered", test_tls_required_not_offered },
			{ "handshake failure, again in clear", test_tls_tryclear },
			{ "TLS required, STARTTLS refused", test_tls_required_refused },
			{ "no SNI", test_tls_no_sni },
			{ "connection kept for the next message", test_tls_cache },
		};
		_Static_assert(sizeof more / sizeof more[0] == NMORE, "NMORE");
		for (size_t i = 0; i < NMORE; i++, k++) {
			snprintf(names[k], sizeof names[k], "tls %s: %s", backends[b]->name,
			         more[i].what);
			tests[n++] = (struct CMUnitTest){ .name = names[k],
				                          .test_func = more[i].fn,
				                          .initial_state = (void *)backends[b] };
		}
	}
	failed = _cmocka_run_group_tests("deliver_smtp", tests, n, NULL, NULL);
	log_close();
	test_remove_tree(tmp_dir);
	return failed;
}
