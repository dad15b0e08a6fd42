/*
 * tls_gnutls_dane.c - DANE (RFC 7672) in the GnuTLS backend, through
 * libgnutls-dane's raw-record verification: the records come from
 * refmta's own resolver (tls_conn_opts.tlsa), never from libdane's lookups,
 * and only usable ones (lib/tls_dane.c) are handed over, so the verdicts
 * are OpenSSL's (tls_openssl_dane.c).
 *
 * What bites (docs/tls.md): dane_verify_crt_raw() checks a DANE-TA record
 * against chain[1] only, and only that chain[1] signed chain[0]; it checks
 * no dates.  So a DANE-TA record is tried at every depth d >= 1 on the pair
 * (chain[d-1], chain[d]), and a match is then confirmed by verifying the
 * chain from the leaf up to chain[d] as the one trust anchor (signatures,
 * dates, CA bits), which is what OpenSSL's DANE-TA does.  A DANE-TA(2)
 * Cert(0) Full(0) record whose certificate the server did not send is used
 * as the trust anchor itself, as OpenSSL does; so is a DANE-TA(2) SPKI(1)
 * Full(0) key that signed the top certificate sent.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tls_gnutls.h"

/* A libdane query over the usable records of one usage.  libdane keeps
 * pointers into `data` (dane_raw_tlsa): it lives as long as the query. */
struct gdane_q {
	char **data;
	int *len;
	size_t n;
	dane_state_t st;
	dane_query_t q; /* NULL: no record of that usage, or a failure */
};

static void
gdane_q_free(struct gdane_q *g)
{
	if (g->q != NULL)
		dane_query_deinit(g->q);
	if (g->st != NULL)
		dane_state_deinit(g->st);
	for (size_t i = 0; g->data != NULL && i < g->n; i++)
		free(g->data[i]);
	free(g->data);
	free(g->len);
}

static void
gdane_q_make(struct gdane_q *g, const struct tls_tlsa *v, size_t n, unsigned usage)
{
	memset(g, 0, sizeof *g);
	g->data = calloc(n + 1, sizeof *g->data);
	g->len = calloc(n + 1, sizeof *g->len);
	if (g->data == NULL || g->len == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!tls_tlsa_usable(&v[i]) || v[i].usage != usage)
			continue;
		g->data[g->n] = malloc(v[i].len + 3);
		if (g->data[g->n] == NULL)
			return;
		g->data[g->n][0] = (char)v[i].usage;
		g->data[g->n][1] = (char)v[i].selector;
		g->data[g->n][2] = (char)v[i].mtype;
		memcpy(g->data[g->n] + 3, v[i].data, v[i].len);
		g->len[g->n] = (int)(v[i].len + 3);
		g->n++;
	}
	/* dane_raw_tlsa() reads the state's flags (a NULL state crashes); this
	 * one never resolves anything itself.  secure = 1: refmta's resolver
	 * validated the records; bogus ones never come here. */
	if (g->n > 0 &&
	    (dane_state_init(&g->st, DANE_F_IGNORE_LOCAL_RESOLVER | DANE_F_IGNORE_DNSSEC) < 0 ||
	     dane_raw_tlsa(g->st, &g->q, g->data, g->len, 1, 0) < 0)) {
		if (g->q != NULL)
			dane_query_deinit(g->q);
		g->q = NULL;
	}
}

/* Does chain[0..d-1] verify up to `ta` (signatures, dates, CA constraints)? */
static int
gdane_path_ok(const gnutls_datum_t *chain, unsigned d, const gnutls_datum_t *ta)
{
	gnutls_x509_crt_t certs[TLS_MAX_CHAIN + 1], anchor = NULL;
	unsigned n = 0, status = 1;
	int ok = 0;

	if (d == 0 || d > TLS_MAX_CHAIN || gnutls_x509_crt_init(&anchor) < 0)
		return 0;
	if (gnutls_x509_crt_import(anchor, ta, GNUTLS_X509_FMT_DER) < 0)
		goto out;
	for (; n < d; n++)
		if (gnutls_x509_crt_init(&certs[n]) < 0 ||
		    gnutls_x509_crt_import(certs[n], &chain[n], GNUTLS_X509_FMT_DER) < 0) {
			n++;
			goto out;
		}
	ok = gnutls_x509_crt_list_verify(certs, d, &anchor, 1, NULL, 0, 0, &status) == 0 &&
	     status == 0;
out:
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_x509_crt_deinit(anchor);
	return ok;
}

static int
gdane_try_ee(const gnutls_datum_t *chain, unsigned n, const struct tls_tlsa *v, size_t nv)
{
	struct gdane_q g;
	unsigned verify = 1;
	int ok;

	gdane_q_make(&g, v, nv, TLS_TLSA_DANE_EE);
	ok = g.q != NULL &&
	     dane_verify_crt_raw(g.st, chain, n, GNUTLS_CRT_X509, g.q, 0,
	                         DANE_VFLAG_ONLY_CHECK_EE_USAGE, &verify) == 0 &&
	     verify == 0;
	gdane_q_free(&g);
	return ok;
}

/* The bytes of the DER element (tag, length, contents) at `p`, or 0. */
static size_t
gdane_der_tlv(const unsigned char *p, size_t max)
{
	size_t len = 0, hdr = 2;

	if (max < 2)
		return 0;
	if (p[1] < 0x80) {
		len = p[1];
	} else {
		unsigned k = p[1] & 0x7f;
		if (k == 0 || k > 3 || max < 2 + k)
			return 0;
		for (unsigned i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hdr += k;
	}
	return hdr + len <= max ? hdr + len : 0;
}

/* Is `cert` (DER) signed by the public key `spki` (DER SubjectPublicKeyInfo),
 * and inside its dates?  A DANE-TA(2) SPKI(1) Full(0) record whose key is not
 * in the chain the server sent is the trust anchor's key itself: it must
 * have signed the top certificate sent (RFC 7671 5.2.2; OpenSSL's DANE does
 * this, libgnutls-dane does not). */
static int
gdane_signed_by_key(const gnutls_datum_t *cert, const struct tls_tlsa *spki)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t key = NULL;
	gnutls_datum_t k = { (unsigned char *)spki->data, (unsigned)spki->len }, tbs, sig = { 0 };
	unsigned char sigbuf[1024];
	size_t hdr, siglen = sizeof sigbuf;
	time_t now = time(NULL);
	int ok = 0, algo;

	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signature } (RFC 5280 4.1): the signature covers tbsCertificate's DER. */
	if (gdane_der_tlv(cert->data, cert->size) == 0 || cert->data[0] != 0x30)
		return 0;
	hdr = cert->data[1] < 0x80 ? 2 : 2 + (size_t)(cert->data[1] & 0x7f);
	tbs.data = cert->data + hdr;
	tbs.size = (unsigned)gdane_der_tlv(tbs.data, cert->size - hdr);
	if (tbs.size == 0 || gnutls_x509_crt_init(&crt) < 0)
		return 0;
	if (gnutls_x509_crt_import(crt, cert, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_signature(crt, (char *)sigbuf, &siglen) < 0 ||
	    (algo = gnutls_x509_crt_get_signature_algorithm(crt)) < 0 ||
	    gnutls_pubkey_init(&key) < 0 || gnutls_pubkey_import(key, &k, GNUTLS_X509_FMT_DER) < 0)
		goto out;
	sig = (gnutls_datum_t){ sigbuf, (unsigned)siglen };
	ok = gnutls_pubkey_verify_data2(key, (gnutls_sign_algorithm_t)algo, 0, &tbs, &sig) >= 0 &&
	     gnutls_x509_crt_get_activation_time(crt) <= now &&
	     gnutls_x509_crt_get_expiration_time(crt) >= now;
out:
	gnutls_pubkey_deinit(key);
	gnutls_x509_crt_deinit(crt);
	return ok;
}

/* The depth of the DANE-TA match, or -1. */
static int
gdane_try_ta(const gnutls_datum_t *chain, unsigned n, const struct tls_tlsa *v, size_t nv)
{
	struct gdane_q g;
	int depth = -1;

	gdane_q_make(&g, v, nv, TLS_TLSA_DANE_TA);
	for (unsigned d = 1; g.q != NULL && d < n && depth < 0; d++) {
		unsigned verify = 1;
		if (dane_verify_crt_raw(g.st, &chain[d - 1], 2, GNUTLS_CRT_X509, g.q, 0,
		                        DANE_VFLAG_ONLY_CHECK_CA_USAGE, &verify) == 0 &&
		    verify == 0 && gdane_path_ok(chain, d, &chain[d]))
			depth = (int)d;
	}
	gdane_q_free(&g);
	/* A full certificate published but not sent: it is the anchor itself. */
	for (size_t i = 0; i < nv && depth < 0; i++) {
		const struct tls_tlsa *r = &v[i];
		gnutls_datum_t ta = { (unsigned char *)r->data, (unsigned)r->len };
		if (tls_tlsa_usable(r) && r->usage == TLS_TLSA_DANE_TA && r->selector == 0 &&
		    r->mtype == 0 && gdane_path_ok(chain, n, &ta))
			depth = (int)n;
	}
	/* A bare key published but not sent: it signed the top certificate
	 * sent, and the chain below verifies to that one.  OpenSSL reports the
	 * depth of that top certificate (danetest.in blocks 45, 46). */
	for (size_t i = 0; i < nv && depth < 0; i++) {
		const struct tls_tlsa *r = &v[i];
		if (tls_tlsa_usable(r) && r->usage == TLS_TLSA_DANE_TA && r->selector == 1 &&
		    r->mtype == 0 && gdane_signed_by_key(&chain[n - 1], r) &&
		    (n == 1 || gdane_path_ok(chain, n - 1, &chain[n - 1])))
			depth = (int)n - 1;
	}
	return depth;
}

enum tls_dane_result
gtls_dane_chain(const struct tls_der *chain, size_t n, const struct tls_tlsa *tlsa, size_t ntlsa,
                int *usage, int *depth)
{
	gnutls_datum_t v[TLS_MAX_CHAIN];
	int d;

	if (n == 0 || n > TLS_MAX_CHAIN)
		return TLS_DANE_NO_MATCH;
	for (size_t i = 0; i < n; i++)
		v[i] = (gnutls_datum_t){ chain[i].data, (unsigned)chain[i].len };
	if (gdane_try_ee(v, (unsigned)n, tlsa, ntlsa)) {
		*usage = TLS_TLSA_DANE_EE;
		*depth = 0;
		return TLS_DANE_MATCH;
	}
	if ((d = gdane_try_ta(v, (unsigned)n, tlsa, ntlsa)) >= 0) {
		*usage = TLS_TLSA_DANE_TA;
		*depth = d;
		return TLS_DANE_MATCH;
	}
	return TLS_DANE_NO_MATCH;
}

void
gtls_dane_result(struct gtls_conn *c)
{
	struct tls_info *info = &c->base.info;
	const gnutls_datum_t *peers;
	struct tls_der chain[TLS_MAX_CHAIN];
	unsigned n = 0;

	if (c->ntlsa == 0)
		return;
	info->dane = TLS_DANE_NO_MATCH;
	peers = gnutls_certificate_get_peers(c->s, &n);
	if (peers != NULL && n > 0) {
		if (n > TLS_MAX_CHAIN)
			n = TLS_MAX_CHAIN;
		for (unsigned i = 0; i < n; i++)
			chain[i] = (struct tls_der){ peers[i].data, peers[i].size };
		info->dane = gtls_dane_chain(chain, n, c->tlsa, c->ntlsa, &info->dane_usage,
		                             &info->dane_depth);
	}
	c->tlsa = NULL; /* the caller's, valid only until the handshake ended */
}
