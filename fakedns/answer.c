/*
 * answer.c - authoritative answers from the signed zones (see answer.h).
 *
 * fakedns serves every zone itself, so a query is answered from the deepest
 * zone it falls in, except DS, which comes from the parent (RFC 4035 3.1.4.1).
 * Negative answers carry NSEC proofs (RFC 4035 3.1.3); an empty non-terminal
 * is NODATA, never NXDOMAIN (RFC 8020).  Must never crash on any input.
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

MUST_CHECK static int
push(struct query *q, ldns_pkt_section sec, const ldns_rr *rr)
{
	ldns_rr *copy = ldns_rr_clone(rr);

	if (copy == NULL)
		return -1;
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

static int
owner_is(const ldns_rr *rr, const ldns_rdf *name)
{
	return ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
}

/* The RRset `type` at `name`, with its RRSIGs when DO is set.  Returns the
 * number of records of that type added, -1 on error. */
static int
push_rrset(struct query *q, ldns_pkt_section sec, const struct fd_zone *z,
	   const ldns_rdf *name, ldns_rr_type type)
{
	int n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (!owner_is(rr, name))
			continue;
		if (ldns_rr_get_type(rr) == type) {
			if (push(q, sec, rr) != 0)
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
		    push(q, sec, rr) != 0)
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

/* 1 when `name` owns records, 2 when it is an empty non-terminal, 0 otherwise. */
static int
name_state(const struct fd_zone *z, const ldns_rdf *name)
{
	int below = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		const ldns_rdf *o = ldns_rr_owner(ldns_rr_list_rr(z->rrs, i));

		if (ldns_dname_compare(o, name) == 0)
			return 1;
		if (ldns_dname_is_subdomain(o, name))
			below = 1;
	}
	return below ? 2 : 0;
}

/* The NSEC covering `name` (owner < name < next, RFC 4034 4.1.1). */
static const ldns_rr *
covering_nsec(const struct fd_zone *z, const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC && ldns_nsec_covers_name(rr, name))
			return rr;
	}
	return NULL;
}

MUST_CHECK static int
push_nsec_and_sig(struct query *q, const struct fd_zone *z, const ldns_rr *nsec)
{
	if (nsec == NULL || !q->dnssec_ok)
		return 0;
	if (push(q, LDNS_SECTION_AUTHORITY, nsec) != 0)
		return -1;
	return push_rrset(q, LDNS_SECTION_AUTHORITY, z, ldns_rr_owner(nsec),
			  LDNS_RR_TYPE_NSEC) < 0 ? -1 : 0;
}

MUST_CHECK static int
push_soa(struct query *q, const struct fd_zone *z)
{
	return push_rrset(q, LDNS_SECTION_AUTHORITY, z, z->origin, LDNS_RR_TYPE_SOA) < 0 ? -1 : 0;
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
	if (push_rrset(q, LDNS_SECTION_AUTHORITY, z, cut, LDNS_RR_TYPE_NS) < 0)
		return -1;
	q->dnssec_ok = saved;
	if (has_type(z, cut, LDNS_RR_TYPE_DS))
		return push_rrset(q, LDNS_SECTION_AUTHORITY, z, cut, LDNS_RR_TYPE_DS) < 0 ? -1 : 0;
	return push_rrset(q, LDNS_SECTION_AUTHORITY, z, cut, LDNS_RR_TYPE_NSEC) < 0 ? -1 : 0;
}

MUST_CHECK static int
answer_nxdomain(struct query *q, const struct fd_zone *z, const ldns_rdf *qname)
{
	ldns_rdf *ce = ldns_rdf_clone(qname), *wild = NULL;
	int rc = -1;

	ldns_pkt_set_rcode(q->resp, LDNS_RCODE_NXDOMAIN);
	q->what = "nxdomain";
	if (ce == NULL)
		goto out;
	if (push_soa(q, z) != 0 || push_nsec_and_sig(q, z, covering_nsec(z, qname)) != 0)
		goto out;
	/* the closest encloser, then the proof that no wildcard below it exists;
	 * bounded: one label less each time, and the apex always exists */
	while (name_state(z, ce) == 0 && ldns_dname_label_count(ce) > 0) {
		ldns_rdf *up = ldns_dname_left_chop(ce);

		if (up == NULL)
			goto out;
		ldns_rdf_deep_free(ce);
		ce = up;
	}
	wild = ldns_dname_new_frm_str("*");
	if (wild == NULL || ldns_dname_cat(wild, ce) != LDNS_STATUS_OK)
		goto out;
	if (push_nsec_and_sig(q, z, covering_nsec(z, wild)) != 0)
		goto out;
	rc = 0;
out:
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wild);
	return rc;
}

MUST_CHECK static int
answer_nodata(struct query *q, const struct fd_zone *z, const ldns_rdf *qname, int ent)
{
	const ldns_rr *nsec = NULL;

	q->what = "nodata";
	if (push_soa(q, z) != 0)
		return -1;
	if (!ent) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC && owner_is(rr, qname))
				nsec = rr;
		}
	} else {
		/* RFC 4035 3.1.3.2 / 5.4: the NSEC whose next name is below qname */
		nsec = covering_nsec(z, qname);
	}
	return push_nsec_and_sig(q, z, nsec);
}

/* Answer qname/qtype from z, following CNAMEs within the zone set. */
MUST_CHECK static int
answer_from_zone(struct query *q, const struct fd_zone *z, const ldns_rdf *qname,
		 ldns_rr_type qtype)
{
	const ldns_rdf *name = qname;

	/* bounded CNAME chain (RFC 1034 3.6.2) */
	for (int hop = 0; hop < CNAME_CHAIN_MAX; hop++) {
		const ldns_rdf *cut = find_cut(z, name, qtype);
		int state, n;

		if (cut != NULL) {
			if (hop > 0)
				return 0; /* the resolver follows the chain from here */
			q->what = "referral";
			return answer_referral(q, z, cut);
		}
		state = name_state(z, name);
		if (state == 0)
			return hop > 0 ? 0 : answer_nxdomain(q, z, name);
		if (state == 2)
			return hop > 0 ? 0 : answer_nodata(q, z, name, 1);
		n = push_rrset(q, LDNS_SECTION_ANSWER, z, name, qtype);
		if (n < 0)
			return -1;
		if (n > 0) {
			q->what = "data";
			return 0;
		}
		if (qtype == LDNS_RR_TYPE_CNAME || !has_type(z, name, LDNS_RR_TYPE_CNAME))
			return hop > 0 ? 0 : answer_nodata(q, z, name, 0);
		if (push_rrset(q, LDNS_SECTION_ANSWER, z, name, LDNS_RR_TYPE_CNAME) < 0)
			return -1;
		q->what = "data";
		for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

			if (owner_is(rr, name) && ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME)
				name = ldns_rr_rdf(rr, 0);
		}
		{
			char *target = ldns_rdf2str(name);

			if (target == NULL)
				return -1;
			for (char *p = target; *p; p++)
				*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
			z = zoneset_find(q->set, target);
			free(target);
		}
		if (z == NULL)
			return 0;
	}
	return 0;
}

/* How a validator will judge data from zone z (for the log only). */
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
	security = zone_security(z, qstr);
	if (answer_from_zone(&q, z, qname, qtype) != 0)
		goto oom;
send:
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
