/*
 * smtp_tls_sink.c - the destination of bench/run's STARTTLS delivery row:
 * like Postfix's smtp-sink (which offers no STARTTLS) it answers every
 * command with success and forgets every message, but it offers and does
 * STARTTLS (on the project's lib/tls layer), so that refmta's queue runner
 * and Postfix's smtp client can be timed delivering over TLS to the same
 * discarding server.
 *
 *   smtp_tls_sink HOST:PORT SECS CERT KEY [BACKEND]
 *
 * Listens on HOST:PORT (loopback is the caller's business) with 32
 * preforked workers, each serving one connection at a time, for SECS
 * seconds, then exits; each connection is bounded by a 10 s idle timeout.  EHLO offers PIPELINING
 * and STARTTLS (again after STARTTLS, without it); MAIL, RCPT, RSET, NOOP:
 * 250; DATA: 354, the message to its dot, 250; QUIT: 221; anything else:
 * 250 as well.  Replies are flushed when no more input is buffered, so a
 * pipelined group gets its replies in one write.  Prints "listening" on
 * stdout once ready.  Exit 0 after SECS, 2 on usage or set-up errors.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bio.h"
#include "net.h"
#include "tls.h"

#define WORKERS 32

static int
reply(struct bio *io, const char *text)
{
	struct err e = { 0 };

	if (bio_write(io, text, strlen(text), &e) != BIO_OK)
		return -1;
	/* Flush at the end of a pipelined group (RFC 2920 3.2). */
	return bio_buffered(io) == 0 && bio_flush(io, &e) != BIO_OK ? -1 : 0;
}

/* One connection, in its own process. */
static void
serve(int fd, struct tls_ctx *ctx)
{
	struct bio io;
	struct tls_conn *conn = NULL;
	struct err e = { 0 };
	char line[1100];
	size_t len;
	int too_long;

	if (net_set_timeouts(fd, 10000) != 0) {
		close(fd);
		return;
	}
	/* No Nagle: a sink must not add the client's delayed ACK to each reply. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	bio_init(&io, fd);
	if (reply(&io, "220 smtp_tls_sink ESMTP\r\n") != 0)
		goto out;
	while (bio_read_line(&io, line, sizeof line - 1, &len, &too_long, &e) == BIO_OK) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			if (reply(&io, conn == NULL
			                       ? "250-smtp_tls_sink\r\n250-PIPELINING\r\n250 "
			                         "STARTTLS\r\n"
			                       : "250-smtp_tls_sink\r\n250 PIPELINING\r\n") != 0)
				break;
		} else if (strncasecmp(line, "STARTTLS", 8) == 0 && conn == NULL) {
			struct err te = { 0 };
			if (reply(&io, "220 2.0.0 go ahead\r\n") != 0 ||
			    bio_flush(&io, &te) != BIO_OK)
				break;
			conn = tls_conn_new(ctx, fd, NULL, &te);
			if (conn == NULL || tls_conn_handshake(conn, &te) != TLS_OK)
				break;
			bio_use_tls(&io, conn);
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			struct err fe = { 0 };
			if (reply(&io, "354 go ahead\r\n") != 0 || bio_flush(&io, &fe) != BIO_OK)
				break;
			while (bio_read_line(&io, line, sizeof line - 1, &len, &too_long, &e) ==
			               BIO_OK &&
			       strcmp(line, ".\r\n") != 0)
				;
			if (reply(&io, "250 2.0.0 Ok: discarded\r\n") != 0)
				break;
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			struct err fe = { 0 };
			(void)reply(&io, "221 2.0.0 Bye\r\n");
			(void)bio_flush(&io, &fe);
			break;
		} else if (reply(&io, "250 2.0.0 Ok\r\n") != 0) {
			break;
		}
	}
out:
	if (conn != NULL)
		tls_conn_shutdown(conn);
	tls_conn_free(conn);
	close(fd);
}

int
main(int argc, char **argv)
{
	struct tls_config cfg = { .role = TLS_ROLE_SERVER, .ncerts = 1 };
	const struct tls_backend *be;
	struct net_addr addr;
	struct tls_ctx *ctx;
	struct err e = { 0 };
	unsigned long long end;
	int lfd;

	if (argc < 5 || argc > 6 || net_parse_addr_port(argv[1], &addr) != 0 || atol(argv[2]) < 1 ||
	    atol(argv[2]) > 3600) {
		fprintf(stderr, "usage: smtp_tls_sink HOST:PORT SECS CERT KEY [openssl|gnutls]\n");
		return 2;
	}
	be = tls_backend_by_name(argc > 5 ? argv[5] : "openssl");
	cfg.certs[0] = (struct tls_keypair){ .cert_file = argv[3], .key_file = argv[4] };
	if (be == NULL || (ctx = tls_ctx_new(be, &cfg, &e)) == NULL) {
		fprintf(stderr, "smtp_tls_sink: TLS context: %s\n",
		        be ? e.text : "unknown backend");
		return 2;
	}
	lfd = socket(addr.ss.ss_family, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) != 0 ||
	    bind(lfd, (struct sockaddr *)&addr.ss, addr.len) != 0 || listen(lfd, 1024) != 0) {
		fprintf(stderr, "smtp_tls_sink: listen on %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* accept() wakes at least once a second to see the end. */
	if (net_set_timeouts(lfd, 1000) != 0)
		return 2;
	end = bio_now_ms() + (unsigned long long)atol(argv[2]) * 1000;
	printf("listening\n");
	fflush(stdout);
	/* Preforked workers, each taking connections one after another: a
	 * process per connection would pay OpenSSL 3's first-use set-up
	 * (algorithm fetches, tens of ms) on every handshake. */
	for (int i = 0; i < WORKERS; i++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid > 0)
			continue;
		while (bio_now_ms() < end) {
			int fd = accept(lfd, NULL, NULL);
			if (fd >= 0)
				serve(fd, ctx);
		}
		_exit(0);
	}
	while (wait(NULL) > 0 || errno == EINTR)
		;
	close(lfd);
	tls_ctx_free(ctx);
	return 0;
}
