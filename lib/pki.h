/*
 * pki.h - mint the test PKI that the scenarios and unit tests use.
 *
 * One root, one intermediate, a set of leaves covering the name-check, chain,
 * expiry, revocation and OCSP cases, the CRLs, OCSP responses and an
 * `openssl ca` index.  Everything is minted relative to a given `now`, so no
 * fixture in the repository can expire.  The file list is in docs/pki.md.
 * lib/pki.c is the only file with OpenSSL minting calls.
 */
#ifndef REFMTA_PKI_H
#define REFMTA_PKI_H

#include <time.h>

#include "err.h"

/* err codes set by pki_mint() */
enum pki_err {
	PKI_ERR_IO = 1, /* creating the directory or writing a file */
	PKI_ERR_CRYPTO, /* an OpenSSL call failed */
};

/* Mint the whole fixture PKI into `dir` (created if missing), all validity
   times relative to `now`. 0 on success; -1 with `e` filled. */
int pki_mint(const char *dir, time_t now, struct err *e) MUST_CHECK;

/* The same, and on success stores in `*nfiles` how many files were written.
   On failure some files may already be in `dir`. */
int pki_mint_count(const char *dir, time_t now, int *nfiles, struct err *e) MUST_CHECK;

#endif
