/*
 * match.c - Exim-style host, domain, local-part and address lists.
 *
 * A list is split with strlist_split ("a : b", "::" is a literal colon, so
 * an IPv6 address is written with every colon doubled: "::::1" is ::1).
 * Items are tried left to right; the first that matches decides, and a
 * "!" item that matches decides "no".  No item matching is "no".
 *
 * It must never consult the DNS or any other outside source: host lists
 * hold addresses and CIDRs only, so a match is a pure function of its text.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match.h"
#include "strlist.h"
#include "strutil.h"

/* An address in both shapes it can be compared in: IPv4 (also for an
 * IPv4-mapped IPv6 address) and IPv6 (also ::ffff:a.b.c.d for IPv4). */
struct ipaddr {
	int has4, has6;
	unsigned char v4[4];
	unsigned char v6[16];
};

static const unsigned char v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int
ipaddr_parse(const char *s, struct ipaddr *a)
{
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, a->v4) == 1) {
		a->has4 = a->has6 = 1;
		memcpy(a->v6, v4mapped_prefix, 12);
		memcpy(a->v6 + 12, a->v4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->v6) == 1) {
		a->has6 = 1;
		if (memcmp(a->v6, v4mapped_prefix, 12) == 0) {
			a->has4 = 1;
			memcpy(a->v4, a->v6 + 12, 4);
		}
		return 0;
	}
	return -1;
}

static int
bytes_equal_under_mask(const unsigned char *x, const unsigned char *y, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(x, y, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (x[full] & mask) == (y[full] & mask);
}

/* A host-list item without its "!": "*", ADDR or ADDR/BITS.  Fills the
 * network (family 4 or 6) and prefix length.  -1 when malformed. */
struct hostpat {
	int any;
	int family;
	unsigned bits;
	unsigned char net[16];
};

static int
hostpat_parse(const char *item, struct hostpat *p)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(item, '/');
	size_t alen = slash != NULL ? (size_t)(slash - item) : strlen(item);
	unsigned max;

	memset(p, 0, sizeof *p);
	if (strcmp(item, "*") == 0) {
		p->any = 1;
		return 0;
	}
	if (alen == 0 || alen >= sizeof addr)
		return -1;
	memcpy(addr, item, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p->net) == 1) {
		p->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, p->net) == 1) {
		p->family = 6;
		max = 128;
	} else {
		return -1;
	}
	p->bits = max;
	if (slash != NULL) {
		const char *d = slash + 1;
		unsigned v = 0;
		if (*d == '\0' || strlen(d) > 3)
			return -1;
		for (; *d != '\0'; d++) {
			if (!isdigit((unsigned char)*d))
				return -1;
			v = v * 10 + (unsigned)(*d - '0');
		}
		if (v > max)
			return -1;
		p->bits = v;
	}
	return 0;
}

static int
hostpat_match(const struct hostpat *p, const struct ipaddr *a)
{
	if (p->any)
		return 1;
	if (p->family == 4)
		return a->has4 && bytes_equal_under_mask(p->net, a->v4, p->bits);
	return a->has6 && bytes_equal_under_mask(p->net, a->v6, p->bits);
}

/* Strip a leading "!" (and white space after it); say whether there was one. */
static const char *
item_body(const char *item, int *negated)
{
	*negated = 0;
	if (*item == '!') {
		*negated = 1;
		item++;
		while (isspace((unsigned char)*item))
			item++;
	}
	return item;
}

int
match_host_item_valid(const char *item)
{
	struct hostpat p;
	int negated;

	if (item == NULL)
		return 0;
	return hostpat_parse(item_body(item, &negated), &p) == 0;
}

/* Domains compare case-insensitively (RFC 5321 2.4, RFC 1035 2.3.3). */
static int
domain_item_match(const char *pat, const char *domain)
{
	size_t dl = strlen(domain), pl;

	if (strcmp(pat, "*") == 0)
		return 1;
	if (pat[0] != '*')
		return strcasecmp(pat, domain) == 0;
	pat++; /* "*.example.test" or "*example.test": a suffix */
	pl = strlen(pat);
	if (dl < pl || strcasecmp(domain + dl - pl, pat) != 0)
		return 0;
	/* "*.example.test" needs at least one label in front of the dot. */
	return pat[0] != '.' || dl > pl;
}

/* Local parts compare case-sensitively (RFC 5321 2.4). */
static int
local_item_match(const char *pat, const char *lp)
{
	size_t ll = strlen(lp), pl = strlen(pat);

	if (strcmp(pat, "*") == 0)
		return 1;
	if (pl > 1 && pat[0] == '*')
		return ll >= pl - 1 && strcmp(lp + ll - (pl - 1), pat + 1) == 0;
	if (pl > 1 && pat[pl - 1] == '*')
		return strncmp(lp, pat, pl - 1) == 0;
	return strcmp(pat, lp) == 0;
}

/* "local@domain", split at the last "@" (a quoted local part may hold one). */
static int
address_item_match(const char *pat, const char *addr)
{
	const char *pat_at, *addr_at;
	char *pat_lp = NULL, *addr_lp = NULL;
	int r = 0;

	if (strcmp(pat, "*") == 0)
		return 1;
	/* RFC 5321 4.5.5: the null reverse-path "<>" */
	if (strcmp(pat, "<>") == 0 || strcmp(pat, "\"\"") == 0)
		return addr[0] == '\0';
	if (addr[0] == '\0')
		return 0;
	addr_at = strrchr(addr, '@');
	pat_at = strrchr(pat, '@');
	if (pat_at == NULL) /* no "@": a domain pattern for the address's domain */
		return addr_at != NULL && domain_item_match(pat, addr_at + 1);
	pat_lp = strndup(pat, (size_t)(pat_at - pat));
	addr_lp = addr_at != NULL ? strndup(addr, (size_t)(addr_at - addr)) : strdup(addr);
	if (pat_lp == NULL || addr_lp == NULL)
		goto out;
	r = local_item_match(pat_lp, addr_lp) &&
	    domain_item_match(pat_at + 1, addr_at != NULL ? addr_at + 1 : "");
out:
	free(pat_lp);
	free(addr_lp);
	return r;
}

typedef int (*item_match_fn)(const char *item, const void *subject);

/* The list walk shared by every kind: first matching item decides. */
static int
list_match(const char *list, const void *subject, item_match_fn fn)
{
	struct strlist items = { 0 };
	int r = 0;

	if (list == NULL || subject == NULL)
		return 0;
	if (strlist_split(&items, list) != 0)
		goto out;
	for (size_t i = 0; i < items.n; i++) {
		int negated;
		const char *body = item_body(items.v[i], &negated);
		if (fn(body, subject)) {
			r = !negated;
			goto out;
		}
	}
out:
	strlist_free(&items);
	return r;
}

static int
host_fn(const char *item, const void *subject)
{
	const char *ip = subject;
	struct hostpat p;
	struct ipaddr a;

	if (hostpat_parse(item, &p) != 0)
		return 0; /* not valid (config_load rejects it): never matches */
	if (p.any)
		return 1;
	if (ipaddr_parse(ip, &a) != 0)
		return 0;
	return hostpat_match(&p, &a);
}

static int
domain_fn(const char *item, const void *subject)
{
	return domain_item_match(item, subject);
}

static int
local_fn(const char *item, const void *subject)
{
	return local_item_match(item, subject);
}

static int
address_fn(const char *item, const void *subject)
{
	return address_item_match(item, subject);
}

int
match_host(const char *list, const char *ip)
{
	return list_match(list, ip, host_fn);
}

int
match_domain(const char *list, const char *domain)
{
	return list_match(list, domain, domain_fn);
}

int
match_local_part(const char *list, const char *local_part)
{
	return list_match(list, local_part, local_fn);
}

int
match_address(const char *list, const char *address)
{
	return list_match(list, address, address_fn);
}

int
match_host_list_check(const char *list, char *bad, size_t badlen)
{
	struct strlist l = { 0 };
	int rc = 0;

	/* A "${...}" may hold the separator: the list is checked once expanded. */
	if (strstr(list, "${") != NULL)
		return 0;
	if (strlist_split(&l, list) != 0)
		return -1;
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		const char *it = l.v[i] + (l.v[i][0] == '!');
		if (*it == '+')
			continue; /* a named list (docs/expand.md): checked where it is defined */
		if (!str_has_var_ref(l.v[i]) && !match_host_item_valid(l.v[i])) {
			snprintf(bad, badlen, "%s", l.v[i]);
			rc = 1;
		}
	}
	strlist_free(&l);
	return rc;
}
