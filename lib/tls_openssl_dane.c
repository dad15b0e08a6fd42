/*
 * tls_openssl_dane.c - DANE (RFC 7672) in the OpenSSL backend: the usable
 * TLSA records (lib/tls_dane.c filters them) go to OpenSSL's own DANE
 * verifier (SSL_dane_enable, SSL_dane_tlsa_add), whose verdict and
 * matching record become tls_info.dane / dane_usage / dane_depth.  Names
 * are not OpenSSL's business here: the neutral DANE-TA name check
 * (tls_conn_dane_check_names) is the same for both backends.
 * Also tls_tlsa_make(), the fixtures' TLSA data from a PEM file.
 */
#include <stdio.h>
#include <string.h>

#include "tls_openssl.h"

enum tls_status
ossl_dane_setup(struct ossl_conn *c, const struct tls_conn_opts *opts, struct err *e)
{
	size_t added = 0;

	if (opts->ntlsa == 0)
		return TLS_OK;
	if (SSL_CTX_dane_enable(SSL_get_SSL_CTX(c->ssl)) <= 0 ||
	    SSL_dane_enable(c->ssl, opts->sni) <= 0) {
		err_set(e, TLS_ERR_CONFIG, "cannot enable DANE");
		return TLS_ERR_CONFIG;
	}
	/* SSL_dane_enable() made the base domain a reference identifier;
	 * DANE-TA's names are checked by the neutral code, DANE-EE's never. */
	SSL_set1_host(c->ssl, NULL);
	SSL_dane_set_flags(c->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < opts->ntlsa; i++) {
		const struct tls_tlsa *r = &opts->tlsa[i];
		if (!tls_tlsa_usable(r))
			continue;
		if (SSL_dane_tlsa_add(c->ssl, r->usage, r->selector, r->mtype, r->data, r->len) > 0)
			added++;
	}
	ERR_clear_error();
	c->dane = 1;
	/* No usable record at all: nothing can match (the caller should not
	 * have asked; the verdict says so rather than passing). */
	(void)added;
	return TLS_OK;
}

void
ossl_dane_result(struct ossl_conn *c)
{
	struct tls_info *info = &c->base.info;
	uint8_t usage = 0, selector = 0, mtype = 0;
	int depth;

	if (!c->dane)
		return;
	depth = SSL_get0_dane_tlsa(c->ssl, &usage, &selector, &mtype, NULL, NULL);
	if (SSL_get_verify_result(c->ssl) == X509_V_OK && depth >= 0) {
		info->dane = TLS_DANE_MATCH;
		info->dane_usage = usage;
		info->dane_depth = depth;
	} else {
		info->dane = TLS_DANE_NO_MATCH;
	}
}

/* A client SSL with DANE on and the usable records added (no names). */
static SSL *
ossl_dane_ssl(SSL_CTX **ctx, const struct tls_tlsa *tlsa, size_t ntlsa)
{
	SSL *ssl = NULL;

	*ctx = SSL_CTX_new(TLS_client_method());
	if (*ctx == NULL || SSL_CTX_dane_enable(*ctx) <= 0 || (ssl = SSL_new(*ctx)) == NULL ||
	    SSL_dane_enable(ssl, NULL) <= 0) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set1_host(ssl, NULL);
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < ntlsa; i++)
		if (tls_tlsa_usable(&tlsa[i]))
			(void)SSL_dane_tlsa_add(ssl, tlsa[i].usage, tlsa[i].selector, tlsa[i].mtype,
			                        tlsa[i].data, tlsa[i].len);
	return ssl;
}

enum tls_dane_result
ossl_dane_chain(const struct tls_der *chain, size_t n, const struct tls_tlsa *tlsa, size_t ntlsa,
                int *usage, int *depth)
{
	enum tls_dane_result r = TLS_DANE_NO_MATCH;
	STACK_OF(X509) *rest = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	SSL_CTX *ctx = NULL;
	SSL *ssl = ossl_dane_ssl(&ctx, tlsa, ntlsa);
	X509 *leaf = NULL;
	uint8_t u = 0;
	int d;

	if (rest == NULL || store == NULL || xs == NULL || ssl == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = chain[i].data;
		X509 *x = d2i_X509(NULL, &p, (long)chain[i].len);
		if (x == NULL)
			goto out;
		if (i == 0)
			leaf = x;
		else if (!sk_X509_push(rest, x)) {
			X509_free(x);
			goto out;
		}
	}
	/* As libssl verifies a server's chain (ssl_verify_cert_chain). */
	if (X509_STORE_CTX_init(xs, store, leaf, rest) != 1)
		goto out;
	X509_STORE_CTX_set_default(xs, "ssl_server");
	X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(xs), SSL_get0_param(ssl));
	X509_STORE_CTX_set0_dane(xs, SSL_get0_dane(ssl));
	if (X509_verify_cert(xs) == 1 &&
	    (d = SSL_get0_dane_tlsa(ssl, &u, NULL, NULL, NULL, NULL)) >= 0) {
		*usage = u;
		*depth = d;
		r = TLS_DANE_MATCH;
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(xs);
	X509_STORE_free(store);
	sk_X509_pop_free(rest, X509_free);
	X509_free(leaf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return r;
}

static X509 *
ossl_pem_nth(const char *path, unsigned depth, struct err *e)
{
	FILE *f = fopen(path, "r");
	X509 *x = NULL;

	if (f == NULL) {
		err_set(e, TLS_ERR_CONFIG, "%s: cannot open", path);
		return NULL;
	}
	for (unsigned i = 0; i <= depth; i++) {
		X509_free(x);
		x = PEM_read_X509(f, NULL, NULL, NULL);
		if (x == NULL)
			break;
	}
	fclose(f);
	ERR_clear_error();
	if (x == NULL)
		err_set(e, TLS_ERR_CONFIG, "%s: no certificate #%u", path, depth);
	return x;
}

int
tls_tlsa_from_der(const unsigned char *der, size_t len, unsigned selector, unsigned mtype,
                  unsigned char *out, size_t max, size_t *outlen, struct err *e)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	unsigned char *sel = NULL;
	unsigned int mdlen = 0;
	int n = -1, rc = -1;

	if (x == NULL) {
		ERR_clear_error();
		err_set(e, TLS_ERR_CONFIG, "not a DER certificate");
		return -1;
	}
	if (selector == 0)
		n = i2d_X509(x, &sel);
	else if (selector == 1)
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &sel);
	if (n <= 0) {
		err_set(e, TLS_ERR_CONFIG, "bad selector %u", selector);
		goto out;
	}
	if (mtype == 0) {
		if ((size_t)n > max) {
			err_set(e, TLS_ERR_CONFIG, "too long for a TLSA record");
			goto out;
		}
		memcpy(out, sel, (size_t)n);
		*outlen = (size_t)n;
		rc = 0;
	} else if ((mtype == 1 || mtype == 2) && max >= 64 &&
	           EVP_Digest(sel, (size_t)n, out, &mdlen, mtype == 1 ? EVP_sha256() : EVP_sha512(),
	                      NULL) == 1) {
		*outlen = mdlen;
		rc = 0;
	} else {
		err_set(e, TLS_ERR_CONFIG, "bad matching type %u", mtype);
	}
out:
	OPENSSL_free(sel);
	X509_free(x);
	return rc;
}

int
tls_tlsa_make(const char *pem_file, unsigned depth, unsigned selector, unsigned mtype,
              unsigned char *out, size_t max, size_t *len, struct err *e)
{
	X509 *x = ossl_pem_nth(pem_file, depth, e);
	unsigned char *der = NULL;
	int n, rc = -1;

	if (x == NULL)
		return -1;
	n = i2d_X509(x, &der);
	X509_free(x);
	if (n > 0)
		rc = tls_tlsa_from_der(der, (size_t)n, selector, mtype, out, max, len, e);
	if (rc != 0 && e != NULL && e->text[0] != '\0') {
		char why[sizeof e->text];
		snprintf(why, sizeof why, "%s", e->text);
		err_set(e, TLS_ERR_CONFIG, "%s: %s", pem_file, why);
	}
	OPENSSL_free(der);
	return rc;
}
