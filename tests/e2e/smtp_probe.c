/*
 * smtp_probe.c - a scripted SMTP client for the end-to-end tests: it does
 * what well-behaved clients never do (pipeline too early, inject plaintext
 * after STARTTLS, send bare LF, stall) and checks each reply.  Either TLS
 * backend can be the client, so every run is an interop check too.
 *
 *   smtp_probe HOST:PORT < script      ($SMTP_PROBE_SOURCE: local address to bind)
 *
 * Script lines (one action each, '#' comments):
 *   expect CODE [TEXT]   read one (multi-line) reply; its code must start with
 *                        CODE and, if given, its last line contain TEXT
 *   send LINE            send LINE + CRLF
 *   raw TEXT             send TEXT with C escapes (\r \n \t \\ \xHH), no CRLF added
 *   repeat N LINE        send LINE + CRLF N times (one write)
 *   starttls BACKEND [SNI [RSA|ECDSA]]   TLS handshake as a client (trust:
 *                        $REFMTA_PKI/ca-bundle.pem; the name is checked against SNI)
 *   tls-expect FIELD VALUE   check a TLS fact: version, cipher-prefix, verify, peer-key
 *   wait-close           the server must close the connection (EOF) next
 *   sleep MS
 * Prints the transcript (C:/S:/T: lines) on stdout; exit 0 when every
 * expectation held, 1 at the first that did not (with the reason), 2 usage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "net.h"
#include "tls.h"
#include "strutil.h"

static struct bio io;
static struct tls_ctx *ctx;
static struct tls_conn *conn;

static int fail(int lineno, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(int lineno, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL (script line %d): ", lineno);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 1;
}

static void
show(const char *who, const char *data, size_t n)
{
	printf("%s: ", who);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '\r')
			printf("\\r");
		else if (c == '\n')
			printf(i + 1 < n ? "\\n" : "");
		else if (c < 32 || c > 126)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\n");
}

static int
send_bytes(const char *data, size_t n)
{
	struct err e = { 0 };

	show("C", data, n);
	return bio_write(&io, data, n, &e) == BIO_OK && bio_flush(&io, &e) == BIO_OK ? 0 : -1;
}

/* One reply, all its lines; `last` gets the final line. */
static int
read_reply(char *last, size_t lastlen)
{
	char line[1100];
	struct err e = { 0 };

	for (;;) {
		size_t len;
		int too_long;
		if (bio_read_line(&io, line, sizeof line - 1, &len, &too_long, &e) != BIO_OK)
			return -1;
		line[strcspn(line, "\r\n")] = '\0';
		printf("S: %s\n", line);
		if (strlen(line) < 4 || line[3] != '-') {
			snprintf(last, lastlen, "%s", line);
			return 0;
		}
	}
}

static int
do_starttls(const char *backend, const char *sni, const char *sigalgs, int lineno)
{
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	struct tls_conn_opts opts = { .sni = sni };
	const struct tls_backend *be = tls_backend_by_name(backend);
	char ca[600];
	const char *pki = getenv("REFMTA_PKI");
	struct err e = { 0 };

	if (be == NULL)
		return fail(lineno, "unknown backend %s", backend);
	snprintf(ca, sizeof ca, "%s/ca-bundle.pem", pki ? pki : "build/pki");
	cfg.ca_file = ca;
	cfg.sigalgs = sigalgs;
	ctx = tls_ctx_new(be, &cfg, &e);
	if (ctx == NULL)
		return fail(lineno, "TLS context: %s", e.text);
	conn = tls_conn_new(ctx, io.fd, &opts, &e);
	if (conn == NULL || tls_conn_handshake(conn, &e) != TLS_OK)
		return fail(lineno, "TLS handshake: %s", e.text);
	if (sni != NULL)
		(void)tls_conn_check_name(conn, sni);
	const struct tls_info *i = tls_conn_info(conn);
	printf("T: %s client: %s %s peer-key=%s verify=%s\n", backend, i->version, i->cipher,
	       i->peer_key_type, tls_verify_word(i->verify));
	bio_use_tls(&io, conn);
	return 0;
}

static int
tls_expect(const char *field, const char *value, int lineno)
{
	const struct tls_info *i;

	if (conn == NULL)
		return fail(lineno, "tls-expect %s: no TLS session", field);
	i = tls_conn_info(conn);
	if (strcmp(field, "version") == 0 && strcmp(i->version, value) == 0)
		return 0;
	if (strcmp(field, "cipher-prefix") == 0 && strncmp(i->cipher, value, strlen(value)) == 0)
		return 0;
	if (strcmp(field, "verify") == 0 && strcmp(tls_verify_word(i->verify), value) == 0)
		return 0;
	if (strcmp(field, "peer-key") == 0 && strcmp(i->peer_key_type, value) == 0)
		return 0;
	return fail(lineno, "tls-expect %s %s: not so", field, value);
}

int
main(int argc, char **argv)
{
	struct net_addr sa;
	char script[4096];
	int fd, lineno = 0, rc = 0;

	/* Line-buffered even into a pipe: a test reads the transcript as it goes. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: smtp_probe HOST:PORT < script\n");
		return 2;
	}
	if (net_parse_addr_port(argv[1], &sa) != 0 || sa.ss.ss_family != AF_INET) {
		fprintf(stderr, "smtp_probe: bad address %s (want IPv4-ADDR:PORT)\n", argv[1]);
		return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || net_set_timeouts(fd, 20000) != 0) {
		perror("smtp_probe: socket");
		return 2;
	}
	/* SMTP_PROBE_SOURCE: connect from another loopback address (host lists). */
	if (getenv("SMTP_PROBE_SOURCE") != NULL) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		if (inet_pton(AF_INET, getenv("SMTP_PROBE_SOURCE"), &src.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
			perror("smtp_probe: bind SMTP_PROBE_SOURCE");
			return 2;
		}
	}
	if (connect(fd, (struct sockaddr *)&sa.ss, sa.len) != 0) {
		perror("smtp_probe: connect");
		return 1;
	}
	bio_init(&io, fd);
	while (rc == 0 && fgets(script, sizeof script, stdin) != NULL) {
		char *cmd = script, *arg;
		char buf[65536], last[1100];

		lineno++;
		script[strcspn(script, "\n")] = '\0';
		while (*cmd == ' ' || *cmd == '\t')
			cmd++;
		if (*cmd == '\0' || *cmd == '#')
			continue;
		arg = cmd + strcspn(cmd, " ");
		if (*arg)
			*arg++ = '\0';
		if (strcmp(cmd, "expect") == 0) {
			char *text = arg + strcspn(arg, " ");
			if (*text)
				*text++ = '\0';
			if (read_reply(last, sizeof last) != 0)
				rc = fail(lineno, "expected %s, got EOF or timeout", arg);
			else if (strncmp(last, arg, strlen(arg)) != 0 ||
			         (*text && !strstr(last, text)))
				rc = fail(lineno, "expected %s, got \"%s\"", arg, last);
		} else if (strcmp(cmd, "send") == 0) {
			size_t n = strlen(arg);
			memcpy(buf, arg, n);
			memcpy(buf + n, "\r\n", 2);
			if (send_bytes(buf, n + 2) != 0)
				rc = fail(lineno, "send failed");
		} else if (strcmp(cmd, "raw") == 0) {
			if (send_bytes(buf, str_unescape(arg, buf, sizeof buf)) != 0)
				rc = fail(lineno, "send failed");
		} else if (strcmp(cmd, "repeat") == 0) {
			int times = atoi(arg);
			char *line = arg + strcspn(arg, " ");
			size_t n = 0, ll;
			line += *line ? 1 : 0;
			ll = strlen(line);
			for (int i = 0; i < times && n + ll + 2 < sizeof buf; i++) {
				memcpy(buf + n, line, ll);
				memcpy(buf + n + ll, "\r\n", 2);
				n += ll + 2;
			}
			if (send_bytes(buf, n) != 0)
				rc = fail(lineno, "send failed");
		} else if (strcmp(cmd, "starttls") == 0) {
			char *sni = arg + strcspn(arg, " "), *sigalgs;
			if (*sni)
				*sni++ = '\0';
			sigalgs = sni + strcspn(sni, " ");
			if (*sigalgs)
				*sigalgs++ = '\0';
			rc = do_starttls(arg, *sni ? sni : NULL, *sigalgs ? sigalgs : NULL, lineno);
		} else if (strcmp(cmd, "tls-expect") == 0) {
			char *value = arg + strcspn(arg, " ");
			if (*value)
				*value++ = '\0';
			rc = tls_expect(arg, value, lineno);
		} else if (strcmp(cmd, "wait-close") == 0) {
			struct err e = { 0 };
			size_t len;
			int too_long;
			enum bio_status st =
			        bio_read_line(&io, buf, sizeof buf - 1, &len, &too_long, &e);
			if (st == BIO_OK)
				rc = fail(lineno, "expected the server to close, got \"%s\"", buf);
			else if (st == BIO_TIMEOUT)
				rc = fail(lineno, "expected the server to close, it did not");
			else
				printf("S: (closed)\n");
		} else if (strcmp(cmd, "sleep") == 0) {
			struct timespec ts = { atoi(arg) / 1000, (atoi(arg) % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		} else {
			rc = fail(lineno, "unknown script command %s", cmd);
			rc = 2;
		}
	}
	if (conn != NULL)
		tls_conn_shutdown(conn);
	tls_conn_free(conn);
	tls_ctx_free(ctx);
	close(fd);
	return rc;
}
