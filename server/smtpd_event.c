/*
 * smtpd_event.c - the receiving side's events (smtpd_int.h, docs/events.md):
 * tcp:connect, tcp:close, tls:cert (the client's chain), smtp:fail:syntax
 * and smtp:fail:protocol, raised with the main section's event_action and
 * the session's variables behind the event's own.
 *
 * Only tcp:connect is forced here (a non-empty result drops the connection
 * before the greeting); the others' results are ignored.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "event.h"
#include "smtpd_int.h"
#include "tls.h"

int
smtpd_event(struct session *s, const char *name, const char *data, const char *peercert)
{
	struct event ev = { .name = name,
		            .data = data,
		            .tls_in_peercert = peercert,
		            .tls_out_ocsp = -1, /* a receiving session: "" */
		            .more = smtpd_vars,
		            .nmore = smtpd_nvars,
		            .more_ctx = s };

	if (s->cfg->event_action == NULL)
		return 0;
	return event_raise(s->cfg, s->cfg->event_action, &ev);
}

void
smtpd_event_tls_certs(struct session *s)
{
	const struct tls_info *ti = s->tls != NULL ? tls_conn_info(s->tls) : NULL;

	if (s->cfg->event_action == NULL || ti == NULL)
		return;
	/* From the top of the client's verification chain (the trust anchor,
	 * when the client did not send it) down to its own certificate. */
	for (size_t i = ti->peer_chain_len + (ti->anchor.len > 0); i-- > 0;) {
		const struct tls_der *d = i < ti->peer_chain_len ? &ti->peer_chain[i] : &ti->anchor;
		char depth[16], *pem = event_der_to_pem(d->data, d->len);

		if (pem == NULL)
			return;
		snprintf(depth, sizeof depth, "%zu", i);
		(void)smtpd_event(s, "tls:cert", depth, pem);
		free(pem);
	}
}
