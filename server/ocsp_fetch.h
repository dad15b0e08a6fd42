/*
 * ocsp_fetch.h - `refmta -c FILE ocsp-fetch [--url URL] [--timeout SECS]`:
 * fetch a fresh OCSP response for every tls_certificate that has a
 * tls_ocsp_file item, verify it with the code the smtp transport uses
 * (lib/tls_ocsp.h), and replace the file atomically only when the answer
 * is a valid "good" one (docs/ocsp.md "Fetching").  Beyond Exim, whose seed
 * leaves this to a script that did not notice an expired signer.
 */
#ifndef REFMTA_OCSP_FETCH_H
#define REFMTA_OCSP_FETCH_H

#include "config.h"

/* Exit codes a cron job can act on (the worst over all items wins, in
 * this order: revoked beats invalid beats unreachable). */
enum ocsp_fetch_exit {
	OCSP_FETCH_REPLACED = 0,    /* every file replaced with a good response */
	OCSP_FETCH_REVOKED = 1,     /* a valid answer says revoked or unknown: file kept, act now */
	OCSP_FETCH_INVALID = 2,     /* the answer did not verify (expired signer, ...): file kept */
	OCSP_FETCH_UNREACHABLE = 3, /* no answer (down, slow, HTTP error): file kept, retry */
	OCSP_FETCH_USAGE = 64,      /* bad arguments or configuration (EX_USAGE) */
};

/* argv after "ocsp-fetch"; `backend` NULL = the config's.  Messages on
 * stdout (replaced) and stderr (kept, errors). */
int ocsp_fetch_main(const struct config *cfg, const char *backend, int argc, char **argv);

#endif
