/*
 * html_chart_int.h - what html_chart.c (the sequence chart) shares with
 * html_chart_lanes.c (the fakeocsp lane and the DANE match block): the
 * chart's events and lanes.  runtest-internal; events own their text.
 */
#ifndef RUNTEST_HTML_CHART_INT_H
#define RUNTEST_HTML_CHART_INT_H

#include <stddef.h>

#include "buf.h"
#include "html_cert.h"
#include "scenario.h"

#define LANE_MAX 16

enum ev_kind { EV_ARROW, EV_NOTE, EV_TLS, EV_HEADING };

struct ev {
	enum ev_kind kind;
	int from, to;      /* lanes (a note: from only) */
	const char *cls;   /* CSS class: cmd, reply, dns, log, warn, harness, tls */
	const char *badge; /* DNS verdict, or NULL */
	struct buf text;   /* first line: the label; further lines: detail */
	int lines;
};

struct chart {
	const char *lanes[LANE_MAX];
	int nlanes;
	struct ev *ev;
	size_t nev, cap;
	const struct scenario *s;
	const char *facts;      /* next handshake block in tls-facts.txt */
	const char *peer_certs; /* html_cert_peer_chains(), or NULL */
	const char *ocsp;       /* next "fetch" block of ocsp-requests.txt, or NULL */
	int gap, width;         /* between lanes; of the whole chart */
};

/* The lane called `name`, or -1. */
int chart_lane_find(const struct chart *c, const char *name);
/* A new event at the end (NULL when out of memory; callers accept NULL). */
struct ev *chart_add(struct chart *c, enum ev_kind k, int from, int to, const char *cls);
/* Append a line of text to `e` (NULL: nothing). */
void chart_ev_line(struct ev *e, const char *s, size_t n);
/* The certificate at `depth` of the first chain peer `name` was given
 * (chart.peer_certs); 1 if there is one, into `f`. */
int chart_peer_cert_at(const struct chart *c, const char *name, int depth,
                       struct html_cert_fields *f);

/* html_chart_lanes.c.  The K: line `t` of an ocsp-serve, ocsp-stop or
 * ocsp-fetch step, with a fetch's requests and answers from chart.ocsp on
 * the fakeocsp lane; 0 when `t` is none of those (or there is no lane). */
int chart_ocsp_step(struct chart *c, const char *t);
/* refmta's log line `t` (time stamp removed) when it says which TLSA record
 * matched at which depth: a block with the record in words and the
 * certificates concerned; 0 when it is not such a line. */
int chart_dane_match(struct chart *c, const char *t);

#endif
