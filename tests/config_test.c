/*
 * config_test.c - the configuration loader (server/config.c): good files
 * read into the values docs/config.md promises.  Every kind of mistake,
 * reported as the exact "FILE:LINE: message": config_errors_test.c.
 *
 * The tests work in one temporary directory holding stand-in certificate,
 * key, staple and CA files (the loader only checks they are readable).
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
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "config.h"
#include "config_testlib.h"

/* --- good configurations ------------------------------------------------------------ */

static void
test_defaults(void **state)
{
	struct config *cfg = load_ok("# nothing but a comment\n\n");
	char host[256] = "";

	(void)state;
	gethostname(host, sizeof host - 1);
	assert_string_equal(cfg->file, conf);
	assert_string_equal(cfg->dir, dir);
	assert_string_equal(cfg->primary_hostname, host[0] ? host : "localhost");
	assert_string_equal(cfg->listen, "127.0.0.1:2525");
	assert_string_equal(cfg->spool_directory, in_dir("spool"));
	assert_string_equal(cfg->log_file, in_dir("log/main.log"));
	assert_null(cfg->user);
	assert_int_equal(cfg->worker_processes, 4);
	assert_string_equal(cfg->tls_backend, "openssl");
	assert_int_equal(cfg->tls_certificate.n, 0);
	assert_int_equal(cfg->tls_privatekey.n, 0);
	assert_string_equal(cfg->tls_advertise_hosts, "");
	assert_string_equal(cfg->tls_required_hosts, "");
	assert_string_equal(cfg->proxy_required_hosts, "");
	assert_int_equal(cfg->proxy_protocol_timeout, 3); /* the seed's 3 seconds */
	assert_int_equal(cfg->log_selectors, CONFIG_LOG_INCOMING_PORT);
	assert_null(cfg->tls_require_ciphers);
	assert_null(cfg->tls_verify_certificates);
	assert_int_equal(cfg->tls_ocsp_file.n, 0);
	assert_int_equal(cfg->smtp_accept_max, 100);
	assert_int_equal(cfg->smtp_accept_max_per_host, 20);
	assert_int_equal(cfg->smtp_receive_timeout, 300);
	assert_int_equal(cfg->smtp_max_unknown_commands, 3);
	assert_int_equal(cfg->smtp_max_synprot_errors, 3);
	assert_int_equal(cfg->recipients_max, 100);
	assert_int_equal(cfg->message_size_limit, 50 * 1024 * 1024);
	assert_int_equal(cfg->local_domains.n, 0);
	assert_string_equal(cfg->mailbox_directory, in_dir("mail"));
	assert_string_equal(cfg->mailbox_format, "maildir");
	assert_int_equal(cfg->test_clock_set, 0);
	assert_int_equal(cfg->test_ids, 0);
	assert_null(cfg->acl_smtp_connect);
	assert_null(cfg->acl_smtp_helo);
	assert_null(cfg->acl_smtp_mail);
	assert_null(cfg->acl_smtp_rcpt);
	assert_null(cfg->acl_smtp_data);
	assert_null(cfg->acl_smtp_data_prdr);
	assert_int_equal(cfg->prdr_enable, 0);
	assert_int_equal(cfg->nblocks, 0);
	config_free(cfg);
}

/* DESIGN.md's example, minus the options and conditions not built yet. */
static const char design_example[] = "primary_hostname   = mx.example.test\n"
                                     "listen             = 127.0.0.1:2525\n"
                                     "spool_directory    = spool\n"
                                     "log_file           = log/main.log\n"
                                     "tls_backend        = openssl\n"
                                     "tls_certificate    = certs/mx.pem\n"
                                     "tls_privatekey     = certs/mx.key\n"
                                     "tls_ocsp_file      = certs/mx.ocsp.der\n"
                                     "prdr_enable        = true\n"
                                     "\n"
                                     "acl_smtp_rcpt:\n"
                                     "  accept  domains = example.test\n"
                                     "  deny    message = relay not permitted\n"
                                     "\n"
                                     "acl_smtp_data:\n"
                                     "  deny    condition = $spf_result == fail\n"
                                     "          message = SPF failed: $spf_smtp_comment\n"
                                     "  accept\n"
                                     "\n"
                                     "transport remote_smtp:\n"
                                     "  driver             = smtp\n"
                                     "  hosts_try_dane     = *\n"
                                     "  hosts_require_ocsp = mx.partner.test\n"
                                     "  hosts_try_prdr     = *\n"
                                     "  tls_verify_cert_hostnames = *\n";

static void
test_design_example(void **state)
{
	struct config *cfg = load_ok(design_example);
	const struct acl *rcpt, *data;
	const struct config_block *t;

	(void)state;
	assert_string_equal(cfg->primary_hostname, "mx.example.test");
	assert_string_equal(cfg->spool_directory, in_dir("spool"));
	assert_int_equal(cfg->tls_certificate.n, 1);
	assert_string_equal(cfg->tls_certificate.v[0], in_dir("certs/mx.pem"));
	assert_string_equal(cfg->tls_privatekey.v[0], in_dir("certs/mx.key"));
	assert_string_equal(cfg->tls_advertise_hosts, "*"); /* a certificate is set */
	assert_int_equal(cfg->prdr_enable, 1);

	rcpt = cfg->acl_smtp_rcpt;
	assert_non_null(rcpt);
	assert_string_equal(rcpt->name, "acl_smtp_rcpt");
	assert_int_equal(rcpt->nstmts, 2);
	assert_int_equal(rcpt->stmts[0].verb, ACL_VERB_ACCEPT);
	assert_int_equal(rcpt->stmts[0].line, 12);
	assert_string_equal(rcpt->stmts[0].items[0].name, "domains");
	assert_string_equal(rcpt->stmts[0].items[0].value, "example.test");
	assert_int_equal(rcpt->stmts[1].verb, ACL_VERB_DENY);
	assert_string_equal(rcpt->stmts[1].items[0].value, "relay not permitted");

	data = cfg->acl_smtp_data;
	assert_non_null(data);
	assert_int_equal(data->nstmts, 2);
	assert_int_equal(data->stmts[0].nitems, 2);
	assert_string_equal(data->stmts[0].items[1].value, "SPF failed: $spf_smtp_comment");
	assert_int_equal(data->stmts[0].items[1].line, 17);
	assert_int_equal(data->stmts[1].nitems, 0);

	assert_int_equal(cfg->nblocks, 1);
	t = &cfg->blocks[0];
	assert_string_equal(t->kind, "transport");
	assert_string_equal(t->name, "remote_smtp");
	assert_int_equal(t->line, 20);
	assert_int_equal(t->nopts, 5);
	assert_string_equal(t->opts[0].key, "driver");
	assert_string_equal(t->opts[0].value, "smtp");
	assert_string_equal(t->opts[2].key, "hosts_require_ocsp");
	assert_string_equal(t->opts[2].value, "mx.partner.test");
	assert_int_equal(t->opts[4].line, 25);
	config_free(cfg);
}

static void
test_every_option(void **state)
{
	struct config *cfg = load_ok("primary_hostname=mx.example.test\n"
	                             "listen = [::1]:2525\n"
	                             "spool_directory = /var/spool/refmta\n"
	                             "log_file = -\n"
	                             "user = mail\n"
	                             "worker_processes = 8\n"
	                             "tls_backend = gnutls\n"
	                             "tls_certificate = certs/mx.pem : certs/ec.pem\n"
	                             "tls_privatekey = certs/mx.key : certs/ec.key\n"
	                             "tls_advertise_hosts = !192.0.2.1 : 192.0.2.0/24 : ::::1\n"
	                             "tls_required_hosts = 198.51.100.0/24\n"
	                             "tls_require_ciphers = HIGH:!aNULL\n"
	                             "tls_verify_certificates = certs/ca.pem\n"
	                             "smtp_accept_max = 10\n"
	                             "smtp_accept_max_per_host = 2\n"
	                             "smtp_receive_timeout = 5m\n"
	                             "smtp_max_unknown_commands = 0\n"
	                             "smtp_max_synprot_errors = 1\n"
	                             "recipients_max = 1\n"
	                             "message_size_limit = 10K\n"
	                             "local_domains = example.test : Example.ORG\n"
	                             "mailbox_directory = boxes\n"
	                             "mailbox_format = mbox\n"
	                             "test_clock = 2026-01-01T00:00:00Z\n"
	                             "test_ids = yes\n");

	(void)state;
	assert_string_equal(cfg->listen, "[::1]:2525");
	assert_string_equal(cfg->spool_directory, "/var/spool/refmta");
	assert_string_equal(cfg->log_file, "-");
	assert_string_equal(cfg->user, "mail");
	assert_int_equal(cfg->worker_processes, 8);
	assert_string_equal(cfg->tls_backend, "gnutls");
	assert_int_equal(cfg->tls_certificate.n, 2);
	assert_string_equal(cfg->tls_certificate.v[1], in_dir("certs/ec.pem"));
	assert_string_equal(cfg->tls_privatekey.v[1], in_dir("certs/ec.key"));
	assert_string_equal(cfg->tls_advertise_hosts, "!192.0.2.1 : 192.0.2.0/24 : ::::1");
	assert_string_equal(cfg->tls_required_hosts, "198.51.100.0/24");
	assert_string_equal(cfg->tls_require_ciphers, "HIGH:!aNULL");
	assert_string_equal(cfg->tls_verify_certificates, in_dir("certs/ca.pem"));
	assert_int_equal(cfg->smtp_accept_max, 10);
	assert_int_equal(cfg->smtp_accept_max_per_host, 2);
	assert_int_equal(cfg->smtp_receive_timeout, 300);
	assert_int_equal(cfg->smtp_max_unknown_commands, 0);
	assert_int_equal(cfg->smtp_max_synprot_errors, 1);
	assert_int_equal(cfg->recipients_max, 1);
	assert_int_equal(cfg->message_size_limit, 10240);
	assert_int_equal(cfg->local_domains.n, 2);
	assert_string_equal(cfg->local_domains.v[1], "Example.ORG");
	assert_string_equal(cfg->mailbox_directory, in_dir("boxes"));
	assert_string_equal(cfg->mailbox_format, "mbox");
	assert_int_equal(cfg->test_clock_set, 1);
	assert_int_equal(cfg->test_clock, 1767225600);
	assert_int_equal(cfg->test_ids, 1);
	config_free(cfg);
}

/* Values of one option, one row each: what the text reads as. */
struct value_row {
	const char *line;
	size_t off;
	int width; /* 4 = unsigned, 8 = uint64_t, 1 = int */
	uint64_t want;
};

#define U(f) offsetof(struct config, f), 4
#define S64(f) offsetof(struct config, f), 8
#define I(f) offsetof(struct config, f), 1

static const struct value_row value_rows[] = {
	{ "smtp_receive_timeout = 300", U(smtp_receive_timeout), 300 },
	{ "smtp_receive_timeout = 30s", U(smtp_receive_timeout), 30 },
	{ "smtp_receive_timeout = 5m", U(smtp_receive_timeout), 300 },
	{ "smtp_receive_timeout = 1h", U(smtp_receive_timeout), 3600 },
	{ "message_size_limit = 123", S64(message_size_limit), 123 },
	{ "message_size_limit = 10k", S64(message_size_limit), 10240 },
	{ "message_size_limit = 50M", S64(message_size_limit), 52428800 },
	{ "message_size_limit = 2G", S64(message_size_limit), 2147483648u },
	{ "worker_processes = 4294967295", U(worker_processes), 4294967295u },
	{ "test_ids = true", I(test_ids), 1 },
	{ "test_ids = yes", I(test_ids), 1 },
	{ "test_ids = 1", I(test_ids), 1 },
	{ "test_ids = false", I(test_ids), 0 },
	{ "test_ids = no", I(test_ids), 0 },
	{ "test_ids = 0", I(test_ids), 0 },
	{ "test_clock = 86400", S64(test_clock), 86400 },
	{ "test_clock = 2024-02-29T12:00:00Z", S64(test_clock), 1709208000 },
};

static void
test_value_row(void **state)
{
	const struct value_row *r = *state;
	char text[200];
	struct config *cfg;
	const char *field;
	uint64_t got;

	snprintf(text, sizeof text, "%s\n", r->line);
	cfg = load_ok(text);
	field = (const char *)cfg + r->off;
	if (r->width == 4)
		got = *(const unsigned *)field;
	else if (r->width == 8)
		got = *(const uint64_t *)field;
	else
		got = (uint64_t) * (const int *)field;
	config_free(cfg);
	if (got != r->want)
		fail_msg("\"%s\": want %llu, got %llu", r->line, (unsigned long long)r->want,
		         (unsigned long long)got);
}

static void
test_comments(void **state)
{
	struct config *cfg = load_ok("# a comment\n"
	                             "   # an indented comment, outside any block\n"
	                             "primary_hostname = a#b # but this is a comment\n"
	                             "tls_require_ciphers = HIGH#x\t# tab before #\n"
	                             "\n"
	                             "acl_smtp_rcpt:\n"
	                             "  # a comment inside a block\n"
	                             "\n"
	                             "  deny message = no #1 here\n");

	(void)state;
	assert_string_equal(cfg->primary_hostname, "a#b");
	assert_string_equal(cfg->tls_require_ciphers, "HIGH#x");
	assert_int_equal(cfg->acl_smtp_rcpt->nstmts, 1);
	assert_string_equal(cfg->acl_smtp_rcpt->stmts[0].items[0].value, "no");
	assert_int_equal(cfg->acl_smtp_rcpt->stmts[0].line, 9);
	config_free(cfg);
}

static void
test_continuation(void **state)
{
	struct config *cfg = load_ok("local_domains = a.test : \\\n"
	                             "      b.test : \\\n"
	                             "\tc.test\n"
	                             "acl_smtp_rcpt:\n"
	                             "  deny message = one\\\n"
	                             "       two\n"
	                             "  deny message = three \\\n"
	                             "       four\n"
	                             "primary_hostname = mx\n");

	(void)state;
	assert_int_equal(cfg->local_domains.n, 3);
	assert_string_equal(cfg->local_domains.v[2], "c.test");
	assert_string_equal(cfg->acl_smtp_rcpt->stmts[0].items[0].value, "one two");
	/* a blank before the "\\" is the one space (Exim's text, not two) */
	assert_string_equal(cfg->acl_smtp_rcpt->stmts[1].items[0].value, "three four");
	assert_string_equal(cfg->primary_hostname, "mx");
	config_free(cfg);
}

static void
test_all_acls_and_blocks(void **state)
{
	struct config *cfg = load_ok("acl_smtp_connect:\n"
	                             "\taccept hosts = 127.0.0.0/8\n"
	                             "\tdeny\n"
	                             "acl_smtp_helo:\n"
	                             "  accept\n"
	                             "acl_smtp_mail:\n"
	                             "  warn\n"
	                             "      senders = <>\n"
	                             "      add_header = X-Bounce: yes\n"
	                             "  accept\n"
	                             "acl_smtp_rcpt:\n"
	                             "acl_smtp_data:\n"
	                             "  accept  encrypted = yes\n"
	                             "         !condition = $h_subject =~ ^spam\n"
	                             "router dnslookup:\n"
	                             "  driver = dnslookup\n"
	                             "transport dnslookup:\n"
	                             "  driver = smtp\n"
	                             "router local:\n"
	                             "  driver = accept\n"
	                             "  transport = local_delivery\n");

	(void)state;
	assert_int_equal(cfg->acl_smtp_connect->nstmts, 2);
	assert_int_equal(cfg->acl_smtp_helo->nstmts, 1);
	assert_int_equal(cfg->acl_smtp_mail->stmts[0].verb, ACL_VERB_WARN);
	assert_int_equal(cfg->acl_smtp_mail->stmts[0].nitems, 2);
	assert_non_null(cfg->acl_smtp_rcpt); /* present and empty: denies everything */
	assert_int_equal(cfg->acl_smtp_rcpt->nstmts, 0);
	assert_int_equal(cfg->acl_smtp_data->stmts[0].items[1].negated, 1);
	assert_int_equal(cfg->nblocks, 3);
	assert_string_equal(cfg->blocks[1].kind, "transport");
	assert_string_equal(cfg->blocks[2].opts[1].value, "local_delivery");
	config_free(cfg);
}

/* The seed's acl_data_smtp_prdr and Exim's acl_smtp_data_prdr are one ACL. */
static void
test_prdr_acl_names(void **state)
{
	static const char *const names[] = { "acl_data_smtp_prdr", "acl_smtp_data_prdr" };
	char text[200];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct config *cfg;

		snprintf(text, sizeof text,
		         "prdr_enable = yes\n%s:\n  deny local_parts = x\n  accept\n", names[i]);
		cfg = load_ok(text);
		assert_int_equal(cfg->prdr_enable, 1);
		assert_non_null(cfg->acl_smtp_data_prdr);
		assert_string_equal(cfg->acl_smtp_data_prdr->name, names[i]);
		assert_int_equal(cfg->acl_smtp_data_prdr->nstmts, 2);
		config_free(cfg);
	}
}

/* Macros, named lists and named ACLs (config_names.c, docs/expand.md). */
static void
test_names_and_macros(void **state)
{
	struct config *cfg = load_ok("NET = 10.0.0.0/8\n"
	                             "NET6 = <; ::1\n"
	                             "hostlist relay = NET : 127.0.0.1\n"
	                             "hostlist relay6 = NET6\n"
	                             "domainlist local = <\\n ${lookup redis{SMEMBERS d}}\n"
	                             "acl check:\n"
	                             "  accept condition = ${if eq{$acl_arg1}{NET}}\n"
	                             "acl_smtp_rcpt:\n"
	                             "  warn set acl_m_x = ${acl{check}{y}}\n"
	                             "  accept hosts = +relay\n");

	(void)state;
	assert_string_equal(config_named_list(cfg, "hostlist", "relay"), "10.0.0.0/8 : 127.0.0.1");
	assert_string_equal(config_named_list(cfg, "hostlist", "relay6"), "<; ::1");
	assert_string_equal(config_named_list(cfg, "domainlist", "local"),
	                    "<\\n ${lookup redis{SMEMBERS d}}");
	assert_null(config_named_list(cfg, "domainlist", "relay")); /* another kind */
	assert_non_null(config_acl_find(cfg, "check"));
	assert_string_equal(config_acl_find(cfg, "check")->stmts[0].items[0].value,
	                    "${if eq{$acl_arg1}{10.0.0.0/8}}"); /* macros in ACL lines too */
	assert_string_equal(cfg->acl_smtp_rcpt->stmts[0].items[0].var, "acl_m_x");
	config_free(cfg);
}

static void
test_relative_config_path(void **state)
{
	char cwd[PATH_MAX];
	struct config *cfg = NULL;
	struct err e = { 0 };

	(void)state;
	write_conf("tls_certificate = certs/mx.pem\ntls_privatekey = /dev/null\n");
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	int rc = config_load("./t.conf", &cfg, &e);
	assert_int_equal(chdir(cwd), 0);
	if (rc != 0)
		fail_msg("%s", e.text);
	assert_string_equal(cfg->file, "./t.conf");
	assert_string_equal(cfg->dir, dir);
	assert_string_equal(cfg->tls_certificate.v[0], in_dir("certs/mx.pem"));
	assert_string_equal(cfg->tls_privatekey.v[0], "/dev/null");
	config_free(cfg);
	config_free(NULL);
}

#define NVALUES (sizeof value_rows / sizeof value_rows[0])

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_all_acls_and_blocks),
		cmocka_unit_test(test_prdr_acl_names),
		cmocka_unit_test(test_relative_config_path),
		cmocka_unit_test(test_names_and_macros),
	};
	struct CMUnitTest tests[sizeof fixed / sizeof fixed[0] + NVALUES];
	char names[NVALUES][160];
	size_t n = 0, k = 0;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < NVALUES; i++, k++) {
		snprintf(names[k], sizeof names[k], "value: %s", value_rows[i].line);
		tests[n++] = (struct CMUnitTest){ .name = names[k],
			                          .test_func = test_value_row,
			                          .initial_state = (void *)&value_rows[i] };
	}
	return _cmocka_run_group_tests("config", tests, n, setup_dir, teardown_dir);
}
