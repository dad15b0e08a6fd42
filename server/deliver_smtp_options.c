/*
 * deliver_smtp_options.c - the "transport NAME:" block whose driver is smtp
 * (deliver_smtp.h struct smtp_transport, docs/delivery.md "smtp transport"):
 * its option table for the option engine (server/option.h), the defaults,
 * and the checks that need more than one option.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_smtp.h"
#include "deliver_vars.h"
#include "event.h"
#include "option.h"

#define OFF(f) offsetof(struct smtp_transport, f)
#define O(n, t, d) .name = #n, .type = OPTION_##t, .off = OFF(n), .dflt = d

static const struct option_def smtp_options[] = {
	{ O(port, UINT_POS, "25"), .max = 65535, .hint = "(use 1 to 65535)" },
	{ O(helo_data, STRING, NULL), .valid = deliver_vars_valid, .what = "expansion",
	  .hint = "(see docs/expand.md)" },
	{ O(connect_timeout, TIME, "30") },
	{ O(command_timeout, TIME, "300") },
	{ O(data_timeout, TIME, "300") },
	{ O(max_rcpt, UINT_POS, "100"), .max = 1000000, .hint = "(use a number of at least 1)" },
	{ O(hosts_require_tls, HOSTLIST, "") },
	{ O(tls_verify_certificates, RPATH, NULL) },
	{ O(tls_verify_hosts, HOSTLIST, "") },
	{ O(tls_try_verify_hosts, HOSTLIST, "*") },
	{ O(tls_verify_cert_hostnames, HOSTLIST, "*") },
	{ O(tls_sni, STRING, NULL), .valid = deliver_vars_valid, .what = "expansion",
	  .hint = "(see docs/expand.md)" },
	{ O(tls_certificate, RPATH, NULL) },
	{ O(tls_privatekey, RPATH, NULL) },
	{ O(tls_require_ciphers, STRING, NULL) },
	{ O(tls_tempfail_tryclear, BOOL, "true"), .hint = "(use true or false)" },
	{ O(hosts_try_prdr, HOSTLIST, "*") },
	{ O(hosts_request_ocsp, HOSTLIST, "*") },
	{ O(hosts_require_ocsp, HOSTLIST, "") },
	{ O(hosts_try_dane, HOSTLIST, "") },
	{ O(hosts_require_dane, HOSTLIST, "") },
	{ O(event_action, STRING, NULL), .valid = event_action_valid, .what = "expansion",
	  .hint = "(see docs/expand.md)" },
};
#undef O
#define NSMTP (sizeof smtp_options / sizeof smtp_options[0])

const struct option_table smtp_transport_options = { "smtp", smtp_options, NSMTP, NULL };

int
smtp_transport_parse(const struct config *cfg, const struct config_block *b,
                     struct smtp_transport *out, struct err *e)
{
	static const char *const skip[] = { "driver", NULL };
	char prefix[300];
	struct option_ctx c = { .file = cfg->file, .dir = cfg->dir, .prefix = prefix, .e = e };
	int lines[NSMTP] = { 0 }, line;
	const char *v;

	memset(out, 0, sizeof *out);
	snprintf(prefix, sizeof prefix, "transport %s: ", b->name);
	out->line = b->line;
	if ((v = config_block_get(b, "driver", &line)) != NULL && strcmp(v, "smtp") != 0) {
		option_fail(&c, line, "driver is \"%s\", not smtp", v);
		goto fail;
	}
	if ((out->name = strdup(b->name)) == NULL) {
		option_fail(&c, b->line, "out of memory");
		goto fail;
	}
	if (option_read_block(&smtp_transport_options, &c, b, skip, out, lines) != 0)
		goto fail;
	if (out->helo_data == NULL &&
	    (out->helo_data = strdup(cfg->primary_hostname != NULL ? cfg->primary_hostname
	                                                           : "localhost")) == NULL) {
		option_fail(&c, b->line, "out of memory");
		goto fail;
	}
	if (out->tls_privatekey != NULL && out->tls_certificate == NULL) {
		(void)config_block_get(b, "tls_privatekey", &line);
		option_fail(&c, line, "tls_privatekey: set without tls_certificate");
		goto fail;
	}

	return 0;
fail:
	smtp_transport_free(out);
	return -1;
}

void
smtp_transport_free(struct smtp_transport *t)
{
	if (t == NULL)
		return;
	free(t->name);
	option_free(&smtp_transport_options, t);
	memset(t, 0, sizeof *t);
}
