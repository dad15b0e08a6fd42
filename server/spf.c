/*
 * spf.c - SPF (RFC 7208) check_host() through libspf2, the only file that
 * includes it (ci/layering.txt).  libspf2 parses and interprets records;
 * every DNS query it makes is answered by a DNS layer of ours
 * (SPF_dns_server_t with our own lookup function) over lib/resolver, so
 * fakedns answers in tests and libspf2's res_query layer is never used.
 *
 * Where libspf2 falls short of RFC 7208 this file makes up for it
 * (docs/spf.md, "libspf2 deviations"): the void-lookup limit (4.6.4) is
 * counted here; its "(invalid)" result is mapped to temperror or
 * permerror; its default explanation is replaced.  It must never let a DNS
 * failure read as "none" or "fail".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/nameser.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "buf.h"
#include "resolver.h"
#include "spf.h"
#include "spf_int.h"

/* RFC 7208 4.6.4 */
#define SPF_RFC_MAX_DNS_MECH 10
#define SPF_RFC_MAX_VOID 2

/* The default explanation (RFC 7208 6.2 leaves it to the receiver); libspf2's
 * names a web site that no longer exists. */
#define SPF_DEFAULT_EXPLANATION "%{d} does not designate %{i} as permitted sender"

struct spf_checker {
	SPF_server_t *server;
	SPF_dns_server_t dns; /* our layer; dns.hook points back here */
	struct resolver *resolver;
	char *guess;
	unsigned max_void;
	/* per check */
	unsigned lookups;        /* DNS queries made by this check */
	unsigned voids;          /* RFC 7208 4.6.4 void lookups by this check's terms */
	int void_exceeded;       /* the void limit was passed: the result is permerror */
	int bad_target;          /* a term's domain-spec broke RFC 7208 7.1: permerror */
	int dns_failed;          /* some query got a temporary failure */
	SPF_request_t *req;      /* the check being made, for the explanation's macros */
	const char *exp_default; /* the default explanation (macro-string) */
	int in_exp;              /* looking up exp=: not a term, no void counted */
	char *exp_text;          /* what dns_get_exp gave this check (exp= or the default) */
	char ptr_names[10][256]; /* the last PTR answer: names being validated */
	size_t nptr;
	int client_v6; /* the client is IPv6 (spf_record_normalize's CIDR 0 rules) */
};

/* ---- the DNS layer ------------------------------------------------------------------ */

static int
dns_type_map(ns_type t, enum resolver_type *out)
{
	switch (t) {
	case ns_t_a:
		*out = RESOLVER_A;
		return 0;
	case ns_t_aaaa:
		*out = RESOLVER_AAAA;
		return 0;
	case ns_t_mx:
		*out = RESOLVER_MX;
		return 0;
	case ns_t_txt:
		*out = RESOLVER_TXT;
		return 0;
	case ns_t_ptr:
		*out = RESOLVER_PTR;
		return 0;
	default:
		return -1;
	}
}

/* Copy one record of `a` into rr->rr[i]; -1 on failure. */
static int
dns_rr_fill(SPF_dns_rr_t *rr, int i, const struct resolver_rr *src, int client_v6)
{
	char norm[4096];
	const char *text = NULL;
	size_t len = 0;

	switch (src->type) {
	case RESOLVER_A:
		if (SPF_dns_rr_buf_realloc(rr, i, sizeof(struct in_addr)) != SPF_E_SUCCESS)
			return -1;
		return inet_pton(AF_INET, src->u.addr, &rr->rr[i]->a) == 1 ? 0 : -1;
	case RESOLVER_AAAA:
		if (SPF_dns_rr_buf_realloc(rr, i, sizeof(struct in6_addr)) != SPF_E_SUCCESS)
			return -1;
		return inet_pton(AF_INET6, src->u.addr, &rr->rr[i]->aaaa) == 1 ? 0 : -1;
	case RESOLVER_MX:
		text = src->u.mx.exchange;
		break;
	case RESOLVER_PTR:
		text = src->u.name;
		break;
	case RESOLVER_TXT:
		text = src->u.txt.text;
		break;
	default:
		return -1;
	}
	/* A TXT SPF record, already checked (spf_record_lint), goes to libspf2
	 * with its modifiers where libspf2 accepts them (docs/spf.md). */
	if (src->type == RESOLVER_TXT && spf_record_lint(text, src->u.txt.len) &&
	    spf_record_normalize(text, norm, sizeof norm, client_v6) == 0)
		text = norm;
	len = strlen(text) + 1;
	if (SPF_dns_rr_buf_realloc(rr, i, len) != SPF_E_SUCCESS)
		return -1;
	memcpy(rr->rr[i]->txt, text, len); /* ptr, mx and txt share the union */
	return 0;
}

/*
 * RFC 7208 4.6.4: a term's query answered with no records (NODATA or
 * NXDOMAIN) is a void lookup.  The first TXT query of a check is the
 * record lookup (not a term), and so are the queries made after the result
 * is known (exp=): only A, AAAA, MX, PTR and include/redirect TXT count.
 */
/* Is `name` one of the names the last PTR answer gave? */
static int
spf_ptr_name(const struct spf_checker *c, const char *name)
{
	for (size_t i = 0; i < c->nptr; i++)
		if (strcasecmp(c->ptr_names[i], name) == 0)
			return 1;
	return 0;
}

static void
dns_count_void(struct spf_checker *c, ns_type t, const char *name, int is_void)
{
	if (!is_void || c->in_exp || (t == ns_t_txt && c->lookups == 1))
		return;
	/* The address lookups that validate a ptr answer's names belong to
	 * the ptr term, whose name list RFC 7208 5.5 cuts at 10 itself. */
	if ((t == ns_t_a || t == ns_t_aaaa) && spf_ptr_name(c, name))
		return;
	if (++c->voids > c->max_void)
		c->void_exceeded = 1;
}

/* libspf2's SPF_dns_lookup_t: one query through the resolver. */
static SPF_dns_rr_t *
dns_lookup(SPF_dns_server_t *layer, const char *domain, ns_type t, int should_cache)
{
	struct spf_checker *c = layer->hook;
	struct resolver_answer a = { 0 };
	struct err e = { 0 };
	enum resolver_type rt;
	char name[1100];
	SPF_dns_rr_t *rr;
	SPF_dns_stat_t st;
	int n = 0;

	(void)should_cache;
	c->lookups++;
	/* RFC 7208 4.8, 7.3: a name longer than 253 octets loses labels on
	 * the left until it fits. */
	while (strlen(domain) > 253 && strchr(domain, '.') != NULL)
		domain = strchr(domain, '.') + 1;
	/* RFC 7208 3.1, 14.1: the SPF RR type is not used; no query for it. */
	if (dns_type_map(t, &rt) != 0)
		return SPF_dns_rr_new_init(layer, domain, t, 0, NO_DATA);
	/* A name the resolver cannot take (too long, empty label) names nothing. */
	if (!dns_name_valid(domain) || dns_name_escape(domain, name, sizeof name) != 0)
		return SPF_dns_rr_new_init(layer, domain, t, 0, HOST_NOT_FOUND);
	if (resolver_lookup(c->resolver, name, rt, &a, &e) != 0 && e.code == RESOLVER_ERR_LOOKUP &&
	    strstr(e.text, "name") != NULL) {
		resolver_answer_free(&a);
		return SPF_dns_rr_new_init(layer, domain, t, 0, HOST_NOT_FOUND);
	}
	switch (a.status) {
	case RESOLVER_SECURE:
	case RESOLVER_INSECURE:
		st = a.nrrs > 0 ? NETDB_SUCCESS : NO_DATA;
		break;
	case RESOLVER_NXDOMAIN:
		st = HOST_NOT_FOUND;
		break;
	case RESOLVER_NODATA:
		st = NO_DATA;
		break;
	default:
		st = TRY_AGAIN;
		break; /* tempfail, bogus: RFC 7208 2.6.6 */
	}
	/* RFC 7208 5.5: a DNS error in the PTR lookup, or in the address
	 * lookup of one of its names, is no match (that name is skipped),
	 * not temperror; 7.3 likewise for %{p} ("unknown"). */
	if (st == TRY_AGAIN &&
	    (t == ns_t_ptr || ((t == ns_t_a || t == ns_t_aaaa) && spf_ptr_name(c, domain))))
		st = HOST_NOT_FOUND;
	if (st == TRY_AGAIN)
		c->dns_failed = 1;
	dns_count_void(c, t, domain, st == NO_DATA || st == HOST_NOT_FOUND);
	if (t == ns_t_txt && !c->in_exp)
		for (size_t i = 0; st == NETDB_SUCCESS && i < a.nrrs; i++)
			if (a.rrs[i].type == RESOLVER_TXT &&
			    (!spf_record_targets_valid(a.rrs[i].u.txt.text) ||
			     !spf_record_lint(a.rrs[i].u.txt.text, a.rrs[i].u.txt.len)))
				c->bad_target = 1;
	if (t == ns_t_ptr) {
		c->nptr = 0;
		for (size_t i = 0; st == NETDB_SUCCESS && i < a.nrrs && c->nptr < 10; i++)
			if (a.rrs[i].type == RESOLVER_PTR)
				snprintf(c->ptr_names[c->nptr++], sizeof c->ptr_names[0], "%s",
				         a.rrs[i].u.name);
	}
	rr = SPF_dns_rr_new_init(layer, domain, t, (int)a.ttl, st);
	for (size_t i = 0; rr != NULL && st == NETDB_SUCCESS && i < a.nrrs; i++) {
		if (a.rrs[i].type != rt) /* a CNAME chain's other steps */
			continue;
		if (dns_rr_fill(rr, n, &a.rrs[i], c->client_v6) != 0) {
			SPF_dns_rr_free(rr);
			rr = NULL;
			break;
		}
		rr->num_rr = ++n;
	}
	resolver_answer_free(&a);
	return rr;
}

/* One macro-string word expanded for the check in hand, into `out`. */
static int
exp_word(struct spf_checker *c, SPF_response_t *scratch, const char *w, struct buf *out)
{
	SPF_server_t *server = c->server;
	SPF_macro_t *m = NULL;
	char *piece = NULL;
	size_t plen = 0;
	SPF_errcode_t erc = SPF_record_compile_macro(server, scratch, &m, w);
	int upper = 0;

	if (erc == SPF_E_SUCCESS)
		erc = SPF_record_expand_data(server, c->req, scratch,
		                             (SPF_data_t *)((char *)m + sizeof *m), m->macro_len,
		                             &piece, &plen);
	if (m != NULL)
		SPF_macro_free(m);
	if (erc != SPF_E_SUCCESS) {
		free(piece);
		return -1;
	}
	for (const char *p = strstr(w, "%{"); p != NULL; p = strstr(p + 2, "%{"))
		upper |= isupper((unsigned char)p[2]) != 0;
	if (upper && piece != NULL)
		hex_upper(piece);
	buf_adds(out, piece ? piece : "");
	free(piece);
	return 0;
}

/*
 * An explain-string (RFC 7208 6.2: *(macro-string / SP)) expanded for the
 * check in hand.  libspf2 compiles it as one domain-spec, so each space
 * comes out as '%'; here each space-separated word is a macro-string and
 * the spaces stay as written.  Printable US-ASCII only.  NULL on error.
 */
static char *
exp_expand(struct spf_checker *c, const char *text)
{
	SPF_response_t *scratch = c->req ? SPF_response_new(c->req) : NULL;
	struct buf out = { 0 };
	char *copy = strdup(text), *w = copy;
	int bad = scratch == NULL || copy == NULL;

	for (const char *p = text; !bad && *p != '\0'; p++)
		bad = (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e;
	buf_adds(&out, "");
	while (!bad && w != NULL) {
		char *sp = strchr(w, ' ');
		if (sp != NULL)
			*sp = '\0';
		if (*w != '\0' && exp_word(c, scratch, w, &out) != 0)
			bad = 1;
		if (sp != NULL)
			buf_adds(&out, " ");
		w = sp ? sp + 1 : NULL;
	}
	free(copy);
	if (scratch != NULL)
		SPF_response_free(scratch);
	if (bad || out.oom) {
		buf_free(&out);
		return NULL;
	}
	return buf_take(&out);
}

/*
 * libspf2's SPF_dns_get_exp_t: the explanation at `domain` (the exp=
 * target, already expanded) or, when there is none to use, the default.
 * RFC 7208 6.2: exactly one TXT record, else (none, several, a DNS error,
 * a syntax error, non-ASCII) the default explanation.
 */
static SPF_errcode_t
dns_get_exp(SPF_server_t *server, const char *domain, char **bufp, size_t *buflenp)
{
	struct spf_checker *c = server->resolver->hook;
	SPF_dns_rr_t *rr;
	char *text = NULL;
	size_t n;

	c->in_exp = 1;
	rr = dns_lookup(server->resolver, domain, ns_t_txt, 0);
	c->in_exp = 0;
	if (rr != NULL && rr->herrno == NETDB_SUCCESS && rr->num_rr == 1)
		text = exp_expand(c, rr->rr[0]->txt);
	if (rr != NULL)
		SPF_dns_rr_free(rr);
	if (text == NULL)
		text = exp_expand(c, c->exp_default);
	if (text == NULL)
		return SPF_E_NO_MEMORY;
	n = strlen(text) + 1;
	if (*buflenp < n) {
		char *tmp = realloc(*bufp, n);
		if (tmp == NULL) {
			free(text);
			return SPF_E_NO_MEMORY;
		}
		*bufp = tmp;
		*buflenp = n;
	}
	memcpy(*bufp, text, n);
	free(c->exp_text);
	c->exp_text = text; /* the verdict's explanation (verdict_texts) */
	return SPF_E_SUCCESS;
}

const char *
spf_library_version(void)
{
	static char v[32];
	int major = 0, minor = 0, patch = 0;

	SPF_get_lib_version(&major, &minor, &patch);
	snprintf(v, sizeof v, "%d.%d.%d", major, minor, patch);
	return v;
}

/* ---- the checker ---------------------------------------------------------------------- */

struct spf_checker *
spf_checker_new(struct resolver *r, const struct spf_options *o, struct err *e)
{
	struct spf_checker *c = calloc(1, sizeof *c);
	SPF_response_t *resp = NULL;
	const char *exp = o->explanation ? o->explanation : SPF_DEFAULT_EXPLANATION;

	if (c == NULL) {
		err_set(e, SPF_ERR_SETUP, "out of memory");
		return NULL;
	}
	c->resolver = r;
	c->max_void = o->max_void ? o->max_void : SPF_RFC_MAX_VOID;
	c->dns.destroy = NULL; /* ours: SPF_server_free must not free it */
	c->dns.lookup = dns_lookup;
	c->dns.get_exp = dns_get_exp;
	c->dns.name = "refmta-resolver";
	c->dns.hook = c;
	c->guess = strdup(o->guess ? o->guess : "v=spf1 a/24 mx/24 ptr ?all");
	c->exp_default = exp; /* static, or the caller's: outlives the checker (spf.h) */
	c->server = SPF_server_new_dns(&c->dns, 0);
	if (c->server == NULL || c->guess == NULL)
		goto fail;
	SPF_server_set_max_dns_mech(c->server,
	                            o->max_dns_mech ? (int)o->max_dns_mech : SPF_RFC_MAX_DNS_MECH);
	if (o->receiver != NULL && SPF_server_set_rec_dom(c->server, o->receiver) != SPF_E_SUCCESS)
		goto fail;
	if (SPF_server_set_explanation(c->server, exp, &resp) != SPF_E_SUCCESS)
		goto fail;
	if (resp != NULL)
		SPF_response_free(resp);
	return c;
fail:
	if (resp != NULL)
		SPF_response_free(resp);
	err_set(e, SPF_ERR_SETUP, "libspf2 refused the settings (receiver, explanation)");
	spf_checker_free(c);
	return NULL;
}

void
spf_checker_free(struct spf_checker *c)
{
	if (c == NULL)
		return;
	if (c->server != NULL)
		SPF_server_free(c->server);
	free(c->guess);
	free(c->exp_text);
	free(c);
}

void
spf_verdict_free(struct spf_verdict *v)
{
	if (v == NULL)
		return;
	free(v->sender);
	free(v->header_comment);
	free(v->smtp_comment);
	free(v->received);
	free(v->explanation);
	free(v->problem);
	memset(v, 0, sizeof *v);
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* libspf2's outcome in RFC words, with our layer's corrections. */
static enum spf_result
map_result(const struct spf_checker *c, SPF_response_t *resp, SPF_errcode_t rc)
{
	/* RFC 7208 4.6.4: passing the void limit is permerror, whatever
	 * libspf2 made of the answers. */
	if (c->void_exceeded || c->bad_target)
		return SPF_PERMERROR;
	switch (resp != NULL ? SPF_response_result(resp) : SPF_RESULT_INVALID) {
	case SPF_RESULT_NEUTRAL:
		return SPF_NEUTRAL;
	case SPF_RESULT_PASS:
		return SPF_PASS;
	case SPF_RESULT_FAIL:
		return SPF_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return SPF_SOFTFAIL;
	case SPF_RESULT_NONE:
		return c->dns_failed ? SPF_TEMPERROR : SPF_NONE;
	case SPF_RESULT_TEMPERROR:
		return SPF_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return SPF_PERMERROR;
	default:
		/* "(invalid)": a DNS failure on the way is temperror, anything
		 * else (a syntax error libspf2 did not classify) permerror. */
		return (c->dns_failed || rc == SPF_E_DNS_ERROR) ? SPF_TEMPERROR : SPF_PERMERROR;
	}
}

/* The "<sender>" of RFC 7208 4.1: the address, or postmaster@HELO. */
static char *
spf_sender_of(const char *helo, const char *sender, enum spf_identity *id)
{
	char *s = NULL;

	if (*id == SPF_ID_MAILFROM && sender != NULL && sender[0] != '\0') {
		const char *at = strrchr(sender, '@');
		/* RFC 7208 4.3: no local part means "postmaster" */
		if (at == sender || at == NULL) {
			if (asprintf(&s, "postmaster@%s", at ? at + 1 : sender) < 0)
				s = NULL;
			return s;
		}
		return strdup(sender);
	}
	*id = SPF_ID_HELO; /* RFC 7208 2.4: the null sender is checked through HELO */
	if (asprintf(&s, "postmaster@%s", helo != NULL ? helo : "") < 0)
		s = NULL;
	return s;
}

/* The strings of a verdict from libspf2's response (RFC 7208 9.1 for the header). */
static int
verdict_texts(struct spf_checker *c, struct spf_verdict *v, SPF_response_t *resp, const char *ip,
              const char *helo, const char *receiver)
{
	const char *hc = resp ? SPF_response_get_header_comment(resp) : NULL;
	struct buf b = { 0 };

	if ((v->result == SPF_TEMPERROR || v->result == SPF_PERMERROR) && resp != NULL &&
	    SPF_response_messages(resp) > 0) {
		SPF_error_t *m = SPF_response_message(resp, SPF_response_messages(resp) - 1);
		v->problem = dup_or_empty(m ? SPF_error_message(m) : "");
	} else {
		v->problem = strdup("");
	}
	if (hc == NULL || hc[0] == '\0' || v->result == SPF_TEMPERROR ||
	    v->result == SPF_PERMERROR) {
		/* libspf2's comment for errors is empty or names the wrong result */
		buf_addf(&b, "%s: error in processing during lookup of %s%s%s", receiver,
		         v->sender ? v->sender : "", v->problem && v->problem[0] ? ": " : "",
		         v->problem ? v->problem : "");
		if (v->result == SPF_NONE) {
			buf_free(&b);
			buf_addf(&b, "%s: domain of %s does not provide an SPF record", receiver,
			         v->sender ? v->sender : "");
		}
		v->header_comment = buf_take(&b);
	} else {
		v->header_comment = strdup(hc);
	}
	/* RFC 7208 6.2: the explanation is for fail only.  libspf2 expands its
	 * default itself, spaces turned to '%', so refmta expands it here; an
	 * exp= explanation comes from dns_get_exp.  The SMTP comment is the
	 * explanation on fail, else the header comment (libspf2's own adds
	 * ": Reason: mechanism"). */
	if (v->result != SPF_FAIL)
		v->explanation = strdup("");
	else if (c->exp_text != NULL)
		v->explanation = strdup(c->exp_text);
	else
		v->explanation = exp_expand(c, c->exp_default);
	v->smtp_comment = strdup(v->result == SPF_FAIL && v->explanation ? v->explanation
	                         : v->header_comment                     ? v->header_comment
	                                                                 : "");
	buf_addf(&b, "Received-SPF: %s (%s)", spf_result_word(v->result),
	         v->header_comment ? v->header_comment : "");
	kv_add(&b, "receiver", receiver);
	kv_add(&b, "client-ip", ip);
	kv_add(&b, "envelope-from", v->sender ? v->sender : "");
	kv_add(&b, "helo", helo != NULL ? helo : "");
	if (v->problem && v->problem[0])
		kv_add(&b, "problem", v->problem);
	kv_add(&b, "identity", v->identity == SPF_ID_HELO ? "helo" : "mailfrom");
	v->received = b.oom ? (buf_free(&b), NULL) : buf_take(&b);
	return v->problem && v->header_comment && v->explanation && v->smtp_comment && v->received
	               ? 0
	               : -1;
}

int
spf_check(struct spf_checker *c, const char *ip, const char *helo, const char *sender,
          enum spf_identity identity, int guess, struct spf_verdict *out, struct err *e)
{
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL;
	SPF_errcode_t rc;
	const char *at;
	char v4[INET_ADDRSTRLEN];
	struct in6_addr a6;
	int ok;

	/* RFC 7208 5 (9th paragraph): an IPv4-mapped IPv6 client is an IPv4
	 * client; libspf2 would take it as IPv6. */
	if (inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_V4MAPPED(&a6) &&
	    inet_ntop(AF_INET, &a6.s6_addr[12], v4, sizeof v4) != NULL)
		ip = v4;
	memset(out, 0, sizeof *out);
	out->identity = identity;
	out->sender = spf_sender_of(helo, sender, &out->identity);
	if (out->sender == NULL || (req = SPF_request_new(c->server)) == NULL) {
		err_set(e, SPF_ERR_SETUP, "out of memory");
		goto fail;
	}
	at = strrchr(out->sender, '@');
	snprintf(out->domain, sizeof out->domain, "%s", at ? at + 1 : "");
	if (strchr(ip, ':') != NULL ? SPF_request_set_ipv6_str(req, ip) != SPF_E_SUCCESS
	                            : SPF_request_set_ipv4_str(req, ip) != SPF_E_SUCCESS) {
		err_set(e, SPF_ERR_INPUT, "not an IP address: %s", ip);
		goto fail;
	}
	if (helo != NULL && helo[0] != '\0')
		(void)SPF_request_set_helo_dom(req, helo);
	c->lookups = c->voids = 0;
	c->void_exceeded = c->dns_failed = c->bad_target = 0;
	c->req = req;
	c->nptr = 0;
	c->client_v6 = strchr(ip, ':') != NULL;
	free(c->exp_text);
	c->exp_text = NULL;
	/* libspf2 takes the domain after the last '@' and "postmaster" for an
	 * empty local part, as RFC 7208 4.3 says; an address it cannot split
	 * (a HELO name, the null sender) is given as postmaster@DOMAIN. */
	if (SPF_request_set_env_from(req, out->sender) != 0) {
		out->result = SPF_NONE; /* RFC 7208 4.3: no domain to check */
		ok = verdict_texts(c, out, NULL, ip, helo, SPF_request_get_rec_dom(req));
		goto done;
	}
	rc = SPF_request_query_mailfrom(req, &resp);
	out->result = map_result(c, resp, rc);
	if (guess && out->result == SPF_NONE) {
		/* The seed's spf_guess: the guess record stands in for a
		 * domain that publishes none (as Exim does it). */
		if (resp != NULL)
			SPF_response_free(resp);
		resp = NULL;
		c->lookups = 1; /* the record lookup was made */
		rc = SPF_request_query_fallback(req, &resp, c->guess);
		out->result = map_result(c, resp, rc);
	}
	ok = verdict_texts(c, out, resp, ip, helo, SPF_request_get_rec_dom(req));
done:
	c->req = NULL;
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	if (ok != 0) {
		err_set(e, SPF_ERR_SETUP, "out of memory");
		spf_verdict_free(out);
		return -1;
	}
	return 0;
fail:
	if (req != NULL)
		SPF_request_free(req);
	spf_verdict_free(out);
	return -1;
}
