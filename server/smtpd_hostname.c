/*
 * smtpd_hostname.c - the client's host name, looked up at the start of a
 * session for a client in `host_lookup` (Exim's option and method, spec
 * 11.6 "host_lookup"): the PTR records of its address, then each name's
 * A (IPv4) or AAAA (IPv6) records; the first name whose addresses include
 * the client's is $sender_host_name (forward-confirmed, RFC 1912 2.1).
 * Behind a proxy the address is the real client's from the PROXY header
 * (smtpd_proxy.c rewrote peer->ip before the session began), so the name
 * is the client's, not the load balancer's.
 *
 * Every lookup goes through lib/resolver (validating): a bogus answer is
 * never used.  A temporary failure sets $host_lookup_deferred, no
 * confirmed name $host_lookup_failed; both leave the name empty.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "match.h"
#include "resolver.h"
#include "smtpd_int.h"

/* At most this many PTR names are tried (Exim tries them all; a bound keeps
 * a hostile reverse zone from costing more than a few lookups). */
#define PTR_NAMES_MAX 8

/* "1.2.3.4" -> "4.3.2.1.in-addr.arpa", IPv6 nibbles under ip6.arpa
 * (RFC 1035 3.5, RFC 3596 2.5).  -1 when `ip` is not an address. */
static int
reverse_name(const char *ip, int *family, unsigned char addr[16], char *out, size_t len)
{
	size_t n = 0;

	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family = AF_INET;
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", addr[3], addr[2], addr[1], addr[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return -1;
	*family = AF_INET6;
	for (int i = 15; i >= 0 && n + 4 < len; i--)
		n += (size_t)snprintf(out + n, len - n, "%x.%x.", addr[i] & 15, addr[i] >> 4);
	snprintf(out + n, len - n, "ip6.arpa");
	return 0;
}

/* 1 when `name`'s A/AAAA records include `addr`, 0 when not, -1 on a
 * temporary failure. */
static int
forward_confirms(struct resolver *r, const char *name, int family, const unsigned char *addr)
{
	struct resolver_answer a = { 0 };
	struct err e = { 0 };
	unsigned char got[16];
	int rc = 0;

	if (resolver_lookup(r, name, family == AF_INET ? RESOLVER_A : RESOLVER_AAAA, &a, &e) != 0 ||
	    a.status == RESOLVER_TEMPFAIL) {
		resolver_answer_free(&a);
		return -1;
	}
	for (size_t i = 0; i < a.nrrs && rc == 0; i++)
		if (inet_pton(family, a.rrs[i].u.addr, got) == 1 &&
		    memcmp(got, addr, family == AF_INET ? 4 : 16) == 0)
			rc = 1;
	resolver_answer_free(&a);
	return rc;
}

/* The lookup proper, on a resolver made for it. */
static void
lookup_name(struct session *s, struct resolver *r, int family, const unsigned char *addr,
            const char *rname)
{
	struct resolver_answer ptr = { 0 };
	struct err e = { 0 };
	int deferred = 0;

	if (resolver_lookup(r, rname, RESOLVER_PTR, &ptr, &e) != 0 ||
	    ptr.status == RESOLVER_TEMPFAIL) {
		s->host_lookup_deferred = 1;
		resolver_answer_free(&ptr);
		return;
	}
	for (size_t i = 0; i < ptr.nrrs && i < PTR_NAMES_MAX; i++) {
		int c = forward_confirms(r, ptr.rrs[i].u.name, family, addr);
		if (c > 0) {
			snprintf(s->host_name, sizeof s->host_name, "%s", ptr.rrs[i].u.name);
			break;
		}
		deferred |= c < 0;
	}
	if (s->host_name[0] == '\0') {
		/* Exim: a failed forward lookup of some name with no other name
		 * confirmed is a deferral, else the lookup failed. */
		if (deferred)
			s->host_lookup_deferred = 1;
		else
			s->host_lookup_failed = 1;
	}
	resolver_answer_free(&ptr);
}

void
smtpd_host_lookup(struct session *s)
{
	struct err e = { 0 };
	struct resolver *r;
	unsigned char addr[16];
	char rname[80];
	int family;

	if (s->cfg->host_lookup == NULL || s->peer->proxy_failed ||
	    !match_host(s->cfg->host_lookup, s->peer->ip) ||
	    reverse_name(s->peer->ip, &family, addr, rname, sizeof rname) != 0)
		return;
	r = resolver_new(s->cfg->dns_server, s->cfg->dns_trust_anchor, &e);
	if (r == NULL) {
		s->host_lookup_deferred = 1;
		log_write("host name lookup for [%s] not possible: %s", s->peer->ip, e.text);
		return;
	}
	lookup_name(s, r, family, addr, rname);
	resolver_free(r);
	if (s->host_lookup_deferred)
		log_write("host name lookup for [%s] deferred (temporary DNS failure)",
		          s->peer->ip);
	else if (s->host_lookup_failed)
		log_write("no host name found for IP address %s", s->peer->ip);
}
