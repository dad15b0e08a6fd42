/*
 * strutil.h - small string helpers several modules need the same way.
 */
#ifndef REFMTA_STRUTIL_H
#define REFMTA_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* "yes" / "true" / "1" -> 1, "no" / "false" / "0" -> 0 (case-insensitive).
 * 0 on success, -1 for anything else. */
int str_parse_bool(const char *s, int *out);

/* Decode C-style escapes (\r \n \t \\ \xHH) from `in` into `out` (at most
 * `outlen` octets, no NUL added).  Returns the number of octets written. */
size_t str_unescape(const char *in, char *out, size_t outlen);

/* Levenshtein distance between two short names (for "did you mean");
 * SIZE_MAX when either is longer than 63 octets. */
size_t str_edit_distance(const char *a, const char *b);

/* The candidate closest to `name` within `max` edits, or NULL. */
const char *str_closest(const char *name, const char *const *cands, size_t n, size_t max);

/* Does `s` reference a $variable ("$name" with a name character a-z 0-9 _,
 * or "${")?  "$$" is a literal dollar and does not.  For checks that must
 * wait until a value is known (server/expand.c substitutes). */
int str_has_var_ref(const char *s);

/* What str_parse_u64 found. */
enum str_num {
	STR_NUM_OK = 0,
	STR_NUM_SYNTAX = -1, /* empty, or not all decimal digits (no sign, no space) */
	STR_NUM_RANGE = -2,  /* all digits, but above `max` (or 2^64 - 1) */
};

/* The `n` octets at `s` as an unsigned decimal number no larger than `max`:
 * the one parser for counts, sizes, ports and epochs.  *out is set only on
 * STR_NUM_OK.  Use strlen(s) for a whole string. */
enum str_num str_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out) MUST_CHECK;

#endif
