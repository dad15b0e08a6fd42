/*
 * run_client.c - the scripted client: one connection to refmta (or to a
 * peer) at a time, what it sends shown as C: lines and every reply line
 * as S:, TLS through lib/tls.h with the library refmta is not using.  The
 * steps that use the connection (send, raw, repeat, expect, starttls,
 * wait-close, close, submit) are here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net.h"
#include "html_cert.h"
#include "run_int.h"
#include "steps.h"
#include "strlist.h"
#include "strutil.h"
#include "tls.h"
#include "tls_ocsp.h"

void
run_client_close(struct run *r)
{
	struct client *c = &r->c;

	if (c->fd < 0)
		return;
	if (c->tls != NULL)
		tls_conn_shutdown(c->tls);
	tls_conn_free(c->tls);
	tls_ctx_free(c->ctx);
	c->tls = NULL;
	c->ctx = NULL;
	close(c->fd);
	c->fd = -1;
	if (c->local_port != 0)
		run_wait_session_logged(r, c->local_ip, c->local_port);
}

static int client_starttls(struct run *r, const char *arg, struct err *e);

static int
client_connect(struct run *r, const char *arg, struct err *e)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->port) };
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	char from[64] = "";

	char peer[64] = "";
	const char *tls_opts = NULL, *p;

	run_client_close(r);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	/* connect [from ADDR] [peer NAME] [tls [starttls options]] */
	if ((p = strstr(arg, "peer ")) != NULL)
		sscanf(p + 5, "%63s", peer);
	if (strncmp(arg, "tls", 3) == 0 && (arg[3] == '\0' || arg[3] == ' '))
		tls_opts = arg + 3;
	else if ((p = strstr(arg, " tls")) != NULL && (p[4] == '\0' || p[4] == ' '))
		tls_opts = p + 4;
	if (peer[0]) {
		/* The scripted client talks to a scripted peer (to test the peer itself). */
		size_t i = 0;
		while (i < r->npeers && strcmp(r->peers[i].spec->name, peer) != 0)
			i++;
		if (i == r->npeers) {
			err_set(e, 1, "connect: no peer \"%s\"", peer);
			return -1;
		}
		sa.sin_port = htons((uint16_t)r->peers[i].port);
		inet_pton(AF_INET, r->peers[i].address, &sa.sin_addr);
	}
	r->c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->c.fd < 0)
		return -1;
	if (net_set_timeouts(r->c.fd, REPLY_TIMEOUT * 1000u) != 0) {
		err_set(e, 1, "connect: socket timeouts: %s", strerror(errno));
		return -1;
	}
	if (sscanf(arg, "from %63s", from) == 1) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		if (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
		    bind(r->c.fd, (struct sockaddr *)&src, sizeof src) != 0) {
			err_set(e, 1,
			        "connect from %s: cannot bind (loopback or RFC 5737 documentation "
			        "addresses only)",
			        from);
			return -1;
		}
	}
	if (connect(r->c.fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		err_set(e, 1, "connect: %s", strerror(errno));
		return -1;
	}
	getsockname(r->c.fd, (struct sockaddr *)&me, &ml);
	r->c.local_port = ntohs(me.sin_port);
	inet_ntop(AF_INET, &me.sin_addr, r->c.local_ip, sizeof r->c.local_ip);
	bio_init(&r->c.io, r->c.fd);
	transcript_addf(&r->tr, 'C', "(connect%s%s%s%s%s)", from[0] ? " from " : "", from,
	                peer[0] ? " to peer " : "", peer, tls_opts ? ", TLS on connect" : "");
	if (peer[0])
		r->c.local_port = 0; /* no refmta log line to wait for */
	/* TLS on connect (RFC 8314 3.3): the handshake before any SMTP. */
	if (tls_opts != NULL)
		return client_starttls(r, tls_opts, e) < 0 ? -1 : 0;
	return 0;
}

static int
client_send(struct run *r, const char *data, size_t n)
{
	struct err e = { 0 };

	return bio_write(&r->c.io, data, n, &e) == BIO_OK && bio_flush(&r->c.io, &e) == BIO_OK ? 0
	                                                                                       : -1;
}

/* Read one reply (all its lines) into the transcript; `last` gets its last
 * line.  A line longer than the buffer is shown as far as it was kept, with
 * a "!:" line saying so. */
static enum bio_status
client_reply(struct run *r, char *last, size_t lastlen)
{
	static char line[CLIENT_LINE_MAX];
	struct err e = { 0 };

	for (;;) {
		size_t len;
		int too_long;
		enum bio_status st =
		        bio_read_line(&r->c.io, line, sizeof line - 1, &len, &too_long, &e);
		if (st != BIO_OK)
			return st;
		line[strcspn(line, "\r\n")] = '\0';
		transcript_add(&r->tr, 'S', line);
		if (too_long)
			transcript_addf(&r->tr, '!',
			                "the reply line above was longer than %d octets",
			                CLIENT_LINE_MAX - 1);
		if (strlen(line) < 4 || line[3] != '-') {
			snprintf(last, lastlen, "%s", line);
			return BIO_OK;
		}
	}
}

/* starttls [sni=NAME] [sigalgs=RSA|ECDSA] [client=openssl|gnutls] [version=1.2|1.3] [staple]
 * [ocsp] [ocsp-chain] [cert=STEM]: `ocsp` asks for a staple too and shows lib/tls_ocsp.h's
 * verdict on it; `ocsp-chain` also the verdict on each chain element's above the leaf
 * (`ocsp[1]=good`; TLS 1.3, RFC 8446 4.4.2.1); `cert=STEM` presents @PKI@/STEM.pem with
 * STEM.key. */
static int
client_starttls(struct run *r, const char *arg, struct err *e)
{
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	struct tls_conn_opts opts = { 0 };
	char ca[4096], sni[256] = "", sigalgs[16] = "", client[16] = "", stem[64] = "";
	char certf[4200], keyf[4200];
	const char *name;
	const struct tls_backend *be;
	const char *p;

	if ((p = strstr(arg, "sni=")) != NULL)
		sscanf(p + 4, "%255s", sni);
	if ((p = strstr(arg, "sigalgs=")) != NULL)
		sscanf(p + 8, "%15s", sigalgs);
	if ((p = strstr(arg, "client=")) != NULL)
		sscanf(p + 7, "%15s", client);
	int ocsp = strcmp(arg, "ocsp") == 0 || strncmp(arg, "ocsp ", 5) == 0 ||
	           strstr(arg, " ocsp") != NULL;
	if ((p = strstr(arg, "cert=")) != NULL)
		sscanf(p + 5, "%63[a-z0-9-]", stem);
	opts.request_staple = strstr(arg, "staple") != NULL || ocsp;
	/* version=1.2 or version=1.3 pins the protocol (client side). */
	if ((p = strstr(arg, "version=")) != NULL) {
		if (strncmp(p + 8, "1.2", 3) == 0)
			cfg.min_version = cfg.max_version = TLS_VERSION_1_2;
		else if (strncmp(p + 8, "1.3", 3) == 0)
			cfg.min_version = cfg.max_version = TLS_VERSION_1_3;
		else {
			err_set(e, 1, "starttls: version=1.2 or version=1.3");
			return -1;
		}
	}
	/* The client is the other library, unless pinned: every run is interop. */
	name = client[0]                                 ? client
	       : r->s->client                            ? r->s->client
	       : strcmp(r->env->backend, "openssl") == 0 ? "gnutls"
	                                                 : "openssl";
	be = tls_backend_by_name(name);
	if (be == NULL) {
		err_set(e, 1, "starttls: unknown client backend \"%s\"", name);
		return -1;
	}
	snprintf(ca, sizeof ca, "%s/ca-bundle.pem", r->env->pki);
	cfg.ca_file = ca;
	cfg.sigalgs = sigalgs[0] ? sigalgs : NULL;
	cfg.keylog_file = getenv("SSLKEYLOGFILE"); /* runtest --keylog (docs/teaching.md) */
	if (stem[0] != '\0') {                     /* a client certificate from the run's PKI */
		snprintf(certf, sizeof certf, "%s/%s.pem", r->env->pki, stem);
		snprintf(keyf, sizeof keyf, "%s/%s.key", r->env->pki, stem);
		cfg.certs[0].cert_file = certf;
		cfg.certs[0].key_file = keyf;
		cfg.ncerts = 1;
	}
	opts.sni = sni[0] ? sni : NULL;
	r->c.ctx = tls_ctx_new(be, &cfg, e);
	if (r->c.ctx == NULL)
		return -1;
	r->c.tls = tls_conn_new(r->c.ctx, r->c.fd, &opts, e);
	if (r->c.tls == NULL)
		return -1;
	if (tls_conn_handshake(r->c.tls, e) != TLS_OK) {
		transcript_addf(&r->tr, 'T', "handshake failed");
		html_cert_record(r->env->workdir, name, 0, tls_conn_info(r->c.tls));
		tls_conn_free(r->c.tls);
		r->c.tls = NULL;
		return 1; /* shown, not a harness error */
	}
	/* The name checked is the SNI sent, else the server's name. */
	(void)tls_conn_check_name(r->c.tls, sni[0] ? sni : "mx.example.test");
	const struct tls_info *i = tls_conn_info(r->c.tls);
	char ocspword[40 + 32 * TLS_MAX_CHAIN] = "";
	/* Real time: the staple is about the run's PKI, minted on the real clock. */
	if (ocsp)
		snprintf(ocspword, sizeof ocspword, " ocsp=%s",
		         tls_ocsp_word(tls_conn_check_staple(r->c.tls, time(NULL), NULL)));
	for (size_t d = 1; strstr(arg, "ocsp-chain") != NULL && d < i->peer_chain_len; d++)
		snprintf(ocspword + strlen(ocspword), sizeof ocspword - strlen(ocspword),
		         " ocsp[%zu]=%s", d,
		         tls_ocsp_word(tls_conn_check_chain_staple(r->c.tls, d, time(NULL), NULL)));
	html_cert_record(r->env->workdir, name, 1, i);
	transcript_addf(&r->tr, 'T', "%s %s key=%s verify=%s%s%s%s%s", i->version, i->cipher,
	                i->peer_key_type, tls_verify_word(i->verify), sni[0] ? " sni=" : "", sni,
	                ocsp                   ? ""
	                : !opts.request_staple ? ""
	                : i->staple.len > 0    ? " staple=received"
	                                       : " staple=none",
	                ocspword);
	bio_use_tls(&r->c.io, r->c.tls);
	return 0;
}

/* ---- the steps ------------------------------------------------------------------------ */

/* connect [from ADDR] [peer NAME] [tls [starttls options]] */
int
step_connect(struct run *r, const struct step *st, struct err *e)
{
	return client_connect(r, st->arg, e);
}

static int
send_failed(struct run *r)
{
	transcript_add(&r->tr, '!', "send failed");
	return 1;
}

int
step_send(struct run *r, const struct step *st, struct err *e)
{
	size_t n = strlen(st->arg);
	char *line = malloc(n + 2);
	int rc;

	(void)e;
	if (line == NULL)
		return -1;
	transcript_add(&r->tr, 'C', st->arg);
	memcpy(line, st->arg, n);
	memcpy(line + n, "\r\n", 2);
	rc = client_send(r, line, n + 2);
	free(line);
	return rc == 0 ? 0 : send_failed(r);
}

int
step_raw(struct run *r, const struct step *st, struct err *e)
{
	size_t cap = strlen(st->arg) + 1; /* escapes only shrink */
	char *data = malloc(cap);
	size_t n;
	int rc;

	(void)e;
	if (data == NULL)
		return -1;
	n = str_unescape(st->arg, data, cap);
	transcript_add_raw(&r->tr, 'C', data, n);
	rc = client_send(r, data, n);
	free(data);
	return rc == 0 ? 0 : send_failed(r);
}

int
step_repeat(struct run *r, const struct step *st, struct err *e)
{
	char *end, *data;
	long times = strtol(st->arg, &end, 10);
	size_t n = 0, ll;
	int rc;

	while (*end == ' ')
		end++;
	ll = strlen(end);
	if (times <= 0 || times > 1000) {
		err_set(e, 1, "%s:%d: repeat N LINE, N from 1 to 1000", r->s->path, st->line);
		return -1;
	}
	if ((data = malloc((size_t)times * (ll + 2))) == NULL)
		return -1;
	for (long i = 0; i < times; i++) {
		memcpy(data + n, end, ll);
		memcpy(data + n + ll, "\r\n", 2);
		n += ll + 2;
	}
	transcript_addf(&r->tr, 'C', "%s  (x%ld, in one write)", end, times);
	rc = client_send(r, data, n);
	free(data);
	return rc == 0 ? 0 : send_failed(r);
}

/* "expect 250 3": three replies starting 250; "expect 554 5.5.0": one
 * reply starting "554 5.5.0" (the count is a lone number). */
int
step_expect(struct run *r, const struct step *st, struct err *e)
{
	char code[256] = "", last[2048];
	long count = 1;
	const char *rest = st->arg + strcspn(st->arg, " ");

	(void)e;
	while (*rest == ' ')
		rest++;
	if (*rest != '\0' && strspn(rest, "0123456789") == strlen(rest)) {
		snprintf(code, sizeof code, "%.*s", (int)strcspn(st->arg, " "), st->arg);
		count = strtol(rest, NULL, 10);
	} else {
		snprintf(code, sizeof code, "%s", st->arg);
	}
	for (long i = 0; i < count && i < 1000; i++) {
		enum bio_status bs = client_reply(r, last, sizeof last);
		if (bs != BIO_OK) {
			transcript_addf(&r->tr, '!', "expected %s, got %s", code,
			                bs == BIO_TIMEOUT ? "no reply within 10 s"
			                                  : "the connection closed");
			return 1;
		}
		if (strncmp(last, code, strlen(code)) != 0)
			transcript_addf(&r->tr, '!', "expected %s", code);
	}
	return 0;
}

int
step_starttls(struct run *r, const struct step *st, struct err *e)
{
	return client_starttls(r, st->arg, e) < 0 ? -1 : 0;
}

int
step_wait_close(struct run *r, const struct step *st, struct err *e)
{
	char last[2048];
	enum bio_status bs = client_reply(r, last, sizeof last);

	(void)st;
	(void)e;
	if (bs == BIO_OK)
		transcript_add(&r->tr, '!', "expected the server to close");
	else if (bs == BIO_TIMEOUT)
		transcript_add(&r->tr, '!', "expected the server to close, it did not within 10 s");
	else
		transcript_add(&r->tr, 'S', "(closed)");
	run_client_close(r);
	return 0;
}

int
step_close(struct run *r, const struct step *st, struct err *e)
{
	(void)st;
	(void)e;
	transcript_add(&r->tr, 'C', "(close)");
	run_client_close(r);
	return 0;
}

/* One line of a submit: sent as a `send` step, then (code not "") read as `expect CODE`. */
static int __attribute__((format(printf, 4, 5)))
submit_add(struct strlist *texts, struct strlist *codes, const char *code, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = strlist_push(texts, text) == 0 && strlist_push(codes, code) == 0 ? 0 : -1;
	free(text);
	return rc;
}

/*
 * submit FROM TO...: the EHLO / MAIL / RCPT / DATA block most scenarios
 * need, played as the `send` and `expect` steps one would write by hand,
 * so its transcript is theirs line for line (docs/scenario-format.md).
 * FROM "<>" is the null sender (and no From: line).  Stops where an
 * `expect` would.
 */
int
step_submit(struct run *r, const struct step *st, struct err *e)
{
	struct strlist words = { 0 }, texts = { 0 }, codes = { 0 };
	char *copy = strdup(st->arg), *save = NULL, *w;
	int rc = -1, ok = copy != NULL;

	for (w = copy ? strtok_r(copy, " \t", &save) : NULL; ok && w;
	     w = strtok_r(NULL, " \t", &save))
		ok = strlist_push(&words, w) == 0;
	if (!ok || words.n < 2) {
		err_set(e, 1, "%s:%d: submit FROM TO...", r->s->path, st->line);
		goto out;
	}
	const char *from = strcmp(words.v[0], "<>") == 0 ? "" : words.v[0];
	ok = submit_add(&texts, &codes, "250", "EHLO client.example.test") == 0 &&
	     submit_add(&texts, &codes, "250", "MAIL FROM:<%s>", from) == 0;
	for (size_t i = 1; ok && i < words.n; i++)
		ok = submit_add(&texts, &codes, "250", "RCPT TO:<%s>", words.v[i]) == 0;
	ok = ok && submit_add(&texts, &codes, "354", "DATA") == 0 &&
	     (!from[0] || submit_add(&texts, &codes, "", "From: %s", from) == 0) &&
	     submit_add(&texts, &codes, "", "To: %s", words.v[1]) == 0;
	for (size_t i = 2; ok && i < words.n; i++) {
		char *to = NULL;
		ok = asprintf(&to, "%s, %s", texts.v[texts.n - 1], words.v[i]) >= 0;
		if (ok) {
			free(texts.v[texts.n - 1]);
			texts.v[texts.n - 1] = to;
		}
	}
	ok = ok && submit_add(&texts, &codes, "", "Subject: submit") == 0 &&
	     submit_add(&texts, &codes, "", "%s", "") == 0 &&
	     submit_add(&texts, &codes, "", "a test message") == 0 &&
	     submit_add(&texts, &codes, "250", ".") == 0;
	if (!ok) {
		err_set(e, 1, "out of memory");
		goto out;
	}
	rc = 0;
	for (size_t i = 0; rc == 0 && i < texts.n; i++) {
		struct step one = *st;
		one.arg = texts.v[i];
		rc = step_send(r, &one, e);
		one.arg = codes.v[i];
		if (rc == 0 && codes.v[i][0] != '\0')
			rc = step_expect(r, &one, e);
	}
out:
	strlist_free(&words);
	strlist_free(&texts);
	strlist_free(&codes);
	free(copy);
	return rc;
}
