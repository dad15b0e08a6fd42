/*
 * deliver_smtp_int.h - what the files of the smtp transport share, and
 * nothing outside them may use (deliver_smtp.h is the public interface):
 *   deliver_smtp.c          the loop over hosts, per-recipient outcomes,
 *                           host-level failures and their log lines
 *   deliver_smtp_conn.c     connect, greeting, EHLO/HELO, QUIT, the
 *                           connection cache (and its key)
 *   deliver_smtp_tls.c      STARTTLS and the verification policy
 *   deliver_smtp_proto.c    one transaction: envelope, recipient replies,
 *                           body, final reply
 *   deliver_smtp_options.c  the "transport NAME:" block (driver = smtp)
 *   deliver_smtp_expand.c   helo_data, tls_sni and host lists expanded per host
 *
 * Ownership: a struct smtp_conn belongs to whoever holds the pointer; the
 * functions documented as "c freed" take it over (QUIT or close).
 */
#ifndef REFMTA_DELIVER_SMTP_INT_H
#define REFMTA_DELIVER_SMTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bio.h"
#include "dane_chain.h"
#include "deliver_smtp.h"
#include "smtp_parse.h"
#include "smtp_reply.h"

#define SMTP_CACHE_MAX 16 /* connections kept at once */
#define SMTP_QUIT_WAIT 5  /* seconds to wait for QUIT's reply, at most */
#define SMTP_HOST_LISTS 9 /* the smtp transport's host-list options (deliver_smtp_expand.c) */

struct smtp_conn {
	int fd;
	struct bio *io;
	struct tls_ctx *tls_ctx;
	struct tls_conn *tls;
	struct smtp_ehlo ehlo; /* what the last EHLO offered */
	unsigned command_timeout;
	char key[400]; /* smtp_cache_key() */
	struct smtp_host_facts facts;
	struct smtp_run *events; /* tcp:close goes to this run's transport; NULL: none */
};

struct smtp_cache {
	struct smtp_conn *v[SMTP_CACHE_MAX];
	size_t n;
};

/* DANE for the host being tried (deliver_smtp_dane.c). */
struct smtp_dane {
	int use;               /* usable TLSA records: DANE is required for this host */
	char base[256];        /* the TLSA base name (also SNI) */
	struct tls_tlsa *tlsa; /* owned; point into `answer` */
	size_t ntlsa;
	struct resolver_answer answer; /* owned: the TLSA lookup */
	struct dane_chain chain;       /* the host's CNAME chain (chain.n == 0: none) */
};

/* One deliver_smtp() call. */
struct smtp_run {
	struct smtp_delivery *d;
	size_t hi; /* the host being tried */
	const struct route_host *h;
	unsigned port;
	int datafd;
	uint64_t datasize; /* octets in the data file */
	int oom;
	struct smtp_dane dane;
	int ev_errno;   /* the errno of the host-level failure being recorded (msg:host:defer) */
	char helo[256]; /* helo_data expanded for this host (smtp_host_options) */
	char sni[256];  /* tls_sni expanded for this host; "" = no SNI */
	/* While a host is tried, d->t points at `tx`: the transport with its
	 * host lists expanded for that host (owned[], freed after it). */
	struct smtp_transport tx;
	const struct smtp_transport *t_orig;
	char *owned[SMTP_HOST_LISTS];
};

/* How a step ended. */
enum smtp_step {
	SMTP_STEP_OK,       /* go on */
	SMTP_STEP_DONE,     /* host-level end: recipients marked, the connection gone */
	SMTP_STEP_TRYCLEAR, /* the handshake failed: reconnect without TLS (c freed) */
	SMTP_STEP_DEAD      /* a reused connection was closed before anything was decided */
};

/* --- deliver_smtp_expand.c: options expanded per host ------------------------------- */

/* Before trying host R->h: helo_data, tls_sni and every host list holding
 * "$" expanded with the delivery variables (deliver_vars.h: $host,
 * $host_address, ...); R->d->t then points at R->tx until
 * smtp_host_options_done().  0, or -1 with the host's failure recorded on
 * the pending recipients (4.3.0, the reason naming the option). */
int smtp_host_options(struct smtp_run *R) MUST_CHECK;
void smtp_host_options_done(struct smtp_run *R); /* R->d->t back; frees; idempotent */
/* After the TLSA lookup (deliver_smtp_dane.c): hosts_request_ocsp and
 * hosts_require_ocsp that name $tls_out_tlsa_usage, expanded with it (bit
 * N: a usable usage-N record; 0: no DANE).  0, or -1 with the host's
 * failure recorded. */
int smtp_host_options_dane(struct smtp_run *R, unsigned tlsa_usage) MUST_CHECK;

/* --- deliver_smtp.c: outcomes and host-level failures -------------------------------- */

/* strdup(), setting R->oom when it fails; NULL for NULL. */
char *smtp_run_strdup(struct smtp_run *R, const char *s);
/* Decide (or, with SMTP_RCPT_PENDING, record a host-level failure for) one
 * recipient; `reply` and `stage` or `error`; `f` NULL = no host. */
void smtp_result_set(struct smtp_run *R, struct smtp_rcpt_result *r, enum smtp_outcome o,
                     const char *status, const char *reply, const char *stage, const char *error,
                     const struct smtp_host_facts *f);
/* The same for every recipient still pending. */
void smtp_pending_all(struct smtp_run *R, enum smtp_outcome o, const char *status,
                      const char *reply, const char *stage, const char *error,
                      const struct smtp_host_facts *f);
/* "ID H=NAME [IP]:PORT: TEXT" to the main log. */
void smtp_host_log(struct smtp_run *R, const struct smtp_host_facts *f, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Host-level failures, logged and recorded on the pending recipients: a
 * remote reply after `stage`, refmta's own words, a reply that could not
 * be read. */
void smtp_host_fail_reply(struct smtp_run *R, struct smtp_conn *c, const struct smtp_reply *r,
                          const char *stage);
/* The facts known before connecting: the host's name, address, port and
 * whether its lookups were secure (deliver_smtp_conn.c). */
void smtp_host_facts_init(struct smtp_host_facts *f, const struct smtp_run *R);
void smtp_host_fail_error(struct smtp_run *R, const struct smtp_host_facts *f, const char *status,
                          const char *error);
void smtp_host_fail_read(struct smtp_run *R, struct smtp_conn *c, enum smtp_reply_read how,
                         const struct err *e, const char *stage);

/* --- deliver_smtp_conn.c --------------------------------------------------------------- */

void smtp_set_timeouts(int fd, unsigned secs);
void smtp_conn_free(struct smtp_conn *c); /* close without QUIT; accepts NULL */
void smtp_conn_quit(struct smtp_conn *c); /* QUIT, wait briefly for 221, free; accepts NULL */
/* Send one command and read its reply (into r, cleared by the caller). */
enum smtp_reply_read smtp_command(struct smtp_conn *c, struct smtp_reply *r, struct err *e,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* EHLO, HELO on a 5xx.  SMTP_STEP_OK or SMTP_STEP_DONE (recipients marked, c freed). */
enum smtp_step smtp_hello(struct smtp_run *R, struct smtp_conn *c);
/* A new connection to host R->hi, ready for MAIL.  SMTP_STEP_OK (*out set),
 * SMTP_STEP_DONE (recipients marked, nothing open) or SMTP_STEP_TRYCLEAR. */
enum smtp_step smtp_conn_open(struct smtp_run *R, int no_tls, struct smtp_conn **out);
/* "ADDRESS:PORT TRANSPORT": which cached connection may carry R's host. */
void smtp_cache_key(const struct smtp_run *R, char *buf, size_t len);
/* A live cached connection for `key` (removed from the cache), or NULL. */
struct smtp_conn *smtp_cache_take(struct smtp_cache *cache, const char *key);
/* Keep c for the next message (NULL cache: QUIT it). */
void smtp_cache_put(struct smtp_cache *cache, struct smtp_conn *c);

/* --- deliver_smtp_dane.c -------------------------------------------------------------- */

/* Before connecting to R->h: hosts_try_dane / hosts_require_dane, the TLSA
 * lookup and the decision table (docs/dane.md).  SMTP_STEP_OK: go on (with
 * R->dane.use set when DANE applies), SMTP_STEP_DONE: the host is not used
 * (its failure recorded). */
enum smtp_step smtp_dane_prepare(struct smtp_run *R);
void smtp_dane_clear(struct smtp_dane *d); /* frees; zeroes */
/* Under DANE: no CA file or CRLs; SNI = the base name; the records. */
void smtp_dane_tls_opts(const struct smtp_run *R, struct tls_config *cfg,
                        struct tls_conn_opts *opts);
/* After the handshake under DANE: SMTP_STEP_OK with CV=dane, or
 * SMTP_STEP_DONE (host failed, QUIT sent inside TLS). */
enum smtp_step smtp_dane_verdict(struct smtp_run *R, struct smtp_conn *c);

/* --- deliver_smtp_tls.c ---------------------------------------------------------------- */

/* STARTTLS and the verification policy.  SMTP_STEP_OK (over TLS or, when
 * the server refused STARTTLS and TLS is not required, still in clear),
 * SMTP_STEP_DONE (c freed), or SMTP_STEP_TRYCLEAR (c freed). */
enum smtp_step smtp_tls_start(struct smtp_run *R, struct smtp_conn *c, int required);

/* --- deliver_smtp_ocsp.c -------------------------------------------------------------- */

/* Ask the host at `address` for a staple?  In hosts_require_ocsp, or in
 * hosts_request_ocsp; under DANE (R->dane.use) a hosts_request_ocsp of
 * "*" means "only when every usable TLSA record is DANE-TA" (the seed). */
/* The seed's $tls_out_tlsa_usage before the handshake: bit N for each
 * usable usage-N record found (0 when DANE is not used). */
unsigned smtp_dane_record_usages(const struct smtp_dane *d);
int smtp_ocsp_wanted(const struct smtp_run *R, const char *address);
/* After the handshake: c->facts.ocsp and ocsp_word set; -1 with `msg` when
 * the host requires OCSP and the staple is not verified good. */
int smtp_ocsp_check(struct smtp_run *R, struct smtp_conn *c, char *msg, size_t len) MUST_CHECK;

/* --- deliver_smtp_event.c: the transport's events (docs/events.md) ------------------- */

/* Raise event `name` with the transport's event_action: the host of f (or
 * R's host), `rcpt` the recipient's address for a per-recipient event
 * (NULL: per connection), `peercert` PEM for tls:cert.  1: forced. */
int smtp_event(struct smtp_run *R, const struct smtp_host_facts *f, const char *name,
               const char *data, int err, const char *rcpt, const char *peercert);
/* tls:cert for each certificate of the server's chain, from the top.
 * 1: one of them was forced (refuse verification). */
int smtp_event_tls_certs(struct smtp_run *R, const struct smtp_conn *c, const struct tls_info *ti);

/* --- deliver_smtp_proto.c -------------------------------------------------------------- */

/* One transaction for recipients idx[0..n).  SMTP_STEP_OK: each of them
 * decided; SMTP_STEP_DONE: host-level failure (c freed); SMTP_STEP_DEAD: a
 * reused connection turned out closed before anything was decided (c freed). */
enum smtp_step smtp_transaction(struct smtp_run *R, struct smtp_conn *c, const size_t *idx,
                                size_t n, int reused);

#endif
