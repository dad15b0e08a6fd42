/*
 * config_testlib.h - what the configuration loader's unit tests share
 * (tests/config_test.c, tests/config_errors_test.c): one temporary
 * directory holding stand-in certificate, key, staple and CA files (the
 * loader only checks they are readable), the configuration file in it, and
 * loading a text that must load.  Header-only (static inline) so the
 * Makefile's one-file-per-test rule stays.  Include after <cmocka.h>.
 */
#ifndef REFMTA_CONFIG_TESTLIB_H
#define REFMTA_CONFIG_TESTLIB_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static char dir[PATH_MAX];  /* the temporary directory, resolved */
static char conf[PATH_MAX]; /* DIR/t.conf */

static const char *const fixtures[] = { "certs/mx.pem", "certs/mx.key",      "certs/ec.pem",
	                                "certs/ec.key", "certs/mx.ocsp.der", "certs/ca.pem" };

static inline int
setup_dir(void **state)
{
	char tmpl[] = "/tmp/config_test.XXXXXX", path[PATH_MAX + 32];

	(void)state;
	if (test_make_tmpdir(tmpl, dir) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/certs", dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
		FILE *f;
		snprintf(path, sizeof path, "%s/%s", dir, fixtures[i]);
		f = fopen(path, "w");
		if (f == NULL)
			return -1;
		fputs("stand-in\n", f);
		fclose(f);
	}
	snprintf(conf, sizeof conf, "%s/t.conf", dir);
	return 0;
}

static inline int
teardown_dir(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, fixtures[i]);
		unlink(path);
	}
	unlink(conf);
	snprintf(path, sizeof path, "%s/certs", dir);
	rmdir(path);
	rmdir(dir);
	return 0;
}

static inline void
write_conf(const char *text)
{
	test_write_file(conf, text);
}

/* Load `text`; fail the test with the error if it does not load. */
static inline struct config *
load_ok(const char *text)
{
	struct config *cfg = NULL;
	struct err e = { 0 };

	write_conf(text);
	if (config_load(conf, &cfg, &e) != 0)
		fail_msg("want a good load, got: %s", e.text);
	assert_non_null(cfg);
	return cfg;
}

/* "DIR/rel" */
static inline const char *
in_dir(const char *rel)
{
	static char buf[PATH_MAX + 64];

	snprintf(buf, sizeof buf, "%s/%s", dir, rel);
	return buf;
}

#endif
