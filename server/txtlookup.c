/*
 * txtlookup.c - TXT records through refmta's resolver, for DKIM keys and
 * DMARC records (txtlookup.h).  Never turns a DNS failure into "no record":
 * RFC 7489 6.6.3 and RFC 6376 6.1.2 tell the two apart.
 */
#include "txtlookup.h"

#include "resolver.h"

enum txtlookup_status
txtlookup_resolver(void *arg, const char *name, struct strlist *out)
{
	struct resolver *r = arg;
	struct resolver_answer a = { 0 };
	struct err e = { 0 };
	enum txtlookup_status st = TXTLOOKUP_TEMPFAIL;

	if (resolver_lookup(r, name, RESOLVER_TXT, &a, &e) != 0)
		goto out;
	switch (a.status) {
	case RESOLVER_SECURE:
	case RESOLVER_INSECURE:
		st = TXTLOOKUP_FOUND;
		for (size_t i = 0; i < a.nrrs; i++)
			if (a.rrs[i].type == RESOLVER_TXT &&
			    strlist_push(out, a.rrs[i].u.txt.text) != 0) {
				st = TXTLOOKUP_TEMPFAIL;
				break;
			}
		if (st == TXTLOOKUP_FOUND && out->n == 0)
			st = TXTLOOKUP_NONE;
		break;
	case RESOLVER_NXDOMAIN:
	case RESOLVER_NODATA:
		st = TXTLOOKUP_NONE;
		break;
	case RESOLVER_BOGUS:
	case RESOLVER_TEMPFAIL:
		st = TXTLOOKUP_TEMPFAIL;
		break;
	}
out:
	resolver_answer_free(&a);
	return st;
}

const char *
txtlookup_status_word(enum txtlookup_status s)
{
	switch (s) {
	case TXTLOOKUP_FOUND:
		return "found";
	case TXTLOOKUP_NONE:
		return "none";
	case TXTLOOKUP_TEMPFAIL:
		break;
	}
	return "tempfail";
}
