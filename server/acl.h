/*
 * acl.h - access control lists: statements tried in order, the first whose
 * conditions all hold decides (accept / deny / defer / drop); "warn" only
 * adds headers or log lines and goes on; falling off the end denies.
 * Syntax, conditions and modifiers: docs/config.md ("ACLs").
 *
 *   acl_smtp_rcpt:
 *     accept  domains = example.test
 *     deny    message = relay not permitted
 *
 * Conditions (all must hold; "!" before a name negates; see struct
 * acl_condition for how a module adds one): hosts, domains,
 * local_parts, senders, recipients, encrypted (= yes|no), and
 * condition = "LEFT OP RIGHT" with OP one of == != =~ !~ (after
 * $variable expansion of both sides; =~ is a POSIX extended regex).
 * ratelimit = LIMIT / PERIOD / per_conn / strict (acl_ratelimit.c).
 * Modifiers: message, log_message, add_header, delay (= TIME: the session
 * waits that long before it acts on the verdict; Exim's name); and, acting
 * when met left to right as in Exim (before the conditions after them),
 * "set acl_c_NAME = VALUE" / "set acl_m_NAME = VALUE" (into the env's
 * stores) and "logwrite = TEXT".  Every value is checked for expansion
 * syntax at load (docs/expand.md); an expansion error while evaluating
 * defers, with the item's line and the error's offset in log_message.
 * condition = "${...}" is Exim's form: the expansion read as a boolean.
 * control (= NAME: a per-message switch the session applies, docs/dmarc.md).
 */
#ifndef REFMTA_ACL_H
#define REFMTA_ACL_H

#include <stddef.h>

#include "err.h"
#include "expand.h"
#include "strlist.h"

struct config;
struct spf_session;
struct dmarc_session;

enum acl_verb { ACL_VERB_ACCEPT, ACL_VERB_DENY, ACL_VERB_DEFER, ACL_VERB_DROP, ACL_VERB_WARN };

enum acl_verdict {
	ACL_ACCEPT, /* 2xx: go on */
	ACL_DENY,   /* 5xx */
	ACL_DEFER,  /* 4xx */
	ACL_DROP,   /* 5xx and close the connection */
};

struct acl_item {
	char *name;  /* "domains", "message", ... */
	char *value; /* as written; expanded when evaluated */
	char *var;   /* "set acl_c_x = ...": the variable's name; else NULL */
	int negated; /* "!domains = ..." */
	int line;
};

struct acl_stmt {
	enum acl_verb verb;
	struct acl_item *items;
	size_t nitems;
	int line;
};

struct acl {
	char *name; /* "acl_smtp_rcpt" */
	struct acl_stmt *stmts;
	size_t nstmts;
};

/* What the session knows when it asks: variables, plus the values the
 * list conditions test (any may be NULL when not known yet). */
struct acl_env {
	struct expand_env vars;      /* $sender_host_address, $domain, ... */
	const char *host_address;    /* for "hosts" */
	const char *domain;          /* for "domains" (the recipient's) */
	const char *local_part;      /* for "local_parts" */
	const char *sender;          /* for "senders" ("" = null sender) */
	const char *recipient;       /* for "recipients" */
	int encrypted;               /* for "encrypted" */
	const struct config *cfg;    /* named lists (+NAME) and ACLs (${acl}); NULL: none */
	struct spf_session *spf;     /* for "spf", "spf_guess" (spf.h); NULL: no SPF state */
	struct dmarc_session *dmarc; /* for "dmarc_status", "dkim_*" (dmarc_session.h); or NULL */
};

/* ${acl{NAME}{ARG}...} (expand.h's expand_acl_fn) for an ACL evaluation:
 * `arg` is the struct acl_env in force.  Runs at most 8 deep. */
int acl_expand_run(void *arg, const char *name, const char *const *args, size_t nargs, char **out,
                   char *why, size_t whylen);

struct acl_result {
	enum acl_verdict verdict;
	char *message;            /* expanded "message" of the deciding statement, or NULL */
	char *log_message;        /* expanded "log_message" of the deciding statement, or NULL */
	struct strlist headers;   /* add_header lines from every statement that fired (warn too) */
	struct strlist logs;      /* log_message lines of "warn" statements that fired */
	struct strlist logwrites; /* "logwrite" lines, in the order met (logged as they are) */
	struct strlist controls;  /* "control" values of every statement that fired (warn too) */
	unsigned delay_ms;        /* "delay" of every statement that fired, summed, at most 1h */
	int error; /* ACL_DEFER because evaluation failed (an expansion error...), not a
	            * "defer" verb: answered with Exim's 451 "Temporary local problem" */
};

/* What a condition's evaluation says. */
enum acl_cond {
	ACL_COND_FALSE,
	ACL_COND_TRUE,
	ACL_COND_UNKNOWN, /* the value it tests is not known yet: the statement does not fire */
	ACL_COND_ERROR,   /* cannot evaluate: the whole ACL defers */
};

/*
 * An ACL condition, registered by the module that implements it; the list
 * of modules is acl_conditions_init() (acl_conditions.c), not acl.c.
 *   check  at load time, the value as written (before expansion): 0, or -1
 *          with e->text (acl.c sets e->code to the line); NULL: any value
 *   eval   the value (unexpanded: expand it with env->vars) against `env`
 *          (never NULL; any of its values may be NULL: not known yet);
 *          ACL_COND_ERROR with a sentence in `why`
 */
struct acl_condition {
	const char *name;
	int (*check)(const char *value, struct err *e);
	enum acl_cond (*eval)(const char *value, const struct acl_env *env, char *why,
	                      size_t whylen);
};

/* Add a condition; `c` is not copied and must stay valid.  -1 when its
 * name is taken (by a condition or a modifier) or the registry is full. */
int acl_condition_register(const struct acl_condition *c) MUST_CHECK;
/* Registers every condition there is; acl.c calls it once, before the
 * first lookup (acl_conditions.c). */
void acl_conditions_init(void);
/* acl_ratelimit.c: the "ratelimit" condition, and its rate table shared by
 * every worker: the daemon calls acl_ratelimit_init() once before forking
 * them (elsewhere the first use makes a table of the process's own).
 * 0, or -1 when the table cannot be mapped. */
extern const struct acl_condition acl_ratelimit_condition;
int acl_ratelimit_init(void) MUST_CHECK;

/* "control = NAME": is NAME known?  0, or -1 with a sentence in `why`
 * (acl_conditions.c asks the modules that have controls). */
int acl_control_known(const char *name, char *why, size_t whylen) MUST_CHECK;
/* A copy of s[0..n) without leading and trailing white space (caller
 * frees; NULL when out of memory): for condition modules that split values. */
char *acl_strndup_trimmed(const char *s, size_t n);

/* Parse one statement's text for config_load, line by line:
 * acl_parse_verb_line() takes "VERB [item]" and starts a statement,
 * acl_parse_continuation() adds "item" lines to the last one.  -1 on error with e->text = "message"
 * (the caller adds file:line). */
int acl_parse_verb_line(struct acl *acl, const char *text, int line, struct err *e) MUST_CHECK;
int acl_parse_continuation(struct acl *acl, const char *text, int line, struct err *e) MUST_CHECK;
/* After the block ended: check every item's name and value. */
int acl_check(const struct acl *acl, struct err *e) MUST_CHECK;
void acl_free(struct acl *acl); /* accepts NULL */

/* Evaluate.  `acl` NULL means the default verdict `dflt`.  The result is
 * filled (free with acl_result_free) and its verdict returned. */
enum acl_verdict acl_eval(const struct acl *acl, enum acl_verdict dflt, const struct acl_env *env,
                          struct acl_result *res);
void acl_result_free(struct acl_result *res);

#endif
