/*
 * expand.h - refmta's string expansion: Exim's language, the part the seeds
 * and their users need (docs/expand.md).
 *
 *   $name ${name} $$          variables (names [a-z0-9_]); unknown is ""
 *   ${if COND {YES}{NO}}      eq eqi == != < <= > >= match and or ! bool
 *                             def: exists isip inlist ("fail" for NO)
 *   ${lookup{KEY}TYPE{FILE}{YES}{NO}}  ${lookup TYPE{QUERY}{YES}{NO}}
 *   ${extract{KEY}{S}} ${extract{N}{SEPS}{S}} ${sg{S}{RE}{R}} ${acl{NAME}{ARG}..}
 *   ${authresults{ID}}        an Authentication-Results header (RFC 8601)
 *   ${lc:S} ${uc:S} ${length_N:S} ${substr_M_N:S} ${quote_redis:S}
 *   \$ \{ \} \\ escape one octet; \N...\N is copied as it is.
 *
 * The safety rule: a value (a variable's, a lookup's, a capture) is text in
 * the result and is never expanded again.  Text that does not start a
 * construct ("${bad", "a $ b", "${}") is copied literally, as before the
 * language existed; a construct that starts and is malformed is an error.
 */
#ifndef REFMTA_EXPAND_H
#define REFMTA_EXPAND_H

#include <stddef.h>

#include "err.h"

struct buf;

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

/* acl_c_* and acl_m_* variables (set by ACL "set"): name -> value, both
 * owned by the store.  Zero-initialised is empty. */
struct expand_store {
	char **names, **values;
	size_t n;
};

/* Set (a copy of) `value`; 0, or -1 when out of memory. */
int expand_store_set(struct expand_store *st, const char *name, const char *value) MUST_CHECK;
const char *expand_store_get(const struct expand_store *st, const char *name); /* NULL: unset */
void expand_store_clear(struct expand_store *st); /* accepts NULL; leaves it empty */

/* ${acl{NAME}{ARG}...}: run the ACL NAME with $acl_arg1.. = args.  Return
 * EXPAND_OK with *out (caller frees) = the ACL's message or "" when it
 * accepted, EXPAND_FAIL when it denied, EXPAND_ERROR (why) otherwise. */
typedef int (*expand_acl_fn)(void *arg, const char *name, const char *const *args, size_t nargs,
                             char **out, char *why, size_t whylen);

/* Where values come from: `var` when set, else the table (or nothing). */
struct expand_env {
	expand_var_fn var;
	void *arg;
	const struct expand_var *table; /* not owned */
	size_t ntable;
	const void *ctx;            /* passed to each getter; not owned */
	struct expand_store *acl_c; /* $acl_c_*: not owned; NULL: none */
	struct expand_store *acl_m; /* $acl_m_*: not owned; NULL: none */
	expand_acl_fn acl;          /* ${acl}: NULL refuses it */
	void *acl_arg;
	const char *const *acl_args; /* $acl_arg1..$acl_argN, $acl_narg; not owned */
	size_t acl_nargs;
	/* ${authresults{ID}}: append the context's RFC 8601 result items
	 * ("; spf=pass smtp.mailfrom=a@b", ...) to `b`, nothing when no
	 * method ran; NULL: no methods here (the item gives "; none"). */
	void (*authres)(const void *ctx, struct buf *b);
};

/* The row named `name` in `table`, or NULL. */
const struct expand_var *expand_var_find(const struct expand_var *table, size_t n,
                                         const char *name);

/* The value of variable `name` in `env` (tables, stores, $acl_arg), or NULL.
 * `buf` may receive a formatted value. */
const char *expand_var_value(const struct expand_env *env, const char *name, char *buf, size_t len);

enum expand_status {
	EXPAND_OK = 0,
	EXPAND_FAIL = 1,   /* forced failure ("fail", a failed ${acl}): not an error */
	EXPAND_ERROR = -1, /* why says what and where ("at offset N: ...") */
};

/*
 * Expand `tmpl` (NULL is "").  EXPAND_OK with *out (caller frees);
 * otherwise *out is NULL and `why` says what failed: forced failure, or an
 * error naming the offset in `tmpl`.  Out of memory is an error.
 */
int expand_eval(const char *tmpl, const struct expand_env *env, char **out, char *why,
                size_t whylen) MUST_CHECK;

/* Parse `tmpl` without evaluating anything (no lookups, no variables):
 * 0, or -1 with why = the syntax error and its offset.  For load time. */
int expand_check(const char *tmpl, char *why, size_t whylen) MUST_CHECK;

/* Expand where no failure is expected; caller frees.  NULL on forced
 * failure, error, or out of memory (callers that must tell these apart
 * use expand_eval). */
char *expand_string(const char *tmpl, const struct expand_env *env);

/* A boolean as ${if bool{}} and ACL "condition" read it: "", "0", "no",
 * "false" are 0; "1" (any non-zero number), "yes", "true" are 1 (case
 * insensitive, blanks around ignored); anything else -1. */
int expand_bool(const char *s);

#endif
