/*
 * deliver_vars.h - the delivery side's variables and the one expansion of
 * router and transport options (docs/expand.md "In router and transport
 * options").  Routers expand per address, transports per host; both build
 * their context here, so $local_part means the same in route_data and in
 * helo_data.
 *
 * Variables: $message_id / $message_exim_id, $sender_address (and its
 * $sender_address_local_part, $sender_address_domain),
 * $local_part, $domain (from the address), $router_name, $transport_name,
 * $host, $host_address, $host_port (transport options expanded per host),
 * $tls_out_tlsa_usage (hosts_request_ocsp / hosts_require_ocsp that name
 * it are expanded again after the TLSA lookup, as the seed's DANE section
 * says; 0 before it and when DANE is not used).
 *
 * Ownership: nothing in struct deliver_vars is owned but the two buffers
 * the address is split into; the pointers must outlive the expansion.
 */
#ifndef REFMTA_DELIVER_VARS_H
#define REFMTA_DELIVER_VARS_H

#include <stddef.h>

#include "expand.h"

struct config;

#define DELIVER_VARS_LOCAL_PART_MAX 256 /* RFC 5321 4.5.3.1.1 allows 64; room for more */
#define DELIVER_VARS_DOMAIN_MAX 256     /* RFC 5321 4.5.3.1.2: 255 */

struct deliver_vars {
	const char *message_id;
	const char *sender_address; /* "" for the null sender */
	const char *router_name, *transport_name;
	char local_part[DELIVER_VARS_LOCAL_PART_MAX]; /* "" when not one address */
	char domain[DELIVER_VARS_DOMAIN_MAX];         /* "" when not one domain */
	const char *host, *host_address;              /* NULL outside a host */
	unsigned host_port;                           /* 0: "" */
	unsigned tls_out_tlsa_usage; /* bit N: a usable usage-N TLSA record (seed, DANE) */
};

/* Fill `v` for `address` ("user@domain", a bare local part, or NULL for
 * none): the strings are referenced, the address is split and copied
 * (truncated at the buffers' sizes). */
void deliver_vars_init(struct deliver_vars *v, const char *message_id, const char *sender,
                       const char *address, const char *router_name, const char *transport_name);

/* The rows (docs/config.md and docs/expand.md list the same). */
extern const struct expand_var deliver_var_table[];
extern const size_t deliver_nvars;

/*
 * Expand option `option` of `owner` ("router NAME", "transport NAME"),
 * text `value`, with `v`'s variables, ${lookup} and ${acl} (cfg's ACLs;
 * cfg may be NULL: no ${acl}).  EXPAND_OK with *out (caller frees);
 * EXPAND_FAIL (forced failure, *out NULL, why says so); EXPAND_ERROR with
 * why = "OWNER: failed to expand OPTION \"VALUE\": WHY" for the log and
 * the defer reason.
 */
int deliver_vars_expand(const struct config *cfg, const struct deliver_vars *v, const char *owner,
                        const char *option, const char *value, char **out, char *why,
                        size_t whylen) MUST_CHECK;

/* For the option tables: 1 when `value` parses as an expansion. */
int deliver_vars_valid(const char *value);

#endif
