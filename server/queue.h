/*
 * queue.h - one pass over the queue: lock each message, deliver what can be
 * delivered, record outcomes, remove a message once every recipient has a
 * final one.  The delivery of one message is server/deliver.c's.
 */
#ifndef REFMTA_QUEUE_H
#define REFMTA_QUEUE_H

#include <signal.h>

#include "config.h"
#include "err.h"

struct queue_run_opts {
	const char *backend; /* the smtp client's TLS library; NULL = tls_backend */
	int force;           /* try every recipient now, whatever its retry time */
	const volatile sig_atomic_t
	        *stop;     /* non-zero: stop before the next message (daemon runner) */
	unsigned parallel; /* processes sharing this pass (refmta queue-run: queue_run_max);
	                      0 or 1: this process alone */
};

/* 0 when the pass ran (individual deliveries may have failed: see the log);
 * -1 when it could not start (bad router/transport configuration, no spool). */
int queue_run_with(const struct config *cfg, const struct queue_run_opts *opts,
                   struct err *e) MUST_CHECK;
int queue_run(const struct config *cfg, struct err *e) MUST_CHECK; /* defaults */
/* Print one line per message (id, age, size, sender, recipients) to stdout. */
int queue_list(const struct config *cfg, struct err *e) MUST_CHECK;

#endif
