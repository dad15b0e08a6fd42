/*
 * ocsp_fault_test.c - fakeocsp/ocsp_fault.c: fault rules (global and per
 * serial) and what they resolve to, relative and absolute times, serial
 * normalisation.  How a fault changes a response: ocsp_openssl_test.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ocsp.h"

static void
test_fault_rules(void **state)
{
	struct ocsp_faults fs = { 0 };
	struct ocsp_fault f;
	struct ocsp_when w;
	struct err e = { 0 };
	char out[OCSP_SERIAL_MAX];

	(void)state;
	assert_int_equal(ocsp_faults_add(&fs, NULL, "nonsense", &e), -1);
	assert_string_equal(e.text, "unknown fault \"nonsense\" (see --help)");
	assert_int_equal(ocsp_faults_add(&fs, NULL, "delay", &e), -1);
	assert_int_equal(ocsp_faults_add(&fs, NULL, "expired=1", &e), -1);
	assert_int_equal(ocsp_faults_add(&fs, NULL, "status=maybe", &e), -1);
	assert_int_equal(ocsp_faults_add(&fs, NULL, "signer=onlyone.pem", &e), -1);
	assert_int_equal(ocsp_faults_add(&fs, NULL, "expired-signer=onlyone.pem", &e), -1);
	assert_int_equal(ocsp_faults_add_serial(&fs, "zz:expired", &e), -1);
	assert_int_equal(ocsp_faults_add(&fs, NULL, "tryLater", &e), 0);
	assert_int_equal(ocsp_faults_add_serial(&fs, "00ab:status=revoked", &e), 0);
	assert_int_equal(ocsp_faults_add_serial(&fs, "AB:delay=250ms", &e), 0);
	ocsp_faults_resolve(&fs, "CD", &f);
	assert_int_equal(f.resp_status, OCSP_RESP_TRY_LATER);
	assert_int_equal(f.force_status, -1);
	assert_string_equal(f.names, "tryLater");
	ocsp_faults_resolve(&fs, "AB", &f);
	assert_int_equal(f.force_status, OCSP_CERT_REVOKED);
	assert_int_equal(f.delay_ms, 250);
	assert_string_equal(f.names, "tryLater,status=revoked,delay=250ms");
	ocsp_faults_free(&fs);
	ocsp_faults_resolve(&fs, "AB", &f);
	assert_string_equal(f.names, "none");

	assert_int_equal(ocsp_when_parse("-1h", &w, &e), 0);
	assert_int_equal(ocsp_when_resolve(&w, 1000000, 0), 1000000 - 3600);
	assert_int_equal(ocsp_when_parse("+7d", &w, &e), 0);
	assert_int_equal(ocsp_when_resolve(&w, 0, 0), 7 * 86400);
	assert_int_equal(ocsp_when_parse("2026-01-01T00:00:00Z", &w, &e), 0);
	assert_int_equal(ocsp_when_resolve(&w, 5, 0), 1767225600);
	assert_int_equal(ocsp_when_parse("7y", &w, &e), -1);
	assert_int_equal(ocsp_when_parse("2026-13-01T00:00:00Z", &w, &e), -1);
	assert_int_equal(ocsp_when_parse("", &w, &e), -1);

	assert_int_equal(ocsp_serial_normalise("000a1b", out, sizeof out), 0);
	assert_string_equal(out, "A1B");
	assert_int_equal(ocsp_serial_normalise("00", out, sizeof out), 0);
	assert_string_equal(out, "0");
	assert_int_equal(ocsp_serial_normalise("-1", out, sizeof out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
