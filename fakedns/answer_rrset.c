/*
 * answer_rrset.c - what a zone holds at a name, and copying it into the
 * response: one record, an RRset with its RRSIGs (RFC 4035 3.1.1), whether a
 * name exists or is an empty non-terminal (RFC 8020), CNAME targets and
 * delegation points (RFC 4035 3.1.4.1).  Part of answer.c's job; see
 * answer_int.h.
 */
#include <ldns/ldns.h>

#include "answer_int.h"

/* Add a copy of rr to section sec, with owner `as` when not NULL (a
 * wildcard expansion: RRSIGs keep their labels field, RFC 4035 5.3.4). */
MUST_CHECK static int
push_as(struct query *q, ldns_pkt_section sec, const ldns_rr *rr, const ldns_rdf *as)
{
	ldns_rr *copy = ldns_rr_clone(rr);

	if (copy == NULL)
		return -1;
	if (as != NULL) {
		ldns_rdf *owner = ldns_rdf_clone(as);

		if (owner == NULL) {
			ldns_rr_free(copy);
			return -1;
		}
		ldns_rdf_deep_free(ldns_rr_owner(copy));
		ldns_rr_set_owner(copy, owner);
	}
	/* the same record twice (one NSEC proving two things) is sent once */
	if (ldns_pkt_rr(q->resp, sec, copy)) {
		ldns_rr_free(copy);
		return 0;
	}
	if (!ldns_pkt_push_rr(q->resp, sec, copy)) {
		ldns_rr_free(copy);
		return -1;
	}
	return 0;
}

int
answer_push(struct query *q, ldns_pkt_section sec, const ldns_rr *rr)
{
	return push_as(q, sec, rr, NULL);
}

int
answer_owner_is(const ldns_rr *rr, const ldns_rdf *name)
{
	return ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
}

/* The RRset `type` at `name`, with its RRSIGs when DO is set, owned by `as`
 * when not NULL.  Returns the number of records of that type added, -1 on error. */
int
answer_push_rrset(struct query *q, ldns_pkt_section sec, const struct fd_zone *z,
                  const ldns_rdf *name, ldns_rr_type type, const ldns_rdf *as)
{
	int n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (!answer_owner_is(rr, name))
			continue;
		if (ldns_rr_get_type(rr) == type) {
			if (push_as(q, sec, rr, as) != 0)
				return -1;
			n++;
		}
	}
	if (n == 0 || !q->dnssec_ok)
		return n;
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (answer_owner_is(rr, name) && ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
		    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type &&
		    push_as(q, sec, rr, as) != 0)
			return -1;
	}
	return n;
}

int
answer_has_type(const struct fd_zone *z, const ldns_rdf *name, ldns_rr_type type)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (answer_owner_is(rr, name) && ldns_rr_get_type(rr) == type)
			return 1;
	}
	return 0;
}

/* NSEC3 records and their signatures live at hashed names that do not
 * exist as far as lookups go (RFC 5155 7.2.8). */
static int
is_nsec3_data(const ldns_rr *rr)
{
	ldns_rr_type t = ldns_rr_get_type(rr);

	if (t == LDNS_RR_TYPE_NSEC3)
		return 1;
	return t == LDNS_RR_TYPE_RRSIG &&
	       ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == LDNS_RR_TYPE_NSEC3;
}

/* 1 when `name` owns records, 2 when it is an empty non-terminal, 0 otherwise. */
int
answer_name_state(const struct fd_zone *z, const ldns_rdf *name)
{
	int below = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		const ldns_rdf *o = ldns_rr_owner(rr);

		if (is_nsec3_data(rr))
			continue;
		if (ldns_dname_compare(o, name) == 0)
			return 1;
		if (ldns_dname_is_subdomain(o, name))
			below = 1;
	}
	return below ? 2 : 0;
}

/* The topmost delegation in `z` at or above `qname` (not the apex); NULL if none.
 * A DS query at the cut itself belongs to this side (RFC 4035 3.1.4.1). */
const ldns_rdf *
answer_find_cut(const struct fd_zone *z, const ldns_rdf *qname, ldns_rr_type qtype)
{
	const ldns_rdf *best = NULL;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		const ldns_rdf *o = ldns_rr_owner(rr);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
		    ldns_dname_compare(o, z->origin) == 0)
			continue;
		if (ldns_dname_compare(o, qname) == 0) {
			if (qtype == LDNS_RR_TYPE_DS)
				continue;
		} else if (!ldns_dname_is_subdomain(qname, o)) {
			continue;
		}
		if (best == NULL || ldns_dname_label_count(o) < ldns_dname_label_count(best))
			best = o;
	}
	return best;
}

/* The CNAME target of `owner` in z (NULL when none). */
const ldns_rdf *
answer_cname_target(const struct fd_zone *z, const ldns_rdf *owner)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (answer_owner_is(rr, owner) && ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME)
			return ldns_rr_rdf(rr, 0);
	}
	return NULL;
}
