/*
 * strlist.h - a growable list of owned strings.  The list owns every string
 * in it; strlist_free() releases them all.  Zero-initialised is empty.
 */
#ifndef REFMTA_STRLIST_H
#define REFMTA_STRLIST_H

#include <stddef.h>

#include "err.h"

struct strlist {
	char **v;
	size_t n;
};

/* Append a copy of `s`.  0, or -1 when out of memory. */
int strlist_push(struct strlist *l, const char *s) MUST_CHECK;
/* Append `s` itself (taking ownership).  On failure `s` is freed and -1 returned. */
int strlist_push_owned(struct strlist *l, char *s) MUST_CHECK;
/* Split an Exim-style list ("a : b : c"; "::" is a literal colon) into items,
 * each trimmed of surrounding white space; empty items are dropped.  A
 * leading "<X" makes X the separator ("<;", "<\n" or "<" and a newline;
 * doubled X is a literal X), as Exim's "changing list separators". */
int strlist_split(struct strlist *l, const char *list) MUST_CHECK;
void strlist_free(struct strlist *l); /* accepts NULL; leaves the list empty */

#endif
