/*
 * inspect.c - read a DNS response back with ldns (see inspect.h).
 *
 * Every check is ldns's: its parser, its NSEC3 hashing, its coverage test
 * and its denial verifier; none of fakedns's answer code is used, so a
 * test built on this can catch answer.c being wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "inspect.h"

/* ldns 1.8.3's ldns_dnssec_verify_denial_nsec3() leaks a few names on the
 * NODATA path (a library bug, not ours).  Under LeakSanitizer its
 * allocations are excluded, so the sanitizer run still catches our leaks. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LIBRARY_LEAK_BEGIN() __lsan_disable()
#define LIBRARY_LEAK_END() __lsan_enable()
#else
#define LIBRARY_LEAK_BEGIN() ((void)0)
#define LIBRARY_LEAK_END() ((void)0)
#endif

struct inspect {
	ldns_pkt *pkt;
};

struct inspect *
inspect_parse(const uint8_t *wire, size_t len)
{
	struct inspect *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (ldns_wire2pkt(&p->pkt, wire, len) != LDNS_STATUS_OK) {
		free(p);
		return NULL;
	}
	return p;
}

void
inspect_free(struct inspect *p)
{
	if (p == NULL)
		return;
	ldns_pkt_free(p->pkt);
	free(p);
}

int
inspect_rcode(const struct inspect *p)
{
	return (int)ldns_pkt_get_rcode(p->pkt);
}

int
inspect_aa(const struct inspect *p)
{
	return ldns_pkt_aa(p->pkt) ? 1 : 0;
}

static const ldns_rr_list *
section(const struct inspect *p, enum inspect_section sec)
{
	return sec == INSPECT_ANSWER ? ldns_pkt_answer(p->pkt) : ldns_pkt_authority(p->pkt);
}

/* The i-th record of `type` at `owner` (NULL: any) in `sec`; NULL when none. */
static const ldns_rr *
nth(const struct inspect *p, enum inspect_section sec, const char *type, const char *owner,
    size_t want)
{
	const ldns_rr_list *l = section(p, sec);
	ldns_rr_type t = ldns_get_rr_type_by_name(type);
	ldns_rdf *o = owner ? ldns_dname_new_frm_str(owner) : NULL;
	const ldns_rr *found = NULL;
	size_t seen = 0;

	if (owner != NULL && o == NULL)
		return NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && found == NULL; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);

		if (ldns_rr_get_type(rr) != t ||
		    (o != NULL && ldns_dname_compare(ldns_rr_owner(rr), o) != 0))
			continue;
		if (seen++ == want)
			found = rr;
	}
	ldns_rdf_deep_free(o);
	return found;
}

size_t
inspect_count(const struct inspect *p, enum inspect_section sec, const char *type,
              const char *owner)
{
	size_t n = 0;

	/* bounded by the section's length */
	while (nth(p, sec, type, owner, n) != NULL)
		n++;
	return n;
}

static int
rdf_text(const ldns_rdf *rdf, char *buf, size_t size)
{
	char *s = rdf ? ldns_rdf2str(rdf) : NULL;

	if (s == NULL)
		return -1;
	snprintf(buf, size, "%s", s);
	free(s);
	return 0;
}

int
inspect_rdata(const struct inspect *p, enum inspect_section sec, const char *type,
              const char *owner, char *buf, size_t size)
{
	const ldns_rr *rr = nth(p, sec, type, owner, 0);

	return rr ? rdf_text(ldns_rr_rdf(rr, 0), buf, size) : -1;
}

int
inspect_owner(const struct inspect *p, enum inspect_section sec, const char *type, size_t n,
              char *buf, size_t size)
{
	const ldns_rr *rr = nth(p, sec, type, NULL, n);

	return rr ? rdf_text(ldns_rr_owner(rr), buf, size) : -1;
}

int
inspect_rrsig_labels(const struct inspect *p, enum inspect_section sec, const char *covered,
                     const char *owner)
{
	ldns_rr_type t = ldns_get_rr_type_by_name(covered);
	const ldns_rr *rr;

	/* bounded by the section's length */
	for (size_t i = 0; (rr = nth(p, sec, "RRSIG", owner, i)) != NULL; i++)
		if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == t)
			return ldns_rdf2native_int8(ldns_rr_rrsig_labels(rr));
	return -1;
}

int
inspect_nsec_covers(const struct inspect *p, const char *name)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	const ldns_rr *rr;
	int found = 0;

	for (size_t i = 0; n != NULL && !found && (rr = nth(p, INSPECT_AUTHORITY, "NSEC", NULL, i));
	     i++)
		found = ldns_nsec_covers_name(rr, n);
	ldns_rdf_deep_free(n);
	return found;
}

int
inspect_nsec3_for(const struct inspect *p, const char *name, int match)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	const ldns_rr *rr;
	int found = 0;

	for (size_t i = 0;
	     n != NULL && !found && (rr = nth(p, INSPECT_AUTHORITY, "NSEC3", NULL, i)); i++) {
		ldns_rdf *h = ldns_nsec3_hash_name_frm_nsec3(rr, n);
		ldns_rdf *zone = ldns_dname_left_chop(ldns_rr_owner(rr));

		if (h != NULL && zone != NULL && ldns_dname_cat(h, zone) == LDNS_STATUS_OK)
			found = match ? ldns_dname_compare(ldns_rr_owner(rr), h) == 0
			              : ldns_nsec_covers_name(rr, h);
		ldns_rdf_deep_free(h);
		ldns_rdf_deep_free(zone);
	}
	ldns_rdf_deep_free(n);
	return found;
}

int
inspect_nsec3_denial_ok(const struct inspect *p, int nodata)
{
	const ldns_rr_list *auth = ldns_pkt_authority(p->pkt);
	ldns_rr_list *nsec3s = ldns_rr_list_new(), *sigs = ldns_rr_list_new();
	ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(p->pkt), 0);
	int ok = 0;

	if (nsec3s == NULL || sigs == NULL || question == NULL)
		goto out;
	/* shallow lists: the records stay the packet's */
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3)
			ldns_rr_list_push_rr(nsec3s, rr);
		else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG)
			ldns_rr_list_push_rr(sigs, rr);
	}
	LIBRARY_LEAK_BEGIN();
	ok = ldns_dnssec_verify_denial_nsec3(question, nsec3s, sigs, ldns_pkt_get_rcode(p->pkt),
	                                     ldns_rr_get_type(question), nodata) == LDNS_STATUS_OK;
	LIBRARY_LEAK_END();
out:
	ldns_rr_list_free(nsec3s);
	ldns_rr_list_free(sigs);
	return ok;
}
