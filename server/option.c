/*
 * option.c - the option engine (option.h): one place that checks a value
 * by its type, stores it, fills defaults, frees, and words the errors.
 *
 * Must never expand a $variable (that happens at use time) or report an
 * error without "FILE:LINE: " and the option's name.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "match.h"
#include "option.h"
#include "strlist.h"
#include "strutil.h"

int
option_index(const struct option_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
option_fail(const struct option_ctx *c, int line, const char *fmt, ...)
{
	char msg[ERR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		err_set(c->e, 1, "%s:%d: %s%s", c->file, line, c->prefix, msg);
	else
		err_set(c->e, 1, "%s: %s%s", c->file, c->prefix, msg);
	return -1;
}

int
option_unknown(const struct option_table *t, const struct option_ctx *c, const char *name, int line)
{
	const char *names[64], *close;
	size_t n = t->n < 64 ? t->n : 64;

	/* The seed's older names of a renamed option (seed "Event Actions":
	 * "Renamed from TPDA"): refused, naming the new one. */
	static const char *const renamed[][2] = { { "tpda_event_action", "event_action" },
		                                  { "delivery_event_action", "event_action" } };

	for (size_t i = 0; i < n; i++)
		names[i] = t->v[i].name;
	for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
		if (strcmp(name, renamed[i][0]) == 0)
			for (size_t k = 0; k < n; k++)
				if (strcmp(names[k], renamed[i][1]) == 0)
					return option_fail(
					        c, line,
					        "unknown option \"%s\" (renamed: did you "
					        "mean \"%s\"?)",
					        name, renamed[i][1]);
	if ((close = str_closest(name, names, n, 2)) != NULL)
		return option_fail(c, line, "unknown option \"%s\" (did you mean \"%s\"?)", name,
		                   close);
	if (t->unknown_hint != NULL)
		return option_fail(c, line, "unknown option \"%s\" %s", name, t->unknown_hint);
	return option_fail(c, line, "unknown option \"%s\"", name);
}

/* --- values ------------------------------------------------------------------------ */

static char *
resolve_path(const struct option_ctx *c, const char *p)
{
	char *out;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", c->dir, p) < 0)
		return NULL;
	return out;
}

/* "N" with an optional unit suffix from `units` (lower or upper case). */
static int
parse_scaled(const char *s, const char *units, const uint64_t *mult, uint64_t max, uint64_t *out)
{
	size_t n = strlen(s);
	uint64_t m = 1, v;

	if (n > 0 && !isdigit((unsigned char)s[n - 1])) {
		const char *u = strchr(units, tolower((unsigned char)s[n - 1]));
		if (u == NULL)
			return -1;
		m = mult[u - units];
		n--;
	}
	if (str_parse_u64(s, n, max, &v) != STR_NUM_OK || v > max / m)
		return -1;
	*out = v * m;
	return 0;
}

static int
is_choice(const char *choices, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = choices; *p != '\0';) {
		size_t w = strcspn(p, " ");
		if (w == n && strncmp(p, value, n) == 0)
			return 1;
		p += w;
		p += strspn(p, " ");
	}
	return 0;
}

/* "NAME: bad WHAT \"VALUE\" HINT" */
static int
bad_value(const struct option_ctx *c, const struct option_def *o, int line, const char *value,
          const char *what, const char *hint)
{
	return option_fail(c, line, "%s: bad %s \"%s\" %s", o->name, o->what ? o->what : what,
	                   value, o->hint ? o->hint : hint);
}

/* A number at least 1 was 0: the option's own advice, or the general one. */
static int
zero_value(const struct option_ctx *c, const struct option_def *o, int line, const char *value,
           const char *what)
{
	if (o->hint != NULL)
		return bad_value(c, o, line, value, what, "");
	return option_fail(c, line, "%s: must be at least 1, got \"%s\"", o->name, value);
}

static int
check_readable(const struct option_ctx *c, int line, const char *opt, const char *path)
{
	if (access(path, R_OK) != 0)
		return option_fail(c, line, "%s: cannot read \"%s\": %s", opt, path,
		                   strerror(errno));
	return 0;
}

/* A list option: each item (a path resolved and readable for RPATHLIST) appended. */
static int
set_list(const struct option_ctx *c, const struct option_def *o, struct strlist *list,
         const char *value, int line)
{
	struct strlist items = { 0 };
	int rc = -1;

	if (strlist_split(&items, value) != 0) {
		option_fail(c, line, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < items.n; i++) {
		char *item =
		        o->type == OPTION_LIST ? strdup(items.v[i]) : resolve_path(c, items.v[i]);
		if (strlist_push_owned(list, item) != 0) {
			option_fail(c, line, "out of memory");
			goto out;
		}
		if (o->type == OPTION_RPATHLIST &&
		    check_readable(c, line, o->name, list->v[list->n - 1]) != 0)
			goto out;
	}
	rc = 0;
out:
	strlist_free(&items);
	return rc;
}

/* The numeric types: UINT, UINT_POS, TIME, SIZE, BOOL, CLOCK. */
static int
set_number(const struct option_ctx *c, const struct option_def *o, void *field, const char *value,
           int line)
{
	static const uint64_t time_mult[] = { 1, 60, 3600 };
	static const uint64_t size_mult[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024 };
	uint64_t v;
	int b;

	switch (o->type) {
	case OPTION_UINT:
	case OPTION_UINT_POS:
		if (str_parse_u64(value, strlen(value), o->max ? o->max : UINT_MAX, &v) !=
		    STR_NUM_OK)
			return bad_value(c, o, line, value, "number", "(use a decimal number)");
		if (o->type == OPTION_UINT_POS && v == 0)
			return zero_value(c, o, line, value, "number");
		*(unsigned *)field = (unsigned)v;
		return 0;
	case OPTION_TIME:
		if (parse_scaled(value, "smh", time_mult, UINT_MAX, &v) != 0)
			return bad_value(c, o, line, value, "time", "(use 300, 30s, 5m or 1h)");
		if (v == 0)
			return zero_value(c, o, line, value, "time");
		*(unsigned *)field = (unsigned)v;
		return 0;
	case OPTION_SIZE:
		if (parse_scaled(value, "kmg", size_mult, UINT64_MAX, &v) != 0)
			return bad_value(c, o, line, value, "size",
			                 "(use bytes, or a number with K, M or G)");
		if (v == 0)
			return zero_value(c, o, line, value, "size");
		*(uint64_t *)field = v;
		return 0;
	case OPTION_BOOL:
		if (str_parse_bool(value, &b) != 0)
			return bad_value(c, o, line, value, "boolean",
			                 "(use true, false, yes, no, 1 or 0)");
		*(int *)field = b;
		return 0;
	case OPTION_CLOCK:
		if (clock_parse(value, (time_t *)field) != 0)
			return bad_value(c, o, line, value, "time stamp",
			                 "(use 2026-01-01T00:00:00Z or seconds since the epoch)");
		return 0;
	default:
		return option_fail(c, line, "%s: not a number option", o->name);
	}
}

int
option_set(const struct option_ctx *c, const struct option_def *o, void *base, const char *value,
           int line)
{
	void *field = (char *)base + o->off;
	char **str = field;
	char *copy, bad[256] = "(out of memory)";

	if (o->flags & OPTION_UNSUPPORTED)
		return option_fail(c, line, "%s: not supported yet", o->name);
	if (value[0] == '\0' && !(o->flags & OPTION_EMPTY_OK) && o->type != OPTION_LIST &&
	    o->type != OPTION_RPATHLIST && o->type != OPTION_HOSTLIST)
		return option_fail(c, line, "%s: needs a value", o->name);
	switch (o->type) {
	case OPTION_LIST:
	case OPTION_RPATHLIST:
		return set_list(c, o, field, value, line);
	case OPTION_STRING:
		if (o->valid != NULL && !o->valid(value))
			return bad_value(c, o, line, value, "value", "");
		copy = strdup(value);
		break;
	case OPTION_HOSTLIST:
		if (match_host_list_check(value, bad, sizeof bad) != 0)
			return option_fail(c, line,
			                   "%s: bad host list item \"%s\" " MATCH_HOST_ITEM_HINT,
			                   o->name, bad);
		copy = strdup(value);
		break;
	case OPTION_CHOICE:
		if (!is_choice(o->choices, value))
			return option_fail(c, line, "%s: unknown %s \"%s\" %s", o->name,
			                   o->what ? o->what : "value", value,
			                   o->hint ? o->hint : "");
		copy = strdup(value);
		break;
	case OPTION_PATH:
	case OPTION_LOGPATH:
	case OPTION_RPATH:
		copy = (o->type == OPTION_LOGPATH && strcmp(value, "-") == 0)
		               ? strdup(value)
		               : resolve_path(c, value);
		break;
	default:
		return set_number(c, o, field, value, line);
	}
	if (copy == NULL)
		return option_fail(c, line, "out of memory");
	free(*str);
	*str = copy;
	if (o->type == OPTION_RPATH)
		return check_readable(c, line, o->name, copy);
	return 0;
}

int
option_set_defaults(const struct option_table *t, const struct option_ctx *c, void *base,
                    const int *lines)
{
	for (size_t i = 0; i < t->n; i++)
		if ((lines == NULL || lines[i] == 0) && t->v[i].dflt != NULL &&
		    option_set(c, &t->v[i], base, t->v[i].dflt, 0) != 0)
			return -1;
	return 0;
}

int
option_read_block(const struct option_table *t, const struct option_ctx *c,
                  const struct config_block *b, const char *const *skip, void *base, int *lines)
{
	int own[64] = { 0 };

	if (lines == NULL) {
		if (t->n > sizeof own / sizeof own[0])
			return option_fail(c, b->line, "too many options in the table");
		lines = own;
	}
	for (size_t i = 0; i < b->nopts; i++) {
		const struct config_kv *kv = &b->opts[i];
		int skipped = 0, k;

		for (size_t s = 0; skip != NULL && skip[s] != NULL; s++)
			skipped |= strcmp(skip[s], kv->key) == 0;
		if (skipped)
			continue;
		if ((k = option_index(t, kv->key)) < 0)
			return option_unknown(t, c, kv->key, kv->line);
		if (option_set(c, &t->v[k], base, kv->value, kv->line) != 0)
			return -1;
		lines[k] = kv->line;
	}
	return option_set_defaults(t, c, base, lines);
}

void
option_free(const struct option_table *t, void *base)
{
	for (size_t i = 0; i < t->n; i++) {
		void *field = (char *)base + t->v[i].off;
		switch (t->v[i].type) {
		case OPTION_LIST:
		case OPTION_RPATHLIST:
			strlist_free(field);
			break;
		case OPTION_STRING:
		case OPTION_PATH:
		case OPTION_LOGPATH:
		case OPTION_RPATH:
		case OPTION_HOSTLIST:
		case OPTION_CHOICE:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		default:
			break;
		}
	}
}
