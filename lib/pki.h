/*
 * pki.h - mint the test PKI that the scenarios and unit tests use.
 *
 * One root, one intermediate, a set of leaves covering the name-check, chain,
 * expiry, revocation and OCSP cases, the CRLs, OCSP responses and an
 * `openssl ca` index.  Everything is minted relative to a given `now`, so no
 * fixture in the repository can expire.  The file list is in docs/pki.md.
 * lib/pki*.c are the only files with OpenSSL minting calls.
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

/* One extra leaf (pki_mint_leaf()): its key and who issues it. */
enum pki_key { PKI_KEY_ECDSA, PKI_KEY_RSA };
enum pki_issuer {
	PKI_ISSUER_INTER,     /* the intermediate: the file holds leaf + intermediate */
	PKI_ISSUER_ROOT,      /* the root itself (leaf alone) */
	PKI_ISSUER_UNRELATED, /* the untrusted unrelated-ca (leaf alone) */
	PKI_ISSUER_SELF,      /* self-signed (leaf alone) */
};
struct pki_leaf {
	const char *stem; /* out_dir/<stem>.pem and out_dir/<stem>.key */
	enum pki_key key; /* P-256 or RSA-2048 */
	enum pki_issuer issuer;
	const char *const *names; /* DNS names, all in subjectAltName; the first is the CN */
	size_t nnames;            /* 0: no subjectAltName, CN = stem */
};

/* Mint one leaf like the table's (CA:FALSE, EKU serverAuth,clientAuth,
   valid now-1h .. now+90d), issued by a CA of the PKI in `pki_dir` (made
   by pki_mint()), into `out_dir` (created if missing).  Nothing is kept:
   the caller owns the strings in `req`.  0, or -1 with `e`. */
int pki_mint_leaf(const char *pki_dir, const char *out_dir, const struct pki_leaf *req, time_t now,
                  struct err *e) MUST_CHECK;

/* DKIM keys for the harness (lib/pki_dkim.c): dkim-rsa2048.key,
   dkim-rsa1024.key, dkim-ed25519.key and dkim-other.key (RSA-2048, never
   published: the "wrong key"), PEM, into `dir` (created if missing).
   0, or -1 with `e`. */
int pki_dkim_mint(const char *dir, struct err *e) MUST_CHECK;

/* The DKIM key record (RFC 6376 3.6.1, RFC 8463 4.2) for the private key
   in `keyfile`: "v=DKIM1; k=rsa; p=<SPKI, base64>" or "v=DKIM1;
   k=ed25519; p=<raw 32 octets, base64>".  Caller frees; NULL with `e`. */
char *pki_dkim_record(const char *keyfile, struct err *e) MUST_CHECK;

#endif
