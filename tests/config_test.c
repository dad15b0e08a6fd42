/*
 * config_test.c - the configuration loader (server/config.c): good files
 * read into the values docs/config.md promises, and every kind of mistake
 * reported as the exact "FILE:LINE: message".
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

static char dir[PATH_MAX];  /* the temporary directory, resolved */
static char conf[PATH_MAX]; /* DIR/t.conf */

static const char *const fixtures[] = { "certs/mx.pem", "certs/mx.key",      "certs/ec.pem",
	                                "certs/ec.key", "certs/mx.ocsp.der", "certs/ca.pem" };

static int
setup_dir(void **state)
{
	char tmpl[] = "/tmp/config_test.XXXXXX", path[PATH_MAX + 32];

	(void)state;
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, dir) == NULL)
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

static int
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

static void
write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Load `text`; fail the test with the error if it does not load. */
static struct config *
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
static const char *
in_dir(const char *rel)
{
	static char buf[PATH_MAX + 64];

	snprintf(buf, sizeof buf, "%s/%s", dir, rel);
	return buf;
}

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

/* --- errors --------------------------------------------------------------------------- */

/* "@F@" stands for the config file's path, "@D@" for its directory. */
struct bad_row {
	const char *why, *text, *error;
};

static const struct bad_row bad_rows[] = {
	{ "unknown option, with a suggestion", "\n\ntls_sertificate = x\n",
	  "@F@:3: unknown option \"tls_sertificate\" (did you mean \"tls_certificate\"?)" },
	{ "unknown option", "frobnicate = 1\n", "@F@:1: unknown option \"frobnicate\"" },
	{ "the seed's older name of event_action", "tpda_event_action = x\n",
	  "@F@:1: unknown option \"tpda_event_action\" (renamed: did you mean \"event_action\"?)" },
	{ "the older transport-era name", "delivery_event_action = x\n",
	  "@F@:1: unknown option \"delivery_event_action\" (renamed: did you mean "
	  "\"event_action\"?)" },
	{ "event_action that does not parse", "event_action = ${if eq{a}\n",
	  "@F@:1: event_action: bad expansion \"${if eq{a}\" (see docs/expand.md)" },
	{ "bad prdr_enable", "prdr_enable = maybe\n",
	  "@F@:1: prdr_enable: bad boolean \"maybe\" (use true, false, yes, no, 1 or 0)" },
	{ "PRDR ACL under both names",
	  "acl_smtp_data_prdr:\n  accept\nacl_data_smtp_prdr:\n  deny\n",
	  "@F@:3: duplicate block \"acl_data_smtp_prdr:\" (first on line 1 as "
	  "\"acl_smtp_data_prdr:\")" },
	{ "duplicate option", "listen = 127.0.0.1:25\n# x\nlisten = 127.0.0.1:26\n",
	  "@F@:3: duplicate option \"listen\" (first set on line 1)" },
	{ "missing option name", "= x\n", "@F@:1: missing option name before \"=\"" },
	{ "empty string value", "primary_hostname =\n", "@F@:1: primary_hostname: needs a value" },
	{ "bad time", "smtp_receive_timeout = 5x\n",
	  "@F@:1: smtp_receive_timeout: bad time \"5x\" (use 300, 30s, 5m or 1h)" },
	{ "time with no number", "smtp_receive_timeout = m\n",
	  "@F@:1: smtp_receive_timeout: bad time \"m\" (use 300, 30s, 5m or 1h)" },
	{ "time of zero", "smtp_receive_timeout = 0s\n",
	  "@F@:1: smtp_receive_timeout: must be at least 1, got \"0s\"" },
	{ "time too large", "smtp_receive_timeout = 9999999h\n",
	  "@F@:1: smtp_receive_timeout: bad time \"9999999h\" (use 300, 30s, 5m or 1h)" },
	{ "bad size", "message_size_limit = 50X\n",
	  "@F@:1: message_size_limit: bad size \"50X\" (use bytes, or a number with K, M or G)" },
	{ "size overflow", "message_size_limit = 99999999999999G\n",
	  "@F@:1: message_size_limit: bad size \"99999999999999G\" (use bytes, or a number with K, "
	  "M "
	  "or G)" },
	{ "size with a space", "message_size_limit = 50 M\n",
	  "@F@:1: message_size_limit: bad size \"50 M\" (use bytes, or a number with K, M or G)" },
	{ "bad number", "worker_processes = 4x\n",
	  "@F@:1: worker_processes: bad number \"4x\" (use a decimal number)" },
	{ "negative number", "recipients_max = -1\n",
	  "@F@:1: recipients_max: bad number \"-1\" (use a decimal number)" },
	{ "number too large", "smtp_accept_max = 4294967296\n",
	  "@F@:1: smtp_accept_max: bad number \"4294967296\" (use a decimal number)" },
	{ "zero workers", "worker_processes = 0\n",
	  "@F@:1: worker_processes: must be at least 1, got \"0\"" },
	{ "bad boolean", "test_ids = maybe\n",
	  "@F@:1: test_ids: bad boolean \"maybe\" (use true, false, yes, no, 1 or 0)" },
	{ "unknown tls_backend", "tls_backend = wolfssl\n",
	  "@F@:1: tls_backend: unknown backend \"wolfssl\" (use openssl or gnutls)" },
	{ "bad mailbox_format", "mailbox_format = mh\n",
	  "@F@:1: mailbox_format: unknown format \"mh\" (use maildir or mbox)" },
	{ "listen without a port", "listen = 127.0.0.1\n",
	  "@F@:1: listen: bad address \"127.0.0.1\" (use ADDR:PORT or [IPv6]:PORT, port 1-65535)" },
	{ "listen on port 0", "listen = 127.0.0.1:0\n",
	  "@F@:1: listen: bad address \"127.0.0.1:0\" (use ADDR:PORT or [IPv6]:PORT, port "
	  "1-65535)" },
	{ "listen on port 65536", "listen = 127.0.0.1:65536\n",
	  "@F@:1: listen: bad address \"127.0.0.1:65536\" (use ADDR:PORT or [IPv6]:PORT, port "
	  "1-65535)" },
	{ "listen on a host name", "listen = localhost:25\n",
	  "@F@:1: listen: bad address \"localhost:25\" (use ADDR:PORT or [IPv6]:PORT, port "
	  "1-65535)" },
	{ "listen on IPv6 without brackets", "listen = ::1:25\n",
	  "@F@:1: listen: bad address \"::1:25\" (use ADDR:PORT or [IPv6]:PORT, port 1-65535)" },
	{ "listen on IPv4 in brackets", "listen = [127.0.0.1]:25\n",
	  "@F@:1: listen: bad address \"[127.0.0.1]:25\" (use ADDR:PORT or [IPv6]:PORT, port "
	  "1-65535)" },
	{ "missing certificate", "tls_certificate = certs/none.pem\n",
	  "@F@:1: tls_certificate: cannot read \"@D@/certs/none.pem\": No such file or directory" },
	{ "missing second key",
	  "tls_certificate = certs/mx.pem : certs/ec.pem\n"
	  "tls_privatekey = certs/mx.key : certs/ec.kye\n",
	  "@F@:2: tls_privatekey: cannot read \"@D@/certs/ec.kye\": No such file or directory" },
	/* The seed: at most one response per certificate, in the same order. */
	{ "more staples than certificates", "tls_ocsp_file = certs/a.der : certs/b.der\n",
	  "@F@:1: tls_ocsp_file has 2 item(s) but tls_certificate has 0: at most one response "
	  "per certificate, in the same order" },
	{ "missing CA file", "tls_verify_certificates = certs/none.pem\n",
	  "@F@:1: tls_verify_certificates: cannot read \"@D@/certs/none.pem\": No such file or "
	  "directory" },
	{ "more certificates than keys",
	  "tls_certificate = certs/mx.pem : certs/ec.pem\n"
	  "tls_privatekey = certs/mx.key\n",
	  "@F@:2: tls_certificate has 2 item(s) but tls_privatekey has 1: give one key per "
	  "certificate, in the same order" },
	{ "a key without a certificate", "\ntls_privatekey = certs/mx.key\n",
	  "@F@:2: tls_certificate has 0 item(s) but tls_privatekey has 1: give one key per "
	  "certificate, in the same order" },
	{ "a certificate without a key", "tls_certificate = certs/mx.pem\n",
	  "@F@:1: tls_certificate has 1 item(s) but tls_privatekey has 0: give one key per "
	  "certificate, in the same order" },
	{ "host name in a host list", "tls_advertise_hosts = 127.0.0.1 : mx.example.test\n",
	  "@F@:1: tls_advertise_hosts: bad host list item \"mx.example.test\" (use *, an IP "
	  "address "
	  "or a CIDR; double each colon of an IPv6 address)" },
	{ "IPv6 with single colons in a host list", "tls_required_hosts = ::1\n",
	  "@F@:1: tls_required_hosts: bad host list item \":1\" (use *, an IP address or a CIDR; "
	  "double each colon of an IPv6 address)" },
	{ "log_selector: an unknown word", "log_selector = +proxy +bogus\n",
	  "@F@:1: log_selector: bad selector list \"+proxy +bogus\" (use words like +proxy +spf "
	  "-incoming_port; see docs/log.md)" },
	{ "log_selector: a word without + or -", "log_selector = proxy\n",
	  "@F@:1: log_selector: bad selector list \"proxy\" (use words like +proxy +spf "
	  "-incoming_port; see docs/log.md)" },
	{ "proxy_required_hosts: a host name", "proxy_required_hosts = lb.example.test\n",
	  "@F@:1: proxy_required_hosts: bad host list item \"lb.example.test\" (use *, an IP "
	  "address or a CIDR; double each colon of an IPv6 address)" },
	{ "host list: items with a $variable are checked later, the others now",
	  "tls_advertise_hosts = $trusted : 10.0.0.0/40\n",
	  "@F@:1: tls_advertise_hosts: bad host list item \"10.0.0.0/40\" (use *, an IP address or "
	  "a CIDR; double each colon of an IPv6 address)" },
	{ "bad test_clock", "test_clock = 2026-02-30T00:00:00Z\n",
	  "@F@:1: test_clock: bad time stamp \"2026-02-30T00:00:00Z\" (use 2026-01-01T00:00:00Z or "
	  "seconds since the epoch)" },
	{ "expansion syntax error in an ACL (refmta check)",
	  "acl_smtp_rcpt:\n  accept condition = ${if eq{a}{b}\n",
	  "@F@:2: condition: expansion error at offset 13: expected \"}\" to end ${if" },
	{ "unknown lookup type in an ACL", "acl_smtp_rcpt:\n  deny message = ${lookup{k}cdb{/x}}\n",
	  "@F@:2: message: expansion error at offset 14: unknown lookup type \"cdb\" (lsearch, "
	  "iplsearch, lmdb, redis, dnsdb, spf)" },
	{ "set without a variable", "acl_smtp_rcpt:\n  warn set = 1\n",
	  "@F@:2: set: expected \"set acl_c_NAME = VALUE\" (or acl_m_NAME)" },
	{ "set of another variable", "acl_smtp_rcpt:\n  warn set domain = 1\n",
	  "@F@:2: set: expected acl_c_NAME or acl_m_NAME (or acl_c0..9, acl_m0..9), got "
	  "\"domain\"" },
	{ "duplicate named list", "hostlist a = 1.2.3.4\ndomainlist a = x.test\n",
	  "@F@:2: duplicate named list \"a\" (first on line 1)" },
	{ "named list without =", "hostlist a 1.2.3.4\n",
	  "@F@:1: hostlist: expected \"hostlist NAME = LIST\"" },
	{ "macro defined twice differently", "M = 1\nM = 2\n", "@F@:2: macro M defined twice" },
	{ "unknown named list in an ACL", "acl_smtp_rcpt:\n  accept hosts = 1.2.3.4 : !+nosuch\n",
	  "@F@:2: hosts: no hostlist named \"nosuch\"" },
	{ "named list of another kind", "domainlist d = x.test\nhostlist h = +d\n",
	  "@F@:2: no hostlist named \"d\"" },
	{ "duplicate named ACL", "acl x:\n  accept\nacl x:\n  deny\n",
	  "@F@:3: duplicate acl \"x\"" },
	{ "a line that is neither", "hello world\n",
	  "@F@:1: expected \"name = value\" or a block header (\"acl_smtp_rcpt:\", \"transport "
	  "NAME:\", \"router NAME:\"), got \"hello world\"" },
	{ "unknown ACL block", "acl_smtp_quit:\n  accept\n",
	  "@F@:1: unknown block \"acl_smtp_quit:\" (use acl_smtp_connect, acl_smtp_helo, "
	  "acl_smtp_mail, acl_smtp_rcpt, acl_smtp_data, acl_smtp_data_prdr, acl NAME, transport "
	  "NAME "
	  "or router NAME)" },
	{ "transport without a name", "transport:\n  driver = smtp\n",
	  "@F@:1: transport: bad or missing name \"\" (use letters, digits, _ - .)" },
	{ "duplicate ACL block", "acl_smtp_rcpt:\n  accept\n\nacl_smtp_rcpt:\n  deny\n",
	  "@F@:4: duplicate block \"acl_smtp_rcpt:\" (first on line 1)" },
	{ "duplicate transport", "transport t:\n  driver = smtp\ntransport t:\n  driver = smtp\n",
	  "@F@:3: duplicate transport \"t\" (first on line 1)" },
	{ "indented line outside a block", "listen = 127.0.0.1:25\n  accept\n",
	  "@F@:2: indented line outside a block: \"accept\"" },
	{ "block option without =", "router r:\n  driver accept\n",
	  "@F@:2: router r: expected \"name = value\", got \"driver accept\"" },
	{ "duplicate block option", "router r:\n  driver = accept\n  driver = redirect\n",
	  "@F@:3: router r: duplicate option \"driver\" (first set on line 2)" },
	{ "ACL item before any verb", "acl_smtp_rcpt:\n  domains = example.test\n",
	  "@F@:2: \"domains = example.test\" comes before any verb (accept, deny, defer, drop or "
	  "warn)" },
	{ "ACL condition not built yet", "acl_smtp_data:\n  deny dane_status = ok\n",
	  "@F@:2: unknown ACL condition or modifier \"dane_status\" (conditions: hosts, domains, "
	  "local_parts, senders, recipients, encrypted, condition, ratelimit, spf, spf_guess, "
	  "dmarc_status, dkim_status, dkim_signers; modifiers: message, log_message, add_header, "
	  "delay, set, logwrite, control)" },
	{ "ACL control under the seed's older name",
	  "acl_smtp_rcpt:\n  warn control = "
	  "dmarc_verify_disable\n",
	  "@F@:2: control \"dmarc_verify_disable\" is the seed's older name: did you mean "
	  "\"dmarc_disable_verify\"?" },
	{ "ACL control unknown", "acl_smtp_rcpt:\n  warn control = no_such_thing\n",
	  "@F@:2: unknown control \"no_such_thing\" (known: dmarc_disable_verify, "
	  "dmarc_enable_forensic)" },
	{ "ACL dmarc_status with an unknown word",
	  "acl_smtp_data:\n  deny dmarc_status = rejected\n",
	  "@F@:2: dmarc_status: unknown result \"rejected\" (use accept, reject, quarantine, none, "
	  "norecord, nofrom, temperror, off)" },
	{ "ACL spf with an unknown result word", "acl_smtp_rcpt:\n  deny spf = fail : err_tmp\n",
	  "@F@:2: spf: unknown result \"err_tmp\" (use pass, fail, softfail, neutral, none, "
	  "permerror, temperror; err_perm, err_temp)" },
	{ "ACL bad regex", "acl_smtp_rcpt:\n  deny\n    condition = $local_part =~ a{2\n",
	  "@F@:3: condition: bad regex \"a{2\": Unmatched \\{" },
	{ "ACL regex whose automaton would exhaust memory",
	  "acl_smtp_rcpt:\n  deny\n    condition = $local_part =~ ((a{255}){255}){255}\n",
	  "@F@:3: condition: bad regex \"((a{255}){255}){255}\": repetition counts multiply to "
	  "more than 10000" },
	{ "ACL bad host in a continued item",
	  "acl_smtp_rcpt:\n  accept hosts = 127.0.0.1 : \\\n"
	  "     1.2.3.4.5\n",
	  "@F@:2: hosts: bad host list item \"1.2.3.4.5\" (use *, an IP address or a CIDR; double "
	  "each colon of an IPv6 address)" },
	{ "ACL negated modifier", "acl_smtp_rcpt:\n  deny !message = x\n",
	  "@F@:2: \"!message\": only conditions can be negated" },
	{ "ACL encrypted value", "acl_smtp_mail:\n  deny encrypted = maybe\n",
	  "@F@:2: encrypted: expected yes or no, got \"maybe\"" },
};

static char *
placeholders(const char *s)
{
	size_t cap = strlen(s) + 1;
	char *out;

	for (const char *p = s; (p = strchr(p, '@')) != NULL; p++)
		cap += strlen(conf) + strlen(dir);
	out = calloc(1, cap);
	assert_non_null(out);
	for (const char *p = s; *p != '\0';) {
		if (strncmp(p, "@F@", 3) == 0) {
			strcat(out, conf);
			p += 3;
		} else if (strncmp(p, "@D@", 3) == 0) {
			strcat(out, dir);
			p += 3;
		} else {
			strncat(out, p, 1);
			p++;
		}
	}
	return out;
}

static void
test_bad_row(void **state)
{
	const struct bad_row *r = *state;
	struct config *cfg = (struct config *)1;
	struct err e = { 0 };
	char *want = placeholders(r->error);
	int rc;

	write_conf(r->text);
	rc = config_load(conf, &cfg, &e);
	if (rc == 0) {
		config_free(cfg);
		free(want);
		fail_msg("%s: loaded, want error", r->why);
	}
	assert_null(cfg);
	if (strcmp(e.text, want) != 0) {
		char msg[1200];
		snprintf(msg, sizeof msg, "%s:\n  want %s\n  got  %s", r->why, want, e.text);
		free(want);
		fail_msg("%s", msg);
	}
	free(want);
}

static void
test_missing_file(void **state)
{
	struct config *cfg = NULL;
	struct err e = { 0 };
	char path[PATH_MAX + 32];

	(void)state;
	snprintf(path, sizeof path, "%s/no-such.conf", dir);
	assert_int_equal(config_load(path, &cfg, &e), -1);
	assert_null(cfg);
	assert_non_null(strstr(e.text, "/no-such.conf: cannot open: No such file or directory"));
}

#define NVALUES (sizeof value_rows / sizeof value_rows[0])
#define NBADS (sizeof bad_rows / sizeof bad_rows[0])

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
		cmocka_unit_test(test_missing_file),
	};
	struct CMUnitTest tests[sizeof fixed / sizeof fixed[0] + NVALUES + NBADS];
	char names[NVALUES + NBADS][160];
	size_t n = 0, k = 0;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < NVALUES; i++, k++) {
		snprintf(names[k], sizeof names[k], "value: %s", value_rows[i].line);
		tests[n++] = (struct CMUnitTest){ .name = names[k],
			                          .test_func = test_value_row,
			                          .initial_state = (void *)&value_rows[i] };
	}
	for (size_t i = 0; i < NBADS; i++, k++) {
		snprintf(names[k], sizeof names[k], "error: %s", bad_rows[i].why);
		tests[n++] = (struct CMUnitTest){ .name = names[k],
			                          .test_func = test_bad_row,
			                          .initial_state = (void *)&bad_rows[i] };
	}
	return _cmocka_run_group_tests("config", tests, n, setup_dir, teardown_dir);
}
