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
#include "event.h"
#include "lookup.h"
#include "match.h"
#include "net.h"
#include "option.h"
#include "strutil.h"

static int listen_valid(const char *s);
static int dns_server_valid(const char *s);
static int log_selector_valid(const char *s);

#define OFF(f) offsetof(struct config, f)
#define O(n, t, d) .name = #n, .type = OPTION_##t, .off = OFF(n), .dflt = d

/* The main section (docs/config.md "Options"). */
static const struct option_def main_options[] = {
	{ O(primary_hostname, STRING, NULL) },
	{ O(listen, STRING, "127.0.0.1:2525"), .valid = listen_valid, .what = "address",
	  .hint = "(use ADDR:PORT or [IPv6]:PORT, port 1-65535)" },
	{ O(spool_directory, PATH, "spool") },
	{ O(log_file, LOGPATH, "log/main.log") },
	{ O(user, STRING, NULL) },
	{ O(run_as_root, BOOL, "false") },
	{ O(worker_processes, UINT_POS, "4") },
	{ O(worker_idle_timeout, TIME, "30") },
	{ O(tls_backend, CHOICE, "openssl"), .choices = "openssl gnutls", .what = "backend",
	  .hint = "(use openssl or gnutls)" },
	{ O(tls_certificate, RPATHLIST, NULL) },
	{ O(tls_privatekey, RPATHLIST, NULL) },
	{ O(tls_advertise_hosts, HOSTLIST, NULL) },
	{ O(tls_required_hosts, HOSTLIST, "") },
	{ O(tls_require_ciphers, STRING, NULL) },
	{ O(tls_verify_certificates, RPATH, NULL) },
	/* Expanded and read on every connection (server/smtpd_ocsp.c), so a
	 * plain list here: no path is resolved or checked at load. */
	{ O(tls_ocsp_file, LIST, NULL) },
	{ O(smtp_accept_max, UINT_POS, "100") },
	{ O(smtp_accept_max_per_host, UINT_POS, "20") },
	{ O(smtp_receive_timeout, TIME, "300") },
	{ O(smtp_command_timeout, TIME, "300") },
	{ O(smtp_data_timeout, TIME, "1800") },
	{ O(smtp_session_timeout, TIME, "3600") },
	{ O(smtp_drain_timeout, TIME, "60") },
	{ O(smtp_max_unknown_commands, UINT, "3") },
	{ O(smtp_max_synprot_errors, UINT, "3") },
	{ O(recipients_max, UINT_POS, "100") },
	{ O(message_size_limit, SIZE, "50M") },
	{ O(prdr_enable, BOOL, "false") },
	{ O(proxy_required_hosts, HOSTLIST, "") },
	{ O(proxy_protocol_timeout, TIME, "3") },
	{ O(host_lookup, HOSTLIST, "") },
	{ O(log_selector, STRING, NULL), .valid = log_selector_valid, .what = "selector list",
	  .hint = "(use words like +proxy +spf -incoming_port; see docs/log.md)" },
	{ O(event_action, STRING, NULL), .valid = event_action_valid, .what = "expansion",
	  .hint = "(see docs/expand.md)" },
	{ O(local_event_action, STRING, NULL), .valid = event_action_valid, .what = "expansion",
	  .hint = "(see docs/expand.md)" },
	{ O(dns_server, STRING, NULL), .valid = dns_server_valid, .what = "server",
	  .hint = "(use ADDR@PORT with an IPv4 or IPv6 address, port 1-65535)" },
	{ O(dns_trust_anchor, RPATH, NULL) },
	{ O(redis_servers, STRING, NULL), .valid = lookup_redis_servers_valid,
	  .what = "server list",
	  .hint = "(use HOST[:PORT]/DB/PASSWORD items; \"<;\" as the separator when a port is "
	          "given)" },
	{ O(local_domains, LIST, NULL) },
	{ O(postmaster_bypass_acl, BOOL, "true") },
	{ O(mailbox_directory, PATH, "mail") },
	{ O(mailbox_format, CHOICE, "maildir"), .choices = "maildir mbox", .what = "format",
	  .hint = "(use maildir or mbox)" },
	{ O(log_dns, BOOL, "false") },
	{ O(spf_guess, STRING, "v=spf1 a/24 mx/24 ptr ?all") },
	{ O(dmarc_tld_file, RPATH, NULL) },
	{ O(dmarc_history_file, PATH, NULL) },
	{ O(dmarc_forensic_sender, STRING, NULL) },
	{ O(queue_run_interval, TIME, NULL) },
	{ O(queue_run_max, UINT_POS, "1"), .max = QUEUE_RUN_MAX_LIMIT },
	{ O(spool_cleanup_age, TIME, "24h") },
	{ O(retry_rule, STRING, NULL) },
	{ O(message_logs, BOOL, "true") },
	{ O(test_clock, CLOCK, NULL) },
	{ O(test_ids, BOOL, "false") },
	{ O(test_dmarc_pct_roll, UINT, NULL), .max = 99 },
};
#undef O
#define NOPTIONS (sizeof main_options / sizeof main_options[0])

const struct option_table config_main_options = { "main", main_options, NOPTIONS, NULL };

static const struct {
	const char *name;
	size_t off;
} acl_blocks[] = {
	{ "acl_smtp_connect", OFF(acl_smtp_connect) }, /* before the greeting */
	{ "acl_smtp_helo", OFF(acl_smtp_helo) },       /* HELO / EHLO */
	{ "acl_smtp_mail", OFF(acl_smtp_mail) },       /* MAIL FROM */
	{ "acl_smtp_rcpt", OFF(acl_smtp_rcpt) },       /* each RCPT TO */
	{ "acl_smtp_data", OFF(acl_smtp_data) },       /* after the message */
	/* PRDR: each recipient after the message, before acl_smtp_data.  The
	 * seed's name and Exim's later one are one block (docs/prdr.md). */
	{ "acl_smtp_data_prdr", OFF(acl_smtp_data_prdr) },
	{ "acl_data_smtp_prdr", OFF(acl_smtp_data_prdr) },
};
#define NACLS (sizeof acl_blocks / sizeof acl_blocks[0])

struct loader {
	struct config *cfg;
	struct err *e;
	struct option_ctx ctx;      /* errors as "FILE:LINE: message" (server/option.h) */
	int opt_line[NOPTIONS];     /* where each option was set; 0 = not set */
	int acl_line[NACLS];        /* where each ACL block started */
	struct acl *acl;            /* the ACL block being read, or NULL */
	struct config_block *block; /* the transport/router block being read, or NULL */
	struct expand_store macros; /* upper-case "NAME = value" lines so far */
};

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

/* "ADDR:PORT" (IPv4) or "[IPv6]:PORT", port 1-65535. */
static int
listen_valid(const char *s)
{
	struct net_addr a;

	if (net_parse_addr_port(s, &a) != 0 || a.port < 1)
		return 0;
	/* Brackets for IPv6 and only for IPv6. */
	return (a.ss.ss_family == AF_INET6) == (s[0] == '[');
}

/* "ADDR@PORT" (libunbound's forwarder syntax), IPv4 or IPv6 literal, port 1-65535. */
static int
dns_server_valid(const char *s)
{
	struct net_addr a;

	return net_parse_addr_at_port(s, &a) == 0 && a.port >= 1;
}

/* log_selector: white-space separated "+word" / "-word" (Exim's syntax),
 * applied left to right over the defaults; "+all" / "-all" every word. */
int
config_log_selector_parse(const char *value, unsigned *bits, size_t *bad)
{
	static const struct {
		const char *name;
		unsigned bit;
	} words[] = {
		{ "proxy", CONFIG_LOG_PROXY },
		{ "incoming_port", CONFIG_LOG_INCOMING_PORT },
		{ "spf", CONFIG_LOG_SPF },
		{ "all", CONFIG_LOG_PROXY | CONFIG_LOG_INCOMING_PORT | CONFIG_LOG_SPF },
	};
	const char *p = value;

	*bits = CONFIG_LOG_DEFAULT;
	while (*p != '\0') {
		size_t n, i;
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		n = strcspn(p, " \t");
		for (i = 0; i < sizeof words / sizeof words[0]; i++)
			if ((p[0] == '+' || p[0] == '-') && strlen(words[i].name) == n - 1 &&
			    strncmp(p + 1, words[i].name, n - 1) == 0)
				break;
		if (i == sizeof words / sizeof words[0]) {
			*bad = (size_t)(p - value);
			return -1;
		}
		if (p[0] == '+')
			*bits |= words[i].bit;
		else
			*bits &= ~words[i].bit;
		p += n;
	}
	return 0;
}

static int
log_selector_valid(const char *s)
{
	unsigned bits;
	size_t bad;

	return config_log_selector_parse(s, &bits, &bad) == 0;
}

static int
option_line(struct loader *ld, char *text, int line)
{
	char *eq = strchr(text, '=');
	char *name, *value;
	int i;

	*eq = '\0';
	name = trim(text);
	value = trim(eq + 1);
	if (*name == '\0')
		return option_fail(&ld->ctx, line, "missing option name before \"=\"");
	if ((i = option_index(&config_main_options, name)) < 0)
		return option_unknown(&config_main_options, &ld->ctx, name, line);
	if (ld->opt_line[i] != 0)
		return option_fail(&ld->ctx, line, "duplicate option \"%s\" (first set on line %d)",
		                   name, ld->opt_line[i]);
	ld->opt_line[i] = line;
	return option_set(&ld->ctx, &main_options[i], ld->cfg, value, line);
}

/* --- blocks ------------------------------------------------------------------------ */

/* The ACL or block being read ends: check what needs the whole of it. */
static int
end_block(struct loader *ld)
{
	struct err sub = { 0 };
	int rc = 0;

	if (ld->acl != NULL && acl_check(ld->acl, &sub) != 0)
		rc = option_fail(&ld->ctx, sub.code, "%s", sub.text);
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

/* "acl NAME:": an ACL run by ${acl{NAME}} (docs/expand.md). */
static int
named_acl(struct loader *ld, const char *name, int line)
{
	struct config *cfg = ld->cfg;
	struct acl **grown, *a;

	if (!valid_block_name(name))
		return option_fail(&ld->ctx, line,
		                   "acl: bad or missing name \"%s\" (use letters, digits, _ - .)",
		                   name);
	if (config_acl_find(cfg, name) != NULL)
		return option_fail(&ld->ctx, line, "duplicate acl \"%s\"", name);
	grown = realloc(cfg->acls, (cfg->nacls + 1) * sizeof *grown);
	if (grown == NULL)
		return option_fail(&ld->ctx, line, "out of memory");
	cfg->acls = grown;
	a = calloc(1, sizeof *a);
	if (a == NULL || (a->name = strdup(name)) == NULL) {
		free(a);
		return option_fail(&ld->ctx, line, "out of memory");
	}
	cfg->acls[cfg->nacls++] = a;
	ld->acl = a;
	return 0;
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
		if (*slot != NULL) {
			/* An alias (same slot) counts as the same block. */
			for (size_t j = 0; j < NACLS; j++)
				if (acl_blocks[j].off == acl_blocks[i].off && ld->acl_line[j] != 0)
					return option_fail(
					        &ld->ctx, line,
					        "duplicate block \"%s:\" (first on line %d%s%s%s)",
					        head, ld->acl_line[j], j == i ? "" : " as \"",
					        j == i ? "" : acl_blocks[j].name,
					        j == i ? "" : ":\"");
		}
		*slot = calloc(1, sizeof **slot);
		if (*slot == NULL || ((*slot)->name = strdup(head)) == NULL)
			return option_fail(&ld->ctx, line, "out of memory");
		ld->acl_line[i] = line;
		ld->acl = *slot;
		return 0;
	}
	name = head + strcspn(head, " \t");
	if (*name != '\0')
		*name++ = '\0';
	name = trim(name);
	if (strcmp(head, "acl") == 0)
		return named_acl(ld, name, line);
	if (strcmp(head, "transport") != 0 && strcmp(head, "router") != 0)
		return option_fail(
		        &ld->ctx, line,
		        "unknown block \"%s%s%s:\" (use acl_smtp_connect, acl_smtp_helo, "
		        "acl_smtp_mail, acl_smtp_rcpt, acl_smtp_data, acl_smtp_data_prdr, "
		        "acl NAME, transport NAME or router NAME)",
		        head, *name ? " " : "", name);
	if (!valid_block_name(name))
		return option_fail(&ld->ctx, line,
		                   "%s: bad or missing name \"%s\" (use letters, digits, _ - .)",
		                   head, name);
	for (size_t i = 0; i < cfg->nblocks; i++)
		if (strcmp(cfg->blocks[i].kind, head) == 0 &&
		    strcmp(cfg->blocks[i].name, name) == 0)
			return option_fail(&ld->ctx, line, "duplicate %s \"%s\" (first on line %d)",
			                   head, name, cfg->blocks[i].line);
	grown = realloc(cfg->blocks, (cfg->nblocks + 1) * sizeof *grown);
	if (grown == NULL)
		return option_fail(&ld->ctx, line, "out of memory");
	cfg->blocks = grown;
	ld->block = &cfg->blocks[cfg->nblocks++];
	*ld->block =
	        (struct config_block){ .kind = strdup(head), .name = strdup(name), .line = line };
	if (ld->block->kind == NULL || ld->block->name == NULL)
		return option_fail(&ld->ctx, line, "out of memory");
	return 0;
}

static int
block_line(struct loader *ld, char *text, int line)
{
	struct config_block *b = ld->block;
	char *eq = strchr(text, '='), *key, *value;
	struct config_kv *grown;

	if (eq == NULL)
		return option_fail(&ld->ctx, line, "%s %s: expected \"name = value\", got \"%s\"",
		                   b->kind, b->name, text);
	*eq = '\0';
	key = trim(text);
	value = trim(eq + 1);
	for (const char *k = key; *k != '\0'; k++)
		if (!islower((unsigned char)*k) && !isdigit((unsigned char)*k) && *k != '_')
			return option_fail(&ld->ctx, line, "%s %s: bad option name \"%s\"", b->kind,
			                   b->name, key);
	if (*key == '\0')
		return option_fail(&ld->ctx, line, "%s %s: missing option name before \"=\"",
		                   b->kind, b->name);
	for (size_t i = 0; i < b->nopts; i++)
		if (strcmp(b->opts[i].key, key) == 0)
			return option_fail(&ld->ctx, line,
			                   "%s %s: duplicate option \"%s\" (first set on line %d)",
			                   b->kind, b->name, key, b->opts[i].line);
	grown = realloc(b->opts, (b->nopts + 1) * sizeof *grown);
	if (grown == NULL)
		return option_fail(&ld->ctx, line, "out of memory");
	b->opts = grown;
	b->opts[b->nopts++] =
	        (struct config_kv){ .key = strdup(key), .value = strdup(value), .line = line };
	if (b->opts[b->nopts - 1].key == NULL || b->opts[b->nopts - 1].value == NULL)
		return option_fail(&ld->ctx, line, "out of memory");
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
		return option_fail(&ld->ctx, line, "%s", sub.text);
	return 0;
}

/* One logical line (comments gone, continuations joined). */
static int
process_line(struct loader *ld, char *text, int line)
{
	char why[200];
	char *body = trim(text);
	int indented = isspace((unsigned char)text[0]);

	if (*body == '\0')
		return 0;
	if (indented) {
		if (ld->acl != NULL)
			return acl_line(ld, body, line);
		if (ld->block != NULL)
			return block_line(ld, body, line);
		return option_fail(&ld->ctx, line, "indented line outside a block: \"%s\"", body);
	}
	if (end_block(ld) != 0)
		return -1;
	switch (config_named_list_line(ld->cfg, body, line, why, sizeof why)) {
	case 1:
		return 0;
	case -1:
		return option_fail(&ld->ctx, line, "%s", why);
	default:
		break;
	}
	if (strchr(body, '=') != NULL)
		return option_line(ld, body, line);
	if (body[strlen(body) - 1] == ':')
		return header_line(ld, body, line);
	return option_fail(&ld->ctx, line,
	                   "expected \"name = value\" or a block header (\"acl_smtp_rcpt:\", "
	                   "\"transport NAME:\", \"router NAME:\"), got \"%s\"",
	                   body);
}

/* A logical line through the macros (Exim spec 6.4), then parsed. */
static int
macro_line(struct loader *ld, const char *logical, int line)
{
	char why[200], *text;
	int rc = config_macro_process(&ld->macros, logical, &text, why, sizeof why);

	if (rc < 0)
		return option_fail(&ld->ctx, line, "%s", why);
	if (rc == 1)
		return 0;
	rc = process_line(ld, text, line);
	free(text);
	return rc;
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
			option_fail(&ld->ctx, lineno, "NUL byte in the line");
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
			option_fail(&ld->ctx, lineno, "out of memory");
			goto out;
		}
		logical = grown;
		/* The "\" and the leading blanks: one space, none more when the
		 * line already ended in one ("negotiation \" + "from": Exim's
		 * text, a single space). */
		if (pending && (llen == 0 || !isspace((unsigned char)logical[llen - 1])))
			logical[llen++] = ' ';
		memcpy(logical + llen, part, plen + 1);
		llen += plen;
		pending = llen > 0 && logical[llen - 1] == '\\';
		if (pending) {
			logical[--llen] = '\0';
			continue;
		}
		if (macro_line(ld, logical, start) != 0)
			goto out;
	}
	if (ferror(f)) {
		option_fail(&ld->ctx, 0, "read error: %s", strerror(errno));
		goto out;
	}
	if (pending && macro_line(ld, logical, start) != 0)
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
	int icert = option_index(&config_main_options, "tls_certificate");
	int ikey = option_index(&config_main_options, "tls_privatekey");

	if (option_set_defaults(&config_main_options, &ld->ctx, cfg, ld->opt_line) != 0)
		return -1;
	cfg->test_clock_set = ld->opt_line[option_index(&config_main_options, "test_clock")] != 0;
	cfg->test_dmarc_pct_roll_set =
	        ld->opt_line[option_index(&config_main_options, "test_dmarc_pct_roll")] != 0;
	if (cfg->tls_certificate.n != cfg->tls_privatekey.n)
		return option_fail(
		        &ld->ctx, ld->opt_line[ikey] ? ld->opt_line[ikey] : ld->opt_line[icert],
		        "tls_certificate has %zu item(s) but tls_privatekey has %zu: give one "
		        "key per certificate, in the same order",
		        cfg->tls_certificate.n, cfg->tls_privatekey.n);
	/* The seed: one response per certificate, in tls_certificate's order. */
	if (cfg->tls_ocsp_file.n > cfg->tls_certificate.n)
		return option_fail(
		        &ld->ctx, ld->opt_line[option_index(&config_main_options, "tls_ocsp_file")],
		        "tls_ocsp_file has %zu item(s) but tls_certificate has %zu: at "
		        "most one response per certificate, in the same order",
		        cfg->tls_ocsp_file.n, cfg->tls_certificate.n);
	if (cfg->tls_advertise_hosts == NULL) {
		cfg->tls_advertise_hosts = strdup(cfg->tls_certificate.n > 0 ? "*" : "");
		if (cfg->tls_advertise_hosts == NULL)
			return option_fail(&ld->ctx, 0, "out of memory");
	}
	cfg->log_selectors = CONFIG_LOG_DEFAULT;
	if (cfg->log_selector != NULL) {
		size_t bad;
		if (config_log_selector_parse(cfg->log_selector, &cfg->log_selectors, &bad) != 0)
			return option_fail(&ld->ctx, 0,
			                   "log_selector: bad word"); /* checked at set */
	}
	if (cfg->primary_hostname == NULL) {
		char host[256] = "";
		if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
			strcpy(host, "localhost");
		host[sizeof host - 1] = '\0';
		cfg->primary_hostname = strdup(host);
		if (cfg->primary_hostname == NULL)
			return option_fail(&ld->ctx, 0, "out of memory");
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
	ld.ctx = (struct option_ctx){ .file = cfg->file, .prefix = "", .e = e };
	f = fopen(path, "r");
	if (f == NULL) {
		option_fail(&ld.ctx, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	copy = strdup(path);
	if (copy == NULL) {
		option_fail(&ld.ctx, 0, "out of memory");
		goto out;
	}
	cfg->dir = realpath(dirname(copy), NULL);
	if (cfg->dir == NULL) {
		option_fail(&ld.ctx, 0, "cannot resolve its directory: %s", strerror(errno));
		goto out;
	}
	ld.ctx.dir = cfg->dir;
	if (read_file(&ld, f) != 0 || apply_defaults(&ld) != 0)
		goto out;
	{
		char why[300];
		int line = 0;
		if (config_names_check(cfg, &line, why, sizeof why) != 0) {
			option_fail(&ld.ctx, line, "%s", why);
			goto out;
		}
	}
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	expand_store_clear(&ld.macros);
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
	option_free(&config_main_options, cfg);
	for (size_t i = 0; i < NACLS; i++) {
		struct acl **slot = (struct acl **)((char *)cfg + acl_blocks[i].off);
		acl_free(*slot); /* aliases share a slot: free it once */
		*slot = NULL;
	}
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
	config_names_free(cfg);
	free(cfg->file);
	free(cfg->dir);
	free(cfg);
}

/* --- blocks, for their readers ------------------------------------------------------ */

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
