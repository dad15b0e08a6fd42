/*
 * tls_verdict.c - the facts both backends record and the one verdict
 * vocabulary they are judged in: the verification words and their
 * precedence, the verdict on a peer's chain (no trust anchors, no chain, the
 * problems seen), and the policy checks that must give one answer whichever
 * library made the connection (names, staples).  A backend only says what its
 * library saw; every rule that turns that into a word lives here.  Never
 * includes a TLS library's headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_int.h"

/* Words, indexed by enum tls_verify.  Stable: transcripts and logs use them. */
static const char *const verify_words[TLS_VERIFY__COUNT] = {
	[TLS_VERIFY_OK] = "ok",
	[TLS_VERIFY_NOT_CHECKED] = "not-checked",
	[TLS_VERIFY_NO_CERTIFICATE] = "no-certificate",
	[TLS_VERIFY_SELF_SIGNED] = "self-signed",
	[TLS_VERIFY_UNKNOWN_CA] = "unknown-ca",
	[TLS_VERIFY_BAD_SIGNATURE] = "bad-signature",
	[TLS_VERIFY_REVOKED] = "revoked",
	[TLS_VERIFY_EXPIRED] = "expired",
	[TLS_VERIFY_NOT_YET_VALID] = "not-yet-valid",
	[TLS_VERIFY_INVALID] = "invalid",
	[TLS_VERIFY_NAME_MISMATCH] = "name-mismatch",
	[TLS_VERIFY_STAPLE_MISSING] = "staple-missing",
};

const char *
tls_verify_word(enum tls_verify v)
{
	if ((unsigned)v >= TLS_VERIFY__COUNT)
		return "invalid";
	return verify_words[v];
}

/*
 * Precedence is the enum order: the first problem a reader must fix is the
 * one reported (no trust path before signatures, signatures before dates,
 * the chain before the name).  Libraries stop at different points; with the
 * full set of bits and one order, both backends agree.
 */
enum tls_verify
tls_verify_summary(unsigned flags)
{
	for (unsigned v = 1; v < TLS_VERIFY__COUNT; v++)
		if (flags & TLS_VERIFY_BIT(v))
			return (enum tls_verify)v;
	return TLS_VERIFY_OK;
}

int
tls_conn_chain_checkable(const struct tls_conn *c)
{
	return c->ctx->have_ca && c->info.peer_chain_len > 0;
}

void
tls_conn_set_verdict(struct tls_conn *c, unsigned chain_flags, const char *detail)
{
	struct tls_info *info = &c->info;

	if (!c->ctx->have_ca) {
		/* Nothing to verify against: a fact, not a failure. */
		info->verify_flags = TLS_VERIFY_BIT(TLS_VERIFY_NOT_CHECKED);
		detail = "no trust anchors configured";
	} else if (info->peer_chain_len == 0) {
		info->verify_flags = TLS_VERIFY_BIT(TLS_VERIFY_NO_CERTIFICATE);
		detail = "the peer sent no certificate";
	} else {
		info->verify_flags = chain_flags;
		if (detail == NULL || detail[0] == '\0')
			detail = chain_flags == 0 ? "ok" : "";
	}
	snprintf(info->verify_detail, sizeof info->verify_detail, "%s", detail);
	info->verify = tls_verify_summary(info->verify_flags);
}

enum tls_verify
tls_conn_check_name(struct tls_conn *c, const char *host)
{
	struct tls_cert_names names = { 0 };
	struct tls_info *info = &c->info;
	int match = 0;

	if (info->peer_chain_len == 0) {
		info->verify_flags |= TLS_VERIFY_BIT(TLS_VERIFY_NO_CERTIFICATE);
	} else {
		/* The backend only decodes; the rule is certname.c's, for both. */
		if (c->be->ops->cert_names(info->peer_chain[0].data, info->peer_chain[0].len,
		                           &names, NULL) == TLS_OK)
			match = tls_cert_names_match(&names, host);
		tls_cert_names_free(&names);
		if (!match)
			info->verify_flags |= TLS_VERIFY_BIT(TLS_VERIFY_NAME_MISMATCH);
	}
	info->verify = tls_verify_summary(info->verify_flags);
	return info->verify;
}

enum tls_verify
tls_conn_require_staple(struct tls_conn *c)
{
	struct tls_info *info = &c->info;

	if (info->staple.len == 0)
		info->verify_flags |= TLS_VERIFY_BIT(TLS_VERIFY_STAPLE_MISSING);
	info->verify = tls_verify_summary(info->verify_flags);
	return info->verify;
}

void
tls_info_set_der(struct tls_der *d, const unsigned char *data, size_t len)
{
	free(d->data);
	d->data = NULL;
	d->len = 0;
	if (data == NULL || len == 0)
		return;
	d->data = malloc(len);
	if (d->data == NULL)
		return; /* reported as "absent": the caller sees len 0 */
	memcpy(d->data, data, len);
	d->len = len;
}

void
tls_info_add_peer_cert(struct tls_info *info, const unsigned char *der, size_t len)
{
	if (info->peer_chain_len >= TLS_MAX_CHAIN)
		return;
	tls_info_set_der(&info->peer_chain[info->peer_chain_len++], der, len);
}

void
tls_info_clear(struct tls_info *info)
{
	for (size_t i = 0; i < info->peer_chain_len && i < TLS_MAX_CHAIN; i++)
		tls_info_set_der(&info->peer_chain[i], NULL, 0);
	info->peer_chain_len = 0;
	tls_info_set_der(&info->anchor, NULL, 0);
	tls_info_set_der(&info->staple, NULL, 0);
	for (size_t i = 0; i < TLS_MAX_CHAIN; i++)
		tls_info_set_der(&info->chain_staple[i], NULL, 0);
}
