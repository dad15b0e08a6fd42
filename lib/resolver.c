/*
 * resolver.c - the validating resolver on libunbound; the only file that
 * includes <unbound.h> (ci/layering.txt).  Contract: resolver.h; the
 * pitfalls handled here: docs/resolver.md and ../shared/LIBRARIES.md.
 *
 * It must never hand out the data of a bogus answer, never fall back to the
 * root hints when a server is configured, and never trust an AD bit: the
 * validation happens here, against the configured anchor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <unbound.h>

#include "net.h"
#include "resolver.h"

/* The system's root anchor (Debian's dns-root-data). */
#define RESOLVER_ROOT_KEY "/usr/share/dns/root.key"

/* Retransmission ceiling in ms: a dead or silent server is a tempfail in
 * about 0.8 s instead of ~17 s (LIBRARIES.md).  Not 300: on a loaded machine
 * the root DNSKEY fetch then times out and every answer turns bogus ("no
 * DNSKEY rrset for trust anchor"); not 800 or more: that takes over 2 s. */
#define RESOLVER_MAX_RTT "600"

enum {
	RR_TYPE_A = 1,
	RR_TYPE_NS = 2,
	RR_TYPE_CNAME = 5,
	RR_TYPE_PTR = 12,
	RR_TYPE_MX = 15,
	RR_TYPE_TXT = 16,
	RR_TYPE_AAAA = 28,
	RR_TYPE_TLSA = 52,
	RR_CLASS_IN = 1,
	RCODE_NOERROR = 0,
	RCODE_NXDOMAIN = 3,
};

/* Special-use names that libunbound answers itself unless told otherwise
 * (RFC 6761), and the reverse zones of private and documentation
 * addresses it answers NXDOMAIN for (RFC 6303; RFC 5737 and RFC 3849's
 * test nets: SPF's ptr and %{p} look clients up there, docs/spf.md); with
 * a dns_server they are resolved there. */
static const char *const special_zones[] = {
	"test.",
	"example.",
	"invalid.",
	"localhost.",
	"127.in-addr.arpa.",
	"10.in-addr.arpa.",
	"168.192.in-addr.arpa.",
	"2.0.192.in-addr.arpa.",
	"100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.",
};

struct resolver {
	struct ub_ctx *ctx;
	int used;          /* a lookup was made: options are frozen */
	int rebuild;       /* the last lookup tempfailed: a fresh context first */
	char *dns_server;  /* as configured (NULL = resolv.conf) */
	char *ta_file;     /* the trust anchor file in use, or NULL */
	char override[32]; /* val-override-date value, or "" */
};

static const struct {
	int rrtype;
	const char *word;
} types[] = {
	[RESOLVER_A] = { RR_TYPE_A, "A" },
	[RESOLVER_AAAA] = { RR_TYPE_AAAA, "AAAA" },
	[RESOLVER_MX] = { RR_TYPE_MX, "MX" },
	[RESOLVER_TLSA] = { RR_TYPE_TLSA, "TLSA" },
	[RESOLVER_TXT] = { RR_TYPE_TXT, "TXT" },
	[RESOLVER_PTR] = { RR_TYPE_PTR, "PTR" },
	[RESOLVER_CNAME] = { RR_TYPE_CNAME, "CNAME" },
	[RESOLVER_NS] = { RR_TYPE_NS, "NS" },
};

const char *
resolver_status_word(enum resolver_status s)
{
	switch (s) {
	case RESOLVER_SECURE:
		return "secure";
	case RESOLVER_INSECURE:
		return "insecure";
	case RESOLVER_BOGUS:
		return "bogus";
	case RESOLVER_NXDOMAIN:
		return "nxdomain";
	case RESOLVER_NODATA:
		return "nodata";
	case RESOLVER_TEMPFAIL:
		return "tempfail";
	}
	return "tempfail";
}

const char *
resolver_type_word(enum resolver_type t)
{
	if ((size_t)t >= sizeof types / sizeof types[0])
		return "?";
	return types[t].word;
}

/* --- the context ------------------------------------------------------------------ */

static int
set_opt(struct resolver *r, const char *opt, const char *val, struct err *e)
{
	int rc = ub_ctx_set_option(r->ctx, opt, val);

	if (rc != 0) {
		err_set(e, RESOLVER_ERR_CONFIG, "resolver: option %s %s: %s", opt, val,
		        ub_strerror(rc));
		return -1;
	}
	return 0;
}

/* "ADDR@PORT" with a literal address, port 1-65535: ub_ctx_set_fwd accepts
 * more (no port, names fail late), so refuse those here. */
static int
fwd_valid(const char *s)
{
	struct net_addr a;

	return net_parse_addr_at_port(s, &a) == 0 && a.port >= 1;
}

/* Make r->ctx from the stored configuration (resolver_new's checks done). */
static int
ctx_build(struct resolver *r, struct err *e)
{
	int rc;

	r->ctx = ub_ctx_create();
	if (r->ctx == NULL) {
		err_set(e, RESOLVER_ERR_CONFIG, "resolver: cannot create a libunbound context");
		return -1;
	}
	/* Records in the order the server sent them, every time: unbound
	 * otherwise rotates cached RRsets, and logs and transcripts would vary. */
	if (set_opt(r, "rrset-roundrobin:", "no", e) != 0)
		return -1;
	if (r->dns_server != NULL) {
		/* Forwarding "." means every query: no root hints fallback. */
		rc = ub_ctx_set_fwd(r->ctx, r->dns_server);
		if (rc != 0) {
			err_set(e, RESOLVER_ERR_CONFIG, "resolver: dns_server \"%s\": %s",
			        r->dns_server, ub_strerror(rc));
			return -1;
		}
		/* "local-zone: test. nodefault" is silently ignored; transparent works. */
		for (size_t i = 0; i < sizeof special_zones / sizeof special_zones[0]; i++) {
			char zone[64];
			snprintf(zone, sizeof zone, "%s transparent", special_zones[i]);
			if (set_opt(r, "local-zone:", zone, e) != 0)
				return -1;
		}
		if (set_opt(r, "infra-cache-max-rtt:", RESOLVER_MAX_RTT, e) != 0 ||
		    set_opt(r, "do-not-query-localhost:", "no", e) != 0)
			return -1;
	} else {
		rc = ub_ctx_resolvconf(r->ctx, NULL);
		if (rc != 0) {
			err_set(e, RESOLVER_ERR_CONFIG, "resolver: cannot use /etc/resolv.conf: %s",
			        ub_strerror(rc));
			return -1;
		}
	}
	if (r->ta_file != NULL) {
		rc = ub_ctx_add_ta_file(r->ctx, r->ta_file);
		if (rc != 0) {
			err_set(e, RESOLVER_ERR_CONFIG, "resolver: trust anchor \"%s\": %s",
			        r->ta_file, ub_strerror(rc));
			return -1;
		}
	}
	if (r->override[0] != '\0' && set_opt(r, "val-override-date:", r->override, e) != 0)
		return -1;
	return 0;
}

struct resolver *
resolver_new(const char *dns_server, const char *trust_anchor_file, struct err *e)
{
	struct resolver *r = calloc(1, sizeof *r);
	struct resolver *ret = NULL;

	if (r == NULL) {
		err_set(e, RESOLVER_ERR_CONFIG, "resolver: out of memory");
		goto out;
	}
	if (dns_server != NULL && !fwd_valid(dns_server)) {
		err_set(e, RESOLVER_ERR_CONFIG,
		        "resolver: bad dns_server \"%s\" (use ADDR@PORT, port 1-65535)",
		        dns_server);
		goto out;
	}
	if (trust_anchor_file == NULL && access(RESOLVER_ROOT_KEY, R_OK) == 0)
		trust_anchor_file = RESOLVER_ROOT_KEY;
	if (trust_anchor_file != NULL && access(trust_anchor_file, R_OK) != 0) {
		err_set(e, RESOLVER_ERR_CONFIG, "resolver: cannot read \"%s\": %s",
		        trust_anchor_file, strerror(errno));
		goto out;
	}
	if ((dns_server != NULL && (r->dns_server = strdup(dns_server)) == NULL) ||
	    (trust_anchor_file != NULL && (r->ta_file = strdup(trust_anchor_file)) == NULL)) {
		err_set(e, RESOLVER_ERR_CONFIG, "resolver: out of memory");
		goto out;
	}
	if (ctx_build(r, e) != 0)
		goto out;
	ret = r;
	r = NULL;
out:
	resolver_free(r);
	return ret;
}

int
resolver_set_validation_time(struct resolver *r, time_t when, struct err *e)
{
	char val[32];

	if (r->used) {
		err_set(e, RESOLVER_ERR_CONFIG,
		        "resolver: the validation time must be set before the first lookup");
		return -1;
	}
	if (when <= 0) {
		err_set(e, RESOLVER_ERR_CONFIG, "resolver: bad validation time %lld",
		        (long long)when);
		return -1;
	}
	snprintf(val, sizeof val, "%lld", (long long)when);
	if (set_opt(r, "val-override-date:", val, e) != 0)
		return -1;
	snprintf(r->override, sizeof r->override, "%s", val); /* for a rebuilt context */
	return 0;
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	if (r->ctx != NULL)
		ub_ctx_delete(r->ctx);
	free(r->dns_server);
	free(r->ta_file);
	free(r);
}

/* --- decoding RDATA ---------------------------------------------------------------- */

/*
 * Read the wire name at data[*pos] into presentation form.  libunbound hands
 * out RDATA with names uncompressed (it decompresses when parsing), so a
 * compression pointer here is malformed.  RFC 1035 3.1: labels up to 63,
 * names up to 255 octets.
 */
static int
decode_name(const unsigned char *data, size_t len, size_t *pos, char **out)
{
	char buf[255 * 4 + 2];
	size_t o = 0, p = *pos, wire = 0;

	for (;;) {
		if (p >= len)
			return -1;
		size_t l = data[p++];
		wire += l + 1;
		if (wire > 255 || l > 63)
			return -1;
		if (l == 0)
			break;
		if (p + l > len)
			return -1;
		if (o > 0)
			buf[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			unsigned char c = data[p + i];
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
			    c == '@' || c == '$') {
				buf[o++] = '\\';
				buf[o++] = (char)c;
			} else if (c <= ' ' || c >= 0x7f) {
				o += (size_t)snprintf(buf + o, sizeof buf - o, "\\%03u", c);
			} else {
				buf[o++] = (char)c;
			}
		}
		p += l;
	}
	if (o == 0)
		buf[o++] = '.';
	buf[o] = '\0';
	*out = strdup(buf);
	if (*out == NULL)
		return -1;
	*pos = p;
	return 0;
}

static int
decode_rr(enum resolver_type type, const unsigned char *d, size_t len, struct resolver_rr *rr)
{
	char text[INET6_ADDRSTRLEN];
	size_t pos = 0;

	rr->type = type;
	switch (type) {
	case RESOLVER_A:
	case RESOLVER_AAAA:
		if (len != (type == RESOLVER_A ? 4u : 16u) ||
		    inet_ntop(type == RESOLVER_A ? AF_INET : AF_INET6, d, text, sizeof text) ==
		            NULL)
			return -1;
		rr->u.addr = strdup(text);
		return rr->u.addr == NULL ? -1 : 0;
	case RESOLVER_MX: /* RFC 1035 3.3.9 */
		if (len < 3)
			return -1;
		rr->u.mx.preference = (unsigned)d[0] << 8 | d[1];
		pos = 2;
		if (decode_name(d, len, &pos, &rr->u.mx.exchange) != 0)
			return -1;
		return pos == len ? 0 : -1;
	case RESOLVER_PTR:   /* RFC 1035 3.3.12 */
	case RESOLVER_CNAME: /* RFC 1035 3.3.1 */
	case RESOLVER_NS:    /* RFC 1035 3.3.11 */
		if (decode_name(d, len, &pos, &rr->u.name) != 0)
			return -1;
		return pos == len ? 0 : -1;
	case RESOLVER_TLSA: /* RFC 6698 2.1 */
		if (len < 3)
			return -1;
		rr->u.tlsa.usage = d[0];
		rr->u.tlsa.selector = d[1];
		rr->u.tlsa.mtype = d[2];
		rr->u.tlsa.len = len - 3;
		rr->u.tlsa.data = malloc(len - 3 + 1);
		if (rr->u.tlsa.data == NULL)
			return -1;
		memcpy(rr->u.tlsa.data, d + 3, len - 3);
		return 0;
	case RESOLVER_TXT: /* RFC 1035 3.3.14: one or more <character-string> */
		if (len == 0)
			return -1;
		rr->u.txt.text = malloc(len + 1);
		if (rr->u.txt.text == NULL)
			return -1;
		while (pos < len) {
			size_t l = d[pos++];
			if (pos + l > len)
				return -1;
			memcpy(rr->u.txt.text + rr->u.txt.len, d + pos, l);
			rr->u.txt.len += l;
			pos += l;
		}
		rr->u.txt.text[rr->u.txt.len] = '\0';
		return 0;
	}
	return -1;
}

static void
rr_free(struct resolver_rr *rr)
{
	switch (rr->type) {
	case RESOLVER_A:
	case RESOLVER_AAAA:
		free(rr->u.addr);
		break;
	case RESOLVER_MX:
		free(rr->u.mx.exchange);
		break;
	case RESOLVER_PTR:
	case RESOLVER_CNAME:
	case RESOLVER_NS:
		free(rr->u.name);
		break;
	case RESOLVER_TLSA:
		free(rr->u.tlsa.data);
		break;
	case RESOLVER_TXT:
		free(rr->u.txt.text);
		break;
	}
}

void
resolver_answer_free(struct resolver_answer *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nrrs; i++)
		rr_free(&a->rrs[i]);
	free(a->rrs);
	free(a->why_bogus);
	free(a->canonname);
	memset(a, 0, sizeof *a);
	a->status = RESOLVER_TEMPFAIL;
}

/* --- lookups ----------------------------------------------------------------------- */

/* The status of a result, bogus first: a bogus answer may still carry data
 * and rcode NOERROR (LIBRARIES.md). */
static enum resolver_status
result_status(const struct ub_result *res)
{
	if (res->bogus)
		return RESOLVER_BOGUS;
	if (res->rcode == RCODE_NXDOMAIN || res->nxdomain)
		return RESOLVER_NXDOMAIN;
	if (res->rcode != RCODE_NOERROR) /* SERVFAIL without bogus: server down, REFUSED */
		return RESOLVER_TEMPFAIL;
	if (!res->havedata)
		return RESOLVER_NODATA;
	return res->secure ? RESOLVER_SECURE : RESOLVER_INSECURE;
}

int
resolver_lookup(struct resolver *r, const char *name, enum resolver_type type,
                struct resolver_answer *out, struct err *e)
{
	struct ub_result *res = NULL;
	size_t n = 0;
	int rc = -1, ub;

	memset(out, 0, sizeof *out);
	out->status = RESOLVER_TEMPFAIL;
	if ((size_t)type >= sizeof types / sizeof types[0]) {
		err_set(e, RESOLVER_ERR_LOOKUP, "resolver: unknown record type %d", (int)type);
		goto out;
	}
	if (name == NULL || name[0] == '\0' || strlen(name) > 253 + 1) {
		err_set(e, RESOLVER_ERR_LOOKUP, "resolver: bad name");
		goto out;
	}
	r->used = 1;
	/* After a tempfail (a server that did not answer), libunbound treats
	 * the one forwarder as down for a while and fails every lookup without
	 * asking; a fresh context asks again.  Validated data is re-fetched. */
	if (r->rebuild) {
		ub_ctx_delete(r->ctx);
		r->ctx = NULL;
		if (ctx_build(r, e) != 0) {
			if (r->ctx != NULL)
				ub_ctx_delete(r->ctx);
			r->ctx = NULL;
			goto out;
		}
		r->rebuild = 0;
	}
	if (r->ctx == NULL) {
		err_set(e, RESOLVER_ERR_LOOKUP, "resolver: no libunbound context");
		goto out;
	}
	ub = ub_resolve(r->ctx, name, types[type].rrtype, RR_CLASS_IN, &res);
	if (ub != 0) {
		err_set(e, RESOLVER_ERR_LOOKUP, "resolver: %s %s: %s", name, types[type].word,
		        ub_strerror(ub));
		goto out;
	}
	out->secure = res->secure && !res->bogus;
	out->ttl = res->ttl > 0 ? (unsigned)res->ttl : 0;
	switch (out->status = result_status(res)) {
	case RESOLVER_BOGUS:
		out->why_bogus =
		        strdup(res->why_bogus != NULL ? res->why_bogus : "validation failed");
		if (out->why_bogus == NULL) {
			err_set(e, RESOLVER_ERR_LOOKUP, "resolver: out of memory");
			goto out;
		}
		rc = 0;
		goto out; /* never the data */
	case RESOLVER_SECURE:
	case RESOLVER_INSECURE:
		break;
	default:
		rc = 0;
		goto out;
	}
	/* An alias: the chain's target (RFC 7672 2.2.2 needs it for DANE). */
	if (res->canonname != NULL) {
		size_t cl = strlen(res->canonname), ql = strlen(name);
		if (cl > 1 && res->canonname[cl - 1] == '.')
			cl--;
		if (ql > 1 && name[ql - 1] == '.')
			ql--;
		if ((cl != ql || strncasecmp(res->canonname, name, cl) != 0) &&
		    (out->canonname = strndup(res->canonname, cl)) == NULL) {
			err_set(e, RESOLVER_ERR_LOOKUP, "resolver: out of memory");
			goto out;
		}
	}
	while (res->data != NULL && res->data[n] != NULL)
		n++;
	out->rrs = calloc(n > 0 ? n : 1, sizeof *out->rrs);
	if (out->rrs == NULL) {
		err_set(e, RESOLVER_ERR_LOOKUP, "resolver: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		out->nrrs++;
		if (res->len[i] < 0 || decode_rr(type, (const unsigned char *)res->data[i],
		                                 (size_t)res->len[i], &out->rrs[i]) != 0) {
			err_set(e, RESOLVER_ERR_LOOKUP, "resolver: %s %s: malformed record %zu",
			        name, types[type].word, i + 1);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		resolver_answer_free(out); /* status: tempfail */
	if (out->status == RESOLVER_TEMPFAIL && r->used)
		r->rebuild = 1;
	if (res != NULL)
		ub_resolve_free(res);
	return rc;
}

/* --- one line per answer, for logs and transcripts --------------------------------- */

static void fmt_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
fmt_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = (*used + (size_t)n < len) ? *used + (size_t)n : len;
}

void
resolver_answer_format(const struct resolver_answer *a, enum resolver_type type, const char *name,
                       char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	fmt_add(buf, len, &used, "%s %s %s", resolver_type_word(type), name,
	        resolver_status_word(a->status));
	if (a->status == RESOLVER_NXDOMAIN || a->status == RESOLVER_NODATA) {
		fmt_add(buf, len, &used, " (%s)", a->secure ? "secure" : "insecure");
		return;
	}
	if (a->status == RESOLVER_BOGUS) {
		fmt_add(buf, len, &used, ": %s", a->why_bogus != NULL ? a->why_bogus : "");
		return;
	}
	for (size_t i = 0; i < a->nrrs; i++) {
		const struct resolver_rr *rr = &a->rrs[i];
		fmt_add(buf, len, &used, "%s", i == 0 ? ": " : ", ");
		switch (rr->type) {
		case RESOLVER_A:
		case RESOLVER_AAAA:
			fmt_add(buf, len, &used, "%s", rr->u.addr);
			break;
		case RESOLVER_MX:
			fmt_add(buf, len, &used, "%u %s", rr->u.mx.preference,
			        rr->u.mx.exchange[0] != '\0' ? rr->u.mx.exchange : ".");
			break;
		case RESOLVER_TLSA:
			fmt_add(buf, len, &used, "%u %u %u ", rr->u.tlsa.usage, rr->u.tlsa.selector,
			        rr->u.tlsa.mtype);
			for (size_t k = 0; k < rr->u.tlsa.len; k++)
				fmt_add(buf, len, &used, "%02x", rr->u.tlsa.data[k]);
			break;
		case RESOLVER_TXT:
			fmt_add(buf, len, &used, "\"");
			for (size_t k = 0; k < rr->u.txt.len; k++) {
				unsigned char c = (unsigned char)rr->u.txt.text[k];
				if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
					fmt_add(buf, len, &used, "\\%03u", c);
				else
					fmt_add(buf, len, &used, "%c", c);
			}
			fmt_add(buf, len, &used, "\"");
			break;
		case RESOLVER_PTR:
		case RESOLVER_CNAME:
		case RESOLVER_NS:
			fmt_add(buf, len, &used, "%s", rr->u.name);
			break;
		}
	}
}
