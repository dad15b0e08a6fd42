/*
 * expand_items.c - the expansion items (${if}, ${lookup}, ${extract},
 * ${sg}, ${acl}) and operators (${lc:}, ${uc:}, ${length_N:},
 * ${substr_M_N:}, ${quote_redis:}), after Exim spec chapter 11.
 *
 * Each item first parses all of its arguments (skipping), then evaluates
 * only those it needs: the branch not taken is never looked up, and a
 * lookup's value is substituted as $value, never expanded.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expand_int.h"
#include "expand_regex.h"
#include "lookup.h"
#include "strutil.h"
#include "tls.h"

#define MAX_ARGS 10 /* ${acl{NAME}} and nine arguments */

/* Optional "{YES}" then "{NO}" or "fail". */
struct yesno {
	struct xspan yes, no;
	int has_yes, has_no, fail;
};

static int
parse_yesno(struct xstate *x, struct yesno *yn)
{
	memset(yn, 0, sizeof *yn);
	if (x_peek_brace(x)) {
		if (x_span(x, &yn->yes) != 0)
			return -1;
		yn->has_yes = 1;
		if (x_peek_brace(x)) {
			if (x_span(x, &yn->no) != 0)
				return -1;
			yn->has_no = 1;
		} else if (strncmp(x->p, "fail", 4) == 0 && !isalnum((unsigned char)x->p[4]) &&
		           x->p[4] != '_') {
			x->p += 4;
			yn->fail = 1;
		}
	}
	return 0;
}

/* Append NO (or "", or force failure) for a false condition / a miss. */
static int
take_no(struct xstate *x, const struct yesno *yn, struct buf *out, const char *what)
{
	if (yn->has_no)
		return x_span_eval(x, &yn->no, out);
	if (yn->fail) {
		x_fail(x, what);
		return -1;
	}
	return 0;
}

static int
item_if(struct xstate *x, struct buf *out)
{
	char *saved[EXPAND_NCAPS];
	struct yesno yn;
	int r = 0, rc = -1;

	memcpy(saved, x->caps, sizeof saved);
	memset(x->caps, 0, sizeof x->caps); /* a match inside sets its own */
	if (x_cond(x, &r) != 0 || parse_yesno(x, &yn) != 0 || x_close(x, "if") != 0)
		goto out;
	rc = 0;
	if (x->skipping)
		goto out;
	if (r)
		rc = yn.has_yes ? x_span_eval(x, &yn.yes, out) : (buf_adds(out, "true"), 0);
	else
		rc = take_no(x, &yn, out, "${if} condition false");
out:
	x_caps_set(x, saved); /* $1.. are the outer ones again */
	return rc;
}

/* Found: YES with $value, or the value itself. */
static int
take_value(struct xstate *x, const struct yesno *yn, const char *value, struct buf *out)
{
	const char *outer = x->value;
	int rc;

	if (!yn->has_yes) {
		buf_adds(out, value);
		return 0;
	}
	x->value = value;
	rc = x_span_eval(x, &yn->yes, out);
	x->value = outer;
	return rc;
}

static int
item_lookup(struct xstate *x, struct buf *out)
{
	struct xspan key = { 0 }, arg;
	const struct lookup_type *t;
	struct yesno yn;
	char type[32], why[400], *k = NULL, *a = NULL, *value = NULL;
	int has_key, rc = -1;
	enum lookup_result lr;

	has_key = x_peek_brace(x);
	if (has_key && x_span(x, &key) != 0)
		return -1;
	x_ws(x);
	if (x_word(x, type, sizeof type) == 0) {
		x_error(x, "expected a lookup type (%s)", lookup_type_names());
		return -1;
	}
	t = lookup_type_find(type);
	if (t == NULL) {
		x_error(x, "unknown lookup type \"%s\" (%s)", type, lookup_type_names());
		return -1;
	}
	if (t->query == has_key) {
		x_error(x,
		        t->query ? "%s is a query lookup: ${lookup %s{QUERY}}"
		                 : "%s is a single-key lookup: ${lookup{KEY}%s{FILE}}",
		        type, type);
		return -1;
	}
	if (x_span(x, &arg) != 0 || parse_yesno(x, &yn) != 0 || x_close(x, "lookup") != 0)
		return -1;
	if (x->skipping)
		return 0;
	if ((has_key && x_span_str(x, &key, &k) != 0) || x_span_str(x, &arg, &a) != 0)
		goto out;
	why[0] = '\0';
	lr = t->find(has_key ? a : NULL, has_key ? k : a, &value, why, sizeof why);
	if (lr == LOOKUP_DEFER) {
		x_error(x, "lookup %s: %s", type, why[0] ? why : "deferred");
		goto out;
	}
	rc = lr == LOOKUP_FOUND ? take_value(x, &yn, value, out)
	                        : take_no(x, &yn, out, "lookup found nothing");
out:
	free(k);
	free(a);
	free(value);
	return rc;
}

/* Up to `max` "{..}" arguments, then optional "fail". */
static int
parse_args(struct xstate *x, struct xspan *sp, size_t max, size_t *n, int *fail)
{
	*n = 0;
	*fail = 0;
	while (x_peek_brace(x)) {
		if (*n == max) {
			x_error(x, "too many arguments (at most %zu)", max);
			return -1;
		}
		if (x_span(x, &sp[(*n)++]) != 0)
			return -1;
	}
	if (fail != NULL && strncmp(x->p, "fail", 4) == 0 && !isalnum((unsigned char)x->p[4])) {
		x->p += 4;
		*fail = 1;
	}
	return 0;
}

/* "key=value key2 = "quoted \" value"": the value of `key` (Exim's
 * ${extract} key form; keys case-insensitive).  NULL: not there. */
static char *
extract_key(const char *s, const char *key, int *oom)
{
	size_t klen = strlen(key);

	*oom = 0;
	for (;;) {
		const char *k, *v;
		size_t kn;
		struct buf b = { 0 };
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			return NULL;
		k = s;
		while (*s != '\0' && *s != '=' && !isspace((unsigned char)*s))
			s++;
		kn = (size_t)(s - k);
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '=')
			s++;
		while (isspace((unsigned char)*s))
			s++;
		buf_add(&b, "", 0);
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				buf_add(&b, s, 1);
			}
			if (*s == '"')
				s++;
		} else {
			v = s;
			while (*s != '\0' && !isspace((unsigned char)*s))
				s++;
			buf_add(&b, v, (size_t)(s - v));
		}
		if (kn == klen && strncasecmp(k, key, klen) == 0) {
			char *r = buf_take(&b);
			*oom = r == NULL;
			return r;
		}
		buf_free(&b);
	}
}

/* Field n (1-based; negative from the end; 0 the whole) of s split at any of seps. */
static char *
extract_field(const char *s, const char *seps, long long n)
{
	size_t len = strlen(s), nf = 1, want, i = 0;
	const char *start = s;

	if (n == 0)
		return strdup(s);
	for (size_t j = 0; j < len; j++)
		nf += strchr(seps, s[j]) != NULL && *seps != '\0';
	if ((n > 0 && (size_t)n > nf) || (n < 0 && (size_t)(-n) > nf))
		return NULL;
	want = n > 0 ? (size_t)n : nf + 1 - (size_t)(-n);
	for (size_t f = 1; f <= want; f++) {
		start = s + i;
		while (i < len && (strchr(seps, s[i]) == NULL || *seps == '\0'))
			i++;
		if (f == want)
			return strndup(start, (size_t)(s + i - start));
		i++;
	}
	return NULL;
}

static int
item_extract(struct xstate *x, struct buf *out)
{
	struct xspan sp[5];
	struct yesno yn = { 0 };
	size_t n, first;
	char *key = NULL, *a2 = NULL, *a3 = NULL, *val = NULL;
	int fail, numeric, oom = 0, rc = -1;
	uint64_t num;

	if (parse_args(x, sp, 5, &n, &fail) != 0 || x_close(x, "extract") != 0)
		return -1;
	if (n < 2) {
		x_error(x, "${extract} needs {KEY}{STRING} or {N}{SEPARATORS}{STRING}");
		return -1;
	}
	if (x->skipping || x_span_str(x, &sp[0], &key) != 0)
		return x->skipping ? 0 : -1;
	numeric = str_parse_u64(key, strlen(key), 1u << 30, &num) == STR_NUM_OK;
	first = numeric ? 3 : 2;
	if (n < first || n > first + 2) {
		x_error(x, "${extract{%s}...} takes %s, then optional {YES}{NO}", key,
		        numeric ? "{SEPARATORS}{STRING}" : "{STRING}");
		goto out;
	}
	if (x_span_str(x, &sp[1], &a2) != 0 || (numeric && x_span_str(x, &sp[2], &a3) != 0))
		goto out;
	yn.has_yes = n > first;
	yn.yes = sp[first < n ? first : 0];
	yn.has_no = n > first + 1;
	yn.no = sp[first + 1 < n ? first + 1 : 0];
	yn.fail = fail;
	val = numeric ? extract_field(a3, a2, (long long)num) : extract_key(a2, key, &oom);
	if (oom) {
		x_error(x, "out of memory");
		goto out;
	}
	rc = val != NULL ? take_value(x, &yn, val, out)
	                 : take_no(x, &yn, out, "extract found nothing");
out:
	free(key);
	free(a2);
	free(a3);
	free(val);
	return rc;
}

/* The replacement with $0..$9 / ${0}..${9} taken from this match. */
static void
sg_replace(struct buf *out, const char *subj, const char *r, const size_t *ov, size_t npairs)
{
	for (const char *p = r; *p != '\0'; p++) {
		size_t d = 10;
		if (p[0] == '$' && isdigit((unsigned char)p[1])) {
			d = (size_t)(p[1] - '0');
			p++;
		} else if (p[0] == '$' && p[1] == '{' && isdigit((unsigned char)p[2]) &&
		           p[3] == '}') {
			d = (size_t)(p[2] - '0');
			p += 3;
		}
		if (d == 10)
			buf_add(out, p, 1);
		else if (d < npairs)
			buf_add(out, subj + ov[2 * d], ov[2 * d + 1] - ov[2 * d]);
	}
}

static int
item_sg(struct xstate *x, struct buf *out)
{
	struct xspan sp[3];
	size_t n, ov[2 * EXPAND_NCAPS], npairs, start = 0, len;
	char *s = NULL, *re = NULL, *r = NULL, why[200];
	struct xre *rx = NULL;
	int fail, rc = -1, m;

	if (parse_args(x, sp, 3, &n, &fail) != 0 || x_close(x, "sg") != 0)
		return -1;
	if (n != 3 || fail) {
		x_error(x, "${sg} takes {SUBJECT}{REGEX}{REPLACEMENT}");
		return -1;
	}
	if (x->skipping)
		return 0;
	if (x_span_str(x, &sp[0], &s) != 0 || x_span_str(x, &sp[1], &re) != 0 ||
	    x_span_str(x, &sp[2], &r) != 0)
		goto out;
	rx = xre_compile(re, strlen(re), why, sizeof why);
	if (rx == NULL) {
		x_error(x, "%s", why);
		goto out;
	}
	len = strlen(s);
	while (start <= len && (m = xre_match(rx, s, len, start, ov, 2 * EXPAND_NCAPS, &npairs, why,
	                                      sizeof why)) == 1) {
		buf_add(out, s + start, ov[0] - start);
		sg_replace(out, s, r, ov, npairs);
		if (ov[1] == ov[0]) { /* empty match: keep one octet and move on */
			if (ov[1] < len)
				buf_add(out, s + ov[1], 1);
			start = ov[1] + 1;
		} else {
			start = ov[1];
		}
	}
	if (start <= len && m < 0) {
		x_error(x, "%s", why);
		goto out;
	}
	if (start < len)
		buf_add(out, s + start, len - start);
	rc = 0;
out:
	xre_free(rx);
	free(s);
	free(re);
	free(r);
	return rc;
}

static int
item_acl(struct xstate *x, struct buf *out)
{
	struct xspan sp[MAX_ARGS];
	char *args[MAX_ARGS] = { 0 }, *res = NULL, why[256] = "";
	size_t n;
	int fail, rc = -1, r;

	if (parse_args(x, sp, MAX_ARGS, &n, &fail) != 0 || x_close(x, "acl") != 0)
		return -1;
	if (n == 0 || fail) {
		x_error(x, "${acl} takes {NAME} and up to nine {ARG}s");
		return -1;
	}
	if (x->skipping)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (x_span_str(x, &sp[i], &args[i]) != 0)
			goto out;
	if (x->env == NULL || x->env->acl == NULL) {
		x_error(x, "${acl{%s}}: no ACLs can be run here", args[0]);
		goto out;
	}
	r = x->env->acl(x->env->acl_arg, args[0], (const char *const *)args + 1, n - 1, &res, why,
	                sizeof why);
	if (r == EXPAND_OK) {
		buf_adds(out, res != NULL ? res : "");
		rc = 0;
	} else if (r == EXPAND_FAIL) {
		x_fail(x, "${acl} did not accept");
	} else {
		x_error(x, "${acl{%s}}: %s", args[0], why);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(args[i]);
	free(res);
	return rc;
}

/* ${certextract{FIELD}{CERT}}: a field of a PEM certificate ($tls_out_peercert
 * in a tls:cert event), decoded by the TLS backend in use (lib/tls.h). */
static int
item_certextract(struct xstate *x, struct buf *out)
{
	struct xspan sp[2];
	char *field = NULL, *cert = NULL, *res = NULL;
	struct err e = { 0 };
	int rc = -1;

	if (x_span(x, &sp[0]) != 0 || x_span(x, &sp[1]) != 0 || x_close(x, "certextract") != 0)
		return -1;
	if (x->skipping)
		return 0;
	if (x_span_str(x, &sp[0], &field) != 0 || x_span_str(x, &sp[1], &cert) != 0)
		goto out;
	if (tls_cert_extract(tls_backend_in_use(), cert, field, &res, &e) != 0) {
		x_error(x, "${certextract{%s}}: %s", field, e.text);
		goto out;
	}
	buf_adds(out, res);
	rc = 0;
out:
	free(field);
	free(cert);
	free(res);
	return rc;
}

/* ${authresults{ID}} (Exim's item): "Authentication-Results: ID" and the
 * context's result items, or "; none" (RFC 8601 2.2, 2.7; docs/spf.md). */
static int
item_authresults(struct xstate *x, struct buf *out)
{
	struct xspan sp[1];
	size_t n, base;
	int fail;
	char *id = NULL;

	if (parse_args(x, sp, 1, &n, &fail) != 0 || x_close(x, "authresults") != 0)
		return -1;
	if (n != 1 || fail) {
		x_error(x, "${authresults} takes one {ID}");
		return -1;
	}
	if (x->skipping)
		return 0;
	if (x_span_str(x, &sp[0], &id) != 0)
		return -1;
	if (id[0] == '\0') { /* RFC 8601 2.2: authserv-id is a value */
		free(id);
		x_error(x, "${authresults}: the ID (authserv-id) is empty");
		return -1;
	}
	buf_adds(out, "Authentication-Results: ");
	buf_adds(out, id);
	base = out->len;
	if (x->env != NULL && x->env->authres != NULL)
		x->env->authres(x->env->ctx, out);
	if (out->len == base)
		buf_adds(out, "; none");
	free(id);
	return 0;
}

int
x_item(struct xstate *x, const char *word, struct buf *out)
{
	if (strcmp(word, "certextract") == 0)
		return item_certextract(x, out);
	if (strcmp(word, "if") == 0)
		return item_if(x, out);
	if (strcmp(word, "lookup") == 0)
		return item_lookup(x, out);
	if (strcmp(word, "extract") == 0)
		return item_extract(x, out);
	if (strcmp(word, "sg") == 0)
		return item_sg(x, out);
	if (strcmp(word, "acl") == 0)
		return item_acl(x, out);
	if (strcmp(word, "authresults") == 0)
		return item_authresults(x, out);
	return 1;
}

/* ---- operators ------------------------------------------------------------------- */

/* "length_N" / "substr_M_N" / "substr_M": the numbers (M may be negative). */
static int
op_numbers(const char *word, const char *prefix, long long *a, long long *b, int *nb)
{
	const char *p = word + strlen(prefix);
	char *end;

	*nb = 0;
	if (strncmp(word, prefix, strlen(prefix)) != 0 || *p == '\0')
		return -1;
	*a = strtoll(p, &end, 10);
	if (end == p || *a < -100000000 || *a > 100000000)
		return -1;
	if (*end == '_') {
		p = end + 1;
		*b = strtoll(p, &end, 10);
		if (end == p || *b < 0 || *b > 100000000)
			return -1;
		*nb = 1;
	}
	return *end == '\0' ? 0 : -1;
}

int
x_operator(struct xstate *x, const char *word, struct buf *out)
{
	struct buf b = { 0 };
	long long m = 0, n = 0;
	int nb = 0, rc = -1, kind;
	char *s;

	/* 1 lc, 2 uc, 3 quote_redis, 4 length, 5 substr */
	kind = strcmp(word, "lc") == 0            ? 1
	       : strcmp(word, "uc") == 0          ? 2
	       : strcmp(word, "quote_redis") == 0 ? 3
	                                          : 0;
	if (kind == 0 && op_numbers(word, "length_", &m, &n, &nb) == 0 && !nb && m >= 0)
		kind = 4;
	if (kind == 0 && op_numbers(word, "substr_", &m, &n, &nb) == 0)
		kind = 5;
	if (kind == 0) {
		x_error(x, "unknown operator \"%s\" (lc, uc, length_N, substr_M_N, quote_redis)",
		        word);
		return -1;
	}
	buf_add(&b, "", 0);
	if (x_text(x, &b, 1) != 0)
		goto out;
	x->p++; /* the "}" */
	rc = 0;
	if (x->skipping)
		goto out;
	if (b.oom) {
		x_error(x, "out of memory");
		rc = -1;
		goto out;
	}
	s = b.p;
	if (kind == 1 || kind == 2) {
		for (char *c = s; *c != '\0'; c++)
			*c = (char)(kind == 1 ? tolower((unsigned char)*c)
			                      : toupper((unsigned char)*c));
		buf_adds(out, s);
	} else if (kind == 3) {
		char *q = lookup_redis_quote(s);
		if (q == NULL) {
			x_error(x, "out of memory");
			rc = -1;
			goto out;
		}
		buf_adds(out, q);
		free(q);
	} else {
		long long len = (long long)b.len, from = kind == 4 ? 0 : m;
		long long cnt = kind == 4 ? m : nb ? n : len;
		if (from < 0)
			from = len + from < 0 ? 0 : len + from;
		if (from > len)
			from = len;
		if (cnt > len - from)
			cnt = len - from;
		buf_add(out, s + from, (size_t)cnt);
	}
out:
	buf_free(&b);
	return rc;
}
