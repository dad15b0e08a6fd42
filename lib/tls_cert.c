/*
 * tls_cert.c - ${certextract} for both backends (tls.h tls_cert_extract):
 * the PEM is decoded here, the backend reads the certificate's fields
 * (ops->cert_facts), and this file alone writes them as text, so that the
 * two backends give the same octets for the same certificate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "tls_int.h"

static const struct tls_backend *in_use;

void
tls_backend_use(const struct tls_backend *be)
{
	in_use = be;
}

const struct tls_backend *
tls_backend_in_use(void)
{
	return in_use != NULL ? in_use : &tls_backend_openssl;
}

void
tls_cert_facts_free(struct tls_cert_facts *f)
{
	if (f == NULL)
		return;
	free(f->subject);
	free(f->issuer);
	strlist_free(&f->san);
	strlist_free(&f->ocsp);
	strlist_free(&f->crl);
	memset(f, 0, sizeof *f);
}

/* The first "-----BEGIN CERTIFICATE-----" block's octets (RFC 7468).
 * Caller frees; NULL when there is none or it is not base64. */
static unsigned char *
pem_first_der(const char *pem, size_t *len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----",
	                  end[] = "-----END CERTIFICATE-----";
	const char *p = strstr(pem, begin), *q;
	unsigned char *out;
	unsigned acc = 0;
	int bits = 0;
	size_t n = 0;

	if (p == NULL || (q = strstr(p, end)) == NULL)
		return NULL;
	p += sizeof begin - 1;
	if ((out = malloc((size_t)(q - p) * 3 / 4 + 3)) == NULL)
		return NULL;
	for (; p < q; p++) {
		const char *b64 =
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *at;

		if (*p == '=' || *p == '\r' || *p == '\n' || *p == ' ' || *p == '\t')
			continue;
		if ((at = strchr(b64, *p)) == NULL || *p == '\0') {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)(at - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	*len = n;
	return out;
}

/* RFC 5280 signature algorithm OIDs by the names OpenSSL prints. */
static const char *
sig_name(const char *oid)
{
	static const char *const t[][2] = {
		{ "1.2.840.113549.1.1.5", "sha1WithRSAEncryption" },
		{ "1.2.840.113549.1.1.11", "sha256WithRSAEncryption" },
		{ "1.2.840.113549.1.1.12", "sha384WithRSAEncryption" },
		{ "1.2.840.113549.1.1.13", "sha512WithRSAEncryption" },
		{ "1.2.840.113549.1.1.10", "rsassaPss" },
		{ "1.2.840.10045.4.3.2", "ecdsa-with-SHA256" },
		{ "1.2.840.10045.4.3.3", "ecdsa-with-SHA384" },
		{ "1.2.840.10045.4.3.4", "ecdsa-with-SHA512" },
		{ "1.3.101.112", "ED25519" },
		{ "1.3.101.113", "ED448" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(oid, t[i][0]) == 0)
			return t[i][1];
	return oid;
}

static void
add_time(struct buf *b, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	if (gmtime_r(&tt, &tm) == NULL)
		return;
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_adds(b, s);
}

/* Items of `l` that start with `tag` ("dns=", "mail=", or "" for all),
 * with the tag kept only when `keep`, joined by sep. */
static void
add_list(struct buf *b, const struct strlist *l, const char *tag, int keep, const char *sep)
{
	size_t tl = strlen(tag), k = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (strncmp(l->v[i], tag, tl) != 0)
			continue;
		if (k++ > 0)
			buf_adds(b, sep);
		buf_adds(b, l->v[i] + (keep ? 0 : tl));
	}
}

/* FIELD into b; -1 when the field is unknown. */
static int
format_field(const struct tls_cert_facts *f, const char *field, struct buf *b)
{
	char name[32], sel[16] = "", sep[16] = "\n";
	const char *c = strchr(field, ',');
	size_t nl = c != NULL ? (size_t)(c - field) : strlen(field);

	if (nl >= sizeof name)
		return -1;
	snprintf(name, sizeof name, "%.*s", (int)nl, field);
	/* Exim's modifiers after the name: a selector word and ">SEP". */
	while (c != NULL) {
		const char *m = c + 1, *next;
		size_t ml;

		if (m[0] == '>' && m[1] != '\0') { /* ">X": X (even ",") separates */
			snprintf(sep, sizeof sep, "%c", m[1]);
			c = strchr(m + 2, ',');
			continue;
		}
		next = strchr(m, ',');
		ml = next != NULL ? (size_t)(next - m) : strlen(m);
		if (ml < sizeof sel)
			snprintf(sel, sizeof sel, "%.*s", (int)ml, m);
		else
			return -1;
		c = next;
	}
	if (strcmp(name, "subject") == 0)
		buf_adds(b, f->subject != NULL ? f->subject : "");
	else if (strcmp(name, "issuer") == 0)
		buf_adds(b, f->issuer != NULL ? f->issuer : "");
	else if (strcmp(name, "serial_number") == 0 || strcmp(name, "serial") == 0) {
		size_t i = 0;
		while (i + 1 < f->serial_len && f->serial[i] == 0)
			i++; /* a DER INTEGER's sign octet is no digit */
		for (; i < f->serial_len; i++) {
			char h[3];
			snprintf(h, sizeof h, "%02x", f->serial[i]);
			buf_adds(b, h);
		}
	} else if (strcmp(name, "notbefore") == 0)
		add_time(b, f->notbefore);
	else if (strcmp(name, "notafter") == 0)
		add_time(b, f->notafter);
	else if (strcmp(name, "sig_algorithm") == 0)
		buf_adds(b, sig_name(f->sig_oid));
	else if (strcmp(name, "version") == 0) {
		char v[8];
		snprintf(v, sizeof v, "%d", f->version);
		buf_adds(b, v);
	} else if (strcmp(name, "ocsp_uri") == 0)
		add_list(b, &f->ocsp, "", 1, sep);
	else if (strcmp(name, "crl_uri") == 0)
		add_list(b, &f->crl, "", 1, sep);
	else if (strcmp(name, "subj_altname") == 0) {
		if (sel[0] == '\0')
			add_list(b, &f->san, "", 1, sep);
		else if (strcmp(sel, "dns") == 0)
			add_list(b, &f->san, "dns=", 0, sep);
		else if (strcmp(sel, "mail") == 0)
			add_list(b, &f->san, "mail=", 0, sep);
		else
			return -1;
	} else
		return -1;
	return 0;
}

int
tls_cert_extract(const struct tls_backend *be, const char *pem, const char *field, char **out,
                 struct err *e)
{
	struct tls_cert_facts f = { 0 };
	struct buf b = { 0 };
	size_t len = 0;
	unsigned char *der = pem_first_der(pem != NULL ? pem : "", &len);
	int rc = -1;

	*out = NULL;
	if (der == NULL) {
		err_set(e, EINVAL, "not a PEM certificate");
		return -1;
	}
	if (be->ops->cert_facts(der, len, &f, e) != TLS_OK)
		goto done;
	if (format_field(&f, field, &b) != 0) {
		err_set(e, EINVAL, "unknown certificate field \"%s\"", field);
		goto done;
	}
	buf_adds(&b, "");
	if (b.oom || (*out = buf_take(&b)) == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto done;
	}
	rc = 0;
done:
	buf_free(&b);
	tls_cert_facts_free(&f);
	free(der);
	return rc;
}
