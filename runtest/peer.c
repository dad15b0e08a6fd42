/*
 * peer.c - the scripted SMTP server (peer.h).  Bounded in every way: at
 * most PEER_MAX_SESSIONS connections, REPLY_TIMEOUT per read, and it ends
 * with the run's process group whatever happens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "net.h"
#include "peer.h"
#include "tls.h"

#define PEER_MAX_SESSIONS 20
#define PEER_READ_TIMEOUT 10
#define PEER_STR_(x) #x
#define PEER_STR(x) PEER_STR_(x)
/* A command line longer than this is shown cut, with "(N octets, cut)". */
#define PEER_LINE_MAX 65536
/* NewSessionTickets after a TLS 1.3 handshake when the scenario does not
 * say (OpenSSL's own default, which Postfix keeps); only a backend with
 * TLS_CAP_TICKETS sends them, and they are never shown in the transcript. */
#define PEER_DEFAULT_TICKETS 2

struct peer_run {
	const struct peer_spec *spec;
	char *(*subst)(const char *, void *);
	void *arg;
	FILE *log;
	struct tls_ctx *tls;
	struct tls_conn *conn; /* the session's TLS connection, NULL before STARTTLS */
	unsigned char *staple;
	size_t staple_len;
	int tls_on_connect;
	int session; /* 1 for the first connection, 2 for the second, ... */
};

/* The value of "KEY = value" for `key`, or NULL. */
static const char *
peer_value(const struct peer_spec *spec, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < spec->lines.n; i++) {
		const char *l = spec->lines.v[i];
		if (strncasecmp(l, key, n) == 0 && strncmp(l + n, " = ", 3) == 0)
			return l + n + 3;
	}
	return NULL;
}

/* A line for this connection: "KEY #N = ..." (N = the connection's
 * number) wins over "KEY = ...".  NULL when neither is there. */
static const char *
peer_session_value(const struct peer_run *pr, const char *key)
{
	char numbered[96];
	const char *v;

	snprintf(numbered, sizeof numbered, "%s #%d", key, pr->session);
	v = peer_value(pr->spec, numbered);
	return v != NULL ? v : peer_value(pr->spec, key);
}

/* The rule for a command verb ("on EHLO = ...", "on RCPT #1 = ..."), or
 * NULL for the default. */
static const char *
peer_rule(const struct peer_run *pr, const char *verb)
{
	char key[64];

	snprintf(key, sizeof key, "on %s", verb);
	return peer_session_value(pr, key);
}

static const char *
default_reply(const char *verb)
{
	if (strcasecmp(verb, "EHLO") == 0)
		return "250-peer.example.test\\n250-PIPELINING\\n250-8BITMIME\\n250 STARTTLS";
	if (strcasecmp(verb, "HELO") == 0)
		return "250 peer.example.test";
	if (strcasecmp(verb, "DATA") == 0)
		return "354 go ahead";
	if (strcasecmp(verb, ".") == 0)
		return "250 2.0.0 accepted";
	if (strcasecmp(verb, "QUIT") == 0)
		return "221 2.0.0 bye";
	if (strcasecmp(verb, "STARTTLS") == 0)
		return "220 2.0.0 go ahead";
	return "250 2.0.0 OK";
}

static void
peer_log(struct peer_run *pr, const char *dir, const char *text)
{
	fprintf(pr->log, "%s %s\n", dir, text);
	fflush(pr->log);
}

/* "ticket REPLY" or "key-update REPLY": the word is a TLS 1.3 post-handshake
 * message sent before the reply (RFC 8446 4.6.1, 4.6.3); *rule moves past
 * it.  0 to go on, -1 when it could not be sent (the connection is done). */
static int
peer_post_handshake(struct peer_run *pr, const char **rule)
{
	struct err e = { 0 };
	int ticket = strncmp(*rule, "ticket ", 7) == 0;
	char note[512];

	if (!ticket && strncmp(*rule, "key-update ", 11) != 0)
		return 0;
	*rule += ticket ? 7 : 11;
	if (pr->conn == NULL) {
		peer_log(pr, "-",
		         ticket ? "(no session ticket: not in TLS)"
		                : "(no key update: not in TLS)");
		return 0;
	}
	if ((ticket ? tls_conn_send_ticket(pr->conn, &e) : tls_conn_key_update(pr->conn, &e)) !=
	    TLS_OK) {
		snprintf(note, sizeof note, "(%s)", e.text);
		peer_log(pr, "-", note);
		return -1;
	}
	peer_log(pr, "-",
	         ticket ? "(sends a session ticket)" : "(sends a key update, update requested)");
	return 0;
}

/*
 * Act on a rule: "[delay MS] REPLY" (REPLY may hold \n between lines) or
 * "drop".  Every line is logged and sent whole, however long: the P: lines
 * must show exactly what went on the wire.  Returns 0 to go on, 1 when the
 * connection was dropped or the reply could not be sent.
 */
static int
peer_act(struct peer_run *pr, struct bio *io, const char *rule)
{
	struct err e = { 0 };

	if (strncmp(rule, "delay ", 6) == 0) {
		long ms = strtol(rule + 6, (char **)&rule, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		char note[64];
		snprintf(note, sizeof note, "(waits %ld ms)", ms);
		peer_log(pr, "-", note);
		nanosleep(&ts, NULL);
		while (*rule == ' ')
			rule++;
	}
	if (peer_post_handshake(pr, &rule) != 0)
		return 1;
	if (strcmp(rule, "drop") == 0) {
		peer_log(pr, ">", "(drops the connection)");
		return 1;
	}
	/* "\n" in a rule separates the lines of a multi-line reply. */
	for (const char *p = rule;;) {
		const char *nl = strstr(p, "\\n");
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		fprintf(pr->log, "> %.*s\n", (int)len, p);
		fflush(pr->log);
		if (bio_write(io, p, len, &e) != BIO_OK || bio_write(io, "\r\n", 2, &e) != BIO_OK) {
			peer_log(pr, "-", "(the reply could not be sent)");
			return 1;
		}
		if (nl == NULL)
			break;
		p = nl + 2;
	}
	return bio_flush(io, &e) == BIO_OK ? 0 : 1;
}

/* Does a MAIL command carry the PRDR parameter (draft-hall-prdr-00)? */
static int
peer_mail_prdr(const char *line)
{
	const char *p = strchr(line, '>');

	for (p = p != NULL ? p + 1 : line; (p = strcasestr(p, " PRDR")) != NULL; p += 5)
		if (p[5] == '\0' || p[5] == ' ')
			return 1;
	return 0;
}

/* The "-" line for a read that ended the session: a client that closed is
 * not the same event as a peer that stopped waiting for one (a client that
 * keeps an idle connection open, or waits for a reply never scripted). */
static const char *
peer_end_text(enum bio_status st)
{
	return st == BIO_TIMEOUT
	               ? "(no command for " PEER_STR(PEER_READ_TIMEOUT) " s: the peer closes)"
	               : "(the client closed)";
}

static int peer_tickets(const struct peer_spec *spec);

/* After a handshake: the group agreed on when "tls-groups" is set, and
 * the tickets sent with it when "tickets = N" says so (the defaults are
 * not shown, so transcripts do not depend on them).  Only TLS 1.3 has
 * tickets (RFC 8446 4.6.1). */
static void
peer_log_tickets(struct peer_run *pr, const struct tls_conn *conn)
{
	char note[64];
	int n = peer_tickets(pr->spec);

	/* The group agreed on, when the scenario chose the groups. */
	if (peer_value(pr->spec, "tls-groups") != NULL) {
		snprintf(note, sizeof note, "(key exchange group %s)",
		         tls_conn_info(conn)->group[0] ? tls_conn_info(conn)->group : "other");
		peer_log(pr, "-", note);
	}

	if (n < 0)
		return;
	if (strcmp(tls_conn_info(conn)->version, "TLSv1.3") != 0)
		n = 0;
	snprintf(note, sizeof note, "(%d session ticket%s after the handshake)", n,
	         n == 1 ? "" : "s");
	peer_log(pr, "-", note);
}

static void
peer_session(struct peer_run *pr, int fd)
{
	struct bio io;
	struct tls_conn *conn = NULL;
	static char line[PEER_LINE_MAX]; /* a peer is its own process, one session at a time */
	char marked_chunk_text[64];
	struct err e = { 0 };
	const char *greeting = peer_session_value(pr, "greeting");

	if (net_set_timeouts(fd, PEER_READ_TIMEOUT * 1000u) != 0)
		peer_log(pr, "-", "(cannot set socket timeouts)");
	bio_init(&io, fd);
	peer_log(pr, "-", "(connection)");
	if (pr->tls_on_connect && pr->tls != NULL) {
		/* RFC 8314 3.3: TLS first, the greeting inside it. */
		struct tls_conn_opts opts = { .staple = pr->staple, .staple_len = pr->staple_len };
		conn = tls_conn_new(pr->tls, fd, &opts, &e);
		if (conn == NULL || tls_conn_handshake(conn, &e) != TLS_OK) {
			peer_log(pr, "-", "(TLS handshake failed)");
			goto out;
		}
		snprintf(line, sizeof line, "(TLS on connect: %s %s, sni %s)",
		         tls_conn_info(conn)->version, tls_conn_info(conn)->cipher,
		         tls_conn_info(conn)->sni[0] ? tls_conn_info(conn)->sni : "none");
		peer_log(pr, "-", line);
		peer_log_tickets(pr, conn);
		bio_use_tls(&io, conn);
		pr->conn = conn;
	}
	if (peer_act(pr, &io, greeting ? greeting : "220 peer.example.test ESMTP scripted peer"))
		goto out;
	for (int early = 0, prdr = 0;;) {
		size_t len;
		int too_long, last = 0;
		char verb[32];
		const char *rule = NULL;

		enum bio_status st = bio_read_line(&io, line, sizeof line - 1, &len, &too_long, &e);
		if (st != BIO_OK) {
			peer_log(pr, "-", peer_end_text(st));
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		/* A command that was already here before the reply to the one
		 * before it was sent came in a pipelined group (RFC 2920). */
		fprintf(pr->log, "< %s%s%s\n", line, too_long ? "  (longer: cut by the peer)" : "",
		        early ? "  (pipelined)" : "");
		fflush(pr->log);
		early = bio_buffered(&io) > 0;
		snprintf(verb, sizeof verb, "%.*s", (int)strcspn(line, " :"), line);
		if (strcasecmp(verb, "BDAT") == 0) {
			/* RFC 3030: "BDAT SIZE [LAST]", then SIZE octets of message. */
			unsigned long long size = 0;
			char *chunk = NULL;
			int ok = sscanf(line + 4, "%llu", &size) == 1 &&
			         size <= 64u * 1024 * 1024 &&
			         (chunk = malloc(size ? size : 1)) != NULL &&
			         bio_read_exact(&io, chunk, size, &e) == BIO_OK;
			free(chunk);
			if (!ok) {
				peer_log(pr, "-", "(bad or short BDAT chunk)");
				break;
			}
			snprintf(marked_chunk_text, sizeof marked_chunk_text,
			         "(chunk, %llu octets)", size);
			peer_log(pr, "<", marked_chunk_text);
			early = bio_buffered(&io) > 0;
			last = strcasestr(line + 4, " LAST") != NULL;
		}
		if (strcasecmp(verb, "MAIL") == 0)
			prdr = peer_mail_prdr(line);
		if (strcasecmp(verb, "RSET") == 0)
			prdr = 0;
		/* The end of a PRDR message: "on PRDR" (the 353, the
		 * per-recipient replies and the overall reply, as scripted),
		 * else "on BDAT LAST", else "on BDAT". */
		if (last && prdr)
			rule = peer_rule(pr, "PRDR");
		if (last && rule == NULL)
			rule = peer_rule(pr, "BDAT LAST");
		if (last)
			prdr = 0;
		if (rule == NULL)
			rule = peer_rule(pr, verb);
		if (peer_act(pr, &io, rule ? rule : default_reply(verb)))
			break;
		if (strcasecmp(verb, "QUIT") == 0)
			break;
		if (strcasecmp(verb, "DATA") == 0 && (rule == NULL || rule[0] == '3')) {
			/* The message, up to CRLF.CRLF; only its size is recorded. */
			size_t octets = 0;
			for (;;) {
				if (bio_read_line(&io, line, sizeof line - 1, &len, &too_long,
				                  &e) != BIO_OK)
					goto out;
				if (strcmp(line, ".\r\n") == 0)
					break;
				octets += len;
			}
			snprintf(line, sizeof line, "(message, %zu octets)", octets);
			peer_log(pr, "<", line);
			rule = prdr ? peer_rule(pr, "PRDR") : NULL;
			prdr = 0;
			if (rule == NULL)
				rule = peer_rule(pr, ".");
			if (peer_act(pr, &io, rule ? rule : default_reply(".")))
				break;
		}
		if (strcasecmp(verb, "STARTTLS") == 0 && pr->tls != NULL &&
		    (rule == NULL || rule[0] == '2')) {
			struct tls_conn_opts opts = { .staple = pr->staple,
				                      .staple_len = pr->staple_len };
			bio_discard_input(&io);
			conn = tls_conn_new(pr->tls, fd, &opts, &e);
			if (conn == NULL || tls_conn_handshake(conn, &e) != TLS_OK) {
				peer_log(pr, "-", "(TLS handshake failed)");
				break;
			}
			snprintf(line, sizeof line, "(TLS %s %s, sni %s, staple %s)",
			         tls_conn_info(conn)->version, tls_conn_info(conn)->cipher,
			         tls_conn_info(conn)->sni[0] ? tls_conn_info(conn)->sni : "none",
			         tls_conn_info(conn)->staple_sent ? "sent" : "not sent");
			peer_log(pr, "-", line);
			peer_log_tickets(pr, conn);
			bio_use_tls(&io, conn);
			pr->conn = conn;
		}
	}
out:
	if (conn != NULL)
		tls_conn_shutdown(conn);
	tls_conn_free(conn);
	pr->conn = NULL;
}

static int
load_file(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (*out = malloc((size_t)n)) == NULL || fread(*out, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return -1;
	}
	*len = (size_t)n;
	fclose(f);
	return 0;
}

/* The explicit "tickets = N" (-1 without one). */
static int
peer_tickets(const struct peer_spec *spec)
{
	const char *v = peer_value(spec, "tickets");

	return v != NULL ? atoi(v) : -1;
}

/*
 * "tickets = N" (default PEER_DEFAULT_TICKETS where the backend can send
 * them, as real servers do), "tls-version = 1.2|1.3" and "tls-groups =
 * NAME..." into `cfg` (which keeps pointers into `spec`).
 */
static void
peer_tls_knobs(const struct peer_spec *spec, const struct tls_backend *be, struct tls_config *cfg)
{
	const char *version = peer_value(spec, "tls-version");
	int tickets = peer_tickets(spec);

	cfg->groups = peer_value(spec, "tls-groups");

	if (tickets >= 0)
		cfg->tls13_tickets = (unsigned)tickets;
	else if (tls_backend_caps(be) & TLS_CAP_TICKETS)
		cfg->tls13_tickets = PEER_DEFAULT_TICKETS;
	if (version != NULL && strcmp(version, "1.2") == 0)
		cfg->min_version = cfg->max_version = TLS_VERSION_1_2;
	else if (version != NULL && strcmp(version, "1.3") == 0)
		cfg->min_version = cfg->max_version = TLS_VERSION_1_3;
}

/* Does any line ask for what needs TLS_CAP_TICKETS: "tickets = N" with N
 * above 0, or a rule "[delay MS] ticket REPLY"? */
static int
peer_needs_tickets(const struct peer_spec *spec)
{
	if (peer_tickets(spec) > 0)
		return 1;
	for (size_t i = 0; i < spec->lines.n; i++) {
		const char *l = spec->lines.v[i], *eq = strstr(l, " = ");
		if (strncmp(l, "on ", 3) != 0 && strncmp(l, "greeting", 8) != 0)
			continue;
		if (eq == NULL)
			continue;
		eq += 3;
		if (strncmp(eq, "delay ", 6) == 0) {
			eq += 6 + strspn(eq + 6, "0123456789");
			eq += strspn(eq, " ");
		}
		if (strncmp(eq, "ticket ", 7) == 0)
			return 1;
	}
	return 0;
}

const char *
peer_backend(const struct peer_spec *spec, const char *preferred, struct err *e)
{
	static const char *const names[] = { "openssl", "gnutls" };

	if (!peer_needs_tickets(spec))
		return preferred;
	if (tls_backend_caps(tls_backend_by_name(preferred)) & TLS_CAP_TICKETS)
		return preferred;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (tls_backend_caps(tls_backend_by_name(names[i])) & TLS_CAP_TICKETS)
			return names[i];
	err_set(e, 1, "peer %s sends session tickets, and no TLS backend can (TLS_CAP_TICKETS)",
	        spec->name);
	return NULL;
}

static void __attribute__((noreturn)) peer_main(struct peer_run *pr, int lfd, const char *backend)
{
	const char *tls = peer_value(pr->spec, "tls");
	const char *staple = peer_value(pr->spec, "staple");
	const char *on_connect = peer_value(pr->spec, "tls-on-connect");
	struct err e = { 0 };

	pr->tls_on_connect = on_connect != NULL && strcmp(on_connect, "yes") == 0;

	if (tls != NULL) {
		char *paths = pr->subst(tls, pr->arg);
		char cert[2][2048] = { "", "" }, key[2][2048] = { "", "" };
		const struct tls_backend *be = tls_backend_by_name(backend);
		struct tls_config cfg = { .role = TLS_ROLE_SERVER, .ncerts = 1 };
		/* One chain and key, or two (an RSA and an ECDSA one: the
		 * backend picks by the client's signature algorithms). */
		if (sscanf(paths ? paths : "", "%2047s %2047s %2047s %2047s", cert[0], key[0],
		           cert[1], key[1]) == 4)
			cfg.ncerts = 2;
		for (size_t i = 0; i < cfg.ncerts; i++) {
			cfg.certs[i].cert_file = cert[i];
			cfg.certs[i].key_file = key[i];
		}
		peer_tls_knobs(pr->spec, be, &cfg);
		cfg.keylog_file = getenv("SSLKEYLOGFILE"); /* runtest --keylog */
		pr->tls = tls_ctx_new(be, &cfg, &e);
		if (pr->tls == NULL)
			peer_log(pr, "-", e.text);
		free(paths);
	}
	if (staple != NULL) {
		char *path = pr->subst(staple, pr->arg);
		if (path == NULL || load_file(path, &pr->staple, &pr->staple_len) != 0)
			peer_log(pr, "-", "(cannot read the staple file)");
		free(path);
	}
	for (int i = 0; i < PEER_MAX_SESSIONS; i++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			break;
		pr->session = i + 1;
		peer_session(pr, fd);
		close(fd);
	}
	_exit(0);
}

int
peer_listen(const char *address, unsigned port, int *fd, unsigned *bound, struct err *e)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t sl = sizeof sa;
	int lfd;

	*fd = -1;
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		err_set(e, 1, "peer address %s: not an IPv4 address", address);
		return -1;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A given port may still have connections in TIME_WAIT from a run
	 * before; that is no reason to refuse it.  A port someone listens on
	 * is still refused (Linux: SO_REUSEADDR never allows two listeners). */
	if (lfd >= 0 && port != 0)
		(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
		int saved = errno;
		err_set(e, saved == EADDRINUSE ? PEER_ADDR_IN_USE : 1, "cannot listen on %s:%u: %s",
		        address, port, strerror(saved));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	*fd = lfd;
	*bound = ntohs(sa.sin_port);
	return 0;
}

int
peer_start(struct peer *p, const char *backend, const char *workdir,
           char *(*subst)(const char *, void *), void *arg, struct err *e)
{
	snprintf(p->logfile, sizeof p->logfile, "%s/peer-%s.log", workdir, p->spec->name);
	fflush(NULL);
	p->pid = fork();
	if (p->pid == 0) {
		struct peer_run pr = { .spec = p->spec, .subst = subst, .arg = arg };
		pr.log = fopen(p->logfile, "w");
		if (pr.log == NULL)
			_exit(1);
		signal(SIGTERM, SIG_DFL);
		peer_main(&pr, p->lfd, backend);
	}
	close(p->lfd);
	p->lfd = -1;
	if (p->pid < 0) {
		err_set(e, 1, "peer %s: fork: %s", p->spec->name, strerror(errno));
		return -1;
	}
	return 0;
}

void
peer_stop(struct peer *p)
{
	int status;

	if (p->lfd >= 0) {
		close(p->lfd);
		p->lfd = -1;
	}
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGTERM);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
}
