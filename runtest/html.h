/*
 * html.h - the teaching view (runtest --html DIR, docs/teaching.md): a
 * static, offline site with an index (feature x backend) and one page per
 * scenario: a sequence chart drawn from the transcript, the TLS facts of
 * each handshake, the scenario beside its golden, the sections it cites,
 * and the two backends' transcripts side by side when they differ.  Reads
 * results; never decides them.  No JavaScript, no network, works from
 * file://.
 */
#ifndef RUNTEST_HTML_H
#define RUNTEST_HTML_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "report.h"
#include "scenario.h"

/* One (scenario, backend) run as the report needs it; all borrowed. */
struct html_run {
	const struct scenario *s;
	const struct result *res;
	const char *actual;     /* the transcript, NULL when the run could not play */
	const char *golden;     /* the golden's text, NULL when there is none */
	const char *facts;      /* WORK/tls-facts.txt (html_cert.h), NULL when none */
	const char *peer_certs; /* html_cert_peer_chains(), NULL when none */
	const char *ocsp;       /* WORK/ocsp-requests.txt (runtest/run_ocsp.c), NULL when none */
	const char *keys; /* "keys/SLUG-BACKEND" under DIR with the key log and pcap, or NULL */
};

/*
 * Write DIR/index.html and DIR/SLUG.html for each scenario.  `runs` holds a
 * scenario's runs next to each other (runtest's job order).  0, or -1 with
 * `e` when a file cannot be written.
 */
int html_write(const char *dir, const struct html_run *runs, size_t n, double seconds,
               struct err *e) MUST_CHECK;

/* html_chart.c: the sequence chart of run `r`'s transcript (SVG with its
 * text alternative, an ordered list), `id` unique on the page; r->facts,
 * r->peer_certs (html_cert.h) and r->ocsp may be NULL. */
void html_chart(struct buf *out, const struct html_run *r, const char *id);

/* html_chart_lanes.c: "How DANE decided" for a transcript with TLSA
 * lookups or DANE log lines (the records, refmta's DANE lines, the rules in
 * words); nothing for any other (or NULL). */
void html_dane_explain(struct buf *out, const char *transcript);

/* html_diff.c: the two texts line by line, what differs marked (<del>/<ins>). */
void html_diff(struct buf *out, const char *a, const char *a_name, const char *b,
               const char *b_name);

/* HTML-escape s (NULL as "") into out; n octets, or all when n is (size_t)-1. */
void html_esc(struct buf *out, const char *s, size_t n);

#endif
