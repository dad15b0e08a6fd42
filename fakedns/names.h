/*
 * names.h - domain names as presentation text: normalising, comparing and
 * walking up the tree, without ldns (so unit tests can use it directly).
 *
 * Names are absolute, lower case and end in "." once normalised.  These
 * helpers never allocate and never read past FD_NAME_MAX.
 */
#ifndef FAKEDNS_NAMES_H
#define FAKEDNS_NAMES_H

#include <stddef.h>

#include "err.h"

#define FD_NAME_MAX 256

/* Lower-case `s` in place and add the final dot.  0 ok, -1 too long or empty label. */
MUST_CHECK int name_normalise(char *s, size_t size);
/* 1 when the normalised names are equal (case-insensitive). */
int name_equal(const char *a, const char *b);
/* 1 when `name` is `zone` or below it (both normalised). */
int name_is_at_or_below(const char *name, const char *zone);
/* Number of labels; "." has 0. */
int name_label_count(const char *name);
/* The parent of `name` (a pointer into it); "." for a top-level name and for ".". */
const char *name_parent(const char *name);

#endif
