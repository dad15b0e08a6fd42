/*
 * tls_pair.h - loopback handshakes for the TLS unit tests (tls_test.c,
 * tls_verdict_test.c): the fixture PKI (the one `make` minted, $REFMTA_PKI,
 * or a fresh one), and one handshake over a socketpair whose forked child
 * plays the server and reports its own view of the connection over the
 * encrypted channel.  Header-only, like testutil.h, so the Makefile's
 * one-file-per-test rule stays as it is; include after <cmocka.h>.
 */
#ifndef REFMTA_TLS_PAIR_H
#define REFMTA_TLS_PAIR_H

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
#include "tls.h"

static char pki_dir[512];
static char tmp_dir[512]; /* non-empty when we minted our own */

static const struct tls_backend *const backends[] = { &tls_backend_openssl, &tls_backend_gnutls };
#define NBACKENDS 2

/* ---- fixtures --------------------------------------------------------------- */

static inline const char *
pki(const char *name)
{
	static char paths[16][600];
	static unsigned next;
	char *p = paths[next++ % 16];

	snprintf(p, sizeof paths[0], "%s/%s", pki_dir, name);
	return p;
}

static inline unsigned char *
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
	const char *server_staple; /* file in the PKI dir, or NULL */
	const char
	        *server_chain_staple; /* file for chain depth 1 (TLS_CAP_STAPLE_CHAIN), or NULL */
	const char *client_cert;      /* stem, or NULL */
	const char *client_ca;        /* file, or NULL for no verification */
	const char *crl;              /* file, or NULL */
	const char *sni;
	const char *sigalgs;
	int request_staple;
	enum tls_version version;      /* pin both ends to this version; 0 = default range */
	const char *keylog;            /* client keylog path, or NULL */
	unsigned server_tickets;       /* TLS 1.3 NewSessionTickets after the handshake */
	int server_ticket_between;     /* one more ticket in the middle of the report */
	int server_key_update_between; /* a KeyUpdate (update_requested) there instead */
	const char *server_groups, *client_groups; /* tls_config.groups of each end, or NULL */
	const struct tls_tlsa *tlsa;               /* client: DANE records (dane_test.c) */
	size_t ntlsa;
};

/* What the server saw, as the child reports it over the TLS channel. */
struct server_view {
	char version[16], cipher[80], sni[256], local_key_type[16], peer_key_type[16];
	char verify[32];
	int staple_requested, staple_sent, chain_staples_sent;
};

struct pair_result {
	struct tls_conn *client; /* caller frees (with its ctx) */
	struct tls_ctx *client_ctx;
	struct server_view server;
};

static inline void
fill_keypair(struct tls_keypair *kp, const char *stem)
{
	char name[128];

	snprintf(name, sizeof name, "%s.pem", stem);
	kp->cert_file = strdup(pki(name));
	snprintf(name, sizeof name, "%s.key", stem);
	kp->key_file = strdup(pki(name));
}

static inline void
free_keypairs(struct tls_config *cfg)
{
	for (size_t i = 0; i < cfg->ncerts; i++) {
		free((char *)cfg->certs[i].cert_file);
		free((char *)cfg->certs[i].key_file);
	}
}

static inline void
set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 10 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* The server's staples by depth: [0] the leaf's, [1] the intermediate's. */
struct pair_staples {
	unsigned char *der[2];
	size_t len[2];
};

static inline void
pair_staple_for(void *arg, const struct tls_staple_query *q, const unsigned char **staple,
                size_t *len)
{
	const struct pair_staples *ps = arg;

	if (q->depth < 2) {
		*staple = ps->der[q->depth];
		*len = ps->len[q->depth];
	}
}

/* The server child: handshake, report its view in one line, wait for close. */
static inline void __attribute__((noreturn))
serve_one(const struct tls_backend *be, const struct pair_spec *spec, int fd)
{
	struct tls_config cfg = { .role = TLS_ROLE_SERVER };
	struct tls_conn_opts opts = { 0 };
	unsigned char *staple = NULL;
	struct pair_staples chain = { { NULL, NULL }, { 0, 0 } };
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
	cfg.groups = spec->server_groups;
	cfg.tls13_tickets = spec->server_tickets;
	if (spec->server_staple != NULL) {
		opts.staple = staple = read_file(pki(spec->server_staple), &opts.staple_len);
		if (staple == NULL)
			_exit(3);
	}
	if (spec->server_chain_staple != NULL) { /* per depth, through staple_for */
		chain.der[0] = staple;
		chain.len[0] = opts.staple_len;
		chain.der[1] = read_file(pki(spec->server_chain_staple), &chain.len[1]);
		if (chain.der[1] == NULL)
			_exit(3);
		opts.staple_for = pair_staple_for;
		opts.staple_arg = &chain;
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
		snprintf(line, sizeof line, "%s|%s|%s|%s|%s|%s|%d|%d|%d\n", i->version, i->cipher,
		         i->sni[0] ? i->sni : "-", i->local_key_type[0] ? i->local_key_type : "-",
		         i->peer_key_type[0] ? i->peer_key_type : "-", tls_verify_word(i->verify),
		         i->staple_requested, i->staple_sent, i->chain_staples_sent);
		size_t half =
		        spec->server_ticket_between || spec->server_key_update_between ? 8 : 0;

		/* A ticket or a key update between two records, when asked. */
		if (half > 0 &&
		    (tls_conn_write(c, line, half, &e) != (ssize_t)half ||
		     (spec->server_key_update_between ? tls_conn_key_update(c, &e)
		                                      : tls_conn_send_ticket(c, &e)) != TLS_OK)) {
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
	free(chain.der[1]);
	free_keypairs(&cfg);
	close(fd);
	_exit(status);
}

static inline int
parse_server_view(char *line, struct server_view *v)
{
	char *f[9];
	size_t n = 0;
	char *save = NULL;

	line[strcspn(line, "\n")] = '\0';
	for (char *t = strtok_r(line, "|", &save); t != NULL && n < 9;
	     t = strtok_r(NULL, "|", &save))
		f[n++] = t;
	if (n != 9)
		return -1;
	snprintf(v->version, sizeof v->version, "%s", f[0]);
	snprintf(v->cipher, sizeof v->cipher, "%s", f[1]);
	snprintf(v->sni, sizeof v->sni, "%s", strcmp(f[2], "-") ? f[2] : "");
	snprintf(v->local_key_type, sizeof v->local_key_type, "%s", strcmp(f[3], "-") ? f[3] : "");
	snprintf(v->peer_key_type, sizeof v->peer_key_type, "%s", strcmp(f[4], "-") ? f[4] : "");
	snprintf(v->verify, sizeof v->verify, "%s", f[5]);
	v->staple_requested = atoi(f[6]);
	v->staple_sent = atoi(f[7]);
	v->chain_staples_sent = atoi(f[8]);
	return 0;
}

/*
 * One handshake: `sbe` serves, `cbe` connects.  Returns 0 with the client's
 * connection (still open) and the server's view, or -1 with a message.
 */
static inline int
run_pair(const struct tls_backend *sbe, const struct tls_backend *cbe, const struct pair_spec *spec,
         struct pair_result *out, char *why, size_t whylen)
{
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	struct tls_conn_opts opts = { .sni = spec->sni,
		                      .request_staple = spec->request_staple,
		                      .tlsa = spec->tlsa,
		                      .ntlsa = spec->ntlsa };
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
	cfg.groups = spec->client_groups;
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
			snprintf(why, whylen, "reading the server's report: %s",
			         n == 0 ? "closed" : e.text);
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

static inline void
free_result(struct pair_result *r)
{
	tls_conn_free(r->client);
	tls_ctx_free(r->client_ctx);
}

/* Run and insist that it worked; the pairing is named in any failure. */
static inline void
must_pair(const struct tls_backend *sbe, const struct tls_backend *cbe,
          const struct pair_spec *spec, struct pair_result *r)
{
	char why[600] = "";

	if (run_pair(sbe, cbe, spec, r, why, sizeof why) != 0)
		fail_msg("server %s, client %s: %s", sbe->name, cbe->name, why);
}

/* ---- set-up ------------------------------------------------------------------------ */

static inline int
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
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/tls_tests.XXXXXX");
	if (mkdtemp(tmp_dir) == NULL)
		return -1;
	snprintf(pki_dir, sizeof pki_dir, "%s/pki", tmp_dir);
	if (pki_mint(pki_dir, time(NULL), &e) != 0) {
		fprintf(stderr, "tls tests: cannot mint the PKI: %s\n", e.text);
		return -1;
	}
	return 0;
}

static inline void
cleanup_tmp(void)
{
	char cmd[700];

	if (tmp_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "tls tests: could not remove %s\n", tmp_dir);
}

#endif
