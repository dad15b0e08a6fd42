/*
 * pki_int.h - what the files of the PKI minter (lib/pki*.c) share: the
 * state of one run and the steps each file provides.  Only lib/pki*.c
 * include it (ci/layering.txt); callers use pki.h.
 *
 * Every function fills `m->e` (from OpenSSL's error queue where OpenSSL
 * failed) and returns -1 or NULL on failure.  Objects passed in are
 * borrowed; objects returned are the caller's.
 */
#ifndef REFMTA_PKI_INT_H
#define REFMTA_PKI_INT_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "pki.h"

#define HOUR 3600L
#define DAY (24L * HOUR)
#define PATH_MAX_PKI 4096
#define MAX_SERIALS 64
#define PKI_NLEAVES 16 /* the size of pki.c's leaf table (checked there) */

enum key_kind { KEY_EC, KEY_RSA };

/* One extension for pki_cert_new(): nid and its openssl.cnf-style value. */
struct ext {
	int nid;
	const char *value;
};

/* What pki_cert_new() needs to mint one certificate. */
struct cert_args {
	EVP_PKEY *key; /* subject key (borrowed) */
	const char *o; /* organisation, NULL = none */
	const char *cn;
	X509 *issuer;         /* NULL = self-signed (borrowed) */
	EVP_PKEY *issuer_key; /* NULL = self-signed (borrowed) */
	long not_before;      /* seconds relative to now */
	long not_after;
	struct ext ext[6]; /* ends at nid 0 */
};

/* State of one pki_mint() run; owns every object in it (pki.c frees). */
struct mint {
	const char *dir;
	time_t now;
	struct err *e;
	int nfiles;
	uint64_t serials[MAX_SERIALS];
	size_t nserials;
	BIO *index; /* index.txt, built in memory */
	X509 *root, *inter, *unrel;
	EVP_PKEY *root_key, *inter_key, *unrel_key;
	X509 *leaf[PKI_NLEAVES];
	EVP_PKEY *leaf_key[PKI_NLEAVES];
};

/* pki_cert.c */
/* Fill m->e with `what` failed for `name` and OpenSSL's last error; empty
   the error queue. */
void pki_crypto_fail(struct mint *m, const char *what, const char *name);
/* A new P-256 or RSA-2048 key; the caller frees it.  NULL on failure. */
EVP_PKEY *pki_key_new(struct mint *m, enum key_kind kind, const char *name) MUST_CHECK;
/* Add one extension to `x` or `crl` (the other NULL) from its value. */
int pki_ext_add(struct mint *m, X509V3_CTX *ctx, X509 *x, X509_CRL *crl, int nid, const char *value,
                const char *name) MUST_CHECK;
/* Mint the certificate `a` says into *out (the caller's). */
int pki_cert_new(struct mint *m, const struct cert_args *a, X509 **out) MUST_CHECK;

/* pki_file.c */
/* Create `dir` and its parents (fills `e`, not a run's). */
int pki_mkdir_p(const char *dir, struct err *e) MUST_CHECK;
/* Write memory BIO `mem` to m->dir/name whole, mode `mode`; counts it. */
int pki_file_write(struct mint *m, const char *name, BIO *mem, mode_t mode) MUST_CHECK;
/* m->dir/<stem>.key: `key` as unencrypted PEM PKCS#8, mode 0600. */
int pki_key_write(struct mint *m, const char *stem, EVP_PKEY *key) MUST_CHECK;
/* m->dir/<name>: `first` (signature spoiled with `badsig`), then `second`
   unless NULL. */
int pki_certs_write(struct mint *m, const char *name, X509 *first, X509 *second,
                    int badsig) MUST_CHECK;

/* pki_revoke.c */
/* Append leaf `x`'s `openssl ca` line to m->index. */
int pki_index_add(struct mint *m, X509 *x, int revoked, const char *name) MUST_CHECK;
/* m->dir/crl.pem: the intermediate's CRL listing `revoked`, then the root's. */
int pki_crl_write(struct mint *m, X509 *revoked) MUST_CHECK;
/* m->dir/<stem>.ocsp.der: a response for `leaf` ("good" or "revoked"),
   signed by `signer` with `signer_key`. */
int pki_ocsp_write(struct mint *m, const char *stem, X509 *leaf, X509 *signer, EVP_PKEY *signer_key,
                   int revoked) MUST_CHECK;

#endif
