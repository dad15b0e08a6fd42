/*
 * deliver_event.h - the delivery side's events that are not the smtp
 * transport's (docs/events.md): msg:delivery from the local and queuefile
 * transports, and dns:fail from the routers' DNS lookups.  The smtp
 * transport's own are deliver_smtp_event.c's; the per-message ones
 * (msg:complete, msg:defer, msg:fail:*) are deliver.c's.
 *
 * Nothing here is owned: every pointer must stay valid for the call.
 */
#ifndef REFMTA_DELIVER_EVENT_H
#define REFMTA_DELIVER_EVENT_H

#include "resolver.h"
#include "transport.h"

/* msg:delivery for recipient g->env->rcpts[g->idx[k]], delivered by a
 * transport without hosts (local, queuefile), raised with `action` (the
 * transport's event_action; NULL: nothing).  `transport` is $transport_name.
 * $event_data is empty, as Exim gives no confirmation for these. */
void deliver_event_delivered(const struct transport_group *g, size_t k, const char *action,
                             const char *transport);

/* What the router's dns:fail hook needs (router.h router_ctx.dns_fail):
 * the main section's event_action, the message and the address being
 * routed (set by deliver.c before each route_address()). */
struct deliver_dns_event {
	const struct config *cfg;
	const struct envelope *env;
	const char *address; /* "local@domain" being routed */
};

/* router_ctx.dns_fail: raise dns:fail with the main section's event_action;
 * $event_data is "NAME TYPE STATUS" ("partner.test MX tempfail"),
 * $router_name the router that asked. */
void deliver_event_dns_fail(void *arg, const char *router, const char *name,
                            enum resolver_type type, enum resolver_status status);

#endif
