/*
 * smtpd_vars.c - the variables an SMTP session gives ACLs (and, later,
 * event actions): one table, name -> getter, with a line of docs each.
 * docs/config.md ("Variables in ACLs") lists the same rows; a unit test
 * keeps the two in step.
 *
 * A getter only reads the session: it never changes it and never fails.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "smtpd_int.h"
#include "tls.h"

static const struct tls_info *
tls_in(const struct session *s)
{
	return s->tls != NULL ? tls_conn_info(s->tls) : NULL;
}

static const char *
v_sender_host_address(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->peer->ip;
}

static const char *
v_sender_host_port(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	snprintf(buf, len, "%u", s->peer->port);
	return buf;
}

static const char *
v_sender_host_name(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->host_name;
}

static const char *
v_host_lookup_failed(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->host_lookup_failed ? "1" : "0";
}

static const char *
v_host_lookup_deferred(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->host_lookup_deferred ? "1" : "0";
}

static const char *
v_received_ip_address(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->peer->local_ip;
}

static const char *
v_received_port(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	snprintf(buf, len, "%u", s->peer->local_port);
	return buf;
}

/* The seed's Proxy Protocol variables (docs/proxy.md).  A port is "" when
 * its address is (no proxy session, or a failed one). */
static const char *
v_proxy_session(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->peer->proxy_session ? "yes" : "no";
}

static const char *
v_proxy_host_address(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->peer->proxy_host_ip;
}

static const char *
v_proxy_host_port(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	if (s->peer->proxy_host_ip[0] == '\0')
		return "";
	snprintf(buf, len, "%u", s->peer->proxy_host_port);
	return buf;
}

static const char *
v_proxy_target_address(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->peer->proxy_target_ip;
}

static const char *
v_proxy_target_port(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	if (s->peer->proxy_target_ip[0] == '\0')
		return "";
	snprintf(buf, len, "%u", s->peer->proxy_target_port);
	return buf;
}

static const char *
v_sender_helo_name(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->helo_checked[0] ? s->helo_checked : s->helo;
}

static const char *
v_sender_address(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->mail.path;
}

/* $sender_address_local_part, $sender_address_domain: the MAIL FROM
 * address split at its last "@" (the seed's LMDB and event examples). */
static const char *
v_sender_address_local_part(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;
	const char *at = strrchr(s->mail.path, '@');

	if (at == NULL)
		return s->mail.path;
	snprintf(buf, len, "%.*s", (int)(at - s->mail.path), s->mail.path);
	return buf;
}

static const char *
v_sender_address_domain(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;
	const char *at = strrchr(s->mail.path, '@');

	(void)buf, (void)len;
	return at != NULL ? at + 1 : "";
}

static const char *
v_local_part(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->cur_local_part;
}

static const char *
v_domain(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->cur_domain;
}

static const char *
v_recipients_count(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	snprintf(buf, len, "%zu", s->nrcpts);
	return buf;
}

static const char *
v_message_size(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	snprintf(buf, len, "%zu", s->msg.len);
	return buf;
}

static const char *
v_primary_hostname(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->cfg->primary_hostname;
}

static const char *
v_smtp_command(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->command;
}

static const char *
v_tls_in_cipher(const void *ctx, char *buf, size_t len)
{
	const struct tls_info *ti = tls_in(ctx);

	(void)buf, (void)len;
	return ti ? ti->cipher : "";
}

static const char *
v_tls_in_ver(const void *ctx, char *buf, size_t len)
{
	const struct tls_info *ti = tls_in(ctx);

	(void)buf, (void)len;
	return ti ? ti->version : "";
}

static const char *
v_tls_in_sni(const void *ctx, char *buf, size_t len)
{
	const struct tls_info *ti = tls_in(ctx);

	(void)buf, (void)len;
	return ti ? ti->sni : "";
}

static const char *
v_tls_in_certificate_verified(const void *ctx, char *buf, size_t len)
{
	const struct tls_info *ti = tls_in(ctx);

	(void)buf, (void)len;
	return ti && ti->verify == TLS_VERIFY_OK ? "1" : "0";
}

static const char *
v_tls_in_verify(const void *ctx, char *buf, size_t len)
{
	const struct tls_info *ti = tls_in(ctx);

	(void)buf, (void)len;
	return ti ? tls_verify_word(ti->verify) : "";
}

/* ---- SPF (docs/spf.md): the last check the ACLs made in this transaction ---- */

static const struct spf_verdict *
spf_last(const void *ctx)
{
	const struct session *s = ctx;

	return spf_session_checked(&s->spf);
}

static const char *
v_spf_result(const void *ctx, char *buf, size_t len)
{
	const struct spf_verdict *v = spf_last(ctx);

	(void)buf, (void)len;
	return v ? spf_result_word(v->result) : "";
}

static const char *
v_spf_header_comment(const void *ctx, char *buf, size_t len)
{
	const struct spf_verdict *v = spf_last(ctx);

	(void)buf, (void)len;
	return v ? v->header_comment : "";
}

static const char *
v_spf_received(const void *ctx, char *buf, size_t len)
{
	const struct spf_verdict *v = spf_last(ctx);

	(void)buf, (void)len;
	return v ? v->received : "";
}

static const char *
v_spf_smtp_comment(const void *ctx, char *buf, size_t len)
{
	const struct spf_verdict *v = spf_last(ctx);

	(void)buf, (void)len;
	return v ? v->smtp_comment : "";
}

static const char *
v_spf_used_domain(const void *ctx, char *buf, size_t len)
{
	const struct spf_verdict *v = spf_last(ctx);

	(void)buf, (void)len;
	return v ? v->domain : "";
}

/*
 * ${authresults{ID}}'s items, one header for every method that ran: SPF's
 * (when an ACL checked it), then DKIM's and DMARC's once DMARC ran (the
 * same items as $dmarc_ar_header, RFC 7489 11.2).  docs/spf.md "Authentication-Results".
 */
void
smtpd_authres_items(const void *ctx, struct buf *b)
{
	const struct session *s = ctx;
	const struct dmarc_session *d = &s->dmarc;

	spf_authres_append(b, spf_session_checked(&s->spf));
	if (d->evaluated && d->dmarc_on) {
		dkimv_authres_append(b, &d->dkim);
		dmarc_authres_append(b, &d->verdict);
	}
}

/* $authresults: ${authresults{$primary_hostname}}.  The value is longer
 * than `buf`: it lives in static storage until the next call (one session
 * per worker process). */
static const char *
v_authresults(const void *ctx, char *buf, size_t len)
{
	static char header[2048];
	const struct session *s = ctx;
	struct buf b = { 0 };

	(void)buf, (void)len;
	buf_addf(&b, "Authentication-Results: %s",
	         s->cfg->primary_hostname ? s->cfg->primary_hostname : "localhost");
	{
		size_t base = b.len;
		smtpd_authres_items(s, &b);
		if (b.len == base)
			buf_adds(&b, "; none");
	}
	snprintf(header, sizeof header, "%s", b.p != NULL && !b.oom ? b.p : "");
	buf_free(&b);
	return header;
}

/* Exim's values: "yes" when the client's MAIL carried PRDR. */
static const char *
v_prdr_requested(const void *ctx, char *buf, size_t len)
{
	const struct session *s = ctx;

	(void)buf, (void)len;
	return s->mail.prdr ? "yes" : "no";
}

/* Exim's values for the server side: 0 not requested, 1 requested and none
 * sent, 2 sent (the client verifies it, not us). */
static const char *
v_tls_in_ocsp(const void *ctx, char *buf, size_t len)
{
	const struct tls_info *ti = tls_in(ctx);

	(void)buf, (void)len;
	return ti == NULL || !ti->staple_requested ? "0" : ti->staple_sent ? "2" : "1";
}
/* $dkim_* and $dmarc_*: dmarc_session_var() by name. */
#define DMARC_VAR(n)                                                                               \
	static const char *v_##n(const void *ctx, char *buf, size_t len)                           \
	{                                                                                          \
		const struct session *s = ctx;                                                     \
		(void)buf, (void)len;                                                              \
		return dmarc_session_var(&s->dmarc, #n);                                           \
	}
DMARC_VAR(dmarc_status)
DMARC_VAR(dmarc_status_text)
DMARC_VAR(dmarc_used_domain)
DMARC_VAR(dmarc_domain_policy)
DMARC_VAR(dmarc_ar_header)
DMARC_VAR(dkim_verify_status)
DMARC_VAR(dkim_verify_reason)
DMARC_VAR(dkim_domain)
DMARC_VAR(dkim_cur_signer)
DMARC_VAR(dkim_selector)
DMARC_VAR(dkim_algo)
DMARC_VAR(dkim_signers)
#undef DMARC_VAR

const struct expand_var smtpd_vars[] = {
	{ "sender_host_address", v_sender_host_address,
	  "the client's IP address (behind a proxy: from its PROXY header)" },
	{ "sender_host_port", v_sender_host_port, "the client's port (likewise)" },
	{ "sender_host_name", v_sender_host_name,
	  "the client's forward-confirmed host name (host_lookup), else \"\"" },
	{ "host_lookup_failed", v_host_lookup_failed,
	  "1 when host_lookup found no confirmed name, else 0" },
	{ "host_lookup_deferred", v_host_lookup_deferred,
	  "1 when host_lookup met a temporary DNS failure, else 0" },
	{ "received_ip_address", v_received_ip_address,
	  "the local address the client connected to" },
	{ "received_port", v_received_port, "the local port the client connected to" },
	{ "proxy_session", v_proxy_session,
	  "yes when the connection came from proxy_required_hosts, else no" },
	{ "proxy_host_address", v_proxy_host_address,
	  "the proxy's side of its connection to refmta (\"\" when negotiation failed)" },
	{ "proxy_host_port", v_proxy_host_port, "the proxy's port of that connection" },
	{ "proxy_target_address", v_proxy_target_address,
	  "the address the client connected to on the proxy" },
	{ "proxy_target_port", v_proxy_target_port,
	  "the port the client connected to on the proxy" },
	{ "sender_helo_name", v_sender_helo_name,
	  "the EHLO/HELO name (in acl_smtp_helo: the one being checked)" },
	{ "sender_address", v_sender_address, "the MAIL FROM address (\"\" for the null sender)" },
	{ "sender_address_local_part", v_sender_address_local_part,
	  "the MAIL FROM address before its last \"@\"" },
	{ "sender_address_domain", v_sender_address_domain,
	  "the MAIL FROM address after its last \"@\" (\"\" when none)" },
	{ "local_part", v_local_part, "the local part of the RCPT being checked, unquoted" },
	{ "domain", v_domain, "the domain of the RCPT being checked" },
	{ "recipients_count", v_recipients_count, "recipients accepted so far" },
	{ "message_size", v_message_size, "octets of the message received (in acl_smtp_data)" },
	{ "primary_hostname", v_primary_hostname, "the primary_hostname option" },
	{ "smtp_command", v_smtp_command, "the command line being handled" },
	{ "tls_in_cipher", v_tls_in_cipher, "the TLS cipher suite, \"\" without TLS" },
	{ "tls_in_ver", v_tls_in_ver, "the TLS version, \"\" without TLS" },
	{ "tls_in_sni", v_tls_in_sni, "the server name the client asked for (SNI)" },
	{ "tls_in_certificate_verified", v_tls_in_certificate_verified,
	  "1 when the client's certificate verified, else 0" },
	{ "tls_in_verify", v_tls_in_verify, "the client certificate's verification result word" },
	{ "prdr_requested", v_prdr_requested,
	  "\"yes\" when the client's MAIL asked for PRDR, else \"no\"" },
	{ "tls_in_ocsp", v_tls_in_ocsp,
	  "OCSP stapling: 0 not requested, 1 requested but none sent, 2 a staple was sent" },
	{ "spf_result", v_spf_result,
	  "the SPF result of the transaction (pass, fail, softfail, neutral, none, permerror, "
	  "temperror); \"\" until an spf condition ran" },
	{ "spf_header_comment", v_spf_header_comment,
	  "the SPF result in words, as in Received-SPF's comment" },
	{ "spf_received", v_spf_received, "a whole Received-SPF header (RFC 7208 9.1)" },
	{ "spf_smtp_comment", v_spf_smtp_comment,
	  "text for an SMTP reply: on fail, the domain's explanation (exp=)" },
	{ "spf_used_domain", v_spf_used_domain,
	  "the domain SPF checked (MAIL FROM's, or HELO's for the null sender)" },
	{ "authresults", v_authresults,
	  "${authresults{$primary_hostname}}: one Authentication-Results header (RFC 8601) with "
	  "spf=, and dkim= and dmarc= once DMARC ran" },
	{ "dmarc_status", v_dmarc_status,
	  "acl_smtp_data: accept, reject, quarantine, none, norecord, nofrom, temperror or off" },
	{ "dmarc_status_text", v_dmarc_status_text, "acl_smtp_data: $dmarc_status in words" },
	{ "dmarc_used_domain", v_dmarc_used_domain,
	  "acl_smtp_data: where the DMARC record was found (else the From: domain)" },
	{ "dmarc_domain_policy", v_dmarc_domain_policy,
	  "acl_smtp_data: the record's policy for the From: domain (p= or sp=), \"\" without one" },
	{ "dmarc_ar_header", v_dmarc_ar_header,
	  "acl_smtp_data: a whole Authentication-Results header with spf, dkim and dmarc" },
	{ "dkim_verify_status", v_dkim_verify_status,
	  "acl_smtp_data: none, pass, fail or invalid (the first passing signature, else the "
	  "first)" },
	{ "dkim_verify_reason", v_dkim_verify_reason,
	  "acl_smtp_data: why that signature failed or is invalid (docs/dmarc.md)" },
	{ "dkim_domain", v_dkim_domain, "acl_smtp_data: that signature's d=" },
	{ "dkim_cur_signer", v_dkim_cur_signer, "acl_smtp_data: the same as $dkim_domain" },
	{ "dkim_selector", v_dkim_selector, "acl_smtp_data: that signature's s=" },
	{ "dkim_algo", v_dkim_algo, "acl_smtp_data: that signature's a=" },
	{ "dkim_signers", v_dkim_signers,
	  "acl_smtp_data: every signing domain whose signature passed, colon-separated" },
};
const size_t smtpd_nvars = sizeof smtpd_vars / sizeof smtpd_vars[0];
