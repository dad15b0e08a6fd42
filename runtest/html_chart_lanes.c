/*
 * html_chart_lanes.c - two parts of the sequence chart (html_chart.c) drawn
 * from files beside the transcript: the fakeocsp lane (each request and
 * answer of an ocsp-fetch step, from WORK/ocsp-requests.txt, which
 * runtest/run_ocsp.c fills from fakeocsp's request log) and the block of a
 * DANE match (refmta's "DANE: TLSA ... matched at depth N" log line, with
 * the record in words and the certificate at that depth from the peer's
 * chain); and a page's "How DANE decided" (html_dane_explain()).
 * docs/teaching.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "html_chart_int.h"

/* The value of `key=` in a fakeocsp log line (docs/fakeocsp.md "The request
 * log"), into out; "" when absent. */
static void
ocsp_field(const char *l, size_t n, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);

	out[0] = '\0';
	for (const char *p = l; p != NULL && p < l + n; p = memchr(p, ' ', (size_t)(l + n - p))) {
		p += *p == ' ';
		if (strncmp(p, key, k) == 0 && p[k] == '=') {
			size_t v = strcspn(p + k + 1, " \n");
			snprintf(out, len, "%.*s", (int)v, p + k + 1);
			return;
		}
	}
}

/* The answer's status as a badge (a static word: it is also a CSS class). */
static const char *
ocsp_badge(const char *status)
{
	static const char *const words[] = { "good",    "revoked",   "unknown",
		                             "garbage", "malformed", "dropped" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(status, words[i]) == 0)
			return words[i];
	return "answer"; /* a responseStatus (tryLater, ...), http-NNN, timeout */
}

/* One ocsp-fetch step's exchanges: the next "fetch" block of ocsp-requests.txt. */
static void
ocsp_block(struct chart *c, int o)
{
	const char *p = c->ocsp;
	int any = 0;

	if (p == NULL || strncmp(p, "fetch\n", 6) != 0)
		return; /* no record (an older run): nothing to draw */
	for (p += 6; *p && strncmp(p, "fetch\n", 6) != 0;) {
		size_t n = strcspn(p, "\n");
		char serial[200], status[40], fault[200], method[16], nonce[8];
		ocsp_field(p, n, "serial", serial, sizeof serial);
		ocsp_field(p, n, "status", status, sizeof status);
		ocsp_field(p, n, "fault", fault, sizeof fault);
		ocsp_field(p, n, "method", method, sizeof method);
		ocsp_field(p, n, "nonce", nonce, sizeof nonce);
		struct ev *q = chart_add(c, EV_ARROW, 1, o, "cmd");
		if (q != NULL) {
			buf_addf(&q->text, "OCSP request (%s) serial %s%s\n",
			         method[0] ? method : "?", serial,
			         strcmp(nonce, "yes") == 0 ? ", nonce" : "");
			buf_add(&q->text, p, n);
			q->lines = 2;
		}
		struct ev *a = chart_add(c, EV_ARROW, o, 1, "reply");
		if (a != NULL) {
			int faulty = fault[0] && strcmp(fault, "none") != 0;
			buf_addf(&a->text, "%s%s%s%s\n", status, faulty ? " (fault " : "",
			         faulty ? fault : "", faulty ? ")" : "");
			buf_add(&a->text, p, n);
			a->lines = 2;
			a->badge = ocsp_badge(status);
		}
		any = 1;
		p += n + (p[n] == '\n');
	}
	if (!any)
		chart_ev_line(chart_add(c, EV_NOTE, o, o, "warn"), "(no request reached fakeocsp)",
		              29);
	c->ocsp = p;
}

/* K: lines of the ocsp-serve, ocsp-stop and ocsp-fetch steps; 0 for others. */
int
chart_ocsp_step(struct chart *c, const char *t)
{
	int o = chart_lane_find(c, "fakeocsp");

	if (o < 0)
		return 0;
	if (strncmp(t, "ocsp-serve", 10) == 0 || strncmp(t, "ocsp-stop", 9) == 0) {
		chart_ev_line(chart_add(c, EV_NOTE, o, o, "harness"), t, strlen(t));
		return 1;
	}
	if (strncmp(t, "ocsp-fetch", 10) != 0 || (t[10] != '\0' && t[10] != ' '))
		return 0; /* "ocsp-fetch: ..." is refmta's output */
	chart_ev_line(chart_add(c, EV_NOTE, 1, 1, "harness"), "refmta ", 7);
	if (c->nev > 0)
		buf_adds(&c->ev[c->nev - 1].text, t);
	ocsp_block(c, o);
	return 1;
}

/* The TLSA parameters in words (RFC 6698 2.1, RFC 7672 3.1). */
static const char *
tlsa_word(int field, int v)
{
	static const char *const words[3][4] = {
		{ "PKIX-TA(0)", "PKIX-EE(1)",
		  "DANE-TA(2): a CA the server's certificate chains up to",
		  "DANE-EE(3): the server's own certificate or key" },
		{ "Cert(0): the whole certificate", "SPKI(1): its public key only", "?", "?" },
		{ "Full(0): the data itself", "SHA2-256(1): a digest", "SHA2-512(2): a digest",
		  "?" },
	};
	return v >= 0 && v < 4 ? words[field][v] : "?";
}

/* refmta's "H=NAME [ADDR]:PORT: DANE: TLSA U S M (...) matched at depth D (...)"
 * (docs/dane.md "Log words"), drawn as a block between refmta and the peer
 * at that address: the record in words, the certificate at that depth and,
 * for DANE-TA, the leaf whose name was checked.  0 if the line is not one. */
int
chart_dane_match(struct chart *c, const char *t)
{
	const char *d = strstr(t, ": DANE: TLSA "), *h = strstr(t, " H="), *at;
	char addr[64] = "", *peer = NULL;
	int u, sel, m, depth, to = 1;
	struct html_cert_fields f;

	if (d == NULL || (at = strstr(d, " matched at depth ")) == NULL ||
	    sscanf(d + 13, "%d %d %d", &u, &sel, &m) != 3 || sscanf(at + 18, "%d", &depth) != 1)
		return 0;
	if (h != NULL && (h = strchr(h, '[')) != NULL)
		sscanf(h + 1, "%63[^]]", addr);
	for (size_t i = 0; i < c->s->npeers && addr[0]; i++)
		for (size_t k = 0; k < c->s->peers[i].lines.n; k++) {
			const char *l = c->s->peers[i].lines.v[k], *v = strchr(l, '=');
			v = v != NULL ? v + 1 + strspn(v + 1, " \t") : "";
			if (strncmp(l, "address", 7) == 0 && strncmp(v, addr, strlen(addr)) == 0 &&
			    strspn(v + strlen(addr), " \t") == strlen(v + strlen(addr)) &&
			    chart_lane_find(c, c->s->peers[i].name) > 1) {
				peer = c->s->peers[i].name;
				to = chart_lane_find(c, peer);
			}
		}
	struct ev *e = chart_add(c, EV_TLS, 1, to, "tls");
	if (e == NULL)
		return 1;
	chart_ev_line(e, d + 2, strlen(d + 2));
	buf_addf(&e->text, "\nthe record: usage %s; selector %s; matching type %s", tlsa_word(0, u),
	         tlsa_word(1, sel), tlsa_word(2, m));
	e->lines++;
	if (peer != NULL && chart_peer_cert_at(c, peer, depth, &f)) {
		buf_addf(&e->text, "\ndepth %d, as %s presents it: %s, issued by %s", depth, peer,
		         f.subject, f.issuer);
		e->lines++;
	} else if (peer != NULL && u == 2) {
		buf_addf(&e->text,
		         "\ndepth %d: beyond the chain %s presents: the record's own "
		         "certificate is the anchor",
		         depth, peer);
		e->lines++;
	}
	if (peer != NULL && u == 2 && chart_peer_cert_at(c, peer, 0, &f)) {
		buf_addf(&e->text,
		         "\ndepth 0, the leaf whose names DANE-TA checks (RFC 7672 3.2.2): "
		         "%s%s%s",
		         f.subject, f.dns[0] ? ", DNS names " : "", f.dns);
		e->lines++;
	}
	return 1;
}

/* The transcript's lines that start with `pfx` and contain `word`, in a <pre>. */
static int
dane_lines(struct buf *out, const char *t, const char *pfx, const char *const *words)
{
	int any = 0;

	for (const char *p = t; *p;) {
		size_t n = strcspn(p, "\n");
		int hit = 0;
		for (size_t w = 0; words[w] != NULL && !hit; w++) {
			const char *at = strstr(p, words[w]);
			hit = at != NULL && at < p + n;
		}
		if (strncmp(p, pfx, strlen(pfx)) == 0 && hit) {
			buf_adds(out, any ? "\n" : "<pre tabindex=\"0\">");
			html_esc(out, p, n);
			any = 1;
		}
		p += n + (p[n] == '\n');
	}
	if (any)
		buf_adds(out, "</pre>\n");
	return any;
}

void
html_dane_explain(struct buf *out, const char *t)
{
	static const char *const tlsa[] = { "TLSA ", NULL };
	static const char *const dane[] = { "DANE", "CV=dane", "CV=no", NULL };

	if (t == NULL || (strstr(t, "D: TLSA ") == NULL && strstr(t, ": DANE") == NULL))
		return;
	buf_adds(out, "<h2 id=\"dane\">How DANE decided</h2>\n<p>The TLSA lookups refmta made "
	              "(only a DNSSEC-secure answer counts; RFC 7672 2.2):</p>\n");
	if (!dane_lines(out, t, "D: ", tlsa))
		buf_adds(out, "<p>(none in this transcript)</p>\n");
	buf_adds(out, "<p>What refmta logged about DANE and the verdict:</p>\n");
	if (!dane_lines(out, t, "L: ", dane))
		buf_adds(out, "<p>(nothing)</p>\n");
	buf_adds(out,
	         "<dl class=\"facts\">"
	         "<dt>A TLSA record</dt><dd><code>usage selector matching-type data</code> "
	         "(RFC 6698 2.1), published at <code>_PORT._tcp.HOST</code>. For SMTP only "
	         "usages 2 and 3 count (RFC 7672 3.1.3); a record of usage 0 or 1 is ignored, and "
	         "a host whose records are all unusable is treated as having none.</dd>"
	         "<dt>Selector and matching type</dt><dd>Selector 0: the whole certificate, 1: its "
	         "public key (SubjectPublicKeyInfo). Matching type 0: the data in full, 1: its "
	         "SHA2-256 digest, 2: its SHA2-512 digest.</dd>"
	         "<dt>DANE-EE (usage 3)</dt><dd>The data is the server's own certificate or key, "
	         "so it matches at depth 0. Nothing else is checked: not the names, not the dates, "
	         "not who issued it (RFC 7672 3.1.1).</dd>"
	         "<dt>DANE-TA (usage 2)</dt><dd>The data is a CA: the chain the server sends must "
	         "verify up to it (signatures, dates, CA constraints), and the leaf must carry the "
	         "TLSA base name or the MX host name (RFC 7672 3.2.2). A full certificate (2 0 0) "
	         "may be one the server does not send; it is then the anchor itself, at the depth "
	         "just past the chain.</dd>"
	         "<dt>Depth</dt><dd>0 is the server's own certificate, 1 the certificate that "
	         "issued it, and so on up the chain; \"matched at depth N\" names the certificate "
	         "whose data the record carries.</dd>"
	         "<dt>The verdict</dt><dd><code>CV=dane</code> on the delivery line: a usable "
	         "record "
	         "matched (and, for DANE-TA, the name). Otherwise <code>CV=no</code> with "
	         "<code>dane-no-match</code> or <code>dane-name-mismatch</code>, and the host is "
	         "not used: with usable TLSA records DANE is mandatory for it (RFC 7672 2.2), so "
	         "the mail waits rather than going out unauthenticated.</dd></dl>\n");
}
