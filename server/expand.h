/*
 * expand.h - "$variable" substitution, the whole of refmta's expansion
 * language (DESIGN.md: there is no general expansion language).
 *
 * "$name" and "${name}" are replaced by the variable's value, "$$" by "$";
 * an unknown variable expands to "".
 * Variable names: [a-z0-9_].  Values come from a lookup function or a
 * variable table the caller gives.
 */
#ifndef REFMTA_EXPAND_H
#define REFMTA_EXPAND_H

#include <stddef.h>

/* Return the value of `name`, or NULL when there is no such variable. */
typedef const char *(*expand_var_fn)(void *arg, const char *name);

/*
 * One row of a variable table: a context that has variables (an SMTP
 * session today, an event later) lists them once, name -> getter, with a
 * line of docs each (docs/config.md shows the same list).  `get` returns
 * the value for `ctx`; it may format into `buf` (`len` octets) and return
 * it, or return a string `ctx` owns; NULL expands to "".
 */
struct expand_var {
	const char *name;
	const char *(*get)(const void *ctx, char *buf, size_t len);
	const char *doc;
};

/* Where values come from: `var` when set, else the table (or nothing). */
struct expand_env {
	expand_var_fn var;
	void *arg;
	const struct expand_var *table; /* not owned */
	size_t ntable;
	const void *ctx; /* passed to each getter; not owned */
};

/* The row named `name` in `table`, or NULL. */
const struct expand_var *expand_var_find(const struct expand_var *table, size_t n,
                                         const char *name);

/* Does `s` hold a variable reference ("$name" or "${")?  "$$" does not.
 * Values with one can only be checked once expanded. */

/* Caller frees.  NULL only when out of memory. */
char *expand_string(const char *tmpl, const struct expand_env *env);

#endif
