/*
 * transport.h - the transport driver interface (docs/delivery.md): what
 * server/deliver.c asks of smtp, queuefile and local delivery alike.  A
 * driver reads its options, delivers one group of recipients of one
 * message, and says per recipient what happened; deliver.c does the
 * logging, the retry state and the reports, the same for every driver.
 *
 * Drivers (server/transport.c): "smtp" (deliver_smtp.h), "queuefile"
 * (deliver_queuefile.h) and "local" (deliver_local.h), the built-in
 * transport that local_domains route to, configured by the main section's
 * mailbox_directory and mailbox_format.
 *
 * Ownership: a transport_def owns its name and opts (transport_def_free());
 * a transport_result's strings belong to it (transport_result_free()).
 */
#ifndef REFMTA_TRANSPORT_H
#define REFMTA_TRANSPORT_H

#include <stddef.h>

#include "config.h"
#include "deliver_smtp.h"
#include "dsn.h"
#include "err.h"
#include "router.h"
#include "spool.h"

enum transport_outcome { TRANSPORT_DELIVERED, TRANSPORT_DEFERRED, TRANSPORT_FAILED };

/* What happened to one recipient of a group. */
struct transport_result {
	enum transport_outcome outcome;
	enum dsn_action report; /* DELIVERED: the success report NOTIFY=SUCCESS gets:
	                         * DSN_ACTION_DELIVERED (a mailbox here), _RELAYED, or
	                         * DSN_ACTION_FAILED for none (the next hop took it over) */
	char status[16];        /* FAILED: RFC 3463 code */
	char *log;              /* DELIVERED: the log line's fields after T= ("H=... C=\"250 ok\"");
	                         * DEFERRED / FAILED: the reason for the log line */
	char *reply;            /* the remote reply that decided it, or NULL */
	char *stage;            /* with reply: "after RCPT TO:<bob@partner.test>" */
	char *error;            /* refmta's reason when no reply decided it */
	struct smtp_host_facts host; /* the host that decided it; host.address "" = none */
};
void transport_result_free(struct transport_result *r); /* members; accepts zeroed */

struct transport_def;

/* One call of a driver: recipients env->rcpts[idx[0..n)] of one message,
 * one route (one host list).  The driver fills res[0..n). */
struct transport_group {
	const struct config *cfg;
	const struct transport_def *t;
	const struct tls_backend *be; /* the smtp client's TLS library */
	struct smtp_cache *cache;     /* connections kept over the queue run; may be NULL */
	const struct envelope *env;
	const char *data_path; /* input/ID-D */
	const char *spool_dir;
	const struct route *route;
	const size_t *idx;
	size_t n;
	struct transport_result *res;
	router_lookup_fn lookup; /* the run's DNS (DANE's TLSA lookups) */
	void *lookup_arg;
};

struct transport_driver {
	const char *name; /* "driver = NAME" */
	const char *what; /* for errors: "an smtp transport" */
	int takes_hosts;  /* routers that find hosts (dnslookup, manualroute) need one */
	int groups;       /* recipients with the same hosts share one call (else one each) */
	int log_name;     /* log lines carry T=NAME (local writes T=FORMAT on success only) */
	/* Read and check the options (b is NULL for the built-in local
	 * transport).  -1 with e->text = "FILE:LINE: transport NAME: ...". */
	int (*parse)(const struct config *cfg, const struct config_block *b, void **opts,
	             struct err *e);
	void (*free)(void *opts); /* accepts NULL */
	/* Deliver the group: every res[k] gets an outcome (out of memory defers). */
	void (*deliver)(const struct transport_group *g);
};

struct transport_def {
	char *name; /* the block's name, or ROUTER_LOCAL_TRANSPORT */
	const struct transport_driver *driver;
	void *opts; /* the driver's parsed options */
};

/* The driver called `name`, or NULL. */
const struct transport_driver *transport_driver_find(const char *name);

/* A "transport NAME:" block (b), or the built-in local transport (b NULL).
 * -1 with e->text = "FILE:LINE: transport NAME: ..."; free with
 * transport_def_free() either way. */
int transport_def_load(const struct config *cfg, const struct config_block *b,
                       struct transport_def *t, struct err *e) MUST_CHECK;
void transport_def_free(struct transport_def *t); /* accepts zeroed */

#endif
