/*
 * expand_cond.c - the conditions of ${if COND {YES}{NO}} (Exim spec 11.7,
 * the subset docs/expand.md lists): string and numeric comparisons, match
 * (PCRE2, setting $0..$9), and / or / !, bool, def:, exists, isip, inlist.
 *
 * Skipping (a branch not taken, or a load-time check) parses a condition
 * without evaluating it: no regex run, no file looked at.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "expand_int.h"
#include "expand_regex.h"
#include "strlist.h"

void
x_caps_set(struct xstate *x, char **caps)
{
	for (size_t i = 0; i < EXPAND_NCAPS; i++) {
		free(x->caps[i]);
		x->caps[i] = caps[i];
	}
}

/* A number as Exim's numeric conditions take it: optional sign, digits,
 * optional K, M or G.  0 or -1 (error set). */
static int
number(struct xstate *x, const char *s, long long *out)
{
	char *end;
	long long v;

	while (isspace((unsigned char)*s))
		s++;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno != 0)
		goto bad;
	if (*end == 'K' || *end == 'k' || *end == 'M' || *end == 'm' || *end == 'G' ||
	    *end == 'g') {
		long long mult = (*end == 'K' || *end == 'k')   ? 1024LL
		                 : (*end == 'M' || *end == 'm') ? 1024LL * 1024
		                                                : 1024LL * 1024 * 1024;
		if (v > INT64_MAX / mult || v < INT64_MIN / mult)
			goto bad;
		v *= mult;
		end++;
	}
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		goto bad;
	*out = v;
	return 0;
bad:
	x_error(x, "\"%.60s\" is not a number", s);
	return -1;
}

/* ${if match{S}{RE}}: captures into $0..$9 when it matches. */
static int
cond_match(struct xstate *x, const char *s, const char *re, int *res)
{
	size_t ov[2 * EXPAND_NCAPS], npairs = 0;
	char why[200], *caps[EXPAND_NCAPS] = { 0 };
	struct xre *r = xre_compile(re, strlen(re), why, sizeof why);
	int m;

	if (r == NULL) {
		x_error(x, "%s", why);
		return -1;
	}
	m = xre_match(r, s, strlen(s), 0, ov, sizeof ov / sizeof ov[0], &npairs, why, sizeof why);
	xre_free(r);
	if (m < 0) {
		x_error(x, "%s", why);
		return -1;
	}
	*res = m;
	if (m == 1) {
		for (size_t i = 0; i < npairs; i++) {
			caps[i] = strndup(s + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
			if (caps[i] == NULL) {
				x_error(x, "out of memory");
				x_caps_set(x, caps);
				return -1;
			}
		}
		x_caps_set(x, caps);
	}
	return 0;
}

static int
cond_inlist(struct xstate *x, const char *s, const char *list, int *res)
{
	struct strlist l = { 0 };

	if (strlist_split(&l, list) != 0) {
		x_error(x, "out of memory");
		return -1;
	}
	*res = 0;
	for (size_t i = 0; i < l.n && !*res; i++)
		*res = strcmp(l.v[i], s) == 0;
	strlist_free(&l);
	return 0;
}

/* Conditions with two arguments: eq eqi match inlist and the numeric ones. */
static int
cond_two(struct xstate *x, const char *op, int *res)
{
	char *a = NULL, *b = NULL;
	long long na, nb;
	int rc = -1;

	if (x_arg_str(x, &a) != 0 || x_arg_str(x, &b) != 0)
		goto out;
	rc = 0;
	if (x->skipping)
		goto out;
	if (strcmp(op, "eq") == 0)
		*res = strcmp(a, b) == 0;
	else if (strcmp(op, "eqi") == 0)
		*res = strcasecmp(a, b) == 0;
	else if (strcmp(op, "match") == 0)
		rc = cond_match(x, a, b, res);
	else if (strcmp(op, "inlist") == 0)
		rc = cond_inlist(x, a, b, res);
	else if (number(x, a, &na) != 0 || number(x, b, &nb) != 0)
		rc = -1;
	else if (strcmp(op, "==") == 0 || strcmp(op, "=") == 0)
		*res = na == nb;
	else if (strcmp(op, "!=") == 0)
		*res = na != nb;
	else if (strcmp(op, "<") == 0)
		*res = na < nb;
	else if (strcmp(op, "<=") == 0)
		*res = na <= nb;
	else if (strcmp(op, ">") == 0)
		*res = na > nb;
	else
		*res = na >= nb;
out:
	free(a);
	free(b);
	return rc;
}

static int
is_ip(const char *s, int family)
{
	unsigned char buf[16];

	return ((family == 0 || family == 4) && inet_pton(AF_INET, s, buf) == 1) ||
	       ((family == 0 || family == 6) && inet_pton(AF_INET6, s, buf) == 1);
}

/* Conditions with one argument: bool exists isip isip4 isip6. */
static int
cond_one(struct xstate *x, const char *op, int *res)
{
	char *a = NULL;
	struct stat st;
	int rc = -1, b;

	if (x_arg_str(x, &a) != 0)
		goto out;
	rc = 0;
	if (x->skipping)
		goto out;
	if (strcmp(op, "bool") == 0) {
		b = expand_bool(a);
		if (b < 0) {
			x_error(x, "bool: \"%.60s\" is not true, false, yes, no or a number", a);
			rc = -1;
		}
		*res = b == 1;
	} else if (strcmp(op, "exists") == 0) {
		*res = stat(a, &st) == 0;
	} else {
		*res = is_ip(a, op[4] == '4' ? 4 : op[4] == '6' ? 6 : 0);
	}
out:
	free(a);
	return rc;
}

/* and{{C1}{C2}...} / or{...}: later conditions are only parsed once decided. */
static int
cond_list(struct xstate *x, int is_and, int *res)
{
	int was = x->skipping, decided = 0, r = 0, n = 0;

	x_ws(x);
	if (*x->p != '{') {
		x_error(x, "expected \"{\" after %s", is_and ? "and" : "or");
		return -1;
	}
	x->p++;
	*res = is_and;
	for (;;) {
		x_ws(x);
		if (*x->p == '}')
			break;
		if (*x->p != '{') {
			x_error(x, "expected \"{CONDITION}\" in %s{...}", is_and ? "and" : "or");
			goto fail;
		}
		x->p++;
		x->skipping = was || decided;
		if (x_cond(x, &r) != 0)
			goto fail;
		x_ws(x);
		if (*x->p != '}') {
			x_error(x, "expected \"}\" after a condition in %s{...}",
			        is_and ? "and" : "or");
			goto fail;
		}
		x->p++;
		n++;
		if (!x->skipping && r != is_and) {
			*res = r;
			decided = 1;
		}
	}
	x->p++;
	x->skipping = was;
	if (n == 0) {
		x_error(x, "%s{} needs at least one condition", is_and ? "and" : "or");
		return -1;
	}
	return 0;
fail:
	x->skipping = was;
	return -1;
}

int
x_cond(struct xstate *x, int *result)
{
	static const char *const two[] = { "eq", "eqi", "match", "inlist" };
	static const char *const one[] = { "bool", "exists", "isip", "isip4", "isip6" };
	char op[16];
	const char *at;
	int r = 0;

	*result = 0;
	x_ws(x);
	at = x->p;
	if (*x->p == '!' && x->p[1] != '=') {
		x->p++;
		if (x_cond(x, &r) != 0)
			return -1;
		*result = !r;
		return 0;
	}
	if (strchr("=!<>", *x->p) != NULL && *x->p != '\0') {
		size_t n = (x->p[1] == '=') ? 2 : 1;
		memcpy(op, x->p, n);
		op[n] = '\0';
		if (strcmp(op, "!") == 0) {
			x_error(x, "unknown condition");
			return -1;
		}
		x->p += n;
		return cond_two(x, op, result);
	}
	if (x_word(x, op, sizeof op) == 0) {
		x_error(x, "expected a condition");
		return -1;
	}
	if (strcmp(op, "def") == 0 && *x->p == ':') {
		char name[128], num[320];
		const char *v;
		x->p++;
		if (x_word(x, name, sizeof name) == 0) {
			x_error(x, "def: needs a variable name");
			return -1;
		}
		v = x->skipping ? NULL : expand_var_value(x->env, name, num, sizeof num);
		*result = v != NULL && *v != '\0';
		return 0;
	}
	for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
		if (strcmp(op, two[i]) == 0)
			return cond_two(x, op, result);
	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++)
		if (strcmp(op, one[i]) == 0)
			return cond_one(x, op, result);
	if (strcmp(op, "and") == 0 || strcmp(op, "or") == 0)
		return cond_list(x, op[0] == 'a', result);
	x->p = at;
	x_error(x, "unknown condition \"%s\"", op);
	return -1;
}
