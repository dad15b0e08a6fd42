/*
 * deliver_smtp_options.c - the "transport NAME:" block whose driver is smtp
 * (deliver_smtp.h struct smtp_transport, docs/config.md "smtp transport"):
 * defaults, each option's type and check, and the errors as FILE:LINE.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver_smtp.h"
#include "strutil.h"

/* --- the transport block ------------------------------------------------------------ */

enum opt_type { T_PORT, T_TIME, T_COUNT, T_HOSTLIST, T_STRING, T_FILE, T_BOOL };

static const struct topt {
	const char *name;
	enum opt_type type;
	size_t off;
} topts[] = {
#define O(n, t)                                                                                    \
	{                                                                                          \
#n, t, offsetof(struct smtp_transport, n)                                          \
	}
	O(port, T_PORT),
	O(helo_data, T_STRING),
	O(connect_timeout, T_TIME),
	O(command_timeout, T_TIME),
	O(data_timeout, T_TIME),
	O(max_rcpt, T_COUNT),
	O(hosts_require_tls, T_HOSTLIST),
	O(tls_verify_certificates, T_FILE),
	O(tls_verify_hosts, T_HOSTLIST),
	O(tls_try_verify_hosts, T_HOSTLIST),
	O(tls_verify_cert_hostnames, T_HOSTLIST),
	O(tls_sni, T_STRING),
	O(tls_certificate, T_FILE),
	O(tls_privatekey, T_FILE),
	O(tls_require_ciphers, T_STRING),
	O(tls_tempfail_tryclear, T_BOOL),
#undef O
};

static int __attribute__((format(printf, 5, 6)))
tfail(const struct config *cfg, const struct config_block *b, int line, struct err *e,
      const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err_set(e, 1, "%s:%d: transport %s: %s", cfg->file, line, b->name, msg);
	return -1;
}

static int
set_str(char **field, const char *value)
{
	char *p = strdup(value);

	if (p == NULL)
		return -1;
	free(*field);
	*field = p;
	return 0;
}

int
smtp_transport_parse(const struct config *cfg, const struct config_block *b,
                     struct smtp_transport *out, struct err *e)
{
	int line;
	const char *v;

	memset(out, 0, sizeof *out);
	out->line = b->line;
	out->port = 25;
	out->connect_timeout = 30;
	out->command_timeout = 300;
	out->data_timeout = 300;
	out->max_rcpt = 100;
	out->tls_tempfail_tryclear = 1;
	if ((out->name = strdup(b->name)) == NULL || set_str(&out->hosts_require_tls, "") != 0 ||
	    set_str(&out->tls_verify_hosts, "") != 0 ||
	    set_str(&out->tls_try_verify_hosts, "*") != 0 ||
	    set_str(&out->tls_verify_cert_hostnames, "*") != 0 ||
	    set_str(&out->helo_data,
	            cfg->primary_hostname != NULL ? cfg->primary_hostname : "localhost") != 0)
		goto oom;
	for (size_t i = 0; i < b->nopts; i++) {
		const struct config_kv *kv = &b->opts[i];
		const struct topt *o = NULL;
		char *field_base = (char *)out;
		char bad[256];

		if (strcmp(kv->key, "driver") == 0) {
			if (strcmp(kv->value, "smtp") != 0) {
				tfail(cfg, b, kv->line, e, "driver is \"%s\", not smtp", kv->value);
				goto fail;
			}
			continue;
		}
		for (size_t j = 0; j < sizeof topts / sizeof topts[0]; j++)
			if (strcmp(topts[j].name, kv->key) == 0)
				o = &topts[j];
		if (o == NULL) {
			tfail(cfg, b, kv->line, e, "unknown option \"%s\"", kv->key);
			goto fail;
		}
		if (kv->value[0] == '\0' && o->type != T_HOSTLIST) {
			tfail(cfg, b, kv->line, e, "%s: needs a value", kv->key);
			goto fail;
		}
		switch (o->type) {
		case T_PORT:
		case T_COUNT: {
			char *end;
			unsigned long n;
			errno = 0;
			n = strtoul(kv->value, &end, 10);
			if (*end != '\0' || errno != 0 || kv->value[0] < '0' ||
			    kv->value[0] > '9' || n == 0 || (o->type == T_PORT && n > 65535) ||
			    n > 1000000) {
				tfail(cfg, b, kv->line, e, "%s: bad number \"%s\"%s", kv->key,
				      kv->value,
				      o->type == T_PORT ? " (use 1 to 65535)"
				                        : " (use a number of at least 1)");
				goto fail;
			}
			*(unsigned *)(field_base + o->off) = (unsigned)n;
			break;
		}
		case T_TIME:
			if (config_parse_time(kv->value, (unsigned *)(field_base + o->off)) != 0) {
				tfail(cfg, b, kv->line, e,
				      "%s: bad time \"%s\" (use 300, 30s, 5m or 1h)", kv->key,
				      kv->value);
				goto fail;
			}
			break;
		case T_BOOL:
			if (str_parse_bool(kv->value, (int *)(field_base + o->off)) != 0) {
				tfail(cfg, b, kv->line, e,
				      "%s: bad boolean \"%s\" (use true or false)", kv->key,
				      kv->value);
				goto fail;
			}
			break;
		case T_HOSTLIST:
			if (config_bad_host_item(kv->value, bad, sizeof bad)) {
				tfail(cfg, b, kv->line, e,
				      "%s: bad host list item \"%s\" (use *, an IP address or a "
				      "CIDR; "
				      "double each colon of an IPv6 address)",
				      kv->key, bad);
				goto fail;
			}
			if (set_str((char **)(field_base + o->off), kv->value) != 0)
				goto oom;
			break;
		case T_STRING:
			if (set_str((char **)(field_base + o->off), kv->value) != 0)
				goto oom;
			break;
		case T_FILE: {
			char *path;
			if (kv->value[0] == '/')
				path = strdup(kv->value);
			else if (asprintf(&path, "%s/%s", cfg->dir, kv->value) < 0)
				path = NULL;
			if (path == NULL)
				goto oom;
			free(*(char **)(field_base + o->off));
			*(char **)(field_base + o->off) = path;
			if (access(path, R_OK) != 0) {
				tfail(cfg, b, kv->line, e, "%s: cannot read \"%s\": %s", kv->key,
				      path, strerror(errno));
				goto fail;
			}
			break;
		}
		}
	}
	if (out->tls_privatekey != NULL && out->tls_certificate == NULL) {
		(void)config_block_get(b, "tls_privatekey", &line);
		tfail(cfg, b, line, e, "tls_privatekey: set without tls_certificate");
		goto fail;
	}
	if ((v = config_block_get(b, "tls_sni", &line)) != NULL && strchr(v, '$') != NULL &&
	    strcmp(v, "$host") != 0) {
		tfail(cfg, b, line, e, "tls_sni: \"%s\" (use $host or a name)", v);
		goto fail;
	}
	return 0;
oom:
	err_set(e, ENOMEM, "%s:%d: transport %s: out of memory", cfg->file, b->line, b->name);
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
	free(t->helo_data);
	free(t->hosts_require_tls);
	free(t->tls_verify_certificates);
	free(t->tls_verify_hosts);
	free(t->tls_try_verify_hosts);
	free(t->tls_verify_cert_hostnames);
	free(t->tls_sni);
	free(t->tls_certificate);
	free(t->tls_privatekey);
	free(t->tls_require_ciphers);
	memset(t, 0, sizeof *t);
}
