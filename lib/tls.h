/*
 * tls.h - the backend-neutral TLS interface (curl's vtls.h shape).
 *
 * Protocol code includes this file and never a TLS library's headers.  Two
 * backends implement it (lib/tls_openssl*.c and lib/tls_gnutls*.c), both
 * linked into every program and chosen at run time.  What a backend
 * implements (the operations table, the neutral heads of its structs, the
 * helpers it shares) is lib/tls_int.h, which callers never include: contexts
 * and connections are opaque here.
 *
 * A backend reports *facts* (version, IANA suite, peer chain, which checks of
 * the chain failed, staple bytes, DANE match).  *Policy* (is this failure
 * fatal, does the name match, is a missing staple an error) is written once,
 * in neutral code: lib/tls.c, lib/tls_verdict.c and lib/certname.c.  What a
 * backend can do at all is told by its capability bits (tls_backend_caps()),
 * so a caller asks before it relies on DANE or staples.
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
	TLS_VERIFY_OK = 0,         /* "ok": chain verified against the trust anchors */
	TLS_VERIFY_NOT_CHECKED,    /* "not-checked": no trust anchors were configured */
	TLS_VERIFY_NO_CERTIFICATE, /* "no-certificate": the peer sent none */
	TLS_VERIFY_SELF_SIGNED,    /* "self-signed": the leaf signs itself and is not trusted */
	TLS_VERIFY_UNKNOWN_CA,     /* "unknown-ca": no path to a trust anchor */
	TLS_VERIFY_BAD_SIGNATURE,  /* "bad-signature": a signature in the chain does not verify */
	TLS_VERIFY_REVOKED,        /* "revoked": a CRL (or, later, a staple) says revoked */
	TLS_VERIFY_EXPIRED,        /* "expired": notAfter is in the past */
	TLS_VERIFY_NOT_YET_VALID,  /* "not-yet-valid": notBefore is in the future */
	TLS_VERIFY_INVALID,        /* "invalid": any other chain failure (see verify_detail) */
	TLS_VERIFY_NAME_MISMATCH,  /* "name-mismatch": set by tls_conn_check_name() */
	TLS_VERIFY_STAPLE_MISSING, /* "staple-missing": set by tls_conn_require_staple() */
	TLS_VERIFY__COUNT
};

#define TLS_VERIFY_BIT(v) (1u << (v))

/* Protocol versions for tls_config.min_version / max_version. */
enum tls_version { TLS_VERSION_DEFAULT = 0, TLS_VERSION_1_2 = 12, TLS_VERSION_1_3 = 13 };

#define TLS_MAX_CERTS 8  /* server certificates per context */
#define TLS_MAX_CHAIN 10 /* peer chain elements recorded */

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
	const char *ca_file;  /* PEM trust anchors; NULL = do not verify (TLS_VERIFY_NOT_CHECKED) */
	const char *crl_file; /* PEM CRLs checked against the leaf and intermediates; may be NULL */
	const char *ciphers; /* backend-native: OpenSSL cipher list / GnuTLS priority string; NULL =
	                        default */
	const char *sigalgs; /* neutral: "RSA" or "ECDSA" offers only that family's signature
	                      * algorithms (a client steering a server's certificate choice); NULL =
	                      * all */
	enum tls_version min_version;
	enum tls_version max_version;
	const char *groups;      /* neutral: the key exchange groups offered, in order, separated by
	                          * spaces or ':', of "X25519", "X448", "P-256", "P-384", "P-521"
	                          * (RFC 8446 4.2.7); NULL = the library's default */
	int request_client_cert; /* server: ask for a client certificate (never required) */
	const char *keylog_file; /* append SSLKEYLOGFILE lines here; NULL = none */
	unsigned tls13_tickets; /* server: NewSessionTickets sent after a TLS 1.3 handshake, as real
	                         * servers do (RFC 8446 4.6.1); 0 = none (needs TLS_CAP_TICKETS) */
};

/* One TLSA record (RFC 6698) as handed over by the DNS layer. */
struct tls_tlsa {
	uint8_t usage, selector, mtype;
	const unsigned char *data;
	size_t len;
};

/*
 * Server: which staple to send, asked once the handshake has chosen a
 * certificate and the client sent status_request (RFC 6066 8).  `index` is
 * the certificate's place in tls_config.certs; `depth` the chain element the
 * staple is for (0 the leaf); `leaf` and `issuer` (NULL when the chain has
 * none) the DER of that element and of the next one up; `sni` the client's
 * name or NULL.  Depth 0 is always asked first; a backend with
 * TLS_CAP_STAPLE_CHAIN then asks, in the same handshake and in TLS 1.3
 * only, for depth 1, 2, ... of the chain it sends (RFC 8446 4.4.2.1: a
 * status_request in each CertificateEntry).  Set *staple and *len (0 = send
 * none); the bytes stay the callee's and must live until the handshake
 * ends.  The callee judges (lib/tls_ocsp.h); the backend sends what it is
 * given.
 */
struct tls_staple_query {
	size_t index;
	size_t depth;
	const char *sni;
	const struct tls_der *leaf;   /* the certificate at `depth` */
	const struct tls_der *issuer; /* the one at depth + 1, or NULL */
};
typedef void tls_staple_fn(void *arg, const struct tls_staple_query *q,
                           const unsigned char **staple, size_t *len);
enum { TLS_TLSA_PKIX_TA = 0, TLS_TLSA_PKIX_EE = 1, TLS_TLSA_DANE_TA = 2, TLS_TLSA_DANE_EE = 3 };

/* Is this record usable for SMTP?  Only DANE-TA(2) and DANE-EE(3), selector
 * 0/1, matching type 0/1/2 with the right digest length (RFC 7672 3.1.3).
 * 1 yes, 0 no.  Backends are only ever handed usable records. */
int tls_tlsa_usable(const struct tls_tlsa *r);
/* How many of `v` are usable: 0 means "no DANE for this host". */
size_t tls_tlsa_count_usable(const struct tls_tlsa *v, size_t n);

/*
 * The certificate association data of a TLSA record made from the
 * `depth`th certificate of a PEM file (0 = the first), with `selector`
 * (0 full certificate, 1 SubjectPublicKeyInfo) and `mtype` (0 full,
 * 1 SHA-256, 2 SHA-512), for test fixtures (runtest's zones, the DANE
 * corpus).  Writes at most `max` bytes to `out` and their count to `*len`.
 * Made with OpenSSL whatever backend is in use (lib/tls_openssl_dane.c).
 */
int tls_tlsa_make(const char *pem_file, unsigned depth, unsigned selector, unsigned mtype,
                  unsigned char *out, size_t max, size_t *len, struct err *e) MUST_CHECK;
/* The same from one DER certificate (a peer's, tls_info.peer_chain), for
 * reports such as `refmta dane-check`.  -1 with `e` filled. */
int tls_tlsa_from_der(const unsigned char *der, size_t len, unsigned selector, unsigned mtype,
                      unsigned char *out, size_t max, size_t *outlen, struct err *e) MUST_CHECK;

/* Per-connection options; all optional.  Pointers must live until the handshake ends. */
struct tls_conn_opts {
	const char *sni;    /* client: server name to send; NULL = none */
	int request_staple; /* client: send status_request (OCSP) */
	const unsigned char
	        *staple; /* server: DER OCSP response to staple when asked (TLS_CAP_STAPLE_SERVE) */
	size_t staple_len;
	tls_staple_fn
	        *staple_for; /* server: choose the staple per certificate (wins over staple) */
	void *staple_arg;
	const struct tls_tlsa *tlsa; /* client: TLSA records for DANE (needs TLS_CAP_DANE) */
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
	const char *backend; /* "openssl" | "gnutls" */
	enum tls_role role;
	char version[16]; /* "TLSv1.2" | "TLSv1.3" */
	char cipher[80];  /* IANA name: "TLS_AES_256_GCM_SHA384",
	                     "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
	char group[16]; /* the key exchange group: "X25519" | "X448" | "P-256" | "P-384" | "P-521" |
	                   "" (other, none) */
	char sni[256]; /* server: the name the client asked for; client: the name sent; "" = none */
	char local_key_type[16]; /* key type of the certificate we presented: "RSA" | "ECDSA" |
	                            "Ed25519" | "" */
	char peer_key_type[16];  /* the same for the peer's leaf */
	struct tls_der peer_chain[TLS_MAX_CHAIN]; /* as the peer sent it, leaf at depth 0 */
	size_t peer_chain_len;
	struct tls_der anchor;  /* the trust anchor the chain verified against, when the peer
	                         * did not send it (the top of the verification chain; the
	                         * seed's tls:cert walks it); len 0: none, or not verified */
	unsigned verify_flags;  /* TLS_VERIFY_BIT()s; empty with a configured CA and a good chain */
	enum tls_verify verify; /* summary by precedence, see tls_verify_summary() */
	char verify_detail[160]; /* the library's own wording, for logs only */
	int staple_requested;    /* server: the client asked for a staple; client: we asked */
	int staple_sent;         /* server: we sent one */
	struct tls_der staple;   /* client: the DER staple received (len 0 = none) */
	/* client, TLS 1.3 with TLS_CAP_STAPLE_CHAIN: the staple received in the
	 * CertificateEntry of peer_chain[d], d >= 1 (RFC 8446 4.4.2.1); [0] is
	 * unused (the leaf's is `staple`); len 0 = none */
	struct tls_der chain_staple[TLS_MAX_CHAIN];
	int chain_staples_sent;     /* server: staples sent for elements above the leaf */
	enum tls_dane_result dane;  /* NOT_ASKED without tls_conn_opts.tlsa */
	int dane_usage, dane_depth; /* of the matching TLSA record, when dane == MATCH */
	int dane_name_mismatch;     /* a DANE-TA match whose leaf carries none of the names */
};

struct tls_ctx;  /* opaque: one configured TLS context (lib/tls_int.h) */
struct tls_conn; /* opaque: one connection over a caller-owned socket */

/*
 * What a backend can do, as bits of tls_backend.caps (tls_backend_caps()).
 * A request for something the backend lacks fails at once with
 * TLS_ERR_UNSUPPORTED (tls_ctx_new / tls_conn_new), never halfway through a
 * handshake.
 */
enum tls_cap {
	TLS_CAP_DANE = 1u << 0, /* client: tls_conn_opts.tlsa (RFC 7672) */
	TLS_CAP_STAPLE_SERVE =
	        1u << 1, /* server: tls_conn_opts.staple served as is, even a bad one */
	TLS_CAP_STAPLE_CHECK =
	        1u << 2, /* client: request_staple, and the DER received in tls_info.staple */
	TLS_CAP_KEYLOG = 1u << 3,       /* tls_config.keylog_file */
	TLS_CAP_CLIENT_CERT = 1u << 4,  /* client certificates, both sides (request_client_cert) */
	TLS_CAP_TICKETS = 1u << 5,      /* server: tls13_tickets and tls_conn_send_ticket() */
	TLS_CAP_STAPLE_CHAIN = 1u << 6, /* TLS 1.3: a staple per chain element, served
	                                 * (staple_for asked per depth) and received
	                                 * (tls_info.chain_staple); RFC 8446 4.4.2.1 */
};

/*
 * One backend as callers see it.  The operations behind it are
 * lib/tls_int.h's business; `name`, `version` and `caps` are public.
 */
struct tls_backend_ops;
struct tls_backend {
	const char *name;                  /* "openssl" | "gnutls" */
	const char *(*version)(void);      /* "OpenSSL 3.0.x ..." / "GnuTLS 3.7.x" */
	unsigned caps;                     /* enum tls_cap bits */
	const struct tls_backend_ops *ops; /* lib/tls_int.h */
};

extern const struct tls_backend tls_backend_openssl;
extern const struct tls_backend tls_backend_gnutls;

/* "openssl" or "gnutls" -> backend; NULL for anything else. */
const struct tls_backend *tls_backend_by_name(const char *name);
/* The backend's enum tls_cap bits. */
unsigned tls_backend_caps(const struct tls_backend *be);
/*
 * ${certextract{FIELD}{CERT}} (docs/events.md): one field of the first
 * certificate in `pem`, decoded by `be` and written the same way by both
 * backends (lib/tls_cert.c).  FIELD: subject, issuer, serial_number
 * (serial), notbefore, notafter (YYYY-MM-DDTHH:MM:SSZ), sig_algorithm,
 * version, ocsp_uri, crl_uri, subj_altname[,dns|,mail][,>SEP] (all names
 * "dns=..."/"mail=..."; with a selector only those, bare).  Lists are
 * joined by SEP (default "\n").  0 with *out (caller frees); -1 with
 * `e` filled (bad PEM, unknown field, out of memory).
 */
int tls_cert_extract(const struct tls_backend *be, const char *pem, const char *field, char **out,
                     struct err *e) MUST_CHECK;
/* The backend certificate decoding uses where no connection says (the
 * process's chosen one: set by delivery and the server context). */
void tls_backend_use(const struct tls_backend *be);
const struct tls_backend *tls_backend_in_use(void); /* default: OpenSSL */

/* The backend a context was made with (for its name in a log line). */
const struct tls_backend *tls_ctx_backend(const struct tls_ctx *ctx);

/*
 * A context from a configuration; NULL with `e` filled on failure (a missing
 * file, a bad cipher string, a capability the backend lacks).  Caller frees
 * with tls_ctx_free(), after every connection made from it.
 */
struct tls_ctx *tls_ctx_new(const struct tls_backend *be, const struct tls_config *cfg,
                            struct err *e);
void tls_ctx_free(struct tls_ctx *ctx); /* accepts NULL */
/* A connection on `fd` (still the caller's: never closed here).  `opts` may
 * be NULL.  Caller frees with tls_conn_free(). */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd, const struct tls_conn_opts *opts,
                              struct err *e);
/*
 * A total deadline on the connection's socket I/O, the handshake included
 * (DESIGN.md principle 5): a peer trickling one octet at a time restarts
 * the socket's timeout with each, so every recv/send the backend makes
 * waits at most `idle_ms` (0: the socket's timeout as it is) and at most
 * until `at_ms` (CLOCK_MONOTONIC milliseconds, bio_now_ms()'s clock); once
 * it has passed, calls fail with TLS_ERR_TIMEOUT.  at_ms 0 clears it and
 * puts SO_RCVTIMEO and SO_SNDTIMEO back to `idle_ms` (when not 0).
 */
void tls_conn_set_deadline(struct tls_conn *c, unsigned long long at_ms, unsigned idle_ms);
enum tls_status tls_conn_handshake(struct tls_conn *c, struct err *e) MUST_CHECK;
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t len,
                      struct err *e); /* 0 = clean close */
ssize_t tls_conn_write(struct tls_conn *c, const void *buf, size_t len, struct err *e);
void tls_conn_shutdown(struct tls_conn *c); /* send close_notify, do not wait */
/* Server, TLS 1.3: send one more NewSessionTicket now, between records, as a
 * real server may at any time (RFC 8446 4.6.1).  TLS_ERR_UNSUPPORTED on a
 * client, on TLS 1.2, or without TLS_CAP_TICKETS. */
enum tls_status tls_conn_send_ticket(struct tls_conn *c, struct err *e) MUST_CHECK;
/* TLS 1.3, either side: send a KeyUpdate now with update_requested, so the
 * peer must update its own keys too (RFC 8446 4.6.3).  TLS_ERR_UNSUPPORTED
 * on TLS 1.2.  Both backends. */
enum tls_status tls_conn_key_update(struct tls_conn *c, struct err *e) MUST_CHECK;
void tls_conn_free(struct tls_conn *c); /* accepts NULL; frees the info too */
/* The facts, owned by the connection: valid until tls_conn_free(). */
const struct tls_info *tls_conn_info(const struct tls_conn *c);

/*
 * Policy, written once.  tls_conn_check_name(): does the peer's leaf carry
 * `host` (lib/certname.c rules)?  On mismatch sets TLS_VERIFY_NAME_MISMATCH
 * and re-summarises.  tls_conn_require_staple(): no staple received ->
 * TLS_VERIFY_STAPLE_MISSING.  Both return the resulting summary.
 */
enum tls_verify tls_conn_check_name(struct tls_conn *c, const char *host);
enum tls_verify tls_conn_require_staple(struct tls_conn *c);

/*
 * DANE-TA's name check (RFC 7672 3.2.2): after a DANE-TA match, does the
 * leaf carry one of `names` (the TLSA base name, the MX host name, ...;
 * NULL entries skipped)?  A DANE-EE match needs no names (3.1.1).  On
 * mismatch info.dane becomes TLS_DANE_NO_MATCH with dane_name_mismatch set.
 * 1 = DANE holds, 0 = it does not (or was not asked).
 */
int tls_conn_dane_check_names(struct tls_conn *c, const char *const *names, size_t n);

/*
 * Which of the `n` records `tlsa` (those the connection was given) matched,
 * after a DANE match (RFC 6698 2.1: usage, selector and matching type over
 * the certificate at info.dane_depth): its index, or -1 (no match, or none
 * found).  Computed here, the same for both backends (GnuTLS's libdane does
 * not say which record matched): the first usable record, in `tlsa`'s order,
 * of the matching usage whose data is that certificate's; when the anchor is
 * beyond the chain the server sent (a DANE-TA full record used as the
 * anchor itself), the first usable DANE-TA record with matching type Full.
 */
int tls_conn_dane_matched(const struct tls_conn *c, const struct tls_tlsa *tlsa, size_t n);

/*
 * DANE without a handshake (test corpora such as OpenSSL's danetest.in):
 * the chain `chain[0..n-1]` (leaf first) against the usable records of
 * `tlsa`, by backend `be` exactly as after a handshake, then DANE-TA's name
 * check against `names` (NULL or n == 0: none).  TLS_DANE_MATCH with
 * *usage and *depth, or TLS_DANE_NO_MATCH.
 */
enum tls_dane_result tls_dane_verify_chain(const struct tls_backend *be,
                                           const struct tls_der *chain, size_t n,
                                           const struct tls_tlsa *tlsa, size_t ntlsa,
                                           const char *const *names, size_t nnames, int *usage,
                                           int *depth);

/* The canonical word for a verification value ("unknown-ca", ...). */
const char *tls_verify_word(enum tls_verify v);
/* The value with the highest precedence among `flags`; TLS_VERIFY_OK if none. */
enum tls_verify tls_verify_summary(unsigned flags);

#endif
