/*
 * answer_deny.c - authenticated denial of existence: NXDOMAIN and NODATA
 * answers with their NSEC (RFC 4035 3.1.3) or NSEC3 (RFC 5155 7.2) proofs,
 * the closest-encloser and next-closer names, and the proofs that go with
 * a wildcard expansion (RFC 4035 3.1.3.3-4).  Part of answer.c's job; see
 * answer_int.h.
 */
#include <ldns/ldns.h>

#include "answer_int.h"

/* The closest encloser of a name that does not exist (RFC 5155 1.3):
 * bounded, one label less each time, and the apex always exists. */
ldns_rdf *
answer_closest_encloser(const struct fd_zone *z, const ldns_rdf *name)
{
	ldns_rdf *ce = ldns_rdf_clone(name);

	while (ce != NULL && answer_name_state(z, ce) == 0 && ldns_dname_label_count(ce) > 0) {
		ldns_rdf *up = ldns_dname_left_chop(ce);

		ldns_rdf_deep_free(ce);
		ce = up;
	}
	return ce;
}

/* "*." + `ce`; NULL when out of memory. */
ldns_rdf *
answer_wildcard_at(const ldns_rdf *ce)
{
	ldns_rdf *wild = ldns_dname_new_frm_str("*");

	if (wild != NULL && ldns_dname_cat(wild, ce) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(wild);
		wild = NULL;
	}
	return wild;
}

/* The next closer name (RFC 5155 1.3): `name` cut to one label below `ce`. */
static ldns_rdf *
next_closer(const ldns_rdf *name, const ldns_rdf *ce)
{
	ldns_rdf *nc = ldns_rdf_clone(name);

	/* bounded by the label count of name */
	while (nc != NULL && ldns_dname_label_count(nc) > ldns_dname_label_count(ce) + 1) {
		ldns_rdf *up = ldns_dname_left_chop(nc);

		ldns_rdf_deep_free(nc);
		nc = up;
	}
	return nc;
}

/* The NSEC (NSEC zones) or NSEC3 (NSEC3 zones) record of the zone that
 * matches `name` (match = 1) or covers it (match = 0).  NSEC3 owner hashes
 * come from ldns, with the zone's own parameters. */
static const ldns_rr *
denial_rr(const struct fd_zone *z, const ldns_rdf *name, int match)
{
	ldns_rr_type type = z->nsec3 ? LDNS_RR_TYPE_NSEC3 : LDNS_RR_TYPE_NSEC;
	ldns_rdf *hashed = NULL;
	const ldns_rr *found = NULL;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs) && found == NULL; i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (ldns_rr_get_type(rr) != type)
			continue;
		if (z->nsec3 && hashed == NULL) {
			hashed = ldns_nsec3_hash_name_frm_nsec3(rr, name);
			if (hashed == NULL || ldns_dname_cat(hashed, z->origin) != LDNS_STATUS_OK)
				break;
		}
		if (match ? answer_owner_is(rr, hashed ? hashed : name)
		          : ldns_nsec_covers_name(rr, hashed ? hashed : name))
			found = rr;
	}
	ldns_rdf_deep_free(hashed);
	return found;
}

int
answer_push_denial(struct query *q, const struct fd_zone *z, const ldns_rdf *name, int match)
{
	const ldns_rr *rr;

	if (!q->dnssec_ok || name == NULL)
		return name == NULL ? -1 : 0;
	rr = denial_rr(z, name, match);
	if (rr == NULL)
		return 0;
	if (answer_push(q, LDNS_SECTION_AUTHORITY, rr) != 0)
		return -1;
	return answer_push_rrset(q, LDNS_SECTION_AUTHORITY, z, ldns_rr_owner(rr),
	                         ldns_rr_get_type(rr), NULL) < 0
	               ? -1
	               : 0;
}

int
answer_push_soa(struct query *q, const struct fd_zone *z)
{
	return answer_push_rrset(q, LDNS_SECTION_AUTHORITY, z, z->origin, LDNS_RR_TYPE_SOA, NULL) <
	                       0
	               ? -1
	               : 0;
}

/* NXDOMAIN (RFC 4035 3.1.3.2; NSEC3: RFC 5155 7.2.2, the closest-encloser
 * proof).  RFC 6604: at the end of a CNAME chain the rcode is the last name's. */
int
answer_nxdomain(struct query *q, const struct fd_zone *z, const ldns_rdf *qname, const ldns_rdf *ce)
{
	ldns_rdf *wild = answer_wildcard_at(ce), *nc = NULL;
	int rc = -1;

	ldns_pkt_set_rcode(q->resp, LDNS_RCODE_NXDOMAIN);
	q->what = "nxdomain";
	if (answer_push_soa(q, z) != 0)
		goto out;
	if (z->nsec3) {
		nc = next_closer(qname, ce);
		if (answer_push_denial(q, z, ce, 1) != 0 || answer_push_denial(q, z, nc, 0) != 0)
			goto out;
	} else if (answer_push_denial(q, z, qname, 0) != 0) {
		goto out;
	}
	if (answer_push_denial(q, z, wild, 0) != 0)
		goto out;
	rc = 0;
out:
	ldns_rdf_deep_free(wild);
	ldns_rdf_deep_free(nc);
	return rc;
}

/* NODATA (RFC 4035 3.1.3.1, RFC 5155 7.2.3); for an empty non-terminal an
 * NSEC zone shows the NSEC whose next name is below qname (RFC 4035 3.1.3.2),
 * an NSEC3 zone the NSEC3 matching it (ldns hashes empty non-terminals too). */
int
answer_nodata(struct query *q, const struct fd_zone *z, const ldns_rdf *qname, int ent)
{
	q->what = "nodata";
	if (answer_push_soa(q, z) != 0)
		return -1;
	return answer_push_denial(q, z, qname, z->nsec3 || !ent);
}

/* The proof that goes with a wildcard expansion of `qname` from `wild`
 * (closest encloser `ce`): the exact name does not exist (RFC 4035 3.1.3.3,
 * RFC 5155 7.2.6), and for NODATA that the wildcard lacks the type too
 * (RFC 4035 3.1.3.4, RFC 5155 7.2.5). */
int
answer_wildcard_proof(struct query *q, const struct fd_zone *z, const ldns_rdf *qname,
                      const ldns_rdf *ce, const ldns_rdf *wild, int nodata)
{
	ldns_rdf *nc;
	int rc;

	if (nodata && (answer_push_soa(q, z) != 0 || answer_push_denial(q, z, wild, 1) != 0))
		return -1;
	if (!z->nsec3)
		return answer_push_denial(q, z, qname, 0);
	nc = next_closer(qname, ce);
	rc = (nodata && answer_push_denial(q, z, ce, 1) != 0) ||
	                     answer_push_denial(q, z, nc, 0) != 0
	             ? -1
	             : 0;
	ldns_rdf_deep_free(nc);
	return rc;
}
