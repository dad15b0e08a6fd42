/*
 * expand_int.h - what the files of the expansion engine share (not for
 * callers: they use expand.h).  expand_lang.c reads text and variables and
 * dispatches "${WORD", expand_cond.c evaluates ${if} conditions,
 * expand_items.c the items and operators.
 *
 * One parser serves evaluation and checking: with `skipping` set, text is
 * parsed but nothing is looked up or produced (the branch not taken, and
 * expand_check at load time).
 */
#ifndef REFMTA_EXPAND_INT_H
#define REFMTA_EXPAND_INT_H

#include "buf.h"
#include "expand.h"

#define EXPAND_MAX_DEPTH 32 /* nested constructs; deeper is an error, not a stack overflow */
#define EXPAND_NCAPS 10     /* $0..$9 */

struct xstate {
	const struct expand_env *env; /* may be NULL */
	const char *base;             /* the template, for error offsets */
	const char *p;                /* where parsing is */
	int skipping;                 /* parse only */
	int status;                   /* EXPAND_OK until something fails */
	char why[512];
	unsigned depth;
	char *caps[EXPAND_NCAPS]; /* owned; from the last successful "match" */
	const char *value;        /* $value inside a lookup's or extract's YES; not owned */
};

/* A braced argument's text: [start, end) between "{" and "}". */
struct xspan {
	const char *start, *end;
};

void x_error(struct xstate *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void x_fail(struct xstate *x, const char *what); /* forced failure */
void x_ws(struct xstate *x);
/* Read [a-z0-9_] into w (n octets); the length (0: none). */
size_t x_word(struct xstate *x, char *w, size_t n);
/* Text up to the "}" that ends the argument (in_brace) or the end; p stays
 * on that "}".  Appends to out unless skipping or out is NULL. */
int x_text(struct xstate *x, struct buf *out, int in_brace);
/* "{TEXT}" after optional blanks, parsed only: its span.  -1 on error. */
int x_span(struct xstate *x, struct xspan *sp);
/* Is the next thing (after blanks) "{"? */
int x_peek_brace(struct xstate *x);
/* Expand a span into a new string (*s NULL when skipping); -1 on error. */
int x_span_str(struct xstate *x, const struct xspan *sp, char **s);
/* Expand a span into out (nothing when skipping). */
int x_span_eval(struct xstate *x, const struct xspan *sp, struct buf *out);
/* "{TEXT}" after optional blanks, expanded into a new string (NULL when skipping). */
int x_arg_str(struct xstate *x, char **s);
/* Expect "}" after optional blanks. */
int x_close(struct xstate *x, const char *item);

/* expand_cond.c: one condition; *result when not skipping. */
int x_cond(struct xstate *x, int *result);
void x_caps_set(struct xstate *x, char **caps); /* takes the array's strings */

/* expand_items.c: after "${WORD" (p just past WORD); -1 on error.
 * x_item returns 1 when WORD is not an item (the caller copies "$"). */
int x_item(struct xstate *x, const char *word, struct buf *out);
int x_operator(struct xstate *x, const char *word, struct buf *out);

#endif
