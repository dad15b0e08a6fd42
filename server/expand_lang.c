/*
 * expand_lang.c - the expansion language's reader: plain text, escapes,
 * "$name", "${name}", and the dispatch of "${WORD" to items and operators
 * (expand_items.c) and conditions (expand_cond.c).  Shared helpers for
 * braced arguments live here too.
 *
 * Compatibility with refmta before the language: text that does not start
 * a construct ("${", "${}", "${bad name}", "a $ b", "$Upper") is copied
 * literally.  A construct that starts ("${if ", "${lc:") and is malformed
 * is an error naming the offset.  Values are appended, never re-read.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expand_int.h"

void
x_error(struct xstate *x, const char *fmt, ...)
{
	char msg[480];
	va_list ap;

	if (x->status != EXPAND_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	x->status = EXPAND_ERROR;
	snprintf(x->why, sizeof x->why, "at offset %zu: %s", (size_t)(x->p - x->base), msg);
}

void
x_fail(struct xstate *x, const char *what)
{
	if (x->status != EXPAND_OK)
		return;
	x->status = EXPAND_FAIL;
	snprintf(x->why, sizeof x->why, "forced failure (%s)", what);
}

void
x_ws(struct xstate *x)
{
	while (isspace((unsigned char)*x->p))
		x->p++;
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

size_t
x_word(struct xstate *x, char *w, size_t n)
{
	size_t k = 0;

	while (is_name_char(x->p[k]))
		k++;
	if (k >= n)
		return 0; /* longer than any word we know: not one */
	memcpy(w, x->p, k);
	w[k] = '\0';
	x->p += k;
	return k;
}

static void
x_add(struct xstate *x, struct buf *out, const char *s, size_t n)
{
	if (!x->skipping && out != NULL)
		buf_add(out, s, n);
}

/* Append the value of the variable name[0..n). */
static void
add_var(struct xstate *x, struct buf *out, const char *name, size_t n)
{
	char small[64], num[320]; /* num: a getter's formatted value (a local part, 64+) */
	char *key;
	const char *val = NULL;

	if (x->skipping)
		return;
	key = n < sizeof small ? small : malloc(n + 1);
	if (key == NULL) {
		x_error(x, "out of memory");
		return;
	}
	memcpy(key, name, n);
	key[n] = '\0';
	if (n == 1 && isdigit((unsigned char)key[0]))
		val = x->caps[key[0] - '0'] != NULL ? x->caps[key[0] - '0'] : "";
	else if (strcmp(key, "value") == 0 && x->value != NULL)
		val = x->value;
	else
		val = expand_var_value(x->env, key, num, sizeof num);
	if (val != NULL)
		x_add(x, out, val, strlen(val)); /* copied, never expanded again */
	if (key != small)
		free(key);
}

/* After "${": a variable, an item, an operator, or literal text. */
static int
dollar_brace(struct xstate *x, struct buf *out)
{
	const char *start = x->p; /* at "{" */
	char word[64];
	size_t n;
	int rc;

	if (++x->depth > EXPAND_MAX_DEPTH) {
		x_error(x, "nested deeper than %d", EXPAND_MAX_DEPTH);
		return -1;
	}
	x->p++;
	n = 0;
	while (is_name_char(x->p[n]))
		n++;
	if (n > 0 && x->p[n] == '}') { /* "${name}", any length */
		add_var(x, out, x->p, n);
		x->p += n + 1;
		rc = x->status == EXPAND_OK ? 0 : -1;
	} else if ((n = strspn(x->p, "abcdefghijklmnopqrstuvwxyz0123456789_-")) > 0 &&
	           n < sizeof word && x->p[n] == ':') { /* "${substr_-2:" too */
		memcpy(word, x->p, n);
		word[n] = '\0';
		x->p += n + 1;
		rc = x_operator(x, word, out);
	} else if ((n = x_word(x, word, sizeof word)) == 0 || (rc = x_item(x, word, out)) == 1) {
		/* Not a construct: "$" literal, as before the language existed. */
		x->p = start;
		x_add(x, out, "$", 1);
		rc = 0;
	}
	x->depth--;
	return rc;
}

/* Escapes: \$ \{ \} \\ one octet; \n \t \r; \N...\N verbatim; other \X kept. */
static void
backslash(struct xstate *x, struct buf *out)
{
	char c = x->p[1];

	if (c == 'N') {
		const char *end = strstr(x->p + 2, "\\N");
		size_t n = end != NULL ? (size_t)(end - (x->p + 2)) : strlen(x->p + 2);
		x_add(x, out, x->p + 2, n);
		x->p += 2 + n + (end != NULL ? 2 : 0);
		return;
	}
	if (c == '$' || c == '{' || c == '}' || c == '\\') {
		x_add(x, out, &x->p[1], 1);
	} else if (c == 'n' || c == 't' || c == 'r') {
		x_add(x, out, c == 'n' ? "\n" : c == 't' ? "\t" : "\r", 1);
	} else {
		x_add(x, out, x->p, c != '\0' ? 2 : 1);
		x->p += c != '\0' ? 2 : 1;
		return;
	}
	x->p += 2;
}

int
x_text(struct xstate *x, struct buf *out, int in_brace)
{
	unsigned braces = 0; /* literal "{" inside an argument, balanced by "}" */
	const char *open = x->p;

	while (x->status == EXPAND_OK) {
		const char *q = x->p + strcspn(x->p, "${}\\");
		x_add(x, out, x->p, (size_t)(q - x->p));
		x->p = q;
		switch (*q) {
		case '\0':
			if (in_brace) {
				x->p = open;
				x_error(x, "missing \"}\" for the \"{\" before here");
				return -1;
			}
			return 0;
		case '}':
			if (braces == 0) {
				if (in_brace)
					return 0;
			} else {
				braces--;
			}
			x_add(x, out, "}", 1);
			x->p++;
			break;
		case '{':
			braces++;
			x_add(x, out, "{", 1);
			x->p++;
			break;
		case '\\':
			backslash(x, out);
			break;
		default: /* '$' */
			if (x->p[1] == '$') {
				x_add(x, out, "$", 1);
				x->p += 2;
			} else if (is_name_char(x->p[1])) {
				size_t n = 0;
				x->p++;
				while (is_name_char(x->p[n]))
					n++;
				add_var(x, out, x->p, n);
				x->p += n;
			} else if (x->p[1] == '{') {
				x->p++;
				if (dollar_brace(x, out) != 0)
					return -1;
			} else {
				x_add(x, out, "$", 1);
				x->p++;
			}
		}
	}
	return -1;
}

int
x_peek_brace(struct xstate *x)
{
	x_ws(x);
	return *x->p == '{';
}

int
x_span(struct xstate *x, struct xspan *sp)
{
	int was = x->skipping;

	x_ws(x);
	if (*x->p != '{') {
		x_error(x, "expected \"{\"");
		return -1;
	}
	x->p++;
	sp->start = x->p;
	x->skipping = 1;
	(void)x_text(x, NULL, 1);
	x->skipping = was;
	if (x->status != EXPAND_OK)
		return -1;
	sp->end = x->p;
	x->p++; /* the "}" */
	return 0;
}

int
x_span_eval(struct xstate *x, const struct xspan *sp, struct buf *out)
{
	const char *save = x->p;
	int rc;

	if (x->skipping)
		return 0;
	x->p = sp->start;
	rc = x_text(x, out, 1);
	x->p = save;
	return rc == 0 && x->status == EXPAND_OK ? 0 : -1;
}

int
x_span_str(struct xstate *x, const struct xspan *sp, char **s)
{
	struct buf b = { 0 };

	*s = NULL;
	if (x->skipping)
		return 0;
	buf_add(&b, "", 0);
	if (x_span_eval(x, sp, &b) != 0) {
		buf_free(&b);
		return -1;
	}
	*s = buf_take(&b);
	if (*s == NULL) {
		x_error(x, "out of memory");
		return -1;
	}
	return 0;
}

int
x_arg_str(struct xstate *x, char **s)
{
	struct xspan sp;

	*s = NULL;
	return x_span(x, &sp) == 0 ? x_span_str(x, &sp, s) : -1;
}

int
x_close(struct xstate *x, const char *item)
{
	x_ws(x);
	if (*x->p != '}') {
		x_error(x, "expected \"}\" to end ${%s", item);
		return -1;
	}
	x->p++;
	return 0;
}
