/*
 * expand.c - "$variable" substitution, the whole of refmta's expansion
 * language: "$name", "${name}", "$$".  Variable names are [a-z0-9_].
 *
 * It must never evaluate anything beyond a variable lookup (no functions,
 * no conditionals, no lookups): a value read from a client ends up in the
 * output as text and is never expanded again.  Anything that is not a
 * well-formed reference ("$", "$X", "${", "${bad}") is copied literally.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expand.h"

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

const struct expand_var *
expand_var_find(const struct expand_var *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

/* The value of `name` from the caller's function or table; NULL: none. */
static const char *
lookup(const struct expand_env *env, const char *name, char *buf, size_t len)
{
	const struct expand_var *v;

	if (env == NULL)
		return NULL;
	if (env->var != NULL)
		return env->var(env->arg, name);
	v = expand_var_find(env->table, env->ntable, name);
	return v != NULL ? v->get(env->ctx, buf, len) : NULL;
}

/* Look `name` (n bytes) up and append its value; unknown is "". */
static void
add_var(struct buf *b, const char *name, size_t n, const struct expand_env *env)
{
	char small[64], num[64];
	char *key = n < sizeof small ? small : malloc(n + 1);
	const char *val;

	if (key == NULL) {
		b->oom = 1;
		return;
	}
	memcpy(key, name, n);
	key[n] = '\0';
	val = lookup(env, key, num, sizeof num);
	if (val != NULL)
		buf_add(b, val, strlen(val));
	if (key != small)
		free(key);
}

char *
expand_string(const char *tmpl, const struct expand_env *env)
{
	struct buf b = { 0 };
	const char *p = tmpl != NULL ? tmpl : "";

	while (*p != '\0') {
		const char *dollar = strchr(p, '$');
		if (dollar == NULL) {
			buf_add(&b, p, strlen(p));
			break;
		}
		buf_add(&b, p, (size_t)(dollar - p));
		p = dollar + 1;
		if (*p == '$') { /* "$$" is one "$" */
			buf_add(&b, "$", 1);
			p++;
		} else if (is_name_char(*p)) {
			size_t n = 0;
			while (is_name_char(p[n]))
				n++;
			add_var(&b, p, n, env);
			p += n;
		} else if (*p == '{') {
			size_t n = 0;
			while (is_name_char(p[1 + n]))
				n++;
			if (n > 0 && p[1 + n] == '}') {
				add_var(&b, p + 1, n, env);
				p += n + 2;
			} else {
				buf_add(&b, "$", 1); /* not a reference: literal */
			}
		} else {
			buf_add(&b, "$", 1); /* lone "$": literal */
		}
	}
	return buf_take(&b); /* NULL when out of memory */
}
