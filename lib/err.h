/*
 * err.h - one error value passed down and filled in by whoever failed.
 *
 * A fallible function takes a `struct err *` and, on failure, fills it with a
 * code and a human sentence.  Only the layer that decides what to do (reply,
 * log, exit) reads it: lower layers never log the same failure twice.
 */
#ifndef REFMTA_ERR_H
#define REFMTA_ERR_H

#define ERR_TEXT_MAX 512

struct err {
	int code;                /* module-specific; 0 = no error recorded */
	char text[ERR_TEXT_MAX]; /* one sentence, no trailing newline */
};

#define MUST_CHECK __attribute__((warn_unused_result))

/* Record an error.  `e` may be NULL (the error is then dropped). */
void err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Forget any recorded error. */
void err_clear(struct err *e);

#endif
