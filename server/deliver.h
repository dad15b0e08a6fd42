/*
 * deliver.h - one delivery attempt for one message (docs/delivery.md).
 *
 * For each recipient not yet done and due for a try: route it
 * (server/router.h), then hand it to its transport's driver
 * (server/transport.h: smtp, queuefile, or local delivery), recipients with
 * the same transport and host list together, and record each outcome: delivered and failed
 * recipients are done; deferred ones get their next try from the retry
 * schedule (server/retry.h) or, past it, fail.  Failed recipients that want
 * it (dsn_wants_failure_report) get one bounce (server/dsn.h), spooled as
 * a new message from the null sender.
 *
 * Every outcome is one main-log line (docs/log.md "Delivery") and the same
 * text in msglog/ID.  Nothing here locks or rewrites the envelope: the
 * queue runner (server/queue.c) does, around deliver_message().
 */
#ifndef REFMTA_DELIVER_H
#define REFMTA_DELIVER_H

#include <stddef.h>

#include "config.h"
#include "deliver_smtp.h"
#include "err.h"
#include "retry.h"
#include "router.h"
#include "spool.h"
#include "strlist.h"
#include "transport.h"

/* The routers, transports and retry schedule of a configuration, checked. */
struct delivery_config {
	struct routers routers;
	struct transport_def *transports; /* the blocks in order, then the built-in local one */
	size_t ntransports;
	struct retry_schedule retry;
};

/* Read every router and transport block and retry_rule.  Errors:
 * -1 with e->text = "FILE:LINE: ...".  Free with delivery_config_free(). */
int delivery_config_load(const struct config *cfg, struct delivery_config *out,
                         struct err *e) MUST_CHECK;
void delivery_config_free(struct delivery_config *dc); /* accepts zeroed */

/* State shared by the messages of one queue run. */
struct delivery_run {
	const struct config *cfg;
	const struct delivery_config *dc;
	const struct tls_backend *be; /* the smtp client's TLS library */
	int force;                    /* ignore retry times (queue-run --force) */
	struct resolver *resolver;    /* made at the first DNS lookup */
	int resolver_failed;          /* resolver_new failed once: do not try again */
	struct err resolver_err;
	struct smtp_cache *cache;
	struct strlist bounces; /* ids of bounces spooled during the run */
};

int delivery_run_init(struct delivery_run *run, const struct config *cfg,
                      const struct delivery_config *dc, const char *backend, int force,
                      struct err *e) MUST_CHECK;
void delivery_run_end(struct delivery_run *run); /* QUITs kept connections, frees */

/* Try message `env` (read under its lock; `data_path` is its input/ID-D).
 * Updates env->rcpts (done, retry, last_error).  Returns 1 when the
 * envelope changed and must be rewritten, 0 when nothing changed. */
int deliver_message(struct delivery_run *run, struct envelope *env, const char *data_path);

/* "ID TEXT" to the main log, "TEXT" to msglog/ID under `msglog_spool` (a
 * convenience copy), none when it is NULL (message_logs = false). */
void deliver_log(const char *msglog_spool, const char *id, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
