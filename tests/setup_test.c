/*
 * setup_test.c - server/setup.c: the whole configuration loaded at once (a
 * broken transport or router block fails the load with its FILE:LINE, as
 * `check`, `serve` and SIGHUP need), and test mode following the loaded
 * configuration, also when a reload turns it off or changes the clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "setup.h"

static char dir[PATH_MAX];
static char conf[PATH_MAX + 16];

static void
write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_load_checks_blocks(void **state)
{
	struct config *cfg = NULL;
	struct err e = { 0 };
	char want[PATH_MAX + 80];

	(void)state;
	write_conf("primary_hostname = a.test\n"
	           "transport t:\n  driver = smtp\n  colour = blue\n");
	assert_int_equal(setup_load_config(conf, &cfg, &e), -1);
	assert_null(cfg);
	snprintf(want, sizeof want, "%s:4: transport t: unknown option \"colour\"", conf);
	assert_string_equal(e.text, want);

	write_conf("primary_hostname = a.test\n"
	           "router r:\n  driver = dnslookup\n  transport = none\n");
	assert_int_equal(setup_load_config(conf, &cfg, &e), -1);
	assert_null(cfg);
	assert_non_null(strstr(e.text, ":4: router r: transport \"none\" is not defined"));

	write_conf("primary_hostname = a.test\n"
	           "router r:\n  driver = dnslookup\n  transport = t\n"
	           "transport t:\n  driver = smtp\n");
	assert_int_equal(setup_load_config(conf, &cfg, &e), 0);
	assert_non_null(cfg);
	config_free(cfg);
}

static void
test_test_mode_follows_config(void **state)
{
	struct config *cfg = NULL;
	struct err e = { 0 };

	(void)state;
	write_conf("primary_hostname = a.test\ntest_clock = 2030-01-02T03:04:05Z\n");
	assert_int_equal(setup_load_config(conf, &cfg, &e), 0);
	setup_apply_test_mode(cfg);
	assert_true(clock_is_frozen());
	assert_int_equal(clock_now(), cfg->test_clock);
	config_free(cfg);

	/* A reload with another clock: the new one. */
	write_conf("primary_hostname = a.test\ntest_clock = 2031-01-02T03:04:05Z\n");
	assert_int_equal(setup_load_config(conf, &cfg, &e), 0);
	setup_apply_test_mode(cfg);
	assert_int_equal(clock_now(), cfg->test_clock);
	config_free(cfg);

	/* A reload without test mode: the clock runs again. */
	write_conf("primary_hostname = a.test\n");
	assert_int_equal(setup_load_config(conf, &cfg, &e), 0);
	setup_apply_test_mode(cfg);
	assert_false(clock_is_frozen());
	config_free(cfg);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_checks_blocks),
		cmocka_unit_test(test_test_mode_follows_config),
	};
	char tmpl[] = "/tmp/setup_test.XXXXXX";
	int failed;

	if (mkdtemp(tmpl) == NULL || realpath(tmpl, dir) == NULL)
		return 1;
	snprintf(conf, sizeof conf, "%s/t.conf", dir);
	failed = cmocka_run_group_tests_name("setup", tests, NULL, NULL);
	unlink(conf);
	rmdir(dir);
	return failed;
}
