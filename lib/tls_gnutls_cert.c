/*
 * tls_gnutls_cert.c - the GnuTLS backend's reading of one certificate's
 * fields for ${certextract} (tls_int.h struct tls_cert_facts); the text is
 * written by lib/tls_cert.c, the same for both backends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_gnutls.h"

/* RFC 4514 text of the subject or issuer, most specific RDN first. */
static char *
dn_text(gnutls_x509_crt_t crt, int issuer)
{
	gnutls_datum_t d = { 0 };
	char *out;
	int r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d, 0)
	               : gnutls_x509_crt_get_dn3(crt, &d, 0);

	if (r < 0)
		return strdup("");
	out = strndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return out;
}

static int
read_san(gnutls_x509_crt_t crt, struct tls_cert_facts *f)
{
	for (unsigned seq = 0; seq < 1024; seq++) {
		char buf[600], item[620];
		size_t size = sizeof buf - 1;
		unsigned crit;
		int r = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, &crit);

		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r != GNUTLS_SAN_DNSNAME && r != GNUTLS_SAN_RFC822NAME)
			continue; /* other kinds, and ones too long to be names */
		snprintf(item, sizeof item, "%s%.*s",
		         r == GNUTLS_SAN_DNSNAME ? "dns=" : "mail=", (int)size, buf);
		if (strlist_push(&f->san, item) != 0)
			return -1;
	}
	return 0;
}

static int
read_uris(gnutls_x509_crt_t crt, struct tls_cert_facts *f)
{
	for (unsigned seq = 0; seq < 64; seq++) {
		gnutls_datum_t d = { 0 };
		int r = gnutls_x509_crt_get_authority_info_access(crt, seq, GNUTLS_IA_OCSP_URI, &d,
		                                                  NULL);
		char *s;

		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r < 0)
			continue; /* an access method that is not OCSP */
		s = strndup((const char *)d.data, d.size);
		gnutls_free(d.data);
		if (s == NULL || strlist_push_owned(&f->ocsp, s) != 0)
			return -1;
	}
	for (unsigned seq = 0; seq < 64; seq++) {
		char buf[600];
		size_t size = sizeof buf - 1;
		unsigned reasons, crit;
		int r = gnutls_x509_crt_get_crl_dist_points(crt, seq, buf, &size, &reasons, &crit);

		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r != GNUTLS_SAN_URI)
			continue;
		buf[size] = '\0';
		if (strlist_push(&f->crl, buf) != 0)
			return -1;
	}
	return 0;
}

enum tls_status
gtls_cert_facts(const unsigned char *der, size_t len, struct tls_cert_facts *f, struct err *e)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = { (unsigned char *)der, (unsigned)len };
	size_t size = sizeof f->sig_oid;
	int r;

	memset(f, 0, sizeof *f);
	if (gnutls_x509_crt_init(&crt) < 0) {
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		return TLS_ERR_CONFIG;
	}
	if ((r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER)) < 0) {
		err_set(e, TLS_ERR_CONFIG, "cannot decode certificate: %s", gnutls_strerror(r));
		gnutls_x509_crt_deinit(crt);
		return TLS_ERR_CONFIG;
	}
	f->subject = dn_text(crt, 0);
	f->issuer = dn_text(crt, 1);
	f->serial_len = sizeof f->serial;
	if (gnutls_x509_crt_get_serial(crt, f->serial, &f->serial_len) < 0)
		f->serial_len = 0;
	f->notbefore = (long long)gnutls_x509_crt_get_activation_time(crt);
	f->notafter = (long long)gnutls_x509_crt_get_expiration_time(crt);
	if (gnutls_x509_crt_get_signature_oid(crt, f->sig_oid, &size) < 0)
		f->sig_oid[0] = '\0';
	f->version = gnutls_x509_crt_get_version(crt);
	if (f->subject == NULL || f->issuer == NULL || read_san(crt, f) != 0 ||
	    read_uris(crt, f) != 0) {
		gnutls_x509_crt_deinit(crt);
		tls_cert_facts_free(f);
		err_set(e, TLS_ERR_CONFIG, "out of memory");
		return TLS_ERR_CONFIG;
	}
	gnutls_x509_crt_deinit(crt);
	return TLS_OK;
}
