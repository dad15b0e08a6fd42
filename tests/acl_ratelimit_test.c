/*
 * acl_ratelimit_test.c - the "ratelimit" ACL condition (server/acl_ratelimit.c):
 * its syntax checked at load, the N+1th event over LIMIT, keys kept apart
 * (the client's address by default, or an explicit key), the smoothing
 * letting a client through again after a quiet PERIOD, leaky against
 * strict, the table shared by forked workers, and the logwrite modifier.
 * The clock is frozen (lib/clock.h) so every rate is exact.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acl.h"
#include "clock.h"

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

/* The verdict for a client at `ip`. */
static enum acl_verdict
run(const struct acl *acl, const char *ip)
{
	struct acl_env env = { .host_address = ip };
	struct acl_result res = { 0 };
	enum acl_verdict v = acl_eval(acl, ACL_ACCEPT, &env, &res);

	acl_result_free(&res);
	return v;
}

static void
test_syntax(void **state)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
		{ "defer ratelimit = 5", "ratelimit: expected LIMIT / PERIOD [/ options] [/ key]" },
		{ "defer ratelimit = x / 5s", "ratelimit: bad limit \"x\"" },
		{ "defer ratelimit = 5 / 5y", "ratelimit: bad period \"5y\" (use 5s, 1m, 1h, 1d)" },
		{ "defer ratelimit = 5 / 5s / per_byte",
		  "ratelimit: option \"per_byte\" not supported yet" },
		{ "defer ratelimit = 5 / 5s / bogus / strict",
		  "ratelimit: unknown option \"bogus\"" },
	};
	struct err e = { 0 };
	struct acl *acl;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		assert_null(build(bad[i].text, &e));
		assert_string_equal(e.text, bad[i].error);
	}
	acl = build("defer ratelimit = 5 / 1h / per_conn / strict / mykey", &e);
	assert_non_null(acl);
	acl_free(acl);
	acl = build("defer ratelimit = $primary_hostname / 5s", &e); /* checked once expanded */
	assert_non_null(acl);
	acl_free(acl);
}

/* The seed's example: LIMIT 5 per 5 s, per_conn, strict: the sixth
 * connection at the same instant is refused; another client is not. */
static void
test_limit(void **state)
{
	struct err e = { 0 };
	struct acl *acl = build("defer ratelimit = 5 / 5s / per_conn / strict\naccept", &e);

	(void)state;
	assert_non_null(acl);
	clock_freeze(1767225600);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(run(acl, "192.0.2.1"), ACL_ACCEPT);
	assert_int_equal(run(acl, "192.0.2.1"), ACL_DEFER);
	assert_int_equal(run(acl, "192.0.2.2"), ACL_ACCEPT);
	/* Quiet for many periods: the smoothed rate decays below the limit. */
	clock_freeze(1767225600 + 60);
	assert_int_equal(run(acl, "192.0.2.1"), ACL_ACCEPT);
	clock_unfreeze();
	acl_free(acl);
}

/* leaky: refusals do not raise the rate; strict: they do. */
static void
test_leaky_strict(void **state)
{
	struct err e = { 0 };
	struct acl *leaky = build("defer ratelimit = 2 / 10s / leaky\naccept", &e);
	struct acl *strict = build("defer ratelimit = 2 / 10s / strict\naccept", &e);
	int lk = 0, st = 0;

	(void)state;
	assert_non_null(leaky);
	assert_non_null(strict);
	clock_freeze(1767225600);
	for (int i = 0; i < 6; i++) {
		run(leaky, "198.51.100.1");
		run(strict, "198.51.100.1");
	}
	/* 10 s later: the leaky rate was held at 2 and has decayed below it;
	 * the strict one counted all six and is still over. */
	clock_freeze(1767225600 + 10);
	lk = run(leaky, "198.51.100.1") == ACL_ACCEPT;
	st = run(strict, "198.51.100.1") == ACL_ACCEPT;
	assert_int_equal(lk, 1);
	assert_int_equal(st, 0);
	clock_unfreeze();
	acl_free(leaky);
	acl_free(strict);
}

/* An explicit key counts across client addresses. */
static void
test_explicit_key(void **state)
{
	struct err e = { 0 };
	struct acl *acl =
	        build("defer ratelimit = 1 / 1h / per_cmd / strict / everyone\naccept", &e);

	(void)state;
	assert_non_null(acl);
	clock_freeze(1767225600);
	assert_int_equal(run(acl, "203.0.113.1"), ACL_ACCEPT);
	assert_int_equal(run(acl, "203.0.113.2"), ACL_DEFER);
	clock_unfreeze();
	acl_free(acl);
}

/* Forked workers share one table (acl_ratelimit_init before the fork). */
static void
test_shared(void **state)
{
	struct err e = { 0 };
	struct acl *acl = build("defer ratelimit = 3 / 1h / strict\naccept", &e);
	int status;

	(void)state;
	assert_non_null(acl);
	assert_int_equal(acl_ratelimit_init(), 0);
	clock_freeze(1767225600);
	for (int i = 0; i < 3; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(run(acl, "192.0.2.99") == ACL_ACCEPT ? 0 : 1);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(run(acl, "192.0.2.99"), ACL_DEFER);
	clock_unfreeze();
	acl_free(acl);
}

static void
test_logwrite(void **state)
{
	struct err e = { 0 };
	struct acl *acl = build("warn logwrite = one\n logwrite = two\naccept", &e);
	struct acl_env env = { .host_address = "192.0.2.1" };
	struct acl_result res = { 0 };

	(void)state;
	assert_non_null(acl);
	assert_int_equal(acl_eval(acl, ACL_DENY, &env, &res), ACL_ACCEPT);
	assert_int_equal(res.logwrites.n, 2);
	assert_string_equal(res.logwrites.v[0], "one");
	assert_string_equal(res.logwrites.v[1], "two");
	assert_int_equal(res.logs.n, 0);
	acl_result_free(&res);
	acl_free(acl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),       cmocka_unit_test(test_limit),
		cmocka_unit_test(test_leaky_strict), cmocka_unit_test(test_explicit_key),
		cmocka_unit_test(test_shared),       cmocka_unit_test(test_logwrite),
	};
	return cmocka_run_group_tests_name("acl_ratelimit", tests, NULL, NULL);
}
