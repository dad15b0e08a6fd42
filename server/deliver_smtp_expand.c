/*
 * deliver_smtp_expand.c - the smtp transport's options that are expanded
 * for each host (docs/expand.md "In router and transport options"):
 * helo_data, tls_sni and the host lists (hosts_require_tls,
 * tls_verify_hosts, ..., hosts_require_dane), with the delivery variables
 * of deliver_vars.h ($host, $host_address, $domain, ...).
 *
 * The expanded host lists live in a copy of the transport (R->tx) that
 * R->d->t points at while the host is tried, so every matcher
 * (deliver_smtp_conn.c, _tls.c, _proto.c, _ocsp.c, _dane.c) sees them
 * without knowing about expansion.
 *
 * Must never: leave R->d->t pointing at R->tx after the host
 * (smtp_host_options_done), or use a list whose expansion failed.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_smtp_int.h"
#include "deliver_vars.h"
#include "expand.h"

static const struct {
	const char *name;
	size_t off;
} host_lists[SMTP_HOST_LISTS] = {
	{ "hosts_require_tls", offsetof(struct smtp_transport, hosts_require_tls) },
	{ "tls_verify_hosts", offsetof(struct smtp_transport, tls_verify_hosts) },
	{ "tls_try_verify_hosts", offsetof(struct smtp_transport, tls_try_verify_hosts) },
	{ "tls_verify_cert_hostnames", offsetof(struct smtp_transport, tls_verify_cert_hostnames) },
	{ "hosts_try_prdr", offsetof(struct smtp_transport, hosts_try_prdr) },
	{ "hosts_request_ocsp", offsetof(struct smtp_transport, hosts_request_ocsp) },
	{ "hosts_require_ocsp", offsetof(struct smtp_transport, hosts_require_ocsp) },
	{ "hosts_try_dane", offsetof(struct smtp_transport, hosts_try_dane) },
	{ "hosts_require_dane", offsetof(struct smtp_transport, hosts_require_dane) },
};

/* $local_part when the group is one recipient, $domain when all share it
 * (Exim's rule for transport options); the host being tried. */
static void
group_vars(const struct smtp_run *R, const struct smtp_host_facts *f, struct deliver_vars *v)
{
	const struct smtp_delivery *d = R->d;
	const char *first = d->nrcpts > 0 ? d->rcpts[0].rcpt->address : NULL;

	deliver_vars_init(v, d->message_id, d->env != NULL ? d->env->sender : NULL, first,
	                  d->router_name, d->t->name);
	for (size_t i = 1; i < d->nrcpts; i++) {
		const char *at = strrchr(d->rcpts[i].rcpt->address, '@');
		if (at == NULL || strcmp(at + 1, v->domain) != 0)
			v->domain[0] = '\0';
	}
	if (d->nrcpts != 1)
		v->local_part[0] = '\0';
	v->host = f->name;
	v->host_address = f->address;
	v->host_port = f->port;
}

/* A name, not an address, may be SNI (RFC 6066 3). */
static int
sni_usable(const char *s)
{
	return s[0] != '\0' && strchr(s, ':') == NULL && strspn(s, "0123456789.") != strlen(s);
}

/* helo_data: an error, a forced failure or "" defers the host. */
static int
expand_helo(struct smtp_run *R, const struct deliver_vars *v, const char *owner, char *why,
            size_t len)
{
	char *out = NULL;
	int rc = deliver_vars_expand(R->d->cfg, v, owner, "helo_data", R->t_orig->helo_data, &out,
	                             why, len);

	if (rc == EXPAND_OK && out[0] == '\0')
		snprintf(why, len, "%s: helo_data expanded to nothing", owner);
	if (rc == EXPAND_OK && out[0] != '\0')
		snprintf(R->helo, sizeof R->helo, "%s", out);
	free(out);
	return rc == EXPAND_OK && R->helo[0] != '\0' ? 0 : -1;
}

/* tls_sni: a forced failure, "" or an address sends none; an error defers. */
static int
expand_sni(struct smtp_run *R, const struct deliver_vars *v, const char *owner, char *why,
           size_t len)
{
	char *out = NULL;
	int rc;

	if (R->t_orig->tls_sni == NULL)
		return 0;
	rc = deliver_vars_expand(R->d->cfg, v, owner, "tls_sni", R->t_orig->tls_sni, &out, why,
	                         len);
	if (rc == EXPAND_OK && sni_usable(out))
		snprintf(R->sni, sizeof R->sni, "%s", out);
	free(out);
	return rc == EXPAND_ERROR ? -1 : 0;
}

/* Seed, DANE section: "If the definition of hosts_request_ocsp includes
 * the string "tls_out_tlsa_usage", they are re-expanded in time to control
 * the OCSP request": the two OCSP lists that name it wait for the TLSA
 * lookup (smtp_host_options_dane). */
static int
after_dane(size_t i, const char *text)
{
	size_t off = host_lists[i].off;

	return (off == offsetof(struct smtp_transport, hosts_request_ocsp) ||
	        off == offsetof(struct smtp_transport, hosts_require_ocsp)) &&
	       strstr(text, "tls_out_tlsa_usage") != NULL;
}

/* Host lists holding "$" (pass 0: all but the after_dane ones; pass 1:
 * those): a forced failure is the empty list (matches nothing), an error
 * defers the host. */
static int
expand_lists(struct smtp_run *R, const struct deliver_vars *v, int pass, const char *owner,
             char *why, size_t len)
{
	for (size_t i = 0; i < SMTP_HOST_LISTS; i++) {
		char **field = (char **)((char *)&R->tx + host_lists[i].off);
		char *out = NULL;
		int rc;

		if (*field == NULL || strchr(*field, '$') == NULL || after_dane(i, *field) != pass)
			continue;
		rc = deliver_vars_expand(R->d->cfg, v, owner, host_lists[i].name, *field, &out, why,
		                         len);
		if (rc == EXPAND_ERROR)
			return -1;
		if (rc == EXPAND_FAIL && (out = strdup("")) == NULL) {
			snprintf(why, len, "%s: %s: out of memory", owner, host_lists[i].name);
			return -1;
		}
		R->owned[i] = out;
		*field = out;
	}
	return 0;
}

int
smtp_host_options(struct smtp_run *R)
{
	struct smtp_host_facts f;
	struct deliver_vars v;
	char owner[300], why[600];

	R->t_orig = R->d->t;
	R->tx = *R->t_orig;
	R->helo[0] = R->sni[0] = '\0';
	smtp_host_facts_init(&f, R);
	group_vars(R, &f, &v);
	snprintf(owner, sizeof owner, "transport %s", R->t_orig->name);
	if (expand_helo(R, &v, owner, why, sizeof why) != 0 ||
	    expand_sni(R, &v, owner, why, sizeof why) != 0 ||
	    expand_lists(R, &v, 0, owner, why, sizeof why) != 0) {
		smtp_host_fail_error(R, &f, "4.3.0", why);
		return -1;
	}
	R->d->t = &R->tx;
	return 0;
}

int
smtp_host_options_dane(struct smtp_run *R, unsigned tlsa_usage)
{
	struct smtp_host_facts f;
	struct deliver_vars v;
	char owner[300], why[600];

	smtp_host_facts_init(&f, R);
	group_vars(R, &f, &v);
	v.tls_out_tlsa_usage = tlsa_usage;
	snprintf(owner, sizeof owner, "transport %s", R->t_orig->name);
	if (expand_lists(R, &v, 1, owner, why, sizeof why) != 0) {
		smtp_host_fail_error(R, &f, "4.3.0", why);
		return -1;
	}
	return 0;
}

void
smtp_host_options_done(struct smtp_run *R)
{
	if (R->t_orig != NULL)
		R->d->t = R->t_orig;
	R->t_orig = NULL;
	for (size_t i = 0; i < SMTP_HOST_LISTS; i++) {
		free(R->owned[i]);
		R->owned[i] = NULL;
	}
}
