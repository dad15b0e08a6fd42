/*
 * tls_ocsp.h - OCSP staples (RFC 6960 responses carried by RFC 6066 8's
 * status_request, and RFC 8446 4.4.2.1 in TLS 1.3), judged once for both
 * backends.
 *
 * A backend decodes a response and, when asked, checks its signature with
 * its library's OCSP verification (that is the library's job): those are
 * *facts* (struct tls_ocsp_facts).  The verdict (is it for this certificate,
 * inside its validity window, signed by someone the issuer authorised,
 * good / revoked / unknown) is tls_ocsp_judge()'s, written once here, so
 * both backends give the same word for every response.  The server judges a
 * tls_ocsp_file before it staples it, the smtp transport judges what it
 * received, and `refmta ocsp-fetch` would judge what a responder sent.
 */
#ifndef REFMTA_TLS_OCSP_H
#define REFMTA_TLS_OCSP_H

#include <stddef.h>
#include <time.h>

#include "tls.h"

/* The verdict on one staple; one word each (tls_ocsp_word()). */
enum tls_ocsp_verdict {
	TLS_OCSP_GOOD = 0,         /* "good": valid, for this certificate, status good */
	TLS_OCSP_REVOKED,          /* "revoked": valid, status revoked */
	TLS_OCSP_UNKNOWN,          /* "unknown": valid, status unknown */
	TLS_OCSP_MISSING,          /* "missing": asked, nothing stapled */
	TLS_OCSP_MALFORMED,        /* "malformed": not a successful BasicOCSPResponse */
	TLS_OCSP_WRONG_CERT,       /* "wrong-certificate": no SingleResponse for this certificate */
	TLS_OCSP_BAD_SIGNATURE,    /* "bad-signature": the signature does not verify */
	TLS_OCSP_BAD_SIGNER,       /* "bad-signer": neither the issuer nor a signer it authorised */
	TLS_OCSP_SIGNER_NOT_FOUND, /* "signer-not-found": the signer's certificate is not there */
	TLS_OCSP_SIGNER_EXPIRED, /* "signer-expired": the delegated signer's certificate expired */
	TLS_OCSP_NO_NEXT_UPDATE, /* "no-next-update": nextUpdate missing, freshness unknown */
	TLS_OCSP_EXPIRED,        /* "expired": nextUpdate is in the past */
	TLS_OCSP_NOT_YET_VALID,  /* "not-yet-valid": thisUpdate is in the future */
	TLS_OCSP_NO_ISSUER,      /* "no-issuer": the peer sent no issuer to check against */
	TLS_OCSP__COUNT
};

/* The certificate status in a SingleResponse (RFC 6960 4.2.1). */
enum tls_ocsp_status { TLS_OCSP_STATUS_GOOD, TLS_OCSP_STATUS_REVOKED, TLS_OCSP_STATUS_UNKNOWN };

/* What the signature check found (the backend's library decides these). */
enum tls_ocsp_sig {
	TLS_OCSP_SIG_NOT_CHECKED = 0,
	TLS_OCSP_SIG_OK,
	TLS_OCSP_SIG_BAD_SIGNATURE,
	TLS_OCSP_SIG_BAD_SIGNER, /* no OCSPSigning EKU, not issued by the issuer, untrusted */
	TLS_OCSP_SIG_SIGNER_NOT_FOUND,
	TLS_OCSP_SIG_SIGNER_EXPIRED, /* or not yet valid */
};

/* Facts a backend reads from one response. */
struct tls_ocsp_facts {
	int parsed;   /* a successful BasicOCSPResponse was decoded */
	int for_cert; /* one of its SingleResponses has this certificate's CertID */
	enum tls_ocsp_status status;
	time_t this_update;
	time_t next_update;
	int has_next_update;
	enum tls_ocsp_sig sig;
	char detail[160]; /* the library's wording of the first problem, for logs only */
};

/*
 * Read (and with `issuer` and check_signature, verify) the DER response
 * `resp` for the DER certificate `leaf` with `be`'s library.  `issuer` (DER,
 * may be NULL) is the leaf's issuer: the CertID's key hash is compared with
 * it when given, and the signature is checked against it (the issuer itself,
 * or a delegated signer it issued with id-kp-OCSPSigning, RFC 6960 4.2.2.2:
 * the issuer is the trust anchor here; whether it is trusted is the chain
 * verdict's business).  Signer validity is checked at `now`.
 */
void tls_ocsp_read(const struct tls_backend *be, const unsigned char *resp, size_t len,
                   const struct tls_der *leaf, const struct tls_der *issuer, int check_signature,
                   time_t now, struct tls_ocsp_facts *out);

/*
 * The one verdict rule: malformed, then wrong-certificate, then the
 * signature (when checked), then the validity window (RFC 6960 4.2.2.1:
 * thisUpdate not in the future, nextUpdate not in the past, with
 * TLS_OCSP_LEEWAY seconds for clock skew; no nextUpdate is not fresh), then
 * the status.
 */
#define TLS_OCSP_LEEWAY 300
enum tls_ocsp_verdict tls_ocsp_judge(const struct tls_ocsp_facts *f, time_t now);

/* tls_ocsp_read() then tls_ocsp_judge(). */
enum tls_ocsp_verdict tls_ocsp_check(const struct tls_backend *be, const unsigned char *resp,
                                     size_t len, const struct tls_der *leaf,
                                     const struct tls_der *issuer, int check_signature, time_t now,
                                     struct tls_ocsp_facts *out);

/* "good", "revoked", ... */
const char *tls_ocsp_word(enum tls_ocsp_verdict v);

/*
 * A client's verdict on the staple of a finished handshake (tls_conn_info():
 * the staple, the peer's leaf and its issuer at depth 1): missing when none
 * came, no-issuer without a depth-1 certificate, else tls_ocsp_check() with
 * the signature checked.  `facts` may be NULL.
 */
enum tls_ocsp_verdict tls_conn_check_staple(const struct tls_conn *c, time_t now,
                                            struct tls_ocsp_facts *facts);

/*
 * The same for the staple received for the chain element at `depth` (0 the
 * leaf, as tls_conn_check_staple(); 1.. tls_info.chain_staple, TLS 1.3 with
 * TLS_CAP_STAPLE_CHAIN): missing when none came, no-issuer when neither the
 * element above it nor the trust anchor the chain verified against
 * (tls_info.anchor) is there to check it with.
 */
enum tls_ocsp_verdict tls_conn_check_chain_staple(const struct tls_conn *c, size_t depth,
                                                  time_t now, struct tls_ocsp_facts *facts);

/*
 * For fetching (refmta ocsp-fetch): the leaf and its issuer (the first two
 * certificates of a PEM chain file), the responder URL the leaf names
 * (authorityInfoAccess id-ad-ocsp, RFC 5280 4.2.2.1; "" when none) and a DER
 * OCSPRequest for the leaf (RFC 6960 4.1, SHA-1 CertID, no nonce).  0, or
 * -1 with `e`.  Free with tls_ocsp_query_free().
 */
struct tls_ocsp_query {
	struct tls_der leaf, issuer, request; /* owned */
	char url[512];
};
int tls_ocsp_query_new(const struct tls_backend *be, const char *chain_file,
                       struct tls_ocsp_query *out, struct err *e) MUST_CHECK;
void tls_ocsp_query_free(struct tls_ocsp_query *q); /* accepts a zeroed one */

#endif
