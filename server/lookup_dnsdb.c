/*
 * lookup_dnsdb.c - ${lookup dnsdb{TYPE=NAME}} through refmta's validating
 * resolver (lib/resolver.h), after Exim's dnsdb: types a, aaaa, mx, txt,
 * tlsa, ptr, cname, ns (TXT when no "TYPE=" is given; ptr of an IP address asks for
 * its reverse name).  Records are joined with newlines: "PREF EXCHANGE"
 * for MX, "USAGE SELECTOR MTYPE HEX" for TLSA, the text of a TXT, the
 * target name of a PTR, CNAME (the alias's own record, not its chain) or NS.
 *
 * $lookup_dnssec_authenticated is "yes" when the last dnsdb lookup's
 * answer was validated (secure data, or a secure denial), "no" when it was
 * not, "" before any.  A bogus answer or a temporary failure defers (the
 * expansion fails: never data that did not validate); NXDOMAIN and NODATA
 * are not-found.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "lookup.h"
#include "resolver.h"

static char *dns_server, *trust_anchor;
static struct resolver *res; /* made at the first lookup, kept for the process */
static const char *authenticated = "";

int
lookup_set_dns(const char *server, const char *anchor)
{
	free(dns_server);
	free(trust_anchor);
	resolver_free(res);
	res = NULL;
	dns_server = server != NULL ? strdup(server) : NULL;
	trust_anchor = anchor != NULL ? strdup(anchor) : NULL;
	return (server != NULL && dns_server == NULL) || (anchor != NULL && trust_anchor == NULL)
	               ? -1
	               : 0;
}

const char *
lookup_dnssec_authenticated(void)
{
	return authenticated;
}

static const struct {
	const char *word;
	enum resolver_type type;
} types[] = {
	{ "a", RESOLVER_A },         { "aaaa", RESOLVER_AAAA }, { "mx", RESOLVER_MX },
	{ "txt", RESOLVER_TXT },     { "tlsa", RESOLVER_TLSA }, { "ptr", RESOLVER_PTR },
	{ "cname", RESOLVER_CNAME }, { "ns", RESOLVER_NS },
};

/* "1.2.3.4" -> "4.3.2.1.in-addr.arpa"; IPv6 nibbles under ip6.arpa; else a copy. */
static void
reverse_name(const char *s, char *out, size_t len)
{
	unsigned char a[16];
	size_t n = 0;

	if (inet_pton(AF_INET, s, a) == 1) {
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
	} else if (inet_pton(AF_INET6, s, a) == 1) {
		for (int i = 15; i >= 0 && n + 4 < len; i--)
			n += (size_t)snprintf(out + n, len - n, "%x.%x.", a[i] & 15, a[i] >> 4);
		snprintf(out + n, len - n, "ip6.arpa");
	} else {
		snprintf(out, len, "%s", s);
	}
}

static void
format_rr(struct buf *b, const struct resolver_rr *rr)
{
	switch (rr->type) {
	case RESOLVER_MX:
		buf_addf(b, "%u %s", rr->u.mx.preference, rr->u.mx.exchange);
		break;
	case RESOLVER_TLSA:
		buf_addf(b, "%u %u %u ", rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.mtype);
		for (size_t i = 0; i < rr->u.tlsa.len; i++)
			buf_addf(b, "%02x", rr->u.tlsa.data[i]);
		break;
	case RESOLVER_TXT:
		buf_add(b, rr->u.txt.text, rr->u.txt.len);
		break;
	case RESOLVER_PTR:
	case RESOLVER_CNAME:
	case RESOLVER_NS:
		buf_adds(b, rr->u.name);
		break;
	default:
		buf_adds(b, rr->u.addr);
	}
}

enum lookup_result
lookup_dnsdb_find(const char *file, const char *query, char **value, char *why, size_t whylen)
{
	const char *eq = strchr(query, '='), *name = eq != NULL ? eq + 1 : query;
	enum resolver_type type = RESOLVER_TXT;
	struct resolver_answer ans = { 0 };
	struct err e = { 0 };
	struct buf b = { 0 };
	char rname[128];
	size_t tlen = eq != NULL ? (size_t)(eq - query) : 0;
	int known = eq == NULL;
	enum lookup_result rc = LOOKUP_DEFER;

	(void)file;
	*value = NULL;
	for (size_t i = 0; eq != NULL && i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i].word) == tlen && strncasecmp(types[i].word, query, tlen) == 0) {
			type = types[i].type;
			known = 1;
		}
	if (!known) {
		snprintf(why, whylen,
		         "unknown record type \"%.*s\" (a, aaaa, mx, txt, tlsa, ptr, cname, ns)",
		         (int)tlen, query);
		return LOOKUP_DEFER;
	}
	while (isspace((unsigned char)*name))
		name++;
	if (type == RESOLVER_PTR) {
		reverse_name(name, rname, sizeof rname);
		name = rname;
	}
	authenticated = "no";
	if (res == NULL && (res = resolver_new(dns_server, trust_anchor, &e)) == NULL) {
		snprintf(why, whylen, "resolver: %s", e.text);
		return LOOKUP_DEFER;
	}
	if (resolver_lookup(res, name, type, &ans, &e) != 0) {
		snprintf(why, whylen, "%s %s: %s", resolver_type_word(type), name, e.text);
		goto out;
	}
	authenticated = ans.secure ? "yes" : "no";
	switch (ans.status) {
	case RESOLVER_SECURE:
	case RESOLVER_INSECURE:
		buf_add(&b, "", 0);
		for (size_t i = 0; i < ans.nrrs; i++) {
			if (i > 0)
				buf_add(&b, "\n", 1);
			format_rr(&b, &ans.rrs[i]);
		}
		*value = buf_take(&b);
		rc = *value != NULL ? LOOKUP_FOUND : LOOKUP_DEFER;
		if (rc == LOOKUP_DEFER)
			snprintf(why, whylen, "out of memory");
		break;
	case RESOLVER_NXDOMAIN:
	case RESOLVER_NODATA:
		rc = LOOKUP_NOTFOUND;
		break;
	case RESOLVER_BOGUS:
		snprintf(why, whylen, "%s %s bogus: %s", resolver_type_word(type), name,
		         ans.why_bogus != NULL ? ans.why_bogus : "validation failed");
		break;
	default:
		snprintf(why, whylen, "%s %s: temporary failure", resolver_type_word(type), name);
	}
out:
	resolver_answer_free(&ans);
	buf_free(&b);
	return rc;
}
