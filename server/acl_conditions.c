/*
 * acl_conditions.c - the built-in ACL conditions (hosts, domains,
 * local_parts, senders, recipients, encrypted, condition), each a row that
 * registers with acl.c, and acl_conditions_init(), the one place that
 * lists every module with conditions: SPF, DMARC and lookups add a line
 * there, not to acl.c.
 *
 * Like all of ACL evaluation, a condition must never fail open: a value
 * not known yet is ACL_COND_UNKNOWN (the statement does not fire), and
 * anything that cannot be evaluated is ACL_COND_ERROR (the ACL defers).
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "config.h"
#include "match.h"
#include "strlist.h"
#include "strutil.h"

/* ---- list conditions ---------------------------------------------------------- */

/* Does `list` (expanded) hold a "+NAME" item? */
static int
has_named(const struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i][0] == '+' ||
		    (l->v[i][0] == '!' && l->v[i][1 + strspn(l->v[i] + 1, " ")] == '+'))
			return 1;
	return 0;
}

static enum acl_cond match_list(const char *value, const struct acl_env *env, const char *kind,
                                const char *subject, int (*fn)(const char *, const char *),
                                unsigned depth, char *why, size_t whylen);

/* Item by item, so "+NAME" (a named list of the same kind, Exim 10.5) is
 * matched in its place: the first item that matches decides. */
static enum acl_cond
match_items(const struct strlist *l, const struct acl_env *env, const char *kind,
            const char *subject, int (*fn)(const char *, const char *), unsigned depth, char *why,
            size_t whylen)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *item = l->v[i];
		int neg = item[0] == '!', hit;
		char *one;
		if (neg)
			item += 1 + strspn(item + 1, " ");
		if (item[0] == '+') {
			const char *v = config_named_list(env->cfg, kind, item + 1);
			enum acl_cond r;
			if (v == NULL) {
				snprintf(why, whylen, "no %s named \"%s\"", kind, item + 1);
				return ACL_COND_ERROR;
			}
			r = match_list(v, env, kind, subject, fn, depth + 1, why, whylen);
			if (r == ACL_COND_ERROR)
				return r;
			hit = r == ACL_COND_TRUE;
		} else {
			/* One item as a list of its own, its colons kept ("<\n"). */
			if (asprintf(&one, "<\n%s", item) < 0) {
				snprintf(why, whylen, "out of memory");
				return ACL_COND_ERROR;
			}
			hit = fn(one, subject);
			free(one);
		}
		if (hit)
			return neg ? ACL_COND_FALSE : ACL_COND_TRUE;
	}
	return ACL_COND_FALSE;
}

/* Expand `value` and match `subject` against it, named lists included. */
static enum acl_cond
match_list(const char *value, const struct acl_env *env, const char *kind, const char *subject,
           int (*fn)(const char *, const char *), unsigned depth, char *why, size_t whylen)
{
	struct strlist l = { 0 };
	enum acl_cond r;
	char *list;

	if (depth > 8) {
		snprintf(why, whylen, "named lists nest deeper than 8");
		return ACL_COND_ERROR;
	}
	switch (expand_eval(value, &env->vars, &list, why, whylen)) {
	case EXPAND_OK:
		break;
	case EXPAND_FAIL:
		return ACL_COND_FALSE; /* a forced failure matches nothing */
	default:
		return ACL_COND_ERROR;
	}
	if (strlist_split(&l, list) != 0) {
		free(list);
		snprintf(why, whylen, "out of memory");
		return ACL_COND_ERROR;
	}
	if (has_named(&l))
		r = match_items(&l, env, kind, subject, fn, depth, why, whylen);
	else
		r = fn(list, subject) ? ACL_COND_TRUE : ACL_COND_FALSE;
	strlist_free(&l);
	free(list);
	return r;
}

/* Expand the list and match `subject` (NULL: not known yet) with `fn`. */
static enum acl_cond
eval_list(const char *value, const struct acl_env *env, const char *kind, const char *subject,
          int (*fn)(const char *, const char *), char *why, size_t whylen)
{
	if (subject == NULL)
		return ACL_COND_UNKNOWN;
	return match_list(value, env, kind, subject, fn, 0, why, whylen);
}

static int
check_hosts(const char *value, struct err *e)
{
	char bad[256] = "(out of memory)";

	/* An item with a $variable is checked when it has a value. */
	if (match_host_list_check(value, bad, sizeof bad) != 0) {
		err_set(e, 0, "hosts: bad host list item \"%s\" " MATCH_HOST_ITEM_HINT, bad);
		return -1;
	}
	return 0;
}

static enum acl_cond
eval_hosts(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	return eval_list(value, env, "hostlist", env->host_address, match_host, why, whylen);
}

static enum acl_cond
eval_domains(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	return eval_list(value, env, "domainlist", env->domain, match_domain, why, whylen);
}

static enum acl_cond
eval_local_parts(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	return eval_list(value, env, "localpartlist", env->local_part, match_local_part, why,
	                 whylen);
}

static enum acl_cond
eval_senders(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	return eval_list(value, env, "addresslist", env->sender, match_address, why, whylen);
}

static enum acl_cond
eval_recipients(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	return eval_list(value, env, "addresslist", env->recipient, match_address, why, whylen);
}

/* ---- encrypted = yes|no ----------------------------------------------------------- */

static int
check_encrypted(const char *value, struct err *e)
{
	int yes;

	if (str_parse_bool(value, &yes) != 0) {
		err_set(e, 0, "encrypted: expected yes or no, got \"%s\"", value);
		return -1;
	}
	return 0;
}

static enum acl_cond
eval_encrypted(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	int want;

	if (str_parse_bool(value, &want) != 0) {
		snprintf(why, whylen, "encrypted: bad value \"%s\"", value);
		return ACL_COND_ERROR;
	}
	return (env->encrypted != 0) == want ? ACL_COND_TRUE : ACL_COND_FALSE;
}

/* ---- condition = LEFT OP RIGHT -------------------------------------------------- */

/* "LEFT OP RIGHT": the first of == != =~ !~ with white space on both sides. */
struct cond_parts {
	char *left, *right;
	char op[3];
};

static void
strip_quotes(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
}

/* 0 ok, -1 no operator, -2 out of memory.  Free both sides. */
static int
cond_split(const char *v, struct cond_parts *c)
{
	static const char *const ops[] = { "==", "!=", "=~", "!~" };

	size_t n = strlen(v);

	memset(c, 0, sizeof *c);
	/* i + 2 <= n: an operator needs a space on each side, and an empty or
	 * one-octet value (`condition =`) is never read past its end. */
	for (size_t i = 1; i + 1 < n; i++) {
		if (!isspace((unsigned char)v[i - 1]) || !isspace((unsigned char)v[i + 2]))
			continue;
		for (size_t k = 0; k < 4; k++) {
			if (strncmp(v + i, ops[k], 2) != 0)
				continue;
			memcpy(c->op, ops[k], 3);
			c->left = acl_strndup_trimmed(v, i);
			c->right = acl_strndup_trimmed(v + i + 2, strlen(v + i + 2));
			if (c->left == NULL || c->right == NULL) {
				free(c->left);
				free(c->right);
				c->left = c->right = NULL;
				return -2;
			}
			strip_quotes(c->left);
			strip_quotes(c->right);
			return 0;
		}
	}
	return -1;
}

/* Bounds on a regex before regcomp() sees it: glibc builds its automaton
   by copying each repeated part, so nested intervals such as
   "((a{255}){255}){255}" need gigabytes (found by fuzz/config_fuzz.c).
   The product of every interval's count over-estimates the copies for any
   nesting, and a short, plain regex never comes near the limit. */
#define REGEX_MAX_LEN 1024
#define REGEX_MAX_COPIES 10000

static int
regex_bounded(const char *re, char *why, size_t whylen)
{
	unsigned long copies = 1;

	if (strlen(re) > REGEX_MAX_LEN) {
		snprintf(why, whylen, "longer than %d octets", REGEX_MAX_LEN);
		return -1;
	}
	for (const char *p = re; *p != '\0'; p++) {
		unsigned long n = 0, cur = 0;

		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p != '{' || !isdigit((unsigned char)p[1]))
			continue;
		/* "{m}", "{m,}" or "{m,n}": the largest count written, plus one. */
		for (p++; isdigit((unsigned char)*p) || *p == ','; p++) {
			if (*p == ',')
				cur = 0;
			else if (cur <= REGEX_MAX_COPIES)
				cur = cur * 10 + (unsigned long)(*p - '0');
			n = cur > n ? cur : n;
		}
		p--;
		copies *= n + 1;
		if (copies > REGEX_MAX_COPIES) {
			snprintf(why, whylen, "repetition counts multiply to more than %d",
			         REGEX_MAX_COPIES);
			return -1;
		}
	}
	return 0;
}

/* Compile `re` as a POSIX extended regex; on failure describe why. */
static int
regex_check(const char *re, char *why, size_t whylen)
{
	regex_t rx;
	int rc;

	if (regex_bounded(re, why, whylen) != 0)
		return -1;
	rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);

	if (rc != 0) {
		regerror(rc, &rx, why, whylen);
		return -1;
	}
	regfree(&rx);
	return 0;
}

/* condition = "${...}": Exim's form, the expansion read as a boolean
 * (expand_bool); anything else is refmta's "LEFT OP RIGHT". */
static int
is_exim_form(const char *value)
{
	return value[0] == '$' && value[1] == '{';
}

/* A regex without variables is compiled now, so a bad one fails at load time. */
static int
check_condition(const char *value, struct err *e)
{
	struct cond_parts c;
	int s, rc = 0;

	if (is_exim_form(value))
		return 0; /* acl.c checked the expansion's syntax */
	s = cond_split(value, &c);

	if (s == -2) {
		err_set(e, 0, "out of memory");
		return -1;
	}
	if (s != 0) {
		err_set(e, 0,
		        "condition: expected \"LEFT OP RIGHT\" with OP one of == != =~ !~ "
		        "between spaces, got \"%s\"",
		        value);
		return -1;
	}
	if (c.op[1] == '~' && !str_has_var_ref(c.right)) {
		char why[128];
		char *re = expand_string(c.right, NULL); /* only "$$" to undo */
		int bad = re == NULL ? 0 : regex_check(re, why, sizeof why);
		free(re);
		if (bad) {
			err_set(e, 0, "condition: bad regex \"%s\": %s", c.right, why);
			rc = -1;
		}
	}
	free(c.left);
	free(c.right);
	return rc;
}

/* Exim 42.x "condition": a forced failure does not hold; a result that is
 * not a boolean is an error (the ACL defers), as in Exim. */
static enum acl_cond
eval_exim_condition(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	char *v;
	int b;

	switch (expand_eval(value, &env->vars, &v, why, whylen)) {
	case EXPAND_OK:
		break;
	case EXPAND_FAIL:
		return ACL_COND_FALSE;
	default:
		return ACL_COND_ERROR;
	}
	b = expand_bool(v);
	if (b < 0)
		snprintf(why, whylen,
		         "condition: \"%.80s\" is not a boolean (true/false, yes/no, "
		         "a number)",
		         v);
	free(v);
	return b < 0 ? ACL_COND_ERROR : b ? ACL_COND_TRUE : ACL_COND_FALSE;
}

static enum acl_cond
eval_condition(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	struct cond_parts c;
	char *l = NULL, *r = NULL;
	enum acl_cond res = ACL_COND_ERROR;
	regex_t rx;
	int rc;

	if (is_exim_form(value))
		return eval_exim_condition(value, env, why, whylen);
	if (cond_split(value, &c) != 0) {
		snprintf(why, whylen, "condition: cannot evaluate \"%s\"", value);
		return ACL_COND_ERROR;
	}
	if (expand_eval(c.left, &env->vars, &l, why, whylen) != EXPAND_OK ||
	    expand_eval(c.right, &env->vars, &r, why, whylen) != EXPAND_OK)
		goto out;
	if (c.op[1] == '=') {
		int eq = strcmp(l, r) == 0;
		res = (c.op[0] == '=') == eq ? ACL_COND_TRUE : ACL_COND_FALSE;
		goto out;
	}
	rc = regex_bounded(r, why, whylen) == 0 ? regcomp(&rx, r, REG_EXTENDED | REG_NOSUB) : -1;
	if (rc != 0) {
		snprintf(why, whylen, "condition: bad regex \"%s\" after expansion", r);
		goto out;
	}
	rc = regexec(&rx, l, 0, NULL, 0);
	regfree(&rx);
	res = ((rc == 0) == (c.op[0] == '=')) ? ACL_COND_TRUE : ACL_COND_FALSE;
out:
	free(c.left);
	free(c.right);
	free(l);
	free(r);
	return res;
}

/* ---- registration --------------------------------------------------------------- */

/* In the order "unknown condition" messages list them. */
static const struct acl_condition builtin[] = {
	{ "hosts", check_hosts, eval_hosts },
	{ "domains", NULL, eval_domains },
	{ "local_parts", NULL, eval_local_parts },
	{ "senders", NULL, eval_senders },
	{ "recipients", NULL, eval_recipients },
	{ "encrypted", check_encrypted, eval_encrypted },
	{ "condition", check_condition, eval_condition },
};

void
acl_conditions_init(void)
{
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
		if (acl_condition_register(&builtin[i]) != 0)
			abort(); /* a duplicate built-in name: a programming error */
	/* Modules with conditions register here: spf_acl_register(), ... */
}
