/*
 * fakedns_directives_test.c - fakedns/directives.c: the ";@fakedns MODE
 * [name=NAME] [delay=MS]" lines of a zone file, their errors (with the file
 * and line when read from a file) and which directive applies to a name.
 * No zone and no ldns: directives are plain text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directives.h"

static void
test_directive_lines(void **state)
{
	struct fd_directive d;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(directive_parse_line("; a comment", &d, &e), FD_PARSE_NONE);
	assert_int_equal(directive_parse_line("www IN A 1.2.3.4", &d, &e), FD_PARSE_NONE);
	assert_int_equal(directive_parse_line(";@fakedns bogus\n", &d, &e), FD_PARSE_OK);
	assert_int_equal(d.mode, FD_MODE_BOGUS);
	assert_string_equal(d.name, "");
	assert_int_equal(directive_parse_line("  ;@fakedns bogus name=WWW.Example.test", &d, &e),
	                 FD_PARSE_OK);
	assert_string_equal(d.name, "www.example.test.");
	assert_int_equal(directive_parse_line(";@fakedns delay=250 name=a.test.", &d, &e),
	                 FD_PARSE_OK);
	assert_int_equal(d.mode, FD_MODE_DELAY);
	assert_int_equal(d.delay_ms, 250);
	assert_string_equal(d.name, "a.test.");
	assert_int_equal(directive_parse_line(";@fakedns not-yet-valid", &d, &e), FD_PARSE_OK);
	assert_int_equal(d.mode, FD_MODE_NOT_YET_VALID);
	assert_string_equal(directive_mode_name(FD_MODE_MISSING_DNSKEY), "missing-dnskey");
	assert_int_equal(directive_parse_line(";@fakedns nsec3", &d, &e), FD_PARSE_OK);
	assert_int_equal(d.mode, FD_MODE_NSEC3);
	assert_int_equal(directive_parse_line(";@fakedns nsec3 name=a.test", &d, &e),
	                 FD_PARSE_ERROR);
}

static void
test_directive_errors(void **state)
{
	struct fd_directive d;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(directive_parse_line(";@fakedns", &d, &e), FD_PARSE_ERROR);
	assert_int_equal(directive_parse_line(";@fakedns sometimes", &d, &e), FD_PARSE_ERROR);
	assert_non_null(strstr(e.text, "unknown fakedns mode \"sometimes\""));
	assert_int_equal(directive_parse_line(";@fakedns delay", &d, &e), FD_PARSE_ERROR);
	assert_int_equal(directive_parse_line(";@fakedns delay=99999999", &d, &e), FD_PARSE_ERROR);
	assert_int_equal(directive_parse_line(";@fakedns expired name=a.test", &d, &e),
	                 FD_PARSE_ERROR);
	assert_non_null(strstr(e.text, "whole zone"));
	assert_int_equal(directive_parse_line(";@fakedns bogus colour=red", &d, &e),
	                 FD_PARSE_ERROR);
	assert_int_equal(directive_parse_line(";@fakedns bogus name=a..b", &d, &e), FD_PARSE_ERROR);
	assert_int_equal(directive_parse_line(";@fakednsbogus", &d, &e), FD_PARSE_ERROR);
}

static void
test_directives_find(void **state)
{
	struct fd_directives ds = { .n = 2 };

	(void)state;
	ds.d[0].mode = FD_MODE_SERVFAIL;
	snprintf(ds.d[0].name, sizeof(ds.d[0].name), "a.test.");
	ds.d[1].mode = FD_MODE_INSECURE;
	assert_non_null(directives_find(&ds, FD_MODE_SERVFAIL, "A.TEST."));
	assert_null(directives_find(&ds, FD_MODE_SERVFAIL, "b.test."));
	assert_null(directives_find(&ds, FD_MODE_SERVFAIL, NULL));
	assert_non_null(directives_find(&ds, FD_MODE_INSECURE, NULL));
	assert_null(directives_find(&ds, FD_MODE_BOGUS, "a.test."));
}

/* Directive errors carry the file and line. */
static void
test_directives_file_errors(void **state)
{
	char path[] = "/tmp/fakedns_directives_test.XXXXXX";
	struct fd_directives ds = { 0 };
	struct err e = { 0 };
	int fd = mkstemp(path);
	FILE *fp;

	(void)state;
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(";@fakedns bogus\n$ORIGIN a.test.\n;@fakedns sometimes\n", fp);
	fclose(fp);
	assert_int_equal(directives_read_file(path, &ds, &e), -1);
	assert_non_null(strstr(e.text, path));
	assert_non_null(strstr(e.text, ":3: "));
	assert_non_null(strstr(e.text, "sometimes"));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(";@fakedns servfail name=a.a.test\n;@fakedns delay=10 name=b.a.test\n", fp);
	fclose(fp);
	assert_int_equal(directives_read_file(path, &ds, &e), 0);
	assert_int_equal(ds.n, 2);
	assert_int_equal(ds.d[1].mode, FD_MODE_DELAY);
	assert_int_equal(ds.d[1].line, 2);
	unlink(path);
	assert_int_equal(directives_read_file(path, &ds, &e), -1); /* gone */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directive_lines),
		cmocka_unit_test(test_directive_errors),
		cmocka_unit_test(test_directives_find),
		cmocka_unit_test(test_directives_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
