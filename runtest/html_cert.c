/*
 * html_cert.c - a minimal DER reader for the teaching report: just enough
 * of X.509 (RFC 5280 4.1) to show a certificate's subject, issuer,
 * validity and subjectAltName DNS names (html_cert.h).  Bounded by the
 * lengths it reads; anything unexpected ends in "unparsed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html_cert.h"
#include "scenario.h"
#include "tls.h"

struct der {
	const unsigned char *p, *end;
};

/* Read one TLV: tag, and its contents as a sub-reader.  0, or -1. */
static int
der_next(struct der *d, unsigned *tag, struct der *in)
{
	size_t len = 0;

	if (d->end - d->p < 2)
		return -1;
	*tag = *d->p++;
	unsigned char l = *d->p++;
	if (l & 0x80) {
		unsigned n = l & 0x7f;
		if (n == 0 || n > 4 || (size_t)(d->end - d->p) < n)
			return -1;
		while (n--)
			len = len << 8 | *d->p++;
	} else {
		len = l;
	}
	if ((size_t)(d->end - d->p) < len)
		return -1;
	in->p = d->p;
	in->end = d->p + len;
	d->p += len;
	return 0;
}

/* The short names of RFC 4514 3 for the attributes our PKI uses. */
static const char *
attr_name(const struct der *oid)
{
	static const struct {
		unsigned char last;
		const char *name;
	} names[] = { { 3, "CN" }, { 6, "C" }, { 7, "L" }, { 8, "ST" }, { 10, "O" }, { 11, "OU" } };
	if (oid->end - oid->p == 3 && oid->p[0] == 0x55 && oid->p[1] == 0x04)
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (names[i].last == oid->p[2])
				return names[i].name;
	return NULL;
}

/* Append text, replacing what would break the one-line facts format. */
static void
add_clean(struct buf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%c", p[i] < 32 || p[i] == 127 ? '?' : p[i]);
}

/* Name ::= SEQUENCE OF SET OF AttributeTypeAndValue, as "CN=x,O=y". */
static int
add_name(struct buf *out, struct der name)
{
	unsigned tag;
	struct der set, atv, oid, val;
	int first = 1;

	while (name.p < name.end) {
		if (der_next(&name, &tag, &set) != 0 || tag != 0x31)
			return -1;
		while (set.p < set.end) {
			if (der_next(&set, &tag, &atv) != 0 || tag != 0x30 ||
			    der_next(&atv, &tag, &oid) != 0 || tag != 0x06 ||
			    der_next(&atv, &tag, &val) != 0)
				return -1;
			const char *an = attr_name(&oid);
			if (an == NULL)
				continue;
			buf_addf(out, "%s%s=", first ? "" : ",", an);
			add_clean(out, val.p, (size_t)(val.end - val.p));
			first = 0;
		}
	}
	if (first)
		buf_adds(out, "(empty)");
	return 0;
}

/* UTCTime (RFC 5280 4.1.2.5.1: YY >= 50 is 19YY) or GeneralizedTime. */
static int
add_time(struct buf *out, unsigned tag, struct der t)
{
	size_t n = (size_t)(t.end - t.p);
	const char *s = (const char *)t.p;

	if (tag == 0x17 && n == 13)
		buf_addf(out, "%s%.2s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s[0] >= '5' ? "19" : "20", s,
		         s + 2, s + 4, s + 6, s + 8, s + 10);
	else if (tag == 0x18 && n == 15)
		buf_addf(out, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 8, s + 10,
		         s + 12);
	else
		return -1;
	return 0;
}

/* Extensions: the subjectAltName's dNSNames (RFC 5280 4.2.1.6). */
static void
add_dns(struct buf *out, struct der exts)
{
	unsigned tag;
	struct der seq, ext, oid, v, san, gn;
	int first = 1;

	if (der_next(&exts, &tag, &seq) != 0 || tag != 0x30)
		return;
	while (seq.p < seq.end) {
		if (der_next(&seq, &tag, &ext) != 0 || der_next(&ext, &tag, &oid) != 0)
			return;
		if (oid.end - oid.p != 3 || memcmp(oid.p, "\x55\x1d\x11", 3) != 0)
			continue;
		if (der_next(&ext, &tag, &v) == 0 && tag == 0x01 && der_next(&ext, &tag, &v) != 0)
			return;
		if (tag != 0x04 || der_next(&v, &tag, &san) != 0 || tag != 0x30)
			return;
		buf_adds(out, " dns=");
		while (san.p < san.end && der_next(&san, &tag, &gn) == 0) {
			if (tag != 0x82)
				continue;
			if (!first)
				buf_adds(out, ",");
			add_clean(out, gn.p, (size_t)(gn.end - gn.p));
			first = 0;
		}
	}
}

void
html_cert_describe(const unsigned char *der, size_t len, struct buf *out)
{
	struct der d = { der, der + len }, cert, tbs, f, issuer, validity, t1, t2;
	unsigned tag, tag1, tag2;
	struct buf tmp = { 0 };

	if (der_next(&d, &tag, &cert) != 0 || tag != 0x30 || der_next(&cert, &tag, &tbs) != 0 ||
	    tag != 0x30)
		goto bad;
	if (der_next(&tbs, &tag, &f) != 0) /* [0] version, or the serial */
		goto bad;
	if (tag == 0xa0 && der_next(&tbs, &tag, &f) != 0) /* serial */
		goto bad;
	if (der_next(&tbs, &tag, &f) != 0 || der_next(&tbs, &tag, &issuer) != 0 ||
	    der_next(&tbs, &tag, &validity) != 0 || der_next(&validity, &tag1, &t1) != 0 ||
	    der_next(&validity, &tag2, &t2) != 0 || der_next(&tbs, &tag, &f) != 0)
		goto bad;
	buf_adds(&tmp, "subject=");
	if (add_name(&tmp, f) != 0)
		goto bad;
	buf_adds(&tmp, " issuer=");
	if (add_name(&tmp, issuer) != 0)
		goto bad;
	buf_adds(&tmp, " notbefore=");
	if (add_time(&tmp, tag1, t1) != 0)
		goto bad;
	buf_adds(&tmp, " notafter=");
	if (add_time(&tmp, tag2, t2) != 0)
		goto bad;
	/* subjectPublicKeyInfo, then optional [1] [2] unique ids, then [3] extensions */
	while (tbs.p < tbs.end && der_next(&tbs, &tag, &f) == 0)
		if (tag == 0xa3)
			add_dns(&tmp, f);
	if (tmp.p != NULL)
		buf_adds(out, tmp.p);
	buf_free(&tmp);
	return;
bad:
	buf_free(&tmp);
	buf_addf(out, "unparsed (%zu octets)", len);
}

void
html_cert_record(const char *workdir, const char *client, int ok, const struct tls_info *info)
{
	char path[4200];
	struct buf b = { 0 };
	FILE *f;

	buf_addf(&b, "handshake client=%s result=%s", client, ok ? "done" : "failed");
	if (info != NULL) {
		buf_addf(&b, " version=%s cipher=%s group=%s sni=%s verify=%s",
		         info->version[0] ? info->version : "-",
		         info->cipher[0] ? info->cipher : "-", info->group[0] ? info->group : "-",
		         info->sni[0] ? info->sni : "-", tls_verify_word(info->verify));
		buf_adds(&b, " detail=");
		add_clean(&b, (const unsigned char *)info->verify_detail,
		          strlen(info->verify_detail));
		buf_adds(&b, "\n");
		for (size_t i = 0; i < info->peer_chain_len && i < TLS_MAX_CHAIN; i++) {
			buf_addf(&b, "cert %zu ", i);
			html_cert_describe(info->peer_chain[i].data, info->peer_chain[i].len, &b);
			buf_adds(&b, "\n");
		}
	} else {
		buf_adds(&b, "\n");
	}
	snprintf(path, sizeof path, "%s/tls-facts.txt", workdir);
	if (b.p != NULL && (f = fopen(path, "a")) != NULL) {
		fputs(b.p, f);
		fclose(f);
	}
	buf_free(&b);
}

/* The value after `key` in [p, end), up to the next known key. */
static void
field(const char *p, const char *end, const char *key, char *out, size_t len)
{
	static const char *const keys[] = { "subject=", " issuer=", " notbefore=", " notafter=",
		                            " dns=" };
	const char *v = NULL, *stop = end;

	out[0] = '\0';
	for (const char *q = p; q < end && v == NULL; q++)
		if (strncmp(q, key, strlen(key)) == 0)
			v = q + strlen(key);
	if (v == NULL)
		return;
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
		for (const char *q = v; q < stop; q++)
			if (strncmp(q, keys[k], strlen(keys[k])) == 0) {
				stop = q;
				break;
			}
	snprintf(out, len, "%.*s", (int)(stop - v), v);
}

int
html_cert_parse(const char *line, size_t n, struct html_cert_fields *f)
{
	const char *end = line + n;

	if (n < 7 || strncmp(line, "cert ", 5) != 0 || line[5] < '0' || line[5] > '9')
		return -1;
	field(line, end, "subject=", f->subject, sizeof f->subject);
	field(line, end, " issuer=", f->issuer, sizeof f->issuer);
	field(line, end, " notbefore=", f->notbefore, sizeof f->notbefore);
	field(line, end, " notafter=", f->notafter, sizeof f->notafter);
	field(line, end, " dns=", f->dns, sizeof f->dns);
	if (f->subject[0] == '\0')
		snprintf(f->subject, sizeof f->subject, "%.*s", (int)(n - 7), line + 7);
	return atoi(line + 5);
}

/* The next PEM certificate at or after *p as DER (caller frees), or NULL. */
static unsigned char *
pem_next(const char **p, size_t *len)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *b = strstr(*p, "-----BEGIN CERTIFICATE-----"), *e;
	unsigned char *der;
	unsigned acc = 0;
	int bits = 0;

	if (b == NULL || (e = strstr(b, "-----END CERTIFICATE-----")) == NULL)
		return NULL;
	b += 27;
	if ((der = malloc((size_t)(e - b))) == NULL)
		return NULL;
	*len = 0;
	for (; b < e; b++) {
		const char *at = *b ? strchr(tab, *b) : NULL;
		if (at == NULL)
			continue;
		acc = (acc << 6 | (unsigned)(at - tab)) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			der[(*len)++] = (unsigned char)(acc >> bits);
		}
	}
	*p = e + 25;
	return der;
}

/* "@PKI@/x.pem" or "@WORK@/certs/x.pem" as a path. */
static void
peer_file(const char *word, const char *pki, const char *workdir, char *out, size_t len)
{
	if (strncmp(word, "@PKI@", 5) == 0)
		snprintf(out, len, "%s%s", pki, word + 5);
	else if (strncmp(word, "@WORK@", 6) == 0)
		snprintf(out, len, "%s%s", workdir, word + 6);
	else
		snprintf(out, len, "%s", word);
}

char *
html_cert_peer_chains(const struct scenario *s, const char *pki, const char *workdir)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer_spec *ps = &s->peers[i];
		for (size_t k = 0; k < ps->lines.n; k++) {
			char cert[2][1024], path[4200];
			int n = sscanf(ps->lines.v[k], "tls = %1023s %*s %1023s", cert[0], cert[1]);
			for (int c = 0; c < n; c++) {
				peer_file(cert[c], pki, workdir, path, sizeof path);
				FILE *f = fopen(path, "r");
				char *pem = NULL;
				size_t cap = 0, len;
				if (f == NULL)
					continue;
				if (getdelim(&pem, &cap, '\0', f) > 0) {
					const char *p = pem;
					unsigned char *der;
					buf_addf(&b, "peer %s %s\n", ps->name, cert[c]);
					for (int d = 0; (der = pem_next(&p, &len)) != NULL; d++) {
						buf_addf(&b, "cert %d ", d);
						html_cert_describe(der, len, &b);
						buf_adds(&b, "\n");
						free(der);
					}
				}
				free(pem);
				fclose(f);
			}
		}
	}
	return b.p != NULL ? buf_take(&b) : NULL;
}
