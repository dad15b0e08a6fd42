/*
 * tls_dane.c - the DANE rules both TLS backends share (RFC 7672): which
 * TLSA records are usable for SMTP (3.1.3), and the name check a DANE-TA
 * match needs (3.2.2), written once so the backends cannot drift.  The
 * matching itself is each backend's (tls_openssl_dane.c, tls_gnutls_dane.c);
 * which record matched is computed here for both (tls_conn_dane_matched).
 */
#include <stdlib.h>
#include <string.h>

#include "tls_int.h"

int
tls_tlsa_usable(const struct tls_tlsa *r)
{
	/* RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP, as
	 * is any usage, selector or matching type not defined (RFC 6698 2.1). */
	if (r->usage != TLS_TLSA_DANE_TA && r->usage != TLS_TLSA_DANE_EE)
		return 0;
	if (r->selector > 1 || r->mtype > 2)
		return 0;
	/* RFC 6698 2.1.3: the digest lengths are fixed; a full value is not empty. */
	if (r->mtype == 1 && r->len != 32)
		return 0;
	if (r->mtype == 2 && r->len != 64)
		return 0;
	return r->len > 0 && r->data != NULL;
}

size_t
tls_tlsa_count_usable(const struct tls_tlsa *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += tls_tlsa_usable(&v[i]) != 0;
	return k;
}

/* Does the leaf carry one of `names`?  (RFC 7672 3.2.2) */
static int
dane_leaf_names(const struct tls_backend *be, const struct tls_der *leaf, const char *const *names,
                size_t n)
{
	struct tls_cert_names cn = { 0 };
	int match = 0;

	if (be->ops->cert_names(leaf->data, leaf->len, &cn, NULL) == TLS_OK)
		for (size_t i = 0; i < n && !match; i++)
			match = names[i] != NULL && tls_cert_names_match(&cn, names[i]);
	tls_cert_names_free(&cn);
	return match;
}

enum tls_dane_result
tls_dane_verify_chain(const struct tls_backend *be, const struct tls_der *chain, size_t n,
                      const struct tls_tlsa *tlsa, size_t ntlsa, const char *const *names,
                      size_t nnames, int *usage, int *depth)
{
	enum tls_dane_result r;

	*usage = *depth = -1;
	if (!(be->caps & TLS_CAP_DANE) || be->ops->dane_chain == NULL || n == 0)
		return TLS_DANE_NO_MATCH;
	r = be->ops->dane_chain(chain, n, tlsa, ntlsa, usage, depth);
	if (r == TLS_DANE_MATCH && *usage == TLS_TLSA_DANE_TA && nnames > 0 &&
	    !dane_leaf_names(be, &chain[0], names, nnames))
		r = TLS_DANE_NO_MATCH;
	return r;
}

int
tls_conn_dane_check_names(struct tls_conn *c, const char *const *names, size_t n)
{
	struct tls_info *info = &c->info;
	int match = 0;

	if (info->dane != TLS_DANE_MATCH)
		return 0;
	/* RFC 7672 3.1.1: a DANE-EE match binds the key itself; no names. */
	if (info->dane_usage == TLS_TLSA_DANE_EE)
		return 1;
	if (info->peer_chain_len > 0)
		match = dane_leaf_names(c->be, &info->peer_chain[0], names, n);
	if (!match) {
		info->dane = TLS_DANE_NO_MATCH;
		info->dane_name_mismatch = 1;
	}
	return match;
}

/* Does record `r` carry the association data of certificate `der`? */
static int
dane_record_is(const struct tls_tlsa *r, const struct tls_der *der)
{
	unsigned char v[16384]; /* a full certificate (mtype 0) or SubjectPublicKeyInfo */
	size_t len = 0;

	if (r->len > sizeof v)
		return 0;
	if (tls_tlsa_from_der(der->data, der->len, r->selector, r->mtype, v, sizeof v, &len,
	                      NULL) != 0)
		return 0;
	return len == r->len && memcmp(v, r->data, len) == 0;
}

int
tls_conn_dane_matched(const struct tls_conn *c, const struct tls_tlsa *tlsa, size_t n)
{
	const struct tls_info *info = &c->info;
	int depth = info->dane_depth;

	if (info->dane != TLS_DANE_MATCH || depth < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct tls_tlsa *r = &tlsa[i];
		if (!tls_tlsa_usable(r) || r->usage != info->dane_usage)
			continue;
		if ((size_t)depth < info->peer_chain_len) {
			if (dane_record_is(r, &info->peer_chain[depth]))
				return (int)i;
		} else if (r->usage == TLS_TLSA_DANE_TA && r->mtype == 0) {
			return (int)i; /* the anchor itself, not sent (RFC 7671 5.2.2) */
		}
	}
	/* A bare key (2 1 0) that signed the top certificate sent: both
	 * backends report that certificate's depth (OpenSSL's rule,
	 * danetest.in block 46), and no record is that certificate. */
	if (info->dane_usage == TLS_TLSA_DANE_TA && (size_t)depth + 1 == info->peer_chain_len)
		for (size_t i = 0; i < n; i++)
			if (tls_tlsa_usable(&tlsa[i]) && tlsa[i].usage == TLS_TLSA_DANE_TA &&
			    tlsa[i].selector == 1 && tlsa[i].mtype == 0)
				return (int)i;
	return -1;
}
