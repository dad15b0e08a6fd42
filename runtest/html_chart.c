/*
 * html_chart.c - a transcript (docs/scenario-format.md "The transcript")
 * drawn as a sequence chart (html.h): one lane per party, an arrow per
 * command, reply and DNS exchange, a block per TLS handshake, a note per
 * log line, in transcript order; a lane for fakeocsp with each request and
 * answer of an ocsp-fetch step, and a block for each DANE match refmta
 * logged (both in html_chart_lanes.c).  Peers' lines come at the end of a
 * transcript (each peer reports what it saw when the run ends), so they are
 * drawn there, under a heading that says so.  The same events are written
 * as an ordered list: the chart's text alternative.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "html_cert.h"
#include "html_chart_int.h"

#define LANE_GAP 230
#define LANE_X0 120
#define LABEL_MAX 34 /* characters shown on an arrow; the rest in its <title> */

static int
lane(struct chart *c, const char *name)
{
	for (int i = 0; i < c->nlanes; i++)
		if (strcmp(c->lanes[i], name) == 0)
			return i;
	if (c->nlanes == LANE_MAX)
		return 1;
	c->lanes[c->nlanes] = name;
	return c->nlanes++;
}

/* The lane called `name`, or -1. */
int
chart_lane_find(const struct chart *c, const char *name)
{
	for (int i = 0; i < c->nlanes; i++)
		if (strcmp(c->lanes[i], name) == 0)
			return i;
	return -1;
}

struct ev *
chart_add(struct chart *c, enum ev_kind k, int from, int to, const char *cls)
{
	if (c->nev == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct ev *v = realloc(c->ev, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		c->ev = v;
		c->cap = cap;
	}
	struct ev *e = &c->ev[c->nev++];
	*e = (struct ev){ .kind = k, .from = from, .to = to, .cls = cls };
	return e;
}

void
chart_ev_line(struct ev *e, const char *s, size_t n)
{
	if (e == NULL)
		return;
	if (e->lines++)
		buf_adds(&e->text, "\n");
	buf_add(&e->text, s, n);
}

/* An SMTP reply line that another line of the same reply follows ("250-"). */
static int
reply_continues(const char *s)
{
	return strlen(s) >= 4 && s[0] >= '1' && s[0] <= '5' && s[3] == '-';
}

/* The next block of tls-facts.txt, appended as short detail lines. */
static void
tls_facts(struct chart *c, struct ev *e)
{
	const char *p = c->facts;
	int first = 1;

	while (p != NULL && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		struct html_cert_fields f;
		int depth;
		if (strncmp(p, "handshake ", 10) == 0 && !first)
			break;
		if ((depth = html_cert_parse(p, n, &f)) >= 0 && e != NULL) {
			buf_addf(&e->text, "\ndepth %d: %s, issued by %s", depth, f.subject,
			         f.issuer);
			if (f.notafter[0])
				buf_addf(&e->text, "\n  valid %s to %s%s%s", f.notbefore,
				         f.notafter, f.dns[0] ? ", DNS names " : "", f.dns);
			e->lines += f.notafter[0] ? 2 : 1;
		} else if (strncmp(p, "handshake ", 10) == 0 && e != NULL) {
			const char *g = strstr(p, " group=");
			const char *cl = p + 17; /* "handshake client=" */
			buf_addf(&e->text, "\nclient library %.*s, key exchange group %.*s",
			         (int)strcspn(cl, " \n"), cl, g ? (int)strcspn(g + 7, " \n") : 1,
			         g ? g + 7 : "-");
			e->lines++;
		}
		first = 0;
		p += n + (nl != NULL);
	}
	c->facts = p;
}

/* What peer `name` was given to present (html_cert_peer_chains()), as
 * short detail lines of its TLS block. */
static void
peer_chain(const struct chart *c, const char *name, struct ev *e)
{
	int mine = 0;

	for (const char *p = c->peer_certs; e != NULL && p != NULL && *p;) {
		size_t n = strcspn(p, "\n"), nl = strlen(name);
		struct html_cert_fields f;
		int depth;
		if (strncmp(p, "peer ", 5) == 0)
			mine = strncmp(p + 5, name, nl) == 0 && p[5 + nl] == ' ';
		else if (mine && (depth = html_cert_parse(p, n, &f)) >= 0) {
			buf_addf(&e->text, "\npresents depth %d: %s, issued by %s%s%s", depth,
			         f.subject, f.issuer, f.dns[0] ? ", DNS names " : "", f.dns);
			e->lines++;
		}
		p += n + (p[n] == '\n');
	}
}

/* The certificate at `depth` of the first chain peer `name` was given; 1 if there is one. */
int
chart_peer_cert_at(const struct chart *c, const char *name, int depth, struct html_cert_fields *f)
{
	int mine = 0, seen = 0;

	for (const char *p = c->peer_certs; p != NULL && *p;) {
		size_t n = strcspn(p, "\n"), nl = strlen(name);
		if (strncmp(p, "peer ", 5) == 0) {
			mine = !seen && strncmp(p + 5, name, nl) == 0 && p[5 + nl] == ' ';
			seen |= mine;
		} else if (mine && html_cert_parse(p, n, f) == depth)
			return 1;
		p += n + (p[n] == '\n');
	}
	return 0;
}

/* The DNS status word of "TYPE NAME STATUS[: DATA]". */
static const char *
dns_badge(const char *t)
{
	static const char *const words[] = { "secure",   "insecure", "bogus",
		                             "nxdomain", "nodata",   "tempfail" };
	const char *sp = strchr(t, ' ');
	sp = sp ? strchr(sp + 1, ' ') : NULL;
	for (size_t i = 0; sp && i < sizeof words / sizeof words[0]; i++)
		if (strncmp(sp + 1, words[i], strlen(words[i])) == 0)
			return words[i];
	return "answer";
}

struct parse {
	int target;  /* the lane the client talks to */
	int asker;   /* who asked the last DNS question: client (0) or refmta (1) */
	int in_data; /* C: lines are message text until "." */
	struct ev *reply, *msg, *mail;
	struct ev *peer_reply[LANE_MAX];
	int peer_heading;
};

static void
parse_peer(struct chart *c, struct parse *ps, const char *t)
{
	const char *sp = strchr(t, ' ');
	char name[64];
	size_t n = sp ? (size_t)(sp - t) : strlen(t);
	if (n >= sizeof name)
		n = sizeof name - 1;
	memcpy(name, t, n);
	name[n] = '\0';
	int p = -1;
	for (int i = 2; i < c->nlanes; i++)
		if (strcmp(c->lanes[i], name) == 0)
			p = i;
	if (p < 0) { /* lanes come from the scenario's [peer] sections */
		chart_ev_line(chart_add(c, EV_NOTE, 1, 1, "log"), t, strlen(t));
		return;
	}
	const char *rest = sp ? sp + 1 : "";
	if (!ps->peer_heading) {
		struct ev *h = chart_add(c, EV_HEADING, 0, 0, "heading");
		chart_ev_line(h, "what the peers saw (reported when the run ends)", 47);
		ps->peer_heading = 1;
	}
	if (strncmp(rest, "< ", 2) == 0) {
		ps->peer_reply[p] = NULL;
		chart_ev_line(chart_add(c, EV_ARROW, 1, p, "cmd"), rest + 2, strlen(rest + 2));
	} else if (strncmp(rest, "> ", 2) == 0) {
		struct ev *e = ps->peer_reply[p];
		if (e == NULL)
			e = chart_add(c, EV_ARROW, p, 1, "reply");
		chart_ev_line(e, rest + 2, strlen(rest + 2));
		ps->peer_reply[p] = reply_continues(rest + 2) ? e : NULL;
	} else if (strncmp(rest, "- (TLS ", 7) == 0) {
		ps->peer_reply[p] = NULL;
		struct ev *e = chart_add(c, EV_TLS, 1, p, "tls");
		chart_ev_line(e, rest + 3, strlen(rest + 3) - 1);
		peer_chain(c, name, e);
	} else if (strcmp(rest, "- (connection)") == 0) {
		chart_ev_line(chart_add(c, EV_ARROW, 1, p, "cmd"), "(TCP connect)", 13);
	} else {
		chart_ev_line(chart_add(c, EV_NOTE, p, p, "log"), rest, strlen(rest));
	}
}

/* C: and S: lines: the client and what it is connected to. */
static void
parse_client(struct chart *c, struct parse *ps, char pfx, const char *t)
{
	if (pfx == 'S') {
		struct ev *e = ps->reply;
		if (e == NULL)
			e = chart_add(c, EV_ARROW, ps->target, 0, "reply");
		chart_ev_line(e, t, strlen(t));
		ps->reply = reply_continues(t) ? e : NULL;
		ps->in_data = strncmp(t, "354", 3) == 0;
		ps->msg = NULL;
		return;
	}
	ps->reply = NULL;
	if (strncmp(t, "(connect", 8) == 0) {
		const char *p = strstr(t, "to peer ");
		ps->target = 1;
		if (p != NULL) {
			char name[64];
			if (sscanf(p + 8, "%63[^,) ]", name) == 1)
				for (int i = 2; i < c->nlanes; i++)
					if (strcmp(c->lanes[i], name) == 0)
						ps->target = i;
		}
	}
	if (ps->in_data) {
		if (ps->msg == NULL) {
			ps->msg = chart_add(c, EV_ARROW, 0, ps->target, "cmd");
			chart_ev_line(ps->msg, "(message text)", 14);
		}
		chart_ev_line(ps->msg, t, strlen(t));
		if (strcmp(t, ".") == 0)
			ps->in_data = 0, ps->msg = NULL;
		return;
	}
	chart_ev_line(chart_add(c, EV_ARROW, 0, ps->target, "cmd"), t, strlen(t));
}

static void
parse_line(struct chart *c, struct parse *ps, const char *line)
{
	char pfx = line[0];
	const char *t = line[1] == ':' ? line + (line[2] == ' ' ? 3 : 2) : line;
	int dns = chart_lane_find(c, "fakedns");

	if (pfx != 'S' && pfx != 'C')
		ps->reply = NULL;
	if (pfx != 'M')
		ps->mail = NULL;
	switch (line[1] == ':' ? pfx : '?') {
	case 'C':
	case 'S':
		ps->asker = 0;
		parse_client(c, ps, pfx, t);
		break;
	case 'T': {
		struct ev *e = chart_add(c, EV_TLS, 0, ps->target, "tls");
		chart_ev_line(e, t, strlen(t));
		tls_facts(c, e);
		ps->asker = 0;
		break;
	}
	case 'P':
		parse_peer(c, ps, t);
		break;
	case 'D': {
		if (dns < 0) {
			chart_ev_line(chart_add(c, EV_NOTE, ps->asker, ps->asker, "dns"), t,
			              strlen(t));
			break;
		}
		const char *sp = strchr(t, ' ');
		sp = sp ? strchr(sp + 1, ' ') : NULL;
		struct ev *q = chart_add(c, EV_ARROW, ps->asker, dns, "dns");
		chart_ev_line(q, t, sp ? (size_t)(sp - t) : strlen(t));
		if (q != NULL)
			buf_adds(&q->text, " ?");
		struct ev *a = chart_add(c, EV_ARROW, dns, ps->asker, "dns");
		chart_ev_line(a, t, strlen(t));
		if (a != NULL)
			a->badge = dns_badge(t);
		break;
	}
	case 'M':
		if (ps->mail == NULL) {
			ps->mail = chart_add(c, EV_NOTE, 1, 1, "log");
			chart_ev_line(ps->mail, "delivered:", 10);
		}
		chart_ev_line(ps->mail, t, strlen(t));
		ps->asker = 1;
		break;
	case 'L':
		/* "2026-01-01 00:00:00 " is the frozen test clock: not worth a column. */
		if (strlen(t) > 20 && t[4] == '-' && t[10] == ' ' && t[13] == ':')
			t += 20;
		if (!chart_dane_match(c, t))
			chart_ev_line(chart_add(c, EV_NOTE, 1, 1, "log"), t, strlen(t));
		ps->asker = 1;
		break;
	case 'Q':
		chart_ev_line(chart_add(c, EV_NOTE, 1, 1, "harness"), t, strlen(t));
		ps->asker = 1;
		break;
	case 'F':
		chart_ev_line(chart_add(c, EV_NOTE, 0, 0, "harness"), t, strlen(t));
		break;
	case '!':
		chart_ev_line(chart_add(c, EV_NOTE, 0, 0, "warn"), t, strlen(t));
		break;
	case 'K':
		if (!chart_ocsp_step(c, t))
			chart_ev_line(chart_add(c, EV_NOTE, 1, 1, "log"), line, strlen(line));
		break;
	default:
		chart_ev_line(chart_add(c, EV_NOTE, 1, 1, "log"), line, strlen(line));
	}
}

static void
build(struct chart *c, const struct scenario *s, const char *transcript)
{
	struct parse ps = { .target = 1 };
	char *copy = strdup(transcript ? transcript : ""), *save = NULL;

	lane(c, "harness client");
	lane(c, "refmta");
	for (size_t i = 0; i < s->npeers && c->nlanes < LANE_MAX - 2; i++)
		lane(c, s->peers[i].name);
	if (s->nzones > 0 || strstr(transcript ? transcript : "", "\nD: ") != NULL)
		lane(c, "fakedns");
	if (strstr(transcript ? transcript : "", "K: ocsp-serve") != NULL)
		lane(c, "fakeocsp");
	for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
		parse_line(c, &ps, l);
	free(copy);
}

/* ---- drawing --------------------------------------------------------------------------- */

static int
lx(const struct chart *c, int lane)
{
	return LANE_X0 + lane * c->gap;
}

/* Characters in the longest line of an event's text. */
static int
widest(const struct ev *e)
{
	int best = 0, cur = 0;
	for (const char *p = e->text.p ? e->text.p : ""; *p; p++) {
		if (*p == '\n')
			cur = 0;
		else if (((unsigned char)*p & 0xc0) != 0x80 && ++cur > best)
			best = cur;
	}
	return best;
}

/* Spread few lanes wider, and make room for the longest note and TLS line. */
static void
layout(struct chart *c)
{
	c->gap = c->nlanes <= 2 ? 480 : c->nlanes == 3 ? 340 : LANE_GAP;
	c->width = lx(c, c->nlanes - 1) + LANE_X0;
	for (size_t i = 0; i < c->nev; i++) {
		const struct ev *e = &c->ev[i];
		int w = 0;
		if (e->kind == EV_NOTE)
			w = lx(c, e->from) - 96 + 8 * (widest(e) < 100 ? widest(e) : 104) + 20;
		else if (e->kind == EV_TLS)
			w = 30 + 8 * (widest(e) < 150 ? widest(e) : 150);
		if (w > c->width)
			c->width = w;
	}
}

/* The first line of an event's text, cut to `max` characters (UTF-8 kept whole). */
static void
label(struct buf *out, const struct ev *e, size_t max)
{
	const char *t = e->text.p ? e->text.p : "";
	size_t n = strcspn(t, "\n"), chars = 0, i = 0;
	while (i < n && chars < max) {
		i++;
		while (i < n && ((unsigned char)t[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	html_esc(out, t, i);
	if (i < n)
		buf_adds(out, "\xe2\x80\xa6");
	if (e->lines > 1)
		buf_addf(out, " (+%d)", e->lines - 1);
}

static int
ev_height(const struct ev *e)
{
	switch (e->kind) {
	case EV_ARROW:
		return 30;
	case EV_TLS:
		return 16 + 15 * e->lines;
	case EV_HEADING:
		return 34;
	default:
		return 22;
	}
}

static void
draw_tls(struct buf *out, const struct chart *c, const struct ev *e, int y)
{
	int x = 10, w = c->width - 20, h = ev_height(e) - 6;
	const char *p = e->text.p ? e->text.p : "";

	buf_addf(out, "<g class=\"tls\"><title>TLS handshake: ");
	html_esc(out, p, (size_t)-1);
	buf_addf(out, "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\"/>", x,
	         y + 2, w, h);
	for (int k = 0; *p; k++) {
		size_t n = strcspn(p, "\n");
		buf_addf(out, "<text x=\"%d\" y=\"%d\">%s", x + 8, y + 16 + 15 * k,
		         k == 0 ? "TLS: " : "");
		html_esc(out, p, n > 150 ? 150 : n);
		buf_adds(out, "</text>");
		p += n + (p[n] == '\n');
	}
	buf_adds(out, "</g>\n");
}

static void
draw(struct buf *out, const struct chart *c, const char *id)
{
	int width = c->width, height = 60, y;
	size_t arrows = 0;

	for (size_t i = 0; i < c->nev; i++) {
		height += ev_height(&c->ev[i]);
		arrows += c->ev[i].kind == EV_ARROW;
	}
	buf_addf(out,
	         "<div class=\"chart\" tabindex=\"0\" role=\"region\" aria-label=\"sequence chart, "
	         "scrollable\"><svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
	         "aria-labelledby=\"%s-t %s-d\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	         "data-lanes=\"%d\" data-arrows=\"%zu\">",
	         id, id, id, width, height, width, height, c->nlanes, arrows);
	buf_addf(out, "<title id=\"%s-t\">Sequence chart</title><desc id=\"%s-d\">%d lanes (", id,
	         id, c->nlanes);
	for (int i = 0; i < c->nlanes; i++) {
		buf_adds(out, i ? ", " : "");
		html_esc(out, c->lanes[i], (size_t)-1);
	}
	buf_addf(out, "), %zu arrows; the list after the chart says the same in words.</desc>",
	         arrows);
	buf_addf(out,
	         "<defs><marker id=\"%s-h\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
	         "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">"
	         "<path d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>\n",
	         id);
	for (int i = 0; i < c->nlanes; i++) {
		buf_addf(out,
		         "<g class=\"lane\"><rect x=\"%d\" y=\"8\" width=\"200\" height=\"28\" "
		         "rx=\"4\"/><text x=\"%d\" y=\"27\" text-anchor=\"middle\">",
		         lx(c, i) - 100, lx(c, i));
		html_esc(out, c->lanes[i], (size_t)-1);
		buf_addf(out, "</text><line x1=\"%d\" y1=\"36\" x2=\"%d\" y2=\"%d\"/></g>\n",
		         lx(c, i), lx(c, i), height - 4);
	}
	y = 50;
	for (size_t i = 0; i < c->nev; i++) {
		const struct ev *e = &c->ev[i];
		int x1 = lx(c, e->from), x2 = lx(c, e->to);
		if (e->kind == EV_ARROW) {
			int mid = (x1 + x2) / 2;
			size_t max = (size_t)(abs(x2 - x1) / 7) - 2;
			buf_addf(out, "<g class=\"arrow %s\"><title>", e->cls);
			html_esc(out, e->text.p, (size_t)-1);
			buf_addf(out, "</title><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
			         mid, y + 12);
			label(out, e, max > LABEL_MAX * 3 ? LABEL_MAX * 3 : max);
			buf_addf(out,
			         "</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			         "marker-end=\"url(#%s-h)\"/>",
			         x1, y + 20, x2, y + 20, id);
			if (e->badge != NULL)
				buf_addf(out,
				         "<text class=\"badge %s\" x=\"%d\" y=\"%d\">%s</text>",
				         e->badge, (x1 < x2 ? x1 : x2) + 6, y + 30, e->badge);
			buf_adds(out, "</g>\n");
		} else if (e->kind == EV_TLS) {
			draw_tls(out, c, e, y);
		} else if (e->kind == EV_HEADING) {
			buf_addf(out, "<text class=\"heading\" x=\"10\" y=\"%d\">", y + 22);
			html_esc(out, e->text.p, (size_t)-1);
			buf_adds(out, "</text>\n");
		} else {
			buf_addf(out, "<g class=\"note %s\"><title>", e->cls);
			html_esc(out, e->text.p, (size_t)-1);
			buf_addf(out, "</title><text x=\"%d\" y=\"%d\">", x1 - 96, y + 15);
			label(out, e, 100);
			buf_adds(out, "</text></g>\n");
		}
		y += ev_height(e);
	}
	buf_adds(out, "</svg></div>\n");
}

/* The text alternative: the same events as an ordered list. */
static void
draw_list(struct buf *out, const struct chart *c, const char *id)
{
	buf_addf(out,
	         "<details class=\"seq-text\"><summary>The chart in words (%zu events)"
	         "</summary><ol id=\"%s-list\">\n",
	         c->nev, id);
	for (size_t i = 0; i < c->nev; i++) {
		const struct ev *e = &c->ev[i];
		buf_adds(out, "<li>");
		if (e->kind == EV_ARROW) {
			html_esc(out, c->lanes[e->from], (size_t)-1);
			buf_adds(out, " \xe2\x86\x92 ");
			html_esc(out, c->lanes[e->to], (size_t)-1);
		} else if (e->kind == EV_TLS) {
			buf_adds(out, "TLS handshake, ");
			html_esc(out, c->lanes[e->from], (size_t)-1);
			buf_adds(out, " with ");
			html_esc(out, c->lanes[e->to], (size_t)-1);
		} else if (e->kind == EV_HEADING) {
			buf_adds(out, "then");
		} else {
			buf_adds(out, "note at ");
			html_esc(out, c->lanes[e->from], (size_t)-1);
		}
		if (e->badge != NULL)
			buf_addf(out, " [%s]", e->badge);
		buf_adds(out, ": <code>");
		html_esc(out, e->text.p, (size_t)-1);
		buf_adds(out, "</code></li>\n");
	}
	buf_adds(out, "</ol></details>\n");
}

void
html_chart(struct buf *out, const struct html_run *r, const char *id)
{
	struct chart c = {
		.s = r->s, .facts = r->facts, .peer_certs = r->peer_certs, .ocsp = r->ocsp
	};

	build(&c, r->s, r->actual);
	layout(&c);
	draw(out, &c, id);
	draw_list(out, &c, id);
	for (size_t i = 0; i < c.nev; i++)
		buf_free(&c.ev[i].text);
	free(c.ev);
}
