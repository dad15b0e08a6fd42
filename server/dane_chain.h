/*
 * dane_chain.h - the names of a CNAME chain, walked one validated CNAME
 * lookup at a time, for DANE (RFC 7672 2.2.2, 3.2.2; docs/dane.md
 * "CNAME chains").  libunbound reports only an alias's final target; DANE-TA's
 * reference identifiers include every name of the chain, so the transport
 * (deliver_smtp_dane.c) and `refmta dane-check` ask for each link.
 */
#ifndef REFMTA_DANE_CHAIN_H
#define REFMTA_DANE_CHAIN_H

#include <stddef.h>

#include "router.h"

#define DANE_CHAIN_MAX 8 /* links followed at most (a longer chain fails) */

struct dane_chain {
	char names[DANE_CHAIN_MAX + 1][256]; /* [0] the start ... [n] the final target */
	size_t n;                            /* links followed */
	char why[400];                       /* dane_chain_walk() == -1: why */
};

/* Called with every CNAME answer of the walk (for log_dns, dane-check). */
typedef void (*dane_chain_seen_fn)(void *arg, const char *name, const struct resolver_answer *a);

/*
 * Walk from `start` to `target` (the address lookup's final name): one
 * CNAME lookup per link through `lookup`, each answer DNSSEC-secure, each
 * target new.  0: out->names holds the chain (start and target included).
 * -1: out->why says which link failed: not secure (insecure, bogus,
 * tempfail), no CNAME where the chain should go on, a loop, more than
 * DANE_CHAIN_MAX links, or a chain that ends elsewhere than `target`.
 * `seen` may be NULL.  Nothing is allocated.
 */
int dane_chain_walk(router_lookup_fn lookup, void *lookup_arg, const char *start,
                    const char *target, dane_chain_seen_fn seen, void *seen_arg,
                    struct dane_chain *out) MUST_CHECK;

#endif
