/*
 * strutil.h - small string helpers several modules need the same way.
 */
#ifndef REFMTA_STRUTIL_H
#define REFMTA_STRUTIL_H

#include <stddef.h>

/* "yes" / "true" / "1" -> 1, "no" / "false" / "0" -> 0 (case-insensitive).
 * 0 on success, -1 for anything else. */
int str_parse_bool(const char *s, int *out);

/* Decode C-style escapes (\r \n \t \\ \xHH) from `in` into `out` (at most
 * `outlen` octets, no NUL added).  Returns the number of octets written. */
size_t str_unescape(const char *in, char *out, size_t outlen);

#endif
