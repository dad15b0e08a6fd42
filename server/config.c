/*
 * config.c - read refmta's configuration file into a struct config: options
 * ("name = value"), ACL blocks ("acl_smtp_rcpt:") and transport / router
 * blocks, every value checked, relative paths resolved against the file's
 * directory, defaults filled in.  Syntax and options: docs/config.md.
 *
 * It must never expand a $variable (that happens at use time, with the
 * session's values) and never report an error without "FILE:LINE: " and the
 * name of what was wrong: a configuration fails at load, never mid-session.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "acl.h"
#include "clock.h"
#include "config.h"
#include "match.h"
#include "strutil.h"

enum opt_type {
	OPT_STRING,    /* non-empty text, $variables kept */
	OPT_PATH,      /* resolved against the config's directory */
	OPT_LOGPATH,   /* a path, or "-" for stderr */
	OPT_RPATH,     /* a path that must be readable now */
	OPT_RPATHLIST, /* a list of such paths */
	OPT_LIST,      /* a colon list, split */
	OPT_HOSTLIST,  /* a host list, kept as text, items checked */
	OPT_UINT,      /* 0 .. UINT_MAX */
	OPT_UINT_POS,  /* 1 .. UINT_MAX */
	OPT_TIME,      /* seconds: 300, 30s, 5m, 1h */
	OPT_SIZE,      /* bytes: 52428800, 50M */
	OPT_BOOL,
	OPT_LISTEN,  /* ADDR:PORT or [V6]:PORT */
	OPT_BACKEND, /* openssl | gnutls */
	OPT_MBOXFMT, /* maildir | mbox */
	OPT_CLOCK,   /* 2026-01-01T00:00:00Z or epoch seconds */
	OPT_DNSSERVER, /* ADDR@PORT: IPv4 or IPv6 literal, port 1-65535 */
};

#define OFF(f) offsetof(struct config, f)

static const struct option {
	const char *name;
	enum opt_type type;
	size_t off;
	const char *dflt; /* parsed like a value from the file; NULL = none or computed */
} options[] = {
	{ "primary_hostname", OPT_STRING, OFF(primary_hostname), NULL },
	{ "listen", OPT_LISTEN, OFF(listen), "127.0.0.1:2525" },
	{ "spool_directory", OPT_PATH, OFF(spool_directory), "spool" },
	{ "log_file", OPT_LOGPATH, OFF(log_file), "log/main.log" },
	{ "user", OPT_STRING, OFF(user), NULL },
	{ "worker_processes", OPT_UINT_POS, OFF(worker_processes), "4" },
	{ "tls_backend", OPT_BACKEND, OFF(tls_backend), "openssl" },
	{ "tls_certificate", OPT_RPATHLIST, OFF(tls_certificate), NULL },
	{ "tls_privatekey", OPT_RPATHLIST, OFF(tls_privatekey), NULL },
	{ "tls_advertise_hosts", OPT_HOSTLIST, OFF(tls_advertise_hosts), NULL },
	{ "tls_required_hosts", OPT_HOSTLIST, OFF(tls_required_hosts), "" },
	{ "tls_require_ciphers", OPT_STRING, OFF(tls_require_ciphers), NULL },
	{ "tls_verify_certificates", OPT_RPATH, OFF(tls_verify_certificates), NULL },
	{ "tls_ocsp_file", OPT_RPATH, OFF(tls_ocsp_file), NULL },
	{ "smtp_accept_max", OPT_UINT_POS, OFF(smtp_accept_max), "100" },
	{ "smtp_accept_max_per_host", OPT_UINT_POS, OFF(smtp_accept_max_per_host), "20" },
	{ "smtp_receive_timeout", OPT_TIME, OFF(smtp_receive_timeout), "300" },
	{ "smtp_max_unknown_commands", OPT_UINT, OFF(smtp_max_unknown_commands), "3" },
	{ "smtp_max_synprot_errors", OPT_UINT, OFF(smtp_max_synprot_errors), "3" },
	{ "recipients_max", OPT_UINT_POS, OFF(recipients_max), "100" },
	{ "message_size_limit", OPT_SIZE, OFF(message_size_limit), "50M" },
	{ "dns_server", OPT_DNSSERVER, OFF(dns_server), NULL },
	{ "dns_trust_anchor", OPT_RPATH, OFF(dns_trust_anchor), NULL },
	{ "local_domains", OPT_LIST, OFF(local_domains), NULL },
	{ "mailbox_directory", OPT_PATH, OFF(mailbox_directory), "mail" },
	{ "mailbox_format", OPT_MBOXFMT, OFF(mailbox_format), "maildir" },
	{ "log_dns", OPT_BOOL, OFF(log_dns), "false" },
	{ "queue_run_interval", OPT_TIME, OFF(queue_run_interval), NULL },
	{ "retry_rule", OPT_STRING, OFF(retry_rule), NULL },
	{ "test_clock", OPT_CLOCK, OFF(test_clock), NULL },
	{ "test_ids", OPT_BOOL, OFF(test_ids), "false" },
};
#define NOPTIONS (sizeof options / sizeof options[0])

static const struct {
	const char *name;
	size_t off;
} acl_blocks[] = {
	{ "acl_smtp_connect", OFF(acl_smtp_connect) }, /* before the greeting */
	{ "acl_smtp_helo", OFF(acl_smtp_helo) },       /* HELO / EHLO */
	{ "acl_smtp_mail", OFF(acl_smtp_mail) },       /* MAIL FROM */
	{ "acl_smtp_rcpt", OFF(acl_smtp_rcpt) },       /* each RCPT TO */
	{ "acl_smtp_data", OFF(acl_smtp_data) },       /* after the message */
};
#define NACLS (sizeof acl_blocks / sizeof acl_blocks[0])

struct loader {
	struct config *cfg;
	struct err *e;
	int opt_line[NOPTIONS];     /* where each option was set; 0 = not set */
	int acl_line[NACLS];        /* where each ACL block started */
	struct acl *acl;            /* the ACL block being read, or NULL */
	struct config_block *block; /* the transport/router block being read, or NULL */
};

static int fail(struct loader *ld, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Record "FILE:LINE: message" (line 0: "FILE: message") and return -1. */
static int
fail(struct loader *ld, int line, const char *fmt, ...)
{
	char msg[ERR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		err_set(ld->e, 1, "%s:%d: %s", ld->cfg->file, line, msg);
	else
		err_set(ld->e, 1, "%s: %s", ld->cfg->file, msg);
	return -1;
}

static char *
trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* "#" starts a comment as the first non-blank or after white space. */
static void
strip_comment(char *s)
{
	int blank_before = 1; /* start of line, or white space just before */

	for (; *s != '\0'; s++) {
		if (*s == '#' && blank_before) {
			*s = '\0';
			return;
		}
		blank_before = isspace((unsigned char)*s);
	}
}

/* --- values ---------------------------------------------------------------------- */

static char *
resolve_path(const struct config *cfg, const char *p)
{
	char *out;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", cfg->dir, p) < 0)
		return NULL;
	return out;
}

/* Digits only, no sign, no overflow past `max`. */
static int
parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* "N" with an optional unit suffix from `units` (lower or upper case). */
static int
parse_scaled(const char *s, const char *units, const uint64_t *mult, uint64_t max, uint64_t *out)
{
	size_t n = strlen(s);
	uint64_t m = 1, v;

	if (n > 0 && !isdigit((unsigned char)s[n - 1])) {
		const char *u = strchr(units, tolower((unsigned char)s[n - 1]));
		if (u == NULL)
			return -1;
		m = mult[u - units];
		n--;
	}
	if (parse_u64(s, n, max, &v) != 0 || v > max / m)
		return -1;
	*out = v * m;
	return 0;
}


/* "ADDR:PORT" (IPv4) or "[IPv6]:PORT", port 1-65535. */
static int
listen_valid(const char *s)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	const char *port;
	size_t alen;
	uint64_t p;
	int family = AF_INET;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return 0;
		alen = (size_t)(close - s - 1);
		if (alen >= sizeof addr)
			return 0;
		memcpy(addr, s + 1, alen);
		port = close + 2;
		family = AF_INET6;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL)
			return 0;
		alen = (size_t)(colon - s);
		if (alen >= sizeof addr)
			return 0;
		memcpy(addr, s, alen);
		port = colon + 1;
	}
	addr[alen] = '\0';
	if (inet_pton(family, addr, bin) != 1)
		return 0;
	return parse_u64(port, strlen(port), 65535, &p) == 0 && p >= 1;
}

/* "ADDR@PORT" (libunbound's forwarder syntax), IPv4 or IPv6 literal, port 1-65535. */
static int
dns_server_valid(const char *s)
{
	const char *at = strrchr(s, '@');
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	size_t alen;
	uint64_t p;

	if (at == NULL || (alen = (size_t)(at - s)) == 0 || alen >= sizeof addr)
		return 0;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
		return 0;
	return parse_u64(at + 1, strlen(at + 1), 65535, &p) == 0 && p >= 1;
}

static int
check_readable(struct loader *ld, int line, const char *opt, const char *path)
{
	if (access(path, R_OK) != 0)
		return fail(ld, line, "%s: cannot read \"%s\": %s", opt, path, strerror(errno));
	return 0;
}

/* Does `s` reference a $variable ("$name", "${")?  "$$" does not. */
static int
has_var_ref(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != '$')
			continue;
		if (s[1] == '$') {
			s++;
			continue;
		}
		if (islower((unsigned char)s[1]) || isdigit((unsigned char)s[1]) || s[1] == '_' ||
		    s[1] == '{')
			return 1;
	}
	return 0;
}

static int
check_host_list(struct loader *ld, int line, const char *opt, const char *list)
{
	struct strlist l = { 0 };
	int rc = -1;

	if (strlist_split(&l, list) != 0) {
		fail(ld, line, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		/* An item with a $variable is checked when it has a value. */
		if (!has_var_ref(l.v[i]) && !match_host_item_valid(l.v[i])) {
			fail(ld, line,
			     "%s: bad host list item \"%s\" (use *, an IP address or a CIDR; "
			     "double each colon of an IPv6 address)",
			     opt, l.v[i]);
			goto out;
		}
	}
	rc = 0;
out:
	strlist_free(&l);
	return rc;
}

/* Store `value` (from `line`; 0 = a default) into the option's field. */
static int
set_option(struct loader *ld, const struct option *o, const char *value, int line)
{
	static const uint64_t time_mult[] = { 1, 60, 3600 };
	static const uint64_t size_mult[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024 };
	struct config *cfg = ld->cfg;
	char **str = (char **)((char *)cfg + o->off);
	struct strlist *list = (struct strlist *)((char *)cfg + o->off);
	unsigned *uns = (unsigned *)((char *)cfg + o->off);
	struct strlist items = { 0 };
	uint64_t v;
	int b, rc = -1;

	switch (o->type) {
	case OPT_LIST:
	case OPT_RPATHLIST:
	case OPT_HOSTLIST:
		break; /* an empty list is a list */
	default:
		if (value[0] == '\0')
			return fail(ld, line, "%s: needs a value", o->name);
	}
	switch (o->type) {
	case OPT_STRING:
	case OPT_HOSTLIST:
		if (o->type == OPT_HOSTLIST && check_host_list(ld, line, o->name, value) != 0)
			goto out;
		*str = strdup(value);
		break;
	case OPT_PATH:
	case OPT_LOGPATH:
	case OPT_RPATH:
		*str = (o->type == OPT_LOGPATH && strcmp(value, "-") == 0)
		               ? strdup(value)
		               : resolve_path(cfg, value);
		if (*str != NULL && o->type == OPT_RPATH &&
		    check_readable(ld, line, o->name, *str) != 0)
			goto out;
		break;
	case OPT_LIST:
	case OPT_RPATHLIST:
		if (strlist_split(&items, value) != 0) {
			fail(ld, line, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < items.n; i++) {
			char *item = o->type == OPT_LIST ? strdup(items.v[i])
			                                 : resolve_path(cfg, items.v[i]);
			if (strlist_push_owned(list, item) != 0) {
				fail(ld, line, "out of memory");
				goto out;
			}
			if (o->type == OPT_RPATHLIST &&
			    check_readable(ld, line, o->name, list->v[list->n - 1]) != 0)
				goto out;
		}
		rc = 0;
		goto out;
	case OPT_UINT:
	case OPT_UINT_POS:
		if (parse_u64(value, strlen(value), UINT_MAX, &v) != 0)
			return fail(ld, line, "%s: bad number \"%s\" (use a decimal number)",
			            o->name, value);
		if (o->type == OPT_UINT_POS && v == 0)
			return fail(ld, line, "%s: must be at least 1, got \"%s\"", o->name, value);
		*uns = (unsigned)v;
		return 0;
	case OPT_TIME:
		if (parse_scaled(value, "smh", time_mult, UINT_MAX, &v) != 0)
			return fail(ld, line, "%s: bad time \"%s\" (use 300, 30s, 5m or 1h)",
			            o->name, value);
		if (v == 0)
			return fail(ld, line, "%s: must be at least 1, got \"%s\"", o->name, value);
		*uns = (unsigned)v;
		return 0;
	case OPT_SIZE:
		if (parse_scaled(value, "kmg", size_mult, UINT64_MAX, &v) != 0)
			return fail(ld, line,
			            "%s: bad size \"%s\" (use bytes, or a number with K, M or G)",
			            o->name, value);
		if (v == 0)
			return fail(ld, line, "%s: must be at least 1, got \"%s\"", o->name, value);
		cfg->message_size_limit = v;
		return 0;
	case OPT_BOOL:
		if (str_parse_bool(value, &b) != 0)
			return fail(ld, line,
			            "%s: bad boolean \"%s\" (use true, false, yes, no, 1 or 0)",
			            o->name, value);
		*(int *)((char *)cfg + o->off) = b;
		return 0;
	case OPT_LISTEN:
		if (!listen_valid(value))
			return fail(ld, line,
			            "%s: bad address \"%s\" (use ADDR:PORT or [IPv6]:PORT, port "
			            "1-65535)",
			            o->name, value);
		*str = strdup(value);
		break;
	case OPT_DNSSERVER:
		if (!dns_server_valid(value))
			return fail(ld, line,
			            "%s: bad server \"%s\" (use ADDR@PORT with an IPv4 or IPv6 "
			            "address, port 1-65535)",
			            o->name, value);
		*str = strdup(value);
		break;
	case OPT_BACKEND:
		if (strcmp(value, "openssl") != 0 && strcmp(value, "gnutls") != 0)
			return fail(ld, line, "%s: unknown backend \"%s\" (use openssl or gnutls)",
			            o->name, value);
		*str = strdup(value);
		break;
	case OPT_MBOXFMT:
		if (strcmp(value, "maildir") != 0 && strcmp(value, "mbox") != 0)
			return fail(ld, line, "%s: unknown format \"%s\" (use maildir or mbox)",
			            o->name, value);
		*str = strdup(value);
		break;
	case OPT_CLOCK:
		if (clock_parse(value, &cfg->test_clock) != 0)
			return fail(
			        ld, line,
			        "%s: bad time stamp \"%s\" (use 2026-01-01T00:00:00Z or seconds "
			        "since the epoch)",
			        o->name, value);
		cfg->test_clock_set = 1;
		return 0;
	}
	if (*str == NULL) {
		fail(ld, line, "out of memory");
		goto out;
	}
	rc = 0;
out:
	strlist_free(&items);
	return rc;
}

static int
option_line(struct loader *ld, char *text, int line)
{
	char *eq = strchr(text, '=');
	char *name, *value;
	size_t best = SIZE_MAX, best_i = 0;

	*eq = '\0';
	name = trim(text);
	value = trim(eq + 1);
	if (*name == '\0')
		return fail(ld, line, "missing option name before \"=\"");
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (strcmp(options[i].name, name) == 0) {
			if (ld->opt_line[i] != 0)
				return fail(ld, line,
				            "duplicate option \"%s\" (first set on line %d)", name,
				            ld->opt_line[i]);
			ld->opt_line[i] = line;
			return set_option(ld, &options[i], value, line);
		}
		size_t d = str_edit_distance(name, options[i].name);
		if (d < best) {
			best = d;
			best_i = i;
		}
	}
	if (best <= 2)
		return fail(ld, line, "unknown option \"%s\" (did you mean \"%s\"?)", name,
		            options[best_i].name);
	return fail(ld, line, "unknown option \"%s\"", name);
}

/* --- blocks ------------------------------------------------------------------------ */

/* The ACL or block being read ends: check what needs the whole of it. */
static int
end_block(struct loader *ld)
{
	struct err sub = { 0 };
	int rc = 0;

	if (ld->acl != NULL && acl_check(ld->acl, &sub) != 0)
		rc = fail(ld, sub.code, "%s", sub.text);
	ld->acl = NULL;
	ld->block = NULL;
	return rc;
}

static int
valid_block_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static int
header_line(struct loader *ld, char *text, int line)
{
	struct config *cfg = ld->cfg;
	char *head, *name;
	struct config_block *grown;

	text[strlen(text) - 1] = '\0'; /* the ':' */
	head = trim(text);
	for (size_t i = 0; i < NACLS; i++) {
		struct acl **slot = (struct acl **)((char *)cfg + acl_blocks[i].off);
		if (strcmp(head, acl_blocks[i].name) != 0)
			continue;
		if (*slot != NULL)
			return fail(ld, line, "duplicate block \"%s:\" (first on line %d)", head,
			            ld->acl_line[i]);
		*slot = calloc(1, sizeof **slot);
		if (*slot == NULL || ((*slot)->name = strdup(head)) == NULL)
			return fail(ld, line, "out of memory");
		ld->acl_line[i] = line;
		ld->acl = *slot;
		return 0;
	}
	name = head + strcspn(head, " \t");
	if (*name != '\0')
		*name++ = '\0';
	name = trim(name);
	if (strcmp(head, "transport") != 0 && strcmp(head, "router") != 0)
		return fail(ld, line,
		            "unknown block \"%s%s%s:\" (use acl_smtp_connect, acl_smtp_helo, "
		            "acl_smtp_mail, acl_smtp_rcpt, acl_smtp_data, transport NAME or router "
		            "NAME)",
		            head, *name ? " " : "", name);
	if (!valid_block_name(name))
		return fail(ld, line, "%s: bad or missing name \"%s\" (use letters, digits, _ - .)",
		            head, name);
	for (size_t i = 0; i < cfg->nblocks; i++)
		if (strcmp(cfg->blocks[i].kind, head) == 0 &&
		    strcmp(cfg->blocks[i].name, name) == 0)
			return fail(ld, line, "duplicate %s \"%s\" (first on line %d)", head, name,
			            cfg->blocks[i].line);
	grown = realloc(cfg->blocks, (cfg->nblocks + 1) * sizeof *grown);
	if (grown == NULL)
		return fail(ld, line, "out of memory");
	cfg->blocks = grown;
	ld->block = &cfg->blocks[cfg->nblocks++];
	*ld->block =
	        (struct config_block){ .kind = strdup(head), .name = strdup(name), .line = line };
	if (ld->block->kind == NULL || ld->block->name == NULL)
		return fail(ld, line, "out of memory");
	return 0;
}

static int
block_line(struct loader *ld, char *text, int line)
{
	struct config_block *b = ld->block;
	char *eq = strchr(text, '='), *key, *value;
	struct config_kv *grown;

	if (eq == NULL)
		return fail(ld, line, "%s %s: expected \"name = value\", got \"%s\"", b->kind,
		            b->name, text);
	*eq = '\0';
	key = trim(text);
	value = trim(eq + 1);
	for (const char *k = key; *k != '\0'; k++)
		if (!islower((unsigned char)*k) && !isdigit((unsigned char)*k) && *k != '_')
			return fail(ld, line, "%s %s: bad option name \"%s\"", b->kind, b->name,
			            key);
	if (*key == '\0')
		return fail(ld, line, "%s %s: missing option name before \"=\"", b->kind, b->name);
	for (size_t i = 0; i < b->nopts; i++)
		if (strcmp(b->opts[i].key, key) == 0)
			return fail(ld, line,
			            "%s %s: duplicate option \"%s\" (first set on line %d)",
			            b->kind, b->name, key, b->opts[i].line);
	grown = realloc(b->opts, (b->nopts + 1) * sizeof *grown);
	if (grown == NULL)
		return fail(ld, line, "out of memory");
	b->opts = grown;
	b->opts[b->nopts++] =
	        (struct config_kv){ .key = strdup(key), .value = strdup(value), .line = line };
	if (b->opts[b->nopts - 1].key == NULL || b->opts[b->nopts - 1].value == NULL)
		return fail(ld, line, "out of memory");
	return 0;
}

static int
acl_line(struct loader *ld, char *body, int line)
{
	static const char *const verbs[] = { "accept", "deny", "defer", "drop", "warn" };
	struct err sub = { 0 };
	size_t wlen = strcspn(body, " \t");
	int is_verb = 0, rc;

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strlen(verbs[i]) == wlen && strncmp(verbs[i], body, wlen) == 0)
			is_verb = 1;
	rc = is_verb ? acl_parse_verb_line(ld->acl, body, line, &sub)
	             : acl_parse_continuation(ld->acl, body, line, &sub);
	if (rc != 0)
		return fail(ld, line, "%s", sub.text);
	return 0;
}

/* One logical line (comments gone, continuations joined). */
static int
process_line(struct loader *ld, char *text, int line)
{
	char *body = trim(text);
	int indented = isspace((unsigned char)text[0]);

	if (*body == '\0')
		return 0;
	if (indented) {
		if (ld->acl != NULL)
			return acl_line(ld, body, line);
		if (ld->block != NULL)
			return block_line(ld, body, line);
		return fail(ld, line, "indented line outside a block: \"%s\"", body);
	}
	if (end_block(ld) != 0)
		return -1;
	if (strchr(body, '=') != NULL)
		return option_line(ld, body, line);
	if (body[strlen(body) - 1] == ':')
		return header_line(ld, body, line);
	return fail(ld, line,
	            "expected \"name = value\" or a block header (\"acl_smtp_rcpt:\", "
	            "\"transport NAME:\", \"router NAME:\"), got \"%s\"",
	            body);
}

/* Read physical lines, join "\" continuations, hand logical lines on. */
static int
read_file(struct loader *ld, FILE *f)
{
	char *phys = NULL, *logical = NULL;
	size_t cap = 0, llen = 0;
	ssize_t n;
	int lineno = 0, start = 0, rc = -1, pending = 0;

	while ((n = getline(&phys, &cap, f)) >= 0) {
		char *part = phys;
		size_t plen;
		lineno++;
		if (memchr(phys, '\0', (size_t)n) != NULL) {
			fail(ld, lineno, "NUL byte in the line");
			goto out;
		}
		while (n > 0 && (phys[n - 1] == '\n' || phys[n - 1] == '\r'))
			phys[--n] = '\0';
		strip_comment(phys);
		plen = strlen(phys);
		while (plen > 0 && isspace((unsigned char)phys[plen - 1]))
			phys[--plen] = '\0';
		if (pending) {
			while (isspace((unsigned char)*part))
				part++;
			plen = strlen(part);
		} else {
			start = lineno;
			llen = 0;
		}
		char *grown = realloc(logical, llen + plen + 2);
		if (grown == NULL) {
			fail(ld, lineno, "out of memory");
			goto out;
		}
		logical = grown;
		if (pending)
			logical[llen++] = ' '; /* the "\" and the leading blanks: one space */
		memcpy(logical + llen, part, plen + 1);
		llen += plen;
		pending = llen > 0 && logical[llen - 1] == '\\';
		if (pending) {
			logical[--llen] = '\0';
			continue;
		}
		if (process_line(ld, logical, start) != 0)
			goto out;
	}
	if (ferror(f)) {
		fail(ld, 0, "read error: %s", strerror(errno));
		goto out;
	}
	if (pending && process_line(ld, logical, start) != 0)
		goto out;
	rc = end_block(ld);
out:
	free(phys);
	free(logical);
	return rc;
}

/* --- the whole file ---------------------------------------------------------------- */

static int
apply_defaults(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	size_t icert = 0, ikey = 0;

	for (size_t i = 0; i < NOPTIONS; i++) {
		if (strcmp(options[i].name, "tls_certificate") == 0)
			icert = i;
		if (strcmp(options[i].name, "tls_privatekey") == 0)
			ikey = i;
		if (ld->opt_line[i] == 0 && options[i].dflt != NULL &&
		    set_option(ld, &options[i], options[i].dflt, 0) != 0)
			return -1;
	}
	if (cfg->tls_certificate.n != cfg->tls_privatekey.n)
		return fail(ld, ld->opt_line[ikey] ? ld->opt_line[ikey] : ld->opt_line[icert],
		            "tls_certificate has %zu item(s) but tls_privatekey has %zu: give one "
		            "key per certificate, in the same order",
		            cfg->tls_certificate.n, cfg->tls_privatekey.n);
	if (cfg->tls_advertise_hosts == NULL) {
		cfg->tls_advertise_hosts = strdup(cfg->tls_certificate.n > 0 ? "*" : "");
		if (cfg->tls_advertise_hosts == NULL)
			return fail(ld, 0, "out of memory");
	}
	if (cfg->primary_hostname == NULL) {
		char host[256] = "";
		if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
			strcpy(host, "localhost");
		host[sizeof host - 1] = '\0';
		cfg->primary_hostname = strdup(host);
		if (cfg->primary_hostname == NULL)
			return fail(ld, 0, "out of memory");
	}
	return 0;
}

int
config_load(const char *path, struct config **out, struct err *e)
{
	struct loader ld = { .e = e };
	struct config *cfg;
	FILE *f = NULL;
	char *copy = NULL;
	int rc = -1;

	*out = NULL;
	cfg = calloc(1, sizeof *cfg);
	if (cfg == NULL || (cfg->file = strdup(path)) == NULL) {
		err_set(e, 1, "%s: out of memory", path);
		goto out;
	}
	ld.cfg = cfg;
	f = fopen(path, "r");
	if (f == NULL) {
		fail(&ld, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	copy = strdup(path);
	if (copy == NULL) {
		fail(&ld, 0, "out of memory");
		goto out;
	}
	cfg->dir = realpath(dirname(copy), NULL);
	if (cfg->dir == NULL) {
		fail(&ld, 0, "cannot resolve its directory: %s", strerror(errno));
		goto out;
	}
	if (read_file(&ld, f) != 0 || apply_defaults(&ld) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(copy);
	config_free(cfg);
	return rc;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NOPTIONS; i++) {
		void *field = (char *)cfg + options[i].off;
		switch (options[i].type) {
		case OPT_STRING:
		case OPT_PATH:
		case OPT_LOGPATH:
		case OPT_RPATH:
		case OPT_HOSTLIST:
		case OPT_LISTEN:
		case OPT_DNSSERVER:
		case OPT_BACKEND:
		case OPT_MBOXFMT:
			free(*(char **)field);
			break;
		case OPT_LIST:
		case OPT_RPATHLIST:
			strlist_free(field);
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < NACLS; i++)
		acl_free(*(struct acl **)((char *)cfg + acl_blocks[i].off));
	for (size_t i = 0; i < cfg->nblocks; i++) {
		for (size_t j = 0; j < cfg->blocks[i].nopts; j++) {
			free(cfg->blocks[i].opts[j].key);
			free(cfg->blocks[i].opts[j].value);
		}
		free(cfg->blocks[i].opts);
		free(cfg->blocks[i].kind);
		free(cfg->blocks[i].name);
	}
	free(cfg->blocks);
	free(cfg->file);
	free(cfg->dir);
	free(cfg);
}

/* --- value parsers shared with the router and transport blocks -------------------- */

int
config_parse_time(const char *s, unsigned *out)
{
	static const uint64_t time_mult[] = { 1, 60, 3600 };
	uint64_t v;

	if (parse_scaled(s, "smh", time_mult, UINT_MAX, &v) != 0 || v == 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int
config_bad_host_item(const char *list, char *bad, size_t len)
{
	struct strlist l = { 0 };
	int found = 0;

	if (strlist_split(&l, list) != 0) {
		snprintf(bad, len, "(out of memory)");
		return 1;
	}
	for (size_t i = 0; i < l.n && !found; i++) {
		if (!has_var_ref(l.v[i]) && !match_host_item_valid(l.v[i])) {
			snprintf(bad, len, "%s", l.v[i]);
			found = 1;
		}
	}
	strlist_free(&l);
	return found;
}

const char *
config_block_get(const struct config_block *b, const char *key, int *line)
{
	for (size_t i = 0; i < b->nopts; i++) {
		if (strcmp(b->opts[i].key, key) == 0) {
			if (line != NULL)
				*line = b->opts[i].line;
			return b->opts[i].value;
		}
	}
	return NULL;
}
