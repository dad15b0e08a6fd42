/*
 * certname.c - the certificate name check, one implementation for both TLS
 * backends (rules in certname.h).  Pure string code: it must never name a
 * TLS library, and it must fail closed on anything malformed.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "certname.h"

/* Length of `s` without one trailing dot ("mx.example.test." == "mx.example.test"). */
static size_t
name_len(const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	return n;
}

/* A usable DNS name: non-empty labels only, no wildcard, printable ASCII. */
static int
name_is_wellformed(const char *s, size_t n, int allow_leading_wildcard)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0)
				return 0; /* empty label */
			label = 0;
			continue;
		}
		if (ch == '*' && !(allow_leading_wildcard && i == 0))
			return 0;
		if (ch <= 0x20 || ch >= 0x7f)
			return 0;
		label++;
	}
	return label > 0;
}

static size_t
count_labels(const char *s, size_t n)
{
	size_t labels = 1;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '.')
			labels++;
	return labels;
}

enum certname_result
certname_match_one(const char *presented, const char *host)
{
	size_t plen, hlen;

	if (presented == NULL || host == NULL)
		return CERTNAME_MISMATCH;
	plen = name_len(presented);
	hlen = name_len(host);
	/* The reference identity is a real host name, never a pattern. */
	if (!name_is_wellformed(host, hlen, 0))
		return CERTNAME_MISMATCH;
	if (!name_is_wellformed(presented, plen, 1))
		return CERTNAME_MISMATCH;

	if (presented[0] != '*')
		return (plen == hlen && strncasecmp(presented, host, plen) == 0)
		               ? CERTNAME_MATCH
		               : CERTNAME_MISMATCH;

	/*
	 * RFC 6125 6.4.3 and the seed: the wildcard is the whole left-most
	 * label ("*." - so "f*.x.y" was already refused above, and "*x.y.z"
	 * is refused here), in a name of three or more labels.
	 */
	if (plen < 2 || presented[1] != '.')
		return CERTNAME_MISMATCH;
	if (count_labels(presented, plen) < 3)
		return CERTNAME_MISMATCH;

	/* "*" stands for exactly one non-empty label of the host. */
	const char *dot = memchr(host, '.', hlen);
	if (dot == NULL || dot == host)
		return CERTNAME_MISMATCH;
	size_t rest = hlen - (size_t)(dot - host);
	return (rest == plen - 1 && strncasecmp(dot, presented + 1, rest) == 0) ? CERTNAME_MATCH
	                                                                        : CERTNAME_MISMATCH;
}

enum certname_result
certname_match(char *const *dns, size_t ndns, const char *cn, const char *host)
{
	/* RFC 6125 6.4.4: the CN is consulted only when there is no dNSName SAN. */
	if (ndns > 0) {
		for (size_t i = 0; i < ndns; i++)
			if (certname_match_one(dns[i], host) == CERTNAME_MATCH)
				return CERTNAME_MATCH;
		return CERTNAME_MISMATCH;
	}
	return certname_match_one(cn, host);
}
