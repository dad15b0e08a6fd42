/*
 * router.c - where each recipient goes: local delivery, a manual route, the
 * DNS (MX in preference order, implicit MX, null MX, A then AAAA), or a
 * transport that needs no hosts.  The behaviour is specified in router.h.
 *
 * route_data and expanded route_list hosts are expanded here, per address,
 * through deliver_vars.h (the one delivery-side variable context).
 *
 * Must never: use data from a bogus answer (the resolver hands none over),
 * ask the DNS except through the context's lookup function (unit tests put a
 * table there), or log anything but the "ID DNS ..." lines.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deliver_vars.h"
#include "log.h"
#include "match.h"
#include "router.h"

#define RT_FORMAT_MAX 1024 /* one "TYPE NAME STATUS: DATA" line */
#define RT_NAME_MAX 253    /* RFC 1035 2.3.4, presentation form without the dot */

/* --- routing ----------------------------------------------------------------------- */

static int
rt_is_address(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* The hosts being gathered for one address, and whether any lookup went unanswered. */
struct rt_gather {
	const struct router_ctx *ctx;
	struct route *out;
	size_t cap;
	int unanswered;             /* a host lookup tempfailed or was bogus */
	char first_unanswered[256]; /* its log text, for the reason */
};

static void rt_set(struct route *out, enum route_result result, const char *status, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* A DEFER or FAIL outcome: no hosts. */
static void
rt_set(struct route *out, enum route_result result, const char *status, const char *fmt, ...)
{
	va_list ap;

	for (size_t i = 0; i < out->nhosts; i++) {
		free(out->hosts[i].name);
		free(out->hosts[i].address);
	}
	free(out->hosts);
	out->hosts = NULL;
	out->nhosts = 0;
	out->result = result;
	snprintf(out->status, sizeof out->status, "%s", status);
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
}

/* One lookup through the context for `router`, logged when log_dns is set.  The answer's
 * status is tempfail when the lookup could not be made.  Caller frees `a`. */
static void
rt_lookup(const struct router_ctx *ctx, const char *router, const char *name,
          enum resolver_type type, struct resolver_answer *a, char *text, size_t len)
{
	struct err e = { 0 };

	memset(a, 0, sizeof *a);
	if (ctx->lookup(ctx->lookup_arg, name, type, a, &e) != 0)
		a->status = RESOLVER_TEMPFAIL; /* the resolver's contract; a table's too */
	resolver_answer_format(a, type, name, text, len);
	if (ctx->log_dns)
		log_write("%s DNS %s", ctx->message_id != NULL ? ctx->message_id : "-", text);
	if (ctx->dns_fail != NULL &&
	    (a->status == RESOLVER_TEMPFAIL || a->status == RESOLVER_BOGUS))
		ctx->dns_fail(ctx->dns_fail_arg, router, name, type, a->status);
}

static int
rt_push_host(struct rt_gather *g, const char *name, const char *address, unsigned port, int mx_pref,
             int secure, const char *cname)
{
	struct route *out = g->out;
	struct route_host *h;

	if (out->nhosts == g->cap) {
		size_t ncap = g->cap == 0 ? 4 : g->cap * 2;
		struct route_host *v = realloc(out->hosts, ncap * sizeof *v);
		if (v == NULL)
			return -1;
		out->hosts = v;
		g->cap = ncap;
	}
	h = &out->hosts[out->nhosts];
	memset(h, 0, sizeof *h);
	h->name = strdup(name);
	h->address = strdup(address);
	h->cname = cname != NULL ? strdup(cname) : NULL;
	if (h->name == NULL || h->address == NULL || (cname != NULL && h->cname == NULL)) {
		free(h->name);
		free(h->address);
		free(h->cname);
		return -1;
	}
	h->port = port;
	h->mx_pref = mx_pref;
	h->secure = secure;
	out->nhosts++;
	return 0;
}

/* The addresses of `name`, A first, then AAAA (router.h).  `upstream_secure`:
 * whether the lookups before this one (the MX) were secure.  -1: out of memory. */
static int
rt_add_addresses(struct rt_gather *g, const char *name, unsigned port, int mx_pref,
                 int upstream_secure)
{
	static const enum resolver_type types[] = { RESOLVER_A, RESOLVER_AAAA };
	char text[RT_FORMAT_MAX];

	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		struct resolver_answer a;
		int rc = 0;

		rt_lookup(g->ctx, g->out->router, name, types[t], &a, text, sizeof text);
		if (a.status == RESOLVER_SECURE || a.status == RESOLVER_INSECURE) {
			int secure = upstream_secure && a.status == RESOLVER_SECURE;
			for (size_t i = 0; i < a.nrrs && rc == 0; i++)
				if (a.rrs[i].type == types[t])
					rc = rt_push_host(g, name, a.rrs[i].u.addr, port, mx_pref,
					                  secure, a.canonname);
		} else if (a.status == RESOLVER_TEMPFAIL || a.status == RESOLVER_BOGUS) {
			if (!g->unanswered)
				snprintf(g->first_unanswered, sizeof g->first_unanswered, "%s",
				         text);
			g->unanswered = 1;
		}
		/* nxdomain, nodata: nothing at this name; the next host may do */
		resolver_answer_free(&a);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* No usable host at all: defer when a lookup could not be answered, else fail. */
static void
rt_no_hosts(struct rt_gather *g, const char *what)
{
	if (g->out->nhosts > 0)
		return;
	if (g->unanswered)
		rt_set(g->out, ROUTE_DEFER, "4.4.3", "no address for any host of %s yet (%s)", what,
		       g->first_unanswered);
	else
		rt_set(g->out, ROUTE_FAIL, "5.4.4",
		       "Unrouteable address: no host of %s has an address", what);
}

static int
rt_manualroute(const struct router_ctx *ctx, const struct router_route_entry *ent,
               const char *domain, struct route *out)
{
	struct rt_gather g = { .ctx = ctx, .out = out };
	char what[RT_NAME_MAX + 32];

	for (size_t i = 0; i < ent->nhosts; i++) {
		const struct router_host_spec *h = &ent->hosts[i];
		int rc;
		if (rt_is_address(h->host))
			/* no DNS vouched for a literal address: never "secure" */
			rc = rt_push_host(&g, h->host, h->host, h->port, -1, 0, NULL);
		else
			rc = rt_add_addresses(&g, h->host, h->port, -1, 1);
		if (rc != 0)
			return -1;
	}
	snprintf(what, sizeof what, "the route_list entry for %s", domain);
	rt_no_hosts(&g, what);
	return 0;
}

struct rt_mx {
	unsigned pref;
	size_t index; /* in the answer: equal preferences keep the DNS order */
	const char *exchange;
};

static int
rt_mx_cmp(const void *pa, const void *pb)
{
	const struct rt_mx *a = pa, *b = pb;

	if (a->pref != b->pref)
		return a->pref < b->pref ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int
rt_is_root(const char *name)
{
	return name[0] == '\0' || strcmp(name, ".") == 0;
}

/* dnssec_request_domains / dnssec_require_domains, after the lookups (router.h). */
static void
rt_dnssec(const struct router_def *d, const char *domain, int mx_secure, struct route *out)
{
	size_t k = 0;

	if (out->result != ROUTE_OK)
		return;
	if (d->dnssec_require_domains != NULL && match_domain(d->dnssec_require_domains, domain)) {
		if (!mx_secure) {
			rt_set(out, ROUTE_FAIL, "5.7.5",
			       "DNSSEC required for %s (dnssec_require_domains) but its MX lookup "
			       "was insecure",
			       domain);
			return;
		}
		for (size_t i = 0; i < out->nhosts; i++) {
			if (out->hosts[i].secure) {
				out->hosts[k++] = out->hosts[i];
				continue;
			}
			free(out->hosts[i].name);
			free(out->hosts[i].address);
			free(out->hosts[i].cname);
		}
		out->nhosts = k;
		if (k == 0) {
			rt_set(out, ROUTE_FAIL, "5.7.5",
			       "DNSSEC required for %s (dnssec_require_domains) but no host's "
			       "address lookup was secure",
			       domain);
			return;
		}
	}
	if (d->dnssec_request_domains != NULL && match_domain(d->dnssec_request_domains, domain))
		for (size_t i = 0; i < out->nhosts; i++)
			out->hosts[i].ds_report = out->hosts[i].secure;
}

static int
rt_dnslookup(const struct router_ctx *ctx, const struct router_def *d, const char *domain,
             struct route *out)
{
	struct rt_gather g = { .ctx = ctx, .out = out };
	struct resolver_answer mx;
	struct rt_mx *v = NULL;
	size_t n = 0;
	char text[RT_FORMAT_MAX];
	int rc = 0;

	rt_lookup(ctx, d->name, domain, RESOLVER_MX, &mx, text, sizeof text);
	switch (mx.status) {
	case RESOLVER_BOGUS:
		rt_set(out, ROUTE_DEFER, "4.7.5", "DNSSEC validation failed for MX %s: %s", domain,
		       mx.why_bogus != NULL ? mx.why_bogus : "(no reason given)");
		goto out;
	case RESOLVER_TEMPFAIL:
		rt_set(out, ROUTE_DEFER, "4.4.3", "DNS lookup of MX %s failed temporarily", domain);
		goto out;
	case RESOLVER_NXDOMAIN:
		rt_set(out, ROUTE_FAIL, "5.1.2",
		       "unrouteable domain %s: it does not exist in the DNS", domain);
		goto out;
	case RESOLVER_NODATA:
		break;
	case RESOLVER_SECURE:
	case RESOLVER_INSECURE:
		if (mx.nrrs > 0 && (v = calloc(mx.nrrs, sizeof *v)) == NULL) {
			rc = -1;
			goto out;
		}
		for (size_t i = 0; i < mx.nrrs; i++) {
			if (mx.rrs[i].type != RESOLVER_MX)
				continue;
			v[n].pref = mx.rrs[i].u.mx.preference;
			v[n].index = i;
			v[n].exchange = mx.rrs[i].u.mx.exchange;
			n++;
		}
		break;
	}
	if (n == 0) {
		/* RFC 5321 5.1: no MX, the domain itself is the host (implicit MX);
		 * it is secure only when the denial of the MX was. */
		if (rt_add_addresses(&g, domain, 0, -1, mx.secure) != 0)
			rc = -1;
	} else if (n == 1 && rt_is_root(v[0].exchange)) {
		/* RFC 7505 3: a single MX of "." - the domain takes no mail */
		rt_set(out, ROUTE_FAIL, "5.1.10", "domain %s accepts no mail (null MX, RFC 7505)",
		       domain);
		goto out;
	} else {
		qsort(v, n, sizeof *v, rt_mx_cmp);
		for (size_t i = 0; i < n && rc == 0; i++)
			if (!rt_is_root(v[i].exchange)) /* a "." among real MXs is no host */
				rc = rt_add_addresses(&g, v[i].exchange, 0, (int)v[i].pref,
				                      mx.status == RESOLVER_SECURE);
	}
	if (rc == 0)
		rt_no_hosts(&g, domain);
	if (rc == 0)
		rt_dnssec(d, domain, mx.status == RESOLVER_SECURE || mx.secure, out);
out:
	free(v);
	resolver_answer_free(&mx);
	return rc;
}

static const struct router_route_entry *
rt_route_entry(const struct router_def *d, const char *domain)
{
	for (size_t i = 0; i < d->nroutes; i++)
		if (match_domain(d->routes[i].pattern, domain))
			return &d->routes[i];
	return NULL;
}

/* The hosts text of `d` for `address` expanded and parsed into `tmp`.
 * 1: use `tmp`; 0: the router declines (forced failure, or nothing); -1:
 * `out` says DEFER (an expansion error, or a result that is no host list). */
static int
rt_expand_hosts(const struct router_ctx *ctx, const struct router_def *d, const char *option,
                const char *text, const char *address, struct router_route_entry *tmp,
                struct route *out)
{
	struct deliver_vars v;
	char owner[300], why[400], *res = NULL;
	int rc;

	deliver_vars_init(&v, ctx->message_id, ctx->sender, address, d->name, NULL);
	snprintf(owner, sizeof owner, "router %s", d->name);
	rc = deliver_vars_expand(ctx->cfg, &v, owner, option, text, &res, why, sizeof why);
	if (rc == EXPAND_FAIL)
		return 0; /* Exim: a forced failure of the hosts' expansion declines */
	if (rc != EXPAND_OK) {
		rt_set(out, ROUTE_DEFER, "4.3.0", "%s", why);
		return -1;
	}
	memset(tmp, 0, sizeof *tmp);
	rc = router_parse_hosts(res, tmp, why, sizeof why);
	free(res);
	if (rc != 0) {
		const char *w = strncmp(why, "route_list: ", 12) == 0 ? why + 12 : why;
		rt_set(out, ROUTE_DEFER, "4.3.0", "router %s: %s: expanded to %s", d->name, option,
		       w);
		return -1;
	}
	return tmp->nhosts > 0;
}

/* `domains` for `address`: expanded first when it holds "$" (Exim's
 * generic router option is expanded; a forced failure is the empty list,
 * which matches nothing).  1 matches, 0 not, -1 `out` says DEFER. */
static int
rt_domains_match(const struct router_ctx *ctx, const struct router_def *d, const char *address,
                 const char *domain, struct route *out)
{
	struct deliver_vars v;
	char owner[300], why[400], *res = NULL;
	int rc;

	if (d->domains == NULL || strchr(d->domains, '$') == NULL)
		return match_domain(d->domains, domain);
	deliver_vars_init(&v, ctx->message_id, ctx->sender, address, d->name, NULL);
	snprintf(owner, sizeof owner, "router %s", d->name);
	rc = deliver_vars_expand(ctx->cfg, &v, owner, "domains", d->domains, &res, why, sizeof why);
	if (rc == EXPAND_FAIL)
		return 0;
	if (rc != EXPAND_OK) {
		out->router = d->name; /* the deferral names the router (R=) */
		out->transport = d->transport;
		rt_set(out, ROUTE_DEFER, "4.3.0", "%s", why);
		return -1;
	}
	rc = res[0] != '\0' && match_domain(res, domain);
	free(res);
	return rc;
}

/* manualroute: route_data, or the route_list entry for `domain` (expanded
 * when its hosts hold "$").  1: *ent is the entry to use (maybe `tmp`); 0:
 * the router declines; -1: `out` says DEFER. */
static int
rt_manual_entry(const struct router_ctx *ctx, const struct router_def *d, const char *address,
                const char *domain, struct router_route_entry *tmp,
                const struct router_route_entry **ent, struct route *out)
{
	const struct router_route_entry *e;

	if (d->route_data != NULL) {
		*ent = tmp;
		return rt_expand_hosts(ctx, d, "route_data", d->route_data, address, tmp, out);
	}
	if ((e = rt_route_entry(d, domain)) == NULL)
		return 0; /* no entry for this domain: the router declines */
	if (e->hosts_expand == NULL) {
		*ent = e;
		return 1;
	}
	*ent = tmp;
	return rt_expand_hosts(ctx, d, "route_list", e->hosts_expand, address, tmp, out);
}

static void
rt_tmp_free(struct router_route_entry *tmp)
{
	for (size_t i = 0; i < tmp->nhosts; i++)
		free(tmp->hosts[i].host);
	free(tmp->hosts);
	memset(tmp, 0, sizeof *tmp);
}

/* RFC 5321 4.5.1: a bare local part ("postmaster") is local too. */
static int
rt_is_local(const struct config *cfg, const char *at)
{
	if (at == NULL)
		return 1;
	for (size_t i = 0; i < cfg->local_domains.n; i++)
		if (strcasecmp(at + 1, cfg->local_domains.v[i]) == 0)
			return 1;
	return 0;
}

int
route_address(const struct router_ctx *ctx, const char *address, struct route *out)
{
	const char *at = strrchr(address, '@'), *domain;

	memset(out, 0, sizeof *out);
	if (rt_is_local(ctx->cfg, at)) {
		out->result = ROUTE_OK;
		out->router = ROUTER_LOCAL_NAME;
		out->transport = ROUTER_LOCAL_TRANSPORT;
		return 0;
	}
	domain = at + 1;
	for (size_t i = 0; ctx->routers != NULL && i < ctx->routers->n; i++) {
		const struct router_def *d = &ctx->routers->v[i];
		const struct router_route_entry *ent = NULL;
		struct router_route_entry tmp = { 0 };
		int rc;

		rc = rt_domains_match(ctx, d, address, domain, out);
		if (rc < 0)
			return 0; /* DEFER set, the reason naming the option */
		if (rc == 0)
			continue;
		out->router = d->name;
		out->transport = d->transport;
		if (d->driver == ROUTER_MANUALROUTE) {
			rc = rt_manual_entry(ctx, d, address, domain, &tmp, &ent, out);
			if (rc < 0)
				return 0; /* DEFER set, the reason naming the option */
			if (rc == 0) {
				rt_tmp_free(&tmp);
				continue;
			}
			out->result = ROUTE_OK;
			rc = rt_manualroute(ctx, ent, domain, out);
			rt_tmp_free(&tmp);
			return rc;
		}
		out->result = ROUTE_OK;
		switch (d->driver) {
		case ROUTER_ACCEPT:
			return 0;
		case ROUTER_MANUALROUTE:
			break; /* above */
		case ROUTER_DNSLOOKUP:
			return rt_dnslookup(ctx, d, domain, out);
		}
	}
	out->router = NULL;
	out->transport = NULL;
	rt_set(out, ROUTE_FAIL, "5.4.4", "Unrouteable address");
	return 0;
}

void
route_free(struct route *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nhosts; i++) {
		free(r->hosts[i].name);
		free(r->hosts[i].address);
		free(r->hosts[i].cname);
	}
	free(r->hosts);
	memset(r, 0, sizeof *r);
}
