/*
 * lookup.h - the one lookup interface behind ${lookup}: a table of lookup
 * types, each in its own module and the only owner of its library
 * (lookup_lsearch.c, lookup_lmdb.c / liblmdb, lookup_redis.c / hiredis,
 * lookup_dnsdb.c / lib/resolver, lookup_spf.c / spf.h).  docs/expand.md ("Lookups").
 *
 * Single-key types:  ${lookup{KEY}TYPE{FILE}...}   find(file, key, ...)
 * Query types:       ${lookup TYPE{QUERY}...}      find(NULL, query, ...)
 */
#ifndef REFMTA_LOOKUP_H
#define REFMTA_LOOKUP_H

#include <stddef.h>

#include "err.h"

enum lookup_result {
	LOOKUP_FOUND,    /* *value set (caller frees) */
	LOOKUP_NOTFOUND, /* no such key / nil: the NO branch, or forced failure */
	LOOKUP_DEFER,    /* could not look (file missing, server down): an expansion error */
};

struct lookup_type {
	const char *name;
	int query; /* 1: a query type; 0: single key with a file */
	enum lookup_result (*find)(const char *file, const char *key, char **value, char *why,
	                           size_t whylen);
};

/* The type named `name`, or NULL. */
const struct lookup_type *lookup_type_find(const char *name);
/* The names of every type, ", "-separated, for error messages. */
const char *lookup_type_names(void);

/* Set at configuration load (setup): redis_servers, the resolver for
 * dnsdb.  NULL/"" = none; strings copied. */
int lookup_set_redis_servers(const char *servers) MUST_CHECK;
/* Is `servers` a valid redis_servers value?  1 yes, 0 no (option engine). */
int lookup_redis_servers_valid(const char *servers);
/* dnsdb's resolver: dns_server and dns_trust_anchor (NULL: the system's);
 * copied; the resolver is made at the first dnsdb lookup.  0 or -1 (OOM). */
int lookup_set_dns(const char *server, const char *anchor) MUST_CHECK;
/* spf's checker: the same dns_server and dns_trust_anchor, and our name
 * (primary_hostname) for the checks' %{r}; copied; 0 or -1 (OOM). */
int lookup_set_spf(const char *server, const char *anchor, const char *receiver) MUST_CHECK;
/* Fuzzing and tests: redis, dnsdb and spf defer at once ("network lookups are
 * disabled") instead of talking to a server. */
void lookup_disable_network(void);
/* $lookup_dnssec_authenticated: "yes" / "no" after a dnsdb lookup, else "". */
const char *lookup_dnssec_authenticated(void);

/* Each module's find function (the table in lookup.c lists them). */
enum lookup_result lookup_lsearch_find(const char *file, const char *key, char **value, char *why,
                                       size_t whylen);
enum lookup_result lookup_iplsearch_find(const char *file, const char *key, char **value, char *why,
                                         size_t whylen);
enum lookup_result lookup_lmdb_find(const char *file, const char *key, char **value, char *why,
                                    size_t whylen);
enum lookup_result lookup_redis_find(const char *file, const char *query, char **value, char *why,
                                     size_t whylen);
enum lookup_result lookup_dnsdb_find(const char *file, const char *query, char **value, char *why,
                                     size_t whylen);
/* ${lookup{USER@DOMAIN}spf{IP}}: the SPF result word (lookup_spf.c). */
enum lookup_result lookup_spf_find(const char *file, const char *key, char **value, char *why,
                                   size_t whylen);

/* ${quote_redis:S}: a backslash before each blank and backslash, so the
 * query's split into arguments keeps S whole.  Caller frees; NULL: OOM. */
char *lookup_redis_quote(const char *s);

#endif
