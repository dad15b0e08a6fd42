/*
 * tls_int.h - what a TLS backend implements, and the helpers only backends
 * and the neutral TLS code use (curl's vtls_int.h beside vtls.h).
 *
 * Included by lib/tls*.c only; protocol code (server/, runtest/, ...) sees
 * lib/tls.h, where contexts and connections are opaque.  A backend fills a
 * `struct tls_backend_ops`, starts its context and connection structs with the
 * neutral heads below, and reports facts; the verdict words, the capability
 * refusals and the base set-up are written once, here and in lib/tls.c /
 * lib/tls_verdict.c, so the two backends cannot drift apart on them.
 */
#ifndef REFMTA_TLS_INT_H
#define REFMTA_TLS_INT_H

#include "strlist.h"
#include "tls.h"
#include "tls_ocsp.h"

/* Names a certificate presents, for the neutral name check. */
struct tls_cert_names {
	char **dns; /* dNSName subjectAltNames, in certificate order ("" = one that cannot match) */
	size_t ndns;
	char *cn; /* the last subject commonName, or NULL */
};

/* A certificate's fields as a backend reads them (lib/tls_cert.c formats). */
struct tls_cert_facts {
	char *subject, *issuer;   /* RFC 4514 strings, most specific RDN first */
	unsigned char serial[64]; /* the serial number's octets, big-endian */
	size_t serial_len;
	long long notbefore, notafter; /* seconds since the epoch, UTC */
	char sig_oid[64];              /* the signature algorithm's OID, dotted */
	int version;                   /* 1..3 */
	struct strlist san;            /* "dns=NAME" / "mail=ADDR", in certificate order */
	struct strlist ocsp;           /* AIA OCSP URIs */
	struct strlist crl;            /* CRL distribution point URIs */
};
void tls_cert_facts_free(struct tls_cert_facts *f); /* members; accepts NULL */

/*
 * The operations.  Every pointer is set by every backend, except those a
 * capability bit guards.  The neutral
 * wrappers in lib/tls.c have already checked the configuration's shape and the
 * capability bits when ctx_new / conn_new run.
 */
struct tls_backend_ops {
	struct tls_ctx *(*ctx_new)(const struct tls_config *cfg, struct err *e);
	void (*ctx_free)(struct tls_ctx *ctx);
	struct tls_conn *(*conn_new)(struct tls_ctx *ctx, int fd, const struct tls_conn_opts *opts,
	                             struct err *e);
	enum tls_status (*handshake)(struct tls_conn *c, struct err *e);
	ssize_t (*read)(struct tls_conn *c, void *buf, size_t len,
	                struct err *e); /* 0 = clean close */
	ssize_t (*write)(struct tls_conn *c, const void *buf, size_t len, struct err *e);
	void (*shutdown)(struct tls_conn *c); /* send close_notify, do not wait */
	/* Server, TLS 1.3, TLS_CAP_TICKETS only (NULL otherwise): one NewSessionTicket now. */
	enum tls_status (*send_ticket)(struct tls_conn *c, struct err *e);
	/* TLS 1.3: one KeyUpdate (update_requested) now (RFC 8446 4.6.3). */
	enum tls_status (*key_update)(struct tls_conn *c, struct err *e);
	void (*conn_free)(struct tls_conn *c);
	/* Decode one DER certificate's names.  Caller frees with tls_cert_names_free(). */
	enum tls_status (*cert_names)(const unsigned char *der, size_t len,
	                              struct tls_cert_names *out, struct err *e);
	/* Facts of one OCSP response (lib/tls_ocsp.h, tls_ocsp_read(); `out` zeroed,
	 * resp and leaf non-empty): lib/tls_openssl_ocsp.c, lib/tls_gnutls_ocsp.c. */
	void (*ocsp_read)(const unsigned char *resp, size_t len, const struct tls_der *leaf,
	                  const struct tls_der *issuer, int check_signature, time_t now,
	                  struct tls_ocsp_facts *out);
	/* tls_ocsp_query_new()'s work (lib/tls_ocsp.h): out is zeroed. */
	int (*ocsp_query)(const char *chain_file, struct tls_ocsp_query *out, struct err *e);
	/* TLS_CAP_DANE: match a chain (leaf first) against usable TLSA records
	 * without a handshake, as after one; names are not checked here.
	 * TLS_DANE_MATCH with *usage and *depth, or TLS_DANE_NO_MATCH. */
	enum tls_dane_result (*dane_chain)(const struct tls_der *chain, size_t n,
	                                   const struct tls_tlsa *tlsa, size_t ntlsa, int *usage,
	                                   int *depth);
	/* Decode one DER certificate's fields for tls_cert_extract().  Caller
	 * frees with tls_cert_facts_free(). */
	enum tls_status (*cert_facts)(const unsigned char *der, size_t len,
	                              struct tls_cert_facts *out, struct err *e);
};

/*
 * The neutral head of every backend's context and connection structs: each
 * backend's struct starts with one of these, so neutral code can reach the
 * facts without knowing the backend.
 */
struct tls_ctx {
	const struct tls_backend *be;
	enum tls_role role;
	char *keylog_file; /* owned; NULL = none */
	int have_ca;       /* trust anchors loaded: verification means something */
};

struct tls_conn {
	const struct tls_backend *be;
	struct tls_ctx *ctx;
	int fd;
	struct tls_info info;
	unsigned long long deadline_ms; /* tls_conn_set_deadline(); 0 = none */
	unsigned idle_ms;               /* the socket's own timeout, restored when cleared */
	int armed;                      /* the socket's timeouts were cut for the deadline */
	/* server: tls_conn_opts' staple choice, copied by tls_conn_new() */
	tls_staple_fn *staple_for;
	void *staple_arg;
	const unsigned char *staple;
	size_t staple_len;
};

/*
 * Server: the staple for the certificate a handshake chose (RFC 6066 8):
 * the caller's tls_conn_opts.staple_for when set, else its fixed staple
 * (the leaf's only: depth 0).
 * `index` is the chosen certificate's place in tls_config.certs, `depth` the
 * chain element (0 the leaf; TLS_CAP_STAPLE_CHAIN backends ask for 1.. after 0), `leaf` and
 * `issuer` (may be NULL) its DER, `sni` the name the client sent (may be
 * NULL).  0 with *staple set (len 0 = none); bytes owned by the caller.
 */
void tls_conn_pick_staple(struct tls_conn *c, size_t index, size_t depth, const char *sni,
                          const struct tls_der *leaf, const struct tls_der *issuer,
                          const unsigned char **staple, size_t *len);

/* ---- base set-up (lib/tls.c) ------------------------------------------------ */

/* Fill a context's neutral head from `cfg` (copies keylog_file); `be` is set
 * by tls_ctx_new() when the backend's ctx_new returns.  On failure `e` is
 * filled; tls_ctx_base_release() is safe either way. */
int tls_ctx_base_init(struct tls_ctx *base, const struct tls_config *cfg, struct err *e) MUST_CHECK;
/* Free what tls_ctx_base_init() allocated (not `base` itself). */
void tls_ctx_base_release(struct tls_ctx *base);
/* Fill a connection's neutral head. */
void tls_conn_base_init(struct tls_conn *c, struct tls_ctx *ctx, int fd);

/*
 * Before each recv(2) / send(2) a backend makes (its transport functions):
 * 0 = go on, the socket's SO_RCVTIMEO (or SO_SNDTIMEO for a write) cut to
 * what is left of the deadline; -1 with errno EAGAIN once it has passed, so
 * the backend reports TLS_ERR_TIMEOUT as for an expired socket timeout.
 * Nothing is changed without a deadline.
 */
int tls_conn_io_arm(struct tls_conn *c, int for_write) MUST_CHECK;

/* ---- facts and verdicts (lib/tls_verdict.c) ---------------------------------- */

/* Copy `len` bytes into `d` (freeing what was there); len 0 or NULL clears. */
void tls_info_set_der(struct tls_der *d, const unsigned char *data, size_t len);
/* Append one certificate to info->peer_chain (dropped past TLS_MAX_CHAIN). */
void tls_info_add_peer_cert(struct tls_info *info, const unsigned char *der, size_t len);
/* Free the chain and the staple. */
void tls_info_clear(struct tls_info *info);

/*
 * Does the peer's chain need checking at all?  Not without trust anchors
 * (not-checked) nor without a chain (no-certificate): a backend may skip its
 * library's verification then.  Reads the chain recorded in c->info.
 */
int tls_conn_chain_checkable(const struct tls_conn *c);
/*
 * The verdict on the peer's chain, one rule for both backends: no trust
 * anchors -> not-checked; no chain -> no-certificate; else the problems the
 * backend saw (`chain_flags`, TLS_VERIFY_BIT()s) with `detail`, the library's
 * wording of the first (NULL: none).  Sets verify_flags, verify_detail and
 * the summary.  Call after the peer chain is recorded.
 */
void tls_conn_set_verdict(struct tls_conn *c, unsigned chain_flags, const char *detail);

/* Append one NSS key log line (no newline needed) to the context's keylog file. */
void tls_keylog_append(const struct tls_ctx *ctx, const char *line);

/* ---- certificate names (lib/tls.c) ----------------------------------------------- */

/*
 * Add one dNSName SAN of `len` bytes.  A name with an embedded NUL (a
 * CVE-2009-2408 style "a.example\0.evil") is kept as "", which matches
 * nothing but still counts as "the certificate has SANs" (RFC 6125 6.4.4:
 * no CN fallback then).  -1 on out of memory.
 */
int tls_cert_names_add_dns(struct tls_cert_names *n, const char *data, size_t len) MUST_CHECK;
void tls_cert_names_free(struct tls_cert_names *n); /* frees the members; accepts NULL */
/* Do any of these names (SANs, else CN) match `host`?  1 yes, 0 no. */
int tls_cert_names_match(const struct tls_cert_names *n, const char *host);
/* The same names in the same order (case-insensitive)?  1 yes, 0 no.  Servers
 * group certificates that serve one identity (e.g. RSA + ECDSA) by it. */
int tls_cert_names_equal(const struct tls_cert_names *a, const struct tls_cert_names *b);

#endif
