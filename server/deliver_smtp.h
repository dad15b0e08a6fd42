/*
 * deliver_smtp.h - the smtp transport: one message, its recipients for one
 * route, and the hosts to try in order (docs/delivery.md "smtp transport").
 *
 * Client ESMTP (RFC 5321): EHLO, falling back to HELO when EHLO gets a 5xx;
 * PIPELINING when offered (MAIL, RCPTs and DATA sent as one group, RFC 2920);
 * SIZE=, BODY=8BITMIME, and the DSN parameters (NOTIFY, ORCPT, RET, ENVID:
 * RFC 3461) passed on when the server offers them; BDAT (RFC 3030) when
 * offered; up to max_rcpt recipients per transaction; the next host on a
 * host-level failure; the connection kept for the next message to the same
 * host (struct smtp_cache).
 *
 * Host-level failures (try the next host; when none is left, every
 * recipient not yet decided defers): connection refused or timed out, 4xx
 * at the greeting, EHLO/HELO or MAIL, a lost connection, TLS required but
 * not offered, a failed handshake on a host in hosts_require_tls, a
 * certificate that does not verify on a host in tls_verify_hosts.
 * A 5xx at the greeting, EHLO+HELO or MAIL fails every recipient of the
 * transaction (no other host is tried: the answer is the domain's).
 * RCPT: 2xx accepted, 4xx that recipient defers, 5xx it fails.  DATA or
 * end of data: 4xx defers and 5xx fails every accepted recipient.
 * PRDR (hosts_try_prdr, when offered and the transaction has more than
 * one recipient): after "353", each accepted recipient by its own reply,
 * an overall 4xx/5xx overriding its 2xx (docs/prdr.md).
 *
 * TLS (the seed's option names; host lists match the host's IP address,
 * server/match.h):
 *   STARTTLS whenever the server offers it; hosts_require_tls: TLS is a
 *   must.  A failed handshake on a host not in hosts_require_tls reconnects
 *   in clear text (tls_tempfail_tryclear, default true).
 *   Verification: the chain against tls_verify_certificates; when the host
 *   is in tls_verify_cert_hostnames (default "*"), the certificate's names
 *   against the host's name as routed (the MX exchange, before any CNAME:
 *   lib/certname.c rules).  In tls_verify_hosts a failure abandons the host;
 *   in tls_try_verify_hosts (default "*") delivery carries on with CV=no;
 *   a host in neither list is not checked (CV=no, "not-checked").
 *   tls_sni: "$host" sends the host's name, a literal sends itself, unset
 *   sends none.
 *
 * Log lines: host-level problems are logged here, one line each, as
 *   "ID H=NAME [IP]:PORT: REASON" (e.g. "Connection refused",
 *   "SMTP error from remote mail server after initial connection: 421 busy",
 *   "TLS required but not offered", "TLS session: certificate verification
 *   failed: unknown-ca"); per-recipient outcomes are the caller's to log,
 *   with smtp_host_log_fields() and the per-recipient results.
 */
#ifndef REFMTA_DELIVER_SMTP_H
#define REFMTA_DELIVER_SMTP_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "router.h"
#include "spool.h"
#include "tls.h"

struct smtp_transport { /* a "transport NAME:" block with driver = smtp */
	char *name;
	int line;
	unsigned port;                   /* default 25 */
	char *helo_data;                 /* default: primary_hostname */
	unsigned connect_timeout;        /* seconds; default 30 */
	unsigned command_timeout;        /* seconds per reply; default 300 */
	unsigned data_timeout;           /* seconds per block of data; default 300 */
	unsigned max_rcpt;               /* per transaction; default 100 */
	char *hosts_require_tls;         /* host list; default "" */
	char *tls_verify_certificates;   /* CA file (PEM); NULL: chains cannot verify (CV=no
	                                    not-checked) */
	char *tls_verify_hosts;          /* host list; default "" */
	char *tls_try_verify_hosts;      /* host list; default "*" */
	char *tls_verify_cert_hostnames; /* host list; default "*" */
	char *tls_sni;                   /* "$host", a literal, or NULL */
	char *tls_certificate;           /* client certificate (PEM), or NULL */
	char *tls_privatekey;
	char *tls_require_ciphers; /* backend-native, or NULL */
	int tls_tempfail_tryclear; /* default 1 */
	char *hosts_try_prdr;      /* host list; default "*": PRDR when offered (docs/prdr.md) */
	char *hosts_request_ocsp;  /* host list: ask for a staple; default "*" */
	char *hosts_require_ocsp;  /* host list: a verified good staple or the host is refused;
	                            * default "" */
	char *hosts_try_dane;      /* host list; default "" (docs/dane.md) */
	char *hosts_require_dane;  /* host list; default "" */
	char *event_action;        /* per-attempt events (docs/events.md); NULL = none */
};

/* Read and check a transport block whose driver is smtp: unknown option,
 * bad number or time ("30s", "5m"), bad host list, unreadable file.
 * Errors: -1, e->text = "FILE:LINE: transport NAME: ...". */
int smtp_transport_parse(const struct config *cfg, const struct config_block *b,
                         struct smtp_transport *out, struct err *e) MUST_CHECK;
void smtp_transport_free(struct smtp_transport *t); /* members; accepts zeroed */

/* What refmta learned about the host it last talked to (for logs and DSN_INFO). */
struct smtp_host_facts {
	char name[256]; /* route_host.name */
	char address[64];
	unsigned port;
	char greeting[1024];      /* first line of the greeting ("" = none received) */
	char helo_response[1024]; /* first line of the EHLO/HELO reply */
	int tls;                  /* 1 when the session ran over TLS */
	char tls_version[16];     /* "TLSv1.3" */
	char tls_cipher[80];      /* IANA name */
	int cv;                   /* 1 = certificate verified (chain, and the name when checked) */
	char cv_reason[32]; /* when cv == 0: the canonical word ("unknown-ca", "name-mismatch",
	                     * "not-checked") */
	int dsn;            /* the server offered DSN (RFC 3461): it took over NOTIFY */
	int ocsp;           /* $tls_out_ocsp: 0 not requested .. 4 verified (deliver_smtp_ocsp.c) */
	int ocsp_required;  /* the host is in hosts_require_ocsp */
	char ocsp_word[24]; /* lib/tls_ocsp.h's verdict word, "not-requested" */
	int dane;           /* verified by DANE (CV=dane) */
	int ds;             /* route_host.ds_report: " DS" after H= */
	int secure;         /* route_host.secure: $lookup_dnssec_authenticated */
	unsigned tlsa_usage; /* bit N set: a usage-N record matched ($tls_out_tlsa_usage) */
	char sending_ip[64]; /* the local end of the connection ("" = not connected) */
	unsigned sending_port;
};

struct event;
/* An event's host variables from what the transport learned of the host:
 * $host, $host_address, $host_port, $sending_ip_address, $sending_port,
 * $tls_out_dane, $tls_out_tlsa_usage, $tls_out_ocsp (deliver_smtp_event.c). */
void smtp_event_host_facts(struct event *ev, const struct smtp_host_facts *f);

enum smtp_outcome {
	SMTP_RCPT_PENDING = 0,
	SMTP_RCPT_DELIVERED,
	SMTP_RCPT_DEFERRED,
	SMTP_RCPT_FAILED
};

struct smtp_rcpt_result {
	const struct spool_rcpt *rcpt; /* in */
	enum smtp_outcome outcome;     /* out, for every recipient */
	char status[16];               /* RFC 3463: the reply's enhanced code, else X.0.0 */
	char *reply;                   /* the remote reply that decided it (lines joined by "\n"):
	                                * RCPT's for a refused recipient, the final one for a delivery;
	                                * NULL when no remote reply decided it */
	char *stage;                   /* with reply: "after RCPT TO:<bob@partner.test>", ... */
	char *error;                   /* refmta's reason when reply is NULL ("Connection refused",
	                                * "TLS required but not offered") */
	int host_index;                /* the host (index into hosts) that decided it; -1 none */
	struct smtp_host_facts host;   /* facts of that host (zeroed when none) */
	int prdr;                      /* decided in a PRDR transaction (draft-hall-prdr-00) */
};

struct smtp_cache; /* open connections kept for the next message (one queue run) */
struct smtp_cache *smtp_cache_new(void);
void smtp_cache_close_all(struct smtp_cache *c); /* QUIT each, free; accepts NULL */

struct smtp_delivery {
	const struct config *cfg;
	const struct smtp_transport *t;
	const struct tls_backend *be; /* the client's TLS library */
	struct smtp_cache *cache;     /* may be NULL: no reuse */
	const char *message_id;
	const char *router_name; /* the route's router, for events */
	const struct envelope *env;
	const char *data_path;          /* input/ID-D */
	const struct route_host *hosts; /* in order */
	size_t nhosts;
	struct smtp_rcpt_result *rcpts; /* one per recipient of this route */
	size_t nrcpts;
	router_lookup_fn lookup; /* DNS for DANE's TLSA lookups; NULL: none (no DANE) */
	void *lookup_arg;
};

/* Try the hosts until every recipient has an outcome.  Returns 0 (outcomes
 * in d->rcpts, the caller frees them with smtp_rcpt_result_free()); -1 only
 * when out of memory. */
int deliver_smtp(struct smtp_delivery *d) MUST_CHECK;
void smtp_rcpt_result_free(struct smtp_rcpt_result *r); /* members */

/* "H=mx1.partner.test [127.0.0.2]:2526 X=TLSv1.3:TLS_AES_256_GCM_SHA384 CV=yes"
 * (":PORT" only when not 25; " DS" after it when the router reports secure
 * lookups (dnssec_request_domains); X= and CV= only over TLS; "CV=no
 * (unknown-ca)", "CV=dane"). */
void smtp_host_log_fields(const struct smtp_host_facts *h, char *buf, size_t len);

#endif
