/*
 * deliver_smtp_event.c - the smtp transport's events (deliver_smtp_int.h,
 * docs/events.md): the facts of the run, the host and the recipient put
 * into a struct event and raised with the transport's event_action.
 *
 * This file only raises; what a forced event does is decided where the
 * event happens (deliver_smtp_conn.c, deliver_smtp_tls.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_smtp_int.h"
#include "event.h"

/* The first recipient of the run: per-connection events name its domain. */
static const char *
first_address(const struct smtp_run *R)
{
	return R->d->nrcpts > 0 && R->d->rcpts[0].rcpt != NULL ? R->d->rcpts[0].rcpt->address
	                                                       : NULL;
}

void
smtp_event_host_facts(struct event *ev, const struct smtp_host_facts *f)
{
	ev->host = f->name;
	ev->host_address = f->address;
	ev->host_port = f->port;
	ev->sending_ip_address = f->sending_ip;
	ev->sending_port = f->sending_port;
	ev->lookup_dnssec_authenticated = f->secure ? "yes" : "no";
	ev->tls_out_dane = f->dane ? "yes" : "no";
	ev->tls_out_tlsa_usage = f->tlsa_usage;
	ev->tls_out_ocsp = f->tls ? f->ocsp : -1;
}

int
smtp_event(struct smtp_run *R, const struct smtp_host_facts *f, const char *name, const char *data,
           int err, const char *rcpt, const char *peercert)
{
	const struct smtp_transport *t = R->d->t;
	char lp[256], dom[256];
	struct event ev = { 0 };

	if (t->event_action == NULL)
		return 0;
	event_split_address(rcpt != NULL ? rcpt : first_address(R), lp, sizeof lp, dom, sizeof dom);
	ev.name = name;
	ev.data = data;
	ev.defer_errno = err;
	ev.msg_id = R->d->message_id;
	ev.sender_address = R->d->env != NULL ? R->d->env->sender : NULL;
	ev.router_name = R->d->router_name;
	ev.transport_name = t->name;
	ev.local_part = rcpt != NULL ? lp : NULL;
	ev.domain = dom;
	if (R->h != NULL) {
		ev.host = R->h->name;
		ev.host_address = R->h->address;
		ev.host_port = R->port;
		ev.lookup_dnssec_authenticated = R->h->secure ? "yes" : "no";
	}
	ev.tls_out_dane = "no";
	ev.tls_out_ocsp = -1;
	if (f != NULL)
		smtp_event_host_facts(&ev, f);
	ev.tls_out_peercert = peercert;
	ev.verify_mode = peercert != NULL ? "peer" : NULL;
	return event_raise(R->d->cfg, t->event_action, &ev);
}

int
smtp_event_tls_certs(struct smtp_run *R, const struct smtp_conn *c, const struct tls_info *ti)
{
	int forced = 0;

	if (R->d->t->event_action == NULL)
		return 0;
	/* From the top of the verification chain (the trust anchor, when the
	 * server did not send it) down to the server's own (depth 0), as a
	 * verifier walks it (seed: "per certificate in verification chain"). */
	for (size_t i = ti->peer_chain_len + (ti->anchor.len > 0); i-- > 0;) {
		const struct tls_der *d = i < ti->peer_chain_len ? &ti->peer_chain[i] : &ti->anchor;
		char depth[16], *pem = event_der_to_pem(d->data, d->len);

		if (pem == NULL) {
			R->oom = 1;
			return 1;
		}
		snprintf(depth, sizeof depth, "%zu", i);
		if (smtp_event(R, &c->facts, "tls:cert", depth, 0, NULL, pem))
			forced = 1;
		free(pem);
	}
	return forced;
}
