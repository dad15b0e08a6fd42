/*
 * queue.h - one pass over the queue: lock each message, deliver what can be
 * delivered, record outcomes, remove a message once every recipient has a
 * final one.  Today: local delivery (deliver_local.c) for local_domains;
 * other recipients wait for the smtp transport (delivery issue).
 */
#ifndef REFMTA_QUEUE_H
#define REFMTA_QUEUE_H

#include "config.h"
#include "err.h"

/* 0 when the pass ran (individual deliveries may have failed: see the log). */
int queue_run(const struct config *cfg, struct err *e) MUST_CHECK;
/* Print one line per message (id, age, size, sender, recipients) to stdout. */
int queue_list(const struct config *cfg, struct err *e) MUST_CHECK;

#endif
