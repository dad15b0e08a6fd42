/*
 * tls.c - the neutral half of the TLS layer: dispatch to the chosen backend,
 * the checks every backend would otherwise repeat (the configuration's
 * shape, capabilities a backend lacks), the neutral heads of contexts and
 * connections, the key log, and certificate-name helpers.  The verdict
 * vocabulary and policy checks are lib/tls_verdict.c.  Never includes a TLS
 * library's headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "certname.h"
#include "net.h"
#include "tls_int.h"

const struct tls_backend *
tls_backend_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, tls_backend_openssl.name) == 0)
		return &tls_backend_openssl;
	if (strcmp(name, tls_backend_gnutls.name) == 0)
		return &tls_backend_gnutls;
	return NULL;
}

unsigned
tls_backend_caps(const struct tls_backend *be)
{
	return be->caps;
}

const struct tls_backend *
tls_ctx_backend(const struct tls_ctx *ctx)
{
	return ctx->be;
}

/* Refuse, before the backend runs, what it has no capability for. */
static int
lacks(const struct tls_backend *be, unsigned cap, const char *what, struct err *e)
{
	if (be->caps & cap)
		return 0;
	err_set(e, TLS_ERR_UNSUPPORTED, "the %s TLS backend does not support %s", be->name, what);
	return 1;
}

struct tls_ctx *
tls_ctx_new(const struct tls_backend *be, const struct tls_config *cfg, struct err *e)
{
	struct tls_ctx *ctx;

	if (cfg->ncerts > TLS_MAX_CERTS) {
		err_set(e, TLS_ERR_CONFIG, "too many certificates (%zu, at most %d)", cfg->ncerts,
		        TLS_MAX_CERTS);
		return NULL;
	}
	if (cfg->role == TLS_ROLE_SERVER && cfg->ncerts == 0) {
		err_set(e, TLS_ERR_CONFIG, "a TLS server needs at least one certificate");
		return NULL;
	}
	if (cfg->role == TLS_ROLE_CLIENT && cfg->ncerts > 1) {
		err_set(e, TLS_ERR_CONFIG, "a TLS client takes at most one certificate");
		return NULL;
	}
	if (cfg->keylog_file != NULL && lacks(be, TLS_CAP_KEYLOG, "keylog_file", e))
		return NULL;
	if (cfg->tls13_tickets > 0 && lacks(be, TLS_CAP_TICKETS, "sending session tickets", e))
		return NULL;
	if (((cfg->role == TLS_ROLE_CLIENT && cfg->ncerts > 0) || cfg->request_client_cert) &&
	    lacks(be, TLS_CAP_CLIENT_CERT, "client certificates", e))
		return NULL;
	ctx = be->ops->ctx_new(cfg, e);
	if (ctx != NULL)
		ctx->be = be; /* the descriptor asked for: its caps govern tls_conn_new */
	return ctx;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx != NULL)
		ctx->be->ops->ctx_free(ctx);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, int fd, const struct tls_conn_opts *opts, struct err *e)
{
	static const struct tls_conn_opts none;
	const struct tls_backend *be = ctx->be;
	struct tls_conn *c;

	if (opts == NULL)
		opts = &none;
	if (opts->ntlsa > 0 && lacks(be, TLS_CAP_DANE, "DANE (TLSA records)", e))
		return NULL;
	if ((opts->staple_len > 0 || opts->staple_for != NULL) &&
	    lacks(be, TLS_CAP_STAPLE_SERVE, "serving OCSP staples", e))
		return NULL;
	if (opts->request_staple && lacks(be, TLS_CAP_STAPLE_CHECK, "requesting OCSP staples", e))
		return NULL;
	c = be->ops->conn_new(ctx, fd, opts, e);
	if (c != NULL && ctx->role == TLS_ROLE_SERVER) {
		c->staple_for = opts->staple_for;
		c->staple_arg = opts->staple_arg;
		c->staple = opts->staple;
		c->staple_len = opts->staple_len;
	}
	return c;
}

void
tls_conn_pick_staple(struct tls_conn *c, size_t index, size_t depth, const char *sni,
                     const struct tls_der *leaf, const struct tls_der *issuer,
                     const unsigned char **staple, size_t *len)
{
	struct tls_staple_query q = {
		.index = index, .depth = depth, .sni = sni, .leaf = leaf, .issuer = issuer
	};

	/* The fixed staple is the leaf's (a test peer's `staple`). */
	*staple = depth == 0 ? c->staple : NULL;
	*len = depth == 0 ? c->staple_len : 0;
	if (c->staple_for != NULL) {
		*staple = NULL;
		*len = 0;
		c->staple_for(c->staple_arg, &q, staple, len);
	}
}

/* CLOCK_MONOTONIC in milliseconds: the clock of bio_now_ms(). */
static unsigned long long
tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ULL +
	       (unsigned long long)ts.tv_nsec / 1000000ULL;
}

void
tls_conn_set_deadline(struct tls_conn *c, unsigned long long at_ms, unsigned idle_ms)
{
	c->deadline_ms = at_ms;
	c->idle_ms = idle_ms;
	if (at_ms == 0 && c->armed && idle_ms != 0) {
		/* On a socket of ours this does not fail; if it did, the cut
		 * timeout stays, shorter than asked, never unbounded. */
		if (net_set_timeouts(c->fd, idle_ms) == 0)
			c->armed = 0;
	}
}

int
tls_conn_io_arm(struct tls_conn *c, int for_write)
{
	unsigned long long now, left;
	struct timeval tv;

	if (c->deadline_ms == 0)
		return 0;
	now = tls_now_ms();
	if (now >= c->deadline_ms) {
		errno = EAGAIN;
		return -1;
	}
	left = c->deadline_ms - now;
	if (c->idle_ms != 0 && c->idle_ms < left)
		left = c->idle_ms;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	if (setsockopt(c->fd, SOL_SOCKET, for_write ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, sizeof tv) !=
	    0)
		return -1; /* errno from setsockopt: an I/O error, not a hang */
	c->armed = 1;
	return 0;
}

enum tls_status
tls_conn_handshake(struct tls_conn *c, struct err *e)
{
	return c->be->ops->handshake(c, e);
}

ssize_t
tls_conn_read(struct tls_conn *c, void *buf, size_t len, struct err *e)
{
	return c->be->ops->read(c, buf, len, e);
}

ssize_t
tls_conn_write(struct tls_conn *c, const void *buf, size_t len, struct err *e)
{
	return c->be->ops->write(c, buf, len, e);
}

void
tls_conn_shutdown(struct tls_conn *c)
{
	c->be->ops->shutdown(c);
}

enum tls_status
tls_conn_send_ticket(struct tls_conn *c, struct err *e)
{
	if (lacks(c->be, TLS_CAP_TICKETS, "sending session tickets", e))
		return TLS_ERR_UNSUPPORTED;
	if (c->info.role != TLS_ROLE_SERVER || strcmp(c->info.version, "TLSv1.3") != 0) {
		err_set(e, TLS_ERR_UNSUPPORTED, "only a TLS 1.3 server sends session tickets");
		return TLS_ERR_UNSUPPORTED;
	}
	return c->be->ops->send_ticket(c, e);
}

enum tls_status
tls_conn_key_update(struct tls_conn *c, struct err *e)
{
	/* RFC 8446 4.6.3: KeyUpdate exists in TLS 1.3 only. */
	if (strcmp(c->info.version, "TLSv1.3") != 0) {
		err_set(e, TLS_ERR_UNSUPPORTED, "a key update needs TLS 1.3");
		return TLS_ERR_UNSUPPORTED;
	}
	return c->be->ops->key_update(c, e);
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c != NULL)
		c->be->ops->conn_free(c);
}

const struct tls_info *
tls_conn_info(const struct tls_conn *c)
{
	return &c->info;
}

/* ---- the neutral heads ---------------------------------------------------- */

int
tls_ctx_base_init(struct tls_ctx *base, const struct tls_config *cfg, struct err *e)
{
	base->be = NULL; /* set by tls_ctx_new once the backend succeeded */
	base->role = cfg->role;
	base->have_ca = 0;
	base->keylog_file = NULL;
	if (cfg->keylog_file != NULL && (base->keylog_file = strdup(cfg->keylog_file)) == NULL) {
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		return -1;
	}
	return 0;
}

void
tls_ctx_base_release(struct tls_ctx *base)
{
	free(base->keylog_file);
	base->keylog_file = NULL;
}

void
tls_conn_base_init(struct tls_conn *c, struct tls_ctx *ctx, int fd)
{
	c->be = ctx->be;
	c->ctx = ctx;
	c->fd = fd;
	c->info.backend = ctx->be->name;
	c->info.role = ctx->role;
}

void
tls_keylog_append(const struct tls_ctx *ctx, const char *line)
{
	int fd;
	size_t n;
	char buf[512];

	if (ctx->keylog_file == NULL)
		return;
	n = (size_t)snprintf(buf, sizeof buf, "%s\n", line);
	if (n >= sizeof buf)
		return; /* no NSS key log line is this long */
	/* O_APPEND: one write per line, so concurrent workers never interleave. */
	fd = open(ctx->keylog_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, buf, n) < 0) {
		/* Best effort: a key log is a debugging aid, never a reason to fail. */
	}
	close(fd);
}

/* ---- certificate names -------------------------------------------------------- */

int
tls_cert_names_add_dns(struct tls_cert_names *n, const char *data, size_t len)
{
	char **grown = realloc(n->dns, (n->ndns + 1) * sizeof *n->dns);
	char *name;

	if (grown == NULL)
		return -1;
	n->dns = grown;
	if (data == NULL || memchr(data, '\0', len) != NULL)
		name = strdup("");
	else
		name = strndup(data, len);
	if (name == NULL)
		return -1;
	n->dns[n->ndns++] = name;
	return 0;
}

int
tls_cert_names_match(const struct tls_cert_names *n, const char *host)
{
	return certname_match(n->dns, n->ndns, n->cn, host) == CERTNAME_MATCH;
}

int
tls_cert_names_equal(const struct tls_cert_names *a, const struct tls_cert_names *b)
{
	if (a->ndns != b->ndns || (a->cn == NULL) != (b->cn == NULL))
		return 0;
	if (a->cn != NULL && strcasecmp(a->cn, b->cn) != 0)
		return 0;
	for (size_t i = 0; i < a->ndns; i++)
		if (strcasecmp(a->dns[i], b->dns[i]) != 0)
			return 0;
	return 1;
}

void
tls_cert_names_free(struct tls_cert_names *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->ndns; i++)
		free(n->dns[i]);
	free(n->dns);
	free(n->cn);
	n->dns = NULL;
	n->ndns = 0;
	n->cn = NULL;
}
