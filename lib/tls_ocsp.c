/*
 * tls_ocsp.c - the one verdict rule for OCSP staples (tls_ocsp.h).  The
 * backends' tls_*_ocsp.c files read responses and check signatures with their
 * libraries; everything that turns those facts into a word is here, so a
 * staple gets the same word on OpenSSL and GnuTLS.  Never includes a TLS
 * library's headers.
 */
#include <stdio.h>
#include <string.h>

#include "tls_int.h"
#include "tls_ocsp.h"

/* Stable: logs, $tls_out_ocsp's companions and transcripts use them. */
static const char *const ocsp_words[TLS_OCSP__COUNT] = {
	[TLS_OCSP_GOOD] = "good",
	[TLS_OCSP_REVOKED] = "revoked",
	[TLS_OCSP_UNKNOWN] = "unknown",
	[TLS_OCSP_MISSING] = "missing",
	[TLS_OCSP_MALFORMED] = "malformed",
	[TLS_OCSP_WRONG_CERT] = "wrong-certificate",
	[TLS_OCSP_BAD_SIGNATURE] = "bad-signature",
	[TLS_OCSP_BAD_SIGNER] = "bad-signer",
	[TLS_OCSP_SIGNER_NOT_FOUND] = "signer-not-found",
	[TLS_OCSP_SIGNER_EXPIRED] = "signer-expired",
	[TLS_OCSP_NO_NEXT_UPDATE] = "no-next-update",
	[TLS_OCSP_EXPIRED] = "expired",
	[TLS_OCSP_NOT_YET_VALID] = "not-yet-valid",
	[TLS_OCSP_NO_ISSUER] = "no-issuer",
};

const char *
tls_ocsp_word(enum tls_ocsp_verdict v)
{
	if ((unsigned)v >= TLS_OCSP__COUNT)
		return "malformed";
	return ocsp_words[v];
}

enum tls_ocsp_verdict
tls_ocsp_judge(const struct tls_ocsp_facts *f, time_t now)
{
	if (!f->parsed)
		return TLS_OCSP_MALFORMED;
	if (!f->for_cert)
		return TLS_OCSP_WRONG_CERT;
	/* RFC 6960 4.2.2.2: the issuer itself, or a delegate it issued with
	 * id-kp-OCSPSigning; the seed: an expired delegate spoils the proof. */
	switch (f->sig) {
	case TLS_OCSP_SIG_BAD_SIGNATURE:
		return TLS_OCSP_BAD_SIGNATURE;
	case TLS_OCSP_SIG_BAD_SIGNER:
		return TLS_OCSP_BAD_SIGNER;
	case TLS_OCSP_SIG_SIGNER_NOT_FOUND:
		return TLS_OCSP_SIGNER_NOT_FOUND;
	case TLS_OCSP_SIG_SIGNER_EXPIRED:
		return TLS_OCSP_SIGNER_EXPIRED;
	case TLS_OCSP_SIG_NOT_CHECKED:
	case TLS_OCSP_SIG_OK:
		break;
	}
	/* RFC 6960 4.2.2.1 ("sufficiently recent"); the seed: no nextUpdate,
	 * or one in the past, and the proof is ignored. */
	if (f->this_update > now + TLS_OCSP_LEEWAY)
		return TLS_OCSP_NOT_YET_VALID;
	if (!f->has_next_update)
		return TLS_OCSP_NO_NEXT_UPDATE;
	if (f->next_update < now - TLS_OCSP_LEEWAY)
		return TLS_OCSP_EXPIRED;
	switch (f->status) {
	case TLS_OCSP_STATUS_GOOD:
		return TLS_OCSP_GOOD;
	case TLS_OCSP_STATUS_REVOKED:
		return TLS_OCSP_REVOKED;
	case TLS_OCSP_STATUS_UNKNOWN:
		break;
	}
	return TLS_OCSP_UNKNOWN;
}

void
tls_ocsp_read(const struct tls_backend *be, const unsigned char *resp, size_t len,
              const struct tls_der *leaf, const struct tls_der *issuer, int check_signature,
              time_t now, struct tls_ocsp_facts *out)
{
	memset(out, 0, sizeof *out);
	if (resp == NULL || len == 0 || leaf == NULL || leaf->len == 0) {
		snprintf(out->detail, sizeof out->detail, "no response or no certificate");
		return;
	}
	be->ops->ocsp_read(resp, len, leaf, issuer, check_signature, now, out);
}

enum tls_ocsp_verdict
tls_ocsp_check(const struct tls_backend *be, const unsigned char *resp, size_t len,
               const struct tls_der *leaf, const struct tls_der *issuer, int check_signature,
               time_t now, struct tls_ocsp_facts *out)
{
	struct tls_ocsp_facts mine;

	if (out == NULL)
		out = &mine;
	tls_ocsp_read(be, resp, len, leaf, issuer, check_signature, now, out);
	return tls_ocsp_judge(out, now);
}

enum tls_ocsp_verdict
tls_conn_check_staple(const struct tls_conn *c, time_t now, struct tls_ocsp_facts *facts)
{
	const struct tls_info *info = &c->info;
	struct tls_ocsp_facts mine;

	if (facts == NULL)
		facts = &mine;
	memset(facts, 0, sizeof *facts);
	if (info->staple.len == 0)
		return TLS_OCSP_MISSING;
	if (info->peer_chain_len < 2)
		return TLS_OCSP_NO_ISSUER;
	return tls_ocsp_check(c->be, info->staple.data, info->staple.len, &info->peer_chain[0],
	                      &info->peer_chain[1], 1, now, facts);
}

enum tls_ocsp_verdict
tls_conn_check_chain_staple(const struct tls_conn *c, size_t depth, time_t now,
                            struct tls_ocsp_facts *facts)
{
	const struct tls_info *info = &c->info;
	const struct tls_der *issuer;
	struct tls_ocsp_facts mine;

	if (depth == 0)
		return tls_conn_check_staple(c, now, facts);
	if (facts == NULL)
		facts = &mine;
	memset(facts, 0, sizeof *facts);
	if (depth >= TLS_MAX_CHAIN || depth >= info->peer_chain_len ||
	    info->chain_staple[depth].len == 0)
		return TLS_OCSP_MISSING;
	/* The top of a sent chain is issued by the anchor the client holds
	 * (servers do not send the root, RFC 8446 4.4.2). */
	issuer = depth + 1 < info->peer_chain_len ? &info->peer_chain[depth + 1] : &info->anchor;
	if (issuer->len == 0)
		return TLS_OCSP_NO_ISSUER;
	return tls_ocsp_check(c->be, info->chain_staple[depth].data, info->chain_staple[depth].len,
	                      &info->peer_chain[depth], issuer, 1, now, facts);
}

int
tls_ocsp_query_new(const struct tls_backend *be, const char *chain_file, struct tls_ocsp_query *out,
                   struct err *e)
{
	memset(out, 0, sizeof *out);
	if (be->ops->ocsp_query(chain_file, out, e) != 0) {
		tls_ocsp_query_free(out);
		return -1;
	}
	return 0;
}

void
tls_ocsp_query_free(struct tls_ocsp_query *q)
{
	tls_info_set_der(&q->leaf, NULL, 0);
	tls_info_set_der(&q->issuer, NULL, 0);
	tls_info_set_der(&q->request, NULL, 0);
}
