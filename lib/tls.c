/*
 * tls.c - the neutral half of the TLS layer: dispatch to the chosen backend,
 * the canonical verification vocabulary, and the policy checks that must
 * give one verdict whichever library made the connection (names, staples).
 * Never includes a TLS library's headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "certname.h"
#include "tls.h"

/* Words, indexed by enum tls_verify.  Stable: transcripts and logs use them. */
static const char *const verify_words[TLS_VERIFY__COUNT] = {
	[TLS_VERIFY_OK] = "ok",
	[TLS_VERIFY_NOT_CHECKED] = "not-checked",
	[TLS_VERIFY_NO_CERTIFICATE] = "no-certificate",
	[TLS_VERIFY_SELF_SIGNED] = "self-signed",
	[TLS_VERIFY_UNKNOWN_CA] = "unknown-ca",
	[TLS_VERIFY_BAD_SIGNATURE] = "bad-signature",
	[TLS_VERIFY_REVOKED] = "revoked",
	[TLS_VERIFY_EXPIRED] = "expired",
	[TLS_VERIFY_NOT_YET_VALID] = "not-yet-valid",
	[TLS_VERIFY_INVALID] = "invalid",
	[TLS_VERIFY_NAME_MISMATCH] = "name-mismatch",
	[TLS_VERIFY_STAPLE_MISSING] = "staple-missing",
};

const char *
tls_verify_word(enum tls_verify v)
{
	if ((unsigned)v >= TLS_VERIFY__COUNT)
		return "invalid";
	return verify_words[v];
}

/*
 * Precedence is the enum order: the first problem a reader must fix is the
 * one reported (no trust path before signatures, signatures before dates,
 * the chain before the name).  Libraries stop at different points; with the
 * full set of bits and one order, both backends agree.
 */
enum tls_verify
tls_verify_summary(unsigned flags)
{
	for (unsigned v = 1; v < TLS_VERIFY__COUNT; v++)
		if (flags & TLS_VERIFY_BIT(v))
			return (enum tls_verify)v;
	return TLS_VERIFY_OK;
}

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

struct tls_ctx *
tls_ctx_new(const struct tls_backend *be, const struct tls_config *cfg, struct err *e)
{
	if (cfg->ncerts > TLS_MAX_CERTS) {
		err_set(e, TLS_ERR_CONFIG, "too many certificates (%zu, at most %d)",
		        cfg->ncerts, TLS_MAX_CERTS);
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
	return be->ctx_new(cfg, e);
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx != NULL)
		ctx->be->ctx_free(ctx);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, int fd, const struct tls_conn_opts *opts, struct err *e)
{
	static const struct tls_conn_opts none;

	return ctx->be->conn_new(ctx, fd, opts != NULL ? opts : &none, e);
}

enum tls_status
tls_conn_handshake(struct tls_conn *c, struct err *e)
{
	return c->be->handshake(c, e);
}

ssize_t
tls_conn_read(struct tls_conn *c, void *buf, size_t len, struct err *e)
{
	return c->be->read(c, buf, len, e);
}

ssize_t
tls_conn_write(struct tls_conn *c, const void *buf, size_t len, struct err *e)
{
	return c->be->write(c, buf, len, e);
}

void
tls_conn_shutdown(struct tls_conn *c)
{
	c->be->shutdown(c);
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c != NULL)
		c->be->conn_free(c);
}

const struct tls_info *
tls_conn_info(const struct tls_conn *c)
{
	return &c->info;
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

enum tls_verify
tls_conn_check_name(struct tls_conn *c, const char *host)
{
	struct tls_cert_names names = { 0 };
	struct tls_info *info = &c->info;
	int match = 0;

	if (info->peer_chain_len == 0) {
		info->verify_flags |= TLS_VERIFY_BIT(TLS_VERIFY_NO_CERTIFICATE);
	} else {
		/* The backend only decodes; the rule is certname.c's, for both. */
		if (c->be->cert_names(info->peer_chain[0].data, info->peer_chain[0].len,
		                      &names, NULL) == TLS_OK)
			match = tls_cert_names_match(&names, host);
		tls_cert_names_free(&names);
		if (!match)
			info->verify_flags |= TLS_VERIFY_BIT(TLS_VERIFY_NAME_MISMATCH);
	}
	info->verify = tls_verify_summary(info->verify_flags);
	return info->verify;
}

enum tls_verify
tls_conn_require_staple(struct tls_conn *c)
{
	struct tls_info *info = &c->info;

	if (info->staple.len == 0)
		info->verify_flags |= TLS_VERIFY_BIT(TLS_VERIFY_STAPLE_MISSING);
	info->verify = tls_verify_summary(info->verify_flags);
	return info->verify;
}

void
tls_info_set_der(struct tls_der *d, const unsigned char *data, size_t len)
{
	free(d->data);
	d->data = NULL;
	d->len = 0;
	if (data == NULL || len == 0)
		return;
	d->data = malloc(len);
	if (d->data == NULL)
		return; /* reported as "absent": the caller sees len 0 */
	memcpy(d->data, data, len);
	d->len = len;
}

void
tls_info_clear(struct tls_info *info)
{
	for (size_t i = 0; i < info->peer_chain_len && i < TLS_MAX_CHAIN; i++)
		tls_info_set_der(&info->peer_chain[i], NULL, 0);
	info->peer_chain_len = 0;
	tls_info_set_der(&info->staple, NULL, 0);
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
