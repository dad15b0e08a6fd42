/*
 * expand_lang_test.c - the expansion language (server/expand_lang.c,
 * expand_cond.c, expand_items.c): one named row per construct and per
 * error, each with the exact result or the exact error (offset included),
 * plus lsearch and lmdb lookups over real files and the safety rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "expand.h"

static char dir[64];

static const char *
var(void *arg, const char *name)
{
	static const char *const vars[][2] = {
		{ "domain", "Example.TEST" },
		{ "n", "42" },
		{ "empty", "" },
		{ "evil", "${if eq{1}{1}{pwned}}" }, /* client text: never expanded */
		{ "ip", "192.0.2.7" },
		{ "words", "alpha beta" },
		{ "proxy_session", "yes" },
		{ "proxy_host_address", "" },
	};
	(void)arg;
	if (strcmp(name, "dir") == 0)
		return dir;
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	return NULL;
}

struct row {
	const char *name, *tmpl;
	int status;       /* EXPAND_OK / FAIL / ERROR */
	const char *want; /* the result, or the "why" */
};

#define OK(n, t, w)                                                                                \
	{                                                                                          \
		n, t, EXPAND_OK, w                                                                 \
	}
#define FAIL(n, t, w)                                                                              \
	{                                                                                          \
		n, t, EXPAND_FAIL, w                                                               \
	}
#define ERR(n, t, w)                                                                               \
	{                                                                                          \
		n, t, EXPAND_ERROR, w                                                              \
	}

static const struct row rows[] = {
	/* variables and escapes */
	OK("variable", "$domain|${domain}", "Example.TEST|Example.TEST"),
	OK("unknown variable is empty", "<$nope>", "<>"),
	OK("value never expanded again", "$evil", "${if eq{1}{1}{pwned}}"),
	OK("escapes", "\\$domain \\{\\} \\\\ a\\tb", "$domain {} \\ a\tb"),
	OK("\\N verbatim", "\\N${if}$x\\N!", "${if}$x!"),
	OK("other backslash kept (regex)", "a\\d\\.", "a\\d\\."),
	OK("literal braces balanced in text", "a{b}c", "a{b}c"),
	OK("not a construct: literal", "${nope x} ${ ${}", "${nope x} ${ ${}"),
	/* if */
	OK("if eq yes", "${if eq{$n}{42}{y}{n}}", "y"),
	OK("if eq no", "${if eq{$n}{43}{y}{n}}", "n"),
	OK("if without strings: true", "${if eq{a}{a}}", "true"),
	OK("if without strings: false", "${if eq{a}{b}}|", "|"),
	OK("if yes only, false", "[${if eq{a}{b}{y}}]", "[]"),
	FAIL("if fail", "${if eq{a}{b}{y}fail}", "forced failure (${if} condition false)"),
	OK("if fail not taken", "${if eq{a}{a}{y}fail}", "y"),
	OK("eqi", "${if eqi{$domain}{example.test}{y}{n}}", "y"),
	OK("eq is case-sensitive", "${if eq{$domain}{example.test}{y}{n}}", "n"),
	OK("== and =", "${if =={1}{1}{a}}${if ={2}{2}{b}}", "ab"),
	OK("!=", "${if !={1}{2}{y}{n}}", "y"),
	OK("< <= > >=", "${if <{1}{2}{a}}${if <={2}{2}{b}}${if >{3}{2}{c}}${if >={1}{2}{d}{e}}",
	   "abce"),
	OK("numbers with K and M", "${if =={1K}{1024}{k}}${if =={2M}{2097152}{m}}", "km"),
	OK("negative numbers", "${if <{-5}{3}{y}}", "y"),
	OK("! negates", "${if !eq{a}{b}{y}{n}}", "y"),
	OK("!! double negation", "${if !!eq{a}{b}{y}{n}}", "n"),
	OK("and all true", "${if and{{eq{a}{a}}{eq{b}{b}}}{y}{n}}", "y"),
	OK("and one false", "${if and{{eq{a}{a}}{eq{b}{c}}}{y}{n}}", "n"),
	OK("or one true", "${if or{{eq{a}{b}}{eq{b}{b}}}{y}{n}}", "y"),
	OK("or none true", "${if or{ {eq{a}{b}} {eq{b}{c}} }{y}{n}}", "n"),
	OK("and short-circuits (no error from the skipped bad number)",
	   "${if and{{eq{a}{b}}{<{x}{1}}}{y}{n}}", "n"),
	OK("bool yes/true/1", "${if bool{yes}{a}}${if bool{ TRUE }{b}}${if bool{1}{c}}", "abc"),
	OK("bool no/false/0/empty",
	   "${if bool{no}{a}{-}}${if bool{false}{a}{-}}${if bool{0}{a}{-}}${if bool{}{a}{-}}",
	   "----"),
	OK("def: set", "${if def:n{y}{n}}", "y"),
	OK("def: empty", "${if def:empty{y}{n}}", "n"),
	OK("def: unknown", "${if def:nope{y}{n}}", "n"),
	OK("exists", "${if exists{/}{y}{n}}${if exists{/no/such/file}{y}{n}}", "yn"),
	OK("isip", "${if isip{$ip}{a}}${if isip{::1}{b}}${if isip{1.2.3}{c}{-}}", "ab-"),
	OK("isip4 isip6", "${if isip4{::1}{a}{-}}${if isip6{::1}{b}}", "-b"),
	OK("inlist", "${if inlist{b}{a : b : c}{y}{n}}${if inlist{d}{a:b}{y}{n}}", "yn"),
	OK("inlist with <; separator", "${if inlist{a:b}{<; a:b ; c}{y}{n}}", "y"),
	OK("match with captures", "${if match{user+tag@x}{^(.*)\\\\+(.*)@}{$1/$2/$0}{no}}",
	   "user/tag/user+tag@"),
	OK("match no", "${if match{abc}{^x}{y}{n}}", "n"),
	OK("captures restored after if", "${if match{ab}{(a)}{${if match{cd}{(c)}{$1}}$1}}[$1]",
	   "ca[]"),
	OK("seed PROXY example (and, bool, !eq)",
	   "${if and{ {bool{$proxy_session}} {eq{$proxy_host_address}{}} } {failed}{ok}}",
	   "failed"),
	/* operators */
	OK("lc uc", "${lc:$domain} ${uc:$domain}", "example.test EXAMPLE.TEST"),
	OK("length_N", "${length_3:abcdef}|${length_9:ab}", "abc|ab"),
	OK("substr_M_N", "${substr_1_3:abcdef}|${substr_4:abcdef}|${substr_-2:abcdef}",
	   "bcd|ef|ef"),
	OK("substr past the end", "[${substr_9_2:abc}]", "[]"),
	OK("quote_redis", "${quote_redis:a b\\\\c}", "a\\ b\\\\c"),
	OK("nested operators", "${uc:${substr_0_5:$words}}", "ALPHA"),
	/* extract */
	OK("extract key", "${extract{b}{a=1 b=\"two words\" c=3}}", "two words"),
	OK("extract key case-insensitive, spaces", "${extract{B}{a = 1 b = 2}}", "2"),
	OK("extract miss", "[${extract{z}{a=1}}]", "[]"),
	OK("extract yes with $value", "${extract{a}{a=1}{<$value>}{none}}", "<1>"),
	OK("extract no", "${extract{q}{a=1}{<$value>}{none}}", "none"),
	FAIL("extract fail", "${extract{q}{a=1}{$value}fail}",
	     "forced failure (extract found nothing)"),
	OK("extract numeric", "${extract{2}{:}{a:b:c}}", "b"),
	OK("extract numeric several separators", "${extract{3}{:,}{a:b,c}}", "c"),
	OK("extract numeric out of range", "[${extract{5}{:}{a:b}}]", "[]"),
	/* sg */
	OK("sg", "${sg{abcabc}{b}{X}}", "aXcaXc"),
	OK("sg with captures", "${sg{2026-12-06}{(\\\\d+)-(\\\\d+)-(\\\\d+)}{\\$3.\\$2.\\$1}}",
	   "06.12.2026"),
	OK("sg empty match", "${sg{abc}{x*}{-}}", "-a-b-c-"),
	/* errors: each names its offset */
	ERR("unclosed if", "${if eq{a}{b}{y}", "at offset 16: expected \"}\" to end ${if"),
	ERR("unknown condition", "${if foo{a}}", "at offset 5: unknown condition \"foo\""),
	ERR("not a number", "${if <{a}{1}}", "at offset 12: \"a\" is not a number"),
	ERR("bool not boolean", "${if bool{maybe}}",
	    "at offset 16: bool: \"maybe\" is not true, false, yes, no or a number"),
	ERR("bad regex", "${if match{a}{(}}",
	    "at offset 16: bad regular expression \"(\" at character 1: missing closing "
	    "parenthesis"),
	ERR("unknown operator", "${rot13:x}",
	    "at offset 8: unknown operator \"rot13\" (lc, uc, length_N, substr_M_N, quote_redis)"),
	ERR("unknown lookup type", "${lookup{k}nosuch{/f}}",
	    "at offset 17: unknown lookup type \"nosuch\" (lsearch, iplsearch, lmdb, redis, "
	    "dnsdb, spf)"),
	ERR("query form for a single-key type", "${lookup lsearch{q}}",
	    "at offset 16: lsearch is a single-key lookup: ${lookup{KEY}lsearch{FILE}}"),
	ERR("key form for a query type", "${lookup{k}redis{q}}",
	    "at offset 16: redis is a query lookup: ${lookup redis{QUERY}}"),
	ERR("missing brace in an argument", "${if eq{a}{b",
	    "at offset 11: missing \"}\" for the \"{\" before here"),
	ERR("and without conditions", "${if and{}}",
	    "at offset 10: and{} needs at least one condition"),
	ERR("extract arity", "${extract{a}}",
	    "at offset 13: ${extract} needs {KEY}{STRING} or {N}{SEPARATORS}{STRING}"),
	ERR("sg arity", "${sg{a}{b}}", "at offset 11: ${sg} takes {SUBJECT}{REGEX}{REPLACEMENT}"),
	ERR("expected a condition", "${if {a}}", "at offset 5: expected a condition"),
	ERR("def: without a name", "${if def:}", "at offset 9: def: needs a variable name"),
	ERR("or with a non-braced condition", "${if or{eq{a}{b}}}",
	    "at offset 8: expected \"{CONDITION}\" in or{...}"),
	ERR("extract numeric arity", "${extract{2}{a:b}}",
	    "at offset 18: ${extract{2}...} takes {SEPARATORS}{STRING}, then optional {YES}{NO}"),
	ERR("too many arguments", "${sg{a}{b}{c}{d}}",
	    "at offset 13: too many arguments (at most 3)"),
	ERR("numeric overflow", "${if <{99999999999G}{1}}",
	    "at offset 23: \"99999999999G\" is not a number"),
	ERR("lookup without a type", "${lookup{k}{f}}",
	    "at offset 11: expected a lookup type (lsearch, iplsearch, lmdb, redis, dnsdb, spf)"),
	OK("authresults without methods", "${authresults{mx.test}}",
	   "Authentication-Results: mx.test; none"),
	ERR("authresults empty ID", "${authresults{}}",
	    "at offset 16: ${authresults}: the ID (authserv-id) is empty"),
	ERR("authresults arity", "${authresults{a}{b}}",
	    "at offset 16: too many arguments (at most 1)"),
	ERR("acl without a runner", "${acl{x}}", "at offset 9: ${acl{x}}: no ACLs can be run here"),
	ERR("lsearch missing file", "${lookup{k}lsearch{/no/such/file}}",
	    "at offset 34: lookup lsearch: cannot open /no/such/file: No such file or directory"),
	/* lsearch over a real file (written by the setup) */
	OK("lsearch hit", "${lookup{alice}lsearch{$dir/users}}", "Alice Liddell"),
	OK("lsearch is case-insensitive", "${lookup{BOB}lsearch{$dir/users}}", "bob@example.test"),
	OK("lsearch quoted key and continuation", "${lookup{a b}lsearch{$dir/users}}", "one two"),
	OK("lsearch miss", "[${lookup{carol}lsearch{$dir/users}}]", "[]"),
	OK("lsearch yes/no", "${lookup{bob}lsearch{$dir/users}{<$value>}{no}}",
	   "<bob@example.test>"),
	FAIL("lsearch fail", "${lookup{carol}lsearch{$dir/users}{$value}fail}",
	     "forced failure (lookup found nothing)"),
	/* lmdb over a real database (mdb_load in the setup) */
	OK("lmdb hit", "${lookup{relay.test}lmdb{$dir/db.mdb}}", "yes"),
	OK("lmdb hit with fail", "${lookup{relay.test}lmdb{$dir/db.mdb}{$value}fail}", "yes"),
	OK("lmdb miss default", "${lookup{other.test}lmdb{$dir/db.mdb}{$value}{none}}", "none"),
	FAIL("lmdb miss fail", "${lookup{other.test}lmdb{$dir/db.mdb}{$value}fail}",
	     "forced failure (lookup found nothing)"),
	OK("lmdb extract from value", "${extract{mx}{${lookup{data.test}lmdb{$dir/db.mdb}}}}",
	   "mx1.data.test"),
	ERR("lmdb missing file", "${lookup{k}lmdb{/no/such.mdb}}",
	    "at offset 30: lookup lmdb: cannot open /no/such.mdb: No such file or directory"),
};

static int
setup(void **state)
{
	char cmd[300];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/expand_lang_test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd, "%s/users", dir);
	f = fopen(cmd, "w");
	if (f == NULL)
		return -1;
	fputs("# comment\nalice: Alice Liddell\nbob bob@example.test\n\"a b\": one\n  two\n", f);
	fclose(f);
	snprintf(
	        cmd, sizeof cmd,
	        "printf 'VERSION=3\\nformat=print\\ntype=btree\\nHEADER=END\\n relay.test\\n yes\\n"
	        " data.test\\n mx=mx1.data.test ttl=60\\nDATA=END\\n' | mdb_load -n %s/db.mdb",
	        dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_row(void **state)
{
	const struct row *r = *state;
	struct expand_env env = { .var = var };
	char why[300] = "", *out = NULL;
	int st = expand_eval(r->tmpl, &env, &out, why, sizeof why);

	if (st != r->status || strcmp(st == EXPAND_OK ? out : why, r->want) != 0)
		fail_msg("%s: \"%s\" gave status %d \"%s\", want %d \"%s\"", r->name, r->tmpl, st,
		         st == EXPAND_OK ? out : why, r->status, r->want);
	free(out);
	/* Whatever evaluation says, the syntax check agrees on syntax errors. */
	if (r->status != EXPAND_ERROR || strstr(r->want, "lookup lsearch:") != NULL ||
	    strstr(r->want, "lookup lmdb:") != NULL || strstr(r->want, "number") != NULL ||
	    strstr(r->want, "bool:") != NULL || strstr(r->want, "regular") != NULL ||
	    strstr(r->want, "no ACLs") != NULL || strstr(r->want, "takes {SEPARATORS}") != NULL ||
	    strstr(r->want, "authserv-id") != NULL)
		assert_int_equal(expand_check(r->tmpl, why, sizeof why), 0);
	else
		assert_int_equal(expand_check(r->tmpl, why, sizeof why), -1);
}

/* set / $acl_c_ / $acl_m_ stores and $acl_argN. */
static void
test_stores(void **state)
{
	struct expand_store c = { 0 }, m = { 0 };
	const char *args[] = { "first", "second" };
	struct expand_env env = {
		.var = var, .acl_c = &c, .acl_m = &m, .acl_args = args, .acl_nargs = 2
	};
	char why[200], *out;

	(void)state;
	assert_int_equal(expand_store_set(&c, "acl_c_spammer", "true"), 0);
	assert_int_equal(expand_store_set(&m, "acl_m_x", "1"), 0);
	assert_int_equal(expand_store_set(&m, "acl_m_x", "2"), 0); /* replaced */
	assert_int_equal(expand_eval("$acl_c_spammer/$acl_m_x/$acl_narg/$acl_arg2/[$acl_arg3]",
	                             &env, &out, why, sizeof why),
	                 EXPAND_OK);
	assert_string_equal(out, "true/2/2/second/[]");
	free(out);
	expand_store_clear(&c);
	expand_store_clear(&m);
	assert_null(expand_store_get(&c, "acl_c_spammer"));
}

static int
fake_acl(void *arg, const char *name, const char *const *args, size_t nargs, char **out, char *why,
         size_t whylen)
{
	(void)arg;
	if (strcmp(name, "accepts") == 0) {
		*out = strdup(nargs > 0 ? args[0] : "none");
		return EXPAND_OK;
	}
	if (strcmp(name, "denies") == 0)
		return EXPAND_FAIL;
	snprintf(why, whylen, "no ACL named %s", name);
	return EXPAND_ERROR;
}

static void
test_acl_item(void **state)
{
	struct expand_env env = { .var = var, .acl = fake_acl };
	char why[200], *out;

	(void)state;
	assert_int_equal(expand_eval("<${acl{accepts}{$n}{x}}>", &env, &out, why, sizeof why),
	                 EXPAND_OK);
	assert_string_equal(out, "<42>");
	free(out);
	assert_int_equal(expand_eval("${acl{denies}}", &env, &out, why, sizeof why), EXPAND_FAIL);
	assert_int_equal(expand_eval("${acl{nope}}", &env, &out, why, sizeof why), EXPAND_ERROR);
	assert_string_equal(why, "at offset 12: ${acl{nope}}: no ACL named nope");
}

static void
test_depth_bounded(void **state)
{
	char tmpl[2000] = "", why[200], *out;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(tmpl + n, sizeof tmpl - n, "${lc:");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(tmpl + n, sizeof tmpl - n, "}");
	assert_int_equal(expand_eval(tmpl, NULL, &out, why, sizeof why), EXPAND_ERROR);
	assert_non_null(strstr(why, "nested deeper than 32"));
}

int
main(void)
{
	size_t n = sizeof rows / sizeof rows[0];
	struct CMUnitTest *tests = calloc(n + 3, sizeof *tests);

	if (tests == NULL)
		return 1;
	for (size_t i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){ .name = rows[i].name,
			                        .test_func = test_row,
			                        .initial_state = (void *)&rows[i] };
	tests[n] = (struct CMUnitTest)cmocka_unit_test(test_stores);
	tests[n + 1] = (struct CMUnitTest)cmocka_unit_test(test_acl_item);
	tests[n + 2] = (struct CMUnitTest)cmocka_unit_test(test_depth_bounded);
	return _cmocka_run_group_tests("expand_lang", tests, n + 3, setup, teardown);
}
