/*
 * dkim.h - DKIM signature verification (RFC 6376) for DMARC alignment and
 * the $dkim_* variables: the one owner of libopendkim (DESIGN.md
 * principle 2).  Key records are fetched through a txtlookup_fn
 * (txtlookup.h), so the session asks refmta's resolver (fakedns in tests)
 * and never libopendkim's own resolver.
 *
 * libopendkim owns the dkim_ prefix (dkim_verify, dkim_sign, ...), so this
 * module's names are dkimv_<verb>.
 *
 * Each signature gets one status in Exim's words ($dkim_verify_status):
 *   pass     the signature verified (RFC 6376 6.1.3, body hash too)
 *   fail     the signature or body hash did not verify
 *   invalid  the signature could not be checked: bad tags, expired x=,
 *            no key or a bad key record, or a DNS failure (`temperror`
 *            then says which of the last two it was)
 * and a reason ($dkim_verify_reason) for fail / invalid: see
 * dkimv_reason_word().  No signature at all is status "none".
 */
#ifndef REFMTA_DKIM_H
#define REFMTA_DKIM_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "txtlookup.h"

enum dkimv_status {
	DKIMV_NONE,    /* "none": no signature */
	DKIMV_PASS,    /* "pass" */
	DKIMV_FAIL,    /* "fail" */
	DKIMV_INVALID, /* "invalid" */
};

enum dkimv_reason {
	DKIMV_REASON_NONE,                /* "" (pass) */
	DKIMV_REASON_PUBKEY_UNAVAILABLE,  /* "pubkey_unavailable": no key record, or DNS failure */
	DKIMV_REASON_PUBKEY_SYNTAX,       /* "pubkey_syntax": the key record is unusable */
	DKIMV_REASON_BODYHASH_MISMATCH,   /* "bodyhash_mismatch": bh= does not match the body */
	DKIMV_REASON_SIGNATURE_INCORRECT, /* "signature_incorrect": b= does not verify */
	DKIMV_REASON_SIGNATURE_SYNTAX,    /* "signature_syntax": bad or missing tags */
	DKIMV_REASON_SIGNATURE_EXPIRED,   /* "signature_expired": x= in the past (RFC 6376 3.5) */
};

#define DKIMV_NAME_MAX 256

/* One signature's outcome. */
struct dkimv_sig {
	char domain[DKIMV_NAME_MAX];   /* d= */
	char selector[DKIMV_NAME_MAX]; /* s= */
	char algo[32];                 /* a=: "rsa-sha256", "rsa-sha1", "ed25519-sha256" */
	long body_length;              /* l=, or -1 when absent */
	enum dkimv_status status;
	enum dkimv_reason reason;
	int temperror; /* invalid because the key lookup failed temporarily (RFC 8601 temperror) */
	char detail[128]; /* libopendkim's words for the log */
};

/* Every signature of one message, in header order.  Free with dkimv_result_free(). */
struct dkimv_result {
	struct dkimv_sig *sigs;
	size_t n;
};

enum dkimv_error {
	DKIMV_OK = 0,
	DKIMV_ERR_LIB, /* libopendkim refused to start, out of memory */
};

/*
 * Verify every DKIM-Signature of `msg` (`len` octets, CRLF line ends, the
 * header and body as received).  Keys come from `lookup(arg, ...)`;
 * signatures are checked as if the time were `now` (x=, t=).  0 with `out`
 * filled (n = 0: no signature); -1 with `e` filled.  Free `out` with
 * dkimv_result_free() either way.
 */
int dkimv_verify(const char *msg, size_t len, txtlookup_fn lookup, void *arg, time_t now,
                 struct dkimv_result *out, struct err *e) MUST_CHECK;
void dkimv_result_free(struct dkimv_result *r); /* accepts NULL; zeroes *r */

/* The signature $dkim_* show: the first that passed, else the first; NULL when none. */
const struct dkimv_sig *dkimv_result_best(const struct dkimv_result *r);

const char *dkimv_status_word(enum dkimv_status s);
const char *dkimv_reason_word(enum dkimv_reason r);
/* 0 with *out set, -1 for another word.  ("none", "pass", "fail", "invalid") */
int dkimv_status_parse(const char *word, enum dkimv_status *out) MUST_CHECK;

/* RFC 8601 2.7.1 result word for a signature: pass, fail, neutral,
 * temperror or permerror. */
const char *dkimv_authres_word(const struct dkimv_sig *s);
/* Append "; dkim=pass header.d=example.test header.s=sel header.a=rsa-sha256" per signature
 * ("; dkim=none" when there is none) to an Authentication-Results header. */
void dkimv_authres_append(struct buf *b, const struct dkimv_result *r);

/* What dkimv_sign() makes (the harness signs scenario messages with it). */
struct dkimv_sign_opts {
	const char *domain, *selector;
	const char *key_pem; /* the private key, PEM (RSA or Ed25519) */
	const char *algo;    /* "rsa-sha256" (default), "rsa-sha1", "ed25519-sha256" */
	int body_length;     /* add l= (the whole body) */
	time_t now;          /* t= */
	long expire_after;   /* x= = now + this (may be negative), 0: no x= */
};

/*
 * Sign `msg` (CRLF line ends) and return the whole "DKIM-Signature: ..."
 * header with its CRLF (caller frees), relaxed/relaxed canonicalization,
 * From, To, Subject, Date and Message-ID signed.  NULL with `e` filled.
 */
char *dkimv_sign(const char *msg, size_t len, const struct dkimv_sign_opts *o,
                 struct err *e) MUST_CHECK;

/* Does this libopendkim verify and sign ed25519-sha256 (RFC 8463)? */
int dkimv_has_ed25519(void);

#endif
