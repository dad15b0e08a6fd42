/*
 * deliver_vars.c - the delivery side's variable table and the expansion
 * of router and transport options (deliver_vars.h).  One place builds the
 * context; routers and transports only say which address, which host and
 * which option.
 *
 * Must never: expand a value a variable or lookup gave (expand.h's safety
 * rule holds: this file only hands the table to expand_eval).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "deliver_vars.h"

#define DV_STR(fn, field)                                                                          \
	static const char *fn(const void *ctx, char *buf, size_t len)                              \
	{                                                                                          \
		(void)buf, (void)len;                                                              \
		return ((const struct deliver_vars *)ctx)->field;                                  \
	}

DV_STR(v_message_id, message_id)
DV_STR(v_sender_address, sender_address)
DV_STR(v_router_name, router_name)
DV_STR(v_transport_name, transport_name)
DV_STR(v_local_part, local_part)
DV_STR(v_domain, domain)
DV_STR(v_host, host)
DV_STR(v_host_address, host_address)

/* The envelope sender split at its last "@". */
static const char *
v_sender_local_part(const void *ctx, char *buf, size_t len)
{
	const char *s = ((const struct deliver_vars *)ctx)->sender_address;
	const char *at = strrchr(s, '@');

	if (at == NULL)
		return s;
	snprintf(buf, len, "%.*s", (int)(at - s), s);
	return buf;
}

static const char *
v_sender_domain(const void *ctx, char *buf, size_t len)
{
	const char *at = strrchr(((const struct deliver_vars *)ctx)->sender_address, '@');

	(void)buf, (void)len;
	return at != NULL ? at + 1 : "";
}

static const char *
v_host_port(const void *ctx, char *buf, size_t len)
{
	unsigned p = ((const struct deliver_vars *)ctx)->host_port;

	if (p == 0)
		return "";
	snprintf(buf, len, "%u", p);
	return buf;
}

static const char *
v_tlsa_usage(const void *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "%u", ((const struct deliver_vars *)ctx)->tls_out_tlsa_usage);
	return buf;
}

const struct expand_var deliver_var_table[] = {
	{ "message_id", v_message_id, "the message's id" },
	{ "message_exim_id", v_message_id, "the message's id (Exim's name)" },
	{ "sender_address", v_sender_address, "the message's envelope sender (\"\" for <>)" },
	{ "sender_address_local_part", v_sender_local_part, "the sender before its last \"@\"" },
	{ "sender_address_domain", v_sender_domain, "the sender after its last \"@\"" },
	{ "local_part", v_local_part,
	  "the recipient's local part (transports: one recipient only)" },
	{ "domain", v_domain, "the recipient's domain (transports: when all share it)" },
	{ "router_name", v_router_name, "the router being run, or that routed the recipient" },
	{ "transport_name", v_transport_name, "the transport (transport options only)" },
	{ "host", v_host, "the host being tried, its name as routed (transport options)" },
	{ "host_address", v_host_address, "the host's IP address (transport options)" },
	{ "host_port", v_host_port, "the port being connected to (transport options)" },
	{ "tls_out_tlsa_usage", v_tlsa_usage,
	  "the host's usable TLSA usages, bit N for usage N (0: no DANE; OCSP host lists)" },
};
const size_t deliver_nvars = sizeof deliver_var_table / sizeof deliver_var_table[0];

void
deliver_vars_init(struct deliver_vars *v, const char *message_id, const char *sender,
                  const char *address, const char *router_name, const char *transport_name)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	memset(v, 0, sizeof *v);
	v->message_id = message_id;
	v->sender_address = sender != NULL ? sender : "";
	v->router_name = router_name;
	v->transport_name = transport_name;
	if (address == NULL)
		return;
	if (at == NULL) {
		snprintf(v->local_part, sizeof v->local_part, "%s", address);
		return;
	}
	snprintf(v->local_part, sizeof v->local_part, "%.*s", (int)(at - address), address);
	snprintf(v->domain, sizeof v->domain, "%s", at + 1);
}

int
deliver_vars_valid(const char *value)
{
	char why[300];

	return expand_check(value, why, sizeof why) == 0;
}

int
deliver_vars_expand(const struct config *cfg, const struct deliver_vars *v, const char *owner,
                    const char *option, const char *value, char **out, char *why, size_t whylen)
{
	struct expand_store acl_m = { 0 };
	struct acl_env aenv = { .cfg = cfg };
	char inner[400];
	int rc;

	*out = NULL;
	aenv.vars = (struct expand_env){
		.table = deliver_var_table,
		.ntable = deliver_nvars,
		.ctx = v,
		.acl_m = &acl_m,
		.acl = cfg != NULL ? acl_expand_run : NULL,
		.acl_arg = &aenv,
	};
	aenv.domain = v->domain;
	aenv.local_part = v->local_part;
	aenv.sender = v->sender_address;
	aenv.host_address = v->host_address;
	rc = expand_eval(value, &aenv.vars, out, inner, sizeof inner);
	expand_store_clear(&acl_m);
	if (rc == EXPAND_OK)
		return EXPAND_OK;
	if (rc == EXPAND_FAIL)
		snprintf(why, whylen, "%s: %s: %s", owner, option, inner);
	else
		snprintf(why, whylen, "%s: failed to expand %s \"%s\": %s", owner, option, value,
		         inner);
	return rc;
}
