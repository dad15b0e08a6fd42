/*
 * transport.c - the transport drivers (transport.h): the table, and for
 * each driver the glue between a group of recipients and its module
 * (deliver_smtp.c, deliver_queuefile.c, deliver_local.c), turning what the
 * module reports into one transport_result per recipient.
 *
 * Must never log or touch the envelope: server/deliver.c does both, from
 * the results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_event.h"
#include "deliver_local.h"
#include "deliver_queuefile.h"
#include "transport.h"

void
transport_result_free(struct transport_result *r)
{
	if (r == NULL)
		return;
	free(r->log);
	free(r->reply);
	free(r->stage);
	free(r->error);
	r->log = r->reply = r->stage = r->error = NULL;
}

/* Set res: strings copied ("" and NULL stay NULL); out of memory loses
 * only texts, never the outcome. */
static void
result_set(struct transport_result *res, enum transport_outcome o, const char *status,
           const char *log, const char *reply, const char *stage, const char *error)
{
	transport_result_free(res);
	res->outcome = o;
	snprintf(res->status, sizeof res->status, "%s", status != NULL ? status : "");
	res->log = log != NULL && *log != '\0' ? strdup(log) : NULL;
	res->reply = reply != NULL && *reply != '\0' ? strdup(reply) : NULL;
	res->stage = stage != NULL && *stage != '\0' ? strdup(stage) : NULL;
	res->error = error != NULL && *error != '\0' ? strdup(error) : NULL;
}

/* A remote reply on one line: "\n" between lines becomes " ". */
static void
reply_one_line(const char *reply, char *buf, size_t len)
{
	dsn_field_value(reply != NULL ? reply : "", len > 1 ? len - 1 : 0, buf, len);
}

/* --- smtp ---------------------------------------------------------------------------- */

/* A driver's options, zeroed, in *opts; -1 with the error when out of memory. */
static int
opts_alloc(const struct config *cfg, const struct config_block *b, size_t size, void **opts,
           struct err *e)
{
	*opts = calloc(1, size);
	if (*opts != NULL)
		return 0;
	err_set(e, ENOMEM, "%s:%d: transport %s: out of memory", cfg->file, b != NULL ? b->line : 0,
	        b != NULL ? b->name : ROUTER_LOCAL_TRANSPORT);
	return -1;
}

static int
smtp_parse(const struct config *cfg, const struct config_block *b, void **opts, struct err *e)
{
	if (opts_alloc(cfg, b, sizeof(struct smtp_transport), opts, e) != 0)
		return -1;
	return smtp_transport_parse(cfg, b, *opts, e);
}

static void
smtp_free(void *opts)
{
	smtp_transport_free(opts);
	free(opts);
}

/* The log text of a failure: "H=... [..]: SMTP error from remote mail server after ...: 550 ..." */
static void
smtp_result_text(const struct smtp_rcpt_result *res, char *buf, size_t len)
{
	char host[600] = "", reply[DSN_FIELD_MAX + 8];

	if (res->host.address[0] != '\0')
		smtp_host_log_fields(&res->host, host, sizeof host);
	if (res->reply != NULL) {
		reply_one_line(res->reply, reply, sizeof reply);
		snprintf(buf, len, "%s%sSMTP error from remote mail server %s: %s", host,
		         host[0] ? ": " : "", res->stage ? res->stage : "", reply);
	} else {
		snprintf(buf, len, "%s%s%s", host, host[0] ? ": " : "",
		         res->error ? res->error : "delivery failed");
	}
}

static void
smtp_result_convert(const struct smtp_rcpt_result *r, struct transport_result *res)
{
	char text[2048], host[600], reply[DSN_FIELD_MAX + 8];

	switch (r->outcome) {
	case SMTP_RCPT_DELIVERED:
		smtp_host_log_fields(&r->host, host, sizeof host);
		reply_one_line(r->reply, reply, sizeof reply);
		/* " PRDR" before C= as Exim writes it (docs/prdr.md). */
		snprintf(text, sizeof text, "%s%s C=\"%s\"", host, r->prdr ? " PRDR" : "", reply);
		result_set(res, TRANSPORT_DELIVERED, r->status, text, r->reply, NULL, NULL);
		/* A server that offered DSN took over NOTIFY=SUCCESS (RFC 3461 5.2.2). */
		res->report = r->host.dsn ? DSN_ACTION_FAILED : DSN_ACTION_RELAYED;
		break;
	case SMTP_RCPT_FAILED:
		smtp_result_text(r, text, sizeof text);
		result_set(res, TRANSPORT_FAILED, r->status, text, r->reply, r->stage, r->error);
		break;
	case SMTP_RCPT_PENDING:
	case SMTP_RCPT_DEFERRED:
		smtp_result_text(r, text, sizeof text);
		result_set(res, TRANSPORT_DEFERRED, r->status, text, r->reply, r->stage, r->error);
		break;
	}
	res->host = r->host;
}

static void
smtp_deliver_group(const struct transport_group *g)
{
	struct smtp_rcpt_result *r = calloc(g->n, sizeof *r);
	struct smtp_delivery d = {
		.cfg = g->cfg,
		.t = g->t->opts,
		.be = g->be,
		.cache = g->cache,
		.lookup = g->lookup,
		.lookup_arg = g->lookup_arg,
		.message_id = g->env->id,
		.router_name = g->route->router,
		.env = g->env,
		.data_path = g->data_path,
		.hosts = g->route->hosts,
		.nhosts = g->route->nhosts,
		.rcpts = r,
		.nrcpts = g->n,
	};

	if (r == NULL) {
		for (size_t k = 0; k < g->n; k++)
			result_set(&g->res[k], TRANSPORT_DEFERRED, NULL, "out of memory", NULL,
			           NULL, NULL);
		return;
	}
	for (size_t k = 0; k < g->n; k++)
		r[k].rcpt = &g->env->rcpts[g->idx[k]];
	if (deliver_smtp(&d) != 0)
		for (size_t k = 0; k < g->n; k++)
			r[k].outcome = SMTP_RCPT_DEFERRED;
	for (size_t k = 0; k < g->n; k++) {
		smtp_result_convert(&r[k], &g->res[k]);
		smtp_rcpt_result_free(&r[k]);
	}
	free(r);
}

/* --- queuefile ----------------------------------------------------------------------- */

static int
queuefile_parse(const struct config *cfg, const struct config_block *b, void **opts, struct err *e)
{
	if (opts_alloc(cfg, b, sizeof(struct queuefile_transport), opts, e) != 0)
		return -1;
	return queuefile_transport_parse(cfg, b, *opts, e);
}

static void
queuefile_free(void *opts)
{
	queuefile_transport_free(opts);
	free(opts);
}

static void
queuefile_deliver_group(const struct transport_group *g)
{
	const struct envelope *env = g->env;
	struct envelope copy = *env;
	struct err e = { 0 };
	char *text = NULL;
	int ok = 0;

	/* The copy's envelope: this transport's recipients to do, all others
	 * done (delivered here, or someone else's), so that putting it back
	 * delivers each recipient once. */
	copy.rcpts = calloc(env->nrcpts + 1, sizeof *copy.rcpts);
	if (copy.rcpts != NULL) {
		memcpy(copy.rcpts, env->rcpts, env->nrcpts * sizeof *copy.rcpts);
		for (size_t i = 0; i < copy.nrcpts; i++)
			copy.rcpts[i].done = 1;
		for (size_t k = 0; k < g->n; k++) {
			copy.rcpts[g->idx[k]].done = 0;
			copy.rcpts[g->idx[k]].retry = (struct retry_state){ 0 };
			copy.rcpts[g->idx[k]].last_error = NULL;
		}
		text = spool_envelope_text(&copy);
	}
	if (text == NULL)
		err_set(&e, ENOMEM, "out of memory");
	else
		ok = deliver_queuefile(g->t->opts, g->spool_dir, env->id, text, &e) == 0;
	free(text);
	free(copy.rcpts); /* the strings are the envelope's */
	for (size_t k = 0; k < g->n; k++) {
		if (ok) {
			result_set(&g->res[k], TRANSPORT_DELIVERED, NULL, NULL, NULL, NULL, NULL);
			g->res[k].report = DSN_ACTION_RELAYED;
			deliver_event_delivered(
			        g, k,
			        ((const struct queuefile_transport *)g->t->opts)->event_action,
			        g->t->name);
		} else {
			result_set(&g->res[k], TRANSPORT_DEFERRED, NULL, e.text, NULL, NULL, NULL);
		}
	}
}

/* --- local delivery ------------------------------------------------------------------ */

struct local_opts {
	const char *mailbox_directory; /* the config's */
	enum deliver_local_format format;
};

static int
local_parse(const struct config *cfg, const struct config_block *b, void **opts, struct err *e)
{
	struct local_opts *o;

	if (opts_alloc(cfg, b, sizeof *o, opts, e) != 0)
		return -1;
	o = *opts;
	o->mailbox_directory = cfg->mailbox_directory != NULL ? cfg->mailbox_directory : "mail";
	if (deliver_local_format_parse(cfg->mailbox_format, &o->format) != 0)
		o->format = DELIVER_LOCAL_MAILDIR; /* config_load refused anything else */
	return 0;
}

static void
local_free(void *opts)
{
	free(opts);
}

static void
local_deliver_group(const struct transport_group *g)
{
	const struct local_opts *o = g->t->opts;

	for (size_t k = 0; k < g->n; k++) {
		struct deliver_local_request req = {
			.mailbox_directory = o->mailbox_directory,
			.format = o->format,
			.data_path = g->data_path,
			.sender = g->env->sender,
			.rcpt = g->env->rcpts[g->idx[k]].address,
			.hostname = g->cfg->primary_hostname,
			.deterministic = g->cfg->test_ids || g->cfg->test_clock_set,
		};
		struct transport_result *res = &g->res[k];
		struct err e = { 0 };
		char text[700];

		switch (deliver_local(&req, &e)) {
		case DELIVER_LOCAL_OK:
			snprintf(text, sizeof text, "T=%s", deliver_local_format_name(o->format));
			result_set(res, TRANSPORT_DELIVERED, NULL, text, NULL, NULL, NULL);
			res->report = DSN_ACTION_DELIVERED;
			/* $transport_name as the log line's T= (docs/events.md) */
			deliver_event_delivered(g, k, g->cfg->local_event_action,
			                        deliver_local_format_name(o->format));
			break;
		case DELIVER_LOCAL_FAIL:
			result_set(res, TRANSPORT_FAILED, "5.1.1", e.text, NULL, NULL, e.text);
			break;
		case DELIVER_LOCAL_DEFER:
			snprintf(text, sizeof text, "%s (errno %d)", e.text, e.code);
			result_set(res, TRANSPORT_DEFERRED, NULL, text, NULL, NULL, NULL);
			break;
		}
	}
}

/* --- the table ----------------------------------------------------------------------- */

static const struct transport_driver drivers[] = {
	{ "smtp", "an smtp transport", 1, 1, 1, smtp_parse, smtp_free, smtp_deliver_group },
	{ "queuefile", "a queuefile transport", 0, 1, 1, queuefile_parse, queuefile_free,
	  queuefile_deliver_group },
	/* Local delivery logs as before: T=maildir on success, no T= otherwise. */
	{ "local", "local delivery", 0, 0, 0, local_parse, local_free, local_deliver_group },
};

const struct transport_driver *
transport_driver_find(const char *name)
{
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
		if (strcmp(drivers[i].name, name) == 0)
			return &drivers[i];
	return NULL;
}

int
transport_def_load(const struct config *cfg, const struct config_block *b, struct transport_def *t,
                   struct err *e)
{
	const char *driver = "local";
	int line = 0;

	memset(t, 0, sizeof *t);
	if (b != NULL) {
		line = b->line;
		driver = config_block_get(b, "driver", &line);
		if (driver == NULL) {
			err_set(e, EINVAL,
			        "%s:%d: transport %s: missing \"driver\" (smtp or queuefile)",
			        cfg->file, b->line, b->name);
			return -1;
		}
	}
	t->driver = transport_driver_find(driver);
	/* "local" is built in: local_domains go there, no block names it. */
	if (t->driver == NULL || (b != NULL && strcmp(driver, "local") == 0)) {
		t->driver = NULL;
		err_set(e, EINVAL, "%s:%d: transport %s: unknown driver \"%s\" (smtp or queuefile)",
		        cfg->file, line, b->name, driver);
		return -1;
	}
	t->name = strdup(b != NULL ? b->name : ROUTER_LOCAL_TRANSPORT);
	if (t->name == NULL) {
		err_set(e, ENOMEM, "%s: out of memory", cfg->file);
		return -1;
	}
	return t->driver->parse(cfg, b, &t->opts, e);
}

void
transport_def_free(struct transport_def *t)
{
	if (t == NULL)
		return;
	if (t->driver != NULL)
		t->driver->free(t->opts);
	free(t->name);
	memset(t, 0, sizeof *t);
}
