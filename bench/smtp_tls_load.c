/*
 * smtp_tls_load.c - the load generator for bench/run's TLS rows: Postfix's
 * smtp-source cannot do STARTTLS, so this client, on the project's own TLS
 * layer (lib/tls.h), drives SMTP-over-STARTTLS sessions and bare TLS
 * handshakes against refmta and the peers alike, one full handshake (no
 * resumption) per connection.
 *
 *   smtp_tls_load MODE HOST:PORT SESSIONS COUNT SECS [KEY [BACKEND [SIZE]]]
 *
 * MODE
 *   smtp      per connection: greeting, EHLO, STARTTLS, handshake, EHLO,
 *             MAIL, RCPT, DATA, a SIZE-octet message, QUIT and its 221
 *   starttls  greeting, EHLO, STARTTLS, handshake, close_notify, close
 *   tls       handshake at once (a TLS-on-connect server such as
 *             `openssl s_server`), close_notify, close
 * SESSIONS processes run in parallel, each with its share of COUNT
 * connections; every one stops at SECS seconds (the run is bounded in
 * count and time).  KEY "RSA" or "ECDSA" offers only that family's
 * signature algorithms, so a server holding both certificates must present
 * that one (checked: a wrong key type counts as an error); "any" offers
 * all.  BACKEND is the client's TLS library (default openssl: the same
 * client for every server measured).  SIZE defaults to 1024.
 *
 * Prints one line: "done=N errors=E secs=S rate=R" (R = N / S, S from the
 * first fork to the last exit, which may pass SECS by the connections then
 * under way) and, when E > 0, "first_error=..."
 * on a second line.  Exit 0 when it ran (the caller judges the figures),
 * 2 on usage or set-up errors.  Loopback only is the caller's business.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

enum mode { MODE_SMTP, MODE_STARTTLS, MODE_TLS };

struct load {
	enum mode mode;
	struct net_addr addr;
	const char *key; /* "RSA" | "ECDSA" | NULL (any) */
	struct tls_ctx *ctx;
	char *message; /* SIZE octets of body lines, then ".\r\n" */
	size_t message_len;
	unsigned long long end_ms; /* bio_now_ms() deadline of the whole run */
};

/* One reply; 0 when its code starts with `want`, -1 otherwise (why in `why`). */
static int
expect(struct bio *io, const char *want, char *why, size_t whylen)
{
	char line[1100];
	struct err e = { 0 };

	for (;;) {
		size_t len;
		int too_long;
		if (bio_read_line(io, line, sizeof line - 1, &len, &too_long, &e) != BIO_OK) {
			snprintf(why, whylen, "waiting for %s: %s", want,
			         e.text[0] ? e.text : "EOF or timeout");
			return -1;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) >= 4 && line[3] == '-')
			continue;
		if (strncmp(line, want, strlen(want)) == 0)
			return 0;
		snprintf(why, whylen, "wanted %s, got \"%s\"", want, line);
		return -1;
	}
}

static int
say(struct bio *io, const char *text, size_t n, char *why, size_t whylen)
{
	struct err e = { 0 };

	if (bio_write(io, text, n, &e) == BIO_OK && bio_flush(io, &e) == BIO_OK)
		return 0;
	snprintf(why, whylen, "write: %s", e.text[0] ? e.text : "failed");
	return -1;
}

#define SAY(s) say(&io, s, sizeof s - 1, why, whylen)

/* One connection of MODE; 0 when it did what it should. */
static int
one_connection(const struct load *l, char *why, size_t whylen)
{
	struct bio io;
	struct tls_conn *conn = NULL;
	struct tls_conn_opts opts = { 0 };
	struct err e = { 0 };
	int fd, rc = -1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || net_set_timeouts(fd, 10000) != 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		goto out;
	}
	/* No Nagle: the client's last handshake flight and its next command
	 * would otherwise wait for the server's delayed ACK (40 ms). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (connect(fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) != 0) {
		snprintf(why, whylen, "connect: %s", strerror(errno));
		goto out;
	}
	bio_init(&io, fd);
	if (l->mode != MODE_TLS &&
	    (expect(&io, "220", why, whylen) != 0 || SAY("EHLO load.bench.test\r\n") != 0 ||
	     expect(&io, "250", why, whylen) != 0 || SAY("STARTTLS\r\n") != 0 ||
	     expect(&io, "220", why, whylen) != 0))
		goto out;
	conn = tls_conn_new(l->ctx, fd, &opts, &e);
	if (conn == NULL || tls_conn_handshake(conn, &e) != TLS_OK) {
		snprintf(why, whylen, "handshake: %s", e.text);
		goto out;
	}
	if (l->key != NULL && strcmp(tls_conn_info(conn)->peer_key_type, l->key) != 0) {
		snprintf(why, whylen, "asked for %s, the server presented %s", l->key,
		         tls_conn_info(conn)->peer_key_type);
		goto out;
	}
	bio_use_tls(&io, conn);
	if (l->mode == MODE_SMTP &&
	    (SAY("EHLO load.bench.test\r\n") != 0 || expect(&io, "250", why, whylen) != 0 ||
	     SAY("MAIL FROM:<bench@bench.test>\r\n") != 0 || expect(&io, "250", why, whylen) != 0 ||
	     SAY("RCPT TO:<rcpt@example.test>\r\n") != 0 || expect(&io, "250", why, whylen) != 0 ||
	     SAY("DATA\r\n") != 0 || expect(&io, "354", why, whylen) != 0 ||
	     say(&io, l->message, l->message_len, why, whylen) != 0 ||
	     expect(&io, "250", why, whylen) != 0))
		goto out;
	/* QUIT, and its 221 waited for (RFC 5321 3.8: the client SHOULD), as
	 * smtp-source does; it ends the TLS session too: no close_notify after
	 * it, which a server would see as input after QUIT. */
	if (l->mode == MODE_SMTP) {
		if (SAY("QUIT\r\n") != 0 || expect(&io, "221", why, whylen) != 0)
			goto out;
		tls_conn_free(conn);
		conn = NULL;
	}
	rc = 0;
out:
	if (conn != NULL)
		tls_conn_shutdown(conn);
	tls_conn_free(conn);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* One session process: `share` connections or until the end; reports on `out`. */
static void
session(const struct load *l, long share, int out)
{
	long done = 0, errors = 0;
	char why[512] = "", first[512] = "";
	char line[700];
	int n;

	while (done + errors < share && bio_now_ms() < l->end_ms) {
		if (one_connection(l, why, sizeof why) == 0) {
			done++;
			continue;
		}
		if (errors++ == 0)
			snprintf(first, sizeof first, "%s", why);
		if (errors > 20 && errors > done)
			break; /* the target is refusing: do not spin */
	}
	n = snprintf(line, sizeof line, "%ld %ld %s\n", done, errors, first);
	if (write(out, line, (size_t)n) != n)
		_exit(1);
	_exit(0);
}

static int
make_message(struct load *l, size_t size)
{
	static const char head[] = "From: <bench@bench.test>\r\nTo: <rcpt@example.test>\r\n"
	                           "Subject: smtp_tls_load\r\n\r\n";
	size_t cap = sizeof head + size + 80, n = sizeof head - 1;

	l->message = malloc(cap);
	if (l->message == NULL)
		return -1;
	memcpy(l->message, head, n);
	while (n + 2 < sizeof head - 1 + size) {
		size_t line = sizeof head - 1 + size - n - 2;
		if (line > 70)
			line = 70;
		memset(l->message + n, 'x', line);
		memcpy(l->message + n + line, "\r\n", 2);
		n += line + 2;
	}
	memcpy(l->message + n, ".\r\n", 3);
	l->message_len = n + 3;
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: smtp_tls_load smtp|starttls|tls HOST:PORT SESSIONS COUNT SECS "
	                "[RSA|ECDSA|any [openssl|gnutls [SIZE]]]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct load l = { 0 };
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	const struct tls_backend *be;
	struct err e = { 0 };
	long sessions, count, secs, done = 0, errors = 0;
	unsigned long long t0;
	char first[512] = "";
	int fds[2];

	if (argc < 6 || argc > 9)
		return usage();
	if (strcmp(argv[1], "smtp") == 0)
		l.mode = MODE_SMTP;
	else if (strcmp(argv[1], "starttls") == 0)
		l.mode = MODE_STARTTLS;
	else if (strcmp(argv[1], "tls") == 0)
		l.mode = MODE_TLS;
	else
		return usage();
	sessions = atol(argv[3]);
	count = atol(argv[4]);
	secs = atol(argv[5]);
	if (net_parse_addr_port(argv[2], &l.addr) != 0 || sessions < 1 || sessions > 1000 ||
	    count < 1 || secs < 1 || secs > 600)
		return usage();
	l.key = argc > 6 && strcmp(argv[6], "any") != 0 ? argv[6] : NULL;
	be = tls_backend_by_name(argc > 7 ? argv[7] : "openssl");
	if (be == NULL || (l.key && strcmp(l.key, "RSA") != 0 && strcmp(l.key, "ECDSA") != 0) ||
	    make_message(&l, argc > 8 ? (size_t)atol(argv[8]) : 1024) != 0)
		return usage();
	/* No trust anchors: an opportunistic client, as most SMTP clients are
	 * (the same verification cost, none, for every server measured). */
	cfg.sigalgs = l.key;
	l.ctx = tls_ctx_new(be, &cfg, &e);
	if (l.ctx == NULL) {
		fprintf(stderr, "smtp_tls_load: TLS context: %s\n", e.text);
		return 2;
	}
	if (pipe(fds) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	t0 = bio_now_ms();
	l.end_ms = t0 + (unsigned long long)secs * 1000;
	for (long i = 0; i < sessions; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("smtp_tls_load: fork");
			return 2;
		}
		if (pid == 0) {
			close(fds[0]);
			session(&l, count / sessions + (i < count % sessions), fds[1]);
		}
	}
	close(fds[1]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	double spent = (double)(bio_now_ms() - t0) / 1000.0;
	FILE *in = fdopen(fds[0], "r");
	char line[700];
	while (in != NULL && fgets(line, sizeof line, in) != NULL) {
		long d = 0, er = 0;
		int off = 0;
		if (sscanf(line, "%ld %ld %n", &d, &er, &off) < 2)
			continue;
		done += d;
		errors += er;
		if (er > 0 && first[0] == '\0')
			snprintf(first, sizeof first, "%s", line + off);
	}
	first[strcspn(first, "\n")] = '\0';
	printf("done=%ld errors=%ld secs=%.3f rate=%.1f\n", done, errors, spent,
	       spent > 0 ? (double)done / spent : 0.0);
	if (errors > 0)
		printf("first_error=%s\n", first);
	tls_ctx_free(l.ctx);
	free(l.message);
	return 0;
}
