/*
 * ocsp_fault.h - what fakeocsp answers and how it misbehaves on purpose.
 *
 * The fault table (names, values, help text) lives in ocsp_fault.c; a run
 * collects rules (global or per serial) and resolves them, per request, into
 * one struct ocsp_fault.  Pure data: no I/O, no TLS library, never exits.
 */
#ifndef FAKEOCSP_OCSP_FAULT_H
#define FAKEOCSP_OCSP_FAULT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "err.h"

/* RFC 6960 4.2.1 OCSPResponseStatus (4 is not used). */
enum ocsp_resp_status {
	OCSP_RESP_SUCCESSFUL = 0,
	OCSP_RESP_MALFORMED_REQUEST = 1,
	OCSP_RESP_INTERNAL_ERROR = 2,
	OCSP_RESP_TRY_LATER = 3,
	OCSP_RESP_SIG_REQUIRED = 5,
	OCSP_RESP_UNAUTHORIZED = 6,
};

/* RFC 6960 4.2.1 CertStatus. */
enum ocsp_cert_status {
	OCSP_CERT_GOOD,
	OCSP_CERT_REVOKED,
	OCSP_CERT_UNKNOWN,
};

/* A point in time: relative to "now" (seconds) or absolute (epoch). */
struct ocsp_when {
	int set;
	int absolute;
	int64_t value;
};

#define OCSP_FAULT_BAD_SIGNATURE 0x01u /* flip the signature's last byte */
#define OCSP_FAULT_NO_NONCE 0x02u      /* do not echo the request's nonce */
#define OCSP_FAULT_NO_CERTS 0x04u      /* leave the signer certificate out */
#define OCSP_FAULT_NO_NEXT 0x08u       /* omit nextUpdate */
#define OCSP_FAULT_GARBAGE 0x10u       /* HTTP body that is not DER */
#define OCSP_FAULT_DROP 0x20u          /* close the connection, no answer */

#define OCSP_SPEC_MAX 512
#define OCSP_SERIAL_MAX 65 /* 32 octets in hex, NUL */

/* The faults that apply to one request, resolved from the rules. */
struct ocsp_fault {
	unsigned flags;                    /* OCSP_FAULT_* */
	enum ocsp_resp_status resp_status; /* SUCCESSFUL unless forced */
	int force_status;                  /* -1, or an enum ocsp_cert_status */
	struct ocsp_when this_update;      /* default now-1h */
	struct ocsp_when next_update;      /* default now+7d */
	unsigned delay_ms;                 /* before answering */
	char signer[OCSP_SPEC_MAX];        /* "CERT,KEY" to sign with instead, or "" */
	char names[256];                   /* "expired,no-nonce", or "none": for the log */
};

struct ocsp_fault_rule {
	char serial[OCSP_SERIAL_MAX]; /* normalised hex, "" = every request */
	char name[32];
	char value[OCSP_SPEC_MAX];
};

/* Rules in the order given; later ones win.  Zero-initialise. */
struct ocsp_faults {
	struct ocsp_fault_rule *rule;
	size_t n;
};

/* Add "NAME[=VALUE]" for `serial` (NULL = all).  Checks the name and value. */
int ocsp_faults_add(struct ocsp_faults *fs, const char *serial, const char *spec,
                    struct err *e) MUST_CHECK;

/* Add "HEX:NAME[=VALUE]" (the --fault-serial argument). */
int ocsp_faults_add_serial(struct ocsp_faults *fs, const char *arg, struct err *e) MUST_CHECK;

/* The faults for a request about `serial` (normalised; NULL when unknown). */
void ocsp_faults_resolve(const struct ocsp_faults *fs, const char *serial, struct ocsp_fault *out);

/* The i-th "CERT,KEY" named by a signer=, unauthorised-signer= or
   expired-signer= rule, or NULL past the end. */
const char *ocsp_faults_signer(const struct ocsp_faults *fs, size_t i);

void ocsp_faults_free(struct ocsp_faults *fs);

/* Print the fault table (for --help). */
void ocsp_faults_help(FILE *f);

/* "-1h", "+7d", "30m", "0", "2026-01-01T00:00:00Z".  Units s m h d. */
int ocsp_when_parse(const char *s, struct ocsp_when *w, struct err *e) MUST_CHECK;

/* The time `w` names, or now+dflt when not set. */
time_t ocsp_when_resolve(const struct ocsp_when *w, time_t now, int64_t dflt);

/* Upper-case hex without leading zeros ("0" for zero) into out; -1 if `in`
   is empty, not hex or too long. */
int ocsp_serial_normalise(const char *in, char *out, size_t outlen) MUST_CHECK;

#endif
