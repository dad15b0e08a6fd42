/*
 * tls_test.c - loopback handshakes through lib/tls.h on every pairing of
 * backends (OpenSSL and GnuTLS, as client and as server), and the promise
 * that both report the same facts in the same canonical words.
 *
 * It also pins the capability bits and the shared verdict code
 * (lib/tls_verdict.c) on both backends.
 *
 * Each handshake runs over a socketpair: a forked child plays the server,
 * reports its own view of the connection over the encrypted channel, and the
 * parent (the client) checks it against its own.  The fixture PKI is the one
 * `make` minted ($REFMTA_PKI), or a fresh one in a temporary directory.
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

#include "pki.h"
/* tls_int.h, not only tls.h: the shared verdict code and the ops table are
 * tested here directly (ci/layering.txt allows this file). */
#include "tls_int.h"

static char pki_dir[512];
static char tmp_dir[512]; /* non-empty when we minted our own */

static const struct tls_backend *const backends[] = { &tls_backend_openssl, &tls_backend_gnutls };
#define NBACKENDS 2

/* ---- fixtures --------------------------------------------------------------- */

static const char *
pki(const char *name)
{
	static char paths[16][600];
	static unsigned next;
	char *p = paths[next++ % 16];

	snprintf(p, sizeof paths[0], "%s/%s", pki_dir, name);
	return p;
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* What one handshake is made of. */
struct pair_spec {
	const char *server_certs[4]; /* file stems: "mx-rsa" -> mx-rsa.pem + mx-rsa.key */
	int server_request_client_cert;
	const char *server_staple;   /* file in the PKI dir, or NULL */
	const char *client_cert;     /* stem, or NULL */
	const char *client_ca;       /* file, or NULL for no verification */
	const char *crl;             /* file, or NULL */
	const char *sni;
	const char *sigalgs;
	int request_staple;
	enum tls_version version;    /* pin both ends to this version; 0 = default range */
	const char *keylog;          /* client keylog path, or NULL */
	unsigned server_tickets;     /* TLS 1.3 NewSessionTickets after the handshake */
	int server_ticket_between;   /* one more ticket in the middle of the report */
};

/* What the server saw, as the child reports it over the TLS channel. */
struct server_view {
	char version[16], cipher[80], sni[256], local_key_type[16], peer_key_type[16];
	char verify[32];
	int staple_requested, staple_sent;
};

struct pair_result {
	struct tls_conn *client; /* caller frees (with its ctx) */
	struct tls_ctx *client_ctx;
	struct server_view server;
};

static void
fill_keypair(struct tls_keypair *kp, const char *stem)
{
	char name[128];

	snprintf(name, sizeof name, "%s.pem", stem);
	kp->cert_file = strdup(pki(name));
	snprintf(name, sizeof name, "%s.key", stem);
	kp->key_file = strdup(pki(name));
}

static void
free_keypairs(struct tls_config *cfg)
{
	for (size_t i = 0; i < cfg->ncerts; i++) {
		free((char *)cfg->certs[i].cert_file);
		free((char *)cfg->certs[i].key_file);
	}
}

static void
set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 10 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* The server child: handshake, report its view in one line, wait for close. */
static void __attribute__((noreturn))
serve_one(const struct tls_backend *be, const struct pair_spec *spec, int fd)
{
	struct tls_config cfg = { .role = TLS_ROLE_SERVER };
	struct tls_conn_opts opts = { 0 };
	unsigned char *staple = NULL;
	struct tls_ctx *ctx;
	struct tls_conn *c;
	struct err e = { 0 };
	char line[1024], buf[64];
	int status = 1;

	for (size_t i = 0; i < 4 && spec->server_certs[i] != NULL; i++)
		fill_keypair(&cfg.certs[cfg.ncerts++], spec->server_certs[i]);
	cfg.request_client_cert = spec->server_request_client_cert;
	cfg.ca_file = spec->server_request_client_cert ? pki("ca-bundle.pem") : NULL;
	cfg.min_version = cfg.max_version = spec->version;
	cfg.tls13_tickets = spec->server_tickets;
	if (spec->server_staple != NULL) {
		opts.staple = staple = read_file(pki(spec->server_staple), &opts.staple_len);
		if (staple == NULL)
			_exit(3);
	}
	set_timeouts(fd);
	ctx = tls_ctx_new(be, &cfg, &e);
	if (ctx == NULL) {
		fprintf(stderr, "server ctx: %s\n", e.text);
		_exit(3);
	}
	c = tls_conn_new(ctx, fd, &opts, &e);
	if (c != NULL && tls_conn_handshake(c, &e) == TLS_OK) {
		const struct tls_info *i = tls_conn_info(c);
		snprintf(line, sizeof line, "%s|%s|%s|%s|%s|%s|%d|%d\n", i->version, i->cipher,
		         i->sni[0] ? i->sni : "-", i->local_key_type[0] ? i->local_key_type : "-",
		         i->peer_key_type[0] ? i->peer_key_type : "-", tls_verify_word(i->verify),
		         i->staple_requested, i->staple_sent);
		size_t half = spec->server_ticket_between ? 8 : 0;

		/* A ticket between two records, when asked. */
		if (half > 0 && (tls_conn_write(c, line, half, &e) != (ssize_t)half ||
		                 tls_conn_send_ticket(c, &e) != TLS_OK)) {
			fprintf(stderr, "server: %s\n", e.text);
			_exit(4);
		}
		if (tls_conn_write(c, line + half, strlen(line + half), &e) ==
		    (ssize_t)strlen(line + half)) {
			/* Wait for the client's close so the report is never cut short. */
			while (tls_conn_read(c, buf, sizeof buf, &e) > 0)
				;
			status = 0;
		}
		tls_conn_shutdown(c);
	}
	tls_conn_free(c);
	tls_ctx_free(ctx);
	free(staple);
	free_keypairs(&cfg);
	close(fd);
	_exit(status);
}

static int
parse_server_view(char *line, struct server_view *v)
{
	char *f[8];
	size_t n = 0;
	char *save = NULL;

	line[strcspn(line, "\n")] = '\0';
	for (char *t = strtok_r(line, "|", &save); t != NULL && n < 8; t = strtok_r(NULL, "|", &save))
		f[n++] = t;
	if (n != 8)
		return -1;
	snprintf(v->version, sizeof v->version, "%s", f[0]);
	snprintf(v->cipher, sizeof v->cipher, "%s", f[1]);
	snprintf(v->sni, sizeof v->sni, "%s", strcmp(f[2], "-") ? f[2] : "");
	snprintf(v->local_key_type, sizeof v->local_key_type, "%s", strcmp(f[3], "-") ? f[3] : "");
	snprintf(v->peer_key_type, sizeof v->peer_key_type, "%s", strcmp(f[4], "-") ? f[4] : "");
	snprintf(v->verify, sizeof v->verify, "%s", f[5]);
	v->staple_requested = atoi(f[6]);
	v->staple_sent = atoi(f[7]);
	return 0;
}

/*
 * One handshake: `sbe` serves, `cbe` connects.  Returns 0 with the client's
 * connection (still open) and the server's view, or -1 with a message.
 */
static int
run_pair(const struct tls_backend *sbe, const struct tls_backend *cbe,
         const struct pair_spec *spec, struct pair_result *out, char *why, size_t whylen)
{
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	struct tls_conn_opts opts = { .sni = spec->sni, .request_staple = spec->request_staple };
	struct err e = { 0 };
	char line[1024];
	size_t got = 0;
	int sv[2], wstatus, rc = -1;
	pid_t pid;

	memset(out, 0, sizeof *out);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		snprintf(why, whylen, "socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		serve_one(sbe, spec, sv[1]);
	}
	close(sv[1]);
	set_timeouts(sv[0]);

	if (spec->client_cert != NULL)
		fill_keypair(&cfg.certs[cfg.ncerts++], spec->client_cert);
	cfg.ca_file = spec->client_ca != NULL ? pki(spec->client_ca) : NULL;
	cfg.crl_file = spec->crl != NULL ? pki(spec->crl) : NULL;
	cfg.sigalgs = spec->sigalgs;
	cfg.min_version = cfg.max_version = spec->version;
	cfg.keylog_file = spec->keylog;
	out->client_ctx = tls_ctx_new(cbe, &cfg, &e);
	if (out->client_ctx == NULL) {
		snprintf(why, whylen, "client ctx: %s", e.text);
		goto out;
	}
	out->client = tls_conn_new(out->client_ctx, sv[0], &opts, &e);
	if (out->client == NULL || tls_conn_handshake(out->client, &e) != TLS_OK) {
		snprintf(why, whylen, "client handshake: %s", e.text);
		goto out;
	}
	while (got < sizeof line - 1 && memchr(line, '\n', got) == NULL) {
		ssize_t n = tls_conn_read(out->client, line + got, sizeof line - 1 - got, &e);
		if (n <= 0) {
			snprintf(why, whylen, "reading the server's report: %s", n == 0 ? "closed" : e.text);
			goto out;
		}
		got += (size_t)n;
	}
	line[got] = '\0';
	if (parse_server_view(line, &out->server) != 0) {
		snprintf(why, whylen, "bad server report \"%s\"", line);
		goto out;
	}
	rc = 0;
out:
	if (out->client != NULL)
		tls_conn_shutdown(out->client);
	shutdown(sv[0], SHUT_RDWR);
	close(sv[0]); /* the connection never owns or closes its fd */
	if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus) ||
	    (rc == 0 && WEXITSTATUS(wstatus) != 0)) {
		if (rc == 0)
			snprintf(why, whylen, "server child failed (status 0x%x)", wstatus);
		rc = -1;
	}
	free_keypairs(&cfg);
	if (rc != 0) {
		tls_conn_free(out->client);
		tls_ctx_free(out->client_ctx);
		out->client = NULL;
		out->client_ctx = NULL;
	}
	return rc;
}

static void
free_result(struct pair_result *r)
{
	tls_conn_free(r->client);
	tls_ctx_free(r->client_ctx);
}

/* Run and insist that it worked; the pairing is named in any failure. */
static void
must_pair(const struct tls_backend *sbe, const struct tls_backend *cbe,
          const struct pair_spec *spec, struct pair_result *r)
{
	char why[600] = "";

	if (run_pair(sbe, cbe, spec, r, why, sizeof why) != 0)
		fail_msg("server %s, client %s: %s", sbe->name, cbe->name, why);
}

/* ---- facts agree on both ends, for every pairing -------------------------------- */

struct matrix_case {
	enum tls_version version;
	const char *sigalgs;      /* which certificate the client steers the server to */
	const char *want_version;
	const char *want_key;
};

/*
 * The server holds an RSA and an ECDSA certificate for one name, in the
 * order given (`ecdsa_first`), and must serve the one the client's
 * signature algorithms allow (RFC 8446 4.4.2.2, RFC 5246 7.4.2), whichever
 * is listed first (issue 12, bug 2), with SNI or without.
 */
static void
check_facts_agree(const struct tls_backend *sbe, const struct tls_backend *cbe,
                  const struct matrix_case *mc, int ecdsa_first, const char *sni)
{
	struct pair_spec spec = {
		.server_certs = { ecdsa_first ? "mx-ecdsa" : "mx-rsa", ecdsa_first ? "mx-rsa" : "mx-ecdsa" },
		.client_ca = "ca-bundle.pem",
		.sni = sni,
		.sigalgs = mc->sigalgs,
		.version = mc->version,
	};
	struct pair_result r;
	const struct tls_info *ci;
	char why[600] = "";

	if (run_pair(sbe, cbe, &spec, &r, why, sizeof why) != 0)
		fail_msg("server %s (%s first), client %s (TLS 1.%d, %s only, %s): %s", sbe->name,
		         ecdsa_first ? "ECDSA" : "RSA", cbe->name, mc->version - 10, mc->sigalgs,
		         sni != NULL ? "SNI" : "no SNI", why);
	ci = tls_conn_info(r.client);
	assert_string_equal(ci->backend, cbe->name);
	assert_string_equal(ci->version, mc->want_version);
	assert_string_equal(r.server.version, mc->want_version);
	/* The same IANA name from both libraries for the same connection. */
	assert_true(strncmp(ci->cipher, "TLS_", 4) == 0);
	assert_string_equal(ci->cipher, r.server.cipher);
	assert_string_equal(ci->peer_key_type, mc->want_key);
	assert_string_equal(r.server.local_key_type, mc->want_key);
	assert_string_equal(r.server.sni, sni != NULL ? sni : "");
	assert_string_equal(ci->sni, sni != NULL ? sni : "");
	assert_int_equal(ci->verify, TLS_VERIFY_OK);
	assert_int_equal(tls_conn_check_name(r.client, "mx.example.test"), TLS_VERIFY_OK);
	/* The chain as sent: leaf then intermediate. */
	assert_int_equal(ci->peer_chain_len, 2);
	assert_true(ci->peer_chain[0].len > 100 && ci->peer_chain[1].len > 100);
	free_result(&r);
}

static const struct matrix_case matrix_cases[] = {
	{ TLS_VERSION_1_2, "RSA", "TLSv1.2", "RSA" },
	{ TLS_VERSION_1_2, "ECDSA", "TLSv1.2", "ECDSA" },
	{ TLS_VERSION_1_3, "RSA", "TLSv1.3", "RSA" },
	{ TLS_VERSION_1_3, "ECDSA", "TLSv1.3", "ECDSA" },
};

static void
test_pairing(void **state)
{
	const int *pairing = *state; /* {server backend, client backend} */

	for (size_t i = 0; i < sizeof matrix_cases / sizeof matrix_cases[0]; i++)
		for (int ecdsa_first = 0; ecdsa_first <= 1; ecdsa_first++) {
			check_facts_agree(backends[pairing[0]], backends[pairing[1]], &matrix_cases[i],
			                  ecdsa_first, "mx.example.test");
			check_facts_agree(backends[pairing[0]], backends[pairing[1]], &matrix_cases[i],
			                  ecdsa_first, NULL);
		}
}

static const int pairings[4][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };

/* ---- everything below runs on all four pairings -------------------------------- */

#define FOR_EACH_PAIRING(s, c)                                                     \
	for (size_t s = 0; s < NBACKENDS; s++)                                     \
		for (size_t c = 0; c < NBACKENDS; c++)

static void
test_default_version_is_tls13(void **state)
{
	struct pair_spec spec = { .server_certs = { "mx-ecdsa" }, .client_ca = "ca-bundle.pem" };
	(void)state;
	FOR_EACH_PAIRING(s, c) {
		struct pair_result r;
		must_pair(backends[s], backends[c], &spec, &r);
		assert_string_equal(tls_conn_info(r.client)->version, "TLSv1.3");
		assert_string_equal(r.server.sni, ""); /* no SNI sent */
		assert_string_equal(tls_conn_info(r.client)->sni, "");
		free_result(&r);
	}
}

/* The server picks its certificate by SNI, falls back to the first name. */
static void
test_sni_selection(void **state)
{
	static const struct {
		const char *sni, *want_name;
	} cases[] = {
		{ "mail.other.test", "mail.other.test" },
		{ "mx.example.test", "mx.example.test" },
		{ "MAIL.OTHER.TEST", "mail.other.test" },
		{ NULL, "mx.example.test" },
		{ "unknown.example.test", "mx.example.test" },
	};
	(void)state;
	FOR_EACH_PAIRING(s, c) {
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			struct pair_spec spec = {
				.server_certs = { "mx-rsa", "mx-ecdsa", "other-rsa", "other-ecdsa" },
				.client_ca = "ca-bundle.pem",
				.sni = cases[i].sni,
			};
			struct pair_result r;
			must_pair(backends[s], backends[c], &spec, &r);
			if (tls_conn_check_name(r.client, cases[i].want_name) != TLS_VERIFY_OK)
				fail_msg("server %s, client %s, SNI %s: certificate is not %s (%s)",
				         backends[s]->name, backends[c]->name,
				         cases[i].sni ? cases[i].sni : "(none)", cases[i].want_name,
				         tls_verify_word(tls_conn_info(r.client)->verify));
			assert_string_equal(r.server.sni, cases[i].sni ? cases[i].sni : "");
			free_result(&r);
		}
	}
}

/* Each canonical failure, produced on purpose, in the same word everywhere. */
struct failure_case {
	const char *server_cert;
	const char *ca, *crl;
	const char *check_name;  /* run the neutral name check for this host */
	int require_staple;
	enum tls_verify want;
};

static const struct failure_case failure_cases[] = {
	{ "mx-ecdsa", "ca-bundle.pem", NULL, "mx.example.test", 0, TLS_VERIFY_OK },
	{ "unrelated", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_UNKNOWN_CA },
	{ "selfsigned", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_SELF_SIGNED },
	{ "expired", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_EXPIRED },
	{ "notyet", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_NOT_YET_VALID },
	{ "badsig", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_BAD_SIGNATURE },
	{ "revoked", "ca-bundle.pem", "crl.pem", NULL, 0, TLS_VERIFY_REVOKED },
	{ "mx-ecdsa", "ca-bundle.pem", "crl.pem", NULL, 0, TLS_VERIFY_OK },
	{ "mx-ecdsa", "ca-bundle.pem", NULL, "wrong.example.test", 0, TLS_VERIFY_NAME_MISMATCH },
	{ "mx-ecdsa", "ca-bundle.pem", NULL, NULL, 1, TLS_VERIFY_STAPLE_MISSING },
	{ "mx-ecdsa", NULL, NULL, NULL, 0, TLS_VERIFY_NOT_CHECKED },
	/* Precedence: the chain's problem is reported before the name's. */
	{ "expired", "ca-bundle.pem", NULL, "wrong.example.test", 0, TLS_VERIFY_EXPIRED },
	{ "unrelated", "ca-bundle.pem", NULL, "wrong.example.test", 0, TLS_VERIFY_UNKNOWN_CA },
};

static void
test_verify_failure(void **state)
{
	const struct failure_case *fc = *state;

	FOR_EACH_PAIRING(s, c) {
		struct pair_spec spec = {
			.server_certs = { fc->server_cert },
			.client_ca = fc->ca,
			.crl = fc->crl,
			.sni = "mx.example.test",
			.request_staple = fc->require_staple,
		};
		struct pair_result r;
		enum tls_verify got;

		must_pair(backends[s], backends[c], &spec, &r);
		if (fc->check_name != NULL)
			(void)tls_conn_check_name(r.client, fc->check_name);
		if (fc->require_staple)
			(void)tls_conn_require_staple(r.client);
		got = tls_conn_info(r.client)->verify;
		if (got != fc->want)
			fail_msg("%s served by %s, checked by %s: want %s, got %s (%s)", fc->server_cert,
			         backends[s]->name, backends[c]->name, tls_verify_word(fc->want),
			         tls_verify_word(got), tls_conn_info(r.client)->verify_detail);
		free_result(&r);
	}
}

static void
expect_unsupported(const struct err *e, const char *backend, const char *what)
{
	assert_int_equal(e->code, TLS_ERR_UNSUPPORTED);
	if (strstr(e->text, backend) == NULL || strstr(e->text, what) == NULL)
		fail_msg("want an error naming %s and %s, got \"%s\"", backend, what, e->text);
}

/*
 * RFC 8446 4.6.1: a TLS 1.3 server may send NewSessionTickets at any time
 * after the handshake, and real ones (Postfix by default) do.  Every client
 * reads on through 0, 1 and 2 tickets after the handshake and one between
 * two records (issue 12, bug 1: the GnuTLS client took the "again" GnuTLS
 * returns after processing one for a receive timeout).  Only the OpenSSL
 * backend serves tickets (TLS_CAP_TICKETS).
 */
static void
test_client_reads_past_tickets(void **state)
{
	(void)state;
	for (size_t c = 0; c < NBACKENDS; c++)
		for (unsigned tickets = 0; tickets <= 2; tickets++)
			for (int between = 0; between <= 1; between++) {
				struct pair_spec spec = {
					.server_certs = { "mx-ecdsa" }, .client_ca = "ca-bundle.pem",
					.version = TLS_VERSION_1_3, .server_tickets = tickets,
					.server_ticket_between = between,
				};
				struct pair_result r;
				char why[600] = "";

				if (run_pair(&tls_backend_openssl, backends[c], &spec, &r, why,
				             sizeof why) != 0)
					fail_msg("%s client, %u ticket(s)%s: %s", backends[c]->name,
					         tickets, between ? " + one between records" : "", why);
				assert_string_equal(r.server.version, "TLSv1.3");
				assert_string_equal(tls_conn_info(r.client)->verify_detail, "ok");
				free_result(&r);
			}
}

/* Tickets are a TLS 1.3 server's: refused on TLS 1.2, on a client, on GnuTLS. */
static void
test_ticket_refusals(void **state)
{
	struct tls_config cfg = { .role = TLS_ROLE_SERVER, .ncerts = 1, .tls13_tickets = 1 };
	struct err e = { 0 };
	(void)state;

	fill_keypair(&cfg.certs[0], "mx-rsa");
	assert_null(tls_ctx_new(&tls_backend_gnutls, &cfg, &e));
	expect_unsupported(&e, "gnutls", "session tickets");
	free_keypairs(&cfg);
	for (size_t c = 0; c < NBACKENDS; c++) {
		struct pair_spec spec = {
			.server_certs = { "mx-ecdsa" }, .version = TLS_VERSION_1_2,
			.server_ticket_between = 1,
		};
		struct pair_result r;
		char why[600] = "";

		/* The OpenSSL server child cannot send one mid-report on TLS 1.2. */
		assert_int_equal(run_pair(&tls_backend_openssl, backends[c], &spec, &r, why, sizeof why), -1);
	}
}

static void
test_client_certificate(void **state)
{
	(void)state;
	FOR_EACH_PAIRING(s, c) {
		struct pair_spec with = {
			.server_certs = { "mx-rsa" }, .server_request_client_cert = 1,
			.client_cert = "client", .client_ca = "ca-bundle.pem",
		};
		struct pair_spec without = with;
		struct pair_result r;

		without.client_cert = NULL;
		must_pair(backends[s], backends[c], &with, &r);
		assert_string_equal(r.server.verify, "ok");
		assert_string_equal(r.server.peer_key_type, "ECDSA");
		assert_string_equal(tls_conn_info(r.client)->local_key_type, "ECDSA");
		free_result(&r);

		must_pair(backends[s], backends[c], &without, &r);
		assert_string_equal(r.server.verify, "no-certificate");
		free_result(&r);
	}
}

static void
test_staple_round_trip(void **state)
{
	size_t want_len = 0;
	unsigned char *want = read_file(pki("mx-rsa.ocsp.der"), &want_len);
	(void)state;

	assert_non_null(want);
	FOR_EACH_PAIRING(s, c) {
		for (int version = 12; version <= 13; version++) {
			struct pair_spec spec = {
				.server_certs = { "mx-rsa" }, .server_staple = "mx-rsa.ocsp.der",
				.client_ca = "ca-bundle.pem", .request_staple = 1,
				.version = (enum tls_version)version,
			};
			struct pair_result r;
			const struct tls_info *ci;

			must_pair(backends[s], backends[c], &spec, &r);
			ci = tls_conn_info(r.client);
			assert_int_equal(r.server.staple_requested, 1);
			assert_int_equal(r.server.staple_sent, 1);
			assert_int_equal(ci->staple_requested, 1);
			if (ci->staple.len != want_len || memcmp(ci->staple.data, want, want_len) != 0)
				fail_msg("server %s, client %s, TLS 1.%d: staple of %zu bytes, want %zu",
				         backends[s]->name, backends[c]->name, version - 10,
				         ci->staple.len, want_len);
			assert_int_equal(tls_conn_require_staple(r.client), TLS_VERIFY_OK);
			free_result(&r);

			/*
			 * Not asked: not sent, except that a GnuTLS 3.7 client
			 * always sends status_request (docs/tls.md, "Known
			 * differences"); both ends then say so truthfully.
			 */
			spec.request_staple = 0;
			must_pair(backends[s], backends[c], &spec, &r);
			ci = tls_conn_info(r.client);
			if (backends[c] == &tls_backend_gnutls) {
				assert_int_equal(ci->staple_requested, 1);
				assert_int_equal(r.server.staple_requested, 1);
				assert_int_equal(r.server.staple_sent, 1);
				assert_int_equal(ci->staple.len, want_len);
			} else {
				assert_int_equal(ci->staple_requested, 0);
				assert_int_equal(r.server.staple_requested, 0);
				assert_int_equal(r.server.staple_sent, 0);
				assert_int_equal(ci->staple.len, 0);
			}
			free_result(&r);
		}
	}
	free(want);
}

/* Both clients see the very same chain bytes from the same server. */
static void
test_peer_chain_identical(void **state)
{
	struct pair_spec spec = { .server_certs = { "mx-ecdsa" }, .client_ca = "ca-bundle.pem" };
	struct pair_result r[NBACKENDS];
	(void)state;

	for (size_t c = 0; c < NBACKENDS; c++)
		must_pair(backends[0], backends[c], &spec, &r[c]);
	const struct tls_info *a = tls_conn_info(r[0].client), *b = tls_conn_info(r[1].client);
	assert_int_equal(a->peer_chain_len, b->peer_chain_len);
	for (size_t i = 0; i < a->peer_chain_len; i++) {
		assert_int_equal(a->peer_chain[i].len, b->peer_chain[i].len);
		assert_memory_equal(a->peer_chain[i].data, b->peer_chain[i].data, a->peer_chain[i].len);
	}
	for (size_t c = 0; c < NBACKENDS; c++)
		free_result(&r[c]);
}

static void
test_keylog(void **state)
{
	(void)state;
	for (size_t c = 0; c < NBACKENDS; c++) {
		for (int version = 12; version <= 13; version++) {
			char path[600], *text;
			size_t len = 0;
			struct pair_spec spec = {
				.server_certs = { "mx-ecdsa" }, .client_ca = "ca-bundle.pem",
				.version = (enum tls_version)version, .keylog = path,
			};
			struct pair_result r;

			snprintf(path, sizeof path, "%s/keylog-%s-%d.txt", tmp_dir[0] ? tmp_dir : "/tmp",
			         backends[c]->name, (int)getpid() + version);
			unlink(path);
			must_pair(backends[1 - c], backends[c], &spec, &r);
			free_result(&r);
			text = (char *)read_file(path, &len);
			assert_non_null(text);
			text = realloc(text, len + 1);
			text[len] = '\0';
			if (version == 12)
				assert_non_null(strstr(text, "CLIENT_RANDOM "));
			else
				assert_non_null(strstr(text, "CLIENT_TRAFFIC_SECRET_0 "));
			free(text);
			unlink(path);
		}
	}
}

static void
test_bad_config_names_the_file(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_config cfg = { .role = TLS_ROLE_SERVER, .ncerts = 1 };
		struct err e = { 0 };

		cfg.certs[0].cert_file = "/nonexistent/cert.pem";
		cfg.certs[0].key_file = "/nonexistent/cert.key";
		assert_null(tls_ctx_new(backends[b], &cfg, &e));
		assert_int_equal(e.code, TLS_ERR_CONFIG);
		assert_non_null(strstr(e.text, "/nonexistent/cert.pem"));

		/* A key that belongs to another certificate. */
		fill_keypair(&cfg.certs[0], "mx-rsa");
		free((char *)cfg.certs[0].key_file);
		cfg.certs[0].key_file = strdup(pki("mx-ecdsa.key"));
		assert_null(tls_ctx_new(backends[b], &cfg, &e));
		assert_int_equal(e.code, TLS_ERR_CONFIG);
		free_keypairs(&cfg);

		/* A server without a certificate. */
		cfg.ncerts = 0;
		assert_null(tls_ctx_new(backends[b], &cfg, &e));
	}
}

static void
test_handshake_failure_is_reported(void **state)
{
	(void)state;
	/* A peer that speaks no TLS at all: both backends fail cleanly. */
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
		struct err e = { 0 };
		struct tls_ctx *ctx = tls_ctx_new(backends[b], &cfg, &e);
		int sv[2];
		struct tls_conn *c;

		assert_non_null(ctx);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		set_timeouts(sv[0]);
		assert_int_equal(write(sv[1], "220 not TLS at all\r\n", 20), 20);
		close(sv[1]);
		c = tls_conn_new(ctx, sv[0], NULL, &e);
		assert_non_null(c);
		assert_int_equal(tls_conn_handshake(c, &e), TLS_ERR_HANDSHAKE);
		assert_true(e.text[0] != '\0');
		tls_conn_free(c);
		tls_ctx_free(ctx);
		close(sv[0]);
	}
}

static void
test_vocabulary(void **state)
{
	(void)state;
	assert_string_equal(tls_verify_word(TLS_VERIFY_OK), "ok");
	assert_string_equal(tls_verify_word(TLS_VERIFY_UNKNOWN_CA), "unknown-ca");
	assert_string_equal(tls_verify_word(TLS_VERIFY_NAME_MISMATCH), "name-mismatch");
	assert_string_equal(tls_verify_word(TLS_VERIFY_STAPLE_MISSING), "staple-missing");
	assert_string_equal(tls_verify_word((enum tls_verify)99), "invalid");
	assert_int_equal(tls_verify_summary(0), TLS_VERIFY_OK);
	assert_int_equal(tls_verify_summary(TLS_VERIFY_BIT(TLS_VERIFY_EXPIRED) |
	                                    TLS_VERIFY_BIT(TLS_VERIFY_UNKNOWN_CA)),
	                 TLS_VERIFY_UNKNOWN_CA);
	assert_ptr_equal(tls_backend_by_name("openssl"), &tls_backend_openssl);
	assert_ptr_equal(tls_backend_by_name("gnutls"), &tls_backend_gnutls);
	assert_null(tls_backend_by_name("schannel"));
	assert_non_null(strstr(tls_backend_openssl.version(), "OpenSSL"));
	assert_non_null(strstr(tls_backend_gnutls.version(), "GnuTLS"));
}

/* ---- capabilities and the shared verdict code --------------------------------------- */

/* The DER of a PKI certificate, as an OpenSSL client receives it.  Caller frees. */
static unsigned char *
leaf_der(const char *stem, size_t *len)
{
	struct pair_spec spec = { .server_certs = { stem } };
	const struct tls_info *i;
	struct pair_result r;
	unsigned char *der;

	must_pair(&tls_backend_openssl, &tls_backend_openssl, &spec, &r);
	i = tls_conn_info(r.client);
	assert_true(i->peer_chain_len > 0);
	der = malloc(i->peer_chain[0].len);
	assert_non_null(der);
	memcpy(der, i->peer_chain[0].data, i->peer_chain[0].len);
	*len = i->peer_chain[0].len;
	free_result(&r);
	return der;
}

static void
test_capabilities(void **state)
{
	static const unsigned char hash[32];
	const struct tls_tlsa rec = { 3, 1, 1, hash, sizeof hash };
	(void)state;

	for (size_t b = 0; b < NBACKENDS; b++) {
		const struct tls_backend *be = backends[b];
		unsigned caps = tls_backend_caps(be);
		struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
		struct tls_conn_opts opts = { .tlsa = &rec, .ntlsa = 1 };
		struct err e = { 0 };
		struct tls_ctx *ctx;
		char byte;
		int sv[2];

		assert_int_equal(caps, be->caps);
		/* What both backends do today (docs/tls.md, "Capabilities"). */
		assert_true(caps & TLS_CAP_STAPLE_SERVE);
		assert_true(caps & TLS_CAP_STAPLE_CHECK);
		assert_true(caps & TLS_CAP_KEYLOG);
		assert_true(caps & TLS_CAP_CLIENT_CERT);
		assert_false(caps & TLS_CAP_DANE); /* until the DANE issue lands */

		/* DANE asked of a backend without it: refused by tls_conn_new,
		 * before a byte is sent. */
		ctx = tls_ctx_new(be, &cfg, &e);
		assert_non_null(ctx);
		assert_ptr_equal(tls_ctx_backend(ctx), be);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_null(tls_conn_new(ctx, sv[0], &opts, &e));
		expect_unsupported(&e, be->name, "DANE");
		close(sv[0]);
		assert_int_equal(recv(sv[1], &byte, 1, MSG_DONTWAIT), 0);
		close(sv[1]);
		tls_ctx_free(ctx);
	}
}

/* A backend without any capability is refused what it lacks, and only that. */
static void
test_capability_refusals(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_backend bare = *backends[b];
		struct tls_config keylog = { .role = TLS_ROLE_CLIENT, .keylog_file = "/dev/null" };
		struct tls_config client_cert = { .role = TLS_ROLE_CLIENT, .ncerts = 1 };
		struct tls_config server = { .role = TLS_ROLE_SERVER, .ncerts = 1 };
		struct tls_config plain = { .role = TLS_ROLE_CLIENT };
		struct tls_conn_opts staple = { .staple = (const unsigned char *)"x", .staple_len = 1 };
		struct tls_conn_opts ask = { .request_staple = 1 };
		struct err e = { 0 };
		struct tls_ctx *ctx;
		int sv[2];

		bare.name = "bare";
		bare.caps = 0;
		fill_keypair(&client_cert.certs[0], "client");
		fill_keypair(&server.certs[0], "mx-rsa");
		server.request_client_cert = 1;

		assert_null(tls_ctx_new(&bare, &keylog, &e));
		expect_unsupported(&e, "bare", "keylog");
		assert_null(tls_ctx_new(&bare, &client_cert, &e));
		expect_unsupported(&e, "bare", "client certificates");
		assert_null(tls_ctx_new(&bare, &server, &e));
		expect_unsupported(&e, "bare", "client certificates");

		/* The context keeps the descriptor it was made with: its caps
		 * govern the connection too. */
		ctx = tls_ctx_new(&bare, &plain, &e);
		assert_non_null(ctx);
		assert_ptr_equal(tls_ctx_backend(ctx), &bare);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_null(tls_conn_new(ctx, sv[0], &ask, &e));
		expect_unsupported(&e, "bare", "requesting OCSP staples");
		assert_null(tls_conn_new(ctx, sv[0], &staple, &e));
		expect_unsupported(&e, "bare", "serving OCSP staples");
		close(sv[0]);
		close(sv[1]);
		tls_ctx_free(ctx);
		free_keypairs(&client_cert);
		free_keypairs(&server);
	}
}

/*
 * tls_conn_set_verdict() and the checks after it, on a connection head of
 * each backend (the name check decodes through that backend): one rule for
 * both, whatever the library saw.
 */
static void
test_verdict_rules(void **state)
{
	const unsigned chain = TLS_VERIFY_BIT(TLS_VERIFY_EXPIRED) | TLS_VERIFY_BIT(TLS_VERIFY_UNKNOWN_CA);
	size_t len;
	unsigned char *der = leaf_der("mx-ecdsa", &len);
	(void)state;

	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_ctx ctx = { .be = backends[b], .role = TLS_ROLE_CLIENT };
		struct tls_conn conn = { .be = backends[b], .ctx = &ctx };
		struct tls_info *i = &conn.info;

		tls_info_add_peer_cert(i, der, len);
		assert_int_equal(i->peer_chain_len, 1);

		/* No trust anchors: not-checked, whatever the library saw. */
		assert_false(tls_conn_chain_checkable(&conn));
		tls_conn_set_verdict(&conn, chain, "the library's words");
		assert_int_equal(i->verify, TLS_VERIFY_NOT_CHECKED);
		assert_int_equal(i->verify_flags, TLS_VERIFY_BIT(TLS_VERIFY_NOT_CHECKED));
		assert_string_equal(i->verify_detail, "no trust anchors configured");
		/* ... and a name check cannot outrank it. */
		assert_int_equal(tls_conn_check_name(&conn, "wrong.example.test"), TLS_VERIFY_NOT_CHECKED);

		/* Trust anchors: the problems by precedence, the library's words kept. */
		ctx.have_ca = 1;
		assert_true(tls_conn_chain_checkable(&conn));
		tls_conn_set_verdict(&conn, chain, "depth 0: expired");
		assert_int_equal(i->verify, TLS_VERIFY_UNKNOWN_CA);
		assert_int_equal(i->verify_flags, chain);
		assert_string_equal(i->verify_detail, "depth 0: expired");
		/* The chain's problem before the name's, the name's before the staple's. */
		assert_int_equal(tls_conn_check_name(&conn, "wrong.example.test"), TLS_VERIFY_UNKNOWN_CA);
		assert_true(i->verify_flags & TLS_VERIFY_BIT(TLS_VERIFY_NAME_MISMATCH));
		tls_conn_set_verdict(&conn, 0, NULL);
		assert_int_equal(i->verify, TLS_VERIFY_OK);
		assert_string_equal(i->verify_detail, "ok");
		assert_int_equal(tls_conn_check_name(&conn, "mx.example.test"), TLS_VERIFY_OK);
		assert_int_equal(tls_conn_require_staple(&conn), TLS_VERIFY_STAPLE_MISSING);
		assert_int_equal(tls_conn_check_name(&conn, "wrong.example.test"), TLS_VERIFY_NAME_MISMATCH);

		/* No chain: no-certificate, and nothing to check. */
		tls_info_clear(i);
		assert_int_equal(i->peer_chain_len, 0);
		assert_false(tls_conn_chain_checkable(&conn));
		tls_conn_set_verdict(&conn, chain, NULL);
		assert_int_equal(i->verify, TLS_VERIFY_NO_CERTIFICATE);
		assert_string_equal(i->verify_detail, "the peer sent no certificate");
		tls_info_clear(i);
	}
	free(der);
}

/* Both backends decode the same names, and record an unusable SAN alike. */
static void
test_cert_names_shared(void **state)
{
	static const char *const stems[] = { "mx-rsa", "multisan", "wildcard", "cn-only" };
	struct tls_cert_names n = { 0 };
	(void)state;

	for (size_t k = 0; k < sizeof stems / sizeof stems[0]; k++) {
		struct tls_cert_names got[NBACKENDS] = { 0 };
		size_t len;
		unsigned char *der = leaf_der(stems[k], &len);
		struct err e = { 0 };

		for (size_t b = 0; b < NBACKENDS; b++)
			if (backends[b]->ops->cert_names(der, len, &got[b], &e) != TLS_OK)
				fail_msg("%s: %s cannot decode: %s", stems[k], backends[b]->name, e.text);
		if (!tls_cert_names_equal(&got[0], &got[1]))
			fail_msg("%s: openssl and gnutls decode different names", stems[k]);
		assert_true(got[0].ndns > 0 || got[0].cn != NULL);
		for (size_t b = 0; b < NBACKENDS; b++)
			tls_cert_names_free(&got[b]);
		free(der);
	}

	/* An embedded NUL: kept as "" (matches nothing), and the certificate
	 * still has SANs, so its CN is never consulted (RFC 6125 6.4.4). */
	assert_int_equal(tls_cert_names_add_dns(&n, "a.example.test\0.evil.test", 25), 0);
	assert_int_equal(tls_cert_names_add_dns(&n, "b.example.test", 14), 0);
	n.cn = strdup("mx.example.test");
	assert_int_equal(n.ndns, 2);
	assert_string_equal(n.dns[0], "");
	assert_string_equal(n.dns[1], "b.example.test");
	assert_false(tls_cert_names_match(&n, "a.example.test"));
	assert_false(tls_cert_names_match(&n, "mx.example.test"));
	assert_true(tls_cert_names_match(&n, "b.example.test"));
	tls_cert_names_free(&n);
	tls_cert_names_free(NULL);
}

/* ---- set-up ------------------------------------------------------------------------ */

static int
setup_pki(void)
{
	const char *env = getenv("REFMTA_PKI");
	struct stat st;
	struct err e = { 0 };

	if (env != NULL && *env != '\0' && stat(env, &st) == 0) {
		snprintf(pki_dir, sizeof pki_dir, "%s", env);
		snprintf(tmp_dir, sizeof tmp_dir, "%s", "");
		return 0;
	}
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/tls_test.XXXXXX");
	if (mkdtemp(tmp_dir) == NULL)
		return -1;
	snprintf(pki_dir, sizeof pki_dir, "%s/pki", tmp_dir);
	if (pki_mint(pki_dir, time(NULL), &e) != 0) {
		fprintf(stderr, "tls_test: cannot mint the PKI: %s\n", e.text);
		return -1;
	}
	return 0;
}

static void
cleanup_tmp(void)
{
	char cmd[700];

	if (tmp_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "tls_test: could not remove %s\n", tmp_dir);
}

#define NFAIL (sizeof failure_cases / sizeof failure_cases[0])

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_vocabulary),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_capability_refusals),
		cmocka_unit_test(test_verdict_rules),
		cmocka_unit_test(test_cert_names_shared),
		cmocka_unit_test(test_default_version_is_tls13),
		cmocka_unit_test(test_sni_selection),
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_client_reads_past_tickets),
		cmocka_unit_test(test_ticket_refusals),
		cmocka_unit_test(test_staple_round_trip),
		cmocka_unit_test(test_peer_chain_identical),
		cmocka_unit_test(test_keylog),
		cmocka_unit_test(test_bad_config_names_the_file),
		cmocka_unit_test(test_handshake_failure_is_reported),
	};
	struct CMUnitTest tests[4 + NFAIL + sizeof fixed / sizeof fixed[0]];
	char names[4 + NFAIL][160];
	size_t n = 0;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (setup_pki() != 0)
		return 1;
	for (size_t p = 0; p < 4; p++) {
		snprintf(names[n], sizeof names[n],
		         "handshake %s server, %s client: TLS 1.2/1.3, RSA/ECDSA, both orders",
		         backends[pairings[p][0]]->name, backends[pairings[p][1]]->name);
		tests[n] = (struct CMUnitTest){ .name = names[n], .test_func = test_pairing,
		                                .initial_state = (void *)pairings[p] };
		n++;
	}
	for (size_t i = 0; i < NFAIL; i++) {
		const struct failure_case *fc = &failure_cases[i];
		snprintf(names[n], sizeof names[n], "verify %s%s%s%s -> %s", fc->server_cert,
		         fc->crl ? " +crl" : "", fc->check_name ? " as " : "",
		         fc->check_name ? fc->check_name : "", tls_verify_word(fc->want));
		if (fc->require_staple)
			strncat(names[n], " (staple required)", sizeof names[n] - strlen(names[n]) - 1);
		if (fc->ca == NULL)
			strncat(names[n], " (no trust anchors)", sizeof names[n] - strlen(names[n]) - 1);
		tests[n] = (struct CMUnitTest){ .name = names[n], .test_func = test_verify_failure,
		                                .initial_state = (void *)fc };
		n++;
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	failed = _cmocka_run_group_tests("tls", tests, n, NULL, NULL);
	cleanup_tmp();
	return failed;
}
