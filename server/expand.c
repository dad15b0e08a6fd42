/*
 * expand.c - the entry points of the expansion engine (expand_eval,
 * expand_check, expand_string), where variables' values come from (tables,
 * the caller's function, $acl_c_* / $acl_m_* stores, $acl_argN), and the
 * one reading of booleans.  The language itself: expand_lang.c,
 * expand_cond.c, expand_items.c (docs/expand.md).
 *
 * It must never expand a value again: what a variable, a lookup or a
 * capture yields is copied into the result as text.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expand_int.h"
#include "lookup.h"
#include "strutil.h"

const struct expand_var *
expand_var_find(const struct expand_var *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

/* ---- acl_c_* / acl_m_* stores ------------------------------------------------------ */

int
expand_store_set(struct expand_store *st, const char *name, const char *value)
{
	char *v = strdup(value), *nm, **names, **values;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->names[i], name) == 0) {
			free(st->values[i]);
			st->values[i] = v;
			return 0;
		}
	nm = strdup(name);
	names = realloc(st->names, (st->n + 1) * sizeof *names);
	if (names != NULL)
		st->names = names;
	values = names != NULL ? realloc(st->values, (st->n + 1) * sizeof *values) : NULL;
	if (values != NULL)
		st->values = values;
	if (nm == NULL || names == NULL || values == NULL) {
		free(nm);
		free(v);
		return -1;
	}
	st->names[st->n] = nm;
	st->values[st->n++] = v;
	return 0;
}

const char *
expand_store_get(const struct expand_store *st, const char *name)
{
	for (size_t i = 0; st != NULL && i < st->n; i++)
		if (strcmp(st->names[i], name) == 0)
			return st->values[i];
	return NULL;
}

void
expand_store_clear(struct expand_store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->names[i]);
		free(st->values[i]);
	}
	free(st->names);
	free(st->values);
	memset(st, 0, sizeof *st);
}

/* ---- variables -------------------------------------------------------------------- */

const char *
expand_var_value(const struct expand_env *env, const char *name, char *buf, size_t len)
{
	const struct expand_var *v;
	uint64_t n;

	if (env == NULL)
		return NULL;
	if (strncmp(name, "acl_c", 5) == 0)
		return expand_store_get(env->acl_c, name);
	if (strncmp(name, "acl_m", 5) == 0)
		return expand_store_get(env->acl_m, name);
	/* A context that knows its own answer's status (an event: the route
	 * to the host) says it; otherwise the last ${lookup}'s. */
	if (strcmp(name, "lookup_dnssec_authenticated") == 0) {
		const char *own = env->var != NULL ? env->var(env->arg, name) : NULL;
		return own != NULL ? own : lookup_dnssec_authenticated();
	}
	if (strcmp(name, "acl_narg") == 0) {
		snprintf(buf, len, "%zu", env->acl_nargs);
		return buf;
	}
	if (strncmp(name, "acl_arg", 7) == 0 &&
	    str_parse_u64(name + 7, strlen(name + 7), 9, &n) == STR_NUM_OK && n >= 1)
		return n <= env->acl_nargs ? env->acl_args[n - 1] : "";
	if (env->var != NULL)
		return env->var(env->arg, name);
	v = expand_var_find(env->table, env->ntable, name);
	return v != NULL ? v->get(env->ctx, buf, len) : NULL;
}

int
expand_bool(const char *s)
{
	size_t n;
	uint64_t num;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0)
		return 0;
	if ((n == 2 && strncasecmp(s, "no", 2) == 0) || (n == 5 && strncasecmp(s, "false", 5) == 0))
		return 0;
	if ((n == 3 && strncasecmp(s, "yes", 3) == 0) || (n == 4 && strncasecmp(s, "true", 4) == 0))
		return 1;
	if (str_parse_u64(s, n, UINT64_MAX, &num) == STR_NUM_OK)
		return num != 0;
	return -1;
}

/* ---- entry points ------------------------------------------------------------------ */

static void
caps_free(struct xstate *x)
{
	for (size_t i = 0; i < EXPAND_NCAPS; i++) {
		free(x->caps[i]);
		x->caps[i] = NULL;
	}
}

int
expand_eval(const char *tmpl, const struct expand_env *env, char **out, char *why, size_t whylen)
{
	struct xstate x = { .env = env, .base = tmpl != NULL ? tmpl : "" };
	struct buf b = { 0 };
	int rc;

	x.p = x.base;
	*out = NULL;
	buf_add(&b, "", 0);
	rc = x_text(&x, &b, 0);
	caps_free(&x);
	if (rc == 0 && x.status == EXPAND_OK && b.oom)
		x_error(&x, "out of memory");
	if (x.status != EXPAND_OK) {
		snprintf(why, whylen, "%s", x.why);
		buf_free(&b);
		return x.status;
	}
	*out = buf_take(&b);
	return EXPAND_OK;
}

int
expand_check(const char *tmpl, char *why, size_t whylen)
{
	struct xstate x = { .base = tmpl != NULL ? tmpl : "", .skipping = 1 };

	x.p = x.base;
	(void)x_text(&x, NULL, 0);
	caps_free(&x);
	if (x.status == EXPAND_OK)
		return 0;
	snprintf(why, whylen, "%s", x.why);
	return -1;
}

char *
expand_string(const char *tmpl, const struct expand_env *env)
{
	char why[256], *out;

	return expand_eval(tmpl, env, &out, why, sizeof why) == EXPAND_OK ? out : NULL;
}
