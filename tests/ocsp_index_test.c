/*
 * ocsp_index_test.c - fakeocsp/ocsp_index.c: the `openssl ca` index.txt
 * lines it accepts (V, R with time and reason, E; serials normalised) and
 * every error it reports as "FILE:LINE: why".  The minted PKI's index is
 * read in ocsp_openssl_test.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ocsp.h"

static void
test_index_good_lines(void **state)
{
	static const char text[] =
	        "V\t270220012037Z\t\t0A\tunknown\t/CN=a\n"
	        "R\t270220012037Z\t240101000000Z,keyCompromise\t00FF\tunknown\t/CN=b\r\n"
	        "\n"
	        "R\t270220012037Z\t20240101000000Z\t10\tunknown\t/CN=c\n"
	        "E\t200220012037Z\t\tabc\tunknown\t/CN=d";
	struct ocsp_index idx;
	struct err e = { 0 };
	const struct ocsp_index_entry *ent;

	(void)state;
	assert_int_equal(ocsp_index_parse("t.txt", text, sizeof text - 1, &idx, &e), 0);
	assert_int_equal(idx.n, 4);
	assert_non_null(ent = ocsp_index_find(&idx, "A"));
	assert_int_equal(ent->type, 'V');
	assert_non_null(ent = ocsp_index_find(&idx, "FF"));
	assert_int_equal(ent->type, 'R');
	assert_int_equal(ent->reason, 1);
	assert_int_equal(ent->revtime, 1704067200);
	assert_non_null(ent = ocsp_index_find(&idx, "10"));
	assert_int_equal(ent->reason, OCSP_REASON_NONE);
	assert_int_equal(ent->revtime, 1704067200);
	assert_non_null(ent = ocsp_index_find(&idx, "ABC"));
	assert_int_equal(ent->type, 'E');
	assert_null(ocsp_index_find(&idx, "B"));
	ocsp_index_free(&idx);
}

static void
test_index_bad_lines(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "V\t270220012037Z\t\t0A\tunknown\t/CN=a\nX\t270220012037Z\t\t0B\tunknown\t/"
		  "CN=b\n",
		  "t.txt:2: bad type \"X\"" },
		{ "V\t270220012037Z\t\t0A\tunknown\n",
		  "t.txt:1: want 6 tab-separated fields, found 5" },
		{ "V 270220012037Z  0A unknown /CN=a\n",
		  "t.txt:1: want 6 tab-separated fields, found 1" },
		{ "\n\nV\t2702Z\t\t0A\tunknown\t/CN=a\n", "t.txt:3: bad expiry time" },
		{ "R\t270220012037Z\t\t0A\tunknown\t/CN=a\n",
		  "t.txt:1: R line without a revocation time" },
		{ "R\t270220012037Z\t240101000000Z,sloppy\t0A\tunknown\t/CN=a\n",
		  "t.txt:1: unknown revocation reason \"sloppy\"" },
		{ "R\t270220012037Z\t2401Z\t0A\tunknown\t/CN=a\n", "t.txt:1: bad revocation time" },
		{ "V\t270220012037Z\t240101000000Z\t0A\tunknown\t/CN=a\n",
		  "t.txt:1: V line with a revocation field" },
		{ "V\t270220012037Z\t\t0G\tunknown\t/CN=a\n", "t.txt:1: bad serial \"0G\"" },
		{ "V\t270220012037Z\t\t0A\tunknown\t/CN=a\nV\t270220012037Z\t\t000A\tunknown\t/"
		  "CN=b\n",
		  "t.txt:2: serial A listed twice" },
	};
	struct ocsp_index idx;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err_clear(&e);
		assert_int_equal(
		        ocsp_index_parse("t.txt", cases[i].text, strlen(cases[i].text), &idx, &e),
		        -1);
		if (strncmp(e.text, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, e.text, cases[i].want);
		assert_int_equal(idx.n, 0);
	}
	err_clear(&e);
	assert_int_equal(ocsp_index_load("/nonexistent/index.txt", &idx, &e), -1);
	assert_non_null(strstr(e.text, "/nonexistent/index.txt: "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_good_lines),
		cmocka_unit_test(test_index_bad_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
