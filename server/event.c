/*
 * event.c - event actions (event.h, docs/events.md): the variables an
 * event gives, the expansion of event_action with ${acl} wired to the
 * configuration's ACLs, and the one log line an expansion error makes.
 *
 * It never decides what a forced event does: the caller does (a transport
 * does not connect, closes, refuses verification); this file only says
 * whether the result was non-empty (seed "Event Actions": "Should it
 * return anything else the following will be forced").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "config.h"
#include "event.h"
#include "log.h"

/* ---- the variables ------------------------------------------------------------------ */

#define EV_STR(fn, field)                                                                          \
	static const char *fn(const void *ctx, char *buf, size_t len)                              \
	{                                                                                          \
		(void)buf, (void)len;                                                              \
		return ((const struct event *)ctx)->field;                                         \
	}
#define EV_PORT(fn, field)                                                                         \
	static const char *fn(const void *ctx, char *buf, size_t len)                              \
	{                                                                                          \
		unsigned p = ((const struct event *)ctx)->field;                                   \
		if (p == 0)                                                                        \
			return "";                                                                 \
		snprintf(buf, len, "%u", p);                                                       \
		return buf;                                                                        \
	}

EV_STR(v_event_name, name)
EV_STR(v_event_data, data)
EV_STR(v_message_id, msg_id)
EV_STR(v_sender_address, sender_address)
EV_STR(v_router_name, router_name)
EV_STR(v_transport_name, transport_name)
EV_STR(v_local_part, local_part)
EV_STR(v_domain, domain)
EV_STR(v_host, host)
EV_STR(v_host_address, host_address)
EV_PORT(v_host_port, host_port)
EV_STR(v_sending_ip_address, sending_ip_address)
EV_PORT(v_sending_port, sending_port)
EV_STR(v_tls_out_peercert, tls_out_peercert)
EV_STR(v_tls_in_peercert, tls_in_peercert)
EV_STR(v_lookup_dnssec_authenticated, lookup_dnssec_authenticated)
EV_STR(v_tls_out_dane, tls_out_dane)
EV_STR(v_verify_mode, verify_mode)

static const char *
v_tls_out_tlsa_usage(const void *ctx, char *buf, size_t len)
{
	const struct event *ev = ctx;

	snprintf(buf, len, "%u", ev->tls_out_tlsa_usage);
	return buf;
}

static const char *
v_tls_out_ocsp(const void *ctx, char *buf, size_t len)
{
	const struct event *ev = ctx;

	if (ev->tls_out_ocsp < 0)
		return "";
	snprintf(buf, len, "%d", ev->tls_out_ocsp);
	return buf;
}

static const char *
v_event_defer_errno(const void *ctx, char *buf, size_t len)
{
	const struct event *ev = ctx;

	snprintf(buf, len, "%d", ev->defer_errno);
	return buf;
}

const struct expand_var event_vars[] = {
	{ "event_name", v_event_name, "the event: \"msg:delivery\", \"tcp:connect\", ..." },
	{ "event_data", v_event_data, "the event's data (docs/events.md, per event)" },
	{ "event_defer_errno", v_event_defer_errno,
	  "msg:host:defer, msg:rcpt:host:defer: the errno of the failure, else 0" },
	{ "tpda_event", v_event_name, "the seed's older name of $event_name" },
	{ "tpda_data", v_event_data, "the seed's older name of $event_data" },
	{ "tpda_defer_errno", v_event_defer_errno, "the seed's older name of $event_defer_errno" },
	{ "message_exim_id", v_message_id, "the message's id (Exim's name)" },
	{ "message_id", v_message_id, "the message's id" },
	{ "sender_address", v_sender_address, "the message's envelope sender" },
	{ "router_name", v_router_name, "the router that routed the recipient" },
	{ "transport_name", v_transport_name, "the transport delivering" },
	{ "local_part", v_local_part, "the recipient's local part" },
	{ "domain", v_domain, "the recipient's domain" },
	{ "host", v_host, "the remote host's name as routed" },
	{ "host_address", v_host_address, "the remote host's IP address" },
	{ "host_port", v_host_port, "the remote host's port" },
	{ "sending_ip_address", v_sending_ip_address, "the local address of the connection" },
	{ "sending_port", v_sending_port, "the local port of the connection" },
	{ "tls_out_peercert", v_tls_out_peercert,
	  "the server's certificate (tls:cert: the one at $event_data's depth), PEM" },
	{ "tls_in_peercert", v_tls_in_peercert, "the client's certificate (receiving side), PEM" },
	{ "lookup_dnssec_authenticated", v_lookup_dnssec_authenticated,
	  "\"yes\" when every DNS answer that led to the host was DNSSEC-secure, else \"no\"" },
	{ "tls_out_dane", v_tls_out_dane,
	  "\"yes\" when the session was DANE-verified, else \"no\"" },
	{ "tls_out_tlsa_usage", v_tls_out_tlsa_usage,
	  "the seed's bitfield: bit N set when a usage-N TLSA record matched (docs/dane.md)" },
	{ "tls_out_ocsp", v_tls_out_ocsp,
	  "OCSP: 0 not requested, 1 not responded, 2 not verified, 3 failed, 4 verified "
	  "(docs/ocsp.md)" },
	{ "verify_mode", v_verify_mode, "tls:cert: \"peer\" (the server's chain)" },
};
const size_t event_nvars = sizeof event_vars / sizeof event_vars[0];

/* An event's row first, then the context's own variables (receiving side). */
static const char *
event_var(void *arg, const char *name)
{
	static char buf[64]; /* expand copies a value before asking for the next one */
	const struct event *ev = arg;
	const struct expand_var *v = expand_var_find(event_vars, event_nvars, name);

	if (v != NULL) {
		const char *r = v->get(ev, buf, sizeof buf);
		if (r != NULL || ev->more == NULL)
			return r;
	}
	v = expand_var_find(ev->more, ev->nmore, name);
	return v != NULL ? v->get(ev->more_ctx, buf, sizeof buf) : NULL;
}

/* ---- certificates ---------------------------------------------------------------- */

/* PEM of one DER certificate (RFC 7468 2: base64, 64 columns).  Caller frees. */
char *
event_der_to_pem(const unsigned char *der, size_t len)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *head = "-----BEGIN CERTIFICATE-----\n", *tail = "-----END CERTIFICATE-----\n";
	size_t n64 = (len + 2) / 3 * 4, cap = strlen(head) + n64 + n64 / 64 + 2 + strlen(tail) + 1;
	char *out = malloc(cap), *p;
	size_t col = 0;

	if (out == NULL)
		return NULL;
	p = out + sprintf(out, "%s", head);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)der[i] << 16;
		size_t k = len - i;
		char q[4];

		if (k > 1)
			v |= (unsigned)der[i + 1] << 8;
		if (k > 2)
			v |= der[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = k > 1 ? b64[(v >> 6) & 63] : '=';
		q[3] = k > 2 ? b64[v & 63] : '=';
		for (int j = 0; j < 4; j++) {
			*p++ = q[j];
			if (++col == 64) {
				*p++ = '\n';
				col = 0;
			}
		}
	}
	if (col != 0)
		*p++ = '\n';
	strcpy(p, tail);
	return out;
}

/* ---- raising ------------------------------------------------------------------------ */

int
event_action_valid(const char *value)
{
	char why[300];

	return expand_check(value, why, sizeof why) == 0;
}

int
event_raise(const struct config *cfg, const char *action, const struct event *ev)
{
	struct expand_store acl_m = { 0 };
	struct acl_env aenv = { .cfg = cfg };
	char why[400], *out = NULL;
	int rc, forced;

	if (action == NULL || *action == '\0')
		return 0;
	aenv.vars = (struct expand_env){
		.var = event_var,
		.arg = (void *)ev,
		.acl_m = &acl_m,
		.acl = acl_expand_run,
		.acl_arg = &aenv,
	};
	aenv.domain = ev->domain;
	aenv.local_part = ev->local_part;
	aenv.sender = ev->sender_address;
	aenv.host_address = ev->host_address;
	rc = expand_eval(action, &aenv.vars, &out, why, sizeof why);
	forced = rc == EXPAND_OK && out[0] != '\0';
	if (rc == EXPAND_ERROR) {
		if (ev->msg_id != NULL)
			log_write("%s failed to expand event_action %s: %s", ev->msg_id, ev->name,
			          why);
		else
			log_write("failed to expand event_action %s: %s", ev->name, why);
	}
	free(out);
	expand_store_clear(&acl_m);
	return forced;
}

void
event_split_address(const char *addr, char *lp, size_t lplen, char *dom, size_t domlen)
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;

	lp[0] = dom[0] = '\0';
	if (addr == NULL)
		return;
	if (at == NULL) {
		snprintf(lp, lplen, "%s", addr);
		return;
	}
	snprintf(lp, lplen, "%.*s", (int)(at - addr), addr);
	snprintf(dom, domlen, "%s", at + 1);
}
