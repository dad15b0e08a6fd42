/*
 * lookup_spf.c - the seed's SPF lookup, ${lookup{USER@DOMAIN}spf{IP}}:
 * check_host() (RFC 7208 4) for the sender USER@DOMAIN and the client
 * address IP (IPv4 or IPv6; the seed's "IPv4 only" is Exim's limit, not
 * ours), giving the result word (pass, fail, softfail, neutral, none,
 * permerror, temperror).  docs/spf.md ("The lookup").
 *
 * libspf2 stays owned by server/spf.c: this module only calls spf.h's
 * checker.  The checker asks through its own resolver (dns_server and
 * dns_trust_anchor, as for dnsdb), made at the first lookup and kept for
 * the process.  Every check gives a word, so the lookup is always found;
 * only a key or address that cannot be checked at all defers.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "resolver.h"
#include "spf.h"

static char *dns_server, *trust_anchor, *receiver;
static struct resolver *res;      /* made at the first lookup */
static struct spf_checker *check; /* over `res` */

static void
drop_checker(void)
{
	spf_checker_free(check);
	check = NULL;
	resolver_free(res);
	res = NULL;
}

static int
dup_or_null(char **to, const char *s)
{
	free(*to);
	*to = s != NULL ? strdup(s) : NULL;
	return s != NULL && *to == NULL ? -1 : 0;
}

int
lookup_set_spf(const char *server, const char *anchor, const char *recv)
{
	drop_checker();
	if (dup_or_null(&dns_server, server) != 0 || dup_or_null(&trust_anchor, anchor) != 0 ||
	    dup_or_null(&receiver, recv) != 0)
		return -1;
	return 0;
}

/* The process's checker, made on first use; NULL with `why` filled. */
static struct spf_checker *
checker(char *why, size_t whylen)
{
	struct spf_options o = { 0 };
	struct err e = { 0 };

	if (check != NULL)
		return check;
	if (res == NULL && (res = resolver_new(dns_server, trust_anchor, &e)) == NULL) {
		snprintf(why, whylen, "resolver: %s", e.text);
		return NULL;
	}
	o.receiver = receiver != NULL ? receiver : "localhost";
	if ((check = spf_checker_new(res, &o, &e)) == NULL)
		snprintf(why, whylen, "%s", e.text);
	return check;
}

enum lookup_result
lookup_spf_find(const char *file, const char *key, char **value, char *why, size_t whylen)
{
	unsigned char a[16];
	struct spf_verdict v = { 0 };
	struct err e = { 0 };
	struct spf_checker *c;
	const char *ip = file;

	*value = NULL;
	while (*ip == ' ' || *ip == '\t')
		ip++;
	if (inet_pton(AF_INET, ip, a) != 1 && inet_pton(AF_INET6, ip, a) != 1) {
		snprintf(why, whylen, "\"%s\" is not an IPv4 or IPv6 address", ip);
		return LOOKUP_DEFER;
	}
	if (key[0] == '\0') {
		snprintf(why, whylen, "no sender address to check");
		return LOOKUP_DEFER;
	}
	if ((c = checker(why, whylen)) == NULL)
		return LOOKUP_DEFER;
	/* The sender's own identity: no HELO name (the seed's lookup has none). */
	if (spf_check(c, ip, "", key, SPF_ID_MAILFROM, 0, &v, &e) != 0) {
		snprintf(why, whylen, "%s", e.text);
		spf_verdict_free(&v);
		return LOOKUP_DEFER;
	}
	*value = strdup(spf_result_word(v.result));
	spf_verdict_free(&v);
	if (*value == NULL) {
		snprintf(why, whylen, "out of memory");
		return LOOKUP_DEFER;
	}
	return LOOKUP_FOUND;
}
