/*
 * router_load.c - the "router NAME:" blocks read and checked (router.h
 * routers_load()): the options through the option engine (server/option.h),
 * the driver, the transport it names, and route_list parsed into hosts and
 * ports.  Routing itself is router.c's.
 *
 * Must never: accept a block whose errors would only show at delivery.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expand.h"
#include "option.h"
#include "router.h"

#define RT_NAME_MAX 253 /* RFC 1035 2.3.4, presentation form without the dot */
#define RT_LABEL_MAX 63

/* A router block's options, as the option engine stores them. */
struct rt_opts {
	char *driver, *domains, *transport, *route_list;
	char *dnssec_request_domains, *dnssec_require_domains;
	char *route_data;
};

#define RT_OPT(n) .name = #n, .type = OPTION_STRING, .off = offsetof(struct rt_opts, n)
/* Empty values are the router's to judge (an empty domains list matches nothing). */
static const struct option_def rt_options[] = {
	{ RT_OPT(driver), .flags = OPTION_EMPTY_OK },
	{ RT_OPT(domains), .flags = OPTION_EMPTY_OK },
	{ RT_OPT(transport), .flags = OPTION_EMPTY_OK },
	{ RT_OPT(route_list), .flags = OPTION_EMPTY_OK },
	{ RT_OPT(dnssec_request_domains), .flags = OPTION_EMPTY_OK },
	{ RT_OPT(dnssec_require_domains), .flags = OPTION_EMPTY_OK },
	{ RT_OPT(route_data), .flags = OPTION_EMPTY_OK },
};
#undef RT_OPT
#define RT_NOPTIONS (sizeof rt_options / sizeof rt_options[0])
enum {
	RT_DRIVER,
	RT_DOMAINS,
	RT_TRANSPORT,
	RT_ROUTE_LIST,
	RT_DNSSEC_REQUEST,
	RT_DNSSEC_REQUIRE,
	RT_ROUTE_DATA
};

const struct option_table router_options = {
	"router", rt_options, RT_NOPTIONS,
	"(router options: driver, domains, transport, route_list, route_data, "
	"dnssec_request_domains, dnssec_require_domains)"
};

static const struct {
	const char *word;
	enum router_driver driver;
} rt_drivers[] = {
	{ "dnslookup", ROUTER_DNSLOOKUP },
	{ "manualroute", ROUTER_MANUALROUTE },
	{ "accept", ROUTER_ACCEPT },
};
#define RT_NDRIVERS (sizeof rt_drivers / sizeof rt_drivers[0])

/* --- loading ----------------------------------------------------------------------- */

static int rt_fail(const struct config *cfg, struct err *e, int line, const char *router,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
rt_fail(const struct config *cfg, struct err *e, int line, const char *router, const char *fmt, ...)
{
	char msg[ERR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err_set(e, 1, "%s:%d: router %s: %s", cfg->file, line, router, msg);
	return -1;
}

static int
rt_transport_defined(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nblocks; i++)
		if (strcmp(cfg->blocks[i].kind, "transport") == 0 &&
		    strcmp(cfg->blocks[i].name, name) == 0)
			return 1;
	return 0;
}

/* A host name as route_list may give it: LDH labels (and "_"), none empty. */
static int
rt_name_valid(const char *s, size_t n)
{
	size_t label = 0;
	int letter = 0;

	if (n == 0 || n > RT_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return 0;
		if (!isdigit(c))
			letter = 1;
		if (++label > RT_LABEL_MAX)
			return 0;
	}
	/* all digits and dots: a broken IPv4 address, not a name */
	return label > 0 && letter;
}

/* "1".."65535" -> 0; else -1. */
static int
rt_parse_port(const char *s, unsigned *out)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* One route_list HOST: "IPv4[:PORT]", "[IPv6][:PORT]" or "name[:PORT]".
 * -1 with `why` filled (without the "router NAME:" prefix). */
static int
rt_parse_host(const char *tok, struct router_host_spec *out, char *why, size_t len)
{
	unsigned char buf[16];
	char host[RT_NAME_MAX + 2];
	const char *port = NULL;
	size_t n;

	out->host = NULL;
	out->port = 0;
	if (tok[0] == '[') {
		const char *close = strchr(tok, ']');
		n = close != NULL ? (size_t)(close - tok - 1) : 0;
		if (close == NULL || n >= sizeof host) {
			snprintf(why, len,
			         "route_list: bad host \"%s\" (no \"]\" after an IPv6 address)",
			         tok);
			return -1;
		}
		memcpy(host, tok + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, buf) != 1) {
			snprintf(why, len,
			         "route_list: bad host \"%s\" (not an IPv6 address in brackets)",
			         tok);
			return -1;
		}
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0') {
			snprintf(why, len,
			         "route_list: bad host \"%s\" (expected \":PORT\" after \"]\")",
			         tok);
			return -1;
		}
	} else {
		const char *colon = strchr(tok, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			snprintf(why, len,
			         "route_list: bad host \"%s\" (write an IPv6 address in brackets, "
			         "\"[::1]:2526\")",
			         tok);
			return -1;
		}
		n = colon != NULL ? (size_t)(colon - tok) : strlen(tok);
		if (n >= sizeof host) {
			snprintf(why, len, "route_list: bad host \"%s\" (name too long)", tok);
			return -1;
		}
		memcpy(host, tok, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, buf) != 1 && !rt_name_valid(host, n)) {
			snprintf(why, len,
			         "route_list: bad host \"%s\" (use an IPv4 address, [IPv6] or a "
			         "host "
			         "name, each with an optional :PORT)",
			         tok);
			return -1;
		}
		if (colon != NULL)
			port = colon + 1;
	}
	if (port != NULL && rt_parse_port(port, &out->port) != 0) {
		snprintf(why, len, "route_list: bad port \"%s\" in \"%s\" (use 1-65535)", port,
		         tok);
		return -1;
	}
	if ((out->host = strdup(host)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	return 0;
}

static void
rt_entry_free(struct router_route_entry *r)
{
	for (size_t i = 0; i < r->nhosts; i++)
		free(r->hosts[i].host);
	free(r->hosts);
	free(r->pattern);
	free(r->hosts_expand);
	memset(r, 0, sizeof *r);
}

int
router_parse_hosts(char *text, struct router_route_entry *out, char *why, size_t len)
{
	char *save = NULL, *tok;
	size_t cap = 0;

	for (tok = strtok_r(text, " \t\n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (out->nhosts == cap) {
			size_t ncap = cap == 0 ? 4 : cap * 2;
			struct router_host_spec *v = realloc(out->hosts, ncap * sizeof *v);
			if (v == NULL) {
				snprintf(why, len, "out of memory");
				goto fail;
			}
			out->hosts = v;
			cap = ncap;
		}
		if (rt_parse_host(tok, &out->hosts[out->nhosts], why, len) != 0)
			goto fail;
		out->nhosts++;
	}
	return 0;
fail:
	for (size_t i = 0; i < out->nhosts; i++)
		free(out->hosts[i].host);
	free(out->hosts);
	out->hosts = NULL;
	out->nhosts = 0;
	return -1;
}

/* One ";"-separated entry, white space between its words; -1 with `why`.
 * Hosts holding "$" are kept as text, checked, and expanded per address. */
static int
rt_parse_entry(char *text, struct router_route_entry *out, char *why, size_t len)
{
	char *save = NULL, *tok, *rest;

	memset(out, 0, sizeof *out);
	tok = strtok_r(text, " \t", &save);
	if ((out->pattern = strdup(tok)) == NULL) {
		snprintf(why, len, "out of memory");
		goto fail;
	}
	rest = save != NULL ? save + strspn(save, " \t") : NULL;
	if (rest != NULL && strchr(rest, '$') != NULL) {
		char inner[300];
		if (expand_check(rest, inner, sizeof inner) != 0) {
			snprintf(why, len, "route_list: entry \"%s\": %s", out->pattern, inner);
			goto fail;
		}
		if ((out->hosts_expand = strdup(rest)) == NULL) {
			snprintf(why, len, "out of memory");
			goto fail;
		}
		return 0;
	}
	if (rest != NULL && router_parse_hosts(rest, out, why, len) != 0)
		goto fail;
	if (out->nhosts == 0) {
		snprintf(why, len, "route_list: entry \"%s\" has no host", out->pattern);
		goto fail;
	}
	return 0;
fail:
	rt_entry_free(out);
	return -1;
}

static int
rt_parse_route_list(const char *value, struct router_def *d, char *why, size_t len)
{
	char *copy = strdup(value), *save = NULL, *ent;
	int rc = -1;

	if (copy == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (ent = strtok_r(copy, ";", &save); ent != NULL; ent = strtok_r(NULL, ";", &save)) {
		if (strspn(ent, " \t") == strlen(ent))
			continue; /* "a b ; ; c d" or a trailing ";" */
		struct router_route_entry *v = realloc(d->routes, (d->nroutes + 1) * sizeof *v);
		if (v == NULL) {
			snprintf(why, len, "out of memory");
			goto out;
		}
		d->routes = v;
		if (rt_parse_entry(ent, &d->routes[d->nroutes], why, len) != 0)
			goto out;
		d->nroutes++;
	}
	if (d->nroutes == 0) {
		snprintf(why, len, "route_list: no entry (use \"DOMAIN-PATTERN HOST [HOST...]\")");
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

static void
rt_def_free(struct router_def *d)
{
	for (size_t i = 0; i < d->nroutes; i++)
		rt_entry_free(&d->routes[i]);
	free(d->routes);
	free(d->name);
	free(d->domains);
	free(d->transport);
	free(d->dnssec_request_domains);
	free(d->dnssec_require_domains);
	free(d->route_data);
	memset(d, 0, sizeof *d);
}

/* The options read (o, and the line of each), checked together. */
static int
rt_load_checked(const struct config *cfg, const struct config_block *b, const struct rt_opts *o,
                const int *lines, struct router_def *d, struct err *e)
{
	const char *driver = o->driver, *domains = o->domains, *transport = o->transport,
	           *route_list = o->route_list;
	int driver_line = lines[RT_DRIVER], transport_line = lines[RT_TRANSPORT],
	    route_line = lines[RT_ROUTE_LIST];
	char why[ERR_TEXT_MAX];
	size_t i;

	if (driver == NULL)
		return rt_fail(cfg, e, b->line, b->name,
		               "missing driver (use dnslookup, manualroute or accept)");
	for (i = 0; i < RT_NDRIVERS; i++)
		if (strcmp(driver, rt_drivers[i].word) == 0)
			break;
	if (i == RT_NDRIVERS)
		return rt_fail(cfg, e, driver_line, b->name,
		               "unknown driver \"%s\" (use dnslookup, manualroute or accept)",
		               driver);
	d->driver = rt_drivers[i].driver;
	if (transport == NULL)
		return rt_fail(cfg, e, b->line, b->name,
		               "missing transport (the name of a \"transport NAME:\" block)");
	if (!rt_transport_defined(cfg, transport))
		return rt_fail(cfg, e, transport_line, b->name,
		               "transport \"%s\" is not defined (no \"transport %s:\" block)",
		               transport, transport);
	if (route_list != NULL && d->driver != ROUTER_MANUALROUTE)
		return rt_fail(cfg, e, route_line, b->name,
		               "route_list is only for driver manualroute (this one is %s)",
		               driver);
	if (o->route_data != NULL && d->driver != ROUTER_MANUALROUTE)
		return rt_fail(cfg, e, lines[RT_ROUTE_DATA], b->name,
		               "route_data is only for driver manualroute (this one is %s)",
		               driver);
	if (route_list != NULL && o->route_data != NULL)
		return rt_fail(cfg, e, lines[RT_ROUTE_DATA], b->name,
		               "set route_list or route_data, not both");
	if (route_list == NULL && o->route_data == NULL && d->driver == ROUTER_MANUALROUTE)
		return rt_fail(cfg, e, b->line, b->name,
		               "driver manualroute needs a route_list "
		               "(\"DOMAIN-PATTERN HOST [HOST...] [; ...]\") or a route_data");
	if (o->route_data != NULL) {
		if (expand_check(o->route_data, why, sizeof why) != 0)
			return rt_fail(cfg, e, lines[RT_ROUTE_DATA], b->name, "route_data: %s",
			               why);
		if ((d->route_data = strdup(o->route_data)) == NULL)
			return rt_fail(cfg, e, lines[RT_ROUTE_DATA], b->name, "out of memory");
	}

	for (int k = RT_DNSSEC_REQUEST; k <= RT_DNSSEC_REQUIRE; k++) {
		const char *v = k == RT_DNSSEC_REQUEST ? o->dnssec_request_domains
		                                       : o->dnssec_require_domains;
		char **to = k == RT_DNSSEC_REQUEST ? &d->dnssec_request_domains
		                                   : &d->dnssec_require_domains;
		if (v == NULL)
			continue;
		if (d->driver != ROUTER_DNSLOOKUP)
			return rt_fail(cfg, e, lines[k], b->name,
			               "%s is only for driver dnslookup (this one is %s)",
			               rt_options[k].name, driver);
		if ((*to = strdup(v)) == NULL)
			return rt_fail(cfg, e, lines[k], b->name, "out of memory");
	}
	d->line = b->line;
	d->name = strdup(b->name);
	d->domains = strdup(domains != NULL ? domains : "*");
	d->transport = strdup(transport);
	if (d->name == NULL || d->domains == NULL || d->transport == NULL)
		return rt_fail(cfg, e, b->line, b->name, "out of memory");
	if (route_list != NULL && rt_parse_route_list(route_list, d, why, sizeof why) != 0)
		return rt_fail(cfg, e, route_line, b->name, "%s", why);
	return 0;
}

static int
rt_load_one(const struct config *cfg, const struct config_block *b, struct router_def *d,
            struct err *e)
{
	char prefix[300];
	struct option_ctx c = { .file = cfg->file, .dir = cfg->dir, .prefix = prefix, .e = e };
	struct rt_opts o = { 0 };
	int lines[RT_NOPTIONS] = { 0 }, rc = -1;

	snprintf(prefix, sizeof prefix, "router %s: ", b->name);
	if (option_read_block(&router_options, &c, b, NULL, &o, lines) == 0)
		rc = rt_load_checked(cfg, b, &o, lines, d, e);
	option_free(&router_options, &o);
	return rc;
}

int
routers_load(const struct config *cfg, struct routers *out, struct err *e)
{
	size_t n = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < cfg->nblocks; i++)
		n += strcmp(cfg->blocks[i].kind, "router") == 0;
	if (n == 0)
		return 0;
	if ((out->v = calloc(n, sizeof *out->v)) == NULL) {
		err_set(e, 1, "%s: out of memory", cfg->file);
		return -1;
	}
	for (size_t i = 0; i < cfg->nblocks; i++) {
		const struct config_block *b = &cfg->blocks[i];
		if (strcmp(b->kind, "router") != 0)
			continue;
		/* counted before the call so that routers_free() sees a partial one */
		struct router_def *d = &out->v[out->n++];
		if (rt_load_one(cfg, b, d, e) != 0) {
			routers_free(out);
			return -1;
		}
	}
	return 0;
}

void
routers_free(struct routers *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rt_def_free(&rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}
