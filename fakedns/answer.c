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
 *
 * This file assembles the answer: parsing the query, the zone and directives
 * that decide it, following CNAMEs, security, truncation and the log line.
 * The records at a name are in answer_rrset.c, the denial-of-existence
 * proofs in answer_deny.c (shared through answer_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "answer.h"
#include "answer_int.h"

#define CNAME_CHAIN_MAX 8
#define UDP_PLAIN_MAX 512 /* RFC 1035 4.2.1 */

void
answer_result_free(struct answer_result *r)
{
	if (r == NULL)
		return;
	free(r->wire);
	r->wire = NULL;
	r->len = 0;
}

/* A referral to the delegation at `cut`, with its DS or the proof of none. */
MUST_CHECK static int
answer_referral(struct query *q, const struct fd_zone *z, const ldns_rdf *cut)
{
	int saved = q->dnssec_ok;

	ldns_pkt_set_aa(q->resp, false);
	q->dnssec_ok = 0; /* the NS RRset at a cut is not signed */
	if (answer_push_rrset(q, LDNS_SECTION_AUTHORITY, z, cut, LDNS_RR_TYPE_NS, NULL) < 0)
		return -1;
	q->dnssec_ok = saved;
	if (answer_has_type(z, cut, LDNS_RR_TYPE_DS))
		return answer_push_rrset(q, LDNS_SECTION_AUTHORITY, z, cut, LDNS_RR_TYPE_DS, NULL) <
		                       0
		               ? -1
		               : 0;
	return answer_push_denial(q, z, cut, 1); /* no DS: the NSEC(3) at the cut says so */
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

/* One step of the answer: `name` in `z`.  Sets *next to a CNAME target to
 * follow (pointing into z), NULL when done. */
MUST_CHECK static int
answer_step(struct query *q, const struct fd_zone *z, const ldns_rdf *name, ldns_rr_type qtype,
            int hop, const ldns_rdf **next)
{
	const ldns_rdf *cut = answer_find_cut(z, name, qtype), *src = name;
	ldns_rdf *ce = NULL, *wild = NULL;
	int state, n, rc = -1;

	*next = NULL;
	if (cut != NULL) {
		if (hop > 0)
			return 0; /* the resolver follows the chain from here */
		q->what = "referral";
		return answer_referral(q, z, cut);
	}
	state = answer_name_state(z, name);
	if (state == 2)
		return answer_nodata(q, z, name, 1);
	if (state == 0) {
		/* RFC 4592 / RFC 4035 5.3.4: the wildcard at the closest encloser */
		ce = answer_closest_encloser(z, name);
		wild = ce ? answer_wildcard_at(ce) : NULL;
		if (wild == NULL)
			goto out;
		if (answer_name_state(z, wild) != 1) {
			rc = answer_nxdomain(q, z, name, ce);
			goto out;
		}
		src = wild;
		if (note_security(q, z, wild) != 0)
			goto out;
	}
	n = answer_push_rrset(q, LDNS_SECTION_ANSWER, z, src, qtype, src != name ? name : NULL);
	if (n < 0)
		goto out;
	if (n == 0 && qtype != LDNS_RR_TYPE_CNAME && answer_has_type(z, src, LDNS_RR_TYPE_CNAME)) {
		n = answer_push_rrset(q, LDNS_SECTION_ANSWER, z, src, LDNS_RR_TYPE_CNAME,
		                      src != name ? name : NULL);
		if (n < 0)
			goto out;
		*next = answer_cname_target(z, src);
	}
	if (n == 0) {
		if (src == name) {
			rc = answer_nodata(q, z, name, 0);
			goto out;
		}
		q->what = "wildcard nodata";
		rc = answer_wildcard_proof(q, z, name, ce, wild, 1);
		goto out;
	}
	q->what = src != name ? "wildcard" : "data";
	rc = src != name ? answer_wildcard_proof(q, z, name, ce, wild, 0) : 0;
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

		if (note_security(q, z, name) != 0 ||
		    answer_step(q, z, name, qtype, hop, &next) != 0)
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

/* Parse the query, never trusting a byte of it.  1 when `*query` holds one
 * question to answer; 0 when `out` already holds the reply (a header-only
 * error) or the drop; -1 when out of memory. */
MUST_CHECK static int
query_parse(const uint8_t *wire, size_t qlen, ldns_pkt **query, struct answer_result *out)
{
	if (ldns_wire2pkt(query, wire, qlen) != LDNS_STATUS_OK) {
		*query = NULL;
		return raw_error(wire, qlen, LDNS_RCODE_FORMERR, out);
	}
	if (ldns_pkt_qr(*query)) {
		out->drop = 1;
		return 0;
	}
	if (ldns_pkt_get_opcode(*query) != LDNS_PACKET_QUERY)
		return raw_error(wire, qlen, LDNS_RCODE_NOTIMPL, out);
	if (ldns_pkt_qdcount(*query) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(*query)) != 1)
		return raw_error(wire, qlen, LDNS_RCODE_FORMERR, out);
	return 1;
}

/* How a query is answered, decided before any record is looked at. */
enum answer_how {
	ANSWER_FROM_ZONE, /* from the zone's records */
	ANSWER_SEND,      /* q->resp as it is: an rcode and no records */
	ANSWER_SILENCE,   /* no reply at all (out->drop), only the log line */
};

/* Find the zone `qstr` falls in (DS: the parent side of a cut, RFC 4035
 * 3.1.4.1) into *zp, and apply its directives that change how the name is
 * answered: timeout, delay, servfail, refused. */
static enum answer_how
answer_decide(struct query *q, const ldns_pkt *query, const char *qstr, const struct fd_zone **zp,
              struct answer_result *out)
{
	const ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(query), 0);
	const struct fd_zone *z = zoneset_find(q->set, qstr);
	const struct fd_directive *d;

	if (z != NULL && ldns_rr_get_type(question) == LDNS_RR_TYPE_DS && z->parent != NULL &&
	    name_equal(z->name, qstr))
		z = z->parent;
	*zp = z;
	if (z == NULL || ldns_rr_get_class(question) != LDNS_RR_CLASS_IN) {
		ldns_pkt_set_rcode(q->resp, LDNS_RCODE_REFUSED);
		q->what = "refused";
		return ANSWER_SEND;
	}
	if (directives_find(&z->dir, FD_MODE_TIMEOUT, qstr) != NULL) {
		out->drop = 1;
		q->what = "timeout (no answer)";
		return ANSWER_SILENCE;
	}
	if ((d = directives_find(&z->dir, FD_MODE_DELAY, qstr)) != NULL)
		out->delay_ms = d->delay_ms;
	if (directives_find(&z->dir, FD_MODE_SERVFAIL, qstr) != NULL) {
		ldns_pkt_set_rcode(q->resp, LDNS_RCODE_SERVFAIL);
		q->what = "servfail";
		return ANSWER_SEND;
	}
	if (directives_find(&z->dir, FD_MODE_REFUSED, qstr) != NULL) {
		ldns_pkt_set_rcode(q->resp, LDNS_RCODE_REFUSED);
		q->what = "refused";
		return ANSWER_SEND;
	}
	return ANSWER_FROM_ZONE;
}

/* Answer the question from the records of `z`, authoritatively. */
MUST_CHECK static int
answer_records(struct query *q, const ldns_pkt *query, const struct fd_zone *z)
{
	const ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(query), 0);
	ldns_pkt_rcode rcode;

	ldns_pkt_set_aa(q->resp, true);
	if (answer_from_zone(q, z, ldns_rr_owner(question), ldns_rr_get_type(question)) != 0)
		return -1;
	/* --ad (RFC 4035 3.2.3, RFC 6840 5.8): AD only when the client shows it
	 * understands it (DO or AD set) and every zone drawn on is secure */
	rcode = ldns_pkt_get_rcode(q->resp);
	if (q->set->ad && q->security != NULL && strcmp(q->security, "secure") == 0 &&
	    (q->dnssec_ok || ldns_pkt_ad(query)) &&
	    (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN))
		ldns_pkt_set_ad(q->resp, true);
	return 0;
}

/* Encode q->resp into `out` and write the log line.  Over UDP, a reply
 * larger than the client takes, or a name with a truncate directive, is
 * replaced by an empty one with TC. */
MUST_CHECK static int
reply_send(struct query *q, const ldns_pkt *query, const struct fd_zone *z, const char *qstr,
           int over_tcp, struct answer_result *out)
{
	const ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(query), 0);
	ldns_pkt *tc = NULL;
	size_t limit = UDP_PLAIN_MAX;
	int rc = -1;

	if (q->set->ad)
		ldns_pkt_set_ra(q->resp, true);
	if (ldns_pkt2wire(&out->wire, q->resp, &out->len) != LDNS_STATUS_OK) {
		out->wire = NULL;
		return -1;
	}
	if (ldns_pkt_edns(query) && ldns_pkt_edns_udp_size(query) > UDP_PLAIN_MAX)
		limit = ldns_pkt_edns_udp_size(query);
	if (over_tcp || (out->len <= limit &&
	                 (z == NULL || directives_find(&z->dir, FD_MODE_TRUNCATE, qstr) == NULL))) {
		log_line(out, ldns_rr_owner(question), ldns_rr_get_type(question), q->resp,
		         q->security, q->what);
		return 0;
	}
	/* RFC 2181 9 / RFC 7766: an empty TC answer sends the client to TCP */
	tc = reply_new(query);
	if (tc == NULL)
		goto out;
	ldns_pkt_set_aa(tc, ldns_pkt_aa(q->resp));
	ldns_pkt_set_ra(tc, ldns_pkt_ra(q->resp));
	ldns_pkt_set_ad(tc, ldns_pkt_ad(q->resp));
	ldns_pkt_set_rcode(tc, ldns_pkt_get_rcode(q->resp));
	ldns_pkt_set_tc(tc, true);
	free(out->wire);
	out->wire = NULL;
	if (ldns_pkt2wire(&out->wire, tc, &out->len) != LDNS_STATUS_OK) {
		out->wire = NULL;
		goto out;
	}
	q->what = "truncated";
	log_line(out, ldns_rr_owner(question), ldns_rr_get_type(question), tc, q->security,
	         q->what);
	rc = 0;
out:
	ldns_pkt_free(tc);
	return rc;
}

int
answer_query(const struct fd_zoneset *set, const uint8_t *wire, size_t qlen, int over_tcp,
             struct answer_result *out, struct err *e)
{
	ldns_pkt *query = NULL;
	struct query q = { .set = set, .what = "" };
	const struct fd_zone *z = NULL;
	const ldns_rr *question;
	char *qstr = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = query_parse(wire, qlen, &query, out);
	if (rc <= 0)
		goto out;
	rc = -1;
	question = ldns_rr_list_rr(ldns_pkt_question(query), 0);
	q.resp = reply_new(query);
	qstr = name_text(ldns_rr_owner(question));
	if (q.resp == NULL || qstr == NULL)
		goto oom;
	q.dnssec_ok = ldns_pkt_edns_do(query);
	switch (answer_decide(&q, query, qstr, &z, out)) {
	case ANSWER_SILENCE:
		log_line(out, ldns_rr_owner(question), ldns_rr_get_type(question), q.resp,
		         q.security, q.what);
		rc = 0;
		goto out;
	case ANSWER_FROM_ZONE:
		if (answer_records(&q, query, z) != 0)
			goto oom;
		break;
	case ANSWER_SEND:
		break;
	}
	if (reply_send(&q, query, z, qstr, over_tcp, out) != 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	err_set(e, 1, "out of memory");
	answer_result_free(out);
out:
	free(qstr);
	ldns_pkt_free(q.resp);
	ldns_pkt_free(query);
	return rc;
}
