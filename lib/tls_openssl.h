/*
 * tls_openssl.h - what the files of the OpenSSL backend share: its
 * context and connection structs and the functions one file calls in the
 * other.  Included by lib/tls_openssl*.c only (ci/layering.txt), never by
 * neutral code.  Internal names carry the `ossl_` prefix.
 *
 *   tls_openssl.c         contexts (certificate groups, SNI), connections, I/O, the ops table
 *   tls_openssl_verify.c  facts after the handshake: chain problems, key types, names
 */
#ifndef REFMTA_TLS_OPENSSL_H
#define REFMTA_TLS_OPENSSL_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_int.h"

struct ossl_group {
	SSL_CTX *ctx;
	struct tls_cert_names names; /* of the group's first certificate */
};

struct ossl_ctx {
	struct tls_ctx base;
	struct ossl_group groups[TLS_MAX_CERTS];
	size_t ngroups;
	int request_client_cert; /* server */
};

struct ossl_conn {
	struct tls_conn base;
	SSL *ssl;
	unsigned seen_flags;         /* chain problems collected by the verify callback */
	char first_detail[160];      /* OpenSSL's wording of the first problem */
	const unsigned char *staple; /* server: what to staple when asked */
	size_t staple_len;
};

static inline struct ossl_conn *
ossl_conn_of(const SSL *ssl)
{
	return SSL_get_app_data(ssl);
}

/* ---- tls_openssl_verify.c ------------------------------------------------------ */

/* The verify callback: collect every chain problem, never fail the handshake. */
int ossl_verify_cb(int ok, X509_STORE_CTX *xs);
/* After a handshake: fill c->base.info (version, suite, key types, chain, verdict). */
void ossl_fill_info(struct ossl_conn *c);
/* The ops' cert_names: decode one DER certificate's names. */
enum tls_status ossl_cert_names(const unsigned char *der, size_t len, struct tls_cert_names *out,
                                struct err *e) MUST_CHECK;

/* ---- tls_openssl_cert.c: the ops' cert_facts (${certextract}) ---- */
enum tls_status ossl_cert_facts(const unsigned char *der, size_t len, struct tls_cert_facts *f,
                                struct err *e) MUST_CHECK;

#endif
