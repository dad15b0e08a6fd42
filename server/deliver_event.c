/*
 * deliver_event.c - msg:delivery from the local and queuefile transports
 * and dns:fail from the routers (deliver_event.h, docs/events.md).  Fills
 * a struct event and raises it; the results are ignored (neither event has
 * a forcing in Exim).
 */
#include <stdio.h>
#include <string.h>

#include "deliver_event.h"
#include "event.h"

void
deliver_event_delivered(const struct transport_group *g, size_t k, const char *action,
                        const char *transport)
{
	const char *addr = g->env->rcpts[g->idx[k]].address;
	char lp[256], dom[256];
	struct event ev = { .name = "msg:delivery",
		            .msg_id = g->env->id,
		            .sender_address = g->env->sender,
		            .router_name = g->route->router,
		            .transport_name = transport,
		            .tls_out_dane = "no",
		            .tls_out_ocsp = -1 };

	if (action == NULL || addr == NULL)
		return;
	event_split_address(addr, lp, sizeof lp, dom, sizeof dom);
	ev.local_part = lp;
	ev.domain = dom;
	(void)event_raise(g->cfg, action, &ev);
}

void
deliver_event_dns_fail(void *arg, const char *router, const char *name, enum resolver_type type,
                       enum resolver_status status)
{
	const struct deliver_dns_event *d = arg;
	char data[400], lp[256] = "", dom[256] = "";
	struct event ev = { .name = "dns:fail",
		            .data = data,
		            .msg_id = d->env->id,
		            .sender_address = d->env->sender,
		            .router_name = router,
		            .tls_out_ocsp = -1 };

	if (d->cfg->event_action == NULL)
		return;
	snprintf(data, sizeof data, "%s %s %s", name, resolver_type_word(type),
	         resolver_status_word(status));
	if (d->address != NULL) {
		event_split_address(d->address, lp, sizeof lp, dom, sizeof dom);
		ev.local_part = lp;
		ev.domain = dom;
	}
	(void)event_raise(d->cfg, d->cfg->event_action, &ev);
}
