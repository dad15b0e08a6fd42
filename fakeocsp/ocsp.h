/*
 * ocsp.h - fakeocsp's OCSP core: the index of certificate statuses, request
 * parsing, response signing, and answering one request with faults applied.
 *
 * The signing half is implemented in ocsp_openssl.c, the only fakeocsp file
 * that may name OpenSSL (ci/layering.txt); the HTTP server and main see only
 * this header.  Nothing here logs or exits: failures fill a struct err.
 */
#ifndef FAKEOCSP_OCSP_H
#define FAKEOCSP_OCSP_H

#include <stddef.h>
#include <time.h>

#include "err.h"
#include "ocsp_fault.h"

/* RFC 5280 5.3.1 CRLReason; -1 = none given. */
#define OCSP_REASON_NONE (-1)

/* ---- the index: OpenSSL `ca` database (index.txt) ---------------------- */

struct ocsp_index_entry {
	char serial[OCSP_SERIAL_MAX]; /* normalised hex */
	char type;                    /* 'V' valid, 'R' revoked, 'E' expired */
	time_t revtime;               /* for 'R' */
	int reason;                   /* for 'R': CRLReason or OCSP_REASON_NONE */
};

struct ocsp_index {
	struct ocsp_index_entry *entry;
	size_t n;
};

/* Parse `text` (the contents of file `name`, used in "name:line: message"
   errors).  Fills *idx; the caller frees with ocsp_index_free(). */
int ocsp_index_parse(const char *name, const char *text, size_t len, struct ocsp_index *idx,
                     struct err *e) MUST_CHECK;

/* Read and parse the file at `path` (at most 16 MiB). */
int ocsp_index_load(const char *path, struct ocsp_index *idx, struct err *e) MUST_CHECK;

/* The entry for a normalised serial, or NULL. */
const struct ocsp_index_entry *ocsp_index_find(const struct ocsp_index *idx, const char *serial);

void ocsp_index_free(struct ocsp_index *idx);

/* "keyCompromise" -> 1 ..., -2 when unknown; and back ("?" when unknown). */
int ocsp_reason_parse(const char *name);
const char *ocsp_reason_name(int reason);

/* ---- requests and responses (ocsp_openssl.c) ----------------------------- */

#define OCSP_REQ_MAX_IDS 16

/* What to say about one CertID. */
struct ocsp_answer {
	enum ocsp_cert_status status;
	time_t revtime; /* for OCSP_CERT_REVOKED */
	int reason;     /* for OCSP_CERT_REVOKED: CRLReason or OCSP_REASON_NONE */
};

struct ocsp_responder; /* issuer, signer, key, other signers for faults */
struct ocsp_req;       /* one parsed request */

/* Load the issuer (CA) certificate, the signer certificate and its key (PEM
   files).  The signer may be the issuer itself.  Free with
   ocsp_responder_free(). */
int ocsp_responder_new(const char *issuer, const char *signer, const char *key,
                       struct ocsp_responder **out, struct err *e) MUST_CHECK;

/* Load "CERT.pem,KEY.pem" for the signer= / unauthorised-signer= /
   expired-signer= faults. */
int ocsp_responder_add_signer(struct ocsp_responder *r, const char *spec, struct err *e) MUST_CHECK;

/* Add every certificate in the PEM file at `path` (at least one) to the
   certs of every signed response, after the signer's: the intermediates a
   client needs to reach the signer (`--extra-certs`).  At most
   OCSP_EXTRA_CERTS_MAX in all; none with the no-certs fault. */
#define OCSP_EXTRA_CERTS_MAX 16
int ocsp_responder_add_extra_certs(struct ocsp_responder *r, const char *path,
                                   struct err *e) MUST_CHECK;

void ocsp_responder_free(struct ocsp_responder *r);

/* Parse a DER OCSPRequest (RFC 6960 4.1.1).  At most OCSP_REQ_MAX_IDS CertIDs;
   trailing bytes are an error.  Free with ocsp_req_free(). */
int ocsp_req_parse(const unsigned char *der, size_t len, struct ocsp_req **out,
                   struct err *e) MUST_CHECK;

size_t ocsp_req_count(const struct ocsp_req *req);

/* The i-th CertID's serial, normalised hex ("-..." for a negative one). */
const char *ocsp_req_serial(const struct ocsp_req *req, size_t i);

/* 1 when the request carries a nonce extension (RFC 8954). */
int ocsp_req_has_nonce(const struct ocsp_req *req);

/* 1 when the i-th CertID's issuer hashes are those of the responder's issuer. */
int ocsp_req_issuer_known(const struct ocsp_responder *r, const struct ocsp_req *req, size_t i);

void ocsp_req_free(struct ocsp_req *req);

/* A signed response to `req`, answers[i] for its i-th CertID, with the
   fault applied (a forced responseStatus gives a response without body).
   *der is malloc'ed; the caller frees it. */
int ocsp_respond(const struct ocsp_responder *r, const struct ocsp_req *req,
                 const struct ocsp_answer *answers, const struct ocsp_fault *f, time_t now,
                 unsigned char **der, size_t *len, struct err *e) MUST_CHECK;

/* A response with only a responseStatus (not SUCCESSFUL). */
int ocsp_respond_status(enum ocsp_resp_status st, unsigned char **der, size_t *len,
                        struct err *e) MUST_CHECK;

/* One response about the first certificate in `cert_path` (SHA-1 CertID over
   the responder's issuer), for `mint`. */
int ocsp_mint(const struct ocsp_responder *r, const char *cert_path,
              const struct ocsp_answer *answer, const struct ocsp_fault *f, time_t now,
              unsigned char **der, size_t *len, struct err *e) MUST_CHECK;

/* ---- answering one request (ocsp_answer.c) ------------------------------- */

struct ocsp_reply {
	unsigned char *der; /* malloc'ed response, NULL with OCSP_FAULT_GARBAGE/DROP */
	size_t len;
	struct ocsp_fault fault; /* what was applied (delay, garbage, drop for HTTP) */
	char log[512];           /* "serial=HEX status=good fault=none" */
};

/* Parse `req`, look each serial up, apply the faults, sign.  Bad input gives a
   malformedRequest response, a signing failure an internalError one; -1 only
   when not even that could be encoded.  Free with ocsp_reply_free(). */
int ocsp_answer(const struct ocsp_responder *r, const struct ocsp_index *idx,
                const struct ocsp_faults *fs, const unsigned char *req, size_t reqlen, time_t now,
                struct ocsp_reply *out, struct err *e) MUST_CHECK;

void ocsp_reply_free(struct ocsp_reply *rep);

#endif
