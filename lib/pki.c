/*
 * pki.c - mint the test PKI: CAs, leaves, CRLs, OCSP responses, index.txt.
 *
 * The only file with OpenSSL minting calls (DESIGN.md principle 2).  Every
 * validity time is relative to the caller's `now`; nothing here reads the
 * clock.  What each file is for: docs/pki.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"

#define HOUR 3600L
#define DAY (24L * HOUR)
#define PATH_MAX_PKI 4096
#define MAX_SERIALS 64

enum key_kind { KEY_EC, KEY_RSA };
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
        {"mx-rsa", KEY_RSA, BY_INTER, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 0, 0, 0},
        {"mx-ecdsa", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 0, 0, 0},
        {"other-rsa", KEY_RSA, BY_INTER, "mail.other.test", "DNS:mail.other.test", BOTH, 0, -HOUR,
         90 * DAY, 0, 0, 0},
        {"other-ecdsa", KEY_EC, BY_INTER, "mail.other.test", "DNS:mail.other.test", BOTH, 0, -HOUR,
         90 * DAY, 0, 0, 0},
        {"wildcard", KEY_EC, BY_INTER, "*.wild.example.test", "DNS:*.wild.example.test", BOTH, 0,
         -HOUR, 90 * DAY, 0, 0, 0},
        {"multisan", KEY_EC, BY_INTER, "multi.example.test",
         "DNS:mx1.multi.test,DNS:mx2.multi.test,DNS:mx.partner.test", BOTH, 0, -HOUR, 90 * DAY, 0,
         0, 0},
        {"cn-only", KEY_EC, BY_INTER, "cnonly.example.test", NULL, BOTH, 0, -HOUR, 90 * DAY, 0, 0,
         0},
        {"expired", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, -100 * DAY, -10 * DAY, 0, 0, 0},
        {"notyet", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, 10 * DAY, 100 * DAY, 0, 0, 0},
        {"revoked", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 0, 0, 1},
        {"badsig", KEY_EC, BY_INTER, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 0, 1, 0},
        {"client", KEY_EC, BY_INTER, "client.example.test", "DNS:client.example.test", "clientAuth",
         0, -HOUR, 90 * DAY, 0, 0, 0},
        {"ocsp-signer", KEY_EC, BY_INTER, "refmta OCSP Signer", NULL, "OCSPSigning", 0, -HOUR,
         90 * DAY, 1, 0, 0},
        {"ocsp-signer-expired", KEY_EC, BY_INTER, "refmta Expired OCSP Signer", NULL,
         "OCSPSigning", 0, -100 * DAY, -10 * DAY, 1, 0, 0},
        {"unrelated", KEY_EC, BY_UNRELATED, MX, MX_SAN, BOTH, 0, -HOUR, 90 * DAY, 1, 0, 0},
        {"selfsigned", KEY_EC, BY_SELF, MX, MX_SAN, "serverAuth", 1, -HOUR, 90 * DAY, 1, 0, 0},
};
#define NLEAVES (sizeof leaves / sizeof leaves[0])

/* One extension for cert_new(): nid and its openssl.cnf-style value. */
struct ext {
	int nid;
	const char *value;
};

/* What cert_new() needs to mint one certificate. */
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

/* State of one pki_mint() run; owns every object in it. */
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
	X509 *leaf[NLEAVES];
	EVP_PKEY *leaf_key[NLEAVES];
};

/* Fill `e` from OpenSSL's error queue, then empty the queue. */
static void
crypto_fail(struct mint *m, const char *what, const char *name)
{
	unsigned long code = ERR_peek_last_error();
	char buf[256] = "no OpenSSL error recorded";

	if (code != 0)
		ERR_error_string_n(code, buf, sizeof buf);
	ERR_clear_error();
	err_set(m->e, PKI_ERR_CRYPTO, "%s for %s: %s", what, name, buf);
}

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

static int
mkdir_p(const char *dir, struct err *e)
{
	char path[PATH_MAX_PKI];
	struct stat st;
	size_t len = strlen(dir);
	int rc = -1;

	if (len == 0 || len >= sizeof path) {
		err_set(e, PKI_ERR_IO, "bad output directory name");
		goto out;
	}
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			err_set(e, PKI_ERR_IO, "cannot create %s: %s", path, strerror(errno));
			goto out;
		}
		path[i] = dir[i];
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		err_set(e, PKI_ERR_IO, "%s is not a directory", dir);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* Write the contents of memory BIO `mem` to dir/name: a temporary file
   first, renamed into place. */
static int
file_write(struct mint *m, const char *name, BIO *mem, mode_t mode)
{
	char path[PATH_MAX_PKI], tmp[PATH_MAX_PKI];
	char *data = NULL;
	long len = BIO_get_mem_data(mem, &data);
	int fd = -1;
	int made = 0; /* tmp exists and must go on failure */
	int rc = -1;

	if (snprintf(path, sizeof path, "%s/%s", m->dir, name) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", m->dir, name) >= (int)sizeof tmp) {
		err_set(m->e, PKI_ERR_IO, "path too long for %s", name);
		goto out;
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		err_set(m->e, PKI_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	made = 1;
	while (len > 0) {
		ssize_t n = write(fd, data, (size_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(m->e, PKI_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
			goto out;
		}
		data += n;
		len -= n;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_set(m->e, PKI_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err_set(m->e, PKI_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	made = 0;
	m->nfiles++;
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	if (made)
		(void)unlink(tmp);
	return rc;
}

static EVP_PKEY *
key_new(struct mint *m, enum key_kind kind, const char *name)
{
	EVP_PKEY *key;

	if (kind == KEY_RSA)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL)
		crypto_fail(m, "key generation", name);
	return key;
}

/* A fresh random positive 64-bit serial, unique within this run. */
static ASN1_INTEGER *
serial_new(struct mint *m, const char *name)
{
	unsigned char b[8];
	uint64_t v = 0;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	int fresh = 0;

	if (m->nserials == MAX_SERIALS) {
		err_set(m->e, PKI_ERR_CRYPTO, "too many serials for %s", name);
		goto out;
	}
	while (!fresh) {
		if (RAND_bytes(b, sizeof b) != 1) {
			crypto_fail(m, "random serial", name);
			goto out;
		}
		b[0] = (unsigned char)((b[0] & 0x7f) | 0x40); /* positive, 8 bytes */
		v = 0;
		for (size_t i = 0; i < sizeof b; i++)
			v = v << 8 | b[i];
		fresh = 1;
		for (size_t i = 0; i < m->nserials; i++)
			if (m->serials[i] == v)
				fresh = 0;
	}
	bn = BN_bin2bn(b, sizeof b, NULL);
	if (bn == NULL || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		crypto_fail(m, "serial", name);
		goto out;
	}
	m->serials[m->nserials++] = v;
out:
	BN_free(bn);
	return serial;
}

/* Add one extension from its config-style value; `ctx` names issuer and
   subject (or CRL). */
static int
ext_add(struct mint *m, X509V3_CTX *ctx, X509 *x, X509_CRL *crl, int nid, const char *value,
        const char *name)
{
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int rc = -1;

	if (ex == NULL) {
		crypto_fail(m, OBJ_nid2sn(nid), name);
		goto out;
	}
	if ((x != NULL && X509_add_ext(x, ex, -1) != 1) ||
	    (crl != NULL && X509_CRL_add_ext(crl, ex, -1) != 1)) {
		crypto_fail(m, OBJ_nid2sn(nid), name);
		goto out;
	}
	rc = 0;
out:
	X509_EXTENSION_free(ex);
	return rc;
}

/* Mint one certificate as `a` says: v3, random serial, SKI/AKI, SHA-256. */
static int
cert_new(struct mint *m, const struct cert_args *a, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *subject = NULL;
	ASN1_INTEGER *serial = NULL;
	X509V3_CTX ctx;
	EVP_PKEY *sign_key = a->issuer_key != NULL ? a->issuer_key : a->key;
	int rc = -1;

	if ((x = X509_new()) == NULL || (subject = X509_NAME_new()) == NULL) {
		crypto_fail(m, "X509_new", a->cn);
		goto out;
	}
	if ((serial = serial_new(m, a->cn)) == NULL)
		goto out;
	if ((a->o != NULL &&
	     X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, (const unsigned char *)a->o,
	                                -1, -1, 0) != 1) ||
	    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)a->cn,
	                               -1, -1, 0) != 1) {
		crypto_fail(m, "subject name", a->cn);
		goto out;
	}
	if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_subject_name(x, subject) != 1 ||
	    X509_set_issuer_name(x, a->issuer != NULL ? X509_get_subject_name(a->issuer)
	                                              : subject) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, a->not_before, &m->now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, a->not_after, &m->now) == NULL ||
	    X509_set_pubkey(x, a->key) != 1) {
		crypto_fail(m, "certificate fields", a->cn);
		goto out;
	}
	X509V3_set_ctx(&ctx, a->issuer != NULL ? a->issuer : x, x, NULL, NULL, 0);
	if (X509V3_set_issuer_pkey(&ctx, sign_key) != 1) {
		crypto_fail(m, "issuer key", a->cn);
		goto out;
	}
	/* SKI first: a self-signed AKI is copied from it. */
	if (ext_add(m, &ctx, x, NULL, NID_subject_key_identifier, "hash", a->cn) < 0 ||
	    ext_add(m, &ctx, x, NULL, NID_authority_key_identifier, "keyid:always", a->cn) < 0)
		goto out;
	for (const struct ext *ex = a->ext; ex->nid != 0; ex++)
		if (ext_add(m, &ctx, x, NULL, ex->nid, ex->value, a->cn) < 0)
			goto out;
	if (X509_sign(x, sign_key, EVP_sha256()) <= 0) {
		crypto_fail(m, "signing", a->cn);
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	ASN1_INTEGER_free(serial);
	X509_NAME_free(subject);
	X509_free(x);
	return rc;
}

/* Write `key` as unencrypted PEM PKCS#8 to dir/<stem>.key, mode 0600. */
static int
key_write(struct mint *m, const char *stem, EVP_PKEY *key)
{
	char name[256];
	BIO *mem = BIO_new(BIO_s_mem());
	int rc = -1;

	snprintf(name, sizeof name, "%s.key", stem);
	if (mem == NULL || PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) != 1) {
		crypto_fail(m, "writing key", name);
		goto out;
	}
	rc = file_write(m, name, mem, 0600);
out:
	BIO_free(mem);
	return rc;
}

/* Append `x` as PEM to `mem`; with `badsig`, the last byte of its DER (the
   end of the signature BIT STRING) flipped first. */
static int
cert_pem(struct mint *m, BIO *mem, X509 *x, int badsig, const char *name)
{
	unsigned char *der = NULL;
	int len;
	int rc = -1;

	if (!badsig) {
		if (PEM_write_bio_X509(mem, x) != 1) {
			crypto_fail(m, "writing certificate", name);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if ((len = i2d_X509(x, &der)) <= 0) {
		crypto_fail(m, "encoding certificate", name);
		goto out;
	}
	der[len - 1] ^= 0x01;
	if (PEM_write_bio(mem, PEM_STRING_X509, "", der, len) <= 0) {
		crypto_fail(m, "writing certificate", name);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/* Write dir/<name>: `first`, then `second` unless NULL. */
static int
certs_write(struct mint *m, const char *name, X509 *first, X509 *second, int badsig)
{
	BIO *mem = BIO_new(BIO_s_mem());
	int rc = -1;

	if (mem == NULL) {
		crypto_fail(m, "BIO_new", name);
		goto out;
	}
	if (cert_pem(m, mem, first, badsig, name) < 0 ||
	    (second != NULL && cert_pem(m, mem, second, 0, name) < 0))
		goto out;
	rc = file_write(m, name, mem, 0644);
out:
	BIO_free(mem);
	return rc;
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
	        .ext = {{NID_basic_constraints, bc},
	                {NID_key_usage, "critical,keyCertSign,cRLSign"},
	                {0, NULL}},
	};
	int rc = -1;

	if ((*key = key_new(m, KEY_EC, stem)) == NULL)
		goto out;
	a.key = *key;
	if (cert_new(m, &a, cert) < 0 || key_write(m, stem, *key) < 0)
		goto out;
	snprintf(name, sizeof name, "%s.pem", stem);
	if (certs_write(m, name, *cert, NULL, 0) < 0)
		goto out;
	rc = 0;
out:
	return rc;
}

/* Append the `openssl ca` database line for leaf `x` to index.txt. */
static int
index_add(struct mint *m, X509 *x, int revoked, const char *name)
{
	const ASN1_TIME *na = X509_get0_notAfter(x);
	ASN1_TIME *rt = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	char subject[512];
	int rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL ||
	    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject) == NULL ||
	    (revoked && (rt = ASN1_UTCTIME_adj(NULL, m->now, 0, -HOUR)) == NULL)) {
		crypto_fail(m, "index line", name);
		goto out;
	}
	if (BIO_printf(m->index, "%s\t%s\t%s%s\t%s\tunknown\t%s\n", revoked ? "R" : "V",
	               (const char *)ASN1_STRING_get0_data(na),
	               rt != NULL ? (const char *)ASN1_STRING_get0_data(rt) : "",
	               revoked ? ",keyCompromise" : "", hex, subject) <= 0) {
		crypto_fail(m, "index line", name);
		goto out;
	}
	rc = 0;
out:
	ASN1_TIME_free(rt);
	OPENSSL_free(hex);
	BN_free(bn);
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

	a.ext[n++] = (struct ext){NID_basic_constraints, "critical,CA:FALSE"};
	if (!s->no_ku)
		a.ext[n++] =
		        (struct ext){NID_key_usage,
		                     s->key == KEY_RSA ? "critical,digitalSignature,keyEncipherment"
		                                       : "critical,digitalSignature"};
	a.ext[n++] = (struct ext){NID_ext_key_usage, s->eku};
	if (s->san != NULL)
		a.ext[n++] = (struct ext){NID_subject_alt_name, s->san};
	a.ext[n] = (struct ext){0, NULL};

	if ((*key = key_new(m, s->key, s->name)) == NULL)
		return -1;
	a.key = *key;
	if (cert_new(m, &a, cert) < 0 || key_write(m, s->name, *key) < 0)
		return -1;
	snprintf(name, sizeof name, "%s.pem", s->name);
	return certs_write(m, name, *cert, s->alone ? NULL : issuer, s->badsig);
}

/* Mint leaf leaves[i] into dir/<name>.pem and .key. */
static int
leaf_make(struct mint *m, size_t i)
{
	const struct leaf_spec *s = &leaves[i];
	X509 *issuer = s->issuer == BY_INTER ? m->inter : s->issuer == BY_UNRELATED ? m->unrel : NULL;
	EVP_PKEY *issuer_key = s->issuer == BY_INTER       ? m->inter_key
	                       : s->issuer == BY_UNRELATED ? m->unrel_key
	                                                   : NULL;

	if (leaf_mint(m, s, issuer, issuer_key, &m->leaf[i], &m->leaf_key[i]) < 0)
		return -1;
	if (s->issuer == BY_INTER && index_add(m, m->leaf[i], s->revoked, s->name) < 0)
		return -1;
	return 0;
}

/* Append to `out` a PEM CRL signed by `issuer`, listing `revoked` (may be
   NULL) as keyCompromise. */
static int
crl_add(struct mint *m, BIO *out, X509 *issuer, EVP_PKEY *key, X509 *revoked)
{
	const char *name = "crl.pem";
	X509_CRL *crl = NULL;
	X509_REVOKED *rev = NULL;
	ASN1_TIME *last = NULL, *next = NULL;
	ASN1_ENUMERATED *reason = NULL;
	ASN1_INTEGER *number = NULL;
	X509V3_CTX ctx;
	int rc = -1;

	if ((crl = X509_CRL_new()) == NULL ||
	    (last = ASN1_TIME_adj(NULL, m->now, 0, -HOUR)) == NULL ||
	    (next = ASN1_TIME_adj(NULL, m->now, 30, 0)) == NULL ||
	    X509_CRL_set_version(crl, 1) != 1 /* v2 */
	    || X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, last) != 1 || X509_CRL_set1_nextUpdate(crl, next) != 1) {
		crypto_fail(m, "CRL fields", name);
		goto out;
	}
	if (revoked != NULL) {
		if ((rev = X509_REVOKED_new()) == NULL ||
		    (reason = ASN1_ENUMERATED_new()) == NULL ||
		    X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(revoked)) != 1 ||
		    X509_REVOKED_set_revocationDate(rev, last) != 1 ||
		    ASN1_ENUMERATED_set(reason, CRL_REASON_KEY_COMPROMISE) != 1 ||
		    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) != 1 ||
		    X509_CRL_add0_revoked(crl, rev) != 1) {
			crypto_fail(m, "CRL entry", name);
			goto out;
		}
		rev = NULL; /* owned by crl now */
	}
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	if (ext_add(m, &ctx, NULL, crl, NID_authority_key_identifier, "keyid:always", name) < 0)
		goto out;
	if ((number = ASN1_INTEGER_new()) == NULL || ASN1_INTEGER_set(number, 1) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) != 1 ||
	    X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, key, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_CRL(out, crl) != 1) {
		crypto_fail(m, "CRL signing", name);
		goto out;
	}
	rc = 0;
out:
	ASN1_INTEGER_free(number);
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(next);
	ASN1_TIME_free(last);
	X509_REVOKED_free(rev);
	X509_CRL_free(crl);
	return rc;
}

static int
crl_write(struct mint *m)
{
	BIO *mem = BIO_new(BIO_s_mem());
	int rc = -1;

	if (mem == NULL) {
		crypto_fail(m, "BIO_new", "crl.pem");
		goto out;
	}
	if (crl_add(m, mem, m->inter, m->inter_key, m->leaf[leaf_index("revoked")]) < 0 ||
	    crl_add(m, mem, m->root, m->root_key, NULL) < 0)
		goto out;
	rc = file_write(m, "crl.pem", mem, 0644);
out:
	BIO_free(mem);
	return rc;
}

/* Write dir/<stem>.ocsp.der: a signed OCSP response for leaf `stem`, "good"
   or "revoked". */
static int
ocsp_write(struct mint *m, const char *stem, int revoked)
{
	size_t signer = leaf_index("ocsp-signer");
	X509 *leaf = m->leaf[leaf_index(stem)];
	char name[256];
	OCSP_CERTID *id = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL;
	ASN1_GENERALIZEDTIME *produced;
	BIO *mem = NULL;
	int rc = -1;

	snprintf(name, sizeof name, "%s.ocsp.der", stem);
	if ((id = OCSP_cert_to_id(EVP_sha1(), leaf, m->inter)) == NULL ||
	    (bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = ASN1_TIME_adj(NULL, m->now, 0, -HOUR)) == NULL ||
	    (nextupd = ASN1_TIME_adj(NULL, m->now, 7, 0)) == NULL ||
	    OCSP_basic_add1_status(bs, id,
	                           revoked ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
	                           revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
	                           revoked ? thisupd : NULL, thisupd, nextupd) == NULL ||
	    OCSP_basic_sign(bs, m->leaf[signer], m->leaf_key[signer], EVP_sha256(), NULL,
	                    OCSP_RESPID_KEY) != 1) {
		crypto_fail(m, "OCSP response", name);
		goto out;
	}
	/*
	 * OCSP_basic_sign() stamps producedAt from the real clock and offers no
	 * way to pass a time.  Set it to `now` and sign the response data again;
	 * the accessors are const only by convention (the fields live in bs).
	 */
	produced = (ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs);
	if (ASN1_GENERALIZEDTIME_adj(produced, m->now, 0, 0) == NULL ||
	    ASN1_item_sign(
	            ASN1_ITEM_rptr(OCSP_RESPDATA), (X509_ALGOR *)OCSP_resp_get0_tbs_sigalg(bs),
	            NULL, (ASN1_BIT_STRING *)OCSP_resp_get0_signature(bs),
	            (void *)OCSP_resp_get0_respdata(bs), m->leaf_key[signer], EVP_sha256()) <= 0) {
		crypto_fail(m, "OCSP re-signing", name);
		goto out;
	}
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL ||
	    (mem = BIO_new(BIO_s_mem())) == NULL || i2d_OCSP_RESPONSE_bio(mem, resp) != 1) {
		crypto_fail(m, "OCSP encoding", name);
		goto out;
	}
	rc = file_write(m, name, mem, 0644);
out:
	BIO_free(mem);
	OCSP_RESPONSE_free(resp);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(thisupd);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	return rc;
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
	struct mint m = {.dir = dir, .now = now, .e = e};
	int rc = -1;

	if (mkdir_p(dir, e) < 0)
		goto out;
	if ((m.index = BIO_new(BIO_s_mem())) == NULL) {
		crypto_fail(&m, "BIO_new", "index.txt");
		goto out;
	}
	if (ca_make(&m, "root-ca", "refmta", "refmta Test Root CA", NULL, NULL, "critical,CA:TRUE",
	            &m.root, &m.root_key) < 0 ||
	    certs_write(&m, "ca-bundle.pem", m.root, NULL, 0) < 0 ||
	    ca_make(&m, "inter-ca", NULL, "refmta Test Intermediate CA", m.root, m.root_key,
	            "critical,CA:TRUE,pathlen:0", &m.inter, &m.inter_key) < 0 ||
	    ca_make(&m, "unrelated-ca", NULL, "refmta Unrelated CA", NULL, NULL, "critical,CA:TRUE",
	            &m.unrel, &m.unrel_key) < 0)
		goto out;
	for (size_t i = 0; i < NLEAVES; i++)
		if (leaf_make(&m, i) < 0)
			goto out;
	if (crl_write(&m) < 0 || ocsp_write(&m, "mx-rsa", 0) < 0 ||
	    ocsp_write(&m, "mx-ecdsa", 0) < 0 || ocsp_write(&m, "revoked", 1) < 0 ||
	    file_write(&m, "index.txt", m.index, 0644) < 0)
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
		crypto_fail(m, "reading the issuer", path);
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
	struct mint m = {.dir = out_dir, .now = now, .e = e};
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
	if (mkdir_p(out_dir, e) < 0)
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
