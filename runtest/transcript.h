/*
 * transcript.h - the text a run produces and a golden pins down: one line
 * per event, a one-letter prefix saying whose (C: client, S: server, T: TLS
 * facts, L: refmta's log, M: delivered mail, Q: queue runs, !: the harness
 * saw something other than the step expected).
 *
 * Normalisation is deliberately small (DESIGN.md principle 4): the run's
 * work directory, client port numbers, refmta's version, and what the
 * scenario declares.
 */
#ifndef RUNTEST_TRANSCRIPT_H
#define RUNTEST_TRANSCRIPT_H

#include <stddef.h>

#include "buf.h"
#include "strlist.h"

struct transcript {
	struct buf text; /* text.p: the transcript so far (NULL before the first line) */
	const struct strlist *normalize; /* the scenario's "REGEX => REPLACEMENT" */
	const char *workdir;             /* the run's directory, shown as "@WORK@"; may be NULL */
};

/*
 * The display limit: a line's text (after the prefix) longer than this
 * many octets is cut there and ends in the marker, which says how many
 * octets were left out (docs/scenario-format.md "The transcript").  Lines
 * of the protocols (SMTP text lines: 1000 octets, RFC 5321 4.5.3.1.6) fit.
 */
#define TRANSCRIPT_LINE_MAX 1024
#define TRANSCRIPT_CUT_MARKER " [cut: %zu more octets]"

/* Add "P: text" (text normalised; control characters shown as escapes;
 * past TRANSCRIPT_LINE_MAX cut with the marker). */
void transcript_add(struct transcript *t, char prefix, const char *text);
void transcript_addf(struct transcript *t, char prefix, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Show octets with \r, \n, \t and \xHH escapes (for raw sends). */
void transcript_add_raw(struct transcript *t, char prefix, const char *data, size_t n);
void transcript_free(struct transcript *t);

/* The built-in and declared normalisation of one line; caller frees. */
char *transcript_normalize(const char *line, const struct strlist *declared);

#endif
