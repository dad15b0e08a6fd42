/*
 * pki_dkim.c - DKIM keys for the scenario harness: minted once per run
 * beside the test PKI (so no key is committed to the repository), and the
 * TXT record that publishes each one.  OpenSSL is lib/pki*.c's library
 * (ci/layering.txt); signing itself is server/dkim.c's (libopendkim).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki.h"

static int
write_key(const char *dir, const char *name, EVP_PKEY *key, struct err *e)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		err_set(e, PKI_ERR_IO, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	(void)chmod(path, 0600);
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fclose(f) == 0 && ok;
	if (!ok)
		err_set(e, PKI_ERR_IO, "cannot write %s", path);
	return ok ? 0 : -1;
}

int
pki_dkim_mint(const char *dir, struct err *e)
{
	static const struct {
		const char *name;
		int bits; /* 0: Ed25519 */
	} keys[] = {
		{ "dkim-rsa2048.key", 2048 },
		{ "dkim-rsa1024.key", 1024 },
		{ "dkim-ed25519.key", 0 },
		{ "dkim-other.key", 2048 },
	};

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		err_set(e, PKI_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		EVP_PKEY *k = keys[i].bits
		                      ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)keys[i].bits)
		                      : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		int rc;
		if (k == NULL) {
			err_set(e, PKI_ERR_CRYPTO, "cannot generate %s", keys[i].name);
			return -1;
		}
		rc = write_key(dir, keys[i].name, k, e);
		EVP_PKEY_free(k);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* p=: the SubjectPublicKeyInfo for RSA (RFC 6376 3.6.1), the raw key for
 * Ed25519 (RFC 8463 4.2); base64, caller frees. */
static char *
pubkey_b64(EVP_PKEY *k, int ed)
{
	unsigned char der[2048], *p = der, *b64;
	size_t n = sizeof der;
	int len;

	if (ed) {
		if (EVP_PKEY_get_raw_public_key(k, der, &n) != 1)
			return NULL;
	} else {
		len = i2d_PUBKEY(k, NULL);
		if (len <= 0 || (size_t)len > sizeof der || i2d_PUBKEY(k, &p) != len)
			return NULL;
		n = (size_t)len;
	}
	b64 = malloc(4 * ((n + 2) / 3) + 1);
	if (b64 != NULL)
		EVP_EncodeBlock(b64, der, (int)n);
	return (char *)b64;
}

char *
pki_dkim_record(const char *keyfile, struct err *e)
{
	FILE *f = fopen(keyfile, "r");
	EVP_PKEY *k = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	char *p = NULL, *rec = NULL;
	int ed = k != NULL && EVP_PKEY_is_a(k, "ED25519");

	if (f != NULL)
		fclose(f);
	if (k == NULL || (p = pubkey_b64(k, ed)) == NULL) {
		err_set(e, PKI_ERR_CRYPTO, "cannot read a DKIM key from %s", keyfile);
		goto out;
	}
	if (asprintf(&rec, "v=DKIM1; k=%s; p=%s", ed ? "ed25519" : "rsa", p) < 0) {
		rec = NULL;
		err_set(e, PKI_ERR_IO, "out of memory");
	}
out:
	free(p);
	EVP_PKEY_free(k);
	return rec;
}
