/*
 * event.h - event actions (the seed's "Event Actions", formerly TPDA):
 * when something happens on the receiving or the delivering side, the
 * configured `event_action` string is expanded with $event_name,
 * $event_data and the facts of the moment in variables; for some events a
 * non-empty result changes what refmta does (docs/events.md has the list,
 * the data, the forcing and the order).
 *
 * Two options carry the string: the main section's event_action
 * (per-message and per-connection events, both directions) and the smtp
 * transport's event_action (per-attempt events: tcp:connect, smtp:connect,
 * smtp:ehlo, tls:cert, msg:delivery, msg:host:defer, tcp:close, ...).
 *
 * Callers fill a struct event and call event_raise(); the module owns the
 * variable table, the expansion and the "failed to expand" log line.  An
 * expansion error is logged and never stops what was happening.
 */
#ifndef REFMTA_EVENT_H
#define REFMTA_EVENT_H

#include <stddef.h>

#include "err.h"
#include "expand.h"

struct config;

/*
 * What an event knows (every string may be NULL: the variable is "").
 * Nothing is owned: the pointers must stay valid for the call.
 */
struct event {
	const char *name;   /* "msg:delivery" */
	const char *data;   /* $event_data: per event, docs/events.md */
	int defer_errno;    /* $event_defer_errno (msg:host:defer, msg:rcpt:host:defer) */
	const char *msg_id; /* $message_exim_id, $message_id */
	const char *sender_address;
	const char *router_name, *transport_name;
	const char *local_part, *domain;
	const char *host, *host_address;
	unsigned host_port; /* 0: "" */
	const char *sending_ip_address;
	unsigned sending_port;
	const char *tls_out_peercert; /* PEM of the certificate (tls:cert: the one at this depth) */
	const char *tls_in_peercert;  /* receiving side: the client's certificate (PEM) */
	const char *lookup_dnssec_authenticated; /* "yes" / "no" / "" as Exim */
	const char *tls_out_dane;                /* "yes" / "no" */
	unsigned tls_out_tlsa_usage; /* the seed's bitfield: bit N, a usage-N TLSA record matched */
	int tls_out_ocsp;            /* Exim's 0-4 (docs/ocsp.md); -1: "" (not a TLS session) */
	const char *verify_mode;     /* tls:cert: "peer" */
	/* Receiving side: the session's own variables after the event's
	 * (sender_host_address, ...); NULL: none. */
	const struct expand_var *more;
	size_t nmore;
	const void *more_ctx;
};

/*
 * Raise `ev` with `action` (the option's text; NULL or "": nothing
 * happens).  Returns 1 when the expansion produced a non-empty string
 * (the event's forcing, if it has one, applies), 0 otherwise: empty,
 * forced failure, or an error, which is logged as
 * "failed to expand event_action EVENT: WHY" (prefixed by the message id
 * when there is one).  ${acl{NAME}} works, with cfg's ACLs.
 */
int event_raise(const struct config *cfg, const char *action, const struct event *ev);

/* PEM text of one DER certificate (RFC 7468), for $tls_out_peercert and
 * $tls_in_peercert.  Caller frees; NULL when out of memory. */
char *event_der_to_pem(const unsigned char *der, size_t len);

/* The variables an event gives (docs/events.md lists the same rows). */
extern const struct expand_var event_vars[];
extern const size_t event_nvars;

/* For the option tables: 1 when `value` parses as an expansion. */
int event_action_valid(const char *value);

/* $local_part and $domain of `addr` (NULL: both ""), split at the last
 * "@" into the caller's buffers (truncated at their sizes). */
void event_split_address(const char *addr, char *lp, size_t lplen, char *dom, size_t domlen);

#endif
