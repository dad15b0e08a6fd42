/*
 * expand_test.c - "$variable" substitution (server/expand.c), one row per
 * rule: "$name", "${name}", "$$", unknown names, and what is left literal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expand.h"

static const char *
lookup(void *arg, const char *name)
{
	static const char *const vars[][2] = {
		{ "domain", "example.test" },
		{ "sender_host_address", "192.0.2.1" },
		{ "local_part", "Alice" },
		{ "empty", "" },
		{ "tricky", "$domain ${domain} $$" }, /* a value is never expanded again */
		{ "a1", "one" },
		{ "a", "A" },
	};
	(void)arg;
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	return NULL;
}

struct row {
	const char *tmpl, *want, *why;
};

static const struct row rows[] = {
	{ "", "", "empty template" },
	{ "no variables here", "no variables here", "plain text is copied" },
	{ "$domain", "example.test", "$name" },
	{ "${domain}", "example.test", "${name}" },
	{ "mail for $domain.", "mail for example.test.", "$name stops at a non-name character" },
	{ "${local_part}x", "Alicex", "${name} lets text follow directly" },
	{ "$local_partx", "", "$name takes the longest name (unknown here)" },
	{ "$a1$a", "oneA", "digits belong to names; adjacent references" },
	{ "$$", "$", "$$ is one dollar" },
	{ "$$domain", "$domain", "$$ then text: no reference" },
	{ "cost: $$5", "cost: $5", "$$ before a digit" },
	{ "$unknown", "", "unknown variable is empty" },
	{ "<${unknown}>", "<>", "unknown in braces is empty" },
	{ "$empty|", "|", "variable with an empty value" },
	{ "$tricky", "$domain ${domain} $$", "values are not expanded again" },
	{ "$", "$", "lone dollar at the end is literal" },
	{ "a $ b", "a $ b", "lone dollar before a space is literal" },
	{ "$Domain", "$Domain", "upper case is not a name character: literal" },
	{ "${domain", "${domain", "unclosed brace is literal" },
	{ "${}", "${}", "empty braces are literal" },
	{ "${dom ain}", "${dom ain}", "bad character in braces is literal" },
	{ "^a.*$", "^a.*$", "a regex's end anchor survives" },
	{ "[$sender_host_address]", "[192.0.2.1]", "inside brackets" },
};

static void
test_row(void **state)
{
	const struct row *r = *state;
	struct expand_env env = { .var = lookup };
	char *got = expand_string(r->tmpl, &env);

	assert_non_null(got);
	if (strcmp(got, r->want) != 0) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s: \"%s\" expanded to \"%s\", want \"%s\"", r->why,
		         r->tmpl, got, r->want);
		free(got);
		fail_msg("%s", msg);
	}
	free(got);
}

static void
test_null_env(void **state)
{
	char *got;
	struct expand_env no_fn = { .var = NULL };

	(void)state;
	got = expand_string("x$domain${domain}$$y", NULL);
	assert_string_equal(got, "x$y");
	free(got);
	got = expand_string("x$domain", &no_fn);
	assert_string_equal(got, "x");
	free(got);
}

static void
test_null_template(void **state)
{
	char *got = expand_string(NULL, NULL);

	(void)state;
	assert_string_equal(got, "");
	free(got);
}

/* Answers only for the exact name in arg, so a name cut short or run on
 * expands to "" and the test fails on the value, not only by crashing. */
static const char *
exact_lookup(void *arg, const char *name)
{
	return strcmp(name, arg) == 0 ? "found" : NULL;
}

static void
test_long_name(void **state)
{
	/* Names around and far past expand's 64-byte on-stack key buffer. */
	static const size_t lens[] = { 1, 62, 63, 64, 65, 199 };
	char name[200], tmpl[220], *got;
	struct expand_env env = { .var = exact_lookup, .arg = name };

	(void)state;
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		memset(name, 'n', lens[i]);
		name[lens[i]] = '\0';
		snprintf(tmpl, sizeof tmpl, "<$%s>", name);
		got = expand_string(tmpl, &env);
		assert_non_null(got);
		assert_string_equal(got, "<found>");
		free(got);
		snprintf(tmpl, sizeof tmpl, "<${%s}>", name);
		got = expand_string(tmpl, &env);
		assert_non_null(got);
		assert_string_equal(got, "<found>");
		free(got);
		/* One character more is another name: unknown, empty. */
		snprintf(tmpl, sizeof tmpl, "<$%sn>", name);
		got = expand_string(tmpl, &env);
		assert_non_null(got);
		assert_string_equal(got, "<>");
		free(got);
	}
}

/* Answers the big value in arg for "v" only. */
static const char *
big_lookup(void *arg, const char *name)
{
	return strcmp(name, "v") == 0 ? arg : NULL;
}

static void
test_big_value(void **state)
{
	char *big = malloc(100001), *got;
	struct expand_env env = { .var = big_lookup };

	(void)state;
	assert_non_null(big);
	memset(big, 'v', 100000);
	big[100000] = '\0';
	env.arg = big;
	got = expand_string("[$v][$v][$w]", &env);
	assert_non_null(got);
	assert_int_equal(strlen(got), 200006);
	assert_int_equal(got[0], '[');
	assert_int_equal(got[100001], ']');
	assert_string_equal(got + 200003, "][]"); /* $w is not $v: empty */
	free(got);
	free(big);
}

static const char *
get_name(const void *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "<%s>", (const char *)ctx);
	return buf;
}

static const char *
get_unset(const void *ctx, char *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return NULL;
}

/* A variable table: each row's getter gets the context; unknown and unset are "". */
static void
test_table(void **state)
{
	static const struct expand_var table[] = {
		{ "who", get_name, "the context, in angle brackets" },
		{ "unset", get_unset, "a variable with no value" },
	};
	struct expand_env env = { .table = table, .ntable = 2, .ctx = "ctx" };
	char *got;

	(void)state;
	got = expand_string("$who ${who}|$unset|$other|$$who", &env);
	assert_string_equal(got, "<ctx> <ctx>|||$who");
	free(got);
	assert_ptr_equal(expand_var_find(table, 2, "unset"), &table[1]);
	assert_null(expand_var_find(table, 2, "wh"));
}

#define NROWS (sizeof rows / sizeof rows[0])

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_null_env),      cmocka_unit_test(test_table),
		cmocka_unit_test(test_null_template), cmocka_unit_test(test_long_name),
		cmocka_unit_test(test_big_value),
	};
	struct CMUnitTest tests[NROWS + sizeof fixed / sizeof fixed[0]];
	char names[NROWS][160];
	size_t n = 0;

	for (size_t i = 0; i < NROWS; i++) {
		snprintf(names[i], sizeof names[i], "%s: \"%s\"", rows[i].why, rows[i].tmpl);
		tests[n++] = (struct CMUnitTest){ .name = names[i],
			                          .test_func = test_row,
			                          .initial_state = (void *)&rows[i] };
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("expand", tests, n, NULL, NULL);
}
