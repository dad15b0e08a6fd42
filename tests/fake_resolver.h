/*
 * fake_resolver.h - a router_lookup_fn (router.h) that answers from a table
 * instead of DNS, for the routing unit tests (router_test.c).  The table is
 * written in the router log's own words ("MX a.test secure: 10 mx.a.test",
 * "A mx.a.test error"), so an answer the router logs reads back as the line
 * that produced it; every lookup made is recorded in `calls`.  Header-only,
 * like testutil.h, so the Makefile's one-file-per-test rule stays as it is;
 * include after <cmocka.h>.
 */
#ifndef REFMTA_FAKE_RESOLVER_H
#define REFMTA_FAKE_RESOLVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resolver.h"

#define FAKE_MAX 12

struct fake_dns {
	const char *const *table; /* "TYPE NAME STATUS[: DATA]" or "TYPE NAME error" */
	char calls[2048];         /* "MX a.test; A mx.a.test; ..." */
};

static const char *const type_words[] = { "A", "AAAA", "MX", "TLSA", "TXT", "PTR" };

/* The answer a table line gives: data items separated by ", ". */
static int
fake_answer(const char *line, enum resolver_type type, struct resolver_answer *out)
{
	char status[32] = "";
	const char *data = strstr(line, ": ");
	int skip = 0;

	/* the status is the third word */
	if (sscanf(line, "%*s %*s %31[a-z]%n", status, &skip) != 1)
		fail_msg("bad fake line \"%s\"", line);
	if (strcmp(status, "error") == 0)
		return -1;
	if (strcmp(status, "secure") == 0)
		out->status = RESOLVER_SECURE;
	else if (strcmp(status, "insecure") == 0)
		out->status = RESOLVER_INSECURE;
	else if (strcmp(status, "bogus") == 0)
		out->status = RESOLVER_BOGUS;
	else if (strcmp(status, "nxdomain") == 0)
		out->status = RESOLVER_NXDOMAIN;
	else if (strcmp(status, "nodata") == 0)
		out->status = RESOLVER_NODATA;
	else if (strcmp(status, "tempfail") == 0)
		out->status = RESOLVER_TEMPFAIL;
	else
		fail_msg("bad fake status in \"%s\"", line);
	out->secure = out->status == RESOLVER_SECURE || strstr(line + skip, "(secure)") != NULL;
	if (out->status == RESOLVER_BOGUS) {
		out->why_bogus = strdup(data != NULL ? data + 2 : "");
		return 0;
	}
	if (data == NULL || (out->status != RESOLVER_SECURE && out->status != RESOLVER_INSECURE))
		return 0;
	out->rrs = calloc(16, sizeof *out->rrs);
	assert_non_null(out->rrs);
	for (const char *p = data + 2; *p != '\0' && out->nrrs < 16;) {
		size_t n = strcspn(p, ",");
		char item[256];
		struct resolver_rr *rr = &out->rrs[out->nrrs++];
		unsigned pref;
		char exch[200];

		snprintf(item, sizeof item, "%.*s", (int)n, p);
		rr->type = type;
		if (type == RESOLVER_MX) {
			assert_int_equal(sscanf(item, "%u %199s", &pref, exch), 2);
			rr->u.mx.preference = pref;
			rr->u.mx.exchange = strdup(exch);
		} else {
			rr->u.addr = strdup(item);
		}
		p += n;
		p += strspn(p, ", ");
	}
	return 0;
}

/* router_lookup_fn: the first table line for (type, name); none = nxdomain. */
static int
fake_lookup(void *arg, const char *name, enum resolver_type type, struct resolver_answer *out,
            struct err *e)
{
	struct fake_dns *f = arg;
	char key[300];

	memset(out, 0, sizeof *out);
	snprintf(f->calls + strlen(f->calls), sizeof f->calls - strlen(f->calls), "%s%s %s",
	         f->calls[0] != '\0' ? "; " : "", type_words[type], name);
	snprintf(key, sizeof key, "%s %s ", type_words[type], name);
	for (size_t i = 0; i < FAKE_MAX && f->table[i] != NULL; i++) {
		if (strncasecmp(f->table[i], key, strlen(key)) != 0)
			continue;
		if (fake_answer(f->table[i], type, out) != 0) {
			resolver_answer_free(out);
			err_set(e, RESOLVER_ERR_LOOKUP, "fake lookup error");
			return -1;
		}
		return 0;
	}
	out->status = RESOLVER_NXDOMAIN;
	return 0;
}

#endif
