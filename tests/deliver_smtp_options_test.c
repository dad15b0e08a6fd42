/*
 * deliver_smtp_options_test.c - server/deliver_smtp_options.c: the
 * "transport NAME:" block with driver = smtp, its errors as FILE:LINE and
 * its defaults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "deliver_smtp_testlib.h"

static void
test_parse(void **state)
{
	static const struct {
		const char *body;
		const char *err; /* after "FILE:" */
	} cases[] = {
		{ "  colour = blue\n", "3: transport t: unknown option \"colour\"" },
		{ "  connect_timeout = 5x\n",
		  "3: transport t: connect_timeout: bad time \"5x\" (use 300, 30s, 5m or 1h)" },
		{ "  port = 70000\n",
		  "3: transport t: port: bad number \"70000\" (use 1 to 65535)" },
		{ "  max_rcpt = 0\n",
		  "3: transport t: max_rcpt: bad number \"0\" (use a number of at least 1)" },
		{ "  tls_verify_hosts = mx.partner.test\n",
		  "3: transport t: tls_verify_hosts: bad host list item \"mx.partner.test\" (use "
		  "*, an IP "
		  "address or a CIDR; double each colon of an IPv6 address)" },
		{ "  port = 2526\n  tls_verify_certificates = /nonexistent/ca.pem\n",
		  "4: transport t: tls_verify_certificates: cannot read \"/nonexistent/ca.pem\": "
		  "No such file or directory" },
		{ "  tls_tempfail_tryclear = maybe\n", "3: transport t: tls_tempfail_tryclear: bad "
		                                       "boolean \"maybe\" (use true or false)" },
		{ "  driver = queuefile\n", "2: transport t: driver is \"queuefile\", not smtp" },
	};
	char conf[600], text[1200], want[1400];
	struct smtp_transport t;
	struct config *cfg;
	struct err e;

	(void)state;
	snprintf(conf, sizeof conf, "%s/t.conf", tmp_dir);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		FILE *f = fopen(conf, "w");
		assert_non_null(f);
		snprintf(text, sizeof text, "transport t:\n%s%s",
		         strstr(cases[i].body, "driver") ? "" : "  driver = smtp\n", cases[i].body);
		fputs(text, f);
		fclose(f);
		memset(&e, 0, sizeof e);
		cfg = NULL;
		if (config_load(conf, &cfg, &e) != 0)
			fail_msg("config_load: %s", e.text);
		assert_int_equal(cfg->nblocks, 1);
		assert_int_equal(smtp_transport_parse(cfg, &cfg->blocks[0], &t, &e), -1);
		snprintf(want, sizeof want, "%s:%s", cfg->file, cases[i].err);
		assert_string_equal(e.text, want);
		config_free(cfg);
	}

	/* A good block: defaults, and a relative file against the config's directory. */
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f,
	        "primary_hostname = mx.client.test\ntransport t:\n  driver = smtp\n  port = 2526\n"
	        "  command_timeout = 5m\n  tls_verify_certificates = data\n  hosts_require_tls = "
	        "127.0.0.0/8\n"
	        "  tls_sni = $host\n");
	fclose(f);
	assert_int_equal(config_load(conf, &cfg, &e), 0);
	assert_int_equal(smtp_transport_parse(cfg, &cfg->blocks[0], &t, &e), 0);
	assert_string_equal(t.name, "t");
	assert_int_equal(t.port, 2526);
	assert_int_equal(t.command_timeout, 300);
	assert_int_equal(t.connect_timeout, 30);
	assert_int_equal(t.data_timeout, 300);
	assert_int_equal(t.max_rcpt, 100);
	assert_string_equal(t.helo_data, "mx.client.test");
	assert_string_equal(t.tls_verify_certificates, data_path);
	assert_string_equal(t.hosts_require_tls, "127.0.0.0/8");
	assert_string_equal(t.tls_try_verify_hosts, "*");
	assert_string_equal(t.tls_verify_cert_hostnames, "*");
	assert_string_equal(t.tls_verify_hosts, "");
	assert_string_equal(t.tls_sni, "$host");
	assert_int_equal(t.tls_tempfail_tryclear, 1);
	smtp_transport_free(&t);
	config_free(cfg);
	unlink(conf);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
	};

	return dst_run_group("deliver_smtp_options", tests, sizeof tests / sizeof tests[0]);
}
