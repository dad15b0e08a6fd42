/*
 * pki.c - mint the test PKI: which CAs and leaves it holds (the table
 * below), minting them in order, and one extra leaf for a scenario.
 *
 * With pki_cert.c (keys and certificates), pki_revoke.c (index, CRLs, OCSP
 * responses) and pki_file.c (writing), the only files with OpenSSL minting
 * calls (DESIGN.md principle 2).  Every validity time is relative to the
 * caller's `now`; nothing here reads the clock.  What each file is for:
 * docs/pki.md.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

enum issuer_kind { BY_INTER, BY_UNRELATED, BY_SELF };

/* One leaf certificate: what the table below says to mint. */
struct leaf_spec {
	const char *name; /* file stem: <name>.pem, <name>.key */
	enum key_kind key;
	enum issuer_kind issuer;
	const char *cn;
	const char *san; /* subjectAltName value; NULL = no extension */
	const char *eku; /* extendedKeyUsage value */
	int no_ku;       /* no keyUsage extension at all */
	long not_before; /* seconds relative to now */
	long not_after;
	int alone;   /* cert file holds the leaf only */
	int badsig;  /* flip the last signature byte when writing */
	int revoked; /* listed in the intermediate's CRL */
};

#define MX "mx.example.test"
#define MX_SAN "DNS:mx.example.test"
#define BOTH "serverAuth,clientAuth"

static const struct leaf_spec leaves[] = {
	/* name            key      issuer        cn, san, eku, no_ku,
	   not_before, not_after, alone, badsig, revoked */
	{ "mx-rsa", KEY_RSA, BY_INTER, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 0, 0, 0 },
	{ "mx-ecdsa", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 0, 0, 0 },
	{ "other-rsa", KEY_RSA, BY_INTER, "mail.other.test", "DNS:mail.other.test", BOTH, 0, -HOUR,
	  90 * DAY, 0, 0, 0 },
	{ "other-ecdsa", KEY_EC, BY_INTER, "mail.other.test", "DNS:mail.other.test", BOTH, 0, -HOUR,
	  90 * DAY, 0, 0, 0 },
	{ "wildcard", KEY_EC, BY_INTER, "*.wild.example.test", "DNS:*.wild.example.test", BOTH, 0,
	  -HOUR, 90 * DAY, 0, 0, 0 },
	{ "multisan", KEY_EC, BY_INTER, "multi.example.test",
	  "DNS:mx1.multi.test,DNS:mx2.multi.test,DNS:mx.partner.test", BOTH, 0, -HOUR, 90 * DAY, 0,
	  0, 0 },
	{ "cn-only", KEY_EC, BY_INTER, "cnonly.example.test", NULL, BOTH, 0, -HOUR, 90 * DAY, 0, 0,
	  0 },
	{ "expired", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, -100 * DAY, -10 * DAY, 0, 0, 0 },
	{ "notyet", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, 10 * DAY, 100 * DAY, 0, 0, 0 },
	{ "revoked", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 0, 0, 1 },
	{ "badsig", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 0, 1, 0 },
	{ "client", KEY_EC, BY_INTER, "client.example.test", "DNS:client.example.test",
	  "clientAuth", 0, -HOUR, 90 * DAY, 0, 0, 0 },
	{ "ocsp-signer", KEY_EC, BY_INTER, "refmta OCSP Signer", NULL, "OCSPSigning", 0, -HOUR,
	  90 * DAY, 1, 0, 0 },
	{ "ocsp-signer-expired", KEY_EC, BY_INTER, "refmta Expired OCSP Signer", NULL,
	  "OCSPSigning", 0, -100 * DAY, -10 * DAY, 1, 0, 0 },
	{ "unrelated", KEY_EC, BY_UNRELATED, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 1, 0, 0 },
	{ "selfsigned", KEY_EC, BY_SELF, MX, MX_SAN, "serverAuth", 1, -HOUR, 90 * DAY, 1, 0, 0 },
};
#define NLEAVES (sizeof leaves / sizeof leaves[0])
_Static_assert(NLEAVES == PKI_NLEAVES, "pki_int.h's PKI_NLEAVES is the table's size");

/* Index of the leaf called `name` in leaves[]; the names are fixed above. */
static size_t
leaf_index(const char *name)
{
	size_t i;

	for (i = 0; i < NLEAVES; i++)
		if (strcmp(leaves[i].name, name) == 0)
			break;
	return i;
}

/* Mint a P-256 CA into dir/<stem>.pem and .key; self-signed when `issuer`
   is NULL. */
static int
ca_make(struct mint *m, const char *stem, const char *o, const char *cn, X509 *issuer,
        EVP_PKEY *issuer_key, const char *bc, X509 **cert, EVP_PKEY **key)
{
	char name[256];
	struct cert_args a = {
		.o = o,
		.cn = cn,
		.issuer = issuer,
		.issuer_key = issuer_key,
		.not_before = -DAY,
		.not_after = 3650 * DAY,
		.ext = { { NID_basic_constraints, bc },
		         { NID_key_usage, "critical,keyCertSign,cRLSign" },
		         { 0, NULL } },
	};
	int rc = -1;

	if ((*key = pki_key_new(m, KEY_EC, stem)) == NULL)
		goto out;
	a.key = *key;
	if (pki_cert_new(m, &a, cert) < 0 || pki_key_write(m, stem, *key) < 0)
		goto out;
	snprintf(name, sizeof name, "%s.pem", stem);
	if (pki_certs_write(m, name, *cert, NULL, 0) < 0)
		goto out;
	rc = 0;
out:
	return rc;
}

/* Mint the leaf `s` says, issued by `issuer` (NULL: self-signed), into
   dir/<name>.pem (with the issuer after it unless s->alone) and .key. */
static int
leaf_mint(struct mint *m, const struct leaf_spec *s, X509 *issuer, EVP_PKEY *issuer_key,
          X509 **cert, EVP_PKEY **key)
{
	char name[256];
	struct cert_args a = {
		.cn = s->cn,
		.issuer = issuer,
		.issuer_key = issuer_key,
		.not_before = s->not_before,
		.not_after = s->not_after,
	};
	size_t n = 0;

	a.ext[n++] = (struct ext){ NID_basic_constraints, "critical,CA:FALSE" };
	if (!s->no_ku)
		a.ext[n++] = (struct ext){ NID_key_usage,
			                   s->key == KEY_RSA
			                           ? "critical,digitalSignature,keyEncipherment"
			                           : "critical,digitalSignature" };
	a.ext[n++] = (struct ext){ NID_ext_key_usage, s->eku };
	if (s->san != NULL)
		a.ext[n++] = (struct ext){ NID_subject_alt_name, s->san };
	a.ext[n] = (struct ext){ 0, NULL };

	if ((*key = pki_key_new(m, s->key, s->name)) == NULL)
		return -1;
	a.key = *key;
	if (pki_cert_new(m, &a, cert) < 0 || pki_key_write(m, s->name, *key) < 0)
		return -1;
	snprintf(name, sizeof name, "%s.pem", s->name);
	return pki_certs_write(m, name, *cert, s->alone ? NULL : issuer, s->badsig);
}

/* Mint leaf leaves[i] into dir/<name>.pem and .key. */
static int
leaf_make(struct mint *m, size_t i)
{
	const struct leaf_spec *s = &leaves[i];
	X509 *issuer = s->issuer == BY_INTER       ? m->inter
	               : s->issuer == BY_UNRELATED ? m->unrel
	                                           : NULL;
	EVP_PKEY *issuer_key = s->issuer == BY_INTER       ? m->inter_key
	                       : s->issuer == BY_UNRELATED ? m->unrel_key
	                                                   : NULL;

	if (leaf_mint(m, s, issuer, issuer_key, &m->leaf[i], &m->leaf_key[i]) < 0)
		return -1;
	if (s->issuer == BY_INTER && pki_index_add(m, m->leaf[i], s->revoked, s->name) < 0)
		return -1;
	return 0;
}

/* Write dir/<stem>.ocsp.der for leaf `stem`, signed by the ocsp-signer leaf. */
static int
mint_ocsp(struct mint *m, const char *stem, int revoked)
{
	size_t signer = leaf_index("ocsp-signer");

	return pki_ocsp_write(m, stem, m->leaf[leaf_index(stem)], m->leaf[signer],
	                      m->leaf_key[signer], revoked);
}

static void
mint_free(struct mint *m)
{
	for (size_t i = 0; i < NLEAVES; i++) {
		X509_free(m->leaf[i]);
		EVP_PKEY_free(m->leaf_key[i]);
	}
	X509_free(m->root);
	X509_free(m->inter);
	X509_free(m->unrel);
	EVP_PKEY_free(m->root_key);
	EVP_PKEY_free(m->inter_key);
	EVP_PKEY_free(m->unrel_key);
	BIO_free(m->index);
}

int
pki_mint_count(const char *dir, time_t now, int *nfiles, struct err *e)
{
	struct mint m = { .dir = dir, .now = now, .e = e };
	int rc = -1;

	if (pki_mkdir_p(dir, e) < 0)
		goto out;
	if ((m.index = BIO_new(BIO_s_mem())) == NULL) {
		pki_crypto_fail(&m, "BIO_new", "index.txt");
		goto out;
	}
	if (ca_make(&m, "root-ca", "refmta", "refmta Test Root CA", NULL, NULL, "critical,CA:TRUE",
	            &m.root, &m.root_key) < 0 ||
	    pki_certs_write(&m, "ca-bundle.pem", m.root, NULL, 0) < 0 ||
	    ca_make(&m, "inter-ca", NULL, "refmta Test Intermediate CA", m.root, m.root_key,
	            "critical,CA:TRUE,pathlen:0", &m.inter, &m.inter_key) < 0 ||
	    ca_make(&m, "unrelated-ca", NULL, "refmta Unrelated CA", NULL, NULL, "critical,CA:TRUE",
	            &m.unrel, &m.unrel_key) < 0)
		goto out;
	for (size_t i = 0; i < NLEAVES; i++)
		if (leaf_make(&m, i) < 0)
			goto out;
	if (pki_crl_write(&m, m.leaf[leaf_index("revoked")]) < 0 ||
	    mint_ocsp(&m, "mx-rsa", 0) < 0 || mint_ocsp(&m, "mx-ecdsa", 0) < 0 ||
	    mint_ocsp(&m, "revoked", 1) < 0 || pki_file_write(&m, "index.txt", m.index, 0644) < 0)
		goto out;
	if (nfiles != NULL)
		*nfiles = m.nfiles;
	rc = 0;
out:
	mint_free(&m);
	return rc;
}

int
pki_mint(const char *dir, time_t now, struct err *e)
{
	return pki_mint_count(dir, now, NULL, e);
}

/* Read dir/<stem>.pem (its first certificate) and dir/<stem>.key. */
static int
ca_load(struct mint *m, const char *dir, const char *stem, X509 **cert, EVP_PKEY **key)
{
	char path[PATH_MAX_PKI];
	BIO *in;

	snprintf(path, sizeof path, "%s/%s.pem", dir, stem);
	if ((in = BIO_new_file(path, "r")) != NULL)
		*cert = PEM_read_bio_X509(in, NULL, NULL, NULL);
	BIO_free(in);
	snprintf(path, sizeof path, "%s/%s.key", dir, stem);
	if ((in = BIO_new_file(path, "r")) != NULL)
		*key = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	BIO_free(in);
	if (*cert == NULL || *key == NULL) {
		pki_crypto_fail(m, "reading the issuer", path);
		return -1;
	}
	return 0;
}

int
pki_mint_leaf(const char *pki_dir, const char *out_dir, const struct pki_leaf *req, time_t now,
              struct err *e)
{
	static const char *const ca_stems[] = {
		[PKI_ISSUER_INTER] = "inter-ca",
		[PKI_ISSUER_ROOT] = "root-ca",
		[PKI_ISSUER_UNRELATED] = "unrelated-ca",
	};
	struct mint m = { .dir = out_dir, .now = now, .e = e };
	struct leaf_spec s = {
		.name = req->stem,
		.key = req->key == PKI_KEY_RSA ? KEY_RSA : KEY_EC,
		.cn = req->nnames > 0 ? req->names[0] : req->stem,
		.eku = BOTH,
		.not_before = -HOUR,
		.not_after = 90 * DAY,
		.alone = req->issuer != PKI_ISSUER_INTER,
	};
	X509 *issuer = NULL, *leaf = NULL;
	EVP_PKEY *issuer_key = NULL, *key = NULL;
	char san[2048] = "";
	size_t o = 0;
	int rc = -1;

	for (size_t i = 0; i < req->nnames; i++) {
		int n = snprintf(san + o, sizeof san - o, "%sDNS:%s", i ? "," : "", req->names[i]);
		if (n < 0 || (size_t)n >= sizeof san - o) {
			err_set(e, PKI_ERR_CRYPTO, "too many names for %s", req->stem);
			return -1;
		}
		o += (size_t)n;
	}
	s.san = req->nnames > 0 ? san : NULL;
	if (pki_mkdir_p(out_dir, e) < 0)
		goto out;
	if (req->issuer != PKI_ISSUER_SELF &&
	    ca_load(&m, pki_dir, ca_stems[req->issuer], &issuer, &issuer_key) < 0)
		goto out;
	rc = leaf_mint(&m, &s, issuer, issuer_key, &leaf, &key);
out:
	X509_free(issuer);
	X509_free(leaf);
	EVP_PKEY_free(issuer_key);
	EVP_PKEY_free(key);
	return rc;
}
