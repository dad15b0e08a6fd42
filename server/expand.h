/*
 * expand.h - "$variable" substitution, the whole of refmta's expansion
 * language (DESIGN.md: there is no general expansion language).
 *
 * "$name" and "${name}" are replaced by the variable's value, "$$" by "$";
 * an unknown variable expands to "".
 * Variable names: [a-z0-9_].  Values come from a lookup the caller gives.
 */
#ifndef REFMTA_EXPAND_H
#define REFMTA_EXPAND_H

/* Return the value of `name`, or NULL when there is no such variable. */
typedef const char *(*expand_var_fn)(void *arg, const char *name);

struct expand_env {
	expand_var_fn var;
	void *arg;
};

/* Caller frees.  NULL only when out of memory. */
char *expand_string(const char *tmpl, const struct expand_env *env);

#endif
