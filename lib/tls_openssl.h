/*
 * tls_openssl.h - what the files of the OpenSSL backend share: its
 * context and connection structs and the functions one file calls in the
 * other.  Included by lib/tls_openssl*.c only (ci/layering.txt), never by
 * neutral code.  Internal names carry the `ossl_` prefix.
 *
 *   tls_openssl.c         contexts (certificate groups, SNI), connections, I/O, the ops table
 *   tls_openssl_verify.c  facts after the handshake: chain problems, key types, names
 *   tls_openssl_ocsp.c    the staple served for the chosen certificate; OCSP response facts
 *   tls_openssl_dane.c    DANE: TLSA records to OpenSSL's verifier, its verdict
 */
#ifndef REFMTA_TLS_OPENSSL_H
#define REFMTA_TLS_OPENSSL_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
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
	int request_client_cert;   /* server */
	X509 *leaf[TLS_MAX_CERTS]; /* server: each configured leaf (owned by its SSL_CTX), so a
	                            * staple is chosen for the certificate served */
};

struct ossl_conn {
	struct tls_conn base;
	SSL *ssl;
	unsigned seen_flags;    /* chain problems collected by the verify callback */
	char first_detail[160]; /* OpenSSL's wording of the first problem */
	int dane;               /* client: TLSA records were given (tls_openssl_dane.c) */
};

static inline struct ossl_conn *
ossl_conn_of(const SSL *ssl)
{
	return SSL_get_app_data(ssl);
}

/* ---- tls_openssl_ocsp.c -------------------------------------------------------- */

/* Server: the status callback's answer, the staple for the certificate chosen. */
int ossl_staple_serve(SSL *ssl, struct ossl_conn *c);
/* The ops' ocsp_read (lib/tls_int.h). */
void ossl_ocsp_read(const unsigned char *resp, size_t len, const struct tls_der *leaf,
                    const struct tls_der *issuer, int check_signature, time_t now,
                    struct tls_ocsp_facts *out);
/* The ops' ocsp_query (lib/tls_int.h). */
int ossl_ocsp_query(const char *chain_file, struct tls_ocsp_query *out, struct err *e);

/* ---- tls_openssl_verify.c ------------------------------------------------------ */

/* The verify callback: collect every chain problem, never fail the handshake. */
int ossl_verify_cb(int ok, X509_STORE_CTX *xs);
/* After a handshake: fill c->base.info (version, suite, key types, chain, verdict). */
void ossl_fill_info(struct ossl_conn *c);
/* The ops' cert_names: decode one DER certificate's names. */
enum tls_status ossl_cert_names(const unsigned char *der, size_t len, struct tls_cert_names *out,
                                struct err *e) MUST_CHECK;

/* ---- tls_openssl_dane.c -------------------------------------------------------- */

/* Client, before the handshake: hand the usable TLSA records of `opts` to
 * OpenSSL (nothing without records).  SNI must already be set. */
enum tls_status ossl_dane_setup(struct ossl_conn *c, const struct tls_conn_opts *opts,
                                struct err *e) MUST_CHECK;
/* After the handshake: info.dane, dane_usage, dane_depth. */
void ossl_dane_result(struct ossl_conn *c);
/* The ops' dane_chain (lib/tls_int.h): OpenSSL's DANE verifier on a chain. */
enum tls_dane_result ossl_dane_chain(const struct tls_der *chain, size_t n,
                                     const struct tls_tlsa *tlsa, size_t ntlsa, int *usage,
                                     int *depth);
/* ---- tls_openssl_cert.c: the ops' cert_facts (${certextract}) ---- */
enum tls_status ossl_cert_facts(const unsigned char *der, size_t len, struct tls_cert_facts *f,
                                struct err *e) MUST_CHECK;

#endif
