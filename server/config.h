/*
 * config.h - refmta's configuration: what the file says, parsed and checked
 * once at start (and again on SIGHUP).  Everything that can be wrong with a
 * configuration is found here, reported as "file:line: message", never
 * mid-session.  Syntax and every option: docs/config.md.
 *
 * Ownership: config_load() returns a tree the caller frees with
 * config_free(); every string in it belongs to the tree.  Paths are already
 * resolved (relative ones against the config file's directory).
 */
#ifndef REFMTA_CONFIG_H
#define REFMTA_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "strlist.h"

struct acl;
struct expand_store;

/* A named list: kind is "hostlist", "domainlist", "addresslist" or
 * "localpartlist" (static); value as written, expanded when used. */
struct config_list {
	const char *kind;
	char *name, *value;
	int line;
};

/* A "transport NAME:" or "router NAME:" block, kept as written for the
 * delivery issue; its options are validated by the code that uses them. */
struct config_kv {
	char *key, *value;
	int line;
};

struct config_block {
	char *kind; /* "transport" | "router" */
	char *name;
	int line;
	struct config_kv *opts;
	size_t nopts;
};

#define QUEUE_RUN_MAX_LIMIT 64 /* queue_run_max's ceiling */

struct config {
	char *file; /* the path as given */
	char *dir;  /* its directory, absolute */

	char *primary_hostname;    /* default: gethostname() */
	char *listen;              /* "ADDR:PORT" or "[v6]:PORT"; default 127.0.0.1:2525 */
	char *spool_directory;     /* default "spool" */
	char *log_file;            /* default "log/main.log"; "-" = stderr */
	char *user;                /* drop to this user after binding when root; NULL = stay */
	int run_as_root;           /* "run_as_root = true": root without `user` allowed (tests) */
	unsigned worker_processes; /* prefork workers; default 4 */
	unsigned worker_idle_timeout; /* seconds an extra idle worker waits before leaving; 30 */

	/* TLS (server side) */
	char *tls_backend;              /* "openssl" (default) | "gnutls" */
	struct strlist tls_certificate; /* paths, one per certificate (RSA, ECDSA, per name) */
	struct strlist tls_privatekey;  /* the same count, same order */
	char *tls_advertise_hosts; /* host list; default "*" when a certificate is set, else "" */
	char *tls_required_hosts;  /* host list: MAIL needs TLS first (530 5.7.0); default "" */
	char *tls_require_ciphers; /* backend-native string; NULL = library default */
	char *tls_verify_certificates; /* CA file: ask clients for a certificate; NULL = do not ask
	                                */
	struct strlist tls_ocsp_file;  /* DER OCSP responses to staple, one per tls_certificate item
	                                * in its order ($variables expanded per connection) */

	/* Limits (RFC 5321 4.5.3 and Exim's names) */
	unsigned smtp_accept_max;          /* connections at once; default 100 */
	unsigned smtp_accept_max_per_host; /* per client address; default 20 */
	unsigned smtp_receive_timeout;     /* seconds per command / data line; default 300 */
	unsigned smtp_command_timeout;     /* seconds for one whole command line; default 300 */
	unsigned smtp_data_timeout;        /* seconds for the whole DATA/BDAT phase; default 1800 */
	unsigned smtp_session_timeout;     /* seconds for a whole session; default 3600 */
	unsigned smtp_drain_timeout;       /* SIGTERM: seconds sessions may still run; default 60 */
	unsigned smtp_max_unknown_commands; /* then 421 and close; default 3 */
	unsigned smtp_max_synprot_errors;   /* syntax/protocol errors, then 421; default 3 */
	unsigned recipients_max;            /* per message; default 100, 452 after */
	uint64_t message_size_limit;        /* bytes, SIZE; default 50 MiB; "50M" syntax */

	/* PRDR (draft-hall-prdr-00, docs/prdr.md) */
	int prdr_enable; /* advertise PRDR in EHLO; default false */
	/* PROXY protocol (server/proxy.h, docs/proxy.md) */
	char *proxy_required_hosts;      /* host list: must start with a PROXY header; default "" */
	unsigned proxy_protocol_timeout; /* seconds to wait for it; default 3 (the seed's) */
	char *host_lookup; /* host list: look these clients' names up; default "" (none) */

	/* Logging (docs/log.md) */
	char *log_selector;     /* "+proxy -incoming_port", as written; NULL = defaults */
	unsigned log_selectors; /* its effect, CONFIG_LOG_* bits (computed at load) */

	/* DNS (lib/resolver.h) */
	char *dns_server;       /* "ADDR@PORT": forward every query there; NULL = resolv.conf */
	char *dns_trust_anchor; /* trust anchor file; NULL = the system's root anchor */

	/* Lookups (docs/expand.md) */
	char *redis_servers;      /* ${lookup redis}: "HOST[:PORT]/DB/PASSWORD" list; NULL = none */
	char *event_action;       /* main-section events (docs/events.md); NULL = none */
	char *local_event_action; /* the built-in local transport's (docs/events.md); NULL = none */

	/* Local delivery */
	struct strlist local_domains; /* domains whose mail goes to mailboxes */
	int postmaster_bypass_acl; /* default true: RFC 5321 4.5.1 postmaster skips acl_smtp_rcpt */
	char *mailbox_directory;   /* default "mail": DIR/<local part> */
	char *mailbox_format;      /* "maildir" (default) | "mbox" */

	/* Delivery (docs/delivery.md) */
	int log_dns;     /* log each routing DNS lookup: "ID DNS TYPE NAME STATUS: DATA" */
	char *spf_guess; /* the spf_guess condition's record (docs/spf.md) */

	/* DMARC (docs/dmarc.md): on when dmarc_tld_file is set */
	char *dmarc_tld_file;        /* the public suffix list (RFC 7489 3.2) */
	char *dmarc_history_file;    /* opendmarc-format history, one record per message */
	char *dmarc_forensic_sender; /* sender of failure reports; NULL: <> and mailer-daemon@ */
	unsigned queue_run_interval; /* seconds between the daemon's queue runs; 0 = no runner */
	unsigned
	        queue_run_max;      /* queue runner processes at once: the daemon's, and those of
	                               one `refmta queue-run` (docs/config.md); 1..QUEUE_RUN_MAX_LIMIT */
	unsigned spool_cleanup_age; /* the queue runner removes spool litter older than this; 0 =
	                               24h */
	char *retry_rule;           /* server/retry.h schedule; NULL = RETRY_DEFAULT_SCHEDULE */
	int message_logs; /* the queue runner copies its lines to msglog/ID; default true */

	/* Test mode (DESIGN.md principle 4) */
	int test_clock_set;
	time_t test_clock; /* "test_clock = 2026-01-01T00:00:00Z": the frozen clock */
	int test_ids;      /* "test_ids = true": sequential message ids */
	int test_dmarc_pct_roll_set;
	unsigned test_dmarc_pct_roll; /* "test_dmarc_pct_roll = 49": the pct= sample, fixed */

	/* ACLs: NULL = the default (acl_smtp_rcpt: deny; the others: accept) */
	struct acl *acl_smtp_connect;
	struct acl *acl_smtp_helo;
	struct acl *acl_smtp_mail;
	struct acl *acl_smtp_rcpt;
	struct acl *acl_smtp_data;
	struct acl *acl_smtp_data_prdr; /* also named acl_data_smtp_prdr (the seed's name) */

	struct config_block *blocks;
	size_t nblocks;

	/* Named lists and ACLs (config_names.c, docs/expand.md) */
	struct config_list *lists; /* "hostlist NAME = ...", used as +NAME */
	size_t nlists;
	struct acl **acls; /* "acl NAME:" blocks, run by ${acl{NAME}} */
	size_t nacls;
};

/* log_selector's words (Exim's names): the bits of config.log_selectors. */
enum {
	CONFIG_LOG_PROXY = 1 << 0,         /* +proxy: PRX=<proxy address> on "<=" lines */
	CONFIG_LOG_INCOMING_PORT = 1 << 1, /* +incoming_port (default on): the client's
	                                    * port after its address on "<=" lines */
	CONFIG_LOG_SPF = 1 << 2,           /* +spf: SPF=<result> on "<=" and reject lines */
};
#define CONFIG_LOG_DEFAULT CONFIG_LOG_INCOMING_PORT

/* The bits a log_selector value asks for, or -1 with the bad word's
 * offset in *bad (for the error). */
int config_log_selector_parse(const char *value, unsigned *bits, size_t *bad) MUST_CHECK;

/* Parse and check.  On error: -1, e->text = "FILE:LINE: message". */
int config_load(const char *path, struct config **out, struct err *e) MUST_CHECK;
void config_free(struct config *cfg); /* accepts NULL */

/* config_names.c.  A logical line through the macros: 1 when it defined
 * one, 0 with *out = the line with macros replaced (caller frees), -1 with
 * why. */
int config_macro_process(struct expand_store *m, const char *line, char **out, char *why,
                         size_t whylen) MUST_CHECK;
/* "hostlist NAME = ..." (and the other kinds): 1 stored, 0 not such a line, -1 why. */
int config_named_list_line(struct config *cfg, const char *text, int line, char *why,
                           size_t whylen) MUST_CHECK;
/* A named list's value (kind NULL: any kind), or NULL. */
const char *config_named_list(const struct config *cfg, const char *kind, const char *name);
/* The ACL named `name` ("acl NAME:" or acl_smtp_*), or NULL. */
const struct acl *config_acl_find(const struct config *cfg, const char *name);
void config_names_free(struct config *cfg);
/* Every "+NAME" written in an ACL list condition or a named list (without
 * "${") names a defined list of its kind: 0, or -1 with *line and why. */
int config_names_check(const struct config *cfg, int *line, char *why, size_t whylen) MUST_CHECK;

/* The value of `key` in a "router NAME:" or "transport NAME:" block (and
 * its line), or NULL.  Their options are read through server/option.h. */
const char *config_block_get(const struct config_block *b, const char *key, int *line);

#endif
