/*
 * expand_regex.h - PCRE2 regular expressions for the expansion language
 * (expand_regex.c owns libpcre2).  Bounded: a match that needs too much
 * work is an error, not a hang.
 */
#ifndef REFMTA_EXPAND_REGEX_H
#define REFMTA_EXPAND_REGEX_H

#include <stddef.h>

struct xre;

/* Compile re[0..len).  NULL with `why` on error.  Free with xre_free. */
struct xre *xre_compile(const char *re, size_t len, char *why, size_t whylen);
/* Match from `start`: 1 with ovec[0..2*npairs) (offsets; an unset group is
 * 0,0), 0 no match, -1 error (why).  nvec: ovec's length. */
int xre_match(struct xre *r, const char *subj, size_t len, size_t start, size_t *ovec, size_t nvec,
              size_t *npairs, char *why, size_t whylen);
void xre_free(struct xre *r); /* accepts NULL */

#endif
