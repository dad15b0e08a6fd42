/*
 * tls_openssl_cert.c - the OpenSSL backend's reading of one certificate's
 * fields for ${certextract} (tls_int.h struct tls_cert_facts); the text is
 * written by lib/tls_cert.c, the same for both backends.
 */
#include <errno.h>
#include <string.h>

#include "tls_openssl.h"

/* RFC 4514 text of a name, most specific RDN first, UTF-8 kept. */
static char *
name_text(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(b, &data);
		out = strndup(data, (size_t)len);
	}
	BIO_free(b);
	return out;
}

static long long
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (long long)timegm(&tm);
}

static int
add_uri(struct strlist *l, const GENERAL_NAME *g)
{
	if (g->type != GEN_URI)
		return 0;
	return strlist_push(l, (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier));
}

static int
read_lists(X509 *x, struct tls_cert_facts *f)
{
	GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	int rc = 0;

	for (int i = 0; san != NULL && i < sk_GENERAL_NAME_num(san) && rc == 0; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		const char *tag = g->type == GEN_DNS     ? "dns="
		                  : g->type == GEN_EMAIL ? "mail="
		                                         : NULL;
		char item[600];

		if (tag == NULL)
			continue;
		snprintf(item, sizeof item, "%s%.*s", tag, ASN1_STRING_length(g->d.ia5),
		         (const char *)ASN1_STRING_get0_data(g->d.ia5));
		rc = strlist_push(&f->san, item);
	}
	for (int i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia) && rc == 0; i++) {
		const ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		if (OBJ_obj2nid(ad->method) == NID_ad_OCSP)
			rc = add_uri(&f->ocsp, ad->location);
	}
	for (int i = 0; cdp != NULL && i < sk_DIST_POINT_num(cdp) && rc == 0; i++) {
		const DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int k = 0; k < sk_GENERAL_NAME_num(dp->distpoint->name.fullname) && rc == 0;
		     k++)
			rc = add_uri(&f->crl,
			             sk_GENERAL_NAME_value(dp->distpoint->name.fullname, k));
	}
	GENERAL_NAMES_free(san);
	AUTHORITY_INFO_ACCESS_free(aia);
	CRL_DIST_POINTS_free(cdp);
	return rc;
}

enum tls_status
ossl_cert_facts(const unsigned char *der, size_t len, struct tls_cert_facts *f, struct err *e)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	const ASN1_INTEGER *serial;
	BIGNUM *bn = NULL;
	int n;

	memset(f, 0, sizeof *f);
	if (x == NULL) {
		err_set(e, EINVAL, "not a certificate");
		return TLS_ERR_CONFIG;
	}
	f->subject = name_text(X509_get_subject_name(x));
	f->issuer = name_text(X509_get_issuer_name(x));
	serial = X509_get0_serialNumber(x);
	if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) != NULL &&
	    (n = BN_num_bytes(bn)) <= (int)sizeof f->serial) {
		BN_bn2bin(bn, f->serial);
		f->serial_len = (size_t)n;
	}
	BN_free(bn);
	f->notbefore = asn1_time(X509_get0_notBefore(x));
	f->notafter = asn1_time(X509_get0_notAfter(x));
	OBJ_obj2txt(f->sig_oid, sizeof f->sig_oid, OBJ_nid2obj(X509_get_signature_nid(x)), 1);
	f->version = (int)X509_get_version(x) + 1;
	if (f->subject == NULL || f->issuer == NULL || read_lists(x, f) != 0) {
		X509_free(x);
		tls_cert_facts_free(f);
		err_set(e, ENOMEM, "out of memory");
		return TLS_ERR_CONFIG;
	}
	X509_free(x);
	return TLS_OK;
}
