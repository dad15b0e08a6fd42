/*
 * answer_int.h - what the files of fakedns's answerer share: the response
 * being built for one query, and the steps answer_rrset.c (records at a
 * name) and answer_deny.c (denial of existence) provide to answer.c.  Only
 * fakedns/answer*.c include it (ci/layering.txt); callers use answer.h.
 *
 * Names are borrowed; a returned ldns_rdf * that is not const is the
 * caller's (free with ldns_rdf_deep_free()).  An int result is 0 or -1
 * (out of memory) unless said otherwise.
 */
#ifndef FAKEDNS_ANSWER_INT_H
#define FAKEDNS_ANSWER_INT_H

#include <ldns/ldns.h>

#include "answer.h"
#include "zone.h"

/* The response to one query as it is built. */
struct query {
	const struct fd_zoneset *set;
	ldns_pkt *resp; /* owned by answer_query() */
	int dnssec_ok;
	const char *what;     /* what the answer is, for the log line */
	const char *security; /* the worst of every zone drawn on; NULL before any */
};

/* answer_rrset.c */
/* Add a copy of `rr` to section `sec` (once, however often it is asked). */
MUST_CHECK int answer_push(struct query *q, ldns_pkt_section sec, const ldns_rr *rr);
/* 1 when `rr` is owned by `name`. */
int answer_owner_is(const ldns_rr *rr, const ldns_rdf *name);
/* The RRset `type` at `name`, with its RRSIGs when DO is set, owned by `as`
   when not NULL (a wildcard expansion).  The number of records of that type
   added, -1 on error. */
MUST_CHECK int answer_push_rrset(struct query *q, ldns_pkt_section sec, const struct fd_zone *z,
                                 const ldns_rdf *name, ldns_rr_type type, const ldns_rdf *as);
/* 1 when `name` has a record of `type` in `z`. */
int answer_has_type(const struct fd_zone *z, const ldns_rdf *name, ldns_rr_type type);
/* 1 when `name` owns records, 2 when it is an empty non-terminal, 0 otherwise. */
int answer_name_state(const struct fd_zone *z, const ldns_rdf *name);
/* The topmost delegation in `z` at or above `qname` (not the apex); NULL if none. */
const ldns_rdf *answer_find_cut(const struct fd_zone *z, const ldns_rdf *qname, ldns_rr_type qtype);
/* The CNAME target of `owner` in `z` (pointing into z); NULL when none. */
const ldns_rdf *answer_cname_target(const struct fd_zone *z, const ldns_rdf *owner);

/* answer_deny.c */
/* The closest encloser of a name that does not exist (RFC 5155 1.3). */
ldns_rdf *answer_closest_encloser(const struct fd_zone *z, const ldns_rdf *name);
/* "*." + `ce`; NULL when out of memory. */
ldns_rdf *answer_wildcard_at(const ldns_rdf *ce);
/* Under DO, the NSEC or NSEC3 record matching (`match`) or covering `name`,
   with its RRSIGs, in the authority section.  -1 also when `name` is NULL. */
MUST_CHECK int answer_push_denial(struct query *q, const struct fd_zone *z, const ldns_rdf *name,
                                  int match);
/* The zone's SOA (and RRSIGs) in the authority section. */
MUST_CHECK int answer_push_soa(struct query *q, const struct fd_zone *z);
/* NXDOMAIN for `qname`, closest encloser `ce`, with its proofs. */
MUST_CHECK int answer_nxdomain(struct query *q, const struct fd_zone *z, const ldns_rdf *qname,
                               const ldns_rdf *ce);
/* NODATA for `qname` (`ent`: an empty non-terminal), with its proof. */
MUST_CHECK int answer_nodata(struct query *q, const struct fd_zone *z, const ldns_rdf *qname,
                             int ent);
/* The proofs that go with a wildcard expansion of `qname` from `wild`
   (closest encloser `ce`); `nodata` when the wildcard lacks the type. */
MUST_CHECK int answer_wildcard_proof(struct query *q, const struct fd_zone *z,
                                     const ldns_rdf *qname, const ldns_rdf *ce,
                                     const ldns_rdf *wild, int nodata);

#endif
