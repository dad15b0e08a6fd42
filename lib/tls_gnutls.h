/*
 * tls_gnutls.h - what the files of the GnuTLS backend share: its
 * context and connection structs and the functions one file calls in
 * another.  Included by lib/tls_gnutls*.c only (ci/layering.txt), never by
 * neutral code.  Internal names carry the `gtls_` prefix: `gnutls_*` is the
 * library's namespace.
 *
 *   tls_gnutls.c         contexts, connections, I/O, the ops table
 *   tls_gnutls_server.c  server callbacks: certificate choice, staples
 *   tls_gnutls_verify.c  facts after the handshake: chain check, key types, names
 *   tls_gnutls_ocsp.c    OCSP response facts (CertID, status, times, signature)
 *   tls_gnutls_dane.c    DANE through libgnutls-dane's raw-record verification
 */
#ifndef REFMTA_TLS_GNUTLS_H
#define REFMTA_TLS_GNUTLS_H

#include <gnutls/abstract.h>
#include <gnutls/dane.h>
#include <gnutls/gnutls.h>
#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

#include "tls_int.h"

/* One server certificate, as our selection callback hands it to GnuTLS. */
struct gtls_keypair {
	gnutls_pcert_st *pcert; /* the chain, leaf first */
	unsigned npcert;
	gnutls_privkey_t key;
	gnutls_pk_algorithm_t pk;
	struct tls_cert_names names; /* of the leaf, for SNI */
	size_t group;                /* index of the first pair with the very same names */
};

struct gtls_ctx {
	struct tls_ctx base; /* first: neutral code casts */
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	struct gtls_keypair kp[TLS_MAX_CERTS]; /* server only; all owned, freed by ctx_free */
	size_t nkp;
	int request_client_cert;
};

struct gtls_conn {
	struct tls_conn base; /* first: neutral code casts */
	gnutls_session_t s;
	int chosen; /* server: the index of the certificate gtls_select_cert_cb chose, or -1 */
	int offers_rsa, offers_ecdsa; /* server: TLS 1.2 suites the client offered */
	int asks_status;              /* server: the ClientHello has status_request (ocsp) */
	int chain_stapled; /* server, TLS 1.3: staples given per element in the retrieve callback */
	gnutls_ocsp_data_st ocsp[TLS_MAX_CHAIN]; /* server: their bytes (the caller's) */
	int would_block; /* the socket said EAGAIN (SO_RCVTIMEO/SO_SNDTIMEO) since the last call */
	const struct tls_tlsa *tlsa; /* client: tls_conn_opts.tlsa, until the handshake ends */
	size_t ntlsa;
};

#define GTLS_CTX(c) ((struct gtls_ctx *)(void *)(c))
#define GTLS_CONN(c) ((struct gtls_conn *)(void *)(c))

/* ---- tls_gnutls_server.c ---------------------------------------------------- */

/* Keep pair `idx` of x->cred in x->kp[x->nkp] (nkp grows even on failure, so
 * ctx_free releases what was filled).  `file` names it in the error. */
int gtls_keypair_keep(struct gtls_ctx *x, unsigned idx, const char *file, struct err *e) MUST_CHECK;
/* The certificate retrieve callback: our choice by SNI and signature algorithms. */
int gtls_select_cert_cb(gnutls_session_t s, const struct gnutls_cert_retr_st *info,
                        gnutls_pcert_st **certs, unsigned *ncerts, gnutls_ocsp_data_st **ocsp,
                        unsigned *nocsp, gnutls_privkey_t *key, unsigned *flags);
/* The OCSP status request callback: the caller's staple for the chosen certificate, unjudged. */
int gtls_staple_cb(gnutls_session_t s, void *ptr, gnutls_datum_t *resp);
/* ClientHello hook: which TLS 1.2 suites (RSA / ECDSA) the client offers. */
int gtls_client_hello_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                           const gnutls_datum_t *msg);

/* ---- tls_gnutls_ocsp.c ------------------------------------------------------------ */

/* The ops' ocsp_read (lib/tls_int.h). */
void gtls_ocsp_read(const unsigned char *resp, size_t len, const struct tls_der *leaf,
                    const struct tls_der *issuer, int check_signature, time_t now,
                    struct tls_ocsp_facts *out);
/* The ops' ocsp_query (lib/tls_int.h). */
int gtls_ocsp_query(const char *chain_file, struct tls_ocsp_query *out, struct err *e);

/* ---- tls_gnutls_verify.c ---------------------------------------------------- */

/* After a handshake: fill c->base.info (version, suite, chain, verdict, staple). */
void gtls_fill_info(struct gtls_conn *c);
/* The ops' cert_names: decode one DER certificate's names. */
enum tls_status gtls_cert_names(const unsigned char *der, size_t len, struct tls_cert_names *out,
                                struct err *e) MUST_CHECK;

/* ---- tls_gnutls_dane.c ------------------------------------------------------ */

/* After a client handshake with TLSA records: info.dane, dane_usage, dane_depth. */
void gtls_dane_result(struct gtls_conn *c);
/* The ops' dane_chain (lib/tls_int.h). */
enum tls_dane_result gtls_dane_chain(const struct tls_der *chain, size_t n,
                                     const struct tls_tlsa *tlsa, size_t ntlsa, int *usage,
                                     int *depth);
/* ---- tls_gnutls_cert.c: the ops' cert_facts (${certextract}) ---- */
enum tls_status gtls_cert_facts(const unsigned char *der, size_t len, struct tls_cert_facts *f,
                                struct err *e) MUST_CHECK;

#endif
