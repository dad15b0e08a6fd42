/*
 * pki_file.c - write the minted PKI to disk: the output directory, files
 * written whole (a temporary file renamed into place), keys and certificate
 * chains as PEM.  Nothing here mints; what is written comes from pki.c and
 * pki_revoke.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki_int.h"

int
pki_mkdir_p(const char *dir, struct err *e)
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
int
pki_file_write(struct mint *m, const char *name, BIO *mem, mode_t mode)
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

/* Write `key` as unencrypted PEM PKCS#8 to dir/<stem>.key, mode 0600. */
int
pki_key_write(struct mint *m, const char *stem, EVP_PKEY *key)
{
	char name[256];
	BIO *mem = BIO_new(BIO_s_mem());
	int rc = -1;

	snprintf(name, sizeof name, "%s.key", stem);
	if (mem == NULL || PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) != 1) {
		pki_crypto_fail(m, "writing key", name);
		goto out;
	}
	rc = pki_file_write(m, name, mem, 0600);
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
			pki_crypto_fail(m, "writing certificate", name);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if ((len = i2d_X509(x, &der)) <= 0) {
		pki_crypto_fail(m, "encoding certificate", name);
		goto out;
	}
	der[len - 1] ^= 0x01;
	if (PEM_write_bio(mem, PEM_STRING_X509, "", der, len) <= 0) {
		pki_crypto_fail(m, "writing certificate", name);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/* Write dir/<name>: `first`, then `second` unless NULL. */
int
pki_certs_write(struct mint *m, const char *name, X509 *first, X509 *second, int badsig)
{
	BIO *mem = BIO_new(BIO_s_mem());
	int rc = -1;

	if (mem == NULL) {
		pki_crypto_fail(m, "BIO_new", name);
		goto out;
	}
	if (cert_pem(m, mem, first, badsig, name) < 0 ||
	    (second != NULL && cert_pem(m, mem, second, 0, name) < 0))
		goto out;
	rc = pki_file_write(m, name, mem, 0644);
out:
	BIO_free(mem);
	return rc;
}
