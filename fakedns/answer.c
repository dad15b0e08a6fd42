/*
 * answer.c - authoritative answers from the signed zones (see answer.h).
 *
 * fakedns serves every zone itself, so a query is answered from the deepest
 * zone it falls in, except DS, which comes from the parent (RFC 4035 3.1.4.1).
 * Negative answers carry NSEC proofs (RFC 4035 3.1.3) or NSEC3 proofs
 * (RFC 5155 7.2); an empty non-terminal is NODATA, never NXDOMAIN (RFC 8020).
 * Wildcards expand with the proof that the exact name does not exist
 * (RFC 4592, RFC 4035 5.3.4); CNAME chains are followed into every zone
 * loaded from a file.  Under --ad the answer also carries RA, and AD when
 * every zone it draws on validates.  Must never crash on any input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "answer.h"

#define CNAME_CHAIN_MAX 8
#define UDP_PLAIN_MAX 512 /* RFC 1035 4.2.1 */

struct query {
	const struct fd_zoneset *set;
	ldns_pkt *resp;
	int dnssec_ok;
	const char *what;
	const char *security; /* the worst of every zone drawn on; NULL before any */
};

void
answer_result_free(struct answer_result *r)
{
	if (r == NULL)
		return;
	free(r->wire);
	r->wire = NULL;
	r->len = 0;
}

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

MUST_CHECK static int
push(struct query *q, ldns_pkt_section sec, const ldns_rr *rr)
{
	return push_as(q, sec, rr, NULL);
}

static int
owner_is(const ldns_rr *rr, const ldns_rdf *name)
{
	return ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
}

/* The RRset `type` at `name`, with its RRSIGs when DO is set, owned by `as`
 * when not NULL.  Returns the number of records of that type added, -1 on error. */
static int
push_rrset(struct query *q, ldns_pkt_section sec, const struct fd_zone *z,
	   const ldns_rdf *name, ldns_rr_type type, const ldns_rdf *as)
{
	int n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (!owner_is(rr, name))
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

		if (owner_is(rr, name) && ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
		    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type &&
		    push_as(q, sec, rr, as) != 0)
			return -1;
	}
	return n;
}

static int
has_type(const struct fd_zone *z, const ldns_rdf *name, ldns_rr_type type)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (owner_is(rr, name) && ldns_rr_get_type(rr) == type)
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
static int
name_state(const struct fd_zone *z, const ldns_rdf *name)
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

/* The closest encloser of a name that does not exist (RFC 5155 1.3):
 * bounded, one label less each time, and the apex always exists. */
static ldns_rdf *
closest_encloser(const struct fd_zone *z, const ldns_rdf *name)
{
	ldns_rdf *ce = ldns_rdf_clone(name);

	while (ce != NULL && name_state(z, ce) == 0 && ldns_dname_label_count(ce) > 0) {
		ldns_rdf *up = ldns_dname_left_chop(ce);

		ldns_rdf_deep_free(ce);
		ce = up;
	}
	return ce;
}

/* "*." + `ce`; NULL when out of memory. */
static ldns_rdf *
wildcard_at(const ldns_rdf *ce)
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
		if (match ? owner_is(rr, hashed ? hashed : name)
			  : ldns_nsec_covers_name(rr, hashed ? hashed : name))
			found = rr;
	}
	ldns_rdf_deep_free(hashed);
	return found;
}

MUST_CHECK static int
push_denial(struct query *q, const struct fd_zone *z, const ldns_rdf *name, int match)
{
	const ldns_rr *rr;

	if (!q->dnssec_ok || name == NULL)
		return name == NULL ? -1 : 0;
	rr = denial_rr(z, name, match);
	if (rr == NULL)
		return 0;
	if (push(q, LDNS_SECTION_AUTHORITY, rr) != 0)
		return -1;
	return push_rrset(q, LDNS_SECTION_AUTHORITY, z, ldns_rr_owner(rr), ldns_rr_get_type(rr),
			  NULL) < 0 ? -1 : 0;
}

MUST_CHECK static int
push_soa(struct query *q, const struct fd_zone *z)
{
	return push_rrset(q, LDNS_SECTION_AUTHORITY, z, z->origin, LDNS_RR_TYPE_SOA, NULL) < 0 ? -1
												: 0;
}

/* The topmost delegation in `z` at or above `qname` (not the apex); NULL if none.
 * A DS query at the cut itself belongs to this side (RFC 4035 3.1.4.1). */
static const ldns_rdf *
find_cut(const struct fd_zone *z, const ldns_rdf *qname, ldns_rr_type qtype)
{
	const ldns_rdf *best = NULL;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		const ldns_rdf *o = ldns_rr_owner(rr);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || ldns_dname_compare(o, z->origin) == 0)
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

MUST_CHECK static int
answer_referral(struct query *q, const struct fd_zone *z, const ldns_rdf *cut)
{
	int saved = q->dnssec_ok;

	ldns_pkt_set_aa(q->resp, false);
	q->dnssec_ok = 0; /* the NS RRset at a cut is not signed */
	if (push_rrset(q, LDNS_SECTION_AUTHORITY, z, cut, LDNS_RR_TYPE_NS, NULL) < 0)
		return -1;
	q->dnssec_ok = saved;
	if (has_type(z, cut, LDNS_RR_TYPE_DS))
		return push_rrset(q, LDNS_SECTION_AUTHORITY, z, cut, LDNS_RR_TYPE_DS, NULL) < 0 ? -1
												 : 0;
	return push_denial(q, z, cut, 1); /* no DS: the NSEC(3) at the cut says so */
}

/* NXDOMAIN (RFC 4035 3.1.3.2; NSEC3: RFC 5155 7.2.2, the closest-encloser
 * proof).  RFC 6604: at the end of a CNAME chain the rcode is the last name's. */
MUST_CHECK static int
answer_nxdomain(struct query *q, const struct fd_zone *z, const ldns_rdf *qname,
		const ldns_rdf *ce)
{
	ldns_rdf *wild = wildcard_at(ce), *nc = NULL;
	int rc = -1;

	ldns_pkt_set_rcode(q->resp, LDNS_RCODE_NXDOMAIN);
	q->what = "nxdomain";
	if (push_soa(q, z) != 0)
		goto out;
	if (z->nsec3) {
		nc = next_closer(qname, ce);
		if (push_denial(q, z, ce, 1) != 0 || push_denial(q, z, nc, 0) != 0)
			goto out;
	} else if (push_denial(q, z, qname, 0) != 0) {
		goto out;
	}
	if (push_denial(q, z, wild, 0) != 0)
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
MUST_CHECK static int
answer_nodata(struct query *q, const struct fd_zone *z, const ldns_rdf *qname, int ent)
{
	q->what = "nodata";
	if (push_soa(q, z) != 0)
		return -1;
	return push_denial(q, z, qname, z->nsec3 || !ent);
}

/* The proof that goes with a wildcard expansion of `qname` from `wild`
 * (closest encloser `ce`): the exact name does not exist (RFC 4035 3.1.3.3,
 * RFC 5155 7.2.6), and for NODATA that the wildcard lacks the type too
 * (RFC 4035 3.1.3.4, RFC 5155 7.2.5). */
MUST_CHECK static int
wildcard_proof(struct query *q, const struct fd_zone *z, const ldns_rdf *qname,
	       const ldns_rdf *ce, const ldns_rdf *wild, int nodata)
{
	ldns_rdf *nc;
	int rc;

	if (nodata && (push_soa(q, z) != 0 || push_denial(q, z, wild, 1) != 0))
		return -1;
	if (!z->nsec3)
		return push_denial(q, z, qname, 0);
	nc = next_closer(qname, ce);
	rc = (nodata && push_denial(q, z, ce, 1) != 0) || push_denial(q, z, nc, 0) != 0 ? -1 : 0;
	ldns_rdf_deep_free(nc);
	return rc;
}

/* A name as lower-case text; NULL when out of memory.  Caller frees. */
static char *
name_text(const ldns_rdf *name)
{
	char *s = ldns_rdf2str(name);

	for (char *p = s; p != NULL && *p; p++)
		*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	return s;
}

static const char *zone_security(const struct fd_zone *z, const char *qname);

/* Fold what a validator will think of `name` in `z` into q->security
 * (the worst of every zone the answer draws on). */
MUST_CHECK static int
note_security(struct query *q, const struct fd_zone *z, const ldns_rdf *name)
{
	char *text = name_text(name);
	const char *s;

	if (text == NULL)
		return -1;
	s = zone_security(z, text);
	free(text);
	if (q->security == NULL || strcmp(s, "bogus") == 0 ||
	    (strcmp(s, "insecure") == 0 && strcmp(q->security, "secure") == 0))
		q->security = s;
	return 0;
}

/* The CNAME target of `owner` in z (NULL when none). */
static const ldns_rdf *
cname_target(const struct fd_zone *z, const ldns_rdf *owner)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (owner_is(rr, owner) && ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME)
			return ldns_rr_rdf(rr, 0);
	}
	return NULL;
}

/* One step of the answer: `name` in `z`.  Sets *next to a CNAME target to
 * follow (pointing into z), NULL when done. */
MUST_CHECK static int
answer_step(struct query *q, const struct fd_zone *z, const ldns_rdf *name, ldns_rr_type qtype,
	    int hop, const ldns_rdf **next)
{
	const ldns_rdf *cut = find_cut(z, name, qtype), *src = name;
	ldns_rdf *ce = NULL, *wild = NULL;
	int state, n, rc = -1;

	*next = NULL;
	if (cut != NULL) {
		if (hop > 0)
			return 0; /* the resolver follows the chain from here */
		q->what = "referral";
		return answer_referral(q, z, cut);
	}
	state = name_state(z, name);
	if (state == 2)
		return answer_nodata(q, z, name, 1);
	if (state == 0) {
		/* RFC 4592 / RFC 4035 5.3.4: the wildcard at the closest encloser */
		ce = closest_encloser(z, name);
		wild = ce ? wildcard_at(ce) : NULL;
		if (wild == NULL)
			goto out;
		if (name_state(z, wild) != 1) {
			rc = answer_nxdomain(q, z, name, ce);
			goto out;
		}
		src = wild;
		if (note_security(q, z, wild) != 0)
			goto out;
	}
	n = push_rrset(q, LDNS_SECTION_ANSWER, z, src, qtype, src != name ? name : NULL);
	if (n < 0)
		goto out;
	if (n == 0 && qtype != LDNS_RR_TYPE_CNAME && has_type(z, src, LDNS_RR_TYPE_CNAME)) {
		n = push_rrset(q, LDNS_SECTION_ANSWER, z, src, LDNS_RR_TYPE_CNAME,
			       src != name ? name : NULL);
		if (n < 0)
			goto out;
		*next = cname_target(z, src);
	}
	if (n == 0) {
		if (src == name) {
			rc = answer_nodata(q, z, name, 0);
			goto out;
		}
		q->what = "wildcard nodata";
		rc = wildcard_proof(q, z, name, ce, wild, 1);
		goto out;
	}
	q->what = src != name ? "wildcard" : "data";
	rc = src != name ? wildcard_proof(q, z, name, ce, wild, 0) : 0;
out:
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wild);
	return rc;
}

/* 1 when a directive changes how `name` in z is answered (not what): a
 * chain reaching it stops, so the resolver meets the failure itself. */
static int
answer_mode(const struct fd_zone *z, const char *name)
{
	static const enum fd_mode modes[] = { FD_MODE_SERVFAIL, FD_MODE_REFUSED, FD_MODE_TIMEOUT,
					      FD_MODE_DELAY, FD_MODE_TRUNCATE };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (directives_find(&z->dir, modes[i], name) != NULL)
			return 1;
	return 0;
}

/* Answer qname/qtype from z, following CNAMEs (RFC 1034 3.6.2, bounded)
 * into every zone loaded from a file; a chain that leaves them (into a
 * synthesised zone, or a delegation), or reaches a name with a servfail,
 * refused, timeout, delay or truncate directive, stops at the CNAME for
 * the resolver to follow. */
MUST_CHECK static int
answer_from_zone(struct query *q, const struct fd_zone *z, const ldns_rdf *qname,
		 ldns_rr_type qtype)
{
	const ldns_rdf *name = qname, *next;

	for (int hop = 0; hop < CNAME_CHAIN_MAX; hop++) {
		char *target;
		int stop;

		if (note_security(q, z, name) != 0 || answer_step(q, z, name, qtype, hop, &next) != 0)
			return -1;
		if (next == NULL)
			return 0;
		target = name_text(next);
		if (target == NULL)
			return -1;
		z = zoneset_find(q->set, target);
		stop = z == NULL || z->file[0] == '\0' || answer_mode(z, target);
		free(target);
		if (stop)
			return 0;
		name = next;
		/* a CNAME loop ends here: the same name again adds nothing */
		if (ldns_dname_compare(name, qname) == 0)
			return 0;
	}
	return 0;
}

/* How a validator will judge data from zone z (the log, and AD under --ad). */
static const char *
zone_security(const struct fd_zone *z, const char *qname)
{
	static const enum fd_mode bad[] = { FD_MODE_EXPIRED, FD_MODE_NOT_YET_VALID,
					    FD_MODE_MISSING_DNSKEY, FD_MODE_WRONG_DS };

	if (directives_find(&z->dir, FD_MODE_BOGUS, qname) != NULL)
		return "bogus";
	/* bounded by the depth of the tree */
	for (const struct fd_zone *p = z; p != NULL; p = p->parent) {
		if (directives_find(&p->dir, FD_MODE_INSECURE, NULL) != NULL)
			return "insecure";
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (directives_find(&p->dir, bad[i], NULL) != NULL)
				return "bogus";
		if (p != z && directives_find(&p->dir, FD_MODE_BOGUS, NULL) != NULL)
			return "bogus";
	}
	return "secure";
}

/* A header-only reply echoing the query's id and opcode (for unparsable queries). */
MUST_CHECK static int
raw_error(const uint8_t *q, size_t qlen, uint8_t rcode, struct answer_result *out)
{
	if (qlen < LDNS_HEADER_SIZE || (q[2] & 0x80) != 0) {
		out->drop = 1; /* no header, or a response: never answer those */
		return 0;
	}
	out->wire = calloc(1, LDNS_HEADER_SIZE);
	if (out->wire == NULL)
		return -1;
	out->wire[0] = q[0];
	out->wire[1] = q[1];
	out->wire[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
	out->wire[3] = rcode;
	out->len = LDNS_HEADER_SIZE;
	return 0;
}

static ldns_pkt *
reply_new(const ldns_pkt *query)
{
	ldns_pkt *r = ldns_pkt_new();
	ldns_rr *question;

	if (r == NULL)
		return NULL;
	ldns_pkt_set_id(r, ldns_pkt_id(query));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(r, ldns_pkt_rd(query));
	ldns_pkt_set_cd(r, ldns_pkt_cd(query));
	question = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(query), 0));
	if (question == NULL || !ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, question)) {
		ldns_rr_free(question);
		ldns_pkt_free(r);
		return NULL;
	}
	if (ldns_pkt_edns(query)) {
		/* RFC 6891 6.2.3: below 512 is treated as 512 */
		uint16_t size = ldns_pkt_edns_udp_size(query);

		ldns_pkt_set_edns_udp_size(r, size < UDP_PLAIN_MAX ? UDP_PLAIN_MAX : size);
		ldns_pkt_set_edns_do(r, ldns_pkt_edns_do(query));
	}
	return r;
}

static void
log_line(struct answer_result *out, const ldns_rdf *qname, ldns_rr_type qtype, const ldns_pkt *r,
	 const char *security, const char *what)
{
	char *name = ldns_rdf2str(qname), *type = ldns_rr_type2str(qtype);
	ldns_lookup_table *rc = ldns_lookup_by_id(ldns_rcodes, (int)ldns_pkt_get_rcode(r));

	snprintf(out->log, sizeof(out->log), "%s %s -> %s %u %s%s%s", name ? name : "?",
		 type ? type : "?", rc ? rc->name : "?", (unsigned)ldns_pkt_ancount(r),
		 security ? security : "", security ? " " : "", what);
	free(name);
	free(type);
}

int
answer_query(const struct fd_zoneset *set, const uint8_t *wire, size_t qlen, int over_tcp,
	     struct answer_result *out, struct err *e)
{
	ldns_pkt *query = NULL, *tc = NULL;
	struct query q = { .set = set, .what = "" };
	const struct fd_zone *z;
	const struct fd_directive *d;
	const ldns_rdf *qname;
	ldns_rr_type qtype;
	char *qstr = NULL;
	const char *security = NULL;
	size_t limit;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (ldns_wire2pkt(&query, wire, qlen) != LDNS_STATUS_OK) {
		query = NULL;
		rc = raw_error(wire, qlen, LDNS_RCODE_FORMERR, out);
		goto out;
	}
	if (ldns_pkt_qr(query)) {
		out->drop = 1;
		rc = 0;
		goto out;
	}
	if (ldns_pkt_get_opcode(query) != LDNS_PACKET_QUERY) {
		rc = raw_error(wire, qlen, LDNS_RCODE_NOTIMPL, out);
		goto out;
	}
	if (ldns_pkt_qdcount(query) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(query)) != 1) {
		rc = raw_error(wire, qlen, LDNS_RCODE_FORMERR, out);
		goto out;
	}
	qname = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(query), 0));
	qtype = ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(query), 0));
	q.resp = reply_new(query);
	qstr = ldns_rdf2str(qname);
	if (q.resp == NULL || qstr == NULL)
		goto oom;
	for (char *p = qstr; *p; p++)
		*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	q.dnssec_ok = ldns_pkt_edns_do(query);
	z = zoneset_find(set, qstr);
	if (z != NULL && qtype == LDNS_RR_TYPE_DS && z->parent != NULL && name_equal(z->name, qstr))
		z = z->parent;
	if (z == NULL || ldns_rr_get_class(ldns_rr_list_rr(ldns_pkt_question(query), 0)) !=
				 LDNS_RR_CLASS_IN) {
		ldns_pkt_set_rcode(q.resp, LDNS_RCODE_REFUSED);
		q.what = "refused";
		goto send;
	}
	if (directives_find(&z->dir, FD_MODE_TIMEOUT, qstr) != NULL) {
		out->drop = 1;
		q.what = "timeout (no answer)";
		goto log;
	}
	if ((d = directives_find(&z->dir, FD_MODE_DELAY, qstr)) != NULL)
		out->delay_ms = d->delay_ms;
	if (directives_find(&z->dir, FD_MODE_SERVFAIL, qstr) != NULL) {
		ldns_pkt_set_rcode(q.resp, LDNS_RCODE_SERVFAIL);
		q.what = "servfail";
		goto send;
	}
	if (directives_find(&z->dir, FD_MODE_REFUSED, qstr) != NULL) {
		ldns_pkt_set_rcode(q.resp, LDNS_RCODE_REFUSED);
		q.what = "refused";
		goto send;
	}
	ldns_pkt_set_aa(q.resp, true);
	if (answer_from_zone(&q, z, qname, qtype) != 0)
		goto oom;
	security = q.security;
	/* --ad (RFC 4035 3.2.3, RFC 6840 5.8): AD only when the client shows it
	 * understands it (DO or AD set) and every zone drawn on is secure */
	if (set->ad && security != NULL && strcmp(security, "secure") == 0 &&
	    (q.dnssec_ok || ldns_pkt_ad(query)) &&
	    (ldns_pkt_get_rcode(q.resp) == LDNS_RCODE_NOERROR ||
	     ldns_pkt_get_rcode(q.resp) == LDNS_RCODE_NXDOMAIN))
		ldns_pkt_set_ad(q.resp, true);
send:
	if (set->ad)
		ldns_pkt_set_ra(q.resp, true);
	if (ldns_pkt2wire(&out->wire, q.resp, &out->len) != LDNS_STATUS_OK) {
		out->wire = NULL;
		goto oom;
	}
	limit = UDP_PLAIN_MAX;
	if (ldns_pkt_edns(query) && ldns_pkt_edns_udp_size(query) > UDP_PLAIN_MAX)
		limit = ldns_pkt_edns_udp_size(query);
	if (!over_tcp && (out->len > limit ||
			  (z != NULL && directives_find(&z->dir, FD_MODE_TRUNCATE, qstr) != NULL))) {
		/* RFC 2181 9 / RFC 7766: an empty TC answer sends the client to TCP */
		tc = reply_new(query);
		if (tc == NULL)
			goto oom;
		ldns_pkt_set_aa(tc, ldns_pkt_aa(q.resp));
		ldns_pkt_set_ra(tc, ldns_pkt_ra(q.resp));
		ldns_pkt_set_ad(tc, ldns_pkt_ad(q.resp));
		ldns_pkt_set_rcode(tc, ldns_pkt_get_rcode(q.resp));
		ldns_pkt_set_tc(tc, true);
		free(out->wire);
		out->wire = NULL;
		if (ldns_pkt2wire(&out->wire, tc, &out->len) != LDNS_STATUS_OK) {
			out->wire = NULL;
			goto oom;
		}
		q.what = "truncated";
		log_line(out, qname, qtype, tc, security, q.what);
		rc = 0;
		goto out;
	}
log:
	log_line(out, qname, qtype, q.resp, security, q.what);
	rc = 0;
	goto out;
oom:
	err_set(e, 1, "out of memory");
	answer_result_free(out);
out:
	free(qstr);
	ldns_pkt_free(tc);
	ldns_pkt_free(q.resp);
	ldns_pkt_free(query);
	return rc;
}
