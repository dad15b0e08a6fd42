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
 *
 * Conditions are not known here: they register (acl_condition_register),
 * the built-in ones and those of feature modules from acl_conditions.c.
 * This file knows only verbs, modifiers and the order of evaluation.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl.h"
#include "config.h"
#include "log.h"
#include "strutil.h"

/* Modifiers: not conditions, cannot be negated, act when their statement fires. */
enum modifier {
	MOD_MESSAGE,
	MOD_LOG_MESSAGE,
	MOD_ADD_HEADER,
	MOD_DELAY,
	MOD_SET,
	MOD_LOGWRITE,
	MOD_CONTROL
};
static const char *const modifier_names[] = { "message", "log_message", "add_header", "delay",
	                                      "set",     "logwrite",    "control" };

/* delay: at most an hour, so no ACL can hold a worker for ever. */
#define ACL_DELAY_MAX_MS 3600000u
#define NMODIFIERS (sizeof modifier_names / sizeof modifier_names[0])

static const char *const verb_names[] = { "accept", "deny", "defer", "drop", "warn" };

#define ACL_MAX_CONDITIONS 32
static const struct acl_condition *conditions[ACL_MAX_CONDITIONS];
static size_t nconditions;

/* The built-in conditions (and the modules' ones) register on first use. */
static void
registry_init(void)
{
	static int done;

	if (!done) {
		done = 1;
		acl_conditions_init();
	}
}

static int
modifier_lookup(const char *name)
{
	for (size_t i = 0; i < NMODIFIERS; i++)
		if (strcmp(modifier_names[i], name) == 0)
			return (int)i;
	return -1;
}

static const struct acl_condition *
condition_lookup(const char *name)
{
	registry_init();
	for (size_t i = 0; i < nconditions; i++)
		if (strcmp(conditions[i]->name, name) == 0)
			return conditions[i];
	return NULL;
}

int
acl_condition_register(const struct acl_condition *c)
{
	registry_init();
	if (nconditions == ACL_MAX_CONDITIONS || condition_lookup(c->name) != NULL ||
	    modifier_lookup(c->name) >= 0)
		return -1;
	conditions[nconditions++] = c;
	return 0;
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

char *
acl_strndup_trimmed(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/* "unknown ACL condition or modifier" names what there is. */
static void
unknown_item(const struct acl_item *it, struct err *e)
{
	char names[400];
	size_t n = 0;

	registry_init();
	names[0] = '\0';
	for (size_t i = 0; i < nconditions && n < sizeof names; i++)
		n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
		                      conditions[i]->name);
	err_set(e, it->line,
	        "unknown ACL condition or modifier \"%s\" (conditions: %s; modifiers: message, "
	        "log_message, add_header, delay, set, logwrite, control)",
	        it->name, names);
}

/* "delay = TIME" (Exim's modifier): digits with ms, s (the default), m or
 * h, at most an hour.  0 with *ms; -1. */
static int
parse_delay(const char *v, unsigned *ms)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	size_t n = strspn(v, "0123456789");
	uint64_t num;

	if (str_parse_u64(v, n, ACL_DELAY_MAX_MS, &num) != STR_NUM_OK)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(v + n, units[i].unit) == 0) {
			if (num > ACL_DELAY_MAX_MS / units[i].mult)
				return -1;
			*ms = (unsigned)(num * units[i].mult);
			return 0;
		}
	return -1;
}

/* The value of one item, checked as far as it can be before expansion. */
static int
item_check(const struct acl_item *it, struct err *e)
{
	const struct acl_condition *c = condition_lookup(it->name);
	char why[300];

	if (c == NULL && modifier_lookup(it->name) < 0) {
		unknown_item(it, e);
		return -1;
	}
	if (c == NULL && it->negated) {
		err_set(e, it->line, "\"!%s\": only conditions can be negated", it->name);
		return -1;
	}
	if (c == NULL && modifier_lookup(it->name) == MOD_SET && it->var == NULL) {
		err_set(e, it->line, "set: expected \"set acl_c_NAME = VALUE\" (or acl_m_NAME)");
		return -1;
	}
	if (expand_check(it->value, why, sizeof why) != 0) {
		err_set(e, it->line, "%s: expansion error %s", it->name, why);
		return -1;
	}
	if (c != NULL && c->check != NULL && c->check(it->value, e) != 0) {
		if (e != NULL)
			e->code = it->line;
		return -1;
	}
	if (c == NULL && modifier_lookup(it->name) == MOD_CONTROL) {
		if (acl_control_known(it->value, why, sizeof why) != 0) {
			err_set(e, it->line, "%s", why);
			return -1;
		}
	}
	if (c == NULL && modifier_lookup(it->name) == MOD_DELAY && !str_has_var_ref(it->value)) {
		unsigned ms;
		if (parse_delay(it->value, &ms) != 0) {
			err_set(e, it->line,
			        "delay: expected a time of at most 1h (500ms, 5s, 2m), got \"%s\"",
			        it->value);
			return -1;
		}
	}
	return 0;
}

/* "set acl_c_NAME = ..." / "set acl_m_NAME = ...": the name into it->var
 * (Exim: acl_c0..acl_c9 and acl_c_ plus letters, digits, underscores). */
static int
parse_set_var(const char **eq, struct acl_item *it, struct err *e)
{
	const char *v = *eq, *q = v;

	while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_')
		q++;
	if ((strncmp(v, "acl_c", 5) != 0 && strncmp(v, "acl_m", 5) != 0) || q - v < 6 ||
	    (v[5] != '_' && !(q - v == 6 && v[5] >= '0' && v[5] <= '9'))) {
		err_set(e, it->line,
		        "set: expected acl_c_NAME or acl_m_NAME (or acl_c0..9, acl_m0..9), got "
		        "\"%.*s\"",
		        (int)(q - v), v);
		return -1;
	}
	it->var = strndup(v, (size_t)(q - v));
	if (it->var == NULL) {
		err_set(e, it->line, "out of memory");
		return -1;
	}
	while (isspace((unsigned char)*q))
		q++;
	*eq = q;
	return 0;
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
	if (n == 3 && strncmp(name, "set", 3) == 0 && eq > p && *eq != '=' &&
	    parse_set_var(&eq, &it, e) != 0)
		return -1;
	if (n == 0 || *eq != '=') {
		err_set(e, line, "expected \"name = value\" in an ACL, got \"%s\"", text);
		goto out;
	}
	it.name = strndup(name, n);
	it.value = acl_strndup_trimmed(eq + 1, strlen(eq + 1));
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
	it.name = it.value = it.var = NULL; /* the statement owns them now */
	rc = 0;
out:
	free(it.name);
	free(it.value);
	free(it.var);
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
	char *t = acl_strndup_trimmed(text, strlen(text));
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
			free(acl->stmts[s].items[i].var);
		}
		free(acl->stmts[s].items);
	}
	free(acl->stmts);
	free(acl->name);
	free(acl);
}

/* --- evaluation --------------------------------------------------------------- */

struct eval {
	const struct acl *acl;
	const struct acl_env *env;
	const struct acl_env *env_or_empty; /* never NULL, for conditions */
	const struct expand_env *vars;
	struct acl_result *res;
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

/* Expand an item's value: 0 with *out (caller frees), 1 on forced
 * failure (*out NULL), -1 on error (evaluation fails: defer). */
static int
item_expand(struct eval *ev, const struct acl_item *it, char **out)
{
	char why[300];
	int rc = expand_eval(it->value, ev->vars, out, why, sizeof why);

	if (rc == EXPAND_OK)
		return 0;
	if (rc == EXPAND_FAIL)
		return 1;
	eval_fail(ev, it, "%s: expansion error %s", it->name, why);
	return -1;
}

/* "set" and "logwrite" act when met (Exim): before the conditions after
 * them, whether or not the statement fires.  A forced failure leaves the
 * variable as it was / writes nothing. */
static int
act_now(struct eval *ev, const struct acl_item *it, int mod)
{
	struct expand_store *st;
	char *v;
	int r = item_expand(ev, it, &v);

	if (r != 0)
		return r < 0 ? -1 : 0;
	if (mod == MOD_LOGWRITE) {
		if (strlist_push_owned(&ev->res->logwrites, v) != 0) {
			eval_fail(ev, it, "out of memory");
			return -1;
		}
		return 0;
	}
	st = it->var[4] == 'c' ? ev->vars->acl_c : ev->vars->acl_m;
	if (st == NULL) {
		free(v);
		eval_fail(ev, it, "set %s: no such variables here", it->var);
		return -1;
	}
	r = expand_store_set(st, it->var, v);
	free(v);
	if (r != 0)
		eval_fail(ev, it, "out of memory");
	return r;
}

/* Do all conditions of `st` hold?  ACL_COND_ERROR stops everything. */
static enum acl_cond
stmt_fires(struct eval *ev, const struct acl_stmt *st)
{
	for (size_t i = 0; i < st->nitems; i++) {
		const struct acl_item *it = &st->items[i];
		const struct acl_condition *c = condition_lookup(it->name);
		char why[256] = "";
		enum acl_cond r;
		int mod = c == NULL ? modifier_lookup(it->name) : -1;

		if (c == NULL && mod < 0) {
			eval_fail(ev, it, "unknown ACL item \"%s\"", it->name);
			return ACL_COND_ERROR;
		}
		if ((mod == MOD_SET || mod == MOD_LOGWRITE) && act_now(ev, it, mod) != 0)
			return ACL_COND_ERROR;
		if (c == NULL)
			continue; /* modifiers are not conditions */
		r = c->eval(it->value, ev->env_or_empty, why, sizeof why);
		if (r == ACL_COND_ERROR) {
			/* The message names the item: "condition: ...", "hosts: ...". */
			if (strncmp(why, it->name, strlen(it->name)) == 0)
				eval_fail(ev, it, "%s", why);
			else
				eval_fail(ev, it, "%s: %s", it->name, why);
			return ACL_COND_ERROR;
		}
		/* A condition on a value not known yet never holds, negated or not. */
		if (r == ACL_COND_UNKNOWN)
			return ACL_COND_FALSE;
		if ((r == ACL_COND_TRUE) == (it->negated != 0))
			return ACL_COND_FALSE;
	}
	return ACL_COND_TRUE;
}

/* Expand a modifier's value into *slot (the last one of a statement wins);
 * a forced failure leaves the slot as it was. */
static int
set_expanded(struct eval *ev, const struct acl_item *it, char **slot)
{
	char *v;
	int r = item_expand(ev, it, &v);

	if (r != 0)
		return r < 0 ? -1 : 0;
	free(*slot);
	*slot = v;
	return 0;
}

/* The statement fired: collect its modifiers.  For "warn" its
 * log_message goes to res->logs, otherwise to res->log_message. */
static int
collect_modifiers(struct eval *ev, const struct acl_stmt *st, struct acl_result *res)
{
	char *message = NULL, *log_message = NULL, *header = NULL, *delay = NULL;
	unsigned ms;
	int rc = -1;

	for (size_t i = 0; i < st->nitems; i++) {
		const struct acl_item *it = &st->items[i];

		switch (modifier_lookup(it->name)) {
		case MOD_MESSAGE:
			if (set_expanded(ev, it, &message) != 0)
				goto out;
			break;
		case MOD_LOG_MESSAGE:
			if (set_expanded(ev, it, &log_message) != 0)
				goto out;
			break;
		case MOD_ADD_HEADER:
			if (set_expanded(ev, it, &header) != 0)
				goto out;
			if (header == NULL)
				break; /* forced failure: no header */
			if (strlist_push_owned(&res->headers, header) != 0) {
				header = NULL;
				eval_fail(ev, it, "out of memory");
				goto out;
			}
			header = NULL;
			break;
		case MOD_DELAY:
			/* Every fired statement's delay adds up (warn too), within the cap. */
			if (set_expanded(ev, it, &delay) != 0)
				goto out;
			if (delay == NULL)
				break;
			if (parse_delay(delay, &ms) != 0) {
				eval_fail(ev, it, "delay: bad time \"%s\"", delay);
				goto out;
			}
			res->delay_ms = ms > ACL_DELAY_MAX_MS - res->delay_ms ? ACL_DELAY_MAX_MS
			                                                      : res->delay_ms + ms;
			break;
		case MOD_CONTROL:
			/* Checked at load time; a control is a name, not expanded. */
			if (strlist_push(&res->controls, it->value) != 0) {
				eval_fail(ev, it, "out of memory");
				goto out;
			}
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
	free(delay);
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
	static const struct acl_env no_env = { 0 };
	struct acl_env local = env != NULL ? *env : no_env; /* with ${acl} wired to it */
	struct eval ev = {
		.acl = acl, .env = env, .env_or_empty = &local, .vars = &local.vars, .res = res
	};

	if (local.vars.acl == NULL) {
		local.vars.acl = acl_expand_run;
		local.vars.acl_arg = &local;
	}
	int failed = 0;

	memset(res, 0, sizeof *res);
	if (acl == NULL) {
		res->verdict = dflt;
		return dflt;
	}
	res->verdict = ACL_DENY; /* falling off the end denies */
	for (size_t s = 0; s < acl->nstmts; s++) {
		const struct acl_stmt *st = &acl->stmts[s];
		enum acl_cond r = stmt_fires(&ev, st);

		if (r == ACL_COND_ERROR ||
		    (r == ACL_COND_TRUE && collect_modifiers(&ev, st, res) != 0)) {
			failed = 1;
			break;
		}
		if (r == ACL_COND_TRUE && st->verb != ACL_VERB_WARN) {
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
	res->error = 1;
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
	strlist_free(&res->logwrites);
	strlist_free(&res->controls);
}

/* ---- ${acl{NAME}{ARG}...} ------------------------------------------------------------ */

/* Exim 11.5 "${acl": accept gives the ACL's message (or ""), deny and drop
 * a forced failure, defer an error. */
int
acl_expand_run(void *arg, const char *name, const char *const *args, size_t nargs, char **out,
               char *why, size_t whylen)
{
	static unsigned depth;
	const struct acl_env *env = arg;
	struct acl_env sub = *env;
	const struct acl *acl = env->cfg != NULL ? config_acl_find(env->cfg, name) : NULL;
	struct acl_result res;
	enum acl_verdict v;
	int rc;

	*out = NULL;
	if (acl == NULL) {
		snprintf(why, whylen, "no ACL named \"%s\"", name);
		return EXPAND_ERROR;
	}
	if (depth >= 8) {
		snprintf(why, whylen, "ACLs run through ${acl} nest deeper than 8");
		return EXPAND_ERROR;
	}
	sub.vars.acl_args = args;
	sub.vars.acl_nargs = nargs;
	depth++;
	v = acl_eval(acl, ACL_DENY, &sub, &res);
	depth--;
	/* Exim 11.7 "logwrite": written when met, whatever the ACL then decides,
	 * so a logwrite inside an ACL run by ${acl} is logged here, not dropped. */
	for (size_t i = 0; i < res.logwrites.n; i++)
		log_write("%s", res.logwrites.v[i]);
	if (v == ACL_ACCEPT) {
		*out = strdup(res.message != NULL ? res.message : "");
		rc = *out != NULL ? EXPAND_OK : EXPAND_ERROR;
		if (*out == NULL)
			snprintf(why, whylen, "out of memory");
	} else if (v == ACL_DEFER) {
		snprintf(why, whylen, "ACL %s deferred%s%s", name, res.log_message ? ": " : "",
		         res.log_message ? res.log_message : "");
		rc = EXPAND_ERROR;
	} else {
		rc = EXPAND_FAIL;
	}
	acl_result_free(&res);
	return rc;
}
