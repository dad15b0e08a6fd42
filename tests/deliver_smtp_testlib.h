/*
 * deliver_smtp_testlib.h - what the smtp transport's unit tests share
 * (tests/deliver_smtp*_test.c): a scripted SMTP server in a forked child on
 * 127.0.0.1, a delivery job with a ready transport, envelope and two
 * recipients, assertions, and the set-up and run of a test group.
 * Header-only (static inline) so the Makefile's one-file-per-test rule stays.
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
 * Include after <cmocka.h>.
 */
#ifndef REFMTA_DELIVER_SMTP_TESTLIB_H
#define REFMTA_DELIVER_SMTP_TESTLIB_H

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

static char tmp_dir[256] __attribute__((unused));
static char pki_dir[512] __attribute__((unused));
static char data_path[600] __attribute__((unused)), log_path[600] __attribute__((unused)),
        transcript_path[600] __attribute__((unused));

static const struct tls_backend *const backends[]
        __attribute__((unused)) = { &tls_backend_openssl, &tls_backend_gnutls };

static inline const char *
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

static inline void
child_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 8 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static inline void __attribute__((noreturn))
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

static inline void
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
static inline char *
srv_finish(struct srv *s)
{
	int status = 0;

	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("scripted server ended with status 0x%x", status);
	return test_slurp(transcript_path);
}

/* A port nothing listens on. */
static inline unsigned
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

static inline void
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
	j->t.hosts_try_prdr = "*"; /* the option's default */
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

static inline void
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

static inline void
job_free(struct job *j)
{
	for (size_t i = 0; i < j->nrcpts; i++)
		smtp_rcpt_result_free(&j->res[i]);
	free(j->log);
	j->log = NULL;
}

static inline void
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

static inline void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

#define GREET "A\nS 220 mx.partner.test ESMTP\nR\n"
#define QUIT "R\nS 221 bye\n"
/* One pipelined message, accepted. */
#define ONE_MSG "R3\nS 250 ok|250 ok|354 go\nD\nS 250 ok\n"

/* ---- set-up ------------------------------------------------------------------------- */

static inline int
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

/* Set up, run the group `name`, clean up; main()'s return value. */
static inline int
dst_run_group(const char *name, const struct CMUnitTest *tests, size_t n)
{
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (setup_all() != 0)
		return 1;
	failed = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	log_close();
	test_remove_tree(tmp_dir);
	return failed;
}

#endif
