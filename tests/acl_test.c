/*
 * acl_test.c - ACL parsing, checking and evaluation (server/acl.c).  Each
 * evaluation row is an ACL, what the session knows, and the expected
 * verdict, message, headers and log lines; each parse row is one bad line
 * and its exact error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

/* --- building an ACL from text ------------------------------------------------------ */

/* Lines separated by '\n'; one starting with a space continues the last
 * statement, any other starts one.  NULL on a parse error (in *e). */
static struct acl *
build(const char *text, struct err *e)
{
	struct acl *acl = calloc(1, sizeof *acl);
	char *copy = strdup(text), *save = NULL;
	int line = 0, rc = 0;

	assert_non_null(acl);
	assert_non_null(copy);
	acl->name = strdup("acl_test");
	for (char *l = strtok_r(copy, "\n", &save); l != NULL && rc == 0;
	     l = strtok_r(NULL, "\n", &save)) {
		line++;
		rc = l[0] == ' ' ? acl_parse_continuation(acl, l, line, e)
		                 : acl_parse_verb_line(acl, l, line, e);
	}
	free(copy);
	if (rc == 0)
		rc = acl_check(acl, e);
	if (rc != 0) {
		acl_free(acl);
		return NULL;
	}
	return acl;
}

/* --- evaluation rows ---------------------------------------------------------------- */

struct row {
	const char *why;
	const char *acl;
	const char *host, *domain, *local_part, *sender, *recipient;
	int encrypted;
	enum acl_verdict want;
	const char *message, *log_message; /* NULL: must be NULL */
	const char *headers, *logs;        /* joined with "|"; NULL: none */
};

#define H "192.0.2.1"
#define D "example.test"

static const struct row rows[] = {
	{ "accept without conditions", "accept", H, D, "bob", "a@b.test", "bob@" D, 0, ACL_ACCEPT,
	  NULL, NULL, NULL, NULL },
	{ "an empty ACL denies", "", H, D, "bob", "", NULL, 0, ACL_DENY, NULL, NULL, NULL, NULL },
	{ "falling off the end denies, no message", "accept domains = other.test", H, D, "bob", "",
	  NULL, 0, ACL_DENY, NULL, NULL, NULL, NULL },
	{ "domains: accept our domain",
	  "accept domains = " D "\ndeny message = relay not permitted", H, D, "bob", "", NULL, 0,
	  ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "domains: deny a relay attempt",
	  "accept domains = " D "\ndeny message = relay not permitted", H, "elsewhere.test", "bob",
	  "", NULL, 0, ACL_DENY, "relay not permitted", NULL, NULL, NULL },
	{ "domains are case-insensitive", "accept domains = EXAMPLE.test", H, D, "bob", "", NULL, 0,
	  ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "hosts: CIDR", "accept hosts = 192.0.2.0/24", H, D, "bob", "", NULL, 0, ACL_ACCEPT, NULL,
	  NULL, NULL, NULL },
	{ "!hosts: negated condition does not hold",
	  "deny !hosts = 192.0.2.0/24\n message = not from here\naccept", H, D, "bob", "", NULL, 0,
	  ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "!hosts: negated condition holds", "deny !hosts = 10.0.0.0/8\n message = not from here",
	  H, D, "bob", "", NULL, 0, ACL_DENY, "not from here", NULL, NULL, NULL },
	{ "hosts: IPv4-mapped client address", "accept hosts = 192.0.2.1", "::ffff:192.0.2.1", D,
	  "bob", "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "local_parts are case-sensitive (RFC 5321 2.4)", "deny local_parts = Postmaster\naccept",
	  H, D, "postmaster", "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "senders: the null sender", "deny senders = <>\n message = no bounces here\naccept", H, D,
	  "bob", "", NULL, 0, ACL_DENY, "no bounces here", NULL, NULL, NULL },
	{ "senders: a real sender is not <>", "deny senders = <>\naccept", H, D, "bob", "alice@" D,
	  NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "recipients: *@domain", "accept recipients = *@" D, H, D, "bob", "", "bob@EXAMPLE.TEST",
	  0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "encrypted = yes on a clear connection", "deny encrypted = yes\naccept", H, D, "bob", "",
	  NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "encrypted = no on a clear connection", "deny encrypted = no\n message = use STARTTLS", H,
	  D, "bob", "", NULL, 0, ACL_DENY, "use STARTTLS", NULL, NULL, NULL },
	{ "encrypted = true after STARTTLS", "accept encrypted = true", H, D, "bob", "", NULL, 1,
	  ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "condition ==", "accept condition = $local_part == bob", H, D, "bob", "", NULL, 0,
	  ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "condition == is case-sensitive", "accept condition = $local_part == BOB", H, D, "bob",
	  "", NULL, 0, ACL_DENY, NULL, NULL, NULL, NULL },
	{ "condition !=", "accept condition = $domain != other.test", H, D, "bob", "", NULL, 0,
	  ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "condition =~ (POSIX ERE)", "accept condition = $local_part =~ ^(bob|alice)$", H, D,
	  "alice", "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "condition !~", "deny condition = $sender_host_address !~ ^192\\.0\\.2\\.\naccept",
	  "198.51.100.1", D, "bob", "", NULL, 0, ACL_DENY, NULL, NULL, NULL, NULL },
	{ "condition: quoted sides", "accept condition = \"$local_part\" == \"bob smith\"", H, D,
	  "bob smith", "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "condition: empty side", "deny condition = \"$unknown\" == \"\"\naccept", H, D, "bob", "",
	  NULL, 0, ACL_DENY, NULL, NULL, NULL, NULL },
	{ "condition: first operator between spaces splits", "accept condition = a==b == a==b", H,
	  D, "bob", "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "all conditions must hold", "accept hosts = *\n domains = other.test", H, D, "bob", "",
	  NULL, 0, ACL_DENY, NULL, NULL, NULL, NULL },
	{ "the first statement that fires decides", "deny hosts = *\n message = first\naccept", H,
	  D, "bob", "", NULL, 0, ACL_DENY, "first", NULL, NULL, NULL },
	{ "defer with an expanded message",
	  "defer domains = " D
	  "\n message = try $domain later\n log_message = deferred $local_part",
	  H, D, "bob", "", NULL, 0, ACL_DEFER, "try example.test later", "deferred bob", NULL,
	  NULL },
	{ "drop", "drop hosts = 192.0.2.0/24\n message = go away", H, D, "bob", "", NULL, 0,
	  ACL_DROP, "go away", NULL, NULL, NULL },
	{ "warn adds a header and a log line and goes on",
	  "warn hosts = *\n add_header = X-Client: $sender_host_address\n log_message = "
	  "saw $sender_host_address\naccept",
	  H, D, "bob", "", NULL, 0, ACL_ACCEPT, NULL, NULL, "X-Client: " H, "saw " H },
	{ "warn that does not fire adds nothing",
	  "warn hosts = 10.0.0.1\n add_header = X-No: 1\n log_message = no\naccept", H, D, "bob",
	  "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "add_header from warn and the deciding statement",
	  "warn add_header = X-A: 1\n add_header = X-B: 2\naccept add_header = X-C: $local_part", H,
	  D, "bob", "", NULL, 0, ACL_ACCEPT, NULL, NULL, "X-A: 1|X-B: 2|X-C: bob", NULL },
	{ "the last message of a statement wins", "deny message = one\n message = two", H, D, "bob",
	  "", NULL, 0, ACL_DENY, "two", NULL, NULL, NULL },
	{ "unknown domain: domains does not hold", "deny domains = *\naccept", H, NULL, "bob", "",
	  NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "unknown domain: !domains does not hold either", "deny !domains = x.test\naccept", H,
	  NULL, "bob", "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "unknown host: hosts = * does not hold", "accept hosts = *", NULL, D, "bob", "", NULL, 0,
	  ACL_DENY, NULL, NULL, NULL, NULL },
	{ "a list is expanded before matching", "accept hosts = 10.0.0.1 : $sender_host_address", H,
	  D, "bob", "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
	{ "a regex broken only after expansion defers",
	  "accept condition = $local_part =~ $domain(\n message = never", H, D, "bob", "", NULL, 0,
	  ACL_DEFER, NULL,
	  "acl_test line 1: condition: bad regex \"example.test(\" after expansion", NULL, NULL },
	{ "a $$ in a regex is a literal dollar", "accept condition = $local_part =~ ^a$$", H, D,
	  "a", "", NULL, 0, ACL_ACCEPT, NULL, NULL, NULL, NULL },
};

static const char *
row_var(void *arg, const char *name)
{
	const struct row *r = arg;

	if (strcmp(name, "sender_host_address") == 0)
		return r->host;
	if (strcmp(name, "domain") == 0)
		return r->domain;
	if (strcmp(name, "local_part") == 0)
		return r->local_part;
	if (strcmp(name, "sender_address") == 0)
		return r->sender;
	return NULL;
}

/* "a|b" for a list, NULL for none. */
static char *
joined(const struct strlist *l)
{
	size_t len = 1;
	char *s;

	if (l->n == 0)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			strcat(s, "|");
		strcat(s, l->v[i]);
	}
	return s;
}

static void
check_str(const char *what, const char *want, const char *got, const char *why)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(want, got) != 0)
		fail_msg("%s: %s: want \"%s\", got \"%s\"", why, what, want ? want : "(null)",
		         got ? got : "(null)");
}

static void
test_row(void **state)
{
	static const char *const names[] = { "accept", "deny", "defer", "drop" };
	const struct row *r = *state;
	struct err e = { 0 };
	struct acl *acl = build(r->acl, &e);
	struct acl_env env = { .vars = { row_var, (void *)r },
		               .host_address = r->host,
		               .domain = r->domain,
		               .local_part = r->local_part,
		               .sender = r->sender,
		               .recipient = r->recipient,
		               .encrypted = r->encrypted };
	struct acl_result res;
	enum acl_verdict v;
	char *headers, *logs;

	if (acl == NULL)
		fail_msg("%s: parse error: %s", r->why, e.text);
	v = acl_eval(acl, ACL_ACCEPT, &env, &res);
	headers = joined(&res.headers);
	logs = joined(&res.logs);
	acl_free(acl);
	if (v != r->want || res.verdict != v)
		fail_msg("%s: want %s, got %s", r->why, names[r->want], names[v]);
	check_str("message", r->message, res.message, r->why);
	check_str("log_message", r->log_message, res.log_message, r->why);
	check_str("headers", r->headers, headers, r->why);
	check_str("logs", r->logs, logs, r->why);
	free(headers);
	free(logs);
	acl_result_free(&res);
}

/* --- parse rows --------------------------------------------------------------------- */

struct bad {
	const char *acl, *error;
	int line;
};

static const struct bad bads[] = {
	{ " domains = x.test",
	  "\"domains = x.test\" comes before any verb (accept, deny, defer, "
	  "drop or warn)",
	  1 },
	{ "allow hosts = *", "unknown ACL verb \"allow\" (use accept, deny, defer, drop or warn)",
	  1 },
	{ "accept\n domain = x.test",
	  "unknown ACL condition or modifier \"domain\" (conditions: hosts, domains, local_parts, "
	  "senders, recipients, encrypted, condition, ratelimit, spf, spf_guess, dmarc_status, "
	  "dkim_status, dkim_signers; modifiers: message, log_message, add_header, delay, set, "
	  "logwrite, control)",
	  2 },
	{ "deny spf = pass : fial",
	  "spf: unknown result \"fial\" (use pass, fail, softfail, neutral, none, permerror, "
	  "temperror; err_perm, err_temp)",
	  1 },
	{ "deny spf_guess = !",
	  "spf: unknown result \"!\" (use pass, fail, softfail, neutral, none, permerror, "
	  "temperror; err_perm, err_temp)",
	  1 },
	{ "deny\n !message = x", "\"!message\": only conditions can be negated", 2 },
	{ "accept hosts = 192.0.2.0/33",
	  "hosts: bad host list item \"192.0.2.0/33\" (use *, an IP address or a CIDR; double each "
	  "colon of an IPv6 address)",
	  1 },
	{ "accept hosts = mx.example.test",
	  "hosts: bad host list item \"mx.example.test\" (use *, an IP address or a CIDR; double "
	  "each colon of an IPv6 address)",
	  1 },
	{ "accept hosts = $allowed : 1.2.3.4.5",
	  "hosts: bad host list item \"1.2.3.4.5\" (use *, an IP address or a CIDR; double each "
	  "colon of an IPv6 address)",
	  1 },
	{ "accept encrypted = maybe", "encrypted: expected yes or no, got \"maybe\"", 1 },
	{ "accept condition = $a==b",
	  "condition: expected \"LEFT OP RIGHT\" with OP one of == != =~ !~ between spaces, got "
	  "\"$a==b\"",
	  1 },
	/* The config fuzz target's reproducer: an empty value was read past
	 * its one-octet allocation (ASan: make SAN=1). */
	{ "accept condition =",
	  "condition: expected \"LEFT OP RIGHT\" with OP one of == != =~ !~ between spaces, got "
	  "\"\"",
	  1 },
	{ "accept condition = x",
	  "condition: expected \"LEFT OP RIGHT\" with OP one of == != =~ !~ between spaces, got "
	  "\"x\"",
	  1 },
	{ "warn\n condition = $local_part =~ ^(a",
	  "condition: bad regex \"^(a\": Unmatched ( or \\(", 2 },
	{ "accept delay = 5x", "delay: expected a time of at most 1h (500ms, 5s, 2m), got \"5x\"",
	  1 },
	{ "accept delay = 2h", "delay: expected a time of at most 1h (500ms, 5s, 2m), got \"2h\"",
	  1 },
	{ "accept\n domains", "expected \"name = value\" in an ACL, got \"domains\"", 2 },
	{ "accept\n = x", "expected \"name = value\" in an ACL, got \"= x\"", 2 },
};

static void
test_bad(void **state)
{
	const struct bad *b = *state;
	struct err e = { 0 };
	struct acl *acl = build(b->acl, &e);

	if (acl != NULL) {
		acl_free(acl);
		fail_msg("\"%s\" parsed, want error \"%s\"", b->acl, b->error);
	}
	assert_string_equal(e.text, b->error);
	assert_int_equal(e.code, b->line);
}

/* --- single cases ------------------------------------------------------------------- */

static void
test_null_acl_gives_default(void **state)
{
	struct acl_result res;

	(void)state;
	assert_int_equal(acl_eval(NULL, ACL_DENY, NULL, &res), ACL_DENY);
	assert_int_equal(res.verdict, ACL_DENY);
	assert_null(res.message);
	acl_result_free(&res);
	assert_int_equal(acl_eval(NULL, ACL_ACCEPT, NULL, &res), ACL_ACCEPT);
	acl_result_free(&res);
}

static void
test_null_env(void **state)
{
	struct err e = { 0 };
	struct acl *acl = build("deny hosts = *\n domains = *\n local_parts = *\n senders = *\n "
	                        "recipients = *\n condition = $x == \"\"\n message = m $x\n"
	                        "warn encrypted = no\n add_header = X-T: $x\n"
	                        "accept condition = $x == \"\"\n message = ok$domain",
	                        &e);
	struct acl_result res;

	(void)state;
	assert_non_null(acl);
	assert_int_equal(acl_eval(acl, ACL_DENY, NULL, &res), ACL_ACCEPT);
	assert_string_equal(res.message, "ok");
	assert_int_equal(res.headers.n, 1);
	assert_string_equal(res.headers.v[0], "X-T: ");
	acl_result_free(&res);
	acl_free(acl);
}

/* delay: the delays of every statement that fired add up (warn too); a
 * statement that does not fire adds nothing. */
static void
test_delay(void **state)
{
	struct err e = { 0 };
	struct acl *acl = build("warn delay = 500ms\n"
	                        "deny hosts = 192.0.2.1\n delay = 1h\n"
	                        "accept delay = 2s",
	                        &e);
	struct acl_result res;

	(void)state;
	if (acl == NULL)
		fail_msg("%s", e.text);
	assert_int_equal(acl_eval(acl, ACL_DENY, NULL, &res), ACL_ACCEPT);
	assert_int_equal(res.delay_ms, 2500);
	acl_result_free(&res);
	acl_free(acl);
}

static void
test_vars_in_lists_skip_load_checks(void **state)
{
	struct err e = { 0 };
	struct acl *acl = build("accept hosts = $allowed_hosts\n condition = $x =~ ^$y(", &e);

	(void)state;
	if (acl == NULL)
		fail_msg("%s", e.text);
	acl_free(acl);
}

static void
test_check_reports_line(void **state)
{
	/* An ACL built by hand (not through the parser) is checked by acl_check. */
	struct acl_item item = { .name = "hostz", .value = "*", .negated = 0, .line = 7 };
	struct acl_stmt st = { .verb = ACL_VERB_ACCEPT, .items = &item, .nitems = 1, .line = 7 };
	struct acl acl = { .name = "acl_smtp_rcpt", .stmts = &st, .nstmts = 1 };
	struct err e = { 0 };

	(void)state;
	assert_int_equal(acl_check(&acl, &e), -1);
	assert_int_equal(e.code, 7);
	assert_non_null(strstr(e.text, "unknown ACL condition or modifier \"hostz\""));
	assert_int_equal(acl_check(NULL, &e), 0);
}

static void
test_verb_line_item_and_continuation(void **state)
{
	struct err e = { 0 };
	struct acl *acl = build("accept  domains = example.test\n   !hosts = 10.0.0.0/8\n"
	                        "deny\tmessage = relay not permitted",
	                        &e);

	(void)state;
	assert_non_null(acl);
	assert_int_equal(acl->nstmts, 2);
	assert_int_equal(acl->stmts[0].verb, ACL_VERB_ACCEPT);
	assert_int_equal(acl->stmts[0].nitems, 2);
	assert_string_equal(acl->stmts[0].items[0].name, "domains");
	assert_string_equal(acl->stmts[0].items[0].value, "example.test");
	assert_int_equal(acl->stmts[0].items[1].negated, 1);
	assert_string_equal(acl->stmts[0].items[1].name, "hosts");
	assert_int_equal(acl->stmts[0].items[1].line, 2);
	assert_int_equal(acl->stmts[1].verb, ACL_VERB_DENY);
	assert_string_equal(acl->stmts[1].items[0].value, "relay not permitted");
	acl_free(acl);
	acl_free(NULL);
	acl_result_free(NULL);
}

/* A module's condition: "color = VALUE" holds when $color equals VALUE. */
static int
color_check(const char *value, struct err *e)
{
	if (strcmp(value, "none") == 0) {
		err_set(e, 0, "color: \"none\" is not a color");
		return -1;
	}
	return 0;
}

static enum acl_cond
color_eval(const char *value, const struct acl_env *env, char *why, size_t whylen)
{
	char *got = expand_string("$color", &env->vars);
	enum acl_cond r;

	if (got == NULL) {
		snprintf(why, whylen, "out of memory");
		return ACL_COND_ERROR;
	}
	r = strcmp(value, "broken") == 0 ? ACL_COND_ERROR
	    : got[0] == '\0'             ? ACL_COND_UNKNOWN
	    : strcmp(got, value) == 0    ? ACL_COND_TRUE
	                                 : ACL_COND_FALSE;
	if (r == ACL_COND_ERROR)
		snprintf(why, whylen, "color: cannot tell");
	free(got);
	return r;
}

static const char *
color_var(void *arg, const char *name)
{
	return strcmp(name, "color") == 0 ? arg : NULL;
}

static void
test_registered_condition(void **state)
{
	static const struct acl_condition color = { "color", color_check, color_eval };
	static const struct acl_condition again = { "color", NULL, color_eval };
	static const struct acl_condition modifier = { "message", NULL, color_eval };
	struct acl_env env = { .vars = { .var = color_var, .arg = "red" } };
	struct acl_result res;
	struct err e = { 0 };
	struct acl *acl;

	(void)state;
	assert_null(build("accept color = red", &e)); /* not registered yet */
	assert_non_null(strstr(e.text,
	                       "conditions: hosts, domains, local_parts, senders, "
	                       "recipients, encrypted, condition, ratelimit, spf, spf_guess, "
	                       "dmarc_status, dkim_status, dkim_signers;"));
	assert_int_equal(acl_condition_register(&color), 0);
	assert_int_equal(acl_condition_register(&again), -1);
	assert_int_equal(acl_condition_register(&modifier), -1);
	assert_null(build("accept color = none", &e));
	assert_string_equal(e.text, "color: \"none\" is not a color");
	assert_int_equal(e.code, 1);

	acl = build("deny !color = blue\n message = not blue\naccept", &e);
	assert_non_null(acl);
	assert_int_equal(acl_eval(acl, ACL_ACCEPT, &env, &res), ACL_DENY);
	assert_string_equal(res.message, "not blue");
	acl_result_free(&res);
	env.vars.arg = ""; /* not known: the statement does not fire, negated or not */
	assert_int_equal(acl_eval(acl, ACL_DENY, &env, &res), ACL_ACCEPT);
	acl_result_free(&res);
	acl_free(acl);

	acl = build("accept color = broken", &e);
	assert_non_null(acl);
	assert_int_equal(acl_eval(acl, ACL_ACCEPT, &env, &res), ACL_DEFER);
	assert_non_null(strstr(res.log_message, "line 1: color: cannot tell"));
	acl_result_free(&res);
	acl_free(acl);
}

#define NROWS (sizeof rows / sizeof rows[0])
#define NBADS (sizeof bads / sizeof bads[0])

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_null_acl_gives_default),
		cmocka_unit_test(test_null_env),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_vars_in_lists_skip_load_checks),
		cmocka_unit_test(test_check_reports_line),
		cmocka_unit_test(test_verb_line_item_and_continuation),
		cmocka_unit_test(test_registered_condition),
	};
	struct CMUnitTest tests[NROWS + NBADS + sizeof fixed / sizeof fixed[0]];
	char names[NROWS + NBADS][200];
	size_t n = 0;

	for (size_t i = 0; i < NROWS; i++) {
		snprintf(names[n], sizeof names[n], "eval: %s", rows[i].why);
		tests[n] = (struct CMUnitTest){ .name = names[n],
			                        .test_func = test_row,
			                        .initial_state = (void *)&rows[i] };
		n++;
	}
	for (size_t i = 0; i < NBADS; i++) {
		snprintf(names[n], sizeof names[n], "parse error: %s", bads[i].error);
		tests[n] = (struct CMUnitTest){ .name = names[n],
			                        .test_func = test_bad,
			                        .initial_state = (void *)&bads[i] };
		n++;
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("acl", tests, n, NULL, NULL);
}
