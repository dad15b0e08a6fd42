/*
 * report.h - what a run of runtest tells people and machines: the live
 * progress line, the closing table, TAP 14, JUnit XML and JSON.  Reads the
 * results; never decides them.
 */
#ifndef RUNTEST_REPORT_H
#define RUNTEST_REPORT_H

#include <stddef.h>
#include <stdio.h>

enum result_status {
	RESULT_PASS,
	RESULT_FAIL,  /* the transcript differs from the golden (or there is none) */
	RESULT_ERROR, /* the harness could not run it (message says why) */
};

struct result {
	const char *id, *slug, *feature, *title, *path;
	const char *backend;
	enum result_status status;
	double seconds;
	char *message; /* one line: why it failed or errored; NULL on pass */
	char *diff;    /* unified diff golden vs actual, or NULL */
	char *workdir; /* kept on failure, NULL when removed */
};

/* "\r[ 12/80] 1 failed, ETA 9 s" on a terminal; nothing otherwise. */
void report_progress(FILE *tty, size_t done, size_t total, size_t failed, double eta);
/* Pass/fail per feature folder and backend, median time per scenario run,
 * the wall time of the whole run (`wall` seconds with `jobs` in parallel)
 * and the slowest run. */
void report_summary(FILE *out, const struct result *r, size_t n, double wall, unsigned jobs);
/* TAP version 14 on `out`. */
void report_tap(FILE *out, const struct result *r, size_t n);
/* 0, or -1 when the file cannot be written. */
int report_junit(const char *path, const struct result *r, size_t n);
int report_json(const char *path, const struct result *r, size_t n);

#endif
