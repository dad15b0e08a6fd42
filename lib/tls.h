/*
 * tls.h - the backend-neutral TLS interface (curl's vtls shape).
 *
 * Protocol code includes this file and never a TLS library's headers.  Two
 * backends implement `struct tls_backend`: lib/tls_openssl.c and
 * lib/tls_gnutls.c, both linked into every program and chosen at run time.
 *
 * A backend reports *facts* (version, IANA suite, peer chain, which checks of
 * the chain failed, staple bytes, DANE match).  *Policy* (is this failure
 * fatal, does the name match, is a missing staple an error) is written once,
 * in neutral code: lib/tls.c and lib/certname.c.
 *
 * Blocking I/O on a caller-owned socket.  Timeouts are the caller's:
 * set SO_RCVTIMEO / SO_SNDTIMEO on the fd; a timed-out call fails with
 * TLS_ERR_TIMEOUT.
 */
#ifndef REFMTA_TLS_H
#define REFMTA_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

enum tls_role { TLS_ROLE_CLIENT, TLS_ROLE_SERVER };

/* Return values of fallible TLS calls (also stored in struct err.code). */
enum tls_status {
	TLS_OK = 0,
	TLS_ERR_CONFIG,      /* bad configuration: file missing, key mismatch, bad priority */
	TLS_ERR_HANDSHAKE,   /* the handshake failed (alert, no shared cipher, ...) */
	TLS_ERR_IO,          /* the socket failed */
	TLS_ERR_TIMEOUT,     /* SO_RCVTIMEO / SO_SNDTIMEO expired */
	TLS_ERR_CLOSED,      /* the peer closed the connection (close_notify or EOF) */
	TLS_ERR_UNSUPPORTED, /* this backend cannot do what was asked */
};

/*
 * The canonical verification vocabulary, shared by both backends, so that
 * transcripts and logs never show a library's wording.  Each value has one
 * word (tls_verify_word()).  A backend sets bits (1u << value) in
 * tls_info.verify_flags for every problem it saw in the peer's chain;
 * tls_verify_summary() picks the one to report by the fixed precedence
 * below (first listed wins).
 */
enum tls_verify {
	TLS_VERIFY_OK = 0,           /* "ok": chain verified against the trust anchors */
	TLS_VERIFY_NOT_CHECKED,      /* "not-checked": no trust anchors were configured */
	TLS_VERIFY_NO_CERTIFICATE,   /* "no-certificate": the peer sent none */
	TLS_VERIFY_SELF_SIGNED,      /* "self-signed": the leaf signs itself and is not trusted */
	TLS_VERIFY_UNKNOWN_CA,       /* "unknown-ca": no path to a trust anchor */
	TLS_VERIFY_BAD_SIGNATURE,    /* "bad-signature": a signature in the chain does not verify */
	TLS_VERIFY_REVOKED,          /* "revoked": a CRL (or, later, a staple) says revoked */
	TLS_VERIFY_EXPIRED,          /* "expired": notAfter is in the past */
	TLS_VERIFY_NOT_YET_VALID,    /* "not-yet-valid": notBefore is in the future */
	TLS_VERIFY_INVALID,          /* "invalid": any other chain failure (see verify_detail) */
	TLS_VERIFY_NAME_MISMATCH,    /* "name-mismatch": set by tls_conn_check_name() */
	TLS_VERIFY_STAPLE_MISSING,   /* "staple-missing": set by tls_conn_require_staple() */
	TLS_VERIFY__COUNT
};

#define TLS_VERIFY_BIT(v) (1u << (v))

/* Protocol versions for tls_config.min_version / max_version. */
enum tls_version { TLS_VERSION_DEFAULT = 0, TLS_VERSION_1_2 = 12, TLS_VERSION_1_3 = 13 };

#define TLS_MAX_CERTS 8   /* server certificates per context */
#define TLS_MAX_CHAIN 10  /* peer chain elements recorded */

struct tls_keypair {
	const char *cert_file; /* PEM: the leaf first, then its intermediates */
	const char *key_file;  /* PEM private key of the leaf */
};

/*
 * What a context is built from.  The strings are copied by ctx_new where a
 * backend needs them later; the caller keeps ownership.
 */
struct tls_config {
	enum tls_role role;
	/* Server: one or more certificates (e.g. RSA and ECDSA, or one per
	 * hostname); the backend picks by SNI first, then by the client's
	 * signature algorithms.  Client: at most one, the client certificate. */
	struct tls_keypair certs[TLS_MAX_CERTS];
	size_t ncerts;
	const char *ca_file;      /* PEM trust anchors; NULL = do not verify (TLS_VERIFY_NOT_CHECKED) */
	const char *crl_file;     /* PEM CRLs checked against the leaf and intermediates; may be NULL */
	const char *ciphers;      /* backend-native: OpenSSL cipher list / GnuTLS priority string; NULL = default */
	const char *sigalgs;      /* neutral: "RSA" or "ECDSA" offers only that family's signature
	                           * algorithms (a client steering a server's certificate choice); NULL = all */
	enum tls_version min_version;
	enum tls_version max_version;
	int request_client_cert;  /* server: ask for a client certificate (never required) */
	const char *keylog_file;  /* append SSLKEYLOGFILE lines here; NULL = none */
};

/* One TLSA record (RFC 6698) as handed over by the DNS layer. */
struct tls_tlsa {
	uint8_t usage, selector, mtype;
	const unsigned char *data;
	size_t len;
};

/* Per-connection options; all optional.  Pointers must live until the handshake ends. */
struct tls_conn_opts {
	const char *sni;                  /* client: server name to send; NULL = none */
	int request_staple;               /* client: send status_request (OCSP) */
	const unsigned char *staple;      /* server: DER OCSP response to staple when asked */
	size_t staple_len;
	const struct tls_tlsa *tlsa;      /* client: TLSA records for DANE (issue: DANE) */
	size_t ntlsa;
};

struct tls_der {
	unsigned char *data; /* owned by the tls_info that holds it */
	size_t len;
};

enum tls_dane_result {
	TLS_DANE_NOT_ASKED = 0,
	TLS_DANE_MATCH,
	TLS_DANE_NO_MATCH,
};

/*
 * Facts about one connection, filled by the backend at handshake time and
 * amended by the neutral policy functions.  Identical field by field whichever
 * backend made the connection.
 */
struct tls_info {
	const char *backend;        /* "openssl" | "gnutls" */
	enum tls_role role;
	char version[16];           /* "TLSv1.2" | "TLSv1.3" */
	char cipher[80];            /* IANA name: "TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
	char sni[256];              /* server: the name the client asked for; client: the name sent; "" = none */
	char local_key_type[16];    /* key type of the certificate we presented: "RSA" | "ECDSA" | "Ed25519" | "" */
	char peer_key_type[16];     /* the same for the peer's leaf */
	struct tls_der peer_chain[TLS_MAX_CHAIN]; /* as the peer sent it, leaf at depth 0 */
	size_t peer_chain_len;
	unsigned verify_flags;      /* TLS_VERIFY_BIT()s; empty with a configured CA and a good chain */
	enum tls_verify verify;     /* summary by precedence, see tls_verify_summary() */
	char verify_detail[160];    /* the library's own wording, for logs only */
	int staple_requested;       /* server: the client asked for a staple; client: we asked */
	int staple_sent;            /* server: we sent one */
	struct tls_der staple;      /* client: the DER staple received (len 0 = none) */
	enum tls_dane_result dane;
	int dane_usage, dane_depth; /* of the matching TLSA record, when dane == MATCH */
};

/* Names a certificate presents, for the neutral name check. */
struct tls_cert_names {
	char **dns;   /* dNSName subjectAltNames, in certificate order */
	size_t ndns;
	char *cn;     /* the last subject commonName, or NULL */
};

struct tls_ctx;
struct tls_conn;

/*
 * The vtable.  Every function pointer is set by both backends; one that a
 * backend cannot serve fails with TLS_ERR_UNSUPPORTED.
 */
struct tls_backend {
	const char *name;                   /* "openssl" | "gnutls" */
	const char *(*version)(void);       /* "OpenSSL 3.0.x ..." / "GnuTLS 3.7.x" */
	struct tls_ctx *(*ctx_new)(const struct tls_config *cfg, struct err *e);
	void (*ctx_free)(struct tls_ctx *ctx);
	struct tls_conn *(*conn_new)(struct tls_ctx *ctx, int fd,
	                             const struct tls_conn_opts *opts, struct err *e);
	enum tls_status (*handshake)(struct tls_conn *c, struct err *e);
	ssize_t (*read)(struct tls_conn *c, void *buf, size_t len, struct err *e);   /* 0 = clean close */
	ssize_t (*write)(struct tls_conn *c, const void *buf, size_t len, struct err *e);
	void (*shutdown)(struct tls_conn *c);  /* send close_notify, do not wait */
	void (*conn_free)(struct tls_conn *c);
	/* Decode one DER certificate's names.  Caller frees with tls_cert_names_free(). */
	enum tls_status (*cert_names)(const unsigned char *der, size_t len,
	                              struct tls_cert_names *out, struct err *e);
};

/*
 * The neutral head of every backend's context and connection structs: each
 * backend's struct starts with one of these, so neutral code can reach the
 * facts without knowing the backend.
 */
struct tls_ctx {
	const struct tls_backend *be;
	enum tls_role role;
	char *keylog_file;
};

struct tls_conn {
	const struct tls_backend *be;
	struct tls_ctx *ctx;
	int fd;
	struct tls_info info;
};

extern const struct tls_backend tls_backend_openssl;
extern const struct tls_backend tls_backend_gnutls;

/* "openssl" or "gnutls" -> backend; NULL for anything else. */
const struct tls_backend *tls_backend_by_name(const char *name);

/* Neutral wrappers: dispatch through c->be.  Same contracts as the vtable. */
struct tls_ctx *tls_ctx_new(const struct tls_backend *be, const struct tls_config *cfg, struct err *e);
void tls_ctx_free(struct tls_ctx *ctx);                     /* accepts NULL */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd, const struct tls_conn_opts *opts, struct err *e);
enum tls_status tls_conn_handshake(struct tls_conn *c, struct err *e) MUST_CHECK;
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t len, struct err *e);
ssize_t tls_conn_write(struct tls_conn *c, const void *buf, size_t len, struct err *e);
void tls_conn_shutdown(struct tls_conn *c);
void tls_conn_free(struct tls_conn *c);                     /* accepts NULL; frees the info too */
const struct tls_info *tls_conn_info(const struct tls_conn *c);

/*
 * Policy, written once.  tls_conn_check_name(): does the peer's leaf carry
 * `host` (lib/certname.c rules)?  On mismatch sets TLS_VERIFY_NAME_MISMATCH
 * and re-summarises.  tls_conn_require_staple(): no staple received ->
 * TLS_VERIFY_STAPLE_MISSING.  Both return the resulting summary.
 */
enum tls_verify tls_conn_check_name(struct tls_conn *c, const char *host);
enum tls_verify tls_conn_require_staple(struct tls_conn *c);

/* The canonical word for a verification value ("unknown-ca", ...). */
const char *tls_verify_word(enum tls_verify v);
/* The value with the highest precedence among `flags`; TLS_VERIFY_OK if none. */
enum tls_verify tls_verify_summary(unsigned flags);

/* Helpers for backends. */
void tls_info_set_der(struct tls_der *d, const unsigned char *data, size_t len);
void tls_info_clear(struct tls_info *info);
/* Append one NSS key log line (no newline needed) to the context's keylog file. */
void tls_keylog_append(const struct tls_ctx *ctx, const char *line);
void tls_cert_names_free(struct tls_cert_names *n);          /* frees the members; accepts NULL */
/* Do any of these names (SANs, else CN) match `host`?  1 yes, 0 no. */
int tls_cert_names_match(const struct tls_cert_names *n, const char *host);
/* The same names in the same order (case-insensitive)?  1 yes, 0 no.  Servers
 * group certificates that serve one identity (e.g. RSA + ECDSA) by it. */
int tls_cert_names_equal(const struct tls_cert_names *a, const struct tls_cert_names *b);

#endif
