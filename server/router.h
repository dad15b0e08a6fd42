/*
 * router.h - where does a recipient go?  (docs/delivery.md "Routing")
 *
 * A recipient whose domain is in local_domains (or that has no domain) goes
 * to local delivery first, before any router: router "local_delivery",
 * transport ROUTER_LOCAL_TRANSPORT (the built-in local transport).  Otherwise the "router NAME:"
 * blocks are tried in the order of the configuration; the first whose `domains` list matches
 * (server/match.h domain list; default "*") decides.  No router matching
 * fails the recipient: 5.4.4 "Unrouteable address".
 *
 * Router options (every router):
 *   driver    = dnslookup | manualroute | accept      (required)
 *   domains   = DOMAIN LIST                           (default "*")
 *   transport = NAME of a "transport NAME:" block     (required)
 * manualroute only (one of route_list and route_data):
 *   route_data = HOST [HOST...], expanded for each address (deliver_vars.h:
 *                $local_part, $domain, $sender_address, ${lookup}): the
 *                hosts for it.  Forced failure or an empty result: the
 *                router declines; an expansion error defers the address
 *                (4.3.0, the reason names the router and the option).
 *   route_list = DOMAIN-PATTERN HOST [HOST...] [; DOMAIN-PATTERN HOST...]
 *                the first entry whose pattern matches the domain gives the
 *                hosts, tried in the order written.  HOST is an IPv4 address,
 *                "[IPv6]", or a name (looked up: A, then AAAA), each with an
 *                optional ":PORT" ("127.0.0.1:2526", "[::1]:2526",
 *                "mx.partner.test:2526").  A domain no entry matches: the
 *                router declines and the next router is tried.  An
 *                entry whose hosts hold "$" is expanded like route_data
 *                when its pattern matches (Exim's route_list); its
 *                text may not hold ";".
 *
 * dnslookup: MX for the domain through the resolver (lib/resolver.h):
 *   - records: hosts in preference order (equal preferences keep the DNS
 *     answer's order, so runs are repeatable), each host's addresses looked
 *     up A first, then AAAA;
 *   - one MX whose exchange is "." (RFC 7505 null MX): fail 5.1.10;
 *   - nodata: the implicit MX (RFC 5321 5.1): the domain itself, mx_pref -1;
 *   - nxdomain: fail 5.1.2 "unrouteable domain";
 *   - bogus: defer 4.7.5 with the validator's reason (never used as data);
 *   - tempfail: defer 4.4.3.
 *   An MX host without addresses is skipped (nodata / nxdomain) or, when its
 *   lookup tempfailed or was bogus, remembered: no usable host at all then
 *   defers (4.4.3) if any lookup could not be answered, else fails 5.4.4.
 * dnslookup's DNSSEC options (domain lists; refmta's resolver always asks
 * for and validates DNSSEC):
 *   dnssec_request_domains: for these domains, delivery lines to a host
 *     whose MX and address lookups were secure carry "DS";
 *   dnssec_require_domains: for these domains every lookup must be secure:
 *     an insecure MX answer fails routing (5.7.5, "DNSSEC required ..."),
 *     hosts whose address lookup was insecure are dropped, and none left
 *     fails likewise.
 * accept: no hosts; the transport does the work (queuefile).
 *
 * Every DNS lookup a router makes is logged, when `log_dns` is set, as
 * "ID DNS TYPE NAME STATUS: DATA" (docs/log.md), e.g.
 *   T-000001 DNS MX partner.test secure: 10 mx1.partner.test, 20 mx2.partner.test
 *   T-000001 DNS A mx1.partner.test secure: 127.0.0.2
 *   T-000001 DNS MX null.test secure: 0 .
 *   T-000001 DNS MX bad.test bogus: validation failure <bad.test. MX IN>: ...
 *   T-000001 DNS AAAA mx1.partner.test nodata
 */
#ifndef REFMTA_ROUTER_H
#define REFMTA_ROUTER_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "resolver.h"

#define ROUTER_LOCAL_NAME "local_delivery"
/* The transport local recipients go to (server/transport.h "local"): never a
 * block name ("<" is not allowed in one). */
#define ROUTER_LOCAL_TRANSPORT "<local>"

enum router_driver { ROUTER_DNSLOOKUP, ROUTER_MANUALROUTE, ROUTER_ACCEPT };

struct router_host_spec { /* one HOST of a route_list entry */
	char *host;       /* a name or an address (no brackets) */
	unsigned port;    /* 0 = the transport's port */
};

struct router_route_entry { /* one ";"-separated route_list entry */
	char *pattern;      /* a domain-list item */
	struct router_host_spec *hosts;
	size_t nhosts;
	char *hosts_expand; /* the hosts' text when it is expanded per address, else NULL */
};

struct router_def {
	char *name;
	int line; /* of the "router NAME:" header */
	enum router_driver driver;
	char *domains;                     /* default "*" */
	char *transport;                   /* a transport block's name */
	struct router_route_entry *routes; /* manualroute */
	size_t nroutes;
	char *route_data;             /* manualroute: expanded per address, or NULL */
	char *dnssec_request_domains; /* dnslookup: domain list, or NULL (docs/dane.md) */
	char *dnssec_require_domains; /* dnslookup: domain list, or NULL */
};

struct routers {
	struct router_def *v; /* in configuration order */
	size_t n;
};

/* Read and check every "router NAME:" block of `cfg`: unknown option,
 * missing driver or transport, a transport no "transport NAME:" block
 * defines, a bad route_list.  Errors: -1, e->text = "FILE:LINE: router
 * NAME: ...".  Free with routers_free(). */
int routers_load(const struct config *cfg, struct routers *out, struct err *e) MUST_CHECK;
void routers_free(struct routers *rs); /* accepts NULL and zeroed */

struct route_host {
	char *name;    /* the MX exchange (before any CNAME), the route_list name,
	                * or the address itself for an address HOST */
	char *address; /* "127.0.0.2", "::1" */
	unsigned port; /* 0 = the transport's port */
	int mx_pref;   /* the MX preference; -1 = no MX (implicit MX, manualroute) */
	int secure;    /* 1 when every lookup that led here was DNSSEC-secure
	                * (the MX, when there was one, and this address) */
	int ds_report; /* secure, and the domain is in dnssec_request_domains:
	                * delivery lines say DS */
	char *cname;   /* the address lookup followed a CNAME chain: its target
	                * (RFC 7672 2.2.2, DANE's first TLSA base name); else NULL */
};

enum route_result { ROUTE_OK, ROUTE_DEFER, ROUTE_FAIL };

struct route {
	enum route_result result;
	const char *router;       /* the router's name (ROUTER_LOCAL_NAME for local) */
	const char *transport;    /* the transport's name (ROUTER_LOCAL_TRANSPORT for local) */
	struct route_host *hosts; /* dnslookup / manualroute: in the order to try */
	size_t nhosts;
	char status[16];  /* DEFER / FAIL: RFC 3463 code, "5.1.10" */
	char reason[400]; /* DEFER / FAIL: one sentence for the log and the bounce */
};

/* How a router asks the DNS: resolver_lookup() in refmta, a table in unit
 * tests.  Same contract as resolver_lookup(). */
typedef int (*router_lookup_fn)(void *arg, const char *name, enum resolver_type type,
                                struct resolver_answer *out, struct err *e);

struct router_ctx {
	const struct config *cfg;
	const struct routers *routers;
	router_lookup_fn lookup;
	void *lookup_arg;
	int log_dns;            /* write the "ID DNS ..." lines */
	const char *message_id; /* for those lines, and $message_id */
	const char *sender;     /* $sender_address in expanded options; NULL: "" */
	/* Called after each lookup that failed (tempfail or bogus), with the
	 * name of the router that asked: the dns:fail event (docs/events.md);
	 * NULL = none. */
	void (*dns_fail)(void *arg, const char *router, const char *name, enum resolver_type type,
	                 enum resolver_status status);
	void *dns_fail_arg;
};

/* Parse `text` (modified) as "HOST [HOST...]" into out->hosts (route_list's
 * host syntax, above).  0, or -1 with `why` (out->hosts freed).  For
 * router_load.c and for route_data's expanded text. */
int router_parse_hosts(char *text, struct router_route_entry *out, char *why,
                       size_t len) MUST_CHECK;

/* Route one address ("user@domain", or a bare local part).  Fills `out`
 * (free with route_free()).  Returns 0; -1 only when out of memory. */
int route_address(const struct router_ctx *ctx, const char *address, struct route *out) MUST_CHECK;
void route_free(struct route *r); /* accepts zeroed */

#endif
