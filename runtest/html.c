/*
 * html.c - the teaching view's pages (html.h): the index, one page per
 * scenario, the style sheet inlined in each (file:// and print alike), and
 * the glossaries that let a page teach its case on its own: RFC titles and
 * the TLS verification words (docs/tls.md "The verification vocabulary").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "html.h"
#include "html_cert.h"

static const char css[] =
        "body{font:15px/1.45 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;"
        "max-width:1200px;padding:0 1em}"
        "a{color:#0645ad}a:focus,.chart:focus,summary:focus{outline:3px solid #c60;"
        "outline-offset:2px}"
        ".skip{position:absolute;left:-9999px}.skip:focus{left:1em;top:1em;background:#fff}"
        "table{border-collapse:collapse}td,th{border:1px solid #767676;padding:.2em .5em;"
        "text-align:left}"
        ".pass{color:#116329;font-weight:bold}.fail,.error{color:#b00020;font-weight:bold}"
        "pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.5em;overflow:auto;"
        "font-size:13px}"
        ".side{display:grid;grid-template-columns:1fr 1fr;gap:1em}.side>div{min-width:0}"
        ".chart{overflow-x:auto;border:1px solid #d0d7de}"
        "svg text{font:12px ui-monospace,monospace;fill:#1a1a1a}"
        "svg .lane rect{fill:#e8eef7;stroke:#3a5a8c}svg .lane text{font-weight:bold}"
        "svg .lane line{stroke:#767676;stroke-dasharray:4 3}"
        "svg .arrow line{stroke:#0b4f9c;stroke-width:1.5}"
        "svg .arrow.reply line{stroke:#1d6b2f;stroke-dasharray:6 3}"
        "svg .arrow.dns line{stroke:#6f42c1}"
        "svg marker path{fill:#333}"
        "svg .tls rect{fill:#fff8e1;stroke:#8a5a00}"
        "svg .note.log text{fill:#444}svg .note.warn text{fill:#b00020;font-weight:bold}"
        "svg .note.harness text{fill:#5a3e00}svg .heading{font-weight:bold;font-style:italic}"
        "svg .badge{font-weight:bold}svg .badge.secure{fill:#116329}"
        "svg .badge.insecure{fill:#8a5a00}svg .badge.bogus{fill:#b00020}"
        "svg .badge.good{fill:#116329}svg .badge.revoked,svg .badge.garbage,"
        "svg .badge.malformed,svg .badge.dropped{fill:#b00020}"
        "del{background:#ffebe9;text-decoration:none;display:block}"
        "ins{background:#dafbe1;text-decoration:none;display:block}"
        ".diff span{display:block}.who{color:#555}"
        "dl.facts dt{font-weight:bold}"
        "@media print{nav,.skip{display:none}.chart{overflow:visible;border:0}"
        "pre{white-space:pre-wrap;word-break:break-all}a{color:#000}"
        ".side{display:block}details>*{display:block}}";

/* RFCs the scenarios cite, for the reader without the RFC at hand. */
static const struct {
	const char *num, *title;
} rfcs[] = {
	{ "821", "Simple Mail Transfer Protocol (1982)" },
	{ "1035", "Domain names: implementation and specification" },
	{ "1870", "SMTP Service Extension for Message Size Declaration" },
	{ "2045", "MIME Part One" },
	{ "2181", "Clarifications to the DNS Specification" },
	{ "2308", "Negative Caching of DNS Queries" },
	{ "2920", "SMTP Service Extension for Command Pipelining" },
	{ "3030", "SMTP Service Extensions for Large and Binary MIME Messages (CHUNKING)" },
	{ "3207", "SMTP Service Extension for Secure SMTP over TLS (STARTTLS)" },
	{ "3461", "SMTP Service Extension for Delivery Status Notifications" },
	{ "3463", "Enhanced Mail System Status Codes" },
	{ "3464", "An Extensible Message Format for Delivery Status Notifications" },
	{ "3848", "ESMTP and LMTP Transmission Types Registration" },
	{ "4033", "DNS Security Introduction and Requirements" },
	{ "4035", "Protocol Modifications for the DNS Security Extensions" },
	{ "4155", "The application/mbox Media Type" },
	{ "4592", "The Role of Wildcards in the DNS" },
	{ "5246", "The TLS Protocol Version 1.2" },
	{ "5280", "Internet X.509 PKI Certificate and CRL Profile" },
	{ "5321", "Simple Mail Transfer Protocol" },
	{ "5322", "Internet Message Format" },
	{ "6066", "TLS Extensions (SNI, status_request)" },
	{ "6125", "Representation and Verification of Domain-Based Application Service Identity" },
	{ "6152", "SMTP Service Extension for 8-bit MIME Transport" },
	{ "6522", "The Multipart/Report Media Type" },
	{ "6960", "X.509 Online Certificate Status Protocol (OCSP)" },
	{ "7505", "A \"Null MX\" No Service Resource Record" },
	{ "7672", "SMTP Security via Opportunistic DANE TLS" },
	{ "7208", "Sender Policy Framework (SPF)" },
	{ "7489", "DMARC" },
	{ "8020", "NXDOMAIN: There Really Is Nothing Underneath" },
	{ "8314", "Cleartext Considered Obsolete: Use of TLS for Email" },
	{ "8446", "The Transport Layer Security (TLS) Protocol Version 1.3" },
};

/* docs/tls.md "The verification vocabulary", for the TLS facts. */
static const struct {
	const char *word, *meaning;
} verify_words[] = {
	{ "ok", "the chain reaches a trust anchor and every check passed" },
	{ "not-checked", "no trust anchors were configured, so nothing was verified" },
	{ "no-certificate", "the peer sent no certificate" },
	{ "self-signed", "the leaf signs itself and is not a trust anchor" },
	{ "unknown-ca", "no path from the chain to a trust anchor" },
	{ "bad-signature", "a signature in the chain does not verify" },
	{ "revoked", "a CRL lists the certificate" },
	{ "expired", "the certificate's notAfter has passed" },
	{ "not-yet-valid", "the certificate's notBefore is in the future" },
	{ "invalid", "another chain failure (the library's detail says which)" },
	{ "name-mismatch", "the chain is fine but no name in the leaf matches the name asked "
	                   "for (RFC 6125: dNSName SANs; the CN only without any)" },
	{ "staple-missing", "an OCSP staple was required and none came" },
};

void
html_esc(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; s != NULL && i < n && s[i]; i++) {
		switch (s[i]) {
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		default:
			buf_add(out, s + i, 1);
		}
	}
}

static void
head(struct buf *b, const char *title)
{
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	            "<meta name=\"viewport\" content=\"width=device-width\"><title>");
	html_esc(b, title, (size_t)-1);
	buf_addf(b,
	         "</title><style>%s</style></head><body>\n"
	         "<a class=\"skip\" href=\"#main\">Skip to the content</a>\n",
	         css);
}

static int
write_file(const char *dir, const char *name, struct buf *b, struct err *e)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (b->oom || (f = fopen(path, "w")) == NULL) {
		err_set(e, errno ? errno : ENOMEM, "cannot write %s", path);
		return -1;
	}
	fputs(b->p ? b->p : "", f);
	if (fclose(f) != 0) {
		err_set(e, errno, "cannot write %s", path);
		return -1;
	}
	return 0;
}

static const char *
status_word(const struct result *r)
{
	return r->status == RESULT_PASS ? "pass" : r->status == RESULT_FAIL ? "fail" : "error";
}

/* ---- the index ------------------------------------------------------------------------ */

static void
index_features(struct buf *b, const struct html_run *runs, size_t n)
{
	const char *done[256];
	size_t nd = 0;

	buf_adds(b, "<h2 id=\"features\">Features and backends</h2>\n<table><caption>Scenarios "
	            "passed per feature folder and TLS backend, with the time they took"
	            "</caption>\n<tr><th scope=\"col\">feature</th><th scope=\"col\">openssl"
	            "</th><th scope=\"col\">gnutls</th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < nd && strcmp(done[k], runs[i].s->feature) != 0)
			k++;
		if (k < nd || nd == 256)
			continue;
		done[nd++] = runs[i].s->feature;
		buf_adds(b, "<tr><th scope=\"row\"><a href=\"#f-");
		html_esc(b, runs[i].s->feature, (size_t)-1);
		buf_adds(b, "\">");
		html_esc(b, runs[i].s->feature, (size_t)-1);
		buf_adds(b, "</a></th>");
		for (int be = 0; be < 2; be++) {
			size_t pass = 0, total = 0;
			double secs = 0;
			for (size_t j = i; j < n; j++) {
				if (strcmp(runs[j].s->feature, runs[i].s->feature) != 0 ||
				    strcmp(runs[j].res->backend, be ? "gnutls" : "openssl") != 0)
					continue;
				total++;
				pass += runs[j].res->status == RESULT_PASS;
				secs += runs[j].res->seconds;
			}
			if (total == 0)
				buf_adds(b, "<td>-</td>");
			else
				buf_addf(b, "<td class=\"%s\">%zu/%zu passed, %.1f s</td>",
				         pass == total ? "pass" : "fail", pass, total, secs);
		}
		buf_adds(b, "</tr>\n");
	}
	buf_adds(b, "</table>\n");
}

static void
index_scenarios(struct buf *b, const struct html_run *runs, size_t n)
{
	const char *feature = NULL;

	for (size_t i = 0; i < n; i++) {
		if (i > 0 && runs[i].s == runs[i - 1].s)
			continue;
		if (feature == NULL || strcmp(feature, runs[i].s->feature) != 0) {
			if (feature != NULL)
				buf_adds(b, "</table>\n");
			feature = runs[i].s->feature;
			buf_adds(b, "<h2 id=\"f-");
			html_esc(b, feature, (size_t)-1);
			buf_adds(b, "\">");
			html_esc(b, feature, (size_t)-1);
			buf_adds(b,
			         "</h2>\n<table><tr><th scope=\"col\">scenario</th><th "
			         "scope=\"col\">openssl</th><th scope=\"col\">gnutls</th></tr>\n");
		}
		buf_adds(b, "<tr><td><a href=\"");
		html_esc(b, runs[i].s->slug, (size_t)-1);
		buf_adds(b, ".html\">");
		html_esc(b, runs[i].s->id, (size_t)-1);
		buf_adds(b, "</a> ");
		html_esc(b, runs[i].s->title, (size_t)-1);
		buf_adds(b, "</td>");
		for (int be = 0; be < 2; be++) {
			const struct html_run *r = NULL;
			for (size_t j = i; j < n && runs[j].s == runs[i].s; j++)
				if (strcmp(runs[j].res->backend, be ? "gnutls" : "openssl") == 0)
					r = &runs[j];
			if (r == NULL)
				buf_adds(b, "<td>-</td>");
			else
				buf_addf(b, "<td class=\"%s\">%s, %.2f s</td>", status_word(r->res),
				         status_word(r->res), r->res->seconds);
		}
		buf_adds(b, "</tr>\n");
	}
	if (feature != NULL)
		buf_adds(b, "</table>\n");
}

/* ---- a scenario's page ----------------------------------------------------------------- */

/* The spec: line, with each cited RFC's title. */
static void
page_spec(struct buf *b, const struct scenario *s)
{
	buf_adds(b, "<h2 id=\"spec\">What it checks</h2>\n<p>Cites: <strong>");
	html_esc(b, s->spec, (size_t)-1);
	buf_adds(b, "</strong></p>\n<ul>\n");
	for (size_t i = 0; i < sizeof rfcs / sizeof rfcs[0]; i++) {
		char pat[32];
		snprintf(pat, sizeof pat, "RFC %s", rfcs[i].num);
		const char *p = strstr(s->spec, pat);
		if (p == NULL || (p[strlen(pat)] >= '0' && p[strlen(pat)] <= '9'))
			continue;
		buf_addf(b, "<li>RFC %s: %s</li>\n", rfcs[i].num, rfcs[i].title);
	}
	buf_adds(b, "</ul>\n");
}

static void
page_notes(struct buf *b, const char *source)
{
	int any = 0;

	for (const char *p = source; p && *p && *p != '[';) {
		size_t n = strcspn(p, "\n");
		if (*p == '#') {
			if (!any)
				buf_adds(b, "<h3>The scenario's notes</h3>\n<blockquote><p>");
			any = 1;
			html_esc(b, p + 1 + (p[1] == ' '), n - 1 - (p[1] == ' '));
			buf_adds(b, "\n");
		}
		p += n + (p[n] == '\n');
	}
	if (any)
		buf_adds(b, "</p></blockquote>\n");
}

static void
cert_row(struct buf *b, const char *what, const char *value)
{
	if (value[0] == '\0')
		return;
	buf_addf(b, "<tr><th scope=\"row\">%s</th><td><code>", what);
	html_esc(b, value, (size_t)-1);
	buf_adds(b, "</code></td></tr>");
}

static void
cert_table(struct buf *b, int depth, const struct html_cert_fields *f)
{
	buf_addf(b, "<dd><table><caption>certificate at depth %d</caption>", depth);
	cert_row(b, "subject", f->subject);
	cert_row(b, "issuer", f->issuer);
	cert_row(b, "valid from", f->notbefore);
	cert_row(b, "valid until", f->notafter);
	cert_row(b, "DNS names (subjectAltName)", f->dns);
	buf_adds(b, "</table></dd>\n");
}

/* The handshakes of one run: facts, chain, the verdict explained. */
static void
page_tls(struct buf *b, const char *facts)
{
	if (facts == NULL || *facts == '\0')
		return;
	buf_adds(b, "<dl class=\"facts\">\n");
	for (const char *p = facts; *p;) {
		size_t n = strcspn(p, "\n");
		struct html_cert_fields f;
		if (strncmp(p, "handshake ", 10) == 0) {
			buf_adds(b, "<dt>Handshake (harness client's view)</dt><dd><code>");
			html_esc(b, p + 10, n - 10);
			buf_adds(b, "</code>");
			const char *v = strstr(p, " verify=");
			for (size_t i = 0;
			     v && v < p + n && i < sizeof verify_words / sizeof *verify_words;
			     i++) {
				size_t wl = strlen(verify_words[i].word);
				if (strncmp(v + 8, verify_words[i].word, wl) == 0 &&
				    v[8 + wl] == ' ')
					buf_addf(b, "<br>Verdict <strong>%s</strong>: %s.",
					         verify_words[i].word, verify_words[i].meaning);
			}
			buf_adds(b, "</dd>\n");
		} else if (html_cert_parse(p, n, &f) >= 0) {
			cert_table(b, html_cert_parse(p, n, &f), &f);
		}
		p += n + (p[n] == '\n');
	}
	buf_adds(b, "</dl>\n<p>Depth 0 is the server's own certificate (the leaf); each next "
	            "depth is the certificate that signed the one before (RFC 5280 6.1). The "
	            "client trusts the test PKI's root (<code>ca-bundle.pem</code>).</p>\n");
}

/* What each TLS peer was given to present: the delivery side's chain. */
static void
page_peer_certs(struct buf *b, const char *text)
{
	struct html_cert_fields f;
	int depth;

	if (text == NULL)
		return;
	buf_adds(b, "<h3>What the peers present</h3>\n<p>The chain each scripted peer was "
	            "given (its <code>tls =</code> line): what refmta, as the client, had to "
	            "verify. refmta's log line (<code>CV=</code>, or why the host was "
	            "abandoned) says what it concluded.</p>\n<dl class=\"facts\">\n");
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (strncmp(p, "peer ", 5) == 0) {
			buf_adds(b, "<dt>peer ");
			html_esc(b, p + 5, n - 5);
			buf_adds(b, "</dt>\n");
		} else if ((depth = html_cert_parse(p, n, &f)) >= 0) {
			cert_table(b, depth, &f);
		}
		p += n + (p[n] == '\n');
	}
	buf_adds(b, "</dl>\n");
}

static void
page_run(struct buf *b, const struct html_run *r, const char *id)
{
	buf_addf(b, "<p>Result on <strong>%s</strong>: <span class=\"%s\">%s</span>, %.2f s",
	         r->res->backend, status_word(r->res), status_word(r->res), r->res->seconds);
	if (r->res->message != NULL) {
		buf_adds(b, " (");
		html_esc(b, r->res->message, (size_t)-1);
		buf_adds(b, ")");
	}
	buf_adds(b, "</p>\n");
	if (r->keys != NULL) {
		buf_adds(b, "<p>For Wireshark (docs/teaching.md): <a href=\"");
		html_esc(b, r->keys, (size_t)-1);
		buf_adds(b, "/keylog.txt\">key log</a>, <a href=\"");
		html_esc(b, r->keys, (size_t)-1);
		buf_adds(b, "/traffic.pcap\">capture</a> (when the machine allowed one).</p>\n");
	}
	if (r->actual == NULL) {
		buf_adds(b, "<p>The run produced no transcript.</p>\n");
		return;
	}
	html_chart(b, r, id);
	page_tls(b, r->facts);
	page_peer_certs(b, r->peer_certs);
	if (r->res->diff != NULL) {
		buf_adds(b, "<h3>Golden against this run</h3>\n");
		html_diff(b, r->golden ? r->golden : "", "golden", r->actual, "actual");
	}
}

static void
page_source(struct buf *b, const char *source, const struct html_run *r)
{
	buf_adds(b, "<h2 id=\"source\">The scenario and its golden</h2>\n<div class=\"side\">"
	            "<div><h3>");
	html_esc(b, r->s->path, (size_t)-1);
	buf_adds(b, "</h3><pre tabindex=\"0\">");
	html_esc(b, source ? source : "(unreadable)", (size_t)-1);
	buf_adds(b, "</pre></div><div><h3>golden</h3><pre tabindex=\"0\">");
	html_esc(b, r->golden ? r->golden : "(no golden yet)", (size_t)-1);
	buf_adds(b, "</pre></div></div>\n");
}

static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t cap = 0;

	if (f == NULL)
		return NULL;
	if (getdelim(&s, &cap, '\0', f) < 0) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static void
page(struct buf *b, const struct html_run *v, size_t k, const char *prev, const char *next)
{
	const struct scenario *s = v[0].s;
	char *source = read_text(s->path);
	char title[600];

	snprintf(title, sizeof title, "%s %s", s->id, s->title);
	head(b, title);
	buf_adds(b, "<nav aria-label=\"scenarios\"><a href=\"index.html\">Index</a>");
	if (prev != NULL)
		buf_addf(b, " | <a rel=\"prev\" href=\"%s.html\">previous: %s</a>", prev, prev);
	if (next != NULL)
		buf_addf(b, " | <a rel=\"next\" href=\"%s.html\">next: %s</a>", next, next);
	buf_adds(b, "</nav>\n<main id=\"main\"><h1>");
	html_esc(b, title, (size_t)-1);
	buf_adds(b, "</h1>\n");
	page_spec(b, s);
	page_notes(b, source);
	int same = k == 2 && v[0].actual && v[1].actual && strcmp(v[0].actual, v[1].actual) == 0;
	buf_adds(b, "<h2 id=\"chart\">The sequence</h2>\n");
	if (same) {
		buf_adds(b, "<p>Both backends produced the same transcript; one chart shows "
		            "both. Its TLS blocks are from the run with refmta on OpenSSL (the "
		            "harness client then uses GnuTLS: every run is an interop check); "
		            "each run's facts follow the chart.</p>\n");
		page_run(b, &v[0], "seq-openssl");
		buf_addf(b,
		         "<p>Result on <strong>gnutls</strong>: <span class=\"%s\">%s</span>, "
		         "%.2f s</p>\n",
		         status_word(v[1].res), status_word(v[1].res), v[1].res->seconds);
		page_tls(b, v[1].facts);
	} else {
		for (size_t i = 0; i < k; i++) {
			char id[32];
			snprintf(id, sizeof id, "seq-%s", v[i].res->backend);
			buf_addf(b, "<h3>%s</h3>\n", v[i].res->backend);
			page_run(b, &v[i], id);
		}
		if (k == 2 && v[0].actual && v[1].actual) {
			buf_adds(b, "<h2 id=\"backends\">Where the backends differ</h2>\n");
			if (s->backend_specific != NULL) {
				buf_adds(b, "<p>The scenario explains: ");
				html_esc(b, s->backend_specific, (size_t)-1);
				buf_adds(b, "</p>\n");
			}
			html_diff(b, v[0].actual, v[0].res->backend, v[1].actual,
			          v[1].res->backend);
		}
	}
	html_dane_explain(b, v[0].actual);
	page_source(b, source, &v[0]);
	buf_adds(b, "</main></body></html>\n");
	free(source);
}

int
html_write(const char *dir, const struct html_run *runs, size_t n, double seconds, struct err *e)
{
	struct buf b = { 0 };
	size_t pass = 0;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		err_set(e, errno, "cannot make %s", dir);
		return -1;
	}
	for (size_t i = 0; i < n;) {
		size_t k = 1, next;
		while (i + k < n && runs[i + k].s == runs[i].s)
			k++;
		next = i + k;
		char name[600];
		snprintf(name, sizeof name, "%s.html", runs[i].s->slug);
		page(&b, &runs[i], k, i > 0 ? runs[i - 1].s->slug : NULL,
		     next < n ? runs[next].s->slug : NULL);
		if (write_file(dir, name, &b, e) != 0) {
			buf_free(&b);
			return -1;
		}
		buf_free(&b);
		i += k;
	}
	for (size_t i = 0; i < n; i++)
		pass += runs[i].res->status == RESULT_PASS;
	head(&b, "refmta scenarios: the teaching view");
	buf_addf(&b,
	         "<main id=\"main\"><h1>refmta scenarios</h1>\n<p>%zu runs, %zu passed, %zu "
	         "failed, in %.1f s. Each scenario runs once per TLS backend of refmta; each page "
	         "draws the run as a sequence chart (docs/teaching.md).</p>\n",
	         n, pass, n - pass, seconds);
	index_features(&b, runs, n);
	index_scenarios(&b, runs, n);
	buf_adds(&b, "</main></body></html>\n");
	int rc = write_file(dir, "index.html", &b, e);
	buf_free(&b);
	return rc;
}
