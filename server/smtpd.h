/*
 * smtpd.h - one inbound SMTP session, from greeting to close.
 *
 * The session reads like RFC 5321: a command table (smtpd.c) says which
 * commands are allowed in which state and which must end a pipelined group;
 * each command has a "may I?" check (which sends the refusal) kept apart
 * from the "do it" action.  Blocking I/O with the receive timeout set on
 * the socket; the daemon runs one session per worker at a time.
 */
#ifndef REFMTA_SMTPD_H
#define REFMTA_SMTPD_H

#include <signal.h>

#include "err.h"

struct config;
struct tls_ctx;

struct smtpd_peer {
	char ip[64]; /* client address, text (after a PROXY header: the real client's) */
	unsigned port;
	char local_ip[64]; /* the address it connected to (refmta's side) */
	unsigned local_port;

	/* PROXY protocol (docs/proxy.md), set by smtpd_proxy_negotiate(). */
	int proxy_session;        /* the connection came from proxy_required_hosts */
	int proxy_failed;         /* ... and sent no valid header: only QUIT is served */
	char proxy_host_ip[64];   /* the proxy's side of its connection to refmta; "" */
	unsigned proxy_host_port; /* (failed or not a proxy session: "" and 0) */
	char proxy_target_ip[64]; /* where the client connected on the proxy; "" */
	unsigned proxy_target_port;
};

/*
 * When the connection's address (peer->ip) is in proxy_required_hosts, read
 * its PROXY header within proxy_protocol_timeout and rewrite `peer` with
 * the real client's address (the seed's Proxy Protocol section).  A
 * missing or malformed header is logged with its reason and leaves
 * peer->proxy_failed set; the session then greets and refuses all but
 * QUIT.  Input that is not a header at all stays unread, so the greeting's
 * synchronization check sees it (the seed: "a standard synchronization
 * error").  Returns 1 when the connection was from a proxy host, else 0.
 */
int smtpd_proxy_negotiate(const struct config *cfg, int fd, struct smtpd_peer *peer);

/*
 * The server TLS context to offer STARTTLS with, for backend `backend`
 * ("openssl" | "gnutls"), from cfg's tls_certificate / tls_privatekey /
 * tls_require_ciphers / tls_verify_certificates.  NULL without an error
 * when no certificate is configured (STARTTLS is then never offered); NULL
 * with `e` filled when it cannot be built.  Caller frees with tls_ctx_free().
 */
struct tls_ctx *smtpd_tls_ctx_new(const struct config *cfg, const char *backend,
                                  struct err *e) MUST_CHECK;

/*
 * Run the session on `fd` until it ends.  `tls` is the server context for
 * STARTTLS (NULL: never offered).  The caller owns and closes `fd`.
 */
void smtpd_session(const struct config *cfg, struct tls_ctx *tls, int fd,
                   const struct smtpd_peer *peer);

/*
 * The daemon's drain timeout ran out (SIGTERM, smtp_drain_timeout): set from
 * a signal handler, which also shuts the session socket's reading side, so
 * whatever the session waits for ends at once.  The session then replies
 * `421 4.3.2 ... Service shutting down` (RFC 5321 3.8: a server that must
 * shut down answers 421 to the next command) and ends.
 */
extern volatile sig_atomic_t smtpd_drain_cut;

#endif
