/*
 * dane_check.c - `refmta dane-check DOMAIN [PORT]` (dane_check.h): the
 * DANE decision of the smtp transport (deliver_smtp_dane.c) for every MX
 * host of a domain, printed step by step for teaching and for checking a
 * real deployment.  The rules are the same (RFC 7672 2.2: TLSA only behind
 * secure MX and address; 2.2.2: a CNAME target first; 3.1.3: usable records
 * only; 3.2.2: DANE-TA's names); no mail is sent (QUIT inside TLS).
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bio.h"
#include "dane_chain.h"
#include "dane_check.h"
#include "net.h"
#include "resolver.h"
#include "smtp_reply.h"

#define DC_TIMEOUT_MS 30000

struct dc_host {
	char name[256], address[64], cname[256];
	int secure;
	struct dane_chain chain; /* filled by dc_host() when cname[0] */
};

static void
dc_print_answer(FILE *out, const struct resolver_answer *a, enum resolver_type t, const char *name)
{
	char text[2000];

	resolver_answer_format(a, t, name, text, sizeof text);
	fprintf(out, "%s\n", text);
}

/* The chain walk's lookups: resolver_lookup() behind router_lookup_fn. */
static int
dc_resolve(void *arg, const char *name, enum resolver_type type, struct resolver_answer *out,
           struct err *e)
{
	return resolver_lookup(arg, name, type, out, e);
}

static void
dc_seen(void *arg, const char *name, const struct resolver_answer *a)
{
	dc_print_answer(arg, a, RESOLVER_CNAME, name);
}

/* One lookup (a failure to ask reads as tempfail), printed. */
static void
dc_lookup(struct resolver *r, FILE *out, const char *name, enum resolver_type t,
          struct resolver_answer *a)
{
	struct err e = { 0 };

	if (resolver_lookup(r, name, t, a, &e) != 0)
		a->status = RESOLVER_TEMPFAIL;
	dc_print_answer(out, a, t, name);
}

static int
dc_connect(const char *address, unsigned port, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char service[16];
	int fd = -1, rc;

	snprintf(service, sizeof service, "%u", port);
	if ((rc = getaddrinfo(address, service, &hints, &ai)) != 0) {
		snprintf(why, len, "bad address: %s", gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || net_set_timeouts(fd, DC_TIMEOUT_MS) != 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(why, len, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* One command (NULL: just read) and its reply; the reply's code, 0 on failure. */
static int
dc_command(struct bio *io, FILE *out, const char *prefix, const char *cmd)
{
	struct smtp_reply r = { 0 };
	struct err e = { 0 };
	int code;

	if (cmd != NULL) {
		fprintf(out, "%s: > %s\n", prefix, cmd);
		if (bio_printf(io, &e, "%s\r\n", cmd) != BIO_OK || bio_flush(io, &e) != BIO_OK) {
			fprintf(out, "%s: write failed: %s\n", prefix, e.text);
			return 0;
		}
	}
	if (smtp_reply_read(io, &r, &e) != SMTP_REPLY_OK) {
		fprintf(out, "%s: no reply: %s\n", prefix, e.text[0] ? e.text : "closed");
		return 0;
	}
	for (char *line = r.text, *nl; line != NULL; line = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		fprintf(out, "%s: < %.*s\n", prefix,
		        nl != NULL ? (int)(nl - line) : (int)strlen(line), line);
	}
	code = r.code;
	smtp_reply_clear(&r);
	return code;
}

/* Each certificate of the chain with the association data records for it would carry. */
static void
dc_print_chain(FILE *out, const char *prefix, const struct tls_info *ti)
{
	for (size_t d = 0; d < ti->peer_chain_len; d++) {
		unsigned char data[64];
		char hex[129];
		size_t len = 0;
		struct err e = { 0 };

		if (tls_tlsa_from_der(ti->peer_chain[d].data, ti->peer_chain[d].len, 1, 1, data,
		                      sizeof data, &len, &e) != 0) {
			fprintf(out, "%s: depth=%zu (%s)\n", prefix, d, e.text);
			continue;
		}
		for (size_t i = 0; i < len; i++)
			snprintf(hex + 2 * i, 3, "%02x", data[i]);
		fprintf(out, "%s: depth=%zu %s 1 1 %s\n", prefix, d, d == 0 ? "3" : "2", hex);
	}
}

/* The TLS part: 1 = authenticated by DANE. */
static int
dc_tls(const struct tls_backend *be, int fd, struct bio *io, FILE *out, const char *prefix,
       const struct dc_host *h, const char *base, const struct tls_tlsa *v, size_t n)
{
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	struct tls_conn_opts opts = { .sni = base, .tlsa = v, .ntlsa = n };
	const char *names[2 + DANE_CHAIN_MAX] = { base, h->name };
	size_t nnames = 2;
	struct tls_ctx *ctx;
	struct tls_conn *c = NULL;
	const struct tls_info *ti;
	struct err e = { 0 };
	int ok = 0;

	if (dc_command(io, out, prefix, "STARTTLS") / 100 != 2) {
		fprintf(out, "%s: verdict: fail (no STARTTLS)\n", prefix);
		return 0;
	}
	(void)bio_discard_input(io);
	if ((ctx = tls_ctx_new(be, &cfg, &e)) == NULL ||
	    (c = tls_conn_new(ctx, fd, &opts, &e)) == NULL || tls_conn_handshake(c, &e) != TLS_OK) {
		fprintf(out, "%s: TLS handshake failed: %s\n", prefix, e.text);
		fprintf(out, "%s: verdict: fail\n", prefix);
		tls_conn_free(c);
		tls_ctx_free(ctx);
		return 0;
	}
	ti = tls_conn_info(c);
	fprintf(out, "%s: TLS %s %s, SNI %s\n", prefix, ti->version, ti->cipher, base);
	dc_print_chain(out, prefix, ti);
	/* RFC 7672 3.2.2: every name of the CNAME chain (chain.names[0] is
	 * the host name itself). */
	for (size_t i = 1; i <= h->chain.n; i++)
		names[nnames++] = h->chain.names[i];
	ok = tls_conn_dane_check_names(c, names, nnames);
	if (ok) {
		/* The record too, as the transport's log line names it. */
		int k = tls_conn_dane_matched(c, v, n);
		fprintf(out, "%s: matched: %s(%d) at depth %d", prefix,
		        ti->dane_usage == TLS_TLSA_DANE_EE ? "DANE-EE" : "DANE-TA", ti->dane_usage,
		        ti->dane_depth);
		if (k >= 0)
			fprintf(out, ": TLSA %u %u %u (usable record %d of %zu)", v[k].usage,
			        v[k].selector, v[k].mtype, k + 1, n);
		fputc('\n', out);
	}
	fprintf(out, "%s: verdict: %s\n", prefix,
	        ok                       ? "dane (verified)"
	        : ti->dane_name_mismatch ? "fail (DANE-TA matched, the name did not)"
	                                 : "fail (no TLSA record matched)");
	bio_use_tls(io, c);
	(void)dc_command(io, out, prefix, "QUIT");
	tls_conn_shutdown(c);
	tls_conn_free(c);
	tls_ctx_free(ctx);
	return ok;
}

/* One host: 1 = authenticated by DANE. */
static int
dc_host(struct resolver *r, const struct tls_backend *be, FILE *out, struct dc_host *h,
        unsigned port)
{
	const char *bases[2] = { h->cname[0] ? h->cname : NULL, h->name };
	struct resolver_answer a = { 0 };
	struct tls_tlsa v[32];
	char prefix[400], qname[300], why[300];
	const char *base = NULL;
	size_t n = 0;
	int fd, ok = 0;
	struct bio io;

	snprintf(prefix, sizeof prefix, "%s[%s]:%u", h->name, h->address, port);
	if (!h->secure) {
		fprintf(out, "%s: MX or address not DNSSEC-secure: no DANE (RFC 7672 2.2)\n",
		        prefix);
		return 0;
	}
	if (h->cname[0] != '\0' &&
	    dane_chain_walk(dc_resolve, r, h->name, h->cname, dc_seen, out, &h->chain) != 0) {
		fprintf(out, "%s: %s: the host would be deferred\n", prefix, h->chain.why);
		return 0;
	}
	for (size_t i = 1; i <= h->chain.n; i++)
		fprintf(out, "%s: CNAME chain name %zu: %s\n", prefix, i, h->chain.names[i]);
	for (size_t b = 0; b < 2 && base == NULL; b++) {
		if (bases[b] == NULL)
			continue;
		resolver_answer_free(&a);
		snprintf(qname, sizeof qname, "_%u._tcp.%s", port, bases[b]);
		dc_lookup(r, out, qname, RESOLVER_TLSA, &a);
		if (a.status == RESOLVER_BOGUS || a.status == RESOLVER_TEMPFAIL) {
			fprintf(out, "%s: TLSA %s: the host would be deferred (RFC 7672 2.1.1)\n",
			        prefix, resolver_status_word(a.status));
			resolver_answer_free(&a);
			return 0;
		}
		for (size_t i = 0; a.status == RESOLVER_SECURE && i < a.nrrs && n < 32; i++) {
			const struct resolver_tlsa *t = &a.rrs[i].u.tlsa;
			struct tls_tlsa rec = { t->usage, t->selector, t->mtype, t->data, t->len };
			if (a.rrs[i].type != RESOLVER_TLSA)
				continue;
			if (!tls_tlsa_usable(&rec)) {
				fprintf(out, "%s: TLSA %u %u %u unusable (RFC 7672 3.1.3)\n",
				        prefix, rec.usage, rec.selector, rec.mtype);
				continue;
			}
			v[n++] = rec;
		}
		if (n > 0)
			base = bases[b];
	}
	if (base == NULL) {
		fprintf(out, "%s: no usable TLSA records: no DANE\n", prefix);
		resolver_answer_free(&a);
		return 0;
	}
	fprintf(out, "%s: %zu usable TLSA record%s, base name %s\n", prefix, n, n == 1 ? "" : "s",
	        base);
	if ((fd = dc_connect(h->address, port, why, sizeof why)) < 0) {
		fprintf(out, "%s: connect: %s\n", prefix, why);
		resolver_answer_free(&a);
		return 0;
	}
	bio_init(&io, fd);
	if (dc_command(&io, out, prefix, NULL) / 100 == 2 &&
	    dc_command(&io, out, prefix, "EHLO dane-check.invalid") / 100 == 2)
		ok = dc_tls(be, fd, &io, out, prefix, h, base, v, n);
	close(fd);
	resolver_answer_free(&a);
	return ok;
}

/* The hosts of `domain`: its MX in preference order, or the implicit MX. */
static size_t
dc_hosts(struct resolver *r, FILE *out, const char *domain, struct dc_host *v, size_t max)
{
	struct resolver_answer mx = { 0 };
	const char *names[16];
	int mx_secure, prefs[16];
	size_t nn = 0, n = 0;

	dc_lookup(r, out, domain, RESOLVER_MX, &mx);
	mx_secure = mx.status == RESOLVER_SECURE || (mx.status == RESOLVER_NODATA && mx.secure);
	for (size_t i = 0; mx.status <= RESOLVER_INSECURE && i < mx.nrrs && nn < 16; i++) {
		size_t k = nn++;
		if (mx.rrs[i].type != RESOLVER_MX)
			continue;
		while (k > 0 && prefs[k - 1] > (int)mx.rrs[i].u.mx.preference) {
			names[k] = names[k - 1];
			prefs[k] = prefs[k - 1];
			k--;
		}
		names[k] = mx.rrs[i].u.mx.exchange;
		prefs[k] = (int)mx.rrs[i].u.mx.preference;
	}
	if (mx.status == RESOLVER_NODATA)
		names[nn++] = domain;
	for (size_t i = 0; i < nn && n < max; i++) {
		struct resolver_answer a = { 0 };
		dc_lookup(r, out, names[i], RESOLVER_A, &a);
		if ((a.status == RESOLVER_SECURE || a.status == RESOLVER_INSECURE) && a.nrrs > 0 &&
		    a.rrs[0].type == RESOLVER_A) {
			struct dc_host *h = &v[n++];
			memset(h, 0, sizeof *h);
			snprintf(h->name, sizeof h->name, "%s", names[i]);
			snprintf(h->address, sizeof h->address, "%s", a.rrs[0].u.addr);
			snprintf(h->cname, sizeof h->cname, "%s", a.canonname ? a.canonname : "");
			h->secure = mx_secure && a.status == RESOLVER_SECURE;
		}
		resolver_answer_free(&a);
	}
	resolver_answer_free(&mx);
	return n;
}

int
dane_check_run(const struct config *cfg, const struct tls_backend *be, const char *domain,
               unsigned port, FILE *out)
{
	struct err e = { 0 };
	struct resolver *r = resolver_new(cfg->dns_server, cfg->dns_trust_anchor, &e);
	struct dc_host hosts[16];
	size_t n, ok = 0;

	if (r == NULL) {
		fprintf(out, "dane-check: resolver: %s\n", e.text);
		return 1;
	}
	/* The backend is not named: the report is the same on both. */
	fprintf(out, "dane-check: %s port %u\n", domain, port);
	n = dc_hosts(r, out, domain, hosts, 16);
	for (size_t i = 0; i < n; i++)
		ok += dc_host(r, be, out, &hosts[i], port) != 0;
	fprintf(out, "dane-check: %zu of %zu host%s authenticated by DANE\n", ok, n,
	        n == 1 ? "" : "s");
	resolver_free(r);
	return n > 0 && ok == n ? 0 : 1;
}
