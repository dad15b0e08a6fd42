/*
 * dane_chain.c - a CNAME chain's names for DANE (dane_chain.h), walked with
 * CNAME-type lookups so that every name of the chain, not only its final
 * target, is known and each link is known to be DNSSEC-secure (RFC 7672
 * 2.2.2: a chain is used only when validated; 3.2.2: its names are DANE-TA's
 * reference identifiers).  Bounded: DANE_CHAIN_MAX links, no name twice.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dane_chain.h"

/* DNS names compare without case and without a trailing dot. */
static int
dc_same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* The CNAME target of a secure answer, or NULL (with why). */
static const char *
dc_link(const struct resolver_answer *a, const char *name, char *why, size_t len)
{
	if (a->status == RESOLVER_SECURE)
		for (size_t i = 0; i < a->nrrs; i++)
			if (a->rrs[i].type == RESOLVER_CNAME)
				return a->rrs[i].u.name;
	if (a->status == RESOLVER_SECURE || a->status == RESOLVER_NODATA ||
	    a->status == RESOLVER_NXDOMAIN)
		snprintf(why, len, "no CNAME at %s (%s)", name,
		         a->status == RESOLVER_SECURE ? "secure" : resolver_status_word(a->status));
	else
		snprintf(why, len, "CNAME %s %s", name, resolver_status_word(a->status));
	return NULL;
}

int
dane_chain_walk(router_lookup_fn lookup, void *lookup_arg, const char *start, const char *target,
                dane_chain_seen_fn seen, void *seen_arg, struct dane_chain *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->names[0], sizeof out->names[0], "%s", start);
	while (!dc_same(out->names[out->n], target)) {
		const char *cur = out->names[out->n];
		struct resolver_answer a;
		struct err e = { 0 };
		const char *next;

		if (out->n == DANE_CHAIN_MAX) {
			snprintf(out->why, sizeof out->why,
			         "CNAME chain from %s longer than %d links", start, DANE_CHAIN_MAX);
			return -1;
		}
		if (lookup(lookup_arg, cur, RESOLVER_CNAME, &a, &e) != 0)
			a.status = RESOLVER_TEMPFAIL;
		if (seen != NULL)
			seen(seen_arg, cur, &a);
		next = dc_link(&a, cur, out->why, sizeof out->why);
		for (size_t i = 0; next != NULL && i <= out->n; i++)
			if (dc_same(out->names[i], next)) {
				snprintf(out->why, sizeof out->why, "CNAME loop at %s", next);
				next = NULL;
			}
		if (next != NULL && strlen(next) >= sizeof out->names[0]) {
			snprintf(out->why, sizeof out->why, "CNAME target too long at %s", cur);
			next = NULL;
		}
		if (next != NULL)
			snprintf(out->names[out->n + 1], sizeof out->names[0], "%s", next);
		resolver_answer_free(&a);
		if (next == NULL)
			return -1;
		out->n++;
	}
	return 0;
}
