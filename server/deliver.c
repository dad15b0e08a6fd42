/*
 * deliver.c - one delivery attempt for one message (deliver.h).
 *
 * The order for each recipient, so that a crash loses nothing: the
 * transport makes the delivery durable (a mailbox fsync, a remote 250 to
 * the end of data, a queuefile copy fsync'ed) -> the recipient is marked
 * done in `env` -> the queue runner rewrites the envelope.  A crash in
 * between repeats a delivery; it never drops one.  A bounce is spooled
 * (durably) before its recipients are marked done, for the same reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "deliver.h"
#include "deliver_event.h"
#include "dsn.h"
#include "event.h"
#include "log.h"
#include "resolver.h"
#include "version.h"

/* --- configuration ------------------------------------------------------------------ */

static const struct transport_def *
transport_find(const struct delivery_config *dc, const char *name)
{
	for (size_t i = 0; i < dc->ntransports; i++)
		if (strcmp(dc->transports[i].name, name) == 0)
			return &dc->transports[i];
	return NULL;
}

int
delivery_config_load(const struct config *cfg, struct delivery_config *out, struct err *e)
{
	struct err sub = { 0 };

	memset(out, 0, sizeof *out);
	if (retry_schedule_parse(cfg->retry_rule, &out->retry, &sub) != 0) {
		err_set(e, EINVAL, "%s: retry_rule: %s", cfg->file, sub.text);
		return -1;
	}
	out->transports = calloc(cfg->nblocks + 1, sizeof *out->transports);
	if (out->transports == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nblocks; i++) {
		const struct config_block *b = &cfg->blocks[i];
		if (strcmp(b->kind, "transport") != 0)
			continue;
		/* counted first so that delivery_config_free() sees a partial one */
		if (transport_def_load(cfg, b, &out->transports[out->ntransports++], e) != 0) {
			delivery_config_free(out);
			return -1;
		}
	}
	if (transport_def_load(cfg, NULL, &out->transports[out->ntransports++], e) != 0) {
		delivery_config_free(out);
		return -1;
	}
	if (routers_load(cfg, &out->routers, e) != 0) {
		delivery_config_free(out);
		return -1;
	}
	/* A router that connects to hosts needs an smtp transport, and accept
	 * (no hosts) one that does not. */
	for (size_t i = 0; i < out->routers.n; i++) {
		const struct router_def *r = &out->routers.v[i];
		const struct transport_def *t = transport_find(out, r->transport);
		int wants_hosts = r->driver != ROUTER_ACCEPT;
		if (t == NULL)
			continue; /* routers_load reported it */
		if (wants_hosts != t->driver->takes_hosts) {
			err_set(e, EINVAL,
			        "%s:%d: router %s: transport \"%s\" is %s; driver %s needs %s",
			        cfg->file, r->line, r->name, r->transport, t->driver->what,
			        r->driver == ROUTER_ACCEPT ? "accept" : "dnslookup/manualroute",
			        wants_hosts ? "an smtp transport"
			                    : "a transport without hosts (queuefile)");
			delivery_config_free(out);
			return -1;
		}
	}
	return 0;
}

void
delivery_config_free(struct delivery_config *dc)
{
	if (dc == NULL)
		return;
	for (size_t i = 0; dc->transports != NULL && i < dc->ntransports; i++)
		transport_def_free(&dc->transports[i]);
	free(dc->transports);
	routers_free(&dc->routers);
	memset(dc, 0, sizeof *dc);
}

/* --- logging ------------------------------------------------------------------------- */

/* Append "YYYY-MM-DD HH:MM:SS TEXT\n" to msglog/ID in one write.  The
 * msglog is a convenience copy (the main log is the record), so a failure
 * here is not a delivery failure. */
static void
deliver_msglog(const char *spool_dir, const char *id, const char *text)
{
	char stamp[32], *path = NULL, *line = NULL;
	int fd = -1, len;

	clock_format_log(clock_now(), stamp, sizeof stamp);
	if (asprintf(&path, "%s/msglog/%s", spool_dir, id) < 0) {
		path = NULL;
		goto out;
	}
	len = asprintf(&line, "%s %s\n", stamp, text);
	if (len < 0) {
		line = NULL;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		goto out;
	if (write(fd, line, (size_t)len) != len)
		goto out; /* advisory copy: the main log line stands */
out:
	if (fd >= 0)
		(void)close(fd);
	free(path);
	free(line);
}

void
deliver_log(const char *msglog_spool, const char *id, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	log_write("%s %s", id, text);
	if (msglog_spool != NULL)
		deliver_msglog(msglog_spool, id, text);
}

/* --- the run ------------------------------------------------------------------------- */

static int
deliver_dns_lookup(void *arg, const char *name, enum resolver_type type,
                   struct resolver_answer *out, struct err *e)
{
	struct delivery_run *run = arg;

	if (run->resolver == NULL && !run->resolver_failed) {
		run->resolver = resolver_new(run->cfg->dns_server, run->cfg->dns_trust_anchor,
		                             &run->resolver_err);
		if (run->resolver == NULL) {
			run->resolver_failed = 1;
			log_write("DNS resolver unavailable: %s", run->resolver_err.text);
		}
	}
	if (run->resolver == NULL) {
		memset(out, 0, sizeof *out);
		out->status = RESOLVER_TEMPFAIL;
		err_set(e, RESOLVER_ERR_CONFIG, "%s", run->resolver_err.text);
		return -1;
	}
	return resolver_lookup(run->resolver, name, type, out, e);
}

int
delivery_run_init(struct delivery_run *run, const struct config *cfg,
                  const struct delivery_config *dc, const char *backend, int force, struct err *e)
{
	memset(run, 0, sizeof *run);
	run->cfg = cfg;
	run->dc = dc;
	run->force = force;
	run->be = tls_backend_by_name(
	        backend != NULL ? backend : (cfg->tls_backend ? cfg->tls_backend : "openssl"));
	if (run->be == NULL) {
		err_set(e, EINVAL, "unknown TLS backend \"%s\"", backend);
		return -1;
	}
	run->cache = smtp_cache_new();
	return 0;
}

void
delivery_run_end(struct delivery_run *run)
{
	smtp_cache_close_all(run->cache);
	run->cache = NULL;
	resolver_free(run->resolver);
	run->resolver = NULL;
	strlist_free(&run->bounces);
}

/* --- outcomes ------------------------------------------------------------------------ */

/* One recipient to report on, kept for the bounce or the success report
 * (owned copies). */
struct failure {
	enum dsn_action action;
	size_t rcpt;
	char *status, *remote_reply, *stage, *error_text;
	char *host_name, *host_address, *greeting, *helo_response;
	unsigned host_port;
};

struct message_state {
	struct delivery_run *run;
	struct envelope *env;
	const char *data_path;
	const char *spool_dir;
	const char *msglog_spool; /* spool_dir, or NULL: message_logs = false */
	time_t now;
	int changed;
	struct failure *failures;
	size_t nfailures;
	int deferred;     /* a recipient deferred in this attempt (msg:defer) */
	int by_transport; /* outcomes come from a transport, the local one too:
	                   * a failure is msg:fail:delivery, not msg:fail:internal */
};

static char *
dup_or_null(const char *s)
{
	return (s != NULL && *s != '\0') ? strdup(s) : NULL;
}

static void
record_report(struct message_state *ms, size_t i, enum dsn_action action, const char *status,
              const char *reply, const char *stage, const char *error_text,
              const struct smtp_host_facts *h)
{
	struct spool_rcpt *r = &ms->env->rcpts[i];
	struct failure *grown, *f;

	grown = realloc(ms->failures, (ms->nfailures + 1) * sizeof *grown);
	if (grown == NULL) {
		log_write("%s bounce for %s lost: out of memory", ms->env->id, r->address);
		return;
	}
	ms->failures = grown;
	f = &grown[ms->nfailures++];
	memset(f, 0, sizeof *f);
	f->action = action;
	f->rcpt = i;
	f->status = strdup(status != NULL && *status ? status : "5.0.0");
	f->remote_reply = dup_or_null(reply);
	f->stage = dup_or_null(stage);
	f->error_text = dup_or_null(error_text);
	if (h != NULL && h->address[0] != '\0') {
		/* RFC 3464 2.3.5: "dns;" names a host; a host routed by its
		 * address has no name to give. */
		if (strcmp(h->name, h->address) != 0)
			f->host_name = dup_or_null(h->name);
		f->host_address = dup_or_null(h->address);
		f->host_port = h->port;
		f->greeting = dup_or_null(h->greeting);
		f->helo_response = dup_or_null(h->helo_response);
	}
}

static void
record_failure(struct message_state *ms, size_t i, const char *status, const char *reply,
               const char *stage, const char *error_text, const struct smtp_host_facts *h)
{
	struct spool_rcpt *r = &ms->env->rcpts[i];

	r->done = 1;
	ms->changed = 1;
	if (dsn_wants_failure_report(ms->env->sender, r->notify))
		record_report(ms, i, DSN_ACTION_FAILED, status, reply, stage, error_text, h);
}

static void
free_failures(struct message_state *ms)
{
	for (size_t i = 0; i < ms->nfailures; i++) {
		struct failure *f = &ms->failures[i];
		free(f->status);
		free(f->remote_reply);
		free(f->stage);
		free(f->error_text);
		free(f->host_name);
		free(f->host_address);
		free(f->greeting);
		free(f->helo_response);
	}
	free(ms->failures);
	ms->failures = NULL;
	ms->nfailures = 0;
}

/* A main-section event (docs/events.md) about the message and recipient i
 * (SIZE_MAX: none).  The results of these are ignored (seed). */
static void
message_event(struct message_state *ms, const char *name, size_t i, const char *router,
              const char *transport, const struct smtp_host_facts *h)
{
	const char *addr = i < ms->env->nrcpts ? ms->env->rcpts[i].address : NULL;
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
	char lp[256] = "";
	struct event ev = { .name = name,
		            .msg_id = ms->env->id,
		            .sender_address = ms->env->sender,
		            .router_name = router,
		            .transport_name = transport,
		            .domain = at != NULL ? at + 1 : NULL,
		            .tls_out_ocsp = -1 };

	if (ms->run->cfg->event_action == NULL)
		return;
	if (addr != NULL) {
		snprintf(lp, sizeof lp, "%.*s", at != NULL ? (int)(at - addr) : (int)strlen(addr),
		         addr);
		ev.local_part = lp;
	}
	if (h != NULL)
		smtp_event_host_facts(&ev, h);
	(void)event_raise(ms->run->cfg, ms->run->cfg->event_action, &ev);
}

/* Delivered.  `report`: DELIVERED (a mailbox here) or RELAYED (a server that
 * does not do DSN) makes a success report when NOTIFY asked for one;
 * FAILED (used as "none") for a next hop that took over the NOTIFY. */
static void
outcome_delivered(struct message_state *ms, size_t i, const char *router, const char *transport,
                  const char *extra, enum dsn_action report, const char *reply,
                  const struct smtp_host_facts *h)
{
	struct spool_rcpt *r = &ms->env->rcpts[i];

	if (report != DSN_ACTION_FAILED && dsn_wants_success_report(ms->env->sender, r->notify))
		record_report(ms, i, report, "2.0.0", reply, NULL, NULL, h);

	deliver_log(ms->msglog_spool, ms->env->id, "=> %s R=%s%s%s%s%s", r->address,
	            router ? router : "-", transport ? " T=" : "", transport ? transport : "",
	            extra && *extra ? " " : "", extra ? extra : "");
	r->done = 1;
	free(r->last_error);
	r->last_error = NULL;
	ms->changed = 1;
}

/* A permanent failure: "** ADDR R=.. [T=..]: TEXT". */
static void
outcome_failed(struct message_state *ms, size_t i, const char *router, const char *transport,
               const char *text, const char *status, const char *reply, const char *stage,
               const char *error_text, const struct smtp_host_facts *h)
{
	deliver_log(ms->msglog_spool, ms->env->id, "** %s%s%s%s%s: %s", ms->env->rcpts[i].address,
	            router ? " R=" : "", router ? router : "", transport ? " T=" : "",
	            transport ? transport : "", text);
	record_failure(ms, i, status, reply, stage, error_text, h);
	message_event(ms, ms->by_transport ? "msg:fail:delivery" : "msg:fail:internal", i, router,
	              transport, h);
}

/* A temporary failure: count it; past the retry schedule it fails. */
static void
outcome_deferred(struct message_state *ms, size_t i, const char *router, const char *transport,
                 const char *text, const struct smtp_host_facts *h)
{
	struct spool_rcpt *r = &ms->env->rcpts[i];
	char when[32], bounce_text[1200];

	free(r->last_error);
	r->last_error = strdup(text);
	ms->changed = 1;
	if (retry_after_defer(&ms->run->dc->retry, &r->retry, ms->now) == RETRY_LATER) {
		ms->deferred = 1;
		clock_format_log(r->retry.next_try, when, sizeof when);
		deliver_log(ms->msglog_spool, ms->env->id,
		            "== %s%s%s%s%s defer (retry %u at %s): %s", r->address,
		            router ? " R=" : "", router ? router : "", transport ? " T=" : "",
		            transport ? transport : "", r->retry.tries, when, text);
		return;
	}
	snprintf(bounce_text, sizeof bounce_text, "retry time exceeded; last error: %s", text);
	deliver_log(ms->msglog_spool, ms->env->id, "** %s%s%s%s%s: %s", r->address,
	            router ? " R=" : "", router ? router : "", transport ? " T=" : "",
	            transport ? transport : "", bounce_text);
	record_failure(ms, i, "5.4.7", NULL, NULL, bounce_text, h);
	message_event(ms, ms->by_transport ? "msg:fail:delivery" : "msg:fail:internal", i, router,
	              transport, h);
}

/* --- a group of recipients through its transport ---------------------------------- */

/* The driver delivers; each recipient's outcome is logged and recorded here. */
static void
deliver_group(struct message_state *ms, const struct transport_def *t, const struct route *routes,
              const size_t *idx, size_t n)
{
	const struct route *route = &routes[idx[0]];
	const char *tname = t->driver->log_name ? t->name : NULL;
	struct transport_result *res = calloc(n, sizeof *res);
	struct transport_group g = {
		.cfg = ms->run->cfg,
		.t = t,
		.be = ms->run->be,
		.cache = ms->run->cache,
		.lookup = deliver_dns_lookup,
		.lookup_arg = ms->run,
		.env = ms->env,
		.data_path = ms->data_path,
		.spool_dir = ms->spool_dir,
		.route = route,
		.idx = idx,
		.n = n,
		.res = res,
	};

	if (res == NULL) {
		for (size_t k = 0; k < n; k++)
			outcome_deferred(ms, idx[k], route->router, tname, "out of memory", NULL);
		return;
	}
	t->driver->deliver(&g);
	for (size_t k = 0; k < n; k++) {
		const struct transport_result *r = &res[k];
		const struct smtp_host_facts *h = r->host.address[0] ? &r->host : NULL;
		const char *text = r->log != NULL ? r->log : "";

		switch (r->outcome) {
		case TRANSPORT_DELIVERED:
			outcome_delivered(ms, idx[k], route->router, tname, r->log, r->report,
			                  r->reply, h);
			break;
		case TRANSPORT_FAILED:
			outcome_failed(ms, idx[k], route->router, tname, text, r->status, r->reply,
			               r->stage, r->error, h);
			break;
		case TRANSPORT_DEFERRED:
			outcome_deferred(ms, idx[k], route->router, tname, text, h);
			break;
		}
		transport_result_free(&res[k]);
	}
	free(res);
}

static int
same_hosts(const struct route *a, const struct route *b)
{
	if (a->nhosts != b->nhosts)
		return 0;
	for (size_t i = 0; i < a->nhosts; i++)
		if (strcmp(a->hosts[i].address, b->hosts[i].address) != 0 ||
		    a->hosts[i].port != b->hosts[i].port ||
		    strcmp(a->hosts[i].name, b->hosts[i].name) != 0)
			return 0;
	return 1;
}

/* --- the bounce ---------------------------------------------------------------------- */

/* One report: the failures (a bounce) or the successes, never both. */
static void
send_report(struct message_state *ms, int successes)
{
	const struct config *cfg = ms->run->cfg;
	struct dsn_failure *df = calloc(ms->nfailures, sizeof *df);
	size_t n = 0;
	struct spool_rcpt to = { .address = ms->env->sender };
	struct envelope benv = { .sender = "", .rcpts = &to, .nrcpts = 1, .protocol = "local" };
	struct spool_message *m = NULL;
	struct err e = { 0 };
	char *text = NULL, date[64], hdr[512];
	size_t len = 0;
	int h;

	if (df == NULL) {
		err_set(&e, ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < ms->nfailures; i++) {
		const struct failure *f = &ms->failures[i];
		const struct spool_rcpt *r = &ms->env->rcpts[f->rcpt];
		if ((f->action != DSN_ACTION_FAILED) != successes)
			continue;
		df[n++] = (struct dsn_failure){
			.action = f->action,
			.address = r->address,
			.orcpt = r->orcpt,
			.status = f->status,
			.remote_reply = f->remote_reply,
			.stage = f->stage,
			.error_text = f->error_text,
			.host_name = f->host_name,
			.host_address = f->host_address,
			.host_port = f->host_port,
			.greeting = f->greeting,
			.helo_response = f->helo_response,
		};
	}
	struct dsn_bounce b = {
		.reporting_mta = cfg->primary_hostname,
		.message_id = ms->env->id,
		.sender = ms->env->sender,
		.envid = ms->env->envid,
		.ret = ms->env->ret,
		.arrival_date = ms->env->received_at,
		.now = ms->now,
		.data_path = ms->data_path,
		.failures = df,
		.nfailures = n,
	};
	if (n == 0)
		goto out;
	if (dsn_build_bounce(&b, &text, &len, &e) != 0)
		goto fail;
	m = spool_message_begin(ms->spool_dir, &e);
	if (m == NULL)
		goto fail;
	clock_format_rfc5322(ms->now, date, sizeof date);
	h = snprintf(hdr, sizeof hdr, "Received: by %s (refmta %s) with local-bounce;\r\n\t%s\r\n",
	             cfg->primary_hostname, REFMTA_VERSION, date);
	if (spool_message_write(m, hdr, (size_t)h, &e) != 0 ||
	    spool_message_write(m, text, len, &e) != 0)
		goto fail;
	benv.received_at = ms->now;
	if (spool_message_commit(m, &benv, &e) != 0) {
		m = NULL;
		goto fail;
	}
	m = NULL;
	log_write("%s <= <> R=%s P=local S=%llu for %s", benv.id, ms->env->id,
	          (unsigned long long)benv.size, ms->env->sender);
	if (strlist_push(&ms->run->bounces, benv.id) != 0)
		log_write("%s out of memory remembering the bounce", benv.id);
	goto out;
fail:
	/* The failures stand (they are permanent); only the report is lost,
	 * and the log says so. */
	deliver_log(ms->msglog_spool, ms->env->id, "%s to <%s> not sent: %s",
	            successes ? "success report" : "bounce", ms->env->sender, e.text);
out:
	spool_message_abort(m);
	free(text);
	free(df);
}

/* --- one message --------------------------------------------------------------------- */

int
deliver_message(struct delivery_run *run, struct envelope *env, const char *data_path)
{
	const struct config *cfg = run->cfg;
	const char *spool_dir = cfg->spool_directory != NULL ? cfg->spool_directory : "spool";
	struct message_state ms = {
		.run = run,
		.env = env,
		.data_path = data_path,
		.spool_dir = spool_dir,
		.msglog_spool = cfg->message_logs ? spool_dir : NULL,
		.now = clock_now(),
	};
	struct deliver_dns_event dnsev = { .cfg = cfg, .env = env };
	struct router_ctx rctx = {
		.cfg = cfg,
		.routers = &run->dc->routers,
		.lookup = deliver_dns_lookup,
		.lookup_arg = run,
		.log_dns = cfg->log_dns,
		.message_id = env->id,
		.dns_fail = deliver_event_dns_fail,
		.dns_fail_arg = &dnsev,
		.sender = env->sender,
	};
	struct route *routes = calloc(env->nrcpts + 1, sizeof *routes);
	size_t *idx = calloc(env->nrcpts + 1, sizeof *idx);
	char *grouped = calloc(env->nrcpts + 1, 1);

	if (routes == NULL || idx == NULL || grouped == NULL) {
		log_write("%s delivery postponed: out of memory", env->id);
		goto out;
	}
	/* Route everything first: one DNS answer serves all recipients of a domain
	 * through unbound's cache, and the log shows routing before delivery. */
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];
		grouped[i] = 1;
		if (r->done || (!run->force && !retry_is_due(&r->retry, ms.now)))
			continue;
		dnsev.address = r->address;
		if (route_address(&rctx, r->address, &routes[i]) != 0) {
			log_write("%s routing %s: out of memory", env->id, r->address);
			continue;
		}
		grouped[i] = 0;
	}
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct route *rt = &routes[i];
		const struct transport_def *t;
		size_t n = 0;

		if (grouped[i])
			continue;
		grouped[i] = 1;
		if (rt->result == ROUTE_FAIL) {
			char text[600];
			snprintf(text, sizeof text, "%s (%s)", rt->reason, rt->status);
			outcome_failed(&ms, i, rt->router, NULL, text, rt->status, NULL, NULL,
			               rt->reason, NULL);
			continue;
		}
		if (rt->result == ROUTE_DEFER) {
			char text[600];
			snprintf(text, sizeof text, "%s (%s)", rt->reason, rt->status);
			outcome_deferred(&ms, i, rt->router, NULL, text, NULL);
			continue;
		}
		t = transport_find(run->dc, rt->transport);
		if (t == NULL) { /* routers_load checked this */
			outcome_deferred(&ms, i, rt->router, rt->transport, "no such transport",
			                 NULL);
			continue;
		}
		/* This recipient and, when the driver groups, every later one with
		 * the same router, transport and hosts (the group's lines name one
		 * router: R=). */
		idx[n++] = i;
		for (size_t k = i + 1; t->driver->groups && k < env->nrcpts; k++) {
			if (grouped[k] || routes[k].result != ROUTE_OK ||
			    strcmp(routes[k].router, rt->router) != 0 ||
			    strcmp(routes[k].transport, rt->transport) != 0 ||
			    !same_hosts(rt, &routes[k]))
				continue;
			grouped[k] = 1;
			idx[n++] = k;
		}
		ms.by_transport = 1;
		deliver_group(&ms, t, routes, idx, n);
		ms.by_transport = 0;
	}
	if (ms.nfailures > 0) {
		send_report(&ms, 0);
		send_report(&ms, 1);
	}
	/* Last: msg:complete when every recipient is done, else msg:defer. */
	if (ms.changed) {
		size_t left = 0;
		for (size_t i = 0; i < env->nrcpts; i++)
			left += !env->rcpts[i].done;
		if (left == 0)
			message_event(&ms, "msg:complete", SIZE_MAX, NULL, NULL, NULL);
		else if (ms.deferred)
			message_event(&ms, "msg:defer", SIZE_MAX, NULL, NULL, NULL);
	}
out:
	if (routes != NULL)
		for (size_t i = 0; i < env->nrcpts; i++)
			route_free(&routes[i]);
	free(routes);
	free(idx);
	free(grouped);
	free_failures(&ms);
	return ms.changed;
}
