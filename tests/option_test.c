/*
 * option_test.c - the option engine (server/option.c): values checked,
 * stored, defaulted and freed by type, the errors' wording, and every
 * option table checked against docs/config.md both ways: each option of a
 * table is documented there, and each option documented there exists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "option.h"
#include "strlist.h"
#include "testutil.h"

static char *doc; /* docs/config.md */

/* The text between the line starting with `from` and the next line starting with `to`. */
static char *
section(const char *from, const char *to)
{
	const char *a = strstr(doc, from), *b;
	char *out;

	if (a == NULL) {
		fail_msg("docs/config.md has no \"%s\"", from);
		return NULL;
	}
	b = strstr(a + strlen(from), to);
	if (b == NULL)
		b = a + strlen(a);
	out = strndup(a, (size_t)(b - a));
	assert_non_null(out);
	return out;
}

/* The `names` of one "- WHAT: `a`, `b`" list item (up to the next "\n- " or blank line). */
static void
listed(const char *what, struct strlist *out)
{
	char head[80], *item, *end;
	const char *p;

	snprintf(head, sizeof head, "\n- %s: ", what);
	p = strstr(doc, head);
	if (p == NULL) {
		fail_msg("docs/config.md lists no \"- %s:\" options", what);
		return;
	}
	p += strlen(head);
	end = strstr(p, "\n- ");
	item = strndup(p, end != NULL && end < strstr(p, "\n\n") ? (size_t)(end - p)
	                                                         : (size_t)(strstr(p, "\n\n") - p));
	assert_non_null(item);
	for (char *q = strchr(item, '`'); q != NULL; q = strchr(q, '`')) {
		char *close = strchr(q + 1, '`');
		assert_non_null(close);
		*close = '\0';
		assert_int_equal(strlist_push(out, q + 1), 0);
		q = close + 1;
	}
	free(item);
}

static int
in_list(const struct strlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return 1;
	return 0;
}

static void
test_main_options_documented(void **state)
{
	const struct option_table *t = &config_main_options;
	char *opts = section("\n## Options", "\n## Blocks"), want[120];

	(void)state;
	for (size_t i = 0; i < t->n; i++) {
		snprintf(want, sizeof want, "\n### %s\n", t->v[i].name);
		if (strstr(opts, want) == NULL)
			fail_msg("option %s has no \"### %s\" in docs/config.md", t->v[i].name,
			         t->v[i].name);
	}
	for (const char *p = strstr(opts, "\n### "); p != NULL; p = strstr(p + 1, "\n### ")) {
		char name[80];
		size_t n = strcspn(p + 5, "\n");
		snprintf(name, sizeof name, "%.*s", (int)n, p + 5);
		if (option_index(t, name) < 0)
			fail_msg("docs/config.md documents \"%s\", which is no option", name);
	}
	free(opts);
}

static void
test_block_options_documented(void **state)
{
	static const struct {
		const char *what;
		const struct option_table *t;
		const char *extra; /* listed in the docs, read outside the table */
	} blocks[] = {
		{ "router", &router_options, NULL },
		{ "smtp transport", &smtp_transport_options, NULL },
		{ "queuefile transport", &queuefile_options, NULL },
	};

	(void)state;
	for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
		struct strlist l = { 0 };
		listed(blocks[b].what, &l);
		for (size_t i = 0; i < blocks[b].t->n; i++)
			if (!in_list(&l, blocks[b].t->v[i].name))
				fail_msg("%s option %s is not listed in docs/config.md",
				         blocks[b].what, blocks[b].t->v[i].name);
		for (size_t i = 0; i < l.n; i++)
			if (option_index(blocks[b].t, l.v[i]) < 0)
				fail_msg(
				        "docs/config.md lists %s option \"%s\", which is no option",
				        blocks[b].what, l.v[i]);
		strlist_free(&l);
	}
}

/* --- the engine ---------------------------------------------------------------------- */

struct sample {
	char *name;
	unsigned port, timeout;
	uint64_t size;
	int flag;
	char *mode;
	char *hosts;
	struct strlist list;
};

#define OFF(f) offsetof(struct sample, f)
static const struct option_def sample_defs[] = {
	{ .name = "name", .type = OPTION_STRING, .off = OFF(name) },
	{ .name = "port",
	  .type = OPTION_UINT_POS,
	  .off = OFF(port),
	  .dflt = "25",
	  .max = 65535,
	  .hint = "(use 1 to 65535)" },
	{ .name = "timeout", .type = OPTION_TIME, .off = OFF(timeout), .dflt = "5m" },
	{ .name = "size", .type = OPTION_SIZE, .off = OFF(size) },
	{ .name = "flag", .type = OPTION_BOOL, .off = OFF(flag), .dflt = "no" },
	{ .name = "mode",
	  .type = OPTION_CHOICE,
	  .off = OFF(mode),
	  .dflt = "fast",
	  .choices = "fast slow",
	  .what = "mode",
	  .hint = "(use fast or slow)" },
	{ .name = "hosts", .type = OPTION_HOSTLIST, .off = OFF(hosts) },
	{ .name = "list", .type = OPTION_LIST, .off = OFF(list) },
	{ .name = "later", .type = OPTION_STRING, .off = OFF(name), .flags = OPTION_UNSUPPORTED },
};
static const struct option_table sample = { "sample", sample_defs,
	                                    sizeof sample_defs / sizeof sample_defs[0],
	                                    "(sample options: see the test)" };

/* Read "key=value" pairs as a block; the error text, or "" when it loaded. */
static const char *
read_block(const char *const *kv, size_t n, struct sample *out)
{
	static struct err e;
	struct config_kv opts[8];
	struct config_block b = { .kind = "transport", .name = "s", .line = 1, .opts = opts };
	struct option_ctx c = { .file = "f.conf", .dir = "/d", .prefix = "transport s: ", .e = &e };

	memset(&e, 0, sizeof e);
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++)
		opts[b.nopts++] =
		        (struct config_kv){ (char *)kv[2 * i], (char *)kv[2 * i + 1], (int)i + 2 };
	if (option_read_block(&sample, &c, &b, NULL, out, NULL) != 0)
		return e.text;
	return "";
}

static void
test_engine(void **state)
{
	static const struct {
		const char *kv[4];
		size_t n;
		const char *err;
	} cases[] = {
		{ { "port", "70000" },
		  1,
		  "f.conf:2: transport s: port: bad number \"70000\" (use 1 to 65535)" },
		{ { "port", "0" },
		  1,
		  "f.conf:2: transport s: port: bad number \"0\" (use 1 to 65535)" },
		{ { "timeout", "0" },
		  1,
		  "f.conf:2: transport s: timeout: must be at least 1, got \"0\"" },
		{ { "timeout", "5x" },
		  1,
		  "f.conf:2: transport s: timeout: bad time \"5x\" (use 300, 30s, 5m or 1h)" },
		{ { "size", "1T" },
		  1,
		  "f.conf:2: transport s: size: bad size \"1T\" (use bytes, or a number with K, M "
		  "or G)" },
		{ { "flag", "maybe" },
		  1,
		  "f.conf:2: transport s: flag: bad boolean \"maybe\" (use true, false, yes, no, 1 "
		  "or 0)" },
		{ { "mode", "medium" },
		  1,
		  "f.conf:2: transport s: mode: unknown mode \"medium\" (use fast or slow)" },
		{ { "name", "" }, 1, "f.conf:2: transport s: name: needs a value" },
		{ { "hosts", "mx.test" },
		  1,
		  "f.conf:2: transport s: hosts: bad host list item \"mx.test\" (use *, an IP "
		  "address "
		  "or a CIDR; double each colon of an IPv6 address)" },
		{ { "later", "x" }, 1, "f.conf:2: transport s: later: not supported yet" },
		{ { "prot", "1" },
		  1,
		  "f.conf:2: transport s: unknown option \"prot\" (did you mean \"port\"?)" },
		{ { "colour", "1" },
		  1,
		  "f.conf:2: transport s: unknown option \"colour\" (sample options: see the "
		  "test)" },
	};
	static const char *const good[] = { "size", "2K", "list", "a : b" };
	struct sample s;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_string_equal(read_block(cases[i].kv, cases[i].n, &s), cases[i].err);
		option_free(&sample, &s);
	}
	assert_string_equal(read_block(good, 2, &s), "");
	assert_int_equal(s.port, 25); /* defaults */
	assert_int_equal(s.timeout, 300);
	assert_int_equal(s.flag, 0);
	assert_string_equal(s.mode, "fast");
	assert_null(s.name);
	assert_int_equal(s.size, 2048);
	assert_int_equal(s.list.n, 2);
	assert_string_equal(s.list.v[1], "b");
	option_free(&sample, &s);
	assert_null(s.mode);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_options_documented),
		cmocka_unit_test(test_block_options_documented),
		cmocka_unit_test(test_engine),
	};
	int failed;

	doc = test_slurp("docs/config.md");
	if (doc == NULL) {
		fprintf(stderr, "option_test: run from the top of the tree (docs/config.md)\n");
		return 1;
	}
	failed = cmocka_run_group_tests_name("option", tests, NULL, NULL);
	free(doc);
	return failed;
}
