/*
 * acl.c - access control lists: parsing one statement at a time for
 * config_load, checking, and evaluation against what a session knows.
 *
 * Evaluation must never fail open and never crash: a missing value in the
 * environment makes a condition not hold, and anything that cannot be
 * evaluated (out of memory, a regex that only breaks after expansion)
 * defers (4xx), the verdict a client retries, with the reason in
 * res->log_message.  Nothing here logs or replies: the session does.
 *
 * acl_check() reports a bad item with e->code = the item's line and
 * e->text = the message (config_load prefixes "FILE:LINE: ").
 */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl.h"
#include "match.h"
#include "strutil.h"

enum item_kind {
	ITEM_HOSTS,
	ITEM_DOMAINS,
	ITEM_LOCAL_PARTS,
	ITEM_SENDERS,
	ITEM_RECIPIENTS,
	ITEM_ENCRYPTED,
	ITEM_CONDITION,
	ITEM_MESSAGE,
	ITEM_LOG_MESSAGE,
	ITEM_ADD_HEADER,
};

static const struct {
	const char *name;
	enum item_kind kind;
	int modifier; /* does not count as a condition, cannot be negated */
} item_table[] = {
	{ "hosts", ITEM_HOSTS, 0 },
	{ "domains", ITEM_DOMAINS, 0 },
	{ "local_parts", ITEM_LOCAL_PARTS, 0 },
	{ "senders", ITEM_SENDERS, 0 },
	{ "recipients", ITEM_RECIPIENTS, 0 },
	{ "encrypted", ITEM_ENCRYPTED, 0 },
	{ "condition", ITEM_CONDITION, 0 },
	{ "message", ITEM_MESSAGE, 1 },
	{ "log_message", ITEM_LOG_MESSAGE, 1 },
	{ "add_header", ITEM_ADD_HEADER, 1 },
};
#define NITEMS (sizeof item_table / sizeof item_table[0])

static const char *const verb_names[] = { "accept", "deny", "defer", "drop", "warn" };

static int
item_lookup(const char *name)
{
	for (size_t i = 0; i < NITEMS; i++)
		if (strcmp(item_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
parse_verb(const char *word, size_t n, enum acl_verb *out)
{
	for (size_t i = 0; i < sizeof verb_names / sizeof verb_names[0]; i++)
		if (strlen(verb_names[i]) == n && strncmp(verb_names[i], word, n) == 0) {
			*out = (enum acl_verb)i;
			return 0;
		}
	return -1;
}


/* Does `s` reference a variable ("$name" or "${")?  "$$" does not. */
static int
has_var_ref(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != '$')
			continue;
		if (s[1] == '$') {
			s++;
			continue;
		}
		if ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= '0' && s[1] <= '9') || s[1] == '_' ||
		    s[1] == '{')
			return 1;
	}
	return 0;
}

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

static char *
dup_trimmed(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/* 0 ok, -1 no operator, -2 out of memory. */
static int
cond_split(const char *v, struct cond_parts *c)
{
	static const char *const ops[] = { "==", "!=", "=~", "!~" };

	memset(c, 0, sizeof *c);
	for (size_t i = 1; v[i] != '\0' && v[i + 1] != '\0'; i++) {
		if (!isspace((unsigned char)v[i - 1]) || !isspace((unsigned char)v[i + 2]))
			continue;
		for (size_t k = 0; k < 4; k++) {
			if (strncmp(v + i, ops[k], 2) != 0)
				continue;
			memcpy(c->op, ops[k], 3);
			c->left = dup_trimmed(v, i);
			c->right = dup_trimmed(v + i + 2, strlen(v + i + 2));
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

/* Compile `re` as a POSIX extended regex; on failure describe why. */
static int
regex_check(const char *re, char *why, size_t whylen)
{
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);

	if (rc != 0) {
		regerror(rc, &rx, why, whylen);
		return -1;
	}
	regfree(&rx);
	return 0;
}

/* The value of one item, checked as far as it can be before expansion. */
static int
item_check(const struct acl_item *it, struct err *e)
{
	int k = item_lookup(it->name);
	struct cond_parts c = { 0 };
	struct strlist l = { 0 };
	int yes, rc = -1;

	if (k < 0) {
		err_set(e, it->line,
		        "unknown ACL condition or modifier \"%s\" (conditions: hosts, domains, "
		        "local_parts, senders, recipients, encrypted, condition; modifiers: "
		        "message, log_message, add_header)",
		        it->name);
		return -1;
	}
	if (it->negated && item_table[k].modifier) {
		err_set(e, it->line, "\"!%s\": only conditions can be negated", it->name);
		return -1;
	}
	switch (item_table[k].kind) {
	case ITEM_HOSTS:
		if (strlist_split(&l, it->value) != 0) {
			err_set(e, it->line, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < l.n; i++)
			/* An item with a $variable is checked when it has a value. */
			if (!has_var_ref(l.v[i]) && !match_host_item_valid(l.v[i])) {
				err_set(e, it->line,
				        "hosts: bad host list item \"%s\" (use *, an IP address or "
				        "a CIDR; double each colon of an IPv6 address)",
				        l.v[i]);
				goto out;
			}
		break;
	case ITEM_ENCRYPTED:
		if (str_parse_bool(it->value, &yes) != 0) {
			err_set(e, it->line, "encrypted: expected yes or no, got \"%s\"",
			        it->value);
			goto out;
		}
		break;
	case ITEM_CONDITION: {
		int s = cond_split(it->value, &c);
		if (s == -2) {
			err_set(e, it->line, "out of memory");
			goto out;
		}
		if (s != 0) {
			err_set(e, it->line,
			        "condition: expected \"LEFT OP RIGHT\" with OP one of == != =~ !~ "
			        "between spaces, got \"%s\"",
			        it->value);
			goto out;
		}
		if (c.op[1] == '~' && !has_var_ref(c.right)) {
			char why[128];
			char *re = expand_string(c.right, NULL); /* only "$$" to undo */
			int bad = re == NULL ? 0 : regex_check(re, why, sizeof why);
			free(re);
			if (bad) {
				err_set(e, it->line, "condition: bad regex \"%s\": %s", c.right,
				        why);
				goto out;
			}
		}
		break;
	}
	default:
		break;
	}
	rc = 0;
out:
	free(c.left);
	free(c.right);
	strlist_free(&l);
	return rc;
}

/* "[!]name = value" into a new item of the last statement. */
static int
add_item(struct acl *acl, const char *text, int line, struct err *e)
{
	struct acl_stmt *st;
	struct acl_item it = { .line = line }, *grown;
	const char *p = text, *name, *eq;
	size_t n;
	int rc = -1;

	if (acl->nstmts == 0) {
		err_set(e, line, "\"%s\" comes before any verb (accept, deny, defer, drop or warn)",
		        text);
		return -1;
	}
	if (*p == '!') {
		it.negated = 1;
		p++;
		while (isspace((unsigned char)*p))
			p++;
	}
	name = p;
	while ((*p >= 'a' && *p <= 'z') || *p == '_')
		p++;
	n = (size_t)(p - name);
	eq = p;
	while (isspace((unsigned char)*eq))
		eq++;
	if (n == 0 || *eq != '=') {
		err_set(e, line, "expected \"name = value\" in an ACL, got \"%s\"", text);
		return -1;
	}
	it.name = strndup(name, n);
	it.value = dup_trimmed(eq + 1, strlen(eq + 1));
	if (it.name == NULL || it.value == NULL) {
		err_set(e, line, "out of memory");
		goto out;
	}
	if (item_check(&it, e) != 0)
		goto out;
	st = &acl->stmts[acl->nstmts - 1];
	grown = realloc(st->items, (st->nitems + 1) * sizeof *grown);
	if (grown == NULL) {
		err_set(e, line, "out of memory");
		goto out;
	}
	st->items = grown;
	st->items[st->nitems++] = it;
	it.name = it.value = NULL; /* the statement owns them now */
	rc = 0;
out:
	free(it.name);
	free(it.value);
	return rc;
}

int
acl_parse_verb_line(struct acl *acl, const char *text, int line, struct err *e)
{
	const char *p = text, *word;
	struct acl_stmt *grown;
	enum acl_verb verb;

	while (isspace((unsigned char)*p))
		p++;
	word = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (parse_verb(word, (size_t)(p - word), &verb) != 0) {
		err_set(e, line,
		        "unknown ACL verb \"%.*s\" (use accept, deny, defer, drop or warn)",
		        (int)(p - word), word);
		return -1;
	}
	grown = realloc(acl->stmts, (acl->nstmts + 1) * sizeof *grown);
	if (grown == NULL) {
		err_set(e, line, "out of memory");
		return -1;
	}
	acl->stmts = grown;
	acl->stmts[acl->nstmts++] = (struct acl_stmt){ .verb = verb, .line = line };
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 0;
	return acl_parse_continuation(acl, p, line, e);
}

int
acl_parse_continuation(struct acl *acl, const char *text, int line, struct err *e)
{
	char *t = dup_trimmed(text, strlen(text));
	int rc;

	if (t == NULL) {
		err_set(e, line, "out of memory");
		return -1;
	}
	rc = add_item(acl, t, line, e);
	free(t);
	return rc;
}

int
acl_check(const struct acl *acl, struct err *e)
{
	if (acl == NULL)
		return 0;
	for (size_t s = 0; s < acl->nstmts; s++)
		for (size_t i = 0; i < acl->stmts[s].nitems; i++)
			if (item_check(&acl->stmts[s].items[i], e) != 0)
				return -1;
	return 0;
}

void
acl_free(struct acl *acl)
{
	if (acl == NULL)
		return;
	for (size_t s = 0; s < acl->nstmts; s++) {
		for (size_t i = 0; i < acl->stmts[s].nitems; i++) {
			free(acl->stmts[s].items[i].name);
			free(acl->stmts[s].items[i].value);
		}
		free(acl->stmts[s].items);
	}
	free(acl->stmts);
	free(acl->name);
	free(acl);
}

/* --- evaluation --------------------------------------------------------------- */

enum cond_result { COND_FALSE, COND_TRUE, COND_UNKNOWN, COND_ERROR };

struct eval {
	const struct acl *acl;
	const struct acl_env *env;
	const struct expand_env *vars;
	char *error; /* why evaluation cannot go on (then: defer) */
};

static void eval_fail(struct eval *ev, const struct acl_item *it, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
eval_fail(struct eval *ev, const struct acl_item *it, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ev->error != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (asprintf(&ev->error, "%s line %d: %s", ev->acl->name != NULL ? ev->acl->name : "acl",
	             it->line, msg) < 0)
		ev->error = NULL;
	if (ev->error == NULL)
		ev->error = strdup("out of memory"); /* may stay NULL: still a defer */
}

static enum cond_result
eval_condition(struct eval *ev, const struct acl_item *it)
{
	struct cond_parts c;
	char *l = NULL, *r = NULL;
	enum cond_result res = COND_ERROR;
	regex_t rx;
	int rc;

	if (cond_split(it->value, &c) != 0) {
		eval_fail(ev, it, "condition: cannot evaluate \"%s\"", it->value);
		return COND_ERROR;
	}
	l = expand_string(c.left, ev->vars);
	r = expand_string(c.right, ev->vars);
	if (l == NULL || r == NULL) {
		eval_fail(ev, it, "out of memory");
		goto out;
	}
	if (c.op[1] == '=') {
		int eq = strcmp(l, r) == 0;
		res = (c.op[0] == '=') == eq ? COND_TRUE : COND_FALSE;
		goto out;
	}
	rc = regcomp(&rx, r, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		eval_fail(ev, it, "condition: bad regex \"%s\" after expansion", r);
		goto out;
	}
	rc = regexec(&rx, l, 0, NULL, 0);
	regfree(&rx);
	res = ((rc == 0) == (c.op[0] == '=')) ? COND_TRUE : COND_FALSE;
out:
	free(c.left);
	free(c.right);
	free(l);
	free(r);
	return res;
}

static enum cond_result
eval_item(struct eval *ev, const struct acl_item *it, enum item_kind kind)
{
	const struct acl_env *env = ev->env;
	const char *subject = NULL;
	int (*fn)(const char *, const char *) = NULL;
	char *list;
	int hit, want;

	switch (kind) {
	case ITEM_CONDITION:
		return eval_condition(ev, it);
	case ITEM_ENCRYPTED:
		if (str_parse_bool(it->value, &want) != 0) {
			eval_fail(ev, it, "encrypted: bad value \"%s\"", it->value);
			return COND_ERROR;
		}
		return (env != NULL && env->encrypted != 0) == want ? COND_TRUE : COND_FALSE;
	case ITEM_HOSTS:
		subject = env != NULL ? env->host_address : NULL;
		fn = match_host;
		break;
	case ITEM_DOMAINS:
		subject = env != NULL ? env->domain : NULL;
		fn = match_domain;
		break;
	case ITEM_LOCAL_PARTS:
		subject = env != NULL ? env->local_part : NULL;
		fn = match_local_part;
		break;
	case ITEM_SENDERS:
		subject = env != NULL ? env->sender : NULL;
		fn = match_address;
		break;
	case ITEM_RECIPIENTS:
		subject = env != NULL ? env->recipient : NULL;
		fn = match_address;
		break;
	default:
		return COND_TRUE; /* modifiers are not conditions */
	}
	if (subject == NULL)
		return COND_UNKNOWN;
	list = expand_string(it->value, ev->vars);
	if (list == NULL) {
		eval_fail(ev, it, "out of memory");
		return COND_ERROR;
	}
	hit = fn(list, subject);
	free(list);
	return hit ? COND_TRUE : COND_FALSE;
}

/* Do all conditions of `st` hold?  COND_ERROR stops everything. */
static enum cond_result
stmt_fires(struct eval *ev, const struct acl_stmt *st)
{
	for (size_t i = 0; i < st->nitems; i++) {
		const struct acl_item *it = &st->items[i];
		int k = item_lookup(it->name);
		enum cond_result r;

		if (k < 0) {
			eval_fail(ev, it, "unknown ACL item \"%s\"", it->name);
			return COND_ERROR;
		}
		if (item_table[k].modifier)
			continue;
		r = eval_item(ev, it, item_table[k].kind);
		if (r == COND_ERROR)
			return COND_ERROR;
		/* A condition on a value not known yet never holds, negated or not. */
		if (r == COND_UNKNOWN)
			return COND_FALSE;
		if ((r == COND_TRUE) == (it->negated != 0))
			return COND_FALSE;
	}
	return COND_TRUE;
}

/* Expand a modifier's value into *slot (the last one of a statement wins). */
static int
set_expanded(struct eval *ev, const struct acl_item *it, char **slot)
{
	char *v = expand_string(it->value, ev->vars);

	if (v == NULL) {
		eval_fail(ev, it, "out of memory");
		return -1;
	}
	free(*slot);
	*slot = v;
	return 0;
}

/* The statement fired: collect its modifiers.  For "warn" its
 * log_message goes to res->logs, otherwise to res->log_message. */
static int
collect_modifiers(struct eval *ev, const struct acl_stmt *st, struct acl_result *res)
{
	char *message = NULL, *log_message = NULL, *header = NULL;
	int rc = -1;

	for (size_t i = 0; i < st->nitems; i++) {
		const struct acl_item *it = &st->items[i];
		int k = item_lookup(it->name);

		if (k < 0 || !item_table[k].modifier)
			continue;
		switch (item_table[k].kind) {
		case ITEM_MESSAGE:
			if (set_expanded(ev, it, &message) != 0)
				goto out;
			break;
		case ITEM_LOG_MESSAGE:
			if (set_expanded(ev, it, &log_message) != 0)
				goto out;
			break;
		case ITEM_ADD_HEADER:
			if (set_expanded(ev, it, &header) != 0)
				goto out;
			if (strlist_push_owned(&res->headers, header) != 0) {
				header = NULL;
				eval_fail(ev, it, "out of memory");
				goto out;
			}
			header = NULL;
			break;
		default:
			break;
		}
	}
	if (st->verb == ACL_VERB_WARN) {
		if (log_message != NULL) {
			int pushed = strlist_push_owned(&res->logs, log_message);
			log_message = NULL;
			if (pushed != 0) {
				eval_fail(ev, &st->items[0], "out of memory");
				goto out;
			}
		}
	} else {
		res->message = message;
		res->log_message = log_message;
		message = log_message = NULL;
	}
	rc = 0;
out:
	free(message);
	free(log_message);
	free(header);
	return rc;
}

static const enum acl_verdict verb_verdict[] = {
	[ACL_VERB_ACCEPT] = ACL_ACCEPT, [ACL_VERB_DENY] = ACL_DENY,   [ACL_VERB_DEFER] = ACL_DEFER,
	[ACL_VERB_DROP] = ACL_DROP,     [ACL_VERB_WARN] = ACL_ACCEPT, /* never decides */
};

enum acl_verdict
acl_eval(const struct acl *acl, enum acl_verdict dflt, const struct acl_env *env,
         struct acl_result *res)
{
	static const struct expand_env no_vars = { 0 };
	struct eval ev = { .acl = acl, .env = env, .vars = env != NULL ? &env->vars : &no_vars };
	int failed = 0;

	memset(res, 0, sizeof *res);
	if (acl == NULL) {
		res->verdict = dflt;
		return dflt;
	}
	res->verdict = ACL_DENY; /* falling off the end denies */
	for (size_t s = 0; s < acl->nstmts; s++) {
		const struct acl_stmt *st = &acl->stmts[s];
		enum cond_result r = stmt_fires(&ev, st);

		if (r == COND_ERROR || (r == COND_TRUE && collect_modifiers(&ev, st, res) != 0)) {
			failed = 1;
			break;
		}
		if (r == COND_TRUE && st->verb != ACL_VERB_WARN) {
			res->verdict = verb_verdict[st->verb];
			break;
		}
	}
	if (!failed)
		return res->verdict;
	/* Cannot evaluate: defer (4xx), never accept by accident. */
	free(res->message);
	free(res->log_message);
	res->message = NULL;
	res->log_message = ev.error;
	res->verdict = ACL_DEFER;
	return ACL_DEFER;
}

void
acl_result_free(struct acl_result *res)
{
	if (res == NULL)
		return;
	free(res->message);
	free(res->log_message);
	res->message = res->log_message = NULL;
	strlist_free(&res->headers);
	strlist_free(&res->logs);
}
